"""Drawing -> coordinates: the place of every node and box, computed, not negotiated.

    column = time step (one width for every column of the picture)
    row    = layer and direction; layer 0 at the bottom, a layer's reverse direction below its
             forward one, per-step losses above the steps feeding them, the encoder above the
             decoder (each row over its own columns: the decoder's steps follow the encoder's)

The inside of a step is laid out on its own, the same way for every step (so every step of a
row that ran the same ops looks the same), and every box of a row gets the row's largest size:
the input x_t at the bottom, the tap above it, the step's nodes above that (each above what it
reads, in the order they ran), the output y_t on top. The parameter band lies below the rows,
the legend beside it. Coordinates are in points, y down (see drawing.py).

Text sizes are estimated from Helvetica's widths with a margin, so a node is drawn at least
as large as its estimate; Graphviz only grows a node whose text needs more.
"""
from . import drawing as d

FONT = 10            # node text, points (= px at 100%)
SMALL = 9            # edge labels, tap cells, details, legend: the smallest text drawn
STEP_FONT = 11       # "t = k"
ROW_FONT = 12        # a row's title
PAD = 8              # inside a step box
NODE_GAP = 14        # between nodes inside a step
LAYER_GAP = 20       # between a step's layers, room for an edge
COLUMN_GAP = 56      # between two step boxes: room for the state arrow and its label
ROW_GAP = 46         # between two rows: room for the edges going up
MARGIN = 12
MAX_SIDE = 3000      # the long side of a picture, points (px at 72 dpi)

_WIDTHS = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278] + [556] * 10 +
    [278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667,
     556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278,
     469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
     556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]))


def text_width(text, size=FONT):
    """The width of one line of ``text`` in Helvetica at ``size`` points, with 12% to spare
    for the fonts that stand in for it."""
    units = sum(_WIDTHS.get(ch, 1000 if ord(ch) > 0x2000 else 600) for ch in str(text))
    return units * size / 1000 * 1.12


def tap_width(node):
    """Cells on one line of a tap: four, or two when they are many (a decoder's dozen), so
    that a step stays narrow."""
    return 4 if len(node.cells) <= 8 else 2


def _block(lines, size=FONT):
    return max((text_width(line, size) for line in lines), default=0.0), len(lines) * (size + 3)


def size_of(node):
    """(width, height) of a node in points."""
    if node.kind == d.TAP:
        per_line = [node.cells[i:i + tap_width(node)] for i in range(0, len(node.cells), tap_width(node))]
        width = max(sum(text_width(c.label, SMALL) + 8 for c in line) for line in per_line)
        return width + 2, 17 * len(per_line) + 2
    if node.kind == d.PARAM:
        # the name is bold: Helvetica-Bold is about 11% wider
        width, height = _block([node.label], FONT)
        width *= 1.12
        width = max(width, text_width(node.detail, SMALL))
        height += SMALL + 4
        if node.bars:
            title = "dL/dW = Σ_t (one bar per step)"
            width = max(width, text_width(title, SMALL), len(node.bars) * 14.0)
            height += 26 + 2 * (SMALL + 4)
        return width + 22, height + 10        # the HTML table's cells and spacing, the margin
    lines = node.label.split("\n") + ([node.detail] if node.detail else [])
    width, height = _block(lines, FONT if node.kind not in (d.INPUT, d.TARGET, d.OUTPUT) else SMALL)
    width, height = width + 18, height + 10
    if node.kind in (d.INPUT, d.TARGET, d.DATA):
        # an ellipse round the text: Graphviz draws it about 17% wider than the text's box,
        # more round two lines
        width *= 1.18 if len(lines) == 1 else 1.34
    if node.kind == d.ELIDED:
        width, height = width + 10, height + 10
    return max(width, 36.0), max(height, 24.0)


def legend_size(legend):
    width = max(text_width(line.text, SMALL) + (120 if line.low is not None else 0)
                for line in legend.lines)
    width = max(width, text_width("legend", SMALL))
    return width + 16, (len(legend.lines) + 1) * (SMALL + 6) + 10


# --- a step's inside ------------------------------------------------------------------------------
def _step_inside(drawing, box, nodes):
    """{node id: (dx, dy)} of the nodes of one step box, relative to the step's centre line
    (dx) and the bottom of its main nodes (dy, up is negative); the same ops in the same order
    give the same places."""
    members = [drawing.nodes[n] for n in box.nodes]
    core = [n for n in members if n.kind in (d.OP, d.CELL, d.LOSS)]
    inputs = [n for n in members if n.kind in (d.INPUT, d.TARGET)]
    taps = [n for n in members if n.kind == d.TAP]
    outputs = [n for n in members if n.kind == d.OUTPUT]
    core.sort(key=lambda n: n.ops[0] if n.ops else 0)
    rank = {n.id: i for i, n in enumerate(core)}
    depth = {}
    preds = {}
    for edge in nodes["edges_in_box"].get(box.id, ()):
        if edge.tail in rank and edge.head in rank and rank[edge.tail] < rank[edge.head]:
            preds.setdefault(edge.head, []).append(edge.tail)
    for n in core:                                  # in the order they ran: no recursion
        depth[n.id] = 1 + max((depth[p] for p in preds.get(n.id, ())), default=-1)
    layers = {}
    for n in core:
        layers.setdefault(depth[n.id], []).append(n)
    # a tap whose readers all lie in the bottom layer goes below it; else beside its first
    # reader, or, when that reader hands the state on above other nodes (a decoder's cell over
    # its embedding), beside the layer under it, off the state arrow's line
    readers = {}
    for edge in nodes["edges_in_box"].get(box.id, ()):
        if edge.kind == d.TAP_EDGE:
            readers.setdefault(edge.tail, []).append(edge.head)
    beside, below = {}, []
    bottom = min(layers) if layers else 0
    for tap in taps:
        mine = [r for r in readers.get(tap.id, ()) if r in depth]
        if mine and any(depth[r] != bottom for r in mine):
            reader = mine[0]
            if reader in nodes["on_state_line"] and depth[reader] != bottom:
                beside.setdefault(layers[depth[reader] - 1][-1].id, []).append(tap)
            else:
                beside.setdefault(reader, []).append(tap)
        else:
            below.append(tap)
    places = {}
    y = 0.0                                         # bottom of the current layer
    for k in sorted(layers):
        layer = layers[k]
        widths = [n.width + sum(t.width + 8 for t in beside.get(n.id, ())) for n in layer]
        height = max([n.height for n in layer] +
                     [t.height for n in layer for t in beside.get(n.id, ())])
        width = sum(widths) + NODE_GAP * (len(layer) - 1)
        x = -width / 2
        for n, w in zip(layer, widths):
            places[n.id] = (x + n.width / 2, y - height / 2)
            side = x + n.width + 8
            for tap in beside.get(n.id, ()):
                places[tap.id] = (side + tap.width / 2, y - height / 2)
                side += tap.width + 8
            x += w + NODE_GAP
        y -= height + LAYER_GAP
    top = y + LAYER_GAP
    for group in (outputs,):
        if group:
            width = sum(n.width for n in group) + NODE_GAP * (len(group) - 1)
            x = -width / 2
            height = max(n.height for n in group)
            for n in group:
                places[n.id] = (x + n.width / 2, top - LAYER_GAP * 0.8 - height / 2)
                x += n.width + NODE_GAP
    y = LAYER_GAP * 0.8
    for group in (below, inputs):
        if group:
            width = sum(n.width for n in group) + NODE_GAP * (len(group) - 1)
            x = -width / 2
            height = max(n.height for n in group)
            for n in group:
                places[n.id] = (x + n.width / 2, y + height / 2)
                x += n.width + NODE_GAP
            y += height + LAYER_GAP * 0.8
    # on a half-point grid: every step of a row gets exactly the same offsets
    return {n: (_half(dx), _half(dy)) for n, (dx, dy) in places.items()}


def _half(value):
    return round(value * 2) / 2


def _extent(drawing, places):
    xs = [(dx - drawing.nodes[n].width / 2, dx + drawing.nodes[n].width / 2) for n, (dx, _) in places.items()]
    ys = [(dy - drawing.nodes[n].height / 2, dy + drawing.nodes[n].height / 2) for n, (_, dy) in places.items()]
    return (min(a for a, _ in xs), max(b for _, b in xs), min(a for a, _ in ys), max(b for _, b in ys))


# --- the whole picture ----------------------------------------------------------------------------
def lay_out(drawing):
    """Give every node and box of ``drawing`` its place and size (in place); returns it."""
    for node in drawing.nodes.values():
        node.width, node.height = size_of(node)
    edges_in_box = {}
    for edge in drawing.edges:
        tail, head = drawing.nodes.get(edge.tail), drawing.nodes.get(edge.head)
        if tail is not None and head is not None and tail.box and tail.box == head.box:
            edges_in_box.setdefault(tail.box, []).append(edge)
    # the nodes on a row's state line: its own module's, a state arrow out of their sides
    on_state_line = {node for row in drawing.rows for node in row.anchors}
    context = {"edges_in_box": edges_in_box, "on_state_line": on_state_line}
    inside = {box.id: _step_inside(drawing, box, context) for box in drawing.steps}
    # every box of a row as large as the row's largest; every column as wide as the widest box
    row_extent = {}
    for box in drawing.steps:
        if inside[box.id]:
            left, right, top, bottom = _extent(drawing, inside[box.id])
        else:
            left, right, top, bottom = -20, 20, -12, 12
        half = max(-left, right)
        known = row_extent.get(box.row, (0, 0, 0))
        row_extent[box.row] = (max(known[0], half), min(known[1], top), max(known[2], bottom))
    for row in drawing.rows:
        elided = drawing.nodes.get(_elided_id(drawing, row))
        if elided is not None:
            tap = drawing.nodes.get(_elided_tap_id(drawing, row))
            half, top, bottom = row_extent.get(row.id, (60, -30, 0))
            row_extent[row.id] = (max(half, elided.width / 2, tap.width / 2 if tap else 0),
                                  min(top, -elided.height), max(bottom, (tap.height + 20) if tap else 0))
    # a column's width: the widest box of the rows drawn in it (rows over the same steps
    # share their columns; an encoder's and a decoder's columns are their own)
    column_half = {}
    for row in drawing.rows:
        half = _half(row_extent.get(row.id, (40, 0, 0))[0] + PAD + 0.25)
        for t in _column_keys(row):
            column_half[t] = max(column_half.get(t, 0), half)
    for row in drawing.rows:            # one width for every column of a row
        widest = max(column_half[t] for t in _column_keys(row))
        for t in _column_keys(row):
            column_half[t] = widest
    columns = sorted(column_half)
    centre_of, x = {}, 0.0
    for t in columns:
        x += column_half[t]
        centre_of[t] = x
        x += column_half[t] + COLUMN_GAP
    half_width = column_half[columns[0]] if columns else 40 + PAD
    chunk_room = 18 if drawing.chunks else 0
    row_title = ROW_FONT + 10 if any(row.name for row in drawing.rows) else 0
    # left of the first column: the initial states and the ops made before the steps
    sides = _sides(drawing)
    before = [n for n in drawing.nodes.values() if n.row is None and n.kind != d.PARAM
              and sides.get(n.id) == "before"]
    initials = [n for n in drawing.nodes.values() if n.kind == d.INITIAL]
    left_room = max([n.width for n in initials if not drawing.row(n.row).reverse] + [0])
    left_room += max([n.width for n in before] + [0])
    left_room += COLUMN_GAP if left_room else 0
    x0 = _half(MARGIN + left_room + half_width)
    y = MARGIN
    row_core = {}
    previous_group = None
    for row in drawing.rows:
        half, top, bottom = row_extent.get(row.id, (half_width, -24, 0))
        group = row.key[0]
        if previous_group is not None:
            y = _half(y + ROW_GAP + (ROW_GAP if group != previous_group else 0))
        previous_group = group
        row.y = y
        y += row_title + chunk_room
        box_top = y
        core = _half(box_top + PAD + STEP_FONT + 6 - top)     # the bottom of the main nodes
        box_height = (bottom - top) + 2 * PAD + STEP_FONT + 6
        row_core[row.id] = core
        for box_id in row.boxes:
            box = drawing.box(box_id)
            centre = x0 - half_width + centre_of[box.time_step]
            half = column_half[box.time_step]
            box.x, box.y, box.width, box.height = centre - half, box_top, 2 * half, box_height
            for node_id, (dx, dy) in inside[box_id].items():
                node = drawing.nodes[node_id]
                node.x, node.y = centre + dx, core + dy
        elided = drawing.nodes.get(_elided_id(drawing, row))
        if elided is not None:
            centre = x0 - half_width + centre_of[row.elided[0]]
            elided.x, elided.y = centre, core - elided.height / 2
            # level with the nodes handing the state on, so the state arrows run straight
            anchors = [drawing.nodes[a] for a in row.anchors if drawing.nodes[a].y is not None]
            if anchors:
                elided.y = anchors[0].y
            tap = drawing.nodes.get(_elided_tap_id(drawing, row))
            if tap is not None:
                tap.x, tap.y = centre, elided.y + elided.height / 2 + 20 + tap.height / 2
        y = box_top + box_height
        first = min((drawing.box(b).x for b in row.boxes), default=x0 - half_width)
        last = max((drawing.box(b).x + drawing.box(b).width for b in row.boxes),
                   default=x0 + half_width)
        if elided is not None:
            half = column_half[row.elided[0]]
            first = min(first, elided.x - half)
            last = max(last, elided.x + half)
        row.x, row.width, row.height = first - 6, last - first + 12, y + 6 - row.y
        y += 6
    right_edge = max((row.x + row.width for row in drawing.rows), default=MARGIN)
    # the initial states at their row's start, the ops outside the steps beside their rows
    for node in initials:
        row = drawing.row(node.row)
        anchor = drawing.box(row.boxes[-1] if row.reverse else row.boxes[0])
        node.y = row_core[row.id] - _first_core_height(drawing, anchor) / 2
        node.x = (anchor.x + anchor.width + COLUMN_GAP / 2 + node.width / 2) if row.reverse else \
            (anchor.x - COLUMN_GAP / 2 - node.width / 2)
        right_edge = max(right_edge, node.x + node.width / 2)
    for chunk in drawing.chunks:
        boxes = [b for b in drawing.steps if b.time_step in chunk.steps]
        chunk.x = min(b.x for b in boxes) - 4
        chunk.width = max(b.x + b.width for b in boxes) + 4 - chunk.x
        chunk.y = boxes[0].y - chunk_room
        chunk.height = boxes[0].height + chunk_room + 3
    _place_outside(drawing, sides, row_core, x0 - half_width, right_edge)
    _place_beside(drawing)
    bottom = max([row.y + row.height for row in drawing.rows] +
                 [n.y + n.height / 2 for n in drawing.nodes.values() if n.y is not None] + [MARGIN])
    _place_band(drawing, bottom + ROW_GAP)
    _fit(drawing)
    return drawing


def _column_keys(row):
    keys = list(row.steps)
    if row.elided:
        keys.append(row.elided[0])
    return keys


def _elided_id(drawing, row):
    index = drawing.rows.index(row)
    number = int(row.id[3:])
    del index
    return "elided" if number == 0 else f"elided_r{number}"


def _elided_tap_id(drawing, row):
    return f"tap{int(row.id[3:])}elided"


def _first_core_height(drawing, box):
    heights = [drawing.nodes[n].height for n in box.nodes
               if drawing.nodes[n].kind in (d.OP, d.CELL, d.LOSS)]
    return heights[0] if heights else 24


def _sides(drawing):
    """{node id: "after"} for a node outside the rows that reads (through other such nodes)
    what a step made, else "before"."""
    preds = {}
    for edge in drawing.edges:
        preds.setdefault(edge.head, []).append(edge.tail)
    sides = {}
    outside = [n for n in drawing.nodes.values() if n.row is None and n.kind != d.PARAM]
    # in the order the ops ran: what a node reads is decided before it
    outside.sort(key=lambda n: n.ops[0] if n.ops else -1)
    for node in outside:
        after = any(drawing.nodes[p].row is not None or sides.get(p) == "after"
                    for p in preds.get(node.id, ()) if p in drawing.nodes)
        sides[node.id] = "after" if after else "before"
    for node in outside:                # data read only by what comes after: beside it
        readers = [e.head for e in drawing.edges if e.tail == node.id]
        if node.kind in (d.DATA, d.TARGET) and readers and all(sides.get(r) == "after" for r in readers):
            sides[node.id] = "after"
    return sides


def _place_outside(drawing, sides, row_core, left_edge, right_edge):
    """The ops outside the steps: after the last column, level with the row they read
    (one column per op they come after), or before the first column, level with the row
    reading them; data read only by such an op just above it; a context node between its
    two rows."""
    preds, succs = {}, {}
    for edge in drawing.edges:
        preds.setdefault(edge.head, []).append(edge.tail)
        succs.setdefault(edge.tail, []).append(edge.head)
    nodes = drawing.nodes
    outside = sorted((n for n in nodes.values() if n.row is None and n.kind not in
                      (d.PARAM, d.CONTEXT)), key=lambda n: n.ops[0] if n.ops else -1)
    depth, level_y = {}, {}
    above = {}                          # node id -> the chunk it sits above
    for node in outside:
        if sides[node.id] != "after" or node.kind in (d.DATA, d.TARGET):
            continue
        known = [p for p in preds.get(node.id, ()) if p in depth]
        depth[node.id] = 1 + max((depth[p] for p in known), default=0)
        rows = [nodes[p].row for p in preds.get(node.id, ()) if p in nodes and nodes[p].row]
        ys = [row_core[r] - 14 for r in rows if r in row_core] + [level_y[p] for p in known]
        level_y[node.id] = min(ys) if ys else MARGIN + 20
        chunk = _chunk_read(drawing, preds.get(node.id, ())) if depth[node.id] == 1 else None
        if chunk is not None:          # a chunk's loss: above that chunk
            node.x = chunk.x + chunk.width / 2
            level_y[node.id] = node.y = chunk.y - 24 - node.height / 2
            above[node.id] = chunk
            continue
        # the reduction that ends a chunk's loss (``(output ** 2).sum()``: the sum after the
        # square), reading only what sits above that chunk: beside it, on the same line
        placed = [nodes[p] for p in preds.get(node.id, ()) if p in nodes and nodes[p].kind not in
                  (d.DATA, d.TARGET, d.PARAM)]
        chunks = {id(above.get(p.id)) for p in placed}
        reduction = node.kind == d.LOSS or node.label.split("\n")[0] in ("sum", "mean")
        if reduction and placed and len(chunks) == 1 and placed[0].id in above:
            last = max(placed, key=lambda p: p.x)
            node.x = last.x + last.width / 2 + 30 + node.width / 2
            level_y[node.id] = node.y = last.y
            above[node.id] = above[last.id]
    taken = {}
    for node in outside:
        if node.id not in depth or node.id in above:
            continue
        column = depth[node.id]
        node.x = right_edge + COLUMN_GAP * 0.8 + (column - 1) * (COLUMN_GAP + 90) + node.width / 2
        y = level_y[node.id]
        while any(abs(y - other) < 34 for other in taken.get(column, [])):
            y += 40
        taken.setdefault(column, []).append(y)
        node.y = y
    # before the first column: in columns by how many such ops lead to them (one after the
    # other towards the steps), level with the row that reads them, stacked when they share
    # a column and a level
    before = [n for n in outside if n.id not in depth and not
              (sides[n.id] == "after" and any(nodes[s].x is not None and nodes[s].row is None
                                              for s in succs.get(n.id, ()) if s in nodes))]
    rank = {}
    for node in before:
        rank[node.id] = 1 + max((rank[p] for p in preds.get(node.id, ()) if p in rank), default=-1)
    last = max(rank.values(), default=0)
    initial_left = min([n.x - n.width / 2 for n in nodes.values()
                        if n.kind == d.INITIAL and n.x is not None] + [left_edge - COLUMN_GAP / 2])
    widest = max([n.width for n in before] + [0])
    stacked = {}
    for node in reversed(before):       # the ones nearest the steps first
        readers = [nodes[s] for s in succs.get(node.id, ()) if s in nodes]
        ys = [row_core[r.row] - 14 for r in readers if r.row in row_core] + \
            [r.y for r in readers if r.row is None and r.y is not None]
        y = min(ys) if ys else MARGIN + 20
        column = last - rank[node.id]
        while any(abs(y - other) < 34 for other in stacked.get(column, [])):
            y += 40
        stacked.setdefault(column, []).append(y)
        node.y = y
        node.x = initial_left - 20 - widest / 2 - column * (widest + COLUMN_GAP)
    for node in outside:
        if node.x is not None:
            continue
        reader = next(nodes[s] for s in succs.get(node.id, ()) if s in nodes
                      and nodes[s].x is not None and nodes[s].row is None)
        node.x, node.y = reader.x, reader.y - reader.height / 2 - 24 - node.height / 2
    for node in sorted((n for n in nodes.values() if n.kind in (d.CONTEXT, d.MEMORY)),
                       key=lambda n: n.kind != d.CONTEXT):
        tails = [nodes[p] for p in preds.get(node.id, ()) if nodes[p].x is not None]
        heads = [nodes[s] for s in succs.get(node.id, ()) if nodes[s].x is not None]
        if tails and heads:
            # between the last row of the tails' group (an encoder) and the first of the
            # heads' (a decoder)
            groups = {drawing.row(t.row).key[0] for t in tails if t.row}
            upper = max((r for r in drawing.rows if r.key[0] in groups),
                        key=lambda r: r.y + r.height)
            lower = min((r for r in drawing.rows if r.y > upper.y), key=lambda r: r.y,
                        default=upper)
            node.x = (max(t.x for t in tails) + min(h.x for h in heads)) / 2
            node.y = (upper.y + upper.height + lower.y) / 2
            if node.kind == d.MEMORY:
                # a bar just under the encoder's row, one cell under each of its columns:
                # each step's edge comes straight down into its own cell
                columns = drawing.row_columns(node.id)
                left = columns[0][0] if columns else min(t.x - t.width / 2 for t in tails)
                right = columns[-1][0] + columns[-1][1] if columns else \
                    max(t.x + t.width / 2 for t in tails)
                node.width = right - left
                node.x = (left + right) / 2
                node.height = 2 * (SMALL + 8)
                node.y = upper.y + upper.height + 8 + node.height / 2
                for context in (n for n in nodes.values() if n.kind == d.CONTEXT):
                    # clear of the bar: Graphviz routes no edge around nodes closer than
                    # about 7 points and draws every edge of the picture straight instead
                    level = abs(context.y - node.y) < (context.height + node.height) / 2
                    if level and context.x - context.width / 2 < right + 16:
                        context.x = right + 16 + context.width / 2
        else:
            node.x, node.y = left_edge, MARGIN


def _place_beside(drawing):
    """A parameter read only by an op outside the steps (an embedding of the whole source,
    a bridge into the context), not in the band: beside that op, on the side away from the
    rows, several stacked; one short edge instead of one across the picture."""
    band = set(drawing.band.nodes) if drawing.band else set()
    rows_left = min((r.x for r in drawing.rows if r.x is not None), default=0.0)
    beside = {}
    for node in drawing.nodes.values():
        if node.kind != d.PARAM or node.id in band:
            continue
        reader = next((drawing.nodes[e.head] for e in drawing.edges if e.tail == node.id), None)
        if reader is not None and reader.x is not None:
            beside.setdefault(reader.id, []).append(node)
    for reader_id, params in beside.items():
        reader = drawing.nodes[reader_id]
        left = reader.x < rows_left
        height = sum(p.height for p in params) + 10 * (len(params) - 1)
        y = reader.y - height / 2
        for param in params:
            offset = reader.width / 2 + 18 + param.width / 2
            param.x = reader.x - offset if left else reader.x + offset
            param.y = y + param.height / 2
            y += param.height + 10


def _chunk_read(drawing, tails):
    """The chunk whose steps the nodes ``tails`` lie in, if they all lie in one."""
    steps = {drawing.nodes[t].time_step for t in tails
             if t in drawing.nodes and drawing.nodes[t].row is not None}
    for chunk in drawing.chunks:
        if steps and None not in steps and steps <= set(chunk.steps):
            return chunk
    return None


def _place_band(drawing, top):
    """The parameters in a band below the rows, as many to a line as the rows are wide (in a
    picture near the long side, as fit beside the legend), and the legend beside the band."""
    legend = drawing.legend
    lw, lh = legend_size(legend) if legend else (0, 0)
    nodes = [drawing.nodes[n] for n in drawing.band.nodes] if drawing.band else []
    used = [n for n in drawing.nodes.values() if n.x is not None]
    picture_left = min([n.x - n.width / 2 for n in used] + [MARGIN])
    picture_right = max([n.x + n.width / 2 for n in used] +
                        [r.x + r.width for r in drawing.rows if r.x is not None] + [MARGIN + 400])
    # as wide as the rows, the legend beside; where that would pass the long side, the band
    # and the legend together as wide as the rows
    available = picture_right - picture_left - 16
    if legend and picture_right - picture_left + lw + 20 + 2 * MARGIN > MAX_SIDE:
        available -= lw + 20
    available = max(available, 300)
    x, y, line_height = picture_left + 8, top + FONT + 14, 0.0
    right = x
    for node in nodes:       # 20 pt apart: Graphviz routes no edge round nodes under 7 pt apart
        if x + node.width > picture_left + 8 + available and x > picture_left + 8:
            x, y = picture_left + 8, y + line_height + 20
            line_height = 0.0
        node.x, node.y = x + node.width / 2, y + node.height / 2
        x += node.width + 20
        right = max(right, x)
        line_height = max(line_height, node.height)
    if drawing.band is not None and nodes:
        band = drawing.band
        band.x, band.y = picture_left, top
        band.width = right - picture_left - 8
        band.width = max(band.width, text_width(band.label, FONT) + 20)
        band.height = y + line_height + 10 - top
        legend_x = band.x + band.width + 20
    else:
        legend_x = picture_left
    if legend is not None:
        legend.x, legend.y, legend.width, legend.height = legend_x, top, lw, lh


def _fit(drawing):
    """Shift everything so that the picture starts at the margin; record its size."""
    boxes = [(n.x - n.width / 2, n.y - n.height / 2, n.x + n.width / 2, n.y + n.height / 2)
             for n in drawing.nodes.values() if n.x is not None]
    for item in list(drawing.steps) + list(drawing.rows) + list(drawing.chunks) + \
            [drawing.band, drawing.legend]:
        if item is not None and item.x is not None:
            boxes.append((item.x, item.y, item.x + item.width, item.y + item.height))
    left = _half(min(b[0] for b in boxes) - MARGIN)
    top = _half(min(b[1] for b in boxes) - MARGIN)
    for node in drawing.nodes.values():
        if node.x is None:
            node.x, node.y = MARGIN, MARGIN
        node.x, node.y = round(node.x - left, 1), round(node.y - top, 1)
    for item in list(drawing.steps) + list(drawing.rows) + list(drawing.chunks) + \
            [drawing.band, drawing.legend]:
        if item is not None and item.x is not None:
            item.x, item.y = round(item.x - left, 1), round(item.y - top, 1)
    drawing.width = round(max(b[2] for b in boxes) - left + MARGIN, 1)
    drawing.height = round(max(b[3] for b in boxes) - top + MARGIN, 1)

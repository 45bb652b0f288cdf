"""A laid-out Drawing -> DOT text with every position pinned; ``render`` writes SVG/PNG/PDF/DOT.

Graphviz draws and routes the edges; it places nothing: ``neato -n2`` keeps every node where
the layout put it, and each box (row, chunk, step, band) is a cluster with its ``bb`` given.

The Graphviz workarounds, all here: in ``-n2`` mode neato draws a cluster only when the
cluster carries its ``bb`` (it computes none itself), so every box is written with its
bounding box in Graphviz's coordinates (points, y up); and it moves the whole picture so that
its lowest node sits at the origin unless ``notranslate=true``, which keeps the Drawing's
coordinates (and the boxes' ``bb``) valid as written. Routing edges around the nodes
(``splines=true``) costs Graphviz time that grows about with edges times nodes (14 s for four
rows of twelve LSTM steps), so a large picture gets ``splines=line``: each edge one straight
line (or the route given in its ``pos``), drawn in under a second. Not ``splines=curved``:
Graphviz finds every cycle of the graph to bend its curves, which takes minutes for a
picture drawn op by op (four LSTM layers: over five minutes).

Every name reaching the text goes through ``tinyseq.escape`` (dot_string for quoted strings,
dot_html inside HTML-like labels); ids are the Drawing's, made of letters, digits and ``_``.
"""
import os
import shutil
import subprocess
import warnings

from .. import escape
from ..serialization import write_atomically
from . import drawing as d
from .layout import FONT, ROW_FONT, SMALL, STEP_FONT, tap_width, text_width
from .plan import heat

SUFFIXES = (".svg", ".png", ".pdf", ".dot")
ENGINE = ["neato", "-n2"]
ROUTED_EDGES = 250           # up to this many edges are routed around the nodes
GRAPHVIZ_SECONDS = 120       # then a picture is given up with an error saying what to do

_NODE_STYLE = {
    d.OP: 'shape=box, style="rounded,filled"',
    d.CELL: 'shape=box, style="rounded,filled"',
    d.LOSS: 'shape=box, style="filled,bold"',
    d.PARAM: 'shape=box, style="rounded,filled"',
    d.DATA: 'shape=ellipse, style=filled',
    d.INPUT: f'shape=ellipse, style=filled, fontsize={SMALL}',
    d.TARGET: f'shape=ellipse, style=filled, fontsize={SMALL}',
    d.INITIAL: 'shape=box, style="rounded,filled"',
    d.OUTPUT: f'shape=box, style="rounded,filled", fontsize={SMALL}',
    d.ELIDED: 'shape=box, style="dotted,rounded"',
    d.CONTEXT: 'shape=box, style="rounded,filled,bold"',
    d.MEMORY: 'shape=box, style="rounded,filled", color="#9b59b6"',
    d.CUT: 'shape=box, style="dashed,filled"',
}
_EDGE_STYLE = {
    d.STATE: 'penwidth=1.8, color="#333333"',
    d.FLOW: "",
    d.FEED: 'color="#7aa6cf"',
    d.TAP_EDGE: 'color="#b8860b", arrowsize=0.6',
    d.UP: 'penwidth=1.4',
    d.GATHER: 'style=dashed',
    d.ATTENTION: 'color="#9b59b6", penwidth=0.8, arrowsize=0.5',
    d.CUT_EDGE: 'color="#c0392b", style=dashed, penwidth=2, fontcolor="#c0392b"',
}


def _num(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Writer:
    def __init__(self, drawing):
        self.drawing = drawing
        self.height = drawing.height

    def point(self, x, y):
        return f"{_num(x)},{_num(self.height - y)}"

    def bb(self, item):
        return (f"{_num(item.x)},{_num(self.height - item.y - item.height)},"
                f"{_num(item.x + item.width)},{_num(self.height - item.y)}")

    def node(self, node, indent):
        attributes = [f"id={escape.dot_string(node.id)}", f'pos="{self.point(node.x, node.y)}!"',
                      f"width={node.width / 72:.3f}", f"height={node.height / 72:.3f}"]
        if node.kind == d.TAP:
            attributes.append(f"shape=plain, label=<{_tap_label(node)}>")
        elif node.kind == d.MEMORY and self.drawing.row_columns(node.id):
            attributes.append(f"shape=plain, label=<{_memory_label(node, self.drawing)}>")
        elif node.kind == d.PARAM:
            attributes.append(f'shape=box, style="rounded,filled", fillcolor="{node.fill}", '
                              f'color="#b8860b", margin="0.06,0.03", label=<{_param_label(node)}>')
        else:
            lines = node.label.split("\n") + ([node.detail] if node.detail else [])
            attributes.append(_NODE_STYLE.get(node.kind, _NODE_STYLE[d.OP]))
            attributes.append(f'fillcolor="{node.fill}"')
            attributes.append("label=" + escape.dot_string("\n".join(lines)))
        return f"{indent}{node.id} [{', '.join(attributes)}];"

    def cluster(self, cluster_id, label, item, style, indent, font=STEP_FONT, bold=True):
        return (f"{indent}subgraph {cluster_id} {{\n"
                f"{indent}  label={escape.dot_string(label)}; bb=\"{self.bb(item)}\"; "
                f"id={escape.dot_string(cluster_id)}; "
                f"fontname=\"{'Helvetica-Bold' if bold else 'Helvetica'}\"; fontsize={font}; "
                f"labeljust=l; labelloc=t; {style}")


def to_dot_text(drawing):
    """DOT text of a laid-out ``drawing`` for ``neato -n2`` (see the module docstring)."""
    writer = _Writer(drawing)
    lines = ["digraph bptt {",
             f'  graph [bb="0,0,{_num(drawing.width)},{_num(drawing.height)}", '
             f'splines={"true" if len(drawing.edges) <= ROUTED_EDGES else "line"}, '
             f'notranslate=true, '
             f'outputorder=edgesfirst, fontname="Helvetica", pad=0.1];',
             f'  node [fontname="Helvetica", fontsize={FONT}, style=filled, fillcolor=white, '
             f'margin="0.08,0.03"];',
             f'  edge [fontname="Helvetica", fontsize={SMALL}, color="#555555"];']
    drawn = set()
    in_box = {}
    for box in drawing.steps:
        for node_id in box.nodes:
            in_box[node_id] = box.id
    named_rows = any(row.name for row in drawing.rows)
    for row in drawing.rows:
        indent = "  "
        if named_rows and row.name:
            lines.append(writer.cluster(f"cluster_{row.id}", row.name, row,
                                        'style="rounded"; color="#6a8caf";', indent, ROW_FONT))
            indent = "    "
        chunk_of = {}
        for chunk in drawing.chunks:
            for t in chunk.steps:
                chunk_of[t] = chunk
        opened = None
        for box_id in row.boxes:
            box = drawing.box(box_id)
            chunk = chunk_of.get(box.time_step)
            if chunk is not opened:
                if opened is not None:
                    lines.append(f"{indent[:-2]}}}")
                    indent = indent[:-2]
                if chunk is not None:
                    lines.append(writer.cluster(chunk.id, chunk.label, chunk,
                                                'style="rounded,dashed"; color="#c0392b"; '
                                                'fontcolor="#c0392b";', indent, STEP_FONT))
                    indent += "  "
                opened = chunk
            lines.append(writer.cluster(box.id, box.label, box,
                                        'style="rounded,filled"; fillcolor="#f4f4f4"; '
                                        'color="#999999";', indent))
            for node_id in box.nodes:
                lines.append(writer.node(drawing.nodes[node_id], indent + "  "))
                drawn.add(node_id)
            lines.append(f"{indent}}}")
        if opened is not None:
            indent = indent[:-2]
            lines.append(f"{indent}}}")
        for node in drawing.nodes.values():
            if node.row == row.id and node.id not in drawn and node.id not in in_box:
                lines.append(writer.node(node, indent))
                drawn.add(node.id)
        if named_rows and row.name:
            lines.append("  }")
    if drawing.band is not None and drawing.band.x is not None:
        lines.append(writer.cluster(drawing.band.id, drawing.band.label, drawing.band,
                                    'style="rounded,dashed"; color="#b8860b"; labeljust=c;', "  ", FONT,
                                    bold=False))
        for node_id in drawing.band.nodes:
            lines.append(writer.node(drawing.nodes[node_id], "    "))
            drawn.add(node_id)
        lines.append("  }")
    for node in drawing.nodes.values():
        if node.id not in drawn:
            lines.append(writer.node(node, "  "))
    if drawing.legend is not None:
        legend = drawing.legend
        lines.append(f'  legend [id="legend", shape=plain, fillcolor=none, '
                     f'pos="{writer.point(legend.x + legend.width / 2, legend.y + legend.height / 2)}!", '
                     f'label=<{_legend_label(legend)}>];')
    # a state two ops of the next step read (a GRU's h_{t-1}, op by op): named once
    named_states, repeated = set(), set()
    for edge in drawing.edges:
        if edge.kind == d.STATE:
            key = (edge.tail, drawing.nodes[edge.head].box, edge.label)
            if key in named_states:
                repeated.add(edge.id)
            named_states.add(key)
    for edge in drawing.edges:
        lines.append(_edge_line(edge, drawing, writer, edge.id in repeated))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_line(edge, drawing, writer, unlabelled=False):
    """One edge; ``unlabelled``: without its text (another edge says it)."""
    tail = edge.tail + (f":{edge.tail_port}" if edge.tail_port else "")
    head = edge.head + (f":{edge.head_port}" if edge.head_port else "")
    attributes = [f'id="{edge.id}"']
    route = _state_route(edge, drawing) or _attention_route(edge, drawing) or \
        _skipping_route(edge, drawing)
    if route is not None:
        points, end, label_at = route
        attributes.append(f'pos="e,{writer.point(*end)} '
                          f'{" ".join(writer.point(*p) for p in points)}"')
        if label_at is not None and not unlabelled:
            attributes.append(f'lp="{writer.point(*label_at)}"')
    tap = drawing.nodes[edge.tail]
    if edge.kind == d.TAP_EDGE and edge.tail_port and len(tap.cells) > tap_width(tap):
        # a tap of several lines: from the top of its cell, up past the cells above it,
        # instead of around the table (Graphviz then titles the edge with the side alone)
        attributes.append(f'tailport="{edge.tail_port}:n"')
    head_tap = drawing.nodes[edge.head]
    if edge.kind in (d.UP, d.FEED) and head_tap.kind == d.TAP and edge.head_port and \
            len(head_tap.cells) > tap_width(head_tap):
        # into the input weight's cell on a tap's first line: from its left side, not around
        # the table to its top
        attributes.append(f'headport="{edge.head_port}:w"')
    style = _EDGE_STYLE.get(edge.kind, "")
    if style:
        attributes.append(style)
    label = edge.label
    # a tap cell shows its share, a parameter's box its |grad|: no number on their edges
    # (beside a parameter, one would lie under its box)
    if edge.value is not None and edge.kind != d.TAP_EDGE and \
            drawing.nodes[edge.tail].kind != d.PARAM:
        label = f"{label}\n{edge.value:.2g}" if label else f"{edge.value:.2g}"
    if label and not unlabelled:
        attributes.append("label=" + escape.dot_string(label))
    if edge.colour is not None:
        attributes.append(f'color="{edge.colour}", fontcolor="{edge.colour}"')
    if edge.width is not None:
        attributes.append(f"penwidth={edge.width}")
    return f"  {tail} -> {head} [{', '.join(attributes)}];"


def _tap_label(node):
    """A step's tap: one cell per shared weight, a few to a line, coloured by the step's share."""
    cells = []
    for cell in node.cells:
        colour = _light(cell.colour) if cell.colour else "#fff3c4"
        cells.append(f'<td port="{cell.port}" bgcolor="{colour}"><font point-size="{SMALL}">'
                     f'{escape.dot_html(cell.label)}</font></td>')
    per_line = tap_width(node)
    rows = "".join(f'<tr>{"".join(cells[i:i + per_line])}</tr>'
                   for i in range(0, len(cells), per_line))
    return (f'<table border="0" cellborder="1" cellspacing="0" cellpadding="2" '
            f'bgcolor="white">{rows}</table>')


def _state_route(edge, drawing):
    """Op by op, a state that a lower op of the next step reads (h_{t-1} into W_hh h): its
    path as neato -n2 takes it from ``pos`` (a route it would otherwise draw straight across
    both steps): out of the op's side, along the gap between the two step boxes, over the top
    of the op reading it and down into it. (points of the cubic B-spline, the arrow's tip,
    the label's centre) in the Drawing's coordinates, or None for any other edge."""
    if not _routed(edge, drawing):
        return None
    tail, head = drawing.nodes[edge.tail], drawing.nodes[edge.head]
    tail_box, head_box = drawing.box(tail.box), drawing.box(head.box)
    forward = head_box.x > tail_box.x
    # the states between two steps side by side in the gap, the one reaching lowest
    # outermost: each crosses the others at most once, at a right angle
    siblings = sorted((e for e in drawing.edges if e.tail in tail_box.nodes and
                       e.head in head_box.nodes and _routed(e, drawing)),
                      key=lambda e: drawing.nodes[e.head].y)
    offset = (siblings.index(edge) - (len(siblings) - 1) / 2) * 12 * (1 if forward else -1)
    if forward:
        gap = (tail_box.x + tail_box.width + head_box.x) / 2 + offset
        start = (tail.x + tail.width / 2, tail.y)
    else:
        gap = (head_box.x + head_box.width + tail_box.x) / 2 + offset
        start = (tail.x - tail.width / 2, tail.y)
    top = head.y - head.height / 2
    above = top - 12
    corners = [start, (gap, tail.y), (gap, above), (head.x, above), (head.x, top - 8)]
    points = _straight_segments(corners)
    lines = (edge.label.split("\n") if edge.label else []) + \
        ([f"{edge.value:.2g}"] if edge.value is not None else [])
    half = max((text_width(line, SMALL) for line in lines), default=0) / 2 + 3
    label_at = (gap + half if forward else gap - half, tail.y - 4 - len(lines) * (SMALL + 2) / 2)
    return points, (head.x, top), label_at


def _attention_route(edge, drawing):
    """An encoder step's output into the attention bar under the encoder's rows: out of the
    cell's side and straight down the gap right of its step box into the bar (the rows nearer
    the bar nearer the box, so no two cross), instead of through the step's tap and input or
    the boxes of the rows below, or, routed around them, in loops. (points, the arrow's tip,
    None), or None."""
    if edge.kind != d.ATTENTION:
        return None
    tail, memory = drawing.nodes[edge.tail], drawing.nodes[edge.head]
    if memory.kind != d.MEMORY or tail.box is None:
        return None
    box = drawing.box(tail.box)
    top = memory.y - memory.height / 2
    between = sum(1 for row in drawing.rows if box.y + box.height < row.y < top)
    gap = box.x + box.width + 6 + 6 * between     # clear of the state arrows' labels
    end = (min(gap, memory.x + memory.width / 2 - 4), top)
    below_state = tail.y + tail.height / 4          # beside the state arrow, not on it
    corners = [(tail.x + tail.width / 2, below_state), (gap, below_state), (gap, top - 12), end]
    points = _straight_segments(corners)
    return points, end, None


def _skipping_route(edge, drawing):
    """A step's output up into a row that is not the next one up (a bidirectional layer's
    outputs into both directions of the layer above): out of the cell's left side, up the gap
    left of its step box, and in from the left at the input weight's cell (or the node), instead
    of through the boxes of the rows between. (points, the arrow's tip, None), or None."""
    if edge.kind != d.UP:
        return None
    tail, head = drawing.nodes[edge.tail], drawing.nodes[edge.head]
    if tail.box is None or head.box is None:
        return None
    box, head_box = drawing.box(tail.box), drawing.box(head.box)
    if not any(head_box.y + head_box.height < row.y and row.y + row.height < box.y
               for row in drawing.rows):
        return None
    # several from one step: side by side in the gap, the one going highest outermost
    siblings = sorted((e for e in drawing.edges if e.kind == d.UP and e.tail == edge.tail),
                      key=lambda e: -drawing.nodes[e.head].y)
    gap = box.x - 8 - 7 * siblings.index(edge)
    start = (tail.x - tail.width / 2, tail.y + tail.height / 4)
    if head.kind == d.TAP:
        end = (head.x - head.width / 2, head.y - head.height / 2 + 9)
    else:
        end = (head.x - head.width / 2, head.y)
    corners = [start, (gap, start[1]), (gap, end[1]), end]
    points = _straight_segments(corners)
    return points, end, None


def _straight_segments(corners):
    """The B-spline control points of straight segments through ``corners`` (each segment's
    two inner control points on it, a third and two thirds along), as Graphviz's pos wants."""
    points = [corners[0]]
    for (x0, y0), (x1, y1) in zip(corners, corners[1:]):
        points += [(x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3),
                   (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3), (x1, y1)]
    return points


def _routed(edge, drawing):
    """Whether ``edge`` is a state that ``_state_route`` routes: op by op, from a step box
    into a lower op of another step box."""
    if edge.kind != d.STATE or drawing.collapse:
        return False
    tail, head = drawing.nodes[edge.tail], drawing.nodes[edge.head]
    return tail.box is not None and head.box is not None and head.y - tail.y >= 30


def _memory_label(node, drawing):
    """What attention reads, as a bar under the encoder's row: its title, and one cell under
    each of the row's columns (h_t, ⋯ under the elided steps), the port an encoder step's edge
    comes down into."""
    columns = drawing.row_columns(node.id)
    cells = []
    for (x, _, label, port), following in zip(columns, columns[1:] + [None]):
        width = (following[0] - x) if following else columns[-1][1]
        name = f' port="{port}"' if port else ""
        cells.append(f'<td{name} width="{width:.0f}" fixedsize="true" height="{SMALL + 6}">'
                     f'<font point-size="{SMALL}">{escape.dot_html(label)}</font></td>')
    return (f'<table border="0" cellborder="1" cellspacing="0" cellpadding="1" bgcolor="#fdebd0" '
            f'color="#9b59b6"><tr><td colspan="{len(cells)}" height="{SMALL + 6}"><font '
            f'point-size="{SMALL}">{escape.dot_html(node.label)}</font></td></tr>'
            f'<tr>{"".join(cells)}</tr></table>')


def _light(colour):
    """A heat colour lightened for a cell's background, so black text on it stays legible."""
    hue = colour.split()[0]
    return f"{hue} 0.450 1.000"


def _param_label(node):
    """A parameter: its name, shape and |grad|, and dL/dW = sum over t as one bar per step."""
    rows = [f'<tr><td><b>{escape.dot_html(node.label)}</b></td></tr>',
            f'<tr><td><font point-size="{SMALL}">{escape.dot_html(node.detail)}</font></td></tr>']
    if node.bars:
        high = max(bar.value for bar in node.bars) or 1.0
        cells, ticks = [], []
        for bar in node.bars:
            height = max(1, round(24 * bar.value / high))
            cells.append(f'<td valign="bottom"><table border="0" cellspacing="0" cellpadding="0">'
                         f'<tr><td fixedsize="true" width="10" height="{25 - height}"></td></tr>'
                         f'<tr><td fixedsize="true" width="10" height="{height}" '
                         f'bgcolor="{bar.colour}"></td></tr></table></td>')
            ticks.append(f'<td><font point-size="{SMALL}">{escape.dot_html(bar.tick)}</font></td>')
        span = len(node.bars)
        rows.append(f'<tr><td><table border="0" cellspacing="1" cellpadding="0">'
                    f'<tr><td colspan="{span}"><font point-size="{SMALL}">dL/dW = &#931;'
                    f'<sub>t</sub> (one bar per step)</font></td></tr>'
                    f'<tr>{"".join(cells)}</tr><tr>{"".join(ticks)}</tr></table></td></tr>')
    return f'<table border="0" cellspacing="0" cellpadding="1">{"".join(rows)}</table>'


def _legend_label(legend):
    rows = ['<tr><td align="left" colspan="2"><b>legend</b></td></tr>']
    for line in legend.lines:
        text = escape.dot_html(line.text)
        if line.colour:
            text = f'<font color="{line.colour}">{text}</font>'
        if line.low is None:
            rows.append(f'<tr><td align="left" colspan="2">{text}</td></tr>')
            continue
        low, high = line.low, line.high
        swatch = "".join(f'<td bgcolor="{heat(low * (high / low) ** (i / 6), low, high)[0]}" '
                         f'width="12"></td>' for i in range(7)) if high > low > 0 else \
            f'<td bgcolor="{heat(1, 1, 1)[0]}" width="12"></td>'
        rows.append(f'<tr><td align="left">{text}</td><td><table border="0" cellspacing="0" '
                    f'cellpadding="0"><tr><td>{low:.2g} </td>{swatch}<td> {high:.2g}</td></tr>'
                    f'</table></td></tr>')
    return (f'<table border="1" color="#aaaaaa" style="rounded" cellspacing="1" '
            f'cellborder="0" bgcolor="white"><tr><td><font point-size="{SMALL}">'
            f'<table border="0" cellspacing="1">{"".join(rows)}</table></font></td></tr></table>')


def run_graphviz(source, output_format, engine=None):
    """``source`` drawn by Graphviz in ``output_format`` (svg, png, pdf, json): bytes."""
    engine = engine or ENGINE
    try:
        result = subprocess.run(engine + [f"-T{output_format}"], input=source.encode("utf-8"),
                                capture_output=True, timeout=GRAPHVIZ_SECONDS)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"render: Graphviz ({' '.join(engine)}) did not finish in "
                           f"{GRAPHVIZ_SECONDS} s; draw fewer steps (first_last=k) or one node "
                           f"per module per step (collapse=True), or write the DOT text "
                           f"(a .dot path) and run Graphviz yourself") from None
    if result.returncode != 0:
        raise RuntimeError(f"render: Graphviz ({' '.join(engine)}) failed: "
                           f"{result.stderr.decode(errors='replace')[:500]}")
    return result.stdout


def write(source, path, rolled=False):
    """Write DOT ``source`` to ``path`` as .dot, or drawn as .svg/.png/.pdf; without Graphviz,
    the DOT text next to it as ``<path>.dot`` with a warning. Returns the path written."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".dot":
        write_atomically(path, lambda f: f.write(source.encode("utf-8")))
        return path
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is None or shutil.which(ENGINE[0]) is None:
        fallback = path + ".dot"
        write_atomically(fallback, lambda f: f.write(source.encode("utf-8")))
        missing = "the graphviz package" if graphviz is None else "the neato program"
        warnings.warn(f"render: Graphviz is not available ({missing} is missing), so the graph "
                      f"was written as DOT source to {fallback}. Install it with `apt-get "
                      f"install graphviz` and `pip install graphviz`, or run `{' '.join(ENGINE)} "
                      f"-T{suffix[1:]} {fallback} -o {path}`.", stacklevel=3)
        return fallback
    image = run_graphviz(source, suffix[1:], ["dot"] if rolled else ENGINE)
    write_atomically(path, lambda f: f.write(image))
    return path

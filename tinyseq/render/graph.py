"""Drawing a trace: Graphviz DOT text of the unrolled graph, rendering it, and plotting
gradient flow over time.

The drawing follows the textbook figure. Time runs left to right on one straight row of step
boxes (``t = 3``), the recurrent state passing from each box to the next; inputs come in below,
outputs and losses leave above. A model with several recurrent layers gets one row per layer
(and direction), layer 0 at the bottom and each step's output going straight up into the same
step of the layer above; per-step losses get a row above the steps that feed them; an
encoder-decoder gets a named encoder row above a named decoder row, each numbering its own
steps from 0. After a backward pass the ops outside the steps that lead nowhere the gradient
went are left out, and so is plumbing: a slice of the data is drawn as that data, the stack
and slice between two rows as one edge, the state handed across ``detach()`` as the cut.
Shared parameters sit in a band below the rows, drawn once: inside each step box a small tap
names the weights that step uses, so no edge runs from the band across the row. With
``grads=True`` each tap cell, and each parameter's bar of per-step shares (dL/dW = sum over
t), is coloured on one heat scale (blue small, red large, logarithmic), and the state edges
carry the norm of the gradient flowing back through them, so a vanishing gradient is seen at
a glance. Every picture carries a legend.

Long sequences are elided automatically (the first and last steps drawn, one "... 80 steps ..."
box in between that carries the elided steps' summed contribution), each step is one node per
module unless ``collapse=False``, and past ``max_nodes`` the drawing collapses further, so
Graphviz never gets a graph that takes it more than seconds. Drawn op by op
(``collapse=False``), steps keep their order but not one level: Graphviz orders each box's
gates on its own.
"""
import copy
import math
import os
import re
import shutil
import warnings

from ..serialization import write_atomically

_SUFFIXES = (".svg", ".png", ".pdf", ".dot")
_LARGE = 60
_LARGE_LAYOUT = " nslimit=2; nslimit1=2; mclimit=0.2;"  # fewer layout passes: seconds, not minutes
_MAX_INCHES = 41.6       # at most 3,000 px on the long side at 72 dpi: Graphviz scales down
_ELIDED_KEEP = 10        # an automatically elided row keeps its first and last 10 steps
_RESHAPING = {"getitem", "transpose", "reshape", "stack", "concat", "broadcast_to", "clone",
              "repeat", "pad"}          # ops that only move numbers: a slice of x is still x
_RECURRENT_PARAM = re.compile(r"^(?:(?P<module>.*)\.)?(?:weight|bias)_(?:ih|hh)"
                              r"(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$")


def _level(value, low, high):
    """Where ``value`` lies between low and high on a log scale, from 0 to 1."""
    if value <= 0 or high <= 0:
        return 0.0
    if high <= low:
        return 1.0
    level = (math.log10(max(value, low)) - math.log10(low)) / (math.log10(high) - math.log10(low))
    return min(level, 1.0)


def _heat(value, low, high):
    """A Graphviz HSV colour and pen width for ``value`` on a log scale from low to high."""
    level = _level(value, low, high)
    return f"{0.66 * (1 - level):.3f} 0.850 0.850", f"{1 + 2.5 * level:.2f}"


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _html(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shape_text(shape):
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _short_name(name, row_module):
    """``weight_hh_l0`` -> W_hh; a weight of another module keeps that module's name."""
    module, _, last = name.rpartition(".")
    last = re.sub(r"_l\d+(_reverse)?$", "", last)
    last = re.sub(r"^weight", "W", re.sub(r"^bias", "b", last))
    if module and module != row_module:
        return f"{module.split('.')[-1]}.{last}"
    return last


class _Row:
    """The steps of one recurrent layer (and direction), or of the encoder or decoder."""

    def __init__(self, index, key):
        self.index = index
        self.key = key                      # (group, layer, reverse, module)
        self.group, self.layer, self.reverse, self.module = key
        self.steps = []
        self.fallback = False               # a row of ops that read no recurrent weight
        self.shown = []
        self.elided = []
        self.start = 0
        self.name = ""

    def cluster(self, t):
        local = t - self.start
        return f"cluster_t{local}" if self.index == 0 else f"cluster_r{self.index}_t{local}"

    @property
    def elided_node(self):
        return "elided" if self.index == 0 else f"elided_r{self.index}"


def _row_key(name):
    match = _RECURRENT_PARAM.match(name)
    if match is None:
        return None
    module = match.group("module") or ""
    parts = module.split(".") if module else []
    layer = int(match.group("layer") or 0)
    if parts and parts[-1].isdigit():
        layer = int(parts[-1])
        parts = parts[:-1]
    return (parts[0] if parts else "", layer, bool(match.group("reverse")), module)


def _find_rows(trace):
    """{op index: row} for every op inside a time step, and the rows in drawing order.

    An op belongs to the row of the recurrent weight it reads (``weight_hh_l1`` -> layer 1),
    else to the row of an input made in the same step, else to that of a consumer in the same
    step; what is left (a hand-written loop) to one row per top-level module.
    """
    names = {key: leaf.name for key, leaf in trace.leaves.items() if leaf.is_param}
    key_of = {}
    for record in trace.ops:
        if record.time_step is None:
            continue
        key = next((k for kind, source in record.inputs if kind == "param"
                    for k in [_row_key(names[source])] if k is not None), None)
        if key is None:
            key = next((key_of[source] for kind, source in record.inputs if kind == "op"
                        and source in key_of and trace.ops[source].time_step == record.time_step),
                       None)
        if key is not None:
            key_of[record.index] = key
    for record in reversed(trace.ops):
        if record.index not in key_of:
            continue
        for kind, source in record.inputs:
            if kind == "op" and source not in key_of and \
                    trace.ops[source].time_step == record.time_step:
                key_of[source] = key_of[record.index]
    fallback = set()
    for record in trace.ops:
        if record.time_step is not None and record.index not in key_of:
            top = record.module_path.split(".")[0]
            key_of[record.index] = (top, -1, False, top)      # layer -1: never a layer's key
            fallback.add(key_of[record.index])
    rows = {}
    for record in trace.ops:
        if record.index in key_of:
            key = key_of[record.index]
            row = rows.setdefault(key, _Row(len(rows), key))
            if not row.steps or row.steps[-1] != record.time_step:
                row.steps.append(record.time_step)
    ordered = list(rows.values())
    groups = []
    for row in ordered:
        row.steps = sorted(set(row.steps))
        if row.group not in groups:
            groups.append(row.group)
    layers = {}
    for row in ordered:
        row.fallback = row.key in fallback
        if not row.fallback:
            layers.setdefault(row.group, set()).add((row.layer, row.reverse))
    for row in ordered:
        if len(groups) > 1:
            row.start = min(r.steps[0] for r in ordered if r.group == row.group)
        parts = [row.group] if len(groups) > 1 and row.group else []
        if len(layers.get(row.group, ())) > 1 and not row.fallback:
            parts.append(f"layer {row.layer}" + (" (reverse)" if row.reverse else ""))
        row.name = " ".join(parts)
        if not row.fallback and not row.name and len(ordered) > 1:
            row.name = row.module or trace.module_kinds.get(row.module, "") or "the recurrent layer"
        if row.fallback and len(ordered) > 1:
            row.name = "the loss L_t of each step" if any(
                "loss" in r.kind or "entropy" in r.kind or r.kind == "mean" for r in trace.ops
                if key_of.get(r.index) == row.key) \
                else row.name or "the other ops of each step"
    return {index: rows[key] for index, key in key_of.items()}, ordered


class _Ops:
    """The records a picture draws, in order; indexing by a record's index still finds any
    record (an input the picture links around)."""

    def __init__(self, records, shown):
        self.records, self.shown = records, shown

    def __iter__(self):
        return iter(self.shown)

    def __reversed__(self):
        return reversed(self.shown)

    def __len__(self):
        return len(self.shown)

    def __getitem__(self, index):
        return self.records[index]


class _Drawn:
    """What a picture draws of a trace: every op inside the steps and the ops outside them
    that matter to the loss.

    After a backward pass, an op outside the steps whose output reaches nothing backward went
    through (a final state no one reads) is left out. So is the plumbing that only hands the
    outputs of one row's steps to another row with the same steps (the stack and slice between
    stacked layers, or between an LSTM and its per-step losses): the reading step is linked
    straight to the step of the row below (``bridges``: op index -> the rows it comes from).
    """

    def __init__(self, trace):
        self.trace = trace
        records = trace.ops
        consumers = {}
        for record in records:
            for kind, source in record.inputs:
                if kind == "op":
                    consumers.setdefault(source, []).append(record.index)
        timed = [r.index for r in records if r.time_step is not None]
        reached = [r.index for r in records if r.grad_norm is not None]
        if reached:
            pending, keep = reached + timed, set(reached + timed)
            while pending:
                for kind, source in records[pending.pop()].inputs:
                    if kind == "op" and source not in keep:
                        keep.add(source)
                        pending.append(source)
        else:
            keep = {r.index for r in records}
        readers_of = {index: [c for c in readers if c in keep]
                      for index, readers in consumers.items()}
        row_of, rows = _find_rows(trace)
        self.bridges, self.below = {}, {}
        for record in records:
            readers = readers_of.get(record.index)
            if record.time_step is not None or not readers or \
                    any(c not in row_of for c in readers):
                continue
            sources = _rows_feeding(records, record.index, row_of)
            targets = {row_of[c].index for c in readers}
            if sources and all(rows[a].steps == rows[b].steps and a != b
                               for a in sources for b in targets):
                self.bridges[record.index] = [rows[a].key for a in sorted(sources)]
                for b in targets:
                    self.below.setdefault(rows[b].key, set()).update(rows[a].key for a in sources)
        hidden = set(self.bridges)
        for record in reversed(records):
            readers = readers_of.get(record.index)
            if record.time_step is None and readers and all(c in hidden for c in readers):
                hidden.add(record.index)
        # a detached state handed to the next chunk is drawn as the cut alone (see _cuts), and
        # a slice or stack of data (x[t], the initial states) stands for that data
        handoffs, view_of = set(), {}
        for record in records:
            inputs = [(kind, source) for kind, source in record.inputs if kind != "const"]
            if record.time_step is not None or not inputs:
                continue
            if all(kind == "data" and source in trace.cuts or source in handoffs
                   for kind, source in inputs):
                handoffs.add(record.index)
            elif record.kind in _RESHAPING:
                leaves = [[source] if kind == "data" else view_of.get(source)
                          for kind, source in inputs]
                if all(leaves):
                    view_of[record.index] = list(dict.fromkeys(k for ks in leaves for k in ks))
        views = {index for index in view_of if readers_of.get(index)}
        hidden |= handoffs | views
        redirected = [_redirected(r, handoffs, views, view_of, trace.cuts) for r in records]
        shown = [r for r in redirected if r.index in keep and r.index not in hidden]
        self.ops = _Ops(redirected, shown)
        read = {source for r in shown for kind, source in r.inputs if kind == "data"}
        self.leaves = {k: leaf for k, leaf in trace.leaves.items() if leaf.is_param or k in read}

    def __getattr__(self, name):
        return getattr(self.trace, name)


def _redirected(record, handoffs, views, view_of, cuts):
    """``record`` reading the data a slice was taken from instead of the slice, and without
    the handed-on state of a cut."""
    inputs = [item for kind, source in record.inputs
              if not (kind == "op" and source in handoffs or kind == "data" and source in cuts)
              for item in ([("data", leaf) for leaf in view_of[source]]
                           if kind == "op" and source in views else [(kind, source)])]
    if inputs == record.inputs:
        return record
    redirected = copy.copy(record)
    redirected.inputs = inputs
    return redirected


def _rows_feeding(records, index, row_of):
    """The rows whose step ops feed op ``index`` through ops outside the steps alone, or None
    when anything else (a parameter, another computation's data) comes in on the way."""
    rows, pending, seen = set(), [index], {index}
    while pending:
        for kind, source in records[pending.pop()].inputs:
            if kind == "param":
                return None
            if kind != "op" or source in seen:
                continue
            seen.add(source)
            if source in row_of:
                rows.add(row_of[source].index)
            else:
                pending.append(source)
    return rows or None


class _Layout:
    """Which drawn node each recorded op belongs to, given collapsing and elision.

    ``collapse`` draws each module's ops of one step as one node; ``untimed`` also groups the
    ops outside any step by module (the last resort for graphs without time steps).
    """

    def __init__(self, trace, collapse, first_last, untimed=False):
        self.row_of, self.rows = _find_rows(trace)
        for row in self.rows:
            row.shown, row.elided = list(row.steps), []
            if first_last is not None and len(row.steps) > 2 * first_last:
                row.shown = row.steps[:first_last] + row.steps[-first_last:]
                row.elided = row.steps[first_last:-first_last]
        self.collapse = collapse
        self.module_kinds = trace.module_kinds
        self.node_of_op = {}
        self.module_of_node = {}
        self.op_of_node = {}                # drawn node -> the first op it stands for
        self.groups = {}
        module_number = {}
        for record in trace.ops:
            t, row = record.time_step, self.row_of.get(record.index)
            if row is not None and t not in row.shown:
                self.node_of_op[record.index] = row.elided_node
            elif (collapse and row is not None) or (untimed and row is None):
                number = module_number.setdefault(record.module_path, len(module_number))
                self.node_of_op[record.index] = (f"um{number}" if row is None else
                                                 f"r{row.index}t{t}m{number}")
            else:
                self.node_of_op[record.index] = f"op{record.index}"
            self.module_of_node.setdefault(self.node_of_op[record.index], record.module_path)
            self.op_of_node.setdefault(self.node_of_op[record.index], record.index)

    @property
    def shown_boxes(self):
        return sum(len(row.shown) for row in self.rows)

    @property
    def elided(self):
        return any(row.elided for row in self.rows)

    def size(self, trace):
        """What Graphviz has to lay out: nodes (ops, leaves, elisions, taps, the x[t] and
        output[t] nodes) plus step boxes."""
        stubs = len(_stubs(trace, self)) + len(_outputs(trace, self))
        return len(set(self.node_of_op.values())) + len(trace.leaves) + 2 * self.shown_boxes + stubs

    def outside_steps(self, trace):
        """What is drawn whatever steps are shown: the ops outside the steps and the leaves."""
        return len({node for index, node in self.node_of_op.items()
                    if index not in self.row_of}) + len(trace.leaves)


def _choose_layout(trace, collapse, first_last, max_steps, max_nodes):
    """Elide rows longer than ``max_steps`` and collapse long rows, then fall back step by step
    (with a warning each) until the graph has at most ``max_nodes`` nodes and step boxes."""
    _, rows = _find_rows(trace)
    longest = max((len(row.steps) for row in rows), default=0)
    if first_last is None and max_steps is not None and longest > max_steps:
        first_last = min(_ELIDED_KEEP, max(1, max_steps // 2))
    layout = _Layout(trace, collapse, first_last)
    if layout.size(trace) > max_nodes and not collapse and trace.steps:
        warnings.warn(f"to_dot: {layout.size(trace)} nodes and step boxes exceed max_nodes="
                      f"{max_nodes}; collapsing each step's modules into one node", stacklevel=4)
        layout = _Layout(trace, True, first_last)
    if layout.size(trace) > max_nodes and layout.shown_boxes > 2 * len(layout.rows):
        fixed = layout.outside_steps(trace)
        per_step = -(-(layout.size(trace) - fixed) // layout.shown_boxes)
        k = max(1, (max_nodes - fixed - 1) // per_step // 2 // max(len(layout.rows), 1))
        if first_last is None or k < first_last:
            warnings.warn(f"to_dot: more than max_nodes={max_nodes} nodes and step boxes; "
                          f"showing only the first and last {k} steps", stacklevel=4)
            first_last = k
            layout = _Layout(trace, True, k)
    if layout.size(trace) > max_nodes:
        warnings.warn(f"to_dot: more than max_nodes={max_nodes} nodes; grouping the ops outside "
                      f"any time step by module (tag loops with ts.timestep(t) to see steps)",
                      stacklevel=4)
        layout = _Layout(trace, True, first_last, untimed=True)
    return layout


class _Scales:
    """The two heat scales of a picture: per-step weight shares and state gradients."""

    def __init__(self, trace, layout, grads):
        self.grads = grads
        self.shares = {}                         # (leaf key, t) -> ||dL/dW from step t||
        self.sums = {}                           # (leaf key, row index) -> elided steps' share
        self.totals = {}                         # leaf key -> ||dL/dW||
        if grads:
            for leaf in trace.parameters():
                if not trace.has_contributions(leaf.tensor):
                    continue
                contributions = trace.contributions(leaf.tensor)
                total = sum(g for _, g in contributions)
                self.totals[leaf.key] = float((total ** 2).sum()) ** 0.5
                for t, g in contributions:
                    self.shares[(leaf.key, t)] = float((g ** 2).sum()) ** 0.5
                for row in layout.rows:
                    elided = [g for t, g in contributions if t in set(row.elided)]
                    if elided:
                        self.sums[(leaf.key, row.index)] = float((sum(elided) ** 2).sum()) ** 0.5
        positive = [v for v in list(self.shares.values()) + list(self.sums.values()) if v > 0]
        self.share_range = (min(positive), max(positive)) if positive else (1.0, 1.0)
        states = []             # what the state edges carry: outputs read by a later step
        for record in trace.ops if grads else ():
            row = layout.row_of.get(record.index)
            for kind, source in record.inputs:
                producer = trace.ops[source] if kind == "op" else None
                if producer is not None and row is not None and producer.grad_norm and \
                        layout.row_of.get(source) is row and producer.time_step != record.time_step:
                    states.append(producer.grad_norm)
        self.state_range = (min(states), max(states)) if states else (1.0, 1.0)

    def share(self, value):
        return _heat(value, *self.share_range)


def to_dot(trace, collapse=True, first_last=None, shapes=False, grads=False, max_nodes=400,
           max_steps=24, rolled=False):
    """DOT source of ``trace``'s unrolled graph (or, with ``rolled=True``, the folded network).

    collapse:    draw each module's ops of one step as a single node, the textbook cell (False:
                 every op, with the gates of an LSTM or GRU as nested boxes)
    first_last:  k >= 1; draw only the first k and last k steps of each row, the middle elided
    shapes:      print each op's output shape
    grads:       colour taps, bars and edges with backward quantities (after backward)
    max_nodes:   past this many nodes and step boxes, warn and collapse (then elide, then group
                 the ops outside the steps) instead of handing Graphviz a graph it would take
                 minutes to lay out
    max_steps:   rows longer than this are elided to their first and last 10 steps (at most
                 max_steps // 2) unless ``first_last`` says otherwise (None: never elide
                 automatically)
    rolled:      the folded network: one cell per row with its loop edge
    """
    if not trace.ops:
        raise ValueError("to_dot: the trace recorded no ops (run the model inside `with ts.trace() as tr:`)")
    if first_last is not None and (not isinstance(first_last, int) or first_last < 1):
        raise ValueError(f"to_dot: first_last must be a positive int, got {first_last!r}")
    if rolled:
        return _rolled_dot(trace, grads)
    trace = _Drawn(trace)
    layout = _choose_layout(trace, collapse, first_last, max_steps, max_nodes)
    scales = _Scales(trace, layout, grads)
    lines = ["digraph bptt {",
             f'  rankdir=LR; newrank=true; compound=true; nodesep=0.22; ranksep=0.45; '
             f'size="{_MAX_INCHES},{_MAX_INCHES}";' +
             (_LARGE_LAYOUT if layout.size(trace) > _LARGE else ""),
             '  node [fontname="Helvetica", fontsize=10, style=filled, fillcolor=white];',
             '  edge [fontname="Helvetica", fontsize=8, color="#555555"];']
    layout.groups = {_anchor(trace, layout, row, t): f"row{row.index}" for row in layout.rows
                     for t in row.steps if t in row.shown or t == row.elided[0]}
    taps = _taps(trace, layout)
    stubs = _stubs(trace, layout)
    stubs.update(_outputs(trace, layout))
    beside = _beside(trace, layout, stubs)
    layout.groups.update({stub: f"beside{row.index}" for stub, (row, _) in beside.items()})
    lines += _row_order(trace, layout)
    lines += _parameter_band(trace, layout, scales, taps)
    lines += _data_nodes(trace, stubs)
    lines += _rows(trace, layout, shapes, taps, scales, stubs)
    lines += _edges(trace, layout, scales, taps, stubs)
    lines += _cuts(trace, layout)
    lines += _legend(layout, scales, trace)
    lines += _columns(trace, layout, taps, stubs, beside)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _taps(trace, layout):
    """{(row index, t): {leaf key: [nodes that read it]}} for the shared weights of each step."""
    taps = {}
    for record in trace.ops:
        row = layout.row_of.get(record.index)
        if row is None:
            continue
        t = record.time_step if record.time_step in row.shown else "elided"
        node = layout.node_of_op[record.index]
        for kind, source in record.inputs:
            if kind == "param":
                readers = taps.setdefault((row.index, t), {}).setdefault(source, [])
                if node not in readers:
                    readers.append(node)
    return taps


def _stubs(trace, layout):
    """{(origin, node): stub} for what two or more steps of a row read from one place: the
    input sequence (a data leaf) or an op outside the steps that each step slices (the input
    projection). A small node below each step replaces a fan of edges from the one node."""
    data = _read_by_steps(trace, layout, lambda kind, source:
                          source if kind == "data" and source not in trace.cuts else None)
    feeds = _read_by_steps(trace, layout, lambda kind, source:
                           layout.node_of_op.get(source)
                           if kind == "op" and source not in layout.row_of else None)
    stubs = {}
    for readers, prefix in ((data, lambda key: f"x{trace.leaf_order[key]}"),
                            (feeds, lambda origin: f"f{origin}")):
        for origin, nodes in readers.items():
            for node, (row, t) in nodes.items():
                if len({s for r, s in nodes.values() if r is row}) > 1:
                    stubs[(origin, node)] = (f"{prefix(origin)}r{row.index}t{t}", row, t)
    return stubs


def _read_by_steps(trace, layout, origin_of):
    """{origin: {step node: (row, t)}} over the inputs of the drawn steps' ops that
    ``origin_of(kind, source)`` names an origin for (None: not one)."""
    readers = {}
    for record in trace.ops:
        row = layout.row_of.get(record.index)
        if row is None or record.time_step not in row.shown:
            continue
        for kind, source in record.inputs:
            origin = origin_of(kind, source)
            if origin is not None:
                readers.setdefault(origin, {}).setdefault(layout.node_of_op[record.index],
                                                          (row, record.time_step))
    return readers


def _outputs(trace, layout):
    """{(step node, gathering node): stub} for an op outside the steps that gathers what two
    or more steps of a row made (the stack of outputs): a small ``output[t]`` node above each
    step, the last one linked to the gathering node, instead of a fan of long edges."""
    readers = {}
    for record in trace.ops:
        if record.index in layout.row_of:
            continue
        target = layout.node_of_op[record.index]
        for kind, source in record.inputs:
            row = layout.row_of.get(source) if kind == "op" else None
            if row is not None and trace.ops[source].time_step in row.shown:
                readers.setdefault(target, {}).setdefault(layout.node_of_op[source],
                                                          (row, trace.ops[source].time_step))
    outputs, stub_of = {}, {}
    for target, sources in readers.items():
        if len({(row.index, t) for row, t in sources.values()}) < 2:
            continue
        for node, (row, t) in sources.items():
            outputs[(node, target)] = stub_of.setdefault(node, (f"y{node}", row, t))
    return outputs


def _bars(trace, leaf, layout, scales, taps):
    """An HTML table: dL/dW = sum over t, one bar per drawn step (and elision) in step order,
    for the rows whose steps read the weight."""
    columns = []
    for row in layout.rows:
        if not any(leaf.key in tap for (row_index, _), tap in taps.items() if row_index == row.index):
            continue
        for t in row.steps:
            if t in row.shown:
                value = scales.shares.get((leaf.key, t))
                if value is not None:
                    columns.append((str(t - row.start), value))
            elif t == row.elided[0] and (leaf.key, row.index) in scales.sums:
                columns.append(("…", scales.sums[(leaf.key, row.index)]))
    if not columns:
        return ""
    high = max(value for _, value in columns) or 1.0
    cells, ticks = [], []
    for tick, value in columns:
        height = max(1, round(24 * value / high))
        colour, _ = scales.share(value)
        cells.append(f'<td valign="bottom"><table border="0" cellspacing="0" cellpadding="0">'
                     f'<tr><td fixedsize="true" width="7" height="{25 - height}"></td></tr>'
                     f'<tr><td fixedsize="true" width="7" height="{height}" bgcolor="{colour}">'
                     f'</td></tr></table></td>')
        ticks.append(f'<td><font point-size="6">{_html(tick)}</font></td>')
    span = len(columns)
    return (f'<tr><td colspan="{span}"><font point-size="8">dL/d{_html(_short_name(leaf.name, ""))}'
            f' = &#931;<sub>t</sub> (bars: each step\'s share)</font></td></tr>'
            f'<tr>{"".join(cells)}</tr><tr>{"".join(ticks)}</tr>')


def _parameter_band(trace, layout, scales, taps):
    params = trace.parameters()
    if not params:
        return []
    lines = ['  subgraph cluster_parameters {',
             '    label="shared parameters: drawn once, used by every step through its tap"; '
             'style="rounded,dashed"; color="#b8860b"; fontname="Helvetica"; fontsize=10;']
    for leaf in params:
        bars = _bars(trace, leaf, layout, scales, taps)
        total = scales.totals.get(leaf.key)
        rows = [f'<tr><td><b>{_html(leaf.name)}</b></td></tr>',
                f'<tr><td><font point-size="8">{_html(_shape_text(leaf.shape))}</font></td></tr>']
        if bars:
            rows.append(f'<tr><td><table border="0" cellspacing="1" cellpadding="0">{bars}'
                        f'</table></td></tr>')
        if total is not None:
            rows.append(f'<tr><td><font point-size="8">|grad| = {total:.3g}</font></td></tr>')
        lines.append(f'    p{trace.leaf_order[leaf.key]} [shape=box, style="rounded,filled", '
                     f'fillcolor="#fff3c4", margin="0.05,0.02", label=<<table border="0" '
                     f'cellspacing="0" cellpadding="1">{"".join(rows)}</table>>];')
    lines.append("  }")
    return lines


def _data_nodes(trace, stubs):
    lines = []
    stubbed = {key for key, _ in stubs}
    for leaf in trace.leaves.values():
        if leaf.is_param:
            continue
        label = f"{leaf.name}\n{_shape_text(leaf.shape)}"
        style = 'shape=ellipse, fillcolor="#dcecf9"'
        if leaf.key in trace.cuts:
            label = f"✂ {leaf.name}.detach()\n{_shape_text(leaf.shape)}"
            style = 'shape=box, style="dashed,filled", color="#c0392b", fillcolor="#fdecea"'
        elif leaf.key in stubbed:
            label += "\none slice per step"
        lines.append(f"  d{trace.leaf_order[leaf.key]} [label={_quote(label)}, {style}];")
    return lines


def _stub_lines(trace, layout, stubs, row, t, indent):
    lines = []
    drawn = set()
    for (key, _), (stub, stub_row, stub_t) in stubs.items():
        if stub_row is not row or stub_t != t or stub in drawn:
            continue
        drawn.add(stub)
        if key in trace.leaves:
            group = f", group={layout.groups[stub]}" if stub in layout.groups else ""
            lines.append(f'{indent}{stub} [label="{trace.leaves[key].name}[{t - row.start}]", '
                         f'shape=ellipse, fillcolor="#dcecf9", fontsize=9, height=0.3{group}];')
        elif stub.startswith("f"):
            name = _slice_name(trace, layout, layout.op_of_node[key], t - row.start)
            lines.append(f'{indent}{stub} [label={_quote(name)}, '
                         f'shape=box, style="rounded,filled", fillcolor="#dcecf9", fontsize=9, '
                         f'height=0.3];')
        else:
            module = layout.module_of_node.get(key, "").split(".")[-1] or "output"
            lines.append(f'{indent}{stub} [label="{module}[{t - row.start}]", shape=box, '
                         f'style="rounded,filled", fillcolor="#fbeee0", fontsize=9, height=0.3];')
    return lines


def _slice_name(trace, layout, index, t):
    """What a step reads of op ``index`` outside the steps, named by where it comes from
    through reshaping ops: ``source_embedding[3]``, ``input[3]``, or ``encoder outputs (all
    t)`` for what a row's steps made (the memory attention reads)."""
    record = trace.ops[index]
    while record.kind in _RESHAPING:
        inputs = [(kind, source) for kind, source in record.inputs if kind in ("op", "data")]
        made = [source for kind, source in inputs if kind == "op" and source in layout.row_of]
        if made:
            row = layout.row_of[made[0]]
            return f"{row.name or row.module or 'step'} outputs (all t)"
        if not inputs:
            break
        kind, source = inputs[0]
        if kind == "data":
            return f"{trace.leaves[source].name}[{t}]" if source in trace.leaves else \
                f"{record.kind}[{t}]"
        record = trace.ops[source]
    return f"{record.module_path.split('.')[-1] or record.kind}[{t}]"


def _rows(trace, layout, shapes, taps, scales, stubs):
    lines = []
    by_box = {}
    outside = {}
    for record in trace.ops:
        node = layout.node_of_op[record.index]
        row = layout.row_of.get(record.index)
        if row is not None and node == row.elided_node:
            continue
        group = record.module_path if layout.collapse else \
            " / ".join(part for part in (record.module_path, record.scope) if part)
        target = by_box.setdefault((row.index, record.time_step), {}) if row is not None else outside
        target.setdefault(group, {}).setdefault(node, []).append(record)
    lines += _op_lines(outside, layout, shapes, "  ", "x")
    for row in layout.rows:
        indent = "    " if row.name else "  "
        if row.name:
            lines.append(f'  subgraph cluster_row{row.index} {{')
            lines.append(f'    label={_quote(row.name)}; style="rounded"; color="#6a8caf"; '
                         f'fontname="Helvetica-Bold"; fontsize=13; labeljust=l;')
        for t in row.steps:
            if t in row.shown:
                lines.append(f'{indent}subgraph {row.cluster(t)} {{')
                lines.append(f'{indent}  label="t = {t - row.start}"; style="rounded,filled"; '
                             f'fillcolor="#f4f4f4"; color="#999999"; fontname="Helvetica-Bold"; '
                             f'fontsize=12;')
                lines += _tap_line(trace, taps.get((row.index, t)), f"tap{row.index}t{t}", scales,
                                   t, row, indent + "  ")
                lines += _stub_lines(trace, layout, stubs, row, t, indent + "  ")
                lines += _op_lines(by_box.get((row.index, t), {}), layout, shapes, indent + "  ",
                                   f"r{row.index}t{t}")
                lines.append(f"{indent}}}")
            elif t == row.elided[0]:
                lines.append(f'{indent}{row.elided_node} [group=row{row.index}, label="⋯ {len(row.elided)} steps ⋯\\n'
                             f'(t = {row.elided[0] - row.start}..{row.elided[-1] - row.start})", '
                             f'shape=box, style="dotted,rounded", fillcolor=none];')
                lines += _tap_line(trace, taps.get((row.index, "elided")),
                                   f"tap{row.index}elided", scales, None, row, indent)
        if row.name:
            lines.append("  }")
    return lines


def _tap_line(trace, tap, node, scales, t, row, indent):
    """A step's tap: one cell per shared weight it reads, coloured by that step's share."""
    if not tap:
        return []
    cells = []
    for key in tap:
        leaf = trace.leaves[key]
        value = scales.shares.get((key, t)) if t is not None else scales.sums.get((key, row.index))
        colour = scales.share(value)[0] if value is not None else "#fff3c4"
        cells.append(f'<td port="p{trace.leaf_order[key]}" bgcolor="{colour}"><font point-size="8">'
                     f'{_html(_short_name(leaf.name, row.module))}</font></td>')
    # four weights a line, so a decoder step reading a dozen stays narrow
    lines = "".join(f'<tr>{"".join(cells[i:i + 4])}</tr>' for i in range(0, len(cells), 4))
    return [f'{indent}{node} [shape=plain, fillcolor=none, label=<<table border="0" '
            f'cellborder="1" cellspacing="0" cellpadding="2">{lines}</table>>];']


def _op_lines(modules, layout, shapes, indent, prefix):
    lines = []
    for m, (group, nodes) in enumerate(modules.items()):
        nested = group and not layout.collapse
        if nested:
            lines.append(f'{indent}subgraph cluster_{prefix}_m{m} {{ label={_quote(group)}; '
                         f'style=dashed; color="#bbbbbb"; fontsize=9;')
        for node, records in nodes.items():
            group = f", group={layout.groups[node]}" if node in layout.groups else ""
            lines.append(f"{indent}  {node} [label={_quote(_op_label(records, layout, shapes))}, "
                         f"{_op_style(records, layout)}{group}];")
        if nested:
            lines.append(f"{indent}}}")
    return lines


def _op_label(records, layout, shapes):
    """An op's kind; for a collapsed step, the module (and its class) and how many ops."""
    node = layout.node_of_op[records[0].index]
    if node.startswith("r") or node.startswith("um"):
        path = records[0].module_path
        kind = layout.module_kinds.get(path, "")
        name = f"{path} ({kind})" if path and kind else path or kind or "step"
        row = layout.row_of.get(records[0].index)
        if not path and row is not None and (row.fallback or all(r.module for r in layout.rows)):
            name = ", ".join(dict.fromkeys(r.kind for r in records))   # ops outside any module
        count = f"{len(records)} op" + ("" if len(records) == 1 else "s")
        return f"{name}\n{count}" + (f"\n{_shape_text(records[-1].shape)}" if shapes else "")
    record = records[0]
    return record.kind + (f"\n{_shape_text(record.shape)}" if shapes else "")


def _op_style(records, layout):
    if any("loss" in r.kind or "entropy" in r.kind for r in records):
        return 'shape=box, style="filled,bold", fillcolor="#f9d5d3"'
    node = layout.node_of_op[records[0].index]
    if node.startswith("r") or node.startswith("um"):
        return 'shape=box, style="rounded,filled", fillcolor="#d9f2d9"'
    return "shape=box, style=rounded, height=0.3"


def _state_name(layout, row, t):
    kind = layout.module_kinds.get(row.module, "")
    names = ("h", "c") if kind.startswith("LSTM") else ("h",)
    return ", ".join(f"{name}_{t - row.start}" for name in names)


def _after_steps(trace, layout):
    """The ops outside the steps that read what a step made (a stack of the encoder's outputs,
    a final state): their edges back into later steps must not pull the row out of line."""
    after = set()
    for record in trace.ops:
        if record.index not in layout.row_of and any(
                kind == "op" and (source in layout.row_of or source in after)
                for kind, source in record.inputs):
            after.add(record.index)
    return after


def _edges(trace, layout, scales, taps, stubs):
    lines = []
    seen = set()
    after = _after_steps(trace, layout)
    last_output = {}
    for (origin, target), stub in stubs.items():
        if stub[0].startswith("y"):
            known = last_output.get(target)
            if known is None or (stub[1].index, stub[2]) > (known[1].index, known[2]):
                last_output[target] = stub
    fans = {}                  # an op outside the steps that several steps read (a projection)
    for record in trace.ops:
        if record.index in layout.row_of:
            for kind, source in record.inputs:
                if kind == "op" and source not in layout.row_of:
                    fans.setdefault(source, set()).add(record.time_step)
    for record in trace.ops:
        target = layout.node_of_op[record.index]
        row = layout.row_of.get(record.index)
        for kind, source in record.inputs:
            if kind == "const":
                continue
            if kind == "op" and source in trace.bridges:
                for below in _rows_with(layout, trace.bridges[source]):
                    origin = _anchor(trace, layout, below, record.time_step)
                    if (origin, target) not in seen:
                        seen.add((origin, target))
                        entry = _entry(trace, taps, row, record.time_step, target).split(":")[0]
                        # written upper -> lower with dir=back and to the tap, not its cell:
                        # Graphviz 2.43 draws a flat edge between clusters written lower ->
                        # upper as two strokes, and one to a port with its arrow reversed
                        lines.append(f"  {entry} -> {origin} [penwidth=1.4, dir=back];")
                continue
            if kind == "op":
                origin = layout.node_of_op[source]
                if origin == target or (origin, target) in seen:
                    continue
                seen.add((origin, target))
                producer = trace.ops[source]
                producer_row = layout.row_of.get(source)
                output = stubs.get((origin, target))
                if output is not None and output[0].startswith("f"):
                    lines.append(f"  {output[0]} -> "
                                 f"{_entry(trace, taps, row, record.time_step, target)};")
                elif output is not None:
                    if (origin, output[0]) not in seen:
                        seen.add((origin, output[0]))
                        lines.append(f"  {origin} -> {output[0]};")
                    if output is last_output[target]:
                        lines.append(f'  {output[0]} -> {target} [style=dashed, '
                                     f'xlabel="all steps"];')
                elif producer_row is row and row is not None and producer.time_step != record.time_step:
                    lines.append(_state_edge(trace, layout, scales, producer, record, origin, target))
                elif row is not None and len(fans.get(source, ())) > 1:
                    lines.append(f"  {origin} -> {target} [constraint=false, weight=0];")
                elif row is not None and (source in after or producer_row not in (None, row)):
                    lines.append(f"  {origin} -> {target} [constraint=false];")
                else:
                    lines.append(f"  {origin} -> {target};")
                continue
            if kind == "param":
                if row is not None:
                    continue                      # drawn by the step's tap
                origin = f"p{trace.leaf_order[source]}"
                if (origin, target) in seen:
                    continue
                seen.add((origin, target))
                # constraint=false: the band lies below the rows, wherever the op is
                attributes = 'style=dashed, color="#b8860b", constraint=false'
                value = scales.shares.get((source, None))
                if value is not None:
                    colour, _ = scales.share(value)
                    attributes = (f'style=dashed, xlabel="{value:.2g}", color="{colour}", '
                                  f'fontcolor="{colour}", constraint=false')
                lines.append(f"  {origin} -> {target} [{attributes}];")
                continue
            stub = stubs.get((source, target))
            origin = stub[0] if stub else f"d{trace.leaf_order[source]}"
            if (origin, target) in seen:
                continue
            seen.add((origin, target))
            entry = _entry(trace, taps, row, record.time_step, target) if stub else target
            lines.append(f'  {origin} -> {entry} [color="#7aa6cf"];')
    lines += _sources(layout, stubs, after)
    for (row_index, t), tap in taps.items():
        row = layout.rows[row_index]
        node = f"tap{row_index}t{t}" if t != "elided" else f"tap{row_index}elided"
        for key, readers in tap.items():
            for reader in readers:
                value = scales.shares.get((key, t)) if t != "elided" else \
                    scales.sums.get((key, row_index))
                attributes = 'color="#b8860b", arrowsize=0.5'
                if value is not None:
                    colour, width = scales.share(value)
                    attributes = f'xlabel="{value:.2g}", color="{colour}", fontcolor="{colour}", ' \
                                 f'penwidth={width}, arrowsize=0.5, fontsize=7'
                lines.append(f"  {node}:p{trace.leaf_order[key]} -> {reader} [{attributes}];")
    return lines


def _sources(layout, stubs, after):
    """An invisible edge from an op outside the steps that each step slices (the embedded
    source, made before the steps, not one of ``after``) to the slice its row's first step
    reads: the op sits at the start of that row."""
    late = {layout.node_of_op[index] for index in after}
    first = {}
    for (origin, _), (stub, row, t) in stubs.items():
        if stub.startswith("f") and t == row.steps[0] and origin not in late | set(first):
            first[origin] = stub
    return [f"  {origin} -> {stub} [style=invis];" for origin, stub in first.items()]


def _entry(trace, taps, row, t, node):
    """Where a step's input comes in: through the cell of its tap that holds the input weight
    (x_t -> W_ih -> the cell) when ``node`` reads one, else ``node`` itself."""
    tap = taps.get((row.index, t)) if row is not None else None
    for key, readers in (tap or {}).items():
        if node in readers and _short_name(trace.leaves[key].name, row.module) == "W_ih":
            return f"tap{row.index}t{t}:p{trace.leaf_order[key]}"
    return node


def _rows_with(layout, keys):
    return [row for row in layout.rows if row.key in keys]


def _state_edge(trace, layout, scales, producer, consumer, origin, target):
    """The recurrent state passing from one step to the next, drawn left to right in step
    order (a reverse row's state flows right to left: the arrow points back)."""
    row = layout.row_of[producer.index]
    name = _state_name(layout, row, producer.time_step)
    if producer.module_path != row.module:              # an output fed back as the next input
        name = f"{producer.module_path.split('.')[-1] or producer.kind}_{producer.time_step - row.start}"
    attributes = [f'label="{name}"', "penwidth=1.6",
                  "weight=0", "fontsize=9"]
    if scales.grads and producer.grad_norm is not None:
        colour, width = _heat(producer.grad_norm, *scales.state_range)
        attributes = [f'xlabel="{producer.grad_norm:.2g}"', f'color="{colour}"',
                      f'fontcolor="{colour}"', f"penwidth={width}"] + attributes[:1] + \
            ["weight=0", "fontsize=9"]
    if producer.time_step > consumer.time_step:
        return f"  {target} -> {origin} [{', '.join(attributes)}, dir=back];"
    return f"  {origin} -> {target} [{', '.join(attributes)}];"


def _timed_neighbour(trace, layout, start, forward, consumers):
    """The latest step op feeding op ``start`` (forward=False) or the earliest one it feeds,
    walking through ops outside the steps without recursion."""
    pending, seen, found = [start], {start}, []
    while pending:
        index = pending.pop()
        record = trace.ops[index]
        if index in layout.row_of and index != start:
            found.append(record)
            continue
        following = consumers.get(index, []) if forward else \
            [source for kind, source in record.inputs if kind == "op"]
        for nxt in following:
            if nxt not in seen:
                seen.add(nxt)
                pending.append(nxt)
    if start in layout.row_of:
        found.append(trace.ops[start])
    if not found:
        return None
    return (min if forward else max)(found, key=lambda r: r.time_step)


def _cuts(trace, layout):
    """Truncated BPTT: the state handed from the last step of one chunk to the first step of
    the next through ``detach()``, drawn as a cut: the state flows on, the gradient stops."""
    if not trace.cuts:
        return []
    consumers = {}
    for record in trace.trace.ops:
        for kind, source in record.inputs:
            if kind == "op":
                consumers.setdefault(source, []).append(record.index)
    lines = []
    drawn = set()
    for key, producer_index in sorted(trace.cuts.items(), key=lambda item: trace.leaf_order[item[0]]):
        producer = _timed_neighbour(trace, layout, producer_index, False, consumers)
        readers = [r.index for r in trace.trace.ops if ("data", key) in r.inputs]
        consumer = None
        for reader in readers:
            candidate = _timed_neighbour(trace, layout, reader, True, consumers)
            if candidate is not None and (consumer is None or candidate.time_step < consumer.time_step):
                consumer = candidate
        if producer is None or consumer is None:
            continue
        row = layout.row_of[producer.index]
        origin = _anchor(trace, layout, row, producer.time_step)
        target = _anchor(trace, layout, layout.row_of[consumer.index], consumer.time_step)
        if origin != target and (origin, target) not in drawn:
            drawn.add((origin, target))
            lines.append(f'  {origin} -> {target} [color="#c0392b", style=dashed, penwidth=2, '
                         f'label="✂ detach: the state flows on,\\nthe gradient '
                         f'stops", fontcolor="#c0392b", weight=10];')
    return lines


def _anchor(trace, layout, row, t):
    """The node of a row's step that hands the state on: its last op in the row's module."""
    if t not in row.shown:
        return row.elided_node
    last = None
    for record in trace.ops:
        if record.time_step == t and layout.row_of.get(record.index) is row:
            if last is None or record.module_path == row.module or \
                    trace.ops[last].module_path != row.module:
                last = record.index
    return layout.node_of_op[last]


def _columns(trace, layout, taps, stubs, beside):
    """The layout's skeleton. Time runs along Graphviz's ranks (rankdir=LR), and heavy
    invisible edges between the steps' state nodes keep each row on one straight line. A
    collapsed step (one node per module) is one column: its nodes share a rank, the input
    below, the tap, the cell, the output above. One ordering node stacks the rows (see
    ``_top_to_bottom``) with the parameter band below them."""
    lines = []
    columns = {}
    for row in layout.rows:
        chain = []
        for t in row.steps:
            if t in row.shown or t == row.elided[0]:
                node = _anchor(trace, layout, row, t)
                columns.setdefault(_position(row, t), []).append(node)
                chain.append(node)
        for a, b in zip(chain, chain[1:]):
            lines.append(f"  {a} -> {b} [style=invis, weight=100];")
    columnar = {row.index for row in layout.rows} if layout.collapse else set()
    lines += _step_after_step(trace, layout, taps, stubs,
                              [row for row in layout.rows if row.index not in columnar])
    if columnar:
        for record in trace.ops:
            row = layout.row_of.get(record.index)
            if row is not None and row.index in columnar:
                column = columns[_position(row, record.time_step)]
                if layout.node_of_op[record.index] not in column:
                    column.append(layout.node_of_op[record.index])
        for (row_index, t), tap in taps.items():
            row = layout.rows[row_index]
            if row_index in columnar:
                columns[_position(row, t if t != "elided" else row.elided[0])].append(
                    f"tap{row_index}t{t}" if t != "elided" else f"tap{row_index}elided")
        for stub, row, t in stubs.values():
            if row.index in columnar and stub not in columns[_position(row, t)] and \
                    stub not in beside:
                columns[_position(row, t)].append(stub)
        lines += _box_order(trace, layout, taps, stubs, beside)
        # what sits beside a cell stays inside its step, after the state node of the step
        # before, and on one line with what sits beside the cells of the other steps
        previous = {}
        for node, (row, t) in sorted(beside.items(), key=lambda item: (item[1][0].index, item[1][1])):
            earlier = [s for s in row.steps if s < t and (s in row.shown or s == row.elided[0])]
            if earlier:
                lines.append(f"  {_anchor(trace, layout, row, earlier[-1])} -> {node} [style=invis];")
            if row.index in previous:
                lines.append(f"  {previous[row.index]} -> {node} [style=invis, weight=100];")
            previous[row.index] = node
    band = [f"p{trace.leaf_order[leaf.key]}" for leaf in trace.parameters()]
    if columns:
        # the band below the rows: a few parameters per column, the legend after them
        per_column = -(-len(band) // len(columns))
        for i, node in enumerate(band):
            columns[min(i // per_column, len(columns) - 1)].append(node)
    for position in sorted(columns):
        lines.append("  {rank=same; " + " ".join(f"{n};" for n in columns[position]) + "}")
    return lines


def _row_order(trace, layout):
    """The rows from top to bottom, then the parameter band. Graphviz orders the clusters of
    a rank by crossings alone, breaking ties in the order it first meets their nodes; one
    invisible node, the first one written, whose out-edges keep their order (ordering=out)
    leads to each row's first step and to every parameter in that order."""
    if len(layout.rows) < 2:
        return []                      # one row: Graphviz puts the band below it unasked
    nodes = [_anchor(trace, layout, row, row.steps[0]) for row in
             _top_to_bottom(layout.rows, trace.below)]
    nodes += [f"p{trace.leaf_order[leaf.key]}" for leaf in trace.parameters()]
    return ['  row_order [style=invis, ordering=out, label="", width=0, height=0];'] + \
        [f"  row_order -> {node} [style=invis, weight=0];" for node in nodes]


def _beside(trace, layout, stubs):
    """{stub: (row, t)} of the data a row reads when the row below feeds it (the targets of
    per-step losses): drawn one rank to the left of its step's cell, so the column holds only
    what links straight up: the input, the tap, the cell, the row above, the output."""
    fed = {r.key for r in layout.rows} & set(trace.below)
    return {stub: (row, t) for stub, row, t in stubs.values() if not stub.startswith("y")
            and row.key in fed}


def _box_order(trace, layout, taps, stubs, beside):
    """Inside a step drawn as one column, invisible edges chain its nodes in one order: the
    input, the tap, the cell (its modules in the order they ran), the output."""
    chains = {}
    for stub, row, t in stubs.values():
        if not stub.startswith("y") and stub not in beside:
            chains.setdefault((row.index, t), {}).setdefault(stub, 0)
    for (row_index, t) in taps:
        if t != "elided":
            chains.setdefault((row_index, t), {})[f"tap{row_index}t{t}"] = 1
    for record in trace.ops:
        row = layout.row_of.get(record.index)
        if row is not None and record.time_step in row.shown:
            chains.setdefault((row.index, record.time_step), {}).setdefault(
                layout.node_of_op[record.index], 2)
    for stub, row, t in stubs.values():
        if stub.startswith("y"):
            chains.setdefault((row.index, t), {}).setdefault(stub, 3)
    lines = []
    for key in sorted(chains):
        order = sorted(chains[key], key=lambda node: chains[key][node])
        lines += [f"  {a} -> {b} [style=invis];" for a, b in zip(order, order[1:])]
    return lines


def _step_after_step(trace, layout, taps, stubs, rows):
    """A step drawn op by op spans several ranks: invisible edges from each step's state node
    to the first nodes of the next step (its inputs, its tap, its first ops) keep the boxes one
    after another instead of overlapping."""
    firsts = {}
    for record in trace.ops:
        row = layout.row_of.get(record.index)
        if row is None or record.time_step not in row.shown:
            continue
        inside = any(kind == "op" and trace.ops[source].time_step == record.time_step and
                     layout.row_of.get(source) is row for kind, source in record.inputs)
        if not inside:
            firsts.setdefault((row.index, record.time_step), []).append(
                layout.node_of_op[record.index])
    for (row_index, t) in taps:
        if t != "elided":
            firsts.setdefault((row_index, t), []).append(f"tap{row_index}t{t}")
    for stub, row, t in stubs.values():
        if not stub.startswith("y"):
            firsts.setdefault((row.index, t), []).append(stub)
    nodes_of = {}
    for record in trace.ops:
        row = layout.row_of.get(record.index)
        if row is not None and record.time_step in row.shown:
            nodes = nodes_of.setdefault((row.index, record.time_step), {})
            signature = record.module_path if layout.collapse else record.kind
            nodes.setdefault(layout.node_of_op[record.index], signature)
    lines = []
    for row in rows:
        drawn = [t for t in row.steps if t in row.shown or t == row.elided[0]]
        for a, b in zip(drawn, drawn[1:]):
            anchor = _anchor(trace, layout, row, a)
            for node in firsts.get((row.index, b), [row.elided_node] if b not in row.shown else []):
                lines.append(f"  {anchor} -> {node} [style=invis, minlen=2];")
            # the same op of consecutive steps on one line: every box drawn alike, level
            before = list(nodes_of.get((row.index, a), {}).items())
            after = list(nodes_of.get((row.index, b), {}).items())
            if [x for _, x in before] == [y for _, y in after]:
                for (x, _), (y, _) in zip(before, after):
                    lines.append(f"  {x} -> {y} [style=invis, weight=20];")
    return lines


def _position(row, t):
    """The column of step t in its row: its place among the drawn steps (an elision is one)."""
    if t in row.shown:
        before = sum(1 for s in row.shown if s < t)
        return before + (1 if row.elided and t > row.elided[-1] else 0)
    return sum(1 for s in row.shown if s < t)


def _top_to_bottom(rows, below):
    """Rows from the top of the picture. Rows over the same steps stack like the textbook's
    layers: a row above the rows it reads (``below``: row key -> keys of the rows its steps
    read), so layer 0 is at the bottom, a layer's forward direction above its reverse, and
    the per-step losses on top. Rows over different steps (the encoder, then the decoder) follow
    each other down the page in the order they ran."""
    stacks = {}
    for row in rows:
        stacks.setdefault(tuple(row.steps), []).append(row)
    ordered = []
    for stack in sorted(stacks.values(), key=lambda members: (members[0].steps[0], members[0].index)):
        keys = {row.key for row in stack}
        placed, upward = set(), []
        while len(upward) < len(stack):
            ready = [row for row in stack if row.key not in placed and
                     all(k in placed or k not in keys for k in below.get(row.key, ()))]
            row = min(ready or [r for r in stack if r.key not in placed],
                      key=lambda r: (r.layer, not r.reverse, r.index))
            placed.add(row.key)
            upward.append(row)
        ordered += reversed(upward)
    return ordered


def _legend(layout, scales, trace):
    """What the colours, boxes, dashes and shapes mean, with the numbers of the heat scale."""
    rows = ['<tr><td align="left" colspan="2"><b>legend</b></td></tr>',
            '<tr><td align="left" colspan="2">grey box <b>t = k</b>: one time step; time runs '
            'left to right</td></tr>',
            '<tr><td align="left" colspan="2">thick arrow between boxes: the recurrent state '
            'passed on (h_t, and c_t for an LSTM)</td></tr>',
            '<tr><td align="left" colspan="2">small table in a box: the shared weights that step '
            'reads (its tap); yellow box below: each weight drawn once</td></tr>',
            '<tr><td align="left" colspan="2">blue ellipse: data (inputs, targets, initial '
            'states); red box: the loss</td></tr>']
    if layout.elided:
        rows.append('<tr><td align="left" colspan="2">dotted box ⋯: steps left out; its tap '
                    'carries their summed share</td></tr>')
    if trace.cuts:
        rows.append('<tr><td align="left" colspan="2"><font color="#c0392b">red dashed ✂: '
                    'detach() between chunks: the state flows on, the gradient stops'
                    '</font></td></tr>')
    if scales.grads:
        for title, (low, high) in (("a step's share of dL/dW (taps, bars)", scales.share_range),
                                   ("gradient through the state ||dL/dh_t|| (arrows)",
                                    scales.state_range)):
            cells = "".join(f'<td bgcolor="{_heat(low * (high / low) ** (i / 6), low, high)[0]}" '
                            f'width="14"></td>' for i in range(7)) if high > low > 0 else \
                f'<td bgcolor="{_heat(1, 1, 1)[0]}" width="14"></td>'
            rows.append(f'<tr><td align="left">{_html(title)}: {low:.2g}</td><td><table '
                        f'border="0" cellspacing="0" cellpadding="0"><tr>{cells}</tr></table>'
                        f'</td></tr><tr><td></td><td align="right">{high:.2g} (log scale, blue '
                        f'small, red large)</td></tr>')
    return [f'  label=<<table border="1" color="#aaaaaa" style="rounded" cellspacing="1" '
            f'cellborder="0">{"".join(rows)}</table>>; labelloc=b; labeljust=l; fontsize=9; '
            f'fontname="Helvetica";']


def _rolled_dot(trace, grads):
    """The folded network of the lecture: one cell per row, its loop edge labelled with the
    recurrent weight, the input below and the output above."""
    row_of, rows = _find_rows(trace)
    kinds = trace.module_kinds
    names = {key: leaf.name for key, leaf in trace.leaves.items() if leaf.is_param}
    weights = {row.index: [] for row in rows}
    for record in trace.ops:
        row = row_of.get(record.index)
        if row is None:
            continue
        for kind, source in record.inputs:
            if kind == "param" and names[source] not in weights[row.index]:
                weights[row.index].append(names[source])
    lines = ["digraph rolled {",
             '  rankdir=BT; nodesep=0.6; ranksep=0.5;',
             '  node [fontname="Helvetica", fontsize=11, style=filled, fillcolor=white];',
             '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
             '  x [label="x_t", shape=ellipse, fillcolor="#dcecf9"];',
             '  y [label="output / loss", shape=box, style="filled,bold", fillcolor="#f9d5d3"];']
    previous = "x"
    for row in rows:
        kind = kinds.get(row.module, "") or "cell"
        title = f"{row.name}\n{kind}" if row.name else kind
        steps = f"unrolled: {len(row.steps)} steps (t = 0..{len(row.steps) - 1})"
        lines.append(f'  cell{row.index} [label={_quote(title + chr(10) + steps)}, shape=box, '
                     f'style="rounded,filled", fillcolor="#d9f2d9", width=1.6, height=0.9];')
        recurrent = [n for n in weights[row.index] if "_hh" in n] or weights[row.index][:1]
        other = [n for n in weights[row.index] if n not in recurrent]
        state = _state_name_rolled(kind)
        loop = f"{state}: " + ", ".join(_short_name(n, row.module) for n in recurrent) \
            if recurrent else state
        lines.append(f'  cell{row.index} -> cell{row.index} [label={_quote(loop)}, penwidth=2.2, '
                     f'color="#1f5fa8", fontcolor="#1f5fa8", dir=forward, headport=e, tailport=e];')
        into = ", ".join(_short_name(n, row.module) for n in other if "_ih" in n)
        lines.append(f"  {previous} -> cell{row.index}" + (f" [label={_quote(into)}];" if into else ";"))
        previous = f"cell{row.index}"
    lines.append(f"  {previous} -> y;")
    lines.append('  legend [shape=plain, fillcolor=none, fontsize=9, label="folded view: the same '
                 'cell at every step;\\nthe loop edge is the recurrent weight, applied once per '
                 'step"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _state_name_rolled(kind):
    return "h_t-1 → h_t, c_t" if kind.startswith("LSTM") else "h_t-1 → h_t"


def render(trace, path, **options):
    """Write the trace's graph to ``path``; the format comes from the suffix (.svg .png .pdf
    .dot). Without Graphviz's ``dot`` program (or the ``graphviz`` package), the DOT source is
    written next to it as ``<path>.dot`` with a warning that says how to install Graphviz.
    Returns the path written."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"render: unknown output suffix {suffix!r} in {path!r}; use one of "
                         f"{', '.join(_SUFFIXES)}")
    source = to_dot(trace, **options)
    if suffix == ".dot":
        write_atomically(path, lambda f: f.write(source.encode("utf-8")))
        return path
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is None or shutil.which("dot") is None:
        fallback = path + ".dot"
        write_atomically(fallback, lambda f: f.write(source.encode("utf-8")))
        warnings.warn(f"render: Graphviz is not available ({'the graphviz package' if graphviz is None else 'the dot program'} "
                      f"is missing), so the graph was written as DOT source to {fallback}. Install it "
                      f"with `apt-get install graphviz` and `pip install graphviz`, or run "
                      f"`dot -T{suffix[1:]} {fallback} -o {path}`.", stacklevel=2)
        return fallback
    image = graphviz.Source(source).pipe(format=suffix[1:])
    write_atomically(path, lambda f: f.write(image))
    return path

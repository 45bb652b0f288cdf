"""Trace -> Drawing: what a BPTT picture shows (no coordinates; see layout.py for those).

The picture follows the textbook figure. One row of step boxes per recurrent layer and
direction (and per encoder, decoder, row of per-step losses); each step box holds the ops the
step ran (one node per module when collapsed, else every op), a tap naming the shared weights
the step reads, the input x_t it reads and, for a loss, its target. Around the rows: each
row's initial state, the ops outside the steps (a loss, a sum), and the band of shared
parameters, each drawn once with dL/dW = sum over t as one bar per step.

What is left out, so that nothing needs decoding:
  * after backward, ops outside the steps whose output reaches nothing the gradient went
    through (a final state no one reads);
  * plumbing (``plumbing=False``): ops that only move numbers (stack, getitem, transpose,
    reshape, concat, ...). A reader of plumbing reads what the plumbing gathered: a slice of
    x is x, a stack of states is those states, so a row reading the stacked outputs of the row
    below reads the same step of that row (drawn straight up), and an encoder's final state
    handed to the decoder is one "context" node;
  * the state handed across a ``detach()`` (truncated BPTT), drawn as the cut;
  * a projection of all steps in one product (``x @ W_ih.T`` over the whole sequence, the
    primitive layers' input projection): each step's slice of it is drawn as the product
    itself, U x_t, inside that step, reading W_ih through its tap.
"""
import copy
import math
import re

import numpy

from . import drawing as d

RESHAPING = {"getitem", "transpose", "reshape", "stack", "concat", "broadcast_to", "clone",
             "repeat", "pad", "cast", "view", "squeeze", "unsqueeze", "expand", "permute",
             "contiguous", "flatten", "split", "chunk"}
_RECURRENT_PARAM = re.compile(r"^(?:(?P<module>.*)\.)?(?:weight|bias)_(?:ih|hh)"
                              r"(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$")
_ELIDED_KEEP = 10          # an automatically elided row keeps at most its first and last 10 steps
PARAM_FILL, DATA_FILL, CELL_FILL, LOSS_FILL, OUTPUT_FILL = \
    "#fff3c4", "#dcecf9", "#d9f2d9", "#f9d5d3", "#fbeee0"


# --- scales ---------------------------------------------------------------------------------------
def level(value, low, high):
    """Where ``value`` lies between low and high on a log scale, from 0 to 1."""
    if value <= 0 or high <= 0:
        return 0.0
    if high <= low:
        return 1.0
    position = (math.log10(max(value, low)) - math.log10(low)) / (math.log10(high) - math.log10(low))
    return min(position, 1.0)


def heat(value, low, high):
    """A Graphviz HSV colour and pen width for ``value`` on a log scale from low to high."""
    position = level(value, low, high)
    return f"{0.66 * (1 - position):.3f} 0.850 0.850", round(1 + 2.5 * position, 2)


def shape_text(shape):
    return "(" + ", ".join(str(n) for n in shape) + ")"


def short_name(name, row_module):
    """``weight_hh_l0`` -> W_hh; a weight of another module keeps that module's last name."""
    module, _, last = name.rpartition(".")
    last = re.sub(r"_l\d+(_reverse)?$", "", last)
    last = re.sub(r"^weight", "W", re.sub(r"^bias", "b", last))
    if module and module != row_module:
        return f"{module.split('.')[-1]}.{last}"
    return last


def _is_loss(kind):
    return "loss" in kind or "entropy" in kind or kind == "nll"


# --- what is drawn --------------------------------------------------------------------------------
class _RowInfo:
    """A row while planning: its key (group, layer, reverse, module) and its steps."""

    def __init__(self, index, key):
        self.index = index
        self.key = key
        self.group, self.layer, self.reverse, self.module = key
        self.steps = []
        self.fallback = False
        self.losses = False                 # whether a loss is among its steps' ops
        self.shown, self.elided = [], []
        self.start = 0
        self.name = ""

    @property
    def id(self):
        return f"row{self.index}"

    @property
    def elided_node(self):
        return "elided" if self.index == 0 else f"elided_r{self.index}"

    def box_id(self, t):
        local = t - self.start
        return f"cluster_t{local}" if self.index == 0 else f"cluster_r{self.index}_t{local}"


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


class Prepared:
    """The trace's records as the picture reads them: projections moved into the steps,
    plumbing and detached hand-offs read through, rows found.

    ops:       the records (copies where changed), indexed like ``trace.ops``
    shown:     the indices of the ops drawn, in order
    sources:   {op index: [(kind, source)]}: its inputs after reading through plumbing,
               ("op", i) for a drawn op, ("data", key), ("param", key)
    row_of:    {op index: _RowInfo} for the ops inside the steps; rows: the rows
    names:     {leaf key: name}
    """

    def __init__(self, trace, plumbing=False, names=None):
        self.trace = trace
        self._shares, self._memo, self._step_index = {}, {}, {}
        records = list(trace.ops)
        self.names = {key: leaf.name for key, leaf in trace.leaves.items()}
        unnamed = 0
        for key, leaf in trace.leaves.items():
            given = (names or {}).get(id(leaf.tensor))
            if given is not None:
                self.names[key] = str(given)
            elif leaf.is_param and leaf.name == "leaf":
                self.names[key] = f"tensor {unnamed} {shape_text(leaf.shape)}"
                unnamed += 1
        self.named = {key for key, leaf in trace.leaves.items()
                      if id(leaf.tensor) in (names or {})}
        consumers = {}
        for record in records:
            for kind, source in record.inputs:
                if kind == "op":
                    consumers.setdefault(source, []).append(record.index)
        # after backward: only what the gradient went through, the steps, and what they read
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
        # a product over all steps at once, sliced by each step: the product, once per step
        hidden = set()
        for record in records:
            readers = [records[c] for c in consumers.get(record.index, ()) if c in keep]
            if record.time_step is None and any(kind == "param" for kind, _ in record.inputs) and \
                    len(readers) >= 1 and all(r.kind == "getitem" and r.time_step is not None
                                              for r in readers) and \
                    len({r.time_step for r in readers}) == len(readers):
                hidden.add(record.index)
                # with the ops over every step only it reads (x @ W.T of x @ W.T + b)
                inputs, pending = [], list(record.inputs)
                while pending:
                    kind, source = pending.pop(0)
                    feeding = records[source] if kind == "op" else None
                    if feeding is not None and feeding.time_step is None and \
                            feeding.kind != "transpose" and feeding.shape[:1] == record.shape[:1] \
                            and consumers.get(source) == [record.index]:
                        hidden.add(source)
                        pending = list(feeding.inputs) + pending
                    else:
                        inputs.append((kind, source))
                for reader in readers:
                    moved = copy.copy(reader)
                    moved.kind, moved.inputs = record.kind, list(inputs)
                    moved.module_path, moved.scope = record.module_path, reader.scope
                    records[reader.index] = moved
        self.ops = records
        self.row_of, self.rows = _find_rows(records, self.names, trace)
        # read through plumbing (and the hand-off of a cut): {op: [(kind, source)]}
        cuts = trace.cuts
        stands_for = {}
        for record in records:
            if record.index in hidden:
                continue
            inputs = [(kind, source) for kind, source in record.inputs if kind != "const"]
            through = []
            for kind, source in inputs:
                if kind == "op" and source in stands_for:
                    through += self._at_step(source, stands_for[source], record)
                else:
                    through.append((kind, source))
            if all(kind == "data" and source in cuts for kind, source in through) and through \
                    and record.time_step is None:
                stands_for[record.index] = through              # a hand-off across a cut
            elif not plumbing and record.kind == "transpose" and len(through) == 1 and \
                    through[0][0] == "param":
                stands_for[record.index] = through              # W.T: the weight W
            elif not plumbing and record.kind in RESHAPING and through and \
                    not any(kind == "param" for kind, _ in through) and \
                    (record.time_step is None or record.index in self.row_of):
                through = list(dict.fromkeys(through))
                stands_for[record.index] = self._one_step(record, through)
            self._record_sources(record.index, through)
        for index in stands_for:
            hidden.add(index)
        self.shown = [r.index for r in records if r.index in keep and r.index not in hidden]
        shown = set(self.shown)
        self.sources = {i: [(k, s) for k, s in self.sources_all[i]
                            if k != "op" or s in shown] for i in self.shown}
        # a timed op reading a cut's state reads nothing there: the cut edge stands for it
        for i in self.shown:
            self.sources[i] = [(k, s) for k, s in self.sources[i] if not (k == "data" and s in cuts)]
        self.row_steps = {}
        for index in self.shown:
            row = self.row_of.get(index)
            if row is not None:
                self.row_steps.setdefault(row.index, set()).add(records[index].time_step)
        self.rows = [row for row in self.rows if row.index in self.row_steps]
        for row in self.rows:
            row.steps = sorted(self.row_steps[row.index])
        self.row_of = {i: row for i, row in self.row_of.items() if i in shown}

    def memo(self, name, compute):
        """``compute()``'s result, computed once for every plan made from this preparation
        (what depends on the trace's ops only, not on the steps shown)."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    def shares(self, leaf):
        """((steps, the per-step contributions stacked), ||their sum||, [(t, ||contribution||)])
        of parameter ``leaf``, computed once for every plan made from this preparation."""
        cache = self._shares
        if leaf.key not in cache:
            contributions = self.trace.contributions(leaf.tensor)
            total = sum(g for _, g in contributions)
            steps = numpy.array([t for t, _ in contributions])
            stacked = numpy.stack([numpy.asarray(g) for _, g in contributions])
            cache[leaf.key] = ((steps, stacked), float((total ** 2).sum()) ** 0.5,
                               [(t, float((g ** 2).sum()) ** 0.5) for t, g in contributions])
        return cache[leaf.key]

    def _one_step(self, record, through):
        """A slice of the gathered steps of one row as large as one step's output is that
        row's final step (``output[-1]``, the final state h_n); else all of them."""
        steps = [source for kind, source in through if kind == "op" and source in self.row_of]
        rows = {self.row_of[source].index for source in steps}
        # a fused LSTM step's record holds h and c: one step's output is half of it (else an
        # LSTM's output over two steps, as large as a record, would read as its last step)
        if record.kind != "getitem" or len(steps) < 2 or len(steps) != len(through) or \
                len(rows) != 1:
            return through
        step = self.ops[steps[0]]
        if _numel(record.shape) != _numel(step.shape) // (2 if step.kind == "lstm_step" else 1):
            return through
        # ``output[t]`` inside ``ts.timestep(t)`` (a loss per step): step t, not the last
        same_step = [source for source in steps if self.ops[source].time_step == record.time_step]
        if record.time_step is not None and len(same_step) == 1:
            return [("op", same_step[0])]
        final = (min if self.row_of[steps[0]].reverse else max)(
            steps, key=lambda source: self.ops[source].time_step)
        return [("op", final)]

    def _at_step(self, source, items, record):
        """What a step of a row reads of ``items`` (the sources plumbing op ``source`` stands
        for): of another row's steps gathered (a bidirectional layer's outputs, joined, read by
        every step of the layer above), only its step at the reader's time step, the one edge
        drawn; so each step reads a few sources, not all 2T (a picture quadratic in the
        steps). Computed once per plumbing op."""
        t = record.time_step
        if t is None or record.index not in self.row_of or len(items) < 3:
            return items
        index = self._step_index.get(source)
        if index is None:
            index = {}
            for position, (kind, item) in enumerate(items):
                row = self.row_of.get(item) if kind == "op" else None
                step = self.ops[item].time_step if row is not None else None
                index.setdefault(row.index if row is not None else None, {}).setdefault(
                    step, []).append((position, (kind, item)))
            self._step_index[source] = index
        chosen = []
        for row, by_step in index.items():
            if row is not None and len(by_step) > 1 and t in by_step:
                chosen += by_step[t]
            else:
                chosen += [entry for entries in by_step.values() for entry in entries]
        return [item for _, item in sorted(chosen)]

    def _record_sources(self, index, through):
        if not hasattr(self, "sources_all"):
            self.sources_all = {}
        self.sources_all[index] = list(dict.fromkeys(through))


def _wrap(text, width):
    """``text`` broken into lines of about ``width`` characters at its spaces."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line])


def _numel(shape):
    count = 1
    for n in shape:
        count *= n
    return count


def _find_rows(records, names, trace):
    """{op index: row} for every op inside a time step, and the rows in the order they ran.

    An op belongs to the row of the recurrent weight it reads (``weight_hh_l1`` -> layer 1),
    else to the row of an input made in the same step, else to that of a reader in the same
    step; what is left (a hand-written loop) to one row per top-level module.
    """
    params = {key for key, leaf in trace.leaves.items() if leaf.is_param}
    key_of = {}
    for record in records:
        if record.time_step is None:
            continue
        key = next((k for kind, source in record.inputs if kind == "param" and source in params
                    for k in [_row_key(trace.leaves[source].name)] if k is not None), None)
        if key is None:
            key = next((key_of[source] for kind, source in record.inputs if kind == "op"
                        and source in key_of and records[source].time_step == record.time_step),
                       None)
        if key is not None:
            key_of[record.index] = key
    for record in reversed(records):
        if record.index not in key_of:
            continue
        for kind, source in record.inputs:
            if kind == "op" and source not in key_of and \
                    records[source].time_step == record.time_step:
                key_of[source] = key_of[record.index]
    fallback = set()
    for record in records:
        if record.time_step is not None and record.index not in key_of:
            top = record.module_path.split(".")[0]
            key_of[record.index] = (top, -1, False, top)      # layer -1: never a layer's key
            fallback.add(key_of[record.index])
    rows = {}
    for record in records:
        if record.index in key_of:
            key = key_of[record.index]
            rows.setdefault(key, _RowInfo(len(rows), key)).steps.append(record.time_step)
    ordered = list(rows.values())
    groups = []
    for row in ordered:
        row.steps = sorted(set(row.steps))
        row.fallback = row.key in fallback
        row.losses = any(_is_loss(r.kind) for r in records if key_of.get(r.index) == row.key)
        if row.group not in groups:
            groups.append(row.group)
    layers = {}
    for row in ordered:
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
            row.name = "the loss L_t of each step" if row.losses \
                else row.name or "the other ops of each step"
    return {index: rows[key] for index, key in key_of.items()}, ordered


def top_to_bottom(rows, below):
    """Rows from the top of the picture. Rows over the same steps stack like the textbook's
    layers: a row above the rows it reads (``below``: row index -> indices of the rows its
    steps read), so layer 0 is at the bottom, a layer's forward direction above its reverse,
    the per-step losses on top. Rows over different steps (the encoder, then the decoder)
    follow each other down the page in the order they ran."""
    stacks = {}
    for row in rows:
        stacks.setdefault(tuple(row.steps), []).append(row)
    ordered = []
    for stack in sorted(stacks.values(), key=lambda members: (members[0].steps[0], members[0].index)):
        indices = {row.index for row in stack}
        placed, upward = set(), []
        while len(upward) < len(stack):
            ready = [row for row in stack if row.index not in placed and
                     all(k in placed or k not in indices for k in below.get(row.index, ()))]
            row = min(ready or [r for r in stack if r.index not in placed],
                      key=lambda r: (r.layer, not r.reverse, r.index))
            placed.add(row.index)
            upward.append(row)
        ordered += reversed(upward)
    return ordered


# --- the plan ---------------------------------------------------------------------------------------
def plan(trace, collapse=True, first_last=None, shapes=False, grads=False, params=None,
         plumbing=False, untimed=False, prepared=None, step_labels=None):
    """The Drawing of ``trace`` (see the module docstring); ``first_last``: keep only the first
    and last k steps of every longer row, one elided box between them; ``untimed``: group the
    ops outside the steps by module; ``step_labels``: {"x": [what x_t is, per step],
    "target": [each step's target]} (letters, words) shown with the inputs and the losses."""
    ready = prepared or Prepared(trace, plumbing, params)
    return _Planner(trace, ready, collapse, first_last, shapes, grads, untimed,
                    step_labels or {}).drawing


class _Planner:
    def __init__(self, trace, ready, collapse, first_last, shapes, grads, untimed, step_labels):
        self.trace, self.ready, self.ops = trace, ready, ready.ops
        self.step_labels = step_labels
        self.collapse, self.shapes, self.grads = collapse, shapes, grads
        self.order = trace.leaf_order
        self.drawing = d.Drawing(grads=grads, collapse=collapse)
        for row in ready.rows:
            row.shown, row.elided = list(row.steps), []
            # a box for one left-out step saves no room: such a row is drawn whole
            if first_last is not None and len(row.steps) > 2 * first_last + 1:
                row.shown = row.steps[:first_last] + row.steps[-first_last:]
                row.elided = row.steps[first_last:-first_last]
        self._nodes_of_ops(untimed)
        self._scales()
        below = ready.memo("below", self._rows_below)
        self.rows = top_to_bottom(ready.rows, below)
        self._rows_and_boxes()
        self._op_nodes()
        self._edges()
        self._band()
        self._legend()
        self._chunks()

    # which node stands for which op
    def _nodes_of_ops(self, untimed):
        """Collapsed, a step is at most three nodes: what runs before its row's module (an
        embedding), the module itself (the cell), and what runs on what the cell made
        (attention, an output layer); a row of other ops has one node per module."""
        ready = self.ready
        self.node_of = {}
        module_number = {}
        after, helpers = ready.memo("steps", self._step_helpers)
        self.bridge = ready.memo("bridge", self._bridge)
        for index in ready.shown:
            record, row = self.ops[index], ready.row_of.get(index)
            if row is not None and record.time_step not in row.shown:
                node = row.elided_node
            elif self.collapse and row is not None:
                path = record.module_path
                if not row.fallback and path != row.module:
                    # several helper modules (a decoder's embedding, attention, output layer):
                    # the step is one node, as compact as an encoder's; one (an output fed
                    # back): its own node
                    if len(helpers[(row.index, record.time_step)]) > 1:
                        path = row.module
                    else:
                        path = ("after", row.index) if index in after else ("before", row.index)
                number = module_number.setdefault(path, len(module_number))
                node = f"r{row.index}t{record.time_step}m{number}"
            elif untimed and row is None:
                number = module_number.setdefault(record.module_path, len(module_number))
                node = f"um{number}"
            elif row is None and index in self.bridge:
                node = f"context{self.bridge[index]}"
            elif row is None and self._elided_only(index) is not None:
                # the loss of a chunk of truncated BPTT whose steps are all left out
                node = self._elided_only(index)
            elif row is None and record.kind in ("add", "sum") and \
                    self._sums_steps(index) is not None:
                node = self.node_of.get(self._sums_steps(index), f"op{index}")
            else:
                node = f"op{index}"
            self.node_of[index] = node
        # the nodes that hold a row's own module: their weights make the step's main tap
        self.cells = {self.node_of[i] for i in ready.shown if ready.row_of.get(i) is not None
                      and self.ops[i].module_path == ready.row_of[i].module}

    def _step_helpers(self):
        """(the ops of a step that read what its row's module made, {(row, t): the other
        modules the step ran}); the same for every plan of one preparation."""
        ready = self.ready
        after = set()
        for index in ready.shown:
            record, row = self.ops[index], ready.row_of.get(index)
            if row is None or row.fallback or record.module_path == row.module:
                continue
            if any(kind == "op" and (source in after or (ready.row_of.get(source) is row and
                                                         self.ops[source].time_step == record.time_step
                                                         and self.ops[source].module_path == row.module))
                   for kind, source in ready.sources[index]):
                after.add(index)
        helpers = {}
        for index in ready.shown:
            record, row = self.ops[index], ready.row_of.get(index)
            if row is not None and not row.fallback and record.module_path != row.module:
                helpers.setdefault((row.index, record.time_step), set()).add(record.module_path)
        return after, helpers

    def _bridge(self):
        """{op: first op} for the ops outside the steps that lead from one row's steps to
        the steps of a row over other steps and nowhere else (an encoder's final states
        through a learned bridge into the decoder): drawn as one context node."""
        ready = self.ready
        readers = {}
        for index in ready.shown:
            for kind, source in ready.sources[index]:
                if kind == "op":
                    readers.setdefault(source, []).append(index)
        candidate = {}
        for index in ready.shown:
            if index in ready.row_of:
                continue
            sources = [s for k, s in ready.sources[index] if k == "op"]
            if sources and all(s in ready.row_of or s in candidate for s in sources) and \
                    not any(k == "data" for k, _ in ready.sources[index]):
                firsts = [candidate[s] for s in sources if s in candidate]
                candidate[index] = min(firsts) if firsts else index
        bridge = {}
        for index in reversed(list(candidate)):
            targets = readers.get(index, [])
            if not targets:
                continue
            ok = True
            for target in targets:
                if target in bridge:
                    continue
                row = ready.row_of.get(target)
                if row is None:
                    ok = False
                    break
                origins = {ready.row_of[s].index for s in self._step_sources(index, candidate)}
                if any(r.steps == row.steps for r in self.ready.rows if r.index in origins):
                    ok = False
                    break
            if ok:
                bridge[index] = candidate[index]
        return bridge

    def _step_sources(self, index, candidate):
        """The step ops that op ``index`` (outside the steps) reads through other such ops."""
        found, pending, seen = [], [index], {index}
        while pending:
            for kind, source in self.ready.sources[pending.pop()]:
                if kind != "op" or source in seen:
                    continue
                seen.add(source)
                if source in self.ready.row_of:
                    found.append(source)
                elif source in candidate:
                    pending.append(source)
        return found

    def _elided_only(self, index):
        """The elided node of the row whose left-out steps are all that op ``index`` (outside
        the steps) reads, through other such ops; else None."""
        nodes = {self.node_of.get(s) for k, s in self.ready.sources[index] if k == "op"}
        elided = {r.elided_node for r in self.ready.rows if r.elided}
        if len(nodes) == 1 and nodes <= elided:
            return nodes.pop()
        return None

    def _sums_steps(self, index):
        """For an add outside the steps that adds one step's output to the sum so far
        (``sum(losses)``, ``loss = loss + L_t``): the op the chain's node is named after (its
        first add), so the chain is one node; else None."""
        chain = getattr(self, "_chain", None)
        if chain is None:
            chain = self._chain = {}
        if index in chain:
            return chain[index]
        sources = [s for k, s in self.ready.sources[index] if k == "op"]
        earlier = [s for s in sources if s in chain and chain[s] is not None]
        # truncated BPTT adds each chunk's loss (an op outside the steps) to the sum so far
        chunk_losses = bool(self.trace.cuts) and self.ops[index].kind == "add"
        steps = [s for s in sources if s in self.ready.row_of or
                 (chunk_losses and s not in earlier and self.ops[s].time_step is None)]
        first = None
        if len(earlier) == 1 and len(steps) == len(sources) - 1:
            first = chain[earlier[0]]
        elif not earlier and steps and len(steps) == len(sources):
            first = index
        chain[index] = first
        return first

    def _rows_below(self):
        """{row index: indices of the rows over the same steps its steps read}."""
        below = {}
        ready = self.ready
        for index in ready.shown:
            row = ready.row_of.get(index)
            if row is None:
                continue
            for kind, source in ready.sources[index]:
                other = ready.row_of.get(source) if kind == "op" else None
                if other is not None and other is not row and other.steps == row.steps:
                    below.setdefault(row.index, set()).add(other.index)
        return below

    # backward quantities
    def _scales(self):
        trace, ready = self.trace, self.ready
        self.shares, self.sums, self.totals = {}, {}, {}
        if self.grads:
            for leaf in trace.parameters():
                if not trace.has_contributions(leaf.tensor):
                    continue
                (steps, stacked), total, shares = ready.shares(leaf)
                self.totals[leaf.key] = total
                for t, share in shares:
                    self.shares[(leaf.key, t)] = share
                for row in ready.rows:
                    elided = numpy.isin(steps, row.elided)
                    if elided.any():
                        part = stacked[elided].sum(axis=0)
                        self.sums[(leaf.key, row.index)] = float((part ** 2).sum()) ** 0.5
        positive = [v for v in list(self.shares.values()) + list(self.sums.values()) if v > 0]
        self.share_range = (min(positive), max(positive)) if positive else (1.0, 1.0)
        states = ready.memo("states", self._state_norms) if self.grads else []
        self.state_range = (min(states), max(states)) if states else (1.0, 1.0)

    def _state_norms(self):
        """The gradient norms of the states handed from step to step."""
        ready, states = self.ready, []
        for index in ready.shown:
            row = ready.row_of.get(index)
            for kind, source in ready.sources[index]:
                if kind == "op" and row is not None and ready.row_of.get(source) is row and \
                        self.ops[source].time_step != self.ops[index].time_step and \
                        self.ops[source].grad_norm:
                    states.append(self.ops[source].grad_norm)
        return states

    # rows and step boxes
    def _rows_and_boxes(self):
        kinds = self.trace.module_kinds
        for info in self.rows:
            kind = kinds.get(info.module, "")
            state = "h, c" if kind.startswith("LSTM") else "h"
            row = d.Row(info.id, info.key, info.name, "losses" if info.fallback else "layer",
                        info.reverse, list(info.shown), list(info.elided), info.start,
                        state=state)
            for t in info.shown:
                box = d.StepBox(info.box_id(t), info.id, t, t - info.start, f"t = {t - info.start}")
                row.boxes.append(box.id)
                self.drawing.steps.append(box)
            self.drawing.rows.append(row)
        self.info_of = {info.id: info for info in self.rows}
        self.box_of = {(info.index, box.time_step): box for info in self.rows
                       for box in self.drawing.steps if box.row == info.id}

    def _box(self, row, t):
        return self.box_of.get((row.index, t))

    def _put(self, node, row=None, t=None):
        """Add ``node`` to the drawing and to the box of step t of ``row``."""
        if row is not None:
            node.row = row.id
            box = self._box(row, t)
            if box is not None:
                node.box, node.time_step = box.id, t
                box.nodes.append(node.id)
        if node.id not in self.drawing.nodes:
            self.drawing.add_node(node)
        return self.drawing.nodes[node.id]

    def _op_nodes(self):
        ready, ops, kinds = self.ready, self.ops, self.trace.module_kinds
        grouped = {}
        for index in ready.shown:
            grouped.setdefault(self.node_of[index], []).append(index)
        for node_id, members in grouped.items():
            first = ops[members[0]]
            row = ready.row_of.get(members[0])
            if row is not None and node_id == row.elided_node:
                steps = row.elided
                self._put(d.Node(node_id, d.ELIDED,
                                 f"⋯ {len(steps)} steps ⋯\n(t = {steps[0] - row.start}.."
                                 f"{steps[-1] - row.start})", row=row.id, ops=members))
                continue
            if node_id.startswith(("r", "um")) and not node_id.startswith("op"):
                path = first.module_path
                if row is not None and node_id in self.cells:
                    path = row.module
                kind = kinds.get(path, "")
                paths = list(dict.fromkeys(ops[i].module_path for i in members))
                name = f"{path} ({kind})" if path and kind else path or kind or "step"
                if row is not None and path == row.module and not row.fallback and kind:
                    name = f"{path} ({kind})" if path else f"{kind} cell"
                    helpers = [p.split(".")[-1] for p in paths if p and p != path]
                    if helpers:
                        name += "\n+ " + _wrap(", ".join(helpers), 28)
                elif len(paths) > 1 or not path:
                    named = [p.split(".")[-1] for p in paths if p]
                    name = ", ".join(named) if named else \
                        ", ".join(dict.fromkeys(ops[i].kind for i in members))
                count = f"{len(members)} op" + ("" if len(members) == 1 else "s")
                label = f"{name}\n{count}"
                node_kind = d.LOSS if any(_is_loss(ops[i].kind) for i in members) else d.CELL
                fill = LOSS_FILL if node_kind == d.LOSS else CELL_FILL
            elif node_id.startswith("context"):
                named = list(dict.fromkeys(ops[i].module_path.split(".")[-1] or ops[i].kind
                                           for i in members))
                label = "context\n" + _wrap(", ".join(named), 24)
                node_kind, fill = d.CONTEXT, CELL_FILL
            elif len(members) > 1:                        # a chain of adds over the steps
                over = "chunks" if self.trace.cuts else "t"
                label = f"sum over {over}\n{len(members)} ops"
                node_kind, fill = d.OP, "white"
            else:
                label = first.kind
                if first.scope and not self.collapse and row is not None:
                    label += "\n" + first.scope.split(" / ")[-1]
                node_kind = d.LOSS if _is_loss(first.kind) else d.OP
                fill = LOSS_FILL if node_kind == d.LOSS else "white"
            targets = self.step_labels.get("target")
            if node_kind == d.LOSS and row is not None and targets is not None and \
                    0 <= first.time_step - row.start < len(targets):
                label += f"\ntarget {targets[first.time_step - row.start]}"
            detail = shape_text(ops[members[-1]].shape) if self.shapes else ""
            value = ops[members[-1]].grad_norm if self.grads else None
            node = d.Node(node_id, node_kind, label, ops=members, detail=detail, fill=fill,
                          value=value)
            self._put(node, row, first.time_step)
            if row is not None and self._box(row, first.time_step) is not None:
                self._box(row, first.time_step).ops.extend(members)

    # edges
    def _anchor(self, row, t):
        """The node of a row's step that hands the state on: its last op in the row's module."""
        if t not in row.shown:
            return row.elided_node
        return self.anchors.get((row.index, t))

    def _edges(self):
        ready, ops, order = self.ready, self.ops, self.order
        anchor_ops = {}
        for index in ready.shown:
            row = ready.row_of.get(index)
            if row is None:
                continue
            key = (row.index, ops[index].time_step)
            known = anchor_ops.get(key)
            if known is None or ops[index].module_path == row.module or \
                    ops[known].module_path != row.module:
                anchor_ops[key] = index
        self.anchors = {key: self.node_of[index] for key, index in anchor_ops.items()}
        for row in self.rows:
            self.drawing.row(row.id).anchors = sorted({
                node for (r, _), node in self.anchors.items()
                if r == row.index and node in self.cells and node != row.elided_node})
        self.feeds = self._feeds()
        seen = set()
        taps = {}                      # (row index, t, owner) -> {leaf key: [reader nodes]}
        gathered = {}                  # outside node -> {row index: [step ops]}
        initial = {}                   # row index -> [data keys]
        for index in ready.shown:
            record = ops[index]
            target = self.node_of[index]
            row = ready.row_of.get(index)
            t = record.time_step
            for kind, source in ready.sources[index]:
                if kind == "param":
                    if row is not None:
                        step = t if t in row.shown else "elided"
                        owner = "" if (row.fallback or target in self.cells or
                                       step == "elided") else target
                        readers = taps.setdefault((row.index, step, owner), {}).setdefault(source, [])
                        if target not in readers:
                            readers.append(target)
                    else:
                        self._edge_once(seen, d.FLOW, f"p{order[source]}", target,
                                        **self._share(source, None))
                    continue
                if kind == "data":
                    self._data_edge(seen, index, source, row, t, target, initial)
                    continue
                producer = ops[source]
                producer_row = ready.row_of.get(source)
                origin = self.node_of[source]
                if origin == target:
                    continue
                if row is None and producer_row is not None:
                    gathered.setdefault(target, {}).setdefault(producer_row.index, []).append(source)
                    continue
                if row is not None and producer_row is row and producer.time_step != t:
                    self._state_edge(seen, producer, record, origin, target, row)
                elif row is not None and producer_row is not None and producer_row is not row:
                    self._cross_row_edge(seen, producer, record, origin, target, row, producer_row)
                elif row is not None and (source, row.index) in self.feeds:
                    self._feed_edge(seen, source, row, t, target)
                else:
                    self._edge_once(seen, d.FLOW, origin, target)
        self._taps(taps)
        self._initial_states(initial)
        self._gathers(gathered, seen)
        self._cuts(seen)

    def _feeds(self):
        """{(outside op, row index): steps}: ops outside the steps that two or more steps of
        a row read (an embedding of the whole source): each step gets a small node instead
        of a fan of edges from the one op."""
        ready, steps = self.ready, {}
        for index in ready.shown:
            row = ready.row_of.get(index)
            if row is None:
                continue
            for kind, source in ready.sources[index]:
                if kind == "op" and source not in ready.row_of:
                    steps.setdefault((source, row.index), set()).add(self.ops[index].time_step)
        return {key: found for key, found in steps.items() if len(found) > 1}

    def _feed_edge(self, seen, source, row, t, target):
        origin = self.node_of[source]
        if t not in row.shown:
            return
        stub_id = f"f{origin}r{row.index}t{t}"
        if stub_id not in self.drawing.nodes:
            record = self.ops[source]
            name = record.module_path.split(".")[-1] or record.kind
            self._put(d.Node(stub_id, d.INPUT, f"{name}_{t - row.start}", fill=DATA_FILL,
                             ops=[source]), row, t)
            if t == row.shown[0]:
                self._edge_once(seen, d.FLOW, origin, stub_id, time_step=t)
        self._pending(stub_id, target, row, t, d.FEED)

    def _edge_once(self, seen, kind, tail, head, **fields):
        key = (tail, fields.get("tail_port", ""), head, fields.get("head_port", ""))
        if key in seen or tail == head:
            return None
        seen.add(key)
        return self.drawing.add_edge(kind, tail, head, **fields)

    def _share(self, key, t, row=None):
        value = self.shares.get((key, t)) if t != "elided" else self.sums.get((key, row))
        if value is None:
            return {}
        colour, width = heat(value, *self.share_range)
        return {"value": value, "colour": colour, "width": width}

    def _data_edge(self, seen, index, key, row, t, target, initial):
        """Data into a step: the input x_t below the step (through its tap's input weight),
        the target of a loss, or the row's initial state; data read outside the steps is
        one node."""
        ready, order = self.ready, self.order
        leaf = self.trace.leaves[key]
        name = ready.names[key]
        if row is None or t not in row.shown:
            if row is not None:                        # read inside the elided steps
                return
            node = self._put(d.Node(f"d{order[key]}", d.TARGET if _is_loss(self.ops[index].kind)
                                    else d.DATA, self._data_label(key, index), leaves=[order[key]],
                                    fill=DATA_FILL, detail=shape_text(leaf.shape)))
            self._edge_once(seen, d.FEED, node.id, target)
            return
        readers = self._data_readers().get((row.index, key), set())
        first = row.steps[-1] if row.reverse else row.steps[0]
        if readers == {first} and not _is_loss(self.ops[index].kind) and \
                self._initial(index, key):
            initial.setdefault(row.index, [])
            if key not in initial[row.index]:
                initial[row.index].append(key)
            self.initial_targets = getattr(self, "initial_targets", {})
            self.initial_targets.setdefault(row.index, []).append(target)
            return
        loss = _is_loss(self.ops[index].kind) or self._compared(index)
        local = t - row.start
        if loss:
            label, kind = (f"{name}_{local}" if key in ready.named else "target"), d.TARGET
        elif key in ready.named:
            label, kind = f"{name}_{local}", d.INPUT
        elif self.ops[index].module_path == row.module or row.fallback:
            label, kind = f"x_{local}", d.INPUT
        else:
            return                  # a mask or constant a step's other modules read
        inputs = self.step_labels.get("x")
        if kind == d.INPUT and inputs is not None and 0 <= local < len(inputs):
            label += f" = {inputs[local]}"
        stub = self._put(d.Node(f"x{order[key]}r{row.index}t{t}", kind, label,
                                leaves=[order[key]], fill=DATA_FILL), row, t)
        self._pending(stub.id, target, row, t, d.FEED)

    def _compared(self, index):
        """Whether op ``index`` compares a step's value with data (``o - y[t]`` of a loss a user
        writes out): a difference of a drawn op and data, reading no weight."""
        sources = self.ready.sources[index]
        return self.ops[index].kind == "sub" and not any(k == "param" for k, _ in sources) and \
            any(k == "op" for k, _ in sources) and sources[-1][0] == "data"

    def _pending(self, tail, target, row, t, kind):
        """An input of a step's node, drawn once the taps are known: it comes in through the
        tap cell of the node's input weight (x_t -> W_ih -> the cell) when there is one."""
        self.pending_inputs = getattr(self, "pending_inputs", [])
        if (tail, target, row, t, kind) not in self.pending_inputs:
            self.pending_inputs.append((tail, target, row, t, kind))

    def _data_readers(self):
        """{(row index, data key): the steps of that row that read it}, computed once."""
        if getattr(self, "_readers_of_data", None) is None:
            self._readers_of_data = {}
            for i in self.ready.shown:
                row = self.ready.row_of.get(i)
                if row is None:
                    continue
                for kind, source in self.ready.sources[i]:
                    if kind == "data":
                        self._readers_of_data.setdefault((row.index, source), set()).add(
                            self.ops[i].time_step)
        return self._readers_of_data

    def _initial(self, index, key):
        """Whether data ``key`` read by op ``index`` (in its row's first step only) is the
        initial state: what a recurrent weight multiplies (W_hh), not an input one (W_ih); in
        an op reading both (a fused step), any data after the input x."""
        weights = [self.trace.leaves[s].name for k, s in self.ready.sources[index] if k == "param"]
        recurrent = any("_hh" in w for w in weights)
        inputs = any("_ih" in w for w in weights)
        if recurrent and not inputs:
            return True
        if inputs and not recurrent:
            return False
        if recurrent and inputs:
            values = [(k, s) for k, s in self.ready.sources[index] if k != "param"]
            return values.index(("data", key)) > 0
        # an op reading no weight (c_{t-1} in f * c): the state, unless an input weight reads it
        return not any(("data", key) in sources and any(
            k == "param" and "_ih" in self.trace.leaves[s].name for k, s in sources)
            for sources in self.ready.sources.values())

    def _data_label(self, key, index):
        name = self.ready.names[key]
        if key in self.ready.named:
            return name
        return "target" if _is_loss(self.ops[index].kind) else "data"

    def _state_edge(self, seen, producer, consumer, origin, target, row):
        """The recurrent state from one step to the next; a reverse row's flows right to left."""
        if producer.time_step not in row.shown and consumer.time_step not in row.shown:
            return
        local = producer.time_step - row.start
        if producer.module_path != row.module and producer.module_path:
            name = f"{producer.module_path.split('.')[-1]}_{local}"     # an output fed back
        else:
            kind = self.trace.module_kinds.get(row.module, "")
            names = ("h", "c") if kind.startswith("LSTM") else ("h",)
            if len(names) > 1 and not self.collapse:      # op by op: h_t and c_t each
                names = ("h",) if origin == self.anchors.get((row.index, producer.time_step)) \
                    else ("c",)
            name = ", ".join(f"{n}_{local}" for n in names)
        if producer.time_step not in row.shown or consumer.time_step not in row.shown:
            name = ""
        fields = {"label": name, "time_step": producer.time_step,
                  "backwards": producer.time_step > consumer.time_step}
        if self.grads and producer.grad_norm is not None:
            colour, width = heat(producer.grad_norm, *self.state_range)
            fields.update(value=producer.grad_norm, colour=colour, width=max(width, 1.6))
        self._edge_once(seen, d.STATE, origin, target, **fields)

    def _cross_row_edge(self, seen, producer, consumer, origin, target, row, producer_row):
        """A step reading a step of another row: the same step of the row below (straight
        up), the encoder's final state (through the one context node), or attention over the
        encoder's outputs."""
        if producer_row.steps == row.steps:
            if producer.time_step == consumer.time_step and \
                    consumer.time_step in row.shown and (origin, target) not in seen:
                seen.add((origin, target))
                self._pending(origin, target, row, consumer.time_step, d.UP)
            return
        readers = [s for kind, s in self.ready.sources[consumer.index] if kind == "op"
                   and self.ready.row_of.get(s) is producer_row]
        if len(readers) == 1:
            # one context node between an encoder and a decoder, whatever layers they have
            first = min(r.index for r in self.rows if r.group == producer_row.group)
            to = min(r.index for r in self.rows if r.group == row.group)
            context = f"context{first}_{to}"
            if context not in self.drawing.nodes:
                self._put(d.Node(context, d.CONTEXT, "context\n(final state)", fill=CELL_FILL))
                self.context_rows = getattr(self, "context_rows", {})
                self.context_rows[context] = (producer_row, row)
            self._edge_once(seen, d.FLOW, origin, context)
            self._edge_once(seen, d.FLOW, context, target)
        elif producer.time_step in producer_row.shown:
            # attention: every encoder output drops into one bar under the encoder's rows;
            # each decoder step reads the bar through a small node of its own (no fan of
            # edges across the picture), and the bar's one edge into the first step says so
            first = min(r.index for r in self.rows if r.group == producer_row.group)
            memory = f"memory{first}_{row.index}"
            name = producer_row.group or producer_row.name or "encoder"
            if memory not in self.drawing.nodes:
                self._put(d.Node(memory, d.MEMORY, f"{name} outputs: read by attention at "
                                 f"every {row.group or row.name or 'decoder'} step",
                                 fill=OUTPUT_FILL))
            self._edge_once(seen, d.ATTENTION, origin, memory, time_step=producer.time_step,
                            head_port=f"t{producer.time_step}")
            t = consumer.time_step
            if t in row.shown:
                stub_id = f"{memory}t{t}"
                if stub_id not in self.drawing.nodes:
                    self._put(d.Node(stub_id, d.OUTPUT, f"{name} h", fill=OUTPUT_FILL),
                              row, t)
                    if t == row.shown[0]:
                        self._edge_once(seen, d.ATTENTION, memory, stub_id, time_step=t)
                self._edge_once(seen, d.ATTENTION, stub_id, target, time_step=t)

    def _taps(self, taps):
        """A step's tap: one cell per shared weight it reads, coloured by that step's share;
        one edge from each cell to each node reading it; the input x_t comes in through the
        cell of its input weight (x_t -> W_ih -> the cell)."""
        trace, order = self.trace, self.order
        entries = {}
        for (row_index, t, owner), tap in taps.items():
            row = next(r for r in self.rows if r.index == row_index)
            node_id = f"tap{row_index}t{t}" if t != "elided" else f"tap{row_index}elided"
            if owner:                   # the weights of a node beside the cell: its own tap
                node_id = f"tap{row_index}t{t}_{owner}"
            cells = []
            for key in tap:
                share = self._share(key, t, row_index)
                cells.append(d.Cell(f"p{order[key]}", short_name(trace.leaves[key].name
                                                                 if key not in self.ready.named
                                                                 else self.ready.names[key],
                                                                 row.module),
                                    order[key], share.get("value"), share.get("colour")))
            # one order in every picture: the row's weights (W before b, ih before hh), then
            # the other modules' in the order they were first used
            cells.sort(key=lambda c: ("." in c.label, c.label.startswith("b"), "hh" in c.label,
                                      c.leaf))
            node = d.Node(node_id, d.TAP, "", cells=cells, leaves=[c.leaf for c in cells],
                          fill="none")
            if t == "elided":
                node.row = row.id
                self.drawing.add_node(node)
            else:
                self._put(node, row, t)
            for key, readers in tap.items():
                for reader in readers:
                    self.drawing.add_edge(d.TAP_EDGE, node_id, reader, tail_port=f"p{order[key]}",
                                          time_step=None if t == "elided" else t,
                                          **self._share(key, t, row_index))
                    if t != "elided" and not owner and \
                            short_name(trace.leaves[key].name, row.module) == "W_ih":
                        entries[(reader, row_index, t)] = (node_id, f"p{order[key]}")
        for tail, target, row, t, kind in getattr(self, "pending_inputs", []):
            entry = entries.get((target, row.index, t))
            if entry is not None and (kind == d.UP or self.drawing.nodes[tail].kind == d.INPUT):
                self.drawing.add_edge(kind, tail, entry[0], head_port=entry[1], time_step=t)
            else:
                self.drawing.add_edge(kind, tail, target, time_step=t)

    def _initial_states(self, initial):
        for row_index, keys in initial.items():
            row = next(r for r in self.rows if r.index == row_index)
            kind = self.trace.module_kinds.get(row.module, "")
            names = [self.ready.names[k] for k in keys if k in self.ready.named]
            state = names or (["h_init", "c_init"] if kind.startswith("LSTM") or len(keys) > 1
                              else ["h_init"])
            node = self._put(d.Node(f"init{row_index}", d.INITIAL,
                                    "initial state\n" + ", ".join(state),
                                    leaves=[self.order[k] for k in keys], fill=DATA_FILL,
                                    row=row.id))
            for target in dict.fromkeys(self.initial_targets.get(row_index, [])):
                self.drawing.add_edge(d.FEED, node.id, target, time_step=row.steps[0],
                                      backwards=row.reverse)

    def _gathers(self, gathered, seen):
        """An op outside the steps reading one step of a row gets one edge; reading several,
        each drawn step hands its output up to a small y_t node and the last one's edge
        carries "all t" into the op."""
        ready = self.ready
        for target, by_row in gathered.items():
            for row_index, sources in by_row.items():
                row = next(r for r in self.rows if r.index == row_index)
                steps = {self.ops[s].time_step for s in sources}
                if len(steps) == 1:
                    self._edge_once(seen, d.GATHER, self.node_of[sources[0]], target)
                    continue
                last = None
                for source in sources:
                    t = self.ops[source].time_step
                    if t not in row.shown:
                        continue
                    origin = self.node_of[source]
                    stub_id = f"y{origin}"
                    if stub_id not in self.drawing.nodes:
                        name = "L" if row.losses else "y"
                        self._put(d.Node(stub_id, d.OUTPUT, f"{name}_{t - row.start}",
                                         fill=OUTPUT_FILL), row, t)
                        self._edge_once(seen, d.FLOW, origin, stub_id, time_step=t)
                    if last is None or t > self.ops[last].time_step:
                        last = source
                if last is not None:
                    self._edge_once(seen, d.GATHER, f"y{self.node_of[last]}", target,
                                    label="all t")
        del ready

    def _cuts(self, seen):
        """Truncated BPTT: the state handed from the last step of one chunk to the first step
        of the next through ``detach()``: the state flows on, the gradient stops."""
        trace, ready, ops = self.trace, self.ready, self.ops
        for key, producer_index in sorted(trace.cuts.items(), key=lambda item: self.order[item[0]]):
            producer = self._timed_before(producer_index)
            readers = [i for i in range(len(ops)) if ("data", key) in ready.sources_all.get(i, [])
                       and i in ready.row_of]
            if producer is None or not readers:
                continue
            consumer = min(readers, key=lambda i: ops[i].time_step)
            row = ready.row_of[producer]
            origin = self._anchor(row, ops[producer].time_step)
            target = self.node_of[consumer]
            if origin is not None:
                self._edge_once(seen, d.CUT_EDGE, origin, target, label="✂ detach()",
                                time_step=ops[producer].time_step)

    def _timed_before(self, index):
        """The latest op inside the steps that op ``index`` comes from (itself if timed)."""
        pending, seen, found = [index], {index}, []
        while pending:
            current = pending.pop()
            if current in self.ready.row_of:
                found.append(current)
                continue
            for kind, source in self.ops[current].inputs:
                if kind == "op" and source not in seen:
                    seen.add(source)
                    pending.append(source)
        return max(found, key=lambda i: self.ops[i].time_step) if found else None

    # the band and the legend
    def _band(self):
        trace, order = self.trace, self.order
        params = trace.parameters()
        if not params:
            return
        band = d.Band("cluster_parameters",
                      "shared parameters: drawn once, used by every step through its tap")
        for leaf in params:
            if not any(edge.tail == f"p{order[leaf.key]}" for edge in self.drawing.edges) and \
                    not any(order[leaf.key] in node.leaves for node in self.drawing.nodes.values()
                            if node.kind == d.TAP):
                continue
            total = self.totals.get(leaf.key)
            detail = shape_text(leaf.shape) + (f"   |grad| = {total:.3g}" if total is not None else "")
            node = d.Node(f"p{order[leaf.key]}", d.PARAM, self.ready.names[leaf.key],
                          leaves=[order[leaf.key]], detail=detail, fill=PARAM_FILL,
                          bars=self._bars(leaf))
            self.drawing.add_node(node)
            readers = [self.drawing.nodes[e.head] for e in self.drawing.edges
                       if e.tail == node.id]
            if self.rows and readers and not node.bars and \
                    all(r.row is None and r.kind != d.PARAM for r in readers):
                continue            # read only by an op outside the steps: drawn beside it
            band.nodes.append(node.id)
        self.drawing.band = band

    def _bars(self, leaf):
        bars = []
        order = self.order[leaf.key]
        for row in self.rows:
            if not any(order in node.leaves for node in self.drawing.nodes.values()
                       if node.kind == d.TAP and node.row == row.id):
                continue
            for t in row.steps:
                if t in row.shown:
                    value = self.shares.get((leaf.key, t))
                    if value is not None:
                        bars.append(d.Bar(str(t - row.start), value, heat(value, *self.share_range)[0]))
                elif t == row.elided[0] and (leaf.key, row.index) in self.sums:
                    value = self.sums[(leaf.key, row.index)]
                    bars.append(d.Bar("…", value, heat(value, *self.share_range)[0]))
        return bars

    def _legend(self):
        lines = [d.LegendLine("grey box t = k: one time step; time runs left to right"),
                 d.LegendLine("thick arrow between boxes: the state passed on (h_t; c_t too "
                              "for an LSTM)"),
                 d.LegendLine("table in a box: the shared weights that step reads; yellow "
                              "below: each drawn once")]
        if any(node.kind in (d.INPUT, d.TARGET, d.INITIAL, d.DATA)
               for node in self.drawing.nodes.values()):
            lines.append(d.LegendLine("blue: data (x_t, targets, the initial state)"))
        if any(node.kind == d.LOSS for node in self.drawing.nodes.values()):
            lines.append(d.LegendLine("red box: a loss"))
        if any(row.elided for row in self.rows):
            lines.append(d.LegendLine("dotted box ⋯: steps left out; its tap carries their "
                                      "summed share"))
        if self.trace.cuts:
            lines.append(d.LegendLine("red dashed ✂: detach() between chunks: the state flows "
                                      "on, the gradient stops", colour="#c0392b"))
        if self.grads:
            lines.append(d.LegendLine("a step's share of dL/dW (tap cells, bars)",
                                      *self.share_range))
            lines.append(d.LegendLine("||dL/dh_t|| through the state (arrows)", *self.state_range))
        self.drawing.legend = d.Legend("legend", lines)

    def _chunks(self):
        """Truncated BPTT: one chunk per stretch of steps between cuts."""
        if not self.trace.cuts or len(self.rows) != 1:
            return
        row = self.rows[0]
        cut_after = sorted(self.ops[self._timed_before(p)].time_step
                           for p in self.trace.cuts.values() if self._timed_before(p) is not None)
        bounds, start = [], row.steps[0]
        for end in cut_after:
            if start <= end < row.steps[-1]:
                bounds.append((start, end))
                start = end + 1
        bounds.append((start, row.steps[-1]))
        for k, (a, b) in enumerate(bounds):
            steps = [t for t in row.shown if a <= t <= b]
            if steps:
                self.drawing.chunks.append(d.Chunk(f"cluster_chunk{k}",
                                                   f"chunk {k}: t = {a - row.start}..{b - row.start}",
                                                   steps))

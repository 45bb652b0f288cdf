"""The BPTT picture of a trace: ``to_dot`` and ``render``.

    plan (plan.py)      Trace -> Drawing: what is drawn
    layout (layout.py)  Drawing -> coordinates: column = time step, row = layer / direction /
                        encoder / decoder / losses, the parameter band below, the legend beside
    dot (dot.py)        laid-out Drawing -> DOT text with pinned positions -> Graphviz

A picture is never shrunk to fit: every text is drawn at 9 points or more, and a row too long
for the picture's long side (3,000 points: px at 72 dpi) keeps its first and last steps around
one elided box, as many as fit.
"""
import os
import warnings

from . import dot as dot_writer
from .drawing import ELIDED
from .layout import MAX_SIDE, lay_out
from .plan import Prepared, plan
from .rolled import rolled_dot

_ELIDED_KEEP = 10


def drawing(trace, collapse=True, first_last=None, shapes=False, grads=False, max_nodes=400,
            max_steps=24, params=None, plumbing=False, step_labels=None):
    """The laid-out Drawing of ``trace`` (see ``to_dot`` for the options)."""
    if not trace.ops:
        raise ValueError("to_dot: the trace recorded no ops (run the model inside "
                         "`with ts.trace() as tr:`)")
    if first_last is not None and (isinstance(first_last, bool) or not isinstance(first_last, int)
                                   or first_last < 1):
        raise ValueError(f"to_dot: first_last must be a positive int, got {first_last!r}")
    params = _names(params)
    ready = Prepared(trace, plumbing, params)
    longest = max((len(row.steps) for row in ready.rows), default=0)
    chosen = first_last
    if chosen is None and max_steps is not None and longest > max_steps:
        chosen = min(_ELIDED_KEEP, max(1, max_steps // 2))

    def build(collapse_steps, keep, untimed=False):
        # each plan sets which steps of the prepared rows it shows, so one preparation serves
        # every try
        return lay_out(plan(trace, collapse_steps, keep, shapes, grads, params, plumbing,
                            untimed=untimed, prepared=ready,
                            step_labels=step_labels))

    laid = build(collapse, chosen)
    if first_last is None and max_steps is not None:
        # at most MAX_SIDE wide: keep as many first and last steps as fit (a picture too
        # tall is collapsed below: eliding steps would not help)
        if laid.width > MAX_SIDE and longest > 2:
            # the largest k (first and last steps kept) that fits, estimated from this
            # layout's column pitch and checked by a layout (lowered while too wide)
            keep = _widest_keep(laid, (chosen if chosen is not None else longest // 2 + 1) - 1)
            candidate = build(collapse, keep)
            while candidate.width > MAX_SIDE and keep > 1:
                keep -= 1
                candidate = build(collapse, keep)
            laid, chosen = candidate, keep
    if laid.height > MAX_SIDE and not collapse and ready.rows:
        # eliding steps narrows a picture; only drawing each step as its cell makes it lower
        warnings.warn(f"to_dot: drawn op by op, the picture is {laid.height:.0f} pt tall, more "
                      f"than {MAX_SIDE}; collapsing each step's modules into one node (draw "
                      f"fewer layers, or one step with render.cell_diagram, to see the ops)",
                      stacklevel=3)
        collapse = True
        laid = build(collapse, chosen)
    if _size(laid) > max_nodes and not collapse and ready.rows:
        warnings.warn(f"to_dot: {_size(laid)} nodes and step boxes exceed max_nodes={max_nodes}; "
                      f"collapsing each step's modules into one node", stacklevel=3)
        collapse = True
        laid = build(collapse, chosen)
    if _size(laid) > max_nodes and longest > 2:
        per_step = max(1, _size(laid) // max(1, len(laid.steps)))
        keep = max(1, (max_nodes // per_step) // 2 // max(1, len(laid.rows)))
        if chosen is None or keep < chosen:
            warnings.warn(f"to_dot: more than max_nodes={max_nodes} nodes and step boxes; "
                          f"showing only the first and last {keep} steps", stacklevel=3)
            chosen = keep
            laid = build(collapse, chosen)
    if _size(laid) > max_nodes:
        warnings.warn(f"to_dot: more than max_nodes={max_nodes} nodes; grouping the ops outside "
                      f"any time step by module (tag loops with ts.timestep(t) to see steps)",
                      stacklevel=3)
        laid = build(collapse, chosen, untimed=True)
    return laid


def _widest_keep(laid, limit):
    """The largest k <= ``limit`` (first and last steps kept) whose picture, estimated from
    the laid-out ``laid``, is at most MAX_SIDE wide: every column of a row is as wide as the
    next (the elided box's too), so the width is a fixed part plus, for each group of rows
    over the same steps, its number of columns times its column pitch."""
    boxes = {box.id: box for box in laid.steps}
    groups = {}                    # all steps of the rows -> (pitch, columns drawn now)
    for row in laid.rows:
        steps = tuple(sorted(row.steps + row.elided))
        # the centres of the columns: the step boxes' and the elided box's
        centres = sorted([boxes[b].x + boxes[b].width / 2 for b in row.boxes] +
                         [n.x for n in laid.nodes.values() if n.kind == ELIDED and
                          n.row == row.id and n.x is not None])
        pitches = [right - left for left, right in zip(centres, centres[1:])]
        pitch = max(min(pitches, default=0.0), groups.get(steps, (0.0, 0))[0])
        groups[steps] = (pitch, len(row.steps) + (1 if row.elided else 0))

    def columns(n, keep):
        return n if n <= 2 * keep else 2 * keep + 1

    fixed = laid.width - sum(pitch * drawn for pitch, drawn in groups.values())
    for keep in range(limit, 0, -1):
        if fixed + sum(pitch * columns(len(steps), keep)
                       for steps, (pitch, _) in groups.items()) <= MAX_SIDE:
            return keep
    return 1


def _size(laid):
    return len(laid.nodes) + len(laid.steps)


def to_dot(trace, collapse=True, first_last=None, shapes=False, grads=False, max_nodes=400,
           max_steps=24, rolled=False, params=None, plumbing=False, step_labels=None):
    """DOT source of ``trace``'s unrolled graph (or, with ``rolled=True``, the folded network),
    every position pinned for ``neato -n2``.

    collapse:    draw each module's ops of one step as a single node, the textbook cell (False:
                 every op; a picture that would be taller than 3,000 px is collapsed, with a
                 warning)
    first_last:  k >= 1; draw only the first k and last k steps of each row, the middle elided
                 (None: as many as fit 3,000 px)
    shapes:      print each op's output shape
    grads:       colour taps, bars and edges with backward quantities (after backward)
    max_nodes:   past this many nodes and step boxes, warn and collapse (then elide, then group
                 the ops outside the steps)
    max_steps:   rows longer than this are elided to their first and last 10 steps (at most
                 max_steps // 2), fewer where the picture would be wider than 3,000 px, unless
                 ``first_last`` says otherwise (None: never elide automatically)
    rolled:      the folded network: one cell per row with its loop edge
    params:      {name: tensor}: names for tensors made by hand (``{"U": U, "W": W}``), and
                 for data (``{"letters": x}``)
    plumbing:    draw the ops that only move numbers (stack, getitem, transpose, ...) too
    step_labels: what each step's data stands for, shown with it: {"x": "hell"} labels x_t
                 "x_0 = h", ...; {"target": "ello"} adds "target e" to step 0's loss, ...
    """
    if rolled:
        if not trace.ops:
            raise ValueError("to_dot: the trace recorded no ops (run the model inside "
                             "`with ts.trace() as tr:`)")
        return rolled_dot(trace, grads)
    laid = drawing(trace, collapse, first_last, shapes, grads, max_nodes, max_steps, params,
                   plumbing, step_labels)
    return dot_writer.to_dot_text(laid)


def _names(params):
    """{id(tensor): name} from ``params`` ({name: tensor})."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise TypeError(f"to_dot: params must be a dict {{name: tensor}}, got "
                        f"{type(params).__name__}")
    return {id(tensor): str(name) for name, tensor in params.items()}


def render(trace, path, **options):
    """Write the trace's graph to ``path``; the format comes from the suffix (.svg .png .pdf
    .dot). Without Graphviz (the ``neato``/``dot`` programs or the ``graphviz`` package), the
    DOT source is written next to it as ``<path>.dot`` with a warning that says how to install
    Graphviz. Returns the path written."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in dot_writer.SUFFIXES:
        raise ValueError(f"render: unknown output suffix {suffix!r} in {path!r}; use one of "
                         f"{', '.join(dot_writer.SUFFIXES)}")
    source = to_dot(trace, **options)
    return dot_writer.write(source, path, rolled=bool(options.get("rolled")))

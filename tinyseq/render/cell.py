"""One step of an LSTM or GRU drawn as the textbook cell figure (colah's, the lecture's).

    render.cell_diagram(tr, "cell.svg", module="lstm", time_step=3)

LSTM: the cell state runs straight across the top, c_{t-1} -> x f -> + i*g -> c_t; the four
gates (sigma f, sigma i, tanh g, sigma o) sit below it in PyTorch's order, fed by one bus
that carries [h_{t-1}, x_t] from the bottom left; h_t = o * tanh(c_t) leaves at the bottom
right. GRU: the hidden state runs across the top, h_{t-1} -> x z -> + (1-z)*n -> h_t, with
the gates r, z and the candidate n below. After a backward pass the norms of the gradient
on the state paths (||dL/dc|| and ||dL/dh|| at step t and at the step before) are written on
them, read from the trace's per-step state gradients.

Every position is fixed here (Graphviz's ``neato -n2`` only draws the edges between them), so
it is the same figure for every model, impl and step. Labels go through ``tinyseq.escape``.
"""
import os

import numpy

from ..escape import dot_html, dot_string
from . import dot as dot_writer

_KINDS = {"LSTM": "LSTM", "LSTMCell": "LSTM", "GRU": "GRU", "GRUCell": "GRU"}
# the scopes whose last op makes the state, in the primitive step functions (nn/recurrent.py);
# an LSTM with a projection makes h in the second
_STATE_SCOPES = {"LSTM": {"c": "c_t = f*c + i*g",
                          "h": ("h_t = o*tanh(c_t)", "h_t = W_hr(o*tanh(c_t))")},
                 "GRU": {"h": "h_t = (1-z)*n + z*h"}}

_GATE = 'shape=box, style="rounded,filled", fillcolor="#fde68a", color="#b45309", ' \
        'width=0.62, height=0.6, fixedsize=true, fontsize=16'
_POINTWISE = 'shape=circle, style=filled, fillcolor="#fbcfe8", color="#be185d", width=0.36, ' \
             'fixedsize=true, fontsize=16'
_TERMINAL = 'shape=plaintext, fontsize=16, width=0.5, height=0.3'
_NORM = 'shape=plaintext, fontsize=12, fontcolor="#b91c1c", width=1.4, height=0.25'
_CAPTION = 'shape=plaintext, fontsize=11, fontcolor="#555555", width=0.9, height=0.2'
_POINT = 'shape=point, width=0.05, color="#333333"'
_STATE_LINE = 'penwidth=3, color="#1f2937"'
_BUS = "<[h<sub>t-1</sub>, x<sub>t</sub>] >"


def _state(name, step):
    """c<sub>t-1</sub>: a state's name with its step as a subscript (an HTML label)."""
    return f"<{dot_html(name)}<sub>{dot_html(step)}</sub>>"


def _gate(symbol, name):
    return f"<{dot_html(symbol)}<br/><font point-size=\"12\">{dot_html(name)}</font>>"


def _lstm_figure():
    """(nodes {name: (x, y, attributes)}, edges [(tail, head, attributes)]) of the LSTM cell,
    y upwards, in points."""
    top, product, gates, bus, bottom = 330, 260, 180, 100, 20
    nodes = {
        "c_prev": (30, top, f'{_TERMINAL}, label={_state("c", "t-1")}'),
        "forget": (170, top, f'{_POINTWISE}, label="×"'),
        "plus": (330, top, f'{_POINTWISE}, label="+"'),
        "c_branch": (480, top, _POINT),
        "c_next": (640, top, f'{_TERMINAL}, label={_state("c", "t")}'),
        "tanh_c": (480, 255, f'{_POINTWISE}, shape=ellipse, width=0.62, label="tanh"'),
        "output": (480, gates, f'{_POINTWISE}, label="×"'),
        "h_turn": (480, bus, _POINT),
        "h_next": (640, bus, f'{_TERMINAL}, label={_state("h", "t")}'),
        "input": (330, product, f'{_POINTWISE}, label="×"'),
        "gate_f": (170, gates, f'{_GATE}, label={_gate("σ", "f")}'),
        "gate_i": (260, gates, f'{_GATE}, label={_gate("σ", "i")}'),
        "gate_g": (330, gates, f'{_GATE}, label={_gate("tanh", "g")}'),
        "gate_o": (410, gates, f'{_GATE}, label={_gate("σ", "o")}'),
        "h_prev": (30, bus, f'{_TERMINAL}, label={_state("h", "t-1")}'),
        "x": (100, bottom, f'{_TERMINAL}, label={_state("x", "t")}'),
        "bus_0": (100, bus, _POINT),
        "caption_c": (250, top + 16, f'{_CAPTION}, label="cell state"'),
        "caption_bus": (255, bus - 14, f'{_CAPTION}, width=1.2, label={_BUS}'),
    }
    edges = [("c_prev", "forget", _STATE_LINE), ("forget", "plus", _STATE_LINE),
             ("plus", "c_branch", f"{_STATE_LINE}, arrowhead=none"),
             ("c_branch", "c_next", _STATE_LINE), ("c_branch", "tanh_c", ""),
             ("tanh_c", "output", ""), ("output", "h_turn", "arrowhead=none"),
             ("h_turn", "h_next", _STATE_LINE), ("h_prev", "bus_0", f"{_STATE_LINE}, arrowhead=none"),
             ("x", "bus_0", "arrowhead=none"),
             ("gate_f", "forget", ""), ("gate_i", "input", ""), ("gate_g", "input", ""),
             ("input", "plus", ""), ("gate_o", "output", "")]
    previous = "bus_0"
    for gate in "figo":
        x = nodes[f"gate_{gate}"][0]
        nodes[f"bus_{gate}"] = (x, bus, _POINT)
        edges += [(previous, f"bus_{gate}", "arrowhead=none"), (f"bus_{gate}", f"gate_{gate}", "")]
        previous = f"bus_{gate}"
    norms = {("c", "t-1"): (95, top + 18), ("c", "t"): (565, top + 18),
             ("h", "t-1"): (60, bus + 18), ("h", "t"): (565, bus + 18)}
    return nodes, edges, norms


def _gru_figure():
    """The GRU cell, as ``_lstm_figure``: h_t = (1 - z) * n + z * h_{t-1} along the top."""
    top, gates, bus, bottom = 330, 180, 100, 20
    nodes = {
        "h_prev": (30, top, f'{_TERMINAL}, label={_state("h", "t-1")}'),
        "h_split": (90, top, _POINT),
        "update": (270, top, f'{_POINTWISE}, label="×"'),
        "plus": (440, top, f'{_POINTWISE}, label="+"'),
        "h_next": (640, top, f'{_TERMINAL}, label={_state("h", "t")}'),
        "z_branch": (270, 280, _POINT),
        "one_minus": (350, 280, f'{_POINTWISE}, shape=ellipse, width=0.55, label="1−"'),
        "new": (440, 280, f'{_POINTWISE}, label="×"'),
        "r_turn": (170, 240, _POINT),
        "reset": (350, 240, f'{_POINTWISE}, label="×"'),
        "gate_r": (170, gates, f'{_GATE}, label={_gate("σ", "r")}'),
        "gate_z": (270, gates, f'{_GATE}, label={_gate("σ", "z")}'),
        "gate_n": (440, gates, f'{_GATE}, label={_gate("tanh", "n")}'),
        "bus_0": (90, bus, _POINT),
        "bus_x": (130, bus, _POINT),
        "x": (130, bottom, f'{_TERMINAL}, label={_state("x", "t")}'),
        "bus_r": (170, bus, _POINT),
        "bus_z": (270, bus, _POINT),
        "bus_h": (350, bus, _POINT),
        "bus_n": (440, bus, _POINT),
        "caption_h": (355, top + 16, f'{_CAPTION}, label="hidden state"'),
        "caption_bus": (220, bus - 14, f'{_CAPTION}, width=1.2, label={_BUS}'),
    }
    edges = [("h_prev", "h_split", f"{_STATE_LINE}, arrowhead=none"),
             ("h_split", "update", _STATE_LINE), ("update", "plus", _STATE_LINE),
             ("plus", "h_next", _STATE_LINE), ("h_split", "bus_0", "arrowhead=none"),
             ("x", "bus_x", "arrowhead=none"),
             ("bus_0", "bus_x", "arrowhead=none"), ("bus_x", "bus_r", "arrowhead=none"),
             ("bus_r", "bus_z", "arrowhead=none"), ("bus_z", "bus_h", "arrowhead=none"),
             ("bus_h", "bus_n", "arrowhead=none"),
             ("bus_r", "gate_r", ""), ("bus_z", "gate_z", ""), ("bus_n", "gate_n", ""),
             ("gate_r", "r_turn", "arrowhead=none"), ("r_turn", "reset", ""),
             ("bus_h", "reset", ""), ("reset", "gate_n", ""),
             ("gate_z", "z_branch", "arrowhead=none"), ("z_branch", "update", ""),
             ("z_branch", "one_minus", ""), ("one_minus", "new", ""), ("gate_n", "new", ""),
             ("new", "plus", "")]
    norms = {("h", "t-1"): (110, top + 18), ("h", "t"): (565, top + 18)}
    return nodes, edges, norms


def cell_dot(kind, title, norms=None):
    """DOT source of the ``kind`` ("LSTM" or "GRU") cell figure with pinned positions (for
    ``neato -n2``), titled ``title``; ``norms`` {(state, "t" or "t-1"): float} go on the
    state paths."""
    nodes, edges, places = {"LSTM": _lstm_figure, "GRU": _gru_figure}[kind]()
    for (state, step), value in (norms or {}).items():
        x, y = places[(state, step)]
        text = f"‖∂L/∂{state}<sub>{dot_html(step)}</sub>‖ = {dot_html(f'{value:.3g}')}"
        nodes[f"norm_{state}_{'prev' if step == 't-1' else 'next'}"] = (x, y, f"{_NORM}, label=<{text}>")
    lines = ["digraph cell {",
             f"  graph [splines=line, outputorder=edgesfirst, pad=0.2, fontname=\"Helvetica\", "
             f"fontsize=14, labelloc=t, label={dot_string(title)}];",
             '  node [fontname="Helvetica"];',
             '  edge [arrowsize=0.7, color="#374151", penwidth=1.3];']
    for name, (x, y, attributes) in nodes.items():
        lines.append(f'  {name} [pos="{x},{y}!", {attributes}];')
    for tail, head, attributes in edges:
        lines.append(f"  {tail} -> {head} [{attributes}];" if attributes else f"  {tail} -> {head};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def cell_diagram(trace, path, module, time_step, layer=0, reverse=False):
    """Write step ``time_step`` of the LSTM or GRU ``module`` (its dotted path in the trace,
    as in ``Trace.activations``; ``layer`` and ``reverse`` pick a layer direction of a stack)
    as the textbook cell figure to ``path`` (.svg, .png, .pdf or .dot; without Graphviz the
    DOT text, as ``render`` does). After a backward pass the state gradients' norms are
    written on the state paths. Returns the path written."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in dot_writer.SUFFIXES:
        raise ValueError(f"cell_diagram: unknown output suffix {suffix!r} in {path!r}; use one "
                         f"of {', '.join(dot_writer.SUFFIXES)}")
    kind = _cell_kind(trace, module)
    time_step = _check_time_step(trace, module, time_step)
    norms = _state_norms(trace, module, kind, time_step, layer, reverse)
    where = f" layer {layer}" + (" reverse" if reverse else "") if layer or reverse else ""
    title = f"{kind} cell{' ' + module if module else ''}{where} at t = {time_step}"
    return dot_writer.write(cell_dot(kind, title, norms), path)


def _cell_kind(trace, module):
    if not isinstance(module, str):
        raise TypeError(f"cell_diagram: module must be the module's dotted path (a str, as in "
                        f"tr.activations), got {type(module).__name__}")
    recurrent = sorted(name for name, kind in trace.module_kinds.items() if kind in _KINDS)
    if module not in trace.module_kinds:
        raise ValueError(f"cell_diagram: no module {module!r} in this trace; its LSTM and GRU "
                         f"modules: {recurrent}")
    kind = trace.module_kinds[module]
    if kind not in _KINDS:
        raise ValueError(f"cell_diagram: module {module!r} is a {kind}; the cell figure is "
                         f"drawn for LSTM and GRU modules: {recurrent}")
    return _KINDS[kind]


def _check_time_step(trace, module, time_step):
    if isinstance(time_step, bool) or not isinstance(time_step, (int, numpy.integer)):
        raise TypeError(f"cell_diagram: time_step must be an integer, got {time_step!r}")
    steps = sorted({r.time_step for r in trace.ops
                    if r.module_path == module and r.time_step is not None})
    if int(time_step) not in steps:
        shown = f"{steps[0]}..{steps[-1]}" if steps else "none"
        raise ValueError(f"cell_diagram: module {module!r} ran no time step {time_step}; its "
                         f"steps: {shown}")
    return int(time_step)


def _state_norms(trace, module, kind, time_step, layer, reverse):
    """{(state, "t" or "t-1"): ||dL/dstate||} for step ``time_step`` and the step before it
    (t+1 for a reverse direction), where a backward pass measured them."""
    previous = time_step + 1 if reverse else time_step - 1
    fused = any(r.module_path == module and r.kind.endswith("_step") for r in trace.ops)
    norms = {}
    for state in ("c", "h") if kind == "LSTM" else ("h",):
        if fused:
            try:
                per_step = trace.state_grad_norms(module, state, layer=layer, reverse=reverse)
            except ValueError:                   # no backward has reached this layer
                per_step = {}
        else:
            per_step = _primitive_state_norms(trace, module, kind, state, layer, reverse)
        for step, name in ((time_step, "t"), (previous, "t-1")):
            if per_step.get(step) is not None:
                norms[(state, name)] = per_step[step]
    return norms


def _primitive_state_norms(trace, module, kind, state, layer, reverse):
    """{t: ||dL/dstate_t||} of a layer built from primitive ops: the gradient norm of the
    last op in the state's scope; a stack's layer directions run one after another (l0,
    l0_reverse, l1, ...), so the k-th run of the scope at step t is direction k."""
    prefix = f"{module}." if module else ""
    directions = 2 if any(leaf.name == f"{prefix}weight_hh_l0_reverse"
                          for leaf in trace.parameters()) else 1
    if reverse and directions == 1:
        raise ValueError(f"cell_diagram: module {module!r} is not bidirectional")
    wanted = layer * directions + int(reverse)
    scope = _STATE_SCOPES[kind][state]
    runs = {}                                    # t -> [last record of each run of the scope]
    last_index = None
    for record in trace.ops:
        if record.module_path != module or not record.scope.endswith(scope):
            continue
        per_step = runs.setdefault(record.time_step, [])
        if per_step and last_index == record.index - 1:
            per_step[-1] = record
        else:
            per_step.append(record)
        last_index = record.index
    if runs and wanted >= max(len(found) for found in runs.values()):
        raise ValueError(f"cell_diagram: module {module!r} has no layer {layer}"
                         f"{' reverse' if reverse else ''}")
    return {t: found[wanted].grad_norm for t, found in runs.items() if wanted < len(found)}

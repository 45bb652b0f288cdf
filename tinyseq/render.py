"""Drawing a trace: Graphviz DOT text of the unrolled graph, rendering it, and plotting
gradient flow over time.

The drawing follows the board: one box per time step (``t = 3``), the ops of that step inside
(grouped by module), the shared parameters drawn once outside all boxes with one edge into each
step that uses them, data and the loss outside. With ``grads=True`` the edges carry backward
quantities: into each step, that step's contribution to each shared weight; between steps, the
norm of the gradient flowing back through the recurrent state. Both are coloured on a heat
scale (blue small, red large, logarithmic), so a vanishing gradient is visible at a glance.
"""
import math
import os
import shutil
import warnings

from .serialization import write_atomically

_SUFFIXES = (".svg", ".png", ".pdf", ".dot")
_LARGE = 60
_LARGE_LAYOUT = " nslimit=2; nslimit1=2; mclimit=0.2;"  # fewer layout passes: seconds, not minutes


def _heat(value, low, high):
    """A Graphviz HSV colour and pen width for ``value`` on a log scale from low to high."""
    if value <= 0 or high <= 0:
        level = 0.0
    elif high <= low:
        level = 1.0
    else:
        level = (math.log10(max(value, low)) - math.log10(low)) / (math.log10(high) - math.log10(low))
    return f"{0.66 * (1 - level):.3f} 0.850 0.850", f"{1 + 2.5 * level:.2f}"


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape_text(shape):
    return "(" + ", ".join(str(n) for n in shape) + ")"


class _Layout:
    """Which drawn node each recorded op belongs to, given collapsing and elision.

    ``collapse`` draws each module's ops of one step as one node; ``untimed`` also groups the
    ops outside any step by module (the last resort for graphs without time steps).
    """

    def __init__(self, trace, collapse, first_last, untimed=False):
        steps = trace.time_steps
        self.elided = []
        self.shown = set(steps)
        if first_last is not None and len(steps) > 2 * first_last:
            self.shown = set(steps[:first_last] + steps[-first_last:])
            self.elided = steps[first_last:-first_last]
        self.collapse = collapse
        self.module_kinds = trace.module_kinds
        self.node_of_op = {}
        module_number = {}
        for record in trace.ops:
            t = record.time_step
            if t is not None and t not in self.shown:
                self.node_of_op[record.index] = "elided"
            elif (collapse and t is not None) or (untimed and t is None):
                number = module_number.setdefault(record.module_path, len(module_number))
                self.node_of_op[record.index] = f"step{'x' if t is None else t}_m{number}"
            else:
                self.node_of_op[record.index] = f"op{record.index}"

    def size(self, trace):
        """What Graphviz has to lay out: nodes (ops, leaves, the elision) plus step boxes."""
        return len(set(self.node_of_op.values())) + len(trace.leaves) + len(self.shown)

    def nodes_per_step(self):
        nodes = {node for index, node in self.node_of_op.items() if node.startswith("step")
                 and not node.startswith("stepx")}
        return -(-len(nodes) // max(len(self.shown), 1))


def to_dot(trace, collapse=False, first_last=None, shapes=False, grads=False, max_nodes=400):
    """DOT source of ``trace``'s unrolled graph.

    collapse:    draw each module's ops of one step as a single node
    first_last:  k >= 1; draw only the first k and last k steps, with the middle elided
    shapes:      print each op's output shape
    grads:       label and colour edges with backward quantities (after backward)
    max_nodes:   past this many nodes and step boxes, warn and collapse (then elide, then group
                 the ops outside the steps) instead of handing Graphviz a graph it would take
                 minutes to lay out
    """
    if not trace.ops:
        raise ValueError("to_dot: the trace recorded no ops (run the model inside `with ts.trace() as tr:`)")
    if first_last is not None and (not isinstance(first_last, int) or first_last < 1):
        raise ValueError(f"to_dot: first_last must be a positive int, got {first_last!r}")
    layout = _Layout(trace, collapse, first_last)
    if layout.size(trace) > max_nodes and not collapse and trace.steps:
        warnings.warn(f"to_dot: {layout.size(trace)} nodes and step boxes exceed max_nodes="
                      f"{max_nodes}; collapsing each step's modules into one node", stacklevel=3)
        layout = _Layout(trace, True, first_last)
    if layout.size(trace) > max_nodes and len(layout.shown) > 2:
        fixed = layout.size(trace) - len(layout.shown) * (layout.nodes_per_step() + 1)
        k = max(1, (max_nodes - fixed - 1) // (layout.nodes_per_step() + 1) // 2)
        if first_last is None or k < first_last:
            warnings.warn(f"to_dot: more than max_nodes={max_nodes} nodes and step boxes; "
                          f"showing only the first and last {k} steps", stacklevel=3)
            layout = _Layout(trace, True, k)
    if layout.size(trace) > max_nodes:
        warnings.warn(f"to_dot: more than max_nodes={max_nodes} nodes; grouping the ops outside "
                      f"any time step by module (tag loops with ts.timestep(t) to see steps)",
                      stacklevel=3)
        layout = _Layout(trace, True, first_last if not layout.elided else len(layout.shown) // 2,
                         untimed=True)
    lines = ["digraph bptt {",
             '  rankdir=LR; compound=true; nodesep=0.25; ranksep=0.35;' +
             (_LARGE_LAYOUT if layout.size(trace) > _LARGE else ""),
             '  node [fontname="Helvetica", fontsize=10, style=filled, fillcolor=white];',
             '  edge [fontname="Helvetica", fontsize=8, color="#555555"];']
    lines += _leaf_nodes(trace, grads)
    lines += _op_nodes(trace, layout, shapes)
    if layout.elided:
        lines.append(f'  elided [label="⋯ {len(layout.elided)} steps ⋯\\n(t = {layout.elided[0]}'
                     f'..{layout.elided[-1]})", shape=plaintext, fillcolor=none];')
    lines += _edges(trace, layout, grads)
    lines += _step_order(trace, layout)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _leaf_nodes(trace, grads):
    lines = []
    params = [leaf for leaf in trace.leaves.values() if leaf.is_param]
    if params:
        lines.append('  subgraph cluster_parameters {')
        lines.append('    label="shared parameters"; style="rounded,dashed"; color="#b8860b"; fontname="Helvetica";')
        for leaf in params:
            label = f"{leaf.name}\n{_shape_text(leaf.shape)}"
            if grads and id(leaf.tensor) in trace._contributions:
                total = sum(g for _, g in trace.contributions(leaf.tensor))
                label += f"\n|grad| = {float((total ** 2).sum()) ** 0.5:.3g}"
            lines.append(f'    p{_leaf_id(trace, leaf)} [label={_quote(label)}, shape=box, '
                         f'style="rounded,filled", fillcolor="#fff3c4"];')
        lines.append("  }")
    for leaf in trace.leaves.values():
        if not leaf.is_param:
            lines.append(f'  d{_leaf_id(trace, leaf)} [label={_quote(leaf.name + chr(10) + _shape_text(leaf.shape))}, '
                         f'shape=ellipse, fillcolor="#dcecf9"];')
    return lines


def _leaf_id(trace, leaf):
    """A stable id: the leaf's position in order of first use (not its memory address)."""
    return trace.leaf_order[leaf.key]


def _op_nodes(trace, layout, shapes):
    lines = []
    by_step = {}
    for record in trace.ops:
        node = layout.node_of_op[record.index]
        if node == "elided":
            continue
        group = record.module_path if layout.collapse else \
            " / ".join(part for part in (record.module_path, record.scope) if part)
        by_step.setdefault(record.time_step, {}).setdefault(group, {}).setdefault(node, []).append(record)
    for t in sorted(by_step, key=lambda s: -1 if s is None else s):
        modules = by_step[t]
        indent = "  " if t is None else "    "
        if t is not None:
            lines.append(f'  subgraph cluster_t{t} {{')
            lines.append(f'    label="t = {t}"; style="rounded,filled"; fillcolor="#f4f4f4"; '
                         f'color="#999999"; fontname="Helvetica-Bold"; fontsize=12;')
        for m, (group, nodes) in enumerate(modules.items()):
            nested = group and not layout.collapse
            if nested:
                cluster = f"cluster_t{'x' if t is None else t}_m{m}"
                lines.append(f'{indent}subgraph {cluster} {{ label={_quote(group)}; style=dashed; color="#bbbbbb";')
            for node, records in nodes.items():
                lines.append(f"{indent}  {node} [label={_quote(_op_label(records, layout, shapes))}, "
                             f"{_op_style(records, layout)}];")
            if nested:
                lines.append(f"{indent}}}")
        if t is not None:
            lines.append("  }")
    return lines


def _op_label(records, layout, shapes):
    """An op's kind; for a collapsed step, the module (and its class) and how many ops."""
    if layout.node_of_op[records[0].index].startswith("step"):
        path = records[0].module_path
        kind = layout.module_kinds.get(path, "")
        name = f"{path} ({kind})" if path and kind else path or kind or "step"
        return f"{name}\n{len(records)} ops" + (f"\n{_shape_text(records[-1].shape)}" if shapes else "")
    record = records[0]
    return record.kind + (f"\n{_shape_text(record.shape)}" if shapes else "")


def _op_style(records, layout):
    kind = records[0].kind
    if "loss" in kind or "entropy" in kind:
        return 'shape=box, style="filled,bold", fillcolor="#f9d5d3"'
    if layout.node_of_op[records[0].index].startswith("step"):
        return 'shape=box, style="rounded,filled", fillcolor="#d9f2d9"'
    return "shape=box, style=rounded, height=0.3"


def _edges(trace, layout, grads):
    contribution_norm = {}
    if grads:
        for leaf in trace.leaves.values():
            if leaf.is_param and id(leaf.tensor) in trace._contributions:
                for t, norm in trace.contribution_norms(leaf.tensor):
                    contribution_norm[(leaf.key, t)] = norm
    state_norms = [r.grad_norm for r in trace.ops if r.grad_norm]
    state_range = (min(state_norms), max(state_norms)) if state_norms else (1.0, 1.0)
    param_range = {}
    for (key, _), norm in contribution_norm.items():
        low, high = param_range.get(key, (math.inf, 0.0))
        if norm > 0:
            param_range[key] = (min(low, norm), max(high, norm))
    lines = []
    seen = set()
    elided_param_uses = {}
    for record in trace.ops:
        target = layout.node_of_op[record.index]
        for kind, source in record.inputs:
            if kind == "const":
                continue
            if kind == "op":
                origin = layout.node_of_op[source]
                if origin == target or (origin, target) in seen:
                    continue
                seen.add((origin, target))
                attributes = ""
                producer = trace.ops[source]
                crosses = producer.time_step is not None and record.time_step is not None and \
                    producer.time_step != record.time_step
                if crosses:
                    attributes = "penwidth=1.6, weight=10"
                    if grads and producer.grad_norm is not None:
                        color, width = _heat(producer.grad_norm, *state_range)
                        attributes = f'xlabel="{producer.grad_norm:.2g}", color="{color}", ' \
                                     f'fontcolor="{color}", penwidth={width}, weight=10'
                lines.append(f"  {origin} -> {target}" + (f" [{attributes}];" if attributes else ";"))
                continue
            leaf = trace.leaves[source]
            origin = f"{'p' if kind == 'param' else 'd'}{_leaf_id(trace, leaf)}"
            if target == "elided":
                elided_param_uses.setdefault(origin, set()).add(record.time_step)
                continue
            if (origin, target) in seen:
                continue
            seen.add((origin, target))
            attributes = 'style=dashed, color="#b8860b"' if kind == "param" \
                else 'color="#7aa6cf"'
            norm = contribution_norm.get((source, record.time_step))
            if kind == "param" and norm is not None:
                color, width = _heat(norm, *param_range.get(source, (norm, norm)))
                attributes = f'style=dashed, xlabel="{norm:.2g}", color="{color}", ' \
                             f'fontcolor="{color}", penwidth={width}'
            lines.append(f"  {origin} -> {target}" + (f" [{attributes}];" if attributes else ";"))
    for origin, steps in elided_param_uses.items():
        lines.append(f'  {origin} -> elided [style=dotted, label="×{len(steps)}"];')
    return lines


def _step_order(trace, layout):
    """Invisible edges from the last op of each drawn step to the first op of the next, so
    Graphviz lays the steps out left to right as a timeline."""
    first, last = {}, {}
    for record in trace.ops:
        node = layout.node_of_op[record.index]
        if record.time_step is None or node == "elided":
            continue
        first.setdefault(record.time_step, node)
        last[record.time_step] = node
    steps = sorted(first)
    return [f"  {last[a]} -> {first[b]} [style=invis, weight=5];"
            for a, b in zip(steps, steps[1:]) if last[a] != first[b]]


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


def plot_gradient_flow(flows, path, title="Gradient flow through time", weight_name="W_hh"):
    """Plot, per model, ||dL/dh_t|| and ||dL/dW from step t|| against t (log scale) to
    ``path`` (any matplotlib format). ``flows`` maps a label to ``gradient_flow``'s result;
    steps where a value is 0 (the weight is not used there) are left out. Needs matplotlib
    (``pip install tinyseq[viz]``)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_gradient_flow needs matplotlib: pip install 'tinyseq[viz]'") from None
    figure = Figure(figsize=(11, 4), constrained_layout=True)
    axes = figure.subplots(1, 2)
    for label, flow in flows.items():
        for axis, key in zip(axes, ("state_grad_norms", "weight_contribution_norms")):
            values = [v if v > 0 else float("nan") for v in flow[key]]
            axis.semilogy(flow["steps"], values, marker=".", label=label)
    axes[0].set_title("‖dL/dh_t‖: gradient reaching step t's state")
    axes[1].set_title(f"‖dL/d{weight_name}‖ from step t: that step's share")
    for axis in axes:
        axis.set_xlabel("time step t")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.savefig(path)
    return path


def plot_attention(weights, source_tokens, output_tokens, path, title="Attention"):
    """Heat map of attention weights (one row per output token, one column per source token)
    to ``path`` (any matplotlib format). Needs matplotlib (``pip install tinyseq[viz]``)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_attention needs matplotlib: pip install 'tinyseq[viz]'") from None
    figure = Figure(figsize=(0.35 * len(source_tokens) + 2, 0.35 * len(output_tokens) + 1.5),
                    constrained_layout=True)
    axis = figure.subplots()
    image = axis.imshow(weights[:len(output_tokens), :len(source_tokens)], cmap="viridis",
                        vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(len(source_tokens)), [repr(s)[1:-1] for s in source_tokens])
    axis.set_yticks(range(len(output_tokens)), list(output_tokens))
    axis.set_xlabel("source")
    axis.set_ylabel("output")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.05)
    figure.savefig(path)
    return path

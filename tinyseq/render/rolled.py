"""The folded network of the lecture (``rolled=True``): one cell per row with its loop edge,
laid out by Graphviz's ``dot`` (a handful of nodes, nothing to pin)."""
from .. import escape
from .plan import Prepared, short_name


def rolled_dot(trace, grads):
    """The folded network of the lecture: one cell per row, its loop edge labelled with the
    recurrent weight, the input below and the output above."""
    ready = Prepared(trace)
    row_of, rows = ready.row_of, ready.rows
    kinds = trace.module_kinds
    names = {key: leaf.name for key, leaf in trace.leaves.items() if leaf.is_param}
    weights = {row.index: [] for row in rows}
    for record in ready.ops:
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
        lines.append(f'  cell{row.index} [label={escape.dot_string(title + chr(10) + steps)}, shape=box, '
                     f'style="rounded,filled", fillcolor="#d9f2d9", width=1.6, height=0.9];')
        recurrent = [n for n in weights[row.index] if "_hh" in n] or weights[row.index][:1]
        other = [n for n in weights[row.index] if n not in recurrent]
        state = _state_name_rolled(kind)
        loop = f"{state}: " + ", ".join(short_name(n, row.module) for n in recurrent) \
            if recurrent else state
        lines.append(f'  cell{row.index} -> cell{row.index} [label={escape.dot_string(loop)}, penwidth=2.2, '
                     f'color="#1f5fa8", fontcolor="#1f5fa8", dir=forward, headport=e, tailport=e];')
        into = ", ".join(short_name(n, row.module) for n in other if "_ih" in n)
        lines.append(f"  {previous} -> cell{row.index}" + (f" [label={escape.dot_string(into)}];" if into else ";"))
        previous = f"cell{row.index}"
    lines.append(f"  {previous} -> y;")
    lines.append('  legend [shape=plain, fillcolor=none, fontsize=9, label="folded view: the same '
                 'cell at every step;\\nthe loop edge is the recurrent weight, applied once per '
                 'step"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _state_name_rolled(kind):
    return "h_t-1 → h_t, c_t" if kind.startswith("LSTM") else "h_t-1 → h_t"



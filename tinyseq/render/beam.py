"""Drawing a beam search as the tree of hypotheses it ranked (``Seq2Seq.beam_search_tree``).

Output steps run left to right. Each node is a partial output with the sum of its tokens'
log-probabilities: filled blue the ``beam_width`` kept at that step, grey and dashed the ones
ranked but dropped, a double border an <eos> that ended a hypothesis (with its length-normalised
score), and the path to the hypothesis the search returns drawn thick and red.
"""
import os
import shutil

from ..escape import dot_html, dot_string
from ..serialization import write_atomically

_SUFFIXES = (".svg", ".png", ".pdf", ".dot")
_STYLE = {"kept": 'style="filled,rounded" fillcolor="#cfe3f7" color="#2b6cb0"',
          "dropped": 'style="dashed,rounded" color="#a0a0a0" fontcolor="#808080"',
          "ended": 'style="filled,rounded" fillcolor="#e6f4e6" color="#2f855a" peripheries=2'}
_CHOSEN = 'color="#c53030" penwidth=3'


def beam_tree_dot(tree, token_text=str, title=None, join=""):
    """Graphviz DOT text of a beam-search tree. ``token_text(token_id)`` spells a token;
    partial outputs are their tokens' texts joined by ``join``."""
    nodes = tree["nodes"]
    by_id = {node["id"]: node for node in nodes}
    on_path = set()
    node_id = tree["chosen"]
    while node_id is not None:
        on_path.add(node_id)
        node_id = by_id[node_id]["parent"]
    title = title or f"Beam search, width {tree['beam_width']}"
    lines = ["digraph beam {",
             "  rankdir=LR; nodesep=0.12; ranksep=0.35;",
             '  node [shape=box fontname="Helvetica" fontsize=11 margin="0.06,0.03"];',
             '  edge [color="#9a9a9a" arrowsize=0.5];',
             f"  labelloc=t; fontname=\"Helvetica\"; fontsize=14; label={dot_string(_caption(title))};"]
    for node in nodes:
        if node["parent"] is None:
            label = "<<b>&lt;sos&gt;</b>>"
            lines.append(f'  n{node["id"]} [label={label} style="rounded" {_CHOSEN}];')
            continue
        ended = node["status"] == "ended"
        said_eos = node["tokens"][-1] == tree["eos_id"]
        text = join.join(token_text(t) for t in node["tokens"][:-1 if said_eos else None])
        rows = [f"<b>{dot_html(text) if text else '&nbsp;'}</b>"
                + (" &lt;eos&gt;" if said_eos else ""),
                f"log p = {node['log_prob']:.2f}"]
        if ended:
            rows.append(f"score = {node['score']:.3f}")
        if node["id"] == tree["chosen"]:
            rows.append("<b>chosen</b>")
        style = _STYLE[node["status"]] + (f" {_CHOSEN}" if node["id"] in on_path else "")
        lines.append(f'  n{node["id"]} [label=<{"<br/>".join(rows)}> {style}];')
    for node in nodes:
        if node["parent"] is not None:
            chosen = node["id"] in on_path
            lines.append(f'  n{node["parent"]} -> n{node["id"]}'
                         + (' [color="#c53030" penwidth=2.5];' if chosen else ";"))
    steps = sorted({node["step"] for node in nodes})
    for step in steps:                      # one column per output step
        same = " ".join(f"n{n['id']}" for n in nodes if n["step"] == step)
        lines.append(f"  {{rank=same; {same}}}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _caption(title):
    return (f"{title}\nblue: kept in the beam,  dashed grey: ranked but dropped,\n"
            f"double border: ended with <eos> (score = log p / length),  red: the path to the "
            f"chosen output")


def plot_beam_tree(tree, path, token_text=str, title=None, join=""):
    """Draw ``tree`` (from ``Seq2Seq.beam_search_tree``) to ``path`` (.svg .png .pdf or .dot).
    ``token_text(token_id)`` spells a token, e.g. ``lambda i: vocab.decode([i])``. Returns the
    path written; needs Graphviz's ``dot`` and the ``graphviz`` package except for .dot."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"plot_beam_tree: unknown output suffix {suffix!r} in {path!r}; use "
                         f"one of {', '.join(_SUFFIXES)}")
    source = beam_tree_dot(tree, token_text, title, join)
    if suffix == ".dot":
        write_atomically(path, lambda f: f.write(source.encode("utf-8")))
        return path
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is None or shutil.which("dot") is None:
        raise RuntimeError("plot_beam_tree: Graphviz is needed for ."
                           f"{suffix[1:]} output: `apt-get install graphviz` and `pip install "
                           f"graphviz`, or write .dot and run `dot -T{suffix[1:]}`")
    image = graphviz.Source(source).pipe(format=suffix[1:])
    write_atomically(path, lambda f: f.write(image))
    return path

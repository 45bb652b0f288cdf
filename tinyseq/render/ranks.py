"""Plot of a data-parallel gradient as a sum over ranks (matplotlib)."""
import numpy

from ..escape import plot_text
from .plots import save_figure


def plot_rank_contributions(trace, param, path, entries=12, title=None):
    """Bar chart to ``path`` (any matplotlib format) of how each rank's share adds up to the
    averaged gradient of ``param``: for the ``entries`` entries of the largest averaged
    gradient, one bar per rank (its gradient / number of ranks, from
    ``trace.contributions(param, by="rank")`` on rank 0) and a black bar for their sum, which
    is ``param.grad``. Needs matplotlib (``pip install tinyseq[viz]``)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_rank_contributions needs matplotlib: "
                          "pip install 'tinyseq[viz]'") from None
    shares = numpy.stack([share for _, share in trace.contributions(param, by="rank")])
    ranks = len(shares)
    averaged = param.grad.numpy().reshape(-1)
    shares = shares.reshape(ranks, -1)
    shown = numpy.sort(numpy.argsort(-numpy.abs(averaged), kind="stable")[:entries])
    labels = [_entry_label(param.shape, k) for k in shown]
    name = plot_text(trace.leaves[id(param)].name)
    width = 0.8 / (ranks + 1)
    figure = Figure(figsize=(max(9.0, 0.75 * len(shown) + 4.5), 4.2), constrained_layout=True)
    axis = figure.subplots()
    x = numpy.arange(len(shown))
    for rank in range(ranks):
        axis.bar(x + (rank - ranks / 2) * width, shares[rank, shown], width,
                 label=f"rank {rank}'s share (its gradient / {ranks})")
    axis.bar(x + ranks / 2 * width, averaged[shown], width, color="black",
             label=f"sum = averaged {name}.grad")
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_xticks(x, labels, rotation=45, ha="right")
    axis.set_xlabel(f"entry of {name}")
    axis.set_ylabel("dL/dW")
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    gap = numpy.abs(shares.sum(axis=0) - averaged).max()
    axis.set_title(title or f"dL/d{name} = sum over {ranks} ranks of their shares "
                            f"(largest {len(shown)} entries; max |sum - grad| = {gap:.1e})")
    save_figure(figure, path)
    return path


def _entry_label(shape, flat_index):
    index = numpy.unravel_index(flat_index, shape) if shape else ()
    return "[" + ", ".join(str(int(i)) for i in index) + "]"

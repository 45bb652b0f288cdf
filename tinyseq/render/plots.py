"""Plots of what a trace measured (matplotlib): gradient flow over time, where a weight's
gradient comes from (loss step by use step), and attention maps."""
import os

import numpy

from ..escape import plot_text

# a creation date or random ids in a file make the same figure differ byte by byte between runs
NO_DATE = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}


def save_figure(figure, path):
    """Save a matplotlib ``figure`` to ``path`` (any matplotlib format) so that the same figure
    gives the same bytes: no creation date in SVG and PDF files, fixed ids inside an SVG."""
    import matplotlib
    suffix = os.path.splitext(path)[1].lower() if isinstance(path, (str, os.PathLike)) else ""
    with matplotlib.rc_context({"svg.hashsalt": "tinyseq"}):
        figure.savefig(path, metadata=NO_DATE.get(suffix))


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
            line, = axis.semilogy(flow["steps"], values, marker=".", label=plot_text(label))
        if "c_grad_norms" in flow:             # an LSTM: its cell state beside h
            model = plot_text(label.split(" (")[0])
            for key, style in (("h_grad_norms", ":"), ("c_grad_norms", "--")):
                values = [v if v > 0 else float("nan") for v in flow[key]]
                axes[0].semilogy(flow["steps"], values, style, color=line.get_color(),
                                 label=f"{model}: ‖dL/d{key[0]}_t‖ alone")
    axes[0].set_title("‖dL/dstate_t‖: gradient reaching step t's state")
    axes[1].set_title(f"‖dL/d{plot_text(weight_name)}‖ from step t: that step's share")
    for axis in axes:
        axis.set_xlabel("time step t")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    save_figure(figure, path)
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
    axis.set_xticks(range(len(source_tokens)), [plot_text(repr(s)[1:-1]) for s in source_tokens])
    axis.set_yticks(range(len(output_tokens)), [plot_text(s) for s in output_tokens])
    axis.set_xlabel("source")
    axis.set_ylabel("output")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.05)
    save_figure(figure, path)
    return path


def plot_contribution_matrix(tr, weight, losses=None, matrix=None, title=None, axis=None,
                             vmin=None):
    """Heat map (log colour scale) of where ``weight``'s gradient comes from in a model with a
    loss at every step: row t is loss step t, column s the step whose use of the weight sent
    the term, each cell that term's share of ||dL_t/dW||'s row total
    (``tr.contributions(weight, by="loss_step", losses=losses)``, or ``matrix`` if given).
    Steps s > t send nothing and stay blank. Draws into ``axis`` (a matplotlib Axes) if given,
    else into a new Figure; ``vmin`` is the smallest share coloured (default: the smallest
    one there). Returns the Figure."""
    try:
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_contribution_matrix needs matplotlib: "
                          "pip install 'tinyseq[viz]'") from None
    if matrix is None:
        matrix = tr.contributions(weight, by="loss_step", losses=losses)
    totals = matrix.sum(axis=1, keepdims=True)
    share = numpy.divide(matrix, totals, out=numpy.zeros_like(matrix), where=totals > 0)
    shown = numpy.ma.masked_less_equal(share, 0.0)
    if axis is None:
        axis = Figure(figsize=(6, 5), constrained_layout=True).subplots()
    figure = axis.figure
    low = vmin or max(float(shown.min()) if shown.count() else 1e-6, 1e-8)
    image = axis.imshow(shown, cmap="magma", norm=LogNorm(vmin=low, vmax=1.0),
                        origin="upper", interpolation="nearest")
    axis.set_xlabel("use step s (where the weight was used)")
    axis.set_ylabel("loss step t (which L_t)")
    name = plot_text(tr.leaves[id(weight)].name)
    axis.set_title(title or f"share of ‖dL_t/d{name}‖ from step s")
    figure.colorbar(image, ax=axis, fraction=0.05, label="share of the row (log scale)")
    return figure

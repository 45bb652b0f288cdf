"""Plots of what a trace measured (matplotlib): gradient flow over time and attention maps."""


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

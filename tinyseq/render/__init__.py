"""Drawing a trace: the unrolled graph (``graph``) and plots of what it measured (``plots``)."""
from .beam import plot_beam_tree
from .graph import render, to_dot
from .plots import plot_attention, plot_gradient_flow
from ..explorer import plot_activations, text_heatmap

__all__ = ["render", "to_dot", "plot_attention", "plot_gradient_flow", "plot_activations",
           "text_heatmap", "plot_beam_tree"]

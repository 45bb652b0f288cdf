"""Drawing a trace.

    drawing  the drawing model: plain dataclasses between a trace and every picture
    plan     Trace -> Drawing: what is drawn
    layout   Drawing -> coordinates: column = time step, row = layer / direction / encoder /
             decoder / losses, the parameter band below, the legend beside it
    dot      laid-out Drawing -> DOT text with pinned positions -> Graphviz (SVG, PNG, PDF)
    graph    ``to_dot`` and ``render``: the three above, with the elision that fits the page
    rolled   the folded network (``rolled=True``)
    cell     one LSTM or GRU step as the textbook cell figure
    beam     a beam search drawn as the tree of its hypotheses
    plots    matplotlib plots of what a trace measured
    ranks    each rank's share of a gradient averaged over data-parallel ranks
"""
from .beam import plot_beam_tree
from .cell import cell_diagram
from .graph import render, to_dot
from .plots import plot_attention, plot_contribution_matrix, plot_gradient_flow
from .ranks import plot_rank_contributions
from ..explorer import plot_activations, text_heatmap

__all__ = ["render", "to_dot", "cell_diagram", "plot_beam_tree", "plot_attention",
           "plot_gradient_flow", "plot_contribution_matrix", "plot_rank_contributions",
           "plot_activations", "text_heatmap"]

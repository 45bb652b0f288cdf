"""Write the textbook LSTM and GRU cell figures, viz/lstm_cell.svg and viz/gru_cell.svg: step 2
of a small traced layer after one backward pass, with the state gradients' norms.
`make gallery` (viz/generate.py) writes them too.

    python viz/cell_diagrams.py
"""
import os

import numpy

import tinyseq as ts
from tinyseq import functional as F
from tinyseq import nn, render

HERE = os.path.dirname(os.path.abspath(__file__))


def traced_layer(layer):
    """One forward and backward pass of a 4-step ``layer`` (2 inputs, 3 hidden units)."""
    model = layer(2, 3)
    x, y = ts.randn(4, 2, 2), ts.randn(4, 2, 3)
    with ts.trace() as tr:
        output, _ = model(x)
        loss = F.mse_loss(output, y)
    loss.backward()
    return tr


# (file, make a trace, options of render.cell_diagram)
CELL_DIAGRAMS = [("lstm_cell.svg", lambda: traced_layer(nn.LSTM), {"module": "", "time_step": 2}),
                 ("gru_cell.svg", lambda: traced_layer(nn.GRU), {"module": "", "time_step": 2})]


def main():
    ts.set_default_dtype(numpy.float64)                  # as viz/generate.py draws them
    for name, make, options in CELL_DIAGRAMS:
        ts.manual_seed(0)
        print("wrote", render.cell_diagram(make(), os.path.join(HERE, name), **options))


if __name__ == "__main__":
    main()

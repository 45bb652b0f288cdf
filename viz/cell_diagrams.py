"""Write the textbook LSTM and GRU cell figures, viz/lstm_cell.svg and viz/gru_cell.svg: step 2
of a small traced layer after one backward pass, with the state gradients' norms.

    python viz/cell_diagrams.py
"""
import os

import tinyseq as ts
from tinyseq import functional as F
from tinyseq import nn, render

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    for name, layer in (("lstm", nn.LSTM), ("gru", nn.GRU)):
        ts.manual_seed(0)
        model = layer(2, 3)
        x, y = ts.randn(4, 2, 2), ts.randn(4, 2, 3)
        with ts.trace() as tr:
            output, _ = model(x)
            loss = F.mse_loss(output, y)
        loss.backward()
        path = render.cell_diagram(tr, os.path.join(HERE, f"{name}_cell.svg"), module="",
                                   time_step=2)
        print("wrote", path)


if __name__ == "__main__":
    main()

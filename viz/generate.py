"""Regenerate the gallery in viz/: `make gallery` (or `python viz/generate.py`).

Unrolled BPTT graphs of small RNN, LSTM, GRU and Seq2Seq models (one training step each, edges
labelled with the gradient that flows through them), and the gradient-flow plot of RNN vs LSTM
vs GRU on the adding problem (examples/gradient_flow.py).
"""
import os
import sys

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

import gradient_flow  # noqa: E402  (examples/gradient_flow.py)

import tinyseq as ts  # noqa: E402
from tinyseq.cli import traced_example  # noqa: E402

GRAPHS = [
    # file,                 cell,      steps, hidden, drawing options
    ("rnn_bptt.svg",        "rnn",     4, 3, {}),
    ("lstm_bptt.svg",       "lstm",    3, 3, {}),
    ("gru_bptt.svg",        "gru",     3, 3, {}),
    ("lstm_12_steps.svg",   "lstm",    12, 3, {"collapse": True}),
    ("seq2seq_bptt.svg",    "seq2seq", 4, 4, {"collapse": True}),
]


def main():
    ts.set_default_dtype(numpy.float64)
    for name, cell, steps, hidden, options in GRAPHS:
        tr = traced_example(cell, steps, hidden, batch=1 if cell == "seq2seq" else 2)
        print("wrote", tr.render(os.path.join(HERE, name), grads=True, **options))
    ts.set_default_dtype(numpy.float32)
    gradient_flow.main(output=os.path.join(HERE, "gradient_flow.svg"))


if __name__ == "__main__":
    main()

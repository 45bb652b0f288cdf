"""Regenerate the gallery in viz/: `make gallery` (or `python viz/generate.py`).

One BPTT picture per topology of the lecture, each after one training step in float64 with
the gradients drawn (`grads=True`): many-to-one, many-to-many, one-to-many, encoder-decoder,
the demo's Seq2Seq (bidirectional encoder, general attention; examples/demo.py's model, not
trained), bidirectional, stacked (2 and 4 layers), truncated BPTT, a 100-step LSTM (elided to
fit), the folded view (`rolled=True`), three steps op by op (`collapse=False`), and the
gradient-flow plot of RNN vs LSTM vs GRU on the adding problem (examples/gradient_flow.py),
and the contribution matrix by loss step (viz/contribution_matrix.py).
"""
import os
import sys

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

import contribution_matrix  # noqa: E402  (viz/contribution_matrix.py)
import gradient_flow  # noqa: E402  (examples/gradient_flow.py)
from seq2seq_dates import dates_dataset  # noqa: E402  (examples/seq2seq_dates.py)

import tinyseq as ts  # noqa: E402
import tinyseq.functional as F  # noqa: E402
from tinyseq import nn, render  # noqa: E402
from tinyseq.cli import traced_example  # noqa: E402


class Generator(nn.Module):
    """One-to-many: a GRU cell that feeds each output back as the next input."""

    def __init__(self, size, hidden):
        super().__init__()
        self.cell = nn.GRUCell(size, hidden)
        self.out = nn.Linear(hidden, size)

    def forward(self, x, steps):
        h = ts.zeros(x.shape[0], self.cell.hidden_size)
        outputs = []
        for t in range(steps):
            with ts.timestep(t):
                h = self.cell(x, h)
                x = self.out(h)
            outputs.append(x)
        return ts.stack(outputs)


def many_to_one(steps=6):
    """A sequence in, one loss at the end (classification of a sequence)."""
    rnn = nn.RNN(2, 3)
    x, y = ts.randn(steps, 2, 2), ts.randn(2, 3)
    with ts.trace() as tr:
        output, _ = rnn(x)
        loss = F.mse_loss(output[-1], y)
    loss.backward()
    return tr


class Tagger(nn.Module):
    """Many-to-many: an LSTM whose every output is scored."""

    def __init__(self, size, hidden):
        super().__init__()
        self.lstm = nn.LSTM(size, hidden)

    def forward(self, x):
        return self.lstm(x)[0]


def many_to_many(steps=6):
    """A loss L_t at every step, and their sum."""
    model = Tagger(2, 3)
    x, y = ts.randn(steps, 2, 2), ts.randn(steps, 2, 3)
    with ts.trace() as tr:
        output = model(x)
        losses = []
        for t in range(steps):
            with ts.timestep(t):
                losses.append(F.mse_loss(output[t], y[t]))
        loss = ts.stack(losses).sum()
    loss.backward()
    return tr


def one_to_many(steps=6):
    model = Generator(2, 3)
    x, y = ts.randn(2, 2), ts.randn(steps, 2, 2)
    with ts.trace() as tr:
        loss = F.mse_loss(model(x, steps), y)
    loss.backward()
    return tr


def bidirectional(steps=5):
    gru = nn.GRU(2, 3, bidirectional=True)
    x, y = ts.randn(steps, 2, 2), ts.randn(steps, 2, 6)
    with ts.trace() as tr:
        output, _ = gru(x)
        loss = F.mse_loss(output, y)
    loss.backward()
    return tr


def truncated(chunks=3, chunk=4):
    """Truncated BPTT: one call per chunk, the state handed on through detach()."""
    lstm = nn.LSTM(2, 3)
    x, y = ts.randn(chunks * chunk, 1, 2), ts.randn(chunks * chunk, 1, 3)
    state = None
    with ts.trace() as tr:
        loss = 0
        for k in range(chunks):
            part = slice(k * chunk, (k + 1) * chunk)
            output, state = lstm(x[part], state)
            state = tuple(s.detach() for s in state)
            loss = loss + F.mse_loss(output, y[part])
    loss.backward()
    return tr


def demo_seq2seq():
    """examples/demo.py's model as examples/seq2seq_dates.py builds it (not trained), one
    training step on the demo's shortest test date."""
    data = dates_dataset(n_train=10, n_valid=10, n_test=50, seed=0)
    source_vocab, target_vocab = data.source_vocab, data.target_vocab
    model = nn.Seq2Seq(len(source_vocab), len(target_vocab), 32, 64, cell="gru",
                       attention="general", bidirectional=True, pad_id=target_vocab.pad_id,
                       sos_id=target_vocab.sos_id, eos_id=target_vocab.eos_id)
    text, target_text = min(data.test[:50], key=lambda pair: len(pair[0]))
    source = [source_vocab.encode(text)]
    target = [target_vocab.encode(target_text, add_sos=True, add_eos=True)]
    with ts.trace() as tr:
        logits, _ = model(source, target)
        loss = model.loss(logits, target)
    loss.backward()
    return tr


PICTURES = [
    # file,                      what,                                              options
    ("many_to_one.svg",          many_to_one,                                       {}),
    ("many_to_many.svg",         many_to_many,                                      {}),
    ("one_to_many.svg",          one_to_many,                                       {}),
    ("encoder_decoder.svg",      lambda: traced_example("seq2seq", 5, 4, batch=1, impl="fused"), {}),
    ("demo_seq2seq.svg",         demo_seq2seq,                                      {}),
    ("bidirectional.svg",        bidirectional,                                     {}),
    ("stacked.svg",              lambda: traced_example("lstm", 5, 3, layers=2, impl="fused"), {}),
    ("stacked_4.svg",            lambda: traced_example("gru", 4, 3, layers=4, impl="primitive"), {}),
    ("truncated_bptt.svg",       truncated,                                         {}),
    ("lstm_100_steps.svg",       lambda: traced_example("lstm", 100, 3, impl="fused"), {}),
    ("rolled.svg",               lambda: traced_example("lstm", 5, 3, impl="fused"), {"rolled": True}),
    ("lstm_gates.svg",           lambda: traced_example("lstm", 3, 3, impl="primitive"),
     {"collapse": False}),
]

# The cell diagrams: one LSTM and one GRU step as the textbook cell figure (viz/cell_diagrams.py)
from cell_diagrams import CELL_DIAGRAMS  # noqa: E402


def main():
    ts.set_default_dtype(numpy.float64)
    for name, make, options in PICTURES:
        ts.manual_seed(0)
        tr = make()
        print("wrote", tr.render(os.path.join(HERE, name), grads=True, **options))
    for name, make, options in CELL_DIAGRAMS:
        ts.manual_seed(0)
        print("wrote", render.cell_diagram(make(), os.path.join(HERE, name), **options))
    ts.set_default_dtype(numpy.float32)
    gradient_flow.main(output=os.path.join(HERE, "gradient_flow.svg"))
    contribution_matrix.main()


if __name__ == "__main__":
    main()

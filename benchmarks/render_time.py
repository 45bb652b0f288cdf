"""How long a BPTT picture takes.

1. An LSTM over many steps: trace one training step, then draw it with the defaults (the
   middle steps elided, one node per step): the Drawing (plan + layout), the DOT text, and
   Graphviz drawing the SVG (neato -n2 with pinned positions).
2. The demo's Seq2Seq (examples/demo.py's model, not trained, as viz/generate.py draws it for
   the gallery) on the demo's shortest test date: the same.
3. The explorer page (``tr.to_html``) of a long LSTM trace (``--html-steps``, 1,000 by default),
   and of a bidirectional GRU of two layers over as many steps: recorded, then written as one
   page with the picture's elision.

    python benchmarks/render_time.py [--steps 200] [--hidden 32] [--batch 8] [--impl fused]
                                     [--no-seq2seq] [--html-steps 1000]
"""
import argparse
import os
import sys
import tempfile
import time

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn
from tinyseq.render import dot as dot_writer
from tinyseq.render.graph import drawing

HERE = os.path.dirname(os.path.abspath(__file__))


def timed_picture(tr, folder, name):
    """(Drawing seconds, DOT seconds, SVG seconds, DOT lines) of ``tr``'s default picture."""
    start = time.perf_counter()
    laid = drawing(tr, grads=True)
    planned = time.perf_counter()
    source = dot_writer.to_dot_text(laid)
    written = time.perf_counter()
    dot_writer.write(source, os.path.join(folder, name))
    drawn = time.perf_counter()
    return planned - start, written - planned, drawn - written, len(source.splitlines())


def lstm(args, folder):
    ts.manual_seed(0)
    model = nn.LSTM(8, args.hidden, impl=args.impl)
    x, y = ts.randn(args.steps, args.batch, 8), ts.randn(args.steps, args.batch, args.hidden)
    start = time.perf_counter()
    with ts.trace() as tr:
        loss = F.mse_loss(model(x)[0], y)
    loss.backward()
    traced = time.perf_counter() - start
    plan, text, svg, lines = timed_picture(tr, folder, "lstm.svg")
    print(f"LSTM ({args.impl}), {args.steps} steps: trace + backward {traced:.2f} s, drawing "
          f"{plan:.2f} s, DOT {text:.2f} s ({lines} lines), Graphviz SVG {svg:.2f} s; "
          f"recorded and rendered in {traced + plan + text + svg:.2f} s")


def explorer_page(args, folder):
    ts.manual_seed(0)
    model = nn.LSTM(8, args.hidden, impl=args.impl)
    x = ts.randn(args.html_steps, args.batch, 8)
    y = ts.randn(args.html_steps, args.batch, args.hidden)
    with ts.trace() as tr:
        loss = F.mse_loss(model(x)[0], y)
    loss.backward()
    start = time.perf_counter()
    tr.to_html(os.path.join(folder, "explorer.html"))
    print(f"to_html of an LSTM ({args.impl}) over {args.html_steps} steps: "
          f"{time.perf_counter() - start:.2f} s")
    # every step of a bidirectional layer above reads both directions' outputs, joined
    model = nn.GRU(8, args.hidden, num_layers=2, bidirectional=True, impl=args.impl)
    with ts.trace() as tr:
        loss = (model(x)[0] ** 2).mean()
    loss.backward()
    start = time.perf_counter()
    tr.to_html(os.path.join(folder, "explorer.html"))
    print(f"to_html of a bidirectional GRU of 2 layers ({args.impl}) over {args.html_steps} "
          f"steps: {time.perf_counter() - start:.2f} s")


def seq2seq(folder):
    sys.path.insert(0, os.path.join(HERE, "..", "viz"))
    from generate import demo_seq2seq          # the gallery's picture of the demo's model
    ts.manual_seed(0)
    tr = demo_seq2seq()
    plan, text_seconds, svg, lines = timed_picture(tr, folder, "seq2seq.svg")
    print(f"the demo's Seq2Seq on its shortest test date ({tr.steps} steps): drawing "
          f"{plan:.2f} s, DOT {text_seconds:.2f} s ({lines} lines), Graphviz SVG {svg:.2f} s; "
          f"rendered in {plan + text_seconds + svg:.2f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--impl", choices=("fused", "primitive"), default="fused")
    parser.add_argument("--no-seq2seq", action="store_true", help="time the LSTM only")
    parser.add_argument("--html-steps", type=int, default=1000,
                        help="steps of the explorer page's LSTM (0: no page)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        lstm(args, folder)
        if not args.no_seq2seq:
            seq2seq(folder)
        if args.html_steps:
            explorer_page(args, folder)


if __name__ == "__main__":
    main()

"""The ``tinyseq`` command: quick pictures of unrolled graphs without writing a script.

    tinyseq render --cell lstm --steps 4 --hidden 3 -o bptt.svg
    tinyseq render --cell seq2seq --steps 3 -o seq2seq.svg
    tinyseq render --cell lstm --steps 2 --ops -o gates.svg     # every op, every gate
    tinyseq render --cell lstm --diagram -o cell.svg            # one step as the textbook cell
"""
import argparse
import os
import sys

import numpy

from . import functional as F
from . import nn, random
from .creation import randn, tensor
from .render import cell_diagram
from .dtypes import get_default_dtype, set_default_dtype
from .trace import Trace

CELLS = ("rnn", "lstm", "gru", "seq2seq")
OUTPUT_SUFFIXES = (".svg", ".png", ".pdf", ".dot")
# the largest sizes the command draws: beyond them a picture takes minutes and gigabytes and
# shows nothing more
MAX_STEPS = 50
MAX_HIDDEN = 64
MAX_INPUT = 64
MAX_BATCH = 64
MAX_LAYERS = 4
KERNEL_FOLDERS = ("/proc", "/sys", "/dev")


def _count(maximum):
    """An argparse type: an int in [1, maximum]; anything else is a usage error."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between 1 and {maximum}, got {value}")
        return value
    return parse


def _check_output(parser, path):
    """Refuse an output path that cannot be written, before anything is traced."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in OUTPUT_SUFFIXES:
        parser.error(f"argument -o/--output: {path!r} needs one of the suffixes "
                     f"{', '.join(OUTPUT_SUFFIXES)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        parser.error(f"argument -o/--output: the folder of {path!r} does not exist")
    if not os.access(folder, os.W_OK):
        parser.error(f"argument -o/--output: the folder of {path!r} is not writable")
    target = os.path.realpath(path)
    if os.path.exists(target) and not os.path.isfile(target):
        kind = "a directory" if os.path.isdir(target) else \
            "not a regular file (a FIFO, device or socket)"
        parser.error(f"argument -o/--output: {path!r} is {kind}")
    if any(target == root or target.startswith(root + os.sep) for root in KERNEL_FOLDERS):
        parser.error(f"argument -o/--output: {path!r} is in a kernel file system "
                     f"({', '.join(KERNEL_FOLDERS)}), not a place for a picture")


def traced_example(cell, steps, hidden, input_size=2, batch=2, layers=1, seed=0, impl="primitive"):
    """Run one forward and backward pass of a small model under a trace and return the trace.

    rnn/lstm/gru: a layer over ``steps`` random inputs with a mean-square loss on every
    output. seq2seq: a GRU encoder-decoder with dot attention over ``steps`` source tokens and
    ``steps`` target tokens, with the cross-entropy loss. ``impl`` is the recurrent layers'
    ("primitive" shows every gate; "fused" one op per cell step).
    """
    random.manual_seed(seed)
    rng = numpy.random.default_rng(seed)
    if cell == "seq2seq":
        model = nn.Seq2Seq(6, 6, embedding_dim=hidden, hidden_size=hidden, num_layers=layers,
                           cell="gru", attention="dot", impl=impl)
        source = rng.integers(3, 6, size=(batch, steps))
        target = numpy.concatenate([numpy.ones((batch, 1), int), rng.integers(3, 6, size=(batch, steps))], axis=1)
        with Trace() as tr:
            logits, _ = model(source, target)
            loss = model.loss(logits, target)
    else:
        model = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](input_size, hidden, num_layers=layers,
                                                                      impl=impl)
        x = randn(steps, batch, input_size)
        y = tensor(rng.standard_normal((steps, batch, hidden)), dtype=get_default_dtype())
        with Trace() as tr:
            output, _ = model(x)
            loss = F.mse_loss(output, y)
    loss.backward()
    return tr


def _parser():
    parser = argparse.ArgumentParser(prog="tinyseq", description="tinyseq: see backpropagation through time.")
    commands = parser.add_subparsers(dest="command", metavar="command")
    render = commands.add_parser("render", help="draw the unrolled BPTT graph of a small model",
                                 description="Trace one training step of a small model and draw its "
                                             "unrolled graph (format from the output suffix).")
    render.add_argument("--cell", choices=CELLS, default="lstm", help="model to unroll (default: lstm)")
    render.add_argument("--steps", type=_count(MAX_STEPS), default=4,
                        help=f"time steps, 1 to {MAX_STEPS} (default: 4)")
    render.add_argument("--hidden", type=_count(MAX_HIDDEN), default=3,
                        help=f"hidden size, 1 to {MAX_HIDDEN} (default: 3)")
    render.add_argument("--input", type=_count(MAX_INPUT), default=2, dest="input_size",
                        help=f"input features, 1 to {MAX_INPUT} (default: 2)")
    render.add_argument("--batch", type=_count(MAX_BATCH), default=2,
                        help=f"batch size, 1 to {MAX_BATCH} (default: 2)")
    render.add_argument("--layers", type=_count(MAX_LAYERS), default=1,
                        help=f"stacked layers, 1 to {MAX_LAYERS} (default: 1)")
    render.add_argument("--impl", choices=("primitive", "fused"), default=None,
                        help="recurrent layers fused (the default, as the gallery draws them) or "
                             "built from primitive ops (the default with --ops: every gate is "
                             "drawn); both give the same picture up to the ops' names")
    render.add_argument("--ops", action="store_true",
                        help="draw every op instead of one node per module per step (the "
                             "default)")
    render.add_argument("--collapse", action="store_true",
                        help="one node per module per step (the default; kept for scripts)")
    render.add_argument("--first-last", type=_count(MAX_STEPS), default=None, metavar="K",
                        help="draw only the first K and last K steps")
    render.add_argument("--shapes", action="store_true", help="show each op's output shape")
    render.add_argument("--rolled", action="store_true",
                        help="the folded network, one cell per layer with its loop edge")
    render.add_argument("--no-grads", action="store_true",
                        help="leave out the gradient norms on the edges")
    render.add_argument("--diagram", action="store_true",
                        help="draw one step of the LSTM or GRU as the textbook cell figure instead")
    render.add_argument("-o", "--output", default="bptt.svg",
                        help="output file: .svg, .png, .pdf or .dot (default: bptt.svg)")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    _check_output(parser, args.output)
    if args.diagram and args.cell not in ("lstm", "gru"):
        parser.error(f"argument --diagram: draws an LSTM or GRU cell, not {args.cell}")
    previous = get_default_dtype()
    set_default_dtype(numpy.float64)
    try:
        tr = traced_example(args.cell, args.steps, args.hidden, args.input_size, args.batch, args.layers,
                            impl=args.impl or ("primitive" if args.ops else "fused"))
    finally:
        set_default_dtype(previous)
    try:
        if args.diagram:
            written = cell_diagram(tr, args.output, module="", time_step=tr.steps // 2)
            print(f"wrote {written}: the {args.cell} cell at t = {tr.steps // 2}")
            return 0
        written = tr.render(args.output, collapse=not args.ops, first_last=args.first_last,
                            shapes=args.shapes, grads=not args.no_grads, rolled=args.rolled)
    except OSError as error:
        parser.exit(1, f"tinyseq: error: cannot write {args.output!r}: {error}\n")
    print(f"wrote {written}: {args.cell}, {tr.steps} time steps, {len(tr.ops)} ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the time of one fused LSTM training step goes, next to PyTorch's whole step.

For each size of recurrent_step.py: the tinyseq fused step (median of ``--steps`` runs), the
cell math inside it (LSTMMath.forward / backward, timed in place), and the matrix products the
step performs, replayed alone with NumPy on arrays of the same shapes ([h_{t-1}, x_t, 1] times
the stacked weights and dh W_hh at every step, the weight gradients as one product). "rest"
is the step minus the two: the loss, the engine, copies, SGD. When PyTorch is installed its nn.LSTM step is timed
too (same threads), so the products alone can be set against its whole step.

    python benchmarks/lstm_profile.py [--sizes M L] [--steps 9]
    python benchmarks/lstm_profile.py --by-op primitive --sizes M   # time per op kind instead
"""
import argparse
import collections
import statistics
import time

import numpy
from recurrent_step import SIZES, tinyseq_step, torch, torch_step

from tinyseq.accumulate import ProductGrad, SparseGrad
from tinyseq.autograd import Function
from tinyseq.ops.recurrent import LSTMMath

MS = 1000


def median_ms(function, steps):
    function()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return MS * statistics.median(times)


def products_alone(steps, batch, features, hidden):
    """The step's matrix products, on random arrays of the same shapes and layouts: forward's
    [h_{t-1}, x_t, 1] times the stacked weights at every step, backward's dh_gates W_hh at
    every step, and the weight gradients as one product over all steps."""
    rng = numpy.random.default_rng(0)
    inputs = hidden + features + 1
    step_inputs = rng.standard_normal((steps, batch, inputs), dtype=numpy.float32)
    weight_t = rng.standard_normal((4, inputs, hidden), dtype=numpy.float32)
    weight_hh = rng.standard_normal((4 * hidden, hidden), dtype=numpy.float32)
    d_gates = rng.standard_normal((4, steps, batch, hidden), dtype=numpy.float32)
    d_rows = rng.standard_normal((batch, 4 * hidden), dtype=numpy.float32)
    gates = numpy.empty((4, batch, hidden), dtype=numpy.float32)
    d_h = numpy.empty((batch, hidden), dtype=numpy.float32)

    def run():
        for t in range(steps):
            numpy.matmul(step_inputs[t], weight_t, out=gates)
        for t in range(steps):
            numpy.matmul(d_rows, weight_hh, out=d_h)
        numpy.matmul(d_gates.reshape(4, -1, hidden).transpose(0, 2, 1),
                     step_inputs.reshape(-1, inputs))
    return run


def cell_math_ms(step, steps):
    """Milliseconds per step spent in LSTMMath.forward and in .prepare_backward and .backward
    together, timed in place."""
    spent = {"forward": 0.0, "backward": 0.0}
    parts = {"forward": "forward", "prepare_backward": "backward", "backward": "backward"}
    originals = {name: getattr(LSTMMath, name) for name in parts}

    def timed(name):
        def wrapper(*args):
            start = time.perf_counter()
            result = originals[name](*args)
            spent[parts[name]] += time.perf_counter() - start
            return result
        return wrapper
    try:
        for name in parts:
            setattr(LSTMMath, name, timed(name))
        for _ in range(steps):
            step()
    finally:
        for name, method in originals.items():
            setattr(LSTMMath, name, method)
    return {name: MS * seconds / steps for name, seconds in spent.items()}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def op_times(step, steps):
    """{(what, calls per step): ms per step}: every op class's forward and backward, and the
    engine's gradient sums (ProductGrad.total, SparseGrad.add_into / dense), timed in place."""
    spent, calls = collections.Counter(), collections.Counter()
    targets = [(cls, name) for cls in set(_subclasses(Function)) for name in ("forward", "backward")
               if name in cls.__dict__]
    targets += [(ProductGrad, "total"), (SparseGrad, "add_into"), (SparseGrad, "dense")]
    originals = {(cls, name): cls.__dict__[name] for cls, name in targets}

    def timed(key, function):
        def wrapper(*args, **options):
            start = time.perf_counter()
            result = function(*args, **options)
            spent[key] += time.perf_counter() - start
            calls[key] += 1
            return result
        return wrapper
    try:
        for (cls, name), original in originals.items():
            key = f"{cls.__name__}.{name}"
            if isinstance(original, staticmethod):
                setattr(cls, name, staticmethod(timed(key, original.__func__)))
            else:
                setattr(cls, name, timed(key, original))
        for _ in range(steps):
            step()
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
    return {(key, calls[key] // steps): MS * seconds / steps for key, seconds in spent.items()}


def main_by_op(impl, sizes=("M",), steps=5, top=12):
    print(f"{impl} LSTM training step, float32, ms per step spent in each op kind "
          f"(mean of {steps}; nested calls count in both)")
    for size in sizes:
        step = tinyseq_step("lstm", impl, *SIZES[size])
        step()
        total = median_ms(step, steps)
        times = op_times(step, steps)
        print(f"{size}: step {total:.1f} ms")
        for (what, calls), ms in sorted(times.items(), key=lambda item: -item[1])[:top]:
            print(f"  {what:28s} {ms:8.2f} ms  {calls:5d} calls")


def main(sizes=("M", "L"), steps=9, threads=2):
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"fused LSTM training step, float32, median of {steps}; ms")
    print(f"{'size':4s} {'step':>8s} {'products':>9s} {'math fwd':>9s} {'math bwd':>9s} "
          f"{'rest':>7s} {'PyTorch nn.LSTM':>16s}")
    for size in sizes:
        shape = SIZES[size]
        step = tinyseq_step("lstm", "fused", *shape)
        total = median_ms(step, steps)
        products = median_ms(products_alone(*shape), steps)
        math = cell_math_ms(step, steps)
        reference = f"{median_ms(torch_step('lstm', *shape), steps):16.1f}" if torch else f"{'-':>16s}"
        rest = total - products - math["forward"] - math["backward"]
        print(f"{size:4s} {total:8.1f} {products:9.1f} {math['forward']:9.1f} "
              f"{math['backward']:9.1f} {rest:7.1f} {reference}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["M", "L"], choices=list(SIZES))
    parser.add_argument("--steps", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    parser.add_argument("--by-op", choices=["fused", "primitive"],
                        help="instead: where this path's step goes, op kind by op kind")
    args = parser.parse_args()
    if args.by_op:
        main_by_op(args.by_op, args.sizes, args.steps)
    else:
        main(args.sizes, args.steps, args.threads)

"""The engine's cost per op in CPU instructions, counted by valgrind's callgrind: a number that
holds on a loaded, shared machine where times do not.

    y = x; repeat n times: y = y * 1.0001;  then y.sum().backward()

on a 4-element float32 tensor (autograd_overhead.py's chain). One Python process runs under
callgrind (PYTHONHASHSEED=0, one OpenBLAS thread, so that runs repeat) and counts only inside
the calls made through ``operator.call``: a chain of 10 ops and a chain of n ops, building the
graph only ("forward") and with backward. The count of the 10-op chain is subtracted from that
of the n-op chain, which leaves the instructions of n - 10 ops without the fixed costs (the
leaf, the sum, backward's start), and the difference is divided by n - 10.

    python benchmarks/instructions.py [--ops 2000]
    python benchmarks/instructions.py --step S     # one recurrent_step.py LSTM training step

With ``--step SIZE`` it counts instead one training step of recurrent_step.py's LSTM at that
size (T, B, D, H as there), fused and primitive, after two uncounted steps.
"""
import argparse
import gc
import operator
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy

SHORT = 10
RUNS = [(what, ops) for what in ("forward", "both") for ops in ("short", "long")]


def chain(ops, backward):
    import tinyseq as ts
    leaf = ts.tensor(numpy.ones(4, numpy.float32), requires_grad=True)
    y = leaf
    for _ in range(ops):
        y = y * 1.0001
    if backward:
        y.sum().backward()


def settle_garbage_collector():
    """Collect, then freeze what the imports made: a full collection during a counted run then
    walks only the objects made since, so that the count does not move by a million
    instructions when an unrelated change shifts the collector's schedule."""
    gc.collect()
    gc.freeze()


def run_chains(ops):
    """The runs callgrind counts, in RUNS' order, each after one uncounted warm-up."""
    settle_garbage_collector()
    for what, length in RUNS:
        chain(SHORT, what == "both")
        operator.call(chain, SHORT if length == "short" else ops, what == "both")


IMPLS = ("fused", "primitive")


def run_steps(size):
    """One counted LSTM training step per implementation, each after two uncounted ones."""
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from recurrent_step import SIZES, tinyseq_step
    for impl in IMPLS:
        step = tinyseq_step("lstm", impl, *SIZES[size])
        step()
        step()
        settle_garbage_collector()
        operator.call(step)


def count(child_arguments, parts):
    """The instructions of each of the ``parts`` calls made through operator.call by this
    script run with ``child_arguments``, under callgrind."""
    environment = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                        "--toggle-collect=_operator_call", "--dump-after=_operator_call",
                        f"--callgrind-out-file={out}", sys.executable, __file__]
                       + child_arguments,
                       check=True, env=environment, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        counts = []
        for part in range(1, parts + 1):
            text = pathlib.Path(f"{out}.{part}").read_text()
            counts.append(int(re.search(r"^totals: (\d+)", text, re.M).group(1)))
    return counts


def main(ops=2000):
    counts = dict(zip(RUNS, count(["--child", str(ops)], len(RUNS))))
    print(f"instructions per op, chain of {ops} tiny multiplications minus one of {SHORT} "
          f"(callgrind)")
    for what, label in (("forward", "forward"), ("both", "forward + backward")):
        per_op = (counts[what, "long"] - counts[what, "short"]) / (ops - SHORT)
        print(f"{label:20s} {per_op / 1000:8.1f}k")


def main_steps(size):
    counts = count(["--child-step", size], len(IMPLS))
    print(f"instructions of one LSTM training step, size {size} (callgrind)")
    for impl, instructions in zip(IMPLS, counts):
        print(f"{impl:10s} {instructions / 1e6:8.1f}M")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--step", choices=("S", "M", "L"))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run_chains(args.child)
    elif args.child_step is not None:
        run_steps(args.child_step)
    elif args.step is not None:
        main_steps(args.step)
    else:
        main(args.ops)

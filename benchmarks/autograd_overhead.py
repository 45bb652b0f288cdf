"""The engine's own cost per op: a chain of tiny elementwise ops, forward and backward.

    y = x; repeat n times: y = y * 1.0001;  then y.sum().backward()

on a 4-element float32 tensor, so the arithmetic is negligible and what is timed is the work
of building and walking the graph. tinyseq and PyTorch (when installed; 1 thread) run by turns
in each round, forward + backward and forward alone (building the graph, then dropping it);
the table gives microseconds per op and the median of the per-round ratios against PyTorch.
benchmarks/instructions.py counts the same chain's instructions, which load does not move.

    python benchmarks/autograd_overhead.py [--ops 2000] [--rounds 15]
"""
import argparse
import statistics

import numpy
from paired import paired_ratio, run_by_turns

import tinyseq as ts

try:
    import torch
except ImportError:
    torch = None


def chain(leaf, ops, backward=True):
    """A chain of ``ops`` tiny multiplications from ``leaf``, then backward."""
    y = leaf
    for _ in range(ops):
        y = y * 1.0001
    if backward:
        y.sum().backward()


def main(ops=2000, rounds=15):
    runs = {}
    for backward, what in ((True, "fwd+bwd"), (False, "forward")):
        runs["tinyseq", what] = lambda backward=backward: chain(
            ts.tensor(numpy.ones(4, numpy.float32), requires_grad=True), ops, backward)
        if torch is not None:
            torch.set_num_threads(1)
            runs["PyTorch", what] = lambda backward=backward: chain(
                torch.ones(4, requires_grad=True), ops, backward)
    times = run_by_turns(runs, rounds)
    print(f"autograd overhead: chain of {ops} tiny multiplications, {rounds} rounds")
    print(f"{'framework':10s} {'pass':8s} {'us/op':>8s} {'ratio':>7s}")
    for (name, what), values in times.items():
        reference = times.get(("PyTorch", what), times["tinyseq", what])
        print(f"{name:10s} {what:8s} {statistics.median(values) / ops * 1e6:8.2f} "
              f"{paired_ratio(values, reference):7.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    main(args.ops, args.rounds)

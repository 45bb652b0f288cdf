"""The engine's own cost per op: a chain of tiny elementwise ops, forward and backward.

    y = x; repeat n times: y = y * 1.0001;  then y.sum().backward()

on a 4-element float32 tensor, so the arithmetic is negligible and what is timed is the work
of building and walking the graph. tinyseq and PyTorch (when installed; 1 thread) run by turns
in each round; the table gives microseconds per op (forward + backward) and the median of the
per-round ratios against PyTorch.

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


def chain(leaf, ops):
    """A chain of ``ops`` tiny multiplications from ``leaf``, then backward."""
    y = leaf
    for _ in range(ops):
        y = y * 1.0001
    y.sum().backward()


def main(ops=2000, rounds=15):
    runs = {"tinyseq": lambda: chain(ts.tensor(numpy.ones(4, numpy.float32), requires_grad=True), ops)}
    if torch is not None:
        torch.set_num_threads(1)
        runs["PyTorch"] = lambda: chain(torch.ones(4, requires_grad=True), ops)
    times = run_by_turns(runs, rounds)
    reference = times.get("PyTorch", times["tinyseq"])
    print(f"autograd overhead: chain of {ops} tiny multiplications, forward + backward, "
          f"{rounds} rounds")
    print(f"{'framework':10s} {'us/op':>8s} {'ratio':>7s}")
    for name, values in times.items():
        print(f"{name:10s} {statistics.median(values) / ops * 1e6:8.2f} {paired_ratio(values, reference):7.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    main(args.ops, args.rounds)

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
import time

import numpy

import tinyseq as ts

try:
    import torch
except ImportError:
    torch = None


def chain(make, ops):
    x = make()
    start = time.perf_counter()
    y = x
    for _ in range(ops):
        y = y * 1.0001
    y.sum().backward()
    return (time.perf_counter() - start) / ops * 1e6


def main(ops=2000, rounds=15):
    runs = {"tinyseq": lambda: chain(lambda: ts.tensor(numpy.ones(4, numpy.float32), requires_grad=True), ops)}
    if torch is not None:
        torch.set_num_threads(1)
        runs["PyTorch"] = lambda: chain(lambda: torch.ones(4, requires_grad=True), ops)
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    for round_number in range(rounds):
        for name in (list(runs) if round_number % 2 == 0 else list(reversed(runs))):
            times[name].append(runs[name]())
    reference = times.get("PyTorch", times["tinyseq"])
    print(f"autograd overhead: chain of {ops} tiny multiplications, forward + backward, "
          f"{rounds} rounds")
    print(f"{'framework':10s} {'us/op':>8s} {'ratio':>7s}")
    for name, values in times.items():
        ratio = statistics.median(v / r for v, r in zip(values, reference))
        print(f"{name:10s} {statistics.median(values):8.2f} {ratio:7.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    main(args.ops, args.rounds)

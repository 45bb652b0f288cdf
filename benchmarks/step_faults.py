"""Page faults and time of a fused LSTM training step run on its own, as a user's loop runs it,
with tinyseq's malloc thresholds (tinyseq/allocator.py) and with glibc's own initial ones.

Each case runs in a fresh process: a few warm-up steps, then the median time and the minor
page faults per step. "glibc's" sets MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_ to
glibc's initial 128 KiB, which tinyseq then leaves alone. recurrent_step.py does not show this
cost: there PyTorch's steps run in between, and ours find their memory still mapped.

    python benchmarks/step_faults.py [--sizes S M] [--steps 20]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

CASES = {"tinyseq's": {}, "glibc's": {"MALLOC_TRIM_THRESHOLD_": "131072",
                                       "MALLOC_MMAP_THRESHOLD_": "131072"}}


def child(size, steps):
    from recurrent_step import SIZES, tinyseq_step
    step = tinyseq_step("lstm", "fused", *SIZES[size])
    for _ in range(3):
        step()
    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / steps
    print(f"{statistics.median(times) * 1e3:.2f} {faults:.0f}")


def main(sizes, steps):
    print(f"fused LSTM training step on its own, float32, one thread, median of {steps}")
    print(f"{'size':5s} {'malloc thresholds':18s} {'ms':>8s} {'faults/step':>12s}")
    for size in sizes:
        for case, switches in CASES.items():
            environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                               **switches)
            for name in set(CASES["glibc's"]) - set(switches):
                environment.pop(name, None)
            out = subprocess.run([sys.executable, __file__, "--child", size, "--steps",
                                  str(steps)], env=environment, check=True, text=True,
                                 capture_output=True).stdout.split()
            print(f"{size:5s} {case:18s} {float(out[0]):8.2f} {int(out[1]):12d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=("S", "M", "L"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps)
    else:
        main(args.sizes, args.steps)

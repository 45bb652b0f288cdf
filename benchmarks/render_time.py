"""How long a BPTT picture takes: trace one training step of an LSTM over many steps, then
draw it with the defaults (the middle steps elided, one node per step) and lay it out with
Graphviz's dot.

    python benchmarks/render_time.py [--steps 200] [--hidden 32] [--batch 8] [--impl fused]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--impl", choices=("fused", "primitive"), default="fused")
    args = parser.parse_args(argv)
    ts.manual_seed(0)
    model = nn.LSTM(8, args.hidden, impl=args.impl)
    x, y = ts.randn(args.steps, args.batch, 8), ts.randn(args.steps, args.batch, args.hidden)
    start = time.perf_counter()
    with ts.trace() as tr:
        loss = F.mse_loss(model(x)[0], y)
    loss.backward()
    traced = time.perf_counter()
    source = tr.to_dot(grads=True)
    drawn = time.perf_counter()
    print(f"LSTM ({args.impl}), {args.steps} steps: trace + backward {traced - start:.2f} s, "
          f"to_dot {drawn - traced:.2f} s ({len(source.splitlines())} lines)", end="")
    if shutil.which("dot") is None:
        print("; no Graphviz dot to lay it out")
        return
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bptt.svg")
        subprocess.run(["dot", "-Tsvg", "-o", path], input=source.encode("utf-8"), check=True)
    done = time.perf_counter()
    print(f", dot -Tsvg {done - drawn:.2f} s; in all {done - start:.2f} s")


if __name__ == "__main__":
    main()

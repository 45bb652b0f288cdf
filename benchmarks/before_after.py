"""A recurrent training step of this checkout against an earlier commit's, paired in one process.

    python benchmarks/before_after.py REV                          # LSTM at S, 15 rounds
    OMP_NUM_THREADS=1 python benchmarks/before_after.py b9f5de1 --cells lstm gru --sizes S M

The commit's tinyseq package is exported (`git archive`) into a temporary directory under the
name ``tinyseq_before`` (its imports are relative, so it runs under that name). "after" (this
checkout), "before" and, when installed, PyTorch's fused layer run the step of
recurrent_step.py by turns, and the table gives the median of per-round ratios: after / before,
and each against PyTorch. A change that claims speed quotes after / before; the ratios against
PyTorch show how much the machine moved both. On this shared machine the same code measured
against itself gives after / before within about 0.97 to 1.03 at S.
"""
import argparse
import statistics
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from paired import paired_ratio, run_by_turns
from recurrent_step import SIZES, torch, torch_step, tinyseq_step

REPOSITORY = Path(__file__).resolve().parent.parent


def import_commit(revision, directory):
    """tinyseq as it was at ``revision``, imported as the package ``tinyseq_before``."""
    archive = subprocess.run(["git", "archive", revision, "tinyseq"], cwd=REPOSITORY,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    Path(directory, "tinyseq").rename(Path(directory, "tinyseq_before"))
    sys.path.insert(0, directory)
    return importlib.import_module("tinyseq_before")


def main(revision, cells=("lstm",), sizes=("S",), rounds=15, threads=1, pause=0.2):
    if torch is not None:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as directory:
        before = import_commit(revision, directory)
        print(f"training step, float32, {rounds} rounds, {pause} s idle before each turn; "
              f"before = {revision}; ratios are medians of per-round ratios")
        print(f"{'cell':5s} {'size':4s} {'after ms':>9s} {'after/before':>13s} "
              f"{'after/PyTorch':>14s} {'before/PyTorch':>15s}")
        for cell in cells:
            for size in sizes:
                shape = SIZES[size]
                runs = {"after": tinyseq_step(cell, "fused", *shape),
                        "before": tinyseq_step(cell, "fused", *shape, package=before)}
                if torch is not None:
                    runs["PyTorch"] = torch_step(cell, *shape)
                times = run_by_turns(runs, rounds, repeats=3 if size == "S" else 1, pause=pause)
                against = (lambda name: f"{paired_ratio(times[name], times['PyTorch']):.3f}"
                           if torch is not None else "-")
                print(f"{cell:5s} {size:4s} {1000 * statistics.median(times['after']):9.2f} "
                      f"{paired_ratio(times['after'], times['before']):13.3f} "
                      f"{against('after'):>14s} {against('before'):>15s}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the earlier commit (any git revision)")
    parser.add_argument("--cells", nargs="+", default=["lstm"], choices=["lstm", "gru", "rnn"])
    parser.add_argument("--sizes", nargs="+", default=["S"], choices=list(SIZES))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds idle before each turn")
    args = parser.parse_args()
    main(args.revision, args.cells, args.sizes, args.rounds, args.threads, args.pause)

"""Data-parallel scaling: training steps per second on 1 and 2 ranks, one BLAS thread each.

One step is forward, backward (with the gradients' all-reduce) and an SGD step of an LSTM
(input 32, hidden 256, T = 20, float32) on a whole batch of 256 split evenly over the ranks,
so each rank's matrix products are (256 / R) x 256 by 256 x 1024 per time step: the arithmetic
dominates, the Python per op does not. The gradient all-reduced per step is 297 k numbers
(1.2 MB).

Each round launches ``mpirun -n 1`` and ``mpirun -n 2`` by turns (the same warm-up and steps
each); the table gives the median steps per second, the median of the per-round speedups
(2 ranks against 1), the CPU time per step of the busiest rank outside the averaging (the
work the split saves, whatever else runs on the machine), and the wall time per step spent
averaging gradients (packing, MPI all-reduce, unpacking; on 2 ranks it includes waiting for
the slower rank).

    python benchmarks/ddp_scaling.py [--rounds 5] [--steps 20]

Needs mpirun and mpi4py (make test installs both). On a machine whose cores other work shares,
the two ranks compete with it: read the spread of the rounds, not one number.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, HIDDEN, INPUT, SEQ_LEN = 256, 256, 32, 20


def worker(steps, warmup):
    """One rank: time ``steps`` training steps after ``warmup``; rank 0 prints the result."""
    import numpy

    import tinyseq as ts
    import tinyseq.distributed as dist
    import tinyseq.functional as F
    from tinyseq import nn, optim

    dist.init_process_group("mpi")
    rank, ranks = dist.get_rank(), dist.get_world_size()
    ts.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.LSTM(INPUT, HIDDEN, batch_first=True))
    optimizer = optim.SGD(model.parameters(), lr=1e-3)
    rng = numpy.random.default_rng(rank)
    share = BATCH // ranks
    inputs = ts.tensor(rng.standard_normal((share, SEQ_LEN, INPUT), dtype=numpy.float32))
    targets = ts.tensor(rng.standard_normal((share, SEQ_LEN, HIDDEN), dtype=numpy.float32))

    def step():
        optimizer.zero_grad()
        output, _ = model(inputs)
        F.mse_loss(output, targets).backward()
        optimizer.step()

    averaging = [0.0, 0.0]                  # wall and CPU seconds spent averaging gradients
    average_gradients = model.reducer.average_gradients

    def timed_average(*args):
        start, start_cpu = time.perf_counter(), time.process_time()
        average_gradients(*args)
        averaging[0] += time.perf_counter() - start
        averaging[1] += time.process_time() - start_cpu

    model.reducer.average_gradients = timed_average
    for _ in range(warmup):
        step()
    dist.barrier()
    averaging[:] = [0.0, 0.0]
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    compute_cpu = time.process_time() - start_cpu - averaging[1]
    dist.barrier()
    seconds = time.perf_counter() - start
    slowest = ts.tensor([compute_cpu, averaging[0]], dtype=ts.float64)
    dist.all_reduce(slowest, dist.ReduceOp.MAX)
    slowest = slowest.numpy() / steps
    if rank == 0:
        print(json.dumps({"ranks": ranks, "steps_per_second": steps / seconds,
                          "cpu_ms": 1e3 * float(slowest[0]),
                          "averaging_ms": 1e3 * float(slowest[1])}), flush=True)
    dist.destroy_process_group()


def launch(ranks, steps, warmup):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none",
               sys.executable, os.path.abspath(__file__), "--worker",
               "--steps", str(steps), "--warmup", str(warmup)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                         check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(rounds=5, steps=20, warmup=3):
    results = {1: [], 2: []}
    for _ in range(rounds):
        for ranks in (1, 2):
            results[ranks].append(launch(ranks, steps, warmup))
    speedups = [two["steps_per_second"] / one["steps_per_second"]
                for one, two in zip(results[1], results[2])]
    print(f"data-parallel LSTM (hidden {HIDDEN}, T = {SEQ_LEN}, float32), whole batch {BATCH}, "
          f"one BLAS thread per rank; {rounds} rounds of {steps} steps")
    print(f"{'ranks':>5s} {'batch/rank':>10s} {'steps/s':>8s} {'(min-max)':>13s} "
          f"{'speedup':>8s} {'compute CPU ms/step':>20s} {'averaging ms/step':>18s}")
    for ranks, runs in results.items():
        rates = [r["steps_per_second"] for r in runs]
        cpu = statistics.median(r["cpu_ms"] for r in runs)
        averaging = statistics.median(r["averaging_ms"] for r in runs)
        speedup = "1.00" if ranks == 1 else f"{statistics.median(speedups):.2f}"
        print(f"{ranks:5d} {BATCH // ranks:10d} {statistics.median(rates):8.2f} "
              f"{f'({min(rates):.2f}-{max(rates):.2f})':>13s} {speedup:>8s} {cpu:20.1f} "
              f"{averaging:18.2f}")
    print("speedup per round (2 ranks / 1 rank): " + " ".join(f"{s:.2f}" for s in speedups))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.warmup)
    else:
        main(args.rounds, args.steps, args.warmup)

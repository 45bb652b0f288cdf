"""The adding-problem LSTM (examples/adding_problem.py) trained data-parallel over MPI.

    mpirun -n 2 python examples/ddp_adding.py     # 2 ranks, 32 samples of each batch of 64 each
    python examples/ddp_adding.py                 # 1 rank: the same training in one process

Every rank (process) holds the whole model and computes the loss on its share of each batch.
The batch's loss is the mean over all of it, so its gradient is the mean of the ranks'
gradients, a sum of one share per rank:

    dL/dW = Σ_r (1/R) dL_r/dW

as dL/dW = Σ_t dL/dW|_t is a sum of one contribution per time step. DistributedDataParallel
adds the shares up with MPI's all-reduce when backward ends, so every rank has the same
gradient, takes the same Adam step and keeps the same weights, and R ranks train exactly as one
process on the whole batch (up to float rounding). The first step runs under a trace: rank 0
gets each rank's share of dL/dW_hh and plots them beside their sum, the averaged gradient
(out/ddp_rank_shares.png).

Same budget as adding_problem.py (T = 50, hidden 64, batch 64, Adam lr 1e-2, clip 1, at most
1000 steps, stop once the validation MSE is below 0.01): the LSTM solves it. On several machines,
list them in a hostfile (one line per machine: ``node1 slots=2``) and start
``mpirun --hostfile hosts -n 4 python examples/ddp_adding.py`` (docs/distributed.md).
"""
import argparse
import os

import numpy

import tinyseq as ts
import tinyseq.distributed as dist
import tinyseq.functional as F
from tinyseq import nn, optim, render
from tinyseq import train as training
from tinyseq.datasets import AddingProblem
from tinyseq.utils.data import DistributedSampler

from adding_problem import BASELINE, Adder, mse


def share_of(batch):
    """This rank's rows of ``batch`` (rank r takes rows r, r + R, r + 2R, ...)."""
    rows = list(DistributedSampler(batch, shuffle=False))
    return ts.tensor(batch.inputs[rows]), ts.tensor(batch.targets[rows])


def identical_on_all_ranks(model):
    """The largest difference between any rank's weights and rank 0's."""
    gap = ts.tensor(0.0)
    for p in model.parameters():
        rank0 = p.detach().clone()
        dist.broadcast(rank0, src=0)
        gap = ts.maximum(gap, (p.detach() - rank0).abs().max())
    dist.all_reduce(gap, dist.ReduceOp.MAX)
    return gap.item()


def backward_traced(model, inputs, targets, out_dir):
    """One backward under a trace. On rank 0: plot each rank's share of dL/dW_hh and return
    how far their sum is from the averaged gradient."""
    weight = model.module.rnn.weight_hh_l0
    with ts.trace() as tr:
        loss = F.mse_loss(model(inputs), targets)
    loss.backward()
    if dist.get_rank() != 0:
        return None
    shares = [share for _, share in tr.contributions(weight, by="rank")]
    os.makedirs(out_dir, exist_ok=True)
    render.plot_rank_contributions(tr, weight, f"{out_dir}/ddp_rank_shares.png")
    return float(numpy.abs(sum(shares) - weight.grad.numpy()).max())


def main(seq_len=50, steps=1000, batch_size=64, hidden_size=64, lr=1e-2, clip=1.0,
         eval_every=100, stop_below=0.01, n_test=1000, out_dir="out"):
    if not dist.is_initialized():
        dist.init_process_group("mpi")
    rank, ranks = dist.get_rank(), dist.get_world_size()
    if batch_size % ranks:
        raise ValueError(f"batch size {batch_size} does not split evenly over {ranks} ranks")
    ts.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(Adder("LSTM", hidden_size))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    valid = AddingProblem(500, seq_len, seed=1)
    test = AddingProblem(n_test, seq_len, seed=2)
    step = 0
    for step in training.progress(range(1, steps + 1), desc=f"T = {seq_len}", leave=False,
                                      enabled=None if rank == 0 else False):
        inputs, targets = share_of(AddingProblem(batch_size, seq_len, seed=1000 + step))
        optimizer.zero_grad()
        if step == 1:                   # the sum over ranks, shown
            sum_gap = backward_traced(model, inputs, targets, out_dir)
        else:
            F.mse_loss(model(inputs), targets).backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if step % eval_every == 0 and mse(model, valid) < stop_below:   # the same on every rank
            break
    test_mse = mse(model, test)
    weight_gap = identical_on_all_ranks(model)
    if rank == 0:
        holds = test_mse < 0.05 and weight_gap == 0.0 and sum_gap < 1e-6
        verdict = "holds" if holds else "does not hold"
        below = "<" if test_mse < 0.05 else ">="
        print(f"lesson ddp_adding: {ranks} rank(s) with {batch_size // ranks} samples each "
              f"train as one process on batches of {batch_size}, the gradient a sum of one share "
              f"per rank: test MSE {test_mse:.4f} {below} 0.05 (baseline {BASELINE:.3f}) at "
              f"step {step}, max |sum of shares - dL/dW_hh| = {sum_gap:.1e}, max weight "
              f"difference between ranks {weight_gap:.1e} -> {verdict}", flush=True)
    return {"test_mse": test_mse, "steps": step, "weight_gap": weight_gap, "ranks": ranks}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=50, help="sequence length T (default: 50)")
    parser.add_argument("--steps", type=int, default=1000,
                        help="most training steps (default: 1000)")
    parser.add_argument("--hidden-size", type=int, default=64, help="LSTM width (default: 64)")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="whole batch, split evenly over the ranks (default: 64)")
    args = parser.parse_args()
    main(seq_len=args.seq_len, steps=args.steps, hidden_size=args.hidden_size,
         batch_size=args.batch_size)

"""One rank of a data-parallel run launched by tests/test_distributed.py under mpirun:
``python tests/ddp_worker.py SCENARIO OUT_DIR``. Each rank writes what it saw to
OUT_DIR/rank<r>.npz for the test to compare."""
import contextlib
import datetime
import sys
import time

import numpy

import tinyseq as ts
import tinyseq.distributed as dist
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.datasets import AddingProblem
from tinyseq.utils.data import DistributedSampler

BATCH = 12          # whole batch per step; divides evenly over 2 and 3 ranks


class Adder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(2, 5, batch_first=True)
        self.fc = nn.Linear(5, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.fc(output[:, -1]).squeeze(-1)


def make_model(seed):
    ts.manual_seed(seed)
    return Adder().double()


def whole_batch(step):
    data = AddingProblem(BATCH, 6, seed=100 + step)
    return data.inputs.astype(numpy.float64), data.targets.astype(numpy.float64)


def shard(step):
    """This rank's share of the whole batch of ``step``, chosen by DistributedSampler."""
    inputs, targets = whole_batch(step)
    rows = list(DistributedSampler(range(BATCH), shuffle=True, seed=step))
    return inputs[rows], targets[rows]


def loss_of(model, inputs, targets):
    return F.mse_loss(model(ts.tensor(inputs)), ts.tensor(targets))


def grads(model):
    return {name: p.grad.numpy().copy() for name, p in model.named_parameters()}


def values(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


def prefixed(prefix, arrays):
    return {f"{prefix}/{name}": array for name, array in arrays.items()}


def one_step(rank):
    """Averaged gradients after one step, and a single process's on the whole batch."""
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=rank))   # rank 0's values win
    single = make_model(seed=0)
    loss_of(ddp, *shard(0)).backward()
    loss_of(single, *whole_batch(0)).backward()
    return {**prefixed("ddp", grads(ddp.module)), **prefixed("single", grads(single))}


def small_buckets(rank):
    """one_step with buckets of about 200 bytes: the gradients travel in several messages."""
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=rank), bucket_cap_mb=0.0002)
    single = make_model(seed=0)
    loss_of(ddp, *shard(0)).backward()
    loss_of(single, *whole_batch(0)).backward()
    return {"buckets": len(ddp.reducer.buckets), **prefixed("ddp", grads(ddp.module)),
            **prefixed("single", grads(single))}


def two_forwards(rank):
    """One backward through two forwards (the shard's halves, losses added), counting how often
    the gradients are averaged; a single process on the whole batch's halves beside it."""
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=0))
    single = make_model(seed=0)
    calls = []
    average_gradients = ddp.reducer.average_gradients
    ddp.reducer.average_gradients = lambda *args: calls.append(average_gradients(*args))
    inputs, targets = shard(0)
    half = len(inputs) // 2
    (loss_of(ddp, inputs[:half], targets[:half])
     + loss_of(ddp, inputs[half:], targets[half:])).backward()
    ranks = dist.get_world_size()
    shares = [list(DistributedSampler(range(BATCH), ranks, r, seed=0)) for r in range(ranks)]
    firsts = [row for share in shares for row in share[:half]]
    seconds = [row for share in shares for row in share[half:]]
    whole_inputs, whole_targets = whole_batch(0)
    (loss_of(single, whole_inputs[firsts], whole_targets[firsts])
     + loss_of(single, whole_inputs[seconds], whole_targets[seconds])).backward()
    return {"averagings": len(calls), **prefixed("ddp", grads(ddp.module)),
            **prefixed("single", grads(single))}


def fifty_steps(rank):
    """Parameters after 50 Adam steps on different shards."""
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=rank))
    optimizer = optim.Adam(ddp.parameters(), lr=1e-2)
    start = values(ddp.module)
    for step in range(50):
        optimizer.zero_grad()
        loss_of(ddp, *shard(step)).backward()
        optimizer.step()
    return {**prefixed("start", start), **prefixed("end", values(ddp.module))}


def raises(rank):
    """The last rank raises at step 3, while the others wait in the gradients' all-reduce."""
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=0))
    for step in range(10):
        if step == 3 and rank == dist.get_world_size() - 1:
            raise ValueError(f"rank {rank} fails on purpose at step {step}")
        loss_of(ddp, *shard(step)).backward()
    return {}


def leaves(rank):
    """The last rank leaves with sys.exit at step 3, while the others wait in the gradients'
    all-reduce (a group with a 3-second timeout)."""
    dist.destroy_process_group()
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=3))
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=0))
    for step in range(10):
        if step == 3 and rank == dist.get_world_size() - 1:
            sys.exit(3)
        loss_of(ddp, *shard(step)).backward()
    return {}


def late_leaver(rank, out_dir):
    """Every rank leaves without destroy_process_group, rank 0 seven seconds after the others
    (a group with a 3-second timeout): the others wait for it, then the job ends cleanly."""
    dist.destroy_process_group()
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=3))
    dist.barrier()
    if rank == 0:
        time.sleep(7)
    numpy.savez(f"{out_dir}/rank{rank}.npz", world_size=dist.get_world_size())
    sys.exit(0)


def no_sync(rank):
    """Two micro-batches: the first inside no_sync (local), the second outside (averaged),
    beside a single process accumulating both whole batches."""
    ddp = nn.parallel.DistributedDataParallel(make_model(seed=0))
    single = make_model(seed=0)
    local = make_model(seed=0)
    with ddp.no_sync():
        loss_of(ddp, *shard(0)).backward()
    after_first = grads(ddp.module)
    loss_of(ddp, *shard(1)).backward()
    loss_of(local, *shard(0)).backward()
    for step in (0, 1):
        loss_of(single, *whole_batch(step)).backward()
    return {**prefixed("after_first", after_first), **prefixed("local_first", grads(local)),
            **prefixed("ddp", grads(ddp.module)), **prefixed("single", grads(single))}


def torch_no_sync(rank):
    """The no_sync sequence, then a second synced backward without zero_grad, run by tinyseq
    and by PyTorch's DistributedDataParallel (gloo, over loopback) on the same weights."""
    import os

    import torch
    import torch.distributed

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    torch.distributed.init_process_group("gloo", rank=rank, world_size=dist.get_world_size())
    class TorchAdder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(2, 5, batch_first=True)
            self.fc = torch.nn.Linear(5, 1)

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.fc(output[:, -1]).squeeze(-1)

    model = make_model(seed=0)
    reference = TorchAdder().double()
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p.copy_(torch.from_numpy(dict(model.named_parameters())[name].numpy()))
    torch_model = torch.nn.parallel.DistributedDataParallel(reference)
    ddp = nn.parallel.DistributedDataParallel(model)

    def torch_loss(step):
        inputs, targets = (torch.from_numpy(a) for a in shard(step))
        return torch.nn.functional.mse_loss(torch_model(inputs), targets)

    result = {}
    for phase, steps in (("accumulated", (0, 1)), ("synced_twice", (2,))):
        for step in steps:
            last = step == steps[-1]
            with (contextlib.nullcontext() if last else ddp.no_sync()):
                loss_of(ddp, *shard(step)).backward()
            with (contextlib.nullcontext() if last else torch_model.no_sync()):
                torch_loss(step).backward()
        result.update(prefixed(f"{phase}/tinyseq", grads(ddp.module)))
        result.update({f"{phase}/torch/{name[len('module.'):]}": p.grad.numpy().copy()
                       for name, p in torch_model.named_parameters()})
    torch.distributed.destroy_process_group()
    return result


def traced(rank):
    """One step under a trace on the even ranks only (rank 0 among them) beside the same step
    untraced; each rank's local gradient."""
    result = {}
    for name, observe in (("plain", False), ("traced", rank % 2 == 0)):
        ddp = nn.parallel.DistributedDataParallel(make_model(seed=0))
        if observe:
            with ts.trace() as tr:
                loss = loss_of(ddp, *shard(0))
            loss.backward()
            if rank == 0:
                weight = ddp.module.rnn.weight_hh_l0
                shares = tr.contributions(weight, by="rank")
                result["ranks"] = numpy.array([r for r, _ in shares])
                result["shares"] = numpy.stack([share for _, share in shares])
        else:
            loss_of(ddp, *shard(0)).backward()
        result.update(prefixed(name, grads(ddp.module)))
    local = make_model(seed=0)
    loss_of(local, *shard(0)).backward()
    result.update(prefixed("local", grads(local)))
    return result


def build_normed(nn):
    """A model class, in tinyseq's ``nn`` or torch's: a frozen input layer, BatchNorm's buffers,
    and a head that a forward uses only when asked."""
    class Normed(nn.Module):
        def __init__(self):
            super().__init__()
            self.frozen = nn.Linear(3, 3)
            self.frozen.weight.requires_grad_(False)
            self.hidden = nn.Linear(3, 4)
            self.norm = nn.BatchNorm1d(4)
            self.out = nn.Linear(4, 1)
            self.extra = nn.Linear(4, 1)

        def forward(self, x, use_extra=False):
            h = self.norm(self.hidden(self.frozen(x)).tanh())
            return self.out(h) + self.extra(h) if use_extra else self.out(h)
    return Normed


UNEVEN = (4, 3, 2)      # rows per rank in model_state and torch_state


def uneven_shard(step, rank):
    """Rank ``rank``'s rows of step ``step``'s batch, ranks holding UNEVEN rows each."""
    sizes = UNEVEN[:dist.get_world_size()]
    data = numpy.random.default_rng(50 + step)
    inputs, targets = data.normal(size=(sum(sizes), 3)), data.normal(size=(sum(sizes), 1))
    start = sum(sizes[:rank])
    return inputs[start:start + sizes[rank]], targets[start:start + sizes[rank]]


def state(model):
    return {**values(model), **{name: b.numpy().copy() for name, b in model.named_buffers()}}


def model_state(rank):
    """Every parameter (a frozen one too) and BatchNorm's buffers after construction from a
    rank-dependent start, and after three steps on uneven shares with a head used on rank 1
    only followed by an evaluation (whose forward first takes rank 0's buffers)."""
    ts.manual_seed(rank)
    ddp = nn.parallel.DistributedDataParallel(build_normed(nn)().double(),
                                              find_unused_parameters=True)
    result = prefixed("start", state(ddp.module))
    optimizer = optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(3):
        inputs, targets = uneven_shard(step, rank)
        optimizer.zero_grad()
        F.mse_loss(ddp(ts.tensor(inputs), rank == 1), ts.tensor(targets)).backward()
        optimizer.step()
    ddp.eval()
    with ts.no_grad():
        result["evaluated"] = ddp(ts.tensor(uneven_shard(0, 0)[0])).numpy().copy()
    result.update(prefixed("trained", state(ddp.module)))
    return result


def torch_state(rank):
    """model_state run by tinyseq and by PyTorch's DistributedDataParallel (gloo) from the same
    rank-dependent values: parameters, buffers and gradients after each step."""
    import os

    import torch
    import torch.distributed

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    torch.distributed.init_process_group("gloo", rank=rank, world_size=dist.get_world_size())
    ts.manual_seed(rank)
    model = build_normed(nn)().double()
    reference = build_normed(torch.nn)().double()
    ours = state(model)
    with torch.no_grad():
        for name, tensor in [*reference.named_parameters(), *reference.named_buffers()]:
            tensor.copy_(torch.from_numpy(ours[name]))
    ddp = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    torch_ddp = torch.nn.parallel.DistributedDataParallel(reference, find_unused_parameters=True)
    optimizer = optim.SGD(ddp.parameters(), lr=0.1)
    torch_optimizer = torch.optim.SGD(torch_ddp.parameters(), lr=0.1)
    result = {}
    for step in range(3):
        inputs, targets = uneven_shard(step, rank)
        use_extra = rank == 1 and step < 2          # at step 2 no rank uses the extra head
        optimizer.zero_grad()
        torch_optimizer.zero_grad()
        F.mse_loss(ddp(ts.tensor(inputs), use_extra), ts.tensor(targets)).backward()
        torch.nn.functional.mse_loss(torch_ddp(torch.from_numpy(inputs), use_extra),
                                     torch.from_numpy(targets)).backward()
        for name, p in model.named_parameters():
            result[f"{step}/tinyseq/grad/{name}"] = (numpy.full(p.shape, numpy.nan)
                                                     if p.grad is None else p.grad.numpy().copy())
        for name, p in reference.named_parameters():
            result[f"{step}/torch/grad/{name}"] = (numpy.full(p.shape, numpy.nan)
                                                   if p.grad is None else p.grad.numpy().copy())
        result.update(prefixed(f"{step}/tinyseq/value", state(model)))
        result.update({f"{step}/torch/value/{name}": t.detach().numpy().copy()
                       for name, t in [*reference.named_parameters(),
                                       *reference.named_buffers()]})
        optimizer.step()
        torch_optimizer.step()
    torch.distributed.destroy_process_group()
    return result


def collectives(rank):
    """all_reduce with every op and broadcast, on rank-dependent values (a transposed view
    among them)."""
    result = {}
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        t = ts.tensor([[rank + 1.0, -rank], [2.0 ** rank, 0.5]], dtype=ts.float64)
        dist.all_reduce(t, getattr(dist.ReduceOp, op))
        result[op] = t.numpy().copy()
    bits = ts.tensor([1 << rank, 3])
    dist.all_reduce(bits, dist.ReduceOp.BOR)
    result["BOR"] = bits.numpy().copy()
    view = ts.tensor(numpy.arange(6.0).reshape(2, 3) * (rank + 1)).t()
    dist.broadcast(view, src=1)
    result["broadcast"] = view.numpy().copy()
    return result


def small_dtypes(rank):
    """bool tensors reduced with every op, float16 ones summed and broadcast, and a float16
    model's gradients averaged (MPI has no bool reductions and no half type)."""
    result = {}
    for op in ("SUM", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        flags = ts.tensor([rank == 0, rank == 1, True, False])
        dist.all_reduce(flags, getattr(dist.ReduceOp, op))
        result[f"bool/{op}"] = flags.numpy().copy()
    for op in ("SUM", "AVG", "MAX"):
        half = ts.tensor([1.5 * rank, 0.25, -2.0], dtype=ts.float16)
        dist.all_reduce(half, getattr(dist.ReduceOp, op))
        result[f"half/{op}"] = half.numpy().copy()
    for name, dtype in (("bool", ts.bool), ("half", ts.float16)):
        sent = ts.tensor([[rank, 1 - rank]], dtype=dtype)
        dist.broadcast(sent, src=1)
        result[f"broadcast/{name}"] = sent.numpy().copy()
    ts.manual_seed(rank)
    ddp = nn.parallel.DistributedDataParallel(nn.Linear(3, 1).half())
    ddp(ts.full((2, 3), rank + 1.0, dtype=ts.float16)).sum().backward()
    result["half_model/weight"] = ddp.module.weight.numpy().copy()
    result["half_model/grad"] = ddp.module.weight.grad.numpy().copy()
    return result


def differ(rank):
    """Rank 1 builds a wider model than the others."""
    ts.manual_seed(0)
    nn.parallel.DistributedDataParallel(nn.Linear(3, 2 + (rank == 1)))
    return {}


SCENARIOS = {f.__name__: f for f in (one_step, small_buckets, two_forwards, fifty_steps, raises,
                                     leaves, no_sync, torch_no_sync, traced, collectives,
                                     differ, model_state, torch_state, small_dtypes)}


def main(scenario, out_dir):
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    if scenario == "late_leaver":
        late_leaver(rank, out_dir)
    result = SCENARIOS[scenario](rank)
    numpy.savez(f"{out_dir}/rank{rank}.npz", world_size=dist.get_world_size(), **result)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])

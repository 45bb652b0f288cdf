"""Data-parallel training across processes, with ``torch.distributed``'s names.

    import tinyseq.distributed as dist
    dist.init_process_group("mpi")          # under: mpirun -n 2 python train.py
    model = nn.parallel.DistributedDataParallel(model)

Every process (rank) runs the same script on its own share of each batch. The engine that moves
the numbers is MPI's (through mpi4py, on NumPy arrays) or, for CuPy arrays on GPUs, NCCL's
(through ``cupyx.distributed``). Nothing of either is imported until ``init_process_group``
asks for it, so ``import tinyseq`` never needs them.

The lesson is the one of backpropagation through time in another direction: a shared weight's
gradient is a sum of contributions, one per time step there, one per rank here. With the loss
a mean over the whole batch and the batch split evenly, dL/dW = (1/R) Σ_r dL_r/dW: each rank
computes its term, ``all_reduce`` adds them up, and dividing by R gives every rank the same
average, so every rank takes the same optimizer step and the models stay identical.
"""
import atexit
import datetime
import importlib.util
import os
import sys
import time
import zlib

import numpy

from . import backend
from .modes import no_grad
from .tensor import Tensor

__all__ = ["Backend", "GradientReducer", "ReduceOp", "all_reduce", "barrier", "broadcast",
           "broadcast_coalesced", "default_pg_timeout", "destroy_process_group", "get_backend",
           "get_rank", "get_world_size", "init_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available"]


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values (``torch.distributed.ReduceOp``)."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class Backend:
    """The engines ``init_process_group`` knows (``torch.distributed.Backend``)."""
    MPI = "mpi"
    NCCL = "nccl"


_OPS = (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX,
        ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)
_group = None       # the default process group of this process, once initialized
default_pg_timeout = datetime.timedelta(minutes=30)     # torch.distributed's but NCCL's


# --- the engines ------------------------------------------------------------------------------
class _MPIGroup:
    """All ranks started by mpirun, talking through MPI (mpi4py). Arrays that are not NumPy's
    are staged through host memory, so any MPI build works. Every collective is started
    without blocking and waited for at most ``timeout`` seconds, so a rank whose partners
    left (a ``sys.exit`` on one rank) raises instead of waiting forever."""

    name = Backend.MPI

    def __init__(self, timeout):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()    # our own channel: a script's messages never mix in
        self.exit_comm = MPI.COMM_WORLD.Dup()   # where ranks meet at exit (see leave)
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = timeout
        self.mpi_ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
                        ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR,
                        ReduceOp.BXOR: MPI.BXOR}

    def all_reduce(self, array, op):
        """Combine ``array`` (contiguous) over the ranks in place."""
        host = backend.to_numpy(array)
        if host.dtype == numpy.bool_:
            # MPI reduces no bool: its bytes (0 or 1) are reduced, a sum being an or and a
            # product an and, as torch.distributed does for bool tensors
            buffer = _bytes(host)
            op = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
        else:
            buffer = _reducible(host)
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.mpi_ops[op]),
                   "all_reduce")
        if host.dtype == numpy.float16:
            host[...] = buffer
        if host is not array:
            array[...] = backend.device_of(array).xp.asarray(host)

    def start_sum(self, array):
        """Begin summing ``array`` (contiguous, floating) over the ranks in place; returns what
        to call to wait for the result."""
        host = backend.to_numpy(array)
        summed = _reducible(host)
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, summed, op=self.MPI.SUM)

        def wait():
            self._wait(request, "DistributedDataParallel: averaging gradients")
            if summed is not host:
                host[...] = summed
            if host is not array:
                array[...] = backend.device_of(array).xp.asarray(host)
        return wait

    def broadcast(self, array, src):
        host = backend.to_numpy(array)
        # bytes: any dtype, float16 and bool too
        self._wait(self.comm.Ibcast(_bytes(host), root=src), "broadcast")
        if host is not array:
            array[...] = backend.device_of(array).xp.asarray(host)

    def gather(self, array, dst):
        """Every rank's ``array`` stacked (ranks first) on rank ``dst``; None elsewhere."""
        host = backend.to_numpy(array)
        gathered = numpy.empty((self.size,) + host.shape, host.dtype) if self.rank == dst \
            else None
        self._wait(self.comm.Igather(_bytes(host), None if gathered is None else _bytes(gathered),
                                     root=dst), "gather")
        return gathered

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "barrier")

    def _wait(self, request, what):
        """Wait for ``request``, raising once ``timeout`` seconds pass."""
        if not _finished(request, self.timeout):
            raise RuntimeError(f"{what}: rank {self.rank} waited {self.timeout:g} s for the "
                               f"other ranks of {self.size} (init_process_group's timeout); "
                               f"a rank has left or is stuck")

    def leave(self):
        """At exit, wait up to twice the timeout for every rank to leave too, on a channel of
        its own (the others may still be inside a collective on ours). A rank that leaves
        early (``sys.exit``) then waits here, not in MPI_Finalize, while the others time out
        and abort the job: Open MPI does not always manage to abort a job one of whose
        processes is inside MPI_Finalize."""
        _finished(self.exit_comm.Ibarrier(), 2 * self.timeout)

    def abort(self, code):
        self.MPI.COMM_WORLD.Abort(code)

    def close(self):
        self.comm.Free()
        self.exit_comm.Free()


def _finished(request, timeout):
    """Whether MPI's ``request`` completes within ``timeout`` seconds. The pauses between
    checks grow to a millisecond, so a rank that waits leaves its core to the others."""
    deadline = time.monotonic() + timeout
    pause = 1e-5
    while not request.Test():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(2 * pause, 1e-3)
    return True


def _reducible(array):
    """``array`` itself, or a float32 copy of a float16 one: MPI has no half type."""
    return array.astype(numpy.float32) if array.dtype == numpy.float16 else array


def _bytes(array):
    """The bytes of a contiguous NumPy array, as a flat uint8 view."""
    return array.reshape(-1).view(numpy.uint8)


class _NCCLGroup:
    """One GPU per rank, talking through NVIDIA's NCCL (``cupyx.distributed``). Rank and world
    size come from the arguments, else RANK and WORLD_SIZE (torchrun's variables), else
    mpirun's; the rendezvous is at MASTER_ADDR:MASTER_PORT (default 127.0.0.1:13333) and
    each process uses GPU LOCAL_RANK (or mpirun's local rank)."""

    name = Backend.NCCL

    def __init__(self, world_size, rank):
        import cupy
        import cupyx.distributed
        env = os.environ
        if world_size < 0:
            world_size = int(env.get("WORLD_SIZE", env.get("OMPI_COMM_WORLD_SIZE", "1")))
        if rank < 0:
            rank = int(env.get("RANK", env.get("OMPI_COMM_WORLD_RANK", "0")))
        local_rank = int(env.get("LOCAL_RANK", env.get("OMPI_COMM_WORLD_LOCAL_RANK", rank)))
        cupy.cuda.Device(local_rank).use()
        self.cupy = cupy
        self.rank, self.size = rank, world_size
        self.comm = cupyx.distributed.init_process_group(
            world_size, rank, backend="nccl", host=env.get("MASTER_ADDR", "127.0.0.1"),
            port=int(env.get("MASTER_PORT", "13333")))

    def _on_gpu(self, array):
        if isinstance(array, self.cupy.ndarray):
            return array
        return self.cupy.asarray(array)

    def all_reduce(self, array, op):
        if op not in (ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX):
            raise ValueError(f"all_reduce: backend 'nccl' has no ReduceOp {op!r}")
        device_array = self._on_gpu(array)
        self.comm.all_reduce(device_array, device_array, {ReduceOp.PRODUCT: "prod"}.get(op, op))
        if device_array is not array:
            array[...] = self.cupy.asnumpy(device_array)

    def start_sum(self, array):
        self.all_reduce(array, ReduceOp.SUM)        # queued on the GPU's stream in order
        return lambda: None

    def broadcast(self, array, src):
        device_array = self._on_gpu(array)
        self.comm.broadcast(device_array, src)
        if device_array is not array:
            array[...] = self.cupy.asnumpy(device_array)

    def gather(self, array, dst):
        device_array = self._on_gpu(array)
        gathered = self.cupy.empty((self.size,) + device_array.shape, device_array.dtype)
        self.comm.all_gather(device_array, gathered, device_array.size)
        return backend.to_numpy(gathered) if self.rank == dst else None

    def barrier(self):
        self.comm.barrier()

    def abort(self, code):
        os._exit(code)      # the launcher (mpirun, torchrun) stops the others when a rank fails

    def leave(self):
        pass

    def close(self):
        pass


# --- the process group ------------------------------------------------------------------------
def is_mpi_available():
    """Whether mpi4py can be imported (``pip install 'tinyseq[distributed]'``)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available():
    """Whether CuPy, which brings ``cupyx.distributed``, can be imported."""
    return importlib.util.find_spec("cupy") is not None


def is_available():
    """Whether some backend can be used."""
    return is_mpi_available() or is_nccl_available()


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1):
    """Join the default process group of every rank started together.

    ``backend="mpi"``: the processes started by ``mpirun -n R python script.py``; rank and
    world size are MPI's (``world_size``/``rank``, when given, must agree). A script started
    without mpirun is a group of one. ``backend="nccl"``: CuPy arrays on one GPU per rank,
    through ``cupyx.distributed`` (see ``_NCCLGroup`` for where rank and size come from).

    With more than one rank, an exception that escapes on any rank aborts all of them
    (``MPI_Abort``), so a failure never leaves the others waiting in a collective forever.
    Over MPI, a collective that the other ranks do not join within ``timeout`` (a
    ``datetime.timedelta``, default 30 minutes as torch.distributed's) raises RuntimeError,
    which then aborts every rank: a rank that leaves with ``sys.exit`` stops the job too."""
    global _group
    if _group is not None:
        raise ValueError("init_process_group: trying to initialize the default process "
                           "group twice!")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported; "
                         f"MPI's launcher or the environment (env://) says who the ranks are")
    if timeout is None:
        timeout = default_pg_timeout
    if not isinstance(timeout, datetime.timedelta) or timeout.total_seconds() <= 0:
        raise ValueError(f"init_process_group: timeout must be a positive datetime.timedelta, "
                         f"got {timeout!r}")
    name = str(backend).lower()
    if name == Backend.MPI:
        if not is_mpi_available():
            raise RuntimeError("init_process_group: backend 'mpi' needs mpi4py and an MPI: "
                               "apt-get install openmpi-bin libopenmpi-dev; "
                               "pip install 'tinyseq[distributed]'")
        group = _MPIGroup(timeout.total_seconds())
        for what, given, actual in (("world_size", world_size, group.size),
                                    ("rank", rank, group.rank)):
            if given >= 0 and given != actual:
                group.close()
                raise ValueError(f"init_process_group: {what}={given} but MPI started this "
                                 f"process with {what} {actual}")
    elif name == Backend.NCCL:
        if not is_nccl_available():
            raise RuntimeError("init_process_group: backend 'nccl' needs CuPy and GPUs: "
                               "pip install 'tinyseq[cuda]'")
        group = _NCCLGroup(world_size, rank)
    else:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; tinyseq has 'mpi' "
                         f"(NumPy arrays, any machine) and 'nccl' (CuPy arrays on GPUs)")
    _group = group
    if group.size > 1:
        _abort_on_uncaught_exception(group)
        atexit.register(_leave_together)


def _leave_together():
    """At exit with the group still joined, wait for the other ranks (``_MPIGroup.leave``)."""
    if _group is not None:
        _group.leave()


def _abort_on_uncaught_exception(group):
    """Print an uncaught exception as usual, then abort every rank."""
    previous_hook = sys.excepthook

    def hook(kind, value, traceback):
        previous_hook(kind, value, traceback)
        sys.stderr.write(f"tinyseq.distributed: rank {group.rank} raised {kind.__name__}; "
                         f"aborting all {group.size} ranks\n")
        sys.stderr.flush()
        group.abort(1)

    hook.previous = previous_hook
    sys.excepthook = hook


def destroy_process_group():
    """Leave the default process group (``init_process_group`` may be called again)."""
    global _group
    group = _require_group("destroy_process_group")
    _group = None
    if hasattr(sys.excepthook, "previous"):
        sys.excepthook = sys.excepthook.previous
    atexit.unregister(_leave_together)
    group.close()


def is_initialized():
    """Whether this process has joined the default process group."""
    return _group is not None


def _require_group(caller):
    if _group is None:
        raise ValueError(f"{caller}: Default process group has not been initialized, please "
                           f"make sure to call init_process_group.")
    return _group


def get_rank():
    """This process's number, 0 .. world size - 1."""
    return _require_group("get_rank").rank


def get_world_size():
    """How many processes the default group has."""
    return _require_group("get_world_size").size


def get_backend():
    """"mpi" or "nccl"."""
    return _require_group("get_backend").name


def barrier():
    """Wait until every rank has reached this call."""
    _require_group("barrier").barrier()


# --- collectives on tensors -------------------------------------------------------------------
def _check_tensor(caller, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: expected a Tensor, got {type(tensor).__name__}")


def _contiguous_copy(tensor):
    return backend.device_of(tensor.array).xp.ascontiguousarray(tensor.array).copy()


def all_reduce(tensor, op=ReduceOp.SUM):
    """Combine ``tensor`` over all ranks with ``op`` and write the result into it, on every
    rank (in place, as ``torch.distributed.all_reduce``). ``ReduceOp.AVG`` is the sum divided
    by the world size (floating tensors only)."""
    group = _require_group("all_reduce")
    _check_tensor("all_reduce", tensor)
    if op not in _OPS:
        raise ValueError(f"all_reduce: unknown op {op!r}; use one of ReduceOp's: "
                         f"{', '.join(_OPS)}")
    if op == ReduceOp.AVG and tensor.array.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got {tensor.dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and tensor.array.dtype.kind not in "iub":
        raise TypeError(f"all_reduce: ReduceOp.{op.upper()} needs an integer or bool tensor, "
                        f"got {tensor.dtype}")
    values = _contiguous_copy(tensor)
    group.all_reduce(values, ReduceOp.SUM if op == ReduceOp.AVG else op)
    if op == ReduceOp.AVG:
        values /= group.size
    _write(tensor, values)


def broadcast(tensor, src=0):
    """Overwrite ``tensor`` on every rank with its value on rank ``src`` (in place)."""
    group = _require_group("broadcast")
    _check_tensor("broadcast", tensor)
    if not 0 <= src < group.size:
        raise ValueError(f"broadcast: src {src} is not a rank of a group of {group.size}")
    values = _contiguous_copy(tensor)
    group.broadcast(values, src)
    _write(tensor, values)


def broadcast_coalesced(tensors, src=0, bucket_cap_mb=25):
    """Overwrite every tensor of ``tensors`` (a model's parameters and buffers) on every rank
    with its value on rank ``src``, packed by dtype into flat buckets of about
    ``bucket_cap_mb`` megabytes so that a whole model travels in a few messages. Raises on
    every rank when the ranks' tensors differ in number, shapes or dtypes."""
    group = _require_group("broadcast_coalesced")
    tensors = list(tensors)
    if not 0 <= src < group.size:
        raise ValueError(f"broadcast_coalesced: src {src} is not a rank of a group of "
                         f"{group.size}")
    _check_same_layout(group, "broadcast_coalesced", tensors, "tensors")
    for bucket in _buckets(tensors, bucket_cap_mb * 2 ** 20):
        buffer = bucket.pack([t.array for t in bucket.parameters])
        group.broadcast(buffer, src)
        for t, values in zip(bucket.parameters, bucket.unpack(buffer)):
            t.array[...] = values


def _write(tensor, values):
    """Change ``tensor`` in place as a tensor op does, so autograd sees the new version."""
    with no_grad():
        tensor.copy_(Tensor.from_array(values, False))


# --- averaging gradients (DistributedDataParallel's engine) -----------------------------------
class GradientReducer:
    """Averages the ``.grad`` of ``parameters`` over all ranks in place.

    The gradients are packed into flat buckets of about ``bucket_cap_mb`` megabytes (in
    reverse parameter order, as PyTorch's), each bucket summed with one collective, all of
    them in flight at once, then divided by the world size. A parameter without a gradient
    on a rank counts as zero there; one without a gradient on every rank keeps ``.grad``
    None."""

    def __init__(self, parameters, bucket_cap_mb=25):
        group = _require_group("DistributedDataParallel")
        self.parameters = [p for p in parameters if p.requires_grad]
        self.buckets = _buckets(self.parameters, bucket_cap_mb * 2 ** 20)
        _check_same_layout(group, "DistributedDataParallel", self.parameters, "models")

    def average_gradients(self, observers=()):
        """Replace every rank's ``.grad`` by the average over ranks. With ``observers`` (on
        any rank), rank 0's hear each rank's share through ``rank_shares``."""
        group = _require_group("DistributedDataParallel")
        flags = numpy.zeros(len(self.parameters) + 1, numpy.int32)
        flags[:-1] = [p.grad is not None for p in self.parameters]
        flags[-1] = bool(observers)
        group.all_reduce(flags, ReduceOp.MAX)
        observed = bool(flags[-1])
        used = {id(p) for p, flag in zip(self.parameters, flags) if flag}
        pending = []
        for bucket in self.buckets:
            buffer = bucket.pack([None if p.grad is None else p.grad.array
                                  for p in bucket.parameters])
            gathered = group.gather(buffer, 0) if observed else None
            pending.append((bucket, buffer, gathered, group.start_sum(buffer)))
        for bucket, buffer, gathered, wait in pending:
            wait()
            buffer /= group.size
            for p, average in zip(bucket.parameters, bucket.unpack(buffer)):
                if id(p) not in used:
                    continue
                if p.grad is None:
                    p.grad = Tensor.from_array(average.copy(), False)
                else:
                    p.grad.array[...] = average
            if gathered is not None:
                _report_shares(bucket, gathered, group.size, used, observers)


def _report_shares(bucket, gathered, world_size, used, observers):
    per_rank = [bucket.unpack(row) for row in gathered]
    for k, p in enumerate(bucket.parameters):
        if id(p) in used:
            shares = [rank_values[k] / world_size for rank_values in per_rank]
            for observer in observers:
                observer.rank_shares(p, shares)


class _Bucket:
    """Parameters of one dtype whose values travel together in one flat array."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.parameters = []
        self.offsets = [0]

    @property
    def nbytes(self):
        return self.offsets[-1] * self.dtype.itemsize

    def add(self, p):
        self.parameters.append(p)
        self.offsets.append(self.offsets[-1] + p.array.size)

    def pack(self, arrays):
        """One flat array of ``arrays`` (one per parameter; None packs zeros)."""
        xp = backend.device_of(self.parameters[0].array).xp
        flat = xp.zeros(self.offsets[-1], self.dtype)
        for array, start, end in zip(arrays, self.offsets, self.offsets[1:]):
            if array is not None:
                flat[start:end] = array.reshape(-1)
        return flat

    def unpack(self, flat):
        """Views of ``flat`` shaped as the parameters."""
        return [flat[start:end].reshape(p.shape)
                for p, start, end in zip(self.parameters, self.offsets, self.offsets[1:])]


def _buckets(parameters, cap_bytes):
    buckets = []
    open_bucket = {}                    # dtype -> the bucket being filled
    for p in reversed(parameters):
        dtype = p.array.dtype
        bucket = open_bucket.get(dtype)
        if bucket is None or bucket.nbytes >= cap_bytes:
            bucket = open_bucket[dtype] = _Bucket(dtype)
            buckets.append(bucket)
        bucket.add(p)
    return buckets


def _check_same_layout(group, caller, tensors, what):
    """Raise on every rank when the ranks' ``tensors`` differ in number, shapes or dtypes."""
    layout = ";".join(f"{tuple(t.shape)} {t.array.dtype}" for t in tensors)
    fingerprint = numpy.array([len(tensors), zlib.crc32(layout.encode())], numpy.int64)
    bounds = numpy.concatenate([fingerprint, -fingerprint])
    group.all_reduce(bounds, ReduceOp.MAX)
    if (bounds[:2] != -bounds[2:]).any():
        raise RuntimeError(f"{caller}: the ranks' {what} differ (rank {group.rank} has "
                           f"{len(tensors)} tensors: {layout}); every rank must build the "
                           f"same model")

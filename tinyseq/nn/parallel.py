"""``nn.parallel.DistributedDataParallel``: one model per process, gradients averaged over them."""
import contextlib

from .. import checks, distributed
from ..autograd import Function, queue_callback
from ..modes import is_grad_enabled
from ..tensor import Tensor
from .module import Module

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training over the default process group
    (``tinyseq.distributed.init_process_group`` first).

    At construction every rank gets rank 0's parameter values (those that do not require grad
    too) and buffers (BatchNorm's running statistics). Each forward marks its outputs; the
    backward pass through them ends by averaging every parameter's ``.grad`` over the ranks
    (see ``distributed.GradientReducer``: bucketed, in place), so after ``backward()`` all
    ranks hold the same gradient, the one a single process gets on the whole batch when each
    rank's loss is the mean over its equal share.

    With ``broadcast_buffers`` (the default) a forward that follows a training forward (grad
    enabled, outside ``no_sync``) first gives every rank rank 0's buffers, as PyTorch's does;
    such a forward is then a collective that every rank must call. A parameter that a rank's
    forward does not use counts as a zero gradient there, whatever ``find_unused_parameters``
    says (PyTorch's option is accepted so its scripts run).

    The averaging runs once backward has summed every gradient, not overlapped with it: the
    engine sums a weight shared by many ops (a recurrent weight over T steps) in one product
    at the very end of the pass, so no weight's gradient is complete any earlier.

    Inside ``no_sync()`` forwards are not marked: their backward only accumulates locally, and
    the first backward of a forward outside averages the whole accumulated ``.grad``, as in
    PyTorch. The wrapped model is ``.module`` (state_dict keys start with ``module.``)."""

    def __init__(self, module, *, broadcast_buffers=True, bucket_cap_mb=25,
                 find_unused_parameters=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        name = "DistributedDataParallel"
        bucket_cap_mb = checks.real(name, "bucket_cap_mb", bucket_cap_mb, minimum=0.0)
        broadcast_buffers = checks.flag(name, "broadcast_buffers", broadcast_buffers)
        find_unused_parameters = checks.flag(name, "find_unused_parameters",
                                             find_unused_parameters)
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True     # whether the last forward was a training one
        self.reducer = distributed.GradientReducer(module.parameters(), bucket_cap_mb)
        self.sync_point = _SyncPoint(self.reducer)
        state = list(module.parameters())
        if self.broadcast_buffers:
            state += list(module.buffers())
        distributed.broadcast_coalesced(state, src=0, bucket_cap_mb=bucket_cap_mb)

    def forward(self, *inputs, **kwargs):
        if self.require_forward_param_sync and self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                distributed.broadcast_coalesced(buffers, src=0)
        output = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = self.require_backward_grad_sync and is_grad_enabled()
        if self.require_forward_param_sync:
            self.sync_point.queued = False      # what a failed backward left queued is gone
            output = _mark(output, self.sync_point)
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally without averaging them."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


class _SyncPoint:
    """The marked outputs of one DistributedDataParallel: the first op of a backward pass that
    reaches any of them queues one averaging of the gradients, run when that pass ends, so a
    loss over several forwards (a model called twice) is averaged once, as in PyTorch."""

    __slots__ = ("reducer", "queued")

    def __init__(self, reducer):
        self.reducer = reducer
        self.queued = False

    def queue(self, observers):
        if not self.queued:
            self.queued = True
            queue_callback(lambda: self.average(observers))

    def average(self, observers):
        self.queued = False
        self.reducer.average_gradients(observers)


class SyncGradients(Function):
    """y = x;  dx = g, and the backward pass that goes through it ends by averaging the
    parameters' gradients over the ranks"""
    __slots__ = ("sync_point",)
    takes_options = True

    def __init__(self, sync_point):
        self.sync_point = sync_point

    def forward(self, xp, x):
        return x.view()

    def backward(self, xp, g, retain_graph=False, observers=()):
        self.sync_point.queue(observers)
        return (g,)


def _mark(output, sync_point):
    """``output`` (a tensor, or tuples, named tuples such as PackedSequence, lists and dicts
    of them) with every tensor that requires grad passed through SyncGradients."""
    if isinstance(output, Tensor):
        return SyncGradients(sync_point).apply(output) if output.requires_grad else output
    if isinstance(output, tuple) and hasattr(output, "_fields"):
        return type(output)(*(_mark(item, sync_point) for item in output))
    if isinstance(output, (tuple, list)):
        return type(output)(_mark(item, sync_point) for item in output)
    if isinstance(output, dict):
        return {key: _mark(value, sync_point) for key, value in output.items()}
    return output

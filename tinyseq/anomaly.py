"""Anomaly detection: an observer that raises at the first op whose output or gradient holds
NaN or Inf, naming the op, its inputs, and the time step and module it ran in."""
import weakref

from . import backend
from .accumulate import dense
from .autograd import (ContextDecorator, Observer, add_observer, module_path_text,
                       remove_observer, shapes_text, state)

_where_made = weakref.WeakKeyDictionary()  # node -> where it ran, for backward's messages


class AnomalyCheck(Observer):
    """Checks every op's output as it is made and every gradient of the backward passes that
    start while it is registered."""

    def op_created(self, node, inputs, output):
        where = _where_text(state.time_step)
        if output.grad_fn is node:
            _where_made[node] = where
        xp = backend.device_of(output.array).xp
        if not _nonfinite(xp, output.array):
            return
        steps = getattr(node, "time_steps", None)
        if steps is not None:            # an op with a time loop inside: name the first bad step
            for t in steps():
                index = (slice(None),) * node.time_axis + (t,)
                if _nonfinite(xp, output.array[index]):
                    where = _where_text(t)
                    break
        raise FloatingPointError(f"detect_anomaly: {node.name} produced NaN/Inf in forward "
                                 f"(inputs {shapes_text(inputs)}; {where})")

    def step_grad(self, node, time_step, grad):
        xp = backend.device_of(grad).xp
        if _nonfinite(xp, grad):
            raise FloatingPointError(
                f"detect_anomaly: {node.name} backward produced NaN/Inf in the gradient of "
                f"its state at {_where(node, time_step)} (inputs {shapes_text(node.inputs)})")

    def input_grads(self, node, grads):
        for i, (t, grad) in enumerate(zip(node.inputs, grads)):
            if grad is None or not t.requires_grad:
                continue
            grad = dense(grad)
            if _nonfinite(backend.device_of(grad).xp, grad):
                raise FloatingPointError(
                    f"detect_anomaly: {node.name} backward produced NaN/Inf in the gradient of "
                    f"input {i} (inputs {shapes_text(node.inputs)}; {_where(node)})")


def _where_text(time_step):
    """Where new ops run now: the time step and module path (from the outermost module's
    class, e.g. ``Seq2Seq.encoder``)."""
    path = state.module_path
    module = type(path[0][1]).__name__ if path else ""
    inner = module_path_text(path)
    text = ".".join(part for part in (module, inner) if part)
    return f"time step {time_step}, module {text or '(none)'}"


def _where(node, time_step=None):
    where = _where_made.get(node)
    if where is None:
        return "time step and module unknown: made outside detect_anomaly"
    if time_step is not None:
        return f"time step {time_step}, " + where.split(", ", 1)[1]
    return where


def _nonfinite(xp, array):
    return array.dtype.kind in "fc" and not bool(xp.isfinite(array).all())


class detect_anomaly(ContextDecorator):
    """Context manager (and decorator) that raises ``FloatingPointError`` at the first op whose
    forward output, or whose backward's gradient, holds NaN or Inf.

        with ts.detect_anomaly():
            loss = model(x)      # raises at the first op that makes NaN/Inf, naming it
            loss.backward()      # raises at the first op whose backward makes NaN/Inf

    The message names the op, its input shapes, and the time step (``ts.timestep``, or the
    step inside a fused recurrent layer) and module path it ran in (``Seq2Seq.encoder``).
    Backward checks gradients when the mode is on as backward starts; the time step and module
    path of a node are known when the node was made in the mode too. The mode is per thread
    and changes no number: off, nothing is checked.
    """

    def __init__(self, enabled=True):
        self.enabled = enabled

    def __enter__(self):
        self._removed = [o for o in state.observers if isinstance(o, AnomalyCheck)]
        for observer in self._removed:
            remove_observer(observer)
        self._check = AnomalyCheck() if self.enabled else None
        if self._check is not None:
            add_observer(self._check)

    def __exit__(self, *exc):
        if self._check is not None:
            remove_observer(self._check)
        for observer in self._removed:
            add_observer(observer)


def is_anomaly_enabled():
    """Whether ``detect_anomaly`` is on in this thread."""
    return any(isinstance(o, AnomalyCheck) for o in state.observers)

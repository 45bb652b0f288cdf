"""Anomaly detection: an observer that raises at the first op whose output or gradient holds
NaN or Inf, naming the op, its inputs, and the time step and module it ran in."""
import weakref

from . import backend
from .accumulate import dense
from .autograd import shapes_text
from .modes import ContextDecorator, module_path_text, state
from .observers import Observer, add_observer, remove_observer

_where_made = weakref.WeakKeyDictionary()  # node -> (time step, module) it ran in, for backward


class AnomalyCheck(Observer):
    """Checks every op's output as it is made and every gradient of the backward passes that
    start while it is registered."""

    def op_created(self, node, inputs, output):
        time_step, module = state.time_step, _module_text()
        if output.grad_fn is node:
            _where_made[node] = (time_step, module)
        xp = backend.device_of(output.array).xp
        if not _nonfinite(xp, output.array):
            return
        steps = getattr(node, "time_steps", None)
        if steps is not None:            # an op with a time loop inside: name the first bad step
            for t in steps():
                index = (slice(None),) * node.time_axis + (t,)
                if _nonfinite(xp, output.array[index]):
                    time_step = t
                    break
        raise FloatingPointError(f"detect_anomaly: {node.name} produced NaN/Inf in forward "
                                 f"(inputs {shapes_text(inputs)}; "
                                 f"{_where_text(time_step, module)})")

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


def _module_text():
    """The module new ops run in, from the outermost module's class (``Seq2Seq.encoder``)."""
    path = state.module_path
    outermost = type(path[0][1]).__name__ if path else ""
    return ".".join(part for part in (outermost, module_path_text(path)) if part) or "(none)"


def _where_text(time_step, module):
    return f"time step {time_step}, module {module}"


def _where(node, time_step=None):
    """Where ``node`` ran (at ``time_step`` of its time loop, when given)."""
    made = _where_made.get(node)
    if made is None:
        return "time step and module unknown: made outside detect_anomaly"
    return _where_text(made[0] if time_step is None else time_step, made[1])


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


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` turns ``detect_anomaly``'s checks on in this thread from
    the call on, ``False`` off, as PyTorch's; in a ``with`` statement the previous setting
    comes back at its end. ``check_nan=False`` leaves nothing to check, so the mode is off."""

    def __init__(self, mode, check_nan=True):
        self.previous = is_anomaly_enabled()
        _set_enabled(bool(mode) and bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set_enabled(self.previous)


def _set_enabled(enabled):
    if enabled and not is_anomaly_enabled():
        add_observer(AnomalyCheck())
    elif not enabled:
        for observer in [o for o in state.observers if isinstance(o, AnomalyCheck)]:
            remove_observer(observer)

"""Per-thread modes: the switches every op reads, as in PyTorch.

``state`` holds, for the current thread, whether a graph is recorded (``no_grad``,
``enable_grad``), the observers registered (``tinyseq.observers``), and the time step, module
path and scope that new ops are tagged with (``timestep``, ``scope``).
"""
import copy
import functools
import threading

import numpy

from . import checks


class _Modes(threading.local):
    """The switches read on every op, one set per thread."""

    def __init__(self):
        self.grad_enabled = True
        self.observers = ()        # every observer registered in this thread
        self.graph_observers = ()  # weak references to those that follow their ops into backward
        self.time_step = None
        self.steps_at_once = None  # (range of steps, axis) inside timestep(range(T))
        self.module_path = ()      # ((name, module), ...) of the modules being called
        self.scope = ()
        self.backward_callbacks = None  # what runs when the backward pass now running ends


state = _Modes()



class ContextDecorator:
    """A context manager that also decorates: every call of the decorated function runs
    inside a fresh copy of it (so nested and recursive calls each restore their own state)."""

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with copy.copy(self):
                return function(*args, **kwargs)
        return wrapper


# How many threads have grad mode off now. While it is 0, grad is on in every thread, and an op
# need not read this thread's state to know it (a thread that ends inside no_grad keeps the
# count above 0, which only means ops read their thread's state).
threads_without_grad = 0
_threads_lock = threading.Lock()


def _set_grad_enabled(enabled):
    """Turn this thread's grad mode on or off, counting it in ``threads_without_grad``."""
    global threads_without_grad
    if enabled != state.grad_enabled:
        with _threads_lock:
            threads_without_grad += -1 if enabled else 1
            state.grad_enabled = enabled


class no_grad(ContextDecorator):
    """Context manager (and decorator) inside which no graph is recorded (in this thread)."""

    def __enter__(self):
        self._previous = state.grad_enabled
        _set_grad_enabled(False)

    def __exit__(self, *exc):
        _set_grad_enabled(self._previous)


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside a ``no_grad`` block."""

    def __enter__(self):
        self._previous = state.grad_enabled
        _set_grad_enabled(True)


class set_grad_enabled:
    """As ``torch.set_grad_enabled(mode)``: turns grad mode on or off in this thread at once;
    as a context manager the mode before it comes back at the end, and as a decorator the
    function runs with ``mode`` (decorating changes nothing)."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got "
                            f"{type(mode).__name__} {mode!r}")
        self.mode, self._previous = mode, state.grad_enabled
        _set_grad_enabled(mode)

    def __call__(self, function):
        _set_grad_enabled(self._previous)
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)
        return wrapper

    def __enter__(self):
        _set_grad_enabled(self.mode)

    def __exit__(self, *exc):
        _set_grad_enabled(self._previous)


class inference_mode(no_grad):
    """As ``torch.inference_mode(mode=True)``: grad mode off inside, or on with ``mode=False``
    (as PyTorch's, even inside no_grad). tinyseq has no separate inference tensors, so it is
    ``no_grad`` otherwise. ``@inference_mode`` decorates without parentheses too."""

    def __new__(cls, mode=True):
        context = super().__new__(cls)
        if callable(mode):                             # @inference_mode, no parentheses
            context.mode = True
            return context(mode)
        return context

    def __init__(self, mode=True):
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be a bool, got "
                            f"{type(mode).__name__} {mode!r}")
        self.mode = mode

    def __enter__(self):
        self._previous = state.grad_enabled
        _set_grad_enabled(not self.mode)


def is_grad_enabled():
    return state.grad_enabled


class timestep:
    """Context manager that tags every op created inside with time step ``t`` (for the tracer).

    Recurrent layers built from primitive ops wrap each step of their time loop in it;
    hand-written loops can too. ``t`` is a non-negative integer of any integer type (a NumPy
    int from ``numpy.arange`` included), stored as a Python int; floats and bools are refused.

    ``timestep(range(T))`` tags ops that compute all those steps at once instead, step
    ``range(T)[k]`` at index k of their output's ``axis`` (0 by default): the projection
    x W^T of a whole (T, B, D) sequence before the loop. A trace splits the gradient such an
    op sends a shared weight into one share per step.
    """

    __slots__ = ("t", "steps_at_once", "_previous")

    def __init__(self, t, axis=0):
        if isinstance(t, range):
            if len(t) == 0 or min(t) < 0:
                raise ValueError(f"timestep: a range of steps must be non-empty and >= 0, got {t}")
            if not isinstance(axis, (int, numpy.integer)) or isinstance(axis, bool):
                raise TypeError(f"timestep: axis must be an int, got {axis!r}")
            self.t, self.steps_at_once = None, (t, int(axis))
        else:
            self.t, self.steps_at_once = checks.integer("timestep", "t", t), None

    def __enter__(self):
        self._previous = state.time_step, state.steps_at_once
        state.time_step, state.steps_at_once = self.t, self.steps_at_once
        return self

    def __exit__(self, *exc):
        state.time_step, state.steps_at_once = self._previous


class scope:
    """Context manager that groups the ops created inside under ``name`` in a traced graph
    (drawn as a nested box, e.g. each gate of an LSTM cell). Does nothing while nothing
    observes."""

    __slots__ = ("name", "_previous")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self._previous = state.scope
        if state.observers:
            state.scope = self._previous + (self.name,)
        return self

    def __exit__(self, *exc):
        state.scope = self._previous


def module_path_text(path):
    """``encoder.rnn`` for a module path ((name, module), ...) (the outermost module is "")."""
    return ".".join(name for name, _ in path if name)

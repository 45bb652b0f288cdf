"""Observers: what watches the engine without changing it (tracing, anomaly detection).

An observer registers in the current thread with ``add_observer`` and leaves with
``remove_observer``; the engine (``tinyseq.autograd``) calls its methods as ops run forward
and backward.
"""
import threading
import weakref

from .modes import state


class Observer:
    """Watches the engine without changing it: tracing and anomaly detection are observers.

    Their context managers register them in the current thread with ``add_observer`` and
    remove them with ``remove_observer``. The engine calls the methods below; each does
    nothing unless overridden. With ``follows_graph`` an observer also hears the backward
    events of the ops it saw created, whenever and in whatever thread backward runs;
    otherwise it hears the backward passes that start while it is registered.
    """

    follows_graph = False

    def module_entered(self, module):
        """``module`` is being called (``state.module_path`` ends with it)."""

    def module_exited(self, module):
        """The call of ``module`` returned or raised."""

    def op_created(self, node, inputs, output):
        """An op ran forward (``node`` is its Function, ``output`` the Tensor it made)."""

    def output_grad(self, node, grad):
        """The whole gradient of ``node``'s output is known; its backward runs next."""

    def input_grads(self, node, grads):
        """``node``'s backward returned ``grads`` (one per input, possibly lazy or None)."""

    def leaf_grad(self, node, leaf, grad):
        """``node`` sent the leaf tensor ``leaf`` the gradient contribution ``grad``."""

    def step_grad(self, node, time_step, grad):
        """An op with a time loop inside: the gradient reaching its state after ``time_step``."""

    def step_contribution(self, node, input_index, time_step, compute):
        """An op with a time loop inside: ``compute()`` gives the share of time step
        ``time_step`` in the gradient of input ``input_index``."""

    def rank_shares(self, leaf, shares):
        """Data-parallel training averaged ``leaf``'s gradient over ranks (on rank 0 only):
        ``shares[r]`` is rank r's gradient divided by the number of ranks; they sum to it."""

    def values_reported(self, label, values):
        """A recurrent layer, cell or attention module computed forward ``values``
        ({quantity: array or Tensor with time first, or list of them per step}); ``label``
        names the layer direction (``l0``, ``l1_reverse``) or is "" for a module's own."""


def report_values(label, values):
    """Hand forward values to the observers (see ``Observer.values_reported``); nothing
    happens when none is registered. ``values`` may be a function making the dict."""
    observers = state.observers
    if observers:
        if callable(values):
            values = values()
        for observer in observers:
            observer.values_reported(label, values)


# Observers registered in all threads together: while it is 0, an op reads no per-thread state
# to learn that nothing observes it (a thread that ends with observers registered leaves it
# above 0: ops then read their thread's, as they do while any thread observes).
observing = 0
_observing_lock = threading.Lock()


def add_observer(observer):
    """Register ``observer`` in the current thread."""
    global observing
    with _observing_lock:
        observing += 1
    state.observers += (observer,)
    if observer.follows_graph:
        state.graph_observers += (weakref.ref(observer),)


def remove_observer(observer):
    """Remove ``observer`` from the current thread."""
    global observing
    with _observing_lock:
        observing -= sum(o is observer for o in state.observers)
    state.observers = tuple(o for o in state.observers if o is not observer)
    state.graph_observers = tuple(r for r in state.graph_observers if r() is not observer)

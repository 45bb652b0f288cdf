"""Reverse-mode automatic differentiation.

Every differentiable op is a subclass of ``Function`` with ``forward(xp, *arrays)`` and
``backward(xp, grad_output)`` side by side, both on raw arrays of the array module ``xp``.
Calling ``Op(...).apply(*tensors)`` runs forward and, when a gradient is needed, makes the op
instance the output tensor's graph node: it keeps its input tensors and whatever arrays its
backward needs. Nodes point only backwards (output -> node -> inputs), so a graph has no
reference cycles and is freed as soon as its last output tensor goes.

``backward`` walks the graph without recursion: one pass counts how many consumers each node
has, then nodes run in topological order as soon as all their consumers have sent their
gradient (Kahn's algorithm), so a chain of 100,000 ops works.

Two kinds of gradient stay lazy on the way: indexing sends a ``SparseGrad`` (added into one
buffer per tensor, however many slices are taken), and x W^T sends W a ``ProductGrad`` (all of
one leaf's are summed as one matrix product at the end, while no trace wants them per op).
"""
import copy
import functools
import re
import weakref

import numpy

from . import backend

device_of_type = backend.device_of_type
Tensor = None  # the Tensor class, filled in by tensor.py (which imports this module)


class VersionCounter:
    """How many in-place changes a storage has seen; shared by a tensor and its detached views.
    An op that keeps an input's values for backward notes the count and checks it there."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class _State:
    """Process-wide switches read on every op: grad mode, the recording trace (if any), and the
    time step and module path that new ops are tagged with."""

    __slots__ = ("grad_enabled", "tracer", "time_step", "module_path", "scope", "anomaly",
                 "retain_graph")

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.retain_graph = False  # while a backward runs: whether it keeps the graph
        self.tracer = None
        self.time_step = None
        self.module_path = ()
        self.scope = ()


state = _State()
live_traces = weakref.WeakSet()  # traces that still want to hear about backward passes


class _ContextDecorator:
    """A context manager that also decorates: every call of the decorated function runs
    inside a fresh copy of it (so nested and recursive calls each restore their own state)."""

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with copy.copy(self):
                return function(*args, **kwargs)
        return wrapper


class no_grad(_ContextDecorator):
    """Context manager (and decorator) inside which no graph is recorded."""

    def __enter__(self):
        self._previous = state.grad_enabled
        state.grad_enabled = False

    def __exit__(self, *exc):
        state.grad_enabled = self._previous


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside a ``no_grad`` block."""

    def __enter__(self):
        self._previous = state.grad_enabled
        state.grad_enabled = True


def is_grad_enabled():
    return state.grad_enabled


class detect_anomaly(_ContextDecorator):
    """Context manager (and decorator) that raises ``FloatingPointError`` at the first op whose
    forward output, or whose backward's gradient, holds NaN or Inf.

        with ts.detect_anomaly():
            loss = model(x)      # raises at the first op that makes NaN/Inf, naming it
            loss.backward()      # raises at the first op whose backward makes NaN/Inf

    The message names the op, its input shapes, and the time step (``ts.timestep``) and module
    path it ran in. The module path is the module attribute names (``encoder.rnn``) while a
    ``ts.trace`` records, otherwise the class names of the modules being called
    (``Seq2Seq > GRU``). Backward checks gradients when the mode is on as backward starts; the
    time step and module path of a node are known when the node was made in the mode too.
    Off, each op pays one attribute test and nothing else changes.
    """

    def __init__(self, enabled=True):
        self.enabled = enabled

    def __enter__(self):
        self._previous = state.anomaly
        state.anomaly = self.enabled

    def __exit__(self, *exc):
        state.anomaly = self._previous


def is_anomaly_enabled():
    return state.anomaly


def _where_text():
    """Where new ops run now, for anomaly messages: time step and module path."""
    path = (".".join if state.tracer is not None else " > ".join)(state.module_path)
    return f"time step {state.time_step}, module {path or '(none)'}"


def _nonfinite(xp, array):
    return array.dtype.kind in "fc" and not bool(xp.isfinite(array).all())


class timestep:
    """Context manager that tags every op created inside with time step ``t`` (for the tracer).

    Recurrent layers wrap each step of their time loop in it; hand-written loops can too.
    """

    __slots__ = ("t", "_previous")

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        self._previous = state.time_step
        state.time_step = self.t
        return self

    def __exit__(self, *exc):
        state.time_step = self._previous


class scope:
    """Context manager that groups the ops created inside under ``name`` in a traced graph
    (drawn as a nested box, e.g. each gate of an LSTM cell). Does nothing while not tracing."""

    __slots__ = ("name", "_previous")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self._previous = state.scope
        if state.tracer is not None:
            state.scope = self._previous + (self.name,)
        return self

    def __exit__(self, *exc):
        state.scope = self._previous


def sum_to(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


class SparseGrad:
    """A gradient that is zero except at ``index``, where it is ``values``: what indexing sends
    back. Backward adds it into the input's gradient buffer in place, so k slices of one
    tensor (the four gates of an LSTM, x[t] for every t) cost one array of zeros, not k."""

    __slots__ = ("xp", "shape", "index", "values", "advanced")

    def __init__(self, xp, shape, index, values, advanced):
        self.xp, self.shape, self.index = xp, shape, index
        self.values, self.advanced = values, advanced

    def add_into(self, target):
        if self.advanced:                              # repeated indices add up
            backend.scatter_add(self.xp, target, self.index, self.values)
        else:
            target[self.index] += self.values

    def dense(self):
        target = self.xp.zeros(self.shape, dtype=self.values.dtype)
        self.add_into(target)
        return target


class ProductGrad:
    """A weight gradient a^T b kept as its two factors (what x W^T sends back to W). Backward
    sums all those of one leaf as one matrix product, [a_1; a_2; ...]^T [b_1; b_2; ...], instead
    of one small product and one addition per use: a weight shared by T time steps gets one
    tall product over all steps."""

    __slots__ = ("xp", "a", "b")

    def __init__(self, xp, a, b):
        self.xp, self.a, self.b = xp, a, b

    def dense(self):
        return self.a.T @ self.b

    @staticmethod
    def total(products):
        if len(products) == 1:
            return products[0].dense()
        xp = products[0].xp
        return xp.concatenate([p.a for p in products]).T @ xp.concatenate([p.b for p in products])


def _dense(grad):
    """``grad`` as an array (SparseGrad and ProductGrad made whole)."""
    return grad.dense() if type(grad) is SparseGrad or type(grad) is ProductGrad else grad


class Function:
    """One primitive op. Subclasses define ``forward`` and ``backward`` on raw arrays.

    ``inputs`` holds the input tensors while the graph lives, ``saved`` the arrays that
    ``backward`` needs (both are dropped after backward), ``retained`` a weak reference to the
    output tensor when ``retain_grad()`` asked to keep its gradient.
    """

    __slots__ = ("inputs", "saved", "retained", "where", "__weakref__")

    differentiable = True

    def forward(self, xp, *arrays):
        raise NotImplementedError

    def backward(self, xp, grad_output):
        """Gradients for each input (a tuple of arrays, SparseGrads or ProductGrads; None where
        an input gets none)."""
        raise NotImplementedError

    @property
    def name(self):
        return _op_name(type(self))

    def apply(self, *inputs):
        first = inputs[0].array
        array_type = type(first)
        device = device_of_type.get(array_type)
        if device is None:
            raise TypeError(f"{self.name}: unsupported array type {array_type.__name__}")
        requires_grad = False
        for t in inputs:
            if type(t.array) is not array_type:
                raise ValueError(f"{self.name}: inputs are on different devices "
                                 f"({_devices_text(inputs)}); move them with .to(device) first")
            if t.requires_grad:
                requires_grad = True
        try:
            y = self.forward(device.xp, *[t.array for t in inputs])
        except (ValueError, TypeError, IndexError) as error:
            kind = next(k for k in (IndexError, TypeError, ValueError) if isinstance(error, k))
            raise kind(f"{self.name}: {error} (inputs {_shapes_text(inputs)})") from None
        if type(y) is not array_type:
            y = device.xp.asarray(y) if isinstance(y, numpy.generic) else y
        if state.anomaly:
            self.where = _where_text()
            if _nonfinite(device.xp, y):
                raise FloatingPointError(f"detect_anomaly: {self.name} produced NaN/Inf in forward "
                                         f"(inputs {_shapes_text(inputs)}; {self.where})")
        out = Tensor.from_array(y, requires_grad and state.grad_enabled and self.differentiable)
        if out.requires_grad:
            self.inputs = inputs
            self.retained = None
            out._node = self
        if state.tracer is not None:
            state.tracer._record_op(self, inputs, out)
        return out


def _op_name(cls):
    """The op's name in messages and graphs: class name in snake case (MSELoss -> mse_loss)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__).lower()


def _shapes_text(tensors):
    return ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in tensors)


def _devices_text(tensors):
    return ", ".join(device_of_type[type(t.array)].name if type(t.array) in device_of_type
                     else type(t.array).__name__ for t in tensors)


def backward(root, grad_output=None, retain_graph=False):
    """Accumulate d root / d leaf into ``leaf.grad`` for every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no graph "
                           "(was it computed under no_grad() or from detached tensors?)")
    xp = device_of_type[type(root.array)].xp
    if grad_output is None:
        if root.array.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a scalar output, "
                               f"got shape {tuple(root.shape)}; pass grad=")
        g = xp.ones_like(root.array)
    else:
        g = grad_output.array if isinstance(grad_output, Tensor) else xp.asarray(grad_output)
        if g.shape != root.array.shape:
            raise ValueError(f"backward: grad of shape {tuple(g.shape)} does not match "
                             f"output shape {tuple(root.shape)}")
        g = g.astype(root.array.dtype, copy=False)
    node = root._node
    if node is None:
        _accumulate_leaf(root, g)
        return
    previous, state.retain_graph = state.retain_graph, retain_graph
    try:
        root_xp = xp
        traces = list(live_traces)
        anomaly = state.anomaly  # checked once: the mode as backward starts decides
        consumers = _count_consumers(node)
        pending = {node: g}
        owned = set()     # nodes whose pending gradient is a buffer this pass made (added in place)
        products = {}     # leaf -> its ProductGrads, summed in one product at the end
        ready = [node]
        while ready:
            node = ready.pop()
            g = pending.pop(node)
            owned.discard(node)
            if type(g) is SparseGrad:
                g = g.dense()
            elif isinstance(g, numpy.generic):  # 0-d NumPy math gives scalars; keep it an array
                g = root_xp.asarray(g)
            xp = device_of_type[type(g)].xp
            if node.retained is not None:
                kept = node.retained()
                if kept is not None:
                    _accumulate_leaf(kept, g)
            for trace in traces:
                trace._record_output_grad(node, g)
            grads = node.backward(xp, g)
            if anomaly:
                grads = [_dense(grad) for grad in grads]
                _check_backward(xp, node, grads)
            for t, grad in zip(node.inputs, grads):
                if grad is None or not t.requires_grad:
                    continue
                parent = t._node
                if parent is None:
                    if type(grad) is ProductGrad and not traces:
                        products.setdefault(t, []).append(grad)
                        continue
                    grad = _accumulate_leaf(t, _dense(grad))
                    for trace in traces:
                        trace._record_leaf_grad(node, t, grad)
                    continue
                if type(grad) is ProductGrad:
                    grad = grad.dense()
                _gather(pending, owned, parent, grad)
                consumers[parent] -= 1
                if consumers[parent] == 0:
                    ready.append(parent)
            if not retain_graph:
                node.inputs = None
                node.saved = None
        for leaf, leaf_products in products.items():
            _accumulate_leaf(leaf, ProductGrad.total(leaf_products))
    finally:
        state.retain_graph = previous


def _gather(pending, owned, parent, grad):
    """Add ``grad`` into what ``parent``'s output has received so far. The first gradient is
    kept as it came (it may be another op's array); from the second on, the sum lives in a
    buffer this pass made (``owned``), and later ones are added into it in place."""
    current = pending.get(parent)
    if current is None:
        pending[parent] = grad
        return
    if parent in owned:
        total = current
    elif type(current) is SparseGrad:
        total = current.dense()
    elif type(grad) is SparseGrad:
        total = current.copy()
    else:
        pending[parent] = current + grad
        owned.add(parent)
        return
    if type(grad) is SparseGrad:
        grad.add_into(total)
    elif total.shape == grad.shape and total.dtype == grad.dtype:
        total += grad
    else:
        total = total + grad
    pending[parent] = total
    owned.add(parent)


def _check_backward(xp, node, grads):
    for i, (t, grad) in enumerate(zip(node.inputs, grads)):
        if grad is not None and t.requires_grad and _nonfinite(xp, xp.asarray(grad)):
            where = getattr(node, "where", "time step and module unknown: made outside "
                                           "detect_anomaly")
            raise FloatingPointError(f"detect_anomaly: {node.name} backward produced NaN/Inf in "
                                     f"the gradient of input {i} (inputs "
                                     f"{_shapes_text(node.inputs)}; {where})")


def _count_consumers(root):
    """For each node reachable from ``root``, how many graph edges lead into it."""
    consumers = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.inputs is None:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time, but its saved "
                "arrays were freed by the first backward; pass retain_graph=True the first time")
        for t in node.inputs:
            parent = t._node
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)
    return consumers


def _accumulate_leaf(t, g):
    """Add ``g`` (summed to t's shape) into ``t.grad``; returns what was added."""
    xp = device_of_type[type(t.array)].xp
    if g.shape != t.array.shape:
        g = sum_to(g, t.array.shape)
    # the first gradient is copied into a fresh array of the leaf's dtype (g may be a NumPy
    # scalar from 0-d math, a read-only broadcast view, or the array another leaf receives
    # too); later ones are added into that array in place
    if t.grad is None:
        t.grad = Tensor.from_array(xp.array(g, dtype=t.array.dtype), False)
    elif t.grad.array.ndim:
        t.grad.array += g
    else:
        t.grad.array = xp.asarray(t.grad.array + g, dtype=t.array.dtype)
    return g

"""Reverse-mode automatic differentiation: ops, the graph they make, and backward.

Every differentiable op is a subclass of ``Function`` with ``forward(xp, *arrays)`` and
``backward(xp, grad_output)`` side by side, both on raw arrays of the array module ``xp``.
Calling ``Op(...).apply(*tensors)`` runs forward and, when a gradient is needed, makes the op
instance the output tensor's graph node: it keeps its input tensors and whatever arrays its
backward needs. Nodes point only backwards (output -> node -> inputs), so a graph has no
reference cycles and is freed as soon as its last output tensor goes.

``backward`` walks the graph without recursion: one pass counts how many consumers each node
has, then nodes run in topological order as soon as all their consumers have sent their
gradient (Kahn's algorithm), so a chain of 100,000 ops works. The sums of gradients are kept
by an accumulator (``tinyseq.accumulate``), and observers (tracing, anomaly detection) are
told what happens; neither changes which ops run or what they compute.

Modes (grad mode, the time step and scope new ops are tagged with) live in ``tinyseq.modes``
and observers in ``tinyseq.observers``; this module re-exports their public names.
"""
import functools
import math
import operator
import re
import threading
import warnings
import weakref

import numpy

from . import backend, modes
from . import observers as registry
from .accumulate import LazySums, add_to_grad, leaf_total
from .hooks import hooks_of_leaf, run_hooks
from .modes import (ContextDecorator, enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                    module_path_text, no_grad, scope, set_grad_enabled, state, timestep)
from .observers import Observer, add_observer, remove_observer, report_values  # noqa: F401

device_of_type = backend.device_of_type
_node_of = operator.attrgetter("_node")    # t._node and t.array as C functions: apply maps
_array_of = operator.attrgetter("array")   # them over its inputs
_new_object = object.__new__
Tensor = None  # the Tensor class, filled in by tensor.py (which imports this module)
Sums = LazySums  # the accumulator every backward uses (tests run the engine with DenseSums too)


# --- backward ---------------------------------------------------------------------------------
def backward(root, grad_output=None, retain_graph=False):
    """Accumulate d root / d leaf into ``leaf.grad`` for every leaf that requires grad, then
    run what ops queued with ``queue_callback`` during the pass."""
    outer_callbacks, state.backward_callbacks = state.backward_callbacks, []
    try:
        _run_backward([root], [_root_grad(root, grad_output)], retain_graph, Sums())
        for callback in state.backward_callbacks:
            callback()
    finally:
        state.backward_callbacks = outer_callbacks


def queue_callback(callback):
    """Run ``callback()`` once the backward pass now running in this thread has summed every
    gradient into ``.grad`` (PyTorch's ``Variable._execution_engine.queue_callback``):
    DistributedDataParallel averages the gradients over processes there."""
    if state.backward_callbacks is None:
        raise RuntimeError("queue_callback: no backward pass is running in this thread")
    state.backward_callbacks.append(callback)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """d outputs / d inputs, as ``torch.autograd.grad``: a tuple with one Tensor per input (of
    the sum over the outputs, each weighted by its ``grad_outputs``), and no leaf's ``.grad``
    changes. It runs only the ops on a path from the outputs to an input, and an input's own
    op only when another input lies behind it; the inputs' hooks (and ``retain_grad``) see
    their gradients and may change what it returns, as in PyTorch. An input the outputs do not
    depend on is an error, or gives None with ``allow_unused`` (zeros with
    ``materialize_grads``)."""
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (a graph of the gradient, for "
                                  "second derivatives) is not supported: tinyseq's backward "
                                  "runs on arrays")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} "
                         f"outputs")
    for what, tensors in (("outputs", outputs), ("inputs", inputs)):
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"grad: {what} must be Tensors, got {type(t).__name__}")
    if not outputs or not inputs:
        raise ValueError("grad: needs at least one output and one input")
    if not all(t.requires_grad for t in inputs):
        raise RuntimeError("grad: one of the differentiated Tensors does not require grad")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused to be True or None")
    root_grads = [_root_grad(t, g) for t, g in zip(outputs, grad_outputs)]
    captured = CapturedGrads(inputs)
    consumers = captured.plan([t._node for t in outputs if t._node is not None])
    _run_backward(outputs, root_grads, create_graph if retain_graph is None else retain_graph,
                  captured, consumers)
    results = []
    for t, g in zip(inputs, captured.grads):
        if g is None and not allow_unused:
            raise RuntimeError("grad: one of the differentiated Tensors appears to not have been "
                               "used in the graph; pass allow_unused=True if this is what you "
                               "want")
        if g is None and materialize_grads:
            g = device_of_type[type(t.array)].xp.zeros_like(t.array)
        results.append(None if g is None else Tensor.from_array(g, False))
    return tuple(results)


class CapturedGrads:
    """The accumulator of ``grad``: the sums of the engine's usual one, kept only for the ops
    that run and the inputs asked for. A leaf input's gradient is what the pass sends it,
    summed and through its hooks; an op's output input's is its op's summed gradient through
    the output's hooks, taken when that op is ready (its hooks are set aside for the pass, so
    that the op, if it runs, does not apply them twice)."""

    def __init__(self, inputs):
        self.sums = Sums()
        self.inputs = inputs
        self.grads = [None] * len(inputs)
        self.leaf_places, self.node_places = {}, {}
        for place, t in enumerate(inputs):
            if t._node is None:
                self.leaf_places.setdefault(id(t), []).append(place)
            else:
                self.node_places.setdefault(t._node, []).append(place)
        self.leaf_grads = {}        # id(leaf) -> what the pass sent that leaf, summed at the end
        self.hooks_set_aside = {}   # node -> its OutputHooks, back in place at the end
        self.runs = self.wanted = set()

    def plan(self, roots):
        """Which ops of the graph behind ``roots`` the pass runs: those with an input behind
        them. Returns the engine's consumer counts: for an op that runs, or whose output is an
        input, the number of running ops that use it; for any other op infinity, so that it
        never gets ready, runs or is freed. An op an earlier backward freed is an error: what
        lies behind it, and so what the inputs' gradients miss, is unknown."""
        counts = _count_consumers(roots)           # every op behind the roots, once
        order, ready = [], [node for node in counts if counts[node] == 0]
        while ready:                               # each op before the ops behind it
            node = ready.pop()
            order.append(node)
            for parent in node.parents:
                if parent is not None:
                    counts[parent] -= 1
                    if counts[parent] == 0:
                        ready.append(parent)
        leads = {}                                 # an input is at or behind the op
        runs = set()
        for node in reversed(order):
            behind = any(parent is None and id(t) in self.leaf_places or
                         parent is not None and leads[parent]
                         for t, parent in zip(node.inputs, node.parents))
            if behind:
                runs.add(node)
            leads[node] = behind or node in self.node_places
        self.runs = runs
        self.wanted = runs | (self.node_places.keys() & leads.keys())
        consumers = dict.fromkeys(order, math.inf)
        consumers.update(dict.fromkeys(runs, 0))
        for node in runs:
            for parent in node.parents:
                if parent in runs:
                    consumers[parent] += 1
        for node in self.node_places.keys() & self.wanted:
            if node.output_hooks is not None:
                self.hooks_set_aside[node], node.output_hooks = node.output_hooks, None
        return consumers

    def add(self, node, grad):
        if node in self.wanted:
            self.sums.add(node, grad)

    def take(self, node):
        g = self.sums.take(node)
        return self._captured(node, g) if node in self.node_places else g

    def _captured(self, node, g):
        """``g``, an input op's summed gradient, through the output's hooks and passed on to
        the op. The input keeps it as PyTorch's grad does: after the hooks when the op does
        not run, before them when it runs (another input lies behind it)."""
        hooks = self.hooks_set_aside.get(node)
        if node in self.runs:
            self._keep(node, g)
        if g is not None and hooks is not None:
            g = hooks.answer(g)
        if node not in self.runs:
            self._keep(node, g)
        return g

    def _keep(self, node, g):
        for place in self.node_places[node]:
            self.grads[place] = None if g is None else g.copy()

    def add_to_leaf(self, leaf, grad):
        if id(leaf) in self.leaf_places:
            self.leaf_grads.setdefault(id(leaf), []).append(grad)

    def finish(self):
        for node, hooks in self.hooks_set_aside.items():
            node.output_hooks = hooks
        for node in (self.node_places.keys() & self.wanted) - self.runs:   # never made ready
            self._captured(node, self.sums.take(node))
        for key, grads in self.leaf_grads.items():
            places = self.leaf_places[key]
            leaf = self.inputs[places[0]]
            total = run_hooks(hooks_of_leaf(leaf) or (), leaf_total(leaf, grads))
            for place in places:
                self.grads[place] = total


def _run_backward(roots, root_grads, retain_graph, sums, consumers=None):
    """Send each root its gradient and run the graph behind them, summing with ``sums``;
    ``consumers``, when given, counts for each op the consumers that will send it theirs
    (``grad`` runs part of the graph)."""
    nodes = []
    for root, g in zip(roots, root_grads):
        if root._node is None:
            sums.add_to_leaf(root, g)
        else:
            sums.add(root._node, g)
            nodes.append(root._node)
    checks = tuple(o for o in state.observers if not o.follows_graph)
    if consumers is None:
        consumers = _count_consumers(nodes)
    ready = [node for node in dict.fromkeys(nodes) if consumers[node] == 0]   # no root uses
    while ready:                    # Kahn's algorithm: a node runs once all consumers sent theirs
        node = ready.pop()
        g = sums.take(node)         # None when every consumer sent None: nothing to propagate
        watchers = _alive(node.watchers) + checks if node.watchers else checks
        if g is None:
            grads = (None,) * len(node.inputs)
        elif watchers or node.output_hooks is not None or node.takes_options:
            grads = _node_backward(node, g, retain_graph, watchers)
        else:                       # the common case, _node_backward without observers
            if node.inplace_seen != inplace_changes:
                check_versions(node)
            try:
                grads = node.backward(device_of_type[type(g)].xp, g)
            except Exception as error:
                _note_op(error, node)
                raise
        inputs, parents = node.inputs, node.parents
        for i in range(len(inputs)):   # (cheaper than a zip of three for one or two inputs)
            parent, grad = parents[i], grads[i]
            if grad is not None and inputs[i].requires_grad:
                if parent is None:
                    sums.add_to_leaf(inputs[i], grad)
                    for observer in watchers:
                        observer.leaf_grad(node, inputs[i], grad)
                else:
                    sums.add(parent, grad)
            if parent is not None:
                consumers[parent] -= 1
                if consumers[parent] == 0:
                    ready.append(parent)
        if not retain_graph:
            node.inputs = node.parents = node.saved = None
    sums.finish()


# --- ops --------------------------------------------------------------------------------------
class _AppliedOnTheClass(type):
    """PyTorch's custom functions run as ``MyFunction.apply(*args)``, a call on the class
    (tinyseq.custom_function); tinyseq's own ops run as ``Op(...).apply(*tensors)``, on an
    instance. A property of the class's type answers the first and leaves the lookup of the
    second, which every op makes, as it is."""

    @property
    def apply(cls):
        from .custom_function import apply     # it builds on this module
        return functools.partial(apply, cls)


class Function(metaclass=_AppliedOnTheClass):
    """One primitive op. Subclasses define ``forward`` and ``backward`` on raw arrays.

    ``inputs`` holds the input tensors while the graph lives and ``parents`` the nodes that
    made them when the op ran (an in-place change later gives a tensor a new node; this op
    still sends its gradient to the old one), ``saved`` the arrays that ``backward`` needs
    (all three are dropped after backward), ``output_hooks`` what ``register_hook`` and
    ``retain_grad()`` asked of the output's gradient (an OutputHooks, else None),
    ``watchers`` the observers that saw the op made. An op declares which input arrays its
    backward reads (``saves_inputs``) and whether it reads its output (``saves_output``): their
    version counts are noted at forward and checked at backward (when any in-place change
    happened since the op ran), so an in-place change in between is an error, not a wrong
    gradient. An op whose backward needs ``retain_graph`` or wants to report its time steps to
    observers sets ``takes_options``.

    A user's own function subclasses it in PyTorch's style instead, static ``forward(ctx, ...)``
    and ``backward(ctx, ...)`` on tensors, run as ``MyFunction.apply(...)``: see
    tinyseq.custom_function.
    """

    __slots__ = ("inputs", "parents", "saved", "output_hooks", "watchers", "inplace_seen",
                 "versions", "output_version", "__weakref__")

    differentiable = True
    saves_inputs = ()
    saves_output = False
    takes_options = False

    def forward(self, xp, *arrays):
        raise NotImplementedError

    def backward(self, xp, grad_output):
        """Gradients for each input (a tuple of arrays, SparseGrads or ProductGrads; None where
        an input gets none)."""
        raise NotImplementedError

    @property
    def name(self):
        return op_name(type(self))

    def apply(self, *inputs):
        if len(inputs) == 2:        # the most common cases, checked without a loop
            a, b = inputs
            array_type = type(a.array)
            same_device = type(b.array) is array_type
            requires_grad = a.requires_grad or b.requires_grad
            changed = a._versions is not None or b._versions is not None
        elif len(inputs) == 1:
            a = inputs[0]
            array_type, same_device = type(a.array), True
            requires_grad, changed = a.requires_grad, a._versions is not None
        else:
            array_type = type(inputs[0].array)
            same_device, requires_grad, changed = True, False, False
            for t in inputs:
                same_device = same_device and type(t.array) is array_type
                requires_grad = requires_grad or t.requires_grad
                changed = changed or t._versions is not None
        if not same_device:
            raise ValueError(f"{self.name}: inputs are on different devices "
                             f"({_devices_text(inputs)}); move them with .to(device) first")
        device = device_of_type.get(array_type)
        if device is None:
            raise TypeError(f"{self.name}: unsupported array type {array_type.__name__}")
        try:                        # one or two inputs: calls Python makes without a tuple
            if len(inputs) == 2:
                y = self.forward(device.xp, a.array, b.array)
            elif len(inputs) == 1:
                y = self.forward(device.xp, a.array)
            else:
                y = self.forward(device.xp, *map(_array_of, inputs))
        except (ValueError, TypeError, IndexError) as error:
            raise _naming_op(error, self, inputs) from error
        if type(y) is not array_type:
            y = device.xp.asarray(y) if isinstance(y, numpy.generic) else y
        out = _new_object(Tensor)   # Tensor.from_array(y), inline: this runs for every op
        out.array = y
        out.grad = out._node = out._versions = None
        out.requires_grad = False
        if y.base is not None:      # a view of an input's storage shares its version count
            for t in inputs:
                if device.xp.may_share_memory(y, t.array):
                    out._versions = version_counter(t)
                    break
        observers = state.observers if registry.observing else ()
        if requires_grad and self.differentiable and (not modes.threads_without_grad
                                                      or state.grad_enabled):
            out.requires_grad = True
            out._node = self
            self.inputs = inputs
            if len(inputs) == 2:
                self.parents = (a._node, b._node)
            elif len(inputs) == 1:
                self.parents = (a._node,)
            else:
                self.parents = tuple(map(_node_of, inputs))
            self.output_hooks = None
            self.watchers = state.graph_observers if observers else ()
            self.inplace_seen = inplace_changes
            # the saved inputs' versions, None while no input has a version count
            self.versions = list(map(_version, map(inputs.__getitem__, self.saves_inputs))) \
                if changed else None
            if self.saves_output:
                out._versions = self.output_version = VersionCounter()
        if observers:
            for observer in observers:
                observer.op_created(self, inputs, out)
        return out


def _naming_op(error, node, inputs):
    """``error`` from ``node``'s forward as the same kind of error, its message naming the op
    and the input shapes. (A function of its own: a generator in ``apply`` would cost every op
    a closure cell.)"""
    kind = next(k for k in (IndexError, TypeError, ValueError) if isinstance(error, k))
    return kind(f"{node.name}: {error} (inputs {shapes_text(inputs)})")


def op_name(cls):
    """The op's name in messages and graphs: class name in snake case (MSELoss -> mse_loss)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__).lower()


def shapes_text(tensors):
    """"(2, 3) float32, (3,) float32": the shapes and dtypes of ``tensors``, for messages."""
    return ", ".join(f"{tuple(t.shape)} {t.array.dtype}" for t in tensors)


def _devices_text(tensors):
    return ", ".join(device_of_type[type(t.array)].name if type(t.array) in device_of_type
                     else type(t.array).__name__ for t in tensors)


# --- the backward pass's helpers --------------------------------------------------------------
def _alive(references):
    """The observers still alive among weak ``references`` (a deleted trace hears nothing)."""
    return tuple(o for o in (r() for r in references) if o is not None)


def _root_grad(root, grad_output):
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no graph "
                           "(was it computed under no_grad() or from detached tensors?)")
    xp = device_of_type[type(root.array)].xp
    if grad_output is None:
        if root.array.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a scalar output, "
                               f"got shape {tuple(root.shape)}; pass grad=")
        return xp.ones_like(root.array)
    g = grad_output.array if isinstance(grad_output, Tensor) else xp.asarray(grad_output)
    if g.shape != root.array.shape:
        raise ValueError(f"backward: grad of shape {tuple(g.shape)} does not match "
                         f"output shape {tuple(root.shape)}")
    return g.astype(root.array.dtype, copy=False)


def _node_backward(node, g, retain_graph, watchers):
    """Run one node's backward on the gradient ``g`` of its output (after its output's hooks),
    telling the observers, after checking that nothing it saved was changed in place; an
    error names the op."""
    if node.output_hooks is not None:
        g = node.output_hooks.answer(g)
    for observer in watchers:
        observer.output_grad(node, g)
    if node.inplace_seen != inplace_changes:
        check_versions(node)
    xp = device_of_type[type(g)].xp
    try:
        if node.takes_options:
            grads = node.backward(xp, g, retain_graph=retain_graph, observers=watchers)
        else:
            grads = node.backward(xp, g)
    except Exception as error:
        _note_op(error, node)
        raise
    for observer in watchers:
        observer.input_grads(node, grads)
    return grads


def _note_op(error, node):
    """Add to ``error`` raised by ``node``'s backward which op it was."""
    if hasattr(error, "add_note"):
        error.add_note(f"in the backward of {node.name} (inputs {shapes_text(node.inputs)})")


class VersionCounter:
    """How many in-place changes a storage has seen; shared by a tensor, its detached tensors
    and the views ops make of it (indexing, view, transpose, expand), as in PyTorch.
    An op that keeps an input's values for backward notes the count and checks it there."""

    __slots__ = ("_value",)

    def __init__(self):
        self._value = 0

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        """Every change of a count is also counted in ``inplace_changes``."""
        global inplace_changes
        with _inplace_lock:
            self._value = value
            inplace_changes += 1


# In-place changes of any storage in any thread so far. An op notes it at forward; while it
# has not moved at backward, nothing the op saved can have changed, and no count is checked.
inplace_changes = 0
_inplace_lock = threading.Lock()


def check_versions(node):
    """Raise RuntimeError when a tensor ``node`` saved for backward was changed in place."""
    if node.saves_inputs:
        for k, index in enumerate(node.saves_inputs):
            t = node.inputs[index]
            if t._versions is None:                     # never changed in place
                continue
            seen = 0 if node.versions is None else node.versions[k]
            if t._versions.value != seen:
                _raise_modified(node, f"input {index}", t.shape, t._versions.value, seen)
    if node.saves_output and node.output_version.value != 0:
        _raise_modified(node, "its output", None, node.output_version.value, 0)


def version_counter(t):
    """The VersionCounter of ``t``'s storage, made on first use (most tensors never need one)."""
    if t._versions is None:
        t._versions = VersionCounter()
    return t._versions


def _version(t):
    """t's version count (as Tensor._version, without the property call on the hot path)."""
    counter = t._versions
    return 0 if counter is None else counter.value


def _raise_modified(node, which, shape, version, expected):
    shape_text = "" if shape is None else f" of shape {tuple(shape)}"
    raise RuntimeError(f"{node.name} backward: one of the tensors needed for gradient "
                       f"computation has been modified by an inplace operation: {which}"
                       f"{shape_text} is at version {version}; expected version {expected} "
                       f"instead")


class OutputHooks:
    """What was asked of the gradient of an op's output tensor: ``hooks`` (``register_hook``)
    run on it in order and may replace it; then, when ``retains`` (``retain_grad()``), it is
    added into the tensor's ``.grad``, as PyTorch runs retain_grad after the other hooks."""

    __slots__ = ("tensor", "hooks", "retains")

    def __init__(self, tensor):
        self.tensor, self.hooks, self.retains = weakref.ref(tensor), [], False

    def answer(self, g):
        """The gradient ``g`` after the hooks, kept in ``.grad`` if asked."""
        g = run_hooks(self.hooks, g)
        kept = self.tensor() if self.retains else None
        if kept is not None:
            add_to_grad(kept, g)
        return g


def output_hooks(t):
    """The OutputHooks of the op that made the non-leaf tensor ``t``, made on first use."""
    node = t._node
    if node.output_hooks is None:
        node.output_hooks = OutputHooks(t)
    return node.output_hooks


def _raise_freed():
    raise RuntimeError(
        "backward: trying to backward through the graph a second time, but its saved arrays "
        "were freed by the first backward; pass retain_graph=True the first time")


def _count_consumers(roots):
    """For each node reachable from the nodes ``roots``, how many graph edges lead into it."""
    consumers = dict.fromkeys(roots, 0)
    stack = list(consumers)
    while stack:
        node = stack.pop()
        if node.inputs is None:
            _raise_freed()
        for parent in node.parents:
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)
    return consumers


class _VariableType(type):
    def __instancecheck__(cls, value):
        return isinstance(value, Tensor)


class Variable(metaclass=_VariableType):
    """PyTorch's old wrapper, a no-op today: ``Variable(t, requires_grad=False)`` is a new leaf
    sharing ``t``'s storage (as ``t.detach().requires_grad_(requires_grad)``); every Tensor is
    an instance of Variable."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        if data is None:                   # PyTorch's Variable(): an empty float tensor
            data = Tensor()
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Variable: requires_grad must be a bool, got "
                            f"{type(requires_grad).__name__} {requires_grad!r}")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        return data.detach().requires_grad_(requires_grad)


def __getattr__(name):
    """PyTorch's torch.autograd names that live in modules built on this one."""
    if name in ("detect_anomaly", "set_detect_anomaly"):
        from . import anomaly
        return getattr(anomaly, name)
    if name == "function":
        from . import custom_function
        return custom_function
    raise AttributeError(f"module 'tinyseq.autograd' has no attribute {name!r}")

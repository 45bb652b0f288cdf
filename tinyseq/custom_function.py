"""Custom autograd functions written as PyTorch's: a subclass of ``tinyseq.autograd.Function``
with static ``forward`` and ``backward`` on tensors, called on the class.

    class Exp(ts.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y

    y = Exp.apply(x)

``forward`` runs without recording a graph; when an input needs a gradient, its outputs then
hang from one graph node, named after the class in traces and messages, whose backward calls
the class's ``backward`` (without recording either: second derivatives are not supported).
``backward`` gets one gradient per output of ``forward`` (zeros for an output that the loss
does not use, as PyTorch's default) and returns one per argument of ``forward``: None for an
argument that is not a tensor or needs none. A gradient of a broadcast shape is summed to its
input's shape, as PyTorch does. The ``setup_context(ctx, inputs, output)`` style, where
``forward`` takes no ``ctx``, works too. Several outputs share the node as slices of one flat
array of their values.
"""
import sys

import numpy

from . import backend, modes
from .accumulate import sum_to
from .autograd import Function, op_name
from .tensor import Tensor


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors and any attributes set on it."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.to_save = ()
        self.non_differentiable = ()
        self.freed = False

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: can save only tensors or None, got "
                                f"{type(t).__name__}")
        self.to_save = tensors

    @property
    def saved_tensors(self):
        if self.freed:
            raise RuntimeError("saved_tensors: this function's backward already ran and freed "
                               "them; pass retain_graph=True to the first backward to run it "
                               "again")
        return self.to_save

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        """Accepted: an output that gets no gradient always gets zeros here (PyTorch's default),
        as the outputs share one node whose gradient is whole."""

    def mark_dirty(self, *tensors):
        raise NotImplementedError("mark_dirty: custom functions that change their inputs in "
                                  "place are not supported; return a new tensor instead")


def once_differentiable(backward):
    """PyTorch's marker for a backward that cannot itself be differentiated: every backward
    is so in tinyseq, so the function is returned as it is."""
    return backward


class CustomFunction(Function):
    """y = function.forward(ctx, *args);  d args = function.backward(ctx, g) (one node for a
    subclass of autograd.Function written in PyTorch's style; outputs flattened into y)"""
    __slots__ = ("function", "ctx", "value", "output_shapes", "output_kinds",
                 "argument_places", "saves_inputs", "saves_output")
    takes_options = True

    def __init__(self, function, ctx, value, output_shapes, output_kinds, argument_places,
                 saves_inputs, saves_output):
        self.function = function
        self.ctx = ctx
        self.value = value
        self.output_shapes = output_shapes               # of the outputs that get gradients
        self.output_kinds = output_kinds                 # each output's, as _output_kind's
        self.argument_places = argument_places        # each tensor input's place among args
        self.saves_inputs = saves_inputs
        self.saves_output = saves_output

    @property
    def name(self):
        return op_name(self.function)

    def forward(self, xp, *arrays):
        return self.value

    def backward(self, xp, grad_output, retain_graph=False, observers=()):
        if self.ctx.freed:
            raise RuntimeError(f"{self.name}: backward ran through this function a second "
                               f"time; pass retain_graph=True to the first backward")
        grads = iter(_parts(grad_output, self.output_shapes))
        output_grads = [None if kind is None else Tensor.from_array(
                            next(grads) if kind is _GETS_GRAD else xp.zeros(*kind))
                        for kind in self.output_kinds]
        with modes.no_grad():
            grads = self.function.backward(self.ctx, *output_grads)
        if not retain_graph:
            self.ctx.freed = True
        grads = grads if isinstance(grads, tuple) else (grads,)
        arguments = len(self.ctx.needs_input_grad)
        if len(grads) < arguments or any(g is not None for g in grads[arguments:]):
            raise RuntimeError(f"{self.name}: backward returned {len(grads)} gradients; forward "
                               f"took {arguments} arguments, so it must return {arguments} "
                               f"(None for an argument that needs none)")
        for place, g in enumerate(grads[:arguments]):
            if g is not None and place not in self.argument_places:
                raise RuntimeError(f"{self.name}: backward returned a gradient for argument "
                                   f"{place}, which is not a tensor; return None there")
        return tuple(self._input_grad(xp, place, t, grads[place])
                     for place, t in zip(self.argument_places, self.inputs))

    def _input_grad(self, xp, place, tensor, grad):
        """``grad`` for the input ``tensor`` as an array of its shape and dtype, or None."""
        if grad is None:
            return None
        if not isinstance(grad, Tensor):
            raise TypeError(f"{self.name}: backward returned a {type(grad).__name__} for "
                            f"argument {place}; return a tensor or None")
        shape = tensor.array.shape
        try:
            array = sum_to(xp.broadcast_to(grad.array, numpy.broadcast_shapes(
                grad.array.shape, shape)), shape)
        except ValueError:
            array = None
        if array is None or array.shape != shape:
            raise RuntimeError(f"{self.name}: backward returned a gradient of shape "
                               f"{tuple(grad.shape)} for argument {place}, which has shape "
                               f"{tuple(shape)}")
        return array.astype(tensor.array.dtype, copy=False)


def apply(function, *args, **kwargs):
    """Run ``function`` (a subclass of autograd.Function written in PyTorch's style) on
    ``args``: what its forward returns, with a graph node behind it when a tensor among the
    args requires grad and grad mode is on."""
    needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx(needs_input_grad)
    with modes.no_grad():
        if _defines(function, "setup_context"):
            output = function.forward(*args, **kwargs)
            function.setup_context(ctx, args, output)
        else:
            output = function.forward(ctx, *args, **kwargs)
    if not (any(needs_input_grad) and modes.is_grad_enabled()):
        return output
    outputs = output if isinstance(output, tuple) else (output,)
    differentiable = [i for i, t in enumerate(outputs)
                      if isinstance(t, Tensor) and t.is_floating_point()
                      and not any(t is n for n in ctx.non_differentiable)]
    if not differentiable:
        return output
    argument_places = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    inputs = [args[i] for i in argument_places]
    saved = [t for t in ctx.to_save if t is not None]
    saves_inputs = tuple(k for k, t in enumerate(inputs) if any(t is s for s in saved))
    saves_output = any(outputs[i] is s for i in differentiable for s in saved)
    shapes = [tuple(outputs[i].shape) for i in differentiable]
    kinds = [_GETS_GRAD if i in differentiable else _output_kind(t) for i, t in enumerate(outputs)]
    value = _flat([outputs[i].array for i in differentiable], function)
    node = CustomFunction(function, ctx, value, shapes, kinds, argument_places, saves_inputs,
                          saves_output)
    flat = node.apply(*inputs)
    results = list(outputs)
    for i, part in zip(differentiable, _parts(flat, shapes)):
        results[i] = part
    return tuple(results) if isinstance(output, tuple) else results[0]


_GETS_GRAD = "gets a gradient"


def _output_kind(output):
    """What backward gets for an output that has no gradient: zeros of the (shape, dtype) of
    a tensor, None for anything else."""
    return (output.array.shape, output.array.dtype) if isinstance(output, Tensor) else None


def _defines(function, name):
    """Whether ``function`` overrides autograd.Function's ``name``."""
    return getattr(function, name, None) is not getattr(Function, name, None)


def _flat(arrays, function):
    """One output as it is; several as one flat array of their values."""
    if len(arrays) == 1:
        return arrays[0]
    if len({a.dtype for a in arrays}) > 1:
        raise NotImplementedError(f"{op_name(function)}: outputs of different dtypes "
                                  f"({', '.join(str(a.dtype) for a in arrays)}) that need "
                                  f"gradients are not supported")
    xp = backend.device_of(arrays[0]).xp
    return xp.concatenate([a.reshape(-1) for a in arrays])


def _parts(flat, shapes):
    """The outputs (or their gradients) of ``shapes`` from the node's flat array (or tensor)."""
    if len(shapes) == 1:
        return [flat]
    parts, start = [], 0
    for shape in shapes:
        size = int(numpy.prod(shape))
        parts.append(flat[start:start + size].reshape(shape))
        start += size
    return parts


# PyTorch's path to this module's names, ``from tinyseq.autograd.function import
# once_differentiable``, names this same module
sys.modules[__package__ + ".autograd.function"] = sys.modules[__name__]

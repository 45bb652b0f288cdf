"""Module backward hooks, as PyTorch's ``register_full_backward_pre_hook`` and
``register_full_backward_hook``.

A call of a module with such hooks passes its floating tensor inputs, and then its tensor
outputs, through one identity function each (``HookedGradients``), so that a backward sees
all their gradients at once: the outputs' first, given to each pre-hook
``hook(module, grad_output)`` (which may replace them), then the inputs', given with the
outputs' to each ``hook(module, grad_input, grad_output)`` (which may replace the inputs').
When no input needs a gradient the hooks run as soon as the outputs' gradients are known,
with grad_input all None, as PyTorch's do.
"""
import warnings

from ..autograd import Function
from ..modes import is_grad_enabled
from ..tensor import Tensor


class HookedCall:
    """The gradients of one call: what its outputs received, for the hooks of its inputs.
    ``tracked`` lists the places, among the call's tensor arguments (``tensors`` of them),
    of those that pass through the identity; grad_input holds None at the others."""

    def __init__(self, module, pre_hooks, hooks, tracked, tensors):
        self.module = module
        self.pre_hooks = pre_hooks
        self.hooks = hooks
        self.tracked = tracked
        self.tensors = max(tensors, 1)
        self.grad_output = None

    def outputs_done(self, grads):
        for hook in self.pre_hooks:
            result = hook(self.module, grads)
            if result is not None:
                grads = _as_tuple(result)
        self.grad_output = grads
        if not self.tracked:
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients.",
                          UserWarning, stacklevel=2)
            self.inputs_done(())
        return grads

    def inputs_done(self, grads):
        grad_input = [None] * self.tensors
        for place, grad in zip(self.tracked, grads):
            grad_input[place] = grad
        for hook in self.hooks:
            result = hook(self.module, tuple(grad_input), self.grad_output)
            if result is not None:
                grad_input = list(_as_tuple(result))
        return tuple(grad_input[place] for place in self.tracked)


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


class HookedGradients(Function):
    """The identity on a module call's tensors; backward hands their gradients to the call's
    hooks, ``stage`` saying whether they are its outputs' or its inputs'."""

    @staticmethod
    def forward(ctx, call, stage, *tensors):
        ctx.call, ctx.stage = call, stage
        return tensors if len(tensors) > 1 else tensors[0]

    @staticmethod
    def backward(ctx, *grads):
        done = ctx.call.outputs_done if ctx.stage == "outputs" else ctx.call.inputs_done
        return (None, None) + tuple(done(grads))


def wrap_inputs(module, args, pre_hooks, hooks):
    """``args`` with the floating tensors that need gradients passed through the identity,
    and the call's HookedCall (None when grad mode is off)."""
    if not is_grad_enabled():
        return args, None
    tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    places = [i for i in tensors if args[i].requires_grad and args[i].is_floating_point()]
    call = HookedCall(module, pre_hooks, hooks, [tensors.index(i) for i in places],
                      len(tensors))
    if not places:
        return args, call
    passed = _as_tuple(HookedGradients.apply(call, "inputs", *(args[i] for i in places)))
    args = list(args)
    for i, tensor in zip(places, passed):
        args[i] = tensor
    return tuple(args), call


def wrap_outputs(call, output):
    """``output`` (a tensor, or a tuple whose tensors are wrapped) through the identity."""
    if call is None:
        return output
    items = output if isinstance(output, tuple) else (output,)
    places = [i for i, item in enumerate(items)
              if isinstance(item, Tensor) and item.requires_grad]
    if not places:
        return output
    passed = _as_tuple(HookedGradients.apply(call, "outputs", *(items[i] for i in places)))
    items = list(items)
    for i, tensor in zip(places, passed):
        items[i] = tensor
    return tuple(items) if isinstance(output, tuple) else items[0]

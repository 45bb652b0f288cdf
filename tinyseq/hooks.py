"""Tensor hooks, as PyTorch's ``Tensor.register_hook``: functions that backward calls with a
tensor's gradient when it has it whole, and whose returned Tensor replaces that gradient.

An op's output keeps its hooks on the op (the graph node that made it); backward runs them
when the node's gradient is complete, before the node's own backward. A leaf keeps them here,
in ``on_leaves``; backward sums what a pass sends a hooked leaf, runs the hooks on the sum and
adds their result into ``.grad``, as PyTorch does.
"""
import weakref

on_leaves = {}      # id(leaf) -> (weak reference to the leaf, its hooks in order)
Tensor = None       # the Tensor class, filled in by tensor.py (which imports this module)


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again (and then calls
    ``on_removed``, when given)."""

    __slots__ = ("hooks", "hook", "on_removed")

    def __init__(self, hooks, hook, on_removed=None):
        self.hooks, self.hook, self.on_removed = hooks, hook, on_removed

    def remove(self):
        for i, registered in enumerate(self.hooks):
            if registered is self.hook:
                del self.hooks[i]
                if self.on_removed is not None:
                    self.on_removed()
                return


def leaf_hooks(leaf):
    """The hook list of ``leaf`` (made empty on first use; it goes when the leaf goes)."""
    entry = on_leaves.get(id(leaf))
    if entry is None or entry[0]() is not leaf:
        entry = on_leaves[id(leaf)] = (weakref.ref(leaf), [])
        weakref.finalize(leaf, on_leaves.pop, id(leaf), None)
    return entry[1]


def hooks_of_leaf(leaf):
    """``leaf``'s hooks, or None when it has none."""
    entry = on_leaves.get(id(leaf))
    return entry[1] if entry is not None and entry[0]() is leaf and entry[1] else None


def run_hooks(hooks, grad):
    """``grad`` (an array) after each hook in turn: a hook returning None leaves it, one
    returning a Tensor replaces it; the replacement must keep its shape and dtype."""
    for hook in list(hooks):
        result = hook(Tensor.from_array(grad, False))
        if result is None:
            continue
        if not isinstance(result, Tensor):
            raise TypeError(f"register_hook: hook {_name(hook)} returned a "
                            f"{type(result).__name__}; it must return a Tensor or None")
        if tuple(result.shape) != tuple(grad.shape) or result.array.dtype != grad.dtype \
                or type(result.array) is not type(grad):
            raise RuntimeError(f"register_hook: hook {_name(hook)} changed the gradient from "
                               f"{tuple(grad.shape)} {grad.dtype} {type(grad).__name__} to "
                               f"{tuple(result.shape)} {result.array.dtype} "
                               f"{type(result.array).__name__}; it must keep its shape, dtype "
                               f"and device")
        grad = result.array
    return grad


def _name(hook):
    return repr(getattr(hook, "__qualname__", type(hook).__name__))

"""Summing gradients during backward: the speed machinery (a first reading can skip it).

The engine's loop (``autograd.backward``) hands every gradient to an accumulator: ``add``
for a gradient reaching an op's output, ``add_to_leaf`` for one reaching a leaf, ``take``
when an op is ready to run its backward (None when no gradient reached it), and ``finish`` at
the end. ``DenseSums`` does the obvious: each gradient is an array, added to what came before.
It is the oracle the engine tests compare against.

``LazySums``, the default, computes the same sums faster by keeping two kinds of gradient in
a lazy form until they are needed:

- ``SparseGrad``: what indexing sends back, zero except at an index. k slices of one tensor
  (the four gates of an LSTM, x[t] at every step) are added into one buffer, not k arrays
  of zeros.
- ``ProductGrad``: a weight gradient a^T b kept as its two factors (what x W^T sends W). All
  of one leaf's are summed at the end as one product [a_1; a_2; ...]^T [b_1; b_2; ...], so a
  weight shared by T time steps costs one tall matrix product instead of T small ones.

From its second gradient on, an op's output gradient lives in a buffer the pass made itself
(``owned``), and later gradients are added into it in place instead of allocating a new sum.
"""
import numpy

from . import backend
from .hooks import hooks_of_leaf, on_leaves, run_hooks


def sum_to(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    return g if g.shape == shape else _summed_to(g, shape)


def _summed_to(g, shape):
    """sum_to when the shapes differ (a function of its own: its generator's closure would
    cost every call of sum_to two cells)."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


class SparseGrad:
    """A gradient that is zero except at ``index``, where it is ``values``: what indexing
    sends back."""

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
    """A weight gradient a^T b kept as its two factors."""

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


def dense(grad):
    """``grad`` as an array (a SparseGrad or ProductGrad made whole)."""
    return grad.dense() if type(grad) is SparseGrad or type(grad) is ProductGrad else grad


def add_to_grad(leaf, g):
    """Add the array ``g`` (summed to the leaf's shape) into ``leaf.grad``."""
    array = leaf.array
    if g.shape != array.shape:
        g = sum_to(g, array.shape)
    # the first gradient is copied into a fresh array of the leaf's dtype (g may be a NumPy
    # scalar from 0-d math, a read-only broadcast view, or the array another leaf receives
    # too); later ones are added into that array in place
    if leaf.grad is None:
        xp = backend.device_of(array).xp
        leaf.grad = type(leaf).from_array(xp.array(g, dtype=array.dtype), False)
    elif leaf.grad.array.ndim:
        leaf.grad.array += g
    else:
        xp = backend.device_of(array).xp
        leaf.grad.array = xp.asarray(leaf.grad.array + g, dtype=array.dtype)


class HookedLeaves:
    """What a pass sends the leaves that have hooks (``Tensor.register_hook``), held back: at
    the end each such leaf's sum goes through its hooks and then into ``.grad`` (PyTorch runs
    a leaf's hooks once, on all it gets in the pass)."""

    def __init__(self):
        self.grads = {}

    def hold(self, leaf, grad):
        """Hold ``grad`` back when ``leaf`` has hooks; True when it did."""
        if hooks_of_leaf(leaf) is None:
            return False
        self.grads.setdefault(leaf, []).append(grad)
        return True

    def finish(self):
        for leaf, grads in self.grads.items():
            add_to_grad(leaf, run_hooks(hooks_of_leaf(leaf) or (), leaf_total(leaf, grads)))


def leaf_total(leaf, grads):
    """The sum of ``grads`` (arrays, SparseGrads or ProductGrads that a pass sends ``leaf``) as
    one array of the leaf's shape and dtype."""
    array = leaf.array
    total = backend.device_of(array).xp.zeros_like(array)
    for grad in grads:
        total += sum_to(dense(grad), array.shape)
    return total


class DenseSums:
    """Every gradient an array, summed as it arrives: the plain accumulator."""

    def __init__(self):
        self.pending = {}
        self.hooked = HookedLeaves()

    def add(self, node, grad):
        grad = dense(grad)
        current = self.pending.get(node)
        self.pending[node] = grad if current is None else current + grad

    def take(self, node):
        g = self.pending.pop(node, None)
        return numpy.asarray(g) if isinstance(g, numpy.generic) else g   # 0-d math: scalars

    def add_to_leaf(self, leaf, grad):
        if on_leaves and self.hooked.hold(leaf, grad):
            return
        add_to_grad(leaf, dense(grad))

    def finish(self):
        self.hooked.finish()


class LazySums:
    """Sparse and product gradients kept lazy, sums in buffers owned by the pass."""

    def __init__(self):
        self.pending = {}
        self.owned = set()      # nodes whose pending gradient is a buffer this pass made
        self.products = {}      # leaf -> its ProductGrads, summed in one product at the end
        self.hooked = HookedLeaves()

    def add(self, node, grad):
        """Add ``grad`` into what ``node``'s output has received so far. The first gradient
        is kept as it came (it may be another op's array); from the second on, the sum lives
        in a buffer this pass made, and later ones are added into it in place."""
        if type(grad) is ProductGrad:
            grad = grad.dense()
        current = self.pending.get(node)
        if current is None:
            self.pending[node] = grad
            return
        if node in self.owned:
            total = current
        elif type(current) is SparseGrad:
            total = current.dense()
        elif type(grad) is SparseGrad:
            total = current.copy()
        else:
            self.pending[node] = current + grad
            self.owned.add(node)
            return
        if type(grad) is SparseGrad:
            grad.add_into(total)
        elif total.shape == grad.shape and total.dtype == grad.dtype:
            total += grad
        else:
            total = total + grad
        self.pending[node] = total
        self.owned.add(node)

    def take(self, node):
        if self.owned:
            self.owned.discard(node)
        g = self.pending.pop(node, None)
        if type(g) is numpy.ndarray:
            return g
        if type(g) is SparseGrad:
            return g.dense()
        return numpy.asarray(g) if isinstance(g, numpy.generic) else g   # 0-d math: scalars

    def add_to_leaf(self, leaf, grad):
        if on_leaves and self.hooked.hold(leaf, grad):
            return
        if type(grad) is ProductGrad:
            self.products.setdefault(leaf, []).append(grad)
        else:
            add_to_grad(leaf, dense(grad))

    def finish(self):
        for leaf, products in self.products.items():
            add_to_grad(leaf, ProductGrad.total(products))
        self.hooked.finish()

"""Ops that move values around without arithmetic: reshape, transpose, indexing, joining."""
from ..accumulate import SparseGrad, sum_to
from ..autograd import Function


class Reshape(Function):
    """y = x viewed with another shape;  dx = g reshaped back"""
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, xp, x):
        self.saved = x.shape
        return x.reshape(self.shape)

    def backward(self, xp, g):
        return (g.reshape(self.saved),)


class Transpose(Function):
    """y = x with its axes permuted;  dx = g permuted back"""
    __slots__ = ("axes",)

    def __init__(self, axes):
        self.axes = axes

    def forward(self, xp, x):
        return x.transpose(self.axes)

    def backward(self, xp, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (g.transpose(inverse),)


class BroadcastTo(Function):
    """y = x broadcast to ``shape``;  dx = g summed back to x's shape"""
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, xp, x):
        self.saved = x.shape
        return xp.broadcast_to(x, self.shape)

    def backward(self, xp, g):
        return (sum_to(g, self.saved),)


class GetItem(Function):
    """y = x[index];  dx = zeros with g added at index (repeated indices add up), sent back
    as a SparseGrad"""
    __slots__ = ("index", "advanced")
    name = "getitem"

    def __init__(self, index, advanced):
        self.index = index
        self.advanced = advanced

    def forward(self, xp, x):
        self.saved = x.shape
        return x[self.index]

    def backward(self, xp, g):
        return (SparseGrad(xp, self.saved, self.index, g, self.advanced),)


class Concat(Function):
    """y = the inputs joined along ``axis``;  each input gets its slice of g"""
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, *arrays):
        self.saved = [a.shape[self.axis] for a in arrays]
        return xp.concatenate(arrays, axis=self.axis)

    def backward(self, xp, g):
        grads = []
        start = 0
        index = [slice(None)] * g.ndim
        for size in self.saved:
            index[self.axis] = slice(start, start + size)
            grads.append(g[tuple(index)])
            start += size
        return grads


class Stack(Function):
    """y = the inputs stacked along a new ``axis``;  each input gets its slice of g"""
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, *arrays):
        return xp.stack(arrays, axis=self.axis)

    def backward(self, xp, g):
        return [g[(slice(None),) * self.axis + (i,)] for i in range(g.shape[self.axis])]

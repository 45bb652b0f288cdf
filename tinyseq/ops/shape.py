"""Ops that move values around without arithmetic: reshape, transpose, indexing, joining,
padding, tiling, scattering."""
from ..accumulate import SparseGrad, sum_to
from ..autograd import Function
from ..backend import scatter_add


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


def along_dim(xp, index, dim):
    """The integer-array index that picks ``x[..., index[i, j, ...], ...]`` with ``index`` at
    ``dim``: one arange per other dim, shaped to broadcast against ``index``."""
    ndim = index.ndim
    return tuple(index if d == dim else
                 xp.arange(index.shape[d]).reshape([-1 if e == d else 1 for e in range(ndim)])
                 for d in range(ndim))


class Gather(Function):
    """y[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for other dims), as torch.gather;
    dx = zeros with g added where y was read (repeated indices add up)"""
    __slots__ = ("index", "dim")

    def __init__(self, index, dim):
        self.index = index
        self.dim = dim

    def forward(self, xp, x):
        picked = along_dim(xp, self.index, self.dim)
        self.saved = (x.shape, picked)
        return x[picked]

    def backward(self, xp, g):
        shape, picked = self.saved
        return (SparseGrad(xp, shape, picked, g, True),)


class IndexPut(Function):
    """y = x with y[index] = v (PyTorch's index_put);  dx = g with 0 at index,
    dv = g[index] summed to v's shape"""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def forward(self, xp, x, value):
        y = x.copy()
        y[self.index] = value
        self.saved = value.shape
        return y

    def backward(self, xp, g):
        grad_x = grad_value = None
        if self.inputs[0].requires_grad:
            grad_x = g.copy()
            grad_x[self.index] = 0
        if self.inputs[1].requires_grad:
            shape = self.saved
            grad_value = g[self.index]
            if grad_value.ndim < len(shape):  # value had leading 1-dims that assignment drops
                grad_value = grad_value.reshape((1,) * (len(shape) - grad_value.ndim) +
                                                grad_value.shape)
            grad_value = sum_to(grad_value, shape)
        return grad_x, grad_value


class Repeat(Function):
    """y = x tiled ``repeats[d]`` times along each dim d (torch's repeat; extra leading repeats
    add dims);  dx = g summed over the copies"""
    __slots__ = ("repeats",)

    def __init__(self, repeats):
        self.repeats = repeats

    def forward(self, xp, x):
        self.saved = x.shape
        return xp.tile(x, self.repeats)

    def backward(self, xp, g):
        shape = (1,) * (len(self.repeats) - len(self.saved)) + tuple(self.saved)
        copies_and_sizes = [n for pair in zip(self.repeats, shape) for n in pair]
        copies = tuple(range(0, 2 * len(shape), 2))
        return (g.reshape(copies_and_sizes).sum(axis=copies).reshape(self.saved),)


class Pad(Function):
    """y = x with ``widths[d] = (before, after)`` entries of ``value`` added around each dim d;
    dx = the middle of g"""
    __slots__ = ("widths", "value")

    def __init__(self, widths, value):
        self.widths = widths
        self.value = value

    def forward(self, xp, x):
        return xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, xp, g):
        return (g[tuple(slice(before, n - after)
                        for (before, after), n in zip(self.widths, g.shape))],)


class Flip(Function):
    """y = x reversed along each dim of ``axes`` (a copy, as PyTorch's);  dx = g reversed back"""
    __slots__ = ("axes",)

    def __init__(self, axes):
        self.axes = axes

    def forward(self, xp, x):
        return xp.flip(x, self.axes).copy() if self.axes else x.copy()

    def backward(self, xp, g):
        return (xp.flip(g, self.axes) if self.axes else g,)


class Roll(Function):
    """y = x shifted ``shifts[i]`` places along ``axes[i]``, entries pushed off one end coming
    back at the other (all of x flattened when axes is None);  dx = g shifted back"""
    __slots__ = ("shifts", "axes")

    def __init__(self, shifts, axes):
        self.shifts = shifts
        self.axes = axes

    def forward(self, xp, x):
        return xp.roll(x, self.shifts, self.axes)

    def backward(self, xp, g):
        return (xp.roll(g, tuple(-s for s in self.shifts), self.axes),)


class Tril(Function):
    """y = x with the entries above diagonal ``diagonal`` of its last two dims set to 0 (the
    lower triangle kept);  dx = g likewise"""
    __slots__ = ("diagonal",)
    upper = False

    def __init__(self, diagonal):
        self.diagonal = diagonal

    def forward(self, xp, x):
        return self.keep(xp, x)

    def backward(self, xp, g):
        return (self.keep(xp, g),)

    def keep(self, xp, x):
        """x with 0 outside the triangle (also for bool and integer x: 0 of x's dtype)."""
        rows, columns = x.shape[-2:]
        if self.upper:        # on or above the diagonal: not strictly below it
            inside = ~xp.tri(rows, columns, self.diagonal - 1, dtype=bool)
        else:
            inside = xp.tri(rows, columns, self.diagonal, dtype=bool)
        return xp.where(inside, x, xp.zeros((), dtype=x.dtype))


class Triu(Tril):
    """y = x with the entries below diagonal ``diagonal`` of its last two dims set to 0 (the
    upper triangle kept);  dx = g likewise"""
    __slots__ = ()
    upper = True


def _corner(values, shape):
    """The leading corner of ``values`` of ``shape``: the part of a source an index reads."""
    return values[tuple(slice(0, n) for n in shape)]


def _padded(xp, values, shape):
    """``values`` in the leading corner of zeros of ``shape`` (``values`` itself when it has
    that shape): the gradient of a source that an index reads only part of."""
    if values.shape == tuple(shape):
        return values
    out = xp.zeros(shape, dtype=values.dtype)
    out[tuple(slice(0, n) for n in values.shape)] = values
    return out


class Scatter(Function):
    """y = x with y[index[i][j]][j] = src[i][j] for dim 0 (likewise for other dims), as
    torch.scatter;  dx = g with 0 where y was written,  dsrc = g read where y was written
    (0 for the src entries beyond index's shape)"""
    __slots__ = ("index", "dim")

    def __init__(self, index, dim):
        self.index = index
        self.dim = dim

    def forward(self, xp, x, src):
        picked = along_dim(xp, self.index, self.dim)
        y = x.copy()
        y[picked] = _corner(src, self.index.shape)
        self.saved = (picked, src.shape)
        return y

    def backward(self, xp, g):
        picked, src_shape = self.saved
        grad_x = grad_src = None
        if self.inputs[0].requires_grad:
            grad_x = g.copy()
            grad_x[picked] = 0
        if self.inputs[1].requires_grad:
            grad_src = _padded(xp, g[picked], src_shape)
        return grad_x, grad_src


class ScatterAdd(Function):
    """y = x with src[i][j] added at y[index[i][j]][j] for dim 0 (likewise for other dims;
    repeated indices add up), as torch.scatter_add;  dx = g,  dsrc = g read where src was
    added (0 for the src entries beyond index's shape)"""
    __slots__ = ("index", "dim")

    def __init__(self, index, dim):
        self.index = index
        self.dim = dim

    def forward(self, xp, x, src):
        picked = along_dim(xp, self.index, self.dim)
        y = x.copy()
        scatter_add(xp, y, picked, _corner(src, self.index.shape))
        self.saved = (picked, src.shape)
        return y

    def backward(self, xp, g):
        picked, src_shape = self.saved
        return (g if self.inputs[0].requires_grad else None,
                _padded(xp, g[picked], src_shape) if self.inputs[1].requires_grad else None)


class IndexAdd(Function):
    """y = x with alpha * source[..., i, ...] added at y[..., index[i], ...] along ``dim``
    (repeated indices add up), as torch.index_add;  dx = g,  dsource = alpha * g[..., index, ...]"""
    __slots__ = ("index", "dim", "alpha")

    def __init__(self, index, dim, alpha):
        self.index = index
        self.dim = dim
        self.alpha = alpha

    def forward(self, xp, x, source):
        y = x.copy()
        where = (slice(None),) * self.dim + (self.index,)
        scatter_add(xp, y, where, source if self.alpha == 1 else source * self.alpha)
        return y

    def backward(self, xp, g):
        grad_source = None
        if self.inputs[1].requires_grad:
            grad_source = g[(slice(None),) * self.dim + (self.index,)]
            if self.alpha != 1:
                grad_source *= self.alpha
        return (g if self.inputs[0].requires_grad else None), grad_source

"""Reductions over one axis, a tuple of axes, or all axes (axis=None), and the running sums and
products along one axis (cumsum, cumprod)."""
import math

import numpy

from ..autograd import Function
from .elementwise import sign as pytorch_sign


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed; NumPy integers too, as PyTorch takes
    them) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (int, numpy.integer, tuple, list)):
        raise TypeError(f"axis must be None, an int or a tuple of ints, got {axis!r}")
    axes = (axis,) if isinstance(axis, (int, numpy.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, numpy.integer)) or isinstance(a, bool):
            raise TypeError(f"axis entries must be ints, got {a!r}")
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced(kept, axes, keepdims):
    """A reduction computed with keepdims=True as the op returns it: without the reduced axes
    unless ``keepdims``."""
    return kept if keepdims else kept.reshape(
        tuple(n for i, n in enumerate(kept.shape) if i not in axes))


class Sum(Function):
    """y = sum of x over ``axes``;  dx = g broadcast back to x's shape"""
    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        self.saved = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, xp, g):
        shape = self.saved
        if not self.keepdims:
            g = g.reshape(_kept_shape(shape, self.axes))
        return (xp.broadcast_to(g, shape),)


class Mean(Sum):
    """y = mean of x over ``axes``;  dx = g / n broadcast back to x's shape"""
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x.shape
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, xp, g):
        count = 1
        for a in self.axes:
            count *= self.saved[a]
        return super().backward(xp, g / count)


class Max(Function):
    """y = max of x over ``axes`` (none of them empty; other dims may be);  dx = g shared
    equally among the maximal entries"""
    __slots__ = ("axes", "keepdims")
    reduce = "max"
    saves_inputs = (0,)
    saves_output = True

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        empty = [a for a in self.axes if x.shape[a] == 0]   # a max of nothing: no value
        if empty and len(self.axes) == x.ndim:
            raise ValueError(f"cannot take the {self.reduce} of an empty tensor of shape {x.shape}")
        if empty:
            raise ValueError(f"cannot take the {self.reduce} over dim {empty[0]} of size 0 in "
                             f"shape {x.shape}")
        y = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
        self.saved = (x, y)
        return _reduced(y, self.axes, self.keepdims)

    def backward(self, xp, g):
        x, y = self.saved
        mask = x == y
        if not self.keepdims:
            g = g.reshape(y.shape)
        return (g * mask / mask.sum(axis=self.axes, keepdims=True),)


class Min(Max):
    """y = min of x over ``axes``;  dx = g shared equally among the minimal entries"""
    __slots__ = ()
    reduce = "min"


class LogSumExp(Function):
    """y = log(sum(exp(x))) over ``axes``, shifted by max(x) so exp never overflows;
    dx = g * exp(x - y)"""
    saves_inputs = (0,)
    saves_output = True
    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        shift = x.max(axis=self.axes, keepdims=True) if x.size else \
            xp.zeros(_kept_shape(x.shape, self.axes), x.dtype)   # an empty sum: log 0 = -inf
        shift = xp.where(xp.isfinite(shift), shift, 0)
        with numpy.errstate(divide="ignore"):      # a row of -inf sums to 0: its log is -inf
            kept = xp.log(xp.exp(x - shift).sum(axis=self.axes, keepdims=True)) + shift
        self.saved = (x, kept)
        return _reduced(kept, self.axes, self.keepdims)

    def backward(self, xp, g):
        x, kept = self.saved
        if not self.keepdims:
            g = g.reshape(_kept_shape(x.shape, self.axes))
        with numpy.errstate(invalid="ignore"):     # a row of -inf: NaN, silently, as PyTorch
            return (g * xp.exp(x - kept),)


def reversed_cumsum(xp, a, axis):
    """out[i] = a[i] + a[i + 1] + ... along ``axis``: the sum from each entry to the end."""
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis), axis)


class Cumsum(Function):
    """y[i] = x[0] + ... + x[i] along ``axis``;  dx[i] = g[i] + ... + g[n - 1]"""
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, x):
        return xp.cumsum(x, self.axis, dtype=x.dtype)

    def backward(self, xp, g):
        return (reversed_cumsum(xp, g, self.axis),)


class Cumprod(Function):
    """y[i] = x[0] * ... * x[i] along ``axis``;  dx[k] = sum over i >= k of g[i] times the
    product of x[:i + 1] without x[k] (= reversed_cumsum(g y)[k] / x[k] before the first 0,
    the product with that 0 taken as 1 at it, 0 after it)"""
    saves_inputs = (0,)
    saves_output = True
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, x):
        y = xp.cumprod(x, self.axis, dtype=x.dtype)
        self.saved = (x, y)
        return y

    def backward(self, xp, g):
        x, y = self.saved
        axis = self.axis
        zero = x == 0
        if not zero.any():
            return (reversed_cumsum(xp, g * y, axis) / x,)
        zeros_so_far = xp.cumsum(zero, axis)
        before = zeros_so_far == 0                       # no 0 up to and including here
        first = zero & (zeros_so_far == 1)               # the first 0 of its line
        grad = reversed_cumsum(xp, g * y, axis) / xp.where(before, x, 1)
        with_one = xp.cumprod(xp.where(first, 1, x), axis)
        at_first = reversed_cumsum(xp, g * with_one, axis)
        zero_grad = xp.zeros((), dtype=grad.dtype)
        return (xp.where(before, grad, xp.where(first, at_first, zero_grad)),)


class Prod(Function):
    """y = product of x over ``axes``;  dx = g times the product of the other entries (g y / x
    without zeros; with one 0, the product of the rest at the 0 and 0 elsewhere)"""
    saves_inputs = (0,)
    saves_output = True
    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        kept = x.prod(axis=self.axes, keepdims=True)
        self.saved = (x, kept)
        return _reduced(kept, self.axes, self.keepdims)

    def backward(self, xp, g):
        x, kept = self.saved
        if not self.keepdims:
            g = g.reshape(kept.shape)
        zero = x == 0
        if not zero.any():
            return (g * kept / x,)
        zeros = zero.sum(axis=self.axes, keepdims=True)
        nonzero_x = xp.where(zero, 1, x)
        others = xp.where(zeros == 0, kept / nonzero_x,
                          xp.where(zero & (zeros == 1),
                                   nonzero_x.prod(axis=self.axes, keepdims=True), 0))
        return (g * others,)


class Norm(Function):
    """y = (sum |x|^p)^(1/p) over ``axes`` (p = inf: max |x|, -inf: min |x|, 0: the count of
    non-zeros);  dx as PyTorch's: g x / y for p = 2, g sign(x) for p = 1, g sign(x) shared
    among the |x| equal to y for p = +-inf, g sign(x) |x|^(p-1) / y^(p-1) otherwise, 0 where
    y = 0 (none for p = 0)"""
    saves_inputs = (0,)
    saves_output = True
    __slots__ = ("p", "axes", "keepdims")

    def __init__(self, p, axes, keepdims):
        self.p = p
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        p, axes = self.p, self.axes
        if p in (math.inf, -math.inf) and any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"cannot take the {p} norm over an empty dim of shape {x.shape} "
                             f"(a max or min of nothing)")
        size = xp.abs(x)
        with numpy.errstate(divide="ignore", over="ignore"):   # 0 ** -1, as PyTorch: inf
            if p == 2:
                kept = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
            elif p == 1:
                kept = size.sum(axis=axes, keepdims=True)
            elif p == math.inf:
                kept = size.max(axis=axes, keepdims=True)
            elif p == -math.inf:
                kept = size.min(axis=axes, keepdims=True)
            elif p == 0:
                kept = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
            else:
                kept = (size ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.saved = (x, kept)
        return _reduced(kept, axes, self.keepdims)

    def backward(self, xp, g):
        x, y = self.saved
        p = self.p
        if p == 0:
            return (None,)
        if not self.keepdims:
            g = g.reshape(y.shape)
        sign = pytorch_sign(x)
        zero = xp.zeros((), dtype=g.dtype)
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p == 1:
                return (g * sign,)
            if p == 2:
                return (g * xp.where(y == 0, zero, x / y),)
            size = xp.abs(x)
            if p in (math.inf, -math.inf):
                picked = (size == y) | xp.isnan(size)
                return (sign * (g / picked.sum(axis=self.axes, keepdims=True)) * picked,)
            if p < 1:
                scaled = sign * xp.where(x == 0, zero, size ** (p - 1))
                return (scaled * g * y ** (1 - p),)
            return (sign * size ** (p - 1) * xp.where(y == 0, zero, g / y ** (p - 1)),)


class LogCumSumExp(Function):
    """y[i] = log(exp(x[0]) + ... + exp(x[i])) along ``axis``;
    dx[k] = sum over i >= k of g[i] exp(x[k] - y[i]), summed in log space for g > 0 and g < 0
    apart so that nothing overflows"""
    saves_inputs = (0,)
    saves_output = True
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, x):
        with numpy.errstate(invalid="ignore"):     # NaN, or inf - inf, gives NaN, as PyTorch
            y = xp.logaddexp.accumulate(x, axis=self.axis) if x.size else x.copy()
        self.saved = (x, y)
        return y

    def backward(self, xp, g):
        x, y = self.saved
        axis = self.axis
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            def tail_sums(part):        # sum over i >= k of part[i] exp(x[k] - y[i])
                log_terms = xp.log(part) - y
                tail = xp.flip(xp.logaddexp.accumulate(xp.flip(log_terms, axis), axis=axis),
                               axis)
                return xp.exp(tail + x)
            return (tail_sums(xp.maximum(g, 0)) - tail_sums(xp.maximum(-g, 0)),)

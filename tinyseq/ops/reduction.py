"""Reductions over one axis, a tuple of axes, or all axes (axis=None)."""
import numpy

from ..autograd import Function


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (int, tuple, list)):
        raise TypeError(f"axis must be None, an int or a tuple of ints, got {axis!r}")
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool):
            raise TypeError(f"axis entries must be ints, got {a!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


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
    """y = max of x over ``axes``;  dx = g shared equally among the maximal entries"""
    __slots__ = ("axes", "keepdims")
    reduce = "max"
    saves_inputs = (0,)
    saves_output = True

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        if x.size == 0:
            raise ValueError(f"cannot take the {self.reduce} of an empty tensor of shape {x.shape}")
        y = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
        self.saved = (x, y)
        return y if self.keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

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
        return kept if self.keepdims else kept.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, xp, g):
        x, kept = self.saved
        if not self.keepdims:
            g = g.reshape(_kept_shape(x.shape, self.axes))
        with numpy.errstate(invalid="ignore"):     # a row of -inf: NaN, silently, as PyTorch
            return (g * xp.exp(x - kept),)

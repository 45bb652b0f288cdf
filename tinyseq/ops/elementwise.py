"""Elementwise ops. Binary ops broadcast like NumPy; their backward sums the gradient back
to each input's shape (``sum_to``)."""
import numpy

from ..accumulate import sum_to
from ..autograd import Function


class Add(Function):
    """y = a + b"""
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a.shape, b.shape)
        return a + b

    def backward(self, xp, g):
        a_shape, b_shape = self.saved
        a, b = self.inputs
        return (sum_to(g, a_shape) if a.requires_grad else None,
                sum_to(g, b_shape) if b.requires_grad else None)


class Sub(Function):
    """y = a - b"""
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a.shape, b.shape)
        return a - b

    def backward(self, xp, g):
        a_shape, b_shape = self.saved
        a, b = self.inputs
        return (sum_to(g, a_shape) if a.requires_grad else None,
                sum_to(-g, b_shape) if b.requires_grad else None)


class Mul(Function):
    """y = a * b;  da = g * b,  db = g * a"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, xp, g):
        a, b = self.saved
        return (sum_to(g * b, a.shape) if self.inputs[0].requires_grad else None,
                sum_to(g * a, b.shape) if self.inputs[1].requires_grad else None)


class Div(Function):
    """y = a / b;  da = g / b,  db = -g * a / b^2"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a, b)
        return a / b

    def backward(self, xp, g):
        a, b = self.saved
        ga = g / b
        return (sum_to(ga, a.shape) if self.inputs[0].requires_grad else None,
                sum_to(-ga * a / b, b.shape) if self.inputs[1].requires_grad else None)


class FloorDivide(Function):
    """y = floor(a / b), Python's ``//`` (no gradient: PyTorch has none for it)"""
    __slots__ = ()
    differentiable = False

    def forward(self, xp, a, b):
        with numpy.errstate(divide="ignore", invalid="ignore"):   # x // 0.0: inf or NaN
            return xp.floor_divide(a, b)


class Remainder(Function):
    """y = a - floor(a / b) * b, Python's ``%``;  da = g,  db = -g * floor(a / b)"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a, b)
        with numpy.errstate(divide="ignore", invalid="ignore"):   # x % 0.0: NaN
            return xp.remainder(a, b)

    def backward(self, xp, g):
        a, b = self.saved
        return (sum_to(g, a.shape) if self.inputs[0].requires_grad else None,
                sum_to(-g * xp.floor_divide(a, b), b.shape) if self.inputs[1].requires_grad
                else None)


class Clone(Function):
    """y = a copy of x;  dx = g"""
    __slots__ = ()

    def forward(self, xp, x):
        return x.copy()

    def backward(self, xp, g):
        return (g,)


class Neg(Function):
    """y = -x"""
    __slots__ = ()

    def forward(self, xp, x):
        return -x

    def backward(self, xp, g):
        return (-g,)


class PowScalar(Function):
    """y = x ** p for a constant number p;  dx = g * p * x^(p-1)"""
    saves_inputs = (0,)
    __slots__ = ("exponent",)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, xp, x):
        self.saved = x
        return x ** self.exponent

    def backward(self, xp, g):
        x = self.saved
        p = self.exponent
        return (g * p * x ** (p - 1),)


class Pow(Function):
    """y = a ** b for tensors;  da = g * b * a^(b-1),  db = g * y * log(a) (0 where a <= 0)"""
    saves_inputs = (0, 1)
    saves_output = True
    __slots__ = ()

    def forward(self, xp, a, b):
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (b < 0).any():
            y = _integer_power(xp, a, b)
        else:
            y = a ** b
        self.saved = (a, b, y)
        return y

    def backward(self, xp, g):
        a, b, y = self.saved
        ga = g * b * a ** (b - 1)
        positive = a > 0
        log_a = xp.log(xp.where(positive, a, 1))
        gb = xp.where(positive, g * y * log_a, 0)
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


def _integer_power(xp, a, b):
    """a ** b for integers with some b < 0, as PyTorch computes it (NumPy refuses): a negative
    power truncates to 0, except 1 ** b = 1 and (-1) ** b = +-1 by the parity of b."""
    negative = b < 0
    power = a ** xp.where(negative, 0, b)
    unit_power = xp.where(a == 1, 1, xp.where(a == -1, 1 - 2 * (b & 1), 0))
    return xp.where(negative, unit_power, power).astype(power.dtype, copy=False)


class Exp(Function):
    """y = exp(x);  dx = g * y"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        y = xp.exp(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        return (g * self.saved,)


class Log(Function):
    """y = log(x);  dx = g / x"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return xp.log(x)

    def backward(self, xp, g):
        return (g / self.saved,)


class Tanh(Function):
    """y = tanh(x);  dx = g * (1 - y^2)"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        y = xp.tanh(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        y = self.saved
        return (g * (1 - y * y),)


def stable_sigmoid(xp, x, out=None):
    """1 / (1 + exp(-x)) computed as (1 + tanh(x / 2)) / 2, which never overflows; into
    ``out`` when given (``out`` may be ``x`` itself)."""
    if out is None:
        y = xp.tanh(x * 0.5)
    else:
        y = xp.tanh(xp.multiply(x, 0.5, out=out), out=out)
    y *= 0.5
    y += 0.5
    return y


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dx = g * y * (1 - y)"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        y = stable_sigmoid(xp, x)
        self.saved = y
        return y

    def backward(self, xp, g):
        y = self.saved
        return (g * y * (1 - y),)


class Relu(Function):
    """y = max(x, 0);  dx = g * [x > 0]"""
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x > 0
        return xp.maximum(x, 0)

    def backward(self, xp, g):
        return (g * self.saved,)


class Sin(Function):
    """y = sin(x);  dx = g * cos(x)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return xp.sin(x)

    def backward(self, xp, g):
        return (g * xp.cos(self.saved),)


class Cos(Function):
    """y = cos(x);  dx = -g * sin(x)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return xp.cos(x)

    def backward(self, xp, g):
        return (-g * xp.sin(self.saved),)


class Abs(Function):
    """y = |x|;  dx = g * sign(x) (0 at x = 0, as PyTorch)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return xp.abs(x)

    def backward(self, xp, g):
        return (g * xp.sign(self.saved),)


class Sqrt(Function):
    """y = sqrt(x);  dx = g / (2 y)"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        y = xp.sqrt(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        return (g / (2 * self.saved),)


class Clamp(Function):
    """y = min(max(x, low), high) (either bound may be None);  dx = g where low <= x <= high"""
    __slots__ = ("low", "high")
    saves_inputs = (0,)

    def __init__(self, low, high):
        self.low = low
        self.high = high

    def forward(self, xp, x):
        self.saved = x
        return xp.clip(x, self.low, self.high)

    def backward(self, xp, g):
        x = self.saved
        inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return (g * inside,)


class Where(Function):
    """y = cond ? a : b (cond a boolean tensor without gradient)"""
    __slots__ = ()

    def forward(self, xp, cond, a, b):
        if cond.dtype != bool:
            raise TypeError(f"condition must be boolean, got {cond.dtype}")
        self.saved = (cond, a.shape, b.shape)
        return xp.where(cond, a, b)

    def backward(self, xp, g):
        cond, a_shape, b_shape = self.saved
        zero = xp.zeros((), dtype=g.dtype)
        return None, sum_to(xp.where(cond, g, zero), a_shape), sum_to(xp.where(cond, zero, g), b_shape)


class Compare(Function):
    """A boolean result of <, <=, >, >=, ==, != (no gradient)."""
    __slots__ = ("operator",)
    differentiable = False

    def __init__(self, operator):
        self.operator = operator

    def forward(self, xp, a, b):
        return self.operator(a, b)


class Rounding(Function):
    """y = round(x), floor(x) or ceil(x) (``how``);  dx = 0, a step function's derivative"""
    __slots__ = ("how", "decimals")

    def __init__(self, how, decimals=0):
        self.how = how
        self.decimals = decimals

    def forward(self, xp, x):
        if self.how == "round":
            return xp.round(x, self.decimals)
        return getattr(xp, self.how)(x)

    def backward(self, xp, g):
        return (xp.zeros_like(g),)


def sign(x):
    """1, 0 or -1 by the sign of x, in x's dtype; 0 for NaN and -0.0, as PyTorch's sign (NumPy's
    gives NaN and -0.0)."""
    if x.dtype.kind == "b":
        return x.copy()
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


class Sign(Function):
    """y = sign(x): 1, 0 or -1 (0 for NaN, as PyTorch);  dx = 0"""
    __slots__ = ()

    def forward(self, xp, x):
        return sign(x)

    def backward(self, xp, g):
        return (xp.zeros_like(g),)


class Log1p(Function):
    """y = log(1 + x), exact for small x;  dx = g / (1 + x)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(divide="ignore", invalid="ignore"):   # -inf at -1, NaN below
            return xp.log1p(x)

    def backward(self, xp, g):
        with numpy.errstate(divide="ignore"):
            return (g / (1 + self.saved),)


class Expm1(Function):
    """y = exp(x) - 1, exact for small x;  dx = g * (y + 1)"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        with numpy.errstate(over="ignore"):                       # inf, as PyTorch
            y = xp.expm1(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        return (g * (self.saved + 1),)


class Reciprocal(Function):
    """y = 1 / x;  dx = -g * y^2"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        with numpy.errstate(divide="ignore"):                     # 1 / 0 = inf, as PyTorch
            y = xp.reciprocal(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        y = self.saved
        return (-g * (y * y),)


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dx = -g * y^3 / 2"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        with numpy.errstate(divide="ignore", invalid="ignore"):   # inf at 0, NaN below
            y = 1 / xp.sqrt(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        y = self.saved
        return (-0.5 * g * (y * y * y),)


class Maximum(Function):
    """y = max(a, b) elementwise (NaN where either is NaN);  da = g where a > b, g / 2 where
    a == b (ties split it, as PyTorch), 0 where a < b;  db likewise"""
    saves_inputs = (0, 1)
    __slots__ = ()
    pick = "maximum"

    def forward(self, xp, a, b):
        self.saved = (a, b)
        return getattr(xp, self.pick)(a, b)

    def backward(self, xp, g):
        a, b = self.saved
        shared = xp.where(a == b, g / 2, g)
        zero = xp.zeros((), dtype=g.dtype)
        a_loses, b_loses = (a < b, a > b) if self.pick == "maximum" else (a > b, a < b)
        return (sum_to(xp.where(a_loses, zero, shared), a.shape)
                if self.inputs[0].requires_grad else None,
                sum_to(xp.where(b_loses, zero, shared), b.shape)
                if self.inputs[1].requires_grad else None)


class Minimum(Maximum):
    """y = min(a, b) elementwise (NaN where either is NaN);  da = g where a < b, g / 2 where
    a == b, 0 where a > b;  db likewise"""
    __slots__ = ()
    pick = "minimum"

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


class TruncDivide(Function):
    """y = trunc(a / b), the quotient rounded toward zero (no gradient, as ``//``)"""
    __slots__ = ()
    differentiable = False

    def forward(self, xp, a, b):
        if a.dtype.kind == "f":
            with numpy.errstate(divide="ignore", invalid="ignore"):
                return xp.trunc(a / b)
        quotient = xp.floor_divide(a, b)             # exact for integers, then toward zero
        quotient += (quotient < 0) & (xp.remainder(a, b) != 0)
        return quotient


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
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf, NaN
            return x ** self.exponent

    def backward(self, xp, g):
        x = self.saved
        p = self.exponent
        if p == 0:                              # 0, not 0 * inf at x = 0, as PyTorch
            return (xp.zeros_like(g),)
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (g * p * x ** (p - 1),)


class Pow(Function):
    """y = a ** b for tensors;  da = g * b * a^(b-1) (0 where b = 0),  db = g * y * log(a) (0
    where a = 0 and b >= 0; NaN where a < 0), as PyTorch"""
    saves_inputs = (0, 1)
    saves_output = True
    __slots__ = ()

    def forward(self, xp, a, b):
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (b < 0).any():
            y = _integer_power(xp, a, b)
        else:
            with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf, NaN
                y = a ** b
        self.saved = (a, b, y)
        return y

    def backward(self, xp, g):
        a, b, y = self.saved
        zero = xp.zeros((), dtype=g.dtype)
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ga = xp.where(b == 0, zero, g * b * a ** (b - 1))
            gb = xp.where((a == 0) & (b >= 0), zero, g * y * xp.log(a))
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


# W. J. Cody's rational approximations of erf and erfc (Math. Comp. 23, 1969; netlib specfun
# CALERF), within a few float64 roundings, each a (numerator, denominator) pair of coefficients,
# highest power first: erf(x) = x P(x^2) / Q(x^2) for |x| <= 0.46875; erfc(x) = exp(-x^2)
# P(x) / Q(x) for 0.46875 < x <= 4; erfc(x) = exp(-x^2) (1 / sqrt(pi) - z P(z) / Q(z)) / x,
# z = 1 / x^2, for x > 4
_ERF_SMALL = ((1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
               3.77485237685302021e02, 3.20937758913846947e03),
              (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
               2.84423683343917062e03))
_ERFC_MIDDLE = ((2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
                 6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
                 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03),
                (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                 3.43936767414372164e03, 1.23033935480374942e03))
_ERFC_LARGE = ((1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
                1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4),
               (1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
                6.05183413124413191e-2, 2.33520497626869185e-3))
_INV_SQRT_PI = 0.56418958354775628695
_INV_SQRT_2PI = 0.39894228040143267794
_SQRT_HALF = 0.70710678118654752440
_SQRT_2_OVER_PI = 0.79788456080286535588


def _rational(coefficients, x):
    numerator, denominator = coefficients
    top, bottom = numerator[0], denominator[0]
    for a, b in zip(numerator[1:], denominator[1:]):
        top, bottom = top * x + a, bottom * x + b
    return top / bottom


def erfc(xp, x):
    """1 - erf(x) by Cody's approximations, within a few float64 roundings (1e-15 relative)
    even where it is tiny, down to its underflow near x = 27.3. Each branch runs on x clipped
    into its own range, so none overflows; float16 is computed in float32, whose range the
    polynomials need."""
    narrow = x.dtype.itemsize < 4
    if narrow:
        x = x.astype(xp.float32)
    small = xp.clip(x, -0.46875, 0.46875)
    tail = xp.minimum(xp.abs(x), 28.0)
    middle = _rational(_ERFC_MIDDLE, xp.minimum(tail, 4.0))
    large = xp.maximum(tail, 4.0)
    z = 1 / (large * large)
    large = (_INV_SQRT_PI - z * _rational(_ERFC_LARGE, z)) / large
    # exp(-x^2) as exp(-r^2) exp(-(x - r)(x + r)), r = x rounded down to 1/16: r^2 is exact,
    # so the rounding of x^2 is not magnified by the exponential
    rounded = xp.trunc(tail * 16) / 16
    tail_value = xp.exp(-rounded * rounded) * xp.exp(-(tail - rounded) * (tail + rounded)) * \
        xp.where(tail <= 4, middle, large)
    y = xp.where(xp.abs(x) <= 0.46875, 1 - small * _rational(_ERF_SMALL, small * small),
                 xp.where(x < 0, 2 - tail_value, tail_value))
    return y.astype(xp.float16) if narrow else y


def erf(xp, x):
    """erf(x) by the same approximations: x R(x^2) near 0, where 1 - erfc(x) would lose
    digits, else sign(x) (1 - erfc(|x|))."""
    narrow = x.dtype.itemsize < 4
    if narrow:
        x = x.astype(xp.float32)
    small = xp.clip(x, -0.46875, 0.46875)
    y = xp.where(xp.abs(x) <= 0.46875, small * _rational(_ERF_SMALL, small * small),
                 xp.sign(x) * (1 - erfc(xp, xp.abs(x))))
    return y.astype(xp.float16) if narrow else y


class Erf(Function):
    """y = erf(x);  dx = g * 2 / sqrt(pi) * exp(-x^2)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return erf(xp, x)

    def backward(self, xp, g):
        x = self.saved
        return (g * (2 * _INV_SQRT_PI) * xp.exp(-x * x),)


class Erfc(Function):
    """y = erfc(x) = 1 - erf(x);  dx = -g * 2 / sqrt(pi) * exp(-x^2)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return erfc(xp, x)

    def backward(self, xp, g):
        x = self.saved
        return (-g * (2 * _INV_SQRT_PI) * xp.exp(-x * x),)


def normal_cdf(xp, x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2, the standard normal CDF, accurate in both tails."""
    return 0.5 * erfc(xp, -x * _SQRT_HALF)


class Gelu(Function):
    """y = x Phi(x), Phi the normal CDF;  dx = g (Phi(x) + x phi(x)). ``approximate="tanh"``:
    y = x (1 + t) / 2, t = tanh(k (x + 0.044715 x^3)), k = sqrt(2 / pi);
    dx = g ((1 + t) / 2 + x (1 - t^2) k (1 + 3 * 0.044715 x^2) / 2)"""
    saves_inputs = (0,)
    __slots__ = ("approximate",)

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(over="ignore", invalid="ignore"):    # x^3 may overflow; -inf: NaN
            if self.approximate == "tanh":
                return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
            return x * normal_cdf(xp, x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(over="ignore", invalid="ignore"):    # +-inf: NaN, as PyTorch
            if self.approximate == "tanh":
                t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
                return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI *
                             (1 + 3 * 0.044715 * x * x)),)
            return (g * (normal_cdf(xp, x) + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)),)


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


class Bitwise(Function):
    """A bool or integer result of &, |, ^ (two inputs) or ~ (one): logical on bools, bitwise
    on integers (no gradient)."""
    __slots__ = ("operator",)
    differentiable = False

    def __init__(self, operator):
        self.operator = operator

    def forward(self, xp, *arrays):
        return self.operator(*arrays)


class Rounding(Function):
    """y = round(x), floor(x), ceil(x) or trunc(x) (``how``);  dx = 0, a step function's
    derivative"""
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


_LN2 = 0.69314718055994530942
_LN10 = 2.30258509299404568402


class Sinh(Function):
    """y = sinh(x);  dx = g * cosh(x)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(over="ignore"):                       # +-inf, as PyTorch
            return xp.sinh(x)

    def backward(self, xp, g):
        with numpy.errstate(over="ignore"):
            return (g * xp.cosh(self.saved),)


class Cosh(Function):
    """y = cosh(x);  dx = g * sinh(x)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(over="ignore"):
            return xp.cosh(x)

    def backward(self, xp, g):
        with numpy.errstate(over="ignore"):
            return (g * xp.sinh(self.saved),)


class Asin(Function):
    """y = asin(x);  dx = g / sqrt(1 - x^2) (inf at +-1, NaN outside [-1, 1], as PyTorch)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(invalid="ignore"):                    # NaN outside [-1, 1]
            return xp.arcsin(x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return (g / xp.sqrt(1 - x * x),)


class Acos(Function):
    """y = acos(x);  dx = -g / sqrt(1 - x^2) (-inf at +-1, NaN outside [-1, 1])"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(invalid="ignore"):
            return xp.arccos(x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return (-g / xp.sqrt(1 - x * x),)


class Atan(Function):
    """y = atan(x);  dx = g / (1 + x^2)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return xp.arctan(x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(over="ignore"):                       # x^2 = inf: dx = 0
            return (g / (1 + x * x),)


class Asinh(Function):
    """y = asinh(x);  dx = g / sqrt(x^2 + 1)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        return xp.arcsinh(x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(over="ignore"):
            return (g / xp.sqrt(x * x + 1),)


class Acosh(Function):
    """y = acosh(x);  dx = g / sqrt(x^2 - 1) (inf at +-1, NaN inside (-1, 1), as PyTorch)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(invalid="ignore"):                    # NaN below 1
            return xp.arccosh(x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (g / xp.sqrt(x * x - 1),)


class Atanh(Function):
    """y = atanh(x);  dx = g / (1 - x^2) (inf at +-1; outside [-1, 1] y is NaN, dx is not)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(divide="ignore", invalid="ignore"):   # +-inf at +-1, NaN outside
            return xp.arctanh(x)

    def backward(self, xp, g):
        x = self.saved
        with numpy.errstate(divide="ignore", over="ignore"):
            return (g / (1 - x * x),)


class Log2(Function):
    """y = log2(x);  dx = g / (x ln 2)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(divide="ignore", invalid="ignore"):   # -inf at 0, NaN below
            return xp.log2(x)

    def backward(self, xp, g):
        with numpy.errstate(divide="ignore"):
            return (g / (self.saved * _LN2),)


class Log10(Function):
    """y = log10(x);  dx = g / (x ln 10)"""
    saves_inputs = (0,)
    __slots__ = ()

    def forward(self, xp, x):
        self.saved = x
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return xp.log10(x)

    def backward(self, xp, g):
        with numpy.errstate(divide="ignore"):
            return (g / (self.saved * _LN10),)


class Exp2(Function):
    """y = 2^x;  dx = g * y * ln 2"""
    saves_output = True
    __slots__ = ()

    def forward(self, xp, x):
        with numpy.errstate(over="ignore"):                       # inf, as PyTorch
            y = xp.exp2(x)
        self.saved = y
        return y

    def backward(self, xp, g):
        return (g * self.saved * _LN2,)


class Frac(Function):
    """y = x - trunc(x), the fractional part with x's sign;  dx = g"""
    __slots__ = ()

    def forward(self, xp, x):
        with numpy.errstate(invalid="ignore"):                    # inf - inf: NaN, as PyTorch
            return x - xp.trunc(x)

    def backward(self, xp, g):
        return (g,)


class Logit(Function):
    """y = log(z / (1 - z)), z = x clamped to [eps, 1 - eps] when eps is given;  dx = g / (x (1 -
    x)) within the clamp (or [0, 1]), outside it 0 with eps and NaN without, as PyTorch"""
    saves_inputs = (0,)
    __slots__ = ("eps",)

    def __init__(self, eps):
        self.eps = eps

    def bounds(self, xp, x):
        """[low, high] in x's dtype, as PyTorch computes 1 - eps: in that dtype."""
        if self.eps is None:
            return 0, 1
        low = xp.asarray(self.eps, dtype=x.dtype)
        return low, 1 - low

    def forward(self, xp, x):
        self.saved = x
        z = x if self.eps is None else xp.clip(x, *self.bounds(xp, x))
        with numpy.errstate(divide="ignore", invalid="ignore"):   # +-inf at 0 and 1, NaN out
            return xp.log(z / (1 - z))

    def backward(self, xp, g):
        x = self.saved
        low, high = self.bounds(xp, x)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            dx = g / (x * (1 - x))
            # PyTorch's g * inf at 0 and 1 (g / -0.0 would flip the sign at -0.0)
            dx = xp.where((x == 0) | (x == 1), g * xp.inf, dx)
        outside = xp.asarray(xp.nan if self.eps is None else 0, dtype=dx.dtype)
        return (xp.where((x < low) | (x > high), outside, dx),)


class NanToNum(Function):
    """y = x with NaN, inf and -inf replaced by numbers;  dx = g where x is finite, else 0"""
    __slots__ = ("nan", "posinf", "neginf")

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, xp, x):
        self.saved = xp.isfinite(x)
        if x.dtype.kind != "f":
            return x.copy()
        with numpy.errstate(over="ignore"):                       # a replacement beyond range
            return xp.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, xp, g):
        return (g * self.saved,)


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a);  da = g b / (a^2 + b^2),
    db = -g a / (a^2 + b^2) (both 0 at the origin, as PyTorch)"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a, b)
        return xp.arctan2(a, b)

    def backward(self, xp, g):
        a, b = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):   # inf * 0: NaN
            square = a * a + b * b
            scale = xp.where(square == 0, xp.zeros((), dtype=g.dtype), g / square)
            return (sum_to(scale * b, a.shape) if self.inputs[0].requires_grad else None,
                    sum_to(-scale * a, b.shape) if self.inputs[1].requires_grad else None)


class Hypot(Function):
    """y = sqrt(a^2 + b^2) without overflow;  da = g a / y,  db = g b / y (NaN at the origin,
    as PyTorch)"""
    saves_inputs = (0, 1)
    saves_output = True
    __slots__ = ()

    def forward(self, xp, a, b):
        y = xp.hypot(a, b)
        self.saved = (a, b, y)
        return y

    def backward(self, xp, g):
        a, b, y = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore"):
            scale = g / y
            return (sum_to(scale * a, a.shape) if self.inputs[0].requires_grad else None,
                    sum_to(scale * b, b.shape) if self.inputs[1].requires_grad else None)


class Fmod(Function):
    """y = a - trunc(a / b) * b, C's fmod (the sign of the dividend);  da = g,
    db = -g * trunc(a / b)"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a, b)
        with numpy.errstate(invalid="ignore"):                    # fmod(x, 0.0): NaN
            return xp.fmod(a, b)

    def backward(self, xp, g):
        a, b = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore"):
            quotient = xp.trunc(a / b)
        return (sum_to(g, a.shape) if self.inputs[0].requires_grad else None,
                sum_to(-g * quotient, b.shape) if self.inputs[1].requires_grad else None)


class Logaddexp(Function):
    """y = log(exp(a) + exp(b)) without overflow;  da = g / (1 + exp(b - a)),
    db = g / (1 + exp(a - b))"""
    saves_inputs = (0, 1)
    __slots__ = ()
    base = "e"

    def forward(self, xp, a, b):
        self.saved = (a, b)
        with numpy.errstate(invalid="ignore"):                    # NaN in, NaN out
            return xp.logaddexp2(a, b) if self.base == "2" else xp.logaddexp(a, b)

    def backward(self, xp, g):
        a, b = self.saved
        power = xp.exp2 if self.base == "2" else xp.exp
        with numpy.errstate(over="ignore", invalid="ignore"):     # inf - inf: NaN, as PyTorch
            return (sum_to(g / (1 + power(b - a)), a.shape)
                    if self.inputs[0].requires_grad else None,
                    sum_to(g / (1 + power(a - b)), b.shape)
                    if self.inputs[1].requires_grad else None)


class Logaddexp2(Logaddexp):
    """y = log2(2^a + 2^b) without overflow;  da = g / (1 + 2^(b - a)),
    db = g / (1 + 2^(a - b))"""
    __slots__ = ()
    base = "2"


class Xlogy(Function):
    """y = a log(b), 0 where a = 0 unless b is NaN;  da = g log(b) (0 where a = 0 and b <= 0,
    as PyTorch),  db = g a / b"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, a, b):
        self.saved = (a, b)
        return _xlogy(xp, a, b)

    def backward(self, xp, g):
        a, b = self.saved
        zero = xp.zeros((), dtype=g.dtype)
        ga = gb = None
        if self.inputs[0].requires_grad:
            ga = xp.where((a == 0) & (b <= 0), zero, _xlogy(xp, g, b))
            ga = sum_to(ga, a.shape)
        if self.inputs[1].requires_grad:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                gb = sum_to(g * a / b, b.shape)
        return ga, gb


def _xlogy(xp, a, b):
    with numpy.errstate(divide="ignore", invalid="ignore"):       # log of 0 or below
        product = a * xp.log(b)
    return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), dtype=product.dtype), product)


class Heaviside(Function):
    """y = 0 where x < 0, values where x = 0, 1 where x > 0 (0 where x is NaN, as PyTorch's;
    no gradient: PyTorch has none for it)"""
    __slots__ = ()
    differentiable = False

    def forward(self, xp, x, values):
        return xp.where(x == 0, values, (x > 0).astype(x.dtype))


class Copysign(Function):
    """y = |a| with the sign of b;  da = g y / a (0 where a = 0, as PyTorch),  db = 0"""
    saves_inputs = (0,)
    saves_output = True
    __slots__ = ()

    def forward(self, xp, a, b):
        y = xp.copysign(a, b)
        self.saved = (a, b.shape, y)
        return y

    def backward(self, xp, g):
        a, b_shape, y = self.saved
        with numpy.errstate(divide="ignore", invalid="ignore"):
            ratio = xp.where(a == 0, xp.zeros((), dtype=y.dtype), y / a)
        return (sum_to(g * ratio, a.shape) if self.inputs[0].requires_grad else None,
                xp.zeros(b_shape, dtype=g.dtype) if self.inputs[1].requires_grad else None)

"""The Tensor's further elementwise math, as PyTorch's: hyperbolic and inverse trigonometric
functions, erf, erfc, log2, log10, exp2, trunc, frac, sgn, logit, deg2rad, rad2deg, nan_to_num,
and the binary atan2, hypot, fmod, logaddexp, logaddexp2, xlogy, heaviside, copysign and
float_power, each a method and a function (``t.atan2(other)``, ``ts.atan2(t, other)``). As
PyTorch's, they compute integers and booleans in the default float dtype, except trunc, sgn,
nan_to_num, fmod and heaviside, which keep them, and float_power, which computes in float64.
Their in-place forms are in tensor_inplace.py.

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import math
import numbers

import numpy

from .ops import elementwise as ew
from .tensor import (Tensor, attach_methods, expect_tensor, integer_division_operands,
                     promoted_operands, to_floating)


class MathMethods:
    """Tensor's further elementwise math methods, put on Tensor by attach_methods."""

    def sinh(self):
        return ew.Sinh().apply(to_floating(self))

    def cosh(self):
        return ew.Cosh().apply(to_floating(self))

    def asin(self):
        """The inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1]."""
        return ew.Asin().apply(to_floating(self))

    def acos(self):
        """The inverse cosine, in [0, pi]; NaN outside [-1, 1]."""
        return ew.Acos().apply(to_floating(self))

    def atan(self):
        """The inverse tangent, in [-pi/2, pi/2]."""
        return ew.Atan().apply(to_floating(self))

    def asinh(self):
        return ew.Asinh().apply(to_floating(self))

    def acosh(self):
        """The inverse hyperbolic cosine, >= 0; NaN below 1."""
        return ew.Acosh().apply(to_floating(self))

    def atanh(self):
        """The inverse hyperbolic tangent; +-inf at +-1, NaN outside [-1, 1]."""
        return ew.Atanh().apply(to_floating(self))

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def erf(self):
        """The error function, 2 / sqrt(pi) times the integral of exp(-t^2) from 0 to x."""
        return ew.Erf().apply(to_floating(self))

    def erfc(self):
        """1 - erf(x), accurate where it is tiny."""
        return ew.Erfc().apply(to_floating(self))

    def log2(self):
        return ew.Log2().apply(to_floating(self))

    def log10(self):
        return ew.Log10().apply(to_floating(self))

    def exp2(self):
        """2 ** t."""
        return ew.Exp2().apply(to_floating(self))

    def trunc(self):
        """Rounded toward zero (gradient 0); integers keep their dtype."""
        if self.array.dtype.kind == "b":
            raise NotImplementedError("trunc: not implemented for bool, as in PyTorch; cast "
                                      "first (.long())")
        return ew.Rounding("trunc").apply(self)

    fix = trunc

    def frac(self):
        """t - trunc(t), the fractional part with t's sign; floating tensors only, as PyTorch."""
        if self.array.dtype.kind != "f":
            raise NotImplementedError(f"frac: not implemented for {self.dtype}, as in PyTorch; "
                                      f"use a floating tensor")
        return ew.Frac().apply(self)

    def sgn(self):
        """``sign()``, which it is for real tensors in PyTorch."""
        return ew.Sign().apply(self)

    def logit(self, eps=None):
        """log(t / (1 - t)), the inverse of sigmoid; with ``eps`` t is first clamped to
        [eps, 1 - eps] (and the gradient is 0 outside it), as PyTorch's."""
        if eps is not None and not isinstance(eps, numbers.Real):
            raise TypeError(f"logit: eps must be a number or None, got {eps!r}")
        # PyTorch treats a negative eps as none
        return ew.Logit(None if eps is None or eps < 0 else float(eps)).apply(to_floating(self))

    def deg2rad(self):
        """Degrees in radians: t * (pi / 180)."""
        return to_floating(self) * (math.pi / 180)

    def rad2deg(self):
        """Radians in degrees: t * (180 / pi)."""
        return to_floating(self) * (180 / math.pi)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN, inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``, the infinities by
        the dtype's largest and lowest finite values unless given; the gradient passes where t
        is finite. Integers and booleans come back as they are."""
        for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
            if value is not None and not isinstance(value, numbers.Real):
                raise TypeError(f"nan_to_num: {name} must be a number or None, got {value!r}")
        return ew.NanToNum(nan, posinf, neginf).apply(self)

    def atan2(self, other):
        """The angle of the point (other, self), in [-pi, pi]: quadrant-aware
        atan(self / other). ``other`` a tensor, as in PyTorch."""
        return ew.Atan2().apply(*_floating_pair("atan2", self, other))

    arctan2 = atan2

    def hypot(self, other):
        """sqrt(self^2 + other^2) without overflow, of floating tensors, as PyTorch's."""
        return ew.Hypot().apply(*_floating_only("hypot", self, other))

    def fmod(self, divisor):
        """C's fmod: the remainder with the sign of the dividend (``%`` has the divisor's);
        integers keep their dtype, and an integer divisor of 0 is a ZeroDivisionError."""
        return ew.Fmod().apply(*integer_division_operands("fmod", self, divisor))

    def logaddexp(self, other):
        """log(exp(self) + exp(other)) without overflow, of floating tensors."""
        return ew.Logaddexp().apply(*_floating_only("logaddexp", self, other))

    def logaddexp2(self, other):
        """log2(2^self + 2^other) without overflow, of floating tensors."""
        return ew.Logaddexp2().apply(*_floating_only("logaddexp2", self, other))

    def xlogy(self, other):
        """self * log(other), 0 where self is 0 (unless other is NaN)."""
        return ew.Xlogy().apply(*_floating(*promoted_operands("xlogy", self, other)))

    def heaviside(self, values):
        """The step function: 0 where self < 0, ``values`` where self == 0, 1 where self > 0;
        ``values`` a tensor of self's dtype, as in PyTorch; no gradient."""
        expect_tensor("heaviside", values)
        if values.array.dtype != self.array.dtype:
            raise RuntimeError(f"heaviside: not implemented for tensors of different dtypes "
                               f"({self.dtype} and {values.dtype}), as in PyTorch")
        return ew.Heaviside().apply(self, values)

    def copysign(self, other):
        """|self| with the sign of ``other`` (a tensor or a number)."""
        return ew.Copysign().apply(*_floating(*promoted_operands("copysign", self, other)))

    def float_power(self, exponent):
        """self ** exponent computed in float64 (the result is float64), as PyTorch's."""
        return float_power(self, exponent)


def _floating(*tensors):
    return tuple(map(to_floating, tensors))


def _floating_pair(op, input, other):
    """Two tensors (PyTorch takes no number here) in their result type, integers and booleans
    in the default float dtype."""
    expect_tensor(op, other)
    return _floating(*promoted_operands(op, input, other))


def _floating_only(op, input, other):
    """Two tensors in their result type, which must be floating, as PyTorch's hypot and
    logaddexp are for nothing else."""
    expect_tensor(op, other)
    input, other = promoted_operands(op, input, other)
    if input.array.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {input.dtype}, as in PyTorch; "
                                  f"use floating tensors")
    return input, other


def float_power(input, exponent):
    """input ** exponent in float64, as ``torch.float_power`` (either may be a number); the
    gradient flows back into each tensor's own dtype."""
    if isinstance(input, Tensor):
        base = input.to(numpy.float64)
        return base ** (exponent.to(numpy.float64) if isinstance(exponent, Tensor)
                        else exponent)
    return input ** expect_tensor("float_power", exponent).to(numpy.float64)


def _function(name, doc):
    """``ts.name(input, ...)``: the method ``input.name(...)`` of a tensor ``input``."""
    def function(input, *args, **kwargs):
        return getattr(expect_tensor(name, input), name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


(sinh, cosh, asin, acos, atan, asinh, acosh, atanh, erf, erfc, log2, log10, exp2, trunc, frac,
 sgn, deg2rad, rad2deg) = (
    _function(m, f"Elementwise {m} of a tensor, as ``torch.{m}``.")
    for m in ("sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "erf", "erfc",
              "log2", "log10", "exp2", "trunc", "frac", "sgn", "deg2rad", "rad2deg"))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh, fix = asin, acos, atan, asinh, acosh, atanh, \
    trunc
(atan2, hypot, fmod, logaddexp, logaddexp2, heaviside, copysign) = (
    _function(m, f"``input.{m}(other)`` as a function, as ``torch.{m}``.")
    for m in ("atan2", "hypot", "fmod", "logaddexp", "logaddexp2", "heaviside", "copysign"))
arctan2 = atan2


def logit(input, eps=None):
    """log(input / (1 - input)), as ``torch.logit``: ``input.logit(eps)``."""
    return expect_tensor("logit", input).logit(eps)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """``input.nan_to_num(nan, posinf, neginf)``, as ``torch.nan_to_num``."""
    return expect_tensor("nan_to_num", input).nan_to_num(nan, posinf, neginf)


def xlogy(input, other):
    """input * log(other), 0 where input is 0, as ``torch.xlogy`` (either may be a number)."""
    if isinstance(input, Tensor):
        return input.xlogy(other)
    expect_tensor("xlogy", other)
    return ew.Xlogy().apply(*_floating(*promoted_operands("xlogy", input, other)))


attach_methods(MathMethods)

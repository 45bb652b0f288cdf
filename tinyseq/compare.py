"""Comparing whole tensors, as PyTorch does: ``isclose`` (a bool tensor), ``allclose`` and
``equal`` (Python bools), also as Tensor methods (``attach_methods`` puts them on Tensor when
tinyseq is imported). None of them is recorded by autograd."""
import numpy

from . import backend, checks
from .dtypes import promote_types
from .tensor import Tensor, attach_methods


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """A bool tensor of the broadcast shape: True where ``|input - other| <= atol + rtol *
    |other|`` or the two are equal (infinities of one sign included), as torch.isclose. As in
    PyTorch both must be tensors of one dtype (no promotion), rtol and atol must be >= 0, and
    NaNs are close to each other only with ``equal_nan``. Integers and bools are compared as
    float64, so no subtraction wraps around."""
    return Tensor.from_array(_close("isclose", input, other, rtol, atol, equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when ``isclose(input, other, rtol, atol, equal_nan)`` holds everywhere (shapes
    broadcast), as torch.allclose; a Python bool."""
    return bool(_close("allclose", input, other, rtol, atol, equal_nan).all())


def _close(op, input, other, rtol, atol, equal_nan):
    """isclose's bool array, its errors naming ``op``."""
    a, b = _operands(op, input, other)
    rtol = checks.real(op, "rtol", rtol, minimum=0.0)
    atol = checks.real(op, "atol", atol, minimum=0.0)
    equal_nan = checks.flag(op, "equal_nan", equal_nan)
    _broadcast_shape(op, a, b)
    xp = backend.device_of(a).xp
    close = a == b
    if a.dtype.kind != "f":
        a, b = a.astype(numpy.float64), b.astype(numpy.float64)
    with numpy.errstate(invalid="ignore", over="ignore"):   # inf - inf is NaN: not close
        error = xp.abs(a - b)
        close = close | (xp.isfinite(error) & (error <= atol + rtol * xp.abs(b)))
    if equal_nan and a.dtype.kind == "f":
        close = close | (xp.isnan(a) & xp.isnan(b))
    return xp.asarray(close)


def equal(input, other):
    """True when the two tensors have the same shape and the same values, as torch.equal: the
    dtypes may differ (both are compared in PyTorch's promoted dtype), shapes do not broadcast,
    NaN equals nothing and 0.0 equals -0.0; a Python bool."""
    a, b = _tensors("equal", input, other)
    if a.shape != b.shape:
        return False
    dtype = promote_types(a.dtype, b.dtype)
    return bool((a.astype(dtype, copy=False) == b.astype(dtype, copy=False)).all())


def _operands(op, input, other):
    """The arrays of two tensors of one dtype on one device."""
    a, b = _tensors(op, input, other)
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: input and other must have the same dtype, got {a.dtype} and "
                        f"{b.dtype}, as in PyTorch (cast one with .to(dtype))")
    return a, b


def _tensors(op, input, other):
    """The arrays of two tensors on one device."""
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if type(input.array) is not type(other.array):
        raise ValueError(f"{op}: tensors are on different devices ({input.device} and "
                         f"{other.device}); move them with .to(device) first")
    return input.array, other.array


def _broadcast_shape(op, a, b):
    try:
        return numpy.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: the shapes {a.shape} and {b.shape} do not broadcast") from None


class CompareMethods:
    """Tensor's whole-tensor comparisons, put on Tensor by attach_methods."""

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        return equal(self, other)


attach_methods(CompareMethods)

"""Functions that make new tensors: from data, filled, random, ranges."""
import numpy

from . import backend, random
from .tensor import Tensor, _as_array, _shape_arg, get_default_dtype


def _float_dtype(dtype):
    return get_default_dtype() if dtype is None else numpy.dtype(dtype)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor holding a copy of ``data`` (list, number, numpy/cupy array, Tensor).

    Python floats get the default dtype, arrays keep theirs. ``device`` defaults to where an
    array already lives ("cpu" for Python data).
    """
    if isinstance(data, Tensor):
        data = data.array
    if backend.is_array(data):
        source = backend.device_of(data)
        target = source if device is None else backend.get_device(device)
        array = backend.move(data, target)
        array = array.astype(dtype if dtype is not None else array.dtype, copy=array is data)
    else:
        target = backend.get_device("cpu" if device is None else device)
        array = target.xp.asarray(_as_array(data, dtype, "tensor"))
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"tensor: only floating tensors can require grad, got dtype {array.dtype}")
    return Tensor.from_array(array, requires_grad)


def _filled(fill, shape, dtype, device, requires_grad):
    device = backend.get_device(device)
    array = fill(device.xp, _shape_arg(shape), _float_dtype(dtype))
    return Tensor.from_array(array, requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,), dtype, device,
                   requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal samples from the seeded generator of ``device``."""
    device = backend.get_device(device)
    return _filled(lambda xp, s, d: random.generator(device).standard_normal(s, dtype=d),
                   shape, dtype, device, requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator of ``device``."""
    device = backend.get_device(device)
    return _filled(lambda xp, s, d: random.generator(device).random(s, dtype=d),
                   shape, dtype, device, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu"):
    """Evenly spaced values in [start, stop); int64 for ints, the default dtype for floats."""
    if stop is None:
        start, stop = 0, start
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = get_default_dtype()
    xp = backend.get_device(device).xp
    return Tensor.from_array(xp.arange(start, stop, step, dtype=dtype), False)


def linspace(start, stop, steps, dtype=None, device="cpu"):
    """``steps`` evenly spaced values from start to stop, both included."""
    xp = backend.get_device(device).xp
    return Tensor.from_array(xp.linspace(start, stop, steps, dtype=_float_dtype(dtype)), False)

"""Functions that make new tensors: from data, filled, random, ranges."""
import numpy

from . import backend, random
from .dtypes import array_from_data, check_requires_grad, get_default_dtype, new_shape
from .tensor import Tensor, legacy_sizes


def _float_dtype(dtype):
    return get_default_dtype() if dtype is None else numpy.dtype(dtype)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor holding a copy of ``data`` (list, number, numpy/cupy array, Tensor).

    Python floats get the default dtype, arrays keep theirs. ``device`` defaults to where an
    array already lives ("cpu" for Python data).
    """
    if isinstance(data, Tensor):
        data = data.array
    array = array_from_data("tensor", data, dtype, device)
    check_requires_grad("tensor", array.dtype, requires_grad)
    return Tensor.from_array(array, requires_grad)


def _filled(op, fill, shape, dtype, device, requires_grad):
    device = backend.get_device(device)
    dtype = _float_dtype(dtype)
    shape = new_shape(op, shape, dtype)
    check_requires_grad(op, dtype, requires_grad)
    return Tensor.from_array(fill(device.xp, shape, dtype), requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled("zeros", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device,
                   requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled("ones", lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device,
                   requires_grad)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    """A tensor of ``fill_value``. Without a dtype it follows the value, as in PyTorch: a bool
    fills a bool tensor, an int an int64 one, a float the default dtype."""
    if dtype is None and isinstance(fill_value, (bool, numpy.bool_)):
        dtype = numpy.bool_
    elif dtype is None and isinstance(fill_value, (int, numpy.integer)):
        dtype = numpy.int64
    return _filled("full", lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,), dtype,
                   device, requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal samples from the seeded generator of ``device``."""
    device = backend.get_device(device)
    return _filled("randn", lambda xp, s, d: random.generator(device).standard_normal(s, dtype=d),
                   shape, dtype, device, requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator of ``device``."""
    device = backend.get_device(device)
    return _filled("rand", lambda xp, s, d: random.generator(device).random(s, dtype=d),
                   shape, dtype, device, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """Evenly spaced values in [start, stop); int64 for ints, the default dtype for floats."""
    if stop is None:
        start, stop = 0, start
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = get_default_dtype()
    xp = backend.get_device(device).xp
    array = xp.arange(start, stop, step, dtype=dtype)
    check_requires_grad("arange", array.dtype, requires_grad)
    return Tensor.from_array(array, requires_grad)


def linspace(start, stop, steps, dtype=None, device="cpu", requires_grad=False):
    """``steps`` evenly spaced values from start to stop, both included."""
    xp = backend.get_device(device).xp
    dtype = _float_dtype(dtype)
    check_requires_grad("linspace", dtype, requires_grad)
    return Tensor.from_array(xp.linspace(start, stop, steps, dtype=dtype), requires_grad)


def empty(*shape, dtype=None, device="cpu", requires_grad=False):
    """A new tensor of ``shape``; its values are zeros (PyTorch leaves them unset)."""
    return _filled("empty", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device,
                   requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=t.device,
                requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=None, device="cpu", requires_grad=False):
    """Integers drawn uniformly from [low, high) (``randint(high, size)`` starts at 0), int64
    unless ``dtype`` says otherwise (a float dtype holds the drawn integers, as in PyTorch)."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument")
    device = backend.get_device(device)
    dtype = numpy.dtype(numpy.int64 if dtype is None else dtype)
    check_requires_grad("randint", dtype, requires_grad)
    drawn = dtype if dtype.kind in "iu" else numpy.int64
    values = random.generator(device).integers(low, high, size=new_shape("randint", (size,), dtype),
                                               dtype=drawn)
    if drawn != dtype:
        values = values.astype(dtype)
    return Tensor.from_array(values, requires_grad)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False):
    xp = backend.get_device(device).xp
    dtype = _float_dtype(dtype)
    check_requires_grad("eye", dtype, requires_grad)
    return Tensor.from_array(xp.eye(n, m, dtype=dtype), requires_grad)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (changes to either show in both), as torch.from_numpy."""
    if type(array) is not numpy.ndarray:
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: cannot make a tensor of dtype {array.dtype}")
    return Tensor.from_array(array, False)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing its memory when it is already an array (or tensor) of
    that dtype and device; otherwise a copy, as torch.as_tensor."""
    if isinstance(data, Tensor):
        return data.to(*(x for x in (device, dtype) if x is not None))
    if backend.is_array(data):
        array = data
        if device is not None:
            array = backend.move(array, backend.get_device(device))
        if dtype is not None and array.dtype != numpy.dtype(dtype):
            array = array.astype(dtype)
        return Tensor.from_array(array, False)
    return tensor(data, dtype=dtype, device=device)


class _TensorType(type):
    """The metaclass of ``ts.FloatTensor`` and its kin: ``isinstance(t, ts.LongTensor)`` tests
    the dtype, as in PyTorch."""

    def __instancecheck__(cls, value):
        return isinstance(value, Tensor) and value.dtype == cls.dtype


def _tensor_type(name, dtype):
    def __new__(cls, *data):
        sizes = legacy_sizes(name, data)
        if sizes is not None:
            return zeros(sizes, dtype=cls.dtype)
        if len(data) != 1:
            raise TypeError(f"{name}: expected sizes or one sequence of values, got {data!r}")
        return tensor(data[0], dtype=cls.dtype)
    doc = f"``ts.{name}([values])`` or ``ts.{name}(*sizes)`` (zeros): a {dtype} tensor."
    return _TensorType(name, (), {"__new__": __new__, "__doc__": doc,
                                  "dtype": numpy.dtype(dtype)})


FloatTensor = _tensor_type("FloatTensor", numpy.float32)
DoubleTensor = _tensor_type("DoubleTensor", numpy.float64)
LongTensor = _tensor_type("LongTensor", numpy.int64)
IntTensor = _tensor_type("IntTensor", numpy.int32)
BoolTensor = _tensor_type("BoolTensor", numpy.bool_)

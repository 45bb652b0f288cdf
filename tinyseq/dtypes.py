"""Element types and the arrays new tensors start from: ``dtype``, the default dtype, PyTorch's
type promotion, and the checks every way of making a tensor shares (data, shape, requires_grad).
"""
import builtins
import math

import numpy

from . import backend

_default_dtype = numpy.dtype(numpy.float32)


def set_default_dtype(dtype):
    """Set the dtype that Python floats and new parameters get (float32 or float64)."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    return _default_dtype


def finfo(type=None):
    """The limits of a floating dtype (the default dtype when None), as ``torch.finfo``:
    ``.min``, ``.max``, ``.eps``, ``.tiny``, ``.bits``, ``.resolution`` (NumPy's finfo of it;
    ``torch.finfo(x.dtype).min`` masks a score before a softmax)."""
    numpy_type = numpy.dtype(_default_dtype if type is None else type)
    if numpy_type.kind != "f":
        raise TypeError(f"finfo: expected a floating dtype, got {numpy_type.name} (iinfo takes "
                        f"integers)")
    return numpy.finfo(numpy_type)


def iinfo(type):
    """The limits of an integer dtype, as ``torch.iinfo``: ``.min``, ``.max``, ``.bits``."""
    numpy_type = numpy.dtype(type)
    if numpy_type.kind not in "iu":
        raise TypeError(f"iinfo: expected an integer dtype, got {numpy_type.name} (finfo takes "
                        f"floating dtypes)")
    return numpy.iinfo(numpy_type)


class dtype:
    """A tensor's element type, printed as PyTorch prints its own (``tinyseq.float32``); equal
    to the matching NumPy dtype and accepted wherever NumPy takes one (``numpy.dtype(ts.long)``).
    Its other attributes (``kind``, ``itemsize``, ``type``) are the NumPy dtype's. Inside an
    f-string it is the plain NumPy name (``f"got {t.dtype}"`` reads "got float32"), as the
    error messages word it."""

    __slots__ = ("dtype",)
    _made = {}

    def __new__(cls, value):
        value = numpy.dtype(value)
        made = cls._made.get(value)
        if made is None:
            made = object.__new__(cls)
            made.dtype = value
            cls._made[value] = made
        return made

    def __getattr__(self, name):
        return getattr(self.dtype, name)

    def __eq__(self, other):
        if other is None:
            return False
        try:
            return self.dtype == numpy.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.dtype)

    def __repr__(self):
        return f"tinyseq.{self.dtype.name}"

    def __format__(self, spec):
        return format(self.dtype.name, spec)

    @property
    def is_floating_point(self):
        return self.dtype.kind == "f"

    @property
    def itemsize(self):
        return self.dtype.itemsize


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}   # bool < integer < float


def promote_types(type1, type2):
    """PyTorch's promotion of two dtypes of one rank: the higher category wins (int64 with
    float16 is float16); within a category, NumPy's rule (int8 with uint8 is int16)."""
    type1, type2 = numpy.dtype(type1), numpy.dtype(type2)
    category1, category2 = _CATEGORY[type1.kind], _CATEGORY[type2.kind]
    if category1 != category2:
        return type1 if category1 > category2 else type2
    return numpy.promote_types(type1, type2)


def combine_ranks(higher, lower):
    """The dtype of a higher rank's operands with a lower rank's: the higher rank's, unless the
    lower brings a higher category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if _CATEGORY[lower.kind] > _CATEGORY[higher.kind]:
        return promote_types(higher, lower)
    return higher


def as_array(data, dtype, op):
    """A numpy array from Python data; Python floats get the default dtype."""
    try:
        array = numpy.array(data, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__}: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__} "
                        f"(got values of dtype {array.dtype}; expected numbers or booleans)")
    if dtype is None and array.dtype == numpy.float64:
        array = array.astype(_default_dtype)
    return array


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple of ints that the legacy constructors
    (``ts.Tensor(x.size())``, ``x.new(x.shape)``) read as sizes, where a plain tuple is data.
    Prints as PyTorch's does: ``tinyseq.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self):
        return f"tinyseq.Size({list(self)})"

    def numel(self):
        """The number of elements of a tensor of this shape, as ``torch.Size.numel``."""
        return math.prod(self)

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, times):
        return Size(tuple.__mul__(self, times))

    __rmul__ = __mul__


def shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(shape)
    for n in shape:
        if not isinstance(n, (int, numpy.integer)) or isinstance(n, builtins.bool):
            raise TypeError(f"shape entries must be ints, got {shape}")
    return tuple(int(n) for n in shape)


def new_shape(op, shape, dtype):
    """``shape`` (ints, or one tuple or list of them) of a new tensor made by ``op``, checked:
    no negative size, and no more elements (zero sizes aside) than an array of ``dtype`` can
    address, each refused naming ``op`` and the sizes instead of NumPy's bare error."""
    try:
        shape = shape_arg(shape)
    except TypeError:
        raise TypeError(f"{op}: sizes must be ints, got {shape!r}") from None
    if builtins.any(n < 0 for n in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got {shape}")
    if math.prod(builtins.max(n, 1) for n in shape) * numpy.dtype(dtype).itemsize > 2**63 - 1:
        raise ValueError(f"{op}: sizes {shape} hold more elements than an array can address")
    return shape


def check_requires_grad(op, dtype, requires_grad):
    """PyTorch's rule: only floating-point tensors can require gradients."""
    if requires_grad and numpy.dtype(dtype).kind != "f":
        raise RuntimeError(f"{op}: only Tensors of floating point dtype can require gradients, "
                           f"got dtype {numpy.dtype(dtype)}")


def array_from_data(op, data, dtype, device):
    """A new array holding a copy of ``data`` (list, number, numpy/cupy array) as ``dtype``
    (None: Python floats get the default dtype, arrays keep theirs), on ``device`` (None:
    where an array already lives, "cpu" for Python data)."""
    if backend.is_array(data):
        source = backend.device_of(data)
        target = source if device is None else backend.get_device(device)
        array = backend.move(data, target)
        return array.astype(dtype if dtype is not None else array.dtype, copy=array is data)
    target = backend.get_device("cpu" if device is None else device)
    return target.xp.asarray(as_array(data, dtype, op))

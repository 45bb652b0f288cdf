"""The Tensor: an array plus what autograd needs (``requires_grad``, ``grad``, its graph node).

Operators and methods build the graph through the op classes in ``tinyseq.ops``; the functions
below the class (``matmul``, ``concat``, ``where``, ...) are the same ops in function form.

Dtype promotion, one rule: ops follow NumPy's rule on their arrays, and Python numbers are weak.
Two tensors of different dtypes give NumPy's result type (float32 with float64 gives float64;
int64 with float32 gives float64, too). A Python number (or a NumPy float64 scalar, which is a
Python float) takes the tensor's float dtype, so a float32 tensor times 2.5 stays float32; on an
integer tensor a Python int keeps it integer and a Python float is made the default dtype first,
after which NumPy's rule applies (int64 + 1.5 is float64). Gradients flow through each op in its
output's dtype, but what lands in a leaf's ``.grad`` always takes that leaf's dtype: float32
parameters get float32 gradients even from a float64 loss.
"""
import builtins
import operator

import numpy

from . import autograd, backend
from .ops import elementwise as ew
from .ops import linalg, nn_ops, reduction, shape as shape_ops
from .ops.reduction import normalize_axes

_default_dtype = numpy.dtype(numpy.float32)
device_of_type = backend.device_of_type


def set_default_dtype(dtype):
    """Set the dtype that Python floats and new parameters get (float32 or float64)."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    return _default_dtype


class Tensor:
    """An n-dimensional array that records the ops applied to it, for backpropagation."""

    __slots__ = ("array", "grad", "requires_grad", "_node", "_versions", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators (ndarray + Tensor works)
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.array
        elif type(data) not in device_of_type:
            data = _as_array(data, None, "Tensor")
        self.array = data
        self.grad = None
        self.requires_grad = requires_grad
        self._node = None
        self._versions = None

    @classmethod
    def from_array(cls, array, requires_grad=False):
        """A tensor around ``array`` as it is (no copy, no checks): how ops and layers wrap
        the arrays they compute."""
        t = object.__new__(Tensor)
        t.array = array
        t.grad = None
        t.requires_grad = requires_grad
        t._node = None
        t._versions = None
        return t

    # --- what it is -------------------------------------------------------------------------
    @property
    def shape(self):
        return self.array.shape

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        return device_of_type[type(self.array)].name

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def size(self, dim=None):
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self):
        return self.array.size

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                             f"number, got shape {tuple(self.shape)}")
        return self.array.item()

    def numpy(self):
        """The values as a numpy.ndarray (a copy when the tensor lives on the GPU)."""
        return backend.to_numpy(self.array)

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {tuple(self.shape)} is ambiguous")
        return builtins.bool(self.array)

    def __repr__(self):
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (_default_dtype, numpy.int64, numpy.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # --- autograd ---------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d self / d leaf into ``leaf.grad`` for every leaf that requires grad."""
        autograd.backward(self, grad, retain_graph)

    def detach(self):
        """The same values, cut from the graph (shares the array and its version counter, so
        an in-place change through either is caught by a backward that needs the old values)."""
        t = Tensor.from_array(self.array, False)
        t._versions = self._version_counter()
        return t

    @property
    def data(self):
        """As in PyTorch: a tensor that shares this one's array and does not require grad.
        Changes made through it are not seen by autograd (its version counter is its own)."""
        return Tensor.from_array(self.array, False)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else value

    @property
    def _version(self):
        """How many in-place changes this tensor's storage has seen (PyTorch's ``_version``)."""
        return 0 if self._versions is None else self._versions.value

    def _version_counter(self):
        if self._versions is None:
            self._versions = autograd.VersionCounter()
        return self._versions

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        import weakref
        if self._node is not None:
            self._node.retained = weakref.ref(self)

    # --- moving -----------------------------------------------------------------------------
    def to(self, target):
        """A copy on another device ("cpu", "cuda") or with another dtype; differentiable."""
        if isinstance(target, str) or isinstance(target, backend.Device):
            device = backend.get_device(target)
            if device_of_type[type(self.array)] is device:
                return self
            return ToDevice(device).apply(self)
        dtype = numpy.dtype(target)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":
            return Tensor.from_array(self.array.astype(dtype), False)  # integers carry no gradient
        return Cast(dtype).apply(self)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    def long(self):
        return self.to(numpy.int64)

    # --- arithmetic -------------------------------------------------------------------------
    def __add__(self, other):
        return ew.Add().apply(self, _lift(other, self, "add"))

    def __radd__(self, other):
        return ew.Add().apply(_lift(other, self, "add"), self)

    def __sub__(self, other):
        return ew.Sub().apply(self, _lift(other, self, "sub"))

    def __rsub__(self, other):
        return ew.Sub().apply(_lift(other, self, "sub"), self)

    def __mul__(self, other):
        return ew.Mul().apply(self, _lift(other, self, "mul"))

    def __rmul__(self, other):
        return ew.Mul().apply(_lift(other, self, "mul"), self)

    def __truediv__(self, other):
        return ew.Div().apply(self, _lift(other, self, "div"))

    def __rtruediv__(self, other):
        return ew.Div().apply(_lift(other, self, "div"), self)

    def __neg__(self):
        return ew.Neg().apply(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, (int, float)):
            return ew.PowScalar(exponent).apply(self)
        return ew.Pow().apply(self, _lift(exponent, self, "pow"))

    def __rpow__(self, base):
        return ew.Pow().apply(_lift(base, self, "pow"), self)

    def __matmul__(self, other):
        return linalg.MatMul().apply(self, _lift(other, self, "matmul"))

    def __rmatmul__(self, other):
        return linalg.MatMul().apply(_lift(other, self, "matmul"), self)

    def __lt__(self, other):
        return ew.Compare(operator.lt).apply(self, _lift(other, self, "lt"))

    def __le__(self, other):
        return ew.Compare(operator.le).apply(self, _lift(other, self, "le"))

    def __gt__(self, other):
        return ew.Compare(operator.gt).apply(self, _lift(other, self, "gt"))

    def __ge__(self, other):
        return ew.Compare(operator.ge).apply(self, _lift(other, self, "ge"))

    def __eq__(self, other):
        return ew.Compare(operator.eq).apply(self, _lift(other, self, "eq"))

    def __ne__(self, other):
        return ew.Compare(operator.ne).apply(self, _lift(other, self, "ne"))

    def exp(self):
        return ew.Exp().apply(self)

    def log(self):
        return ew.Log().apply(self)

    def tanh(self):
        return ew.Tanh().apply(self)

    def sigmoid(self):
        return ew.Sigmoid().apply(self)

    def relu(self):
        return ew.Relu().apply(self)

    def sin(self):
        return ew.Sin().apply(self)

    def cos(self):
        return ew.Cos().apply(self)

    def abs(self):
        return ew.Abs().apply(self)

    def sqrt(self):
        return ew.Sqrt().apply(self)

    def softmax(self, axis=-1):
        return nn_ops.Softmax(_check_axis("softmax", axis, self.ndim)).apply(self)

    def log_softmax(self, axis=-1):
        return nn_ops.LogSoftmax(_check_axis("log_softmax", axis, self.ndim)).apply(self)

    # --- reductions -------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return reduction.Sum(_axes("sum", axis, self.ndim), keepdims).apply(self)

    def mean(self, axis=None, keepdims=False):
        return reduction.Mean(_axes("mean", axis, self.ndim), keepdims).apply(self)

    def max(self, axis=None, keepdims=False):
        return reduction.Max(_axes("max", axis, self.ndim), keepdims).apply(self)

    def argmax(self, axis=None):
        """Index of the largest value along ``axis`` (all axes flattened when None); no gradient."""
        xp = device_of_type[type(self.array)].xp
        return Tensor.from_array(xp.asarray(self.array.argmax(axis=axis)), False)

    # --- shapes -----------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.array.shape:
            return self
        return shape_ops.Reshape(shape).apply(self)

    view = reshape

    def flatten(self):
        return self.reshape(-1)

    def transpose(self, *axes):
        """Permute the axes as numpy.transpose does (no axes: reverse them)."""
        ndim = self.array.ndim
        axes = _shape_arg(axes) if axes else tuple(reversed(range(ndim)))
        if sorted(a % ndim if -ndim <= a < ndim else a for a in axes) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {ndim} axes of "
                             f"shape {tuple(self.shape)} (swapaxes(a, b) swaps two axes, as "
                             f"PyTorch's transpose(dim0, dim1) does)")
        return shape_ops.Transpose(tuple(a % ndim for a in axes)).apply(self)

    permute = transpose

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.array.ndim))
        for a in (axis1, axis2):
            _check_axis("swapaxes", a, self.array.ndim)
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(*axes)

    @property
    def T(self):
        return self.transpose()

    def unsqueeze(self, axis):
        ndim = self.array.ndim
        if not -ndim - 1 <= axis <= ndim:
            raise ValueError(f"unsqueeze: axis {axis} is out of range for shape {tuple(self.shape)}")
        axis = axis % (ndim + 1)
        return shape_ops.Reshape(self.array.shape[:axis] + (1,) + self.array.shape[axis:]).apply(self)

    def squeeze(self, axis=None):
        """Drop axes of size 1 (all of them, or ``axis`` when it has size 1, as PyTorch)."""
        shape = self.array.shape
        if axis is None:
            new_shape = tuple(n for n in shape if n != 1)
        else:
            axes = _axes("squeeze", axis, self.array.ndim)
            new_shape = tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))
        return self.reshape(new_shape)

    def expand(self, *shape):
        shape = _shape_arg(shape)
        return shape_ops.BroadcastTo(shape).apply(self)

    def __getitem__(self, index):
        index, advanced = _index_arg(index, device_of_type[type(self.array)])
        return shape_ops.GetItem(index, advanced).apply(self)


autograd.Tensor = Tensor  # the engine makes op outputs with it


class ToDevice(autograd.Function):
    """y = x copied to another device;  dx = g copied back"""
    __slots__ = ("device",)

    def __init__(self, device):
        self.device = device

    def forward(self, xp, x):
        self.saved = device_of_type[type(x)]
        return backend.move(x, self.device)

    def backward(self, xp, g):
        return (backend.move(g, self.saved),)


class Cast(autograd.Function):
    """y = x converted to another dtype;  dx = g converted back"""
    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, xp, x):
        self.saved = x.dtype
        return x.astype(self.dtype)

    def backward(self, xp, g):
        return (g.astype(self.saved),)


# --- argument helpers -----------------------------------------------------------------------
def _lift(value, like, op):
    """``value`` as a Tensor on the device of ``like``; Python numbers take like's float dtype;
    anything but numbers and booleans is a TypeError naming ``op``."""
    if isinstance(value, Tensor):
        return value
    xp = device_of_type[type(like.array)].xp
    if isinstance(value, (int, float)) and not isinstance(value, builtins.bool):
        dtype = like.array.dtype if like.array.dtype.kind == "f" else None
        if dtype is None and isinstance(value, float):
            dtype = _default_dtype
        return Tensor.from_array(xp.asarray(value, dtype=dtype), False)
    if isinstance(value, (builtins.bool, list, tuple, numpy.ndarray, numpy.generic)) or \
            type(value) in device_of_type:
        try:
            array = xp.asarray(value)
        except (ValueError, TypeError) as error:
            raise TypeError(f"{op}: cannot use {type(value).__name__} as an operand: {error}") from None
        if array.dtype.kind in "biuf":
            return Tensor.from_array(array, False)
        raise TypeError(f"{op}: operands must be numbers or booleans, got {type(value).__name__} "
                        f"of dtype {array.dtype}")
    raise TypeError(f"{op}: unsupported operand type {type(value).__name__}")


def _as_array(data, dtype, op):
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


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(shape)
    for n in shape:
        if not isinstance(n, (int, numpy.integer)) or isinstance(n, builtins.bool):
            raise TypeError(f"shape entries must be ints, got {shape}")
    return tuple(int(n) for n in shape)


def _axes(op, axis, ndim):
    try:
        return normalize_axes(axis, ndim)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{op}: {error}") from None


def _check_axis(op, axis, ndim):
    if not isinstance(axis, (int, numpy.integer)) or isinstance(axis, builtins.bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if ndim == 0:
        raise ValueError(f"{op}: needs a tensor with at least one dimension, got shape ()")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return int(axis)


def _index_arg(index, device):
    """``index`` with Tensors, lists and host arrays made arrays of ``device``; ``advanced`` if
    it holds integer arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    converted = []
    advanced = False
    for part in parts:
        if isinstance(part, Tensor):
            part = part.array
        elif isinstance(part, list) or (isinstance(part, numpy.ndarray)
                                        and type(part) is not device.array_type):
            part = device.xp.asarray(part)
        if hasattr(part, "dtype"):
            if part.dtype.kind in "iu":
                advanced = True
            elif part.dtype.kind != "b":
                raise IndexError(f"getitem: index arrays must be integer or boolean, got {part.dtype}")
        converted.append(part)
    return (tuple(converted) if isinstance(index, tuple) else converted[0]), advanced


# --- the same ops as functions --------------------------------------------------------------
def matmul(a, b):
    """a @ b, batch dimensions broadcast as numpy.matmul."""
    return linalg.MatMul().apply(_expect_tensor("matmul", a), _lift(b, a, "matmul"))


def concat(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = _tensor_list("concat", tensors)
    ndim = tensors[0].ndim
    shapes = [tuple(t.shape) for t in tensors]
    if ndim == 0:
        raise ValueError(f"concat: 0-d tensors have no axis to join along, got shapes {shapes}")
    axis = _check_axis("concat", axis, ndim) % ndim
    if any(len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]
           for s in shapes):
        raise ValueError(f"concat: shapes {shapes} differ outside axis {axis}")
    return shape_ops.Concat(axis).apply(*tensors)


cat = concat


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis."""
    tensors = _tensor_list("stack", tensors)
    ndim = tensors[0].ndim + 1
    _check_axis("stack", axis, ndim)
    shapes = [tuple(t.shape) for t in tensors]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: all tensors need one shape, got {shapes}")
    return shape_ops.Stack(axis % ndim).apply(*tensors)


def split(t, split_size_or_sections, axis=0):
    """Pieces of ``t`` along ``axis``: an int is the size of each chunk (the last may be
    smaller), a list gives the size of each section (they must add up to the axis' length)."""
    _expect_tensor("split", t)
    length = t.shape[_check_axis("split", axis, t.ndim)]
    if isinstance(split_size_or_sections, (int, numpy.integer)):
        split_size_or_sections = int(split_size_or_sections)
        if split_size_or_sections <= 0:
            raise ValueError(f"split: chunk size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, length - s)
                 for s in range(0, length, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to length {length} of axis "
                             f"{axis} in shape {tuple(t.shape)}")
    pieces = []
    start = 0
    lead = (slice(None),) * (axis % t.ndim)
    for size in sizes:
        pieces.append(t[lead + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(t, chunks, axis=0):
    """``chunks`` pieces of (nearly) equal size along ``axis``, as torch.chunk."""
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks}")
    _expect_tensor("chunk", t)
    length = t.shape[_check_axis("chunk", axis, t.ndim)]
    return split(t, max(1, -(-length // chunks)), axis)


def where(condition, a, b):
    """Elementwise ``a`` where ``condition`` holds, else ``b``."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else condition
    if not isinstance(like, Tensor):
        raise TypeError("where: at least one argument must be a tensor")
    a = _lift(a, like, "where")
    return ew.Where().apply(_lift(condition, like, "where"), a, _lift(b, a, "where"))


def _expect_tensor(op, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(value).__name__}")
    return value


def _tensor_list(op, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected tensors, got {type(t).__name__}")
    return tensors


def _unary(method):
    def function(t):
        return getattr(_expect_tensor(method, t), method)()
    function.__name__ = method
    function.__doc__ = f"Elementwise {method} of a tensor."
    return function


exp, log, tanh, sigmoid, relu, sin, cos, abs, sqrt = (
    _unary(m) for m in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "abs", "sqrt"))


def softmax(x, axis=-1):
    return x.softmax(axis)


def log_softmax(x, axis=-1):
    return x.log_softmax(axis)

"""The Tensor: an array plus what autograd needs (``requires_grad``, ``grad``, its graph node).

Operators and methods build the graph through the op classes in ``tinyseq.ops``; the functions
below the class (``matmul``, ``concat``, ``where``, ...) are the same ops in function form.

Dtype promotion is PyTorch's (``result_type``). Dtypes fall in three categories, bool <
integer < float, and operands in three ranks: tensors with dimensions, 0-d tensors, Python
numbers. The highest rank present decides the dtype, unless a lower rank brings a higher
category: int64 with float32 gives float32, a float32 tensor with a float64 0-d tensor stays
float32, a float32 tensor times 2.5 stays float32, an int64 tensor plus 1.5 gives the default
float dtype. Within one rank a float beats any integer (int64 with float16 is float16), and
otherwise NumPy's rule applies (float32 with float64 is float64). Division of integers gives the
default float dtype. Gradients flow through each op in its output's dtype, but what lands in a
leaf's ``.grad`` always takes that leaf's dtype: float32 parameters get float32 gradients even
from a float64 loss.
"""
import builtins
import collections
import math
import numbers
import operator
import warnings

import numpy

from . import autograd, backend, hooks, random
from .ops import elementwise as ew
from .ops import linalg, nn_ops, shape as shape_ops
from .dtypes import (Size, array_from_data, as_array, check_requires_grad, combine_ranks, dtype,
                     get_default_dtype, new_shape, promote_types, shape_arg)
from .ops.reduction import normalize_axes

UNSET = object()  # marks an argument that was not given (None can be a real value)
device_of_type = backend.device_of_type


class device(str):
    """Where a tensor lives, as ``torch.device``: ``ts.device("cuda" if ts.cuda.is_available()
    else "cpu")``. It is the device's name as a str, so it goes wherever a name goes."""

    __slots__ = ()

    def __new__(cls, type, index=None):
        name = str(type) if index is None else f"{type}:{index}"
        return super().__new__(cls, name)

    @property
    def type(self):
        return self.split(":")[0]

    @property
    def index(self):
        return int(self.split(":")[1]) if ":" in self else None

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"


_devices_by_name = {}
_new_object = object.__new__
_new_size = tuple.__new__


class Tensor:
    """An n-dimensional array that records the ops applied to it, for backpropagation.

    This class holds the core: what a tensor is, autograd, moving and converting, arithmetic.
    Its in-place methods, reductions, shape methods and further elementwise math are in
    tensor_inplace.py, tensor_reductions.py, tensor_shapes.py and tensor_math.py."""

    __slots__ = ("array", "grad", "requires_grad", "_node", "_versions", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators (ndarray + Tensor works)
    __hash__ = object.__hash__

    def __init__(self, *data, requires_grad=False, device=None):
        """PyTorch's legacy constructor: ``Tensor(*sizes)`` is a tensor of that shape (zeros),
        ``Tensor(data)`` one holding ``data``, both of the default dtype; ``Tensor(t)`` shares
        ``t``'s storage and keeps its dtype."""
        if not isinstance(requires_grad, builtins.bool):
            raise TypeError(f"Tensor: requires_grad must be a bool keyword argument, got "
                            f"{type(requires_grad).__name__} {requires_grad!r}")
        xp = backend.get_device("cpu" if device is None else device).xp
        sizes = legacy_sizes("Tensor", data)
        if sizes is not None:
            array = xp.zeros(new_shape("Tensor", sizes, get_default_dtype()),
                             dtype=get_default_dtype())
        elif len(data) != 1:
            raise TypeError(f"Tensor: expected sizes (ints) or one sequence of values, got "
                            f"{data!r}")
        elif isinstance(data[0], Tensor):
            array = data[0].array
        else:
            array = xp.asarray(as_array(data[0], None, "Tensor").astype(get_default_dtype()))
        check_requires_grad("Tensor", array.dtype, requires_grad)
        self.array = array
        self.grad = None
        self.requires_grad = requires_grad
        self._node = None
        self._versions = None

    @staticmethod
    def from_array(array, requires_grad=False):
        """A tensor around ``array`` as it is (no copy, no checks): how ops and layers wrap
        the arrays they compute."""
        t = _new_object(Tensor)
        t.array = array
        t.grad = None
        t.requires_grad = requires_grad
        t._node = None
        t._versions = None
        return t

    # --- what it is -------------------------------------------------------------------------
    @property
    def shape(self):
        return _new_size(Size, self.array.shape)

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def dtype(self):
        return dtype(self.array.dtype)

    @property
    def device(self):
        name = device_of_type[type(self.array)].name
        found = _devices_by_name.get(name)
        if found is None:
            found = _devices_by_name[name] = device(name)
        return found

    @property
    def is_cuda(self):
        return device_of_type[type(self.array)].name == "cuda"

    def is_floating_point(self):
        return self.array.dtype.kind == "f"

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def size(self, dim=None):
        return _new_size(Size, self.array.shape) if dim is None else self.array.shape[dim]

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
        if self.dtype not in (get_default_dtype(), numpy.int64, numpy.bool_):
            extras.append(f"dtype={self.dtype!r}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # --- autograd ---------------------------------------------------------------------------
    def __format__(self, spec):
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as in PyTorch."""
        if self.array.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d self / d leaf into ``leaf.grad`` for every leaf that requires grad."""
        autograd.backward(self, grad, retain_graph)

    def detach(self):
        """The same values, cut from the graph (shares the array and its version counter, so
        an in-place change through either is caught by a backward that needs the old values)."""
        t = Tensor.from_array(self.array, False)
        t._versions = autograd.version_counter(self)
        return t

    def detach_(self):
        """Cut this tensor itself from the graph, in place: it becomes a leaf that does not
        require grad (truncated BPTT's ``hidden.detach_()``)."""
        self._node = None
        self.requires_grad = False
        return self

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

    def requires_grad_(self, requires_grad=True):
        check_requires_grad("requires_grad_", self.array.dtype, requires_grad)
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        if self._node is not None:
            autograd.output_hooks(self).retains = True

    @property
    def retains_grad(self):
        """True for a non-leaf tensor whose ``retain_grad()`` was called."""
        return self._node is not None and self._node.output_hooks is not None \
            and self._node.output_hooks.retains

    def register_hook(self, hook):
        """Call ``hook(grad)`` each time backward has this tensor's whole gradient, as
        PyTorch's ``register_hook``: a Tensor it returns replaces the gradient (a leaf's
        ``.grad`` then gets that; an op's output passes it on). Returns a handle whose
        ``remove()`` takes the hook off."""
        if not callable(hook):
            raise TypeError(f"register_hook: the hook must be callable, got "
                            f"{type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        registered = hooks.leaf_hooks(self) if self._node is None else \
            autograd.output_hooks(self).hooks
        registered.append(hook)
        return hooks.RemovableHandle(registered, hook)

    # --- moving and converting --------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """This tensor on another device and/or with another dtype, as PyTorch's ``to(device)``,
        ``to(dtype)``, ``to(device, dtype)`` and ``to(other)``; differentiable. The tensor itself
        when nothing changes (and ``copy`` is False)."""
        device, dtype = to_arguments(args, device, dtype)
        result = self
        if device is not None:
            target = backend.get_device(device)
            if device_of_type[type(self.array)] is not target:
                result = ToDevice(target).apply(result)
        if dtype is not None:
            dtype = numpy_dtype_of("to", dtype)
            if dtype != result.array.dtype:
                if dtype.kind != "f":  # integers and booleans carry no gradient
                    result = Tensor.from_array(result.array.astype(dtype), False)
                else:
                    result = Cast(dtype).apply(result)
        return result.clone() if copy and result is self else result

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    def half(self):
        return self.to(numpy.float16)

    def long(self):
        return self.to(numpy.int64)

    def int(self):
        return self.to(numpy.int32)

    def bool(self):
        return self.to(numpy.bool_)

    def byte(self):
        return self.to(numpy.uint8)

    def char(self):
        return self.to(numpy.int8)

    def short(self):
        return self.to(numpy.int16)

    def type(self, dtype=None):
        """With no argument the type's name (``'tinyseq.FloatTensor'``); else ``to(dtype)``
        (a dtype, or a tensor type such as ``ts.LongTensor``)."""
        if dtype is None:
            return f"tinyseq.{_TYPE_NAMES.get(self.array.dtype, str(self.array.dtype))}"
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def contiguous(self):
        """As PyTorch's: the tensor itself when its elements lie in row-major order in memory,
        else a differentiable row-major copy (no op here needs it; scripts that call it run)."""
        return self if self.array.flags.c_contiguous else ew.Clone().apply(self)

    def is_contiguous(self):
        """Whether the elements lie in row-major order in memory, as PyTorch's: False for a
        transposed or strided view until ``contiguous()``."""
        return builtins.bool(self.array.flags.c_contiguous)

    def element_size(self):
        """Bytes per element, as PyTorch's."""
        return self.array.itemsize

    def clone(self):
        """A copy with its own storage; differentiable."""
        return ew.Clone().apply(self)

    def new(self, *data, device=None):
        """PyTorch's legacy ``t.new(*sizes)`` (zeros) or ``t.new(data)``: a new tensor of t's
        dtype and device (``weight.new(layers, batch, hidden).zero_()``)."""
        device = self.device if device is None else device
        sizes = legacy_sizes("new", data)
        if sizes is not None:
            return self.new_zeros(shape_arg(sizes), device=device)
        if len(data) != 1:
            raise TypeError(f"new: expected sizes (ints) or one sequence of values, got {data!r}")
        if isinstance(data[0], Tensor):     # shares its storage, as PyTorch's t.new(other)
            if data[0].dtype != self.dtype or data[0].device != device:
                raise TypeError(f"new: a tensor of dtype {data[0].dtype} on "
                                f"{data[0].device} for one of dtype {self.dtype} on {device}; "
                                f"use other.to(...) first")
            return Tensor.from_array(data[0].array)
        return self.new_tensor(data[0], device=device)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.array
        array = array_from_data("tensor", data, self.dtype if dtype is None else dtype,
                                self.device if device is None else device)
        check_requires_grad("tensor", array.dtype, requires_grad)
        return Tensor.from_array(array, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        xp = backend.get_device(self.device if device is None else device).xp
        dtype = numpy.dtype(self.dtype if dtype is None else dtype)
        shape = new_shape("full", (size,), dtype)
        check_requires_grad("full", dtype, requires_grad)
        return Tensor.from_array(xp.full(shape, fill_value, dtype=dtype), requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(shape_arg(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(shape_arg(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """Uninitialised in PyTorch; zeros here, so nothing depends on leftover memory."""
        return self.new_full(shape_arg(size), 0, dtype, device, requires_grad)

    def __index__(self):
        if self.array.size != 1 or self.array.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got shape {tuple(self.shape)} of dtype {self.dtype}")
        return builtins.int(self.array.item())

    # --- arithmetic -------------------------------------------------------------------------
    def __add__(self, other):
        return ew.Add().apply(*_binary("add", self, other))

    def __radd__(self, other):
        return ew.Add().apply(*_binary("add", other, self))

    def __sub__(self, other):
        return ew.Sub().apply(*_binary("sub", self, other))

    def __rsub__(self, other):
        return ew.Sub().apply(*_binary("sub", other, self))

    def __mul__(self, other):
        return ew.Mul().apply(*_binary("mul", self, other))

    def __rmul__(self, other):
        return ew.Mul().apply(*_binary("mul", other, self))

    def __truediv__(self, other):
        return ew.Div().apply(*_binary("div", self, other))

    def __rtruediv__(self, other):
        return ew.Div().apply(*_binary("div", other, self))

    def __floordiv__(self, other):
        return ew.FloorDivide().apply(*integer_division_operands("floor_divide", self, other))

    def __rfloordiv__(self, other):
        return ew.FloorDivide().apply(*integer_division_operands("floor_divide", other, self))

    def __mod__(self, other):
        return ew.Remainder().apply(*integer_division_operands("remainder", self, other))

    def __rmod__(self, other):
        return ew.Remainder().apply(*integer_division_operands("remainder", other, self))

    floor_divide, remainder = __floordiv__, __mod__

    def __neg__(self):
        return ew.Neg().apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __pow__(self, exponent):
        if isinstance(exponent, (builtins.int, builtins.float)):
            dtype = result_type(self, exponent)
            power = ew.PowScalar(exponent).apply(_cast(self, dtype))
            return _cast(power, dtype)          # NumPy's bool ** True is int8; PyTorch's bool
        return ew.Pow().apply(*_no_bool_powers(*_binary("pow", self, exponent)))

    def __rpow__(self, base):
        return ew.Pow().apply(*_no_bool_powers(*_binary("pow", base, self)))

    def __matmul__(self, other):
        return linalg.MatMul().apply(self, as_operand(other, self, "matmul"))

    def __rmatmul__(self, other):
        return linalg.MatMul().apply(as_operand(other, self, "matmul"), self)

    def __lt__(self, other):
        return ew.Compare(operator.lt).apply(*_binary("lt", self, other))

    def __le__(self, other):
        return ew.Compare(operator.le).apply(*_binary("le", self, other))

    def __gt__(self, other):
        return ew.Compare(operator.gt).apply(*_binary("gt", self, other))

    def __ge__(self, other):
        return ew.Compare(operator.ge).apply(*_binary("ge", self, other))

    def __eq__(self, other):
        return ew.Compare(operator.eq).apply(*_binary("eq", self, other))

    def __ne__(self, other):
        return ew.Compare(operator.ne).apply(*_binary("ne", self, other))

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def __and__(self, other):
        return ew.Bitwise(operator.and_).apply(*_integral("bitwise_and", self, other))

    def __rand__(self, other):
        return ew.Bitwise(operator.and_).apply(*_integral("bitwise_and", other, self))

    def __or__(self, other):
        return ew.Bitwise(operator.or_).apply(*_integral("bitwise_or", self, other))

    def __ror__(self, other):
        return ew.Bitwise(operator.or_).apply(*_integral("bitwise_or", other, self))

    def __xor__(self, other):
        return ew.Bitwise(operator.xor).apply(*_integral("bitwise_xor", self, other))

    def __rxor__(self, other):
        return ew.Bitwise(operator.xor).apply(*_integral("bitwise_xor", other, self))

    def __invert__(self):
        """~t: logical not of a bool tensor, bitwise not of an integer one."""
        return ew.Bitwise(operator.invert).apply(*_integral("bitwise_not", self))

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

    def logical_and(self, other):
        return logical_and(self, other)

    def logical_or(self, other):
        return logical_or(self, other)

    def logical_xor(self, other):
        return logical_xor(self, other)

    def logical_not(self):
        return logical_not(self)

    def add(self, *args, alpha=1):
        alpha, (other,) = scalar_first_args("add", args, 1, "alpha", alpha)
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, *args, alpha=1):
        alpha, (other,) = scalar_first_args("sub", args, 1, "alpha", alpha)
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        return div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent):
        return self ** exponent

    def neg(self):
        return -self

    def addcmul(self, *args, value=1):
        value, (tensor1, tensor2) = scalar_first_args("addcmul", args, 2, "value", value)
        return self + value * tensor1 * tensor2

    def addcdiv(self, *args, value=1):
        value, (tensor1, tensor2) = scalar_first_args("addcdiv", args, 2, "value", value)
        if builtins.all(isinstance(t, Tensor) and t.array.dtype.kind in "biu"
                        for t in (tensor1, tensor2)):
            raise RuntimeError(f"addcdiv: integer division is not supported, as in PyTorch "
                               f"(tensor1 {tensor1.dtype}, tensor2 {tensor2.dtype}); use "
                               f"input + value * tensor1 / tensor2")
        return self + value * tensor1 / tensor2

    def lerp(self, end, weight):
        """self + weight * (end - self), for floating ``self`` and ``end`` of its dtype."""
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"lerp: not implemented for {self.dtype}, as in PyTorch; use a "
                               f"floating tensor")
        if isinstance(end, Tensor) and end.array.dtype != self.array.dtype:
            raise RuntimeError(f"lerp: expected dtype {self.dtype} for end but got dtype "
                               f"{end.dtype}")
        return self + weight * (end - self)

    def matmul(self, other):
        return matmul(self, other)

    def mm(self, other):
        return mm(self, other)

    def bmm(self, other):
        return bmm(self, other)

    def exp(self):
        return ew.Exp().apply(to_floating(self))

    def log(self):
        return ew.Log().apply(to_floating(self))

    def tanh(self):
        return ew.Tanh().apply(to_floating(self))

    def sigmoid(self):
        return ew.Sigmoid().apply(to_floating(self))

    def relu(self):
        return ew.Relu().apply(self)

    def sin(self):
        return ew.Sin().apply(to_floating(self))

    def cos(self):
        return ew.Cos().apply(to_floating(self))

    def abs(self):
        return ew.Abs().apply(self)

    def sqrt(self):
        return ew.Sqrt().apply(to_floating(self))

    def rsqrt(self):
        """1 / sqrt(t); integers and booleans in the default float dtype."""
        return ew.Rsqrt().apply(to_floating(self))

    def reciprocal(self):
        """1 / t (inf at 0); integers and booleans in the default float dtype."""
        return ew.Reciprocal().apply(to_floating(self))

    def log1p(self):
        """log(1 + t), exact for small t."""
        return ew.Log1p().apply(to_floating(self))

    def expm1(self):
        """exp(t) - 1, exact for small t."""
        return ew.Expm1().apply(to_floating(self))

    def square(self):
        """t * t, as PyTorch's ``t ** 2``: integers keep their dtype, bool gives int64."""
        return self ** 2

    def sign(self):
        """1, 0 or -1 in this tensor's dtype (0 for NaN, as PyTorch); the gradient is 0."""
        return ew.Sign().apply(self)

    def isnan(self):
        """Bool: True where the value is NaN (never for integers and booleans)."""
        xp = device_of_type[type(self.array)].xp
        if self.array.dtype.kind == "f":
            return Tensor.from_array(xp.asarray(xp.isnan(self.array)))  # 0-d: not a scalar
        return Tensor.from_array(xp.zeros(self.array.shape, dtype=builtins.bool))

    def isinf(self):
        """Bool: True where the value is inf or -inf (never for integers and booleans)."""
        xp = device_of_type[type(self.array)].xp
        if self.array.dtype.kind == "f":
            return Tensor.from_array(xp.asarray(xp.isinf(self.array)))
        return Tensor.from_array(xp.zeros(self.array.shape, dtype=builtins.bool))

    def isfinite(self):
        """Bool: True where the value is neither inf, -inf nor NaN (always for integers)."""
        xp = device_of_type[type(self.array)].xp
        if self.array.dtype.kind == "f":
            return Tensor.from_array(xp.asarray(xp.isfinite(self.array)))
        return Tensor.from_array(xp.ones(self.array.shape, dtype=builtins.bool))

    def maximum(self, other):
        return maximum(self, other)

    def minimum(self, other):
        return minimum(self, other)

    def outer(self, vec2):
        return outer(self, vec2)

    def dot(self, tensor):
        return dot(self, tensor)

    def round(self, decimals=0):
        """Round half to even, as torch.round (gradient 0)."""
        return ew.Rounding("round", decimals).apply(self)

    def floor(self):
        return ew.Rounding("floor").apply(self)

    def ceil(self):
        return ew.Rounding("ceil").apply(self)

    def clamp(self, min=None, max=None):
        """Values limited to [min, max] (either may be None); the gradient passes where
        min <= x <= max, as PyTorch's."""
        for bound in (min, max):
            if bound is not None and (not isinstance(bound, (builtins.int, builtins.float))
                                      or isinstance(bound, builtins.bool)):
                raise TypeError(f"clamp: min and max must be numbers, got {bound!r}")
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return ew.Clamp(min, max).apply(self)

    clip = clamp

    def clamp_min(self, min):
        """``clamp(min=min)``, as PyTorch's."""
        return self.clamp(min=min)

    def clamp_max(self, max):
        """``clamp(max=max)``, as PyTorch's."""
        return self.clamp(max=max)

    def masked_fill(self, mask, value):
        """``value`` where the boolean ``mask`` (broadcast to this shape) is True, else self."""
        mask = as_operand(mask, self, "masked_fill")
        if mask.array.dtype.kind != "b":
            raise TypeError(f"masked_fill: the mask must be boolean, got {mask.dtype}")
        value = as_operand(value, self, "masked_fill")
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: the value must be a number or a 0-d tensor, as in "
                               f"PyTorch, got shape {tuple(value.shape)}")
        result = where(mask, value.to(self.array.dtype), self)
        if result.shape != self.shape:
            raise ValueError(f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast "
                             f"to the tensor's shape {tuple(self.shape)}")
        return result

    def softmax(self, dim=UNSET, *, axis=UNSET):
        dim = pytorch_or_numpy_arg("softmax", "dim", dim, "axis", axis, UNSET)
        if dim is UNSET:            # as PyTorch, which has no default dim here (F.softmax has)
            raise TypeError('softmax() missing 1 required positional arguments: "dim"')
        if self.ndim == 0:          # as PyTorch: the one element, over dim 0 or -1
            return self.reshape(1).softmax(check_dim("softmax", dim, 1)).reshape(())
        return nn_ops.Softmax(check_dim("softmax", dim, self.ndim)).apply(self)

    def log_softmax(self, dim=UNSET, *, axis=UNSET):
        dim = pytorch_or_numpy_arg("log_softmax", "dim", dim, "axis", axis, UNSET)
        if dim is UNSET:            # as PyTorch, which has no default dim here (F.log_softmax has)
            raise TypeError('log_softmax() missing 1 required positional arguments: "dim"')
        if self.ndim == 0:
            return self.reshape(1).log_softmax(check_dim("log_softmax", dim, 1)).reshape(())
        return nn_ops.LogSoftmax(check_dim("log_softmax", dim, self.ndim)).apply(self)



autograd.Tensor = Tensor  # the engine makes op outputs with it
hooks.Tensor = Tensor    # hooks get and return gradients as Tensors


def attach_methods(family):
    """Put the methods of ``family``, a class that only holds them, on Tensor: the in-place,
    reduction, shape and math families live in modules of their own (tensor_inplace.py,
    tensor_reductions.py, tensor_shapes.py, tensor_math.py), which tinyseq imports after this
    one."""
    for name, value in vars(family).items():
        if name in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            continue
        if getattr(value, "__name__", None) == name:    # not an alias (view = reshape)
            value.__qualname__ = f"Tensor.{name}"
        setattr(Tensor, name, value)


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
RETURN_TYPES = {name: collections.namedtuple(name, ("values", "indices"))
                 for name in ("max", "min", "sort", "topk", "median", "nanmedian", "kthvalue",
                              "mode", "cummax", "cummin")}
RETURN_TYPES["aminmax"] = collections.namedtuple("aminmax", ("min", "max"))
_TYPE_NAMES = {numpy.dtype(numpy.float16): "HalfTensor", numpy.dtype(numpy.float32): "FloatTensor",
               numpy.dtype(numpy.float64): "DoubleTensor", numpy.dtype(numpy.int32): "IntTensor",
               numpy.dtype(numpy.int64): "LongTensor", numpy.dtype(numpy.bool_): "BoolTensor",
               numpy.dtype(numpy.uint8): "ByteTensor"}


def pytorch_or_numpy_arg(op, name, value, alias, alias_value, default):
    """The argument spelled PyTorch's way (``name``) or NumPy's (``alias``); both is an error."""
    if alias_value is UNSET:
        return value
    if value is not default and value != default:
        raise TypeError(f"{op}: got both {name}= and {alias}=, which are one argument "
                        f"(PyTorch's and NumPy's spelling); give {name}= only")
    return alias_value


def legacy_sizes(op, data):
    """The shape a legacy constructor (``Tensor(...)``, ``t.new(...)``, ``FloatTensor(...)``)
    is given: its ints, or one Size (``Tensor(x.size())``), or () for no argument at all,
    which PyTorch reads as shape (0,); None when it is given data. A lone number that is not
    an int is refused as PyTorch refuses it (``Tensor(2.0)``: data must be a sequence)."""
    if len(data) == 1 and isinstance(data[0], Size):
        return tuple(data[0])
    if not data:
        return (0,)
    if builtins.all(isinstance(n, (builtins.int, numpy.integer))
                    and not isinstance(n, builtins.bool) for n in data):
        return data
    if len(data) == 1 and isinstance(data[0], (builtins.float, builtins.bool, builtins.complex,
                                               numpy.floating, numpy.bool_, numpy.complexfloating)):
        raise TypeError(f"{op}(): data must be a sequence (got {type(data[0]).__name__} "
                        f"{data[0]!r}); for a 0-d tensor use ts.tensor({data[0]!r})")
    return None


def scalar_first_args(op, args, count, keyword, value, default=1):
    """(scalar, operands) of a call to ``op`` that takes ``count`` tensor operands and a
    keyword scalar; PyTorch still accepts, with a warning, its old overloads that put the
    scalar first (``p.data.add_(-lr, p.grad.data)``, ``addcmul_(value, t1, t2)``), the scalar
    a Python or NumPy number or a 0-d tensor, and refuses the scalar given twice."""
    keyword_given = not (isinstance(value, numbers.Number) and value == default)
    first = args[0] if args else None
    scalar = (isinstance(first, numbers.Real)
              and not isinstance(first, (builtins.bool, numpy.bool_))
              or isinstance(first, Tensor) and first.ndim == 0)
    if len(args) == count + 1 and scalar and builtins.all(isinstance(a, Tensor) for a in args[1:]):
        if keyword_given:
            raise TypeError(f"{op}() got the scalar first and {keyword}= as well; give "
                            f"{op}(..., {keyword}=scalar) only")
        operands = ", ".join(f"Tensor {name}" for name in ("tensor1", "tensor2")[:count]) \
            if count == 2 else "Tensor other"
        warnings.warn(f"This overload of {op} is deprecated:\n\t{op}(Number {keyword}, "
                      f"{operands})\nConsider using one of the following signatures instead:"
                      f"\n\t{op}({operands}, *, Number {keyword} = 1)", UserWarning,
                      stacklevel=3)
        return (first.item() if isinstance(first, Tensor) else first), args[1:]
    if len(args) != count:
        raise TypeError(f"{op}() takes {count} tensor operand{'s' * (count > 1)} and "
                        f"{keyword}= as a keyword, got {len(args)} positional arguments")
    return value, args


def dim_args(op, dim, keepdim, axis, keepdims):
    return (pytorch_or_numpy_arg(op, "dim", dim, "axis", axis, None),
            pytorch_or_numpy_arg(op, "keepdim", keepdim, "keepdims", keepdims, False))


def numpy_dtype_of(op, value):
    """The NumPy dtype of ``value``: a dtype of ours, NumPy's, or a tensor type (ts.LongTensor)."""
    for candidate in (value, getattr(value, "dtype", value)):
        try:
            return numpy.dtype(candidate)
        except TypeError:
            pass
    raise TypeError(f"{op}: expected a dtype or a device, got {value!r}")


def int_index_tensor(op, index, like):
    """``index`` (a Tensor, array or list of ints) as an integer array on like's device."""
    xp = device_of_type[type(like.array)].xp
    array = index.array if isinstance(index, Tensor) else xp.asarray(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {array.dtype}")
    if type(array) is not type(like.array):
        raise ValueError(f"{op}: index and input are on different devices")
    return array


def as_operand(value, like, op):
    """``value`` as a Tensor on the device of ``like``; Python numbers take like's float dtype;
    anything but numbers and booleans is a TypeError naming ``op``."""
    if isinstance(value, Tensor):
        return value
    xp = device_of_type[type(like.array)].xp
    if isinstance(value, (int, float)) and not isinstance(value, builtins.bool):
        dtype = like.array.dtype if like.array.dtype.kind == "f" else None
        if dtype is None and isinstance(value, float):
            dtype = get_default_dtype()
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


def result_type(*operands):
    """The dtype PyTorch gives an op on ``operands`` (tensors and Python numbers): tensors with
    dimensions outrank 0-d tensors, which outrank numbers, unless a lower rank brings a higher
    category (bool < integer < float); a Python float counts as the default dtype."""
    ranked = [None, None, None]     # tensors with dims, 0-d tensors, Python numbers
    for value in operands:
        if isinstance(value, Tensor):
            rank, dtype = (0 if value.array.ndim else 1), value.array.dtype
        elif isinstance(value, (builtins.bool, numpy.bool_)):
            rank, dtype = 2, numpy.dtype(numpy.bool_)
        elif isinstance(value, (builtins.int, numpy.integer)):
            rank, dtype = 2, numpy.dtype(numpy.int64)
        elif isinstance(value, (builtins.float, numpy.floating)):
            rank, dtype = 2, get_default_dtype()
        else:
            raise TypeError(f"result_type: expected tensors or numbers, got "
                            f"{type(value).__name__}")
        ranked[rank] = dtype if ranked[rank] is None else promote_types(ranked[rank], dtype)
    return combine_ranks(ranked[0], combine_ranks(ranked[1], ranked[2]))


def _cast(t, dtype):
    """``t`` as ``dtype``: itself when it has it, a differentiable cast when it needs a
    gradient, else a converted copy outside the graph."""
    if t.array.dtype == dtype:
        return t
    if t.requires_grad:
        return Cast(dtype).apply(t)
    return Tensor.from_array(t.array.astype(dtype), False)


def to_floating(t):
    """``t`` itself when it is floating; integers and booleans in the default float dtype, as
    PyTorch's exp, log, tanh, ... compute them."""
    return t if t.array.dtype.kind == "f" else _cast(t, get_default_dtype())


def _binary(op, a, b):
    """``a`` and ``b`` (tensors, numbers, arrays) as two tensors of PyTorch's result type on
    the device of the tensor among them; a true division of integers is in the default
    float dtype; ``-`` of a bool tensor is refused, as in PyTorch."""
    if isinstance(a, Tensor):                  # the common cases first: nothing to decide
        if isinstance(b, Tensor):
            if a.array.dtype == b.array.dtype and (a.array.dtype.kind == "f" or
                                                   op != "div" and op != "sub"):
                return a, b
        elif (type(b) is builtins.float or type(b) is builtins.int) and a.array.dtype.kind == "f":
            return a, _number_like(b, a.array)
    elif (type(a) is builtins.float or type(a) is builtins.int) and b.array.dtype.kind == "f":
        return _number_like(a, b.array), b
    like = a if isinstance(a, Tensor) else b
    if op == "sub":
        _no_bool_subtraction(a, b)
    if not isinstance(a, (Tensor, builtins.int, builtins.float, numpy.number)):
        a = as_operand(a, like, op)
    if not isinstance(b, (Tensor, builtins.int, builtins.float, numpy.number)):
        b = as_operand(b, like, op)
    dtype = result_type(a, b)
    if op == "div" and dtype.kind != "f":
        dtype = get_default_dtype()
    return _cast(as_operand(a, like, op), dtype), _cast(as_operand(b, like, op), dtype)


def _number_like(number, array):
    """A Python number as a 0-d tensor of ``array``'s floating dtype and device, as
    ``as_operand`` makes it, without its checks (this runs for every ``x * 0.5``). On the CPU
    the tensors of numbers other than zero (0.0 and -0.0 are equal keys) are kept and shared:
    their arrays are read-only, and only an op's saved inputs can reach them."""
    key = (number, array.dtype, type(array))
    constant = _constants.get(key)
    if constant is not None:
        return constant
    t = _new_object(Tensor)
    t.array = device_of_type[type(array)].xp.asarray(number, dtype=array.dtype)
    t.grad = t._node = t._versions = None
    t.requires_grad = False
    if number and type(array) is numpy.ndarray:
        if len(_constants) >= 256:
            _constants.clear()
        t.array.flags.writeable = False
        _constants[key] = t
    return t


_constants = {}   # (number, dtype, array type) -> its shared read-only 0-d tensor


def _integral(op, *operands):
    """The operands of a bitwise op as tensors of their PyTorch result type, which must be
    bool or integer."""
    tensors = _binary(op, *operands) if len(operands) == 2 else operands
    dtype = tensors[0].array.dtype
    if dtype.kind not in "biu":
        raise TypeError(f"{op}: defined for bool and integer tensors, got {dtype.name} (for a "
                        f"mask, compare first: (x > 0) & (y > 0))")
    return tensors


def _no_bool_subtraction(a, b):
    """Refuse ``a - b`` when one is a bool tensor, as PyTorch does, where NumPy would subtract
    bytes (True - 2 as uint8 255)."""
    if isinstance(a, Tensor) and a.array.dtype.kind == "b" or \
            isinstance(b, Tensor) and b.array.dtype.kind == "b":
        raise TypeError("sub: subtraction, the `-` operator, with a bool tensor is not "
                        "supported, as in PyTorch; to invert a mask use `~` or "
                        "logical_not(), else cast it first (.long(), .float())")


def _no_bool_powers(a, b):
    """(a, b), unless both are bool (``**`` of two bool tensors is not in PyTorch)."""
    if a.array.dtype.kind == "b":
        raise TypeError("pow: not implemented for two bool operands, as in PyTorch; cast one "
                        "first (.long())")
    return a, b


def integer_division_operands(op, a, b):
    """The operands of ``//`` or ``%`` in PyTorch's result type; as in PyTorch, two bools are
    refused and an integer divisor of zero is a ZeroDivisionError (NumPy would give 0)."""
    a, b = _binary(op, a, b)
    if a.array.dtype.kind == "b":
        raise TypeError(f"{op}: not implemented for two bool operands, as in PyTorch; cast "
                        f"one first (.long())")
    if a.array.dtype.kind in "iu" and not b.array.all():
        raise ZeroDivisionError(f"{op}: integer division by zero (divisor of shape "
                                f"{tuple(b.shape)}, dtype {b.dtype})")
    return a, b


def axes_arg(op, axis, ndim):
    try:
        return normalize_axes(axis, ndim)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{op}: {error}") from None


def reduced_dims(op, dim, ndim):
    """The axes a reduction sums over: ``dim=()`` or ``[]`` is every axis, as in PyTorch (its
    ``x.sum(dim=[])`` is ``x.sum()``), and a 0-d tensor's dim 0 or -1 is the tensor itself."""
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    if ndim == 0:                   # 0 and -1 name it, as in PyTorch
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        if dim is not None and not builtins.all(d in (0, -1) for d in dims):
            raise ValueError(f"{op}: dim {dim!r} is out of range for a 0-d tensor (0 or -1)")
        return ()
    return axes_arg(op, dim, ndim)


def one_dim(op, dim, ndim):
    """``dim``, one int (negatives allowed), as a non-negative int; a 0-d tensor takes 0 or -1
    for itself, as in PyTorch, and gives 0."""
    if ndim == 0:
        if not isinstance(dim, (int, numpy.integer)) or isinstance(dim, builtins.bool):
            raise TypeError(f"{op}: axis must be an int, got {dim!r}")
        reduced_dims(op, dim, 0)                # 0 or -1
        return 0
    return check_dim(op, dim, ndim) % ndim


def check_dim(op, axis, ndim):
    if not isinstance(axis, (int, numpy.integer)) or isinstance(axis, builtins.bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if ndim == 0:
        raise ValueError(f"{op}: needs a tensor with at least one dimension, got shape ()")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return int(axis)


def index_arg(index, device):
    """``index`` with Tensors, lists and host arrays made arrays of ``device``; ``advanced`` if
    it holds integer arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    converted = []
    advanced = False
    for part in parts:
        if isinstance(part, Tensor):
            part = part.array
            if part.dtype == numpy.uint8:              # PyTorch's legacy byte mask
                warnings.warn("indexing with a uint8 tensor is deprecated, as in PyTorch: it is "
                              "read as a boolean mask; use a bool tensor", UserWarning,
                              stacklevel=3)
                part = part.astype(bool)
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
    return linalg.MatMul().apply(expect_tensor("matmul", a), as_operand(b, a, "matmul"))


def mm(a, b):
    """The product of two matrices (n, m) @ (m, p)."""
    expect_tensor("mm", a)
    expect_tensor("mm", b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"mm: expects matrices (n, m) and (m, p), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return linalg.MatMul().apply(a, b)


def bmm(a, b):
    """Batched matrix products (B, n, m) @ (B, m, p)."""
    expect_tensor("bmm", a)
    expect_tensor("bmm", b)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: expects batches (B, n, m) and (B, m, p), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return linalg.MatMul().apply(a, b)


def dot(input, tensor):
    """The inner product of two 1-d tensors of one dtype and length, as ``torch.dot``: 0-d."""
    expect_tensor("dot", input)
    expect_tensor("dot", tensor)
    if input.ndim != 1 or tensor.ndim != 1 or input.shape != tensor.shape:
        raise ValueError(f"dot: expects two 1-d tensors of one length, got shapes "
                         f"{tuple(input.shape)} and {tuple(tensor.shape)}")
    if input.array.dtype != tensor.array.dtype or input.array.dtype.kind == "b":
        raise TypeError(f"dot: expects two vectors of one dtype, not bool, as in PyTorch, got "
                        f"{input.dtype} and {tensor.dtype}; convert one with .to(dtype)")
    return linalg.MatMul().apply(input, tensor)


def outer(input, vec2):
    """The outer product of two 1-d tensors, as ``torch.outer``: out[i, j] = input[i] * vec2[j]
    (the dtypes promote as for ``*``)."""
    expect_tensor("outer", input)
    expect_tensor("outer", vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"outer: expects two 1-d tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(vec2.shape)}")
    return input.reshape(-1, 1) * vec2


def einsum(equation, *operands):
    """``einsum("bij,bjk->bik", a, b)`` for two operands (lists of operands too); letters
    repeated within one operand (diagonals) are not supported. Without "->" the output is the
    letters that appear once, in alphabetical order, as NumPy's and PyTorch's."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if len(operands) != 2:
        raise ValueError(f"einsum: supports two operands, got {len(operands)} (sum, permute and "
                         f"diagonal do the one-operand forms)")
    for t in operands:
        expect_tensor("einsum", t)
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a str, got {type(equation).__name__}")
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    letters = inputs.split(",")
    if len(letters) != 2:
        raise ValueError(f"einsum: equation {equation!r} names {len(letters)} operands, got 2")
    unused = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation)
    ellipsis_dims = builtins.max(t.ndim - len(s.replace("...", "")) if "..." in s else 0
                                 for s, t in zip(letters, operands))
    ellipsis = "".join(next(unused) for _ in range(ellipsis_dims))
    expanded = [s.replace("...", ellipsis[len(ellipsis) - (t.ndim - len(s) + 3):])
                for s, t in zip(letters, operands)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        counts = "".join(expanded)
        output = ellipsis + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                           and c not in ellipsis))
    sizes = {}
    for s, t in zip(expanded, operands):
        if not s.isalpha() or len(s) != t.ndim:
            raise ValueError(f"einsum: subscripts {s!r} do not fit an operand of shape "
                             f"{tuple(t.shape)} in {equation!r}")
        if len(set(s)) != len(s):
            raise ValueError(f"einsum: a letter repeated within one operand ({s!r}) is not "
                             f"supported")
        for c, n in zip(s, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} has sizes {sizes[c]} and {n} in "
                                 f"{equation!r} for shapes {[tuple(t.shape) for t in operands]}")
    if not set(output) <= set(sizes) or len(set(output)) != len(output):
        raise ValueError(f"einsum: output subscripts {output!r} must be distinct letters of the "
                         f"operands in {equation!r}")
    return linalg.Einsum(tuple(expanded), output).apply(*operands)


def tensordot(a, b, dims=2):
    """The sums of products over ``dims`` of ``a`` and ``b``, as ``torch.tensordot``: an int d
    pairs a's last d dims with b's first d, a pair of lists (or a tensor of two rows) pairs
    a's ``dims[0][i]`` with b's ``dims[1][i]``. The result has a's other dims, then b's. A
    contracted dim of size 1 broadcasts against the other's; the dtypes must be one."""
    expect_tensor("tensordot", a)
    expect_tensor("tensordot", b)
    if isinstance(dims, Tensor):
        dims = dims.tolist() if dims.numel() > 1 else builtins.int(dims.item())
    if isinstance(dims, (builtins.int, numpy.integer)) and not isinstance(dims, builtins.bool):
        if dims < 0:
            raise ValueError(f"tensordot: expects dims >= 0, got dims={dims}")
        if dims > builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims={dims} is more than the dims of shapes "
                             f"{tuple(a.shape)} and {tuple(b.shape)}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, (tuple, list)) and len(dims) == 2 and \
            builtins.all(isinstance(d, (tuple, list)) for d in dims):
        dims_a = [check_dim("tensordot", d, a.ndim) % a.ndim for d in dims[0]]
        dims_b = [check_dim("tensordot", d, b.ndim) % b.ndim for d in dims[1]]
    else:
        raise TypeError(f"tensordot: expects dims to be an int or a pair of lists of ints, "
                        f"got dims={dims!r}")
    if len(dims_a) != len(dims_b):
        raise ValueError(f"tensordot: the two lists of dims need one length, got {dims!r}")
    for dims_of in (dims_a, dims_b):
        if len(set(dims_of)) != len(dims_of):
            raise ValueError(f"tensordot: a dim appears more than once in {dims!r}")
    if a.array.dtype != b.array.dtype or a.array.dtype.kind == "b":
        raise TypeError(f"tensordot: expects two tensors of one dtype, not bool, as in "
                        f"PyTorch, got {a.dtype} and {b.dtype}; convert one with .to(dtype)")
    a_sizes, b_sizes = list(a.shape), list(b.shape)
    for da, db in zip(dims_a, dims_b):
        if a_sizes[da] != b_sizes[db]:
            if builtins.min(a_sizes[da], b_sizes[db]) != 1:
                raise ValueError(f"tensordot: contracted dims need one size, got {a_sizes[da]} "
                                 f"in dim {da} of shape {tuple(a.shape)} and {b_sizes[db]} in "
                                 f"dim {db} of shape {tuple(b.shape)}")
            a_sizes[da] = b_sizes[db] = builtins.max(a_sizes[da], b_sizes[db])
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    contracted = math.prod(a_sizes[d] for d in dims_a)
    rows, columns = (tuple(sizes[d] for d in free) for sizes, free in ((a_sizes, free_a),
                                                                      (b_sizes, free_b)))
    left = _as_matrix(a, a_sizes, free_a + dims_a, (math.prod(rows), contracted))
    right = _as_matrix(b, b_sizes, dims_b + free_b, (contracted, math.prod(columns)))
    return linalg.MatMul().apply(left, right).reshape(rows + columns)


def _as_matrix(t, sizes, order, shape):
    """``t`` broadcast to ``sizes``, its dims put in ``order`` and viewed as a matrix of
    ``shape``."""
    if list(t.shape) != sizes:
        t = t.expand(sizes)
    if order != list(range(t.ndim)):
        t = t.permute(order)
    return t.reshape(shape)


def concat(tensors, dim=0, *, axis=UNSET):
    """Join tensors along an existing dim."""
    dim = pytorch_or_numpy_arg("concat", "dim", dim, "axis", axis, 0)
    tensors = _tensor_list("concat", tensors)
    ndim = tensors[0].ndim
    shapes = [tuple(t.shape) for t in tensors]
    if ndim == 0:
        raise ValueError(f"concat: 0-d tensors have no axis to join along, got shapes {shapes}")
    dim = check_dim("concat", dim, ndim) % ndim
    if builtins.any(len(s) != ndim or s[:dim] + s[dim + 1:] != shapes[0][:dim] + shapes[0][dim + 1:]
                    for s in shapes):
        raise ValueError(f"concat: shapes {shapes} differ outside axis {dim}")
    dtype = result_type(*tensors)
    return shape_ops.Concat(dim).apply(*(_cast(t, dtype) for t in tensors))


cat = concat


def stack(tensors, dim=0, *, axis=UNSET):
    """Join tensors of one shape along a new dim."""
    dim = pytorch_or_numpy_arg("stack", "dim", dim, "axis", axis, 0)
    tensors = _tensor_list("stack", tensors)
    ndim = tensors[0].ndim + 1
    check_dim("stack", dim, ndim)
    shapes = [tuple(t.shape) for t in tensors]
    if builtins.any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: all tensors need one shape, got {shapes}")
    dtype = result_type(*tensors)
    return shape_ops.Stack(dim % ndim).apply(*(_cast(t, dtype) for t in tensors))


def split(t, split_size_or_sections, dim=0, *, axis=UNSET):
    """Pieces of ``t`` along ``dim``: an int is the size of each chunk (the last may be
    smaller), a list gives the size of each section (they must add up to the dim's length)."""
    dim = pytorch_or_numpy_arg("split", "dim", dim, "axis", axis, 0)
    expect_tensor("split", t)
    length = t.shape[check_dim("split", dim, t.ndim)]
    if isinstance(split_size_or_sections, (builtins.int, numpy.integer)):
        split_size_or_sections = builtins.int(split_size_or_sections)
        if split_size_or_sections <= 0:
            raise ValueError(f"split: chunk size must be positive, got {split_size_or_sections}")
        sizes = [builtins.min(split_size_or_sections, length - s)
                 for s in range(0, length, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != length or builtins.any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to length {length} of axis "
                             f"{dim} in shape {tuple(t.shape)}")
    pieces = []
    start = 0
    lead = (slice(None),) * (dim % t.ndim)
    for size in sizes:
        pieces.append(t[lead + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(t, chunks, dim=0, *, axis=UNSET):
    """``chunks`` pieces of (nearly) equal size along ``dim``, as torch.chunk."""
    dim = pytorch_or_numpy_arg("chunk", "dim", dim, "axis", axis, 0)
    if not isinstance(chunks, builtins.int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks}")
    expect_tensor("chunk", t)
    length = t.shape[check_dim("chunk", dim, t.ndim)]
    return split(t, builtins.max(1, -(-length // chunks)), dim)


def where(condition, a=UNSET, b=UNSET):
    """Elementwise ``a`` where ``condition`` holds, else ``b``; with the condition alone, its
    nonzero indices as one tensor per dim (``condition.nonzero(as_tuple=True)``), as
    ``torch.where``."""
    if a is UNSET and b is UNSET:
        return expect_tensor("where", condition).nonzero(as_tuple=True)
    if a is UNSET or b is UNSET:
        raise TypeError("where: give the condition alone, or the condition, a and b")
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else condition
    if not isinstance(like, Tensor):
        raise TypeError("where: at least one argument must be a tensor")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_operand(a, like, "where")
    a, b = _binary("where", a, b)
    return ew.Where().apply(as_operand(condition, like, "where"), a, b)


def hstack(tensors):
    """The tensors joined along dim 1, or along dim 0 when they are 1-d (a 0-d tensor counts
    as 1-d), as ``torch.hstack``; dtypes promote as for ``cat``."""
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in _tensor_sequence("hstack", tensors)]
    return _joined("hstack", tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """The tensors joined along dim 0, a 0-d or 1-d one taken as one row (1, n), as
    ``torch.vstack``; dtypes promote as for ``cat``."""
    tensors = [t.reshape(1, -1) if t.ndim < 2 else t
               for t in _tensor_sequence("vstack", tensors)]
    return _joined("vstack", tensors, 0)


def _tensor_sequence(op, tensors):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expects a tuple or list of tensors, got a Tensor")
    return _tensor_list(op, tensors)


def _joined(op, tensors, dim):
    shapes = [tuple(t.shape) for t in tensors]
    first = shapes[0]
    if builtins.any(len(s) != len(first) or s[:dim] + s[dim + 1:] != first[:dim] + first[dim + 1:]
                    for s in shapes):
        raise ValueError(f"{op}: shapes {shapes} (after 0-d and 1-d tensors take their dims) "
                         f"differ outside dim {dim}")
    return concat(tensors, dim)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-d or 1-d tensors of one dtype, as ``torch.meshgrid``: a tuple of
    broadcast views, the i-th holding ``tensors[i]`` along dim i, of shape (n0, n1, ...) with
    ``indexing="ij"``; ``"xy"`` swaps the first two dims (n1, n0, ...). Without indexing, "ij"
    with PyTorch's warning."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = _tensor_list("meshgrid", tensors)
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f'meshgrid: indexing must be one of "xy" or "ij", got {indexing!r}')
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-d or 1-d tensors, got shape {tuple(t.shape)}")
        if t.array.dtype != tensors[0].array.dtype:
            dtypes = ", ".join(str(t.array.dtype) for t in tensors)
            raise TypeError(f"meshgrid: expects tensors of one dtype, got {dtypes}")
    sizes = [t.numel() for t in tensors]
    places = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        places[0], places[1] = 1, 0
    shape = [0] * len(tensors)
    for place, size in zip(places, sizes):
        shape[place] = size
    return tuple(t.reshape([size if d == place else 1 for d in range(len(shape))]).expand(shape)
                 for t, place, size in zip(tensors, places, sizes))


def reshape(input, shape):
    """``input`` with another shape (one size may be -1), as ``torch.reshape``: ``shape`` a
    tuple or list."""
    expect_tensor("reshape", input)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"reshape: shape must be a tuple or list of ints, as in PyTorch, got "
                        f"{shape!r}")
    return input.reshape(shape)


def tile(input, dims):
    """``input.tile(dims)``, as ``torch.tile``: ``dims`` a tuple or list."""
    expect_tensor("tile", input)
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"tile: dims must be a tuple or list of ints, as in PyTorch, got "
                        f"{dims!r}")
    return input.tile(dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """``input.repeat_interleave(repeats, dim)``, as ``torch.repeat_interleave``; with
    ``input`` alone, a 1-d tensor of counts, the indices 0, 1, ... each repeated its count
    (of the counts' dtype)."""
    expect_tensor("repeat_interleave", input)
    if repeats is not None:
        return input.repeat_interleave(repeats, dim, output_size=output_size)
    if dim is not None or input.ndim != 1:
        raise ValueError(f"repeat_interleave: without repeats, input is the 1-d tensor of "
                         f"counts, got shape {tuple(input.shape)}"
                         f"{' and a dim' if dim is not None else ''}")
    xp = device_of_type[type(input.array)].xp
    positions = Tensor.from_array(xp.arange(input.numel(), dtype=input.array.dtype))
    return positions.repeat_interleave(input, 0, output_size=output_size)


def logical_and(input, other):
    """Where both are nonzero (True), as ``torch.logical_and``: a bool tensor, any dtypes."""
    return (_as_tensor_operand("logical_and", input, other) != 0) & (other != 0)


def logical_or(input, other):
    """Where either is nonzero (True), as ``torch.logical_or``: a bool tensor, any dtypes."""
    return (_as_tensor_operand("logical_or", input, other) != 0) | (other != 0)


def logical_xor(input, other):
    """Where exactly one is nonzero (True), as ``torch.logical_xor``: a bool tensor."""
    return (_as_tensor_operand("logical_xor", input, other) != 0) ^ (other != 0)


def logical_not(input):
    """Where the input is zero (False), as ``torch.logical_not``: a bool tensor."""
    expect_tensor("logical_not", input)
    return input == 0


def bitwise_and(input, other):
    """input & other of bool or integer tensors, as ``torch.bitwise_and``."""
    return _as_tensor_operand("bitwise_and", input, other) & other


def bitwise_or(input, other):
    """input | other of bool or integer tensors, as ``torch.bitwise_or``."""
    return _as_tensor_operand("bitwise_or", input, other) | other


def bitwise_xor(input, other):
    """input ^ other of bool or integer tensors, as ``torch.bitwise_xor``."""
    return _as_tensor_operand("bitwise_xor", input, other) ^ other


def bitwise_not(input):
    """~input of a bool or integer tensor, as ``torch.bitwise_not``."""
    expect_tensor("bitwise_not", input)
    return ~input


def _as_tensor_operand(op, input, other):
    """``input`` when it is a tensor; else ``other`` must be, and ``input`` becomes one like
    it (torch's functions take a number as either operand only beside a tensor)."""
    if isinstance(input, Tensor):
        return input
    expect_tensor(op, other)
    return as_operand(input, other, op)


def maximum(input, other):
    """Elementwise larger of two tensors, as ``torch.maximum``: NaN where either is NaN, and
    ties split the gradient in halves."""
    expect_tensor("maximum", input)
    expect_tensor("maximum", other)
    return ew.Maximum().apply(*_binary("maximum", input, other))


def minimum(input, other):
    """Elementwise smaller of two tensors, as ``torch.minimum``: NaN where either is NaN, and
    ties split the gradient in halves."""
    expect_tensor("minimum", input)
    expect_tensor("minimum", other)
    return ew.Minimum().apply(*_binary("minimum", input, other))


def flip(input, dims):
    """``input`` reversed along each of ``dims`` (a tuple or list), as ``torch.flip``."""
    expect_tensor("flip", input)
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"flip: dims must be a tuple or list of ints, as in PyTorch, got {dims!r}")
    return input.flip(dims)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` class ids per row drawn with probabilities proportional to the
    non-negative weights ``input`` (C,) or (B, C); int64, no gradient."""
    expect_tensor("multinomial", input)
    weights = backend.to_numpy(input.array).astype(numpy.float64)
    if input.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(f"multinomial: expects weights (C,) or (B, C), got {tuple(input.shape)}")
    rows = weights.reshape(-1, weights.shape[-1])
    totals = rows.sum(axis=1)
    if (rows < 0).any() or not numpy.isfinite(rows).all() or (totals <= 0).any():
        raise ValueError("multinomial: weights must be finite, non-negative and have a positive "
                         "sum in every row")
    if not replacement and num_samples > (rows > 0).sum(axis=1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         f"from rows with fewer non-zero weights")
    rng = random.generator(backend.get_device("cpu"), generator)   # drawn on the CPU
    samples = numpy.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                                      p=row / total) for row, total in zip(rows, totals)])
    samples = samples.reshape(weights.shape[:-1] + (num_samples,)).astype(numpy.int64)
    return Tensor.from_array(backend.move(samples, device_of_type[type(input.array)]), False)


def to_arguments(args, device=None, dtype=None):
    """(device, dtype) from the positional arguments of PyTorch's ``to``: a device (a name or
    a Device), a dtype, or a tensor giving both; ``device`` and ``dtype`` are the keywords."""
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, (str, backend.Device)):
            device = arg
        else:
            dtype = arg
    return device, dtype


def expect_tensor(op, value):
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


def _method(name, doc):
    def function(t, *args, **kwargs):
        return getattr(expect_tensor(name, t), name)(*args, **kwargs)
    function.__name__ = name
    function.__doc__ = doc
    return function


def host_array(t):
    """The values of tensor ``t`` as a NumPy array, copied off its device when needed: for
    index bookkeeping done in NumPy (sorted places, runs, searchsorted per row)."""
    return backend.to_numpy(t.array)


def on_device_of(like, host):
    """The NumPy array ``host`` as a tensor, without gradient, on the device of ``like``."""
    return Tensor.from_array(backend.move(numpy.asarray(host), backend.device_of(like.array)),
                             False)


def function_form(name):
    """``t.name(...)`` as the function ``name(t, ...)``, as torch has it: the families in
    tensor_reductions.py, tensor_linalg.py and tensor_indexing.py make theirs with it."""
    return _method(name, f"``t.{name}(...)`` as a function, as ``torch.{name}``.")


(exp, log, tanh, sigmoid, relu, sin, cos, abs, sqrt, round, floor, ceil, sign, log1p, expm1,
 reciprocal, rsqrt, square, isnan, isinf, isfinite) = (
    _method(m, f"Elementwise {m} of a tensor.")
    for m in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "abs", "sqrt", "round",
              "floor", "ceil", "sign", "log1p", "expm1", "reciprocal", "rsqrt", "square",
              "isnan", "isinf", "isfinite"))
(eq, ne, lt, le, gt, ge, clone, masked_select, swapaxes, swapdims, count_nonzero, unique) = (
    _method(m, f"``t.{m}(...)`` as a function, as ``torch.{m}``.")
    for m in ("eq", "ne", "lt", "le", "gt", "ge", "clone", "masked_select", "swapaxes",
              "swapdims", "count_nonzero", "unique"))
(sum, mean, max, min, amax, amin, argmax, argmin, std, var, all, any, sort, argsort, topk,
 softmax, log_softmax, gather, index_select, masked_fill, clamp, clip, transpose, permute, t,
 flatten, squeeze, unsqueeze, narrow, movedim, unbind, numel, logsumexp, cumsum, cumprod, prod,
 norm, roll, tril, triu) = (
    _method(m, f"``t.{m}(...)`` as a function, as ``torch.{m}``.")
    for m in ("sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "std", "var",
              "all", "any", "sort", "argsort", "topk", "softmax", "log_softmax", "gather",
              "index_select", "masked_fill", "clamp", "clip", "transpose", "permute", "t",
              "flatten", "squeeze", "unsqueeze", "narrow", "movedim", "unbind", "numel",
              "logsumexp", "cumsum", "cumprod", "prod", "norm", "roll", "tril", "triu"))


def promoted_operands(op, input, other):
    """torch's function forms take a number on either side: both as tensors of PyTorch's
    result type, as the operators make them."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}: expected a tensor among the operands, got "
                        f"{type(input).__name__} and {type(other).__name__}")
    return _binary(op, input, other)


def add(input, other, *, alpha=1):
    """``input + alpha * other``, as ``torch.add`` (either may be a number)."""
    input, other = promoted_operands("add", input, other)
    return input.add(other, alpha=alpha)


def sub(input, other, *, alpha=1):
    """``input - alpha * other``, as ``torch.sub``."""
    input, other = promoted_operands("sub", input, other)
    return input.sub(other, alpha=alpha)


def mul(input, other):
    """``input * other``, as ``torch.mul``."""
    return operator.mul(*promoted_operands("mul", input, other))


def div(input, other, *, rounding_mode=None):
    """``input / other``, as ``torch.div``: true division (integers give the default float),
    or with ``rounding_mode`` "floor" (``//``) or "trunc" (toward zero) the rounded quotient in
    the operands' type, without gradient."""
    if rounding_mode is None:
        return operator.truediv(*promoted_operands("div", input, other))
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    op = f"div(rounding_mode={rounding_mode!r})"      # not "div": that casts integers to float
    a, b = integer_division_operands(op, *promoted_operands(op, input, other))
    return (ew.FloorDivide() if rounding_mode == "floor" else ew.TruncDivide()).apply(a, b)


def pow(input, exponent):
    """``input ** exponent``, as ``torch.pow`` (either may be a number)."""
    if isinstance(input, Tensor):
        return input ** exponent
    return operator.pow(*promoted_operands("pow", input, exponent))


def floor_divide(input, other):
    """``input // other``, as ``torch.floor_divide``."""
    return operator.floordiv(*promoted_operands("floor_divide", input, other))


def remainder(input, other):
    """``input % other``, as ``torch.remainder`` (the sign of the divisor, as Python's)."""
    return operator.mod(*promoted_operands("remainder", input, other))


subtract, multiply, divide, true_divide = sub, mul, div, div
neg, negative, addcmul, addcdiv, lerp = (
    _method(m, f"``t.{m}(...)`` as a function, as ``torch.{m}``.")
    for m in ("neg", "neg", "addcmul", "addcdiv", "lerp"))
broadcast_to, scatter, scatter_add, index_add, nonzero, unflatten, diff = (
    _method(m, f"``t.{m}(...)`` as a function, as ``torch.{m}``.")
    for m in ("broadcast_to", "scatter", "scatter_add", "index_add", "nonzero", "unflatten",
              "diff"))


def is_tensor(obj):
    """True when ``obj`` is a Tensor, as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)

"""The Tensor's in-place methods (``add_``, ``mul_``, ``copy_``, ``t[i] = v``, ...): each
computes its out-of-place result and writes it into the tensor's array, where views and
``.data`` see it, and counts the change on the tensor's version counter, which backward
checks.

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import builtins

import numpy

from . import autograd, checks, creation, random
from .backend import device_of_type
from .ops import shape as shape_ops
from .tensor import (UNSET, Tensor, as_operand, attach_methods, index_arg, numpy_dtype_of,
                     scalar_first_args, where)


class InPlaceMethods:
    """Tensor's in-place methods, put on Tensor by attach_methods."""

    def _refuse_leaf(self):
        """PyTorch's error for an in-place change of a leaf that requires grad (while grad mode
        is on)."""
        if self.requires_grad and self._node is None and autograd.is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")

    def _refuse_unchangeable(self, op):
        """The errors for a tensor that can't be changed in place, checked before anything is
        computed or drawn: a leaf that requires grad, or an array that is not writeable."""
        self._refuse_leaf()
        if not getattr(self.array.flags, "writeable", True):
            what = ("a number that ops share" if self.array.ndim == 0 else
                    "a broadcast view (expand) whose elements share memory")
            raise RuntimeError(f"{op}: the tensor is {what}; clone() it before changing it "
                               f"in place")

    def _inplace(self, op, compute, *operands):
        """Make ``compute(old)``, an out-of-place result, this tensor's new value: written into
        its array (views and ``.data`` share it) and counted by its version counter. While a
        graph is recorded, the new node's input is a copy of the old value (backward may need
        it), never this tensor itself, which would make the node its own input."""
        self._refuse_unchangeable(op)
        records = autograd.is_grad_enabled() and (self.requires_grad or builtins.any(
            isinstance(o, Tensor) and o.requires_grad for o in operands))
        if records:
            old = Tensor.from_array(self.array.copy(), self.requires_grad)
            old._node = self._node
        else:
            old = self
        result = compute(old)
        if result.shape != self.shape:
            raise ValueError(f"{op}: the result has shape {tuple(result.shape)}, which does not "
                             f"fit the tensor's shape {tuple(self.shape)} in place")
        if result.array.dtype != self.array.dtype:
            kind, own_kind = result.array.dtype.kind, self.array.dtype.kind
            if kind == "f" and own_kind != "f" or own_kind == "b":   # PyTorch's canCast
                raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the "
                                   f"desired output type {self.dtype}")
            result = result.to(self.array.dtype)
        self.array[...] = result.array
        autograd.version_counter(self).value += 1
        if records:
            self._node = result._node
            self.requires_grad = result.requires_grad
        return self

    def _put(self, op, index, value):
        value = as_operand(value, self, op)
        return self._inplace(op, lambda old: shape_ops.IndexPut(index).apply(old, value), value)

    def __setitem__(self, index, value):
        """``t[index] = value`` in place, differentiable w.r.t. value and the rest of t."""
        if self.requires_grad and self._node is None and autograd.is_grad_enabled():
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        index, _ = index_arg(index, device_of_type[type(self.array)])
        self._put("setitem", index, value)

    def add_(self, *args, alpha=1):
        alpha, (other,) = scalar_first_args("add_", args, 1, "alpha", alpha)
        return self._inplace("add_", lambda old: old.add(other, alpha=alpha), other)

    def sub_(self, *args, alpha=1):
        alpha, (other,) = scalar_first_args("sub_", args, 1, "alpha", alpha)
        return self._inplace("sub_", lambda old: old.sub(other, alpha=alpha), other)

    def mul_(self, other):
        return self._inplace("mul_", lambda old: old * other, other)

    def div_(self, other):
        return self._inplace("div_", lambda old: old / other, other)

    def pow_(self, exponent):
        return self._inplace("pow_", lambda old: old ** exponent, exponent)

    def floor_divide_(self, other):
        return self._inplace("floor_divide_", lambda old: old // other, other)

    def remainder_(self, other):
        return self._inplace("remainder_", lambda old: old % other, other)

    def addcmul_(self, *args, value=1):
        value, (tensor1, tensor2) = scalar_first_args("addcmul_", args, 2, "value", value)
        return self._inplace("addcmul_", lambda old: old.addcmul(tensor1, tensor2, value=value),
                             tensor1, tensor2)

    def addcdiv_(self, *args, value=1):
        value, (tensor1, tensor2) = scalar_first_args("addcdiv_", args, 2, "value", value)
        return self._inplace("addcdiv_", lambda old: old.addcdiv(tensor1, tensor2, value=value),
                             tensor1, tensor2)

    def lerp_(self, end, weight):
        return self._inplace("lerp_", lambda old: old.lerp(end, weight), end, weight)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda old: old.clamp(min, max))

    clip_ = clamp_

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other``: ``ts.where(condition, self,
        other)``."""
        return where(condition, self, other)

    def masked_select(self, mask):
        """The elements where the boolean ``mask`` (broadcast with the tensor) is True, as a
        1-d tensor; differentiable."""
        mask = as_operand(mask, self, "masked_select")
        if mask.array.dtype.kind != "b":
            raise TypeError(f"masked_select: the mask must be boolean, got {mask.dtype}")
        try:
            shape = numpy.broadcast_shapes(self.shape, mask.shape)
        except ValueError:
            raise ValueError(f"masked_select: mask of shape {tuple(mask.shape)} does not "
                             f"broadcast with the tensor's shape {tuple(self.shape)}") from None
        source = self if self.shape == shape else self.expand(*shape)
        xp = device_of_type[type(self.array)].xp
        return source[Tensor.from_array(xp.broadcast_to(mask.array, shape))]

    def masked_fill_(self, mask, value):
        return self._inplace("masked_fill_", lambda old: old.masked_fill(mask, value), value)

    def neg_(self):
        return self._inplace("neg_", lambda old: -old)

    def exp_(self):
        return self._inplace("exp_", lambda old: old.exp())

    def tanh_(self):
        return self._inplace("tanh_", lambda old: old.tanh())

    def sigmoid_(self):
        return self._inplace("sigmoid_", lambda old: old.sigmoid())

    def relu_(self):
        return self._inplace("relu_", lambda old: old.relu())

    def sqrt_(self):
        return self._inplace("sqrt_", lambda old: old.sqrt())

    def sinh_(self):
        return self._inplace("sinh_", lambda old: old.sinh())

    def erf_(self):
        return self._inplace("erf_", lambda old: old.erf())

    def erfc_(self):
        return self._inplace("erfc_", lambda old: old.erfc())

    def cosh_(self):
        return self._inplace("cosh_", lambda old: old.cosh())

    def asin_(self):
        return self._inplace("asin_", lambda old: old.asin())

    def acos_(self):
        return self._inplace("acos_", lambda old: old.acos())

    def atan_(self):
        return self._inplace("atan_", lambda old: old.atan())

    def asinh_(self):
        return self._inplace("asinh_", lambda old: old.asinh())

    def acosh_(self):
        return self._inplace("acosh_", lambda old: old.acosh())

    def atanh_(self):
        return self._inplace("atanh_", lambda old: old.atanh())

    arcsin_, arccos_, arctan_, arcsinh_, arccosh_, arctanh_ = (asin_, acos_, atan_, asinh_,
                                                                acosh_, atanh_)

    def log2_(self):
        return self._inplace("log2_", lambda old: old.log2())

    def log10_(self):
        return self._inplace("log10_", lambda old: old.log10())

    def exp2_(self):
        return self._inplace("exp2_", lambda old: old.exp2())

    def trunc_(self):
        return self._inplace("trunc_", lambda old: old.trunc())

    fix_ = trunc_

    def frac_(self):
        return self._inplace("frac_", lambda old: old.frac())

    def sgn_(self):
        return self._inplace("sgn_", lambda old: old.sgn())

    def logit_(self, eps=None):
        return self._inplace("logit_", lambda old: old.logit(eps))

    def deg2rad_(self):
        return self._inplace("deg2rad_", lambda old: old.deg2rad())

    def rad2deg_(self):
        return self._inplace("rad2deg_", lambda old: old.rad2deg())

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._inplace("nan_to_num_", lambda old: old.nan_to_num(nan, posinf, neginf))

    def atan2_(self, other):
        return self._inplace("atan2_", lambda old: old.atan2(other), other)

    arctan2_ = atan2_

    def hypot_(self, other):
        return self._inplace("hypot_", lambda old: old.hypot(other), other)

    def fmod_(self, divisor):
        return self._inplace("fmod_", lambda old: old.fmod(divisor), divisor)

    def xlogy_(self, other):
        return self._inplace("xlogy_", lambda old: old.xlogy(other), other)

    def heaviside_(self, values):
        return self._inplace("heaviside_", lambda old: old.heaviside(values), values)

    def copysign_(self, other):
        return self._inplace("copysign_", lambda old: old.copysign(other), other)

    def float_power_(self, exponent):
        """``float_power`` in place, for a float64 tensor only, as PyTorch's."""
        if self.array.dtype != numpy.float64:
            raise RuntimeError(f"float_power_: the base has dtype {self.dtype} but the result "
                               f"is float64, as in PyTorch; use a float64 tensor")
        return self._inplace("float_power_", lambda old: old.float_power(exponent), exponent)

    def cumsum_(self, dim=UNSET, *, dtype=None):
        """Running sums along ``dim`` in place; the tensor keeps its dtype (integers wrap
        around as PyTorch's do), so ``dtype`` must be it when given."""
        if dim is UNSET:            # as PyTorch, which has no default dim here
            raise TypeError('cumsum_() missing 1 required positional arguments: "dim"')
        wanted = self.array.dtype if dtype is None else numpy_dtype_of("cumsum_", dtype)
        if wanted != self.array.dtype:
            raise RuntimeError(f"cumsum_: dtype {wanted} does not match the tensor's dtype "
                               f"{self.dtype}; an in-place result keeps the tensor's dtype")
        return self._inplace("cumsum_", lambda old: old.cumsum(dim))

    def tril_(self, diagonal=0):
        return self._inplace("tril_", lambda old: old.tril(diagonal))

    def triu_(self, diagonal=0):
        return self._inplace("triu_", lambda old: old.triu(diagonal))

    def scatter_(self, dim, index, src=UNSET, *, value=UNSET, reduce=None):
        return self._inplace("scatter_", lambda old: old.scatter(dim, index, src, value=value,
                                                                 reduce=reduce), src)

    def scatter_add_(self, dim, index, src):
        return self._inplace("scatter_add_", lambda old: old.scatter_add(dim, index, src), src)

    def index_fill_(self, dim, index, value):
        return self._inplace("index_fill_", lambda old: old.index_fill(dim, index, value), value)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace("index_add_",
                             lambda old: old.index_add(dim, index, source, alpha=alpha), source)

    def index_copy_(self, dim, index, source):
        return self._inplace("index_copy_", lambda old: old.index_copy(dim, index, source),
                             source)

    def masked_scatter_(self, mask, source):
        return self._inplace("masked_scatter_", lambda old: old.masked_scatter(mask, source),
                             source)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_
    __ifloordiv__, __imod__, __ipow__ = floor_divide_, remainder_, pow_

    def zero_(self):
        return self._put("zero_", Ellipsis, 0)

    def fill_(self, value):
        return self._put("fill_", Ellipsis, value)

    def copy_(self, src):
        """Write ``src`` (broadcast, moved to this device and cast to this dtype) into this
        tensor; differentiable w.r.t. src."""
        if isinstance(src, Tensor):
            src = src.to(device_of_type[type(self.array)])
        return self._put("copy_", Ellipsis, src)

    def _check_sampling(self, op):
        """Before drawing (a refused call leaves the generator as it was): the tensor can be
        changed in place and holds floating-point numbers, as PyTorch's samplers need."""
        self._refuse_unchangeable(op)
        if self.array.dtype.kind != "f":
            raise TypeError(f"{op}: not implemented for dtype {self.dtype}, as in PyTorch; the "
                            f"samples need a floating dtype")

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Samples from [a, b) in place."""
        a, b = checks.finite("uniform_", "a", a), checks.finite("uniform_", "b", b)
        if a > b:
            raise ValueError(f"uniform_: expects a [from, to) range with from <= to, got "
                             f"from={a} > to={b}")
        self._check_sampling("uniform_")
        sample = creation.uniform_values(device_of_type[type(self.array)], self.shape,
                                         self.array.dtype, generator)
        return self._put("uniform_", Ellipsis, Tensor.from_array(sample * (b - a) + a))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Samples from the normal distribution N(mean, std^2) in place; std >= 0."""
        mean = checks.finite("normal_", "mean", mean)
        std = checks.real("normal_", "std", std, minimum=0.0)
        self._check_sampling("normal_")
        sample = creation.standard_normal_values(device_of_type[type(self.array)], self.shape,
                                                 self.array.dtype, generator)
        return self._put("normal_", Ellipsis, Tensor.from_array(sample * std + mean))

    def bernoulli_(self, p=0.5, *, generator=None):
        """0s and 1s in place, each 1 with probability ``p`` (a number or a floating tensor
        that broadcasts to this one), as PyTorch's."""
        self._refuse_unchangeable("bernoulli_")
        return self._put("bernoulli_", Ellipsis, creation.bernoulli_values(self, p, generator))

    def random_(self, from_=0, to=None, *, generator=None):
        """Integers drawn uniformly from [from_, to) in place; ``random_(n)`` draws from
        [0, n), as PyTorch's."""
        low, high = (0, from_) if to is None else (from_, to)
        if high is None or low >= high:
            raise ValueError(f"random_: expects from < to, got from={low} and to={high}")
        self._refuse_unchangeable("random_")
        device = device_of_type[type(self.array)]
        sample = random.generator(device, generator).integers(low, high, size=self.shape)
        return self._put("random_", Ellipsis,
                         Tensor.from_array(sample.astype(self.array.dtype)))

    def _reshape_(self, op, shape):
        """Give this tensor ``shape`` in place (a view of the same storage)."""
        self._refuse_leaf()
        if self.requires_grad and autograd.is_grad_enabled():
            old = Tensor.from_array(self.array, True)
            old._node = self._node
            self._node = shape_ops.Reshape(shape).apply(old)._node
        self.array = self.array.reshape(shape)
        return self

    def unsqueeze_(self, dim):
        return self._reshape_("unsqueeze_", self.unsqueeze(dim).shape)

    def squeeze_(self, dim=None):
        return self._reshape_("squeeze_", self.squeeze(dim).shape)


attach_methods(InPlaceMethods)

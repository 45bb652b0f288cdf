"""The Tensor's reductions (``sum``, ``mean``, ``max``, ``std``, ``sort``, ``topk``, ...), with
PyTorch's ``dim``/``keepdim`` arguments (NumPy's ``axis``/``keepdims`` accepted too).

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import builtins
import math

import numpy

from .backend import device_of_type
from .ops import reduction, shape as shape_ops
from .tensor import (RETURN_TYPES, Tensor, UNSET, attach_methods, axes_arg, check_dim, dim_args,
                     maximum, minimum, reduced_dims, to_floating)


class ReductionMethods:
    """Tensor's reductions, put on Tensor by attach_methods."""

    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=UNSET, keepdims=UNSET):
        dim, keepdim = dim_args("sum", dim, keepdim, axis, keepdims)
        x = self if dtype is None else self.to(dtype)
        return reduction.Sum(reduced_dims("sum", dim, self.ndim), keepdim).apply(x)

    def logsumexp(self, dim, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        """log(sum(exp(t))) over ``dim`` without overflow, as ``torch.logsumexp``."""
        dim, keepdim = dim_args("logsumexp", dim, keepdim, axis, keepdims)
        x = to_floating(self)
        return reduction.LogSumExp(reduced_dims("logsumexp", dim, self.ndim), keepdim).apply(x)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=UNSET, keepdims=UNSET):
        dim, keepdim = dim_args("mean", dim, keepdim, axis, keepdims)
        x = self if dtype is None else self.to(dtype)
        return reduction.Mean(reduced_dims("mean", dim, self.ndim), keepdim).apply(x)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=UNSET,
            keepdims=UNSET):
        """Variance over ``dim``, dividing by n - correction (correction 1 when unbiased)."""
        dim, keepdim = dim_args("var", dim, keepdim, axis, keepdims)
        axes = reduced_dims("var", dim, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        correction = (1 if unbiased else 0) if correction is None else correction
        centred = self - self.mean(axes, keepdim=True)
        return (centred * centred).sum(axes, keepdim) / builtins.max(count - correction, 0)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=UNSET,
            keepdims=UNSET):
        """Standard deviation: the square root of ``var`` with the same arguments."""
        dim, keepdim = dim_args("std", dim, keepdim, axis, keepdims)
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def max(self, dim=None, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        """As PyTorch: ``max()`` is the 0-d largest value; ``max(dim)`` a named tuple
        ``(values, indices)`` along dim (the gradient goes to the index picked); ``max(other)``
        the elementwise maximum. A tuple of dims reduces them all, as ``amax``."""
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        dim, keepdim = dim_args("max", dim, keepdim, axis, keepdims)
        if dim is None or isinstance(dim, (tuple, list)):
            return reduction.Max(axes_arg("max", dim, self.ndim), keepdim).apply(self)
        return self._extreme("max", dim, keepdim)

    def min(self, dim=None, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        """As ``max``, for the smallest values."""
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        dim, keepdim = dim_args("min", dim, keepdim, axis, keepdims)
        if dim is None or isinstance(dim, (tuple, list)):
            return reduction.Min(axes_arg("min", dim, self.ndim), keepdim).apply(self)
        return self._extreme("min", dim, keepdim)

    def amax(self, dim=None, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        """Largest values over ``dim`` (an int, a tuple or None for all); the gradient is shared
        equally among ties."""
        dim, keepdim = dim_args("amax", dim, keepdim, axis, keepdims)
        return reduction.Max(reduced_dims("amax", dim, self.ndim), keepdim).apply(self)

    def amin(self, dim=None, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        dim, keepdim = dim_args("amin", dim, keepdim, axis, keepdims)
        return reduction.Min(reduced_dims("amin", dim, self.ndim), keepdim).apply(self)

    def _extreme(self, op, dim, keepdim):
        dim = check_dim(op, dim, self.ndim) % self.ndim
        if self.shape[dim] == 0:
            raise ValueError(f"{op}: cannot reduce dim {dim} of size 0 in shape {tuple(self.shape)}")
        xp = device_of_type[type(self.array)].xp
        indices = xp.expand_dims(getattr(self.array, "arg" + op)(axis=dim), dim)
        values = shape_ops.Gather(indices, dim).apply(self)
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return RETURN_TYPES[op](values, Tensor.from_array(indices, False))

    def argmax(self, dim=None, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        """Index of the largest value along ``dim`` (of the flattened tensor when None); no
        gradient."""
        dim, keepdim = dim_args("argmax", dim, keepdim, axis, keepdims)
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False, *, axis=UNSET, keepdims=UNSET):
        dim, keepdim = dim_args("argmin", dim, keepdim, axis, keepdims)
        return self._arg("argmin", dim, keepdim)

    def _arg(self, op, dim, keepdim):
        xp = device_of_type[type(self.array)].xp
        if self.array.size == 0:
            raise ValueError(f"{op}: cannot take it of an empty tensor of shape {tuple(self.shape)}")
        if dim is not None:
            dim = check_dim(op, dim, self.ndim)
        found = xp.asarray(getattr(self.array, op)(axis=dim, keepdims=keepdim))
        return Tensor.from_array(found.astype(xp.int64, copy=False), False)

    def all(self, dim=None, keepdim=False):
        axes = axes_arg("all", dim, self.ndim)
        return Tensor.from_array(self.array.astype(builtins.bool).all(axis=axes, keepdims=keepdim))

    def any(self, dim=None, keepdim=False):
        axes = axes_arg("any", dim, self.ndim)
        return Tensor.from_array(self.array.astype(builtins.bool).any(axis=axes, keepdims=keepdim))

    def sort(self, dim=-1, descending=False, stable=False):
        """Named tuple ``(values, indices)`` sorted along ``dim``; ties keep their order."""
        dim = check_dim("sort", dim, self.ndim) % self.ndim
        keys = -self.array if descending and self.array.dtype.kind != "b" else \
            ~self.array if descending else self.array
        xp = device_of_type[type(self.array)].xp
        indices = xp.argsort(keys, axis=dim, kind="stable")
        return RETURN_TYPES["sort"](shape_ops.Gather(indices, dim).apply(self),
                                     Tensor.from_array(indices, False))

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending, stable).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """Named tuple ``(values, indices)`` of the k largest (or smallest) along ``dim``."""
        dim = check_dim("topk", dim, self.ndim) % self.ndim
        if not isinstance(k, (builtins.int, numpy.integer)) or not 0 <= k <= self.shape[dim]:
            raise ValueError(f"topk: k must be an int in [0, {self.shape[dim]}] for dim {dim} of "
                             f"shape {tuple(self.shape)}, got {k!r}")
        order = self.argsort(dim, descending=largest)
        index = order.narrow(dim, 0, builtins.int(k))
        return RETURN_TYPES["topk"](self.gather(dim, index), index)


attach_methods(ReductionMethods)

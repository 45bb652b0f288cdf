"""The Tensor's reductions (``sum``, ``mean``, ``max``, ``std``, ``sort``, ``topk``, ...), with
PyTorch's ``dim``/``keepdim`` arguments (NumPy's ``axis``/``keepdims`` accepted too).

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import builtins
import math

import numpy

from .backend import device_of_type
from .ops import reduction, shape as shape_ops
from .tensor import (RETURN_TYPES, Tensor, UNSET, attach_methods, axes_arg, check_dim, dim_args,
                     maximum, minimum, one_dim, pytorch_or_numpy_arg, reduced_dims, to_floating)


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

    def prod(self, dim=None, keepdim=False, dtype=None, *, axis=UNSET, keepdims=UNSET):
        """Product over ``dim`` (one int, as in PyTorch, or None for all); integers and bools
        give int64. The gradient is the product of the other entries, right at zeros too."""
        dim, keepdim = dim_args("prod", dim, keepdim, axis, keepdims)
        if dim is None:
            axes = tuple(range(self.ndim))
        else:
            axis = one_dim("prod", dim, self.ndim)
            axes = (axis,) if self.ndim else ()     # a 0-d tensor's dim 0 is the tensor
        x = _accumulating(self, dtype)
        return reduction.Prod(axes, keepdim).apply(x)

    def cumsum(self, dim=UNSET, *, dtype=None, axis=UNSET):
        """Running sums along ``dim``: out[i] = t[0] + ... + t[i]; integers and bools give
        int64."""
        dim = pytorch_or_numpy_arg("cumsum", "dim", dim, "axis", axis, UNSET)
        return self._scan(reduction.Cumsum, "cumsum", dim, dtype)

    def cumprod(self, dim=UNSET, *, dtype=None, axis=UNSET):
        """Running products along ``dim``: out[i] = t[0] * ... * t[i]; integers and bools give
        int64. The gradient is right at zeros too."""
        dim = pytorch_or_numpy_arg("cumprod", "dim", dim, "axis", axis, UNSET)
        return self._scan(reduction.Cumprod, "cumprod", dim, dtype)

    def _scan(self, op_class, op, dim, dtype):
        if dim is UNSET:            # as PyTorch, which has no default dim here
            raise TypeError(f'{op}() missing 1 required positional arguments: "dim"')
        dim = one_dim(op, dim, self.ndim)
        x = _accumulating(self, dtype)
        if x.ndim == 0:             # as PyTorch: the one element, along dim 0 or -1
            return op_class(0).apply(x.reshape(1)).reshape(())
        return op_class(dim).apply(x)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over ``dim`` (an int, a tuple or None for all), as ``torch.norm``:
        p = "fro" or 2 (None too) the square root of the sum of squares, 1 the sum of
        absolute values, inf / -inf the largest / smallest absolute value, 0 the count of
        non-zeros, any other number (sum |t|^p)^(1/p). Floating tensors only. The gradient is
        PyTorch's: 0 where the norm is 0, shared among ties for inf."""
        if p is None:
            p = 2
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p must be 'fro' or a number, got {p!r} (the nuclear "
                                 f"norm 'nuc' is not supported)")
            if isinstance(dim, (tuple, list)) and len(dim) > 2:
                raise ValueError(f"norm: p='fro' takes at most 2 dims, got dim={dim!r} for "
                                 f"shape {tuple(self.shape)}")
            p = 2
        if not isinstance(p, (builtins.int, builtins.float, numpy.integer, numpy.floating)) \
                or isinstance(p, builtins.bool):
            raise TypeError(f"norm: p must be 'fro' or a number, got {p!r}")
        axes = reduced_dims("norm", dim, self.ndim)
        x = self if dtype is None else self.to(dtype)
        if x.array.dtype.kind != "f":
            raise RuntimeError(f"norm: expects a floating point tensor, as PyTorch, got "
                               f"{x.dtype}; convert it first (.float() or dtype=)")
        return reduction.Norm(builtins.float(p), axes, keepdim).apply(x)

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
        """Bool: whether every value over ``dim`` is non-zero (a 0-d tensor without dim)."""
        return self._logical("all", dim, keepdim)

    def any(self, dim=None, keepdim=False):
        """Bool: whether some value over ``dim`` is non-zero (a 0-d tensor without dim)."""
        return self._logical("any", dim, keepdim)

    def count_nonzero(self, dim=None):
        """The number of non-zero values over ``dim`` (all dims when None), as
        ``torch.count_nonzero``: int64, no gradient."""
        axes = axes_arg("count_nonzero", dim, self.ndim)
        xp = device_of_type[type(self.array)].xp
        return Tensor.from_array(xp.asarray((self.array != 0).sum(axis=axes), dtype=xp.int64))

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values, ascending, as ``torch.unique`` (a vocabulary's ids): with
        ``return_inverse`` also each entry's place among them (the input's shape), with
        ``return_counts`` how often each occurs; no gradient. Only ``dim=None``."""
        if dim is not None:
            raise NotImplementedError(f"unique: dim={dim!r} is not supported (only dim=None, "
                                      f"the unique values of the flattened tensor)")
        xp = device_of_type[type(self.array)].xp
        values, inverse, counts = xp.unique(self.array, return_inverse=True, return_counts=True)
        results = [Tensor.from_array(values)]
        if return_inverse:
            results.append(Tensor.from_array(inverse.reshape(self.array.shape).astype(xp.int64)))
        if return_counts:
            results.append(Tensor.from_array(counts.astype(xp.int64)))
        return results[0] if len(results) == 1 else tuple(results)

    def _logical(self, op, dim, keepdim):
        axes = axes_arg(op, dim, self.ndim)
        xp = device_of_type[type(self.array)].xp
        found = getattr(self.array.astype(builtins.bool), op)(axis=axes, keepdims=keepdim)
        return Tensor.from_array(xp.asarray(found))    # NumPy gives a scalar, not a 0-d array

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


def _accumulating(t, dtype):
    """``t`` in the dtype its running or total product and sum take, as in PyTorch: ``dtype``
    when given, else int64 for integers and booleans, else its own."""
    if dtype is not None:
        return t.to(dtype)
    return t.to(numpy.int64) if t.array.dtype.kind in "biu" else t


attach_methods(ReductionMethods)

"""The Tensor's reductions (``sum``, ``mean``, ``max``, ``std``, ``sort``, ``topk``, ...), with
PyTorch's ``dim``/``keepdim`` arguments (NumPy's ``axis``/``keepdims`` accepted too).

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import builtins
import math

import numpy

from .backend import device_of_type
from .ops import reduction, shape as shape_ops
from .tensor import (RETURN_TYPES, Tensor, UNSET, attach_methods, axes_arg, check_dim, dim_args,
                     expect_tensor, function_form, host_array, maximum, minimum, on_device_of,
                     one_dim, pytorch_or_numpy_arg, reduced_dims, to_floating)


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

    def median(self, dim=None, keepdim=False):
        """As ``torch.median``: without dim the 0-d median of all entries; with dim a named
        tuple ``(values, indices)`` along it. Of an even count the lower of the two middle
        values; NaN where the line holds one (indices: its first NaN). The gradient goes to
        the index picked, or without dim, as PyTorch's, is shared among the equal entries."""
        return self._order_statistic("median", dim, keepdim, ignore_nan=False)

    def nanmedian(self, dim=None, keepdim=False):
        """As ``median``, NaNs left out (NaN only where a line is all NaN)."""
        return self._order_statistic("nanmedian", dim, keepdim, ignore_nan=True)

    def _order_statistic(self, op, dim, keepdim, ignore_nan):
        if dim is None:
            if self.numel() == 0:       # as PyTorch: the median of nothing is NaN
                return on_device_of(self, numpy.asarray(numpy.nan, self.array.dtype))
            value = self.reshape(-1)._order_statistic(op, 0, False, ignore_nan).values
            if not value.requires_grad:
                return value
            # as PyTorch: the gradient of the median of all entries is shared among the
            # entries equal to it (the NaNs, when it is NaN)
            value = value.detach()
            equal = self.isnan() if value.isnan().item() else self == value
            return self.masked_fill(~equal, 0).sum() / equal.sum()
        sorted_keys, order, dim = self._sorted_order(op, dim)
        length = sorted_keys.shape[dim]
        valid = length if self.array.dtype.kind != "f" else \
            (~numpy.isnan(sorted_keys)).sum(axis=dim, keepdims=True)
        # the lower middle of the non-NaN entries; for median a line's first NaN, if any
        rank = numpy.maximum(valid - 1, 0) // 2
        if not ignore_nan:
            rank = numpy.where(valid < length, valid, rank)
        return self._picked(op, order, rank, dim, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """Named tuple ``(values, indices)`` of the ``k``-th smallest entry (k from 1) along
        ``dim``, as ``torch.kthvalue``; NaN counts as the largest. The gradient goes to the
        index picked."""
        _, order, dim = self._sorted_order("kthvalue", dim)
        length = self.shape[dim] if self.ndim else 1
        if not isinstance(k, (builtins.int, numpy.integer)) or isinstance(k, builtins.bool) \
                or not 1 <= k <= length:
            raise ValueError(f"kthvalue: k must be an int in [1, {length}] for dim {dim} of "
                             f"shape {tuple(self.shape)}, got {k!r}")
        rank = numpy.full((1,) * builtins.max(self.ndim, 1), builtins.int(k) - 1)
        return self._picked("kthvalue", order, rank, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        """Named tuple ``(values, indices)`` of the most frequent value along ``dim``, as
        ``torch.mode``: among equally frequent ones the smallest, and the index of its last
        occurrence. The gradient goes to the index picked."""
        sorted_keys, order, dim = self._sorted_order("mode", dim)
        keys = numpy.moveaxis(sorted_keys, dim, -1)
        length = keys.shape[-1]
        # the length of the run of equal sorted values each entry ends: its value's count
        starts = numpy.ones(keys.shape, dtype=builtins.bool)
        starts[..., 1:] = keys[..., 1:] != keys[..., :-1]
        positions = numpy.arange(length)
        run_start = numpy.maximum.accumulate(numpy.where(starts, positions, 0), axis=-1)
        ends = numpy.ones(keys.shape, dtype=builtins.bool)
        ends[..., :-1] = starts[..., 1:]
        counts = numpy.where(ends, positions - run_start + 1, 0)
        rank = numpy.moveaxis(numpy.argmax(counts, axis=-1)[..., None], -1, dim)  # first: smallest
        # ties are sorted stably, so the run's end is the value's last occurrence
        return self._picked("mode", order, rank, dim, keepdim)

    def _sorted_order(self, op, dim):
        """(the sorted values as keys, the stable ascending order, dim) along ``dim``; NaNs
        sort last."""
        x = self if self.ndim else self.reshape(1)
        dim = check_dim(op, dim, self.ndim) % self.ndim if self.ndim else \
            one_dim(op, dim, 0)
        if x.shape[dim] == 0:
            raise ValueError(f"{op}: cannot reduce dim {dim} of size 0 in shape "
                             f"{tuple(self.shape)}")
        array = host_array(x)
        order = numpy.argsort(array, axis=dim, kind="stable")
        return numpy.take_along_axis(array, order, dim), order, dim

    def _picked(self, op, order, rank, dim, keepdim):
        """The named tuple of the entries at sorted place ``rank`` (kept dims) along dim."""
        x = self if self.ndim else self.reshape(1)
        rank = numpy.broadcast_to(rank, x.shape[:dim] + (1,) + x.shape[dim + 1:])
        indices = numpy.take_along_axis(order, rank, dim).astype(numpy.int64)
        values = x.gather(dim, on_device_of(x, indices))
        if not keepdim or not self.ndim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return RETURN_TYPES[op](values, on_device_of(x, indices))

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        """The sum over ``dim`` with NaNs counted as 0, as ``torch.nansum``; no gradient
        reaches the NaNs."""
        x = self if self.array.dtype.kind != "f" else \
            self.masked_fill(self.isnan(), 0.0)
        return x.sum(dim, keepdim, dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        """The mean over ``dim`` of the entries that are not NaN, as ``torch.nanmean``
        (NaN where there are none); floating tensors only."""
        x = self if dtype is None else self.to(dtype)
        if x.array.dtype.kind != "f":
            raise TypeError(f"nanmean: expects a floating point tensor, as PyTorch, got "
                            f"{x.dtype}")
        present = (~x.isnan()).sum(dim, keepdim)
        with numpy.errstate(invalid="ignore"):      # 0 / 0 where all are NaN: NaN, as PyTorch
            return x.nansum(dim, keepdim) / present

    def aminmax(self, *, dim=None, keepdim=False):
        """Named tuple ``(min, max)`` over ``dim`` (one int or None for all), as
        ``torch.aminmax``; the gradients as ``amin`` and ``amax``."""
        if dim is not None:
            dim = one_dim("aminmax", dim, self.ndim)
        if self.numel() == 0 and (dim is None or self.shape[dim] == 0):
            raise ValueError(f"aminmax: cannot reduce an empty dim of shape "
                             f"{tuple(self.shape)}")
        if dim is None and keepdim:
            dim = tuple(range(self.ndim))
        return RETURN_TYPES["aminmax"](self.amin(dim, keepdim), self.amax(dim, keepdim))

    def logcumsumexp(self, dim):
        """Running log(exp(t[0]) + ... + exp(t[i])) along ``dim``, without overflow, as
        ``torch.logcumsumexp``; integers and bools in the default float dtype."""
        dim = one_dim("logcumsumexp", dim, self.ndim)
        x = to_floating(self)
        if x.ndim == 0:
            return reduction.LogCumSumExp(0).apply(x.reshape(1)).reshape(())
        return reduction.LogCumSumExp(dim).apply(x)

    def cummax(self, dim):
        """Named tuple ``(values, indices)``: the running largest value along ``dim`` and the
        index of its last occurrence so far (NaN, once met, stays), as ``torch.cummax``. The
        gradient goes to the indices picked."""
        return self._running_extreme("cummax", dim, numpy.greater_equal)

    def cummin(self, dim):
        """As ``cummax``, for the running smallest value."""
        return self._running_extreme("cummin", dim, numpy.less_equal)

    def _running_extreme(self, op, dim, better_or_equal):
        dim = one_dim(op, dim, self.ndim)
        x = self if self.ndim else self.reshape(1)
        array = numpy.moveaxis(host_array(x), dim, -1)
        indices = numpy.zeros(array.shape, numpy.int64)
        if array.shape[-1]:
            # as PyTorch: an entry takes over when it is at least the best so far, or NaN
            best = array[..., 0]
            for i in range(1, array.shape[-1]):
                value = array[..., i]
                takes_over = better_or_equal(value, best)
                if array.dtype.kind == "f":
                    takes_over |= numpy.isnan(value)
                indices[..., i] = numpy.where(takes_over, i, indices[..., i - 1])
                best = numpy.where(takes_over, value, best)
        indices = on_device_of(x, numpy.ascontiguousarray(numpy.moveaxis(indices, -1, dim)))
        values = x.gather(dim, indices)
        if not self.ndim:
            values, indices = values.reshape(()), indices.reshape(())
        return RETURN_TYPES[op](values, indices)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The ``q``-th quantiles (q a number or a 1-d tensor in [0, 1]) over ``dim`` (of all
        entries when None), as ``torch.quantile``: the sorted values at place q (n - 1)
        interpolated by ``interpolation`` ("linear", "lower", "higher", "midpoint" or
        "nearest", which rounds half to even); NaN where a line holds NaN; a 1-d q adds a
        first dim. Floating tensors only; differentiable."""
        return self._quantile("quantile", q, dim, keepdim, interpolation, ignore_nan=False)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """As ``quantile``, NaNs left out (NaN only where a line is all NaN)."""
        return self._quantile("nanquantile", q, dim, keepdim, interpolation, ignore_nan=True)

    def _quantile(self, op, q, dim, keepdim, interpolation, ignore_nan):
        if self.array.dtype.kind != "f":
            raise TypeError(f"{op}: expects a floating point tensor, as PyTorch, got "
                            f"{self.dtype}")
        if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
            raise ValueError(f"{op}: interpolation must be one of linear, lower, higher, "
                             f"midpoint or nearest, got {interpolation!r}")
        if isinstance(q, Tensor):
            if q.ndim > 1 or q.array.dtype != self.array.dtype:
                raise ValueError(f"{op}: q must be a 0-d or 1-d tensor of the input's dtype "
                                 f"{self.dtype}, got shape {tuple(q.shape)} and dtype "
                                 f"{q.dtype}")
            scalar_q, fractions = q.ndim == 0, host_array(q).reshape(-1)
        elif isinstance(q, (builtins.int, builtins.float, numpy.number)) and \
                not isinstance(q, builtins.bool):
            scalar_q, fractions = True, numpy.asarray([q], dtype=self.array.dtype)
        else:
            raise TypeError(f"{op}: q must be a number or a tensor, got {type(q).__name__}")
        if fractions.size and not ((fractions >= 0) & (fractions <= 1)).all():
            raise ValueError(f"{op}: q values must be in the range [0, 1], got "
                             f"{fractions.tolist()}")
        if dim is None:
            lines, kept = self.reshape(-1), (1,) * self.ndim
        else:
            dim = one_dim(op, dim, self.ndim)
            x = self if self.ndim else self.reshape(1)
            lines = x.movedim(dim, -1)
            kept = tuple(1 if d == dim else n for d, n in enumerate(self.shape))
        if lines.shape[-1] == 0:
            raise ValueError(f"{op}: cannot take quantiles of an empty dim of shape "
                             f"{tuple(self.shape)}")
        ordered = lines.sort(-1).values              # NaNs last
        nan = numpy.isnan(host_array(ordered))
        valid = (~nan).sum(-1, keepdims=True) if ignore_nan else \
            numpy.full(nan.shape[:-1] + (1,), nan.shape[-1])
        # in the input's dtype, as PyTorch: 0.8 * 15 is 12 in float32, not 12.0000002
        places = fractions * numpy.maximum(valid - 1, 0).astype(fractions.dtype)
        if interpolation == "nearest":
            places = numpy.round(places)
        low = numpy.floor(places).astype(numpy.int64)
        high = numpy.ceil(places).astype(numpy.int64)
        below = ordered.gather(-1, on_device_of(self, low))
        above = ordered.gather(-1, on_device_of(self, high))
        if interpolation in ("lower", "nearest"):
            result = below
        elif interpolation == "higher":
            result = above
        elif interpolation == "midpoint":
            result = (below + above) * 0.5
        else:
            result = below + (above - below) * on_device_of(
                self, (places - low).astype(self.array.dtype))
        undefined = nan.all(-1, keepdims=True) if ignore_nan else nan.any(-1, keepdims=True)
        if undefined.any():
            result = result.masked_fill(on_device_of(self, undefined), numpy.nan)
        result = result.movedim(-1, 0)               # the quantiles first, as PyTorch
        if keepdim:
            result = result.reshape((result.shape[0],) + kept)
        elif dim is None:
            result = result.reshape(result.shape[0])
        return result[0] if scalar_q else result


def _accumulating(t, dtype):
    """``t`` in the dtype its running or total product and sum take, as in PyTorch: ``dtype``
    when given, else int64 for integers and booleans, else its own."""
    if dtype is not None:
        return t.to(dtype)
    return t.to(numpy.int64) if t.array.dtype.kind in "biu" else t


attach_methods(ReductionMethods)

(median, nanmedian, kthvalue, mode, nansum, nanmean, aminmax, logcumsumexp, cummax, cummin,
 quantile, nanquantile) = (
    function_form(m) for m in ("median", "nanmedian", "kthvalue", "mode", "nansum", "nanmean",
                               "aminmax", "logcumsumexp", "cummax", "cummin", "quantile",
                               "nanquantile"))


def var_mean(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """The tuple ``(var, mean)`` over ``dim``, as ``torch.var_mean``: ``var`` with the same
    arguments (dividing by n - correction) and the mean."""
    expect_tensor("var_mean", input)
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim))


def std_mean(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """The tuple ``(std, mean)`` over ``dim``, as ``torch.std_mean``."""
    expect_tensor("std_mean", input)
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim))

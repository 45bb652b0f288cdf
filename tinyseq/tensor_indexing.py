"""The Tensor's indexing and joining methods beyond gather and scatter (``tensor_split``,
``take_along_dim``, ``take``, ``rot90``, ``index_copy``, ``masked_scatter``, ``select``,
``bincount``, ``unique_consecutive``) and the functions ``atleast_1d/2d/3d``,
``column_stack``, ``dstack``, ``row_stack``, ``block_diag``, ``cartesian_prod``,
``searchsorted`` and ``bucketize``, as PyTorch's. The differentiable ones are composed of
indexing, ``where`` and joins, so their gradients are those ops'; integer results (indices,
counts) carry none.

Tensor gets the methods from ``attach_methods`` when tinyseq is imported."""
import builtins

import numpy

from .tensor import (Tensor, attach_methods, check_dim, concat, expect_tensor, function_form,
                     host_array, meshgrid, on_device_of, result_type, stack, vstack, where)


class IndexingMethods:
    """Tensor's indexing methods, put on Tensor by attach_methods."""

    def tensor_split(self, indices_or_sections, dim=0):
        """Views of this tensor along ``dim``, as ``torch.tensor_split``: an int n gives n
        pieces, the first (length % n) one longer; a list, tuple or 1-d int tensor of indices
        splits before each (out-of-range and decreasing ones give empty pieces)."""
        dim = check_dim("tensor_split", dim, self.ndim) % self.ndim
        length = self.shape[dim]
        split = indices_or_sections
        if isinstance(split, Tensor):
            if split.array.dtype.kind not in "iu" or split.ndim > 1:
                raise TypeError(f"tensor_split: a tensor indices_or_sections must be a 0-d or "
                                f"1-d integer tensor, got dtype {split.dtype} and shape "
                                f"{tuple(split.shape)}")
            split = builtins.int(split.item()) if split.ndim == 0 else split.tolist()
        if isinstance(split, (builtins.int, numpy.integer)) and \
                not isinstance(split, builtins.bool):
            if split <= 0:
                raise ValueError(f"tensor_split: the number of sections must be positive, "
                                 f"got {split}")
            size, longer = divmod(length, builtins.int(split))
            bounds = [i * size + builtins.min(i, longer) for i in range(split + 1)]
        elif isinstance(split, (tuple, list)) and builtins.all(
                isinstance(i, (builtins.int, numpy.integer)) for i in split):
            bounds = [0] + [builtins.int(i) for i in split] + [length]
        else:
            raise TypeError(f"tensor_split: indices_or_sections must be an int, a list or "
                            f"tuple of ints, or an integer tensor, got {split!r}")
        lead = (slice(None),) * dim
        return tuple(self[lead + (slice(start, builtins.max(start, end)),)]
                     for start, end in zip(bounds, bounds[1:]))

    def take_along_dim(self, indices, dim=None):
        """The entries at ``indices`` along ``dim``, the two broadcast against each other
        outside it (of the flattened tensors when dim is None), as ``torch.take_along_dim``."""
        indices = _index_tensor("take_along_dim", "indices", indices)
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        dim = check_dim("take_along_dim", dim, self.ndim) % self.ndim
        if indices.ndim != self.ndim:
            raise ValueError(f"take_along_dim: input of shape {tuple(self.shape)} and indices "
                             f"of shape {tuple(indices.shape)} need the same number of dims")
        try:
            shape = numpy.broadcast_shapes(self.shape[:dim] + (1,) + self.shape[dim + 1:],
                                           indices.shape[:dim] + (1,) + indices.shape[dim + 1:])
        except ValueError:
            raise ValueError(f"take_along_dim: input of shape {tuple(self.shape)} and indices "
                             f"of shape {tuple(indices.shape)} do not broadcast outside dim "
                             f"{dim}") from None
        values = self.expand(shape[:dim] + (self.shape[dim],) + shape[dim + 1:])
        indices = indices.expand(shape[:dim] + (indices.shape[dim],) + shape[dim + 1:])
        return values.gather(dim, indices)

    def take(self, index):
        """The entries of the flattened tensor at ``index`` (negatives count from the end),
        in index's shape, as ``torch.take``."""
        index = _index_tensor("take", "index", index)
        size = self.numel()
        positions = host_array(index)
        if positions.size and (positions.min() < -size or positions.max() >= size):
            bad = positions.min() if positions.min() < -size else positions.max()
            raise IndexError(f"take: index {bad} is out of range for a tensor of "
                             f"{size} elements (shape {tuple(self.shape)})")
        return self.reshape(-1)[positions % builtins.max(size, 1)]

    def rot90(self, k=1, dims=(0, 1)):
        """The tensor turned by 90 degrees ``k`` times in the plane of ``dims``, from the
        first dim toward the second, as ``torch.rot90``."""
        if not isinstance(dims, (tuple, list)) or len(dims) != 2:
            raise ValueError(f"rot90: dims must be a pair of dims, got {dims!r}")
        if self.ndim < 2:
            raise ValueError(f"rot90: expects a tensor with at least 2 dims, got shape "
                             f"{tuple(self.shape)}")
        first, second = (check_dim("rot90", d, self.ndim) % self.ndim for d in dims)
        if first == second:
            raise ValueError(f"rot90: dims must differ, got {dims!r}")
        if not isinstance(k, (builtins.int, numpy.integer)) or isinstance(k, builtins.bool):
            raise TypeError(f"rot90: k must be an int, got {k!r}")
        turns = builtins.int(k) % 4
        if turns == 0:
            return self.clone()
        if turns == 2:
            return self.flip(first, second)
        return self.flip(second if turns == 1 else first).transpose(first, second)

    def index_copy(self, dim, index, source):
        """A copy with ``source[..., i, ...]`` written at ``[..., index[i], ...]`` along
        ``dim``, as ``torch.index_copy`` (of repeated indices the last is written).
        Differentiable w.r.t. self (0 where written over) and source."""
        index = _index_tensor("index_copy", "index", index)
        expect_tensor("index_copy", source)
        if index.ndim > 1:
            raise ValueError(f"index_copy: index must be 0-d or 1-d, got shape "
                             f"{tuple(index.shape)}")
        positions = host_array(index).reshape(-1)
        # the last occurrence of each index: index_add then adds each place's value once
        reversed_first = numpy.unique(positions[::-1], return_index=True)[1]
        last = numpy.sort(positions.size - 1 - reversed_first)
        if self.ndim == 0:
            return self.reshape(1).index_copy(0, index, source.reshape(-1)).reshape(())
        dim = check_dim("index_copy", dim, self.ndim) % self.ndim
        if source.ndim != self.ndim or source.shape[dim] != positions.size:
            raise ValueError(f"index_copy: source of shape {tuple(source.shape)} needs the "
                             f"dims of the tensor's shape {tuple(self.shape)} and "
                             f"{positions.size} entries (one per index) along dim {dim}")
        kept = on_device_of(self, positions[last])
        cleared = self.index_fill(dim, kept, 0)
        return cleared.index_add(dim, kept, source.index_select(dim, on_device_of(self, last)))

    def masked_scatter(self, mask, source):
        """A copy with the entries of ``source``, in row-major order, written where ``mask``
        (a bool tensor broadcast to this shape) is True, as ``torch.masked_scatter``.
        Differentiable w.r.t. self and the entries of source used."""
        expect_tensor("masked_scatter", mask)
        expect_tensor("masked_scatter", source)
        if mask.array.dtype.kind != "b":
            raise TypeError(f"masked_scatter: mask must be a bool tensor, got {mask.dtype}")
        try:
            shape = numpy.broadcast_shapes(tuple(self.shape), tuple(mask.shape))
        except ValueError:
            shape = None
        if shape != tuple(self.shape):
            raise ValueError(f"masked_scatter: mask of shape {tuple(mask.shape)} does not "
                             f"broadcast to the tensor's shape {tuple(self.shape)}")
        picked = numpy.broadcast_to(host_array(mask), shape)
        needed = builtins.int(picked.sum())
        if needed > source.numel():
            raise ValueError(f"masked_scatter: mask selects {needed} entries but source of "
                             f"shape {tuple(source.shape)} has only {source.numel()}")
        if source.array.dtype != self.array.dtype:
            raise TypeError(f"masked_scatter: source of dtype {source.dtype} for a tensor of "
                            f"dtype {self.dtype}; as in PyTorch they must be equal")
        if needed == 0:
            return self.clone()
        ordinal = numpy.clip(numpy.cumsum(picked.reshape(-1)) - 1, 0, None).reshape(shape)
        return where(on_device_of(self, picked), source.reshape(-1)[ordinal], self)

    def select(self, dim, index):
        """The slice at ``index`` (negatives count from the end) along ``dim``, that dim
        removed, as ``torch.select``."""
        dim = check_dim("select", dim, self.ndim) % self.ndim
        size = self.shape[dim]
        if not isinstance(index, (builtins.int, numpy.integer)) or \
                isinstance(index, builtins.bool):
            raise TypeError(f"select: index must be an int, got {index!r}")
        if not -size <= index < size:
            raise IndexError(f"select: index {index} is out of range for dim {dim} of size "
                             f"{size} (shape {tuple(self.shape)})")
        return self[(slice(None),) * dim + (builtins.int(index) % size,)]

    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, ... occurs in this 1-d tensor of non-negative
        integers (at least ``minlength`` counts), as ``torch.bincount``: int64, or with
        ``weights`` (one per entry) their sums, float32 for float32 weights, else float64. No
        gradient."""
        if self.ndim != 1 or self.array.dtype.kind not in "iub":
            raise ValueError(f"bincount: expects a 1-d tensor of integers, got shape "
                             f"{tuple(self.shape)} and dtype {self.dtype}")
        values = host_array(self).astype(numpy.int64)
        if values.size and values.min() < 0:
            raise ValueError(f"bincount: values must be non-negative, got {values.min()}")
        if not isinstance(minlength, (builtins.int, numpy.integer)) or minlength < 0:
            raise ValueError(f"bincount: minlength must be a non-negative int, got "
                             f"{minlength!r}")
        if weights is None:
            return on_device_of(self, numpy.bincount(values, minlength=minlength)
                                .astype(numpy.int64))
        expect_tensor("bincount", weights)
        if tuple(weights.shape) != tuple(self.shape):
            raise ValueError(f"bincount: weights of shape {tuple(weights.shape)} must match "
                             f"the input's shape {tuple(self.shape)}")
        dtype = numpy.float32 if weights.array.dtype == numpy.float32 else numpy.float64
        sums = numpy.bincount(values, host_array(weights).astype(numpy.float64),
                              minlength=minlength)
        return on_device_of(self, sums.astype(dtype))

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        """The tensor with each run of equal consecutive entries (of the flattened tensor, or
        slices along ``dim``) kept once, as ``torch.unique_consecutive``; with
        ``return_inverse`` each entry's run number, with ``return_counts`` each run's
        length. No gradient."""
        array = host_array(self)
        if dim is None:
            lines = array.reshape(-1, 1)
            inverse_shape = array.shape
        else:
            axis = check_dim("unique_consecutive", dim, self.ndim) % self.ndim
            lines = numpy.moveaxis(array, axis, 0).reshape(array.shape[axis], -1)
            inverse_shape = (array.shape[axis],)
        starts = numpy.ones(lines.shape[0], dtype=builtins.bool)
        starts[1:] = (lines[1:] != lines[:-1]).any(axis=1)
        kept = numpy.flatnonzero(starts)
        if dim is None:
            values = array.reshape(-1)[kept]
        else:
            values = numpy.take(array, kept, axis=axis)
        results = [on_device_of(self, numpy.ascontiguousarray(values))]
        if return_inverse:
            inverse = (numpy.cumsum(starts) - 1).astype(numpy.int64)
            results.append(on_device_of(self, inverse.reshape(inverse_shape)))
        if return_counts:
            ends = numpy.append(kept[1:], lines.shape[0])
            results.append(on_device_of(self, (ends - kept).astype(numpy.int64)))
        return results[0] if len(results) == 1 else tuple(results)


def _index_tensor(op, name, index):
    if not isinstance(index, Tensor) or index.array.dtype.kind not in "iu":
        kind = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise TypeError(f"{op}: {name} must be an integer tensor, got {kind}")
    return index


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one as shape (1,)), as ``torch.atleast_1d``:
    one tensor for one, else a tuple."""
    return _at_least("atleast_1d", tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (0-d as (1, 1), 1-d (n,) as (1, n))."""
    return _at_least("atleast_2d", tensors,
                     lambda t: t.reshape((1,) * (2 - t.ndim) + tuple(t.shape))
                     if t.ndim < 2 else t)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (0-d as (1, 1, 1), 1-d (n,) as (1, n, 1), 2-d
    (m, n) as (m, n, 1)), as ``torch.atleast_3d``."""
    shapes = {0: lambda s: (1, 1, 1), 1: lambda s: (1,) + s + (1,), 2: lambda s: s + (1,)}
    return _at_least("atleast_3d", tensors,
                     lambda t: t.reshape(shapes[t.ndim](tuple(t.shape))) if t.ndim < 3 else t)


def _at_least(op, tensors, lift):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        return tuple(lift(expect_tensor(op, t)) for t in tensors[0])
    lifted = tuple(lift(expect_tensor(op, t)) for t in tensors)
    return lifted[0] if len(lifted) == 1 else lifted


def column_stack(tensors):
    """The tensors side by side as columns, as ``torch.column_stack``: 0-d and 1-d ones
    become columns (n, 1), then all are joined along dim 1."""
    tensors = _sequence("column_stack", tensors)
    return concat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def dstack(tensors):
    """The tensors joined along dim 2 after ``atleast_3d``, as ``torch.dstack``."""
    return concat(list(atleast_3d(_sequence("dstack", tensors))), 2)


def row_stack(tensors):
    """``vstack``, as ``torch.row_stack``."""
    return vstack(tensors)


def _sequence(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)) or not tensors:
        raise TypeError(f"{op}: expects a non-empty tuple or list of tensors, got "
                        f"{type(tensors).__name__}")
    return [expect_tensor(op, t) for t in tensors]


def block_diag(*tensors):
    """The tensors (0-d, 1-d as one row, or 2-d) as blocks along the diagonal of one
    matrix, 0 elsewhere, as ``torch.block_diag``; dtypes promote as for ``cat``."""
    blocks = []
    for t in tensors:
        if expect_tensor("block_diag", t).ndim > 2:
            raise ValueError(f"block_diag: expects tensors of at most 2 dims, got shape "
                             f"{tuple(t.shape)}")
        blocks.append(t.reshape((1,) * (2 - t.ndim) + tuple(t.shape)))
    dtype = result_type(*blocks) if blocks else numpy.dtype(numpy.float32)
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, before = [], 0
    for block in blocks:
        height, columns = block.shape
        left = on_device_of(block, numpy.zeros((height, before), dtype))
        right = on_device_of(block, numpy.zeros((height, width - before - columns), dtype))
        rows.append(concat([left, block, right], 1))
        before += columns
    if not rows:            # as PyTorch: a (0, 0) matrix
        return Tensor.from_array(numpy.zeros((0, 0), dtype))
    return concat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of one entry from each 1-d tensor, in row-major order, as the rows
    of a (count, len(tensors)) tensor; one tensor as it is, as ``torch.cartesian_prod``."""
    for t in tensors:
        if expect_tensor("cartesian_prod", t).ndim != 1:
            raise ValueError(f"cartesian_prod: expects 1-d tensors, got shapes "
                             f"{[tuple(t.shape) for t in tensors]}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([grid.reshape(-1) for grid in grids], 1)


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where each of ``values`` would go in ``sorted_sequence`` (ascending along its last
    dim; 1-d, or one row per leading index of values) to keep it sorted, as
    ``torch.searchsorted``: before equal entries, or after them with ``right=True`` or
    ``side="right"``; ``sorter`` the indices that sort it. int64 (int32 with out_int32); no
    gradient."""
    expect_tensor("searchsorted", sorted_sequence)
    if side not in (None, "left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if side == "left" and right:
        raise ValueError("searchsorted: side='left' and right=True contradict each other")
    side = side or ("right" if right else "left")
    boundaries = host_array(sorted_sequence)
    if sorter is not None:
        order = host_array(_index_tensor("searchsorted", "sorter", sorter))
        if order.shape != boundaries.shape:
            raise ValueError(f"searchsorted: sorter of shape {order.shape} must match "
                             f"sorted_sequence's shape {boundaries.shape}")
        boundaries = numpy.take_along_axis(boundaries, order, -1)
    scalar = not isinstance(values, Tensor)
    points = numpy.asarray(values) if scalar else host_array(values)
    if scalar and boundaries.ndim != 1:
        raise ValueError(f"searchsorted: a number as values needs a 1-d sorted_sequence, got "
                         f"shape {boundaries.shape}")
    if boundaries.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least one dim")
    if boundaries.ndim == 1:
        found = numpy.searchsorted(boundaries, points, side=side)
    else:
        if points.shape[:-1] != boundaries.shape[:-1]:
            raise ValueError(f"searchsorted: sorted_sequence of shape {boundaries.shape} and "
                             f"values of shape {points.shape} must match in all dims but "
                             f"the last")
        rows = boundaries.reshape(-1, boundaries.shape[-1])
        row_points = points.reshape(rows.shape[0], -1)
        found = numpy.stack([numpy.searchsorted(row, p, side=side)
                             for row, p in zip(rows, row_points)]).reshape(points.shape)
    return on_device_of(sorted_sequence,
                        numpy.asarray(found, numpy.int32 if out_int32 else numpy.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each entry of ``input`` among the ascending 1-d ``boundaries``, as
    ``torch.bucketize``: i with boundaries[i - 1] < x <= boundaries[i] (with ``right``,
    boundaries[i - 1] <= x < boundaries[i]). int64 (int32 with out_int32); no gradient."""
    expect_tensor("bucketize", boundaries)
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape "
                         f"{tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


attach_methods(IndexingMethods)

(tensor_split, take_along_dim, take, rot90, index_copy, masked_scatter, select, bincount,
 unique_consecutive) = (
    function_form(m) for m in ("tensor_split", "take_along_dim", "take", "rot90",
                               "index_copy", "masked_scatter", "select", "bincount",
                               "unique_consecutive"))

"""The Tensor's shape methods (``reshape``, ``view``, ``transpose``, ``permute``, indexing,
``gather``, ...): views and rearrangements of the same elements.

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import builtins
import math

import numpy

from .backend import device_of_type
from .dtypes import shape_arg
from .ops import shape as shape_ops
from .tensor import (UNSET, Tensor, attach_methods, axes_arg, check_dim, chunk, concat,
                     index_arg, int_index_tensor, multinomial, pytorch_or_numpy_arg,
                     reduced_dims, split)


class ShapeMethods:
    """Tensor's shape methods, put on Tensor by attach_methods."""

    def dim(self):
        return self.array.ndim

    ndimension = dim

    def nelement(self):
        return self.array.size

    def reshape(self, *shape):
        shape = shape_arg(shape)
        if shape == self.array.shape:
            return self
        return shape_ops.Reshape(shape).apply(self)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim=0, end_dim=-1):
        """Dims start_dim..end_dim (inclusive) joined into one."""
        if self.ndim == 0:
            return self.reshape(1)
        start = check_dim("flatten", start_dim, self.ndim) % self.ndim
        end = check_dim("flatten", end_dim, self.ndim) % self.ndim
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        shape = self.shape
        return self.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def transpose(self, dim0, dim1):
        """Swap two dims, as PyTorch's transpose (``permute`` takes a whole permutation)."""
        ndim = self.array.ndim
        if ndim == 0 and dim0 in (0, -1) and dim1 in (0, -1):
            return self
        axes = list(range(ndim))
        dim0 = check_dim("transpose", dim0, ndim)
        dim1 = check_dim("transpose", dim1, ndim)
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return shape_ops.Transpose(tuple(axes)).apply(self)

    swapaxes = swapdims = transpose

    def permute(self, *dims):
        """The dims reordered: dim i of the result is dim ``dims[i]`` of this tensor."""
        ndim = self.array.ndim
        dims = shape_arg(dims)
        if sorted(a % ndim if -ndim <= a < ndim else a for a in dims) != list(range(ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the {ndim} dims of "
                             f"shape {tuple(self.shape)}")
        return shape_ops.Transpose(tuple(a % ndim for a in dims)).apply(self)

    def movedim(self, source, destination):
        source = check_dim("movedim", source, self.ndim) % self.ndim
        order = [d for d in range(self.ndim) if d != source]
        order.insert(check_dim("movedim", destination, self.ndim) % self.ndim, source)
        return self.permute(*order)

    def t(self):
        """The transpose of a matrix (a 0-d or 1-d tensor as it is)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dims, got shape {tuple(self.shape)}"
                             f" (use transpose(dim0, dim1) or .mT)")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self):
        """All dims reversed."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs at least 2 dims, got shape {tuple(self.shape)}")
        return self.transpose(-2, -1)

    def unsqueeze(self, dim=UNSET, *, axis=UNSET):
        dim = pytorch_or_numpy_arg("unsqueeze", "dim", dim, "axis", axis, UNSET)
        if dim is UNSET:
            raise TypeError("unsqueeze: missing the dim argument")
        ndim = self.array.ndim
        if not isinstance(dim, (builtins.int, numpy.integer)) or isinstance(dim, builtins.bool):
            raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
        if not -ndim - 1 <= dim <= ndim:
            raise ValueError(f"unsqueeze: axis {dim} is out of range for shape {tuple(self.shape)}")
        dim = dim % (ndim + 1)
        return shape_ops.Reshape(self.array.shape[:dim] + (1,) + self.array.shape[dim:]).apply(self)

    def squeeze(self, dim=None, *, axis=UNSET):
        """Drop dims of size 1 (all of them, or those of ``dim`` that have size 1, as PyTorch)."""
        dim = pytorch_or_numpy_arg("squeeze", "dim", dim, "axis", axis, None)
        shape = self.array.shape
        if dim is None:
            new_shape = tuple(n for n in shape if n != 1)
        else:
            dims = axes_arg("squeeze", dim, self.array.ndim)
            new_shape = tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1))
        return self.reshape(new_shape)

    def expand(self, *sizes):
        """A broadcast view with ``sizes`` (-1 keeps a dim; new dims go in front)."""
        return self._expanded("expand", shape_arg(sizes))

    def broadcast_to(self, size):
        """A broadcast view with shape ``size``, as ``torch.broadcast_to``: ``expand(size)``."""
        return self._expanded("broadcast_to", shape_arg((size,)))

    def _expanded(self, op, sizes):
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"{op}: {len(sizes)} sizes {sizes} are fewer than the dims of shape "
                             f"{tuple(self.shape)}")
        if -1 in sizes[:lead]:
            raise ValueError(f"{op}: size -1 is not allowed in a new leading dim, got sizes "
                             f"{sizes} for shape {tuple(self.shape)}")
        sizes = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(sizes))
        return shape_ops.BroadcastTo(sizes).apply(self)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *repeats):
        """Tiled ``repeats[d]`` times along each dim d (more repeats than dims add leading dims)."""
        repeats = shape_arg(repeats)
        if len(repeats) < self.ndim:
            raise ValueError(f"repeat: {len(repeats)} repeats {repeats} are fewer than the dims of "
                             f"shape {tuple(self.shape)}")
        if builtins.any(n < 0 for n in repeats):
            raise ValueError(f"repeat: repeats must not be negative, got {repeats}")
        return shape_ops.Repeat(repeats).apply(self)

    def tile(self, *dims):
        """Tiled ``dims[d]`` times along each dim d, as ``torch.tile``: ``repeat(dims)``, with
        1s put in front of fewer dims than the tensor has."""
        if not dims:                # as PyTorch, which has no default
            raise TypeError('tile() missing 1 required positional arguments: "dims"')
        dims = _sizes("tile", "dims", dims)
        if builtins.any(n < 0 for n in dims):
            raise ValueError(f"tile: dims must not be negative, got {dims}")
        return shape_ops.Repeat((1,) * (self.ndim - len(dims)) + dims).apply(self)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        """Each entry repeated ``repeats`` times along ``dim`` (of the flattened tensor when
        dim is None), as ``torch.repeat_interleave``: ``repeats`` an int, or an int64 or
        int32 tensor of one count per entry (or one count for all); ``output_size``, when
        given, must be the length that makes. The gradient sums over the copies."""
        source = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else check_dim("repeat_interleave", dim, self.ndim) % self.ndim
        length = source.shape[dim]
        xp = device_of_type[type(self.array)].xp
        if isinstance(repeats, Tensor):
            counts = _integer_array("repeat_interleave", "repeats", repeats, self)
            if counts.ndim > 1:
                raise ValueError(f"repeat_interleave: repeats must be 0-d or 1-d, got shape "
                                 f"{tuple(counts.shape)}")
            if counts.size not in (1, length):
                raise ValueError(f"repeat_interleave: repeats must have one count per entry "
                                 f"along dim {dim} ({length}) or one for all, got "
                                 f"{counts.size}")
            if counts.size and builtins.int(counts.min()) < 0:
                raise ValueError(f"repeat_interleave: repeats must not be negative, got "
                                 f"{builtins.int(counts.min())}")
            counts = counts.reshape(-1)
            if counts.size == 1:
                counts = builtins.int(counts[0])
        elif isinstance(repeats, (builtins.int, numpy.integer)) and \
                not isinstance(repeats, builtins.bool):
            if repeats < 0:
                raise ValueError(f"repeat_interleave: repeats must not be negative, got "
                                 f"{repeats}")
            counts = builtins.int(repeats)
        else:
            raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, "
                            f"got {type(repeats).__name__}")
        if isinstance(counts, builtins.int):
            index = xp.repeat(xp.arange(length), counts)
        else:   # entry i fills [ends[i - 1], ends[i]) (CuPy's repeat takes no array of counts)
            ends = xp.cumsum(counts)
            total = builtins.int(ends[-1]) if length else 0
            index = xp.searchsorted(ends, xp.arange(total), side="right")
        if output_size is not None and output_size != index.size:
            raise ValueError(f"repeat_interleave: output_size {output_size} is not the length "
                             f"{index.size} that repeats makes")
        return source[(slice(None),) * dim + (index,)]

    def unflatten(self, dim, sizes):
        """Dim ``dim`` split into dims of ``sizes`` (a tuple or list; one size may be -1, for
        what is left), as ``torch.unflatten``: the inverse of ``flatten``."""
        dim = check_dim("unflatten", dim, self.ndim) % self.ndim
        if not isinstance(sizes, (tuple, list)):
            raise TypeError(f"unflatten: sizes must be a tuple or list of ints, got {sizes!r}")
        sizes = list(_sizes("unflatten", "sizes", (sizes,)))
        length = self.shape[dim]
        if not sizes:
            raise ValueError("unflatten: sizes must be non-empty")
        if sizes.count(-1) > 1 or builtins.any(n < -1 for n in sizes):
            raise ValueError(f"unflatten: sizes must be non-negative, but one may be -1, got "
                             f"{sizes}")
        known = math.prod(n for n in sizes if n != -1)
        if -1 in sizes and known == 0 and length == 0:
            raise ValueError(f"unflatten: the -1 in sizes {sizes} is ambiguous for dim {dim} "
                             f"of size 0 (any size would do)")
        if -1 in sizes and known and length % known == 0:
            sizes[sizes.index(-1)] = length // known
        if math.prod(sizes) != length or -1 in sizes:
            raise ValueError(f"unflatten: sizes {sizes} don't multiply up to the size of dim "
                             f"{dim} ({length}) of shape {tuple(self.shape)}")
        shape = self.shape
        return self.reshape(shape[:dim] + tuple(sizes) + shape[dim + 1:])

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The ``n``-th forward difference along ``dim``, as ``torch.diff``: out[i] = t[i + 1]
        - t[i] (for bool, t[i + 1] != t[i]), n times, after ``prepend`` and ``append``
        (tensors of the same dims, of the same shape outside dim) are joined on at either
        end (a copy of the tensor alone for n = 0)."""
        if self.ndim == 0:
            raise ValueError("diff: expects a tensor with at least one dimension, got shape ()")
        if not isinstance(n, (builtins.int, numpy.integer)) or isinstance(n, builtins.bool):
            raise TypeError(f"diff: n must be an int, got {n!r}")
        if n < 0:
            raise ValueError(f"diff: the order n must be non-negative, got {n}")
        dim = check_dim("diff", dim, self.ndim) % self.ndim
        pieces = []
        for name, extra in (("prepend", prepend), ("input", self), ("append", append)):
            if extra is None:
                continue
            if not isinstance(extra, Tensor):
                raise TypeError(f"diff: {name} must be a Tensor, got {type(extra).__name__}")
            shape, own = tuple(extra.shape), tuple(self.shape)
            if len(shape) != len(own) or shape[:dim] + shape[dim + 1:] != own[:dim] + own[dim + 1:]:
                raise ValueError(f"diff: {name} of shape {shape} must have the input's shape "
                                 f"{own} outside dim {dim}")
            pieces.append(extra)
        if n == 0:                  # as PyTorch: a copy of the input, prepend and append unused
            return self.clone()
        x = concat(pieces, dim) if len(pieces) > 1 else self
        for _ in range(n):
            length = x.shape[dim]
            if length == 0:
                break
            later, earlier = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
            x = later != earlier if x.array.dtype.kind == "b" else later - earlier
        return x

    def narrow(self, dim, start, length):
        """``length`` entries along ``dim`` from ``start``: a slice."""
        dim = check_dim("narrow", dim, self.ndim) % self.ndim
        size = self.shape[dim]
        start = builtins.int(start)
        start = start + size if -size <= start < 0 else start
        if not 0 <= start <= size or not 0 <= length <= size - start:
            raise IndexError(f"narrow: start {start} and length {length} do not fit dim {dim} of "
                             f"size {size}")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def split(self, split_size_or_sections, dim=0):
        return split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return chunk(self, chunks, dim)

    def unbind(self, dim=0):
        dim = check_dim("unbind", dim, self.ndim) % self.ndim
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

    def gather(self, dim, index):
        """``out[i][j] = self[index[i][j]][j]`` for dim 0 (likewise for other dims), as
        torch.gather; differentiable w.r.t. self."""
        dim = check_dim("gather", dim, self.ndim) % self.ndim
        index = int_index_tensor("gather", index, self)
        if index.ndim != self.ndim or builtins.any(
                n > m for d, (n, m) in enumerate(zip(index.shape, self.shape)) if d != dim):
            raise ValueError(f"gather: index of shape {tuple(index.shape)} does not fit input of "
                             f"shape {tuple(self.shape)} along dim {dim}")
        _check_bounds("gather", index, self.shape[dim], dim)
        return shape_ops.Gather(index, dim).apply(self)

    def scatter(self, dim, index, src=UNSET, *, value=UNSET, reduce=None):
        """A copy with ``src[i][j]`` written at ``[index[i][j]][j]`` for dim 0 (likewise for
        other dims), as ``torch.scatter``; ``src`` a tensor of this dtype (at least index's
        shape: the entries beyond it are not read) or a number ``value`` written at every
        index. Differentiable w.r.t. self (0 where written over) and src (where read)."""
        if reduce is not None:
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported; use "
                                      f"scatter_add for reduce='add'")
        if value is not UNSET:
            if src is not UNSET:
                raise TypeError("scatter: got both src and value; give one")
            src = value
        elif src is UNSET:
            raise TypeError("scatter: missing the src (a Tensor) or value (a number) argument")
        elif not isinstance(src, Tensor) and not _is_number(src):
            raise TypeError(f"scatter: src must be a Tensor or a number, got "
                            f"{type(src).__name__}")
        return self._scatter("scatter", shape_ops.Scatter, dim, index, src)

    def scatter_add(self, dim, index, src):
        """A copy with ``src[i][j]`` added at ``[index[i][j]][j]`` for dim 0 (likewise for
        other dims; repeated indices add up), as ``torch.scatter_add``. Differentiable w.r.t.
        self and src."""
        if not isinstance(src, Tensor):
            raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
        return self._scatter("scatter_add", shape_ops.ScatterAdd, dim, index, src)

    def _scatter(self, op, op_class, dim, index, src):
        """Check the arguments of scatter or scatter_add as PyTorch does (a 0-d tensor among
        self, index and src counts as 1-d) and apply ``op_class``."""
        index = _integer_array(op, "index", index, self)
        shape = tuple(self.shape) or (1,)
        dim = check_dim(op, dim, len(shape)) % len(shape)
        if not isinstance(src, Tensor):     # scatter's value: a src of index's shape
            if self.array.dtype.kind in "biu" and not math.isfinite(src):
                raise ValueError(f"{op}: value {src!r} cannot be converted to {self.dtype}")
            xp = device_of_type[type(self.array)].xp
            value = xp.asarray(src).astype(self.array.dtype)     # wraps or truncates, as PyTorch
            src = Tensor.from_array(xp.full(index.shape, value, dtype=self.array.dtype))
        if src.array.dtype != self.array.dtype:
            raise TypeError(f"{op}: src of dtype {src.dtype} for a tensor of dtype "
                            f"{self.dtype}; as in PyTorch they must be equal (convert one "
                            f"with .to(dtype))")
        if index.size == 0:
            return self.clone()
        index_shape, src_shape = tuple(index.shape) or (1,), tuple(src.shape) or (1,)
        if len(index_shape) != len(shape) or len(src_shape) != len(shape):
            raise ValueError(f"{op}: index of shape {tuple(index.shape)} and src of shape "
                             f"{tuple(src.shape)} need the dims of the tensor's shape "
                             f"{tuple(self.shape)}")
        if builtins.any(i > s or d != dim and i > n for d, (i, s, n)
                        in enumerate(zip(index_shape, src_shape, shape))):
            raise ValueError(f"{op}: index of shape {tuple(index.shape)} must be no larger "
                             f"than src {tuple(src.shape)}, nor, apart from dim {dim}, than "
                             f"the tensor's shape {tuple(self.shape)}")
        _check_bounds(op, index, shape[dim], dim)
        x = self if self.ndim else self.reshape(1)
        out = op_class(index.reshape(index_shape), dim).apply(x, src.reshape(src_shape))
        return out if self.ndim else out.reshape(())

    def index_add(self, dim, index, source, *, alpha=1):
        """A copy with ``alpha * source`` added along ``dim`` at the entries ``index`` picks:
        ``out[..., index[i], ...] += alpha * source[..., i, ...]`` (repeated indices add up),
        as ``torch.index_add``; ``source`` has this dtype, and this shape outside dim.
        Differentiable w.r.t. self and source."""
        index = _integer_array("index_add", "index", index, self)
        if not isinstance(source, Tensor):
            raise TypeError(f"index_add: source must be a Tensor, got {type(source).__name__}")
        if source.array.dtype != self.array.dtype:
            raise TypeError(f"index_add: source of dtype {source.dtype} for a tensor of dtype "
                            f"{self.dtype}; as in PyTorch they must be equal (convert one "
                            f"with .to(dtype))")
        if not _is_number(alpha):
            raise TypeError(f"index_add: alpha must be a number, got {type(alpha).__name__}")
        kind = self.array.dtype.kind        # alpha in the tensor's kind, as PyTorch takes it
        alpha = builtins.bool(alpha) if kind == "b" else builtins.int(alpha) if kind in "iu" \
            else builtins.float(alpha)
        shape, source_shape = tuple(self.shape) or (1,), tuple(source.shape) or (1,)
        dim = check_dim("index_add", dim, len(shape)) % len(shape)
        if index.ndim > 1:
            raise ValueError(f"index_add: index must be 0-d or 1-d, got shape "
                             f"{tuple(index.shape)}")
        if source.ndim != self.ndim or \
                source_shape[:dim] + source_shape[dim + 1:] != shape[:dim] + shape[dim + 1:]:
            raise ValueError(f"index_add: source of shape {tuple(source.shape)} must have the "
                             f"tensor's shape {tuple(self.shape)} apart from dim {dim}")
        if index.size != source_shape[dim]:
            raise ValueError(f"index_add: {index.size} indices for size {source_shape[dim]} "
                             f"of source's dim {dim}; they must be equal")
        _check_bounds("index_add", index, shape[dim], dim)
        x = self if self.ndim else self.reshape(1)
        out = shape_ops.IndexAdd(index.reshape(-1), dim, alpha).apply(
            x, source.reshape(source_shape))
        return out if self.ndim else out.reshape(())

    def nonzero(self, *, as_tuple=False):
        """The indices of the non-zero entries (NaN is one) in row-major order, as
        ``torch.nonzero``: an int64 tensor (count, ndim), or with ``as_tuple`` one 1-d int64
        tensor per dim (a 0-d tensor counts as 1-d there). No gradient."""
        xp = device_of_type[type(self.array)].xp
        if as_tuple:
            array = self.array if self.ndim else self.array.reshape(1)
            return tuple(Tensor.from_array(i.astype(xp.int64, copy=False))
                         for i in xp.nonzero(array))
        if self.ndim == 0:          # NumPy refuses nonzero of a 0-d array
            return Tensor.from_array(xp.zeros((builtins.int(self.array != 0), 0), xp.int64))
        return Tensor.from_array(xp.stack(xp.nonzero(self.array), axis=1)
                                 .astype(xp.int64, copy=False))

    def index_select(self, dim, index):
        """The entries at the 1-D integer ``index`` along ``dim``."""
        dim = check_dim("index_select", dim, self.ndim) % self.ndim
        index = int_index_tensor("index_select", index, self)
        if index.ndim > 1:
            raise ValueError(f"index_select: index must be 1-D, got shape {tuple(index.shape)}")
        _check_bounds("index_select", index, self.shape[dim], dim)
        return self[(slice(None),) * dim + (index.reshape(-1),)]

    def index_fill(self, dim, index, value):
        """A copy with ``value`` at the positions ``index`` (1-D integers) along ``dim``, as
        ``torch.index_fill``; differentiable w.r.t. self (0 where filled)."""
        dim = check_dim("index_fill", dim, self.ndim) % self.ndim
        index = int_index_tensor("index_fill", index, self)
        if index.ndim > 1:
            raise ValueError(f"index_fill: index must be 1-D, got shape {tuple(index.shape)}")
        _check_bounds("index_fill", index, self.shape[dim], dim)
        xp = device_of_type[type(self.array)].xp
        filled = xp.zeros(self.shape[dim], dtype=bool)
        filled[index.reshape(-1)] = True
        along = [1] * self.ndim
        along[dim] = self.shape[dim]
        return self.masked_fill(Tensor.from_array(filled.reshape(along)), value)

    def unfold(self, dimension, size, step):
        """Every window of ``size`` entries along ``dimension``, ``step`` apart, as a new last
        dim (the windows' count replacing the dim), as ``torch.Tensor.unfold``; differentiable."""
        dim = check_dim("unfold", dimension, self.ndim) % self.ndim
        length = self.shape[dim]
        if not isinstance(size, int) or not 0 <= size <= length:
            raise ValueError(f"unfold: size must be an int in [0, {length}] (the size of dim "
                             f"{dim} of shape {tuple(self.shape)}), got {size!r}")
        if not isinstance(step, int) or step < 1:
            raise ValueError(f"unfold: step must be a positive int, got {step!r}")
        count = (length - size) // step + 1
        positions = numpy.arange(count)[:, None] * step + numpy.arange(size)   # (count, size)
        return self.movedim(dim, -1)[..., positions].movedim(-2, dim)

    def stride(self, dim=None):
        """Elements (not bytes) between neighbours along each dim, as ``t.stride``."""
        strides = tuple(step // self.array.itemsize for step in self.array.strides)
        return strides if dim is None else strides[check_dim("stride", dim, self.ndim)]

    def flip(self, *dims_given, dims=UNSET):
        """A copy with the entries in reverse order along each of ``dims`` (ints, or one tuple
        or list of them; ``dims=`` a tuple or list)."""
        if dims is not UNSET:
            if dims_given or not isinstance(dims, (tuple, list)):
                raise TypeError(f"flip: dims= must be a tuple or list of ints given alone, got "
                                f"{dims!r}")
            dims_given = (dims,)
        if not dims_given:          # as PyTorch: dims has no default
            raise TypeError('flip() missing 1 required positional arguments: "dims"')
        dims = dims_given
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        axes = reduced_dims("flip", dims, self.ndim) if dims else ()
        return shape_ops.Flip(axes).apply(self)

    def roll(self, shifts, dims=None):
        """The entries moved ``shifts`` places along ``dims`` (an int each, or tuples of one
        length), those pushed off one end coming back at the other; without dims, those of
        the flattened tensor, which keeps its shape."""
        shift_list = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        dim_list = () if dims is None else tuple(dims) if isinstance(dims, (tuple, list)) \
            else (dims,)
        for shift in shift_list:
            if not isinstance(shift, (builtins.int, numpy.integer)) or \
                    isinstance(shift, builtins.bool):
                raise TypeError(f"roll: shifts must be ints, got {shifts!r}")
        if not shift_list or len(shift_list) != (len(dim_list) if dims is not None else 1):
            raise ValueError(f"roll: shifts and dims must align, got shifts {shifts!r} and dims "
                             f"{dims!r} (without dims, one shift)")
        shift_list = tuple(builtins.int(shift) for shift in shift_list)
        if dims is None:
            return shape_ops.Roll(shift_list, None).apply(self)
        axes = tuple(check_dim("roll", d, self.ndim) % self.ndim for d in dim_list)
        return shape_ops.Roll(shift_list, axes).apply(self)

    def tril(self, diagonal=0):
        """The lower triangle of the last two dims: 0 above diagonal ``diagonal`` (0 the main
        one, 1 the one above it, -1 the one below)."""
        return self._triangle(shape_ops.Tril, "tril", diagonal)

    def triu(self, diagonal=0):
        """The upper triangle of the last two dims: 0 below diagonal ``diagonal``."""
        return self._triangle(shape_ops.Triu, "triu", diagonal)

    def _triangle(self, op_class, op, diagonal):
        if self.ndim < 2:
            raise ValueError(f"{op}: needs a tensor with at least 2 dimensions, got shape "
                             f"{tuple(self.shape)}")
        if not isinstance(diagonal, (builtins.int, numpy.integer)) or \
                isinstance(diagonal, builtins.bool):
            raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}")
        return op_class(builtins.int(diagonal)).apply(self)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return multinomial(self, num_samples, replacement, generator=generator)

    def __getitem__(self, index):
        if self.array.ndim == 0 and isinstance(index, (builtins.int, numpy.integer)):
            # old scripts' loss.data[0], from before losses were 0-d
            raise IndexError("getitem: invalid index of a 0-dim tensor. Use `tensor.item()` in "
                             "Python to convert a 0-dim tensor to a number")
        index, advanced = index_arg(index, device_of_type[type(self.array)])
        return shape_ops.GetItem(index, advanced).apply(self)


def _sizes(op, name, sizes):
    """``sizes`` (ints, or one tuple, list or Size of them) as a tuple of ints."""
    try:
        return shape_arg(sizes)
    except TypeError:
        raise TypeError(f"{op}: {name} must be ints, got {sizes!r}") from None


def _is_number(value):
    return isinstance(value, (builtins.int, builtins.float, builtins.bool, numpy.number,
                              numpy.bool_)) and not isinstance(value, numpy.complexfloating)


def _integer_array(op, name, value, like):
    """The array of ``value``, a Tensor of dtype int64 or int32 (as PyTorch's index
    arguments) on like's device."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if value.array.dtype not in (numpy.int64, numpy.int32):
        raise TypeError(f"{op}: {name} must be an int64 or int32 tensor, as in PyTorch, got "
                        f"dtype {value.dtype}")
    return int_index_tensor(op, value, like)


def _check_bounds(op, index, size, dim):
    """Refuse an index outside [0, size), as PyTorch's gather, index_select, scatter and
    index_add do (negative indices too)."""
    if index.size:
        low, high = builtins.int(index.min()), builtins.int(index.max())
        if low < 0 or high >= size:
            raise IndexError(f"{op}: index {low if low < 0 else high} is out of bounds for "
                             f"dimension {dim} with size {size}")


attach_methods(ShapeMethods)

"""The Tensor's shape methods (``reshape``, ``view``, ``transpose``, ``permute``, indexing,
``gather``, ...): views and rearrangements of the same elements.

Tensor gets these methods from ``attach_methods`` when tinyseq is imported."""
import builtins
import math

import numpy

from .backend import device_of_type
from .dtypes import shape_arg
from .ops import shape as shape_ops
from .tensor import (UNSET, attach_methods, axes_arg, check_dim, check_index_range, chunk,
                     index_arg, int_index_tensor, multinomial, pytorch_or_numpy_arg,
                     reduced_dims, split)


class ShapeMethods:
    """Tensor's shape methods, put on Tensor by attach_methods."""

    def dim(self):
        return self.array.ndim

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
        sizes = shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes {sizes} are fewer than the dims of shape "
                             f"{tuple(self.shape)}")
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
        check_index_range("gather", index, self.shape[dim])
        return shape_ops.Gather(index, dim).apply(self)

    def index_select(self, dim, index):
        """The entries at the 1-D integer ``index`` along ``dim``."""
        dim = check_dim("index_select", dim, self.ndim) % self.ndim
        index = int_index_tensor("index_select", index, self)
        if index.ndim > 1:
            raise ValueError(f"index_select: index must be 1-D, got shape {tuple(index.shape)}")
        check_index_range("index_select", index, self.shape[dim])
        return self[(slice(None),) * dim + (index.reshape(-1),)]

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

    def multinomial(self, num_samples, replacement=False):
        return multinomial(self, num_samples, replacement)

    def __getitem__(self, index):
        if self.array.ndim == 0 and isinstance(index, (builtins.int, numpy.integer)):
            # old scripts' loss.data[0], from before losses were 0-d
            raise IndexError("getitem: invalid index of a 0-dim tensor. Use `tensor.item()` in "
                             "Python to convert a 0-dim tensor to a number")
        index, advanced = index_arg(index, device_of_type[type(self.array)])
        return shape_ops.GetItem(index, advanced).apply(self)


attach_methods(ShapeMethods)

"""The Tensor's diagonals and matrix products beyond matmul (``diag``, ``diagonal``,
``trace``, ``diag_embed``, ``kron``, ``cross``, ``addmm``, ``baddbmm``, ``addbmm``) and the
functions ``tril_indices``, ``triu_indices``, ``cdist`` and ``chain_matmul``, as PyTorch's.
Each is composed of differentiable ops (indexing, ``where``, products, sums), so its gradient
is theirs.

Tensor gets the methods from ``attach_methods`` when tinyseq is imported."""
import builtins
import warnings

import numpy

from .tensor import (Tensor, attach_methods, check_dim, expect_tensor, function_form, matmul,
                     on_device_of, where)


class LinalgMethods:
    """Tensor's diagonal and matrix-product methods, put on Tensor by attach_methods."""

    def diag(self, diagonal=0):
        """As ``torch.diag``: of a 1-d tensor the square matrix with it on diagonal
        ``diagonal`` (0 the main one, 1 above it, -1 below it) and 0 elsewhere; of a matrix
        that diagonal, as a 1-d tensor."""
        _int_arg("diag", "diagonal", diagonal)
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise ValueError(f"diag: expects a 1-d or 2-d tensor, got shape {tuple(self.shape)}")

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The diagonal ``offset`` of the planes of dims ``dim1`` and ``dim2``, as a last dim
        in place of those two, as ``torch.diagonal``."""
        _int_arg("diagonal", "offset", offset)
        first = check_dim("diagonal", dim1, self.ndim) % self.ndim
        second = check_dim("diagonal", dim2, self.ndim) % self.ndim
        if first == second:
            raise ValueError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2} for "
                             f"shape {tuple(self.shape)}")
        rest = [d for d in range(self.ndim) if d not in (first, second)]
        planes = self.permute(*rest, first, second)
        rows, cols = planes.shape[-2], planes.shape[-1]
        start_row, start_col = builtins.max(-offset, 0), builtins.max(offset, 0)
        length = builtins.max(builtins.min(rows - start_row, cols - start_col), 0)
        steps = numpy.arange(length)
        return planes[..., steps + start_row, steps + start_col]

    def trace(self):
        """The sum of a matrix's main diagonal, as ``torch.trace``; integers give int64."""
        if self.ndim != 2:
            raise ValueError(f"trace: expects a matrix, got shape {tuple(self.shape)}")
        return self.diagonal().sum(dtype=numpy.int64 if self.array.dtype.kind in "biu"
                                   else None)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """A tensor of one more dim whose planes of ``dim1`` and ``dim2`` hold this tensor's
        last dim on diagonal ``offset`` and 0 elsewhere, as ``torch.diag_embed``."""
        _int_arg("diag_embed", "offset", offset)
        ndim = self.ndim + 1
        first = check_dim("diag_embed", dim1, ndim) % ndim
        second = check_dim("diag_embed", dim2, ndim) % ndim
        if first == second:
            raise ValueError(f"diag_embed: dim1 and dim2 must differ, got {dim1} and {dim2} "
                             f"for {ndim} dims")
        x = self if self.ndim else self.reshape(1)
        length = x.shape[-1]
        size = length + builtins.abs(offset)
        rows, cols = numpy.arange(size)[:, None], numpy.arange(size)[None, :]
        on_diagonal = cols - rows == offset
        # the entry of x each place of the plane would hold: its row above the main
        # diagonal, its column below it
        source = numpy.clip(rows if offset >= 0 else cols, 0, builtins.max(length - 1, 0))
        source = numpy.broadcast_to(source, (size, size))
        if length == 0:
            planes = x.reshape(x.shape[:-1] + (1, 1)).expand(x.shape[:-1] + (size, size))
        else:
            planes = where(on_device_of(x, on_diagonal), x[..., source],
                           on_device_of(x, numpy.zeros((), x.array.dtype)))
        order = [0] * ndim
        others = iter(range(ndim - 2))
        for d in range(ndim):
            order[d] = ndim - 2 if d == first else ndim - 1 if d == second else next(others)
        return planes.permute(*order)

    def kron(self, other):
        """The Kronecker product, as ``torch.kron``: block (i, j, ...) is ``self[i, j, ...] *
        other``; the fewer dims take leading 1s."""
        expect_tensor("kron", other)
        ndim = builtins.max(self.ndim, other.ndim)
        a = self.reshape((1,) * (ndim - self.ndim) + tuple(self.shape))
        b = other.reshape((1,) * (ndim - other.ndim) + tuple(other.shape))
        spread_a = a.reshape(tuple(n for size in a.shape for n in (size, 1)))
        spread_b = b.reshape(tuple(n for size in b.shape for n in (1, size)))
        return (spread_a * spread_b).reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))

    def cross(self, other, dim=None):
        """The cross product along ``dim`` (of size 3) of the broadcast tensors, as
        ``torch.cross``; without dim, along the first dim of size 3, with PyTorch's
        deprecation warning."""
        expect_tensor("cross", other)
        if self.ndim != other.ndim:
            raise ValueError(f"cross: inputs must have the same number of dims, got shapes "
                             f"{tuple(self.shape)} and {tuple(other.shape)}")
        try:
            shape = numpy.broadcast_shapes(tuple(self.shape), tuple(other.shape))
        except ValueError:
            raise ValueError(f"cross: shapes {tuple(self.shape)} and {tuple(other.shape)} do "
                             f"not broadcast") from None
        if dim is None:
            warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                          "Please either pass the dim explicitly or simply use "
                          "torch.linalg.cross.\nThe default value of dim will change to agree "
                          "with that of linalg.cross in a future release.", UserWarning,
                          stacklevel=2)
            if 3 not in shape:
                raise ValueError(f"cross: no dimension of size 3 in shapes "
                                 f"{tuple(self.shape)} and {tuple(other.shape)}")
            dim = shape.index(3)
        dim = check_dim("cross", dim, len(shape)) % len(shape)
        if shape[dim] != 3:
            raise ValueError(f"cross: dim {dim} must have size 3, got broadcast shape {shape}")
        a, b = self.expand(shape), other.expand(shape)
        lead = (slice(None),) * dim
        after, before = (lead + (numpy.array([1, 2, 0]),), lead + (numpy.array([2, 0, 1]),))
        return a[after] * b[before] - a[before] * b[after]

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat1 @ mat2)`` for matrices, as ``torch.addmm`` (self
        ignored, NaNs too, when beta is 0)."""
        _matrices("addmm", 2, mat1, mat2)
        return _scaled_sum("addmm", self, matmul(mat1, mat2), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * (batch1 @ batch2)`` for batches of matrices, as
        ``torch.baddbmm``."""
        _matrices("baddbmm", 3, batch1, batch2)
        return _scaled_sum("baddbmm", self, matmul(batch1, batch2), beta, alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * (the sum over the batch of batch1[i] @ batch2[i])``, as
        ``torch.addbmm``."""
        _matrices("addbmm", 3, batch1, batch2)
        return _scaled_sum("addbmm", self, matmul(batch1, batch2).sum(0), beta, alpha)


def _int_arg(op, name, value):
    if not isinstance(value, (builtins.int, numpy.integer)) or isinstance(value, builtins.bool):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")


def _matrices(op, ndim, first, second):
    """Refuse operands that are not ``ndim``-d tensors whose product is defined."""
    for t in (first, second):
        expect_tensor(op, t)
    shapes = (tuple(first.shape), tuple(second.shape))
    if first.ndim != ndim or second.ndim != ndim or first.shape[-1] != second.shape[-2] or \
            ndim == 3 and first.shape[0] != second.shape[0]:
        kind = "matrices (n, m) and (m, p)" if ndim == 2 else "batches (b, n, m) and (b, m, p)"
        raise ValueError(f"{op}: expects {kind}, got {shapes[0]} and {shapes[1]}")


def _scaled_sum(op, input, product, beta, alpha):
    expect_tensor(op, input)
    try:
        fits = numpy.broadcast_shapes(tuple(input.shape), tuple(product.shape)) == \
            tuple(product.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} does not broadcast to "
                         f"the product's shape {tuple(product.shape)}")
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:           # as PyTorch: input is not read, so its NaNs do not spread
        return scaled
    return scaled + (input if beta == 1 else input * beta)


def tril_indices(row, col, offset=0, *, dtype=numpy.int64, device="cpu"):
    """The (2, N) indices (rows, then columns, in row-major order) of the lower triangle of
    a row x col matrix, on and below diagonal ``offset``, as ``torch.tril_indices``."""
    return _triangle_indices("tril_indices", numpy.tril_indices, row, col, offset, dtype,
                             device)


def triu_indices(row, col, offset=0, *, dtype=numpy.int64, device="cpu"):
    """As ``tril_indices``, for the upper triangle: on and above diagonal ``offset``."""
    return _triangle_indices("triu_indices", numpy.triu_indices, row, col, offset, dtype,
                             device)


def _triangle_indices(op, numpy_indices, row, col, offset, dtype, device):
    for name, value in (("row", row), ("col", col), ("offset", offset)):
        _int_arg(op, name, value)
    if row < 0 or col < 0:
        raise ValueError(f"{op}: row and col must be non-negative, got {row} and {col}")
    rows, cols = numpy_indices(row, offset, col)
    indices = Tensor.from_array(numpy.stack([rows, cols]).astype(numpy.int64).reshape(2, -1))
    return indices.to(device=device, dtype=dtype)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distances between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M), as ``torch.cdist``: shape (..., P, R). ``compute_mode`` is accepted; the
    distances are always computed directly."""
    expect_tensor("cdist", x1)
    expect_tensor("cdist", x2)
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: expects x1 (..., P, M) and x2 (..., R, M) with one M, got "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    if not isinstance(p, (builtins.int, builtins.float)) or p < 0:
        raise ValueError(f"cdist: p must be a non-negative number, got {p!r}")
    differences = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return differences.norm(p, dim=-1)


def chain_matmul(*matrices):
    """The product of the matrices, left to right, as the deprecated ``torch.chain_matmul``
    (with its warning)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two "
                  "or more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise ValueError("chain_matmul: expects one matrix or more, got none")
    for t in matrices:
        if expect_tensor("chain_matmul", t).ndim != 2:
            raise ValueError(f"chain_matmul: expects matrices, got shapes "
                             f"{[tuple(m.shape) for m in matrices]}")
    product = matrices[0]
    for t in matrices[1:]:
        if product.shape[1] != t.shape[0]:
            raise ValueError(f"chain_matmul: shapes {[tuple(m.shape) for m in matrices]} do "
                             f"not chain")
        product = matmul(product, t)
    return product.clone() if len(matrices) == 1 else product


attach_methods(LinalgMethods)

# ts.trace is the module tinyseq.trace, which, called on a tensor, is its trace
diag, diagonal, diag_embed, kron, cross, addmm, baddbmm, addbmm = (
    function_form(m) for m in ("diag", "diagonal", "diag_embed", "kron", "cross", "addmm",
                               "baddbmm", "addbmm"))

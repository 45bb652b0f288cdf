"""Reductions (median, kthvalue, mode, quantile, nansum, cummax, logcumsumexp, ...), linear
algebra (diag, diagonal, kron, cross, cdist, addmm, ...) and indexing (tensor_split, take,
index_copy, masked_scatter, searchsorted, bincount, ...) against PyTorch, where it is
installed, and against known values and finite differences without it."""
import warnings

import numpy as np
import pytest

import tinyseq as ts
from gradcheck import assert_close, gradcheck
from test_device_standin import StandinArray, standin  # noqa: F401  (the stand-in device)

NAN = float("nan")
_rng = np.random.default_rng(7)


def leaf(*shape):
    return ts.tensor(_rng.standard_normal(shape), dtype=ts.float64, requires_grad=True)


def both(array, requires_grad=False):
    """The same values as a tinyseq tensor and a torch tensor."""
    torch = pytest.importorskip("torch")
    return (ts.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def same(ours, theirs, atol=1e-6, rtol=1e-5):
    """Values, shape and dtype agree (named tuples field by field)."""
    if isinstance(theirs, tuple):
        assert len(ours) == len(theirs)
        if hasattr(theirs, "_fields"):
            assert tuple(ours._fields) == tuple(theirs._fields)
        for a, b in zip(ours, theirs):
            same(a, b, atol, rtol)
        return
    expected = theirs.detach().numpy()
    assert tuple(ours.shape) == expected.shape
    assert ours.numpy().dtype == expected.dtype
    np.testing.assert_allclose(ours.numpy(), expected, atol=atol, rtol=rtol, equal_nan=True)


def same_grad(fn, array, weights_seed=0):
    """fn's gradient w.r.t. its one input agrees with torch's, for a random weighting."""
    torch = pytest.importorskip("torch")
    ours, theirs = both(np.asarray(array, dtype=np.float64), requires_grad=True)
    out_ours, out_theirs = fn(ours, ts), fn(theirs, torch)
    weight = np.random.default_rng(weights_seed).standard_normal(tuple(out_theirs.shape))
    (out_ours * ts.tensor(weight)).sum().backward()
    (out_theirs * torch.tensor(weight)).sum().backward()
    assert_close(ours.grad, theirs.grad.numpy())


TIES = [[1., 3, 3, 1, 2, 2], [5, 5, 5, 1, 1, 1]]


# --- values without PyTorch -------------------------------------------------------------------
def test_median_takes_the_lower_middle_and_returns_a_named_tuple():
    x = ts.tensor([[4., 1, 3, 2], [9, 7, 8, 6]])
    assert ts.median(x).item() == 4.0          # the lower of 4 and 6 among the 8
    result = x.median(1)
    assert result._fields == ("values", "indices")
    assert result.values.tolist() == [2.0, 7.0]
    assert result.indices.tolist() == [3, 1]
    assert x.median(-1, keepdim=True).values.shape == (2, 1)
    assert ts.tensor([3, 1, 2]).median().item() == 2   # integers too


def test_median_is_nan_where_a_line_holds_nan_and_nanmedian_skips_it():
    x = ts.tensor([[1., NAN, 2, NAN], [NAN, NAN, NAN, NAN], [3., 1, 2, 5]])
    median = x.median(1)
    assert np.isnan(median.values[0].item()) and median.indices[0].item() == 1
    nanmedian = x.nanmedian(1)
    assert nanmedian.values[0].item() == 1.0 and nanmedian.indices[0].item() == 0
    assert np.isnan(nanmedian.values[1].item()) and nanmedian.indices[1].item() == 0
    assert nanmedian.values[2].item() == 2.0 and nanmedian.indices[2].item() == 2
    assert np.isnan(ts.median(ts.tensor([]).float()).item())


def test_kthvalue_mode_and_running_extremes_with_ties():
    x = ts.tensor(TIES)
    kth = x.kthvalue(3, 1)
    assert kth.values.tolist() == [2.0, 1.0] and kth.indices.tolist() == [4, 5]
    mode = ts.mode(x)
    assert mode.values.tolist() == [1.0, 1.0] and mode.indices.tolist() == [3, 5]
    running = ts.cummax(ts.tensor([1., 3, 3, NAN, 2, NAN, 5]), 0)
    assert running.indices.tolist() == [0, 1, 2, 3, 3, 5, 5]
    assert running.values[:3].tolist() == [1.0, 3.0, 3.0]
    assert np.isnan(running.values[3:].numpy()).all()
    smallest = ts.tensor([3, 1, 1, 2, 0]).cummin(0)
    assert smallest.values.tolist() == [3, 1, 1, 1, 0]
    assert smallest.indices.tolist() == [0, 1, 2, 2, 4]


def test_quantile_interpolations():
    x = ts.tensor([0., 1, 2, 3, 4])
    q = ts.tensor([0.125, 0.375])
    assert x.quantile(q).tolist() == [0.5, 1.5]
    assert x.quantile(q, interpolation="lower").tolist() == [0.0, 1.0]
    assert x.quantile(q, interpolation="higher").tolist() == [1.0, 2.0]
    assert x.quantile(q, interpolation="midpoint").tolist() == [0.5, 1.5]
    assert x.quantile(q, interpolation="nearest").tolist() == [0.0, 2.0]   # half to even
    grid = ts.tensor([[1., 2, NAN], [4, 5, 6]])
    assert np.isnan(grid.quantile(0.5, dim=1)[0].item())
    assert grid.nanquantile(0.5, dim=1).tolist() == [1.5, 5.0]
    assert grid.nanquantile(q, dim=1, keepdim=True).shape == (2, 2, 1)


def test_nansum_nanmean_var_mean_and_aminmax():
    x = ts.tensor([[1., NAN, 3], [NAN, NAN, NAN]])
    assert x.nansum().item() == 4.0
    assert x.nansum(1).tolist() == [4.0, 0.0]
    means = x.nanmean(1)
    assert means[0].item() == 2.0 and np.isnan(means[1].item())
    y = ts.tensor([[1., 2, 3, 6]])
    var, mean = ts.var_mean(y, 1)
    assert var.tolist() == [pytest.approx(14 / 3)] and mean.tolist() == [3.0]
    std, mean = ts.std_mean(y, 1, correction=0, keepdim=True)
    assert std.tolist() == [[pytest.approx(3.5 ** 0.5)]] and mean.shape == (1, 1)
    extremes = ts.aminmax(ts.tensor([[3, 1], [2, 7]]), dim=0)
    assert extremes._fields == ("min", "max")
    assert extremes.min.tolist() == [2, 1] and extremes.max.tolist() == [3, 7]


def test_logcumsumexp_does_not_overflow_or_underflow():
    x = ts.tensor([-1000., 0, 1000])
    assert ts.logcumsumexp(x, 0).tolist() == [-1000.0, 0.0, 1000.0]
    assert_close(ts.tensor([0., 0]).logcumsumexp(0), [0.0, np.log(2)])


def test_linear_algebra_values():
    m = ts.tensor([[1, 2, 3], [4, 5, 6]])
    assert ts.diag(m, 1).tolist() == [2, 6]
    assert ts.diag(ts.tensor([1, 2]), -1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert ts.trace(m).item() == 6 and m.trace().dtype == ts.int64
    assert ts.diagonal(ts.arange(8).reshape(2, 2, 2), 0, 1, 2).tolist() == [[0, 3], [4, 7]]
    assert ts.diag_embed(ts.tensor([[1, 2]])).tolist() == [[[1, 0], [0, 2]]]
    assert ts.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert ts.triu_indices(2, 3, 1).tolist() == [[0, 0, 1], [1, 2, 2]]
    assert ts.kron(ts.tensor([1, 2]), ts.tensor([1, 10])).tolist() == [1, 10, 2, 20]
    assert ts.cross(ts.tensor([1., 0, 0]), ts.tensor([0., 1, 0]), dim=0).tolist() == \
        [0.0, 0.0, 1.0]
    assert_close(ts.cdist(ts.tensor([[0., 0]]), ts.tensor([[3., 4], [1, 0]])), [[5.0, 1.0]])
    assert ts.addmm(ts.ones(2, 2), ts.eye(2), ts.eye(2), beta=2, alpha=3).tolist() == \
        [[5.0, 2.0], [2.0, 5.0]]
    nan_input = ts.full((2, 2), NAN)
    assert ts.addmm(nan_input, ts.eye(2), ts.eye(2), beta=0).tolist() == \
        [[1.0, 0.0], [0.0, 1.0]]


def test_indexing_values():
    x = ts.arange(7)
    assert [p.tolist() for p in ts.tensor_split(x, 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [p.tolist() for p in x.tensor_split([5, 2])] == [[0, 1, 2, 3, 4], [], [2, 3, 4, 5, 6]]
    assert ts.take(x.reshape(1, 7), ts.tensor([[-1, 0]])).tolist() == [[6, 0]]
    assert ts.rot90(ts.tensor([[1, 2], [3, 4]])).tolist() == [[2, 4], [1, 3]]
    assert ts.atleast_3d(ts.tensor([1, 2])).shape == (1, 2, 1)
    assert isinstance(ts.atleast_1d(ts.tensor(1), ts.tensor(2)), tuple)
    assert ts.block_diag(ts.tensor([[1]]), ts.tensor([2, 3])).tolist() == [[1, 0, 0],
                                                                            [0, 2, 3]]
    assert ts.cartesian_prod(ts.tensor([1, 2]), ts.tensor([5, 6])).tolist() == \
        [[1, 5], [1, 6], [2, 5], [2, 6]]
    copied = ts.zeros(4).index_copy(0, ts.tensor([3, 0]), ts.tensor([7., 8]))
    assert copied.tolist() == [8.0, 0.0, 0.0, 7.0]
    scattered = ts.zeros(2, 2).masked_scatter(ts.tensor([[True, False], [True, True]]),
                                              ts.tensor([1., 2, 3, 4]))
    assert scattered.tolist() == [[1.0, 0.0], [2.0, 3.0]]
    assert ts.select(ts.tensor([[1, 2], [3, 4]]), 1, -1).tolist() == [2, 4]
    assert ts.searchsorted(ts.tensor([1, 3, 5]), ts.tensor([3, 6])).tolist() == [1, 3]
    assert ts.searchsorted(ts.tensor([1, 3, 5]), 3, right=True).item() == 2
    assert ts.bucketize(ts.tensor([1, 4]), ts.tensor([1, 3, 5])).tolist() == [0, 2]
    assert ts.bincount(ts.tensor([1, 1, 3]), minlength=5).tolist() == [0, 2, 0, 1, 0]
    values, inverse, counts = ts.unique_consecutive(ts.tensor([1, 1, 2, 1]),
                                                    return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 1] and inverse.tolist() == [0, 0, 1, 2]
    assert counts.tolist() == [2, 1, 1]


def test_in_place_index_copy_and_masked_scatter():
    x = ts.zeros(3)
    assert x.index_copy_(0, ts.tensor([1]), ts.tensor([5.])) is x
    assert x.tolist() == [0.0, 5.0, 0.0]
    x.masked_scatter_(ts.tensor([True, False, True]), ts.tensor([1., 2]))
    assert x.tolist() == [1.0, 5.0, 2.0]


# --- gradients by finite differences (no PyTorch needed) -----------------------------------
@pytest.mark.parametrize("name, fn, shape", [
    ("median", lambda x: x.median(1).values, (3, 5)),
    ("median all", lambda x: x.median(), (3, 4)),
    ("nanmedian", lambda x: x.nanmedian(0, keepdim=True).values, (4, 3)),
    ("kthvalue", lambda x: x.kthvalue(2, -1).values, (3, 4)),
    ("mode", lambda x: x.mode(0).values, (3, 4)),
    ("cummax", lambda x: x.cummax(1).values, (2, 5)),
    ("cummin", lambda x: x.cummin(0).values, (4, 2)),
    ("logcumsumexp", lambda x: x.logcumsumexp(-1), (3, 4)),
    ("quantile", lambda x: x.quantile(ts.tensor([0.3, 0.9], dtype=ts.float64), dim=1), (2, 6)),
    ("nanquantile", lambda x: x.nanquantile(0.4, interpolation="midpoint"), (3, 3)),
    ("nansum", lambda x: x.nansum(0), (3, 2)),
    ("nanmean", lambda x: x.nanmean(1, keepdim=True), (3, 2)),
    ("var_mean", lambda x: ts.stack(ts.var_mean(x, 1)), (2, 4)),
    ("std_mean", lambda x: ts.stack(ts.std_mean(x, 0, correction=0)), (3, 2)),
    ("aminmax", lambda x: ts.stack(list(x.aminmax(dim=1))), (3, 4)),
    ("diag", lambda x: ts.diag(x, -1), (4, 3)),
    ("diag of a vector", lambda x: ts.diag(x[0], 1), (1, 3)),
    ("diagonal", lambda x: x.diagonal(1, 0, 2), (3, 2, 4)),
    ("trace", lambda x: ts.trace(x), (3, 3)),
    ("diag_embed", lambda x: x.diag_embed(-1, 0, 2), (2, 3)),
    ("kron", lambda x: ts.kron(x, x[:2]), (3, 2)),
    ("cross", lambda x: ts.cross(x, x.flip(0), dim=1), (4, 3)),
    ("cdist", lambda x: ts.cdist(x[:2], x[2:]), (5, 3)),
    ("cdist p=1", lambda x: ts.cdist(x[:2], x[2:], p=1.0), (5, 3)),
    ("addmm", lambda x: ts.addmm(x[0], x, x.t(), beta=0.5, alpha=2), (3, 3)),
    ("baddbmm", lambda x: ts.baddbmm(x[0], x, x.transpose(1, 2), alpha=3), (2, 3, 3)),
    ("addbmm", lambda x: ts.addbmm(x[0], x, x.transpose(1, 2), beta=2), (2, 3, 3)),
    ("take_along_dim", lambda x: ts.take_along_dim(x, ts.tensor([[2], [0], [1]]), 1), (3, 3)),
    ("take", lambda x: ts.take(x, ts.tensor([[0, -1], [4, 4]])), (2, 3)),
    ("tensor_split", lambda x: ts.cat(ts.tensor_split(x, 2, 1)[::-1], 1), (2, 5)),
    ("rot90", lambda x: ts.rot90(x, 3, (1, 0)), (2, 3)),
    ("block_diag", lambda x: ts.block_diag(x, x[0]), (2, 2)),
    ("column_stack", lambda x: ts.column_stack([x[:, 0], x]), (3, 2)),
    ("dstack", lambda x: ts.dstack([x, x * 2]), (2, 3)),
    ("index_copy", lambda x: x[:, :3].index_copy(1, ts.tensor([2, 0]), x[:, 3:]), (2, 5)),
    ("masked_scatter", lambda x: x[0].masked_scatter(ts.tensor([True, False, True]), x[1]),
     (2, 3)),
    ("select", lambda x: ts.select(x, 1, -1), (2, 3)),
    ("cartesian_prod", lambda x: ts.cartesian_prod(x[0], x[1]), (2, 3)),
])
def test_gradients_match_finite_differences(name, fn, shape):
    assert gradcheck(fn, [leaf(*shape)])


def test_median_of_all_entries_shares_its_gradient_among_ties_as_pytorch():
    x = ts.tensor([1., 2, 2, 3, float("inf")], requires_grad=True)
    x.median().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0, 0.0]
    y = ts.tensor([1., NAN, 2, NAN], requires_grad=True)
    y.median().backward()
    assert y.grad.tolist() == [0.0, 0.5, 0.0, 0.5]
    z = ts.tensor([[1., 2, 2, 2, 3]], requires_grad=True)
    z.nanmedian(1).values.sum().backward()
    assert z.grad.tolist() == [[0.0, 0.0, 1.0, 0.0, 0.0]]     # with dim: the index picked


def test_chain_matmul_gradient_and_its_warning():
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        gradcheck(lambda x: ts.chain_matmul(x, x.t(), x), [leaf(2, 3)])


def test_integer_results_carry_no_gradient():
    x = leaf(3, 4)
    assert not x.median(1).indices.requires_grad
    assert not ts.searchsorted(x.detach()[0].sort().values, x.detach()).requires_grad
    assert x.cummax(0).values.requires_grad and not x.cummax(0).indices.requires_grad


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, words", [
    (lambda: ts.ones(2, 0).median(1), ValueError, "median: cannot reduce dim 1 of size 0"),
    (lambda: ts.ones(2, 3).median(2), ValueError, "median: axis 2 is out of range"),
    (lambda: ts.ones(2, 3).kthvalue(4, 1), ValueError, "kthvalue: k must be an int in [1, 3]"),
    (lambda: ts.ones(2, 3).kthvalue(0), ValueError, "kthvalue: k must be"),
    (lambda: ts.ones(3).quantile(1.5), ValueError, "quantile: q values must be in the range"),
    (lambda: ts.tensor([1, 2]).quantile(0.5), TypeError, "quantile: expects a floating"),
    (lambda: ts.ones(3).quantile(0.5, interpolation="cubic"), ValueError,
     "quantile: interpolation must be"),
    (lambda: ts.tensor([1, 2]).nanmean(), TypeError, "nanmean: expects a floating"),
    (lambda: ts.ones(0).aminmax(), ValueError, "aminmax: cannot reduce an empty dim"),
    (lambda: ts.ones(2, 2, 2).diag(), ValueError, "diag: expects a 1-d or 2-d tensor"),
    (lambda: ts.ones(2, 3).diagonal(0, 1, -1), ValueError, "diagonal: dim1 and dim2 must differ"),
    (lambda: ts.ones(3).trace(), ValueError, "trace: expects a matrix, got shape (3,)"),
    (lambda: ts.cross(ts.ones(2, 2), ts.ones(2, 2), dim=1), ValueError,
     "cross: dim 1 must have size 3"),
    (lambda: ts.cdist(ts.ones(2, 3), ts.ones(2, 4)), ValueError, "cdist: expects x1"),
    (lambda: ts.addmm(ts.ones(2, 2), ts.ones(2, 3), ts.ones(2, 3)), ValueError,
     "addmm: expects matrices (n, m) and (m, p), got (2, 3) and (2, 3)"),
    (lambda: ts.addmm(ts.ones(3, 3), ts.ones(2, 3), ts.ones(3, 2)), ValueError,
     "addmm: input of shape (3, 3) does not broadcast"),
    (lambda: ts.baddbmm(ts.ones(2, 2), ts.ones(2, 2, 3), ts.ones(3, 3, 2)), ValueError,
     "baddbmm: expects batches"),
    (lambda: ts.tril_indices(-1, 2), ValueError, "tril_indices: row and col must be"),
    (lambda: ts.tensor_split(ts.ones(4), 0), ValueError, "tensor_split: the number of sections"),
    (lambda: ts.take(ts.ones(2, 2), ts.tensor([4])), IndexError,
     "take: index 4 is out of range for a tensor of 4 elements"),
    (lambda: ts.take(ts.ones(2), ts.tensor([0.5])), TypeError, "take: index must be an integer"),
    (lambda: ts.take_along_dim(ts.ones(2, 3), ts.zeros(3, 1).long(), 1), ValueError,
     "take_along_dim: input of shape (2, 3) and indices of shape (3, 1) do not broadcast"),
    (lambda: ts.rot90(ts.ones(2, 2), 1, (0, 0)), ValueError, "rot90: dims must differ"),
    (lambda: ts.rot90(ts.ones(2)), ValueError, "rot90: expects a tensor with at least 2 dims"),
    (lambda: ts.ones(3).index_copy(0, ts.tensor([0, 1]), ts.ones(3)), ValueError,
     "index_copy: source of shape (3,)"),
    (lambda: ts.ones(3).masked_scatter(ts.tensor([True, True, True]), ts.ones(2)), ValueError,
     "masked_scatter: mask selects 3 entries but source of shape (2,) has only 2"),
    (lambda: ts.ones(3).masked_scatter(ts.ones(3), ts.ones(3)), TypeError,
     "masked_scatter: mask must be a bool tensor"),
    (lambda: ts.ones(2, 3).select(1, 3), IndexError,
     "select: index 3 is out of range for dim 1 of size 3"),
    (lambda: ts.searchsorted(ts.ones(3), ts.ones(2), side="middle"), ValueError,
     "searchsorted: side must be"),
    (lambda: ts.searchsorted(ts.ones(3), ts.ones(2), side="left", right=True), ValueError,
     "searchsorted: side='left' and right=True"),
    (lambda: ts.searchsorted(ts.ones(2, 3), ts.ones(3, 2)), ValueError,
     "searchsorted: sorted_sequence of shape (2, 3) and values of shape (3, 2)"),
    (lambda: ts.bucketize(ts.ones(2), ts.ones(2, 2)), ValueError,
     "bucketize: boundaries must be 1-d"),
    (lambda: ts.bincount(ts.tensor([1, -1])), ValueError, "bincount: values must be non-neg"),
    (lambda: ts.bincount(ts.ones(2)), ValueError, "bincount: expects a 1-d tensor of integers"),
    (lambda: ts.block_diag(ts.ones(1, 1, 1)), ValueError, "block_diag: expects tensors of at"),
    (lambda: ts.cartesian_prod(ts.ones(2, 2)), ValueError, "cartesian_prod: expects 1-d"),
])
def test_bad_input_is_refused_naming_the_op(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)


def test_an_error_leaves_the_tensor_as_it_was():
    x = ts.ones(3)
    with pytest.raises(ValueError):
        x.index_copy_(0, ts.tensor([0, 1]), ts.ones(3))
    with pytest.raises(ValueError):
        x.masked_scatter_(ts.tensor([True, True, True]), ts.zeros(1))
    assert x.tolist() == [1.0, 1.0, 1.0]


# --- against PyTorch ------------------------------------------------------------------------
REDUCTIONS = [
    ("median", lambda x, m: m.median(x, 1)),
    ("median -1 keepdim", lambda x, m: m.median(x, -1, keepdim=True)),
    ("median all", lambda x, m: m.median(x)),
    ("nanmedian", lambda x, m: m.nanmedian(x, 0)),
    ("nanmedian all", lambda x, m: x.nanmedian()),
    ("kthvalue", lambda x, m: m.kthvalue(x, 2, 0, True)),
    ("mode", lambda x, m: m.mode(x)),
    ("mode 0", lambda x, m: x.mode(0, keepdim=True)),
    ("cummax", lambda x, m: m.cummax(x, 1)),
    ("cummin", lambda x, m: x.cummin(-2)),
    ("aminmax", lambda x, m: m.aminmax(x)),
    ("aminmax dim", lambda x, m: x.aminmax(dim=-1, keepdim=True)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("name, fn", REDUCTIONS)
def test_selecting_reductions_match_pytorch(name, fn, dtype):
    """Distinct values: the indices are unique too."""
    torch = pytest.importorskip("torch")
    array = _rng.permutation(20).reshape(4, 5).astype(dtype)
    same(fn(ts.tensor(array), ts), fn(torch.tensor(array), torch))


@pytest.mark.parametrize("name, fn, dim, same_index", [
    ("median", lambda x, m: m.median(x, 1), 1, False),
    ("median keepdim", lambda x, m: m.median(x, -1, keepdim=True), 1, False),
    ("nanmedian", lambda x, m: m.nanmedian(x, 0), 0, False),
    ("kthvalue", lambda x, m: m.kthvalue(x, 2, 1), 1, False),
    ("mode", lambda x, m: m.mode(x), 1, True),
    ("mode 0", lambda x, m: x.mode(0, keepdim=True), 0, True),
    ("cummax", lambda x, m: m.cummax(x, 1), 1, True),
    ("cummin", lambda x, m: x.cummin(0), 0, True),
])
def test_ties_and_nans_pick_values_as_pytorch(name, fn, dim, same_index):
    """With ties the values agree and each index points at an entry of that value (PyTorch
    does not fix which one for median and kthvalue); mode, cummax and cummin agree on the
    index too."""
    torch = pytest.importorskip("torch")
    array = np.array([[1., 3, 3, 1, 2], [5, 5, NAN, 1, 1], [2, 2, 2, 2, 2], [4, 1, 4, 1, 0]])
    if name == "mode":
        array[1, 2] = 5     # PyTorch's mode does not treat NaN as a value
    ours, theirs = fn(ts.tensor(array), ts), fn(torch.tensor(array), torch)
    same(ours.values, theirs.values)
    if same_index:
        same(ours.indices, theirs.indices)
    indices = ours.indices.numpy()
    if indices.ndim < array.ndim:
        indices = np.expand_dims(indices, dim)
    picked = np.take_along_axis(array, indices, dim)
    np.testing.assert_array_equal(picked.reshape(ours.values.shape), ours.values.numpy())


@pytest.mark.parametrize("name, fn", [
    ("median", lambda x, m: m.median(x, 1).values),
    ("median all", lambda x, m: m.median(x)),
    ("nanmedian", lambda x, m: m.nanmedian(x, 0).values),
    ("kthvalue", lambda x, m: m.kthvalue(x, 3, -1).values),
    ("mode", lambda x, m: m.mode(x, 0).values),
    ("cummax", lambda x, m: m.cummax(x, 1).values),
    ("cummin", lambda x, m: m.cummin(x, 0).values),
    ("logcumsumexp", lambda x, m: m.logcumsumexp(x, 1)),
    ("nansum", lambda x, m: m.nansum(x, 1)),
    ("nanmean", lambda x, m: m.nanmean(x, 0, keepdim=True)),
    ("var_mean", lambda x, m: m.stack(m.var_mean(x, 1))),
    ("std_mean", lambda x, m: m.stack(m.std_mean(x, dim=None, correction=0))),
    ("aminmax", lambda x, m: m.stack(list(m.aminmax(x, dim=0)))),
    ("quantile", lambda x, m: m.quantile(x, m.tensor([0.2, 0.5, 1.0], dtype=x.dtype), dim=1)),
    ("quantile all", lambda x, m: m.quantile(x, 0.7, interpolation="higher")),
    ("nanquantile", lambda x, m: m.nanquantile(x, 0.35, dim=0, keepdim=True)),
])
def test_reduction_gradients_match_pytorch(name, fn):
    same_grad(fn, _rng.standard_normal((4, 5)))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (None, True), (0, False), (-1, True)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_quantiles_match_pytorch(interpolation, dim, keepdim, dtype):
    torch = pytest.importorskip("torch")
    array = _rng.standard_normal((3, 6)).astype(dtype)
    array[0, 2] = array[2, 0] = NAN
    q = np.array([0.0, 0.25, 0.5, 0.8, 1.0], dtype=dtype)
    for op in ("quantile", "nanquantile"):
        for fraction in (ts.tensor(q), 0.3):
            theirs = getattr(torch, op)(torch.tensor(array), torch.tensor(q) if isinstance(
                fraction, ts.Tensor) else fraction, dim, keepdim, interpolation=interpolation)
            same(getattr(ts, op)(ts.tensor(array), fraction, dim, keepdim,
                                 interpolation=interpolation), theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_sums_means_and_running_reductions_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    array = (_rng.standard_normal((3, 4)) * 3).astype(dtype)
    if dtype != "int64":
        array[1, 1] = NAN
    ours, theirs = both(array)
    for dim, keepdim in ((None, False), (1, True), (-2, False)):
        same(ours.nansum(dim, keepdim), theirs.nansum(dim, keepdim))
        if dtype != "int64":
            same(ts.nanmean(ours, dim, keepdim), torch.nanmean(theirs, dim, keepdim))
            same(ts.var_mean(ours, dim, keepdim=keepdim),
                 torch.var_mean(theirs, dim, keepdim=keepdim))
            same(ts.std_mean(ours, dim, correction=0, keepdim=keepdim),
                 torch.std_mean(theirs, dim, correction=0, keepdim=keepdim))
    same(ts.logcumsumexp(ours, 0), torch.logcumsumexp(theirs.double() if dtype == "int64"
                                                      else theirs, 0).to(
        torch.float32 if dtype == "int64" else theirs.dtype))


def test_zero_dim_tensors_as_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = both(np.array(2.5))
    for fn in (lambda x, m: m.median(x, 0), lambda x, m: m.kthvalue(x, 1, 0),
               lambda x, m: m.mode(x, -1), lambda x, m: m.cummax(x, 0),
               lambda x, m: m.logcumsumexp(x, 0), lambda x, m: m.quantile(x, 0.5, dim=0),
               lambda x, m: m.nansum(x), lambda x, m: m.aminmax(x)):
        same(fn(ours, ts), fn(theirs, torch))


LINALG = [
    ("diag matrix", lambda m, x: m.diag(x[0], 1), (1, 4, 3)),
    ("diag vector", lambda m, x: m.diag(x[0, 0], -2), (1, 1, 4)),
    ("diagonal", lambda m, x: m.diagonal(x, -1, 2, 0), (3, 2, 4)),
    ("diagonal method", lambda m, x: x.diagonal(dim1=-1, dim2=-2), (2, 3, 3)),
    ("trace", lambda m, x: m.trace(x[0]), (1, 3, 4)),
    ("diag_embed", lambda m, x: m.diag_embed(x, 1, 0, 2), (2, 3, 2)),
    ("diag_embed default", lambda m, x: x.diag_embed(-1), (2, 3, 2)),
    ("kron", lambda m, x: m.kron(x, x[0, :2]), (2, 3, 2)),
    ("cross", lambda m, x: m.cross(x, x.flip(0), dim=-2), (2, 3, 2)),
    ("cdist", lambda m, x: m.cdist(x, x.flip(1)), (2, 3, 2)),
    ("cdist inf", lambda m, x: m.cdist(x, x[:, :2] * 2, p=float("inf")), (2, 3, 4)),
    ("cdist p=3", lambda m, x: m.cdist(x[0], x[1] + 1, p=3.0), (2, 3, 4)),
    ("addmm", lambda m, x: m.addmm(x[0, 0], x[0], x[1].T, beta=0.5, alpha=-2), (2, 3, 3)),
    ("baddbmm", lambda m, x: m.baddbmm(x, x, x.transpose(1, 2), beta=2), (2, 3, 3)),
    ("addbmm", lambda m, x: x[0].addbmm(x, x.transpose(1, 2), alpha=0.5), (2, 3, 3)),
]


@pytest.mark.parametrize("name, fn, shape", LINALG)
def test_linear_algebra_matches_pytorch(name, fn, shape):
    torch = pytest.importorskip("torch")
    array = _rng.standard_normal(shape)
    same(fn(ts, ts.tensor(array)), fn(torch, torch.tensor(array)))
    same(fn(ts, ts.tensor(array.astype(np.float32))),
         fn(torch, torch.tensor(array.astype(np.float32))))
    same_grad(lambda x, m: fn(m, x), array)


def test_integer_linear_algebra_matches_pytorch():
    torch = pytest.importorskip("torch")
    array = _rng.integers(-5, 5, (3, 3))
    for fn in (lambda m, x: m.diag(x), lambda m, x: m.trace(x), lambda m, x: m.kron(x, x),
               lambda m, x: m.diag_embed(x), lambda m, x: m.addmm(x, x, x, alpha=2),
               lambda m, x: m.cross(x, x.flip(1), dim=0)):
        same(fn(ts, ts.tensor(array)), fn(torch, torch.tensor(array)))
    for args in ((4, 3), (3, 5, 1), (4, 4, -2), (0, 3)):
        same(ts.tril_indices(*args), torch.tril_indices(*args))
        same(ts.triu_indices(*args), torch.triu_indices(*args))


def test_cross_without_dim_warns_as_pytorch():
    torch = pytest.importorskip("torch")
    array = _rng.standard_normal((3, 3, 2))
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        ours = ts.cross(ts.tensor(array), ts.tensor(array[::-1].copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.cross(torch.tensor(array), torch.tensor(array[::-1].copy()))
    same(ours, theirs)


def test_chain_matmul_matches_pytorch():
    torch = pytest.importorskip("torch")
    arrays = [_rng.standard_normal(s) for s in ((2, 3), (3, 4), (4, 2))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(ts.chain_matmul(*map(ts.tensor, arrays)),
             torch.chain_matmul(*map(torch.tensor, arrays)))


INDEXING = [
    ("tensor_split int", lambda m, x: m.cat(m.tensor_split(x, 3, 1)[::-1], 1)),
    ("tensor_split list", lambda m, x: m.cat(x.tensor_split([1, 3], dim=-1)[::-1], 1)),
    ("tensor_split tensor", lambda m, x: m.cat(m.tensor_split(x, m.tensor([2]), 0)[::-1])),
    ("take_along_dim", lambda m, x: m.take_along_dim(x, m.tensor([[3, 0], [1, 1], [2, 4]]), 1)),
    ("take_along_dim broadcast", lambda m, x: m.take_along_dim(x, m.tensor([[2], [0]]), 0)),
    ("take_along_dim flat", lambda m, x: x.take_along_dim(m.tensor([[7, 0, 7]]))),
    ("take", lambda m, x: m.take(x, m.tensor([[0, -2], [14, 3]]))),
    ("rot90", lambda m, x: m.rot90(x)),
    ("rot90 -1", lambda m, x: x.rot90(-1, [1, 0])),
    ("rot90 2", lambda m, x: m.rot90(x, 2)),
    ("atleast_3d", lambda m, x: m.atleast_3d(x)),
    ("column_stack", lambda m, x: m.column_stack([x[:, 0], x, x[:, :1]])),
    ("dstack", lambda m, x: m.dstack([x, x * 2])),
    ("row_stack", lambda m, x: m.row_stack([x, x[0]])),
    ("block_diag", lambda m, x: m.block_diag(x, x[0], x[0, 0])),
    ("cartesian_prod", lambda m, x: m.cartesian_prod(x[0], x[1, :2], x[2, :3])),
    ("index_copy", lambda m, x: x.index_copy(1, m.tensor([4, 0]), x[:, 1:3] * 2)),
    ("index_copy 0", lambda m, x: m.index_copy(x, 0, m.tensor([2]), x[:1] + 1)),
    ("masked_scatter", lambda m, x: x.masked_scatter(x > 0, x.flip(0) * 3)),
    ("masked_scatter broadcast",
     lambda m, x: m.masked_scatter(x, m.tensor([True, False, True, False, True]), -x)),
    ("select", lambda m, x: m.select(x, 0, -1)),
    ("select method", lambda m, x: x.select(1, 2)),
]


@pytest.mark.parametrize("name, fn", INDEXING)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_indexing_matches_pytorch(name, fn, dtype):
    torch = pytest.importorskip("torch")
    array = (_rng.standard_normal((3, 5)) * 4).astype(dtype)
    same(fn(ts, ts.tensor(array)), fn(torch, torch.tensor(array)))
    if dtype == "float64":
        same_grad(lambda x, m: fn(m, x), array)


def test_atleast_forms_match_pytorch():
    torch = pytest.importorskip("torch")
    for shape in ((), (3,), (2, 3), (2, 3, 4)):
        array = _rng.standard_normal(shape)
        for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
            same(getattr(ts, name)(ts.tensor(array)), getattr(torch, name)(torch.tensor(array)))
            pair = getattr(ts, name)(ts.tensor(array), ts.tensor(array))
            assert isinstance(pair, tuple) and len(pair) == 2
            assert isinstance(getattr(ts, name)([ts.tensor(array)]), tuple)


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_searchsorted_and_bucketize_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    boundaries = np.array([[1, 3, 3, 5, 9], [0, 2, 4, 4, 6]], dtype=dtype)
    values = np.array([[3, 0, 10, 4], [4, 4, 1, 7]], dtype=dtype)
    for kwargs in ({}, {"right": True}, {"side": "right"}, {"side": "left"},
                   {"out_int32": True}):
        same(ts.searchsorted(ts.tensor(boundaries), ts.tensor(values), **kwargs),
             torch.searchsorted(torch.tensor(boundaries), torch.tensor(values), **kwargs))
        same(ts.searchsorted(ts.tensor(boundaries[0]), ts.tensor(values), **kwargs),
             torch.searchsorted(torch.tensor(boundaries[0]), torch.tensor(values), **kwargs))
    same(ts.searchsorted(ts.tensor(boundaries[0]), 4), torch.searchsorted(
        torch.tensor(boundaries[0]), 4))
    order = np.argsort(boundaries[1][::-1].copy(), kind="stable")
    same(ts.searchsorted(ts.tensor(boundaries[1][::-1].copy()), ts.tensor(values[1]),
                         sorter=ts.tensor(order)),
         torch.searchsorted(torch.tensor(boundaries[1][::-1].copy()), torch.tensor(values[1]),
                            sorter=torch.tensor(order)))
    for right in (False, True):
        same(ts.bucketize(ts.tensor(values), ts.tensor(boundaries[0]), right=right),
             torch.bucketize(torch.tensor(values), torch.tensor(boundaries[0]), right=right))


def test_bincount_and_unique_consecutive_match_pytorch():
    torch = pytest.importorskip("torch")
    counts = np.array([4, 1, 1, 0, 7, 1])
    same(ts.bincount(ts.tensor(counts)), torch.bincount(torch.tensor(counts)))
    same(ts.tensor(counts).bincount(minlength=10), torch.tensor(counts).bincount(minlength=10))
    for dtype in ("float32", "float64", "int64"):
        weights = np.arange(6).astype(dtype)
        same(ts.bincount(ts.tensor(counts), ts.tensor(weights)),
             torch.bincount(torch.tensor(counts), torch.tensor(weights)))
    same(ts.bincount(ts.tensor(counts[:0])), torch.bincount(torch.tensor(counts[:0])))
    runs = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3], [3, 3, 3], [1, 1, 2]])
    for dim in (None, 0, 1, -1):
        for inverse in (False, True):
            for count in (False, True):
                ours = ts.unique_consecutive(ts.tensor(runs), inverse, count, dim)
                theirs = torch.unique_consecutive(torch.tensor(runs), return_inverse=inverse,
                                                  return_counts=count, dim=dim)
                same(ours, theirs)


# --- on another device ----------------------------------------------------------------------
ON_DEVICE = [
    lambda x: x.median(1), lambda x: x.nanmedian(), lambda x: x.kthvalue(2, 0),
    lambda x: x.mode(1), lambda x: x.cummax(1), lambda x: x.cummin(0),
    lambda x: x.logcumsumexp(1), lambda x: x.aminmax(dim=0), lambda x: x.nansum(1),
    lambda x: x.nanmean(0), lambda x: ts.var_mean(x, 1),
    lambda x: x.quantile(ts.tensor([0.2, 0.7], dtype=ts.float64, device=x.device), dim=1),
    lambda x: x.nanquantile(0.5, interpolation="nearest"),
    lambda x: x.diag(), lambda x: x.diagonal(1), lambda x: x.diag_embed(), lambda x: x.trace(),
    lambda x: ts.kron(x, x), lambda x: ts.cross(x[:, :3], x[:, 1:], dim=1),
    lambda x: ts.cdist(x, x), lambda x: ts.addmm(x[0, :3], x, x.t()),
    lambda x: ts.tensor_split(x, 2, 1), lambda x: ts.take(x, ts.tensor([5, -1], device=x.device)),
    lambda x: x.take_along_dim(ts.tensor([[1], [0], [3]], device=x.device), 1),
    lambda x: ts.rot90(x), lambda x: ts.block_diag(x, x[0]), lambda x: ts.dstack([x, x]),
    lambda x: ts.cartesian_prod(x[0], x[1]), lambda x: x.select(1, 2),
    lambda x: x.index_copy(1, ts.tensor([3, 0], device=x.device), x[:, :2]),
    lambda x: x.masked_scatter(x > 0, x * 2),
    lambda x: ts.searchsorted(x.sort(1).values, x),
    lambda x: ts.bucketize(x, x[0].sort().values),
    lambda x: (x > 0).long().reshape(-1).bincount(), lambda x: x.round().unique_consecutive(),
]


@pytest.mark.parametrize("fn", ON_DEVICE)
def test_results_stay_on_the_tensors_device(standin, fn):
    results = {}
    for device in ("standin", "cpu"):
        x = ts.tensor(np.arange(12.0).reshape(3, 4) % 5 - 2, dtype=ts.float64, device=device,
                      requires_grad=True)
        out = fn(x)
        outs = list(out) if isinstance(out, tuple) else [out]
        floating = [o for o in outs if o.requires_grad]
        if floating:
            sum(o.sum() for o in floating).backward()
        results[device] = outs + ([x.grad] if floating else [])
    for got, expected in zip(results["standin"], results["cpu"]):
        assert type(got.array) is StandinArray
        np.testing.assert_array_equal(got.numpy(), expected.numpy())

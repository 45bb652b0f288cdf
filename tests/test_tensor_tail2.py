"""Tensor functions and methods from PyTorch's tail, second batch: reshape (the function),
broadcast_to, repeat_interleave, scatter, scatter_add, index_add, nonzero, unflatten, diff,
hstack, vstack, tile, tensordot, meshgrid, and the in-place cumsum_, tril_, triu_, scatter_,
scatter_add_ and index_add_; then three fixes: all() and any() without a dim are 0-d arrays,
amax/amin/max reduce tensors with an empty dim that is not reduced, and dims may be NumPy
integers. Each is checked against PyTorch as the oracle (values, dtypes, shapes, errors where
PyTorch refuses too) and the differentiable ones for their gradients, against PyTorch in
float64 and against finite differences."""
import numpy as np
import pytest

import tinyseq as ts
from test_device_standin import standin  # noqa: F401  (the fixture)
from test_tensor_tail import both_raise, gradchecked, pair, same, same_grads, typed

torch = pytest.importorskip("torch")

torch.set_num_threads(1)  # tiny tensors: PyTorch's thread pool only adds waiting

_rng = np.random.default_rng(47)


def values(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, size=shape)


DTYPES = ["float64", "float32", "int64", "int32", "uint8", "bool"]


# --- reshape and broadcast_to as functions ----------------------------------------------------
@pytest.mark.parametrize("shape, new", [((2, 3), (3, 2)), ((2, 3), [6]), ((2, 3), (-1, 2)),
                                        ((), (1, 1)), ((1,), ()), ((0, 3), (3, -1)),
                                        ((2, 3, 4), (4, -1, 2))])
def test_reshape_function_as_pytorch(shape, new):
    same_grads(lambda x: ts.reshape(x, new), lambda x: torch.reshape(x, new), values(*shape))
    ours, theirs = pair(typed(values(*shape), "int32"))
    same(ts.reshape(ours, new), torch.reshape(theirs, new))


def test_reshape_function_errors():
    x, tx = pair(values(2, 3))
    both_raise(lambda: ts.reshape(x, 6), lambda: torch.reshape(tx, 6), TypeError,
               "reshape: shape must be a tuple or list of ints, as in PyTorch, got 6")
    both_raise(lambda: ts.reshape(x, (4, 2)), lambda: torch.reshape(tx, (4, 2)), ValueError,
               r"reshape: cannot reshape array of size 6 into shape \(4,2\)")
    with pytest.raises(TypeError, match="reshape: expected a Tensor, got list"):
        ts.reshape([1, 2], (2,))


@pytest.mark.parametrize("shape, size", [((2, 3), (2, 2, 3)), ((1, 3), (4, 3)), ((3,), (2, 3)),
                                         ((2, 1), (4, -1, 5)), ((), (2, 2)), ((0, 1), (0, 4)),
                                         ((2, 3), (2, 3))])
def test_broadcast_to_as_pytorch(shape, size):
    same_grads(lambda x: ts.broadcast_to(x, size), lambda x: torch.broadcast_to(x, size),
               values(*shape))
    same_grads(lambda x: x.broadcast_to(size), lambda x: x.broadcast_to(size), values(*shape))
    ours, theirs = pair(typed(values(*shape), "bool"))
    same(ours.broadcast_to(size), theirs.broadcast_to(size))
    gradchecked(lambda x: ts.broadcast_to(x, size), values(*shape))


def test_broadcast_to_takes_an_int_and_a_size_as_pytorch():
    ours, theirs = pair(values(3))
    same(ours.broadcast_to(3), theirs.broadcast_to(3))
    same(ours.broadcast_to(ts.Size([2, 3])), theirs.broadcast_to(torch.Size([2, 3])))


def test_broadcast_to_errors_as_pytorch():
    x, tx = pair(values(2, 3))
    both_raise(lambda: ts.broadcast_to(x, (3, 3)), lambda: torch.broadcast_to(tx, (3, 3)),
               ValueError, "broadcast_to: ")
    both_raise(lambda: x.broadcast_to(3), lambda: tx.broadcast_to(3), ValueError,
               r"broadcast_to: 1 sizes \(3,\) are fewer than the dims of shape \(2, 3\)")
    both_raise(lambda: x.broadcast_to((-1, 2, 3)), lambda: tx.broadcast_to((-1, 2, 3)),
               ValueError, "broadcast_to: size -1 is not allowed in a new leading dim")
    with pytest.raises(TypeError, match="shape entries must be ints"):
        x.broadcast_to((2, 3.0))


# --- repeat_interleave ------------------------------------------------------------------------
RI_CASES = [((5,), 2, None), ((2, 3), 3, None), ((2, 3), 2, 0), ((2, 3), 2, -1),
            ((2, 3), [1, 0, 2], 1), ((2, 3), [2], 0), ((2, 3), 0, 1), ((3, 2), [0, 2, 1], -2),
            ((2, 3, 2), [1, 2, 0, 1, 1, 3, 0, 0, 2, 1, 1, 1], None), ((0, 3), 2, 0),
            ((), 3, None), ((4,), "0-d", 0)]


def _repeats(repeats, module):
    if repeats == "0-d":
        return module.tensor(2)
    return module.tensor(repeats) if isinstance(repeats, list) else repeats


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, repeats, dim", RI_CASES)
def test_repeat_interleave_as_pytorch(shape, repeats, dim, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = torch.repeat_interleave(theirs, _repeats(repeats, torch), dim)
    same(ts.repeat_interleave(ours, _repeats(repeats, ts), dim), expected)
    same(ours.repeat_interleave(_repeats(repeats, ts), dim), expected)
    same(ours.repeat_interleave(_repeats(repeats, ts), dim=dim,
                                output_size=expected.shape[0 if dim is None else dim]),
         expected)


@pytest.mark.parametrize("shape, repeats, dim", RI_CASES)
def test_repeat_interleave_gradient_sums_the_copies_as_pytorch(shape, repeats, dim):
    same_grads(lambda x: x.repeat_interleave(_repeats(repeats, ts), dim),
               lambda x: x.repeat_interleave(_repeats(repeats, torch), dim), values(*shape))
    gradchecked(lambda x: ts.repeat_interleave(x, _repeats(repeats, ts), dim), values(*shape))


def test_repeat_interleave_gradient_is_the_sum_over_each_entrys_copies():
    x = ts.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.repeat_interleave(ts.tensor([2, 0, 3]))
    assert out.tolist() == [1.0, 1.0, 3.0, 3.0, 3.0]
    (out * ts.tensor([1.0, 10.0, 100.0, 1000.0, 10000.0])).sum().backward()
    assert x.grad.tolist() == [11.0, 0.0, 11100.0]


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_repeat_interleave_of_counts_alone_as_pytorch(dtype):
    ours, theirs = pair(np.array([1, 3, 0, 2], dtype=dtype))
    same(ts.repeat_interleave(ours), torch.repeat_interleave(theirs))
    same(ts.repeat_interleave(ours, output_size=6), torch.repeat_interleave(theirs, output_size=6))
    empty, t_empty = pair(np.zeros(0, dtype=dtype))
    same(ts.repeat_interleave(empty), torch.repeat_interleave(t_empty))


def test_repeat_interleave_errors_as_pytorch():
    x, tx = pair(values(2, 3))
    cases = [
        (lambda m, t: m.repeat_interleave(t, -1), ValueError,
         "repeat_interleave: repeats must not be negative, got -1"),
        (lambda m, t: m.repeat_interleave(t, m.tensor([1, -2]), dim=0), ValueError,
         "repeat_interleave: repeats must not be negative, got -2"),
        (lambda m, t: m.repeat_interleave(t, m.tensor([1, 2, 3]), dim=0), ValueError,
         r"repeat_interleave: repeats must have one count per entry along dim 0 \(2\) or one "
         r"for all, got 3"),
        (lambda m, t: m.repeat_interleave(t, m.tensor([[1, 2]]), dim=0), ValueError,
         r"repeat_interleave: repeats must be 0-d or 1-d, got shape \(1, 2\)"),
        (lambda m, t: m.repeat_interleave(t, m.tensor([1.0, 2.0]), dim=0), TypeError,
         "repeat_interleave: repeats must be an int64 or int32 tensor, as in PyTorch, got "
         "dtype float32"),
        (lambda m, t: m.repeat_interleave(t, 2.0), TypeError,
         "repeat_interleave: repeats must be an int or an integer tensor, got float"),
        (lambda m, t: m.repeat_interleave(t, True), TypeError,
         "repeat_interleave: repeats must be an int or an integer tensor, got bool"),
        (lambda m, t: m.repeat_interleave(t, [1, 2], dim=0), TypeError,
         "repeat_interleave: repeats must be an int or an integer tensor, got list"),
        (lambda m, t: m.repeat_interleave(t, 2, dim=2), ValueError,
         "repeat_interleave: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda m, t: m.repeat_interleave(t, 2, dim=0, output_size=5), ValueError,
         "repeat_interleave: output_size 5 is not the length 4 that repeats makes"),
        (lambda m, t: m.repeat_interleave(m.tensor(3.0), 2, dim=0), ValueError,
         "repeat_interleave: needs a tensor with at least one dimension"),
        (lambda m, t: m.repeat_interleave(m.tensor([[2]])), ValueError,
         r"repeat_interleave: without repeats, input is the 1-d tensor of counts, got shape "
         r"\(1, 1\)"),
        (lambda m, t: m.repeat_interleave(m.tensor([2, -1])), ValueError,
         "repeat_interleave: repeats must not be negative, got -1"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(ts, x), lambda: call(torch, tx), error, match)


# --- scatter, scatter_add, index_add -----------------------------------------------------------
SCATTER_CASES = [  # (self shape, dim, index, src shape): no place written twice
    ((3, 4), 0, [[0, 1, 2, 0], [2, 0, 0, 1]], (2, 4)),
    ((3, 4), 1, [[3, 0], [1, 2], [0, 3]], (3, 2)),
    ((3, 4), -1, [[3, 0], [1, 2]], (3, 3)),                 # src bigger than index
    ((3, 4), -2, [[2], [0]], (2, 1)),
    ((2, 3, 4), 1, [[[0, 2, 1, 0]], [[2, 1, 0, 1]]], (2, 1, 4)),
    ((5,), 0, [4, 0, 2], (3,)),
    ((5,), -1, [1], (4,)),
    ((), 0, 0, ()),
    ((), -1, [0], (1,)),
    ((5,), 0, 3, ()),                                       # a 0-d index counts as 1-d
]


def _index(index, module):
    return module.tensor(index, dtype=module.int64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, dim, index, src_shape", SCATTER_CASES)
def test_scatter_and_scatter_add_as_pytorch(shape, dim, index, src_shape, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    src, t_src = pair(typed(values(*src_shape), dtype))
    i, ti = _index(index, ts), _index(index, torch)
    same(ours.scatter(dim, i, src), theirs.scatter(dim, ti, t_src))
    same(ts.scatter(ours, dim, i, src), torch.scatter(theirs, dim, ti, t_src))
    same(ours.scatter(dim, i, src=src), theirs.scatter(dim, ti, src=t_src))
    same(ours.scatter_add(dim, i, src), theirs.scatter_add(dim, ti, t_src))
    same(ts.scatter_add(ours, dim, i, src), torch.scatter_add(theirs, dim, ti, t_src))
    same(ours.scatter(dim, i.int(), src), theirs.scatter(dim, ti.int(), t_src))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [2.5, -3, True, 0])
def test_scatter_of_a_value_as_pytorch(dtype, value):
    ours, theirs = pair(typed(values(3, 4), dtype))
    index = [[0, 1, 2, 0], [2, 0, 0, 1]]
    same(ours.scatter(0, _index(index, ts), value), theirs.scatter(0, _index(index, torch), value))
    same(ours.scatter(1, _index(index, ts), value=value),
         theirs.scatter(1, _index(index, torch), value=value))
    same(ts.scatter(ours, -1, _index(index, ts), value),
         torch.scatter(theirs, -1, _index(index, torch), value))


def test_scatter_writes_and_scatter_add_adds_at_repeated_places():
    x = ts.zeros(3, 4)
    index = ts.tensor([[0, 1, 2, 0], [0, 0, 2, 1], [0, 1, 1, 1]])
    src = ts.arange(1.0, 13.0).reshape(3, 4)
    expected = torch.zeros(3, 4).scatter_add(0, torch.tensor(index.numpy()),
                                             torch.arange(1.0, 13.0).reshape(3, 4))
    same(x.scatter_add(0, index, src), expected)
    assert x.scatter_add(0, index, src)[0].tolist() == [1.0 + 5.0 + 9.0, 6.0, 0.0, 4.0]
    assert ts.zeros(3).scatter(0, ts.tensor([2, 0]), ts.tensor([7.0, 8.0])).tolist() == \
        [8.0, 0.0, 7.0]


def test_scatter_of_an_empty_index_is_a_copy_as_pytorch():
    x, tx = pair(values(3, 2))
    for index, t_index in [(ts.zeros(0, 2, dtype=ts.int64), torch.zeros(0, 2, dtype=torch.long)),
                           (ts.zeros(0, dtype=ts.int64), torch.zeros(0, dtype=torch.long))]:
        for name in ("scatter", "scatter_add"):
            got = getattr(x, name)(0, index, ts.tensor(5.0, dtype=ts.float64))
            same(got, getattr(tx, name)(0, t_index, torch.tensor(5.0, dtype=torch.float64)))
            assert got is not x


@pytest.mark.parametrize("shape, dim, index, src_shape",
                         [c for c in SCATTER_CASES if c[3] == np.shape(c[2])])
def test_scatter_and_scatter_add_gradients_as_pytorch(shape, dim, index, src_shape):
    for name in ("scatter", "scatter_add"):
        same_grads(lambda x, s: getattr(x, name)(dim, _index(index, ts), s),
                   lambda x, s: getattr(x, name)(dim, _index(index, torch), s),
                   values(*shape), values(*src_shape))
    same_grads(lambda x: x.scatter(dim, _index(index, ts), 0.5),
               lambda x: x.scatter(dim, _index(index, torch), 0.5), values(*shape))


@pytest.mark.parametrize("shape, dim, index, src_shape", SCATTER_CASES)
def test_scatter_and_scatter_add_gradients_by_finite_differences(shape, dim, index, src_shape):
    for name in ("scatter", "scatter_add"):
        gradchecked(lambda x, s: getattr(ts, name)(x, dim, _index(index, ts), s),
                    values(*shape), values(*src_shape))


def test_scatter_gradient_is_zero_where_written_over_and_read_from_src():
    x = ts.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    src = ts.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]], requires_grad=True)
    out = x.scatter(0, ts.tensor([[2, 0]]), src)          # src bigger than index
    assert out.tolist() == [[1.0, 20.0], [3.0, 4.0], [10.0, 6.0]]
    g = ts.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out.backward(g)
    assert x.grad.tolist() == [[1.0, 0.0], [3.0, 4.0], [0.0, 6.0]]
    # PyTorch's backward fails here (it sends src a gradient of index's shape); the entries
    # that index does not reach get 0
    assert src.grad.tolist() == [[5.0, 2.0, 0.0], [0.0, 0.0, 0.0]]


def test_scatter_add_gradient_reads_src_where_added():
    x = ts.zeros(2, requires_grad=True)
    src = ts.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.scatter_add(0, ts.tensor([1, 1, 0]), src)
    assert out.tolist() == [3.0, 3.0]
    out.backward(ts.tensor([10.0, 100.0]))
    assert x.grad.tolist() == [10.0, 100.0]
    assert src.grad.tolist() == [100.0, 100.0, 10.0]


def test_scatter_gradient_at_a_place_written_twice_as_pytorch():
    # which src entry lands is PyTorch's to choose; each gets the place's gradient, as there
    same_grads(lambda s: ts.zeros(3, dtype=ts.float64).scatter(0, ts.tensor([1, 1, 2]), s),
               lambda s: torch.zeros(3, dtype=torch.float64).scatter(0, torch.tensor([1, 1, 2]),
                                                                       s),
               np.array([1.0, 1.0, 3.0]))


def test_scatter_and_scatter_add_errors_as_pytorch():
    x, tx = pair(np.zeros((3, 4), dtype=np.float32))
    src, t_src = pair(np.ones((3, 4), dtype=np.float32))
    index, t_index = _index([[0, 1, 2, 0], [2, 0, 0, 1]], ts), _index([[0, 1, 2, 0], [2, 0, 0, 1]],
                                                                      torch)
    for name in ("scatter", "scatter_add"):
        cases = [
            (lambda m, t, i, s: getattr(t, name)(0, i, s.double()), TypeError,
             f"{name}: src of dtype float64 for a tensor of dtype float32; as in PyTorch they "
             f"must be equal"),
            (lambda m, t, i, s: getattr(t, name)(0, i.float(), s), TypeError,
             f"{name}: index must be an int64 or int32 tensor, as in PyTorch, got dtype "
             f"float32"),
            (lambda m, t, i, s: getattr(t, name)(0, i.to(m.uint8), s), TypeError,
             f"{name}: index must be an int64 or int32 tensor, as in PyTorch, got dtype uint8"),
            (lambda m, t, i, s: getattr(t, name)(0, [[0]], s), TypeError,
             f"{name}: index must be a Tensor, got list"),
            (lambda m, t, i, s: getattr(t, name)(0, i[0], s), ValueError,
             rf"{name}: index of shape \(4,\) and src of shape \(3, 4\) need the dims of the "
             rf"tensor's shape \(3, 4\)"),
            (lambda m, t, i, s: getattr(t, name)(0, i, s[0]), ValueError,
             rf"{name}: index of shape \(2, 4\) and src of shape \(4,\) need the dims"),
            (lambda m, t, i, s: getattr(t, name)(1, m.zeros(4, 1, dtype=m.int64), s),
             ValueError, rf"{name}: index of shape \(4, 1\) must be no larger than src "
                         rf"\(3, 4\), nor, apart from dim 1, than the tensor's shape \(3, 4\)"),
            (lambda m, t, i, s: getattr(t, name)(0, i, s[:1]), ValueError,
             rf"{name}: index of shape \(2, 4\) must be no larger than src \(1, 4\)"),
            (lambda m, t, i, s: getattr(t, name)(0, m.tensor([[3]]), s), IndexError,
             f"{name}: index 3 is out of bounds for dimension 0 with size 3"),
            (lambda m, t, i, s: getattr(t, name)(1, m.tensor([[-1]]), s), IndexError,
             f"{name}: index -1 is out of bounds for dimension 1 with size 4"),
            (lambda m, t, i, s: getattr(t, name)(2, i, s), ValueError,
             f"{name}: axis 2 is out of range for a tensor with 2 dimensions"),
            (lambda m, t, i, s: getattr(m.zeros(3, 2), name)(0, m.tensor(1), m.tensor(5.0)),
             ValueError, rf"{name}: index of shape \(\) and src of shape \(\) need the dims"),
        ]
        for call, error, match in cases:
            both_raise(lambda: call(ts, x, index, src), lambda: call(torch, tx, t_index, t_src),
                       error, match)
    both_raise(lambda: x.scatter_add(0, index, 1.0), lambda: tx.scatter_add(0, t_index, 1.0),
               TypeError, "scatter_add: src must be a Tensor, got float")
    both_raise(lambda: x.scatter(0, index, "a"), lambda: tx.scatter(0, t_index, "a"),
               TypeError, "scatter: src must be a Tensor or a number, got str")
    both_raise(lambda: ts.zeros(3, dtype=ts.int32).scatter(0, ts.tensor([1]), float("nan")),
               lambda: torch.zeros(3, dtype=torch.int32).scatter(0, torch.tensor([1]),
                                                                 float("nan")),
               ValueError, "scatter: value nan cannot be converted to int32")
    with pytest.raises(TypeError, match="scatter: got both src and value; give one"):
        x.scatter(0, index, src, value=1.0)
    with pytest.raises(TypeError, match="scatter: missing the src"):
        x.scatter(0, index)
    with pytest.raises(NotImplementedError, match="scatter: reduce='add' is not supported; "
                                                  "use scatter_add"):
        x.scatter(0, index, src, reduce="add")


INDEX_ADD_CASES = [  # (self shape, dim, index, source shape)
    ((3, 2), 0, [0, 2, 0], (3, 2)),
    ((3, 2), 1, [1, 1, 0, 1], (3, 4)),
    ((3, 2), -1, [1], (3, 1)),
    ((2, 3, 4), 1, [2, 0], (2, 2, 4)),
    ((2, 3, 4), -3, [1, 1, 1], (3, 3, 4)),
    ((4,), 0, 3, (1,)),                                     # a 0-d index
    ((), 0, [0], ()),
    ((3, 2), 0, [], (0, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, dim, index, source_shape", INDEX_ADD_CASES)
def test_index_add_as_pytorch(shape, dim, index, source_shape, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    source, t_source = pair(typed(values(*source_shape), dtype))
    i, ti = _index(index, ts), _index(index, torch)
    same(ours.index_add(dim, i, source), theirs.index_add(dim, ti, t_source))
    same(ts.index_add(ours, dim, i.int(), source), torch.index_add(theirs, dim, ti.int(), t_source))
    alpha = True if dtype == "bool" else 3
    same(ours.index_add(dim, i, source, alpha=alpha),
         theirs.index_add(dim, ti, t_source, alpha=alpha))


@pytest.mark.parametrize("alpha", [2.5, -1.5, 0])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
def test_index_add_alpha_takes_the_tensors_kind_as_pytorch(dtype, alpha):
    ours, theirs = pair(typed(values(3, 2), dtype))
    source, t_source = pair(typed(values(2, 2), dtype))
    same(ours.index_add(0, ts.tensor([2, 2]), source, alpha=alpha),
         theirs.index_add(0, torch.tensor([2, 2]), t_source, alpha=alpha), rtol=1e-6)


@pytest.mark.parametrize("shape, dim, index, source_shape", INDEX_ADD_CASES)
def test_index_add_gradients_as_pytorch_and_finite_differences(shape, dim, index,
                                                               source_shape):
    same_grads(lambda x, s: x.index_add(dim, _index(index, ts), s, alpha=-1.5),
               lambda x, s: x.index_add(dim, _index(index, torch), s, alpha=-1.5),
               values(*shape), values(*source_shape))
    gradchecked(lambda x, s: ts.index_add(x, dim, _index(index, ts), s, alpha=2),
                values(*shape), values(*source_shape))


def test_index_add_adds_repeated_indices_up():
    x = ts.tensor([[1.0, 1.0], [2.0, 2.0]], requires_grad=True)
    source = ts.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    out = x.index_add(0, ts.tensor([1, 0, 1]), source, alpha=10)
    assert out.tolist() == [[31.0, 41.0], [62.0, 82.0]]
    out.backward(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert x.grad.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert source.grad.tolist() == [[30.0, 40.0], [10.0, 20.0], [30.0, 40.0]]


def test_index_add_errors_as_pytorch():
    x, tx = pair(np.zeros((3, 2), dtype=np.float32))
    cases = [
        (lambda m, t: t.index_add(0, m.tensor([0, 2]), m.ones(2, 3)), ValueError,
         r"index_add: source of shape \(2, 3\) must have the tensor's shape \(3, 2\) apart "
         r"from dim 0"),
        (lambda m, t: t.index_add(0, m.tensor([0, 2]), m.ones(3, 2)), ValueError,
         "index_add: 2 indices for size 3 of source's dim 0; they must be equal"),
        (lambda m, t: t.index_add(0, m.tensor([[0, 2]]), m.ones(2, 2)), ValueError,
         r"index_add: index must be 0-d or 1-d, got shape \(1, 2\)"),
        (lambda m, t: t.index_add(0, m.tensor([1.0]), m.ones(1, 2)), TypeError,
         "index_add: index must be an int64 or int32 tensor, as in PyTorch, got dtype float32"),
        (lambda m, t: t.index_add(0, m.tensor([3]), m.ones(1, 2)), IndexError,
         "index_add: index 3 is out of bounds for dimension 0 with size 3"),
        (lambda m, t: t.index_add(0, m.tensor([-1]), m.ones(1, 2)), IndexError,
         "index_add: index -1 is out of bounds for dimension 0 with size 3"),
        (lambda m, t: t.index_add(0, m.tensor([1]), m.ones(1, 2, dtype=m.float64)), TypeError,
         "index_add: source of dtype float64 for a tensor of dtype float32"),
        (lambda m, t: t.index_add(0, m.tensor([1]), m.ones(2)), ValueError,
         r"index_add: source of shape \(2,\) must have the tensor's shape"),
        (lambda m, t: m.ones(3).index_add(0, m.tensor(1), m.tensor(2.0)), ValueError,
         r"index_add: source of shape \(\) must have the tensor's shape \(3,\)"),
        (lambda m, t: m.tensor(1.0).index_add(0, m.tensor([0]), m.tensor([2.0])), ValueError,
         r"index_add: source of shape \(1,\) must have the tensor's shape \(\)"),
        (lambda m, t: t.index_add(2, m.tensor([1]), m.ones(1, 2)), ValueError,
         "index_add: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda m, t: t.index_add(0, m.tensor([1]), 1.0), TypeError,
         "index_add: source must be a Tensor, got float"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(ts, x), lambda: call(torch, tx), error, match)
    with pytest.raises(TypeError, match="index_add: alpha must be a number, got str"):
        x.index_add(0, ts.tensor([1]), ts.ones(1, 2), alpha="2")


# --- nonzero ----------------------------------------------------------------------------------
NONZERO_ARRAYS = [np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]), np.array(3.0), np.array(0.0),
                  np.zeros((0, 3)), np.array([np.nan, 0.0, -0.0, np.inf]), np.zeros((2, 0, 3)),
                  np.eye(3).reshape(3, 3, 1), np.array([True, False, True]),
                  np.array([[0, 7], [-2, 0]], dtype=np.int32), np.array([0.0, 0.0])]


@pytest.mark.parametrize("array", NONZERO_ARRAYS, ids=range(len(NONZERO_ARRAYS)))
def test_nonzero_as_pytorch(array):
    ours, theirs = pair(array)
    same(ts.nonzero(ours), torch.nonzero(theirs))
    same(ours.nonzero(), theirs.nonzero())
    same(ts.nonzero(ours, as_tuple=True), torch.nonzero(theirs, as_tuple=True))
    same(ours.nonzero(as_tuple=True), theirs.nonzero(as_tuple=True))


def test_nonzero_has_no_gradient_and_takes_as_tuple_as_a_keyword_only():
    x = ts.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    assert ts.nonzero(x).tolist() == [[0, 1], [1, 0]]
    assert not ts.nonzero(x).requires_grad
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    both_raise(lambda: x.nonzero(True), lambda: torch.ones(2).nonzero(True), TypeError,
               "takes 1 positional argument")


# --- unflatten --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dim, sizes", [((2, 12), 1, (3, 4)), ((2, 12), -1, (2, -1, 3)),
                                               ((2, 12), 1, [12]), ((12,), 0, (-1, 2, 2)),
                                               ((6, 2), 0, [1, 6, 1]), ((2, 0), 1, (3, -1)),
                                               ((2, 0), 1, (0, 5)), ((4, 3, 2), -2, (3, 1)),
                                               ((2, 12), 1, ts.Size([4, 3]))])
def test_unflatten_as_pytorch(shape, dim, sizes):
    t_sizes = torch.Size(sizes) if isinstance(sizes, ts.Size) else sizes
    same_grads(lambda x: x.unflatten(dim, sizes), lambda x: x.unflatten(dim, t_sizes),
               values(*shape))
    ours, theirs = pair(typed(values(*shape), "int64"))
    same(ts.unflatten(ours, dim, sizes), torch.unflatten(theirs, dim, t_sizes))
    same(ts.unflatten(ours, dim=dim, sizes=sizes), torch.unflatten(theirs, dim=dim,
                                                                   sizes=t_sizes))


def test_unflatten_errors_as_pytorch():
    x, tx = pair(values(2, 12))
    cases = [
        (lambda t: t.unflatten(1, (5, -1)), ValueError,
         r"unflatten: sizes \[5, -1\] don't multiply up to the size of dim 1 \(12\) of shape "
         r"\(2, 12\)"),
        (lambda t: t.unflatten(1, (5, 3)), ValueError,
         r"unflatten: sizes \[5, 3\] don't multiply up to the size of dim 1 \(12\)"),
        (lambda t: t.unflatten(1, ()), ValueError, "unflatten: sizes must be non-empty"),
        (lambda t: t.unflatten(1, (-1, -1)), ValueError,
         r"unflatten: sizes must be non-negative, but one may be -1, got \[-1, -1\]"),
        (lambda t: t.unflatten(1, (-2, -6)), ValueError,
         "unflatten: sizes must be non-negative"),
        (lambda t: t.unflatten(2, (1,)), ValueError,
         "unflatten: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda t: t.unflatten(1, 12), TypeError,
         "unflatten: sizes must be a tuple or list of ints, got 12"),
        (lambda t: t.unflatten(1, (3.0, 4)), TypeError, "unflatten: sizes must be ints"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(x), lambda: call(tx), error, match)
    both_raise(lambda: ts.zeros(2, 0).unflatten(1, (0, -1)),
               lambda: torch.zeros(2, 0).unflatten(1, (0, -1)), ValueError,
               r"unflatten: the -1 in sizes \[0, -1\] is ambiguous for dim 1 of size 0")
    both_raise(lambda: ts.tensor(1.0).unflatten(0, (1,)),
               lambda: torch.tensor(1.0).unflatten(0, (1,)), ValueError,
               "unflatten: needs a tensor with at least one dimension")


# --- diff -------------------------------------------------------------------------------------
DIFF_CASES = [((2, 4), 1, -1), ((2, 4), 2, 0), ((2, 4), 3, 1), ((2, 4), 5, -1), ((2, 4), 0, -1),
              ((5,), 2, 0), ((0,), 1, 0), ((3, 4, 2), 1, -2), ((3, 1), 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, n, dim", DIFF_CASES)
def test_diff_as_pytorch(shape, n, dim, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    same(ts.diff(ours, n, dim), torch.diff(theirs, n, dim))
    same(ours.diff(n=n, dim=dim), theirs.diff(n=n, dim=dim))
    extra = list(shape)
    extra[dim] = 2
    before, t_before = pair(typed(values(*extra), dtype))
    extra[dim] = 1
    after, t_after = pair(typed(values(*extra), dtype))
    same(ours.diff(n, dim, prepend=before, append=after),
         theirs.diff(n, dim, prepend=t_before, append=t_after))
    same(ours.diff(n, dim, append=after), theirs.diff(n, dim, append=t_after))


def test_diff_of_zero_order_is_a_copy_and_prepend_promotes_as_pytorch():
    x = ts.tensor([1.0, 4.0, 9.0])
    copy = x.diff(n=0)
    assert copy is not x and copy.tolist() == [1.0, 4.0, 9.0]
    copy.add_(1)
    assert x.tolist() == [1.0, 4.0, 9.0]
    for prepend, t_prepend in [pair(np.zeros(1, dtype=np.int64)), pair(np.zeros(1)),
                               pair(np.array([True]))]:
        same(x.diff(prepend=prepend), torch.tensor([1.0, 4.0, 9.0]).diff(prepend=t_prepend))
    assert ts.tensor([1, 4, 2], dtype=ts.uint8).diff().tolist() == [3, 254]   # wraps, as PyTorch
    assert ts.diff(ts.tensor([True, False, False, True])).tolist() == [True, False, True]


@pytest.mark.parametrize("shape, n, dim", [c for c in DIFF_CASES if c[1]])
def test_diff_gradients_as_pytorch_and_finite_differences(shape, n, dim):
    same_grads(lambda x: x.diff(n, dim), lambda x: x.diff(n, dim), values(*shape))
    extra = list(shape)
    extra[dim] = 2
    same_grads(lambda x, p, a: ts.diff(x, n, dim, prepend=p, append=a),
               lambda x, p, a: torch.diff(x, n, dim, prepend=p, append=a),
               values(*shape), values(*extra), values(*extra))
    gradchecked(lambda x, p: ts.diff(x, n, dim, prepend=p), values(*shape), values(*extra))


def test_diff_errors_as_pytorch():
    x, tx = pair(values(2, 4))
    cases = [
        (lambda m, t: m.diff(t, n=-1), ValueError,
         "diff: the order n must be non-negative, got -1"),
        (lambda m, t: m.diff(t, n=1.0), TypeError, "diff: n must be an int, got 1.0"),
        (lambda m, t: m.diff(t, dim=2), ValueError,
         "diff: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda m, t: m.diff(m.tensor(1.0)), ValueError,
         r"diff: expects a tensor with at least one dimension, got shape \(\)"),
        (lambda m, t: m.diff(t, prepend=m.zeros(3, 1, dtype=t.dtype)), ValueError,
         r"diff: prepend of shape \(3, 1\) must have the input's shape \(2, 4\) outside dim 1"),
        (lambda m, t: m.diff(t, append=m.zeros(2, dtype=t.dtype)), ValueError,
         r"diff: append of shape \(2,\) must have the input's shape \(2, 4\) outside dim 1"),
        (lambda m, t: m.diff(t, prepend=m.tensor(0.0, dtype=t.dtype)), ValueError,
         r"diff: prepend of shape \(\) must have the input's shape"),
        (lambda m, t: m.diff(t, prepend=0.0), TypeError,
         "diff: prepend must be a Tensor, got float"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(ts, x), lambda: call(torch, tx), error, match)


# --- hstack, vstack ---------------------------------------------------------------------------
STACK_CASES = [[(2,), (3,)], [(2, 1), (2, 3)], [(), ()], [(), (2,)], [(3,), (3,)],
               [(1, 2, 3), (2, 2, 3)], [(2, 0), (2, 2)], [(4,)]]


@pytest.mark.parametrize("name", ["hstack", "vstack"])
@pytest.mark.parametrize("shapes", STACK_CASES)
def test_hstack_and_vstack_as_pytorch(name, shapes):
    try:
        getattr(torch, name)([torch.zeros(s) for s in shapes])
    except RuntimeError:
        with pytest.raises(ValueError, match=f"{name}: shapes"):
            getattr(ts, name)([ts.zeros(*s) for s in shapes])
        return
    same_grads(lambda *xs: getattr(ts, name)(xs), lambda *xs: getattr(torch, name)(xs),
               *(values(*s) for s in shapes))
    gradchecked(lambda *xs: getattr(ts, name)(list(xs)), *(values(*s) for s in shapes))
    dtypes = ["int32", "float32", "bool", "float64"][:len(shapes)]
    pairs = [pair(typed(values(*s), d)) for s, d in zip(shapes, dtypes)]
    same(getattr(ts, name)([p[0] for p in pairs]), getattr(torch, name)([p[1] for p in pairs]))


def test_hstack_and_vstack_errors_as_pytorch():
    for name in ("hstack", "vstack"):
        both_raise(lambda: getattr(ts, name)([]), lambda: getattr(torch, name)([]), ValueError,
                   f"{name}: expected a non-empty list of tensors")
        both_raise(lambda: getattr(ts, name)(ts.ones(2, 3)),
                   lambda: getattr(torch, name)(torch.ones(2, 3)), TypeError,
                   f"{name}: expects a tuple or list of tensors, got a Tensor")
    both_raise(lambda: ts.hstack([ts.ones(2), ts.ones(2, 1)]),
               lambda: torch.hstack([torch.ones(2), torch.ones(2, 1)]), ValueError,
               r"hstack: shapes \[\(2,\), \(2, 1\)\] \(after 0-d and 1-d tensors take their "
               r"dims\) differ outside dim 0")
    both_raise(lambda: ts.vstack([ts.ones(2, 3), ts.ones(2)]),
               lambda: torch.vstack([torch.ones(2, 3), torch.ones(2)]), ValueError,
               r"vstack: shapes \[\(2, 3\), \(1, 2\)\] .* differ outside dim 0")


# --- tile -------------------------------------------------------------------------------------
TILE_CASES = [((2, 3), (2,)), ((2, 3), (2, 1, 2)), ((2, 3), (2, 2)), ((2, 3), ()), ((2, 3), (0,)),
              ((), (3,)), ((), ()), ((0, 2), (2, 3)), ((3,), [1, 2])]


@pytest.mark.parametrize("shape, dims", TILE_CASES)
def test_tile_as_pytorch(shape, dims):
    same_grads(lambda x: ts.tile(x, dims), lambda x: torch.tile(x, dims), values(*shape))
    same_grads(lambda x: x.tile(dims), lambda x: x.tile(dims), values(*shape))
    if dims:
        same_grads(lambda x: x.tile(*dims), lambda x: x.tile(*dims), values(*shape))
    gradchecked(lambda x: x.tile(dims), values(*shape))
    ours, theirs = pair(typed(values(*shape), "bool"))
    same(ours.tile(dims), theirs.tile(dims))


def test_tile_errors_as_pytorch():
    x, tx = pair(values(2, 3))
    both_raise(lambda: ts.tile(x, 2), lambda: torch.tile(tx, 2), TypeError,
               "tile: dims must be a tuple or list of ints, as in PyTorch, got 2")
    both_raise(lambda: x.tile(), lambda: tx.tile(), TypeError, "tile.. missing 1 required")
    both_raise(lambda: x.tile(-1), lambda: tx.tile(-1), ValueError,
               r"tile: dims must not be negative, got \(-1,\)")
    both_raise(lambda: x.tile(2.0), lambda: tx.tile(2.0), TypeError, "tile: dims must be ints")


# --- tensordot --------------------------------------------------------------------------------
TENSORDOT_CASES = [((3, 4, 5), (4, 3, 2), ([1, 0], [0, 1])), ((3, 4, 5), (4, 5, 2), 2),
                   ((2,), (3,), 0), ((2, 3, 4), (3, 4), 2), ((3, 4, 5), (4, 3, 2), [[-2], [0]]),
                   ((3, 5, 4, 6), (6, 4, 5, 3), ([2, 1, 3], [1, 2, 0])), ((), (3,), 0),
                   ((2, 3), (3, 2), ((1, 0), (0, 1))), ((2, 1), (3, 2), ([1], [0])),
                   ((2, 0), (0, 3), 1), ((2, 3), (3,), ([], []))]


@pytest.mark.parametrize("a_shape, b_shape, dims", TENSORDOT_CASES)
def test_tensordot_as_pytorch(a_shape, b_shape, dims):
    same_grads(lambda a, b: ts.tensordot(a, b, dims), lambda a, b: torch.tensordot(a, b, dims),
               values(*a_shape), values(*b_shape))
    gradchecked(lambda a, b: ts.tensordot(a, b, dims=dims), values(*a_shape), values(*b_shape))
    ours = [pair(typed(values(*s), "int64")) for s in (a_shape, b_shape)]
    same(ts.tensordot(ours[0][0], ours[1][0], dims), torch.tensordot(ours[0][1], ours[1][1], dims))


def test_tensordot_default_and_tensor_dims_as_pytorch():
    (a, ta), (b, tb) = pair(values(2, 3, 4)), pair(values(3, 4, 5))
    same(ts.tensordot(a, b), torch.tensordot(ta, tb))
    same(ts.tensordot(a, b, ts.tensor(2)), torch.tensordot(ta, tb, torch.tensor(2)))
    (c, tc) = pair(values(4, 3))
    same(ts.tensordot(a, c, dims=ts.tensor([[2, 1], [0, 1]])),
         torch.tensordot(ta, tc, dims=torch.tensor([[2, 1], [0, 1]])))


def test_tensordot_errors_as_pytorch():
    (a, ta), (b, tb) = pair(values(3, 4, 5)), pair(values(4, 3, 2))
    cases = [
        (lambda m, x, y: m.tensordot(x, y, dims=-1), ValueError,
         "tensordot: expects dims >= 0, got dims=-1"),
        (lambda m, x, y: m.tensordot(x[0, 0], y[0, 0], dims=2), ValueError,
         r"tensordot: dims=2 is more than the dims of shapes \(5,\) and \(2,\)"),
        (lambda m, x, y: m.tensordot(x, y, dims=(1, 0)), TypeError,
         r"tensordot: expects dims to be an int or a pair of lists of ints, got dims=\(1, 0\)"),
        (lambda m, x, y: m.tensordot(x, y, dims="a"), TypeError,
         "tensordot: expects dims to be an int or a pair of lists"),
        (lambda m, x, y: m.tensordot(x, y, dims=([0], [0])), ValueError,
         r"tensordot: contracted dims need one size, got 3 in dim 0 of shape \(3, 4, 5\) and "
         r"4 in dim 0 of shape \(4, 3, 2\)"),
        (lambda m, x, y: m.tensordot(x, y, dims=([0, 1], [0])), ValueError,
         "tensordot: the two lists of dims need one length"),
        (lambda m, x, y: m.tensordot(x, y, dims=([1, 1], [0, 0])), ValueError,
         "tensordot: a dim appears more than once"),
        (lambda m, x, y: m.tensordot(x, y, dims=([3], [0])), ValueError,
         "tensordot: axis 3 is out of range for a tensor with 3 dimensions"),
        (lambda m, x, y: m.tensordot(x, y.float(), dims=([1], [0])), TypeError,
         "tensordot: expects two tensors of one dtype, not bool, as in PyTorch, got float64 "
         "and float32"),
        (lambda m, x, y: m.tensordot(x > 0, y > 0, dims=([1], [0])), TypeError,
         "tensordot: expects two tensors of one dtype, not bool"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(ts, a, b), lambda: call(torch, ta, tb), error, match)


# --- meshgrid ---------------------------------------------------------------------------------
MESHGRID_CASES = [[(2,), (3,)], [(2,), (3,), (4,)], [(4,)], [(), (2,)], [(0,), (3,)],
                  [(2,), (), (3,), (1,)]]


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("shapes", MESHGRID_CASES)
def test_meshgrid_as_pytorch(shapes, indexing):
    arrays = [values(*s) for s in shapes]
    for ours_fn, theirs_fn in [(lambda *xs: ts.meshgrid(*xs, indexing=indexing),
                                lambda *xs: torch.meshgrid(*xs, indexing=indexing)),
                               (lambda *xs: ts.meshgrid(list(xs), indexing=indexing),
                                lambda *xs: torch.meshgrid(list(xs), indexing=indexing))]:
        ours = [ts.tensor(a, dtype=ts.float64, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
        got, expected = ours_fn(*ours), theirs_fn(*theirs)
        assert isinstance(got, tuple)
        same(got, expected)
        weights = [np.random.default_rng(i).standard_normal(t.shape) for i, t in enumerate(got)]
        sum((g * ts.tensor(w)).sum() for g, w in zip(got, weights)).backward()
        sum((e * torch.tensor(w)).sum() for e, w in zip(expected, weights)).backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)
    gradchecked(lambda *xs: ts.stack(ts.meshgrid(*xs, indexing=indexing)) if len(xs) > 1
                else ts.meshgrid(*xs, indexing=indexing)[0], *arrays)
    ints = [pair(typed(a, "int32")) for a in arrays]
    same(ts.meshgrid(*(p[0] for p in ints), indexing=indexing),
         torch.meshgrid(*(p[1] for p in ints), indexing=indexing))


def test_meshgrid_without_indexing_is_ij_with_pytorchs_warning():
    (a, ta), (b, tb) = pair(values(2)), pair(values(3))
    with pytest.warns(UserWarning, match="meshgrid: in an upcoming release, it will be required "
                                         "to pass the indexing argument"):
        got = ts.meshgrid(a, b)
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        expected = torch.meshgrid(ta, tb)
    same(got, expected)


def test_meshgrid_errors_as_pytorch():
    (a, ta), (b, tb) = pair(values(2)), pair(values(3))
    cases = [
        (lambda m, x, y: m.meshgrid(indexing="ij"), ValueError,
         "meshgrid: expected a non-empty list of tensors"),
        (lambda m, x, y: m.meshgrid(x, y, indexing="xx"), ValueError,
         "meshgrid: indexing must be one of \"xy\" or \"ij\", got 'xx'"),
        (lambda m, x, y: m.meshgrid(m.ones(2, 2), x, indexing="ij"), ValueError,
         r"meshgrid: expects 0-d or 1-d tensors, got shape \(2, 2\)"),
        (lambda m, x, y: m.meshgrid(x, y.float(), indexing="ij"), TypeError,
         "meshgrid: expects tensors of one dtype, got float64, float32"),
        (lambda m, x, y: m.meshgrid([1, 2], indexing="ij"), TypeError,
         "meshgrid: expected tensors, got int"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(ts, a, b), lambda: call(torch, ta, tb), error, match)


# --- in place: cumsum_, tril_, triu_, scatter_, scatter_add_, index_add_ ----------------------
INDEX = [[0, 2, 1], [2, 0, 0]]
INPLACE = {   # name -> (ours, theirs): the call on a (3, 3) tensor
    "cumsum_": (lambda t: t.cumsum_(0), lambda t: t.cumsum_(0)),
    "cumsum_-1": (lambda t: t.cumsum_(dim=-1), lambda t: t.cumsum_(dim=-1)),
    "tril_": (lambda t: t.tril_(), lambda t: t.tril_()),
    "tril_-1": (lambda t: t.tril_(-1), lambda t: t.tril_(-1)),
    "triu_": (lambda t: t.triu_(), lambda t: t.triu_()),
    "triu_1": (lambda t: t.triu_(diagonal=1), lambda t: t.triu_(diagonal=1)),
    "scatter_": (lambda t: t.scatter_(0, ts.tensor(INDEX), t.new_ones(2, 3) * 5),
                 lambda t: t.scatter_(0, torch.tensor(INDEX), t.new_ones(2, 3) * 5)),
    "scatter_value": (lambda t: t.scatter_(1, ts.tensor(INDEX), 2),
                      lambda t: t.scatter_(1, torch.tensor(INDEX), 2)),
    "scatter_add_": (lambda t: t.scatter_add_(0, ts.tensor(INDEX), t.new_ones(2, 3)),
                     lambda t: t.scatter_add_(0, torch.tensor(INDEX), t.new_ones(2, 3))),
    "index_add_": (lambda t: t.index_add_(1, ts.tensor([2, 2]), t.new_ones(3, 2), alpha=3),
                   lambda t: t.index_add_(1, torch.tensor([2, 2]), t.new_ones(3, 2), alpha=3)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "uint8"])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_ops_as_pytorch(name, dtype):
    ours_fn, theirs_fn = INPLACE[name]
    ours, theirs = pair(typed(values(3, 3), dtype))
    result = ours_fn(ours)
    assert result is ours and ours._version == 1
    theirs_fn(theirs)
    same(ours, theirs)


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_ops_change_views_and_data(name):
    ours_fn, theirs_fn = INPLACE[name]
    base, t_base = pair(values(2, 3, 3))
    view, t_view = base[1], t_base[1]
    ours_fn(view)
    theirs_fn(t_view)
    same(base, t_base)
    assert base._version == 1


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_ops_gradients_as_pytorch(name):
    ours_fn, theirs_fn = INPLACE[name]

    def ours(x, other):
        y = x * other                  # a non-leaf: in place is allowed on it
        ours_fn(y)
        return y * 2

    def theirs(x, other):
        y = x * other
        theirs_fn(y)
        return y * 2

    same_grads(ours, theirs, values(3, 3), values(3, 3))
    gradchecked(ours, values(3, 3), values(3, 3))


def test_in_place_ops_with_a_src_that_requires_grad_as_pytorch():
    def ours(x, src):
        y = x + 0
        y.scatter_(0, ts.tensor(INDEX), src).index_add_(0, ts.tensor([1, 1]), src[:, :3] * 2)
        return y.scatter_add_(1, ts.tensor(INDEX), src)

    def theirs(x, src):
        y = x + 0
        y.scatter_(0, torch.tensor(INDEX), src).index_add_(0, torch.tensor([1, 1]),
                                                           src[:, :3] * 2)
        return y.scatter_add_(1, torch.tensor(INDEX), src)

    same_grads(ours, theirs, values(3, 3), values(2, 3))


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_op_on_a_leaf_that_requires_grad_is_refused_as_pytorch(name):
    ours_fn, theirs_fn = INPLACE[name]
    ours, theirs = pair(values(3, 3), requires_grad=True)
    with pytest.raises(RuntimeError) as their_error:
        theirs_fn(theirs)
    with pytest.raises(RuntimeError) as our_error:
        ours_fn(ours)
    assert str(our_error.value) == str(their_error.value)
    assert ours._version == 0
    with ts.no_grad():                 # as an optimizer's update: allowed
        ours_fn(ours)
    assert ours._version == 1 and ours.is_leaf and ours.requires_grad


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_changing_a_saved_tensor_in_place_makes_backward_raise(name):
    ours_fn, theirs_fn = INPLACE[name]
    x = ts.tensor(values(3, 3), requires_grad=True)
    y = x * 1
    z = y * y                          # mul keeps y for its backward
    ours_fn(y)
    with pytest.raises(RuntimeError, match="mul backward: one of the tensors needed for "
                                           "gradient computation has been modified by an "
                                           "inplace operation: input 0 of shape \\(3, 3\\) is "
                                           "at version 1; expected version 0 instead"):
        z.sum().backward()
    tx = torch.tensor(values(3, 3), requires_grad=True)
    ty = tx * 1
    tz = ty * ty
    theirs_fn(ty)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tz.sum().backward()


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_changing_an_op_output_in_place_makes_its_backward_raise(name):
    ours_fn, _ = INPLACE[name]
    x = ts.tensor(values(3, 3), requires_grad=True)
    y = x.exp()                         # exp keeps its output for its backward
    ours_fn(y)
    with pytest.raises(RuntimeError, match="exp backward: .* modified by an inplace operation"):
        y.sum().backward()


def test_in_place_errors_leave_the_tensor_as_it_was():
    x = ts.tensor([[1.0, 2.0], [3.0, 4.0]])
    calls = [
        (lambda: ts.ones(3).tril_(), (ValueError, "tril: needs a tensor with at least 2 dim")),
        (lambda: x.scatter_(0, ts.tensor([[2]]), 5.0),
         (IndexError, "scatter: index 2 is out of bounds for dimension 0 with size 2")),
        (lambda: x.scatter_add_(0, ts.tensor([[0]]), ts.ones(1, 1, dtype=ts.float64)),
         (TypeError, "scatter_add: src of dtype float64 for a tensor of dtype float32")),
        (lambda: x.index_add_(0, ts.tensor([0, 1]), ts.ones(1, 2)),
         (ValueError, "index_add: 2 indices for size 1 of source's dim 0")),
        (lambda: x.cumsum_(2), (ValueError, "cumsum: axis 2 is out of range")),
        (lambda: x.cumsum_(0, dtype=ts.float64),
         (RuntimeError, "cumsum_: dtype float64 does not match the tensor's dtype float32")),
        (lambda: x.cumsum_(), (TypeError, 'cumsum_.. missing 1 required positional '
                                          'arguments: "dim"')),
        (lambda: ts.tensor([True, True]).cumsum_(0),
         (RuntimeError, "cumsum_: result type int64 can't be cast to the desired output type "
                        "bool")),
    ]
    for call, refusal in calls:
        before, version = x.tolist(), x._version
        with pytest.raises(refusal[0], match=refusal[1]):
            call()
        assert x.tolist() == before and x._version == version
    with pytest.raises(RuntimeError):
        torch.ones(2, 2).cumsum_(0, dtype=torch.float64)
    with pytest.raises(Exception):
        torch.tensor([True, True]).cumsum_(0)


def test_cumsum_in_place_keeps_the_dtype_and_wraps_as_pytorch():
    ours, theirs = pair(np.array([200, 100, 3], dtype=np.uint8))
    same(ours.cumsum_(0), theirs.cumsum_(0))
    assert ours.tolist() == [200, 44, 47]
    ours, theirs = pair(np.array(2.5))
    same(ours.cumsum_(0), theirs.cumsum_(0))
    ours, theirs = pair(np.ones((2, 2), dtype=np.int32))
    same(ours.cumsum_(1, dtype=ts.int32), theirs.cumsum_(1, dtype=torch.int32))


def test_tril_and_triu_in_place_of_bool_and_batches_as_pytorch():
    for name in ("tril_", "triu_"):
        ours, theirs = pair(values(2, 3, 4) > 0)
        same(getattr(ours, name)(1), getattr(theirs, name)(1))
        ours, theirs = pair(values(2, 3, 4))
        same(getattr(ours, name)(-2), getattr(theirs, name)(-2))


# --- the graph: one node per op, named after it -----------------------------------------------
def test_scatter_family_is_one_node_of_its_name():
    x = ts.tensor(values(3, 4), requires_grad=True)
    src = ts.tensor(values(2, 4), requires_grad=True)
    index = ts.tensor([[0, 1, 2, 0], [2, 0, 0, 1]])
    nodes = {"scatter": x.scatter(0, index, src), "scatter_add": x.scatter_add(0, index, src),
             "index_add": x.index_add(0, ts.tensor([1, 1]), src)}
    for name, out in nodes.items():
        assert out.grad_fn.name == name
        assert out.grad_fn.parents == (None, None)
    assert x.scatter(0, index, 1.0).grad_fn.name == "scatter"
    assert x.repeat_interleave(2).grad_fn.name == "getitem"
    assert x.tile(2).grad_fn.name == "repeat"


# --- the fixes: all/any are 0-d arrays, amax over non-empty dims, NumPy integer dims ----------
@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("array", [[1.0, 0.0], [1.0, 2.0], [0.0, 0.0], [], 3.0, [[True]]])
def test_all_and_any_without_dim_are_0d_bool_tensors_as_pytorch(name, array):
    ours, theirs = pair(np.array(array))
    got = getattr(ours, name)()
    same(got, getattr(theirs, name)())
    assert type(got.array) is np.ndarray and got.array.shape == ()   # not a numpy.bool_
    same(getattr(ts, name)(ours), getattr(torch, name)(theirs))
    assert got.view(1).tolist() == [bool(getattr(theirs, name)())]
    assert got.item() is bool(getattr(theirs, name)())
    assert ts.stack([got, got]).tolist() == [bool(getattr(theirs, name)())] * 2


def test_all_and_any_on_another_device_stay_there(standin):  # noqa: F811
    x = ts.tensor([1.0, 0.0], device="standin")
    for name in ("all", "any"):
        got = getattr(x, name)()
        assert got.device == "standin" and got.shape == () and got.dtype == ts.bool
    assert x.any().item() is True and x.all().item() is False


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("shape, dim, keepdim", [((0, 3), 1, False), ((0, 3), 1, True),
                                                 ((0, 3), -1, False), ((2, 0, 3), (0, 2), False),
                                                 ((2, 0, 3), [0, -1], True), ((3, 0), 0, False)])
def test_amax_and_amin_reduce_non_empty_dims_of_empty_tensors_as_pytorch(name, shape, dim,
                                                                          keepdim):
    ours, theirs = pair(np.zeros(shape))
    same(getattr(ts, name)(ours, dim, keepdim), getattr(torch, name)(theirs, dim, keepdim))
    same(getattr(ours, name)(dim=dim, keepdim=keepdim),
         getattr(theirs, name)(dim=dim, keepdim=keepdim))
    same_grads(lambda x: getattr(x, name)(dim, keepdim), lambda x: getattr(x, name)(dim, keepdim),
               np.zeros(shape))


def test_max_and_min_over_dims_of_empty_tensors_as_pytorch():
    ours, theirs = pair(np.zeros((0, 3)))
    got, expected = ours.max(1), theirs.max(1)
    same(got.values, expected.values)
    same(got.indices, expected.indices)
    same(ours.max(dim=(1,)), theirs.amax(dim=(1,)))
    same(ours.min((1,), keepdim=True), theirs.amin((1,), keepdim=True))


def test_max_of_an_empty_reduced_dim_is_still_refused_as_pytorch():
    cases = [
        (lambda m: m.amax(m.zeros(0, 3)), ValueError,
         r"max: cannot take the max of an empty tensor of shape \(0, 3\)"),
        (lambda m: m.zeros(0, 3).max(), ValueError,
         r"max: cannot take the max of an empty tensor of shape \(0, 3\)"),
        (lambda m: m.amin(m.zeros(0, 3), 0), ValueError,
         r"min: cannot take the min over dim 0 of size 0 in shape \(0, 3\)"),
        (lambda m: m.amax(m.zeros(2, 0, 3), (1, 2)), ValueError,
         r"max: cannot take the max over dim 1 of size 0 in shape \(2, 0, 3\)"),
        (lambda m: m.zeros(0, 3).max(0), ValueError,
         r"max: cannot reduce dim 0 of size 0 in shape \(0, 3\)"),
    ]
    for call, error, match in cases:
        both_raise(lambda: call(ts), lambda: call(torch), error, match)


NUMPY_DIMS = [np.int64(1), np.int32(-1), (np.int64(0), np.int16(1)), [np.int64(-2)],
              (np.int8(1),)]


@pytest.mark.parametrize("dim", NUMPY_DIMS, ids=range(len(NUMPY_DIMS)))
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "norm_dim",
                                  "all", "any", "squeeze", "flip"])
def test_numpy_integer_dims_are_taken_as_pytorch(name, dim):
    array = values(2, 3)
    # PyTorch takes NumPy integers as dims (torch.norm, written in Python, takes ints only:
    # it gets the same dims as Python ints)
    python_dim = [int(d) for d in dim] if isinstance(dim, (tuple, list)) else int(dim)
    if name == "norm_dim":
        same_grads(lambda x: x.norm(dim=dim), lambda x: x.norm(dim=python_dim), array)
        return
    if name == "flip":
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        same_grads(lambda x: x.flip(dims), lambda x: x.flip(dims), array)
        return
    if name in ("all", "any"):
        ours, theirs = pair(array > 0)
        same(getattr(ours, name)(dim), getattr(theirs, name)(dim))
        return
    same_grads(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim), array)
    same_grads(lambda x: getattr(ts, name)(x, dim), lambda x: getattr(torch, name)(x, dim), array)


def test_numpy_bools_are_still_refused_as_dims_as_pytorch():
    x, tx = pair(values(2, 3))
    both_raise(lambda: x.sum(np.bool_(True)), lambda: tx.sum(np.bool_(True)), TypeError,
               "sum: axis must be None, an int or a tuple of ints")
    with pytest.raises(TypeError, match="sum: axis entries must be ints, got True"):
        x.sum((True,))


# --- on another device (the stand-in: NumPy arrays of a type of their own) -------------------
DEVICE_OPS = {
    "scatter": lambda x, y, i: x.scatter(0, i, y) + x.scatter(1, i, 2.0),
    "scatter_add": lambda x, y, i: ts.scatter_add(x, 0, i, y * y),
    "index_add": lambda x, y, i: x.index_add(1, i[0], y, alpha=2),
    "repeat_interleave": lambda x, y, i: x.repeat_interleave(i[0], dim=1).sum(1) + y.sum(1) +
    x.repeat_interleave(2)[:2],
    "diff": lambda x, y, i: ts.diff(x, 2, 1, prepend=y, append=y) .sum(1) + x.diff(dim=0).sum(),
    "hstack": lambda x, y, i: ts.hstack([x, y]).sum(1) + ts.vstack([x, y[0]]).sum(0)[:2],
    "tile": lambda x, y, i: ts.tile(x, (2, 1))[1:3] * y,
    "tensordot": lambda x, y, i: ts.tensordot(x, y, dims=([1], [1])) +
    ts.tensordot(x, y.T, dims=1),
    "meshgrid": lambda x, y, i: sum(ts.meshgrid(x[0], y[1], indexing="xy")),
    "in_place": lambda x, y, i: (x * y).cumsum_(1).tril_().triu_(-1).scatter_(0, i, y)
    .scatter_add_(0, i, y).index_add_(0, i[:, 0], y),
    "unflatten": lambda x, y, i: (x * y).reshape(-1).unflatten(0, (2, -1)).broadcast_to((3, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(DEVICE_OPS))
def test_ops_stay_on_another_device_and_match_the_cpu(standin, name):  # noqa: F811
    x_array, y_array = values(2, 2), values(2, 2, low=0.5, high=2.0)
    results = {}
    for device in ("cpu", "standin"):
        x = ts.tensor(x_array, dtype=ts.float64, device=device, requires_grad=True)
        y = ts.tensor(y_array, dtype=ts.float64, device=device, requires_grad=True)
        index = ts.tensor([[1, 0], [0, 1]], device=device)
        out = DEVICE_OPS[name](x, y, index)
        assert out.device == device
        out.sum().backward()
        results[device] = [out.numpy(), x.grad.numpy(), y.grad.numpy()]
        assert x.grad.device == device and y.grad.device == device
    for cpu, other in zip(results["cpu"], results["standin"]):
        np.testing.assert_allclose(other, cpu, rtol=1e-12, atol=1e-12)


def test_nonzero_stays_on_another_device(standin):  # noqa: F811
    x = ts.tensor([[0.0, 2.0], [3.0, 0.0]], device="standin")
    assert ts.nonzero(x).device == "standin" and ts.nonzero(x).tolist() == [[0, 1], [1, 0]]
    rows, columns = x.nonzero(as_tuple=True)
    assert rows.device == "standin" and rows.tolist() == [0, 1] and columns.tolist() == [1, 0]
    assert ts.nonzero(ts.tensor(1.0, device="standin")).shape == (1, 0)
    counts = ts.repeat_interleave(ts.tensor([2, 1], device="standin"))
    assert counts.device == "standin" and counts.tolist() == [0, 0, 1]

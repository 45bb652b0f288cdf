"""Tensor functions and methods from PyTorch's tail: cumsum, cumprod, flip, roll, tril, triu,
sign, log1p, expm1, reciprocal, rsqrt, square, maximum, minimum, prod, norm, isnan, isfinite,
outer and dot. Each is checked against PyTorch as the oracle (values, dtypes, shapes, errors
where PyTorch refuses too) and the differentiable ones for their gradients, against PyTorch in
float64 and against finite differences."""
import math

import numpy as np
import pytest

import tinyseq as ts
from gradcheck import gradcheck
from test_device_standin import standin  # noqa: F401  (the fixture)

torch = pytest.importorskip("torch")

torch.set_num_threads(1)  # tiny tensors: PyTorch's thread pool only adds waiting

_rng = np.random.default_rng(31)
INF, NAN = math.inf, math.nan


def values(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, size=shape)


def pair(array, requires_grad=False):
    """The same values as a tinyseq and a torch tensor."""
    array = np.asarray(array)
    return (ts.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def same(ours, theirs, rtol=None, atol=1e-12):
    """Same dtype, shape and values (NaN where PyTorch has NaN; float32 sums may round in
    another order); tuples element by element."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b, rtol, atol)
        return
    if rtol is None:
        rtol, atol = (1e-6, 1e-6) if theirs.dtype == torch.float32 else (1e-12, atol)
    assert isinstance(ours, ts.Tensor)
    assert dtype_name(ours) == dtype_name(theirs), (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy()
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(ours.numpy(), expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(ours.numpy(), expected)


def same_grads(ours_fn, theirs_fn, *arrays, rtol=1e-10, atol=1e-12):
    """Values and the gradients of sum(out * R) for float64 leaves of ``arrays``."""
    ours = [ts.tensor(a, dtype=ts.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    same(out, expected, rtol, atol)
    weight = np.random.default_rng(0).standard_normal(out.shape)
    (out * ts.tensor(weight)).sum().backward()
    (expected * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is None:                   # PyTorch sends none (norm with p = 0)
            assert a.grad is None or not a.grad.numpy().any()
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol,
                                       equal_nan=True)


def gradchecked(fn, *arrays):
    gradcheck(fn, [ts.tensor(a, dtype=ts.float64, requires_grad=True) for a in arrays])


SHAPES = [(), (0,), (5,), (2, 3), (2, 3, 4), (0, 3)]
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, -2.0, 0.5, 1e-8, -1e-8, 30.0, 100.0, INF, -INF, NAN])


def both_raise(ours_fn, theirs_fn, ours_error, match):
    """PyTorch refuses it too, and we refuse it with ``ours_error`` naming the op."""
    with pytest.raises(Exception):
        theirs_fn()
    with pytest.raises(ours_error, match=match):
        ours_fn()


def typed(array, dtype):
    """``array`` as ``dtype``: integers from rounded values, bools from their sign."""
    if dtype == "bool":
        return array > 0
    if dtype in ("int32", "int64", "uint8", "int16"):
        return np.abs(np.round(array * 3)).astype(dtype) if dtype == "uint8" else \
            np.round(array * 3).astype(dtype)
    return array.astype(dtype)


# --- elementwise: sign, log1p, expm1, reciprocal, rsqrt, square, isnan, isfinite ------------
UNARY = ["sign", "log1p", "expm1", "reciprocal", "rsqrt", "square", "isnan", "isfinite"]
DTYPES = ["float64", "float32", "float16", "int64", "int32", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_and_dtypes_as_pytorch(name, shape, dtype):
    array = typed(values(*shape), dtype)
    ours, theirs = pair(array)
    expected = getattr(torch, name)(theirs)
    rtol = {"float16": 1e-3, "float32": 1e-6}.get(dtype_name(expected), 1e-12)
    same(getattr(ts, name)(ours), expected, rtol=rtol, atol=0)
    same(getattr(ours, name)(), expected, rtol=rtol, atol=0)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_special_values_as_pytorch_without_warnings(name, dtype):
    ours, theirs = pair(SPECIAL.astype(dtype))
    with np.errstate(all="raise"):       # PyTorch is silent at 1 / 0, log1p(-1), ...
        got = getattr(ours, name)()
    same(got, getattr(torch, name)(theirs), rtol=1e-6, atol=0)


def test_sign_is_zero_at_nan_and_minus_zero_as_pytorch():
    got = ts.tensor([NAN, -0.0, -3.0, INF]).sign()
    np.testing.assert_array_equal(got.numpy(), [0.0, 0.0, -1.0, 1.0])
    assert not np.signbit(got.numpy()[1])                  # +0, as PyTorch (NumPy: -0)
    assert ts.tensor([True, False]).sign().tolist() == [True, False]


def test_square_is_a_power_in_the_graph_and_keeps_integers():
    x = ts.tensor([1.5, -2.0], requires_grad=True)
    assert type(x.square().grad_fn).__name__ == "PowScalar"   # PyTorch: PowBackward0
    assert ts.square(ts.tensor([3, -4], dtype=ts.int32)).tolist() == [9, 16]
    assert ts.square(ts.tensor([3, -4], dtype=ts.int32)).dtype == ts.int32


UNARY_GRADS = {
    "sign": dict(low=-2.0, high=2.0),
    "log1p": dict(low=-0.9, high=3.0),
    "expm1": dict(low=-3.0, high=3.0),
    "reciprocal": dict(low=0.3, high=3.0),
    "rsqrt": dict(low=0.3, high=3.0),
    "square": dict(low=-2.0, high=2.0),
}


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("name", sorted(UNARY_GRADS))
def test_unary_gradients_as_pytorch_and_finite_differences(name, shape):
    array = values(*shape, **UNARY_GRADS[name])
    if name == "reciprocal":
        array = array * np.where(_rng.uniform(size=shape) < 0.5, -1, 1)
    same_grads(lambda x: getattr(x, name)() * x, lambda x: getattr(torch, name)(x) * x, array)
    gradchecked(lambda x: getattr(ts, name)(x), array)


def test_unary_gradients_at_the_edges_as_pytorch():
    same_grads(lambda x: x.sign(), torch.sign, np.array([0.0, -0.0, 2.0, -1.0]))
    same_grads(lambda x: x.reciprocal(), torch.reciprocal, np.array([0.0, -0.0, 2.0]))
    same_grads(lambda x: x.rsqrt(), torch.rsqrt, np.array([0.0, 4.0, -1.0]))
    same_grads(lambda x: x.log1p(), torch.log1p, np.array([-1.0, -2.0, 0.0]))
    same_grads(lambda x: x.expm1(), torch.expm1, np.array([800.0, -800.0, 0.0]))


def test_isnan_and_isfinite_are_bool_without_gradient():
    x = ts.tensor([1.0, NAN, INF, -INF], requires_grad=True)
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isfinite().tolist() == [True, False, False, False]
    assert not x.isnan().requires_grad and not x.isfinite().requires_grad
    for value in (2.5, NAN, 2, True):                      # 0-d: a 0-d bool tensor each
        for name in ("isnan", "isfinite"):
            got = getattr(ts, name)(ts.tensor(value))
            same(got, getattr(torch, name)(torch.tensor(value)))
            assert type(got.array) is np.ndarray


# --- maximum and minimum ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)),
                                    ((), ()), ((0, 3), (3,))])
def test_maximum_and_minimum_as_pytorch(name, shapes):
    a, b = values(*shapes[0]), values(*shapes[1])
    (oa, ta), (ob, tb) = pair(a), pair(b)
    same(getattr(ts, name)(oa, ob), getattr(torch, name)(ta, tb))
    same(getattr(oa, name)(ob), getattr(ta, name)(tb))
    same_grads(getattr(ts, name), getattr(torch, name), a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_propagate_nan_and_split_ties_as_pytorch(name):
    a = np.array([1.0, 2.0, 3.0, NAN, NAN, -0.0])
    b = np.array([1.0, 1.0, 4.0, 1.0, NAN, 0.0])
    same_grads(getattr(ts, name), getattr(torch, name), a, b)
    x = ts.tensor([2.0, 5.0], requires_grad=True)
    getattr(ts, name)(x, ts.tensor([2.0, 5.0])).sum().backward()
    assert x.grad.tolist() == [0.5, 0.5]                  # ties: half each


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("dtypes", [("int64", "float32"), ("int32", "int64"), ("bool", "bool"),
                                    ("float32", "float64"), ("uint8", "int32"),
                                    ("float16", "int64")])
def test_maximum_and_minimum_promote_as_pytorch(name, dtypes):
    a, b = typed(values(2, 3), dtypes[0]), typed(values(3), dtypes[1])
    (oa, ta), (ob, tb) = pair(a), pair(b)
    same(getattr(ts, name)(oa, ob), getattr(torch, name)(ta, tb), rtol=1e-6)
    same(getattr(ts, name)(ob, oa), getattr(torch, name)(tb, ta), rtol=1e-6)
    zero_d = np.array(0.5, dtype="float64")                # a 0-d float64 among int64 dims
    same(getattr(ts, name)(ts.tensor(typed(a, "int64")), ts.tensor(zero_d)),
         getattr(torch, name)(torch.tensor(typed(a, "int64")), torch.tensor(zero_d)))


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_take_tensors_only_as_pytorch(name):
    for framework in (ts, torch):
        x = framework.tensor([1.0, 2.0])
        for call in (lambda: getattr(framework, name)(x, 1.5),
                     lambda: getattr(framework, name)(1.5, x), lambda: getattr(x, name)(0)):
            with pytest.raises(TypeError, match=f"{name}: expected a Tensor" if framework is ts
                               else "must be Tensor"):
                call()
    x = ts.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=rf"{name}: .*\(inputs \(2,\) float32, \(3,\) float32\)"):
        getattr(ts, name)(x, ts.zeros(3))


def test_max_and_min_of_another_tensor_are_maximum_and_minimum():
    a, b = ts.tensor([1.0, NAN, 3.0]), ts.tensor([2.0, 0.0, 3.0])
    np.testing.assert_array_equal(a.max(b).numpy(), [2.0, NAN, 3.0])
    np.testing.assert_array_equal(ts.min(a, b).numpy(), [1.0, NAN, 3.0])


# --- cumsum and cumprod ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((5,), -1), ((2, 3, 4), 1), ((2, 3, 4), -1),
                                       ((2, 3, 4), 0), ((), 0), ((), -1), ((0, 3), 0),
                                       ((0, 3), 1), ((3, 0), -1)])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumsum_and_cumprod_as_pytorch(name, shape, dim, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = getattr(torch, name)(theirs, dim)
    same(getattr(ts, name)(ours, dim), expected, rtol=1e-6)
    same(getattr(ours, name)(dim), expected, rtol=1e-6)
    same(getattr(ours, name)(dim=dim), expected, rtol=1e-6)
    same(getattr(ours, name)(axis=dim), expected, rtol=1e-6)     # NumPy's spelling, as PyTorch
    same(getattr(ours, name)(dim, dtype=ts.float64),
         getattr(torch, name)(theirs, dim, dtype=torch.float64))


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumsum_and_cumprod_errors(name):
    x = ts.ones(2, 3)
    with pytest.raises(TypeError, match=f'{name}\\(\\) missing 1 required positional '
                                        f'arguments: "dim"'):
        getattr(x, name)()
    with pytest.raises(ValueError, match=f"{name}: axis 2 is out of range for a tensor with 2 "
                                         f"dimensions"):
        getattr(ts, name)(x, 2)
    with pytest.raises(ValueError, match=f"{name}: axis -3 is out of range"):
        getattr(x, name)(-3)
    with pytest.raises(TypeError, match=f"{name}: axis must be an int, got \\(0,\\)"):
        getattr(x, name)((0,))
    with pytest.raises(ValueError, match=rf"{name}: dim 1 is out of range for a 0-d tensor"):
        getattr(ts.tensor(2.0), name)(1)
    with pytest.raises(TypeError, match="got both dim= and axis="):
        getattr(x, name)(0, axis=1)
    for bad in (2, (0,)):                                  # PyTorch refuses the same
        with pytest.raises((IndexError, TypeError)):
            getattr(torch, name)(torch.ones(2, 3), bad)


@pytest.mark.parametrize("shape,dim", [((6,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2),
                                       ((), 0)])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumsum_and_cumprod_gradients_as_pytorch(name, shape, dim):
    array = values(*shape)
    same_grads(lambda x: getattr(x, name)(dim), lambda x: getattr(torch, name)(x, dim), array)
    gradchecked(lambda x: getattr(ts, name)(x, dim), array)


@pytest.mark.parametrize("zeros", [[0], [5], [2], [1, 3], [0, 1], [2, 3, 4], [0, 5]])
def test_cumprod_gradient_at_zeros_as_pytorch(zeros):
    array = values(3, 6)
    array[1, zeros] = 0.0                 # only the middle row has zeros
    array[2, zeros[-1]] = 0.0
    same_grads(lambda x: x.cumprod(1), lambda x: torch.cumprod(x, 1), array)
    same_grads(lambda x: x.cumprod(0), lambda x: torch.cumprod(x, 0), array)
    gradchecked(lambda x: x.cumprod(1), array)


def test_cumsum_of_integers_stays_exact():
    big = ts.tensor([2 ** 62, 1, -3])
    assert big.cumsum(0).tolist() == [2 ** 62, 2 ** 62 + 1, 2 ** 62 - 2]
    assert big.cumsum(0).dtype == ts.int64


# --- prod ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "bool"])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (0, 3)])
def test_prod_of_everything_as_pytorch(shape, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = torch.prod(theirs)
    same(ts.prod(ours), expected, rtol=1e-6)
    same(ours.prod(), expected, rtol=1e-6)
    same(ours.prod(dtype=ts.float64), torch.prod(theirs, dtype=torch.float64))


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((2, 3), 1), ((2, 3), -2), ((2, 3, 4), -1),
                                       ((), 0), ((), -1), ((0, 3), 0), ((0, 3), 1)])
def test_prod_over_a_dim_as_pytorch(shape, dim, keepdim, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = torch.prod(theirs, dim, keepdim=keepdim)
    same(ts.prod(ours, dim, keepdim), expected)
    same(ours.prod(dim=dim, keepdim=keepdim), expected)
    same(ours.prod(axis=dim, keepdims=keepdim), expected)
    same(ours.prod(np.int64(dim), keepdim), expected)          # a NumPy int is an int too
    same(ours.prod(dim, keepdim, dtype=ts.float32),
         torch.prod(theirs, dim, keepdim, dtype=torch.float32), rtol=1e-6)


def test_prod_without_dim_keeps_the_dims_with_keepdim():
    assert ts.ones(2, 3).prod(keepdim=True).shape == (1, 1)   # as sum; PyTorch refuses it


def test_prod_errors():
    x = ts.ones(2, 3)
    with pytest.raises(TypeError, match=r"prod: axis must be an int, got \(0, 1\)"):
        x.prod((0, 1))                                    # one dim, as PyTorch's prod
    with pytest.raises(TypeError):
        torch.prod(torch.ones(2, 3), (0, 1))
    with pytest.raises(ValueError, match="prod: axis 2 is out of range for a tensor with 2 "
                                         "dimensions"):
        ts.prod(x, 2)
    with pytest.raises(ValueError, match="prod: dim 1 is out of range for a 0-d tensor"):
        ts.tensor(3.0).prod(1)


@pytest.mark.parametrize("zeros", [[], [0], [3], [1, 2], [0, 1, 2, 3]])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod_gradient_with_zeros_as_pytorch(zeros, dim):
    array = values(3, 4)
    array[1, zeros] = 0.0
    array[2, zeros[:1]] = 0.0
    fn = (lambda x: x.prod()) if dim is None else (lambda x: x.prod(dim))
    torch_fn = torch.prod if dim is None else (lambda x: torch.prod(x, dim))
    same_grads(fn, torch_fn, array)
    gradchecked(fn, array)
    same_grads(lambda x: x.prod(0, keepdim=True), lambda x: x.prod(0, keepdim=True), array)


def test_prod_gradient_of_0d_and_empty_as_pytorch():
    same_grads(lambda x: x.prod(), torch.prod, np.array(2.5))
    same_grads(lambda x: x.prod(0, True), lambda x: torch.prod(x, 0, True), np.array(-1.5))
    same_grads(lambda x: x.prod(0), lambda x: torch.prod(x, 0), np.zeros((0, 3)))


# --- norm ------------------------------------------------------------------------------------
NORM_PS = [2, "fro", None, 1, INF, -INF, 0, 3, 0.5, -1, 2.5]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1), [1, 0], (-1,), ()])
@pytest.mark.parametrize("p", NORM_PS)
def test_norm_as_pytorch(p, dim, keepdim):
    array = values(3, 4)
    array[1] = 0.0                                          # a row whose norm is 0
    array[2, 1] = 0.0
    ours, theirs = pair(array)
    expected = torch.norm(theirs, p, dim, keepdim)
    same(ts.norm(ours, p, dim, keepdim), expected)
    same(ours.norm(p=p, dim=dim, keepdim=keepdim), expected)
    same_grads(lambda x: x.norm(p, dim, keepdim), lambda x: torch.norm(x, p, dim, keepdim), array)


@pytest.mark.parametrize("p", [2, 1, INF, 3])
@pytest.mark.parametrize("shape,dim", [((), None), ((), 0), ((), -1), ((5,), None), ((2, 3, 4), 1),
                                       ((2, 3, 4), (0, 2)), ((0, 3), None), ((0, 3), 0),
                                       ((0, 3), 1), ((3, 0), 0)])
def test_norm_shapes_as_pytorch(p, shape, dim):
    array = values(*shape)
    ours, theirs = pair(array)
    try:
        expected = torch.norm(theirs, p, dim)
    except RuntimeError:                                    # inf over an empty dim
        with pytest.raises(ValueError, match=r"norm: cannot take the inf norm over an empty dim"):
            ours.norm(p, dim)
        return
    same(ours.norm(p, dim), expected)
    same(ours.norm(p, dim, keepdim=True), torch.norm(theirs, p, dim, keepdim=True))
    same_grads(lambda x: x.norm(p, dim), lambda x: torch.norm(x, p, dim), array)


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, INF])
def test_norm_gradient_by_finite_differences(p):
    array = values(3, 4)
    gradchecked(lambda x: x.norm(p, 1), array)
    gradchecked(lambda x: x.norm(p), array)


def test_norm_gradient_at_zero_and_at_ties_as_pytorch():
    for p in (2, 1, INF, -INF, 3, 0.5, -1, 1.5):
        same_grads(lambda x: x.norm(p), lambda x: torch.norm(x, p), np.zeros(3))
        same_grads(lambda x: x.norm(p, 1), lambda x: torch.norm(x, p, 1),
                   np.array([[3.0, -3.0, 1.0], [0.0, 2.0, -2.0], [NAN, 1.0, 0.0]]))
    x = ts.tensor([0.0, 0.0], requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0]                    # not NaN: PyTorch's 0 at 0
    x = ts.tensor([3.0, -3.0, 1.0], requires_grad=True)
    x.norm(INF).backward()
    assert x.grad.tolist() == [0.5, -0.5, 0.0]              # ties share it


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_norm_keeps_a_float_dtype_and_takes_dtype_as_pytorch(dtype):
    ours, theirs = pair(values(2, 3).astype(dtype))
    same(ours.norm(), torch.norm(theirs), rtol=1e-3, atol=0)
    same(ours.norm(dtype=ts.float64), torch.norm(theirs, dtype=torch.float64))


def test_norm_errors():
    x = ts.ones(2, 3, 4)
    with pytest.raises(RuntimeError, match="norm: expects a floating point tensor, as PyTorch, "
                                           "got int64"):
        ts.tensor([3, 4]).norm()
    with pytest.raises(RuntimeError):
        torch.tensor([3, 4]).norm()
    with pytest.raises(ValueError, match="norm: p must be 'fro' or a number, got 'nuc'"):
        x.norm("nuc")
    with pytest.raises(TypeError, match="norm: p must be 'fro' or a number, got True"):
        x.norm(True)
    with pytest.raises(ValueError, match=r"norm: p='fro' takes at most 2 dims, got "
                                         r"dim=\(0, 1, 2\)"):
        x.norm("fro", (0, 1, 2))
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, 4).norm("fro", (0, 1, 2))
    assert ts.norm(x, 2, (0, 1, 2)).item() == pytest.approx(math.sqrt(24))
    with pytest.raises(ValueError, match=r"norm: repeated axis in \(0, 0\)"):
        x.norm(2, (0, 0))
    with pytest.raises(ValueError, match="norm: axis 3 is out of range for a tensor with 3 "
                                         "dimensions"):
        x.norm(2, 3)
    with pytest.raises(ValueError, match=r"norm: cannot take the -inf norm over an empty dim of "
                                         r"shape \(0, 3\) .*\(inputs \(0, 3\) float32\)"):
        ts.zeros(0, 3).norm(-INF, 0)


# --- flip, roll, tril, triu --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
@pytest.mark.parametrize("shape,dims", [((5,), (0,)), ((5,), [-1]), ((2, 3, 4), (0, 2)),
                                        ((2, 3, 4), (-1, 1, 0)), ((2, 3), ()), ((), (0,)),
                                        ((), (-1,)), ((0, 3), (0, 1))])
def test_flip_as_pytorch(shape, dims, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = torch.flip(theirs, dims)
    same(ts.flip(ours, dims), expected)
    same(ours.flip(dims), expected)
    same(ours.flip(dims=dims), expected)
    if dims:
        same(ours.flip(*dims), expected)
    if dtype == "float64":
        same_grads(lambda x: x.flip(dims), lambda x: torch.flip(x, dims), values(*shape))


def test_flip_is_a_copy_as_pytorch():
    x = ts.tensor([1.0, 2.0, 3.0])
    y = x.flip(0)
    y[0] = 10.0
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_flip_errors_as_pytorch():
    x = ts.ones(2, 3)
    with pytest.raises(ValueError, match=r"flip: repeated axis in \(0, -2\)"):
        x.flip(0, -2)
    with pytest.raises(ValueError, match="flip: axis 2 is out of range for a tensor with 2 "
                                         "dimensions"):
        x.flip(2)
    with pytest.raises(TypeError, match=r"flip: dims must be a tuple or list of ints, as in "
                                        r"PyTorch, got 0"):
        ts.flip(x, 0)
    with pytest.raises(TypeError):
        torch.flip(torch.ones(2, 3), 0)
    with pytest.raises(TypeError, match='flip\\(\\) missing 1 required positional arguments'):
        x.flip()
    with pytest.raises(TypeError, match="flip: axis entries must be ints, got 0.0"):
        x.flip(0.0)
    with pytest.raises(TypeError, match="flip: dims= must be a tuple or list of ints given "
                                        "alone, got 0"):
        x.flip(dims=0)
    with pytest.raises(TypeError):
        torch.ones(2, 3).flip(dims=0)


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("shape,shifts,dims", [((5,), 2, None), ((5,), -7, 0), ((2, 3, 4), 1, None),
                                               ((2, 3, 4), (1, -1), (0, 2)),
                                               ((2, 3, 4), [5, 2], [-1, -1]), ((2, 3), 4, -2),
                                               ((), 3, None), ((0, 3), 1, 0), ((0, 3), 1, None),
                                               ((2, 3), (1,), (1,))])
def test_roll_as_pytorch(shape, shifts, dims, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = torch.roll(theirs, shifts, dims)
    same(ts.roll(ours, shifts, dims), expected)
    same(ours.roll(shifts=shifts, dims=dims), expected)
    if dtype == "float64":
        same_grads(lambda x: x.roll(shifts, dims), lambda x: torch.roll(x, shifts, dims),
                   values(*shape))


def test_roll_errors():
    x = ts.ones(2, 3)
    for shifts, dims in [((1, 2), 0), (1, (0, 1)), ((1, 2), None), ((), ())]:
        with pytest.raises(ValueError, match="roll: shifts and dims must align"):
            x.roll(shifts, dims)
        with pytest.raises(RuntimeError):
            torch.roll(torch.ones(2, 3), shifts, dims)
    with pytest.raises(ValueError, match="roll: axis 2 is out of range for a tensor with 2 "
                                         "dimensions"):
        x.roll(1, 2)
    with pytest.raises(ValueError, match=r"roll: needs a tensor with at least one dimension, got "
                                         r"shape \(\)"):
        ts.tensor(2.0).roll(1, 0)
    with pytest.raises(TypeError, match="roll: shifts must be ints, got 1.5"):
        x.roll(1.5)


@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
@pytest.mark.parametrize("diagonal", [0, 1, -1, 2, -3, 10, -10])
@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (5, 2), (2, 3, 4), (2, 1, 3, 3), (0, 3),
                                   (3, 0)])
@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_and_triu_as_pytorch(name, shape, diagonal, dtype):
    ours, theirs = pair(typed(values(*shape), dtype))
    expected = getattr(torch, name)(theirs, diagonal)
    same(getattr(ts, name)(ours, diagonal), expected)
    same(getattr(ours, name)(diagonal=diagonal), expected)
    if dtype == "float64":
        same_grads(lambda x: getattr(x, name)(diagonal),
                   lambda x: getattr(torch, name)(x, diagonal), values(*shape))


@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_and_triu_errors_and_infinities(name):
    for shape in [(3,), ()]:
        with pytest.raises(ValueError, match=rf"{name}: needs a tensor with at least 2 "
                                             rf"dimensions, got shape {re_shape(shape)}"):
            getattr(ts.ones(shape), name)()
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            getattr(torch.ones(shape), name)()
    with pytest.raises(TypeError, match=f"{name}: diagonal must be an int, got 1.0"):
        getattr(ts.ones(2, 2), name)(1.0)
    infinite = np.array([[1.0, INF], [-INF, NAN]])
    same(getattr(ts.tensor(infinite), name)(), getattr(torch.tensor(infinite), name)())


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


# --- outer and dot ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("int64", "float32"),
                                    ("int32", "int64"), ("bool", "bool"), ("float32", "float64")])
@pytest.mark.parametrize("sizes", [(3, 4), (1, 1), (0, 3), (2, 0)])
def test_outer_as_pytorch(sizes, dtypes):
    a, b = typed(values(sizes[0]), dtypes[0]), typed(values(sizes[1]), dtypes[1])
    (oa, ta), (ob, tb) = pair(a), pair(b)
    expected = torch.outer(ta, tb)
    same(ts.outer(oa, ob), expected, rtol=1e-6)
    same(oa.outer(ob), expected, rtol=1e-6)
    same_grads(ts.outer, torch.outer, values(sizes[0]), values(sizes[1]))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
@pytest.mark.parametrize("size", [0, 1, 5])
def test_dot_as_pytorch(size, dtype):
    a, b = typed(values(size), dtype), typed(values(size), dtype)
    (oa, ta), (ob, tb) = pair(a), pair(b)
    expected = torch.dot(ta, tb)
    same(ts.dot(oa, ob), expected, rtol=1e-6)
    same(oa.dot(ob), expected, rtol=1e-6)
    same_grads(ts.dot, torch.dot, values(size), values(size))
    gradchecked(ts.dot, values(size), values(size))


def test_outer_and_dot_errors_as_pytorch():
    v, m = ts.ones(3), ts.ones(2, 3)
    for name in ("outer", "dot"):
        with pytest.raises(ValueError, match=rf"{name}: expects two 1-d tensors.* got shapes "
                                             rf"\(2, 3\) and \(3,\)"):
            getattr(ts, name)(m, v)
        with pytest.raises(ValueError, match=rf"{name}: expects two 1-d tensors.* got shapes "
                                             rf"\(\) and \(3,\)"):
            getattr(ts, name)(ts.tensor(1.0), v)
        with pytest.raises(TypeError, match=f"{name}: expected a Tensor, got int"):
            getattr(v, name)(2)
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.ones(2, 3), torch.ones(3))
    with pytest.raises(ValueError, match=r"dot: expects two 1-d tensors of one length, got "
                                         r"shapes \(3,\) and \(2,\)"):
        ts.dot(v, ts.ones(2))
    with pytest.raises(TypeError, match="dot: expects two vectors of one dtype, not bool, as in "
                                        "PyTorch, got float32 and int64"):
        ts.dot(v, ts.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError):
        torch.dot(torch.ones(3), torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="dot: expects two vectors of one dtype, not bool"):
        ts.dot(ts.tensor([True]), ts.tensor([True]))
    with pytest.raises(NotImplementedError):
        torch.dot(torch.tensor([True]), torch.tensor([True]))


# --- the graph: one node per call, named after the op (dot: a matmul of two vectors) ----------
def test_each_op_is_one_node_of_its_name():
    x = ts.tensor(values(3, 4), requires_grad=True)
    nodes = {
        "cumsum": x.cumsum(1), "cumprod": x.cumprod(0), "flip": x.flip(0), "roll": x.roll(1),
        "tril": x.tril(), "triu": x.triu(), "sign": x.sign(), "log1p": x.log1p(),
        "expm1": x.expm1(), "reciprocal": x.reciprocal(), "rsqrt": x.rsqrt(),
        "maximum": x.maximum(x), "minimum": x.minimum(x), "prod": x.prod(1), "norm": x.norm(),
        "matmul": x[0].dot(x[1]),
    }
    for name, out in nodes.items():
        assert out.grad_fn.name == name
        assert out.grad_fn.parents in ((None,), (None, None)) or name == "matmul"


# --- on another device (the stand-in: NumPy arrays of a type of their own) -------------------
DEVICE_OPS = {
    "cumsum": lambda x, y: x.cumsum(1) * y,
    "cumprod": lambda x, y: (x * y).cumprod(-1),
    "flip": lambda x, y: x.flip(0, 1) + y,
    "roll": lambda x, y: x.roll((1, 2), (0, 1)) + x.roll(1) * y,
    "tril": lambda x, y: x.tril(-1) + x.triu(1) * y,
    "elementwise": lambda x, y: x.sign() * x + (x * x + 1).log1p() + x.expm1() + y.reciprocal()
    + (y * y).rsqrt() + x.square(),
    "maximum": lambda x, y: ts.maximum(x, y) - ts.minimum(x, y * 2),
    "prod": lambda x, y: x.prod(1) + (x * y).prod(),
    "norm": lambda x, y: x.norm(dim=1) + x.norm(1, 0).sum() + (x * y).norm(INF) + x.norm(3),
    "outer_dot": lambda x, y: ts.outer(x[0], y[1]) + ts.dot(x[1], y[0]),
    "isnan": lambda x, y: x * x.isnan() + y * (x / 0).isfinite(),
}


@pytest.mark.parametrize("name", sorted(DEVICE_OPS))
def test_ops_stay_on_another_device_and_match_the_cpu(standin, name):  # noqa: F811
    x_array, y_array = values(2, 3), values(2, 3, low=0.5, high=2.0)
    x_array[0, 1] = 0.0                                     # the zero paths too
    results = {}
    for device in ("cpu", "standin"):
        x = ts.tensor(x_array, dtype=ts.float64, device=device, requires_grad=True)
        y = ts.tensor(y_array, dtype=ts.float64, device=device, requires_grad=True)
        with np.errstate(divide="ignore", invalid="ignore"):     # x / 0
            out = DEVICE_OPS[name](x, y)
        assert out.device == device
        out.sum().backward()
        results[device] = [out.numpy(), x.grad.numpy(), y.grad.numpy()]
        assert x.grad.device == device
    for cpu, other in zip(results["cpu"], results["standin"]):
        np.testing.assert_allclose(other, cpu, rtol=1e-12, atol=1e-12)

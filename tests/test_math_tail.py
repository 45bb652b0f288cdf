"""The elementwise math of tensor_math.py: sinh, cosh, asin, acos, atan, asinh, acosh, atanh,
log2, log10, exp2, trunc, frac, sgn, logit, deg2rad, rad2deg, nan_to_num, atan2, hypot, fmod,
logaddexp, logaddexp2, xlogy, heaviside, copysign and float_power, their aliases and in-place
forms. Values, dtypes, special values and gradients are checked against PyTorch as the oracle
(those tests skip without it), and every differentiable op against finite differences."""
import math

import numpy as np
import pytest

import tinyseq as ts
from gradcheck import gradcheck

_rng = np.random.default_rng(47)
INF, NAN = math.inf, math.nan
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, -2.0, 0.5, -0.5, 1e-8, 2.0, 30.0, 100.0, INF, -INF,
                    NAN])

# name: the range its gradient is checked on (away from poles and jumps)
UNARY = {
    "sinh": (-3.0, 3.0), "cosh": (-3.0, 3.0), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "atan": (-3.0, 3.0), "asinh": (-3.0, 3.0), "acosh": (1.2, 4.0), "atanh": (-0.9, 0.9),
    "log2": (0.2, 4.0), "log10": (0.2, 4.0), "exp2": (-3.0, 3.0), "trunc": (0.1, 0.9),
    "frac": (0.1, 0.9), "sgn": (0.1, 2.0), "logit": (0.1, 0.9), "deg2rad": (-90.0, 90.0),
    "rad2deg": (-3.0, 3.0), "nan_to_num": (-3.0, 3.0),
}
ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
           "arccosh": "acosh", "arctanh": "atanh", "fix": "trunc", "arctan2": "atan2"}
# name: the range of the second operand in gradient checks
BINARY = {"atan2": (0.5, 2.0), "hypot": (0.5, 2.0), "fmod": (0.7, 0.9), "logaddexp": (-2.0, 2.0),
          "logaddexp2": (-2.0, 2.0), "xlogy": (0.5, 2.0), "copysign": (0.5, 2.0),
          "float_power": (0.5, 2.0)}


def torch_module():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def values(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, size=shape)


def same(ours, theirs, rtol=None, atol=0.0):
    """Same dtype, shape and values (NaN where PyTorch has NaN)."""
    assert isinstance(ours, ts.Tensor)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], \
        (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy()
    if rtol is None:
        rtol = 1e-6 if expected.dtype == np.float32 else 1e-14   # a few ulps: other libms
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(ours.numpy(), expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(ours.numpy(), expected)


def same_grads(ours_fn, theirs_fn, *arrays, rtol=1e-12, atol=1e-15):
    """Values and the gradients of sum(out * R) for float64 leaves of ``arrays``."""
    torch = torch_module()
    ours = [ts.tensor(a, dtype=ts.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    same(out, expected, rtol=rtol, atol=atol)
    weight = np.random.default_rng(0).standard_normal(out.shape)
    with np.errstate(all="ignore"):                # the sum of infinities and NaN
        loss = (out * ts.tensor(weight)).sum()
    loss.backward()
    (expected * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours, theirs):
        # PyTorch's gradient of sgn is a ZeroTensor, which has no numpy()
        expected_grad = torch.zeros_like(b) if b.grad._is_zerotensor() else b.grad
        np.testing.assert_allclose(a.grad.numpy(), expected_grad.numpy(), rtol=rtol, atol=atol,
                                   equal_nan=True)


def typed(array, dtype):
    if dtype == "bool":
        return array > 0
    if dtype == "int64":
        return np.round(array * 2).astype(dtype)
    return array.astype(dtype)


# --- unary ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_dtypes_as_pytorch(name, dtype):
    torch = torch_module()
    low, high = UNARY[name]
    array = typed(values(2, 3, low=low - 1, high=high + 1), dtype)
    ours, theirs = ts.tensor(array), torch.tensor(array)
    try:
        expected = getattr(torch, name)(theirs)
    except NotImplementedError:                    # frac of integers, trunc of bools
        with pytest.raises(NotImplementedError, match=name):
            getattr(ts, name)(ours)
        return
    same(getattr(ts, name)(ours), expected)
    same(getattr(ours, name)(), expected)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_special_values_as_pytorch_without_warnings(name, dtype):
    torch = torch_module()
    ours, theirs = ts.tensor(SPECIAL.astype(dtype)), torch.tensor(SPECIAL.astype(dtype))
    with np.errstate(all="raise"):
        got = getattr(ours, name)()
    same(got, getattr(torch, name)(theirs))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients_at_special_values_as_pytorch(name):
    torch = torch_module()
    same_grads(lambda x: getattr(x, name)(), getattr(torch, name), SPECIAL)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients_as_pytorch(name, shape):
    torch = torch_module()
    low, high = UNARY[name]
    array = values(*shape, low=low, high=high)
    same_grads(lambda x: getattr(ts, name)(x) * x, lambda x: getattr(torch, name)(x) * x, array)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients_against_finite_differences(name):
    low, high = UNARY[name]
    x = ts.tensor(values(2, 3, low=low, high=high), dtype=ts.float64, requires_grad=True)
    gradcheck(lambda t: getattr(ts, name)(t) * t, [x])


def test_aliases_are_the_same_functions_and_methods():
    for alias, name in ALIASES.items():
        assert getattr(ts, alias) is getattr(ts, name)
        assert getattr(ts.Tensor, alias) is getattr(ts.Tensor, name)
        assert getattr(ts.Tensor, alias + "_") is getattr(ts.Tensor, name + "_")


def test_sgn_is_sign_for_real_tensors():
    x = ts.tensor([NAN, -0.0, -3.0, INF])
    assert ts.sgn(x).tolist() == ts.sign(x).tolist() == [0.0, 0.0, -1.0, 1.0]
    assert ts.tensor([True, False]).sgn().tolist() == [True, False]
    assert ts.tensor([-4, 0, 5]).sgn().tolist() == [-1, 0, 1]


@pytest.mark.parametrize("eps", [None, 0.1, 0.25, 1e-6, -1.0, 0])
def test_logit_with_eps_as_pytorch(eps):
    torch = torch_module()
    array = np.array([-0.5, 0.0, 1e-7, 0.1, 0.25, 0.3, 0.75, 0.9, 1.0, 1.5, NAN])
    same_grads(lambda x: ts.logit(x, eps=eps), lambda x: torch.logit(x, eps=eps), array)
    same_grads(lambda x: x.logit(eps), lambda x: x.logit(eps), array)
    for dtype in ("float32", "float64"):
        same(ts.tensor(array.astype(dtype)).logit(eps),
             torch.tensor(array.astype(dtype)).logit(eps))


def test_logit_refuses_an_eps_that_is_not_a_number():
    with pytest.raises(TypeError, match="eps"):
        ts.logit(ts.tensor([0.5]), eps="0.1")


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "bool"])
@pytest.mark.parametrize("replacements", [{}, dict(nan=2.0), dict(nan=-1.0, posinf=5.0),
                                          dict(neginf=-7.5), dict(nan=1, posinf=2, neginf=3)])
def test_nan_to_num_as_pytorch(dtype, replacements):
    torch = torch_module()
    array = np.array([NAN, INF, -INF, 1.5, -2.0, 0.0])
    array = array.astype(dtype) if dtype.startswith("float") else typed(array[3:], dtype)
    expected = torch.nan_to_num(torch.tensor(array), **replacements)
    same(ts.nan_to_num(ts.tensor(array), **replacements), expected)
    same(ts.tensor(array).nan_to_num(**replacements), expected)


def test_nan_to_num_passes_the_gradient_only_where_finite():
    torch = torch_module()
    array = np.array([NAN, INF, -INF, 1.5, -2.0, 0.0])
    same_grads(lambda x: ts.nan_to_num(x, nan=1.0, posinf=2.0),
               lambda x: torch.nan_to_num(x, nan=1.0, posinf=2.0), array)


def test_deg2rad_and_rad2deg_are_exact_as_pytorch():
    torch = torch_module()
    for dtype in ("float64", "float32"):
        array = values(50, low=-720.0, high=720.0).astype(dtype)
        for name in ("deg2rad", "rad2deg"):
            same(getattr(ts, name)(ts.tensor(array)), getattr(torch, name)(torch.tensor(array)),
                 rtol=0)


def test_the_float_results_are_the_bits_numpy_computes():
    x = values(200, low=0.05, high=0.95)
    for name, reference in [("sinh", np.sinh), ("cosh", np.cosh), ("asin", np.arcsin),
                            ("acos", np.arccos), ("atan", np.arctan), ("asinh", np.arcsinh),
                            ("atanh", np.arctanh), ("log2", np.log2), ("log10", np.log10),
                            ("exp2", np.exp2)]:
        for dtype in (np.float64, np.float32):
            np.testing.assert_array_equal(getattr(ts, name)(ts.tensor(x.astype(dtype))).numpy(),
                                          reference(x.astype(dtype)))
    np.testing.assert_array_equal(ts.acosh(ts.tensor(1 + x)).numpy(), np.arccosh(1 + x))


# --- binary -----------------------------------------------------------------------------------
def torch_function(torch, name):
    return getattr(torch, name)


@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float32"),
                                    ("float32", "float64"), ("int64", "int64"),
                                    ("int64", "float32"), ("bool", "float32")])
@pytest.mark.parametrize("name", sorted(BINARY) + ["heaviside"])
def test_binary_values_and_dtypes_as_pytorch(name, dtypes):
    torch = torch_module()
    a = typed(values(2, 3, low=-3.0, high=3.0), dtypes[0])
    b = typed(values(3, low=0.6, high=2.5), dtypes[1])
    theirs = (torch.tensor(a), torch.tensor(b))
    ours = (ts.tensor(a), ts.tensor(b))
    try:
        expected = torch_function(torch, name)(*theirs)
    except (RuntimeError, NotImplementedError):
        with pytest.raises((RuntimeError, NotImplementedError), match=name):
            getattr(ts, name)(*ours)
        return
    same(getattr(ts, name)(*ours), expected)
    same(getattr(ours[0], name)(ours[1]), expected)


@pytest.mark.parametrize("name", sorted(BINARY) + ["heaviside"])
def test_binary_number_operands_as_pytorch(name):
    """A number where PyTorch takes one (fmod, xlogy, copysign, float_power: on the right;
    xlogy, float_power: on the left too), a TypeError where it does not."""
    torch = torch_module()
    for array in (values(4), np.array([3, -4, 0, 7])):
        ours, theirs = ts.tensor(array), torch.tensor(array)
        for number in (2, 2.5, -1.5):
            for args_ours, args_theirs in [((ours, number), (theirs, number)),
                                           ((number, ours), (number, theirs))]:
                try:
                    expected = torch_function(torch, name)(*args_theirs)
                except TypeError:
                    with pytest.raises(TypeError):
                        getattr(ts, name)(*args_ours)
                    continue
                except (RuntimeError, NotImplementedError):
                    continue
                same(getattr(ts, name)(*args_ours), expected)
            try:
                expected = getattr(theirs, name)(number)
            except TypeError:
                with pytest.raises(TypeError):
                    getattr(ours, name)(number)
                continue
            same(getattr(ours, name)(number), expected)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((3, 1), (1, 4)), ((), (2, 2)),
                                    ((2, 2), ())])
def test_binary_broadcasting_gradients_as_pytorch(name, shapes):
    torch = torch_module()
    low, high = BINARY[name]
    a = values(*shapes[0], low=0.3, high=2.0)
    b = values(*shapes[1], low=low, high=high)
    same_grads(lambda x, y: getattr(ts, name)(x, y), lambda x, y: getattr(torch, name)(x, y),
               a, b, rtol=1e-11)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_against_finite_differences(name):
    low, high = BINARY[name]
    a = ts.tensor(values(2, 3, low=0.3, high=2.0), dtype=ts.float64, requires_grad=True)
    b = ts.tensor(values(3, low=low, high=high), dtype=ts.float64, requires_grad=True)
    gradcheck(getattr(ts, name), [a, b])
    if name in ("fmod", "xlogy", "copysign", "float_power"):     # those that take a number
        a.grad = None
        gradcheck(lambda x: getattr(ts, name)(x, 1.5), [a])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_special_values_and_gradients_as_pytorch(name):
    """Every pair of special values: the origin, infinities, NaN, signed zeros."""
    torch = torch_module()
    grid = np.array([0.0, -0.0, 1.0, -2.0, 0.5, INF, -INF, NAN])
    a, b = np.meshgrid(grid, grid)
    with np.errstate(all="raise"):
        same_grads(getattr(ts, name), getattr(torch, name), a.ravel(), b.ravel(), atol=0)


def test_heaviside_as_pytorch_and_without_gradient():
    torch = torch_module()
    x = np.array([-1.0, -0.0, 0.0, 2.0, NAN, INF, -INF])
    for v in (np.array([0.5]), np.array([NAN]), np.linspace(0, 1, 7)):
        same(ts.heaviside(ts.tensor(x), ts.tensor(v)), torch.heaviside(torch.tensor(x),
                                                                     torch.tensor(v)))
    ints = np.array([-3, 0, 4])
    same(ts.tensor(ints).heaviside(ts.tensor([7])),
         torch.tensor(ints).heaviside(torch.tensor([7])))
    leaf = ts.tensor(x, requires_grad=True)
    assert not ts.heaviside(leaf, ts.tensor([0.5], dtype=ts.float64)).requires_grad
    with pytest.raises(RuntimeError, match="different dtypes"):
        ts.heaviside(ts.tensor([1.0]), ts.tensor([0.5], dtype=ts.float64))


def test_refusals_as_pytorch():
    torch = torch_module()
    for name in ("hypot", "logaddexp", "logaddexp2"):
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(torch.tensor([1, 2]), torch.tensor([3, 4]))
        with pytest.raises(NotImplementedError, match=name):
            getattr(ts, name)(ts.tensor([1, 2]), ts.tensor([3, 4]))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.fmod(torch.tensor([5]), torch.tensor([0]))
    with pytest.raises(ZeroDivisionError, match="fmod"):   # as tinyseq's % and //
        ts.fmod(ts.tensor([5]), ts.tensor([0]))
    with pytest.raises(TypeError):
        ts.atan2(2.0, 3.0)
    with pytest.raises(TypeError):
        ts.sinh(1.0)


def test_fmod_has_the_sign_of_the_dividend_and_keeps_integers():
    torch = torch_module()
    a, b = np.array([5, -5, 5, -5, 0]), np.array([3, 3, -3, -3, 2])
    same(ts.fmod(ts.tensor(a), ts.tensor(b)), torch.fmod(torch.tensor(a), torch.tensor(b)))
    assert ts.fmod(ts.tensor(a), ts.tensor(b)).tolist() == [2, -2, 2, -2, 0]
    assert ts.fmod(ts.tensor([5.5, -5.5]), 2).tolist() == [1.5, -1.5]


def test_float_power_computes_in_float64_and_the_gradient_keeps_the_leaf_dtype():
    torch = torch_module()
    base = np.array([0.0, 2.0, -2.0, 1.5], dtype=np.float32)
    exponent = np.array([0.0, 0.5, 2.0, -1.0], dtype=np.float32)
    ours = [ts.tensor(base, requires_grad=True), ts.tensor(exponent, requires_grad=True)]
    theirs = [torch.tensor(base, requires_grad=True), torch.tensor(exponent, requires_grad=True)]
    out, expected = ts.float_power(*ours), torch.float_power(*theirs)
    same(out, expected)
    out.sum().backward()
    expected.sum().backward()
    for a, b in zip(ours, theirs):
        assert a.grad.dtype == ts.float32
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, equal_nan=True)
    same(ts.float_power(2, ts.tensor([1, 2, 3])), torch.float_power(2, torch.tensor([1, 2, 3])))
    same(ts.tensor([1, 2, 3]).float_power(2), torch.tensor([1, 2, 3]).float_power(2))


def test_xlogy_is_zero_where_x_is_zero_unless_y_is_nan():
    torch = torch_module()
    x, y = np.array([0.0, 0.0, 0.0, 2.0, 0.0]), np.array([0.0, -1.0, NAN, 3.0, INF])
    same(ts.xlogy(ts.tensor(x), ts.tensor(y)), torch.xlogy(torch.tensor(x), torch.tensor(y)))
    same(ts.xlogy(0, ts.tensor(y)), torch.xlogy(0, torch.tensor(y)))


# --- in place ---------------------------------------------------------------------------------
INPLACE_UNARY = sorted(UNARY) + ["arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
                                 "fix"]
INPLACE_BINARY = ["atan2", "arctan2", "hypot", "fmod", "xlogy", "copysign", "float_power"]


def _base_name(name):
    return ALIASES.get(name, name)


@pytest.mark.parametrize("name", INPLACE_UNARY + INPLACE_BINARY)
def test_in_place_as_the_out_of_place_result_and_gradient(name):
    low, high = UNARY.get(_base_name(name), (0.3, 0.9))
    array = values(2, 3, low=low, high=high)
    args = (ts.tensor(values(3, low=0.6, high=1.5)),) if name in INPLACE_BINARY else ()
    expected = getattr(ts.tensor(array), name)(*args)
    leaf = ts.tensor(array, dtype=ts.float64, requires_grad=True)
    x = leaf * 1.0
    result = getattr(x, name + "_")(*args)
    assert result is x and x._version == 1
    np.testing.assert_array_equal(x.numpy(), expected.numpy())
    (x * x).sum().backward()
    reference = ts.tensor(array, dtype=ts.float64, requires_grad=True)
    y = getattr(reference, name)(*args)
    (y * y).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", INPLACE_UNARY + INPLACE_BINARY + ["heaviside"])
def test_in_place_refuses_a_leaf_that_requires_grad(name):
    x = ts.tensor([0.5, 0.25], dtype=ts.float64, requires_grad=True)
    args = () if name in INPLACE_UNARY else (ts.tensor([0.5, 0.5], dtype=ts.float64),)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(x, name + "_")(*args)
    assert x._version == 0


def test_in_place_version_check_catches_a_changed_saved_input():
    leaf = ts.tensor([0.5, 0.25], dtype=ts.float64, requires_grad=True)
    x = leaf * 1.0
    y = x.asin()                                   # saves x
    x.sinh_()
    with pytest.raises(RuntimeError, match="version"):
        y.sum().backward()


def test_in_place_on_integers_as_pytorch():
    torch = torch_module()
    for name in ("sinh", "log2", "logit", "deg2rad"):
        with pytest.raises(RuntimeError):
            getattr(torch.tensor([1, 2]), name + "_")()
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(ts.tensor([1, 2]), name + "_")()
    for name in ("trunc", "sgn", "nan_to_num"):
        ours, theirs = ts.tensor([-3, 0, 4]), torch.tensor([-3, 0, 4])
        getattr(ours, name + "_")()
        same(ours, getattr(theirs, name + "_")())
    ours, theirs = ts.tensor([5, -5]), torch.tensor([5, -5])
    same(ours.fmod_(3), theirs.fmod_(3))
    with pytest.raises(RuntimeError):
        torch.tensor([1.0]).float_power_(2)
    with pytest.raises(RuntimeError, match="float_power_"):
        ts.tensor([1.0]).float_power_(2)
    same(ts.tensor([1.5], dtype=ts.float64).float_power_(2),
         torch.tensor([1.5], dtype=torch.float64).float_power_(2))

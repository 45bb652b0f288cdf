"""PyTorch's remaining samplers and whole-tensor comparisons: randperm, bernoulli and
Tensor.bernoulli_, normal in its overloads, poisson, randint_like, empty_like, isclose, allclose
and equal. Random values cannot equal PyTorch's, so the samplers are checked for their
signatures, shapes, dtypes, gradients and errors against PyTorch, for their statistics, for
reproducibility under ``manual_seed``, and on the stand-in device against the same draws on
"cpu". The functions are taken from their modules, so these tests pass before and after
tinyseq/__init__.py exports them (and then check that the exports are the same functions)."""
import inspect
import itertools
import math

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import compare, creation
from tinyseq import random as ts_random
from test_device_standin import StandinArray, standin  # noqa: F401  (the stand-in device)

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle here")

NEW_FUNCTIONS = ("randperm", "bernoulli", "normal", "poisson", "randint_like", "empty_like")
NEW_COMPARISONS = ("isclose", "allclose", "equal")


class _Ours:
    """tinyseq as a namespace like ``torch``: its exported names, then the new functions from
    their modules."""

    def __getattr__(self, name):
        for module in (ts, creation, compare):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(name)


ours = _Ours()


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def outcome(call, framework):
    """("ok", shape, dtype, requires_grad) of ``call(framework)``, or ("error", type)."""
    try:
        result = call(framework)
    except Exception as error:          # noqa: BLE001  (the oracle's kind of error is compared)
        return ("error", type(error))
    if isinstance(result, bool):
        return ("ok", result)
    return ("ok", tuple(result.shape), dtype_name(result), result.requires_grad)


def assert_as_pytorch(call):
    """``call`` gives tinyseq what it gives PyTorch: a result of the same shape, dtype and
    requires_grad (or the same bool), or an error (the kinds may differ: tinyseq raises
    ValueError and TypeError where PyTorch raises RuntimeError)."""
    theirs = outcome(call, torch)
    mine = outcome(call, ours)
    assert mine == theirs if theirs[0] == "ok" else mine[0] == "error", (mine, theirs)


# --- the exports are these functions; signatures as PyTorch's ---------------------------------
@pytest.mark.parametrize("name", NEW_FUNCTIONS + NEW_COMPARISONS)
def test_exported_names_are_these_functions(name):
    module = compare if name in NEW_COMPARISONS else creation
    assert getattr(ts, name) is getattr(module, name)


def test_bernoulli_in_place_is_a_tensor_method():
    t = ts.zeros(4)
    assert t.bernoulli_(1.0) is t and t.numpy().tolist() == [1.0] * 4


SIGNATURES = {
    creation.randperm: "(n, *, generator=None, dtype=tinyseq.int64, device='cpu', "
                       "requires_grad=False)",
    creation.bernoulli: "(input, p=None, *, generator=None)",
    ts.Tensor.bernoulli_: "(self, p=0.5, *, generator=None)",
    creation.normal: "(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, "
                     "requires_grad=False)",
    creation.poisson: "(input, generator=None)",
    creation.randint_like: "(input, low=0, high=None, *, dtype=None, device=None, "
                           "requires_grad=False)",
    creation.empty_like: "(input, *, dtype=None, device=None, requires_grad=False)",
    compare.isclose: "(input, other, rtol=1e-05, atol=1e-08, equal_nan=False)",
    compare.allclose: "(input, other, rtol=1e-05, atol=1e-08, equal_nan=False)",
    compare.equal: "(input, other)",
}


@pytest.mark.parametrize("function", SIGNATURES, ids=lambda f: f.__name__)
def test_signatures_follow_pytorchs_names_and_defaults(function):
    assert str(inspect.signature(function)) == SIGNATURES[function]
    assert function.__doc__ and ("PyTorch" in function.__doc__ or "torch." in function.__doc__)


@needs_torch
@pytest.mark.parametrize("call", [
    lambda fw: fw.randperm(n=5), lambda fw: fw.bernoulli(input=fw.zeros(2)),
    lambda fw: fw.normal(mean=fw.zeros(2)), lambda fw: fw.normal(mean=0.0, std=1.0, size=(2,)),
    lambda fw: fw.poisson(input=fw.ones(2)), lambda fw: fw.randint_like(input=fw.ones(2), high=3),
    lambda fw: fw.randint_like(fw.ones(2), low=1, high=3),
    lambda fw: fw.empty_like(input=fw.ones(2)),
    lambda fw: fw.isclose(input=fw.ones(2), other=fw.ones(2), rtol=0.0, atol=0.0, equal_nan=True),
    lambda fw: fw.allclose(input=fw.ones(2), other=fw.ones(2)),
    lambda fw: fw.equal(input=fw.ones(2), other=fw.ones(2)),
])
def test_keywords_are_pytorchs(call):
    assert_as_pytorch(call)


# --- randperm -----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_randperm_is_a_permutation_of_int64(n):
    p = creation.randperm(n)
    assert p.dtype == ts.int64 and tuple(p.shape) == (n,) and not p.requires_grad
    assert sorted(p.numpy().tolist()) == list(range(n))


@needs_torch
@pytest.mark.parametrize("call", [
    lambda fw: fw.randperm(5, dtype=fw.int32), lambda fw: fw.randperm(10, dtype=fw.int16),
    lambda fw: fw.randperm(128, dtype=fw.int8), lambda fw: fw.randperm(129, dtype=fw.int8),
    lambda fw: fw.randperm(256, dtype=fw.uint8), lambda fw: fw.randperm(257, dtype=fw.uint8),
    lambda fw: fw.randperm(2049, dtype=fw.float16), lambda fw: fw.randperm(2050, dtype=fw.float16),
    lambda fw: fw.randperm(6, dtype=fw.float32, requires_grad=True),
    lambda fw: fw.randperm(6, dtype=fw.float64), lambda fw: fw.randperm(6, requires_grad=True),
    lambda fw: fw.randperm(3, dtype=fw.bool), lambda fw: fw.randperm(-1),
    lambda fw: fw.randperm(5.0), lambda fw: fw.randperm(True), lambda fw: fw.randperm("5"),
    lambda fw: fw.randperm(fw.tensor(4)), lambda fw: fw.randperm(4, device="cpu"),
])
def test_randperm_dtypes_and_refusals_as_pytorch(call):
    assert_as_pytorch(call)


@pytest.mark.parametrize("call,error,message", [
    (lambda: creation.randperm(-1), ValueError, "randperm: n must be non-negative, got -1"),
    (lambda: creation.randperm(2.0), TypeError, "randperm: n must be an int"),
    (lambda: creation.randperm(129, dtype=ts.int8), ValueError,
     "n=129 is too large for dtype int8"),
    (lambda: creation.randperm(2050, dtype=ts.float16), ValueError, "up to 2048 exactly"),
    (lambda: creation.randperm(2, dtype=ts.bool), TypeError, "dtype bool"),
    (lambda: creation.randperm(2, requires_grad=True), RuntimeError, "floating point dtype"),
])
def test_randperm_errors_name_the_function_and_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_randperm_in_other_dtypes_holds_the_same_permutation():
    for dtype in (ts.int32, ts.int16, ts.uint8, ts.float16, ts.float32, ts.float64):
        ts.manual_seed(3)
        p = creation.randperm(200, dtype=dtype)
        ts.manual_seed(3)
        assert p.dtype == dtype and p.numpy().tolist() == creation.randperm(200).numpy().tolist()
    leaf = creation.randperm(4, dtype=ts.float32, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf


def test_randperm_draws_every_order_about_equally_often():
    counts = {}
    for _ in range(6000):
        order = tuple(creation.randperm(3).numpy().tolist())
        counts[order] = counts.get(order, 0) + 1
    assert sorted(counts) == sorted(itertools.permutations(range(3)))
    assert all(abs(c - 1000) < 5 * math.sqrt(1000) for c in counts.values()), counts
    firsts = np.array([creation.randperm(10).numpy()[0] for _ in range(5000)])
    assert np.all(np.abs(np.bincount(firsts, minlength=10) - 500) < 5 * math.sqrt(500))


# --- bernoulli and bernoulli_ ---------------------------------------------------------------
def test_bernoulli_draws_ones_with_the_probabilities_input_holds():
    p = ts.tensor(np.linspace(0.0, 1.0, 11), dtype=ts.float64).expand(20000, 11)
    draws = creation.bernoulli(p)
    assert draws.dtype == ts.float64 and tuple(draws.shape) == (20000, 11)
    values = draws.numpy()
    assert set(np.unique(values)) <= {0.0, 1.0}
    assert np.all(values[:, 0] == 0) and np.all(values[:, -1] == 1)
    sigma = np.sqrt(np.linspace(0, 1, 11) * (1 - np.linspace(0, 1, 11)) / 20000)
    assert np.all(np.abs(values.mean(axis=0) - np.linspace(0, 1, 11)) <= 5 * sigma + 1e-12)


@pytest.mark.parametrize("dtype", [ts.float32, ts.float64, ts.int64, ts.int32, ts.uint8, ts.bool])
def test_bernoulli_with_p_keeps_input_shape_and_dtype(dtype):
    x = ts.zeros(400, 50, dtype=dtype)
    draws = creation.bernoulli(x, 0.3)
    assert draws.dtype == dtype and tuple(draws.shape) == (400, 50)
    assert abs(draws.numpy().astype(float).mean() - 0.3) < 5 * math.sqrt(0.21 / 20000)
    assert creation.bernoulli(x, 0).numpy().sum() == 0
    assert creation.bernoulli(x, 1.0).numpy().astype(float).sum() == 20000


def test_bernoulli_of_a_0d_and_an_empty_tensor():
    certain = creation.bernoulli(ts.tensor(1.0))
    assert certain.shape == () and certain.item() == 1.0
    assert tuple(creation.bernoulli(ts.zeros(0, 3)).shape) == (0, 3)
    assert creation.bernoulli(ts.zeros(2), ts.tensor(1.0)).numpy().tolist() == [1.0, 1.0]


BERNOULLI_CALLS = [
    lambda fw: fw.bernoulli(fw.full((3,), 0.5)),
    lambda fw: fw.bernoulli(fw.tensor([0.2, 0.4], dtype=fw.float64)),
    lambda fw: fw.bernoulli(fw.tensor([1, 0])),                   # int probabilities
    lambda fw: fw.bernoulli(fw.tensor([True, False])),
    lambda fw: fw.bernoulli(fw.tensor([1, 0]), 0.5),
    lambda fw: fw.bernoulli(fw.tensor([True, False]), 0.5),
    lambda fw: fw.bernoulli(fw.zeros(3), 1),
    lambda fw: fw.bernoulli(fw.zeros(3), True),
    lambda fw: fw.bernoulli(fw.zeros(3), p=fw.tensor(0.5)),
    lambda fw: fw.bernoulli(fw.zeros(3), fw.full((3,), 0.5)),     # only bernoulli(p) takes that
    lambda fw: fw.bernoulli(fw.zeros(3), 1.5),
    lambda fw: fw.bernoulli(fw.zeros(3), -0.1),
    lambda fw: fw.bernoulli(fw.zeros(3), float("nan")),
    lambda fw: fw.bernoulli(fw.tensor([0.5, 1.5])),
    lambda fw: fw.bernoulli(fw.tensor([-0.5])),
    lambda fw: fw.bernoulli(fw.tensor([float("nan")])),
    lambda fw: fw.bernoulli([0.5]),
    lambda fw: fw.bernoulli(fw.zeros(3), "a"),
]


@needs_torch
@pytest.mark.parametrize("call", BERNOULLI_CALLS)
def test_bernoulli_shapes_dtypes_and_refusals_as_pytorch(call):
    assert_as_pytorch(call)


@pytest.mark.parametrize("call,error,message", [
    (lambda: creation.bernoulli(ts.zeros(2), 1.5), ValueError,
     r"bernoulli: p must be in \[0, 1\], got 1.5"),
    (lambda: creation.bernoulli(ts.tensor([0.5, -0.25])), ValueError,
     r"bernoulli: input must hold probabilities in \[0, 1\], got -0.25"),
    (lambda: creation.bernoulli(ts.tensor([0.5, float("nan")])), ValueError, "got nan"),
    (lambda: creation.bernoulli(ts.tensor(1.5)), ValueError, "input must hold .* got 1.5"),
    (lambda: creation.bernoulli(ts.tensor([1, 0])), TypeError,
     "must be floating point, got dtype int64"),
    (lambda: creation.bernoulli(ts.zeros(2), ts.zeros(2)), TypeError, "a number or a 0-d tensor"),
    (lambda: creation.bernoulli([0.5]), TypeError, "bernoulli: expected a Tensor, got list"),
])
def test_bernoulli_errors_name_the_function_and_the_value(call, error, message):
    state = ts_random.get_state()
    with pytest.raises(error, match=message):
        call()
    assert ts_random.get_state() == state          # refused before drawing


@needs_torch
def test_bernoulli_of_probabilities_has_a_zero_gradient_as_pytorch():
    results = {}
    for fw in (ours, torch):
        p = fw.full((2, 3), 0.5, dtype=fw.float64, requires_grad=True)
        draws = fw.bernoulli(p * 1)
        assert draws.requires_grad and not draws.is_leaf
        (draws * 3).sum().backward()
        results[fw is torch] = p.grad.numpy()
    np.testing.assert_array_equal(results[False], results[True])
    np.testing.assert_array_equal(results[False], np.zeros((2, 3)))
    x = ts.full((3,), 0.5, requires_grad=True)
    assert not creation.bernoulli(x, 0.5).requires_grad   # PyTorch records it, cannot differentiate
    with ts.no_grad():
        assert not creation.bernoulli(x).requires_grad


def test_bernoulli_fills_in_place_with_a_number_or_a_tensor_of_probabilities():
    t = ts.zeros(4000, 3)
    assert t.bernoulli_() is t
    assert abs(t.numpy().mean() - 0.5) < 5 * math.sqrt(0.25 / 12000)
    t.bernoulli_(ts.tensor([0.0, 0.25, 1.0]))       # broadcast over the rows
    assert np.all(t.numpy()[:, 0] == 0) and np.all(t.numpy()[:, 2] == 1)
    assert abs(t.numpy()[:, 1].mean() - 0.25) < 5 * math.sqrt(0.1875 / 4000)
    ints = ts.zeros(5, dtype=ts.int64)
    assert ints.bernoulli_(1.0).numpy().tolist() == [1] * 5 and ints.dtype == ts.int64
    flags = ts.zeros(3, dtype=ts.bool)
    assert flags.bernoulli_(ts.ones(3, dtype=ts.float64)).numpy().tolist() == [True] * 3
    half = ts.zeros(2, dtype=ts.float16)
    assert half.bernoulli_(p=0.0).dtype == ts.float16


BERNOULLI_INPLACE_CALLS = [
    lambda fw: fw.zeros(3).bernoulli_(),
    lambda fw: fw.zeros(3).bernoulli_(0.7),
    lambda fw: fw.zeros(3, dtype=fw.int64).bernoulli_(0.5),
    lambda fw: fw.zeros(3, dtype=fw.int64).bernoulli_(fw.full((3,), 0.5)),
    lambda fw: fw.zeros(2, 3).bernoulli_(fw.tensor([[0.1], [0.2]])),
    lambda fw: fw.zeros(2, 3).bernoulli_(fw.tensor(0.2)),
    lambda fw: fw.zeros(3).bernoulli_(1.2),
    lambda fw: fw.zeros(3).bernoulli_(-1),
    lambda fw: fw.zeros(3).bernoulli_(fw.tensor([0.1, 1.2, 0.3])),
    lambda fw: fw.zeros(3).bernoulli_(fw.tensor([0.1, 0.2])),
    lambda fw: fw.zeros(1, 3).bernoulli_(fw.tensor([[0.1], [0.2]])),
    lambda fw: fw.zeros(6).bernoulli_(fw.full((2, 3), 0.5)),
    lambda fw: fw.zeros(3).bernoulli_(fw.tensor([0, 1, 0])),
    lambda fw: fw.zeros(3).bernoulli_(fw.tensor([True, False, True])),
    lambda fw: fw.zeros(3, requires_grad=True).bernoulli_(0.5),
    lambda fw: (fw.zeros(3, requires_grad=True) * 1).bernoulli_(0.5),
    lambda fw: fw.zeros(3).bernoulli_(fw.full((3,), 0.5, requires_grad=True)),
    lambda fw: fw.zeros(3).bernoulli_("a"),
]


@needs_torch
@pytest.mark.parametrize("call", BERNOULLI_INPLACE_CALLS)
def test_bernoulli_in_place_shapes_dtypes_and_refusals_as_pytorch(call):
    assert_as_pytorch(call)


@pytest.mark.parametrize("args,error,message", [
    ((1.5,), ValueError, r"bernoulli_: p must be in \[0, 1\], got 1.5"),
    ((ts.tensor([0.5, 2.0, 0.5]),), ValueError, r"p must hold probabilities in \[0, 1\], got 2.0"),
    ((ts.tensor([0.5, 0.5]),), ValueError,
     r"p of shape \(2,\) does not broadcast to input's shape \(3,\)"),
    ((ts.tensor([1, 0, 1]),), TypeError, "p must be floating point, got dtype int64"),
    (("a",), TypeError, "p must be a real number"),
])
def test_bernoulli_in_place_refuses_before_changing_anything(args, error, message):
    t = ts.tensor([0.25, 0.5, 0.75])
    state = ts_random.get_state()
    with pytest.raises(error, match=message):
        t.bernoulli_(*args)
    assert t.numpy().tolist() == [0.25, 0.5, 0.75] and t._version == 0
    assert ts_random.get_state() == state


def test_bernoulli_in_place_on_a_leaf_that_requires_grad_is_refused_as_pytorch():
    leaf = ts.tensor([0.25, 0.5], requires_grad=True)
    state = ts_random.get_state()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.bernoulli_()
    assert leaf.numpy().tolist() == [0.25, 0.5] and ts_random.get_state() == state
    with ts.no_grad():
        assert leaf.bernoulli_(1.0).numpy().tolist() == [1.0, 1.0]


@needs_torch
def test_bernoulli_in_place_sends_zero_gradients_as_pytorch():
    grads = {}
    for fw in (ours, torch):
        x = fw.full((2, 3), 0.5, dtype=fw.float64, requires_grad=True)
        p = fw.full((3,), 0.5, dtype=fw.float64, requires_grad=True)
        t = x * 2
        version = t._version
        filled = t.bernoulli_(p)
        assert filled is t and t.requires_grad and t._version > version
        (t * x).sum().backward()                  # x also gets the product's gradient t
        grads[fw is torch] = (x.grad.numpy() - t.detach().numpy(), p.grad.numpy())
    for ours_grad, torch_grad in zip(grads[False], grads[True]):
        np.testing.assert_array_equal(ours_grad, torch_grad)
        assert not ours_grad.any()


# --- normal --------------------------------------------------------------------------------
NORMAL_CALLS = [
    lambda fw: fw.normal(fw.zeros(3), 1.0),
    lambda fw: fw.normal(fw.zeros(3)),
    lambda fw: fw.normal(fw.zeros(2, 3), fw.ones(3)),
    lambda fw: fw.normal(fw.zeros(3), fw.ones(2, 1)),
    lambda fw: fw.normal(0.0, fw.ones(2, 2, dtype=fw.float64)),
    lambda fw: fw.normal(fw.zeros(3), fw.ones(3, dtype=fw.float64)),     # mean's dtype
    lambda fw: fw.normal(fw.zeros(3, dtype=fw.float64), fw.ones(3)),
    lambda fw: fw.normal(fw.zeros(3, dtype=fw.float16), 1.0),
    lambda fw: fw.normal(fw.zeros(3), fw.tensor([1, 1, 1])),            # integer std
    lambda fw: fw.normal(fw.tensor(0.0), 1.0),
    lambda fw: fw.normal(fw.tensor(0.5), fw.ones(2)),
    lambda fw: fw.normal(fw.zeros(0), 1.0),
    lambda fw: fw.normal(1.0, 2.0, (2, 3)),
    lambda fw: fw.normal(1, 2, [2, 1]),
    lambda fw: fw.normal(0.0, 1.0, fw.Size([4])),
    lambda fw: fw.normal(mean=0.0, std=1.0, size=()),
    lambda fw: fw.normal(1.0, 2.0, (2,), dtype=fw.float64),
    lambda fw: fw.normal(1.0, 2.0, (2,), dtype=fw.float16),
    lambda fw: fw.normal(1.0, 2.0, (2,), requires_grad=True),
    lambda fw: fw.normal(1.0, 2.0, (2,), device="cpu"),
    lambda fw: fw.normal(fw.tensor(0.0), fw.tensor(1.0), (2,)),
    lambda fw: fw.normal(True, 1.0, (2,)),
    lambda fw: fw.normal(0.0, 0.0, (2,)),
    lambda fw: fw.normal(fw.zeros(2, requires_grad=True), fw.ones(2, requires_grad=True)),
    lambda fw: fw.normal(0.0, fw.ones(2, requires_grad=True)),
    lambda fw: fw.normal(fw.zeros(2), fw.tensor(1.0, requires_grad=True)),
    # refused
    lambda fw: fw.normal(1.0, 2.0),
    lambda fw: fw.normal(1.0, 2.0, 3),
    lambda fw: fw.normal(fw.zeros(3), 1.0, (3,)),
    lambda fw: fw.normal(0.0, fw.ones(2), (2,)),
    lambda fw: fw.normal(1.0, -2.0, (2,)),
    lambda fw: fw.normal(fw.zeros(3), -1.0),
    lambda fw: fw.normal(fw.zeros(3), float("nan")),
    lambda fw: fw.normal(fw.zeros(3), fw.tensor([1.0, -1.0, 1.0])),
    lambda fw: fw.normal(fw.zeros(3), fw.tensor([1.0, float("nan"), 1.0])),
    lambda fw: fw.normal(fw.zeros(6), fw.ones(2, 3)),
    lambda fw: fw.normal(fw.zeros(3), fw.zeros(0)),
    lambda fw: fw.normal(fw.tensor([0, 0]), 1.0),
    lambda fw: fw.normal(0.0, fw.tensor([1, 1])),
    lambda fw: fw.normal(1.0, 2.0, (2, 3), dtype=fw.int64),
    lambda fw: fw.normal(0.0, 1.0, (-1,)),
    lambda fw: fw.normal(fw.zeros(2), 1.0, dtype=fw.float64),
    lambda fw: fw.normal(fw.zeros(2), 1.0, requires_grad=True),
    lambda fw: fw.normal(fw.zeros(2), 1.0, device="cpu"),
    lambda fw: fw.normal("0", 1.0, (2,)),
]


@needs_torch
@pytest.mark.parametrize("call", NORMAL_CALLS)
def test_normal_overloads_shapes_dtypes_and_refusals_as_pytorch(call):
    assert_as_pytorch(call)


@pytest.mark.parametrize("call,error,message", [
    (lambda: creation.normal(1.0, 2.0), TypeError, "normal: a number mean and std need a size"),
    (lambda: creation.normal(0.0, -2.0, (2,)), ValueError, r"normal: std must be >= 0.0, got -2.0"),
    (lambda: creation.normal(ts.zeros(2), ts.tensor([1.0, -0.5])), ValueError,
     "normal: std must be >= 0 everywhere, got -0.5"),
    (lambda: creation.normal(ts.zeros(2), ts.tensor(math.nan)), ValueError,
     "normal: std must be >= 0 everywhere, got nan"),
    (lambda: creation.normal(ts.zeros(6), ts.ones(2, 3)), ValueError,
     r"the shapes of mean \(6,\) and std \(2, 3\) do not broadcast"),
    (lambda: creation.normal(ts.tensor([0, 1]), 1.0), TypeError, "mean must be floating point"),
    (lambda: creation.normal(ts.zeros(2), 1.0, dtype=ts.float64), TypeError,
     "go with a number mean"),
    (lambda: creation.normal(0.0, 1.0, 3), TypeError, "size must be a tuple or list"),
    (lambda: creation.normal(0.0, 1.0, (2,), dtype=ts.int64), TypeError, "dtype int64"),
])
def test_normal_errors_name_the_function_and_the_value(call, error, message):
    state = ts_random.get_state()
    with pytest.raises(error, match=message):
        call()
    assert ts_random.get_state() == state


def test_normal_samples_have_the_asked_means_and_deviations():
    draws = creation.normal(3.0, 2.0, (200000,), dtype=ts.float64).numpy()
    assert abs(draws.mean() - 3.0) < 5 * 2.0 / math.sqrt(200000)
    assert abs(draws.std() - 2.0) < 0.02
    mean = ts.tensor([[-5.0], [0.0], [10.0]], dtype=ts.float64)
    std = ts.tensor([0.5, 1.0, 3.0, 0.0], dtype=ts.float64)
    draws = np.stack([creation.normal(mean, std).numpy() for _ in range(20000)])
    assert draws.shape == (20000, 3, 4)
    np.testing.assert_allclose(draws.mean(axis=0), np.broadcast_to(mean.numpy(), (3, 4)),
                               atol=5 * 3.0 / math.sqrt(20000))
    np.testing.assert_allclose(draws.std(axis=0), np.broadcast_to(std.numpy(), (3, 4)),
                               atol=5 * 3.0 / math.sqrt(2 * 20000))
    assert np.all(draws[..., 3] == mean.numpy()[:, 0])    # std 0: exactly the mean


@needs_torch
@pytest.mark.parametrize("which", ["tensor_float", "float_tensor", "tensor_tensor"])
def test_normal_depends_on_mean_and_std_with_a_zero_gradient_as_pytorch(which):
    grads = {}
    for fw in (ours, torch):
        mean = fw.zeros(3, dtype=fw.float64, requires_grad=True)
        std = fw.ones(2, 1, dtype=fw.float64, requires_grad=True)
        args = {"tensor_float": (mean, 2.0), "float_tensor": (1.0, std),
                "tensor_tensor": (mean, std)}[which]
        draws = fw.normal(*args)
        assert draws.requires_grad and not draws.is_leaf
        (draws ** 2).sum().backward()
        grads[fw is torch] = [None if t.grad is None else t.grad.numpy() for t in (mean, std)]
    for ours_grad, torch_grad in zip(grads[False], grads[True]):
        assert (ours_grad is None) == (torch_grad is None)
        if ours_grad is not None:
            np.testing.assert_array_equal(ours_grad, torch_grad)
            assert ours_grad.shape == torch_grad.shape and not ours_grad.any()


def test_normal_leaves_follow_requires_grad_and_the_default_dtype(float64):
    leaf = creation.normal(0.0, 1.0, (3,), requires_grad=True)
    assert leaf.is_leaf and leaf.requires_grad and leaf.dtype == ts.float64
    with ts.no_grad():
        assert not creation.normal(ts.zeros(2, requires_grad=True), 1.0).requires_grad


# --- poisson, randint_like, empty_like ------------------------------------------------------
def test_poisson_counts_have_the_asked_rates():
    rates = ts.tensor([0.0, 0.5, 4.0, 100.0], dtype=ts.float64)
    counts = np.stack([creation.poisson(rates).numpy() for _ in range(10000)])
    assert counts.dtype == np.float64 and np.all(counts == np.round(counts)) and counts.min() >= 0
    assert np.all(counts[:, 0] == 0)
    assert np.all(np.abs(counts.mean(axis=0) - rates.numpy()) <= 5 * np.sqrt(rates.numpy() / 10000))
    np.testing.assert_allclose(counts.var(axis=0)[1:], rates.numpy()[1:], rtol=0.1)
    assert creation.poisson(ts.tensor(3.0)).shape == ()


@needs_torch
@pytest.mark.parametrize("call", [
    lambda fw: fw.poisson(fw.ones(2, 3)),
    lambda fw: fw.poisson(fw.ones(2, dtype=fw.float64)),
    lambda fw: fw.poisson(fw.ones(2, dtype=fw.float16)),
    lambda fw: fw.poisson(fw.ones(2, requires_grad=True) * 2),
    lambda fw: fw.poisson(fw.tensor([-1.0])),
    lambda fw: fw.poisson(fw.tensor([float("nan")])),
    lambda fw: fw.poisson(fw.tensor([1, 2])),
    lambda fw: fw.poisson([1.0]),
])
def test_poisson_as_pytorch(call):
    assert_as_pytorch(call)


@needs_torch
def test_poisson_has_a_zero_gradient_as_pytorch():
    for fw in (ours, torch):
        rates = fw.full((3,), 2.0, requires_grad=True)
        fw.poisson(rates).sum().backward()
        assert rates.grad.numpy().tolist() == [0.0, 0.0, 0.0]


def test_poisson_refuses_negative_nan_and_infinite_rates():
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=f"poisson: rates must be finite and >= 0, got {bad}"):
            creation.poisson(ts.tensor([1.0, bad]))
        with pytest.raises(ValueError, match=f"got {bad}"):
            creation.poisson(ts.tensor(bad))
    with pytest.raises(TypeError, match="poisson: input .* must be floating point"):
        creation.poisson(ts.tensor([1, 2]))


RANDINT_LIKE_CALLS = [
    lambda fw: fw.randint_like(fw.zeros(2, 3), 5),
    lambda fw: fw.randint_like(fw.zeros(3), 2, 5),
    lambda fw: fw.randint_like(fw.zeros(3), -3, -1),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.int64), 5),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.int64), 5, dtype=fw.float64),
    lambda fw: fw.randint_like(fw.zeros(2, dtype=fw.bool), 2),
    lambda fw: fw.randint_like(fw.zeros(3), 5, requires_grad=True),
    lambda fw: fw.randint_like(fw.zeros(3), fw.tensor(5)),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.int64), 2**63 - 1),
    lambda fw: fw.randint_like(fw.zeros(3), 5, device="cpu"),
    # refused
    lambda fw: fw.randint_like(fw.zeros(2, dtype=fw.bool), 3),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.int8), 200),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.uint8), -1, 3),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.float16), 70000),
    lambda fw: fw.randint_like(fw.zeros(3, dtype=fw.int64), 5, requires_grad=True),
    lambda fw: fw.randint_like(fw.zeros(3), 5, 5),
    lambda fw: fw.randint_like(fw.zeros(3), 5, 2),
    lambda fw: fw.randint_like(fw.zeros(3), 2.5),
    lambda fw: fw.randint_like([0.0], 2),
]


@needs_torch
@pytest.mark.parametrize("call", RANDINT_LIKE_CALLS)
def test_randint_like_as_pytorch(call):
    assert_as_pytorch(call)


def test_randint_like_draws_every_integer_in_range_about_equally_often():
    draws = creation.randint_like(ts.zeros(60000, dtype=ts.int32), -2, 4).numpy()
    assert draws.dtype == np.int32 and draws.min() == -2 and draws.max() == 3
    assert np.all(np.abs(np.bincount(draws + 2) - 10000) < 5 * math.sqrt(10000))
    floats = creation.randint_like(ts.zeros(1000), 10).numpy()
    assert floats.dtype == np.float32 and np.all(floats == np.round(floats))
    with pytest.raises(ValueError, match=r"randint_like: \[0, 200\) does not fit dtype int8"):
        creation.randint_like(ts.zeros(3, dtype=ts.int8), 200)
    with pytest.raises(ValueError, match="expects low < high, got low=5 and high=2"):
        creation.randint_like(ts.zeros(3), 5, 2)


@needs_torch
@pytest.mark.parametrize("call", [
    lambda fw: fw.empty_like(fw.ones(2, 3)),
    lambda fw: fw.empty_like(fw.ones(2, dtype=fw.float64), dtype=fw.int64),
    lambda fw: fw.empty_like(fw.ones(2), requires_grad=True),
    lambda fw: fw.empty_like(fw.ones(2, dtype=fw.int64), requires_grad=True),
    lambda fw: fw.empty_like(fw.ones(2), device="cpu"),
    lambda fw: fw.empty_like(fw.tensor(1.0)),
    lambda fw: fw.empty_like(fw.ones(2, requires_grad=True)),
    lambda fw: fw.empty_like([1.0]),
])
def test_empty_like_as_pytorch(call):
    assert_as_pytorch(call)


# --- reproducibility under manual_seed ------------------------------------------------------
SAMPLERS = {
    "randperm": lambda device: creation.randperm(50, device=device),
    "bernoulli": lambda device: creation.bernoulli(ts.full((40,), 0.5, device=device)),
    "bernoulli_p": lambda device: creation.bernoulli(ts.zeros(40, device=device), 0.3),
    "bernoulli_": lambda device: ts.zeros(40, device=device).bernoulli_(
                                                     ts.full((40,), 0.5, device=device)),
    "normal_numbers": lambda device: creation.normal(1.0, 2.0, (4, 5), device=device),
    "normal_tensors": lambda device: creation.normal(ts.zeros(4, 1, device=device),
                                                     ts.ones(5, device=device)),
    "normal_0d": lambda device: creation.normal(ts.tensor(0.0, device=device), 1.0),
    "poisson": lambda device: creation.poisson(ts.full((30,), 3.0, device=device)),
    "randint_like": lambda device: creation.randint_like(ts.zeros(30, device=device), -5, 5),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_samplers_are_reproducible_under_manual_seed(name):
    ts.manual_seed(11)
    first = SAMPLERS[name]("cpu").numpy()
    second = SAMPLERS[name]("cpu").numpy()
    ts.manual_seed(11)
    np.testing.assert_array_equal(SAMPLERS[name]("cpu").numpy(), first)
    np.testing.assert_array_equal(SAMPLERS[name]("cpu").numpy(), second)
    assert not np.array_equal(first, second)      # the generator moved on
    ts.manual_seed(12)
    assert not np.array_equal(SAMPLERS[name]("cpu").numpy(), first)


@pytest.mark.parametrize("name", SAMPLERS)
def test_samplers_run_on_the_standin_device_with_its_generator(standin, name):  # noqa: F811
    ts.manual_seed(5)
    on_device = SAMPLERS[name]("standin")
    ts.manual_seed(5)
    on_cpu = SAMPLERS[name]("cpu")
    assert type(on_device.array) is StandinArray and on_device.device == "standin"
    assert on_device.dtype == on_cpu.dtype and on_device.shape == on_cpu.shape
    np.testing.assert_array_equal(on_device.numpy(), on_cpu.numpy())


def test_like_functions_and_comparisons_stay_on_the_standin_device(standin):  # noqa: F811
    x = ts.tensor([1.0, 2.0, float("nan")], device="standin")
    made = [creation.empty_like(x), creation.randint_like(x, 3),
            creation.randint_like(ts.zeros(2), 3, device="standin"),
            creation.normal(ts.zeros(2, requires_grad=True).to("standin"), 1.0),
            compare.isclose(x, x, equal_nan=True)]
    for t in made:
        assert type(t.array) is StandinArray and t.device == "standin"
    assert made[-1].numpy().tolist() == [True, True, True]
    assert compare.allclose(x, x, equal_nan=True) and not compare.allclose(x, x)
    assert compare.equal(x[:2], ts.tensor([1, 2], device="standin"))
    with pytest.raises(ValueError, match="different devices"):
        compare.equal(x, ts.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="different devices"):
        creation.normal(ts.zeros(3), ts.ones(3, device="standin"))
    with pytest.raises(ValueError, match="different devices"):
        ts.zeros(3).bernoulli_(ts.ones(3, device="standin"))
    with pytest.raises(ValueError, match=r"bernoulli: input must hold .* got 2.0"):
        creation.bernoulli(ts.tensor([0.5, 2.0], device="standin"))
    with pytest.raises(ValueError, match="normal: std must be >= 0 everywhere, got -1.0"):
        creation.normal(0.0, ts.tensor(-1.0, device="standin"))


# --- isclose, allclose, equal ----------------------------------------------------------------
SPECIAL = [0.0, -0.0, 1.0, 1.00001, 1.0000101, 1e-9, 2e-8, math.inf, -math.inf, math.nan,
           1e10, 1.00001e10, -1.0, 5.0, 7.0]


@needs_torch
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "int32", "uint8",
                                   "bool"])
@pytest.mark.parametrize("rtol,atol,equal_nan", [(1e-5, 1e-8, False), (1e-5, 1e-8, True),
                                                 (0.3, 0.0, False), (0.0, 2.5, True),
                                                 (0.0, 0.0, False), (0.1, 1, False)])
def test_isclose_and_allclose_agree_with_pytorch_element_by_element(dtype, rtol, atol, equal_nan):
    values = np.array(SPECIAL if dtype.startswith("float") else [0, 1, 5, 7, 3, 100, 2, 255])
    with np.errstate(over="ignore"):                   # float16 holds 1e10 as inf
        values = values.astype(dtype)
    a, b = np.meshgrid(values, values)
    ours_close = compare.isclose(ts.tensor(a), ts.tensor(b), rtol, atol, equal_nan)
    torch_close = torch.isclose(torch.tensor(a), torch.tensor(b), rtol, atol, equal_nan)
    assert ours_close.dtype == ts.bool and not ours_close.requires_grad
    np.testing.assert_array_equal(ours_close.numpy(), torch_close.numpy())
    for row_a, row_b in zip(a, b):
        assert compare.allclose(ts.tensor(row_a), ts.tensor(row_b), rtol, atol, equal_nan) is \
            torch.allclose(torch.tensor(row_a), torch.tensor(row_b), rtol, atol, equal_nan)


COMPARE_CALLS = [
    lambda fw: fw.isclose(fw.tensor([1.0, 2.0]), fw.tensor([[1.0], [2.0]])),
    lambda fw: fw.isclose(fw.tensor(1.0), fw.tensor(1.0)),
    lambda fw: fw.isclose(fw.ones(2, requires_grad=True), fw.ones(2)),
    lambda fw: fw.allclose(fw.tensor([1.0, 2.0]), fw.tensor([[1.0], [2.0]])),
    lambda fw: fw.allclose(fw.zeros(2), fw.zeros(1)),
    lambda fw: fw.allclose(fw.zeros(0), fw.zeros(0)),
    lambda fw: fw.allclose(fw.ones(2, requires_grad=True) * 1, fw.ones(2)),
    lambda fw: fw.allclose(fw.tensor([1.0]), fw.tensor([1.001]), 1e-3, 1e-3, True),
    lambda fw: fw.equal(fw.tensor([1.0, 2.0]), fw.tensor([1.0, 2.0], dtype=fw.float64)),
    lambda fw: fw.equal(fw.tensor([0.1], dtype=fw.float64), fw.tensor([0.1])),
    lambda fw: fw.equal(fw.tensor([0.5], dtype=fw.float64), fw.tensor([0.5])),
    lambda fw: fw.equal(fw.tensor([1, 2]), fw.tensor([1.0, 2.0])),
    lambda fw: fw.equal(fw.tensor([True]), fw.tensor([1])),
    lambda fw: fw.equal(fw.tensor([1.0, 2.0]), fw.tensor([[1.0, 2.0]])),
    lambda fw: fw.equal(fw.tensor([1.0, 2.0]), fw.tensor([1.0, 2.0, 3.0])),
    lambda fw: fw.equal(fw.tensor(1.0), fw.tensor([1.0])),
    lambda fw: fw.equal(fw.tensor([math.nan]), fw.tensor([math.nan])),
    lambda fw: fw.equal(fw.tensor([0.0]), fw.tensor([-0.0])),
    lambda fw: fw.equal(fw.zeros(0), fw.zeros(0)),
    lambda fw: fw.equal(fw.zeros(0), fw.zeros(0, 2)),
    lambda fw: fw.equal(fw.ones(2, requires_grad=True), fw.ones(2)),
    lambda fw: fw.equal(fw.tensor([16777217]), fw.tensor([16777216.0])),   # promoted to float32
    # refused
    lambda fw: fw.isclose(fw.tensor([1.0]), fw.tensor([1.0], dtype=fw.float64)),
    lambda fw: fw.isclose(fw.tensor([1, 2]), fw.tensor([1.0, 2.0])),
    lambda fw: fw.isclose(fw.tensor([True]), fw.tensor([1])),
    lambda fw: fw.isclose(fw.ones(2), fw.ones(3)),
    lambda fw: fw.isclose(fw.ones(2), 1.0),
    lambda fw: fw.isclose(fw.ones(1), fw.ones(1), rtol=-1),
    lambda fw: fw.isclose(fw.ones(1), fw.ones(1), atol=-1),
    lambda fw: fw.isclose(fw.ones(1), fw.ones(1), rtol=math.nan),
    lambda fw: fw.allclose(fw.ones(2), fw.ones(3)),
    lambda fw: fw.allclose(fw.ones(2), fw.ones(2, dtype=fw.float64)),
    lambda fw: fw.allclose([1.0], fw.ones(1)),
    lambda fw: fw.equal(fw.ones(2), 1.0),
    lambda fw: fw.equal([1.0], fw.ones(1)),
]


@needs_torch
@pytest.mark.parametrize("call", COMPARE_CALLS)
def test_comparisons_as_pytorch(call):
    assert_as_pytorch(call)


@pytest.mark.parametrize("call,error,message", [
    (lambda: compare.isclose(ts.ones(1), ts.ones(1, dtype=ts.float64)), TypeError,
     "isclose: input and other must have the same dtype, got float32 and float64"),
    (lambda: compare.allclose(ts.ones(2), ts.ones(3)), ValueError,
     r"allclose: the shapes \(2,\) and \(3,\) do not broadcast"),
    (lambda: compare.isclose(ts.ones(1), ts.ones(1), rtol=-1), ValueError,
     "isclose: rtol must be >= 0.0, got -1.0"),
    (lambda: compare.isclose(ts.ones(1), ts.ones(1), equal_nan=1), TypeError,
     "isclose: equal_nan must be True or False"),
    (lambda: compare.equal(ts.ones(1), [1.0]), TypeError,
     "equal: other must be a Tensor, got list"),
])
def test_comparison_errors_name_the_function_and_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_comparisons_record_no_graph_and_return_python_bools():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    close = compare.isclose(x, y)
    assert close.dtype == ts.bool and not close.requires_grad and close.numpy().all()
    assert compare.allclose(x, y) is True and compare.equal(x, y) is True
    assert compare.allclose(x, y + 1e-3) is False and compare.equal(x, y + 1e-3) is False

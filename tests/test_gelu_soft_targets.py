"""GELU (exact, by erfc, and its tanh estimate) and cross-entropy against class probabilities.

Values and gradients are compared with PyTorch in float64 where it is installed, and with
finite differences and closed forms, which need no PyTorch; both also run on the stand-in
device, which refuses NumPy fallbacks, so they stay CuPy-safe."""
import math
import warnings

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
import test_device_standin
from gradcheck import assert_close, gradcheck
from tinyseq import nn
from tinyseq.ops.elementwise import erfc

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")
standin = test_device_standin.standin

_rng = np.random.default_rng(57)


def leaf(array):
    return ts.tensor(array, dtype=ts.float64, requires_grad=True)


def against_torch(ours, theirs, arrays, atol, rtol):
    """``ours`` on tinyseq leaves and ``theirs`` on torch leaves made from the same float64
    ``arrays``: the outputs and the gradients of sum(output * R) for every input agree."""
    ts_inputs = [leaf(a) for a in arrays]
    torch_inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, expected = ours(*ts_inputs), theirs(*torch_inputs)
    assert tuple(out.shape) == tuple(expected.shape)
    assert_close(out, expected.detach().numpy(), atol=atol, rtol=rtol)
    weights = _rng.standard_normal(tuple(out.shape))
    (out * ts.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for mine, theirs_input in zip(ts_inputs, torch_inputs):
        assert_close(mine.grad, theirs_input.grad.numpy(), atol=atol, rtol=rtol)


# --- GELU ------------------------------------------------------------------------------------
def normal_cdf(x):
    """Phi(x) by the C library's erfc, accurate in both tails. Its argument is rounded as
    tinyseq's is: an ulp more or less in z moves erfc(z) by 2 z^2 ulps, 1e-13 at z = 25."""
    return np.array([math.erfc(-v * math.sqrt(0.5)) / 2 for v in np.ravel(x)]).reshape(
        np.shape(x))


def exact_gelu(x):
    return x * normal_cdf(x)


def tanh_gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


@needs_torch
@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_pytorch(approximate, shape):
    # atol: where x << 0, 1 + erf(x / sqrt(2)) (PyTorch's) and 1 + tanh(...) (both) cancel,
    # each off by a few |x| 1e-16
    x = np.asarray(_rng.uniform(-9.0, 9.0, size=shape))
    against_torch(lambda t: F.gelu(t, approximate=approximate),
                  lambda t: TF.gelu(t, approximate=approximate), [x], atol=5e-15, rtol=1e-12)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradients_match_finite_differences(approximate):
    x = leaf(_rng.uniform(-4.0, 4.0, size=(3, 5)))
    gradcheck(lambda t: F.gelu(t, approximate=approximate), [x])


def test_gelu_is_accurate_in_both_tails():
    """Phi comes from erfc, so x Phi(x) keeps its relative accuracy where Phi is tiny (and
    the gradient too), not only near 0."""
    x = np.concatenate([np.linspace(-37.0, 9.0, 461), [-0.3, 0.1, 1e-300, 0.0]])
    t = leaf(x)
    y = F.gelu(t)
    y.sum().backward()
    assert_close(y, exact_gelu(x), atol=0, rtol=1e-13)
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    assert_close(t.grad, normal_cdf(x) + x * pdf, atol=0, rtol=1e-12)


def test_erfc_matches_the_c_library_to_a_few_units_in_the_last_place():
    # up to 26.5: erfc is subnormal from 26.55, with fewer digits to compare
    x = np.concatenate([_rng.uniform(-6.0, 26.5, 4000), np.linspace(-0.5, 0.5, 101),
                        [0.46875, -0.46875, 4.0, -4.0, 26.5]])
    expected = np.array([math.erfc(v) for v in x])
    assert_close(erfc(np, x), expected, atol=0, rtol=2e-15)
    assert_close(erfc(np, np.array([-np.inf, np.inf, 28.0, 1e300])), [2.0, 0.0, 0.0, 0.0], atol=0)


@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (1.0, 0.8413447460685429),
                                         (-1.0, -0.15865525393145705), (3.0, 2.99595030590511),
                                         (-3.0, -0.0040496940948902835)])
def test_gelu_known_values(x, expected):
    """x Phi(x) to 40 digits (mpmath), rounded."""
    assert F.gelu(ts.tensor([x], dtype=ts.float64)).item() == pytest.approx(expected, rel=1e-14,
                                                                            abs=0)


def test_gelu_tanh_is_the_formula():
    x = _rng.uniform(-6.0, 6.0, size=50)
    assert_close(F.gelu(ts.tensor(x), approximate="tanh"), tanh_gelu(x), atol=1e-15, rtol=1e-14)
    # the estimate is close to the exact function, but not it
    difference = np.abs(tanh_gelu(x) - exact_gelu(x))
    assert 1e-6 < difference.max() < 1e-3


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_at_infinities_and_nan_as_pytorch(approximate):
    """PyTorch: gelu(-inf) = -inf * 0 = NaN, gelu(inf) = inf, and NaN gradients at both;
    no warning on the way, nor for huge finite x."""
    x = leaf(np.array([-np.inf, np.inf, np.nan, -1e100, 1e100]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.gelu(x, approximate=approximate)
        y.sum().backward()
    values, grads = y.numpy(), x.grad.numpy()
    assert np.isnan(values[0]) and values[1] == np.inf and np.isnan(values[2])
    assert values[3] == 0.0 and values[4] == 1e100
    assert np.isnan(grads[:3]).all()
    assert_close(grads[3:], [0.0, 1.0], atol=0)


@pytest.mark.parametrize("dtype, rtol", [(ts.float32, 1e-6), (ts.float16, 2e-3)])
def test_gelu_keeps_narrow_dtypes(dtype, rtol):
    """float16 is computed in float32 (the erfc polynomials would overflow float16)."""
    x = np.linspace(-7.0, 7.0, 57)
    t = ts.tensor(x, dtype=dtype, requires_grad=True)
    y = F.gelu(t)
    y.sum().backward()
    assert y.dtype == dtype and t.grad.dtype == dtype
    rounded = t.numpy().astype(np.float64)
    assert_close(y.numpy().astype(np.float64), exact_gelu(rounded), atol=rtol, rtol=rtol)
    assert np.isfinite(t.grad.numpy()).all()


@needs_torch
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_module_matches_pytorch(approximate):
    ours, theirs = nn.GELU(approximate), torch.nn.GELU(approximate)
    assert repr(ours) == repr(theirs) == f"GELU(approximate='{approximate}')"
    against_torch(ours, theirs, [_rng.uniform(-4.0, 4.0, size=(2, 5))], atol=5e-15, rtol=1e-12)


def test_gelu_module_without_pytorch():
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert nn.GELU(approximate="tanh").approximate == "tanh"
    x = ts.tensor(_rng.uniform(-3.0, 3.0, size=(4, 2)), dtype=ts.float64)
    assert_close(nn.GELU()(x), exact_gelu(x.numpy()), atol=0, rtol=1e-13)
    assert_close(nn.GELU("tanh")(x), tanh_gelu(x.numpy()), atol=1e-15, rtol=1e-14)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.gelu(x, approximate="exact"), ValueError,
     r"gelu: approximate must be 'none' or 'tanh', got 'exact'"),
    (lambda x: F.gelu(x, approximate=None), ValueError,
     r"gelu: approximate must be 'none' or 'tanh', got None"),
    (lambda x: nn.GELU("Tanh"), ValueError,
     r"GELU: approximate must be 'none' or 'tanh', got 'Tanh'"),
    (lambda x: F.gelu(x, "tanh"), TypeError, r"positional argument"),     # keyword-only, as PyTorch
    (lambda x: F.gelu(ts.tensor([1, 2])), TypeError,
     r"gelu: input must be floating point, got dtype int64"),
    (lambda x: F.gelu([1.0, 2.0]), TypeError, r"gelu"),
])
def test_gelu_errors_name_the_op_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(2))


# --- cross-entropy against class probabilities -----------------------------------------------
LAYOUTS = [(4,), (3, 4), (2, 4, 3), (2, 4, 3, 2)]       # classes on dim 1 (dim 0 of (C,))


def probabilities(shape):
    class_dim = 0 if len(shape) == 1 else 1
    scores = _rng.uniform(-2.0, 2.0, size=shape)
    return np.exp(scores) / np.exp(scores).sum(axis=class_dim, keepdims=True)


def soft_cross_entropy(x, y, weight=None, smoothing=0.0, reduction="mean"):
    """PyTorch's documented formula, in NumPy."""
    class_dim = 0 if x.ndim == 1 else 1
    classes = x.shape[class_dim]
    shifted = x - x.max(axis=class_dim, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=class_dim, keepdims=True))
    weight = np.ones(classes) if weight is None else np.asarray(weight)
    weight = weight.reshape((classes,) + (1,) * (x.ndim - class_dim - 1))
    losses = -(weight * ((1 - smoothing) * y + smoothing / classes) * log_probs).sum(class_dim)
    return {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]


def class_weight(classes):
    return np.linspace(0.5, 2.0, classes)


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", LAYOUTS, ids=str)
def test_soft_cross_entropy_matches_pytorch(shape, weighted, smoothing, reduction):
    """Values, and gradients for both the logits and the probabilities."""
    weight = class_weight(shape[0 if len(shape) == 1 else 1]) if weighted else None

    def ours(x, y):
        return F.cross_entropy(x, y, None if weight is None else ts.tensor(weight),
                               reduction=reduction, label_smoothing=smoothing)

    def theirs(x, y):
        return TF.cross_entropy(x, y, None if weight is None else torch.tensor(weight),
                                reduction=reduction, label_smoothing=smoothing)
    against_torch(ours, theirs, [_rng.uniform(-3.0, 3.0, size=shape), probabilities(shape)],
                  atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", LAYOUTS, ids=str)
def test_soft_cross_entropy_is_the_formula(shape, reduction):
    x, y = _rng.uniform(-3.0, 3.0, size=shape), probabilities(shape)
    weight = class_weight(shape[0 if len(shape) == 1 else 1])
    for options in [{}, {"weight": weight}, {"smoothing": 0.3},
                    {"weight": weight, "smoothing": 0.3}]:
        out = F.cross_entropy(ts.tensor(x), ts.tensor(y),
                              None if "weight" not in options else ts.tensor(weight),
                              reduction=reduction, label_smoothing=options.get("smoothing", 0.0))
        expected = soft_cross_entropy(x, y, reduction=reduction, **options)
        assert out.shape == np.shape(expected)
        assert_close(out, expected, atol=1e-14, rtol=1e-12)


def test_soft_cross_entropy_mean_divides_by_rows_not_weights():
    """Unlike class ids, whose "mean" divides by the summed weights of the targets."""
    x, y = _rng.uniform(-3.0, 3.0, size=(3, 4, 2)), probabilities((3, 4, 2))
    weight = ts.tensor([0.5, 3.0, 1.0, 2.0], dtype=ts.float64)
    total = F.cross_entropy(ts.tensor(x), ts.tensor(y), weight, reduction="sum").item()
    mean = F.cross_entropy(ts.tensor(x), ts.tensor(y), weight).item()
    assert mean == pytest.approx(total / 6, rel=1e-14)
    # one-hot probabilities give the class-id losses, which differ only in that "mean"
    ids = np.array([[1, 0], [3, 3], [2, 1]])
    one_hot = np.moveaxis(np.eye(4)[ids], -1, 1)
    by_ids = F.cross_entropy(ts.tensor(x), ts.tensor(ids), weight, reduction="sum").item()
    by_probabilities = F.cross_entropy(ts.tensor(x), ts.tensor(one_hot), weight,
                                       reduction="sum").item()
    assert by_probabilities == pytest.approx(by_ids, rel=1e-14)
    ids_mean = F.cross_entropy(ts.tensor(x), ts.tensor(ids), weight).item()
    assert ids_mean == pytest.approx(by_ids / weight.numpy()[ids].sum(), rel=1e-14)
    assert F.cross_entropy(ts.tensor(x), ts.tensor(one_hot), weight).item() == \
        pytest.approx(by_ids / 6, rel=1e-14)


@pytest.mark.parametrize("shape", LAYOUTS, ids=str)
def test_soft_cross_entropy_gradients_match_finite_differences(shape):
    weight = ts.tensor(class_weight(shape[0 if len(shape) == 1 else 1]))
    x, y = leaf(_rng.uniform(-3.0, 3.0, size=shape)), leaf(probabilities(shape))
    gradcheck(lambda a, b: F.cross_entropy(a, b, weight, reduction="none", label_smoothing=0.2),
              [x, y])
    gradcheck(lambda a, b: F.cross_entropy(a, b), [x, y])


def test_soft_cross_entropy_takes_arrays_and_keeps_float32():
    x, y = _rng.uniform(-3.0, 3.0, size=(3, 4)), probabilities((3, 4))
    expected = soft_cross_entropy(x, y)
    for target in (y, y.tolist(), ts.tensor(y)):
        assert_close(F.cross_entropy(ts.tensor(x), target), expected, atol=0, rtol=1e-13)
    single = F.cross_entropy(ts.tensor(x, dtype=ts.float32), ts.tensor(y, dtype=ts.float32))
    assert single.dtype == ts.float32
    assert_close(single, expected, rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.2}, {"reduction": "sum"},
                                     {"reduction": "none", "label_smoothing": 0.1}], ids=str)
def test_cross_entropy_loss_module_takes_probabilities(options):
    weight = class_weight(4)
    ours = nn.CrossEntropyLoss(ts.tensor(weight), **options)
    theirs = torch.nn.CrossEntropyLoss(torch.tensor(weight), **options)
    against_torch(ours, theirs, [_rng.uniform(-3.0, 3.0, size=(5, 4, 2)),
                                 probabilities((5, 4, 2))], atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("logits, target", [((3, 4), (3, 5)), ((3, 4), (4, 4)), ((4,), (5,)),
                                            ((2, 4, 3, 2), (2, 4, 2, 2))], ids=str)
def test_soft_target_of_another_shape_names_both_shapes(logits, target):
    with pytest.raises(ValueError, match=rf"cross_entropy: target of class probabilities of shape "
                                         rf"{re_shape(target)} does not match input shape "
                                         rf"{re_shape(logits)}"):
        F.cross_entropy(ts.ones(*logits), ts.full(target, 0.25))


@pytest.mark.parametrize("call, error, message", [
    (lambda x, y: F.cross_entropy(x, y, ignore_index=1), ValueError,
     r"cross_entropy: ignore_index is not supported for a target of class probabilities .*"
     r"got ignore_index=1"),
    (lambda x, y: nn.CrossEntropyLoss(ignore_index=0)(x, y), ValueError,
     r"cross_entropy: ignore_index is not supported"),
    (lambda x, y: F.cross_entropy(x, y, weight=ts.ones(3)), ValueError,
     r"cross_entropy: weight of shape \(3,\) does not fit 4 classes"),
    (lambda x, y: F.cross_entropy(x, y, reduction="average"), ValueError,
     r"cross_entropy: reduction must be one of \('mean', 'sum', 'none'\), got 'average'"),
    (lambda x, y: F.cross_entropy(x, y, label_smoothing=-0.1), ValueError,
     r"cross_entropy: label_smoothing must be in \[0, 1\], got -0.1"),
    # a floating target of another rank is still read as (badly typed) class ids, an integer
    # one of the input's shape as class ids of the wrong shape
    (lambda x, y: F.cross_entropy(x, np.array([0.0, 1.0, 2.0])), TypeError,
     r"cross_entropy: targets must be integer class ids, got float64"),
    (lambda x, y: F.cross_entropy(x, np.zeros((3, 4), dtype=np.int64)), ValueError,
     r"cross_entropy: expected logits \(N, C\) and targets \(N,\), got \(3, 4\) and \(3, 4\)"),
])
def test_soft_target_errors_name_the_op_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(3, 4), ts.full((3, 4), 0.25))


def test_explicit_default_ignore_index_is_allowed_with_probabilities():
    x, y = _rng.uniform(-3.0, 3.0, size=(3, 4)), probabilities((3, 4))
    assert_close(F.cross_entropy(ts.tensor(x), ts.tensor(y), ignore_index=-100),
                 soft_cross_entropy(x, y), atol=0, rtol=1e-13)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


# --- on a device other than the CPU --------------------------------------------------------------
def test_gelu_and_soft_cross_entropy_stay_on_the_standin_device(standin):
    x = _rng.uniform(-5.0, 5.0, size=(3, 4))
    y = probabilities((3, 4))
    results = {}
    for device in ("standin", "cpu"):
        logits = ts.tensor(x, dtype=ts.float64, device=device, requires_grad=True)
        target = ts.tensor(y, dtype=ts.float64, device=device)
        loss = F.cross_entropy(F.gelu(logits) + F.gelu(logits, approximate="tanh"), target,
                               ts.tensor(class_weight(4), device=device), label_smoothing=0.1)
        loss.backward()
        assert loss.device == device and logits.grad.device == device
        results[device] = (loss.numpy(), logits.grad.numpy())
    for on_standin, on_cpu in zip(results["standin"], results["cpu"]):
        assert_close(on_standin, on_cpu, atol=0, rtol=1e-14)

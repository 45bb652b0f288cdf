"""The rest of torch.nn that sequence scripts reach for: layer norm, more activations and losses,
label smoothing, pos_weight, Embedding.from_pretrained and the dict/parameter containers.

Values and gradients are compared with PyTorch in float64 where it is installed; the layer norm
and the losses are also checked against finite differences, which needs no PyTorch."""
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import assert_close, gradcheck
from tinyseq import nn

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")

_rng = np.random.default_rng(31)

EXTREMES = np.array([-1000.0, -50.0, -20.0, -1.0, 0.0, 1.0, 20.0, 50.0, 1000.0])


def values(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, size=shape)


def leaf(array):
    return ts.tensor(array, dtype=ts.float64, requires_grad=True)


def away_from(array, points, margin=0.05):
    """``array`` with every element at least ``margin`` from each of ``points`` (kinks that
    finite differences must not straddle)."""
    array = np.array(array, dtype=np.float64)
    for point in points:
        near = np.abs(array - point) < margin
        array[near] = point + np.where(array[near] >= point, margin, -margin) * 2
    return array


def against_torch(ours, theirs, arrays, grad_of=None, atol=1e-10, rtol=1e-9):
    """Run ``ours`` on tinyseq leaves and ``theirs`` on torch leaves made from the same float64
    ``arrays``; compare the outputs and the gradients of sum(output * R) for the inputs whose
    indices are in ``grad_of`` (all by default)."""
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    ts_inputs = [ts.tensor(a, dtype=ts.float64, requires_grad=i in grad_of)
                 for i, a in enumerate(arrays)]
    torch_inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=i in grad_of)
                    for i, a in enumerate(arrays)]
    out, expected = ours(*ts_inputs), theirs(*torch_inputs)
    assert tuple(out.shape) == tuple(expected.shape)
    assert_close(out.numpy(), expected.detach().numpy(), atol=atol, rtol=rtol)
    if not grad_of:
        return out
    weights = _rng.standard_normal(tuple(out.shape))
    (out * ts.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for i in grad_of:
        assert_close(ts_inputs[i].grad.numpy(), torch_inputs[i].grad.numpy(), atol=atol,
                     rtol=rtol)
    return out


# --- activations ------------------------------------------------------------------------------
ACTIVATIONS = [
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}),
    ("elu", {"alpha": 0.5}), ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ("softplus", {"beta": -1.5}), ("silu", {}), ("logsigmoid", {}), ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
]


@needs_torch
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("name, options", ACTIVATIONS, ids=str)
def test_activations_match_pytorch(name, options, shape):
    against_torch(lambda x: getattr(F, name)(x, **options),
                  lambda x: getattr(TF, name)(x, **options), [values(*shape, low=-4, high=4)])


@needs_torch
@pytest.mark.parametrize("name, options", ACTIVATIONS, ids=str)
def test_activations_at_extremes_and_kinks_match_pytorch(name, options):
    """Huge |x| neither overflows nor gives NaN gradients, and the gradient at each kink is
    PyTorch's (hardtanh's at its bounds is 0; leaky_relu's at 0 the slope)."""
    points = np.concatenate([EXTREMES, [-0.5, 2.0, 1.5, 3.0, -2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no overflow in any branch where() drops
        out = against_torch(lambda x: getattr(F, name)(x, **options),
                            lambda x: getattr(TF, name)(x, **options), [points])
    assert np.isfinite(out.numpy()).all()


def test_softplus_and_logsigmoid_are_stable_without_pytorch():
    x = leaf(EXTREMES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        soft, logsig = F.softplus(x), F.logsigmoid(x)
        (soft + logsig).sum().backward()
    assert soft.numpy()[0] == 0.0 and soft.numpy()[-1] == 1000.0
    assert logsig.numpy()[0] == -1000.0 and logsig.numpy()[-1] == 0.0
    assert_close(soft.numpy()[4], np.log(2.0))
    # log1p keeps the tiny tails that log(1 + e) would round away
    assert_close(F.softplus(ts.tensor([-40.0], dtype=ts.float64)).numpy(), [np.exp(-40.0)],
                 atol=0, rtol=1e-12)
    # d softplus = sigmoid(x), d logsigmoid = sigmoid(-x): together exactly 1
    assert_close(x.grad.numpy(), np.ones(len(EXTREMES)))


def test_softplus_is_the_identity_above_the_threshold():
    x = ts.tensor([20.5, 2.5, 1.5], dtype=ts.float64)
    out = F.softplus(x, beta=2, threshold=4).numpy()
    assert out[0] == 20.5 and out[1] == 2.5           # 2 x > 4
    assert_close(out[2], np.log1p(np.exp(3.0)) / 2)   # 2 x = 3 <= 4: the smooth branch


@pytest.mark.parametrize("name, options", ACTIVATIONS, ids=str)
def test_activation_gradients_match_finite_differences(name, options):
    x = leaf(away_from(values(3, 4, low=-3, high=3), [0.0, -1.0, 1.0, -0.5, 2.0]))
    gradcheck(lambda t: getattr(F, name)(t, **options), [x])


@needs_torch
@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2, True), lambda: torch.nn.LeakyReLU(0.2, True)),
    (lambda: nn.ELU(alpha=0.5), lambda: torch.nn.ELU(alpha=0.5)),
    (lambda: nn.ELU(inplace=True), lambda: torch.nn.ELU(inplace=True)),
    (lambda: nn.Softplus(beta=2.0, threshold=5.0), lambda: torch.nn.Softplus(2.0, 5.0)),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.SiLU(inplace=True), lambda: torch.nn.SiLU(inplace=True)),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Hardtanh(-2.0, 0.5), lambda: torch.nn.Hardtanh(-2.0, 0.5)),
    (lambda: nn.Hardtanh(inplace=True), lambda: torch.nn.Hardtanh(inplace=True)),
], ids=lambda f: "")
def test_activation_modules_match_pytorch(ours, theirs):
    ours, theirs = ours(), theirs()
    assert repr(ours) == repr(theirs)
    # each module on a non-leaf, so that the in-place ones may write into it
    against_torch(lambda x: ours(x * 1.0), lambda x: theirs(x * 1.0),
                  [values(2, 5, low=-3, high=3)])


def test_inplace_activations_write_into_their_input_and_keep_the_gradient():
    x = leaf(np.array([-2.0, -0.5, 0.5, 3.0]))
    hidden = x * 2.0
    out = F.leaky_relu(hidden, 0.1, inplace=True)
    assert out is hidden
    assert_close(hidden.numpy(), [-0.4, -0.1, 1.0, 6.0])
    out.sum().backward()
    assert_close(x.grad.numpy(), [0.2, 0.2, 2.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu(leaf(np.ones(2)), inplace=True)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.hardtanh(x, 1.0, -1.0), ValueError,
     r"hardtanh: min_val cannot be greater than max_val, got min_val=1.0 and max_val=-1.0"),
    (lambda x: nn.Hardtanh(0.5, 0.5), ValueError,
     r"Hardtanh: max_val \(0.5\) must be greater than min_val \(0.5\)"),
    (lambda x: F.softplus(x, beta=0), ValueError, r"softplus: beta must not be 0"),
    (lambda x: nn.Softplus(beta=0.0), ValueError, r"Softplus: beta must not be 0"),
    (lambda x: F.leaky_relu(x, "0.1"), TypeError,
     r"leaky_relu: negative_slope must be a real number, got '0.1'"),
    (lambda x: F.elu(x, inplace=1), TypeError, r"elu: inplace must be True or False, got 1"),
    (lambda x: F.silu([1.0, 2.0]), TypeError, r"silu"),
    (lambda x: F.logsigmoid(np.ones(2)), TypeError, r"logsigmoid"),
    (lambda x: nn.LeakyReLU(inplace="yes"), TypeError, r"LeakyReLU: inplace must be True or"),
])
def test_activation_errors_name_the_op_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(2))


# --- layer norm -------------------------------------------------------------------------------
LAYER_NORM_CASES = [((4,), (4,)), ((3, 4), (4,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)),
                    ((5, 2, 3, 4), (2, 3, 4))]


@needs_torch
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("shape, normalized", LAYER_NORM_CASES, ids=str)
def test_layer_norm_matches_pytorch(shape, normalized, affine):
    arrays = [values(*shape) * 3 + 1, values(*normalized), values(*normalized)]
    arrays = arrays[:{"both": 3, "weight": 2, "none": 1}[affine]]
    against_torch(lambda x, *wb: F.layer_norm(x, normalized, *wb, eps=1e-3),
                  lambda x, *wb: TF.layer_norm(x, normalized, *wb, eps=1e-3), arrays)


@pytest.mark.parametrize("shape, normalized", LAYER_NORM_CASES, ids=str)
def test_layer_norm_gradients_match_finite_differences(shape, normalized):
    x, weight, bias = leaf(values(*shape)), leaf(values(*normalized)), leaf(values(*normalized))
    gradcheck(lambda x, w, b: F.layer_norm(x, normalized, w, b), [x, weight, bias])


def test_layer_norm_normalizes_each_sample_without_pytorch():
    x = ts.tensor(values(3, 5) * 4 + 7, dtype=ts.float64)
    y = F.layer_norm(x, [5], eps=0.0).numpy()
    assert_close(y.mean(axis=1), np.zeros(3), atol=1e-12)
    assert_close(y.var(axis=1), np.ones(3))
    constant = F.layer_norm(ts.full((2, 3), 5.0, dtype=ts.float64), (3,)).numpy()
    assert_close(constant, np.zeros((2, 3)))   # eps keeps 0 / 0 away


@needs_torch
@pytest.mark.parametrize("options", [{}, {"elementwise_affine": False}, {"bias": False},
                                     {"eps": 1e-3}], ids=str)
@pytest.mark.parametrize("normalized", [4, (3, 4), [3, 4]], ids=str)
def test_layer_norm_module_matches_pytorch(normalized, options, float64):
    ours, theirs = nn.LayerNorm(normalized, **options), torch.nn.LayerNorm(normalized, **options)
    assert repr(ours) == repr(theirs)
    assert ours.normalized_shape == theirs.normalized_shape
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for value in theirs.state_dict().values():
        torch.nn.init.normal_(value)                    # not the ones and zeros both start at
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.double()
    against_torch(ours, theirs, [values(2, 3, 4)])
    for (name, p), (their_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == their_name
        assert_close(p.grad.numpy(), q.grad.numpy(), atol=1e-10)


def test_layer_norm_module_starts_at_ones_and_zeros_and_keeps_its_dtype():
    layer = nn.LayerNorm((2, 3), dtype=ts.float64)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.dtype == ts.float64 and layer.weight.shape == (2, 3)
    assert_close(layer.weight.numpy(), np.ones((2, 3)))
    assert_close(layer.bias.numpy(), np.zeros((2, 3)))
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    x = ts.tensor(values(4, 3))
    assert_close(nn.LayerNorm(3).eval()(x), nn.LayerNorm(3).train()(x))   # no running stats


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.layer_norm(x, (4,)), ValueError,
     r"layer_norm: normalized_shape \(4,\) expects input of shape \(\*, 4\), got \(2, 3\)"),
    (lambda x: F.layer_norm(x, (2, 2, 3)), ValueError,
     r"layer_norm: normalized_shape \(2, 2, 3\) expects input of shape \(\*, 2, 2, 3\), got "
     r"\(2, 3\)"),
    (lambda x: F.layer_norm(x, 3), TypeError,
     r"layer_norm: normalized_shape must be a non-empty tuple or list of ints, got 3"),
    (lambda x: F.layer_norm(x, ()), TypeError, r"layer_norm: normalized_shape must be a "),
    (lambda x: F.layer_norm(x, (3.0,)), TypeError, r"layer_norm: normalized_shape must be an "
                                                     r"int, got 3.0"),
    (lambda x: F.layer_norm(x, (3,), ts.ones(4)), ValueError,
     r"layer_norm: weight of shape \(4,\) does not fit normalized_shape \(3,\)"),
    (lambda x: F.layer_norm(x, (3,), None, ts.ones(2, 3)), ValueError,
     r"layer_norm: bias of shape \(2, 3\) does not fit normalized_shape \(3,\)"),
    (lambda x: F.layer_norm(x.long(), (3,)), TypeError,
     r"layer_norm: input must be floating point, got dtype"),
    (lambda x: F.layer_norm(x, (3,), eps=-1.0), ValueError, r"layer_norm: eps must be >= 0.0"),
    (lambda x: nn.LayerNorm(4)(x), ValueError,
     r"layer_norm: normalized_shape \(4,\) expects input of shape \(\*, 4\), got \(2, 3\)"),
    (lambda x: nn.LayerNorm(-1), ValueError,
     r"LayerNorm: normalized_shape must be a non-negative int, got -1"),
    (lambda x: nn.LayerNorm("3"), TypeError, r"LayerNorm: normalized_shape must be a non-empty"),
    (lambda x: nn.LayerNorm(3, elementwise_affine=None), TypeError,
     r"LayerNorm: elementwise_affine must be True or False"),
])
def test_layer_norm_errors_name_the_op_and_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(2, 3))


# --- elementwise losses -----------------------------------------------------------------------
REDUCTIONS = ["mean", "sum", "none"]
LOSS_SHAPES = [(5,), (3, 4), (2, 3, 4)]
REGRESSION_LOSSES = [
    ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 3.0}), ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}), ("huber_loss", {"delta": 2.5}),
]


@needs_torch
@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", REGRESSION_LOSSES, ids=str)
def test_regression_losses_match_pytorch(name, options, reduction, shape):
    against_torch(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **options),
                  lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **options),
                  [values(*shape), values(*shape)])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_pytorch(name, reduction):
    """l1's "mean" divides by the summed weights, huber's by the element count, as PyTorch."""
    against_torch(lambda a, b, w: getattr(F, name)(a, b, reduction=reduction, weight=w),
                  lambda a, b, w: getattr(TF, name)(a, b, reduction=reduction, weight=w),
                  [values(3, 4), values(3, 4), values(3, 4, low=0.1, high=2.0)], grad_of=(0, 1))


@needs_torch
def test_regression_losses_at_their_kinks_match_pytorch():
    """|d| exactly 0 and exactly beta / delta: PyTorch's values and one-sided gradients."""
    prediction = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0])
    target = np.zeros(6)
    for name, options in REGRESSION_LOSSES:
        against_torch(lambda a, b: getattr(F, name)(a, b, reduction="sum", **options),
                      lambda a, b: getattr(TF, name)(a, b, reduction="sum", **options),
                      [prediction, target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", REGRESSION_LOSSES, ids=str)
def test_regression_loss_gradients_match_finite_differences(name, options, reduction):
    target = values(3, 4)
    kinks = [0.0, options.get("beta", 1.0), -options.get("beta", 1.0),
             options.get("delta", 1.0), -options.get("delta", 1.0)]
    prediction = target + away_from(values(3, 4), kinks)
    gradcheck(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **options),
              [leaf(prediction), leaf(target)])


def test_regression_losses_known_values():
    prediction = ts.tensor([0.0, 0.5, 3.0], dtype=ts.float64)
    target = ts.tensor([0.0, 0.0, 1.0], dtype=ts.float64)
    assert_close(F.l1_loss(prediction, target, reduction="none"), [0.0, 0.5, 2.0])
    assert_close(F.smooth_l1_loss(prediction, target, reduction="none"), [0.0, 0.125, 1.5])
    assert_close(F.smooth_l1_loss(prediction, target, reduction="none", beta=4.0),
                 [0.0, 0.03125, 0.5])
    assert_close(F.huber_loss(prediction, target, reduction="none", delta=0.5),
                 [0.0, 0.125, 0.875])
    assert_close(F.l1_loss(prediction, target, weight=ts.tensor([1.0, 2.0, 1.0],
                                                                dtype=ts.float64)), 3.0 / 4.0)
    assert_close(F.huber_loss(prediction, target, weight=ts.tensor([1.0, 2.0, 1.0],
                                                                   dtype=ts.float64)), 1.75 / 3)
    assert_close(F.l1_loss(prediction, [0.0, 0.0, 1.0]), 2.5 / 3)     # numbers as target


KL_TARGETS = ["probabilities", "with zeros", "log"]


def kl_arrays(kind, shape):
    """Log-probabilities as input and a target of that ``kind``."""
    log_probs = np.log(_rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]))
    target = _rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if kind == "with zeros":
        target[..., 0] = 0.0
    return log_probs, (np.log(target) if kind == "log" else target)


@needs_torch
@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum", "none"])
@pytest.mark.parametrize("kind", KL_TARGETS)
def test_kl_div_matches_pytorch(kind, reduction, shape):
    log_target = kind == "log"
    # at a zero target PyTorch's target gradient is NaN (d/dy of y log y); ours is 0, so there
    # only the input's gradient is compared
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # both warn about "mean"; checked below
        against_torch(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                      lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
                      list(kl_arrays(kind, shape)), grad_of=(0,) if kind == "with zeros" else None)


def test_kl_div_target_gradient_is_zero_at_a_zero_target():
    target = leaf(np.array([0.0, 0.5, 0.5]))
    F.kl_div(leaf(np.log([0.2, 0.3, 0.5])), target, reduction="sum").backward()
    assert_close(target.grad.numpy(), [0.0, np.log(0.5) + 1 - np.log(0.3), 1 + np.log(0.5)
                                       - np.log(0.5)])


@needs_torch
def test_kl_div_of_a_single_value_batchmean_is_the_sum():
    against_torch(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
                  lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
                  [np.array(-0.5), np.array(0.3)])


def test_kl_div_known_values_and_warning():
    log_probs, target = kl_arrays("with zeros", (3, 4))
    pointwise = np.where(target > 0, target * (np.log(np.where(target > 0, target, 1))
                                               - log_probs), 0.0)
    ours = F.kl_div(ts.tensor(log_probs), ts.tensor(target), reduction="batchmean")
    assert_close(ours, pointwise.sum() / 3)
    assert_close(F.kl_div(ts.tensor(log_probs), ts.tensor(np.log(target + 1e-300)),
                          reduction="sum", log_target=True), pointwise.sum(), atol=1e-9)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both"):
        assert_close(F.kl_div(ts.tensor(log_probs), ts.tensor(target)), pointwise.mean())
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        nn.KLDivLoss()(ts.tensor(log_probs), ts.tensor(target))


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("kind", KL_TARGETS)
def test_kl_div_gradients_match_finite_differences(kind, reduction):
    log_probs, target = kl_arrays(kind, (3, 4))
    if kind == "with zeros":     # a zero target is a constant: only the input is nudged
        gradcheck(lambda a: F.kl_div(a, ts.tensor(target), reduction=reduction),
                  [leaf(log_probs)])
    else:
        gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=kind == "log"),
                  [leaf(log_probs), leaf(target)])


@needs_torch
@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.L1Loss(), lambda: torch.nn.L1Loss()),
    (lambda: nn.L1Loss(reduction="sum"), lambda: torch.nn.L1Loss(reduction="sum")),
    (lambda: nn.SmoothL1Loss(beta=0.4), lambda: torch.nn.SmoothL1Loss(beta=0.4)),
    (lambda: nn.SmoothL1Loss("none", 2.0), lambda: torch.nn.SmoothL1Loss(reduction="none",
                                                                          beta=2.0)),
    (lambda: nn.HuberLoss(), lambda: torch.nn.HuberLoss()),
    (lambda: nn.HuberLoss("sum", 0.5), lambda: torch.nn.HuberLoss("sum", 0.5)),
], ids=lambda f: "")
def test_regression_loss_modules_match_pytorch(ours, theirs):
    against_torch(ours(), theirs(), [values(3, 4), values(3, 4)])


@needs_torch
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss_module_matches_pytorch(reduction, log_target):
    ours = nn.KLDivLoss(reduction=reduction, log_target=log_target)
    theirs = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)
    assert (ours.reduction, ours.log_target) == (theirs.reduction, theirs.log_target)
    against_torch(ours, theirs, list(kl_arrays("log" if log_target else "probabilities",
                                               (3, 4))))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.l1_loss(x, ts.ones(3)), ValueError,
     r"l1_loss: input shape \(2, 3\) and target shape \(3,\) differ"),
    (lambda x: F.l1_loss(x, x, reduction="avg"), ValueError,
     r"l1_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"),
    (lambda x: F.l1_loss(x, x, weight=ts.ones(3)), ValueError,
     r"l1_loss: weight shape \(3,\) and input shape \(2, 3\) differ"),
    (lambda x: F.l1_loss(x, "target"), TypeError,
     r"l1_loss: target must be a tensor or numbers, got str"),
    (lambda x: F.l1_loss([1.0], x), TypeError, r"l1_loss"),
    (lambda x: F.smooth_l1_loss(x, x, beta=-1.0), ValueError,
     r"smooth_l1_loss: beta must be >= 0.0, got -1.0"),
    (lambda x: F.smooth_l1_loss(x, x * 1, reduction="batchmean"), ValueError,
     r"smooth_l1_loss: reduction must be one of"),
    (lambda x: F.huber_loss(x, x, delta=0.0), ValueError,
     r"huber_loss: delta must be > 0, got 0.0"),
    (lambda x: F.huber_loss(x, x, weight=ts.ones(2, 3, 1)), ValueError,
     r"huber_loss: weight shape \(2, 3, 1\) and input shape \(2, 3\) differ"),
    (lambda x: F.kl_div(x, x, reduction="batch"), ValueError,
     r"kl_div: reduction must be one of \('mean', 'batchmean', 'sum', 'none'\), got 'batch'"),
    (lambda x: F.kl_div(x, x[0], reduction="sum"), ValueError,
     r"kl_div: input shape \(2, 3\) and target shape \(3,\) differ"),
    (lambda x: F.kl_div(x, x, reduction="sum", log_target=None), TypeError,
     r"kl_div: log_target must be True or False, got None"),
    (lambda x: nn.L1Loss(reduction="max"), ValueError, r"L1Loss: reduction must be one of"),
    (lambda x: nn.SmoothL1Loss(beta=-0.1), ValueError, r"SmoothL1Loss: beta must be >= 0.0"),
    (lambda x: nn.HuberLoss(delta=-2.0), ValueError, r"HuberLoss: delta must be > 0, got -2.0"),
    (lambda x: nn.KLDivLoss(reduction="batch"), ValueError, r"KLDivLoss: reduction must be one "
                                                              r"of 'mean', 'batchmean'"),
])
def test_regression_loss_errors_name_the_op_and_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(2, 3))


# --- cross entropy with label smoothing --------------------------------------------------------
def class_case(layout, classes=5, ignored=()):
    """Logits and class ids in one of PyTorch's layouts; the positions in ``ignored`` (of the
    flattened ids) set to -100."""
    batch_shape = {"rows": (6,), "spatial": (2, 3, 2), "single": ()}[layout]
    logits = values(*batch_shape[:1], classes, *batch_shape[1:]) * 2
    target = _rng.integers(0, classes, size=batch_shape)
    target.reshape(-1)[list(ignored)] = -100
    return logits, target


SMOOTHING_CASES = [("rows", ()), ("rows", (1, 4)), ("spatial", ()), ("spatial", (0, 5, 7)),
                   ("single", ()), ("rows", (0, 1, 2, 3, 4, 5))]


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layout, ignored", SMOOTHING_CASES, ids=str)
def test_cross_entropy_label_smoothing_matches_pytorch(layout, ignored, weighted, reduction,
                                                       smoothing):
    logits, target = class_case(layout, ignored=ignored)
    weight = _rng.uniform(0.2, 3.0, size=5) if weighted else None
    all_ignored = len(ignored) == target.size

    def ours(x):
        return F.cross_entropy(x, ts.tensor(target), None if weight is None else ts.tensor(weight),
                               reduction=reduction, label_smoothing=smoothing)

    def theirs(x):
        return TF.cross_entropy(x, torch.tensor(target), None if weight is None else
                                torch.tensor(weight), reduction=reduction,
                                label_smoothing=smoothing)

    if all_ignored and reduction == "mean":      # 0 / 0, as PyTorch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            assert np.isnan(ours(ts.tensor(logits)).item())
        assert torch.isnan(theirs(torch.tensor(logits)))
        return
    against_torch(ours, theirs, [logits])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_smoothing_at_extreme_logits_matches_pytorch(reduction):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [5.0, 1000.0, -50.0]])
    target, weight = np.array([1, 2, -100]), np.array([0.5, 2.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = against_torch(
            lambda x: F.cross_entropy(x, ts.tensor(target), ts.tensor(weight),
                                      reduction=reduction, label_smoothing=0.25),
            lambda x: TF.cross_entropy(x, torch.tensor(target), torch.tensor(weight),
                                       reduction=reduction, label_smoothing=0.25), [logits])
    assert np.isfinite(out.numpy()).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layout, ignored", SMOOTHING_CASES[:-1], ids=str)
def test_cross_entropy_label_smoothing_gradients_match_finite_differences(layout, ignored,
                                                                          weighted, reduction):
    logits, target = class_case(layout, ignored=ignored)
    weight = ts.tensor(_rng.uniform(0.2, 3.0, size=5)) if weighted else None
    gradcheck(lambda x: F.cross_entropy(x, ts.tensor(target), weight, reduction=reduction,
                                        label_smoothing=0.3), [leaf(logits)])


def test_cross_entropy_label_smoothing_known_values():
    """Uniform logits: every class has log-probability -log C whatever the smoothing; and with
    smoothing 1 the loss is the mean of -log p over the classes."""
    classes = 4
    uniform = ts.zeros(3, classes, dtype=ts.float64)
    target = ts.tensor([0, 2, -100])
    for smoothing in (0.0, 0.2, 1.0):
        assert_close(F.cross_entropy(uniform, target, label_smoothing=smoothing),
                     np.log(classes))
        assert_close(F.cross_entropy(uniform, target, reduction="none",
                                     label_smoothing=smoothing), [np.log(classes)] * 2 + [0.0])
    logits = values(2, classes)
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert_close(F.cross_entropy(ts.tensor(logits), ts.tensor([1, 3]), reduction="sum",
                                 label_smoothing=1.0), -log_probs.sum() / classes)
    expected = (0.9 * -log_probs[[0, 1], [1, 3]] - 0.1 / classes * log_probs.sum(1)).mean()
    assert_close(F.cross_entropy(ts.tensor(logits), ts.tensor([1, 3]), label_smoothing=0.1),
                 expected)


def test_cross_entropy_with_everything_ignored():
    logits = ts.tensor(values(3, 4), requires_grad=True)
    target = ts.tensor([-100, -100, -100])
    total = F.cross_entropy(logits, target, reduction="sum", label_smoothing=0.2)
    assert total.item() == 0.0
    total.backward()
    assert_close(logits.grad.numpy(), np.zeros((3, 4)))
    assert_close(F.cross_entropy(logits, target, reduction="none", label_smoothing=0.2),
                 np.zeros(3))


@needs_torch
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.2}, {"ignore_index": 1,
                                     "label_smoothing": 0.4}, {"reduction": "sum",
                                                               "label_smoothing": 0.1}], ids=str)
def test_cross_entropy_loss_module_matches_pytorch(options, float64):
    weight = _rng.uniform(0.5, 2.0, size=5)
    ours = nn.CrossEntropyLoss(weight=ts.tensor(weight), **options)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight), **options)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss()
                                                            .state_dict()) == []
    assert ours.label_smoothing == theirs.label_smoothing
    logits, target = class_case("spatial")
    against_torch(lambda x: ours(x, ts.tensor(target)),
                  lambda x: theirs(x, torch.tensor(target)), [logits])


@pytest.mark.parametrize("call, error, message", [
    (lambda x, y: F.cross_entropy(x, y, label_smoothing=1.5), ValueError,
     r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda x, y: F.cross_entropy(x, y, label_smoothing=-0.1), ValueError,
     r"cross_entropy: label_smoothing must be in \[0, 1\], got -0.1"),
    (lambda x, y: F.cross_entropy(x, y, label_smoothing="0.1"), TypeError,
     r"cross_entropy: label_smoothing must be a real number"),
    (lambda x, y: F.cross_entropy(x, y, ts.ones(3), label_smoothing=0.1), ValueError,
     r"cross_entropy: weight of shape \(3,\) does not fit 4 classes"),
    (lambda x, y: F.cross_entropy(x, y[:1], label_smoothing=0.1), ValueError,
     r"cross_entropy: expected logits \(N, C\) and targets \(N,\), got \(2, 4\) and \(1,\)"),
    (lambda x, y: nn.CrossEntropyLoss(label_smoothing=2), ValueError,
     r"CrossEntropyLoss: label_smoothing must be in \[0, 1\], got 2.0"),
    (lambda x, y: nn.CrossEntropyLoss(weight=[1.0, 2.0]), TypeError,
     r"CrossEntropyLoss: weight must be a Tensor or None, got list"),
])
def test_cross_entropy_errors_name_the_op_and_values(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(2, 4), ts.tensor([0, 3]))


# --- binary cross entropy with logits: weight and pos_weight -----------------------------------
BCE_WEIGHTS = [(None, (4,)), ((4,), None), ((3, 1), (4,)), ((3, 4), (1, 4)), ((), ())]


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape, pos_weight_shape", BCE_WEIGHTS, ids=str)
def test_bce_with_logits_weights_match_pytorch(weight_shape, pos_weight_shape, reduction):
    logits, target = values(3, 4) * 3, _rng.uniform(0, 1, size=(3, 4))
    weight = None if weight_shape is None else _rng.uniform(0.1, 2.0, size=weight_shape)
    pos_weight = None if pos_weight_shape is None else _rng.uniform(0.1, 4.0,
                                                                    size=pos_weight_shape)

    def call(function, tensor):
        return lambda x, y: function(x, y, None if weight is None else tensor(weight),
                                     reduction=reduction, pos_weight=None if pos_weight is None
                                     else tensor(pos_weight))

    against_torch(call(F.binary_cross_entropy_with_logits, ts.tensor),
                  call(TF.binary_cross_entropy_with_logits, torch.tensor), [logits, target])


@needs_torch
@pytest.mark.parametrize("with_weights", [False, True])
def test_bce_with_logits_at_extreme_logits_matches_pytorch(with_weights):
    logits = np.concatenate([EXTREMES, EXTREMES])
    target = np.repeat([0.0, 1.0], len(EXTREMES))
    weights = {"weight": _rng.uniform(0.5, 2, size=logits.shape),
               "pos_weight": _rng.uniform(0.5, 4, size=logits.shape)} if with_weights else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = against_torch(
            lambda x, y: F.binary_cross_entropy_with_logits(
                x, y, reduction="none", **{k: ts.tensor(v) for k, v in weights.items()}),
            lambda x, y: TF.binary_cross_entropy_with_logits(
                x, y, reduction="none", **{k: torch.tensor(v) for k, v in weights.items()}),
            [logits, target])
    assert np.isfinite(out.numpy()).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape, pos_weight_shape", BCE_WEIGHTS, ids=str)
def test_bce_with_logits_weight_gradients_match_finite_differences(weight_shape,
                                                                   pos_weight_shape, reduction):
    inputs = [leaf(values(3, 4) * 3), leaf(_rng.uniform(0, 1, size=(3, 4)))]
    shapes = [shape for shape in (weight_shape, pos_weight_shape) if shape is not None]
    inputs += [leaf(_rng.uniform(0.1, 3.0, size=shape)) for shape in shapes]

    def loss(x, y, *weights):
        weights = list(weights)
        weight = None if weight_shape is None else weights.pop(0)
        pos_weight = None if pos_weight_shape is None else weights.pop(0)
        return F.binary_cross_entropy_with_logits(x, y, weight, reduction, pos_weight)

    gradcheck(loss, inputs)


def test_bce_with_logits_pos_weight_known_values():
    """pos_weight p scales -log sigmoid(x) where y is 1: p log(1 + e^-x); 0 logits give log 2."""
    zero = ts.zeros(2, 3, dtype=ts.float64)
    target = ts.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=ts.float64)
    pos_weight = ts.tensor([2.0, 5.0, 0.5], dtype=ts.float64)
    expected = np.log(2) * np.array([[2.0, 1.0, 0.5], [1.0, 1.0, 0.5]])
    assert_close(F.binary_cross_entropy_with_logits(zero, target, reduction="none",
                                                    pos_weight=pos_weight), expected)
    weight = ts.tensor([[1.0], [3.0]], dtype=ts.float64)
    assert_close(F.binary_cross_entropy_with_logits(zero, target, weight, pos_weight=pos_weight),
                 (expected * [[1.0], [3.0]]).mean())
    big = ts.tensor([1000.0, -1000.0], dtype=ts.float64)
    assert_close(F.binary_cross_entropy_with_logits(big, ts.tensor([0.0, 1.0], dtype=ts.float64),
                                                    reduction="none", pos_weight=ts.tensor(
                                                        [3.0, 3.0], dtype=ts.float64)),
                 [1000.0, 3000.0])


@needs_torch
def test_bce_with_logits_loss_module_matches_pytorch(float64):
    weight, pos_weight = _rng.uniform(0.5, 2, size=(3, 1)), _rng.uniform(0.5, 3, size=4)
    ours = nn.BCEWithLogitsLoss(ts.tensor(weight), pos_weight=ts.tensor(pos_weight))
    theirs = torch.nn.BCEWithLogitsLoss(torch.tensor(weight), pos_weight=torch.tensor(pos_weight))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "pos_weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=ts.ones(2)).state_dict()) == \
        list(torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)).state_dict())
    against_torch(ours, theirs, [values(3, 4), _rng.uniform(0, 1, size=(3, 4))])
    assert ours.float().pos_weight.dtype == ts.float32      # buffers convert with the module


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.binary_cross_entropy_with_logits(x, x, pos_weight=ts.ones(4)), ValueError,
     r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\) does not broadcast to input "
     r"shape \(2, 3\)"),
    (lambda x: F.binary_cross_entropy_with_logits(x, x, ts.ones(2, 2, 3)), ValueError,
     r"binary_cross_entropy_with_logits: weight of shape \(2, 2, 3\) does not broadcast to input "
     r"shape \(2, 3\)"),
    (lambda x: F.binary_cross_entropy_with_logits(x, x, pos_weight="2"), TypeError,
     r"binary_cross_entropy_with_logits: pos_weight must be a tensor or numbers, got str"),
    (lambda x: F.binary_cross_entropy_with_logits(x, x[0], pos_weight=ts.ones(3)), ValueError,
     r"binary_cross_entropy_with_logits: input shape \(2, 3\) and target shape \(3,\) differ"),
    (lambda x: nn.BCEWithLogitsLoss(pos_weight=[1.0]), TypeError,
     r"BCEWithLogitsLoss: pos_weight must be a Tensor or None, got list"),
    (lambda x: nn.BCEWithLogitsLoss(reduction="avg"), ValueError,
     r"BCEWithLogitsLoss: reduction must be one of"),
])
def test_bce_with_logits_errors_name_the_op_and_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.ones(2, 3))


# --- Embedding.from_pretrained -----------------------------------------------------------------
def test_embedding_from_pretrained_shares_and_freezes_the_weight():
    vectors = ts.tensor(values(5, 3))
    frozen = nn.Embedding.from_pretrained(vectors)
    assert (frozen.num_embeddings, frozen.embedding_dim, frozen.padding_idx) == (5, 3, None)
    assert not frozen.weight.requires_grad and isinstance(frozen.weight, nn.Parameter)
    assert np.shares_memory(frozen.weight.numpy(), vectors.numpy())
    assert_close(frozen(ts.tensor([[4, 0], [2, 2]])), vectors.numpy()[[[4, 0], [2, 2]]])
    assert list(frozen.state_dict()) == ["weight"]


@needs_torch
def test_embedding_from_pretrained_matches_pytorch_with_padding():
    vectors = values(6, 4)
    ids = np.array([[1, 5, 2], [5, 0, 1]])
    ours = nn.Embedding.from_pretrained(ts.tensor(vectors), freeze=False, padding_idx=-1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(vectors), freeze=False,
                                                padding_idx=-1)
    assert ours.padding_idx == theirs.padding_idx == 5
    assert repr(ours) == repr(theirs)
    assert ours.weight.requires_grad
    out, expected = ours(ts.tensor(ids)), theirs(torch.tensor(ids))
    assert_close(out, expected.detach().numpy())            # the padding row is kept as given
    weights = _rng.standard_normal(out.shape)
    (out * ts.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    assert not ours.weight.grad.numpy()[5].any()            # and gets no gradient


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Embedding.from_pretrained(ts.ones(6)), ValueError,
     r"Embedding.from_pretrained: embeddings must be 2-D \(num_embeddings, embedding_dim\), "
     r"got shape \(6,\)"),
    (lambda: nn.Embedding.from_pretrained(np.ones((2, 3))), TypeError,
     r"Embedding.from_pretrained"),
    (lambda: nn.Embedding.from_pretrained(ts.ones(2, 3), freeze="no"), TypeError,
     r"Embedding.from_pretrained: freeze must be True or False"),
    (lambda: nn.Embedding.from_pretrained(ts.ones(2, 3), padding_idx=2), IndexError,
     r"Embedding: padding_idx 2 is outside \[0, 2\)"),
    (lambda: nn.Embedding.from_pretrained(ts.ones(2, 3), max_norm=-1.0), ValueError,
     r"Embedding: max_norm must be >= 0.0, got -1.0"),
    (lambda: nn.Embedding.from_pretrained(ts.ones(2, 3), sparse=True), ValueError,
     r"Embedding: sparse=True is not supported: tinyseq has no sparse gradients"),
    (lambda: nn.Embedding(3, 2, _weight=ts.ones(2, 3)), ValueError,
     r"Embedding: _weight of shape \(2, 3\) does not match \(num_embeddings, embedding_dim\) = "
     r"\(3, 2\)"),
])
def test_embedding_from_pretrained_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- containers -------------------------------------------------------------------------------
def build_net(framework):
    """The same model in tinyseq (``nn``) or PyTorch (``torch.nn``): a ModuleDict of layers, a
    ParameterList of per-feature scales and a ParameterDict given as a plain dict (whose keys
    PyTorch sorts)."""
    library = framework.nn

    class Net(library.Module):
        def __init__(self):
            super().__init__()
            self.layers = library.ModuleDict({"proj": library.Linear(4, 6),
                                              "norm": library.LayerNorm(6)})
            self.layers.update([("out", library.Linear(6, 3))])
            self.scales = library.ParameterList([library.Parameter(framework.ones(6))])
            self.scales.append(library.Parameter(framework.zeros(6)))
            self.extras = library.ParameterDict({"shift": framework.zeros(3),
                                                 "gain": library.Parameter(framework.ones(3))})

        def forward(self, x):
            h = self.layers["norm"](self.layers["proj"](x))
            h = h * self.scales[0] + self.scales[-1]
            return self.layers["out"](h.tanh()) * self.extras["gain"] + self.extras["shift"]

    return Net()


@needs_torch
def test_container_model_state_dict_loads_from_pytorch_and_computes_the_same(float64):
    theirs, ours = build_net(torch).double(), build_net(ts)
    keys = ["layers.proj.weight", "layers.proj.bias", "layers.norm.weight", "layers.norm.bias",
            "layers.out.weight", "layers.out.bias", "scales.0", "scales.1", "extras.gain",
            "extras.shift"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    assert [name for name, _ in ours.named_parameters()] == \
        [name for name, _ in theirs.named_parameters()] == keys
    with torch.no_grad():
        for value in theirs.parameters():
            value.normal_()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    against_torch(ours, theirs, [values(5, 4)])
    their_grads = dict((name, p.grad) for name, p in theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad.numpy(), their_grads[name].numpy(), atol=1e-10)


def test_containers_are_walked_by_train_double_and_zero_grad():
    net = build_net(ts)
    assert len(list(net.parameters())) == 10
    assert all(p.dtype == ts.float32 for p in net.parameters())
    net.double()
    assert all(p.dtype == ts.float64 for p in net.parameters())
    net.eval()
    assert not net.layers.training and not net.layers["norm"].training
    assert not net.scales.training and not net.extras.training
    net(ts.ones(2, 4, dtype=ts.float64)).sum().backward()
    assert net.scales[1].grad is not None and net.extras["shift"].grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_module_dict_behaves_as_pytorchs():
    first, second, third = nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)
    layers = nn.ModuleDict(OrderedDict([("b", first), ("a", second)]))
    assert list(layers) == list(layers.keys()) == ["b", "a"]     # insertion order, not sorted
    assert list(layers.values()) == [first, second]
    assert list(layers.items()) == [("b", first), ("a", second)]
    assert len(layers) == 2 and "a" in layers and "c" not in layers and layers["b"] is first
    layers["c"] = third
    layers.update({"b": nn.ReLU()})          # a replaced key keeps its place
    assert list(layers) == ["b", "a", "c"] and isinstance(layers["b"], nn.ReLU)
    assert [name for name, _ in layers.named_parameters()] == ["c.weight", "c.bias"]
    assert layers.pop("a") is second and list(layers) == ["b", "c"]
    del layers["b"]
    assert list(layers) == ["c"]
    layers.clear()
    assert len(layers) == 0 and list(layers.parameters()) == []
    with pytest.raises(NotImplementedError):
        layers(ts.ones(1))


def test_parameter_list_behaves_as_pytorchs():
    a = nn.Parameter(ts.ones(2))
    plain = ts.zeros(3)
    params = nn.ParameterList([a])
    params.append(plain).extend([nn.Parameter(ts.ones(1))])
    params += [ts.ones(4)]
    assert len(params) == 4 and params[0] is a
    assert isinstance(params[1], nn.Parameter) and params[1].requires_grad
    assert np.shares_memory(params[1].numpy(), plain.numpy())   # converted, not copied
    assert params[-1].shape == (4,) and params[-4] is a
    assert [p.shape[0] for p in params] == [2, 3, 1, 4]
    assert [name for name, _ in params.named_parameters()] == ["0", "1", "2", "3"]
    part = params[1:3]
    assert isinstance(part, nn.ParameterList) and [p.shape[0] for p in part] == [3, 1]
    assert part[0] is params[1]
    params[0] = ts.full((5,), 2.0)
    assert params[0].shape == (5,) and list(params.state_dict()) == ["0", "1", "2", "3"]
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        params(ts.ones(1))


@needs_torch
def test_parameter_list_and_dict_print_as_pytorch():
    ours = nn.ParameterList([nn.Parameter(ts.ones(2, 3)), nn.Parameter(ts.ones(4))])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)),
                                     torch.nn.Parameter(torch.ones(4))])
    assert repr(ours).replace("tinyseq.", "torch.") == repr(theirs)
    ours = nn.ModuleDict({"p": nn.ParameterDict({"w": ts.ones(2), "v": 3}), "q": nn.Tanh()})
    theirs = torch.nn.ModuleDict({"p": torch.nn.ParameterDict({"w": torch.ones(2), "v": 3}),
                                  "q": torch.nn.Tanh()})
    # PyTorch's ParameterDict names the tensor type (torch.FloatTensor); ours the dtype
    assert repr(ours).replace("tinyseq.float32", "torch.FloatTensor") == repr(theirs)
    assert repr(ours) == ("ModuleDict(\n  (p): ParameterDict(\n"
                          "      (v): Object of type: int\n"
                          "      (w): Parameter containing: [tinyseq.float32 of size 2]\n  )\n"
                          "  (q): Tanh()\n)")
    single = nn.ParameterList([nn.Parameter(ts.ones(3))])
    assert repr(single).replace("tinyseq.", "torch.") == \
        repr(torch.nn.ParameterList([torch.nn.Parameter(torch.ones(3))]))


def test_parameter_dict_behaves_as_pytorchs():
    w, v = nn.Parameter(ts.ones(2)), ts.zeros(3)
    params = nn.ParameterDict({"w": w, "v": v})
    assert list(params) == ["v", "w"]           # a plain dict's keys sorted, as PyTorch's
    ordered = nn.ParameterDict(OrderedDict([("w", w), ("v", v)]))
    assert list(ordered) == ["w", "v"] and list(ordered.state_dict()) == ["w", "v"]
    assert list(nn.ParameterDict([("z", w), ("a", v)])) == ["z", "a"]
    assert params["w"] is w and isinstance(params["v"], nn.Parameter)
    assert np.shares_memory(params["v"].numpy(), v.numpy())
    assert len(params) == 2 and "w" in params and "x" not in params
    assert [k for k, _ in params.items()] == list(params.keys()) == ["v", "w"]
    assert list(params.values())[1] is w and list(reversed(params)) == ["w", "v"]
    assert params.get("x") is None and params.get("w") is w
    params.update(ordered)
    params["u"] = ts.ones(1)
    assert list(params) == ["v", "w", "u"]
    assert [name for name, _ in params.named_parameters()] == ["v", "w", "u"]
    assert params.pop("v") is ordered["v"] and list(params) == ["w", "u"]
    del params["w"]
    assert list(params.state_dict()) == ["u"]
    with pytest.raises(KeyError):
        params["w"]
    params.clear()
    assert len(params) == 0 and list(params.parameters()) == []
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        params(ts.ones(1))


@needs_torch
def test_parameter_dict_update_orders_keys_as_pytorch():
    values_by_key = {"zeta": np.ones(2), "alpha": np.zeros(1), "mid": np.ones(3)}
    ours = nn.ParameterDict({k: ts.tensor(v) for k, v in values_by_key.items()})
    theirs = torch.nn.ParameterDict({k: torch.tensor(v) for k, v in values_by_key.items()})
    ours.update([("beta", ts.ones(1))])
    theirs.update([("beta", torch.ones(1))])
    assert list(ours.state_dict()) == list(theirs.state_dict())


CONTAINER_ERRORS = [
    (lambda: nn.ModuleDict({1: nn.Tanh()}), TypeError, r"ModuleDict: keys must be strings, got 1"),
    (lambda: nn.ModuleDict({"a.b": nn.Tanh()}), KeyError,
     r"ModuleDict: a key must be a non-empty str without '.', got 'a.b'"),
    (lambda: nn.ModuleDict({"": nn.Tanh()}), KeyError, r"non-empty str without '.', got ''"),
    (lambda: nn.ModuleDict({"keys": nn.Tanh()}), KeyError,
     r"ModuleDict: key 'keys' is already an attribute of ModuleDict"),
    (lambda: nn.ModuleDict({"a": ts.ones(2)}), TypeError,
     r"ModuleDict: the value of 'a' must be a Module, got Tensor"),
    (lambda: nn.ModuleDict(3), TypeError,
     r"ModuleDict.update should be called with an iterable of key/value pairs, but got int"),
    (lambda: nn.ModuleDict([("a", nn.Tanh(), 1)]), ValueError,
     r"ModuleDict update sequence element #0 has length 3; 2 is required"),
    (lambda: nn.ModuleDict([("a", nn.Tanh()), 5]), TypeError,
     r"ModuleDict update sequence element #1 should be Iterable; is int"),
    (lambda: nn.ParameterList(ts.ones(3)), TypeError,
     r"ParameterList.extend should be called with an iterable, but got Tensor"),
    (lambda: nn.ParameterList([ts.ones(1)])[1], IndexError,
     r"ParameterList: index 1 is out of range for length 1"),
    (lambda: nn.ParameterList([ts.ones(1)])[-2], IndexError, r"index -2 is out of range"),
    (lambda: nn.ParameterList([ts.ones(1)])["0"], TypeError,
     r"'str' object cannot be interpreted as an integer"),
    (lambda: nn.ParameterDict({"training": ts.ones(1)}), KeyError,
     r"ParameterDict: key 'training' is already an attribute of ParameterDict"),
    (lambda: nn.ParameterDict([(0, ts.ones(1))]), TypeError,
     r"ParameterDict: keys must be strings, got 0"),
    (lambda: nn.ParameterDict({"x.y": ts.ones(1)}), KeyError,
     r"ParameterDict: a key must be a non-empty str without '.', got 'x.y'"),
]


@pytest.mark.parametrize("call, error, message", CONTAINER_ERRORS)
def test_container_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_refused_update_changes_nothing():
    layers = nn.ModuleDict({"a": nn.Tanh()})
    with pytest.raises(TypeError, match="the value of 'c' must be a Module"):
        layers.update([("b", nn.ReLU()), ("c", "not a module")])
    assert list(layers) == ["a"]
    params = nn.ParameterDict({"a": ts.ones(1)})
    with pytest.raises(KeyError, match="'training' is already an attribute"):
        params.update([("b", ts.ones(1)), ("training", ts.ones(1))])
    assert list(params) == ["a"] and list(params.state_dict()) == ["a"]


# --- loss weights as buffers, ModuleList and Sequential's list operations ----------------------
@needs_torch
@pytest.mark.parametrize("name", ["NLLLoss", "BCELoss"])
def test_nll_and_bce_weights_are_buffers_as_pytorch(name):
    weight = np.array([1.0, 2.0, 3.0])
    ours = getattr(nn, name)(weight=ts.tensor(weight, dtype=ts.float32))
    theirs = getattr(torch.nn, name)(weight=torch.tensor(weight, dtype=torch.float32))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert ours.double().weight.dtype == ts.float64
    assert list(getattr(nn, name)().state_dict()) == []
    with pytest.raises(TypeError, match=f"{name}: weight must be a Tensor or None, got list"):
        getattr(nn, name)(weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=f"{name}: reduction must be one of"):
        getattr(nn, name)(reduction="avg")


def _list_operations(framework_nn, make):
    """The same edits on a ModuleList of the framework: their types and state_dict keys."""
    modules = framework_nn.ModuleList([make(1)])
    modules.extend([framework_nn.Tanh(), make(2)])
    modules.insert(0, make(3))
    modules[1] = make(4)
    del modules[2]
    modules += [make(5)]
    popped = modules.pop(1)
    sliced = modules[1:]
    return ([type(m).__name__ for m in modules], list(modules.state_dict()),
            type(popped).__name__, type(sliced).__name__, len(sliced))


@needs_torch
def test_module_list_edits_as_pytorch():
    ours = _list_operations(nn, lambda n: nn.Linear(n, 1))
    theirs = _list_operations(torch.nn, lambda n: torch.nn.Linear(n, 1))
    assert ours == theirs
    with pytest.raises(TypeError, match="ModuleList: int is not a Module"):
        nn.ModuleList().append(3)
    with pytest.raises(IndexError, match="index 3 is out of range for 1 modules"):
        nn.ModuleList([nn.Tanh()])[3]


@needs_torch
def test_sequential_of_an_ordered_dict_keeps_the_names_as_pytorch():
    def build(framework_nn):
        return framework_nn.Sequential(OrderedDict([
            ("encoder", framework_nn.Linear(2, 3)), ("act", framework_nn.Tanh()),
            ("decoder", framework_nn.Linear(3, 1))]))

    torch.manual_seed(0)
    ours, theirs = build(nn), build(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    # float32 sums in another order: an output near 0 differs by a few of its roundings
    np.testing.assert_allclose(ours(ts.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert list(ours[1:].state_dict()) == list(theirs[1:].state_dict()) == ["decoder.weight",
                                                                          "decoder.bias"]
    ours[0], theirs[0] = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    del ours[1]
    del theirs[1]                                   # deleting numbers them all, as PyTorch
    assert list(ours.state_dict()) == list(theirs.state_dict())

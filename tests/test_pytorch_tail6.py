"""PyTorch's tail, sixth batch: the activations relu6, selu, celu, mish, hardsigmoid,
hardswish, softsign, tanhshrink, softshrink, hardshrink, softmin, threshold and prelu (functions
and modules); the losses margin_ranking, hinge_embedding, soft_margin, cosine_embedding,
triplet_margin, poisson_nll, gaussian_nll, multilabel_soft_margin and multi_margin; the modules
CosineSimilarity, PairwiseDistance, Unflatten, Bilinear and the padding layers.

PyTorch is the oracle where it is installed (values and gradients in float64, float32 values,
reprs, state dicts); the finite-difference checks and the hand-computed values run without it."""
import math
import warnings

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn

from gradcheck import gradcheck

_rng = np.random.default_rng(66)


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)   # tiny tensors: PyTorch's thread pool only adds waiting
    return torch


def values(*shape, low=-3.0, high=3.0):
    return _rng.uniform(low, high, size=shape)


def signs(*shape):
    return np.where(_rng.random(shape) < 0.5, -1.0, 1.0)


def leaves(arrays):
    return [ts.tensor(a, dtype=ts.float64, requires_grad=True) for a in arrays]


def same_values_and_grads(torch, ours_fn, theirs_fn, arrays, constants=(), rtol=1e-10,
                          atol=1e-12):
    """Values and the gradients of sum(out * R) of float64 leaves of ``arrays``; ``constants``
    (targets, ids) are passed after them as they are, to each library as its own tensor."""
    ours, theirs = leaves(arrays), [torch.tensor(a, requires_grad=True) for a in arrays]
    ours_constants = [ts.tensor(c) for c in constants]
    theirs_constants = [torch.tensor(c) for c in constants]
    out, expected = ours_fn(*ours, *ours_constants), theirs_fn(*theirs, *theirs_constants)
    assert tuple(out.shape) == tuple(expected.shape)
    assert out.dtype == ts.float64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    weight = np.random.default_rng(0).standard_normal(out.shape)
    (out * ts.tensor(weight)).sum().backward()
    (expected * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


def same_float32(torch, ours_fn, theirs_fn, arrays, constants=()):
    ours = [ts.tensor(a.astype(np.float32)) for a in arrays] + [ts.tensor(c) for c in constants]
    theirs = [torch.tensor(a.astype(np.float32)) for a in arrays] + \
        [torch.tensor(c) for c in constants]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    assert out.dtype == ts.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


# --- activations -------------------------------------------------------------------------------
ACTIVATIONS = [("relu6", {}), ("selu", {}), ("celu", {}), ("celu", dict(alpha=0.7)),
               ("mish", {}), ("hardsigmoid", {}), ("hardswish", {}), ("softsign", {}),
               ("tanhshrink", {}), ("softshrink", {}), ("softshrink", dict(lambd=1.5)),
               ("hardshrink", {}), ("hardshrink", dict(lambd=1.2)),
               ("threshold", dict(threshold=0.3, value=-2.0)), ("softmin", dict(dim=1)),
               ("softmin", dict(dim=0))]
# relu6 and the hard ones have kinks or jumps in [-3, 3]: values avoid their neighbourhood
AWAY_FROM_KINKS = np.array([[-7.1, -3.2, -2.5, -1.1, -0.4], [0.2, 0.7, 2.6, 3.3, 6.4],
                            [-0.6, 1.4, 5.2, -5.5, 8.0]])


@pytest.mark.parametrize("name, kwargs", ACTIVATIONS)
def test_activations_as_pytorch(torch, name, kwargs):
    # PyTorch's celu backward rounds 1 / alpha to float32 (alpha.toFloat()) and its hardsigmoid
    # backward uses a float32 1 / 6 in float64 too; tinyseq's do not
    rtol = 1e-6 if kwargs.get("alpha", 1.0) != 1.0 else 1e-7 if name == "hardsigmoid" else 1e-10
    for array in (values(3, 5) * 2, AWAY_FROM_KINKS):
        same_values_and_grads(torch, lambda x: getattr(F, name)(x, **kwargs),
                              lambda x: getattr(torch.nn.functional, name)(x, **kwargs),
                              [array], rtol=rtol)
        same_float32(torch, lambda x: getattr(F, name)(x, **kwargs),
                     lambda x: getattr(torch.nn.functional, name)(x, **kwargs), [array])


@pytest.mark.parametrize("name, kwargs", [a for a in ACTIVATIONS if a[0] != "softmin"])
def test_activations_pass_finite_differences(name, kwargs):
    gradcheck(lambda x: getattr(F, name)(x, **kwargs), leaves([AWAY_FROM_KINKS]))


def test_activations_by_hand():
    x = ts.tensor([-4.0, -3.0, -1.5, 0.0, 0.25, 3.0, 7.0], dtype=ts.float64)
    assert F.relu6(x).tolist() == [0.0, 0.0, 0.0, 0.0, 0.25, 3.0, 6.0]
    assert F.hardsigmoid(x).tolist() == [0.0, 0.0, 0.25, 0.5, 0.25 / 6 + 0.5, 1.0, 1.0]
    assert F.hardswish(x).tolist() == pytest.approx([0.0, 0.0, -0.375, 0.0, 0.25 * 3.25 / 6,
                                                     3.0, 7.0])
    assert F.softshrink(x, 1.0).tolist() == [-3.0, -2.0, -0.5, 0.0, 0.0, 2.0, 6.0]
    assert F.hardshrink(x, 1.0).tolist() == [-4.0, -3.0, -1.5, 0.0, 0.0, 3.0, 7.0]
    assert F.threshold(x, 0.0, 9.0).tolist() == [9.0, 9.0, 9.0, 9.0, 0.25, 3.0, 7.0]
    assert F.softsign(x).tolist()[2] == -0.6
    assert F.selu(ts.tensor([1.0])).item() == pytest.approx(1.0507009873554805)
    assert F.celu(ts.tensor([-2.0]), alpha=2.0).item() == pytest.approx(2 * (math.exp(-1) - 1))
    assert F.mish(ts.tensor([0.0, 50.0])).tolist() == [0.0, 50.0]
    np.testing.assert_allclose(F.softmin(ts.tensor([0.0, math.log(3)]), dim=0).numpy(),
                               [0.75, 0.25])


def test_activation_gradients_at_the_kinks_as_pytorch(torch):
    """At the kinks themselves, the gradient PyTorch's backward formulas give."""
    at = np.array([-3.0, 0.0, 3.0, 6.0, -0.5, 0.5])
    for name, kwargs in [("relu6", {}), ("hardsigmoid", {}), ("hardswish", {}),
                         ("softshrink", {}), ("hardshrink", {}),
                         ("threshold", dict(threshold=0.5, value=1.0))]:
        same_values_and_grads(torch, lambda x: getattr(F, name)(x, **kwargs),
                              lambda x: getattr(torch.nn.functional, name)(x, **kwargs), [at],
                              rtol=1e-7)     # hardsigmoid: PyTorch's float32 1 / 6


@pytest.mark.parametrize("name", ["relu6", "selu", "celu", "mish", "hardsigmoid", "hardswish",
                                  "threshold"])
def test_inplace_activations_write_into_the_input(torch, name):
    args = (0.1, 5.0) if name == "threshold" else ()
    array = values(2, 3)
    x, tx = ts.tensor(array), torch.tensor(array)
    got = getattr(F, name)(x, *args, inplace=True)
    getattr(torch.nn.functional, name)(tx, *args, inplace=True)
    assert got is x
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12)


def test_softmin_without_dim_warns_as_pytorch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        y = F.softmin(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(y.numpy().sum(1), [1.0, 1.0])
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        nn.Softmin()(ts.tensor([[1.0, 2.0]]))


def test_softmin_dtype(torch):
    x = values(2, 3).astype(np.float32)
    got = F.softmin(ts.tensor(x), 1, dtype=ts.float64)
    assert got.dtype == ts.float64
    np.testing.assert_allclose(got.numpy(), torch.nn.functional.softmin(
        torch.tensor(x), 1, dtype=torch.float64).numpy(), rtol=1e-12)


# --- prelu -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, weight_shape", [((4, 3), (3,)), ((2, 3, 5), (3,)),
                                                 ((2, 3, 2, 2), (1,)), ((5,), (1,)),
                                                 ((2, 3), ()), ((), (1,))])
def test_prelu_as_pytorch(torch, shape, weight_shape):
    arrays = [values(*shape), values(*weight_shape, low=0.05, high=0.5)]
    same_values_and_grads(torch, F.prelu, torch.nn.functional.prelu, arrays)
    gradcheck(F.prelu, leaves(arrays))


def test_prelu_module_weights_and_state_dict_as_pytorch(torch):
    ours, theirs = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(ours) == repr(theirs) == "PReLU(num_parameters=3)"
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == {"weight": (3,)}
    assert ours.weight.tolist() == pytest.approx([0.1] * 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.2, -0.3, 0.7]))
    ours.load_state_dict({k: ts.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = values(2, 3, 4).astype(np.float32)
    np.testing.assert_allclose(ours(ts.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    assert repr(nn.PReLU()) == repr(torch.nn.PReLU())


def test_prelu_errors(torch):
    x, tx = values(2, 3), torch.tensor(values(2, 3))
    with pytest.raises(Exception):
        torch.nn.functional.prelu(tx, torch.ones(4))
    with pytest.raises(ValueError, match=r"prelu: weight must be one number or 1-D with one per "
                                         r"channel .* got weight of shape \(4,\) for input of "
                                         r"shape \(2, 3\)"):
        F.prelu(ts.tensor(x), ts.ones(4))
    with pytest.raises(ValueError, match=r"prelu: .*weight of shape \(3, 1\)"):
        F.prelu(ts.tensor(x), ts.ones(3, 1))


# --- activation modules ------------------------------------------------------------------------
MODULES = ["ReLU6()", "SELU()", "SELU(inplace=True)", "CELU()", "CELU(0.5, True)", "Mish()",
           "Hardsigmoid()", "Hardswish()", "Softsign()", "Tanhshrink()", "Softshrink()",
           "Softshrink(1.5)", "Hardshrink()", "Hardshrink(0.25)", "Softmin(dim=1)",
           "Softmin(-1)", "Threshold(0.1, 20)", "Threshold(1, 2.5, True)", "ReLU6(True)",
           "Mish(inplace=True)"]


@pytest.mark.parametrize("spec", MODULES)
def test_activation_modules_as_pytorch(torch, spec):
    ours, theirs = eval("nn." + spec), eval("torch.nn." + spec)
    assert repr(ours) == repr(theirs)
    array = values(3, 4)
    x, tx = ts.tensor(array), torch.tensor(array)
    np.testing.assert_allclose(ours(x).numpy(), theirs(tx).numpy(), rtol=1e-12, atol=1e-14)


def test_activation_module_reprs_by_hand():
    assert repr(nn.CELU(0.5, True)) == "CELU(alpha=0.5, inplace=True)"
    assert repr(nn.Softshrink()) == "Softshrink(0.5)"
    assert repr(nn.Threshold(0.1, 20)) == "Threshold(threshold=0.1, value=20)"
    assert repr(nn.Softmin(1)) == "Softmin(dim=1)"


def test_activation_argument_errors(torch):
    x = ts.tensor([1.0])
    with pytest.raises(Exception):
        torch.nn.functional.softshrink(torch.tensor([1.0]), -0.5)
    with pytest.raises(ValueError, match=r"softshrink: lambd must be >= 0.0, got -0.5"):
        F.softshrink(x, -0.5)
    with pytest.raises(ValueError, match=r"celu: alpha must not be 0"):
        F.celu(x, 0.0)
    with pytest.raises(ValueError, match=r"CELU: alpha must not be 0"):
        nn.CELU(0)
    with pytest.raises(TypeError, match=r"threshold: threshold must be a real number"):
        F.threshold(x, "1", 0.0)
    with pytest.raises(TypeError, match=r"mish: expected a Tensor, got list"):
        F.mish([1.0])
    with pytest.raises(RuntimeError):
        F.relu6(ts.tensor([1.0], requires_grad=True), inplace=True)


# --- losses ------------------------------------------------------------------------------------
REDUCTIONS = ["none", "mean", "sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.7])
def test_margin_ranking_loss_as_pytorch(torch, reduction, margin):
    arrays, target = [values(6), values(6)], signs(6)
    kwargs = dict(margin=margin, reduction=reduction)
    same_values_and_grads(torch, lambda a, b, y: F.margin_ranking_loss(a, b, y, **kwargs),
                          lambda a, b, y: torch.nn.functional.margin_ranking_loss(a, b, y,
                                                                                  **kwargs),
                          arrays, [target])
    same_values_and_grads(torch, lambda a, b, y: nn.MarginRankingLoss(**kwargs)(a, b, y),
                          lambda a, b, y: torch.nn.MarginRankingLoss(**kwargs)(a, b, y),
                          [values(4, 1), values(4, 3)], [signs(1, 3)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 2.5])
def test_hinge_embedding_loss_as_pytorch(torch, reduction, margin):
    kwargs = dict(margin=margin, reduction=reduction)
    same_values_and_grads(torch, lambda x, y: F.hinge_embedding_loss(x, y, **kwargs),
                          lambda x, y: torch.nn.functional.hinge_embedding_loss(x, y, **kwargs),
                          [values(3, 4)], [signs(3, 4)])
    same_values_and_grads(torch, lambda x, y: nn.HingeEmbeddingLoss(**kwargs)(x, y),
                          lambda x, y: torch.nn.HingeEmbeddingLoss(**kwargs)(x, y),
                          [values(5)], [np.array([1.0, -1.0, 0.0, 1.0, -1.0])])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss_as_pytorch(torch, reduction):
    same_values_and_grads(torch, lambda x, y: F.soft_margin_loss(x, y, reduction=reduction),
                          lambda x, y: torch.nn.functional.soft_margin_loss(
                              x, y, reduction=reduction), [values(3, 4)], [signs(3, 4)])
    same_values_and_grads(torch, lambda x, y: nn.SoftMarginLoss(reduction=reduction)(x, y),
                          lambda x, y: torch.nn.SoftMarginLoss(reduction=reduction)(x, y),
                          [values(2, 5)], [signs(2, 5)])
    same_float32(torch, lambda x, y: F.soft_margin_loss(x, y, reduction=reduction),
                 lambda x, y: torch.nn.functional.soft_margin_loss(x, y, reduction=reduction),
                 [values(3, 4)], [signs(3, 4).astype(np.float32)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_loss_as_pytorch(torch, reduction, margin):
    kwargs = dict(margin=margin, reduction=reduction)
    same_values_and_grads(torch, lambda a, b, y: F.cosine_embedding_loss(a, b, y, **kwargs),
                          lambda a, b, y: torch.nn.functional.cosine_embedding_loss(a, b, y,
                                                                                    **kwargs),
                          [values(5, 3), values(5, 3)], [signs(5)])
    same_values_and_grads(torch, lambda a, b, y: nn.CosineEmbeddingLoss(**kwargs)(a, b, y),
                          lambda a, b, y: torch.nn.CosineEmbeddingLoss(**kwargs)(a, b, y),
                          [values(4), values(4)], [np.array(-1.0)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, swap", [(2.0, False), (2.0, True), (1.0, False), (3.0, True)])
def test_triplet_margin_loss_as_pytorch(torch, reduction, p, swap):
    kwargs = dict(margin=1.5, p=p, swap=swap, reduction=reduction)
    arrays = [values(6, 4), values(6, 4), values(6, 4)]
    same_values_and_grads(torch, lambda a, b, c: F.triplet_margin_loss(a, b, c, **kwargs),
                          lambda a, b, c: torch.nn.functional.triplet_margin_loss(a, b, c,
                                                                                  **kwargs),
                          arrays)
    same_values_and_grads(torch, lambda a, b, c: nn.TripletMarginLoss(**kwargs)(a, b, c),
                          lambda a, b, c: torch.nn.TripletMarginLoss(**kwargs)(a, b, c),
                          [values(4), values(4), values(4)])
    same_float32(torch, lambda a, b, c: F.triplet_margin_loss(a, b, c, **kwargs),
                 lambda a, b, c: torch.nn.functional.triplet_margin_loss(a, b, c, **kwargs),
                 arrays)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input, full", [(True, False), (True, True), (False, False),
                                             (False, True)])
def test_poisson_nll_loss_as_pytorch(torch, reduction, log_input, full):
    kwargs = dict(log_input=log_input, full=full, reduction=reduction)
    rates = values(3, 4) if log_input else values(3, 4, low=0.1, high=4.0)
    counts = np.floor(values(3, 4, low=0.0, high=6.0))
    same_values_and_grads(torch, lambda x, y: F.poisson_nll_loss(x, y, **kwargs),
                          lambda x, y: torch.nn.functional.poisson_nll_loss(x, y, **kwargs),
                          [rates], [counts])
    # the target's gradient too, where it is above 0 (at 0 PyTorch's is NaN with full=True)
    same_values_and_grads(torch, lambda x, y: nn.PoissonNLLLoss(**kwargs)(x, y),
                          lambda x, y: torch.nn.PoissonNLLLoss(**kwargs)(x, y),
                          [rates, values(3, 4, low=0.2, high=5.0)])


def test_poisson_nll_loss_eps_and_full_by_hand():
    x, y = ts.tensor([0.0, 2.0]), ts.tensor([0.0, 3.0])
    got = F.poisson_nll_loss(x, y, log_input=False, eps=0.5, reduction="none")
    assert got.tolist() == pytest.approx([0.0, 2.0 - 3.0 * math.log(2.5)])
    full = F.poisson_nll_loss(x, y, full=True, reduction="none")
    stirling = 3 * math.log(3) - 3 + 0.5 * math.log(2 * math.pi * 3)
    assert full.tolist() == pytest.approx([1.0, math.exp(2.0) - 6.0 + stirling])


GAUSSIAN_VARS = [(3, 4), (3,), (3, 1), (1, 4)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", GAUSSIAN_VARS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_as_pytorch(torch, reduction, var_shape, full):
    kwargs = dict(full=full, reduction=reduction)
    arrays = [values(3, 4), values(3, 4), values(*var_shape, low=0.1, high=2.0)]
    same_values_and_grads(torch, lambda x, y, v: F.gaussian_nll_loss(x, y, v, **kwargs),
                          lambda x, y, v: torch.nn.functional.gaussian_nll_loss(x, y, v,
                                                                                **kwargs),
                          arrays)
    same_values_and_grads(torch, lambda x, y, v: nn.GaussianNLLLoss(**kwargs)(x, y, v),
                          lambda x, y, v: torch.nn.GaussianNLLLoss(**kwargs)(x, y, v), arrays)


def test_gaussian_nll_loss_var_number_and_eps_clamp_as_pytorch(torch):
    arrays = [values(2, 3), values(2, 3)]
    same_values_and_grads(torch, lambda x, y: F.gaussian_nll_loss(x, y, 0.5),
                          lambda x, y: torch.nn.functional.gaussian_nll_loss(x, y, 0.5), arrays)
    # var below eps: the value clamps, var's gradient passes as if it did not
    small = [values(2, 3), values(2, 3), np.array([[1e-9, 0.5, 0.0], [2.0, 1e-7, 1.0]])]
    same_values_and_grads(torch, lambda x, y, v: F.gaussian_nll_loss(x, y, v, eps=1e-3),
                          lambda x, y, v: torch.nn.functional.gaussian_nll_loss(x, y, v,
                                                                                eps=1e-3),
                          small)


def test_gaussian_nll_loss_by_hand():
    loss = F.gaussian_nll_loss(ts.tensor([1.0]), ts.tensor([3.0]), ts.tensor([2.0]), full=True)
    assert loss.item() == pytest.approx(0.5 * (math.log(2.0) + 2.0 + math.log(2 * math.pi)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
def test_multilabel_soft_margin_loss_as_pytorch(torch, reduction, with_weight):
    weight = values(4, low=0.2, high=2.0)
    labels = (_rng.random((3, 4)) < 0.5).astype(np.float64)
    arrays = [values(3, 4)]

    def ours(x, y):
        w = ts.tensor(weight) if with_weight else None
        return F.multilabel_soft_margin_loss(x, y, w, reduction=reduction)

    def theirs(x, y):
        w = torch.tensor(weight) if with_weight else None
        return torch.nn.functional.multilabel_soft_margin_loss(x, y, w, reduction=reduction)

    same_values_and_grads(torch, ours, theirs, arrays, [labels])
    w = weight if with_weight else None
    module = nn.MultiLabelSoftMarginLoss(None if w is None else ts.tensor(w),
                                         reduction=reduction)
    reference = torch.nn.MultiLabelSoftMarginLoss(None if w is None else torch.tensor(w),
                                                  reduction=reduction)
    same_values_and_grads(torch, module, reference, arrays, [labels])
    assert list(module.state_dict()) == list(reference.state_dict())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, margin", [(1, 1.0), (2, 1.0), (1, 0.3), (2, 2.5)])
@pytest.mark.parametrize("with_weight", [False, True])
def test_multi_margin_loss_as_pytorch(torch, reduction, p, margin, with_weight):
    weight = values(5, low=0.2, high=2.0)
    ids = _rng.integers(0, 5, size=6)
    kwargs = dict(p=p, margin=margin, reduction=reduction)

    def ours(x, y):
        w = ts.tensor(weight) if with_weight else None
        return F.multi_margin_loss(x, y, weight=w, **kwargs)

    def theirs(x, y):
        w = torch.tensor(weight) if with_weight else None
        return torch.nn.functional.multi_margin_loss(x, y, weight=w, **kwargs)

    same_values_and_grads(torch, ours, theirs, [values(6, 5)], [ids])
    same_values_and_grads(torch, ours, theirs, [values(5)], [ids[:1]])
    same_values_and_grads(torch, ours, theirs, [values(5)], [np.array(3)])
    w = weight if with_weight else None
    module = nn.MultiMarginLoss(weight=None if w is None else ts.tensor(w), **kwargs)
    reference = torch.nn.MultiMarginLoss(weight=None if w is None else torch.tensor(w),
                                         **kwargs)
    same_values_and_grads(torch, module, reference, [values(6, 5)], [ids])
    assert list(module.state_dict()) == list(reference.state_dict())


def test_multi_margin_loss_by_hand():
    x, y = ts.tensor([[0.1, 0.2, 0.4, 0.8]]), ts.tensor([3])
    # (1 - 0.8 + 0.1) + (1 - 0.8 + 0.2) + (1 - 0.8 + 0.4) over 4 classes
    assert F.multi_margin_loss(x, y).item() == pytest.approx(0.325)
    assert F.multi_margin_loss(x, y, p=2).item() == pytest.approx((0.09 + 0.16 + 0.36) / 4)


def test_losses_by_hand():
    x1, x2 = ts.tensor([1.0, 2.0, 0.5]), ts.tensor([2.0, 1.0, 0.5])
    y = ts.tensor([1.0, 1.0, -1.0])
    assert F.margin_ranking_loss(x1, x2, y, reduction="none").tolist() == [1.0, 0.0, 0.0]
    assert F.margin_ranking_loss(x1, x2, y, margin=0.5, reduction="sum").item() == 2.0
    assert F.hinge_embedding_loss(ts.tensor([0.3, 0.3, 2.0]), y, reduction="none").tolist() == \
        pytest.approx([0.3, 0.3, 0.0])
    assert F.soft_margin_loss(ts.tensor([0.0]), ts.tensor([1.0])).item() == \
        pytest.approx(math.log(2))
    a, b = ts.tensor([[1.0, 0.0], [1.0, 0.0]]), ts.tensor([[0.0, 1.0], [1.0, 1.0]])
    got = F.cosine_embedding_loss(a, b, ts.tensor([1.0, -1.0]), margin=0.5, reduction="none")
    assert got.tolist() == pytest.approx([1.0, math.sqrt(0.5) - 0.5])
    # d(a, p) = 5, d(a, n) = sqrt(18), d(p, n) = 1: swap takes the nearer 1
    anchor, near, far = ts.tensor([[0.0, 0.0]]), ts.tensor([[3.0, 4.0]]), ts.tensor([[3.0, 3.0]])
    assert F.triplet_margin_loss(anchor, near, far, eps=0.0).item() == \
        pytest.approx(1.0 + 5.0 - math.sqrt(18.0))
    assert F.triplet_margin_loss(anchor, near, far, eps=0.0, swap=True).item() == \
        pytest.approx(5.0)


SIGNS = ts.tensor(signs(4), dtype=ts.float64)
LOSS_GRADCHECKS = [
    ("margin_ranking_loss", lambda a, b: F.margin_ranking_loss(a, b, SIGNS, 0.3)),
    ("hinge_embedding_loss", lambda x: F.hinge_embedding_loss(x, SIGNS, reduction="none")),
    ("soft_margin_loss", lambda x: F.soft_margin_loss(x, SIGNS)),
    ("cosine_embedding_loss", lambda a, b: F.cosine_embedding_loss(a, b, SIGNS, 0.1,
                                                                   reduction="sum")),
    ("triplet_margin_loss", lambda a, b, c: F.triplet_margin_loss(a, b, c, 2.0, swap=True,
                                                                  reduction="none")),
    ("poisson_nll_loss", lambda x: F.poisson_nll_loss(
        x, ts.tensor([0.0, 1.0, 2.0, 5.0], dtype=ts.float64), full=True)),
    ("gaussian_nll_loss", lambda x, y: F.gaussian_nll_loss(
        x.reshape(2, 2), y.reshape(2, 2), ts.tensor([[0.5], [2.0]], dtype=ts.float64),
        full=True)),
    ("multilabel_soft_margin_loss", lambda x: F.multilabel_soft_margin_loss(
        x, ts.tensor([1.0, 0.0, 1.0, 1.0], dtype=ts.float64),
        ts.tensor([0.5, 1.0, 2.0, 1.0], dtype=ts.float64))),
    ("multi_margin_loss", lambda x: F.multi_margin_loss(
        x.reshape(2, 2), ts.tensor([1, 0]), p=2, weight=ts.tensor([0.5, 2.0], dtype=ts.float64),
        reduction="none")),
]


@pytest.mark.parametrize("name, fn", LOSS_GRADCHECKS, ids=[n for n, _ in LOSS_GRADCHECKS])
def test_losses_pass_finite_differences(name, fn):
    count = fn.__code__.co_argcount
    shape = (4, 2) if name in ("cosine_embedding_loss", "triplet_margin_loss") else (4,)
    if name == "multi_margin_loss":    # margins clear of the hinge
        arrays = [np.array([0.1, 0.7, -0.4, 1.9])]
    else:
        arrays = [values(*shape) for _ in range(count)]
    gradcheck(fn, leaves(arrays))


def test_legacy_size_average_and_reduce_as_pytorch(torch):
    x, y = values(4), signs(4)
    for size_average, reduce, reduction in [(False, None, "sum"), (None, False, "none"),
                                            (True, True, "mean")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{reduction}' instead"):
            got = F.soft_margin_loss(ts.tensor(x), ts.tensor(y), size_average, reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.nn.functional.soft_margin_loss(torch.tensor(x), torch.tensor(y),
                                                            size_average, reduce)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
        with pytest.warns(UserWarning):
            assert nn.MultiMarginLoss(size_average=size_average, reduce=reduce).reduction == \
                reduction
    # PyTorch's positional order: eps comes after size_average
    with pytest.warns(UserWarning):
        module = nn.PoissonNLLLoss(False, False, False, 0.25)
    assert (module.eps, module.reduction) == (0.25, "sum")


def test_loss_errors(torch):
    F_t = torch.nn.functional
    a, b = values(3, 2), values(3)
    with pytest.raises(Exception):
        F_t.margin_ranking_loss(torch.tensor(a), torch.tensor(b), torch.tensor(b))
    with pytest.raises(ValueError, match=r"margin_ranking_loss: expected tensors of the same "
                                         r"number of dims, got input1 \(3, 2\), input2 \(3,\) "
                                         r"and target \(3,\)"):
        F.margin_ranking_loss(ts.tensor(a), ts.tensor(b), ts.tensor(b))
    with pytest.raises(Exception):
        F_t.cosine_embedding_loss(torch.tensor(a), torch.tensor(a), torch.tensor(a))
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: expected inputs \(N, D\) with "
                                         r"target \(N,\)"):
        F.cosine_embedding_loss(ts.tensor(a), ts.tensor(a), ts.tensor(a))
    with pytest.raises(ValueError, match=r"triplet_margin_loss: margin must be greater than 0"):
        F.triplet_margin_loss(ts.tensor(a), ts.tensor(a), ts.tensor(a), margin=0.0)
    with pytest.raises(ValueError, match=r"TripletMarginLoss: expected margin to be greater"):
        nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: var has negative entry"):
        F.gaussian_nll_loss(ts.tensor(a), ts.tensor(a), ts.tensor(-np.ones((3, 2))))
    with pytest.raises(Exception):
        F_t.gaussian_nll_loss(torch.tensor(a), torch.tensor(a), torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: var of shape \(2, 2\) does not "
                                         r"fit input of shape \(3, 2\)"):
        F.gaussian_nll_loss(ts.tensor(a), ts.tensor(a), ts.ones(2, 2))
    with pytest.raises(Exception):
        F_t.multi_margin_loss(torch.tensor(a), torch.tensor([0, 2, 1]))
    with pytest.raises(IndexError, match=r"multi_margin_loss: target ids must be in \[0, 2\)"):
        F.multi_margin_loss(ts.tensor(a), ts.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match=r"multi_margin_loss: only p == 1 and p == 2"):
        F.multi_margin_loss(ts.tensor(a), ts.tensor([0, 1, 1]), p=3)
    with pytest.raises(ValueError, match=r"multi_margin_loss: expected a target of 3 class ids"):
        F.multi_margin_loss(ts.tensor(a), ts.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"multi_margin_loss: weight must be 1-D with one per "
                                         r"class \(2\), got shape \(3,\)"):
        F.multi_margin_loss(ts.tensor(a), ts.tensor([0, 1, 1]), weight=ts.ones(3))
    with pytest.raises(ValueError, match=r"soft_margin_loss: target of shape \(3, 3\) does not "
                                         r"broadcast to input shape \(3, 1\)"):
        F.soft_margin_loss(ts.ones(3, 1), ts.ones(3, 3))
    with pytest.raises(ValueError, match=r"hinge_embedding_loss: reduction must be one of"):
        F.hinge_embedding_loss(ts.ones(3), ts.ones(3), reduction="batchmean")


# --- modules -----------------------------------------------------------------------------------
def test_cosine_similarity_and_pairwise_distance_modules_as_pytorch(torch):
    for ours, theirs in [(nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                         (nn.CosineSimilarity(dim=0, eps=0.5),
                          torch.nn.CosineSimilarity(dim=0, eps=0.5)),
                         (nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                         (nn.PairwiseDistance(p=1.0, eps=0.1, keepdim=True),
                          torch.nn.PairwiseDistance(p=1.0, eps=0.1, keepdim=True))]:
        assert repr(ours) == repr(theirs)
        same_values_and_grads(torch, ours, theirs, [values(4, 3), values(4, 3)])
    assert nn.PairwiseDistance(p=1.0, eps=0.0)(ts.tensor([[1.0, -2.0]]),
                                               ts.tensor([[0.0, 0.0]])).tolist() == [3.0]


def test_unflatten_as_pytorch(torch):
    for dim, sizes in [(1, (2, 3)), (-1, [3, -1]), (0, (4,))]:
        ours, theirs = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
        assert repr(ours) == repr(theirs)
        array = values(4, 6)
        assert tuple(ours(ts.tensor(array)).shape) == tuple(theirs(torch.tensor(array)).shape)
        np.testing.assert_array_equal(ours(ts.tensor(array)).numpy(),
                                      theirs(torch.tensor(array)).numpy())
    with pytest.raises(TypeError, match=r"Unflatten: unflattened_size must be tuple of ints, but "
                                        r"found element of type float at pos 1"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(TypeError, match=r"Unflatten: unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)


def test_bilinear_as_pytorch(torch):
    for bias in (True, False):
        ours, theirs = nn.Bilinear(3, 4, 5, bias=bias), torch.nn.Bilinear(3, 4, 5, bias=bias)
        assert repr(ours) == repr(theirs)
        shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        assert shapes == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        ours.load_state_dict({k: ts.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
        x1, x2 = values(2, 6, 3).astype(np.float32), values(2, 6, 4).astype(np.float32)
        np.testing.assert_allclose(ours(ts.tensor(x1), ts.tensor(x2)).detach().numpy(),
                                   theirs(torch.tensor(x1), torch.tensor(x2)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert {k: tuple(v.shape) for k, v in nn.Bilinear(3, 4, 5).state_dict().items()} == \
        {"weight": (5, 3, 4), "bias": (5,)}


def test_bilinear_init_bound_and_dtype():
    layer = nn.Bilinear(16, 3, 7, dtype=ts.float64)
    assert layer.weight.dtype == ts.float64
    for parameter in (layer.weight, layer.bias):
        assert np.abs(parameter.numpy()).max() <= 0.25
        assert np.abs(parameter.numpy()).max() > 0.15    # spread over [-1/4, 1/4], not tiny


@pytest.mark.parametrize("with_bias", [False, True])
def test_bilinear_function_as_pytorch_and_finite_differences(torch, with_bias):
    arrays = [values(4, 3), values(4, 2), values(5, 3, 2)] + ([values(5)] if with_bias else [])
    same_values_and_grads(torch, F.bilinear, torch.nn.functional.bilinear, arrays)
    same_values_and_grads(torch, F.bilinear, torch.nn.functional.bilinear,
                          [values(3), values(2), values(5, 3, 2)])


def test_bilinear_by_hand_and_gradcheck():
    # y_o = x1^T A_o x2 + b_o
    weight = ts.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    got = F.bilinear(ts.tensor([[1.0, -1.0]]), ts.tensor([[2.0, 1.0]]), weight, ts.tensor([0.5]))
    assert got.tolist() == [[(2 + 2) - (6 + 4) + 0.5]]
    gradcheck(F.bilinear, leaves([values(2, 3), values(2, 2), values(4, 3, 2), values(4)]))


def test_bilinear_errors(torch):
    with pytest.raises(Exception):
        torch.nn.functional.bilinear(torch.ones(2, 3), torch.ones(3, 2), torch.ones(4, 3, 2))
    with pytest.raises(ValueError, match=r"bilinear: expected input1 \(\.\.\., in1\), input2 "
                                         r"\(\.\.\., in2\) of the same leading dims .* got input1 "
                                         r"\(2, 3\), input2 \(3, 2\)"):
        F.bilinear(ts.ones(2, 3), ts.ones(3, 2), ts.ones(4, 3, 2))
    with pytest.raises(ValueError, match=r"bilinear: bias \(3,\) does not fit weight"):
        F.bilinear(ts.ones(2, 3), ts.ones(2, 2), ts.ones(4, 3, 2), ts.ones(3))


PADS = ["ConstantPad1d(2, 3.5)", "ConstantPad1d((1, 3), -1)", "ConstantPad2d(1, 0.5)",
        "ConstantPad2d((1, 0, 2, 3), 2.0)", "ZeroPad1d(2)", "ZeroPad1d((0, 3))", "ZeroPad2d(1)",
        "ZeroPad2d((1, 2, 0, 1))", "ReflectionPad1d(2)", "ReflectionPad1d((1, 3))",
        "ReflectionPad2d(1)", "ReflectionPad2d((1, 0, 2, 3))", "ReplicationPad1d(3)",
        "ReplicationPad2d((2, 1, 0, 3))", "CircularPad1d(2)", "CircularPad1d((1, 3))",
        "CircularPad2d(1)", "CircularPad2d((1, 2, 3, 0))", "ZeroPad2d((-1, 2, 1, -1))"]


@pytest.mark.parametrize("spec", PADS)
def test_padding_modules_as_pytorch(torch, spec):
    ours, theirs = eval("nn." + spec), eval("torch.nn." + spec)
    assert repr(ours) == repr(theirs)
    shapes = [(2, 3, 5), (3, 5)] if "1d" in spec else [(2, 3, 4, 5), (3, 4, 5)]
    for shape in shapes:
        same_values_and_grads(torch, ours, theirs, [values(*shape)])


def test_padding_modules_by_hand():
    x = ts.tensor([[[1.0, 2.0, 3.0]]])
    assert nn.ConstantPad1d((1, 2), 9.0)(x).tolist() == [[[9.0, 1.0, 2.0, 3.0, 9.0, 9.0]]]
    assert nn.ReflectionPad1d(2)(x).tolist() == [[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]]]
    assert nn.ReplicationPad1d((2, 1))(x).tolist() == [[[1.0, 1.0, 1.0, 2.0, 3.0, 3.0]]]
    assert nn.CircularPad1d((1, 2))(x).tolist() == [[[3.0, 1.0, 2.0, 3.0, 1.0, 2.0]]]
    assert nn.ZeroPad2d((0, 1, 1, 0))(ts.ones(1, 1, 1)).tolist() == [[[0.0, 0.0], [1.0, 0.0]]]
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad1d(2, 3)) == "ConstantPad1d(padding=(2, 2), value=3)"
    gradcheck(nn.ReflectionPad2d((1, 0, 2, 1)), leaves([values(1, 3, 4)]))


def test_padding_module_errors(torch):
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or a tuple "
                                         r"of 4 ints, got \(1, 2\)"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(TypeError, match=r"ZeroPad1d: padding must be an int, got 1.5"):
        nn.ZeroPad1d(1.5)
    with pytest.raises(Exception):
        torch.nn.CircularPad1d(1)(torch.ones(2, 2, 2, 2))
    with pytest.raises(ValueError, match=r"CircularPad1d: expected 2D or 3D input \(got 4D "
                                         r"input\)"):
        nn.CircularPad1d(1)(ts.ones(2, 2, 2, 2))
    with pytest.raises(Exception):
        torch.nn.ReflectionPad1d(3)(torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' needs padding \(3, 3\) less than"):
        nn.ReflectionPad1d(3)(ts.ones(1, 2, 3))

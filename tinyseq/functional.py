"""Functions of neural networks, as ``torch.nn.functional``: ``import tinyseq.functional as F``."""
import math
import warnings

import numpy

from . import autograd, backend, checks, random
from .modes import no_grad
from .ops import conv, ctc, elementwise, linalg, nn_ops
from .ops import shape as shape_ops
from .tensor import (Tensor, cat, expect_tensor, reduced_dims, relu, result_type, sigmoid, stack,
                     tanh, where)

__all__ = ["linear", "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits",
           "binary_cross_entropy", "ctc_loss", "embedding_bag",
           "pad", "softmax", "log_softmax", "glu", "dropout", "embedding", "relu", "sigmoid",
           "tanh",
           "one_hot", "conv1d", "conv2d", "max_pool1d", "avg_pool1d", "adaptive_max_pool1d",
           "adaptive_avg_pool1d", "max_pool2d", "dropout2d", "batch_norm", "layer_norm",
           "leaky_relu", "elu", "softplus", "silu", "gelu", "logsigmoid", "hardtanh", "l1_loss",
           "smooth_l1_loss", "huber_loss", "kl_div", "normalize", "cosine_similarity",
           "pairwise_distance", "scaled_dot_product_attention", "relu6", "selu", "celu", "mish",
           "hardsigmoid", "hardswish", "softsign", "tanhshrink", "softshrink", "hardshrink",
           "softmin", "threshold", "prelu", "margin_ranking_loss", "hinge_embedding_loss",
           "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
           "poisson_nll_loss", "gaussian_nll_loss", "multilabel_soft_margin_loss",
           "multi_margin_loss", "bilinear"]

_REDUCTIONS = ("mean", "sum", "none")
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")
_UNSET = object()


def implicit_softmax_dim(op, ndim, stacklevel):
    """PyTorch's legacy dim for a softmax called without one (0 for 0-, 1- and 3-d input, else
    1), with its deprecation warning."""
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_dim(op, input, dim, axis, stacklevel):
    input = expect_tensor(op, input)
    if axis is not _UNSET:
        if dim is not None:
            raise TypeError(f"{op}: got both dim= and axis=, which are one argument; give dim=")
        return axis
    return implicit_softmax_dim(op, input.ndim, stacklevel + 1) if dim is None else dim


def softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=_UNSET):
    """exp(x) / sum(exp(x)) along ``dim``; without ``dim``, PyTorch's legacy implicit one."""
    dim = _softmax_dim("softmax", input, dim, axis, _stacklevel)
    return (input if dtype is None else input.to(dtype)).softmax(dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=_UNSET):
    """x - log(sum(exp(x))) along ``dim``; without ``dim``, PyTorch's legacy implicit one."""
    dim = _softmax_dim("log_softmax", input, dim, axis, _stacklevel)
    return (input if dtype is None else input.to(dtype)).log_softmax(dim)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    slope = checks.real("leaky_relu", "negative_slope", negative_slope)
    return _elementwise("leaky_relu", input, inplace, lambda x: where(x > 0, x, x * slope))


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (exp(x) - 1)."""
    alpha = checks.real("elu", "alpha", alpha)
    return _elementwise("elu", input, inplace, lambda x: _elu(x, alpha))


def _elu(x, alpha, input_scale=1.0):
    """x where x > 0, else alpha (exp(input_scale x) - 1): elu, and selu and celu with their
    own alpha, scale and input scale, as PyTorch computes all three."""
    # exp of min(x, 0): the branch where() drops must stay finite, or its zero gradient times
    # an infinite exp would be NaN
    return where(x > 0, x, alpha * ((x.clamp(max=0.0) * input_scale).exp() - 1))


def selu(input, inplace=False):
    """scale (x where x > 0, else alpha (exp(x) - 1)), with PyTorch's fixed alpha ~ 1.6733 and
    scale ~ 1.0507."""
    return _elementwise("selu", input, inplace, lambda x: _SELU_SCALE * _elu(x, _SELU_ALPHA))


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (exp(x / alpha) - 1)."""
    alpha = checks.real("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the function divides by it), got 0.0")
    return _elementwise("celu", input, inplace, lambda x: _elu(x, alpha, 1 / alpha))


def relu6(input, inplace=False):
    """min(max(x, 0), 6), hardtanh to [0, 6]: the gradient passes only strictly inside, as
    PyTorch's."""
    return _elementwise("relu6", input, inplace,
                        lambda x: where(x <= 0, 0.0, where(x >= 6, 6.0, x)))


def mish(input, inplace=False):
    """x tanh(softplus(x))."""
    return _elementwise("mish", input, inplace, lambda x: x * _softplus(x).tanh())


def hardsigmoid(input, inplace=False):
    """0 where x <= -3, 1 where x >= 3, else x / 6 + 1 / 2; the gradient passes only strictly
    inside, as PyTorch's."""
    return _elementwise("hardsigmoid", input, inplace,
                        lambda x: where(x <= -3, 0.0, where(x >= 3, 1.0, x / 6 + 0.5)))


def hardswish(input, inplace=False):
    """x hardsigmoid(x): 0 where x <= -3, x where x >= 3, else x (x + 3) / 6; at -3 and 3 the
    gradient is 0 and 1, as PyTorch's."""
    return _elementwise("hardswish", input, inplace,
                        lambda x: where(x <= -3, 0.0, where(x >= 3, x, x * (x + 3) / 6)))


def softsign(input):
    """x / (1 + |x|)."""
    expect_tensor("softsign", input)
    return input / (1 + input.abs())


def tanhshrink(input):
    """x - tanh(x)."""
    expect_tensor("tanhshrink", input)
    return input - input.tanh()


def softshrink(input, lambd=0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0; lambd >= 0."""
    expect_tensor("softshrink", input)
    lambd = checks.real("softshrink", "lambd", lambd, minimum=0.0)
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    expect_tensor("hardshrink", input)
    lambd = checks.real("hardshrink", "lambd", lambd)
    return where((input > lambd) | (input < -lambd), input, 0.0)


def softmin(input, dim=None, _stacklevel=3, dtype=None, *, axis=_UNSET):
    """softmax(-x) along ``dim``; without ``dim``, PyTorch's legacy implicit one."""
    dim = _softmax_dim("softmin", input, dim, axis, _stacklevel)
    return (-(input if dtype is None else input.to(dtype))).softmax(dim)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    limit = checks.real("threshold", "threshold", threshold)
    value = checks.real("threshold", "value", value)
    return _elementwise("threshold", input, inplace, lambda x: where(x > limit, x, value))


def prelu(input, weight):
    """x where x > 0, else weight x: ``weight`` one number, or one per channel (dim 1, the
    only dim of 1-D input counting as one channel), as PyTorch's."""
    expect_tensor("prelu", input)
    expect_tensor("prelu", weight)
    channels = input.shape[1] if input.ndim > 1 else 1
    if weight.ndim > 1 or weight.numel() not in (1, channels):
        raise ValueError(f"prelu: weight must be one number or 1-D with one per channel (dim 1 "
                         f"of the input), got weight of shape {tuple(weight.shape)} for input of "
                         f"shape {tuple(input.shape)}")
    if weight.ndim == 1:    # one number for input of at most 1 dim: the output keeps its shape
        weight = weight.reshape((1, -1) + (1,) * (input.ndim - 2)) if input.ndim > 1 else \
            weight.reshape(())
    return where(input > 0, input, weight * input)


def softplus(input, beta=1, threshold=20):
    """log(1 + exp(beta x)) / beta, a smooth relu; x itself where beta x > threshold, as
    PyTorch's."""
    expect_tensor("softplus", input)
    beta = checks.real("softplus", "beta", beta)
    if beta == 0:
        raise ValueError("softplus: beta must not be 0 (the function divides by it), got 0.0")
    threshold = checks.real("softplus", "threshold", threshold)
    scaled = input * beta
    return where(scaled > threshold, input, _softplus(scaled) / beta)


def silu(input, inplace=False):
    """x sigmoid(x), the swish."""
    return _elementwise("silu", input, inplace, lambda x: x * x.sigmoid())


def gelu(input, *, approximate="none"):
    """x Phi(x), Phi the standard normal CDF; ``approximate="tanh"``: PyTorch's estimate
    x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2."""
    expect_tensor("gelu", input)
    checks.choice("gelu", "approximate", approximate, ("none", "tanh"))
    if input.dtype.kind != "f":
        raise TypeError(f"gelu: input must be floating point, got dtype {input.dtype}")
    return elementwise.Gelu(approximate).apply(input)


def logsigmoid(input):
    """log(sigmoid(x)) = -log(1 + exp(-x)), without overflow for large |x|."""
    expect_tensor("logsigmoid", input)
    return -_softplus(-input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x limited to [min_val, max_val]; the gradient passes only strictly inside, as
    PyTorch's."""
    low = checks.real("hardtanh", "min_val", min_val)
    high = checks.real("hardtanh", "max_val", max_val)
    if low > high:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={low} "
                         f"and max_val={high}")
    return _elementwise("hardtanh", input, inplace,
                        lambda x: where(x <= low, low, where(x >= high, high, x)))


def _softplus(x):
    """log(1 + exp(x)) without overflow or underflow: the binary cross-entropy of logit x
    against target 0 is exactly this, and its op computes it as max(x, 0) + log1p(exp(-|x|))."""
    zeros = Tensor.from_array(backend.device_of(x.array).xp.zeros_like(x.array))
    return nn_ops.BinaryCrossEntropyWithLogits("none").apply(x, zeros)


def _elementwise(op, input, inplace, function):
    """``function(input)``; with ``inplace``, written into ``input``, as PyTorch's
    ``inplace=True`` (refused for a leaf that requires grad)."""
    expect_tensor(op, input)
    if checks.flag(op, "inplace", inplace):
        return input._inplace(f"{op}_", function)
    return function(input)


def linear(x, weight, bias=None):
    """y = x W^T + b for x (..., in), W (out, in), b (out,)."""
    expect_tensor("linear", x)
    expect_tensor("linear", weight)
    if bias is None:
        return linalg.Linear().apply(x, weight)
    return linalg.Linear().apply(x, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y_o = x1^T A_o x2 + b_o for x1 (..., in1), x2 (..., in2) of the same leading dims,
    A ``weight`` (out, in1, in2) and b ``bias`` (out,): (..., out)."""
    for tensor in (input1, input2, weight):
        expect_tensor("bilinear", tensor)
    shapes = f"input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and weight " \
             f"{tuple(weight.shape)}"
    if weight.ndim != 3 or input1.ndim == 0 or input1.shape[:-1] != input2.shape[:-1] or \
            (input1.shape[-1], input2.shape[-1]) != tuple(weight.shape[1:]):
        raise ValueError(f"bilinear: expected input1 (..., in1), input2 (..., in2) of the same "
                         f"leading dims and weight (out, in1, in2), got {shapes}")
    if bias is not None and expect_tensor("bilinear", bias).shape != (weight.shape[0],):
        raise ValueError(f"bilinear: bias {tuple(bias.shape)} does not fit weight "
                         f"{tuple(weight.shape)}; expected ({weight.shape[0]},)")
    out, in1, in2 = weight.shape
    # x1 A for all outputs at once: (..., in1) @ (in1, out * in2), then the dot with x2
    left = (input1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)).unflatten(-1, (out, in2))
    y = (left * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or none) of the squared differences; input and target of one shape."""
    target = _elementwise_target("mse_loss", input, target, reduction)
    return nn_ops.MSELoss(reduction).apply(input, target)


def l1_loss(input, target, reduction="mean", weight=None):
    """Mean (or sum, or none) of |input - target|; input and target of one shape. ``weight``
    (input's shape) scales each term, and "mean" then divides by the summed weights, as
    PyTorch's."""
    target = _elementwise_target("l1_loss", input, target, reduction)
    losses = (input - target).abs()
    if weight is None:
        return _reduce(losses, reduction)
    weight = _same_shape_weight("l1_loss", weight, input)
    losses = losses * weight
    return losses.sum() / weight.sum() if reduction == "mean" else _reduce(losses, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target (the L1
    loss when beta is 0); mean, sum or none."""
    target = _elementwise_target("smooth_l1_loss", input, target, reduction)
    beta = checks.real("smooth_l1_loss", "beta", beta, minimum=0.0)
    difference = input - target
    distance = difference.abs()
    if beta == 0.0:
        return _reduce(distance, reduction)
    losses = where(distance < beta, 0.5 * difference * difference / beta, distance - 0.5 * beta)
    return _reduce(losses, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), for d = input - target: delta
    times smooth_l1_loss with beta = delta. ``weight`` (input's shape) scales each term; "mean"
    averages the scaled terms, as PyTorch's."""
    target = _elementwise_target("huber_loss", input, target, reduction)
    delta = checks.real("huber_loss", "delta", delta)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    if weight is not None:
        weight = _same_shape_weight("huber_loss", weight, input)
    difference = input - target
    distance = difference.abs()
    losses = where(distance < delta, 0.5 * difference * difference,
                   delta * (distance - 0.5 * delta))
    return _reduce(losses if weight is None else losses * weight, reduction)


def legacy_reduction(op, size_average, reduce, reduction):
    """``reduction``, checked; or, when PyTorch's deprecated ``size_average`` or ``reduce`` is
    given, the reduction they stand for ("none" unless reduce, then "mean" unless not
    size_average), with PyTorch's warning."""
    if size_average is not None or reduce is not None:
        if reduce is False:
            reduction = "none"
        else:
            reduction = "sum" if size_average is False else "mean"
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    _check_reduction(op, reduction)
    return reduction


def _check_same_ndim(op, **tensors):
    """The three tensors of a PyTorch loss that must have one number of dims and broadcast,
    checked."""
    for tensor in tensors.values():
        expect_tensor(op, tensor)
    if len({tensor.ndim for tensor in tensors.values()}) > 1:
        first, second, third = (f"{name} {tuple(t.shape)}" for name, t in tensors.items())
        shapes = f"{first}, {second} and {third}"
        raise ValueError(f"{op}: expected tensors of the same number of dims, got {shapes}")
    _broadcast_shape(op, ", ".join(f"{name} of shape {tuple(t.shape)}"
                                   for name, t in tensors.items()),
                     *(t.shape for t in tensors.values()))


def _check_broadcast_to(op, name, tensor, input):
    """``tensor`` (or numbers) as a tensor that broadcasts to ``input``'s shape."""
    tensor = _as_tensor(op, name, tensor, input)
    if _broadcast_shape(op, f"input of shape {tuple(input.shape)} and {name} of shape "
                            f"{tuple(tensor.shape)}", input.shape, tensor.shape) != input.shape:
        raise ValueError(f"{op}: {name} of shape {tuple(tensor.shape)} does not broadcast to "
                         f"input shape {tuple(input.shape)}")
    return tensor


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin) for targets y of 1 (x1 should rank higher) or -1;
    inputs and target of one number of dims, broadcast."""
    op = "margin_ranking_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_same_ndim(op, input1=input1, input2=input2, target=target)
    margin = checks.real(op, "margin", margin)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where the target is 1, max(0, margin - x) where it is -1 (as PyTorch's: a target
    that is neither gets both terms), input and target broadcast."""
    op = "hinge_embedding_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _broadcast_pair_named(op, input, target)
    margin = checks.real(op, "margin", margin)
    losses = where(target != 1, (margin - input).clamp(min=0.0), 0.0) + \
        where(target != -1, input, 0.0)
    return _reduce(losses, reduction)


def _broadcast_pair_named(op, input, target):
    expect_tensor(op, input)
    expect_tensor(op, target)
    _broadcast_shape(op, f"input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)}", input.shape, target.shape)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x)) for targets y of 1 or -1 broadcast to the input's shape, computed
    without overflow."""
    op = "soft_margin_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    expect_tensor(op, input)
    target = _check_broadcast_to(op, "target", target, input)
    return _reduce(_softplus(-input * target), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where the target is 1, max(0, cos(x1, x2) - margin) where it is -1, the
    cosine along the last dim of inputs (N, D) with target (N,), or (D,) with a 0-d target;
    cos = x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)), as PyTorch's."""
    op = "cosine_embedding_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    for tensor in (input1, input2, target):
        expect_tensor(op, tensor)
    if target.ndim > 1 or not input1.ndim == input2.ndim == target.ndim + 1:
        raise ValueError(f"{op}: expected inputs (N, D) with target (N,), or inputs (D,) with a "
                         f"0-d target, got input1 {tuple(input1.shape)}, input2 "
                         f"{tuple(input2.shape)} and target {tuple(target.shape)}")
    _broadcast_shape(op, f"input1 of shape {tuple(input1.shape)}, input2 of shape "
                         f"{tuple(input2.shape)} and target of shape {tuple(target.shape)} + "
                         f"(1,)", input1.shape, input2.shape, tuple(target.shape) + (1,))
    margin = checks.real(op, "margin", margin)
    dim = target.ndim
    squares = ((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)
    cosine = (input1 * input2).sum(dim) / squares.sqrt()
    losses = where(target == 1, 1 - cosine, 0.0) + \
        where(target == -1, (cosine - margin).clamp(min=0.0), 0.0)
    return _reduce(losses, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)), d the ``pairwise_distance`` along the last dim;
    with ``swap``, d(a, n) is min(d(a, n), d(p, n)). margin > 0."""
    op = "triplet_margin_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    margin = checks.real(op, "margin", margin)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    checks.flag(op, "swap", swap)
    _check_same_ndim(op, anchor=anchor, positive=positive, negative=negative)
    to_positive = pairwise_distance(anchor, positive, p, eps)
    to_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        to_negative = to_negative.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + to_positive - to_negative).clamp(min=0.0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(x) - y x for log-rates x (``log_input``), else x - y log(x + eps) for rates x;
    ``full`` adds Stirling's y log y - y + log(2 pi y) / 2 where y > 1. Input and target
    broadcast."""
    op = "poisson_nll_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _broadcast_pair_named(op, input, target)
    log_input = checks.flag(op, "log_input", log_input)
    full = checks.flag(op, "full", full)
    eps = checks.real(op, "eps", eps)
    if log_input:
        losses = input.exp() - target * input
    else:
        losses = input - target * (input + eps).log()
    if full:
        # a stand-in 1 where y <= 1 keeps the gradient of the branch that where() drops finite
        counted = target > 1
        y = where(counted, target, 1.0)
        losses = losses + where(counted, y * y.log() - y + 0.5 * (2 * math.pi * y).log(), 0.0)
    return _reduce(losses, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """(log(max(var, eps)) + (x - y)^2 / max(var, eps)) / 2, plus log(2 pi) / 2 when ``full``.
    ``var`` (>= 0) is a number, of the input's shape, of its shape less the last dim, or of
    its shape but for one dim of size 1; the clamp to eps passes var's gradient, as
    PyTorch's."""
    op = "gaussian_nll_loss"
    _broadcast_pair_named(op, input, target)
    if not isinstance(var, Tensor):
        var = checks.real(op, "var", var)
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries, got {var}")
        var = input.new_full(tuple(input.shape), var)
    elif var.array.size and bool((var.array < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if var.shape != input.shape:
        if var.shape == input.shape[:-1]:
            var = var.unsqueeze(-1)
        elif var.ndim != input.ndim or \
                sum(v for x, v in zip(input.shape, var.shape) if x != v) != 1:
            raise ValueError(f"{op}: var of shape {tuple(var.shape)} does not fit input of shape "
                             f"{tuple(input.shape)}: expected the input's shape, that shape "
                             f"less the last dim, or with one dim of size 1")
    _check_reduction(op, reduction)
    full = checks.flag(op, "full", full)
    eps = checks.real(op, "eps", eps)
    var = _clamped_passing_gradient(var, eps)
    difference = input - target
    losses = 0.5 * (var.log() + difference * difference / var)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce(losses, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)) averaged over the classes (the last dim)
    for targets y of 0 or 1, each term scaled by ``weight`` (broadcast, as one per class)."""
    op = "multilabel_soft_margin_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _broadcast_pair_named(op, input, target)
    if input.ndim == 0:
        raise ValueError(f"{op}: expected input (N, C) or (C,) with classes on the last dim, "
                         f"got a 0-d input")
    losses = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        losses = losses * _check_broadcast_to(op, "weight", weight, losses)
    return _reduce(losses.sum(-1) / input.shape[-1], reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C for scores x (N, C) or (C,) and a
    class id y per row, ``weight`` w (C,) one per class, p 1 or 2."""
    op = "multi_margin_loss"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    expect_tensor(op, input)
    expect_tensor(op, target)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got p={p!r}")
    margin = checks.real(op, "margin", margin)
    if input.ndim > 2 or 0 in input.shape:
        raise ValueError(f"{op}: expected non-empty input (N, C) or (C,), got "
                         f"{tuple(input.shape)}")
    rows = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    frames, classes = rows.shape
    ids = target.array
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must be integer class ids, got {ids.dtype}")
    if target.ndim > 1 or ids.size != frames:
        raise ValueError(f"{op}: expected a target of {frames} class ids for input "
                         f"{tuple(input.shape)}, got target {tuple(target.shape)}")
    ids = ids.reshape(-1)
    if int(ids.min()) < 0 or int(ids.max()) >= classes:
        raise IndexError(f"{op}: target ids must be in [0, {classes}), got values from "
                         f"{int(ids.min())} to {int(ids.max())}")
    if weight is not None:
        weight = _as_tensor(op, "weight", weight, input)
        if weight.ndim != 1 or weight.shape[0] != classes:
            raise ValueError(f"{op}: weight must be 1-D with one per class ({classes}), got "
                             f"shape {tuple(weight.shape)}")
    xp = backend.device_of(input.array).xp
    index = xp.asarray(ids)[:, None]
    terms = (margin - rows.gather(1, Tensor.from_array(index)) + rows).clamp(min=0.0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * weight[index]
    own_class = Tensor.from_array(xp.arange(classes) == index)
    losses = terms.masked_fill(own_class, 0.0).sum(1) / classes
    if reduction == "none":
        return losses if target.ndim else losses.reshape(())
    return _reduce(losses, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of log-probabilities ``input`` from probabilities ``target``
    (log-probabilities when ``log_target``), each term y (log y - x), 0 where y is 0;
    "batchmean" divides the sum by the batch size (dim 0), the true KL divergence per sample,
    "mean" by the number of elements (with PyTorch's warning)."""
    target = _elementwise_target("kl_div", input, target, reduction, _KL_REDUCTIONS)
    checks.flag("kl_div", "log_target", log_target)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        # 0 log 0 counts as 0 (PyTorch's xlogy); the log of a stand-in 1 there keeps the
        # gradient of the branch that where() drops finite
        is_zero = target == 0
        losses = where(is_zero, 0.0, target * (where(is_zero, 1.0, target).log() - input))
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.ndim else losses.sum()
    return _reduce(losses, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C) against class ids (N,), or (N, C, d1, ...) against
    (N, d1, ...), or (C,) against one id; rows whose target is ``ignore_index`` left out (and
    not counted by "mean"). ``weight`` (C,) scales each class's losses, as PyTorch's. A
    floating-point target of the logits' shape holds class probabilities instead
    (``_cross_entropy_of_probabilities``).

    ``label_smoothing`` e mixes the one-hot target with the uniform one, as PyTorch's:
    loss = (1 - e) nll + e / C sum_c -w_c log p_c, both parts reduced alike ("mean" divides
    each by the summed weights of the counted ids)."""
    _check_reduction("cross_entropy", reduction)
    expect_tensor("cross_entropy", input)
    smoothing = checks.probability("cross_entropy", "label_smoothing", label_smoothing)
    if not isinstance(target, Tensor):
        target = Tensor.from_array(backend.device_of(input.array).xp.asarray(target))
    # PyTorch reads a target of the logits' shape as probabilities; a floating one of their
    # rank is read so here, so that one of the wrong shape is told which shape it needs
    if target.dtype.kind == "f" and target.ndim == input.ndim > 0:
        return _cross_entropy_of_probabilities(input, target, weight, ignore_index, reduction,
                                               smoothing)
    logits, target_array, shape = _class_rows("cross_entropy", input, target, ignore_index)
    weight_array = _class_weights("cross_entropy", weight, logits)
    if weight_array is None and not smoothing:
        losses = nn_ops.CrossEntropy(target_array, ignore_index, reduction).apply(logits)
        return _unrows(losses, shape, reduction)
    log_probs = logits.log_softmax(1)
    losses = nn_ops.NLLLoss(target_array, weight_array, ignore_index, reduction).apply(log_probs)
    if smoothing:
        uniform = _uniform_target_loss(log_probs, target_array, weight_array, ignore_index,
                                       reduction)
        losses = (1 - smoothing) * losses + smoothing / logits.shape[1] * uniform
    return _unrows(losses, shape, reduction)


def _cross_entropy_of_probabilities(input, target, weight, ignore_index, reduction, smoothing):
    """-sum_c w_c y_c log softmax(x)_c for logits x and class probabilities y of one shape,
    classes on dim 1 (dim 0 of (C,)), as PyTorch's: ``label_smoothing`` e first takes y to
    (1 - e) y + e / C, and "mean" divides by the number of rows, not by the weights."""
    if target.shape != input.shape:
        raise ValueError(f"cross_entropy: target of class probabilities of shape "
                         f"{tuple(target.shape)} does not match input shape {tuple(input.shape)}")
    if ignore_index != -100:
        raise ValueError(f"cross_entropy: ignore_index is not supported for a target of class "
                         f"probabilities (no id to ignore), got ignore_index={ignore_index}")
    class_dim = 0 if input.ndim == 1 else 1
    log_probs = input.log_softmax(class_dim).movedim(class_dim, -1)
    target = target.movedim(class_dim, -1)
    if smoothing:
        target = (1 - smoothing) * target + smoothing / input.shape[class_dim]
    weight_array = _class_weights("cross_entropy", weight, log_probs)
    if weight_array is not None:
        target = target * Tensor.from_array(weight_array)
    return _reduce(-(log_probs * target).sum(-1), reduction)


def _uniform_target_loss(log_probs, target_array, weight_array, ignore_index, reduction):
    """sum_c -w_c log p_c for each row of log-probabilities (M, C), 0 where the target is
    ``ignore_index``; "mean" divides the sum by the weights NLLLoss divides by."""
    counted = target_array != ignore_index
    weighted = log_probs if weight_array is None else log_probs * Tensor.from_array(weight_array)
    losses = (-weighted.sum(1)).masked_fill(Tensor.from_array(~counted), 0.0)
    if reduction != "mean":
        return _reduce(losses, reduction)
    total = counted.sum() if weight_array is None else weight_array[target_array[counted]].sum()
    return losses.sum() / float(total)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C) (or (N, C, d1, ...), or (C,)) at
    class ids (N,) (or (N, d1, ...), or one id): -w[y] x[y], ids equal to ``ignore_index`` left
    out; "mean" divides by the summed weights of the counted ids."""
    _check_reduction("nll_loss", reduction)
    expect_tensor("nll_loss", input)
    log_probs, target_array, shape = _class_rows("nll_loss", input, target, ignore_index)
    weight_array = _class_weights("nll_loss", weight, log_probs)
    losses = nn_ops.NLLLoss(target_array, weight_array, ignore_index, reduction).apply(log_probs)
    return _unrows(losses, shape, reduction)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss, as PyTorch's: -log of the summed
    probability of every alignment of each target to its input's ``log_probs`` (T, N, C) (or
    (T, C), one sequence), blanks between labels. ``targets`` are padded (N, S) or all
    concatenated (sum(target_lengths),); the lengths are tensors, lists or tuples of ints (ints
    for one sequence). "mean" averages loss_n / max(target_length_n, 1) over the batch;
    ``zero_infinity`` turns the infinite loss of an impossible alignment, and its gradient,
    into 0. The gradient of ``log_probs`` is the true derivative, which differs from
    PyTorch's by exp(log_probs) but gives the same gradient of logits behind a log_softmax
    (see ``tinyseq.ops.ctc.CTCLoss``). Unlike PyTorch, target ids outside [0, C) or equal to
    ``blank`` are errors."""
    _check_reduction("ctc_loss", reduction)
    _expect_floating("ctc_loss", "log_probs", log_probs)
    zero_infinity = checks.flag("ctc_loss", "zero_infinity", zero_infinity)
    blank = checks.integer("ctc_loss", "blank", blank, minimum=None)
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"shape {tuple(log_probs.shape)}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    time, batch, classes = log_probs.shape
    if 0 in log_probs.shape:
        raise RuntimeError(f"ctc_loss: log_probs must not be empty, got shape "
                           f"{tuple(log_probs.shape)}")
    if not 0 <= blank < classes:
        raise RuntimeError(f"ctc_loss: blank must be in the label range [0, {classes}), got "
                           f"{blank}")
    input_lengths = _ctc_lengths("input_lengths", input_lengths, batch, unbatched)
    target_lengths = _ctc_lengths("target_lengths", target_lengths, batch, unbatched)
    if int(input_lengths.max()) > time:
        raise RuntimeError(f"ctc_loss: input_lengths must be at most the {time} time steps of "
                           f"log_probs {tuple(log_probs.shape)}, got {input_lengths.tolist()}")
    padded = _ctc_padded_targets(targets, target_lengths, batch, classes, blank)
    xp = backend.device_of(log_probs.array).xp
    op = ctc.CTCLoss(xp.asarray(padded), xp.asarray(input_lengths), xp.asarray(target_lengths),
                     blank, reduction, zero_infinity)
    losses = op.apply(log_probs)
    return losses.reshape(()) if unbatched and reduction == "none" else losses


def _ctc_lengths(name, lengths, batch, unbatched):
    """``lengths`` as a NumPy int64 array (N,), checked: non-negative, one per sequence."""
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    elif isinstance(lengths, (int, numpy.integer)) and not isinstance(lengths, bool):
        if not unbatched:
            raise TypeError(f"ctc_loss: {name} of a batch must be a tensor, list or tuple of "
                            f"{batch} ints, got the int {lengths}")
    elif not isinstance(lengths, (list, tuple, numpy.ndarray)):
        raise TypeError(f"ctc_loss: {name} must be a tensor, list or tuple of ints, got "
                        f"{type(lengths).__name__}")
    array = numpy.asarray(lengths)
    if array.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: {name} must be integers, got {array.dtype} values "
                        f"{array.tolist()}")
    if array.ndim > 1 or array.size != batch:
        wanted = "one length (an int or 1 element)" if unbatched else f"{batch} lengths (N,)"
        raise RuntimeError(f"ctc_loss: {name} must hold {wanted}, got shape "
                           f"{tuple(array.shape)}")
    array = array.reshape(batch).astype(numpy.int64)
    if int(array.min()) < 0:
        raise RuntimeError(f"ctc_loss: {name} must be non-negative, got {array.tolist()}")
    return array


def _ctc_padded_targets(targets, target_lengths, batch, classes, blank):
    """The targets as a NumPy int64 array (N, S), from padded (N, S) or concatenated
    (sum(target_lengths),) ones; the counted ids checked: in [0, classes), never ``blank``."""
    array = targets.numpy() if isinstance(targets, Tensor) else numpy.asarray(targets)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise TypeError(f"ctc_loss: targets must be integer class ids, got {array.dtype}")
    array = array.astype(numpy.int64)
    if array.ndim == 2:
        if array.shape[0] != batch:
            raise RuntimeError(f"ctc_loss: padded targets {tuple(array.shape)} must have one "
                               f"row per sequence, {batch}")
        if int(target_lengths.max()) > array.shape[1]:
            raise RuntimeError(f"ctc_loss: target_lengths {target_lengths.tolist()} must be at "
                               f"most the {array.shape[1]} columns of padded targets "
                               f"{tuple(array.shape)}")
        counted = numpy.arange(array.shape[1]) < target_lengths[:, None]
        padded = numpy.where(counted, array, blank)
    elif array.ndim == 1:
        if array.size != int(target_lengths.sum()):
            raise RuntimeError(f"ctc_loss: concatenated targets {tuple(array.shape)} must have "
                               f"sum(target_lengths) = {int(target_lengths.sum())} ids "
                               f"(target_lengths {target_lengths.tolist()})")
        padded = numpy.full((batch, int(target_lengths.max())), blank, dtype=numpy.int64)
        counted = numpy.arange(padded.shape[1]) < target_lengths[:, None]
        padded[counted] = array
    else:
        raise RuntimeError(f"ctc_loss: targets must be padded (N, S) or concatenated (sum of "
                           f"target_lengths,), got shape {tuple(array.shape)}")
    ids = padded[counted]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= classes):
        raise IndexError(f"ctc_loss: target ids must be in [0, {classes}), got values from "
                         f"{int(ids.min())} to {int(ids.max())}")
    if (ids == blank).any():
        places = numpy.argwhere(counted & (padded == blank)).tolist()
        raise ValueError(f"ctc_loss: targets must not hold the blank id {blank} (it separates "
                         f"labels), found at {places} (sequence, place)")
    return padded


def _class_weights(op, weight, rows):
    """``weight`` (C,) for scores ``rows`` (..., C), as an array of their dtype; None stays."""
    if weight is None:
        return None
    weight_array = weight.array if isinstance(weight, Tensor) else \
        backend.device_of(rows.array).xp.asarray(weight)
    if weight_array.shape != (rows.shape[-1],):
        raise ValueError(f"{op}: weight of shape {tuple(weight_array.shape)} does not fit "
                         f"{rows.shape[-1]} classes")
    return weight_array.astype(rows.array.dtype, copy=False)


def _class_rows(op, input, target, ignore_index):
    """Scores as rows (M, C) with class ids (M,), whatever PyTorch layout they came in; and the
    target's shape, which "none" losses take back."""
    target_array = target.array if isinstance(target, Tensor) else \
        backend.device_of(input.array).xp.asarray(target)
    if target_array.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must be integer class ids, got {target_array.dtype}")
    shape = tuple(target_array.shape)
    if input.ndim == 1 and shape == ():
        rows = input.reshape(1, -1)
    elif input.ndim == 2 and shape == (input.shape[0],):
        rows = input
    elif input.ndim > 2 and shape == (input.shape[0],) + tuple(input.shape[2:]):
        rows = input.movedim(1, -1).reshape(-1, input.shape[1])
    else:
        raise ValueError(f"{op}: expected logits (N, C) and targets (N,), got {tuple(input.shape)} "
                         f"and {shape} (or (N, C, d1, ...) and (N, d1, ...), or (C,) and ())")
    target_array = target_array.reshape(-1)
    classes = rows.shape[1]
    counted = target_array[target_array != ignore_index]
    if counted.size and (int(counted.min()) < 0 or int(counted.max()) >= classes):
        raise IndexError(f"{op}: target ids must be in [0, {classes}), got values "
                         f"from {int(counted.min())} to {int(counted.max())}")
    return rows, target_array, shape


def _unrows(losses, shape, reduction):
    return losses.reshape(shape) if reduction == "none" else losses


def _elementwise_target(op, input, target, reduction, reductions=_REDUCTIONS):
    """The checked target of a loss taken element by element: a tensor of ``input``'s shape."""
    _check_reduction(op, reduction, reductions)
    expect_tensor(op, input)
    target = _as_tensor(op, "target", target, input)
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {tuple(input.shape)} and target shape "
                         f"{tuple(target.shape)} differ")
    return target


def _as_tensor(op, name, value, input):
    """``value`` itself when a tensor, else its numbers as a constant of ``input``'s dtype."""
    if isinstance(value, Tensor):
        return value
    try:
        array = backend.device_of(input.array).xp.asarray(value)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must be a tensor or numbers, got {type(value).__name__}")
    return Tensor.from_array(array.astype(input.dtype, copy=False), False)


def _same_shape_weight(op, weight, input):
    weight = _as_tensor(op, "weight", weight, input)
    if weight.shape != input.shape:
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} and input shape "
                         f"{tuple(input.shape)} differ (PyTorch wants them the same)")
    return weight


def _broadcast_weight(op, name, weight, input):
    """``weight`` as a tensor that broadcasts to ``input``'s shape (None stays None)."""
    if weight is None:
        return None
    weight = _as_tensor(op, name, weight, input)
    try:
        fits = numpy.broadcast_shapes(weight.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: {name} of shape {tuple(weight.shape)} does not broadcast to "
                         f"input shape {tuple(input.shape)}")
    return weight


def _reduce(losses, reduction):
    return losses if reduction == "none" else losses.sum() if reduction == "sum" else losses.mean()


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] for logits x and targets y of one
    shape, computed without overflow; ``pos_weight`` p (broadcast to x's shape, as one per
    class (C,) for x (N, C)) scales the positive term, ``weight`` w (broadcast likewise) every
    term; "mean" averages over the elements, as PyTorch's."""
    op = "binary_cross_entropy_with_logits"
    target = _elementwise_target(op, input, target, reduction)
    weight = _broadcast_weight(op, "weight", weight, input)
    pos_weight = _broadcast_weight(op, "pos_weight", pos_weight, input)
    if weight is None and pos_weight is None:
        return nn_ops.BinaryCrossEntropyWithLogits(reduction).apply(input, target)
    # log(1 - sigmoid(x)) = log sigmoid(x) - x, so no term overflows for large |x|
    positive = target if pos_weight is None else target * pos_weight
    losses = (1 - target) * input - (positive + 1 - target) * logsigmoid(input)
    return _reduce(losses if weight is None else losses * weight, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-[y log p + (1 - y) log(1 - p)] for probabilities p in [0, 1] and targets y of one
    shape, each log bounded below by -100 as in PyTorch."""
    target = _elementwise_target("binary_cross_entropy", input, target, reduction)
    values = input.array
    if values.size and (float(values.min()) < 0 or float(values.max()) > 1):
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 "
                         f"and 1, got values from {float(values.min())} to {float(values.max())}")
    if weight is None:
        return nn_ops.BinaryCrossEntropy(reduction).apply(input, target)
    return _reduce(nn_ops.BinaryCrossEntropy("none").apply(input, target) * weight, reduction)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """``input`` padded around its last dims, as PyTorch's: ``pad`` is (left, right) for the
    last dim, then (top, bottom) for the one before, and so on; a negative width crops.
    "constant" fills with ``value`` (0 when None), any dims; "reflect" mirrors the input (the
    edge not repeated), "replicate" repeats the edge and "circular" wraps around, each on the
    last dim of 2-D or 3-D input, the last 2 of 3-D or 4-D, or the last 3 of 4-D or 5-D."""
    expect_tensor("pad", input)
    pad, shape = tuple(pad), tuple(input.shape)
    if len(pad) % 2 or len(pad) // 2 > input.ndim or any(not isinstance(n, int) for n in pad):
        raise ValueError(f"pad: expects an even number of ints, at most two per dim of shape "
                         f"{shape}, got {pad}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; the modes are "
                                  f"{_PAD_MODES}")
    # (axis, left, right) of each padded dim, the last dim first
    widths = [(input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    if mode != "constant" and value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} takes no value, got value={value}")
    _check_padding(mode, shape, pad, widths)
    if mode in ("constant", "circular"):           # these crop first, then pad what is left
        input = _cropped(input, widths)
        widths = [(axis, max(left, 0), max(right, 0)) for axis, left, right in widths]
    if mode == "constant":
        padding = [(0, 0)] * input.ndim
        for axis, left, right in widths:
            padding[axis] = (left, right)
        return shape_ops.Pad(tuple(padding), 0.0 if value is None else value).apply(input)
    for axis, left, right in widths:
        size = input.shape[axis]
        positions = numpy.arange(-left, size + right)      # of the output, in input positions
        if mode == "reflect":
            index = numpy.abs(positions)
            index = numpy.where(index > size - 1, 2 * (size - 1) - index, index)
        elif mode == "replicate":
            index = numpy.clip(positions, 0, size - 1)
        else:
            index = positions % size
        input = input[(slice(None),) * axis + (index,)]
    return input


def _cropped(input, widths):
    """``input`` cut by the negative widths of ``widths``, (axis, left, right) each."""
    if all(min(left, right) >= 0 for _, left, right in widths):
        return input
    crop = [slice(None)] * input.ndim
    for axis, left, right in widths:
        crop[axis] = slice(max(-left, 0), input.shape[axis] - max(-right, 0))
    return input[tuple(crop)]


def _check_padding(mode, shape, pad, widths):
    """PyTorch's limits on each mode, checked before anything is computed."""
    dims = len(widths)
    if mode != "constant" and (not 1 <= dims <= 3 or len(shape) not in (dims + 1, dims + 2)):
        raise NotImplementedError(
            f"pad: mode {mode!r} pads the last dim of 2-D or 3-D input, the last 2 of 3-D or "
            f"4-D, or the last 3 of 4-D or 5-D; got padding {pad} ({dims} dims) for input of "
            f"shape {shape}")
    if mode in ("reflect", "replicate") and 0 in shape[len(shape) - dims - 1:]:
        raise ValueError(f"pad: mode {mode!r} needs an input whose dims are non-empty but for "
                         f"the batch, got shape {shape}")
    for axis, left, right in widths:
        size = shape[axis]
        if mode in ("constant", "circular"):       # these crop first
            kept = size + min(left, 0) + min(right, 0)
            if kept < 0:
                raise ValueError(f"pad: padding ({left}, {right}) crops more than the size "
                                 f"{size} of dim {axis} (input shape {shape})")
            if mode == "circular" and max(left, right) > size:
                raise ValueError(f"pad: mode 'circular' needs padding ({left}, {right}) at most "
                                 f"the size {size} of dim {axis}, as it wraps around once "
                                 f"(input shape {shape})")
            if mode == "circular" and kept == 0 and max(left, right) > 0:
                raise ValueError(f"pad: mode 'circular' has nothing left of dim {axis} of size "
                                 f"{size} to wrap around after cropping by ({left}, {right}) "
                                 f"(input shape {shape})")
        elif size + left + right < 1:
            raise ValueError(f"pad: padding ({left}, {right}) leaves nothing of dim {axis} of "
                             f"size {size} (input shape {shape})")
        if mode == "reflect" and max(left, right) >= size:
            raise ValueError(f"pad: mode 'reflect' needs padding ({left}, {right}) less than "
                             f"the size {size} of dim {axis} (input shape {shape})")


def glu(input, dim=-1):
    """The gated linear unit, as ``F.glu``: input split in halves a, b along ``dim``, a *
    sigmoid(b)."""
    expect_tensor("glu", input)
    size = input.shape[dim] if input.ndim else 0
    if input.ndim == 0 or size % 2:
        raise ValueError(f"glu: the halved dim must have an even size, got dim {dim} of shape "
                         f"{tuple(input.shape)}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the kept ones by 1 / (1 - p); with
    ``inplace``, into ``input`` itself (as PyTorch's)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        result = input * 0.0
    else:
        keep = random.generator(backend.device_of(input.array)).random(
            input.shape, dtype=input.dtype) >= p
        result = nn_ops.Dropout(keep * input.dtype.type(1.0 / (1.0 - p))).apply(input)
    return input.copy_(result) if inplace else result


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, H, W) input) with probability p and scale the kept
    ones by 1 / (1 - p)."""
    expect_tensor("dropout2d", input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability must be in [0, 1], got {p}")
    if input.ndim < 2:
        raise ValueError(f"dropout2d: expected an input with a channel dim (N, C, ...), got "
                         f"shape {tuple(input.shape)}")
    if input.ndim not in (3, 4):
        # PyTorch still drops each (N, C) entry of such input, with this warning
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 3D or 4D inputs).", UserWarning, stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", UserWarning, stacklevel=2)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        result = input * 0.0
    else:
        mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
        keep = random.generator(backend.device_of(input.array)).random(
            mask_shape, dtype=input.dtype) >= p
        result = nn_ops.Dropout(keep * input.dtype.type(1.0 / (1.0 - p))).apply(input)
    return input.copy_(result) if inplace else result


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1). Training normalizes
    by the batch's statistics and moves the running ones (when given) toward them by
    ``momentum``; otherwise the running statistics are used."""
    expect_tensor("batch_norm", input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input with a channel dim (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise TypeError(f"batch_norm: input must be floating point, got dtype {input.dtype}")
    others = {name: t.dtype for name, t in (("running_mean", running_mean),
                                             ("running_var", running_var), ("weight", weight),
                                             ("bias", bias)) if t is not None}
    mixed = {name: dtype for name, dtype in others.items() if dtype != input.dtype}
    if mixed:                   # PyTorch: "mixed dtype (CPU): all inputs must share same datatype"
        raise TypeError(f"batch_norm: input of dtype {input.dtype} with "
                        f"{', '.join(f'{k} of dtype {v}' for k, v in mixed.items())}: mixed "
                        f"dtypes, refused as PyTorch refuses them; convert the input or the "
                        f"layer (.to(dtype))")
    channels = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, channels) + (1,) * (input.ndim - 2)
    if training:
        count = input.array.size // channels if channels else 0
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input size {tuple(input.shape)}")
        y = nn_ops.BatchNormalize(axes, eps).apply(input)
        if running_mean is not None:
            mean = Tensor.from_array(input.array.mean(axis=axes), False)
            var = Tensor.from_array(input.array.var(axis=axes, ddof=1), False)
            with no_grad():
                running_mean.mul_(1.0 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1.0 - momentum).add_(var, alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running_mean and running_var")
        y = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, the mean and biased variance taken over
    the last dims, those of ``normalized_shape``, for each sample; weight and bias (optional)
    have that shape."""
    expect_tensor("layer_norm", input)
    shape = checked_normalized_shape("layer_norm", normalized_shape)
    if input.ndim < len(shape) or tuple(input.shape[-len(shape):]) != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} expects input of shape "
                         f"(*, {', '.join(map(str, shape))}), got {tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise TypeError(f"layer_norm: input must be floating point, got dtype {input.dtype}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and expect_tensor("layer_norm", t).shape != shape:
            raise ValueError(f"layer_norm: {name} of shape {tuple(t.shape)} does not fit "
                             f"normalized_shape {shape}")
    eps = checks.real("layer_norm", "eps", eps, minimum=0.0)
    dims = tuple(range(-len(shape), 0))
    centred = input - input.mean(dims, keepdim=True)
    y = centred / ((centred * centred).mean(dims, keepdim=True) + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def checked_normalized_shape(op, normalized_shape):
    """``normalized_shape`` (a tuple or list of non-negative ints, at least one) as a tuple."""
    if not isinstance(normalized_shape, (tuple, list)) or not normalized_shape:
        raise TypeError(f"{op}: normalized_shape must be a non-empty tuple or list of ints, got "
                        f"{normalized_shape!r}")
    return tuple(checks.integer(op, "normalized_shape", n) for n in normalized_shape)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps), the p-norm taken along ``dim`` (an int or a tuple of ints)."""
    _expect_floating("normalize", "input", input)
    p = checks.real("normalize", "p", p)
    eps = checks.real("normalize", "eps", eps)
    _checked_dims("normalize", dim, input.shape)
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim`` of the broadcast inputs,
    as PyTorch 2's: each is divided by its own clamped norm first."""
    op = "cosine_similarity"
    shape = _broadcast_pair(op, x1, x2)
    dtype = result_type(x1, x2)
    if dtype.kind != "f":
        raise TypeError(f"{op}: expected floating point inputs (or one of them), got dtypes "
                        f"{x1.dtype} and {x2.dtype}")
    eps = checks.real(op, "eps", eps)
    dim = checks.integer(op, "dim", dim, minimum=None)
    _checked_dims(op, dim, shape)
    # broadcast first: a norm along a broadcast dim counts every repeat, as PyTorch's does
    x1, x2 = x1.to(dtype).broadcast_to(shape), x2.to(dtype).broadcast_to(shape)
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def _clamped_norm(x, dim, eps):
    """max(||x||, eps) along ``dim`` with the gradient of ||x|| alone: PyTorch's
    cosine_similarity clamps the norm in place under no_grad."""
    return _clamped_passing_gradient(x.norm(2, dim, keepdim=True), eps)


def _clamped_passing_gradient(x, minimum):
    """max(x, minimum) whose gradient is x's everywhere, as a clamp in place under no_grad."""
    return x - x.detach() + x.detach().clamp(min=minimum)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim of the broadcast inputs."""
    op = "pairwise_distance"
    _broadcast_pair(op, x1, x2)
    p = checks.real(op, "p", p)
    eps = checks.real(op, "eps", eps)
    keepdim = checks.flag(op, "keepdim", keepdim)
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def _broadcast_pair(op, x1, x2):
    """The shape tensors ``x1`` and ``x2`` broadcast to."""
    expect_tensor(op, x1)
    expect_tensor(op, x2)
    return _broadcast_shape(op, f"x1 of shape {tuple(x1.shape)} and x2 of shape "
                                f"{tuple(x2.shape)}", x1.shape, x2.shape)


def _broadcast_shape(op, what, *shapes):
    try:
        return tuple(numpy.broadcast_shapes(*(tuple(s) for s in shapes)))
    except ValueError:
        raise ValueError(f"{op}: {what} do not broadcast") from None


def _checked_dims(op, dim, shape):
    """``dim`` (an int or a tuple of ints) checked against a tensor of ``shape``."""
    try:
        reduced_dims(op, dim, len(shape))
    except ValueError as error:
        raise ValueError(f"{error} (shape {tuple(shape)})") from None


def _expect_floating(op, name, tensor):
    expect_tensor(op, tensor)
    if tensor.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating point, got dtype {tensor.dtype}")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, *, enable_gqa=False):
    """softmax(Q K^T scale + mask) V for Q (..., L, E), K (..., S, E) and V (..., S, Ev), the
    leading dims broadcast, scale 1 / sqrt(E) unless given. A bool ``attn_mask`` lets the
    positions where it is True take part, a float one is added; ``is_causal`` lets query i see
    keys j <= i. A query that sees no key gets zeros, as PyTorch's; ``dropout_p`` drops
    attention weights (tinyseq's seeded dropout); ``enable_gqa`` shares each key and value
    head (dim -3) among a group of query heads."""
    op = "scaled_dot_product_attention"
    _check_attention_inputs(op, query, key, value)
    dropout_p = checks.probability(op, "dropout_p", dropout_p)
    if checks.flag(op, "is_causal", is_causal) and attn_mask is not None:
        raise ValueError(f"{op}: give attn_mask or is_causal=True, not both, as PyTorch")
    if checks.flag(op, "enable_gqa", enable_gqa):
        key, value = _shared_heads(op, query, key, value)
    weights_shape = _broadcast_shape(
        op, f"the batch dims of query {tuple(query.shape)} and key {tuple(key.shape)}",
        query.shape[:-2], key.shape[:-2]) + (query.shape[-2], key.shape[-2])
    _broadcast_shape(op, f"the batch dims of query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)}",
                     weights_shape[:-2], value.shape[:-2])
    _check_attention_mask(op, attn_mask, weights_shape)
    if scale is None:
        size = query.shape[-1]
        scale = 1 / math.sqrt(size) if size else math.inf
    scale = checks.real(op, "scale", scale)
    # as PyTorch's math path: Q and K each scaled by sqrt(scale), for stability
    root = math.sqrt(abs(scale))
    scores = (query * math.copysign(root, scale)) @ (key * root).transpose(-2, -1)
    xp = backend.device_of(scores.array).xp
    if is_causal:
        later_keys = ~xp.tri(*weights_shape[-2:], dtype=bool)
        scores = scores.masked_fill(Tensor.from_array(later_keys), -math.inf)
    elif attn_mask is not None and attn_mask.dtype.kind == "b":
        scores = scores.masked_fill(Tensor.from_array(~attn_mask.array), -math.inf)
    elif attn_mask is not None:
        scores = scores + attn_mask.to(scores.dtype)
    return dropout(_softmax_of_seen(scores), dropout_p) @ value


def _softmax_of_seen(scores):
    """softmax over the last dim, and zeros (with a zero gradient, not NaN) for a row whose
    scores are all -inf, as PyTorch's attention (its _safe_softmax)."""
    xp = backend.device_of(scores.array).xp
    unseen = Tensor.from_array(xp.all(scores.array == -xp.inf, axis=-1, keepdims=True))
    return scores.masked_fill(unseen, 0.0).softmax(-1).masked_fill(unseen, 0.0)


def _check_attention_inputs(op, query, key, value):
    for tensor in (query, key, value):
        expect_tensor(op, tensor)
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)} and value {tuple(value.shape)}"
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ValueError(f"{op}: expected query (..., L, E), key (..., S, E) and value "
                         f"(..., S, Ev) of at least 2 dims, got {shapes}")
    if not query.dtype == key.dtype == value.dtype or query.dtype.kind != "f":
        raise TypeError(f"{op}: expected query, key and value of one floating dtype, got "
                        f"{query.dtype}, {key.dtype} and {value.dtype}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{op}: expected query (..., L, E), key (..., S, E) and value "
                         f"(..., S, Ev) of one E and one S, got {shapes}")


def _shared_heads(op, query, key, value):
    """key and value with each head (dim -3) repeated for its group of query heads."""
    if min(query.ndim, key.ndim, value.ndim) < 3:
        raise ValueError(f"{op}: enable_gqa needs heads (..., H, L, E), got query "
                         f"{tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)}")
    heads = query.shape[-3]
    if heads % key.shape[-3] or heads % value.shape[-3]:
        raise ValueError(f"{op}: the {key.shape[-3]} key and {value.shape[-3]} value heads "
                         f"must divide the {heads} query heads (dim -3)")
    return (key.repeat_interleave(heads // key.shape[-3], dim=-3),
            value.repeat_interleave(heads // value.shape[-3], dim=-3))


def _check_attention_mask(op, attn_mask, weights_shape):
    if attn_mask is None:
        return
    expect_tensor(op, attn_mask)
    if attn_mask.dtype.kind not in "bf":
        raise TypeError(f"{op}: attn_mask must be bool (True: take part) or floating (added), "
                        f"got dtype {attn_mask.dtype}")
    fits = _broadcast_shape(op, f"attn_mask of shape {tuple(attn_mask.shape)} and the attention "
                                f"weights (..., L, S) {weights_shape}",
                            attn_mask.shape, weights_shape) == weights_shape
    if not fits:
        raise ValueError(f"{op}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast "
                         f"to the attention weights' shape (..., L, S) {weights_shape}")


def embedding_options(op, num_embeddings, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                      sparse):
    """``padding_idx`` (None or an int in [-num_embeddings, num_embeddings), returned
    wrapped to [0, num_embeddings)), ``max_norm`` (None or a number >= 0), ``norm_type`` (any
    number but NaN: a p-norm's p as ``Tensor.norm`` takes it) and ``scale_grad_by_freq``,
    checked for ``op``; ``sparse`` must be False."""
    if padding_idx is not None:
        padding_idx = checks.integer(op, "padding_idx", padding_idx, minimum=None)
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise IndexError(f"{op}: padding_idx {padding_idx} is outside "
                             f"[0, {num_embeddings})")
        padding_idx %= num_embeddings
    if max_norm is not None:
        max_norm = checks.real(op, "max_norm", max_norm, minimum=0.0)
    norm_type = checks.real(op, "norm_type", norm_type)
    if math.isnan(norm_type):
        raise ValueError(f"{op}: norm_type must be a number, got nan")
    scale_grad_by_freq = checks.flag(op, "scale_grad_by_freq", scale_grad_by_freq)
    if checks.flag(op, "sparse", sparse):
        raise ValueError(f"{op}: sparse=True is not supported: tinyseq has no sparse gradients "
                         f"(the weight's gradient is always dense); use sparse=False")
    return padding_idx, max_norm, norm_type, scale_grad_by_freq


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num, dim) picked by integer ids ``input`` of any shape: (..., dim).
    The ``padding_idx`` row gets no gradient; with ``max_norm``, each picked row whose
    ``norm_type``-norm exceeds it is first rescaled in place to norm max_norm (as
    ``torch.embedding_renorm_``); ``scale_grad_by_freq`` divides each row's gradient by how often
    its id occurs in ``input``."""
    op = "embedding"
    expect_tensor(op, weight)
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{tuple(weight.shape)}")
    num = weight.shape[0]
    padding_idx, max_norm, norm_type, scale_grad_by_freq = embedding_options(
        op, num, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    if isinstance(input, Tensor):  # its in-place changes are caught at backward
        ids_array, ids_versions = input.array, autograd.version_counter(input)
    else:                          # a copy: later changes to the caller's array cannot matter
        ids_array, ids_versions = backend.device_of(weight.array).xp.array(input), None
    if ids_array.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids must be integers, got dtype {ids_array.dtype}")
    if ids_array.size and (int(ids_array.min()) < 0 or int(ids_array.max()) >= num):
        raise IndexError(f"{op}: ids must be in [0, {num}), got values from "
                         f"{int(ids_array.min())} to {int(ids_array.max())}")
    if max_norm is not None:
        _embedding_renorm(weight, ids_array, max_norm, norm_type)
    return nn_ops.Embedding(ids_array, padding_idx, ids_versions,
                            scale_grad_by_freq).apply(weight)


EMBEDDING_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Each bag's rows of ``weight`` reduced by ``mode`` ("sum", "mean" or "max"): (bags, dim).
    ``input`` (B, N) is B bags of N ids (``offsets`` None), or 1-D ids with ``offsets`` the
    start of each bag (``include_last_offset``: the last offset ends the last bag). Ids equal
    to ``padding_idx`` are left out of their bag (and of its mean's count); an empty bag gives
    zeros. ``per_sample_weights`` (input's shape) scales each row, with mode "sum" only. The
    other options are ``embedding``'s."""
    op = "embedding_bag"
    expect_tensor(op, weight)
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{tuple(weight.shape)}")
    checks.choice(op, "mode", mode, EMBEDDING_BAG_MODES)
    padding_idx = embedding_options(op, weight.shape[0], padding_idx, max_norm, norm_type,
                                    scale_grad_by_freq, sparse)[0]
    ids = backend.to_numpy(input.array if isinstance(input, Tensor) else numpy.asarray(input))
    starts, ends = _bag_bounds(op, ids, None if offsets is None else backend.to_numpy(
        offsets.array if isinstance(offsets, Tensor) else numpy.asarray(offsets)),
        checks.flag(op, "include_last_offset", include_last_offset))
    if per_sample_weights is not None:
        expect_tensor(op, per_sample_weights)
        if mode != "sum":
            raise NotImplementedError(f"{op}: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}')")
        if tuple(per_sample_weights.shape) != ids.shape:
            raise ValueError(f"{op}: per_sample_weights of shape "
                             f"{tuple(per_sample_weights.shape)} must have input's shape "
                             f"{ids.shape}")
    flat_ids = ids.reshape(-1)
    rows = embedding(Tensor.from_array(backend.move(flat_ids, backend.device_of(weight.array))),
                     weight, padding_idx, max_norm, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    # each bag's places in ``rows`` as one row of a (bags, longest) table; a place past the
    # bag's end, or holding padding_idx, points at an appended row of zeros
    lengths = ends - starts
    longest = max(int(lengths.max()), 1) if lengths.size else 1
    places = starts[:, None] + numpy.arange(longest)[None, :]
    inside = places < ends[:, None]
    if padding_idx is not None:
        inside &= flat_ids[numpy.minimum(places, max(flat_ids.size - 1, 0))] != padding_idx
    places = numpy.where(inside, places, flat_ids.size)
    xp = backend.device_of(weight.array).xp
    padded = cat([rows, Tensor.from_array(xp.zeros((1, weight.shape[1]), dtype=rows.dtype))])
    bags = padded[xp.asarray(places)]                      # (bags, longest, dim)
    counts = xp.asarray(inside.sum(axis=1), dtype=rows.dtype)[:, None]
    if mode == "sum":
        return bags.sum(1)
    if mode == "mean":
        return bags.sum(1) / xp.maximum(counts, 1)
    in_bag = Tensor.from_array(xp.asarray(inside)[:, :, None])
    largest = where(in_bag, bags, -math.inf).max(1).values
    return where(Tensor.from_array(counts > 0), largest, 0.0)


def _bag_bounds(op, ids, offsets, include_last_offset):
    """(starts, ends) of each bag in the flattened ids, as int arrays, checked as PyTorch
    checks them."""
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids must be integers, got dtype {ids.dtype}")
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: if input is 2D, then offsets has to be None, as input is "
                             f"treated is a mini-batch of fixed length sequences. However, "
                             f"found offsets of shape {offsets.shape}")
        starts = numpy.arange(ids.shape[0]) * ids.shape[1]
        return starts, starts + ids.shape[1]
    if ids.ndim != 1:
        raise ValueError(f"{op}: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{ids.ndim}")
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu":
        raise ValueError(f"{op}: offsets has to be a 1D Tensor of integers, got shape "
                         f"{offsets.shape} and dtype {offsets.dtype}")
    offsets = offsets.astype(numpy.int64)
    if offsets.size and offsets[0] != 0:
        raise ValueError(f"{op}: offsets[0] has to be 0, i.e., the first sequence in the "
                         f"mini-batch has to start from position 0. However, got "
                         f"{int(offsets[0])}")
    if (numpy.diff(offsets) < 0).any() or (offsets.size and offsets[-1] > ids.size):
        raise ValueError(f"{op}: offsets must be non-decreasing and at most the number of ids "
                         f"({ids.size}), got {offsets.tolist()}")
    if include_last_offset:
        if offsets.size < 1:
            raise ValueError(f"{op}: include_last_offset needs at least one offset")
        return offsets[:-1], offsets[1:]
    return offsets, numpy.append(offsets[1:], ids.size)


def _embedding_renorm(weight, ids, max_norm, norm_type):
    """Each row of ``weight`` that ``ids`` (an array) picks whose ``norm_type``-norm exceeds
    ``max_norm``, scaled in place by max_norm / (norm + 1e-7), as ``torch.embedding_renorm_``:
    no graph is recorded, and the weight's version counter counts the change (a backward that
    saved the old weight raises)."""
    xp = backend.device_of(weight.array).xp
    rows = xp.unique(ids)
    if rows.size and weight.shape[1]:
        norms = Tensor.from_array(weight.array[rows]).norm(norm_type, dim=1).array
        norms = norms.astype(xp.float64)
        over = norms > max_norm
        scale = (max_norm / (norms[over] + 1e-7)).astype(weight.array.dtype)
        weight.array[rows[over]] *= scale[:, None]
    autograd.version_counter(weight).value += 1


def one_hot(tensor, num_classes=-1):
    """int64 ids of any shape -> int64 (..., num_classes) with a 1 at each id; num_classes -1
    means max id + 1. No gradient (as PyTorch's)."""
    expect_tensor("one_hot", tensor)
    ids = tensor.array
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor, got dtype {ids.dtype}")
    if not isinstance(num_classes, int) or num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 or a non-negative int, got "
                         f"{num_classes!r}")
    if num_classes == -1:
        if ids.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(ids.max()) + 1
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
        raise IndexError(f"one_hot: ids must be in [0, {num_classes}), got values from "
                         f"{int(ids.min())} to {int(ids.max())}")
    xp = backend.device_of(ids).xp
    classes = xp.arange(num_classes, dtype=ids.dtype)
    return Tensor.from_array((ids[..., None] == classes).astype(xp.int64), requires_grad=False)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight
    (O, C / groups, kH, kW) and bias (O,): (N, O, OH, OW),
    OH = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1 and OW alike. padding is an int,
    a pair, "valid" (0) or "same" (the output as large as the input, stride 1 only)."""
    expect_tensor("conv2d", input)
    expect_tensor("conv2d", weight)
    if input.ndim not in (3, 4) or weight.ndim != 4:
        raise ValueError(f"conv2d: expected input (N, C, H, W) or (C, H, W) and weight "
                         f"(O, C / groups, kH, kW), got {tuple(input.shape)} and "
                         f"{tuple(weight.shape)}")
    stride = conv.as_pair("conv2d", "stride", stride, 1)
    dilation = conv.as_pair("conv2d", "dilation", dilation, 1)
    reach = tuple(d * (k - 1) for d, k in zip(dilation, weight.shape[2:]))
    sides = _conv_padding("conv2d", padding, stride, reach)
    x = input.unsqueeze(0) if input.ndim == 3 else input
    _check_groups("conv2d", x.shape[1], weight.shape, groups)
    if bias is not None and expect_tensor("conv2d", bias).shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias {tuple(bias.shape)} does not fit weight "
                         f"{tuple(weight.shape)}; expected ({weight.shape[0]},)")
    padded = tuple(x.shape[2 + axis] + sum(sides[axis]) for axis in (0, 1))
    if padded[0] <= reach[0] or padded[1] <= reach[1]:
        raise ValueError(f"conv2d: kernel reaching {(reach[0] + 1, reach[1] + 1)} (kernel_size "
                         f"{tuple(weight.shape[2:])}, dilation {dilation}) is larger than the "
                         f"padded input {padded} (input {tuple(input.shape)})")
    y = _convolution(x, weight, bias, stride, sides, dilation, groups)
    return y.squeeze(0) if input.ndim == 3 else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of input (N, C, L) or (C, L) with weight (O, C / groups, k) and
    bias (O,): (N, O, OL), OL = (L + 2 padding - dilation (k - 1) - 1) // stride + 1; a 2-D
    convolution on a height of 1. padding is an int, "valid" (0) or "same" (output length L,
    stride 1 only)."""
    expect_tensor("conv1d", input)
    expect_tensor("conv1d", weight)
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) or (C, L) and weight (O, C / groups, "
                         f"k), got {tuple(input.shape)} and {tuple(weight.shape)}")
    stride = conv.as_single("conv1d", "stride", stride, 1)
    dilation = conv.as_single("conv1d", "dilation", dilation, 1)
    reach = dilation * (weight.shape[2] - 1)
    (left, right), = _conv_padding("conv1d", padding, (stride,), (reach,))
    x = input.unsqueeze(0) if input.ndim == 2 else input
    _check_groups("conv1d", x.shape[1], weight.shape, groups)
    if bias is not None and expect_tensor("conv1d", bias).shape != (weight.shape[0],):
        raise ValueError(f"conv1d: bias {tuple(bias.shape)} does not fit weight "
                         f"{tuple(weight.shape)}; expected ({weight.shape[0]},)")
    if x.shape[2] + left + right <= reach:
        raise ValueError(f"conv1d: kernel reaching {reach + 1} (kernel_size {weight.shape[2]}, "
                         f"dilation {dilation}) is longer than the padded input "
                         f"{x.shape[2] + left + right} (input {tuple(input.shape)})")
    y = _convolution(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride),
                     ((0, 0), (left, right)), (1, dilation), groups).squeeze(2)
    return y.squeeze(0) if input.ndim == 2 else y


def _convolution(x, weight, bias, stride, sides, dilation, groups):
    """The convolution of checked input x (N, C, H, W), padded with zeros by ``sides``
    ((top, bottom), (left, right)): one Conv2d op with the dilated weight per group."""
    (top, bottom), (left, right) = sides
    if top != bottom or left != right:     # "same" with an odd total: PyTorch pads the end more
        x, padding = pad(x, (left, right, top, bottom)), (0, 0)
    else:
        padding = (top, left)
    weight = _dilated(weight, dilation)
    biases = [None] * groups if bias is None else bias.chunk(groups, 0)
    parts = [conv.Conv2d(stride, padding).apply(*((x_g, w_g) if b_g is None else (x_g, w_g, b_g)))
             for x_g, w_g, b_g in zip(x.chunk(groups, 1), weight.chunk(groups, 0), biases)]
    return parts[0] if groups == 1 else cat(parts, 1)


def _conv_padding(op, padding, stride, reach):
    """(before, after) zeros for each spatial dim: ``padding`` an int or one per dim, "valid",
    or "same", which adds ``reach`` = dilation (k - 1) of the dim in all (reach // 2 before,
    the rest after, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * len(reach)
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             f"('valid', 'same')")
        if set(stride) != {1}:
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions, "
                             f"got stride={stride[0] if len(stride) == 1 else stride}")
        return [(r // 2, r - r // 2) for r in reach]
    if len(reach) == 1:
        return [(conv.as_single(op, "padding", padding, 0),) * 2]
    return [(p, p) for p in conv.as_pair(op, "padding", padding, 0)]


def _check_groups(op, channels, weight_shape, groups):
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if weight_shape[0] % groups or channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input's {channels} channels and "
                         f"the weight's {weight_shape[0]} output channels")
    if channels != weight_shape[1] * groups:
        raise ValueError(f"{op}: input has {channels} channels but weight "
                         f"{tuple(weight_shape)} with groups={groups} expects "
                         f"{weight_shape[1] * groups}")


def _dilated(weight, dilation):
    """weight (O, C, kH, kW) with dilation - 1 zeros between its taps along each spatial dim,
    so that a plain convolution with it is the dilated one."""
    for axis, step in zip((2, 3), dilation):
        if step == 1:
            continue
        taps = weight.swapaxes(axis, 3)                  # the dim to spread last
        gaps = taps.new_zeros(tuple(taps.shape) + (step - 1,))
        spread = cat([taps.unsqueeze(4), gaps], 4).reshape(*taps.shape[:3], taps.shape[3] * step)
        weight = spread[..., :step * (taps.shape[3] - 1) + 1].swapaxes(axis, 3)
    return weight


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each kernel_size window of input (N, C, H, W) or (C, H, W), sliding by
    stride (default kernel_size), the input padded with -inf by padding (at most half the
    kernel). Only dilation 1, ceil_mode False and return_indices False."""
    expect_tensor("max_pool2d", input)
    kernel = conv.as_pair("max_pool2d", "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else conv.as_pair("max_pool2d", "stride", stride, 1)
    padding = conv.as_pair("max_pool2d", "padding", padding, 0)
    if conv.as_pair("max_pool2d", "dilation", dilation, 1) != (1, 1):
        conv.supported_only("max_pool2d", dilation=(dilation, 1))
    conv.supported_only("max_pool2d", ceil_mode=(ceil_mode, False),
                        return_indices=(return_indices, False))
    if input.ndim not in (3, 4):
        raise ValueError(f"max_pool2d: expected input (N, C, H, W) or (C, H, W), got "
                         f"{tuple(input.shape)}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"max_pool2d: padding {padding} must be at most half of kernel_size "
                         f"{kernel}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    _check_window("max_pool2d", x.shape, kernel, padding)
    y = conv.MaxPool2d(kernel, stride, padding).apply(x)
    return y.squeeze(0) if unbatched else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each kernel_size window of input (N, C, L) or (C, L), sliding by stride
    (default kernel_size), the input padded with -inf by padding (at most half the kernel):
    max_pool2d on a height of 1. Only dilation 1, ceil_mode False and return_indices False."""
    expect_tensor("max_pool1d", input)
    kernel, stride, padding = _pool1d_window("max_pool1d", input, kernel_size, stride, padding)
    conv.supported_only("max_pool1d", dilation=(dilation, 1), ceil_mode=(ceil_mode, False),
                        return_indices=(return_indices, False))
    return max_pool2d(input.unsqueeze(-2), (1, kernel), (1, stride), (0, padding)).squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over each kernel_size window of input (N, C, L) or (C, L), sliding by stride
    (default kernel_size), the input padded with zeros by padding (at most half the kernel),
    which count in each mean unless count_include_pad is False: a conv1d of each channel with
    a kernel of 1 / kernel_size. Only ceil_mode False."""
    expect_tensor("avg_pool1d", input)
    kernel, stride, padding = _pool1d_window("avg_pool1d", input, kernel_size, stride, padding)
    conv.supported_only("avg_pool1d", ceil_mode=(ceil_mode, False))
    x = input.unsqueeze(0) if input.ndim == 2 else input
    channels = x.shape[1]
    y = conv1d(x, x.new_full((channels, 1, kernel), 1.0 / kernel), None, stride, padding,
               groups=channels)
    if padding and not count_include_pad:       # each window's mean over its input positions
        inside = conv1d(x.new_ones((1, 1, x.shape[2])), x.new_ones((1, 1, kernel)), None,
                        stride, padding)
        y = y * (kernel / inside)
    return y.squeeze(0) if input.ndim == 2 else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """The maximum of each of ``output_size`` windows that split the length of input
    (N, C, L) or (C, L) as PyTorch's: window i spans [floor(i L / n), ceil((i + 1) L / n));
    output_size 1 is a text CNN's max over time. Only return_indices False."""
    conv.supported_only("adaptive_max_pool1d", return_indices=(return_indices, False))
    return _adaptive_pool1d("adaptive_max_pool1d", input, output_size,
                            lambda window: window.max(-1)[0])


def adaptive_avg_pool1d(input, output_size):
    """The mean of each of ``output_size`` windows that split the length of input (N, C, L) or
    (C, L), as ``adaptive_max_pool1d`` splits it."""
    return _adaptive_pool1d("adaptive_avg_pool1d", input, output_size,
                            lambda window: window.mean(-1))


def _adaptive_pool1d(op, input, output_size, reduce):
    expect_tensor(op, input)
    count = conv.as_single(op, "output_size", output_size, 1)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise ValueError(f"{op}: expected input (N, C, L) or (C, L) with channels and length, "
                         f"got {tuple(input.shape)}")
    length = input.shape[-1]
    windows = [(i * length // count, -(-(i + 1) * length // count)) for i in range(count)]
    return stack([reduce(input[..., start:end]) for start, end in windows], -1)


def _pool1d_window(op, input, kernel_size, stride, padding):
    """(kernel, stride, padding) of a 1-D pooling, checked against input (N, C, L) or (C, L)."""
    kernel = conv.as_single(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else conv.as_single(op, "stride", stride, 1)
    padding = conv.as_single(op, "padding", padding, 0)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise ValueError(f"{op}: expected input (N, C, L) or (C, L) with channels and length, "
                         f"got {tuple(input.shape)}")
    if 2 * padding > kernel:
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size {kernel}")
    if input.shape[-1] + 2 * padding < kernel:
        raise ValueError(f"{op}: kernel_size {kernel} is longer than the padded input "
                         f"{input.shape[-1] + 2 * padding} (input {tuple(input.shape)}, padding "
                         f"{padding})")
    return kernel, stride, padding


def _check_window(op, shape, kernel, padding):
    padded = tuple(shape[2 + a] + 2 * padding[a] for a in (0, 1))
    if padded[0] < kernel[0] or padded[1] < kernel[1]:
        raise ValueError(f"{op}: kernel {tuple(kernel)} is larger than the padded input "
                         f"{padded} (input {tuple(shape)}, padding {padding})")


def _check_reduction(op, reduction, reductions=_REDUCTIONS):
    if reduction not in reductions:
        raise ValueError(f"{op}: reduction must be one of {reductions}, got {reduction!r}")

"""Ops of neural networks: softmax family, embedding lookup, dropout, losses."""
import numpy

from .. import backend
from ..autograd import Function


def max_shifted(x, axis):
    """x - max(x) along ``axis``, so that exp never overflows; x itself where the axis is empty
    (no max, nothing to shift: softmax of nothing is nothing, as in PyTorch)."""
    if x.shape[axis] == 0:
        return x
    return x - x.max(axis=axis, keepdims=True)


def log_softmax_array(xp, x, axis):
    """log softmax by max-subtraction: x - max - log(sum(exp(x - max)))"""
    shifted = max_shifted(x, axis)
    if shifted.shape[axis] == 0:
        return shifted
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y = exp(x) / sum(exp(x)) along ``axis``;  dx = y * (g - sum(g * y))"""
    saves_output = True
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, x):
        e = xp.exp(max_shifted(x, self.axis))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self.saved = y
        return y

    def backward(self, xp, g):
        y = self.saved
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y = x - log(sum(exp(x))) along ``axis``;  dx = g - softmax(x) * sum(g)"""
    saves_output = True
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, x):
        y = log_softmax_array(xp, x, self.axis)
        self.saved = y
        return y

    def backward(self, xp, g):
        return (g - xp.exp(self.saved) * g.sum(axis=self.axis, keepdims=True),)


class Embedding(Function):
    """y = weight[ids];  dweight = g scattered back to the rows in ids, each row divided by how
    often its id occurs when ``scale_grad_by_freq`` (the padding row gets 0)

    ``ids_versions`` is the version counter of the ids' tensor (None for ids copied from an
    array), noted at forward: ids changed in place before backward are an error, as in
    PyTorch, not a gradient sent to other rows."""
    __slots__ = ("ids", "padding_idx", "ids_versions", "ids_version", "scale_grad_by_freq")

    def __init__(self, ids, padding_idx=None, ids_versions=None, scale_grad_by_freq=False):
        self.ids = ids
        self.padding_idx = padding_idx
        self.ids_versions = ids_versions
        self.ids_version = None if ids_versions is None else ids_versions.value
        self.scale_grad_by_freq = scale_grad_by_freq

    def forward(self, xp, weight):
        self.saved = weight.shape
        return weight[self.ids]

    def backward(self, xp, g):
        if self.ids_versions is not None and self.ids_versions.value != self.ids_version:
            raise RuntimeError(f"embedding backward: one of the tensors needed for gradient "
                               f"computation has been modified by an inplace operation: the "
                               f"ids of shape {tuple(self.ids.shape)} are at version "
                               f"{self.ids_versions.value}; expected version {self.ids_version} "
                               f"instead")
        grad_weight = xp.zeros(self.saved, dtype=g.dtype)
        backend.scatter_add(xp, grad_weight, self.ids, g)
        if self.scale_grad_by_freq:
            rows, counts = xp.unique(self.ids, return_counts=True)
            grad_weight[rows] /= counts.astype(g.dtype)[:, None]
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0
        return (grad_weight,)


class Dropout(Function):
    """y = x * mask / (1 - p) with mask ~ Bernoulli(1 - p);  dx = g * mask / (1 - p)"""
    __slots__ = ()

    def __init__(self, scaled_mask):
        self.saved = scaled_mask

    def forward(self, xp, x):
        return x * self.saved

    def backward(self, xp, g):
        return (g * self.saved,)


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood for logits (N, C) and class ids (N,).

    loss_n = -log softmax(x_n)[y_n]; rows whose target is ``ignore_index`` count for nothing,
    and "mean" divides by the number of counted rows.  dx_n = (softmax(x_n) - onehot(y_n)) * g
    """
    __slots__ = ("target", "ignore_index", "reduction")

    def __init__(self, target, ignore_index, reduction):
        self.target = target
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, xp, logits):
        target = self.target
        n = logits.shape[0]
        log_probs = log_softmax_array(xp, logits, 1)
        keep = target != self.ignore_index
        safe_target = xp.where(keep, target, 0)
        picked = log_probs[xp.arange(n), safe_target]
        losses = -picked * keep
        count = keep.sum().astype(logits.dtype)
        self.saved = (log_probs, keep, safe_target, count)
        if self.reduction == "none":
            return losses
        if self.reduction == "sum":
            return losses.sum()
        return losses.sum() / count

    def backward(self, xp, g):
        log_probs, keep, safe_target, count = self.saved
        grad = xp.exp(log_probs)
        grad[xp.arange(grad.shape[0]), safe_target] -= 1
        grad *= keep[:, None]
        if self.reduction == "none":
            return (grad * g[:, None],)
        if self.reduction == "mean":
            return (grad * (g / count),)
        return (grad * g,)


class NLLLoss(Function):
    """loss_n = -w[y_n] * x_n[y_n] for log-probabilities x (N, C) and class ids y (N,), w the
    class weights (1 when None); ids equal to ``ignore_index`` count for nothing and "mean"
    divides by the sum of the counted weights.  dx_n[y_n] = -w[y_n] g (/ that sum)"""
    __slots__ = ("target", "weight", "ignore_index", "reduction")

    def __init__(self, target, weight, ignore_index, reduction):
        self.target = target
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, xp, log_probs):
        rows = xp.arange(log_probs.shape[0])
        keep = self.target != self.ignore_index
        safe_target = xp.where(keep, self.target, 0)
        weights = keep.astype(log_probs.dtype)
        if self.weight is not None:
            weights *= self.weight[safe_target]
        losses = -log_probs[rows, safe_target] * weights
        total = weights.sum()
        self.saved = (log_probs.shape, safe_target, weights, total)
        if self.reduction == "none":
            return losses
        if self.reduction == "sum":
            return losses.sum()
        return losses.sum() / total

    def backward(self, xp, g):
        shape, safe_target, weights, total = self.saved
        grad = xp.zeros(shape, dtype=g.dtype)
        scale = g if self.reduction == "none" else g / total if self.reduction == "mean" else g
        grad[xp.arange(shape[0]), safe_target] = -weights * scale
        return (grad,)


class BinaryCrossEntropyWithLogits(Function):
    """loss = max(x, 0) - x y + log(1 + exp(-|x|)) (log(1 + exp(x)) - x y, computed without
    overflow), mean, sum or none;  dx = (sigmoid(x) - y) g,  dy = -x g"""
    __slots__ = ("reduction",)
    saves_inputs = (0, 1)

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, xp, x, y):
        self.saved = (x, y)
        losses = xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))
        if self.reduction == "none":
            return losses
        return losses.sum() if self.reduction == "sum" else losses.mean()

    def backward(self, xp, g):
        from .elementwise import stable_sigmoid
        x, y = self.saved
        if self.reduction == "mean":
            g = g / x.size
        grad_x = (stable_sigmoid(xp, x) - y) * g
        return grad_x, (-x * g if self.inputs[1].requires_grad else None)


class BinaryCrossEntropy(Function):
    """loss = -(y log p + (1 - y) log(1 - p)), each log at least -100 (PyTorch's bound),
    mean, sum or none;  dp = g (p - y) / max(p (1 - p), 1e-12),  dy = g (log(1 - p) - log p)"""
    __slots__ = ("reduction",)
    saves_inputs = (0, 1)

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, xp, p, y):
        with numpy.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100.0)
            log_q = xp.maximum(xp.log1p(-p), -100.0)
        self.saved = (p, y, log_p, log_q)
        losses = -(y * log_p + (1 - y) * log_q)
        if self.reduction == "none":
            return losses
        return losses.sum() if self.reduction == "sum" else losses.mean()

    def backward(self, xp, g):
        p, y, log_p, log_q = self.saved
        if self.reduction == "mean":
            g = g / p.size
        grad_p = g * (p - y) / xp.maximum(p * (1 - p), 1e-12)
        return grad_p, (g * (log_q - log_p) if self.inputs[1].requires_grad else None)


class MSELoss(Function):
    """loss = mean or sum of (pred - target)^2;  dpred = 2 (pred - target) g / n, dtarget = -dpred"""
    __slots__ = ("reduction",)

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, xp, pred, target):
        diff = pred - target
        self.saved = diff
        squared = diff * diff
        if self.reduction == "none":
            return squared
        if self.reduction == "sum":
            return squared.sum()
        return squared.mean()

    def backward(self, xp, g):
        diff = self.saved
        grad = diff * (2 * g / diff.size if self.reduction == "mean" else 2 * g)
        return grad, (-grad if self.inputs[1].requires_grad else None)


class BatchNormalize(Function):
    """y = (x - mean) / sqrt(var + eps), mean and biased var over ``axes`` (the batch and any
    length or spatial dims);  dx = (g - mean(g) - y * mean(g * y)) / sqrt(var + eps)"""
    saves_output = True
    __slots__ = ("axes", "eps")

    def __init__(self, axes, eps):
        self.axes = axes
        self.eps = eps

    def forward(self, xp, x):
        mean = x.mean(axis=self.axes, keepdims=True)
        var = x.var(axis=self.axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        y = (x - mean) * inv_std
        self.saved = (y, inv_std)
        return y

    def backward(self, xp, g):
        y, inv_std = self.saved
        mean_g = g.mean(axis=self.axes, keepdims=True)
        mean_gy = (g * y).mean(axis=self.axes, keepdims=True)
        return ((g - mean_g - y * mean_gy) * inv_std,)

"""Basic layers and loss modules."""
import math

import numpy

from .. import checks
from .. import functional as F
from ..tensor import Tensor, expect_tensor
from . import init
from .module import Module, Parameter, factory_kwargs, new_parameter


class Linear(Module):
    """y = x W^T + b;  W (out_features, in_features), b (out_features,), both initialised
    uniformly in ±1/sqrt(in_features) as PyTorch does, in ``dtype`` on ``device``."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = checks.integer("Linear", "in_features", in_features)
        self.out_features = checks.integer("Linear", "out_features", out_features)
        checks.flag("Linear", "bias", bias)
        device, dtype = factory_kwargs("Linear", device, dtype)
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = new_parameter(init.uniform((out_features, in_features), bound), device,
                                    dtype)
        self.bias = new_parameter(init.uniform((out_features,), bound), device, dtype) \
            if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: ids (...) -> rows of ``weight`` (num_embeddings, embedding_dim), drawn
    from N(0, 1); the ``padding_idx`` row starts at zero and gets no gradient. ``max_norm``,
    ``norm_type`` and ``scale_grad_by_freq`` mean what they mean to ``F.embedding``; ``sparse``
    must be False (tinyseq has no sparse gradients). ``_weight`` (a tensor of that shape)
    becomes the weight instead, sharing its memory, learnt unless ``_freeze``: how
    ``from_pretrained`` builds one, as PyTorch's (``device`` and ``dtype`` then do not
    apply)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        num_embeddings = checks.integer("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = checks.integer("Embedding", "embedding_dim", embedding_dim)
        padding_idx, max_norm, norm_type, scale_grad_by_freq = F.embedding_options(
            "Embedding", num_embeddings, padding_idx, max_norm, norm_type, scale_grad_by_freq,
            sparse)
        weight = _embedding_weight("Embedding", num_embeddings, embedding_dim, padding_idx,
                                   _weight, not _freeze, device, dtype)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = False
        self.weight = weight

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose ``weight`` is ``embeddings`` (num_embeddings, embedding_dim),
        sharing its memory; frozen (no gradient) unless ``freeze=False``. The ``padding_idx``
        row keeps its values but gets no gradient; the other arguments are the constructor's."""
        op = "Embedding.from_pretrained"
        expect_tensor(op, embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"{op}: embeddings must be 2-D (num_embeddings, embedding_dim), "
                             f"got shape {tuple(embeddings.shape)}")
        checks.flag(op, "freeze", freeze)
        rows, columns = embeddings.shape
        return cls(rows, columns, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, ids):
        return F.embedding(ids, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text


def _embedding_weight(op, num_embeddings, embedding_dim, padding_idx, given, learnt, device,
                      dtype):
    """The weight of an Embedding or EmbeddingBag: ``given`` (its shape checked, its memory
    shared, learnt or not) or drawn from N(0, 1) with the ``padding_idx`` row zero."""
    if given is not None and tuple(given.shape) != (num_embeddings, embedding_dim):
        raise ValueError(f"{op}: _weight of shape {tuple(given.shape)} does not match "
                         f"(num_embeddings, embedding_dim) = ({num_embeddings}, "
                         f"{embedding_dim})")
    device, dtype = factory_kwargs(op, device, dtype)
    if given is not None:
        return Parameter(given, requires_grad=learnt)
    weight = init.normal((num_embeddings, embedding_dim))
    if padding_idx is not None:
        weight[padding_idx] = 0
    return new_parameter(weight, device, dtype)


class EmbeddingBag(Module):
    """Bags of ids -> one row each: the bag's rows of ``weight`` (num_embeddings,
    embedding_dim, drawn from N(0, 1)) summed, averaged or maxed by ``mode``, as
    ``F.embedding_bag``; ``forward(input, offsets=None, per_sample_weights=None)``. The
    ``padding_idx`` row starts at zero, gets no gradient and is left out of every bag."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        op = "EmbeddingBag"
        num_embeddings = checks.integer(op, "num_embeddings", num_embeddings)
        embedding_dim = checks.integer(op, "embedding_dim", embedding_dim)
        padding_idx, max_norm, norm_type, scale_grad_by_freq = F.embedding_options(
            op, num_embeddings, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
        checks.choice(op, "mode", mode, F.EMBEDDING_BAG_MODES)
        weight = _embedding_weight(op, num_embeddings, embedding_dim, padding_idx, _weight, True,
                                   device, dtype)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.mode = mode
        self.sparse = False
        self.include_last_offset = checks.flag(op, "include_last_offset", include_last_offset)
        self.padding_idx = padding_idx
        self.weight = weight

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose ``weight`` is ``embeddings`` (sharing its memory), frozen
        unless ``freeze=False``; the other arguments are the constructor's."""
        op = "EmbeddingBag.from_pretrained"
        expect_tensor(op, embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"{op}: embeddings must be 2-D (num_embeddings, embedding_dim), "
                             f"got shape {tuple(embeddings.shape)}")
        bag = cls(embeddings.shape[0], embeddings.shape[1], max_norm, norm_type,
                  scale_grad_by_freq, mode, sparse, embeddings, include_last_offset,
                  padding_idx)
        bag.weight.requires_grad = not checks.flag(op, "freeze", freeze)
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text


class Dropout(Module):
    """Zeroes each element with probability p while training; identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = checks.probability("Dropout", "p", p)
        self.inplace = checks.flag("Dropout", "inplace", inplace)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """Zeroes whole channels of (N, C, H, W) input with probability p while training."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = checks.probability("Dropout2d", "p", p)
        self.inplace = checks.flag("Dropout2d", "inplace", inplace)

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


_REDUCTIONS = ("mean", "sum", "none")


def _register_weight(module, name, weight):
    """A loss's ``weight``-like tensor as a buffer, as PyTorch's (in ``state_dict`` when given,
    moved and converted with the module)."""
    if weight is not None and not isinstance(weight, Tensor):
        raise TypeError(f"{type(module).__name__}: {name} must be a Tensor or None, got "
                        f"{type(weight).__name__}")
    module.register_buffer(name, weight)


class MSELoss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = checks.choice("MSELoss", "reduction", reduction, _REDUCTIONS)

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(Module):
    """Mean absolute error, as ``F.l1_loss``."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = checks.choice("L1Loss", "reduction", reduction, _REDUCTIONS)

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(Module):
    """Squared error below ``beta``, absolute error above, as ``F.smooth_l1_loss``."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__()
        self.reduction = checks.choice("SmoothL1Loss", "reduction", reduction, _REDUCTIONS)
        self.beta = checks.real("SmoothL1Loss", "beta", beta, minimum=0.0)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(Module):
    """Squared error below ``delta``, delta times absolute error above, as ``F.huber_loss``."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__()
        self.reduction = checks.choice("HuberLoss", "reduction", reduction, _REDUCTIONS)
        delta = checks.real("HuberLoss", "delta", delta)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta!r}")
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class KLDivLoss(Module):
    """Kullback-Leibler divergence of log-probabilities from a target, as ``F.kl_div``."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__()
        self.reduction = checks.choice("KLDivLoss", "reduction", reduction,
                                       ("mean", "batchmean", "sum", "none"))
        self.log_target = checks.flag("KLDivLoss", "log_target", log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, self.reduction, self.log_target)


class CrossEntropyLoss(Module):
    """Softmax cross-entropy of logits against class ids or class probabilities, as
    ``F.cross_entropy``; ``weight`` is a buffer."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.ignore_index = checks.integer("CrossEntropyLoss", "ignore_index", ignore_index,
                                           minimum=None)
        self.reduction = checks.choice("CrossEntropyLoss", "reduction", reduction, _REDUCTIONS)
        self.label_smoothing = checks.probability("CrossEntropyLoss", "label_smoothing",
                                                  label_smoothing)
        _register_weight(self, "weight", weight)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities, as ``F.nll_loss``; ``weight`` is a
    buffer."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.ignore_index = checks.integer("NLLLoss", "ignore_index", ignore_index, minimum=None)
        self.reduction = checks.choice("NLLLoss", "reduction", reduction, _REDUCTIONS)
        _register_weight(self, "weight", weight)

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)



class CTCLoss(Module):
    """Connectionist temporal classification loss, as ``F.ctc_loss``: called with log_probs,
    targets, input_lengths and target_lengths."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__()
        self.blank = checks.integer("CTCLoss", "blank", blank)
        self.reduction = checks.choice("CTCLoss", "reduction", reduction, _REDUCTIONS)
        self.zero_infinity = checks.flag("CTCLoss", "zero_infinity", zero_infinity)

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)

class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on logits, as ``F.binary_cross_entropy_with_logits``; ``weight``
    and ``pos_weight`` are buffers."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__()
        self.reduction = checks.choice("BCEWithLogitsLoss", "reduction", reduction, _REDUCTIONS)
        _register_weight(self, "weight", weight)
        _register_weight(self, "pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class BCELoss(Module):
    """Binary cross-entropy on probabilities, as ``F.binary_cross_entropy``; ``weight`` is a
    buffer."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        self.reduction = checks.choice("BCELoss", "reduction", reduction, _REDUCTIONS)
        _register_weight(self, "weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.softmax(F.implicit_softmax_dim("softmax", x.ndim, 4) if self.dim is None
                         else self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return x.log_softmax(F.implicit_softmax_dim("log_softmax", x.ndim, 4)
                             if self.dim is None else self.dim)


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return x.relu_() if self.inplace else x.relu()


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class GLU(Module):
    """a * sigmoid(b) of the two halves of the input along ``dim``, as ``nn.GLU``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


def _inplace_text(inplace):
    return ", inplace=True" if inplace else ""


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x, as ``F.leaky_relu``."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = checks.real("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = checks.flag("LeakyReLU", "inplace", inplace)

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_text(self.inplace)}"


class ELU(Module):
    """x where x > 0, else alpha (exp(x) - 1), as ``F.elu``."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = checks.real("ELU", "alpha", alpha)
        self.inplace = checks.flag("ELU", "inplace", inplace)

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_text(self.inplace)}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold, as ``F.softplus``."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        beta = checks.real("Softplus", "beta", beta)
        if beta == 0:
            raise ValueError("Softplus: beta must not be 0 (the function divides by it), got 0.0")
        self.beta = beta
        self.threshold = checks.real("Softplus", "threshold", threshold)

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """x sigmoid(x), as ``F.silu``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = checks.flag("SiLU", "inplace", inplace)

    def forward(self, input):
        return F.silu(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    """x Phi(x), Phi the standard normal CDF, or its tanh estimate, as ``F.gelu``."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = checks.choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class LogSigmoid(Module):
    """log(sigmoid(x)), as ``F.logsigmoid``."""

    def forward(self, input):
        return F.logsigmoid(input)


class Hardtanh(Module):
    """x limited to [min_val, max_val], as ``F.hardtanh``."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        min_val = checks.real("Hardtanh", "min_val", min_val)
        max_val = checks.real("Hardtanh", "max_val", max_val)
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = checks.flag("Hardtanh", "inplace", inplace)

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_text(self.inplace)}"


class Identity(Module):
    """Returns its input (any constructor arguments are ignored, as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Joins dims start_dim..end_dim (by default all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (a tuple or list of ints, one may be -1),
    as ``nn.Unflatten``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = checks.integer("Unflatten", "dim", dim, minimum=None)
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found "
                            f"type {type(unflattened_size).__name__}")
        for position, size in enumerate(unflattened_size):
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found "
                                f"element of type {type(size).__name__} at pos {position}")
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class ReLU6(Module):
    """min(max(x, 0), 6), as ``F.relu6``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = checks.flag("ReLU6", "inplace", inplace)

    def forward(self, input):
        return F.relu6(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SELU(Module):
    """scale (x where x > 0, else alpha (exp(x) - 1)), as ``F.selu``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = checks.flag("SELU", "inplace", inplace)

    def forward(self, input):
        return F.selu(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class CELU(Module):
    """x where x > 0, else alpha (exp(x / alpha) - 1), as ``F.celu``."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        alpha = checks.real("CELU", "alpha", alpha)
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0 (the function divides by it), got 0.0")
        self.alpha = alpha
        self.inplace = checks.flag("CELU", "inplace", inplace)

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_text(self.inplace)}"


class Mish(Module):
    """x tanh(softplus(x)), as ``F.mish``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = checks.flag("Mish", "inplace", inplace)

    def forward(self, input):
        return F.mish(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(Module):
    """x / 6 + 1 / 2 limited to [0, 1], as ``F.hardsigmoid``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = checks.flag("Hardsigmoid", "inplace", inplace)

    def forward(self, input):
        return F.hardsigmoid(input, self.inplace)


class Hardswish(Module):
    """x hardsigmoid(x), as ``F.hardswish``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = checks.flag("Hardswish", "inplace", inplace)

    def forward(self, input):
        return F.hardswish(input, self.inplace)


class Softsign(Module):
    """x / (1 + |x|), as ``F.softsign``."""

    def forward(self, input):
        return F.softsign(input)


class Tanhshrink(Module):
    """x - tanh(x), as ``F.tanhshrink``."""

    def forward(self, input):
        return F.tanhshrink(input)


class Softshrink(Module):
    """x moved lambd toward 0, 0 within lambd of it, as ``F.softshrink``."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = checks.real("Softshrink", "lambd", lambd, minimum=0.0)

    def forward(self, input):
        return F.softshrink(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Module):
    """x, 0 within lambd of 0, as ``F.hardshrink``."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = checks.real("Hardshrink", "lambd", lambd)

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Softmin(Module):
    """softmax(-x) along ``dim``, as ``F.softmin``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Threshold(Module):
    """x where x > threshold, else value, as ``F.threshold``; both kept as given, as
    PyTorch's repr shows them."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        checks.real("Threshold", "threshold", threshold)
        checks.real("Threshold", "value", value)
        self.threshold = threshold
        self.value = value
        self.inplace = checks.flag("Threshold", "inplace", inplace)

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_text(self.inplace)}"


class PReLU(Module):
    """x where x > 0, else a x, ``weight`` a (num_parameters,) learnt, one for all channels or
    one per channel (dim 1), starting at ``init``, as ``nn.PReLU``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = checks.integer("PReLU", "num_parameters", num_parameters,
                                             minimum=1)
        start = checks.real("PReLU", "init", init)
        device, dtype = factory_kwargs("PReLU", device, dtype)
        self.weight = new_parameter(numpy.full((self.num_parameters,), start), device, dtype)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Bilinear(Module):
    """y = x1^T A x2 + b;  ``weight`` A (out_features, in1_features, in2_features), ``bias`` b
    (out_features,), both uniform in ±1/sqrt(in1_features) as PyTorch's, as ``nn.Bilinear``."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = checks.integer("Bilinear", "in1_features", in1_features)
        self.in2_features = checks.integer("Bilinear", "in2_features", in2_features)
        self.out_features = checks.integer("Bilinear", "out_features", out_features)
        checks.flag("Bilinear", "bias", bias)
        device, dtype = factory_kwargs("Bilinear", device, dtype)
        bound = 1.0 / math.sqrt(in1_features) if in1_features else 0.0
        shape = (out_features, in1_features, in2_features)
        self.weight = new_parameter(init.uniform(shape, bound), device, dtype)
        self.bias = new_parameter(init.uniform((out_features,), bound), device, dtype) \
            if bias else None

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return f"in1_features={self.in1_features}, in2_features={self.in2_features}, " \
               f"out_features={self.out_features}, bias={self.bias is not None}"


class CosineSimilarity(Module):
    """The cosine of the inputs' angle along ``dim``, as ``F.cosine_similarity``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = checks.integer("CosineSimilarity", "dim", dim, minimum=None)
        self.eps = checks.real("CosineSimilarity", "eps", eps)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim, as ``F.pairwise_distance``."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = checks.real("PairwiseDistance", "p", p)
        self.eps = checks.real("PairwiseDistance", "eps", eps)
        self.keepdim = checks.flag("PairwiseDistance", "keepdim", keepdim)

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class MarginRankingLoss(Module):
    """max(0, -y (x1 - x2) + margin), as ``F.margin_ranking_loss``."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.margin = checks.real("MarginRankingLoss", "margin", margin)
        self.reduction = F.legacy_reduction("MarginRankingLoss", size_average, reduce,
                                            reduction)

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(Module):
    """x for target 1, max(0, margin - x) for -1, as ``F.hinge_embedding_loss``."""

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.margin = checks.real("HingeEmbeddingLoss", "margin", margin)
        self.reduction = F.legacy_reduction("HingeEmbeddingLoss", size_average, reduce,
                                            reduction)

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(Module):
    """log(1 + exp(-y x)), as ``F.soft_margin_loss``."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F.legacy_reduction("SoftMarginLoss", size_average, reduce, reduction)

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(Module):
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for -1, as
    ``F.cosine_embedding_loss``."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.margin = checks.real("CosineEmbeddingLoss", "margin", margin)
        self.reduction = F.legacy_reduction("CosineEmbeddingLoss", size_average, reduce,
                                            reduction)

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(Module):
    """max(0, margin + d(a, p) - d(a, n)), as ``F.triplet_margin_loss``."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__()
        margin = checks.real("TripletMarginLoss", "margin", margin)
        if not margin > 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin = margin
        self.p = checks.real("TripletMarginLoss", "p", p)
        self.eps = checks.real("TripletMarginLoss", "eps", eps)
        self.swap = checks.flag("TripletMarginLoss", "swap", swap)
        self.reduction = F.legacy_reduction("TripletMarginLoss", size_average, reduce,
                                            reduction)

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, reduction=self.reduction)


class PoissonNLLLoss(Module):
    """The negative log-likelihood of a Poisson target, as ``F.poisson_nll_loss``."""

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__()
        self.log_input = checks.flag("PoissonNLLLoss", "log_input", log_input)
        self.full = checks.flag("PoissonNLLLoss", "full", full)
        self.eps = checks.real("PoissonNLLLoss", "eps", eps)
        self.reduction = F.legacy_reduction("PoissonNLLLoss", size_average, reduce, reduction)

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(Module):
    """The negative log-likelihood of a Gaussian target, as ``F.gaussian_nll_loss``."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__()
        self.full = checks.flag("GaussianNLLLoss", "full", full)
        self.eps = checks.real("GaussianNLLLoss", "eps", eps)
        self.reduction = checks.choice("GaussianNLLLoss", "reduction", reduction, _REDUCTIONS)

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class MultiLabelSoftMarginLoss(Module):
    """Binary cross-entropy per class averaged over the classes, as
    ``F.multilabel_soft_margin_loss``; ``weight`` is a buffer."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F.legacy_reduction("MultiLabelSoftMarginLoss", size_average, reduce,
                                            reduction)
        _register_weight(self, "weight", weight)

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(Module):
    """The multi-class hinge loss, as ``F.multi_margin_loss``; ``weight`` is a buffer."""

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__()
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got p={p!r}")
        _register_weight(self, "weight", weight)
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{weight.ndim}D instead")
        self.p = p
        self.margin = checks.real("MultiMarginLoss", "margin", margin)
        self.reduction = F.legacy_reduction("MultiMarginLoss", size_average, reduce, reduction)

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)

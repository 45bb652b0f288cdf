"""Basic layers and loss modules."""
import math

from .. import checks
from .. import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b;  W (out_features, in_features), b (out_features,), both initialised
    uniformly in ±1/sqrt(in_features) as PyTorch does."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = checks.integer("Linear", "in_features", in_features)
        self.out_features = checks.integer("Linear", "out_features", out_features)
        checks.flag("Linear", "bias", bias)
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = Parameter(init.uniform((out_features, in_features), bound))
        self.bias = Parameter(init.uniform((out_features,), bound)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: ids (...) -> rows of ``weight`` (num_embeddings, embedding_dim), drawn
    from N(0, 1); the ``padding_idx`` row starts at zero and gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        num_embeddings = checks.integer("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = checks.integer("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = checks.integer("Embedding", "padding_idx", padding_idx, minimum=None)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise IndexError(f"Embedding: padding_idx {padding_idx} is outside "
                                 f"[0, {num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        weight = init.normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.weight = Parameter(weight)

    def forward(self, ids):
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}" + \
            (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Dropout(Module):
    """Zeroes each element with probability p while training; identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = checks.probability("Dropout", "p", p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


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


class MSELoss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = checks.choice("MSELoss", "reduction", reduction, _REDUCTIONS)

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(Module):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.weight = weight
        self.ignore_index = checks.integer("CrossEntropyLoss", "ignore_index", ignore_index,
                                           minimum=None)
        self.reduction = checks.choice("CrossEntropyLoss", "reduction", reduction, _REDUCTIONS)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction)


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities, as ``F.nll_loss``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on logits, as ``F.binary_cross_entropy_with_logits``."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class BCELoss(Module):
    """Binary cross-entropy on probabilities, as ``F.binary_cross_entropy``."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        self.weight = weight
        self.reduction = checks.choice("BCELoss", "reduction", reduction, _REDUCTIONS)

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

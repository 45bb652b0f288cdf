"""Functions of neural networks, as ``torch.nn.functional``: ``import tinyseq.functional as F``."""
from . import backend, random
from .ops import linalg, nn_ops
from .tensor import Tensor, _expect_tensor, log_softmax, relu, sigmoid, softmax, tanh

__all__ = ["linear", "mse_loss", "cross_entropy", "softmax", "log_softmax", "dropout",
           "embedding", "relu", "sigmoid", "tanh"]

_REDUCTIONS = ("mean", "sum", "none")


def linear(x, weight, bias=None):
    """y = x W^T + b for x (..., in), W (out, in), b (out,)."""
    _expect_tensor("linear", x)
    _expect_tensor("linear", weight)
    if bias is None:
        return linalg.Linear().apply(x, weight)
    return linalg.Linear().apply(x, weight, bias)


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or none) of the squared differences; input and target of one shape."""
    _check_reduction("mse_loss", reduction)
    _expect_tensor("mse_loss", input)
    if not isinstance(target, Tensor):
        try:
            array = backend.device_of(input.array).xp.asarray(target)
        except (ValueError, TypeError):
            array = None
        if array is None or array.dtype.kind not in "biuf":
            raise TypeError(f"mse_loss: target must be a tensor or numbers, got "
                            f"{type(target).__name__}")
        target = Tensor.from_array(array.astype(input.dtype, copy=False), False)
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input shape {tuple(input.shape)} and target shape "
                         f"{tuple(target.shape)} differ")
    return nn_ops.MSELoss(reduction).apply(input, target)


def cross_entropy(input, target, ignore_index=-100, reduction="mean"):
    """Softmax cross-entropy of logits (N, C) against class ids (N,), rows whose target is
    ``ignore_index`` left out (and not counted by "mean")."""
    _check_reduction("cross_entropy", reduction)
    _expect_tensor("cross_entropy", input)
    target_array = target.array if isinstance(target, Tensor) else \
        backend.device_of(input.array).xp.asarray(target)
    if target_array.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class ids, got {target_array.dtype}")
    if input.ndim != 2 or target_array.shape != (input.shape[0],):
        raise ValueError(f"cross_entropy: expected logits (N, C) and targets (N,), got "
                         f"{tuple(input.shape)} and {tuple(target_array.shape)}")
    counted = target_array[target_array != ignore_index]
    if counted.size and (int(counted.min()) < 0 or int(counted.max()) >= input.shape[1]):
        raise IndexError(f"cross_entropy: target ids must be in [0, {input.shape[1]}), got values "
                         f"from {int(counted.min())} to {int(counted.max())}")
    return nn_ops.CrossEntropy(target_array, ignore_index, reduction).apply(input)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the kept ones by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    device = backend.device_of(x.array)
    if p == 1.0:
        return x * 0.0
    keep = random.generator(device).random(x.shape, dtype=x.dtype) >= p
    return nn_ops.Dropout(keep * x.dtype.type(1.0 / (1.0 - p))).apply(x)


def embedding(ids, weight, padding_idx=None):
    """Rows of ``weight`` (num, dim) picked by integer ``ids`` of any shape: (..., dim)."""
    _expect_tensor("embedding", weight)
    ids_array = ids.array if isinstance(ids, Tensor) else backend.device_of(weight.array).xp.asarray(ids)
    if ids_array.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got dtype {ids_array.dtype}")
    num = weight.shape[0]
    if ids_array.size and (int(ids_array.min()) < 0 or int(ids_array.max()) >= num):
        raise IndexError(f"embedding: ids must be in [0, {num}), got values from "
                         f"{int(ids_array.min())} to {int(ids_array.max())}")
    return nn_ops.Embedding(ids_array, padding_idx).apply(weight)


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")

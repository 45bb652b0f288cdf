"""Batch normalization (``nn.BatchNorm1d``, ``nn.BatchNorm2d``) and layer normalization
(``nn.LayerNorm``) with PyTorch's parameters, buffers and running statistics, so that weights
copy across."""
import numbers

from .. import checks
from .. import functional as F
from ..creation import ones, zeros
from ..tensor import Tensor
from .module import Module, Parameter, factory_kwargs


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1). Training uses the
    batch's mean and biased variance and updates ``running_mean`` and ``running_var`` (with the
    unbiased variance) by ``momentum``, or by a cumulative average when momentum is None;
    evaluation uses the running statistics (the batch's when track_running_stats is False)."""
    dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = checks.integer(name, "num_features", num_features, minimum=1)
        self.eps = checks.real(name, "eps", eps, minimum=0.0)
        self.momentum = None if momentum is None else checks.finite(name, "momentum", momentum)
        self.affine = checks.flag(name, "affine", affine)
        self.track_running_stats = checks.flag(name, "track_running_stats", track_running_stats)
        device, dtype = factory_kwargs(name, device, dtype)
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_features, dtype=dtype, device=device))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", zeros((), dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def forward(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in self.dims:
            raise ValueError(f"{name}: expected {' or '.join(f'{d}D' for d in self.dims)} "
                             f"input (got {input.ndim}D input of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{name}: input of shape {tuple(input.shape)} has {input.shape[1]} "
                             f"channels (dim 1); the layer has num_features={self.num_features}")
        counts = self.training and self.track_running_stats
        factor = 0.0
        if counts:
            factor = 1.0 / (self.num_batches_tracked.item() + 1) if self.momentum is None \
                else self.momentum
        use_batch = self.training or not self.track_running_stats
        output = F.batch_norm(input, self.running_mean, self.running_var, self.weight,
                              self.bias, use_batch, factor, self.eps)
        if counts:                          # after batch_norm, which refuses bad input first
            self.num_batches_tracked.add_(1)
        return output

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input over N (and L), per channel C."""
    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input over N, H and W, per channel C."""
    dims = (4,)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the mean and biased variance taken per
    sample over the last dims, ``normalized_shape`` (an int: the last dim); ``weight`` starts
    at ones and ``bias`` at zeros, both of that shape (neither when elementwise_affine is False,
    no bias when bias is False). The same in training and evaluation: no running statistics."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape,
                                                                            bool):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = F.checked_normalized_shape("LayerNorm", normalized_shape)
        self.eps = checks.real("LayerNorm", "eps", eps, minimum=0.0)
        self.elementwise_affine = checks.flag("LayerNorm", "elementwise_affine",
                                              elementwise_affine)
        checks.flag("LayerNorm", "bias", bias)
        device, dtype = factory_kwargs("LayerNorm", device, dtype)
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype, device=device))
            self.bias = Parameter(zeros(self.normalized_shape, dtype=dtype, device=device)) \
                if bias else None
        else:
            self.weight = self.bias = None

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine="
                f"{self.elementwise_affine}, bias={self.bias is not None}")

"""Convolution and pooling layers on images (N, C, H, W)."""
import math

from .. import functional as F
from ..ops.conv import as_pair
from . import init
from .module import Module, factory_kwargs, new_parameter


class Conv2d(Module):
    """y = conv2d(x, W) + b;  W (out_channels, in_channels, kH, kW), b (out_channels,), both
    initialised uniformly in ±1/sqrt(in_channels * kH * kW) as PyTorch does, in ``dtype`` on
    ``device`` (keyword-only: PyTorch's dilation and groups come before them)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, device=None, dtype=None):
        super().__init__()
        kernel = as_pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = as_pair("Conv2d", "stride", stride, 1)
        self.padding = as_pair("Conv2d", "padding", padding, 0)
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        device, dtype = factory_kwargs("Conv2d", device, dtype)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        bound = 1.0 / math.sqrt(in_channels * kernel[0] * kernel[1])
        self.weight = new_parameter(init.uniform((out_channels, in_channels) + kernel, bound),
                                    device, dtype)
        self.bias = new_parameter(init.uniform((out_channels,), bound), device, dtype) \
            if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"


class MaxPool2d(Module):
    """The maximum of each kernel_size window, sliding by stride (default kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

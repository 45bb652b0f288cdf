"""Convolution and pooling layers on sequences (N, C, L) and images (N, C, H, W)."""
import math

from .. import functional as F
from ..ops.conv import as_pair, as_single
from ..tensor import expect_tensor
from . import init
from .module import Module, factory_kwargs, new_parameter


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv1d(Module):
    """y = conv1d(x, W) + b on (N, C, L) or (C, L);  W (out_channels, in_channels / groups,
    kernel_size), b (out_channels,), both initialised uniformly in
    ±1/sqrt(in_channels / groups * kernel_size) as PyTorch does. padding is an int, "valid" or
    "same"; dilation and groups are supported. padding_mode "zeros" pads with zeros inside the
    convolution; "reflect", "replicate" and "circular" pad the input in that mode first and
    convolve it unpadded, as PyTorch does."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, device=None, dtype=None):
        super().__init__()
        self.kernel_size = (as_single("Conv1d", "kernel_size", kernel_size, 1),)
        self.stride = (as_single("Conv1d", "stride", stride, 1),)
        self.dilation = (as_single("Conv1d", "dilation", dilation, 1),)
        self.padding = _conv1d_padding(padding, self.stride[0])
        _check_channels(in_channels, out_channels, groups)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv1d: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        device, dtype = factory_kwargs("Conv1d", device, dtype)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.padding_mode = groups, padding_mode
        bound = 1.0 / math.sqrt(in_channels // groups * self.kernel_size[0])
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = new_parameter(init.uniform(shape, bound), device, dtype)
        self.bias = new_parameter(init.uniform((out_channels,), bound), device, dtype) \
            if bias else None

    def forward(self, x):
        expect_tensor("Conv1d", x)
        if self.padding_mode == "zeros":
            return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)
        padding = _side_padding(self.padding, self.kernel_size[0], self.dilation[0])
        x = F.pad(x, padding, mode=self.padding_mode)
        return F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        """As PyTorch's: the defaults (padding 0, dilation 1, groups 1, bias) left out."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"stride={self.stride}"
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


def _side_padding(padding, kernel_size, dilation):
    """(left, right) as PyTorch pads for a padding_mode: "same" puts the odd one on the
    right."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = dilation * (kernel_size - 1)
        return total // 2, total - total // 2
    return padding[0], padding[0]


def _conv1d_padding(padding, stride):
    """Conv1d's padding as PyTorch stores it: "valid"/"same" as given, an int as a 1-tuple."""
    if padding in ("valid", "same"):
        if padding == "same" and stride != 1:
            raise ValueError(f"Conv1d: padding='same' is not supported for strided "
                             f"convolutions, got stride={stride}")
        return padding
    if isinstance(padding, str):
        raise ValueError(f"Conv1d: invalid padding string {padding!r}, should be one of "
                         f"('valid', 'same')")
    return (as_single("Conv1d", "padding", padding, 0),)


def _check_channels(in_channels, out_channels, groups):
    if in_channels < 1 or out_channels < 1:
        raise ValueError(f"Conv1d: in_channels and out_channels must be positive, got "
                         f"{in_channels} and {out_channels}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"Conv1d: groups must be a positive integer, got {groups!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"Conv1d: in_channels ({in_channels}) and out_channels "
                         f"({out_channels}) must be divisible by groups ({groups})")


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

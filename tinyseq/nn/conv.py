"""Convolution and pooling layers on sequences (N, C, L) and images (N, C, H, W)."""
import math

from .. import functional as F
from ..ops.conv import as_pair, as_single, supported_only
from ..tensor import expect_tensor
from . import init
from .module import Module, factory_kwargs, new_parameter


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d and Conv2d share, as PyTorch's: the arguments, the weight W
    (out_channels, in_channels / groups, *kernel_size) and bias b (out_channels,), both
    initialised uniformly in ±1/sqrt(in_channels / groups * prod(kernel_size)), and the repr.
    padding is an int (or one per dim), "valid" or "same"; padding_mode "zeros" pads with zeros
    inside the convolution, "reflect", "replicate" and "circular" pad the input in that mode
    first (F.pad) and convolve it unpadded."""
    dims = None                              # spatial dims: 1 or 2
    convolution = None                       # F.conv1d or F.conv2d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = self._per_dim("kernel_size", kernel_size, 1)
        self.stride = self._per_dim("stride", stride, 1)
        self.dilation = self._per_dim("dilation", dilation, 1)
        if padding in ("valid", "same"):
            if padding == "same" and set(self.stride) != {1}:
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions, got stride={self._shown(self.stride)}")
            self.padding = padding
        elif isinstance(padding, str):
            raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                             f"('valid', 'same')")
        else:
            self.padding = self._per_dim("padding", padding, 0)
        _check_channels(name, in_channels, out_channels, groups)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        device, dtype = factory_kwargs(name, device, dtype)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.padding_mode = groups, padding_mode
        bound = 1.0 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = new_parameter(init.uniform(shape, bound), device, dtype)
        self.bias = new_parameter(init.uniform((out_channels,), bound), device, dtype) \
            if bias else None

    def _per_dim(self, what, value, smallest):
        """An int, or one per spatial dim, as the tuple PyTorch stores."""
        if self.dims == 1:
            return (as_single(type(self).__name__, what, value, smallest),)
        return as_pair(type(self).__name__, what, value, smallest)

    def _shown(self, values):
        return values[0] if self.dims == 1 else values

    def forward(self, x):
        expect_tensor(type(self).__name__, x)
        if self.padding_mode == "zeros":
            return self.convolution(x, self.weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.groups)
        sides = [_side_padding(self.padding, axis, kernel, dilation) for axis, (kernel, dilation)
                 in enumerate(zip(self.kernel_size, self.dilation))]
        x = F.pad(x, [width for side in reversed(sides) for width in side],   # last dim first
                  mode=self.padding_mode)
        return self.convolution(x, self.weight, self.bias, self.stride, 0, self.dilation,
                                self.groups)

    def extra_repr(self):
        """As PyTorch's: the defaults (padding 0, dilation 1, groups 1, bias) left out."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """y = conv1d(x, W) + b on (N, C, L) or (C, L);  W (out_channels, in_channels / groups,
    kernel_size): see _ConvNd for the arguments, as PyTorch's."""
    dims = 1
    convolution = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """y = conv2d(x, W) + b on (N, C, H, W) or (C, H, W);  W (out_channels,
    in_channels / groups, kH, kW): see _ConvNd for the arguments, as PyTorch's (kernel_size,
    stride, padding and dilation an int or a pair)."""
    dims = 2
    convolution = staticmethod(F.conv2d)


def _side_padding(padding, axis, kernel_size, dilation):
    """(before, after) of spatial dim ``axis`` as PyTorch pads for a padding_mode: "same" puts
    the odd one after."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = dilation * (kernel_size - 1)
        return total // 2, total - total // 2
    return padding[axis], padding[axis]


def _check_channels(name, in_channels, out_channels, groups):
    if in_channels < 1 or out_channels < 1:
        raise ValueError(f"{name}: in_channels and out_channels must be positive, got "
                         f"{in_channels} and {out_channels}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                         f"({out_channels}) must be divisible by groups ({groups})")


class MaxPool1d(Module):
    """The maximum of each kernel_size window of (N, C, L) or (C, L), sliding by stride
    (default kernel_size), as PyTorch's (dilation 1, ceil_mode False, no indices)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        supported_only("MaxPool1d", dilation=(dilation, 1), ceil_mode=(ceil_mode, False),
                       return_indices=(return_indices, False))

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool1d(Module):
    """The mean of each kernel_size window of (N, C, L) or (C, L), sliding by stride (default
    kernel_size), the zero padding counted unless count_include_pad is False, as PyTorch's
    (ceil_mode False)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = (as_single("AvgPool1d", "kernel_size", kernel_size, 1),)
        self.stride = self.kernel_size if stride is None else \
            (as_single("AvgPool1d", "stride", stride, 1),)
        self.padding = (as_single("AvgPool1d", "padding", padding, 0),)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        supported_only("AvgPool1d", ceil_mode=(ceil_mode, False))

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveMaxPool1d(Module):
    """The maximum of each of ``output_size`` windows splitting the length, as PyTorch's
    (``AdaptiveMaxPool1d(1)``: a text CNN's max over time); no indices."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices
        supported_only("AdaptiveMaxPool1d", return_indices=(return_indices, False))

    def forward(self, x):
        return F.adaptive_max_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """The mean of each of ``output_size`` windows splitting the length, as PyTorch's."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxPool2d(Module):
    """The maximum of each kernel_size window of (N, C, H, W) or (C, H, W), sliding by stride
    (default kernel_size), as PyTorch's (dilation 1, ceil_mode False, no indices)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        if as_pair("MaxPool2d", "dilation", dilation, 1) != (1, 1):
            supported_only("MaxPool2d", dilation=(dilation, 1))
        supported_only("MaxPool2d", ceil_mode=(ceil_mode, False),
                       return_indices=(return_indices, False))

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"

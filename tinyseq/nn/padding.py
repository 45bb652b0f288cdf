"""Padding layers, as ``torch.nn``'s: each pads the last one or two dims with ``F.pad``."""
from .. import checks
from .. import functional as F
from .module import Module


class _PadNd(Module):
    """Pads the last ``dims`` dims in ``mode``: ``padding`` an int (every side) or a tuple of
    2 * dims ints, (left, right) for the last dim, then (top, bottom), kept as that tuple."""

    mode = "constant"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        name = type(self).__name__
        sides = 2 * self.dims
        if isinstance(padding, (tuple, list)):
            if len(padding) != sides:
                raise ValueError(f"{name}: padding must be an int or a tuple of {sides} ints, "
                                 f"got {tuple(padding)}")
            self.padding = tuple(checks.integer(name, "padding", n, minimum=None)
                                 for n in padding)
        else:
            self.padding = (checks.integer(name, "padding", padding, minimum=None),) * sides

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        checks.real(type(self).__name__, "value", value)
        self.value = value        # as given: PyTorch's repr shows an int as an int

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``, as ``nn.ConstantPad1d``."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with ``value``, as ``nn.ConstantPad2d``."""

    dims = 2


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros, as ``nn.ZeroPad1d``."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last 2 dims with zeros, as ``nn.ZeroPad2d``."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pads the last dim of (N, C, W) or (C, W) with its mirror image (the edge not repeated),
    as ``nn.ReflectionPad1d``."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pads the last 2 dims of (N, C, H, W) or (C, H, W) with their mirror image, as
    ``nn.ReflectionPad2d``."""

    mode = "reflect"
    dims = 2


class ReplicationPad1d(_PadNd):
    """Pads the last dim of (N, C, W) or (C, W) with copies of its edge, as
    ``nn.ReplicationPad1d``."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pads the last 2 dims of (N, C, H, W) or (C, H, W) with copies of their edges, as
    ``nn.ReplicationPad2d``."""

    mode = "replicate"
    dims = 2


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input):
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{type(self).__name__}: expected {self.dims + 1}D or "
                             f"{self.dims + 2}D input (got {input.ndim}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Pads the last dim of (N, C, W) or (C, W) by wrapping it around, as
    ``nn.CircularPad1d``."""


class CircularPad2d(_CircularPadNd):
    """Pads the last 2 dims of (N, C, H, W) or (C, H, W) by wrapping them around, as
    ``nn.CircularPad2d``."""

    dims = 2

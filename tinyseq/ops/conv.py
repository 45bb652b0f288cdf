"""2-D convolution and max pooling on (N, C, H, W) arrays, by im2col.

im2col copies every kH x kW window of the padded input into one column, so a convolution is
one matrix product of the flattened weight (out, in * kH * kW) with those columns. The columns
are gathered with one strided slice per kernel offset (i, j), and backward scatters the column
gradients back the same way (col2im), so nothing here needs more of ``xp`` than slicing,
``pad``, ``empty``/``zeros`` and products, which NumPy and CuPy share.
"""
from ..autograd import Function


def as_pair(op, name, value, smallest):
    """An int or a pair of ints, each at least ``smallest``, as a pair (height, width)."""
    pair = (value, value) if isinstance(value, int) else \
        tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < smallest:
        raise ValueError(f"{op}: {name} must be at least {smallest}, got {value!r}")
    return pair


def as_single(op, name, value, smallest):
    """An int or a 1-tuple of ints, at least ``smallest``, as an int (a 1-D convolution's
    stride, padding or dilation, which PyTorch stores as a 1-tuple)."""
    single = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not isinstance(single, int) or isinstance(single, bool):
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple of ints, got {value!r}")
    if single < smallest:
        raise ValueError(f"{op}: {name} must be at least {smallest}, got {value!r}")
    return single


def supported_only(op, **options):
    """NotImplementedError for an option given other than the one value supported,
    ``options`` = {name: (given, supported)}."""
    for name, (given, supported) in options.items():
        if given != supported:
            raise NotImplementedError(f"{op}: {name}={given!r} is not supported (only "
                                      f"{name}={supported!r})")


def output_size(size, kernel, stride, padding):
    """Length of one spatial axis after a window of ``kernel`` slides with ``stride``."""
    return (size + 2 * padding - kernel) // stride + 1


def _windows(xp, padded, kernel, stride, out_hw):
    """(N, C, kH, kW, OH, OW): element [.., i, j, p, q] is padded[.., p*sH + i, q*sW + j]."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    n, c = padded.shape[:2]
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=padded.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = padded[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    return cols


def _add_windows(xp, cols, padded_shape, stride):
    """col2im: the padded-input gradient that gets back every window's column gradient."""
    n, c, kh, kw, oh, ow = cols.shape
    sh, sw = stride
    padded = xp.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += cols[:, :, i, j]
    return padded


def _pad(xp, x, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant", constant_values=value)


def _unpad(padded, padding):
    ph, pw = padding
    return padded[:, :, ph:padded.shape[2] - ph, pw:padded.shape[3] - pw]


class Conv2d(Function):
    """y[n, o] = sum_{c,i,j} W[o, c, i, j] x_pad[n, c, p*s + i, q*s + j] + b[o], as
    Y = W_flat @ cols;  dW = sum_n g_n cols_n^T,  dcols = W_flat^T g (col2im -> dx),  db = sum g"""
    __slots__ = ("stride", "padding")
    saves_inputs = (1,)

    def __init__(self, stride, padding):
        self.stride, self.padding = stride, padding

    def forward(self, xp, x, weight, bias=None):
        out_channels, _, kh, kw = weight.shape
        padded = _pad(xp, x, self.padding)
        out_hw = tuple(output_size(x.shape[2 + a], (kh, kw)[a], self.stride[a], self.padding[a])
                       for a in (0, 1))
        cols = _windows(xp, padded, (kh, kw), self.stride, out_hw)
        n = x.shape[0]
        cols = cols.reshape(n, x.shape[1] * kh * kw, out_hw[0] * out_hw[1])  # (N, C kH kW, OH OW)
        y = weight.reshape(out_channels, -1) @ cols                    # (N, O, OH OW)
        if bias is not None:
            y += bias[:, None]
        self.saved = (cols, weight, padded.shape)
        return y.reshape(n, out_channels, *out_hw)

    def backward(self, xp, g):
        cols, weight, padded_shape = self.saved
        x_node, weight_node = self.inputs[:2]
        n, out_channels, oh, ow = g.shape
        g = g.reshape(n, out_channels, oh * ow)
        dx = dweight = dbias = None
        if x_node.requires_grad:
            dcols = weight.reshape(out_channels, -1).T @ g             # (N, C kH kW, OH OW)
            dcols = dcols.reshape(n, *weight.shape[1:], oh, ow)
            dx = _unpad(_add_windows(xp, dcols, padded_shape, self.stride), self.padding)
        if weight_node.requires_grad:
            dweight = xp.tensordot(g, cols, axes=((0, 2), (0, 2))).reshape(weight.shape)
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            dbias = g.sum(axis=(0, 2))
        return (dx, dweight) if len(self.inputs) == 2 else (dx, dweight, dbias)


class MaxPool2d(Function):
    """y[n, c, p, q] = max over the window at (p*s, q*s) of x padded with -inf;
    dx = g at each window's first maximum, 0 elsewhere (added where windows overlap)"""
    __slots__ = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride, padding):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, xp, x):
        kh, kw = self.kernel_size
        padded = _pad(xp, x, self.padding, value=-xp.inf)
        out_hw = tuple(output_size(x.shape[2 + a], self.kernel_size[a], self.stride[a],
                                   self.padding[a]) for a in (0, 1))
        windows = _windows(xp, padded, self.kernel_size, self.stride, out_hw)
        n, c = x.shape[:2]
        windows = windows.reshape(n, c, kh * kw, *out_hw)
        argmax = windows.argmax(axis=2)                                # first maximum, as PyTorch
        self.saved = (argmax, padded.shape)
        return windows.max(axis=2)

    def backward(self, xp, g):
        argmax, padded_shape = self.saved
        kh, kw = self.kernel_size
        n, c, oh, ow = g.shape
        cols = xp.zeros((n, c, kh * kw, oh, ow), dtype=g.dtype)
        for k in range(kh * kw):
            cols[:, :, k] = xp.where(argmax == k, g, 0)
        cols = cols.reshape(n, c, kh, kw, oh, ow)
        return (_unpad(_add_windows(xp, cols, padded_shape, self.stride), self.padding),)

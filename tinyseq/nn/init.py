"""Parameter initialisation, as PyTorch does it, from the seeded generator."""
import math
import warnings

from .. import backend, checks, random
from ..modes import no_grad
from ..dtypes import get_default_dtype
from ..tensor import Tensor


def uniform(shape, bound, dtype=None, device="cpu"):
    """An array of ``shape`` drawn uniformly from [-bound, bound)."""
    device = backend.get_device(device)
    dtype = get_default_dtype() if dtype is None else dtype
    sample = random.generator(device).random(shape, dtype=dtype)
    return (sample * 2 - 1) * bound


def normal(shape, std=1.0, dtype=None, device="cpu"):
    """An array of ``shape`` drawn from N(0, std^2)."""
    device = backend.get_device(device)
    dtype = get_default_dtype() if dtype is None else dtype
    return random.generator(device).standard_normal(shape, dtype=dtype) * std


# --- PyTorch's in-place initialisers: each fills a tensor (without recording a graph) and
# returns it, as ``torch.nn.init``
def _filled(tensor, values):
    with no_grad():
        return tensor.copy_(Tensor.from_array(values))


# Each draws from the seeded generator of the tensor's device, or from ``generator`` (a
# tinyseq Generator) when given.
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """tensor ~ U[a, b), in place."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """tensor ~ N(mean, std^2), in place."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """tensor ~ N(mean, std^2) restricted to [a, b], in place: samples outside are redrawn."""
    if not std > 0 or not a < b:
        raise ValueError(f"trunc_normal_: needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    if tensor.array.dtype.kind != "f":
        raise TypeError(f"trunc_normal_: not implemented for dtype {tensor.dtype}; the samples "
                        f"need a floating dtype")
    device = backend.device_of(tensor.array)
    values = _truncated_normal(device, tuple(tensor.shape), mean, std, a, b, generator)
    return _filled(tensor, values.astype(tensor.array.dtype))


def _normal_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _truncated_normal(device, shape, mean, std, a, b, generator):
    """Rejection sampling, as PyTorch's: from N(mean, std^2) when [a, b] holds over 30% of its
    mass, else uniformly on [a, b] accepted with probability pdf(x) / pdf(mode) (a normal
    draw would then be refused too often)."""
    xp, rng = device.xp, random.generator(device, generator)   # float64, cast by the caller
    mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    mode = max(a, min(mean, b))

    def draw(count):
        if mass > 0.3:
            return rng.standard_normal(count) * std + mean
        candidates = rng.random(count) * (b - a) + a
        log_ratio = -0.5 * (((candidates - mean) / std) ** 2 - ((mode - mean) / std) ** 2)
        return xp.where(xp.log(rng.random(count)) <= log_ratio, candidates, xp.nan)

    values = draw(math.prod(shape))
    refused = ~((values >= a) & (values <= b))   # NaN marks a refused uniform candidate
    while refused.any():
        values[refused] = draw(int(refused.sum()))
        refused = ~((values >= a) & (values <= b))
    return values.reshape(shape)


def constant_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def _fans(tensor, op):
    """(fan_in, fan_out) of a weight (out, in, *kernel), as PyTorch counts them."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dims; {op} got "
                         f"shape {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def _negative_slope(param):
    """leaky_relu's slope for calculate_gain: 0.01 when None, else an int or float (not a bool,
    as PyTorch refuses it)."""
    if param is None:
        return 0.01
    if isinstance(param, bool) or not isinstance(param, (int, float)):
        raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
    return param


def calculate_gain(nonlinearity, param=None):
    """The recommended scale for a nonlinearity, as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + _negative_slope(param) ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """tensor ~ U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """tensor ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(op, tensor, a, mode, nonlinearity):
    """gain(nonlinearity, a) / sqrt(fan), fan chosen by mode ('fan_in' or 'fan_out')."""
    modes = ("fan_in", "fan_out")
    if not isinstance(mode, str) or mode.lower() not in modes:
        raise ValueError(f"{op}: mode must be one of {modes}, got {mode!r}")
    fan_in, fan_out = _fans(tensor, op)
    fan = fan_in if mode.lower() == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _is_empty(tensor):
    """PyTorch's kaiming initialisers leave a zero-element tensor as it is, with a warning."""
    if 0 not in tuple(tensor.shape):
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    return True


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """tensor ~ U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan), in place."""
    if _is_empty(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """tensor ~ N(0, std^2), std = gain / sqrt(fan), in place."""
    if _is_empty(tensor):
        return tensor
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    return normal_(tensor, 0.0, std, generator)


def eye_(tensor):
    """tensor = I (ones on the diagonal of a 2-D tensor, zeros elsewhere), in place."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    xp = backend.device_of(tensor.array).xp
    return _filled(tensor, xp.eye(*tensor.shape, dtype=tensor.array.dtype))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A 2-D tensor drawn from N(0, std^2) with ceil(sparsity * rows) zeros in each column, at
    rows picked at random, in place (a sparsity over 1 zeros every row, as PyTorch's)."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    sparsity = checks.real("sparse_", "sparsity", sparsity, minimum=0.0, below=math.inf)
    std = checks.real("sparse_", "std", std, minimum=0.0)
    if tensor.array.dtype.kind != "f":
        raise TypeError(f"sparse_: not implemented for dtype {tensor.dtype}; the samples need a "
                        f"floating dtype")
    rows, cols = tensor.shape
    zeros = min(rows, math.ceil(sparsity * rows))
    device = backend.device_of(tensor.array)
    with no_grad():
        tensor.normal_(0.0, std, generator=generator)
        # each column's first `zeros` rows of a random order
        order_keys = random.generator(device, generator).random((rows, cols))
        zero_rows = order_keys.argsort(axis=0)[:zeros]
        tensor[zero_rows, device.xp.arange(cols)] = 0.0
    return tensor


def dirac_(tensor, groups=1):
    """tensor[g * out_per_group + d, d, centre...] = 1 for d < min(out_per_group, in), else 0,
    in place: a convolution that passes its input channels through."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got "
                         f"shape {tuple(tensor.shape)}")
    if not isinstance(groups, int) or groups < 1 or tensor.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups, got "
                         f"groups={groups!r}")
    xp = backend.device_of(tensor.array).xp
    values = xp.zeros(tensor.shape, dtype=tensor.array.dtype)
    out_per_group = tensor.shape[0] // groups
    centre = tuple(size // 2 for size in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            values[(g * out_per_group + d, d) + centre] = 1
    return _filled(tensor, values)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix, the tensor seen as (shape[0], rest): the Q of a
    Gaussian matrix's QR decomposition, signs fixed by R's diagonal, as PyTorch's."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dims, got shape "
                         f"{tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    device = backend.device_of(tensor.array)
    xp, dtype = device.xp, tensor.array.dtype
    flat = random.generator(device, generator).standard_normal((rows, cols), dtype=dtype)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _filled(tensor, (q * gain).reshape(tensor.shape).astype(dtype))

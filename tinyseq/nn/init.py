"""Parameter initialisation, as PyTorch does it, from the seeded generator."""
import math

from .. import backend, random
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


def uniform_(tensor, a=0.0, b=1.0):
    with no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor, mean=0.0, std=1.0):
    with no_grad():
        return tensor.normal_(mean, std)


def constant_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def _fans(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel), as PyTorch counts them."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dims, got shape "
                         f"{tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended scale for a nonlinearity, as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = _fans(tensor)
    fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode)
    if fan is None:
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def orthogonal_(tensor, gain=1.0):
    """Fill with a (semi-)orthogonal matrix, the tensor seen as (shape[0], rest): the Q of a
    Gaussian matrix's QR decomposition, signs fixed by R's diagonal, as PyTorch's."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dims, got shape "
                         f"{tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    device = backend.device_of(tensor.array)
    xp, dtype = device.xp, tensor.array.dtype
    flat = random.generator(device).standard_normal((rows, cols), dtype=dtype)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _filled(tensor, (q * gain).reshape(tensor.shape).astype(dtype))

"""Parameter initialisation, as PyTorch does it, from the seeded generator."""
from .. import backend, random
from ..tensor import get_default_dtype


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

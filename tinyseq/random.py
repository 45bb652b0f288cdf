"""Random numbers: one generator per device, all reseeded by ``manual_seed``."""
import numpy

_seed = None
_generators = {}


def manual_seed(seed):
    """Make randn, rand, parameter init, dropout and shuffling reproducible from ``seed``."""
    global _seed
    if not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _seed = int(seed)
    _generators.clear()


def generator(device):
    """The random generator of ``device`` (a Device), made from the current seed on first use."""
    rng = _generators.get(device.name)
    if rng is None:
        rng = device.xp.random.default_rng(_seed)
        _generators[device.name] = rng
    return rng


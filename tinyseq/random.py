"""Random numbers: one generator per device, all reseeded by ``manual_seed``."""
import numpy

from . import backend

_seed = None
_generators = {}


def manual_seed(seed):
    """Make randn, rand, parameter init, dropout and shuffling reproducible from ``seed``."""
    global _seed
    _seed = _checked_seed("manual_seed", seed)
    _generators.clear()


def seed_device(name, seed):
    """Reseed the generator of the device ``name`` alone (what ``ts.cuda.manual_seed`` does);
    ``get_state`` keeps it as it keeps every generator made so far."""
    _generators[name] = backend.get_device(name).xp.random.default_rng(
        _checked_seed("manual_seed", seed))


def _checked_seed(op, seed):
    if not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool):
        raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    return int(seed)


def generator(device):
    """The random generator of ``device`` (a Device), made from the current seed on first use."""
    rng = _generators.get(device.name)
    if rng is None:
        rng = device.xp.random.default_rng(_seed)
        _generators[device.name] = rng
    return rng


def get_state():
    """The whole random state as plain data (ints, strings, dicts): the seed and, keyed by
    device name, the ``bit_generator.state`` of every generator created so far. ``ts.save``
    can store it; ``set_state`` restores it."""
    return {"seed": _seed,
            "generators": {name: rng.bit_generator.state for name, rng in _generators.items()}}


def set_state(state):
    """Restore what ``get_state`` returned: the next randn, rand, dropout masks and shuffles
    are exactly those that would have followed ``get_state``. Generators not in ``state`` are
    dropped, so they are made from the seed on first use, as they would have been. The whole
    state is checked first: on a ValueError or TypeError nothing changes."""
    if not isinstance(state, dict) or set(state) != {"seed", "generators"} \
            or not isinstance(state["generators"], dict):
        raise ValueError(f"set_state: expected a dict with 'seed' and 'generators' (as "
                         f"get_state returns), got {_short(state)}")
    seed = None if state["seed"] is None else _checked_seed("set_state", state["seed"])
    created = {}
    for name, bit_state in state["generators"].items():
        if not isinstance(name, str):
            raise ValueError(f"set_state: generator names are device names, got {_short(name)}")
        try:
            device = backend.get_device(name)
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"set_state: generator {name!r}: {error}") from None
        rng = device.xp.random.default_rng(seed)
        expected = type(rng.bit_generator).__name__
        if not isinstance(bit_state, dict) or bit_state.get("bit_generator") != expected:
            raise ValueError(f"set_state: the state of generator {name!r} is not a {expected} "
                             f"state: {_short(bit_state)}")
        try:
            rng.bit_generator.state = bit_state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ValueError(f"set_state: the state of generator {name!r} is malformed "
                             f"({error})") from None
        created[name] = rng
    global _seed
    _seed = seed
    _generators.clear()
    _generators.update(created)


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

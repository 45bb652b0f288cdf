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
    """``seed`` as the unsigned 64-bit number it names: a negative one wraps around, as
    PyTorch's seeds do."""
    if not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool):
        raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    return int(seed) % (1 << 64)


class Generator:
    """A random generator of its own, as ``torch.Generator``: given as ``generator=``, the
    random functions, samplers, ``random_split`` and ``DataLoader`` draw from it instead of
    the default generator of its device (the one ``manual_seed`` seeds), which it leaves where
    it was. A new Generator starts from PyTorch's default seed, 67280421310721, until
    ``manual_seed``; its draws follow NumPy's (or CuPy's) generator, not PyTorch's."""

    default_seed = 67280421310721

    def __init__(self, device="cpu"):
        self.device = backend.get_device(str(device))
        self.manual_seed(self.default_seed)

    def manual_seed(self, seed):
        """Restart from ``seed``; returns this generator, as PyTorch's."""
        self._initial_seed = _checked_seed("Generator.manual_seed", seed)
        self.rng = self.device.xp.random.default_rng(self._initial_seed)
        return self

    def seed(self):
        """Restart from a seed drawn from the system's entropy; returns that seed."""
        seed = int(numpy.random.SeedSequence().entropy) % (1 << 64)
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._initial_seed

    def get_state(self):
        """The generator's state as plain data (its bit generator's state)."""
        return self.rng.bit_generator.state

    def set_state(self, state):
        """Continue from what ``get_state`` returned; a malformed state changes nothing."""
        rng = self.device.xp.random.default_rng(0)
        try:
            rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ValueError(f"Generator.set_state: not a state get_state returned "
                             f"({error})") from None
        self.rng = rng
        return self


def generator(device, chosen=None):
    """The random generator to draw from on ``device`` (a Device): ``chosen``'s when a
    Generator is given, else the device's default one, made from the current seed on first
    use."""
    if chosen is not None:
        if not isinstance(chosen, Generator):
            raise TypeError(f"generator must be a tinyseq Generator, got "
                            f"{type(chosen).__name__}")
        if chosen.device.name != device.name:
            raise RuntimeError(f"Expected a '{device.name}' device type for generator but "
                               f"found '{chosen.device.name}'")
        return chosen.rng
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

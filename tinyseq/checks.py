"""Argument checks shared by constructors, optimizers and the CLI: each raises TypeError for a
value of the wrong type and ValueError for one out of range, naming the caller, the argument
and the value."""
import math
import numbers

import numpy


def integer(op, name, value, minimum=0):
    """``value`` as an int >= ``minimum`` (None: any int); bools and floats are refused, as
    PyTorch refuses them."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        wanted = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
        raise ValueError(f"{op}: {name} must be {wanted}, got {value!r}")
    return int(value)


def real(op, name, value, minimum=None, below=None, maximum=None):
    """``value`` as a float in [minimum, below) or [minimum, maximum]; NaN is out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    low_ok = minimum is None or value >= minimum
    high_ok = (below is None or value < below) and (maximum is None or value <= maximum)
    bounded = minimum is not None or below is not None or maximum is not None
    if not (low_ok and high_ok) or (bounded and value != value):
        bounds = [f">= {minimum}" if minimum is not None else None,
                  f"< {below}" if below is not None else None,
                  f"<= {maximum}" if maximum is not None else None]
        raise ValueError(f"{op}: {name} must be {' and '.join(b for b in bounds if b)}, "
                         f"got {value!r}")
    return value


def finite(op, name, value):
    """``value`` as a float that is neither infinite nor NaN."""
    value = real(op, name, value)
    if not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite, got {value!r}")
    return value


def probability(op, name, value):
    """``value`` as a float in [0, 1]."""
    value = real(op, name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{op}: {name} must be in [0, 1], got {value!r}")
    return value


def choice(op, name, value, options):
    if not isinstance(value, str) or value not in options:
        wanted = " or ".join(map(repr, options)) if len(options) == 2 else \
            "one of " + ", ".join(map(repr, options))
        raise ValueError(f"{op}: {name} must be {wanted}, got {value!r}")
    return value


def flag(op, name, value):
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)

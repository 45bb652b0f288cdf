"""Argument checks shared by constructors, optimizers and the CLI: each raises TypeError for a
value of the wrong type and ValueError for one out of range, naming the caller, the argument
and the value."""
import numbers


def integer(op, name, value, minimum=0):
    """``value`` as an int >= ``minimum`` (bools and floats are refused, as PyTorch does)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(value)


def real(op, name, value, minimum=None, below=None, maximum=None):
    """``value`` as a float in [minimum, below) or [minimum, maximum]; NaN is out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    low_ok = minimum is None or value >= minimum
    high_ok = (below is None or value < below) and (maximum is None or value <= maximum)
    if not (low_ok and high_ok) or value != value:
        bounds = [f">= {minimum}" if minimum is not None else None,
                  f"< {below}" if below is not None else None,
                  f"<= {maximum}" if maximum is not None else None]
        raise ValueError(f"{op}: {name} must be {' and '.join(b for b in bounds if b)}, "
                         f"got {value!r}")
    return value


def probability(op, name, value):
    return real(op, name, value, minimum=0.0, maximum=1.0)


def choice(op, name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{op}: {name} must be one of {', '.join(map(repr, options))}, "
                         f"got {value!r}")
    return value


def flag(op, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return value

"""``ts.cuda.is_available()``."""
from . import backend


def is_available():
    """True when CuPy imports and sees a GPU."""
    return backend.cuda_available()

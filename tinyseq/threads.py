"""PyTorch's thread settings and ``torch.compile``, for scripts that call them.

tinyseq's CPU work runs in NumPy, whose only threads are those of its BLAS (the matrix
products). ``set_num_threads(n)`` sets that count when NumPy bundles OpenBLAS (the wheels
from PyPI do), through OpenBLAS's own ``set_num_threads`` call; with another BLAS the count is
kept and reported but has nothing to act on. ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS``
set before the start still work as they always do.
"""
import ctypes
import functools
import os
import pathlib

import numpy

from . import checks

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")
_chosen = None            # the count set_num_threads was last given, where no BLAS takes it


@functools.cache
def _bundled_openblas():
    """The OpenBLAS that NumPy's wheel bundles (already loaded by NumPy), or None."""
    folder = pathlib.Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(folder.glob("lib*openblas*.so*")):
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        if _function(library, _SETTERS) and _function(library, _GETTERS):
            return library
    return None


def _function(library, names):
    for name in names:
        function = getattr(library, name, None)
        if function is not None:
            return function
    return None


def set_num_threads(num):
    """The number of threads the matrix products use, as ``torch.set_num_threads``."""
    global _chosen
    num = checks.integer("set_num_threads", "num", num, minimum=1)
    library = _bundled_openblas()
    if library is None:
        _chosen = num
        return
    setter = _function(library, _SETTERS)
    setter.argtypes = [ctypes.c_int]
    setter(num)


def get_num_threads():
    """The number of threads the matrix products use, as ``torch.get_num_threads``."""
    library = _bundled_openblas()
    if library is None:
        return _chosen or os.cpu_count() or 1
    getter = _function(library, _GETTERS)
    getter.restype = ctypes.c_int
    return int(getter())


def set_num_interop_threads(num):
    """Accepted as ``torch.set_num_interop_threads``: tinyseq runs no ops in parallel with each
    other, so there is no pool to size."""
    checks.integer("set_num_interop_threads", "num", num, minimum=1)


def get_num_interop_threads():
    """1, as ``torch.get_num_interop_threads`` asks: ops run one after another."""
    return 1


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """``model`` (a module or function) as it is, as ``torch.compile`` gives it back
    optimised: tinyseq has no compiler, and the results are the same. Used as a decorator
    with options (``@ts.compile(mode=...)``), it returns the decorator."""
    if model is None:
        return lambda function: function
    if not callable(model):
        raise RuntimeError(f"compile: expected a module or a function, got "
                           f"{type(model).__name__}")
    return model

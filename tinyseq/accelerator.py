"""``ts.accelerator``: the device-neutral view of the GPU, as ``torch.accelerator``."""
from . import backend
from .tensor import device


def is_available():
    """True when an accelerator (a CUDA GPU through CuPy) is usable."""
    return backend.cuda_available()


def current_accelerator(check_available=False):
    """``device("cuda")`` when CuPy sees a GPU, else None (the CPU is no accelerator)."""
    return device("cuda") if backend.cuda_available() else None


def device_count():
    return 1 if backend.cuda_available() else 0

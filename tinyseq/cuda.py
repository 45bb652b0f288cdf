"""``ts.cuda``: ``is_available()`` and the seeding calls of PyTorch's ``torch.cuda``."""
from . import backend, random


def is_available():
    """True when CuPy imports and sees a GPU."""
    return backend.cuda_available()


def manual_seed(seed):
    """Seed the GPU's random numbers alone, as ``torch.cuda.manual_seed``; without a GPU
    nothing happens, as in PyTorch (``ts.manual_seed`` seeds every device)."""
    if is_available():
        random.seed_device("cuda", seed)


manual_seed_all = manual_seed          # one GPU per process here

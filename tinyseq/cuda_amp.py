"""``torch.cuda.amp``'s names, which PyTorch keeps for old scripts: ``GradScaler`` and
``autocast`` of ``tinyseq.amp`` with the GPU as their device."""
import sys

from . import amp, cuda


class GradScaler(amp.GradScaler):
    """``amp.GradScaler("cuda", ...)``: without a GPU, disabled with PyTorch's warning."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


class autocast(amp.autocast):
    """``amp.autocast("cuda", ...)``."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        super().__init__("cuda", dtype, enabled, cache_enabled)


# PyTorch's path to these names, ``torch.cuda.amp``, as an attribute and as a module
cuda.amp = sys.modules[__name__]
sys.modules[cuda.__name__ + ".amp"] = sys.modules[__name__]

"""``ts.backends.cudnn``, as ``torch.backends.cudnn``: the flags that scripts set for
reproducible runs (``torch.backends.cudnn.deterministic = True``). tinyseq's GPU path runs
CuPy's kernels and cuBLAS, not cuDNN, so the flags change nothing; they are here so that such
scripts run unchanged."""


class CudnnFlags:
    """``enabled``, ``deterministic``, ``benchmark`` and ``allow_tf32``, settable and unused;
    ``is_available()`` is False (no cuDNN is used)."""

    def __init__(self):
        self.enabled, self.deterministic = True, False
        self.benchmark, self.allow_tf32 = False, True

    def is_available(self):
        return False

    def version(self):
        """None: no cuDNN is loaded."""
        return None


cudnn = CudnnFlags()

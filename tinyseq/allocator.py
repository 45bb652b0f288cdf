"""Keeping freed memory for the next training step: glibc's malloc tuned at import.

A training step allocates and frees the same large arrays every time (the gate buffers, the
states, their gradients). By default glibc gives the freed memory at the top of its heap back
to the system, and arrays above its mmap threshold get fresh pages each time, so every step
page-faults its buffers in again: about 800 faults in an S-size LSTM step (T 32, B 32, H 64),
a third of its time, and 3,300 at M. At import tinyseq raises the trim threshold to 256 MB and
the mmap threshold to 32 MB (glibc's largest), so a step reuses what the last one freed (no
faults); a process then keeps up to 256 MB of freed memory instead of returning it.
``python benchmarks/step_faults.py`` measures both ways.

Where the user set ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_THRESHOLD_`` (glibc's own
switches), their values stay; where malloc is not glibc's (macOS, musl), nothing changes.
"""
import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # glibc's mallopt parameters (malloc.h)
TRIM_THRESHOLD, MMAP_THRESHOLD = 256 << 20, 32 << 20
USER_SWITCHES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


def keep_freed_memory():
    """Set glibc's thresholds as above; True when they were set."""
    if any(name in os.environ for name in USER_SWITCHES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt       # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


tuned = keep_freed_memory()

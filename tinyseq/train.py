"""Helpers for training loops: truncated BPTT, early stopping, and a progress bar (tqdm).

Truncated backpropagation through time on one long sequence:

    state = None
    for chunk_x, chunk_y in zip(tbptt_chunks(x, 35), tbptt_chunks(y, 35)):
        state = detach_state(state)          # keep the values, forget the graph before
        output, state = model(chunk_x, state)
        loss = loss_fn(output, chunk_y)
        opt.zero_grad(); loss.backward(); opt.step()

Gradients then flow back at most one chunk, while the hidden state still carries
information forward across the whole sequence.
"""
from tqdm import tqdm     # text bars: tqdm.auto warns in a notebook without ipywidgets

from .tensor import Tensor


def detach_state(state):
    """``state`` with every Tensor detached from the graph: a Tensor, None, or a (nested) tuple
    or list of them, such as an LSTM's (h, c)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(part) for part in state)
    raise TypeError(f"detach_state: expected a Tensor, None, or a tuple or list of them, got "
                    f"{type(state).__name__}")


def tbptt_chunks(x, chunk_len, axis=0):
    """Consecutive pieces of ``x`` (a Tensor or array) along ``axis``, each ``chunk_len``
    steps long except possibly the last; together they cover ``x`` exactly once."""
    if not isinstance(chunk_len, int) or chunk_len < 1:
        raise ValueError(f"tbptt_chunks: chunk_len must be a positive int, got {chunk_len}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"tbptt_chunks: axis {axis} is out of range for shape {tuple(x.shape)}")
    axis %= x.ndim
    for start in range(0, x.shape[axis], chunk_len):
        yield x[(slice(None),) * axis + (slice(start, start + chunk_len),)]


class EarlyStopping:
    """Stop training when a validation metric has not improved for ``patience`` steps.

    With mode "min" a value improves when it is below best - min_delta; with mode "max" when
    it is above best + min_delta. ``step(metric)`` returns True once ``patience`` steps in a
    row brought no improvement. ``best`` is the best value seen, ``bad_steps`` the current run
    of steps without improvement.
    """

    def __init__(self, patience, min_delta=0.0, mode="min"):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best = None
        self.bad_steps = 0

    def step(self, metric):
        metric = float(metric)
        if self.best is None or self._improves(metric):
            self.best = metric
            self.bad_steps = 0
        else:
            self.bad_steps += 1
        return self.bad_steps >= self.patience

    def _improves(self, metric):
        if self.mode == "min":
            return metric < self.best - self.min_delta
        return metric > self.best + self.min_delta


def progress(iterable, total=None, desc="", enabled=None):
    """A ``tqdm.auto`` progress bar over ``iterable`` (a widget in notebooks, a line on stderr
    in a terminal):

        for batch in (bar := progress(loader, desc="train")):
            ...
            bar.set_postfix(loss=loss.item())

    ``enabled=None`` draws it only when stderr is a terminal (or in a notebook), so logs and
    captured output stay clean; True or False forces it on or off."""
    return tqdm(iterable, total=total, desc=desc or None,
                disable=None if enabled is None else not enabled)

"""Helpers for training loops: truncated BPTT, early stopping, and a progress bar.

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
import numbers
import sys
import time

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


class Progress:
    """Iterate over ``iterable`` while drawing a one-line progress bar on stderr:

        train:  42%|########            | 42/100 [12.3 it/s] loss=0.693

    Off when ``enabled`` is False; ``enabled=None`` turns it on only when stderr is a terminal,
    so logs and captured output stay clean. ``set_postfix(loss=...)`` adds values to the line.
    """

    BAR_WIDTH = 20
    REDRAW_SECONDS = 0.1

    def __init__(self, iterable, total=None, desc="", enabled=None):
        self.iterable = iterable
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.desc = total, desc
        self.stream = sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.count = 0
        self.closed = False
        self.line_width = 0
        self.postfix = {}
        self.start_time = self.last_draw = time.perf_counter()

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.count += 1
                if time.perf_counter() - self.last_draw >= self.REDRAW_SECONDS:
                    self._draw()
        finally:
            self.close()

    def set_postfix(self, **metrics):
        self.postfix.update(metrics)

    def close(self):
        """Draw the final state and end the line."""
        if self.enabled and not self.closed:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self.closed = True

    def _draw(self):
        self.last_draw = time.perf_counter()
        if not self.enabled or self.closed:
            return
        rate = self.count / max(self.last_draw - self.start_time, 1e-9)
        line = f"{self.desc}: " if self.desc else ""
        if self.total:
            filled = int(self.BAR_WIDTH * min(self.count / self.total, 1.0))
            line += f"{100 * self.count // self.total:3d}%|{'#' * filled:<{self.BAR_WIDTH}}| " \
                    f"{self.count}/{self.total}"
        else:
            line += f"{self.count}"
        line += f" [{rate:.1f} it/s]"
        for name, value in self.postfix.items():
            if isinstance(value, Tensor):
                value = value.item()
            if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
                line += f" {name}={value:.4g}"
            else:
                line += f" {name}={value}"
        self.stream.write("\r" + line.ljust(self.line_width))
        self.line_width = len(line)
        self.stream.flush()


def progress(iterable, total=None, desc="", enabled=None):
    """``for batch in (bar := progress(loader, desc="train")): ... bar.set_postfix(loss=l)``"""
    return Progress(iterable, total, desc, enabled)

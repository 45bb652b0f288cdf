"""Training checkpoints: model, optimizer, epoch/step, random state and extras in one file.

Guarantees:

* One call, one file, written with ``ts.save``: a temporary file in the same folder is written,
  fsynced and renamed over ``path``. A process killed at any moment (even SIGKILL) leaves at
  ``path`` either the previous complete checkpoint or the new complete one, never a mix or a
  partial file. A killed writer leaves its ``.<name>.tmp-<pid>-*`` file; the next save of the
  same path deletes it, so a crash loop leaves at most one.
* No pickle: the file is a safetensors file (tensors plus JSON metadata); loading never
  executes code from the file.
* All or nothing: ``load_checkpoint`` loads the model's, the optimizer's and the random state,
  each checked in full before it changes; when one of them does not fit, those loaded before
  it get their previous state back, so after an error the model, the optimizer and the random
  generators are exactly as they were.
* Exact resume: the random state of every device generator (randn, parameter init, dropout
  masks, ``DataLoader`` shuffling) is saved, so that ``load_checkpoint`` followed by the same
  training code gives, on the CPU, bit for bit the losses and parameters of a run that was
  never interrupted. (``DataLoader`` draws its order when an epoch starts: checkpoint at epoch
  boundaries, or also save how far into the epoch you were.)
"""
from . import random
from .nn.module import Module
from .optim.optimizer import Optimizer
from .serialization import load, save
from .tensor import Tensor

KIND = "tinyseq-training-checkpoint"
VERSION = 1
_KEYS = ("kind", "version", "model", "optimizer", "epoch", "step", "random", "extra")


def save_checkpoint(path, model, optimizer=None, epoch=None, step=None, **extra):
    """Atomically write ``model``'s and ``optimizer``'s state, ``epoch``, ``step``, the random
    state and ``extra`` (nested dicts/lists of tensors, arrays, numbers, strings) to ``path``."""
    save({"kind": KIND, "version": VERSION,
          "model": model.state_dict(),
          "optimizer": None if optimizer is None else optimizer.state_dict(),
          "epoch": epoch, "step": step,
          "random": random.get_state(),
          "extra": extra}, path)


def load_checkpoint(path, model, optimizer=None):
    """Restore what ``save_checkpoint`` wrote into ``model`` (and ``optimizer``, if given) and
    the random state; return ``{"epoch": ..., "step": ..., "extra": {...}}``.

    Raises ValueError if ``path`` is not a tinyseq file, is corrupt or truncated, or is a
    ``ts.save`` file that is not a training checkpoint; and if the model or optimizer does not
    match the saved state. Then nothing has changed."""
    if not isinstance(model, Module):
        raise TypeError(f"load_checkpoint: model must be a Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"load_checkpoint: optimizer must be an Optimizer or None, got "
                        f"{type(optimizer).__name__}")
    state = load(path)
    where = f"load_checkpoint: {str(path)!r}"
    if not isinstance(state, dict) or state.get("kind") != KIND or \
            any(key not in state for key in _KEYS):
        raise ValueError(f"{where} is a tinyseq file but not a training checkpoint written by "
                         f"save_checkpoint")
    if state["version"] != VERSION:
        raise ValueError(f"{where} has checkpoint version {state['version']!r}, this tinyseq "
                         f"reads version {VERSION}")
    if optimizer is not None and state["optimizer"] is None:
        raise ValueError(f"{where} holds no optimizer state")
    if not isinstance(state["model"], dict):
        raise ValueError(f"{where}: the model state is not a dict")
    # Each load below checks all of its part before changing it; when a later part fails,
    # the parts loaded before it get their previous state back.
    model_before = {name: Tensor.from_array(t.array.copy(), False)
                    for name, t in model.state_dict().items()}     # buffers too
    optimizer_before = None if optimizer is None else optimizer.state_dict()
    random_before = random.get_state()
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        random.set_state(state["random"])
    except (ValueError, TypeError) as error:
        model.load_state_dict(model_before)
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_before)
        random.set_state(random_before)
        raise ValueError(f"{where} does not fit: {error}") from None
    return {"epoch": state["epoch"], "step": state["step"], "extra": state["extra"]}

"""Training checkpoints: model, optimizer, epoch/step, random state and extras in one file.

Guarantees:

* One call, one file, written with ``ts.save``: a temporary file in the same folder is written,
  fsynced and renamed over ``path``. A process killed at any moment (even SIGKILL) leaves at
  ``path`` either the previous complete checkpoint or the new complete one, never a mix or a
  partial file. A killed writer can leave a stray ``.tmp-*`` file next to ``path``; it is
  never read and can be deleted.
* No pickle: the file is an .npz archive of plain arrays plus a JSON header, read with
  ``allow_pickle=False``; loading never executes code from the file.
* Exact resume: the random state of every device generator (randn, parameter init, dropout
  masks, ``DataLoader`` shuffling) is saved, so that ``load_checkpoint`` followed by the same
  training code gives, on the CPU, bit for bit the losses and parameters of a run that was
  never interrupted. (``DataLoader`` draws its order when an epoch starts: checkpoint at epoch
  boundaries, or also save how far into the epoch you were.)
"""
from . import random
from .serialization import load, save

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
    match the saved state."""
    state = load(path)
    if not isinstance(state, dict) or state.get("kind") != KIND or \
            any(key not in state for key in _KEYS):
        raise ValueError(f"load_checkpoint: {str(path)!r} is a tinyseq file but not a training "
                         f"checkpoint written by save_checkpoint")
    if state["version"] != VERSION:
        raise ValueError(f"load_checkpoint: {str(path)!r} has checkpoint version "
                         f"{state['version']}, this tinyseq reads version {VERSION}")
    if optimizer is not None and state["optimizer"] is None:
        raise ValueError(f"load_checkpoint: {str(path)!r} holds no optimizer state")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    random.set_state(state["random"])
    return {"epoch": state["epoch"], "step": state["step"], "extra": state["extra"]}

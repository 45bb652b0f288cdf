"""Small trained weights that ship with tinyseq, so the notebooks show working models at once.

Each file is a safetensors checkpoint written by ``ts.save`` (float16, read back through
``ts.load``, which never executes code) holding ``config`` (the settings the model was built
and trained with) and the state dicts. ``scripts/make_pretrained.py`` trains them again from
their seeds with the examples' defaults:

    dates       examples/seq2seq_dates.py   Seq2Seq with attention, "march 3, 1994" -> "1994-03-03"
    captioning  examples/captioning.py      CNN -> LSTM captioner of datasets.Shapes images
    bottleneck  examples/bottleneck.py      the copy task's Seq2Seq without and with attention
"""
import os

from ..serialization import load as _load

NAMES = ("dates", "captioning", "bottleneck")


def path(name):
    """The file of the shipped weights ``name`` (one of ``NAMES``)."""
    if name not in NAMES:
        raise ValueError(f"pretrained: unknown weights {name!r}; shipped are {', '.join(NAMES)}")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.safetensors")


def load(name):
    """The shipped checkpoint ``name`` as a dict: ``config`` and state dicts for
    ``Module.load_state_dict`` (which casts the float16 values to the model's dtype)."""
    return _load(path(name))

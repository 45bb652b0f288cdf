"""``tinyseq.utils.data``: the path PyTorch scripts import datasets and loaders from."""
from . import data

"""``torch.utils.data``'s names: tinyseq.data's datasets and loader, and random_split."""
import numpy

from .. import backend, random
from ..data import (DataLoader, Dataset, RandomSampler, SequentialSampler, TensorDataset,
                    default_collate)

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def random_split(dataset, lengths):
    """Non-overlapping Subsets of the given lengths (or fractions that add up to 1), in an order
    drawn from the seeded CPU generator."""
    total = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(n, float) for n in lengths) and abs(sum(lengths) - 1) < 1e-9:
        counts = [int(numpy.floor(total * f)) for f in lengths]
        for i in range(total - sum(counts)):          # the remainder, one each, round robin
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(n, int) or n < 0 for n in lengths) or sum(lengths) != total:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative ints adding up "
                         f"to the dataset's length {total} (or fractions adding up to 1)")
    order = random.generator(backend.get_device("cpu")).permutation(total)
    subsets, start = [], 0
    for n in lengths:
        subsets.append(Subset(dataset, [int(i) for i in order[start:start + n]]))
        start += n
    return subsets

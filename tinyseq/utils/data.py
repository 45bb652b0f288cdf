"""``torch.utils.data``'s names: tinyseq.data's datasets and loader, random_split and
DistributedSampler."""
import math

import numpy

from .. import backend, checks, random
from ..data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                    RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                    TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                    get_worker_info)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
           "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
           "default_convert", "get_worker_info", "random_split"]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def random_split(dataset, lengths, generator=None):
    """Non-overlapping Subsets of the given lengths (or fractions that add up to 1), in an order
    drawn from the seeded CPU generator (or ``generator``)."""
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
    order = random.generator(backend.get_device("cpu"), generator).permutation(total)
    subsets, start = [], 0
    for n in lengths:
        subsets.append(Subset(dataset, [int(i) for i in order[start:start + n]]))
        start += n
    return subsets


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` works on, one equal
    share per rank (``torch.utils.data.DistributedSampler``; pass it as a DataLoader's
    ``sampler``). ``num_replicas`` and ``rank`` default to the default process group's.

    With ``shuffle`` the order is a permutation drawn from ``seed + epoch`` (the same on every
    rank; call ``set_epoch`` at the start of each epoch for a new one). The order is padded by
    repeating its start until it divides evenly, or with ``drop_last`` cut to the largest
    multiple of ``num_replicas``; rank r then takes every num_replicas-th index from r."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed
            if not distributed.is_initialized():
                raise ValueError("DistributedSampler: no process group; call "
                                   "tinyseq.distributed.init_process_group() or pass "
                                   "num_replicas and rank")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        name = "DistributedSampler"
        num_replicas = checks.integer(name, "num_replicas", num_replicas, minimum=1)
        rank = checks.integer(name, "rank", rank, minimum=None)
        shuffle = checks.flag(name, "shuffle", shuffle)
        seed = checks.integer(name, "seed", seed, minimum=None)
        drop_last = checks.flag(name, "drop_last", drop_last)
        if not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = numpy.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - n
            indices += (indices * math.ceil(padding / n))[:padding] if n else []
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Draw the next shuffle from ``seed + epoch``."""
        self.epoch = checks.integer("DistributedSampler.set_epoch", "epoch", epoch, minimum=None)

"""Datasets and batching, as ``torch.utils.data``."""
import numpy

from . import backend, random
from .tensor import Tensor


class Dataset:
    """Subclass with ``__len__`` and ``__getitem__(index)``."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Rows of equally long tensors or arrays: item i is (t[i] for t in tensors)."""

    def __init__(self, *tensors):
        lengths = {len(t) for t in tensors}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: tensors have different lengths "
                             f"{[len(t) for t in tensors]}")
        self.tensors = tensors

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)


def default_collate(items):
    """Stack a list of samples along a new first axis: tensors, arrays and numbers become one
    tensor; tuples, lists and dicts are collated field by field."""
    first = items[0]
    if isinstance(first, Tensor):
        device = backend.device_of(first.array)
        return Tensor.from_array(device.xp.stack([t.array for t in items]), False)
    if backend.is_array(first):
        return Tensor.from_array(backend.device_of(first).xp.stack(items), False)
    if isinstance(first, (int, float, bool, numpy.number, numpy.bool_)):
        from .creation import tensor
        return tensor(items)
    if isinstance(first, dict):
        return {key: default_collate([item[key] for item in items]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(item) != len(first) for item in items):
            raise ValueError("default_collate: samples have different numbers of fields")
        return type(first)(default_collate(list(field)) for field in zip(*items)) \
            if isinstance(first, tuple) else [default_collate(list(f)) for f in zip(*items)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


class DataLoader:
    """Iterates over a dataset in batches; ``shuffle`` draws a new order every epoch from the
    seeded CPU generator; a ``sampler`` (an iterable of indices with a length, such as
    DistributedSampler) gives the order instead."""

    def __init__(self, dataset, batch_size=1, shuffle=False, collate_fn=None, drop_last=False,
                 sampler=None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.collate_fn = collate_fn or default_collate
        self.drop_last = drop_last

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.sampler is not None:
            order = list(self.sampler)
            n = len(order)
        elif self.shuffle:
            order = random.generator(backend.get_device("cpu")).permutation(n)
        else:
            order = range(n)
        for start in range(0, n, self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn([self.dataset[int(i)] for i in batch])


class SequentialSampler:
    """The indices 0, 1, ..., len(data_source) - 1, in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler:
    """The indices of ``data_source`` in a new random order each pass, drawn from the seeded
    CPU generator (``replacement=True``: ``num_samples`` draws with replacement)."""

    def __init__(self, data_source, replacement=False, num_samples=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        generator = random.generator(backend.get_device("cpu"))
        if self.replacement:
            return iter(int(i) for i in generator.integers(0, n, self.num_samples))
        return iter(int(i) for i in generator.permutation(n)[:self.num_samples])

    def __len__(self):
        return self.num_samples

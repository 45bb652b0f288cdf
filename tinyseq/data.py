"""Datasets and batching, as ``torch.utils.data``."""
import bisect
import itertools

import numpy

from . import backend, random
from .tensor import Tensor


class Dataset:
    """Subclass with ``__len__`` and ``__getitem__(index)``; ``a + b`` is their
    ConcatDataset."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: subclass with ``__iter__``; a DataLoader batches what it
    yields in its order."""

    def __iter__(self):
        raise NotImplementedError


class ConcatDataset(Dataset):
    """The items of ``datasets`` one after another; ``cumulative_sizes[k]`` is the number of
    items in the first k + 1."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


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


def default_convert(sample):
    """A sample as a DataLoader without batching gives it: NumPy arrays and scalars as
    tensors, inside tuples, lists and dicts too; anything else as it is."""
    if isinstance(sample, (numpy.ndarray, numpy.number, numpy.bool_)):
        return Tensor.from_array(numpy.asarray(sample), False)
    if isinstance(sample, dict):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple):
        return tuple(default_convert(value) for value in sample)
    if isinstance(sample, list):
        return [default_convert(value) for value in sample]
    return sample


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
    """Iterates over a dataset in batches, with PyTorch's arguments: the indices come from
    ``sampler`` (by default SequentialSampler, or with ``shuffle`` a RandomSampler whose order
    is drawn anew every epoch from the seeded CPU generator, or from ``generator``), grouped by
    ``batch_sampler`` (by default a BatchSampler of ``batch_size`` and ``drop_last``), and each
    group's samples are merged by ``collate_fn``. ``batch_size=None`` turns batching off: each
    sample comes as it is, its arrays as tensors. An IterableDataset is read in its own order.

    The batches are loaded in this process whatever ``num_workers`` says: they are the same
    batches, in the same order, as worker processes would give (``get_worker_info()`` is
    None); ``pin_memory``, ``timeout``, ``prefetch_factor`` and ``persistent_workers`` have
    nothing to act on and are checked only as PyTorch checks them."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use "
                             "num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing; let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is None and not iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None:
            # an IterableDataset's samples are grouped as a sampler's indices are
            batch_sampler = BatchSampler(dataset if iterable else sampler, batch_size, drop_last)
        batching = batch_size is not None or batch_sampler is not None
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn or (default_collate if batching else default_convert)
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.generator = generator
        self.persistent_workers = persistent_workers

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.dataset if self.sampler is None else self.sampler)

    def __iter__(self):
        iterable = isinstance(self.dataset, IterableDataset)
        if self.batch_sampler is None:
            samples = self.dataset if iterable else (self.dataset[i] for i in self.sampler)
            for sample in samples:
                yield self.collate_fn(sample)
        elif iterable:
            for samples in self.batch_sampler:
                yield self.collate_fn(samples)
        else:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[int(i)] for i in indices])


def get_worker_info():
    """None: tinyseq's DataLoader loads every batch in the process that iterates it."""
    return None


class Sampler:
    """The base of samplers: an iterable of dataset indices, with ``__len__`` where known."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``, the last one shorter unless
    ``drop_last``."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class SequentialSampler(Sampler):
    """The indices 0, 1, ..., len(data_source) - 1, in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices of ``data_source`` in a new random order each pass, drawn from the seeded
    CPU generator or ``generator`` (``replacement=True``: ``num_samples`` draws with
    replacement)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self.generator = generator
        self._num_samples = num_samples
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = random.generator(backend.get_device("cpu"), self.generator)
        if self.replacement:
            return iter(int(i) for i in rng.integers(0, n, self.num_samples))
        return iter(int(i) for i in rng.permutation(n)[:self.num_samples])

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The ``indices`` in a new random order each pass, drawn from the seeded CPU generator
    (or ``generator``)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        rng = random.generator(backend.get_device("cpu"), self.generator)
        order = rng.permutation(len(self.indices))
        return iter([self.indices[int(i)] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with
    replacement unless ``replacement=False``), from the seeded CPU generator (or
    ``generator``)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer "
                             f"value, but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        array = weights.numpy() if isinstance(weights, Tensor) else numpy.asarray(weights)
        array = array.astype(numpy.float64)
        if array.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given "
                             f"weights have shape {array.shape}")
        if (array < 0).any() or not numpy.isfinite(array).all() or array.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        if not replacement and num_samples > numpy.count_nonzero(array):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without "
                             f"replacement from {numpy.count_nonzero(array)} nonzero weights")
        self.weights = array
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = random.generator(backend.get_device("cpu"), self.generator)
        drawn = rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(int(i) for i in drawn)

    def __len__(self):
        return self.num_samples

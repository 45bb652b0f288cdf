"""torch.utils.data's loader arguments and its other datasets and samplers: the same batches as
PyTorch's where no random draw is involved, and PyTorch's checks."""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq.utils import data

try:
    import torch
    import torch.utils.data as torch_data
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")


class Squares(data.Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, index):
        return np.array([index, index * index], dtype=np.float32), index


def stream(base):
    class Counting(base):
        """0, 1, ..., 9 as a stream, with a length."""
        def __iter__(self):
            return iter(np.arange(10.0, dtype=np.float32).reshape(10, 1))

        def __len__(self):
            return 10
    return Counting


def as_lists(batches):
    """Batches as nested lists of numbers, whichever library made them."""
    def plain(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value
    return [plain(b) for b in batches]


def test_arguments_in_pytorchs_order_and_workers_give_the_same_batches():
    plain = list(data.DataLoader(Squares(), 3))
    positional = list(data.DataLoader(Squares(), 3, False, None, None, 2, None, True, True))
    assert len(plain) == 3 and len(positional) == 2       # drop_last, the 9th argument
    assert as_lists(positional) == as_lists(plain[:2])
    assert as_lists(plain)[2] == [[[6.0, 36.0]], [6]]
    loader = data.DataLoader(Squares(), batch_size=3, num_workers=4, pin_memory=True,
                             timeout=5, prefetch_factor=2, persistent_workers=True)
    assert as_lists(loader) == as_lists(plain)
    assert isinstance(loader.sampler, data.SequentialSampler)
    assert isinstance(loader.batch_sampler, data.BatchSampler) and len(loader) == 3
    assert data.get_worker_info() is None


def test_shuffle_draws_a_new_order_each_epoch_from_the_seeded_generator():
    loader = data.DataLoader(Squares(), batch_size=7, shuffle=True)
    assert isinstance(loader.sampler, data.RandomSampler)
    ts.manual_seed(5)
    first, second = [next(iter(loader))[1].tolist() for _ in range(2)]
    ts.manual_seed(5)
    assert next(iter(loader))[1].tolist() == first
    assert sorted(first) == sorted(second) == list(range(7)) and first != second


@needs_torch
def test_the_same_batches_as_torch():
    cases = [dict(batch_size=None), dict(batch_size=2, drop_last=True),
             dict(batch_sampler=[[0, 3], [6, 1, 2]]), dict(batch_size=4, num_workers=0),
             dict(sampler=[6, 5, 4], batch_size=2)]
    for options in cases:
        ours = as_lists(data.DataLoader(Squares(), **options))
        theirs = as_lists(torch_data.DataLoader(Squares(), **options))
        assert ours == theirs, options
    for options in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)]:
        ours_loader = data.DataLoader(stream(data.IterableDataset)(), **options)
        theirs_loader = torch_data.DataLoader(stream(torch_data.IterableDataset)(), **options)
        assert as_lists(ours_loader) == as_lists(theirs_loader), options
        assert len(ours_loader) == len(theirs_loader)
    unbatched = next(iter(data.DataLoader(Squares(), batch_size=None)))
    assert isinstance(unbatched[0], ts.Tensor) and unbatched[1] == 0


@needs_torch
def test_concat_dataset_as_torchs():
    parts = [list(range(3)), list(range(10, 15)), list(range(20, 22))]
    ours, theirs = data.ConcatDataset(parts), torch_data.ConcatDataset(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes == [3, 8, 10]
    assert [ours[i] for i in range(-10, 10)] == [theirs[i] for i in range(-10, 10)]
    joined = Squares() + Squares()
    assert isinstance(joined, data.ConcatDataset) and len(joined) == 14
    assert joined[9][1] == 2
    with pytest.raises(ValueError, match="should not exceed"):
        ours[-11]
    with pytest.raises(ValueError, match="empty"):
        data.ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        data.ConcatDataset([stream(data.IterableDataset)()])


def test_samplers():
    ts.manual_seed(0)
    subset = data.SubsetRandomSampler([10, 20, 30, 40])
    drawn = list(subset)
    assert sorted(drawn) == [10, 20, 30, 40] and len(subset) == 4
    weighted = data.WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000)
    counts = np.bincount(list(weighted), minlength=3)
    assert counts[0] == 0 and len(weighted) == 4000
    assert abs(counts[2] / counts[1] - 3.0) < 0.4
    distinct = list(data.WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(distinct) == [0, 1, 2]
    batches = list(data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(data.BatchSampler(range(7), 3, drop_last=True)) == 2
    with pytest.raises(ValueError, match="cannot draw 4 samples without replacement"):
        data.WeightedRandomSampler([1.0, 1.0, 1.0], 4, replacement=False)
    with pytest.raises(ValueError, match="1d sequence"):
        data.WeightedRandomSampler([[1.0, 2.0]], 1)


@pytest.mark.parametrize("options, message", [
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiproc"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_size=0), "batch_size should be a positive integer value"),
    (dict(timeout=-1), "timeout option should be non-negative")])
def test_pytorchs_checks(options, message):
    with pytest.raises(ValueError, match=message):
        data.DataLoader(Squares(), **options)
    if torch is not None:                                  # PyTorch refuses the same options
        with pytest.raises(ValueError):
            torch_data.DataLoader(Squares(), **options)


def test_an_iterable_dataset_refuses_shuffle_and_samplers():
    for options in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected "
                                             "unspecified"):
            data.DataLoader(stream(data.IterableDataset)(), **options)

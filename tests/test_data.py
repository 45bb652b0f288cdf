"""tinyseq.data: Dataset, TensorDataset, DataLoader and its default collate."""
import numpy
import pytest

import tinyseq as ts
from tinyseq.data import DataLoader, Dataset, TensorDataset


class Squares(Dataset):
    """Item i is (tensor [i, i^2], array [i] * 3, i as int, float(i) / 2)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (ts.tensor([float(i), float(i * i)]), numpy.full(3, i, dtype=numpy.int64), i,
                i / 2)


class Records(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": numpy.array([i, -i], dtype=numpy.float64), "label": i % 2,
                "meta": {"id": i}}


def test_default_collate_stacks_tuple_fields():
    batches = list(DataLoader(Squares(5), batch_size=2))
    assert len(batches) == 3
    x, arr, label, half = batches[0]
    assert type(batches[0]) is tuple
    for t in (x, arr, label, half):
        assert isinstance(t, ts.Tensor)
    assert x.shape == (2, 2) and x.dtype == numpy.float32
    numpy.testing.assert_array_equal(x.numpy(), [[0, 0], [1, 1]])
    assert arr.shape == (2, 3) and arr.dtype == numpy.int64
    numpy.testing.assert_array_equal(arr.numpy(), [[0, 0, 0], [1, 1, 1]])
    assert label.shape == (2,) and label.dtype.kind == "i"
    numpy.testing.assert_array_equal(label.numpy(), [0, 1])
    assert half.dtype.kind == "f"
    numpy.testing.assert_array_equal(half.numpy(), [0.0, 0.5])
    last_x = batches[2][0]
    assert last_x.shape == (1, 2)
    numpy.testing.assert_array_equal(last_x.numpy(), [[4, 16]])


def test_default_collate_dicts():
    batch = next(iter(DataLoader(Records(), batch_size=3)))
    assert set(batch) == {"x", "label", "meta"}
    assert batch["x"].shape == (3, 2) and batch["x"].dtype == numpy.float64
    numpy.testing.assert_array_equal(batch["x"].numpy(), [[0, 0], [1, -1], [2, -2]])
    numpy.testing.assert_array_equal(batch["label"].numpy(), [0, 1, 0])
    numpy.testing.assert_array_equal(batch["meta"]["id"].numpy(), [0, 1, 2])


def test_default_collate_lists_and_plain_numbers():
    class Pairs(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return [i, 10 * i]

    batch = next(iter(DataLoader(Pairs(), batch_size=4)))
    assert type(batch) is list and len(batch) == 2
    numpy.testing.assert_array_equal(batch[1].numpy(), [0, 10, 20, 30])

    numbers = next(iter(DataLoader([1.5, 2.5, 3.5], batch_size=3)))
    assert isinstance(numbers, ts.Tensor)
    numpy.testing.assert_array_equal(numbers.numpy(), [1.5, 2.5, 3.5])


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
    (0, 4, False, []),
    (7, 1, False, [1] * 7),
])
def test_batch_sizes_drop_last_and_len(n, batch_size, drop_last, sizes):
    loader = DataLoader(TensorDataset(numpy.arange(n)), batch_size=batch_size,
                        drop_last=drop_last)
    assert len(loader) == len(sizes)
    batches = [b[0] for b in loader]
    assert [len(b) for b in batches] == sizes
    seen = numpy.concatenate([b.numpy() for b in batches]) if batches else numpy.array([])
    numpy.testing.assert_array_equal(seen, numpy.arange(sum(sizes)))  # in order, no shuffle


def _epoch_orders(loader, epochs):
    return [numpy.concatenate([b[0].numpy() for b in loader]).tolist() for _ in range(epochs)]


def test_shuffle_covers_every_index_once_and_is_reproducible():
    data = TensorDataset(numpy.arange(23))
    loader = DataLoader(data, batch_size=4, shuffle=True)
    ts.manual_seed(11)
    first = _epoch_orders(loader, 3)
    for order in first:
        assert sorted(order) == list(range(23))
    assert first[0] != list(range(23))
    assert first[0] != first[1]  # a new order every epoch
    ts.manual_seed(11)
    assert _epoch_orders(loader, 3) == first
    ts.manual_seed(12)
    assert _epoch_orders(loader, 1)[0] != first[0]


def test_shuffle_with_drop_last_draws_full_batches_only():
    loader = DataLoader(TensorDataset(numpy.arange(10)), batch_size=4, shuffle=True,
                        drop_last=True)
    ts.manual_seed(0)
    batches = [b[0].numpy() for b in loader]
    assert [len(b) for b in batches] == [4, 4]
    assert len(set(numpy.concatenate(batches).tolist())) == 8


def test_custom_collate_fn_gets_the_list_of_samples():
    calls = []

    def collate(samples):
        calls.append(samples)
        return sum(s[2] for s in samples)

    loader = DataLoader(Squares(7), batch_size=3, collate_fn=collate)
    assert list(loader) == [0 + 1 + 2, 3 + 4 + 5, 6]
    assert [len(c) for c in calls] == [3, 3, 1]
    assert isinstance(calls[0], list) and isinstance(calls[0][0], tuple)


def test_tensor_dataset_rows():
    x = ts.tensor(numpy.arange(12.0).reshape(4, 3))
    y = numpy.array([3, 1, 4, 1])
    data = TensorDataset(x, y)
    assert len(data) == 4
    row, label = data[2]
    numpy.testing.assert_array_equal(row.numpy(), [6.0, 7.0, 8.0])
    assert label == 4
    xb, yb = next(iter(DataLoader(data, batch_size=4)))
    numpy.testing.assert_array_equal(xb.numpy(), x.numpy())
    numpy.testing.assert_array_equal(yb.numpy(), y)


def test_tensor_dataset_rejects_different_lengths():
    with pytest.raises(ValueError):
        TensorDataset(numpy.zeros(3), numpy.zeros(4))


def test_batches_carry_no_graph():
    x = ts.tensor(numpy.ones((4, 2)), requires_grad=True)
    batch = next(iter(DataLoader(TensorDataset(x), batch_size=2)))[0]
    assert not batch.requires_grad


@pytest.mark.parametrize("batch_size", [0, -1])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError):
        DataLoader(TensorDataset(numpy.zeros(3)), batch_size=batch_size)

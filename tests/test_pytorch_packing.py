"""nn.utils.rnn (pad_sequence, pack_padded_sequence, pad_packed_sequence), recurrent layers on
PackedSequences, and the tinyseq.utils.data path, against PyTorch."""
import numpy as np
import pytest

import tinyseq as ts
from gradcheck import assert_close
from tinyseq import nn
from tinyseq.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pad_packed_sequence,
                                  pad_sequence)
from tinyseq.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

LENGTHS = [2, 5, 3, 5]


def sequences(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 3)) for n in LENGTHS]


def test_pad_sequence_as_pytorch_with_gradients():
    arrays = sequences()
    ours = [ts.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for batch_first in (False, True):
        got = pad_sequence(ours, batch_first=batch_first, padding_value=-1.0)
        want = trnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-1.0)
        assert_close(got, want.detach().numpy())
    weight = np.random.default_rng(1).standard_normal(want.shape)
    (got * ts.tensor(weight)).sum().backward()
    (want * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_and_pad_round_trip_as_pytorch(batch_first, enforce_sorted):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    arrays = [np.random.default_rng(n).standard_normal((n, 3)) for n in lengths]
    padded = trnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first=batch_first)
    want = trnn.pack_padded_sequence(padded, lengths, batch_first=batch_first,
                                     enforce_sorted=enforce_sorted)
    got = pack_padded_sequence(ts.tensor(padded.numpy()), ts.tensor(lengths),
                               batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(got, PackedSequence)
    assert_close(got.data, want.data.numpy())
    assert got.batch_sizes.numpy().tolist() == want.batch_sizes.tolist()
    for ours, theirs in [(got.sorted_indices, want.sorted_indices),
                         (got.unsorted_indices, want.unsorted_indices)]:
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.numpy().tolist() == theirs.tolist()
    unpacked, got_lengths = pad_packed_sequence(got, batch_first=batch_first, total_length=6)
    theirs, want_lengths = trnn.pad_packed_sequence(want, batch_first=batch_first, total_length=6)
    assert_close(unpacked, theirs.numpy())
    assert got_lengths.numpy().tolist() == want_lengths.tolist()


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layers_run_packed_sequences_as_pytorch(mode, batch_first):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True,
                                     batch_first=batch_first).double()
    ours = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    arrays = sequences(2)
    x_ours = [ts.tensor(a, requires_grad=True) for a in arrays]
    x_theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    packed_ours = pack_padded_sequence(pad_sequence(x_ours, batch_first), LENGTHS, batch_first,
                                       enforce_sorted=False)
    packed_theirs = trnn.pack_padded_sequence(trnn.pad_sequence(x_theirs, batch_first), LENGTHS,
                                              batch_first, enforce_sorted=False)
    out_ours, state_ours = ours(packed_ours)
    out_theirs, state_theirs = theirs(packed_theirs)
    assert isinstance(out_ours, PackedSequence)
    assert_close(out_ours.data, out_theirs.data.detach().numpy(), atol=1e-10)
    h_ours, h_theirs = (state_ours[0], state_theirs[0]) if mode == "LSTM" else \
        (state_ours, state_theirs)
    assert_close(h_ours, h_theirs.detach().numpy(), atol=1e-10)     # original batch order
    padded_ours, _ = pad_packed_sequence(out_ours, batch_first)
    padded_theirs, _ = trnn.pad_packed_sequence(out_theirs, batch_first)
    (padded_ours.sum() + (h_ours * h_ours).sum()).backward()
    (padded_theirs.sum() + (h_theirs * h_theirs).sum()).backward()
    for a, b in zip(x_ours, x_theirs):
        assert_close(a.grad, b.grad.numpy(), atol=1e-10)
    for name, p in ours.named_parameters():
        assert_close(p.grad, dict(theirs.named_parameters())[name].grad.numpy(), atol=1e-10)


def test_packing_errors():
    padded = ts.zeros(5, 4, 3)
    with pytest.raises(ValueError, match="must be sorted in decreasing order"):
        pack_padded_sequence(padded, LENGTHS)
    with pytest.raises(ValueError, match="got 2 lengths for a batch of 4"):
        pack_padded_sequence(padded, [2, 1])
    with pytest.raises(ValueError, match="every length must be positive"):
        pack_padded_sequence(padded, [5, 3, 2, 0])
    with pytest.raises(ValueError, match="exceed the 5 time steps"):
        pack_padded_sequence(padded, [6, 3, 2, 1])
    with pytest.raises(TypeError, match="lengths must be integers"):
        pack_padded_sequence(padded, [5.0, 3.0, 2.0, 1.0])
    with pytest.raises(TypeError, match="expected a PackedSequence"):
        pad_packed_sequence(padded)
    with pytest.raises(ValueError, match="total_length 2 is shorter"):
        pad_packed_sequence(pack_padded_sequence(padded, [5, 3, 2, 1]), total_length=2)
    with pytest.raises(ValueError, match="sequences differ after their first dim"):
        pad_sequence([ts.zeros(2, 3), ts.zeros(2, 4)])


def test_utils_data_path_and_random_split():
    class Squares(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return ts.tensor([float(i * i)])

    ts.manual_seed(0)
    train, valid = random_split(Squares(), [7, 3])
    assert isinstance(train, Subset) and len(train) == 7 and len(valid) == 3
    items = sorted(int(train[i].item()) for i in range(7)) + \
        sorted(int(valid[i].item()) for i in range(3))
    assert sorted(items) == [i * i for i in range(10)]
    assert [len(s) for s in random_split(Squares(), [0.5, 0.3, 0.2])] == [5, 3, 2]
    with pytest.raises(ValueError, match="random_split: lengths"):
        random_split(Squares(), [5, 4])
    loader = DataLoader(TensorDataset(ts.arange(6), ts.arange(6) * 2), batch_size=4)
    batches = list(loader)
    assert [b[0].numpy().tolist() for b in batches] == [[0, 1, 2, 3], [4, 5]]
    ts.manual_seed(0)
    first = [i for s in random_split(Squares(), [7, 3]) for i in s.indices]
    ts.manual_seed(0)
    assert first == [i for s in random_split(Squares(), [7, 3]) for i in s.indices]

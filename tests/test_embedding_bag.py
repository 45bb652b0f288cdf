"""F.embedding_bag and nn.EmbeddingBag as PyTorch's (the text-classification tutorial's layer):
bags by offsets or rows, sum/mean/max, padding_idx, per_sample_weights, empty bags; against
torch and finite differences."""
import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import gradcheck

IDS = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0])
OFFSETS = np.array([0, 4, 4, 7])                  # bag 1 is empty


def weights(seed=0):
    return np.random.default_rng(seed).standard_normal((10, 4))


def test_values_by_hand():
    w = weights()
    out = F.embedding_bag(ts.tensor(IDS), ts.tensor(w), ts.tensor(OFFSETS), mode="sum")
    expected = [w[[1, 2, 4, 5]].sum(0), np.zeros(4), w[[4, 3, 2]].sum(0), w[[9, 0, 0]].sum(0)]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    out = F.embedding_bag(ts.tensor(IDS), ts.tensor(w), ts.tensor(OFFSETS), mode="mean",
                          padding_idx=0)
    np.testing.assert_allclose(out.numpy()[3], w[9], rtol=1e-12)   # the 0s leave the bag
    out = F.embedding_bag(ts.tensor(IDS.reshape(2, 5)), ts.tensor(w), mode="max")
    np.testing.assert_allclose(out.numpy(), [w[IDS[:5]].max(0), w[IDS[5:]].max(0)])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradients_match_finite_differences(mode):
    w = ts.tensor(weights(1), requires_grad=True)
    gradcheck(lambda w: F.embedding_bag(ts.tensor(IDS), w, ts.tensor(OFFSETS), mode=mode), [w])
    gradcheck(lambda w: F.embedding_bag(ts.tensor(IDS.reshape(5, 2)), w, mode=mode,
                                        padding_idx=4), [w])
    if mode == "sum":
        psw = ts.tensor(np.linspace(-1, 1, IDS.size), requires_grad=True)
        gradcheck(lambda w, psw: F.embedding_bag(ts.tensor(IDS), w, ts.tensor(OFFSETS),
                                                 mode="sum", per_sample_weights=psw), [w, psw])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_same_values_and_gradients_as_torch(mode, padding_idx, include_last_offset):
    torch = pytest.importorskip("torch")
    offsets = np.append(OFFSETS, IDS.size) if include_last_offset else OFFSETS
    results = []
    for lib, functional in ((ts, F), (torch, torch.nn.functional)):
        w = lib.tensor(weights(), requires_grad=True)
        out = functional.embedding_bag(lib.tensor(IDS), w, lib.tensor(offsets), mode=mode,
                                       padding_idx=padding_idx,
                                       include_last_offset=include_last_offset)
        (out * lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape))
         ).sum().backward()
        results.append((out.detach().numpy(), w.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12, atol=1e-15)


def test_module_as_torchs():
    torch = pytest.importorskip("torch")
    ours = ts.nn.EmbeddingBag(10, 4, mode="sum", padding_idx=2, max_norm=1.0)
    theirs = torch.nn.EmbeddingBag(10, 4, mode="sum", padding_idx=2, max_norm=1.0)
    assert repr(ours) == repr(theirs)
    assert repr(ts.nn.EmbeddingBag(10, 3)) == repr(torch.nn.EmbeddingBag(10, 3))
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert not ours.weight.detach().numpy()[2].any()          # the padding row starts at 0
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ids, psw = np.array([[1, 2, 3], [4, 2, 9]]), np.array([[0.5, 1.0, 2.0], [1.0, 1.0, -1.0]])
    expected = theirs(torch.tensor(ids), per_sample_weights=torch.tensor(psw, dtype=torch.float32))
    got = ours(ts.tensor(ids), per_sample_weights=ts.tensor(psw, dtype=ts.float32))
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-6)
    frozen = ts.nn.EmbeddingBag.from_pretrained(ts.tensor(weights()), mode="max")
    assert not frozen.weight.requires_grad and frozen.mode == "max"


@pytest.mark.parametrize("call, error, message", [
    (lambda w: F.embedding_bag(ts.tensor(IDS.reshape(2, 5)), w, ts.tensor([0, 1])), ValueError,
     "if input is 2D, then offsets has to be None"),
    (lambda w: F.embedding_bag(ts.tensor(IDS), w), ValueError, "offsets has to be a 1D Tensor"),
    (lambda w: F.embedding_bag(ts.tensor(IDS), w, ts.tensor([1, 4])), ValueError,
     r"offsets\[0\] has to be 0"),
    (lambda w: F.embedding_bag(ts.tensor(IDS), w, ts.tensor([0, 6, 3])), ValueError,
     "non-decreasing"),
    (lambda w: F.embedding_bag(ts.tensor(IDS), w, ts.tensor(OFFSETS), mode="mean",
                               per_sample_weights=ts.ones(10)), NotImplementedError,
     "only supported for mode='sum'"),
    (lambda w: F.embedding_bag(ts.tensor(IDS), w, ts.tensor(OFFSETS), mode="median"),
     ValueError, "mode must be one of"),
    (lambda w: F.embedding_bag(ts.tensor([1, 12]), w, ts.tensor([0])), IndexError,
     r"ids must be in \[0, 10\)"),
    (lambda w: F.embedding_bag(ts.tensor([1.0, 2.0]), w, ts.tensor([0])), TypeError,
     "ids must be integers"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call(ts.tensor(weights()))

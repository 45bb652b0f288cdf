"""F.max_pool1d, F.avg_pool1d, nn.MaxPool1d and nn.AvgPool1d as PyTorch's (the pooling over
time of a text CNN), nn.MaxPool2d's arguments and repr, and convolutions and pools of an empty
batch.

  * PyTorch as the oracle (skipped without torch), float64: outputs and input gradients over
    kernels, strides and paddings, count_include_pad both ways, unbatched input; the modules'
    attributes and repr; both refusing the same windows.
  * Without torch: windows by hand, finite differences, the options tinyseq does not support
    refused by name, and errors naming the op and the shapes.
"""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import functional as F
from tinyseq import nn

from gradcheck import gradcheck

# (kernel_size, stride, padding), input shape
WINDOWS = [
    ((3, None, 0), (2, 3, 9)),
    ((3, 2, 1), (2, 3, 9)),
    ((4, 1, 2), (1, 2, 7)),
    ((2, 3, 0), (2, 2, 8)),
    ((5, 5, 2), (3, 6)),                  # unbatched
    ((7, 1, 0), (1, 1, 7)),               # one window
]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _both(torch, ours, theirs, x):
    """(output, input gradient) of ``ours`` on tinyseq and of ``theirs`` on PyTorch, for a
    weighted sum of the output."""
    their_x = torch.tensor(x, requires_grad=True)
    expected = theirs(their_x)
    weights = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    our_x = ts.tensor(x, requires_grad=True)
    got = ours(our_x)
    (got * ts.tensor(weights)).sum().backward()
    return (got.numpy(), our_x.grad.numpy()), (expected.detach().numpy(), their_x.grad.numpy())


@pytest.mark.parametrize("window, shape", WINDOWS)
def test_max_pool1d_matches_torch(torch, window, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    got, expected = _both(torch, lambda t: F.max_pool1d(t, *window),
                          lambda t: torch.nn.functional.max_pool1d(t, *window), x)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_allclose(got[1], expected[1], rtol=0, atol=1e-14)   # overlapping windows


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("window, shape", WINDOWS)
def test_avg_pool1d_matches_torch(torch, window, shape, count_include_pad):
    x = np.random.default_rng(0).standard_normal(shape)
    got, expected = _both(
        torch, lambda t: F.avg_pool1d(t, *window, count_include_pad=count_include_pad),
        lambda t: torch.nn.functional.avg_pool1d(t, *window,
                                                 count_include_pad=count_include_pad), x)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("build", [lambda m: m.MaxPool1d(3), lambda m: m.MaxPool1d(4, 2, 1),
                                   lambda m: m.AvgPool1d(3), lambda m: m.AvgPool1d(3, 2, 1),
                                   lambda m: m.AvgPool1d(4, 1, 2, False, False)])
def test_pool_modules_as_torch(torch, build):
    ours, theirs = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "stride", "padding"):
        assert getattr(ours, name) == getattr(theirs, name), name
    x = np.random.default_rng(2).standard_normal((2, 3, 10))
    np.testing.assert_allclose(ours(ts.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("window, shape", [((3, 1, 2), (1, 2, 5)), ((8, 1, 0), (1, 2, 7)),
                                           ((9, 1, 1), (1, 2, 6)), ((3, 1, 0), (2, 0, 5))])
def test_pool1d_refusals_as_torch(torch, window, shape):
    for name in ("max_pool1d", "avg_pool1d"):
        with pytest.raises(RuntimeError):
            getattr(torch.nn.functional, name)(torch.zeros(shape), *window)
        with pytest.raises(ValueError, match=rf"{name}: .*{window[0]}|{name}: .*{shape}"):
            getattr(F, name)(ts.zeros(*shape), *window)


@pytest.mark.parametrize("layer", [lambda: nn.Conv1d(2, 3, 3),
                                   lambda: nn.Conv2d(2, 4, 3, groups=2),
                                   lambda: nn.MaxPool1d(2), lambda: nn.AvgPool1d(3, 1, 1)])
def test_an_empty_batch_runs_as_in_torch(layer):
    """No rows in, no rows out, and a gradient of the input's shape."""
    module = layer()
    spatial = (5, 5) if isinstance(module, nn.Conv2d) else (7,)
    x = ts.zeros(0, 2, *spatial, requires_grad=True)
    y = module(x)
    assert y.shape[0] == 0
    y.sum().backward()
    assert x.grad.shape == x.shape


# --- without torch ----------------------------------------------------------------------------

def test_pools_by_hand():
    x = ts.tensor([[[1.0, 5.0, 2.0, 4.0, 3.0]]])
    np.testing.assert_array_equal(F.max_pool1d(x, 2).numpy(), [[[5, 4]]])
    np.testing.assert_array_equal(F.max_pool1d(x, 3, 1, 1).numpy(), [[[5, 5, 5, 4, 4]]])
    np.testing.assert_allclose(F.avg_pool1d(x, 2).numpy(), [[[3.0, 3.0]]])
    # the zero padding counts, or not
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1).numpy(), [[[2.0, 11 / 3, 7 / 3]]])
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, count_include_pad=False).numpy(),
                               [[[3.0, 11 / 3, 3.5]]])


@pytest.mark.parametrize("window, shape", WINDOWS[1:5])
def test_pool1d_gradcheck(window, shape):
    x = ts.tensor(np.random.default_rng(3).permutation(int(np.prod(shape))).reshape(shape)
                  * 0.1, requires_grad=True)      # distinct values: one maximum per window
    gradcheck(lambda x: F.max_pool1d(x, *window), [x])
    gradcheck(lambda x: F.avg_pool1d(x, *window, count_include_pad=False), [x])


def test_pool1d_unsupported_options_are_refused_by_name():
    with pytest.raises(NotImplementedError, match=r"max_pool1d: ceil_mode=True is not supported"):
        F.max_pool1d(ts.zeros(1, 2, 6), 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match=r"max_pool1d: dilation=2 is not supported"):
        F.max_pool1d(ts.zeros(1, 2, 6), 2, dilation=2)
    with pytest.raises(NotImplementedError, match=r"MaxPool1d: return_indices=True"):
        nn.MaxPool1d(2, return_indices=True)
    with pytest.raises(NotImplementedError, match=r"AvgPool1d: ceil_mode=True"):
        nn.AvgPool1d(2, ceil_mode=True)
    with pytest.raises(ValueError, match=r"max_pool1d: stride must be at least 1, got 0"):
        F.max_pool1d(ts.zeros(1, 2, 6), 2, 0)
    with pytest.raises(ValueError, match=r"avg_pool1d: padding 2 must be at most half of "
                                         r"kernel_size 3"):
        F.avg_pool1d(ts.zeros(1, 2, 6), 3, 1, 2)
    with pytest.raises(ValueError, match=r"max_pool1d: expected input \(N, C, L\) or \(C, L\) "
                                         r"with channels and length, got \(6,\)"):
        F.max_pool1d(ts.zeros(6), 2)
    with pytest.raises(TypeError, match=r"avg_pool1d: expected a Tensor, got list"):
        F.avg_pool1d([1.0, 2.0], 2)
    with pytest.raises(NotImplementedError, match=r"MaxPool2d: dilation=2 is not supported "
                                                  r"\(only dilation=1\)"):
        nn.MaxPool2d(2, dilation=2)
    with pytest.raises(NotImplementedError, match=r"max_pool2d: return_indices=True"):
        F.max_pool2d(ts.zeros(1, 2, 4, 4), 2, return_indices=True)


def test_max_pool2d_module_as_torch(torch):
    for args in [(2,), (3, 2, 1), ((2, 3), (1, 2), (1, 1), (1, 1))]:
        ours, theirs = nn.MaxPool2d(*args), torch.nn.MaxPool2d(*args)
        assert repr(ours) == repr(theirs)
        assert (ours.kernel_size, ours.stride, ours.padding) == \
            (theirs.kernel_size, theirs.stride, theirs.padding)

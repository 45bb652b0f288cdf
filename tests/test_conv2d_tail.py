"""nn.Conv2d and F.conv2d with PyTorch's whole signature: dilation, groups, padding as an int,
a pair, "valid" or "same", padding_mode, and PyTorch's positional order.

  * PyTorch as the oracle (skipped without torch), float64: outputs and the gradients of
    input, weight and bias over strides, paddings, dilations, groups, no bias and unbatched
    input, for every padding mode (weights copied by state_dict); the repr; both refusing the
    same arguments.
  * Without torch: a dilated kernel and a grouped convolution by hand, finite differences,
    and the errors (naming the op and the shapes, raised before anything changes).
"""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import functional as F
from tinyseq import nn
from tinyseq.nn import init

from gradcheck import gradcheck

MODES = ("zeros", "reflect", "replicate", "circular")

# Conv2d arguments (in, out, kernel_size, stride, padding, dilation, groups, bias), input shape
CASES = [
    ((2, 3, 3, 1, 1, 1, 1, True), (2, 2, 6, 7)),
    ((2, 4, (3, 2), (2, 1), (1, 0), 1, 1, False), (2, 2, 7, 6)),
    ((4, 6, 3, 1, 2, 2, 2, True), (1, 4, 8, 9)),
    ((3, 3, 2, (1, 2), 1, (2, 1), 3, True), (2, 3, 7, 8)),
    ((2, 3, (4, 3), 1, "same", 1, 1, True), (2, 2, 6, 6)),     # even kernel: one more after
    ((2, 2, 3, 1, "same", (2, 1), 2, False), (1, 2, 7, 5)),
    ((2, 3, 3, 2, "valid", 1, 1, True), (2, 2, 7, 7)),
    ((2, 3, 3, 1, (2, 1), 1, 1, True), (2, 5, 4)),              # unbatched
]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _array(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair(build_ours, build_theirs, torch):
    """The same layer in both, torch's weights copied into ours through state_dict."""
    theirs = build_theirs(torch).double()
    ours = build_ours()
    ours.load_state_dict({k: ts.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("args, in_shape", CASES)
def test_conv2d_matches_torch(torch, mode, args, in_shape):
    ours, theirs = _pair(lambda: nn.Conv2d(*args, padding_mode=mode, dtype=ts.float64),
                         lambda t: t.nn.Conv2d(*args, padding_mode=mode), torch)
    x = _array(in_shape, 1)
    expected = theirs(torch.tensor(x, requires_grad=True))
    weights = _array(tuple(expected.shape), 2)
    their_x = torch.tensor(x, requires_grad=True)
    (theirs(their_x) * torch.tensor(weights)).sum().backward()
    our_x = ts.tensor(x, requires_grad=True)
    got = ours(our_x)
    (got * ts.tensor(weights)).sum().backward()
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(our_x.grad.numpy(), their_x.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("kwargs", [{}, {"padding": 1}, {"padding": (1, 2), "dilation": 2},
                                    {"padding": "same", "groups": 2, "bias": False},
                                    {"stride": (2, 1), "padding_mode": "circular"},
                                    {"padding": "valid", "dilation": (1, 3)}])
def test_conv2d_repr_and_attributes_as_torch(torch, kwargs):
    ours, theirs = nn.Conv2d(4, 6, 3, **kwargs), torch.nn.Conv2d(4, 6, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "stride", "padding", "dilation", "groups", "padding_mode"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape)


def test_conv2d_positional_order_is_torch_s(torch):
    """The 6th positional argument is dilation, the 7th groups, then bias and padding_mode."""
    args = (4, 6, 3, 1, 2, 2, 2, False, "replicate")
    ours, theirs = nn.Conv2d(*args), torch.nn.Conv2d(*args)
    assert repr(ours) == repr(theirs)
    assert nn.Conv2d(*args, "cpu", ts.float64).weight.dtype == ts.float64


@pytest.mark.parametrize("build", [
    lambda m: m.Conv2d(2, 2, 3, stride=2, padding="same"),
    lambda m: m.Conv2d(2, 2, 3, padding="full"),
    lambda m: m.Conv2d(4, 6, 3, groups=4),
    lambda m: m.Conv2d(3, 6, 3, groups=2),
    lambda m: m.Conv2d(2, 2, 3, padding_mode="mirror"),
], ids=["same-strided", "bad-string", "groups-out", "groups-in", "mode"])
def test_conv2d_refusals_as_torch(torch, build):
    with pytest.raises((ValueError, RuntimeError)):
        build(torch.nn)
    with pytest.raises(ValueError, match=r"Conv2d: "):
        build(nn)


# --- without torch ----------------------------------------------------------------------------

def test_dilated_kernel_by_hand():
    """A 2 x 2 kernel of ones with dilation (2, 3) sums the corners of each 3 x 4 window."""
    x = ts.tensor(np.arange(20.0).reshape(1, 1, 4, 5))
    y = F.conv2d(x, ts.ones(1, 1, 2, 2, dtype=ts.float64), dilation=(2, 3))
    image = np.arange(20.0).reshape(4, 5)
    expected = [[image[i, j] + image[i, j + 3] + image[i + 2, j] + image[i + 2, j + 3]
                 for j in range(2)] for i in range(2)]
    np.testing.assert_array_equal(y.numpy(), [[expected]])


def test_grouped_convolution_is_each_group_apart():
    rng = np.random.default_rng(3)
    x, weight = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((6, 2, 3, 3))
    y = F.conv2d(ts.tensor(x), ts.tensor(weight), groups=2, padding=1).numpy()
    for group in range(2):
        part = F.conv2d(ts.tensor(x[:, 2 * group:2 * group + 2]),
                        ts.tensor(weight[3 * group:3 * group + 3]), padding=1).numpy()
        np.testing.assert_allclose(y[:, 3 * group:3 * group + 3], part, rtol=0, atol=1e-12)


def test_same_padding_keeps_the_size_with_an_even_kernel():
    layer = nn.Conv2d(1, 1, (2, 4), padding="same", bias=False, dtype=ts.float64)
    init.ones_(layer.weight)
    y = layer(ts.ones(1, 1, 3, 5, dtype=ts.float64))
    assert tuple(y.shape) == (1, 1, 3, 5)
    # PyTorch pads (0, 1) rows and (1, 2) columns: the last row and the edge columns see less
    np.testing.assert_array_equal(y.numpy()[0, 0], [[6, 8, 8, 6, 4]] * 2 + [[3, 4, 4, 3, 2]])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("args, in_shape", [CASES[2], CASES[3], CASES[5], CASES[7]])
def test_conv2d_gradcheck(mode, args, in_shape):
    layer = nn.Conv2d(*args, padding_mode=mode, dtype=ts.float64)
    x = ts.tensor(_array(in_shape, 4), requires_grad=True)
    gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


def test_conv2d_errors_name_the_shapes_and_change_nothing():
    layer = nn.Conv2d(2, 2, 3, dilation=3)
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    x = ts.randn(1, 2, 5, 9, requires_grad=True)
    with pytest.raises(ValueError, match=r"conv2d: kernel reaching \(7, 7\) \(kernel_size "
                                         r"\(3, 3\), dilation \(3, 3\)\) is larger than the "
                                         r"padded input \(5, 9\)"):
        layer(x)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert x.grad is None and all(p.grad is None for p in layer.parameters())
    with pytest.raises(ValueError, match=r"conv2d: input has 4 channels but weight "
                                         r"\(6, 2, 3, 3\) with groups=1 expects 2"):
        F.conv2d(ts.randn(1, 4, 5, 5), ts.randn(6, 2, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: padding='same' is not supported for strided "
                                         r"convolutions, got stride=\(1, 2\)"):
        F.conv2d(ts.randn(1, 2, 5, 5), ts.randn(2, 2, 3, 3), stride=(1, 2), padding="same")
    with pytest.raises(TypeError, match=r"Conv2d: expected a Tensor, got list"):
        nn.Conv2d(2, 2, 1)([[1.0]])
    with pytest.raises(ValueError, match=r"Conv2d: dilation must be at least 1, got 0"):
        nn.Conv2d(2, 2, 3, dilation=0)        # PyTorch refuses it only when the layer runs

"""F.pad's modes as PyTorch's: "constant" (any dims, negative widths crop), "reflect",
"replicate" and "circular" (the last 1, 2 or 3 dims of a 2-D to 5-D input).

  * PyTorch as the oracle (skipped without torch), float64: values and input gradients for
    every mode over one, two and three padded dims, batched and not, negative widths, the
    limits each mode accepts, and the inputs both refuse.
  * Without torch: each mode by hand on a short row, finite differences, and the errors
    (naming pad, the mode and the shapes, raised before any graph is built).
"""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import functional as F

from gradcheck import gradcheck

MODES = ("reflect", "replicate", "circular")

# (input shape, pad): accepted by every mode
CASES = [
    ((2, 5), (2, 1)),
    ((2, 3, 5), (1, 3)),
    ((2, 3, 5), (0, 0)),
    ((2, 4, 5), (1, 2, 3, 0)),
    ((1, 2, 4, 5), (2, 1, 0, 3)),
    ((2, 3, 4, 5), (1, 1, 2, 2, 1, 0)),
    ((1, 2, 3, 4, 5), (2, 1, 1, 2, 0, 1)),
    ((2, 3, 6), (-2, 3)),
    ((2, 4, 5), (1, -1, -2, 1)),
    ((0, 3, 5), (1, 2)),                       # an empty batch
]

# (mode, input shape, pad): refused by both
REFUSED = [
    ("reflect", (1, 2, 3), (3, 0)),
    ("reflect", (1, 2, 3), (0, 4)),
    ("reflect", (1, 2, 1), (1, 1)),
    ("circular", (1, 2, 3), (4, 0)),
    ("circular", (1, 2, 0), (1, 1)),
    ("reflect", (1, 2, 0), (1, 1)),
    ("replicate", (1, 2, 0), (1, 1)),
    ("replicate", (1, 0, 5), (1, 1)),
    ("reflect", (1, 2, 5), (-3, -3)),
    ("replicate", (1, 2, 5), (-6, 1)),
    ("constant", (1, 2, 5), (-3, -3)),
]

# (mode, input shape, pad): accepted by both at the limit
LIMITS = [
    ("reflect", (1, 2, 3), (2, 2)),
    ("circular", (1, 2, 3), (3, 3)),
    ("circular", (1, 2, 5), (-2, 3)),
    ("circular", (1, 2, 5), (3, -2)),
    ("replicate", (1, 2, 1), (7, 0)),
    ("circular", (1, 0, 5), (1, 1)),
    ("constant", (1, 2, 5), (-3, -2)),
]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("mode", MODES + ("constant",))
@pytest.mark.parametrize("shape, pad", CASES)
def test_pad_matches_torch(torch, mode, shape, pad):
    x = _input(shape)
    weights = _input(torch.nn.functional.pad(torch.tensor(x), pad, mode=mode).shape, seed=1)
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.pad(theirs, pad, mode=mode)
    (expected * torch.tensor(weights)).sum().backward()
    ours = ts.tensor(x, requires_grad=True)
    got = F.pad(ours, pad, mode=mode)
    (got * ts.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(got.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode, shape, pad", REFUSED)
def test_pad_refusals_as_torch(torch, mode, shape, pad):
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.zeros(shape), pad, mode=mode)
    with pytest.raises(ValueError, match=r"pad: .*\(input shape|pad: .*got shape"):
        F.pad(ts.zeros(*shape), pad, mode=mode)


@pytest.mark.parametrize("mode, shape, pad", LIMITS)
def test_pad_limits_accepted_as_torch(torch, mode, shape, pad):
    x = _input(shape)
    expected = torch.nn.functional.pad(torch.tensor(x), pad, mode=mode)
    np.testing.assert_array_equal(F.pad(ts.tensor(x), pad, mode=mode).numpy(), expected.numpy())


@pytest.mark.parametrize("shape, pad", [((5,), (1, 1)), ((1, 1, 2, 5), (1, 1)),
                                        ((2, 5), (1, 1, 1, 1)), ((2, 3, 4), (1,) * 6)])
def test_pad_mode_dims_refused_as_torch(torch, shape, pad):
    with pytest.raises(NotImplementedError):
        torch.nn.functional.pad(torch.zeros(shape), pad, mode="reflect")
    with pytest.raises(NotImplementedError, match=rf"pad: mode 'reflect' pads the last dim of "
                                                  rf"2-D or 3-D input.*shape {shape}".replace(
                                                      "(", r"\(").replace(")", r"\)")):
        F.pad(ts.zeros(*shape), pad, mode="reflect")


# --- without torch --------------------------------------------------------------------------

ROW = [1.0, 2.0, 3.0, 4.0]
PADDED = {"reflect": [3, 2, 1, 2, 3, 4, 3, 2, 1],
          "replicate": [1, 1, 1, 2, 3, 4, 4, 4, 4],
          "circular": [3, 4, 1, 2, 3, 4, 1, 2, 3],
          "constant": [0, 0, 1, 2, 3, 4, 0, 0, 0]}


@pytest.mark.parametrize("mode", list(PADDED))
def test_pad_modes_by_hand(mode):
    got = F.pad(ts.tensor([[ROW]]), (2, 3), mode=mode)
    np.testing.assert_array_equal(got.numpy(), [[PADDED[mode]]])


def test_pad_two_dims_by_hand():
    """Circular on both dims of a 2 x 2 image: the rows wrap, then the columns."""
    got = F.pad(ts.tensor([[[0.0, 1.0], [2.0, 3.0]]]), (1, 1, 1, 1), mode="circular")
    np.testing.assert_array_equal(got.numpy(), [[[3, 2, 3, 2], [1, 0, 1, 0],
                                                 [3, 2, 3, 2], [1, 0, 1, 0]]])


def test_constant_pad_crops_with_negative_widths_and_fills_value():
    got = F.pad(ts.tensor([[1.0, 2.0, 3.0, 4.0]]), (-1, 2, 1, -1), value=9.0)
    np.testing.assert_array_equal(got.numpy(), [[9.0, 9.0, 9.0, 9.0, 9.0]])
    got = F.pad(ts.tensor([[1.0, 2.0, 3.0, 4.0]]), (-1, 2), value=9.0)
    np.testing.assert_array_equal(got.numpy(), [[2.0, 3.0, 4.0, 9.0, 9.0]])


@pytest.mark.parametrize("mode", MODES + ("constant",))
@pytest.mark.parametrize("shape, pad", [CASES[1], CASES[4], CASES[6], CASES[9]])
def test_pad_gradcheck(mode, shape, pad):
    x = ts.tensor(_input(shape), requires_grad=True)
    gradcheck(lambda x: F.pad(x, pad, mode=mode), [x])


@pytest.mark.parametrize("mode, shape, pad", REFUSED)
def test_pad_errors_name_the_shapes_and_build_no_graph(mode, shape, pad):
    x = ts.zeros(*shape, requires_grad=True)
    with pytest.raises(ValueError, match=rf"pad: .*{shape[-1]}"):
        F.pad(x, pad, mode=mode)
    assert x.grad is None and x.grad_fn is None


def test_circular_pad_wraps_what_cropping_leaves():
    """As PyTorch: crop first, then wrap around the rest, as often as the padding (at most
    the size of the dim) needs; with nothing left to wrap PyTorch returns uninitialised
    memory, and tinyseq refuses."""
    x = ts.tensor([[[0.0, 1.0, 2.0, 3.0, 4.0]]])
    np.testing.assert_array_equal(F.pad(x, (-2, 1), mode="circular").numpy(), [[[2, 3, 4, 2]]])
    np.testing.assert_array_equal(F.pad(x, (1, -2), mode="circular").numpy(), [[[2, 0, 1, 2]]])
    np.testing.assert_array_equal(F.pad(x, (-3, 3), mode="circular").numpy(),
                                  [[[3, 4, 3, 4, 3]]])
    # PyTorch's backward fails on this one (its padded copy overlaps its input)
    gradcheck(lambda x: F.pad(x, (-3, 3), mode="circular"),
              [ts.tensor(_input((2, 1, 5)), requires_grad=True)])
    with pytest.raises(ValueError, match=r"pad: mode 'circular' has nothing left of dim 2 of "
                                         r"size 5 to wrap around after cropping by \(-5, 1\)"):
        F.pad(x, (-5, 1), mode="circular")
    with pytest.raises(ValueError, match=r"pad: mode 'circular' needs padding \(-1, 6\) at most "
                                         r"the size 5 of dim 2"):
        F.pad(x, (-1, 6), mode="circular")


def test_pad_argument_errors():
    x = ts.zeros(2, 3)
    with pytest.raises(NotImplementedError, match=r"pad: unrecognised padding mode 'mirror'"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' takes no value, got value=1.5"):
        F.pad(x, (1, 1), mode="reflect", value=1.5)
    np.testing.assert_array_equal(F.pad(x, (1, 1), mode="reflect", value=0).numpy(),
                                  np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"pad: expects an even number of ints.*\(1, 1, 1\)"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: expects an even number of ints.*\(2, 3\)"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(TypeError, match=r"pad: expected a Tensor, got list"):
        F.pad([1.0, 2.0], (1, 1))

"""nn.Conv1d's padding modes "reflect", "replicate" and "circular", and nn.init.sparse_.

  * PyTorch as the oracle (skipped without torch), float64: Conv1d outputs and the gradients
    of input, weight and bias for every padding mode over int, "same" and "valid" padding,
    strides, dilations, groups, no bias and unbatched input, the weights copied from torch by
    state_dict; the repr and attributes; both refusing the same too-large paddings; sparse_'s
    zeros per column exactly and the spread of its non-zeros against torch's.
  * Without torch: each mode's padding by hand, finite differences, the errors (naming the
    op, raised before anything changes), sparse_'s zero counts, spread, reproducibility and
    errors.
"""
import math
import warnings

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn
from tinyseq.nn import init

from gradcheck import assert_close, gradcheck

MODES = ("reflect", "replicate", "circular")
TOL = dict(atol=1e-12, rtol=1e-10)

# Conv1d arguments (in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
# bias) and the input shape
CASES = [
    ((2, 3, 3, 1, 1, 1, 1, True), (2, 2, 7)),
    ((2, 4, 3, 2, 2, 1, 1, False), (3, 2, 9)),
    ((4, 6, 3, 1, 2, 2, 2, True), (2, 4, 8)),
    ((3, 3, 2, 3, 1, 1, 3, True), (2, 3, 10)),
    ((2, 3, 4, 1, "same", 1, 1, True), (2, 2, 8)),        # even kernel: one more on the right
    ((2, 2, 3, 1, "same", 2, 2, False), (1, 2, 6)),
    ((2, 3, 3, 2, "valid", 1, 1, True), (2, 2, 7)),
    ((2, 3, 3, 1, 3, 1, 1, True), (2, 4)),                # unbatched, padding L - 1
]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _conv(mode, args):
    return nn.Conv1d(*args, padding_mode=mode, dtype=ts.float64)


def _leaf(array):
    return ts.tensor(array, dtype=ts.float64, requires_grad=True)


# --- Conv1d padding modes against PyTorch ------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("args, in_shape", CASES)
def test_conv1d_padding_mode_matches_torch(torch, mode, args, in_shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # PyTorch's note on "same" with an even kernel
        theirs = torch.nn.Conv1d(*args, padding_mode=mode, dtype=torch.float64)
    ours = _conv(mode, args)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(in_shape)
    x_ours, x_theirs = _leaf(x), torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    assert tuple(y_ours.shape) == tuple(y_theirs.shape)
    assert_close(y_ours, y_theirs.detach().numpy(), **TOL)
    weights = np.random.default_rng(1).standard_normal(tuple(y_theirs.shape))
    (y_ours * ts.tensor(weights)).sum().backward()
    (y_theirs * torch.tensor(weights)).sum().backward()
    assert_close(x_ours.grad, x_theirs.grad.numpy(), **TOL)
    for name, p in ours.named_parameters():
        assert_close(p.grad, getattr(theirs, name).grad.numpy(), **TOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kwargs", [dict(), dict(padding=2, dilation=2, groups=2, bias=False),
                                    dict(padding="same"), dict(padding="valid", stride=3)])
def test_conv1d_padding_mode_repr_and_attributes_as_torch(torch, mode, kwargs):
    ours = nn.Conv1d(4, 6, 3, padding_mode=mode, **kwargs)
    theirs = torch.nn.Conv1d(4, 6, 3, padding_mode=mode, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.padding_mode == theirs.padding_mode == mode
    assert ours.padding == theirs.padding


# (mode, padding, input length): refused by both, then accepted by both
REFUSED = [("reflect", 3, 3), ("reflect", 1, 1), ("circular", 4, 3), ("circular", 7, 3),
           ("reflect", 1, 0), ("replicate", 1, 0), ("circular", 1, 0)]
ACCEPTED = [("reflect", 2, 3), ("circular", 3, 3), ("circular", 1, 1), ("replicate", 7, 1)]


@pytest.mark.parametrize("mode, padding, length", REFUSED)
def test_conv1d_padding_mode_refusals_as_torch(torch, mode, padding, length):
    with pytest.raises(RuntimeError):
        torch.nn.Conv1d(2, 2, 1, padding=padding, padding_mode=mode)(torch.randn(1, 2, length))
    with pytest.raises(ValueError, match=rf"pad: mode '{mode}' needs"):
        nn.Conv1d(2, 2, 1, padding=padding, padding_mode=mode)(ts.randn(1, 2, length))


@pytest.mark.parametrize("mode, padding, length", ACCEPTED)
def test_conv1d_padding_mode_limits_accepted_as_torch(torch, mode, padding, length):
    expected = torch.nn.Conv1d(2, 2, 1, padding=padding, padding_mode=mode)(
        torch.randn(1, 2, length))
    got = nn.Conv1d(2, 2, 1, padding=padding, padding_mode=mode)(ts.randn(1, 2, length))
    assert tuple(got.shape) == tuple(expected.shape) == (1, 2, length + 2 * padding)


# --- Conv1d padding modes without torch ----------------------------------------------------------

PADDED = {"reflect": [3, 2, 1, 2, 3, 4, 3, 2],
          "replicate": [1, 1, 1, 2, 3, 4, 4, 4],
          "circular": [3, 4, 1, 2, 3, 4, 1, 2]}


@pytest.mark.parametrize("mode", MODES)
def test_conv1d_padding_mode_pads_the_input(mode):
    """A 1x1 identity kernel returns the padded input itself."""
    layer = nn.Conv1d(1, 1, 1, padding=2, padding_mode=mode, bias=False, dtype=ts.float64)
    init.ones_(layer.weight)
    y = layer(ts.tensor([[[1.0, 2.0, 3.0, 4.0]]], dtype=ts.float64))
    np.testing.assert_array_equal(y.numpy(), [[PADDED[mode]]])


def test_conv1d_same_with_an_even_kernel_pads_one_more_on_the_right():
    """kernel 4: 1 on the left, 2 on the right; summing windows of [1, 2, 3, 4] reflected to
    [2, 1, 2, 3, 4, 3, 2]."""
    layer = nn.Conv1d(1, 1, 4, padding="same", padding_mode="reflect", bias=False,
                      dtype=ts.float64)
    init.ones_(layer.weight)
    y = layer(ts.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=ts.float64))
    np.testing.assert_array_equal(y.numpy(), [[8.0, 10.0, 12.0, 12.0]])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("args, in_shape", [CASES[1], CASES[2], CASES[4], CASES[7]])
def test_conv1d_padding_mode_gradcheck(mode, args, in_shape):
    layer = _conv(mode, args)
    x = _leaf(np.random.default_rng(2).standard_normal(in_shape))
    gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


@pytest.mark.parametrize("mode, padding, length", REFUSED)
def test_conv1d_padding_mode_errors_change_nothing(mode, padding, length):
    layer = nn.Conv1d(2, 2, 1, padding=padding, padding_mode=mode)
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    x = ts.randn(1, 2, length, requires_grad=True)
    message = {"reflect": "less than the size", "circular": "at most the size 0" if length == 0
               else "at most the size"}
    expected = "dims are non-empty" if length == 0 and mode != "circular" else message[mode]
    with pytest.raises(ValueError, match=rf"pad: mode '{mode}' needs .*{expected}"):
        layer(x)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert x.grad is None and all(p.grad is None for p in layer.parameters())


def test_conv1d_padding_mode_other_errors():
    with pytest.raises(ValueError, match=r"Conv1d: padding_mode must be one of .*'mirror'"):
        nn.Conv1d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"Conv1d: padding='same' .*stride=2"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same", padding_mode="reflect")
    with pytest.raises(TypeError, match=r"Conv1d: expected a Tensor, got list"):
        nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular")([[1.0, 2.0]])
    with pytest.raises(NotImplementedError, match=r"pad: mode 'replicate' pads the last dim of "
                                                  r"2-D or 3-D input.* shape \(5,\)"):
        nn.Conv1d(2, 2, 1, padding=1, padding_mode="replicate")(ts.randn(5))


# --- nn.init.sparse_ ---------------------------------------------------------------------------

@pytest.mark.parametrize("rows, sparsity, zeros", [(10, 0.1, 1), (10, 0.25, 3), (7, 0.5, 4),
                                                   (5, 0.0, 0), (4, 1.0, 4), (4, 1.5, 4)])
def test_sparse_zeros_per_column(rows, sparsity, zeros):
    t = ts.empty(rows, 30, dtype=ts.float64)
    assert init.sparse_(t, sparsity, std=1.0) is t
    np.testing.assert_array_equal((t.numpy() == 0).sum(axis=0), [zeros] * 30)


def test_sparse_non_zeros_are_normal_with_std():
    t = init.sparse_(ts.empty(400, 500, dtype=ts.float64), 0.3, std=0.5)
    values = t.numpy()[t.numpy() != 0]
    assert values.size == 280 * 500
    assert abs(values.mean()) < 0.005 and abs(values.std() - 0.5) < 0.005
    assert np.mean(np.abs(values) < 0.5 * 0.6745) == pytest.approx(0.5, abs=0.005)   # median |z|


def test_sparse_zero_rows_differ_between_columns_and_follow_the_seed():
    ts.manual_seed(5)
    first = init.sparse_(ts.empty(20, 50, dtype=ts.float64), 0.5).numpy()
    ts.manual_seed(5)
    again = init.sparse_(ts.empty(20, 50, dtype=ts.float64), 0.5).numpy()
    np.testing.assert_array_equal(first, again)
    patterns = {tuple(column) for column in (first == 0).T}
    assert len(patterns) > 45        # C(20, 10) patterns: 50 columns almost never repeat one


def test_sparse_records_no_graph_and_keeps_requires_grad():
    w = ts.empty(6, 4, requires_grad=True)
    init.sparse_(w, 0.5)
    assert w.requires_grad and w.grad_fn is None
    assert w.dtype == ts.float32 and ((w.numpy() == 0).sum(axis=0) == 3).all()


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()])
def test_sparse_refuses_other_than_2d_before_changing(shape):
    t = ts.zeros(*shape)
    with pytest.raises(ValueError, match=r"sparse_: only tensors with 2 dimensions are "
                                         r"supported, got shape"):
        init.sparse_(t, 0.1)
    assert (t.numpy() == 0).all()


@pytest.mark.parametrize("call, error, message", [
    (lambda t: init.sparse_(t, -0.1), ValueError, r"sparse_: sparsity must be >= 0"),
    (lambda t: init.sparse_(t, float("nan")), ValueError, r"sparse_: sparsity must be >= 0"),
    (lambda t: init.sparse_(t, math.inf), ValueError, r"sparse_: sparsity must be .*< inf"),
    (lambda t: init.sparse_(t, "0.1"), TypeError, r"sparse_: sparsity must be a real number"),
    (lambda t: init.sparse_(t, 0.1, std=-1.0), ValueError, r"sparse_: std must be >= 0"),
    (lambda t: init.sparse_(t, 0.1, generator=object()), TypeError,
     r"generator must be a tinyseq Generator, got object"),
])
def test_sparse_errors_change_nothing(call, error, message):
    t = ts.full((4, 3), 7.0)
    with pytest.raises(error, match=message):
        call(t)
    assert (t.numpy() == 7.0).all()


def test_sparse_refuses_integer_tensors():
    t = ts.zeros(4, 3, dtype=ts.int64)
    with pytest.raises(TypeError, match=r"sparse_: not implemented for dtype .*int64"):
        init.sparse_(t, 0.5)
    assert (t.numpy() == 0).all()


def test_sparse_against_torch(torch):
    """Zeros per column exactly as torch's; the non-zeros' spread close to torch's."""
    for rows, sparsity in [(10, 0.1), (9, 0.34), (100, 0.9), (3, 2.0)]:
        ours = init.sparse_(ts.empty(rows, 20, dtype=ts.float64), sparsity).numpy()
        theirs = torch.nn.init.sparse_(torch.empty(rows, 20, dtype=torch.float64),
                                       sparsity).numpy()
        np.testing.assert_array_equal((ours == 0).sum(axis=0), (theirs == 0).sum(axis=0))
    torch.manual_seed(0)
    ours = init.sparse_(ts.empty(500, 400, dtype=ts.float64), 0.2, std=0.03).numpy()
    theirs = torch.nn.init.sparse_(torch.empty(500, 400, dtype=torch.float64), 0.2,
                                   std=0.03).numpy()
    assert ours[ours != 0].std() == pytest.approx(theirs[theirs != 0].std(), rel=0.01)
    assert ours[ours != 0].std() == pytest.approx(0.03, rel=0.01)


def test_sparse_refusals_as_torch(torch):
    for shape in [(5,), (2, 3, 4)]:
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
            torch.nn.init.sparse_(torch.empty(shape), 0.1)
        with pytest.raises(ValueError, match="only tensors with 2 dimensions"):
            init.sparse_(ts.empty(*shape), 0.1)


def test_init_has_every_torch_in_place_initialiser(torch):
    wanted = {n for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")}
    assert wanted <= set(dir(init))

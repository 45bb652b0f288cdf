"""nn.init's initialisers against torch.nn.init (distributions statistically, deterministic ones
exactly, errors), and F.conv1d / nn.Conv1d against PyTorch (values and gradients in float64),
finite differences and errors."""
import math
import warnings

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn
from tinyseq.nn import init

from gradcheck import assert_close, gradcheck

torch = pytest.importorskip("torch")

SAMPLE_SHAPE = (400, 250, 2)      # 200,000 draws: fan_in 500, fan_out 800


# --- nn.init -----------------------------------------------------------------------------------

def test_init_has_torch_in_place_initialisers():
    """Every in-place initialiser of torch.nn.init exists here."""
    wanted = {n for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")}
    assert wanted <= set(dir(init))


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _summary(values):
    """mean, std and QUANTILES of an array."""
    return np.array([values.mean(), values.std(), *np.quantile(values, QUANTILES)])


def _summaries(fill, torch_fill):
    """_summary of tinyseq's and of PyTorch's fill of a float64 SAMPLE_SHAPE tensor, and the
    two samples."""
    ts.manual_seed(0)
    torch.manual_seed(0)
    ours = fill(ts.empty(*SAMPLE_SHAPE, dtype=ts.float64)).numpy()
    theirs = torch_fill(torch.empty(SAMPLE_SHAPE, dtype=torch.float64)).numpy()
    return _summary(ours), _summary(theirs), ours, theirs


DISTRIBUTIONS = {
    "kaiming_normal_": (lambda t: init.kaiming_normal_(t),
                        lambda t: torch.nn.init.kaiming_normal_(t)),
    "kaiming_normal_fan_out_relu": (
        lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
        lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")),
    "kaiming_uniform_a": (lambda t: init.kaiming_uniform_(t, a=0.3),
                          lambda t: torch.nn.init.kaiming_uniform_(t, a=0.3)),
    "xavier_normal_": (lambda t: init.xavier_normal_(t, gain=2.0),
                       lambda t: torch.nn.init.xavier_normal_(t, gain=2.0)),
    "xavier_uniform_": (lambda t: init.xavier_uniform_(t), torch.nn.init.xavier_uniform_),
    "trunc_normal_": (lambda t: init.trunc_normal_(t), torch.nn.init.trunc_normal_),
    "trunc_normal_narrow": (lambda t: init.trunc_normal_(t, mean=1.0, std=2.0, a=0.5, b=1.0),
                            lambda t: torch.nn.init.trunc_normal_(t, 1.0, 2.0, 0.5, 1.0)),
    "trunc_normal_one_sided": (lambda t: init.trunc_normal_(t, 0.0, 0.5, a=1.0, b=3.0),
                               lambda t: torch.nn.init.trunc_normal_(t, 0.0, 0.5, 1.0, 3.0)),
    "normal_": (lambda t: init.normal_(t, 3.0, 0.5), lambda t: torch.nn.init.normal_(t, 3., .5)),
    "uniform_": (lambda t: init.uniform_(t, -1.0, 3.0),
                 lambda t: torch.nn.init.uniform_(t, -1.0, 3.0)),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_distribution_matches_torch(name):
    """Mean, std and quantiles within 3% of the std (over 10 standard errors at 200,000
    draws); a bounded one stays within its bounds and reaches them where its density there is
    not negligible (its maximum, where PyTorch's reaches within 0.1% of the std)."""
    ours, theirs, our_sample, their_sample = _summaries(*DISTRIBUTIONS[name])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=0.03 * theirs[1])
    if "uniform" in name or "trunc" in name:
        assert abs(our_sample.min() - their_sample.min()) < 1e-3 * theirs[1]
        assert name == "trunc_normal_one_sided" or \
            abs(our_sample.max() - their_sample.max()) < 1e-3 * theirs[1]
    if name == "trunc_normal_one_sided":
        assert our_sample.min() >= 1.0 and our_sample.max() <= 3.0


def test_kaiming_normal_std_is_formula():
    """std = gain / sqrt(fan): sqrt(2 / (1 + 0.2^2)) / sqrt(250 * 2) for leaky_relu slope 0.2."""
    ts.manual_seed(1)
    values = init.kaiming_normal_(ts.empty(*SAMPLE_SHAPE, dtype=ts.float64), a=0.2).numpy()
    expected = math.sqrt(2.0 / 1.04) / math.sqrt(500)
    assert abs(values.std() - expected) < 0.01 * expected
    assert abs(values.mean()) < 0.01 * expected


def test_trunc_normal_stays_in_bounds_and_keeps_dtype():
    ts.manual_seed(2)
    t = init.trunc_normal_(ts.empty(1000, 30), std=0.02, a=-0.04, b=0.04)
    assert t.dtype == ts.float32
    assert float(t.min()) >= -0.04 and float(t.max()) <= 0.04
    assert abs(float(t.std()) - 0.02 * 0.8796) < 0.0005    # std of N(0, 1) cut at ±2: 0.8796


def test_initialisers_fill_in_place_without_graph():
    w = ts.zeros(5, 4, requires_grad=True)
    for fill in (init.kaiming_normal_, init.trunc_normal_, init.eye_):
        assert fill(w) is w
        assert w.requires_grad and w.grad_fn is None


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (6, 4)])
def test_eye_matches_torch(shape):
    assert_close(init.eye_(ts.empty(*shape, dtype=ts.float64)),
                 torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy(), atol=0)


@pytest.mark.parametrize("shape,groups", [((4, 3, 5), 1), ((6, 2, 3, 4), 2), ((4, 4, 1, 2, 3), 1),
                                          ((2, 5, 3), 2), ((6, 1, 4), 3)])
def test_dirac_matches_torch(shape, groups):
    expected = torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
    assert_close(init.dirac_(ts.empty(*shape), groups), expected, atol=0)


def test_dirac_conv1d_passes_channels_through():
    """A dirac weight with 'same' padding is the identity convolution."""
    x = ts.randn(2, 3, 7)
    w = init.dirac_(ts.empty(3, 3, 5))
    assert_close(F.conv1d(x, w, padding="same"), x, atol=1e-6)


GAINS = [("linear", None), ("conv1d", None), ("conv_transpose2d", None), ("sigmoid", None),
         ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
         ("leaky_relu", 3), ("selu", None)]


@pytest.mark.parametrize("nonlinearity,param", GAINS)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == \
        pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 2, 5)])
def test_fans_match_torch(shape):
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, exactly."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._fans(ts.empty(*shape), "test") == (fan_in, fan_out)


def test_errors_name_function_and_value():
    with pytest.raises(ValueError, match=r"kaiming_normal_: mode .* 'fan_avg'"):
        init.kaiming_normal_(ts.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match=r"calculate_gain: unsupported nonlinearity 'swish'"):
        init.kaiming_uniform_(ts.empty(3, 4), nonlinearity="swish")
    with pytest.raises(ValueError, match=r"calculate_gain: negative_slope True"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError,
                       match=r"init: fan in and fan out .*kaiming_normal_ got shape \(5,\)"):
        init.kaiming_normal_(ts.empty(5))
    with pytest.raises(ValueError,
                       match=r"init: fan in and fan out .*xavier_uniform_ got shape \(5,\)"):
        init.xavier_uniform_(ts.empty(5))
    with pytest.raises(ValueError, match=r"eye_: .*2 dimensions.*\(2, 3, 4\)"):
        init.eye_(ts.empty(2, 3, 4))
    with pytest.raises(ValueError, match=r"dirac_: .*3, 4, or 5 dimensions.*\(2, 3\)"):
        init.dirac_(ts.empty(2, 3))
    with pytest.raises(ValueError, match=r"dirac_: dim 0 \(5\) .*groups=2"):
        init.dirac_(ts.empty(5, 2, 3), groups=2)
    with pytest.raises(TypeError, match=r"generator must be a tinyseq Generator, got Generator"):
        init.kaiming_normal_(ts.empty(3, 4), generator=torch.Generator())
    with pytest.raises(TypeError, match=r"generator must be a tinyseq Generator, got Generator"):
        init.xavier_normal_(ts.empty(3, 4), generator=torch.Generator())
    with pytest.raises(TypeError, match=r"trunc_normal_: .*int64"):
        init.trunc_normal_(ts.zeros(3, dtype=ts.int64))


def test_mode_is_case_insensitive_and_generator_none_accepted():
    ts.manual_seed(3)
    t = init.kaiming_normal_(ts.empty(200, 300, dtype=ts.float64), mode="FAN_OUT",
                             nonlinearity="relu", generator=None)
    assert abs(float(t.std()) - math.sqrt(2 / 200)) < 0.02 * math.sqrt(2 / 200)


def test_kaiming_on_empty_tensor_warns_and_leaves_it():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = ts.empty(0, 3)
        assert init.kaiming_normal_(t) is t
    assert any("zero-element" in str(w.message) for w in caught)


def test_trunc_normal_far_mean_warns():
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(ts.empty(10), mean=10.0)


# --- conv1d ------------------------------------------------------------------------------------

# (input shape, weight shape, stride, padding, dilation, groups, bias)
CONV1D_CASES = [
    ((2, 3, 9), (4, 3, 3), 1, 0, 1, 1, True),
    ((1, 2, 10), (3, 2, 4), 2, 1, 1, 1, False),
    ((2, 4, 11), (6, 2, 3), 1, 2, 2, 2, True),
    ((3, 6, 8), (6, 1, 3), 3, (1,), 1, 6, True),
    ((2, 4, 9), (4, 4, 4), 1, "same", 1, 1, True),
    ((2, 3, 12), (3, 1, 3), 1, "same", 3, 3, False),
    ((1, 2, 7), (2, 2, 5), 2, "valid", (1,), 1, True),
    ((3, 9), (4, 3, 2), 1, 1, 2, 1, True),                   # unbatched
]


def _leaves(rng, in_shape, w_shape, bias):
    arrays = [rng.standard_normal(in_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    return arrays


@pytest.mark.parametrize("case", CONV1D_CASES)
def test_conv1d_matches_torch_values_and_gradients(case):
    in_shape, w_shape, stride, padding, dilation, groups, bias = case
    arrays = _leaves(np.random.default_rng(0), in_shape, w_shape, bias)
    ours = [ts.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = F.conv1d(*ours[:2], ours[2] if bias else None, stride, padding, dilation, groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # PyTorch's note on "same" with an even kernel
        expected = torch.nn.functional.conv1d(*theirs[:2], theirs[2] if bias else None, stride,
                                              padding, dilation, groups)
    assert tuple(y.shape) == tuple(expected.shape)
    assert_close(y, expected.detach().numpy(), atol=1e-12)
    weights = np.random.default_rng(1).standard_normal(expected.shape)
    (y * ts.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for mine, torch_leaf in zip(ours, theirs):
        assert_close(mine.grad, torch_leaf.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("case", CONV1D_CASES[:6])
def test_conv1d_gradcheck(case):
    in_shape, w_shape, stride, padding, dilation, groups, bias = case
    leaves = [ts.tensor(a, requires_grad=True)
              for a in _leaves(np.random.default_rng(2), in_shape, w_shape, bias)]

    def fn(x, w, *b):
        return F.conv1d(x, w, b[0] if b else None, stride, padding, dilation, groups)

    gradcheck(fn, leaves)


def test_conv1d_module_matches_torch_with_copied_weights():
    torch.manual_seed(0)
    theirs = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    ours = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, dtype=ts.float64)
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape) == (6, 2, 3)
    ours.load_state_dict({k: ts.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((2, 4, 13))
    assert_close(ours(ts.tensor(x)), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    assert_close(ours(ts.tensor(x[0])), theirs(torch.tensor(x[0])).detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(), dict(padding=1, dilation=2, groups=2, bias=False),
                                    dict(padding="same"), dict(padding="valid", stride=3)])
def test_conv1d_module_attributes_and_repr_as_torch(kwargs):
    ours, theirs = nn.Conv1d(4, 6, 3, **kwargs), torch.nn.Conv1d(4, 6, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "stride", "padding", "dilation", "groups", "padding_mode"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert (ours.bias is None) == (theirs.bias is None)


def test_conv1d_init_bound_is_pytorchs():
    """weight and bias uniform in ±1/sqrt(in / groups * k) = ±1/sqrt(4 / 2 * 8) = ±0.25."""
    ts.manual_seed(4)
    layer = nn.Conv1d(4, 600, 8, groups=2, dtype=ts.float64)
    weight, bias = layer.weight.numpy(), layer.bias.numpy()
    assert weight.shape == (600, 2, 8) and layer.weight.dtype == ts.float64
    assert 0.245 < weight.max() < 0.25 and -0.25 <= weight.min() < -0.245
    assert abs(weight.std() - 0.25 / math.sqrt(3)) < 0.005
    assert np.abs(bias).max() <= 0.25


def test_conv1d_errors():
    x, w = ts.randn(2, 4, 9), ts.randn(6, 2, 3)
    with pytest.raises(ValueError, match=r"conv1d: input has 4 channels but weight \(6, 2, 3\) "
                                         r"with groups=1 expects 2"):
        F.conv1d(x, w)
    with pytest.raises(ValueError, match=r"conv1d: groups=4 must divide"):
        F.conv1d(x, ts.randn(6, 1, 3), groups=4)
    with pytest.raises(ValueError, match=r"conv1d: padding='same' .*stride=2"):
        F.conv1d(x, w, padding="same", stride=2, groups=2)
    with pytest.raises(ValueError, match=r"conv1d: invalid padding string 'full'"):
        F.conv1d(x, w, padding="full", groups=2)
    with pytest.raises(ValueError, match=r"conv1d: expected input \(N, C, L\).*\(2, 4, 9, 1\)"):
        F.conv1d(ts.randn(2, 4, 9, 1), w)
    with pytest.raises(ValueError, match=r"conv1d: kernel reaching 9 .*longer than the padded"):
        F.conv1d(ts.randn(2, 4, 5), w, dilation=4, groups=2)
    with pytest.raises(ValueError, match=r"conv1d: dilation must be at least 1, got 0"):
        F.conv1d(x, w, dilation=0, groups=2)
    with pytest.raises(TypeError, match=r"conv1d: stride must be an int .*\(1, 2\)"):
        F.conv1d(x, w, stride=(1, 2), groups=2)
    with pytest.raises(ValueError, match=r"conv1d: bias \(4,\) does not fit"):
        F.conv1d(x, w, ts.randn(4), groups=2)


def test_conv1d_module_errors():
    with pytest.raises(ValueError, match=r"Conv1d: in_channels \(4\) and out_channels \(6\) "
                                         r"must be divisible by groups \(4\)"):
        nn.Conv1d(4, 6, 3, groups=4)
    assert nn.Conv1d(4, 6, 3, padding_mode="reflect").padding_mode == "reflect"
    with pytest.raises(ValueError, match=r"Conv1d: padding_mode must be one of .*'mirror'"):
        nn.Conv1d(4, 6, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"Conv1d: padding='same' .*stride=2"):
        nn.Conv1d(4, 6, 3, stride=2, padding="same")

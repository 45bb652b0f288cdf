"""tinyseq.distributions: Categorical, OneHotCategorical, Bernoulli, Normal and
kl_divergence. Values and gradients of log_prob, entropy, mean, variance, rsample and KL are
checked against torch.distributions as the oracle (those tests skip without it); samples for
shape, dtype, frequencies and reproducibility; and the errors PyTorch raises."""
import math

import numpy as np
import pytest

import tinyseq as ts
from tinyseq.distributions import (Bernoulli, Categorical, Distribution, Normal,
                                   OneHotCategorical, kl_divergence, register_kl)

_rng = np.random.default_rng(11)


def torch_module():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def pair(array):
    """The same float64 values as a tinyseq and a torch leaf that require grad."""
    torch = torch_module()
    return (ts.tensor(array, dtype=ts.float64, requires_grad=True),
            torch.tensor(array, dtype=torch.float64, requires_grad=True))


def close(ours, theirs, atol=1e-10):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9,
                               atol=atol)


def grads_close(ours, theirs, our_leaves, their_leaves):
    """Backpropagates a random weighting of both outputs and compares the leaves' grads."""
    torch = torch_module()
    weights = _rng.standard_normal(tuple(ours.shape))
    (ours * ts.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    for mine, other in zip(our_leaves, their_leaves):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-8,
                                   atol=1e-10)


# ---------------------------------------------------------------- without torch

def test_categorical_hand_computed_values():
    d = Categorical(probs=ts.tensor([1.0, 3.0], dtype=ts.float64))     # normalised to 1/4, 3/4
    np.testing.assert_allclose(d.probs.numpy(), [0.25, 0.75])
    np.testing.assert_allclose(d.log_prob(ts.tensor([0, 1])).numpy(),
                               [math.log(0.25), math.log(0.75)])
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert d.entropy().item() == pytest.approx(entropy)
    assert d.batch_shape == () and d.event_shape == () and d.param_shape == (2,)
    assert np.isnan(d.mean.numpy()) and np.isnan(d.variance.numpy())
    logits = Categorical(logits=ts.tensor([0.0, math.log(3.0)], dtype=ts.float64))
    np.testing.assert_allclose(logits.probs.numpy(), [0.25, 0.75])
    np.testing.assert_allclose(logits.logits.numpy(), [math.log(0.25), math.log(0.75)])


def test_normal_hand_computed_values():
    d = Normal(1.0, 2.0)
    x = ts.tensor(3.0)
    expected = -((3 - 1) ** 2) / (2 * 4) - math.log(2) - 0.5 * math.log(2 * math.pi)
    assert d.log_prob(x).item() == pytest.approx(expected, rel=1e-6)
    assert d.entropy().item() == pytest.approx(0.5 + 0.5 * math.log(2 * math.pi) + math.log(2),
                                               rel=1e-6)
    assert d.mean.item() == 1.0 and d.stddev.item() == 2.0 and d.variance.item() == 4.0
    assert d.batch_shape == () and d.loc.dtype == ts.float32        # numbers: default dtype
    # KL(N(0, 1) || N(1, 2)) = log 2 + (1 + 1) / 8 - 1/2
    kl = kl_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0)).item()
    assert kl == pytest.approx(math.log(2) + 2 / 8 - 0.5, rel=1e-6)


def test_bernoulli_hand_computed_values():
    d = Bernoulli(probs=ts.tensor([0.25, 1.0], dtype=ts.float64))
    np.testing.assert_allclose(d.log_prob(ts.tensor([1.0, 1.0], dtype=ts.float64)).numpy(),
                               [math.log(0.25), 0.0], atol=1e-12)
    np.testing.assert_allclose(d.mean.numpy(), [0.25, 1.0])
    np.testing.assert_allclose(d.variance.numpy(), [0.1875, 0.0])
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert d.entropy().numpy()[0] == pytest.approx(entropy)
    assert Bernoulli(logits=ts.tensor(0.0)).probs.item() == 0.5
    # KL(B(1/2) || B(1/4)) = 1/2 log 2 + 1/2 log(2/3)
    kl = kl_divergence(Bernoulli(0.5), Bernoulli(0.25)).item()
    assert kl == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=1e-6)


def test_categorical_samples_follow_the_probabilities():
    probs = np.array([0.1, 0.2, 0.3, 0.0, 0.4])
    samples = Categorical(probs=ts.tensor(probs)).sample((20000,))
    assert samples.shape == (20000,) and samples.dtype == ts.int64
    frequencies = np.bincount(samples.numpy(), minlength=5) / 20000
    np.testing.assert_allclose(frequencies, probs, atol=0.015)
    assert frequencies[3] == 0                                          # probability 0: never


def test_categorical_sample_shapes_with_a_batch():
    d = Categorical(logits=ts.zeros(4, 3, 6))
    assert d.batch_shape == (4, 3)
    assert d.sample().shape == (4, 3)
    assert d.sample((2, 5)).shape == (2, 5, 4, 3)
    assert int(d.sample((100,)).max()) <= 5 and int(d.sample((100,)).min()) >= 0
    # rows are drawn each from their own probabilities
    rows = Categorical(probs=ts.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])).sample((50,))
    assert (rows.numpy()[:, 0] == 0).all() and (rows.numpy()[:, 1] == 2).all()
    assert d.enumerate_support().shape == (6, 4, 3)
    np.testing.assert_array_equal(d.enumerate_support(expand=False).numpy().ravel(),
                                  np.arange(6))


def test_samples_are_reproducible_under_manual_seed():
    dists = [Categorical(logits=ts.randn(3, 4)), Normal(ts.zeros(3), ts.ones(3)),
             Bernoulli(ts.full((3,), 0.4)), OneHotCategorical(probs=ts.ones(4))]
    for d in dists:
        ts.manual_seed(5)
        first = d.sample((7,)).numpy()
        ts.manual_seed(5)
        second = d.sample((7,)).numpy()
        ts.manual_seed(6)
        third = d.sample((7,)).numpy()
        np.testing.assert_array_equal(first, second)
        assert not np.array_equal(first, third)


def test_normal_samples_and_rsample():
    loc, scale = ts.tensor([1.0, -2.0], requires_grad=True), ts.tensor([0.5, 3.0])
    d = Normal(loc, scale)
    samples = d.sample((20000,))
    assert samples.shape == (20000, 2) and samples.dtype == ts.float32
    assert not samples.requires_grad
    np.testing.assert_allclose(samples.numpy().mean(0), [1.0, -2.0], atol=0.06)
    np.testing.assert_allclose(samples.numpy().std(0), [0.5, 3.0], rtol=0.03)
    r = d.rsample((3,))
    assert r.shape == (3, 2) and r.requires_grad
    r.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])        # d(loc + eps s)/d loc = 1


def test_bernoulli_samples():
    samples = Bernoulli(ts.tensor([0.0, 0.3, 1.0])).sample((20000,))
    assert samples.shape == (20000, 3) and samples.dtype == ts.float32
    np.testing.assert_allclose(samples.numpy().mean(0), [0.0, 0.3, 1.0], atol=0.015)
    assert set(np.unique(samples.numpy())) <= {0.0, 1.0}


def test_one_hot_categorical():
    d = OneHotCategorical(probs=ts.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    samples = d.sample((10,))
    assert samples.shape == (10, 2, 3) and samples.dtype == ts.float32
    np.testing.assert_array_equal(samples.numpy().sum(-1), 1)
    np.testing.assert_array_equal(samples.numpy()[:, 1], [[0, 0, 1]] * 10)
    np.testing.assert_allclose(d.log_prob(ts.tensor([[1.0, 0, 0], [0, 0, 1]])).numpy(),
                               [math.log(0.5), 0.0], atol=1e-6)
    assert d.enumerate_support().shape == (3, 2, 3)


def test_errors():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Categorical(probs=ts.ones(3), logits=ts.ones(3))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Categorical()
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Bernoulli()
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Categorical(probs=ts.tensor(1.0))
    with pytest.raises(ValueError, match="parameter scale .* distribution Normal.*GreaterThan"):
        Normal(ts.zeros(2), ts.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="parameter scale .* distribution Normal"):
        Normal(0.0, 0.0)
    with pytest.raises(ValueError, match="parameter probs .* distribution Bernoulli.*Interval"):
        Bernoulli(ts.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="parameter probs .* distribution Categorical.*Simplex"):
        Categorical(probs=ts.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="parameter loc .* distribution Normal"):
        Normal(float("nan"), 1.0)
    with pytest.raises(ValueError, match="within the support .*IntegerInterval"):
        Categorical(logits=ts.zeros(3)).log_prob(ts.tensor([3]))
    with pytest.raises(ValueError, match="within the support .*Boolean"):
        Bernoulli(0.5).log_prob(ts.tensor(0.5))
    with pytest.raises(ValueError, match="not broadcastable"):
        Categorical(logits=ts.zeros(2, 3)).log_prob(ts.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="must be a Tensor"):
        Normal(0.0, 1.0).log_prob(0.5)
    with pytest.raises(NotImplementedError, match="p type Normal and q type Bernoulli"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(0.5))
    with pytest.raises(NotImplementedError):
        Categorical(logits=ts.zeros(3)).rsample()
    # validate_args=False skips the checks, as PyTorch
    assert Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0


def test_default_validation_can_be_switched_off():
    Distribution.set_default_validate_args(False)
    try:
        Normal(0.0, -1.0)
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        Normal(0.0, -1.0)


def test_register_kl_adds_a_pair():
    class Shifted(Normal):
        pass

    @register_kl(Shifted, Bernoulli)
    def _kl(p, q):
        return ts.tensor(7.0)

    assert kl_divergence(Shifted(0.0, 1.0), Bernoulli(0.5)).item() == 7.0
    # a subclass falls back on its base's pair
    assert kl_divergence(Shifted(0.0, 1.0), Normal(0.0, 1.0)).item() == 0.0


# ---------------------------------------------------------------- against torch

@pytest.mark.parametrize("given", ["probs", "logits"])
def test_categorical_matches_torch(given):
    torch = torch_module()
    raw = _rng.random((4, 3, 5)) + 0.05 if given == "probs" else _rng.standard_normal((4, 3, 5))
    ours_param, their_param = pair(raw)
    ours = Categorical(**{given: ours_param})
    theirs = torch.distributions.Categorical(**{given: their_param})
    assert ours.batch_shape == tuple(theirs.batch_shape)
    close(ours.probs, theirs.probs)
    close(ours.logits, theirs.logits)
    # values broadcasting against the batch: (2, 1, 3) with batch (4, 3)
    values = _rng.integers(0, 5, (2, 1, 3))
    ours_lp = ours.log_prob(ts.tensor(values))
    theirs_lp = theirs.log_prob(torch.tensor(values))
    assert ours_lp.shape == tuple(theirs_lp.shape) == (2, 4, 3)
    close(ours_lp, theirs_lp)
    grads_close(ours_lp, theirs_lp, [ours_param], [their_param])
    ours_param.grad, their_param.grad = None, None
    ours = Categorical(**{given: ours_param})
    theirs = torch.distributions.Categorical(**{given: their_param})
    close(ours.entropy(), theirs.entropy())
    grads_close(ours.entropy(), theirs.entropy(), [ours_param], [their_param])


def test_categorical_entropy_with_zero_probabilities_matches_torch():
    torch = torch_module()
    probs = np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    close(Categorical(probs=ts.tensor(probs)).entropy(),
          torch.distributions.Categorical(probs=torch.tensor(probs)).entropy())
    logits = np.array([0.0, -math.inf, 1.0])
    close(Categorical(logits=ts.tensor(logits)).entropy(),
          torch.distributions.Categorical(logits=torch.tensor(logits)).entropy())


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_bernoulli_matches_torch(given):
    torch = torch_module()
    raw = _rng.uniform(0.05, 0.95, (3, 4)) if given == "probs" else \
        _rng.standard_normal((3, 4)) * 3
    ours_param, their_param = pair(raw)
    ours = Bernoulli(**{given: ours_param})
    theirs = torch.distributions.Bernoulli(**{given: their_param})
    values = (_rng.random((2, 1, 4)) < 0.5).astype(np.float64)
    for name in ["mean", "variance", "stddev", "probs", "logits"]:
        close(getattr(ours, name), getattr(theirs, name))
    ours_lp = ours.log_prob(ts.tensor(values))
    theirs_lp = theirs.log_prob(torch.tensor(values))
    assert ours_lp.shape == tuple(theirs_lp.shape) == (2, 3, 4)
    close(ours_lp, theirs_lp)
    grads_close(ours_lp, theirs_lp, [ours_param], [their_param])
    ours_param.grad, their_param.grad = None, None
    # new distributions: the first backward freed the graph of their cached parameters
    ours = Bernoulli(**{given: ours_param})
    theirs = torch.distributions.Bernoulli(**{given: their_param})
    close(ours.entropy(), theirs.entropy())
    grads_close(ours.entropy(), theirs.entropy(), [ours_param], [their_param])


def test_bernoulli_log_prob_is_stable_for_large_logits():
    torch = torch_module()
    logits = np.array([-200.0, 200.0, 50.0])
    values = np.array([1.0, 0.0, 1.0])
    ours = Bernoulli(logits=ts.tensor(logits)).log_prob(ts.tensor(values))
    theirs = torch.distributions.Bernoulli(logits=torch.tensor(logits)).log_prob(
        torch.tensor(values))
    assert np.isfinite(ours.numpy()).all()
    close(ours, theirs)


def test_normal_matches_torch_with_broadcasting():
    torch = torch_module()
    our_loc, their_loc = pair(_rng.standard_normal((3, 1)))
    our_scale, their_scale = pair(_rng.uniform(0.2, 2.0, (4,)))
    ours, theirs = Normal(our_loc, our_scale), torch.distributions.Normal(their_loc, their_scale)
    assert ours.batch_shape == tuple(theirs.batch_shape) == (3, 4)
    for name in ["mean", "stddev", "variance"]:
        close(getattr(ours, name), getattr(theirs, name))
    values = _rng.standard_normal((2, 3, 4))
    ours_lp, theirs_lp = ours.log_prob(ts.tensor(values)), theirs.log_prob(torch.tensor(values))
    close(ours_lp, theirs_lp)
    grads_close(ours_lp, theirs_lp, [our_loc, our_scale], [their_loc, their_scale])
    for leaf in [our_loc, our_scale, their_loc, their_scale]:
        leaf.grad = None
    ours, theirs = Normal(our_loc, our_scale), torch.distributions.Normal(their_loc, their_scale)
    close(ours.entropy(), theirs.entropy())
    grads_close(ours.entropy(), theirs.entropy(), [our_scale], [their_scale])


def test_normal_number_and_tensor_parameters_match_torch():
    torch = torch_module()
    loc = _rng.standard_normal(3)
    ours = Normal(ts.tensor(loc), 2.0)
    theirs = torch.distributions.Normal(torch.tensor(loc), 2.0)
    assert ours.scale.dtype == ts.float64 and ours.scale.shape == (3,)
    close(ours.log_prob(ts.tensor(0.5, dtype=ts.float64)),
          theirs.log_prob(torch.tensor(0.5, dtype=torch.float64)))


def test_normal_rsample_gradient_matches_torch():
    torch = torch_module()
    our_loc, their_loc = pair(_rng.standard_normal(3))
    our_scale, their_scale = pair(_rng.uniform(0.5, 2.0, 3))
    sample = Normal(our_loc, our_scale).rsample((5,))
    eps = (sample.detach().numpy() - our_loc.detach().numpy()) / our_scale.detach().numpy()
    # torch's sample from the same eps: loc + eps scale
    theirs = their_loc + torch.tensor(eps) * their_scale
    close(sample, theirs)
    grads_close(sample, theirs, [our_loc, our_scale], [their_loc, their_scale])
    np.testing.assert_allclose(our_scale.grad.numpy(), their_scale.grad.numpy())


def test_kl_normal_matches_torch():
    torch = torch_module()
    leaves = [pair(_rng.standard_normal((2, 3))), pair(_rng.uniform(0.3, 2.0, (2, 3))),
              pair(_rng.standard_normal(3)), pair(_rng.uniform(0.3, 2.0, (3,)))]
    ours = kl_divergence(Normal(leaves[0][0], leaves[1][0]), Normal(leaves[2][0], leaves[3][0]))
    theirs = torch.distributions.kl_divergence(
        torch.distributions.Normal(leaves[0][1], leaves[1][1]),
        torch.distributions.Normal(leaves[2][1], leaves[3][1]))
    assert ours.shape == tuple(theirs.shape) == (2, 3)
    close(ours, theirs)
    grads_close(ours, theirs, [o for o, _ in leaves], [t for _, t in leaves])


@pytest.mark.parametrize("cls", ["Categorical", "OneHotCategorical"])
def test_kl_categorical_matches_torch(cls):
    torch = torch_module()
    (our_p, their_p), (our_q, their_q) = pair(_rng.standard_normal((2, 4))), \
        pair(_rng.random(4) + 0.1)
    ours = kl_divergence(getattr(ts.distributions, cls)(logits=our_p),
                         getattr(ts.distributions, cls)(probs=our_q))
    theirs = torch.distributions.kl_divergence(
        getattr(torch.distributions, cls)(logits=their_p),
        getattr(torch.distributions, cls)(probs=their_q))
    close(ours, theirs)
    grads_close(ours, theirs, [our_p, our_q], [their_p, their_q])


def test_kl_categorical_with_zeros_matches_torch():
    torch = torch_module()
    p, q = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]), np.array([[0.2, 0.3, 0.5],
                                                                   [0.0, 0.5, 0.5]])
    ours = kl_divergence(Categorical(probs=ts.tensor(p)), Categorical(probs=ts.tensor(q)))
    theirs = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=torch.tensor(p)),
        torch.distributions.Categorical(probs=torch.tensor(q)))
    assert math.isinf(ours.numpy()[1])
    close(ours, theirs)


def test_kl_bernoulli_matches_torch():
    torch = torch_module()
    (our_p, their_p), (our_q, their_q) = pair(_rng.uniform(0.05, 0.95, (2, 3))), \
        pair(_rng.standard_normal((2, 3)))
    ours = kl_divergence(Bernoulli(probs=our_p), Bernoulli(logits=our_q))
    theirs = torch.distributions.kl_divergence(torch.distributions.Bernoulli(probs=their_p),
                                               torch.distributions.Bernoulli(logits=their_q))
    close(ours, theirs)
    grads_close(ours, theirs, [our_p, our_q], [their_p, their_q])
    edge_p, edge_q = np.array([0.0, 1.0, 0.5, 0.5]), np.array([0.5, 0.5, 0.0, 1.0])
    close(kl_divergence(Bernoulli(ts.tensor(edge_p)), Bernoulli(ts.tensor(edge_q))),
          torch.distributions.kl_divergence(torch.distributions.Bernoulli(torch.tensor(edge_p)),
                                            torch.distributions.Bernoulli(torch.tensor(edge_q))))


def test_one_hot_categorical_matches_torch():
    torch = torch_module()
    our_logits, their_logits = pair(_rng.standard_normal((3, 4)))
    ours = OneHotCategorical(logits=our_logits)
    theirs = torch.distributions.OneHotCategorical(logits=their_logits)
    values = np.eye(4)[_rng.integers(0, 4, (2, 3))]
    ours_lp = ours.log_prob(ts.tensor(values))
    theirs_lp = theirs.log_prob(torch.tensor(values))
    close(ours_lp, theirs_lp)
    grads_close(ours_lp, theirs_lp, [our_logits], [their_logits])
    for name in ["mean", "variance"]:
        close(getattr(ours, name), getattr(theirs, name))
    close(ours.entropy(), theirs.entropy())
    np.testing.assert_array_equal(ours.enumerate_support().numpy(),
                                  theirs.enumerate_support().numpy())


def test_enumerate_support_matches_torch():
    torch = torch_module()
    for name, kwargs in [("Categorical", {"logits": np.zeros((2, 3, 4))}),
                         ("Bernoulli", {"probs": np.full((2, 3), 0.5)})]:
        ours = getattr(ts.distributions, name)(**{k: ts.tensor(v) for k, v in kwargs.items()})
        theirs = getattr(torch.distributions, name)(
            **{k: torch.tensor(v) for k, v in kwargs.items()})
        for expand in [True, False]:
            a, b = ours.enumerate_support(expand), theirs.enumerate_support(expand)
            assert a.shape == tuple(b.shape)
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_normal_cdf_as_torchs():
    torch = pytest.importorskip("torch")
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    values = np.array([[0.3, 1.2, -9.0], [-1.0, 0.0, 5.0]])
    ours_loc = ts.tensor(loc, requires_grad=True)
    theirs_loc = torch.tensor(loc, requires_grad=True)
    ours = ts.distributions.Normal(ours_loc, ts.tensor(scale)).cdf(ts.tensor(values))
    theirs = torch.distributions.Normal(theirs_loc, torch.tensor(scale)).cdf(torch.tensor(values))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(ours_loc.grad.numpy(), theirs_loc.grad.numpy(), rtol=1e-13)
    assert ts.distributions.Normal(0.0, 1.0).cdf(ts.tensor(0.0)).item() == 0.5

"""NAdam, RAdam, Adamax, Rprop and ASGD; CosineAnnealingWarmRestarts, CyclicLR, PolynomialLR
and ChainedScheduler; nn.utils.parameters_to_vector and vector_to_parameters: step by step
against PyTorch in float64 where it is installed, by hand where it is not, through their state
dicts, and their argument checks."""
import copy
import math

import numpy
import pytest

import tinyseq as ts
from test_lr_scheduler_tail import (TORCH_ONLY_KEYS, group_hyperparameters, group_options,
                                    needs_torch, same_values, two_group_optimizer)
from tinyseq import nn, optim

try:
    import torch
except ImportError:
    torch = None

lr_scheduler = optim.lr_scheduler
# flags of PyTorch's optimizers that change nothing on the CPU, which tinyseq does not take
TORCH_ONLY_GROUP_KEYS = {"foreach", "capturable", "differentiable"}


@pytest.fixture
def torch_float64():
    """PyTorch keeps NAdam's mu_product and ASGD's eta and mu as 0-d tensors of its default
    dtype; float64 makes them the Python floats tinyseq keeps."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


# --- optimizers ------------------------------------------------------------------------------
# name: (optimizer, keyword arguments): every option that changes the math
OPTIMIZERS = {
    "nadam": ("NAdam", dict()),
    "nadam_l2": ("NAdam", dict(lr=0.05, weight_decay=0.1)),
    "nadam_decoupled": ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    "nadam_momentum_decay_maximize": ("NAdam", dict(lr=0.03, betas=(0.8, 0.95), eps=1e-6,
                                                    momentum_decay=0.05, maximize=True)),
    "radam": ("RAdam", dict()),
    "radam_l2_short_average": ("RAdam", dict(lr=0.05, betas=(0.85, 0.8), weight_decay=0.1)),
    "radam_decoupled_maximize": ("RAdam", dict(lr=0.05, weight_decay=0.2,
                                               decoupled_weight_decay=True, maximize=True)),
    "adamax": ("Adamax", dict()),
    "adamax_all": ("Adamax", dict(lr=0.05, betas=(0.7, 0.9), eps=1e-4, weight_decay=0.1,
                                  maximize=True)),
    "rprop": ("Rprop", dict()),
    "rprop_all": ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2),
                                maximize=True)),
    "asgd": ("ASGD", dict()),
    "asgd_all": ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=4, weight_decay=0.1,
                              maximize=True)),
}
SHAPES = [(3, 4), (4,), (2, 3)]


def _values(rng):
    return [rng.standard_normal(shape) for shape in SHAPES]


def _pair(name):
    """The same optimizer in tinyseq and PyTorch over the same three float64 parameters, in
    two param groups (the second with its own lr)."""
    kind, kwargs = OPTIMIZERS[name]
    start = _values(numpy.random.default_rng(0))
    ours = [ts.tensor(v, requires_grad=True) for v in start]
    theirs = [torch.tensor(v, requires_grad=True) for v in start]
    opt = getattr(optim, kind)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.02}],
                               **kwargs)
    topt = getattr(torch.optim, kind)([{"params": theirs[:2]}, {"params": theirs[2:],
                                                                "lr": 0.02}], **kwargs)
    return ours, theirs, opt, topt


def _gradients(steps, seed=1):
    """Random gradients; every third step's flip sign, which Rprop and RAdam react to."""
    rng = numpy.random.default_rng(seed)
    return [[(-1) ** (step % 3 == 2) * g for g in _values(rng)] for step in range(steps)]


def _step_both(ours, theirs, opt, topt, grads):
    for step_grads in grads:
        for p, tp, g in zip(ours, theirs, step_grads):
            p.grad, tp.grad = ts.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-12)


def _state_value(value):
    if isinstance(value, ts.Tensor):
        return value.numpy()
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return numpy.asarray(value)


@needs_torch
@pytest.mark.usefixtures("torch_float64")
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch_step_by_step(name):
    ours, theirs, opt, topt = _pair(name)
    start = [p.numpy().copy() for p in ours]
    _step_both(ours, theirs, opt, topt, _gradients(15))
    for p, before in zip(ours, start):
        assert numpy.abs(p.numpy() - before).max() > 1e-3    # it did move
    saved, tsaved = opt.state_dict(), topt.state_dict()
    assert sorted(saved["state"]) == sorted(tsaved["state"]) == [0, 1, 2]
    for index, entry in tsaved["state"].items():
        assert set(saved["state"][index]) == set(entry)
        for key, value in entry.items():
            numpy.testing.assert_allclose(_state_value(saved["state"][index][key]),
                                          _state_value(value), rtol=1e-12, atol=1e-12)
    for group, tgroup in zip(saved["param_groups"], tsaved["param_groups"]):
        assert set(group) == set(tgroup) - TORCH_ONLY_GROUP_KEYS
        assert group == {key: tgroup[key] for key in group}


@needs_torch
def test_defaults_are_pytorchs():
    for kind in ("NAdam", "RAdam", "Adamax", "Rprop", "ASGD"):
        ours = getattr(optim, kind)([ts.zeros(2, requires_grad=True)]).defaults
        theirs = getattr(torch.optim, kind)([torch.zeros(2, requires_grad=True)]).defaults
        assert ours == {key: theirs[key] for key in ours}, kind
        assert set(theirs) - set(ours) == TORCH_ONLY_GROUP_KEYS, kind


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name, tmp_path):
    kind, kwargs = OPTIMIZERS[name]
    start = _values(numpy.random.default_rng(0))
    params = [ts.tensor(v, requires_grad=True) for v in start]
    opt = getattr(optim, kind)([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}],
                               **kwargs)
    grads = _gradients(8, seed=2)

    def run(params, opt, grads):
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = ts.tensor(g)
            opt.step()

    run(params, opt, grads[:4])
    ts.save({"params": [p.detach() for p in params], "opt": opt.state_dict()}, tmp_path / "s")
    saved = ts.load(tmp_path / "s")
    resumed = [ts.tensor(p.numpy(), requires_grad=True) for p in saved["params"]]
    # other hyperparameters: the saved ones replace them
    resumed_opt = getattr(optim, kind)([{"params": resumed[:2]}, {"params": resumed[2:]}],
                                       lr=0.5)
    resumed_opt.load_state_dict(saved["opt"])
    assert [g["lr"] for g in resumed_opt.param_groups] == [kwargs.get("lr", opt.defaults["lr"]),
                                                           0.02]
    run(params, opt, grads[4:])
    run(resumed, resumed_opt, grads[4:])
    for p, q in zip(params, resumed):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy())
    assert resumed_opt.state[resumed[0]]["step"] == 8


@needs_torch
@pytest.mark.usefixtures("torch_float64")
@pytest.mark.parametrize("name", ["nadam_decoupled", "asgd_all", "rprop_all", "radam"])
def test_pytorchs_state_dict_loads_and_continues_as_pytorch(name):
    """Its 0-d tensors (step, NAdam's mu_product, ASGD's eta and mu) load as numbers."""
    ours, theirs, opt, topt = _pair(name)
    grads = _gradients(10, seed=3)
    for step_grads in grads[:4]:
        for tp, g in zip(theirs, step_grads):
            tp.grad = torch.tensor(g)
        topt.step()
    tsaved = topt.state_dict()
    opt.load_state_dict({
        "state": {i: {k: ts.tensor(v.detach().numpy()) for k, v in entry.items()}
                  for i, entry in tsaved["state"].items()},
        "param_groups": tsaved["param_groups"]})
    assert opt.state[ours[0]]["step"] == 4
    for p, tp in zip(ours, theirs):
        with ts.no_grad():
            p.copy_(ts.tensor(tp.detach().numpy()))
    _step_both(ours, theirs, opt, topt, grads[4:])


def _first_steps(kind, kwargs, grads, start=(1.0, -2.0, 0.5)):
    p = ts.tensor(numpy.array(start), requires_grad=True)
    opt = getattr(optim, kind)([p], **kwargs)
    seen = []
    for g in grads:
        p.grad = ts.tensor(numpy.array(g))
        opt.step()
        seen.append(p.numpy().copy())
    return seen, opt.state[p]


G = numpy.array([0.5, -0.25, 0.0])
P = numpy.array([1.0, -2.0, 0.5])


def test_nadam_first_step_by_hand():
    (after,), state = _first_steps("NAdam", dict(lr=0.1), [G])
    mu1, mu2 = (0.9 * (1 - 0.5 * 0.96 ** (t * 0.004)) for t in (1, 2))
    denominator = numpy.abs(G) + 1e-8                   # sqrt(v / (1 - b2)) = |g|
    expected = P - 0.1 * G / denominator - 0.1 * mu2 / (1 - mu1 * mu2) * 0.1 * G / denominator
    numpy.testing.assert_allclose(after, expected, rtol=1e-12, atol=1e-15)
    assert state["mu_product"] == pytest.approx(mu1, rel=1e-15)
    assert state["step"] == 1


def test_nadam_decoupled_decay_scales_the_parameter_first():
    (after,), _ = _first_steps("NAdam", dict(lr=0.1, weight_decay=0.5,
                                             decoupled_weight_decay=True), [[0.0, 0.0, 0.0]])
    numpy.testing.assert_allclose(after, P * (1 - 0.1 * 0.5), rtol=1e-15)


def test_radam_first_steps_are_momentum_sgd_until_the_variance_is_tractable():
    # rho_t = 1, 2, 3 ... <= 5 for the first steps of beta2 0.999: p -= lr m / (1 - b1^t)
    (first, second), _ = _first_steps("RAdam", dict(lr=0.1), [G, G])
    numpy.testing.assert_allclose(first, P - 0.1 * G, rtol=1e-15)
    numpy.testing.assert_allclose(second, P - 0.2 * G, rtol=1e-12)   # m / (1 - b1^2) = g


def test_radam_rectifies_once_rho_passes_5():
    beta2 = 0.5                      # rho_inf = 3: never rectified
    (after,), _ = _first_steps("RAdam", dict(lr=0.1, betas=(0.9, beta2)), [G])
    numpy.testing.assert_allclose(after, P - 0.1 * G, rtol=1e-15)
    grads = [G] * 7
    seen, state = _first_steps("RAdam", dict(lr=0.1, betas=(0.0, 0.9)), grads)
    rho_inf, t = 19.0, 7
    rho = rho_inf - 2 * t * 0.9 ** t / (1 - 0.9 ** t)
    assert rho > 5
    rectification = math.sqrt((rho - 4) * (rho - 2) * rho_inf
                              / ((rho_inf - 4) * (rho_inf - 2) * rho))
    # beta1 0: m = g; v = (1 - 0.9^t) g^2, so sqrt(1 - b2^t) / sqrt(v) = 1 / |g|
    move = 0.1 * G * rectification * math.sqrt(1 - 0.9 ** t) / (
        numpy.sqrt(state["exp_avg_sq"]) + 1e-8)
    numpy.testing.assert_allclose(seen[-1], seen[-2] - move, rtol=1e-12, atol=1e-15)


def test_adamax_first_step_by_hand():
    (after,), state = _first_steps("Adamax", dict(lr=0.1), [G])
    # m = 0.1 g, u = |g| + eps; lr / (1 - 0.9) * m / u = lr g / (|g| + eps)
    numpy.testing.assert_allclose(after, P - 0.1 * G / (numpy.abs(G) + 1e-8), rtol=1e-12)
    numpy.testing.assert_allclose(state["exp_inf"], numpy.abs(G) + 1e-8, rtol=1e-15)


def test_rprop_grows_shrinks_and_holds_by_the_signs():
    flipped = -G
    (first, second, third, fourth), state = _first_steps("Rprop", dict(lr=0.1),
                                                         [G, G, flipped, flipped])
    numpy.testing.assert_allclose(first, P - 0.1 * numpy.sign(G), rtol=1e-15)
    numpy.testing.assert_allclose(second, first - 0.12 * numpy.sign(G), rtol=1e-15)
    numpy.testing.assert_allclose(third, second)       # the sign flipped: no move, step * 0.5
    # the held entries saw "no previous gradient": their step size stays 0.06
    numpy.testing.assert_allclose(fourth, third - 0.06 * numpy.sign(flipped), rtol=1e-15)
    # a zero gradient leaves its entry's step size at lr
    numpy.testing.assert_allclose(state["step_size"], [0.06, 0.06, 0.1], rtol=1e-15)


def test_asgd_first_steps_by_hand():
    (first, second), state = _first_steps("ASGD", dict(lr=0.1, lambd=0.01, alpha=0.5, t0=0),
                                          [G, G])
    numpy.testing.assert_allclose(first, P * (1 - 0.01 * 0.1) - 0.1 * G, rtol=1e-15)
    eta = 0.1 / (1 + 0.01 * 0.1 * 1) ** 0.5
    numpy.testing.assert_allclose(second, first * (1 - 0.01 * eta) - eta * G, rtol=1e-15)
    # mu was 1 / max(1, 1 - t0) = 1 after step 1: the average then moves halfway (mu 1/2)
    assert state["mu"] == 0.5 and state["eta"] == pytest.approx(0.1 / 1.002 ** 0.5, rel=1e-15)
    numpy.testing.assert_allclose(state["ax"], first + (second - first) * 1.0, rtol=1e-15)


# (make(optim module, params), error, message): refused at construction, before anything changes
OPTIMIZER_ERRORS = {
    "nadam_beta": (lambda m, ps: m.NAdam(ps, betas=(0.9, 1.0)), ValueError,
                   r"NAdam: beta2 must be >= 0\.0 and < 1\.0, got 1\.0"),
    "nadam_momentum_decay": (lambda m, ps: m.NAdam(ps, momentum_decay=-1e-3), ValueError,
                             r"NAdam: momentum_decay must be >= 0\.0, got -0\.001"),
    "nadam_flag": (lambda m, ps: m.NAdam(ps, decoupled_weight_decay="yes"), TypeError,
                   "NAdam: decoupled_weight_decay must be True or False, got 'yes'"),
    "nadam_lr": (lambda m, ps: m.NAdam(ps, lr=-1.0), ValueError, "NAdam: lr must be >= 0"),
    "radam_eps": (lambda m, ps: m.RAdam(ps, eps=-1e-8), ValueError,
                  r"RAdam: eps must be >= 0\.0"),
    "radam_weight_decay": (lambda m, ps: m.RAdam(ps, weight_decay=-0.1), ValueError,
                           r"RAdam: weight_decay must be >= 0\.0, got -0\.1"),
    "radam_betas_not_pair": (lambda m, ps: m.RAdam(ps, betas=0.9), TypeError,
                             r"RAdam: betas must be a pair \(beta1, beta2\), got 0\.9"),
    "adamax_beta": (lambda m, ps: m.Adamax(ps, betas=(-0.1, 0.9)), ValueError,
                    r"Adamax: beta1 must be >= 0\.0 and < 1\.0, got -0\.1"),
    "adamax_maximize": (lambda m, ps: m.Adamax(ps, maximize=1), TypeError,
                        "Adamax: maximize must be True or False"),
    "rprop_etas": (lambda m, ps: m.Rprop(ps, etas=(0.5, 0.9)), ValueError,
                   r"Rprop: Invalid eta values: 0\.5, 0\.9"),
    "rprop_etas_not_pair": (lambda m, ps: m.Rprop(ps, etas=1.2), TypeError,
                            "Rprop: etas must be a pair of numbers, got 1.2"),
    "rprop_step_sizes": (lambda m, ps: m.Rprop(ps, step_sizes=(1.0, 0.1)), ValueError,
                         r"Rprop: step_sizes must be \(minimum, maximum\) with 0 <= minimum "
                         r"<= maximum, got \(1\.0, 0\.1\)"),
    "asgd_weight_decay": (lambda m, ps: m.ASGD(ps, weight_decay=-1.0), ValueError,
                          r"ASGD: weight_decay must be >= 0\.0"),
    "asgd_t0": (lambda m, ps: m.ASGD(ps, t0=math.nan), ValueError,
                "ASGD: t0 must be finite, got nan"),
    "asgd_lambd_type": (lambda m, ps: m.ASGD(ps, lambd="0.1"), TypeError,
                        "ASGD: lambd must be a real number"),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_ERRORS))
def test_optimizer_bad_arguments_are_refused(name):
    make, error, message = OPTIMIZER_ERRORS[name]
    p = ts.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        make(optim, [p])
    numpy.testing.assert_array_equal(p.numpy(), [1.0, 2.0])


@needs_torch
@pytest.mark.parametrize("name", sorted(n for n in OPTIMIZER_ERRORS
                                        if n not in ("rprop_step_sizes", "asgd_t0",
                                                     "asgd_lambd_type", "adamax_maximize",
                                                     "nadam_flag", "radam_betas_not_pair",
                                                     "rprop_etas_not_pair")))
def test_pytorch_refuses_them_too(name):
    """The ones tinyseq alone refuses: a reversed step_sizes pair, a NaN t0, a string lambd,
    a non-bool flag and a betas/etas that is not a pair (PyTorch fails later or not at all)."""
    make, _, _ = OPTIMIZER_ERRORS[name]
    with pytest.raises(ValueError):
        make(torch.optim, [torch.zeros(2, requires_grad=True)])


def test_bad_load_of_scalar_state_changes_nothing():
    p = ts.tensor(P, requires_grad=True)
    opt = optim.NAdam([p], lr=0.1)
    p.grad = ts.tensor(G)
    opt.step()
    good = opt.state_dict()
    for broken_value in ("x", math.nan, ts.zeros(3)):
        broken = copy.deepcopy(good)
        broken["state"][0]["mu_product"] = broken_value
        with pytest.raises((TypeError, ValueError), match="NAdam.load_state_dict"):
            opt.load_state_dict(broken)
        assert opt.state[p]["mu_product"] == good["state"][0]["mu_product"]
    broken = copy.deepcopy(good)
    del broken["state"][0]["mu_product"]
    with pytest.raises(ValueError, match=r"missing \['mu_product'\]"):
        opt.load_state_dict(broken)
    opt.load_state_dict({**good, "state": {0: {**good["state"][0],
                                               "mu_product": ts.tensor(0.25)}}})
    assert opt.state[p]["mu_product"] == 0.25


# --- learning-rate schedulers ----------------------------------------------------------------
class Halving:
    """A scale_fn whose state (``rate``) a state dict keeps."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** (x - 1)


SCHEDULERS = {
    "warm_restarts": ("sgd", 60, lambda m, o: m.CosineAnnealingWarmRestarts(o, 7)),
    "warm_restarts_growing": ("adam", 80, lambda m, o: m.CosineAnnealingWarmRestarts(
        o, 3, T_mult=2, eta_min=0.01)),
    "warm_restarts_from_1": ("sgd", 40, lambda m, o: m.CosineAnnealingWarmRestarts(
        o, 1, T_mult=2)),
    "cyclic": ("sgd", 60, lambda m, o: m.CyclicLR(o, 0.01, 0.2, step_size_up=5)),
    "cyclic_triangular2_beta1": ("adam", 80, lambda m, o: m.CyclicLR(
        o, [0.01, 0.02], [0.1, 0.3], step_size_up=3, step_size_down=6, mode="triangular2",
        base_momentum=0.7, max_momentum=[0.9, 0.95])),
    "cyclic_exp_range": ("sgd", 60, lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.97)),
    "cyclic_scale_fn_iterations": ("sgd", 60, lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=2.5, scale_fn=lambda x: 1 / (1 + x / 10),
        scale_mode="iterations", cycle_momentum=False)),
    "cyclic_scale_fn_object": ("adam", 60, lambda m, o: m.CyclicLR(
        o, 0.05, 0.1, step_size_up=4, step_size_down=0, scale_fn=Halving(0.8))),
    "cyclic_no_momentum": ("adadelta", 40, lambda m, o: m.CyclicLR(
        o, 0.1, 1.0, step_size_up=3, cycle_momentum=False)),
    "polynomial": ("sgd", 12, lambda m, o: m.PolynomialLR(o)),
    "polynomial_power": ("adam", 30, lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.5)),
    "polynomial_power_0": ("sgd", 10, lambda m, o: m.PolynomialLR(o, 4, power=0.5)),
    "chained": ("sgd", 40, lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=10), m.ExponentialLR(o, gamma=0.9)])),
    "chained_three": ("adam", 40, lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, 0.2, total_iters=6), m.MultiStepLR(o, [10, 20], gamma=0.5),
         m.PolynomialLR(o, total_iters=30, power=0.5)], optimizer=o)),
    "sequential_into_warm_restarts": ("sgd", 40, lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, total_iters=5), m.CosineAnnealingWarmRestarts(o, 6)], [5])),
    "sequential_into_cyclic": ("adam", 40, lambda m, o: m.SequentialLR(
        o, [m.PolynomialLR(o, total_iters=4), m.CyclicLR(o, 0.01, 0.1, step_size_up=3)],
        [6])),
}


def _compare(ours, theirs, ours_opt, theirs_opt, epochs):
    seen = []
    for epoch in range(epochs + 1):
        if epoch:
            for opt, scheduler in ((ours_opt, ours), (theirs_opt, theirs)):
                opt.step()
                scheduler.step()
        assert getattr(ours, "last_epoch", None) == getattr(theirs, "last_epoch", None)
        same_values(ours.get_last_lr(), theirs.get_last_lr())
        same_values(group_hyperparameters(ours_opt), group_hyperparameters(theirs_opt))
        seen.append(group_hyperparameters(ours_opt))
    assert len({tuple(epoch[0::4]) for epoch in seen}) > 2, seen   # the lrs did move
    return seen


@needs_torch
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_schedule_matches_torch(name):
    kind, epochs, make = SCHEDULERS[name]
    ours_opt, theirs_opt = two_group_optimizer(optim, kind), two_group_optimizer(torch.optim, kind)
    ours, theirs = make(lr_scheduler, ours_opt), make(torch.optim.lr_scheduler, theirs_opt)
    seen = _compare(ours, theirs, ours_opt, theirs_opt, epochs)
    if name.startswith("cyclic") and "no_momentum" not in name and "iterations" not in name:
        momenta = {tuple(epoch[1::4] if kind == "sgd" else epoch[2::4]) for epoch in seen}
        assert len(momenta) > 2                       # momentum or beta1 cycled too
    assert set(ours.state_dict()) == set(theirs.state_dict()) - TORCH_ONLY_KEYS


@needs_torch
@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_step_with_an_epoch_matches_torch(T_mult):
    ours_opt = two_group_optimizer(optim, "sgd")
    theirs_opt = two_group_optimizer(torch.optim, "sgd")
    ours = lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, 4, T_mult, eta_min=0.001)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs_opt, 4, T_mult,
                                                                  eta_min=0.001)
    # fractions of an epoch (per batch, as PyTorch's docs show), jumps back, then plain steps
    epochs = [0.25, 0.5, 1.75, 3.9, 4, 4.5, 11.2, 13, 27.6, 2, 40.5, 0, 6.0, None, None, None]
    lrs = set()
    for epoch in epochs:
        ours.step(epoch)
        theirs.step(epoch)
        same_values(ours.get_last_lr(), theirs.get_last_lr())
        assert (ours.last_epoch, ours.T_i) == (theirs.last_epoch, theirs.T_i)
        assert ours.T_cur == pytest.approx(theirs.T_cur, abs=1e-12)
        lrs.add(ours.get_last_lr()[0])
    assert len(lrs) > 8


def test_warm_restarts_by_hand_and_with_fractional_epochs():
    opt = two_group_optimizer(optim, "sgd")
    scheduler = lr_scheduler.CosineAnnealingWarmRestarts(opt, 2, T_mult=2)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(6):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    # T_i 2 then 4: cos(pi T_cur / T_i) over 0 1 | 0 1 2 3 | 0
    expected = [0.1 * (1 + math.cos(math.pi * t / T)) / 2
                for t, T in [(0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4), (0, 8)]]
    assert lrs == pytest.approx(expected, rel=1e-15)
    scheduler.step(2.5)            # 0.5 into the second period (T_i 4), in epoch 2
    assert (scheduler.T_cur, scheduler.T_i, scheduler.last_epoch) == (0.5, 4, 2)
    assert scheduler.get_last_lr()[1] == pytest.approx(0.3 * (1 + math.cos(math.pi / 8)) / 2)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts.step: Expected "
                                         "non-negative epoch, but got -1"):
        scheduler.step(-1)
    with pytest.raises(TypeError, match="epoch must be a real number"):
        scheduler.step("3")
    assert (scheduler.T_cur, scheduler.last_epoch) == (0.5, 2)


def test_cyclic_by_hand_with_momentum_the_other_way():
    opt = two_group_optimizer(optim, "sgd")
    scheduler = lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up=2, base_momentum=0.8,
                                      max_momentum=0.9)
    lrs, momenta = [], []
    for _ in range(6):
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        scheduler.step()
    assert lrs == pytest.approx([0.1, 0.55, 1.0, 0.55, 0.1, 0.55], rel=1e-15)
    assert momenta == pytest.approx([0.9, 0.85, 0.8, 0.85, 0.9, 0.85], rel=1e-15)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.1]   # base_lr for both
    assert [(g["max_momentum"], g["base_momentum"]) for g in opt.param_groups] == \
        [(0.9, 0.8)] * 2


def test_cyclic_triangular2_halves_each_cycle():
    opt = two_group_optimizer(optim, "adadelta")
    scheduler = lr_scheduler.CyclicLR(opt, 0.0, 1.0, step_size_up=1, mode="triangular2",
                                      cycle_momentum=False)
    peaks = []
    for _ in range(7):
        scheduler.step()
        peaks.append(scheduler.get_last_lr()[0])
    assert peaks == pytest.approx([1.0, 0.0, 0.5, 0.0, 0.25, 0.0, 0.125], abs=1e-15)


def test_polynomial_by_hand():
    opt = two_group_optimizer(optim, "sgd")
    scheduler = lr_scheduler.PolynomialLR(opt, total_iters=4, power=2.0)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(6):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs == pytest.approx([0.1 * (1 - min(e, 4) / 4) ** 2 for e in range(7)], abs=1e-16)


def test_chained_by_hand():
    opt = two_group_optimizer(optim, "sgd")
    scheduler = lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, 0.1, total_iters=2),
                                               lr_scheduler.ExponentialLR(opt, gamma=0.5)])
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(3):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs == pytest.approx([0.01, 0.005, 0.025, 0.0125], rel=1e-14)
    assert scheduler.get_last_lr()[1] == pytest.approx(0.0375, rel=1e-14)


SCHEDULER_ROUND_TRIPS = ["warm_restarts_growing", "cyclic_triangular2_beta1",
                         "cyclic_scale_fn_object", "polynomial_power", "chained_three"]


@pytest.mark.parametrize("name", SCHEDULER_ROUND_TRIPS)
def test_scheduler_state_dict_round_trip_continues_identically(name, tmp_path):
    kind, _, make = SCHEDULERS[name]
    opt = two_group_optimizer(optim, kind)
    scheduler = make(lr_scheduler, opt)
    for _ in range(7):
        opt.step()
        scheduler.step()
    ts.save({"opt": opt.state_dict(), "sched": scheduler.state_dict()}, tmp_path / "s")
    saved = ts.load(tmp_path / "s")
    fresh_opt = two_group_optimizer(optim, kind)
    fresh = make(lr_scheduler, fresh_opt)
    fresh_opt.load_state_dict(saved["opt"])
    fresh.load_state_dict(saved["sched"])
    if name == "cyclic_scale_fn_object":
        assert saved["sched"]["_scale_fn_custom"] == {"rate": 0.8}
    for _ in range(15):
        for o, s in ((opt, scheduler), (fresh_opt, fresh)):
            o.step()
            s.step()
        assert fresh.get_last_lr() == scheduler.get_last_lr()
        assert group_hyperparameters(fresh_opt) == group_hyperparameters(opt)


def test_cyclic_state_dict_keeps_a_scale_objects_state_not_a_functions():
    opt = two_group_optimizer(optim, "sgd")
    halving = Halving(0.5)
    scheduler = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, scale_fn=halving)
    halving.rate = 0.7
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] == {"rate": 0.7}
    other = Halving(0.1)
    fresh = lr_scheduler.CyclicLR(two_group_optimizer(optim, "sgd"), 0.01, 0.1, step_size_up=2,
                                  scale_fn=other)
    fresh.load_state_dict(state)
    assert other.rate == 0.7 and fresh._scale_fn_custom is other
    plain = lr_scheduler.CyclicLR(two_group_optimizer(optim, "sgd"), 0.01, 0.1, step_size_up=2,
                                  scale_fn=lambda x: 1.0)
    assert plain.state_dict()["_scale_fn_custom"] is None
    with pytest.raises(ValueError, match="'_scale_fn_custom' must be None or a dict"):
        fresh.load_state_dict({**state, "_scale_fn_custom": 3})
    assert other.rate == 0.7


def test_chained_state_dict_holds_each_schedulers_and_a_bad_one_changes_nothing():
    opt = two_group_optimizer(optim, "sgd")
    parts = [lr_scheduler.ConstantLR(opt, 0.5), lr_scheduler.ExponentialLR(opt, 0.9)]
    scheduler = lr_scheduler.ChainedScheduler(parts)
    for _ in range(3):
        scheduler.step()
    state = scheduler.state_dict()
    assert set(state) == {"_last_lr", "_schedulers"}
    assert state["_schedulers"] == [part.state_dict() for part in parts]
    fresh_opt = two_group_optimizer(optim, "sgd")
    fresh_parts = [lr_scheduler.ConstantLR(fresh_opt, 0.5),
                   lr_scheduler.ExponentialLR(fresh_opt, 0.9)]
    fresh = lr_scheduler.ChainedScheduler(fresh_parts)
    with pytest.raises(ValueError, match="ExponentialLR.load_state_dict: expected the keys"):
        fresh.load_state_dict({**state, "_schedulers": [state["_schedulers"][0], {}]})
    assert [part.last_epoch for part in fresh_parts] == [0, 0]
    fresh.load_state_dict(state)
    assert [part.last_epoch for part in fresh_parts] == [3, 3]
    assert fresh.get_last_lr() == scheduler.get_last_lr()


# (optimizer, make(lr_scheduler module, optimizer), error, message, PyTorch fails too: at
# construction or within its first 12 steps)
SCHEDULER_ERRORS = {
    "warm_restarts_T_0": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(o, 0), ValueError,
                          "CosineAnnealingWarmRestarts: Expected positive integer T_0, but "
                          "got 0", True),
    "warm_restarts_T_0_float": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(o, 2.0),
                                ValueError, r"Expected positive integer T_0, but got 2\.0",
                                True),
    "warm_restarts_T_mult": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, 0),
                             ValueError, "Expected integer T_mult >= 1, but got 0", True),
    "warm_restarts_eta_min_type": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(
        o, 2, eta_min="0"), ValueError, "Expected float or int eta_min, but got '0' of type "
        "str", True),
    "warm_restarts_eta_min": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(
        o, 2, eta_min=-0.1), ValueError, r"eta_min must be >= 0\.0 and < inf, got -0\.1",
        False),
    "warm_restarts_resume": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(
        o, 2, last_epoch=4), ValueError, "CosineAnnealingWarmRestarts: resuming at last_epoch "
        "4 needs 'initial_lr'", True),
    "cyclic_mode": ("sgd", lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="triangle"), ValueError,
                    "CyclicLR: mode is invalid and scale_fn is None", True),
    "cyclic_max_lr_count": ("sgd", lambda m, o: m.CyclicLR(o, 0.1, [1.0]), ValueError,
                            r"CyclicLR: expected 2 max_lr values \(one per param group\), "
                            r"got 1", True),
    "cyclic_step_size_up_0": ("sgd", lambda m, o: m.CyclicLR(o, 0.1, 1.0, step_size_up=0),
                              ValueError, r"CyclicLR: step_size_up must be in \(0, inf\], "
                              r"got 0\.0", True),
    "cyclic_step_size_down": ("sgd", lambda m, o: m.CyclicLR(o, 0.1, 1.0, step_size_down=-1),
                              ValueError, r"CyclicLR: step_size_down must be >= 0\.0", False),
    "cyclic_scale_fn": ("sgd", lambda m, o: m.CyclicLR(o, 0.1, 1.0, scale_fn=2.0), TypeError,
                        r"CyclicLR: scale_fn must be a function of the cycle or step, got "
                        r"2\.0", True),
    "cyclic_scale_mode": ("sgd", lambda m, o: m.CyclicLR(o, 0.1, 1.0, scale_fn=abs,
                                                         scale_mode="epochs"), ValueError,
                          "CyclicLR: scale_mode must be 'cycle' or 'iterations', got 'epochs'",
                          False),
    "cyclic_no_momentum": ("adadelta", lambda m, o: m.CyclicLR(o, 0.1, 1.0), ValueError,
                           "CyclicLR: optimizer must support momentum or beta1 with "
                           "`cycle_momentum` option enabled; Adadelta has neither", True),
    "cyclic_beta1_of_1": ("adam", lambda m, o: m.CyclicLR(o, 0.1, 1.0, max_momentum=1.0),
                          ValueError, r"CyclicLR: max_momentum must be >= 0\.0 and < 1\.0",
                          False),
    "cyclic_not_optimizer": ("sgd", lambda m, o: m.CyclicLR("sgd", 0.1, 1.0), TypeError,
                             "CyclicLR: expected an Optimizer, got str", True),
    "polynomial_total_iters": ("sgd", lambda m, o: m.PolynomialLR(o, total_iters=0),
                               ValueError, "PolynomialLR: total_iters must be a positive int, "
                               "got 0", False),
    "polynomial_power": ("sgd", lambda m, o: m.PolynomialLR(o, 3, power=-1.0), ValueError,
                         r"PolynomialLR: power must be >= 0\.0 and < inf, got -1\.0", True),
    "chained_empty": ("sgd", lambda m, o: m.ChainedScheduler([]), ValueError,
                      "ChainedScheduler: expects at least one scheduler to be chained", True),
    "chained_plateau": ("sgd", lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]),
                        ValueError, r"ChainedScheduler: schedulers\[0\] is a "
                        "ReduceLROnPlateau", True),
    "chained_other_optimizer": ("sgd", lambda m, o: m.ChainedScheduler(
        [m.StepLR(o, 2)],
        optimizer=two_group_optimizer(optim if m is lr_scheduler else torch.optim, "sgd")),
        ValueError,
        r"ChainedScheduler: schedulers\[0\] \(StepLR\) belongs to another optimizer", True),
    "chained_not_scheduler": ("sgd", lambda m, o: m.ChainedScheduler([o]), TypeError,
                              r"ChainedScheduler: schedulers\[0\] must be a learning-rate "
                              "scheduler, got SGD", True),
}


@pytest.mark.parametrize("name", sorted(SCHEDULER_ERRORS))
def test_scheduler_bad_arguments_are_refused_before_anything_changes(name):
    kind, make, error, message, _ = SCHEDULER_ERRORS[name]
    opt = two_group_optimizer(optim, kind)
    before = group_options(opt)
    with pytest.raises(error, match=message):
        make(lr_scheduler, opt)
    if not name.startswith("chained"):      # the chained scheduler itself was made
        assert group_options(opt) == before


@needs_torch
@pytest.mark.parametrize("name", sorted(n for n in SCHEDULER_ERRORS if SCHEDULER_ERRORS[n][4]))
def test_pytorch_fails_on_them_too(name):
    kind, make, _, _, _ = SCHEDULER_ERRORS[name]
    opt = two_group_optimizer(torch.optim, kind)
    with pytest.raises((TypeError, ValueError, KeyError, ZeroDivisionError, AttributeError)):
        scheduler = make(torch.optim.lr_scheduler, opt)
        for _ in range(12):
            opt.step()
            scheduler.step()


def test_sequential_refuses_a_chained_scheduler():
    opt = two_group_optimizer(optim, "sgd")
    chained = lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(opt, 2)])
    with pytest.raises(ValueError, match=r"schedulers\[1\] is a ChainedScheduler, which a "
                                         "SequentialLR cannot run"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt), chained], [3])


# --- nn.utils.parameters_to_vector / vector_to_parameters --------------------------------------
def test_parameters_to_vector_joins_in_order_and_passes_gradients_back():
    layer = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(layer.parameters())
    assert tuple(vec.shape) == (8,) and vec.requires_grad
    numpy.testing.assert_array_equal(
        vec.numpy(), numpy.concatenate([layer.weight.numpy().ravel(), layer.bias.numpy()]))
    weights = ts.arange(8).float()
    (vec * weights).sum().backward()
    numpy.testing.assert_array_equal(layer.weight.grad.numpy(), [[0, 1, 2], [3, 4, 5]])
    numpy.testing.assert_array_equal(layer.bias.grad.numpy(), [6, 7])


def test_vector_to_parameters_round_trip():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    vec = nn.utils.parameters_to_vector(model.parameters()).detach()
    nn.utils.vector_to_parameters(ts.arange(26).float(), model.parameters())
    numpy.testing.assert_array_equal(model[0].weight.numpy(), numpy.arange(12).reshape(4, 3))
    numpy.testing.assert_array_equal(model[1].bias.numpy(), [24, 25])
    assert model[1].bias.dtype == ts.float32 and model[1].bias.requires_grad
    nn.utils.vector_to_parameters(vec, model.parameters())
    numpy.testing.assert_array_equal(nn.utils.parameters_to_vector(model.parameters()).numpy(),
                                     vec.numpy())


@needs_torch
def test_parameter_vectors_match_torch():
    ours = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            tp.copy_(torch.tensor(p.numpy()))
    numpy.testing.assert_array_equal(
        nn.utils.parameters_to_vector(ours.parameters()).detach().numpy(),
        torch.nn.utils.parameters_to_vector(theirs.parameters()).detach().numpy())
    values = numpy.random.default_rng(5).standard_normal(26).astype(numpy.float32)
    nn.utils.vector_to_parameters(ts.tensor(values), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(values), theirs.parameters())
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        numpy.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
    with pytest.raises(TypeError, match="expected torch.Tensor, but got"):
        torch.nn.utils.vector_to_parameters(values, theirs.parameters())


@pytest.mark.parametrize("call, error, message", [
    (lambda ps: nn.utils.vector_to_parameters(numpy.zeros(8), ps), TypeError,
     "vector_to_parameters: expected Tensor, but got: ndarray"),
    (lambda ps: nn.utils.vector_to_parameters(ts.zeros(9), ps), ValueError,
     r"vector_to_parameters: expected a 1-d vec of 8 values \(the parameters' total\), got "
     r"shape \(9,\)"),
    (lambda ps: nn.utils.vector_to_parameters(ts.zeros(2, 4), ps), ValueError,
     r"got shape \(2, 4\)"),
    (lambda ps: nn.utils.parameters_to_vector([ps[0], "bias"]), TypeError,
     "parameters_to_vector: expected Tensors, got str"),
    (lambda ps: nn.utils.parameters_to_vector([]), ValueError,
     "parameters_to_vector: got no parameters"),
])
def test_parameter_vector_errors_change_nothing(call, error, message):
    layer = nn.Linear(3, 2)
    params = list(layer.parameters())
    before = [p.numpy().copy() for p in params]
    with pytest.raises(error, match=message):
        call(params)
    for p, b in zip(params, before):
        numpy.testing.assert_array_equal(p.numpy(), b)

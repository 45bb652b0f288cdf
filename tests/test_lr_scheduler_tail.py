"""LambdaLR, MultiplicativeLR, MultiStepLR, ConstantLR, LinearLR, CosineAnnealingLR, OneCycleLR
and SequentialLR: epoch by epoch against torch.optim.lr_scheduler (lrs, momenta and betas) where
PyTorch is installed, resumed at a last_epoch, through their state dicts, and their argument
checks, which refuse before anything changes."""
import pytest

import tinyseq as ts
from tinyseq import nn, optim

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch as the oracle")
lr_scheduler = optim.lr_scheduler
# PyTorch's own bookkeeping (warnings about the order of the steps), which tinyseq does not keep
TORCH_ONLY_KEYS = {"_step_count", "_is_initial", "_get_lr_called_within_step"}


def two_group_optimizer(module, kind):
    """Two param groups (lr 0.1 and 0.3) of one parameter each: SGD with momentum, Adam, or
    Adadelta (which has neither momentum nor betas); ``module`` is tinyseq.optim or
    torch.optim."""
    if module is optim:
        p, q = nn.Parameter(ts.zeros(2)), nn.Parameter(ts.zeros(3))
    else:
        p, q = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    groups = [{"params": [p]}, {"params": [q], "lr": 0.3}]
    if kind == "sgd":
        return module.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "adam":
        return module.Adam(groups, lr=0.1, betas=(0.8, 0.99))
    return module.Adadelta(groups, lr=0.1)


def group_hyperparameters(opt):
    """Each group's lr, momentum, beta1 and beta2 (None where the optimizer has none)."""
    return [value for g in opt.param_groups
            for value in (g["lr"], g.get("momentum"), *g.get("betas", (None, None)))]


def same_values(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None and b is None) or abs(a - b) <= 1e-12, (ours, theirs)


def _step(*pairs):
    """One epoch: each optimizer steps (no gradients: only PyTorch's order check sees it),
    then its scheduler."""
    for opt, scheduler in pairs:
        opt.step()
        scheduler.step()


def _compare(ours, theirs, ours_opt, theirs_opt, epochs):
    """Step both ``epochs`` times, comparing at every epoch; returns tinyseq's
    ``_hyperparameters``, epoch by epoch."""
    seen = []
    for epoch in range(epochs + 1):
        if epoch:
            _step((ours_opt, ours), (theirs_opt, theirs))
        assert ours.last_epoch == theirs.last_epoch
        same_values(ours.get_last_lr(), theirs.get_last_lr())
        same_values(group_hyperparameters(ours_opt), group_hyperparameters(theirs_opt))
        seen.append(group_hyperparameters(ours_opt))
    assert len({tuple(epoch[0::4]) for epoch in seen}) > 1, seen  # the lrs did move
    return seen


# (optimizer, epochs, make(lr_scheduler module, optimizer)): the same call in both libraries
CASES = {
    "lambda": ("sgd", 30, lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e)),
    "lambda_per_group": ("adam", 30, lambda m, o: m.LambdaLR(
        o, [lambda e: 1 / (e + 1), lambda e: e % 4 + 1])),
    "multiplicative": ("sgd", 30, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9)),
    "multiplicative_per_group": ("adam", 30, lambda m, o: m.MultiplicativeLR(
        o, (lambda e: 0.9, lambda e: 1 + e / 100))),
    "multistep": ("sgd", 30, lambda m, o: m.MultiStepLR(o, [3, 7, 7, 12], gamma=0.5)),
    "multistep_unordered_from_0": ("adam", 30, lambda m, o: m.MultiStepLR(o, (10, 0, 4))),
    "constant": ("sgd", 30, lambda m, o: m.ConstantLR(o)),
    "constant_factor": ("adam", 30, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=8)),
    "linear": ("sgd", 30, lambda m, o: m.LinearLR(o)),
    "linear_down": ("sgd", 30, lambda m, o: m.LinearLR(o, 1.0, 0.0, total_iters=12)),
    "linear_partial": ("adam", 30, lambda m, o: m.LinearLR(
        o, start_factor=0.25, end_factor=0.75, total_iters=10)),
    "cosine": ("sgd", 60, lambda m, o: m.CosineAnnealingLR(o, T_max=10)),
    "cosine_eta_min": ("adam", 60, lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.02)),
    "cosine_t_max_1": ("sgd", 30, lambda m, o: m.CosineAnnealingLR(o, 1, eta_min=0.01)),
    "sequential_warmup_then_decay": ("sgd", 40, lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.9)], [5])),
    "sequential_three": ("adam", 50, lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.2, total_iters=4), m.CosineAnnealingLR(o, T_max=8, eta_min=0.01),
            m.StepLR(o, step_size=3, gamma=0.5)], milestones=[4, 20])),
    "sequential_restarts": ("sgd", 40, lambda m, o: m.SequentialLR(
        o, [m.MultiplicativeLR(o, lambda e: 0.8), m.MultiStepLR(o, [0, 3], gamma=0.5),
            m.LambdaLR(o, lambda e: 1 / (e + 2)), m.LinearLR(o, 0.5, 0.1, total_iters=6)],
        milestones=[6, 12, 18])),
    "sequential_decays_restarted": ("sgd", 40, lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, 0.8), m.MultiStepLR(o, [0, 3], gamma=0.5), m.StepLR(o, 2, 0.5)],
        milestones=[12, 20])),
    "sequential_from_milestone_0": ("sgd", 30, lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5), m.CosineAnnealingLR(o, T_max=6)], [0])),
    "sequential_one_cycle": ("adam", 36, lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, total_iters=5), m.OneCycleLR(o, 1.0, total_steps=30)], [6])),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_schedules_match_torch(name):
    kind, epochs, make = CASES[name]
    ours_opt, theirs_opt = two_group_optimizer(optim, kind), two_group_optimizer(torch.optim, kind)
    ours, theirs = make(lr_scheduler, ours_opt), make(torch.optim.lr_scheduler, theirs_opt)
    _compare(ours, theirs, ours_opt, theirs_opt, epochs)
    assert set(ours.state_dict()) == set(theirs.state_dict()) - TORCH_ONLY_KEYS


# (optimizer, arguments after the optimizer): OneCycleLR steps once per batch
ONE_CYCLE = {
    "cos": ("sgd", dict(max_lr=1.0, total_steps=40)),
    "linear": ("sgd", dict(max_lr=[1.0, 2.0], total_steps=40, anneal_strategy="linear",
                           pct_start=0.25)),
    "three_phase": ("sgd", dict(max_lr=1.0, total_steps=50, three_phase=True,
                                base_momentum=0.8, max_momentum=[0.9, 0.95])),
    "adam_epochs": ("adam", dict(max_lr=0.5, epochs=6, steps_per_epoch=7, div_factor=10.0,
                                 final_div_factor=100.0)),
    "adam_three_phase_linear": ("adam", dict(max_lr=0.5, total_steps=33, three_phase=True,
                                             anneal_strategy="linear")),
    "no_momentum": ("adadelta", dict(max_lr=1.0, total_steps=30, cycle_momentum=False)),
    "sgd_momentum_fixed": ("sgd", dict(max_lr=1.0, total_steps=30, cycle_momentum=False)),
    "warmup_under_a_step": ("sgd", dict(max_lr=1.0, total_steps=30, pct_start=0.02)),
    "no_warmup": ("sgd", dict(max_lr=1.0, total_steps=30, pct_start=0.0)),
    "three_phase_warmup_under_a_step": ("adam", dict(max_lr=1.0, total_steps=30,
                                                     pct_start=0.03, three_phase=True)),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ONE_CYCLE))
def test_one_cycle_matches_torch_to_its_end(name):
    kind, kwargs = ONE_CYCLE[name]
    ours_opt, theirs_opt = two_group_optimizer(optim, kind), two_group_optimizer(torch.optim, kind)
    ours = lr_scheduler.OneCycleLR(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.OneCycleLR(theirs_opt, **kwargs)
    total = ours.total_steps
    assert total == theirs.total_steps
    seen = _compare(ours, theirs, ours_opt, theirs_opt, total)
    momenta = {tuple(epoch[1::4] if kind == "sgd" else epoch[2::4]) for epoch in seen}
    if not kwargs.get("cycle_momentum", True):
        assert momenta == ({(0.9, 0.9)} if kind == "sgd" else {(None, None)})
    elif kwargs.get("three_phase") and kwargs.get("pct_start", 0.3) * total < 1:
        assert momenta == {(0.95, 0.95)}  # only the third phase runs: max_momentum throughout
    else:
        assert len(momenta) > 2
    ours_before = group_hyperparameters(ours_opt)
    with pytest.raises(ValueError, match=rf"OneCycleLR: tried to step {total + 1} times\. The "
                                         rf"specified number of total steps is {total}"):
        ours.step()
    with pytest.raises(ValueError, match=f"Tried to step {total + 1} times"):
        theirs.step()
    assert ours.last_epoch == total  # the refused step changed nothing
    assert group_hyperparameters(ours_opt) == ours_before
    assert set(ours.state_dict()) == set(theirs.state_dict()) - TORCH_ONLY_KEYS


# make(lr_scheduler module, optimizer, last_epoch)
RESUMED = {
    "lambda": lambda m, o, e: m.LambdaLR(o, lambda k: 0.9 ** k, last_epoch=e),
    "multiplicative": lambda m, o, e: m.MultiplicativeLR(o, lambda k: 0.9, last_epoch=e),
    "multistep": lambda m, o, e: m.MultiStepLR(o, [4, 8, 9], 0.5, last_epoch=e),
    "constant": lambda m, o, e: m.ConstantLR(o, 0.5, total_iters=10, last_epoch=e),
    "linear": lambda m, o, e: m.LinearLR(o, 0.2, total_iters=10, last_epoch=e),
    "exponential": lambda m, o, e: m.ExponentialLR(o, 0.9, last_epoch=e),
    "step": lambda m, o, e: m.StepLR(o, 4, 0.5, last_epoch=e),
    "cosine": lambda m, o, e: m.CosineAnnealingLR(o, 6, eta_min=0.01, last_epoch=e),
    "one_cycle": lambda m, o, e: m.OneCycleLR(o, 1.0, total_steps=30, last_epoch=e),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(RESUMED))
@pytest.mark.parametrize("resume_at", [3, 7])
def test_resuming_at_last_epoch_matches_torch(name, resume_at):
    """A scheduler made with last_epoch=k takes the groups' initial_lr (and OneCycleLR's other
    keys) and goes on from epoch k + 1; its first step keeps the lrs where PyTorch's does."""
    make = RESUMED[name]
    ours_opt = two_group_optimizer(optim, "sgd")
    theirs_opt = two_group_optimizer(torch.optim, "sgd")
    first = make(lr_scheduler, ours_opt, -1), make(torch.optim.lr_scheduler, theirs_opt, -1)
    for _ in range(resume_at):
        _step((ours_opt, first[0]), (theirs_opt, first[1]))
    ours = make(lr_scheduler, ours_opt, resume_at)
    theirs = make(torch.optim.lr_scheduler, theirs_opt, resume_at)
    assert ours.base_lrs == pytest.approx(theirs.base_lrs, abs=1e-12)
    _compare(ours, theirs, ours_opt, theirs_opt, 20)


# --- state dicts -----------------------------------------------------------------------------
ROUND_TRIPS = {**{name: (kind, make) for name, (kind, _, make) in CASES.items()},
               **{f"one_cycle_{name}": (kind, lambda m, o, kwargs=kwargs: m.OneCycleLR(o, **kwargs))
                  for name, (kind, kwargs) in ONE_CYCLE.items()}}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_state_dict_round_trip_continues_identically(name, tmp_path):
    kind, make = ROUND_TRIPS[name]
    opt = two_group_optimizer(optim, kind)
    scheduler = make(lr_scheduler, opt)
    for _ in range(9):
        _step((opt, scheduler))
    ts.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "checkpoint")
    saved = ts.load(tmp_path / "checkpoint")
    fresh_opt = two_group_optimizer(optim, kind)
    fresh = make(lr_scheduler, fresh_opt)
    start = fresh.get_last_lr()
    fresh_opt.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    assert fresh.last_epoch == scheduler.last_epoch == 9
    assert fresh.get_last_lr() == scheduler.get_last_lr() != start
    for _ in range(15):
        _step((opt, scheduler), (fresh_opt, fresh))
        assert fresh.get_last_lr() == scheduler.get_last_lr()
        assert group_hyperparameters(fresh_opt) == group_hyperparameters(opt)


@needs_torch
@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_pytorchs_state_dict_loads_and_continues_as_pytorch(name):
    kind, make = ROUND_TRIPS[name]
    theirs_opt = two_group_optimizer(torch.optim, kind)
    theirs = make(torch.optim.lr_scheduler, theirs_opt)
    for _ in range(2):                           # early: every schedule still moves after
        _step((theirs_opt, theirs))
    saved = theirs.state_dict()
    ours_opt = two_group_optimizer(optim, kind)
    ours = make(lr_scheduler, ours_opt)
    ours.load_state_dict(saved)
    for our_group, their_group in zip(ours_opt.param_groups, theirs_opt.param_groups):
        for key in ("lr", "momentum", "betas"):
            if key in their_group:
                our_group[key] = their_group[key]
    assert ours.last_epoch == 2 and ours.get_last_lr() == theirs.get_last_lr()
    _compare(ours, theirs, ours_opt, theirs_opt, 15)


def test_a_key_neither_kind_of_scheduler_keeps_is_still_refused():
    scheduler = lr_scheduler.StepLR(two_group_optimizer(optim, "sgd"), 2)
    state = {**scheduler.state_dict(), "_step_count": 3, "warmup": 5}
    with pytest.raises(ValueError, match=r"StepLR.load_state_dict: expected the keys .* got .*'warmup'"):
        scheduler.load_state_dict(state)
    assert scheduler.last_epoch == 0


class Warmup:
    """A callable object: its ``__dict__`` is what a LambdaLR's state dict keeps of it."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


@pytest.mark.parametrize("kind", ["LambdaLR", "MultiplicativeLR"])
def test_lambda_state_dict_keeps_callable_objects_not_functions(kind):
    opt = two_group_optimizer(optim, "sgd")
    scheduler = getattr(lr_scheduler, kind)(opt, [lambda e: 0.9, Warmup(5)])
    for _ in range(3):
        _step((opt, scheduler))
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"epochs": 5}]
    fresh_opt = two_group_optimizer(optim, "sgd")
    mine = Warmup(100)
    fresh = getattr(lr_scheduler, kind)(fresh_opt, [lambda e: 0.5, mine])
    fresh_opt.load_state_dict(opt.state_dict())
    fresh.load_state_dict(state)
    assert mine.epochs == 5 and fresh.lr_lambdas[1] is mine
    assert state["lr_lambdas"] == [None, {"epochs": 5}]  # loading left the dict as it was
    _step((opt, scheduler), (fresh_opt, fresh))
    # the plain function is not in the state: the fresh scheduler keeps its own (0.5, not 0.9)
    lr = 0.1 * 0.5 if kind == "LambdaLR" else scheduler.get_last_lr()[0] / 0.9 * 0.5
    assert fresh.get_last_lr()[0] == pytest.approx(lr, rel=1e-15)
    assert fresh.get_last_lr()[1] == scheduler.get_last_lr()[1]
    with pytest.raises(ValueError, match="each of 'lr_lambdas' must be None or a dict"):
        fresh.load_state_dict({**state, "lr_lambdas": [None, 5]})


@needs_torch
def test_lambda_state_dict_is_pytorchs():
    ours_opt = two_group_optimizer(optim, "sgd")
    theirs_opt = two_group_optimizer(torch.optim, "sgd")
    ours = lr_scheduler.LambdaLR(ours_opt, [lambda e: 0.9, Warmup(5)])
    theirs = torch.optim.lr_scheduler.LambdaLR(theirs_opt, [lambda e: 0.9, Warmup(5)])
    _step((ours_opt, ours), (theirs_opt, theirs))
    assert ours.state_dict()["lr_lambdas"] == theirs.state_dict()["lr_lambdas"]


def test_sequential_state_dict_holds_each_schedulers_and_a_bad_one_changes_nothing():
    opt = two_group_optimizer(optim, "sgd")
    warmup, decay = lr_scheduler.LinearLR(opt, 0.1, total_iters=3), \
        lr_scheduler.MultiStepLR(opt, [2, 5])
    scheduler = lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[4])
    for _ in range(7):
        _step((opt, scheduler))
    state = scheduler.state_dict()
    assert state["_schedulers"] == [warmup.state_dict(), decay.state_dict()]
    assert state["_milestones"] == [4] and state["last_epoch"] == 7
    broken = {**state, "_schedulers": [state["_schedulers"][0], {"last_epoch": 0}]}
    fresh_opt = two_group_optimizer(optim, "sgd")
    fresh_parts = lr_scheduler.LinearLR(fresh_opt, 0.1, total_iters=3), \
        lr_scheduler.MultiStepLR(fresh_opt, [2, 5])
    fresh = lr_scheduler.SequentialLR(fresh_opt, list(fresh_parts), milestones=[4])
    with pytest.raises(ValueError, match="MultiStepLR.load_state_dict: expected the keys"):
        fresh.load_state_dict(broken)
    assert fresh.last_epoch == 0 and [s.last_epoch for s in fresh_parts] == [0, -1]
    fresh.load_state_dict(state)
    assert [s.last_epoch for s in fresh_parts] == [3, 3]


# --- argument checks -------------------------------------------------------------------------
# (optimizer, make(lr_scheduler module, optimizer), error, message, PyTorch fails too: at
# construction or within its first 12 steps)
ERRORS = {
    "lambda_count": ("sgd", lambda m, o: m.LambdaLR(o, [lambda e: 1.0]), ValueError,
                     r"LambdaLR: expected 2 lr_lambdas \(one per param group\), got 1", True),
    "lambda_not_callable": ("sgd", lambda m, o: m.LambdaLR(o, 0.5), TypeError,
                            r"LambdaLR: lr_lambda must be a function of the epoch, got 0\.5",
                            True),
    "multiplicative_not_callable": ("sgd", lambda m, o: m.MultiplicativeLR(
        o, [lambda e: 1.0, "x"]), TypeError, "MultiplicativeLR: lr_lambda must be a function "
        "of the epoch, got 'x'", True),
    "multistep_not_iterable": ("sgd", lambda m, o: m.MultiStepLR(o, 5), TypeError,
                               "MultiStepLR: milestones must be an iterable of epochs, got 5",
                               True),
    "multistep_negative": ("sgd", lambda m, o: m.MultiStepLR(o, [2, -1]), ValueError,
                           "MultiStepLR: a milestone must be a non-negative int, got -1", False),
    "multistep_float": ("sgd", lambda m, o: m.MultiStepLR(o, [2.5]), TypeError,
                        r"MultiStepLR: a milestone must be an int, got 2\.5", False),
    "multistep_gamma": ("sgd", lambda m, o: m.MultiStepLR(o, [2], gamma=-0.1), ValueError,
                        r"MultiStepLR: gamma must be >= 0\.0, got -0\.1", False),
    "constant_factor_above_1": ("sgd", lambda m, o: m.ConstantLR(o, factor=1.5), ValueError,
                                r"ConstantLR: factor must be in \(0, 1\.0\], got 1\.5", True),
    "constant_factor_0": ("sgd", lambda m, o: m.ConstantLR(o, factor=0.0, total_iters=3),
                          ValueError, r"ConstantLR: factor must be in \(0, 1\.0\], got 0\.0",
                          True),
    "constant_total_iters": ("sgd", lambda m, o: m.ConstantLR(o, total_iters=0), ValueError,
                             "ConstantLR: total_iters must be a positive int, got 0", False),
    "linear_start_0": ("sgd", lambda m, o: m.LinearLR(o, start_factor=0.0), ValueError,
                       r"LinearLR: start_factor must be in \(0, 1\.0\], got 0\.0", True),
    "linear_end_above_1": ("sgd", lambda m, o: m.LinearLR(o, end_factor=1.5), ValueError,
                           r"LinearLR: end_factor must be >= 0\.0 and <= 1\.0, got 1\.5", True),
    "linear_total_iters_0": ("sgd", lambda m, o: m.LinearLR(o, total_iters=0), ValueError,
                             "LinearLR: total_iters must be a positive int, got 0", False),
    "linear_total_iters_float": ("sgd", lambda m, o: m.LinearLR(o, total_iters=2.0), TypeError,
                                 r"LinearLR: total_iters must be an int, got 2\.0", False),
    "cosine_t_max_0": ("sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=0), ValueError,
                       "CosineAnnealingLR: T_max must be a positive int, got 0", True),
    "cosine_eta_min": ("sgd", lambda m, o: m.CosineAnnealingLR(o, 10, eta_min=-1.0), ValueError,
                       r"CosineAnnealingLR: eta_min must be >= 0\.0 and < inf, got -1\.0", False),
    "cosine_last_epoch": ("sgd", lambda m, o: m.CosineAnnealingLR(o, 10, last_epoch=-2),
                          ValueError, "CosineAnnealingLR: last_epoch must be an int >= -1, "
                          "got -2", False),
    "cosine_resume_without_initial_lr": ("sgd", lambda m, o: m.CosineAnnealingLR(
        o, 10, last_epoch=3), ValueError, "CosineAnnealingLR: resuming at last_epoch 3 needs "
        "'initial_lr' in every param group", True),
    "one_cycle_no_length": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, epochs=3), ValueError,
                            r"OneCycleLR: you must define either total_steps OR \(epochs AND "
                            r"steps_per_epoch\), got total_steps=None, epochs=3", True),
    "one_cycle_total_steps": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, total_steps=0),
                              ValueError, "OneCycleLR: total_steps must be a positive int, "
                              "got 0", True),
    "one_cycle_epochs": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=5),
                         ValueError, "OneCycleLR: epochs must be a positive int, got 0", True),
    "one_cycle_pct_start": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, 10, pct_start=1.5),
                            ValueError, r"OneCycleLR: pct_start must be >= 0\.0 and <= 1\.0, "
                            r"got 1\.5", True),
    "one_cycle_anneal_strategy": ("sgd", lambda m, o: m.OneCycleLR(
        o, 1.0, 10, anneal_strategy="cosine"), ValueError, "OneCycleLR: anneal_strategy must "
        "be 'cos' or 'linear', got 'cosine'", True),
    "one_cycle_max_lr_count": ("sgd", lambda m, o: m.OneCycleLR(o, [1.0], 10), ValueError,
                               r"OneCycleLR: expected 2 max_lr values \(one per param group\), "
                               r"got 1", True),
    "one_cycle_div_factor": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, 10, div_factor=0.0),
                             ValueError, r"OneCycleLR: div_factor must be in \(0, inf\], "
                             r"got 0\.0", True),
    "one_cycle_momentum_count": ("sgd", lambda m, o: m.OneCycleLR(
        o, 1.0, 10, max_momentum=[0.9]), ValueError, "OneCycleLR: expected 2 max_momentum "
        "values", True),
    "one_cycle_beta1_of_1": ("adam", lambda m, o: m.OneCycleLR(o, 1.0, 10, max_momentum=1.0),
                             ValueError, r"OneCycleLR: max_momentum must be >= 0\.0 and < 1\.0, "
                             r"got 1\.0", False),
    "one_cycle_no_momentum": ("adadelta", lambda m, o: m.OneCycleLR(o, 1.0, 10), ValueError,
                              "OneCycleLR: optimizer must support momentum or beta1 with "
                              "`cycle_momentum` option enabled; Adadelta has neither", True),
    "one_cycle_empty_first_phase": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, 10, pct_start=0.1),
                                    ValueError, r"OneCycleLR: pct_start 0\.1 of 10 steps "
                                    r"\(three_phase=False\) leaves a phase of 0 steps", True),
    "one_cycle_empty_last_phase": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, 10, pct_start=1.0),
                                   ValueError, "leaves a phase of 0 steps, ending at step 9",
                                   True),
    "one_cycle_empty_third_phase": ("sgd", lambda m, o: m.OneCycleLR(
        o, 1.0, 3, pct_start=2 / 3, three_phase=True), ValueError, "leaves a phase of 0 steps",
        True),
    "one_cycle_flag": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, 10, three_phase="yes"),
                       TypeError, "OneCycleLR: three_phase must be True or False, got 'yes'",
                       False),
    "one_cycle_last_epoch": ("sgd", lambda m, o: m.OneCycleLR(o, 1.0, 10, last_epoch=-2),
                             ValueError, "OneCycleLR: last_epoch must be an int >= -1", False),
    "one_cycle_resume_without_keys": ("sgd", lambda m, o: m.OneCycleLR(
        o, 1.0, 10, last_epoch=3), ValueError, "OneCycleLR: resuming at last_epoch 3 needs "
        "'initial_lr', 'max_lr', 'min_lr', 'max_momentum', 'base_momentum' in every param "
        "group", True),
    "not_an_optimizer": ("sgd", lambda m, o: m.OneCycleLR("adam", 1.0, 10), TypeError,
                         "OneCycleLR: expected an Optimizer, got str", True),
}


def group_options(opt):
    return [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_arguments_are_refused_before_anything_changes(name):
    kind, make, error, message, _ = ERRORS[name]
    opt = two_group_optimizer(optim, kind)
    before = group_options(opt)
    with pytest.raises(error, match=message):
        make(lr_scheduler, opt)
    assert group_options(opt) == before


@needs_torch
@pytest.mark.parametrize("name", sorted(name for name in ERRORS if ERRORS[name][4]))
def test_pytorch_fails_on_them_too(name):
    """Where PyTorch takes the value but fails later (a division by 0 at some step), tinyseq
    refuses it at once."""
    kind, make, _, _, _ = ERRORS[name]
    opt = two_group_optimizer(torch.optim, kind)
    with pytest.raises((TypeError, ValueError, KeyError, ZeroDivisionError)):
        scheduler = make(torch.optim.lr_scheduler, opt)
        for _ in range(12):
            _step((opt, scheduler))


def _sequential_parts():
    opt = two_group_optimizer(optim, "sgd")
    return opt, [lr_scheduler.ConstantLR(opt, 0.5, total_iters=2), lr_scheduler.StepLR(opt, 3)]


SEQUENTIAL_ERRORS = {
    "no_schedulers": (lambda o, parts: ([], []), ValueError,
                      r"SequentialLR: expected a non-empty list of schedulers, got \[\]"),
    "not_a_scheduler": (lambda o, parts: ([parts[0], "x"], [3]), TypeError,
                        r"SequentialLR: schedulers\[1\] must be a learning-rate scheduler, "
                        "got str"),
    "plateau": (lambda o, parts: ([lr_scheduler.ReduceLROnPlateau(o), parts[1]], [3]),
                ValueError, r"SequentialLR: schedulers\[0\] is a ReduceLROnPlateau, which a "
                "SequentialLR cannot run"),
    "nested": (lambda o, parts: ([parts[0], lr_scheduler.SequentialLR(o, parts, [2])], [3]),
               ValueError, r"schedulers\[1\] is a SequentialLR"),
    "other_optimizer": (lambda o, parts: (
        [parts[0], lr_scheduler.StepLR(two_group_optimizer(optim, "sgd"), 3)], [3]), ValueError,
        r"SequentialLR: schedulers\[1\] \(StepLR\) belongs to another optimizer"),
    "milestone_count": (lambda o, parts: (parts, [3, 5]), ValueError,
                        r"SequentialLR: expected 1 milestones \(one fewer than the "
                        r"schedulers\), got \[3, 5\]"),
    "milestones_decrease": (lambda o, parts: (parts + [lr_scheduler.ExponentialLR(o, 0.9)],
                                              [5, 3]), ValueError,
                            r"SequentialLR: milestones must increase, got \[5, 3\]"),
    "milestone_negative": (lambda o, parts: (parts, [-1]), ValueError,
                           "SequentialLR: a milestone must be a non-negative int, got -1"),
}


@pytest.mark.parametrize("name", sorted(SEQUENTIAL_ERRORS))
def test_sequential_bad_arguments_change_nothing(name):
    arguments, error, message = SEQUENTIAL_ERRORS[name]
    opt, parts = _sequential_parts()
    schedulers, milestones = arguments(opt, parts)
    before = group_options(opt), [s.last_epoch for s in schedulers if hasattr(s, "last_epoch")]
    with pytest.raises(error, match=message):
        lr_scheduler.SequentialLR(opt, schedulers, milestones)
    assert (group_options(opt), [s.last_epoch for s in schedulers if hasattr(s, "last_epoch")]) \
        == before


def test_one_cycle_cycles_sgd_momentum_and_adam_beta1_only():
    sgd, adam = two_group_optimizer(optim, "sgd"), two_group_optimizer(optim, "adam")
    lr_scheduler.OneCycleLR(sgd, 1.0, total_steps=10, base_momentum=0.5, max_momentum=0.75)
    lr_scheduler.OneCycleLR(adam, 1.0, total_steps=10, base_momentum=0.5, max_momentum=0.75)
    assert [g["momentum"] for g in sgd.param_groups] == [0.75, 0.75]
    assert [g["betas"] for g in adam.param_groups] == [(0.75, 0.99), (0.75, 0.99)]
    assert [(g["initial_lr"], g["max_lr"], g["min_lr"]) for g in adam.param_groups] == \
        [(1.0 / 25, 1.0, 1.0 / 25 / 1e4)] * 2


@needs_torch
def test_pytorchs_reduce_on_plateau_state_dict_loads_and_continues_as_pytorch():
    theirs_opt = two_group_optimizer(torch.optim, "sgd")
    ours_opt = two_group_optimizer(optim, "sgd")
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, factor=0.5, patience=1)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, factor=0.5, patience=1)
    metrics = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2]
    for metric in metrics[:3]:
        theirs_opt.step()
        theirs.step(metric)
    ours.load_state_dict(theirs.state_dict())    # with its mode_worse and default_min_lr
    for our_group, their_group in zip(ours_opt.param_groups, theirs_opt.param_groups):
        our_group["lr"] = their_group["lr"]
    lrs = []
    for metric in metrics[3:]:
        for opt, scheduler in ((theirs_opt, theirs), (ours_opt, ours)):
            opt.step()
            scheduler.step(metric)
        same_values(ours.get_last_lr(), theirs.get_last_lr())
        lrs.append(ours.get_last_lr()[0])
    assert len(set(lrs)) > 1, lrs

"""AdamW, RMSprop, SGD's dampening and nesterov, step(closure) and the learning-rate schedulers
against torch.optim, step by step in float64."""
import numpy
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim

torch = pytest.importorskip("torch")

CONFIGS = {
    "adamw": ("AdamW", dict(lr=0.02)),
    "adamw_wd": ("AdamW", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3)),
    "rmsprop": ("RMSprop", dict()),
    "rmsprop_wd": ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    "rmsprop_momentum": ("RMSprop", dict(lr=0.01, momentum=0.7)),
    "rmsprop_centered": ("RMSprop", dict(lr=0.01, centered=True)),
    "rmsprop_all": ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.05)),
    "adam_amsgrad": ("Adam", dict(lr=0.05, amsgrad=True)),
    "adam_maximize": ("Adam", dict(lr=0.05, maximize=True, weight_decay=0.1)),
    "adamw_amsgrad_maximize": ("AdamW", dict(lr=0.05, amsgrad=True, maximize=True)),
    "sgd_dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd_nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adagrad": ("Adagrad", dict()),
    "adagrad_all": ("Adagrad", dict(lr=0.05, lr_decay=0.1, weight_decay=0.05,
                                    initial_accumulator_value=0.2, eps=1e-8, maximize=True)),
}


def _pair(float64):
    model = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    torch_params = [torch.tensor(p.numpy().copy(), dtype=torch.float64, requires_grad=True)
                    for p in model.parameters()]
    return model, torch_params


def _data():
    return (ts.tensor(numpy.random.default_rng(3).standard_normal((4, 3))),
            ts.tensor(numpy.random.default_rng(4).standard_normal((4, 2))))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_optimizer_matches_torch_over_steps(float64, name):
    torch_name, kwargs = CONFIGS[name]
    model, torch_params = _pair(float64)
    initial = [p.numpy().copy() for p in model.parameters()]
    ours = getattr(optim, torch_name)(model.parameters(), **kwargs)
    theirs = getattr(torch.optim, torch_name)(torch_params, **kwargs)
    x, y = _data()
    for _ in range(6):
        ours.zero_grad()
        F.mse_loss(model(x).tanh(), y).backward()
        for p, tp in zip(model.parameters(), torch_params):
            tp.grad = torch.tensor(p.grad.numpy().copy())
        ours.step()
        theirs.step()
        for p, tp in zip(model.parameters(), torch_params):
            numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-12)
    for p, before in zip(model.parameters(), initial):
        assert not numpy.allclose(p.numpy(), before)  # it did train


def test_defaults_are_pytorch_defaults():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        ours = getattr(optim, name)([ts.zeros(2, requires_grad=True)]).defaults
        theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
        assert {k: theirs[k] for k in ours} == ours, name


@pytest.mark.parametrize("name", ["adamw_wd", "adam_amsgrad", "rmsprop_all", "sgd_nesterov",
                                  "adagrad_all"])
def test_state_dict_round_trip_continues_identically(float64, name, tmp_path):
    torch_name, kwargs = CONFIGS[name]
    x, y = _data()

    def run(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()

    model, _ = _pair(float64)
    opt = getattr(optim, torch_name)(model.parameters(), **kwargs)
    run(model, opt, 3)
    ts.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "s")
    saved = ts.load(tmp_path / "s")
    resumed = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    resumed.load_state_dict(saved["model"])
    resumed_opt = getattr(optim, torch_name)(resumed.parameters(), **kwargs)
    resumed_opt.load_state_dict(saved["opt"])
    run(model, opt, 3)
    run(resumed, resumed_opt, 3)
    for p, q in zip(model.parameters(), resumed.parameters()):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy())


def test_step_with_closure_returns_its_loss_and_matches_torch(float64):
    model, torch_params = _pair(float64)
    ours = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    theirs = torch.optim.SGD(torch_params, lr=0.1, momentum=0.5)
    x, y = _data()
    tx, ty = torch.tensor(x.numpy()), torch.tensor(y.numpy())

    def closure():
        ours.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    def torch_closure():
        theirs.zero_grad()
        hidden = tx @ torch_params[0].T + torch_params[1]
        loss = torch.nn.functional.mse_loss(hidden @ torch_params[2].T + torch_params[3], ty)
        loss.backward()
        return loss

    for _ in range(3):
        with ts.no_grad():  # step enables gradients for the closure, as PyTorch's does
            loss = ours.step(closure)
        torch_loss = theirs.step(torch_closure)
        assert isinstance(loss, ts.Tensor)
        assert abs(loss.item() - torch_loss.item()) < 1e-12
    for p, tp in zip(model.parameters(), torch_params):
        numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-12)
    assert ours.step() is None


# --- learning-rate schedulers ----------------------------------------------------------------
def _two_groups(module, lr_module):
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    if module is torch.optim:
        a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    return module.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.3}],
                      lr=0.1, momentum=0.9)


@pytest.mark.parametrize("make", [
    lambda m, opt: m.StepLR(opt, step_size=3, gamma=0.5),
    lambda m, opt: m.StepLR(opt, 1),
    lambda m, opt: m.ExponentialLR(opt, gamma=0.9),
])
def test_schedulers_match_torch(make):
    ours_opt, theirs_opt = _two_groups(optim, None), _two_groups(torch.optim, None)
    ours = make(optim.lr_scheduler, ours_opt)
    theirs = make(torch.optim.lr_scheduler, theirs_opt)
    for epoch in range(10):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
            [g["lr"] for g in theirs_opt.param_groups], rel=1e-15)
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
    assert ours.last_epoch == theirs.last_epoch == 10


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs", cooldown=2),
    dict(factor=0.2, patience=0, min_lr=[0.01, 0.05], eps=1e-3),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    ours_opt, theirs_opt = _two_groups(optim, None), _two_groups(torch.optim, None)
    ours = optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.94, 0.8, 0.8, 0.81, 0.82, 0.9, 0.7, 0.7, 0.7,
               0.7, 0.7, float("nan"), 0.6] * 2
    for metric in metrics:
        ours.step(metric)
        theirs.step(metric)
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
            [g["lr"] for g in theirs_opt.param_groups], rel=1e-15)
        assert ours.num_bad_epochs == theirs.num_bad_epochs
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)


def test_scheduler_state_dict_resumes(tmp_path):
    opt = _two_groups(optim, None)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        scheduler.step()
    ts.save({"opt": opt.state_dict(), "sched": scheduler.state_dict()}, tmp_path / "s")
    saved = ts.load(tmp_path / "s")
    opt2 = _two_groups(optim, None)
    opt2.load_state_dict(saved["opt"])
    scheduler2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    scheduler2.load_state_dict(saved["sched"])
    for _ in range(4):
        scheduler.step()
        scheduler2.step()
        assert scheduler.get_last_lr() == scheduler2.get_last_lr()
    with pytest.raises(ValueError, match="expected the keys"):
        scheduler2.load_state_dict({"last_epoch": 3})


@pytest.mark.parametrize("make, error", [
    (lambda opt: optim.lr_scheduler.StepLR(opt, step_size=0), ValueError),
    (lambda opt: optim.lr_scheduler.StepLR(opt, step_size=2.5), TypeError),
    (lambda opt: optim.lr_scheduler.ExponentialLR(opt, gamma=-1), ValueError),
    (lambda opt: optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), ValueError),
    (lambda opt: optim.lr_scheduler.ReduceLROnPlateau(opt, mode="lowest"), ValueError),
    (lambda opt: optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1]), ValueError),
    (lambda opt: optim.lr_scheduler.StepLR("not an optimizer", 2), TypeError),
])
def test_scheduler_arguments_are_checked(make, error):
    with pytest.raises(error):
        make(_two_groups(optim, None))


def test_adam_state_saved_without_amsgrad_loads_with_it_off_and_turns_it_on_later(float64):
    x, y = _data()
    model, _ = _pair(float64)
    opt = optim.Adam(model.parameters(), lr=0.05)
    F.mse_loss(model(x), y).backward()
    opt.step()
    saved = opt.state_dict()
    for group in saved["param_groups"]:        # as a state dict from before these options
        del group["amsgrad"], group["maximize"]
    resumed = optim.Adam(model.parameters(), lr=0.05)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["amsgrad"] is False
    assert resumed.param_groups[0]["maximize"] is False
    saved["param_groups"][0]["amsgrad"] = True   # no max_exp_avg_sq yet: it starts from v
    resumed.load_state_dict(saved)
    resumed.step()
    state = resumed.state[next(iter(model.parameters()))]
    numpy.testing.assert_array_equal(state["max_exp_avg_sq"], state["exp_avg_sq"])
    with pytest.raises(TypeError, match="Adam: amsgrad must be True or False, got 'yes'"):
        optim.Adam(model.parameters(), amsgrad="yes")

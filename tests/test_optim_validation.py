"""Optimizers: one validation for the constructor and load_state_dict, duplicate and non-leaf
parameters refused, every gradient checked before any parameter changes, and a failed load
(of a state dict or a checkpoint) that changes nothing."""
import numpy
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq import random as ts_random
from tinyseq.checkpoint import load_checkpoint, save_checkpoint

OPTIMIZERS = {
    "sgd": lambda ps, **kw: optim.SGD(ps, lr=0.1, momentum=0.9, **kw),
    "adam": lambda ps, **kw: optim.Adam(ps, lr=0.01, **kw),
    "adamw": lambda ps, **kw: optim.AdamW(ps, lr=0.01, **kw),
    "rmsprop": lambda ps, **kw: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, **kw),
    "adagrad": lambda ps, **kw: optim.Adagrad(ps, lr=0.05, lr_decay=0.01, **kw),
}


def _trained(name, steps=2):
    ts.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = OPTIMIZERS[name](model.parameters())
    x, y = ts.randn(5, 3), ts.randn(5, 2)
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    return model, opt


def _snapshot(model, opt):
    """Every array and number of the model, the optimizer and the random state."""
    params = [p.numpy().copy() for p in model.parameters()]
    state = opt.state_dict()
    buffers = {(i, k): (v.numpy().copy() if isinstance(v, ts.Tensor) else v)
               for i, entry in state["state"].items() for k, v in entry.items()}
    groups = [{k: v for k, v in g.items()} for g in state["param_groups"]]
    return params, buffers, groups, ts_random.get_state()


def _assert_unchanged(before, after):
    for a, b in zip(before[0], after[0]):
        numpy.testing.assert_array_equal(a, b)
    assert before[1].keys() == after[1].keys()
    for key in before[1]:
        numpy.testing.assert_array_equal(before[1][key], after[1][key], err_msg=str(key))
    assert before[2] == after[2]
    assert before[3] == after[3]


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=-1), r"SGD: lr must be >= 0.0 and < inf, got -1"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), r"SGD: lr must be >= 0.0 and < inf, got nan"),
    (lambda ps: optim.SGD(ps, lr=float("inf")), r"SGD: lr must be >= 0.0 and < inf, got inf"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), r"momentum must be >= 0.0, got -0.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), r"nesterov needs momentum > 0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"beta2 must be >= 0.0 and < 1.0, got 1.0"),
    (lambda ps: optim.Adam(ps, betas=(-0.1, 0.9)), r"beta1 must be >= 0.0"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), r"eps must be >= 0.0"),
    (lambda ps: optim.AdamW(ps, weight_decay=-1), r"weight_decay must be >= 0.0"),
    (lambda ps: optim.RMSprop(ps, alpha=-0.1), r"alpha must be >= 0.0"),
    (lambda ps: optim.RMSprop(ps, momentum=-1), r"momentum must be >= 0.0"),
])
def test_constructor_rejects_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make(nn.Linear(2, 2).parameters())


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr="0.1"),
    lambda ps: optim.Adam(ps, betas=0.9),
    lambda ps: optim.RMSprop(ps, centered="yes"),
])
def test_constructor_rejects_wrong_types(make):
    with pytest.raises(TypeError):
        make(nn.Linear(2, 2).parameters())


def test_parameters_must_be_distinct_leaf_tensors():
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([layer.weight, layer.weight], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [layer.weight]}, {"params": [layer.weight, layer.bias]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([layer.weight * 2], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable"):
        optim.Adam(layer.weight)
    with pytest.raises(TypeError, match="Tensors"):
        optim.Adam([numpy.zeros(2)])


def test_param_groups_take_defaults_and_own_values():
    layer = nn.Linear(2, 2)
    opt = optim.SGD([{"params": [layer.weight]}, {"params": layer.bias, "lr": 0.5}], lr=0.1,
                    momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    assert opt.param_groups[1]["params"] == [layer.bias]
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [layer.bias]})


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_checks_every_gradient_before_updating_any(name):
    model, opt = _trained(name, steps=1)
    before = _snapshot(model, opt)
    params = list(model.parameters())
    params[-1].grad = ts.zeros(7)  # the last parameter's gradient has the wrong shape
    with pytest.raises(ValueError, match=r"parameter 3 is \(2,\) float32 .* its grad \(7,\)"):
        opt.step()
    _assert_unchanged(before, _snapshot(model, opt))
    params[-1].grad = ts.zeros(2, dtype=ts.float64)
    with pytest.raises(ValueError, match="float64"):
        opt.step()
    _assert_unchanged(before, _snapshot(model, opt))


def _bad_state_dicts(state_dict):
    """(description, broken copy) pairs of an optimizer state dict."""
    import copy
    cases = []

    def case(what, change):
        broken = copy.deepcopy(state_dict)
        change(broken)
        cases.append((what, broken))

    case("negative lr", lambda d: d["param_groups"][0].update(lr=-1))
    case("string lr", lambda d: d["param_groups"][0].update(lr="fast"))
    case("missing hyperparameter", lambda d: d["param_groups"][0].pop("lr"))
    case("extra group", lambda d: d["param_groups"].append(dict(d["param_groups"][0])))
    case("fewer params", lambda d: d["param_groups"][0]["params"].pop())
    case("repeated index", lambda d: d["param_groups"][0]["params"].__setitem__(1, 0))
    case("unknown index", lambda d: d["state"].__setitem__(99, d["state"][0]))
    case("missing buffer", lambda d: d["state"][0].pop(next(k for k in d["state"][0] if k != "step")))
    case("extra buffer", lambda d: d["state"][0].update(surprise=d["state"][0][next(iter(d["state"][0]))]))
    case("wrong shape", lambda d: d["state"][3].update(
        {k: ts.zeros(5) for k in d["state"][3] if k != "step"}))
    case("string buffer", lambda d: d["state"][1].update(
        {k: numpy.array(["a"] * 4) for k in d["state"][1] if k != "step"}))
    case("not a dict", lambda d: d.pop("state"))
    if "step" in state_dict["state"][0]:
        case("negative step", lambda d: d["state"][2].update(step=-3))
        case("fractional step", lambda d: d["state"][2].update(step=1.5))
    if "betas" in state_dict["param_groups"][0]:
        case("beta of 1", lambda d: d["param_groups"][0].update(betas=(0.9, 1.0)))
    return cases


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_load_state_dict_rejects_what_the_constructor_rejects_and_changes_nothing(name):
    model, opt = _trained(name)
    good = opt.state_dict()
    other_model, other = _trained(name, steps=3)
    before = _snapshot(other_model, other)
    for what, broken in _bad_state_dicts(good):
        with pytest.raises((ValueError, TypeError)):
            other.load_state_dict(broken)
        _assert_unchanged(before, _snapshot(other_model, other))
    other.load_state_dict(good)  # the good one still loads and is then in effect
    assert _snapshot(other_model, other)[1].keys() == _snapshot(model, opt)[1].keys()


def test_failed_load_checkpoint_changes_nothing(tmp_path):
    model, opt = _trained("adam")
    save_checkpoint(tmp_path / "good.ckpt", model, opt, epoch=1)
    state = ts.load(tmp_path / "good.ckpt")
    broken = {
        "string bias": lambda s: s["model"].__setitem__("1.bias", "ab"),
        "wrong shape": lambda s: s["model"].__setitem__("0.weight", numpy.ones((3, 4))),
        "wrong optimizer": lambda s: s["optimizer"]["state"][0].pop("exp_avg"),
        "bad lr": lambda s: s["optimizer"]["param_groups"][0].update(lr=-1.0),
        "bad random state": lambda s: s["random"].update(generators={"cpu": {"x": 1}}),
        "bad seed": lambda s: s["random"].update(seed="zero"),
    }
    ts.manual_seed(5)
    ts.randn(3)  # a generator with a state of its own
    other_model, other_opt = _trained("adam", steps=4)
    before = _snapshot(other_model, other_opt)
    for what, change in broken.items():
        state = ts.load(tmp_path / "good.ckpt")
        change(state)
        ts.save(state, tmp_path / "bad.ckpt")
        with pytest.raises(ValueError):
            load_checkpoint(tmp_path / "bad.ckpt", other_model, other_opt)
        _assert_unchanged(before, _snapshot(other_model, other_opt))
    load_checkpoint(tmp_path / "good.ckpt", other_model, other_opt)
    for p, q in zip(model.parameters(), other_model.parameters()):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy())


def test_random_set_state_rejects_malformed_states_and_changes_nothing():
    ts.manual_seed(1)
    ts.randn(2)
    good = ts_random.get_state()
    for bad in [None, {"seed": 1}, {"seed": 1.5, "generators": {}},
                {"seed": 1, "generators": {"cpu": {"bit_generator": "MT19937"}}},
                {"seed": 1, "generators": {"cpu": dict(good["generators"]["cpu"], state=None)}},
                {"seed": 1, "generators": {"tpu": good["generators"]["cpu"]}}]:
        with pytest.raises((ValueError, TypeError)):
            ts_random.set_state(bad)
        assert ts_random.get_state() == good


@pytest.mark.parametrize("value", [numpy.array(["a", "b"]), numpy.ones(2) * 1j,
                                   numpy.array(["2026-12-01", "2026-12-02"], dtype="datetime64[D]"),
                                   "ab", [1.0, 2.0]])
def test_module_load_state_dict_refuses_non_real_values_and_changes_nothing(value):
    model, opt = _trained("sgd")
    before = _snapshot(model, opt)
    state = model.state_dict()
    state = {k: v.numpy().copy() for k, v in state.items()}
    state["1.bias"] = value
    with pytest.raises(ValueError, match="1.bias"):
        model.load_state_dict(state)
    _assert_unchanged(before, _snapshot(model, opt))

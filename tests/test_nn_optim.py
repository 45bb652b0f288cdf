"""nn.Module bookkeeping, basic layers and losses, optimizers and gradient clipping."""
import math

import numpy
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim


def _copy_params(module):
    return {name: p.numpy().copy() for name, p in module.named_parameters()}


# --- Module bookkeeping ---------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 4)
        self.scale = nn.Parameter(ts.ones(4))

    def forward(self, x):
        return self.proj(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Parameter(ts.zeros(2))
        self.block = Block()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2, bias=False)])
        self.seq = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1), nn.Linear(2, 1))
        self.shared = self.block  # the same submodule twice: its parameters count once
        self.tied = self.layers[0].weight  # the same parameter twice
        self.last = nn.Parameter(ts.zeros(1))

    def forward(self, x):
        h = self.shared(self.block(x)[..., :3])
        for layer in self.layers:
            h = layer(h)
        return self.seq(h)


# a module's own parameters come first, then its children depth first (as PyTorch); a shared
# parameter is listed once, under the name it is first reached by
NET_NAMES = ["first", "tied", "last",
             "block.scale", "block.proj.weight", "block.proj.bias",
             "layers.0.bias", "layers.1.weight",
             "seq.0.weight", "seq.0.bias", "seq.2.weight", "seq.2.bias"]


def test_named_parameters_order_and_dotted_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == NET_NAMES
    params = list(net.parameters())
    assert len(params) == len(NET_NAMES) == len({id(p) for p in params})
    assert dict(net.named_parameters())["tied"] is net.layers[0].weight
    assert net.shared is net.block
    assert [type(c).__name__ for c in net.children()] == ["Block", "ModuleList", "Sequential"]
    assert [name for name, _ in net.named_children()] == ["block", "layers", "seq"]


def test_named_parameters_match_torch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.proj = tnn.Linear(3, 4)
            self.scale = tnn.Parameter(torch.ones(4))

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.first = tnn.Parameter(torch.zeros(2))
            self.block = TBlock()
            self.layers = tnn.ModuleList([tnn.Linear(4, 4), tnn.Linear(4, 2, bias=False)])
            self.seq = tnn.Sequential(tnn.Linear(2, 2), tnn.Dropout(0.1), tnn.Linear(2, 1))
            self.shared = self.block
            self.tied = self.layers[0].weight
            self.last = tnn.Parameter(torch.zeros(1))

    expected = [(name, tuple(p.shape)) for name, p in TNet().named_parameters()]
    assert [(name, tuple(p.shape)) for name, p in Net().named_parameters()] == expected


def test_reassigned_parameter_keeps_its_place_and_replaces_plain_attribute():
    layer = nn.Linear(3, 2)
    layer.weight = nn.Parameter(ts.zeros(2, 3))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]

    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None
    no_bias.bias = nn.Parameter(ts.ones(2))
    assert no_bias.bias is dict(no_bias.named_parameters())["bias"]
    out = no_bias(ts.zeros(1, 3))
    numpy.testing.assert_array_equal(out.numpy(), [[1.0, 1.0]])  # the new bias is used

    no_bias.bias = None
    assert no_bias.bias is None
    assert [name for name, _ in no_bias.named_parameters()] == ["weight"]


def test_state_dict_round_trip():
    ts.manual_seed(1)
    source = Net()
    ts.manual_seed(2)
    target = Net()
    state = source.state_dict()
    assert list(state) == NET_NAMES
    assert all(isinstance(v, ts.Tensor) and not v.requires_grad for v in state.values())
    assert not numpy.array_equal(state["seq.0.weight"].numpy(),
                                 target.seq[0].weight.numpy())
    target.load_state_dict(state)
    for name, value in _copy_params(target).items():
        numpy.testing.assert_array_equal(value, state[name].numpy(), err_msg=name)
    # the target owns copies: changing the source later leaves it alone
    before = target.block.scale.numpy().copy()
    source.block.scale.array[...] = 42.0
    numpy.testing.assert_array_equal(target.block.scale.numpy(), before)
    assert all(p.requires_grad for p in target.parameters())


def test_load_state_dict_accepts_arrays_and_keeps_dtype():
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": numpy.array([[1.0, 2.0], [3.0, 4.0]]),
                           "bias": numpy.array([0.5, -0.5])})
    assert layer.weight.dtype == numpy.float32 and layer.bias.dtype == numpy.float32
    numpy.testing.assert_array_equal(layer(ts.tensor([[1.0, 1.0]])).numpy(), [[3.5, 6.5]])


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    net = Net()
    before = _copy_params(net)
    bad = {name: numpy.full(p.shape, 7.0) for name, p in net.named_parameters()}
    del bad["last"]
    del bad["layers.1.weight"]
    bad["extra.weight"] = numpy.zeros(3)
    bad["block.scale"] = numpy.zeros(5)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    for piece in ("last", "layers.1.weight", "extra.weight", "block.scale", "(5,)", "(4,)"):
        assert piece in message, piece
    for name, value in _copy_params(net).items():
        numpy.testing.assert_array_equal(value, before[name], err_msg=name)


def test_train_eval_propagate():
    net = Net()
    modules = list(net.modules())
    assert len(modules) == 10  # Net, Block, Linear, ModuleList, 2 Linear, Sequential, 3 in it
    assert all(m.training for m in modules)
    assert net.eval() is net
    assert not any(m.training for m in modules)
    assert net.train() is net
    assert all(m.training for m in modules)
    net.seq.eval()
    assert not net.seq[1].training and net.block.training


def test_zero_grad():
    net = Net()
    net(ts.randn(5, 3)).sum().backward()
    with_grad = {name for name, p in net.named_parameters() if p.grad is not None}
    assert {"block.proj.weight", "block.scale", "seq.2.bias"} <= with_grad
    assert "first" not in with_grad and "last" not in with_grad
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_gradients_accumulate_until_zero_grad():
    layer = nn.Linear(3, 2)
    x = ts.randn(4, 3)
    layer(x).sum().backward()
    first = layer.weight.grad.numpy().copy()
    layer(x).sum().backward()
    numpy.testing.assert_allclose(layer.weight.grad.numpy(), 2 * first, rtol=1e-6)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None
    layer(x).sum().backward()
    opt = optim.SGD(layer.parameters(), lr=0.1)
    opt.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


# --- layers -----------------------------------------------------------------------------------
def test_linear_init_is_uniform_within_bound():
    layer = nn.Linear(16, 500)
    bound = 1 / math.sqrt(16)
    for p, n in ((layer.weight, 500 * 16), (layer.bias, 500)):
        values = p.numpy()
        assert values.size == n and p.dtype == numpy.float32
        assert values.min() >= -bound and values.max() <= bound
    w = layer.weight.numpy()
    assert w.min() < -0.99 * bound and w.max() > 0.99 * bound
    assert abs(w.mean()) < 0.01
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # std of U(-b, b)


def test_linear_init_follows_manual_seed():
    ts.manual_seed(5)
    a = _copy_params(nn.Linear(4, 3))
    ts.manual_seed(5)
    b = _copy_params(nn.Linear(4, 3))
    ts.manual_seed(6)
    c = _copy_params(nn.Linear(4, 3))
    for name in a:
        numpy.testing.assert_array_equal(a[name], b[name])
        assert not numpy.array_equal(a[name], c[name])


def test_linear_forward_matches_numpy():
    layer = nn.Linear(3, 2)
    x = ts.randn(2, 5, 3)
    expected = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
    numpy.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("padding_idx, row", [(2, 2), (-1, 9), (0, 0)])
def test_embedding_padding_row_is_zero_and_gets_no_grad(padding_idx, row):
    emb = nn.Embedding(10, 4, padding_idx=padding_idx)
    weight = emb.weight.numpy()
    numpy.testing.assert_array_equal(weight[row], numpy.zeros(4))
    others = numpy.delete(weight, row, axis=0)
    assert numpy.all(numpy.any(others != 0, axis=1))
    ids = ts.tensor([[row, 1, 3], [3, row, 5]])
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    numpy.testing.assert_array_equal(out.numpy()[0, 0], numpy.zeros(4))
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    numpy.testing.assert_array_equal(grad[row], numpy.zeros(4))
    if row != 3:
        numpy.testing.assert_array_equal(grad[3], numpy.full(4, 2.0))  # id 3 used twice


def test_dropout_eval_is_identity():
    drop = nn.Dropout(0.5).eval()
    x = ts.randn(100)
    numpy.testing.assert_array_equal(drop(x).numpy(), x.numpy())


def test_dropout_train_zeroes_about_p_and_scales():
    p = 0.3
    drop = nn.Dropout(p)
    x = ts.ones(200_000, requires_grad=True)
    y = drop(x)
    values = y.numpy()
    zero_fraction = numpy.mean(values == 0)
    assert abs(zero_fraction - p) < 0.01
    kept = values[values != 0]
    numpy.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-6)
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), values)  # same mask, same scale


def test_dropout_reproducible_and_edge_probabilities():
    x = ts.ones(50)
    ts.manual_seed(9)
    a = nn.Dropout(0.5)(x).numpy()
    ts.manual_seed(9)
    b = nn.Dropout(0.5)(x).numpy()
    numpy.testing.assert_array_equal(a, b)
    numpy.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    numpy.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), numpy.zeros(50))


# --- losses -----------------------------------------------------------------------------------
def test_mse_loss_module(float64):
    rng = numpy.random.default_rng(0)
    pred_np, target_np = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for reduction, expected in (("mean", numpy.mean((pred_np - target_np) ** 2)),
                                ("sum", numpy.sum((pred_np - target_np) ** 2)),
                                ("none", (pred_np - target_np) ** 2)):
        pred = ts.tensor(pred_np, requires_grad=True)
        loss = nn.MSELoss(reduction=reduction)(pred, ts.tensor(target_np))
        numpy.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
        loss.backward(numpy.ones(loss.shape))
        scale = 1 / pred_np.size if reduction == "mean" else 1.0
        numpy.testing.assert_allclose(pred.grad.numpy(), 2 * (pred_np - target_np) * scale,
                                      rtol=1e-12)


def _log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - numpy.log(numpy.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("ignore_index", [-100, -1, 2])
def test_cross_entropy_loss_ignore_index(float64, ignore_index):
    rng = numpy.random.default_rng(1)
    logits_np = rng.standard_normal((6, 4)) * 3
    targets_np = numpy.array([1, ignore_index, 3, 0, ignore_index, 2])
    if ignore_index == -100:
        targets_np[[1, 4]] = [0, 1]
    counted = targets_np != ignore_index
    log_probs = _log_softmax(logits_np)
    per_row = numpy.where(counted, -log_probs[numpy.arange(6), numpy.where(counted, targets_np, 0)],
                          0.0)
    logits = ts.tensor(logits_np, requires_grad=True)
    criterion = nn.CrossEntropyLoss(ignore_index=ignore_index) if ignore_index != -100 \
        else nn.CrossEntropyLoss()
    loss = criterion(logits, ts.tensor(targets_np))
    assert loss.shape == ()
    numpy.testing.assert_allclose(loss.item(), per_row.sum() / counted.sum(), rtol=1e-12)
    loss.backward()
    onehot = numpy.eye(4)[numpy.where(counted, targets_np, 0)]
    expected_grad = (numpy.exp(log_probs) - onehot) * counted[:, None] / counted.sum()
    numpy.testing.assert_allclose(logits.grad.numpy(), expected_grad, rtol=1e-10, atol=1e-14)

    none = nn.CrossEntropyLoss(ignore_index=ignore_index, reduction="none")(
        ts.tensor(logits_np), ts.tensor(targets_np))
    numpy.testing.assert_allclose(none.numpy(), per_row, rtol=1e-12)
    total = nn.CrossEntropyLoss(ignore_index=ignore_index, reduction="sum")(
        ts.tensor(logits_np), ts.tensor(targets_np))
    numpy.testing.assert_allclose(total.item(), per_row.sum(), rtol=1e-12)


def test_losses_match_torch(float64):
    torch = pytest.importorskip("torch")
    rng = numpy.random.default_rng(2)
    logits_np = rng.standard_normal((5, 3))
    targets_np = numpy.array([0, 2, -1, 1, -1])
    ours = nn.CrossEntropyLoss(ignore_index=-1)(ts.tensor(logits_np), ts.tensor(targets_np))
    theirs = torch.nn.CrossEntropyLoss(ignore_index=-1)(torch.tensor(logits_np),
                                                        torch.tensor(targets_np))
    numpy.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    target_np = rng.standard_normal((5, 3))
    ours = nn.MSELoss()(ts.tensor(logits_np), ts.tensor(target_np))
    theirs = torch.nn.MSELoss()(torch.tensor(logits_np), torch.tensor(target_np))
    numpy.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)


# --- optimizers against hand-computed updates -------------------------------------------------
P0 = numpy.array([0.5, -1.0, 2.0])
GRADS = [numpy.array([0.1, -0.2, 0.3]), numpy.array([-0.4, 0.5, 0.05]),
         numpy.array([0.2, 0.2, -0.6])]


def _run(make_optimizer):
    p = nn.Parameter(ts.tensor(P0.copy()))
    opt = make_optimizer([p])
    history = []
    for g in GRADS:
        opt.zero_grad()
        p.grad = ts.tensor(g.copy())
        opt.step()
        history.append(p.numpy().copy())
    assert p.dtype == numpy.float64
    return history


def test_sgd_plain_by_hand():
    history = _run(lambda ps: optim.SGD(ps, lr=0.1))
    numpy.testing.assert_allclose(history[0], [0.49, -0.98, 1.97], rtol=0, atol=1e-15)
    numpy.testing.assert_allclose(history[-1], P0 - 0.1 * sum(GRADS), rtol=0, atol=1e-15)


def test_sgd_momentum_no_dampening_by_hand():
    lr, mu = 0.1, 0.9
    history = _run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu))
    # buffers: b1 = g1, b2 = mu b1 + g2, b3 = mu b2 + g3 (no (1 - dampening) factor)
    b1 = GRADS[0]
    b2 = mu * b1 + GRADS[1]
    b3 = mu * b2 + GRADS[2]
    expected = [P0 - lr * b1, P0 - lr * (b1 + b2), P0 - lr * (b1 + b2 + b3)]
    for got, want in zip(history, expected):
        numpy.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    numpy.testing.assert_allclose(history[0], [0.49, -0.98, 1.97], rtol=0, atol=1e-15)


def test_sgd_weight_decay_by_hand():
    lr, wd, mu = 0.1, 0.01, 0.5
    history = _run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, weight_decay=wd))
    p, buf = P0.copy(), None
    for g, got in zip(GRADS, history):
        d = g + wd * p
        buf = d if buf is None else mu * buf + d
        p = p - lr * buf
        numpy.testing.assert_allclose(got, p, rtol=0, atol=1e-15)
    # first step written out: 0.5 - 0.1 * (0.1 + 0.01 * 0.5)
    assert abs(history[0][0] - 0.4895) < 1e-15


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_by_hand(weight_decay):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    history = _run(lambda ps: optim.Adam(ps, lr=lr, weight_decay=weight_decay))
    p, m, v = P0.copy(), numpy.zeros(3), numpy.zeros(3)
    for t, (g, got) in enumerate(zip(GRADS, history), start=1):
        g = g + weight_decay * p  # L2, not decoupled
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (numpy.sqrt(v_hat) + eps)
        numpy.testing.assert_allclose(got, p, rtol=0, atol=1e-14)
    if weight_decay == 0.0:
        # first Adam step moves each coordinate by about lr against the sign of its gradient
        numpy.testing.assert_allclose(history[0], P0 - lr * numpy.sign(GRADS[0]), atol=1e-8)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
])
def test_optimizers_treat_0d_and_1d_parameters_alike(make):
    scalar = nn.Parameter(ts.tensor(numpy.array(0.5)))
    vector = nn.Parameter(ts.tensor(numpy.array([0.5])))
    opt = make([scalar, vector])
    for g in GRADS:
        scalar.grad = ts.tensor(numpy.array(g[0]))
        vector.grad = ts.tensor(numpy.array([g[0]]))
        opt.step()
        assert scalar.shape == () and type(scalar.array) is numpy.ndarray
        numpy.testing.assert_array_equal(scalar.numpy(), vector.numpy()[0])


# --- optimizers against torch.optim ---------------------------------------------------------
CONFIGS = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1), "SGD", dict(lr=0.1)),
    "sgd_momentum": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), "SGD",
                     dict(lr=0.05, momentum=0.9)),
    "sgd_momentum_wd": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.1),
                        "SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.02), "Adam", dict(lr=0.02)),
    "adam_wd": (lambda ps: optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                      weight_decay=0.05),
                "Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
}


def _mlp():
    return nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_optimizer_matches_torch(float64, name):
    torch = pytest.importorskip("torch")
    make_ours, torch_name, torch_kwargs = CONFIGS[name]
    model = _mlp()
    initial = model[0].weight.numpy().copy()
    ours = make_ours(model.parameters())
    torch_params = [torch.tensor(p.numpy().copy(), dtype=torch.float64, requires_grad=True)
                    for p in model.parameters()]
    theirs = getattr(torch.optim, torch_name)(torch_params, **torch_kwargs)
    x = ts.tensor(numpy.random.default_rng(3).standard_normal((4, 3)))
    y = ts.tensor(numpy.random.default_rng(4).standard_normal((4, 2)))
    for _ in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        loss = F.mse_loss(model(x).tanh(), y)
        loss.backward()
        for p, tp in zip(model.parameters(), torch_params):
            tp.grad = torch.tensor(p.grad.numpy().copy())
        ours.step()
        theirs.step()
        for p, tp in zip(model.parameters(), torch_params):
            numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-10)
    assert not numpy.allclose(model[0].weight.numpy(), initial)  # it did train


@pytest.mark.parametrize("name", ["sgd_momentum_wd", "adam_wd"])
def test_optimizer_state_dict_round_trip_continues_identically(float64, name):
    make = CONFIGS[name][0]
    x = ts.randn(6, 3)
    y = ts.randn(6, 2)

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()

    model = _mlp()
    opt = make(model.parameters())
    train(model, opt, 3)
    saved = opt.state_dict()
    assert sorted(saved["state"]) == [0, 1, 2, 3]
    snapshot = {k: {n: (v.numpy().copy() if hasattr(v, "numpy") else v) for n, v in s.items()}
                for k, s in saved["state"].items()}

    clone = _mlp()
    clone.load_state_dict(model.state_dict())
    clone_opt = make(clone.parameters())
    clone_opt.load_state_dict(saved)
    train(model, opt, 2)
    train(clone, clone_opt, 2)
    for (n, p), (_, q) in zip(model.named_parameters(), clone.named_parameters()):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    # the saved state was a copy: further training did not change it
    for k, s in saved["state"].items():
        for n, v in s.items():
            numpy.testing.assert_array_equal(v.numpy() if hasattr(v, "numpy") else v,
                                             snapshot[k][n])


def test_optimizer_load_state_dict_rejects_other_layout():
    opt = optim.Adam(_mlp().parameters())
    other = optim.Adam(nn.Linear(3, 5).parameters())
    with pytest.raises(ValueError):
        other.load_state_dict(opt.state_dict())


# --- gradient clipping ------------------------------------------------------------------------
def _params_with_grads(grads):
    params = []
    for g in grads:
        p = nn.Parameter(ts.zeros(*g.shape, dtype=g.dtype))
        p.grad = ts.tensor(g.copy())
        params.append(p)
    return params


def test_clip_grad_norm_returns_pre_clip_norm_and_scales(float64):
    grads = [numpy.array([3.0, 4.0]), numpy.array([[12.0]])]  # total norm 13
    params = _params_with_grads(grads)
    norm = nn.utils.clip_grad_norm_(params, 6.5)
    assert norm.shape == () and not norm.requires_grad
    assert norm.item() == pytest.approx(13.0, abs=1e-12)
    scale = 6.5 / (13.0 + 1e-6)
    for p, g in zip(params, grads):
        numpy.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-14)
    clipped = numpy.sqrt(sum((p.grad.numpy() ** 2).sum() for p in params))
    assert clipped == pytest.approx(6.5, abs=1e-5)


def test_clip_grad_norm_leaves_small_grads_alone(float64):
    grads = [numpy.array([3.0, 4.0]), numpy.array([[12.0]])]
    params = _params_with_grads(grads)
    assert nn.utils.clip_grad_norm_(params, 20.0).item() == pytest.approx(13.0, abs=1e-12)
    for p, g in zip(params, grads):
        numpy.testing.assert_array_equal(p.grad.numpy(), g)


def test_clip_grad_norm_random_against_numpy_and_skips_missing_grads(float64):
    rng = numpy.random.default_rng(5)
    grads = [rng.standard_normal((4, 3)), rng.standard_normal(7), rng.standard_normal(())]
    params = _params_with_grads(grads) + [nn.Parameter(ts.ones(3))]  # last has no grad
    expected = numpy.sqrt(sum(float((g ** 2).sum()) for g in grads))
    norm = nn.utils.clip_grad_norm_(params, 1.0)
    numpy.testing.assert_allclose(norm.item(), expected, rtol=1e-12)
    for p, g in zip(params, grads):
        numpy.testing.assert_allclose(p.grad.numpy(), g / (expected + 1e-6), rtol=1e-12)
    assert params[-1].grad is None


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, float("inf")),
                                                  (2.0, 1.0)])
def test_clip_grad_norm_matches_torch(float64, max_norm, norm_type):
    torch = pytest.importorskip("torch")
    rng = numpy.random.default_rng(6)
    grads = [rng.standard_normal((3, 5)), rng.standard_normal(5)]
    params = _params_with_grads(grads)
    torch_params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(torch_params, grads):
        tp.grad = torch.tensor(g.copy())
    ours = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    theirs = torch.nn.utils.clip_grad_norm_(torch_params, max_norm, norm_type=norm_type)
    numpy.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    for p, tp in zip(params, torch_params):
        numpy.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_clip_grad_norm_error_if_nonfinite(float64, bad):
    grads = [numpy.array([1.0, bad]), numpy.array([2.0])]
    params = _params_with_grads(grads)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    numpy.testing.assert_array_equal(params[1].grad.numpy(), [2.0])  # nothing was scaled
    with numpy.errstate(invalid="ignore"):
        norm = nn.utils.clip_grad_norm_(params, 1.0)  # the default does not raise
    assert not math.isfinite(norm.item())

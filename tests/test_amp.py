"""ts.amp: GradScaler's dynamic loss scaling step by step as PyTorch's (on the CPU, where both
run it), its disabled form, and autocast regions, which run in full precision and say so."""
import warnings

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn, optim


def training(lib, scaler_options, steps=8):
    """A linear model trained with a scaler from one set of weights: the scale and the weight
    after each step. A huge first scale overflows the scaled loss, so the first steps are
    skipped and the scale backs off; later it grows every ``growth_interval`` clean steps."""
    weight = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    model = (nn if lib is ts else lib.nn).Linear(3, 2, bias=False)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(weight))
    optimizer = (optim if lib is ts else lib.optim).SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", **scaler_options)
    x = lib.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        history.append((scaler.get_scale(), model.weight.detach().numpy().copy()))
    return history, scaler.state_dict()


@pytest.mark.parametrize("options", [
    dict(init_scale=2.0 ** 127, growth_interval=2),      # overflow, back off, then grow
    dict(init_scale=1024.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=3),
])
def test_scaling_as_pytorchs(options):
    torch = pytest.importorskip("torch")
    ours, our_state = training(ts, options)
    theirs, their_state = training(torch, options)
    for (our_scale, our_weight), (their_scale, their_weight) in zip(ours, theirs):
        assert our_scale == their_scale
        np.testing.assert_allclose(our_weight, their_weight, rtol=1e-6, atol=1e-7)
    assert our_state == their_state


def test_skipped_steps_back_off_and_clean_ones_grow_by_hand():
    """loss = 2^30 w: its scaled gradient overflows float32 while the scale is above 2^97,
    so the steps at 2^100, 2^99 and 2^98 are skipped, and growing back to 2^98 overflows
    again."""
    w = nn.Parameter(ts.ones(1))
    optimizer = optim.SGD([w], lr=2.0 ** -30)            # a clean step takes 1 off w
    scaler = ts.amp.GradScaler("cpu", init_scale=2.0 ** 100, growth_interval=2)
    scales, values = [], []
    for _ in range(6):
        optimizer.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):
            scaler.scale((w * 2.0 ** 30).sum()).backward()
            scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
        values.append(w.item())
    assert scales == [2.0 ** 99, 2.0 ** 98, 2.0 ** 97, 2.0 ** 97, 2.0 ** 98, 2.0 ** 97]
    assert values == [1.0, 1.0, 1.0, 0.0, -1.0, -1.0]
    assert scaler.state_dict()["_growth_tracker"] == 0


def test_unscale_gives_the_true_gradient_and_order_errors():
    model = nn.Linear(2, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scaler = ts.amp.GradScaler("cpu", init_scale=8.0)
    x = ts.tensor([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match="Attempted step but _scale is None"):
        scaler.step(optimizer)
    model(x).sum().backward()
    expected = model.weight.grad.numpy().copy()
    optimizer.zero_grad()
    scaler.scale(model(x).sum()).backward()
    np.testing.assert_array_equal(model.weight.grad.numpy(), 8 * expected)
    scaler.unscale_(optimizer)
    np.testing.assert_array_equal(model.weight.grad.numpy(), expected)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(optimizer)
    scaler.update()
    restored = ts.amp.GradScaler("cpu")
    restored.load_state_dict(scaler.state_dict())
    assert restored.get_scale() == scaler.get_scale() == 8.0


def test_a_cuda_scaler_without_a_gpu_is_disabled_as_pytorchs():
    if ts.cuda.is_available():
        pytest.skip("a GPU is here")
    with pytest.warns(UserWarning, match="CUDA is not available.  Disabling."):
        scaler = ts.cuda.amp.GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0
    loss = ts.tensor(3.0, requires_grad=True)
    assert scaler.scale(loss) is loss
    assert scaler.state_dict() == {}
    model = nn.Linear(2, 1)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    model(ts.ones(1, 2)).sum().backward()
    before = model.bias.detach().numpy().copy()
    scaler.step(optimizer)                                 # the plain step
    scaler.update()
    assert model.bias.detach().numpy()[0] == before[0] - 1.0


def test_autocast_regions_run_in_full_precision_and_say_so():
    x = ts.randn(3, 4)
    with pytest.warns(UserWarning, match="runs in full precision"):
        with ts.autocast("cpu", dtype=ts.float16):
            y = x @ x.T
    assert y.dtype == ts.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ts.autocast("cuda", enabled=False):
            z = x @ x.T
        with ts.cuda.amp.autocast(enabled=False):
            z = x @ x.T
    assert np.array_equal(y.numpy(), z.numpy())

    @ts.autocast("cpu", enabled=False)
    def double(t):
        return t * 2
    assert double(ts.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="expected `device_type` of type `str`"):
        ts.autocast(0)

"""Tensor.register_hook and retain_grad as PyTorch's: when hooks run, what they see, what a
returned Tensor replaces, and handles; against PyTorch where it is installed."""
import gc

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import hooks, nn

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch as the oracle")


def unrolled_rnn(framework, steps=4):
    """h_t = tanh(h_{t-1} W) with a hook on every h_t that records |dL/dh_t|, a hook on h_1
    that doubles its gradient, h_2 retained and a hook on W; returns what they saw."""
    make = torch.tensor if framework is torch else ts.tensor
    weight = make(np.arange(9.0).reshape(3, 3) / 10, requires_grad=True)
    h = make(np.ones((2, 3)))
    seen, states = [], []
    for t in range(steps):
        h = (h @ weight).tanh()
        h.register_hook(lambda g, t=t: seen.append((t, float(g.abs().sum()))))
        states.append(h)
    states[1].register_hook(lambda g: g * 2)
    states[2].retain_grad()
    weight.register_hook(lambda g: seen.append(("W", float(g.sum()))))
    loss = (h ** 2).sum() + states[0].sum()
    loss.backward()
    return seen, weight.grad.numpy(), states[2].grad.numpy(), states[2].retains_grad


@needs_torch
def test_hooks_run_in_pytorchs_order_and_replace_gradients_as_pytorch(each_accumulator):
    ours, theirs = unrolled_rnn(ts), unrolled_rnn(torch)
    assert [k for k, _ in ours[0]] == [k for k, _ in theirs[0]] == [3, 2, 1, 0, "W"]
    np.testing.assert_allclose([v for _, v in ours[0]], [v for _, v in theirs[0]], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    assert ours[3] is theirs[3] is True


def test_a_returned_gradient_replaces_it_for_the_ops_before(each_accumulator):
    w = ts.tensor([1.0, 2.0], dtype=ts.float64, requires_grad=True)
    y = w * 3.0
    y.register_hook(lambda g: g * 10)
    (y * y).sum().backward()                     # dL/dy = 2y = [6, 12], then 10 times that
    np.testing.assert_allclose(w.grad.numpy(), [180.0, 360.0])


def test_a_leaf_hook_runs_once_on_the_sum_of_all_its_uses(each_accumulator):
    """W is used at every step; its hook sees dL/dW = the sum of the per-step contributions
    once, and what it returns is what lands in .grad."""
    ts.manual_seed(0)
    cell = nn.RNNCell(3, 4, bias=False).double()
    x = ts.randn(5, 2, 3, dtype=ts.float64)

    def loss():
        h = ts.zeros(2, 4, dtype=ts.float64)
        for t in range(5):
            h = cell(x[t], h)
        return (h ** 2).sum()

    loss().backward()
    expected = cell.weight_hh.grad.numpy().copy()
    cell.zero_grad()
    calls = []
    handle = cell.weight_hh.register_hook(lambda g: calls.append(g.numpy().copy()) or -g)
    loss().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], expected, rtol=1e-12)
    np.testing.assert_allclose(cell.weight_hh.grad.numpy(), -expected, rtol=1e-12)
    handle.remove()
    handle.remove()                                   # a second remove changes nothing
    cell.zero_grad()
    loss().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(cell.weight_hh.grad.numpy(), expected, rtol=1e-12)


def test_hooks_on_the_fused_layers_output_see_dl_dh_t():
    ts.manual_seed(1)
    lstm = nn.LSTM(2, 3).double()
    x = ts.randn(6, 1, 2, dtype=ts.float64)
    output, _ = lstm(x)
    seen = []
    output.register_hook(lambda g: seen.append(g.numpy().copy()))
    output.retain_grad()
    (output[-1] ** 2).sum().backward()
    expected = np.zeros((6, 1, 3))
    expected[-1] = 2 * output[-1].detach().numpy()
    np.testing.assert_allclose(seen[0], expected, rtol=1e-12)
    np.testing.assert_allclose(output.grad.numpy(), expected, rtol=1e-12)


def test_hook_errors_name_the_hook_and_what_changed():
    w = ts.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2.0

    def bad_shape(g):
        return ts.zeros(3)

    y.register_hook(bad_shape)
    with pytest.raises(RuntimeError, match=r"hook .*bad_shape.* changed the gradient from "
                                           r"\(2,\) float32 ndarray to \(3,\) float32"):
        y.sum().backward()
    z = w * 2.0
    z.register_hook(lambda g: g.numpy())
    with pytest.raises(TypeError, match="returned a ndarray; it must return a Tensor or None"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ts.zeros(2).register_hook(print)
    with pytest.raises(TypeError, match="the hook must be callable, got int"):
        w.register_hook(3)


def test_a_leafs_hooks_go_when_the_leaf_goes():
    gc.collect()
    before = len(hooks.on_leaves)
    leaf = ts.zeros(2, requires_grad=True)
    leaf.register_hook(print)
    assert len(hooks.on_leaves) == before + 1
    del leaf
    gc.collect()
    assert len(hooks.on_leaves) == before


def test_without_hooks_retain_grad_is_unchanged_and_nothing_retains_by_default():
    w = ts.tensor([1.0, 2.0], requires_grad=True)
    y = w * 3.0
    assert not y.retains_grad and not w.retains_grad
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(w.grad.numpy(), [18.0, 36.0])

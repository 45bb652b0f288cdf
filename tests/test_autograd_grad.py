"""ts.autograd.grad as torch.autograd.grad: gradients returned for the inputs asked for (leaves
or not), over one output or several, with no .grad changed."""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch as the oracle")


def graph(framework):
    """x (5, 2, 3) and W leaves, h = x W a non-leaf; y = sum tanh(h)^2, z = sum tanh(h)[-1]."""
    make = torch.tensor if framework is torch else ts.tensor
    x = make(np.linspace(-1, 1, 30).reshape(5, 2, 3), requires_grad=True)
    weight = make(np.linspace(-0.5, 0.7, 12).reshape(3, 4), requires_grad=True)
    h = x @ weight
    states = h.tanh()
    return x, weight, h, (states ** 2).sum(), states[-1].sum()


@needs_torch
def test_grad_matches_pytorch_for_several_outputs_and_inputs_leaf_or_not(each_accumulator):
    ours, theirs = graph(ts), graph(torch)
    got = ts.autograd.grad([ours[3], ours[4]], [ours[0], ours[2], ours[1]],
                           grad_outputs=[None, ts.tensor(2.0, dtype=ts.float64)])
    expected = torch.autograd.grad([theirs[3], theirs[4]], [theirs[0], theirs[2], theirs[1]],
                                   grad_outputs=[None, torch.tensor(2.0, dtype=torch.float64)])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-15)
    assert ours[0].grad is None and ours[1].grad is None      # no .grad changes


@needs_torch
def test_saliency_of_every_input_step_through_the_fused_lstm_as_pytorch():
    """dL/dx_t for the last step's loss: how much each input step still matters (BPTT)."""
    ts.manual_seed(0)
    ours = nn.LSTM(3, 4).double()
    theirs = torch.nn.LSTM(3, 4).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x_values = np.random.default_rng(1).standard_normal((12, 2, 3))
    x, tx = ts.tensor(x_values, requires_grad=True), torch.tensor(x_values, requires_grad=True)
    saliency, = ts.autograd.grad((ours(x)[0][-1] ** 2).sum(), x)
    expected, = torch.autograd.grad((theirs(tx)[0][-1] ** 2).sum(), tx)
    np.testing.assert_allclose(saliency.numpy(), expected.numpy(), rtol=1e-10, atol=1e-14)
    assert all(p.grad is None for p in ours.parameters())


def test_grad_equals_what_backward_accumulates(each_accumulator):
    x, weight, h, y, _ = graph(ts)
    got_x, got_w = ts.autograd.grad(y, [x, weight], retain_graph=True)
    assert x.grad is None and weight.grad is None
    y.backward()
    np.testing.assert_allclose(got_x.numpy(), x.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(got_w.numpy(), weight.grad.numpy(), rtol=1e-14)


def test_unused_inputs_create_graph_and_a_freed_graph_are_errors_or_none():
    x, weight, h, y, _ = graph(ts)
    unused = ts.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used in the graph; pass allow_unused"):
        ts.autograd.grad(y, [x, unused], retain_graph=True)
    got = ts.autograd.grad(y, [unused, x], allow_unused=True, retain_graph=True)
    assert got[0] is None and got[1].shape == x.shape
    zeros = ts.autograd.grad(y, [unused], materialize_grads=True, retain_graph=True)[0]
    np.testing.assert_array_equal(zeros.numpy(), [0.0, 0.0])
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        ts.autograd.grad(y, x, create_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ts.autograd.grad(y, ts.zeros(2))
    with pytest.raises(RuntimeError, match="grad can be implied only for a scalar output"):
        ts.autograd.grad(h, x)
    ts.autograd.grad(y, x)                                  # retain_graph defaults to False
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        ts.autograd.grad(y, x)


def _hooked(framework):
    """a leaf with a hook (x10), b = 2a with a hook (x100) and retain_grad, c = 3b retained."""
    make = torch.tensor if framework is torch else ts.tensor
    a = make([1.0, -2.0], requires_grad=True)
    a.register_hook(lambda g: g * 10)
    b = a * 2
    b.register_hook(lambda g: g * 100)
    b.retain_grad()
    c = b * 3
    c.retain_grad()
    return a, b, c


@needs_torch
@pytest.mark.parametrize("asked", ["a", "b", "b and a", "c and a"])
def test_the_inputs_hooks_and_retain_grad_see_what_grad_computes_as_pytorch(asked, each_accumulator):
    results = []
    for framework in (ts, torch):
        a, b, c = _hooked(framework)
        inputs = {"a": [a], "b": [b], "b and a": [b, a], "c and a": [c, a]}[asked]
        got = framework.autograd.grad((c * c).sum(), inputs)
        results.append(([g.numpy() for g in got],
                        [None if t.grad is None else t.grad.numpy() for t in (b, c)],
                        a.grad))
    (ours, our_retained, our_leaf_grad), (theirs, their_retained, _) = results
    for g, e in zip(ours, theirs):
        np.testing.assert_array_equal(g, e)
    for g, e in zip(our_retained, their_retained):
        assert (g is None) == (e is None) and (g is None or np.array_equal(g, e))
    assert our_leaf_grad is None


class _CountedDouble(ts.autograd.Function):
    """y = 2 x;  dx = 2 g (counting its backward calls)"""
    backward_calls = 0

    def forward(self, xp, x):
        return 2 * x

    def backward(self, xp, g):
        type(self).backward_calls += 1
        return (2 * g,)


def test_grad_runs_only_the_ops_between_the_outputs_and_the_inputs():
    x = ts.ones(3, requires_grad=True)
    y = ts.ones(3, requires_grad=True)
    side = _CountedDouble().apply(y)                 # a branch no input lies behind
    b = _CountedDouble().apply(x)                    # the input's own op
    loss = (b * 3).sum() + side.sum()
    _CountedDouble.backward_calls = 0
    got, = ts.autograd.grad(loss, b)
    np.testing.assert_array_equal(got.numpy(), [3.0, 3.0, 3.0])
    assert _CountedDouble.backward_calls == 0 and y.grad is None
    # neither op was freed: a second pass through them works without retain_graph
    again, = ts.autograd.grad((b * side).sum(), x)
    np.testing.assert_array_equal(again.numpy(), [4.0, 4.0, 4.0])
    assert _CountedDouble.backward_calls == 1


def test_the_same_input_twice_gets_its_gradient_twice():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    for inputs in ([x, x], [h, h]):
        first, second = ts.autograd.grad((h * 3).sum(), inputs, retain_graph=True)
        np.testing.assert_array_equal(first.numpy(), second.numpy())
    np.testing.assert_array_equal(first.numpy(), [3.0, 3.0])


def test_a_path_through_an_op_an_earlier_pass_freed_is_an_error_not_a_partial_gradient():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    b = a * a                                        # freed by the first call, which runs it
    ts.autograd.grad(b.sum(), x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        ts.autograd.grad((b + x * 3).sum(), x)       # b's path is gone, x * 3's is not

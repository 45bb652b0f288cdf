"""The autograd engine: accumulation, graph lifetime, no_grad, deep graphs, memory.

Every test runs twice: with the default accumulator (LazySums: sparse and product gradients
kept lazy, sums in owned buffers) and with the plain one (DenseSums), the oracle."""
import gc
import importlib
import tracemalloc
import weakref

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import assert_close, gradcheck
from tinyseq import autograd
from tinyseq.autograd import Function
from tinyseq.accumulate import DenseSums, LazySums

tensor_module = importlib.import_module("tinyseq.tensor")   # (ts.tensor is the function)


@pytest.fixture(autouse=True, params=[LazySums, DenseSums], ids=["lazy", "dense"])
def accumulator(request, monkeypatch):
    monkeypatch.setattr(autograd, "Sums", request.param)
    return request.param


def leaf(values):
    return ts.tensor(values, dtype=ts.float64, requires_grad=True)


# --- gradients ---------------------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, [3 + 2.0, 3 + 4.0])


def test_tensor_used_many_times():
    x = leaf(2.0)
    y = x * x * x + x + x * 4 - x / x
    y.backward()
    assert_close(x.grad, 3 * 4.0 + 1 + 4)


def test_broadcast_gradient_is_reduced_to_leaf_shape():
    a, b, c = leaf(np.ones((3, 1))), leaf(np.ones(4)), leaf(2.0)
    (a * b * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    assert_close(a.grad, np.full((3, 1), 8.0))
    assert_close(b.grad, np.full(4, 6.0))
    assert_close(c.grad, 12.0)


def test_leaf_grads_are_own_writable_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.array is not b.grad.array
    a.grad.array *= 10  # in-place on one leaf's grad leaves the other alone
    assert_close(b.grad, [1.0, 1.0])


def test_grad_of_0d_leaf_is_an_array():
    x = leaf(3.0)
    (x * x).backward()
    assert isinstance(x.grad.array, np.ndarray)
    assert x.grad.item() == 6.0
    assert "6" in repr(x.grad)


def test_grads_have_leaf_dtype():
    x = ts.tensor([1.0, 2.0], requires_grad=True)  # float32
    (x.to(ts.float64) * 2).sum().backward()
    assert x.grad.dtype == np.float32


def test_only_leaves_that_require_grad_get_grad():
    x, c = leaf([1.0]), ts.tensor([2.0], dtype=ts.float64)
    (x * c).sum().backward()
    assert c.grad is None and not c.requires_grad
    assert_close(x.grad, [2.0])


def test_retain_grad_keeps_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    other = x * 5  # no retain_grad: its grad stays None
    (h * h + other).sum().backward()
    assert_close(h.grad, 2 * h.numpy())
    assert other.grad is None
    assert_close(x.grad, 18 * x.numpy() + 5)


# --- backward() arguments ----------------------------------------------------------------------
def test_numbers_keep_their_sign_and_the_shared_ones_cannot_be_changed():
    """``x * 0.5`` reuses one read-only 0-d tensor for 0.5 (tensor.py keeps them): 0.0 and
    -0.0 stay apart as in PyTorch, a change through the graph is refused, and the kept numbers
    stay few."""
    x = ts.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(2):                                 # the second time from what was kept
        assert np.signbit((x * 0.0).array).tolist() == [False, True]
        assert np.signbit((x * -0.0).array).tolist() == [True, False]
        assert np.signbit((0.0 - x).array).tolist() == [True, False]
    y = x * 0.5
    shared = y.grad_fn.inputs[1]
    assert shared is (x * 0.5).grad_fn.inputs[1]
    with pytest.raises(RuntimeError, match="add_: the tensor is a number that ops share"):
        shared.add_(1.0)
    np.testing.assert_array_equal((x * 0.5).array, [0.5, -1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [0.5, 0.5])
    for k in range(1000):
        x + (k + 0.25)
    assert len(tensor_module._constants) <= 256


def test_backward_on_non_scalar_needs_grad():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"backward: grad can be implied only for a scalar"):
        y.backward()
    y.backward(ts.tensor([1.0, 10.0], dtype=ts.float64))
    assert_close(x.grad, [2.0, 20.0])
    x.grad = None
    (x * 2).backward(np.array([3.0, 1.0]))
    assert_close(x.grad, [6.0, 2.0])


def test_backward_grad_of_wrong_shape_is_value_error():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"grad of shape \(3,\) does not match output shape \(2,\)"):
        y.backward(np.ones(3))


def test_backward_without_graph_is_runtime_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ts.tensor([1.0]) * 2).sum().backward()


def test_second_backward_through_freed_graph_mentions_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward_and_doubles_grad():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    assert_close(first, 2 * np.exp(x.numpy()))
    assert_close(x.grad, 2 * first)


def test_backward_on_leaf_itself():
    x = leaf(4.0)
    x.backward()
    assert x.grad.item() == 1.0


# --- no_grad and detach ------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with ts.no_grad():
        y = (x * 2).exp().sum()
        assert not ts.is_grad_enabled()
    assert ts.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad


def test_no_grad_as_decorator():
    @ts.no_grad()
    def double(t):
        """Doubles."""
        return t * 2

    y = double(leaf([1.0]))
    assert not y.requires_grad
    assert double.__name__ == "double" and ts.is_grad_enabled()


def test_no_grad_restored_after_exception():
    with pytest.raises(KeyError):
        with ts.no_grad():
            raise KeyError
    assert ts.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with ts.no_grad():
        with ts.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad


def test_detach_cuts_graph_and_shares_values():
    x = leaf([1.0, 2.0])
    d = (x * 3).detach()
    assert not d.requires_grad and d.is_leaf
    assert_close(d, [3.0, 6.0])
    (x * d).sum().backward()
    assert_close(x.grad, [3.0, 6.0])  # d counts as a constant


def test_comparisons_return_bool_tensors_without_grad():
    x = leaf([1.0, 2.0, 3.0])
    for out, expected in [(x < 2, [1, 0, 0]), (x <= 2, [1, 1, 0]), (x > 2, [0, 0, 1]),
                          (x >= 2, [0, 1, 1]), (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1])]:
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        assert out.numpy().tolist() == [bool(v) for v in expected]


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="tensor: only Tensors of floating point dtype can "
                                           "require gradients, got dtype int64"):
        ts.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require"):
        ts.tensor(np.array([True]), requires_grad=True)


# --- deep graphs -------------------------------------------------------------------------------
def test_chain_of_10000_ops_has_no_recursion_error():
    x = leaf(0.5)
    y = x
    for _ in range(10000):
        y = (y * 1.0001).tanh()
    y.backward()
    assert np.isfinite(x.grad.item()) and x.grad.item() > 0


@pytest.mark.slow
def test_graph_of_100000_adds():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(100000):
        y = y + x
    y.sum().backward()
    assert_close(x.grad, [100001.0, 100001.0])


@pytest.mark.slow
def test_deep_graph_is_freed_without_backward():
    x = leaf(1.0)
    y = x
    for _ in range(100000):
        y = y + 1.0
    probe = weakref.ref(y.grad_fn)
    del y  # deallocating a 100,000-deep chain must not overflow the C stack
    assert probe() is None


# --- graph lifetime ----------------------------------------------------------------------------
def test_graph_freed_after_backward_without_gc():
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        hidden = x.exp()
        hidden_ref, node_ref = weakref.ref(hidden), weakref.ref(hidden.grad_fn)
        loss = (hidden * 2).sum()
        loss_node_ref = weakref.ref(loss.grad_fn)
        del hidden
        assert hidden_ref() is not None  # the graph holds it until backward ...
        loss.backward()
        assert hidden_ref() is None and node_ref() is None  # ... which drops the graph's edges
        del loss
        assert loss_node_ref() is None
        assert x.grad is not None
    finally:
        gc.enable()


def test_graph_freed_without_backward_without_gc():
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        hidden = x.tanh()
        hidden_ref = weakref.ref(hidden)
        loss = (hidden @ hidden).sum()
        del hidden
        assert hidden_ref() is not None
        del loss
        assert hidden_ref() is None
    finally:
        gc.enable()


def test_backward_releases_saved_arrays():
    x = leaf(np.ones(1000))
    hidden = x.exp()
    node = (hidden * hidden).grad_fn
    out = (hidden * hidden).sum()
    out.backward()
    assert out.grad_fn.inputs is None and out.grad_fn.saved is None
    assert node.inputs is not None  # a graph never backpropagated keeps its inputs


def test_training_loop_memory_does_not_grow():
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((4, 8)) * 0.1)
    b = leaf(np.zeros(8))
    x = ts.tensor(rng.standard_normal((16, 4)))
    y = ts.tensor(rng.standard_normal((16, 8)))

    def step():
        loss = F.mse_loss((x @ w + b).tanh(), y)
        loss.backward()
        with ts.no_grad():
            for p in (w, b):
                p.array = p.array - 0.01 * p.grad.array
                p.grad = None
        return loss.item()

    tracemalloc.start()
    try:
        first = [step() for _ in range(100)]
        gc.collect()
        at_100 = tracemalloc.get_traced_memory()[0]
        last = [step() for _ in range(900)]
        gc.collect()
        at_1000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert last[-1] < first[0]  # it did train
    assert at_1000 - at_100 < 100_000


def test_enable_grad_as_decorator_turns_recording_on_inside_no_grad():
    @ts.enable_grad()
    def inner(x):
        return (x * 2).sum()

    @ts.no_grad()
    def outer(x):
        return inner(x)

    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = outer(x)
    assert y.requires_grad
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert ts.is_grad_enabled()


# --- lazy gradients and in-place accumulation -------------------------------------------------
def test_many_slices_of_one_tensor_sum_their_gradients(float64):
    """Slices send SparseGrads, added into one buffer; dense gradients may come before, between
    and after them, and a repeated advanced index adds up."""
    x = ts.randn(6, 8, requires_grad=True)
    gradcheck(lambda a: ts.concat([a[:, :2] * a[:, 2:4], a[:, 4:6].tanh(), a[1:3, 6:],
                                   a[[0, 0, 5], :2]], axis=0).sum(axis=0) + (a * a).sum(axis=0)[:2],
              [x])


def test_shared_gradient_arrays_are_not_changed_by_later_additions(float64):
    """Add sends one array to both inputs; summing into a parent must never write into it."""
    def fn(x):
        a = x * 1                        # a non-leaf: its gradient is summed in the engine
        b = a + a                        # b's gradient goes to a twice, as one shared array
        return b * 1 + b[::-1] + a[1:].sum() + a * a + b[:2].sum()

    def shared_then_sliced(x):
        a, y = x * 1, x * 2
        c = a + y                        # a and y get the same array; then a slice of a adds in
        return y * 5 + a[:2].sum() + c * c
    for f in (fn, shared_then_sliced):
        gradcheck(f, [ts.randn(5, requires_grad=True)])


def test_weight_shared_by_many_linears_gets_the_sum_of_their_products(float64):
    """A leaf weight used at T steps: backward sums the ProductGrads in one product."""
    weight = ts.randn(3, 4, requires_grad=True)
    xs = [ts.randn(2, 4) for _ in range(5)]
    out = sum((F.linear(x, weight) ** 2).sum() for x in xs)
    out.backward()
    expected = sum(2 * (x.numpy() @ weight.numpy().T).T @ x.numpy() for x in xs)
    assert_close(weight.grad, expected, rtol=1e-12, atol=1e-12)
    gradcheck(lambda w: sum(F.linear(x, w).tanh() for x in xs), [ts.randn(3, 4, requires_grad=True)])


def test_weight_shared_by_matmuls_of_2d_and_3d_inputs(float64):
    """x @ W sends W a ProductGrad too, for 2-D and stacked inputs alike."""
    inputs = [ts.randn(2, 4, requires_grad=True), ts.randn(3, 2, 4, requires_grad=True)]
    weight = ts.randn(4, 3, requires_grad=True)
    gradcheck(lambda w, a, b: (a @ w).sin().sum() + (b @ w).cos(), [weight] + inputs)


def test_product_gradient_into_a_non_leaf_weight(float64):
    base = ts.randn(3, 4, requires_grad=True)
    x = ts.randn(2, 4)
    gradcheck(lambda b: F.linear(x, b * 2) + F.linear(x * 3, b * 2), [base])


def test_product_gradients_under_a_trace_stay_per_step(float64):
    weight = ts.randn(3, 4, requires_grad=True)
    xs = [ts.randn(2, 4) for _ in range(3)]
    with ts.trace() as tr:
        out = 0
        for t, x in enumerate(xs):
            with ts.timestep(t):
                out = out + F.linear(x, weight).sum()
    out.backward()
    contributions = tr.contributions(weight)
    assert [t for t, _ in contributions] == [0, 1, 2]
    for (_, g), x in zip(contributions, xs):
        assert_close(g, np.ones((2, 3)).T @ x.numpy(), rtol=1e-12, atol=1e-12)


class FirstOnly(Function):
    """y = a + 0 * b;  da = g, and no gradient for b"""

    def forward(self, xp, a, b):
        return a + 0 * b

    def backward(self, xp, g):
        return g, None


def test_an_input_sent_no_gradient_still_lets_its_op_run_for_its_other_consumers():
    w, a = leaf([1.0, 2.0]), leaf([1.0, 1.0])
    b = w * 3                                   # b's op has two consumers; one sends None
    (FirstOnly().apply(a, b).sum() + b.sum()).backward()
    assert_close(a.grad, [1.0, 1.0])
    assert_close(w.grad, [3.0, 3.0])
    c = w * 5                                   # every consumer sends None: nothing reaches w
    w.grad = None
    FirstOnly().apply(a, c).sum().backward()
    assert w.grad is None

"""Custom autograd functions in PyTorch's style: ``class F(ts.autograd.Function)`` with static
forward(ctx, ...) and backward(ctx, ...), called as ``F.apply(...)``. Each function is written
once against a library (tinyseq or torch) so that both run the same text."""
import numpy as np
import pytest

import tinyseq as ts
from gradcheck import assert_close, gradcheck

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")


def exp_times(lib):
    class ExpTimes(lib.autograd.Function):
        """y = exp(x) * k for a tensor x and a number k."""
        @staticmethod
        def forward(ctx, x, k):
            y = x.exp() * k
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y, None
    return ExpTimes


def product_and_sum(lib):
    class ProductAndSum(lib.autograd.Function):
        """(a * b, a + b): two outputs."""
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b, a + b

        @staticmethod
        def backward(ctx, grad_product, grad_sum):
            a, b = ctx.saved_tensors
            return grad_product * b + grad_sum, grad_product * a + grad_sum
    return ProductAndSum


def scale_rows(lib):
    class ScaleRows(lib.autograd.Function):
        """y = x * s for x (3, 4) and s (3, 1); backward gives s the unsummed (3, 4)."""
        @staticmethod
        def forward(ctx, x, s):
            ctx.save_for_backward(x, s)
            return x * s

        @staticmethod
        def backward(ctx, grad):
            x, s = ctx.saved_tensors
            return grad * s, grad * x
    return ScaleRows


def cube_with_setup_context(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * grad
    return Cube


def sort_values(lib):
    class SortValues(lib.autograd.Function):
        """(sorted x, the indices): the indices are integers and get no gradient."""
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort(dim=-1)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            indices, = ctx.saved_tensors
            grad = grad_values.new_zeros(grad_values.shape)
            return grad.scatter(-1, indices, grad_values)
    return SortValues


def test_values_and_gradients_as_written():
    x = ts.tensor([0.5, -1.0, 2.0], dtype=ts.float64, requires_grad=True)
    y = exp_times(ts).apply(x, 3.0)
    assert_close(y, 3.0 * np.exp([0.5, -1.0, 2.0]), atol=0, rtol=1e-15)
    (y * ts.tensor([1.0, 2.0, 3.0], dtype=ts.float64)).sum().backward()
    assert_close(x.grad, np.array([1.0, 2.0, 3.0]) * 3.0 * np.exp([0.5, -1.0, 2.0]),
                 atol=0, rtol=1e-15)
    assert y.grad_fn.name == "exp_times"


def test_gradients_match_finite_differences():
    a = ts.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True, dtype=ts.float64)
    b = ts.tensor(np.linspace(0.5, 2, 6).reshape(2, 3), requires_grad=True, dtype=ts.float64)
    functions = product_and_sum(ts)
    gradcheck(lambda a, b: ts.stack(functions.apply(a.sin(), b)), [a, b])
    gradcheck(lambda a: cube_with_setup_context(ts).apply(a) * 2, [a])
    s = ts.tensor([[0.5], [-2.0]], requires_grad=True, dtype=ts.float64)
    gradcheck(lambda a, s: scale_rows(ts).apply(a, s), [a, s])


@needs_torch
@pytest.mark.parametrize("make", [exp_times, product_and_sum, scale_rows,
                                  cube_with_setup_context, sort_values])
def test_same_values_and_gradients_as_torch(make):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 1) if make is scale_rows
                                                       else (3, 4))]
    if make in (exp_times, cube_with_setup_context, sort_values):
        arrays = arrays[:1]
    results = []
    for lib in (ts, torch):
        inputs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        args = inputs + [2.5] if make is exp_times else inputs
        out = make(lib).apply(*args)
        first = out[0] if isinstance(out, tuple) else out   # the sum output gets no gradient
        (first * lib.tensor(np.arange(12.0).reshape(3, 4), dtype=lib.float64)).sum().backward()
        outputs = out if isinstance(out, tuple) else (out,)
        results.append(([o.detach().numpy() for o in outputs],
                        [t.grad.numpy() for t in inputs],
                        [o.requires_grad for o in outputs]))
    ours, theirs = results
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert ours[2] == theirs[2]


def test_needs_input_grad_and_no_graph_without_grad():
    seen = []

    class Record(ts.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen.append(ctx.needs_input_grad)
            assert not ts.is_grad_enabled()           # forward records nothing
            return x * y * k

        @staticmethod
        def backward(ctx, grad):
            return grad, None, None

    x = ts.ones(2, requires_grad=True)
    y = ts.ones(2)
    out = Record.apply(x, y, 2)
    assert seen == [(True, False, False)]
    assert out.requires_grad and out.grad_fn is not None
    with ts.no_grad():
        out = Record.apply(x, y, 2)
    assert not out.requires_grad and out.grad_fn is None
    assert not Record.apply(y, y, 2).requires_grad


def test_an_unused_output_gets_zeros_and_integer_outputs_no_graph():
    received = []

    class Pair(ts.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, grad_double, grad_triple):
            received.append((grad_double.numpy().copy(), grad_triple.numpy().copy()))
            return grad_double * 2 + grad_triple * 3

    x = ts.tensor([1.0, 2.0], requires_grad=True)
    double, triple = Pair.apply(x)
    triple.sum().backward()
    np.testing.assert_array_equal(received[0][0], [0.0, 0.0])
    np.testing.assert_array_equal(received[0][1], [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    values, indices = sort_values(ts).apply(ts.tensor([3.0, 1.0, 2.0], requires_grad=True))
    assert values.requires_grad and not indices.requires_grad
    assert indices.dtype == ts.int64


def test_chain_rule_through_the_function_and_hooks():
    x = ts.tensor([0.1, 0.2, 0.3], dtype=ts.float64, requires_grad=True)
    y = exp_times(ts).apply(x.sin(), 2.0)
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    (y ** 2).sum().backward()
    expected_y = 2 * np.exp(np.sin([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(seen[0], 2 * expected_y, rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(),
                               2 * expected_y * expected_y * np.cos([0.1, 0.2, 0.3]), rtol=1e-14)


def test_retain_graph_runs_backward_twice_and_without_it_the_second_time_is_an_error():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = exp_times(ts).apply(x, 1.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    z = exp_times(ts).apply(x * 1, 1.0)
    loss = z.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="saved_tensors.*retain_graph"):
        z.grad_fn.ctx.saved_tensors


def test_changing_a_saved_output_in_place_is_caught():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = exp_times(ts).apply(x, 1.0)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="in place|modified|version"):
        y.sum().backward()


def test_backward_mistakes_are_named():
    def function(backward):
        class Faulty(ts.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

        Faulty.backward = staticmethod(backward)
        return Faulty

    x = ts.ones(3, requires_grad=True)
    cases = [(lambda ctx, g: g, RuntimeError, "faulty: backward returned 1 gradients; forward "
                                              "took 2 arguments"),
             (lambda ctx, g: (g, g), RuntimeError, "gradient for argument 1, which is not a "
                                                   "tensor"),
             (lambda ctx, g: (ts.ones(4), None), RuntimeError, r"shape \(4,\) for argument 0, "
                                                               r"which has shape \(3,\)"),
             (lambda ctx, g: (np.ones(3), None), TypeError, "returned a ndarray for argument 0")]
    for backward, kind, message in cases:
        with pytest.raises(kind, match=message):
            function(backward).apply(x, 2.0).sum().backward()
    assert x.grad is None
    with pytest.raises(TypeError, match="save_for_backward: can save only tensors"):
        class SavesANumber(ts.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(2.0)
                return x
        SavesANumber.apply(x)


def test_once_differentiable_and_function_module_paths():
    from tinyseq.autograd.function import FunctionCtx, once_differentiable
    import tinyseq.nn.functional as nn_functional

    class Double(ts.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            return grad * 2

    x = ts.ones(2, requires_grad=True)
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert FunctionCtx.__name__ == "FunctionCtx"
    assert nn_functional is ts.functional and ts.nn.functional is ts.functional


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_set_detect_anomaly_turns_the_mode_on_and_off_in_this_thread():
    assert not ts.is_anomaly_enabled()
    ts.autograd.set_detect_anomaly(True)
    try:
        assert ts.is_anomaly_enabled()
        with pytest.raises(FloatingPointError, match="log"):
            ts.tensor([-1.0], requires_grad=True).log()
        with ts.autograd.set_detect_anomaly(False):
            assert not ts.is_anomaly_enabled()
            ts.tensor([-1.0], requires_grad=True).log()
        assert ts.is_anomaly_enabled()
    finally:
        ts.autograd.set_detect_anomaly(False)
    assert not ts.is_anomaly_enabled()
    with ts.autograd.detect_anomaly():
        assert ts.is_anomaly_enabled()


def test_set_detect_anomaly_is_per_thread():
    import threading
    seen = []
    ts.autograd.set_detect_anomaly(True)
    try:
        worker = threading.Thread(target=lambda: seen.append(ts.is_anomaly_enabled()))
        worker.start()
        worker.join()
        assert ts.is_anomaly_enabled()
    finally:
        ts.autograd.set_detect_anomaly(False)
    assert seen == [False]

"""Numerical faults: ts.autograd.detect_anomaly, clip_grad_norm_(error_if_nonfinite=True), and
PyTorch's dtype promotion rule for mixed inputs (see tinyseq/tensor.py's docstring)."""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn
from tinyseq.anomaly import detect_anomaly, is_anomaly_enabled
from tinyseq.autograd import Function, state
from tinyseq.ops.recurrent import LSTMMath, RecurrentLayer


class Step(nn.Module):
    def forward(self, x):
        return ts.log(x).sum()


class Model(nn.Module):
    """A hand-written time loop: step t takes log of xs[t]."""

    def __init__(self):
        super().__init__()
        self.step = Step()

    def forward(self, xs):
        total = 0.0
        for t in range(xs.shape[0]):
            with ts.timestep(t):
                total = self.step(xs[t]) + total
        return total


def _xs():
    """Five steps of positive inputs except step 3, where log gives NaN."""
    return ts.tensor([[1.0, 2.0], [1.0, 1.0], [2.0, 2.0], [-1.0, 1.0], [1.0, 1.0]],
                     requires_grad=True)


class BadGrad(Function):
    """Identity forward; backward divides by zero."""

    def forward(self, xp, x):
        return x * 1

    def backward(self, xp, g):
        return (g / xp.zeros_like(g),)


# --- forward ------------------------------------------------------------------------------
def test_forward_raises_at_first_nan_op_naming_op_step_and_module_path():
    with np.errstate(all="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            Model()(_xs())
    message = str(info.value)
    assert "log" in message and "time step 3" in message and "module Model.step" in message
    assert "(2,) float32" in message  # input shapes
    assert state.module_path == () and state.time_step is None  # restored after the raise


def test_forward_message_is_the_same_while_tracing():
    with np.errstate(all="ignore"), detect_anomaly(), ts.trace():
        with pytest.raises(FloatingPointError, match=r"log .*time step 3, module Model\.step\)"):
            Model()(_xs())


def test_hand_loop_without_module():
    x = ts.tensor([-1.0, 1.0])
    with np.errstate(all="ignore"), detect_anomaly(), ts.timestep(3):
        with pytest.raises(FloatingPointError, match=r"log .*time step 3, module \(none\)"):
            ts.log(x)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_inside_fused_lstm_names_the_first_bad_time_step(bidirectional):
    lstm = nn.LSTM(2, 3, bidirectional=bidirectional)
    x = ts.randn(4, 1, 2)
    x.array[2, 0, 0] = np.nan  # step 2 is the first to see it, in either direction
    with np.errstate(all="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"recurrent_layer .*time step 2, module LSTM\)"):
            lstm(x)


def test_forward_inside_primitive_lstm_names_the_projection_of_all_steps():
    lstm = nn.LSTM(2, 3, impl="primitive")
    x = ts.randn(4, 1, 2)
    x.array[2, 0, 0] = np.nan
    with np.errstate(all="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"linear .*time step None, module LSTM\)"):
            lstm(x)


@pytest.mark.parametrize("reverse", [False, True])
def test_backward_of_the_layer_op_names_the_first_time_step_whose_gradient_is_bad(reverse):
    math = LSTMMath()
    inputs = [ts.randn(5, 2, 3, requires_grad=True), ts.randn(2, 2, 4),
              ts.randn(16, 3, requires_grad=True), ts.randn(16, 4, requires_grad=True)]
    with np.errstate(all="ignore"), detect_anomaly():
        states = RecurrentLayer(math, reverse=reverse).apply(*inputs)
        grad = np.ones(states.shape)
        grad[:, 3] = np.nan                # the gradient reaching the state after step 3
        with pytest.raises(FloatingPointError, match=r"recurrent_layer backward .*time step 3"):
            states.backward(grad)
    assert inputs[2].grad is None           # raised before any weight got a gradient


def test_finite_run_is_unchanged_by_the_mode():
    xs = ts.tensor(np.abs(_xs().array) + 1, requires_grad=True)
    loss = Model()(xs)
    loss.backward()
    with detect_anomaly():
        xs2 = ts.tensor(xs.array, requires_grad=True)
        loss2 = Model()(xs2)
        loss2.backward()
    assert loss2.item() == loss.item()
    np.testing.assert_array_equal(xs2.grad.array, xs.grad.array)


def test_outside_the_mode_nothing_raises_and_nan_is_numpys():
    with np.errstate(all="ignore"):
        y = Model()(_xs())
        x = ts.tensor([0.0, 1.0], requires_grad=True)
        ts.sqrt(x).sum().backward()
    assert np.isnan(y.item())
    assert np.isinf(x.grad.array[0]) and x.grad.array[1] == 0.5


# --- backward -----------------------------------------------------------------------------
def test_backward_raises_naming_op_and_time_step_sqrt_at_zero():
    x = ts.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"), detect_anomaly():
        with ts.timestep(5):
            y = ts.sqrt(x).sum()  # forward is finite: sqrt(0) = 0
        with pytest.raises(FloatingPointError, match=r"sqrt backward .*time step 5"):
            y.backward()
    assert x.grad is None  # raised before reaching the leaf


def test_backward_raises_for_custom_division_by_zero():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"), detect_anomaly():
        y = (BadGrad().apply(x) * 3).sum()
        with pytest.raises(FloatingPointError, match=r"bad_grad backward"):
            y.backward()


def test_backward_checks_when_mode_is_on_as_backward_starts():
    x = ts.tensor([0.0, 1.0], requires_grad=True)
    y = ts.sqrt(x).sum()  # made outside the mode: where it ran is unknown
    with np.errstate(all="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"sqrt backward .*unknown"):
            y.backward(retain_graph=True)
    with np.errstate(all="ignore"):
        y.backward()  # mode off as backward starts: no check
    assert np.isinf(x.grad.array[0])


# --- the context manager ------------------------------------------------------------------
def test_decorator_form():
    @detect_anomaly()
    def run(x):
        """doc"""
        assert is_anomaly_enabled()
        return ts.log(x)

    assert run.__name__ == "run" and run.__doc__ == "doc"
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="log"):
        run(ts.tensor([-1.0]))
    assert not is_anomaly_enabled()


def test_nesting_and_exit_restore_previous_state():
    assert not is_anomaly_enabled()
    with detect_anomaly():
        with detect_anomaly(False):
            assert not is_anomaly_enabled()
            with np.errstate(all="ignore"):
                ts.log(ts.tensor([-1.0]))  # off inside: no raise
        assert is_anomaly_enabled()
        with pytest.raises(ValueError):
            with detect_anomaly(False):
                raise ValueError
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()


# --- clip_grad_norm_ ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_clip_grad_norm_error_if_nonfinite(bad):
    params = [nn.Parameter(ts.zeros(2)), nn.Parameter(ts.zeros(3))]
    params[0].grad = ts.tensor([3.0, 4.0])
    params[1].grad = ts.tensor([0.0, bad, 1.0])
    with np.errstate(all="ignore"):
        with pytest.raises(RuntimeError, match="non-finite"):
            nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
        assert not np.isfinite(nn.utils.clip_grad_norm_(params, 1.0).item())  # default: no raise
    params[0].grad = ts.tensor([3.0, 4.0])  # the unchecked clip above scaled it by NaN
    params[1].grad = ts.tensor([0.0, 0.0, 0.0])
    norm = nn.utils.clip_grad_norm_(params, 10.0, error_if_nonfinite=True)
    assert norm.item() == pytest.approx(5.0)


# --- dtype promotion ----------------------------------------------------------------------
def test_float32_with_float64_gives_float64_and_leaf_grads_keep_leaf_dtype():
    a = ts.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = ts.tensor(np.array([3.0, 4.0], dtype=np.float64), requires_grad=True)
    y = a * b + a
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.array, [4.0, 5.0])
    np.testing.assert_allclose(b.grad.array, [1.0, 2.0])


def test_python_float_takes_the_tensors_dtype():
    a = ts.tensor(np.array([1.0, 2.0], dtype=np.float32))
    assert (a * 2.5).dtype == np.float32 and (2.5 + a).dtype == np.float32
    assert (a / np.float64(3.0)).dtype == np.float32  # a NumPy float64 scalar is a Python float
    b = ts.tensor(np.array([1.0, 2.0], dtype=np.float64))
    assert (b * 2.5).dtype == np.float64
    ts.set_default_dtype(ts.float64)  # the tensor's dtype wins over the default
    assert (a * 2.5).dtype == np.float32 and (a - 1).dtype == np.float32


def test_int_tensor_with_python_numbers():
    i = ts.tensor([1, 2])
    assert (i * 2).dtype == i.dtype  # int stays int
    assert (i + 1.5).dtype == np.float32  # PyTorch: a float number on ints is the default dtype
    assert (i + ts.tensor([0.5], dtype=ts.float32)).dtype == np.float32   # and int64 + float32
    ts.set_default_dtype(ts.float64)
    assert (i + 1.5).dtype == np.float64
    np.testing.assert_allclose((i + 1.5).array, [2.5, 3.5])

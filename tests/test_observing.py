"""Observing changes nothing: the engine's observer seam, per-thread modes, in-place safety and
the two gradient accumulators.

* Traced and untraced runs give bit-identical outputs and gradients (float32 and float64;
  RNN, LSTM, GRU fused and primitive, stacked, bidirectional, padded, batch first; Seq2Seq),
  and the fused layer's per-step shares still add up to ``.grad``.
* A trace that outlived its block records nothing more and changes no later backward.
* no_grad, traces and anomaly mode in one thread leave another thread alone.
* Changing a tensor in place after an op saved it raises at backward, naming the op, the
  shape and both versions.
* DenseSums (the plain oracle) and LazySums (the default) give the same gradients.
"""
import re
import threading
import traceback
import weakref

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import autograd, modes, nn, observers
from tinyseq import functional as F
from tinyseq.accumulate import DenseSums, LazySums, ProductGrad
from tinyseq.autograd import Function, state

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
CONFIGS = {"plain": {}, "stacked-bidirectional": {"num_layers": 2, "bidirectional": True},
           "batch-first": {"batch_first": True}}


def layer_run(kind, impl, config, lengths, dtype, traced):
    """Output, final state and every gradient of one seeded forward and backward."""
    ts.set_default_dtype(dtype)                      # the autouse fixture restores it
    ts.manual_seed(0)
    layer = LAYERS[kind](3, 4, impl=impl, **CONFIGS[config])
    rng = np.random.default_rng(1)
    shape = (2, 6, 3) if config == "batch-first" else (6, 2, 3)
    x = ts.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    weights = ts.tensor(rng.standard_normal(shape[:2] + (4 * (2 if "bi" in config else 1),))
                        .astype(dtype))
    if traced:
        with ts.trace() as tr:
            output, state_n = layer(x, lengths=lengths)
            loss = (output * weights).sum()
    else:
        tr = None
        output, state_n = layer(x, lengths=lengths)
        loss = (output * weights).sum()
    h_n = state_n[0] if kind == "LSTM" else state_n
    (loss + (h_n * h_n).sum()).backward()
    arrays = [output.array, h_n.array, x.grad.array] + [p.grad.array for p in layer.parameters()]
    return arrays, layer, tr


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("lengths", [None, [6, 3]], ids=["full", "padded"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_traced_run_is_bit_identical(kind, impl, config, lengths, dtype):
    untraced, _, _ = layer_run(kind, impl, config, lengths, dtype, traced=False)
    traced, layer, tr = layer_run(kind, impl, config, lengths, dtype, traced=True)
    assert tr.steps == 6
    for a, b in zip(untraced, traced):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("lengths", [None, [6, 3]], ids=["full", "padded"])
def test_fused_per_step_shares_add_up_to_grad(float64, kind, lengths):
    _, layer, tr = layer_run(kind, "fused", "stacked-bidirectional", lengths, np.float64, True)
    for name, p in layer.named_parameters():
        shares = tr.contributions(p)
        assert [t for t, _ in shares] == list(range(6)), name
        np.testing.assert_allclose(sum(g for _, g in shares), p.grad.array, rtol=0, atol=1e-10,
                                   err_msg=name)


def seq2seq_run(cell, attention, traced):
    ts.manual_seed(0)
    model = nn.Seq2Seq(7, 6, embedding_dim=3, hidden_size=4, cell=cell, attention=attention)
    source = np.array([[3, 4, 5], [4, 5, 0]])
    target = np.array([[1, 3, 4, 2], [1, 5, 2, 0]])
    if traced:
        with ts.trace():
            logits, _ = model(source, target, source_lengths=[3, 2])
            loss = model.loss(logits, target)
    else:
        logits, _ = model(source, target, source_lengths=[3, 2])
        loss = model.loss(logits, target)
    loss.backward()
    return [logits.array] + [p.grad.array for p in model.parameters()]


@pytest.mark.parametrize("cell,attention", [("gru", None), ("lstm", "general"),
                                            ("rnn", "additive")])
def test_traced_seq2seq_is_bit_identical(cell, attention):
    for a, b in zip(seq2seq_run(cell, attention, False), seq2seq_run(cell, attention, True)):
        np.testing.assert_array_equal(a, b)


# --- a trace after its block --------------------------------------------------------------
def test_leftover_trace_records_nothing_and_keeps_weight_gradients_lazy(monkeypatch):
    lstm = nn.LSTM(3, 4, impl="primitive")
    with ts.trace() as leftover:
        lstm(ts.randn(2, 1, 3))[0].sum()
    recorded = len(leftover.ops)
    totals = []
    original = ProductGrad.total
    monkeypatch.setattr(ProductGrad, "total",
                        staticmethod(lambda products: totals.append(len(products)) or
                                     original(products)))
    steps = 7
    output, _ = lstm(ts.randn(steps, 2, 3))          # an unrelated graph, after the block
    output.sum().backward()
    assert len(leftover.ops) == recorded
    # weight_hh: one product over all steps; weight_ih: the projection of all steps
    assert sorted(totals) == [1, steps]


def test_trace_observes_its_own_thread_only_and_is_removed_at_exit():
    assert state.observers == ()
    with ts.trace() as tr:
        assert state.observers == (tr,)
    assert state.observers == ()


# --- threads ------------------------------------------------------------------------------
def _in_thread(function):
    """Run ``function`` in a new thread; re-raise what it raised."""
    errors = []

    def run():
        try:
            function()
        except BaseException as error:                # noqa: B902 (re-raised below)
            errors.append(error)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        inside.wait(10)                                # the main thread is inside no_grad now
        x = ts.ones(2, requires_grad=True)
        seen["requires_grad"] = (x * 2).requires_grad
        seen["enabled"] = ts.is_grad_enabled()
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with ts.no_grad():
        inside.set()
        done.wait(10)
        assert not ts.is_grad_enabled()
    thread.join(10)
    assert seen == {"requires_grad": True, "enabled": True}
    assert ts.is_grad_enabled()


def test_interleaved_no_grad_blocks_in_two_threads_restore_each_their_own():
    barrier = threading.Barrier(2, timeout=10)

    def worker():
        with ts.no_grad():
            barrier.wait()                             # both inside
        barrier.wait()                                 # this one left first
        barrier.wait()                                 # the other left too
        assert ts.is_grad_enabled()

    thread = threading.Thread(target=worker)
    thread.start()
    with ts.no_grad():
        barrier.wait()
        barrier.wait()                                 # the worker has left its block
        assert not ts.is_grad_enabled()                # ... and ours is still on
    barrier.wait()
    thread.join(10)
    assert ts.is_grad_enabled()


def test_a_trace_records_only_its_threads_ops():
    started, finished = threading.Event(), threading.Event()

    def other():
        started.wait(10)
        w = ts.ones(3, requires_grad=True)
        (w * w).exp().sum()
        finished.set()

    thread = threading.Thread(target=other)
    thread.start()
    with ts.trace() as tr:
        started.set()
        finished.wait(10)
        ts.ones(2).tanh()
    thread.join(10)
    assert [r.kind for r in tr.ops] == ["tanh"]


def test_anomaly_mode_in_one_thread_does_not_raise_in_another():
    with np.errstate(all="ignore"), ts.detect_anomaly():
        assert ts.is_anomaly_enabled()
        result = {}

        def other():
            result["enabled"] = ts.is_anomaly_enabled()
            with np.errstate(all="ignore"):
                result["value"] = ts.log(ts.tensor([-1.0])).item()   # NaN, and no raise

        _in_thread(other)
        with pytest.raises(FloatingPointError):
            ts.log(ts.tensor([-1.0]))
    assert result["enabled"] is False and np.isnan(result["value"])


def test_backward_in_another_thread_still_reports_to_the_trace_that_recorded():
    w = ts.randn(3, 3, requires_grad=True)
    with ts.trace() as tr:
        for t in range(2):
            with ts.timestep(t):
                y = (ts.ones(1, 3) @ w).tanh()
        loss = y.sum()
    _in_thread(loss.backward)
    assert [t for t, _ in tr.contributions(w)] == [1]


# --- in-place safety ----------------------------------------------------------------------
def test_inplace_change_of_a_saved_input_raises_at_backward():
    a = ts.randn(2, 3, requires_grad=True)
    b = ts.randn(2, 3)
    y = a * b
    b.add_(1.0)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    message = str(info.value)
    assert "mul backward" in message and "modified by an inplace operation" in message
    assert "input 1 of shape (2, 3)" in message
    assert "is at version 1; expected version 0" in message
    assert a.grad is None                              # raised before any gradient landed


def test_inplace_change_of_a_saved_output_raises_at_backward():
    x = ts.randn(4, requires_grad=True)
    y = x.tanh()                                       # backward reads y: dx = g (1 - y^2)
    z = y + 0.0                                        # add keeps nothing
    with ts.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"tanh backward: .*its output is at version 1; "
                                           r"expected version 0"):
        z.sum().backward()


def test_inplace_change_of_an_unsaved_input_is_fine():
    a = ts.randn(3, requires_grad=True)
    b = ts.randn(3)
    y = a + b                                          # add keeps neither input
    b.add_(1.0)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.array, np.ones(3, dtype=np.float32))


def test_optimizer_step_between_forward_and_backward_raises():
    """The weight W_hh is saved by the layer op; SGD changes it in place."""
    lstm = nn.LSTM(3, 4)
    optimizer = ts.optim.SGD(lstm.parameters(), lr=0.1)
    output, _ = lstm(ts.randn(5, 2, 3))
    loss = output.sum()
    for p in lstm.parameters():
        p.grad = ts.ones_like(p)
    optimizer.step()
    optimizer.zero_grad()
    with pytest.raises(RuntimeError, match=r"recurrent_layer backward: .*input 2 of shape "
                                           r"\(16, 3\) is at version 1; expected version 0"):
        loss.backward()


def test_inplace_change_in_another_thread_raises_at_backward():
    a = ts.randn(2, 3, requires_grad=True)
    b = ts.randn(2, 3)
    y = a * b
    _in_thread(lambda: b.add_(1.0))
    with pytest.raises(RuntimeError, match=r"mul backward: .*input 1 of shape \(2, 3\) is at "
                                           r"version 1; expected version 0"):
        y.sum().backward()


def test_a_change_before_the_op_saved_the_tensor_is_fine_and_a_later_one_raises():
    a = ts.randn(3, requires_grad=True)
    b = ts.randn(3)
    b.add_(1.0)                                        # version 1 when mul saves it
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad.array, b.array)
    y = a * b
    b.add_(1.0)
    with pytest.raises(RuntimeError, match=r"is at version 2; expected version 1"):
        y.sum().backward()


def test_the_count_of_observers_in_all_threads_goes_back_to_zero():
    assert observers.observing == 0                     # ops read no per-thread state
    counts = []

    def trace_in_thread():
        with ts.trace():
            counts.append(observers.observing)
        counts.append(observers.observing)

    with ts.trace():
        assert observers.observing == 1
        _in_thread(trace_in_thread)
    assert counts == [2, 1] and observers.observing == 0


def test_the_count_of_threads_without_grad_follows_no_grad_and_enable_grad():
    assert modes.threads_without_grad == 0              # ops read no per-thread state
    counts = []

    def nested_in_thread():
        with ts.no_grad():
            counts.append(modes.threads_without_grad)
            with ts.enable_grad():
                counts.append(modes.threads_without_grad)
                assert (ts.ones(2, requires_grad=True) * 2).requires_grad
            with ts.no_grad():                          # already off: counted once
                counts.append(modes.threads_without_grad)
            assert not (ts.ones(2, requires_grad=True) * 2).requires_grad
        counts.append(modes.threads_without_grad)

    with ts.no_grad():
        _in_thread(nested_in_thread)
        assert not (ts.ones(2, requires_grad=True) * 2).requires_grad
    assert counts == [2, 1, 2, 1] and modes.threads_without_grad == 0
    assert (ts.ones(2, requires_grad=True) * 2).requires_grad


def test_detached_view_shares_the_version_counter():
    w = ts.randn(3, requires_grad=True)
    y = (w * w).sum()
    with ts.no_grad():
        w.detach().add_(1.0)
    assert w._version == 1
    with pytest.raises(RuntimeError, match="mul backward"):
        y.backward()


# --- errors name the op and keep their cause ----------------------------------------------
class FailingForward(Function):
    """forward raises as NumPy would"""

    def forward(self, xp, x):
        return xp.reshape(x, (7,))


class FailingBackward(Function):
    """y = x;  backward raises"""

    def forward(self, xp, x):
        return x.copy()

    def backward(self, xp, g):
        raise KeyError("lost")


def test_errors_in_forward_and_backward_name_the_op_and_keep_the_original():
    with pytest.raises(ValueError) as info:
        FailingForward().apply(ts.randn(2, 3))
    assert str(info.value).startswith("failing_forward: cannot reshape")
    assert re.search(r"\(inputs \(2, 3\) (tinyseq\.)?float32\)", str(info.value))
    assert isinstance(info.value.__cause__, ValueError)   # NumPy's own error and traceback
    y = FailingBackward().apply(ts.randn(2, requires_grad=True)).sum()
    with pytest.raises(KeyError) as info:
        y.backward()
    text = "".join(traceback.format_exception(info.value))
    assert re.search(r"in the backward of failing_backward \(inputs \(2,\) (tinyseq\.)?float32\)",
                     text)
    assert "raise KeyError" in text                    # the op's own line is in the traceback


# --- the accumulators ---------------------------------------------------------------------
def _gradients(make_loss, parameters):
    make_loss().backward()
    return [p.grad.array.copy() for p in parameters]


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_dense_and_lazy_accumulators_agree(monkeypatch, float64, kind, impl):
    layer = LAYERS[kind](3, 4, impl=impl, num_layers=2)
    head = nn.Linear(4, 2)
    x, y = ts.randn(5, 2, 3), ts.randn(2, 2)
    parameters = list(layer.parameters()) + list(head.parameters())

    def loss():
        output, _ = layer(x)
        return F.mse_loss(head(output[-1]), y) + (output[1:3] ** 2).sum()

    results = {}
    for sums in (LazySums, DenseSums):
        monkeypatch.setattr(autograd, "Sums", sums)
        for p in parameters:
            p.grad = None
        results[sums] = _gradients(loss, parameters)
    for lazy, dense in zip(results[LazySums], results[DenseSums]):
        np.testing.assert_allclose(lazy, dense, rtol=1e-12, atol=1e-14)


def test_module_trace_is_the_module_and_still_callable():
    import tinyseq.trace as trace_module
    assert trace_module is ts.trace and trace_module.__name__ == "tinyseq.trace"
    assert ts.trace.gradient_flow is trace_module.gradient_flow
    with ts.trace() as tr:
        ts.ones(2).exp()
    assert isinstance(tr, ts.Trace) and len(tr.ops) == 1


def test_finished_graph_and_trace_are_freed():
    w = ts.randn(3, 3, requires_grad=True)
    with ts.trace() as tr:
        hidden = (ts.randn(2, 3) @ w).tanh()
        loss = hidden.sum()
    node = weakref.ref(hidden._node)
    del hidden
    loss.backward()
    del loss
    assert node() is None                              # no cycle keeps the graph
    gone = weakref.ref(tr)
    del tr
    assert gone() is None                              # nor the trace


# --- forward values (ts.trace(values=True)) -----------------------------------------------
class Wrapped(nn.Module):
    def __init__(self, kind, impl):
        super().__init__()
        self.rnn = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, impl=impl)

    def forward(self, x):
        return self.rnn(x, lengths=[5, 3])


QUANTITIES = {"LSTM": "h c i f g o", "GRU": "h r z n", "RNN": "h"}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_values_of_fused_and_primitive_layers_agree_and_match_the_outputs(float64, kind):
    recorded = {}
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        model, x = Wrapped(kind, impl), ts.randn(5, 2, 3)
        with ts.trace(values=True) as tr:
            output, _ = model(x)
        recorded[impl] = {(layer, reverse, q): tr.activations("rnn", q, layer, reverse)
                          for layer in (0, 1) for reverse in (False, True)
                          for q in QUANTITIES[kind].split()}
        h_top = np.concatenate([tr.activations("rnn", "h", 1), tr.activations("rnn", "h", 1, True)],
                               axis=2)
        np.testing.assert_allclose(h_top[:, 0], output.array[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(h_top[:3, 1], output.array[:3, 1], rtol=0, atol=1e-12)
    for key, value in recorded["fused"].items():
        assert value.shape == (5, 2, 4), key
        np.testing.assert_allclose(value, recorded["primitive"][key], rtol=0, atol=1e-12,
                                   err_msg=str(key))
    if kind == "LSTM":     # c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (row 0 runs all 5 steps)
        i, f, g, o, c, h = (recorded["fused"][(0, False, q)][:, 0] for q in "ifgoch")
        np.testing.assert_allclose(c[1:], f[1:] * c[:-1] + i[1:] * g[1:], atol=1e-12)
        np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-12)


def test_values_of_seq2seq_cells_and_attention():
    model = nn.Seq2Seq(7, 6, embedding_dim=3, hidden_size=4, cell="lstm", attention="general")
    source, target = np.array([[3, 4, 5], [4, 5, 0]]), np.array([[1, 3, 4, 2], [1, 5, 2, 0]])
    with ts.trace(values=True) as tr:
        _, weights = model(source, target, source_lengths=[3, 2])
    np.testing.assert_array_equal(tr.activations("attention", "weights"),
                                  weights.array.transpose(1, 0, 2))
    assert tr.activations("decoder.0", "c").shape == (3, 2, 4)     # a cell: one step a call
    assert tr.activations("encoder", "f").shape == (3, 2, 4)
    with pytest.raises(ValueError, match=r"no values of module 'decoder' .*recorded: "
                                         r"\['attention', 'decoder.0', 'encoder l0'\]"):
        tr.activations("decoder", "h")
    with pytest.raises(ValueError, match=r"has no quantity 'z'"):
        tr.activations("encoder", "z")


def test_a_submodule_called_on_its_own_is_recorded_under_its_name(float64):
    """model.rnn(x) is "rnn" (model.encoder.rnn(x) "encoder.rnn", a ModuleList entry
    "layers.0"), as when model(x) calls it; a module no live module holds is ""."""
    model = Wrapped("LSTM", "primitive")
    x = ts.randn(5, 2, 3)
    with ts.trace(values=True) as tr:
        output, _ = model.rnn(x)
    assert tr.activations("rnn", "h", layer=1, reverse=True).shape == (5, 2, 4)
    assert {r.module_path for r in tr.ops} == {"rnn"}
    assert {leaf.name for leaf in tr.parameters()} == {n for n, _ in model.named_parameters()}

    outer = nn.Module()
    outer.encoder = nn.Module()
    outer.encoder.rnn = nn.GRU(3, 4)
    outer.layers = nn.ModuleList([nn.Linear(3, 3)])
    with ts.trace(values=True) as tr:
        outer.encoder.rnn(x)
        outer.layers[0](x)
    assert tr.activations("encoder.rnn", "z").shape == (5, 2, 4)
    assert {r.module_path for r in tr.ops} == {"encoder.rnn", "layers.0"}

    alone = outer.encoder.rnn
    del outer.encoder.rnn                 # no longer held there
    orphan = nn.GRU(3, 4)
    with ts.trace(values=True) as tr:
        alone(x)
        orphan(x)
    assert {r.module_path for r in tr.ops} == {""}


def test_without_values_nothing_is_kept_and_results_are_unchanged():
    ts.manual_seed(0)
    model, x = Wrapped("GRU", "fused"), ts.randn(5, 2, 3)
    with ts.trace() as plain:
        expected = model(x)[0].array
    with ts.trace(values=True) as with_values:
        got = model(x)[0].array
    np.testing.assert_array_equal(got, expected)
    assert plain._values == {}
    with pytest.raises(ValueError, match=r"ts.trace\(values=True\)"):
        plain.activations("rnn", "h")
    assert with_values.activations("rnn", "z").shape == (5, 2, 4)

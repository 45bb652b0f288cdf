"""Memory and long runs: a training soak with flat memory, truncated BPTT over a 10,000-step
sequence, and backward through graphs of 100,000+ ops.

tests/test_autograd.py already covers a 10,000-op tanh chain, a chain of 100,000 adds of one
leaf, and 1,000 steps of a linear model with flat memory; these are the long-run versions:
thousands of steps of a recurrent model, a sequence far longer than any graph kept, and a
100,000-op graph that fans in from many indexing ops (many leaves' gradients scattered into
one array) and is freed after its backward.
"""
import collections
import gc
import math
import time
import tracemalloc

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.train import detach_state, tbptt_chunks


# --- (a) soak: thousands of LSTM training steps, memory stays flat ------------------------------
SOAK_STEPS = 3000
SOAK_WARMUP = 300
SOAK_BOUND = 200_000  # bytes


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["fused"])
def test_lstm_soak_memory_is_flat(impl):
    ts.manual_seed(0)
    lstm = nn.LSTM(4, 16, impl=impl)
    head = nn.Linear(16, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = optim.SGD(params, lr=0.05, momentum=0.5)
    rng = np.random.default_rng(0)
    x = ts.tensor(rng.standard_normal((20, 8, 4)).astype(np.float32))  # T 20, batch 8
    y = ts.tensor((np.cumsum(x.numpy()[:, :, :1], axis=0) * 0.3).astype(np.float32))

    def step():
        output, _ = lstm(x)
        loss = F.mse_loss(head(output), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    first = [step() for _ in range(10)]
    last = collections.deque(maxlen=100)  # fixed size: a growing list of losses would "leak"
    all_finite = True
    samples = []
    start = time.perf_counter()
    tracemalloc.start()
    try:
        for _ in range(SOAK_WARMUP):
            step()
        gc.collect()
        after_warmup = tracemalloc.get_traced_memory()[0]
        for i in range(SOAK_WARMUP, SOAK_STEPS):
            loss = step()
            all_finite = all_finite and math.isfinite(loss)
            last.append(loss)
            if (i + 1) % 500 == 0:
                gc.collect()
                samples.append((i + 1, tracemalloc.get_traced_memory()[0] - after_warmup))
        gc.collect()
        at_end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    growth = at_end - after_warmup
    print(f"\nsoak ({impl}): {SOAK_STEPS} steps in {elapsed:.1f} s, memory growth after warm-up "
          f"{growth} bytes; samples (step, growth): {samples}")
    assert all_finite
    assert np.mean(last) < 0.5 * np.mean(first)  # it did train
    assert growth < SOAK_BOUND, (f"memory grew by {growth} bytes between step {SOAK_WARMUP} and "
                                 f"step {SOAK_STEPS} (bound {SOAK_BOUND}); samples {samples}")


# --- (b) truncated BPTT over a 10,000-step sequence -------------------------------------------
@pytest.mark.slow
def test_gru_tbptt_over_10000_steps():
    ts.manual_seed(0)
    steps, chunk = 10_000, 50
    gru = nn.GRU(1, 8)
    head = nn.Linear(8, 1)
    params = list(gru.parameters()) + list(head.parameters())
    opt = optim.Adam(params, lr=1e-2)
    t = np.arange(steps, dtype=np.float32)
    signal = np.sin(0.05 * t)[:, None, None]                     # (T, B=1, 1)
    x = ts.tensor(signal[:-1])
    y = ts.tensor(signal[1:])                                    # predict the next value

    state, losses, chunks = None, [], 0
    tracemalloc.start()
    try:
        for chunk_x, chunk_y in zip(tbptt_chunks(x, chunk), tbptt_chunks(y, chunk)):
            state = detach_state(state)
            output, state = gru(chunk_x, state)
            loss = F.mse_loss(head(output), chunk_y)
            opt.zero_grad()
            loss.backward()
            # the graph of one chunk reaches back to the detached state and no further
            assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in params)
            opt.step()
            losses.append(loss.item())
            chunks += 1
            if chunks == 20:
                gc.collect()
                early = tracemalloc.get_traced_memory()[0]
        gc.collect()
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert chunks == math.ceil((steps - 1) / chunk)
    assert state.shape == (1, 1, 8)
    assert all(math.isfinite(l) for l in losses)
    assert np.mean(losses[-20:]) < np.mean(losses[:5])            # it learns across chunks
    assert late - early < 200_000, f"memory grew by {late - early} bytes over {chunks - 20} chunks"


def test_lstm_tbptt_state_carries_across_chunks():
    """Chunked forward with detach_state gives the same outputs as one long forward."""
    ts.manual_seed(0)
    lstm = nn.LSTM(3, 5)
    x = ts.randn(2000, 2, 3)
    with ts.no_grad():
        whole, (h_whole, c_whole) = lstm(x)
    state, pieces = None, []
    for chunk_x in tbptt_chunks(x, 64):
        state = detach_state(state)
        out, state = lstm(chunk_x, state)
        out.sum().backward()
        pieces.append(out.numpy())
    np.testing.assert_allclose(np.concatenate(pieces), whole.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state[0].numpy(), h_whole.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state[1].numpy(), c_whole.numpy(), rtol=1e-4, atol=1e-5)


# --- (c) graphs of 100,000+ ops --------------------------------------------------------------
@pytest.mark.slow
def test_backward_through_100000_indexing_ops_fanning_in():
    n, terms = 97, 100_000
    rng = np.random.default_rng(0)
    x = ts.tensor(rng.standard_normal(n), requires_grad=True)   # float64 leaf
    coefficients = rng.integers(-3, 4, size=terms).astype(np.float64)
    total = x[0] * 0.0
    for i in range(terms):                                      # ~300,000 ops in one graph
        total = total + x[i % n] * float(coefficients[i])
    root = weakref_to_node(total)
    total.backward()
    expected = np.zeros(n)
    np.add.at(expected, np.arange(terms) % n, coefficients)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(total.item(), float(expected @ x.numpy()), rtol=1e-9)
    del total
    assert root() is None  # the 300,000-op graph is gone once its output is


@pytest.mark.slow
def test_backward_through_2000_step_unrolled_primitive_lstm():
    """An unrolled primitive LSTM over 2,000 steps: ~32,000 graph nodes holding ~100,000
    arrays (inputs, saved activations); gradients match
    the fused implementation (its own hand-written BPTT)."""
    ts.manual_seed(0)
    steps = 2000
    primitive = nn.LSTM(2, 4, impl="primitive")
    fused = nn.LSTM(2, 4, impl="fused")
    fused.load_state_dict(primitive.state_dict())
    x = ts.randn(steps, 1, 2) * 0.5
    grads = {}
    for name, layer in (("primitive", primitive), ("fused", fused)):
        output, (h, c) = layer(x)
        if name == "primitive":
            assert count_nodes(output) > 30_000
        (output.sum() + c.sum()).backward()
        grads[name] = {k: p.grad.numpy() for k, p in layer.named_parameters()}
    for k in grads["fused"]:
        assert np.isfinite(grads["primitive"][k]).all()
        np.testing.assert_allclose(grads["primitive"][k], grads["fused"][k], rtol=2e-3, atol=2e-3)


def weakref_to_node(t):
    import weakref
    return weakref.ref(t.grad_fn)


def count_nodes(t):
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(i.grad_fn for i in node.inputs)
    return len(seen)

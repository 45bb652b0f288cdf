"""Unbatched input, as PyTorch's: nn.RNN, nn.LSTM and nn.GRU take one sequence (T, D) and give
output (T, num_directions * H) and h_n (num_layers * num_directions, H); the cells take (D,)
and give (H,).

  * PyTorch as the oracle (skipped without torch), float64, weights copied by state_dict:
    outputs, h_n, c_n and the gradients of the input, the initial states and every parameter,
    for RNN (tanh, relu), LSTM (with and without proj_size) and GRU, 1 and 2 layers,
    bidirectional, batch_first (no effect on a 2-D input), given and zero initial states, both
    impls; the three cells with and without states; PyTorch refusing each error case too.
  * Without torch: an unbatched call equals the batched call on a batch of one, squeezed, bit
    for bit, gradients included; the fused and primitive impls agree; batch_first changes
    nothing; the errors name the op and the shapes and are raised before any op runs; a trace
    of an unbatched LSTM records its steps, and every parameter's per-step contributions add up
    to its gradient.
"""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn

TOL = dict(rtol=1e-10, atol=1e-12)
T, D, H, P = 4, 3, 5, 2

LAYERS = [("RNN", {}), ("RNN", dict(nonlinearity="relu")), ("LSTM", {}),
          ("LSTM", dict(proj_size=P)), ("GRU", {})]
LAYER_IDS = ["rnn-tanh", "rnn-relu", "lstm", "lstm-proj", "gru"]
OPTIONS = [{}, dict(num_layers=2), dict(bidirectional=True),
           dict(num_layers=2, bidirectional=True, batch_first=True)]
OPTION_IDS = ["plain", "2layers", "bi", "2layers-bi-batch_first"]
CELLS = [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", {}),
         ("GRUCell", {})]
CELL_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _rand(*shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _leaf(array):
    return ts.tensor(array, dtype=ts.float64, requires_grad=True)


def _state_arrays(mode, options, seed=10):
    """Initial states of an unbatched call: [h0] or [h0, c0], (L * directions, features)."""
    count = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    sizes = [options.get("proj_size") or H] + ([H] if mode == "LSTM" else [])
    return [_rand(count, size, seed=seed + i) for i, size in enumerate(sizes)]


def _as_call_state(mode, states):
    """What the layer or cell takes: the LSTM's pair as a tuple, another's h alone."""
    if states is None:
        return None
    return tuple(states) if mode.startswith("LSTM") else states[0]


def _results(mode, output):
    """A call's results as a list: [output, h_n] or [output, h_n, c_n] of a layer, [h'] or
    [h', c'] of a cell."""
    if mode.endswith("Cell"):
        return list(output) if mode == "LSTMCell" else [output]
    output, final = output
    return [output, *final] if mode == "LSTM" else [output, final]


def _run(module, mode, x_np, states_np, batch_axes=None):
    """The results of one call and backward, then the input's, the states' and the
    parameters' gradients, all as NumPy arrays. With ``batch_axes`` (input axis, state axis)
    the call gets a batch of one there and its results lose it: the first result the input's
    axis (a layer's output), the others the state's."""
    x = _leaf(x_np)
    states = None if states_np is None else [_leaf(s) for s in states_np]
    x_axis, state_axis = batch_axes or (None, None)
    given = None if states is None else _as_call_state(
        mode, [s if state_axis is None else s.unsqueeze(state_axis) for s in states])
    results = _results(mode, module(x if x_axis is None else x.unsqueeze(x_axis), given))
    if batch_axes is not None:
        results = [r.squeeze(x_axis if i == 0 else state_axis) for i, r in enumerate(results)]
    sum((r * ts.tensor(_rand(*r.shape, seed=20 + i), dtype=ts.float64)).sum()
        for i, r in enumerate(results)).backward()
    grads = [x.grad] + ([] if states is None else [s.grad for s in states])
    return ([r.numpy() for r in results], [g.numpy() for g in grads],
            {name: p.grad.numpy() for name, p in module.named_parameters()})


def _torch_run(torch, module, mode, x_np, states_np):
    """As ``_run`` on PyTorch's module."""
    x = torch.tensor(x_np, requires_grad=True)
    states = None if states_np is None else [torch.tensor(s, requires_grad=True)
                                             for s in states_np]
    results = _results(mode, module(x, _as_call_state(mode, states)))
    sum((r * torch.tensor(_rand(*r.shape, seed=20 + i))).sum()
        for i, r in enumerate(results)).backward()
    grads = [x.grad] + ([] if states is None else [s.grad for s in states])
    return ([r.detach().numpy() for r in results], [g.numpy() for g in grads],
            {name: p.grad.numpy() for name, p in module.named_parameters()})


def _assert_same(ours, theirs, exact=False, **tol):
    (results, grads, params), (their_results, their_grads, their_params) = ours, theirs
    assert [r.shape for r in results] == [r.shape for r in their_results]
    assert [g.shape for g in grads] == [g.shape for g in their_grads]
    assert list(params) == list(their_params)
    pairs = list(zip(results, their_results)) + list(zip(grads, their_grads)) + \
        [(params[name], their_params[name]) for name in params]
    for a, b in pairs:
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, **(tol or TOL))
    assert all(np.abs(g).max() > 0 for g in grads)      # the gradient reached every leaf


def _layer(mode, extra, options, impl="fused"):
    ts.manual_seed(0)
    return getattr(nn, mode)(D, H, impl=impl, dtype=ts.float64, **extra, **options)


# --- layers against PyTorch -------------------------------------------------------------------
@pytest.mark.parametrize("mode,extra", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
@pytest.mark.parametrize("given", [True, False], ids=["given-states", "zero-states"])
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_layer_matches_pytorch(torch, mode, extra, options, given, impl):
    theirs = getattr(torch.nn, mode)(D, H, dtype=torch.float64, **extra, **options)
    ours = _layer(mode, extra, options, impl)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x_np = _rand(T, D, seed=1)
    states_np = _state_arrays(mode, {**extra, **options}) if given else None
    ours_run = _run(ours, mode, x_np, states_np)
    theirs_run = _torch_run(torch, theirs, mode, x_np, states_np)
    _assert_same(ours_run, theirs_run)
    directions = 2 if options.get("bidirectional") else 1
    features = extra.get("proj_size") or H
    assert ours_run[0][0].shape == (T, directions * features)
    assert ours_run[0][1].shape == (options.get("num_layers", 1) * directions, features)


@pytest.mark.parametrize("mode,extra", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("given", [True, False], ids=["given-states", "zero-states"])
def test_cell_matches_pytorch(torch, mode, extra, given):
    theirs = getattr(torch.nn, mode)(D, H, dtype=torch.float64, **extra)
    ours = getattr(nn, mode)(D, H, dtype=ts.float64, **extra)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x_np = _rand(D, seed=1)
    states_np = [_rand(H, seed=10 + i) for i in range(2 if mode == "LSTMCell" else 1)] \
        if given else None
    ours_run = _run(ours, mode, x_np, states_np)
    _assert_same(ours_run, _torch_run(torch, theirs, mode, x_np, states_np))
    assert all(r.shape == (H,) for r in ours_run[0])


# --- without torch: a batch of one, the impls, batch_first ------------------------------------
@pytest.mark.parametrize("mode,extra", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("options", [OPTIONS[0], OPTIONS[3]], ids=[OPTION_IDS[0], OPTION_IDS[3]])
@pytest.mark.parametrize("given", [True, False], ids=["given-states", "zero-states"])
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_layer_equals_the_batched_call_on_a_batch_of_one(mode, extra, options, given, impl):
    batch_axis = 0 if options.get("batch_first") else 1
    x_np = _rand(T, D, seed=1)
    states_np = _state_arrays(mode, {**extra, **options}) if given else None
    unbatched = _run(_layer(mode, extra, options, impl), mode, x_np, states_np)
    batched = _run(_layer(mode, extra, options, impl), mode, x_np, states_np,
                   batch_axes=(batch_axis, 1))
    _assert_same(unbatched, batched, exact=True)


@pytest.mark.parametrize("mode,extra", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("given", [True, False], ids=["given-states", "zero-states"])
def test_cell_equals_the_batched_call_on_a_batch_of_one(mode, extra, given):
    x_np = _rand(D, seed=1)
    states_np = [_rand(H, seed=10 + i) for i in range(2 if mode == "LSTMCell" else 1)] \
        if given else None
    ts.manual_seed(0)
    unbatched = _run(getattr(nn, mode)(D, H, dtype=ts.float64, **extra), mode, x_np, states_np)
    ts.manual_seed(0)
    batched = _run(getattr(nn, mode)(D, H, dtype=ts.float64, **extra), mode, x_np, states_np,
                   batch_axes=(0, 0))
    _assert_same(unbatched, batched, exact=True)
    assert all(r.shape == (H,) for r in unbatched[0])


@pytest.mark.parametrize("mode,extra", [m for m in LAYERS if "proj_size" not in m[1]],
                         ids=[i for i in LAYER_IDS if i != "lstm-proj"])
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_fused_and_primitive_impls_agree(mode, extra, options):
    """The fused op and the primitive ops compute the same numbers (to rounding, as
    tests/test_fused.py checks for batches)."""
    x_np, states_np = _rand(T, D, seed=1), _state_arrays(mode, options)
    fused = _run(_layer(mode, extra, options, "fused"), mode, x_np, states_np)
    primitive = _run(_layer(mode, extra, options, "primitive"), mode, x_np, states_np)
    _assert_same(fused, primitive, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode,extra", LAYERS, ids=LAYER_IDS)
def test_batch_first_has_no_effect_on_an_unbatched_input(mode, extra):
    options = dict(num_layers=2, bidirectional=True)
    x_np, states_np = _rand(T, D, seed=1), _state_arrays(mode, {**extra, **options})
    seq_first = _run(_layer(mode, extra, options), mode, x_np, states_np)
    batch_first = _run(_layer(mode, extra, dict(options, batch_first=True)), mode, x_np,
                       states_np)
    _assert_same(seq_first, batch_first, exact=True)


# --- errors -----------------------------------------------------------------------------------
def _tensors(shapes, package):
    """Leaves of ``shapes``, float64, in tinyseq or in PyTorch."""
    return [package.zeros(s, dtype=package.float64, requires_grad=True) for s in shapes]


# (module, its options, input shape, state shapes (None: not given; a tuple of shapes: the
# LSTM's pair; a list of one shape: one tensor), lengths, our error, our message)
ERRORS = [
    ("LSTM", dict(num_layers=2), (T, D), ((2, 1, H), (2, 1, H)), None, ValueError,
     r"^LSTM: expected h0 of shape \(2, 5\), got \(2, 1, 5\); an unbatched 2-D input takes "
     r"2-D states$"),
    ("LSTM", {}, (T, D), ((1, H), (1, 1, H)), None, ValueError,
     r"^LSTM: expected c0 of shape \(1, 5\), got \(1, 1, 5\); an unbatched 2-D input"),
    ("LSTM", dict(num_layers=2), (T, 1, D), ((2, H), (2, H)), None, ValueError,
     r"^LSTM: expected h0 of shape \(2, 1, 5\), got \(2, 5\); a batched 3-D input takes "
     r"3-D states$"),
    ("GRU", {}, (T, D), [(1, 1, H)], None, ValueError,
     r"^GRU: expected h0 of shape \(1, 5\), got \(1, 1, 5\); an unbatched 2-D input"),
    ("RNN", dict(batch_first=True), (1, T, D), [(1, H)], None, ValueError,
     r"^RNN: expected h0 of shape \(1, 1, 5\), got \(1, 5\); a batched 3-D input"),
    ("GRU", dict(num_layers=2), (T, D), [(1, H)], None, ValueError,
     r"^GRU: expected h0 of shape \(2, 5\), got \(1, 5\)$"),
    ("LSTM", dict(proj_size=P, bidirectional=True), (T, D), ((2, H), (2, H)), None, ValueError,
     r"^LSTM: expected h0 of shape \(2, 2\), got \(2, 5\)$"),
    ("LSTM", {}, (T, D), [(1, H)], None, TypeError,
     r"^LSTM: the initial state must be a tuple \(h0, c0\)$"),
    ("LSTM", {}, (T,), None, None, ValueError,
     r"^LSTM: expected input \(time, batch, features\) or, unbatched, \(time, features\) "
     r"with 3 features, got shape \(4,\)$"),
    ("GRU", dict(batch_first=True), (T, D + 1), None, None, ValueError,
     r"^GRU: expected input \(time, features\) with 3 features, got shape \(4, 4\)$"),
    ("RNN", dict(batch_first=True), (0, D), None, None, ValueError,
     r"^RNN: input \(time, features\) has no time steps: shape \(0, 3\)$"),
    ("GRU", {}, (T, D), None, [T], ValueError,
     r"^GRU: lengths= is for a batch of padded sequences; the unbatched input of shape "
     r"\(4, 3\) is one sequence of 4 steps"),
    ("LSTMCell", {}, (D,), ((1, H), (1, H)), None, ValueError,
     r"^LSTMCell: expected a state of shape \(5,\), got \(1, 5\); an unbatched 1-D input "
     r"takes 1-D states$"),
    ("GRUCell", {}, (2, D), [(H,)], None, ValueError,
     r"^GRUCell: expected a state of shape \(2, 5\), got \(5,\); a batched 2-D input takes "
     r"2-D states$"),
    ("RNNCell", {}, (D,), [(H + 1,)], None, ValueError,
     r"^RNNCell: expected a state of shape \(5,\), got \(6,\)$"),
    ("RNNCell", {}, (D - 1,), None, None, ValueError,
     r"^RNNCell: expected input \(3,\), got shape \(2,\)$"),
    ("GRUCell", {}, (), None, None, ValueError,
     r"^GRUCell: expected input \(3,\) or \(batch, 3\), got shape \(\)$"),
    ("LSTMCell", {}, (1, 1, D), None, None, ValueError,
     r"^LSTMCell: expected input \(3,\) or \(batch, 3\), got shape \(1, 1, 3\)$"),
    ("LSTMCell", {}, (D,), [(H,)], None, TypeError,
     r"^LSTMCell: the state must be a tuple \(h, c\)$"),
]
ERROR_IDS = [f"{case[0]}-{i}" for i, case in enumerate(ERRORS)]


def _call(package, mode, options, x_shape, state_shapes, lengths=None):
    module = getattr(package.nn, mode)(D, H, dtype=package.float64, **options)
    x = _tensors([x_shape], package)[0]
    if state_shapes is None:
        state = None
    elif isinstance(state_shapes, tuple):
        state = tuple(_tensors(state_shapes, package))
    else:
        state = _tensors(state_shapes, package)[0]
    if lengths is not None:
        return module(x, state, lengths=lengths)
    return module(x) if state is None else module(x, state)


@pytest.mark.parametrize("mode,options,x_shape,state_shapes,lengths,error,message", ERRORS,
                         ids=ERROR_IDS)
def test_errors_name_the_op_and_the_shapes_before_any_op_runs(mode, options, x_shape,
                                                               state_shapes, lengths, error,
                                                               message):
    with ts.trace() as tr:
        with pytest.raises(error, match=message):
            _call(ts, mode, options, x_shape, state_shapes, lengths)
    assert tr.ops == []                     # nothing computed, not even the batch axis added


@pytest.mark.parametrize("mode,options,x_shape,state_shapes,lengths,error,message",
                         [case for case in ERRORS if case[4] is None],
                         ids=[i for i, case in zip(ERROR_IDS, ERRORS) if case[4] is None])
def test_pytorch_refuses_the_same_calls(torch, mode, options, x_shape, state_shapes, lengths,
                                        error, message):
    """PyTorch raises its RuntimeError, ValueError or IndexError for each of these calls, with
    a message that may name only the dims; lengths= is tinyseq's and has no PyTorch case."""
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        _call(torch, mode, options, x_shape, state_shapes)


def test_an_unbatched_state_of_another_dtype_is_refused():
    lstm = nn.LSTM(D, H, dtype=ts.float64)
    state = (ts.zeros(1, H), ts.zeros(1, H, dtype=ts.float64))
    with pytest.raises(ValueError, match=r"^LSTM: state dtype float32 does not match weight "
                                         r"dtype float64"):
        lstm(ts.zeros(T, D, dtype=ts.float64), state)


def test_the_batched_path_still_refuses_bad_lengths_and_takes_good_ones():
    gru = nn.GRU(D, H)
    x = ts.randn(T, 2, D)
    with pytest.raises(ValueError, match=r"got 1 lengths for a batch of 2"):
        gru(x, lengths=[T])
    output, _ = gru(x, lengths=[T, 2])
    assert np.abs(output.numpy()[2:, 1]).max() == 0.0 and np.abs(output.numpy()[2:, 0]).max() > 0


# --- the trace --------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("options", [{}, dict(num_layers=2, bidirectional=True),
                                     dict(proj_size=P)], ids=["plain", "2layers-bi", "proj"])
def test_trace_of_an_unbatched_lstm_splits_each_gradient_per_step(float64, impl, options):
    model = nn.Module()
    model.rnn = nn.LSTM(D, H, impl=impl, **options)
    x = ts.randn(T, D, requires_grad=True)
    with ts.trace() as tr:
        output, (h_n, c_n) = model.rnn(x)
        loss = (output * ts.randn(*output.shape)).sum() + (c_n ** 2).sum()
    loss.backward()
    assert tr.steps == T and tr.time_steps == list(range(T))
    assert sorted(leaf.name for leaf in tr.parameters()) == \
        sorted([f"rnn.{name}" for name, _ in model.rnn.named_parameters()] + ["leaf"])  # and x
    for name, p in model.rnn.named_parameters():
        contributions = tr.contributions(p)
        assert [t for t, _ in contributions] == list(range(T)), name
        np.testing.assert_allclose(sum(g for _, g in contributions), p.grad.numpy(), rtol=0,
                                   atol=1e-10, err_msg=name)
        assert np.abs(p.grad.numpy()).max() > 0, name
    assert np.abs(x.grad.numpy()).max() > 0

"""Recurrent cells and layers: RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU.

Three independent references:
  1. PyTorch (optional oracle, skipped when torch is absent): outputs, final states and every
     gradient agree to 1e-10 in float64, for every layer configuration, with and without lengths.
  2. Central finite differences in float64 (always run), via tests/gradcheck.py.
  3. Semantics checked directly (padding, final states, names/shapes, init, dropout, long
     sequences) and the error messages for bad input.
"""
import math

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn
from gradcheck import gradcheck

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
CELLS = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}

TOL = dict(rtol=1e-10, atol=1e-10)


def _rand(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _leaf(array):
    return ts.tensor(np.array(array, dtype=np.float64), requires_grad=True)


def _make_layer(mode, input_size, hidden_size, nonlinearity="tanh", **kwargs):
    if mode == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    return LAYERS[mode](input_size, hidden_size, **kwargs)


def _make_cell(mode, input_size, hidden_size, nonlinearity="tanh", bias=True):
    if mode == "RNN":
        return nn.RNNCell(input_size, hidden_size, bias=bias, nonlinearity=nonlinearity)
    return CELLS[mode](input_size, hidden_size, bias=bias)


def _loss_weights(tensors, seed=100):
    """Fixed random weights R_i (numpy arrays) for a loss sum_i sum(t_i * R_i): every element counts."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(t.shape)) for t in tensors]
    return weights


# =============================================================================================
# 1. PyTorch as an oracle
# =============================================================================================
def _copy_params_to_torch(torch, module, torch_module):
    """Names and shapes are PyTorch's: copy every tinyseq parameter into the torch module."""
    ours = [(name, tuple(p.shape)) for name, p in module.named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch_module.named_parameters()]
    assert ours == theirs
    with torch.no_grad():
        for name, p in module.named_parameters():
            getattr(torch_module, name).copy_(torch.from_numpy(p.numpy().astype(np.float64)))


def _assert_grads_match(module, torch_module):
    for name, p in module.named_parameters():
        expected = getattr(torch_module, name).grad
        assert p.grad is not None, f"{name} got no gradient"
        np.testing.assert_allclose(p.grad.numpy(), expected.numpy(), err_msg=name, **TOL)


T_ORACLE, B_ORACLE, D_ORACLE, H_ORACLE = 4, 3, 3, 2
LENGTHS_ORACLE = [2, 4, 1]  # unequal, unsorted, one equal to T and one of 1


def _run_layer_oracle(mode, num_layers=1, bidirectional=False, batch_first=False, lengths=None,
                      nonlinearity="tanh", bias=True, with_state=False):
    torch = pytest.importorskip("torch")
    T, B, D, H = T_ORACLE, B_ORACLE, D_ORACLE, H_ORACLE
    nd = 2 if bidirectional else 1
    kwargs = dict(num_layers=num_layers, bias=bias, batch_first=batch_first,
                  bidirectional=bidirectional)
    module = _make_layer(mode, D, H, nonlinearity=nonlinearity, **kwargs)
    if mode == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    torch_module = getattr(torch.nn, mode)(D, H, **kwargs).double()
    _copy_params_to_torch(torch, module, torch_module)

    x_np = _rand(*((B, T, D) if batch_first else (T, B, D)), seed=1)
    x, tx = _leaf(x_np), torch.tensor(x_np, requires_grad=True)
    state_np = [_rand(num_layers * nd, B, H, seed=2 + i, scale=0.5)
                for i in range(2 if mode == "LSTM" else 1)] if with_state else []
    states = [_leaf(s) for s in state_np]
    tstates = [torch.tensor(s, requires_grad=True) for s in state_np]

    def pack(tensors):
        if not tensors:
            return None
        return tuple(tensors) if mode == "LSTM" else tensors[0]

    out, final = module(x, pack(states), lengths=lengths)
    if lengths is None:
        tout, tfinal = torch_module(tx, pack(tstates))
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        tout, tfinal = torch_module(packed, pack(tstates))
        tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=batch_first,
                                                         total_length=T)
    ours = [out] + (list(final) if mode == "LSTM" else [final])
    theirs = [tout] + (list(tfinal) if mode == "LSTM" else [tfinal])

    expected_out_shape = (B, T, nd * H) if batch_first else (T, B, nd * H)
    assert tuple(out.shape) == expected_out_shape
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL)

    weights = _loss_weights(ours)
    sum(((a * ts.tensor(w)).sum() for a, w in zip(ours, weights)), ts.tensor(0.0)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(theirs, weights)).backward()

    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)
    for s, ts_ in zip(states, tstates):
        assert s.grad is not None
        np.testing.assert_allclose(s.grad.numpy(), ts_.grad.numpy(), **TOL)
    _assert_grads_match(module, torch_module)
    return out, final


@pytest.mark.parametrize("lengths", [None, LENGTHS_ORACLE], ids=["full", "lengths"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["TBD", "BTD"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["1layer", "2layers"])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_layer_matches_torch(float64, mode, num_layers, bidirectional, batch_first, lengths):
    _run_layer_oracle(mode, num_layers, bidirectional, batch_first, lengths)


@pytest.mark.parametrize("lengths", [None, LENGTHS_ORACLE], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_layer_with_initial_state_matches_torch(float64, mode, bidirectional, lengths):
    _run_layer_oracle(mode, num_layers=2, bidirectional=bidirectional, batch_first=True,
                      lengths=lengths, with_state=True)


@pytest.mark.parametrize("lengths", [None, LENGTHS_ORACLE], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["1layer", "2layers"])
def test_relu_rnn_matches_torch(float64, num_layers, bidirectional, lengths):
    _run_layer_oracle("RNN", num_layers, bidirectional, False, lengths, nonlinearity="relu",
                      with_state=True)


@pytest.mark.parametrize("lengths", [None, LENGTHS_ORACLE], ids=["full", "lengths"])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_layer_without_bias_matches_torch(float64, mode, lengths):
    _run_layer_oracle(mode, num_layers=2, bidirectional=True, batch_first=False,
                      lengths=lengths, bias=False)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("mode,nonlinearity,bias", [
    ("RNN", "tanh", True), ("RNN", "relu", True), ("RNN", "tanh", False),
    ("LSTM", None, True), ("LSTM", None, False), ("GRU", None, True), ("GRU", None, False)])
def test_cell_matches_torch(float64, mode, nonlinearity, bias, with_state):
    torch = pytest.importorskip("torch")
    B, D, H = 3, 4, 5
    cell = _make_cell(mode, D, H, nonlinearity=nonlinearity, bias=bias)
    kwargs = dict(bias=bias)
    if mode == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    torch_cell = getattr(torch.nn, mode + "Cell")(D, H, **kwargs).double()
    _copy_params_to_torch(torch, cell, torch_cell)

    x_np = _rand(B, D, seed=1)
    x, tx = _leaf(x_np), torch.tensor(x_np, requires_grad=True)
    state_np = [_rand(B, H, seed=2 + i, scale=0.5)
                for i in range(2 if mode == "LSTM" else 1)] if with_state else []
    states = [_leaf(s) for s in state_np]
    tstates = [torch.tensor(s, requires_grad=True) for s in state_np]
    if mode == "LSTM":
        result = cell(x, tuple(states) if states else None)
        tresult = torch_cell(tx, tuple(tstates) if tstates else None)
    else:
        result = (cell(x, states[0] if states else None),)
        tresult = (torch_cell(tx, tstates[0] if tstates else None),)

    for a, b in zip(result, tresult):
        assert tuple(a.shape) == (B, H)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL)

    weights = _loss_weights(result)
    sum(((a * ts.tensor(w)).sum() for a, w in zip(result, weights)), ts.tensor(0.0)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(tresult, weights)).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)
    for s, ts_ in zip(states, tstates):
        np.testing.assert_allclose(s.grad.numpy(), ts_.grad.numpy(), **TOL)
    _assert_grads_match(cell, torch_cell)


def test_torch_weights_load_into_tinyseq(float64):
    """The other direction: a torch state dict loads by name into tinyseq and gives torch's output."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    torch_module = torch.nn.LSTM(3, 2, num_layers=2, bidirectional=True).double()
    module = nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})
    x_np = _rand(4, 2, 3, seed=5)
    out, (h, c) = module(ts.tensor(x_np))
    tout, (th, tc) = torch_module(torch.tensor(x_np))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL)
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), **TOL)
    np.testing.assert_allclose(c.numpy(), tc.detach().numpy(), **TOL)


# =============================================================================================
# 2. Finite differences (always run)
# =============================================================================================
T_FD, B_FD, D_FD, H_FD = 3, 2, 3, 2


def _flat(tensors):
    return ts.concat([t.reshape(-1) for t in tensors])


@pytest.mark.parametrize("mode,nonlinearity,bias", [
    ("RNN", "tanh", True), ("RNN", "relu", True), ("RNN", "tanh", False),
    ("LSTM", None, True), ("GRU", None, True), ("GRU", None, False)])
def test_cell_gradcheck(float64, mode, nonlinearity, bias):
    cell = _make_cell(mode, D_FD, H_FD, nonlinearity=nonlinearity, bias=bias)
    params = list(cell.parameters())
    assert len(params) == (4 if bias else 2)
    assert all(p.dtype == np.float64 for p in params)
    x = _leaf(_rand(B_FD, D_FD, seed=1))
    states = [_leaf(_rand(B_FD, H_FD, seed=2 + i, scale=0.5))
              for i in range(2 if mode == "LSTM" else 1)]

    # The cell's own Parameter objects are gradcheck inputs: gradcheck nudges their .data in
    # place, so fn just calls the cell (the trailing *params arguments are those same objects).
    def fn(x, *rest):
        if mode == "LSTM":
            h, c = cell(x, (rest[0], rest[1]))
            return _flat([h, c])
        return cell(x, rest[0])

    assert gradcheck(fn, [x] + states + params)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", [
    dict(num_layers=2, bidirectional=True, lengths=[3, 1]),
    dict(num_layers=1, batch_first=True),
    dict(num_layers=1, bidirectional=True, batch_first=True, lengths=[2, 3]),
], ids=["2layers-bi-lengths", "batch_first", "bi-batch_first-lengths"])
def test_layer_gradcheck(float64, mode, config):
    config = dict(config)
    lengths = config.pop("lengths", None)
    module = _make_layer(mode, D_FD, H_FD, **config)
    nd = 2 if config.get("bidirectional") else 1
    params = list(module.parameters())
    assert all(p.dtype == np.float64 for p in params)
    shape = (B_FD, T_FD, D_FD) if config.get("batch_first") else (T_FD, B_FD, D_FD)
    x = _leaf(_rand(*shape, seed=1))
    states = [_leaf(_rand(config["num_layers"] * nd, B_FD, H_FD, seed=2 + i, scale=0.5))
              for i in range(2 if mode == "LSTM" else 1)]

    # The layer's own Parameter objects are gradcheck inputs: gradcheck nudges their .data in
    # place, so fn just calls the layer (the trailing *params arguments are those same objects).
    def fn(x, *rest):
        if mode == "LSTM":
            out, (h, c) = module(x, (rest[0], rest[1]), lengths=lengths)
            return _flat([out, h, c])
        out, h = module(x, rest[0], lengths=lengths)
        return _flat([out, h])

    assert gradcheck(fn, [x] + states + params)


def test_relu_rnn_layer_gradcheck(float64):
    module = nn.RNN(D_FD, H_FD, num_layers=2, nonlinearity="relu", bidirectional=True)
    x = _leaf(_rand(T_FD, B_FD, D_FD, seed=3))
    h0 = _leaf(_rand(4, B_FD, H_FD, seed=4, scale=0.5))
    params = list(module.parameters())

    # Parameters are passed as themselves (gradcheck perturbs them in place), see above.
    def fn(x, h0, *params):
        out, h = module(x, h0, lengths=[1, 3])
        return _flat([out, h])

    assert gradcheck(fn, [x, h0] + params)


def test_lstm_step_functional_gradcheck(float64):
    """The shared step function used functionally, every argument a gradcheck input."""
    from tinyseq.nn.recurrent import gru_step, lstm_step, rnn_step
    rng = np.random.default_rng(7)
    x, h, c = (_leaf(rng.standard_normal(s)) for s in ((2, 3), (2, 2), (2, 2)))
    w_ih, w_hh = _leaf(rng.standard_normal((8, 3)) * 0.5), _leaf(rng.standard_normal((8, 2)) * 0.5)
    b_ih, b_hh = _leaf(rng.standard_normal(8) * 0.5), _leaf(rng.standard_normal(8) * 0.5)
    assert gradcheck(lambda *a: _flat(lstm_step(a[0], (a[1], a[2]), *a[3:])),
                     [x, h, c, w_ih, w_hh, b_ih, b_hh])
    g_ih, g_hh = _leaf(rng.standard_normal((6, 3)) * 0.5), _leaf(rng.standard_normal((6, 2)) * 0.5)
    gb_ih, gb_hh = _leaf(rng.standard_normal(6) * 0.5), _leaf(rng.standard_normal(6) * 0.5)
    assert gradcheck(lambda *a: gru_step(*a), [x, h, g_ih, g_hh, gb_ih, gb_hh])
    r_ih, r_hh = _leaf(rng.standard_normal((2, 3))), _leaf(rng.standard_normal((2, 2)))
    assert gradcheck(lambda *a: rnn_step(*a, None, None), [x, h, r_ih, r_hh])


# =============================================================================================
# 3. Semantics, without torch
# =============================================================================================
def _np_lstm(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """A plain-NumPy LSTM over x (T, B, D), PyTorch's gate order i, f, g, o."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    H = h.shape[-1]
    outs = []
    for x_t in x:
        g = x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, n, o = sig(g[:, :H]), sig(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), sig(g[:, 3 * H:])
        c = f * c + i * n
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs), h, c


def _np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    H = h.shape[-1]
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    r = sig(gi[:, :H] + gh[:, :H])
    z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def test_cells_match_numpy_formulas(float64):
    """Gate order and formulas by hand (documents the contract without needing torch)."""
    x, h, c = _rand(2, 3, seed=1), _rand(2, 4, seed=2), _rand(2, 4, seed=3)
    lstm = nn.LSTMCell(3, 4)
    p = [q.numpy() for q in lstm.parameters()]
    nh, nc = lstm(ts.tensor(x), (ts.tensor(h), ts.tensor(c)))
    _, eh, ec = _np_lstm(x[None], h, c, *p)
    np.testing.assert_allclose(nh.numpy(), eh, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nc.numpy(), ec, rtol=1e-12, atol=1e-12)

    gru = nn.GRUCell(3, 4)
    p = [q.numpy() for q in gru.parameters()]
    np.testing.assert_allclose(gru(ts.tensor(x), ts.tensor(h)).numpy(), _np_gru_cell(x, h, *p),
                               rtol=1e-12, atol=1e-12)

    for nl, f in (("tanh", np.tanh), ("relu", lambda v: np.maximum(v, 0))):
        rnn = nn.RNNCell(3, 4, nonlinearity=nl)
        w_ih, w_hh, b_ih, b_hh = (q.numpy() for q in rnn.parameters())
        expected = f(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        np.testing.assert_allclose(rnn(ts.tensor(x), ts.tensor(h)).numpy(), expected,
                                   rtol=1e-12, atol=1e-12)


def test_cell_default_state_is_zero(float64):
    x = ts.tensor(_rand(2, 3, seed=1))
    for mode in ("RNN", "GRU"):
        cell = _make_cell(mode, 3, 4)
        np.testing.assert_array_equal(cell(x).numpy(), cell(x, ts.zeros(2, 4)).numpy())
    lstm = nn.LSTMCell(3, 4)
    h, c = lstm(x)
    h2, c2 = lstm(x, (ts.zeros(2, 4), ts.zeros(2, 4)))
    np.testing.assert_array_equal(h.numpy(), h2.numpy())
    np.testing.assert_array_equal(c.numpy(), c2.numpy())


def _run(module, x, state=None, lengths=None):
    out, final = module(x, state, lengths=lengths)
    if isinstance(final, tuple):
        return out, final[0], final[1]
    return out, final, None


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_layer_without_lengths_equals_cell_loop(float64, mode):
    """A one-layer unidirectional layer is the cell applied step by step with the same weights."""
    layer = _make_layer(mode, 3, 4)
    cell = _make_cell(mode, 3, 4)
    cell.load_state_dict({name[:-3]: p for name, p in layer.named_parameters()})
    x = _rand(5, 2, 3, seed=1)
    out, h_n, c_n = _run(layer, ts.tensor(x))
    state = None
    outs = []
    for t in range(5):
        state = cell(ts.tensor(x[t]), state)
        outs.append((state[0] if mode == "LSTM" else state).numpy())
    np.testing.assert_allclose(out.numpy(), np.stack(outs), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy()[0], outs[-1], rtol=1e-12, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(c_n.numpy()[0], state[1].numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True], ids=["TBD", "BTD"])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_padded_steps_change_nothing(float64, mode, batch_first):
    """Padded steps leave the state unchanged and their outputs zero: whatever the padding
    holds, output, h_n (and c_n) are identical, padded outputs are zero, and no gradient
    reaches the padded inputs."""
    T, B, D, H = 5, 3, 3, 4
    lengths = [5, 2, 3]
    module = _make_layer(mode, D, H, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = _rand(T, B, D, seed=1)
    noisy = x.copy()
    for b, n in enumerate(lengths):
        noisy[n:, b] = _rand(T - n, D, seed=10 + b, scale=100.0)
    if batch_first:
        x, noisy = x.swapaxes(0, 1), noisy.swapaxes(0, 1)
    first = _run(module, ts.tensor(x), lengths=lengths)
    xt = _leaf(noisy)
    second = _run(module, xt, lengths=lengths)
    for a, b in zip(first, second):
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    out = second[0].numpy()
    if batch_first:
        out = out.swapaxes(0, 1)
    for b, n in enumerate(lengths):
        assert np.all(out[n:, b] == 0.0)
        assert np.all(out[:n, b] != 0.0)
    (second[0].sum() + second[1].sum()).backward()
    grad = xt.grad.numpy()
    if batch_first:
        grad = grad.swapaxes(0, 1)
    for b, n in enumerate(lengths):
        assert np.all(grad[n:, b] == 0.0)
        assert np.all(grad[:n, b] != 0.0)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_final_state_is_output_at_own_last_step(float64, mode):
    T, B, D, H = 5, 4, 3, 2
    lengths = [5, 1, 3, 4]
    module = _make_layer(mode, D, H, num_layers=2, bidirectional=True)
    out, h_n, _ = _run(module, ts.tensor(_rand(T, B, D, seed=1)), lengths=lengths)
    out, h_n = out.numpy(), h_n.numpy()
    assert h_n.shape == (4, B, H)
    for b, n in enumerate(lengths):
        # last layer: entries 2 (forward) and 3 (reverse)
        np.testing.assert_array_equal(h_n[2, b], out[n - 1, b, :H])
        np.testing.assert_array_equal(h_n[3, b], out[0, b, H:])
    # without lengths: the forward state is the output at T-1, the reverse one at t=0
    out, h_n, _ = _run(module, ts.tensor(_rand(T, B, D, seed=1)))
    np.testing.assert_array_equal(h_n.numpy()[2], out.numpy()[-1, :, :H])
    np.testing.assert_array_equal(h_n.numpy()[3], out.numpy()[0, :, H:])


@pytest.mark.parametrize("batch_first", [False, True], ids=["TBD", "BTD"])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_padded_sequence_equals_running_it_alone(float64, mode, batch_first):
    T, B, D, H = 5, 3, 3, 2
    lengths = [3, 5, 1]
    module = _make_layer(mode, D, H, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = _rand(T, B, D, seed=1)
    state_np = [_rand(4, B, H, seed=2 + i, scale=0.5) for i in range(2 if mode == "LSTM" else 1)]

    def state(index):
        parts = [ts.tensor(s[:, index]) for s in state_np]
        return tuple(parts) if mode == "LSTM" else parts[0]

    def layout(a):
        return a.swapaxes(0, 1) if batch_first else a

    out, h_n, c_n = _run(module, ts.tensor(layout(x)), state(slice(None)), lengths=lengths)
    out = layout(out.numpy())
    for b, n in enumerate(lengths):
        alone_out, alone_h, alone_c = _run(module, ts.tensor(layout(x[:n, b:b + 1])),
                                           state(slice(b, b + 1)))
        # same values up to BLAS rounding (batch 1 vs batch 3 may take another matmul kernel)
        np.testing.assert_allclose(out[:n, b:b + 1], layout(alone_out.numpy()), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(h_n.numpy()[:, b:b + 1], alone_h.numpy(), rtol=1e-13, atol=1e-14)
        if mode == "LSTM":
            np.testing.assert_allclose(c_n.numpy()[:, b:b + 1], alone_c.numpy(), rtol=1e-13, atol=1e-14)
        assert np.all(out[n:, b] == 0.0)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_full_lengths_equal_no_lengths(float64, mode):
    module = _make_layer(mode, 3, 2, num_layers=2, bidirectional=True)
    x = ts.tensor(_rand(4, 3, 3, seed=1))
    for a, b in zip(_run(module, x), _run(module, x, lengths=[4, 4, 4])):
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # lengths may be a list, a numpy array or an integer tensor
    ref = _run(module, x, lengths=[4, 2, 3])
    for lengths in (np.array([4, 2, 3]), ts.tensor([4, 2, 3])):
        for a, b in zip(ref, _run(module, x, lengths=lengths)):
            if a is not None:
                np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_zero_length_keeps_initial_state(float64, mode):
    module = _make_layer(mode, 3, 2, bidirectional=True)
    states = [_rand(2, 2, 2, seed=2 + i) for i in range(2 if mode == "LSTM" else 1)]
    state = tuple(ts.tensor(s) for s in states) if mode == "LSTM" else ts.tensor(states[0])
    out, h_n, c_n = _run(module, ts.tensor(_rand(3, 2, 3, seed=1)), state, lengths=[3, 0])
    assert np.all(out.numpy()[:, 1] == 0.0)
    np.testing.assert_array_equal(h_n.numpy()[:, 1], states[0][:, 1])
    if mode == "LSTM":
        np.testing.assert_array_equal(c_n.numpy()[:, 1], states[1][:, 1])
    assert not np.allclose(h_n.numpy()[:, 0], states[0][:, 0])


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_parameter_names_and_shapes(mode):
    D, H, G = 3, 5, GATES[mode]
    module = _make_layer(mode, D, H, num_layers=2, bidirectional=True)
    expected = []
    for layer, layer_in in ((0, D), (1, 2 * H)):
        for suffix in ("", "_reverse"):
            s = f"_l{layer}{suffix}"
            expected += [("weight_ih" + s, (G * H, layer_in)), ("weight_hh" + s, (G * H, H)),
                         ("bias_ih" + s, (G * H,)), ("bias_hh" + s, (G * H,))]
    assert [(n, tuple(p.shape)) for n, p in module.named_parameters()] == expected
    assert module.weight_hh_l1_reverse.shape == (G * H, H)
    assert all(p.requires_grad for p in module.parameters())

    no_bias = _make_layer(mode, D, H, num_layers=2, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]
    assert no_bias.bias_ih_l0 is None and no_bias.bias_hh_l1 is None

    cell = _make_cell(mode, D, H)
    assert [(n, tuple(p.shape)) for n, p in cell.named_parameters()] == [
        ("weight_ih", (G * H, D)), ("weight_hh", (G * H, H)), ("bias_ih", (G * H,)),
        ("bias_hh", (G * H,))]
    assert [n for n, _ in _make_cell(mode, D, H, bias=False).named_parameters()] == [
        "weight_ih", "weight_hh"]


def test_parameter_names_match_torch():
    torch = pytest.importorskip("torch")
    for mode in ("RNN", "LSTM", "GRU"):
        for kwargs in (dict(num_layers=3, bidirectional=True), dict(num_layers=2, bias=False)):
            ours = _make_layer(mode, 3, 4, **kwargs)
            theirs = getattr(torch.nn, mode)(3, 4, **kwargs)
            assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
                [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_init_within_inverse_sqrt_hidden(mode):
    H = 16
    bound = 1.0 / math.sqrt(H)
    for module in (_make_layer(mode, 7, H, num_layers=2, bidirectional=True), _make_cell(mode, 7, H)):
        values = np.concatenate([p.numpy().ravel() for p in module.parameters()])
        assert np.all(np.abs(values) <= bound)
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound  # spread over the range
        assert abs(values.mean()) < 0.1 * bound
        assert all(p.dtype == np.float32 for p in module.parameters())


def test_init_follows_default_dtype_and_seed(float64):
    a = nn.LSTM(3, 4)
    assert all(p.dtype == np.float64 for p in a.parameters())
    ts.manual_seed(123)
    b = nn.GRU(3, 4, num_layers=2)
    ts.manual_seed(123)
    c = nn.GRU(3, 4, num_layers=2)
    for p, q in zip(b.parameters(), c.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_dropout_only_between_layers_in_train_mode(mode):
    x = ts.tensor(_rand(4, 3, 5, seed=1).astype(np.float32))
    module = _make_layer(mode, 5, 8, num_layers=2, dropout=0.5)
    assert module.training
    out1, out2 = module(x)[0].numpy(), module(x)[0].numpy()
    assert not np.allclose(out1, out2)

    module.eval()
    eval1, eval2 = module(x)[0].numpy(), module(x)[0].numpy()
    np.testing.assert_array_equal(eval1, eval2)
    # eval mode equals the same layer without dropout
    plain = _make_layer(mode, 5, 8, num_layers=2)
    plain.load_state_dict(module.state_dict())
    np.testing.assert_array_equal(eval1, plain(x)[0].numpy())

    # one layer: there is no "between layers", so dropout has no effect even in train mode
    # (and PyTorch's warning says so)
    with pytest.warns(UserWarning, match="dropout adds dropout after all but the last"):
        single = _make_layer(mode, 5, 8, num_layers=1, dropout=0.5)
    np.testing.assert_array_equal(single(x)[0].numpy(), single(x)[0].numpy())
    single_plain = _make_layer(mode, 5, 8)
    single_plain.load_state_dict(single.state_dict())
    np.testing.assert_array_equal(single(x)[0].numpy(), single_plain(x)[0].numpy())


def test_dropout_is_reproducible_from_seed():
    x = ts.tensor(_rand(4, 3, 5, seed=1).astype(np.float32))
    module = nn.GRU(5, 8, num_layers=3, dropout=0.3)
    ts.manual_seed(7)
    a = module(x)[0].numpy()
    ts.manual_seed(7)
    b = module(x)[0].numpy()
    np.testing.assert_array_equal(a, b)


def test_long_lstm_sequence_forward_and_backward(float64):
    """1,000 steps: no recursion-depth problem in forward or backward, and the values and a
    gradient agree with a plain NumPy LSTM (gradient by central differences on it)."""
    T, B, D, H = 1000, 2, 3, 4
    lstm = nn.LSTM(D, H)
    x_np = _rand(T, B, D, seed=1)
    x = _leaf(x_np)
    out, (h_n, c_n) = lstm(x)
    params = [p.numpy() for p in lstm.parameters()]
    zeros = np.zeros((B, H))
    e_out, e_h, e_c = _np_lstm(x_np, zeros, zeros, *params)
    np.testing.assert_allclose(out.numpy(), e_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy()[0], e_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_n.numpy()[0], e_c, rtol=1e-10, atol=1e-12)

    (out.sum() + c_n.sum()).backward()
    assert x.grad.shape == (T, B, D) and np.all(np.isfinite(x.grad.numpy()))
    assert np.all(x.grad.numpy()[-1] != 0.0)
    w_hh = lstm.weight_hh_l0
    assert np.all(np.isfinite(w_hh.grad.numpy()))

    def loss(w):
        o, _, c = _np_lstm(x_np, zeros, zeros, params[0], w, params[2], params[3])
        return o.sum() + c.sum()

    eps = 1e-6
    for index in [(0, 0), (5, 2), (15, 3)]:
        plus, minus = params[1].copy(), params[1].copy()
        plus[index] += eps
        minus[index] -= eps
        numeric = (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(w_hh.grad.numpy()[index], numeric, rtol=1e-6, atol=1e-6)


# =============================================================================================
# 4. Bad input: clear errors naming shapes and values
# =============================================================================================
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_wrong_feature_size(mode):
    module = _make_layer(mode, 3, 4)
    with pytest.raises(ValueError, match=r"3 features.*got shape \(5, 2, 7\)"):
        module(ts.zeros(5, 2, 7))
    bf = _make_layer(mode, 3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"\(batch, time, features\) with 3 features.*\(2, 5, 4\)"):
        bf(ts.zeros(2, 5, 4))


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_one_dimensional_input_to_layer(mode):
    module = _make_layer(mode, 3, 4)
    with pytest.raises(ValueError, match=rf"{mode}: expected input \(time, batch, features\) "
                                         r"or, unbatched, \(time, features\) with 3 features, "
                                         r"got shape \(5,\)"):
        module(ts.zeros(5))


def test_non_tensor_input():
    with pytest.raises(TypeError, match="Tensor"):
        nn.GRU(3, 4)(np.zeros((5, 2, 3)))
    with pytest.raises(TypeError, match="Tensor"):
        nn.GRUCell(3, 4)([[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("mode", ["RNN", "GRU"])
def test_initial_state_wrong_batch(mode):
    module = _make_layer(mode, 3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"\(2, 2, 4\).*\(2, 3, 4\)"):
        module(ts.zeros(5, 2, 3), ts.zeros(2, 3, 4))
    # a unidirectional state given to a bidirectional layer
    bi = _make_layer(mode, 3, 4, bidirectional=True)
    with pytest.raises(ValueError, match=r"\(2, 2, 4\).*\(1, 2, 4\)"):
        bi(ts.zeros(5, 2, 3), ts.zeros(1, 2, 4))


def test_lstm_initial_state_errors():
    lstm = nn.LSTM(3, 4)
    x = ts.zeros(5, 2, 3)
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\)"):
        lstm(x, ts.zeros(1, 2, 4))
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\)"):
        lstm(x, (ts.zeros(1, 2, 4),))
    with pytest.raises(ValueError, match=r"\(1, 2, 4\).*\(1, 3, 4\)"):
        lstm(x, (ts.zeros(1, 2, 4), ts.zeros(1, 3, 4)))
    # a list pair is accepted as well
    out, (h, c) = lstm(x, [ts.zeros(1, 2, 4), ts.zeros(1, 2, 4)])
    np.testing.assert_array_equal(h.numpy(), lstm(x)[1][0].numpy())


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_lengths_longer_than_steps(mode):
    module = _make_layer(mode, 3, 4)
    with pytest.raises(ValueError, match=r"\[0, 5\].*got \[6, 9\]"):
        module(ts.zeros(5, 4, 3), lengths=[5, 6, 2, 9])
    with pytest.raises(ValueError, match=r"got \[-1\]"):
        module(ts.zeros(5, 4, 3), lengths=[5, -1, 2, 3])
    bf = _make_layer(mode, 3, 4, batch_first=True)  # T is axis 1 when batch_first
    with pytest.raises(ValueError, match=r"\[0, 5\].*got \[7\]"):
        bf(ts.zeros(2, 5, 3), lengths=[7, 5])


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_wrong_number_of_lengths(mode):
    module = _make_layer(mode, 3, 4)
    with pytest.raises(ValueError, match=r"got 2 lengths for a batch of 3"):
        module(ts.zeros(5, 3, 3), lengths=[5, 4])
    with pytest.raises(ValueError, match=r"got 4 lengths for a batch of 3"):
        module(ts.zeros(5, 3, 3), lengths=[5, 4, 3, 2])


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_cell_bad_input(mode):
    cell = _make_cell(mode, 3, 4)
    name = mode + "Cell"
    with pytest.raises(ValueError, match=rf"{name}: expected input \(batch, 3\), got shape \(2, 5\)"):
        cell(ts.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\(batch, 3\), got shape \(5, 2, 3\)"):
        cell(ts.zeros(5, 2, 3))
    state = ts.zeros(3, 4)
    with pytest.raises(ValueError, match=r"\(2, 4\), got \(3, 4\)"):
        cell(ts.zeros(2, 3), (state, state) if mode == "LSTM" else state)


def test_bad_nonlinearity():
    with pytest.raises(ValueError, match=r"'tanh' or 'relu', got 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"'tanh' or 'relu', got 'sigmoid'"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_bad_num_layers_and_dropout(mode):
    with pytest.raises(ValueError, match=r"num_layers must be a positive int, got 0"):
        _make_layer(mode, 3, 4, num_layers=0)
    with pytest.raises(ValueError, match=r"num_layers.*got -1"):
        _make_layer(mode, 3, 4, num_layers=-1)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\], got 1.5"):
        _make_layer(mode, 3, 4, num_layers=2, dropout=1.5)

"""nn.LSTM(proj_size=P): h_t = W_hr (o_t * tanh(c_t)), as PyTorch's LSTM with projections.

  * PyTorch as the oracle (skipped without torch), float64: outputs, h_n, c_n and the gradients
    of the input, the initial states and every parameter, with the weights copied either way
    by state_dict, for 1 and 2 layers, bidirectional, batch_first, no bias, given and zero
    initial states, P = 1 and P = H - 1, dropout in eval mode, lengths= and PackedSequences;
    parameter names, order and shapes; the repr; the positional arguments of LSTM, RNN and GRU.
  * Without torch: shapes, registration order and initialisation, the errors (naming the op
    and the shapes, raised before anything changes), the fused impl giving exactly the
    primitive one's numbers, and the trace: every parameter's per-step contributions, W_hr's
    included, add up to its gradient and equal the gradients of per-step copies.
"""
import inspect

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import functional as F
from tinyseq import nn, render
from tinyseq.nn.recurrent import lstm_step
from tinyseq.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

TOL = dict(rtol=1e-10, atol=1e-12)
T, B, D, H = 4, 3, 3, 5
LENGTHS = [2, 4, 1]                      # unsorted, one of T and one of 1
PYTORCH_ORDER = ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                 "bidirectional", "proj_size", "device", "dtype"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _rand(*shape, seed, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _leaf(array):
    return ts.tensor(array, dtype=ts.float64, requires_grad=True)


def _names_and_shapes(module):
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


def _pair(torch, copy, impl="fused", **options):
    """A tinyseq and a torch LSTM in float64 with the same weights, copied by state_dict from
    torch into tinyseq ("from_torch") or from tinyseq into torch ("to_torch")."""
    ours = nn.LSTM(D, H, impl=impl, dtype=ts.float64, **options)
    theirs = torch.nn.LSTM(D, H, dtype=torch.float64, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if copy == "from_torch":
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    else:
        theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                                for k, v in ours.state_dict().items()})
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.numpy(), getattr(theirs, name).detach().numpy())
    return ours, theirs


def _backward_both(torch, ours, theirs):
    """The same loss sum_i sum(R_i * t_i) on both sides, R_i fixed random."""
    weights = [_rand(*a.shape, seed=100 + i) for i, a in enumerate(ours)]
    sum((a * ts.tensor(w)).sum() for a, w in zip(ours, weights)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(theirs, weights)).backward()


def _assert_grads_match(ours, theirs):
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(),
                                   err_msg=name, **TOL)
        assert np.abs(p.grad.numpy()).max() > 0, name


# --- PyTorch as the oracle ------------------------------------------------------------------
CASES = {
    "1layer-P1": dict(proj_size=1),
    "1layer-PH-1-state": dict(proj_size=H - 1, with_state=True),
    "2layers-bi-state": dict(num_layers=2, bidirectional=True, proj_size=2, with_state=True),
    "2layers-batch_first-nobias": dict(num_layers=2, batch_first=True, bias=False, proj_size=1),
    "2layers-bi-dropout-eval": dict(num_layers=2, bidirectional=True, batch_first=True,
                                    dropout=0.5, proj_size=H - 1, with_state=True),
    "bi-lengths-state": dict(bidirectional=True, proj_size=2, lengths=LENGTHS, with_state=True),
    "2layers-bi-nobias-lengths": dict(num_layers=2, bidirectional=True, bias=False,
                                      proj_size=H - 1, lengths=LENGTHS),
}


@pytest.mark.parametrize("copy", ["from_torch", "to_torch"])
@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch(torch, case, impl, copy):
    options = dict(CASES[case])
    with_state = options.pop("with_state", False)
    lengths = options.pop("lengths", None)
    ours, theirs = _pair(torch, copy, impl, **options)
    ours.eval()
    theirs.eval()
    count = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    P, batch_first = options["proj_size"], options.get("batch_first", False)

    x_np = _rand(*((B, T, D) if batch_first else (T, B, D)), seed=1)
    x, tx = _leaf(x_np), torch.tensor(x_np, requires_grad=True)
    states_np = [_rand(count, B, P, seed=2, scale=0.5), _rand(count, B, H, seed=3, scale=0.5)]
    states = [_leaf(s) for s in states_np] if with_state else []
    tstates = [torch.tensor(s, requires_grad=True) for s in states_np] if with_state else []

    out, (h_n, c_n) = ours(x, tuple(states) or None, lengths=lengths)
    if lengths is None:
        tout, (th_n, tc_n) = theirs(tx, tuple(tstates) or None)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first,
                                                         enforce_sorted=False)
        tout, (th_n, tc_n) = theirs(packed, tuple(tstates) or None)
        tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first, total_length=T)
    D_P = (2 if options.get("bidirectional") else 1) * P
    assert tuple(out.shape) == ((B, T, D_P) if batch_first else (T, B, D_P))
    assert tuple(h_n.shape) == (count, B, P) and tuple(c_n.shape) == (count, B, H)
    for a, b in zip((out, h_n, c_n), (tout, th_n, tc_n)):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL)

    _backward_both(torch, [out, h_n, c_n], [tout, th_n, tc_n])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)
    for s, t in zip(states, tstates):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), **TOL)
    _assert_grads_match(ours, theirs)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_sequences_match_torch(torch, batch_first, with_state):
    ours, theirs = _pair(torch, "from_torch", num_layers=2, bidirectional=True, proj_size=2,
                         batch_first=batch_first)
    trnn = torch.nn.utils.rnn
    x_np = _rand(*((B, T, D) if batch_first else (T, B, D)), seed=4)
    x, tx = _leaf(x_np), torch.tensor(x_np, requires_grad=True)
    states_np = [_rand(4, B, 2, seed=5), _rand(4, B, H, seed=6)]     # original batch order
    states = tuple(_leaf(s) for s in states_np) if with_state else None
    tstates = tuple(torch.tensor(s, requires_grad=True) for s in states_np) if with_state else None

    out, (h_n, c_n) = ours(pack_padded_sequence(x, LENGTHS, batch_first, enforce_sorted=False),
                           states)
    tout, (th_n, tc_n) = theirs(trnn.pack_padded_sequence(tx, LENGTHS, batch_first,
                                                          enforce_sorted=False), tstates)
    assert isinstance(out, PackedSequence)
    np.testing.assert_allclose(out.data.numpy(), tout.data.detach().numpy(), **TOL)
    padded, _ = pad_packed_sequence(out, batch_first)
    tpadded, _ = trnn.pad_packed_sequence(tout, batch_first)
    assert tuple(padded.shape) == tuple(tpadded.shape)
    assert padded.shape[-1] == 4                                       # 2 directions * P
    for a, b in ((h_n, th_n), (c_n, tc_n)):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL)

    _backward_both(torch, [padded, h_n, c_n], [tpadded, th_n, tc_n])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)
    for s, t in zip(states or (), tstates or ()):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), **TOL)
    _assert_grads_match(ours, theirs)


@pytest.mark.parametrize("options", [
    dict(proj_size=2), dict(proj_size=1, num_layers=2, bidirectional=True),
    dict(proj_size=4, num_layers=3, bias=False), dict(proj_size=0, num_layers=2)])
def test_parameter_names_order_and_shapes_match_torch(torch, options):
    ours = nn.LSTM(D, H, **options)
    theirs = torch.nn.LSTM(D, H, **options)
    assert _names_and_shapes(ours) == [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.proj_size == theirs.proj_size


def test_repr_matches_torch(torch):
    for options in (dict(proj_size=2), dict(proj_size=3, num_layers=2, bias=False, dropout=0.5,
                                            batch_first=True, bidirectional=True), dict()):
        assert repr(nn.LSTM(D, H, **options)) == repr(torch.nn.LSTM(D, H, **options))


def test_positional_arguments_are_pytorchs(torch):
    """LSTM and GRU take PyTorch's order, RNN the same with nonlinearity fourth; proj_size,
    device and dtype go by position as in PyTorch; impl is keyword-only."""
    torch_order = list(inspect.signature(torch.nn.modules.rnn.RNNBase.__init__).parameters)
    assert torch_order[2:] == PYTORCH_ORDER                            # after self, mode
    for layer, order in ((nn.LSTM, PYTORCH_ORDER), (nn.GRU, PYTORCH_ORDER),
                         (nn.RNN, PYTORCH_ORDER[:3] + ["nonlinearity"] + PYTORCH_ORDER[3:])):
        parameters = inspect.signature(layer).parameters
        positional = [n for n, p in parameters.items() if p.kind == p.POSITIONAL_OR_KEYWORD]
        assert positional == order, layer.__name__
        assert parameters["impl"].kind == inspect.Parameter.KEYWORD_ONLY

    ours = nn.LSTM(3, 5, 1, True, False, 0.0, False, 2)
    theirs = torch.nn.LSTM(3, 5, 1, True, False, 0.0, False, 2)
    assert ours.proj_size == theirs.proj_size == 2
    assert _names_and_shapes(ours) == [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours = nn.LSTM(3, 5, 2, False, True, 0.0, True, 2, "cpu", ts.float64)
    theirs = torch.nn.LSTM(3, 5, 2, False, True, 0.0, True, 2, "cpu", torch.float64)
    assert _names_and_shapes(ours) == [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert ours.weight_hr_l1_reverse.dtype == ts.float64
    assert (ours.batch_first, ours.bias, ours.bidirectional) == (True, False, True)
    with pytest.raises(TypeError, match="positional arguments"):
        nn.LSTM(3, 5, 1, True, False, 0.0, False, 0, "cpu", None, "primitive")

    # RNN and GRU: proj_size 0 by position, then device and dtype, as PyTorch's
    gru = nn.GRU(3, 5, 1, True, False, 0.0, False, 0, "cpu", ts.float64)
    rnn = nn.RNN(3, 5, 1, "relu", True, False, 0.0, False, 0, "cpu", ts.float64)
    torch_gru = torch.nn.GRU(3, 5, 1, True, False, 0.0, False, 0, "cpu", torch.float64)
    torch_rnn = torch.nn.RNN(3, 5, 1, "relu", True, False, 0.0, False, 0, "cpu", torch.float64)
    assert (gru.proj_size, rnn.proj_size) == (torch_gru.proj_size, torch_rnn.proj_size) == (0, 0)
    assert gru.weight_hh_l0.dtype == rnn.weight_hh_l0.dtype == ts.float64
    assert rnn.nonlinearity == torch_rnn.nonlinearity == "relu"


@pytest.mark.parametrize("build", [lambda library: library.GRU(3, 5, proj_size=2),
                                   lambda library: library.RNN(3, 5, proj_size=2)],
                         ids=["GRU", "RNN"])
def test_gru_and_rnn_refuse_a_projection_as_torch(torch, build):
    with pytest.raises(ValueError, match="proj_size is supported by LSTM only"):
        build(nn)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        build(torch.nn)


def test_gru_and_rnn_refuse_a_projection_given_by_position(torch):
    """PyTorch builds a GRU with a projection it cannot run; tinyseq refuses it at once."""
    with pytest.raises(ValueError, match=r"^GRU: proj_size is supported by LSTM only, not by "
                                         r"RNN or GRU; got proj_size=2$"):
        nn.GRU(3, 5, 1, True, False, 0.0, False, 2)
    with pytest.raises(ValueError, match=r"^RNN: proj_size is supported by LSTM only"):
        nn.RNN(3, 5, 1, "tanh", True, False, 0.0, False, 2)
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        torch.nn.GRU(3, 5, 1, True, False, 0.0, False, 2)(torch.zeros(2, 1, 3))


@pytest.mark.parametrize("proj_size,error", [(-1, ValueError), (H, ValueError),
                                             (H + 2, ValueError), (2.0, TypeError)])
def test_constructor_errors_are_torchs(torch, proj_size, error):
    with pytest.raises(error):
        torch.nn.LSTM(D, H, proj_size=proj_size)
    with pytest.raises(error, match=r"^LSTM: proj_size"):
        nn.LSTM(D, H, proj_size=proj_size)


# --- without torch ----------------------------------------------------------------------------
def test_shapes_and_parameter_order():
    P = 2
    lstm = nn.LSTM(D, H, num_layers=2, bidirectional=True, proj_size=P)
    expected = []
    for layer, suffix in ((0, ""), (0, "_reverse"), (1, ""), (1, "_reverse")):
        inputs = D if layer == 0 else 2 * P
        expected += [(f"weight_ih_l{layer}{suffix}", (4 * H, inputs)),
                     (f"weight_hh_l{layer}{suffix}", (4 * H, P)),
                     (f"bias_ih_l{layer}{suffix}", (4 * H,)),
                     (f"bias_hh_l{layer}{suffix}", (4 * H,)),
                     (f"weight_hr_l{layer}{suffix}", (P, H))]
    assert _names_and_shapes(lstm) == expected
    assert list(lstm.state_dict()) == [name for name, _ in expected]
    assert [n for n, _ in _names_and_shapes(nn.LSTM(D, H, bias=False, proj_size=P))] == \
        ["weight_ih_l0", "weight_hh_l0", "weight_hr_l0"]
    assert not any("weight_hr" in n for n, _ in nn.LSTM(D, H).named_parameters())

    out, (h_n, c_n) = lstm(ts.randn(T, B, D))
    assert (tuple(out.shape), tuple(h_n.shape), tuple(c_n.shape)) == \
        ((T, B, 2 * P), (4, B, P), (4, B, H))
    # the output at the last step is h_n's forward entry of the last layer
    np.testing.assert_array_equal(out.numpy()[-1, :, :P], h_n.numpy()[2])
    np.testing.assert_array_equal(out.numpy()[0, :, P:], h_n.numpy()[3])
    out, _ = nn.LSTM(D, H, batch_first=True, proj_size=1)(ts.randn(B, T, D))
    assert tuple(out.shape) == (B, T, 1)


def test_projection_is_initialised_uniform_in_one_over_sqrt_hidden_size():
    hidden, P = 64, 32
    bound = 1 / np.sqrt(hidden)
    weight = nn.LSTM(3, hidden, proj_size=P).weight_hr_l0.numpy()
    assert weight.shape == (P, hidden)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.99 * bound
    assert abs(weight.mean()) < 0.05 * bound
    assert weight.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)   # uniform's std


def test_repr_shows_proj_size_after_the_sizes():
    assert repr(nn.LSTM(3, 5, 2, proj_size=2)) == "LSTM(3, 5, proj_size=2, num_layers=2)"
    assert repr(nn.LSTM(3, 5, impl="primitive")) == "LSTM(3, 5, impl=primitive)"


@pytest.mark.parametrize("build,message", [
    (lambda: nn.LSTM(D, H, proj_size=-1), r"^LSTM: proj_size must be a non-negative int, got -1$"),
    (lambda: nn.LSTM(D, H, proj_size=H),
     r"^LSTM: proj_size must be smaller than hidden_size \(5\), got 5$"),
    (lambda: nn.LSTM(D, H, proj_size=True), r"^LSTM: proj_size must be an int, got True"),
    (lambda: nn.GRU(D, H, proj_size=1), r"^GRU: proj_size is supported by LSTM only"),
    (lambda: nn.RNN(D, H, proj_size=1), r"^RNN: proj_size is supported by LSTM only"),
], ids=["negative", "not-smaller", "bool", "GRU", "RNN"])
def test_constructor_errors_name_the_op_and_draw_nothing(build, message):
    ts.manual_seed(3)
    expected = ts.rand(4).numpy()
    ts.manual_seed(3)
    with pytest.raises((ValueError, TypeError), match=message):
        build()
    np.testing.assert_array_equal(ts.rand(4).numpy(), expected)       # no weights were drawn


@pytest.mark.parametrize("which,message", [
    ("h", r"^LSTM: expected h0 of shape \(4, 3, 2\), got \(4, 3, 5\)$"),
    ("c", r"^LSTM: expected c0 of shape \(4, 3, 5\), got \(4, 3, 2\)$"),
    ("batch", r"^LSTM: expected h0 of shape \(4, 3, 2\), got \(4, 2, 2\)$"),
])
def test_state_shape_errors_name_the_op_and_the_shapes_and_change_nothing(which, message):
    lstm = nn.LSTM(D, H, num_layers=2, bidirectional=True, dropout=0.5, proj_size=2)
    lstm.train()
    h0, c0 = ts.zeros(4, B, 2), ts.zeros(4, B, H)
    state = {"h": (ts.zeros(4, B, H), c0), "c": (h0, ts.zeros(4, B, 2)),
             "batch": (ts.zeros(4, 2, 2), c0)}[which]
    before = {name: p.numpy().copy() for name, p in lstm.named_parameters()}
    ts.manual_seed(5)
    expected = ts.rand(4).numpy()
    ts.manual_seed(5)
    with pytest.raises(ValueError, match=message):
        lstm(ts.ones(T, B, D), state)
    np.testing.assert_array_equal(ts.rand(4).numpy(), expected)       # no dropout mask drawn
    for name, p in lstm.named_parameters():
        np.testing.assert_array_equal(p.numpy(), before[name])
        assert p.grad is None


def test_fused_impl_computes_through_the_primitive_ops_with_the_same_numbers(float64):
    """The fused op holds h and c in one array, so a projecting LSTM runs the primitive ops
    whichever impl it is given: the same numbers, bit for bit, and no fused step in a trace."""
    options = dict(num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    fused, primitive = nn.LSTM(D, H, **options), nn.LSTM(D, H, impl="primitive", **options)
    primitive.load_state_dict(fused.state_dict())
    x_np = _rand(B, T, D, seed=7)
    results = {}
    for name, layer in (("fused", fused), ("primitive", primitive)):
        x = _leaf(x_np)
        state = (_leaf(_rand(4, B, 2, seed=8)), _leaf(_rand(4, B, H, seed=9)))
        with ts.trace() as tr:
            out, (h_n, c_n) = layer(x, state, lengths=[4, 2, 3])
            loss = (out * out).sum() + (h_n * c_n[:, :, :2]).sum() + c_n.sum()
        loss.backward()
        assert not any(r.kind.endswith("_step") for r in tr.ops)        # no fused op
        results[name] = [out, h_n, c_n, x.grad, *(s.grad for s in state),
                         *(p.grad for p in layer.parameters())]
    for a, b in zip(results["fused"], results["primitive"]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with ts.trace() as tr:                                             # without a projection
        nn.LSTM(D, H)(ts.randn(T, B, D))
    assert any(r.kind == "lstm_step" for r in tr.ops)


# --- the trace ---------------------------------------------------------------------------------
def _traced(impl, steps=4, **options):
    """(the trace, the LSTM, its input, the target) of an MSE loss on a projecting LSTM
    (P = 2, H = 4) called as module ``rnn``; bidirectional with lengths [steps, 2]."""
    model = nn.Module()
    model.rnn = nn.LSTM(2, 4, proj_size=2, impl=impl, **options)
    directions = 2 if options.get("bidirectional") else 1
    x, y = ts.randn(steps, 2, 2), ts.randn(steps, 2, 2 * directions)
    with ts.trace() as tr:
        output, _ = model.rnn(x, lengths=[steps, 2] if options.get("bidirectional") else None)
        loss = F.mse_loss(output, y)
    loss.backward()
    return tr, model.rnn, x, y


@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("options", [dict(), dict(num_layers=2, bidirectional=True)],
                         ids=["plain", "2layers-bi-lengths"])
def test_trace_contributions_of_every_weight_sum_to_its_gradient(float64, impl, options):
    steps = 4
    tr, lstm, _, _ = _traced(impl, steps, **options)
    assert tr.time_steps == list(range(steps))
    assert sorted(leaf.name for leaf in tr.parameters()) == \
        sorted(f"rnn.{name}" for name, _ in lstm.named_parameters())
    assert any(r.scope.endswith("h_t = W_hr(o*tanh(c_t))") for r in tr.ops)
    names = [name for name, _ in lstm.named_parameters()]
    assert sum("weight_hr" in n for n in names) == lstm.num_layers * lstm.num_directions
    for name, p in lstm.named_parameters():
        contributions = tr.contributions(p)
        assert [t for t, _ in contributions] == list(range(steps)), name
        total = sum(g for _, g in contributions)
        np.testing.assert_allclose(total, p.grad.numpy(), rtol=0, atol=1e-10, err_msg=name)
        assert np.abs(p.grad.numpy()).max() > 0, name


def test_trace_contributions_equal_gradients_of_untied_per_step_weights(float64):
    """Contribution t of each tied weight, W_hr's included, is the gradient of a private copy
    used only at step t."""
    steps, batch = 4, 2
    lstm = nn.LSTM(2, 4, proj_size=2)
    x = ts.randn(steps, batch, 2)
    with ts.trace() as tr:
        output, _ = lstm(x)
        (output ** 2).sum().backward()

    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0")
    copies = [[_leaf(getattr(lstm, n).numpy()) for n in names] for _ in range(steps)]
    state = (ts.zeros(batch, 2), ts.zeros(batch, 4))
    total = 0
    for t in range(steps):
        w_ih, w_hh, b_ih, b_hh, w_hr = copies[t]
        state = lstm_step(x[t], state, w_ih, w_hh, b_ih, b_hh, weight_hr=w_hr)
        total = total + (state[0] ** 2).sum()
    total.backward()
    for i, name in enumerate(names):
        contributions = dict(tr.contributions(getattr(lstm, name)))
        for t in range(steps):
            np.testing.assert_allclose(contributions[t], copies[t][i].grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{name} at t={t}")
    assert np.abs(dict(tr.contributions(lstm.weight_hr_l0))[steps - 1]).max() > 0


def test_cell_diagram_writes_the_gradient_of_the_projected_state(float64, tmp_path):
    """||dL/dh_t|| on the figure is the gradient reaching the projected h_t, as a cell loop's
    h_t.retain_grad() gives it."""
    tr, lstm, x, y = _traced("fused")
    text = open(render.cell_diagram(tr, tmp_path / "cell.dot", module="rnn", time_step=2)).read()
    written = {line.split()[0]: float(line.rsplit("= ", 1)[1].split(">")[0])
               for line in text.splitlines() if line.strip().startswith("norm_")}
    assert set(written) == {"norm_h_next", "norm_h_prev", "norm_c_next", "norm_c_prev"}

    weights = [getattr(lstm, n) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                          "bias_hh_l0")]
    state, hs = (ts.zeros(2, 2), ts.zeros(2, 4)), []
    for t in range(4):
        state = lstm_step(x[t], state, *weights, weight_hr=lstm.weight_hr_l0)
        state[0].retain_grad()
        hs.append(state[0])
    F.mse_loss(ts.stack(hs), y).backward()
    assert written["norm_h_next"] == float(f"{np.linalg.norm(hs[2].grad.numpy()):.3g}")
    assert written["norm_h_prev"] == float(f"{np.linalg.norm(hs[1].grad.numpy()):.3g}")

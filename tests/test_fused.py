"""The fused recurrent path (one op per layer direction, hand-written backward) against the
primitive path (every gate an op), traced and not, and its own finite-difference checks."""
import contextlib

import numpy as np
import pytest
from gradcheck import gradcheck

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn
from tinyseq.ops import recurrent
from tinyseq.ops.recurrent import GRUMath, LSTMMath, RecurrentLayer, RNNMath

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
CONFIGS = [{}, {"num_layers": 2, "bidirectional": True}, {"bidirectional": True, "batch_first": True},
           {"bias": False}]


def run(mode, impl, config, lengths, traced):
    """Outputs, final h and every gradient of one forward/backward; the trace if traced."""
    ts.manual_seed(0)
    layer = LAYERS[mode](4, 3, impl=impl, **config)
    rng = np.random.default_rng(1)
    shape = (3, 5, 4) if config.get("batch_first") else (5, 3, 4)
    x = ts.tensor(rng.standard_normal(shape), requires_grad=True)
    with (ts.trace() if traced else contextlib.nullcontext()) as tr:
        output, state = layer(x, lengths=lengths)
    h_n = state[0] if mode == "LSTM" else state
    loss = (output * ts.tensor(rng.standard_normal(output.shape))).sum() + (h_n * h_n).sum()
    if mode == "LSTM":
        loss = loss + (state[1] ** 3).sum()
    loss.backward()
    arrays = [output.numpy(), h_n.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    return arrays, layer, tr


# An additive cell's fused layer takes one product per step of [h_{t-1}, x_t, 1] up to a step
# size, and projects the inputs of all steps at once beyond; both ways are checked at a small
# size by setting that size to 0
PRODUCTS = {"joint": recurrent._JOINT_PRODUCT_SIZE, "projected": 0}


@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("config", CONFIGS, ids=["plain", "2-layer-bi", "bi-batch-first", "no-bias"])
@pytest.mark.parametrize("lengths", [None, [5, 2, 3]], ids=["full", "padded"])
@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
@pytest.mark.parametrize("products", list(PRODUCTS))
def test_fused_equals_primitive(float64, monkeypatch, mode, config, lengths, traced, products):
    monkeypatch.setattr(recurrent, "_JOINT_PRODUCT_SIZE", PRODUCTS[products])
    fused, _, _ = run(mode, "fused", config, lengths, traced)
    primitive, _, _ = run(mode, "primitive", config, lengths, traced)
    for a, b in zip(fused, primitive):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("products", list(PRODUCTS))
def test_frozen_fused_layer_gives_the_input_its_gradient(float64, monkeypatch, mode, products):
    """A frozen layer (a pretrained encoder) still passes the gradient to its input."""
    monkeypatch.setattr(recurrent, "_JOINT_PRODUCT_SIZE", PRODUCTS[products])
    grads = []
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        layer = LAYERS[mode](3, 4, impl=impl)
        for p in layer.parameters():
            p.requires_grad = False
        x = ts.randn(5, 2, 3, requires_grad=True)
        output, _ = layer(x)
        (output * output).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=0, atol=1e-12)


def test_fused_relu_rnn_equals_primitive(float64):
    results = []
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        layer = nn.RNN(3, 4, nonlinearity="relu", num_layers=2, impl=impl)
        x = ts.randn(6, 2, 3, requires_grad=True)
        output, h_n = layer(x, lengths=[6, 3])
        (output.sum() + h_n.sum()).backward()
        results.append([output.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


MATHS = {"RNN": RNNMath("tanh"), "LSTM": LSTMMath(), "GRU": GRUMath()}


@pytest.mark.parametrize("mode", list(MATHS))
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("products", list(PRODUCTS))
def test_layer_op_gradcheck(float64, monkeypatch, mode, masked, reverse, bias, products):
    monkeypatch.setattr(recurrent, "_JOINT_PRODUCT_SIZE", PRODUCTS[products])
    math = MATHS[mode]
    gates, state_size = math.gates, math.state_size
    hidden, batch, steps, features = 2, 3, 4, 3
    masks = np.arange(steps)[:, None, None] < np.array([4, 2, 1])[None, :, None] if masked else None
    inputs = [ts.randn(steps, batch, features, requires_grad=True),
              ts.randn(state_size, batch, hidden, requires_grad=True),
              ts.randn(gates * hidden, features, requires_grad=True),
              ts.randn(gates * hidden, hidden, requires_grad=True)]
    if bias:
        inputs += [ts.randn(gates * hidden, requires_grad=True) for _ in range(2)]
    gradcheck(lambda *a: RecurrentLayer(math, masks, reverse).apply(*a), inputs)


@pytest.mark.parametrize("mode", list(MATHS))
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_backward_in_blocks_of_steps_equals_one_block(float64, monkeypatch, mode, masked,
                                                      reverse):
    """Backward prepares its local derivatives a block of steps at a time: blocks of one
    step, of two (the last one short) and one block of all five give the same gradients."""
    math = MATHS[mode]
    gates, state_size = math.gates, math.state_size
    hidden, batch, steps, features = 2, 3, 5, 3
    masks = np.arange(steps)[:, None, None] < np.array([5, 2, 1])[None, :, None] if masked else None
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((steps, batch, features)),
              rng.standard_normal((state_size, batch, hidden)),
              rng.standard_normal((gates * hidden, features)),
              rng.standard_normal((gates * hidden, hidden)),
              rng.standard_normal(gates * hidden), rng.standard_normal(gates * hidden)]
    weights = rng.standard_normal((state_size, steps, batch, hidden))
    results = {}
    for steps_per_block in (1, 2, steps):
        monkeypatch.setattr(recurrent, "_BLOCK_SIZE", steps_per_block * batch * hidden)
        inputs = [ts.tensor(a, requires_grad=True) for a in arrays]
        states = RecurrentLayer(math, masks, reverse).apply(*inputs)
        (states * ts.tensor(weights)).sum().backward()
        results[steps_per_block] = [t.grad.numpy() for t in inputs]
    for blocks in (1, 2):
        for a, b in zip(results[blocks], results[steps]):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", list(MATHS))
def test_backward_twice_with_retain_graph(float64, mode):
    """Backward overwrites the saved activations with gradients unless the graph is retained."""
    math = MATHS[mode]
    gates, state_size = math.gates, math.state_size
    x = ts.randn(5, 2, 3, requires_grad=True)
    weights = [ts.randn(gates * 4, 3, requires_grad=True), ts.randn(gates * 4, 4, requires_grad=True)]
    states = RecurrentLayer(math).apply(x, ts.randn(state_size, 2, 4), *weights)
    states.sum().backward(retain_graph=True)
    first = [x.grad.numpy().copy()] + [w.grad.numpy().copy() for w in weights]
    states.sum().backward()
    for before, t in zip(first, [x] + weights):
        np.testing.assert_allclose(t.grad.numpy(), 2 * before, rtol=1e-12)


@pytest.mark.parametrize("mode", list(LAYERS))
def test_fused_layer_under_a_trace_shows_steps_and_per_step_contributions(float64, mode):
    arrays, layer, tr = run(mode, "fused", {}, None, traced=True)
    assert tr.steps == 5
    assert [r.kind for r in tr.ops].count(f"{mode.lower()}_step") == 5
    hh = tr.contributions(layer.weight_hh_l0)
    assert [t for t, _ in hh] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(sum(g for _, g in hh), layer.weight_hh_l0.grad.numpy(), atol=1e-12)
    for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):   # the layer op reports each step
        weight = getattr(layer, name)
        shares = tr.contributions(weight)
        assert [t for t, _ in shares] == [0, 1, 2, 3, 4]
        np.testing.assert_allclose(sum(g for _, g in shares), weight.grad.numpy(), atol=1e-12)
    assert sorted(tr.state_grad_norms()) == [0, 1, 2, 3, 4]


def test_fused_layer_without_a_trace_is_one_op_per_direction():
    layer = nn.LSTM(3, 4, bidirectional=True)
    output, _ = layer(ts.randn(6, 2, 3))
    sequence_ops = []
    node_stack, seen = [output._node], set()
    while node_stack:
        node = node_stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, RecurrentLayer):
            sequence_ops.append(node)
        node_stack.extend(t._node for t in node.inputs if t._node is not None)
    assert len(sequence_ops) == 2


@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_final_state_is_apart_from_the_output_as_in_pytorch(impl, mode):
    layer = getattr(nn, mode)(3, 4, num_layers=2, impl=impl)
    output, final = layer(ts.randn(5, 2, 3))
    finals = final if mode == "LSTM" else (final,)
    last_output = output[-1].numpy().copy()
    np.testing.assert_array_equal(finals[0][-1].numpy(), last_output)   # h_n of the top layer
    with ts.no_grad():
        for state in finals:
            state.zero_()
    np.testing.assert_array_equal(output[-1].numpy(), last_output)


def test_unknown_impl_is_an_error():
    with pytest.raises(ValueError, match="impl must be 'fused' or 'primitive', got 'cuda'"):
        nn.GRU(3, 4, impl="cuda")


def test_fused_training_learns_like_primitive():
    losses, first_losses = {}, {}
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        layer, head = nn.GRU(1, 8, impl=impl), nn.Linear(8, 1)
        parameters = list(layer.parameters()) + list(head.parameters())
        optimizer = ts.optim.Adam(parameters, lr=1e-2)
        x = ts.randn(10, 16, 1)
        y = x.sum(axis=0)
        for step in range(30):
            output, _ = layer(x)
            loss = F.mse_loss(head(output[-1]), y)
            if step == 0:
                first_losses[impl] = loss.item()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses[impl] = loss.item()
    assert losses["fused"] == pytest.approx(losses["primitive"], rel=1e-4)
    assert losses["fused"] < first_losses["fused"] / 2


@pytest.mark.parametrize("mode", list(LAYERS))
def test_fused_layer_leaves_its_weights_as_they_were(mode):
    """Forward and backward read the weights and write only their own buffers (with hidden
    size 1 a gate block's transpose is a view of W_hh itself)."""
    ts.manual_seed(0)
    layer = LAYERS[mode](2, 1)
    before = [p.numpy().copy() for p in layer.parameters()]
    output, _ = layer(ts.randn(3, 2, 2))
    output.sum().backward()
    for parameter, kept in zip(layer.parameters(), before):
        np.testing.assert_array_equal(parameter.numpy(), kept)


def test_fused_lstm_with_hidden_size_one_equals_primitive(float64):
    results = []
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        layer = nn.LSTM(2, 1, impl=impl)
        x = ts.randn(4, 3, 2, requires_grad=True)
        output, (h_n, c_n) = layer(x)
        (output.sum() + (c_n ** 2).sum()).backward()
        results.append([output.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)

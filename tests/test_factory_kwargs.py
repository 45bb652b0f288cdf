"""PyTorch's ``device=`` and ``dtype=`` on module constructors (``nn.Linear(3, 4,
dtype=torch.float64)``): parameters and buffers are made in that dtype on that device.

tinyseq draws the initial values as it does without the arguments (in the default dtype, from
the CPU generator) and then casts and moves them, so under one seed ``nn.Linear(3, 4,
dtype=float64)`` holds exactly ``nn.Linear(3, 4)``'s values as float64. PyTorch draws in the
target dtype instead; its values are not compared, its forward passes are (same weights)."""
import math

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import backend, nn
from tinyseq.nn import init
from test_device_standin import StandinArray, standin  # noqa: F401  (standin is a fixture)

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")

_rng = np.random.default_rng(17)


def values(*shape):
    return _rng.uniform(-2.0, 2.0, size=shape)


# name -> (build(nn_package, **factory) for tinyseq.nn and torch.nn alike, the inputs as NumPy
# arrays); every module of tinyseq.nn with a PyTorch counterpart that makes parameters or buffers
MODULES = {
    "Linear": (lambda n, **kw: n.Linear(3, 4, **kw), lambda: [values(2, 3)]),
    "Embedding": (lambda n, **kw: n.Embedding(10, 3, padding_idx=0, **kw),
                  lambda: [np.array([[1, 0, 9], [4, 4, 2]])]),
    "LayerNorm": (lambda n, **kw: n.LayerNorm(4, **kw), lambda: [values(2, 3, 4)]),
    "BatchNorm1d": (lambda n, **kw: n.BatchNorm1d(3, **kw), lambda: [values(5, 3)]),
    "BatchNorm2d": (lambda n, **kw: n.BatchNorm2d(2, **kw), lambda: [values(2, 2, 3, 3)]),
    "Conv2d": (lambda n, **kw: n.Conv2d(2, 3, 3, padding=1, **kw), lambda: [values(2, 2, 4, 4)]),
    "RNNCell": (lambda n, **kw: n.RNNCell(3, 4, nonlinearity="relu", **kw),
                lambda: [values(2, 3), values(2, 4)]),
    "LSTMCell": (lambda n, **kw: n.LSTMCell(3, 4, **kw), lambda: [values(2, 3)]),
    "GRUCell": (lambda n, **kw: n.GRUCell(3, 4, **kw), lambda: [values(2, 3), values(2, 4)]),
    "RNN": (lambda n, **kw: n.RNN(3, 4, num_layers=2, bidirectional=True, **kw),
            lambda: [values(5, 2, 3)]),
    "LSTM": (lambda n, **kw: n.LSTM(3, 4, num_layers=2, **kw), lambda: [values(5, 2, 3)]),
    "GRU": (lambda n, **kw: n.GRU(3, 4, batch_first=True, **kw), lambda: [values(2, 5, 3)]),
}
NAMES = list(MODULES)


def build(name, **factory):
    return MODULES[name][0](nn, **factory)


def ts_inputs(arrays, dtype):
    return [ts.tensor(a) if a.dtype.kind == "i" else ts.tensor(a, dtype=dtype) for a in arrays]


def flat_arrays(output):
    """The NumPy arrays of an output: a tensor or nested tuples of them (LSTM's)."""
    if isinstance(output, (tuple, list)):
        return [a for part in output for a in flat_arrays(part)]
    return [output.detach().numpy() if torch is not None and isinstance(output, torch.Tensor)
            else output.numpy()]


def torch_module(name, **factory):
    """The PyTorch module of ``name``, built without moving torch's global generator: later
    tests that draw PyTorch weights unseeded see the same ones whether these ran or not."""
    with torch.random.fork_rng(devices=[]):
        return MODULES[name][0](torch.nn, **factory)


def state_arrays(module):
    return {key: value.numpy() for key, value in module.state_dict().items()}


@pytest.mark.parametrize("name", NAMES)
def test_float64_holds_the_default_draws_cast(name):
    ts.manual_seed(5)
    default = build(name)
    ts.manual_seed(5)
    double = build(name, dtype=ts.float64)
    expected, got = state_arrays(default), state_arrays(double)
    assert list(got) == list(expected)
    for key, array in got.items():
        # num_batches_tracked is a count: int64 whatever the dtype, as in PyTorch
        assert array.dtype == (np.int64 if key == "num_batches_tracked" else np.float64), key
        np.testing.assert_array_equal(array, expected[key].astype(array.dtype), err_msg=key)
    assert all(p.requires_grad for p in double.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_float64_forward_equals_the_float32_module_converted(name):
    ts.manual_seed(6)
    converted = build(name).double()
    ts.manual_seed(6)
    double = build(name, dtype=ts.float64)
    arrays = MODULES[name][1]()
    got = flat_arrays(double(*ts_inputs(arrays, ts.float64)))
    expected = flat_arrays(converted(*ts_inputs(arrays, ts.float64)))
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == np.float64
        np.testing.assert_array_equal(g, e)
    # and the float32 module computes the same up to float32 rounding
    ts.manual_seed(6)
    single = build(name)
    rounded = flat_arrays(single(*ts_inputs(arrays, ts.float32)))
    for g, r in zip(got, rounded, strict=True):
        assert r.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_float64_forward_matches_pytorch(name):
    mine = build(name, dtype=ts.float64)
    theirs = torch_module(name, dtype=torch.float64)
    theirs.load_state_dict({key: torch.from_numpy(array.copy())
                            for key, array in state_arrays(mine).items()})
    assert all(p.dtype == torch.float64 for p in theirs.parameters())
    arrays = MODULES[name][1]()
    got = flat_arrays(mine(*ts_inputs(arrays, ts.float64)))
    expected = flat_arrays(theirs(*[torch.from_numpy(a) for a in arrays]))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_device_cpu_gives_the_same_module(name):
    ts.manual_seed(7)
    expected = state_arrays(build(name))
    for device in ("cpu", ts.device("cpu")):
        ts.manual_seed(7)
        module = build(name, device=device)
        got = state_arrays(module)
        for key, array in got.items():
            assert type(array) is np.ndarray
            np.testing.assert_array_equal(array, expected[key], err_msg=key)
        assert all(p.device == "cpu" for p in module.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_device_standin_moves_the_same_values_there(name, standin):
    ts.manual_seed(8)
    on_cpu = build(name, dtype=ts.float64)
    ts.manual_seed(8)
    there = build(name, device="standin", dtype=ts.float64)
    for (key, tensor), expected in zip(there.state_dict().items(), state_arrays(on_cpu).values()):
        assert type(tensor.array) is StandinArray, key
        np.testing.assert_array_equal(backend.to_numpy(tensor.array), expected, err_msg=key)
    arrays = MODULES[name][1]()
    got = flat_arrays(there(*[t.to("standin") for t in ts_inputs(arrays, ts.float64)]))
    expected = flat_arrays(on_cpu(*ts_inputs(arrays, ts.float64)))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(backend.cuda_available(), reason="checks the error without a GPU")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_without_a_gpu_is_the_usual_error(name):
    with pytest.raises(RuntimeError) as usual:
        ts.zeros(2, device="cuda")
    before = ts.random.get_state()
    with pytest.raises(RuntimeError) as error:
        build(name, device="cuda")
    assert str(error.value) == str(usual.value)
    assert "CuPy and a GPU" in str(error.value)
    assert ts.random.get_state() == before


@pytest.mark.parametrize("dtype", [ts.int64, ts.int32, ts.bool, "int64"])
@pytest.mark.parametrize("name", NAMES)
def test_a_non_floating_dtype_is_refused_before_anything_is_drawn(name, dtype):
    before = ts.random.get_state()
    with pytest.raises(RuntimeError, match=rf"^{name}: dtype must be a floating point dtype "
                                           rf"\(parameters require gradients\), got dtype "
                                           rf"{np.dtype(dtype)}$"):
        build(name, dtype=dtype)
    assert ts.random.get_state() == before


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_pytorch_refuses_an_integer_dtype_too(name):
    with pytest.raises(RuntimeError, match="floating point"):
        torch_module(name, dtype=torch.int64)


@pytest.mark.parametrize("dtype", ["banana", 3.5, object()])
def test_a_dtype_that_is_no_dtype_is_a_type_error(dtype):
    with pytest.raises(TypeError, match=r"^LSTM: dtype must be a dtype such as tinyseq.float64, "
                                        r"got "):
        nn.LSTM(3, 4, dtype=dtype)


def test_float16_and_numpy_and_string_dtypes():
    assert nn.Linear(3, 4, dtype=ts.float16).weight.dtype == ts.float16
    assert nn.GRU(3, 4, dtype=np.float64).weight_hh_l0.dtype == ts.float64
    assert nn.LayerNorm(4, dtype="float64").bias.dtype == ts.float64


def test_the_draws_are_in_the_default_dtype_then_cast(float64):
    ts.manual_seed(9)
    double = nn.Linear(3, 4)
    ts.manual_seed(9)
    single = nn.Linear(3, 4, dtype=ts.float32)
    assert double.weight.dtype == ts.float64 and single.weight.dtype == ts.float32
    np.testing.assert_array_equal(single.weight.numpy(),
                                  double.weight.numpy().astype(np.float32))
    np.testing.assert_array_equal(single.bias.numpy(), double.bias.numpy().astype(np.float32))


def test_the_default_draws_are_unchanged():
    ts.manual_seed(10)
    bound = 1 / math.sqrt(3)     # a Python float, as Linear uses: the draw stays float32
    weight, bias = init.uniform((4, 3), bound), init.uniform((4,), bound)
    ts.manual_seed(10)
    linear = nn.Linear(3, 4)
    np.testing.assert_array_equal(linear.weight.numpy(), weight)
    np.testing.assert_array_equal(linear.bias.numpy(), bias)
    ts.manual_seed(10)
    table = init.normal((5, 2))
    table[1] = 0
    ts.manual_seed(10)
    np.testing.assert_array_equal(nn.Embedding(5, 2, 1).weight.numpy(), table)


def test_positional_arguments_keep_their_meaning():
    assert nn.Linear(3, 4, False).bias is None
    linear = nn.Linear(3, 4, True, "cpu", ts.float64)     # PyTorch's positions
    assert linear.bias.dtype == ts.float64 and linear.weight.shape == (4, 3)
    assert nn.Embedding(10, 3, 2).padding_idx == 2
    embedding = nn.Embedding(10, 3, None, None, 2.0, False, False, None, False, "cpu", ts.float64)
    assert embedding.weight.dtype == ts.float64
    norm = nn.LayerNorm(4, 1e-3, True, False, "cpu", ts.float64)
    assert (norm.eps, norm.bias, norm.weight.dtype) == (1e-3, None, ts.float64)
    batch_norm = nn.BatchNorm1d(3, 1e-3, 0.2, False, False, "cpu", ts.float64)
    assert (batch_norm.eps, batch_norm.momentum, batch_norm.weight) == (1e-3, 0.2, None)
    assert batch_norm.running_mean is None
    conv = nn.Conv2d(2, 4, 3, 2, 1, 2, 2, False, "reflect")
    assert (conv.stride, conv.padding, conv.dilation, conv.groups, conv.bias,
            conv.padding_mode) == ((2, 2), (1, 1), (2, 2), 2, None, "reflect")
    conv = nn.Conv1d(2, 4, 3, 1, 0, 1, 1, True, "zeros", "cpu", ts.float64)
    assert conv.weight.dtype == ts.float64 and nn.Conv2d(
        2, 4, 3, 1, 0, 1, 1, True, "zeros", "cpu", ts.float64).weight.dtype == ts.float64
    cell = nn.RNNCell(3, 4, False, "relu", "cpu", ts.float64)
    assert (cell.bias_ih, cell.nonlinearity, cell.weight_ih.dtype) == (None, "relu", ts.float64)
    assert nn.LSTMCell(3, 4, False, None, ts.float64).weight_hh.dtype == ts.float64
    rnn = nn.RNN(3, 4, 2, "relu", False, True, 0.0, True, 0, "cpu", ts.float64, impl="primitive")
    assert (rnn.num_layers, rnn.nonlinearity, rnn.bias, rnn.batch_first, rnn.bidirectional,
            rnn.impl, rnn.weight_ih_l0.dtype) == (2, "relu", False, True, True, "primitive",
                                                  ts.float64)
    gru = nn.GRU(3, 4, 1, True, True, 0.0, False, 0, "cpu", ts.float64, impl="fused")
    assert gru.batch_first and gru.impl == "fused" and gru.weight_hh_l0.dtype == ts.float64
    lstm = nn.LSTM(3, 4, 1, True, False, 0.0, False, 2, "cpu", ts.float64)
    assert lstm.proj_size == 2 and lstm.weight_hr_l0.dtype == ts.float64


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_of_a_float64_module(name, tmp_path):
    saved = build(name, dtype=ts.float64)
    # values no fresh module holds (norms start at ones and zeros), in place: the state_dict
    # shares the arrays
    for tensor in saved.state_dict().values():
        tensor.array[...] = values(*tensor.shape) if tensor.dtype == ts.float64 else 3
    ts.save(saved.state_dict(), tmp_path / "state.pt")
    loaded = build(name, dtype=ts.float64)
    loaded.load_state_dict(ts.load(tmp_path / "state.pt"))
    expected = state_arrays(saved)
    for key, array in state_arrays(loaded).items():
        assert array.dtype == expected[key].dtype, key
        np.testing.assert_array_equal(array, expected[key], err_msg=key)


def test_embedding_from_a_given_weight_keeps_its_dtype():
    weight = ts.tensor(values(4, 2), dtype=ts.float64)
    embedding = nn.Embedding.from_pretrained(weight)
    assert embedding.weight.dtype == ts.float64
    np.testing.assert_array_equal(embedding.weight.numpy(), weight.numpy())


@pytest.mark.parametrize("method", ["dot", "general", "additive"])
def test_attention_in_float64(method):
    ts.manual_seed(13)
    converted = nn.Attention(4, 4, method).double()
    ts.manual_seed(13)
    double = nn.Attention(4, 4, method, dtype=ts.float64, device="cpu")
    assert all(p.dtype == ts.float64 for p in double.parameters())
    for (key, p), q in zip(double.named_parameters(), converted.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=key)
    query, keys = ts.tensor(values(2, 4)), ts.tensor(values(2, 3, 4))
    mask = np.array([[True, True, False], [True, True, True]])
    context, weights = double(query, keys, mask)
    expected_context, expected_weights = converted(query, keys, mask)
    assert context.dtype == ts.float64
    np.testing.assert_array_equal(context.numpy(), expected_context.numpy())
    np.testing.assert_array_equal(weights.numpy(), expected_weights.numpy())
    assert weights.numpy()[0, 2] == 0
    with pytest.raises(RuntimeError, match="^Attention: dtype must be a floating point dtype"):
        nn.Attention(4, 4, method, dtype=ts.int64)


@pytest.mark.parametrize("cell, attention", [("lstm", "additive"), ("gru", None)])
def test_seq2seq_in_float64(cell, attention):
    settings = dict(embedding_dim=4, hidden_size=5, num_layers=2, cell=cell, attention=attention,
                    bidirectional=True)
    ts.manual_seed(14)
    converted = nn.Seq2Seq(7, 8, **settings).double()
    ts.manual_seed(14)
    double = nn.Seq2Seq(7, 8, **settings, dtype=ts.float64)
    for (key, p), q in zip(double.state_dict().items(), converted.state_dict().values()):
        assert p.dtype == ts.float64, key
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=key)
    source = np.array([[1, 3, 4, 5], [1, 6, 2, 0]])
    target = np.array([[1, 4, 3, 2], [1, 5, 2, 0]])
    logits, weights = double(source, target)
    expected_logits, expected_weights = converted(source, target)
    assert logits.dtype == ts.float64
    np.testing.assert_array_equal(logits.numpy(), expected_logits.numpy())
    if attention is not None:
        assert weights.dtype == ts.float64
        np.testing.assert_array_equal(weights.numpy(), expected_weights.numpy())
    loss = double.loss(logits, target)
    loss.backward()
    assert loss.dtype == ts.float64 and np.isfinite(loss.item())
    assert all(p.grad.dtype == ts.float64 for p in double.parameters() if p.grad is not None)
    before = ts.random.get_state()
    with pytest.raises(RuntimeError, match="^Seq2Seq: dtype must be a floating point dtype"):
        nn.Seq2Seq(7, 8, **settings, dtype=ts.int32)
    assert ts.random.get_state() == before

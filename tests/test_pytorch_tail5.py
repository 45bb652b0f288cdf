"""What PyTorch sequence-model scripts use that tinyseq lacked or read differently: the
recurrent layers' and cells' ``input``/``hx`` keywords, PyTorch's warning for dropout on one
layer, a uint8 index read as a mask, negative gather / index_select indices refused,
``div(rounding_mode=)``, one-argument ``where``, ``load_state_dict``'s named result, Module's
``requires_grad_``, ``add_module``, ``register_parameter`` and forward hooks, the comparison
functions, ``clone``, ``masked_select``, ``isinf``, ``finfo``/``iinfo``, ``Size.numel``, the
constants, the seeding boilerplate (``cuda.manual_seed_all``, ``backends.cudnn``), Dropout's
``inplace``, the adaptive 1-D pools, ``pack_sequence``/``unpad_sequence``, ``unfold``,
``index_fill``, ``stride``, ``unique``, ``count_nonzero``, ``all_weights`` and GLU.

PyTorch is the oracle where it is installed; every test also asserts values of its own."""
import inspect
import math
import warnings

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn

from gradcheck import gradcheck


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_recurrent_forward_takes_pytorch_s_keywords(name):
    layer = getattr(nn, name)(3, 4)
    assert list(inspect.signature(layer.forward).parameters)[:2] == ["input", "hx"]
    x = ts.randn(5, 2, 3) if not name.endswith("Cell") else ts.randn(2, 3)
    state = ts.randn(*((1, 2, 4) if not name.endswith("Cell") else (2, 4)))
    hx = (state, state) if name.startswith("LSTM") else state
    by_keyword, by_position = layer(input=x, hx=hx), layer(x, hx)
    first = (lambda out: out[0]) if not name.endswith("Cell") or name == "LSTMCell" else \
        (lambda out: out)
    np.testing.assert_array_equal(first(by_keyword).numpy(), first(by_position).numpy())


def test_recurrent_keywords_as_torch(torch):
    for name in ("LSTM", "GRUCell"):
        ours = list(inspect.signature(getattr(nn, name).forward).parameters)[1:3]
        theirs = list(inspect.signature(getattr(torch.nn, name).forward).parameters)[1:3]
        assert ours == theirs == ["input", "hx"]


def test_dropout_on_one_layer_warns_as_pytorch_and_input_size_zero_is_refused():
    with pytest.warns(UserWarning, match=r"LSTM: dropout adds dropout after all but the last "
                                         r"recurrent layer.*dropout=0.5 and num_layers=1"):
        nn.LSTM(4, 6, 1, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(4, 6, 2, dropout=0.5)
        nn.RNN(4, 6, 1, dropout=0.0)
    with pytest.raises(ValueError, match=r"LSTM: input_size must be a positive int, got 0"):
        nn.LSTM(0, 5)


def test_uint8_index_is_a_mask_as_pytorch(torch):
    mask = np.array([1, 0, 1], dtype=np.uint8)
    x = ts.tensor([1.0, 2.0, 3.0])
    with pytest.warns(UserWarning, match="indexing with a uint8 tensor is deprecated"):
        got = x[ts.tensor(mask)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.tensor([1.0, 2.0, 3.0])[torch.tensor(mask)]
        x[ts.tensor(mask)] = 0.0
    assert got.tolist() == expected.tolist() == [1.0, 3.0]
    assert x.tolist() == [0.0, 2.0, 0.0]
    assert ts.tensor([5.0, 6.0])[[1, 0]].tolist() == [6.0, 5.0]     # a list stays indices


@pytest.mark.parametrize("call", [lambda m, x: x.gather(1, m.tensor([[0], [-1]])),
                                  lambda m, x: x.index_select(1, m.tensor([-1])),
                                  lambda m, x: x.gather(1, m.tensor([[0], [3]]))])
def test_gather_and_index_select_refuse_negative_indices_as_torch(torch, call):
    with pytest.raises((IndexError, RuntimeError)):
        call(torch, torch.arange(6.0).view(2, 3))
    with pytest.raises(IndexError, match=r"(gather|index_select): index (-1|3) is out of bounds "
                                         r"for dimension 1 with size 3"):
        call(ts, ts.arange(6.0).view(2, 3))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize("a, b", [([7.0, -7.0, 7.5, -0.5], 2.0), ([7, -7, 6, -6, 0], 2),
                                  ([7, -7, 9], -2), ([7, -7], [[2], [-3]]), (5, [2, -3])])
def test_div_rounding_modes_as_torch(torch, mode, a, b):
    def run(lib):
        tensor = lib.tensor
        left = tensor(a) if isinstance(a, list) else a
        right = tensor(b) if isinstance(b, list) else b
        return lib.div(left, right, rounding_mode=mode)
    ours, theirs = run(ts), run(torch)
    assert ours.tolist() == theirs.tolist()
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def test_div_rounding_by_hand_and_errors():
    x = ts.tensor([7, -7])
    assert x.div(2, rounding_mode="floor").tolist() == [3, -4]
    assert ts.divide(x, 2, rounding_mode="trunc").tolist() == [3, -3]
    assert ts.div(x, 2).tolist() == [3.5, -3.5]
    big = 2 ** 60 + 3                     # exact for integers past float's 53 bits
    assert ts.div(ts.tensor([big, -big]), 2, rounding_mode="trunc").tolist() == \
        [big // 2, -(big // 2)]
    with pytest.raises(ValueError, match=r"div: rounding_mode must be None, 'trunc' or 'floor', "
                                         r"got 'round'"):
        ts.div(x, 2, rounding_mode="round")
    with pytest.raises(ZeroDivisionError, match=r"div\(rounding_mode='trunc'\): integer "
                                                r"division by zero"):
        ts.div(x, 0, rounding_mode="trunc")


def test_where_with_the_condition_alone_gives_indices():
    condition = ts.tensor([[0, 3], [2, 0]]) > 0
    rows, columns = ts.where(condition)
    assert rows.tolist() == [0, 1] and columns.tolist() == [1, 0]
    with pytest.raises(TypeError, match="where: give the condition alone, or the condition, a "
                                        "and b"):
        ts.where(condition, 1.0)


def test_module_methods_as_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    result = model.load_state_dict(model.state_dict(), strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == [] and tuple(result) == ([], [])
    assert model.requires_grad_(False) is model
    assert [p.requires_grad for p in model.parameters()] == [False, False]
    model.add_module("head", nn.Linear(3, 1))
    assert [name for name, _ in model.named_parameters()][-2:] == ["head.weight", "head.bias"]
    linear = nn.Linear(2, 2)
    linear.register_parameter("bias", None)
    assert linear.bias is None and [name for name, _ in linear.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(linear(ts.ones(1, 2)).numpy(),
                                  linear.weight.numpy().sum(1, keepdims=True).T)
    with pytest.raises(KeyError, match=r"add_module: the name must be a non-empty string "
                                       r"without '.', got 'a.b'"):
        model.add_module("a.b", nn.ReLU())
    with pytest.raises(TypeError, match=r"register_parameter: 'w' must be a Parameter or None, "
                                        r"got Tensor"):
        linear.register_parameter("w", ts.ones(2))


def test_forward_hooks_see_and_replace_the_output_and_come_off():
    layer = nn.Linear(2, 3)
    seen = []
    first = layer.register_forward_hook(lambda module, args, output: seen.append(
        (module is layer, len(args), tuple(output.shape))))
    second = layer.register_forward_hook(lambda module, args, output: output * 0)
    x = ts.randn(4, 2)
    assert layer(x).abs().sum().item() == 0.0 and seen == [(True, 1, (4, 3))]
    second.remove()
    assert layer(x).abs().sum().item() > 0 and len(seen) == 2
    first.remove()
    layer(x)
    assert len(seen) == 2
    with ts.trace():                                     # observed calls run the hooks too
        layer.register_forward_hook(lambda module, args, output: output + 1)
        np.testing.assert_allclose((layer(x) - 1).numpy(), (x @ layer.weight.T +
                                                            layer.bias).numpy(), atol=1e-6)


def test_comparison_functions_clone_masked_select_isinf(torch):
    values = [1.0, math.inf, -2.0, math.nan, -math.inf]
    x, t = ts.tensor(values), torch.tensor(values)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        assert getattr(ts, name)(x, 1.0).tolist() == getattr(torch, name)(t, 1.0).tolist()
    assert ts.isinf(x).tolist() == torch.isinf(t).tolist() == [False, True, False, False, True]
    assert ts.isinf(ts.tensor([1, 2])).tolist() == [False, False]
    assert ts.masked_select(x, x > 0).tolist() == [1.0, math.inf]
    leaf = ts.tensor([1.0, 2.0], requires_grad=True)
    (ts.clone(leaf) * 3).sum().backward()
    assert leaf.grad.tolist() == [3.0, 3.0]


def test_finfo_iinfo_size_numel_and_constants(torch):
    assert ts.finfo(ts.float32).min == torch.finfo(torch.float32).min
    assert ts.finfo().eps == torch.finfo().eps == np.finfo(np.float32).eps
    assert ts.finfo(ts.float64).tiny == torch.finfo(torch.float64).tiny
    assert ts.iinfo(ts.int64).max == torch.iinfo(torch.int64).max
    with pytest.raises(TypeError, match="finfo: expected a floating dtype, got int64"):
        ts.finfo(ts.int64)
    with pytest.raises(TypeError, match="iinfo: expected an integer dtype, got float32"):
        ts.iinfo(ts.float32)
    assert ts.zeros(2, 3, 4).size().numel() == 24 and ts.zeros(0, 3).shape.numel() == 0
    assert (ts.inf, ts.pi, ts.e) == (math.inf, math.pi, math.e) and math.isnan(ts.nan)
    scores = ts.tensor([[0.5, 2.0]]).masked_fill(ts.tensor([[False, True]]),
                                                  ts.finfo(ts.float32).min)
    assert ts.softmax(scores, -1).tolist() == [[1.0, 0.0]]


def test_seeding_boilerplate_runs():
    ts.manual_seed(0)
    ts.cuda.manual_seed(0)                   # no GPU here: nothing happens, as in PyTorch
    ts.cuda.manual_seed_all(0)
    ts.backends.cudnn.deterministic = True
    ts.backends.cudnn.benchmark = False
    assert ts.backends.cudnn.deterministic and not ts.backends.cudnn.is_available()
    first = ts.randn(3).tolist()
    ts.manual_seed(0)
    assert ts.randn(3).tolist() == first


def test_dropout_inplace_clamp_min_max_and_ndimension(torch):
    assert repr(nn.Dropout(0.1)) == repr(torch.nn.Dropout(0.1)) == "Dropout(p=0.1, inplace=False)"
    x = ts.ones(1000)
    ts.manual_seed(0)
    assert ts.functional.dropout(x, 0.5, True, True) is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    assert nn.Dropout(0.3, inplace=True).eval()(x) is x
    values = ts.tensor([-2.0, 0.5, 3.0])
    assert values.clamp_min(0.0).tolist() == [0.0, 0.5, 3.0]
    assert values.clamp_max(1.0).tolist() == [-2.0, 0.5, 1.0]
    assert ts.zeros(2, 3, 4).ndimension() == 3


@pytest.mark.parametrize("name", ["adaptive_max_pool1d", "adaptive_avg_pool1d"])
@pytest.mark.parametrize("output_size, shape", [(1, (2, 3, 10)), (3, (2, 3, 10)),
                                                (4, (1, 2, 7)), (9, (3, 6)), (12, (1, 1, 5))])
def test_adaptive_pools_match_torch(torch, name, output_size, shape):
    x = np.random.default_rng(output_size).standard_normal(shape)
    theirs = torch.tensor(x, requires_grad=True)
    expected = getattr(torch.nn.functional, name)(theirs, output_size)
    weights = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    ours = ts.tensor(x, requires_grad=True)
    got = getattr(ts.functional, name)(ours, output_size)
    (got * ts.tensor(weights)).sum().backward()
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
    module = "AdaptiveMaxPool1d" if "max" in name else "AdaptiveAvgPool1d"
    assert repr(getattr(nn, module)(output_size)) == repr(getattr(torch.nn, module)(output_size))


def test_adaptive_pools_by_hand_and_errors():
    x = ts.tensor([[[1.0, 5.0, 2.0, 4.0, 3.0]]])
    assert ts.functional.adaptive_max_pool1d(x, 1).tolist() == [[[5.0]]]      # max over time
    # windows [0, 3) and [2, 5) split 5 steps in 2
    assert ts.functional.adaptive_max_pool1d(x, 2).tolist() == [[[5.0, 4.0]]]
    np.testing.assert_allclose(ts.functional.adaptive_avg_pool1d(x, 2).numpy(), [[[8 / 3, 3.0]]])
    with pytest.raises(NotImplementedError, match="AdaptiveMaxPool1d: return_indices=True"):
        nn.AdaptiveMaxPool1d(1, return_indices=True)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool1d: output_size must be at least 1"):
        ts.functional.adaptive_avg_pool1d(x, 0)
    with pytest.raises(ValueError, match=r"adaptive_max_pool1d: expected input \(N, C, L\) or "
                                         r"\(C, L\) with channels and length, got \(1, 1, 0\)"):
        ts.functional.adaptive_max_pool1d(ts.zeros(1, 1, 0), 1)


def test_pack_sequence_and_unpad_sequence_as_torch(torch):
    arrays = [np.random.default_rng(i).standard_normal((n, 3)) for i, n in enumerate([4, 2, 5])]
    ours = nn.utils.rnn.pack_sequence([ts.tensor(a) for a in arrays], enforce_sorted=False)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(a) for a in arrays],
                                              enforce_sorted=False)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for batch_first in (False, True):
        padded = nn.utils.rnn.pad_sequence([ts.tensor(a) for a in arrays], batch_first)
        pieces = nn.utils.rnn.unpad_sequence(padded, ts.tensor([4, 2, 5]), batch_first)
        assert [tuple(p.shape) for p in pieces] == [(4, 3), (2, 3), (5, 3)]
        for piece, array in zip(pieces, arrays):
            np.testing.assert_array_equal(piece.numpy(), array)
    with pytest.raises(ValueError, match=r"unpad_sequence: lengths \[4, 2, 6\] exceed the 5"):
        nn.utils.rnn.unpad_sequence(padded, [4, 2, 6], batch_first=True)


@pytest.mark.parametrize("args", [(2, 2, 1), (2, 3, 1), (1, 2, 1), (0, 1, 1), (2, 4, 2),
                                  (2, 0, 1), (1, 3, 2), (-1, 2, 2)])
def test_unfold_matches_torch(torch, args):
    x = np.arange(24.0).reshape(2, 3, 4)
    theirs = torch.tensor(x, requires_grad=True)
    expected = theirs.unfold(*args)
    weights = np.random.default_rng(0).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    ours = ts.tensor(x, requires_grad=True)
    got = ours.unfold(*args)
    (got * ts.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(got.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=0, atol=1e-12)


def test_unfold_index_fill_stride_by_hand_and_errors():
    series = ts.arange(6.0)
    assert series.unfold(0, 3, 2).tolist() == [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    with pytest.raises(ValueError, match=r"unfold: size must be an int in \[0, 6\]"):
        series.unfold(0, 7, 1)
    with pytest.raises(ValueError, match="unfold: step must be a positive int, got 0"):
        series.unfold(0, 2, 0)
    x = ts.ones(2, 3, requires_grad=True)
    filled = x.index_fill(1, ts.tensor([0, 2]), -1.0)
    assert filled.tolist() == [[-1.0, 1.0, -1.0]] * 2
    (filled * 3).sum().backward()
    assert x.grad.tolist() == [[0.0, 3.0, 0.0]] * 2
    y = ts.zeros(2, 2)
    assert y.index_fill_(0, ts.tensor([1]), 5.0) is y and y.tolist() == [[0.0, 0.0], [5.0, 5.0]]
    with pytest.raises(IndexError, match="index_fill: index 3 is out of bounds for dimension 1"):
        x.index_fill(1, ts.tensor([3]), 0.0)
    assert ts.zeros(2, 3, 4).stride() == (12, 4, 1)
    assert ts.zeros(2, 3, 4).transpose(0, 2).stride() == (1, 4, 12)
    assert ts.zeros(2, 3, 4).stride(-1) == 1


def test_index_fill_matches_torch(torch):
    x = np.arange(12.0).reshape(3, 4)
    for dim, index in ((0, [0, 2]), (1, [3]), (-1, [1, 1])):
        got = ts.tensor(x).index_fill(dim, ts.tensor(index), -7.0)
        expected = torch.tensor(x).index_fill(dim, torch.tensor(index), -7.0)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_unique_count_nonzero_swapaxes_all_weights_glu(torch):
    ids = np.array([[3, 1, 3], [0, 2, 1]])
    ours = ts.unique(ts.tensor(ids), return_inverse=True, return_counts=True)
    theirs = torch.unique(torch.tensor(ids), return_inverse=True, return_counts=True)
    assert [t.tolist() for t in ours] == [t.tolist() for t in theirs]
    assert ts.tensor(ids).unique().tolist() == [0, 1, 2, 3]
    with pytest.raises(NotImplementedError, match="unique: dim=0 is not supported"):
        ts.unique(ts.tensor(ids), dim=0)
    assert ts.count_nonzero(ts.tensor(ids)).item() == 5
    assert ts.tensor(ids).count_nonzero(1).tolist() == torch.tensor(ids).count_nonzero(1).tolist()
    assert tuple(ts.swapaxes(ts.zeros(2, 3), 0, 1).shape) == (3, 2) == \
        tuple(ts.swapdims(ts.zeros(2, 3), 1, 0).shape)
    for build in (lambda m: m.LSTM(3, 4, 2, bidirectional=True, proj_size=2),
                  lambda m: m.GRU(3, 4, bias=False), lambda m: m.RNN(3, 4, 3)):
        assert [[tuple(w.shape) for w in ws] for ws in build(nn).all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in build(torch.nn).all_weights]
    layer = nn.LSTM(3, 4)
    assert layer.all_weights[0][0] is layer.weight_ih_l0
    x = np.random.default_rng(0).standard_normal((2, 6))
    np.testing.assert_allclose(ts.functional.glu(ts.tensor(x)).numpy(),
                               torch.nn.functional.glu(torch.tensor(x)).numpy(), atol=1e-15)
    np.testing.assert_allclose(nn.GLU(0)(ts.tensor(x.T)).numpy(),
                               torch.nn.GLU(0)(torch.tensor(x.T)).numpy(), atol=1e-15)
    assert repr(nn.GLU()) == repr(torch.nn.GLU()) == "GLU(dim=-1)"
    with pytest.raises(ValueError, match=r"glu: the halved dim must have an even size, got dim "
                                         r"-1 of shape \(2, 5\)"):
        ts.functional.glu(ts.zeros(2, 5))


def test_glu_gradcheck():
    x = ts.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    gradcheck(lambda x: ts.functional.glu(x, 1), [x])

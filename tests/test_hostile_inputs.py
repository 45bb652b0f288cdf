"""Inputs of issue 24 that got a wrong answer or an unclear error: each now gets PyTorch's answer
or an error naming the function and the offending value, raised before anything is traced or
changed (each error test checks that nothing changed). PyTorch is the oracle where it has the
behaviour."""
import json
import math
import os
import stat

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import cli, nn, optim
from tinyseq.datasets import SineWave

torch = pytest.importorskip("torch")


def snapshot(*modules):
    return [{k: p.numpy().copy() for k, p in m.named_parameters()} for m in modules]


def assert_unchanged(before, *modules):
    for saved, m in zip(before, modules):
        for k, p in m.named_parameters():
            np.testing.assert_array_equal(p.numpy(), saved[k])


# --- time steps ------------------------------------------------------------------------------
INTEGER_TYPES = [int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                 np.uint64, np.intp]


@pytest.mark.parametrize("kind", INTEGER_TYPES, ids=lambda k: k.__name__)
def test_timestep_takes_any_integer_type_as_a_python_int(kind):
    """``for t in np.arange(T): with ts.timestep(t):`` tags ops with plain ints, which JSON
    (the explorer's page) and DOT take as they are."""
    x = ts.randn(2, requires_grad=True)
    with ts.trace() as tr:
        for t in np.arange(3).astype(kind):
            with ts.timestep(t):
                x = x * 2
    steps = [op.time_step for op in tr.ops if op.time_step is not None]
    assert steps == [0, 1, 2] and all(type(t) is int for t in steps)
    assert json.dumps(steps) == "[0, 1, 2]"


@pytest.mark.parametrize("bad, error, text", [
    (1.0, TypeError, "timestep: t must be an int, got 1.0"),
    (np.float32(2), TypeError, "timestep: t must be an int, got np.float32"),
    (True, TypeError, "timestep: t must be an int, got True"),
    (np.bool_(True), TypeError, "timestep: t must be an int"),
    ("3", TypeError, "timestep: t must be an int, got '3'"),
    (None, TypeError, "timestep: t must be an int, got None"),
    (-1, ValueError, "timestep: t must be a non-negative int, got -1"),
])
def test_timestep_refuses_floats_bools_and_negatives_before_tagging_anything(bad, error, text):
    x = ts.randn(2, requires_grad=True)
    with ts.trace() as tr:
        with pytest.raises(error, match=text.replace("(", r"\(").replace(".", r"\.")):
            with ts.timestep(bad):
                x = x * 2
        x = x * 3
    assert [op.time_step for op in tr.ops] == [None]   # nothing ran tagged with it


# --- the command line ------------------------------------------------------------------------
@pytest.fixture
def no_tracing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("traced before the output path was checked")
    monkeypatch.setattr(cli, "traced_example", refuse)


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    return exit_.value.code, capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "directory", "proc", "sys", "dev"])
def test_cli_refuses_an_output_that_is_no_regular_file_before_tracing(tmp_path, capsys,
                                                                      no_tracing, kind):
    if kind == "fifo":
        output = tmp_path / "pipe.svg"
        os.mkfifo(output)
    elif kind == "directory":
        output = tmp_path / "folder.svg"
        output.mkdir()
    else:
        output = {"proc": "/proc/self/bptt.svg", "sys": "/sys/bptt.svg",
                  "dev": "/dev/bptt.svg"}[kind]
    code, err = run_cli(["render", "--steps", "2", "-o", str(output)], capsys)
    assert code == 2
    assert "argument -o/--output" in err and str(output) in err
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(output).st_mode)
    if kind == "directory":
        assert output.is_dir() and list(output.iterdir()) == []


# --- dtypes ------------------------------------------------------------------------------------
def test_products_refuse_mixed_dtypes_as_pytorch():
    a16, w32 = np.ones((2, 3), np.float16), np.ones((4, 3), np.float32)
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.functional.linear(torch.from_numpy(a16), torch.from_numpy(w32))
    with pytest.raises(TypeError, match=r"linear: operands of dtypes float16, float32"):
        F.linear(ts.tensor(a16), ts.tensor(w32))
    with pytest.raises(TypeError, match=r"matmul: operands of dtypes float16, float32"):
        ts.tensor(a16) @ ts.tensor(w32.T)
    layer = nn.Linear(3, 4)
    before = snapshot(layer)
    with pytest.raises(TypeError, match="linear: operands of dtypes float16, float32, float32"):
        layer(ts.tensor(a16))
    assert_unchanged(before, layer)


def test_elementwise_ops_promote_as_pytorch():
    got = ts.ones(2, dtype=np.float16) + ts.ones(2, dtype=np.float32)
    expected = torch.ones(2, dtype=torch.float16) + torch.ones(2, dtype=torch.float32)
    assert got.dtype == np.float32 and expected.dtype == torch.float32


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_recurrent_layers_refuse_float16_input_to_float32_weights_as_pytorch(mode, impl):
    x = np.zeros((4, 2, 3), np.float16)
    with pytest.raises(ValueError, match="input dtype .* does not match weight dtype"):
        getattr(torch.nn, mode)(3, 5)(torch.from_numpy(x))
    layer = getattr(nn, mode)(3, 5, impl=impl)
    before = snapshot(layer)
    with ts.trace() as tr:
        with pytest.raises(ValueError, match=f"{mode}: input dtype float16 does not match "
                                             f"weight dtype float32"):
            layer(ts.tensor(x))
    assert tr.ops == []
    assert_unchanged(before, layer)


@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_an_initial_state_of_another_dtype_is_refused_in_both_implementations(mode, impl):
    """The fused layers computed in the state's float64 (and returned float64) where the
    primitive ones failed in a product; PyTorch refuses the state before anything runs."""
    state = np.zeros((1, 2, 5))
    theirs = getattr(torch.nn, mode)(3, 5, dtype=torch.float32)
    their_state = torch.from_numpy(state)
    with pytest.raises(RuntimeError):
        theirs(torch.zeros(4, 2, 3, dtype=torch.float32),
               (their_state, their_state) if mode == "LSTM" else their_state)
    layer = getattr(nn, mode)(3, 5, impl=impl)
    ours = ts.tensor(state)
    before = snapshot(layer)
    with ts.trace() as tr:
        with pytest.raises(ValueError, match=f"{mode}: state dtype float64 does not match "
                                             f"weight dtype float32"):
            layer(ts.zeros(4, 2, 3), (ours, ours) if mode == "LSTM" else ours)
    assert tr.ops == []
    assert_unchanged(before, layer)
    cell = getattr(nn, f"{mode}Cell")(3, 5)
    with pytest.raises(ValueError, match=f"{mode}Cell: state dtype float64 does not match"):
        cell(ts.zeros(2, 3), (ours[0], ours[0]) if mode == "LSTM" else ours[0])


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_a_half_model_gives_float16_in_both_implementations(mode):
    x = ts.randn(5, 2, 3).half()
    outputs = []
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        layer = getattr(nn, mode)(3, 4, impl=impl).half()
        output, _ = layer(x)
        output.sum().backward()
        assert output.dtype == np.float16 and layer.weight_hh_l0.grad.dtype == np.float16
        outputs.append(output.numpy().astype(np.float32))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=2e-3)


# --- requires_grad on integers -----------------------------------------------------------------
@pytest.mark.parametrize("make, name", [
    (lambda: ts.zeros(2, 3, dtype=np.int64, requires_grad=True), "zeros"),
    (lambda: ts.ones(2, dtype=np.int32, requires_grad=True), "ones"),
    (lambda: ts.full((2,), 7, dtype=np.int64, requires_grad=True), "full"),
    (lambda: ts.empty(2, dtype=np.bool_, requires_grad=True), "empty"),
    (lambda: ts.tensor([1, 2], requires_grad=True), "tensor"),
    (lambda: ts.Tensor(ts.arange(3), requires_grad=True), "Tensor"),   # keeps int64, as Tensor(t) shares t
])
def test_integer_tensors_cannot_require_grad(make, name):
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        torch.zeros(2, 3, dtype=torch.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name}: only Tensors of floating point dtype can "
                                           f"require gradients, got dtype"):
        make()


def test_requires_grad_on_an_integer_tensor_is_refused_and_changes_nothing():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require"):
        torch.zeros(2, dtype=torch.int64).requires_grad_()
    ids = ts.zeros(2, dtype=np.int64)
    with pytest.raises(RuntimeError, match="requires_grad_: only Tensors of floating point "
                                           "dtype can require gradients, got dtype int64"):
        ids.requires_grad_()
    assert ids.requires_grad is False
    ids.requires_grad_(False)                                  # turning it off is fine
    assert ts.zeros(2).requires_grad_().requires_grad


# --- the Embedding's ids -----------------------------------------------------------------------
def test_ids_changed_in_place_after_forward_fail_backward_as_pytorch():
    weight = torch.nn.Embedding(5, 2)
    ids = torch.tensor([1, 2])
    out = weight(ids)
    ids[0] = 4
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()

    embedding = nn.Embedding(5, 2)
    ids = ts.tensor([1, 2])
    out = embedding(ids)
    ids[0] = 4
    with pytest.raises(RuntimeError, match=r"embedding backward: .* modified by an inplace "
                                           r"operation: the ids of shape \(2,\) are at version 1"):
        out.sum().backward()
    assert embedding.weight.grad is None


VIEW_CHANGES = {
    "the base of the ids' view": (lambda ids: ids[:], lambda ids, view: ids.__setitem__(0, 4)),
    "the base, through add_": (lambda ids: ids[0:2], lambda ids, view: ids.add_(1)),
    "a reshaped view's base": (lambda ids: ids.view(2, 1),
                               lambda ids, view: ids.__setitem__(1, 3)),
    "a view of the ids": (lambda ids: ids, lambda ids, view: ids[0:1].fill_(3)),
    "a transposed view": (lambda ids: ids.view(1, 2).t(), lambda ids, view: ids.zero_()),
}


@pytest.mark.parametrize("change", VIEW_CHANGES, ids=list(VIEW_CHANGES))
def test_ids_changed_through_a_view_or_its_base_fail_backward_as_pytorch(change):
    """A view shares its base's storage and version count, as in PyTorch: changing either
    after forward fails backward instead of sending the gradient to other rows."""
    make_view, modify = VIEW_CHANGES[change]
    for framework in (torch, ts):
        embedding = framework.nn.Embedding(5, 2)
        ids = framework.tensor([0, 1])
        view = make_view(ids)
        out = embedding(view)
        modify(ids, view)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
        assert embedding.weight.grad is None


def test_a_saved_view_changed_through_its_base_fails_backward_as_pytorch():
    for framework in (torch, ts):
        a = framework.ones(3, requires_grad=True)
        b = a * 2
        first_two = b[:2]
        squared = first_two * first_two              # saves the view for backward
        b[0] = 7.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            squared.sum().backward()


def test_an_ids_array_changed_after_forward_does_not_move_the_gradient():
    """An array is copied at forward (as torch.tensor copies it), so the gradient goes to the
    rows the forward read."""
    embedding = nn.Embedding(5, 2)
    ids = np.array([1, 2])
    out = embedding(ids)
    ids[0] = 4
    out.sum().backward()
    np.testing.assert_array_equal(embedding.weight.grad.numpy()[:, 0], [0, 1, 1, 0, 0])


# --- state dicts and checkpoints ---------------------------------------------------------------
@pytest.mark.parametrize("bad", ["model.safetensors", ["weight"], None, 3])
def test_load_state_dict_of_a_non_mapping_is_a_type_error(bad):
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        torch.nn.Linear(2, 2).load_state_dict(bad)
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    before = snapshot(model)
    with pytest.raises(TypeError, match=r"load_state_dict for Linear: expected a state dict "
                                        r"\(a mapping of names to tensors\), got"):
        model.load_state_dict(bad)
    with pytest.raises(TypeError, match=r"Adam.load_state_dict: expected the optimizer's state "
                                        r"dict"):
        opt.load_state_dict(bad)
    assert_unchanged(before, model)
    assert opt.param_groups[0]["lr"] == 0.1


def test_load_state_dict_of_a_path_says_to_load_the_file_first():
    with pytest.raises(TypeError, match=r"read a file with ts.load\(path\) first"):
        nn.Linear(2, 2).load_state_dict("model.safetensors")


@pytest.mark.parametrize("model, optimizer, text", [
    (None, None, "load_checkpoint: model must be a Module, got NoneType"),
    ("model", None, "load_checkpoint: model must be a Module, got str"),
    (nn.Linear(2, 2), "opt", "load_checkpoint: optimizer must be an Optimizer or None, got str"),
])
def test_load_checkpoint_without_a_model_is_a_type_error_before_reading(tmp_path, model,
                                                                        optimizer, text):
    path = tmp_path / "run.ckpt"
    ts.save_checkpoint(path, nn.Linear(2, 2), epoch=3)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=text):
        ts.load_checkpoint(path, model, optimizer)
    with pytest.raises(TypeError, match=text):                # before the path is even opened
        ts.load_checkpoint(tmp_path / "missing.ckpt", model, optimizer)
    assert path.read_bytes() == before


# --- empty batches -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("lengths", [None, []])
def test_a_batch_of_zero_runs_as_pytorch(mode, impl, lengths):
    theirs = getattr(torch.nn, mode)(3, 4, num_layers=2)
    out_theirs, state_theirs = theirs(torch.zeros(5, 0, 3))
    out_theirs.sum().backward()
    layer = getattr(nn, mode)(3, 4, num_layers=2, impl=impl)
    out, state = layer(ts.zeros(5, 0, 3), lengths=lengths)
    h, h_theirs = (state[0], state_theirs[0]) if mode == "LSTM" else (state, state_theirs)
    assert tuple(out.shape) == tuple(out_theirs.shape) == (5, 0, 4)
    assert tuple(h.shape) == tuple(h_theirs.shape) == (2, 0, 4)
    out.sum().backward()
    for name, p in layer.named_parameters():
        grad = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        np.testing.assert_array_equal(grad, dict(theirs.named_parameters())[name].grad.numpy())


# --- decoding ----------------------------------------------------------------------------------
def seq2seq():
    ts.manual_seed(0)
    return nn.Seq2Seq(6, 6, embedding_dim=4, hidden_size=4)


@pytest.mark.parametrize("call, text", [
    (lambda m, s: m.greedy_decode(s, max_len=0), "greedy_decode: max_len must be a positive "
                                                 "int, got 0"),
    (lambda m, s: m.greedy_decode(s, max_len=2.0), "greedy_decode: max_len must be an int"),
    (lambda m, s: m.beam_search(s, max_len=0), "beam_search: max_len must be a positive int"),
    (lambda m, s: m.beam_search(s, length_penalty=float("nan")),
     "beam_search: length_penalty must be finite, got nan"),
    (lambda m, s: m.beam_search(s, length_penalty=float("inf")),
     "beam_search: length_penalty must be finite, got inf"),
])
def test_decoding_refuses_values_that_decode_nothing(call, text):
    model = seq2seq()
    before = snapshot(model)
    with pytest.raises((ValueError, TypeError), match=text):
        call(model, np.array([[3, 4, 5]]))
    assert_unchanged(before, model)


def test_decoding_one_step_still_works():
    tokens, _ = seq2seq().greedy_decode(np.array([[3, 4, 5]]), max_len=1)
    assert len(tokens) == 1 and len(tokens[0]) <= 1


# --- sizes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, text", [
    (lambda: ts.zeros(2, -3), r"zeros: sizes must be non-negative, got \(2, -3\)"),
    (lambda: ts.ones((-1,)), r"ones: sizes must be non-negative, got \(-1,\)"),
    (lambda: ts.randn(3, -2), r"randn: sizes must be non-negative, got \(3, -2\)"),
    (lambda: ts.rand(-5), r"rand: sizes must be non-negative, got \(-5,\)"),
    (lambda: ts.empty(-1, 2), r"empty: sizes must be non-negative, got \(-1, 2\)"),
    (lambda: ts.full((2, -2), 1.0), r"full: sizes must be non-negative, got \(2, -2\)"),
    (lambda: ts.randint(0, 3, (2, -1)), r"randint: sizes must be non-negative, got \(2, -1\)"),
    (lambda: ts.zeros(2**63, 0), r"zeros: sizes \(9223372036854775808, 0\) hold more elements "
                                 r"than an array can address"),
    (lambda: ts.zeros(2**62, 4), r"zeros: sizes .* hold more elements than an array can"),
])
def test_impossible_sizes_name_the_function_and_the_sizes(make, text):
    with pytest.raises(RuntimeError):
        torch.zeros(2, -3)
    with pytest.raises(ValueError, match=text) as error:
        make()
    assert "negative dimensions" not in str(error.value)


def test_a_random_size_error_draws_nothing():
    ts.manual_seed(1)
    with pytest.raises(ValueError):
        ts.randn(2, -1)
    after_error = ts.randn(3).numpy()
    ts.manual_seed(1)
    np.testing.assert_array_equal(ts.randn(3).numpy(), after_error)


@pytest.mark.parametrize("tensor, fill, message", [
    (lambda: ts.zeros(3), lambda t: t.normal_(0.0, -1.0), "normal_: std must be >= 0.0, got -1.0"),
    (lambda: ts.zeros(3), lambda t: t.uniform_(1.0, 0.0), "uniform_: .* got from=1.0 > to=0.0"),
    (lambda: ts.zeros(3, dtype=ts.int64), lambda t: t.uniform_(), "uniform_: not implemented for dtype int64"),
    (lambda: ts.zeros(3, dtype=ts.int64), lambda t: t.normal_(), "normal_: not implemented for dtype int64"),
    (lambda: ts.zeros(3, requires_grad=True), lambda t: t.normal_(), "leaf Variable"),
    (lambda: ts.zeros(3, requires_grad=True), lambda t: t.uniform_(), "leaf Variable"),
    (lambda: ts.zeros(3, requires_grad=True), lambda t: t.random_(5), "leaf Variable"),
    (lambda: ts.zeros(3, requires_grad=True), lambda t: t.bernoulli_(0.5), "leaf Variable"),
    (lambda: ts.zeros(1, 3).expand(2, 3), lambda t: t.normal_(), "normal_: the tensor is a broadcast view"),
    (lambda: ts.zeros(1, 3).expand(2, 3), lambda t: t.random_(5), "random_: the tensor is a broadcast view"),
], ids=["negative std", "from > to", "int uniform_", "int normal_", "leaf normal_", "leaf uniform_",
        "leaf random_", "leaf bernoulli_", "expanded normal_", "expanded random_"])
def test_a_refused_fill_in_place_draws_nothing_and_changes_nothing(tensor, fill, message):
    t = tensor()
    before = t.numpy().copy()
    ts.manual_seed(1)
    with pytest.raises((ValueError, TypeError, RuntimeError), match=message):
        fill(t)
    after_error = ts.randn(3).numpy()
    ts.manual_seed(1)
    np.testing.assert_array_equal(ts.randn(3).numpy(), after_error)
    np.testing.assert_array_equal(t.numpy(), before)
    assert t._version == 0


def test_zero_sizes_are_fine():
    assert ts.zeros(0, 3).shape == (0, 3) and ts.randn(2, 0).shape == (2, 0)


# --- values that are never meant -------------------------------------------------------------
@pytest.mark.parametrize("make", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop],
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("lr", [math.inf, math.nan])
def test_optimizers_refuse_an_infinite_or_nan_lr(make, lr):
    with pytest.raises(ValueError, match=f"{make.__name__}: lr must be >= 0.0 and < inf, "
                                         f"got {lr}"):
        make(nn.Linear(2, 2).parameters(), lr=lr)


def test_an_optimizer_state_with_an_infinite_lr_is_refused_and_changes_nothing():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    state = opt.state_dict()
    state["param_groups"][0]["lr"] = math.inf
    with pytest.raises(ValueError, match="lr must be >= 0.0 and < inf, got inf"):
        opt.load_state_dict(state)
    assert opt.param_groups[0]["lr"] == 0.1


def test_clip_grad_norm_refuses_a_nan_max_norm_before_scaling():
    model = nn.Linear(2, 2)
    for p in model.parameters():
        p.grad = ts.ones(*p.shape)
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be >= 0.0, got nan"):
        nn.utils.clip_grad_norm_(model.parameters(), math.nan)
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad.numpy(), np.ones(p.shape))
    total = nn.utils.clip_grad_norm_(model.parameters(), math.inf)      # PyTorch's idiom
    assert total.item() == pytest.approx(math.sqrt(6))


@pytest.mark.parametrize("kwargs, text", [
    ({"seq_len": 0}, "SineWave: seq_len must be a positive int, got 0"),
    ({"seq_len": -3}, "SineWave: seq_len must be a positive int, got -3"),
    ({"seq_len": 2.5}, "SineWave: seq_len must be an int"),
    ({"step": math.nan}, "SineWave: step must be finite, got nan"),
])
def test_sine_wave_refuses_sizes_that_make_no_sequence(kwargs, text):
    with pytest.raises((ValueError, TypeError), match=text):
        SineWave(10, **kwargs)
    assert SineWave(3, seq_len=1)[0][0].shape == (1, 1)


# --- names in matplotlib's plots ---------------------------------------------------------------
MATH_NAME = r"w$\frac{a}$^_"


def test_plots_show_names_with_dollars_as_written(tmp_path):
    """Module, parameter and token names reach matplotlib's titles, legends and ticks as text:
    a ``$...$`` in a name is not mathtext (``$\\frac{a}$`` would stop the drawing)."""
    pytest.importorskip("matplotlib")
    from tinyseq.render import (plot_activations, plot_attention, plot_contribution_matrix,
                                plot_gradient_flow)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            setattr(self, "m" + MATH_NAME, nn.LSTM(3, 4, impl="primitive"))
            setattr(self, MATH_NAME, nn.Parameter(ts.randn(4, 4)))

        def forward(self, x):
            output, _ = getattr(self, "m" + MATH_NAME)(x)
            losses = []
            for t in range(x.shape[0]):
                with ts.timestep(t):
                    losses.append(((output[t] @ getattr(self, MATH_NAME)) ** 2).mean())
            return losses
    ts.manual_seed(0)
    model = Model()
    with ts.trace(values=True) as tr:
        losses = model(ts.randn(3, 2, 3))
    figure = plot_activations(tr, "m" + MATH_NAME, "h")
    figure.savefig(tmp_path / "activations.png")
    assert figure.axes[0].get_title().startswith("m" + MATH_NAME.replace("$", "\\$"))
    figure = plot_contribution_matrix(tr, getattr(model, MATH_NAME), losses=losses)
    figure.savefig(tmp_path / "matrix.png")
    title = figure.axes[0].get_title()
    assert figure.axes[0].title._preprocess_math(title) == (
        f"share of ‖dL_t/d{MATH_NAME}‖ from step s", False)
    flow = {"steps": [0, 1, 2], "state_grad_norms": [1.0, 0.5, 0.25],
            "weight_contribution_norms": [1.0, 0.5, 0.2]}
    plot_gradient_flow({MATH_NAME: flow}, tmp_path / "flow.png", weight_name=MATH_NAME)
    plot_attention(np.full((2, 2), 0.5), ["$$", MATH_NAME], ["$x$", "$"],
                   tmp_path / "attention.png")
    for name in ("activations", "matrix", "flow", "attention"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000

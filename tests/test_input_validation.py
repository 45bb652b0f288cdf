"""Bad arguments to constructors, recurrent layers, Attention and the CLI: each a clear
TypeError or ValueError naming the argument and the value (a usage error for the CLI)."""
import os
import subprocess
import sys

import numpy
import pytest

import tinyseq as ts
from tinyseq import cli, nn

CONSTRUCTORS = [
    (lambda: nn.RNN(4, 0), ValueError, r"RNN: hidden_size must be a positive int, got 0"),
    (lambda: nn.RNN(4, 2.5), TypeError, r"RNN: hidden_size must be an int, got 2.5"),
    (lambda: nn.LSTM(-1, 3), ValueError, r"LSTM: input_size must be a positive int, got -1"),
    (lambda: nn.GRU(2, 3, num_layers=0), ValueError, r"num_layers must be a positive int, got 0"),
    (lambda: nn.GRU(2, 3, num_layers=1.0), TypeError, r"num_layers must be an int, got 1.0"),
    (lambda: nn.LSTM(2, 3, dropout=-0.2), ValueError, r"dropout must be in \[0, 1\], got -0.2"),
    (lambda: nn.LSTM(2, 3, dropout="0.1"), TypeError, r"dropout must be a real number"),
    (lambda: nn.GRU(2, 3, bidirectional="yes"), TypeError, r"bidirectional must be True or False"),
    (lambda: nn.RNN(2, 3, impl="cuda"), ValueError, r"impl must be 'fused' or 'primitive', got 'cuda'"),
    (lambda: nn.RNNCell(3, 0), ValueError, r"RNNCell: hidden_size must be a positive int, got 0"),
    (lambda: nn.LSTMCell(3.0, 2), TypeError, r"LSTMCell: input_size must be an int, got 3.0"),
    (lambda: nn.GRUCell(3, -4), ValueError, r"GRUCell: hidden_size .* got -4"),
    (lambda: nn.Linear(3, -1), ValueError, r"Linear: out_features must be a non-negative int, got -1"),
    (lambda: nn.Linear("3", 2), TypeError, r"Linear: in_features must be an int, got '3'"),
    (lambda: nn.Embedding(-5, 2), ValueError, r"Embedding: num_embeddings .* got -5"),
    (lambda: nn.Embedding(5, 2, padding_idx=1.5), TypeError, r"Embedding: padding_idx must be an int"),
    (lambda: nn.Dropout(1.5), ValueError, r"Dropout: p must be in \[0, 1\], got 1.5"),
    (lambda: nn.Dropout(float("nan")), ValueError, r"Dropout: p must be in \[0, 1\], got nan"),
    (lambda: nn.MSELoss("avg"), ValueError, r"MSELoss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (lambda: nn.CrossEntropyLoss(ignore_index=0.5), TypeError, r"ignore_index must be an int"),
    (lambda: nn.Attention(4, 4, method="cosine"), ValueError, r"Attention: method must be one of"),
    (lambda: nn.Attention(0, 4, method="general"), ValueError, r"Attention: query_size .* got 0"),
    (lambda: nn.Attention(4, 4, "additive", attention_size=-2), ValueError, r"attention_size .* got -2"),
    (lambda: nn.Seq2Seq(0, 5), ValueError, r"Seq2Seq: source_vocab_size must be a positive int, got 0"),
    (lambda: nn.Seq2Seq(5, 5, hidden_size=0), ValueError, r"Seq2Seq: hidden_size .* got 0"),
    (lambda: nn.Seq2Seq(5, 5, cell="transformer"), ValueError, r"Seq2Seq: cell must be one of"),
    (lambda: nn.Seq2Seq(5, 5, attention="cosine"), ValueError, r"Seq2Seq: attention must be one of"),
    (lambda: nn.Seq2Seq(5, 5, eos_id=5), ValueError, r"Seq2Seq: eos_id must be a token id below"),
    (lambda: nn.Seq2Seq(5, 5, dropout=2), ValueError, r"Seq2Seq: dropout must be in \[0, 1\], got 2"),
]


@pytest.mark.parametrize("make, error, message", CONSTRUCTORS)
def test_constructors_name_the_bad_argument_and_value(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fused", "primitive"])
@pytest.mark.parametrize("dtype", [numpy.int64, numpy.int32, numpy.bool_])
def test_integer_inputs_are_one_clear_error_for_both_implementations(mode, impl, dtype):
    layer = getattr(nn, mode)(3, 4, impl=impl)
    x = ts.tensor(numpy.ones((5, 2, 3), dtype=dtype))
    with pytest.raises(ValueError, match=rf"{mode}: input must be a floating-point tensor, got "
                                        rf"dtype {numpy.dtype(dtype)}"):
        layer(x)


@pytest.mark.parametrize("cell", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells_refuse_integer_inputs(cell):
    with pytest.raises(ValueError, match="floating-point"):
        cell(3, 4)(ts.tensor(numpy.ones((2, 3), dtype=numpy.int64)))


def test_pytorch_also_refuses_integer_inputs_with_a_value_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="dtype"):
        torch.nn.LSTM(3, 4)(torch.ones(5, 2, 3, dtype=torch.int64))


# --- Attention ---------------------------------------------------------------------------------
@pytest.mark.parametrize("query, keys, message", [
    ((2, 4), (2, 4), r"expected query \(B, 4\) and keys \(B, S, 4\), got \(2, 4\) and \(2, 4\)"),
    ((2, 4, 1), (2, 3, 4), r"got \(2, 4, 1\) and \(2, 3, 4\)"),
    ((3, 4), (2, 3, 4), r"got \(3, 4\) and \(2, 3, 4\)"),
    ((2, 4), (2, 3, 5), r"got \(2, 4\) and \(2, 3, 5\)"),
    ((2, 4), (2, 0, 4), r"no source positions"),
])
@pytest.mark.parametrize("method", ["dot", "general", "additive"])
def test_attention_checks_ranks_and_shapes(query, keys, message, method):
    attention = nn.Attention(4, 4, method)
    with pytest.raises(ValueError, match=message):
        attention(ts.randn(*query), ts.randn(*keys))


def test_attention_mask_checks():
    attention = nn.Attention(4, 4)
    query, keys = ts.randn(3, 4), ts.randn(3, 5, 4)
    with pytest.raises(ValueError, match=r"mask has shape \(3, 4\), expected \(B, S\) = \(3, 5\)"):
        attention(query, keys, numpy.ones((3, 4), bool))
    with pytest.raises(TypeError, match="mask must be a bool"):
        attention(query, keys, numpy.ones((3, 5)))
    mask = numpy.ones((3, 5), bool)
    mask[1] = False
    with pytest.raises(ValueError, match=r"nothing to attend to in batch index 1"):
        attention(query, keys, mask)
    mask[1, 2] = True
    context, weights = attention(query, keys, ts.tensor(mask))
    numpy.testing.assert_allclose(weights.numpy()[1], [0, 0, 1, 0, 0], atol=1e-6)
    with pytest.raises(TypeError, match="query must be a Tensor"):
        attention(query.numpy(), keys)


# --- the command line --------------------------------------------------------------------------
BAD_ARGUMENTS = [
    ["render", "--first-last", "0"],
    ["render", "--input", "-3"],
    ["render", "--steps", "100000"],
    ["render", "--steps", str(cli.MAX_STEPS + 1)],
    ["render", "--hidden", str(cli.MAX_HIDDEN + 1)],
    ["render", "--hidden", "2.5"],
    ["render", "--batch", "0"],
    ["render", "--layers", "x"],
    ["render", "--cell", "transformer"],
    ["render", "-o", "picture.txt"],
    ["render", "-o", "no_such_folder/picture.svg"],
    ["render", "-o", "."],
    ["render", "--unknown"],
    ["paint"],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=" ".join)
def test_cli_bad_arguments_are_usage_errors(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    traced = []
    monkeypatch.setattr(cli, "traced_example", lambda *a, **k: traced.append(a))
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "error:" in err and "Traceback" not in err
    assert traced == []  # refused before anything was traced
    assert os.listdir(tmp_path) == []


def test_cli_in_a_subprocess_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinyseq", "render", "--steps", "100000"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "must be between 1 and 50" in result.stderr and "Traceback" not in result.stderr


def test_cli_limits_are_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["render", "--help"])
    out = capsys.readouterr().out
    assert f"1 to {cli.MAX_STEPS}" in out and f"1 to {cli.MAX_HIDDEN}" in out

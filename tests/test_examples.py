"""Smoke tests of the example scripts: each ``main`` runs end to end at tiny settings, returns
finite metrics, and (where that is cheap) beats its baseline."""
import importlib
import math

import pytest

pytestmark = pytest.mark.usefixtures("examples_on_path")


def example(name):
    return importlib.import_module(name)


def test_sine_rnn_learns_within_one_epoch():
    sine_rnn = example("sine_rnn")
    from tinyseq.data import DataLoader
    from tinyseq.datasets import SineWave

    model = sine_rnn.main(epochs=1)
    valid_loader = DataLoader(SineWave(500, seq_len=50, seed=1), batch_size=128)
    valid_mse = sine_rnn.evaluate(model, valid_loader)
    assert math.isfinite(valid_mse) and valid_mse < 0.05


def test_adding_problem_beats_the_baseline_at_t10():
    adding = example("adding_problem")
    results = adding.main(lengths=[10], cells=["GRU"], steps=300, hidden_size=16,
                          batch_size=32)
    mse = results["GRU"][10]
    assert math.isfinite(mse) and mse < 0.5 * adding.BASELINE


@pytest.mark.slow
def test_char_lm_beats_the_unigram_baseline(tmp_path):
    char_lm = example("char_lm")
    out = char_lm.main(max_chars=40_000, epochs=1, batch_size=16, bptt=16, hidden_size=32,
                       embed_size=16, lr=1e-2, valid_chars=4_000, eval_every=50,
                       sample_chars=20, progress_bar=False, output_dir=str(tmp_path))
    assert math.isfinite(out["train_loss"]) and math.isfinite(out["valid_loss"])
    assert out["valid_loss"] < out["unigram"]
    assert out["sample"].startswith("def ") and len(out["sample"]) == len("def ") + 20


def test_sequence_classifier_beats_the_majority_class():
    classifier = example("sequence_classifier")
    out = classifier.main(n_train=1024, n_test=256, max_len=16, epochs=1, batch_size=32,
                          embed_size=16, hidden_size=16, lr=1e-2, max_chars=200_000,
                          progress_bar=False)
    assert math.isfinite(out["accuracy"])
    assert out["accuracy"] > out["baseline"] + 0.05


@pytest.mark.slow
def test_custom_cell_trains_and_traces():
    custom_cell = example("custom_cell")
    results = custom_cell.main(seq_len=10, steps=250, hidden_size=16, eval_every=250,
                               compare=True)
    assert set(results) == {"selective cell", "peephole LSTM", "nn.LSTM"}
    assert all(math.isfinite(m) for m in results.values())
    assert results["selective cell"] < 1 / 6


@pytest.mark.slow
def test_gradient_flow_measures_every_model(tmp_path):
    gradient_flow = example("gradient_flow")
    ratios = gradient_flow.main(seq_len=8, steps=20, output=str(tmp_path / "flow.svg"))
    assert sorted(ratios) == ["GRU", "LSTM", "RNN"]
    assert all(math.isfinite(r) and r > 0 for pair in ratios.values() for r in pair)
    assert (tmp_path / "flow.svg").read_text().lstrip().startswith("<?xml")


def test_custom_op_passes_gradcheck_and_matches_pytorch(float64):
    from gradcheck import gradcheck
    import numpy as np
    import tinyseq as ts

    custom_op = example("custom_op")
    x = ts.tensor([-30.0, -2.5, -0.1, 0.0, 0.7, 3.0, 15.0], requires_grad=True)  # PyTorch is linear past 20
    gradcheck(custom_op.softplus, [x])
    torch = pytest.importorskip("torch")
    reference = torch.tensor(x.numpy(), requires_grad=True)
    torch.nn.functional.softplus(reference).sum().backward()
    y = custom_op.softplus(x)
    x.grad = None
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), torch.nn.functional.softplus(reference).detach().numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-15)
    x_again = ts.tensor(x.numpy(), requires_grad=True)          # in PyTorch's style
    custom_op.SoftplusFunction.apply(x_again).sum().backward()
    np.testing.assert_allclose(x_again.grad.numpy(), reference.grad.numpy(), rtol=1e-12,
                               atol=1e-15)


def test_bottleneck_measures_exact_match_per_length_with_and_without_attention(tmp_path):
    bottleneck = example("bottleneck")
    result = bottleneck.main(lengths=(3, 6), steps=3, batch_size=8, n_test=4,
                             output=str(tmp_path / "bottleneck.png"))
    assert list(result["curves"]) == ["without attention", "with attention"]
    assert all(set(curve) == {3, 6} and all(0 <= v <= 1 for v in curve.values())
               for curve in result["curves"].values())
    assert result["models"]["with attention"].attention is not None
    assert result["models"]["without attention"].attention is None
    assert result["lesson"].startswith("lesson bottleneck: ")
    assert (tmp_path / "bottleneck.png").read_bytes().startswith(b"\x89PNG")

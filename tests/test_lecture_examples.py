"""The lecture's examples at tiny settings (captioning, hello_onehot, exploding, embeddings,
dilution), datasets.Shapes, and the captioner's BLEU."""
import importlib
import math
import pathlib

import numpy as np
import pytest

from tinyseq.datasets import Shapes

pytestmark = pytest.mark.usefixtures("examples_on_path")


def example(name):
    return importlib.import_module(name)


def test_shapes_is_seeded_and_its_ids_spell_its_captions():
    data, again, other = Shapes(20, seed=3), Shapes(20, seed=3), Shapes(20, seed=4)
    assert np.array_equal(data.images, again.images) and data.texts == again.texts
    assert data.texts != other.texts
    image, ids = data[0]
    assert image.shape == (3, 24, 24) and image.dtype == np.float32 and ids.dtype == np.int64
    assert data.ids.shape == (20, Shapes.max_len)
    for text, row in zip(data.texts, data.ids):
        assert data.vocab.decode(row) == text
        words = text.split()
        assert words[0] == "a" and words[3:-3] in (["above"], ["left", "of"])
        assert words[1] in Shapes.COLORS and words[2] in Shapes.SHAPES
        assert (words[-2], words[-1]) != (words[1], words[2])  # two different objects


def test_shapes_draws_the_first_object_above_or_left_of_the_second():
    data = Shapes(40, seed=0)
    for image, text in zip(data.images, data.texts):
        words = text.split()
        colors = [Shapes.COLORS[words[1]], Shapes.COLORS[words[-2]]]
        if colors[0] == colors[1]:
            continue
        centers = []
        for color in colors:
            mask = np.all(np.abs(image - np.array(color, dtype=np.float32)[:, None, None]) < 1e-6,
                          axis=0)
            rows, columns = np.nonzero(mask)
            assert rows.size > 5, text
            centers.append((rows.mean(), columns.mean()))
        axis = 0 if "above" in words else 1
        assert centers[0][axis] < centers[1][axis] - 3, text


def test_shapes_rejects_tiny_images():
    with pytest.raises(ValueError, match="Shapes"):
        Shapes(2, size=8)


def test_bleu_is_one_for_exact_copies_and_matches_hand_counts():
    bleu = example("captioning").bleu
    reference = "a red circle above a blue square".split()
    assert bleu([reference], [reference]) == pytest.approx([1.0] * 4)
    candidate = "a red circle above a red square".split()
    # matched n-grams (counts clipped to the reference's): 6/7, 4/6, 3/5, 2/4; same length
    precisions = [6 / 7, 4 / 6, 3 / 5, 2 / 4]
    expected = [math.exp(sum(map(math.log, precisions[:n])) / n) for n in range(1, 5)]
    assert bleu([candidate], [reference]) == pytest.approx(expected)
    assert bleu(["a red".split()], [reference])[0] == pytest.approx(math.exp(1 - 7 / 2))


@pytest.mark.slow
def test_captioning_trains_and_writes_its_picture(tmp_path):
    out = example("captioning").main(n_train=256, n_test=40, epochs=2, batch_size=32,
                                     hidden_size=32, output=str(tmp_path / "captions.png"),
                                     progress=False)
    assert len(out["bleu"]) == 4 and all(0.0 <= b <= 1.0 for b in out["bleu"])
    assert out["bleu"][0] > 0.1 and 0.0 <= out["exact_match"] <= 1.0
    assert out["loss"] < 0.8 * math.log(len(Shapes.vocab))   # below the untrained loss
    assert (tmp_path / "captions.png").read_bytes()[:4] == b"\x89PNG"


def test_hello_onehot_learns_to_say_hello(tmp_path):
    out = example("hello_onehot").main(steps=200, output=str(tmp_path / "hello.svg"),
                                       progress=False)
    assert out["said"] == "hello"
    assert len(out["step_losses"]) == 4 and out["loss"] < 0.05
    svg = (tmp_path / "hello.svg").read_text()
    assert "L_0 = " in svg and "L_3 = " in svg        # each step's loss is in its step box
    for t, (letter, target) in enumerate(zip("hell", "ello")):   # the letters, read and wanted
        assert f"x_{t} = {letter}" in svg and f"target {target}" in svg, t


@pytest.mark.slow
def test_exploding_gradients_and_clipping(tmp_path):
    out = example("exploding").main(steps=30, output=str(tmp_path / "exploding.png"))
    assert out["ratios"][2.0] > 100 and out["ratios"][1.0] < 10
    assert out["test_mse"]["not clipped"] == math.inf          # diverged
    assert math.isfinite(out["test_mse"]["clipped to norm 1"])
    assert (tmp_path / "exploding.png").exists()


@pytest.mark.slow
def test_embeddings_gradient_reaches_only_the_looked_up_rows(tmp_path):
    out = example("embeddings").main(n_sentences=300, steps=200, output=str(tmp_path / "e.png"))
    assert out["rows_with_grad"] == out["looked_up"] and len(out["looked_up"]) > 2
    assert out["same_group"] > 0.5 and (tmp_path / "e.png").exists()


@pytest.mark.slow
def test_dilution_measures_every_model(tmp_path):
    out = example("dilution").main(seq_len=8, steps=20, output=str(tmp_path / "d.png"))
    assert sorted(out) == ["GRU", "LSTM", "RNN"]
    for name, result in out.items():
        assert 0 < result["untrained"] < 1 and math.isfinite(result["mse"]), name
    assert (tmp_path / "d.png").exists()


def test_how_it_works_shows_the_parameter_count_does_not_grow_with_t(capsys):
    import re

    import tinyseq as ts
    from tinyseq import nn
    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "how-it-works.md").read_text(
        encoding="utf-8")
    section = text[text.index("## The lecture's names"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(block, {"ts": ts, "nn": nn})
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["5 (5, 1, 5) 62", "50 (50, 1, 5) 62", "500 (500, 1, 5) 62"]

"""The encoder-decoder lessons hold: seq2seq_dates, captioning, bottleneck and demo at their
defaults, and notebooks 04, 05 and 07 from the shipped weights, each end with a lesson line
computed from what they measured, and it says ``holds``. The shipped weights are small
safetensors files that load strictly into the models the notebooks build."""
import importlib
import os
import pathlib
import re

import pytest

import tinyseq as ts
from tinyseq import pretrained

pytestmark = pytest.mark.usefixtures("examples_on_path")

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
SEQ2SEQ_NOTEBOOKS = ("04_seq2seq_attention_beam.ipynb", "05_image_captioning.ipynb",
                     "07_seq2seq_bottleneck.ipynb")


def example(name):
    return importlib.import_module(name)


def assert_holds(line, name):
    assert line.startswith(f"lesson {name}: ") and line.endswith("-> holds"), line


# --- the shipped weights --------------------------------------------------------------------
@pytest.mark.parametrize("name", pretrained.NAMES)
def test_shipped_weights_are_small_safetensors_files(name):
    path = pretrained.path(name)
    assert os.path.getsize(path) < 600 * 1024
    with open(path, "rb") as f:                # safetensors: an 8-byte header length, then JSON
        header_length = int.from_bytes(f.read(8), "little")
        assert f.read(1) == b"{" and header_length < os.path.getsize(path)
    checkpoint = pretrained.load(name)
    assert checkpoint["config"]["seed"] == 0


def test_unknown_weights_name_the_shipped_ones():
    with pytest.raises(ValueError, match="pretrained: unknown weights 'date'; shipped are dates"):
        pretrained.path("date")


def test_dates_weights_load_strictly_into_the_notebooks_model():
    from tinyseq import nn
    from tinyseq.datasets import dates_dataset
    checkpoint = pretrained.load("dates")
    config = checkpoint["config"]
    data = dates_dataset(n_train=config["n_train"], n_valid=1000, n_test=1000, seed=config["seed"])
    tgt = data.target_vocab
    model = nn.Seq2Seq(len(data.source_vocab), len(tgt), config["embedding_dim"],
                       config["hidden_size"], cell=config["cell"], attention=config["attention"],
                       bidirectional=config["bidirectional"], pad_id=tgt.pad_id,
                       sos_id=tgt.sos_id, eos_id=tgt.eos_id)
    model.load_state_dict(checkpoint["model"])
    assert all(p.dtype == ts.float32 for p in model.parameters())
    seq2seq_dates = example("seq2seq_dates")
    assert seq2seq_dates.exact_match(model, data.test[:200], data.source_vocab, tgt) >= 0.9


def test_captioning_weights_caption_held_out_images():
    captioning = example("captioning")
    from tinyseq.datasets import Shapes
    checkpoint = pretrained.load("captioning")
    model = captioning.Captioner(len(Shapes.vocab), hidden_size=checkpoint["config"]["hidden_size"])
    model.load_state_dict(checkpoint["model"])
    _, _, exact = captioning.evaluate(model, Shapes(100, seed=1))
    assert exact >= 0.7


def test_bottleneck_weights_show_the_bottleneck():
    bottleneck = example("bottleneck")
    checkpoint = pretrained.load("bottleneck")
    config = checkpoint["config"]
    curves = {}
    for name, attention in bottleneck.ATTENTION.items():
        model = bottleneck.make_model(config["n_symbols"], attention, config["embedding_dim"],
                                      config["hidden_size"])
        model.load_state_dict(checkpoint[name.replace(" ", "_")])
        curves[name] = bottleneck.exact_match_by_length(model, (5, 40), config["n_symbols"], 50,
                                                        seed=1000)
    assert_holds(bottleneck.lesson(curves, 5, 40), "bottleneck")


# --- the examples at their defaults ---------------------------------------------------------
@pytest.mark.slow
def test_seq2seq_dates_lesson_holds_at_the_defaults():
    assert_holds(example("seq2seq_dates").main()["lesson"], "seq2seq_dates")


@pytest.mark.slow
def test_seq2seq_dates_runs_without_attention():
    result = example("seq2seq_dates").main(n_train=200, epochs=1, attention=None, beam_test=5)
    assert result["lesson"].startswith("lesson seq2seq_dates: an encoder-decoder (no attention)")


@pytest.mark.slow
def test_captioning_lesson_holds_at_the_defaults(tmp_path):
    result = example("captioning").main(output=str(tmp_path / "captions.png"), progress=False)
    assert_holds(result["lesson"], "captioning")


@pytest.mark.slow
def test_bottleneck_lesson_holds_at_the_defaults(tmp_path):
    result = example("bottleneck").main(output=str(tmp_path / "bottleneck.png"))
    assert_holds(result["lesson"], "bottleneck")
    assert (tmp_path / "bottleneck.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_demo_lesson_holds_and_writes_only_into_its_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = example("demo").main()
    assert_holds(result["lesson"], "demo")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    claimed = re.search(r"([0-9.]+)%\s+exact match on 1,000\s+held-out dates", readme)
    assert claimed, "the README says how well make demo's model translates"
    assert abs(float(claimed.group(1)) / 100 - result["test_exact_match_greedy"]) <= 0.002, \
        (claimed.group(0), result["test_exact_match_greedy"])


# --- the notebooks, from the shipped weights ------------------------------------------------
@pytest.mark.parametrize("name", SEQ2SEQ_NOTEBOOKS)
def test_notebook_loads_the_shipped_weights_unless_told_to_train(name):
    nbformat = pytest.importorskip("nbformat")
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = "\n".join(cell.source for cell in book.cells if cell.cell_type == "code")
    assert "TRAIN_FROM_SCRATCH = False" in code and "pretrained.load(" in code


@pytest.mark.slow
@pytest.mark.parametrize("name", SEQ2SEQ_NOTEBOOKS)
def test_notebook_lesson_holds(name):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [output for cell in book.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], \
        "a warning box"
    last = book.cells[-1].outputs
    assert last and last[-1].output_type == "stream"
    lesson = {"04": "seq2seq_dates", "05": "captioning", "07": "bottleneck"}[name[:2]]
    assert_holds(last[-1].text.strip().splitlines()[-1], lesson)


# --- the lesson lines are computed from the numbers -----------------------------------------
def test_lesson_lines_say_does_not_hold_on_numbers_that_contradict_them():
    dates = example("seq2seq_dates").lesson
    assert_holds(dates(0.95, 0.97, 0.96, 1000, 100, "general"), "seq2seq_dates")
    assert dates(0.95, 0.90, 0.96, 1000, 100, "general").endswith(
        "beam 0.900 < greedy 0.960 on the first 100 -> does not hold")
    assert dates(0.5, None, None, 1000, 0, None).endswith("-> does not hold")
    without_beam = dates(0.95, None, None, 1000, 0, "general")     # the demo runs no beam search
    assert_holds(without_beam, "seq2seq_dates")
    assert "beam" not in without_beam, without_beam
    captions = example("captioning").lesson
    varied = [f"caption {i}" for i in range(100)]
    assert_holds(captions(0.8, varied), "captioning")
    assert captions(0.8, ["a"] * 90 + varied[:10]).endswith("-> does not hold")  # one caption
    assert captions(0.6, varied).endswith("-> does not hold")
    bottleneck = example("bottleneck").lesson
    curve = {"without attention": {5: 0.5, 40: 0.0}, "with attention": {5: 0.95, 40: 0.6}}
    assert_holds(bottleneck(curve, 5, 40), "bottleneck")
    flat = {"without attention": {5: 0.5, 40: 0.45}, "with attention": {5: 0.95, 40: 0.6}}
    assert bottleneck(flat, 5, 40).endswith("-> does not hold")

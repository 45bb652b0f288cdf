"""The notebook course in notebooks/: stored without outputs, and each runs top to bottom
(nbclient, a fresh kernel, bounded in time)."""
import pathlib
import re
import time

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
SECONDS_PER_NOTEBOOK = 120      # each takes well under 60 s on two idle cores
# each ends by printing "lesson <its name>: <claim>: <numbers> -> holds", checked on its numbers
WITH_LESSON = {"01_rnn_from_primitive_ops", "02_bptt_sum_over_time", "03_vanishing_gradients",
               "06_text_before_embeddings"}


def test_there_is_a_course():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: clear the outputs before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    from nbclient import NotebookClient
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(book, timeout=SECONDS_PER_NOTEBOOK, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert time.perf_counter() - start < SECONDS_PER_NOTEBOOK
    outputs = [output for cell in book.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    warnings = [output.text for output in outputs
                if output.output_type == "stream" and output.name == "stderr"]
    assert not warnings, f"{path.name} shows warning boxes: {warnings}"
    printed = "".join(output.text for output in outputs if output.output_type == "stream")
    lessons = re.findall(r"^lesson (\S+): .* -> (holds|does not hold)$", printed, re.M)
    if path.stem in WITH_LESSON:
        assert path.stem in [name for name, _ in lessons], printed[-2000:]
    assert all(verdict == "holds" for _, verdict in lessons), lessons

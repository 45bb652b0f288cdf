"""The notebook course in notebooks/: stored without outputs, and each runs top to bottom
(nbclient, a fresh kernel, bounded in time)."""
import pathlib
import time

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
SECONDS_PER_NOTEBOOK = 120      # each takes well under 60 s on two idle cores


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
    errors = [output for cell in book.cells for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert not errors

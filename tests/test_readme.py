"""Every Python block of the README runs as written in a fresh interpreter, and says what is true.

Each script (a block, with the blocks that say they continue it) runs once, in its own
temporary folder, so nothing is written into the repository."""
import re

import pytest

from markdown_blocks import REPOSITORY, failure, run, scripts

SCRIPTS = dict(scripts(REPOSITORY / "README.md"))
FIRST_SCRIPT = "A first script"                        # with "Seeing backpropagation through time"
EXPLORER = "Exploring a trace, and what each neuron does"
SLOW = {FIRST_SCRIPT}                                   # trains for two epochs


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """title -> (CompletedProcess, its folder), each script run at most once."""
    results = {}

    def get(title):
        if title not in results:
            folder = tmp_path_factory.mktemp("readme")
            results[title] = run(SCRIPTS[title], folder), folder
        return results[title]
    return get


@pytest.mark.parametrize("title", [pytest.param(t, marks=pytest.mark.slow) if t in SLOW else t
                                   for t in SCRIPTS])
def test_block_runs_as_written(title, ran):
    result, _ = ran(title)
    assert result.returncode == 0, failure(title, result)


def test_the_blocks_checked_below_are_in_the_readme():
    assert {FIRST_SCRIPT, EXPLORER} <= set(SCRIPTS)
    assert "# continues the block above" in SCRIPTS[FIRST_SCRIPT]      # the BPTT block


@pytest.mark.slow
def test_first_script_prints_its_loss_and_seeing_bptt_sums_the_contributions(ran):
    result, folder = ran(FIRST_SCRIPT)
    assert result.returncode == 0, failure(FIRST_SCRIPT, result)
    losses = [float(v) for v in re.findall(r"^epoch \d: loss ([0-9.]+)", result.stdout, re.M)]
    assert len(losses) == 2 and losses[-1] < 0.01, result.stdout   # predicting 0 scores 0.5
    assert "50 contributions; their sum is w.grad: True" in result.stdout
    norms = {int(t): float(v) for t, v in re.findall(r"from step (\d+)\|\| = (\S+)", result.stdout)}
    assert list(norms) == [49, 40, 30, 20, 10, 1], result.stdout
    assert min(norms[49], norms[40]) > 10 * max(norms[10], norms[1]), norms   # the gradient fades
    assert list(folder.glob("bptt.svg*"))               # the SVG, or its .dot when dot is missing


def test_explorer_block_finds_a_unit_and_writes_the_heatmap(ran):
    result, folder = ran(EXPLORER)
    assert result.returncode == 0, failure(EXPLORER, result)
    assert re.search(r"cell unit \d+ follows 'inside a string' with r = -?[0-9.]+", result.stdout)
    assert "<span" in (folder / "unit.html").read_text(encoding="utf-8")


def test_every_picture_in_viz_is_in_the_readme():
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    pictures = sorted(p.name for p in (REPOSITORY / "viz").iterdir()
                      if p.suffix in (".svg", ".png"))
    assert pictures and [name for name in pictures if f"(viz/{name})" not in readme] == []

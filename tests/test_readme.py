"""Every Python block of the README runs as written in a fresh interpreter, and says what is true."""
import re

import pytest

from markdown_blocks import REPOSITORY, failure, run, scripts

README = REPOSITORY / "README.md"
SCRIPTS = dict(scripts(README))


def test_the_readme_has_the_sections_it_runs():
    assert list(SCRIPTS) == ["A first script", "Exploring a trace, and what each neuron does",
                             "The lecture's names"]


@pytest.mark.slow
def test_first_script_prints_its_loss_and_seeing_bptt_sums_the_contributions(tmp_path):
    result = run(SCRIPTS["A first script"], tmp_path)
    assert result.returncode == 0, failure("A first script", result)
    losses = [float(v) for v in re.findall(r"^epoch \d: loss ([0-9.]+)", result.stdout, re.M)]
    assert len(losses) == 2 and losses[-1] < 0.01, result.stdout   # predicting 0 scores 0.5
    assert "50 contributions; their sum is w.grad: True" in result.stdout
    norms = {int(t): float(v) for t, v in re.findall(r"from step (\d+)\|\| = (\S+)", result.stdout)}
    assert list(norms) == [49, 40, 30, 20, 10, 1], result.stdout
    assert min(norms[49], norms[40]) > 10 * max(norms[10], norms[1]), norms   # the gradient fades
    assert list(tmp_path.glob("bptt.svg*"))           # the SVG, or its .dot when dot is missing


def test_explorer_block_writes_the_heatmap(tmp_path):
    title = "Exploring a trace, and what each neuron does"
    result = run(SCRIPTS[title], tmp_path)
    assert result.returncode == 0, failure(title, result)
    assert re.search(r"cell unit \d+ follows 'inside a string' with r = -?[0-9.]+", result.stdout)
    assert "<span" in (tmp_path / "unit.html").read_text(encoding="utf-8")


def test_lecture_names_block_counts_62_parameters_at_every_length(tmp_path):
    result = run(SCRIPTS["The lecture's names"], tmp_path)
    assert result.returncode == 0, failure("The lecture's names", result)
    assert result.stdout.split("\n")[:3] == ["5 (5, 1, 5) 62", "50 (50, 1, 5) 62",
                                            "500 (500, 1, 5) 62"]

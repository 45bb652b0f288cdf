"""The benchmark scripts still run and print their tables (on tiny settings; no timing is
checked here: speed targets live in the benchmarks themselves)."""
import pathlib
import re
import sys

import pytest

from tinyseq.ops.linalg import Linear

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))

import autograd_overhead  # noqa: E402
import before_after  # noqa: E402
import lstm_profile  # noqa: E402
import memory  # noqa: E402
import paired  # noqa: E402
import recurrent_step  # noqa: E402
import render_time  # noqa: E402
import step_faults  # noqa: E402
import trace_overhead  # noqa: E402


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(paired.time, "sleep", lambda seconds: None)


@pytest.mark.slow
def test_recurrent_step_table_has_every_contender():
    lines = recurrent_step.main(cells=("lstm",), sizes=("S",), rounds=1)
    rows = [line for line in lines[2:] if line.startswith("lstm  S")]
    names = [re.split(r"\s{2,}", row)[3] for row in rows]
    assert names[:2] == ["tinyseq fused", "tinyseq primitive"]
    for row in rows:
        milliseconds, ratio = (float(v) for v in row.split()[-2:])
        assert milliseconds > 0 and ratio > 0


@pytest.mark.slow
def test_before_after_runs_an_earlier_commit_beside_this_checkout(capsys):
    before_after.main("HEAD", rounds=1)
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:2] == ["lstm", "S"]
    assert float(row[2]) > 0 and float(row[3]) > 0
    assert "tinyseq_before" in sys.modules and sys.modules["tinyseq_before"] is not sys.modules["tinyseq"]


def test_table_is_written_between_its_markers(tmp_path):
    readme = tmp_path / "performance.md"
    start, end = recurrent_step.TABLE_START, recurrent_step.TABLE_END
    readme.write_text(f"before\n{start}\nold\n{end}\nafter\n")
    recurrent_step.write_into_doc(readme, ["line 1", "line 2"])
    assert readme.read_text() == f"before\n{start}\n```\nline 1\nline 2\n```\n{end}\nafter\n"


@pytest.mark.slow
def test_lstm_profile_times_the_cell_math_inside_the_step(capsys):
    lstm_profile.main(sizes=("S",), steps=1)
    size, step, products, forward, backward, rest = capsys.readouterr().out.splitlines()[-1].split()[:6]
    assert size == "S"
    # rest is the step less the other three; each of the five is printed rounded to 0.1 ms
    assert float(step) == pytest.approx(float(products) + float(forward) + float(backward) + float(rest),
                                        abs=0.26)
    assert float(forward) > 0 and float(backward) > 0


def test_autograd_overhead_and_trace_overhead_print_their_rows(capsys):
    autograd_overhead.main(ops=20, rounds=1)
    trace_overhead.main(size="S", rounds=1)
    out = capsys.readouterr().out
    assert re.search(r"^tinyseq\s+fwd\+bwd\s+\d+\.\d+", out, re.M)
    assert re.search(r"^tinyseq\s+forward\s+\d+\.\d+", out, re.M)
    assert re.search(r"^trace recording\s+\d+\.\d+", out, re.M)


@pytest.mark.slow
def test_memory_peak_is_above_what_the_step_keeps():
    peak, _, kept, _ = memory.measure("fused", 1)
    assert memory.floor_bytes(with_projection=False) * 0.5 < kept <= peak


@pytest.mark.slow
def test_lstm_profile_by_op_names_the_primitive_ops_and_restores_them(capsys):
    forward = Linear.forward
    lstm_profile.main_by_op("primitive", sizes=("S",), steps=1)
    rows = capsys.readouterr().out.splitlines()[2:]
    names = [row.split()[0] for row in rows]
    assert "Linear.forward" in names and "Sigmoid.forward" in names
    assert all(float(row.split()[1]) >= 0 for row in rows)
    assert Linear.forward is forward                   # the timers are gone


def test_render_time_prints_the_lstm_the_seq2seq_and_the_explorer_pages(capsys):
    render_time.main(["--steps", "30", "--hidden", "4", "--batch", "2", "--html-steps", "60"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("LSTM (fused), 30 steps: trace + backward")
    assert lines[1].startswith("the demo's Seq2Seq on ")
    assert lines[2].startswith("to_html of an LSTM (fused) over 60 steps: ")
    assert lines[3].startswith("to_html of a bidirectional GRU of 2 layers (fused) over 60 steps: ")
    for line in lines:
        assert float(re.findall(r"([0-9.]+) s$", line)[0]) > 0


def test_step_faults_prints_both_malloc_cases(capsys):
    step_faults.main(["S"], steps=2)
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split()[1] for row in rows] == ["tinyseq's", "glibc's"]
    assert all(float(row.split()[-2]) > 0 for row in rows)

"""The textbook cell figure (tinyseq/render/cell.py, ``render.cell_diagram``).

Positions are read back from Graphviz (``neato -n2 -Tjson``, the program that draws it): the
state line runs straight across the top, the gates sit below it in PyTorch's order, h_{t-1}
and x_t enter at the bottom left and the new state leaves at the right. After a backward
pass the norms on the state paths are the trace's state gradients, the same for the fused
and the primitive layer; bad arguments give errors that name them.
"""
import json
import shutil
import subprocess
import sys
from xml.etree import ElementTree

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import functional as F
from tinyseq import nn, render

needs_neato = pytest.mark.skipif(shutil.which("neato") is None, reason="Graphviz is not installed")


@pytest.fixture(autouse=True)
def _float64_everywhere(float64):
    """Every test here runs in float64."""


def traced(kind, impl="fused", backward=True, steps=4, **options):
    ts.manual_seed(0)
    model = nn.Module()
    model.rnn = getattr(nn, kind)(2, 3, impl=impl, **options)
    x, y = ts.randn(steps, 2, 2), ts.randn(steps, 2, 3 * (2 if options.get("bidirectional") else 1))
    with ts.trace() as tr:
        output, _ = model.rnn(x)
        loss = F.mse_loss(output, y)
    if backward:
        loss.backward()
    return tr


def positions(tr, tmp_path, **options):
    """{node name: (x, y)} and {node name: label} as neato -n2 lays out the figure."""
    dot_path = render.cell_diagram(tr, tmp_path / "cell.dot", **options)
    out = subprocess.run(["neato", "-n2", "-Tjson", dot_path], capture_output=True, text=True,
                         check=True).stdout
    graph = json.loads(out)
    places, labels = {}, {}
    for node in graph["objects"]:
        x, y = (float(v) for v in node["pos"].split(","))
        places[node["name"]] = (x, y)
        labels[node["name"]] = node.get("label", "")
    return places, labels, graph


@needs_neato
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_lstm_cell_state_runs_straight_across_the_top_with_the_gates_below(impl, tmp_path):
    places, _, _ = positions(traced("LSTM", impl), tmp_path, module="rnn", time_step=2)
    line = [places[n] for n in ("c_prev", "forget", "plus", "c_next")]
    assert max(y for _, y in line) - min(y for _, y in line) < 1          # one straight line
    assert [x for x, _ in line] == sorted(x for x, _ in line)            # left to right
    gates = [places[f"gate_{g}"] for g in "figo"]
    assert max(y for _, y in gates) - min(y for _, y in gates) < 1
    assert [x for x, _ in gates] == sorted(x for x, _ in gates)          # f, i, g, o
    assert all(y < line[0][1] - 50 for _, y in gates)                    # below the cell state
    for entering in ("h_prev", "x"):                                     # bottom left
        x, y = places[entering]
        assert y < gates[0][1] and x < gates[0][0]
    assert places["h_next"][0] > max(x for x, _ in gates)                # h_t leaves right
    assert places["h_next"][1] < gates[0][1]
    assert places["c_next"][0] > places["plus"][0]


@needs_neato
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_gru_hidden_state_runs_across_the_top_with_r_z_n_below(impl, tmp_path):
    places, _, _ = positions(traced("GRU", impl), tmp_path, module="rnn", time_step=1)
    line = [places[n] for n in ("h_prev", "update", "plus", "h_next")]
    assert max(y for _, y in line) - min(y for _, y in line) < 1
    assert [x for x, _ in line] == sorted(x for x, _ in line)
    gates = [places[f"gate_{g}"] for g in "rzn"]
    assert max(y for _, y in gates) - min(y for _, y in gates) < 1
    assert [x for x, _ in gates] == sorted(x for x, _ in gates)
    assert all(y < line[0][1] - 50 for _, y in gates)
    assert places["x"][1] < gates[0][1] and places["x"][0] < gates[0][0]


def norms_of(tr, tmp_path, **options):
    """{node name: the number written on it} for the norm labels of the figure."""
    text = open(render.cell_diagram(tr, tmp_path / "norms.dot", **options)).read()
    found = {}
    for line in text.splitlines():
        if line.strip().startswith("norm_"):
            name = line.split()[0]
            found[name] = float(line.rsplit("= ", 1)[1].split(">")[0])
    return found


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_norms_after_backward_are_the_state_gradients_for_both_impls(kind, tmp_path):
    written = {impl: norms_of(traced(kind, impl), tmp_path, module="rnn", time_step=2)
               for impl in ("fused", "primitive")}
    expected = {"norm_h_next", "norm_h_prev"} | ({"norm_c_next", "norm_c_prev"} if kind == "LSTM" else set())
    assert set(written["fused"]) == expected == set(written["primitive"])
    for name, value in written["fused"].items():
        assert value == pytest.approx(written["primitive"][name], rel=1e-3), name   # 3 digits shown
        assert value > 0
    tr = traced(kind, "fused")
    for state in ("h", "c") if kind == "LSTM" else ("h",):
        per_step = tr.state_grad_norms("rnn", state)
        assert written["fused"][f"norm_{state}_next"] == float(f"{per_step[2]:.3g}")
        assert written["fused"][f"norm_{state}_prev"] == float(f"{per_step[1]:.3g}")


def test_reverse_direction_takes_its_previous_step_from_the_right(tmp_path):
    tr = traced("LSTM", "primitive", bidirectional=True, num_layers=2)
    fused = traced("LSTM", "fused", bidirectional=True, num_layers=2)
    for options in ({"layer": 1, "reverse": True}, {"layer": 0, "reverse": True}, {"layer": 1}):
        got = norms_of(tr, tmp_path, module="rnn", time_step=1, **options)
        want = norms_of(fused, tmp_path, module="rnn", time_step=1, **options)
        assert got.keys() == want.keys() and len(got) == 4
        for name in got:
            assert got[name] == pytest.approx(want[name], rel=1e-3), (options, name)
    per_step = fused.state_grad_norms("rnn", "h", layer=1, reverse=True)
    got = norms_of(fused, tmp_path, module="rnn", time_step=1, layer=1, reverse=True)
    assert got["norm_h_prev"] == float(f"{per_step[2]:.3g}")              # t+1 comes first


def test_first_step_and_no_backward_leave_out_what_is_not_measured(tmp_path):
    first = norms_of(traced("LSTM"), tmp_path, module="rnn", time_step=0)
    assert set(first) == {"norm_c_next", "norm_h_next"}                   # the initial state is data
    assert norms_of(traced("GRU", backward=False), tmp_path, module="rnn", time_step=1) == {}


def test_bad_arguments_raise_clear_errors(tmp_path):
    tr = traced("LSTM")
    with pytest.raises(ValueError, match=r"no module 'lstm' in this trace; its LSTM and GRU modules: \['rnn'\]"):
        render.cell_diagram(tr, tmp_path / "c.svg", module="lstm", time_step=1)
    with pytest.raises(ValueError, match=r"module 'rnn' ran no time step 4; its steps: 0..3"):
        render.cell_diagram(tr, tmp_path / "c.svg", module="rnn", time_step=4)
    with pytest.raises(TypeError, match=r"time_step must be an integer, got 1.0"):
        render.cell_diagram(tr, tmp_path / "c.svg", module="rnn", time_step=1.0)
    with pytest.raises(ValueError, match=r"unknown output suffix '.txt'"):
        render.cell_diagram(tr, tmp_path / "c.txt", module="rnn", time_step=1)
    with pytest.raises(ValueError, match=r"module 'rnn' is a RNN; the cell figure is drawn for LSTM and GRU"):
        render.cell_diagram(traced("RNN"), tmp_path / "c.svg", module="rnn", time_step=1)
    with pytest.raises(ValueError, match=r"module 'rnn' is not bidirectional"):
        render.cell_diagram(traced("GRU", "primitive"), tmp_path / "c.svg", module="rnn",
                            time_step=1, reverse=True)
    assert not list(tmp_path.iterdir())
    render.cell_diagram(tr, tmp_path / "c.dot", module="rnn", time_step=np.int64(1))


@needs_neato
def test_a_hostile_module_name_reaches_the_picture_as_text(tmp_path):
    name = 'x"] <b>&</b> \\" -> evil'
    ts.manual_seed(0)
    model = nn.Module()
    setattr(model, name, nn.GRU(2, 3))
    with ts.trace() as tr:
        output, _ = getattr(model, name)(ts.randn(3, 1, 2))
    output.sum().backward()
    svg = render.cell_diagram(tr, tmp_path / "c.svg", module=name, time_step=1)
    root = ElementTree.parse(svg).getroot()            # well-formed: nothing broke out
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert f"GRU cell {name} at t = 1" in texts
    assert not list(root.iter("{http://www.w3.org/2000/svg}b"))


@needs_neato
def test_cli_draws_the_cell_diagram(tmp_path):
    for cell in ("lstm", "gru"):
        done = subprocess.run([sys.executable, "-m", "tinyseq", "render", "--cell", cell,
                               "--diagram", "-o", str(tmp_path / f"{cell}.svg")],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert f"the {cell} cell at t = 2" in done.stdout
        assert (tmp_path / f"{cell}.svg").read_text().lstrip().startswith("<?xml")
    done = subprocess.run([sys.executable, "-m", "tinyseq", "render", "--cell", "rnn", "--diagram"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "--diagram: draws an LSTM or GRU cell, not rnn" in done.stderr

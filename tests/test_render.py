"""The BPTT pictures (tinyseq/render/), read from where Graphviz puts things (``dot -Tjson``),
not only from the DOT text:

  * the step boxes of a row share one y and x grows with t (RNN, LSTM, GRU at 4, 12 and 50
    steps), the encoder row lies above the decoder row, stacked layers one row each with
    layer 1 above layer 0, the per-step losses above the steps that feed them;
  * the shared parameters lie in a band below every row, and each step reads them through
    its tap;
  * after backward, what leads nowhere the gradient went and the plumbing between rows are
    left out;
  * dL/dW = sum over t is drawn as one bar per step, in step order, on the taps' heat scale;
  * long rows are elided by default, the elision carrying the elided steps' summed share;
  * truncated BPTT numbers its chunks' steps on and draws the detach() cut;
  * every picture has a legend; the folded view (rolled=True, --rolled) has its loop edge;
  * the DOT text is the same in two processes.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn
from tinyseq.cli import traced_example

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@pytest.fixture(autouse=True)
def _float64_everywhere(float64):
    """Every test here runs in float64."""


def laid_out(text):
    """Graphviz's layout of ``text``: {cluster name: (x, y) of its box's centre}, {node: (x, y)}
    and {cluster name: its box (x1, y1, x2, y2)}; y grows upwards."""
    result = subprocess.run(["dot", "-Tjson"], input=text, capture_output=True, text=True,
                            timeout=60, check=True)
    graph = json.loads(result.stdout)
    boxes, centres, nodes = {}, {}, {}
    for item in graph["objects"]:
        if "bb" in item and item["name"].startswith("cluster"):
            x1, y1, x2, y2 = (float(v) for v in item["bb"].split(","))
            boxes[item["name"]] = (x1, y1, x2, y2)
            centres[item["name"]] = ((x1 + x2) / 2, (y1 + y2) / 2)
        elif "pos" in item:
            x, y = (float(v) for v in item["pos"].split(","))
            nodes[item["name"]] = (x, y)
    return centres, nodes, boxes


def step_boxes(centres, row=0):
    """{k: centre} of the boxes ``t = k`` of one row."""
    pattern = re.compile(r"^cluster_t(\d+)$" if row == 0 else rf"^cluster_r{row}_t(\d+)$")
    return {int(m.group(1)): c for name, c in centres.items() for m in [pattern.match(name)] if m}


def check_one_row(boxes, steps):
    ys = [y for _, y in boxes.values()]
    assert max(ys) - min(ys) < 3.0, f"the step boxes are not on one row: y from {min(ys)} to {max(ys)}"
    xs = [boxes[k][0] for k in sorted(boxes)]
    assert all(a < b for a, b in zip(xs, xs[1:])), "x does not grow with t"
    assert sorted(boxes) == steps


def check_upper_row_above(centres, upper, lower, steps):
    """Rows ``upper`` and ``lower`` each lie on one line with the boxes of ``steps``, every box of
    the upper row above every box of the lower one; returns both rows' boxes."""
    above, below = step_boxes(centres, upper), step_boxes(centres, lower)
    check_one_row(above, steps)
    check_one_row(below, steps)
    assert min(y for _, y in above.values()) > max(y for _, y in below.values())
    return above, below


def truncated_lstm(impl="fused", chunks=3, chunk=3):
    """An LSTM trained by truncated BPTT: one call per chunk, the state detached in between."""
    ts.manual_seed(0)
    model = nn.LSTM(2, 3, impl=impl)
    x = ts.randn(chunks * chunk, 1, 2)
    state = None
    with ts.trace() as tr:
        loss = 0
        for k in range(chunks):
            output, state = model(x[k * chunk:(k + 1) * chunk], state)
            state = tuple(s.detach() for s in state)
            loss = loss + (output ** 2).sum()
    loss.backward()
    return tr, model


# --- the row ------------------------------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("steps", [4, 12, 50])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_step_boxes_lie_on_one_row_left_to_right(cell, steps):
    tr = traced_example(cell, steps, 3, impl="fused")
    text = tr.to_dot(grads=True)
    centres, nodes, _ = laid_out(text)
    shown = list(range(steps)) if steps <= 24 else list(range(10)) + list(range(steps - 10, steps))
    check_one_row(step_boxes(centres), shown)
    for k in shown:
        assert f'label="t = {k}"' in text
    if steps > 24:                      # the elision sits between the steps it stands for
        boxes = step_boxes(centres)
        assert boxes[9][0] < nodes["elided"][0] < boxes[steps - 10][0]


@needs_dot
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_primitive_layers_lie_on_one_row_too(cell):
    tr = traced_example(cell, 12, 3, impl="primitive")
    centres, _, _ = laid_out(tr.to_dot(grads=True))
    check_one_row(step_boxes(centres), list(range(12)))


@needs_dot
@pytest.mark.parametrize("impl", ["primitive", "fused"])
def test_stacked_layers_are_one_row_each_layer_1_above_layer_0(impl):
    tr = traced_example("gru", 5, 3, layers=2, impl=impl)
    text = tr.to_dot(grads=True)
    centres, _, _ = laid_out(text)
    second, first = check_upper_row_above(centres, 1, 0, list(range(5)))
    for t in range(5):                  # step t of layer 1 stands on step t of layer 0
        assert abs(first[t][0] - second[t][0]) < 3.0
    assert 'label="layer 0"' in text and 'label="layer 1"' in text
    if impl == "primitive":
        return                          # layer 1 reads one projection of all of layer 0's h
    # layer 0's h_t goes straight up into layer 1's step t, through its tap
    ups = re.findall(r"^  (tap1t(\d+)|r1t(\d+)m\d+) -> r0t(\d+)m\d+ \[penwidth=1.4, dir=back\];$",
                     text, re.M)
    assert sorted(int(b or c) for _, b, c, _ in ups) == list(range(5))
    assert all(int(b or c) == int(t) for _, b, c, t in ups)


@needs_dot
def test_bidirectional_rows_run_in_opposite_directions():
    ts.manual_seed(0)
    model = nn.GRU(2, 3, bidirectional=True)
    with ts.trace() as tr:
        output, _ = model(ts.randn(5, 2, 2))
        loss = (output ** 2).sum()
    loss.backward()
    text = tr.to_dot()
    centres, _, _ = laid_out(text)
    check_one_row(step_boxes(centres, 0), list(range(5)))
    check_one_row(step_boxes(centres, 1), list(range(5)))
    assert 'label="layer 0 (reverse)"' in text
    # the reverse row's state runs from t + 1 back to t: drawn left to right, arrow reversed
    reverse_state = [line for line in text.splitlines() if "dir=back" in line and "h_" in line]
    assert len(reverse_state) == 4


@needs_dot
def test_encoder_row_lies_above_the_decoder_row():
    tr = traced_example("seq2seq", 4, 4, batch=1)
    text = tr.to_dot(grads=True)
    centres, _, _ = laid_out(text)
    check_upper_row_above(centres, 0, 1, list(range(4)))   # each row numbers its steps from 0
    assert centres["cluster_row0"][1] > centres["cluster_row1"][1]
    assert 'label="encoder"' in text and 'label="decoder"' in text


def tagged_lstm(steps=5):
    """Many-to-many: an LSTM with a loss L_t at every step (tagged with ts.timestep(t))."""
    ts.manual_seed(0)
    model = nn.LSTM(2, 3, impl="fused")
    x, y = ts.randn(steps, 2, 2), ts.randn(steps, 2, 3)
    with ts.trace() as tr:
        output, _ = model(x)
        losses = []
        for t in range(steps):
            with ts.timestep(t):
                losses.append(((output[t] - y[t]) ** 2).mean())
        loss = ts.stack(losses).sum()
    loss.backward()
    return tr


def bidirectional_seq2seq():
    """The demo's model, small: a bidirectional GRU encoder, general attention."""
    ts.manual_seed(0)
    model = nn.Seq2Seq(12, 9, 8, 8, cell="gru", attention="general", bidirectional=True)
    rng = np.random.default_rng(0)
    source = rng.integers(3, 12, size=(1, 8))
    target = np.concatenate([[[1]], rng.integers(3, 9, size=(1, 6))], axis=1)
    with ts.trace() as tr:
        logits, _ = model(source, target)
        loss = model.loss(logits, target)
    loss.backward()
    return tr


TOPOLOGIES = {
    "lstm": lambda: traced_example("lstm", 5, 3, batch=1, impl="fused"),
    "lstm_primitive": lambda: traced_example("lstm", 5, 3, batch=1),
    "seq2seq": lambda: traced_example("seq2seq", 5, 3, batch=1),
    "stacked": lambda: traced_example("lstm", 5, 3, layers=2, impl="fused"),
    "stacked_gru_3": lambda: traced_example("gru", 4, 3, layers=3, impl="fused"),
    "many_to_many": tagged_lstm,
    "truncated": lambda: truncated_lstm()[0],
    "bidirectional_seq2seq": bidirectional_seq2seq,
}


@needs_dot
@pytest.mark.parametrize("topology,top_to_bottom", [
    ("stacked_gru_3", ["layer 2", "layer 1", "layer 0"]),
    ("many_to_many", ["the loss L_t of each step", "LSTM"]),
    ("bidirectional_seq2seq", ["encoder layer 0", "encoder layer 0 (reverse)", "decoder"]),
])
def test_rows_stack_like_the_textbook(topology, top_to_bottom):
    text = TOPOLOGIES[topology]().to_dot(grads=True)
    centres, _, _ = laid_out(text)
    names = dict(re.findall(r"subgraph (cluster_row\d+) \{\n\s*label=\"([^\"]*)\"", text))
    drawn = sorted(names, key=lambda cluster: -centres[cluster][1])
    assert [names[cluster] for cluster in drawn] == top_to_bottom


@needs_dot
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_parameters_lie_in_a_band_below_every_step_row(topology):
    tr = TOPOLOGIES[topology]()
    _, nodes, boxes = laid_out(tr.to_dot(grads=True))
    steps = [box for name, box in boxes.items() if re.match(r"^cluster_(r\d+_)?t\d+$", name)]
    low = min(b[1] for b in steps)
    params = [f"p{tr.leaf_order[leaf.key]}" for leaf in tr.parameters()]
    assert params
    for node in params:
        assert nodes[node][1] < low, f"parameter {node} is not below the step rows"


@needs_dot
def test_per_step_losses_sit_above_their_steps_each_linked_straight_to_its_cell():
    tr = tagged_lstm()
    text = tr.to_dot(grads=True)
    centres, _, _ = laid_out(text)
    check_upper_row_above(centres, 1, 0, list(range(5)))   # the losses over the cells
    assert 'label="the loss L_t of each step"' in text
    links = re.findall(r"^  r1t(\d+)m\d+ -> r0t(\d+)m\d+ \[penwidth=1.4, dir=back\];$", text, re.M)
    assert sorted((int(a), int(b)) for a, b in links) == [(t, t) for t in range(5)]
    assert "getitem[" not in text          # no slice nodes in between: the cell feeds its loss


def test_ops_that_lead_nowhere_the_gradient_went_are_left_out_after_backward():
    ts.manual_seed(0)
    model = nn.LSTM(2, 3, num_layers=2, impl="fused")
    with ts.trace() as tr:
        output, (h_n, c_n) = model(ts.randn(4, 1, 2))
        loss = (output ** 2).sum()
    before = tr.to_dot()
    loss.backward()
    after = tr.to_dot()
    unused = [r for r in tr.ops if r.time_step is None and r.grad_norm is None and
              not any(("op", r.index) in c.inputs for c in tr.ops if c.grad_norm is not None)]
    assert unused                        # the final states h_n and c_n: no loss reads them
    for record in unused:
        assert f"op{record.index} [" in before and f"op{record.index} [" not in after
    for record in tr.ops:                # every step is drawn, before and after
        if record.time_step is not None:
            assert re.search(rf"r\d+t{record.time_step}m\d+ \[", after)


def test_truncated_bptt_draws_the_detached_state_as_the_cut_alone():
    tr, _ = truncated_lstm()
    text = tr.to_dot(grads=True)
    assert "✂ detach" in text
    assert ".detach()" not in text       # no box for the detached tensors themselves
    # x[k * chunk:(k + 1) * chunk] is drawn as the slices x[t] of x, numbered on across chunks
    assert re.findall(r'label="input\[(\d+)\]"', text) == [str(t) for t in range(9)]
    x = next(f"d{tr.leaf_order[k]}" for k, leaf in tr.leaves.items() if leaf.shape == (9, 1, 2))
    assert re.search(rf'^  {x} \[label="input\\n\(9, 1, 2\)\\none slice per step"', text, re.M)
    assert not re.findall(rf"^  {x} -> ", text, re.M)


# --- the accumulation, the taps and the legend -------------------------------------------------
def _bar_heights_and_colours(label):
    return [(int(h), c) for h, c in re.findall(r'height="(\d+)" bgcolor="([0-9. ]+)"', label)]


def test_bars_show_each_steps_share_in_step_order_on_the_taps_scale():
    steps = 5
    tr = traced_example("rnn", steps, 3)
    text = tr.to_dot(grads=True)
    weight = next(leaf for leaf in tr.parameters() if leaf.name == "weight_hh_l0")
    node = f"p{tr.leaf_order[weight.key]}"
    label = re.search(rf"^\s*{node} \[.*label=<(.*)>\];$", text, re.M).group(1)
    assert "dL/dW_hh = &#931;<sub>t</sub>" in label
    bars = _bar_heights_and_colours(label)
    norms = [norm for _, norm in tr.contribution_norms(weight.tensor)]
    assert len(bars) == steps
    assert [h for h, _ in bars] == [max(1, round(24 * n / max(norms))) for n in norms]
    total = np.linalg.norm(sum(g for _, g in tr.contributions(weight.tensor)))
    assert f"|grad| = {total:.3g}" in label
    # the same colour in the tap of step t as in bar t
    for t, (_, colour) in enumerate(bars):
        tap = re.search(rf'^\s*tap0t{t} \[.*<td port="{node}" bgcolor="([0-9. ]+)"', text, re.M)
        assert tap and tap.group(1) == colour


def test_each_step_reads_the_shared_weights_through_one_tap_edge_per_weight():
    steps = 4
    tr = traced_example("lstm", steps, 3, impl="fused")      # every weight used per step
    text = tr.to_dot()
    for leaf in tr.parameters():
        node = f"p{tr.leaf_order[leaf.key]}"
        # no edge from the parameter node into any step
        assert not re.search(rf"^\s*{node} -> r\d+t\d+m\d+ \[(?!style=invis)", text, re.M)
        taps = re.findall(rf"^\s*tap0t(\d+):{node} -> r0t(\d+)m\d+", text, re.M)
        assert sorted(int(a) for a, b in taps if a == b) == list(range(steps))


@needs_dot
@pytest.mark.parametrize("make", ["layer", "seq2seq", "truncated", "elided"])
def test_every_picture_has_a_legend(make, tmp_path):
    tr = {"layer": lambda: traced_example("gru", 3, 3),
          "seq2seq": lambda: traced_example("seq2seq", 3, 3, batch=1),
          "truncated": lambda: truncated_lstm()[0],
          "elided": lambda: traced_example("rnn", 40, 2)}[make]()
    text = tr.to_dot(grads=True)
    legend = re.search(r"^\s*label=<(<table.*legend.*)>; labelloc=b;", text, re.M)
    assert legend, "no legend"
    assert "t = k" in legend.group(1) and "tap" in legend.group(1)
    # the heat scale with its numbers: the smallest and largest share of any step
    shares = [n for leaf in tr.parameters() for _, n in tr.contribution_norms(leaf.tensor) if n > 0]
    assert f"{min(shares):.2g}" in legend.group(1) and f"{max(shares):.2g}" in legend.group(1)
    if make == "truncated":
        assert "detach()" in legend.group(1)
    if make == "elided":
        assert "steps left out" in legend.group(1)
    svg = tr.render(tmp_path / "picture.svg", grads=True)
    assert "legend" in open(svg, encoding="utf-8").read()


# --- long sequences -----------------------------------------------------------------------------
def test_long_rows_are_elided_by_default_and_the_elision_carries_the_summed_share():
    steps = 100
    tr = traced_example("lstm", steps, 3)
    text = tr.to_dot(grads=True)
    assert len(re.findall(r"subgraph cluster_t\d+ \{", text)) == 20
    assert re.search(r'elided \[.*label="⋯ 80 steps ⋯\\n\(t = 10\.\.89\)"', text)
    for leaf in tr.parameters():
        node = f"p{tr.leaf_order[leaf.key]}"
        edge = re.search(rf'^\s*tap0elided:{node} -> elided \[xlabel="([^"]+)"', text, re.M)
        elided = [g for t, g in tr.contributions(leaf.tensor) if t is not None and 10 <= t <= 89]
        if not elided:                 # a weight used outside the steps only
            continue
        summed = np.linalg.norm(sum(elided))
        assert edge and float(edge.group(1)) == pytest.approx(summed, rel=0.06), leaf.name


@needs_dot
def test_a_200_step_lstm_lays_out_in_seconds():
    """A liveness guard, not a speed target (benchmarks/render_time.py measures it)."""
    tr = traced_example("lstm", 200, 3, batch=1)
    subprocess.run(["dot", "-Tsvg", "-o", os.devnull], input=tr.to_dot(grads=True).encode(),
                   timeout=60, check=True)


# --- truncated BPTT -----------------------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_truncated_bptt_numbers_chunks_on_and_draws_the_cut(impl):
    tr, model = truncated_lstm(impl)
    assert tr.time_steps == list(range(9))            # chunks go on from 3 and 6, not from 0
    assert [t for t, _ in tr.contributions(model.weight_hh_l0)] == list(range(9))
    np.testing.assert_allclose(sum(g for _, g in tr.contributions(model.weight_hh_l0)),
                               model.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-10)
    assert len(tr.cuts) == 4                          # h and c, twice
    text = tr.to_dot(grads=True)
    cuts = re.findall(r'^\s*r0t(\d+)m\d+ -> r0t(\d+)m\d+ \[color="#c0392b", style=dashed.*✂ detach',
                      text, re.M)
    assert sorted((int(a), int(b)) for a, b in cuts) == [(2, 3), (5, 6)]
    centres, _, _ = laid_out(text)
    check_one_row(step_boxes(centres), list(range(9)))
    # no gradient flows across the cut: the first step of a chunk gives W_hh nothing
    contributions = dict(tr.contributions(model.weight_hh_l0))
    assert np.abs(contributions[0]).max() == 0 and np.abs(contributions[3]).max() > 0


def test_a_module_called_twice_in_one_step_context_keeps_its_steps():
    """Only an outermost call outside any step numbers on: a cell called once per step of a
    hand-written loop keeps the loop's steps."""
    cell = nn.GRUCell(2, 3)
    x = ts.randn(4, 1, 2)
    h = ts.zeros(1, 3)
    with ts.trace() as tr:
        for t in range(4):
            with ts.timestep(t):
                h = cell(x[t], h)
    assert tr.time_steps == list(range(4))
    assert tr.cuts == {}


# --- the folded view and determinism --------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("cell,cells", [("lstm", 1), ("seq2seq", 2)])
def test_rolled_view_draws_one_cell_per_row_with_its_loop(cell, cells, tmp_path):
    tr = traced_example(cell, 4, 3, batch=1, layers=1)
    text = tr.to_dot(rolled=True)
    loops = re.findall(r"^\s*(cell\d+) -> \1 \[label=\"([^\"]+)\"", text, re.M)
    assert len(loops) == cells
    assert all("W_hh" in label for _, label in loops)
    assert "cluster_t0" not in text
    centres, nodes, _ = laid_out(text)
    assert nodes["x"][1] < nodes["cell0"][1] < nodes["y"][1]       # input below, output above
    assert tr.render(tmp_path / "rolled.svg", rolled=True).endswith("rolled.svg")


def test_cli_rolled_writes_the_folded_view(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinyseq", "render", "--cell", "gru", "--rolled",
                             "-o", "rolled.dot"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "rolled.dot").read_text(encoding="utf-8")
    assert re.search(r"cell0 -> cell0 \[label=\"h_t-1 → h_t: W_hh, b_hh\"", text)


_PRINT_DOT = """
import numpy, tinyseq as ts, sys
sys.path.insert(0, {tests!r})
from test_render import truncated_lstm
ts.set_default_dtype(numpy.float64)
tr = truncated_lstm()[0]
print(tr.to_dot(grads=True) + tr.to_dot(rolled=True))
"""


def test_dot_text_is_identical_across_processes():
    code = _PRINT_DOT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=60, env=dict(os.environ, PYTHONHASHSEED=seed)).stdout
               for seed in ("1", "2")]
    assert outputs[0] and outputs[0] == outputs[1]
    assert not re.search(r"0x[0-9a-fA-F]{6,}", outputs[0])


def test_render_time_benchmark_runs():
    """A smoke test with tiny settings (no timing checked): a renamed API breaks it here."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks",
                          "render_time.py")
    result = subprocess.run([sys.executable, script, "--steps", "30", "--hidden", "4", "--batch", "2"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"LSTM \(fused\), 30 steps: trace \+ backward [0-9.]+ s, to_dot [0-9.]+ s",
                     result.stdout)

"""The BPTT pictures (tinyseq/render/), read from the laid-out Drawing and from what Graphviz
draws (``neato -n2 -Tjson`` and the SVG), not only from the DOT text:

  * every row on one line (one y within 2 pt), its steps equally spaced (within 5%), in every
    topology and both implementations, collapsed and op by op;
  * the rows stacked like the textbook: layer 0 at the bottom, a layer's reverse direction
    below its forward one, per-step losses above their steps, the encoder above the decoder;
    the band of parameters below every row, the legend beside it;
  * every step box of a row alike: the same size, its nodes at the same places;
  * a step's tap edges inside its box; no node without an edge; no plumbing node; the initial
    state, the targets and hand-made tensors named;
  * the primitive and the fused layer give the same drawing up to op labels;
  * every text at least 9 px at 100%, the long side at most 3,000 px (long rows elided);
  * names with markup or DOT syntax in them are shown as text in the DOT text and the SVG;
  * the DOT text is the same in two processes.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn
from tinyseq.cli import traced_example
from tinyseq.render import drawing as d
from tinyseq.render.graph import drawing as laid_out_drawing

needs_graphviz = pytest.mark.skipif(shutil.which("neato") is None,
                                    reason="Graphviz's neato is not installed")


@pytest.fixture(autouse=True)
def _float64_everywhere(float64):
    """Every test here runs in float64."""


# --- the models ---------------------------------------------------------------------------------
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


def tagged_lstm(steps=5, impl="fused"):
    """Many-to-many: an LSTM with a loss L_t at every step (tagged with ts.timestep(t))."""
    ts.manual_seed(0)
    model = nn.LSTM(2, 3, impl=impl)
    x, y = ts.randn(steps, 2, 2), ts.randn(steps, 2, 3)
    with ts.trace() as tr:
        output, _ = model(x)
        losses = []
        for t in range(steps):
            with ts.timestep(t):
                losses.append(F.mse_loss(output[t], y[t]))
        loss = ts.stack(losses).sum()
    loss.backward()
    return tr


class Generator(nn.Module):
    """One-to-many: a GRU cell feeding each output back as the next input."""

    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(2, 3)
        self.out = nn.Linear(3, 2)

    def forward(self, x, steps):
        h, outputs = ts.zeros(x.shape[0], 3), []
        for t in range(steps):
            with ts.timestep(t):
                h = self.cell(x, h)
                x = self.out(h)
            outputs.append(x)
        return ts.stack(outputs)


def one_to_many(steps=4):
    ts.manual_seed(0)
    model = Generator()
    x, y = ts.randn(2, 2), ts.randn(steps, 2, 2)
    with ts.trace() as tr:
        loss = F.mse_loss(model(x, steps), y)
    loss.backward()
    return tr


def bidirectional(impl="fused", layers=1):
    ts.manual_seed(0)
    model = nn.GRU(2, 3, num_layers=layers, bidirectional=True, impl=impl)
    with ts.trace() as tr:
        output, _ = model(ts.randn(5, 2, 2))
        loss = (output ** 2).sum()
    loss.backward()
    return tr


def demo_seq2seq():
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
    "rnn": lambda impl: traced_example("rnn", 5, 3, impl=impl),
    "lstm": lambda impl: traced_example("lstm", 5, 3, impl=impl),
    "gru": lambda impl: traced_example("gru", 5, 3, impl=impl),
    "stacked_2": lambda impl: traced_example("lstm", 4, 3, layers=2, impl=impl),
    "stacked_4": lambda impl: traced_example("gru", 3, 3, layers=4, impl=impl),
    "bidirectional": lambda impl: bidirectional(impl),
    "bidirectional_2": lambda impl: bidirectional(impl, layers=2),
    "seq2seq": lambda impl: traced_example("seq2seq", 4, 4, batch=1, impl=impl),
    "many_to_many": lambda impl: tagged_lstm(impl=impl),
    "one_to_many": lambda impl: one_to_many(),
    "truncated": lambda impl: truncated_lstm(impl)[0],
}
IMPLS = ["fused", "primitive"]


def rows_by_name(drawing):
    return {row.name: row for row in drawing.rows}


def boxes_of(drawing, row):
    return [drawing.box(b) for b in row.boxes]


def check_rows(drawing):
    """Every row on one line, its boxes alike and equally spaced, left to right in time."""
    for row in drawing.rows:
        boxes = boxes_of(drawing, row)
        ys = [box.y for box in boxes]
        assert max(ys) - min(ys) <= 2.0, f"row {row.name!r}: boxes at y {ys}"
        assert len({(round(b.width, 1), round(b.height, 1)) for b in boxes}) == 1, row.name
        xs = [box.x for box in boxes]
        assert xs == sorted(xs), f"row {row.name!r}: x does not grow with t"
        columns = [box.time_step for box in boxes]
        gaps = [(b - a) / (tb - ta) for a, b, ta, tb in zip(xs, xs[1:], columns, columns[1:])]
        if not row.elided and gaps:
            median = sorted(gaps)[len(gaps) // 2]
            assert all(abs(g - median) <= 0.05 * median for g in gaps), f"{row.name!r}: {gaps}"


def check_steps_alike(drawing):
    """Inside every box of a row, the nodes of the same kind sit at the same places."""
    for row in drawing.rows:
        layouts = set()
        for box in boxes_of(drawing, row):
            nodes = [drawing.nodes[n] for n in box.nodes]
            layouts.add(tuple(sorted((n.kind, round(n.x - box.x), round(n.y - box.y))
                                     for n in nodes if n.kind in (d.CELL, d.OP, d.LOSS, d.TAP))))
        first_last = {layouts.pop()} if len(layouts) <= 1 else layouts
        assert len(first_last) == 1 or row.kind == "losses", f"{row.name!r}: steps differ"


def check_edges(drawing):
    """No node without an edge; tap edges inside their box; no plumbing node."""
    ends = {e.tail for e in drawing.edges} | {e.head for e in drawing.edges}
    tapped = {f"p{cell.leaf}" for n in drawing.nodes.values() for cell in n.cells}
    lonely = [n.id for n in drawing.nodes.values() if n.id not in ends | tapped]
    assert not lonely, f"nodes without an edge: {lonely}"
    for edge in drawing.edges:
        assert edge.tail in drawing.nodes and edge.head in drawing.nodes, edge
        if edge.kind == d.TAP_EDGE and drawing.nodes[edge.tail].box is not None:
            assert drawing.nodes[edge.tail].box == drawing.nodes[edge.head].box, edge
    plumbing = {"stack", "getitem", "transpose", "reshape", "concat", "cast"}
    for node in drawing.nodes.values():
        if node.kind == d.OP:
            assert node.label.split("\n")[0] not in plumbing, node.label
        assert node.label != "leaf" and not node.label.startswith("input"), node.label


# --- rows, columns and steps ----------------------------------------------------------------------
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_every_row_is_one_straight_equally_spaced_line_of_alike_steps(topology, impl):
    tr = TOPOLOGIES[topology](impl)
    drawing = laid_out_drawing(tr, grads=True)
    check_rows(drawing)
    check_steps_alike(drawing)
    check_edges(drawing)
    assert drawing.band is not None and drawing.legend is not None
    lowest = max(row.y + row.height for row in drawing.rows)
    assert drawing.band.y > lowest, "the band is not below every row"
    assert drawing.legend.x >= drawing.band.x + drawing.band.width, "legend not beside the band"
    assert abs(drawing.legend.y - drawing.band.y) < 2


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_op_by_op_steps_are_alike_too(cell, impl):
    tr = traced_example(cell, 4, 3, impl=impl)
    drawing = laid_out_drawing(tr, collapse=False, grads=True)
    check_rows(drawing)
    check_steps_alike(drawing)
    check_edges(drawing)
    if cell == "lstm" and impl == "primitive":          # the gates in one order, every step
        orders = {tuple(drawing.nodes[n].label for n in sorted(
            box.nodes, key=lambda n: (drawing.nodes[n].y, drawing.nodes[n].x))
            if drawing.nodes[n].kind == d.OP) for box in drawing.steps}
        assert len(orders) == 1


def test_an_op_by_op_picture_too_tall_is_collapsed_with_a_warning():
    ts.manual_seed(0)
    gru = nn.GRU(2, 3, num_layers=3, bidirectional=True, impl="primitive")
    x, y = ts.randn(4, 2, 2), ts.randn(4, 2, 6)
    with ts.trace() as tr:
        loss = F.mse_loss(gru(x)[0], y)
    loss.backward()
    with pytest.warns(UserWarning, match="op by op, the picture is .* tall"):
        drawing = laid_out_drawing(tr, collapse=False, grads=True)
    assert drawing.collapse and max(drawing.width, drawing.height) <= 3000
    check_rows(drawing)
    check_edges(drawing)


@pytest.mark.parametrize("topology,top_to_bottom", [
    ("stacked_4", ["layer 3", "layer 2", "layer 1", "layer 0"]),
    ("many_to_many", ["the loss L_t of each step", "LSTM"]),
    ("bidirectional_2", ["layer 1", "layer 1 (reverse)", "layer 0", "layer 0 (reverse)"]),
    ("seq2seq", ["encoder", "decoder"]),
])
@pytest.mark.parametrize("impl", IMPLS)
def test_rows_stack_like_the_textbook(topology, top_to_bottom, impl):
    drawing = laid_out_drawing(TOPOLOGIES[topology](impl), grads=True)
    assert [row.name for row in sorted(drawing.rows, key=lambda r: r.y)] == top_to_bottom
    ys = [row.y for row in drawing.rows]
    assert ys == sorted(ys)                               # drawing.rows runs top to bottom


@pytest.mark.parametrize("impl", IMPLS)
def test_stacked_steps_stand_on_each_other_and_feed_straight_up(impl):
    drawing = laid_out_drawing(TOPOLOGIES["stacked_4"](impl))
    rows = rows_by_name(drawing)
    for lower, upper in zip(range(3), range(1, 4)):
        below, above = boxes_of(drawing, rows[f"layer {lower}"]), boxes_of(drawing, rows[f"layer {upper}"])
        assert [b.x for b in below] == [b.x for b in above]
        ups = [e for e in drawing.edges if e.kind == d.UP and drawing.nodes[e.head].row == rows[f"layer {upper}"].id]
        assert sorted((drawing.nodes[e.tail].time_step, drawing.nodes[e.head].time_step) for e in ups) == \
            [(t, t) for t in range(3)]


def test_the_reverse_rows_state_runs_right_to_left_from_its_initial_state_on_the_right():
    drawing = laid_out_drawing(bidirectional())
    reverse = rows_by_name(drawing)["layer 0 (reverse)"]
    states = [e for e in drawing.edges if e.kind == d.STATE and drawing.nodes[e.tail].row == reverse.id]
    assert len(states) == 4
    assert all(drawing.nodes[e.tail].x > drawing.nodes[e.head].x for e in states)
    initial = next(n for n in drawing.nodes.values() if n.kind == d.INITIAL and n.row == reverse.id)
    assert initial.x > max(b.x + b.width for b in boxes_of(drawing, reverse))


@pytest.mark.parametrize("impl", IMPLS)
def test_seq2seq_context_attention_and_compact_decoder_steps(impl):
    drawing = laid_out_drawing(traced_example("seq2seq", 4, 4, batch=1, impl=impl), grads=True)
    encoder, decoder = rows_by_name(drawing)["encoder"], rows_by_name(drawing)["decoder"]
    contexts = [n for n in drawing.nodes.values() if n.kind == d.CONTEXT]
    assert len(contexts) == 1
    assert encoder.y + encoder.height < contexts[0].y < decoder.y
    # attention: each encoder step straight down into its own cell of one bar under the
    # encoder's row; every decoder step reads the bar through a node inside its box, the
    # first one with the bar's one edge
    memory = next(n for n in drawing.nodes.values() if n.kind == d.MEMORY)
    into = [e for e in drawing.edges if e.head == memory.id]
    assert {drawing.nodes[e.tail].time_step for e in into} == set(encoder.steps)
    assert all(e.head_port == f"t{drawing.nodes[e.tail].time_step}" for e in into)
    assert memory.y - memory.height / 2 > encoder.y + encoder.height
    assert memory.x - memory.width / 2 <= min(b.x for b in boxes_of(drawing, encoder))
    out = [drawing.nodes[e.head] for e in drawing.edges if e.tail == memory.id]
    assert [n.time_step for n in out] == [decoder.steps[0]]
    for box in boxes_of(drawing, decoder):
        stubs = [n for n in box.nodes if n.startswith(memory.id)]
        assert len(stubs) == 1
        assert any(e.tail == stubs[0] and drawing.nodes[e.head].kind == d.CELL
                   for e in drawing.edges)
    # one node and one tap per decoder step, naming the weights it reads
    for box in boxes_of(drawing, decoder):
        kinds = [drawing.nodes[n].kind for n in box.nodes]
        assert kinds.count(d.CELL) == 1 and kinds.count(d.TAP) == 1
        tap = next(drawing.nodes[n] for n in box.nodes if drawing.nodes[n].kind == d.TAP)
        assert {"W_ih", "W_hh"} <= {c.label for c in tap.cells}
    assert max(b.height for b in boxes_of(drawing, decoder)) < 2.5 * \
        max(b.height for b in boxes_of(drawing, encoder))


def test_per_step_losses_sit_above_their_steps_and_sum_at_the_row_end():
    drawing = laid_out_drawing(tagged_lstm())
    losses = next(row for row in drawing.rows if row.kind == "losses")
    cells = next(row for row in drawing.rows if row.kind == "layer")
    assert losses.y + losses.height < cells.y
    for box in boxes_of(drawing, losses):
        kinds = {drawing.nodes[n].kind for n in box.nodes}
        assert d.LOSS in kinds and d.TARGET in kinds
    total = next(n for n in drawing.nodes.values() if n.label == "sum")
    assert total.x > max(b.x + b.width for b in boxes_of(drawing, losses))
    assert abs(total.y - drawing.nodes[boxes_of(drawing, losses)[-1].nodes[0]].y) < 80


def test_one_to_many_feeds_each_output_back_into_the_next_step():
    drawing = laid_out_drawing(one_to_many())
    fed = [e for e in drawing.edges if e.kind == d.STATE and e.label.startswith("out_")]
    assert [drawing.nodes[e.tail].time_step for e in fed] == [0, 1, 2]
    for edge in fed:                # from the output above the cell into the next cell
        assert drawing.nodes[edge.tail].y < drawing.nodes[edge.head].y


@pytest.mark.parametrize("impl", IMPLS)
def test_truncated_bptt_boxes_and_names_each_chunk_with_its_loss_above_and_the_cut_between(impl):
    tr, model = truncated_lstm(impl)
    assert tr.time_steps == list(range(9))            # chunks go on from 3 and 6, not from 0
    np.testing.assert_allclose(sum(g for _, g in tr.contributions(model.weight_hh_l0)),
                               model.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-10)
    drawing = laid_out_drawing(tr, grads=True)
    assert [c.label for c in drawing.chunks] == ["chunk 0: t = 0..2", "chunk 1: t = 3..5",
                                                 "chunk 2: t = 6..8"]
    cuts = [e for e in drawing.edges if e.kind == d.CUT_EDGE]
    assert sorted((drawing.nodes[e.tail].time_step, drawing.nodes[e.head].time_step)
                  for e in cuts) == [(2, 3), (5, 6)]
    losses = [n for n in drawing.nodes.values() if n.kind == d.OP and n.row is None]
    for chunk in drawing.chunks:       # (output ** 2).sum(): the square and its sum, side by side
        above = [n for n in losses if chunk.x < n.x < chunk.x + chunk.width and n.y < chunk.y]
        assert [n.label.split("\n")[0] for n in sorted(above, key=lambda n: n.x)] == \
            ["pow_scalar", "sum"], chunk.label
        assert above[0].y == above[1].y
    assert not any(".detach()" in n.label for n in drawing.nodes.values())


# --- the same picture for every implementation ----------------------------------------------------
def _structure(drawing):
    """The drawing without op labels and ids: rows, boxes, nodes by kind and place, and the
    edges between them with tap ports read as the weights' names."""
    def place(node_id):
        node = drawing.nodes[node_id]
        return (node.kind, node.box, round(node.x), round(node.y))

    cell_name = {}
    for node in drawing.nodes.values():
        for cell in node.cells:
            cell_name[(node.id, cell.port)] = cell.label
    nodes = sorted(place(n.id) for n in drawing.nodes.values() if n.kind != d.PARAM)
    edges = sorted((e.kind, place(e.tail), cell_name.get((e.tail, e.tail_port), ""), place(e.head),
                    cell_name.get((e.head, e.head_port), ""), e.label) for e in drawing.edges
                   if drawing.nodes[e.tail].kind != d.PARAM)
    rows = [(r.name, r.steps, [round(drawing.box(b).x) for b in r.boxes]) for r in drawing.rows]
    return rows, nodes, edges


@pytest.mark.parametrize("topology", ["lstm", "gru", "rnn", "stacked_2", "bidirectional"])
def test_primitive_and_fused_layers_give_the_same_drawing_up_to_op_labels(topology):
    fused = laid_out_drawing(TOPOLOGIES[topology]("fused"))
    primitive = laid_out_drawing(TOPOLOGIES[topology]("primitive"))
    assert _structure(primitive) == _structure(fused)


def test_a_projection_of_all_steps_is_drawn_in_each_step_with_its_weights_tap():
    drawing = laid_out_drawing(traced_example("lstm", 4, 3, impl="primitive"), collapse=False)
    for box in drawing.steps:
        nodes = [drawing.nodes[n] for n in box.nodes]
        tap = next(n for n in nodes if n.kind == d.TAP)
        assert [c.label for c in tap.cells] == ["W_ih", "W_hh", "b_ih", "b_hh"]
        x = next(n for n in nodes if n.kind == d.INPUT)
        assert x.label == f"x_{box.local_step}"
        into = [e for e in drawing.edges if e.tail == x.id]
        assert [(e.head, e.head_port) for e in into] == [(tap.id, f"p{tap.cells[0].leaf}")]
    assert not any(n.kind == d.DATA for n in drawing.nodes.values())


# --- names -------------------------------------------------------------------------------------
def test_hand_made_tensors_are_named_by_params_and_never_leaf():
    ts.manual_seed(0)
    U, W, V = (ts.randn(*shape, requires_grad=True) for shape in [(2, 3), (3, 3), (3, 2)])
    x, y = ts.randn(4, 1, 2), ts.randn(4, 1, 2)
    with ts.trace() as tr:
        h, loss = ts.zeros(1, 3), 0
        for t in range(4):
            with ts.timestep(t):
                h = ts.tanh(x[t] @ U + h @ W)
                loss = loss + ((h @ V - y[t]) ** 2).sum()
    loss.backward()
    named = laid_out_drawing(tr, params={"U": U, "W": W, "V": V, "x": x})
    labels = {n.label for n in named.nodes.values() if n.kind == d.PARAM}
    assert labels == {"U", "W", "V"}
    cells = {c.label for n in named.nodes.values() for c in n.cells}
    assert cells == {"U", "W", "V"}
    assert {n.label for n in named.nodes.values() if n.kind == d.INPUT} == {f"x_{t}" for t in range(4)}
    # y[t] in the written-out loss (h @ V - y[t]) ** 2: one "target" per step, not a second x_t
    inputs = [n for n in named.nodes.values() if n.kind == d.INPUT]
    targets = [n for n in named.nodes.values() if n.kind == d.TARGET]
    assert len(inputs) == 4 and [n.label for n in targets] == ["target"] * 4
    unnamed = laid_out_drawing(tr)
    assert not any("leaf" in n.label for n in unnamed.nodes.values())
    check_edges(named)
    check_rows(named)


def test_outputs_a_loss_reads_after_the_steps_are_y_t_and_per_step_losses_are_l_t():
    """Notebook 01's RNN: each step's output y_t = V h_t + c, stacked into one loss after the
    loop, is drawn as y_t; a loss per step inside the steps is L_t."""
    ts.manual_seed(0)
    U, W, V = ts.randn(4, 3, requires_grad=True), ts.randn(4, 4, requires_grad=True), \
        ts.randn(2, 4, requires_grad=True)
    x, target = ts.randn(4, 3), ts.randn(4, 2)
    with ts.trace() as tr:
        h, outputs = ts.zeros(4), []
        for t in range(4):
            with ts.timestep(t):
                h = (U @ x[t] + W @ h).tanh()
                outputs.append(V @ h)
        loss = ((ts.stack(outputs) - target) ** 2).mean()
    loss.backward()
    drawing = laid_out_drawing(tr, params={"U": U, "W": W, "V": V})
    outputs = sorted(n.label for n in drawing.nodes.values() if n.kind == d.OUTPUT)
    assert outputs == ["y_0", "y_1", "y_2", "y_3"]
    with ts.trace() as tr:
        h, losses = ts.zeros(4), []
        for t in range(4):
            with ts.timestep(t):
                h = (U @ x[t] + W @ h).tanh()
                losses.append(F.mse_loss(V @ h, target[t]))
        total = ts.stack(losses).sum()
    total.backward()
    drawing = laid_out_drawing(tr, params={"U": U, "W": W, "V": V})
    outputs = sorted(n.label for n in drawing.nodes.values() if n.kind == d.OUTPUT)
    assert outputs == ["L_0", "L_1", "L_2", "L_3"]


def test_initial_state_and_targets_are_named():
    drawing = laid_out_drawing(traced_example("lstm", 4, 3, impl="fused"))
    initial = [n for n in drawing.nodes.values() if n.kind == d.INITIAL]
    assert [n.label for n in initial] == ["initial state\nh_init, c_init"]
    first = drawing.box(drawing.rows[0].boxes[0])
    assert initial[0].x < first.x
    assert [n.label.split("\n")[0] for n in drawing.nodes.values() if n.kind == d.TARGET] == ["target"]


def test_plumbing_is_drawn_only_when_asked():
    tr = traced_example("lstm", 3, 3, impl="primitive")
    plain = tr.to_dot(collapse=False)
    assert not re.search(r'label="(stack|getitem|transpose)', plain)
    assert re.search(r'label="(stack|getitem)', tr.to_dot(collapse=False, plumbing=True))


def test_ops_that_lead_nowhere_the_gradient_went_are_left_out_after_backward():
    ts.manual_seed(0)
    model = nn.LSTM(2, 3, num_layers=2, impl="fused")
    with ts.trace() as tr:
        output, (h_n, c_n) = model(ts.randn(4, 1, 2))
        loss = (output ** 2).sum()
    loss.backward()
    drawing = laid_out_drawing(tr, plumbing=True)
    drawn = {i for n in drawing.nodes.values() for i in n.ops}
    unused = [r.index for r in tr.ops if r.time_step is None and r.grad_norm is None and
              not any(("op", r.index) in c.inputs for c in tr.ops if c.grad_norm is not None)]
    assert unused and not drawn & set(unused)           # the final states h_n and c_n


# --- taps, bars, legend --------------------------------------------------------------------------
def test_bars_show_each_steps_share_in_step_order_on_the_taps_scale():
    tr = traced_example("rnn", 5, 3, impl="fused")
    drawing = laid_out_drawing(tr, grads=True)
    weight = next(leaf for leaf in tr.parameters() if leaf.name == "weight_hh_l0")
    node = drawing.nodes[f"p{tr.leaf_order[weight.key]}"]
    norms = [norm for _, norm in tr.contribution_norms(weight.tensor)]
    assert [bar.value for bar in node.bars] == pytest.approx(norms)
    assert [bar.tick for bar in node.bars] == [str(t) for t in range(5)]
    for box, bar in zip(drawing.steps, node.bars):
        tap = next(drawing.nodes[n] for n in box.nodes if drawing.nodes[n].kind == d.TAP)
        cell = next(c for c in tap.cells if c.label == "W_hh")
        assert cell.colour == bar.colour and cell.value == pytest.approx(bar.value)
    text = tr.to_dot(grads=True)
    assert "dL/dW = &#931;<sub>t</sub>" in text


def test_long_rows_keep_as_many_first_and_last_steps_as_fit_and_the_elision_sums_the_rest():
    tr = traced_example("lstm", 200, 3, impl="fused", batch=1)
    drawing = laid_out_drawing(tr, grads=True)
    row = drawing.rows[0]
    kept = len(row.steps)
    assert 4 <= kept < 200 and row.steps == list(range(kept // 2)) + list(range(200 - kept // 2, 200))
    assert max(drawing.width, drawing.height) <= 3000
    elided = drawing.nodes["elided"]
    assert elided.label.startswith(f"⋯ {200 - kept} steps ⋯")
    tap = drawing.nodes["tap0elided"]
    weight = next(leaf for leaf in tr.parameters() if leaf.name == "weight_hh_l0")
    summed = np.linalg.norm(sum(g for t, g in tr.contributions(weight.tensor) if t in row.elided))
    cell = next(c for c in tap.cells if c.label == "W_hh")
    assert cell.value == pytest.approx(summed)
    check_rows(drawing)
    check_edges(drawing)
    with_k = laid_out_drawing(tr, first_last=3)
    assert with_k.rows[0].steps == [0, 1, 2, 197, 198, 199]


@needs_graphviz
@pytest.mark.parametrize("make", ["layer", "seq2seq", "truncated", "elided"])
def test_every_picture_has_a_legend_with_its_scales(make, tmp_path):
    tr = {"layer": lambda: traced_example("gru", 3, 3),
          "seq2seq": lambda: traced_example("seq2seq", 3, 3, batch=1),
          "truncated": lambda: truncated_lstm()[0],
          "elided": lambda: traced_example("rnn", 40, 2)}[make]()
    drawing = laid_out_drawing(tr, grads=True)
    text = " ".join(line.text for line in drawing.legend.lines)
    assert "t = k" in text and "shared weights" in text
    scale = next(line for line in drawing.legend.lines if "share of dL/dW" in line.text)
    assert scale.low > 0 and scale.high >= scale.low
    if make == "truncated":
        assert "detach()" in text
    if make == "elided":
        assert "steps left out" in text
    svg = tr.render(tmp_path / "picture.svg", grads=True)
    assert "legend" in open(svg, encoding="utf-8").read()


# --- what Graphviz draws --------------------------------------------------------------------------
def graphviz_json(text):
    result = subprocess.run(["neato", "-n2", "-Tjson"], input=text, capture_output=True,
                            text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@needs_graphviz
@pytest.mark.parametrize("topology", ["lstm", "seq2seq", "truncated", "stacked_2"])
def test_graphviz_keeps_every_place_and_routes_tap_edges_inside_their_box(topology):
    tr = TOPOLOGIES[topology]("fused")
    drawing = laid_out_drawing(tr, grads=True)
    graph = graphviz_json(tr.to_dot(grads=True))
    height = drawing.height
    objects = {o["name"]: o for o in graph["objects"]}
    for node in drawing.nodes.values():
        x, y = (float(v) for v in objects[node.id]["pos"].split(","))
        assert abs(x - node.x) < 1 and abs((height - y) - node.y) < 1, node.id
    for box in drawing.steps:
        x1, y1, x2, y2 = (float(v) for v in objects[box.id]["bb"].split(","))
        assert abs(x1 - box.x) < 1 and abs((height - y2) - box.y) < 1
    ids = {o["_gvid"]: o["name"] for o in graph["objects"]}
    tap_edges = {(e.tail, e.head) for e in drawing.edges if e.kind == d.TAP_EDGE
                 and drawing.nodes[e.tail].box is not None}
    checked = 0
    for edge in graph.get("edges", []):
        tail, head = ids[edge["tail"]], ids[edge["head"]]
        if (tail, head) not in tap_edges:
            continue
        box = drawing.box(drawing.nodes[tail].box)
        points = [p for p in re.findall(r"(-?[\d.]+),(-?[\d.]+)", edge["pos"])]
        for px, py in points:
            px, py = float(px), height - float(py)
            assert box.x - 2 <= px <= box.x + box.width + 2 and box.y - 2 <= py <= box.y + box.height + 2, \
                f"tap edge {tail} -> {head} leaves {box.id}"
        checked += 1
    assert checked


def _effective_text_sizes(svg_text):
    """The drawn size of every text of an SVG: its font size times the picture's scale."""
    root = ElementTree.fromstring(svg_text)
    graph = root.find("{http://www.w3.org/2000/svg}g")
    scale = re.search(r"scale\(([\d.]+)", graph.get("transform", "scale(1)"))
    factor = float(scale.group(1)) if scale else 1.0
    width = float(root.get("width").rstrip("pt"))
    view = [float(v) for v in root.get("viewBox").split()]
    factor *= width / view[2] if view[2] else 1.0
    sizes = [float(t.get("font-size")) * factor for t in root.iter("{http://www.w3.org/2000/svg}text")]
    return sizes, root


@needs_graphviz
@pytest.mark.parametrize("topology", ["lstm", "seq2seq", "truncated", "many_to_many"])
def test_every_text_is_at_least_9_px_and_the_long_side_at_most_3000(topology, tmp_path):
    tr = TOPOLOGIES[topology]("fused")
    svg = open(tr.render(tmp_path / "x.svg", grads=True), encoding="utf-8").read()
    sizes, root = _effective_text_sizes(svg)
    assert sizes and min(sizes) >= 8.99, min(sizes)      # 9 pt, less the SVG's rounding
    assert max(float(root.get("width").rstrip("pt")), float(root.get("height").rstrip("pt"))) <= 3000


HOSTILE = ['quo"te', "br{ace}", "<b>tag</b>", "a&b", "new\nline", '"; URL="javascript:alert(1)',
           "sep\u2028arator"]


class Hostile(nn.Module):
    def __init__(self, name):
        super().__init__()
        setattr(self, "rnn", nn.GRU(2, 3))
        self.head = nn.Linear(3, 2)
        setattr(self, name, nn.Parameter(ts.randn(3, 3)))
        self.name = name

    def forward(self, x):
        out, _ = self.rnn(x)
        with ts.scope(self.name):
            return self.head(out) + (out @ getattr(self, self.name)).sum()


@needs_graphviz
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_shown_as_text_and_never_become_links(name, tmp_path):
    ts.manual_seed(0)
    U = ts.randn(2, 2, requires_grad=True)
    model = Hostile(name)                   # a parameter and a scope named ``name``
    setattr(model, name + " 2", nn.Linear(2, 2))   # and a module
    submodule = getattr(model, name + " 2")
    with ts.trace() as tr:
        out = model(ts.randn(3, 1, 2))
        loss = (out ** 2).sum() + (submodule(out[0]) @ U).sum()
    loss.backward()
    for collapse in (True, False):
        text = tr.to_dot(grads=True, params={name: U}, collapse=collapse)
        # escaped, a name cannot make an attribute: URL=\" in a DOT string, URL=&quot; in HTML
        assert 'URL="' not in text and "href" not in text.lower()
    path = tr.render(tmp_path / "x.svg", grads=True, params={name: U}, collapse=False)
    svg = open(path, encoding="utf-8").read()
    root = ElementTree.fromstring(svg)
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert "a" not in tags and "script" not in tags
    assert not any("href" in key for element in root.iter() for key in element.attrib)
    shown = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert name.split("\n")[0].replace("\u2028", "") in shown.replace("\u2028", "") or \
        name.split("\n")[-1] in shown


# --- determinism, the folded view, the CLI, the benchmark ------------------------------------------
_PRINT_DOT = """
import numpy, tinyseq as ts, sys
sys.path.insert(0, {tests!r})
from test_render import truncated_lstm, demo_seq2seq
ts.set_default_dtype(numpy.float64)
print(truncated_lstm()[0].to_dot(grads=True) + demo_seq2seq().to_dot(grads=True))
"""


def test_dot_text_is_identical_across_runs_and_processes():
    code = _PRINT_DOT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env=dict(os.environ, PYTHONHASHSEED=seed)).stdout
               for seed in ("1", "2")]
    assert outputs[0] and outputs[0] == outputs[1]
    assert not re.search(r"0x[0-9a-fA-F]{6,}", outputs[0])
    tr = truncated_lstm()[0]
    assert tr.to_dot(grads=True) == tr.to_dot(grads=True)


@needs_graphviz
@pytest.mark.parametrize("cell,cells", [("lstm", 1), ("seq2seq", 2)])
def test_rolled_view_draws_one_cell_per_row_with_its_loop(cell, cells, tmp_path):
    tr = traced_example(cell, 4, 3, batch=1, layers=1)
    text = tr.to_dot(rolled=True)
    loops = re.findall(r"^\s*(cell\d+) -> \1 \[label=\"([^\"]+)\"", text, re.M)
    assert len(loops) == cells
    assert all("W_hh" in label for _, label in loops)
    assert tr.render(tmp_path / "rolled.svg", rolled=True).endswith("rolled.svg")


def test_cli_rolled_writes_the_folded_view(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinyseq", "render", "--cell", "gru", "--rolled",
                             "-o", "rolled.dot"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "rolled.dot").read_text(encoding="utf-8")
    assert re.search(r"cell0 -> cell0 \[label=\"h_t-1 → h_t: W_hh, b_hh\"", text)


def test_cli_draws_the_gallerys_picture_by_default(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinyseq", "render", "--cell", "lstm", "--steps",
                             "4", "--hidden", "3", "-o", "bptt.dot"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "bptt.dot").read_text(encoding="utf-8")
    gallery = traced_example("lstm", 4, 3, impl="fused").to_dot(grads=True)
    assert text == gallery


def test_render_time_benchmark_runs():
    """A smoke test with tiny settings (no timing checked): a renamed API breaks it here."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks",
                          "render_time.py")
    result = subprocess.run([sys.executable, script, "--steps", "30", "--hidden", "4", "--batch", "2",
                             "--no-seq2seq"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"LSTM \(fused\), 30 steps: trace \+ backward [0-9.]+ s, drawing [0-9.]+ s",
                     result.stdout)


def test_op_by_op_states_run_along_the_gap_between_steps():
    """h_{t-1} into a lower op of the next step: out of the op's side, down the gap between
    the two boxes, over the op reading it (a route given to neato -n2 in ``pos``)."""
    from tinyseq.render import dot as dot_writer
    drawing = laid_out_drawing(traced_example("lstm", 3, 3, impl="primitive"), collapse=False)
    source = dot_writer.to_dot_text(drawing)
    routed = [e for e in drawing.edges if e.kind == d.STATE and
              drawing.nodes[e.head].y - drawing.nodes[e.tail].y >= 30]
    assert len(routed) == 4                         # h and c, between t = 0, 1, 2
    for edge in routed:
        line = next(x for x in source.splitlines() if f'id="{edge.id}"' in x)
        points = re.search(r'pos="e,[-\d.]+,[-\d.]+ ([^"]+)"', line).group(1).split()
        xs = [float(p.split(",")[0]) for p in points]
        tail_box = drawing.box(drawing.nodes[edge.tail].box)
        head_box = drawing.box(drawing.nodes[edge.head].box)
        gap = [x for x in xs if tail_box.x + tail_box.width < x < head_box.x]
        assert gap, "the route runs down the gap between the boxes"
    collapsed = dot_writer.to_dot_text(laid_out_drawing(traced_example("lstm", 3, 3)))
    assert 'pos="e,' not in collapsed


def test_a_weight_read_only_outside_the_steps_sits_beside_the_op_reading_it():
    """The demo's source embedding and bridge: next to the embedding and the context node,
    not in the band below, so their edges are short."""
    drawing = laid_out_drawing(demo_seq2seq(), grads=True)
    check_edges(drawing)
    names = {n.label: n for n in drawing.nodes.values() if n.kind == d.PARAM}
    for name in ("source_embedding.weight", "bridge.weight", "bridge.bias"):
        param = names[name]
        assert param.id not in drawing.band.nodes, name
        reader = next(drawing.nodes[e.head] for e in drawing.edges if e.tail == param.id)
        assert reader.row is None
        gap = abs(param.x - reader.x) - (param.width + reader.width) / 2
        assert 0 < gap < 30 and abs(param.y - reader.y) < 40, name
    assert "decoder.0.weight_hh" in {drawing.nodes[n].label for n in drawing.band.nodes}


def test_a_loss_per_step_through_a_head_reads_its_own_step_of_the_layers_output():
    """``head(output[t])`` inside ``ts.timestep(t)`` reads step t (not the last step, as
    ``output[-1]`` would): one edge straight up from each step into its loss."""
    ts.manual_seed(0)
    gru, head = nn.GRU(2, 3), nn.Linear(3, 2)
    x, y = ts.randn(5, 1, 2), ts.randn(5, 1, 2)
    with ts.trace() as tr:
        output, _ = gru(x)
        losses = []
        for t in range(5):
            with ts.timestep(t):
                losses.append(F.mse_loss(head(output[t]), y[t]))
        loss = ts.stack(losses).sum()
    loss.backward()
    drawing = laid_out_drawing(tr)
    losses_row = next(row for row in drawing.rows if row.kind == "losses")
    ups = [e for e in drawing.edges
           if e.kind == d.UP and drawing.nodes[e.head].row == losses_row.id]
    steps = sorted((drawing.nodes[e.tail].time_step, drawing.nodes[e.head].time_step) for e in ups)
    assert steps == [(t, t) for t in range(5)]
    check_rows(drawing)
    check_edges(drawing)


def _spline_points(pos):
    """Points along a Graphviz edge's B-spline (its ``pos``), 10 per cubic piece, Graphviz's
    coordinates."""
    controls = [(float(x), float(y)) for tag, x, y in
                re.findall(r"(?:(e|s),)?(-?[\d.]+),(-?[\d.]+)", pos) if not tag]
    points = []
    for k in range(0, len(controls) - 3, 3):
        p0, p1, p2, p3 = controls[k:k + 4]
        for i in range(11):
            u = i / 10
            points.append(tuple((1 - u) ** 3 * a + 3 * (1 - u) ** 2 * u * b
                                + 3 * (1 - u) * u ** 2 * c + u ** 3 * e
                                for a, b, c, e in zip(p0, p1, p2, p3)))
    return points


def stacked_seq2seq(impl="primitive"):
    """A two-layer GRU encoder-decoder with dot attention."""
    ts.manual_seed(2)
    model = nn.Seq2Seq(7, 7, 4, 4, num_layers=2, cell="gru", attention="dot", impl=impl)
    rng = np.random.default_rng(3)
    source = rng.integers(3, 7, size=(1, 4))
    target = np.concatenate([[[1]], rng.integers(3, 7, size=(1, 3))], axis=1)
    with ts.trace() as tr:
        logits, _ = model(source, target)
        loss = model.loss(logits, target)
    loss.backward()
    return tr


@needs_graphviz
@pytest.mark.parametrize("make", [lambda: bidirectional("fused", layers=2), stacked_seq2seq],
                         ids=["bidirectional_2", "stacked_seq2seq"])
def test_edges_between_rows_never_run_through_a_step_box_on_their_way(make):
    """A bidirectional layer's outputs into both directions above, and a stacked encoder's top
    layer into the attention bar, go along the gaps between the boxes: every point of their
    path lies in the step box they leave, the one they enter, or in no step box."""
    tr = make()
    drawing = laid_out_drawing(tr, grads=True)
    graph = graphviz_json(tr.to_dot(grads=True))
    ids = {o["_gvid"]: o["name"] for o in graph["objects"]}
    kinds = {(e.tail, e.head): e.kind for e in drawing.edges}
    checked = 0
    for edge in graph["edges"]:
        tail, head = ids[edge["tail"]], ids[edge["head"]]
        if kinds.get((tail, head)) not in (d.UP, d.ATTENTION):
            continue
        own = {drawing.nodes[tail].box, drawing.nodes[head].box}
        for px, py in _spline_points(edge["pos"]):
            py = drawing.height - py
            inside = [b.id for b in drawing.steps if b.id not in own and
                      b.x + 2 < px < b.x + b.width - 2 and b.y + 2 < py < b.y + b.height - 2]
            assert not inside, f"{tail} -> {head} runs through {inside}"
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("make", [lambda: stacked_seq2seq("fused"),
                                  lambda: stacked_seq2seq("primitive"), one_to_many],
                         ids=["seq2seq_fused", "seq2seq_primitive", "one_to_many"])
def test_no_state_arrow_runs_through_a_node_of_its_steps(make):
    """A stacked decoder's lowest layer (the target embedding under the cell): the step's tap
    sits beside the embedding, not beside the cell on the state arrow's line; one-to-many: the
    output layer's tap beside the output layer, above the state arrow."""
    drawing = laid_out_drawing(make(), grads=True)
    assert not any(row.elided for row in drawing.rows)
    states = [e for e in drawing.edges if e.kind == d.STATE and e.label.startswith("h_")]
    assert len(states) >= 3
    for edge in states:
        tail, head = drawing.nodes[edge.tail], drawing.nodes[edge.head]
        left, right = sorted((tail.x, head.x))
        for box_id in {tail.box, head.box}:
            for node in (drawing.nodes[n] for n in drawing.box(box_id).nodes):
                if node.id in (tail.id, head.id):
                    continue
                across = left < node.x + node.width / 2 and node.x - node.width / 2 < right
                level = abs(node.y - tail.y) < node.height / 2
                assert not (across and level), f"{edge.id} runs through {node.id} {node.label!r}"


def test_a_state_two_ops_of_the_next_step_read_is_named_once():
    """Op by op, a GRU's h_{t-1} feeds W_hh h and z * h: two routed edges, one name h_t and
    one number (two would be written over each other in the gap)."""
    tr = traced_example("gru", 3, 3, impl="primitive")
    drawing = laid_out_drawing(tr, collapse=False, grads=True)
    into_next = [e for e in drawing.edges if e.kind == d.STATE and e.label == "h_0"]
    assert len(into_next) == 2
    text = tr.to_dot(collapse=False, grads=True)
    for t in (0, 1):
        assert len(re.findall(rf'label="h_{t}\\n', text)) == 1
        assert len(re.findall(rf'label="h_{t}"', text)) == 0


@needs_graphviz
def test_the_largest_op_by_op_picture_is_drawn_with_straight_lines_not_graphvizs_curves(tmp_path):
    """Four LSTM layers op by op over 50 steps (the CLI's --ops at its largest): too many edges
    to route around the nodes, so straight lines; Graphviz's ``curved`` enumerates the graph's
    cycles and did not finish in five minutes."""
    tr = traced_example("lstm", 50, 3, layers=4, impl="primitive")
    text = tr.to_dot(collapse=False, grads=True)
    assert "splines=line" in text and "curved" not in text
    svg = tr.render(tmp_path / "ops.svg", collapse=False, grads=True)
    sizes, root = _effective_text_sizes(open(svg, encoding="utf-8").read())
    assert min(sizes) >= 8.99
    width, height = (float(root.get(side).rstrip("pt")) for side in ("width", "height"))
    assert max(width, height) <= 3000


def test_graphviz_running_too_long_gives_an_error_that_says_what_to_do(monkeypatch, tmp_path):
    from tinyseq.render import dot as dot_writer
    monkeypatch.setattr(dot_writer, "GRAPHVIZ_SECONDS", 0.2)
    monkeypatch.setattr(dot_writer, "ENGINE", [sys.executable, "-c", "import time; time.sleep(5)"])
    tr = traced_example("rnn", 3, 2)
    with pytest.raises(RuntimeError, match=r"did not finish in 0.2 s; draw fewer steps "
                                           r"\(first_last=k\)"):
        tr.render(tmp_path / "x.svg")
    assert not (tmp_path / "x.svg").exists()


def test_each_step_above_a_bidirectional_layer_reads_its_own_step_of_both_directions():
    """The layer above reads the two directions' outputs joined (every step all of them): each
    of its steps reads the two outputs of its own step, so a drawing of T steps handles a few
    sources per step, not 2T (1,000 steps took minutes)."""
    from tinyseq.render.plan import Prepared
    tr = bidirectional("fused", layers=2)
    ready = Prepared(tr)
    upper = [row for row in ready.rows if row.name.startswith("layer 1")]
    assert len(upper) == 2
    for index, row in ready.row_of.items():
        if row not in upper:
            continue
        t = ready.ops[index].time_step
        below = sorted((ready.row_of[s].name, ready.ops[s].time_step)
                       for kind, s in ready.sources[index]
                       if kind == "op" and s in ready.row_of and ready.row_of[s] not in upper)
        assert below == [("layer 0", t), ("layer 0 (reverse)", t)]


def test_truncated_bptt_over_many_chunks_elides_their_losses_with_their_steps():
    """20 chunks of 10 steps, the middle ones left out: the losses of the chunks left out go
    into the elided box, the sum of the chunks' losses is one node, and the picture keeps to
    3,000 px (a column of 18 orphan losses and a row of 19 adds made it 4,000 wide)."""
    tr, _ = truncated_lstm(chunks=20, chunk=10)
    drawing = laid_out_drawing(tr, grads=True)
    check_rows(drawing)
    check_edges(drawing)
    assert max(drawing.width, drawing.height) <= 3000
    row = drawing.rows[0]
    assert row.elided and len(row.steps) >= 4
    shown = {c.label.split(":")[0] for c in drawing.chunks}
    assert shown == {"chunk 0", "chunk 19"}
    outside = [n for n in drawing.nodes.values() if n.row is None and n.kind in (d.OP, d.LOSS)]
    assert sorted(n.label.split("\n")[0] for n in outside) == \
        ["pow_scalar", "pow_scalar", "sum", "sum", "sum over chunks"]
    total = next(n for n in outside if n.label.startswith("sum over chunks"))
    assert total.label == "sum over chunks\n20 ops"
    into_total = {e.tail for e in drawing.edges if e.head == total.id}
    assert drawing.nodes["elided"].id in into_total and len(into_total) == 3
    for chunk in drawing.chunks:                    # each shown chunk's loss above it
        above = [n for n in outside if chunk.x < n.x < chunk.x + chunk.width and n.y < chunk.y]
        assert [n.label for n in sorted(above, key=lambda n: n.x)] == ["pow_scalar", "sum"]


@needs_graphviz
@pytest.mark.parametrize("make", [lambda: traced_example("seq2seq", 5, 4, batch=1), demo_seq2seq,
                                  lambda: truncated_lstm()[0],
                                  lambda: traced_example("lstm", 100, 3)],
                         ids=["seq2seq", "demo_seq2seq", "truncated", "lstm_100"])
def test_graphviz_draws_every_node_at_the_layouts_size_and_routes_the_edges(make):
    """Graphviz grows a node whose text needs more room than the layout gave it (an ellipse,
    a bold name), and when two nodes come within about 7 pt it routes no edge and draws every
    edge of the picture straight through whatever lies between."""
    tr = make()
    drawing = laid_out_drawing(tr, grads=True)
    result = subprocess.run(["neato", "-n2", "-Tjson"], input=tr.to_dot(grads=True),
                            capture_output=True, text=True, timeout=60, check=True)
    assert "straight line edges" not in result.stderr, result.stderr
    objects = {o["name"]: o for o in json.loads(result.stdout)["objects"]}
    for node in drawing.nodes.values():
        drawn = objects[node.id]
        assert float(drawn["width"]) * 72 <= node.width + 5, (node.label, drawn["width"])
        assert float(drawn["height"]) * 72 <= node.height + 5, (node.label, drawn["height"])


def test_a_hand_written_input_projection_x_at_w_transposed_plus_b_is_drawn_in_each_step():
    """``x @ W_ih.T + b`` over the whole sequence, sliced per step: no transpose, matmul or
    "data" node outside the steps; x_t in each step, W_ih and b in each step's tap with that
    step's share (the shares add up to .grad)."""
    ts.manual_seed(0)
    W_ih, W_hh = ts.randn(3, 2, requires_grad=True), ts.randn(3, 3, requires_grad=True)
    b = ts.zeros(3, requires_grad=True)
    x = ts.randn(5, 1, 2)
    with ts.trace() as tr:
        projected = x @ W_ih.T + b
        h, loss = ts.zeros(1, 3), 0
        for t in range(5):
            with ts.timestep(t):
                h = ts.tanh(projected[t] + h @ W_hh.T)
                loss = loss + (h ** 2).sum()
    loss.backward()
    for weight in (W_ih, b, W_hh):
        shares = tr.contributions(weight)
        assert [t for t, _ in shares] == [0, 1, 2, 3, 4]
        np.testing.assert_allclose(sum(g for _, g in shares), weight.grad.numpy(),
                                   rtol=0, atol=1e-10)
    drawing = laid_out_drawing(tr, grads=True, params={"W_ih": W_ih, "W_hh": W_hh, "b": b})
    check_rows(drawing)
    check_edges(drawing)
    assert not [n.label for n in drawing.nodes.values()
                if n.row is None and n.kind in (d.OP, d.DATA)]
    for box in drawing.steps:
        nodes = [drawing.nodes[n] for n in box.nodes]
        assert [n.label for n in nodes if n.kind == d.INPUT] == [f"x_{box.time_step}"]
        tap = next(n for n in nodes if n.kind == d.TAP)
        assert {c.label for c in tap.cells} == {"W_ih", "W_hh", "b"}
        assert all(c.value is not None for c in tap.cells)


def test_an_elided_rows_state_runs_level_through_its_elided_box():
    """A stacked decoder over many steps: the elided box of every row stands level with the
    nodes handing the state on (the decoder's lowest layer has its embedding under the cell),
    and no tap stands on that line."""
    drawing = laid_out_drawing(traced_example("seq2seq", 30, 4, layers=2, batch=1), grads=True)
    elided_rows = [row for row in drawing.rows if row.elided]
    assert len(elided_rows) == 4
    for row in elided_rows:
        anchors = [drawing.nodes[a] for a in row.anchors]
        assert anchors and all(a.kind == d.CELL for a in anchors)
        elided = next(n for n in drawing.nodes.values() if n.kind == d.ELIDED and n.row == row.id)
        assert {a.y for a in anchors} == {elided.y}, row.name
        for box in boxes_of(drawing, row):
            anchor = next(drawing.nodes[n] for n in box.nodes if n in row.anchors)
            taps = [drawing.nodes[n] for n in box.nodes if drawing.nodes[n].kind == d.TAP]
            assert all(abs(tap.y - anchor.y) >= (tap.height + anchor.height) / 2 for tap in taps)


def test_a_loss_on_a_fused_lstms_output_over_two_steps_reads_both_steps():
    """A fused LSTM step's record holds h and c: over two steps the output (2, B, H) is as
    large as one record, and was read as the last step only (one edge, no y_0)."""
    fused = laid_out_drawing(traced_example("lstm", 2, 3, impl="fused"))
    primitive = laid_out_drawing(traced_example("lstm", 2, 3, impl="primitive"))
    assert _structure(fused) == _structure(primitive)
    outputs = sorted(n.label for n in fused.nodes.values() if n.kind == d.OUTPUT)
    assert outputs == ["y_0", "y_1"]
    assert [e.label for e in fused.edges if e.kind == d.GATHER] == ["all t"]
    tr, _ = truncated_lstm(chunks=3, chunk=2)        # every chunk two steps long
    drawing = laid_out_drawing(tr)
    assert sorted(n.label for n in drawing.nodes.values() if n.kind == d.OUTPUT) == \
        [f"y_{t}" for t in range(6)]


def test_a_steps_one_tap_stays_down_with_the_input_products_op_by_op():
    """An RNN cell and an output layer per step, drawn op by op: the step's one tap (W_ih,
    W_hh, the output's W and b) sits among the input products at the bottom, not up beside
    the output layer with its W_ih and W_hh edges running down across the step."""
    ts.manual_seed(0)
    cell, out = nn.RNNCell(3, 4), nn.Linear(4, 3)
    x, y = ts.randn(3, 1, 3), ts.randn(3, 1, 3)
    with ts.trace() as tr:
        h, loss = ts.zeros(1, 4), 0
        for t in range(3):
            with ts.timestep(t):
                h = cell(x[t], h)
                loss = loss + F.mse_loss(out(h), y[t])
    loss.backward()
    drawing = laid_out_drawing(tr, collapse=False)
    for box in drawing.steps:
        nodes = [drawing.nodes[n] for n in box.nodes]
        taps = [n for n in nodes if n.kind == d.TAP]
        lowest = max(n.y for n in nodes if n.kind == d.OP)
        assert len(taps) == 1 and taps[0].y == lowest


def test_an_edge_out_of_a_parameter_beside_its_reader_carries_no_number_under_the_box():
    """The demo's source embedding and bridge sit 18 pt from the op reading them: the share
    written on that edge lay under the parameter's box (which shows |grad| itself)."""
    drawing = laid_out_drawing(demo_seq2seq(), grads=True)
    from tinyseq.render import dot as dot_writer
    text = dot_writer.to_dot_text(drawing)
    out_of_params = [e for e in drawing.edges if drawing.nodes[e.tail].kind == d.PARAM]
    assert len(out_of_params) >= 3 and all(e.value is not None for e in out_of_params)
    for edge in out_of_params:
        line = next(x for x in text.splitlines() if f'id="{edge.id}"' in x)
        assert "label=" not in line and f'color="{edge.colour}"' in line

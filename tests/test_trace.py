"""The BPTT tracer (tinyseq/trace.py) and its drawings (tinyseq/render/).

On RNN, LSTM, GRU (also 2-layer bidirectional with lengths) and Seq2Seq (with and without
attention) in float64:
  * the trace has one time step per step of the unrolled loop (Seq2Seq: S + T - 1), and the
    DOT text one ``cluster_t<k>`` box per step, labelled ``t = k``;
  * each shared parameter is one node, defined outside every step box, with exactly one edge
    into each step box that uses it (found by parsing the DOT: which node lies in which box);
  * the per-step gradient contributions add up to ``.grad`` to 1e-10, come from exactly the
    steps that use the parameter, and equal the gradients of per-step (untied) copies;
  * the DOT text is the same for two identically seeded runs; the options collapse,
    first_last, shapes, grads and the nested gate boxes do what they say;
  * rendering (.svg .png .pdf .dot, the fallback without Graphviz), bad input (empty trace,
    unknown parameter, unknown suffix, huge graphs), recording switched off outside the block,
    traces and graphs that are freed, gradient-flow measurements and plots, and the CLI.
"""
import functools
import gc
import importlib
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
import types
import warnings
import weakref
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import autograd, nn
from tinyseq import functional as F
from tinyseq.autograd import state
from tinyseq.nn.recurrent import lstm_step, rnn_step
from tinyseq.trace import gradient_flow

render_module = importlib.import_module("tinyseq.render")
RESHAPING = importlib.import_module("tinyseq.render.plan").RESHAPING
Prepared = importlib.import_module("tinyseq.render.plan").Prepared

HAVE_GRAPHVIZ = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None
needs_graphviz = pytest.mark.skipif(not HAVE_GRAPHVIZ,
                                    reason="Graphviz (dot and the graphviz package) not installed")
MAIN_EXISTS = (Path(ts.__file__).parent / "__main__.py").exists()
needs_cli = pytest.mark.skipif(not MAIN_EXISTS, reason="tinyseq/__main__.py does not exist")

# the primitive path: every gate an op, every weight used once per step
Seq2Seq = functools.partial(nn.Seq2Seq, impl="primitive")
LAYERS = {name: functools.partial(layer, impl="primitive")
          for name, layer in (("RNN", nn.RNN), ("LSTM", nn.LSTM), ("GRU", nn.GRU))}
PAD, SOS, EOS = 0, 1, 2


@pytest.fixture(autouse=True)
def _float64_everywhere(float64):
    """Every test here runs in float64."""


# --- a small DOT parser -----------------------------------------------------------------------
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_SUBGRAPH = re.compile(r"subgraph (\w+) \{")
_NODE = re.compile(r"^\s*(\w+) \[(.*)\];\s*$")
_EDGE = re.compile(r"^\s*(\w+(?::\w+)?) -> (\w+(?::\w+)?)(?: \[(.*)\])?;\s*$")
_STEP_CLUSTER = re.compile(r"^cluster_(?:r\d+_)?t(\d+)$")   # row 0: cluster_t<k>, row i: cluster_r<i>_t<k>
_LABEL = re.compile(r'label=("(?:[^"\\]|\\.)*")')
_HTML_LABEL = re.compile(r"label=<(.*)>(?:,|$)")


def _unquote(text):
    return text[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _html_text(html):
    """The text of an HTML-like label, one line per table row."""
    text = re.sub(r"<[^>]*>", "", html.replace("</tr>", "\n"))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip("\n")


class Dot:
    """What the DOT text defines: nodes (with the step box they lie in), edges, clusters."""

    def __init__(self, text):
        self.text = text
        self.step_of = {}            # node id -> k of the innermost enclosing cluster_t<k>, or None
        self.box_of = {}             # node id -> the innermost enclosing step box's name, or None
        self.definitions = Counter()  # node id -> how many lines define it
        self.label = {}              # node id -> label text
        self.edges = []              # (source, target, attribute text)
        self.clusters = []           # subgraph names in order
        self.parent = {}             # subgraph name -> enclosing subgraph (or "graph")
        self.cluster_label = {}      # subgraph name -> its label text
        stack = []
        awaiting_label = None
        for line in text.splitlines():
            bare = _QUOTED.sub('""', line)
            edge = _EDGE.match(line)
            if edge:
                self.edges.append((edge.group(1), edge.group(2), edge.group(3) or ""))
                continue
            sub = _SUBGRAPH.search(bare)
            if sub:
                name = sub.group(1)
                self.parent[name] = stack[-1] if stack else None
                self.clusters.append(name)
                stack.append(name)
                label = _LABEL.search(line[line.index("{"):])
                if label:
                    self.cluster_label[name] = _unquote(label.group(1))
                    awaiting_label = None
                else:
                    awaiting_label = name
            elif "{" in bare:
                stack.append("graph")
            else:
                node = _NODE.match(line)
                if node and node.group(1) not in ("node", "edge", "graph"):
                    name = node.group(1)
                    self.definitions[name] += 1
                    label = _LABEL.search(node.group(2))
                    html = _HTML_LABEL.search(node.group(2))
                    self.label[name] = _unquote(label.group(1)) if label else \
                        _html_text(html.group(1)) if html else name
                    self.box_of[name] = next((c for c in reversed(stack) if _STEP_CLUSTER.match(c)),
                                             None)
                    self.step_of[name] = None if self.box_of[name] is None else \
                        int(_STEP_CLUSTER.match(self.box_of[name]).group(1))
                elif awaiting_label and _LABEL.search(line):
                    self.cluster_label[awaiting_label] = _unquote(_LABEL.search(line).group(1))
                    awaiting_label = None
            for _ in range(bare.count("}")):
                stack.pop()
        assert not stack, "unbalanced braces in the DOT text"

    @property
    def step_clusters(self):
        """k of every cluster_t<k> box, in the order they are defined."""
        return [int(_STEP_CLUSTER.match(c).group(1)) for c in self.clusters if _STEP_CLUSTER.match(c)]

    def nodes_in_step(self, k):
        return [n for n, s in self.step_of.items() if s == k]

    def node_named(self, name):
        """The one node whose label's first line is ``name`` (a parameter's node)."""
        found = [n for n, label in self.label.items()
                 if label.split("\n")[0] == name and not n.startswith("tap")]
        assert len(found) == 1, f"{name!r} should be drawn exactly once, found nodes {found}"
        assert self.definitions[found[0]] == 1, f"node {found[0]} is defined more than once"
        return found[0]

    def edges_from(self, node):
        return [(target, attributes) for source, target, attributes in self.edges if source == node]


def step_cluster_count(text):
    return len(re.findall(r"cluster_t\d+ \{", text))


def check_step_clusters(text, steps):
    """Exactly one box per step, ``subgraph cluster_t<k> {`` labelled ``t = k``."""
    assert step_cluster_count(text) == len(steps)
    pairs = re.findall(r'subgraph cluster_t(\d+) \{\s*label="t = (\d+)"', text)
    assert [int(a) for a, _ in pairs] == list(steps)
    assert all(a == b for a, b in pairs)


def tap_edges(dot, node):
    """The edges from the cells named after parameter ``node`` in the steps' taps."""
    return [(target, attributes) for source, target, attributes in dot.edges
            if source.startswith("tap") and source.endswith(":" + node)]


def check_parameter_nodes(tr, model, steps_of, box_of=lambda name, t: f"cluster_t{t}", **options):
    """Each parameter: one node, outside every step box, with no edge into any step box; each
    step box that uses it reads it through exactly one edge from its tap (a table of the
    weights the step reads, inside the box), and no other step box does."""
    dot = Dot(tr.to_dot(**options))
    for name, p in model.named_parameters():
        node = dot.node_named(name)
        assert dot.step_of[node] is None, f"{name} is drawn inside step box {dot.step_of[node]}"
        assert all(dot.box_of.get(target) is None for target, attributes in dot.edges_from(node)
                   if "invis" not in attributes), name
        into_steps = Counter(dot.box_of.get(target) for target, _ in tap_edges(dot, node))
        expected = [box_of(name, t) for t in steps_of(name) if t is not None]
        assert into_steps == Counter(expected), name
        for target, _ in tap_edges(dot, node):
            tap = next(s for s, t, _ in dot.edges if t == target and s.endswith(":" + node))
            assert dot.box_of[tap.split(":")[0]] == dot.box_of[target]   # the tap is in the box
    return dot


def check_seq2seq_rows(text, source_len, decoder_steps):
    """A named encoder row of boxes cluster_t<k> and a named decoder row of boxes
    cluster_r1_t<k>, each labelled ``t = k`` and numbering its own steps from 0."""
    dot = Dot(text)
    assert dot.cluster_label["cluster_row0"] == "encoder"
    assert dot.cluster_label["cluster_row1"] == "decoder"
    encoder = [c for c in dot.clusters if dot.parent[c] == "cluster_row0" and _STEP_CLUSTER.match(c)]
    decoder = [c for c in dot.clusters if dot.parent[c] == "cluster_row1" and _STEP_CLUSTER.match(c)]
    assert encoder == [f"cluster_t{k}" for k in range(source_len)]
    assert decoder == [f"cluster_r1_t{k}" for k in range(decoder_steps)]
    for box in encoder + decoder:
        assert dot.cluster_label[box] == f"t = {_STEP_CLUSTER.match(box).group(1)}"
    return dot


def seq2seq_box(source_len):
    """The step box of global step t: the encoder's t, or the decoder's t - S."""
    return lambda name, t: f"cluster_t{t}" if t < source_len else f"cluster_r1_t{t - source_len}"


def layer_box(bidirectional):
    """The step box of a layer's parameter: one row per layer and direction, in the order
    they run (layer 0, its reverse direction, layer 1, ...)."""
    def box(name, t):
        match = re.search(r"_l(\d+)(_reverse)?$", name)
        row = int(match.group(1)) * (2 if bidirectional else 1) + bool(match.group(2))
        return f"cluster_t{t}" if row == 0 else f"cluster_r{row}_t{t}"
    return box


def module_nodes(dot, nodes):
    """The nodes that stand for a module's ops of one step (not the taps and the x[t] or
    output[t] nodes next to them)."""
    return [n for n in nodes if re.search(r"\d+ ops?\b", dot.label[n])]


def check_contributions(tr, model, steps_of):
    """Contributions come from exactly the steps that use each parameter and add up to .grad."""
    for name, p in model.named_parameters():
        contributions = tr.contributions(p)
        assert [t for t, _ in contributions] == list(steps_of(name)), name
        for _, g in contributions:
            assert g.shape == tuple(p.shape) and g.dtype == np.float64
        total = sum(g for _, g in contributions)
        np.testing.assert_allclose(total, p.grad.numpy(), rtol=0, atol=1e-10, err_msg=name)
        assert np.abs(p.grad.numpy()).max() > 0, name


# --- models -------------------------------------------------------------------------------------
def traced_layer(kind, steps=4, batch=2, input_size=2, hidden=3, num_layers=1,
                 bidirectional=False, lengths=None, impl="primitive"):
    model = getattr(nn, kind)(input_size, hidden, num_layers=num_layers,
                              bidirectional=bidirectional, impl=impl)
    x = ts.randn(steps, batch, input_size)
    y = ts.randn(steps, batch, hidden * (2 if bidirectional else 1))
    with ts.trace() as tr:
        output, _ = model(x, lengths=lengths)
        loss = F.mse_loss(output, y)
    loss.backward()
    return tr, model


def seq2seq_batch():
    source = np.array([[3, 4, 5], [4, 5, PAD]])
    target = np.array([[SOS, 3, 4, EOS], [SOS, 5, EOS, PAD]])
    return source, np.array([3, 2]), target


def traced_seq2seq(cell, attention):
    model = Seq2Seq(7, 6, embedding_dim=3, hidden_size=4, cell=cell, attention=attention)
    source, lengths, target = seq2seq_batch()
    with ts.trace() as tr:
        logits, _ = model(source, target, source_lengths=lengths)
        loss = model.loss(logits, target)
    loss.backward()
    return tr, model, source.shape[1], target.shape[1]


def drawn_layer_steps(steps):
    """The steps whose tap names each parameter of a layer: all of them (the input projection
    of all steps at once is drawn as U x_t inside each step)."""
    return lambda name: list(range(steps))


def drawn_seq2seq_steps(source_len, target_len):
    def steps_of(name):
        if name.startswith("source_embedding."):
            return []                                       # one lookup for the whole source
        if name.startswith("encoder."):
            return list(range(source_len))
        return list(range(source_len, source_len + target_len - 1))   # decoder steps
    return steps_of


def layer_steps_of(steps):
    """The steps that use each parameter of a primitive layer: the input projection of all
    steps is one product outside any step; the recurrent weights are used at every step."""
    def steps_of(name):
        return [None] if "_ih" in name else list(range(steps))
    return steps_of


def projection_split(steps_of, projection_steps):
    """The steps of each parameter's contributions: as ``steps_of``, except that the input
    projection of all steps in one product (W_ih, b_ih; drawn outside the steps) has its
    gradient split per step by the trace."""
    def steps_of_contributions(name):
        steps = steps_of(name)
        return list(projection_steps) if steps == [None] and "_ih" in name else steps
    return steps_of_contributions


def seq2seq_steps_of(source_len, target_len):
    def steps_of(name):
        if name.startswith("source_embedding."):
            return [None]                                   # one lookup for the whole source
        if name.startswith("encoder.") and "_ih" in name:
            return [None]                                   # the encoder's input projection
        if name.startswith("encoder."):
            return list(range(source_len))
        return list(range(source_len, source_len + target_len - 1))   # decoder steps
    return steps_of


LAYER_CASES = [(kind, config) for kind in LAYERS for config in ("plain", "bidirectional")]


def layer_case(kind, config, steps=4):
    if config == "plain":
        return traced_layer(kind, steps=steps)
    return traced_layer(kind, steps=steps, num_layers=2, bidirectional=True, lengths=[steps, 2])


# --- RNN / LSTM / GRU: steps, boxes, parameter nodes, contributions --------------------------
@pytest.mark.parametrize("kind,config", LAYER_CASES)
def test_layer_steps_and_step_clusters(kind, config):
    steps = 4
    tr, model = layer_case(kind, config, steps)
    assert tr.steps == steps
    assert tr.time_steps == list(range(steps))
    text = tr.to_dot(collapse=False, max_nodes=600)
    check_step_clusters(text, range(steps))
    dot = Dot(text)
    rows = 1 if config == "plain" else 4                    # one row per layer and direction
    assert dot.step_clusters == list(range(steps)) * rows
    # every op of step k drawn is drawn inside box k, and ops outside any step outside every
    # box; left out are plumbing (slices, stacks), the projection of all steps at once (drawn
    # in each step) and the ops outside the steps that lead nowhere the gradient went
    for record in tr.ops:
        if f"op{record.index}" in dot.step_of:
            assert dot.step_of[f"op{record.index}"] == record.time_step
        else:
            assert record.kind in RESHAPING or record.grad_norm is None or \
                any(kind == "param" for kind, _ in record.inputs)


@pytest.mark.parametrize("kind,config", LAYER_CASES)
def test_layer_parameters_drawn_once_with_one_edge_per_step(kind, config):
    steps = 4
    tr, model = layer_case(kind, config, steps)
    names = [name for name, _ in model.named_parameters()]
    assert sorted(leaf.name for leaf in tr.parameters()) == sorted(names)
    check_parameter_nodes(tr, model, drawn_layer_steps(steps), layer_box(config != "plain"))


@pytest.mark.parametrize("kind,config", LAYER_CASES)
def test_layer_contributions_sum_to_grad(kind, config):
    steps = 4
    tr, model = layer_case(kind, config, steps)
    check_contributions(tr, model, projection_split(layer_steps_of(steps), range(steps)))
    norms = tr.contribution_norms(model.weight_hh_l0)
    assert [t for t, _ in norms] == list(range(steps))
    for (t, norm), (_, g) in zip(norms, tr.contributions(model.weight_hh_l0)):
        assert norm == pytest.approx(np.linalg.norm(g), rel=1e-12)


@pytest.mark.parametrize("step,kind", [(rnn_step, "RNN"), (lstm_step, "LSTM")])
def test_layer_contributions_equal_gradients_of_untied_per_step_weights(step, kind):
    """Contribution t of a tied weight = the gradient of a private copy used only at step t
    (the fused layer op reports each step's share of every weight)."""
    steps, batch, hidden = 4, 2, 3
    model = getattr(nn, kind)(2, hidden)
    x = ts.randn(steps, batch, 2)
    with ts.trace() as tr:
        output, _ = model(x)
        loss = (output ** 2).sum()
    loss.backward()

    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    copies = [[ts.tensor(getattr(model, n).numpy(), requires_grad=True) for n in names]
              for _ in range(steps)]
    zeros = ts.zeros(batch, hidden)
    state_ = (zeros, zeros) if kind == "LSTM" else zeros
    total = 0
    for t in range(steps):
        state_ = step(x[t], state_, *copies[t])
        h = state_[0] if kind == "LSTM" else state_
        total = total + (h ** 2).sum()
    total.backward()
    for i, n in enumerate(names):
        contributions = dict(tr.contributions(getattr(model, n)))
        for t in range(steps):
            np.testing.assert_allclose(contributions[t], copies[t][i].grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{n} at t={t}")
    # the initial state is zero, so W_hh gets nothing from step 0
    assert np.abs(dict(tr.contributions(model.weight_hh_l0))[0]).max() == 0.0


# --- Seq2Seq ----------------------------------------------------------------------------------
SEQ2SEQ_CASES = [("gru", None), ("lstm", None), ("rnn", "dot"), ("gru", "general"), ("lstm", "additive")]


@pytest.mark.parametrize("cell,attention", SEQ2SEQ_CASES)
def test_seq2seq_steps_follow_encoder_then_decoder(cell, attention):
    tr, model, source_len, target_len = traced_seq2seq(cell, attention)
    total = source_len + target_len - 1
    assert tr.steps == total
    assert tr.time_steps == list(range(total))
    check_seq2seq_rows(tr.to_dot(), source_len, target_len - 1)
    # the encoder's per-step ops carry steps 0..S-1 (its batch-wide ops, e.g. the final stack,
    # none), the decoder cell's ops S..S+T-2 only
    encoder_steps = {r.time_step for r in tr.ops if r.module_path.startswith("encoder")}
    decoder_steps = {r.time_step for r in tr.ops if r.module_path.startswith("decoder")}
    assert encoder_steps - {None} == set(range(source_len))
    assert decoder_steps == set(range(source_len, total))


@pytest.mark.parametrize("cell,attention", SEQ2SEQ_CASES)
def test_seq2seq_parameters_drawn_once_with_one_edge_per_step(cell, attention):
    tr, model, source_len, target_len = traced_seq2seq(cell, attention)
    steps_of = drawn_seq2seq_steps(source_len, target_len)
    dot = check_parameter_nodes(tr, model, steps_of, seq2seq_box(source_len))
    # the source embedding is one lookup outside the steps: one edge, into no step box
    node = dot.node_named("source_embedding.weight")
    targets = [(t, a) for t, a in dot.edges_from(node) if "invis" not in a]
    assert len(targets) == 1 and dot.step_of[targets[0][0]] is None


@pytest.mark.parametrize("cell,attention", SEQ2SEQ_CASES)
def test_seq2seq_contributions_sum_to_grad_per_step(cell, attention):
    tr, model, source_len, target_len = traced_seq2seq(cell, attention)
    steps_of = projection_split(seq2seq_steps_of(source_len, target_len), range(source_len))
    check_contributions(tr, model, steps_of)
    # the output layer has a contribution of its own at every decoder step
    decoder_steps = list(range(source_len, source_len + target_len - 1))
    norms = tr.contribution_norms(model.output.weight)
    assert [t for t, _ in norms] == decoder_steps
    assert all(norm > 0 for _, norm in norms)
    if attention == "additive":
        assert [t for t, _ in tr.contributions(model.attention.score_vector)] == decoder_steps


# --- a hand-written loop over a plain leaf tensor ------------------------------------------------
def test_hand_written_loop_with_plain_leaf_tensor():
    steps, batch, size = 5, 2, 3
    w = ts.randn(size, size, requires_grad=True)      # a plain leaf, not a Parameter
    with ts.no_grad():
        w.array *= 0.5
    xs = ts.randn(steps, batch, size)
    h = ts.zeros(batch, size)
    with ts.trace() as tr:
        for t in range(steps):
            with ts.timestep(t):
                h = (xs[t] + h @ w).tanh()
        loss = (h ** 2).sum()
    loss.backward()

    assert tr.steps == steps
    assert [leaf.name for leaf in tr.parameters()] == ["leaf"]
    contributions = tr.contributions(w)
    assert [t for t, _ in contributions] == list(range(steps))
    np.testing.assert_allclose(sum(g for _, g in contributions), w.grad.numpy(), rtol=0, atol=1e-10)
    assert np.abs(contributions[0][1]).max() == 0.0          # h_0 = 0
    assert all(np.abs(g).max() > 0 for _, g in contributions[1:])

    # the same loop with a private copy of w per step: copy t's gradient is contribution t
    copies = [ts.tensor(w.numpy(), requires_grad=True) for _ in range(steps)]
    h = ts.zeros(batch, size)
    for t in range(steps):
        h = (xs[t] + h @ copies[t]).tanh()
    (h ** 2).sum().backward()
    for (t, g), copy in zip(contributions, copies):
        np.testing.assert_allclose(g, copy.grad.numpy(), rtol=1e-10, atol=1e-13)

    check_step_clusters(tr.to_dot(), range(steps))
    dot = Dot(tr.to_dot())
    node = dot.node_named("tensor 0 (3, 3)")            # no module names it: its shape does
    assert dot.step_of[node] is None
    named = Dot(tr.to_dot(params={"W": w}))
    assert named.step_of[named.node_named("W")] is None
    assert Counter(dot.step_of[target] for target, _ in tap_edges(dot, node)) == Counter(range(steps))


def test_contributions_outside_any_step_have_time_step_none():
    w = ts.randn(3, 3, requires_grad=True)
    x = ts.randn(2, 3)
    with ts.trace() as tr:
        a = x @ w                                   # outside any step
        with ts.timestep(0):
            b = a @ w
        with ts.timestep(1):
            c = b @ w
        loss = c.sum()
    loss.backward()
    contributions = tr.contributions(w)
    assert [t for t, _ in contributions] == [None, 0, 1]
    np.testing.assert_allclose(sum(g for _, g in contributions), w.grad.numpy(), rtol=0, atol=1e-10)
    assert tr.steps == 2


@pytest.mark.parametrize("kind", LAYERS)
def test_primitive_layer_splits_its_input_projection_per_step_as_the_fused_layer(kind):
    """W_ih and b_ih of a primitive layer (one product over all steps) get the same per-step
    shares as the fused layer's, for every layer and direction."""
    shares = {}
    for impl in ("fused", "primitive"):
        ts.manual_seed(0)
        tr, model = traced_layer(kind, steps=5, num_layers=2, bidirectional=True,
                                 lengths=[5, 3], impl=impl)
        check_contributions(tr, model, lambda name: list(range(5)))
        shares[impl] = {name: tr.contributions(p) for name, p in model.named_parameters()}
    for name, fused in shares["fused"].items():
        for (t, a), (s, b) in zip(fused, shares["primitive"][name]):
            assert t == s
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=f"{name} at t={t}")


@pytest.mark.parametrize("batch_first", [False, True])
def test_hand_written_projection_of_all_steps_is_split_per_step(batch_first):
    """x @ U.T + b over the whole sequence inside ts.timestep(range(T)): U's and b's shares
    per step equal the gradients of private copies used at one step each."""
    steps, batch, size = 4, 2, 3
    U, W, b = (ts.randn(*shape, requires_grad=True) for shape in ((size, 2), (size, size), (size,)))
    x = ts.randn(batch, steps, 2) if batch_first else ts.randn(steps, batch, 2)
    with ts.trace() as tr:
        with ts.timestep(range(steps), axis=1 if batch_first else 0):
            projected = x @ U.T + b
        h = ts.zeros(batch, size)
        for t in range(steps):
            with ts.timestep(t):
                x_t = projected[:, t] if batch_first else projected[t]
                h = (x_t + h @ W.T).tanh()
        loss = (h ** 2).sum()
    loss.backward()
    at_once = [r for r in tr.ops if r.steps_at_once is not None]
    assert [r.kind for r in at_once] == ["matmul", "add"]          # U.T alone is no step's
    for record in at_once:
        assert record.steps_at_once == tuple(range(steps))
        assert record.time_axis == (1 if batch_first else 0)

    copies = [[ts.tensor(p.numpy(), requires_grad=True) for p in (U, b)] for _ in range(steps)]
    h = ts.zeros(batch, size)
    for t, (U_t, b_t) in enumerate(copies):
        x_t = x[:, t] if batch_first else x[t]
        h = (x_t @ U_t.T + b_t + h @ W.detach().T).tanh()
    (h ** 2).sum().backward()
    for i, p in enumerate((U, b)):
        contributions = tr.contributions(p)
        assert [t for t, _ in contributions] == list(range(steps))
        for t, g in contributions:
            np.testing.assert_allclose(g, copies[t][i].grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sum(g for _, g in contributions), p.grad.numpy(), rtol=0,
                                   atol=1e-10)


def test_a_product_of_all_steps_outside_timestep_range_stays_one_term():
    """Without ts.timestep(range(T)) the trace cannot know which axis is time: the product's
    share is one term, step None."""
    U = ts.randn(3, 2, requires_grad=True)
    x = ts.randn(4, 2, 2)
    with ts.trace() as tr:
        projected = x @ U.T
        loss = sum((projected[t] ** 2).sum() for t in range(4))
    loss.backward()
    assert [t for t, _ in tr.contributions(U)] == [None]


def test_timestep_takes_integers_of_any_type_and_refuses_the_rest():
    with ts.timestep(np.int64(3)):
        assert type(state.time_step) is int and state.time_step == 3
    with ts.timestep(np.uint8(2)):
        assert type(state.time_step) is int
    for bad in (1.0, np.float32(2), True, "3", None):
        with pytest.raises(TypeError, match="timestep: t must be an int"):
            ts.timestep(bad)
    with pytest.raises(ValueError, match="timestep: t must be a non-negative int, got -1"):
        ts.timestep(-1)
    with pytest.raises(ValueError, match="non-empty"):
        ts.timestep(range(0))
    with ts.timestep(range(3)):
        assert state.time_step is None and state.steps_at_once == (range(3), 0)
        with ts.timestep(1):
            assert state.time_step == 1 and state.steps_at_once is None
    assert state.time_step is None and state.steps_at_once is None


def test_contributions_ignore_later_untraced_backward():
    model = LAYERS["RNN"](2, 3)
    x = ts.randn(3, 2, 2)
    with ts.trace() as tr:
        loss = (model(x)[0] ** 2).sum()
    loss.backward()
    before = [(t, g.copy()) for t, g in tr.contributions(model.weight_hh_l0)]
    (model(x)[0] ** 2).sum().backward()               # same loss again, not traced
    after = tr.contributions(model.weight_hh_l0)
    assert [t for t, _ in after] == [t for t, _ in before]
    for (_, g0), (_, g1) in zip(before, after):
        np.testing.assert_array_equal(g0, g1)
    np.testing.assert_allclose(2 * sum(g for _, g in after), model.weight_hh_l0.grad.numpy(),
                               rtol=0, atol=1e-10)


# --- determinism ---------------------------------------------------------------------------------
def _seeded_lstm_trace():
    ts.manual_seed(0)
    model = LAYERS["LSTM"](2, 3)
    x, y = ts.randn(4, 2, 2), ts.randn(4, 2, 3)
    with ts.trace() as tr:
        loss = F.mse_loss(model(x)[0], y)
    loss.backward()
    return tr


def _seeded_seq2seq_trace():
    ts.manual_seed(0)
    return traced_seq2seq("gru", "additive")[0]


@pytest.mark.parametrize("make", [_seeded_lstm_trace, _seeded_seq2seq_trace], ids=["lstm", "seq2seq"])
def test_dot_text_is_identical_across_runs(make):
    first, second = make(), make()
    assert first.to_dot() == second.to_dot()
    assert first.to_dot(grads=True, collapse=True) == second.to_dot(grads=True, collapse=True)
    assert first.to_dot(shapes=True, grads=True) == second.to_dot(shapes=True, grads=True)
    text = first.to_dot()
    assert not re.search(r"0x[0-9a-fA-F]{6,}", text)       # no memory addresses
    # leaf ids are positions in order of first use, not ids of objects
    leaf_ids = [int(n[1:]) for n in Dot(text).definitions if re.fullmatch(r"[pd]\d+", n)]
    assert len(set(leaf_ids)) == len(leaf_ids) and set(leaf_ids) <= set(range(len(first.leaves)))
    assert {f"p{first.leaf_order[leaf.key]}" for leaf in first.parameters()} <= set(Dot(text).definitions)


# --- drawing options -----------------------------------------------------------------------------
def test_collapse_gives_one_node_per_step_and_module():
    steps = 5
    tr, model = traced_layer("LSTM", steps=steps)
    full, collapsed = Dot(tr.to_dot(collapse=False)), Dot(tr.to_dot(collapse=True))
    assert collapsed.text == tr.to_dot()                     # collapsing is the default
    check_step_clusters(collapsed.text, range(steps))
    assert len(collapsed.definitions) * 2 < len(full.definitions)
    for k in range(steps):
        modules = {r.module_path for r in tr.ops if r.time_step == k}
        nodes = module_nodes(collapsed, collapsed.nodes_in_step(k))
        assert len(nodes) == len(modules) == 1
        counted = sum(int(re.search(r"(\d+) ops?\b", collapsed.label[n]).group(1)) for n in nodes)
        assert counted == drawn_ops_in_step(tr, k)
    assert "input gate i" not in collapsed.text              # no nested gate boxes
    check_parameter_nodes(tr, model, drawn_layer_steps(steps), collapse=True)


def drawn_ops_in_step(tr, k):
    """How many of step k's ops a picture draws: all but the plumbing."""
    ready = Prepared(tr)
    return sum(1 for i in ready.shown if ready.ops[i].time_step == k)


def test_collapse_on_seq2seq_draws_each_step_as_one_node():
    tr, model, source_len, target_len = traced_seq2seq("lstm", "additive")
    collapsed = check_seq2seq_rows(tr.to_dot(collapse=True), source_len, target_len - 1)
    total = source_len + target_len - 1
    box = seq2seq_box(source_len)
    in_box = lambda k: [n for n, b in collapsed.box_of.items() if b == box("", k)]  # noqa: E731
    for k in range(total):
        nodes = module_nodes(collapsed, in_box(k))
        assert len(nodes) == 1                # a decoder step as compact as an encoder step
        assert int(re.search(r"(\d+) ops?\b", collapsed.label[nodes[0]]).group(1)) == \
            drawn_ops_in_step(tr, k)
    decoder = collapsed.label[module_nodes(collapsed, in_box(source_len))[0]]
    assert "attention" in decoder and "output" in decoder   # the modules it ran, named
    check_parameter_nodes(tr, model, drawn_seq2seq_steps(source_len, target_len), box, collapse=True)


def test_first_last_elides_the_middle_steps():
    steps, k = 20, 3
    tr, model = traced_layer("RNN", steps=steps, impl="fused")     # every weight used per step
    text = tr.to_dot(first_last=k, collapse=False)
    dot = Dot(text)
    shown = list(range(k)) + list(range(steps - k, steps))
    check_step_clusters(text, shown)
    assert dot.definitions["elided"] == 1
    assert dot.step_of["elided"] is None
    assert f"{steps - 2 * k} steps" in dot.label["elided"]
    assert f"t = {k}..{steps - k - 1}" in dot.label["elided"]
    # no op of an elided step is drawn
    for record in tr.ops:
        drawn = f"op{record.index}" in dot.definitions
        if record.time_step is not None:
            assert drawn == (record.time_step in shown)
    for name, _ in model.named_parameters():
        node = dot.node_named(name)
        targets = tap_edges(dot, node)
        into_shown = Counter(dot.step_of[t] for t, _ in targets if t != "elided")
        assert into_shown == Counter(shown)
        # the elided steps read each weight through one tap of their own, outside every box
        elided = [s for s, t, _ in dot.edges if t == "elided" and s.endswith(":" + node)]
        assert len(elided) == 1 and dot.step_of[elided[0].split(":")[0]] is None
    # the recurrence runs into and out of the elided block
    assert any(t == "elided" and dot.step_of.get(s) == k - 1 for s, t, _ in dot.edges)
    assert any(s == "elided" and dot.step_of.get(t) == steps - k for s, t, _ in dot.edges)
    # k large enough to show everything: nothing elided
    assert "elided" not in Dot(tr.to_dot(first_last=steps // 2)).definitions
    assert step_cluster_count(tr.to_dot(first_last=steps // 2)) == steps
    # without first_last, rows longer than max_steps keep their first and last 10 steps (or
    # max_steps // 2)
    # max_steps // 2), or fewer if they do not fit 3,000 px
    assert step_cluster_count(tr.to_dot(max_steps=12)) == 12
    assert 2 <= step_cluster_count(tr.to_dot(max_steps=19)) <= 18


def test_shapes_option_prints_output_shapes():
    tr, _ = traced_layer("RNN", steps=3, batch=2, hidden=3)
    with_shapes = Dot(tr.to_dot(shapes=True, collapse=False))
    without = Dot(tr.to_dot(collapse=False))
    tanh_nodes = [f"op{r.index}" for r in tr.ops if r.kind == "tanh"]
    assert len(tanh_nodes) == 3
    for node in tanh_nodes:
        assert with_shapes.label[node] == "tanh\n(2, 3)"
        assert without.label[node] == "tanh"
    stacked = [r for r in tr.ops if r.kind == "stack"][0]        # plumbing, drawn when asked
    plumbing = Dot(tr.to_dot(shapes=True, collapse=False, plumbing=True))
    assert plumbing.label[f"op{stacked.index}"].endswith("(3, 2, 3)")
    # collapsed nodes show the shape of the last op of the block
    collapsed = Dot(tr.to_dot(collapse=True, shapes=True))
    nodes = module_nodes(collapsed, collapsed.nodes_in_step(1))
    assert nodes and all(collapsed.label[n].endswith("(2, 3)") for n in nodes)


def _hue(attributes):
    match = re.search(r'\bcolor="([0-9.]+) 0\.850 0\.850"', attributes)
    assert match, attributes
    return float(match.group(1))


def _edge_label(attributes):
    """The number an edge is labelled with (the last line of its ``label``)."""
    return float(_unquote(re.search(r'\blabel=("(?:[^"\\]|\\.)*")', attributes).group(1)).split("\n")[-1])


def test_grads_option_labels_and_colours_edges():
    steps = 5
    tr, model = traced_layer("RNN", steps=steps, impl="fused")     # every weight used per step
    plain = Dot(tr.to_dot())
    assert not any(re.search(r'\bx?label="[0-9.e+-]+"', attributes) for _, _, attributes in plain.edges)
    assert "|grad|" not in plain.text

    dot = Dot(tr.to_dot(grads=True))
    drawing = render_module.graph.drawing(tr, grads=True)
    shares = []
    for name, p in model.named_parameters():
        node = dot.node_named(name)
        grad_norm = float(re.search(r"\|grad\| = ([0-9.e+-]+)", dot.label[node]).group(1))
        assert grad_norm == pytest.approx(np.linalg.norm(p.grad.numpy()), rel=5e-3)
        norms = dict(tr.contribution_norms(p))
        # each step's tap edge carries that step's share (the tap cell shows its colour)
        edges = {drawing.nodes[e.head].time_step: e for e in drawing.edges
                 if e.kind == "tap" and e.tail_port == node}
        assert sorted(edges) == list(range(steps))
        for t, edge in edges.items():
            assert edge.value == pytest.approx(norms[t], rel=1e-12, abs=1e-300)
            attributes = f'color="{edge.colour}"'
            assert 0.0 <= _hue(attributes) <= 0.66
            assert f'color="{edge.colour}"' in next(a for s, _, a in dot.edges
                                                    if s == f"{edge.tail}:{node}")
            if norms[t] > 0:
                shares.append((norms[t], _hue(attributes)))
    # one heat scale for every weight's per-step shares (the legend's): largest red, smallest blue
    assert max(shares)[1] == 0.0
    assert min(shares)[1] == pytest.approx(0.66)
    # recurrent edges carry the norm of the gradient flowing back through the state
    state_norms = tr.state_grad_norms()
    crossing = [(s, t, a) for s, t, a in dot.edges
                if dot.step_of.get(s) is not None and dot.step_of.get(t) is not None
                and dot.step_of[s] != dot.step_of[t] and "invis" not in a]
    assert len(crossing) == steps - 1
    for source, target, attributes in crossing:
        assert dot.step_of[target] == dot.step_of[source] + 1
        assert _edge_label(attributes) == pytest.approx(state_norms[dot.step_of[source]], rel=0.06)
        assert 0.0 <= _hue(attributes) <= 0.66


@pytest.mark.parametrize("kind,gates", [
    ("LSTM", ["input gate i", "forget gate f", "candidate g", "output gate o"]),
    ("GRU", ["reset gate r", "update gate z", "candidate n"]),
])
def test_gate_ops_are_named_by_their_gate_in_every_step(kind, gates):
    steps = 3
    tr, _ = traced_layer(kind, steps=steps)
    dot = Dot(tr.to_dot(collapse=False))
    for gate in gates:
        named = [n for n, label in dot.label.items() if label.split("\n")[-1] == gate]
        per_step = Counter(dot.step_of[n] for n in named)
        assert sorted(per_step) == list(range(steps)) and len(set(per_step.values())) == 1, gate
        for node in named:                  # the op drawn is one of the gate's ops
            k = dot.step_of[node]
            assert tr.ops[int(node[2:])].scope.endswith(gate) and tr.ops[int(node[2:])].time_step == k
    assert "input gate i" not in tr.to_dot(collapse=True)


# --- gradient flow -------------------------------------------------------------------------------
def _small_tanh_rnn(steps=10):
    model = LAYERS["RNN"](3, 4)
    with ts.no_grad():
        for p in model.parameters():
            p.array *= 0.5
    assert np.linalg.norm(model.weight_hh_l0.numpy(), 2) < 1.0
    return model, ts.randn(steps, 2, 3)


def test_state_grad_norms_vanish_backwards_for_small_tanh_rnn():
    steps = 10
    model, x = _small_tanh_rnn(steps)
    with ts.trace() as tr:
        output, _ = model(x)
        loss = (output[-1] ** 2).sum()                 # many-to-one: only the last output
    loss.backward()
    norms = tr.state_grad_norms()
    assert sorted(norms) == list(range(steps))
    values = [norms[t] for t in range(steps)]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert all(a < b for a, b in zip(values, values[1:]))      # smaller going back in time
    assert values[0] < 1e-2 * values[-1]
    # dL/dh_{T-1} = 2 h_{T-1}
    assert values[-1] == pytest.approx(np.linalg.norm(2 * output.numpy()[-1]), rel=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_state_grad_norms_have_one_entry_per_step(kind):
    tr, _ = traced_layer(kind, steps=4)
    norms = tr.state_grad_norms()
    assert sorted(norms) == [0, 1, 2, 3]
    assert all(math.isfinite(v) and v > 0 for v in norms.values())


def test_gradient_flow_returns_per_step_lists():
    steps = 8
    model, x = _small_tanh_rnn(steps)

    def loss_fn():
        return (model(x)[0][-1] ** 2).sum()

    flow = gradient_flow(loss_fn, model.weight_hh_l0)
    assert flow["steps"] == list(range(steps))
    for key in ("state_grad_norms", "weight_contribution_norms"):
        assert len(flow[key]) == steps
        assert all(math.isfinite(v) and v >= 0 for v in flow[key])
    assert flow["weight_contribution_norms"][0] == 0.0         # h_0 = 0
    assert all(v > 0 for v in flow["weight_contribution_norms"][1:])
    assert flow["state_grad_norms"][0] < flow["state_grad_norms"][-1]
    assert flow["loss"] == pytest.approx(loss_fn().item(), rel=1e-12)
    # the per-step norms add up (as vectors) to the gradient it accumulated
    with ts.trace() as tr:
        loss = loss_fn()
    model.weight_hh_l0.grad = None
    loss.backward()
    assert [n for _, n in tr.contribution_norms(model.weight_hh_l0)] == \
        pytest.approx(flow["weight_contribution_norms"], rel=1e-12)


def test_plot_gradient_flow_writes_svg(tmp_path):
    pytest.importorskip("matplotlib")
    flows = {}
    for kind in ("RNN", "LSTM"):
        model = LAYERS[kind](2, 3)
        x = ts.randn(6, 1, 2)
        flows[kind] = gradient_flow(lambda: (model(x)[0][-1] ** 2).sum(), model.weight_hh_l0)
    path = tmp_path / "flow.svg"
    render_module.plot_gradient_flow(flows, path)
    content = path.read_text()
    assert "<svg" in content and len(content) > 1000
    # the same figure gives the same file: no date, no random ids (a regenerated gallery only
    # changes where the picture does)
    assert "<dc:date>" not in content
    render_module.plot_gradient_flow(flows, tmp_path / "again.svg")
    assert (tmp_path / "again.svg").read_text() == content


# --- rendering ------------------------------------------------------------------------------------
@pytest.fixture
def small_trace():
    tr, _ = traced_layer("RNN", steps=3)
    return tr


@needs_graphviz
def test_render_svg(small_trace, tmp_path):
    path = tmp_path / "g.svg"
    assert small_trace.render(path) == str(path)
    content = path.read_text()
    assert content.startswith("<?xml") or "<svg" in content
    assert "<svg" in content and "t = 2" in content            # the step boxes made it
    assert "weight_hh_l0" in content


@needs_graphviz
def test_render_png_and_pdf(small_trace, tmp_path):
    small_trace.render(str(tmp_path / "g.png"), grads=True)
    small_trace.render(tmp_path / "g.pdf", collapse=True)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pdf", "g.png"]   # no leftovers


def test_render_dot_writes_the_dot_text(small_trace, tmp_path):
    path = tmp_path / "g.dot"
    assert small_trace.render(path, collapse=True, grads=True) == str(path)
    assert path.read_text(encoding="utf-8") == small_trace.to_dot(collapse=True, grads=True)


def test_render_without_dot_writes_dot_source_and_warns(small_trace, tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.import_module("tinyseq.render.dot"), "shutil", types.SimpleNamespace(which=lambda name: None))
    target = tmp_path / "x.svg"
    with pytest.warns(UserWarning, match="apt-get install graphviz"):
        written = small_trace.render(target)
    assert written == str(target) + ".dot"
    assert not target.exists()
    assert Path(written).read_text(encoding="utf-8") == small_trace.to_dot()


def test_render_without_graphviz_package_falls_back_too(small_trace, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)          # import graphviz fails
    with pytest.warns(UserWarning, match="apt-get install graphviz"):
        written = small_trace.render(tmp_path / "x.png")
    assert written == str(tmp_path / "x.png.dot")
    assert Path(written).read_text(encoding="utf-8").startswith("digraph")


@pytest.mark.parametrize("name,suffix", [("g.jpg", ".jpg"), ("graph", "''")])
def test_render_unknown_suffix_raises(small_trace, tmp_path, name, suffix):
    with pytest.raises(ValueError, match=re.escape(suffix)):
        small_trace.render(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_empty_trace_raises(tmp_path):
    with ts.trace() as tr:
        pass
    assert tr.steps == 0 and tr.ops == [] and tr.state_grad_norms() == {}
    with pytest.raises(ValueError, match="no ops"):
        tr.to_dot()
    with pytest.raises(ValueError, match="no ops"):
        tr.render(tmp_path / "empty.svg")
    with pytest.raises(ValueError, match="no ops"):
        tr.render(tmp_path / "empty.dot")
    assert list(tmp_path.iterdir()) == []


def test_contributions_of_unknown_parameter_raise():
    tr, model = traced_layer("RNN", steps=3)
    stranger = nn.Parameter(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        tr.contributions(stranger)
    with pytest.raises(ValueError):
        tr.contribution_norms(LAYERS["RNN"](2, 3).weight_hh_l0)       # same shape, another model
    data = next(leaf.tensor for leaf in tr.leaves.values() if not leaf.is_param)
    with pytest.raises(ValueError, match="parameter"):
        tr.contributions(data)                                 # seen, but as data


def test_contributions_before_backward_raise():
    model = LAYERS["GRU"](2, 3)
    with ts.trace() as tr:
        loss = (model(ts.randn(3, 1, 2))[0] ** 2).sum()
    with pytest.raises(ValueError, match="backward"):
        tr.contributions(model.weight_hh_l0)
    loss.backward()
    assert len(tr.contributions(model.weight_hh_l0)) == 3


@pytest.fixture(scope="module")
def long_lstm_trace():
    previous = ts.get_default_dtype()
    ts.set_default_dtype(ts.float64)
    try:
        ts.manual_seed(0)
        model = LAYERS["LSTM"](2, 2)
        with ts.trace() as tr:
            loss = (model(ts.randn(200, 1, 2))[0] ** 2).sum()
        loss.backward()
    finally:
        ts.set_default_dtype(previous)
    return tr


def test_enormous_graph_is_collapsed_with_a_warning(long_lstm_trace, tmp_path):
    tr = long_lstm_trace
    assert len(tr.ops) > 3000
    with pytest.warns(UserWarning, match="max_nodes=300") as record:
        text = tr.to_dot(max_nodes=300, collapse=False, max_steps=None)
    assert any("collaps" in str(w.message) for w in record)
    dot = Dot(text)
    assert len(dot.definitions) <= 300
    # every node inside a step box now stands for a block of ops
    in_steps = [n for n, s in dot.step_of.items() if s is not None]
    assert module_nodes(dot, in_steps) and not any(n.startswith("op") for n in in_steps)
    assert "input gate i" not in text
    # the default limit warns too, also through render()
    with pytest.warns(UserWarning, match="max_nodes"):
        tr.render(tmp_path / "big.dot", collapse=False, max_steps=None)
    assert len(Dot((tmp_path / "big.dot").read_text(encoding="utf-8")).definitions) <= 400


def test_enormous_graph_is_elided_when_collapsing_is_not_enough(long_lstm_trace):
    tr = long_lstm_trace
    with pytest.warns(UserWarning) as record:
        text = tr.to_dot(max_nodes=60, max_steps=None)
    assert any("first and last" in str(w.message) for w in record)
    dot = Dot(text)
    shown = dot.step_clusters
    k = len(shown) // 2
    assert 0 < k < 100
    assert shown == list(range(k)) + list(range(200 - k, 200))
    assert dot.definitions["elided"] == 1
    assert len(dot.definitions) < 200


def test_enormous_graph_respects_max_nodes_after_eliding(long_lstm_trace):
    # the default elision (as many steps as fit 3,000 px) may be enough, with no warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = long_lstm_trace.to_dot(max_nodes=100)
    assert len(Dot(text).definitions) <= 100


@needs_graphviz
def test_enormous_graph_does_not_hang_dot(long_lstm_trace):
    # a liveness guard, not a speed target (benchmarks hold those): minutes would be a hang
    with pytest.warns(UserWarning):
        text = long_lstm_trace.to_dot(max_nodes=300, collapse=False, max_steps=None)
    subprocess.run(["neato", "-n2", "-Tsvg", "-o", os.devnull], input=text.encode("utf-8"),
                   timeout=120, check=True)


# --- the recording switch -------------------------------------------------------------------------
def test_nested_traces_raise():
    x = ts.randn(2, 2, requires_grad=True)
    with ts.trace() as outer:
        with pytest.raises(RuntimeError, match="nest"):
            with ts.trace():
                pass
        assert state.observers == (outer,)              # the outer trace keeps recording
        (x * 2).sum()
    assert state.observers == ()
    assert [r.kind for r in outer.ops][-1] == "sum"


def test_nothing_is_recorded_outside_the_block():
    w = ts.randn(3, 3, requires_grad=True)
    before = (w * 3).sum()                             # made before the trace
    with ts.trace() as tr:
        with ts.timestep(0):
            y = (w @ w).tanh()
    assert state.observers == () and state.module_path == ()
    count = len(tr.ops)
    assert count == 2
    z = (y @ w).sum()                                  # made after the trace
    model = LAYERS["LSTM"](3, 2)
    model(ts.randn(2, 1, 3))
    with ts.scope("outside"):
        assert state.scope == ()                       # scopes do nothing while nothing observes
        (w * w).sum()
    assert len(tr.ops) == count
    (z + before).backward()
    contributions = tr.contributions(w)                # only the traced ops' share
    assert [t for t, _ in contributions] == [0]


def test_exception_inside_trace_switches_recording_off():
    model = LAYERS["RNN"](2, 2)
    with pytest.raises(ValueError):
        with ts.trace():
            model(ts.randn(3, 1, 5))                   # wrong feature size
    assert state.observers == () and state.module_path == () and state.time_step is None
    with ts.trace() as tr:                             # a new trace can start
        model(ts.randn(3, 1, 2))
    assert tr.steps == 3


def test_deleted_trace_no_longer_listens_and_graphs_are_freed():
    w = ts.randn(3, 3, requires_grad=True)
    x = ts.randn(2, 3)
    with ts.trace() as tr:
        with ts.timestep(0):
            hidden = (x @ w).tanh()
        loss = (hidden ** 2).sum()
    assert loss._node.watchers[0]() is tr              # the graph knows who recorded it
    gone = weakref.ref(tr)
    del tr
    gc.collect()
    assert gone() is None                              # ... without keeping it alive
    loss.backward()                                    # nobody listens; the gradient is right
    expected = x.numpy().T @ (2 * hidden.numpy() * (1 - hidden.numpy() ** 2))
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)


def test_traced_graph_is_freed_after_backward_while_trace_lives():
    w = ts.randn(3, 3, requires_grad=True)
    x = ts.randn(2, 3)
    with ts.trace() as tr:
        for t in range(3):
            with ts.timestep(t):
                product = x @ w
                if t == 1:
                    intermediate = weakref.ref(product)
                x = product.tanh()
        loss = (x ** 2).sum()
    del product, x
    gc.collect()
    assert intermediate() is not None                  # the graph holds it until backward
    loss.backward()
    gc.collect()
    assert intermediate() is None                      # freed although the trace is alive
    assert tr.steps == 3 and len(tr.contributions(w)) == 3


def test_timestep_nests_and_restores():
    assert state.time_step is None
    with ts.timestep(3):
        with ts.timestep(4):
            assert state.time_step == 4
        assert state.time_step == 3
    assert state.time_step is None


# --- the command line ------------------------------------------------------------------------------
def _cli(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "tinyseq", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@needs_cli
def test_cli_render_writes_the_file(tmp_path):
    result = _cli("render", "--cell", "lstm", "--steps", "4", "--hidden", "3", "-o", "out.svg",
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    if HAVE_GRAPHVIZ:
        content = (tmp_path / "out.svg").read_text()
        assert "<svg" in content and "t = 3" in content and "t = 4" not in content
    else:
        assert (tmp_path / "out.svg.dot").exists()


@needs_cli
def test_cli_draws_one_node_per_module_per_step_unless_asked_for_every_op(tmp_path):
    texts = {}
    for name, extra in (("default", ()), ("ops", ("--ops",))):
        result = _cli("render", "--cell", "lstm", "--steps", "3", "--hidden", "3", *extra,
                      "-o", f"{name}.dot", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        texts[name] = (tmp_path / f"{name}.dot").read_text()
    assert re.search(r"\d+ ops?\b", texts["default"]) and "sigmoid" not in texts["default"]
    assert "sigmoid" in texts["ops"] and "input gate i" in texts["ops"]


@needs_cli
def test_cli_help_lists_the_commands(tmp_path):
    result = _cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "render" in result.stdout and "usage" in result.stdout.lower()


@needs_cli
def test_cli_dot_output_is_identical_across_processes(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        name = f"run{seed}.dot"
        result = _cli("render", "--cell", "seq2seq", "--steps", "3", "-o", name, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / name).read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    check_seq2seq_rows(outputs[0], 3, 3)


def test_first_last_must_be_positive(long_lstm_trace):
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="first_last must be a positive int"):
            long_lstm_trace.to_dot(first_last=bad)


def test_a_large_graph_without_time_steps_is_grouped_by_module():
    w = ts.randn(3, 3, requires_grad=True)
    h = ts.randn(1, 3)
    with ts.trace() as tr:
        for _ in range(300):
            h = (h @ w).tanh()
    with pytest.warns(UserWarning, match="grouping the ops outside any time step"):
        text = tr.to_dot(max_nodes=100)
    assert len(Dot(text).definitions) <= 100
    assert "600 ops" in text


def _hand_written_rnn(annotate, read_whole_too=False):
    """x @ U over the whole sequence, sliced per step inside ts.timestep(t); with ``annotate``
    the product is made inside ts.timestep(range(T)) as the docs suggest."""
    ts.manual_seed(0)
    U = ts.randn(2, 3, requires_grad=True)
    W = ts.randn(3, 3, requires_grad=True)
    x, y = ts.randn(5, 2, 2), ts.randn(5, 2, 3)
    with ts.trace() as tr:
        if annotate:
            with ts.timestep(range(5)):
                projected = x @ U
        else:
            projected = x @ U
        h, loss = ts.zeros(2, 3), 0
        for t in range(5):
            with ts.timestep(t):
                h = ts.tanh(projected[t] + h @ W)
                loss = loss + ((h - y[t]) ** 2).sum()
        if read_whole_too:
            loss = loss + projected.sum()
    loss.backward()
    return tr, U


def test_a_product_over_all_steps_sliced_per_step_splits_its_weights_gradient_per_step():
    """Without ts.timestep(range(T)): each step reading its own position of the product is
    enough; the shares are those of the annotated product and add up to .grad."""
    tr, U = _hand_written_rnn(annotate=False)
    shares = tr.contributions(U)
    assert [t for t, _ in shares] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(sum(g for _, g in shares), U.grad.numpy(), rtol=0, atol=1e-10)
    annotated, _ = _hand_written_rnn(annotate=True)
    for (t, g), (t_a, g_a) in zip(shares, annotated.contributions(
            next(leaf.tensor for leaf in annotated.parameters() if leaf.shape == (2, 3)))):
        assert t == t_a
        np.testing.assert_allclose(g, g_a, rtol=0, atol=1e-12)
    # read whole as well: still one share per step, still adding up to .grad
    whole, U_whole = _hand_written_rnn(annotate=False, read_whole_too=True)
    np.testing.assert_allclose(sum(g for _, g in whole.contributions(U_whole)),
                               U_whole.grad.numpy(), rtol=0, atol=1e-10)

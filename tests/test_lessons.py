"""The measurements the lessons rest on: the gradient of a weight split by loss step and use
step (``contributions(by="loss_step")``), each LSTM state's gradient (``state_grad_norms(module,
state=)``), the contribution heat map; and (slow tier) every example printing its lesson line
with ``holds`` at its defaults (the notebooks' lines are checked in test_notebooks.py)."""
import contextlib
import importlib
import io
import re

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn
from tinyseq.render import plot_contribution_matrix
from tinyseq.trace import gradient_flow

STEPS = 6


def lstm_with_losses():
    lstm, head = nn.LSTM(2, 4), nn.Linear(4, 1)
    x, y = ts.randn(STEPS, 3, 2), ts.randn(STEPS, 3, 1)

    def run():
        out, _ = lstm(x)
        prediction = head(out)
        return [F.mse_loss(prediction[t], y[t]) for t in range(STEPS)]
    run.data = (x, y)
    return lstm, head, run


def direct_matrix(weight, run, modules):
    """M[t, s] from T separate traced runs, each backpropagating L_t alone."""
    matrix = np.zeros((STEPS, STEPS))
    for t in range(STEPS):
        with ts.trace() as tr:
            loss = run()[t]
        for module in modules:
            module.zero_grad()
        loss.backward()
        for s, grad in tr.contributions(weight):
            if s is not None:
                matrix[t, s] = np.linalg.norm(grad)
    for module in modules:
        module.zero_grad()
    return matrix


def test_contributions_by_loss_step_of_a_fused_lstm_match_one_backward_per_loss(float64):
    lstm, head, run = lstm_with_losses()
    for weight in (lstm.weight_hh_l0, lstm.weight_ih_l0):
        with ts.trace() as tr:
            losses = run()
        matrix = tr.contributions(weight, by="loss_step", losses=losses)
        expected = direct_matrix(weight, run, [lstm, head])
        np.testing.assert_allclose(matrix, expected, rtol=1e-12, atol=1e-15)
        assert np.all(np.triu(matrix, 1) == 0)            # L_t does not depend on later steps
        assert np.all(np.diag(matrix)[1:] > 0)


def test_contributions_by_loss_step_find_the_losses_of_a_hand_written_loop(float64):
    cell, head = nn.RNNCell(2, 4), nn.Linear(4, 1)
    x, y = ts.randn(STEPS, 3, 2), ts.randn(STEPS, 3, 1)

    def run():
        h, losses = None, []
        for t in range(STEPS):
            with ts.timestep(t):
                h = cell(x[t], h)
                losses.append(F.mse_loss(head(h), y[t]))     # L_t, made inside step t
        return losses
    with ts.trace() as tr:
        losses = run()
    matrix = tr.contributions(cell.weight_ih, by="loss_step")   # the losses are found
    np.testing.assert_allclose(matrix, direct_matrix(cell.weight_ih, run, [cell, head]),
                               rtol=1e-12, atol=1e-15)
    assert len(losses) == STEPS


def test_contributions_by_loss_step_change_no_gradient_and_no_measurement():
    lstm, head, run = lstm_with_losses()
    with ts.trace() as plain:
        loss = sum(run())
    loss.backward()
    expected = {name: p.grad.numpy().copy() for name, p in lstm.named_parameters()}
    expected_norms = plain.state_grad_norms()
    expected_steps = plain.contribution_norms(lstm.weight_hh_l0)
    lstm.zero_grad()
    head.zero_grad()

    with ts.trace() as tr:
        losses = run()
        loss = sum(losses)
    before = tr.contributions(lstm.weight_hh_l0, by="loss_step", losses=losses)
    assert all(p.grad is None for p in lstm.parameters())
    loss.backward(retain_graph=True)
    after = tr.contributions(lstm.weight_hh_l0, by="loss_step", losses=losses)
    np.testing.assert_array_equal(before, after)
    for name, p in lstm.named_parameters():
        np.testing.assert_array_equal(p.grad.numpy(), expected[name])
    assert tr.state_grad_norms() == expected_norms
    assert tr.contribution_norms(lstm.weight_hh_l0) == expected_steps


def test_contributions_by_loss_step_after_the_graph_is_freed_say_how_to_keep_it():
    lstm, _, run = lstm_with_losses()
    with ts.trace() as tr:
        losses = run()
    sum(losses).backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        tr.contributions(lstm.weight_hh_l0, by="loss_step", losses=losses)
    with pytest.raises(ValueError, match="by must be"):
        tr.contributions(lstm.weight_hh_l0, by="time")
    with pytest.raises(ValueError, match="no per-step losses"):
        tr.contributions(lstm.weight_hh_l0, by="loss_step")


def test_state_grad_norms_of_h_and_c_equal_the_gradients_of_a_cell_loop(float64):
    lstm, head, run = lstm_with_losses()
    with ts.trace() as tr:
        loss = sum(run())
    loss.backward()
    h_norms = tr.state_grad_norms("", state="h")
    c_norms = tr.state_grad_norms(lstm, state="c")
    both = tr.state_grad_norms(lstm)

    cell = nn.LSTMCell(2, 4)                  # the same LSTM, one step at a time
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).array[...] = getattr(lstm, name + "_l0").array
    x, y = run.data
    state, states, losses = None, [], []
    for t in range(STEPS):
        state = cell(x[t], state)
        for s in state:
            s.retain_grad()
        states.append(state)
        losses.append(F.mse_loss(head(state[0]), y[t]))
    sum(losses).backward()
    for t, (h, c) in enumerate(states):
        assert h_norms[t] == pytest.approx(np.linalg.norm(h.grad.numpy()), rel=1e-12)
        assert c_norms[t] == pytest.approx(np.linalg.norm(c.grad.numpy()), rel=1e-12, abs=1e-300)
    assert both == tr.state_grad_norms()      # h_t and what c_t hands to step t + 1


def test_state_grad_norms_reject_a_state_the_layer_does_not_have():
    gru = nn.GRU(2, 3)
    with ts.trace() as tr:
        out, _ = gru(ts.randn(4, 1, 2))
    out.sum().backward()
    assert len(tr.state_grad_norms(gru, state="h")) == 4
    with pytest.raises(ValueError, match=r"states \['h'\], not 'c'"):
        tr.state_grad_norms(gru, state="c")
    with pytest.raises(ValueError, match="no state gradients of module 'rnn'"):
        tr.state_grad_norms("rnn", state="h")
    with pytest.raises(ValueError, match="needs the module"):
        tr.state_grad_norms(state="h")


def test_gradient_flow_of_an_lstm_gives_h_and_c_separately():
    lstm = nn.LSTM(2, 4)
    x = ts.randn(5, 2, 2)
    flow = gradient_flow(lambda: lstm(x)[0][-1].sum(), lstm.weight_hh_l0)
    assert len(flow["h_grad_norms"]) == len(flow["c_grad_norms"]) == 5
    assert all(norm > 0 for norm in flow["h_grad_norms"] + flow["c_grad_norms"])
    assert flow["h_grad_norms"][-1] == flow["state_grad_norms"][-1]   # nothing after T-1
    gru = nn.GRU(2, 3)
    flow = gradient_flow(lambda: gru(x)[0][-1].sum(), gru.weight_hh_l0)
    assert "c_grad_norms" not in flow and flow["h_grad_norms"] == flow["state_grad_norms"]


def test_plot_contribution_matrix_draws_the_row_shares_on_a_log_scale(tmp_path):
    lstm, _, run = lstm_with_losses()
    with ts.trace() as tr:
        losses = run()
    figure = plot_contribution_matrix(tr, lstm.weight_ih_l0, losses=losses)
    image = figure.axes[0].images[0]
    shares = image.get_array()
    assert shares.shape == (STEPS, STEPS)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-6)
    assert shares.mask[0, 1] and not shares.mask[STEPS - 1, 0]    # s > t stays blank
    assert type(image.norm).__name__ == "LogNorm"
    figure.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


# --- every example's lesson holds at its defaults (slow; the notebooks' in test_notebooks) -----
LESSON = re.compile(r"^lesson (\S+): (.+) -> (holds|does not hold)$", re.M)
EXAMPLES = ["adding_problem", "char_lm", "custom_cell", "custom_op", "dilution", "embeddings",
            "exploding", "gradient_flow", "hello_onehot", "hooks_bptt", "sequence_classifier",
            "sequential_cost", "sine_rnn"]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_lesson_holds_at_its_defaults(name, examples_on_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                   # what it writes lands in tmp_path
    module = importlib.import_module(name)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module.main()
    found = LESSON.findall(printed.getvalue())
    assert [lesson[0] for lesson in found] == [name], printed.getvalue()[-2000:]
    assert found[0][2] == "holds", found[0][1]
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.parts[0] == "out" for p in written), written      # nothing outside out/


# the examples that take a few seconds: their lessons hold by their settings, not by one seed
CHEAP_WITH_SEED = ["custom_cell", "dilution", "embeddings", "exploding", "hello_onehot",
                   "sine_rnn"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", CHEAP_WITH_SEED)
def test_example_lesson_holds_at_other_seeds(name, seed, examples_on_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module.main(seed=seed)
    found = LESSON.findall(printed.getvalue())
    assert [lesson[0] for lesson in found] == [name], printed.getvalue()[-2000:]
    assert found[0][2] == "holds", f"seed {seed}: {found[0][1]}"


def test_progress_without_ipywidgets_is_the_text_bar_and_warns_nothing(monkeypatch):
    import sys
    import warnings

    from tqdm.std import tqdm as text_bar

    from tinyseq.train import progress
    monkeypatch.setitem(sys.modules, "ipywidgets", None)       # importing it fails
    with warnings.catch_warnings():
        warnings.simplefilter("error")                         # TqdmWarning would raise
        bar = progress(range(3), enabled=False)
    assert type(bar) is text_bar and list(bar) == [0, 1, 2]

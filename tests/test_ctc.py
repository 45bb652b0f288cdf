"""CTC loss (F.ctc_loss, nn.CTCLoss): values against a brute-force sum over alignments and
closed forms, gradients against finite differences, and both against PyTorch where installed.

PyTorch's gradient convention, found by running torch 2.13 (CPU): the gradient its ctc_loss
sends to log_probs is exp(log_probs) * g_n plus the true d loss / d log_probs at the first
input_length_n steps (0 after them). That is the gradient of logits were log_probs their
log_softmax; for a leaf log_probs it is not the derivative (finite differences disagree).
tinyseq sends the true derivative; behind a log_softmax, whose backward takes away any part
shared by all classes at a step, the gradients of logits are the same as PyTorch's
(``test_gradient_convention_against_pytorch``)."""
import itertools

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import assert_close, gradcheck
from tinyseq import nn


def log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def random_case(seed, time=7, batch=3, classes=5, longest=3, blank=0, concatenated=False):
    """Logits (T, N, C), the targets (padded or concatenated) and both lengths; the first
    sequence uses every step and the longest target."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((time, batch, classes))
    input_lengths = rng.integers(1, time + 1, batch)
    target_lengths = rng.integers(0, longest + 1, batch)
    input_lengths[0], target_lengths[0] = time, longest
    labels = [c for c in range(classes) if c != blank]
    padded = rng.choice(labels, (batch, longest))
    targets = np.concatenate([padded[n, :target_lengths[n]] for n in range(batch)]) \
        if concatenated else padded
    return logits, targets, input_lengths, target_lengths


def brute_force_loss(log_probs, target, blank):
    """-log of the summed probability of every path of len(log_probs) steps that collapses
    (repeats merged, then blanks dropped) to ``target``."""
    total = 0.0
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == list(target):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total)


@pytest.mark.parametrize("target, blank", [((1, 2), 0), ((1, 1), 0), ((2,), 1), ((), 0),
                                           ((0, 2, 2), 1)])
def test_values_against_brute_force(target, blank):
    log_probs = log_softmax(np.random.default_rng(len(target) + blank).standard_normal((5, 3)))
    loss = F.ctc_loss(ts.tensor(log_probs), ts.tensor(np.array(target, dtype=np.int64)), 5,
                      len(target), blank=blank, reduction="sum")
    assert_close(loss, brute_force_loss(log_probs, target, blank), atol=1e-12, rtol=1e-12)


def test_repeated_label_needs_a_blank_between():
    """"aa" in 3 steps has one path, a blank a; in 2 steps none ("aa" collapses to "a");
    "ab" in 2 steps has one, a b."""
    log_probs = log_softmax(np.random.default_rng(5).standard_normal((3, 3)))
    a, b = 1, 2
    loss = F.ctc_loss(ts.tensor(log_probs), ts.tensor([a, a]), 3, 2, reduction="sum")
    assert_close(loss, -(log_probs[0, a] + log_probs[1, 0] + log_probs[2, a]), atol=1e-12)
    assert F.ctc_loss(ts.tensor(log_probs[:2]), ts.tensor([a, a]), 2, 2).item() == np.inf
    loss = F.ctc_loss(ts.tensor(log_probs[:2]), ts.tensor([a, b]), 2, 2, reduction="sum")
    assert_close(loss, -(log_probs[0, a] + log_probs[1, b]), atol=1e-12)


def test_closed_forms_for_ten_thousand_steps():
    """Uniform log_probs -log C: an empty target has the one all-blank path; a one-label
    target has T (T + 1) / 2 paths (where its run of labels starts and ends)."""
    time, classes = 10_000, 4
    log_probs = ts.full((time, 2, classes), -np.log(classes), dtype=ts.float64,
                        requires_grad=True)
    losses = F.ctc_loss(log_probs, ts.tensor([[2], [0]]), [time, time], [1, 0], blank=3,
                        reduction="none")
    assert_close(losses, [time * np.log(classes) - np.log(time * (time + 1) / 2),
                          time * np.log(classes)], rtol=1e-12)
    losses.sum().backward()
    # every step of the empty target's one path is a blank: -1 there, 0 elsewhere
    expected = np.zeros((time, classes))
    expected[:, 3] = -1
    assert_close(log_probs.grad[:, 1], expected, atol=1e-12)
    # each step of the one-label target is its label or a blank, with probability 1 in all
    assert_close(log_probs.grad[:, 0].sum(1).numpy(), -np.ones(time), atol=1e-9)


def test_mean_divides_by_target_lengths_of_at_least_one():
    logits, targets, input_lengths, _ = random_case(1, batch=3)
    target_lengths = np.array([3, 0, 2])
    args = (ts.tensor(log_softmax(logits)), ts.tensor(targets), input_lengths, target_lengths)
    losses = F.ctc_loss(*args, reduction="none").numpy()
    assert_close(F.ctc_loss(*args), (losses / [3, 1, 2]).mean(), atol=1e-12)
    assert_close(F.ctc_loss(*args, reduction="sum"), losses.sum(), atol=1e-12)


def test_no_steps():
    """An input of length 0 has a path only to the empty target (loss 0, gradient 0)."""
    log_probs = ts.tensor(log_softmax(np.ones((4, 2, 3))), requires_grad=True)
    losses = F.ctc_loss(log_probs, ts.tensor([[1], [1]]), [0, 0], [0, 1], reduction="none")
    assert losses.tolist() == [0.0, np.inf]
    losses[0].backward()
    assert not log_probs.grad.numpy().any()


def test_impossible_alignment():
    """3 labels in 2 steps: an infinite loss and NaN gradients at its 2 steps, 0 after them
    (as PyTorch's); zero_infinity makes its loss and gradients 0, the other sequence's stay."""
    log_probs = log_softmax(np.random.default_rng(2).standard_normal((4, 2, 3)))
    targets, input_lengths, target_lengths = ts.tensor([[1, 2, 1], [2, 1, 1]]), [2, 4], [3, 2]
    leaf = ts.tensor(log_probs, requires_grad=True)
    losses = F.ctc_loss(leaf, targets, input_lengths, target_lengths, reduction="none")
    assert losses[0].item() == np.inf and np.isfinite(losses[1].item())
    losses.sum().backward()
    assert np.isnan(leaf.grad[:2, 0].numpy()).all()
    assert not leaf.grad[2:, 0].numpy().any() and np.isfinite(leaf.grad[:, 1].numpy()).all()
    finite = ts.tensor(log_probs, requires_grad=True)
    zeroed = F.ctc_loss(finite, targets, input_lengths, target_lengths, reduction="none",
                        zero_infinity=True)
    assert zeroed[0].item() == 0.0 and zeroed[1].item() == losses[1].item()
    zeroed.sum().backward()
    assert not finite.grad[:, 0].numpy().any()
    assert_close(finite.grad[:, 1], leaf.grad[:, 1], atol=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("concatenated", [False, True])
def test_gradients_against_finite_differences(reduction, concatenated):
    """The true d loss / d log_probs, for log_probs that need not be normalized."""
    logits, targets, input_lengths, target_lengths = random_case(
        3, time=5, batch=3, classes=4, longest=2, blank=1, concatenated=concatenated)
    log_probs = ts.tensor(log_softmax(logits), requires_grad=True)
    gradcheck(lambda x: F.ctc_loss(x, ts.tensor(targets), ts.tensor(input_lengths),
                                   tuple(target_lengths), blank=1, reduction=reduction),
              [log_probs])


def test_gradients_of_logits_and_unbatched_against_finite_differences():
    logits, targets, _, _ = random_case(4, time=5, batch=1, classes=3, longest=2)
    gradcheck(lambda x: F.ctc_loss(x.log_softmax(-1), ts.tensor(targets[0]), 5, 2),
              [ts.tensor(logits[:, 0], requires_grad=True)])


def test_float32_keeps_its_dtype():
    logits, targets, input_lengths, target_lengths = random_case(6)
    log_probs = ts.tensor(log_softmax(logits).astype(np.float32), requires_grad=True)
    loss = F.ctc_loss(log_probs, ts.tensor(targets), input_lengths, target_lengths)
    loss.backward()
    assert loss.dtype == np.float32 and log_probs.grad.dtype == np.float32
    reference = F.ctc_loss(ts.tensor(log_softmax(logits)), ts.tensor(targets), input_lengths,
                           target_lengths)
    assert_close(loss, reference.item(), rtol=1e-5)


def test_module_is_the_function():
    logits, targets, input_lengths, target_lengths = random_case(7, blank=2)
    log_probs = ts.tensor(log_softmax(logits))
    module = nn.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert_close(module(log_probs, ts.tensor(targets), input_lengths, target_lengths),
                 F.ctc_loss(log_probs, ts.tensor(targets), input_lengths, target_lengths,
                            blank=2, reduction="sum").item(), atol=0)
    with pytest.raises(ValueError, match="CTCLoss: reduction"):
        nn.CTCLoss(reduction="max")
    with pytest.raises(ValueError, match="CTCLoss: blank"):
        nn.CTCLoss(blank=-1)


def _error_args(**changes):
    """Valid arguments for log_probs (6, 2, 4), with ``changes``."""
    args = dict(log_probs=ts.tensor(log_softmax(np.zeros((6, 2, 4)))),
                targets=ts.tensor([[1, 2, 2], [3, 1, 0]]), input_lengths=[6, 5],
                target_lengths=[3, 2])
    args.update(changes)
    return args


@pytest.mark.parametrize("changes, error, message", [
    (dict(log_probs=ts.zeros((6, 2, 4, 1))), RuntimeError, r"\(T, N, C\) or \(T, C\), got shape"),
    (dict(log_probs=ts.zeros((6,))), RuntimeError, r"got shape \(6,\)"),
    (dict(log_probs=ts.zeros((6, 0, 4)), targets=ts.zeros((0, 3), dtype=ts.int64),
          input_lengths=[], target_lengths=[]), RuntimeError, "must not be empty"),
    (dict(log_probs=ts.zeros((6, 2, 4), dtype=ts.int64)), TypeError, "floating point"),
    (dict(input_lengths=[7, 5]), RuntimeError, r"at most the 6 time steps.*\[7, 5\]"),
    (dict(target_lengths=[4, 2]), RuntimeError, r"\[4, 2\] must be at most the 3 columns"),
    (dict(input_lengths=[-1, 5]), RuntimeError, r"input_lengths must be non-negative"),
    (dict(target_lengths=[3, -1]), RuntimeError, r"target_lengths must be non-negative"),
    (dict(blank=4), RuntimeError, r"blank must be in the label range \[0, 4\), got 4"),
    (dict(blank=-1), RuntimeError, r"blank must be in the label range"),
    (dict(targets=ts.tensor([[1, 4, 2], [3, 1, 0]])), IndexError, r"\[0, 4\).*from 1 to 4"),
    (dict(targets=ts.tensor([[1, -1, 2], [3, 1, 0]])), IndexError, r"from -1 to 3"),
    (dict(targets=ts.tensor([[1, 0, 2], [3, 1, 0]])), ValueError, r"blank id 0.*\[\[0, 1\]\]"),
    (dict(input_lengths=[6, 5, 4]), RuntimeError, r"input_lengths must hold 2 lengths"),
    (dict(target_lengths=[3]), RuntimeError, r"target_lengths must hold 2 lengths"),
    (dict(targets=ts.tensor([[1, 2, 2]])), RuntimeError, r"\(1, 3\) must have one row per"),
    (dict(targets=ts.tensor([1, 2, 2, 3])), RuntimeError, r"sum\(target_lengths\) = 5"),
    (dict(targets=ts.zeros((2, 3, 1), dtype=ts.int64)), RuntimeError, r"got shape \(2, 3, 1\)"),
    (dict(targets=ts.tensor([[1.0, 2, 2], [3, 1, 0]])), TypeError, "integer class ids"),
    (dict(input_lengths=[6.0, 5.0]), TypeError, "input_lengths must be integers"),
    (dict(input_lengths=6), TypeError, "input_lengths of a batch"),
    (dict(reduction="max"), ValueError, "reduction must be one of"),
])
def test_bad_input(changes, error, message):
    with pytest.raises(error, match="ctc_loss: .*" + message):
        F.ctc_loss(**_error_args(**changes))


def test_bad_unbatched_lengths():
    with pytest.raises(RuntimeError, match=r"ctc_loss: input_lengths must hold one length"):
        F.ctc_loss(ts.zeros((6, 4)), ts.tensor([1, 2]), [6, 6], [2])


# --- against PyTorch -------------------------------------------------------------------------
CASES = [dict(), dict(reduction="none"), dict(reduction="sum"), dict(concatenated=True),
         dict(blank=3), dict(blank=4, concatenated=True, reduction="none"),
         dict(zero_infinity=True, time=3, longest=3), dict(dtype=np.float32),
         dict(dtype=np.float32, reduction="sum", blank=2), dict(time=40, longest=12, batch=5)]


@pytest.mark.parametrize("case", CASES, ids=[str(case) for case in CASES])
def test_values_and_gradients_against_pytorch(case):
    """Values, and gradients of logits behind a log_softmax (the same in both)."""
    torch = pytest.importorskip("torch")
    case = dict(case)
    dtype, reduction = case.pop("dtype", np.float64), case.pop("reduction", "mean")
    zero_infinity = case.pop("zero_infinity", False)
    logits, targets, input_lengths, target_lengths = random_case(8, **case)
    logits = logits.astype(dtype)
    blank = case.get("blank", 0)
    ours_logits = ts.tensor(logits, requires_grad=True)
    theirs_logits = torch.tensor(logits, requires_grad=True)
    ours = F.ctc_loss(ours_logits.log_softmax(-1), ts.tensor(targets), ts.tensor(input_lengths),
                      list(target_lengths), blank, reduction, zero_infinity)
    theirs = torch.nn.functional.ctc_loss(
        theirs_logits.log_softmax(-1), torch.tensor(targets), torch.tensor(input_lengths),
        torch.tensor(target_lengths), blank, reduction, zero_infinity)
    tolerance = dict(atol=1e-5, rtol=1e-5) if dtype == np.float32 else dict(atol=1e-12,
                                                                            rtol=1e-10)
    assert ours.dtype == dtype and ours.shape == tuple(theirs.shape)
    assert_close(ours, theirs.detach().numpy(), **tolerance)
    weight = np.random.default_rng(0).standard_normal(ours.shape).astype(dtype)
    (ours * ts.tensor(weight)).sum().backward()
    (theirs * torch.tensor(weight)).sum().backward()
    assert_close(ours_logits.grad, theirs_logits.grad.numpy(), **tolerance)


def test_gradient_convention_against_pytorch():
    """For leaf log_probs PyTorch's gradient is ours plus exp(log_probs) * g_n at each
    sequence's steps, and ours, not PyTorch's, is what finite differences give."""
    torch = pytest.importorskip("torch")
    logits, targets, _, target_lengths = random_case(9, time=5, batch=2, classes=4)
    input_lengths = np.array([5, 4])
    log_probs = log_softmax(logits)
    ours_leaf = ts.tensor(log_probs, requires_grad=True)
    theirs_leaf = torch.tensor(log_probs, requires_grad=True)
    loss = F.ctc_loss(ours_leaf, ts.tensor(targets), input_lengths, target_lengths,
                      reduction="sum")
    assert np.isfinite(loss.item())
    loss.backward()
    torch.nn.functional.ctc_loss(theirs_leaf, torch.tensor(targets), torch.tensor(input_lengths),
                                 torch.tensor(target_lengths), reduction="sum").backward()
    within = (np.arange(5)[:, None] < input_lengths)[:, :, None]
    assert_close(theirs_leaf.grad.numpy(), ours_leaf.grad.numpy() + np.exp(log_probs) * within,
                 atol=1e-12)
    gradcheck(lambda x: F.ctc_loss(x, ts.tensor(targets), input_lengths, target_lengths,
                                   reduction="sum"), [ours_leaf])


def test_unbatched_and_impossible_against_pytorch():
    torch = pytest.importorskip("torch")
    logits, targets, _, _ = random_case(10, batch=1, time=6, longest=3)
    log_probs = log_softmax(logits[:, 0])
    for reduction in ("none", "mean"):
        for length in (6, 2):       # 3 labels in 2 steps: impossible
            ours = ts.tensor(log_probs, requires_grad=True)
            theirs = torch.tensor(log_probs, requires_grad=True)
            ours_loss = F.ctc_loss(ours, ts.tensor(targets[0]), [length], (3,),
                                   reduction=reduction)
            theirs_loss = torch.nn.functional.ctc_loss(theirs, torch.tensor(targets[0]),
                                                       [length], [3], reduction=reduction)
            assert ours_loss.shape == () == tuple(theirs_loss.shape)
            assert_close(ours_loss, theirs_loss.detach().numpy(), atol=1e-12)
            ours_loss.backward()
            theirs_loss.backward()
            scale = 1 if reduction == "none" else 1 / 3
            within = (np.arange(6) < length)[:, None]
            # NaN at an impossible alignment's steps in both (NaN minus anything is NaN)
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy() -
                                       np.exp(log_probs) * scale * within, atol=1e-12)
            assert np.isnan(ours.grad.numpy()[:2]).all() == (length == 2)

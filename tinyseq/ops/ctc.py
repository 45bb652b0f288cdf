"""Connectionist temporal classification (CTC) loss, as PyTorch's ``ctc_loss``.

A target y_1..y_S is read with blanks interleaved, the extended labels l' = (blank, y_1,
blank, ..., y_S, blank) of length 2S + 1; a path through them moves at each time step to the
same label, the next one, or skips a blank between two different labels. Forward sums over all
paths with the alpha recursion in log space, backward runs the beta recursion and combines the
two (Graves et al. 2006). Both loop over time only, every sequence of the batch at once: a
sequence's extended labels sit in one row, padded with blanks past its own 2 S_n + 1.
"""
from ..autograd import Function


class CTCLoss(Function):
    """loss_n = -log sum_paths prod_t p_t;  dlog_probs[t, n, c] = -g_n sum_{s: l'_s = c}
    alpha_t(s) beta_t(s) / (p_t(c) p_n), the true derivative

    PyTorch's backward adds exp(log_probs) g_n (at a sequence's steps) to it: the gradient
    of logits were log_probs their log_softmax. Behind a log_softmax, whose backward removes
    what all classes of a step share, both give the same gradient of logits; for leaf
    log_probs only this one is the derivative. ``targets`` is padded (N, S), the lengths
    (N,) int arrays, all checked by ``tinyseq.functional.ctc_loss``. An impossible alignment
    (p_n = 0) gives an infinite loss and, as in PyTorch, NaN gradients at its first
    input_length_n steps; ``zero_infinity`` makes both 0."""
    __slots__ = ("targets", "input_lengths", "target_lengths", "blank", "reduction",
                 "zero_infinity")

    def __init__(self, targets, input_lengths, target_lengths, blank, reduction, zero_infinity):
        self.targets = targets
        self.input_lengths = input_lengths
        self.target_lengths = target_lengths
        self.blank = blank
        self.reduction = reduction
        self.zero_infinity = zero_infinity

    def forward(self, xp, log_probs):
        n = log_probs.shape[1]
        input_lengths, target_lengths = self.input_lengths, self.target_lengths
        steps = max(int(input_lengths.max()), 1)
        labels = _extended_labels(xp, self.targets, target_lengths, self.blank)
        width = labels.shape[1]
        rows = xp.arange(n)[:, None]
        label_log_probs = log_probs[:steps, rows, labels]            # (steps, N, 2S + 1)
        # a path may skip the blank before label s unless label s - 2 is the same label
        skips = xp.zeros((n, width), dtype=bool)
        skips[:, 2:] = labels[:, 2:] != labels[:, :-2]
        # alphas keep two columns of -inf in front, the states s - 1 and s - 2 of s = 0 and 1
        alphas = xp.full((steps, n, width + 2), -xp.inf, dtype=log_probs.dtype)
        alphas[0, :, 2] = label_log_probs[0, :, 0]
        if width > 1:
            alphas[0, :, 3] = label_log_probs[0, :, 1]
        for t in range(1, steps):
            before = alphas[t - 1]
            stay_or_next = xp.logaddexp(before[:, 2:], before[:, 1:-1])
            skip = xp.where(skips, before[:, :-2], -xp.inf)
            alphas[t, :, 2:] = xp.logaddexp(stay_or_next, skip) + label_log_probs[t]
        # a path ends at time input_length - 1 on the last blank or the last label (column 1,
        # -inf, for an empty target); with no time steps only an empty target has a path
        last = alphas[xp.maximum(input_lengths - 1, 0), xp.arange(n)]
        ends = last[xp.arange(n), 2 * target_lengths + 2]
        ends = xp.logaddexp(ends, last[xp.arange(n), 2 * target_lengths + 1])
        empty_ok = xp.where(target_lengths == 0, 0.0, -xp.inf).astype(log_probs.dtype)
        log_likelihoods = xp.where(input_lengths > 0, ends, empty_ok)
        self.saved = (alphas, label_log_probs, labels, skips, log_likelihoods,
                      log_probs.shape)
        losses = -log_likelihoods
        if self.zero_infinity:
            losses = xp.where(xp.isinf(losses), 0, losses).astype(log_probs.dtype)
        if self.reduction == "none":
            return losses
        if self.reduction == "sum":
            return losses.sum()
        return (losses / xp.maximum(target_lengths, 1).astype(losses.dtype)).mean()

    def backward(self, xp, grad_output):
        alphas, label_log_probs, labels, skips, log_likelihoods, shape = self.saved
        time, n, classes = shape
        steps, width = label_log_probs.shape[0], labels.shape[1]
        input_lengths, target_lengths = self.input_lengths, self.target_lengths
        positions = xp.arange(width)
        ends = (positions == 2 * target_lengths[:, None]) | \
            (positions == 2 * target_lengths[:, None] - 1)
        skips_ahead = xp.zeros((n, width), dtype=bool)
        skips_ahead[:, :-2] = skips[:, 2:]
        # betas keep two columns of -inf behind, the states s + 1 and s + 2 of the last s
        betas = xp.full((steps + 1, n, width + 2), -xp.inf, dtype=alphas.dtype)
        for t in range(steps - 1, -1, -1):
            after = betas[t + 1]
            stay_or_next = xp.logaddexp(after[:, :-2], after[:, 1:-1])
            skip = xp.where(skips_ahead, after[:, 2:], -xp.inf)
            recursed = xp.logaddexp(stay_or_next, skip) + label_log_probs[t]
            start = xp.where(ends, label_log_probs[t], -xp.inf)
            betas[t, :, :width] = xp.where((input_lengths - 1 == t)[:, None], start, recursed)
        # alpha_t(s) beta_t(s) counts p_t(l'_s) twice; an impossible sequence (p_n = 0) is
        # divided by a stand-in p_n = 1 here and given its gradient below
        both = alphas[:, :, 2:] + betas[:steps, :, :width]
        reached = both != -xp.inf
        possible = log_likelihoods != -xp.inf
        log_shares = both - xp.where(reached, label_log_probs, 0) - \
            xp.where(possible, log_likelihoods, 0)[:, None]
        shares = xp.exp(xp.where(reached, log_shares, -xp.inf))
        # sum the shares of the extended labels of one class, step by step
        places = (xp.arange(steps)[:, None, None] * n + xp.arange(n)[:, None]) * classes + labels
        summed = xp.bincount(places.ravel(), weights=shares.ravel(), minlength=steps * n * classes)
        grad = xp.zeros(shape, dtype=alphas.dtype)
        grad[:steps] = -summed.reshape(steps, n, classes)
        if self.reduction == "none":
            scale = grad_output
        elif self.reduction == "sum":
            scale = grad_output * xp.ones(n, dtype=alphas.dtype)
        else:
            scale = grad_output / (n * xp.maximum(target_lengths, 1).astype(alphas.dtype))
        grad *= scale[:, None]
        within = xp.arange(time)[:, None] < input_lengths
        impossible_value = 0 if self.zero_infinity else xp.nan
        grad = xp.where((within & ~possible)[:, :, None], impossible_value, grad)
        return (grad.astype(alphas.dtype, copy=False),)


def _extended_labels(xp, targets, target_lengths, blank):
    """(N, 2S + 1): each target with blanks before, between and after its labels, and blanks
    past its own length."""
    n, longest = targets.shape
    labels = xp.full((n, 2 * longest + 1), blank, dtype=targets.dtype)
    counted = xp.arange(longest) < target_lengths[:, None]
    labels[:, 1::2] = xp.where(counted, targets, blank)
    return labels

"""The lecture's character toy: an RNN learns to say "hello", one letter at a time.

The vocabulary is h, e, l, o; each letter goes in as a one-hot vector (``F.one_hot``). At
every step t the RNN reads x_t and predicts the next letter, so there is a loss at every step

    h_t = tanh(U x_t + W h_{t-1} + b),   y_t = V h_t + c,   L = sum_t CE(y_t, next letter)

("hell" in, "ello" out: after "l" comes "l" once and "o" once, so the state must count the
l's). Backpropagation through time sends each step's loss back through every earlier step;
the trace of one training step is written as a picture with the per-step losses in their
step boxes (out/hello_bptt.svg). Prints the loss and what the trained RNN says after "h".
"""
import os

import numpy

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq import train as training

LETTERS = "helo"


def one_hot_inputs(text):
    ids = ts.tensor(numpy.array([LETTERS.index(ch) for ch in text]))
    return F.one_hot(ids, num_classes=len(LETTERS)).float()         # (T, 4) float32


def step_losses(cell, head, text, labels=None):
    """The loss at every step of reading ``text[:-1]`` and predicting ``text[1:]``; a trace
    draws step t's loss in a box named ``labels[t]``."""
    x = one_hot_inputs(text[:-1])
    targets = numpy.array([LETTERS.index(ch) for ch in text[1:]])
    h, losses = None, []
    for t in range(len(text) - 1):
        with ts.timestep(t):
            h = cell(x[t:t + 1], h)
            logits = head(h)
            with ts.scope(labels[t] if labels else f"loss {t}"):
                losses.append(F.cross_entropy(logits, targets[t:t + 1]))
    return losses


def say(cell, head, first="h", length=4):
    """Greedy: feed the RNN its own most likely next letter."""
    text, h = first, None
    with ts.no_grad():
        for _ in range(length):
            h = cell(one_hot_inputs(text[-1]), h)
            text += LETTERS[int(head(h).numpy().argmax())]
    return text


def main(steps=300, hidden_size=8, lr=0.05, output="out/hello_bptt.svg", progress=None, seed=0):
    ts.manual_seed(seed)
    cell, head = nn.RNNCell(len(LETTERS), hidden_size), nn.Linear(hidden_size, len(LETTERS))
    optimizer = optim.Adam(list(cell.parameters()) + list(head.parameters()), lr=lr)
    with ts.no_grad():                        # the first step's losses, to label the picture
        untrained = [loss.item() for loss in step_losses(cell, head, "hello")]
    labels = [f"L_{t} = {loss:.3f}" for t, loss in enumerate(untrained)]
    with ts.trace() as tr:                    # the first training step, recorded
        loss = sum(step_losses(cell, head, "hello", labels))
    print(f"untrained: loss {loss.item():.4f} = " + " + ".join(labels))
    for step in training.progress(range(steps), desc="training", enabled=progress):
        if step:
            loss = sum(step_losses(cell, head, "hello"))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step == 0 and output:              # the picture shows this step's gradients
            os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
            tr.render(output, grads=True, collapse=False,
                      step_labels={"x": "hell", "target": "ello"})
            del tr
    losses = [step_loss.item() for step_loss in step_losses(cell, head, "hello")]
    said = say(cell, head)
    print(f"trained:   loss {sum(losses):.4f} = " +
          " + ".join(f"{loss:.4f}" for loss in losses) + f"; after 'h' it says {said!r}")
    if output:
        print(f"wrote {output}")
    holds = said == "hello" and max(losses) < 0.05
    print(f"lesson hello_onehot: one RNN, trained with a loss at every step, says 'hello' "
          f"after 'h' (so its state tells the first 'l' from the second): it says {said!r}, "
          f"largest step loss {max(losses):.4f} (untrained {max(untrained):.3f}) -> "
          f"{'holds' if holds else 'does not hold'}")
    return {"loss": sum(losses), "step_losses": losses, "said": said}


if __name__ == "__main__":
    main()

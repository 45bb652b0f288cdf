"""Exploding gradients, and what clipping does about them.

Backpropagation through time multiplies the gradient by one Jacobian per step,

    dL/dh_t = dL/dh_{t+1} . diag(1 - h_{t+1}^2) W_hh,

so when W_hh is large its norm grows geometrically on the way back to the first steps. Here
W_hh = gain * N(0, 1/H): with gain 1 the gradient reaching h_0 is about as large as the one
at h_T; with gain 3 it is thousands of times larger. The trace measures ||dL/dh_t||
(``state_grad_norms()``) for every step.

Then the gain-3 RNN is trained on the next value of a sine wave with plain SGD, once as it is
and once with ``nn.utils.clip_grad_norm_(params, 1.0)``, which rescales the whole gradient
to norm 1 whenever it is larger: the direction stays, the step cannot blow up. Writes
out/exploding.png: the per-step gradient norms, and the two runs' loss curves side by side.
"""
import os

import numpy
from tqdm.auto import tqdm

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.datasets import SineWave


class SineRNN(nn.Module):
    def __init__(self, hidden_size, gain):
        super().__init__()
        self.rnn = nn.RNN(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)
        scaled = numpy.random.default_rng(0).standard_normal((hidden_size, hidden_size))
        self.rnn.weight_hh_l0.array[...] = gain * scaled / numpy.sqrt(hidden_size)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1]).squeeze(-1)


def state_grad_norms(model, x, y):
    """||dL/dh_t|| for every step t of one backward pass."""
    with ts.trace() as tr:
        loss = F.mse_loss(model(x), y)
    loss.backward()
    model.zero_grad()
    return list(tr.state_grad_norms().values())


def train(model, data, steps, lr, max_norm=None, batch_size=32, diverged=1e6):
    """SGD; returns the loss and the gradient norm (before clipping) of every step, stopping
    early once the loss passes ``diverged``."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    rng = numpy.random.default_rng(0)
    losses, norms = [], []
    for _ in tqdm(range(steps), desc="clipped" if max_norm else "not clipped", leave=False):
        rows = rng.integers(len(data), size=batch_size)
        loss = F.mse_loss(model(ts.tensor(data.inputs[rows])), ts.tensor(data.targets[rows]))
        optimizer.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm or float("inf"))
        optimizer.step()
        losses.append(loss.item())
        norms.append(norm.item())
        if loss.item() > diverged:
            break
    return losses, norms


def plot(flows, runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for gain, norms in flows.items():
        axes[0].semilogy(norms, marker=".", label=f"gain {gain}")
    axes[0].set(title="gradient reaching each step's state, untrained", xlabel="time step t",
                ylabel="||dL/dh_t||")
    for name, (losses, norms) in runs.items():
        axes[1].semilogy(losses, label=name, lw=1)
        axes[2].semilogy(norms, label=name, lw=1)
    axes[1].set(title="training loss, gain 3", xlabel="SGD step", ylabel="MSE")
    axes[2].set(title="gradient norm before clipping", xlabel="SGD step", ylabel="||grad||")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(seq_len=40, hidden_size=32, steps=400, lr=0.3, gain=3.0, output="out/exploding.png"):
    data = SineWave(2000, seq_len=seq_len)
    x, y = ts.tensor(data.inputs[:64]), ts.tensor(data.targets[:64])
    flows = {}
    for g in (1.0, gain):
        ts.manual_seed(0)
        flows[g] = state_grad_norms(SineRNN(hidden_size, g), x, y)
        print(f"gain {g}: ||dL/dh_0|| / ||dL/dh_T-1|| = {flows[g][0] / flows[g][-1]:.3g}")
    runs, valid = {}, {}
    test = SineWave(500, seq_len=seq_len, seed=1)
    for name, max_norm in (("not clipped", None), ("clipped to norm 1", 1.0)):
        ts.manual_seed(0)
        model = SineRNN(hidden_size, gain)
        runs[name] = train(model, data, steps, lr, max_norm)
        losses, norms = runs[name]
        if len(losses) < steps:
            valid[name] = float("inf")
            print(f"{name:18s} diverged at step {len(losses)}: loss {losses[-1]:.3g}, "
                  f"gradient norm {norms[-1]:.3g}")
            continue
        with ts.no_grad():
            valid[name] = F.mse_loss(model(ts.tensor(test.inputs)), ts.tensor(test.targets)).item()
        print(f"{name:18s} largest gradient norm {max(norms):10.3g}, test MSE {valid[name]:.4g} "
              f"(predicting 0 gives 0.5)")
    if output:
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        plot(flows, runs, output)
        print(f"wrote {output}")
    return {"ratios": {g: n[0] / n[-1] for g, n in flows.items()}, "test_mse": valid}


if __name__ == "__main__":
    main()

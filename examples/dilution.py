"""Information dilution: how much of the first input x_0 is still in the state h_t?

Every step rewrites the whole state of a plain RNN, h_t = tanh(W_ih x_t + W_hh h_{t-1} + b),
so what x_0 wrote into h_0 is mixed with every later input and squeezed by tanh again and
again. An LSTM (c_t = f * c_{t-1} + i * g) and a GRU (h_t = (1 - z) * n + z * h_{t-1}) can
keep a part of their state untouched for as long as their gates say so.

Measured directly: two batches of sequences identical except for x_0; the survival of x_0 at
step t is ||h_t - h'_t|| / ||h_0 - h'_0|| (averaged over the batch). Each model is measured
freshly initialised and after training on a task that needs x_0 at the end: output x_0 after
reading T - 1 further random inputs. Writes out/dilution.png.
"""
import os

import numpy
from tqdm.auto import tqdm

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


class Recall(nn.Module):
    def __init__(self, layer, hidden_size):
        super().__init__()
        self.rnn = LAYERS[layer](1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return output, self.head(output[:, -1]).squeeze(-1)


def recall_batch(rng, batch_size, seq_len):
    x = rng.uniform(-1, 1, size=(batch_size, seq_len, 1)).astype(numpy.float32)
    return x, x[:, 0, 0].copy()


def survival(model, seq_len, batch_size=256, seed=1):
    """||h_t - h'_t|| / ||h_0 - h'_0|| for t = 0..T-1, x and x' differing only at t = 0."""
    x, _ = recall_batch(numpy.random.default_rng(seed), batch_size, seq_len)
    changed = x.copy()
    changed[:, 0] = -x[:, 0]
    with ts.no_grad():
        h, _ = model(ts.tensor(x))
        h_changed, _ = model(ts.tensor(changed))
    distance = numpy.linalg.norm(h.numpy() - h_changed.numpy(), axis=-1)   # (B, T)
    return (distance / distance[:, :1]).mean(axis=0)


def train(model, seq_len, steps, lr=1e-2, batch_size=64):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    rng = numpy.random.default_rng(0)
    for _ in tqdm(range(steps), desc=type(model.rnn).__name__, leave=False):
        x, y = recall_batch(rng, batch_size, seq_len)
        _, prediction = model(ts.tensor(x))
        loss = F.mse_loss(prediction, ts.tensor(y))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    x, y = recall_batch(numpy.random.default_rng(2), 1000, seq_len)
    with ts.no_grad():
        return F.mse_loss(model(ts.tensor(x))[1], ts.tensor(y)).item()


def plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, stage in zip(axes, ("untrained", "trained to recall x_0")):
        for name, curve in curves[stage].items():
            ax.semilogy(curve, label=name)
        ax.set(title=f"how much of x_0 is left in h_t, {stage}", xlabel="time step t")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("||h_t - h'_t|| / ||h_0 - h'_0||")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(seq_len=20, hidden_size=32, steps=600, output="out/dilution.png"):
    curves = {"untrained": {}, "trained to recall x_0": {}}
    results = {}
    print(f"survival of x_0 in h_{seq_len - 1} (||h_T - h'_T|| / ||h_0 - h'_0||); "
          f"recall MSE (predicting 0 gives 0.333)")
    for name in LAYERS:
        ts.manual_seed(0)
        model = Recall(name, hidden_size)
        curves["untrained"][name] = survival(model, seq_len)
        mse = train(model, seq_len, steps)
        trained = survival(model, seq_len)
        curves["trained to recall x_0"][f"{name} (recall MSE {mse:.3f})"] = trained
        results[name] = {"untrained": float(curves["untrained"][name][-1]),
                         "trained": float(trained[-1]), "mse": mse}
        print(f"{name:5s} untrained {results[name]['untrained']:9.2e}   trained "
              f"{results[name]['trained']:9.2e}   recall MSE {mse:.4f}", flush=True)
    if output:
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        plot(curves, output)
        print(f"wrote {output}")
    return results


if __name__ == "__main__":
    main()

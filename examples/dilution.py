"""Information dilution: how much of the first input x_0 is still in the state h_t?

Every step rewrites the whole state of a plain RNN, h_t = tanh(W_ih x_t + W_hh h_{t-1} + b),
so what x_0 wrote into h_0 is mixed with every later input and squeezed by tanh again and
again. An LSTM (c_t = f * c_{t-1} + i * g) and a GRU (h_t = (1 - z) * n + z * h_{t-1}) can
keep a part of their state untouched for as long as their gates say so.

The task needs x_0 at the end: each step brings a value v_t ~ U[-1, 1] and a marker that is
1 at t = 0 only; after T = 40 steps the model must output v_0 (predicting 0 gives MSE 1/3).
Every later value is as large as v_0, so it dilutes whatever the state holds. The gated cells
start with the gate that keeps the state open (LSTM forget gate, GRU update gate z: bias +3,
the usual forget-gate-bias trick of Gers et al. 2000 and Jozefowicz et al. 2015), so at first
their gradient reaches step 0 and they can learn to write v_0 once and hold it; the plain RNN
has no gate to open and stays at the baseline.

Measured directly: two batches of sequences identical except for v_0; the survival of x_0 at
step t is ||h_t - h'_t|| / ||h_0 - h'_0|| (averaged over the batch). Each model is measured
freshly initialised and after training (800 Adam steps, lr 3e-3, batch 32, hidden 16; about a
minute on two busy CPU cores). Seeds 0-4 all end with LSTM and GRU below 0.01 and the RNN at
0.34. Writes out/dilution.png. examples/adding_problem.py and examples/gradient_flow.py show
the same from the gradient's side.
"""
import os

import numpy

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.train import progress

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
BASELINE = 1 / 3                        # predicting 0 for v_0 ~ U[-1, 1]: its variance


class Recall(nn.Module):
    def __init__(self, layer, hidden_size, gate_bias=2.0):
        super().__init__()
        self.rnn = LAYERS[layer](2, hidden_size, batch_first=True)
        if layer != "RNN":          # LSTM gates i, f, g, o; GRU r, z, n: the 2nd keeps the state
            self.rnn.bias_ih_l0.array[hidden_size:2 * hidden_size] += gate_bias
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return output, self.head(output[:, -1]).squeeze(-1)


def recall_batch(rng, batch_size, seq_len):
    """Values v_t ~ U[-1, 1] and a marker that is 1 at t = 0 only; the target is v_0."""
    x = numpy.zeros((batch_size, seq_len, 2), dtype=numpy.float32)
    x[:, :, 0] = rng.uniform(-1, 1, size=(batch_size, seq_len))
    x[:, 0, 1] = 1.0
    return x, x[:, 0, 0].copy()


def survival(model, seq_len, batch_size=256, seed=1):
    """||h_t - h'_t|| / ||h_0 - h'_0|| for t = 0..T-1, x and x' differing only at t = 0."""
    x, _ = recall_batch(numpy.random.default_rng(seed), batch_size, seq_len)
    changed = x.copy()
    changed[:, 0, 0] = -x[:, 0, 0]
    with ts.no_grad():
        h, _ = model(ts.tensor(x))
        h_changed, _ = model(ts.tensor(changed))
    distance = numpy.linalg.norm(h.numpy() - h_changed.numpy(), axis=-1)   # (B, T)
    return (distance / distance[:, :1]).mean(axis=0)


def traced_step_losses(model, seq_len, batch_size=64, seed=5):
    """Trace the model reading a batch, with a recall loss at every step,
    L_t = mean (head(h_t) - v_0)^2, so that ``tr.contributions(weight, by="loss_step",
    losses=losses)`` can say which steps each L_t's gradient comes from. Returns (tr, losses)."""
    x, y = recall_batch(numpy.random.default_rng(seed), batch_size, seq_len)
    target = ts.tensor(y)
    with ts.trace() as tr:
        output, _ = model(ts.tensor(x))
        predictions = model.head(output).squeeze(-1)                 # (B, T): a guess per step
        losses = [F.mse_loss(predictions[:, t], target) for t in range(seq_len)]
    return tr, losses


def far_share(matrix, distance=10):
    """Of each row t >= 2 distance of M[t, s], the share from steps s <= t - distance, averaged."""
    shares = matrix / matrix.sum(axis=1, keepdims=True)
    return float(numpy.mean([shares[t, :t - distance + 1].sum()
                             for t in range(2 * distance, len(matrix))]))


def train(model, seq_len, steps, lr=1e-2, batch_size=32, seed=0):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    rng = numpy.random.default_rng(seed)
    for _ in progress(range(steps), desc=type(model.rnn).__name__, leave=False):
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
        note = " (gated: keep gate open)" if stage == "untrained" else ""
        ax.set(title=f"how much of x_0 is left in h_t, {stage}{note}", xlabel="time step t")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("||h_t - h'_t|| / ||h_0 - h'_0||")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(seq_len=40, hidden_size=16, steps=800, lr=3e-3, gate_bias=3.0, seed=0,
         output="out/dilution.png"):
    curves = {"untrained": {}, "trained to recall x_0": {}}
    results = {}
    print(f"survival of x_0 in h_{seq_len - 1} (||h_T - h'_T|| / ||h_0 - h'_0||); "
          f"recall MSE (predicting 0 gives {BASELINE:.3f})")
    for name in LAYERS:
        ts.manual_seed(seed)
        model = Recall(name, hidden_size, gate_bias)
        curves["untrained"][name] = survival(model, seq_len)
        mse = train(model, seq_len, steps, lr=lr, seed=seed)
        trained = survival(model, seq_len)
        curves["trained to recall x_0"][f"{name} (recall MSE {mse:.3f})"] = trained
        results[name] = {"untrained": float(curves["untrained"][name][-1]),
                         "trained": float(trained[-1]), "mse": mse, "model": model}
        print(f"{name:5s} untrained {results[name]['untrained']:9.2e}   trained "
              f"{results[name]['trained']:9.2e}   recall MSE {mse:.4f}", flush=True)
    if output:
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        plot(curves, output)
        print(f"wrote {output}")
    rnn, lstm, gru = (results[name]["mse"] for name in LAYERS)
    holds = max(lstm, gru) < rnn / 10
    print(f"lesson dilution: after T = {seq_len} steps the gated cells recall x_0 far better "
          f"than the plain RNN (recall MSE at least 10x lower): LSTM {lstm:.4f}, GRU {gru:.4f}, "
          f"RNN {rnn:.4f} (predicting 0: {BASELINE:.3f}) -> "
          f"{'holds' if holds else 'does not hold'}")
    return results


if __name__ == "__main__":
    main()

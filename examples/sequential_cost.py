"""The sequential cost of recurrence: T steps that must run one after another, against one
attention layer that relates all T positions in a few products.

An RNN computes h_t = tanh(W_ih x_t + W_hh h_{t-1} + b): step t needs h_{t-1}, so the T steps
form a chain that no amount of hardware can run side by side. Self-attention over the same
sequence computes every position at once,

    Q = X W_q,  K = X W_k,  V = X W_v,   A = softmax(Q K^T / sqrt(d)),   Y = A V

three products and a softmax whatever T is: O(T^2 d) work, but all of it parallel.

Two measurements for each T (16 to 512, hidden size 64, one sequence):
- the longest chain of dependent ops in the traced graph (each op waits for its inputs): a
  count, the same on every machine. The RNN's grows with T, attention's does not.
- the forward time per sequence (the fastest of several repeats, so a busy machine adds
  little noise). On one CPU core the RNN's time grows like T (one small product per step)
  once the sequence is long enough that the per-step cost outweighs the fixed cost of a call;
  attention's grows more slowly at first and like T^2 for long sequences, yet runs as a few
  large products a GPU would spread over its cores.
Writes out/sequential_cost.png.
"""
import os
import time

# one BLAS thread, set before NumPy loads: the times show the work, not waits for threads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy  # noqa: E402

import tinyseq as ts  # noqa: E402
from tinyseq import nn  # noqa: E402


class SelfAttention(nn.Module):
    """One attention layer over a whole sequence x (T, B, d): every position attends to all."""

    def __init__(self, size):
        super().__init__()
        self.query = nn.Linear(size, size, bias=False)
        self.key = nn.Linear(size, size, bias=False)
        self.value = nn.Linear(size, size, bias=False)

    def forward(self, x):
        x = x.transpose(0, 1)                                   # (B, T, d)
        scores = self.query(x) @ self.key(x).transpose(1, 2)    # (B, T, T): all pairs at once
        weights = (scores / x.shape[-1] ** 0.5).softmax(axis=-1)
        return (weights @ self.value(x)).transpose(0, 1)        # (T, B, d)


def longest_chain(model, x):
    """The number of ops on the longest path of dependent ops in the traced forward graph."""
    with ts.no_grad(), ts.trace() as tr:
        model(x)
    depth = []
    for record in tr.ops:
        waits_for = [depth[index] for kind, index in record.inputs if kind == "op"]
        depth.append(1 + max(waits_for, default=0))
    return max(depth)


def seconds_per_sequence(model, x, repeats):
    """The fastest of ``repeats`` forward passes (no graph kept)."""
    best = float("inf")
    with ts.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - start)
    return best


def plot(lengths, chains, times, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, marker in (("RNN", "o"), ("attention", "s")):
        axes[0].loglog(lengths, chains[name], marker=marker, label=name)
        axes[1].loglog(lengths, [1e3 * t for t in times[name]], marker=marker, label=name)
    axes[0].set(title="dependent steps: longest chain of ops", xlabel="sequence length T",
                ylabel="ops that must run one after another")
    axes[1].set(title="forward time per sequence (fastest of the repeats)",
                xlabel="sequence length T", ylabel="milliseconds")
    for ax in axes:
        ax.minorticks_off()
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(lengths=(16, 32, 64, 128, 256, 512), size=64, repeats=7, seed=0,
         output="out/sequential_cost.png"):
    ts.manual_seed(seed)
    models = {"RNN": nn.RNN(size, size), "attention": SelfAttention(size)}
    rng = numpy.random.default_rng(seed)
    chains = {name: [] for name in models}
    times = {name: [] for name in models}
    print(f"{'T':>5} {'RNN chain':>10} {'attention chain':>16} {'RNN ms':>8} {'attention ms':>13}")
    for seq_len in lengths:
        x = ts.tensor(rng.standard_normal((seq_len, 1, size)).astype(numpy.float32))
        for name, model in models.items():
            chains[name].append(longest_chain(model, x))
            times[name].append(seconds_per_sequence(model, x, repeats))
        print(f"{seq_len:>5} {chains['RNN'][-1]:>10} {chains['attention'][-1]:>16} "
              f"{1e3 * times['RNN'][-1]:>8.2f} {1e3 * times['attention'][-1]:>13.2f}", flush=True)
    if output:
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        plot(lengths, chains, times, output)
        print(f"wrote {output}")
    # the time check compares the longest T with one four times shorter: at short T the fixed
    # cost of a call, not the steps, dominates the time
    growth = lengths[-1] / lengths[-3]
    rnn_chain_growth = (chains["RNN"][-1] - chains["RNN"][0]) / (lengths[-1] - lengths[0])
    rnn_time_growth = times["RNN"][-1] / times["RNN"][-3]
    holds = (rnn_chain_growth == 1 and len(set(chains["attention"])) == 1
             and rnn_time_growth > growth / 2)
    print(f"lesson sequential_cost: an RNN over T steps is a chain of T dependent steps while "
          f"one attention layer is the same few ops for any T, and the RNN's time grows with "
          f"T: longest chain RNN {chains['RNN'][0]} -> {chains['RNN'][-1]} ops (one more per "
          f"step: {rnn_chain_growth:g}), attention {chains['attention'][0]} -> "
          f"{chains['attention'][-1]}; RNN time x{rnn_time_growth:.1f} from T = {lengths[-3]} "
          f"to {lengths[-1]} (x{growth:g} longer, at least x{growth / 2:g} needed), attention "
          f"x{times['attention'][-1] / times['attention'][-3]:.1f} -> "
          f"{'holds' if holds else 'does not hold'}")
    return {"chains": chains, "times": times}


if __name__ == "__main__":
    main()

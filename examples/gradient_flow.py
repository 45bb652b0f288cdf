"""How far back does the gradient reach? RNN vs LSTM vs GRU on the adding problem.

The loss depends on the last output only, L = MSE(head(h_T), y), yet the state h_t of every
step receives a gradient through the chain of per-step Jacobians

    dL/dh_t = dL/dh_{t+1} . dh_{t+1}/dh_t        (multiplied T - 1 - t times)

and each step's use of the shared W_hh adds its own term to dL/dW_hh. The trace measures
||dL/dh_t|| for every t. In a tanh RNN the Jacobians shrink the gradient geometrically: the
first steps get almost nothing (vanishing gradient) and the model cannot learn to remember the
first marked number. The LSTM's cell path c_t = f * c_{t-1} + i * g and the GRU's
h_t = (1 - z) * n + z * h_{t-1} can pass the gradient on nearly unchanged when their gates
learn to: at initialisation (forget gate near 0.5) they vanish too, once trained they do not.

For the LSTM the plot also shows ||dL/dc_t|| beside ||dL/dh_t||: the cell state is where the
gradient travels. Each model is measured freshly initialised and after training on the task
(examples/adding_problem.py's settings at T = 30: hidden 32, Adam lr 1e-2, batch 64, at most
400 steps). Over seeds 0-2 the trained ratios were LSTM 0.84-1.3, GRU 0.25-0.37, RNN 3e-8 to
2e-5. Writes out/gradient_flow.svg.
"""
import argparse
import os

from adding_problem import LAYERS, train

import tinyseq as ts
import tinyseq.functional as F
from tinyseq.datasets import AddingProblem
from tinyseq.render import plot_gradient_flow
from tinyseq.trace import gradient_flow


def measure(model, seq_len, seed=3, batch_size=64):
    """gradient_flow of the adding model on one batch: ||dL/dh_t|| and W_hh's per-step shares."""
    batch = AddingProblem(batch_size, seq_len, seed=seed)
    x, y = ts.tensor(batch.inputs), ts.tensor(batch.targets)
    flow = gradient_flow(lambda: F.mse_loss(model(x), y), model.rnn.weight_hh_l0)
    model.zero_grad()
    return flow


def main(seq_len=30, steps=400, hidden_size=32, seed=0, output="out/gradient_flow.svg"):
    print(f"adding problem, T = {seq_len}: ||dL/dh_0|| / ||dL/dh_T-1|| (how much of the "
          f"gradient reaches the first step)")
    print(f"{'model':6s} {'at init':>10s} {'trained':>10s} {'test MSE':>9s} {'steps':>6s}")
    flows, ratios = {}, {}
    for name in LAYERS:
        model, test_mse, taken, _ = train(name, seq_len, steps=0, hidden_size=hidden_size,
                                          seed=seed)
        initial = measure(model, seq_len)["state_grad_norms"]
        model, test_mse, taken, _ = train(name, seq_len, steps=steps, hidden_size=hidden_size,
                                          seed=seed)
        flow = measure(model, seq_len)
        flows[f"{name} (trained, test MSE {test_mse:.3f})"] = flow
        trained = flow["state_grad_norms"]
        ratios[name] = (initial[0] / initial[-1], trained[0] / trained[-1])
        print(f"{name:6s} {ratios[name][0]:10.2e} {ratios[name][1]:10.2e} {test_mse:9.4f} {taken:6d}",
              flush=True)
    if output:
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        plot_gradient_flow(flows, output, title=f"Gradient flow through time, adding problem "
                                                f"T = {seq_len}, after training")
        print(f"wrote {output}")
    rnn, lstm, gru = (ratios[name][1] for name in ("RNN", "LSTM", "GRU"))
    holds = rnn < 1e-3 and min(lstm, gru) > 0.1
    print(f"lesson gradient_flow: once trained, the LSTM and GRU pass the gradient back to the "
          f"first step nearly whole while the plain RNN's vanishes (||dL/dh_0|| / "
          f"||dL/dh_T-1|| above 0.1 against below 1e-3): LSTM {lstm:.2g}, GRU {gru:.2g}, RNN "
          f"{rnn:.2g} -> {'holds' if holds else 'does not hold'}")
    return ratios


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=30)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default="out/gradient_flow.svg")
    args = parser.parse_args()
    main(args.seq_len, args.steps, seed=args.seed, output=args.output)

"""How far back does the gradient reach? RNN vs LSTM vs GRU on the adding problem.

For one batch the loss depends on the last output only, L = MSE(head(h_T), y), and yet every
step's state h_t and every step's use of W_hh receives a gradient through the chain

    dL/dh_t = dL/dh_{t+1} . dh_{t+1}/dh_t      (one Jacobian per step, multiplied T - t times)

The trace measures ||dL/dh_t|| and each step's share of dL/dW_hh. In a vanilla tanh RNN the
repeated Jacobians shrink the gradient geometrically, so early steps barely learn (vanishing
gradient); the LSTM's additive cell path c_t = f * c_{t-1} + i * g keeps it alive.
"""
import argparse

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn
from tinyseq.datasets import AddingProblem
from tinyseq.render import plot_gradient_flow
from tinyseq.trace import gradient_flow

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def measure(model_name, seq_len=100, hidden_size=64, batch_size=64, seed=0):
    """gradient_flow's result for a freshly initialised model on one adding-problem batch."""
    ts.manual_seed(seed)
    layer, head = LAYERS[model_name](2, hidden_size), nn.Linear(hidden_size, 1)
    data = AddingProblem(batch_size, seq_len, seed=seed)
    x = ts.tensor(data.inputs).transpose(1, 0, 2)           # (T, B, 2)
    y = ts.tensor(data.targets)

    def loss_fn():
        output, _ = layer(x)
        return F.mse_loss(head(output[-1]).squeeze(-1), y)

    return gradient_flow(loss_fn, layer.weight_hh_l0)


def main(seq_len=100, output="gradient_flow.svg"):
    flows = {name: measure(name, seq_len) for name in LAYERS}
    print(f"adding problem, T = {seq_len}, one batch at initialisation")
    print(f"{'model':6s} {'|dL/dh_0|':>11s} {'|dL/dh_T-1|':>12s} {'ratio first/last':>17s} "
          f"{'W_hh share t=0':>15s} {'W_hh share t=T-1':>17s}")
    ratios = {}
    for name, flow in flows.items():
        states, shares = flow["state_grad_norms"], flow["weight_contribution_norms"]
        ratios[name] = states[0] / states[-1]
        print(f"{name:6s} {states[0]:11.3e} {states[-1]:12.3e} {ratios[name]:17.3e} "
              f"{shares[0]:15.3e} {shares[-1]:17.3e}")
    if output:
        plot_gradient_flow(flows, output, title=f"Gradient flow through time (adding problem, T = {seq_len})")
        print(f"wrote {output}")
    return ratios


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("-o", "--output", default="gradient_flow.svg")
    args = parser.parse_args()
    main(args.seq_len, args.output)

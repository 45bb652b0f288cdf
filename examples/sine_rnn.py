"""A many-to-one RNN written from primitive ops learns the next value of a sine wave.

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)      (the same W_hh at every step)
    y   = h_T w_out^T + b_out

Windows of 50 points, hidden size 64, Adam lr 1e-3, batch 64, as in the classic tutorial;
three epochs over 2,500 windows.
"""
import math

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.data import DataLoader
from tinyseq.datasets import SineWave
from tinyseq.train import progress


class SineRNN(nn.Module):
    def __init__(self, input_size=1, hidden_size=64):
        super().__init__()
        bound = 1 / math.sqrt(hidden_size)
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(nn.init.uniform((hidden_size, input_size), bound))
        self.weight_hh = nn.Parameter(nn.init.uniform((hidden_size, hidden_size), bound))
        self.bias_ih = nn.Parameter(nn.init.uniform((hidden_size,), bound))
        self.bias_hh = nn.Parameter(nn.init.uniform((hidden_size,), bound))
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):                       # x: (B, T, 1)
        batch, steps, _ = x.shape
        h = ts.zeros(batch, self.hidden_size)
        for t in range(steps):
            with ts.timestep(t):                # tags this step's ops for ts.trace()
                x_t = x[:, t]                   # (B, 1)
                h = ts.tanh(x_t @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh)
        return self.fc(h).squeeze(-1)           # (B,)


def evaluate(model, loader):
    model.eval()
    total, count = 0.0, 0
    with ts.no_grad():
        for x, y in loader:
            total += F.mse_loss(model(x), y).item() * len(x)
            count += len(x)
    model.train()
    return total / count


def main(epochs=3, seed=0):
    ts.manual_seed(seed)
    train_loader = DataLoader(SineWave(2500, seq_len=50, seed=0), batch_size=64, shuffle=True)
    valid_loader = DataLoader(SineWave(500, seq_len=50, seed=1), batch_size=128)
    model = SineRNN()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        for x, y in progress(train_loader, desc=f"epoch {epoch}", leave=False):
            loss = F.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch:2d}  train_mse={evaluate(model, train_loader):.5f}  "
              f"valid_mse={evaluate(model, valid_loader):.5f}", flush=True)
    valid_mse = evaluate(model, valid_loader)
    baseline = float(valid_loader.dataset.targets.var())     # predicting the mean
    holds = valid_mse < baseline / 20
    print(f"lesson sine_rnn: one W_hh shared by all 50 steps learns the next value of a sine "
          f"wave (validation MSE under 1/20 of predicting the mean): MSE {valid_mse:.5f}, "
          f"predicting the mean {baseline:.3f} -> {'holds' if holds else 'does not hold'}")
    return model


if __name__ == "__main__":
    main()

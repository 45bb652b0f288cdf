# Port of MorvanZhou's PyTorch-Tutorial 501_why_torch_dynamic_graph.py: the 403 regressor (an
# RNN reads sin and predicts cos, a Linear applied per time step), now fed windows of a random
# length of 1 to 3 half-periods, so every iteration unrolls a different number of steps; the
# hidden state is repacked with Variable(h_state.data) between windows.
# https://github.com/MorvanZhou/PyTorch-Tutorial/blob/master/tutorial-contents/
# 501_why_torch_dynamic_graph.py
# Written after the tutorial: the same model, data, Adam, MSE and loop, Variable as the 2017
# original uses it; only the imports name tinyseq. Left out: the live matplotlib plot and the
# per-window print of the length. No data files.
import numpy as np

import tinyseq as torch
from tinyseq import nn
from tinyseq.autograd import Variable

torch.manual_seed(1)

INPUT_SIZE = 1
LR = 0.02


class RNN(nn.Module):
    def __init__(self):
        super(RNN, self).__init__()
        self.rnn = nn.RNN(input_size=1, hidden_size=32, num_layers=1, batch_first=True)
        self.out = nn.Linear(32, 1)

    def forward(self, x, h_state):
        # x (batch, time_step, input_size), h_state (n_layers, batch, hidden_size)
        r_out, h_state = self.rnn(x, h_state)
        outs = []                       # as many outputs as this window has steps
        for time_step in range(r_out.size(1)):
            outs.append(self.out(r_out[:, time_step, :]))
        return torch.stack(outs, dim=1), h_state


rnn = RNN()
print(rnn)
optimizer = torch.optim.Adam(rnn.parameters(), lr=LR)
loss_func = nn.MSELoss()

h_state = None
step = 0
for i in range(60):
    dynamic_steps = np.random.randint(1, 4)        # this window's length in half-periods
    start, end = step * np.pi, (step + dynamic_steps) * np.pi
    step += dynamic_steps
    steps = np.linspace(start, end, 10 * dynamic_steps, dtype=np.float32)
    x_np, y_np = np.sin(steps), np.cos(steps)
    x = Variable(torch.from_numpy(x_np[np.newaxis, :, np.newaxis]))
    y = Variable(torch.from_numpy(y_np[np.newaxis, :, np.newaxis]))
    prediction, h_state = rnn(x, h_state)
    h_state = Variable(h_state.data)               # cut the graph to the previous window
    loss = loss_func(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

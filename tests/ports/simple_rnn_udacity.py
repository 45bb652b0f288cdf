# Port of Udacity's Deep Learning nanodegree notebook "Simple RNN" (time series): an RNN
# predicts the next value of a sine wave, its hidden state carried from batch to batch
# https://github.com/udacity/deep-learning-v2-pytorch/blob/master/recurrent-neural-networks/time-series/Simple_RNN.ipynb
# Written after the notebook's code cells: the same data, RNN, shape check, MSELoss, Adam and
# training loop, tensors made by the legacy constructor torch.Tensor(array); only the imports
# name tinyseq. Left out: the plots. No data files.
import numpy as np

import tinyseq as torch
from tinyseq import nn

seq_length = 20


class RNN(nn.Module):
    def __init__(self, input_size, output_size, hidden_dim, n_layers):
        super(RNN, self).__init__()
        self.hidden_dim = hidden_dim
        self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_size)

    def forward(self, x, hidden):
        r_out, hidden = self.rnn(x, hidden)
        r_out = r_out.view(-1, self.hidden_dim)
        return self.fc(r_out), hidden


# the shapes of a two-layer test network
test_rnn = RNN(input_size=1, output_size=1, hidden_dim=10, n_layers=2)
time_steps = np.linspace(0, np.pi, seq_length)
data = np.sin(time_steps)
data.resize((seq_length, 1))
test_input = torch.Tensor(data).unsqueeze(0)
test_out, test_h = test_rnn(test_input, None)
print('Input size: ', test_input.size(), 'Output size: ', test_out.size(),
      'Hidden state size: ', test_h.size())

input_size = 1
output_size = 1
hidden_dim = 32
n_layers = 1
rnn = RNN(input_size, output_size, hidden_dim, n_layers)
print(rnn)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(rnn.parameters(), lr=0.01)


def train(rnn, n_steps, print_every):
    hidden = None
    for batch_i, step in enumerate(range(n_steps)):
        time_steps = np.linspace(step * np.pi, (step + 1) * np.pi, seq_length + 1)
        data = np.sin(time_steps)
        data.resize((seq_length + 1, 1))
        x, y = data[:-1], data[1:]
        x_tensor = torch.Tensor(x).unsqueeze(0)          # a batch of one
        y_tensor = torch.Tensor(y)
        prediction, hidden = rnn(x_tensor, hidden)
        hidden = hidden.data                             # no backprop into earlier batches
        loss = criterion(prediction, y_tensor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_i % print_every == 0:
            print('Loss: ', loss.item())
    return rnn


n_steps = 75
print_every = 15
trained_rnn = train(rnn, n_steps, print_every)

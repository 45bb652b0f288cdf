# Port of NYU Deep Learning (Canziani, LeCun) notebook 09-echo_data: an RNN learns to echo a
# random bit stream three steps late, trained by truncated BPTT on successive chunks of one
# stream, the hidden state carried over with hidden.detach_()
# https://github.com/Atcold/NYU-DLSP20/blob/master/09-echo_data.ipynb
# Written after the notebook's code cells: the same SimpleRNN, train/test loops, BCEWithLogits
# loss, RMSprop and the echo check at the end; only the imports name tinyseq. Departures: the
# course's res/sequential_tasks.EchoData is replaced by echo_chunks below (the same stream,
# target and chunking, written here), and the printing of the data is left out.
import numpy as np

import tinyseq as torch
from tinyseq import nn

torch.manual_seed(1)
np.random.seed(3)

batch_size = 5
echo_step = 3
series_length = 20_000
BPTT_T = 20


def echo_chunks(batch_size, series_length, echo_step, truncated_length):
    """(x, y) chunks of shape (batch, truncated_length, 1): random bits x and y, the same
    stream delayed by echo_step (zeros first), cut along time into successive chunks."""
    x = np.random.choice(2, size=(batch_size, series_length), p=[0.5, 0.5])
    y = np.roll(x, echo_step, axis=1)
    y[:, :echo_step] = 0
    n_chunks = series_length // truncated_length
    return list(zip(np.split(x[..., None], n_chunks, axis=1),
                    np.split(y[..., None], n_chunks, axis=1)))


total_values_in_one_chunck = batch_size * BPTT_T


class SimpleRNN(nn.Module):
    def __init__(self, input_size, rnn_hidden_size, output_size):
        super().__init__()
        self.rnn_hidden_size = rnn_hidden_size
        self.rnn = torch.nn.RNN(input_size=input_size, hidden_size=rnn_hidden_size,
                                num_layers=1, nonlinearity='relu', batch_first=True)
        self.linear = torch.nn.Linear(in_features=rnn_hidden_size, out_features=1)

    def forward(self, x, hidden):
        # successive chunks continue one stream: the hidden state is carried across calls
        x, hidden = self.rnn(x, hidden)
        return self.linear(x), hidden


device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def train():
    model.train()
    hidden = None
    correct = 0
    for data, target in echo_chunks(batch_size, series_length, echo_step, BPTT_T):
        data = torch.from_numpy(data).float().to(device)
        target = torch.from_numpy(target).float().to(device)
        optimizer.zero_grad()
        if hidden is not None:
            hidden.detach_()
        logits, hidden = model(data, hidden)
        loss = criterion(logits, target)
        loss.backward()
        optimizer.step()
        pred = (torch.sigmoid(logits) > 0.5)
        correct += (pred == target.byte()).int().sum().item() / total_values_in_one_chunck
    return correct, loss.item()


def test():
    model.eval()
    correct = 0
    hidden = None
    with torch.no_grad():
        for data, target in echo_chunks(batch_size, series_length, echo_step, BPTT_T):
            data = torch.from_numpy(data).float().to(device)
            target = torch.from_numpy(target).float().to(device)
            logits, hidden = model(data, hidden)
            pred = (torch.sigmoid(logits) > 0.5)
            correct += (pred == target.byte()).int().sum().item() / total_values_in_one_chunck
    return correct


feature_dim = 1
h_units = 4
model = SimpleRNN(input_size=1, rnn_hidden_size=h_units, output_size=feature_dim).to(device)
criterion = torch.nn.BCEWithLogitsLoss()
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.001)

n_epochs = 5
n_chunks = series_length // BPTT_T
for epoch in range(1, n_epochs + 1):
    correct, loss = train()
    print(f'Train Epoch: {epoch}/{n_epochs}, loss: {loss:.3f}, '
          f'accuracy {float(correct) * 100 / n_chunks:.1f}%')
print(f'Test accuracy: {float(test()) * 100 / n_chunks:.1f}%')

my_input = torch.empty(1, 100, 1).random_(2)
my_out, _ = model(my_input.to(device), None)
my_pred = torch.where(my_out > .5, torch.ones_like(my_out), torch.zeros_like(my_out)).cpu()
print(my_input.view(1, -1).byte(), my_pred.view(1, -1).byte(), sep='\n')
expected = np.roll(my_input, echo_step)
expected[:, :echo_step] = 0
print(np.ndarray.flatten(expected == my_pred.numpy()))

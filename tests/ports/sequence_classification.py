# Port of NYU Deep Learning (Canziani, LeCun) notebook 08-seq_classification: a ReLU RNN and an
# LSTM classify the order of the two relevant symbols hidden in a random sequence (Hochreiter
# and Schmidhuber's temporal order task); the LSTM's states are read step by step afterwards
# https://github.com/Atcold/NYU-DLSP20/blob/master/08-seq_classification.ipynb
# Written after the notebook's code cells: the same SimpleRNN, SimpleLSTM (with
# get_states_across_time), train, test and train_and_test, CrossEntropyLoss and RMSprop; only
# the imports name tinyseq. Departures: the course's res/sequential_tasks generator is replaced
# by TemporalOrder below (the same kind of one-hot batches and four order classes, written
# here), and the plots are left out.
import numpy as np

import tinyseq as torch
from tinyseq import nn

torch.manual_seed(1)


class TemporalOrder:
    """Batches (x one-hot (batch, length, 8), y one-hot (batch, 4)): B, random symbols from
    a-d with X or Y at two random places, E; the class is the order of the two (XX XY YX YY)."""
    symbols = "BEabcdXY"
    n_symbols, n_classes = 8, 4

    def __init__(self, batch_size, length=9, batches=8, seed=0):
        self.batch_size, self.length, self.batches = batch_size, length, batches
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        x = np.zeros((self.batch_size, self.length, self.n_symbols))
        y = np.zeros((self.batch_size, self.n_classes))
        for row in range(self.batch_size):
            ids = list(self.rng.integers(2, 6, self.length))
            ids[0], ids[-1] = 0, 1
            first, second = sorted(self.rng.choice(np.arange(1, self.length - 1), 2, False))
            order = self.rng.integers(0, 4)
            ids[first], ids[second] = 6 + order // 2, 6 + order % 2
            x[row, np.arange(self.length), ids] = 1
            y[row, order] = 1
        return x, y


class SimpleRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = torch.nn.RNN(input_size, hidden_size, nonlinearity='relu', batch_first=True)
        self.linear = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = self.rnn(x)[0]
        return self.linear(h)


class SimpleLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, batch_first=True)
        self.linear = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = self.lstm(x)[0]
        return self.linear(h)

    def get_states_across_time(self, x):
        h_c = None
        h_list, c_list = list(), list()
        with torch.no_grad():
            for t in range(x.size(1)):
                h_c = self.lstm(x[:, [t], :], h_c)[1]
                h_list.append(h_c[0])
                c_list.append(h_c[1])
            h = torch.cat(h_list)
            c = torch.cat(c_list)
        return h, c


def train(model, train_data_gen, criterion, optimizer, device):
    model.train()
    num_correct = 0
    for batch_idx in range(len(train_data_gen)):
        data, target = train_data_gen[batch_idx]
        data = torch.from_numpy(data).float().to(device)
        target = torch.from_numpy(target).long().to(device)
        output = model(data)[:, -1, :]          # the last step classifies the sequence
        target = target.argmax(dim=1)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        num_correct += (output.argmax(dim=1) == target).sum().item()
    return num_correct, loss.item()


def test(model, test_data_gen, criterion, device):
    model.eval()
    num_correct = 0
    with torch.no_grad():
        for batch_idx in range(len(test_data_gen)):
            data, target = test_data_gen[batch_idx]
            data = torch.from_numpy(data).float().to(device)
            target = torch.from_numpy(target).long().to(device)
            output = model(data)[:, -1, :]
            target = target.argmax(dim=1)
            loss = criterion(output, target)
            num_correct += (output.argmax(dim=1) == target).sum().item()
    return num_correct, loss.item()


def train_and_test(model, train_data_gen, test_data_gen, criterion, optimizer, max_epochs,
                   verbose=True):
    device = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
    model.to(device)
    for epoch in range(max_epochs):
        num_correct, loss = train(model, train_data_gen, criterion, optimizer, device)
        accuracy = float(num_correct) / (len(train_data_gen) * train_data_gen.batch_size) * 100
        num_correct, test_loss = test(model, test_data_gen, criterion, device)
        test_accuracy = float(num_correct) / (len(test_data_gen) * test_data_gen.batch_size) * 100
        if verbose or epoch + 1 == max_epochs:
            print(f'[Epoch {epoch + 1}/{max_epochs}] loss: {loss:.4f}, acc: {accuracy:.2f}% - '
                  f'test_loss: {test_loss:.4f}, test_acc: {test_accuracy:.2f}%')
    return model


batch_size = 32
for Model in (SimpleRNN, SimpleLSTM):
    train_data_gen = TemporalOrder(batch_size, seed=0)
    test_data_gen = TemporalOrder(batch_size, seed=1)
    model = Model(TemporalOrder.n_symbols, 4, TemporalOrder.n_classes)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.001)
    max_epochs = 10
    model = train_and_test(model, train_data_gen, test_data_gen, criterion, optimizer,
                           max_epochs)
    for parameter_group in list(model.parameters()):
        print(parameter_group.size())

data, _ = TemporalOrder(1, seed=2)[0]
h, c = model.get_states_across_time(torch.from_numpy(data).float())
print(h.shape, c.shape)

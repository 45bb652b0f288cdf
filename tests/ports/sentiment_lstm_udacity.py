# Port of Udacity's Deep Learning nanodegree notebook "Sentiment Analysis with an RNN"
# (solution): reviews as word ids, left-padded, an Embedding + 2-layer LSTM + sigmoid trained
# with BCELoss and clipping, then tested and used to predict
# https://github.com/udacity/deep-learning-v2-pytorch/blob/master/sentiment-rnn/Sentiment_RNN_Solution.ipynb
# Written after the notebook's code cells: the same preprocessing, pad_features, splits,
# DataLoaders, SentimentRNN, training with validation, test and predict; only the imports name
# tinyseq. One departure, which PyTorch 2.13 needs too: ``dataiter.next()`` is
# ``next(dataiter)`` (DataLoader iterators lost their .next() in PyTorch 1.13). Data:
# data/reviews.txt and data/labels.txt, made by standin.reviews (the notebook ships IMDB
# reviews). Prints of intermediate values are left out.
from collections import Counter
from string import punctuation

import numpy as np

import tinyseq as torch
from tinyseq import nn
from tinyseq.utils.data import DataLoader, TensorDataset

with open('data/reviews.txt', 'r') as f:
    reviews = f.read()
with open('data/labels.txt', 'r') as f:
    labels = f.read()

reviews = reviews.lower()
all_text = ''.join([c for c in reviews if c not in punctuation])
reviews_split = all_text.split('\n')
words = ' '.join(reviews_split).split()
counts = Counter(words)
vocab = sorted(counts, key=counts.get, reverse=True)
vocab_to_int = {word: ii for ii, word in enumerate(vocab, 1)}
reviews_ints = [[vocab_to_int[word] for word in review.split()] for review in reviews_split]
labels_split = labels.split('\n')
encoded_labels = np.array([1 if label == 'positive' else 0 for label in labels_split])

# drop the empty reviews (the file's last line)
non_zero_idx = [ii for ii, review in enumerate(reviews_ints) if len(review) != 0]
reviews_ints = [reviews_ints[ii] for ii in non_zero_idx]
encoded_labels = np.array([encoded_labels[ii] for ii in non_zero_idx])


def pad_features(reviews_ints, seq_length):
    """Each review's ids right-aligned in a row of seq_length, zeros before; longer reviews
    are cut to their first seq_length ids."""
    features = np.zeros((len(reviews_ints), seq_length), dtype=int)
    for i, row in enumerate(reviews_ints):
        features[i, -len(row):] = np.array(row)[:seq_length]
    return features


seq_length = 200
features = pad_features(reviews_ints, seq_length=seq_length)
split_frac = 0.8
split_idx = int(len(features) * split_frac)
train_x, remaining_x = features[:split_idx], features[split_idx:]
train_y, remaining_y = encoded_labels[:split_idx], encoded_labels[split_idx:]
test_idx = int(len(remaining_x) * 0.5)
val_x, test_x = remaining_x[:test_idx], remaining_x[test_idx:]
val_y, test_y = remaining_y[:test_idx], remaining_y[test_idx:]

train_data = TensorDataset(torch.from_numpy(train_x), torch.from_numpy(train_y))
valid_data = TensorDataset(torch.from_numpy(val_x), torch.from_numpy(val_y))
test_data = TensorDataset(torch.from_numpy(test_x), torch.from_numpy(test_y))
batch_size = 50
train_loader = DataLoader(train_data, shuffle=True, batch_size=batch_size)
valid_loader = DataLoader(valid_data, shuffle=True, batch_size=batch_size)
test_loader = DataLoader(test_data, shuffle=True, batch_size=batch_size)

dataiter = iter(train_loader)
sample_x, sample_y = next(dataiter)
print('Sample input size: ', sample_x.size())

train_on_gpu = torch.cuda.is_available()


class SentimentRNN(nn.Module):
    def __init__(self, vocab_size, output_size, embedding_dim, hidden_dim, n_layers,
                 drop_prob=0.5):
        super(SentimentRNN, self).__init__()
        self.output_size = output_size
        self.n_layers = n_layers
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, n_layers, dropout=drop_prob,
                            batch_first=True)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(hidden_dim, output_size)
        self.sig = nn.Sigmoid()

    def forward(self, x, hidden):
        x = x.long()
        embeds = self.embedding(x)
        lstm_out, hidden = self.lstm(embeds, hidden)
        lstm_out = lstm_out[:, -1, :]      # the last step's output
        out = self.fc(self.dropout(lstm_out))
        return self.sig(out), hidden

    def init_hidden(self, batch_size):
        weight = next(self.parameters()).data
        if train_on_gpu:
            return (weight.new(self.n_layers, batch_size, self.hidden_dim).zero_().cuda(),
                    weight.new(self.n_layers, batch_size, self.hidden_dim).zero_().cuda())
        return (weight.new(self.n_layers, batch_size, self.hidden_dim).zero_(),
                weight.new(self.n_layers, batch_size, self.hidden_dim).zero_())


vocab_size = len(vocab_to_int) + 1          # +1 for the padding id 0
output_size = 1
embedding_dim = 400
hidden_dim = 256
n_layers = 2
net = SentimentRNN(vocab_size, output_size, embedding_dim, hidden_dim, n_layers)
print(net)

lr = 0.001
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(net.parameters(), lr=lr)
epochs = 4
counter = 0
print_every = 100
clip = 5

net.train()
for e in range(epochs):
    h = net.init_hidden(batch_size)
    for inputs, labels in train_loader:
        counter += 1
        h = tuple([each.data for each in h])
        net.zero_grad()
        output, h = net(inputs, h)
        loss = criterion(output.squeeze(), labels.float())
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), clip)
        optimizer.step()
        if counter % print_every == 0:
            val_h = net.init_hidden(batch_size)
            val_losses = []
            net.eval()
            for inputs, labels in valid_loader:
                val_h = tuple([each.data for each in val_h])
                output, val_h = net(inputs, val_h)
                val_losses.append(criterion(output.squeeze(), labels.float()).item())
            net.train()
            print("Epoch: {}/{}...".format(e + 1, epochs), "Step: {}...".format(counter),
                  "Loss: {:.6f}...".format(loss.item()),
                  "Val Loss: {:.6f}".format(np.mean(val_losses)))

test_losses = []
num_correct = 0
h = net.init_hidden(batch_size)
net.eval()
for inputs, labels in test_loader:
    h = tuple([each.data for each in h])
    output, h = net(inputs, h)
    test_losses.append(criterion(output.squeeze(), labels.float()).item())
    pred = torch.round(output.squeeze())
    correct_tensor = pred.eq(labels.float().view_as(pred))
    num_correct += np.sum(np.squeeze(correct_tensor.numpy()))
print("Test loss: {:.3f}".format(np.mean(test_losses)))
print("Test accuracy: {:.3f}".format(num_correct / len(test_loader.dataset)))


def tokenize_review(test_review):
    test_review = test_review.lower()
    test_text = ''.join([c for c in test_review if c not in punctuation])
    return [[vocab_to_int.get(word, 0) for word in test_text.split()]]


def predict(net, test_review, sequence_length=200):
    net.eval()
    features = pad_features(tokenize_review(test_review), sequence_length)
    feature_tensor = torch.from_numpy(features)
    h = net.init_hidden(feature_tensor.size(0))
    output, h = net(feature_tensor, h)
    pred = torch.round(output.squeeze())
    print('Prediction value, pre-rounding: {:.6f}'.format(output.item()))
    print("Positive review detected!" if pred.item() == 1 else "Negative review detected.")


predict(net, 'The worst movie I have seen; acting was terrible and I want my money back.',
        seq_length)
predict(net, 'This movie had the best acting and the dialogue was so good. I loved it.',
        seq_length)

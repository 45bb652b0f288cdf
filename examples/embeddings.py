"""What an embedding learns, and why its gradient is sparse.

A word as a one-hot vector x (V entries, one 1) times a matrix W (V, D) picks one row of W:
x W = W[id]. ``nn.Embedding`` does exactly that lookup without building x, and backward sends
gradient only to the rows that were looked up: every other row's gradient is zero.

The corpus is generated from a small grammar whose words fall into groups (animals, foods,
people, places, verbs): "the cat eats fish", "the queen lives in the castle", ... A CBOW model
(Mikolov et al. 2013) learns one vector per word by predicting each word from the mean of its
neighbours' vectors. Words used in the same contexts end up close: the metric is the fraction
of words whose nearest neighbour (cosine) is in their own group. Writes out/embeddings.png,
the vectors projected on their first two principal components, each with a line to its
nearest neighbour.
"""
import os

import numpy

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.text import Vocab
from tinyseq.train import progress

GROUPS = {
    "animal": ["cat", "dog", "horse", "cow", "sheep"],
    "food": ["fish", "meat", "grass", "bread", "milk"],
    "person": ["king", "queen", "man", "woman", "child"],
    "place": ["city", "village", "castle", "farm", "house"],
    "verb": ["eats", "likes", "sees", "wants"],
}
TEMPLATES = [
    "the {animal} {verb} the {food}", "the {person} {verb} the {animal}",
    "the {person} lives in the {place}", "the {animal} sleeps in the {place}",
    "a {person} and a {person} walk to the {place}", "the {person} {verb} {food}",
]


def corpus(n_sentences, seed=0):
    rng = numpy.random.default_rng(seed)
    sentences = []
    for _ in range(n_sentences):
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        words = template.split()
        sentences.append(" ".join(
            GROUPS[w[1:-1]][rng.integers(len(GROUPS[w[1:-1]]))] if w.startswith("{") else w
            for w in words))
    return sentences


def cbow_examples(sentences, vocab, window=2):
    """(context ids (N, 2 window), centre ids (N,)); missing neighbours are <pad>."""
    contexts, centres = [], []
    for sentence in sentences:
        ids = [vocab.pad_id] * window + vocab.encode(sentence) + [vocab.pad_id] * window
        for i in range(window, len(ids) - window):
            contexts.append(ids[i - window:i] + ids[i + 1:i + 1 + window])
            centres.append(ids[i])
    return numpy.array(contexts), numpy.array(centres)


class CBOW(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.out = nn.Linear(dim, vocab_size)

    def forward(self, context):
        return self.out(self.embed(context).mean(axis=1))


def nearest_neighbours(vectors):
    unit = vectors / numpy.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    numpy.fill_diagonal(similarity, -numpy.inf)
    return similarity.argmax(axis=1)


def sparse_gradient_demo(model, context, centre):
    """One backward pass: which rows of the embedding got gradient, read from the trace."""
    model.zero_grad()
    with ts.trace() as tr:
        loss = F.cross_entropy(model(context), centre)
    loss.backward()
    (_, grad), = tr.contributions(model.embed.weight)
    rows_with_grad = numpy.flatnonzero(numpy.abs(grad).sum(axis=1))
    looked_up = numpy.unique(context.numpy())
    looked_up = looked_up[looked_up != model.embed.padding_idx]   # padding rows get none
    one_hot = F.one_hot(context, model.embed.num_embeddings).float()
    same_rows = numpy.allclose((one_hot @ model.embed.weight).numpy(), model.embed(context).numpy())
    model.zero_grad()
    return rows_with_grad, looked_up, same_rows


def plot(words, vectors, neighbours, group_of, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    centred = vectors - vectors.mean(axis=0)
    _, _, components = numpy.linalg.svd(centred, full_matrices=False)
    xy = centred @ components[:2].T                                  # PCA to 2-D
    colors = dict(zip(GROUPS, plt.cm.tab10.colors))
    fig, ax = plt.subplots(figsize=(8, 6.5))
    for i, word in enumerate(words):
        j = neighbours[i]
        ax.plot(*zip(xy[i], xy[j]), color="0.8", lw=0.8, zorder=1)
        ax.scatter(*xy[i], color=colors.get(group_of.get(word), "0.3"), zorder=2)
        ax.annotate(word, xy[i], fontsize=9, xytext=(3, 3), textcoords="offset points")
    for group, color in colors.items():
        ax.scatter([], [], color=color, label=group)
    ax.legend(title="group", fontsize=8)
    ax.set(title="learned embeddings (PCA), grey line to each word's nearest neighbour",
           xlabel="principal component 1", ylabel="principal component 2")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(n_sentences=2000, dim=16, steps=1500, batch_size=128, lr=1e-2, seed=0,
         output="out/embeddings.png"):
    ts.manual_seed(seed)
    sentences = corpus(n_sentences, seed)
    vocab = Vocab.from_texts(sentences, level="word")
    contexts, centres = cbow_examples(sentences, vocab)
    model = CBOW(len(vocab), dim)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    rng = numpy.random.default_rng(seed)
    for _ in progress(range(steps), desc="training"):
        rows = rng.integers(len(centres), size=batch_size)
        loss = F.cross_entropy(model(ts.tensor(contexts[rows])), centres[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    rows_with_grad, looked_up, same_rows = sparse_gradient_demo(
        model, ts.tensor(contexts[:4]), centres[:4])
    print(f"one-hot @ W equals the embedding lookup: {same_rows}; a batch of 4 contexts "
          f"looks up rows {looked_up.tolist()}, and only rows {rows_with_grad.tolist()} of "
          f"the {len(vocab)} get gradient")

    group_of = {word: group for group, members in GROUPS.items() for word in members}
    words = [w for w in vocab.id_to_token if w in group_of]
    vectors = model.embed.weight.numpy()[[vocab.token_to_id[w] for w in words]]
    neighbours = nearest_neighbours(vectors)
    same_group = numpy.mean([group_of[w] == group_of[words[j]] for w, j in zip(words, neighbours)])
    for w in ("cat", "fish", "queen", "castle"):
        print(f"  nearest to {w!r}: {words[neighbours[words.index(w)]]!r}")
    print(f"nearest neighbour in the same group: {same_group:.3f} of {len(words)} words "
          f"(chance {1 / len(GROUPS):.2f}); final loss {loss.item():.3f}")
    if output:
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        plot(words, vectors, neighbours, group_of, output)
        print(f"wrote {output}")
    sparse = rows_with_grad.tolist() == looked_up.tolist()
    holds = same_rows and sparse and same_group >= 3 / len(GROUPS)
    print(f"lesson embeddings: an embedding is one-hot times W, its gradient reaches only the "
          f"looked-up rows, and words used alike end up nearest neighbours: one-hot @ W == "
          f"lookup {same_rows}, {len(rows_with_grad)} rows with gradient = the {len(looked_up)} "
          f"looked up {sparse}, same-group nearest neighbour {same_group:.2f} (chance "
          f"{1 / len(GROUPS):.2f}, needed {3 / len(GROUPS):.2f}) -> "
          f"{'holds' if holds else 'does not hold'}")
    return {"same_group": same_group, "rows_with_grad": rows_with_grad.tolist(),
            "looked_up": looked_up.tolist(), "loss": loss.item()}


if __name__ == "__main__":
    main()

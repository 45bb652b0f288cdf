"""A Seq2Seq model with attention learns to normalise dates: "Thursday, March 3, 1994" -> "1994-03-03".

Many-to-many with different lengths: the source is 6..29 characters in one of eight formats,
the target always the 10 characters of the ISO date. Characters are tokens.

    encoder:   h_1..h_S = GRU(embed(x_1..x_S))                     (padding skipped via lengths)
    decoder:   s_t = GRUCell(embed(y_{t-1}), s_{t-1}),   s_0 = h_S
    attention: a_tj = softmax_j(s_t . W h_j)   ("general", Luong),  c_t = sum_j a_tj h_j
    output:    p(y_t | y_<t, x) = softmax(W_out tanh(W_c [s_t; c_t]))
    loss:      cross-entropy of y_t, averaged over the real (not padded) target tokens

Training feeds the true previous character y_{t-1} with probability r (teacher forcing) and
the model's own guess otherwise; r decays linearly from 1.0 to 0.5 so that the model learns to
recover from its own mistakes. Gradients are clipped to norm 1, Adam lr 3e-3, and training
stops when the validation exact-match (greedy decoding) has not improved for ``patience``
epochs; the best epoch's weights are kept. Decoding: greedy (argmax at every step) and beam
search (the beam_width best partial outputs, score = sum log p / length^length_penalty).

Defaults: 6,000 training pairs, batch 64, GRU, embedding 32, hidden 64, "general" attention,
up to 12 epochs. On 2 shared CPU cores this takes about X minutes and reaches about X%
exact-match on the 1,000 held-out test dates with greedy decoding and X% with beam width 4.
"""
import os

# Tiny matrices: BLAS worker threads only fight over the cores (many times slower on 2 shared
# cores). Set before NumPy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import time  # noqa: E402

import numpy  # noqa: E402

import tinyseq as ts  # noqa: E402
from tinyseq import nn, optim  # noqa: E402
from tinyseq.data import DataLoader  # noqa: E402
from tinyseq.datasets import Seq2SeqDataset, dates_dataset  # noqa: E402
from tinyseq.text import collate_pairs, pad_sequences  # noqa: E402
from tinyseq.train import EarlyStopping  # noqa: E402


def exact_match(model, pairs, source_vocab, target_vocab, batch_size=250):
    """Fraction of pairs whose greedy translation equals the target exactly."""
    model.eval()
    correct = 0
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        source, lengths = pad_sequences([source_vocab.encode(s) for s, _ in chunk])
        outputs, _ = model.greedy_decode(source, lengths, max_len=12)
        correct += sum(target_vocab.decode(ids) == target for ids, (_, target) in zip(outputs, chunk))
    model.train()
    return correct / len(pairs)


def beam_exact_match(model, pairs, source_vocab, target_vocab, beam_width):
    model.eval()
    source, lengths = pad_sequences([source_vocab.encode(s) for s, _ in pairs])
    outputs = model.beam_search(source, lengths, beam_width=beam_width, max_len=12)
    model.train()
    return sum(target_vocab.decode(ids) == target for ids, (_, target) in zip(outputs, pairs)) / len(pairs)


def heat_map(weights, source, target):
    """The attention weights (target steps x source characters) as text: ' .:-=+*#%@' from 0 to 1."""
    shades = " .:-=+*#%@"
    lines = ["      " + " ".join(source)]
    for char, row in zip(target, weights):
        lines.append(f"  {char}   " + " ".join(shades[min(int(w * len(shades)), len(shades) - 1)]
                                            for w in row[:len(source)]))
    return "\n".join(lines)


def main(n_train=6000, epochs=12, batch_size=64, cell="gru", attention="general", embedding_dim=32,
         hidden_size=64, lr=3e-3, clip=1.0, teacher_forcing=(1.0, 0.5), patience=3, beam_width=4,
         seed=0, attention_path=None):
    start_time = time.perf_counter()
    ts.manual_seed(seed)
    data = dates_dataset(n_train=n_train, n_valid=1000, n_test=1000, seed=seed)
    src_vocab, tgt_vocab = data.source_vocab, data.target_vocab
    loader = DataLoader(Seq2SeqDataset(data.train, src_vocab, tgt_vocab), batch_size=batch_size,
                        shuffle=True, collate_fn=collate_pairs)
    model = nn.Seq2Seq(len(src_vocab), len(tgt_vocab), embedding_dim, hidden_size, cell=cell,
                       attention=attention, pad_id=src_vocab.pad_id, sos_id=tgt_vocab.sos_id,
                       eos_id=tgt_vocab.eos_id)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    stopper = EarlyStopping(patience=patience, mode="max")
    best_state, best_epoch = None, 0

    for epoch in range(1, epochs + 1):
        first, last = teacher_forcing                     # linear decay over the epochs
        ratio = first + (last - first) * (epoch - 1) / max(epochs - 1, 1)
        total, count = 0.0, 0
        for source, source_lengths, target, _ in loader:
            logits, _ = model(source, target, source_lengths, teacher_forcing_ratio=ratio)
            loss = model.loss(logits, target)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            total += loss.item() * len(source)
            count += len(source)
        valid_accuracy = exact_match(model, data.valid, src_vocab, tgt_vocab)
        print(f"epoch {epoch:2d}  teacher_forcing={ratio:.2f}  train_loss={total / count:.4f}  "
              f"valid_exact_match={valid_accuracy:.3f}  [{time.perf_counter() - start_time:.0f} s]",
              flush=True)
        if stopper.best is None or valid_accuracy > stopper.best:
            best_state = {name: p.numpy().copy() for name, p in model.named_parameters()}
            best_epoch = epoch
        if stopper.step(valid_accuracy):
            break
    model.load_state_dict(best_state)

    greedy = exact_match(model, data.test, src_vocab, tgt_vocab)
    beam = beam_exact_match(model, data.test, src_vocab, tgt_vocab, beam_width)
    seconds = time.perf_counter() - start_time
    print(f"best epoch {best_epoch}: test exact-match greedy={greedy:.3f}  "
          f"beam(width={beam_width})={beam:.3f}  ({len(data.test)} held-out dates, {seconds:.0f} s)")

    examples = data.test[:6]
    source, lengths = pad_sequences([src_vocab.encode(s) for s, _ in examples])
    model.eval()
    outputs, weights = model.greedy_decode(source, lengths, max_len=12)
    for (text, target), ids in zip(examples, outputs):
        guess = tgt_vocab.decode(ids)
        print(f"  {text:>26} -> {guess}  {'ok' if guess == target else 'expected ' + target}")
    text, guess = examples[0][0], tgt_vocab.decode(outputs[0])
    print(f"attention of {text!r} -> {guess!r} (rows: output characters):")
    print(heat_map(weights[0], text, guess))
    if attention_path is not None:                  # for plotting later
        numpy.savez(attention_path, weights=weights[0][:len(guess), :len(text)],
                    source=numpy.array(list(text)), output=numpy.array(list(guess)))
    return {"test_exact_match_greedy": greedy, "test_exact_match_beam": beam,
            "best_valid_exact_match": stopper.best, "best_epoch": best_epoch, "seconds": seconds}


if __name__ == "__main__":
    main()

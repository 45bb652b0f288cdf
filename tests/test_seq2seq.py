"""Attention and the Seq2Seq encoder-decoder: weights and masking, gradients against finite
differences (float64), teacher forcing, the loss over padded targets, greedy and beam search
decoding, padding invariance, time-step tags for the tracer, and errors for bad input."""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn, optim
from tinyseq.autograd import state as autograd_state
from gradcheck import assert_close, gradcheck

METHODS = ("dot", "general", "additive")
PAD, SOS, EOS = 0, 1, 2


def _attention(method, query_size=4, key_size=4):
    return nn.Attention(query_size, key_size if method == "dot" else key_size + 1, method)


def _lengths_mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def _model(cell="gru", attention="general", bidirectional=False, source_vocab=7, target_vocab=6,
           embedding_dim=4, hidden_size=5):
    return nn.Seq2Seq(source_vocab, target_vocab, embedding_dim, hidden_size, cell=cell,
                      attention=attention, bidirectional=bidirectional)


def _padded(rows, width=None):
    """(ids (B, width) int64 padded with PAD, lengths)"""
    width = width or max(len(r) for r in rows)
    ids = np.full((len(rows), width), PAD, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
    return ids, np.array([len(r) for r in rows])


# --- Attention ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_attention_weights_sum_to_one_mask_and_context(method):
    attention = _attention(method)
    batch, steps = 3, 5
    query = ts.randn(batch, attention.query_size)
    keys = ts.randn(batch, steps, attention.key_size)
    lengths = [5, 3, 1]
    mask = _lengths_mask(lengths, steps)

    context, weights = attention(query, keys, mask)
    assert weights.shape == (batch, steps) and context.shape == (batch, attention.key_size)
    w = weights.numpy()
    assert_close(w.sum(axis=1), np.ones(batch), atol=1e-6)
    assert np.all(w[~mask] <= 1e-30), "padding positions must get (numerically) zero weight"
    assert np.all(w[mask] > 0)
    assert_close(w[2], [1, 0, 0, 0, 0], atol=1e-6)          # one real position takes it all
    assert_close(context, np.einsum("bs,bsh->bh", w, keys.numpy()), atol=1e-5)

    # what sits in the padded positions cannot matter
    noisy = keys.numpy().copy()
    noisy[~mask] = 100.0 * np.random.default_rng(1).standard_normal(noisy[~mask].shape)
    context2, weights2 = attention(query, ts.tensor(noisy), ts.tensor(mask))   # mask as a Tensor
    assert_close(weights2, w, atol=1e-6)
    assert_close(context2, context, atol=1e-5)

    # without a mask every position counts
    _, unmasked = attention(query, keys)
    assert_close(unmasked.numpy().sum(axis=1), np.ones(batch), atol=1e-6)
    assert np.all(unmasked.numpy() > 0)


def test_attention_scores_match_their_formulas(float64):
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((2, 4)), rng.standard_normal((2, 3, 4))

    def softmax(s):
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    dot = nn.Attention(4, 4, "dot")
    assert_close(dot(ts.tensor(q), ts.tensor(k))[1], softmax(np.einsum("bh,bsh->bs", q, k)))
    general = nn.Attention(4, 4, "general")
    W = general.query_projection.weight.numpy()                      # (key, query)
    assert_close(general(ts.tensor(q), ts.tensor(k))[1],
                 softmax(np.einsum("bh,bsh->bs", q @ W.T, k)))
    additive = nn.Attention(4, 4, "additive")
    Wq, Wk = additive.query_projection.weight.numpy(), additive.key_projection.weight.numpy()
    bk, v = additive.key_projection.bias.numpy(), additive.score_vector.numpy()
    energy = np.tanh((q @ Wq.T)[:, None, :] + k @ Wk.T + bk)
    assert_close(additive(ts.tensor(q), ts.tensor(k))[1], softmax(energy @ v))


@pytest.mark.parametrize("method", METHODS)
def test_attention_gradcheck(float64, method):
    attention = _attention(method, query_size=3, key_size=3)
    rng = np.random.default_rng(7)
    query = ts.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    keys = ts.tensor(rng.standard_normal((2, 4, attention.key_size)), requires_grad=True)
    mask = _lengths_mask([4, 2], 4)
    params = list(attention.parameters())
    assert all(p.dtype == np.float64 for p in params)

    def fn(q, k, *_params):
        context, weights = attention(q, k, mask)
        return ts.concat([context, weights], axis=1)

    gradcheck(fn, [query, keys, *params])
    # padded keys get no gradient at all
    assert np.all(keys.grad.numpy()[1, 2:] == 0)


# --- Seq2Seq: gradients ---------------------------------------------------------------------
ATTENTION_PARAMETERS = {"dot": [], "general": ["attention.query_projection.weight"],
                        "additive": ["attention.score_vector", "attention.key_projection.weight"]}


@pytest.mark.parametrize("cell, attention, bidirectional", [
    ("gru", "general", False), ("lstm", "additive", False), ("rnn", "dot", False),
    ("gru", "additive", True), ("lstm", None, False)])
def test_seq2seq_loss_gradcheck(float64, cell, attention, bidirectional):
    model = nn.Seq2Seq(5, 5, embedding_dim=2, hidden_size=3, cell=cell, attention=attention,
                       bidirectional=bidirectional)
    source, source_lengths = _padded([[3, 4, 3], [4, 3]])
    target, _ = _padded([[SOS, 3, 4, EOS], [SOS, 4, EOS]])
    names = ["source_embedding.weight", "encoder.weight_hh_l0", "decoder.0.weight_ih",
             "target_embedding.weight", "output.bias"]
    if attention is not None:
        names += ["combine.weight"] + ATTENTION_PARAMETERS[attention]
    if bidirectional:
        names += ["encoder.weight_ih_l0_reverse", "bridge.bias"]
    named = dict(model.named_parameters())
    params = [named[name] for name in names]

    def fn(*_params):
        logits, _ = model(source, target, source_lengths, teacher_forcing_ratio=1.0)
        return model.loss(logits, target)

    gradcheck(fn, params)
    # the <pad> rows of the embeddings get no gradient (padding_idx)
    assert np.all(named["source_embedding.weight"].grad.numpy()[PAD] == 0)


# --- Seq2Seq: forward and loss --------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("attention", [None, *METHODS])
def test_forward_shapes(cell, attention):
    model = _model(cell, attention, hidden_size=4, embedding_dim=3)
    source, lengths = _padded([[3, 4, 5, 6], [4, 5], [6]])
    target, _ = _padded([[SOS, 3, 4, EOS], [SOS, 5, EOS], [SOS, EOS]])
    logits, weights = model(source, target, lengths)
    assert logits.shape == (3, 3, 6)                       # (B, T-1, V)
    if attention is None:
        assert weights is None
    else:
        assert weights.shape == (3, 3, 4)                  # (B, T-1, S)
        w = weights.numpy()
        assert_close(w.sum(axis=2), np.ones((3, 3)), atol=1e-5)
        assert np.all(w[1, :, 2:] <= 1e-30) and np.all(w[2, :, 1:] <= 1e-30)
    loss = model.loss(logits, target)
    assert loss.shape == () and np.isfinite(loss.item())
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bidirectional_forward_shapes():
    model = _model("lstm", "general", bidirectional=True)
    source, lengths = _padded([[3, 4, 5], [4]])
    target, _ = _padded([[SOS, 3, 4, EOS], [SOS, EOS]])
    logits, weights = model(source, target, lengths)
    assert logits.shape == (2, 3, 6) and weights.shape == (2, 3, 3)


def test_loss_ignores_padding_and_is_the_mean_over_real_tokens():
    model = _model()
    target, _ = _padded([[SOS, 3, 4, 5, EOS], [SOS, 4, EOS], [SOS, EOS]])
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 4, 6)).astype(np.float32)
    loss = model.loss(ts.tensor(logits), target).item()

    padded = target[:, 1:] == PAD
    assert padded.sum() == 5
    changed = logits.copy()
    changed[padded] = 50.0 * rng.standard_normal((padded.sum(), 6))
    assert model.loss(ts.tensor(changed), target).item() == pytest.approx(loss, rel=1e-6)

    log_probs = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_probs, target[:, 1:, None], axis=2)[..., 0]
    expected = -picked[~padded].mean()                    # 4 + 2 + 1 = 7 real tokens
    assert loss == pytest.approx(expected, rel=1e-5)


def test_teacher_forcing_one_is_deterministic_and_feeds_the_true_tokens():
    model = _model("lstm", "additive")
    source, lengths = _padded([[3, 4, 5, 6], [5, 4]])
    target, _ = _padded([[SOS, 3, 4, 5, EOS], [SOS, 5, EOS]])
    logits1, weights1 = model(source, target, lengths, teacher_forcing_ratio=1.0)
    logits2, weights2 = model(source, target, lengths, teacher_forcing_ratio=1.0)
    assert np.array_equal(logits1.numpy(), logits2.numpy())
    assert np.array_equal(weights1.numpy(), weights2.numpy())

    with ts.no_grad():
        encoder_outputs, state, mask = model.encode(source, lengths)
        for t in range(target.shape[1] - 1):
            step_logits, state, step_weights = model.decode_step(
                ts.tensor(target[:, t]), state, encoder_outputs, mask)
            assert_close(logits1.numpy()[:, t], step_logits, atol=1e-6)
            assert_close(weights1.numpy()[:, t], step_weights, atol=1e-6)


def test_teacher_forcing_zero_feeds_back_the_greedy_guesses():
    model = _model("gru", "dot", hidden_size=4, embedding_dim=4)
    source, lengths = _padded([[3, 4, 5, 6], [5, 4], [6, 6, 3]])
    target, _ = _padded([[SOS, 3, 4, 5, 3, 4, EOS]] * 3)
    model.eval()
    logits, weights = model(source, target, lengths, teacher_forcing_ratio=0.0)
    guesses = logits.numpy().argmax(axis=2)
    sequences, greedy_weights = model.greedy_decode(source, lengths, max_len=6)
    for row, sequence in enumerate(sequences):
        n = len(sequence)
        assert guesses[row, :n].tolist() == sequence
        if n < 6:
            assert guesses[row, n] == EOS
    steps = greedy_weights.shape[1]
    assert_close(weights.numpy()[:, :steps], greedy_weights, atol=1e-6)


# --- decoding on a model trained a little ---------------------------------------------------
def _reverse_task(rng, n, max_len=4):
    pairs = []
    for _ in range(n):
        tokens = rng.integers(3, 8, size=rng.integers(1, max_len + 1)).tolist()
        pairs.append((tokens, [SOS] + tokens[::-1] + [EOS]))
    return pairs


def _train_reverser(steps, seed):
    """A GRU Seq2Seq with attention trained for ``steps`` Adam steps to reverse short sequences."""
    ts.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = nn.Seq2Seq(8, 8, embedding_dim=8, hidden_size=16, cell="gru", attention="general")
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        pairs = _reverse_task(rng, 32)
        source, lengths = _padded([s for s, _ in pairs])
        target, _ = _padded([t for _, t in pairs])
        logits, _ = model(source, target, lengths)
        loss = model.loss(logits, target)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval()
    return model


@pytest.fixture(scope="module")
def trained():
    """Mostly right: confident distributions, greedy and beam search mostly agree."""
    return _train_reverser(60, seed=123)


def _sequence_log_prob(model, source_row, tokens):
    """log p(tokens + <eos> | source) by teacher forcing the sequence through the model."""
    target = np.array([[SOS] + list(tokens) + [EOS]])
    with ts.no_grad():
        logits, _ = model(np.array([source_row]), target)
    log_probs = logits.log_softmax(axis=2).numpy().astype(np.float64)[0]
    return float(log_probs[np.arange(len(tokens) + 1), target[0, 1:]].sum())


def test_trained_model_learned_something(trained):
    pairs = _reverse_task(np.random.default_rng(5), 50)
    source, lengths = _padded([s for s, _ in pairs])
    sequences, _ = trained.greedy_decode(source, lengths, max_len=8)
    correct = sum(seq == t[1:-1] for seq, (_, t) in zip(sequences, pairs))
    assert correct >= 10              # chance is ~0; keeps the decoding tests below meaningful


def test_beam_width_one_equals_greedy(trained):
    pairs = _reverse_task(np.random.default_rng(6), 20)
    source, lengths = _padded([s for s, _ in pairs])
    greedy, _ = trained.greedy_decode(source, lengths, max_len=8)
    beam = trained.beam_search(source, lengths, beam_width=1, max_len=8)
    assert beam == greedy


@pytest.mark.parametrize("seed", [0, 1])
def test_beam_search_scores_at_least_greedy(seed):
    """With length_penalty=0 the score is the log-probability itself. A model trained only a
    little is unsure, so the beam often finds a more probable output than greedy decoding."""
    model = _train_reverser(10, seed)
    rng = np.random.default_rng(8)
    max_len = 10
    compared = better = 0
    for _ in range(12):
        row = rng.integers(3, 8, size=rng.integers(1, 6)).tolist()
        greedy = model.greedy_decode(np.array([row]), max_len=max_len)[0][0]
        beam = model.beam_search(np.array([row]), beam_width=4, max_len=max_len,
                                 length_penalty=0.0)[0]
        if len(greedy) >= max_len:        # greedy never said <eos>: nothing to compare with
            continue
        compared += 1
        greedy_log_prob = _sequence_log_prob(model, row, greedy)
        beam_log_prob = _sequence_log_prob(model, row, beam)
        assert beam_log_prob >= greedy_log_prob - 1e-6, (row, greedy, beam)
        better += beam_log_prob > greedy_log_prob + 1e-6
    assert compared >= 8 and better >= 1


class _Bigram(nn.Seq2Seq):
    """A decoder whose next-token distribution depends only on the previous token."""

    def __init__(self, probabilities):
        super().__init__(6, len(probabilities), 2, 2)
        self.log_probabilities = np.log(probabilities)

    def decode_step(self, previous_ids, state, encoder_outputs, mask):
        rows = np.zeros(len(previous_ids), dtype=np.int64)
        return ts.tensor(self.log_probabilities[previous_ids.numpy()]), [s[rows] for s in state], None


def test_beam_search_does_not_stop_while_a_live_hypothesis_is_better():
    # ids: 3 a, 4 b, 5 c.  <sos> -> a .5 | <eos> .3 | b .2;  a -> c .7 | <eos> .3;
    # b -> <eos> .9;  c -> <eos> 1.   Best: "a c" (p .35), which greedy finds; "" has p .3.
    p = np.full((6, 6), 1e-12)
    p[SOS, [3, EOS, 4]] = [0.5, 0.3, 0.2]
    p[3, [5, EOS]] = [0.7, 0.3]
    p[4, EOS] = 0.9
    p[[PAD, EOS, 5], EOS] = 1.0
    model = _Bigram(p)
    source = np.array([[3, 4]])
    assert model.greedy_decode(source)[0] == [[3, 5]]
    assert model.beam_search(source, beam_width=2, length_penalty=0.0) == [[3, 5]]


def test_padding_in_the_source_does_not_change_the_outputs(trained):
    rows = [[3, 4, 5, 6], [7, 3], [5], [6, 6, 4]]
    source, lengths = _padded(rows, width=7)          # extra padding beyond the longest row
    greedy, weights = trained.greedy_decode(source, lengths, max_len=8)
    beam = trained.beam_search(source, lengths, beam_width=3, max_len=8)
    target, _ = _padded([[SOS, 3, 4, 5, 6, EOS]] * len(rows))
    with ts.no_grad():
        batch_logits, batch_weights = trained(source, target, lengths)
    for i, row in enumerate(rows):
        alone, alone_weights = trained.greedy_decode(np.array([row]), max_len=8)
        assert greedy[i] == alone[0]
        steps = alone_weights.shape[1]
        assert_close(weights[i, :steps, :len(row)], alone_weights[0], atol=1e-5)
        assert np.all(weights[i, :, len(row):] <= 1e-30)
        assert beam[i] == trained.beam_search(np.array([row]), beam_width=3, max_len=8)[0]
        with ts.no_grad():
            logits, _ = trained(np.array([row]), target[i:i + 1])
        assert_close(batch_logits.numpy()[i], logits.numpy()[0], atol=1e-5)


def test_beam_search_accepts_lengths_as_a_tensor(trained):
    source, lengths = _padded([[3, 4, 5], [6]])
    assert trained.beam_search(source, ts.tensor(lengths), beam_width=2, max_len=8) == \
        trained.beam_search(source, lengths, beam_width=2, max_len=8)


# --- time steps -----------------------------------------------------------------------------
def test_decoder_steps_come_after_the_encoder_steps():
    model = _model("gru", "general")
    source, lengths = _padded([[3, 4, 5], [4]])           # S = 3
    target, _ = _padded([[SOS, 3, 4, EOS], [SOS, EOS]])  # T - 1 = 3 decoder steps
    with ts.trace() as tr:
        logits, _ = model(source, target, lengths)
        loss = model.loss(logits, target)
    assert autograd_state.time_step is None               # restored after the decoder loop
    loss.backward()
    steps_of = {}
    for record in tr.ops:
        steps_of.setdefault(record.module_path.split(".")[0], set()).add(record.time_step)
    assert steps_of["encoder"] - {None} == {0, 1, 2}     # None: reshapes around the time loop
    assert steps_of["decoder"] == {3, 4, 5}
    assert steps_of["attention"] == {3, 4, 5}
    assert tr.time_steps == [0, 1, 2, 3, 4, 5]
    weight_hh = model.decoder[0].weight_hh
    contributions = tr.contributions(weight_hh)
    assert [t for t, _ in contributions] == [3, 4, 5]
    assert_close(sum(g for _, g in contributions), weight_hh.grad, atol=1e-6)
    assert [t for t, _ in tr.contributions(model.encoder.weight_hh_l0)] == [0, 1, 2]


# --- bad input ------------------------------------------------------------------------------
def test_token_ids_outside_the_vocabulary_raise_index_error():
    model = _model()                                   # source vocab 7, target vocab 6
    target = np.array([[SOS, 3, EOS]])
    with pytest.raises(IndexError, match="99"):
        model(np.array([[3, 99]]), target)
    with pytest.raises(IndexError, match="-1"):
        model(np.array([[-1, 3]]), target)
    with pytest.raises(IndexError, match="42"):
        model(np.array([[3, 4]]), np.array([[SOS, 42, EOS]]))
    with pytest.raises(IndexError, match="7"):
        model.greedy_decode(np.array([[3, 7]]))
    with pytest.raises(IndexError, match="99"):
        model.beam_search(np.array([[3, 99]]), beam_width=2)


def test_bad_shapes_raise_value_error():
    model = _model()
    target = np.array([[SOS, 3, EOS]])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        model(np.array([3, 4, 5]), target)             # source without a batch axis
    with pytest.raises(ValueError):
        model(np.array([[[3, 4]]]), target)            # source of rank 3
    with pytest.raises(ValueError):
        model.greedy_decode(np.array([3, 4, 5]))
    with pytest.raises(ValueError, match=r"B = 2"):
        model(np.array([[3, 4], [4, 5]]), target)      # 2 sources, 1 target
    with pytest.raises(ValueError):
        model(np.array([[3, 4]]), np.array([SOS, 3, EOS]))
    with pytest.raises(ValueError):
        model(np.array([[3, 4], [4, 5]]), np.array([[SOS, 3], [SOS, 4]]), source_lengths=[2])
    with pytest.raises(ValueError):
        model(np.array([[3, 4]]), target, source_lengths=[5])
    with pytest.raises(ValueError):
        model.beam_search(np.array([[3, 4]]), beam_width=0)
    with pytest.raises(ValueError):
        model.beam_search(np.array([[3, 4]]), source_lengths=[3])
    attention = nn.Attention(4, 4, "dot")
    with pytest.raises(ValueError, match="Attention"):
        attention(ts.randn(2, 3), ts.randn(2, 5, 4))


def test_beam_search_source_of_wrong_rank_raises_value_error():
    with pytest.raises(ValueError, match=r"beam_search: expected source ids \(B, S\), got shape \(3,\)"):
        _model().beam_search(np.array([3, 4, 5]), beam_width=2)


def test_float_token_ids_and_a_too_short_target_raise():
    model = _model()
    with pytest.raises(TypeError, match="token ids must be integers, got dtype float64"):
        model(np.array([[4.7, 5.0]]), np.array([[1, 3]]))
    with pytest.raises(ValueError, match=r"T >= 2.*got shape \(1, 1\)"):
        model(np.array([[3, 4]]), np.array([[1]]))


def test_unknown_cell_or_attention_raises_value_error():
    with pytest.raises(ValueError, match="transformer"):
        nn.Seq2Seq(5, 5, cell="transformer")
    with pytest.raises(ValueError, match="multiplicative"):
        nn.Seq2Seq(5, 5, attention="multiplicative")
    with pytest.raises(ValueError, match="multiplicative"):
        nn.Attention(4, 4, "multiplicative")
    with pytest.raises(ValueError, match="dot"):
        nn.Attention(4, 6, "dot")


# --- the beam search as a tree of hypotheses ------------------------------------------------
def _bigram_for_tree():
    # ids: 3 a, 4 b, 5 c.  <sos> -> a .5 | <eos> .3 | b .2;  a -> c .7 | <eos> .3;
    # b -> <eos> .9;  c -> <eos> 1.
    p = np.full((6, 6), 1e-12)
    p[SOS, [3, EOS, 4]] = [0.5, 0.3, 0.2]
    p[3, [5, EOS]] = [0.7, 0.3]
    p[4, EOS] = 0.9
    p[[PAD, EOS, 5], EOS] = 1.0
    return _Bigram(p)


def test_beam_search_tree_holds_every_ranked_hypothesis_and_the_answer():
    model = _bigram_for_tree()
    tree = model.beam_search_tree(np.array([3, 4]), beam_width=2, length_penalty=0.0)
    nodes = {n["id"]: n for n in tree["nodes"]}
    by_tokens = {tuple(n["tokens"]): n for n in tree["nodes"]}
    # step 1 ranks the top 2 * width = 4 of <sos>'s next tokens: a, <eos>, b, then a 1e-12 token
    step1 = [n for n in tree["nodes"] if n["step"] == 1]
    assert [n["tokens"] for n in step1][:3] == [[3], [EOS], [4]]
    assert [n["status"] for n in step1][:3] == ["kept", "ended", "kept"]
    assert all(n["parent"] == 0 for n in step1)
    assert by_tokens[(3,)]["log_prob"] == pytest.approx(np.log(0.5))
    assert by_tokens[(3, 5)]["log_prob"] == pytest.approx(np.log(0.35))
    assert by_tokens[(3, 5)]["parent"] == by_tokens[(3,)]["id"]
    chosen = nodes[tree["chosen"]]
    assert chosen["tokens"] == [3, 5, EOS] and chosen["status"] == "ended"
    assert chosen["score"] == pytest.approx(np.log(0.35))
    assert chosen["tokens"][:-1] == model.beam_search(np.array([[3, 4]]), beam_width=2,
                                                      length_penalty=0.0)[0]
    assert tree["beam_width"] == 2


def test_beam_search_tree_chooses_what_beam_search_returns(trained):
    rng = np.random.default_rng(11)
    for _ in range(5):
        row = rng.integers(3, 8, size=rng.integers(1, 5)).tolist()
        tree = trained.beam_search_tree(np.array(row), beam_width=3, max_len=8)
        chosen = next(n for n in tree["nodes"] if n["id"] == tree["chosen"])
        assert chosen["tokens"][:-1] == trained.beam_search(np.array([row]), beam_width=3,
                                                            max_len=8)[0]
        kept_per_step = {}
        for n in tree["nodes"]:
            kept_per_step[n["step"]] = kept_per_step.get(n["step"], 0) + (n["status"] == "kept")
        assert max(kept_per_step.values()) <= 3


def test_beam_search_tree_needs_one_source():
    with pytest.raises(ValueError, match=r"beam_search_tree: expected the ids of one source"):
        _model().beam_search_tree(np.array([[3, 4], [4, 5]]), beam_width=2)


def test_plot_beam_tree_draws_every_node_and_marks_the_chosen_path(tmp_path):
    from tinyseq.render import plot_beam_tree
    model = _bigram_for_tree()
    tree = model.beam_search_tree(np.array([3, 4]), beam_width=2, length_penalty=0.0)
    names = {3: 'a<"&', 4: "b", 5: "c"}         # markup in a token's text is escaped
    dot = plot_beam_tree(tree, tmp_path / "beam.dot", token_text=lambda i: names.get(i, "?"))
    text = open(dot).read()
    assert text.count("label=<") == len(tree["nodes"])
    assert "a&lt;&quot;&amp;c" in text and 'a<"&c' not in text
    assert "log p = -1.05" in text and "<b>chosen</b>" in text      # log .35 = -1.0498
    assert text.count("penwidth=2.5") == 3                          # <sos> -> a -> c -> <eos>
    pytest.importorskip("graphviz")
    svg = plot_beam_tree(tree, tmp_path / "beam.svg", token_text=lambda i: names.get(i, "?"))
    assert open(svg).read().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="plot_beam_tree: unknown output suffix"):
        plot_beam_tree(tree, tmp_path / "beam.txt")


def test_beam_tree_out_of_steps_ends_the_live_hypotheses_without_an_eos(tmp_path):
    from tinyseq.render import plot_beam_tree
    tree = _bigram_for_tree().beam_search_tree(np.array([3, 4]), beam_width=1, max_len=1)
    chosen = next(n for n in tree["nodes"] if n["id"] == tree["chosen"])
    assert chosen["tokens"] == [3] and chosen["status"] == "ended"
    text = open(plot_beam_tree(tree, tmp_path / "beam.dot", token_text="xyzabc".__getitem__)).read()
    assert "<b>a</b><br/>log p = -0.69" in text        # no <eos> said: nothing cut off

import numpy
import pytest

import tinyseq as ts
from tinyseq.data import DataLoader
from tinyseq.text import Vocab, collate_pairs, pad_sequences
from tinyseq.train import EarlyStopping, detach_state, progress, tbptt_chunks


# --- Vocab -----------------------------------------------------------------------------------
def test_special_ids():
    vocab = Vocab.from_texts(["abc"])
    assert (vocab.pad_id, vocab.sos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.id_to_token[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"]
    assert len(vocab) == 7 and vocab.id_to_token[4:] == ["a", "b", "c"]


def test_char_round_trip_and_framing():
    vocab = Vocab.from_texts(["hello world", "tinyseq"])
    ids = vocab.encode("hello seq", add_sos=True, add_eos=True)
    assert ids[0] == vocab.sos_id and ids[-1] == vocab.eos_id
    assert vocab.decode(ids) == "hello seq"
    assert vocab.decode(numpy.array(ids + [vocab.pad_id] * 3)) == "hello seq"
    assert vocab.decode(ts.tensor(ids)) == "hello seq"
    assert vocab.decode(ids, strip_special=False) == "<sos>hello seq<eos>"


def test_decode_stops_at_eos():
    vocab = Vocab.from_texts(["ab"])
    ids = vocab.encode("ab", add_eos=True) + vocab.encode("ba")
    assert vocab.decode(ids) == "ab"


def test_unknown_chars_map_to_unk():
    vocab = Vocab.from_texts(["abc"])
    assert vocab.encode("axc") == [4, vocab.unk_id, 6]
    assert vocab.decode(vocab.encode("axc")) == "a<unk>c"


def test_word_level_and_min_freq():
    vocab = Vocab.from_texts(["the cat sat", "the dog sat"], level="word", min_freq=2)
    assert vocab.id_to_token[4:] == ["sat", "the"]
    assert vocab.encode("the cat sat") == [5, vocab.unk_id, 4]
    assert vocab.decode(vocab.encode("sat the")) == "sat the"


def test_decode_rejects_bad_ids():
    vocab = Vocab.from_texts(["abc"])
    with pytest.raises(IndexError, match="99"):
        vocab.decode([4, 99])
    with pytest.raises(IndexError, match="-1"):
        vocab.decode([-1])
    with pytest.raises(TypeError):
        vocab.decode([4.0])


def test_vocab_serialises_through_save(tmp_path):
    vocab = Vocab.from_texts(["some words here"], level="word")
    path = tmp_path / "vocab.ckpt"
    ts.save({"vocab": vocab.to_dict()}, path)
    loaded = Vocab.from_dict(ts.load(path)["vocab"])
    assert loaded.id_to_token == vocab.id_to_token and loaded.level == "word"
    with pytest.raises(ValueError):
        Vocab.from_dict({"tokens": ["a"]})
    with pytest.raises(ValueError):
        Vocab(["a", "a"])


# --- padding and collate ---------------------------------------------------------------------
def test_pad_sequences_values_and_lengths():
    padded, lengths = pad_sequences([[5, 6, 7], [8], []], pad_id=0)
    assert padded.dtype == lengths.dtype == numpy.int64
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 0]
    padded, lengths = pad_sequences([numpy.array([1, 2, 3, 4]), [9]], pad_id=-1, max_len=3)
    assert padded.tolist() == [[1, 2, 3], [9, -1, -1]] and lengths.tolist() == [3, 1]
    with pytest.raises(ValueError):
        pad_sequences([])


def test_collate_pairs_in_a_dataloader():
    pairs = [([4, 5], [1, 6, 2]), ([4, 5, 6, 7], [1, 2])]
    source, source_lengths, target, target_lengths = next(
        iter(DataLoader(pairs, batch_size=2, collate_fn=collate_pairs)))
    assert isinstance(source, ts.Tensor) and isinstance(target, ts.Tensor)
    assert source.numpy().tolist() == [[4, 5, 0, 0], [4, 5, 6, 7]]
    assert target.numpy().tolist() == [[1, 6, 2], [1, 2, 0]]
    assert source_lengths.tolist() == [2, 4] and target_lengths.tolist() == [3, 2]


# --- truncated BPTT --------------------------------------------------------------------------
def test_detach_state_cuts_the_graph():
    w = ts.tensor([1.0, 2.0], requires_grad=True)
    h, c = w * 2.0, w.tanh()
    assert h.grad_fn is not None
    detached = detach_state([h, (c, None)])
    assert isinstance(detached, list) and isinstance(detached[1], tuple)
    new_h, (new_c, nothing) = detached
    for old, new in ((h, new_h), (c, new_c)):
        assert not new.requires_grad and new.grad_fn is None
        assert numpy.array_equal(new.numpy(), old.numpy())
    assert nothing is None and detach_state(None) is None
    (new_h * w).sum().backward()  # through h too it would be d(2w * w)/dw = 4w
    assert w.grad.numpy().tolist() == [2.0, 4.0]
    with pytest.raises(TypeError):
        detach_state("h")


def test_tbptt_chunks_cover_the_sequence():
    x = numpy.arange(2 * 23 * 3).reshape(2, 23, 3)
    chunks = list(tbptt_chunks(x, 5, axis=1))
    assert [c.shape[1] for c in chunks] == [5, 5, 5, 5, 3]
    assert numpy.array_equal(numpy.concatenate(chunks, axis=1), x)
    tensor_chunks = list(tbptt_chunks(ts.tensor(x), 10))
    assert len(tensor_chunks) == 1 and tensor_chunks[0].shape == x.shape
    time_major = list(tbptt_chunks(ts.tensor(x.transpose(1, 0, 2)), 4, axis=0))
    assert sum(len(c) for c in time_major) == 23
    assert numpy.array_equal(numpy.concatenate([c.numpy() for c in time_major]),
                             x.transpose(1, 0, 2))
    with pytest.raises(ValueError):
        list(tbptt_chunks(x, 0))
    with pytest.raises(ValueError):
        list(tbptt_chunks(x, 2, axis=3))


def test_tbptt_gradients_stay_in_one_chunk():
    w = ts.tensor(0.5, requires_grad=True)
    state = ts.tensor(1.0)
    for chunk in tbptt_chunks(ts.ones(6), 3):
        state = detach_state(state)
        for x in chunk:
            state = state * w + x
        w.grad = None
        state.backward()
    # The first chunk ends at s0 = ((1 w + 1) w + 1) w + 1 = 1.875. The second chunk starts
    # from it as a constant: s = s0 w^3 + w^2 + w + 1, so ds/dw = 3 s0 w^2 + 2 w + 1.
    assert w.grad.item() == pytest.approx(3 * 1.875 * 0.5 ** 2 + 2 * 0.5 + 1)


# --- early stopping --------------------------------------------------------------------------
def test_early_stopping_after_patience_bad_steps():
    stopper = EarlyStopping(patience=2)
    assert [stopper.step(v) for v in (1.0, 0.8, 0.9, 0.85)] == [False, False, False, True]
    assert stopper.best == 0.8


def test_early_stopping_resets_on_improvement_and_min_delta():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert [stopper.step(v) for v in (1.0, 0.95, 0.8, 0.75, 0.79)] == \
        [False, False, False, False, True]
    assert stopper.best == 0.8


def test_early_stopping_max_mode():
    stopper = EarlyStopping(patience=1, mode="max")
    assert [stopper.step(v) for v in (0.5, 0.7, 0.6)] == [False, False, True]
    assert stopper.best == 0.7
    with pytest.raises(ValueError):
        EarlyStopping(patience=1, mode="lowest")


# --- progress bar ----------------------------------------------------------------------------
def test_progress_is_silent_when_stderr_is_not_a_terminal(capsys):
    bar = progress(range(5), desc="train")
    assert list(bar) == [0, 1, 2, 3, 4]
    bar.set_postfix(loss=0.5)
    assert capsys.readouterr().err == ""


def test_progress_enabled_draws_count_rate_and_postfix(capsys):
    bar = progress(range(4), desc="train", enabled=True)
    seen = []
    for item in bar:
        seen.append(item)
        bar.set_postfix(loss=0.123456, step=item)
    err = capsys.readouterr().err
    assert seen == [0, 1, 2, 3]
    assert "train" in err and "4/4" in err and "it/s" in err
    assert "loss=0.123" in err and "step=3" in err and err.endswith("\n")


def test_progress_without_total_counts(capsys):
    assert list(progress(iter("abc"), enabled=True)) == ["a", "b", "c"]
    assert "3it [" in capsys.readouterr().err

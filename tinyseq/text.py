"""Text to ids and back: a character or word ``Vocab``, padding, and a collate function.

A sequence model sees text as a list of integer ids. ``Vocab`` holds the mapping; the first
four ids are reserved for special tokens:

    0 <pad>   fills short sequences up to the batch length (losses ignore it)
    1 <sos>   start of sequence: the first input of a decoder
    2 <eos>   end of sequence: what a decoder must predict after the last real token
    3 <unk>   any token that was not in the texts the vocabulary was built from
"""
from collections import Counter

import numpy

from .creation import tensor
from .tensor import Tensor

SPECIAL_TOKENS = ("<pad>", "<sos>", "<eos>", "<unk>")


class Vocab:
    """Maps tokens (characters or words) to ids and back.

    >>> vocab = Vocab.from_texts(["hello world"], level="char")
    >>> vocab.decode(vocab.encode("hold", add_eos=True))
    'hold'
    """

    pad_id, sos_id, eos_id, unk_id = range(len(SPECIAL_TOKENS))

    def __init__(self, tokens, level="char"):
        """``tokens``: the ordinary tokens; they get ids 4, 5, ... in the order given."""
        if level not in ("char", "word"):
            raise ValueError(f"Vocab: level must be 'char' or 'word', got {level!r}")
        self.level = level
        self.id_to_token = list(SPECIAL_TOKENS) + list(tokens)
        self.token_to_id = {token: i for i, token in enumerate(self.id_to_token)}
        if len(self.token_to_id) != len(self.id_to_token):
            repeated = [t for t, n in Counter(self.id_to_token).items() if n > 1]
            raise ValueError(f"Vocab: tokens must be distinct, got repeats {repeated}")

    @classmethod
    def from_texts(cls, texts, level="char", min_freq=1):
        """The vocabulary of every token seen at least ``min_freq`` times in ``texts``, sorted so
        the ids do not depend on the order of the texts."""
        if isinstance(texts, str):
            raise TypeError("Vocab.from_texts: expected a list of texts, got one string")
        if level not in ("char", "word"):
            raise ValueError(f"Vocab.from_texts: level must be 'char' or 'word', got {level!r}")
        counts = Counter()
        for text in texts:
            counts.update(_split(text, level))
        tokens = sorted(token for token, count in counts.items()
                        if count >= min_freq and token not in SPECIAL_TOKENS)
        return cls(tokens, level)

    def __len__(self):
        return len(self.id_to_token)

    def __repr__(self):
        return f"Vocab(level={self.level!r}, size={len(self)})"

    def encode(self, text, add_sos=False, add_eos=False):
        """The ids of ``text``'s tokens (unknown tokens become <unk>), optionally framed by
        <sos> and <eos>."""
        ids = [self.token_to_id.get(token, self.unk_id) for token in _split(text, self.level)]
        if add_sos:
            ids.insert(0, self.sos_id)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids, strip_special=True):
        """The text of ``ids`` (a list, array or Tensor of ints).

        With ``strip_special`` decoding stops at the first <eos> and drops <pad> and <sos>;
        <unk> stays visible as "<unk>". Without it every token is written out.
        """
        if isinstance(ids, Tensor):
            ids = ids.numpy()
        tokens = []
        for value in numpy.asarray(ids).reshape(-1).tolist():
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Vocab.decode: ids must be integers, got {value!r}")
            if not 0 <= value < len(self):
                raise IndexError(f"Vocab.decode: id {value} is outside the vocabulary "
                                 f"(ids 0..{len(self) - 1})")
            if strip_special and value == self.eos_id:
                break
            if strip_special and value in (self.pad_id, self.sos_id):
                continue
            tokens.append(self.id_to_token[value])
        return ("" if self.level == "char" else " ").join(tokens)

    def to_dict(self):
        """Plain data (strings and lists) that ``ts.save`` can write and ``from_dict`` reads."""
        return {"level": self.level, "tokens": self.id_to_token[len(SPECIAL_TOKENS):]}

    @classmethod
    def from_dict(cls, state):
        if not isinstance(state, dict) or set(state) != {"level", "tokens"}:
            raise ValueError(f"Vocab.from_dict: expected a dict with keys 'level' and 'tokens', "
                             f"got {state!r:.80}")
        return cls(state["tokens"], state["level"])


def _split(text, level):
    if not isinstance(text, str):
        raise TypeError(f"Vocab: texts must be strings, got {type(text).__name__}")
    return list(text) if level == "char" else text.split()


def pad_sequences(sequences, pad_id=0, max_len=None):
    """Stack id sequences of different lengths into one batch-first array.

    Returns ``(padded, lengths)``: ``padded[b, t]`` is token t of sequence b for t < lengths[b]
    and ``pad_id`` after it; shape (B, T) with T = ``max_len`` or the longest length. Sequences
    longer than ``max_len`` are cut to ``max_len``. Both arrays are int64.
    """
    sequences = [numpy.asarray(s, dtype=numpy.int64).reshape(-1) for s in sequences]
    if not sequences:
        raise ValueError("pad_sequences: got no sequences")
    if max_len is None:
        max_len = max(len(s) for s in sequences)
    elif not isinstance(max_len, int) or max_len < 0:
        raise ValueError(f"pad_sequences: max_len must be a non-negative int, got {max_len}")
    lengths = numpy.array([min(len(s), max_len) for s in sequences], dtype=numpy.int64)
    padded = numpy.full((len(sequences), max_len), pad_id, dtype=numpy.int64)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        padded[row, :length] = sequence[:length]
    return padded, lengths


def collate_pairs(batch, pad_id=0):
    """A DataLoader ``collate_fn`` for (source_ids, target_ids) samples.

    Returns ``(source, source_lengths, target, target_lengths)``: source and target are int64
    Tensors of shape (B, S) and (B, T), padded with ``pad_id``; the lengths are int64 arrays
    of shape (B,), ready for the ``lengths=`` argument of the recurrent layers.
    """
    sources, targets = zip(*batch)
    source, source_lengths = pad_sequences(sources, pad_id)
    target, target_lengths = pad_sequences(targets, pad_id)
    return tensor(source), source_lengths, tensor(target), target_lengths

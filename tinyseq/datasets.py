"""Built-in sequence tasks, generated offline and reproducibly from a ``seed``.

Every generator draws from ``numpy.random.default_rng(seed)``: the same seed gives the same
data on every run. Inputs are float32 arrays and token ids int64 arrays; the array datasets are
``tinyseq.data`` datasets, so a ``DataLoader`` batches them (batch first).

    SineWave        regression: predict the next point of a sine wave
    AddingProblem   regression over long sequences: add the two marked numbers
    CopyTask        classification per step: repeat symbols seen many steps ago
    StdlibCorpus    character language modelling on the Python standard library's source
    dates_dataset   sequence to sequence: "march 3, 1994" -> "1994-03-03"
    Shapes          image captioning: a picture of two shapes -> "a red circle above a blue square"
"""
import datetime
import math
import os
import sysconfig
from typing import NamedTuple

import numpy

from . import checks
from .data import Dataset, TensorDataset
from .text import Vocab, pad_sequences


class SineWave(TensorDataset):
    """Next-value prediction on sine waves.

    Sample i starts at a random phase φ_i ~ U[0, 2π) and reads seq_len + 1 points
    s_t = sin(φ_i + t · step), t = 0..seq_len. The input x is s_0..s_{seq_len-1} shaped
    (seq_len, 1) and the target y is the next point s_{seq_len} (a scalar). float32.
    """

    def __init__(self, n_samples, seq_len=50, step=0.1, seed=0):
        checks.integer("SineWave", "n_samples", n_samples)
        checks.integer("SineWave", "seq_len", seq_len, minimum=1)
        checks.finite("SineWave", "step", step)
        rng = numpy.random.default_rng(seed)
        phases = rng.uniform(0.0, 2.0 * math.pi, size=(n_samples, 1))
        points = numpy.sin(phases + step * numpy.arange(seq_len + 1)).astype(numpy.float32)
        self.inputs = points[:, :seq_len, None]
        self.targets = points[:, seq_len]
        super().__init__(self.inputs, self.targets)


class AddingProblem(TensorDataset):
    """The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015).

    Each of the seq_len steps holds two features: a value v_t ~ U[0, 1) and a marker m_t.
    Exactly two markers are 1, one in the first half (t < seq_len // 2) and one in the second;
    the target is y = Σ_t m_t v_t, the sum of the two marked values. x is (seq_len, 2), y a
    scalar, both float32. The model has to remember the first marked value until the second.

    Baseline: y is a sum of two U[0, 1) values, so the constant prediction 1.0 has
    MSE = Var(y) = 2 / 12 = 1/6 ≈ 0.167. A model must get well below that to have learned.
    """

    def __init__(self, n_samples, seq_len, seed=0):
        if seq_len < 2:
            raise ValueError(f"AddingProblem: seq_len must be at least 2, got {seq_len}")
        rng = numpy.random.default_rng(seed)
        values = rng.random((n_samples, seq_len), dtype=numpy.float32)
        half = seq_len // 2
        rows = numpy.arange(n_samples)
        first = rng.integers(0, half, size=n_samples)
        second = rng.integers(half, seq_len, size=n_samples)
        markers = numpy.zeros((n_samples, seq_len), dtype=numpy.float32)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        self.inputs = numpy.stack([values, markers], axis=-1)
        self.targets = values[rows, first] + values[rows, second]
        super().__init__(self.inputs, self.targets)


class CopyTask(TensorDataset):
    """The copy memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

    Ids: 0 is the blank, 1..n_symbols are symbols, n_symbols + 1 is the delimiter. An input is

        seq_len random symbols | delay blanks | delimiter | seq_len blanks

    (total_len = 2 · seq_len + delay + 1 steps) and its target is blank everywhere except the
    last seq_len steps, which must repeat the symbols. Items are (input ids, target ids), two
    int64 arrays of shape (total_len,); ``vocab_size`` is the number of distinct input ids.

    Memoryless baseline: predict blank until the delimiter, then a uniform guess among the
    symbols: cross-entropy per step = seq_len · log(n_symbols) / total_len
    (``baseline_cross_entropy``).
    """

    def __init__(self, n_samples, seq_len=10, n_symbols=8, delay=20, seed=0):
        rng = numpy.random.default_rng(seed)
        self.seq_len, self.n_symbols, self.delay = seq_len, n_symbols, delay
        self.total_len = 2 * seq_len + delay + 1
        self.vocab_size = n_symbols + 2
        self.delimiter_id = n_symbols + 1
        symbols = rng.integers(1, n_symbols + 1, size=(n_samples, seq_len))
        self.inputs = numpy.zeros((n_samples, self.total_len), dtype=numpy.int64)
        self.inputs[:, :seq_len] = symbols
        self.inputs[:, seq_len + delay] = self.delimiter_id
        self.targets = numpy.zeros((n_samples, self.total_len), dtype=numpy.int64)
        self.targets[:, -seq_len:] = symbols
        super().__init__(self.inputs, self.targets)

    @property
    def baseline_cross_entropy(self):
        return self.seq_len * math.log(self.n_symbols) / self.total_len


class StdlibCorpus:
    """A real character corpus: the source of the Python standard library's ``.py`` files.

    The files under ``sysconfig.get_paths()["stdlib"]`` (third-party packages and test suites
    left out) are sorted, shuffled by ``seed``, and read in that order, skipping files that are
    unreadable or not UTF-8, until ``max_chars`` characters are collected. The last
    ``valid_fraction`` of the text is the validation split, the rest the training split.

    Attributes: ``text``, ``train_text``, ``valid_text``, ``files`` (the paths read), ``vocab``
    (characters of the training text), ``train_ids`` and ``valid_ids`` (int64 arrays).
    """

    LEFT_OUT_FOLDERS = {"site-packages", "dist-packages", "test", "tests", "idle_test",
                        "__pycache__"}

    def __init__(self, max_chars=1_000_000, seed=0, valid_fraction=0.1):
        if not 0.0 < valid_fraction < 1.0:
            raise ValueError(f"StdlibCorpus: valid_fraction must be in (0, 1), got "
                             f"{valid_fraction}")
        paths = self._source_files()
        order = numpy.random.default_rng(seed).permutation(len(paths))
        self.files, pieces, n_chars = [], [], 0
        for index in order:
            if n_chars >= max_chars:
                break
            try:
                with open(paths[index], encoding="utf-8") as f:
                    source = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            self.files.append(paths[index])
            pieces.append(source)
            n_chars += len(source)
        self.text = "".join(pieces)[:max_chars]
        if not self.text:
            raise ValueError(f"StdlibCorpus: no readable .py files under "
                             f"{sysconfig.get_paths()['stdlib']}")
        split_at = int(len(self.text) * (1.0 - valid_fraction))
        self.train_text, self.valid_text = self.text[:split_at], self.text[split_at:]
        self.vocab = Vocab.from_texts([self.train_text], level="char")
        self.train_ids = numpy.array(self.vocab.encode(self.train_text), dtype=numpy.int64)
        self.valid_ids = numpy.array(self.vocab.encode(self.valid_text), dtype=numpy.int64)

    def _source_files(self):
        root = sysconfig.get_paths()["stdlib"]
        paths = []
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = [s for s in subfolders if s not in self.LEFT_OUT_FOLDERS]
            paths += [os.path.join(folder, name) for name in names if name.endswith(".py")]
        return sorted(paths)


class CharLMDataset(Dataset):
    """Windows of a long id sequence for next-character prediction.

    Item i is (ids[s : s + seq_len], ids[s + 1 : s + seq_len + 1]) with s = i · stride: the
    target is the input shifted by one step. ``stride`` defaults to seq_len (windows that do
    not overlap).
    """

    def __init__(self, ids, seq_len, stride=None):
        self.ids = numpy.asarray(ids, dtype=numpy.int64)
        self.seq_len = seq_len
        self.stride = seq_len if stride is None else stride
        if seq_len < 1 or self.stride < 1:
            raise ValueError(f"CharLMDataset: seq_len and stride must be positive, got "
                             f"{seq_len} and {self.stride}")
        if len(self.ids) < seq_len + 1:
            raise ValueError(f"CharLMDataset: {len(self.ids)} ids are too few for one window "
                             f"of seq_len {seq_len} plus its shifted target")

    def __len__(self):
        return (len(self.ids) - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"CharLMDataset: index {index} out of range for {len(self)} windows")
        start = (index % len(self)) * self.stride
        window = self.ids[start:start + self.seq_len + 1]
        return window[:-1], window[1:]


def unigram_entropy(ids):
    """H = -Σ_c p(c) log p(c) in nats, p the frequency of each id in ``ids``.

    This is the cross-entropy of the best model that ignores context (it always predicts the
    training frequencies): the baseline a language model has to beat.
    """
    counts = numpy.bincount(numpy.asarray(ids, dtype=numpy.int64).reshape(-1))
    probabilities = counts[counts > 0] / counts.sum()
    return float(-(probabilities * numpy.log(probabilities)).sum())


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


def _ordinal(day):
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# Each format maps (date, month name, weekday name) to text. Written by hand rather than with
# strftime, whose names follow the locale. Two-digit years are unambiguous in 1950..2049.
DATE_FORMATS = (
    # march 3, 1994
    lambda d, month, weekday: f"{month.lower()} {d.day}, {d.year}",
    # 3 Mar 1994
    lambda d, month, weekday: f"{d.day} {month[:3]} {d.year}",
    # 03/03/94
    lambda d, month, weekday: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    # Thursday, March 3, 1994
    lambda d, month, weekday: f"{weekday}, {month} {d.day}, {d.year}",
    # 3/3/1994
    lambda d, month, weekday: f"{d.month}/{d.day}/{d.year}",
    # thu 3 mar 1994
    lambda d, month, weekday: f"{weekday[:3]} {d.day} {month[:3]} {d.year}".lower(),
    # 03.03.1994
    lambda d, month, weekday: f"{d.day:02d}.{d.month:02d}.{d.year}",
    # March 3rd, 1994
    lambda d, month, weekday: f"{month} {_ordinal(d.day)}, {d.year}",
)


class DateSplits(NamedTuple):
    """(source, target) string pairs per split and the character vocabularies."""
    train: list
    valid: list
    test: list
    source_vocab: Vocab
    target_vocab: Vocab


def dates_dataset(n_train=10_000, n_valid=1_000, n_test=1_000, seed=0):
    """Date normalisation, a small translation task: "Thursday, March 3, 1994" -> "1994-03-03".

    Distinct dates are drawn from 1950-01-01..2049-12-31 and each is written in one of the
    ``DATE_FORMATS``; the target is its ISO form. No date appears in two splits. The seed fixes
    a shuffled order of all days and a format for each: the test split is the first n_test
    days of that order, validation the next n_valid, training the next n_train, so the test
    and validation splits stay the same when n_train changes.

    The vocabularies hold the characters of all three splits' sources and targets (a set fixed
    by the formats, so nothing about the labels leaks).
    """
    n_days = LAST_DATE.toordinal() - FIRST_DATE.toordinal() + 1
    if min(n_train, n_valid, n_test) < 0 or n_train + n_valid + n_test > n_days:
        raise ValueError(f"dates_dataset: split sizes must be non-negative and add up to at "
                         f"most {n_days} (the days in 1950..2049), got {n_train}, {n_valid}, "
                         f"{n_test}")
    rng = numpy.random.default_rng(seed)
    day_order = rng.permutation(n_days)
    format_of_day = rng.integers(len(DATE_FORMATS), size=n_days)

    def pairs(day_offsets):
        result = []
        for offset in day_offsets:
            date = datetime.date.fromordinal(FIRST_DATE.toordinal() + int(offset))
            write = DATE_FORMATS[format_of_day[offset]]
            source = write(date, MONTHS[date.month - 1], WEEKDAYS[date.weekday()])
            result.append((source, date.isoformat()))
        return result

    test = pairs(day_order[:n_test])
    valid = pairs(day_order[n_test:n_test + n_valid])
    train = pairs(day_order[n_test + n_valid:n_test + n_valid + n_train])
    everything = train + valid + test
    source_vocab = Vocab.from_texts([source for source, _ in everything], level="char")
    target_vocab = Vocab.from_texts([target for _, target in everything], level="char")
    return DateSplits(train, valid, test, source_vocab, target_vocab)


class Seq2SeqDataset(Dataset):
    """(source, target) string pairs as id arrays: item i is (source ids, <sos> target ids
    <eos>), both int64. Batch with ``DataLoader(..., collate_fn=tinyseq.text.collate_pairs)``.
    The decoder reads target[:-1] and learns to predict target[1:] (teacher forcing).
    """

    def __init__(self, pairs, source_vocab, target_vocab):
        self.pairs = list(pairs)
        self.source_vocab, self.target_vocab = source_vocab, target_vocab

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        source, target = self.pairs[index]
        source_ids = self.source_vocab.encode(source)
        target_ids = self.target_vocab.encode(target, add_sos=True, add_eos=True)
        return numpy.array(source_ids, dtype=numpy.int64), numpy.array(target_ids,
                                                                        dtype=numpy.int64)


class Shapes(TensorDataset):
    """Image captioning: each image shows two coloured shapes, and its caption says where the
    first is relative to the second, "a red circle above a blue square".

    Images are (3, size, size) float32 RGB in [0, 1] on a dark noisy background. The two
    objects differ in colour or shape. The caption always names the upper object first
    ("above") or, when the two sit side by side, the left one ("left of"), so every image has
    exactly one caption. Items are (image, caption ids): ids int64 of length ``max_len`` =
    <sos>, the 6 or 7 words, <eos>, then <pad>. ``vocab`` (word level) is the same for every
    seed; ``texts`` holds the captions as strings.
    """

    COLORS = {"red": (0.9, 0.15, 0.1), "green": (0.1, 0.8, 0.2), "blue": (0.15, 0.3, 0.95),
              "yellow": (0.95, 0.85, 0.1)}
    SHAPES = ("circle", "square", "triangle")
    RELATIONS = ("above", "left of")
    max_len = 9
    vocab = Vocab(sorted({"a", "above", "left", "of"} | set(COLORS) | set(SHAPES)), level="word")

    def __init__(self, n_samples, size=24, seed=0):
        if size < 16:
            raise ValueError(f"Shapes: size must be at least 16 pixels, got {size}")
        rng = numpy.random.default_rng(seed)
        self.size = size
        self.radius = size / 8
        images = rng.uniform(0.0, 0.08, size=(n_samples, 3, size, size)).astype(numpy.float32)
        self.texts = []
        for image in images:
            first, second = self._two_objects(rng)
            relation = self.RELATIONS[rng.integers(len(self.RELATIONS))]
            for (color, shape), center in zip((first, second), self._centers(rng, relation)):
                self._draw(image, color, shape, center)
            self.texts.append(f"a {first[0]} {first[1]} {relation} a {second[0]} {second[1]}")
        self.images = images
        ids = [self.vocab.encode(text, add_sos=True, add_eos=True) for text in self.texts]
        self.ids, _ = pad_sequences(ids, self.vocab.pad_id, self.max_len)
        super().__init__(self.images, self.ids)

    def _two_objects(self, rng):
        objects = [(color, shape) for color in self.COLORS for shape in self.SHAPES]
        first, second = rng.choice(len(objects), size=2, replace=False)
        return objects[first], objects[second]

    def _centers(self, rng, relation):
        """Centres (row, column) of the first and second object: the first clearly above (or
        left of) the second, further apart along that axis than across it."""
        low, high = self.radius + 1, self.size - self.radius - 1
        while True:
            (r1, c1), (r2, c2) = rng.uniform(low, high, size=(2, 2))
            along, across = (r2 - r1, c2 - c1) if relation == "above" else (c2 - c1, r2 - r1)
            if along > 2.5 * self.radius and along > 1.5 * abs(across):
                return (r1, c1), (r2, c2)

    def _draw(self, image, color, shape, center):
        rows, columns = numpy.mgrid[0:self.size, 0:self.size] + 0.5
        dy, dx = rows - center[0], columns - center[1]
        r = self.radius
        if shape == "circle":
            inside = dy ** 2 + dx ** 2 <= r ** 2
        elif shape == "square":
            inside = (numpy.abs(dy) <= 0.85 * r) & (numpy.abs(dx) <= 0.85 * r)
        else:  # a triangle pointing up
            inside = (dy >= -r) & (dy <= 0.8 * r) & (numpy.abs(dx) <= (dy + r) * 0.6)
        image[:, inside] = numpy.asarray(self.COLORS[color], dtype=numpy.float32)[:, None]

import datetime
import math
import re

import numpy
import pytest

import tinyseq as ts
from tinyseq.data import DataLoader
from tinyseq.datasets import (AddingProblem, CharLMDataset, CopyTask, Seq2SeqDataset,
                              SineWave, StdlibCorpus, dates_dataset, unigram_entropy)
from tinyseq.text import collate_pairs

SMALL_CORPUS = 60_000


@pytest.fixture(scope="module")
def corpus():
    return StdlibCorpus(max_chars=SMALL_CORPUS, seed=0)


@pytest.fixture(scope="module")
def dates():
    return dates_dataset(n_train=2000, n_valid=300, n_test=300, seed=0)


# --- sine wave -------------------------------------------------------------------------------
def test_sine_wave_shapes_and_next_point():
    data = SineWave(16, seq_len=30, step=0.2, seed=1)
    x, y = data[3]
    assert len(data) == 16
    assert x.shape == (30, 1) and x.dtype == numpy.float32
    assert y.shape == () and y.dtype == numpy.float32
    # the points are sin(phase + t * step): recover the phase and predict the next one
    phase = math.atan2(x[0, 0], (x[1, 0] - x[0, 0] * math.cos(0.2)) / math.sin(0.2))
    assert y == pytest.approx(math.sin(phase + 30 * 0.2), abs=1e-5)
    assert numpy.allclose(x[:, 0], numpy.sin(phase + 0.2 * numpy.arange(30)), atol=1e-5)


def test_sine_wave_is_deterministic_and_batches():
    assert numpy.array_equal(SineWave(8, seed=5).inputs, SineWave(8, seed=5).inputs)
    assert not numpy.array_equal(SineWave(8, seed=5).inputs, SineWave(8, seed=6).inputs)
    x, y = next(iter(DataLoader(SineWave(10), batch_size=4)))
    assert x.shape == (4, 50, 1) and y.shape == (4,) and x.dtype == ts.float32


# --- adding problem --------------------------------------------------------------------------
def test_adding_problem_markers_and_targets():
    seq_len = 21
    data = AddingProblem(500, seq_len, seed=3)
    assert data.inputs.shape == (500, seq_len, 2) and data.inputs.dtype == numpy.float32
    assert data.targets.shape == (500,) and data.targets.dtype == numpy.float32
    values, markers = data.inputs[..., 0], data.inputs[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(numpy.unique(markers)) == {0.0, 1.0}
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :seq_len // 2].sum(axis=1) == 1).all()
    assert (markers[:, seq_len // 2:].sum(axis=1) == 1).all()
    assert numpy.allclose(data.targets, (values * markers).sum(axis=1), atol=1e-6)


def test_adding_problem_constant_baseline_is_one_sixth():
    data = AddingProblem(20_000, 10, seed=0)
    assert ((data.targets - 1.0) ** 2).mean() == pytest.approx(1 / 6, abs=0.01)


def test_adding_problem_is_deterministic():
    a, b = AddingProblem(50, 12, seed=7), AddingProblem(50, 12, seed=7)
    assert numpy.array_equal(a.inputs, b.inputs) and numpy.array_equal(a.targets, b.targets)
    assert not numpy.array_equal(a.inputs, AddingProblem(50, 12, seed=8).inputs)


# --- copy task -------------------------------------------------------------------------------
def test_copy_task_layout():
    seq_len, n_symbols, delay = 6, 5, 9
    data = CopyTask(40, seq_len=seq_len, n_symbols=n_symbols, delay=delay, seed=2)
    total = 2 * seq_len + delay + 1
    assert data.total_len == total and data.vocab_size == n_symbols + 2
    x, y = data[0]
    assert x.shape == y.shape == (total,) and x.dtype == y.dtype == numpy.int64
    symbols = data.inputs[:, :seq_len]
    assert ((symbols >= 1) & (symbols <= n_symbols)).all()
    assert (data.inputs[:, seq_len:seq_len + delay] == 0).all()
    assert (data.inputs[:, seq_len + delay] == n_symbols + 1).all()
    assert (data.inputs[:, -seq_len:] == 0).all()
    assert (data.targets[:, :-seq_len] == 0).all()
    assert numpy.array_equal(data.targets[:, -seq_len:], symbols)


def test_copy_task_baseline_and_determinism():
    data = CopyTask(5, seq_len=10, n_symbols=8, delay=20)
    assert data.baseline_cross_entropy == pytest.approx(10 * math.log(8) / 41)
    assert numpy.array_equal(CopyTask(5, seed=1).inputs, CopyTask(5, seed=1).inputs)
    assert not numpy.array_equal(CopyTask(5, seed=1).inputs, CopyTask(5, seed=2).inputs)


# --- stdlib corpus ---------------------------------------------------------------------------
def test_corpus_is_real_python_source(corpus):
    assert 0 < len(corpus.text) <= SMALL_CORPUS
    assert "def " in corpus.text and "import " in corpus.text
    assert corpus.files and all(path.endswith(".py") for path in corpus.files)


def test_corpus_split_is_disjoint_and_fixed(corpus):
    assert corpus.train_text + corpus.valid_text == corpus.text
    assert len(corpus.valid_text) == len(corpus.text) - int(len(corpus.text) * 0.9)
    again = StdlibCorpus(max_chars=SMALL_CORPUS, seed=0)
    assert again.train_text == corpus.train_text and again.valid_text == corpus.valid_text
    assert StdlibCorpus(max_chars=SMALL_CORPUS, seed=1).text != corpus.text


def test_corpus_ids_decode_back(corpus):
    assert corpus.train_ids.dtype == numpy.int64 and len(corpus.train_ids) == len(corpus.train_text)
    assert corpus.vocab.decode(corpus.train_ids[:500]) == corpus.train_text[:500]
    assert corpus.valid_ids.max() < len(corpus.vocab)


def test_unigram_baseline(corpus):
    entropy = unigram_entropy(corpus.train_ids)
    assert 2.0 < entropy < 5.0
    assert unigram_entropy([4, 4, 4]) == 0.0
    assert unigram_entropy([4, 5, 6, 7]) == pytest.approx(math.log(4))


def test_char_lm_windows_are_shifted_by_one():
    ids = numpy.arange(23)
    windows = CharLMDataset(ids, seq_len=5)
    assert len(windows) == 4  # starts 0, 5, 10, 15; the target of the last ends at id 20
    x, y = windows[3]
    assert list(x) == [15, 16, 17, 18, 19] and list(y) == [16, 17, 18, 19, 20]
    strided = CharLMDataset(ids, seq_len=5, stride=2)
    assert len(strided) == 9 and list(strided[8][1]) == list(range(17, 22))
    x, y = next(iter(DataLoader(windows, batch_size=4)))
    assert x.shape == (4, 5) and x.dtype == ts.int64
    with pytest.raises(IndexError):
        windows[4]
    with pytest.raises(ValueError):
        CharLMDataset(numpy.arange(5), seq_len=5)


# --- dates -----------------------------------------------------------------------------------
def parse_source(source):
    """Independent parse of every date format, with the 1950..2049 two-digit-year window."""
    for pattern in ("%B %d, %Y", "%d %b %Y", "%m/%d/%y", "%A, %B %d, %Y", "%m/%d/%Y",
                    "%a %d %b %Y", "%d.%m.%Y"):
        try:
            date = datetime.datetime.strptime(source, pattern).date()
        except ValueError:
            continue
        return date.replace(year=date.year - 100) if date.year > 2049 else date
    month, day, year = source.replace(",", "").split()
    return datetime.datetime.strptime(f"{month} {day[:-2]} {year}", "%B %d %Y").date()


def test_dates_targets_match_sources(dates):
    for source, target in dates.train + dates.valid + dates.test:
        date = datetime.date.fromisoformat(target)
        assert datetime.date(1950, 1, 1) <= date <= datetime.date(2049, 12, 31)
        assert parse_source(source) == date, source
        weekday = source.split(",")[0]
        if weekday.isalpha():
            assert weekday == date.strftime("%A"), source
        if re.fullmatch(r"[a-z]{3} \d+ [a-z]{3} \d{4}", source):
            assert source[:3] == date.strftime("%a").lower(), source


def test_dates_splits_do_not_overlap_and_are_fixed(dates):
    assert (len(dates.train), len(dates.valid), len(dates.test)) == (2000, 300, 300)
    train, valid, test = ({t for _, t in split} for split in dates[:3])
    assert len(train) == 2000 and not train & valid and not train & test and not valid & test
    assert dates_dataset(n_train=2000, n_valid=300, n_test=300, seed=0).test == dates.test
    assert dates_dataset(n_train=500, n_valid=300, n_test=300, seed=0).test == dates.test
    assert dates_dataset(n_train=10, n_valid=10, n_test=300, seed=1).test != dates.test


def test_dates_use_many_formats(dates):
    sources = [s for s, _ in dates.train]
    assert any("/" in s for s in sources) and any("." in s for s in sources)
    assert any(s[0].isupper() and "," in s for s in sources)
    assert any(re.search(r"\d(st|nd|rd|th), \d{4}$", s) for s in sources)
    assert any(re.fullmatch(r"[a-z]{3} \d+ [a-z]{3} \d{4}", s) for s in sources)


def test_dates_vocabularies_and_batches(dates):
    assert set(dates.target_vocab.id_to_token[4:]) == set("0123456789-")
    source, target = dates.train[0]
    assert dates.source_vocab.decode(dates.source_vocab.encode(source)) == source
    pairs = Seq2SeqDataset(dates.train, dates.source_vocab, dates.target_vocab)
    batch = next(iter(DataLoader(pairs, batch_size=8, collate_fn=collate_pairs)))
    source_ids, source_lengths, target_ids, target_lengths = batch
    assert source_ids.shape == (8, source_lengths.max()) and source_ids.dtype == ts.int64
    assert target_ids.shape == (8, 12) and list(target_lengths) == [12] * 8  # <sos> 10 <eos>
    assert (target_ids.numpy()[:, 0] == dates.target_vocab.sos_id).all()
    assert dates.target_vocab.decode(target_ids.numpy()[0]) == target


def test_dates_rejects_too_many_dates():
    with pytest.raises(ValueError, match="dates_dataset"):
        dates_dataset(n_train=40_000)

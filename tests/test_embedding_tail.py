"""The rest of nn.Embedding, Embedding.from_pretrained and F.embedding: max_norm (the picked rows
renormalised in place, counted by the weight's version counter), norm_type,
scale_grad_by_freq (alone, with padding_idx, with max_norm) and PyTorch's positional order;
sparse=True and bad arguments are refused before anything changes.

Values, the weight after the renorm and gradients are compared with PyTorch where it is
installed; known values, finite differences, the stand-in device and the errors need no
PyTorch."""
import math

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
import test_device_standin
from gradcheck import assert_close, gradcheck
from test_device_standin import StandinArray
from tinyseq import nn

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")
standin = test_device_standin.standin       # the stand-in device's fixture

_rng = np.random.default_rng(71)
INF = math.inf

# ids of several shapes, with repeats; every one reads rows of a (6, 4) table
ID_SHAPES = {
    "scalar": np.array(3),
    "vector": np.array([0, 3, 3, 5, 1, 3]),
    "matrix": np.array([[1, 0, 1], [4, 4, 1]]),
    "3-d": np.array([[[5, 2], [2, 2]], [[0, 5], [3, 2]]]),
    "empty": np.zeros((2, 0), dtype=np.int64),
}
# the norms the table's rows get: three above MAX_NORM, three below, none near it
ROW_NORMS = [0.5, 3.0, 1.2, 4.0, 0.9, 2.5]
MAX_NORM = 1.5


def table(norm_type, dtype=np.float64):
    """A (6, 4) table of random directions whose rows have ROW_NORMS in ``norm_type`` (no zero
    elements: p = 0, the count of non-zeros, makes each row's norm 4)."""
    rows = _rng.uniform(0.2, 2.0, size=(6, 4)) * _rng.choice([-1.0, 1.0], size=(6, 4))
    if norm_type == 0:
        return rows.astype(dtype)
    rows /= np.linalg.norm(rows, ord=norm_type, axis=1, keepdims=True)
    return (rows * np.array(ROW_NORMS)[:, None]).astype(dtype)


def torch_dtype(dtype):
    return {np.float64: torch.float64, np.float32: torch.float32}[dtype]


def both(weight, ids, grad=None, **options):
    """F.embedding on tinyseq and torch leaves made from ``weight`` and ``ids``: (ours, theirs)
    each (output, weight after, weight's gradient of sum(output * grad), weight's version)."""
    results = []
    for framework, functional in ((ts, F), (torch, TF)):
        w = framework.tensor(weight, requires_grad=True)
        out = functional.embedding(framework.tensor(ids), w, **options)
        if grad is None:
            grad = _rng.standard_normal(tuple(out.shape))
        if out.numel():
            (out * framework.tensor(grad, dtype=out.dtype)).sum().backward()
        results.append((out.detach().numpy(), w.detach().numpy().copy(),
                        None if w.grad is None else w.grad.numpy(), w._version))
    return results


def assert_same(ours, theirs, rtol):
    for name, a, b in zip(("output", "weight", "grad", "version"), ours, theirs):
        if b is None:
            assert a is None, name
        elif name == "version":
            assert a == b, (name, a, b)
        else:
            assert a.shape == b.shape and a.dtype == b.dtype, name
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=name)


# --- max_norm ---------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, INF])
@pytest.mark.parametrize("shape", list(ID_SHAPES))
def test_max_norm_renorms_the_picked_rows_in_place_as_torch(shape, norm_type, dtype):
    weight, ids = table(norm_type, dtype), ID_SHAPES[shape]
    ours, theirs = both(weight, ids, max_norm=MAX_NORM, norm_type=norm_type)
    assert_same(ours, theirs, 1e-12 if dtype == np.float64 else 1e-6)
    after, picked = ours[1], np.unique(ids)
    norms = np.linalg.norm(after, ord=norm_type, axis=1)
    for row in range(6):
        if row in picked and ROW_NORMS[row] > MAX_NORM:
            assert norms[row] == pytest.approx(MAX_NORM, rel=1e-6)   # max_norm / (norm + 1e-7)
            assert norms[row] < MAX_NORM or dtype == np.float32
        else:                                                         # unpicked or small: kept
            np.testing.assert_array_equal(after[row], weight[row])
    assert ours[3] == 1                        # one in-place change, even when none was over


@needs_torch
@pytest.mark.parametrize("norm_type", [0.5, -2.0, -INF, 0.0])
def test_odd_norm_types_follow_torch(norm_type):
    """p below 1 (not a norm), negative p and p = 0 (the count of non-zeros) mean what
    Tensor.norm and PyTorch make of them."""
    weight = table(norm_type)
    ours, theirs = both(weight, ID_SHAPES["matrix"], max_norm=MAX_NORM, norm_type=norm_type)
    assert_same(ours, theirs, 1e-12)
    assert not np.array_equal(ours[1], weight)


@needs_torch
@pytest.mark.parametrize("max_norm", [0.0, INF])
def test_max_norm_zero_and_inf_follow_torch(max_norm):
    """0 zeroes every picked non-zero row; inf changes nothing, but the weight's version
    still counts the call."""
    weight = table(2.0)
    ours, theirs = both(weight, ID_SHAPES["vector"], max_norm=max_norm)
    assert_same(ours, theirs, 1e-12)
    if max_norm == 0.0:
        assert not ours[1][[0, 1, 3, 5]].any()
    else:
        assert (ours[1][[1, 3]] == weight[[1, 3]]).all()             # not above: kept
    assert ours[3] == 1


def test_max_norm_known_values():
    """Rows 0 and 3 are picked: row 0 (norm 5) becomes norm 1, row 3 (norm 0.5) is kept, the
    unpicked row 1 keeps its norm 10; the output reads the rescaled rows."""
    weight = ts.tensor([[3.0, 4.0], [6.0, 8.0], [1.0, 0.0], [0.3, 0.4]], dtype=ts.float64)
    out = F.embedding(ts.tensor([[0, 3], [0, 0]]), weight, max_norm=1.0)
    scaled = np.array([3.0, 4.0]) / (5.0 + 1e-7)
    np.testing.assert_allclose(weight.numpy(), [scaled, [6.0, 8.0], [1.0, 0.0], [0.3, 0.4]],
                               rtol=1e-15)
    np.testing.assert_allclose(out.numpy(), [[scaled, [0.3, 0.4]], [scaled, scaled]],
                               rtol=1e-15)
    assert weight._version == 1
    F.embedding(ts.tensor([1]), weight, max_norm=2.0, norm_type=INF)
    np.testing.assert_allclose(weight.numpy()[1], np.array([6.0, 8.0]) * 2.0 / (8.0 + 1e-7))
    assert weight._version == 2
    F.embedding(ts.tensor([1]), weight)                               # no max_norm: no change
    assert weight._version == 2


@needs_torch
@pytest.mark.parametrize("padding_idx", [1, -3])
def test_padding_idx_with_max_norm_as_torch(padding_idx):
    """The padding row is renormalised like any picked row (as PyTorch), and gets no
    gradient."""
    weight = table(2.0)
    ids = np.array([[1, 3, 1], [0, 3, 5]])
    ours, theirs = both(weight, ids, padding_idx=padding_idx, max_norm=MAX_NORM)
    assert_same(ours, theirs, 1e-12)
    pad = padding_idx % 6
    assert np.linalg.norm(ours[1][pad]) == pytest.approx(MAX_NORM)
    assert not ours[2][pad].any()


@needs_torch
def test_a_graph_that_saved_the_weight_fails_after_a_max_norm_lookup_as_torch():
    """The renorm is an in-place change of the weight: a backward through a graph made
    before it that saved the weight raises, as in PyTorch; an embedding's own graph saved
    only the ids, so its backward still runs."""
    weight, ids = table(2.0), np.array([1, 3])
    for framework, functional in ((torch, TF), (ts, F)):
        w = framework.tensor(weight, requires_grad=True)
        squares = (w * w).sum()                    # saves w
        before = functional.embedding(framework.tensor(ids), w)
        functional.embedding(framework.tensor(ids), w, max_norm=MAX_NORM)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            squares.backward()
        before.sum().backward()
        np.testing.assert_array_equal(w.grad.numpy()[:, 0], [0, 1, 0, 1, 0, 0])


def test_the_version_counter_of_a_module_weight_counts_each_max_norm_forward():
    embedding = nn.Embedding(6, 4, max_norm=1.0)
    saved = (embedding.weight * embedding.weight).sum()
    assert embedding.weight._version == 0
    embedding(ts.tensor([0, 2]))
    embedding(np.array([1]))
    assert embedding.weight._version == 2
    with pytest.raises(RuntimeError, match=r"mul backward: one of the tensors needed for "
                                           r"gradient computation has been modified by an "
                                           r"inplace operation"):
        saved.backward()
    norms = np.linalg.norm(embedding.weight.numpy(), axis=1)
    assert (norms[[0, 1, 2]] <= 1.0 + 1e-6).all()


# --- scale_grad_by_freq -----------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("shape", list(ID_SHAPES))
def test_scale_grad_by_freq_as_torch(shape, padding_idx, dtype):
    weight = _rng.standard_normal((6, 4)).astype(dtype)
    ours, theirs = both(weight, ID_SHAPES[shape], padding_idx=padding_idx,
                        scale_grad_by_freq=True)
    assert_same(ours, theirs, 1e-12 if dtype == np.float64 else 1e-6)
    assert ours[3] == 0                                              # nothing changed in place


@needs_torch
@pytest.mark.parametrize("norm_type", [1.0, 2.0, INF])
def test_scale_grad_by_freq_with_max_norm_and_padding_as_torch(norm_type):
    weight = table(norm_type)
    ours, theirs = both(weight, ID_SHAPES["3-d"], padding_idx=0, max_norm=MAX_NORM,
                        norm_type=norm_type, scale_grad_by_freq=True)
    assert_same(ours, theirs, 1e-12)


def test_scale_grad_by_freq_known_values_with_padding():
    """Row 0 occurs 3 times, row 2 once; the padding row 1 gets nothing (PyTorch's counts
    include every id, padding or not, and skip the padding row)."""
    weight = ts.zeros(4, 2, dtype=ts.float64, requires_grad=True)
    out = F.embedding(ts.tensor([[0, 0, 1], [2, 0, 1]]), weight, padding_idx=1,
                      scale_grad_by_freq=True)
    out.backward(ts.arange(12.0, dtype=ts.float64).reshape(2, 3, 2))
    np.testing.assert_allclose(weight.grad.numpy(),
                               [[10 / 3, 13 / 3], [0.0, 0.0], [6.0, 7.0], [0.0, 0.0]],
                               rtol=1e-15)


@pytest.mark.parametrize("padding_idx", [None, 3])
@pytest.mark.parametrize("shape", ["vector", "matrix", "3-d"])
def test_scale_grad_by_freq_against_finite_differences(shape, padding_idx):
    """The scaled gradient is the exact gradient of sum_i R_i f_i weight[ids_i], with f_i one
    over the count of ids_i (0 at the padding id): the function below has that value, while
    its backward runs only through the lookup with scale_grad_by_freq (the rest is
    detached)."""
    ids = ID_SHAPES[shape]
    _, position, counts = np.unique(ids, return_inverse=True, return_counts=True)
    factor = 1.0 / counts[position.reshape(ids.shape)]
    if padding_idx is not None:
        factor = np.where(ids == padding_idx, 0.0, factor)
    factor = ts.tensor(factor[..., None], dtype=ts.float64)

    def weighted(w):
        looked_up = F.embedding(ts.tensor(ids), w, padding_idx, scale_grad_by_freq=True)
        return looked_up + (looked_up * (factor - 1.0)).detach()

    assert gradcheck(weighted, [ts.tensor(_rng.standard_normal((6, 4)), dtype=ts.float64,
                                          requires_grad=True)])


@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_without_repeats_scale_grad_by_freq_is_the_plain_gradient(scale_grad_by_freq):
    ids = ts.tensor([[4, 0], [2, 5]])
    assert gradcheck(lambda w: F.embedding(ids, w, scale_grad_by_freq=scale_grad_by_freq),
                     [ts.tensor(_rng.standard_normal((6, 3)), dtype=ts.float64,
                                requires_grad=True)])


@pytest.mark.usefixtures("standin")
def test_max_norm_and_scale_grad_by_freq_on_the_standin_device():
    """Everything stays on the device's arrays and matches the same call on "cpu"."""
    weight = table(2.0)
    ids = np.array([[1, 3, 1], [0, 3, 5]])
    grad = _rng.standard_normal((2, 3, 4))
    results = []
    for device in ("cpu", "standin"):
        w = ts.tensor(weight, device=device, requires_grad=True)
        out = F.embedding(ts.tensor(ids, device=device), w, padding_idx=5, max_norm=MAX_NORM,
                          scale_grad_by_freq=True)
        (out * ts.tensor(grad, device=device)).sum().backward()
        results.append((w, out))
    (cpu_w, cpu_out), (w, out) = results
    assert type(w.array) is StandinArray and type(w.grad.array) is StandinArray
    np.testing.assert_array_equal(w.numpy(), cpu_w.numpy())
    np.testing.assert_array_equal(out.numpy(), cpu_out.numpy())
    np.testing.assert_array_equal(w.grad.numpy(), cpu_w.grad.numpy())


# --- the module, from_pretrained and positional arguments -------------------------------------
@needs_torch
def test_module_with_every_option_matches_torch():
    weight = table(3.0)
    ids = np.array([[2, 1, 1], [3, 0, 1]])
    ours = nn.Embedding(6, 4, 0, MAX_NORM, 3.0, True, _weight=ts.tensor(weight))
    theirs = torch.nn.Embedding(6, 4, 0, MAX_NORM, 3.0, True, _weight=torch.tensor(weight))
    assert repr(ours) == repr(theirs)
    grad = _rng.standard_normal((2, 3, 4))
    for module, framework in ((ours, ts), (theirs, torch)):
        (module(framework.tensor(ids)) * framework.tensor(grad)).sum().backward()
    assert_close(ours.weight.numpy(), theirs.weight.detach().numpy(), atol=1e-12, rtol=1e-12)
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-12, rtol=1e-12)
    assert ours.weight._version == theirs.weight._version == 1


@needs_torch
@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained_with_max_norm_and_scale_grad_by_freq_as_torch(freeze):
    """The given embeddings share memory with the weight, so the renorm changes them too."""
    weight = table(1.0)
    ids = np.array([1, 1, 3, 4, 1])
    given = {"ours": ts.tensor(weight), "theirs": torch.tensor(weight)}
    ours = nn.Embedding.from_pretrained(given["ours"], freeze, 4, MAX_NORM, 1.0, True)
    theirs = torch.nn.Embedding.from_pretrained(given["theirs"], freeze, 4, MAX_NORM, 1.0, True)
    assert repr(ours) == repr(theirs)
    assert (ours.max_norm, ours.norm_type, ours.scale_grad_by_freq, ours.sparse) == \
        (theirs.max_norm, theirs.norm_type, theirs.scale_grad_by_freq, theirs.sparse)
    out, expected = ours(ts.tensor(ids)), theirs(torch.tensor(ids))
    assert_close(out.numpy(), expected.detach().numpy(), atol=1e-12, rtol=1e-12)
    assert_close(given["ours"].numpy(), given["theirs"].numpy(), atol=1e-12, rtol=1e-12)
    assert np.linalg.norm(given["ours"].numpy()[1], ord=1) == pytest.approx(MAX_NORM)
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    if not freeze:
        out.sum().backward()
        expected.sum().backward()
        assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-12,
                     rtol=1e-12)
        assert ours.weight.grad.numpy()[1].tolist() == [1.0] * 4          # 3 ids / 3


@needs_torch
def test_positional_arguments_in_torchs_order():
    weight = table(2.0)
    for framework in (ts, torch):
        module = framework.nn.Embedding(6, 4, 2, 1.0, 1.0, True, False,
                                        framework.tensor(weight), True, None, None)
        assert (module.padding_idx, module.max_norm, module.norm_type,
                module.scale_grad_by_freq, module.sparse) == (2, 1.0, 1.0, True, False)
        assert not module.weight.requires_grad
        built = framework.nn.Embedding(6, 4, None, None, 2.0, False, False, None, False, "cpu",
                                       framework.float64)
        assert built.weight.dtype == framework.float64
    ours, theirs = ts.tensor(weight), torch.tensor(weight)
    out = F.embedding(ts.tensor([[2, 0]]), ours, 0, 1.0, 1.0, True, False)
    expected = TF.embedding(torch.tensor([[2, 0]]), theirs, 0, 1.0, 1.0, True, False)
    assert_close(out.numpy(), expected.numpy(), atol=1e-12, rtol=1e-12)
    assert_close(ours.numpy(), theirs.numpy(), atol=1e-12, rtol=1e-12)
    out = F.embedding(input=ts.tensor([3]), weight=ours)
    assert_close(out.numpy(), weight[[3]])


def test_keywords_still_build_the_module():
    weight = ts.ones(3, 2, dtype=ts.float64)
    frozen = nn.Embedding(3, 2, padding_idx=1, _weight=weight, _freeze=True)
    assert not frozen.weight.requires_grad and np.shares_memory(frozen.weight.numpy(),
                                                               weight.numpy())
    built = nn.Embedding(3, 2, max_norm=2.0, device="cpu", dtype=ts.float64)
    assert built.weight.dtype == ts.float64 and built.max_norm == 2.0
    assert (built.norm_type, built.scale_grad_by_freq, built.sparse) == (2.0, False, False)


@pytest.mark.parametrize("kwargs, text", [
    ({}, "Embedding(6, 4)"),
    (dict(padding_idx=1, max_norm=1.5), "Embedding(6, 4, padding_idx=1, max_norm=1.5)"),
    (dict(max_norm=2.0, norm_type=1.0), "Embedding(6, 4, max_norm=2.0, norm_type=1.0)"),
    (dict(norm_type=INF, scale_grad_by_freq=True),
     "Embedding(6, 4, norm_type=inf, scale_grad_by_freq=True)"),
    (dict(norm_type=2.0, scale_grad_by_freq=False), "Embedding(6, 4)"),
])
def test_extra_repr_shows_what_is_not_default_as_torch(kwargs, text):
    assert repr(nn.Embedding(6, 4, **kwargs)) == text
    if torch is not None:
        assert repr(torch.nn.Embedding(6, 4, **kwargs)) == text
    module = nn.Embedding(6, 4, **kwargs)
    module.sparse = True
    assert repr(module) == text[:-1] + ", sparse=True)"


# --- errors: named, and raised before anything changes ----------------------------------------
def functional(**options):
    return lambda ids, w: F.embedding(ids, w, **options)


FUNCTIONAL_ERRORS = [
    (dict(max_norm="1"), TypeError, r"embedding: max_norm must be a real number, got '1' \(str\)"),
    (dict(max_norm=True), TypeError, r"embedding: max_norm must be a real number, got True"),
    (dict(max_norm=ts.tensor(1.0)), TypeError, r"embedding: max_norm must be a real number"),
    (dict(max_norm=-1.0), ValueError, r"embedding: max_norm must be >= 0.0, got -1.0"),
    (dict(max_norm=math.nan), ValueError, r"embedding: max_norm must be >= 0.0, got nan"),
    (dict(max_norm=1.0, norm_type="2"), TypeError,
     r"embedding: norm_type must be a real number, got '2' \(str\)"),
    (dict(max_norm=1.0, norm_type=False), TypeError,
     r"embedding: norm_type must be a real number, got False"),
    (dict(max_norm=1.0, norm_type=math.nan), ValueError,
     r"embedding: norm_type must be a number, got nan"),
    (dict(max_norm=1.0, scale_grad_by_freq=1), TypeError,
     r"embedding: scale_grad_by_freq must be True or False, got 1"),
    (dict(max_norm=1.0, sparse=None), TypeError,
     r"embedding: sparse must be True or False, got None"),
    (dict(max_norm=1.0, sparse=True), ValueError,
     r"embedding: sparse=True is not supported: tinyseq has no sparse gradients"),
    (dict(max_norm=1.0, padding_idx=1.5), TypeError,
     r"embedding: padding_idx must be an int, got 1.5"),
    (dict(max_norm=1.0, padding_idx=6), IndexError,
     r"embedding: padding_idx 6 is outside \[0, 6\)"),
    (dict(max_norm=1.0, padding_idx=-7), IndexError,
     r"embedding: padding_idx -7 is outside \[0, 6\)"),
]


@pytest.mark.parametrize("options, error, message", FUNCTIONAL_ERRORS)
def test_functional_errors_name_the_op_and_change_nothing(options, error, message):
    weight = ts.tensor(table(2.0), requires_grad=True)
    before = weight.numpy().copy()
    with pytest.raises(error, match=message):
        F.embedding(ts.tensor([1, 3]), weight, **options)
    np.testing.assert_array_equal(weight.numpy(), before)
    assert weight._version == 0


@pytest.mark.parametrize("call, error, message", [
    (lambda w: F.embedding(np.array([1, 6]), w, max_norm=1.0), IndexError,
     r"embedding: ids must be in \[0, 6\), got values from 1 to 6"),
    (lambda w: F.embedding(np.array([1.0]), w, max_norm=1.0), TypeError,
     r"embedding: ids must be integers, got dtype float64"),
    (lambda w: F.embedding(np.array([1]), w[0], max_norm=1.0), ValueError,
     r"embedding: weight must be 2-D \(num_embeddings, embedding_dim\), got shape \(4,\)"),
])
def test_bad_ids_or_weight_refused_before_the_renorm(call, error, message):
    weight = ts.tensor(table(2.0))
    before = weight.numpy().copy()
    with pytest.raises(error, match=message):
        call(weight)
    np.testing.assert_array_equal(weight.numpy(), before)
    assert weight._version == 0


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Embedding(6, 4, sparse=True), ValueError,
     r"Embedding: sparse=True is not supported: tinyseq has no sparse gradients"),
    (lambda: nn.Embedding(6, 4, None, "cpu"), TypeError,
     r"Embedding: max_norm must be a real number, got 'cpu' \(str\)"),
    (lambda: nn.Embedding(6, 4, max_norm=-0.5), ValueError,
     r"Embedding: max_norm must be >= 0.0, got -0.5"),
    (lambda: nn.Embedding(6, 4, norm_type=None), TypeError,
     r"Embedding: norm_type must be a real number, got None"),
    (lambda: nn.Embedding(6, 4, scale_grad_by_freq="yes"), TypeError,
     r"Embedding: scale_grad_by_freq must be True or False, got 'yes'"),
    (lambda: nn.Embedding.from_pretrained(ts.ones(6, 4), max_norm=False), TypeError,
     r"Embedding: max_norm must be a real number, got False"),
    (lambda: nn.Embedding.from_pretrained(ts.ones(6, 4), norm_type=math.nan), ValueError,
     r"Embedding: norm_type must be a number, got nan"),
])
def test_module_errors_name_the_op_and_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_sparse_set_after_construction_is_refused_at_forward_before_any_change():
    embeddings = ts.tensor(table(2.0))
    before = embeddings.numpy().copy()
    with pytest.raises(ValueError, match=r"Embedding: sparse=True is not supported"):
        nn.Embedding.from_pretrained(embeddings, max_norm=1.0, sparse=True)
    module = nn.Embedding.from_pretrained(embeddings, max_norm=1.0)
    module.sparse = True
    with pytest.raises(ValueError, match=r"embedding: sparse=True is not supported"):
        module(ts.tensor([1, 3]))
    np.testing.assert_array_equal(embeddings.numpy(), before)
    assert module.weight._version == 0


@needs_torch
def test_torch_takes_negative_max_norm_as_a_sign_flip_which_is_refused_here():
    """PyTorch scales a picked row by max_norm / (norm + 1e-7) < 0 (it flips the row); here
    max_norm must be >= 0."""
    weight = torch.tensor([[3.0, 4.0]])
    TF.embedding(torch.tensor([0]), weight, max_norm=-1.0)
    assert (weight < 0).all()
    with pytest.raises(ValueError, match="embedding: max_norm must be >= 0.0, got -1.0"):
        F.embedding(ts.tensor([0]), ts.tensor([[3.0, 4.0]]), max_norm=-1.0)

"""PyTorch's tail, third batch: F.normalize, F.cosine_similarity, F.pairwise_distance,
F.scaled_dot_product_attention, float16 draws of randn and rand, the *_like functions' dtype=,
device= and requires_grad= keywords, and optim.Adagrad. Each is checked against PyTorch as the
oracle (values and gradients in float64, dtypes, shapes, which calls it refuses) and the
differentiable ones against finite differences; errors name the function and the shapes."""
import math

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import creation, optim
from tinyseq import random as ts_random
from test_device_standin import StandinArray, standin  # noqa: F401  (the stand-in device)
from test_tensor_tail import both_raise, gradchecked, pair, same, same_grads

torch = pytest.importorskip("torch")
TF = torch.nn.functional

torch.set_num_threads(1)  # tiny tensors: PyTorch's thread pool only adds waiting

_rng = np.random.default_rng(53)
INF = math.inf


def values(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, size=shape)


def with_small_rows(array, scales):
    """``array`` (rows on dim 0) with row i scaled by scales[i] (0 makes a zero vector)."""
    array = array.copy()
    for i, scale in enumerate(scales):
        array[i] *= scale
    return array


# --- F.normalize ------------------------------------------------------------------------------
NORMALIZE_CASES = [((3, 4), {}), ((3, 4), dict(p=1, dim=0)), ((2, 3, 4), dict(p=3, dim=(1, 2))),
                   ((2, 3), dict(p=INF)), ((5,), dict(dim=0)), ((), dict(dim=0)),
                   ((2, 3), dict(dim=-1, eps=0.5)), ((2, 0), {}), ((2, 3), dict(p=0.5))]


@pytest.mark.parametrize("shape, kwargs", NORMALIZE_CASES)
def test_normalize_values_and_gradients_as_pytorch(shape, kwargs):
    same_grads(lambda x: F.normalize(x, **kwargs), lambda x: TF.normalize(x, **kwargs),
               values(*shape))
    if 0 not in shape:
        gradchecked(lambda x: F.normalize(x, **kwargs), values(*shape))


def test_normalize_of_zero_and_tiny_vectors_as_pytorch():
    """Rows whose norm is below eps are divided by eps: values and gradients as PyTorch's."""
    rows = with_small_rows(values(4, 3), [0.0, 1e-14, 1e-11, 1.0])
    same_grads(lambda x: F.normalize(x), lambda x: TF.normalize(x), rows)
    got = F.normalize(ts.tensor(rows)).numpy()
    np.testing.assert_array_equal(got[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(got[1], rows[1] / 1e-12)
    np.testing.assert_allclose(np.linalg.norm(got[2:], axis=1), [1.0, 1.0])


def test_normalize_keeps_float32():
    ours, theirs = pair(values(3, 4).astype(np.float32))
    same(F.normalize(ours, dim=0), TF.normalize(theirs, dim=0))


def test_normalize_errors():
    x, tx = pair(values(3))
    both_raise(lambda: F.normalize(x), lambda: TF.normalize(tx), ValueError,
               r"normalize: axis 1 is out of range for a tensor with 1 dimensions "
               r"\(shape \(3,\)\)")
    i, ti = pair(np.array([1, 2]))
    both_raise(lambda: F.normalize(i, dim=0), lambda: TF.normalize(ti, dim=0), TypeError,
               "normalize: input must be floating point, got dtype int64")
    with pytest.raises(TypeError, match="normalize: expected a Tensor, got list"):
        F.normalize([1.0, 2.0])
    with pytest.raises(TypeError, match="normalize: p must be a real number, got 'two'"):
        F.normalize(x, p="two", dim=0)


# --- F.cosine_similarity ----------------------------------------------------------------------
COSINE_CASES = [((4, 3), (4, 3), 1), ((4, 1, 3), (5, 3), -1), ((1, 3), (4, 3), 0),
                ((3,), (3,), 0), ((), (), 0), ((2, 3, 4), (3, 1), 1), ((2, 0), (2, 0), 1),
                ((2, 3), (1,), 0)]


@pytest.mark.parametrize("shape1, shape2, dim", COSINE_CASES)
def test_cosine_similarity_values_and_gradients_as_pytorch(shape1, shape2, dim):
    """The inputs broadcast, and a dim along which one of them is broadcast counts its
    repeats in that one's norm, as PyTorch's."""
    same_grads(lambda a, b: F.cosine_similarity(a, b, dim),
               lambda a, b: TF.cosine_similarity(a, b, dim), values(*shape1), values(*shape2))
    if 0 not in shape1:
        gradchecked(lambda a, b: F.cosine_similarity(a, b, dim), values(*shape1),
                    values(*shape2))


@pytest.mark.parametrize("scales1, scales2", [
    ([0.0, 1e-10, 1e-9, 1.0], [1.0, 1.0, 1.0, 1.0]),
    ([0.0, 1e-10, 1.0, 1e-12], [0.0, 1e-11, 1e-12, 1.0]),
])
def test_cosine_similarity_near_zero_vectors_as_pytorch(scales1, scales2):
    """Norms below eps are raised to eps, and the gradient is the unclamped norm's (PyTorch
    clamps under no_grad): near and at zero, values and gradients are PyTorch's."""
    x1 = with_small_rows(values(4, 3), scales1)
    x2 = with_small_rows(values(4, 3), scales2)
    same_grads(lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b),
               x1, x2)


def test_cosine_similarity_eps_clamps_each_norm_not_their_product():
    """With eps = 2 and norms 1 and 3, each norm is clamped on its own: x1 . x2 / (2 * 3);
    a clamped product would give x1 . x2 / 3."""
    x1, x2 = np.array([[1.0, 0.0]]), np.array([[3.0, 0.0]])
    ours = F.cosine_similarity(ts.tensor(x1), ts.tensor(x2), eps=2.0)
    np.testing.assert_allclose(ours.numpy(), [0.5])
    same_grads(lambda a, b: F.cosine_similarity(a, b, eps=2.0),
               lambda a, b: TF.cosine_similarity(a, b, eps=2.0), values(3, 2) * 0.5,
               values(3, 2))


def test_cosine_similarity_dtypes_as_pytorch():
    ints, tints = pair(np.array([[1, 2, 3]]))
    floats, tfloats = pair(values(1, 3).astype(np.float32))
    same(F.cosine_similarity(ints, floats), TF.cosine_similarity(tints, tfloats))
    same(F.cosine_similarity(floats, floats), TF.cosine_similarity(tfloats, tfloats))
    both_raise(lambda: F.cosine_similarity(ints, ints),
               lambda: TF.cosine_similarity(tints, tints), TypeError,
               "cosine_similarity: expected floating point inputs .* got dtypes int64 "
               "and int64")


def test_cosine_similarity_errors():
    a, ta = pair(values(4, 3))
    b, tb = pair(values(5, 3))
    both_raise(lambda: F.cosine_similarity(a, b), lambda: TF.cosine_similarity(ta, tb),
               ValueError, r"cosine_similarity: x1 of shape \(4, 3\) and x2 of shape "
                           r"\(5, 3\) do not broadcast")
    both_raise(lambda: F.cosine_similarity(a, a, dim=2),
               lambda: TF.cosine_similarity(ta, ta, dim=2), ValueError,
               r"cosine_similarity: axis 2 is out of range .* \(shape \(4, 3\)\)")
    v, tv = pair(values(3))
    both_raise(lambda: F.cosine_similarity(v, v), lambda: TF.cosine_similarity(tv, tv),
               ValueError, r"cosine_similarity: axis 1 is out of range .* \(shape \(3,\)\)")
    with pytest.raises(TypeError, match="cosine_similarity: dim must be an int, got 1.0"):
        F.cosine_similarity(a, a, dim=1.0)
    with pytest.raises(TypeError, match="cosine_similarity: expected a Tensor, got list"):
        F.cosine_similarity(a, [1.0, 2.0, 3.0])


# --- F.pairwise_distance ----------------------------------------------------------------------
PAIRWISE_SHAPES = [((4, 3), (4, 3)), ((4, 3), (3,)), ((2, 4, 3), (4, 3)), ((3,), (3,)),
                   ((), ()), ((), (3,)), ((4, 1), (4, 3)), ((4, 0), (4, 0))]


@pytest.mark.parametrize("p", [2.0, 1, 3.5, INF, 0.5, 0])
@pytest.mark.parametrize("shape1, shape2", PAIRWISE_SHAPES)
def test_pairwise_distance_values_and_gradients_as_pytorch(shape1, shape2, p):
    if 0 in shape1 and p == INF:    # the largest of no differences: refused by both
        a, ta = pair(values(*shape1))
        both_raise(lambda: F.pairwise_distance(a, a, p=p),
                   lambda: TF.pairwise_distance(ta, ta, p=p), ValueError,
                   r"cannot take the inf norm over an empty dim of shape \(4, 0\)")
        return
    for keepdim in (False, True):
        same_grads(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
                   lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim),
                   values(*shape1), values(*shape2))
    if 0 not in shape1 and p != 0:
        gradchecked(lambda a, b: F.pairwise_distance(a, b, p=p), values(*shape1),
                    values(*shape2))


def test_pairwise_distance_adds_eps_to_the_difference_as_pytorch():
    x = values(3, 4)
    same_grads(lambda a, b: F.pairwise_distance(a, b), lambda a, b: TF.pairwise_distance(a, b),
               x, x.copy())
    got = F.pairwise_distance(ts.tensor(x), ts.tensor(x), eps=0.5).numpy()
    np.testing.assert_allclose(got, [1.0, 1.0, 1.0])         # ||(0.5, 0.5, 0.5, 0.5)||
    ints, tints = pair(np.array([[1, 2], [3, 5]]))
    same(F.pairwise_distance(ints, ints[:1]), TF.pairwise_distance(tints, tints[:1]))


def test_pairwise_distance_errors():
    a, ta = pair(values(4, 3))
    b, tb = pair(values(5, 3))
    both_raise(lambda: F.pairwise_distance(a, b), lambda: TF.pairwise_distance(ta, tb),
               ValueError, r"pairwise_distance: x1 of shape \(4, 3\) and x2 of shape "
                           r"\(5, 3\) do not broadcast")
    with pytest.raises(TypeError, match="pairwise_distance: keepdim must be True or False"):
        F.pairwise_distance(a, a, keepdim=1)
    with pytest.raises(TypeError, match="pairwise_distance: p must be a real number"):
        F.pairwise_distance(a, a, p="fro")


# --- F.scaled_dot_product_attention -----------------------------------------------------------
def attention(**kwargs):
    """tinyseq's and PyTorch's attention on float64 leaves, with ``kwargs`` (masks given as
    arrays become each one's tensor; a float mask is a leaf too)."""
    def call(sdpa, tensor):
        def run(q, k, v, *mask):
            options = dict(kwargs)
            if "attn_mask" in options:
                options["attn_mask"] = mask[0] if mask else tensor(options["attn_mask"])
            return sdpa(q, k, v, **options)
        return run
    return (call(F.scaled_dot_product_attention, ts.tensor),
            call(TF.scaled_dot_product_attention, torch.tensor))


_FULLY_MASKED = np.ones((4, 5), dtype=bool)
_FULLY_MASKED[1] = False                      # query 1 sees no key
_FULLY_MASKED[2, ::2] = False
ATTENTION_CASES = {
    "4-d": ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}),
    "2-d": ((4, 8), (5, 8), (5, 6), {}),
    "3-d": ((3, 4, 8), (3, 5, 8), (3, 5, 2), {}),
    "broadcast batch": ((3, 4, 8), (2, 1, 5, 8), (2, 3, 5, 6), {}),
    "value batch broadcast": ((2, 3, 4, 8), (2, 3, 5, 8), (5, 6), {}),
    "causal": ((2, 4, 8), (2, 4, 8), (2, 4, 3), dict(is_causal=True)),
    "causal L < S": ((2, 4, 8), (2, 5, 8), (2, 5, 3), dict(is_causal=True)),
    "causal L > S": ((6, 8), (5, 8), (5, 3), dict(is_causal=True)),
    "bool mask": ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), dict(attn_mask=_FULLY_MASKED)),
    "bool mask broadcast": ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6),
                            dict(attn_mask=_rng.random((3, 1, 5)) > 0.3)),
    "scale": ((2, 4, 8), (2, 5, 8), (2, 5, 3), dict(scale=0.7)),
    "negative scale": ((2, 4, 8), (2, 5, 8), (2, 5, 3), dict(scale=-0.3)),
    "zero scale": ((4, 8), (5, 8), (5, 3), dict(scale=0.0)),
    "gqa": ((2, 6, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), dict(enable_gqa=True)),
    "gqa 1 head": ((2, 4, 4, 8), (2, 1, 5, 8), (2, 1, 5, 6), dict(enable_gqa=True)),
    "gqa equal heads": ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), dict(enable_gqa=True)),
    "E = 0": ((4, 0), (3, 0), (3, 2), {}),
    "S = 0": ((4, 2), (0, 2), (0, 3), {}),
    "L = 0": ((0, 2), (3, 2), (3, 3), {}),
}


@pytest.mark.parametrize("name", ATTENTION_CASES)
def test_attention_values_and_gradients_as_pytorch(name):
    q, k, v, kwargs = ATTENTION_CASES[name]
    ours, theirs = attention(**kwargs)
    same_grads(ours, theirs, values(*q), values(*k), values(*v))


def test_attention_with_a_float_mask_as_pytorch_gradient_to_the_mask_too():
    mask = values(3, 1, 5)
    mask[0, 0, 2] = -INF
    mask[1] = -INF                              # every key hidden from batch 1's queries
    ours, theirs = attention(attn_mask=None)
    same_grads(ours, theirs, values(2, 3, 4, 8), values(2, 3, 5, 8), values(2, 3, 5, 6), mask)


def test_attention_gives_a_query_that_sees_no_key_zeros_with_zero_gradients():
    """PyTorch 2's attention: zeros (not NaN) for such a query, and no gradient through it."""
    arrays = values(4, 8), values(5, 8), values(5, 6)
    for mask in (ts.tensor(_FULLY_MASKED), ts.tensor(np.where(_FULLY_MASKED, 0.0, -INF))):
        q, k, v = (ts.tensor(a, requires_grad=True) for a in arrays)
        with np.errstate(all="raise"):          # no NaN made on the way
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            out.sum().backward()
        assert out.numpy()[1].tolist() == [0.0] * 6
        assert np.all(out.numpy()[[0, 2, 3]] != 0)
        assert q.grad.numpy()[1].tolist() == [0.0] * 8
        assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))


def test_attention_is_finite_differences_exact():
    mask = ts.tensor(_FULLY_MASKED[:, :4])
    gradchecked(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                values(4, 3), values(4, 3), values(4, 2))
    gradchecked(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                values(2, 3, 3), values(2, 3, 3), values(1, 3, 2))


def test_attention_in_float32_and_float16_as_pytorch():
    arrays = values(2, 4, 8), values(2, 5, 8), values(2, 5, 6)
    for dtype, rtol in ((np.float32, 1e-5), (np.float16, 2e-2)):
        ours = [ts.tensor(a.astype(dtype)) for a in arrays]
        theirs = [torch.tensor(a.astype(dtype)) for a in arrays]
        got = F.scaled_dot_product_attention(*ours, is_causal=True)
        expected = TF.scaled_dot_product_attention(*theirs, is_causal=True)
        same(got, expected, rtol=rtol, atol=rtol)


def test_attention_dropout_is_tinyseqs_seeded_dropout_on_the_weights():
    q, k, v = ts.tensor(values(2, 4, 8)), ts.tensor(values(2, 5, 8)), ts.tensor(values(2, 5, 6))
    ts.manual_seed(3)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    ts.manual_seed(3)
    weights = (q @ k.transpose(-2, -1) / math.sqrt(8)).softmax(-1)
    np.testing.assert_allclose(dropped.numpy(), (F.dropout(weights, 0.4) @ v).numpy(),
                               rtol=1e-6, atol=1e-6)
    ts.manual_seed(3)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).numpy(),
                                  dropped.numpy())
    plain = F.scaled_dot_product_attention(q, k, v)
    assert not np.allclose(dropped.numpy(), plain.numpy())
    everything = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert everything.numpy().tolist() == np.zeros((2, 4, 6)).tolist()


def test_attention_with_dropout_trains_through_the_kept_weights():
    q = ts.tensor(values(4, 8), requires_grad=True)
    k, v = ts.tensor(values(5, 8)), ts.tensor(values(5, 6))
    ts.manual_seed(9)
    F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).sum().backward()
    assert np.isfinite(q.grad.numpy()).all() and q.grad.numpy().any()


ATTENTION_ERRORS = [
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                         attn_mask=q.new_ones(4, 5).bool()),
     ValueError, "give attn_mask or is_causal=True, not both"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q[0, 0, 0], k, v), ValueError,
     r"expected query \(\.\.\., L, E\), key \(\.\.\., S, E\) and value \(\.\.\., S, Ev\) of at "
     r"least 2 dims, got query \(8,\), key \(2, 3, 5, 8\) and value \(2, 3, 5, 6\)"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q.float(), k, v), TypeError,
     "expected query, key and value of one floating dtype, got float32, float64 and float64"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q.long(), k.long(), v.long()),
     TypeError, "of one floating dtype, got int64, int64 and int64"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k[..., :7], v), ValueError,
     r"of one E and one S, got query \(2, 3, 4, 8\), key \(2, 3, 5, 7\)"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v[..., :4, :]), ValueError,
     r"of one E and one S, got .* value \(2, 3, 4, 6\)"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q[:, :2], k, v), ValueError,
     r"the batch dims of query \(2, 2, 4, 8\) and key \(2, 3, 5, 8\) do not broadcast"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v[:, :2]), ValueError,
     r"the batch dims of query .*, key .* and value \(2, 2, 5, 6\) do not broadcast"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v,
                                                         attn_mask=q.new_ones(4, 5).long()),
     TypeError, "attn_mask must be bool .* or floating .*, got dtype int64"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v,
                                                         attn_mask=q.new_ones(4, 4).bool()),
     ValueError, r"attn_mask of shape \(4, 4\) and the attention weights \(\.\.\., L, S\) "
                 r"\(2, 3, 4, 5\) do not broadcast"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v,
                                                         attn_mask=q.new_ones(1, 2, 3, 4, 5)),
     ValueError, r"attn_mask of shape \(1, 2, 3, 4, 5\) does not broadcast to the attention "
                 r"weights' shape \(\.\.\., L, S\) \(2, 3, 4, 5\)"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q, k, v, dropout_p=1.5), ValueError,
     r"dropout_p must be in \[0, 1\], got 1.5"),
    (lambda fw, q, k, v: fw.scaled_dot_product_attention(q[:, :2], k, v, enable_gqa=True),
     ValueError, "the 3 key and 3 value heads must divide the 2 query heads"),
]


class _WithDropout:
    """F, with dropout_p=0.5 in every attention call that gives none."""

    @staticmethod
    def scaled_dot_product_attention(*args, **kwargs):
        return F.scaled_dot_product_attention(*args, **{"dropout_p": 0.5, **kwargs})


@pytest.mark.parametrize("call, error, match", ATTENTION_ERRORS)
def test_attention_errors_as_pytorch_before_drawing(call, error, match):
    """PyTorch refuses each too; ours names the function and the shapes, and is raised before
    the dropout draws anything."""
    arrays = values(2, 3, 4, 8), values(2, 3, 5, 8), values(2, 3, 5, 6)
    with pytest.raises(Exception):
        call(TF, *(torch.tensor(a) for a in arrays))
    with pytest.raises(error, match="scaled_dot_product_attention: (.* )?" + match):
        call(F, *(ts.tensor(a) for a in arrays))
    ts.manual_seed(1)
    state = ts_random.get_state()
    with pytest.raises(error, match=match):
        call(_WithDropout, *(ts.tensor(a) for a in arrays))
    assert ts_random.get_state() == state


def test_attention_refuses_what_pytorch_lets_through():
    """Deliberately stricter than PyTorch: a negative dropout_p (PyTorch ignores it) and
    enable_gqa on inputs without a heads dim (PyTorch fails inside)."""
    q, k, v = ts.tensor(values(4, 8)), ts.tensor(values(5, 8)), ts.tensor(values(5, 6))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: dropout_p must be in "
                                         r"\[0, 1\], got -0.5"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=-0.5)
    with pytest.raises(ValueError, match=r"enable_gqa needs heads \(\.\.\., H, L, E\), got "
                                         r"query \(4, 8\)"):
        F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    with pytest.raises(TypeError, match="is_causal must be True or False"):
        F.scaled_dot_product_attention(q, k, v, is_causal=1)


# --- float16 draws ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["randn", "rand"])
def test_float16_draws_are_the_float32_draws_rounded_and_reproducible(name):
    draw = getattr(ts, name)
    ts.manual_seed(21)
    half = draw(3, 400, dtype=ts.float16)
    again = draw(3, 400, dtype=ts.half)
    ts.manual_seed(21)
    np.testing.assert_array_equal(draw(3, 400, dtype=ts.float16).numpy(), half.numpy())
    ts.manual_seed(21)
    single = draw(3, 400, dtype=ts.float32).numpy()
    assert half.dtype == ts.float16 and tuple(half.shape) == (3, 400)
    np.testing.assert_array_equal(half.numpy()[single < 0.999], single[single < 0.999]
                                  .astype(np.float16))
    assert not np.array_equal(half.numpy(), again.numpy())


def test_float16_rand_stays_below_one():
    """float32 draws within 2**-12 of 1 round to 1.0 in float16; they become the largest
    float16 below 1 instead, so rand keeps to [0, 1) as PyTorch's."""
    ts.manual_seed(0)
    draws = ts.rand(400_000, dtype=ts.float16).numpy()
    largest = np.nextafter(np.float16(1), np.float16(0))
    assert draws.max() == largest and draws.min() >= 0
    assert abs(draws.mean() - 0.5) < 0.01


def test_float16_draws_requires_grad_and_device(standin):  # noqa: F811
    x = ts.randn(2, 3, dtype=ts.float16, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    ts.manual_seed(4)
    on_device = ts.rand(5, dtype=ts.float16, device="standin")
    ts.manual_seed(4)
    on_cpu = ts.rand(5, dtype=ts.float16)
    assert type(on_device.array) is StandinArray
    np.testing.assert_array_equal(on_device.numpy(), on_cpu.numpy())


@pytest.mark.parametrize("call", [lambda fw: fw.randn(2, dtype=fw.int64),
                                  lambda fw: fw.rand(2, dtype=fw.bool),
                                  lambda fw: fw.rand(2, dtype=fw.int32)])
def test_random_floats_refuse_other_dtypes_before_drawing(call):
    with pytest.raises(Exception):
        call(torch)
    state = ts_random.get_state()
    with pytest.raises(TypeError, match=r"(randn|rand): not implemented for dtype \w+, as in "
                                        r"PyTorch; the samples need a floating dtype"):
        call(ts)
    assert ts_random.get_state() == state


# --- the *_like functions' keywords -----------------------------------------------------------
def outcome(call, framework):
    """("ok", shape, dtype, requires_grad) of ``call(framework)``, or "error"."""
    try:
        result = call(framework)
    except Exception:                   # noqa: BLE001  (only whether PyTorch refuses matters)
        return "error"
    return ("ok", tuple(result.shape), str(result.dtype).split(".")[-1], result.requires_grad)


LIKE_CALLS = [
    lambda fw: fw.zeros_like(fw.ones(2, 3), dtype=fw.float64),
    lambda fw: fw.zeros_like(fw.ones(2, dtype=fw.int64), dtype=fw.float32, requires_grad=True),
    lambda fw: fw.zeros_like(fw.ones(2), device="cpu", requires_grad=True),
    lambda fw: fw.zeros_like(fw.ones(2), dtype=fw.int64, requires_grad=True),
    lambda fw: fw.zeros_like(fw.ones(2), fw.float64),
    lambda fw: fw.zeros_like([1.0, 2.0]),
    lambda fw: fw.zeros_like(input=fw.ones(2)),
    lambda fw: fw.ones_like(fw.ones(2, requires_grad=True)),
    lambda fw: fw.ones_like(fw.tensor(1.0), dtype=fw.bool, device="cpu"),
    lambda fw: fw.full_like(fw.ones(2, dtype=fw.int64), 2.7),
    lambda fw: fw.full_like(fw.ones(2), 3, dtype=fw.int32, device="cpu"),
    lambda fw: fw.full_like(fw.ones(2), True),
    lambda fw: fw.full_like(fw.ones(2), 1.5, requires_grad=True),
    lambda fw: fw.full_like(fw.ones(2), 1.5, fw.float64),
    lambda fw: fw.empty_like(fw.ones(2, 3), dtype=fw.float16, device="cpu"),
    lambda fw: fw.rand_like(fw.ones(2, 3), device="cpu", requires_grad=True),
    lambda fw: fw.rand_like(fw.ones(2, dtype=fw.float16)),
    lambda fw: fw.rand_like(fw.ones(2, dtype=fw.int64)),
    lambda fw: fw.rand_like(fw.ones(2), dtype=fw.bool),
    lambda fw: fw.rand_like(fw.ones(2, dtype=fw.int64), dtype=fw.float64),
    lambda fw: fw.randn_like(fw.ones(2, 3), dtype=fw.float16, device="cpu"),
    lambda fw: fw.randn_like(fw.ones(2), dtype=fw.int64),
    lambda fw: fw.randn_like(fw.ones(0, 2), requires_grad=True),
    lambda fw: fw.randint_like(fw.ones(2), 5, device="cpu", dtype=fw.int16),
]


@pytest.mark.parametrize("call", LIKE_CALLS)
def test_like_functions_take_pytorchs_keywords(call):
    assert outcome(call, ts) == outcome(call, torch)


def test_like_functions_fill_as_pytorch():
    ints, tints = pair(np.array([4, 5, 6]))
    same(ts.full_like(ints, 2.7), torch.full_like(tints, 2.7))
    same(ts.full_like(ints, 2.7, dtype=ts.float64), torch.full_like(tints, 2.7,
                                                                     dtype=torch.float64))
    same(ts.zeros_like(ints, dtype=ts.float32), torch.zeros_like(tints, dtype=torch.float32))
    same(ts.ones_like(ints, device="cpu"), torch.ones_like(tints, device="cpu"))
    same(ts.empty_like(ints, dtype=ts.bool), torch.zeros_like(tints, dtype=torch.bool))


def test_like_functions_follow_and_take_the_device(standin):  # noqa: F811
    on_cpu = ts.ones(2, 3)
    on_device = ts.ones(2, 3, device="standin")
    for make in (ts.zeros_like, ts.ones_like, ts.empty_like, ts.rand_like, ts.randn_like,
                 lambda t, **kw: ts.full_like(t, 2.0, **kw)):
        for made in (make(on_device), make(on_cpu, device="standin")):
            assert type(made.array) is StandinArray and made.device == "standin"
            assert made.shape == (2, 3) and made.dtype == ts.float32
        back = make(on_device, device="cpu", dtype=ts.float64)
        assert type(back.array) is np.ndarray and back.dtype == ts.float64
    assert ts.full_like(on_device, 2.0).numpy().tolist() == [[2.0] * 3] * 2


@pytest.mark.parametrize("name", ["rand_like", "randn_like"])
def test_random_like_draws_are_the_plain_draws_under_a_seed(name, standin):  # noqa: F811
    like = getattr(ts, name)
    plain = getattr(ts, name[:-len("_like")])
    for dtype in (ts.float32, ts.float64, ts.float16):
        ts.manual_seed(8)
        drawn = like(ts.zeros(3, 4, dtype=dtype))
        ts.manual_seed(8)
        np.testing.assert_array_equal(drawn.numpy(), plain(3, 4, dtype=dtype).numpy())
        ts.manual_seed(8)
        on_device = like(ts.zeros(3, 4, dtype=dtype), device="standin")
        np.testing.assert_array_equal(on_device.numpy(), drawn.numpy())
    grown = like(ts.zeros(2), dtype=ts.float64, requires_grad=True)
    assert grown.requires_grad and grown.is_leaf and grown.dtype == ts.float64


def test_like_functions_are_the_exported_ones():
    for name in ("zeros_like", "ones_like", "full_like", "rand_like", "randn_like",
                 "empty_like", "randint_like"):
        assert getattr(ts, name) is getattr(creation, name)


# --- optim.Adagrad ----------------------------------------------------------------------------
ADAGRAD_CONFIGS = {
    "defaults": dict(),
    "decays": dict(lr=0.1, lr_decay=0.05, weight_decay=0.1),
    "initial": dict(lr=0.05, initial_accumulator_value=0.3, eps=1e-6),
    "maximize": dict(lr=0.05, maximize=True, weight_decay=0.2, lr_decay=0.01),
}


def adagrad_pair(kwargs, groups=None):
    """Adagrad of tinyseq and of PyTorch on the same float64 parameters (a matrix, a vector
    and a 0-d one), in one group or as ``groups`` gives them ([(indices, options)])."""
    arrays = [values(3, 2), values(2), np.array(0.7)]
    ours = [ts.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if groups is not None:
        def grouped(params):
            return [{"params": [params[i] for i in indices], **options}
                    for indices, options in groups]
        ours, theirs = grouped(ours), grouped(theirs)
    return (arrays_of(ours), arrays_of(theirs), optim.Adagrad(ours, **kwargs),
            torch.optim.Adagrad(theirs, **kwargs))


def arrays_of(params):
    """The parameters of a list of parameters or of groups, in order."""
    if params and isinstance(params[0], dict):
        return [p for group in params for p in group["params"]]
    return params


def step_both(ours, theirs, opt, topt, steps, rng):
    for _ in range(steps):
        for p, tp in zip(ours, theirs):
            grad = rng.standard_normal(tuple(p.shape))
            p.grad, tp.grad = ts.tensor(grad), torch.tensor(grad)
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ADAGRAD_CONFIGS)
def test_adagrad_matches_pytorch_step_by_step(name):
    ours, theirs, opt, topt = adagrad_pair(ADAGRAD_CONFIGS[name])
    before = [p.numpy().copy() for p in ours]
    step_both(ours, theirs, opt, topt, 6, np.random.default_rng(2))
    assert all(not np.allclose(p.numpy(), b) for p, b in zip(ours, before))
    assert all(opt.state[p]["step"] == 6 for p in ours)


def test_adagrad_groups_as_pytorch_including_its_initial_accumulator_rule():
    """Each group's lr and decays apply; the sums start at the constructor's
    initial_accumulator_value, a group's own one being unused, as in PyTorch."""
    groups = [([0], dict(lr=0.2, lr_decay=0.1, initial_accumulator_value=5.0)),
              ([1, 2], dict(weight_decay=0.3))]
    ours, theirs, opt, topt = adagrad_pair(dict(lr=0.05, initial_accumulator_value=0.5), groups)
    assert opt.state[ours[0]]["sum"].tolist() == [[0.5, 0.5]] * 3
    step_both(ours, theirs, opt, topt, 5, np.random.default_rng(3))


def test_adagrad_state_is_made_with_the_optimizer_as_pytorchs():
    ours, theirs, opt, topt = adagrad_pair(dict(initial_accumulator_value=0.25))
    saved, tsaved = opt.state_dict(), topt.state_dict()
    assert sorted(saved["state"]) == sorted(tsaved["state"]) == [0, 1, 2]
    for index, entry in tsaved["state"].items():
        assert set(saved["state"][index]) == set(entry) == {"step", "sum"}
        assert saved["state"][index]["step"] == entry["step"].item() == 0
        np.testing.assert_array_equal(saved["state"][index]["sum"].numpy(), entry["sum"].numpy())
    assert {k: v for k, v in saved["param_groups"][0].items()} == \
        {k: tsaved["param_groups"][0][k] for k in saved["param_groups"][0]}


def test_adagrad_parameters_added_later_start_their_state_as_pytorchs():
    ours, theirs, opt, topt = adagrad_pair(dict(initial_accumulator_value=0.1))
    extra = values(4)
    later, tlater = ts.tensor(extra, requires_grad=True), torch.tensor(extra, requires_grad=True)
    opt.add_param_group({"params": [later], "lr": 0.3})
    topt.add_param_group({"params": [tlater], "lr": 0.3})
    assert later not in opt.state
    step_both(ours + [later], theirs + [tlater], opt, topt, 3, np.random.default_rng(4))


def test_adagrad_state_dict_round_trip_continues_identically(tmp_path):
    kwargs = ADAGRAD_CONFIGS["maximize"]
    ours, theirs, opt, topt = adagrad_pair(kwargs)
    rng = np.random.default_rng(5)
    step_both(ours, theirs, opt, topt, 3, rng)
    ts.save({"params": [p.detach() for p in ours], "opt": opt.state_dict()}, tmp_path / "s")
    saved = ts.load(tmp_path / "s")
    resumed = [ts.tensor(p.numpy(), requires_grad=True) for p in saved["params"]]
    resumed_opt = optim.Adagrad(resumed, lr=1.0)      # the saved hyperparameters replace these
    resumed_opt.load_state_dict(saved["opt"])
    assert resumed_opt.param_groups[0]["lr"] == 0.05 and resumed_opt.state[resumed[0]]["step"] == 3
    grads = [[rng.standard_normal(tuple(p.shape)) for p in ours] for _ in range(3)]
    for step_grads in grads:
        for group in (ours, resumed):
            for p, grad in zip(group, step_grads):
                p.grad = ts.tensor(grad)
        opt.step()
        resumed_opt.step()
    for p, q in zip(ours, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_adagrad_loads_pytorchs_state_dict_and_continues_as_pytorch():
    ours, theirs, opt, topt = adagrad_pair(ADAGRAD_CONFIGS["decays"])
    rng = np.random.default_rng(6)
    for _ in range(2):
        for tp in theirs:
            tp.grad = torch.tensor(rng.standard_normal(tuple(tp.shape)))
        topt.step()
    tsaved = topt.state_dict()
    opt.load_state_dict({
        "state": {i: {"step": entry["step"].item(), "sum": ts.tensor(entry["sum"].numpy())}
                  for i, entry in tsaved["state"].items()},
        "param_groups": tsaved["param_groups"]})
    for p, tp in zip(ours, theirs):
        with ts.no_grad():
            p.copy_(ts.tensor(tp.detach().numpy()))
    step_both(ours, theirs, opt, topt, 3, rng)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-0.1), "lr must be >= 0.0"),
    (dict(lr_decay=-0.1), "lr_decay must be >= 0.0, got -0.1"),
    (dict(weight_decay=-1), "weight_decay must be >= 0.0, got -1"),
    (dict(initial_accumulator_value=-0.5), "initial_accumulator_value must be >= 0.0, got -0.5"),
    (dict(eps=-1e-10), "eps must be >= 0.0, got -1e-10"),
])
def test_adagrad_refuses_what_pytorch_refuses(kwargs, message):
    with pytest.raises(ValueError):
        torch.optim.Adagrad([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="Adagrad: " + message):
        optim.Adagrad([ts.zeros(2, requires_grad=True)], **kwargs)


def test_adagrad_refuses_wrong_types_and_bad_loads_without_changing():
    with pytest.raises(TypeError, match="Adagrad: maximize must be True or False"):
        optim.Adagrad([ts.zeros(2, requires_grad=True)], maximize="yes")
    with pytest.raises(TypeError, match="Adagrad: lr_decay must be a real number"):
        optim.Adagrad([ts.zeros(2, requires_grad=True)], lr_decay="0.1")
    ours, theirs, opt, topt = adagrad_pair({})
    step_both(ours, theirs, opt, topt, 1, np.random.default_rng(7))
    good = opt.state_dict()
    for broken in ({**good, "param_groups": [{**good["param_groups"][0], "lr_decay": -1}]},
                   {**good, "state": {**good["state"], 0: {"step": 1}}},
                   {**good, "state": {**good["state"], 0: {"step": 1, "sum": ts.zeros(5)}}}):
        with pytest.raises(ValueError, match="Adagrad.load_state_dict"):
            opt.load_state_dict(broken)
        assert opt.state_dict()["param_groups"] == good["param_groups"]
        np.testing.assert_array_equal(opt.state[ours[0]]["sum"], good["state"][0]["sum"].numpy())


def test_adagrad_defaults_are_pytorchs():
    ours = optim.Adagrad([ts.zeros(2, requires_grad=True)]).defaults
    theirs = torch.optim.Adagrad([torch.zeros(2, requires_grad=True)]).defaults
    assert ours == {k: theirs[k] for k in ours}


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
def test_softmax_of_an_empty_dim_is_empty_as_pytorchs(function):
    x = ts.zeros(2, 0, requires_grad=True)
    y = getattr(ts, function)(x, -1)
    assert y.shape == (2, 0) and y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.shape == (2, 0)
    assert getattr(ts, function)(ts.randn(0, 3), -1).shape == (0, 3)

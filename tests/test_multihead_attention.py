"""nn.MultiheadAttention against PyTorch's: with weights copied from a torch module built with
the same arguments, outputs, attention weights and every gradient agree in float64; also its
state dict keys, initialisation, dropout and the errors it raises."""
import math

import numpy as np
import pytest

import tinyseq as ts
from gradcheck import assert_close, gradcheck
from tinyseq.nn.attention import MultiheadAttention

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")

E, HEADS, N, L, S = 6, 3, 2, 4, 5
RTOL, ATOL = 1e-10, 1e-12

_rng = np.random.default_rng(7)

# each query may see at least one key, so that no row of weights is NaN
PADDING = np.array([[False, False, False, True, True], [False, True, False, False, False]])
BARRED = _rng.random((L, S)) < 0.4
BARRED[:, 0] = False
BARRED_PER_HEAD = _rng.random((N * HEADS, L, S)) < 0.4
BARRED_PER_HEAD[:, :, 2] = False


def twin_modules(**kwargs):
    """A torch MultiheadAttention and a tinyseq one holding the same float64 weights."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS, dtype=torch.float64, **kwargs)
    ours = MultiheadAttention(E, HEADS, dtype=ts.float64, **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def inputs(shapes):
    """(query, key, value) arrays of ``shapes``."""
    return [_rng.standard_normal(shape) for shape in shapes]


def compare(module_kwargs, shapes, call_kwargs=None, masks=None, self_attention=False,
            arrays=None):
    """Run both modules on the same inputs (``arrays``, else new ones of ``shapes``) and masks
    (numpy arrays, by keyword), assert equal outputs and weights, then equal gradients of one
    loss w.r.t. inputs and parameters."""
    call_kwargs = call_kwargs or {}
    masks = masks or {}
    ours, theirs = twin_modules(**module_kwargs)
    if arrays is None:
        arrays = inputs(shapes[:1] if self_attention else shapes)
    our_inputs = [ts.tensor(a, requires_grad=True) for a in arrays]
    their_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if self_attention:
        our_inputs, their_inputs = our_inputs * 3, their_inputs * 3
    our_masks = {k: ts.tensor(v) for k, v in masks.items()}
    their_masks = {k: torch.tensor(v) for k, v in masks.items()}
    our_out, our_weights = ours(*our_inputs, **our_masks, **call_kwargs)
    their_out, their_weights = theirs(*their_inputs, **their_masks, **call_kwargs)

    assert our_out.shape == tuple(their_out.shape)
    assert_close(our_out, their_out.detach().numpy(), atol=ATOL, rtol=RTOL)
    if their_weights is None:
        assert our_weights is None
    else:
        assert our_weights.shape == tuple(their_weights.shape)
        assert_close(our_weights, their_weights.detach().numpy(), atol=ATOL, rtol=RTOL)

    out_grad = _rng.standard_normal(our_out.shape)
    our_loss = (our_out * ts.tensor(out_grad)).sum()
    their_loss = (their_out * torch.tensor(out_grad)).sum()
    if their_weights is not None:
        weights_grad = _rng.standard_normal(our_weights.shape)
        our_loss = our_loss + (our_weights * ts.tensor(weights_grad)).sum()
        their_loss = their_loss + (their_weights * torch.tensor(weights_grad)).sum()
    our_loss.backward()
    their_loss.backward()
    for ours_x, theirs_x in zip(our_inputs[:len(arrays)], their_inputs[:len(arrays)]):
        assert_close(ours_x.grad, theirs_x.grad.numpy(), atol=ATOL, rtol=RTOL)
    their_parameters = dict(theirs.named_parameters())
    our_parameters = dict(ours.named_parameters())
    assert list(our_parameters) == list(their_parameters)
    for name, p in our_parameters.items():
        assert p.grad is not None, name
        assert_close(p.grad, their_parameters[name].grad.numpy(), atol=ATOL, rtol=RTOL)
    return our_out, our_weights


SEQ_FIRST = [(L, N, E), (S, N, E), (S, N, E)]
BATCH_FIRST = [(N, L, E), (N, S, E), (N, S, E)]
UNBATCHED = [(L, E), (S, E), (S, E)]


@needs_torch
@pytest.mark.parametrize("module_kwargs, shapes, call_kwargs, masks", [
    ({}, SEQ_FIRST, {}, {}),
    ({"batch_first": True}, BATCH_FIRST, {}, {}),
    ({"batch_first": True}, BATCH_FIRST, {"need_weights": False}, {"key_padding_mask": PADDING}),
    ({}, UNBATCHED, {}, {}),
    ({"batch_first": True}, UNBATCHED, {"average_attn_weights": False},
     {"key_padding_mask": PADDING[0], "attn_mask": BARRED_PER_HEAD[:HEADS]}),
    ({"kdim": 4, "vdim": 5}, [(L, N, E), (S, N, 4), (S, N, 5)], {}, {}),
    ({"kdim": 4, "vdim": 5, "bias": False}, [(L, N, E), (S, N, 4), (S, N, 5)], {}, {}),
    ({"kdim": 4}, [(L, N, E), (S, N, 4), (S, N, E)], {"need_weights": False}, {}),
    ({"bias": False}, SEQ_FIRST, {}, {}),
    ({"add_bias_kv": True}, SEQ_FIRST, {}, {}),
    ({"add_zero_attn": True}, SEQ_FIRST, {}, {}),
    ({"add_bias_kv": True, "add_zero_attn": True}, SEQ_FIRST, {"average_attn_weights": False},
     {"key_padding_mask": PADDING, "attn_mask": BARRED}),
    ({"add_bias_kv": True, "add_zero_attn": True}, SEQ_FIRST, {"need_weights": False},
     {"key_padding_mask": PADDING, "attn_mask": BARRED_PER_HEAD}),
    ({}, SEQ_FIRST, {}, {"key_padding_mask": PADDING}),
    ({}, SEQ_FIRST, {}, {"key_padding_mask": _rng.standard_normal((N, S))}),
    ({}, SEQ_FIRST, {}, {"attn_mask": BARRED}),
    ({}, SEQ_FIRST, {}, {"attn_mask": _rng.standard_normal((L, S))}),
    ({}, SEQ_FIRST, {}, {"attn_mask": BARRED_PER_HEAD}),
    ({}, SEQ_FIRST, {}, {"attn_mask": _rng.standard_normal((N * HEADS, L, S))}),
    ({}, SEQ_FIRST, {}, {"attn_mask": BARRED, "key_padding_mask": PADDING}),
    ({}, SEQ_FIRST, {"need_weights": False}, {"attn_mask": BARRED}),
    ({}, SEQ_FIRST, {"need_weights": False},
     {"attn_mask": _rng.standard_normal((N * HEADS, L, S)),
      "key_padding_mask": _rng.standard_normal((N, S))}),
    ({}, SEQ_FIRST, {"average_attn_weights": False}, {"attn_mask": BARRED_PER_HEAD}),
    ({"batch_first": True}, BATCH_FIRST, {"average_attn_weights": False, "need_weights": False},
     {}),
])
def test_matches_pytorch(module_kwargs, shapes, call_kwargs, masks):
    compare(module_kwargs, shapes, call_kwargs, masks)


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_with_one_tensor_matches_pytorch(batch_first):
    # PyTorch projects a query that is also key and value with one matmul
    shapes = BATCH_FIRST if batch_first else SEQ_FIRST
    compare({"batch_first": batch_first}, [shapes[0]], self_attention=True,
            masks={"attn_mask": BARRED[:, :L]})


@needs_torch
@pytest.mark.parametrize("need_weights, padding", [(False, False), (True, False), (False, True)])
def test_is_causal_follows_pytorch(need_weights, padding):
    # the hint replaces attn_mask only when no weights and no key padding are asked for; this
    # attn_mask is not causal, so the two cases differ
    masks = {"attn_mask": BARRED[:, :L]}
    if padding:
        masks["key_padding_mask"] = PADDING[:, :L]
    arrays = inputs([(L, N, E), (L, N, E), (L, N, E)])
    out, _ = compare({}, None, {"is_causal": True, "need_weights": need_weights}, masks,
                     arrays=arrays)
    plain, _ = compare({}, None, {"need_weights": need_weights}, masks, arrays=arrays)
    assert np.allclose(out.numpy(), plain.numpy()) == (need_weights or padding)


@needs_torch
@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("need_weights", [True, False])
def test_a_query_that_sees_no_key_as_pytorch(need_weights):
    # every key padded in batch 0: PyTorch gives NaN with the weights, zeros without them
    ours, theirs = twin_modules()
    query, key, value = inputs(SEQ_FIRST)
    padding = PADDING.copy()
    padding[0] = True
    our_out, our_weights = ours(ts.tensor(query), ts.tensor(key), ts.tensor(value),
                                key_padding_mask=ts.tensor(padding), need_weights=need_weights)
    their_out, their_weights = theirs(torch.tensor(query), torch.tensor(key),
                                      torch.tensor(value), need_weights=need_weights,
                                      key_padding_mask=torch.tensor(padding))
    np.testing.assert_allclose(our_out.numpy(), their_out.detach().numpy(), rtol=RTOL,
                               atol=ATOL, equal_nan=True)
    assert np.isnan(our_out.numpy()[:, 0]).all() == need_weights
    assert np.isfinite(our_out.numpy()[:, 1]).all()
    if need_weights:
        np.testing.assert_allclose(our_weights.numpy(), their_weights.detach().numpy(),
                                   rtol=RTOL, atol=ATOL, equal_nan=True)


@needs_torch
@pytest.mark.parametrize("module_kwargs", [
    {}, {"bias": False}, {"add_bias_kv": True}, {"kdim": 4, "vdim": 5},
    {"kdim": 4, "add_bias_kv": True, "bias": False, "add_zero_attn": True},
])
def test_state_dict_keys_and_shapes_equal_pytorch(module_kwargs):
    theirs = torch.nn.MultiheadAttention(E, HEADS, **module_kwargs)
    ours = MultiheadAttention(E, HEADS, **module_kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(t.shape) for t in ours.state_dict().values()] == \
        [tuple(t.shape) for t in theirs.state_dict().values()]
    assert repr(ours) == repr(theirs)
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                 "in_proj_bias", "bias_k", "bias_v"):
        assert (getattr(ours, name) is None) == (getattr(theirs, name) is None), name
    for name in ("embed_dim", "kdim", "vdim", "_qkv_same_embed_dim", "num_heads", "dropout",
                 "batch_first", "head_dim", "add_zero_attn"):
        assert getattr(ours, name) == getattr(theirs, name), name


def test_initialisation_as_pytorch():
    embed_dim = 64
    module = MultiheadAttention(embed_dim, 4, add_bias_kv=True, dtype=ts.float64)
    weight = module.in_proj_weight.numpy()
    bound = math.sqrt(6 / (embed_dim + 3 * embed_dim))           # xavier_uniform on (3E, E)
    assert weight.shape == (3 * embed_dim, embed_dim)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert np.all(module.in_proj_bias.numpy() == 0)
    assert np.all(module.out_proj.bias.numpy() == 0)
    out_weight = module.out_proj.weight.numpy()                   # Linear's: U(+-1/sqrt(E))
    assert 0.9 / math.sqrt(embed_dim) < np.abs(out_weight).max() <= 1 / math.sqrt(embed_dim)
    biases = np.concatenate([module.bias_k.numpy().ravel(), module.bias_v.numpy().ravel()])
    assert module.bias_k.shape == module.bias_v.shape == (1, 1, embed_dim)
    assert 0.7 < biases.std() * math.sqrt(embed_dim) < 1.3       # xavier_normal: std 1/sqrt(E)

    separate = MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert separate.in_proj_weight is None
    assert separate.k_proj_weight.shape == (8, 3) and separate.v_proj_weight.shape == (8, 5)
    assert np.abs(separate.k_proj_weight.numpy()).max() <= math.sqrt(6 / 11)
    assert separate.q_proj_weight.dtype == ts.get_default_dtype()


def test_dtype_argument_and_seeded_initialisation():
    ts.manual_seed(3)
    first = MultiheadAttention(E, HEADS, dtype=ts.float32)
    ts.manual_seed(3)
    second = MultiheadAttention(E, HEADS, dtype=ts.float64)
    for (name, a), b in zip(first.named_parameters(), second.parameters()):
        assert a.dtype == ts.float32 and b.dtype == ts.float64, name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_dropout_drops_weights_in_training_only():
    module = MultiheadAttention(E, HEADS, dropout=0.5, dtype=ts.float64)
    query, key, value = (ts.tensor(a) for a in inputs(SEQ_FIRST))
    module.eval()
    _, kept = module(query, key, value, average_attn_weights=False)
    _, kept_again = module(query, key, value, average_attn_weights=False)
    assert_close(kept, kept_again, atol=0, rtol=0)
    module.train()
    _, dropped = module(query, key, value, average_attn_weights=False)
    dropped, kept = dropped.numpy(), kept.numpy()
    zeroed = dropped == 0
    assert 0.3 < zeroed.mean() < 0.7
    # the weights kept are scaled by 1 / (1 - p)
    np.testing.assert_allclose(dropped[~zeroed], 2 * kept[~zeroed], rtol=1e-12)

    ts.manual_seed(5)
    out, none = module(query, key, value, need_weights=False)
    ts.manual_seed(5)
    same, _ = module(query, key, value, need_weights=False)
    assert none is None
    assert_close(out, same, atol=0, rtol=0)
    module.eval()
    eval_out, _ = module(query, key, value, need_weights=False)
    assert not np.allclose(out.numpy(), eval_out.numpy())


def test_gradcheck_small_case():
    module = MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, dtype=ts.float64)
    with ts.no_grad():
        for p in module.parameters():   # nonzero biases, so their gradients are tested too
            p.copy_(ts.tensor(_rng.standard_normal(p.shape)))
    query, key, value = (ts.tensor(a, requires_grad=True)
                         for a in inputs([(2, 2, 4), (3, 2, 4), (3, 2, 4)]))
    padding = ts.tensor(np.array([[False, False, True], [False, False, False]]))
    barred = ts.tensor(np.array([[False, True, False], [False, False, False]]))

    def attend(query, key, value, *parameters):
        out, weights = module(query, key, value, key_padding_mask=padding, attn_mask=barred,
                              average_attn_weights=False)
        return ts.cat([out.reshape(-1), weights.reshape(-1)])

    assert gradcheck(attend, [query, key, value, *module.parameters()])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"embed_dim": 6, "num_heads": 4}, ValueError, "embed_dim 6 must be divisible by num_heads 4"),
    ({"embed_dim": 0, "num_heads": 1}, ValueError, "embed_dim must be a positive int"),
    ({"embed_dim": 4, "num_heads": 2, "kdim": 0}, ValueError, "kdim must be a positive int"),
    ({"embed_dim": 4, "num_heads": 2, "dropout": 1.5}, ValueError, r"dropout must be in \[0, 1\]"),
    ({"embed_dim": 4, "num_heads": 2, "batch_first": 1}, TypeError, "batch_first must be True"),
    ({"embed_dim": 4, "num_heads": 2, "dtype": ts.int64}, RuntimeError, "floating point"),
])
def test_constructor_errors_draw_nothing(kwargs, error, match):
    with pytest.raises(error, match="MultiheadAttention: .*" + match):
        MultiheadAttention(**kwargs)
    # the failed constructor drew no parameters: the generator is where seed 0 left it
    after_failure = ts.rand(3).numpy()
    ts.manual_seed(0)
    np.testing.assert_array_equal(after_failure, ts.rand(3).numpy())


def _call(module, shapes, **kwargs):
    query, key, value = (ts.zeros(*shape) for shape in shapes)
    return module(query, key, value, **kwargs)


@pytest.mark.parametrize("shapes, kwargs, error, match", [
    ([(L, E), (S, N, E), (S, N, E)], {}, ValueError,
     r"all 3-D \(L, N, E\) \(batched\) or all 2-D \(L, E\) \(unbatched\), got query \(4, 6\), "
     r"key \(5, 2, 6\)"),
    ([(E,), (E,), (E,)], {}, ValueError, r"got query \(6,\)"),
    ([(L, N, E), (S, N, 4), (S, N, E)], {}, ValueError,
     r"embed_dim 6, kdim 6 and vdim 6, got query \(4, 2, 6\), key \(5, 2, 4\)"),
    ([(L, N, E), (S, N, E), (S + 1, N, E)], {}, ValueError, "one source length S"),
    ([(L, N, E), (S, N + 1, E), (S, N + 1, E)], {}, ValueError, r"one batch size N \(dim 1\)"),
    (SEQ_FIRST, {"key_padding_mask": np.zeros((S, N), bool)}, ValueError,
     r"key_padding_mask must have shape \(N, S\) = \(2, 5\) .*got \(5, 2\)"),
    (UNBATCHED, {"key_padding_mask": np.zeros((1, S), bool)}, ValueError,
     r"key_padding_mask must have shape \(S,\) = \(5,\) .*got \(1, 5\)"),
    (SEQ_FIRST, {"attn_mask": np.zeros((S, L), bool)}, ValueError,
     r"attn_mask must have shape \(L, S\) = \(4, 5\) or \(N \* num_heads, L, S\) = "
     r"\(6, 4, 5\) .* and 3 heads, got \(5, 4\)"),
    (SEQ_FIRST, {"attn_mask": np.zeros((N, L, S), bool)}, ValueError, r"got \(2, 4, 5\)"),
    (SEQ_FIRST, {"attn_mask": np.zeros((L, S), np.int64)}, TypeError,
     "attn_mask must be bool .* got dtype int64"),
    (SEQ_FIRST, {"key_padding_mask": np.zeros((N, S), np.int64)}, TypeError,
     "key_padding_mask must be bool"),
    (SEQ_FIRST, {"is_causal": True}, RuntimeError, "is_causal=True .* needs that attn_mask"),
    (SEQ_FIRST, {"need_weights": "yes"}, TypeError, "need_weights must be True or False"),
])
def test_forward_errors(shapes, kwargs, error, match):
    module = MultiheadAttention(E, HEADS)
    with pytest.raises(error, match="MultiheadAttention: .*" + match):
        _call(module, shapes, **{k: ts.tensor(v) if isinstance(v, np.ndarray) else v
                                 for k, v in kwargs.items()})


def test_forward_errors_for_inputs_that_are_not_float_tensors():
    module = MultiheadAttention(E, HEADS)
    query = ts.zeros(L, N, E)
    with pytest.raises(TypeError, match="MultiheadAttention: key must be a Tensor, got list"):
        module(query, [[0.0]], query)
    with pytest.raises(TypeError, match="MultiheadAttention: expected query, key and value of "
                                        "one floating dtype, got float32, float64 and float32"):
        module(query, query.double(), query)


def test_unbatched_output_shapes_ignore_batch_first():
    module = MultiheadAttention(E, HEADS, batch_first=True)
    out, weights = _call(module, UNBATCHED, average_attn_weights=False)
    assert out.shape == (L, E) and weights.shape == (HEADS, L, S)
    out, weights = _call(module, [(N, L, E), (N, S, E), (N, S, E)])
    assert out.shape == (N, L, E) and weights.shape == (N, L, S)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1.0, rtol=1e-6)

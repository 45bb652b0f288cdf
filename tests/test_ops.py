"""Every differentiable op: forward values against NumPy (and PyTorch when it is installed),
gradients against finite differences (float64)."""
import warnings

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import assert_close, gradcheck

_rng = np.random.default_rng(1234)


def leaf(*shape, low=-2.0, high=2.0, away_from_zero=False):
    """A float64 leaf that requires grad, uniform in [low, high) (|x| >= 0.2 if asked)."""
    values = _rng.uniform(low, high, size=shape)
    if away_from_zero:
        values = np.sign(values + (values == 0)) * (0.2 + np.abs(values))
    return ts.tensor(values, dtype=ts.float64, requires_grad=True)


def positive(*shape):
    return leaf(*shape, low=0.5, high=2.0)


# --- elementwise binary ops, with broadcasting ---------------------------------------------
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 3, 4), (3, 1)), ((), (2, 3)),
                    ((2, 1, 4), (1, 3, 1))]
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, np.power),
}


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_op_values_and_grads(name, shapes):
    op, reference = BINARY[name]
    a = positive(*shapes[0]) if name == "pow" else leaf(*shapes[0])
    b = leaf(*shapes[1], away_from_zero=True)
    out = op(a, b)
    assert out.shape == np.broadcast_shapes(*shapes)
    assert_close(out, reference(a.numpy(), b.numpy()))
    gradcheck(op, [a, b])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_op_with_python_number_on_either_side(name):
    op, reference = BINARY[name]
    x = leaf(3, away_from_zero=True)
    assert_close(op(x, 2.5), reference(x.numpy(), 2.5))
    assert_close(op(2.5, x), reference(2.5, x.numpy()))
    assert op(x, 2.5).dtype == np.float64
    gradcheck(lambda x: op(x, 2.5) + op(2.5, x), [x])


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 0])
def test_pow_scalar_exponent(exponent):
    x = positive(2, 3)
    assert_close(x ** exponent, x.numpy() ** exponent)
    gradcheck(lambda x: x ** exponent, [x])


def test_pow_tensor_exponent_and_rpow():
    a, b = positive(3, 2), leaf(3, 2)
    gradcheck(lambda a, b: a ** b, [a, b])
    x = leaf(4)
    assert_close(2.0 ** x, 2.0 ** x.numpy())
    gradcheck(lambda x: 2.0 ** x, [x])
    assert_close((2.0 ** x).numpy(), 2.0 ** x.numpy())


def test_neg():
    x = leaf(2, 3)
    assert_close(-x, -x.numpy())
    gradcheck(lambda x: -x, [x])


def test_tensor_used_twice_in_one_expression():
    x = leaf(3, 4)
    gradcheck(lambda x: x * x + x, [x])
    gradcheck(lambda x: x @ x.T, [x])
    x.grad = None
    (x * x + x).sum().backward()
    assert_close(x.grad, 2 * x.numpy() + 1)


# --- elementwise unary ops -----------------------------------------------------------------
UNARY = {
    "exp": (lambda x: x.exp(), np.exp, leaf),
    "log": (lambda x: x.log(), np.log, positive),
    "tanh": (lambda x: x.tanh(), np.tanh, leaf),
    "sigmoid": (lambda x: x.sigmoid(), lambda v: 1 / (1 + np.exp(-v)), leaf),
    "relu": (lambda x: x.relu(), lambda v: np.maximum(v, 0), leaf),
    "sin": (lambda x: x.sin(), np.sin, leaf),
    "cos": (lambda x: x.cos(), np.cos, leaf),
    "abs": (lambda x: x.abs(), np.abs, leaf),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, positive),
}


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_op_values_and_grads(name, shape):
    op, reference, make = UNARY[name]
    x = make(*shape, away_from_zero=True) if make is leaf else make(*shape)
    assert_close(op(x), reference(x.numpy()))
    gradcheck(op, [x])


@pytest.mark.parametrize("name", UNARY)
def test_unary_function_form_matches_method(name):
    x = positive(4)
    assert_close(getattr(ts, name)(x), getattr(x, name)())


def test_relu_and_abs_gradient_at_and_around_zero():
    x = ts.tensor([-1.0, 0.0, 2.0], dtype=ts.float64, requires_grad=True)
    (x.relu() + x.abs()).sum().backward()
    assert_close(x.grad, [0.0 - 1.0, 0.0, 1.0 + 1.0])


# --- matmul ----------------------------------------------------------------------------------
MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,)),
                 ((4,), (2, 4, 3)), ((3, 4), (2, 4, 5))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_values_and_grads(shapes):
    a, b = leaf(*shapes[0]), leaf(*shapes[1])
    out = a @ b
    assert_close(out, np.matmul(a.numpy(), b.numpy()))
    assert_close(ts.matmul(a, b), out)
    gradcheck(lambda a, b: a @ b, [a, b])


def test_matmul_against_torch_batched_broadcast():
    torch = pytest.importorskip("torch")
    a, b = leaf(2, 1, 3, 4), leaf(5, 4, 2)
    (a @ b).sum().backward()
    ta = torch.tensor(a.numpy(), requires_grad=True)
    tb = torch.tensor(b.numpy(), requires_grad=True)
    (ta @ tb).sum().backward()
    assert_close(a.grad, ta.grad.numpy())
    assert_close(b.grad, tb.grad.numpy())


# --- reductions ------------------------------------------------------------------------------
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "amax"])
def test_reduction_values_and_grads(name, axis, keepdims):
    x = leaf(2, 3, 4)
    op = lambda x: getattr(x, name)(axis=axis, keepdims=keepdims)
    # NumPy as the oracle, but for axis=(): PyTorch reduces every axis there, NumPy none
    expected = getattr(np, name)(x.numpy(), axis=None if axis == () else axis,
                                 keepdims=keepdims)
    assert op(x).shape == expected.shape
    assert_close(op(x), expected)
    gradcheck(op, [x])


def test_max_shares_gradient_among_ties():
    x = ts.tensor([1.0, 3.0, 3.0], dtype=ts.float64, requires_grad=True)
    x.max().backward()
    assert_close(x.grad, [0.0, 0.5, 0.5])


def test_sum_of_0d_tensor():
    x = leaf()
    gradcheck(lambda x: x.sum() * 3, [x])


# --- shape ops -------------------------------------------------------------------------------
SHAPE_OPS = {
    "reshape(-1)": (lambda x: x.reshape(-1), lambda v: v.reshape(-1)),
    "reshape(4,-1)": (lambda x: x.reshape(4, -1), lambda v: v.reshape(4, -1)),
    "reshape((3,8))": (lambda x: x.reshape((3, 8)), lambda v: v.reshape(3, 8)),
    "permute(2,0,1)": (lambda x: x.permute(2, 0, 1), lambda v: v.transpose(2, 0, 1)),
    "permute(-1,0,1)": (lambda x: x.permute(-1, 0, 1), lambda v: v.transpose(2, 0, 1)),
    "transpose(0,2)": (lambda x: x.transpose(0, 2), lambda v: v.swapaxes(0, 2)),
    ".T": (lambda x: x.T, lambda v: v.T),
    "swapaxes(0,2)": (lambda x: x.swapaxes(0, 2), lambda v: v.swapaxes(0, 2)),
    "swapaxes(-1,1)": (lambda x: x.swapaxes(-1, 1), lambda v: v.swapaxes(-1, 1)),
    "unsqueeze(0)": (lambda x: x.unsqueeze(0), lambda v: v[None]),
    "unsqueeze(-1)": (lambda x: x.unsqueeze(-1), lambda v: v[..., None]),
    "unsqueeze(1)": (lambda x: x.unsqueeze(1), lambda v: v[:, None]),
    "expand": (lambda x: x[:, :1, :].expand(5, 2, 3, 4), lambda v: np.broadcast_to(v[:, :1], (5, 2, 3, 4))),
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_op_values_and_grads(name):
    op, reference = SHAPE_OPS[name]
    x = leaf(2, 3, 4)
    assert_close(op(x), reference(x.numpy()))
    assert op(x).shape == reference(x.numpy()).shape
    gradcheck(op, [x])


def test_squeeze_all_and_one_axis():
    x = leaf(1, 3, 1, 2)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2)
    assert x.squeeze(-2).shape == (1, 3, 2)
    assert x.squeeze(1).shape == (1, 3, 1, 2)  # size 3: left as it is, as in PyTorch
    gradcheck(lambda x: x.squeeze(), [x])
    gradcheck(lambda x: x.squeeze(2), [x])


def test_expand_from_broadcastable_shape():
    x = leaf(3, 1)
    out = x.expand(2, 3, 4)
    assert_close(out, np.broadcast_to(x.numpy(), (2, 3, 4)))
    gradcheck(lambda x: x.expand(2, 3, 4), [x])


# --- indexing --------------------------------------------------------------------------------
INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "negative step": slice(None, None, -1),
    "tuple of slices, step -2": (slice(None, None, -2), slice(1, None)),
    "int and slice": (slice(None), 2),
    "ellipsis": (Ellipsis, 0),
    "newaxis": (None, 1),
    "repeated int array": np.array([0, 2, 0, 0]),
    "repeated list": [1, 1, 2],
    "int tensor": ts.tensor([2, 2, 0]),
    "2-d int array": np.array([[0, 1], [1, 1]]),
    "boolean mask": np.array([True, False, True]),
    "2-d boolean mask": "mask2d",
    "arrays and slice": (np.array([0, 1, 1, 0]), slice(None), np.array([2, 2, 0, 2])),
    "slice and repeated array": (slice(1, None), np.array([3, 3, 0])),
    "mask and array": (np.array([True, False, True]), np.array([1, 1])),
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem_values_and_grads(name):
    x = leaf(3, 4, 5)
    index = INDICES[name]
    if name == "2-d boolean mask":
        index = x.numpy()[:, :, 0] > 0
    numpy_index = index.numpy() if isinstance(index, ts.Tensor) else index
    assert_close(x[index], x.numpy()[numpy_index])
    gradcheck(lambda x: x[index], [x])


def test_getitem_repeated_indices_add_up():
    x = leaf(4, 2)
    x[np.array([0, 0, 3, 0])].sum().backward()
    assert_close(x.grad, [[3, 3], [0, 0], [0, 0], [1, 1]])


# --- joining and splitting -------------------------------------------------------------------
def test_concat_values_and_grads():
    a, b, c = leaf(2, 1, 3), leaf(2, 4, 3), leaf(2, 2, 3)
    assert_close(ts.concat([a, b, c], axis=1), np.concatenate([a.numpy(), b.numpy(), c.numpy()], 1))
    gradcheck(lambda a, b, c: ts.concat([a, b, c], axis=1), [a, b, c])
    gradcheck(lambda a, c: ts.concat([a, c], axis=-2), [a, c])
    gradcheck(lambda a: ts.cat([a, a * 2], axis=0), [a])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_values_and_grads(axis):
    a, b, c = leaf(2, 3), leaf(2, 3), leaf(2, 3)
    out = ts.stack([a, b, c], axis=axis)
    assert_close(out, np.stack([a.numpy(), b.numpy(), c.numpy()], axis=axis))
    gradcheck(lambda a, b, c: ts.stack([a, b, c], axis=axis), [a, b, c])


@pytest.mark.parametrize("sections, sizes", [(3, [3, 3, 1]), ([2, 5], [2, 5]), ([0, 7], [0, 7]),
                                             (7, [7]), (10, [7])])
def test_split_sizes_values_and_grads(sections, sizes):
    x = leaf(2, 7)
    pieces = ts.split(x, sections, axis=1)
    assert [p.shape[1] for p in pieces] == sizes
    assert_close(ts.concat(list(pieces), axis=1), x.numpy())
    for k in range(len(pieces)):
        gradcheck(lambda x: ts.split(x, sections, axis=-1)[k], [x])


@pytest.mark.parametrize("length, chunks", [(6, 3), (7, 3), (6, 4), (2, 5)])
def test_chunk_sizes_match_torch_rule(length, chunks):
    x = leaf(length, 2)
    size = -(-length // chunks)
    expected = [min(size, length - s) for s in range(0, length, size)]
    pieces = ts.chunk(x, chunks)
    assert [p.shape[0] for p in pieces] == expected
    for k in range(len(pieces)):
        gradcheck(lambda x: ts.chunk(x, chunks)[k] * (k + 1), [x])


def test_split_and_chunk_against_torch():
    torch = pytest.importorskip("torch")
    values = np.arange(14.0).reshape(7, 2)
    for ours, theirs in [(ts.split(ts.tensor(values), 3), torch.split(torch.tensor(values), 3)),
                         (ts.split(ts.tensor(values), [4, 3]), torch.split(torch.tensor(values), [4, 3])),
                         (ts.chunk(ts.tensor(values), 3), torch.chunk(torch.tensor(values), 3)),
                         (ts.chunk(ts.tensor(values[:6]), 4), torch.chunk(torch.tensor(values[:6]), 4))]:
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert_close(o, t.numpy())


def test_where_values_and_grads_with_broadcasting():
    a, b = leaf(3, 4), leaf(4)
    cond = np.array([[True], [False], [True]])
    assert_close(ts.where(cond, a, b), np.where(cond, a.numpy(), b.numpy()))
    gradcheck(lambda a, b: ts.where(cond, a, b), [a, b])
    gradcheck(lambda a: ts.where(a > 0, a, 0.0), [a])
    gradcheck(lambda b: ts.where(ts.tensor(cond), 1.0, b), [b])


# --- softmax family ----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_values_and_grads(name, axis):
    x = leaf(3, 4)
    v = x.numpy()
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    expected = e / e.sum(axis=axis, keepdims=True)
    if name == "log_softmax":
        expected = np.log(expected)
    assert_close(getattr(ts, name)(x, axis=axis), expected)
    assert_close(getattr(F, name)(x, axis=axis), expected)
    assert_close(getattr(x, name)(axis), expected)
    gradcheck(lambda x: getattr(ts, name)(x, axis=axis), [x])


def test_softmax_family_against_torch():
    torch = pytest.importorskip("torch")
    x = leaf(2, 3, 4)
    for axis in (0, -1):
        assert_close(ts.softmax(x, axis), torch.softmax(torch.tensor(x.numpy()), axis).numpy())
        assert_close(ts.log_softmax(x, axis),
                     torch.log_softmax(torch.tensor(x.numpy()), axis).numpy())


def test_log_softmax_of_huge_values_is_finite_and_stable():
    v = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]])
    shifted = v - v.max(axis=-1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ts.log_softmax(ts.tensor(v), axis=-1)
        soft = ts.softmax(ts.tensor(v), axis=-1)
    assert np.isfinite(out.numpy()).all()
    assert_close(out, expected)
    assert_close(soft, np.exp(expected))


def test_sigmoid_of_huge_values_warns_nothing():
    x = ts.tensor([-1000.0, 0.0, 1000.0], dtype=ts.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    assert_close(y, [0.0, 0.5, 1.0], atol=0)
    assert_close(x.grad, [0.0, 0.25, 0.0], atol=0)


def test_relu_of_infinities():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ts.tensor([-np.inf, -1.0, np.inf]).relu()
    assert out.numpy().tolist() == [0.0, 0.0, np.inf]
    assert not np.signbit(out.numpy()).any()  # no -0.0


# --- functional ------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_values_and_grads(x_shape, bias):
    x, w = leaf(*x_shape), leaf(4, 3)
    inputs = [x, w] + ([leaf(4)] if bias else [])
    expected = x.numpy() @ w.numpy().T + (inputs[2].numpy() if bias else 0)
    out = F.linear(*inputs)
    assert out.shape == x_shape[:-1] + (4,)
    assert_close(out, expected)
    gradcheck(F.linear, inputs)


def test_linear_against_torch():
    torch = pytest.importorskip("torch")
    x, w, b = leaf(2, 4, 3), leaf(5, 3), leaf(5)
    F.linear(x, w, b).sum().backward()
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    out = torch.nn.functional.linear(tx, tw, tb)
    out.sum().backward()
    assert_close(F.linear(x, w, b), out.detach().numpy())
    for ours, theirs in [(x, tx), (w, tw), (b, tb)]:
        assert_close(ours.grad, theirs.grad.numpy())


def test_embedding_repeated_ids_values_and_grads():
    w = leaf(5, 3)
    ids = np.array([[1, 1], [4, 1]])
    out = F.embedding(ids, w)
    assert out.shape == (2, 2, 3)
    assert_close(out, w.numpy()[ids])
    gradcheck(lambda w: F.embedding(ids, w), [w])
    w.grad = None
    F.embedding(ts.tensor(ids), w).sum().backward()
    assert_close(w.grad, np.array([0, 3, 0, 0, 1])[:, None] * np.ones(3))


def test_embedding_padding_row_gets_zero_grad():
    w = leaf(5, 3)
    ids = np.array([0, 2, 2, 3])
    F.embedding(ids, w, padding_idx=2).sum().backward()
    assert_close(w.grad, np.array([1, 0, 0, 1, 0])[:, None] * np.ones(3))


def test_embedding_against_torch():
    torch = pytest.importorskip("torch")
    w = leaf(5, 3)
    ids = np.array([[0, 2], [2, 3]])
    R = np.arange(12.0).reshape(2, 2, 3)
    (F.embedding(ids, w, padding_idx=2) * ts.tensor(R)).sum().backward()
    tw = torch.tensor(w.numpy(), requires_grad=True)
    out = torch.nn.functional.embedding(torch.tensor(ids), tw, padding_idx=2)
    (out * torch.tensor(R)).sum().backward()
    assert_close(F.embedding(ids, w, padding_idx=2), out.detach().numpy())
    assert_close(w.grad, tw.grad.numpy())


def test_dropout_grad_equals_scaled_mask():
    p = 0.3
    x = leaf(20, 30, away_from_zero=True)
    ts.manual_seed(7)
    y = F.dropout(x, p, training=True)
    mask = y.numpy() != 0
    assert 0.6 < mask.mean() < 0.8
    assert_close(y, x.numpy() * mask / (1 - p))
    y.sum().backward()
    assert_close(x.grad, mask / (1 - p))
    ts.manual_seed(7)
    assert_close(F.dropout(x, p, training=True), y)  # same seed, same mask


def test_dropout_gradcheck_with_fixed_seed():
    def fn(x):
        ts.manual_seed(3)
        return F.dropout(x, 0.5, training=True)
    gradcheck(fn, [leaf(4, 5)])


def test_dropout_off_in_eval_and_for_p0_all_zero_for_p1():
    x = leaf(3, 4)
    assert_close(F.dropout(x, 0.5, training=False), x.numpy())
    assert_close(F.dropout(x, 0.0, training=True), x.numpy())
    assert_close(F.dropout(x, 1.0, training=True), np.zeros((3, 4)))


def _cross_entropy_numpy(logits, target, ignore_index, reduction):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    keep = target != ignore_index
    losses = np.where(keep, -log_probs[np.arange(len(target)), np.where(keep, target, 0)], 0.0)
    return {"none": losses, "sum": losses.sum(), "mean": losses.sum() / keep.sum()}[reduction]


@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_values_and_grads(reduction, ignore_index):
    logits = leaf(6, 4)
    target = np.array([0, 2, 3, 2, 1, ignore_index])  # ignore_index=2 drops rows 1 and 3 too
    out = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction=reduction)
    expected = _cross_entropy_numpy(logits.numpy(), target, ignore_index, reduction)
    assert out.shape == np.shape(expected)
    assert_close(out, expected)
    gradcheck(lambda x: F.cross_entropy(x, target, ignore_index=ignore_index,
                                        reduction=reduction), [logits])


def test_cross_entropy_ignored_rows_get_zero_grad():
    logits = leaf(3, 4)
    F.cross_entropy(logits, np.array([1, -100, 3])).backward()
    assert_close(logits.grad.numpy()[1], np.zeros(4))
    assert np.abs(logits.grad.numpy()[[0, 2]]).sum() > 0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_against_torch(reduction):
    torch = pytest.importorskip("torch")
    logits = leaf(5, 3)
    target = np.array([2, 0, -100, 1, 2])
    out = F.cross_entropy(logits, ts.tensor(target), reduction=reduction)
    out.backward(np.ones(out.shape))
    tl = torch.tensor(logits.numpy(), requires_grad=True)
    t_out = torch.nn.functional.cross_entropy(tl, torch.tensor(target), reduction=reduction)
    t_out.backward(torch.ones(t_out.shape, dtype=torch.float64))
    assert_close(out, t_out.detach().numpy())
    assert_close(logits.grad, tl.grad.numpy())


def test_cross_entropy_of_huge_logits_is_finite():
    logits = ts.tensor([[1000.0, 0.0], [0.0, 1000.0]], dtype=ts.float64, requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1, 1]))
    loss.backward()
    assert_close(loss, 500.0)
    assert np.isfinite(logits.grad.numpy()).all()


def test_cross_entropy_keeps_float32():
    logits = ts.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 1, 2, -100]))
    assert loss.dtype == np.float32
    loss.backward()
    assert logits.grad.dtype == np.float32


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_values_and_grads(reduction):
    pred, target = leaf(3, 4), leaf(3, 4)
    squared = (pred.numpy() - target.numpy()) ** 2
    expected = {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction]
    assert_close(F.mse_loss(pred, target, reduction=reduction), expected)
    gradcheck(lambda p, t: F.mse_loss(p, t, reduction=reduction), [pred, target])


def test_mse_loss_against_torch_with_array_target():
    torch = pytest.importorskip("torch")
    pred, target = leaf(2, 3), np.arange(6.0).reshape(2, 3)
    loss = F.mse_loss(pred, target)
    loss.backward()
    tp = torch.tensor(pred.numpy(), requires_grad=True)
    t_loss = torch.nn.functional.mse_loss(tp, torch.tensor(target))
    t_loss.backward()
    assert_close(loss, t_loss.item())
    assert_close(pred.grad, tp.grad.numpy())


# --- dtype conversion ------------------------------------------------------------------------
def test_to_dtype_is_differentiable_and_grad_keeps_leaf_dtype():
    x = ts.tensor([1.0, -2.0, 3.0], dtype=ts.float32, requires_grad=True)
    y = x.to(ts.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    assert_close(x.grad, [2.0, -4.0, 6.0])
    z = leaf(3)
    assert z.to(ts.float64) is z
    gradcheck(lambda z: z.to(ts.float32).to(ts.float64) * 3, [z], eps=1e-3, atol=1e-4, rtol=1e-4)


def test_to_integer_dtype_has_no_grad():
    x = ts.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(ts.int64)
    assert y.dtype == np.int64 and y.numpy().tolist() == [1, 2]
    assert not y.requires_grad


def test_broadcast_gradients_for_random_shapes():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis.extra.numpy import mutually_broadcastable_shapes

    @hypothesis.settings(max_examples=30, deadline=None)
    @hypothesis.given(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    def check(shapes):
        a, b = leaf(*shapes.input_shapes[0]), leaf(*shapes.input_shapes[1], away_from_zero=True)
        gradcheck(lambda a, b: a * b + a / b - b, [a, b])

    check()

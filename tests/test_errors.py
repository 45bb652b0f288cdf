"""Bad input raises ValueError / TypeError / IndexError whose message names the op and the
shapes or values involved, never a bare error from inside NumPy."""
import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F


def t(*shape):
    return ts.randn(*shape)


# --- shapes that do not fit (ValueError) ---------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: t(3, 4) @ t(5, 2), r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"),
    (lambda: ts.matmul(t(4), t(3)), r"matmul: shapes \(4,\) and \(3,\) are not aligned"),
    (lambda: t(3, 4) @ ts.tensor(2.0), r"matmul: both operands need at least one dimension"),
    (lambda: t(2, 3, 4) @ t(3, 4, 5), r"matmul: .*\(2, 3, 4\) float32, \(3, 4, 5\) float32"),
    (lambda: t(3) + t(4), r"add: .*\(3,\).*\(4,\)"),
    (lambda: t(2, 3) * t(3, 2), r"mul: .*\(2, ?3\).*\(3, ?2\)"),
    (lambda: t(2, 3) - t(4), r"sub: .*\(2, ?3\).*\(4,\)"),
    (lambda: t(2, 3).reshape(4, -1), r"reshape: cannot reshape array of size 6 .*\(2, 3\)"),
    (lambda: t(2, 3).reshape(4, 2), r"reshape: cannot reshape array of size 6 into shape \(4, ?2\)"),
    (lambda: t(2, 3).permute(0, 0), r"permute: dims \(0, 0\) are not a permutation .* \(2, 3\)"),
    (lambda: t(2, 3).permute(0, 1, 2), r"permute: dims \(0, 1, 2\) are not a permutation"),
    (lambda: t(2, 3).permute(0, 5), r"permute: dims \(0, 5\) are not a permutation"),
    (lambda: t(2, 3).transpose(1, 2), r"transpose: axis 2 is out of range"),
    (lambda: t(2, 3).swapaxes(0, 2), r"transpose: axis 2 is out of range"),
    (lambda: t(2, 3).sum(axis=2), r"sum: axis 2 is out of range for a tensor with 2 dimensions"),
    (lambda: t(2, 3).mean(axis=(0, -3)), r"mean: axis -3 is out of range"),
    (lambda: t(2, 3).max(axis=(1, 1)), r"max: repeated axis"),
    (lambda: t(2, 3).unsqueeze(3), r"unsqueeze: axis 3 is out of range for shape \(2, 3\)"),
    (lambda: t(2, 3).squeeze(2), r"squeeze: axis 2 is out of range"),
    (lambda: t(2, 3).expand(3, 3), r"\(2, ?3\).*\(3, ?3\)"),
    (lambda: t(2, 3).softmax(2), r"softmax: axis 2 is out of range"),
    (lambda: t(2, 3).log_softmax(-3), r"log_softmax: axis -3 is out of range"),
    (lambda: ts.zeros(0).max(), r"max: cannot take the max of an empty tensor of shape \(0,\)"),
    (lambda: ts.concat([t(2, 3), t(3, 2)]), r"concat: shapes \[\(2, 3\), \(3, 2\)\] differ outside axis 0"),
    (lambda: ts.concat([t(2, 3), t(2, 3, 1)], axis=1), r"concat: shapes .* differ outside axis 1"),
    (lambda: ts.concat([t(2, 3), t(2, 3)], axis=2), r"concat: axis 2 is out of range"),
    (lambda: ts.concat([]), r"concat: expected a non-empty list"),
    (lambda: ts.stack([t(2, 3), t(3, 2)]), r"stack: all tensors need one shape, got \[\(2, 3\), \(3, 2\)\]"),
    (lambda: ts.stack([t(2), t(2)], axis=3), r"stack: axis 3 is out of range"),
    (lambda: ts.split(t(2, 3), [1, 1], axis=1),
     r"split: sections \[1, 1\] do not add up to length 3 of axis 1 in shape \(2, 3\)"),
    (lambda: ts.split(t(4), 0), r"split: chunk size must be positive, got 0"),
    (lambda: ts.chunk(t(4), 0), r"chunk: chunks must be a positive int, got 0"),
    (lambda: F.linear(t(2, 3), t(4, 5)), r"linear: input of shape \(2, 3\) does not fit weight of shape \(4, 5\)"),
    (lambda: F.linear(t(2, 3), t(4, 3), t(5)), r"linear: bias of shape \(5,\) does not fit weight of shape \(4, 3\)"),
    (lambda: ts.where(t(2) > 0, t(3), 0.0), r"where: .*\(2,\).*\(3,\)"),
])
def test_shape_errors_are_value_errors_naming_op_and_shapes(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- indices out of range (IndexError) -----------------------------------------------------------
@pytest.mark.parametrize("index, message", [
    (2, r"getitem: index 2 is out of bounds for axis 0 with size 2"),
    ((0, 3), r"getitem: index 3 is out of bounds for axis 1 with size 3"),
    ((0, -4), r"getitem: index -4 is out of bounds"),
    (np.array([0, 2]), r"getitem: index 2 is out of bounds"),
    ((0, 0, 0), r"getitem: too many indices"),
    (np.array([0.5]), r"getitem: index arrays must be integer or boolean, got float64"),
])
def test_getitem_out_of_range_is_index_error(index, message):
    with pytest.raises(IndexError, match=message):
        t(2, 3)[index]


# --- losses and lookups --------------------------------------------------------------------------
def test_cross_entropy_target_out_of_range_is_index_error():
    with pytest.raises(IndexError, match=r"cross_entropy: target ids must be in \[0, 3\), got values from 0 to 3"):
        F.cross_entropy(t(2, 3), np.array([0, 3]))
    with pytest.raises(IndexError, match=r"cross_entropy: .*from -1 to"):
        F.cross_entropy(t(2, 3), np.array([-1, 0]))


def test_cross_entropy_float_targets_are_type_error():
    with pytest.raises(TypeError, match=r"cross_entropy: targets must be integer class ids, got float64"):
        F.cross_entropy(t(2, 3), np.array([0.0, 1.0]))


@pytest.mark.parametrize("logits, target", [((2, 3), (3,)), ((2, 3, 4), (2,)), ((3,), (3,)),
                                            ((2, 3), (2, 1))])
def test_cross_entropy_wrong_shapes_are_value_error(logits, target):
    with pytest.raises(ValueError, match=rf"cross_entropy: expected logits \(N, C\) and targets "
                                         rf"\(N,\), got {re_shape(logits)} and {re_shape(target)}"):
        F.cross_entropy(t(*logits), np.zeros(target, dtype=np.int64))


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_embedding_id_out_of_range_is_index_error():
    with pytest.raises(IndexError, match=r"embedding: ids must be in \[0, 5\), got values from 0 to 5"):
        F.embedding(np.array([0, 5]), t(5, 2))
    with pytest.raises(IndexError, match=r"embedding: ids must be in \[0, 5\), got values from -1"):
        F.embedding(ts.tensor([-1, 2]), t(5, 2))


def test_embedding_float_ids_are_type_error():
    with pytest.raises(TypeError, match=r"embedding: ids must be integers, got dtype float64"):
        F.embedding(np.array([0.0, 1.0]), t(5, 2))


def test_mse_loss_shape_mismatch_is_value_error():
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3,\) and target shape \(3, 1\) differ"):
        F.mse_loss(t(3), t(3, 1))


@pytest.mark.parametrize("loss", [lambda r: F.mse_loss(t(3), t(3), reduction=r),
                                  lambda r: F.cross_entropy(t(2, 3), np.array([0, 1]), reduction=r)])
def test_bad_reduction_string_is_value_error(loss):
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"):
        loss("avg")


@pytest.mark.parametrize("p", [1.5, -0.1])
def test_dropout_probability_out_of_range_is_value_error(p):
    with pytest.raises(ValueError, match=rf"dropout: probability must be in \[0, 1\], got {p}"):
        F.dropout(t(3), p, training=True)


# --- wrong types (TypeError) ---------------------------------------------------------------------
@pytest.mark.parametrize("data, message", [
    ("abc", r"tensor: cannot make a tensor from str"),
    ({"a": 1}, r"tensor: cannot make a tensor from dict"),
    ([[1, 2], [3]], r"tensor: cannot make a tensor from list"),
    (None, r"tensor: cannot make a tensor from NoneType"),
])
def test_tensor_from_non_numbers_is_type_error(data, message):
    with pytest.raises(TypeError, match=message):
        ts.tensor(data)


def test_arithmetic_with_non_numbers_is_type_error():
    x = t(3)
    with pytest.raises(TypeError, match=r"unsupported operand type str"):
        x + "a"
    with pytest.raises(TypeError, match=r"unsupported operand type NoneType"):
        None * x
    with pytest.raises(TypeError, match=r"unsupported operand type dict"):
        x @ {}


@pytest.mark.parametrize("cond", [t(3), ts.tensor([1, 0, 1])])
def test_where_with_non_boolean_condition_is_type_error(cond):
    with pytest.raises(TypeError, match=r"where: condition must be boolean, got (float32|int64)"):
        ts.where(cond, t(3), 0.0)


def test_other_type_errors():
    with pytest.raises(TypeError, match=r"sum: axis must be None, an int or a tuple of ints, got 1.0"):
        t(2, 3).sum(axis=1.0)
    with pytest.raises(TypeError, match=r"shape entries must be ints, got \(2.0, 3\)"):
        t(2, 3).reshape(2.0, 3)
    with pytest.raises(TypeError, match=r"exp: expected a Tensor, got ndarray"):
        ts.exp(np.ones(3))
    with pytest.raises(TypeError, match=r"concat: expected tensors, got ndarray"):
        ts.concat([t(2), np.ones(2)])
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor"):
        len(ts.tensor(1.0))
    with pytest.raises(TypeError, match=r"manual_seed: seed must be an int, got float"):
        ts.manual_seed(1.5)
    with pytest.raises(TypeError, match=r"set_default_dtype: expected a floating dtype, got int32"):
        ts.set_default_dtype(np.int32)


# --- converting to Python values -----------------------------------------------------------------
def test_item_on_multi_element_tensor_is_value_error():
    with pytest.raises(ValueError, match=r"item: only a tensor with one element .* got shape \(2, 3\)"):
        t(2, 3).item()
    assert ts.tensor([[2.5]]).item() == 2.5


def test_truth_value_of_multi_element_tensor_is_value_error():
    with pytest.raises(ValueError, match=r"truth value of a tensor of shape \(2, 3\) is ambiguous"):
        bool(t(2, 3))


# --- errors change nothing -----------------------------------------------------------------------
def test_failed_op_leaves_grads_and_graph_alone():
    x = ts.randn(2, 3, requires_grad=True)
    (x * 2).sum().backward()
    before = x.grad.numpy().copy()
    with pytest.raises(ValueError):
        x @ t(2, 3)
    with pytest.raises(IndexError):
        F.cross_entropy(x, np.array([0, 7]))
    np.testing.assert_array_equal(x.grad.numpy(), before)

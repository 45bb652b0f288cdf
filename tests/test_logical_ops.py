"""`& | ^ ~` and logical_and / or / xor / not, as PyTorch's: logical on bool tensors (masks),
bitwise on integer ones, PyTorch's result dtypes with Python numbers on either side, no
gradient; a float tensor is refused with a hint. Also the Tensor methods isclose, allclose,
equal, is_contiguous, contiguous and element_size.

  * PyTorch as the oracle (skipped without torch): values and dtypes over bool, int64 and
    mixed operands, broadcasting and numbers.
  * Without torch: truth tables, a padding mask built the PyTorch way, and the errors.
"""
import numpy as np
import pytest

import tinyseq as ts

BOOL_A = np.array([[True, False, True, False]])
BOOL_B = np.array([[True], [False]])                      # broadcasts to (2, 4)
INT_A = np.array([5, 3, -2, 0])
INT_B = np.array([3, 6, 7, -1])

EXPRESSIONS = ["a & b", "a | b", "a ^ b", "~a", "a & 1", "1 | a", "True ^ a", "a & True",
               "a.bitwise_and(b)", "a.bitwise_or(b)", "a.bitwise_xor(b)", "a.bitwise_not()",
               "lib.bitwise_and(a, b)", "lib.bitwise_or(a, b)", "lib.bitwise_xor(a, b)",
               "lib.bitwise_not(a)", "lib.logical_and(a, b)", "lib.logical_or(a, b)",
               "lib.logical_xor(a, b)", "lib.logical_not(a)", "a.logical_and(b)",
               "a.logical_or(b)", "a.logical_xor(b)", "a.logical_not()"]
OPERANDS = {"bool": (BOOL_A, BOOL_B), "int": (INT_A, INT_B), "mixed": (BOOL_A[0], INT_B)}


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("kind", list(OPERANDS))
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_matches_torch(torch, kind, expression):
    a, b = OPERANDS[kind]
    theirs = eval(expression, {"lib": torch, "a": torch.tensor(a), "b": torch.tensor(b)})
    ours = eval(expression, {"lib": ts, "a": ts.tensor(a), "b": ts.tensor(b)})
    assert ours.tolist() == theirs.tolist()
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_take_any_dtypes_as_torch(torch, name):
    floats = np.array([0.5, 0.0, -1.0, np.nan])
    theirs = getattr(torch, name)(torch.tensor(floats), torch.tensor(INT_A))
    ours = getattr(ts, name)(ts.tensor(floats), ts.tensor(INT_A))
    assert ours.tolist() == theirs.tolist() and ours.dtype == ts.bool


# --- without torch ----------------------------------------------------------------------------

def test_truth_tables():
    a, b = ts.tensor([True, True, False, False]), ts.tensor([True, False, True, False])
    assert (a & b).tolist() == [True, False, False, False]
    assert (a | b).tolist() == [True, True, True, False]
    assert (a ^ b).tolist() == [False, True, True, False]
    assert (~a).tolist() == [False, False, True, True]
    assert (~ts.tensor([0, 5, -1])).tolist() == [-1, -6, 0]          # two's complement


def test_a_padding_mask_the_pytorch_way_has_no_gradient():
    x = ts.randn(2, 5, requires_grad=True)
    lengths = ts.tensor([[3], [5]])
    valid = (ts.arange(5) < lengths) & (x > -10)
    padded = ~valid
    assert padded.tolist() == [[False] * 3 + [True] * 2, [False] * 5]
    assert not padded.requires_grad and padded.grad_fn is None
    (x.masked_fill(padded, 0.0) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(padded.numpy(), 0.0, 2.0))


def test_errors_name_the_op_and_the_dtype():
    x = ts.randn(3)
    with pytest.raises(TypeError, match=r"bitwise_and: defined for bool and integer tensors, "
                                        r"got float32 \(for a mask, compare first"):
        x & (x > 0)
    with pytest.raises(TypeError, match=r"bitwise_not: .* got float32"):
        ~x
    with pytest.raises(TypeError, match=r"bitwise_or: .* got float32"):
        ts.tensor([True]) | 0.5
    with pytest.raises(TypeError, match=r"logical_not: expected a Tensor, got list"):
        ts.logical_not([True])
    with pytest.raises(ValueError, match=r"bitwise: .*shapes \(2,\) \(3,\)"):
        ts.tensor([True, False]) & ts.tensor([True, False, True])


@pytest.mark.parametrize("view", ["x", "x.t()", "x[:, ::2]", "x[1]", "x.t().contiguous()",
                                  "x.unsqueeze(0).expand(2, 3, 4)", "x.permute(1, 0)[::2]"])
def test_contiguity_as_torch(torch, view):
    ours = eval(view, {"x": ts.randn(3, 4)})
    theirs = eval(view, {"x": torch.randn(3, 4)})
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert ours.contiguous().is_contiguous()


def test_contiguous_copy_is_differentiable_and_methods_compare():
    x = ts.randn(3, 4, requires_grad=True)
    assert x.contiguous() is x
    y = x.t().contiguous()
    assert y is not x and y.is_contiguous() and not x.t().is_contiguous()
    (y * ts.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat([[0.0], [1.0], [2.0]], 4, axis=1))
    assert (x.element_size(), ts.zeros(1, dtype=ts.float64).element_size(),
            ts.zeros(1, dtype=ts.bool).element_size()) == (4, 8, 1)
    assert x.allclose(x + 1e-9) and not x.allclose(x + 1) and x.equal(x.detach())
    assert x.isclose(x).all().item() and not x.equal(x[:2])

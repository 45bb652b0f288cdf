"""Matrix products."""
import math

from ..accumulate import ProductGrad, sum_to
from ..autograd import Function


def check_same_dtype(*arrays):
    """PyTorch's rule for products: the operands share one dtype (no promotion)."""
    dtypes = [a.dtype for a in arrays if a is not None]
    if any(d != dtypes[0] for d in dtypes):
        raise TypeError(f"operands of dtypes {', '.join(map(str, dtypes))} (a product needs "
                        f"one dtype, as in PyTorch: convert one with .to(dtype), .float() or "
                        f".double())")


def rows(a):
    """a (..., k) viewed (or copied) as a matrix (rows, k)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def rows_times(xp, a, matrix):
    """a @ matrix for a (..., k) and a 2-D matrix, as one 2-D product over all rows: NumPy runs
    a stacked matmul as one small product per leading index, far slower than one tall one."""
    if a.ndim <= 2:
        return xp.matmul(a, matrix)
    return xp.matmul(rows(a), matrix).reshape(a.shape[:-1] + (matrix.shape[-1],))


class MatMul(Function):
    """y = a @ b (batch dimensions broadcast as numpy.matmul);  da = g @ b^T,  db = a^T @ g
    (a ProductGrad when b is a matrix, as a weight is)"""
    saves_inputs = (0, 1)
    __slots__ = ()
    name = "matmul"

    def forward(self, xp, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands need at least one dimension")
        check_same_dtype(a, b)
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"shapes {a.shape} and {b.shape} are not aligned")
        self.saved = (a, b)
        return rows_times(xp, a, b) if b.ndim == 2 else xp.matmul(a, b)

    def backward(self, xp, g):
        a, b = self.saved
        if a.ndim >= 2 and b.ndim == 2:              # rows times a matrix: the common case
            return (rows_times(xp, g, b.T) if self.inputs[0].requires_grad else None,
                    ProductGrad(xp, rows(a), rows(g))
                    if self.inputs[1].requires_grad else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        ga = gb = None
        if self.inputs[0].requires_grad:
            ga = sum_to(xp.matmul(g, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.inputs[1].requires_grad:
            gb = sum_to(xp.matmul(xp.swapaxes(a2, -1, -2), g), b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,);
    dx = g W,  dW = g^T x (over all leading axes; a ProductGrad),  db = g summed over leading axes"""
    saves_inputs = (0, 1)
    __slots__ = ()

    def forward(self, xp, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"input of shape {x.shape} does not fit weight of shape {weight.shape} "
                             f"(expected input (..., {weight.shape[1] if weight.ndim == 2 else '?'}))")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"bias of shape {bias.shape} does not fit weight of shape {weight.shape}")
        check_same_dtype(x, weight, bias)
        self.saved = (x, weight)
        y = rows_times(xp, x, weight.T)
        if bias is not None:
            y += bias
        return y

    def backward(self, xp, g):
        x, weight = self.saved
        inputs = self.inputs
        gx = rows_times(xp, g, weight) if inputs[0].requires_grad else None
        g2 = rows(g)
        gw = ProductGrad(xp, g2, rows(x)) if inputs[1].requires_grad else None
        if len(inputs) == 3:
            return gx, gw, (g2.sum(axis=0) if inputs[2].requires_grad else None)
        return gx, gw


class Einsum(Function):
    """y = einsum("ab,bc->ac", x1, x2) (two operands, no repeated letter within one);
    d x1 = einsum("ac,bc->ab", g, x2), likewise d x2, broadcast over the letters that only the
    operand itself has"""
    __slots__ = ("operand_letters", "output_letters")
    saves_inputs = (0, 1)

    def __init__(self, operand_letters, output_letters):
        self.operand_letters = operand_letters
        self.output_letters = output_letters

    def forward(self, xp, *operands):
        self.saved = operands
        return xp.einsum(",".join(self.operand_letters) + "->" + self.output_letters, *operands)

    def backward(self, xp, g):
        grads = []
        for i, (letters, operand) in enumerate(zip(self.operand_letters, self.saved)):
            if not self.inputs[i].requires_grad:
                grads.append(None)
                continue
            others = [j for j in range(len(self.saved)) if j != i]
            seen = set(self.output_letters).union(*(self.operand_letters[j] for j in others))
            kept = "".join(c for c in letters if c in seen)
            equation = ",".join([self.output_letters] + [self.operand_letters[j] for j in others])
            grad = xp.einsum(equation + "->" + kept, g, *(self.saved[j] for j in others))
            if kept != letters:
                grad = xp.broadcast_to(grad.reshape([n if c in seen else 1 for c, n in
                                                     zip(letters, operand.shape)]), operand.shape)
            grads.append(grad)
        return grads

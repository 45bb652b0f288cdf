"""Matrix products."""
from ..autograd import Function, ProductGrad, sum_to


class MatMul(Function):
    """y = a @ b (batch dimensions broadcast as numpy.matmul);  da = g @ b^T,  db = a^T @ g"""
    __slots__ = ()
    name = "matmul"

    def forward(self, xp, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands need at least one dimension")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"shapes {a.shape} and {b.shape} are not aligned")
        self.saved = (a, b)
        return xp.matmul(a, b)

    def backward(self, xp, g):
        a, b = self.saved
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
    __slots__ = ()

    def forward(self, xp, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"input of shape {x.shape} does not fit weight of shape {weight.shape} "
                             f"(expected input (..., {weight.shape[1] if weight.ndim == 2 else '?'}))")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"bias of shape {bias.shape} does not fit weight of shape {weight.shape}")
        self.saved = (x, weight)
        y = xp.matmul(x, weight.T)
        if bias is not None:
            y += bias
        return y

    def backward(self, xp, g):
        x, weight = self.saved
        inputs = self.inputs
        gx = xp.matmul(g, weight) if inputs[0].requires_grad else None
        g2 = g.reshape(-1, g.shape[-1])
        gw = ProductGrad(xp, g2, x.reshape(-1, x.shape[-1])) if inputs[1].requires_grad else None
        if len(inputs) == 3:
            return gx, gw, (g2.sum(axis=0) if inputs[2].requires_grad else None)
        return gx, gw

"""Writing your own op: one class with forward and backward side by side on raw arrays.

Softplus, y = log(1 + e^x), a smooth ReLU. ``forward`` and ``backward`` get the array module
``xp`` (NumPy on the CPU, CuPy on the GPU), so the op runs on either device. tests/
test_examples.py checks its gradient against finite differences with tests/gradcheck.py.

The same op as a PyTorch script writes one, ``SoftplusFunction``: static methods on tensors,
a ``ctx`` that keeps what backward needs, called as ``SoftplusFunction.apply(x)``. The class
runs on PyTorch as it is (with ``import torch as ts``), and both styles give the same values
and gradients.
"""
import numpy

import tinyseq as ts
from tinyseq.autograd import Function


class Softplus(Function):
    """y = log(1 + exp(x));  dx = g * sigmoid(x)"""
    saves_inputs = (0,)                  # backward reads x: changing it in place is an error

    def forward(self, xp, x):
        self.saved = x
        return xp.logaddexp(0, x)        # log(e^0 + e^x), without overflow for large x

    def backward(self, xp, g):
        return (g / (1 + xp.exp(-self.saved)),)


def softplus(x):
    return Softplus().apply(x)


class SoftplusFunction(ts.autograd.Function):
    """y = log(1 + exp(x));  dx = g * sigmoid(x), in PyTorch's style"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ts.logaddexp(ts.zeros_like(x), x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x.sigmoid()


def main():
    x = ts.tensor([-3.0, 0.0, 2.0, 40.0], dtype=ts.float64, requires_grad=True)
    y = softplus(x)
    y.sum().backward()
    print("softplus(x) =", y.numpy())
    print("d/dx        =", x.grad.numpy(), "(= sigmoid(x))")
    sigmoid = 1 / (1 + numpy.exp(-x.numpy()))
    eps = 1e-6                          # central differences of the forward alone, in float64
    numeric = (softplus(ts.tensor(x.numpy() + eps)).numpy()
               - softplus(ts.tensor(x.numpy() - eps)).numpy()) / (2 * eps)
    formula_error = float(numpy.abs(x.grad.numpy() - sigmoid).max())
    numeric_error = float(numpy.abs(x.grad.numpy() - numeric).max())
    x_again = ts.tensor(x.numpy(), requires_grad=True)
    y_again = SoftplusFunction.apply(x_again)
    y_again.sum().backward()
    styles_differ = max(float(numpy.abs(y_again.detach().numpy() - y.detach().numpy()).max()),
                        float(numpy.abs(x_again.grad.numpy() - x.grad.numpy()).max()))
    holds = formula_error < 1e-12 and numeric_error < 1e-8 and styles_differ < 1e-12
    print(f"lesson custom_op: the hand-written backward is the derivative of the forward: "
          f"max |backward - sigmoid(x)| = {formula_error:.1e}, max |backward - finite "
          f"difference| = {numeric_error:.1e}; written in PyTorch's style, values and "
          f"gradients differ by {styles_differ:.1e} -> {'holds' if holds else 'does not hold'}")
    return {"formula_error": formula_error, "numeric_error": numeric_error,
            "styles_differ": styles_differ}


if __name__ == "__main__":
    main()

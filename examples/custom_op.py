"""Writing your own op: one class with forward and backward side by side on raw arrays.

Softplus, y = log(1 + e^x), a smooth ReLU. ``forward`` and ``backward`` get the array module
``xp`` (NumPy on the CPU, CuPy on the GPU), so the op runs on either device. tests/
test_examples.py checks its gradient against finite differences with tests/gradcheck.py.
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
    holds = formula_error < 1e-12 and numeric_error < 1e-8
    print(f"lesson custom_op: the hand-written backward is the derivative of the forward: "
          f"max |backward - sigmoid(x)| = {formula_error:.1e}, max |backward - finite "
          f"difference| = {numeric_error:.1e} -> {'holds' if holds else 'does not hold'}")
    return {"formula_error": formula_error, "numeric_error": numeric_error}


if __name__ == "__main__":
    main()

"""Writing your own op: one class with forward and backward side by side on raw arrays.

Softplus, y = log(1 + e^x), a smooth ReLU. ``forward`` and ``backward`` get the array module
``xp`` (NumPy on the CPU, CuPy on the GPU), so the op runs on either device. tests/
test_examples.py checks its gradient against finite differences with tests/gradcheck.py.
"""
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


if __name__ == "__main__":
    x = ts.tensor([-3.0, 0.0, 2.0, 40.0], requires_grad=True)
    y = softplus(x)
    y.sum().backward()
    print("softplus(x) =", y.numpy())
    print("d/dx        =", x.grad.numpy(), "(= sigmoid(x))")

"""Finite-difference gradient checking, shared by every gradient test.

``gradcheck(fn, inputs)`` turns the output of ``fn`` into a scalar with a fixed random weight
R, L = sum(fn(*inputs) * R), so every output element matters, and compares dL/dx from
``backward`` with the central difference (L(x + eps) - L(x - eps)) / (2 eps), element by
element, for every input.
"""
import numpy as np

import tinyseq as ts


def assert_close(actual, expected, atol=1e-6, rtol=1e-5):
    """Like numpy.testing.assert_allclose, accepting tensors on either side."""
    if isinstance(actual, ts.Tensor):
        actual = actual.numpy()
    if isinstance(expected, ts.Tensor):
        expected = expected.numpy()
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0):
    """Raise AssertionError unless backward's gradients match finite differences."""
    for i, x in enumerate(inputs):
        assert x.dtype == np.float64 and x.requires_grad, \
            f"input {i}: gradcheck needs float64 tensors with requires_grad=True"
        x.array = np.array(x.array)  # our own writable copy, nudged in place below

    out = fn(*inputs)
    R = np.random.default_rng(seed).standard_normal(out.shape)

    def loss():
        with ts.no_grad():
            return float((fn(*inputs).numpy() * R).sum())

    for x in inputs:
        x.grad = None
    (out * ts.tensor(R)).sum().backward()

    for i, x in enumerate(inputs):
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        assert analytic.shape == x.shape, \
            f"input {i}: grad shape {analytic.shape} != input shape {x.shape}"
        for index in np.ndindex(*x.shape):
            original = x.array[index]
            x.array[index] = original + eps
            plus = loss()
            x.array[index] = original - eps
            minus = loss()
            x.array[index] = original
            numeric = (plus - minus) / (2 * eps)
            if not abs(analytic[index] - numeric) <= atol + rtol * abs(numeric):
                raise AssertionError(f"input {i}, element {index}: analytic grad "
                                     f"{float(analytic[index])!r} != numeric grad {numeric!r}")
    return True

"""ts.erf and ts.erfc (functions, methods, in-place forms) as PyTorch's: float64 values to a
few roundings over the whole range, including the tails where erfc is tiny, and gradients."""
import math

import numpy as np
import pytest

import tinyseq as ts
from gradcheck import gradcheck

POINTS = np.concatenate([np.linspace(-6, 6, 1201), [0.0, -0.0, 1e-300, -1e-10, 0.46875,
                                                     -0.46875, 4.0, 26.5, -27.0, 30.0]])


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_values_against_the_math_module(name):
    exact = np.array([getattr(math, name)(x) for x in POINTS])
    ours = getattr(ts, name)(ts.tensor(POINTS, dtype=ts.float64)).numpy()
    tiny = exact == 0
    np.testing.assert_array_equal(ours[tiny], 0.0)
    np.testing.assert_allclose(ours[~tiny], exact[~tiny], rtol=2e-15, atol=0)
    np.testing.assert_array_equal(getattr(ts, name)(ts.tensor([math.inf, -math.inf])).numpy(),
                                  [1.0, -1.0] if name == "erf" else [0.0, 2.0])
    assert math.isnan(getattr(ts, name)(ts.tensor([math.nan])).item())


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_gradients(name):
    x = ts.tensor(np.linspace(-3, 3, 13), requires_grad=True)
    gradcheck(lambda x: getattr(x, name)(), [x])
    x = ts.tensor([0.5, -1.5], requires_grad=True)
    getattr(ts, name)(x).sum().backward()
    expected = 2 / math.sqrt(math.pi) * np.exp(-np.array([0.5, -1.5]) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), expected if name == "erf" else -expected,
                               rtol=1e-6)


def test_integers_promote_and_in_place_forms():
    assert ts.erf(ts.tensor([0, 1])).dtype == ts.get_default_dtype()
    t = ts.tensor([0.25, -2.0], dtype=ts.float64)
    t.erf_()
    np.testing.assert_allclose(t.numpy(), [math.erf(0.25), math.erf(-2.0)], rtol=1e-15)
    t.erfc_()
    np.testing.assert_allclose(t.numpy(), [math.erfc(math.erf(0.25)), math.erfc(math.erf(-2.0))],
                               rtol=1e-15)
    with pytest.raises(RuntimeError):
        ts.ones(2, requires_grad=True).erf_()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_as_torch(dtype):
    torch = pytest.importorskip("torch")
    for name in ("erf", "erfc"):
        x = np.linspace(-5, 5, 101)
        ours = ts.tensor(x, dtype=getattr(ts, dtype), requires_grad=True)
        theirs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
        a, b = getattr(ours, name)(), getattr(theirs, name)()
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(),
                                   rtol=1e-14 if dtype == "float64" else 1e-6, atol=1e-30)
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(),
                                   rtol=1e-14 if dtype == "float64" else 1e-6)

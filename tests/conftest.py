"""Generic fixtures shared by all test files."""
import pathlib
import sys

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import accumulate, autograd

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from seed 0 (tinyseq and NumPy's global generator), and any change
    a test makes to the default dtype is undone afterwards."""
    ts.manual_seed(0)
    np.random.seed(0)
    dtype = ts.get_default_dtype()
    yield
    ts.set_default_dtype(dtype)


@pytest.fixture
def float64():
    """New tensors, parameters and Python floats are float64 inside the test (``_seeded``
    restores the default dtype afterwards)."""
    ts.set_default_dtype(ts.float64)


@pytest.fixture(scope="module")
def examples_on_path():
    """examples/ is not a package: put it on sys.path while a module's tests run (use with
    ``pytestmark = pytest.mark.usefixtures("examples_on_path")``)."""
    sys.path.insert(0, str(EXAMPLES))
    yield
    sys.path.remove(str(EXAMPLES))


@pytest.fixture(params=[accumulate.LazySums, accumulate.DenseSums], ids=["lazy", "dense"])
def each_accumulator(request, monkeypatch):
    """Run the test with the engine's accumulator (LazySums) and with the plain one
    (DenseSums), the oracle."""
    monkeypatch.setattr(autograd, "Sums", request.param)

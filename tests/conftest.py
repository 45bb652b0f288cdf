"""Generic fixtures shared by all test files."""
import numpy as np
import pytest

import tinyseq as ts


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

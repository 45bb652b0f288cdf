"""ts.set_num_threads / get_num_threads act on NumPy's bundled OpenBLAS; ts.compile gives the
model back; the interop settings are accepted."""
import pytest

import tinyseq as ts


def test_set_num_threads_sets_what_get_num_threads_reports():
    before = ts.get_num_threads()
    try:
        ts.set_num_threads(1)
        assert ts.get_num_threads() == 1
        ts.set_num_threads(3)
        assert ts.get_num_threads() == 3
        x = ts.randn(64, 64)
        assert ts.allclose(x @ x.T, (x @ x.T).T)       # products still run after the change
    finally:
        ts.set_num_threads(before)
    for bad, kind in ((0, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(kind, match="set_num_threads: num"):
            ts.set_num_threads(bad)
    assert ts.get_num_threads() == before


def test_interop_threads_and_compile():
    ts.set_num_interop_threads(4)
    assert ts.get_num_interop_threads() == 1
    model = ts.nn.Linear(3, 2)
    assert ts.compile(model) is model
    assert ts.compile(model, mode="reduce-overhead", fullgraph=True) is model

    @ts.compile(dynamic=True)
    def double(x):
        return x * 2
    assert double(ts.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="compile: expected a module or a function"):
        ts.compile(3)

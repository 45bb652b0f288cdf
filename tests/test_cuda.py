"""GPU-only checks, skipped without CuPy and a GPU: the CuPy backend, with the fused cells'
compiled kernels, against the CPU for every recurrent cell and both paths. CI runs the same
code through the stand-in device (test_device_standin.py), which interprets the kernels."""
import numpy
import pytest

import tinyseq as ts
from tinyseq import backend, nn

pytestmark = pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a GPU")

CELLS = {"LSTM": dict(cls=nn.LSTM), "GRU": dict(cls=nn.GRU), "RNN": dict(cls=nn.RNN),
         "RNN-relu": dict(cls=nn.RNN, nonlinearity="relu")}


def _pass(device, mode, impl, state):
    options = dict(CELLS[mode])
    layer = options.pop("cls")(3, 4, num_layers=2, bidirectional=True, impl=impl, **options)
    layer.load_state_dict(state)
    layer.to(device)
    rng = numpy.random.default_rng(0)
    x = ts.tensor(rng.standard_normal((6, 3, 3)), device=device, requires_grad=True)
    weights = ts.tensor(rng.standard_normal((6, 3, 8)), device=device)
    output, final = layer(x, lengths=[6, 2, 5])
    h_n = final[0] if mode == "LSTM" else final
    ((output * weights).sum() + (h_n * h_n).sum()).backward()
    return [output, h_n, x.grad] + [p.grad for p in layer.parameters()]


@pytest.mark.parametrize("mode", list(CELLS))
@pytest.mark.parametrize("impl", ["fused", "primitive"])
def test_recurrent_layer_on_cuda_matches_cpu(float64, mode, impl):
    ts.manual_seed(0)
    options = dict(CELLS[mode])
    model = options.pop("cls")(3, 4, num_layers=2, bidirectional=True, **options)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    on_gpu = _pass("cuda", mode, impl, state)
    on_cpu = _pass("cpu", mode, impl, state)
    for t, ref in zip(on_gpu, on_cpu):
        assert backend.device_of(t.array).name == "cuda"
        numpy.testing.assert_allclose(t.numpy(), ref.numpy(), rtol=1e-9, atol=1e-10)

"""The backend seam: a stand-in device whose arrays are a distinct ndarray subclass.

The stand-in module wraps NumPy but refuses plain numpy.ndarray arguments everywhere except the
explicit upload path (``asarray`` / ``array``), so any op that silently falls back to NumPy (or
mixes host arrays into device math) fails loudly. Everything computed on it must stay a
StandinArray and match the same computation on "cpu".
"""
import contextlib
import functools
import re
import subprocess
import sys
import textwrap

import numpy
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import backend, nn, optim
from tinyseq import random as ts_random

FALLBACK = "plain numpy array reached the stand-in device"


class StandinArray(numpy.ndarray):
    """The stand-in device's array type: NumPy storage, but a type of its own."""


def _reject_host_arrays(values):
    for value in values:
        if type(value) is numpy.ndarray:
            raise TypeError(FALLBACK)
        if isinstance(value, (list, tuple)):
            _reject_host_arrays(value)


def _to_device(value):
    if isinstance(value, numpy.ndarray):
        return value if type(value) is StandinArray else value.view(StandinArray)
    if isinstance(value, tuple):
        return tuple(_to_device(v) for v in value)
    if isinstance(value, list):
        return [_to_device(v) for v in value]
    return value


class _Checked:
    """A NumPy callable (function, ufunc, generator method) that rejects host arrays and
    returns device arrays; attributes (``add.at``) are checked the same way."""

    def __init__(self, target):
        self._target = target

    def __call__(self, *args, **kwargs):
        _reject_host_arrays(args)
        _reject_host_arrays(list(kwargs.values()))
        return _to_device(self._target(*args, **kwargs))

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        return _Checked(attr) if callable(attr) and not isinstance(attr, type) else attr


def _upload(function):
    def upload(data, *args, **kwargs):
        if type(data) is numpy.ndarray:
            data = data.copy()  # a real device copies from the host
        return _to_device(function(data, *args, **kwargs))
    return upload


class _StandinRandom:
    @staticmethod
    def default_rng(seed=None):
        return _Checked(numpy.random.default_rng(seed))


class _InterpretedKernel:
    """CuPy's ElementwiseKernel on the stand-in: runs the kernel's CUDA-C statements
    (``[T ]name = expression;``) as whole-array NumPy expressions, in order, then writes each
    output parameter into the array passed for it. So CI runs the kernels' own source. It
    refuses what C or CuPy would read differently: a reserved parameter name (i, n, _...), an
    integer division, an assignment to an input, an undeclared temporary or a redeclared
    output."""

    STATEMENT = re.compile(r"^(T\s+)?([A-Za-z_]\w*)\s*=(?!=)(.+)$", re.S)

    def __init__(self, in_params, out_params, operation, name):
        self.name = name
        self.inputs = [param.split()[-1] for param in in_params.split(",")]
        self.outputs = [param.split()[-1] for param in out_params.split(",")]
        for param in self.inputs + self.outputs:
            if param in ("i", "n") or param.startswith("_"):
                raise ValueError(f"{name}: CuPy reserves the parameter name {param!r}")
        if re.search(r"(?<![\w.])\d+\s*/\s*\d+(?![\w.])", operation):
            raise ValueError(f"{name}: integer division means something else in C")
        self.statements = []
        for text in filter(None, (part.strip() for part in operation.split(";"))):
            declared, target, expression = self.STATEMENT.match(text).groups()
            if target in self.inputs:
                raise ValueError(f"{name}: assigns to the input {target!r}")
            if bool(declared) == (target in self.outputs):
                raise ValueError(f"{name}: {target!r} is an output, not a declared temporary, "
                                 f"or the other way round")
            self.statements.append((target, compile(expression.strip(), name, "eval")))

    def __call__(self, *arrays):
        if len(arrays) != len(self.inputs) + len(self.outputs):
            raise TypeError(f"expected {len(self.inputs)} inputs and {len(self.outputs)} outputs")
        _reject_host_arrays(arrays)
        values = dict(zip(self.inputs + self.outputs, arrays))
        functions = {"exp": standin_xp.exp, "tanh": standin_xp.tanh}
        for target, expression in self.statements:
            values[target] = eval(expression, functions, values)
        for name, out in zip(self.outputs, arrays[len(self.inputs):]):
            out[...] = values[name]


class _StandinXP:
    """Module-like: ``xp.<name>`` is NumPy's, wrapped; ``ElementwiseKernel`` is CuPy's,
    interpreted."""

    ndarray = StandinArray
    ElementwiseKernel = _InterpretedKernel
    random = _StandinRandom()
    asarray = staticmethod(_upload(numpy.asarray))
    array = staticmethod(_upload(numpy.array))

    def __getattr__(self, name):
        attr = getattr(numpy, name)
        if isinstance(attr, type) or not callable(attr):
            return attr
        return _Checked(attr)


standin_xp = _StandinXP()


@pytest.fixture
def standin():
    device = backend.register_device("standin", standin_xp, StandinArray)
    yield device
    backend._devices.pop("standin", None)
    backend.device_of_type.pop(StandinArray, None)
    ts_random._generators.pop("standin", None)


def test_standin_module_rejects_host_arrays():
    # the guard itself must work, or the tests below prove nothing
    with pytest.raises(TypeError, match=FALLBACK):
        standin_xp.exp(numpy.ones(2))
    with pytest.raises(TypeError, match=FALLBACK):
        standin_xp.stack([standin_xp.ones(2), numpy.ones(2)])
    with pytest.raises(TypeError, match=FALLBACK):
        standin_xp.add.at(standin_xp.zeros(3), numpy.array([0]), 1.0)
    assert type(standin_xp.asarray(numpy.ones(2))) is StandinArray
    assert type(standin_xp.exp(standin_xp.ones(2))) is StandinArray
    assert type(standin_xp.random.default_rng(0).permutation(4)) is StandinArray


class _Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(7, 5, padding_idx=0)
        self.lin = nn.Linear(5, 4)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(4, 3)

    def forward(self, ids, seen):
        e = self.emb(ids)
        h = self.lin(e).tanh()
        d = self.drop(h)
        logits = self.head(d)
        seen.extend([e, h, d, logits])
        return logits, h


def _train(device, make_optimizer, state):
    """Two training steps on ``device``; returns everything computed, as tensors/arrays."""
    model = _Small()
    model.load_state_dict(state)
    model.to(device)
    opt = make_optimizer(model.parameters())
    ids = ts.tensor(numpy.array([[1, 0, 3], [6, 2, 2]]), device=device)
    targets = ts.tensor(numpy.array([0, 2, 1, -100, 1, 0]), device=device)
    h_target = ts.tensor(numpy.linspace(-0.5, 0.5, 24).reshape(6, 4), device=device)
    seen, norms = [], []
    for step in range(2):
        ts.manual_seed(50 + step)  # same dropout mask on both devices
        opt.zero_grad()
        logits, h = model(ids, seen)
        flat = logits.reshape(6, 3)
        loss = F.cross_entropy(flat, targets, ignore_index=-100) + \
            F.mse_loss(h.reshape(6, 4), h_target)
        seen.extend([flat, loss])
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), 0.1))
        opt.step()
    return model, opt, seen, norms


OPTIMIZERS = {
    "adam": lambda params: optim.Adam(params, lr=0.05, weight_decay=0.01),
    "sgd_momentum": lambda params: optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_stays_on_standin_and_matches_cpu(standin, float64, name):
    ts.manual_seed(0)
    state = {k: v.numpy().copy() for k, v in _Small().state_dict().items()}
    model, opt, seen, norms = _train("standin", OPTIMIZERS[name], state)
    ref_model, ref_opt, ref_seen, ref_norms = _train("cpu", OPTIMIZERS[name], state)

    for p in model.parameters():
        assert type(p.array) is StandinArray and p.device == "standin"
        assert type(p.grad.array) is StandinArray and p.grad.device == "standin"
    for t in seen + norms:
        assert type(t.array) is StandinArray and t.device == "standin"
    state_arrays = [v for s in opt.state.values() for v in s.values() if hasattr(v, "shape")]
    assert len(state_arrays) == (10 if name == "adam" else 5)  # 5 parameters
    assert all(type(a) is StandinArray for a in state_arrays)

    # the grads were clipped (the norm is above 0.1), so clipping ran on the device too
    assert all(n.item() > 0.1 for n in norms)
    for t, ref in zip(seen + norms, ref_seen + ref_norms):
        assert type(t.numpy()) is numpy.ndarray
        numpy.testing.assert_allclose(t.numpy(), ref.numpy(), rtol=0, atol=1e-12)
    for (name_, p), (_, ref) in zip(model.named_parameters(), ref_model.named_parameters()):
        assert p.dtype == numpy.float64
        numpy.testing.assert_allclose(p.numpy(), ref.numpy(), rtol=0, atol=1e-12, err_msg=name_)
        numpy.testing.assert_allclose(p.grad.numpy(), ref.grad.numpy(), rtol=0, atol=1e-12)
        assert not numpy.array_equal(p.numpy(), state[name_])  # training changed it

    model.to("cpu")
    assert all(type(p.array) is numpy.ndarray for p in model.parameters())


RECURRENT = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN,
             "RNN-relu": functools.partial(nn.RNN, nonlinearity="relu")}


def _recurrent_pass(device, mode, impl, traced, state):
    layer = RECURRENT[mode](3, 4, num_layers=2, bidirectional=True, impl=impl)
    layer.load_state_dict(state)
    layer.to(device)
    rng = numpy.random.default_rng(0)
    x = ts.tensor(rng.standard_normal((5, 3, 3)), device=device, requires_grad=True)
    weights = ts.tensor(rng.standard_normal((5, 3, 8)), device=device)
    with ts.trace() if traced else contextlib.nullcontext():
        output, final = layer(x, lengths=[5, 2, 4])
    h_n = final[0] if mode == "LSTM" else final
    ((output * weights).sum() + (h_n * h_n).sum()).backward()
    return [output, h_n, x.grad] + [p.grad for p in layer.parameters()]


@pytest.mark.parametrize("mode", list(RECURRENT))
@pytest.mark.parametrize("impl,traced", [("fused", False), ("fused", True), ("primitive", False),
                                         ("primitive", True)])
def test_recurrent_layers_stay_on_standin_and_match_cpu(standin, float64, mode, impl, traced):
    """Both recurrent paths (one op per layer direction, one op per step, every gate an op),
    padded and bidirectional, with the engine's sparse and deferred gradients, on the device."""
    ts.manual_seed(0)
    model = RECURRENT[mode](3, 4, num_layers=2, bidirectional=True)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    on_device = _recurrent_pass("standin", mode, impl, traced, state)
    on_cpu = _recurrent_pass("cpu", mode, impl, traced, state)
    for t, ref in zip(on_device, on_cpu):
        assert type(t.array) is StandinArray
        numpy.testing.assert_allclose(t.numpy(), ref.numpy(), rtol=0, atol=1e-12)


def test_fused_layers_on_standin_run_the_kernels(standin, monkeypatch):
    """The fused cells' math runs as the CUDA-C kernels on a device that compiles them."""
    launched = []
    run_kernel = _InterpretedKernel.__call__

    def counting_call(self, *arrays):
        launched.append(self.name)
        run_kernel(self, *arrays)
    monkeypatch.setattr(_InterpretedKernel, "__call__", counting_call)
    for mode in RECURRENT:
        layer = RECURRENT[mode](3, 4).to("standin")
        output, _ = layer(ts.randn(5, 2, 3).to("standin"))
        output.sum().backward()
    assert sorted(set(launched)) == sorted(
        f"tinyseq_{cell}_{direction}" for cell in ("lstm", "gru", "rnn_tanh", "rnn_relu")
        for direction in ("forward", "backward"))
    assert len(launched) == 8 * 5                   # one launch per step each way


@pytest.mark.parametrize("operation,message", [
    ("y = tanh(x) * (1 / 2);", "integer division"),
    ("x = 2 * x;", "assigns to the input 'x'"),
    ("t = x; y = t;", "not a declared temporary"),
    ("T y = x;", "not a declared temporary"),
])
def test_interpreted_kernel_refuses_what_cuda_would_read_differently(operation, message):
    # the stand-in kernel must be as strict as CuPy, or its passing tests prove less
    with pytest.raises(ValueError, match=message):
        _InterpretedKernel("T x", "T y", operation, "k")
    with pytest.raises(ValueError, match="reserves the parameter name 'n'"):
        _InterpretedKernel("T n", "T y", "y = n;", "k")
    kernel = _InterpretedKernel("T x, T w", "T y, T z", "T t = x * w; y = t + 1; z = y * 0.5;", "k")
    y, z = standin_xp.zeros(2), standin_xp.zeros(2)
    kernel(standin_xp.asarray(numpy.array([1.0, 2.0])), standin_xp.asarray(numpy.array([3.0, 4.0])), y, z)
    numpy.testing.assert_allclose(numpy.asarray(y), [4.0, 9.0])
    numpy.testing.assert_allclose(numpy.asarray(z), [2.0, 4.5])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_stay_on_standin_and_match_cpu(standin, float64, mode):
    """The modes gather with host index arrays: they must reach the device as device arrays."""
    results = {}
    for device in ("standin", "cpu"):
        x = ts.tensor(numpy.arange(24.0).reshape(2, 3, 4), device=device, requires_grad=True)
        y = F.pad(x, (2, -1, 1, 2), mode=mode)
        (y * y).sum().backward()
        results[device] = (y, x.grad)
    for got, expected in zip(results["standin"], results["cpu"]):
        assert type(got.array) is StandinArray
        numpy.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_optimizer_state_dict_round_trip_on_standin(standin, float64):
    ts.manual_seed(1)
    model = nn.Linear(3, 2).to("standin")
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = ts.tensor(numpy.ones((4, 3)), device="standin")
    (model(x) ** 2).mean().backward()
    opt.step()
    fresh = optim.Adam(model.parameters(), lr=0.1)
    fresh.load_state_dict(opt.state_dict())
    arrays = [v for s in fresh.state.values() for v in s.values() if hasattr(v, "shape")]
    assert len(arrays) == 4 and all(type(a) is StandinArray for a in arrays)


def test_mixing_devices_raises(standin):
    a = ts.ones(3)
    b = ts.ones(3, device="standin")
    with pytest.raises(ValueError, match="different devices"):
        a + b
    with pytest.raises(ValueError, match="different devices"):
        ts.matmul(b, a)
    with pytest.raises(ValueError, match="different devices"):
        nn.Linear(3, 2)(b)


def test_creation_on_standin(standin):
    made = {
        "tensor_list": ts.tensor([[1.0, 2.0], [3.0, 4.0]], device="standin"),
        "tensor_array": ts.tensor(numpy.arange(4.0), device="standin"),
        "zeros": ts.zeros(2, 3, device="standin"),
        "ones": ts.ones(2, device="standin"),
        "randn": ts.randn(3, 2, device="standin"),
        "rand": ts.rand(5, device="standin"),
        "arange": ts.arange(5, device="standin"),
    }
    for name, t in made.items():
        assert type(t.array) is StandinArray, name
        assert t.device == "standin"
        assert type(t.numpy()) is numpy.ndarray
    numpy.testing.assert_array_equal(made["tensor_list"].numpy(), [[1, 2], [3, 4]])
    numpy.testing.assert_array_equal(made["zeros"].numpy(), numpy.zeros((2, 3)))
    assert made["randn"].shape == (3, 2) and made["randn"].dtype == numpy.float32

    ts.manual_seed(7)
    on_device = ts.randn(4, device="standin").numpy()
    ts.manual_seed(7)
    numpy.testing.assert_array_equal(on_device, ts.randn(4).numpy())

    host = numpy.arange(3.0)
    t = ts.tensor(host, device="standin")
    host[0] = 99.0
    assert t.numpy()[0] == 0.0  # uploading copied


def test_to_standin_and_back_is_differentiable(standin):
    x = ts.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("standin")
    assert type(y.array) is StandinArray and y.device == "standin"
    (y * y).sum().backward()
    assert type(x.grad.array) is numpy.ndarray
    numpy.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])


def test_import_without_cupy_and_graphviz():
    code = textwrap.dedent("""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("cupy", "cupyx", "graphviz"):
                    raise ImportError("blocked " + name)
                return None

        sys.meta_path.insert(0, Block())
        for name in ("cupy", "graphviz"):
            try:
                __import__(name)
            except ImportError:
                pass
            else:
                raise SystemExit("the blocker does not work for " + name)
        import tinyseq as ts
        print("available", ts.cuda.is_available())
        print("sum", float((ts.ones(3) * 2).sum().item()))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert result.returncode == 0, result.stderr
    assert "available False" in result.stdout
    assert "sum 6.0" in result.stdout

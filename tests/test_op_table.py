"""One row per op class: every subclass of autograd.Function in tinyseq, found by walking the
package, is run through the public API on small float64 inputs, and its forward values are
compared with a NumPy reference and its gradients with finite differences (gradcheck), with or
without PyTorch installed; where PyTorch is importable and has the op, values and gradients are
also compared with PyTorch's. A new op class fails ``test_every_op_class_has_a_row`` until it
has a row here.

A row: the op class -> Row(inputs, fn, numpy, torch, context). ``inputs()`` makes the float64
leaf tensors, ``fn(*tensors)`` computes with tinyseq (the test checks that its graph holds the op
class), ``numpy(*arrays)`` and ``torch(*torch_tensors)`` compute the same (torch may be None);
each test runs inside ``context()`` (the process group that SyncGradients' backward needs).
Tests elsewhere cover each op's options and edge cases; the fused recurrent layer's agreement
with the primitive cell is tests/test_fused.py's.
"""
import contextlib
import importlib
import inspect
import itertools
import math
import pkgutil
from typing import Callable, NamedTuple, Optional

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.distributed as dist
import tinyseq.functional as F
from gradcheck import assert_close, gradcheck
from tinyseq import autograd, backend, custom_function, nn
from tinyseq.nn.parallel import SyncGradients
from tinyseq.ops import conv, ctc, elementwise, linalg, nn_ops, recurrent, reduction, shape
from tinyseq.tensor import Cast, ToDevice

try:
    import torch
except ImportError:
    torch = None

_rng = np.random.default_rng(2024)


def leaf(*shape, low=-2.0, high=2.0, away_from_zero=False):
    values = _rng.uniform(low, high, size=shape)
    if away_from_zero:
        values = np.sign(values + (values == 0)) * (0.2 + np.abs(values))
    return ts.tensor(values, dtype=ts.float64, requires_grad=True)


def positive(*shape):
    return leaf(*shape, low=0.5, high=2.0)


def away_from_jumps(*shape):
    """Values 0.1 to 0.4 above a multiple of 0.5: round, floor and ceil are flat within
    finite differences' reach."""
    values = np.floor(_rng.uniform(-2.0, 2.0, size=shape) * 2) / 2
    values += _rng.uniform(0.1, 0.4, size=shape)
    return ts.tensor(values, dtype=ts.float64, requires_grad=True)


def op_classes():
    """Every subclass of autograd.Function defined in the tinyseq package, but those written
    in PyTorch's style (a static forward(ctx, ...)), which run as custom_function's
    CustomFunction, the op class that has the row."""
    for module in pkgutil.walk_packages(ts.__path__, "tinyseq."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, stack = set(), [autograd.Function]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("tinyseq.") and not isinstance(
                    inspect.getattr_static(cls, "forward"), staticmethod):
                found.add(cls)
    return found


class Row(NamedTuple):
    inputs: Callable
    fn: Callable
    numpy: Callable
    torch: Optional[Callable] = None
    context: Callable = contextlib.nullcontext


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _gelu_both(x):
    """Exact GELU (Phi by the C library's erfc) plus its tanh estimate."""
    cdf = np.vectorize(math.erfc)(-x * math.sqrt(0.5)) / 2
    return x * cdf + 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _conv2d(x, w, b, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("bchwij,ocij->bohw", windows, w) + b.reshape(1, -1, 1, 1)


def _lstm_layer(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    """The LSTM cell's formulas step by step: the states (2, T, B, H) after every step."""
    h, c = state
    states = []
    for x_t in x:
        i, f, g, o = np.split(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        states.append((h, c))
    return np.stack([np.stack(s) for s in zip(*states)])


def _torch_lstm_layer(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    states = []
    for x_t in x:
        i, f, g, o = (x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        states.append((h, c))
    return torch.stack([torch.stack(s) for s in zip(*states)])


def _logsumexp(x, axis, keepdims=False):
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


def _batch_norm(x, mean, var, weight, bias):
    shape = (1, -1, 1)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5) * \
        weight.reshape(shape) + bias.reshape(shape)


def _batch_norm_both_modes(x, weight, bias):
    """Training mode (the batch's statistics) and evaluation mode (running ones), stacked."""
    training = F.batch_norm(x, ts.tensor(RUNNING_MEAN), ts.tensor(RUNNING_VAR), weight, bias,
                            training=True)
    evaluation = F.batch_norm(x, ts.tensor(RUNNING_MEAN), ts.tensor(RUNNING_VAR), weight, bias,
                              training=False)
    return ts.stack([training, evaluation])


def _numpy_batch_norm_both_modes(x, weight, bias):
    training = _batch_norm(x, x.mean(axis=(0, 2)), x.var(axis=(0, 2)), weight, bias)
    evaluation = _batch_norm(x, RUNNING_MEAN, RUNNING_VAR, weight, bias)
    return np.stack([training, evaluation])


def _torch_batch_norm_both_modes(x, weight, bias):
    training, evaluation = (
        torch.nn.functional.batch_norm(x, torch.tensor(RUNNING_MEAN), torch.tensor(RUNNING_VAR),
                                       weight, bias, training=mode) for mode in (True, False))
    return torch.stack([training, evaluation])


class _Weight(nn.Module):
    """A model whose output is its one parameter."""

    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self):
        return self.weight


def _data_parallel(weight):
    """``weight`` through DistributedDataParallel's SyncGradients: backward gives it the
    output's gradient, then averages ``weight.grad`` over the ranks (here one)."""
    return nn.parallel.DistributedDataParallel(_Weight(weight))()


@contextlib.contextmanager
def _process_group_of_one():
    """SyncGradients' backward ends by averaging gradients over the default process group
    (without one, that averaging raises ValueError); this process alone is that group."""
    if not dist.is_mpi_available():
        pytest.skip("SyncGradients' backward needs a process group: pip install mpi4py")
    dist.init_process_group("mpi")
    try:
        assert dist.get_world_size() == 1
        yield
    finally:
        dist.destroy_process_group()


def _dropout(x):
    ts.manual_seed(0)                       # the same mask at every call gradcheck makes
    return F.dropout(x, 0.5)


def _put(x, v):
    y = x.clone()
    y[0, 1:] = v
    return y


def _torch_put(x, v):
    y = x.clone()
    y[0, 1:] = v
    return y


def _numpy_put(x, v):
    y = x.copy()
    y[0, 1:] = v
    return y


def _numpy_scatter(x, src):
    y = x.copy()
    y[SCATTER_INDEX, np.arange(4)] = src
    return y


def _numpy_scatter_add(x, src):
    y = x.copy()
    np.add.at(y, (SCATTER_ADD_INDEX, np.arange(4)), src)
    return y


def _numpy_index_add(x, source):
    y = x.copy()
    np.add.at(y, INDEX_ADD_INDEX, 1.5 * source)
    return y


def with_zeros():
    """Rows with no 0, one 0 and two: the three cases of a product's gradient."""
    return [ts.tensor([[0.5, -1.5, 2.0, 1.2], [1.3, 0.0, -0.7, 2.0], [0.0, 1.1, 0.0, -0.9]],
                      dtype=ts.float64, requires_grad=True)]


def _norms(x):
    """The p = 2, 1, inf and 3 norms of each row, added."""
    return x.norm(dim=1) + x.norm(1, 1) + x.norm(float("inf"), 1) + x.norm(3, 1)


def _numpy_norms(x):
    size = np.abs(x)
    return np.sqrt((x * x).sum(1)) + size.sum(1) + size.max(1) + (size ** 3).sum(1) ** (1 / 3)


def _torch_norms(x):
    return torch.norm(x, dim=1) + torch.norm(x, 1, 1) + torch.norm(x, float("inf"), 1) + \
        torch.norm(x, 3, 1)



def _ctc(x):
    """CTC losses of two sequences behind a log_softmax (where PyTorch's gradient is the
    derivative: tests/test_ctc.py)."""
    return F.ctc_loss(x.log_softmax(-1), ts.tensor(CTC_TARGETS), CTC_INPUT_LENGTHS,
                      CTC_TARGET_LENGTHS, reduction="none")


def _numpy_ctc(x):
    """-log of the summed probability of every path that collapses to each target."""
    log_probs, losses = _log_softmax(x), []
    for n, (steps, length) in enumerate(zip(CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS)):
        total = 0.0
        for path in itertools.product(range(x.shape[2]), repeat=steps):
            merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
            if [c for c in merged if c != 0] == list(CTC_TARGETS[n, :length]):
                total += np.exp(sum(log_probs[t, n, c] for t, c in enumerate(path)))
        losses.append(-np.log(total))
    return np.array(losses)


def _torch_ctc(x):
    return torch.nn.functional.ctc_loss(x.log_softmax(-1), torch.tensor(CTC_TARGETS),
                                        CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS, reduction="none")

GATHER_INDEX = np.array([[2, 0, 2], [1, 1, 0]])
SCATTER_INDEX = np.array([[0, 2, 1, 0], [2, 0, 0, 1]])        # no column writes one place twice
SCATTER_ADD_INDEX = np.array([[0, 2, 1, 0], [0, 0, 1, 0]])    # repeated places add up
INDEX_ADD_INDEX = np.array([0, 2, 0])
CLASS_IDS = np.array([2, 0, 1])
CTC_TARGETS = np.array([[1, 2], [1, 1]])                      # "aa" needs a blank between
CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS = [4, 3], [2, 2]
MASK = np.array([[True, False, True], [False, False, True]])
EMBEDDING_IDS = np.array([[1, 3], [1, 0]])
CPU = backend.get_device("cpu")
RUNNING_MEAN = np.array([0.3, -0.2, 0.1])
RUNNING_VAR = np.array([0.5, 1.5, 0.9])

class _SinhAndProduct(autograd.Function):
    """(sinh a, a * b) as a custom function in PyTorch's style."""
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return (a.exp() - (-a).exp()) / 2, a * b

    @staticmethod
    def backward(ctx, grad_sinh, grad_product):
        a, b = ctx.saved_tensors
        return grad_sinh * (a.exp() + (-a).exp()) / 2 + grad_product * b, grad_product * a


ROWS = {
    # elementwise
    elementwise.Add: Row(lambda: [leaf(2, 3), leaf(3)], lambda a, b: a + b, np.add,
                         lambda a, b: a + b),
    elementwise.Sub: Row(lambda: [leaf(2, 3), leaf(3)], lambda a, b: a - b, np.subtract,
                         lambda a, b: a - b),
    elementwise.Mul: Row(lambda: [leaf(2, 3), leaf(2, 1)], lambda a, b: a * b, np.multiply,
                         lambda a, b: a * b),
    elementwise.Div: Row(lambda: [leaf(2, 3), leaf(3, away_from_zero=True)], lambda a, b: a / b,
                         np.divide, lambda a, b: a / b),
    elementwise.Clone: Row(lambda: [leaf(2, 3)], lambda x: x.clone(), np.copy,
                           lambda x: x.clone()),
    elementwise.Neg: Row(lambda: [leaf(2, 3)], lambda x: -x, np.negative, lambda x: -x),
    elementwise.PowScalar: Row(lambda: [positive(2, 3)], lambda x: x ** 2.5, lambda x: x ** 2.5,
                               lambda x: x ** 2.5),
    elementwise.Pow: Row(lambda: [positive(2, 3), leaf(3)], lambda a, b: a ** b, np.power,
                         lambda a, b: a ** b),
    elementwise.Exp: Row(lambda: [leaf(2, 3)], lambda x: x.exp(), np.exp, torch and torch.exp),
    elementwise.Erf: Row(lambda: [leaf(2, 3)], lambda x: x.erf(),
                         np.vectorize(math.erf), torch and torch.erf),
    elementwise.Erfc: Row(lambda: [leaf(2, 3)], lambda x: x.erfc(),
                          np.vectorize(math.erfc), torch and torch.erfc),
    elementwise.Log: Row(lambda: [positive(2, 3)], lambda x: x.log(), np.log,
                         torch and torch.log),
    elementwise.Tanh: Row(lambda: [leaf(2, 3)], lambda x: x.tanh(), np.tanh,
                          torch and torch.tanh),
    elementwise.Sigmoid: Row(lambda: [leaf(2, 3)], lambda x: x.sigmoid(), _sigmoid,
                             torch and torch.sigmoid),
    elementwise.Relu: Row(lambda: [leaf(2, 3, away_from_zero=True)], lambda x: x.relu(),
                          lambda x: np.maximum(x, 0), torch and torch.relu),
    elementwise.Sin: Row(lambda: [leaf(2, 3)], lambda x: x.sin(), np.sin, torch and torch.sin),
    elementwise.Cos: Row(lambda: [leaf(2, 3)], lambda x: x.cos(), np.cos, torch and torch.cos),
    elementwise.Abs: Row(lambda: [leaf(2, 3, away_from_zero=True)], lambda x: x.abs(), np.abs,
                         torch and torch.abs),
    elementwise.Sqrt: Row(lambda: [positive(2, 3)], lambda x: x.sqrt(), np.sqrt,
                          torch and torch.sqrt),
    elementwise.Clamp: Row(lambda: [leaf(2, 3)], lambda x: x.clamp(-0.5, 0.7),
                           lambda x: np.clip(x, -0.5, 0.7), lambda x: x.clamp(-0.5, 0.7)),
    elementwise.Where: Row(lambda: [leaf(2, 3), leaf(3)],
                           lambda a, b: ts.where(ts.tensor(MASK), a, b),
                           lambda a, b: np.where(MASK, a, b),
                           lambda a, b: torch.where(torch.tensor(MASK), a, b)),
    elementwise.Rounding: Row(lambda: [away_from_jumps(2, 3)],
                              lambda x: x.round() + 2 * x.floor() + 4 * x.ceil(),
                              lambda x: np.round(x) + 2 * np.floor(x) + 4 * np.ceil(x),
                              lambda x: x.round() + 2 * x.floor() + 4 * x.ceil()),
    elementwise.Compare: Row(lambda: [leaf(2, 3), leaf(3)], lambda a, b: a < b, np.less,
                             lambda a, b: a < b),
    elementwise.Bitwise: Row(lambda: [leaf(2, 3), leaf(3)],
                             lambda a, b: ((a > 0) & (b > 0)) | ~(a > 1) ^ (b < -1),
                             lambda a, b: ((a > 0) & (b > 0)) | ~(a > 1) ^ (b < -1),
                             lambda a, b: ((a > 0) & (b > 0)) | ~(a > 1) ^ (b < -1)),
    elementwise.FloorDivide: Row(lambda: [leaf(2, 3), leaf(3, away_from_zero=True)],
                                 lambda a, b: a // b, np.floor_divide, lambda a, b: a // b),
    elementwise.TruncDivide: Row(lambda: [leaf(2, 3), leaf(3, away_from_zero=True)],
                                 lambda a, b: ts.div(a, b, rounding_mode="trunc"),
                                 lambda a, b: np.trunc(a / b),
                                 lambda a, b: torch.div(a, b, rounding_mode="trunc")),
    elementwise.Remainder: Row(lambda: [leaf(2, 3), leaf(3, low=0.7, high=0.9)],
                               lambda a, b: a % b, np.remainder, lambda a, b: a % b),
    elementwise.Sign: Row(lambda: [leaf(2, 3, away_from_zero=True)], lambda x: x.sign() * x,
                          lambda x: np.sign(x) * x, lambda x: x.sign() * x),
    elementwise.Log1p: Row(lambda: [leaf(2, 3, low=-0.8, high=2.0)], lambda x: x.log1p(),
                           np.log1p, torch and torch.log1p),
    elementwise.Expm1: Row(lambda: [leaf(2, 3)], lambda x: x.expm1(), np.expm1,
                           torch and torch.expm1),
    elementwise.Reciprocal: Row(lambda: [leaf(2, 3, away_from_zero=True)],
                                lambda x: x.reciprocal(), np.reciprocal,
                                torch and torch.reciprocal),
    elementwise.Rsqrt: Row(lambda: [positive(2, 3)], lambda x: x.rsqrt(),
                           lambda x: 1 / np.sqrt(x), torch and torch.rsqrt),
    elementwise.Maximum: Row(lambda: [leaf(2, 3), leaf(3)], ts.maximum, np.maximum,
                             torch and torch.maximum),
    elementwise.Minimum: Row(lambda: [leaf(2, 3), leaf(3)], ts.minimum, np.minimum,
                             torch and torch.minimum),
    elementwise.Sinh: Row(lambda: [leaf(2, 3)], ts.sinh, np.sinh, torch and torch.sinh),
    elementwise.Cosh: Row(lambda: [leaf(2, 3)], ts.cosh, np.cosh, torch and torch.cosh),
    elementwise.Asin: Row(lambda: [leaf(2, 3, low=-0.9, high=0.9)], ts.asin, np.arcsin,
                          torch and torch.asin),
    elementwise.Acos: Row(lambda: [leaf(2, 3, low=-0.9, high=0.9)], ts.acos, np.arccos,
                          torch and torch.acos),
    elementwise.Atan: Row(lambda: [leaf(2, 3)], ts.atan, np.arctan, torch and torch.atan),
    elementwise.Asinh: Row(lambda: [leaf(2, 3)], ts.asinh, np.arcsinh, torch and torch.asinh),
    elementwise.Acosh: Row(lambda: [leaf(2, 3, low=1.2, high=3.0)], ts.acosh, np.arccosh,
                           torch and torch.acosh),
    elementwise.Atanh: Row(lambda: [leaf(2, 3, low=-0.9, high=0.9)], ts.atanh, np.arctanh,
                           torch and torch.atanh),
    elementwise.Log2: Row(lambda: [positive(2, 3)], ts.log2, np.log2, torch and torch.log2),
    elementwise.Log10: Row(lambda: [positive(2, 3)], ts.log10, np.log10, torch and torch.log10),
    elementwise.Exp2: Row(lambda: [leaf(2, 3)], ts.exp2, np.exp2, torch and torch.exp2),
    elementwise.Frac: Row(lambda: [away_from_jumps(2, 3)], ts.frac, lambda x: x - np.trunc(x),
                          torch and torch.frac),
    # 0.1 to 0.9 with eps 0.2: some values clamped, none at a bound
    elementwise.Logit: Row(lambda: [leaf(2, 3, low=0.1, high=0.9)],
                           lambda x: x.logit() + 2 * x.logit(eps=0.2),
                           lambda x: np.log(x / (1 - x)) +
                           2 * np.log(np.clip(x, 0.2, 0.8) / (1 - np.clip(x, 0.2, 0.8))),
                           lambda x: torch.logit(x) + 2 * torch.logit(x, eps=0.2)),
    elementwise.NanToNum: Row(lambda: [leaf(2, 3)], ts.nan_to_num, np.nan_to_num,
                              torch and torch.nan_to_num),
    elementwise.Atan2: Row(lambda: [leaf(2, 3), leaf(3, away_from_zero=True)], ts.atan2,
                           np.arctan2, torch and torch.atan2),
    elementwise.Hypot: Row(lambda: [leaf(2, 3), leaf(3)], ts.hypot, np.hypot,
                           torch and torch.hypot),
    elementwise.Fmod: Row(lambda: [leaf(2, 3), leaf(3, low=0.7, high=0.9)], ts.fmod, np.fmod,
                          torch and torch.fmod),
    elementwise.Logaddexp: Row(lambda: [leaf(2, 3), leaf(3)], ts.logaddexp, np.logaddexp,
                               torch and torch.logaddexp),
    elementwise.Logaddexp2: Row(lambda: [leaf(2, 3), leaf(3)], ts.logaddexp2, np.logaddexp2,
                                torch and torch.logaddexp2),
    elementwise.Xlogy: Row(lambda: [leaf(2, 3), positive(3)], ts.xlogy,
                           lambda a, b: a * np.log(b), torch and torch.xlogy),
    elementwise.Heaviside: Row(lambda: [ts.tensor([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]],
                                                  dtype=ts.float64, requires_grad=True),
                                        leaf(3)],
                               ts.heaviside, np.heaviside, torch and torch.heaviside),
    elementwise.Copysign: Row(lambda: [leaf(2, 3, away_from_zero=True),
                                       leaf(3, away_from_zero=True)],
                              ts.copysign, np.copysign, torch and torch.copysign),
    elementwise.Gelu: Row(lambda: [leaf(2, 3, low=-4.0, high=4.0)],
                          lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), _gelu_both,
                          lambda x: torch.nn.functional.gelu(x) +
                          torch.nn.functional.gelu(x, approximate="tanh")),
    # linear algebra
    linalg.MatMul: Row(lambda: [leaf(2, 3), leaf(3, 4)], lambda a, b: a @ b, np.matmul,
                       lambda a, b: a @ b),
    linalg.Linear: Row(lambda: [leaf(2, 3), leaf(4, 3), leaf(4)], F.linear,
                       lambda x, w, b: x @ w.T + b,
                       torch and torch.nn.functional.linear),
    linalg.Einsum: Row(lambda: [leaf(2, 3), leaf(3, 4)], lambda a, b: ts.einsum("ij,jk->ki", a, b),
                       lambda a, b: np.einsum("ij,jk->ki", a, b),
                       lambda a, b: torch.einsum("ij,jk->ki", a, b)),
    # reductions
    reduction.Sum: Row(lambda: [leaf(2, 3)], lambda x: x.sum(1), lambda x: x.sum(1),
                       lambda x: x.sum(1)),
    reduction.Mean: Row(lambda: [leaf(2, 3)], lambda x: x.mean(0), lambda x: x.mean(0),
                        lambda x: x.mean(0)),
    reduction.Max: Row(lambda: [leaf(2, 3)], lambda x: x.amax(1), lambda x: x.max(1),
                       lambda x: x.amax(1)),
    reduction.Min: Row(lambda: [leaf(2, 3)], lambda x: x.amin(0), lambda x: x.min(0),
                       lambda x: x.amin(0)),
    reduction.LogSumExp: Row(lambda: [leaf(2, 3)],
                             lambda x: ts.logsumexp(x, 1, keepdim=True) - ts.logsumexp(x, 0),
                             lambda x: _logsumexp(x, 1, keepdims=True) - _logsumexp(x, 0),
                             lambda x: torch.logsumexp(x, 1, keepdim=True) - torch.logsumexp(x, 0)),
    reduction.Prod: Row(with_zeros, lambda x: x.prod(1), lambda x: x.prod(1),
                        lambda x: x.prod(1)),
    reduction.Norm: Row(lambda: [leaf(2, 3)], _norms, _numpy_norms, torch and _torch_norms),
    reduction.Cumsum: Row(lambda: [leaf(2, 3)], lambda x: x.cumsum(1),
                          lambda x: np.cumsum(x, 1), lambda x: x.cumsum(1)),
    reduction.Cumprod: Row(with_zeros, lambda x: x.cumprod(1), lambda x: np.cumprod(x, 1),
                           lambda x: x.cumprod(1)),
    reduction.LogCumSumExp: Row(lambda: [leaf(2, 3)], lambda x: x.logcumsumexp(1),
                                lambda x: np.logaddexp.accumulate(x, axis=1),
                                lambda x: x.logcumsumexp(1)),
    # shape and indexing
    shape.Reshape: Row(lambda: [leaf(2, 3)], lambda x: x.reshape(3, 2),
                       lambda x: x.reshape(3, 2), lambda x: x.reshape(3, 2)),
    shape.Transpose: Row(lambda: [leaf(2, 3, 4)], lambda x: x.permute(2, 0, 1),
                         lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    shape.BroadcastTo: Row(lambda: [leaf(1, 3)], lambda x: x.expand(2, 3),
                           lambda x: np.broadcast_to(x, (2, 3)), lambda x: x.expand(2, 3)),
    shape.GetItem: Row(lambda: [leaf(3, 4)], lambda x: x[1:, ::2], lambda x: x[1:, ::2],
                       lambda x: x[1:, ::2]),
    shape.Concat: Row(lambda: [leaf(2, 3), leaf(1, 3)], lambda a, b: ts.cat([a, b], 0),
                      lambda a, b: np.concatenate([a, b], 0), lambda a, b: torch.cat([a, b], 0)),
    shape.Stack: Row(lambda: [leaf(2, 3), leaf(2, 3)], lambda a, b: ts.stack([a, b], 1),
                     lambda a, b: np.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1)),
    shape.Gather: Row(lambda: [leaf(2, 3)], lambda x: x.gather(1, ts.tensor(GATHER_INDEX)),
                      lambda x: np.take_along_axis(x, GATHER_INDEX, 1),
                      lambda x: x.gather(1, torch.tensor(GATHER_INDEX))),
    shape.IndexPut: Row(lambda: [leaf(2, 3), leaf(2)], _put, _numpy_put, _torch_put),
    shape.Scatter: Row(lambda: [leaf(3, 4), leaf(2, 4)],
                       lambda x, src: x.scatter(0, ts.tensor(SCATTER_INDEX), src), _numpy_scatter,
                       lambda x, src: x.scatter(0, torch.tensor(SCATTER_INDEX), src)),
    shape.ScatterAdd: Row(lambda: [leaf(3, 4), leaf(2, 4)],
                          lambda x, src: ts.scatter_add(x, 0, ts.tensor(SCATTER_ADD_INDEX), src),
                          _numpy_scatter_add,
                          lambda x, src: torch.scatter_add(x, 0, torch.tensor(SCATTER_ADD_INDEX),
                                                           src)),
    shape.IndexAdd: Row(lambda: [leaf(3, 2), leaf(3, 2)],
                        lambda x, s: ts.index_add(x, 0, ts.tensor(INDEX_ADD_INDEX), s, alpha=1.5),
                        _numpy_index_add,
                        lambda x, s: torch.index_add(x, 0, torch.tensor(INDEX_ADD_INDEX), s,
                                                     alpha=1.5)),
    shape.Repeat: Row(lambda: [leaf(2, 3)], lambda x: x.repeat(2, 1), lambda x: np.tile(x, (2, 1)),
                      lambda x: x.repeat(2, 1)),
    shape.Pad: Row(lambda: [leaf(2, 3)], lambda x: F.pad(x, (1, 2), value=0.5),
                   lambda x: np.pad(x, ((0, 0), (1, 2)), constant_values=0.5),
                   lambda x: torch.nn.functional.pad(x, (1, 2), value=0.5)),
    shape.Flip: Row(lambda: [leaf(2, 3, 4)], lambda x: x.flip(0, 2),
                    lambda x: np.flip(x, (0, 2)), lambda x: x.flip(0, 2)),
    shape.Roll: Row(lambda: [leaf(2, 3, 4)], lambda x: x.roll((1, -2), (0, 2)),
                    lambda x: np.roll(x, (1, -2), (0, 2)), lambda x: x.roll((1, -2), (0, 2))),
    shape.Tril: Row(lambda: [leaf(2, 3, 4)], lambda x: x.tril(1), lambda x: np.tril(x, 1),
                    lambda x: x.tril(1)),
    shape.Triu: Row(lambda: [leaf(3, 4)], lambda x: x.triu(-1), lambda x: np.triu(x, -1),
                    lambda x: x.triu(-1)),
    # neural-network ops
    nn_ops.Softmax: Row(lambda: [leaf(2, 3)], lambda x: x.softmax(-1),
                        lambda x: np.exp(_log_softmax(x)), lambda x: x.softmax(-1)),
    nn_ops.LogSoftmax: Row(lambda: [leaf(2, 3)], lambda x: x.log_softmax(-1), _log_softmax,
                           lambda x: x.log_softmax(-1)),
    nn_ops.Embedding: Row(lambda: [leaf(4, 3)], lambda w: F.embedding(ts.tensor(EMBEDDING_IDS), w),
                          lambda w: w[EMBEDDING_IDS],
                          lambda w: torch.nn.functional.embedding(torch.tensor(EMBEDDING_IDS), w)),
    nn_ops.Dropout: Row(lambda: [leaf(4, 5)], _dropout,
                        lambda x: None),                      # random: checked in the test
    nn_ops.CrossEntropy: Row(lambda: [leaf(3, 4)], lambda x: F.cross_entropy(x, ts.tensor(CLASS_IDS)),
                             lambda x: -_log_softmax(x)[np.arange(3), CLASS_IDS].mean(),
                             lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(CLASS_IDS))),
    nn_ops.NLLLoss: Row(lambda: [leaf(3, 4)], lambda x: F.nll_loss(x, ts.tensor(CLASS_IDS)),
                        lambda x: -x[np.arange(3), CLASS_IDS].mean(),
                        lambda x: torch.nn.functional.nll_loss(x, torch.tensor(CLASS_IDS))),
    nn_ops.BinaryCrossEntropyWithLogits: Row(
        lambda: [leaf(2, 3), leaf(2, 3, low=0.0, high=1.0)],
        F.binary_cross_entropy_with_logits,
        lambda x, y: (np.logaddexp(0, x) - x * y).mean(),
        torch and torch.nn.functional.binary_cross_entropy_with_logits),
    nn_ops.BinaryCrossEntropy: Row(
        lambda: [leaf(2, 3, low=0.05, high=0.95), leaf(2, 3, low=0.0, high=1.0)],
        F.binary_cross_entropy,
        lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(),
        torch and torch.nn.functional.binary_cross_entropy),
    ctc.CTCLoss: Row(lambda: [leaf(4, 2, 3)], _ctc, _numpy_ctc, torch and _torch_ctc),
    nn_ops.BatchNormalize: Row(lambda: [leaf(4, 3, 2), leaf(3), leaf(3)], _batch_norm_both_modes,
                               _numpy_batch_norm_both_modes,
                               torch and _torch_batch_norm_both_modes),
    nn_ops.MSELoss: Row(lambda: [leaf(2, 3), leaf(2, 3)], F.mse_loss,
                        lambda a, b: ((a - b) ** 2).mean(), torch and torch.nn.functional.mse_loss),
    # convolution
    conv.Conv2d: Row(lambda: [leaf(1, 2, 4, 4), leaf(3, 2, 3, 3), leaf(3)],
                     lambda x, w, b: F.conv2d(x, w, b, padding=1),
                     lambda x, w, b: _conv2d(x, w, b, 1),
                     lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1)),
    conv.MaxPool2d: Row(lambda: [leaf(1, 2, 4, 4)], lambda x: F.max_pool2d(x, 2),
                        lambda x: x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5)),
                        lambda x: torch.nn.functional.max_pool2d(x, 2)),
    # devices and dtypes (moving between two devices: tests/test_device_standin.py)
    ToDevice: Row(lambda: [leaf(2, 3)], lambda x: ToDevice(CPU).apply(x), lambda x: x),
    Cast: Row(lambda: [leaf(2, 3)], lambda x: Cast(np.dtype(np.float64)).apply(x), lambda x: x),
    custom_function.CustomFunction: Row(lambda: [leaf(2, 3), leaf(2, 3)],
                                        lambda a, b: ts.stack(_SinhAndProduct.apply(a, b)),
                                        lambda a, b: np.stack([np.sinh(a), a * b]),
                                        torch and (lambda a, b: torch.stack([a.sinh(), a * b]))),
    # data parallel: the marked output is the identity in values and gradients
    SyncGradients: Row(lambda: [nn.Parameter(leaf(2, 3))], _data_parallel, lambda x: x,
                       context=_process_group_of_one),
    # the fused recurrent layer (one LSTM layer direction; GRU and RNN: tests/test_fused.py)
    recurrent.RecurrentLayer: Row(
        lambda: [leaf(3, 2, 2), leaf(2, 2, 2), leaf(8, 2), leaf(8, 2), leaf(8), leaf(8)],
        lambda *inputs: recurrent.RecurrentLayer(recurrent.LSTMMath()).apply(*inputs),
        _lstm_layer, torch and _torch_lstm_layer),
}


def ids(classes):
    return [cls.__name__ for cls in classes]


def graph_classes(output):
    """The op classes in the graph that made ``output``."""
    found, stack, seen = set(), [output._node], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        found.add(type(node))
        stack.extend(node.parents)
    return found


def test_every_op_class_has_a_row():
    missing = sorted(cls.__module__ + "." + cls.__qualname__ for cls in op_classes() - set(ROWS))
    assert not missing, f"op classes without a row in tests/test_op_table.py: {', '.join(missing)}"


@pytest.mark.parametrize("cls", ROWS, ids=ids(ROWS))
def test_values_against_numpy(cls):
    row = ROWS[cls]
    inputs = row.inputs()
    with row.context():
        out = row.fn(*inputs)
    assert cls in graph_classes(out) or not cls.differentiable, f"{cls.__name__} is not in the graph"
    if cls is nn_ops.Dropout:                   # each value dropped or scaled by 1 / (1 - p)
        x, y = inputs[0].numpy(), out.numpy()
        assert np.all((y == 0) | np.isclose(y, 2 * x)) and 0 < (y == 0).sum() < y.size
        return
    expected = row.numpy(*(t.numpy() for t in inputs))
    assert out.shape == np.shape(expected)
    assert_close(out, expected, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("cls", [cls for cls in ROWS if cls.differentiable],
                         ids=ids(cls for cls in ROWS if cls.differentiable))
def test_gradients_against_finite_differences(cls):
    row = ROWS[cls]
    with row.context():
        gradcheck(row.fn, row.inputs())


TORCH_ROWS = [cls for cls in ROWS if ROWS[cls].torch is not None]


@pytest.mark.skipif(torch is None, reason="PyTorch is the oracle here")
@pytest.mark.parametrize("cls", TORCH_ROWS, ids=ids(TORCH_ROWS))
def test_values_and_gradients_against_pytorch(cls):
    row = ROWS[cls]
    inputs = row.inputs()
    with row.context():
        theirs_inputs = [torch.tensor(t.numpy(), requires_grad=True) for t in inputs]
        ours, theirs = row.fn(*inputs), row.torch(*theirs_inputs)
        assert_close(ours, theirs.detach().numpy(), atol=1e-12, rtol=1e-10)
        if not cls.differentiable:
            return
        weight = np.random.default_rng(0).standard_normal(ours.shape)
        (ours * ts.tensor(weight)).sum().backward()
        (theirs * torch.tensor(weight)).sum().backward()
        for a, b in zip(inputs, theirs_inputs):
            assert_close(a.grad, b.grad.numpy(), atol=1e-10, rtol=1e-8)

"""F.pad and nn.Conv1d / nn.Conv2d against PyTorch on hypothesis-drawn arguments (float64):
where both accept, the same values and gradients; a refusal is a ValueError or
NotImplementedError naming the op. Convolutions refuse exactly what PyTorch refuses; F.pad
refuses what PyTorch computes from uninitialised memory or refuses itself, and an empty
result. TINYSEQ_FUZZ_EXAMPLES sets the examples per test (CI: 150)."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import tinyseq as ts  # noqa: E402
from tinyseq import functional as F  # noqa: E402
from tinyseq import nn  # noqa: E402

EXAMPLES = int(os.environ.get("TINYSEQ_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _run_torch(build):
    """(output, input gradient) of ``build(x)`` in PyTorch, or the exception it raised."""
    try:
        return build()
    except (RuntimeError, ValueError, NotImplementedError) as error:
        return error


@st.composite
def paddings(draw):
    ndim = draw(st.integers(1, 5))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    dims = draw(st.integers(1, min(ndim, 3)))
    pad = tuple(draw(st.lists(st.integers(-3, 4), min_size=2 * dims, max_size=2 * dims)))
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    return shape, pad, mode


@FUZZ
@given(case=paddings())
def test_pad_agrees_with_torch_where_both_pad(case):
    shape, pad, mode = case
    x = np.random.default_rng(0).standard_normal(shape)

    def theirs():
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.pad(tx, pad, mode=mode)
        weights = np.random.default_rng(1).standard_normal(tuple(ty.shape))
        (ty * torch.tensor(weights)).sum().backward()
        return ty.detach().numpy(), tx.grad.numpy(), weights

    expected = _run_torch(theirs)
    ours = ts.tensor(x, requires_grad=True)
    try:
        got = F.pad(ours, pad, mode=mode)
    except (ValueError, NotImplementedError) as error:
        assert str(error).startswith("pad: ")
        return
    if isinstance(expected, Exception):
        return                   # PyTorch's multi-wrap circular backward fails on its own copy
    values, grad, weights = expected
    np.testing.assert_array_equal(got.numpy(), values)
    (got * ts.tensor(weights)).sum().backward()
    widths = [(shape[len(shape) - 1 - i], pad[2 * i], pad[2 * i + 1])
              for i in range(len(pad) // 2)]
    wraps_twice = mode == "circular" and any(
        max(left, right) > size + min(left, 0) + min(right, 0) for size, left, right in widths)
    if not wraps_twice:          # there PyTorch's gradient counts one wrap
        np.testing.assert_allclose(ours.grad.numpy(), grad, rtol=0, atol=1e-12)


@st.composite
def convolutions(draw):
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    channels = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    per_dim = lambda low, high: tuple(draw(st.lists(st.integers(low, high), min_size=dims,
                                                    max_size=dims)))
    padding = draw(st.one_of(st.integers(0, 3), st.just(per_dim(0, 3)),
                             st.sampled_from(["same", "valid"])))
    stride = (1,) * dims if padding == "same" else per_dim(1, 3)
    kwargs = dict(stride=stride, padding=padding, dilation=per_dim(1, 3), groups=groups,
                  bias=draw(st.booleans()),
                  padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate",
                                                     "circular"])))
    if dims == 1:
        kwargs = {k: v[0] if isinstance(v, tuple) else v for k, v in kwargs.items()}
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    shape = batch + (channels[0],) + per_dim(1, 8)
    kernel = per_dim(1, 4)
    return dims, channels, kernel if dims == 2 else kernel[0], kwargs, shape


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@FUZZ
@given(case=convolutions())
def test_convolution_agrees_with_torch(case):
    dims, (c_in, c_out), kernel, kwargs, shape = case
    ours_class, their_class = (nn.Conv1d, torch.nn.Conv1d) if dims == 1 else \
        (nn.Conv2d, torch.nn.Conv2d)
    x = np.random.default_rng(0).standard_normal(shape)
    layer = their_class(c_in, c_out, kernel, **kwargs).double()

    def theirs():
        tx = torch.tensor(x, requires_grad=True)
        ty = layer(tx)
        ty.sum().backward()
        return ty.detach().numpy(), tx.grad.numpy()

    expected = _run_torch(theirs)
    ours = ours_class(c_in, c_out, kernel, **kwargs, dtype=ts.float64)
    ours.load_state_dict({k: ts.tensor(v.detach().numpy()) for k, v in layer.state_dict().items()})
    our_x = ts.tensor(x, requires_grad=True)
    if isinstance(expected, Exception):
        with pytest.raises((ValueError, NotImplementedError),
                           match=r"^(conv[12]d|Conv[12]d|pad): "):
            ours(our_x)
        return
    got = ours(our_x)
    got.sum().backward()
    np.testing.assert_allclose(got.numpy(), expected[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(our_x.grad.numpy(), expected[1], rtol=1e-10, atol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), layer.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-9,
                                   err_msg=name)

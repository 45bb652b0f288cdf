"""Conv2d and MaxPool2d: finite differences, PyTorch parity (values and gradients), errors,
the layers, the stand-in device; and F.one_hot."""
import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn

from gradcheck import assert_close, gradcheck
from test_device_standin import StandinArray, standin  # noqa: F401  (standin is a fixture)

# (input shape, weight shape, stride, padding)
CONV_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 0),
    ((1, 2, 7, 7), (3, 2, 3, 3), 2, 1),
    ((2, 1, 5, 8), (2, 1, 2, 4), (1, 2), (2, 0)),
    ((3, 2, 4, 4), (5, 2, 1, 1), 1, 0),
    ((1, 3, 6, 6), (2, 3, 5, 5), 3, 2),
]
# (input shape, kernel, stride, padding)
POOL_CASES = [
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 5), 3, 2, 1),
    ((2, 1, 5, 8), (2, 3), (1, 2), (1, 1)),
    ((1, 1, 4, 4), 3, 1, 0),
]


def rand(rng, shape):
    return ts.tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
def test_conv2d_gradcheck(float64, x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, x_shape), rand(rng, w_shape), rand(rng, w_shape[:1])
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding), [x, w, b])
    assert gradcheck(lambda x, w: F.conv2d(x, w, None, stride, padding), [x, w])


@pytest.mark.parametrize("x_shape,kernel,stride,padding", POOL_CASES)
def test_max_pool2d_gradcheck(float64, x_shape, kernel, stride, padding):
    x = rand(np.random.default_rng(2), x_shape)  # distinct values: no ties within a window
    assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [x], eps=1e-7)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
def test_conv2d_matches_pytorch(float64, x_shape, w_shape, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w, b = rand(rng, x_shape), rand(rng, w_shape), rand(rng, w_shape[:1])
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    y = F.conv2d(x, w, b, stride, padding)
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride, padding)
    assert y.shape == tuple(ty.shape)
    assert_close(y, ty.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        assert_close(ours.grad, theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("x_shape,kernel,stride,padding", POOL_CASES)
def test_max_pool2d_matches_pytorch(float64, x_shape, kernel, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rand(rng, x_shape)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    y = F.max_pool2d(x, kernel, stride, padding)
    ty = torch.nn.functional.max_pool2d(tx, kernel, stride, padding)
    assert y.shape == tuple(ty.shape)
    assert_close(y, ty.detach().numpy(), atol=0)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad.numpy(), atol=1e-12)


def test_max_pool2d_sends_a_tied_window_its_gradient_once_at_the_first_maximum():
    x = ts.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert_close(x.grad, [[[[1.0, 0.0], [0.0, 0.0]]]], atol=0)  # PyTorch's choice too


def test_conv2d_float32_stays_float32_and_unbatched_input_works():
    x = ts.randn(3, 5, 5)
    conv = nn.Conv2d(3, 2, 3, padding=1)
    y = conv(x)
    assert y.shape == (2, 5, 5) and y.dtype == np.float32
    assert_close(y, conv(x.unsqueeze(0))[0], atol=1e-6)
    assert F.max_pool2d(x, 2).shape == (3, 2, 2)


def test_layers_match_pytorch_layers(float64):
    torch = pytest.importorskip("torch")
    conv, pool = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1), nn.MaxPool2d(2)
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert conv.weight.shape == (3, 2, 3, 2)
    bound = 1 / np.sqrt(2 * 3 * 2)
    assert np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.weight.numpy()).max() > 0.5 * bound
    reference = torch.nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1).double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in conv.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((2, 2, 8, 7))
    ours = pool(conv(ts.tensor(x)).relu())
    theirs = torch.nn.MaxPool2d(2)(reference(torch.tensor(x)).relu())
    assert_close(ours, theirs.detach().numpy(), atol=1e-12)
    assert nn.Conv2d(2, 3, 3, bias=False).bias is None


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.conv2d(ts.randn(2, 3, 5, 5), ts.randn(4, 2, 3, 3)), ValueError, "3 channels"),
    (lambda: F.conv2d(ts.randn(3, 5), ts.randn(4, 3, 3, 3)), ValueError, r"conv2d: expected"),
    (lambda: F.conv2d(ts.randn(1, 3, 2, 2), ts.randn(4, 3, 3, 3)), ValueError, "larger than"),
    (lambda: F.conv2d(ts.randn(1, 3, 5, 5), ts.randn(4, 3, 3, 3), ts.randn(3)), ValueError, "bias"),
    (lambda: F.conv2d(ts.randn(1, 3, 5, 5), ts.randn(4, 3, 3, 3), stride=0), ValueError, "stride"),
    (lambda: F.conv2d(ts.randn(1, 3, 5, 5), ts.randn(4, 3, 3, 3), padding=-1), ValueError,
     "padding"),
    (lambda: F.conv2d(ts.randn(1, 3, 5, 5), ts.randn(4, 3, 3, 3), stride=1.5), TypeError,
     "stride"),
    (lambda: F.conv2d(np.ones((1, 3, 5, 5)), ts.randn(4, 3, 3, 3)), TypeError, "Tensor"),
    (lambda: F.max_pool2d(ts.randn(1, 1, 4, 4), 2, padding=2), ValueError, "half"),
    (lambda: F.max_pool2d(ts.randn(1, 1, 2, 2), 3), ValueError, "larger than"),
    (lambda: F.max_pool2d(ts.randn(4, 4), 2), ValueError, "max_pool2d: expected"),
    (lambda: F.max_pool2d(ts.randn(1, 1, 4, 4), (2, 2, 2)), TypeError, "kernel_size"),
    (lambda: nn.Conv2d(0, 3, 3), ValueError, "in_channels"),
])
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_conv_and_pool_train_on_the_standin_device_as_on_cpu(standin, float64):
    def run(device):
        ts.manual_seed(0)
        conv = nn.Conv2d(2, 3, 3, stride=2, padding=1).to(device)
        x = ts.tensor(np.random.default_rng(6).standard_normal((2, 2, 7, 7)), device=device,
                      requires_grad=True)
        y = nn.MaxPool2d(2, padding=1)(conv(x))
        (y * y).sum().backward()
        return [y, x.grad, conv.weight.grad, conv.bias.grad]

    on_standin, on_cpu = run("standin"), run("cpu")
    for ours, reference in zip(on_standin, on_cpu):
        assert type(ours.array) is StandinArray
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=0, atol=1e-12)


def test_one_hot_matches_pytorch():
    torch = pytest.importorskip("torch")
    ids = np.array([[0, 3], [2, 1]])
    for num_classes in (-1, 4, 6):
        ours = F.one_hot(ts.tensor(ids), num_classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(ids), num_classes)
        assert ours.dtype == np.int64 and not ours.requires_grad
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("ids,num_classes,error", [
    (np.array([0, 4]), 4, IndexError), (np.array([-1, 0]), 3, IndexError),
    (np.array([0.0, 1.0]), 2, TypeError), (np.array([0, 1]), -2, ValueError),
    (np.zeros(0, dtype=np.int64), -1, ValueError),
])
def test_one_hot_rejects_bad_input(ids, num_classes, error):
    with pytest.raises(error, match="one_hot"):
        F.one_hot(ts.tensor(ids), num_classes)

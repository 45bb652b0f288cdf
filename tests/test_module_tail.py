"""nn.Module's remaining PyTorch surface: forward pre-hooks and hook options, the dotted-path
accessors, recurse / prefix / remove_duplicate on the walks, and to(dtype)."""
import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn

try:
    import torch
except ImportError:
    torch = None


def tree(lib):
    """A model with a shared layer and a buffer: the same text on either library."""
    shared = lib.nn.Linear(2, 2)
    model = lib.nn.Sequential(shared, lib.nn.ReLU(), shared, lib.nn.BatchNorm1d(2))
    return model


def test_forward_pre_hooks_replace_the_arguments_in_order_and_come_off():
    layer = nn.Linear(2, 1)
    seen = []
    first = layer.register_forward_pre_hook(lambda m, args: seen.append("first") or
                                            (args[0] * 2,))
    layer.register_forward_pre_hook(lambda m, args: seen.append("prepended"), prepend=True)
    x = ts.ones(1, 2)
    expected = layer.weight.detach().numpy().sum() * 2 + layer.bias.item()
    assert layer(x).item() == pytest.approx(expected)
    assert seen == ["prepended", "first"]
    first.remove()
    assert layer(x).item() == pytest.approx(expected - layer.weight.detach().numpy().sum())
    layer.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 0,), kwargs),
                                    with_kwargs=True)
    assert layer(x).item() == pytest.approx(layer.bias.item())


def test_forward_hook_options():
    layer = nn.Linear(2, 1)
    calls = []
    layer.register_forward_hook(lambda m, args, kwargs, out: calls.append(sorted(kwargs)),
                                with_kwargs=True)

    class Failing(nn.Module):
        def forward(self, x):
            raise ValueError("no")

    failing = Failing()
    failing.register_forward_hook(lambda m, args, out: calls.append(("always", out)),
                                  always_call=True)
    failing.register_forward_hook(lambda m, args, out: calls.append("never"))
    layer(ts.ones(1, 2))
    with pytest.raises(ValueError, match="no"):
        failing(ts.ones(1))
    assert calls == [[], ("always", None)]
    bad = nn.Linear(2, 1)
    bad.register_forward_pre_hook(lambda m, args, kwargs: "nonsense", with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        bad(ts.ones(1, 2))


@pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")
def test_walks_and_paths_as_torchs():
    ours, theirs = tree(ts), tree(torch)
    for kwargs in ({}, {"prefix": "m"}, {"recurse": False}, {"remove_duplicate": False}):
        assert [n for n, _ in ours.named_parameters(**kwargs)] == \
            [n for n, _ in theirs.named_parameters(**kwargs)], kwargs
        assert [n for n, _ in ours.named_buffers(**kwargs)] == \
            [n for n, _ in theirs.named_buffers(**kwargs)], kwargs
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_modules(remove_duplicate=False)]
    assert list(ours[0].parameters(recurse=False)) == [ours[0].weight, ours[0].bias]
    assert ours.get_submodule("3") is ours[3]
    assert ours.get_parameter("0.weight") is ours[0].weight
    assert ours.get_buffer("3.running_mean") is ours[3].running_mean
    for call in (lambda m: m.get_submodule("9"), lambda m: m.get_parameter("0.nothing"),
                 lambda m: m.get_buffer("0.weight")):
        with pytest.raises(AttributeError):
            call(theirs)
        with pytest.raises(AttributeError):
            call(ours)
    ours.set_submodule("1", nn.Tanh())
    assert isinstance(ours[1], nn.Tanh)
    with pytest.raises(AttributeError):
        ours.set_submodule("3.inner", nn.Tanh(), strict=True)


def test_to_dtype_and_device_in_place():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model(ts.ones(3, 2)).sum().backward()
    assert model.to(ts.float64) is model
    assert model[0].weight.dtype == ts.float64 and model[0].weight.grad.dtype == ts.float64
    assert model[1].running_mean.dtype == ts.float64
    assert model[1].num_batches_tracked.dtype == ts.int64           # not floating: kept
    model.to("cpu", ts.float32)
    assert model[0].weight.dtype == ts.float32
    model.to(ts.zeros(1, dtype=ts.float64))
    assert model[0].bias.dtype == ts.float64
    model.type(ts.float32).half()
    assert model[0].weight.dtype == ts.float16
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        model.to(ts.int64)
    assert model[0].weight.dtype == ts.float16
    assert model.share_memory() is model and model.compile() is None
    np.testing.assert_array_equal(model[1].running_var.numpy(),
                                  model[1].running_var.numpy().astype(np.float16))


def backward_hook_record(lib):
    """What a Linear's full backward pre-hook and hook see (grad_output doubled by the
    pre-hook, grad_input halved by the hook), and the gradients that reach x and the
    weight: the same text on either library."""
    lib.manual_seed(0)
    layer = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 10))
    seen = []

    def pre_hook(module, grad_output):
        seen.append(("pre", [g.detach().numpy().copy() for g in grad_output]))
        return (grad_output[0] * 2,)

    def hook(module, grad_input, grad_output):
        seen.append(("hook", [g.detach().numpy().copy() for g in grad_input],
                     [g.detach().numpy().copy() for g in grad_output]))
        return (grad_input[0] / 4,)

    layer.register_full_backward_pre_hook(pre_hook)
    layer.register_full_backward_hook(hook)
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    (layer(x) * lib.tensor(np.arange(8.0).reshape(4, 2))).sum().backward()
    return seen, x.grad.numpy(), layer.weight.grad.numpy()


@pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")
def test_full_backward_hooks_as_torchs():
    ours, theirs = backward_hook_record(ts), backward_hook_record(torch)
    assert [entry[0] for entry in ours[0]] == [entry[0] for entry in theirs[0]] == ["pre", "hook"]
    for our_entry, their_entry in zip(ours[0], theirs[0]):
        for our_arrays, their_arrays in zip(our_entry[1:], their_entry[1:]):
            for a, b in zip(our_arrays, their_arrays):
                np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)        # x's: halved twice over
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)        # the weight's: doubled


def test_a_backward_hook_without_inputs_that_need_grad_fires_with_none_and_comes_off():
    layer = nn.Linear(2, 1)
    seen = []
    handle = layer.register_full_backward_hook(
        lambda m, grad_input, grad_output: seen.append((grad_input, grad_output[0].shape)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        layer(ts.ones(3, 2)).sum().backward()
    assert seen == [((None,), (3, 1))]
    handle.remove()
    assert "_hooks" not in layer.__dict__                # calls take the plain path again
    layer(ts.ones(3, 2)).sum().backward()
    assert len(seen) == 1
    with ts.no_grad():                                  # nothing to hook without a graph
        layer.register_full_backward_hook(lambda *a: seen.append("no"))
        layer(ts.ones(1, 2))
    assert len(seen) == 1

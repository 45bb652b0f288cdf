"""The PyTorch idioms real scripts use, each checked against PyTorch as the oracle (values and
gradients), and the new differentiable ops against finite differences in float64."""
import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import assert_close, gradcheck
from tinyseq import nn

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(12)


def values(*shape, low=-2.0, high=2.0):
    return _rng.uniform(low, high, size=shape)


def leaf(*shape, low=-2.0, high=2.0):
    return ts.tensor(values(*shape, low=low, high=high), dtype=ts.float64, requires_grad=True)


def outputs_of(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def agree(ours, theirs, *arrays, atol=1e-10, differentiable=True):
    """``ours(*tensors)`` and ``theirs(*torch_tensors)`` on float64 copies of ``arrays``: the
    same outputs and, for the floating outputs, the same gradients of a random weighting."""
    ts_inputs = [ts.tensor(a, dtype=ts.float64, requires_grad=differentiable) for a in arrays]
    torch_inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=differentiable)
                    for a in arrays]
    got, want = outputs_of(ours(*ts_inputs)), outputs_of(theirs(*torch_inputs))
    assert len(got) == len(want)
    ts_loss, torch_loss = 0.0, 0.0
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(g.numpy(), w.detach().numpy(), atol=atol, rtol=1e-9)
        if differentiable and w.dtype == torch.float64 and w.requires_grad:
            weight = _rng.standard_normal(tuple(w.shape))
            ts_loss = ts_loss + (g * ts.tensor(weight)).sum()
            torch_loss = torch_loss + (w * torch.tensor(weight)).sum()
    if differentiable and isinstance(torch_loss, torch.Tensor):
        ts_loss.backward()
        torch_loss.backward()
        for a, b in zip(ts_inputs, torch_inputs):
            expected = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
            actual = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
            np.testing.assert_allclose(actual, expected, atol=atol, rtol=1e-9)


# --- 1. the three silent differences --------------------------------------------------------
def test_transpose_swaps_two_dims_as_pytorch():
    x = values(2, 3)
    agree(lambda t: t.transpose(0, 1), lambda t: t.transpose(0, 1), x)
    assert ts.tensor(x).transpose(0, 1).shape == (3, 2)        # NumPy's meaning kept it (2, 3)
    agree(lambda t: t.transpose(-1, 0), lambda t: t.transpose(-1, 0), values(2, 3, 4))
    agree(lambda t: ts.transpose(t, 1, 2), lambda t: torch.transpose(t, 1, 2), values(2, 3, 4))


@pytest.mark.parametrize("name, ours, theirs", [
    ("permute", lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    ("permute-tuple", lambda t: t.permute((1, 2, 0)), lambda t: t.permute((1, 2, 0))),
    ("T", lambda t: t.T, lambda t: t.permute(2, 1, 0)),
    ("mT", lambda t: t.mT, lambda t: t.mT),
    ("t", lambda t: t[0].t(), lambda t: t[0].t()),
    ("swapaxes", lambda t: t.swapaxes(0, 2), lambda t: t.swapaxes(0, 2)),
    ("movedim", lambda t: t.movedim(1, -1), lambda t: t.movedim(1, -1)),
])
def test_permutations_as_pytorch(name, ours, theirs):
    agree(ours, theirs, values(2, 3, 4))


def test_max_and_min_along_a_dim_give_values_and_indices():
    x = values(3, 5)
    for name in ("max", "min"):
        got = getattr(ts.tensor(x), name)(1)
        want = getattr(torch.tensor(x), name)(1)
        assert type(got).__name__ == name and got._fields == ("values", "indices")
        values_, indices = got                     # unpacks as a pair, as PyTorch's
        assert_close(values_, want.values.numpy())
        assert indices.dtype == ts.int64 and indices.numpy().tolist() == want.indices.tolist()
        agree(lambda t: getattr(t, name)(dim=0, keepdim=True), lambda t: getattr(t, name)(0, True), x)
        agree(lambda t: getattr(ts, name)(t, 1), lambda t: getattr(torch, name)(t, 1), x)


def test_max_without_dim_is_a_0d_tensor_and_max_of_two_tensors_is_elementwise():
    x, y = values(3, 4), values(3, 4)
    agree(lambda t: t.max(), lambda t: t.max(), x)
    agree(lambda t: t.min(), lambda t: t.min(), x)
    assert ts.tensor(x).max().shape == ()
    agree(lambda a, b: ts.max(a, b), lambda a, b: torch.max(a, b), x, y)
    agree(lambda a, b: a.min(b), lambda a, b: a.min(b), x, y)


def test_max_along_a_dim_sends_the_gradient_to_the_index_it_picked():
    x = ts.tensor([[1.0, 3.0, 3.0]], dtype=ts.float64, requires_grad=True)
    values_, indices = x.max(1)
    values_.sum().backward()
    tx = torch.tensor([[1.0, 3.0, 3.0]], dtype=torch.float64, requires_grad=True)
    tx.max(1).values.sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    assert indices.item() == tx.max(1).indices.item()


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    x = values(3, 4, 5)
    for args in [(), (0,), (-1,), (1, True)]:
        got = getattr(ts.tensor(x), name)(*args)
        want = getattr(torch.tensor(x), name)(*args)
        assert got.dtype == ts.int64 and got.shape == tuple(want.shape)
        assert got.numpy().tolist() == want.tolist()
    assert getattr(ts, name)(ts.tensor(x), dim=2).numpy().tolist() == \
        getattr(torch, name)(torch.tensor(x), dim=2).tolist()


def test_sgd_step_under_no_grad_updates_the_parameter_in_place():
    w = nn.Parameter(ts.tensor([1.0, 2.0]))
    before = w.array
    (w * w).sum().backward()
    with ts.no_grad():
        w -= 0.1 * w.grad
    assert_close(w, [0.8, 1.6])
    assert w.array is before and w.requires_grad and w.is_leaf
    assert w._version == 1


def test_no_grad_as_a_decorator():
    w = ts.tensor([1.0], requires_grad=True)

    @ts.no_grad()
    def step():
        assert not ts.is_grad_enabled()
        return w * 2

    assert not step().requires_grad
    assert ts.is_grad_enabled() and (w * 2).requires_grad


# --- dim= and keepdim= everywhere, axis= and keepdims= too ------------------------------------
@pytest.mark.parametrize("name, ours, theirs", [
    ("sum", lambda t: t.sum(dim=1, keepdim=True), lambda t: t.sum(dim=1, keepdim=True)),
    ("sum-tuple", lambda t: t.sum((0, 2)), lambda t: t.sum((0, 2))),
    ("mean", lambda t: t.mean(dim=-1), lambda t: t.mean(dim=-1)),
    ("ts.mean", lambda t: ts.mean(t, 0, True), lambda t: torch.mean(t, 0, True)),
    ("std", lambda t: t.std(dim=1), lambda t: t.std(dim=1)),
    ("std-all-biased", lambda t: t.std(unbiased=False), lambda t: t.std(unbiased=False)),
    ("var", lambda t: t.var(1, keepdim=True), lambda t: t.var(1, keepdim=True)),
    ("var-correction", lambda t: t.var(dim=0, correction=0), lambda t: t.var(dim=0, correction=0)),
    ("softmax", lambda t: F.softmax(t, dim=1), lambda t: torch.softmax(t, dim=1)),
    ("softmax-positional", lambda t: F.softmax(t, 0), lambda t: torch.softmax(t, 0)),
    ("log_softmax", lambda t: F.log_softmax(t, dim=-1), lambda t: torch.log_softmax(t, dim=-1)),
    ("ts.cat", lambda t: ts.cat([t, t * 2], dim=1), lambda t: torch.cat([t, t * 2], dim=1)),
    ("ts.stack", lambda t: ts.stack([t, t], dim=2), lambda t: torch.stack([t, t], dim=2)),
    ("split", lambda t: t.split(2, dim=2), lambda t: t.split(2, dim=2)),
    ("ts.split", lambda t: ts.split(t, [1, 2], dim=1), lambda t: torch.split(t, [1, 2], dim=1)),
    ("chunk", lambda t: t.chunk(2, dim=0), lambda t: t.chunk(2, dim=0)),
    ("unsqueeze", lambda t: t.unsqueeze(dim=1), lambda t: t.unsqueeze(dim=1)),
    ("squeeze", lambda t: t[:, :1].squeeze(dim=1), lambda t: t[:, :1].squeeze(dim=1)),
    ("unbind", lambda t: t.unbind(1), lambda t: t.unbind(1)),
])
def test_dim_and_keepdim_as_pytorch(name, ours, theirs):
    agree(ours, theirs, values(2, 3, 4))


def test_numpy_spellings_keep_working_and_both_spellings_are_a_type_error():
    x = ts.tensor(values(2, 3))
    assert_close(x.sum(axis=1, keepdims=True), x.sum(dim=1, keepdim=True))
    assert_close(ts.concat([x, x], axis=1), ts.cat([x, x], dim=1))
    assert_close(x.softmax(axis=0), x.softmax(dim=0))
    for call in [lambda: x.sum(dim=1, axis=1), lambda: x.mean(keepdim=True, keepdims=True),
                 lambda: x.max(dim=0, axis=0), lambda: ts.cat([x], dim=1, axis=1),
                 lambda: x.softmax(dim=0, axis=0), lambda: x.squeeze(dim=0, axis=0),
                 lambda: x.unsqueeze(0, axis=0), lambda: ts.stack([x], dim=1, axis=1)]:
        with pytest.raises(TypeError, match="got both"):
            call()


# --- 2. in-place ops with autograd ------------------------------------------------------------
@pytest.mark.parametrize("name, ours, theirs", [
    ("add_", lambda x, w: (x * 1).add_(w, alpha=2), lambda x, w: (x * 1).add_(w, alpha=2)),
    ("sub_", lambda x, w: (x * 1).sub_(w), lambda x, w: (x * 1).sub_(w)),
    ("mul_", lambda x, w: (x * 1).mul_(w), lambda x, w: (x * 1).mul_(w)),
    ("div_", lambda x, w: (x * 1).div_(w + 3), lambda x, w: (x * 1).div_(w + 3)),
    ("+=", lambda x, w: _iadd(x * 1, w), lambda x, w: _iadd(x * 1, w)),
    ("-=*=/=", lambda x, w: _chain(x * 1, w), lambda x, w: _chain(x * 1, w)),
    ("addcmul_", lambda x, w: (x * 1).addcmul_(w, x, value=0.5),
     lambda x, w: (x * 1).addcmul_(w, x, value=0.5)),
    ("addcdiv_", lambda x, w: (x * 1).addcdiv_(w, x * x + 1, value=2),
     lambda x, w: (x * 1).addcdiv_(w, x * x + 1, value=2)),
    ("lerp_", lambda x, w: (x * 1).lerp_(w, 0.3), lambda x, w: (x * 1).lerp_(w, 0.3)),
    ("clamp_", lambda x, w: (x * w).clamp_(-0.5, 1.0), lambda x, w: (x * w).clamp_(-0.5, 1.0)),
    ("copy_", lambda x, w: (x * 1).copy_(w[0]), lambda x, w: (x * 1).copy_(w[0])),
    ("zero_", lambda x, w: (x * w).zero_() + x, lambda x, w: (x * w).zero_() + x),
    ("fill_", lambda x, w: (x * w).fill_(2.5) * x, lambda x, w: (x * w).fill_(2.5) * x),
    ("masked_fill_", lambda x, w: (x * w).masked_fill_(x > 0, 0.0),
     lambda x, w: (x * w).masked_fill_(x > 0, 0.0)),
    ("unsqueeze_", lambda x, w: (x * w).unsqueeze_(1), lambda x, w: (x * w).unsqueeze_(1)),
    ("squeeze_", lambda x, w: (x * w)[:1].squeeze_(0), lambda x, w: (x * w)[:1].squeeze_(0)),
    ("tanh_", lambda x, w: (x * w).tanh_() * 2, lambda x, w: (x * w).tanh_() * 2),
    ("exp_ sigmoid_", lambda x, w: (x * w).exp_() + (x + w).sigmoid_(),
     lambda x, w: (x * w).exp_() + (x + w).sigmoid_()),
])
def test_in_place_ops_record_the_graph_as_pytorch(name, ours, theirs):
    agree(ours, theirs, values(2, 3), values(2, 3))


def _iadd(y, w):
    y += w
    y += 1.5
    return y


def _chain(y, w):
    y -= w
    y *= w
    y /= 2.0
    return y


def test_item_assignment_is_differentiable_in_value_and_the_rest():
    def assign(x, v):                 # the same code on tinyseq and on PyTorch tensors
        y = x * 1
        y[0, 1:] = v[0, :2]
        y[:, 0] = 7.0
        y[[1, 1], [2, 1]] = v[1, 2]
        return y

    agree(assign, assign, values(2, 3), values(2, 3))
    mask = values(2, 3) > 0

    def masked(x, v):
        y = x * 2
        y[mask if isinstance(y, ts.Tensor) else torch.tensor(mask)] = v[mask if isinstance(
            v, ts.Tensor) else torch.tensor(mask)] * 3
        return y

    agree(masked, masked, values(2, 3), values(2, 3))


def test_item_assignment_into_a_constant_tensor_makes_it_require_grad():
    v = ts.tensor([1.0, 2.0], dtype=ts.float64, requires_grad=True)
    buffer = ts.zeros(3, 2, dtype=ts.float64)
    buffer[1] = v * 3
    assert buffer.requires_grad and not buffer.is_leaf
    buffer.sum().backward()
    assert_close(v.grad, [3.0, 3.0])


def test_in_place_op_on_a_leaf_that_requires_grad_raises_pytorchs_error():
    w = ts.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    for change in [lambda t: t.add_(1), lambda t: t.zero_(), lambda t: t.__setitem__(0, 3.0),
                   lambda t: t.mul_(2), lambda t: t.__iadd__(1)]:
        with pytest.raises(RuntimeError) as theirs:
            change(tw)
        with pytest.raises(RuntimeError) as ours:
            change(w)
        assert str(ours.value) == str(theirs.value)
        assert_close(w, [1.0, 2.0])                              # nothing changed
        assert w._version == 0


def test_in_place_ops_under_no_grad_update_the_parameter():
    w = nn.Parameter(ts.tensor([1.0, 2.0, 3.0]))
    w.grad = ts.tensor([1.0, 1.0, 1.0])
    with ts.no_grad():
        w.mul_(2).add_(w.grad, alpha=-0.5).clamp_(max=4.0)
        w[0] = -1.0
    assert_close(w, [-1.0, 3.5, 4.0])
    assert w.requires_grad and w.is_leaf and w._version == 4
    w.data.add_(w.grad.data, alpha=-1.0)                      # .data changes the same storage
    assert_close(w, [-2.0, 2.5, 3.0])


def test_changing_a_saved_tensor_in_place_makes_backward_raise():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y                                              # mul keeps y for its backward
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_in_place_op_that_does_not_fit_raises_before_changing_anything():
    x = ts.zeros(2, 3)
    with pytest.raises(ValueError, match=r"add_: the result has shape \(4, 2, 3\), which does "
                                         r"not fit the tensor's shape \(2, 3\)"):
        x.add_(ts.ones(4, 2, 3))
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the "
                                           "desired output type int64"):
        ts.zeros(2, dtype=ts.long).add_(0.5)
    with pytest.raises(RuntimeError, match="broadcast view"):
        ts.zeros(1, 3).expand(2, 3).add_(1.0)
    assert x._version == 0 and float(x.abs().sum()) == 0.0


def test_uniform_and_normal_fill_in_place_from_the_seeded_generator():
    ts.manual_seed(3)
    a = ts.zeros(1000).uniform_(-2, 3)
    b = ts.zeros(2000).normal_(1.0, 0.5)
    assert -2 <= float(a.min()) and float(a.max()) < 3 and abs(float(a.mean()) - 0.5) < 0.15
    assert abs(float(b.mean()) - 1.0) < 0.05 and abs(float(b.std()) - 0.5) < 0.05
    ts.manual_seed(3)
    assert_close(ts.zeros(1000).uniform_(-2, 3), a)


def test_uniform_and_normal_fill_float16_in_place_as_the_float16_creators_draw():
    ts.manual_seed(5)
    normal, uniform = ts.zeros(500, dtype=ts.float16).normal_(), ts.zeros(500, dtype=ts.float16).uniform_()
    assert normal.dtype == ts.float16 and uniform.dtype == ts.float16
    ts.manual_seed(5)
    np.testing.assert_array_equal(normal.numpy(), ts.randn(500, dtype=ts.float16).numpy())
    np.testing.assert_array_equal(uniform.numpy(), ts.rand(500, dtype=ts.float16).numpy())
    assert 0 <= float(uniform.min()) and float(uniform.max()) < 1 and abs(float(normal.mean())) < 0.15


# --- 4. the names real scripts use --------------------------------------------------------------
def test_dtypes_print_as_tinyseq_and_equal_numpys():
    names = {"long": np.int64, "int64": np.int64, "int": np.int32, "int32": np.int32,
             "float": np.float32, "float32": np.float32, "double": np.float64,
             "float64": np.float64, "bool": np.bool_}
    for name, numpy_type in names.items():
        dtype = getattr(ts, name)
        assert dtype == numpy_type and dtype == np.dtype(numpy_type) and np.dtype(dtype) == numpy_type
        assert str(dtype) == f"tinyseq.{np.dtype(numpy_type).name}"
        assert str(dtype) == str(getattr(torch, name)).replace("torch", "tinyseq")
    assert ts.float32 != ts.float64 and ts.long != np.int32 and ts.float32 != None  # noqa: E711
    x = ts.tensor([1.0])
    assert repr(x.dtype) == "tinyseq.float32" and x.dtype is ts.float32
    assert ts.zeros(2, dtype=ts.long).dtype == ts.int64
    assert repr(ts.ones(2, dtype=ts.double)) == "tensor([1., 1.], dtype=tinyseq.float64)"
    assert x.dtype.is_floating_point and not ts.long.is_floating_point
    assert f"got {x.dtype}" == "got float32"                   # as error messages word it


def test_device_as_pytorch():
    device = ts.device("cuda" if ts.cuda.is_available() else "cpu")
    assert device.type in ("cpu", "cuda")
    x = ts.zeros(2, device=device)
    assert x.device == device and x.device.type == device.type
    assert repr(ts.device("cpu")) == repr(torch.device("cpu"))
    assert repr(ts.device("cuda", 0)) == repr(torch.device("cuda", 0))
    assert nn.Linear(2, 3).to(ts.device("cpu")).weight.device == "cpu"
    assert ts.tensor([1.0]).to(ts.device("cpu"), ts.float64).dtype == ts.float64


def test_tensor_types_and_conversions():
    ids = ts.LongTensor([1, 2, 3])
    assert ids.dtype == ts.long and isinstance(ids, ts.LongTensor)
    assert not isinstance(ids, ts.FloatTensor)
    assert ts.FloatTensor(2, 3).shape == (2, 3) and ts.FloatTensor(2, 3).dtype == ts.float32
    assert ids.float().dtype == ts.float32 and ids.double().dtype == ts.float64
    assert ids.type() == torch.LongTensor([1]).type().replace("torch", "tinyseq")
    assert ids.type(ts.FloatTensor).dtype == ts.float32 and ids.type(ts.float64).dtype == ts.float64
    x = ts.tensor([1.5, -2.5], requires_grad=True)
    assert x.long().numpy().tolist() == torch.tensor([1.5, -2.5]).long().tolist()
    assert x.to(ts.float64).dtype == ts.float64 and x.to(ts.float64).requires_grad
    assert x.to("cpu", ts.float64).dtype == ts.float64
    assert x.to(ts.zeros(1, dtype=ts.double)).dtype == ts.float64
    assert x.to(ts.float32) is x and x.contiguous() is x and x.is_contiguous()
    assert x.type_as(ids).dtype == ts.long


def test_from_numpy_shares_memory_and_as_tensor_avoids_copies():
    array = np.arange(3.0)
    t = ts.from_numpy(array)
    array[0] = 7.0
    assert t[0].item() == 7.0 and t.dtype == ts.float64
    assert ts.as_tensor(array).array is array
    assert ts.as_tensor(array, dtype=ts.float32).dtype == ts.float32
    assert ts.as_tensor([1, 2]).dtype == ts.long
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray"):
        ts.from_numpy([1.0])


def test_new_tensors_take_dtype_and_device_of_their_model():
    x = ts.zeros(2, dtype=ts.float64)
    tx = torch.zeros(2, dtype=torch.float64)
    for name, args in [("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_full", ((2,), 4.0)),
                       ("new_tensor", ([1, 2],))]:
        got, want = getattr(x, name)(*args), getattr(tx, name)(*args)
        assert got.dtype == ts.float64 and tuple(got.shape) == tuple(want.shape)
        assert_close(got, want.numpy())
    assert x.new_zeros(2, dtype=ts.long).dtype == ts.long


SHAPE_IDIOMS = [
    ("view", lambda t: t.view(3, -1), lambda t: t.view(3, -1)),
    ("view-tuple", lambda t: t.view((4, 6)), lambda t: t.view((4, 6))),
    ("view_as", lambda t: t.reshape(6, 4).view_as(t), lambda t: t.reshape(6, 4).view_as(t)),
    ("narrow", lambda t: t.narrow(2, 1, 2), lambda t: t.narrow(2, 1, 2)),
    ("narrow-negative", lambda t: t.narrow(1, -2, 2), lambda t: t.narrow(1, -2, 2)),
    ("flatten", lambda t: t.flatten(), lambda t: t.flatten()),
    ("flatten(1)", lambda t: t.flatten(1), lambda t: t.flatten(1)),
    ("flatten(0,1)", lambda t: t.flatten(0, 1), lambda t: t.flatten(0, 1)),
    ("expand", lambda t: t[:, :1].expand(2, 3, 4), lambda t: t[:, :1].expand(2, 3, 4)),
    ("expand-1", lambda t: t[:, :1].expand(5, -1, 3, -1), lambda t: t[:, :1].expand(5, -1, 3, -1)),
    ("expand_as", lambda t: t[:1].expand_as(t), lambda t: t[:1].expand_as(t)),
    ("repeat", lambda t: t.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3)),
    ("repeat-new-dims", lambda t: t.repeat(2, 1, 1, 2), lambda t: t.repeat(2, 1, 1, 2)),
    ("clone", lambda t: t.clone(), lambda t: t.clone()),
    ("masked_fill", lambda t: t.masked_fill(t > 0.5, -1.0), lambda t: t.masked_fill(t > 0.5, -1.0)),
    ("masked_fill-broadcast", lambda t: t.masked_fill(t[0] > 0, 0.0),
     lambda t: t.masked_fill(t[0] > 0, 0.0)),
    ("clamp", lambda t: t.clamp(-0.5, 0.7), lambda t: t.clamp(-0.5, 0.7)),
    ("clamp-min", lambda t: ts.clamp(t, min=0.1), lambda t: torch.clamp(t, min=0.1)),
    ("clamp-max", lambda t: t.clamp(max=0.0), lambda t: t.clamp(max=0.0)),
    ("index_select", lambda t: t.index_select(1, ts.tensor([2, 0, 2])),
     lambda t: t.index_select(1, torch.tensor([2, 0, 2]))),
    ("gather", lambda t: t.gather(2, ts.tensor(GATHER)), lambda t: t.gather(2, torch.tensor(GATHER))),
    ("gather-0", lambda t: t.gather(0, ts.tensor(GATHER0)), lambda t: t.gather(0, torch.tensor(GATHER0))),
    ("topk", lambda t: t.topk(2), lambda t: t.topk(2)),
    ("topk-smallest", lambda t: t.topk(2, dim=1, largest=False), lambda t: t.topk(2, dim=1, largest=False)),
    ("sort", lambda t: t.sort(dim=1), lambda t: t.sort(dim=1)),
    ("sort-descending", lambda t: t.sort(descending=True), lambda t: t.sort(descending=True)),
    ("argsort", lambda t: t.argsort(dim=0), lambda t: t.argsort(dim=0)),
    ("abs", lambda t: abs(t), lambda t: abs(t)),
    ("bmm", lambda t: ts.bmm(t, t.transpose(1, 2)), lambda t: torch.bmm(t, t.transpose(1, 2))),
    ("mm", lambda t: ts.mm(t[0], t[1].t()), lambda t: torch.mm(t[0], t[1].t())),
    ("einsum-bmm", lambda t: ts.einsum("bij,bkj->bik", t, t), lambda t: torch.einsum("bij,bkj->bik", t, t)),
    ("einsum-outer", lambda t: ts.einsum("i,j->ij", t[0, 0], t[1, 1]),
     lambda t: torch.einsum("i,j->ij", t[0, 0], t[1, 1])),
    ("einsum-ellipsis", lambda t: ts.einsum("...ij,jk", t, t[0].t()),
     lambda t: torch.einsum("...ij,jk", t, t[0].t())),
    ("einsum-sum-out", lambda t: ts.einsum("bij,bij->b", t, t), lambda t: torch.einsum("bij,bij->b", t, t)),
    ("einsum-attention", lambda t: ts.einsum("tbh,bh->tb", t, t[0]),
     lambda t: torch.einsum("tbh,bh->tb", t, t[0])),
    ("einsum-only-one", lambda t: ts.einsum("bij,bk->bik", t, t[:, 0]),
     lambda t: torch.einsum("bij,bk->bik", t, t[:, 0])),
]
GATHER = np.array([[[0, 3], [1, 1], [2, 0]], [[3, 3], [0, 1], [2, 2]]])
GATHER0 = np.array([[[1, 0, 1, 0]], [[0, 0, 1, 1]]])


@pytest.mark.parametrize("name, ours, theirs", SHAPE_IDIOMS, ids=[c[0] for c in SHAPE_IDIOMS])
def test_tensor_methods_as_pytorch(name, ours, theirs):
    agree(ours, theirs, values(2, 3, 4))


@pytest.mark.parametrize("op", [
    lambda t: t.gather(2, ts.tensor(GATHER)),
    lambda t: t.gather(1, ts.tensor([[[0, 0, 1, 2]], [[2, 2, 2, 2]]])),   # repeated ids add up
    lambda t: t.repeat(2, 1, 3),
    lambda t: F.pad(t, (1, 2, 0, 1), value=0.5),
    lambda t: t.clamp(-0.5, 0.7),
    lambda t: t.clone() * t,
    lambda t: t.amin(dim=(0, 2)),
    lambda t: t.min(1).values,
    lambda t: t.sort(2).values,
    lambda t: ts.einsum("bij,bkj->bik", t, t * 2),
    lambda t: ts.einsum("bij,k->bjk", t, t[0, 0]),
    lambda t: t.std(1) + t.var(),
    lambda t: F.nll_loss(t.reshape(6, 4).log_softmax(1), ts.tensor([0, 3, 1, 1, -100, 2])),
    lambda t: F.nll_loss(t, ts.tensor([[1, 0, 2, 2], [0, 0, 1, 2]]), weight=ts.tensor([1.0, 2.0, 0.5]),
                         reduction="mean"),
    lambda t: F.cross_entropy(t, ts.tensor([[1, 0, 2, 2], [0, 0, 1, 2]]), reduction="none"),
    lambda t: F.binary_cross_entropy_with_logits(t * 3, ts.tensor(BCE_TARGET)),
], ids=["gather", "gather-repeated", "repeat", "pad", "clamp", "clone", "amin", "min-dim", "sort",
        "einsum", "einsum-broadcast", "std-var", "nll", "nll-weight-3d", "cross-entropy-3d", "bce"])
def test_new_ops_pass_gradcheck(op):
    gradcheck(op, [leaf(2, 3, 4)])


def test_item_assignment_and_in_place_ops_pass_gradcheck():
    def assign(x, v):
        y = x * 1
        y[:, 1] = v
        y[0, [0, 2]] = v[:2] * 3
        return y.mul_(x)
    gradcheck(assign, [leaf(2, 3), leaf(2)])


def test_update_of_an_indexed_part_in_place():
    def update(x, v):
        y = x * 1
        y[0, [0, 2]] += v[:2]            # reads y[0, [0, 2]], then writes it back into y
        return y
    agree(update, update, values(2, 3), values(2))


def test_in_place_change_after_a_use_keeps_the_earlier_use_as_it_was():
    def use_then_change(x, w):
        y = x * 1
        z = y + 1                        # add keeps nothing, so nothing catches the change
        y.mul_(w)
        return z + y
    agree(use_then_change, use_then_change, values(2, 3), values(2, 3))


def test_index_and_abs_and_iteration():
    i = ts.tensor(2)
    assert [10, 20, 30][i] == 30 and list(range(5))[ts.tensor([1])] == 1
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][ts.tensor(1.0)]
    assert_close(abs(ts.tensor([-1.5, 2.0])), [1.5, 2.0])
    rows = list(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2 and rows[1].numpy().tolist() == [3.0, 4.0]
    with pytest.raises(TypeError, match="0-d"):
        iter(ts.tensor(1.0)).__next__()
    x = ts.tensor([[1.0, 2.0]])
    assert x.dim() == 2 and x.nelement() == 2 and x.size(1) == 2


def test_comparison_methods_as_pytorch():
    pred, target = ts.tensor([1, 2, 3]), ts.tensor([1, 0, 3])
    assert pred.eq(target).sum().item() == 2 and pred.ne(target).sum().item() == 1
    assert pred.eq(target.view_as(pred)).all().item() is False


def test_multinomial_draws_ids_in_proportion_to_the_weights():
    ts.manual_seed(0)
    weights = ts.tensor([1.0, 0.0, 3.0])
    draws = ts.multinomial(weights, 4000, replacement=True)
    assert draws.dtype == ts.long and draws.shape == (4000,)
    counts = np.bincount(draws.numpy(), minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 4000 - 0.75) < 0.03
    rows = ts.tensor([[5.0, 1.0, 0.0], [0.0, 0.0, 2.0]]).multinomial(1)
    assert rows.shape == (2, 1) and rows[1, 0].item() == 2
    unique = ts.multinomial(ts.ones(5), 5)
    assert sorted(unique.numpy().tolist()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="without replacement"):
        ts.multinomial(ts.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        ts.multinomial(ts.tensor([1.0, -1.0]), 1)


# --- functional and modules -------------------------------------------------------------------
CLASS_IDS = np.array([[1, 0, 2, 2], [0, 2, 1, 2]])


@pytest.mark.parametrize("name, ours, theirs", [
    ("cross_entropy-3d", lambda x: F.cross_entropy(x, ts.tensor(CLASS_IDS)),
     lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(CLASS_IDS))),
    ("cross_entropy-3d-none", lambda x: F.cross_entropy(x, ts.tensor(CLASS_IDS), reduction="none"),
     lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(CLASS_IDS), reduction="none")),
    ("cross_entropy-weight", lambda x: F.cross_entropy(x[:, :, 0], ts.tensor([1, 2]),
                                                       weight=ts.tensor([0.2, 1.0, 3.0])),
     lambda x: torch.nn.functional.cross_entropy(x[:, :, 0], torch.tensor([1, 2]),
                                                 weight=torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64))),
    ("cross_entropy-1d", lambda x: F.cross_entropy(x[0, :, 0], ts.tensor(2)),
     lambda x: torch.nn.functional.cross_entropy(x[0, :, 0], torch.tensor(2))),
    ("nll_loss", lambda x: F.nll_loss(F.log_softmax(x[:, :, 1], dim=1), ts.tensor([2, 0])),
     lambda x: torch.nn.functional.nll_loss(torch.log_softmax(x[:, :, 1], dim=1), torch.tensor([2, 0]))),
    ("nll_loss-ignore-sum", lambda x: F.nll_loss(x, ts.tensor(CLASS_IDS), ignore_index=2, reduction="sum"),
     lambda x: torch.nn.functional.nll_loss(x, torch.tensor(CLASS_IDS), ignore_index=2, reduction="sum")),
    ("NLLLoss+LogSoftmax", lambda x: nn.NLLLoss()(nn.LogSoftmax(dim=1)(x[:, :, 0]), ts.tensor([0, 1])),
     lambda x: torch.nn.NLLLoss()(torch.nn.LogSoftmax(dim=1)(x[:, :, 0]), torch.tensor([0, 1]))),
    ("LogSoftmax-implicit", lambda x: nn.LogSoftmax()(x), lambda x: torch.nn.LogSoftmax()(x)),
    ("Softmax", lambda x: nn.Softmax(dim=-1)(x), lambda x: torch.nn.Softmax(dim=-1)(x)),
    ("CrossEntropyLoss-3d", lambda x: nn.CrossEntropyLoss(ignore_index=1)(x, ts.tensor(CLASS_IDS)),
     lambda x: torch.nn.CrossEntropyLoss(ignore_index=1)(x, torch.tensor(CLASS_IDS))),
    ("BCEWithLogitsLoss", lambda x: nn.BCEWithLogitsLoss()(x * 4, ts.tensor(BCE_TARGET)),
     lambda x: torch.nn.BCEWithLogitsLoss()(x * 4, torch.tensor(BCE_TARGET))),
    ("bce-none", lambda x: F.binary_cross_entropy_with_logits(x, ts.tensor(BCE_TARGET), reduction="none"),
     lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(BCE_TARGET),
                                                                    reduction="none")),
    ("pad", lambda x: F.pad(x, (1, 2)), lambda x: torch.nn.functional.pad(x, (1, 2))),
    ("pad-two-dims", lambda x: F.pad(x, (0, 1, 2, 0), value=-1.0),
     lambda x: torch.nn.functional.pad(x, (0, 1, 2, 0), value=-1.0)),
    ("relu tanh sigmoid", lambda x: F.relu(x) + F.tanh(x) * F.sigmoid(x),
     lambda x: torch.nn.functional.relu(x) + torch.nn.functional.tanh(x) * torch.nn.functional.sigmoid(x)),
    ("modules", lambda x: nn.Sequential(nn.Flatten(), nn.Tanh(), nn.ReLU(), nn.Sigmoid(), nn.Identity(7))(x),
     lambda x: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Tanh(), torch.nn.ReLU(), torch.nn.Sigmoid(),
                                   torch.nn.Identity(7))(x)),
    ("Flatten(0,1)", lambda x: nn.Flatten(0, 1)(x), lambda x: torch.nn.Flatten(0, 1)(x)),
])
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
def test_functional_and_modules_as_pytorch(name, ours, theirs):
    agree(ours, theirs, values(2, 3, 4))


BCE_TARGET = _rng.uniform(0, 1, size=(2, 3, 4))


def test_init_functions_fill_in_place_as_pytorch():
    w = nn.Parameter(ts.zeros(30, 20))
    same = w.array
    assert nn.init.uniform_(w, -0.1, 0.1) is w and w.array is same
    assert -0.1 <= float(w.min()) and float(w.max()) < 0.1 and w.requires_grad and w.is_leaf
    nn.init.normal_(w, 0.0, 0.02)
    assert abs(float(w.std()) - 0.02) < 0.003
    nn.init.constant_(w, 0.3)
    assert_close(w, np.full((30, 20), 0.3))
    nn.init.ones_(w)
    assert float(w.sum()) == 600
    nn.init.zeros_(w)
    assert float(w.abs().sum()) == 0
    nn.init.xavier_uniform_(w)
    bound = (6 / 50) ** 0.5
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound
    nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))
    assert abs(float(w.std()) - 5 / 3 * (2 / 50) ** 0.5) < 0.03
    nn.init.kaiming_uniform_(w, a=5 ** 0.5)
    bound = torch.nn.init.calculate_gain("leaky_relu", 5 ** 0.5) * (3 / 20) ** 0.5
    assert float(w.abs().max()) <= bound
    for shape in [(30, 20), (20, 30)]:
        q = nn.init.orthogonal_(nn.Parameter(ts.zeros(*shape, dtype=ts.float64)))
        small = q @ q.t() if shape[0] < shape[1] else q.t() @ q
        assert_close(small, np.eye(min(shape)), atol=1e-10)
    assert nn.init.calculate_gain("relu") == torch.nn.init.calculate_gain("relu")
    assert w._version > 0


# --- error paths ------------------------------------------------------------------------------
@pytest.mark.parametrize("make, kind, message", [
    (lambda x: x.transpose(0, 1, 2), TypeError, "transpose"),
    (lambda x: x.permute(0, 0), ValueError, r"permute: dims \(0, 0\) are not a permutation"),
    (lambda x: x.t() if x.ndim > 2 else x.unsqueeze(0).t(), ValueError, "t: expects a tensor with at most 2 dims"),
    (lambda x: x[0, 0].mT, ValueError, r"mT: needs at least 2 dims"),
    (lambda x: x.gather(0, ts.tensor([0, 1])), ValueError, r"gather: index of shape \(2,\) does not fit"),
    (lambda x: x.gather(1, ts.tensor(np.full((2, 1, 4), 3))), IndexError,
     "gather: index 3 is out of bounds for dimension 1 with size 3"),
    (lambda x: x.gather(1, ts.tensor(np.zeros((2, 1, 4)))), TypeError, "gather: index must be an integer"),
    (lambda x: x.index_select(0, ts.tensor([[0]])), ValueError, "index_select: index must be 1-D"),
    (lambda x: x.index_select(0, ts.tensor([2])), IndexError,
     "index_select: index 2 is out of bounds for dimension 0 with size 2"),
    (lambda x: x.narrow(1, 2, 5), IndexError, "narrow: start 2 and length 5 do not fit dim 1"),
    (lambda x: x.topk(9), ValueError, r"topk: k must be an int in \[0, 4\]"),
    (lambda x: x.repeat(2, 2), ValueError, "repeat: 2 repeats"),
    (lambda x: x.expand(3, 4), ValueError, "expand: 2 sizes"),
    (lambda x: x.clamp(), ValueError, "clamp: at least one of min and max"),
    (lambda x: x.clamp(min=ts.tensor(0.0)), TypeError, "clamp: min and max must be numbers"),
    (lambda x: x.masked_fill(x, 0.0), TypeError, "masked_fill: the mask must be boolean"),
    (lambda x: x.masked_fill(ts.ones(5, dtype=ts.bool), 0.0), ValueError, r"where: .*\(5,\)"),
    (lambda x: ts.mm(x, x), ValueError, r"mm: expects matrices \(n, m\) and \(m, p\), got \(2, 3, 4\)"),
    (lambda x: ts.bmm(x, x), ValueError, r"bmm: expects batches \(B, n, m\) and \(B, m, p\)"),
    (lambda x: ts.einsum("ii,ij->j", x[0, :, :3], x[0]), ValueError, "einsum: a letter repeated"),
    (lambda x: ts.einsum("bij->bji", x), ValueError, "einsum: supports two operands"),
    (lambda x: ts.einsum("ij,jk->ik", x, x), ValueError, "einsum: subscripts 'ij' do not fit"),
    (lambda x: ts.einsum("bij,bjk->bik", x, x), ValueError, "einsum: letter 'j' has sizes 4 and 3"),
    (lambda x: ts.einsum("bij,bkj->bz", x, x), ValueError, "einsum: output subscripts 'bz'"),
    (lambda x: F.pad(x, (1,)), ValueError, "pad: expects an even number"),
    (lambda x: F.pad(x, (1, 1), mode="mirror"), NotImplementedError,
     "pad: unrecognised padding mode 'mirror'"),
    (lambda x: F.nll_loss(x, ts.tensor([0, 1])), ValueError, r"nll_loss: expected logits \(N, C\)"),
    (lambda x: F.nll_loss(x[0], ts.tensor([0, 7, 1])), IndexError, r"nll_loss: target ids must be in \[0, 4\)"),
    (lambda x: F.nll_loss(x[0], ts.tensor([0, 1, 1]), weight=ts.ones(3)), ValueError,
     "nll_loss: weight of shape"),
    (lambda x: F.cross_entropy(x, ts.tensor(np.zeros((2, 3), dtype=np.int64))), ValueError,
     r"cross_entropy: expected logits"),
    (lambda x: F.binary_cross_entropy_with_logits(x, x[0]), ValueError,
     r"binary_cross_entropy_with_logits: input shape \(2, 3, 4\) and target shape \(3, 4\)"),
    (lambda x: x.to("tpu"), ValueError, "unknown device"),
    (lambda x: x.to(object()), TypeError, "to: expected a dtype or a device"),
    (lambda x: x.argmax(3), ValueError, "argmax: axis 3 is out of range"),
    (lambda x: x.max(5), ValueError, "max: axis 5 is out of range"),
    (lambda x: ts.zeros(2, 0).max(1), ValueError, "max: cannot reduce dim 1 of size 0"),
    (lambda x: nn.init.xavier_uniform_(ts.zeros(3)), ValueError, "init: fan in and fan out"),
    (lambda x: nn.init.orthogonal_(ts.zeros(3)), ValueError, "orthogonal_: needs a tensor"),
    (lambda x: nn.init.calculate_gain("swish"), ValueError, "calculate_gain: unsupported"),
    (lambda x: ts.LongTensor(1, [2]), TypeError, "LongTensor: expected sizes or one sequence"),
])
def test_bad_input_raises_documented_errors(make, kind, message):
    with pytest.raises(kind, match=message):
        make(ts.zeros(2, 3, 4))


def test_what_is_deliberately_not_supported_says_so():
    with pytest.raises(AttributeError, match="tinyseq.nn has no Transformer: .* not supported"):
        nn.Transformer(d_model=8)
    with pytest.raises(AttributeError, match="tinyseq.nn has no TransformerEncoderLayer"):
        nn.TransformerEncoderLayer
    with pytest.raises(AttributeError, match="tinyseq has no onnx: exporting to ONNX is "
                                             "deliberately not supported"):
        ts.onnx.export
    with pytest.raises(AttributeError, match="has no attribute 'Conv7d'"):
        nn.Conv7d

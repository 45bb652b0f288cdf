"""The long tail of PyTorch names and meanings that real RNN scripts trip on (issue 23), each
checked against PyTorch as the oracle, and the differentiable ones against finite differences."""
import itertools
import json
import warnings
import zlib

import numpy as np
import pytest

import tinyseq as ts
import tinyseq.functional as F
from gradcheck import gradcheck
from tinyseq import nn, optim

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

torch.set_num_threads(1)  # tiny tensors: PyTorch's thread pool only adds waiting

_rng = np.random.default_rng(23)


def values(*shape):
    return _rng.uniform(-2.0, 2.0, size=shape)


def leaf(array):
    return ts.tensor(array, dtype=ts.float64, requires_grad=True)


def same_dtype(ours, theirs):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours, theirs)


# --- Variable, is_tensor, accelerator ---------------------------------------------------------
def test_variable_is_a_no_op_wrapper_as_in_pytorch():
    from tinyseq.autograd import Variable
    from torch.autograd import Variable as TorchVariable
    for framework, make in ((ts, Variable), (torch, TorchVariable)):
        t = framework.ones(2)
        v = make(t, requires_grad=True)
        assert v is not t and v.requires_grad and v.is_leaf and not t.requires_grad
        v.data[0] = 5.0                                   # shares t's storage
        assert t[0].item() == 5.0
        assert isinstance(t, make) and framework.is_tensor(v)
        made = framework.ones(2, requires_grad=True) * 2
        assert make(made).grad_fn is None and not make(made).requires_grad
        with pytest.raises(TypeError, match="Variable data has to be a tensor"):
            make([1.0, 2.0])
        with pytest.warns(UserWarning, match="volatile was removed"):
            make(t, volatile=True)
    assert ts.autograd.Variable is Variable
    x = Variable(ts.tensor([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_is_tensor():
    for framework in (ts, torch):
        assert framework.is_tensor(framework.zeros(1))
        assert not framework.is_tensor([1.0]) and not framework.is_tensor(np.zeros(1))


def test_accelerator_answers_like_pytorch_on_a_machine_without_one():
    assert ts.accelerator.is_available() == ts.cuda.is_available()
    if not torch.accelerator.is_available() and not ts.cuda.is_available():
        assert ts.accelerator.current_accelerator() is None
        assert torch.accelerator.current_accelerator() is None
        assert ts.accelerator.device_count() == 0 == torch.accelerator.device_count()


# --- the legacy constructor, Tensor.new, new_tensor -------------------------------------------
@pytest.mark.parametrize("args", [(2, 3), (5,), (2, 3, 4), ([0],), ([1, 2],), ([[1.5, 2]],),
                                  (np.arange(3),), ()])
def test_legacy_constructor_as_pytorch(args):
    ours, theirs = ts.Tensor(*args), torch.Tensor(*args)
    assert tuple(ours.shape) == tuple(theirs.shape)
    same_dtype(ours, theirs)
    if args and not isinstance(args[0], int):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not ours.requires_grad


def test_legacy_constructor_follows_the_default_dtype_and_shares_a_tensor():
    ts.set_default_dtype(ts.float64)
    torch.set_default_dtype(torch.float64)
    try:
        same_dtype(ts.Tensor(2), torch.Tensor(2))
        same_dtype(ts.Tensor([1]), torch.Tensor([1]))
    finally:
        ts.set_default_dtype(ts.float32)
        torch.set_default_dtype(torch.float32)
    source = ts.tensor([1, 2])
    shared = ts.Tensor(source)
    same_dtype(shared, torch.Tensor(torch.tensor([1, 2])))       # keeps int64, as PyTorch
    shared[0] = 7
    assert source[0].item() == 7


def test_legacy_constructor_requires_grad_must_be_a_bool_keyword():
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        ts.Tensor(1, 5, requires_grad=5)
    assert ts.Tensor(1, 5, requires_grad=True).requires_grad     # tinyseq's keyword (PyTorch: none)
    with pytest.raises(TypeError, match="sizes .* or one sequence"):
        ts.Tensor([1.0], [2.0])


@pytest.mark.parametrize("dtype", ["float64", "int64", "float32"])
def test_new_sizes_and_data_as_pytorch(dtype):
    ours = ts.ones(2, 3, dtype=getattr(ts, dtype))
    theirs = torch.ones(2, 3, dtype=getattr(torch, dtype))
    for args in [(4, 1, 3), ([1, 2],), ([[1.5], [2.0]],), ()]:
        got, want = ours.new(*args), theirs.new(*args)
        assert tuple(got.shape) == tuple(want.shape)
        same_dtype(got, want)
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    hidden = ours.new(2, 4, 5).zero_()                           # the classic hidden-state idiom
    assert hidden.shape == (2, 4, 5) and not hidden.any() and not hidden.requires_grad
    same_dtype(ours.new_tensor([1, 2]), theirs.new_tensor([1, 2]))
    same_dtype(ours.new_tensor([1, 2], dtype=ts.float16),
               theirs.new_tensor([1, 2], dtype=torch.float16))


def test_a_size_is_sizes_where_a_tuple_is_data_as_pytorch():
    """``x.new(x.size()).zero_()`` and ``torch.Tensor(x.size())``: a Size (what ``shape`` and
    ``size()`` return) gives a tensor of that shape; a plain tuple gives a tensor holding it."""
    ours, theirs = ts.ones(2, 3, dtype=ts.float64), torch.ones(2, 3, dtype=torch.float64)
    assert isinstance(ours.shape, ts.Size) and isinstance(ours.size(), ts.Size)
    assert ours.shape == (2, 3) and ours.size() == theirs.size() and ours.size(1) == 3
    cases = [lambda m, x: x.new(x.size()), lambda m, x: x.new(x.shape),
             lambda m, x: m.Tensor(x.size()), lambda m, x: m.LongTensor(x.size()),
             lambda m, x: m.FloatTensor(m.Size([4])), lambda m, x: m.Tensor(m.Size([])),
             lambda m, x: m.LongTensor(), lambda m, x: m.FloatTensor(),
             lambda m, x: x.new_empty(x.size()), lambda m, x: x.new_empty(3, dtype=m.int64),
             lambda m, x: x.new_empty((1, 2), requires_grad=True)]
    for case in cases:
        got, want = case(ts, ours), case(torch, theirs)
        assert tuple(got.shape) == tuple(want.shape)
        same_dtype(got, want)
        assert got.requires_grad == want.requires_grad
        assert not got.detach().numpy().any()         # zeros (PyTorch's are uninitialised)
    for case in (lambda m, x: m.Tensor((2, 3)), lambda m, x: x.new((2, 3))):
        got, want = case(ts, ours), case(torch, theirs)
        same_dtype(got, want)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_a_size_prints_slices_and_adds_as_pytorch():
    ours, theirs = ts.zeros(2, 3, 4).shape, torch.zeros(2, 3, 4).shape
    assert repr(ours) == repr(theirs).replace("torch", "tinyseq") == "tinyseq.Size([2, 3, 4])"
    assert str(ours[1:]) == "tinyseq.Size([3, 4])" and ours[-1] == 4
    for result, reference in ((ours[1:], theirs[1:]), (ours + (5,), theirs + (5,)),
                              ((1,) + ours, (1,) + theirs), (ours[:1] * 2, theirs[:1] * 2)):
        assert type(result).__name__ == type(reference).__name__ == "Size"
        assert tuple(result) == tuple(reference)
    for framework_shape in (ours, theirs):
        with pytest.raises(TypeError):
            [1] + framework_shape
    assert ours == (2, 3, 4) and hash(ours) == hash((2, 3, 4))


@pytest.mark.parametrize("call", [lambda m: m.Tensor(2.0), lambda m: m.Tensor(True),
                                  lambda m: m.Tensor(np.float64(2.0)),
                                  lambda m: m.FloatTensor(2.5), lambda m: m.ones(2).new(2.0)])
def test_a_lone_float_is_no_size_and_no_sequence_as_pytorch(call):
    with pytest.raises(TypeError, match="data must be a sequence"):
        call(torch)
    with pytest.raises(TypeError, match=r"(Tensor|FloatTensor|new)\(\): data must be a sequence "
                                        r"\(got (float|bool|float64) "):
        call(ts)


def test_new_of_a_tensor_shares_its_storage_as_pytorch():
    for framework in (ts, torch):
        source = framework.ones(3)
        shared = framework.zeros(2).new(source)
        shared[0] = 5.0
        assert source[0].item() == 5.0
        with pytest.raises(TypeError):
            framework.zeros(2).new(framework.ones(2, dtype=framework.int64))


def test_variable_requires_grad_must_be_a_bool_as_pytorch():
    from torch.autograd import Variable as TorchVariable
    with pytest.raises(TypeError):
        TorchVariable(torch.ones(2), requires_grad="yes")
    with pytest.raises(TypeError, match="Variable: requires_grad must be a bool, got str 'yes'"):
        ts.autograd.Variable(ts.ones(2), requires_grad="yes")


def test_lbfgs_names_a_closure_that_returns_no_loss_before_moving_anything():
    """PyTorch's float(closure()) fails with Python's bare TypeError; tinyseq names LBFGS and
    what the closure returned, at its first evaluation, before any parameter moves."""
    for returned, text in [(lambda p: None, "got NoneType None"),
                           (lambda p: p * p, r"got a tensor of shape \(2,\)")]:
        p = nn.Parameter(ts.ones(2))
        optimizer = optim.LBFGS([p])

        def closure():
            optimizer.zero_grad()
            (p * p).sum().backward()
            return returned(p)
        with pytest.raises(TypeError, match=f"LBFGS.step: the closure must return the loss .*"
                                            f"{text}"):
            optimizer.step(closure)
        np.testing.assert_array_equal(p.detach().numpy(), [1.0, 1.0])


def test_variable_without_data_is_an_empty_float_tensor_as_pytorch():
    from torch.autograd import Variable as TorchVariable
    ours, theirs = ts.autograd.Variable(), TorchVariable()
    assert tuple(ours.shape) == tuple(theirs.shape) == (0,)
    same_dtype(ours, theirs)


# --- the deprecated scalar-first overloads ----------------------------------------------------
DEPRECATED = [
    ("add", lambda p, a, b: p.add(-0.5, a)), ("add_", lambda p, a, b: p.add_(-0.5, a)),
    ("sub", lambda p, a, b: p.sub(2, a)), ("sub_", lambda p, a, b: p.sub_(2, a)),
    ("addcmul", lambda p, a, b: p.addcmul(0.3, a, b)),
    ("addcmul_", lambda p, a, b: p.addcmul_(0.3, a, b)),
    ("addcdiv", lambda p, a, b: p.addcdiv(-0.7, a, b)),
    ("addcdiv_", lambda p, a, b: p.addcdiv_(-0.7, a, b)),
]


@pytest.mark.parametrize("name,call", DEPRECATED, ids=[d[0] for d in DEPRECATED])
def test_deprecated_scalar_first_overloads_as_pytorch(name, call):
    p, a, b = values(3), values(3), values(3) + 3.0
    ours, theirs = ts.tensor(p), torch.tensor(p)
    with pytest.warns(UserWarning, match=f"This overload of {name} is deprecated"):
        got = call(ours, ts.tensor(a), ts.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = call(theirs, torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)   # in place or not


@pytest.mark.parametrize("scalar", [np.float32(-0.5), np.float64(0.25), np.int64(2), "0-d"])
@pytest.mark.parametrize("name", [name for name, _ in DEPRECATED])
def test_the_scalar_first_may_be_a_numpy_number_or_a_0d_tensor(name, scalar):
    """``p.data.add_(lr_schedule[epoch], p.grad.data)``: the learning rate is often a NumPy
    number, or a 0-d tensor; PyTorch takes both as the scalar."""
    p, a, b = values(3), values(3), values(3) + 3.0
    results = []
    for framework in (ts, torch):
        number = framework.tensor(0.75) if scalar == "0-d" else scalar
        target = framework.tensor(p)
        operands = (framework.tensor(a),) if name.rstrip("_") in ("add", "sub") else \
            (framework.tensor(a), framework.tensor(b))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = getattr(target, name)(number, *operands)
        results.append((got.numpy(), target.numpy()))
    for got, want in zip(results[0], results[1]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("call", [lambda p, a: p.add_(-0.5, a, alpha=2),
                                  lambda p, a: p.add(-0.5, a, alpha=2),
                                  lambda p, a: p.addcmul_(0.3, a, a, value=2),
                                  lambda p, a: p.addcdiv(0.3, a, a, value=2)])
def test_the_scalar_given_first_and_as_a_keyword_is_refused_as_pytorch(call):
    for framework in (ts, torch):
        p = framework.ones(3)
        with pytest.raises(TypeError):
            call(p, framework.ones(3))
        np.testing.assert_array_equal(p.numpy(), [1.0, 1.0, 1.0])


def test_sgd_written_by_hand_with_the_old_overload():
    # the loop of scripts from before torch.optim: p.data.add_(-lr, p.grad.data)
    weights = values(3, 2)
    results = []
    for framework in (ts, torch):
        w = framework.tensor(weights, requires_grad=True)
        for _ in range(3):
            loss = (w * w).sum()
            w.grad = None
            loss.backward()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w.data.add_(-0.1, w.grad.data)
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_alpha_and_value_stay_keywords():
    t = ts.ones(2)
    with pytest.raises(TypeError, match="add\\(\\) takes 1 tensor operand and alpha="):
        t.add(ts.ones(2), 2)
    np.testing.assert_array_equal(t.add(ts.ones(2), alpha=2).numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(t.addcmul(ts.ones(2), ts.ones(2), value=3).numpy(), [4.0, 4.0])


# --- logsumexp -----------------------------------------------------------------------------
@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), ((0, 2), False), (-1, True)])
def test_logsumexp_as_pytorch_and_gradchecked(dim, keepdim):
    x = values(2, 3, 4) * 3
    got = ts.logsumexp(ts.tensor(x), dim, keepdim=keepdim)
    want = torch.logsumexp(torch.tensor(x), dim, keepdim=keepdim)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ts.tensor(x).logsumexp(dim=dim, keepdim=keepdim).numpy(),
                               want.numpy(), rtol=1e-12)
    gradcheck(lambda t: t.logsumexp(dim, keepdim), [leaf(x)])


def test_logsumexp_does_not_overflow_and_takes_minus_infinity():
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [-np.inf, 0.0]])
    got = ts.tensor(x).logsumexp(1)
    np.testing.assert_allclose(got.numpy(), torch.tensor(x).logsumexp(1).numpy())
    same_dtype(ts.tensor([1, 2]).logsumexp(0), torch.tensor([1, 2]).logsumexp(0))


@pytest.mark.parametrize("dim", [(), [], 0, -1, (0,)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"])
def test_reductions_over_an_empty_dim_list_or_of_a_0d_tensor_as_pytorch(name, dim, keepdim):
    """``x.sum(dim=[])`` reduces every dim in PyTorch (not none), and a 0-d tensor's dim 0 or -1
    is the tensor itself; logsumexp's gradient is checked through both."""
    for x in (values(2, 3), values()):
        if x.ndim == 2 and dim not in ((), []):
            continue
        if name == "logsumexp" and x.ndim == 2 and not keepdim:
            continue                  # PyTorch's logsumexp(dim=[]) fails to shape its output
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")           # var of one value: NaN, as PyTorch
            got = getattr(ts.tensor(x), name)(dim=dim, keepdim=keepdim)
            want = getattr(torch.tensor(x), name)(dim=dim, keepdim=keepdim)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    if name == "logsumexp":
        gradcheck(lambda t: t.logsumexp(dim, keepdim=True), [leaf(values(2, 3))])
        gradcheck(lambda t: t.logsumexp(dim), [leaf(values())])


def test_a_0d_tensor_has_only_dims_0_and_minus_1():
    with pytest.raises(ValueError, match=r"sum: dim 1 is out of range for a 0-d tensor"):
        ts.tensor(2.0).sum(1)
    with pytest.raises(IndexError):
        torch.tensor(2.0).sum(1)


def test_logsumexp_over_an_empty_dim_is_minus_infinity_as_pytorch():
    x = ts.zeros(2, 0, requires_grad=True)
    got = ts.logsumexp(x, 1)
    np.testing.assert_array_equal(got.detach().numpy(), torch.logsumexp(torch.zeros(2, 0), 1))
    got.sum().backward()
    assert x.grad.shape == (2, 0)


def test_logsumexp_gradient_of_a_row_of_minus_infinity_is_nan_without_a_warning():
    x = np.array([[-np.inf, -np.inf], [-np.inf, 1.0]])
    ours, theirs = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.logsumexp(1).sum().backward()
    theirs.logsumexp(1).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


# --- softmax without dim ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_0d_tensor_as_pytorch(name):
    """PyTorch's implicit dim of a 0-d input is 0: softmax gives 1, log_softmax 0."""
    x = ts.tensor(0.7, requires_grad=True)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        got = getattr(F, name)(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(TF, name)(torch.tensor(0.7))
    assert got.shape == () and got.item() == want.item()
    assert getattr(x, name)(-1).item() == want.item()
    gradcheck(lambda t: getattr(t, name)(0), [leaf(0.7)])
    with pytest.raises(ValueError, match=f"{name}: axis 1 is out of range"):
        getattr(x, name)(1)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_without_dim_uses_pytorchs_implicit_dim_and_warns(shape, name):
    x = values(*shape)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        got = getattr(F, name)(ts.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(TF, name)(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        module = nn.Softmax() if name == "softmax" else nn.LogSoftmax()
        np.testing.assert_allclose(module(ts.tensor(x)).numpy(), want.numpy(), rtol=1e-12)


def test_softmax_with_dim_stays_silent_and_takes_a_dtype():
    x = values(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = F.log_softmax(ts.tensor(x, dtype=ts.float32), dim=0, dtype=ts.float64)
    want = TF.log_softmax(torch.tensor(x, dtype=torch.float32), dim=0, dtype=torch.float64)
    same_dtype(got, want)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


# --- type promotion ----------------------------------------------------------------------------
DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
KINDS = ["tensor", "0-d", "scalar"]
SCALARS = {"bool": True, "uint8": 3, "int32": 3, "int64": 3, "float16": 2.5, "float32": 2.5,
           "float64": 2.5}


def operand(framework, dtype, kind):
    if kind == "scalar":
        return SCALARS[dtype]
    data = [True, True] if dtype == "bool" else [1, 2]
    t = framework.tensor(data if kind == "tensor" else data[0], dtype=getattr(framework, dtype))
    return t


@pytest.mark.parametrize("kind1,kind2", [(k1, k2) for k1, k2 in itertools.product(KINDS, KINDS)
                                         if "tensor" in (k1, k2) or (k1, k2) == ("0-d", "0-d")
                                         or (k1, k2) == ("0-d", "scalar")])
def test_result_type_grid_as_pytorch(kind1, kind2):
    for dtype1, dtype2 in itertools.product(DTYPES, DTYPES):
        a, b = operand(ts, dtype1, kind1), operand(ts, dtype2, kind2)
        ta, tb = operand(torch, dtype1, kind1), operand(torch, dtype2, kind2)
        want = torch.result_type(ta, tb)
        got = ts.result_type(a, b)
        assert str(got) == str(want).split(".")[-1], (dtype1, kind1, dtype2, kind2, got, want)
        # PyTorch refuses subtraction with a bool operand
        for op in ("__add__", "__mul__") + (("__sub__",) * ("bool" not in (dtype1, dtype2))):
            if isinstance(a, ts.Tensor):
                same_dtype(getattr(a, op)(b), getattr(ta, op)(tb))
        if isinstance(a, ts.Tensor):
            same_dtype(a / b, ta / tb)
            same_dtype(ts.where(a > 0, a, b), torch.where(ta > 0, ta, tb))


@pytest.mark.parametrize("op", ["__floordiv__", "__rfloordiv__", "__mod__", "__rmod__"])
def test_floor_division_and_remainder_as_pytorch_over_the_grid(op):
    """``//`` and ``%`` with tensors, 0-d tensors and Python scalars of every dtype: PyTorch's
    result dtype and Python's signs (the floor, the divisor's sign), two bools refused."""
    for kind1, kind2 in itertools.product(["tensor", "0-d"], KINDS):
        for dtype1, dtype2 in itertools.product(DTYPES, DTYPES):
            a, b = operand(ts, dtype1, kind1), operand(ts, dtype2, kind2)
            ta, tb = operand(torch, dtype1, kind1), operand(torch, dtype2, kind2)
            if isinstance(b, ts.Tensor):               # signs of both kinds, no zero divisor
                b, tb = -b if dtype2 not in ("bool", "uint8") else b, \
                    -tb if dtype2 not in ("bool", "uint8") else tb
            try:
                want = getattr(ta, op)(tb)
            except (RuntimeError, NotImplementedError):
                with pytest.raises(TypeError, match="not implemented for two bool operands"):
                    getattr(a, op)(b)
                continue
            got = getattr(a, op)(b)
            same_dtype(got, want)
            np.testing.assert_allclose(got.numpy().astype(np.float64),
                                       want.numpy().astype(np.float64), rtol=1e-3)


def test_floor_division_of_floats_as_python_and_the_remainders_gradient():
    a, b = values(4, 3) * 3, values(3) + np.sign(values(3)) * 0.5
    got, want = ts.tensor(a) // ts.tensor(b), torch.tensor(a) // torch.tensor(b)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal((ts.tensor([1.0]) // 0.1).numpy(), [9.0])    # not floor(10.0)
    x, y = leaf(a), leaf(b)
    assert not (x // y).requires_grad
    ours, theirs = x % y, torch.tensor(a, requires_grad=True) % torch.tensor(b, requires_grad=True)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    gradcheck(lambda p, q: p % q, [x, y])


@pytest.mark.parametrize("statement", ["t //= 2", "t %= 3", "t //= -3", "t %= -3",
                                       "t.floor_divide_(2)", "t.remainder_(3)", "t **= 2"])
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_floor_division_remainder_and_power_in_place_as_pytorch(statement, dtype):
    """``//=``, ``%=`` and ``**=`` change the tensor itself, as PyTorch's: a view sees it."""
    results = []
    for framework in (ts, torch):
        t = framework.tensor([7, -7, 5, 0], dtype=getattr(framework, dtype))
        view = t[:]
        scope = {"t": t}
        exec(statement, scope)
        assert scope["t"] is t
        results.append(view.numpy())
    np.testing.assert_array_equal(*results)


def test_an_integer_tensor_floor_divided_in_place_by_a_float_is_refused_as_pytorch():
    t = ts.tensor([7, -7])
    with pytest.raises(RuntimeError, match="floor_divide_: result type float32 can't be cast"):
        t //= 2.5
    np.testing.assert_array_equal(t.numpy(), [7, -7])
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.tensor([7, -7]).floor_divide_(2.5)


@pytest.mark.parametrize("method", ["masked_fill", "masked_fill_"])
def test_masked_fill_takes_a_number_or_a_0_d_value_only_as_pytorch(method):
    mask = [True, False, True]
    ours = ts.zeros(3)
    with pytest.raises(RuntimeError, match=r"masked_fill: the value must be a number or a 0-d "
                                           r"tensor, as in PyTorch, got shape \(1,\)"):
        getattr(ours, method)(ts.tensor(mask), ts.tensor([1.0]))
    np.testing.assert_array_equal(ours.numpy(), [0, 0, 0])
    with pytest.raises(RuntimeError, match="0-dimensional value"):
        getattr(torch.zeros(3), method)(torch.tensor(mask), torch.tensor([1.0]))
    np.testing.assert_array_equal(getattr(ours, method)(ts.tensor(mask), ts.tensor(2.0)).numpy(),
                                  getattr(torch.zeros(3), method)(torch.tensor(mask),
                                                                  torch.tensor(2.0)).numpy())


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_as_a_function_or_method_needs_its_dim_as_pytorch(op):
    missing = f'{op}\\(\\) missing 1 required positional arguments: "dim"'
    for framework in (ts, torch):
        x = framework.zeros(2, 3)
        for call in (lambda: getattr(framework, op)(x), lambda: getattr(x, op)()):
            with pytest.raises(TypeError, match=missing):
                call()
    x = np.random.default_rng(0).standard_normal((2, 3))
    np.testing.assert_allclose(getattr(ts.tensor(x), op)(axis=0).numpy(),
                               getattr(torch.tensor(x), op)(0).numpy(), rtol=1e-12)


def test_powers_of_a_bool_tensor_as_pytorch():
    for exponent in (True, False, 2, 0.5):
        for framework in (ts, torch):
            base = framework.tensor([True, False])
            got = base ** exponent
            if framework is ts:
                ours = got
            else:
                same_dtype(ours, got)
                assert ours.tolist() == got.tolist()
    ours, theirs = ts.tensor([True, False]), torch.tensor([True, False])
    assert ours.pow_(True) is ours and ours.tolist() == theirs.pow_(True).tolist()
    with pytest.raises(NotImplementedError):
        theirs ** torch.tensor([True, True])
    with pytest.raises(TypeError, match="pow: not implemented for two bool operands"):
        ours ** ts.tensor([True, True])


def test_integer_division_by_zero_and_bool_subtraction_are_refused_as_pytorch():
    for op in (lambda a, b: a // b, lambda a, b: a % b):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(torch.tensor([5, 6]), torch.tensor([2, 0]))
        with pytest.raises(ZeroDivisionError, match="integer division by zero .* shape \\(2,\\)"):
            op(ts.tensor([5, 6]), ts.tensor([2, 0]))
    np.testing.assert_array_equal((ts.tensor([5.0]) // 0.0).numpy(), [np.inf])
    for op in (lambda m: m.tensor([True]) - 1, lambda m: 1 - m.tensor([True, False]),
               lambda m: m.tensor([True]) - m.tensor([2.0])):
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool"):
            op(torch)
        with pytest.raises(TypeError, match="sub: subtraction, the `-` operator, with a bool"):
            op(ts)


@pytest.mark.parametrize("op", ["add_", "mul_", "__iadd__", "__imul__"])
@pytest.mark.parametrize("kind", KINDS)
def test_in_place_ops_on_a_bool_tensor_refuse_a_wider_result_as_pytorch(op, kind):
    """PyTorch casts an in-place result to the tensor's dtype only where it can: not a float
    into an integer tensor, and nothing but a bool into a bool tensor."""
    for dtype in DTYPES:
        ours, theirs = operand(ts, "bool", "tensor"), operand(torch, "bool", "tensor")
        b, tb = operand(ts, dtype, kind), operand(torch, dtype, kind)
        try:
            want = getattr(theirs, op)(tb)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="can't be cast to the desired output "
                                                   "type bool"):
                getattr(ours, op)(b)
            assert ours.numpy().tolist() == [True, True]              # unchanged
            continue
        got = getattr(ours, op)(b)
        same_dtype(got, want)
        assert got.numpy().tolist() == want.numpy().tolist()


def test_int64_with_float32_gives_float32():
    ids = ts.tensor([1, 2])
    weight = ts.tensor([0.5, 0.25], requires_grad=True)
    y = ids * weight
    assert y.dtype == ts.float32
    y.sum().backward()
    assert weight.grad.dtype == ts.float32
    np.testing.assert_array_equal(weight.grad.numpy(), [1.0, 2.0])
    same_dtype(ts.cat([ids, weight.detach()]), torch.cat([torch.tensor([1, 2]),
                                                          torch.tensor([0.5, 0.25])]))


def test_a_higher_category_0d_tensor_with_lower_rank_keeps_the_gradient():
    w = ts.tensor([1.0, 2.0], dtype=ts.float16, requires_grad=True)
    scale = ts.tensor(3.0, dtype=ts.float64, requires_grad=True)   # 0-d: w's dtype wins
    y = w * scale
    assert y.dtype == ts.float16
    y.sum().backward()
    assert scale.grad.dtype == ts.float64 and w.grad.dtype == ts.float16
    np.testing.assert_allclose(scale.grad.numpy(), 3.0)
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])


# --- BatchNorm1d, BatchNorm2d, Dropout2d ------------------------------------------------------
def torch_copy(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


BATCH_NORMS = [
    ("BatchNorm1d", (6, 3), {}), ("BatchNorm1d", (4, 3, 5), {"momentum": 0.3}),
    ("BatchNorm1d", (4, 3), {"momentum": None}), ("BatchNorm1d", (4, 3, 2), {"affine": False}),
    ("BatchNorm2d", (3, 2, 4, 5), {}), ("BatchNorm2d", (2, 3, 2, 2), {"eps": 1e-3}),
    ("BatchNorm2d", (2, 3, 2, 2), {"track_running_stats": False}),
]


@pytest.mark.parametrize("name,shape,options", BATCH_NORMS)
def test_batch_norm_as_pytorch_through_training_and_evaluation(name, shape, options):
    ours = getattr(nn, name)(shape[1], **options).double()
    theirs = getattr(torch.nn, name)(shape[1], **options).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if ours.affine:
        with ts.no_grad():
            ours.weight.copy_(ts.tensor(values(shape[1])))
            ours.bias.copy_(ts.tensor(values(shape[1])))
    torch_copy(ours, theirs)
    for mode in ("train", "train", "train", "eval", "train"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        x = values(*shape) * 3 + 1
        ts_x, torch_x = leaf(x), torch.tensor(x, requires_grad=True)
        got, want = ours(ts_x), theirs(torch_x)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
        weight = values(*shape)
        (got * ts.tensor(weight)).sum().backward()
        (want * torch.tensor(weight)).sum().backward()
        np.testing.assert_allclose(ts_x.grad.numpy(), torch_x.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(),
                                       rtol=1e-12, err_msg=key)
        if ours.affine:
            np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                       rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(),
                                       rtol=1e-9, atol=1e-12)
    assert (ours.num_batches_tracked is None) == (theirs.num_batches_tracked is None)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (2, 2, 3, 3)])
def test_batch_norm_training_is_gradchecked(shape):
    ndim = len(shape)
    layer = (nn.BatchNorm1d if ndim < 4 else nn.BatchNorm2d)(shape[1]).double()
    weight, bias = leaf(values(shape[1])), leaf(values(shape[1]))
    axes = (0,) + tuple(range(2, ndim))
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5),
              [leaf(values(*shape)), weight, bias])
    y = layer(ts.tensor(values(*shape)))
    np.testing.assert_allclose(y.numpy().mean(axis=axes), 0, atol=1e-12)


def test_batch_norm_weights_copy_across_and_errors_name_the_shapes():
    theirs = torch.nn.BatchNorm1d(4)
    theirs(torch.randn(8, 4) * 2 + 1)
    ours = nn.BatchNorm1d(4)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert ours.num_batches_tracked.item() == 1 and ours.num_batches_tracked.dtype == ts.int64
    ours.eval(), theirs.eval()
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(ts.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D"):
        ours(ts.zeros(2, 4, 1, 1))
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) has 3 channels"):
        ours(ts.zeros(2, 3))
    ours.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ours(ts.zeros(1, 4))
    assert ours.num_batches_tracked.item() == 1       # nothing changed by the refused call
    ours.double()
    assert ours.running_mean.dtype == ts.float64 and ours.num_batches_tracked.dtype == ts.int64


@pytest.mark.parametrize("options", [{}, {"affine": False}, {"track_running_stats": False}])
def test_batch_norm_refuses_mixed_and_integer_dtypes_as_pytorch_and_changes_nothing(options):
    ours, theirs = nn.BatchNorm1d(3, **options), torch.nn.BatchNorm1d(3, **options)
    before = {k: v.numpy().copy() for k, v in ours.state_dict().items()}
    for dtype, training in itertools.product(("float64", "int64"), (True, False)):
        ours.train(training), theirs.train(training)
        with pytest.raises(RuntimeError):
            theirs(torch.ones(4, 3, dtype=getattr(torch, dtype)))
        with pytest.raises(TypeError, match="batch_norm: input (of dtype float64 with .*mixed "
                                            "dtypes|must be floating point, got dtype int64)"):
            ours(ts.ones(4, 3, dtype=getattr(ts, dtype)))
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
    assert ours.double().train()(ts.randn(4, 3, dtype=ts.float64)).dtype == ts.float64
    with pytest.raises(ValueError, match="BatchNorm1d: momentum must be finite, got nan"):
        nn.BatchNorm1d(3, momentum=float("nan"))


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    ts.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    x = ts.ones(8, 16, 3, 3, requires_grad=True)
    y = layer(x)
    per_channel = y.numpy().reshape(8, 16, 9)
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()    # a channel is all or none
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == repr(torch.nn.Dropout2d(0.5))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(ts.ones(2, 3, 4))


# --- Adadelta, LBFGS -----------------------------------------------------------------------------
class Tiny:
    """A two-layer LSTM-cell regressor built alike in both frameworks from one set of weights."""

    def __init__(self, framework, weights=None):
        self.lstm = framework.nn.LSTMCell(2, 5).double()
        self.linear = framework.nn.Linear(5, 1).double()
        if weights is not None:
            for module, state in zip((self.lstm, self.linear), weights):
                module.load_state_dict({k: framework.tensor(v) for k, v in state.items()})

    def weights(self):
        return [{k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
                for m in (self.lstm, self.linear)]

    def parameters(self):
        return list(self.lstm.parameters()) + list(self.linear.parameters())

    def loss(self, framework, x, y):
        h = c = framework.zeros(x.shape[1], 5, dtype=framework.float64)
        for step in range(x.shape[0]):
            h, c = self.lstm(framework.tensor(x[step]), (h, c))
        return ((self.linear(h) - framework.tensor(y)) ** 2).mean()


def trajectories(make_optimizer_pair, steps, closure_form):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 1))
    theirs = Tiny(torch)
    ours = Tiny(ts, theirs.weights())
    losses = []
    for framework, model, make in ((torch, theirs, make_optimizer_pair[0]),
                                   (ts, ours, make_optimizer_pair[1])):
        optimizer = make(model.parameters())
        seen = []

        def closure():
            optimizer.zero_grad()
            loss = model.loss(framework, x, y)
            loss.backward()
            seen.append(loss.item())
            return loss
        for _ in range(steps):
            if closure_form:
                optimizer.step(closure)
            else:
                closure()
                optimizer.step()
        losses.append((seen, model.weights()))
    return losses


@pytest.mark.parametrize("options", [{}, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}])
def test_adadelta_follows_pytorch(options):
    (theirs, their_weights), (ours, our_weights) = trajectories(
        (lambda p: torch.optim.Adadelta(p, **options), lambda p: optim.Adadelta(p, **options)),
        steps=8, closure_form=False)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    for a, b in zip(our_weights, their_weights):
        for key in b:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("options", [{"lr": 0.8}, {"lr": 1.0, "max_iter": 4, "history_size": 2},
                                     {"lr": 1.0, "max_iter": 5, "line_search_fn": "strong_wolfe"}])
def test_lbfgs_closure_form_follows_pytorch(options):
    (theirs, their_weights), (ours, our_weights) = trajectories(
        (lambda p: torch.optim.LBFGS(p, **options), lambda p: optim.LBFGS(p, **options)),
        steps=3, closure_form=True)
    assert len(ours) == len(theirs) > 3        # every closure evaluation inside the steps
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    for a, b in zip(our_weights, their_weights):
        for key in b:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-7, atol=1e-10)


def test_lbfgs_strong_wolfe_finds_the_minimum_of_a_quadratic_as_pytorch():
    target = values(4)
    found = []
    for framework, make in ((torch, torch.optim.LBFGS), (ts, optim.LBFGS)):
        x = framework.zeros(4, dtype=framework.float64, requires_grad=True)
        optimizer = make([x], line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = ((x - framework.tensor(target)) ** 2 * framework.tensor([1.0, 4, 9, 16])).sum()
            loss.backward()
            return loss
        optimizer.step(closure)
        found.append((x.detach().numpy(), optimizer.state[x]["func_evals"]))
    np.testing.assert_allclose(found[1][0], found[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(found[1][0], target, atol=1e-4)    # both stop at the same place
    assert found[1][1] == found[0][1]


def test_lbfgs_refuses_what_it_does_not_do():
    p = [ts.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe'"):
        optim.LBFGS(p, line_search_fn="backtracking")
    with pytest.raises(TypeError, match="needs a closure"):
        optim.LBFGS(p).step()


# --- saving and loading a whole module ---------------------------------------------------------
class TiedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(7, 4)
        self.rnn = nn.LSTM(4, 4, num_layers=2)
        self.norm = nn.BatchNorm1d(4)
        self.decoder = nn.Linear(4, 7)
        self.decoder.weight = self.encoder.weight

    def forward(self, ids):
        output, _ = self.rnn(self.encoder(ids))
        return self.decoder(output)


def test_a_saved_module_is_refused_by_default_with_pytorchs_message(tmp_path):
    ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
    ts.save(nn.Linear(2, 3), ours)
    torch.save(torch.nn.Linear(2, 3), theirs)
    import pickle
    with pytest.raises(pickle.UnpicklingError) as our_error:
        ts.load(ours)
    with pytest.raises(pickle.UnpicklingError) as their_error:
        torch.load(theirs)
    for text in ("Weights only load failed.", "with `weights_only` set to `False` will likely "
                 "succeed, but it can result in arbitrary code execution. Do it only if you got "
                 "the file from a trusted source.", "WeightsUnpickler error: Unsupported global: "
                 "GLOBAL", "was not an allowed global by default."):
        assert text in str(our_error.value) and text in str(their_error.value)
    assert "GLOBAL tinyseq.nn.layers.Linear" in str(our_error.value)


def test_a_saved_module_loads_with_weights_only_false(tmp_path):
    model = TiedModel()
    model(ts.tensor([[1, 2], [3, 4]]))
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:                       # word_language_model's way
        ts.save(model, f)
    with open(path, "rb") as f:
        loaded = ts.load(f, weights_only=False)
    assert type(loaded) is TiedModel and loaded is not model
    assert loaded.decoder.weight is loaded.encoder.weight               # still tied
    assert isinstance(loaded.encoder.weight, nn.Parameter) and loaded.encoder.weight.requires_grad
    state, saved = loaded.state_dict(), model.state_dict()
    assert list(state) == list(saved)
    for key in saved:
        np.testing.assert_array_equal(state[key].numpy(), saved[key].numpy())
    ids = ts.tensor([[0, 5], [6, 1]])
    model.eval(), loaded.eval()
    np.testing.assert_array_equal(loaded(ids).numpy(), model(ids).numpy())
    bundle = tmp_path / "bundle.pt"
    ts.save({"model": model, "epoch": 3}, bundle)
    assert ts.load(bundle, weights_only=False)["epoch"] == 3


@pytest.mark.parametrize("weights_only", [None, True])
def test_weights_only_none_is_the_default_and_refuses_a_module_without_running_it(tmp_path,
                                                                                weights_only):
    """PyTorch reads ``weights_only=None`` as its default, True: a crafted module file whose
    pickle would run code is refused and runs nothing."""
    import base64
    import pickle
    import struct

    marker = tmp_path / "RAN"

    class Exploit:
        def __reduce__(self):
            return (marker.touch, ())
    path = tmp_path / "module.pt"
    ts.save(nn.Linear(2, 2), path)
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    tree = json.loads(header["__metadata__"]["tinyseq"])
    tree["root"]["pickle"] = base64.b64encode(pickle.dumps(Exploit())).decode()
    header["__metadata__"]["tinyseq"] = json.dumps(tree)
    checksums = json.loads(header["__metadata__"]["tinyseq.crc32"])
    checksums["tree"] = zlib.crc32(header["__metadata__"]["tinyseq"].encode())
    header["__metadata__"]["tinyseq.crc32"] = json.dumps(checksums)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + size:])
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        ts.load(path, weights_only=weights_only)
    assert not marker.exists()
    with pytest.raises(TypeError, match="load: weights_only must be True or False .* got int 0"):
        ts.load(path, weights_only=0)
    assert not marker.exists()
    ts.load(path, weights_only=False)               # the explicit opt-in runs the file's code
    assert marker.exists()


def test_weights_only_false_never_unpickles_foreign_files(tmp_path):
    import pickle

    marker = tmp_path / "RAN"

    class Exploit:
        def __reduce__(self):
            return (marker.touch, ())
    path = tmp_path / "raw.pt"
    path.write_bytes(pickle.dumps({"w": Exploit()}))
    with pytest.raises(ValueError, match="not a readable tinyseq file"):
        ts.load(path, weights_only=False)
    assert not marker.exists()


# --- what the ported scripts needed besides the list ----------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_loss_as_pytorch_and_gradchecked(reduction):
    p = _rng.uniform(0.05, 0.95, size=(3, 4))
    y = (_rng.random((3, 4)) > 0.5).astype(float)
    ours, theirs = leaf(p), torch.tensor(p, requires_grad=True)
    got = nn.BCELoss(reduction=reduction)(ours, ts.tensor(y))
    want = torch.nn.BCELoss(reduction=reduction)(theirs, torch.tensor(y))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
              [leaf(p), leaf(_rng.random((3, 4)))])


def test_bce_loss_bounds_the_log_and_refuses_non_probabilities():
    p, y = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(F.binary_cross_entropy(ts.tensor(p), ts.tensor(y)).numpy(),
                               TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).numpy())
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should "
                                         "be between 0 and 1"):
        F.binary_cross_entropy(ts.tensor([1.5]), ts.tensor([1.0]))


@pytest.mark.parametrize("mask_shape", [(3, 4), (4,), (3, 1)])
def test_masked_select_as_pytorch_with_its_gradient(mask_shape):
    x = values(3, 4)
    mask = _rng.random(mask_shape) > 0.4
    ours, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    got, want = ours.masked_select(ts.tensor(mask)), theirs.masked_select(torch.tensor(mask))
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    weight = _rng.standard_normal(tuple(want.shape))
    (got * ts.tensor(weight)).sum().backward()
    (want * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="masked_select: the mask must be boolean"):
        ours.masked_select(ts.tensor([1, 0, 1, 0]))


@pytest.mark.parametrize("name", ["round", "floor", "ceil"])
def test_rounding_as_pytorch_with_zero_gradient(name):
    x = np.array([-2.5, -1.5, -0.4, 0.5, 1.5, 2.6, 3.0])
    ours, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    got, want = getattr(ts, name)(ours), getattr(torch, name)(theirs)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_array_equal(ts.tensor(x).round(decimals=1).numpy(),
                                  torch.tensor(x).round(decimals=1).numpy())


def test_small_integer_casts_format_detach_in_place_and_random_fill():
    x = np.array([1.7, -2.2, 300.0])
    for name in ("byte", "char", "short"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            same_dtype(getattr(ts.tensor(x), name)(), getattr(torch.tensor(x), name)())
    assert f"{ts.tensor(2.3456):.2f}" == f"{torch.tensor(2.3456):.2f}" == "2.35"
    assert f"{ts.tensor([1.0, 2.0])}" == str(ts.tensor([1.0, 2.0]))
    a = ts.ones(2, requires_grad=True)
    hidden = a * 2
    assert hidden.detach_() is hidden and hidden.grad_fn is None and not hidden.requires_grad
    ts.manual_seed(0)
    filled = ts.empty(1000).random_(2)
    assert set(np.unique(filled.numpy())) == {0.0, 1.0} and filled.dtype == ts.float32
    assert set(np.unique(ts.zeros(500, dtype=ts.int64).random_(3, 6).numpy())) == {3, 4, 5}
    with pytest.raises(ValueError, match="random_: expects from < to"):
        ts.zeros(2).random_(5, 5)


def test_samplers_drive_the_data_loader():
    from tinyseq.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset
    data = TensorDataset(ts.arange(10))
    assert list(SequentialSampler(data)) == list(range(10))
    ts.manual_seed(0)
    order = list(RandomSampler(data))
    assert sorted(order) == list(range(10)) and order != list(range(10))
    batches = [b[0].tolist() for b in DataLoader(data, batch_size=4,
                                                 sampler=SequentialSampler(data))]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    drawn = list(RandomSampler(data, replacement=True, num_samples=25))
    assert len(drawn) == 25 and set(drawn) <= set(range(10))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(data, shuffle=True, sampler=SequentialSampler(data))


def test_tensor_where_and_indexing_a_0d_tensor_as_pytorch():
    cond, x, y = np.array([True, False, True]), values(3), values(3)
    np.testing.assert_array_equal(
        ts.tensor(x).where(ts.tensor(cond), ts.tensor(y)).numpy(),
        torch.tensor(x).where(torch.tensor(cond), torch.tensor(y)).numpy())
    for framework in (ts, torch):
        with pytest.raises(IndexError, match="invalid index of a 0-dim tensor. Use `tensor.item"):
            framework.tensor(1.5).data[0]             # an old script's loss.data[0]


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "sin", "cos", "sqrt"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float64"])
def test_unary_float_ops_on_integers_give_the_default_dtype_as_pytorch(name, dtype):
    data = [True, False] if dtype == "bool" else [1, 2]
    got = getattr(ts.tensor(data, dtype=getattr(ts, dtype)), name)()
    want = getattr(torch.tensor(data, dtype=getattr(torch, dtype)), name)()
    same_dtype(got, want)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


# --- arithmetic as functions ------------------------------------------------------------------
ARITHMETIC_CALLS = [
    ("add", lambda m, a, b: m.add(a, b)), ("add", lambda m, a, b: m.add(a, b, alpha=3)),
    ("add", lambda m, a, b: m.add(2, b)), ("sub", lambda m, a, b: m.sub(a, b, alpha=2)),
    ("subtract", lambda m, a, b: m.subtract(a, 1.5)), ("mul", lambda m, a, b: m.mul(2, b)),
    ("multiply", lambda m, a, b: m.multiply(a, b)), ("div", lambda m, a, b: m.div(a, b)),
    ("div", lambda m, a, b: m.div(3, b)), ("divide", lambda m, a, b: m.divide(a, 2)),
    ("true_divide", lambda m, a, b: m.true_divide(a, b)), ("pow", lambda m, a, b: m.pow(a, 2)),
    ("pow", lambda m, a, b: m.pow(2, b.abs())), ("pow", lambda m, a, b: m.pow(a, b.abs())),
    ("floor_divide", lambda m, a, b: m.floor_divide(a, b)),
    ("remainder", lambda m, a, b: m.remainder(a, -3)), ("neg", lambda m, a, b: m.neg(a)),
    ("negative", lambda m, a, b: m.negative(b)),
    ("addcmul", lambda m, a, b: m.addcmul(a, a, b, value=2)),
    ("addcdiv", lambda m, a, b: m.addcdiv(a, a, b, value=0.5)),
    ("lerp", lambda m, a, b: m.lerp(a, b, 0.25)),
]


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("int64", "int64"),
                                    ("int64", "float32")], ids="-".join)
@pytest.mark.parametrize("name, call", ARITHMETIC_CALLS,
                         ids=[f"{n}{k}" for k, (n, _) in enumerate(ARITHMETIC_CALLS)])
def test_arithmetic_functions_match_pytorch(name, call, dtypes):
    a_values, b_values = np.array([[5, -7, 3], [2, 8, -6]]), np.array([[2, 3, -4], [5, -1, 7]])
    operands = [[module.tensor(v, dtype=getattr(module, d)) for v, d in
                 ((a_values, dtypes[0]), (b_values, dtypes[1]))] for module in (ts, torch)]
    results = []
    for module, (a, b) in zip((ts, torch), operands):
        try:
            results.append(call(module, a, b))
        except (RuntimeError, TypeError) as error:
            results.append(type(error))
    ours, theirs = results
    if isinstance(theirs, type):                       # PyTorch refuses it (lerp of integers)
        assert isinstance(ours, type) and issubclass(ours, (RuntimeError, TypeError)), ours
        return
    same_dtype(ours, theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_integer_powers_with_negative_exponents_match_pytorch():
    base = [2, -2, 1, -1, 0, 3, 0, -1, 5]
    exponent = [-1, -3, -5, -3, -2, -1, 0, -4, 2]
    for dtype in ("int64", "int32"):
        ours = ts.tensor(base, dtype=getattr(ts, dtype)) ** ts.tensor(exponent,
                                                                       dtype=getattr(ts, dtype))
        theirs = torch.tensor(base, dtype=getattr(torch, dtype)) ** torch.tensor(
            exponent, dtype=getattr(torch, dtype))
        same_dtype(ours, theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(ts.pow(2, ts.tensor([-1, 3])).numpy(), [0, 8])
    with pytest.raises(ValueError, match="Integers to negative integer powers"):
        ts.tensor([2]) ** -1                           # a number exponent: PyTorch refuses too


def test_refused_addcdiv_and_lerp_name_the_dtypes_and_change_nothing():
    ints, floats = ts.tensor([[4, 6]]), ts.tensor([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match=r"addcdiv: integer division is not supported.*"
                                           r"tensor1 int64, tensor2 int64"):
        floats.addcdiv_(ints, ints)
    with pytest.raises(RuntimeError, match=r"lerp: expected dtype float32 for end but "
                                           r"got dtype float64"):
        floats.lerp_(floats.double(), 0.5)
    with pytest.raises(RuntimeError, match="lerp: not implemented for int64"):
        ints.lerp_(ints, 0.5)
    np.testing.assert_array_equal(floats.numpy(), [[1.0, 2.0]])
    np.testing.assert_array_equal(ints.numpy(), [[4, 6]])
    assert floats._version == 0 and ints._version == 0


def test_arithmetic_functions_differentiate_and_need_a_tensor():
    a, b = leaf(values(2, 3)), leaf(values(2, 3) + 3.0)
    gradcheck(lambda a, b: ts.add(a, b, alpha=-2.5), [a, b])
    gradcheck(lambda a, b: ts.div(1.5, b) + ts.sub(a, b, alpha=0.5), [a, b])
    gradcheck(lambda a, b: ts.pow(b, 1.5) * ts.mul(a, 3), [a, b])
    with pytest.raises(TypeError, match="add: expected a tensor among the operands"):
        ts.add(1, 2)


# --- set_grad_enabled and inference_mode ------------------------------------------------------
def _grad_mode_story(framework):
    """What is_grad_enabled and a recorded op say through every form of the two modes."""
    seen = []

    def note():
        seen.append((framework.is_grad_enabled(),
                     (framework.ones(2, requires_grad=True) * 2).requires_grad))
    framework.set_grad_enabled(False)
    note()
    framework.set_grad_enabled(True)
    note()
    with framework.set_grad_enabled(False):
        note()
        with framework.set_grad_enabled(True):
            note()
        note()
    note()

    @framework.set_grad_enabled(False)
    def without_grad():
        note()
    note()                                             # decorating changed nothing
    without_grad()
    note()
    with framework.inference_mode():
        note()
    with framework.no_grad(), framework.inference_mode(False):
        note()                                         # on again, as PyTorch's

    @framework.inference_mode
    def bare():
        note()

    @framework.inference_mode()
    def called():
        note()
    bare()
    called()
    note()
    return seen


def test_set_grad_enabled_and_inference_mode_match_pytorch():
    from tinyseq import modes
    assert _grad_mode_story(ts) == _grad_mode_story(torch)
    assert modes.threads_without_grad == 0
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be a bool, got int 1"):
        ts.set_grad_enabled(1)
    assert ts.is_grad_enabled()


@pytest.mark.parametrize("fill_value", [3, True, 2.5, np.int32(7), np.bool_(False)])
def test_full_takes_its_dtype_from_the_value_as_pytorch(fill_value):
    ours = ts.full((2,), fill_value)
    theirs = torch.full((2,), fill_value.item() if isinstance(fill_value, np.generic) else fill_value)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ts.full((2,), fill_value, dtype=ts.float64).dtype == ts.float64


@pytest.mark.parametrize("name, args, kwargs", [
    ("arange", (3.0,), {}), ("arange", (3,), {}), ("linspace", (0, 1, 3), {}), ("eye", (2,), {}),
    ("randint", (0, 5, (3,)), {}), ("randint", (0, 5, (3,)), {"dtype": "float32"})])
def test_ranges_take_requires_grad_and_refuse_it_for_integers_as_pytorch(name, args, kwargs):
    ours = getattr(ts, name)(*args, **{k: getattr(ts, v) for k, v in kwargs.items()})
    theirs = getattr(torch, name)(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    if theirs.is_floating_point():
        made = getattr(ts, name)(*args, requires_grad=True,
                                 **{k: getattr(ts, v) for k, v in kwargs.items()})
        assert made.requires_grad and made.is_leaf
        if name != "randint":
            np.testing.assert_allclose(made.detach().numpy(), theirs.numpy())
    else:
        with pytest.raises(RuntimeError, match=f"{name}: only Tensors of floating point dtype"):
            getattr(ts, name)(*args, requires_grad=True)
        with pytest.raises(RuntimeError, match="floating point"):
            getattr(torch, name)(*args, requires_grad=True)


def test_randint_into_a_float_dtype_draws_the_same_integers():
    ts.manual_seed(3)
    drawn = ts.randint(0, 100, (50,))
    ts.manual_seed(3)
    as_floats = ts.randint(0, 100, (50,), dtype=ts.float64)
    assert as_floats.dtype == ts.float64
    np.testing.assert_array_equal(as_floats.numpy(), drawn.numpy())


def test_clip_grad_value_clamps_every_gradient_as_pytorch():
    values = np.array([[-3.0, 0.5], [2.0, np.nan]])
    ours = [nn.Parameter(ts.zeros(2, 2, dtype=ts.float64)) for _ in range(2)]
    theirs = [torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64)) for _ in range(2)]
    for p, q, scale in zip(ours, theirs, (1.0, -0.1)):
        p.grad = ts.tensor(values * scale)
        q.grad = torch.tensor(values * scale)
    assert nn.utils.clip_grad_value_(ours, 1.0) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.0)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    np.testing.assert_array_equal(ours[0].grad.numpy(), [[-1.0, 0.5], [1.0, np.nan]])
    lone = nn.Parameter(ts.zeros(3))
    lone.grad = ts.tensor([5.0, -5.0, 0.25])
    nn.utils.clip_grad_value_(lone, 0.5)
    np.testing.assert_array_equal(lone.grad.numpy(), np.float32([0.5, -0.5, 0.25]))
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value"):
        nn.utils.clip_grad_value_(ours, -1.0)

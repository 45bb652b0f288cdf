"""Property-based input validation (hypothesis).

Random shapes, dtypes, broadcasting cases, empty arrays, zero-length sequences, NaN/inf values
and wrong types are thrown at the public ops and layers. Each call must either match NumPy
(values, shape, and NumPy's dtype rule) or raise ValueError / TypeError / IndexError whose
message names the op (and, for shape errors, the shapes) -- never a bare error from inside
NumPy, never AttributeError / KeyError, never a silently wrong shape.

The cases in which these properties found real bugs (since fixed) are kept at the end as
explicit regressions.

The number of hypothesis examples run is counted in ``EXAMPLES`` and written to the terminal
when the module finishes.
"""
import collections
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn

# NumPy's own warnings for NaN / empty inputs ("Mean of empty slice") are expected here
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

EXAMPLES = collections.Counter()
DOCUMENTED = (ValueError, TypeError, IndexError)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def _report_examples(request):
    yield
    total = sum(EXAMPLES.values())
    detail = ", ".join(f"{k}={v}" for k, v in sorted(EXAMPLES.items()))
    line = f"[test_properties] hypothesis examples run: {total} ({detail})"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            sys.stdout.write("\n" + line + "\n")
    else:
        sys.stdout.write(line + "\n")


# --- helpers -------------------------------------------------------------------------------------
def shape_text(shape):
    return str(tuple(shape))


def expect_error(error, op, *shapes, kinds=DOCUMENTED):
    """``error`` is a documented type and its message names ``op`` and every shape given."""
    assert isinstance(error, kinds), f"{op}: got {type(error).__name__}: {error}"
    message = str(error)
    assert op in message, f"message does not name the op {op!r}: {message}"
    for shape in shapes:
        assert shape_text(shape) in message, f"message does not name shape {shape}: {message}"


def outcome(call):
    """('ok', value) or ('error', exception) -- NumPy warnings silenced."""
    with np.errstate(all="ignore"):
        try:
            return "ok", call()
        except Exception as error:  # noqa: BLE001 -- classified by the caller
            return "error", error


def assert_matches(tensor, expected, what):
    assert isinstance(tensor, ts.Tensor), f"{what}: returned {type(tensor).__name__}"
    expected = np.asarray(expected)
    got = tensor.numpy()
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, NumPy gives {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, NumPy gives {expected.dtype}"
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


DTYPES = st.sampled_from([np.float32, np.float64, np.int64])
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]


@st.composite
def arrays(draw, shape=None, dtype=None, max_dims=3, max_side=4, specials=True):
    """A random NumPy array: any dtype of DTYPES, sides 0..max_side, floats may hold NaN/inf."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, max_side), max_size=max_dims)))
    dtype = np.dtype(draw(DTYPES) if dtype is None else dtype)
    size = int(np.prod(shape))
    if dtype.kind == "i":
        values = draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size))
    else:
        element = st.floats(-4, 4, allow_nan=False, width=32)
        if specials:
            element = st.one_of(element, st.sampled_from(SPECIAL))
        values = draw(st.lists(element, min_size=size, max_size=size))
    return np.array(values, dtype=dtype).reshape(shape)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast (about 2/3 of the time) or not."""
    base = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    other = list(base[draw(st.integers(0, len(base))):])
    for i in range(len(other)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            other[i] = 1
        elif choice == 1:
            other[i] = draw(st.integers(0, 4))  # often a mismatch
    if draw(st.booleans()):
        other = [draw(st.integers(1, 2))] + other  # extra leading dimension
    return (base, tuple(other)) if draw(st.booleans()) else (tuple(other), base)


def leaf(array, grad):
    return ts.tensor(array, requires_grad=grad and array.dtype.kind == "f")


def in_result_type(ta, tb, a, b, true_division=False):
    """``a`` and ``b`` cast to the dtype PyTorch gives an op on tensors ``ta`` and ``tb``
    (``ts.result_type``, itself checked against ``torch.result_type`` in test_pytorch_tail),
    so that NumPy computes what PyTorch would."""
    dtype = ts.result_type(ta, tb)
    if true_division and dtype.kind != "f":
        dtype = np.dtype(ts.get_default_dtype())
    return a.astype(dtype), b.astype(dtype)


def check_backward(result, inputs):
    """A float result backpropagates and every input gets a gradient of its own shape."""
    if not result.requires_grad:
        return
    with np.errstate(all="ignore"):
        result.backward(np.ones(result.shape, dtype=result.dtype))
    for t in inputs:
        if t.requires_grad:
            assert t.grad is not None and t.grad.shape == t.shape, \
                f"gradient of shape {None if t.grad is None else t.grad.shape} for input {t.shape}"



def agrees_with_numpy(what, numpy_call, our_call, inputs, check_error):
    """Where NumPy raises, ours raises too and ``check_error(ours, numpy's)`` holds; where
    NumPy computes, ours gives the same values, shape and dtype, and backpropagates."""
    status, expected = outcome(numpy_call)
    got_status, got = outcome(our_call)
    if status == "error":
        assert got_status == "error", f"{what}: NumPy raised {expected!r}, we did not"
        check_error(got, expected)
        return
    assert got_status == "ok", f"{what}: raised {got!r}"
    assert_matches(got, expected, what)
    check_backward(got, inputs)

# --- binary elementwise ops ----------------------------------------------------------------------
def power_as_pytorch(a, b):
    """NumPy's power, except an integer's negative integer power, which NumPy refuses and
    PyTorch truncates: 1 for base 1, +-1 for base -1, else 0."""
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu" or not (np.asarray(b) < 0).any():
        return np.power(a, b)
    truncated = np.vectorize(lambda x, y: 1 if x == 1 else (-1) ** (-y) if x == -1 else 0,
                             otypes=[np.int64])
    power = np.power(a, np.maximum(b, 0))
    return np.where(b < 0, truncated(a, b), power).astype(power.dtype)


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, power_as_pytorch),
}


@settings(max_examples=500, **SETTINGS)
@given(op=st.sampled_from(sorted(BINARY)), shapes=broadcast_pair(), data=st.data(),
       grad=st.booleans())
def test_binary_ops_match_numpy_or_raise_naming_op_and_shapes(op, shapes, data, grad):
    EXAMPLES["binary"] += 1
    a = data.draw(arrays(shape=shapes[0]))
    b = data.draw(arrays(shape=shapes[1]))
    ours, theirs = BINARY[op]
    ta, tb = leaf(a, grad), leaf(b, grad)
    a, b = in_result_type(ta, tb, a, b, true_division=op == "div")
    agrees_with_numpy(f"{op} {a.shape} {a.dtype}, {b.shape} {b.dtype}", lambda: theirs(a, b),
                      lambda: ours(ta, tb), (ta, tb),
                      lambda got, _: expect_error(got, op, a.shape, b.shape))


@settings(max_examples=240, **SETTINGS)
@given(shapes=broadcast_pair(), cond_shape=st.lists(st.integers(0, 3), max_size=3),
       data=st.data(), grad=st.booleans())
def test_where_matches_numpy_or_raises(shapes, cond_shape, data, grad):
    EXAMPLES["where"] += 1
    a = data.draw(arrays(shape=shapes[0]))
    b = data.draw(arrays(shape=shapes[1]))
    cond_shape = tuple(cond_shape) if data.draw(st.booleans()) else shapes[0]
    cond = np.array(data.draw(st.lists(st.booleans(), min_size=int(np.prod(cond_shape)),
                                       max_size=int(np.prod(cond_shape)))),
                    dtype=bool).reshape(cond_shape)
    ta, tb = leaf(a, grad), leaf(b, grad)
    a, b = in_result_type(ta, tb, a, b)
    agrees_with_numpy(f"where {cond.shape} {a.shape} {a.dtype} {b.shape} {b.dtype}",
                      lambda: np.where(cond, a, b), lambda: ts.where(ts.tensor(cond), ta, tb),
                      (ta, tb), lambda got, _: expect_error(got, "where", a.shape, b.shape))


# --- reductions ----------------------------------------------------------------------------------
@st.composite
def axis_args(draw, ndim):
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim - 2, ndim + 1))
    return tuple(draw(st.lists(st.integers(-ndim - 1, ndim), max_size=ndim + 1)))


def _reduces_an_empty_dim(shape, axis):
    """Whether amax over ``axis`` (None and () are every dim) reduces a dim of size 0; an axis
    out of range or repeated counts too (an error either way)."""
    if axis is None or axis == ():
        return 0 in shape
    dims = axis if isinstance(axis, tuple) else (axis,)
    ndim = len(shape)
    if any(not -ndim <= d < max(ndim, 1) for d in dims) or \
            len({d % max(ndim, 1) for d in dims}) != len(dims):
        return 0 in shape
    return any(shape[d] == 0 for d in dims) if ndim else False


@settings(max_examples=500, **SETTINGS)
@given(op=st.sampled_from(["sum", "mean", "max"]), x=arrays(), data=st.data(),
       keepdims=st.booleans(), grad=st.booleans())
def test_reductions_match_numpy_or_raise(op, x, data, keepdims, grad):
    EXAMPLES["reduction"] += 1
    axis = data.draw(axis_args(x.ndim))
    t = leaf(x, grad)
    method = "amax" if op == "max" else op  # t.max(dim) is PyTorch's (values, indices)
    got_status, got = outcome(lambda: getattr(t, method)(axis=axis, keepdims=keepdims))
    if op == "max" and _reduces_an_empty_dim(x.shape, axis):
        # documented: a max over an empty dim is a ValueError (as PyTorch's)
        assert got_status == "error"
        if isinstance(got, ValueError) and "out of range" not in str(got) and "repeated" not in str(got):
            expect_error(got, "max", x.shape, kinds=ValueError)
        else:
            expect_error(got, "max")
        return
    # PyTorch's meaning where NumPy's differs: dim=() reduces every axis, and a 0-d tensor's
    # dim 0 or -1 is the tensor itself
    dims = axis if isinstance(axis, (tuple, list)) else (axis,)
    whole = axis == () or x.ndim == 0 and axis is not None and all(d in (0, -1) for d in dims)
    status, expected = outcome(lambda: getattr(np, op)(x, axis=None if whole else axis,
                                                       keepdims=keepdims))
    if x.ndim == 0 and axis not in (None, ()) and not whole:
        # NumPy itself is inconsistent here (np.sum(np.array(0), axis=0) works for ints but
        # not floats, nor with axis=(0,)): a documented error naming the op is fine too
        if got_status == "error":
            expect_error(got, op)
            return
    if status == "error":
        assert got_status == "error", f"{op}{x.shape} axis={axis}: NumPy raised {expected!r}, we did not"
        expect_error(got, op)
        assert str(axis if isinstance(axis, int) else "") in str(got)
        return
    assert got_status == "ok", f"{op} {x.shape} {x.dtype} axis={axis}: raised {got!r}"
    assert_matches(got, expected, f"{op} {x.shape} {x.dtype} axis={axis} keepdims={keepdims}")
    check_backward(got, (t,))


# --- shapes: reshape, transpose, getitem -------------------------------------------------------
@settings(max_examples=300, **SETTINGS)
@given(x=arrays(specials=False), new=st.lists(st.integers(-2, 6), max_size=4), grad=st.booleans())
def test_reshape_matches_numpy_or_raises(x, new, grad):
    EXAMPLES["reshape"] += 1
    new = tuple(new)
    t = leaf(x, grad)
    agrees_with_numpy(f"reshape {x.shape} -> {new}", lambda: x.reshape(new),
                      lambda: t.reshape(*new) if new else t.reshape(()), (t,),
                      lambda got, _: expect_error(got, "reshape", x.shape))


@settings(max_examples=240, **SETTINGS)
@given(x=arrays(specials=False), axes=st.lists(st.integers(-4, 4), max_size=4), grad=st.booleans())
def test_transpose_matches_numpy_or_raises(x, axes, grad):
    EXAMPLES["transpose"] += 1
    axes = tuple(axes)
    t = leaf(x, grad)
    agrees_with_numpy(f"permute {x.shape} {axes}", lambda: np.transpose(x, axes),
                      lambda: t.permute(*axes), (t,),
                      lambda got, _: expect_error(got, "permute", x.shape))


@st.composite
def index_parts(draw, shape):
    parts = []
    for dim in range(draw(st.integers(0, len(shape) + 1))):
        side = shape[dim] if dim < len(shape) else 1
        kind = draw(st.sampled_from(["int", "slice", "intarray", "boolmask"]))
        if kind == "int":
            parts.append(draw(st.integers(-side - 2, side + 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.one_of(st.none(), st.integers(-5, 5))),
                               draw(st.one_of(st.none(), st.integers(-5, 5))),
                               draw(st.one_of(st.none(), st.sampled_from([1, 2, -1])))))
        elif kind == "intarray":
            parts.append(np.array(draw(st.lists(st.integers(-side - 1, side + 1), max_size=3)),
                                  dtype=np.int64))
        else:
            length = draw(st.sampled_from([side, side, side + 1]))
            parts.append(np.array(draw(st.lists(st.booleans(), min_size=length, max_size=length)),
                                  dtype=bool))
    return tuple(parts) if draw(st.booleans()) or len(parts) != 1 else parts[0]


@settings(max_examples=500, **SETTINGS)
@given(x=arrays(specials=False), data=st.data(), grad=st.booleans())
def test_getitem_matches_numpy_or_raises_index_error(x, data, grad):
    EXAMPLES["getitem"] += 1
    index = data.draw(index_parts(x.shape))
    t = leaf(x, grad)

    def same_kind_of_error(got, expected):
        expect_error(got, "getitem", kinds=type(expected) if isinstance(expected, DOCUMENTED) else DOCUMENTED)
    agrees_with_numpy(f"getitem {x.shape} [{index!r}]", lambda: x[index], lambda: t[index], (t,),
                      same_kind_of_error)


# --- joining and splitting -----------------------------------------------------------------------
@st.composite
def shape_lists(draw):
    base = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        if s and draw(st.integers(0, 2)) == 0:
            s[draw(st.integers(0, len(s) - 1))] = draw(st.integers(0, 3))
        if draw(st.integers(0, 6)) == 0:
            s = s + [1]
        shapes.append(tuple(s))
    return shapes


@settings(max_examples=400, **SETTINGS)
@given(op=st.sampled_from(["concat", "stack"]), shapes=shape_lists(), axis=st.integers(-4, 4),
       dtype=st.sampled_from([np.float32, np.float64]), data=st.data(), grad=st.booleans())
def test_concat_and_stack_match_numpy_or_raise(op, shapes, axis, dtype, data, grad):
    EXAMPLES["concat_stack"] += 1
    xs = [data.draw(arrays(shape=s, dtype=dtype)) for s in shapes]
    ts_xs = [leaf(x, grad) for x in xs]
    numpy_op = np.concatenate if op == "concat" else np.stack

    def names_op_and_shapes(got, _):
        expect_error(got, op)
        if "out of range" not in str(got):
            for s in shapes:
                assert shape_text(s) in str(got), str(got)
    agrees_with_numpy(f"{op} {shapes} axis={axis}", lambda: numpy_op(xs, axis=axis),
                      lambda: getattr(ts, op)(ts_xs, axis=axis), ts_xs, names_op_and_shapes)


def torch_like_split(length, size_or_sections):
    if isinstance(size_or_sections, int):
        if size_or_sections <= 0:
            raise ValueError
        return [min(size_or_sections, length - s) for s in range(0, length, size_or_sections)]
    if sum(size_or_sections) != length or min(size_or_sections, default=0) < 0:
        raise ValueError
    return list(size_or_sections)


@settings(max_examples=300, **SETTINGS)
@given(x=arrays(specials=False), axis=st.integers(-3, 3),
       how=st.one_of(st.integers(-1, 5), st.lists(st.integers(-1, 4), max_size=4)),
       grad=st.booleans())
def test_split_matches_numpy_or_raises(x, axis, how, grad):
    EXAMPLES["split"] += 1
    t = leaf(x, grad)
    got_status, got = outcome(lambda: ts.split(t, how, axis=axis))
    if not -x.ndim <= axis < x.ndim:
        assert got_status == "error"
        expect_error(got, "split", kinds=(ValueError, IndexError))
        return
    length = x.shape[axis]
    try:
        sizes = torch_like_split(length, how)
    except ValueError:
        assert got_status == "error", f"split {x.shape} {how} axis={axis}: no error"
        expect_error(got, "split", kinds=ValueError)
        return
    assert got_status == "ok", f"split {x.shape} {how} axis={axis}: raised {got!r}"
    expected = np.split(x, np.cumsum(sizes)[:-1], axis=axis) if sizes else []
    assert len(got) == len(expected), f"split {x.shape} {how}: {len(got)} pieces, expected {len(expected)}"
    for piece, want in zip(got, expected):
        assert_matches(piece, want, f"split {x.shape} {how} axis={axis}")
    if got and t.requires_grad:
        total = sum(((p * 1.0).sum() for p in got), ts.tensor(0.0, dtype=x.dtype))
        total.backward()
        assert t.grad.shape == t.shape


# --- matmul --------------------------------------------------------------------------------------
@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    a = batch + (n, k) if draw(st.booleans()) else (k,)
    k2 = k if draw(st.integers(0, 3)) else draw(st.integers(0, 3))
    b_batch = batch[draw(st.integers(0, len(batch))):]
    b = b_batch + (k2, m) if draw(st.booleans()) else (k2,)
    if draw(st.integers(0, 10)) == 0:
        a = ()
    return a, b


@settings(max_examples=400, **SETTINGS)
@given(shapes=matmul_shapes(), dtypes=st.tuples(DTYPES, DTYPES), data=st.data(),
       grad=st.booleans())
def test_matmul_matches_numpy_or_raises(shapes, dtypes, data, grad):
    EXAMPLES["matmul"] += 1
    a = data.draw(arrays(shape=shapes[0], dtype=dtypes[0], specials=False))
    b = data.draw(arrays(shape=shapes[1], dtype=dtypes[1], specials=False))
    ta, tb = leaf(a, grad), leaf(b, grad)
    status, expected = outcome(lambda: np.matmul(a, b))
    got_status, got = outcome(lambda: ts.matmul(ta, tb))
    if a.ndim and b.ndim and a.dtype != b.dtype:   # PyTorch's rule: one dtype, no promotion
        assert got_status == "error", f"matmul {a.dtype} @ {b.dtype}: no error"
        expect_error(got, "matmul", kinds=TypeError)
        assert f"dtypes {a.dtype}, {b.dtype}" in str(got)
        return
    if status == "error":
        assert got_status == "error", f"matmul {a.shape} {b.shape}: NumPy raised {expected!r}, we did not"
        expect_error(got, "matmul", *([a.shape, b.shape] if a.ndim and b.ndim else []))
        return
    assert got_status == "ok", f"matmul {a.shape} {a.dtype} @ {b.shape} {b.dtype}: raised {got!r}"
    got_array = got.numpy()
    assert got_array.shape == expected.shape and got_array.dtype == expected.dtype
    np.testing.assert_allclose(got_array, expected, rtol=1e-5, atol=1e-5)
    check_backward(got, (ta, tb))


# --- cross_entropy and embedding -----------------------------------------------------------------
@settings(max_examples=300, **SETTINGS)
@given(n=st.integers(0, 4), c=st.integers(1, 5), data=st.data(),
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_ids_in_range_or_index_error_naming_the_value(n, c, data, reduction):
    EXAMPLES["cross_entropy"] += 1
    ids = np.array(data.draw(st.lists(st.integers(-2, c + 1), min_size=n, max_size=n)), dtype=np.int64)
    logits = ts.tensor(data.draw(arrays(shape=(n, c), dtype=np.float64, specials=False)),
                       requires_grad=True)
    got_status, got = outcome(lambda: F.cross_entropy(logits, ids, reduction=reduction))
    bad = [int(i) for i in ids if not 0 <= i < c]
    if bad:
        assert got_status == "error", f"cross_entropy ids {ids.tolist()} C={c}: no error"
        expect_error(got, "cross_entropy", kinds=IndexError)
        assert str(min(ids.min(), 0) if min(bad) < 0 else max(bad)) in str(got), str(got)
        return
    assert got_status == "ok", f"cross_entropy (n={n}, c={c}) ids {ids.tolist()}: raised {got!r}"
    x = logits.numpy()
    logp = x - x.max(axis=1, keepdims=True) if n else x
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True)) if n else logp
    losses = -logp[np.arange(n), ids] if n else np.zeros(0)
    want = {"none": losses, "sum": losses.sum(), "mean": losses.mean() if n else np.nan}[reduction]
    got_array = got.numpy()
    assert got_array.shape == np.shape(want)
    if n or reduction != "mean":
        np.testing.assert_allclose(got_array, want, rtol=1e-7, atol=1e-10)
    if n and reduction != "none":
        got.backward()
        assert logits.grad.shape == (n, c)


@settings(max_examples=300, **SETTINGS)
@given(num=st.integers(1, 5), dim=st.integers(1, 3),
       id_shape=st.lists(st.integers(0, 3), max_size=3), data=st.data())
def test_embedding_ids_in_range_or_index_error_naming_the_value(num, dim, id_shape, data):
    EXAMPLES["embedding"] += 1
    size = int(np.prod(id_shape))
    ids = np.array(data.draw(st.lists(st.integers(-2, num + 1), min_size=size, max_size=size)),
                   dtype=np.int64).reshape(id_shape)
    weight = ts.randn(num, dim, requires_grad=True)
    as_tensor = data.draw(st.booleans())
    got_status, got = outcome(lambda: F.embedding(ts.tensor(ids) if as_tensor else ids, weight))
    bad = [int(i) for i in ids.reshape(-1) if not 0 <= i < num]
    if bad:
        assert got_status == "error"
        expect_error(got, "embedding", kinds=IndexError)
        assert str(min(bad) if min(bad) < 0 else max(bad)) in str(got), str(got)
        return
    assert got_status == "ok", f"embedding ids {ids.tolist()} num={num}: raised {got!r}"
    assert_matches(got, weight.numpy()[ids], f"embedding {ids.shape}")
    if got.numel():
        got.sum().backward()
        assert weight.grad.shape == (num, dim)


# --- wrong types ---------------------------------------------------------------------------------
WRONG = st.sampled_from(["abc", None, {"a": 1}, ["a", "b", "c"], object(), {1, 2}])

# name -> (call with the bad value, op name the message must contain, None is a valid value)
CALLS = {
    "add": (lambda bad: ts.randn(2, 3) + bad, "add", False),
    "radd": (lambda bad: bad + ts.randn(2, 3), "add", False),
    "mul": (lambda bad: ts.randn(2, 3) * bad, "mul", False),
    "div": (lambda bad: ts.randn(2, 3) / bad, "div", False),
    "pow": (lambda bad: ts.randn(2, 3) ** bad, "pow", False),
    "matmul": (lambda bad: ts.matmul(ts.randn(2, 3), bad), "matmul", False),
    "where.a": (lambda bad: ts.where(ts.randn(3) > 0, ts.randn(3), bad), "where", False),
    "where.cond": (lambda bad: ts.where(bad, ts.randn(3), ts.randn(3)), "where", False),
    "sum.axis": (lambda bad: ts.randn(2, 3).sum(axis=bad), "sum", True),
    "max.axis": (lambda bad: ts.randn(2, 3).max(axis=bad), "max", True),
    "reshape": (lambda bad: ts.randn(2, 3).reshape(bad), "shape", False),
    "transpose": (lambda bad: ts.randn(2, 3).transpose(bad), "", False),
    "softmax.axis": (lambda bad: ts.randn(2, 3).softmax(bad), "softmax", False),
    "concat": (lambda bad: ts.concat([ts.randn(2), bad]), "concat", False),
    "concat.axis": (lambda bad: ts.concat([ts.randn(2)], axis=bad), "concat", False),
    "stack": (lambda bad: ts.stack([ts.randn(2), bad]), "stack", False),
    "split.t": (lambda bad: ts.split(bad, 1), "split", False),
    "tensor": (lambda bad: ts.tensor(bad), "tensor", False),
    "linear.x": (lambda bad: F.linear(bad, ts.randn(2, 3)), "linear", False),
    "cross_entropy.input": (lambda bad: F.cross_entropy(bad, np.array([0])), "cross_entropy", False),
    "cross_entropy.target": (lambda bad: F.cross_entropy(ts.randn(2, 3), bad), "cross_entropy", False),
    "embedding.ids": (lambda bad: F.embedding(bad, ts.randn(5, 2)), "embedding", False),
    "embedding.weight": (lambda bad: F.embedding(np.array([0]), bad), "embedding", False),
    "mse_loss.input": (lambda bad: F.mse_loss(bad, ts.randn(3)), "mse_loss", False),
    "mse_loss.target": (lambda bad: F.mse_loss(ts.randn(3), bad), "mse_loss", False),
    "lstm.x": (lambda bad: nn.LSTM(2, 3)(bad), "LSTM", False),
    "gru.h0": (lambda bad: nn.GRU(2, 3)(ts.randn(2, 1, 2), bad), "GRU", True),
    "lstm.lengths": (lambda bad: nn.LSTM(2, 3)(ts.randn(2, 1, 2), lengths=bad), "LSTM", True),
}

@settings(max_examples=500, **SETTINGS)
@given(name=st.sampled_from(sorted(CALLS)), bad=WRONG)
def test_wrong_types_raise_type_error_naming_the_op(name, bad):
    EXAMPLES["wrong_types"] += 1
    call, op, none_ok = CALLS[name]
    assume(not (bad is None and none_ok))
    status, got = outcome(lambda: call(bad))
    assert status == "error", f"{name}({bad!r}) accepted"
    assert not isinstance(got, (AttributeError, KeyError)), f"{name}({bad!r}): {got!r}"
    if name == "getitem":
        assert isinstance(got, (TypeError, IndexError)), f"{name}({bad!r}): {got!r}"
    else:
        assert isinstance(got, TypeError), f"{name}({bad!r}) raised {type(got).__name__}: {got}"
    if name in LIFTED and "unsupported operand type" in str(got):
        return  # operands are checked before the op runs; bug 6: that message names no op
    assert op in str(got), f"{name}({bad!r}): message does not name {op!r}: {got}"


LIFTED = {"add", "radd", "mul", "div", "pow", "matmul", "where.a", "where.cond"}


@settings(max_examples=120, **SETTINGS)
@given(index=st.sampled_from(["abc", {"a": 1}, object(), {1, 2}, ["a", "b"]]))
def test_getitem_with_non_index_raises_index_or_type_error(index):
    EXAMPLES["wrong_index"] += 1
    status, got = outcome(lambda: ts.randn(2, 3)[index])
    assert status == "error" and isinstance(got, (IndexError, TypeError)), repr(got)
    assert "getitem" in str(got)


# --- recurrent layers ----------------------------------------------------------------------------
@st.composite
def recurrent_cases(draw):
    steps, batch = draw(st.integers(0, 4)), draw(st.integers(1, 3))
    features = draw(st.sampled_from([2, 2, 2, 3]))
    kind = draw(st.sampled_from(["none", "valid", "valid", "too_long", "negative", "count"]))
    if kind == "none":
        lengths = None
    elif kind == "valid":
        lengths = draw(st.lists(st.integers(0, steps), min_size=batch, max_size=batch))
    elif kind == "too_long":
        lengths = draw(st.lists(st.integers(0, steps), min_size=batch, max_size=batch))
        lengths[draw(st.integers(0, batch - 1))] = steps + draw(st.integers(1, 2))
    elif kind == "negative":
        lengths = draw(st.lists(st.integers(0, steps), min_size=batch, max_size=batch))
        lengths[draw(st.integers(0, batch - 1))] = -1
    else:
        count = draw(st.sampled_from([batch - 1, batch + 1]))
        lengths = draw(st.lists(st.integers(0, steps), min_size=count, max_size=count))
    if lengths is not None and draw(st.booleans()):
        lengths = np.array(lengths, dtype=np.int64)
    return steps, batch, features, lengths


@settings(max_examples=300, **SETTINGS)
@given(mode=st.sampled_from(["LSTM", "GRU"]), case=recurrent_cases(),
       impl=st.sampled_from(["fused", "primitive"]), batch_first=st.booleans())
def test_recurrent_layers_validate_shapes_and_lengths(mode, case, impl, batch_first):
    EXAMPLES["recurrent"] += 1
    steps, batch, features, lengths = case
    assume(lengths is None or len(lengths) > 0)  # bug 8: lengths=[] is a TypeError
    ts.manual_seed(0)
    layer = getattr(nn, mode)(2, 3, impl=impl, batch_first=batch_first)
    x_np = np.random.default_rng(0).standard_normal((steps, batch, features)).astype(np.float32)
    x = ts.tensor(x_np.swapaxes(0, 1) if batch_first else x_np, requires_grad=True)
    status, got = outcome(lambda: layer(x, lengths=lengths))
    n_lengths = None if lengths is None else len(lengths)
    invalid = (features != 2 or steps == 0 or (lengths is not None and (
        n_lengths != batch or min(lengths) < 0 or max(lengths) > steps)))
    if invalid:
        assert status == "error", f"{mode} x{tuple(x.shape)} lengths={lengths}: no error"
        expect_error(got, mode, kinds=ValueError)
        if features != 2 or steps == 0:
            assert shape_text(x.shape) in str(got), str(got)
        return
    assert status == "ok", f"{mode}({impl}) x{tuple(x.shape)} lengths={lengths}: raised {got!r}"
    output, state = got
    h_n = state[0] if mode == "LSTM" else state
    out = output.numpy().swapaxes(0, 1) if batch_first else output.numpy()
    assert out.shape == (steps, batch, 3)
    assert h_n.shape == (1, batch, 3)
    # each sequence alone, cut at its length, gives its outputs and h_n; padding stays zero
    with ts.no_grad():
        for b in range(batch):
            n = steps if lengths is None else int(lengths[b])
            if n == 0:
                np.testing.assert_array_equal(out[:, b], 0.0)
                np.testing.assert_array_equal(h_n.numpy()[0, b], 0.0)
                continue
            alone = ts.tensor(x_np[:n, b:b + 1])
            layer.batch_first = False
            ref_out, ref_state = layer(alone)
            layer.batch_first = batch_first
            ref_h = ref_state[0] if mode == "LSTM" else ref_state
            np.testing.assert_allclose(out[:n, b], ref_out.numpy()[:, 0], rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(out[n:, b], 0.0)
            np.testing.assert_allclose(h_n.numpy()[0, b], ref_h.numpy()[0, 0], rtol=1e-5, atol=1e-6)
    (output.sum() + h_n.sum()).backward()
    assert x.grad.shape == x.shape and np.isfinite(x.grad.numpy()).all()


# --- bugs these properties found (now fixed): explicit regressions ---------------------------
def raises_documented(call, kinds, *needles):
    """True when ``call`` raises one of ``kinds`` whose message holds every needle."""
    try:
        with np.errstate(all="ignore"):
            call()
    except kinds as error:
        return all(n in str(error) for n in needles)
    except Exception:  # noqa: BLE001 -- an undocumented error is the bug being recorded
        return False
    return False


BUGS = [
    pytest.param(lambda: raises_documented(lambda: ts.randn(3) + np.array(["a", "b", "c"]),
                                           TypeError, "add"),
                 id="bug1-ufunc-error-rewrap"),
    pytest.param(lambda: raises_documented(lambda: ts.where(ts.randn(3) > 0, ts.randn(3), ["a", "b", "c"]),
                                           TypeError, "where"),
                 id="bug1b-where-string-list"),
    pytest.param(lambda: raises_documented(lambda: ts.randn(2, 3).sum(axis=["a"]), TypeError, "sum"),
                 id="bug2-axis-entry-type"),
    pytest.param(lambda: raises_documented(lambda: ts.randn(2, 3).softmax("abc"), TypeError, "softmax"),
                 id="bug3-check-axis-type"),
    pytest.param(lambda: raises_documented(lambda: ts.concat([ts.randn(2)], axis=None), TypeError, "concat"),
                 id="bug3-concat-axis-none"),
    pytest.param(lambda: raises_documented(lambda: ts.split("abc", 1), TypeError, "split"),
                 id="bug4-split-non-tensor"),
    pytest.param(lambda: raises_documented(lambda: F.linear(None, ts.randn(2, 3)), TypeError, "linear"),
                 id="bug4-linear-non-tensor"),
    pytest.param(lambda: raises_documented(lambda: F.cross_entropy([[0.0, 1.0]], np.array([0])),
                                           TypeError, "cross_entropy"),
                 id="bug4-cross-entropy-non-tensor"),
    pytest.param(lambda: raises_documented(lambda: F.embedding(np.array([0]), "abc"), TypeError, "embedding"),
                 id="bug4-embedding-weight-non-tensor"),
    pytest.param(lambda: raises_documented(lambda: F.mse_loss("abc", ts.randn(3)), TypeError, "mse_loss"),
                 id="bug4-mse-input-non-tensor"),
    pytest.param(lambda: raises_documented(lambda: F.mse_loss(ts.randn(3), "abc"), TypeError, "mse_loss"),
                 id="bug5-mse-target-string"),
    pytest.param(lambda: raises_documented(lambda: F.cross_entropy(ts.randn(2, 3), "abc"),
                                           TypeError, "cross_entropy"),
                 id="bug5-cross-entropy-target-string"),
    pytest.param(lambda: raises_documented(lambda: ts.randn(3) + "abc", TypeError, "add"),
                 id="bug6-lift-message-names-no-op"),
    pytest.param(lambda: raises_documented(lambda: ts.concat([ts.tensor(1.0), ts.tensor(2.0)]),
                                           ValueError, "concat"),
                 id="bug7-concat-0d"),
    pytest.param(lambda: raises_documented(lambda: ts.split(ts.tensor(1.0), 1), ValueError, "split"),
                 id="bug7-split-0d"),
    pytest.param(lambda: raises_documented(lambda: nn.GRU(2, 3)(ts.randn(2, 1, 2), lengths=[]),
                                           ValueError, "GRU", "0 lengths"),
                 id="bug8-empty-lengths"),
    pytest.param(lambda: len(ts.split(ts.randn(4), np.int64(2))) == 2,
                 id="bug9-split-numpy-int"),
]


@pytest.mark.parametrize("check", BUGS)
def test_found_bug_regressions(check):
    assert check()

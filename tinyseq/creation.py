"""Functions that make new tensors: from data, filled, random, ranges."""
import numpy

from . import backend, checks, dtypes, modes, random
from .dtypes import array_from_data, check_requires_grad, get_default_dtype, new_shape
from .ops import shape as shape_ops
from .tensor import Tensor, expect_tensor, legacy_sizes


def _float_dtype(dtype):
    return get_default_dtype() if dtype is None else numpy.dtype(dtype)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor holding a copy of ``data`` (list, number, numpy/cupy array, Tensor).

    Python floats get the default dtype, arrays keep theirs. ``device`` defaults to where an
    array already lives ("cpu" for Python data).
    """
    if isinstance(data, Tensor):
        data = data.array
    array = array_from_data("tensor", data, dtype, device)
    check_requires_grad("tensor", array.dtype, requires_grad)
    return Tensor.from_array(array, requires_grad)


def _filled(op, fill, shape, dtype, device, requires_grad):
    device = backend.get_device(device)
    dtype = _float_dtype(dtype)
    shape = new_shape(op, shape, dtype)
    check_requires_grad(op, dtype, requires_grad)
    return Tensor.from_array(fill(device.xp, shape, dtype), requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled("zeros", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device,
                   requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled("ones", lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device,
                   requires_grad)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    """A tensor of ``fill_value``. Without a dtype it follows the value, as in PyTorch: a bool
    fills a bool tensor, an int an int64 one, a float the default dtype."""
    if dtype is None and isinstance(fill_value, (bool, numpy.bool_)):
        dtype = numpy.bool_
    elif dtype is None and isinstance(fill_value, (int, numpy.integer)):
        dtype = numpy.int64
    return _filled("full", lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,), dtype,
                   device, requires_grad)


def randn(*shape, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Standard normal samples from the seeded generator of ``device`` (or ``generator``);
    floating dtypes only, as PyTorch's."""
    return _drawn("randn", standard_normal_values, shape, dtype, device, requires_grad,
                  generator)


def rand(*shape, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator of ``device`` (or ``generator``);
    floating dtypes only, as PyTorch's."""
    return _drawn("rand", uniform_values, shape, dtype, device, requires_grad, generator)


def _drawn(op, draw, shape, dtype, device, requires_grad, generator=None):
    """A new tensor of ``draw(device, shape, dtype, generator)``'s floating samples, cast to
    ``dtype`` (float16 is drawn as float32: the generators have no float16); other dtypes are
    refused before drawing, as PyTorch refuses them."""
    device = backend.get_device(device)
    dtype = _float_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{op}: not implemented for dtype {dtype}, as in PyTorch; the samples "
                        f"need a floating dtype")
    random.generator(device, generator)              # a wrong generator fails before drawing
    return _filled(op, lambda xp, s, d: draw(device, s, d, generator).astype(d, copy=False),
                   shape, dtype, device, requires_grad)


def _like(op, input, dtype, device):
    """(shape, dtype, device) of a new tensor like ``input``: its shape, and its dtype and
    device unless ``dtype`` or ``device`` say otherwise."""
    expect_tensor(op, input)
    return ((tuple(input.shape),), input.dtype if dtype is None else dtype,
            backend.device_of(input.array) if device is None else device)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    """Zeros of input's shape, dtype and device (unless ``dtype`` or ``device`` say otherwise)."""
    shape, dtype, device = _like("zeros_like", input, dtype, device)
    return _filled("zeros_like", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device,
                   requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """Ones of input's shape, dtype and device (unless ``dtype`` or ``device`` say otherwise)."""
    shape, dtype, device = _like("ones_like", input, dtype, device)
    return _filled("ones_like", lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device,
                   requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """Evenly spaced values in [start, stop); int64 for ints, the default dtype for floats."""
    if stop is None:
        start, stop = 0, start
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = get_default_dtype()
    xp = backend.get_device(device).xp
    array = xp.arange(start, stop, step, dtype=dtype)
    check_requires_grad("arange", array.dtype, requires_grad)
    return Tensor.from_array(array, requires_grad)


def linspace(start, stop, steps, dtype=None, device="cpu", requires_grad=False):
    """``steps`` evenly spaced values from start to stop, both included."""
    xp = backend.get_device(device).xp
    dtype = _float_dtype(dtype)
    check_requires_grad("linspace", dtype, requires_grad)
    return Tensor.from_array(xp.linspace(start, stop, steps, dtype=dtype), requires_grad)


def empty(*shape, dtype=None, device="cpu", requires_grad=False):
    """A new tensor of ``shape``; its values are zeros (PyTorch leaves them unset)."""
    return _filled("empty", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device,
                   requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` in input's shape, dtype and device (unless ``dtype`` or ``device`` say
    otherwise): the value takes input's dtype, as in PyTorch, not its own."""
    shape, dtype, device = _like("full_like", input, dtype, device)
    return _filled("full_like", lambda xp, s, d: xp.full(s, fill_value, dtype=d), shape, dtype,
                   device, requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False):
    """Standard normal samples in input's shape, dtype and device (unless ``dtype`` or
    ``device`` say otherwise); floating dtypes only."""
    shape, dtype, device = _like("randn_like", input, dtype, device)
    return _drawn("randn_like", standard_normal_values, shape, dtype, device, requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) in input's shape, dtype and device (unless ``dtype`` or
    ``device`` say otherwise); floating dtypes only."""
    shape, dtype, device = _like("rand_like", input, dtype, device)
    return _drawn("rand_like", uniform_values, shape, dtype, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device="cpu",
            requires_grad=False):
    """Integers drawn uniformly from [low, high) (``randint(high, size)`` starts at 0), int64
    unless ``dtype`` says otherwise (a float dtype holds the drawn integers, as in PyTorch)."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument")
    device = backend.get_device(device)
    dtype = numpy.dtype(numpy.int64 if dtype is None else dtype)
    check_requires_grad("randint", dtype, requires_grad)
    values = _draw_integers(device, low, high, new_shape("randint", (size,), dtype), dtype,
                            generator)
    return Tensor.from_array(values, requires_grad)


def _draw_integers(device, low, high, shape, dtype, generator=None):
    """Integers in [low, high) of ``shape`` from the seeded generator of ``device`` (or
    ``generator``), in ``dtype``: drawn as int64 for a float or bool dtype (the generators
    draw integer dtypes only), then cast."""
    drawn = dtype if dtype.kind in "iu" else numpy.int64
    values = random.generator(device, generator).integers(low, high, size=shape, dtype=drawn)
    return values.astype(dtype, copy=False)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """A new tensor of input's shape, dtype and device (unless ``dtype`` or ``device`` say
    otherwise), as torch.empty_like; its values are zeros, as ``empty``'s."""
    shape, dtype, device = _like("empty_like", input, dtype, device)
    return _filled("empty_like", lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device,
                   requires_grad)


# --- PyTorch's samplers: each draws from the seeded generator of its result's device ---------
# Only ``random``, ``integers``, ``standard_normal`` and ``poisson`` are used: the methods that
# NumPy's and CuPy's generators share.

def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high) in input's shape, as torch.randint_like
    (``randint_like(input, high)`` starts at 0): input's dtype and device unless ``dtype`` or
    ``device`` say otherwise (a float dtype holds the drawn integers). Bounds that the dtype
    cannot hold are refused, as PyTorch refuses them."""
    expect_tensor("randint_like", input)
    if high is None:
        low, high = 0, low
    low, high = _int_arg("randint_like", "low", low), _int_arg("randint_like", "high", high)
    if low >= high:
        raise ValueError(f"randint_like: expects low < high, got low={low} and high={high}")
    dtype = numpy.dtype(input.dtype if dtype is None else dtype)
    smallest, largest = _integer_range(dtype)
    if low < smallest or high - 1 > largest:
        raise ValueError(f"randint_like: [{low}, {high}) does not fit dtype {dtype}, which "
                         f"holds integers from {smallest} to {largest}")
    check_requires_grad("randint_like", dtype, requires_grad)
    device = backend.device_of(input.array) if device is None else backend.get_device(device)
    values = _draw_integers(device, low, high, tuple(input.shape), dtype)
    return Tensor.from_array(values, requires_grad)


def randperm(n, *, generator=None, dtype=dtypes.dtype(numpy.int64), device="cpu",
             requires_grad=False):
    """A random permutation of the integers 0 to n - 1, as torch.randperm: int64 unless
    ``dtype`` says otherwise, refused for a dtype that cannot hold n - 1 exactly (bool is
    refused, as in PyTorch). It orders random keys from the seeded generator of ``device``,
    which NumPy and CuPy can both do, so ``manual_seed`` makes it reproducible."""
    n = _int_arg("randperm", "n", n)
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    dtype = numpy.dtype(numpy.int64 if dtype is None else dtype)
    if dtype.kind == "b":
        raise TypeError("randperm: not implemented for dtype bool, as in PyTorch")
    if dtype.kind in "iu":
        largest = _integer_range(dtype)[1]
    else:                               # the integers a float holds exactly, as PyTorch's check
        largest = 2 ** (numpy.finfo(dtype).nmant + 1)
    if n - 1 > largest:
        raise ValueError(f"randperm: n={n} is too large for dtype {dtype}, which holds the "
                         f"integers up to {largest} exactly")
    check_requires_grad("randperm", dtype, requires_grad)
    device = backend.get_device(device)
    keys = random.generator(device, generator).random(n)
    return Tensor.from_array(device.xp.argsort(keys).astype(dtype), requires_grad)


def bernoulli(input, p=None, *, generator=None):
    """0s and 1s in input's shape and dtype, as torch.bernoulli: ``bernoulli(input)`` draws
    each 1 with the probability ``input`` holds there (input must be floating, its values in
    [0, 1]), ``bernoulli(input, p)`` each with the probability ``p`` (a number in [0, 1]; input
    may then have any dtype). As in PyTorch, bernoulli(input) depends on input with a zero
    gradient; bernoulli(input, p) is not recorded (PyTorch records it but cannot
    differentiate it)."""
    expect_tensor("bernoulli", input)
    if p is None:
        _expect_floating("bernoulli", "input (the probabilities)", input)
        _check_probabilities("bernoulli", "input", input.array)
        probabilities = input.array
    else:
        if isinstance(p, Tensor) and p.ndim:
            raise TypeError(f"bernoulli: p must be a number or a 0-d tensor, got a tensor of "
                            f"shape {tuple(p.shape)}, as in PyTorch (bernoulli(p) draws with "
                            f"a probability for each element)")
        probabilities = checks.probability("bernoulli", "p", _float_arg("bernoulli", "p", p))
    values = _draw_bernoulli(input, probabilities, generator)
    return _sampled(values, input) if p is None else Tensor.from_array(values)


def bernoulli_values(input, p=0.5, generator=None):
    """The 0s and 1s ``input.bernoulli_(p)`` writes, in input's shape and dtype, each 1 with
    probability ``p``: a number in [0, 1] (any dtype of input) or a floating tensor of
    probabilities that broadcasts to input's shape. As in PyTorch, a ``p`` that requires grad
    gets a zero gradient through them."""
    if isinstance(p, Tensor):
        _expect_floating("bernoulli_", "p", p)
        _expect_same_device("bernoulli_", input, p)
        if not _broadcasts_to(p.shape, input.shape):
            raise ValueError(f"bernoulli_: p of shape {tuple(p.shape)} does not broadcast to "
                             f"input's shape {tuple(input.shape)}")
        _check_probabilities("bernoulli_", "p", p.array)
        probabilities = p.array
    else:
        probabilities = checks.probability("bernoulli_", "p", _float_arg("bernoulli_", "p", p))
    return _sampled(_draw_bernoulli(input, probabilities, generator), p)


def _draw_bernoulli(input, probabilities, generator=None):
    """1 where a uniform draw from input's device generator (or ``generator``) falls below
    ``probabilities``, else 0, in input's shape and dtype."""
    device = backend.device_of(input.array)
    uniform = random.generator(device, generator).random(tuple(input.shape))
    return device.xp.asarray(uniform < probabilities, dtype=input.array.dtype)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Samples from normal distributions, as torch.normal in its overloads:

    - ``normal(mean, std)`` with a tensor mean and/or std: one sample per element of their
      broadcast shape; the dtype and device of the tensor mean (else of the tensor std), which
      must be floating; the result depends on mean and std with a zero gradient, as in PyTorch.
    - ``normal(mean, std, size)`` with numbers: a new tensor of ``size`` (a tuple or list), of
      ``dtype`` (default: the default dtype) on ``device``, a leaf when ``requires_grad``.

    ``std`` must be >= 0 everywhere (NaN is refused), as in PyTorch."""
    if size is not None or not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
        return _normal_of_numbers(mean, std, size, dtype, device, requires_grad, generator)
    if dtype is not None or device is not None or requires_grad:
        raise TypeError("normal: dtype, device and requires_grad go with a number mean and std "
                        "and a size, as in PyTorch; a tensor mean or std gives its own")
    return _normal_of_tensors(mean, std, generator)


def _normal_of_numbers(mean, std, size, dtype, device, requires_grad, generator):
    if size is None:
        raise TypeError("normal: a number mean and std need a size, as in PyTorch, e.g. "
                        "normal(0.0, 1.0, (2, 3))")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"normal: size must be a tuple or list of ints, got {size!r}")
    mean = _float_arg("normal", "mean", mean)
    std = checks.real("normal", "std", _float_arg("normal", "std", std), minimum=0.0)
    dtype = _float_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"normal: not implemented for dtype {dtype}, as in PyTorch; the "
                        f"samples need a floating dtype")
    shape = new_shape("normal", (size,), dtype)
    check_requires_grad("normal", dtype, requires_grad)
    device = backend.get_device("cpu" if device is None else device)
    values = standard_normal_values(device, shape, dtype, generator) * std + mean
    return Tensor.from_array(device.xp.asarray(values, dtype=dtype), requires_grad)


def _normal_of_tensors(mean, std, generator):
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    _expect_floating("normal", "mean" if tensors[0] is mean else "std", tensors[0])
    if len(tensors) == 2:
        _expect_same_device("normal", mean, std)
    if isinstance(std, Tensor):
        if not bool(_non_negative(std.array).all()):
            raise ValueError(f"normal: std must be >= 0 everywhere, got "
                             f"{_first_invalid(std.array, _non_negative)}")
    else:
        std = checks.real("normal", "std", _float_arg("normal", "std", std), minimum=0.0)
    if not isinstance(mean, Tensor):
        mean = _float_arg("normal", "mean", mean)
    shape = _broadcast_shape("normal", "mean", numpy.shape(_array_or_number(mean)),
                             "std", numpy.shape(_array_or_number(std)))
    dtype = tensors[0].array.dtype
    device = backend.device_of(tensors[0].array)
    z = standard_normal_values(device, shape, dtype, generator)
    values = _array_or_number(mean, z.dtype) + _array_or_number(std, z.dtype) * z
    return _sampled(device.xp.asarray(values, dtype=dtype), mean, std)


def poisson(input, generator=None):
    """Counts drawn from Poisson distributions with the rates ``input`` holds, in input's
    shape and dtype, as torch.poisson: input must be floating, its rates finite and >= 0
    (PyTorch also refuses negative and NaN rates). The result depends on input with a zero
    gradient, as in PyTorch."""
    expect_tensor("poisson", input)
    _expect_floating("poisson", "input (the rates)", input)
    rates = input.array
    if not bool(_finite_rates(rates).all()):
        raise ValueError(f"poisson: rates must be finite and >= 0, got "
                         f"{_first_invalid(rates, _finite_rates)}")
    rng = random.generator(backend.device_of(rates), generator)
    try:
        counts = rng.poisson(rates.astype(numpy.float64), size=tuple(input.shape))
    except ValueError as error:     # NumPy refuses rates near 2**63
        raise ValueError(f"poisson: rates too large for the generator ({error})") from None
    return _sampled(counts.astype(rates.dtype), input)


def _sampled(values, *sources):
    """``values`` (a drawn array) as a tensor that depends on each of ``sources`` (tensors or
    numbers) that requires grad with a zero gradient, as PyTorch's samplers do: each such
    source, cast and broadcast to the result, is overwritten by ``values`` (IndexPut), whose
    backward sends it zeros."""
    result = Tensor.from_array(values)
    for source in sources:
        if isinstance(source, Tensor) and source.requires_grad and modes.is_grad_enabled():
            base = source.to(dtype=values.dtype).expand(values.shape)
            result = shape_ops.IndexPut(Ellipsis).apply(base, result)
    return result


def standard_normal_values(device, shape, dtype, generator=None):
    """Standard normal samples of ``shape``: float64 for float64, else float32 (the two dtypes
    NumPy's and CuPy's generators draw), from ``generator`` if given."""
    return random.generator(device, generator).standard_normal(shape,
                                                                dtype=_drawn_dtype(dtype))


def uniform_values(device, shape, dtype, generator=None):
    """Uniform samples in [0, 1) of ``shape``: float64 for float64, else float32; rounded to
    float16, those that round up to 1 become the largest float16 below 1, so none reaches 1.
    From ``generator`` if given."""
    values = random.generator(device, generator).random(shape, dtype=_drawn_dtype(dtype))
    if values.dtype == dtype:
        return values
    rounded = values.astype(dtype)
    below_one = numpy.nextafter(rounded.dtype.type(1), rounded.dtype.type(0))
    return device.xp.minimum(rounded, below_one)


def _drawn_dtype(dtype):
    return numpy.float64 if numpy.dtype(dtype) == numpy.float64 else numpy.float32


def _integer_range(dtype):
    """The smallest and largest integers a tensor of ``dtype`` can hold and ``integers`` can
    draw (an int64, cast) for it."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "iu":
        info = numpy.iinfo(dtype)
        return int(info.min), int(info.max)
    int64, largest = numpy.iinfo(numpy.int64), int(numpy.finfo(dtype).max)
    return max(int(int64.min), -largest), min(int(int64.max), largest)


def _expect_floating(op, name, tensor):
    if tensor.array.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating point, got dtype "
                        f"{tensor.array.dtype}, as in PyTorch")


def _expect_same_device(op, a, b):
    if type(a.array) is not type(b.array):
        raise ValueError(f"{op}: tensors are on different devices ({a.device} and {b.device}); "
                         f"move them with .to(device) first")


def _broadcast_shape(op, name1, shape1, name2, shape2):
    try:
        return numpy.broadcast_shapes(tuple(shape1), tuple(shape2))
    except ValueError:
        raise ValueError(f"{op}: the shapes of {name1} {tuple(shape1)} and {name2} "
                         f"{tuple(shape2)} do not broadcast") from None


def _broadcasts_to(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` itself (as ``expand`` needs)."""
    try:
        return numpy.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


def _check_probabilities(op, name, array):
    if not bool(_probabilities(array).all()):
        raise ValueError(f"{op}: {name} must hold probabilities in [0, 1], got "
                         f"{_first_invalid(array, _probabilities)}")


# what the samplers' parameters must be, elementwise (False for NaN)
def _probabilities(array):
    return (array >= 0) & (array <= 1)


def _non_negative(array):
    return array >= 0


def _finite_rates(array):
    return (array >= 0) & (array < numpy.inf)


def _first_invalid(array, valid):
    """The first value of ``array`` where ``valid`` fails, as a Python number (for messages;
    computed on the host, a 0-d array included)."""
    values = backend.to_numpy(array)
    return values[~numpy.asarray(valid(values))].flat[0].item()


def _array_or_number(value, dtype=None):
    if isinstance(value, Tensor):
        return value.array if dtype is None else value.array.astype(dtype, copy=False)
    return value


def _int_arg(op, name, value):
    """``value`` as an int: an int (not a bool) or a 0-d integer tensor, as PyTorch takes."""
    if isinstance(value, Tensor) and value.ndim == 0 and value.array.dtype.kind in "iu":
        return int(value.item())
    return checks.integer(op, name, value, minimum=None)


def _float_arg(op, name, value):
    """``value`` as a float: a number (a bool counts as 0 or 1, as in PyTorch) or a 0-d
    tensor."""
    if isinstance(value, Tensor) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, numpy.bool_)):
        value = float(value)
    return checks.real(op, name, value)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False):
    xp = backend.get_device(device).xp
    dtype = _float_dtype(dtype)
    check_requires_grad("eye", dtype, requires_grad)
    return Tensor.from_array(xp.eye(n, m, dtype=dtype), requires_grad)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (changes to either show in both), as torch.from_numpy."""
    if type(array) is not numpy.ndarray:
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: cannot make a tensor of dtype {array.dtype}")
    return Tensor.from_array(array, False)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing its memory when it is already an array (or tensor) of
    that dtype and device; otherwise a copy, as torch.as_tensor."""
    if isinstance(data, Tensor):
        return data.to(*(x for x in (device, dtype) if x is not None))
    if backend.is_array(data):
        array = data
        if device is not None:
            array = backend.move(array, backend.get_device(device))
        if dtype is not None and array.dtype != numpy.dtype(dtype):
            array = array.astype(dtype)
        return Tensor.from_array(array, False)
    return tensor(data, dtype=dtype, device=device)


class _TensorType(type):
    """The metaclass of ``ts.FloatTensor`` and its kin: ``isinstance(t, ts.LongTensor)`` tests
    the dtype, as in PyTorch."""

    def __instancecheck__(cls, value):
        return isinstance(value, Tensor) and value.dtype == cls.dtype


def _tensor_type(name, dtype):
    def __new__(cls, *data):
        sizes = legacy_sizes(name, data)
        if sizes is not None:
            return zeros(sizes, dtype=cls.dtype)
        if len(data) != 1:
            raise TypeError(f"{name}: expected sizes or one sequence of values, got {data!r}")
        return tensor(data[0], dtype=cls.dtype)
    doc = f"``ts.{name}([values])`` or ``ts.{name}(*sizes)`` (zeros): a {dtype} tensor."
    return _TensorType(name, (), {"__new__": __new__, "__doc__": doc,
                                  "dtype": numpy.dtype(dtype)})


FloatTensor = _tensor_type("FloatTensor", numpy.float32)
DoubleTensor = _tensor_type("DoubleTensor", numpy.float64)
LongTensor = _tensor_type("LongTensor", numpy.int64)
IntTensor = _tensor_type("IntTensor", numpy.int32)
BoolTensor = _tensor_type("BoolTensor", numpy.bool_)

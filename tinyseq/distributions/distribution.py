"""The base class of the distributions, as ``torch.distributions.Distribution``."""
import numbers

import numpy

from ..creation import tensor
from ..dtypes import Size, get_default_dtype
from ..modes import no_grad
from ..tensor import Tensor, broadcast_to


class Distribution:
    """A batch of ``batch_shape`` independent distributions over events of ``event_shape``.

    A sample of ``sample(sample_shape)`` has shape sample_shape + batch_shape + event_shape;
    ``log_prob(value)`` scores a value of (a shape broadcasting with) batch_shape +
    event_shape. With ``validate_args`` (True unless ``set_default_validate_args(False)``, as
    PyTorch's), parameters and scored values are checked against ``arg_constraints`` and
    ``support``, raising ValueError naming the distribution and the parameter."""
    has_rsample = False
    has_enumerate_support = False
    arg_constraints = {}
    _validate_default = True

    @staticmethod
    def set_default_validate_args(value):
        """Whether distributions check their arguments when not told ``validate_args``."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: value must be True or False, got "
                             f"{value!r}")
        Distribution._validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = self._validate_default if validate_args is None else validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if name in self.__dict__:          # only the parameter given, as PyTorch
                    self._check_parameter(name, constraint)

    def _check_parameter(self, name, constraint):
        value = self.__dict__[name]
        if not bool(constraint.check(value).all()):
            raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                             f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                             f"constraint {constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} has no mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """A sample without gradient; a reparameterised one where there is ``rsample``."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no rsample: its samples are not "
                                  f"differentiable in its parameters")

    def log_prob(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        """exp(entropy)."""
        return self.entropy().exp()

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} has no enumerate_support")

    def _extended_shape(self, sample_shape=()):
        return Size(tuple(sample_shape)) + self._batch_shape + self._event_shape

    def _validate_sample(self, value):
        """Refuses a value that is not a tensor, whose shape does not broadcast with
        batch_shape + event_shape, or that lies outside the support, as PyTorch."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.ndim - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.shape} vs {self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(tuple(value.shape)), reversed(tuple(expected))):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{value.shape} vs {expected}.")
        if not bool(self.support.check(value).all()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape "
                             f"{tuple(value.shape)}) to be within the support "
                             f"({self.support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{value}")

    def __repr__(self):
        shown = [f"{name}: {_summary(self.__dict__[name])}" for name in self.arg_constraints
                 if name in self.__dict__]
        return f"{type(self).__name__}({', '.join(shown)})"


def _summary(value):
    """A parameter as repr shows it: its value when it is one number, else its shape."""
    return value.item() if value.numel() == 1 else value.shape


def broadcast_all(*values):
    """The values as tensors of one broadcast shape: a number becomes a tensor of the first
    tensor's dtype and device (the default dtype when all are numbers), as PyTorch's."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or "
                         "tinyseq.Tensor.")
    first = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = get_default_dtype() if first is None else first.dtype
    device = "cpu" if first is None else first.device
    values = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype, device=device)
              for v in values]
    shape = broadcast_shape(*(v.shape for v in values))
    return tuple(v if tuple(v.shape) == shape else broadcast_to(v, shape) for v in values)


def broadcast_shape(*shapes):
    """The shape the given shapes broadcast to."""
    return numpy.broadcast_shapes(*(tuple(shape) for shape in shapes))


def clamp_probs(probs):
    """probs kept in [eps, 1 - eps] for their dtype's eps, so that their logs are finite."""
    eps = numpy.finfo(probs.dtype).eps
    return probs.clamp(min=float(eps), max=float(1 - eps))

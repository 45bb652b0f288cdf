"""Distributions over K classes: ``Categorical`` (class ids) and ``OneHotCategorical``."""
from functools import cached_property

from ..creation import arange, eye, full, rand
from ..dtypes import finfo
from ..functional import one_hot
from ..modes import no_grad
from ..tensor import Tensor, broadcast_to
from . import constraints
from .distribution import Distribution, broadcast_shape, clamp_probs


class Categorical(Distribution):
    """Class ids 0..K-1 with probabilities ``probs`` (normalised along the last dim) or
    unnormalised log-probabilities ``logits`` (normalised: logits - logsumexp(logits)); one of
    the two, (..., K), the leading dims being the batch shape.

    log_prob(k) = logits[k]; entropy = -sum_k p_k log p_k; mean and variance are NaN."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent_real}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = "probs" if probs is not None else "logits"
        param = probs if probs is not None else logits
        if not isinstance(param, Tensor):
            raise TypeError(f"Categorical: `{given}` must be a Tensor, got "
                            f"{type(param).__name__}")
        if param.ndim < 1:
            raise ValueError(f"`{given}` parameter must be at least one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._param = self.__dict__[given]
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], validate_args=validate_args)

    @cached_property
    def probs(self):
        return self.logits.softmax(-1)

    @cached_property
    def logits(self):
        return clamp_probs(self.probs).log()

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def support(self):
        return constraints.IntegerInterval(0, self._num_events - 1)

    @property
    def mean(self):
        return full(self._extended_shape(), float("nan"), dtype=self.probs.dtype,
                    device=self.probs.device)

    @property
    def variance(self):
        return self.mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()):
        """int64 class ids of shape sample_shape + batch_shape, by inverting the cumulative
        probabilities at uniforms from tinyseq's seeded generator."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            cumulative = self.probs.cumsum(-1)
            uniform = rand(*shape, dtype=cumulative.dtype, device=cumulative.device)
            # scaled by the last cumulative value, so that rounding in cumsum cannot leave
            # a uniform past every class
            uniform = uniform * cumulative[..., -1]
            ids = (uniform.unsqueeze(-1) >= cumulative).sum(-1)
            return ids.clamp(max=self._num_events - 1)

    def log_prob(self, value):
        """logits[value], value broadcasting with the batch shape."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        batch = tuple(broadcast_shape(value.shape[:-1], self.logits.shape[:-1]))
        log_pmf = broadcast_to(self.logits, batch + (self._num_events,))
        return log_pmf.gather(-1, broadcast_to(value, batch + (1,))).squeeze(-1)

    def entropy(self):
        """-sum_k p_k log p_k; a class of probability 0 adds 0."""
        logits = self.logits.clamp(min=float(finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        """Every class id, (K,) + (1,) * len(batch_shape), expanded to (K,) + batch_shape."""
        values = arange(self._num_events, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class OneHotCategorical(Distribution):
    """A ``Categorical`` whose samples and values are one-hot vectors of length K (the event
    shape); the parameters as Categorical's. mean = probs, variance = probs (1 - probs)."""
    arg_constraints = Categorical.arg_constraints
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return one_hot(self.probs.argmax(-1), self._event_shape[0]).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        ids = self._categorical.sample(sample_shape)
        return one_hot(ids, self._event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value):
        """log_prob of the class whose entry is largest."""
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        """Every one-hot vector, (K,) + (1,) * len(batch_shape) + (K,), expanded to
        (K,) + batch_shape + (K,)."""
        n = self._event_shape[0]
        values = eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self._batch_shape) + (n,))
        return values.expand((n,) + tuple(self._batch_shape) + (n,)) if expand else values

"""``Bernoulli``: 1 with probability p, else 0."""
from functools import cached_property

from ..creation import arange, rand
from ..functional import binary_cross_entropy_with_logits
from ..modes import no_grad
from . import constraints
from .distribution import Distribution, broadcast_all, clamp_probs


class Bernoulli(Distribution):
    """1 with probability ``probs`` p, or log-odds ``logits`` x = log p - log(1 - p); one of
    the two, a number or a tensor whose shape is the batch shape.

    log_prob(y) = y log p + (1 - y) log(1 - p), computed from the logits without overflow;
    entropy = -p log p - (1 - p) log(1 - p); mean = p; variance = p (1 - p)."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    @cached_property
    def probs(self):
        return self.logits.sigmoid()

    @cached_property
    def logits(self):
        probs = clamp_probs(self.probs)
        return probs.log() - (-probs).log1p()

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """0s and 1s of sample_shape + batch_shape, in the probabilities' dtype."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            uniform = rand(*shape, dtype=self.probs.dtype, device=self.probs.device)
            return (uniform < self.probs).to(self.probs.dtype)

    def log_prob(self, value):
        """-binary_cross_entropy_with_logits(logits, value), broadcast together."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        """0. and 1., (2,) + (1,) * len(batch_shape), expanded to (2,) + batch_shape."""
        values = arange(2, device=self._param.device).to(self._param.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values

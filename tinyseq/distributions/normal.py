"""``Normal``: the Gaussian of mean ``loc`` and standard deviation ``scale``."""
import math

from ..creation import randn
from . import constraints
from .distribution import Distribution, broadcast_all


class Normal(Distribution):
    """N(loc, scale^2); ``loc`` and ``scale`` numbers or tensors, broadcast together to the
    batch shape.

    log_prob(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi);
    entropy = 1/2 + log(2 pi) / 2 + log scale; rsample = loc + scale eps, eps ~ N(0, 1);
    cdf(x) = (1 + erf((x - loc) / (scale sqrt 2))) / 2."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()):
        """loc + scale eps of sample_shape + batch_shape, differentiable in loc and scale; eps
        from tinyseq's seeded generator."""
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (-((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log()
                - math.log(math.sqrt(2 * math.pi)))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value):
        """P(X <= value) = (1 + erf((value - loc) / (scale sqrt 2))) / 2."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

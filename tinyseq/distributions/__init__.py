"""Probability distributions, as ``torch.distributions``: parameters, samples from tinyseq's
seeded generator, and log-probabilities, entropies and KL divergences that backpropagate into
the parameters."""
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .kl import kl_divergence, register_kl
from .normal import Normal

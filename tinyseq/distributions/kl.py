"""KL(p || q) between two distributions, as ``torch.distributions.kl``."""
from ..functional import softplus
from ..tensor import where
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .normal import Normal

_KL = {}


def register_kl(type_p, type_q):
    """A decorator registering ``fn(p, q)`` as KL(p || q) for p of type_p and q of type_q."""
    def decorator(fn):
        _KL[type_p, type_q] = fn
        return fn
    return decorator


def kl_divergence(p, q):
    """KL(p || q) = E_p[log p(x) - log q(x)], one value per element of the batch; the pair's
    registered function, the most specific classes first, as PyTorch's lookup."""
    for type_p in type(p).__mro__:
        for type_q in type(q).__mro__:
            if (type_p, type_q) in _KL:
                return _KL[type_p, type_q](p, q)
    raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} "
                              f"and q type {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """(r + ((mu_p - mu_q) / s_q)^2 - 1 - log r) / 2, r = (s_p / s_q)^2."""
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_categorical_categorical(p, q):
    """sum_k p_k (log p_k - log q_k): infinite where q_k = 0 < p_k, and a class with p_k = 0
    adds 0."""
    terms = p.probs * (p.logits - q.logits)
    terms = where(q.probs == 0, float("inf"), terms)
    return where(p.probs == 0, 0.0, terms).sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p log(p / q) + (1 - p) log((1 - p) / (1 - q)), from the logits via softplus."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, where(q.probs == 0, float("inf"), t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, where(q.probs == 1, float("inf"), t2))
    return t1 + t2

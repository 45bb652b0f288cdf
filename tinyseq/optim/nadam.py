"""NAdam, as PyTorch's ``torch.optim.NAdam``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter, check_betas, regularized_grad

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731
_flag = lambda op, name, v: checks.flag(op, name, v)  # noqa: E731


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat) and PyTorch's momentum schedule.

    g = grad (-grad with maximize) + weight_decay * p, or with decoupled_weight_decay
    p *= 1 - lr * weight_decay and g = grad;  mu_t = b1 (1 - 0.96^(t momentum_decay) / 2);
    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  d = sqrt(v / (1-b2^t)) + eps;
    p -= lr (1-mu_t) / (1 - mu_1...mu_t) g / d + lr mu_{t+1} / (1 - mu_1...mu_{t+1}) m / d.

    The running product mu_1...mu_t (state "mu_product") is a Python float; PyTorch keeps it
    as a 0-d tensor of its default dtype, float32 unless changed.
    """

    hyperparameters = {**Optimizer.hyperparameters, "betas": check_betas, "eps": _nonnegative,
                       "weight_decay": _nonnegative, "momentum_decay": _nonnegative,
                       "decoupled_weight_decay": _flag, "maximize": _flag}
    scalar_state = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _checked_group(self, group, where):
        # a group saved without these options has them off, as PyTorch's NAdam fills them in
        return super()._checked_group(
            {"decoupled_weight_decay": False, "maximize": False, **group}, where)

    def state_spec(self, group):
        return {"step": True, "mu_product": True, "exp_avg": True, "exp_avg_sq": True}

    def update(self, group, p, grad, state):
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        if not state:
            xp = backend.device_of(p.array).xp
            state.update(step=0, mu_product=1.0, exp_avg=xp.zeros_like(p.array),
                         exp_avg_sq=xp.zeros_like(p.array))
        grad = regularized_grad(group, p, grad)
        state["step"] += 1
        step = state["step"]
        # the momentum of this step, and of the next one, which Nesterov's look-ahead uses
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * group["momentum_decay"]))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        denominator = (v / (1 - beta2 ** step)) ** 0.5 + group["eps"]
        grad_weight = lr * (1 - mu) / (1 - mu_product)
        momentum_weight = lr * mu_next / (1 - mu_product * mu_next)
        add_to_parameter(p, -(grad_weight * grad + momentum_weight * m) / denominator)

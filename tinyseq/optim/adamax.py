"""Adamax, as PyTorch's ``torch.optim.Adamax``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter, check_betas, regularized_grad

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731


class Adamax(Optimizer):
    """Adam with the infinity norm in place of the second moment (Kingma & Ba, section 7).

    g = grad (-grad with maximize) + weight_decay * p;  m = b1 m + (1-b1) g;
    u = max(b2 u, |g| + eps);  p -= lr / (1-b1^t) * m / u.
    """

    hyperparameters = {**Optimizer.hyperparameters, "betas": check_betas, "eps": _nonnegative,
                       "weight_decay": _nonnegative,
                       "maximize": lambda op, name, v: checks.flag(op, name, v)}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _checked_group(self, group, where):
        # a group saved without maximize has it off, as PyTorch's Adamax fills it in
        return super()._checked_group({"maximize": False, **group}, where)

    def state_spec(self, group):
        return {"step": True, "exp_avg": True, "exp_inf": True}

    def update(self, group, p, grad, state):
        beta1, beta2 = group["betas"]
        xp = backend.device_of(p.array).xp
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p.array), exp_inf=xp.zeros_like(p.array))
        grad = regularized_grad(group, p, grad)
        state["step"] += 1
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - beta1) * (grad - m)
        u *= beta2
        xp.maximum(u, xp.abs(grad) + group["eps"], out=u)
        add_to_parameter(p, -(group["lr"] / (1 - beta1 ** state["step"])) * m / u)

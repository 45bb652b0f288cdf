"""RAdam, as PyTorch's ``torch.optim.RAdam``."""
import math

from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter, check_betas, regularized_grad

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731
_flag = lambda op, name, v: checks.flag(op, name, v)  # noqa: E731


class RAdam(Optimizer):
    """Rectified Adam (Liu et al.): Adam's step scaled by how well its variance is known so
    far, plain momentum SGD while it is not.

    g = grad (-grad with maximize) + weight_decay * p, or with decoupled_weight_decay
    p *= 1 - lr * weight_decay and g = grad;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    rho_inf = 2 / (1-b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1-b2^t);  if rho_t > 5,
    r = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t)) and
    p -= lr m / (1-b1^t) * r sqrt(1-b2^t) / (sqrt(v) + eps), else p -= lr m / (1-b1^t).
    """

    hyperparameters = {**Optimizer.hyperparameters, "betas": check_betas, "eps": _nonnegative,
                       "weight_decay": _nonnegative, "decoupled_weight_decay": _flag,
                       "maximize": _flag}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _checked_group(self, group, where):
        # a group saved without these options has them off, as PyTorch's RAdam fills them in
        return super()._checked_group(
            {"decoupled_weight_decay": False, "maximize": False, **group}, where)

    def state_spec(self, group):
        return {"step": True, "exp_avg": True, "exp_avg_sq": True}

    def update(self, group, p, grad, state):
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        if not state:
            xp = backend.device_of(p.array).xp
            state.update(step=0, exp_avg=xp.zeros_like(p.array),
                         exp_avg_sq=xp.zeros_like(p.array))
        grad = regularized_grad(group, p, grad)
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected_m = m / bias_correction1
        # the length of the moving average that v approximates: in the limit, and at step t
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * step * beta2 ** step / bias_correction2
        if rho > 5.0:   # long enough for v's variance to be bounded: rectify the adaptive step
            rectification = math.sqrt((rho - 4) * (rho - 2) * rho_inf
                                      / ((rho_inf - 4) * (rho_inf - 2) * rho))
            adaptive_lr = math.sqrt(bias_correction2) / (v ** 0.5 + group["eps"])
            add_to_parameter(p, -(corrected_m * lr * adaptive_lr * rectification))
        else:
            add_to_parameter(p, -(corrected_m * lr))

"""Adam and AdamW, as PyTorch's ``torch.optim.Adam`` and ``torch.optim.AdamW``."""
import math

from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter, check_betas, regularized_grad

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731
_flag = lambda op, name, v: checks.flag(op, name, v)  # noqa: E731


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction; weight_decay adds L2 to the gradient.

    g = grad + weight_decay * p (-grad with maximize);  m = b1 m + (1-b1) g;
    v = b2 v + (1-b2) g^2;  p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
    amsgrad (Reddi et al.) divides by the largest v so far instead of v.
    """

    hyperparameters = {**Optimizer.hyperparameters, "betas": check_betas, "eps": _nonnegative,
                       "weight_decay": _nonnegative, "amsgrad": _flag, "maximize": _flag}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize})

    def _checked_group(self, group, where):
        # a group saved without these options has them off, as PyTorch's Adam fills them in
        return super()._checked_group({"amsgrad": False, "maximize": False, **group}, where)

    def state_spec(self, group):
        spec = {"step": True, "exp_avg": True, "exp_avg_sq": True}
        if group["amsgrad"]:
            spec["max_exp_avg_sq"] = False      # absent in a state saved before amsgrad was on
        return spec

    def update(self, group, p, grad, state):
        self._adam_step(group, p, regularized_grad(group, p, grad), state)

    @staticmethod
    def _adam_step(group, p, grad, state):
        beta1, beta2 = group["betas"]
        xp = backend.device_of(p.array).xp
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p.array), exp_avg_sq=xp.zeros_like(p.array))
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        if group["amsgrad"]:
            largest = state.get("max_exp_avg_sq")
            if largest is None:
                largest = state["max_exp_avg_sq"] = xp.zeros_like(v)
            xp.maximum(largest, v, out=largest)
            v = largest
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        denominator = (v ** 0.5) / math.sqrt(bias_correction2) + group["eps"]
        add_to_parameter(p, -(group["lr"] / bias_correction1) * m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW:
    p *= 1 - lr * weight_decay, then Adam's update on the plain gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)

    def update(self, group, p, grad, state):
        self._adam_step(group, p, regularized_grad(group, p, grad, decoupled=True), state)

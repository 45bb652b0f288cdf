"""Adadelta, as PyTorch's ``torch.optim.Adadelta``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731


class Adadelta(Optimizer):
    """g = grad + weight_decay * p;  s = rho s + (1-rho) g^2;
    delta = sqrt(u + eps) / sqrt(s + eps) * g;  u = rho u + (1-rho) delta^2;  p -= lr delta."""

    hyperparameters = {**Optimizer.hyperparameters,
                       "rho": lambda op, name, v: checks.real(op, name, v, minimum=0.0,
                                                              maximum=1.0),
                       "eps": _nonnegative, "weight_decay": _nonnegative}

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps,
                                  "weight_decay": weight_decay})

    def state_spec(self, group):
        return {"step": True, "square_avg": True, "acc_delta": True}

    def update(self, group, p, grad, state):
        xp = backend.device_of(p.array).xp
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(p.array),
                         acc_delta=xp.zeros_like(p.array))
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.array
        rho, eps = group["rho"], group["eps"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * (grad * grad)
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * (delta * delta)
        add_to_parameter(p, -group["lr"] * delta)

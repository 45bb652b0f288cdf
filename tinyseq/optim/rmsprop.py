"""RMSprop, as PyTorch's ``torch.optim.RMSprop``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731


class RMSprop(Optimizer):
    """g = grad + weight_decay * p;  s = alpha s + (1-alpha) g^2;  with centered, a = alpha a +
    (1-alpha) g and d = sqrt(s - a^2) + eps, else d = sqrt(s) + eps;  with momentum,
    b = momentum b + g / d and p -= lr b, else p -= lr g / d."""

    hyperparameters = {**Optimizer.hyperparameters, "alpha": _nonnegative, "eps": _nonnegative,
                       "weight_decay": _nonnegative, "momentum": _nonnegative,
                       "centered": lambda op, name, v: checks.flag(op, name, v)}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def state_spec(self, group):
        return {"step": True, "square_avg": True, "momentum_buffer": group["momentum"] > 0,
                "grad_avg": group["centered"]}

    def update(self, group, p, grad, state):
        xp = backend.device_of(p.array).xp
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(p.array))
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p.array)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(p.array)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.array
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (grad * grad)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denominator = (square_avg - grad_avg * grad_avg) ** 0.5 + group["eps"]
        else:
            denominator = square_avg ** 0.5 + group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += grad / denominator
            add_to_parameter(p, -group["lr"] * buffer)
        else:
            add_to_parameter(p, -group["lr"] * grad / denominator)

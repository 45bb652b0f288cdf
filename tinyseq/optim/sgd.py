"""Stochastic gradient descent with momentum, as PyTorch's ``torch.optim.SGD``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731


class SGD(Optimizer):
    """g = grad + weight_decay * p;  b = momentum * b + (1 - dampening) * g (b = g at the first
    step);  g = g + momentum * b with nesterov, else b;  p -= lr * g."""

    hyperparameters = {**Optimizer.hyperparameters, "momentum": _nonnegative,
                       "dampening": lambda op, name, v: checks.real(op, name, v),
                       "weight_decay": _nonnegative,
                       "nesterov": lambda op, name, v: checks.flag(op, name, v)}

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _checked_group(self, group, where):
        group = super()._checked_group(group, where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: nesterov needs momentum > 0 and dampening 0, got "
                             f"momentum {group['momentum']!r} and dampening {group['dampening']!r}")
        return group

    def state_spec(self, group):
        return {"momentum_buffer": group["momentum"] != 0}

    def update(self, group, p, grad, state):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.array
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # xp.array, not grad.copy(): grad + weight_decay * p is a scalar for a 0-d p
                buffer = state["momentum_buffer"] = backend.device_of(p.array).xp.array(grad)
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        add_to_parameter(p, -group["lr"] * grad)

"""Adagrad, as PyTorch's ``torch.optim.Adagrad``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter

_nonnegative = lambda op, name, v: checks.real(op, name, v, minimum=0.0)  # noqa: E731


class Adagrad(Optimizer):
    """g = grad + weight_decay * p (-grad with maximize);  s += g^2;
    p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(s) + eps).

    s starts at the constructor's initial_accumulator_value, for every parameter when the
    optimizer is made (a group's own value is not used), as PyTorch's."""

    hyperparameters = {**Optimizer.hyperparameters, "lr_decay": _nonnegative,
                       "weight_decay": _nonnegative, "initial_accumulator_value": _nonnegative,
                       "eps": _nonnegative,
                       "maximize": lambda op, name, v: checks.flag(op, name, v)}

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        checks.real("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                    minimum=0.0)
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps, "maximize": maximize})
        for group in self.param_groups:
            for p in group["params"]:
                self._start(p, self.state.setdefault(p, {}))

    def _start(self, p, state):
        xp = backend.device_of(p.array).xp
        state.update(step=0, sum=xp.full_like(p.array, self.defaults["initial_accumulator_value"]))

    def _checked_group(self, group, where):
        # a group saved without maximize has it off, as PyTorch's Adagrad fills it in
        return super()._checked_group({"maximize": False, **group}, where)

    def state_spec(self, group):
        return {"step": True, "sum": True}

    def update(self, group, p, grad, state):
        if not state:                   # a parameter of a group added after construction
            self._start(p, state)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.array
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += grad * grad
        root = backend.device_of(p.array).xp.sqrt(total)
        add_to_parameter(p, -lr * (grad / (root + group["eps"])))

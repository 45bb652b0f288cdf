"""Averaged SGD, as PyTorch's ``torch.optim.ASGD``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter, regularized_grad, scale_parameter

_finite = lambda op, name, v: checks.finite(op, name, v)  # noqa: E731


class ASGD(Optimizer):
    """SGD with a decaying step and a running average of the parameters (Polyak & Juditsky).

    g = grad (-grad with maximize) + weight_decay * p;  p *= 1 - lambd eta;  p -= eta g;
    ax += mu (p - ax) (ax = p while mu is 1);  then for the next step
    eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0). eta starts at the group's
    lr and mu at 1; the average ax is state, as in PyTorch, which has no use of its own for it.

    eta and mu are Python floats; PyTorch keeps them as 0-d tensors of its default dtype,
    float32 unless changed.
    """

    hyperparameters = {**Optimizer.hyperparameters, "lambd": _finite, "alpha": _finite,
                       "t0": _finite,
                       "weight_decay": lambda op, name, v: checks.real(op, name, v, minimum=0.0),
                       "maximize": lambda op, name, v: checks.flag(op, name, v)}
    scalar_state = ("eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, *,
                 maximize=False):
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _checked_group(self, group, where):
        # a group saved without maximize has it off, as PyTorch's ASGD fills it in
        return super()._checked_group({"maximize": False, **group}, where)

    def state_spec(self, group):
        return {"step": True, "eta": True, "mu": True, "ax": True}

    def update(self, group, p, grad, state):
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            state.update(step=0, eta=lr, mu=1.0, ax=backend.device_of(p.array).xp.zeros_like(
                p.array))
        grad = regularized_grad(group, p, grad)
        state["step"] += 1
        step, eta = state["step"], state["eta"]
        scale_parameter(p, 1 - lambd * eta)
        add_to_parameter(p, -eta * grad)
        average = state["ax"]
        if state["mu"] != 1:
            average += (p.array - average) * state["mu"]
        else:
            average[...] = p.array
        state["eta"] = lr / (1 + lambd * lr * step) ** group["alpha"]
        state["mu"] = 1 / max(1, step - group["t0"])

"""Rprop, as PyTorch's ``torch.optim.Rprop``."""
from .. import backend, checks
from .optimizer import Optimizer, add_to_parameter


def _pair(op, name, value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{op}: {name} must be a pair of numbers, got {value!r}")
    return tuple(checks.real(op, name, v) for v in value)


def _etas(op, name, value):
    etaminus, etaplus = _pair(op, name, value)
    if not 0.0 < etaminus < 1.0 < etaplus:
        raise ValueError(f"{op}: Invalid eta values: {etaminus}, {etaplus} (etas must be "
                         f"(etaminus, etaplus) with 0 < etaminus < 1 < etaplus)")
    return etaminus, etaplus


def _step_sizes(op, name, value):
    smallest, largest = _pair(op, name, value)
    # PyTorch takes any pair; a step size below 0 or a minimum above the maximum is no bound
    if not 0.0 <= smallest <= largest:
        raise ValueError(f"{op}: step_sizes must be (minimum, maximum) with 0 <= minimum <= "
                         f"maximum, got {value!r}")
    return smallest, largest


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun): each entry moves by its own step size,
    against the sign of its gradient (-grad with maximize), and only the signs are used.

    Where g * g_prev > 0 the step size grows by etaplus, where < 0 it shrinks by etaminus and
    that entry does not move (and counts g as 0 at the next step);  step sizes stay in
    step_sizes and start at the group's lr;  p -= sign(g) * step_size.
    """

    hyperparameters = {**Optimizer.hyperparameters, "etas": _etas, "step_sizes": _step_sizes,
                       "maximize": lambda op, name, v: checks.flag(op, name, v)}

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 maximize=False):
        super().__init__(params, {"lr": lr, "etas": etas, "step_sizes": step_sizes,
                                  "maximize": maximize})

    def _checked_group(self, group, where):
        # a group saved without maximize has it off, as PyTorch's Rprop fills it in
        return super()._checked_group({"maximize": False, **group}, where)

    def state_spec(self, group):
        return {"step": True, "prev": True, "step_size": True}

    def update(self, group, p, grad, state):
        xp = backend.device_of(p.array).xp
        if not state:
            state.update(step=0, prev=xp.zeros_like(p.array),
                         step_size=xp.full_like(p.array, group["lr"]))
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        etaminus, etaplus = group["etas"]
        agreement = xp.sign(grad * state["prev"])
        # in the parameter's dtype, as PyTorch writes the factors into the sign tensor
        factor = xp.where(agreement > 0, etaplus,
                          xp.where(agreement < 0, etaminus, 1.0)).astype(p.array.dtype)
        step_size = state["step_size"]
        step_size *= factor
        xp.clip(step_size, *group["step_sizes"], out=step_size)
        # a sign change means the last move overshot: hold this entry still this time
        grad = xp.where(agreement < 0, 0, grad).astype(p.array.dtype)
        add_to_parameter(p, -xp.sign(grad) * step_size)
        state["prev"][...] = grad

"""Learning-rate schedules, as PyTorch's ``torch.optim.lr_scheduler``: call ``step()`` once per
epoch, after ``optimizer.step()``."""
import math
import numbers
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

from .. import checks
from .optimizer import Optimizer


def _check_start(name, optimizer, last_epoch, needs=("initial_lr",)):
    """``last_epoch`` checked, with ``optimizer``: resuming (last_epoch >= 0) needs ``needs`` in
    every param group, as a scheduler made with last_epoch=-1 left them."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
    last_epoch = checks.integer(name, "last_epoch", last_epoch, minimum=-1)
    missing = [key for key in needs if any(key not in group for group in optimizer.param_groups)]
    if last_epoch >= 0 and missing:
        raise ValueError(f"{name}: resuming at last_epoch {last_epoch} needs "
                         f"{', '.join(map(repr, missing))} in every param group (set by a "
                         f"scheduler made with last_epoch=-1)")
    return last_epoch


def _per_group(name, arg, value, optimizer, **bounds):
    """``value`` (one for every param group, or a list of one per group) as checked floats."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{name}: expected {groups} {arg} values (one per param group), "
                             f"got {len(value)}")
        return [checks.real(name, arg, v, **bounds) for v in value]
    return [checks.real(name, arg, value, **bounds)] * groups


def _positive(name, arg, value, maximum=math.inf):
    """``value`` as a float in (0, maximum]: a factor some step divides by."""
    value = checks.real(name, arg, value)
    if not 0 < value <= maximum:
        raise ValueError(f"{name}: {arg} must be in (0, {maximum}], got {value!r}")
    return value


def _set_momentum(group, value, use_beta1):
    """Set SGD's momentum, or Adam's beta1, of ``group``."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _momentum_bounds(name, optimizer):
    """Whether ``optimizer`` cycles beta1 (else momentum), and the bounds its values take;
    refused where it has neither."""
    use_beta1 = "betas" in optimizer.defaults
    if not use_beta1 and "momentum" not in optimizer.defaults:
        raise ValueError(f"{name}: optimizer must support momentum or beta1 with "
                         f"`cycle_momentum` option enabled; {type(optimizer).__name__} "
                         f"has neither (pass cycle_momentum=False)")
    # values the optimizer itself accepts: Adam's beta1 stays below 1
    return use_beta1, dict(minimum=0.0, below=1.0 if use_beta1 else math.inf)


# what PyTorch's schedulers keep besides the schedule: for their warnings and first step, and
# ReduceLROnPlateau's copies of what its mode and min_lrs say
_PYTORCH_BOOKKEEPING = ("_step_count", "_is_initial", "_get_lr_called_within_step", "verbose",
                        "mode_worse", "default_min_lr")


class LRScheduler:
    """Changes the ``lr`` of every parameter group of ``optimizer`` as epochs pass.
    ``last_epoch`` counts the ``step()`` calls (0 after construction)."""

    _initial = False  # True during the constructor's step (see _initial_step)

    def __init__(self, optimizer, last_epoch=-1):
        last_epoch = _check_start(type(self).__name__, optimizer, last_epoch)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def get_lr(self):
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self):
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _initial_step(self):
        # flagged so that the schedules that multiply the current lr keep it here, as PyTorch's
        # do: resumed at a last_epoch, the groups already hold that epoch's lrs
        self._initial = True
        try:
            self.step()
        finally:
            del self._initial  # back to the class's False, and out of the state dict

    def _restart(self):
        """Epoch 0 again, as SequentialLR asks at a milestone (PyTorch's ``_update_lr(0)``)."""
        self.last_epoch = 0
        self._set_lrs(self._closed_form_lr())

    def _closed_form_lr(self):
        """The lrs at ``last_epoch`` from ``base_lrs``; ``get_lr`` where there is no such form."""
        return self.get_lr()

    def _set_lrs(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer (which has its own state dict)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Take ``state_dict``'s state, after checking all of it; on any error nothing changes."""
        self._apply_state(self._checked_state(state_dict))

    def _checked_state(self, state_dict):
        """``state_dict`` as this scheduler's own: the same keys, lists of the same lengths;
        the bookkeeping keys only PyTorch's schedulers keep are dropped, so that one of theirs
        loads."""
        name = f"{type(self).__name__}.load_state_dict"
        own = self.state_dict()
        if isinstance(state_dict, dict):
            state_dict = {key: value for key, value in state_dict.items()
                          if key in own or key not in _PYTORCH_BOOKKEEPING}
        if not isinstance(state_dict, dict) or set(state_dict) != set(own):
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected the keys {sorted(own)}, got {keys}")
        for key, value in state_dict.items():
            if isinstance(own[key], list) and (not isinstance(value, (list, tuple))
                                               or len(value) != len(own[key])):
                raise ValueError(f"{name}: {key!r} must be a list of {len(own[key])}, got "
                                 f"{value!r}")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in state_dict.items()}

    def _apply_state(self, state):
        self.__dict__.update(state)


class _LambdaScheduler(LRScheduler):
    """LambdaLR and MultiplicativeLR: ``lr_lambda`` is one function of the epoch for every
    param group, or a list of one per group; saved as PyTorch saves them."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        name = type(self).__name__
        _check_start(name, optimizer, last_epoch)
        groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(f"{name}: expected {groups} lr_lambdas (one per param group), got "
                             f"{len(lambdas)}")
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"{name}: lr_lambda must be a function of the epoch, got "
                                f"{fn!r} ({type(fn).__name__})")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        """As PyTorch's: a callable object's lambda as its ``__dict__``, a plain function's as
        None (code is not saved)."""
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        for saved in state["lr_lambdas"]:
            if saved is not None and not isinstance(saved, dict):
                raise ValueError(f"{type(self).__name__}.load_state_dict: each of 'lr_lambdas' "
                                 f"must be None or a dict, got {saved!r}")
        return state

    def _apply_state(self, state):
        for fn, saved in zip(self.lr_lambdas, state.pop("lr_lambdas")):
            if saved is not None:
                fn.__dict__.update(saved)
        super()._apply_state(state)


class LambdaLR(_LambdaScheduler):
    """lr = initial_lr * lr_lambda(epoch)."""

    def get_lr(self):
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaScheduler):
    """lr = previous lr * lr_lambda(epoch), from epoch 1."""

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self._initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, groups)]


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = checks.integer("StepLR", "step_size", step_size, minimum=1)
        self.gamma = checks.real("StepLR", "gamma", gamma, minimum=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        # each step multiplies the current lr, as PyTorch's chainable form does
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (the number of milestones <= epoch, repeats counted)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        if not isinstance(milestones, Iterable):
            raise TypeError(f"MultiStepLR: milestones must be an iterable of epochs, got "
                            f"{milestones!r}")
        self.milestones = Counter(checks.integer("MultiStepLR", "a milestone", m)
                                  for m in milestones)
        self.gamma = checks.real("MultiStepLR", "gamma", gamma, minimum=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch not in self.milestones:
            return lrs
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in lrs]

    def _closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        state["milestones"] = Counter(state["milestones"])  # a saved Counter loads as a dict
        return state


class ConstantLR(LRScheduler):
    """lr = initial_lr * factor before epoch total_iters, initial_lr from then on."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        # factor 0 would leave nothing to divide by at total_iters
        self.factor = _positive("ConstantLR", "factor", factor, maximum=1.0)
        self.total_iters = checks.integer("ConstantLR", "total_iters", total_iters, minimum=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.factor for lr in lrs]
        if self.last_epoch != self.total_iters:
            return lrs
        return [lr * (1.0 / self.factor) for lr in lrs]

    def _closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = initial_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
    / total_iters)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        name = "LinearLR"
        self.start_factor = _positive(name, "start_factor", start_factor, maximum=1.0)
        self.end_factor = checks.real(name, "end_factor", end_factor, minimum=0.0, maximum=1.0)
        self.total_iters = checks.integer(name, "total_iters", total_iters, minimum=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in lrs]
        if self._initial or self.last_epoch > self.total_iters:
            return lrs
        # the ratio of this epoch's factor to the last one's, as PyTorch writes it
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [lr * ratio for lr in lrs]

    def _closed_form_lr(self):
        change = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor
                           + change * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = checks.real("ExponentialLR", "gamma", gamma, minimum=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return lrs if self._initial else [lr * self.gamma for lr in lrs]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = checks.integer("CosineAnnealingLR", "T_max", T_max, minimum=1)
        self.eta_min = checks.real("CosineAnnealingLR", "eta_min", eta_min, minimum=0.0,
                                   below=math.inf)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        # PyTorch's recursive form: each step rescales the last lr, so changes made to it from
        # outside carry on; it rounds differently from the formula above
        groups = self.optimizer.param_groups
        if self._initial:
            return [group["lr"] for group in groups]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            # leaving the trough, where the ratio below would divide by 0
            return [group["lr"] + (base_lr - self.eta_min)
                    * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) \
            / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    """lr anneals from max_lr / div_factor up to max_lr over the first pct_start of
    total_steps, then down to max_lr / div_factor / final_div_factor (three_phase: back down
    to the start over as many steps first); momentum moves the other way."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        name = "OneCycleLR"
        cycle_momentum = checks.flag(name, "cycle_momentum", cycle_momentum)
        needs = ("initial_lr", "max_lr", "min_lr")
        if cycle_momentum:
            needs += ("max_momentum", "base_momentum")
        last_epoch = _check_start(name, optimizer, last_epoch, needs)
        if total_steps is not None:
            total_steps = checks.integer(name, "total_steps", total_steps, minimum=1)
        elif epochs is not None and steps_per_epoch is not None:
            total_steps = checks.integer(name, "epochs", epochs, minimum=1) \
                * checks.integer(name, "steps_per_epoch", steps_per_epoch, minimum=1)
        else:
            raise ValueError(f"{name}: you must define either total_steps OR (epochs AND "
                             f"steps_per_epoch), got total_steps={total_steps!r}, "
                             f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
        pct_start = checks.real(name, "pct_start", pct_start, minimum=0.0, maximum=1.0)
        anneal_strategy = checks.choice(name, "anneal_strategy", anneal_strategy,
                                        ("cos", "linear"))
        three_phase = checks.flag(name, "three_phase", three_phase)
        div_factor = _positive(name, "div_factor", div_factor)
        final_div_factor = _positive(name, "final_div_factor", final_div_factor)
        max_lrs = _per_group(name, "max_lr", max_lr, optimizer, minimum=0.0, below=math.inf)
        if cycle_momentum:
            use_beta1, bounds = _momentum_bounds(name, optimizer)
            max_momentums = _per_group(name, "max_momentum", max_momentum, optimizer, **bounds)
            base_momentums = _per_group(name, "base_momentum", base_momentum, optimizer,
                                        **bounds)
        peak = pct_start * total_steps - 1
        if three_phase:
            phases = [(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (2 * pct_start * total_steps - 2, "max_lr", "initial_lr", "base_momentum",
                       "max_momentum"),
                      (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        start = 0.0
        for end, *_ in phases:
            # a step would divide by the phase's length (PyTorch's ZeroDivisionError)
            if end == start:
                raise ValueError(f"{name}: pct_start {pct_start} of {total_steps} steps "
                                 f"(three_phase={three_phase}) leaves a phase of 0 steps, "
                                 f"ending at step {end}")
            start = end
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                for group, high, low in zip(optimizer.param_groups, max_momentums,
                                            base_momentums):
                    _set_momentum(group, high, use_beta1)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        self.total_steps = total_steps
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        self._schedule_phases = [dict(zip(keys, phase)) for phase in phases]
        self._anneal_func_type = anneal_strategy
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:  # as PyTorch's, which has use_beta1 only then
            self.use_beta1 = use_beta1
        super().__init__(optimizer, last_epoch)

    def step(self):
        # checked before anything changes (PyTorch counts the step, then raises)
        if self.last_epoch >= self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {self.last_epoch + 1} times. The "
                             f"specified number of total steps is {self.total_steps}")
        super().step()

    def get_lr(self):
        # the phase holding this step: the first that ends at or after it, else the last
        *earlier, phase = self._schedule_phases
        start = 0.0
        for candidate in earlier:
            if self.last_epoch <= candidate["end_step"]:
                phase = candidate
                break
            start = candidate["end_step"]
        pct = (self.last_epoch - start) / (phase["end_step"] - start)
        anneal = self._annealing_cos if self._anneal_func_type == "cos" \
            else self._annealing_linear
        groups = self.optimizer.param_groups
        if self.cycle_momentum:
            for group in groups:
                _set_momentum(group, anneal(group[phase["start_momentum"]],
                                                 group[phase["end_momentum"]], pct),
                                   self.use_beta1)
        return [anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct) for group in groups]

    @staticmethod
    def _annealing_cos(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    @staticmethod
    def _annealing_linear(start, end, pct):
        return (end - start) * pct + start


class _SchedulerOfSchedulers(LRScheduler):
    """SequentialLR and ChainedScheduler: their state dict holds each scheduler's."""

    def state_dict(self):
        """Its own state, with each scheduler's state dict."""
        state = super().state_dict()
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        state["_schedulers"] = [scheduler._checked_state(saved) for scheduler, saved
                                in zip(self._schedulers, state["_schedulers"])]
        return state

    def _apply_state(self, state):
        for scheduler, saved in zip(self._schedulers, state.pop("_schedulers")):
            scheduler._apply_state(saved)
        super()._apply_state(state)


class SequentialLR(_SchedulerOfSchedulers):
    """lr = schedulers[i]'s, i the number of milestones <= epoch, each scheduler restarted at
    epoch 0 at its milestone."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = "SequentialLR"
        last_epoch = _check_start(name, optimizer, last_epoch)
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError(f"{name}: expected a non-empty list of schedulers, got "
                             f"{schedulers!r}")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] must be a learning-rate scheduler, "
                                f"got {type(scheduler).__name__}")
            if isinstance(scheduler, (ReduceLROnPlateau, _SchedulerOfSchedulers)):
                # the one steps on a metric, the others cannot be restarted at a milestone
                raise ValueError(f"{name}: schedulers[{i}] is a {type(scheduler).__name__}, "
                                 f"which a SequentialLR cannot run")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{i}] ({type(scheduler).__name__}) "
                                 f"belongs to another optimizer")
        if not isinstance(milestones, (list, tuple)) or len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: expected {len(schedulers) - 1} milestones (one fewer "
                             f"than the schedulers), got {milestones!r}")
        milestones = [checks.integer(name, "a milestone", m) for m in milestones]
        if any(later <= earlier for earlier, later in zip(milestones, milestones[1:])):
            raise ValueError(f"{name}: milestones must increase, got {milestones}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            scheduler.last_epoch -= 1  # undo the step each took when it was made
        first = self._schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        epoch = self.last_epoch + 1
        index = bisect_right(self._milestones, epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self.last_epoch = epoch  # after the step, which may refuse (OneCycleLR past its end)
        self._last_lr = scheduler.get_last_lr()


class ReduceLROnPlateau(LRScheduler):
    """lr *= factor (not below min_lr) when ``step(metric)`` has not improved for more than
    ``patience`` epochs; then waits ``cooldown`` epochs. "Improved" is, for mode "min":
    metric < best * (1 - threshold) (threshold_mode "rel") or metric < best - threshold
    ("abs"); mirrored for "max"."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        self.mode = checks.choice(name, "mode", mode, ("min", "max"))
        self.factor = checks.real(name, "factor", factor, minimum=0.0, below=1.0)
        self.patience = checks.integer(name, "patience", patience)
        self.threshold = checks.real(name, "threshold", threshold, minimum=0.0)
        self.threshold_mode = checks.choice(name, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = checks.integer(name, "cooldown", cooldown)
        self.min_lrs = _per_group(name, "min_lr", min_lr, optimizer, minimum=0.0)
        self.eps = checks.real(name, "eps", eps, minimum=0.0)
        self.optimizer = optimizer
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self, metrics):
        current = float(metrics)  # a NaN is never better, as in PyTorch
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _is_better(self, current):
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return current < self.best * (1 - self.threshold)
            return current < self.best - self.threshold
        if self.threshold_mode == "rel":
            return current > self.best * (1 + self.threshold)
        return current > self.best + self.threshold


class PolynomialLR(LRScheduler):
    """lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = checks.integer("PolynomialLR", "total_iters", total_iters, minimum=1)
        # a negative power would divide by 0 at total_iters
        self.power = checks.real("PolynomialLR", "power", power, minimum=0.0, below=math.inf)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        # PyTorch's recursive form: the ratio of this epoch's factor to the last one's
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self._initial or self.last_epoch > self.total_iters:
            return lrs
        ratio = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [lr * ratio for lr in lrs]

    def _closed_form_lr(self):
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base_lr in self.base_lrs]


def _whole(name, wanted, value, minimum=1):
    """``value`` as an int >= ``minimum``; ValueError otherwise, for a float too, as PyTorch's
    CosineAnnealingWarmRestarts raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: Expected {wanted}, but got {value!r}")
    return int(value)


class CosineAnnealingWarmRestarts(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, where T_cur
    counts the epochs since the last restart, which comes after T_i epochs; T_i starts at T_0
    and is multiplied by T_mult at each restart (SGDR, Loshchilov & Hutter)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        name = "CosineAnnealingWarmRestarts"
        last_epoch = _check_start(name, optimizer, last_epoch)
        T_0 = _whole(name, "positive integer T_0", T_0)
        T_mult = _whole(name, "integer T_mult >= 1", T_mult)
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"{name}: Expected float or int eta_min, but got {eta_min!r} of "
                             f"type {type(eta_min).__name__}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = checks.real(name, "eta_min", eta_min, minimum=0.0, below=math.inf)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch=None):
        """One epoch on; or, given ``epoch`` (a float falls within an epoch, as in PyTorch),
        the lrs at that point of the schedule, counted from epoch 0."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
                raise TypeError(f"CosineAnnealingWarmRestarts.step: epoch must be a real "
                                f"number, got {epoch!r} ({type(epoch).__name__})")
            if not 0 <= epoch < math.inf:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: Expected non-negative "
                                 f"epoch, but got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # the number of restarts before epoch: T_0 (T_mult^n - 1) / (T_mult - 1)
                    # epochs have passed at the n-th
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


_CYCLIC_MODES = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}


class CyclicLR(LRScheduler):
    """lr = base_lr + (max_lr - base_lr) * h * scale, h rising from 0 to 1 over step_size_up
    steps and back over step_size_down (step_size_up if None); scale is scale_fn of the cycle
    (scale_mode "cycle", cycles counted from 1) or of the step ("iterations"): 1 for mode
    "triangular", 1 / 2 ** (cycle - 1) for "triangular2", gamma ** step for "exp_range".
    With cycle_momentum, SGD's momentum or Adam's beta1 = max_momentum - (max_momentum -
    base_momentum) * h * scale. One ``step()`` per batch."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        name = "CyclicLR"
        last_epoch = _check_start(name, optimizer, last_epoch)
        base_lrs = _per_group(name, "base_lr", base_lr, optimizer, minimum=0.0, below=math.inf)
        max_lrs = _per_group(name, "max_lr", max_lr, optimizer, minimum=0.0, below=math.inf)
        # a rise of 0 steps would divide by 0; a fall of 0 steps is a saw-tooth
        step_size_up = _positive(name, "step_size_up", step_size_up)
        step_size_down = step_size_up if step_size_down is None else checks.real(
            name, "step_size_down", step_size_down, minimum=0.0, below=math.inf)
        if scale_fn is None:
            if mode not in _CYCLIC_MODES:
                raise ValueError(f"{name}: mode is invalid and scale_fn is None: mode must be "
                                 f"one of {', '.join(map(repr, _CYCLIC_MODES))}, got {mode!r}")
            scale_mode = _CYCLIC_MODES[mode]   # the mode decides, as in PyTorch
        elif not callable(scale_fn):
            raise TypeError(f"{name}: scale_fn must be a function of the cycle or step, got "
                            f"{scale_fn!r} ({type(scale_fn).__name__})")
        scale_mode = checks.choice(name, "scale_mode", scale_mode, ("cycle", "iterations"))
        gamma = checks.real(name, "gamma", gamma, minimum=0.0, below=math.inf)
        cycle_momentum = checks.flag(name, "cycle_momentum", cycle_momentum)
        if cycle_momentum:
            use_beta1, bounds = _momentum_bounds(name, optimizer)
            base_momentums = _per_group(name, "base_momentum", base_momentum, optimizer,
                                        **bounds)
            max_momentums = _per_group(name, "max_momentum", max_momentum, optimizer, **bounds)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = max_lrs
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:  # as PyTorch's, which has these only then
            self.use_beta1 = use_beta1
            self.base_momentums = base_momentums
            self.max_momentums = max_momentums
            if last_epoch == -1:
                for group, high, low in zip(optimizer.param_groups, max_momentums,
                                            base_momentums):
                    _set_momentum(group, high, use_beta1)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)
        # after the first step, which (as PyTorch's) used the groups' initial_lr
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The amplitude's scale at cycle or step ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        position = 1.0 + self.last_epoch / self.total_size - cycle  # in [0, 1) of the cycle
        if position <= self.step_ratio:
            height = position / self.step_ratio
        else:
            height = (position - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums):
                _set_momentum(group, high - (high - low) * height * scale, self.use_beta1)
        return [base_lr + (max_lr - base_lr) * height * scale
                for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]

    def state_dict(self):
        """As PyTorch's: a callable object's scale_fn as its ``__dict__``, a plain function's
        (or none) as None (code is not saved)."""
        state = super().state_dict()
        fn = state["_scale_fn_custom"]
        state["_scale_fn_custom"] = None if fn is None or isinstance(fn, types.FunctionType) \
            else fn.__dict__.copy()
        return state

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        saved = state["_scale_fn_custom"]
        if saved is not None and not isinstance(saved, dict):
            raise ValueError(f"CyclicLR.load_state_dict: '_scale_fn_custom' must be None or a "
                             f"dict, got {saved!r}")
        return state

    def _apply_state(self, state):
        saved = state.pop("_scale_fn_custom")
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)
        super()._apply_state(state)


class ChainedScheduler(_SchedulerOfSchedulers):
    """Each ``step()`` steps every one of ``schedulers`` in turn, so that the changes of those
    that scale the current lr multiply."""

    def __init__(self, schedulers, optimizer=None):
        name = "ChainedScheduler"
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError(f"{name}: expects at least one scheduler to be chained, but got "
                             f"{schedulers!r}")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] must be a learning-rate scheduler, "
                                f"got {type(scheduler).__name__}")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name}: schedulers[{i}] is a ReduceLROnPlateau, whose step "
                                 f"needs a metric")
        if optimizer is None:
            optimizer = schedulers[0].optimizer
        elif not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        for i, scheduler in enumerate(schedulers):
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{i}] ({type(scheduler).__name__}) "
                                 f"belongs to another optimizer")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self):
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

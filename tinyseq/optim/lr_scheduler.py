"""Learning-rate schedules, as PyTorch's ``torch.optim.lr_scheduler``: call ``step()`` once per
epoch, after ``optimizer.step()``."""
import math

from .. import checks
from .optimizer import Optimizer


class LRScheduler:
    """Changes the ``lr`` of every parameter group of ``optimizer`` as epochs pass.
    ``last_epoch`` counts the ``step()`` calls (0 after construction)."""

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        last_epoch = checks.integer(name, "last_epoch", last_epoch, minimum=-1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise ValueError(f"{name}: resuming at last_epoch {last_epoch} needs 'initial_lr' in "
                             f"every param group (set by a scheduler made with last_epoch=-1)")
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self):
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer (which has its own state dict)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        name = f"{type(self).__name__}.load_state_dict"
        own = self.state_dict()
        if not isinstance(state_dict, dict) or set(state_dict) != set(own):
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected the keys {sorted(own)}, got {keys}")
        for key, value in state_dict.items():
            if isinstance(own[key], list) and (not isinstance(value, (list, tuple))
                                               or len(value) != len(own[key])):
                raise ValueError(f"{name}: {key!r} must be a list of {len(own[key])}, got "
                                 f"{value!r}")
        self.__dict__.update({k: list(v) if isinstance(v, tuple) else v
                              for k, v in state_dict.items()})


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


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = checks.real("ExponentialLR", "gamma", gamma, minimum=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return lrs if self.last_epoch == 0 else [lr * self.gamma for lr in lrs]


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
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"{name}: expected {groups} min_lr values (one per param "
                                 f"group), got {len(min_lr)}")
            self.min_lrs = [checks.real(name, "min_lr", v, minimum=0.0) for v in min_lr]
        else:
            self.min_lrs = [checks.real(name, "min_lr", min_lr, minimum=0.0)] * groups
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

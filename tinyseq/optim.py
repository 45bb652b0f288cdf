"""Optimizers with PyTorch's update rules and state-dict layout."""
import math

from . import backend
from .tensor import Tensor


class Optimizer:
    """Holds parameter groups (dicts with "params" and hyper-parameters) and per-parameter state."""

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for group in groups:
            group = dict(group)
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not isinstance(p, Tensor):
                    raise TypeError(f"{type(self).__name__}: parameters must be Tensors, "
                                    f"got {type(p).__name__}")
            for key, value in defaults.items():
                group.setdefault(key, value)
            self._check_group(group)
            self.param_groups.append(group)
        self.state = {}

    def _check_group(self, group):
        if group["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")

    def zero_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def _params_with_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p, p.grad.array

    def state_dict(self):
        """{"state": {index: {name: Tensor or number}}, "param_groups": [{..., "params": [index]}]}"""
        index_of = {}
        groups = []
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = []
            for p in group["params"]:
                index_of[id(p)] = len(index_of)
                entry["params"].append(index_of[id(p)])
            groups.append(entry)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if id(p) in self.state:
                    state[index_of[id(p)]] = {
                        k: (Tensor.from_array(v.copy(), False) if hasattr(v, "shape") else v)
                        for k, v in self.state[id(p)].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved parameter groups "
                             f"{[len(g['params']) for g in groups]} do not match this optimizer's "
                             f"{[len(g['params']) for g in self.param_groups]}")
        params = {}
        for saved, own in zip(groups, self.param_groups):
            for index, p in zip(saved["params"], own["params"]):
                params[int(index)] = p
        new_state = {}
        for index, values in state_dict["state"].items():
            p = params[int(index)]
            device = backend.device_of(p.array)
            entry = {}
            for k, v in values.items():
                array = v.array if isinstance(v, Tensor) else v
                if hasattr(array, "shape") and array.ndim > 0:
                    if tuple(array.shape) != tuple(p.shape):
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state {k!r} of "
                                         f"parameter {index} has shape {tuple(array.shape)}, "
                                         f"parameter has {tuple(p.shape)}")
                    array = device.xp.array(backend.to_numpy(array), dtype=p.dtype)
                elif hasattr(array, "shape"):
                    array = array.item()
                entry[k] = array
            new_state[id(p)] = entry
        for saved, own in zip(groups, self.param_groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state


class SGD(Optimizer):
    """p -= lr * v with v = momentum * v + (g + weight_decay * p) (no dampening, as PyTorch)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got {momentum}, "
                             f"{weight_decay}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def step(self):
        for group, p, g in self._params_with_grad():
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.array
            if group["momentum"]:
                state = self.state.get(id(p))
                if state is None:
                    # xp.array, not g.copy(): g + weight_decay * p is a scalar for a 0-d p,
                    # and the buffer must be an array that the in-place updates below change
                    xp = backend.device_of(p.array).xp
                    state = self.state[id(p)] = {"momentum_buffer": xp.array(g)}
                else:
                    buffer = state["momentum_buffer"]
                    buffer *= group["momentum"]
                    buffer += g
                g = state["momentum_buffer"]
            p.array -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction; weight_decay adds L2 to the gradient.

    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0) or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: invalid betas {betas}, eps {eps} or weight_decay {weight_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def step(self):
        for group, p, g in self._params_with_grad():
            beta1, beta2 = group["betas"]
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.array
            state = self.state.get(id(p))
            if state is None:
                xp = backend.device_of(p.array).xp
                state = self.state[id(p)] = {"step": 0, "exp_avg": xp.zeros_like(p.array),
                                             "exp_avg_sq": xp.zeros_like(p.array)}
            state["step"] += 1
            step = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            denominator = (v ** 0.5) / math.sqrt(bias_correction2) + group["eps"]
            p.array -= (group["lr"] / bias_correction1) * m / denominator

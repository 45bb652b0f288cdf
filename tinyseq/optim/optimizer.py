"""The Optimizer base class: parameter groups, per-parameter state and their state dict, in
PyTorch's layout; one validation shared by the constructor and ``load_state_dict``."""
from .. import backend, checks
from ..autograd import version_counter
from ..modes import enable_grad, no_grad
from ..tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (dicts with "params" and hyperparameters) and ``state`` (parameter
    -> dict of buffers). Subclasses declare ``hyperparameters`` (name -> check), ``state_spec``
    (which buffers a parameter's state holds) and ``update`` (one parameter's step)."""

    hyperparameters = {"lr": lambda op, name, v: checks.real(op, name, v, minimum=0.0,
                                                             below=float("inf"))}
    # state entries that are numbers, not arrays (PyTorch keeps them as 0-d tensors)
    scalar_state = ()

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor) or isinstance(params, dict):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a "
                            f"{type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    # --- groups and their checks ------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group (a dict with "params"); missing hyperparameters take the defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a parameter group must be a dict with 'params', got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameters must be Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (shape "
                                 f"{tuple(p.shape)}); optimize the leaves it is computed from")
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter (shape {tuple(p.shape)}) appears more "
                                 f"than once in the parameter groups")
            seen.add(id(p))
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(self._checked_group(group, name))

    def _checked_group(self, group, where):
        """``group`` with every hyperparameter checked; the same checks run on loaded groups."""
        checked = dict(group)
        for key, check in self.hyperparameters.items():
            if key not in group:
                raise ValueError(f"{where}: missing hyperparameter {key!r}")
            checked[key] = check(where, key, group[key])
        if "initial_lr" in group:  # set by the learning-rate schedulers
            checked["initial_lr"] = checks.real(where, "initial_lr", group["initial_lr"],
                                                minimum=0.0)
        return checked

    def state_spec(self, group):
        """{buffer name: required?} for a parameter of ``group``; "step" is a count, those in
        ``scalar_state`` are real numbers, the others are arrays of the parameter's shape."""
        return {}

    # --- stepping ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (re-evaluating the
        model and returning the loss) runs first, with gradients enabled; its loss is
        returned. Every gradient is checked before any parameter changes."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        work = self._checked_gradients()
        for group, p, grad in work:
            self.update(group, p, grad, self.state.setdefault(p, {}))
        return loss

    def _checked_gradients(self):
        name = type(self).__name__
        work = []
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    if not isinstance(grad, Tensor):
                        raise TypeError(f"{name}.step: parameter {index}'s grad is a "
                                        f"{type(grad).__name__}, not a Tensor")
                    if tuple(grad.shape) != tuple(p.shape) or grad.dtype != p.dtype \
                            or grad.device != p.device:
                        raise ValueError(f"{name}.step: parameter {index} is {tuple(p.shape)} "
                                         f"{p.dtype} on {p.device}, its grad "
                                         f"{tuple(grad.shape)} {grad.dtype} on {grad.device}; "
                                         f"no parameter was updated")
                    work.append((group, p, grad.array))
                index += 1
        return work

    def update(self, group, p, grad, state):
        raise NotImplementedError

    # --- state dicts ------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {name: Tensor or number}}, "param_groups": [{..., "params": [index]}]},
        indices counting the parameters over all groups in order, as PyTorch's."""
        groups, state, index = [], {}, 0
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = []
            for p in group["params"]:
                entry["params"].append(index)
                if self.state.get(p):
                    state[index] = {k: Tensor.from_array(v.copy(), False) if backend.is_array(v)
                                    else v for k, v in self.state[p].items()}
                index += 1
            groups.append(entry)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Replace the hyperparameters and state with ``state_dict``'s, after checking all of
        it as the constructor checks its arguments; on any error nothing changes."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}: expected the optimizer's state dict (a dict with 'state' "
                            f"and 'param_groups'), got {_describe(state_dict)}")
        if not isinstance(state_dict.get("state"), dict) \
                or not isinstance(state_dict.get("param_groups"), (list, tuple)):
            raise ValueError(f"{name}: expected a dict with 'state' (a dict) and 'param_groups' "
                             f"(a list), got {_describe(state_dict)}")
        saved_groups = state_dict["param_groups"]
        sizes = [len(g["params"]) if isinstance(g, dict) and isinstance(g.get("params"), (list, tuple))
                 else None for g in saved_groups]
        own_sizes = [len(g["params"]) for g in self.param_groups]
        if sizes != own_sizes:
            raise ValueError(f"{name}: the saved parameter groups hold {sizes} parameters, this "
                             f"optimizer's {own_sizes}")
        param_of, groups, group_of = {}, [], {}
        for i, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            where = f"{name}: param group {i}"
            group = self._checked_group({k: v for k, v in saved.items() if k != "params"}, where)
            group["params"] = own["params"]
            groups.append(group)
            for index, p in zip(saved["params"], own["params"]):
                if isinstance(index, bool) or not isinstance(index, int) or index in param_of:
                    raise ValueError(f"{where}: parameter indices must be distinct ints, got "
                                     f"{_describe(index)}")
                param_of[index] = p
                group_of[index] = group
        state = {}
        for index, values in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(f"{name}: state for parameter {_describe(index)}, which no "
                                 f"param group lists")
            state[param_of[index]] = self._checked_state(
                f"{name}: state of parameter {index}", values, param_of[index], group_of[index])
        self.param_groups = groups
        self.state = state

    def _checked_state(self, where, values, p, group):
        if not isinstance(values, dict):
            raise ValueError(f"{where}: expected a dict, got {_describe(values)}")
        spec = self.state_spec(group)
        missing = [k for k, required in spec.items() if required and k not in values]
        unknown = [k for k in values if k not in spec]
        if missing or unknown:
            raise ValueError(f"{where}: missing {missing}, unexpected {unknown} (expected "
                             f"{sorted(spec)})")
        device = backend.device_of(p.array)
        checked = {}
        for key, value in values.items():
            array = value.array if isinstance(value, Tensor) else value
            if key == "step":
                if backend.is_array(array):
                    array = array.item() if array.size == 1 else array
                if isinstance(array, float) and array.is_integer():
                    array = int(array)  # PyTorch keeps the step as a float tensor
                checked[key] = checks.integer(where, "step", array)
                continue
            if key in self.scalar_state:
                if backend.is_array(array) and array.size == 1:
                    array = array.item()
                checked[key] = checks.finite(where, key, array)
                continue
            if not backend.is_array(array) or array.dtype.kind not in "biuf":
                raise ValueError(f"{where}: {key!r} must be a real array, got {_describe(value)}")
            if tuple(array.shape) != tuple(p.shape):
                raise ValueError(f"{where}: {key!r} has shape {tuple(array.shape)}, the parameter "
                                 f"{tuple(p.shape)}")
            checked[key] = device.xp.asarray(backend.to_numpy(array)).astype(p.dtype)
        return checked


def check_betas(op, name, value):
    """``value`` as a pair (beta1, beta2) of floats in [0, 1), the moving averages' decays."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{op}: {name} must be a pair (beta1, beta2), got {value!r}")
    return tuple(checks.real(op, f"beta{i + 1}", b, minimum=0.0, below=1.0)
                 for i, b in enumerate(value))


def _describe(value):
    if isinstance(value, Tensor) or backend.is_array(value):
        array = value.array if isinstance(value, Tensor) else value
        return f"a {type(value).__name__} {tuple(array.shape)} {array.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def add_to_parameter(p, update):
    """p += update, written into the parameter's array (views and ``.data`` see it) as
    ``p.add_`` under no_grad writes it: the version counter counts the change, so a backward
    through a graph that saved the old value raises instead of using the new one."""
    backend.device_of(p.array).xp.add(p.array, update, out=p.array)
    version_counter(p).value += 1


def scale_parameter(p, factor):
    """p *= factor, in place (counted like ``add_to_parameter``)."""
    with no_grad():
        p.mul_(factor)


def regularized_grad(group, p, grad, decoupled=False):
    """The gradient an update steps along: -grad under ``maximize``, plus weight_decay * p
    (L2); with decoupled weight decay (``decoupled``, or the group's
    ``decoupled_weight_decay``) p itself shrinks by 1 - lr * weight_decay instead, AdamW's
    way."""
    if group.get("maximize"):
        grad = -grad
    weight_decay = group.get("weight_decay", 0)
    if weight_decay:
        if decoupled or group.get("decoupled_weight_decay"):
            scale_parameter(p, 1 - group["lr"] * weight_decay)
        else:
            grad = grad + weight_decay * p.array
    return grad

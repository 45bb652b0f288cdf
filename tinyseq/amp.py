"""Mixed precision's names, as ``torch.amp``: gradient scaling, and autocast regions.

``GradScaler`` is PyTorch's dynamic loss scaling, which works in any float dtype: the loss is
multiplied by the scale, the gradients divided by it before the step, a step whose gradients
hold an inf or NaN is skipped and the scale backs off, and after ``growth_interval`` clean
steps it grows. Scaling by a power of two changes no gradient's value unless it overflows.

``autocast`` marks a region where PyTorch would run some ops in a lower precision. tinyseq
computes every op in its tensors' own dtypes, so an enabled region runs as written, in full
precision, and says so with a warning; a disabled one is nothing at all.
"""
import math
import warnings

import numpy

from . import backend, checks, cuda
from .modes import ContextDecorator, no_grad
from .tensor import Tensor

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler``:

        scaler.scale(loss).backward()
        scaler.step(optimizer)          # unscales the gradients, skips the step on inf/NaN
        scaler.update()                 # backs off after a skipped step, grows after
                                        # growth_interval clean ones

    For ``device="cuda"`` without a GPU it is disabled with PyTorch's warning, and every call
    is then the plain one (``scale`` gives its input back, ``step`` steps)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = str(device)
        self._enabled = checks.flag("GradScaler", "enabled", enabled)
        if self._enabled and self._device == "cuda" and not cuda.is_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if not self._enabled:
            return
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: the growth factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: the backoff factor must be in (0, 1), got "
                             f"{backoff_factor}")
        self._scale = _float32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = checks.integer("GradScaler", "growth_interval", growth_interval,
                                               minimum=1)
        self._growth_tracker = 0
        self._scaled = False
        self._stages = {}               # id(optimizer) -> its stage in this iteration
        self._found_inf = {}            # id(optimizer) -> whether its gradients held inf/NaN

    def is_enabled(self):
        return self._enabled

    def scale(self, outputs):
        """``outputs`` (a tensor, or tuples, lists and dicts of them) times the scale."""
        if not self._enabled:
            return outputs
        self._scaled = True
        if isinstance(outputs, Tensor):
            return outputs * self._scale_of(outputs)
        if isinstance(outputs, dict):
            return {key: self.scale(value) for key, value in outputs.items()}
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(value) for value in outputs)
        raise ValueError(f"GradScaler.scale: outputs must be a Tensor or an iterable of "
                         f"Tensors, got {type(outputs).__name__}")

    def _scale_of(self, output):
        """The scale as a float32 number (PyTorch keeps it as a float32 tensor)."""
        return backend.device_of(output.array).xp.float32(self._scale)

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and note
        whether any of them holds an inf or NaN."""
        if not self._enabled:
            return
        self._check_scaled("unscale_")
        stage = self._stages.get(id(optimizer), _READY)
        if stage == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if stage == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inverse = 1.0 / self._scale            # in float64, then rounded, as PyTorch's
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.array
                    xp = backend.device_of(grad).xp
                    with numpy.errstate(invalid="ignore"):     # quiet for inf and NaN, as PyTorch
                        grad *= xp.asarray(inverse, dtype=xp.float32).astype(grad.dtype)
                    found_inf = found_inf or not bool(xp.isfinite(grad).all())
        self._found_inf[id(optimizer)] = found_inf
        self._stages[id(optimizer)] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` on the unscaled gradients, unless they hold an inf or NaN;
        returns what it returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scaled("step")
        if self._stages.get(id(optimizer), _READY) == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if self._stages.get(id(optimizer), _READY) == _READY:
            self.unscale_(optimizer)
        result = None if self._found_inf[id(optimizer)] else optimizer.step(*args, **kwargs)
        self._stages[id(optimizer)] = _STEPPED
        return result

    def update(self, new_scale=None):
        """Back the scale off if a step was skipped, grow it after ``growth_interval`` clean
        steps in a row; or set it to ``new_scale``. Ends the iteration."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise ValueError("GradScaler.update: new_scale should be a float or a "
                                     "1-element tensor with requires_grad=False")
                new_scale = new_scale.item()
            self._scale = _float32(new_scale)
        else:
            if not self._found_inf:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(self._found_inf.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = _float32(self._scale * self._growth_factor)
                    if math.isfinite(grown):          # a scale that overflows is not taken
                        self._scale = grown
                    self._growth_tracker = 0
            self._scale = _float32(self._scale)
        self._stages.clear()
        self._found_inf.clear()

    def _check_scaled(self, op):
        if not self._scaled:
            raise RuntimeError(f"Attempted {op} but _scale is None.  This may indicate your "
                               f"script did not use scaler.scale(loss or outputs) earlier in "
                               f"the iteration.")

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = checks.integer("GradScaler", "growth_interval", new_interval,
                                               minimum=1)

    def state_dict(self):
        """PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval and
        _growth_tracker; empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state_dict)
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: missing {sorted(missing)}")
        self._scale = _float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


def _float32(value):
    """``value`` rounded to float32, as PyTorch keeps the scale (inf past its range)."""
    with numpy.errstate(over="ignore"):
        return float(numpy.float32(value))


class autocast(ContextDecorator):
    """PyTorch's autocast region (``with ts.autocast("cuda", dtype=ts.float16):``), also a
    decorator. tinyseq runs every op in its tensors' own dtypes: an enabled region computes
    in full precision and warns that it does; ``enabled=False`` is nothing at all."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: expected `device_type` of type `str`, got: "
                             f"`{type(device_type)}`")
        self.device_type = device_type
        self.fast_dtype = dtype
        self.enabled = checks.flag("autocast", "enabled", enabled)

    def __enter__(self):
        if self.enabled:
            warnings.warn("autocast: tinyseq computes every op in its tensors' own dtypes; "
                          "this region runs in full precision", UserWarning, stacklevel=2)
        return self

    def __exit__(self, *exc):
        return False

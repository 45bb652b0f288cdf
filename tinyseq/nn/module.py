"""Module and Parameter: containers of learnable tensors, as in PyTorch."""
import builtins
import operator
import os
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Iterable, Mapping

import numpy

from .. import backend
from ..modes import state
from ..creation import as_tensor
from ..dtypes import get_default_dtype
from ..hooks import RemovableHandle
from . import backward_hooks as backward_hooks_of
from ..tensor import Tensor, numpy_dtype_of, to_arguments


def _name_in(caller, module):
    """The dotted name of ``module`` inside ``caller``, or its class name when it is none of
    the caller's submodules."""
    for name, child in caller.named_modules():
        if child is module:
            return name
    return type(module).__name__


# id(module) -> (weak reference to it, weak reference to the module it was assigned to, its
# attribute name there): names a submodule called on its own (``model.rnn(x)``) for a trace
_owners = {}


def _note_owner(owner, name, module):
    key = id(module)

    def forget(reference):
        if _owners.get(key, (None,))[0] is reference:
            del _owners[key]

    _owners[key] = (weakref.ref(module, forget), weakref.ref(owner), name)


def _name_in_owners(module):
    """``encoder.rnn``: the dotted name of ``module`` in the module it was last assigned to,
    and so on upwards; "" when no live module holds it under that name."""
    names, seen = [], set()
    while id(module) not in seen:
        seen.add(id(module))
        entry = _owners.get(id(module))
        if entry is None or entry[0]() is not module:
            break
        owner = entry[1]()
        if owner is None or owner._modules.get(entry[2]) is not module:
            break
        names.append(entry[2])
        module = owner
    return ".".join(reversed(names))


class Parameter(Tensor):
    """A tensor that a Module learns: always a leaf, requires grad by default."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data if isinstance(data, Tensor) else as_tensor(data),
                         requires_grad=builtins.bool(requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def factory_kwargs(module_name, device=None, dtype=None):
    """PyTorch's ``device=`` and ``dtype=`` module arguments, checked before anything is made:
    (the Device, the NumPy dtype) of ``module_name``'s parameters and buffers; the CPU and the
    default dtype when not given."""
    device = backend.get_device("cpu" if device is None else device)
    if dtype is None:
        return device, get_default_dtype()
    try:
        dtype = numpy.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{module_name}: dtype must be a dtype such as tinyseq.float64, got "
                        f"{dtype!r}") from None
    if dtype.kind != "f":
        # PyTorch refuses too: its parameters would be integers, which cannot require gradients
        raise RuntimeError(f"{module_name}: dtype must be a floating point dtype (parameters "
                           f"require gradients), got dtype {dtype}")
    return device, dtype


def new_parameter(values, device, dtype):
    """A Parameter of ``values``, an array drawn as without ``device=`` and ``dtype=`` (in the
    default dtype, from the CPU generator), cast to ``dtype`` and moved to ``device``: a seed
    gives the same initial values, rounded to ``dtype``, whatever the module was asked for."""
    return Parameter(Tensor.from_array(backend.move(values.astype(dtype, copy=False), device)))


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = """What ``load_state_dict`` returns, as PyTorch's: the keys the
model has and the state dict lacks, and the keys the state dict has and the model lacks."""


class Module:
    """Base class of layers and models. Assign Parameters and Modules as attributes; they are
    found by ``parameters()`` / ``named_parameters()`` in the order they were assigned."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning attributes")
        # a re-assigned name keeps its place (as PyTorch); a plain attribute of that name goes
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self.__dict__.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self.__dict__.pop(name, None)
            self._modules[name] = value
            _note_owner(self, name, value)
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign a "
                                f"{type(value).__name__} to buffer {name!r} (a Tensor or None)")
            self._buffers[name] = value
        else:
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        if "_buffers" in d and name in d["_buffers"]:
            return d["_buffers"][name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        elif name in self._buffers:
            del self._buffers[name]
        else:
            object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if "_hooks" in self.__dict__:
            return self._hooked_call(args, kwargs)
        observers = state.observers
        if not observers:
            return self.forward(*args, **kwargs)
        return self._observed_forward(observers, args, kwargs)

    def _hooked_call(self, args, kwargs):
        """A call with forward hooks, as PyTorch's: each pre-hook may replace the arguments,
        each hook the output; a hook registered with ``always_call`` also runs (output None)
        when forward raises."""
        lists = self.__dict__["_hooks"]
        for hook, with_kwargs, _ in list(lists.get("forward_pre", ())):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result!r}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward_pre_hooks = [entry[0] for entry in lists.get("backward_pre", ())]
        backward_hooks = [entry[0] for entry in lists.get("backward", ())]
        call = None
        if backward_pre_hooks or backward_hooks:
            args, call = backward_hooks_of.wrap_inputs(self, args, backward_pre_hooks,
                                                       backward_hooks)
        hooks = list(lists.get("forward", ()))
        observers = state.observers
        try:
            output = (self.forward(*args, **kwargs) if not observers
                      else self._observed_forward(observers, args, kwargs))
        except Exception:
            for hook, with_kwargs, always_call in hooks:
                if always_call and with_kwargs:
                    hook(self, args, kwargs, None)
                elif always_call:
                    hook(self, args, None)
            raise
        for hook, with_kwargs, _ in hooks:
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return backward_hooks_of.wrap_outputs(call, output)

    def _observed_forward(self, observers, args, kwargs):
        # a trace or anomaly mode watches: ops made inside are tagged with the module path,
        # each module named as its caller knows it (``encoder.rnn``); a submodule called on
        # its own, as the module holding it knows it (``model.rnn(x)``: ``rnn``)
        path = state.module_path
        name = _name_in(path[-1][1], self) if path else _name_in_owners(self)
        state.module_path = path + ((name, self),)
        for observer in observers:
            observer.module_entered(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            state.module_path = path
            for observer in observers:
                observer.module_exited(self)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs,
        output)``) after every forward, as PyTorch's: a result that is not None replaces the
        output; ``prepend`` runs it before the hooks already there, ``always_call`` also when
        forward raises. Returns a handle whose ``remove()`` takes it off."""
        return self._add_hook("register_forward_hook", "forward", hook, prepend,
                              with_kwargs, always_call)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` (``with_kwargs``: ``hook(module, args, kwargs)``) before
        every forward, as PyTorch's: a result that is not None replaces the arguments (a
        single value as the only one; with kwargs, an ``(args, kwargs)`` pair). Returns a
        handle whose ``remove()`` takes it off."""
        return self._add_hook("register_forward_pre_hook", "forward_pre", hook, prepend,
                              with_kwargs, False)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are
        known, as PyTorch's; a result that is not None replaces them. Returns a handle."""
        return self._add_hook("register_full_backward_pre_hook", "backward_pre", hook,
                              prepend, False, False)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        tensor inputs are known (None for an input that needs none; at once with all None
        when no input needs one), as PyTorch's; a result that is not None replaces
        grad_input. Returns a handle (tinyseq.nn.backward_hooks says how)."""
        return self._add_hook("register_full_backward_hook", "backward", hook, prepend,
                              False, False)

    def _add_hook(self, op, kind, hook, prepend, with_kwargs, always_call):
        """Register ``hook`` in the list of ``kind`` (forward_pre, forward, backward_pre,
        backward); the lists live in one attribute that exists only while a hook does, so
        that a call without hooks checks one name."""
        if not callable(hook):
            raise TypeError(f"{op}: the hook must be callable, got {type(hook).__name__}")
        if "_hooks" not in self.__dict__:
            object.__setattr__(self, "_hooks", {})
        hooks = self.__dict__["_hooks"].setdefault(kind, [])
        entry = (hook, bool(with_kwargs), bool(always_call))
        if prepend:
            hooks.insert(0, entry)
        else:
            hooks.append(entry)
        return RemovableHandle(hooks, entry, lambda: _drop_if_empty(self, kind))

    def add_module(self, name, module):
        """Register ``module`` as the child ``name``, as ``setattr`` does (PyTorch's)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"add_module: the name must be a non-empty string without '.', got "
                           f"{name!r}")
        if not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got "
                            f"{type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name, param):
        """Register ``param`` as the parameter ``name``, as ``setattr`` does; None leaves the
        name an attribute that is None and no parameter (PyTorch's optional bias)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_parameter: the name must be a non-empty string without "
                           f"'.', got {name!r}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        setattr(self, name, param)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` of every parameter (freezing a pretrained part with False), as
        PyTorch's; returns the module."""
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    # --- walking the tree -------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every module below it, depth first; a
        module reached twice once, unless ``remove_duplicate`` is False (``memo``, a set, holds
        the modules already given, as PyTorch's)."""
        stack = [(prefix, self)]
        seen = set() if memo is None else memo
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in seen:
                    continue
                seen.add(module)
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items()]
            stack.extend(reversed(children))

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) for every parameter (``recurse=False``: this module's
        own), each shared one once unless ``remove_duplicate`` is False."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def _named_members(self, attribute, prefix, recurse, remove_duplicate):
        """(dotted name, tensor) of the modules' parameters or buffers (``attribute``), None
        left out."""
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        seen = set()
        for module_name, module in modules:
            for name, member in getattr(module, attribute).items():
                if member is None or (remove_duplicate and id(member) in seen):
                    continue
                seen.add(id(member))
                yield (f"{module_name}.{name}" if module_name else name), member

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor the module keeps but does not learn (BatchNorm's running mean): moved and
        converted with the module, in ``state_dict`` unless ``persistent=False``; None is
        allowed and left out of ``state_dict``."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: buffer name must be a non-empty str without "
                           f"'.', got {name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} to buffer "
                            f"{name!r} (a Tensor or None)")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) for every buffer that is not None (``recurse=False``: this
        module's own)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The module at the dotted path ``target`` ("" is this one), as PyTorch's."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`"
                                     if not hasattr(module, part) else
                                     f"`{part}` is not an nn.Module")
            module = child
        return module

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at the dotted path ``target``; with ``strict``, only where a module
        already is."""
        if not target:
            raise ValueError("set_submodule: cannot set the module itself (target is empty)")
        if not isinstance(module, Module):
            raise ValueError(f"set_submodule: `module` is not an nn.Module, found "
                             f"{type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not isinstance(parent._modules.get(name), Module):
            raise AttributeError(f"{type(parent).__name__} has no submodule `{name}`")
        setattr(parent, name, module)

    def get_parameter(self, target):
        """The parameter at the dotted path ``target``, as PyTorch's."""
        return self._member_at(target, "_parameters", "nn.Parameter")

    def get_buffer(self, target):
        """The buffer at the dotted path ``target``, as PyTorch's."""
        return self._member_at(target, "_buffers", "buffer")

    def _member_at(self, target, attribute, kind):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in getattr(module, attribute):
            raise AttributeError(f"`{name}` is not a {kind}" if hasattr(module, name) else
                                 f"{type(module).__name__} has no attribute `{name}`")
        return getattr(module, attribute)[name]

    def _named_state(self):
        """(dotted name, tensor) of what ``state_dict`` holds, in PyTorch's order: module by
        module, its parameters, then its persistent buffers; a shared parameter once."""
        seen = set()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield prefix + name, p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    yield prefix + name, b

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        """(name, module) for each direct submodule, a shared one once (as PyTorch)."""
        seen = set()
        for name, m in self._modules.items():
            if id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def apply(self, function):
        """Call ``function(module)`` on every module below this one and on this one."""
        for m in list(self.modules())[::-1]:
            function(m)
        return self

    # --- state ------------------------------------------------------------------------------
    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """Move every parameter (with its grad) and buffer to ``device`` and/or convert the
        floating ones to ``dtype``, in place, as PyTorch's ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)`` and ``to(tensor)``; returns self."""
        device, dtype = to_arguments(args, device, dtype)
        if dtype is not None:
            dtype = numpy_dtype_of("Module.to", dtype)
            if dtype.kind not in "fc":
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
        target = None if device is None else backend.get_device(device)
        parameters = list(self.parameters())
        grads = [p.grad for p in parameters if p.grad is not None]
        for t in parameters + grads + list(self.buffers()):
            if target is not None:
                t.array = backend.move(t.array, target)
            if dtype is not None and t.array.dtype.kind == "f":
                t.array = t.array.astype(dtype)
        return self

    def cuda(self):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def double(self):
        """Convert every floating parameter and buffer to float64, in place; returns self."""
        return self.to(numpy.float64)

    def float(self):
        return self.to(numpy.float32)

    def half(self):
        return self.to(numpy.float16)

    def type(self, dst_type):
        """Convert every floating parameter and buffer to ``dst_type``, as PyTorch's."""
        return self.to(dst_type)

    def share_memory(self):
        """Nothing to do: tinyseq runs in one process (PyTorch moves the tensors to shared
        memory for its worker processes); returns self."""
        return self

    def compile(self, *args, **kwargs):
        """Nothing to do, as ``ts.compile``: tinyseq has no compiler."""

    def state_dict(self):
        """Dotted name -> detached tensor sharing the array, for every parameter and
        persistent buffer (PyTorch's keys and order)."""
        return OrderedDict((name, t.detach()) for name, t in self._named_state())

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or arrays) into the parameters. With ``strict``, missing or
        unknown keys and shape mismatches are an error that lists all of them; nothing is
        changed unless everything fits."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict for {type(self).__name__}: expected a state dict "
                            f"(a mapping of names to tensors), got {type(state_dict).__name__} "
                            f"{_short(state_dict)}" + (" (read a file with ts.load(path) first)"
                                                       if isinstance(state_dict, (str, os.PathLike))
                                                       else ""))
        own = dict(self._named_state())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched, not_real = [], []
        for name, value in state_dict.items():
            if name in own:
                # real numbers only: a str, complex or datetime value would be cast or fail
                dtype = getattr(value.array if isinstance(value, Tensor) else value, "dtype", None)
                if getattr(dtype, "kind", None) not in tuple("biuf") or not hasattr(value, "shape"):
                    not_real.append(f"{name}: {type(value).__name__} {'' if dtype is None else dtype}")
                    continue
                shape = tuple(value.shape)
                if shape != tuple(own[name].shape):
                    mismatched.append(f"{name}: checkpoint {shape} vs model {tuple(own[name].shape)}")
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if mismatched:
            problems.append(f"shape mismatches [{'; '.join(mismatched)}]")
        if not_real:
            problems.append(f"values that are not real-number arrays [{'; '.join(not_real)}]")
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + ", ".join(problems))
        for name, value in state_dict.items():
            if name in own:
                p = own[name]
                dtype = p.dtype  # the parameter keeps its dtype, as PyTorch's copy_
                array = value.array if isinstance(value, Tensor) else value
                device = backend.device_of(p.array)
                p.array = backend.move(array, device) if backend.is_array(array) \
                    else device.xp.asarray(array)
                p.array = p.array.astype(dtype, copy=p.array is array)
        return IncompatibleKeys(missing, unexpected)

    # --- printing ---------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        if "\n" in extra:      # as PyTorch: a multi-line one (ParameterList's) on lines of its own
            lines = [f"{type(self).__name__}("] + ["  " + line for line in extra.split("\n")]
        else:
            lines = [f"{type(self).__name__}({extra}"]
        for name, child in self._modules.items():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        if len(lines) == 1:
            return lines[0] + ")"
        return "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules whose parameters the parent finds (named "0", "1", ...), as
    PyTorch's ``nn.ModuleList``: indexing and slicing, ``append``, ``extend``, ``insert``,
    ``pop``, item assignment and deletion (the names follow the positions)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _checked(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: {type(module).__name__} is not a Module")
        return module

    def _index(self, index):
        """``index`` as a position in 0..len-1 (negative counts from the end)."""
        size = len(self._modules)
        index = operator.index(index)
        if not -size <= index < size:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for "
                             f"{size} modules")
        return index % size

    def _renumber(self, modules):
        """Hold ``modules`` under the names "0", "1", ... in their order."""
        self._modules.clear()
        for module in modules:
            self.append(module)

    def append(self, module):
        name = str(len(self._modules))
        self._modules[name] = self._checked(module)
        _note_owner(self, name, module)
        return self

    def extend(self, modules):
        """Append each of ``modules`` (all are checked first)."""
        modules = [self._checked(m) for m in modules]
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index``, as ``list.insert``."""
        modules = list(self._modules.values())
        modules.insert(operator.index(index), self._checked(module))
        self._renumber(modules)

    def pop(self, index=-1):
        module = self[index]
        del self[index]
        return module

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[self._index(index)]

    def __setitem__(self, index, module):
        name = str(self._index(index))
        self._modules[name] = self._checked(module)
        _note_owner(self, name, module)

    def __delitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._index(index)]
        self._renumber(modules)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(m1, m2, ...)``, or
    ``Sequential(OrderedDict(name=module, ...))`` whose modules keep their names, as
    PyTorch's (a slice keeps them too; deleting or inserting numbers them all, as PyTorch)."""

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            Module.__init__(self)
            for name, module in modules[0].items():
                if not isinstance(name, str):
                    raise TypeError(f"Sequential: module names must be strings, got "
                                    f"{type(name).__name__}")
                setattr(self, name, self._checked(module))
        else:
            super().__init__(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):       # the names go with the modules, as PyTorch's
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[self._index(index)]

    def __setitem__(self, index, module):
        name = list(self._modules)[self._index(index)]
        setattr(self, name, self._checked(module))

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleDict(Module):
    """Modules by name (str keys, in insertion order), whose parameters the parent finds as
    "name.key.weight", ..., as PyTorch's ``nn.ModuleDict``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.update([(key, module)])

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def update(self, modules):
        """Add (or replace) the modules of a mapping or of an iterable of (key, module) pairs,
        in their order; nothing changes unless all of them fit."""
        pairs = _pairs(self, modules, sort_plain_dicts=False)
        for key, module in pairs:
            _check_key(self, key, self._modules)
            if not isinstance(module, Module):
                raise TypeError(f"ModuleDict: the value of {key!r} must be a Module, got "
                                f"{type(module).__name__}")
        for key, module in pairs:
            setattr(self, key, module)


class ParameterList(Module):
    """Parameters in a list, named "0", "1", ... under the parent, as PyTorch's
    ``nn.ParameterList``: a tensor put in becomes a Parameter (sharing its memory); any other
    value is kept as it is, outside ``parameters()``."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _name(self, index):
        """The attribute name of ``index`` (negative counts from the end)."""
        index = operator.index(index)
        if not -self._size <= index < self._size:
            raise IndexError(f"ParameterList: index {index} is out of range for length "
                             f"{self._size}")
        return str(index % self._size)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList([self[i] for i in range(*index.indices(self._size))])
        return getattr(self, self._name(index))

    def __setitem__(self, index, value):
        setattr(self, self._name(index), _as_parameter(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(self._size))

    def __iadd__(self, values):
        return self.extend(values)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")

    def append(self, value):
        value = _as_parameter(value)
        self._size += 1
        setattr(self, str(self._size - 1), value)
        return self

    def extend(self, values):
        # a Tensor is iterable, but is one value, never a list of them
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        return "\n".join(f"  ({i}): {_describe(value)}" for i, value in enumerate(self))


class ParameterDict(Module):
    """Parameters by name (str keys, in insertion order), found by the parent under
    "name.key", as PyTorch's ``nn.ParameterDict``: a tensor put in becomes a Parameter (sharing
    its memory); any other value is kept as it is, outside ``parameters()``."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}     # a dict for its order: values may also be plain attributes
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        self.update([(key, value)])

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((key, self[key]) for key in self._keys)

    def values(self):
        return (self[key] for key in self._keys)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def clear(self):
        for key in list(self._keys):
            del self[key]

    def update(self, parameters):
        """Add (or replace) the values of a mapping or of an iterable of (key, value) pairs;
        an OrderedDict's, a ParameterDict's or the pairs' order is kept, a plain dict's keys
        are sorted, as PyTorch's. Nothing changes unless all of them fit."""
        pairs = _pairs(self, parameters, sort_plain_dicts=True)
        for key, value in pairs:
            _check_key(self, key, self._keys)
        pairs = [(key, _as_parameter(value)) for key, value in pairs]
        for key, value in pairs:
            self._keys[key] = None
            setattr(self, key, value)

    def extra_repr(self):
        return "\n".join(f"  ({key}): {_describe(value)}" for key, value in self.items())


def _pairs(container, entries, sort_plain_dicts):
    """(key, value) pairs of a mapping or of an iterable of pairs, with PyTorch's errors."""
    name = type(container).__name__
    if isinstance(entries, (OrderedDict, type(container))):
        return list(entries.items())
    if isinstance(entries, Mapping):
        return sorted(entries.items()) if sort_plain_dicts else list(entries.items())
    if not isinstance(entries, Iterable):
        raise TypeError(f"{name}.update should be called with an iterable of key/value pairs, "
                        f"but got {type(entries).__name__}")
    pairs = []
    for j, pair in enumerate(entries):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{name} update sequence element #{j} should be Iterable; is "
                            f"{type(pair).__name__}")
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"{name} update sequence element #{j} has length {len(pair)}; 2 "
                             f"is required")
        pairs.append(pair)
    return pairs


def _check_key(container, key, entries):
    """PyTorch's rules for a name a container registers: a non-empty str without ".", and
    not an attribute that is not one of its ``entries``."""
    name = type(container).__name__
    if not isinstance(key, str):
        raise TypeError(f"{name}: keys must be strings, got {key!r} ({type(key).__name__})")
    if not key or "." in key:
        raise KeyError(f"{name}: a key must be a non-empty str without '.', got {key!r}")
    if key not in entries and hasattr(container, key):
        raise KeyError(f"{name}: key {key!r} is already an attribute of {name}")


def _as_parameter(value):
    """A tensor as a Parameter (sharing its memory), as PyTorch's containers store it."""
    return Parameter(value) if isinstance(value, Tensor) and not isinstance(value, Parameter) \
        else value


def _describe(value):
    """``Parameter containing: [tinyseq.float32 of size 3x4]``, as PyTorch prints one."""
    if not isinstance(value, Tensor):
        return f"Object of type: {type(value).__name__}"
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    size = "x".join(map(str, value.shape))
    device = "" if value.device.type == "cpu" else f" ({value.device})"
    return f"{kind} containing: [{value.dtype!r} of size {size}{device}]"


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _drop_if_empty(module, kind):
    """Forget ``module``'s hook list of ``kind`` once its last hook is removed, and the
    lists once none is left, so that its calls take the path without hooks again."""
    lists = module.__dict__.get("_hooks", {})
    if not lists.get(kind, True):
        del lists[kind]
    if "_hooks" in module.__dict__ and not lists:
        del module.__dict__["_hooks"]

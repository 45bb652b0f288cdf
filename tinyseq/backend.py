"""Array backends: which array module holds a tensor's data.

A *device* pairs a name ("cpu", "cuda") with an array module ``xp`` (NumPy, CuPy, or a stand-in
with the same interface) and the array type that module makes. Ops never import NumPy for their
math: they receive ``xp`` from the engine, which looks it up here from the type of their inputs.
CuPy is imported only when "cuda" is first asked for, so ``import tinyseq`` never needs it.
"""
import numpy


class Device:
    """A named place for arrays: ``xp`` makes them, ``array_type`` is what it makes."""

    __slots__ = ("name", "xp", "array_type")

    def __init__(self, name, xp, array_type):
        self.name = name
        self.xp = xp
        self.array_type = array_type

    def __repr__(self):
        return f"Device({self.name!r})"


_devices = {}
device_of_type = {}  # array type -> Device: the engine's lookup on every op


def register_device(name, xp, array_type):
    """Make arrays of ``array_type`` (made by module ``xp``) known as device ``name``."""
    device = Device(name, xp, array_type)
    _devices[name] = device
    device_of_type[array_type] = device
    return device


register_device("cpu", numpy, numpy.ndarray)


def _import_cupy():
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def cuda_available():
    """True when CuPy imports and sees at least one GPU."""
    cupy = _import_cupy()
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def get_device(name):
    """The Device called ``name`` ("cpu", "cuda", "cuda:0" or a registered stand-in)."""
    if isinstance(name, Device):
        return name
    if not isinstance(name, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(name).__name__}")
    key = "cuda" if name.startswith("cuda") else name
    device = _devices.get(key)
    if device is None and key == "cuda":
        if not cuda_available():
            raise RuntimeError("device 'cuda' needs CuPy and a GPU: pip install 'tinyseq[cuda]'")
        import cupy
        device = register_device("cuda", cupy, cupy.ndarray)
    if device is None:
        raise ValueError(f"unknown device {name!r}; known devices: {sorted(_devices) + ['cuda']}")
    return device


def device_of(array):
    """The Device whose array type ``array`` is."""
    device = device_of_type.get(type(array))
    if device is None:
        raise TypeError(f"unsupported array type {type(array).__name__}")
    return device


def is_array(value):
    """True when ``value`` is an array of a known device (NumPy, CuPy or a stand-in)."""
    return type(value) in device_of_type


def move(array, device):
    """``array`` on ``device`` (the same object when it is there already)."""
    source = device_of(array)
    if source is device:
        return array
    if source.name != "cpu":
        array = source.xp.asnumpy(array) if hasattr(source.xp, "asnumpy") else numpy.asarray(array)
    return device.xp.asarray(array)


def to_numpy(array):
    """A numpy.ndarray with the values of ``array`` (copied off the GPU when needed)."""
    if type(array) is numpy.ndarray:
        return array
    xp = device_of(array).xp
    if hasattr(xp, "asnumpy"):
        return xp.asnumpy(array)
    return numpy.array(array).view(numpy.ndarray)


def scatter_add(xp, target, index, values):
    """target[index] += values, adding repeated indices up (numpy.add.at semantics)."""
    if hasattr(xp.add, "at"):
        xp.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)

"""``save`` / ``load``: nested state dicts in a NumPy .npz file that never executes code.

The file is an ordinary .npz archive. Arrays are stored as ``array_0``, ``array_1``, ...; the
nesting (dicts, lists, numbers, strings, None, and which leaves are tensors) is a JSON document
stored in the archive as the bytes of ``__tinyseq__``. Loading uses ``allow_pickle=False``.
Saving writes a temporary file in the target's folder and renames it over the target, so a
crash leaves either the old file or the new one, never half of one.
"""
import json
import os
import tempfile
import zipfile

import numpy

from . import backend
from .tensor import Tensor

FORMAT = "tinyseq-checkpoint"
VERSION = 1
_HEADER = "__tinyseq__"


def save(obj, path):
    """Write ``obj`` (nested dicts/lists of Tensors, arrays, numbers, strings) to ``path``."""
    path = os.fspath(path)
    arrays = {}
    document = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays)}
    header = numpy.frombuffer(json.dumps(document).encode("utf-8"), dtype=numpy.uint8)
    write_atomically(path, lambda f: numpy.savez(f, **{_HEADER: header}, **arrays))


def write_atomically(path, write):
    """Call ``write(file)`` on a temporary file in ``path``'s folder, flush it to disk, then
    rename it to ``path``: readers see the old file or the whole new one, never a part."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    _fsync_folder(folder)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(obj, arrays):
    if isinstance(obj, Tensor) or backend.is_array(obj):
        array = backend.to_numpy(obj.array if isinstance(obj, Tensor) else obj)
        if array.dtype.hasobject:
            raise TypeError("save: object arrays cannot be saved")
        key = f"array_{len(arrays)}"
        arrays[key] = array
        return {"array": key, "tensor": isinstance(obj, Tensor), "shape": list(array.shape),
                "dtype": array.dtype.str}
    if isinstance(obj, dict):
        return {"dict": [[_encode_key(k), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, numpy.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"save: cannot save objects of type {type(obj).__name__} (save state dicts: "
                    f"dicts and lists of tensors, arrays, numbers and strings)")


def _encode_key(key):
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise TypeError(f"save: dict keys must be str or int, got {type(key).__name__}")


def load(path, device="cpu"):
    """Read what ``save`` wrote; tensors come back on ``device``."""
    path = os.fspath(path)
    try:
        archive = numpy.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"load: {path!r} is not a tinyseq checkpoint ({error})") from None
    if not hasattr(archive, "files"):  # a .npy file loads as a bare array
        raise ValueError(f"load: {path!r} is not a tinyseq checkpoint (a .npy array, not an "
                         f".npz archive)")
    with archive:
        if not hasattr(archive, "files") or _HEADER not in archive.files:
            raise ValueError(f"load: {path!r} is not a tinyseq checkpoint (no {_HEADER} entry)")
        try:
            document = json.loads(archive[_HEADER].tobytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"load: {path!r} has an unreadable header ({error})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"load: {path!r} is not a tinyseq checkpoint")
        if document.get("version") != VERSION:
            raise ValueError(f"load: {path!r} has format version {document.get('version')}, "
                             f"this tinyseq reads version {VERSION}")
        return _decode(document["root"], archive, backend.get_device(device), path)


def _decode(node, archive, device, path):
    if "array" in node:
        key = node["array"]
        try:
            array = archive[key]
        except (KeyError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"load: {path!r}: array {key!r} is missing or unreadable "
                             f"({error})") from None
        if list(array.shape) != node["shape"] or array.dtype.str != node["dtype"]:
            raise ValueError(f"load: {path!r}: array {key!r} has shape {array.shape} and dtype "
                             f"{array.dtype}, the header records {tuple(node['shape'])} "
                             f"{node['dtype']}")
        array = device.xp.asarray(array)
        return Tensor.from_array(array, False) if node["tensor"] else array
    if "dict" in node:
        return {k: _decode(v, archive, device, path) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, archive, device, path) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, archive, device, path) for v in node["tuple"])
    if "value" in node:
        return node["value"]
    raise ValueError(f"load: {path!r} has a malformed header entry {node!r}")

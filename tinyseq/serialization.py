"""``save`` / ``load``: nested state dicts in safetensors files, which never execute code.

A file is a safetensors file (https://huggingface.co/docs/safetensors): every tensor and array
of the saved object is a safetensors tensor named by its dotted path (``model.lstm.weight_ih_l0``,
``optimizer.state.0.exp_avg``), so ``safetensors.torch.load_file`` reads a tinyseq state dict
as PyTorch's and ``ts.load`` reads PyTorch's. The metadata holds, as JSON, the nesting
(``"tinyseq"``: dicts, lists, tuples, numbers, strings, None, and which leaves are tensors) and a
CRC-32 of each tensor's bytes, with its dtype and shape, and of the tree (``"tinyseq.crc32"``).
A file with the tree must carry the checksums, which are checked, so that a flipped bit
anywhere is an error; each tree leaf names the tensor stored under its own dotted path, so the
tree cannot hand one name another name's tensor. A safetensors file without the tree (written
by another tool) loads, unchecked, as a flat dict name -> Tensor.

Reading is bounded before it allocates: the header is at most ``MAX_HEADER_BYTES``, holds at
most ``MAX_JSON_VALUES`` JSON values (counted on the raw bytes before parsing) and
``MAX_TENSORS`` tensors, whose declared bytes must cover the data exactly. A malformed file is
a ValueError naming the file and the problem. ``.npz`` files of tinyseq's first format still
load, through a reader that compares each member's ``.npy`` header with the tree and its
declared size before it inflates anything, and inflates in pieces, never past the declared
size, and a deflated member never past ``_DEFLATE_READ_RATIO`` times its compressed size.

Saving writes a temporary file in the target's folder and renames it over the target, so a
crash leaves either the old file or the new one, never half of one.

A whole Module (``ts.save(model, f)``, or a Module inside the saved dicts and lists) is saved
as PyTorch saves it: pickled, its tensors still safetensors tensors that the pickle refers to
by name. Loading such a file runs code: ``load`` refuses it, with PyTorch's weights-only
message, unless the caller passes ``weights_only=False`` (PyTorch's rule since 2.6); only files
that ``save`` wrote are ever unpickled.
"""
import base64
import errno
import io
import json
import math
import os
import pickle
import stat
import struct
import tempfile
import zipfile
import zlib

import numpy
import safetensors.numpy

from . import backend
from .tensor import Tensor

FORMAT_KEY = "tinyseq"
CHECKSUM_KEY = "tinyseq.crc32"
VERSION = 2
MAX_TENSORS = 16_384            # tensors in one file (a file's header spends ~20 JSON values and
MAX_JSON_VALUES = 500_000       # ~400 bytes on each); values are Python objects of up to ~100
MAX_HEADER_BYTES = 16 << 20     # bytes each, so parsing a header stays within ~50 MiB
MAX_DEPTH = 100                 # nesting of dicts/lists/tuples in a saved object

# safetensors dtype name -> NumPy dtype (little-endian, as the format stores them)
_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "U32": "<u4",
           "I32": "<i4", "U64": "<u8", "I64": "<i8", "F16": "<f2", "F32": "<f4", "F64": "<f8"}
_SAFETENSORS_DTYPE = {numpy_dtype: name for name, numpy_dtype in _DTYPES.items()}
_SAVED_KINDS = "biuf"           # bool, signed and unsigned integers, floats
_LEGACY_HEADER = "__tinyseq__"
_LEGACY_FORMAT = "tinyseq-checkpoint"
_DEFLATE_READ_RATIO = 32        # tinyseq's first format stored members uncompressed (numpy.savez);
_DEFLATE_READ_SLACK = 1 << 20   # a deflated member may inflate to 32x its size plus 1 MiB
_MAX_CENTRAL_DIRECTORY = (MAX_TENSORS + 1) * 256  # bytes of member entries (46 + name + extra)
_ZIP_END_SEARCH = 22 + (1 << 16)  # the end record and the longest archive comment
_LARGEST_ARRAY = 2**63 - 1      # NumPy's bound on a shape's elements (zeros aside) times itemsize
# what the zipfile module raises on a damaged archive
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
               struct.error, NotImplementedError, RuntimeError, UnicodeDecodeError,
               OverflowError)


# --- saving ---------------------------------------------------------------------------------
def save(obj, f):
    """Write ``obj`` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None, or
    a whole Module, which is pickled) to ``f``: a path (written atomically) or a binary file
    object open for writing."""
    tensors = {}
    module = _first_module(obj)
    root = _encode(obj, tensors, [], 0, set(), [0]) if module is None else \
        _pickled(obj, module, tensors)
    if len(tensors) > MAX_TENSORS:      # load would refuse the file
        raise ValueError(f"save: the object holds {len(tensors)} tensors (one per reference: "
                         f"a tensor listed twice is written twice); tinyseq reads at most "
                         f"{MAX_TENSORS}")
    tree = json.dumps({"version": VERSION, "root": root})
    checksums = {"tree": zlib.crc32(tree.encode("utf-8")),
                 "tensors": {name: [zlib.crc32(array.reshape(-1).view(numpy.uint8)),
                                    _SAFETENSORS_DTYPE[array.dtype.str], list(array.shape)]
                             for name, array in tensors.items()}}
    metadata = {FORMAT_KEY: tree, CHECKSUM_KEY: json.dumps(checksums)}
    content = safetensors.numpy.save(tensors, metadata)
    _check_readable(content)
    if _is_file_object(f):
        if isinstance(f, io.TextIOBase):
            raise TypeError("save: the file object is open in text mode; open it with 'wb'")
        f.write(content)
        return
    write_atomically(_as_path("save", f), lambda file: file.write(content))


def _check_readable(content):
    """Refuse to write what ``load`` would refuse: a header past its size or value bounds."""
    header_size = struct.unpack("<Q", content[:8])[0]
    if header_size > MAX_HEADER_BYTES:
        raise ValueError(f"save: the file's header would take {header_size} bytes; tinyseq "
                         f"reads headers of at most {MAX_HEADER_BYTES}")
    try:
        _parse_json(content[8:8 + header_size], "the header")
    except _Malformed as problem:
        raise ValueError(f"save: tinyseq could not read the file back: {problem}") from None


def _encode(obj, tensors, path, depth, open_containers, count):
    """The JSON tree of ``obj``; its tensors go into ``tensors``. ``open_containers`` holds the
    ids of the dicts and lists being written around ``obj`` (one of them again is a cycle) and
    ``count`` the values written so far, bounded as ``load`` bounds them."""
    if depth > MAX_DEPTH:
        raise ValueError(f"save: the object is nested deeper than {MAX_DEPTH} levels at "
                         f"{_dotted(path)!r}")
    count[0] += 1
    if count[0] > MAX_JSON_VALUES:
        raise ValueError(f"save: the object holds more than {MAX_JSON_VALUES} values (a list "
                         f"or dict referred to twice is written twice); tinyseq reads at most "
                         f"that many")
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in open_containers:
            raise ValueError(f"save: the object contains itself at {_dotted(path)!r}")
        open_containers.add(id(obj))
        try:
            return _encode_container(obj, tensors, path, depth, open_containers, count)
        finally:
            open_containers.discard(id(obj))
    if isinstance(obj, Tensor) or backend.is_array(obj):
        array = backend.to_numpy(obj.array if isinstance(obj, Tensor) else obj)
        if array.dtype.kind not in _SAVED_KINDS or array.dtype.itemsize > 8:
            raise TypeError(f"save: {_dotted(path) or 'the object'!r} has dtype {array.dtype}; "
                            f"only bool, integer and float16/32/64 arrays can be saved")
        array = array.astype(array.dtype.newbyteorder("<"), order="C", copy=False)
        name = _unique_name(_dotted(path) or "tensor", tensors)
        tensors[name] = array
        return {"tensor" if isinstance(obj, Tensor) else "array": name}
    if isinstance(obj, numpy.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if callable(getattr(obj, "state_dict", None)):
        raise TypeError(f"save: cannot save a {type(obj).__name__} itself (that would need "
                        f"pickle); save its state_dict() instead")
    raise TypeError(f"save: cannot save objects of type {type(obj).__name__} at "
                    f"{_dotted(path) or 'the top level'!r} (save state dicts: dicts, lists and "
                    f"tuples of tensors, arrays, numbers and strings)")


def _encode_container(obj, tensors, path, depth, open_containers, count):
    if isinstance(obj, dict):
        return {"dict": [[_encode_key(k), _encode(v, tensors, path + [str(k)], depth + 1,
                                                  open_containers, count)]
                         for k, v in obj.items()]}
    items = [_encode(v, tensors, path + [str(i)], depth + 1, open_containers, count)
             for i, v in enumerate(obj)]
    return {"list" if isinstance(obj, list) else "tuple": items}


def _first_module(obj):
    """The first Module in ``obj`` or in the dicts, lists and tuples it holds, else None; each
    container is looked into once, so a cycle or a shared list costs no more than its size."""
    from .nn import Module
    work, seen = [obj], set()
    while work:
        item = work.pop()
        if isinstance(item, Module):
            return item
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            work.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            work.extend(reversed(item))
    return None


class _TensorPickler(pickle.Pickler):
    """Pickles everything but tensors, which go into ``tensors`` and are referred to by name."""

    def __init__(self, file, tensors):
        super().__init__(file, protocol=4)
        self.tensors = tensors
        self.names = {}

    def persistent_id(self, obj):
        if not isinstance(obj, Tensor):
            return None
        if id(obj) not in self.names:
            array = backend.to_numpy(obj.array)
            array = array.astype(array.dtype.newbyteorder("<"), order="C", copy=False)
            self.names[id(obj)] = name = f"pickled.{len(self.names)}"
            self.tensors[name] = array
        from .nn import Parameter
        return (self.names[id(obj)], isinstance(obj, Parameter), bool(obj.requires_grad))


def _pickled(obj, module, tensors):
    buffer = io.BytesIO()
    _TensorPickler(buffer, tensors).dump(obj)
    kind = type(module)
    return {"pickle": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "global": f"{kind.__module__}.{kind.__qualname__}"}


def weights_only_message(global_name):
    """PyTorch's message for a file that only loads by running code, with tinyseq's names."""
    return ("Weights only load failed. This file can still be loaded, to do so you have two "
            "options, do those steps only if you trust the source of the checkpoint. \n\t(1) "
            "Re-running `ts.load` with `weights_only` set to `False` will likely succeed, but "
            "it can result in arbitrary code execution. Do it only if you got the file from a "
            "trusted source.\n\t(2) Alternatively, save the model's `state_dict()` instead: it "
            "loads with `weights_only=True`.\n\tWeightsUnpickler error: Unsupported global: "
            f"GLOBAL {global_name} was not an allowed global by default.")


def _unpickle(root, arrays, device, weights_only):
    if set(root) != {"pickle", "global"} or not all(isinstance(v, str) for v in root.values()):
        raise _Malformed(f"malformed pickled entry {_short(root)}")
    if weights_only:
        raise pickle.UnpicklingError(weights_only_message(root["global"]))
    from .nn import Parameter

    loaded = {}                     # name -> tensor: a tied weight comes back tied

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            name, is_parameter, requires_grad = pid
            if name not in loaded:
                tensor = Tensor.from_array(device.xp.asarray(arrays[name]), False)
                loaded[name] = Parameter(tensor, requires_grad) if is_parameter else \
                    tensor.requires_grad_(requires_grad)
            return loaded[name]
    return Unpickler(io.BytesIO(base64.b64decode(root["pickle"]))).load()


def _dotted(path):
    return ".".join(path)


def _unique_name(name, taken):
    """``name``, or ``name#1``, ``name#2``, ... when two paths flatten to the same dotted name
    (a key ``"a.b"`` next to a dict ``"a"`` holding ``"b"``)."""
    unique, n = name, 0
    while unique in taken:
        n += 1
        unique = f"{name}#{n}"
    return unique


def _encode_key(key):
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise TypeError(f"save: dict keys must be str or int, got {type(key).__name__}")


def write_atomically(path, write):
    """Call ``write(file)`` on a temporary file in ``path``'s folder, flush it to disk, then
    rename it to ``path``: readers see the old file or the whole new one, never a part.

    A symlink at ``path`` stays a link: its target is replaced. An existing file keeps its
    permission bits. Temporary files of the same target that killed processes left behind
    are removed first, so a crash loop leaves at most one."""
    path = os.fspath(path)
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"cannot save {path!r}: its folder {folder!r} "
                                              f"does not exist", path)
    existing = _stat_or_none(target)
    if existing is not None:
        _require_regular("save", path, existing)
        mode = stat.S_IMODE(existing.st_mode)
    else:
        mode = 0o666 & ~_umask()
    _remove_stale_temporaries(folder, name)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f"{_temporary_prefix(name)}{os.getpid()}-",
                                             dir=folder)
    except OSError as error:  # name the target, not the temporary file
        raise type(error)(error.errno, f"cannot save {path!r}: {error.strerror}", path) from None
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _temporary_prefix(name):
    return f".{name}.tmp-"


def _remove_stale_temporaries(folder, name):
    """Delete ``.<name>.tmp-<pid>-*`` files whose writing process no longer exists."""
    if os.name != "posix":  # os.kill(pid, 0) only asks "alive?" on POSIX
        return
    prefix = _temporary_prefix(name)
    for entry in os.listdir(folder):
        if not entry.startswith(prefix):
            continue
        pid = entry[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _process_exists(int(pid)):
            continue
        try:
            os.unlink(os.path.join(folder, entry))
        except FileNotFoundError:
            pass


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


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


# --- opening ----------------------------------------------------------------------------------
def _is_file_object(f):
    return hasattr(f, "read") or hasattr(f, "write")


def _as_path(op, f):
    try:
        return os.fspath(f)
    except TypeError:
        raise TypeError(f"{op}: expected a path (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__}") from None


def _stat_or_none(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _require_regular(op, path, status):
    if stat.S_ISREG(status.st_mode):
        return
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{op}: {path!r} is a directory", path)
    kind = ("a FIFO" if stat.S_ISFIFO(status.st_mode) else
            "a character device" if stat.S_ISCHR(status.st_mode) else
            "a block device" if stat.S_ISBLK(status.st_mode) else
            "a socket" if stat.S_ISSOCK(status.st_mode) else "not a regular file")
    raise ValueError(f"{op}: {path!r} is {kind}, not a regular file")


def _open_regular(path):
    """Open ``path`` for reading after checking that it is a regular file; O_NONBLOCK keeps a
    FIFO swapped in between the check and the open from blocking."""
    status = _stat_or_none(path)
    if status is None:
        raise FileNotFoundError(errno.ENOENT, f"load: no file {path!r}", path)
    _require_regular("load", path, status)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        _require_regular("load", path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


# --- loading ----------------------------------------------------------------------------------
class _Malformed(Exception):
    """What is wrong with a file; ``load`` turns it into a ValueError naming the file."""


def load(f, device="cpu", *, weights_only=True, map_location=None):
    """Read what ``save`` wrote (or any safetensors file, or a tinyseq ``.npz``) from ``f``, a
    path or a binary file object; tensors come back on ``device`` (or ``map_location``, as
    PyTorch spells it). A saved Module loads only with ``weights_only=False``, which unpickles
    it and so runs whatever code the file names: pass it only for files you trust.
    ``weights_only=None`` means the default, True, as in PyTorch."""
    if weights_only is None:
        weights_only = True
    if not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be True or False (None means True), got "
                        f"{type(weights_only).__name__} {weights_only!r}")
    device = backend.get_device(device if map_location is None else map_location)
    if _is_file_object(f):
        if isinstance(f, io.TextIOBase):
            raise TypeError("load: the file object is open in text mode; open it with 'rb'")
        name = str(getattr(f, "name", "<file object>"))
        if not (hasattr(f, "seekable") and f.seekable()):
            f = io.BytesIO(f.read())
        return _load_from(f, name, device, weights_only)
    path = _as_path("load", f)
    with _open_regular(path) as file:
        return _load_from(file, path, device, weights_only)


def _load_from(f, name, device, weights_only):
    start = f.tell()
    size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    try:
        magic = _read_exactly(f, min(size, 4), "the file's first bytes")
        if magic[:2] == b"PK":
            f.seek(start)
            return _load_npz(f, size, device)
        f.seek(start)
        return _load_safetensors(f, size, device, weights_only)
    except _Malformed as problem:
        raise ValueError(f"load: {name!r} is not a readable tinyseq file: {problem}") from None


def _read_exactly(f, n, what):
    """n bytes into a writable buffer, read in pieces so that memory follows the data read."""
    buffer = bytearray(n)
    view = memoryview(buffer)
    done = 0
    while done < n:
        count = f.readinto(view[done:done + (64 << 20)])
        if not count:
            raise _Malformed(f"the file ends inside {what} ({done} of {n} bytes)")
        done += count
    return buffer


def _load_safetensors(f, size, device, weights_only):
    if size < 8:
        raise _Malformed(f"{size} bytes is too short for a safetensors header")
    header_size = struct.unpack("<Q", _read_exactly(f, 8, "the header size"))[0]
    if header_size > MAX_HEADER_BYTES:
        raise _Malformed(f"the header declares {header_size} bytes; tinyseq reads headers of "
                         f"at most {MAX_HEADER_BYTES}")
    if header_size > size - 8:
        raise _Malformed(f"the header declares {header_size} bytes; the file has only "
                         f"{size - 8} after the size field")
    header = _parse_json(_read_exactly(f, header_size, "the header"), "the header")
    if not isinstance(header, dict):
        raise _Malformed("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise _Malformed("__metadata__ is not an object of strings")
    if len(header) > MAX_TENSORS:
        raise _Malformed(f"the header lists {len(header)} tensors; tinyseq reads at most "
                         f"{MAX_TENSORS}")
    entries = sorted(((_check_entry(key, entry), key) for key, entry in header.items()),
                     key=lambda item: item[0][2])
    position = 0
    for (_, _, begin, end), key in entries:
        if begin != position:
            raise _Malformed(f"tensor {key!r} starts at byte {begin} of the data, expected "
                             f"{position} (tensors must cover the data without gaps or overlaps)")
        position = end
    if position != size - 8 - header_size:
        raise _Malformed(f"the tensors cover {position} bytes; the data has "
                         f"{size - 8 - header_size}")
    checksums = _checksums(metadata, header)
    arrays = {}
    for (dtype, shape, begin, end), key in entries:
        buffer = _read_exactly(f, end - begin, f"tensor {key!r}")
        if checksums is not None:
            expected = checksums[key]
            actual = [zlib.crc32(buffer), dtype, shape]
            if expected != actual:
                raise _Malformed(f"tensor {key!r} fails its checksum (CRC-32, dtype and shape "
                                 f"{actual}; the metadata records {_short(expected)}): the "
                                 f"file is corrupt")
        arrays[key] = _array_from(buffer, dtype, shape)
    if checksums is None:
        return {key: Tensor.from_array(device.xp.asarray(arrays[key]), False) for key in header}
    document = _parse_json(metadata[FORMAT_KEY], FORMAT_KEY)
    if not isinstance(document, dict) or document.get("version") != VERSION:
        version = document.get("version") if isinstance(document, dict) else None
        raise _Malformed(f"format version {_short(version)}; this tinyseq reads version "
                         f"{VERSION}")
    root = document.get("root")
    if isinstance(root, dict) and "pickle" in root:
        return _unpickle(root, arrays, device, weights_only)
    used = set()
    result = _decode(root, lambda node, path: _tree_array(node, path, arrays, used), device)
    if len(used) != len(arrays):
        unused = sorted(set(arrays) - used)
        raise _Malformed(f"the metadata's tree leaves {len(unused)} tensors unused "
                         f"({_short(unused)})")
    return result


def _checksums(metadata, header):
    """name -> [CRC-32, dtype, shape] from the metadata, after checking the tree's CRC-32;
    None for a file without the tinyseq tree (one that another tool wrote), which loads
    unchecked. A file with the tree must carry well-formed checksums of all its tensors."""
    if FORMAT_KEY not in metadata:
        if CHECKSUM_KEY in metadata:
            raise _Malformed(f"the metadata has {CHECKSUM_KEY!r} but no {FORMAT_KEY!r} tree")
        return None
    if CHECKSUM_KEY not in metadata:
        raise _Malformed(f"the metadata has the {FORMAT_KEY!r} tree but no {CHECKSUM_KEY!r} "
                         f"checksums, which tinyseq always writes")
    checksums = _parse_json(metadata[CHECKSUM_KEY], CHECKSUM_KEY)
    if not isinstance(checksums, dict) or set(checksums) != {"tree", "tensors"} \
            or not _is_crc(checksums["tree"]) or not isinstance(checksums["tensors"], dict):
        raise _Malformed(f"{CHECKSUM_KEY} is malformed (expected {{\"tree\": CRC-32, "
                         f"\"tensors\": {{name: [CRC-32, dtype, shape]}}}}, got "
                         f"{_short(metadata[CHECKSUM_KEY])})")
    listed = checksums["tensors"]
    missing = sorted(set(header) - set(listed))
    if missing:
        raise _Malformed(f"{CHECKSUM_KEY} has no checksum for tensors {_short(missing)}")
    extra = sorted(set(listed) - set(header))
    if extra:
        raise _Malformed(f"{CHECKSUM_KEY} lists tensors the file lacks: {_short(extra)}")
    for name, entry in listed.items():
        if not (isinstance(entry, list) and len(entry) == 3 and _is_crc(entry[0])
                and isinstance(entry[1], str) and isinstance(entry[2], list)):
            raise _Malformed(f"{CHECKSUM_KEY} has a malformed entry for tensor {name!r} "
                             f"(expected [CRC-32, dtype, shape], got {_short(entry)})")
    tree_crc = zlib.crc32(metadata[FORMAT_KEY].encode("utf-8"))
    if checksums["tree"] != tree_crc:
        raise _Malformed(f"the metadata's tree fails its checksum (CRC-32 {tree_crc}, recorded "
                         f"{checksums['tree']}): the file is corrupt")
    return listed


def _is_crc(value):
    return _is_count(value) and value < 2**32


def _check_entry(key, entry):
    """(dtype, shape, begin, end) of a header entry, each checked."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _Malformed(f"tensor {key!r} has a malformed entry {_short(entry)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str):
        raise _Malformed(f"tensor {key!r} has a malformed dtype {_short(dtype)}")
    if dtype == "BF16":
        item = 2
    elif dtype in _DTYPES:
        item = numpy.dtype(_DTYPES[dtype]).itemsize
    else:
        raise _Malformed(f"tensor {key!r} has dtype {_short(dtype)}, which tinyseq does not "
                         f"read (it reads {', '.join(_DTYPES)} and BF16)")
    if not isinstance(shape, list) or len(shape) > 64 or not all(_is_count(n) for n in shape):
        raise _Malformed(f"tensor {key!r} has a malformed shape {_short(shape)}")
    _check_addressable(f"tensor {key!r}", shape, item)
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(n) for n in offsets) \
            or offsets[0] > offsets[1]:
        raise _Malformed(f"tensor {key!r} has malformed data_offsets {_short(offsets)}")
    nbytes = math.prod(shape) * item
    if offsets[1] - offsets[0] != nbytes:
        raise _Malformed(f"tensor {key!r} of dtype {dtype} and shape {shape} needs {nbytes} "
                         f"bytes; its data_offsets {offsets} hold {offsets[1] - offsets[0]}")
    return dtype, shape, offsets[0], offsets[1]


def _check_addressable(what, shape, itemsize):
    """Refuse a shape that no array can have (NumPy's bound on elements times itemsize, zero
    dimensions left out, as in 2**63 x 0), before NumPy gives its own bare error."""
    if math.prod(max(n, 1) for n in shape) * itemsize > _LARGEST_ARRAY:
        raise _Malformed(f"{what} has shape {_short(list(shape))}, larger than any array can "
                         f"be (elements x itemsize, zero dimensions aside, over 2**63 - 1)")


def _is_count(n):
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _parse_json(data, what):
    """The JSON value of ``data`` (bytes or str), refused before parsing when it could hold more
    than MAX_JSON_VALUES values: each value past the first needs a ',', '[' or '{' of its own,
    so their count on the raw text bounds the objects that parsing makes."""
    marks = (b",", b"[", b"{") if isinstance(data, (bytes, bytearray)) else (",", "[", "{")
    bound = sum(data.count(mark) for mark in marks)
    if bound > MAX_JSON_VALUES:
        raise _Malformed(f"{what} could hold {bound} JSON values (its count of ',', '[' and "
                         f"'{{'); tinyseq reads at most {MAX_JSON_VALUES}")
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _Malformed(f"{what} is not valid UTF-8 JSON ({_short(str(error))})") from None


def _array_from(buffer, dtype, shape):
    if dtype == "BF16":  # bfloat16 is the upper half of a float32
        bits = numpy.frombuffer(buffer, "<u2").astype(numpy.uint32) << 16
        return bits.view(numpy.float32).reshape(shape)
    return numpy.frombuffer(buffer, _DTYPES[dtype]).reshape(shape).astype(
        numpy.dtype(_DTYPES[dtype]).newbyteorder("="), copy=False)


def _tree_array(node, path, arrays, used):
    """(array, is_tensor) for a leaf node of the metadata's tree at ``path``. The leaf must name
    the tensor that ``save`` stores under that path (its dotted path, or ``path#n`` when two
    paths flatten alike), each tensor once, so a tree cannot hand one name another's tensor."""
    kind = "tensor" if "tensor" in node else "array"
    name = node.get(kind)
    if len(node) != 1 or not isinstance(name, str) or name not in arrays:
        raise _Malformed(f"the metadata refers to a missing tensor {_short(node)}")
    dotted = _dotted(_path_keys(path)) or "tensor"
    suffix = name[len(dotted):]
    if not name.startswith(dotted) or (suffix and not (
            suffix[0] == "#" and suffix[1:].isdigit() and suffix[1:].isascii())):
        raise _Malformed(f"the metadata puts tensor {name!r} at {dotted!r}: a tree leaf must "
                         f"name the tensor stored under its own path")
    if name in used:
        raise _Malformed(f"the metadata uses tensor {name!r} twice")
    used.add(name)
    return arrays[name], kind == "tensor"


def _path_keys(path):
    """The keys from the root to ``path``, a linked (parent, key) pair or None for the root."""
    keys = []
    while path is not None:
        path, key = path
        keys.append(str(key))
    return keys[::-1]


def _decode(root, leaf, device):
    """Rebuild the saved object from the metadata's tree, iteratively and depth-bounded, in
    memory that grows with the depth, not the width. Each open container is a frame (container,
    its (key, node) items still to decode, depth, path, tuple_target); a tuple is decoded into a
    list, which becomes a tuple at ``tuple_target`` (parent, key) when its frame closes.
    ``leaf(node, path)`` gives a leaf's (array, is_tensor), ``path`` being the linked
    (parent, key) pairs from the root (None for the root)."""
    result = [None]
    frames = [(result, iter([(0, root)]), -1, None, None)]
    while frames:
        container, items, depth, path, tuple_target = frames[-1]
        item = next(items, None)
        if item is None:
            frames.pop()
            if tuple_target is not None:
                parent, key = tuple_target
                parent[key] = tuple(container)
            continue
        key, node = item
        node_path = None if depth < 0 else (path, key)
        if depth + 1 > MAX_DEPTH:
            raise _Malformed(f"the saved object is nested deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict) or len(node) == 0:
            raise _Malformed(f"malformed tree entry {_short(node)}")
        if "tensor" in node or "array" in node:
            array, is_tensor = leaf(node, node_path)
            array = device.xp.asarray(array)
            container[key] = Tensor.from_array(array, False) if is_tensor else array
        elif "value" in node and len(node) == 1:
            if not (node["value"] is None or isinstance(node["value"], (bool, int, float, str))):
                raise _Malformed(f"malformed value {_short(node)}")
            container[key] = node["value"]
        elif "dict" in node and len(node) == 1 and isinstance(node["dict"], list):
            child = container[key] = {}
            for pair in node["dict"]:
                if not isinstance(pair, list) or len(pair) != 2 or isinstance(pair[0], bool) \
                        or not isinstance(pair[0], (str, int)):
                    raise _Malformed(f"malformed dict entry {_short(pair)}")
                child[pair[0]] = None  # the saved key order, whatever order values come in
            frames.append((child, iter(node["dict"]), depth + 1, node_path, None))
        elif len(node) == 1 and isinstance(node.get("list", node.get("tuple")), list):
            kind, nodes = next(iter(node.items()))
            child = [None] * len(nodes)
            if kind == "list":
                container[key] = child
            frames.append((child, enumerate(nodes), depth + 1, node_path,
                           (container, key) if kind == "tuple" else None))
        else:
            raise _Malformed(f"malformed tree entry {_short(node)}")
    return result[0]


# --- the first format: .npz -------------------------------------------------------------------
def _load_npz(f, size, device):
    directory = _central_directory_size(f, size)
    if directory is not None and directory > _MAX_CENTRAL_DIRECTORY:
        raise _Malformed(f"the archive's central directory declares {directory} bytes; tinyseq "
                         f"reads at most {_MAX_CENTRAL_DIRECTORY} ({MAX_TENSORS + 1} members)")
    try:
        archive = zipfile.ZipFile(f)
    except _ZIP_ERRORS as error:
        raise _Malformed(f"a damaged zip archive ({_short(str(error))})") from None
    with archive:
        members = {}
        try:
            infos = archive.infolist()
            if len(infos) > MAX_TENSORS + 1:
                raise _Malformed(f"the archive has {len(infos)} members; tinyseq reads at most "
                                 f"{MAX_TENSORS + 1}")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise _Malformed(f"member {info.filename!r} is not a .npy array")
                members[info.filename[:-4]] = info
            if _LEGACY_HEADER not in members:
                raise _Malformed(f"an .npz archive without tinyseq's {_LEGACY_HEADER} entry "
                                 f"(not a tinyseq checkpoint)")
            header = _read_npy(archive, members[_LEGACY_HEADER], size, None, "|u1")
            if header.ndim != 1:
                raise _Malformed(f"{_LEGACY_HEADER} is not a byte string")
            document = _parse_json(header.tobytes(), _LEGACY_HEADER)
            if not isinstance(document, dict) or document.get("format") != _LEGACY_FORMAT:
                raise _Malformed("not a tinyseq checkpoint")
            if document.get("version") != 1:
                raise _Malformed(f"format version {_short(document.get('version'))}; this "
                                 f"tinyseq reads .npz version 1")
            used = set()

            def leaf(node, path):
                key = node.get("array")
                if set(node) != {"array", "tensor", "shape", "dtype"} or key not in members \
                        or key == _LEGACY_HEADER or not isinstance(node["shape"], list) \
                        or not isinstance(node["dtype"], str):
                    raise _Malformed(f"malformed array entry {_short(node)}")
                if key in used:
                    raise _Malformed(f"the header uses array {key!r} twice")
                used.add(key)
                array = _read_npy(archive, members[key], size, node["shape"], node["dtype"])
                return array, bool(node["tensor"])

            return _decode(document.get("root"), leaf, device)
        except _ZIP_ERRORS as error:
            raise _Malformed(f"a damaged zip archive ({_short(str(error))})") from None


def _central_directory_size(f, size):
    """The size the zip's end record gives its central directory (the zip64 record's when there
    is one), which bounds the member entries that zipfile makes objects of; None when no end
    record is found (zipfile then reports the damage). ``f`` is left where it was."""
    start = f.tell()
    tail = min(size, _ZIP_END_SEARCH)
    f.seek(start + size - tail)
    data = bytes(_read_exactly(f, tail, "the zip end record"))
    f.seek(start)
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(data):
        return None
    directory = struct.unpack_from("<I", data, end + 12)[0]
    locator = end - 20
    if locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
        record = struct.unpack_from("<Q", data, locator + 8)[0]
        if record + 56 <= size:
            f.seek(start + record)
            zip64 = bytes(_read_exactly(f, 56, "the zip64 end record"))
            f.seek(start)
            if zip64[:4] == b"PK\x06\x06":
                directory = struct.unpack_from("<Q", zip64, 40)[0]
    return directory


def _read_npy(archive, info, archive_size, shape_recorded, dtype_recorded):
    """The array of one .npy member. Its .npy header must agree with what the tinyseq header
    records (``shape_recorded`` None: any 1-d shape) and with the member's declared size, and
    the size must be possible for its compressed size, all before any data is inflated; the
    data is then inflated in pieces, never past the declared size."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise _Malformed(f"member {name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Malformed(f"member {name!r} uses compression method {info.compress_type}; "
                         f"tinyseq reads stored and deflated members")
    bound = info.compress_size if info.compress_type == zipfile.ZIP_STORED \
        else _DEFLATE_READ_RATIO * info.compress_size + _DEFLATE_READ_SLACK
    if info.compress_size > archive_size or info.file_size > bound:
        raise _Malformed(f"member {name!r} declares {info.file_size} bytes from "
                         f"{info.compress_size} compressed in a {archive_size}-byte file; "
                         f"tinyseq reads members stored, or deflated to at most "
                         f"{_DEFLATE_READ_RATIO}x their size plus {_DEFLATE_READ_SLACK} bytes")
    with archive.open(info) as member:
        try:
            version = numpy.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = numpy.lib.format.read_array_header_1_0(member)
            elif version in ((2, 0), (3, 0)):
                shape, fortran_order, dtype = numpy.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unknown .npy version {version}")
        except (ValueError, SyntaxError, TypeError) as error:
            raise _Malformed(f"member {name!r} has a malformed .npy header "
                             f"({_short(str(error))})") from None
        if dtype.hasobject or dtype.kind not in _SAVED_KINDS or dtype.itemsize > 8 \
                or dtype.fields is not None or dtype.subdtype is not None:
            raise _Malformed(f"member {name!r} has dtype {dtype}; tinyseq reads only bool, "
                             f"integer and float16/32/64 arrays")
        if dtype.str != dtype_recorded or (list(shape) != shape_recorded
                                           if shape_recorded is not None else len(shape) != 1):
            raise _Malformed(f"member {name!r} has shape {shape} and dtype {dtype}; the header "
                             f"records {_short(shape_recorded)} {_short(dtype_recorded)}")
        _check_addressable(f"member {name!r}", shape, dtype.itemsize)
        nbytes = math.prod(shape) * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise _Malformed(f"member {name!r} declares {info.file_size} bytes, but its .npy "
                             f"header ({shape}, {dtype}) needs {member.tell() + nbytes}")
        buffer = _read_exactly(member, nbytes, f"member {name!r}")
        if member.read(1):
            raise _Malformed(f"member {name!r} holds more data than it declares")
    array = numpy.frombuffer(buffer, dtype).reshape(shape, order="F" if fortran_order else "C")
    return array.astype(dtype.newbyteorder("="), copy=False)

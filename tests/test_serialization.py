"""ts.save / ts.load: round trips, safetensors both ways with PyTorch, checksums, the legacy
.npz reader, refusal of foreign files, file objects, atomic writes through links."""
import io
import json
import os
import pathlib
import pickle
import zipfile

import numpy
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim


def _assert_same(loaded, original, where="root"):
    """Same structure, types, dtypes, shapes and values."""
    if isinstance(original, ts.Tensor):
        assert isinstance(loaded, ts.Tensor), where
        assert loaded.dtype == original.dtype and loaded.shape == original.shape, where
        numpy.testing.assert_array_equal(loaded.numpy(), original.numpy(), err_msg=where)
    elif isinstance(original, numpy.ndarray):
        assert type(loaded) is numpy.ndarray, where
        assert loaded.dtype == original.dtype and loaded.shape == original.shape, where
        numpy.testing.assert_array_equal(loaded, original, err_msg=where)
    elif isinstance(original, dict):
        assert type(loaded) is dict, where
        assert list(loaded) == list(original), where  # same keys, same order, same key types
        for (k, v), (lk, lv) in zip(original.items(), loaded.items()):
            assert type(lk) is type(k), where
            _assert_same(lv, v, f"{where}[{k!r}]")
    elif isinstance(original, (list, tuple)):
        assert type(loaded) is type(original) and len(loaded) == len(original), where
        for i, (lv, v) in enumerate(zip(loaded, original)):
            _assert_same(lv, v, f"{where}[{i}]")
    elif isinstance(original, float) and original != original:
        assert isinstance(loaded, float) and loaded != loaded, where
    else:
        assert type(loaded) is type(original) and loaded == original, where


def _model():
    ts.manual_seed(3)
    return nn.Sequential(nn.Embedding(6, 4, padding_idx=0), nn.Linear(4, 3))


def _train_steps(model, opt, steps):
    ids = ts.tensor([[1, 2], [3, 0], [5, 4]])
    targets = ts.tensor([0, 1, 2, 1, 0, 2])
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(ids).reshape(6, 3), targets)
        loss.backward()
        opt.step()


def test_round_trip_of_nested_state(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    _train_steps(model, opt, 2)
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 7,
        "loss": 0.125,
        "tiny": 1e-300,
        "special": [float("inf"), float("nan"), -0.0],
        "name": "run-é",
        "best": None,
        "flag": True,
        "history": [(1, 0.5), (2, 0.25)],
        "arrays": {
            "f64": numpy.linspace(0, 1, 6).reshape(2, 3),
            "i64": numpy.arange(-3, 3, dtype=numpy.int64),
            "bools": numpy.array([True, False]),
            "scalar": numpy.array(2.5),
            "int_scalar": numpy.array(4, dtype=numpy.int64),
            "empty": numpy.zeros((0, 3)),
        },
        "tensors": [ts.tensor(numpy.float32(1.5)), ts.tensor([[1.0, 2.0]], dtype=ts.float64)],
        3: {"int key": 1},
    }
    path = tmp_path / "all.ckpt"
    ts.save(checkpoint, path)
    loaded = ts.load(path)
    _assert_same(loaded, checkpoint)
    assert set(loaded["optimizer"]["state"]) == {0, 1, 2}  # int keys stay ints
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_numpy_scalars_are_saved_as_python_numbers(tmp_path):
    ts.save({"a": numpy.float64(0.1), "b": numpy.int64(-5)}, tmp_path / "s")
    assert ts.load(tmp_path / "s") == {"a": 0.1, "b": -5}


@pytest.mark.parametrize("kind", ["str", "path"])
@pytest.mark.parametrize("name", ["model.ckpt", "checkpoint", "weights.pt"])
def test_written_to_exactly_the_given_path(tmp_path, kind, name):
    path = tmp_path / name
    ts.save({"w": ts.ones(2)}, str(path) if kind == "str" else path)
    assert sorted(os.listdir(tmp_path)) == [name]
    loaded = ts.load(str(path) if kind == "str" else pathlib.Path(path))
    numpy.testing.assert_array_equal(loaded["w"].numpy(), [1.0, 1.0])


def test_save_overwrites_existing_file(tmp_path):
    path = tmp_path / "model.ckpt"
    ts.save({"v": 1}, path)
    ts.save({"v": 2}, path)
    assert ts.load(path) == {"v": 2}
    assert os.listdir(tmp_path) == ["model.ckpt"]


def test_model_and_optimizer_resume_from_checkpoint(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    _train_steps(model, opt, 3)
    ts.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "c.ckpt")

    loaded = ts.load(tmp_path / "c.ckpt")
    resumed = nn.Sequential(nn.Embedding(6, 4, padding_idx=0), nn.Linear(4, 3))
    resumed.load_state_dict(loaded["model"])
    resumed_opt = optim.Adam(resumed.parameters(), lr=0.05, weight_decay=0.01)
    resumed_opt.load_state_dict(loaded["optimizer"])

    _train_steps(model, opt, 2)
    _train_steps(resumed, resumed_opt, 2)
    for (name, p), (_, q) in zip(model.named_parameters(), resumed.named_parameters()):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)


class _Exploit:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _foreign_files(marker):
    """name -> bytes of files that are not tinyseq checkpoints."""
    files = {}
    files["random.ckpt"] = numpy.random.default_rng(0).bytes(2048)
    files["empty.ckpt"] = b""
    files["text.txt"] = b"epoch 3, loss 0.25\nnot a checkpoint\n"
    files["pickle.ckpt"] = pickle.dumps({"w": _Exploit(marker)})
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.arange(5.0))
    files["array.npy"] = buffer.getvalue()
    buffer = io.BytesIO()
    numpy.savez(buffer, weight=numpy.ones(3))
    files["plain.npz"] = buffer.getvalue()
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.array([_Exploit(marker)], dtype=object), allow_pickle=True)
    files["object.npy"] = buffer.getvalue()
    buffer = io.BytesIO()
    numpy.savez(buffer, __tinyseq__=numpy.frombuffer(b"{not json", dtype=numpy.uint8))
    files["bad_header.npz"] = buffer.getvalue()
    buffer = io.BytesIO()
    header = json.dumps({"format": "something-else", "version": 1, "root": {"value": 1}})
    numpy.savez(buffer, __tinyseq__=numpy.frombuffer(header.encode(), dtype=numpy.uint8))
    files["other_format.npz"] = buffer.getvalue()
    # a well-formed header whose array entry is a pickled object array
    header = json.dumps({"format": "tinyseq-checkpoint", "version": 1,
                         "root": {"array": "array_0", "tensor": False, "shape": [1],
                                  "dtype": "|O"}})
    buffer = io.BytesIO()
    numpy.savez(buffer, __tinyseq__=numpy.frombuffer(header.encode(), dtype=numpy.uint8),
                array_0=numpy.array([_Exploit(marker)], dtype=object))
    files["object_array.npz"] = buffer.getvalue()
    return files


def test_foreign_files_raise_value_error_without_running_code(tmp_path):
    marker = tmp_path / "PWNED"
    files = _foreign_files(marker)
    assert not marker.exists()
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match="not a readable tinyseq file") as info:
            ts.load(path)
        assert name in str(info.value), name  # the message names the file
        assert not marker.exists(), name
    # the exploit is real: plain pickle would have run it
    pickle.loads(files["pickle.ckpt"])
    assert marker.exists()


def test_truncated_checkpoint_raises_value_error(tmp_path):
    path = tmp_path / "model.ckpt"
    ts.save({"w": ts.ones(100, 10)}, path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError):
        ts.load(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        ts.load(tmp_path / "nothing.ckpt")


@pytest.mark.parametrize("bad", [
    lambda x: x,
    {1, 2},
    numpy.array([1 + 2j]),
    numpy.array(["2026-12-01"], dtype="datetime64[D]"),
    numpy.array(["text"]),
    {"nested": [1, {"deep": object()}]},
    {(1, 2): "tuple key"},
    numpy.array([object()], dtype=object),
    b"bytes",
])
def test_unsupported_objects_raise_type_error(tmp_path, bad):
    path = tmp_path / "x.ckpt"
    with pytest.raises(TypeError):
        ts.save(bad, path)
    assert os.listdir(tmp_path) == []


def test_loaded_tensors_are_independent_leaves(tmp_path):
    w = ts.tensor([1.0, 2.0], requires_grad=True)
    ts.save({"w": w}, tmp_path / "w")
    loaded = ts.load(tmp_path / "w")["w"]
    assert isinstance(loaded, ts.Tensor) and not loaded.requires_grad
    assert loaded.device == "cpu" and loaded.dtype == numpy.float32
    loaded.array[0] = 5.0
    assert w.numpy()[0] == 1.0


def test_saving_an_optimizer_says_to_save_its_state_dict(tmp_path):
    # a whole Module is saved as PyTorch saves it (test_pytorch_tail); an optimizer is not
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        ts.save({"opt": optim.SGD(nn.Linear(2, 3).parameters(), lr=0.1)}, tmp_path / "o")
    assert os.listdir(tmp_path) == []


# --- the file is a safetensors file ----------------------------------------------------------
def test_file_is_safetensors_with_dotted_names_and_json_metadata(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model = _model()
    ts.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    assert sorted(arrays) == ["model.0.weight", "model.1.bias", "model.1.weight"]
    numpy.testing.assert_array_equal(arrays["model.1.weight"], model[1].weight.numpy())
    with open(tmp_path / "m.safetensors", "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        metadata = json.loads(f.read(size))["__metadata__"]
    tree = json.loads(metadata["tinyseq"])
    assert tree["root"]["dict"][1] == ["epoch", {"value": 3}]
    assert set(json.loads(metadata["tinyseq.crc32"])["tensors"]) == set(arrays)


def _torch_lstm_pair(torch):
    ts.manual_seed(0)
    ours = nn.LSTM(3, 4, num_layers=2)
    ours.double()
    theirs = torch.nn.LSTM(3, 4, num_layers=2).double()
    return ours, theirs


def test_tinyseq_state_dict_loads_into_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ours, theirs = _torch_lstm_pair(torch)
    ts.save(ours.state_dict(), tmp_path / "lstm.safetensors")
    theirs.load_state_dict(safetensors_torch.load_file(str(tmp_path / "lstm.safetensors")))
    x = numpy.random.default_rng(1).standard_normal((5, 2, 3))
    expected, _ = ours(ts.tensor(x, dtype=ts.float64))
    got, _ = theirs(torch.tensor(x))
    numpy.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=0, atol=1e-12)


def test_pytorch_state_dict_loads_into_tinyseq(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ours, theirs = _torch_lstm_pair(torch)
    safetensors_torch.save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    loaded = ts.load(tmp_path / "torch.safetensors")  # no tinyseq metadata: a flat dict
    assert set(loaded) == set(theirs.state_dict())
    ours.load_state_dict(loaded)
    x = numpy.random.default_rng(2).standard_normal((5, 2, 3))
    expected, _ = theirs(torch.tensor(x))
    got, _ = ours(ts.tensor(x, dtype=ts.float64))
    numpy.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=0, atol=1e-12)


def test_bfloat16_from_other_tools_loads_as_float32(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    values = torch.tensor([1.5, -2.0, 3.140625], dtype=torch.bfloat16)
    safetensors_torch.save_file({"w": values}, str(tmp_path / "bf16.safetensors"))
    loaded = ts.load(tmp_path / "bf16.safetensors")["w"]
    assert loaded.dtype == numpy.float32
    numpy.testing.assert_array_equal(loaded.numpy(), values.float().numpy())


def _flip(path, position, bit=0):
    content = bytearray(path.read_bytes())
    content[position] ^= 1 << bit
    path.write_bytes(bytes(content))


def test_flipped_bit_in_a_tensor_is_a_checksum_error(tmp_path):
    path = tmp_path / "w.safetensors"
    ts.save({"w": ts.ones(64)}, path)
    _flip(path, path.stat().st_size - 5)  # inside the last tensor's bytes
    with pytest.raises(ValueError, match="fails its checksum"):
        ts.load(path)


def test_files_without_checksums_still_load(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    data = safetensors_numpy.save({"a": numpy.arange(6.0).reshape(2, 3),
                                   "b": numpy.array([1, 2], dtype=numpy.int64)},
                                  metadata={"format": "np"})
    (tmp_path / "other.safetensors").write_bytes(data)
    loaded = ts.load(tmp_path / "other.safetensors")
    assert sorted(loaded) == ["a", "b"]
    numpy.testing.assert_array_equal(loaded["a"].numpy(), numpy.arange(6.0).reshape(2, 3))
    assert loaded["b"].dtype == numpy.int64


def test_colliding_dotted_names_keep_both_values(tmp_path):
    obj = {"a.b": ts.ones(1), "a": {"b": ts.zeros(1)}}
    ts.save(obj, tmp_path / "c")
    _assert_same(ts.load(tmp_path / "c"), obj)


# --- file objects and paths --------------------------------------------------------------------
def test_file_objects_round_trip(tmp_path):
    obj = {"w": ts.arange(4.0), "n": 2, "t": (1, [2.5, None])}
    buffer = io.BytesIO()
    ts.save(obj, buffer)
    buffer.seek(0)
    _assert_same(ts.load(buffer), obj)
    with open(tmp_path / "f.safetensors", "wb") as f:
        ts.save(obj, f)
    with open(tmp_path / "f.safetensors", "rb") as f:
        _assert_same(ts.load(f), obj)


def test_text_mode_file_objects_are_type_errors(tmp_path):
    with open(tmp_path / "t", "w") as f, pytest.raises(TypeError, match="binary mode|'wb'"):
        ts.save({"a": 1}, f)
    (tmp_path / "t").write_bytes(b"x")
    with open(tmp_path / "t") as f, pytest.raises(TypeError, match="'rb'"):
        ts.load(f)
    with pytest.raises(TypeError, match="path"):
        ts.load(3.5)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_and_devices_are_refused_before_opening(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="pipe.*is a FIFO"):
        ts.load(fifo)  # opening it for reading would block forever
    with pytest.raises(ValueError, match="is a FIFO"):
        ts.save({"a": 1}, fifo)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match="character device"):
            ts.load("/dev/zero")
    with pytest.raises(IsADirectoryError):
        ts.load(tmp_path)


def test_missing_folder_error_names_the_target(tmp_path):
    target = tmp_path / "no" / "such" / "model.safetensors"
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        ts.save({"a": 1}, target)


@pytest.mark.skipif(os.name != "posix", reason="symlinks and modes are POSIX")
def test_save_through_symlink_keeps_link_and_permissions(tmp_path):
    real = tmp_path / "real.safetensors"
    ts.save({"v": 1}, real)
    os.chmod(real, 0o600)
    link = tmp_path / "latest"
    link.symlink_to(real.name)
    ts.save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == real.name
    assert ts.load(real) == {"v": 2}
    assert stat_mode(real) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["latest", "real.safetensors"]


def stat_mode(path):
    return os.stat(path).st_mode & 0o777


@pytest.mark.skipif(os.name != "posix", reason="process ids")
def test_save_removes_temporaries_of_dead_writers_only(tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.ckpt.tmp-{dead.pid}-abcd"
    live = tmp_path / f".m.ckpt.tmp-{os.getppid()}-efgh"  # a live writer's file stays
    other = tmp_path / f".other.tmp-{dead.pid}-ijkl"       # another target's file stays
    for p in (stale, live, other):
        p.write_bytes(b"half a file")
    ts.save({"a": 1}, tmp_path / "m.ckpt")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.ckpt", live.name, other.name])


def test_failed_save_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    ts.save({"version": "old", "w": ts.zeros(3)}, path)
    old_bytes = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        ts.save({"version": "new", "w": ts.ones(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.ckpt"]
    with pytest.raises(OSError, match="disk full"):
        monkeypatch.setattr(os, "fsync", broken_fsync)
        ts.save({"w": ts.ones(3)}, tmp_path / "new.ckpt")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.ckpt"]


def test_nesting_is_bounded_on_save_and_load(tmp_path):
    deep = [1]
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        ts.save(deep, tmp_path / "deep")
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    tree = '{"version": 2, "root": ' + '{"list": [' * 50000 + ']}' * 50000 + '}'
    (tmp_path / "crafted").write_bytes(safetensors_numpy.save({}, metadata={"tinyseq": tree}))
    with pytest.raises(ValueError, match="crafted"):
        ts.load(tmp_path / "crafted")


# --- the first format: .npz ------------------------------------------------------------------
def _legacy_npz(root, **arrays):
    header = json.dumps({"format": "tinyseq-checkpoint", "version": 1, "root": root})
    buffer = io.BytesIO()
    numpy.savez(buffer, __tinyseq__=numpy.frombuffer(header.encode(), dtype=numpy.uint8),
                **arrays)
    return buffer.getvalue()


def test_legacy_npz_checkpoints_still_load(tmp_path):
    root = {"dict": [["w", {"array": "array_0", "tensor": True, "shape": [2, 2], "dtype": "<f4"}],
                     ["epoch", {"value": 4}],
                     ["history", {"tuple": [{"value": 1.5}, {"list": []}]}]]}
    (tmp_path / "old.ckpt").write_bytes(_legacy_npz(root, array_0=numpy.eye(2, dtype=numpy.float32)))
    loaded = ts.load(tmp_path / "old.ckpt")
    _assert_same(loaded, {"w": ts.tensor(numpy.eye(2, dtype=numpy.float32)), "epoch": 4,
                          "history": (1.5, [])})


def _bomb(declared_elements=3, inflated=64 << 20):
    """A deflated member whose .npy header declares a few floats but that inflates to
    ``inflated`` bytes (the zip entry says so too)."""
    header = io.BytesIO()
    numpy.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (declared_elements,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__tinyseq__.npy", _npy(numpy.frombuffer(b'{"format": "tinyseq-checkpoint", "version": 1, "root": {"array": "array_0", "tensor": true, "shape": [3], "dtype": "<f8"}}', numpy.uint8)))
        with archive.open("array_0.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            zeros = bytes(1 << 20)
            for _ in range(inflated >> 20):
                member.write(zeros)
    return buffer.getvalue()


def _npy(array):
    buffer = io.BytesIO()
    numpy.save(buffer, array)
    return buffer.getvalue()


def test_crafted_npz_bomb_is_refused_before_inflating(tmp_path):
    import time
    import tracemalloc
    path = tmp_path / "bomb.ckpt"
    path.write_bytes(_bomb())
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ValueError, match="array_0.npy. declares .* bytes"):
        ts.load(path)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20 and elapsed < 1.0, (peak, elapsed)


@pytest.mark.parametrize("array", [numpy.array([1 + 2j]),
                                   numpy.array(["2026-12-01"], dtype="datetime64[D]"),
                                   numpy.array([b"ab"])])
def test_legacy_npz_with_complex_datetime_or_bytes_is_refused(tmp_path, array):
    root = {"array": "array_0", "tensor": False, "shape": [1], "dtype": array.dtype.str}
    (tmp_path / "x.ckpt").write_bytes(_legacy_npz(root, array_0=array))
    with pytest.raises(ValueError, match="dtype"):
        ts.load(tmp_path / "x.ckpt")

"""ts.save / ts.load: round trips, exact paths, refusal of foreign files, atomic writes."""
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
        with pytest.raises(ValueError, match="not a tinyseq checkpoint|unreadable|missing") as info:
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


def test_missing_file_raises(tmp_path):
    with pytest.raises((FileNotFoundError, ValueError)):
        ts.load(tmp_path / "nothing.ckpt")


def test_failed_save_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    ts.save({"version": "old", "w": ts.zeros(3)}, path)
    old_bytes = path.read_bytes()

    def broken_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(numpy, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        ts.save({"version": "new", "w": ts.ones(3)}, path)
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.ckpt"]
    monkeypatch.undo()
    assert ts.load(path)["version"] == "old"


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def broken_savez(file, *args, **kwargs):
        file.write(b"partial")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(numpy, "savez", broken_savez)
    with pytest.raises(RuntimeError):
        ts.save({"w": ts.ones(3)}, tmp_path / "new.ckpt")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [
    lambda x: x,
    {1, 2},
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


def test_checkpoint_is_a_plain_npz_archive(tmp_path):
    ts.save({"w": ts.ones(2)}, tmp_path / "m.ckpt")
    assert zipfile.is_zipfile(tmp_path / "m.ckpt")
    with numpy.load(tmp_path / "m.ckpt", allow_pickle=False) as archive:
        assert "__tinyseq__" in archive.files

"""Crafted files against ts.load and ts.load_checkpoint: checksums that cannot be switched off,
a tree that cannot swap tensors, and readers bounded before they allocate. Every file is built
here (small versions of issue 24's files; benchmarks/hostile_files.py measures the big ones);
every refusal is a ValueError naming the file, after which the file on disk and the model
are as they were."""
import io
import json
import os
import struct
import sys
import tracemalloc
import zipfile
import zlib

import numpy
import pytest
import safetensors.numpy

import tinyseq as ts
from tinyseq import nn, optim
from tinyseq import serialization

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- building files ---------------------------------------------------------------------------
def saved_bytes(obj):
    buffer = io.BytesIO()
    ts.save(obj, buffer)
    return buffer.getvalue()


def split(content):
    """(header dict, data bytes) of a safetensors file."""
    size = struct.unpack("<Q", content[:8])[0]
    return json.loads(content[8:8 + size]), content[8 + size:]


def join(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def with_tree(header, root):
    """``header`` with its tinyseq tree replaced by ``root`` and every checksum recomputed to
    fit, as a forger would: only the tree's own rules can refuse it."""
    metadata = header["__metadata__"]
    metadata["tinyseq"] = json.dumps({"version": 2, "root": root})
    checksums = json.loads(metadata["tinyseq.crc32"])
    checksums["tree"] = zlib.crc32(metadata["tinyseq"].encode())
    metadata["tinyseq.crc32"] = json.dumps(checksums)
    return header


def flip_bit(content, position):
    changed = bytearray(content)
    changed[position] ^= 1
    return bytes(changed)


def model_and_file(tmp_path):
    ts.manual_seed(0)
    model = nn.Linear(3, 2)
    path = tmp_path / "model.safetensors"
    ts.save(model.state_dict(), path)
    return model, path


def refused(path, match, load=ts.load, model=None):
    """Load ``path``, expect a ValueError naming it and matching ``match``, and check that the
    file and ``model``'s parameters are unchanged."""
    before = path.read_bytes()
    params = None if model is None else {k: p.numpy().copy()
                                         for k, p in model.named_parameters()}
    with pytest.raises(ValueError, match=match) as error:
        load(path)
    assert str(path) in str(error.value)
    assert path.read_bytes() == before
    if model is not None:
        for k, p in model.named_parameters():
            numpy.testing.assert_array_equal(p.numpy(), params[k])
    return str(error.value)


# --- checksums are not optional ----------------------------------------------------------------
def test_every_saved_file_carries_checksums_of_every_tensor_and_the_tree(tmp_path):
    model, path = model_and_file(tmp_path)
    header, data = split(path.read_bytes())
    metadata = header.pop("__metadata__")
    checksums = json.loads(metadata["tinyseq.crc32"])
    assert checksums["tree"] == zlib.crc32(metadata["tinyseq"].encode())
    assert set(checksums["tensors"]) == set(header) == {"weight", "bias"}
    for name, (crc, dtype, shape) in checksums["tensors"].items():
        begin, end = header[name]["data_offsets"]
        assert crc == zlib.crc32(data[begin:end]) and dtype == "F32"
        assert shape == list(model.state_dict()[name].shape)


def test_a_tree_without_its_checksum_key_is_refused(tmp_path):
    model, path = model_and_file(tmp_path)
    header, data = split(path.read_bytes())
    del header["__metadata__"]["tinyseq.crc32"]
    path.write_bytes(join(header, data))
    refused(path, r"has the 'tinyseq' tree but no 'tinyseq.crc32' checksums")


def test_a_renamed_checksum_key_and_a_flipped_data_bit_are_refused(tmp_path):
    """Issue 24's attack: rename the key by one bit, flip a weight bit; before, that loaded
    other weights with no error."""
    model, path = model_and_file(tmp_path)
    header, data = split(path.read_bytes())
    metadata = header["__metadata__"]
    metadata["tinyseq.crc33"] = metadata.pop("tinyseq.crc32")
    path.write_bytes(join(header, flip_bit(data, 2)))
    refused(path, "no 'tinyseq.crc32' checksums")


def test_load_checkpoint_refuses_a_parameter_changed_under_a_renamed_checksum(tmp_path):
    """The other half of the attack: a checkpoint whose weight is off by 31 loads nothing."""
    ts.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "run.ckpt"
    ts.save_checkpoint(path, model, opt, epoch=1)
    header, data = split(path.read_bytes())
    metadata = header["__metadata__"]
    metadata["tinyseq.crc32x"] = metadata.pop("tinyseq.crc32")
    begin, end = header["model.weight"]["data_offsets"]
    weights = numpy.frombuffer(data[begin:end], "<f4").copy()
    weights[0] += 31
    path.write_bytes(join(header, data[:begin] + weights.tobytes() + data[end:]))
    ts.manual_seed(5)
    random_before = ts.random.get_state()
    refused(path, "no 'tinyseq.crc32' checksums",
            load=lambda p: ts.load_checkpoint(p, model, opt), model=model)
    assert opt.param_groups[0]["lr"] == 0.1
    assert json.dumps(ts.random.get_state(), default=lambda a: numpy.asarray(a).tolist()) == \
        json.dumps(random_before, default=lambda a: numpy.asarray(a).tolist())


def _malformed_checksums(header):
    checksums = json.loads(header["__metadata__"]["tinyseq.crc32"])
    tree = checksums["tree"]
    weight = checksums["tensors"]["weight"]
    others = {k: v for k, v in checksums["tensors"].items() if k != "weight"}
    return {
        "not JSON": ("{", "not valid UTF-8 JSON"),
        "a list": (json.dumps([tree]), "is malformed"),
        "no tree": (json.dumps({"tensors": checksums["tensors"]}), "is malformed"),
        "tree a string": (json.dumps({"tree": str(tree), "tensors": checksums["tensors"]}),
                          "is malformed"),
        "a CRC past 32 bits": (json.dumps({"tree": tree + 2**32,
                                           "tensors": checksums["tensors"]}), "is malformed"),
        "a tensor missing": (json.dumps({"tree": tree, "tensors": others}),
                             r"no checksum for tensors \['weight'\]"),
        "a tensor renamed": (json.dumps({"tree": tree, "tensors": {**others, "weigh": weight}}),
                             r"no checksum for tensors \['weight'\]"),
        "an extra tensor": (json.dumps({"tree": tree, "tensors": {
            **checksums["tensors"], "ghost": weight}}),
            r"lists tensors the file lacks: \['ghost'\]"),
        "an entry without its shape": (json.dumps({"tree": tree, "tensors": {
            **others, "weight": weight[:2]}}), "malformed entry for tensor 'weight'"),
        "an entry with a negative CRC": (json.dumps({"tree": tree, "tensors": {
            **others, "weight": [-1] + weight[1:]}}), "malformed entry for tensor 'weight'"),
        "the tree's CRC off by one": (json.dumps({"tree": (tree + 1) % 2**32,
                                                  "tensors": checksums["tensors"]}),
                                      "tree fails its checksum"),
    }


@pytest.mark.parametrize("case", sorted(_malformed_checksums(
    split(saved_bytes(nn.Linear(3, 2).state_dict()))[0])))
def test_a_malformed_checksum_entry_is_refused(tmp_path, case):
    model, path = model_and_file(tmp_path)
    header, data = split(path.read_bytes())
    text, match = _malformed_checksums(header)[case]
    header["__metadata__"]["tinyseq.crc32"] = text
    path.write_bytes(join(header, data))
    refused(path, match)


def test_checksums_without_the_tree_are_refused(tmp_path):
    model, path = model_and_file(tmp_path)
    header, data = split(path.read_bytes())
    del header["__metadata__"]["tinyseq"]
    path.write_bytes(join(header, data))
    refused(path, "has 'tinyseq.crc32' but no 'tinyseq' tree")


def test_a_plain_safetensors_file_from_another_program_loads_unchecked(tmp_path):
    """No tinyseq tree: a flat dict, as another tool (here safetensors itself, and PyTorch
    through safetensors.torch) wrote it; nothing to check the bytes against."""
    torch = pytest.importorskip("torch")
    import safetensors.torch
    arrays = {"weight": numpy.arange(6, dtype=numpy.float32).reshape(2, 3),
              "steps": numpy.array([1, 2], dtype=numpy.int64)}
    (tmp_path / "numpy.safetensors").write_bytes(
        safetensors.numpy.save(arrays, metadata={"format": "np"}))
    safetensors.torch.save_file({k: torch.from_numpy(v) for k, v in arrays.items()},
                                str(tmp_path / "torch.safetensors"))
    for name in ("numpy.safetensors", "torch.safetensors"):
        loaded = ts.load(tmp_path / name)
        assert sorted(loaded) == ["steps", "weight"]
        for k, v in arrays.items():
            numpy.testing.assert_array_equal(loaded[k].numpy(), v)
            assert loaded[k].dtype == v.dtype


@pytest.mark.parametrize("swap", ["bias onto the weight", "weight twice", "a tensor unused"])
def test_the_tree_cannot_hand_one_name_another_names_tensor(tmp_path, swap):
    """With the checksums forged to fit, the tree itself still cannot swap tensors."""
    model, path = model_and_file(tmp_path)
    header, data = split(path.read_bytes())
    root = {"bias onto the weight": {"dict": [["weight", {"tensor": "bias"}],
                                              ["bias", {"tensor": "weight"}]]},
            "weight twice": {"dict": [["weight", {"tensor": "weight"}],
                                      ["bias", {"tensor": "weight"}]]},
            "a tensor unused": {"dict": [["weight", {"tensor": "weight"}]]}}[swap]
    path.write_bytes(join(with_tree(header, root), data))
    refused(path, {"bias onto the weight": "puts tensor 'bias' at 'weight'",
                   "weight twice": "puts tensor 'weight' at 'bias'",
                   "a tensor unused": r"leaves 1 tensors unused \(\['bias'\]\)"}[swap])


def test_names_that_flatten_alike_still_round_trip():
    """save names the second of two paths that flatten to 'a.b' 'a.b#1'; that is its own
    path's name, so it loads."""
    obj = {"a.b": ts.tensor([1.0]), "a": {"b": ts.tensor([2.0])}, "": {"": ts.tensor([3.0])},
           "list": [ts.tensor([4.0]), (ts.tensor([5.0]),)], 7: ts.tensor([6.0])}
    loaded = ts.load(io.BytesIO(saved_bytes(obj)))
    assert loaded["a.b"].tolist() == [1.0] and loaded["a"]["b"].tolist() == [2.0]
    assert loaded[""][""].tolist() == [3.0] and loaded[7].tolist() == [6.0]
    assert loaded["list"][0].tolist() == [4.0] and loaded["list"][1][0].tolist() == [5.0]
    header, data = split(saved_bytes(obj))
    assert {"a.b", "a.b#1", ".", "list.0", "list.1.0", "7"} <= set(header)


def test_a_deep_wide_tree_decodes_in_memory_that_follows_the_output(tmp_path):
    """200,000 values in one list: the decoder keeps one frame per open container."""
    header, data = split(saved_bytes({"x": ts.tensor([1.0])}))
    root = {"dict": [["x", {"tensor": "x"}],
                     ["values", {"list": [{"value": i} for i in range(200_000)]}]]}
    path = tmp_path / "wide.safetensors"
    path.write_bytes(join(with_tree(header, root), data))
    tracemalloc.start()
    loaded = ts.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert loaded["values"][-1] == 199_999 and loaded["x"].tolist() == [1.0]
    assert peak < 80 << 20, peak


# --- bounded readers -----------------------------------------------------------------------------
def measured_refusal(path, match):
    """refused(), returning the peak of memory traced while ts.load ran."""
    before = path.read_bytes()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as error:
            ts.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(error.value)
    assert path.read_bytes() == before
    return peak


def npy_header(shape, descr="<f4"):
    buffer = io.BytesIO()
    numpy.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def legacy_npz(path, recorded_shape, stored_shape, inflated_bytes,
               compression=zipfile.ZIP_DEFLATED):
    tree = json.dumps({"format": "tinyseq-checkpoint", "version": 1, "root": {
        "array": "array_0", "tensor": True, "shape": list(recorded_shape), "dtype": "<f4"}})
    with zipfile.ZipFile(path, "w", compression, compresslevel=9) as archive:
        archive.writestr("__tinyseq__.npy", npy_header((len(tree),), "|u1") + tree.encode())
        with archive.open("array_0.npy", "w", force_zip64=True) as member:
            member.write(npy_header(tuple(stored_shape)))
            member.write(bytes(inflated_bytes))


def test_an_npz_bomb_is_refused_before_inflating(tmp_path):
    """A deflated member of zeros that would inflate 1000-fold: the header agrees with the tree,
    but no member of tinyseq's first format (written by numpy.savez, uncompressed) is like it."""
    path = tmp_path / "bomb.npz"
    elements = (48 << 20) // 4
    legacy_npz(path, (elements,), (elements,), elements * 4)
    assert path.stat().st_size < 100_000
    assert measured_refusal(path, r"'array_0.npy' declares \d+ bytes from \d+ compressed") \
        < 1 << 20


def test_an_npz_whose_header_lies_is_refused_before_inflating(tmp_path):
    """The tree records 3 floats; the member's .npy header declares a million, all there:
    refused on the headers, before any of its data is read."""
    path = tmp_path / "lying.npz"
    legacy_npz(path, (3,), (1_000_000,), 4_000_000, compression=zipfile.ZIP_STORED)
    assert measured_refusal(path, r"has shape \(1000000,\) and dtype float32; the header "
                                  r"records \[3\]") < 1 << 20


def test_an_npz_of_too_many_members_is_refused_before_zipfile_reads_them(tmp_path):
    """A real archive of 20,000 members, refused by count; and a central directory declared
    larger than 16,385 members can fill, refused from the end record before zipfile makes an
    object of any entry."""
    path = tmp_path / "members.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(20_000):
            archive.writestr(f"array_{i}.npy", b"")
    refused(path, "the archive has 20000 members; tinyseq reads at most 16385")
    directory = 5 << 20
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, directory, 4, 0)
    path.write_bytes(b"PK\x03\x04" + bytes(directory) + end)
    assert measured_refusal(path, f"central directory declares {directory} bytes; tinyseq "
                                  f"reads at most") < 1 << 20


def test_a_legacy_member_that_fits_the_bounds_still_loads(tmp_path):
    path = tmp_path / "old.npz"
    legacy_npz(path, (1000,), (1000,), 4000, compression=zipfile.ZIP_STORED)
    numpy.testing.assert_array_equal(ts.load(path).numpy(), numpy.zeros(1000, numpy.float32))


def test_a_header_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    """A sparse file as large as its declared header: refused on the size field alone."""
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", serialization.MAX_HEADER_BYTES + 1) + b"{")
        f.truncate(serialization.MAX_HEADER_BYTES + 1 + 8)
    assert measured_refusal(path, f"the header declares {serialization.MAX_HEADER_BYTES + 1} "
                                  f"bytes") < 1 << 20


def test_too_many_tensors_are_refused(tmp_path):
    count = serialization.MAX_TENSORS + 1
    path = tmp_path / "many.safetensors"
    path.write_bytes(join({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
                           for i in range(count)}))
    refused(path, f"the header lists {count} tensors; tinyseq reads at most")


@pytest.mark.parametrize("what", ["empty tensors", "a tinyseq tree", "nested lists"])
def test_a_header_of_too_many_json_values_is_refused_before_parsing(tmp_path, what):
    """Small versions of the 100 MB header of 1.7 million empty tensors and of the 64 MB tree
    of 4 million values: the count of ',', '[' and '{' refuses them before json.loads makes
    an object of any value."""
    values = serialization.MAX_JSON_VALUES
    if what == "empty tensors":
        header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
                  for i in range(values // 6)}
    elif what == "a tinyseq tree":
        header = with_tree(split(saved_bytes({}))[0], {"list": [{"value": 0}] * (values // 2)})
    else:
        header = {"x": [[]] * values}
    path = tmp_path / "values.safetensors"
    path.write_bytes(join(header))
    size = path.stat().st_size
    assert measured_refusal(path, "could hold .* JSON values") < 2 * size + (1 << 20)


@pytest.mark.parametrize("shape", [[2**63, 0], [2**62, 2], [2**40, 2**40], [0, 2**64]])
def test_a_shape_no_array_can_have_is_a_clear_error(tmp_path, shape):
    nbytes = 0 if 0 in shape else 4 * shape[0] * shape[1]
    path = tmp_path / "huge.safetensors"
    path.write_bytes(join({"x": {"dtype": "F32", "shape": shape, "data_offsets": [0, nbytes]}}))
    refused(path, r"tensor 'x' has shape .* larger than any array can be")


def test_a_legacy_member_of_shape_2_63_by_0_is_a_clear_error(tmp_path):
    path = tmp_path / "huge.npz"
    legacy_npz(path, (2**63, 0), (2**63, 0), 0, compression=zipfile.ZIP_STORED)
    refused(path, r"(larger than any array can be|malformed \.npy header)")


def test_declared_bytes_must_match_the_file(tmp_path):
    header, data = split(saved_bytes({"w": ts.zeros(4)}))
    path = tmp_path / "short.safetensors"
    path.write_bytes(join(header, data[:-4]))
    refused(path, r"the tensors cover 16 bytes; the data has 12")


@pytest.mark.slow
def test_issue_24_files_are_refused_in_bounded_memory():
    """The crafted files at 1/16 of issue 24's sizes, each loaded in a child process that
    reports its peak resident memory (benchmarks/hostile_files.py; the full sizes are its
    default). Time is the benchmark's to report, not a test's."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import hostile_files
    finally:
        sys.path.pop(0)
    rows = hostile_files.main(scale=16)
    assert len(rows) == 12
    for name, size, seconds, peak_mib, result in rows:
        expected = "loads (" if name.startswith("at the limit") else "ValueError: "
        assert result.startswith(expected), (name, result)
        assert peak_mib < 100, (name, peak_mib)


# --- what save refuses to write ----------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: (lambda items: items.append(items) or items)([]),
                                  lambda: (lambda d: d.setdefault("a", {"b": d}) and d)({})],
                         ids=["a list in itself", "a dict in a dict in itself"])
def test_save_refuses_an_object_that_contains_itself(tmp_path, make):
    """It used to loop for ever looking for a Module in it."""
    path = tmp_path / "cycle.ts"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=r"save: the object contains itself at '(0|a\.b)'"):
        ts.save(make(), path)
    assert path.read_bytes() == b"old"


def test_save_refuses_what_load_would_refuse(tmp_path):
    """A tensor listed 20,000 times is written 20,000 times, past load's bound on tensors; a
    list of 300,000 numbers past its bound on JSON values: both are refused when saving, the
    old file kept, instead of writing a file that cannot be read back."""
    path = tmp_path / "big.ts"
    ts.save({"ok": 1}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="save: the object holds 20000 tensors .* at most "
                                         f"{serialization.MAX_TENSORS}"):
        ts.save({"a": [ts.ones(1)] * 20_000}, path)
    with pytest.raises(ValueError, match="save: tinyseq could not read the file back: .* "
                                         f"at most {serialization.MAX_JSON_VALUES}"):
        ts.save([1] * 300_000, path)
    assert path.read_bytes() == before
    ts.save([1] * 100_000, path)                    # within the bounds: written and read back
    assert ts.load(path) == [1] * 100_000


@pytest.mark.slow
def test_save_of_a_list_shared_down_forty_levels_stops_at_the_value_bound(tmp_path):
    """[x, x] nested 40 deep has 2**40 leaves when written out; save stops after
    MAX_JSON_VALUES of them instead of running for ever."""
    shared = [ts.ones(1)]
    for _ in range(40):
        shared = [shared, shared]
    with pytest.raises(ValueError, match="save: the object holds more than 500000 values"):
        ts.save(shared, tmp_path / "dag.ts")


def test_a_missing_file_is_an_error_that_names_load_and_the_path(tmp_path):
    path = tmp_path / "missing.ts"
    with pytest.raises(FileNotFoundError, match=f"load: no file {str(path)!r}") as error:
        ts.load(path)
    assert error.value.filename == str(path)

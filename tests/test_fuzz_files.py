"""Corrupted files, hypothesis-driven: truncations, bit flips, overwritten bytes and crafted
headers of a saved checkpoint must load as the same data or raise ValueError, never anything
else. TINYSEQ_FUZZ_EXAMPLES sets the examples per test (CI: 150)."""
import io
import json
import os
import struct
import zlib

import numpy
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import tinyseq as ts  # noqa: E402
from tinyseq import nn, optim  # noqa: E402

EXAMPLES = int(os.environ.get("TINYSEQ_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _reference():
    ts.manual_seed(0)
    model = nn.LSTM(2, 3)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for p in model.parameters():
        p.grad = ts.ones(*p.shape)
    opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
            "history": [(1, 0.5), (2, float("inf"))], "name": "run", "best": None,
            "flags": numpy.array([True, False]), "ids": numpy.arange(4, dtype=numpy.int32),
            "scalar": ts.tensor(2.5), "empty": numpy.zeros((0, 2))}


def _bytes(obj):
    buffer = io.BytesIO()
    ts.save(obj, buffer)
    return buffer.getvalue()


def _legacy_bytes():
    header = json.dumps({"format": "tinyseq-checkpoint", "version": 1, "root": {"dict": [
        ["w", {"array": "array_0", "tensor": True, "shape": [3, 4], "dtype": "<f4"}],
        ["step", {"value": 7}]]}})
    buffer = io.BytesIO()
    numpy.savez(buffer, __tinyseq__=numpy.frombuffer(header.encode(), dtype=numpy.uint8),
                array_0=numpy.arange(12, dtype=numpy.float32).reshape(3, 4))
    return buffer.getvalue()


REFERENCE = _reference()
SAVED = _bytes(REFERENCE)
LEGACY = _legacy_bytes()
LEGACY_VALUE = ts.load(io.BytesIO(LEGACY))


def _same(a, b):
    if isinstance(b, ts.Tensor):
        return isinstance(a, ts.Tensor) and _same(a.numpy(), b.numpy())
    if isinstance(b, numpy.ndarray):
        return type(a) is numpy.ndarray and a.dtype == b.dtype and a.shape == b.shape and \
            numpy.array_equal(a, b)
    if isinstance(b, dict):
        return type(a) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(b, float) and b != b:
        return isinstance(a, float) and a != a
    return type(a) is type(b) and a == b


def _check(data, reference):
    """The property: the same data, or a ValueError."""
    try:
        loaded = ts.load(io.BytesIO(data))
    except ValueError:
        return "error"
    assert _same(loaded, reference), "a corrupted file loaded as different data"
    return "same"


def _flip(data, flips):
    content = bytearray(data)
    for position, bit in flips:
        content[position % len(content)] ^= 1 << bit
    return bytes(content)


flips = st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 7)), min_size=1, max_size=3)


@FUZZ
@given(cut=st.integers(0, len(SAVED) - 1))
def test_truncated_files_are_value_errors(cut):
    assert _check(SAVED[:cut], REFERENCE) == "error"


@FUZZ
@given(flips=flips)
def test_bit_flips_give_the_same_data_or_a_value_error(flips):
    _check(_flip(SAVED, flips), REFERENCE)


@FUZZ
@given(start=st.integers(0, len(SAVED) - 1), junk=st.binary(min_size=1, max_size=64))
def test_overwritten_bytes_give_the_same_data_or_a_value_error(start, junk):
    data = SAVED[:start] + junk + SAVED[start + len(junk):]
    _check(data, REFERENCE)


def _split(data):
    size = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + size]), data[8 + size:]


def _join(header, body):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(data=st.data())
def test_crafted_headers_give_the_same_data_or_a_value_error(data):
    header, body = _split(SAVED)
    names = sorted(k for k in header if k != "__metadata__")
    target = data.draw(st.sampled_from(names + ["__metadata__"]))
    entry = header[target]
    field = data.draw(st.sampled_from(sorted(entry)))
    action = data.draw(st.sampled_from(["replace", "delete", "add tensor", "rename"]))
    if action == "replace":
        entry[field] = data.draw(JSON_VALUES)
    elif action == "delete":
        del entry[field]
    elif action == "add tensor":
        header[data.draw(st.text(min_size=1, max_size=8))] = {
            "dtype": data.draw(st.sampled_from(["F32", "I64", "BOOL", "F8_E4M3", "C64"])),
            "shape": data.draw(st.lists(st.integers(0, 2**40), max_size=3)),
            "data_offsets": data.draw(st.lists(st.integers(0, 2**40), min_size=2, max_size=2))}
    else:
        header[data.draw(st.text(min_size=1, max_size=8))] = header.pop(target)
    _check(_join(header, body), REFERENCE)


@FUZZ
@given(tree=JSON_VALUES)
def test_crafted_metadata_trees_are_value_errors(tree):
    header, body = _split(SAVED)
    metadata = header["__metadata__"]
    metadata["tinyseq"] = json.dumps({"version": 2, "root": tree})
    checksums = json.loads(metadata["tinyseq.crc32"])  # a tree that passes its checksum
    checksums["tree"] = zlib.crc32(metadata["tinyseq"].encode())
    metadata["tinyseq.crc32"] = json.dumps(checksums)
    try:
        ts.load(io.BytesIO(_join(header, body)))
    except ValueError:
        pass


@FUZZ
@given(cut=st.integers(0, len(LEGACY) - 1), flips=flips)
def test_corrupted_legacy_npz_gives_the_same_data_or_a_value_error(cut, flips):
    assert _check(LEGACY[:cut], LEGACY_VALUE) == "error"
    _check(_flip(LEGACY, flips), LEGACY_VALUE)

"""Crafted files against ``ts.load``: each is refused (or, at the limits, loaded) in bounded
time and memory.

The files of issue 24, built in a temporary folder, then each loaded by ``ts.load`` in a fresh
child process that prints its wall time and its peak resident memory above what it had just
before the call (Linux: the peak is reset through /proc/self/clear_refs, then VmHWM - VmRSS).
The limits are ``tinyseq.serialization``'s MAX_HEADER_BYTES, MAX_JSON_VALUES, MAX_TENSORS and
the deflate bound of the legacy reader. Rows named "at the limit" are files just inside them,
which load; "refused after parsing" is the costliest header that the value count lets reach
json.loads.

Run: python benchmarks/hostile_files.py [--small]
(--small: the crafted files at 1/16 of their size; the names keep the issue's sizes)
"""
import argparse
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy

CHILD = r"""
import os, sys, time
import tinyseq as ts

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":")) * 1024

try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = status("VmRSS")
start = time.perf_counter()
try:
    loaded = ts.load(sys.argv[1])
    result = f"loads ({len(loaded)} entries)"
except ValueError as error:
    result = "ValueError: " + str(error).split("file: ", 1)[-1]
elapsed = time.perf_counter() - start
print(f"{elapsed:.3f}\t{(status('VmHWM') - before) / 2**20:.1f}\t{result}")
"""


def safetensors_bytes(header, data=b""):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def tinyseq_metadata(tree, tensors=None):
    """Metadata with a tree and its correct checksums (so only the limits can refuse it)."""
    text = json.dumps({"version": 2, "root": tree})
    return {"tinyseq": text, "tinyseq.crc32": json.dumps(
        {"tree": zlib.crc32(text.encode()), "tensors": tensors or {}})}


def npy_header(shape, descr="<f4"):
    buffer = io.BytesIO()
    numpy.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def legacy_npz(path, shape_recorded, shape_stored, inflated_bytes):
    """A tinyseq first-format .npz whose one deflated member inflates to ``inflated_bytes``
    of zeros, its .npy header declaring ``shape_stored`` and the tree ``shape_recorded``."""
    tree = {"format": "tinyseq-checkpoint", "version": 1, "root": {
        "array": "array_0", "tensor": True, "shape": list(shape_recorded), "dtype": "<f4"}}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("__tinyseq__.npy", npy_header((len(json.dumps(tree)),), "|u1")
                         + json.dumps(tree).encode())
        with archive.open("array_0.npy", "w", force_zip64=True) as member:
            member.write(npy_header(tuple(shape_stored)))
            zeros = bytes(16 << 20)
            left = inflated_bytes
            while left > 0:
                member.write(zeros[:min(left, len(zeros))])
                left -= len(zeros)


def build(folder, scale):
    """name -> path of each crafted file; ``scale`` 1 is the issue's sizes."""
    files = {}

    def put(name, content):
        files[name] = os.path.join(folder, name)
        with open(files[name], "wb") as f:
            f.write(content)

    elements = int(2.2 * 2**30 / scale) // 4
    files["npz bomb (2 MB -> 2.2 GiB)"] = os.path.join(folder, "bomb.npz")
    legacy_npz(files["npz bomb (2 MB -> 2.2 GiB)"], (elements,), (elements,), elements * 4)
    files["npz lying header (tree [3], member 2.2 GiB)"] = os.path.join(folder, "lying.npz")
    legacy_npz(files["npz lying header (tree [3], member 2.2 GiB)"], (3,), (elements,),
               elements * 4)

    files["npz of 100,000 empty members"] = os.path.join(folder, "members.npz")
    with zipfile.ZipFile(files["npz of 100,000 empty members"], "w") as archive:
        for i in range(100_000 // scale):
            archive.writestr(f"array_{i}.npy", b"")

    count = 1_700_000 // scale
    put("safetensors 100 MB header, 1.7M empty tensors", safetensors_bytes(
        {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(count)}))
    values = 4_000_000 // scale
    put("tinyseq tree 64 MB, 4M values", safetensors_bytes({"__metadata__": tinyseq_metadata(
        {"list": [{"value": 1234567.0}] * values})}))
    put("shape 2^63 x 0", safetensors_bytes({"x": {"dtype": "F32", "shape": [2**63, 0],
                                                   "data_offsets": [0, 0]}}))
    put("shape 2^40 x 2^40, offsets to match", safetensors_bytes(
        {"x": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 2**82]}}))
    put("header size field 2^64 - 1", struct.pack("<Q", 2**64 - 1) + b"{}")
    put("header of 15 MiB, 5M empty lists", safetensors_bytes({"__metadata__": {
        "x": "y"}, "a": [[]] * ((15 << 20) // 3 // scale)}))

    # At the limits: these load, and show what an accepted file can cost.
    from tinyseq.serialization import MAX_TENSORS
    put(f"at the limit: {MAX_TENSORS} empty tensors (tinyseq checksums)", safetensors_bytes(
        {"__metadata__": tinyseq_metadata(
            {"dict": [[f"t{i}", {"tensor": f"t{i}"}] for i in range(MAX_TENSORS)]},
            {f"t{i}": [0, "F32", [0]] for i in range(MAX_TENSORS)}),
         **{f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
            for i in range(MAX_TENSORS)}}))
    put("header of 500,000 JSON values, as dicts (refused after parsing)", safetensors_bytes(
        {"a": [{"": {}}] * 166_000}))
    put("at the limit: tree of 240,000 one-key dicts", safetensors_bytes(
        {"__metadata__": tinyseq_metadata({"list": [{"value": None}] * 240_000})}))
    return files


def measure(path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
         os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True, text=True,
                          env=env, timeout=600)
    if done.returncode:
        return None, None, f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
    seconds, mib, result = done.stdout.strip().split("\t", 2)
    return float(seconds), float(mib), result


def main(scale=1):
    """Print the table; return its rows (name, bytes, seconds, peak MiB, result)."""
    rows = []
    print(f"{'file':66s} {'size':>9s} {'time s':>7s} {'peak MiB':>8s}  result")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in build(folder, scale).items():
            seconds, mib, result = measure(path)
            size = os.path.getsize(path)
            rows.append((name, size, seconds, mib, result))
            size_text = f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size} B"
            print(f"{name:66s} {size_text:>9s} {seconds or 0:7.3f} {mib or 0:8.1f}  "
                  f"{result[:110]}", flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true")
    main(16 if parser.parse_args().small else 1)

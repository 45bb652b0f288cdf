"""save_checkpoint / load_checkpoint: bit-exact resume in a new process, crash safety under
SIGKILL, random-state round trips, refusal of files that are not checkpoints."""
import io
import json
import os
import pickle
import random as pyrandom
import signal
import subprocess
import sys
import textwrap
import time

import numpy
import pytest

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq import random as ts_random
from tinyseq.checkpoint import load_checkpoint, save_checkpoint

# A run of `steps` steps (whole epochs of 4 batches): fresh ("full", "first") or resumed from
# the checkpoint ("resume"). "first" saves a checkpoint at the end. Losses and parameters go
# to `out`. The resumed run seeds differently: everything must come from the checkpoint.
_TRAIN = textwrap.dedent("""
    import sys, numpy, tinyseq as ts, tinyseq.functional as F
    from tinyseq import data, datasets, nn, optim
    from tinyseq.checkpoint import load_checkpoint, save_checkpoint

    mode, ckpt, out, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 8, num_layers=2, dropout=0.3, batch_first=True)
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(F.dropout(out[:, -1], 0.2)).reshape(-1)

    ts.manual_seed(99 if mode == "resume" else 0)
    model = Net()
    opt = optim.Adam(model.parameters(), lr=0.01)
    loader = data.DataLoader(datasets.SineWave(32, seq_len=10, seed=1), batch_size=8,
                             shuffle=True)
    step = epoch = 0
    if mode == "resume":
        info = load_checkpoint(ckpt, model, opt)
        step, epoch = info["step"], info["epoch"]
        assert info["extra"] == {"note": "half way"}, info
    losses = []
    while step < steps:
        for x, y in loader:
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        epoch += 1
    if mode == "first":
        save_checkpoint(ckpt, model, opt, epoch=epoch, step=step, note="half way")
    numpy.savez(out, losses=numpy.array(losses),
                **{"p." + n: p.numpy() for n, p in model.named_parameters()})
""")


def _run(*args):
    subprocess.run([sys.executable, "-c", _TRAIN, *map(str, args)], check=True, timeout=120)


def test_resume_in_new_process_is_bit_exact(tmp_path):
    n = 20
    ckpt = tmp_path / "run.ckpt"
    _run("full", ckpt, tmp_path / "full.npz", 2 * n)
    _run("first", ckpt, tmp_path / "first.npz", n)
    _run("resume", ckpt, tmp_path / "second.npz", 2 * n)
    with numpy.load(tmp_path / "full.npz") as full, numpy.load(tmp_path / "first.npz") as a, \
            numpy.load(tmp_path / "second.npz") as b:
        assert len(full["losses"]) == 2 * n and len(a["losses"]) == len(b["losses"]) == n
        resumed = numpy.concatenate([a["losses"], b["losses"]])
        assert numpy.array_equal(resumed, full["losses"]), (resumed, full["losses"])
        names = [k for k in full.files if k.startswith("p.")]
        assert names and sorted(names) == sorted(k for k in b.files if k.startswith("p."))
        for name in names:
            assert numpy.array_equal(b[name], full[name]), name
            assert not numpy.array_equal(a[name], full[name]), name  # training did move it


# The writer saves checkpoints of growing size to one path until it is killed. Checkpoint i
# is self-describing: every parameter and the payload are filled with i, the payload has
# 20000 + 500 * (i % 100) elements.
_WRITER = textwrap.dedent("""
    import sys, numpy, tinyseq as ts
    from tinyseq import nn
    from tinyseq.checkpoint import save_checkpoint
    path, step = sys.argv[1], int(sys.argv[2])
    ts.manual_seed(0)
    model = nn.Linear(200, 200)
    print("ready", flush=True)
    while True:
        step += 1
        for p in model.parameters():
            p.array[...] = step
        payload = numpy.full(20000 + 500 * (step % 100), step, dtype=numpy.float64)
        save_checkpoint(path, model, epoch=step, step=step, payload=payload, tag=f"step {step}")
""")


def _check_complete(path):
    """The checkpoint at path is one whole checkpoint; its step."""
    model = nn.Linear(200, 200)
    info = load_checkpoint(path, model)
    step = info["step"]
    assert info["epoch"] == step and info["extra"]["tag"] == f"step {step}"
    payload = info["extra"]["payload"]
    assert payload.shape == (20000 + 500 * (step % 100),) and (payload == step).all()
    for p in model.parameters():
        assert (p.numpy() == step).all()
    return step


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL needs POSIX")
def test_sigkill_while_saving_leaves_old_or_new_checkpoint_and_one_stray_file(tmp_path):
    """A crash loop: 30 writers killed at random moments. The checkpoint stays whole, each new
    save deletes the temporary files of the killed ones, so at most one stray file is left."""
    path = tmp_path / "run.ckpt"
    rng = pyrandom.Random(1234)
    last_step = 0
    killed_mid_write = 0
    deadline = time.monotonic() + 25
    kills = 0
    while kills < 30 and time.monotonic() < deadline:
        child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(1000 * kills)],
                                 stdout=subprocess.PIPE)
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL  # really killed, not finished
        child.stdout.close()
        kills += 1
        names = set(os.listdir(tmp_path))
        strays = {n for n in names if n.startswith(".run.ckpt.tmp-")}
        assert len(strays) <= 1, strays  # only the last killed write's own file
        assert names - strays <= {"run.ckpt"}, names
        killed_mid_write += any(n.startswith(f".run.ckpt.tmp-{child.pid}-") for n in strays)
        if path.exists():
            step = _check_complete(path)
            assert step >= last_step
            last_step = step
    assert kills >= 10 and last_step > 0
    assert killed_mid_write >= 3, killed_mid_write  # the kills did land inside writes
    print(f"{kills} kills, {killed_mid_write} during a write, 0 corrupt checkpoints, "
          f"{len(strays)} stray file left")


def _payload():
    return ts.randn(5).numpy(), F.dropout(ts.ones(4, 6), 0.5).numpy(), \
        ts.data.DataLoader(list(range(10)), batch_size=10, shuffle=True).__iter__().__next__()


def test_random_state_round_trip(tmp_path):
    ts.manual_seed(7)
    ts.randn(3)
    state = ts_random.get_state()
    expected = _payload()
    ts.save({"r": state}, tmp_path / "r")  # plain data: survives ts.save / ts.load
    state = ts.load(tmp_path / "r")["r"]
    ts.manual_seed(8)
    ts.randn(11)
    ts_random.set_state(state)
    got = _payload()
    for e, g in zip(expected, got):
        assert numpy.array_equal(numpy.asarray(e), numpy.asarray(g))
    assert not numpy.array_equal(_payload()[0], expected[0])  # the stream moves on


def test_random_state_before_any_generator(tmp_path):
    ts.manual_seed(3)
    state = ts_random.get_state()
    expected = ts.randn(4).numpy()
    ts.randn(2)
    ts_random.set_state(state)
    assert numpy.array_equal(ts.randn(4).numpy(), expected)


class _Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_load_checkpoint_rejects_other_files(tmp_path):
    model = nn.Linear(2, 2)
    before = [p.numpy().copy() for p in model.parameters()]
    ts.save({"model": model.state_dict(), "step": 3}, tmp_path / "plain.ckpt")
    ts.save([1, 2], tmp_path / "list.ckpt")
    marker = tmp_path / "PWNED"
    (tmp_path / "pickle.ckpt").write_bytes(pickle.dumps({"model": _Exploit(marker)}))
    for name in ["plain.ckpt", "list.ckpt", "pickle.ckpt"]:
        with pytest.raises(ValueError, match="not a"):
            load_checkpoint(tmp_path / name, model)
    assert not marker.exists()
    for p, b in zip(model.parameters(), before):
        assert numpy.array_equal(p.numpy(), b)


def test_a_checkpoint_whose_optimizer_does_not_fit_leaves_parameters_and_buffers_as_they_were(
        tmp_path):
    """The model part loads first; when the optimizer part then fails, the model (its
    BatchNorm running statistics and batch count included) gets its previous state back and
    the error says what did not fit."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.bn = nn.BatchNorm1d(4)

        def forward(self, x):
            return self.bn(self.fc(x))
    ts.manual_seed(0)
    saved = Net()
    adam = optim.Adam(saved.parameters(), lr=0.1)
    for _ in range(3):
        adam.zero_grad()
        saved(ts.randn(5, 3)).sum().backward()
        adam.step()
    save_checkpoint(tmp_path / "c.ckpt", saved, adam, epoch=1)
    ts.manual_seed(1)
    model = Net()
    model(ts.randn(5, 3))
    before = {name: t.numpy().copy() for name, t in model.state_dict().items()}
    with pytest.raises(ValueError, match="load_checkpoint: .* does not fit: .*SGD"):
        load_checkpoint(tmp_path / "c.ckpt", model, optim.SGD(model.parameters(), lr=0.1))
    after = model.state_dict()
    assert list(after) == list(before)
    for name, value in before.items():
        assert numpy.array_equal(after[name].numpy(), value), name


def test_load_checkpoint_rejects_every_truncation(tmp_path):
    model = nn.Linear(20, 20)
    save_checkpoint(tmp_path / "c.ckpt", model, optim.SGD(model.parameters(), lr=0.1), step=1)
    content = (tmp_path / "c.ckpt").read_bytes()
    for cut in range(0, len(content), max(1, len(content) // 40)):
        (tmp_path / "cut.ckpt").write_bytes(content[:cut])
        with pytest.raises(ValueError):
            load_checkpoint(tmp_path / "cut.ckpt", model)
    assert load_checkpoint(tmp_path / "c.ckpt", model)["step"] == 1


@pytest.mark.parametrize("stored", [numpy.zeros(4, numpy.float32), numpy.zeros((3, 1), numpy.float32),
                                    numpy.zeros(3, numpy.float64), numpy.zeros(3, numpy.int32)])
def test_load_rejects_arrays_that_do_not_match_the_header(tmp_path, stored):
    header = json.dumps({"format": "tinyseq-checkpoint", "version": 1,
                         "root": {"array": "array_0", "tensor": True, "shape": [3],
                                  "dtype": "<f4"}})
    buffer = io.BytesIO()
    numpy.savez(buffer, __tinyseq__=numpy.frombuffer(header.encode(), dtype=numpy.uint8),
                array_0=stored)
    (tmp_path / "bad.ckpt").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="header records"):
        ts.load(tmp_path / "bad.ckpt")

"""Data-parallel training: tinyseq.distributed, nn.parallel.DistributedDataParallel and
DistributedSampler. The multi-process tests launch real ranks with mpirun on this machine
(tests/ddp_worker.py), each launch under a timeout so nothing hangs."""
import datetime
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

import tinyseq as ts
import tinyseq.distributed as dist
from tinyseq import nn, render
from tinyseq.utils.data import DataLoader, DistributedSampler, TensorDataset

from markdown_blocks import scripts

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "ddp_worker.py"
LAUNCH_TIMEOUT = 120            # seconds for one mpirun launch, start to finish
MPI_MISSING = (None if shutil.which("mpirun") and importlib.util.find_spec("mpi4py")
               else "needs mpirun (apt-get install openmpi-bin libopenmpi-dev) and mpi4py "
                    "(pip install 'tinyseq[distributed]'); make test installs both")
needs_mpi = pytest.mark.skipif(MPI_MISSING is not None, reason=MPI_MISSING or "")
TWO_AND_THREE = [2, pytest.param(3, marks=pytest.mark.slow)]     # a launch takes 2-5 s


def mpirun(ranks, arguments, cwd, timeout=LAUNCH_TIMEOUT):
    """Run ``python ARGUMENTS`` on ``ranks`` processes in ``cwd``; the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none",
               sys.executable, *map(str, arguments)]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def launch(scenario, ranks, out_dir, **environment):
    """Run tests/ddp_worker.py SCENARIO on ``ranks`` processes; (exit status, output, one dict
    of arrays per rank). The whole process group is killed at the timeout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **environment)
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none",
               sys.executable, str(WORKER), scenario, str(out_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"mpirun -n {ranks} {scenario} still ran after {LAUNCH_TIMEOUT} s:\n{output}")
    results = []
    for rank in range(ranks):
        path = Path(out_dir) / f"rank{rank}.npz"
        results.append(dict(numpy.load(path)) if path.exists() else None)
    return process.returncode, output, results


def launched(scenario, ranks, out_dir, **environment):
    """The per-rank results of a launch that must succeed."""
    status, output, results = launch(scenario, ranks, out_dir, **environment)
    assert status == 0, output
    assert all(r is not None and int(r["world_size"]) == ranks for r in results), output
    return results


def names(result, prefix):
    return sorted(key[len(prefix) + 1:] for key in result if key.startswith(prefix + "/"))


# --- across processes -------------------------------------------------------------------------
@needs_mpi
@pytest.mark.parametrize("ranks", TWO_AND_THREE)
def test_averaged_gradients_equal_a_single_process_on_the_whole_batch(ranks, tmp_path):
    results = launched("one_step", ranks, tmp_path)
    assert names(results[0], "ddp") == ["fc.bias", "fc.weight", "rnn.bias_hh_l0",
                                        "rnn.bias_ih_l0", "rnn.weight_hh_l0", "rnn.weight_ih_l0"]
    for result in results:
        for name in names(result, "ddp"):
            numpy.testing.assert_allclose(result[f"ddp/{name}"], results[0][f"single/{name}"],
                                          rtol=0, atol=1e-12, err_msg=name)
            assert numpy.abs(result[f"ddp/{name}"]).max() > 1e-4    # a real gradient


@needs_mpi
def test_gradients_in_several_buckets_average_as_in_one(tmp_path):
    results = launched("small_buckets", 3, tmp_path)
    for result in results:
        assert int(result["buckets"]) >= 3
        for name in names(result, "ddp"):
            numpy.testing.assert_allclose(result[f"ddp/{name}"], result[f"single/{name}"],
                                          rtol=0, atol=1e-12, err_msg=name)


@needs_mpi
def test_a_backward_through_two_forwards_averages_once(tmp_path):
    results = launched("two_forwards", 3, tmp_path)
    for result in results:
        assert int(result["averagings"]) == 1
        for name in names(result, "ddp"):
            numpy.testing.assert_allclose(result[f"ddp/{name}"], result[f"single/{name}"],
                                          rtol=0, atol=1e-12, err_msg=name)


@needs_mpi
@pytest.mark.slow
@pytest.mark.parametrize("ranks", [2, 3])
def test_parameters_stay_identical_on_all_ranks_over_50_steps(ranks, tmp_path):
    results = launched("fifty_steps", ranks, tmp_path)
    for name in names(results[0], "end"):
        for result in results[1:]:
            assert numpy.array_equal(result[f"end/{name}"], results[0][f"end/{name}"]), name
            assert numpy.array_equal(result[f"start/{name}"], results[0][f"start/{name}"]), name
        assert numpy.abs(results[0][f"end/{name}"] - results[0][f"start/{name}"]).max() > 1e-3


@needs_mpi
@pytest.mark.parametrize("ranks", TWO_AND_THREE)
def test_a_rank_that_raises_stops_every_rank_with_its_error(ranks, tmp_path):
    status, output, results = launch("raises", ranks, tmp_path)
    assert status != 0
    assert f"ValueError: rank {ranks - 1} fails on purpose at step 3" in output
    assert f"aborting all {ranks} ranks" in output
    assert results == [None] * ranks


@needs_mpi
def test_a_rank_that_exits_stops_every_rank_after_the_timeout(tmp_path):
    start = time.monotonic()
    status, output, results = launch("leaves", 2, tmp_path)
    assert status != 0
    assert re.search(r"RuntimeError: [\w: ]+: rank 0 waited 3 s for the other ranks of 2 "
                     r"\(init_process_group's timeout\); a rank has left or is stuck", output)
    assert "aborting all 2 ranks" in output
    assert results == [None, None]
    assert time.monotonic() - start < 60


@needs_mpi
@pytest.mark.slow
def test_ranks_that_leave_at_different_times_end_cleanly(tmp_path):
    start = time.monotonic()
    launched("late_leaver", 2, tmp_path)        # exit status 0, each rank's file written
    assert time.monotonic() - start > 7


def test_init_process_group_checks_its_timeout():
    with pytest.raises(ValueError, match="timeout must be a positive datetime.timedelta, got 5"):
        dist.init_process_group("mpi", timeout=5)
    assert not dist.is_initialized()
    assert dist.default_pg_timeout == datetime.timedelta(minutes=30)


@needs_mpi
def test_ranks_with_different_models_are_refused(tmp_path):
    status, output, _ = launch("differ", 2, tmp_path)
    assert status != 0
    assert "RuntimeError: DistributedDataParallel: the ranks' models differ" in output


@needs_mpi
def test_no_sync_accumulates_locally_then_averages_the_accumulated_gradient(tmp_path):
    results = launched("no_sync", 2, tmp_path)
    for name in names(results[0], "ddp"):
        for result in results:
            # inside no_sync: this rank's own gradient, not averaged
            assert numpy.array_equal(result[f"after_first/{name}"], result[f"local_first/{name}"])
            # the next synced backward averages everything accumulated: (G_0 + G_1) on the
            # whole batches, as PyTorch's DistributedDataParallel
            numpy.testing.assert_allclose(result[f"ddp/{name}"], result[f"single/{name}"],
                                          rtol=0, atol=1e-12, err_msg=name)
        assert not numpy.array_equal(results[0][f"after_first/{name}"],
                                     results[1][f"after_first/{name}"])


@needs_mpi
@pytest.mark.slow
def test_no_sync_and_accumulation_match_pytorchs_distributed_data_parallel(tmp_path):
    pytest.importorskip("torch.distributed")
    with socket.socket() as probe:                  # a free port for torch's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = launched("torch_no_sync", 2, tmp_path, MASTER_PORT=str(port))
    for result in results:
        for phase in ("accumulated", "synced_twice"):
            assert len(names(result, f"{phase}/tinyseq")) == 6
            for name in names(result, f"{phase}/tinyseq"):
                numpy.testing.assert_allclose(result[f"{phase}/tinyseq/{name}"],
                                              result[f"{phase}/torch/{name}"], rtol=0,
                                              atol=1e-12, err_msg=f"{phase} {name}")


@needs_mpi
@pytest.mark.parametrize("ranks", TWO_AND_THREE)
def test_a_trace_shows_each_ranks_share_summing_to_the_averaged_gradient(ranks, tmp_path):
    results = launched("traced", ranks, tmp_path)
    first = results[0]
    assert first["ranks"].tolist() == list(range(ranks))
    weight = "rnn.weight_hh_l0"
    numpy.testing.assert_allclose(first["shares"].sum(axis=0), first[f"traced/{weight}"],
                                  rtol=0, atol=1e-12)
    for rank, result in enumerate(results):
        numpy.testing.assert_allclose(first["shares"][rank] * ranks, result[f"local/{weight}"],
                                      rtol=1e-15, atol=0)      # share = local gradient / R
        for name in names(result, "plain"):         # observing changes no number
            assert numpy.array_equal(result[f"plain/{name}"], result[f"traced/{name}"]), name


@needs_mpi
@pytest.mark.parametrize("ranks", TWO_AND_THREE)
def test_frozen_parameters_and_buffers_are_rank_0s_on_every_rank(ranks, tmp_path):
    results = launched("model_state", ranks, tmp_path)
    stored = names(results[0], "trained")
    assert "frozen.weight" in stored and "norm.running_mean" in stored
    assert "norm.num_batches_tracked" in stored
    for result in results[1:]:
        for name in stored:
            assert numpy.array_equal(result[f"start/{name}"], results[0][f"start/{name}"]), name
            # BatchNorm's running statistics are rank 0's: as PyTorch's, a forward after a
            # training forward (here the evaluation) first broadcasts them
            assert numpy.array_equal(result[f"trained/{name}"], results[0][f"trained/{name}"]), name
        assert numpy.array_equal(result["evaluated"], results[0]["evaluated"])
    moved = results[0]["trained/norm.running_mean"] - results[0]["start/norm.running_mean"]
    assert numpy.abs(moved).min() > 1e-4


@needs_mpi
@pytest.mark.slow
@pytest.mark.parametrize("ranks", [2, 3])
def test_uneven_shares_unused_parameters_and_buffers_match_pytorchs_ddp(ranks, tmp_path):
    pytest.importorskip("torch.distributed")
    with socket.socket() as probe:                  # a free port for torch's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = launched("torch_state", ranks, tmp_path, MASTER_PORT=str(port))
    for result in results:
        for step in range(3):
            for kind in ("grad", "value"):
                ours = names(result, f"{step}/tinyseq/{kind}")
                assert ours == names(result, f"{step}/torch/{kind}") and len(ours) >= 10
                for name in ours:
                    numpy.testing.assert_allclose(
                        result[f"{step}/tinyseq/{kind}/{name}"],
                        result[f"{step}/torch/{kind}/{name}"], rtol=0, atol=1e-12,
                        err_msg=f"step {step} {kind} {name}")
        # no rank uses the extra head at step 2: its gradient stays None on every rank
        assert numpy.isnan(result["2/tinyseq/grad/extra.weight"]).all()
        assert not numpy.isnan(result["1/tinyseq/grad/extra.weight"]).any()


@needs_mpi
@pytest.mark.slow
def test_all_reduce_and_broadcast_act_in_place_as_torch_distributed(tmp_path):
    results = launched("collectives", 3, tmp_path)
    values = [numpy.array([[r + 1.0, -r], [2.0 ** r, 0.5]]) for r in range(3)]
    expected = {"SUM": sum(values), "AVG": sum(values) / 3, "PRODUCT": numpy.prod(values, 0),
                "MIN": numpy.min(values, 0), "MAX": numpy.max(values, 0)}
    for result in results:
        for op, value in expected.items():
            numpy.testing.assert_allclose(result[op], value, rtol=0, atol=1e-15, err_msg=op)
        assert result["BOR"].tolist() == [7, 3]
        assert result["broadcast"].tolist() == (numpy.arange(6.0).reshape(2, 3) * 2).T.tolist()


@needs_mpi
def test_bool_and_float16_tensors_travel_as_in_torch_distributed(tmp_path):
    results = launched("small_dtypes", 2, tmp_path)
    # bool: a sum is an or, a product an and (torch.distributed's rule); ranks hold
    # [rank == 0, rank == 1, True, False]
    expected = {"SUM": [1, 1, 1, 0], "PRODUCT": [0, 0, 1, 0], "MIN": [0, 0, 1, 0],
                "MAX": [1, 1, 1, 0], "BAND": [0, 0, 1, 0], "BOR": [1, 1, 1, 0],
                "BXOR": [1, 1, 0, 0]}
    for result in results:
        for op, flags in expected.items():
            assert result[f"bool/{op}"].dtype == numpy.bool_
            assert result[f"bool/{op}"].tolist() == [bool(f) for f in flags], op
        assert result["half/SUM"].dtype == numpy.float16
        assert result["half/SUM"].tolist() == [1.5, 0.5, -4.0]
        assert result["half/AVG"].tolist() == [0.75, 0.25, -2.0]
        assert result["half/MAX"].tolist() == [1.5, 0.25, -2.0]
        assert result["broadcast/bool"].tolist() == [[True, False]]
        assert result["broadcast/half"].tolist() == [[1.0, 0.0]]
        # rank 0's weights; the gradient of the sum over 2 rows of x = rank + 1, averaged
        assert numpy.array_equal(result["half_model/weight"], results[0]["half_model/weight"])
        assert result["half_model/grad"].dtype == numpy.float16
        assert result["half_model/grad"].tolist() == [[3.0, 3.0, 3.0]]


@needs_mpi
def test_a_script_started_without_mpirun_is_a_group_of_one(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    run = subprocess.run([sys.executable, str(WORKER), "one_step", str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    assert run.returncode == 0, run.stderr
    result = dict(numpy.load(tmp_path / "rank0.npz"))
    assert int(result["world_size"]) == 1
    for name in names(result, "ddp"):
        numpy.testing.assert_allclose(result[f"ddp/{name}"], result[f"single/{name}"],
                                      rtol=0, atol=1e-12)


@needs_mpi
@pytest.mark.slow
def test_the_example_trains_on_two_ranks_and_its_lesson_holds(tmp_path):
    run = mpirun(2, [ROOT / "examples" / "ddp_adding.py", "--seq-len", "10", "--steps", "300",
                     "--hidden-size", "16"], tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    lessons = re.findall(r"^lesson (\S+): (.+): (.+) -> (holds|does not hold)$", run.stdout,
                         re.M)
    assert [(name, verdict) for name, _, _, verdict in lessons] == [("ddp_adding", "holds")]
    assert "2 rank(s) with 32 samples each" in lessons[0][1]
    assert (tmp_path / "out" / "ddp_rank_shares.png").read_bytes()[:4] == b"\x89PNG"


@needs_mpi
@pytest.mark.slow
def test_the_examples_lesson_holds_at_its_defaults(tmp_path):
    # T = 50, hidden 64: about 25 s on 2 cores
    run = mpirun(2, [ROOT / "examples" / "ddp_adding.py"], tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    lessons = re.findall(r"^lesson (\S+): .+ -> (holds|does not hold)$", run.stdout, re.M)
    assert lessons == [("ddp_adding", "holds")], run.stdout[-2000:]


@needs_mpi
@pytest.mark.slow
def test_the_guides_scripts_run_on_two_ranks_as_written(tmp_path):
    (_, shares), (_, script) = scripts(ROOT / "docs" / "distributed.md")
    (tmp_path / "shares.py").write_text(shares)
    run = mpirun(2, ["shares.py"], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == "max |sum of shares - weight.grad| = 0.0\n"      # printed by rank 0
    assert (tmp_path / "ddp_rank_shares.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "train.py").write_text(script)
    run = mpirun(2, ["train.py"], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    saved = ts.load(tmp_path / "model.pt")      # rank 0's checkpoint, keys without module.
    assert sorted(saved) == ["fc.bias", "fc.weight", "rnn.bias_hh_l0", "rnn.bias_ih_l0",
                             "rnn.weight_hh_l0", "rnn.weight_ih_l0"]


@needs_mpi
@pytest.mark.slow
def test_the_scaling_benchmark_prints_a_row_per_world_size(capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import ddp_scaling
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    ddp_scaling.main(rounds=1, steps=1, warmup=0)
    rows = re.findall(r"^\s+([12])\s+(\d+)\s+([\d.]+)\s+\(\S+\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$",
                      capsys.readouterr().out, re.M)
    assert [(ranks, share) for ranks, share, *_ in rows] == [("1", "256"), ("2", "128")]
    assert all(float(value) > 0 for row in rows for value in row[2:])


NCCL_GROUP_OF_ONE = """
import numpy
import tinyseq as ts
import tinyseq.distributed as dist
from tinyseq import backend, nn

dist.init_process_group("nccl")
assert (dist.get_backend(), dist.get_world_size(), dist.get_rank()) == ("nccl", 1, 0)
ts.manual_seed(0)
model = nn.Linear(3, 2).double().to("cuda")
ddp = nn.parallel.DistributedDataParallel(model)
ddp(ts.ones(4, 3, dtype=ts.float64, device="cuda")).sum().backward()
assert backend.device_of(model.weight.grad.array).name == "cuda"
assert model.weight.grad.numpy().tolist() == [[4.0] * 3] * 2
on_gpu = ts.tensor([1.0, 3.0], device="cuda")
dist.all_reduce(on_gpu, dist.ReduceOp.AVG)
on_host = ts.tensor([2, 5])
dist.broadcast(on_host, src=0)
assert on_gpu.numpy().tolist() == [1.0, 3.0] and on_host.numpy().tolist() == [2, 5]
dist.barrier()
dist.destroy_process_group()
print("nccl ok")
"""


@pytest.mark.skipif(not (dist.is_nccl_available() and ts.backend.cuda_available()),
                    reason="needs CuPy and a GPU")
def test_nccl_group_of_one_averages_gradients_on_the_gpu(tmp_path):
    with socket.socket() as probe:                  # a free port for cupyx's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORLD_SIZE="1", RANK="0", LOCAL_RANK="0",
               MASTER_PORT=str(port))
    run = subprocess.run([sys.executable, "-c", NCCL_GROUP_OF_ONE], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "nccl ok"


# --- in this process --------------------------------------------------------------------------
def test_import_tinyseq_imports_no_mpi():
    code = "import sys, tinyseq, tinyseq.distributed; print('mpi4py' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "False", run.stderr


def test_without_a_process_group_the_calls_say_so():
    # ValueError, as torch.distributed's calls raise without a default process group
    assert not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, dist.get_backend):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(ValueError, match="all_reduce: Default process group"):
        dist.all_reduce(ts.ones(2))
    with pytest.raises(ValueError, match="DistributedDataParallel: Default process group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="DistributedSampler: no process group"):
        DistributedSampler(range(4))


@needs_mpi
def test_a_second_init_process_group_is_refused_as_torch_does():
    dist.init_process_group("mpi")          # this process alone: a group of one
    try:
        with pytest.raises(ValueError, match="initialize the default process group twice"):
            dist.init_process_group("mpi")
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_distributed_data_parallel_checks_its_options_before_anything_else():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="DistributedDataParallel: bucket_cap_mb must be a real "
                                        "number, got '25'"):
        nn.parallel.DistributedDataParallel(layer, bucket_cap_mb="25")
    with pytest.raises(ValueError, match="DistributedDataParallel: bucket_cap_mb must be >= 0"):
        nn.parallel.DistributedDataParallel(layer, bucket_cap_mb=-1)
    with pytest.raises(TypeError, match="DistributedDataParallel: broadcast_buffers"):
        nn.parallel.DistributedDataParallel(layer, broadcast_buffers="no")
    with pytest.raises(TypeError, match="DistributedDataParallel: expected a Module, got Parameter"):
        nn.parallel.DistributedDataParallel(layer.weight)


def test_init_process_group_refuses_unknown_backends():
    with pytest.raises(ValueError, match="unknown backend 'gloo'.*'mpi'.*'nccl'"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_contributions_by_rank_need_an_averaged_gradient():
    layer = nn.Linear(2, 1)
    with ts.trace() as tr:
        loss = layer(ts.ones(3, 2)).sum()
    loss.backward()
    with pytest.raises(ValueError, match="no averaged gradient of weight reached this trace"):
        tr.contributions(layer.weight, by="rank")
    with pytest.raises(ValueError, match="by must be 'step', 'loss_step' or 'rank', got 'loss'"):
        tr.contributions(layer.weight, by="loss")


def test_rank_shares_reach_the_trace_and_the_plot(tmp_path):
    layer = nn.Linear(3, 2)
    with ts.trace() as tr:
        loss = layer(ts.ones(4, 3)).sum()
    loss.backward()
    grad = layer.weight.grad.numpy()
    shares = [0.25 * grad, 0.75 * grad]                 # what averaging over 2 ranks reports
    tr.rank_shares(layer.weight, shares)
    assert [r for r, _ in tr.contributions(layer.weight, by="rank")] == [0, 1]
    assert numpy.array_equal(tr.contributions(layer.weight, by="rank")[1][1], 0.75 * grad)
    path = render.plot_rank_contributions(tr, layer.weight, tmp_path / "shares.png", entries=4)
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("length", [0, 1, 5, 6, 7, 10, 11])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_matches_torch_in_order(length, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(length), replicas, rank, shuffle=False,
                                  drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(length), replicas, rank, shuffle=False,
                                               drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == len(list(ours))


@pytest.mark.parametrize("length, replicas, drop_last", [(10, 3, False), (10, 3, True),
                                                        (12, 4, False)])
def test_distributed_sampler_shuffles_one_permutation_per_epoch_shared_by_all_ranks(
        length, replicas, drop_last):
    def shares(epoch, seed=0):
        samplers = [DistributedSampler(range(length), replicas, r, seed=seed,
                                       drop_last=drop_last) for r in range(replicas)]
        for sampler in samplers:
            sampler.set_epoch(epoch)
        return [list(s) for s in samplers]

    first = shares(0)
    assert len({len(s) for s in first}) == 1
    taken = sorted(i for share in first for i in share)
    if drop_last:                           # each index at most once, length // replicas each
        assert len(set(taken)) == len(taken) == (length // replicas) * replicas
    else:                                   # every index, padded by repeating some
        assert set(taken) == set(range(length)) and len(taken) % replicas == 0
    assert shares(0) == first
    assert shares(1) != first
    assert shares(0, seed=1) != first


def test_distributed_sampler_checks_its_rank():
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval "
                                         r"\[0, 2\]"):
        DistributedSampler(range(4), num_replicas=3, rank=3)


def test_distributed_sampler_checks_its_options():
    for options, error, message in [
            (dict(num_replicas="2"), TypeError, "num_replicas must be an int, got '2'"),
            (dict(num_replicas=0), ValueError, "num_replicas must be a positive int, got 0"),
            (dict(rank=1.0), TypeError, "rank must be an int, got 1.0"),
            (dict(seed="0"), TypeError, "seed must be an int, got '0'"),
            (dict(shuffle="yes"), TypeError, "shuffle must be True or False, got 'yes'"),
            (dict(drop_last=None), TypeError, "drop_last must be True or False, got None")]:
        arguments = {"num_replicas": 2, "rank": 0, **options}
        with pytest.raises(error, match="DistributedSampler: " + re.escape(message)):
            DistributedSampler(range(4), **arguments)
    sampler = DistributedSampler(range(4), num_replicas=2, rank=0)
    with pytest.raises(TypeError, match=r"set_epoch: epoch must be an int, got 1\.5"):
        sampler.set_epoch(1.5)
    assert sampler.epoch == 0


def test_data_loader_batches_in_the_samplers_order():
    data = TensorDataset(numpy.arange(10.0))
    sampler = DistributedSampler(data, num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(data, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [batch[0].tolist() for batch in loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(data, sampler=sampler, shuffle=True)

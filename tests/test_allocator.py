"""tinyseq/allocator.py: a training step reuses the memory the last one freed (glibc's malloc
thresholds raised at import), unless the user set glibc's switches."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")

STEPS = """
import resource
import tinyseq as ts
import tinyseq.functional as F
from tinyseq import allocator, nn, optim
ts.manual_seed(0)
layer = nn.LSTM(32, 64)
opt = optim.SGD(layer.parameters(), lr=0.01)
x, y = ts.randn(32, 32, 32), ts.randn(32, 32, 64)
def step():
    out, _ = layer(x)
    loss = F.mse_loss(out, y)
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(allocator.tuned, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def run_steps(**switches):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environment.update(switches, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", STEPS], env=environment, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0] == "True", float(out[1])


def test_a_training_step_reuses_freed_memory_and_the_users_switches_win():
    tuned, faults_per_step = run_steps()
    assert tuned and faults_per_step < 50
    tuned, faults_per_step = run_steps(MALLOC_TRIM_THRESHOLD_="131072",
                                       MALLOC_MMAP_THRESHOLD_="131072")
    assert not tuned and faults_per_step > 200         # each step maps its buffers in again

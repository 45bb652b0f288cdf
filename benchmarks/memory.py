"""Peak memory of one LSTM training step against the activations its backward must keep.

One M-size step: a single-layer nn.LSTM with T=50 steps, batch B=64, D=128 input features,
H=256 hidden units, float32; forward, MSE loss of the output sequence against a target of the
same shape (T, B, H), backward, SGD update. Run for impl="fused" and impl="primitive".

Measured: with tracemalloc (NumPy reports its array allocations to it), after one warm-up
step, the peak of traced memory during the step minus the traced memory just before it. So
parameters, the input x, the target y and anything alive between steps are not counted; what
the step allocates (its graph, its activations, temporaries, the new gradients) is.

The floor: what any implementation of backpropagation through time (without recomputing the
forward) has alive at the end of the forward pass, per time step t and batch row, in units of
H floats:

    gate activations  i, f, g, o after their sigmoid / tanh            4H   (the gate derivatives
                                                                              come from them)
    c_{t-1}          the previous cell state                             H   (df = dc * c_{t-1})
    tanh(c_t)                                                            H   (do, and dc through h)
    h_{t-1}          the previous hidden state = the output sequence     H   (dW_hh = sum dgates^T h_{t-1})
    input projection W_ih x_t + b_ih for all steps at once               4H  (computed in one
                                                                              product before the
                                                                              recurrence; alive
                                                                              at the same time)

so floor = T * B * 11H * 4 bytes = 34.4 MiB. Without the input projection (an implementation
that projects step by step, or frees the projection after the loop) the saved activations
alone are 7H per step: the "saved-only floor" column, 21.9 MiB. The fused layer goes below
both: it writes the gate activations over the projection's buffer and recomputes tanh(c_t) in
backward, keeping 6H per step (18.8 MiB). (Below 2^15 gate values per step, far smaller than
M, it takes one product of [h_{t-1}, x_t, 1] per step instead of a projection and keeps those
inputs, H + D + 1 more per step.) Not counted: x (T, B, D) itself (it exists before
the step and dW_ih needs it), parameter gradients (1.5 MiB), and the loss gradient
dL/doutput (T, B, H), which exists only once backward starts.

The table's "kept after fwd" column is the traced memory still alive after forward + loss
(before backward): what the graph actually keeps, to set against the floor. All sizes are MiB
(1024 * 1024 bytes), printed as "MB".

Run: python benchmarks/memory.py [--repeat 3]
"""
import argparse
import gc
import time
import tracemalloc

import numpy as np

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim

T, B, D, H = 50, 64, 128, 256
BYTES = 4  # float32
MB = 1024 * 1024


def floor_bytes(with_projection=True):
    per_step = (4 + 1 + 1 + 1 + (4 if with_projection else 0)) * H
    return T * B * per_step * BYTES


def measure(impl, repeat):
    ts.manual_seed(0)
    lstm = nn.LSTM(D, H, impl=impl)
    opt = optim.SGD(lstm.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = ts.tensor(rng.standard_normal((T, B, D)).astype(np.float32))
    y = ts.tensor(rng.standard_normal((T, B, H)).astype(np.float32))

    kept = []

    def step():
        output, _ = lstm(x)
        loss = F.mse_loss(output, y)
        if tracemalloc.is_tracing():
            kept.append(tracemalloc.get_traced_memory()[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up: optimizer state, caches
    peaks, seconds = [], []
    tracemalloc.start()
    try:
        for _ in range(repeat):
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
            kept[-1] -= before
    finally:
        tracemalloc.stop()
    return min(peaks), max(peaks), min(kept), min(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    floor = floor_bytes()
    saved_only = floor_bytes(with_projection=False)
    print(f"LSTM training step, T={T} B={B} D={D} H={H} float32, forward + MSE + backward + SGD")
    print(f"floor = T*B*11H*4 bytes = {floor / MB:.1f} MB (saved-only floor T*B*7H*4 = "
          f"{saved_only / MB:.1f} MB)")
    print(f"{'variant':<10} {'peak MB':>9} {'floor MB':>9} {'ratio':>6} {'ratio to saved-only':>20} "
          f"{'kept after fwd MB':>18} {'step s (traced)':>16}")
    for impl in ("fused", "primitive"):
        peak, peak_max, kept, seconds = measure(impl, args.repeat)
        print(f"{impl:<10} {peak / MB:>9.1f} {floor / MB:>9.1f} {peak / floor:>6.2f} "
              f"{peak / saved_only:>20.2f} {kept / MB:>18.1f} {seconds:>16.3f}"
              + (f"   (peaks vary up to {peak_max / MB:.1f} MB)" if peak_max > 1.01 * peak else ""))


if __name__ == "__main__":
    main()

"""What the tracer costs: an LSTM training step (the default fused layer) with no trace
active, compared with the same step with tinyseq's tracing hooks removed (the reference:
Module.__call__ calling forward directly, ts.timestep / ts.scope as empty contexts), and with
a trace recording.

    python benchmarks/trace_overhead.py [--size M] [--rounds 15]

Sizes are recurrent_step.py's (T, B, D, H): S (32, 32, 32, 64), M (50, 64, 128, 256),
L (100, 64, 256, 512).

The variants run by turns within each round (the order reversed every other round); the table gives the median time and the median
of the per-round ratios against the reference (hooks removed).
"""
import argparse
import contextlib
import statistics

from paired import paired_ratio, run_by_turns
from recurrent_step import SIZES

import tinyseq as ts
import tinyseq.functional as F
from tinyseq import nn, optim
from tinyseq.nn import module, recurrent


class _Nothing:
    def __init__(self, *args):
        pass

    __enter__ = __exit__ = lambda self, *args: None


@contextlib.contextmanager
def hooks_removed():
    """Module.__call__ -> forward, timestep and scope -> empty contexts, for the reference."""
    saved = module.Module.__call__, recurrent.timestep, recurrent.scope
    module.Module.__call__ = lambda self, *args, **kwargs: self.forward(*args, **kwargs)
    recurrent.timestep = recurrent.scope = _Nothing
    try:
        yield
    finally:
        module.Module.__call__, recurrent.timestep, recurrent.scope = saved


def _with_hooks_removed(step):
    with hooks_removed():
        step()


def make_step(steps, batch, features, hidden):
    ts.manual_seed(0)
    lstm, head = nn.LSTM(features, hidden), nn.Linear(hidden, 1)
    optimizer = optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=0.01)
    x, y = ts.randn(steps, batch, features), ts.randn(batch, 1)

    def step(traced=False):
        with (ts.trace() if traced else contextlib.nullcontext()):
            output, _ = lstm(x)
            loss = F.mse_loss(head(output[-1]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def main(size="M", rounds=15):
    steps, batch, features, hidden = SIZES[size]
    step = make_step(steps, batch, features, hidden)
    times = run_by_turns({"hooks removed (reference)": lambda: _with_hooks_removed(step),
                          "no trace active": step,
                          "trace recording": lambda: step(traced=True)}, rounds, repeats=3)
    reference = times["hooks removed (reference)"]
    print(f"LSTM training step at {size}: T={steps} B={batch} D={features} H={hidden}, float32, "
          f"{rounds} rounds (median; ratio = median of per-round ratios)")
    print(f"{'variant':28s} {'time (ms)':>10s} {'ratio':>7s}")
    for name, values in times.items():
        ratio = paired_ratio(values, reference)
        print(f"{name:28s} {1000 * statistics.median(values):10.2f} {ratio:7.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=list(SIZES))
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    main(arguments.size, arguments.rounds)

"""Timing by turns, shared by the benchmarks: the contenders run alternately in every round
(the order reversed every other round), so the machine's drift hits them alike, and each is
compared with the reference by the median of its per-round ratios.

Before each turn the machine idles for ``pause`` seconds: the worker threads of the previous
contender's thread pools (OpenBLAS, OpenMP) spin for a while after their last job, and without
the pause they would take the cores from whoever runs next."""
import statistics
import time


def run_by_turns(runs, rounds, repeats=1, pause=0.2):
    """{name: [seconds per call in each round]} for ``runs`` = {name: function}, after one
    warm-up call each."""
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    for round_number in range(rounds):
        for name in (list(runs) if round_number % 2 == 0 else list(reversed(runs))):
            time.sleep(pause)
            start = time.perf_counter()
            for _ in range(repeats):
                runs[name]()
            times[name].append((time.perf_counter() - start) / repeats)
    return times


def paired_ratio(values, reference):
    """The median over rounds of value / reference."""
    return statistics.median(v / r for v, r in zip(values, reference))

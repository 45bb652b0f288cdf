"""One recurrent training step: tinyseq against PyTorch, with paired ratios.

A step is forward over the whole sequence (T, B, D), a mean-square loss on the outputs,
backward, and an SGD update; float32. For every size and cell the contenders run by turns in
each round (the order reversed every other round, each turn after a pause, 0.2 s unless
``--pause`` says, so that the previous contender's spinning thread pools are quiet), and the
table gives the median time and the median of the per-round ratios against the reference,
PyTorch's fused nn.LSTM / nn.GRU / nn.RNN (this machine's absolute times drift between
processes; paired ratios hold better).

    python benchmarks/recurrent_step.py                       # LSTM, GRU, RNN at S, M, L
    python benchmarks/recurrent_step.py --cells lstm --sizes S --rounds 5
    python benchmarks/recurrent_step.py --rounds 9 --doc docs/performance.md   # also its table
    python benchmarks/recurrent_step.py --device cuda   # CuPy against cuDNN, on a GPU machine
    OMP_NUM_THREADS=1 python benchmarks/recurrent_step.py --threads 1 --pause 0   # back to back

Contenders: tinyseq fused (the default layer), tinyseq primitive (every gate a primitive op),
PyTorch nn.<Cell> and, for the LSTM, PyTorch's own primitive-op loop and DeZero's LSTM layer
(`pip install dezero`; its loss is the per-step MSE summed, as DeZero's layer runs one step at
a time). PyTorch and DeZero are left out when not installed; without PyTorch the ratios are
against tinyseq fused. With ``--device cuda`` tinyseq runs on CuPy and PyTorch on CUDA (its
nn.<Cell> is then cuDNN's), DeZero is left out, and every step ends by waiting for the GPU.
This GPU mode has not yet been run: no GPU was lent to this project's development.
"""
import argparse
import statistics

import numpy
from paired import paired_ratio, run_by_turns

import tinyseq as ts

try:
    import torch
except ImportError:
    torch = None

try:                                 # DeZero 0.0.13 predates NumPy 2 and still uses numpy.int
    if not hasattr(numpy, "int"):
        numpy.int = int
    import dezero
    import dezero.functions
    import dezero.layers
    import dezero.optimizers
except ImportError:
    dezero = None

SIZES = {"S": (32, 32, 32, 64), "M": (50, 64, 128, 256), "L": (100, 64, 256, 512)}  # T, B, D, H


def tinyseq_step(cell, impl, steps, batch, features, hidden, device="cpu", package=ts):
    """A training step of tinyseq, or of ``package``, another checkout's tinyseq imported under
    another name (benchmarks/before_after.py)."""
    package.manual_seed(0)
    layer = getattr(package.nn, cell.upper())(features, hidden, impl=impl)
    layer.to(device)
    optimizer = package.optim.SGD(layer.parameters(), lr=0.01)
    x = package.randn(steps, batch, features).to(device)
    y = package.randn(steps, batch, hidden).to(device)
    mse_loss = package.functional.mse_loss

    def step():
        output, _ = layer(x)
        loss = mse_loss(output, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device == "cuda":                 # kernels run asynchronously: wait for them
            package.backend.get_device("cuda").xp.cuda.get_current_stream().synchronize()
    return step


def torch_update(loss, optimizer, device):
    """Backward and an SGD step; on CUDA, wait for the GPU so that the step's time holds it."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if device == "cuda":
        torch.cuda.synchronize()


def torch_step(cell, steps, batch, features, hidden, device="cpu"):
    torch.manual_seed(0)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](features, hidden)
    layer.to(device)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.01)
    x = torch.randn(steps, batch, features, device=device)
    y = torch.randn(steps, batch, hidden, device=device)

    def step():
        output, _ = layer(x)
        torch_update(torch.nn.functional.mse_loss(output, y), optimizer, device)
    return step


def torch_primitive_lstm_step(steps, batch, features, hidden, device="cpu"):
    """PyTorch LSTM written from primitive ops in a Python loop (the teaching-path reference)."""
    torch.manual_seed(0)
    weight_ih = torch.nn.Parameter(torch.randn(4 * hidden, features, device=device) * hidden ** -0.5)
    weight_hh = torch.nn.Parameter(torch.randn(4 * hidden, hidden, device=device) * hidden ** -0.5)
    bias = torch.nn.Parameter(torch.zeros(4 * hidden, device=device))
    optimizer = torch.optim.SGD([weight_ih, weight_hh, bias], lr=0.01)
    x = torch.randn(steps, batch, features, device=device)
    y = torch.randn(steps, batch, hidden, device=device)

    def step():
        h = torch.zeros(batch, hidden, device=device)
        c = torch.zeros(batch, hidden, device=device)
        outputs = []
        for t in range(steps):
            gates = x[t] @ weight_ih.T + h @ weight_hh.T + bias
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        torch_update(torch.nn.functional.mse_loss(torch.stack(outputs), y), optimizer, device)
    return step


def dezero_lstm_step(steps, batch, features, hidden):
    """DeZero's LSTM layer stepped over the sequence, a mean-square loss per step summed."""
    numpy.random.seed(0)

    class Model(dezero.Model):
        def __init__(self):
            super().__init__()
            self.lstm = dezero.layers.LSTM(hidden)

    model = Model()
    optimizer = dezero.optimizers.SGD(0.01).setup(model)
    x = numpy.random.randn(steps, batch, features).astype(numpy.float32)
    y = numpy.random.randn(steps, batch, hidden).astype(numpy.float32)

    def step():
        model.lstm.reset_state()
        loss = 0
        for t in range(steps):
            loss = loss + dezero.functions.mean_squared_error(model.lstm(x[t]), y[t])
        model.cleargrads()
        loss.backward()
        optimizer.update()
    return step


def contenders(cell, size, device="cpu"):
    shape = SIZES[size]
    runs = {"tinyseq fused": tinyseq_step(cell, "fused", *shape, device=device),
            "tinyseq primitive": tinyseq_step(cell, "primitive", *shape, device=device)}
    if torch is not None:
        runs[f"PyTorch nn.{cell.upper()}"] = torch_step(cell, *shape, device=device)
        if cell == "lstm":
            runs["PyTorch primitive loop"] = torch_primitive_lstm_step(*shape, device=device)
    if dezero is not None and cell == "lstm" and device == "cpu":
        runs["DeZero LSTM"] = dezero_lstm_step(*shape)
    return runs


def main(cells=("lstm", "gru", "rnn"), sizes=("S", "M", "L"), rounds=7, threads=2, device="cpu",
         pause=0.2):
    """Print the table line by line as it is measured; return its lines."""
    if torch is not None:
        torch.set_num_threads(threads)
    lines = [f"recurrent training step on {device}, float32, {rounds} rounds, {pause} s idle "
             f"before each turn; ratio = median of per-round ratios against the reference "
             f"(first PyTorch row, else tinyseq fused)",
             f"{'cell':5s} {'size':4s} {'T, B, D, H':17s} {'contender':24s} {'ms':>9s} {'ratio':>7s}"]
    print(*lines, sep="\n")
    for cell in cells:
        for size in sizes:
            runs = contenders(cell, size, device)
            times = run_by_turns(runs, rounds, repeats=3 if size == "S" else 1, pause=pause)
            reference = times[f"PyTorch nn.{cell.upper()}" if torch is not None else "tinyseq fused"]
            for name, values in times.items():
                lines.append(f"{cell:5s} {size:4s} {str(SIZES[size]):17s} {name:24s} "
                             f"{1000 * statistics.median(values):9.1f} "
                             f"{paired_ratio(values, reference):7.2f}")
                print(lines[-1], flush=True)
    return lines


def write_into_doc(path, lines):
    """Replace the code block between TABLE_START and TABLE_END in ``path`` with ``lines``."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:start] + "\n```\n" + "\n".join(lines) + "\n```\n" + text[end:])


TABLE_START = ("<!-- recurrent_step table: python benchmarks/recurrent_step.py --doc "
               "docs/performance.md -->")
TABLE_END = "<!-- end of recurrent_step table -->"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=["lstm", "gru", "rnn"])
    parser.add_argument("--sizes", nargs="+", default=["S", "M", "L"], choices=list(SIZES))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds idle before each turn (0: back to back, as a training "
                             "loop runs; it needs one thread each, or the pools' spinning "
                             "threads slow the next contender)")
    parser.add_argument("--doc", metavar="PATH", help="also write the table into this document "
                        "between its markers (the CPU table only)")
    args = parser.parse_args()
    if args.doc and args.device != "cpu":
        parser.error("--doc holds the CPU table; print the GPU table without it")
    numpy.random.seed(0)
    table = main(args.cells, args.sizes, args.rounds, args.threads, args.device, args.pause)
    if args.doc:
        write_into_doc(args.doc, table)

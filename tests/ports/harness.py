"""Runs a ported script on tinyseq or, with its imports turned back, on PyTorch.

Each script in this folder is written with tinyseq's imports (``import tinyseq as torch``,
``from tinyseq import nn``, ...). ``run(script, "torch")`` swaps exactly those lines for
PyTorch's and nothing else, so the two runs share every other line. Both runs start from the
same weights: the PyTorch run notes each top-level module's state_dict at its first call, the
tinyseq run loads it there. Python's and NumPy's generators are seeded alike, and every
``loss.backward()`` notes the loss, which is what the tests compare.
"""
import contextlib
import os
import pathlib
import random
import sys

import numpy

PORTS = pathlib.Path(__file__).parent
TORCH_IMPORTS = {
    "import tinyseq as torch": "import torch",
    "from tinyseq import nn": "import torch.nn as nn",
    "import tinyseq.functional as F": "import torch.nn.functional as F",
    "from tinyseq import optim": "import torch.optim as optim",
    "from tinyseq.utils.data import": "from torch.utils.data import",
    "from tinyseq.nn.utils.rnn import": "from torch.nn.utils.rnn import",
    "from tinyseq.nn.utils import": "from torch.nn.utils import",
    "from tinyseq.autograd import": "from torch.autograd import",
    "from tinyseq.optim.lr_scheduler import": "from torch.optim.lr_scheduler import",
}


def torch_source(source):
    """``source`` with each tinyseq import line replaced by PyTorch's."""
    lines = []
    for line in source.splitlines():
        for ours, theirs in TORCH_IMPORTS.items():
            if line.startswith(ours):
                line = theirs + line[len(ours):]
        lines.append(line)
    return "\n".join(lines) + "\n"


class Recorder:
    """Losses seen by backward, and the starting weights of the top-level modules."""

    def __init__(self, weights=None):
        self.losses = []
        self.weights = [] if weights is None else list(weights)
        self.seen = {}       # id -> module, kept alive so that no later module reuses its id
        self.depth = 0

    def first_call(self, module, load):
        if self.depth == 0 and id(module) not in self.seen:
            self.seen[id(module)] = module
            if load:
                if self.weights:
                    # a weight tied to another (decoder.weight = encoder.weight) is one entry
                    # in tinyseq's state_dict and one per name in PyTorch's
                    known = module.state_dict()
                    module.load_state_dict({k: v for k, v in self.weights.pop(0).items()
                                            if k in known})
            else:
                self.weights.append({k: v.detach().cpu().numpy().copy()
                                     for k, v in module.state_dict().items()})


@contextlib.contextmanager
def _patched(framework, recorder):
    if framework == "torch":
        import torch
        backward, call = torch.Tensor.backward, torch.nn.Module.__call__
        module_class, tensor_class, load = torch.nn.Module, torch.Tensor, False
    else:
        import tinyseq
        backward, call = tinyseq.Tensor.backward, tinyseq.nn.Module.__call__
        module_class, tensor_class, load = tinyseq.nn.Module, tinyseq.Tensor, True

    def noting_backward(self, *args, **kwargs):
        recorder.losses.append(float(self.detach().sum().item()))
        return backward(self, *args, **kwargs)

    def starting_call(self, *args, **kwargs):
        recorder.first_call(self, load)
        recorder.depth += 1
        try:
            return call(self, *args, **kwargs)
        finally:
            recorder.depth -= 1

    tensor_class.backward, module_class.__call__ = noting_backward, starting_call
    try:
        yield
    finally:
        tensor_class.backward, module_class.__call__ = backward, call


def run(script, framework, workdir, argv=(), replace=None, weights=None, modules=None):
    """Run ``script`` in ``workdir`` on "tinyseq" or "torch"; ``replace`` shrinks sizes (the
    same text replacements in both runs); ``modules`` maps the names the script imports its
    own helper modules by to their files here. Returns the Recorder."""
    source = (PORTS / script).read_text()
    for name, file in (modules or {}).items():
        helper = (PORTS / file).read_text()
        (pathlib.Path(workdir) / f"{name}.py").write_text(
            torch_source(helper) if framework == "torch" else helper)
    if framework == "torch":
        source = torch_source(source)
    for old, new in (replace or {}).items():
        assert old in source, f"{script}: {old!r} not found"
        source = source.replace(old, new)
    recorder = Recorder(weights)
    random.seed(0)
    numpy.random.seed(0)
    old_cwd, old_argv, old_path = os.getcwd(), sys.argv, list(sys.path)
    for name in modules or {}:
        sys.modules.pop(name, None)
    os.chdir(workdir)
    sys.argv = [script] + list(argv)
    sys.path.insert(0, str(workdir))
    try:
        with _patched(framework, recorder):
            exec(compile(source, str(PORTS / script), "exec"), {"__name__": "__main__"})
    finally:
        os.chdir(old_cwd)
        sys.argv, sys.path[:] = old_argv, old_path
        for name in modules or {}:
            sys.modules.pop(name, None)
    return recorder


def port_pair(script, workdir_factory, **kwargs):
    """The PyTorch run, then the tinyseq run from the same weights: (theirs, ours)."""
    theirs = run(script, "torch", workdir_factory(), **kwargs)
    ours = run(script, "tinyseq", workdir_factory(), weights=theirs.weights, **kwargs)
    return theirs, ours

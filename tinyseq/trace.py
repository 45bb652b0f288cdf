"""Recording the unrolled graph: which op ran at which time step, in which module, on what.

    with ts.trace() as tr:
        out, h = rnn(x)
        loss = F.mse_loss(out, y)
    loss.backward()
    tr.contributions(rnn.weight_hh_l0)   # [(t, dL/dW_hh from step t), ...]; they sum to .grad

A shared weight such as W_hh is an input of one op per time step, so backward sends it one
gradient per step: dL/dW_hh = sum over t of dL/dW_hh|_t. The trace keeps each of those terms
with the time step of the op that produced it. Nothing is recorded, and nothing costs, while
no trace is active.
"""
import math

import numpy

from . import autograd, backend
from .autograd import state
from .nn.module import Parameter


class OpRecord:
    """One op as recorded: its kind, time step, module path (and ``scope``, the names of the
    ``ts.scope`` blocks it ran in), inputs and output shape.

    ``inputs`` holds ("op", index), ("param", key), ("data", key) or ("const", None) per input.
    """

    __slots__ = ("index", "kind", "time_step", "module_path", "scope", "inputs", "shape", "node",
                 "grad_norm")

    def __init__(self, index, kind, time_step, module_path, scope, inputs, shape, node):
        self.index = index
        self.kind = kind
        self.time_step = time_step
        self.module_path = module_path
        self.scope = scope
        self.inputs = inputs
        self.shape = shape
        self.node = node
        self.grad_norm = None


class LeafRecord:
    """A tensor that entered the traced ops without being made by them: a parameter (or any
    leaf that requires grad) or data (inputs, targets, initial states)."""

    __slots__ = ("key", "name", "shape", "tensor", "is_param")

    def __init__(self, key, name, shape, tensor, is_param):
        self.key = key
        self.name = name
        self.shape = shape
        self.tensor = tensor
        self.is_param = is_param


class trace:
    """Context manager that records every op created inside (see the module docstring).

    After the block, a backward pass through the recorded ops still reports to the trace for
    as long as it is alive: the gradient flowing out of each op and each gradient contribution
    to each leaf.
    """

    def __init__(self):
        self.ops = []
        self.leaves = {}
        self.leaf_order = {}
        self._op_of_node = {}
        self._op_of_tensor = {}
        self._kept_outputs = []
        self._param_names = {}
        self._contributions = {}
        self._module_names = {}
        self.module_kinds = {}
        self._previous = None

    def __enter__(self):
        if state.tracer is not None:
            raise RuntimeError("trace: another trace is already recording; traces do not nest")
        self._previous = state.module_path
        state.tracer = self
        state.module_path = ()
        autograd.live_traces.add(self)
        return self

    def __exit__(self, *exc):
        state.tracer = None
        state.module_path = self._previous

    # --- recording (called by the engine and by Module.__call__) ----------------------------
    def _call_module(self, module, args, kwargs):
        if id(module) not in self._module_names:
            for name, child in module.named_modules():
                if id(child) not in self._module_names:
                    self._module_names[id(child)] = name
                    self.module_kinds.setdefault(name, type(child).__name__)
        path = state.module_path
        name = self._module_names[id(module)]
        state.module_path = tuple(name.split(".")) if name else ()
        for param_name, p in module._parameters.items():
            self._param_names.setdefault(id(p), f"{name}.{param_name}" if name else param_name)
        try:
            return module.forward(*args, **kwargs)
        finally:
            state.module_path = path

    def _record_op(self, node, inputs, out):
        refs = [self._ref(t) for t in inputs]
        record = OpRecord(len(self.ops), node.name, state.time_step, ".".join(state.module_path),
                          " / ".join(state.scope), refs, tuple(out.shape), node)
        self.ops.append(record)
        if out._node is node:
            self._op_of_node[id(node)] = record
        else:
            self._op_of_tensor[id(out)] = record
            self._kept_outputs.append(out)

    def _ref(self, t):
        node = t._node
        if node is not None and id(node) in self._op_of_node:
            return ("op", self._op_of_node[id(node)].index)
        if id(t) in self._op_of_tensor:
            return ("op", self._op_of_tensor[id(t)].index)
        if t.ndim == 0 and not t.requires_grad:
            return ("const", None)
        key = id(t)
        if key not in self.leaves:
            self.leaf_order[key] = len(self.leaves)
            is_param = t.requires_grad or isinstance(t, Parameter)
            name = self._param_names.get(key) or ("leaf" if is_param else "input")
            self.leaves[key] = LeafRecord(key, name, tuple(t.shape), t, is_param)
        return ("param" if self.leaves[key].is_param else "data", key)

    def _record_output_grad(self, node, g):
        record = self._op_of_node.get(id(node))
        if record is not None:
            xp = backend.device_of(g).xp
            record.grad_norm = float(xp.sqrt((g.astype("float64") ** 2).sum()))

    def _record_leaf_grad(self, node, leaf, grad):
        record = self._op_of_node.get(id(node))
        if record is not None:
            self._contributions.setdefault(id(leaf), []).append((record.time_step, grad))

    # --- reading ----------------------------------------------------------------------------
    @property
    def steps(self):
        """The number of distinct time steps seen."""
        return len(self.time_steps)

    @property
    def time_steps(self):
        return sorted({r.time_step for r in self.ops if r.time_step is not None})

    def parameters(self):
        """The leaves that require grad (parameters), in order of first use: [LeafRecord]."""
        return [leaf for leaf in self.leaves.values() if leaf.is_param]

    def contributions(self, param):
        """[(t, ndarray)]: the gradient of ``param`` from the ops of each time step (t None
        for uses outside any step), in step order. They add up to this backward's gradient."""
        leaf = self.leaves.get(id(param))
        if leaf is None or not leaf.is_param:
            raise ValueError(f"contributions: this tensor (shape {tuple(param.shape)}) was not "
                             f"used as a parameter by any traced op")
        if id(param) not in self._contributions:
            raise ValueError(f"contributions: no gradient reached {leaf.name} yet; call "
                             f"backward() on a traced loss while the trace is alive")
        per_step = {}
        for t, grad in self._contributions[id(param)]:
            per_step[t] = per_step[t] + grad if t in per_step else grad
        order = sorted(per_step, key=lambda t: -1 if t is None else t)
        return [(t, backend.to_numpy(per_step[t])) for t in order]

    def contribution_norms(self, param):
        """[(t, ||dL/dparam from step t||)] in step order."""
        return [(t, float(numpy.linalg.norm(g))) for t, g in self.contributions(param)]

    def state_grad_norms(self):
        """{t: ||dL/dstate_t||}: the norm of the gradient reaching what step t hands on, i.e.
        the outputs of step t's ops that are read by ops outside step t (the next step's
        recurrence, an output layer, a loss). Needs a backward pass while the trace lives."""
        squares = {}
        counted = set()
        for record in self.ops:
            for kind, source in record.inputs:
                if kind != "op" or source in counted:
                    continue
                producer = self.ops[source]
                t = producer.time_step
                if t is not None and record.time_step != t and producer.grad_norm is not None:
                    counted.add(source)
                    squares[t] = squares.get(t, 0.0) + producer.grad_norm ** 2
        return {t: math.sqrt(squares[t]) for t in sorted(squares)}

    def to_dot(self, **options):
        """Graphviz DOT source of the unrolled graph; see ``tinyseq.render.to_dot``."""
        from .render import to_dot
        return to_dot(self, **options)

    def render(self, path, **options):
        """Write the graph to ``path`` (.svg, .png, .pdf or .dot); see ``tinyseq.render.render``."""
        from .render import render
        return render(self, path, **options)


def gradient_flow(loss_fn, weight):
    """Run ``loss_fn()`` under a trace, backpropagate, and measure for every time step t the
    norm of dL/dh_t (the gradient reaching step t's state) and of step t's contribution to
    dL/dweight. Returns {"steps", "state_grad_norms", "weight_contribution_norms", "loss"}.
    The backward pass accumulates into ``.grad`` as usual."""
    with trace() as tr:
        loss = loss_fn()
    loss.backward()
    states = tr.state_grad_norms()
    contributions = dict(tr.contribution_norms(weight))
    steps = tr.time_steps
    return {"steps": steps,
            "state_grad_norms": [states.get(t, 0.0) for t in steps],
            "weight_contribution_norms": [contributions.get(t, 0.0) for t in steps],
            "loss": loss.item()}

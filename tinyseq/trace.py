"""Recording the unrolled graph: which op ran at which time step, in which module, on what.

    with ts.trace() as tr:
        out, h = rnn(x)
        loss = F.mse_loss(out, y)
    loss.backward()
    tr.contributions(rnn.weight_hh_l0)   # [(t, dL/dW_hh from step t), ...]; they sum to .grad

A shared weight such as W_hh is an input of one op per time step, so backward sends it one
gradient per step: dL/dW_hh = sum over t of dL/dW_hh|_t. The trace keeps each of those terms
with the time step of the op that produced it. With a loss at every step, L = sum_t L_t,
``tr.contributions(W, by="loss_step", losses=[L_0, ...])`` splits them once more: the matrix
||dL_t/dW from step s|| over loss step t and use step s. Nothing is recorded, and nothing
costs, while no trace is active.

A trace is an observer of the engine (``observers.Observer``): it records the ops created in its
``with`` block, in its own thread, and afterwards hears the backward passes through exactly
those ops for as long as it is alive. It never changes which ops run or what they compute: a
traced run's outputs and gradients are bit-identical to an untraced one. An op that runs a
time loop inside (the fused recurrent layer) is recorded as one record per time step plus one
that gathers them, and reports each step's gradient and each step's share of its weights'
gradients itself. An op that computes all steps in one product (the input projection of a
primitive layer, made inside ``ts.timestep(range(T))``) has its weight's gradient split by
the trace: the rows of x_t and of the output gradient at step t give step t's share.

``ts.trace(values=True)`` also keeps the forward values of every recurrent layer, cell and
attention module called inside (read back with ``Trace.activations``): copies of h (and c)
and of the gates, T x B x H numbers each per layer direction (an LSTM layer: six of them, as
much memory as the layer's own activations), and attention weights, T x B x S. They live as
long as the trace. Without ``values`` nothing beyond the graph's bookkeeping is kept.

``tinyseq.trace`` is this module; calling it, ``ts.trace()``, makes a ``Trace``.
"""
import math
import sys
import types
import weakref

import numpy

from . import accumulate, backend
from .modes import module_path_text, state
from .observers import Observer, add_observer, remove_observer
from .nn.module import Parameter


class OpRecord:
    """One op as recorded: its kind, time step, module path (and ``scope``, the names of the
    ``ts.scope`` blocks it ran in), inputs and output shape.

    ``inputs`` holds ("op", index), ("param", key), ("data", key) or ("const", None) per input.
    An op that computes several steps at once (made inside ``ts.timestep(range(T))``, as the
    input projection of a primitive recurrent layer) has ``time_step`` None, the steps in
    ``steps_at_once`` (step ``steps_at_once[k]`` at index k of its output's ``time_axis``).
    """

    __slots__ = ("index", "kind", "time_step", "module_path", "scope", "inputs", "shape",
                 "grad_norm", "steps_at_once", "time_axis")

    def __init__(self, index, kind, time_step, module_path, scope, inputs, shape):
        self.index = index
        self.kind = kind
        self.time_step = time_step
        self.module_path = module_path
        self.scope = scope
        self.inputs = inputs
        self.shape = shape
        self.grad_norm = None
        self.steps_at_once = None
        self.time_axis = None


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


class Trace(Observer):
    """Context manager that records every op created inside (see the module docstring).

    After the block, a backward pass through the recorded ops still reports to the trace for
    as long as it is alive: the gradient flowing out of each op and each gradient contribution
    to each leaf.

    With ``values=True`` it also keeps the forward values of the recurrent layers and cells
    (h and c; LSTM gates i, f, g, o; GRU gates r, z, n) and of attention (its weights), read
    back with ``activations``. That costs a copy of T x B x H numbers per quantity and layer
    direction (for an LSTM layer six quantities: 6 T B H numbers, as much as the layer's
    own activations); without it nothing extra is kept.
    """

    follows_graph = True

    def __init__(self, values=False):
        self.keeps_values = values
        self._values = {}           # (module path, layer direction) -> {quantity: [chunks]}
        self.ops = []
        self.leaves = {}
        self.leaf_order = {}
        self.module_kinds = {}
        self.cuts = {}
        self._op_of_node = {}       # id(node) -> its record (the gathering record for a loop op)
        self._op_of_tensor = {}     # outputs of ops that made no graph node
        self._kept_outputs = []     # ... kept alive, so their ids stay theirs
        self._steps_of_node = {}    # id(loop op) -> {time step: record}
        self._stepped_leaves = {}   # id(loop op) -> ids of leaves it reported per step
        self._at_once_grads = {}    # id(all-steps op) -> its output gradient, until input_grads
        self._transposed_shares = {}  # id(transpose of a weight) -> step shares of its gradient
        self._readers = {}          # op index -> how many recorded ops read its output
        self._step_slices = {}      # op index -> {position on axis 0: the step that read it}
        self._contributions = {}    # id(leaf) -> [(t, gradient, lazy or computed)]
        self._rank_shares = {}      # id(leaf) -> [each rank's share of the averaged gradient]
        self._state_parts = {}      # (module path, layer direction) -> {t: norm of h, c, ...}
        self._step_losses = {}      # time step -> weak reference to the last 0-d output made
        self._roots = []            # outermost modules seen, to name parameters
        self._op_of_array = {}
        self._step_offset = 0
        self._last_step = -1
        self._call_depth = 0
        self._called_modules = set()
        self._offsets = []

    def __enter__(self):
        if any(isinstance(o, Trace) for o in state.observers):
            raise RuntimeError("trace: another trace is already recording; traces do not nest")
        add_observer(self)
        return self

    def __exit__(self, *exc):
        remove_observer(self)

    # --- observing the engine ---------------------------------------------------------------
    def module_entered(self, module):
        if not state.module_path[:-1] and all(root is not module for root in self._roots):
            self._roots.append(module)
        self._offsets.append(self._enter_call(module))

    def module_exited(self, module):
        self._exit_call(self._offsets.pop())

    def op_created(self, node, inputs, output):
        refs = [self._ref(t) for t in inputs]
        path = state.module_path
        module = module_path_text(path)
        if path:
            self.module_kinds.setdefault(module, type(path[-1][1]).__name__)
        scope = " / ".join(state.scope)
        if getattr(node, "time_steps", None) is None:
            record = self._add(node.name, self._global_step(state.time_step), module, scope,
                               refs, tuple(output.shape))
            if state.steps_at_once is not None:
                self._note_steps_at_once(record, inputs)
            elif node.name == "getitem" and record.time_step is not None and refs[0][0] == "op":
                self._note_step_slice(record, refs[0][1], node.index)
        else:
            record = self._add_steps(node, module, scope, refs, tuple(output.shape))
        self._remember_output(record, output)
        if output.ndim == 0 and record.time_step is not None:
            self._step_losses[record.time_step] = weakref.ref(output)
        if output.grad_fn is node:
            self._op_of_node[id(node)] = record
        else:
            self._op_of_tensor[id(output)] = record
            self._kept_outputs.append(output)

    def output_grad(self, node, grad):
        record = self._op_of_node.get(id(node))
        if record is not None:
            record.grad_norm = _norm(grad)
            if record.steps_at_once is not None:
                self._at_once_grads[id(node)] = grad

    def input_grads(self, node, grads):
        output_grad = self._at_once_grads.pop(id(node), None)
        if output_grad is not None:
            self._split_per_step(node, self._op_of_node[id(node)], output_grad, grads)

    def leaf_grad(self, node, leaf, grad):
        record = self._op_of_node.get(id(node))
        if record is None or id(leaf) in self._stepped_leaves.get(id(node), ()):
            return
        shares = self._transposed_shares.pop(id(node), None)
        if shares is not None:          # W.T read by an all-steps product: (a^T b)^T = b^T a
            for t, share in shares:
                self._contributions.setdefault(id(leaf), []).append(
                    (t, accumulate.ProductGrad(share.xp, share.b, share.a)))
            return
        self._contributions.setdefault(id(leaf), []).append((record.time_step, grad))

    def step_grad(self, node, time_step, grad):
        record = self._steps_of_node[id(node)][time_step]
        record.grad_norm = _norm(grad)
        norms = {None: record.grad_norm, "h": _norm(grad[0])}
        if node.step_kind == "lstm_step":
            norms["c"] = _norm(node.cell_state_grad(time_step, grad))
        parts = self._state_parts.setdefault((record.module_path, node.label), {})
        parts[record.time_step] = norms

    def values_reported(self, label, values):
        if not self.keeps_values:
            return
        kept = self._values.setdefault((module_path_text(state.module_path), label), {})
        for quantity, value in values.items():
            if isinstance(value, list):           # one tensor per step, in time order
                chunk = numpy.stack([backend.to_numpy(v.array) for v in value])
            else:                                 # every step at once, time first
                chunk = numpy.array(backend.to_numpy(getattr(value, "array", value)))
            kept.setdefault(quantity, []).append(chunk)

    def rank_shares(self, leaf, shares):
        if id(leaf) in self.leaves:
            self._rank_shares[id(leaf)] = shares

    def step_contribution(self, node, input_index, time_step, compute):
        leaf = node.inputs[input_index]
        if leaf.is_leaf and leaf.requires_grad:
            self._stepped_leaves.setdefault(id(node), set()).add(id(leaf))
            record = self._steps_of_node[id(node)][time_step]
            self._contributions.setdefault(id(leaf), []).append((record.time_step, compute))

    # --- recording --------------------------------------------------------------------------
    def _add(self, kind, time_step, module, scope, refs, shape):
        record = OpRecord(len(self.ops), kind, time_step, module, scope, refs, shape)
        self.ops.append(record)
        for ref_kind, source in refs:
            if ref_kind == "op":
                self._readers[source] = self._readers.get(source, 0) + 1
        return record

    def _note_steps_at_once(self, record, inputs):
        """Inside ``ts.timestep(range(T))``: an op whose output holds the T steps along the
        axis and that reads more than parameters (``W.T`` alone is no step's) computes them
        all at once."""
        steps, axis = state.steps_at_once
        shape = record.shape
        if (axis < len(shape) and shape[axis] == len(steps)
                and not all(t.is_leaf and t.requires_grad for t in inputs)):
            record.steps_at_once = tuple(self._global_step(t) for t in steps)
            record.time_axis = axis

    def _note_step_slice(self, record, source, index):
        """``xw[t]`` inside ``ts.timestep(t)`` of a product over every step made outside any
        step (``xw = x @ W``, as ``ts.timestep(range(T))`` would have tagged it): once each of
        its T positions along axis 0 is read by a different step, the product computes those
        steps at once, and its weight's gradient is split per step."""
        producer = self.ops[source]
        if isinstance(index, tuple) and index and all(i == slice(None) for i in index[1:]):
            index = index[0]
        if (not isinstance(index, (int, numpy.integer)) or isinstance(index, bool)
                or producer.time_step is not None
                or producer.steps_at_once is not None or not producer.shape
                or not any(kind == "param" or (kind == "op" and self.ops[s].kind == "transpose")
                           for kind, s in producer.inputs)):
            return
        count, index = producer.shape[0], int(index)
        slices = self._step_slices.setdefault(source, {})
        position = index % count if -count <= index < count else None
        if position is None or slices.get(position, record.time_step) != record.time_step:
            self._step_slices[source] = {None: None}       # read otherwise: stays whole
            return
        slices[position] = record.time_step
        if len(slices) == count and None not in slices and len(set(slices.values())) == count:
            steps = tuple(slices[k] for k in range(count))
            # and the ops over every step only it reads: x @ W.T of ``x @ W.T + b``
            pending = [producer]
            while pending:
                op = pending.pop()
                op.steps_at_once, op.time_axis = steps, 0
                pending += [self.ops[s] for kind, s in op.inputs if kind == "op"
                            and self._readers.get(s, 0) == 1 and self.ops[s].time_step is None
                            and self.ops[s].steps_at_once is None and self.ops[s].shape
                            and self.ops[s].shape[0] == count and self.ops[s].kind != "transpose"]

    def _split_per_step(self, node, record, output_grad, grads):
        """The gradient an all-steps op sends a shared tensor, as one share per step: a weight
        gradient a^T b (a ProductGrad, whose rows are the output's positions) from the rows of
        each step; a bias of ``linear`` or ``add`` summed over each step's slice of the output
        gradient. A weight read through ``W.T`` gets its shares when the transpose's gradient
        reaches it. Other gradients stay whole (step None)."""
        lead = record.shape[:-1]
        axis, steps = record.time_axis, record.steps_at_once
        for i, (tensor, parent, grad) in enumerate(zip(node.inputs, node.parents, grads)):
            if (grad is None or not tensor.requires_grad
                    or sum(t is tensor for t in node.inputs) > 1):
                continue
            shares = None
            if (type(grad) is accumulate.ProductGrad and axis < len(lead)
                    and grad.a.shape[0] == math.prod(lead)):
                shares = [(t, accumulate.ProductGrad(grad.xp, _step_rows(grad.a, lead, axis, k),
                                                     _step_rows(grad.b, lead, axis, k)))
                          for k, t in enumerate(steps)]
            elif parent is None and _is_bias(record.kind, i, tensor.shape, record.shape, axis):
                shares = [(t, accumulate.sum_to(output_grad[(slice(None),) * axis + (k,)],
                                                tuple(tensor.shape)))
                          for k, t in enumerate(steps)]
            if shares is None:
                continue
            if parent is None:
                self._stepped_leaves.setdefault(id(node), set()).add(id(tensor))
                self._contributions.setdefault(id(tensor), []).extend(shares)
            elif self._is_lone_transpose_of_leaf(parent):
                self._transposed_shares[id(parent)] = shares

    def _is_lone_transpose_of_leaf(self, node):
        """``W.T`` of a leaf W, read by one recorded op only (so its whole gradient is that
        op's)."""
        record = self._op_of_node.get(id(node))
        return (record is not None and record.kind == "transpose" and node.parents[0] is None
                and len(record.shape) == 2 and self._readers.get(record.index, 0) == 1)

    def _add_steps(self, node, module, scope, refs, shape):
        """One record per time step of an op with a time loop inside (each reads every input,
        the state from the step before), then the record of its output, which gathers them."""
        per_step = {}
        previous = refs[node.state_input]
        step_shape = shape[:node.time_axis] + shape[node.time_axis + 1:]
        for t in node.time_steps():
            step_refs = list(refs)
            step_refs[node.state_input] = previous
            record = self._add(node.step_kind, self._global_step(t), module, scope, step_refs,
                               step_shape)
            per_step[t] = record
            previous = ("op", record.index)
        self._steps_of_node[id(node)] = per_step
        return self._add("stack", None, module, scope,
                         [("op", per_step[t].index) for t in sorted(per_step)], shape)

    def _ref(self, t):
        node = t.grad_fn
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
            name = self._param_name(t) or ("leaf" if is_param else "input")
            self.leaves[key] = LeafRecord(key, name, tuple(t.shape), t, is_param)
            self._note_cut(key, t)
        return ("param" if self.leaves[key].is_param else "data", key)

    def _param_name(self, tensor):
        """The dotted name of ``tensor`` in the modules being called (innermost first), or in
        the outermost modules seen; None when it is no module's parameter."""
        path = state.module_path
        for depth in range(len(path), 0, -1):
            prefix = module_path_text(path[:depth])
            for name, p in path[depth - 1][1].named_parameters():
                if p is tensor:
                    return f"{prefix}.{name}" if prefix else name
        for root in self._roots:
            for name, p in root.named_parameters():
                if p is tensor:
                    return name
        return None

    # --- truncated BPTT: global steps across chunks, and where detach() cut the state -------
    def _enter_call(self, module):
        """An outermost module call outside any step that calls a module again (the next chunk
        of truncated BPTT) numbers its steps on after the last step seen. Returns the offset in
        force before the call."""
        outer_offset = self._step_offset
        if self._call_depth == 0 and state.time_step is None:
            if id(module) in self._called_modules:
                self._step_offset = self._last_step + 1
            self._called_modules.add(id(module))
        self._call_depth += 1
        return outer_offset

    def _exit_call(self, outer_offset):
        self._call_depth -= 1
        self._step_offset = outer_offset

    def _global_step(self, time_step):
        if time_step is None:
            return None
        time_step += self._step_offset
        self._last_step = max(self._last_step, time_step)
        return time_step

    def _remember_output(self, record, out):
        try:
            self._op_of_array[id(out.array)] = (weakref.ref(out.array), record.index)
        except TypeError:            # an array type without weak references: no cut detection
            pass

    def _note_cut(self, key, tensor):
        """A leaf that shares its array with a recorded op's output is that output cut from
        the graph (``h.detach()``): the state flows on, the gradient stops."""
        found = self._op_of_array.get(id(tensor.array))
        if found is not None and found[0]() is tensor.array:
            self.cuts[key] = found[1]

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

    def activations(self, module, quantity, layer=0, reverse=False):
        """The forward values of ``quantity`` in ``module`` (its dotted path, "" for the
        outermost module; a submodule called on its own, ``model.rnn(x)``, is "rnn") over
        time: an ndarray (T, B, H), T the steps of every call in this trace in order (a cell
        called once per step gives one step per call).

        These are copies that ``ts.trace(values=True)`` made during forward and keeps as long
        as the trace lives: T x B x H numbers per quantity and layer direction (h, c and four
        gates of an LSTM layer: six such arrays); attention weights T x B x S.

        Quantities: "h" (and "c" for an LSTM); the gates "i", "f", "g", "o" (LSTM) or "r",
        "z", "n" (GRU); "weights" for an Attention module, (T, B, S). A layer's stack is
        addressed by ``layer`` (0 the lowest) and ``reverse`` (the backward direction of a
        bidirectional layer). Needs ``ts.trace(values=True)``."""
        if not self.keeps_values:
            raise ValueError("activations: this trace keeps no values; record with "
                             "ts.trace(values=True)")
        label = f"l{layer}" + ("_reverse" if reverse else "")
        kept = self._values.get((module, label))
        if kept is None and layer == 0 and not reverse:
            kept = self._values.get((module, ""))
        if kept is None:
            known = sorted(f"{m or '(outermost)'} {l}".strip() for m, l in self._values)
            raise ValueError(f"activations: no values of module {module!r} layer {layer}"
                             f"{' reverse' if reverse else ''}; recorded: {known}")
        if quantity not in kept:
            raise ValueError(f"activations: {module!r} has no quantity {quantity!r}; it has "
                             f"{sorted(kept)}")
        return numpy.concatenate(kept[quantity])

    def has_contributions(self, param):
        """Whether a traced backward has sent ``param`` any gradient."""
        return id(param) in self._contributions

    def contributions(self, param, by="step", losses=None):
        """[(t, ndarray)]: the gradient of ``param`` from the ops of each time step (t None
        for uses outside any step), in step order. They add up to this backward's gradient.

        ``by="loss_step"``: for a loss summed over steps, L = sum_t L_t, the matrix
        M[t, s] = ||dL_t/dparam from step s|| (an ndarray, one row per loss step, one column
        per time step of ``time_steps``): which loss step's gradient comes from how far back.
        ``losses`` are the L_t in step order; without it, each step's last 0-d result (a loss
        computed inside ``ts.timestep(t)``). It costs one extra backward pass per loss step
        through the graph, which must still be there: ask before ``backward()``, or after
        ``backward(retain_graph=True)``. The passes leave every ``.grad`` and everything this
        trace measured as they were.

        ``by="rank"`` (data-parallel training, on rank 0): [(r, ndarray)], rank r's share of
        the gradient DistributedDataParallel averaged last (its local gradient divided by the
        number of ranks). They add up to the averaged ``.grad``."""
        if by == "loss_step":
            return self._contributions_by_loss_step(param, losses)
        leaf = self._param_leaf(param, "contributions")
        if by == "rank":
            return self._contributions_by_rank(leaf)
        if by != "step":
            raise ValueError(f"contributions: by must be 'step', 'loss_step' or 'rank', "
                             f"got {by!r}")
        if id(param) not in self._contributions:
            raise ValueError(f"contributions: no gradient reached {leaf.name} yet; call "
                             f"backward() on a traced loss while the trace is alive")
        terms = self._contributions[id(param)]
        for i, (t, grad) in enumerate(terms):      # lazy terms are made whole once, when asked
            if callable(grad):
                terms[i] = (t, grad())
            elif not backend.is_array(grad):
                terms[i] = (t, accumulate.dense(grad))
        per_step = {}
        for t, grad in terms:
            per_step[t] = per_step[t] + grad if t in per_step else grad
        order = sorted(per_step, key=lambda t: -1 if t is None else t)
        return [(t, backend.to_numpy(per_step[t])) for t in order]

    def _contributions_by_rank(self, leaf):
        shares = self._rank_shares.get(leaf.key)
        if shares is None:
            raise ValueError(f"contributions(by='rank'): no averaged gradient of {leaf.name} "
                             f"reached this trace; the shares are on rank 0 after the backward "
                             f"of a DistributedDataParallel model run in this trace")
        return [(rank, backend.to_numpy(share)) for rank, share in enumerate(shares)]

    def _param_leaf(self, param, caller):
        leaf = self.leaves.get(id(param))
        if leaf is None or not leaf.is_param:
            raise ValueError(f"{caller}: this tensor (shape {tuple(param.shape)}) was not "
                             f"used as a parameter by any traced op")
        return leaf

    def _contributions_by_loss_step(self, param, losses):
        """One backward pass per loss term, each heard on its own: the trace's measurements
        and every leaf's ``.grad`` are set aside before and put back after."""
        from .autograd import backward
        leaf = self._param_leaf(param, "contributions")
        if losses is None:
            losses = [self._step_losses[t]() for t in sorted(self._step_losses)]
            if not losses or any(loss is None for loss in losses):
                raise ValueError("contributions(by='loss_step'): no per-step losses recorded; "
                                 "compute each L_t inside ts.timestep(t) or pass losses=")
        for t, loss in enumerate(losses):
            if loss.ndim != 0:
                raise ValueError(f"contributions(by='loss_step'): loss {t} has shape "
                                 f"{tuple(loss.shape)}; each L_t must be 0-d")
        steps = self.time_steps
        column = {t: i for i, t in enumerate(steps)}
        matrix = numpy.zeros((len(losses), len(steps)))
        kept = (self._contributions, self._state_parts, [r.grad_norm for r in self.ops])
        params = [p.tensor for p in self.parameters()]
        grads = [p.grad for p in params]
        try:
            for row, loss in enumerate(losses):
                self._contributions, self._state_parts = {}, {}
                for p in params:
                    p.grad = None
                try:
                    backward(loss, retain_graph=True)
                except RuntimeError as error:
                    if "second time" in str(error):
                        raise RuntimeError(
                            "contributions(by='loss_step'): the graph was freed by backward(); "
                            "ask before it, or call backward(retain_graph=True)") from None
                    raise
                if id(param) in self._contributions:
                    for t, grad in self.contributions(param):
                        if t is not None:
                            matrix[row, column[t]] = numpy.linalg.norm(grad)
        finally:
            self._contributions, self._state_parts, norms = kept
            for record, norm in zip(self.ops, norms):
                record.grad_norm = norm
            for p, grad in zip(params, grads):
                p.grad = grad
        if not matrix.any():
            raise ValueError(f"contributions(by='loss_step'): no loss term reaches {leaf.name}")
        return matrix

    def contribution_norms(self, param):
        """[(t, ||dL/dparam from step t||)] in step order."""
        return [(t, float(numpy.linalg.norm(g))) for t, g in self.contributions(param)]

    def state_grad_norms(self, module=None, state=None, layer=0, reverse=False):
        """{t: ||dL/dstate_t||}: the norm of the gradient reaching what step t hands on, i.e.
        the outputs of step t's ops that are read by ops outside step t (the next step's
        recurrence, an output layer, a loss). Needs a backward pass while the trace lives.

        With ``module`` (a recurrent layer's dotted path, as in ``activations``, or the
        module itself), only that layer's state (``layer``, ``reverse`` as there): ``state``
        "h" gives ||dL/dh_t||, "c" an LSTM's ||dL/dc_t|| (all of it: through c_{t+1} and
        through h_t = o_t tanh(c_t), as ``c_t.retain_grad()`` in a cell loop would give), None
        the gradient of the state step t hands on, h_t and c_t's share from step t+1
        together."""
        if module is None:
            if state is not None:
                raise ValueError("state_grad_norms: state= needs the module whose state it is")
            return self._all_state_grad_norms()
        path = module if isinstance(module, str) else self._module_path(module)
        label = f"l{layer}" + ("_reverse" if reverse else "")
        parts = self._state_parts.get((path, label))
        if parts is None and layer == 0 and not reverse:
            parts = self._state_parts.get((path, ""))
        if parts is None:
            known = sorted(f"{m or '(outermost)'} {l}".strip() for m, l in self._state_parts)
            raise ValueError(f"state_grad_norms: no state gradients of module {path!r} layer "
                             f"{layer}{' reverse' if reverse else ''} (a recurrent layer, after "
                             f"backward); recorded: {known}")
        names = [name for name in next(iter(parts.values())) if name is not None]
        if state not in names + [None]:
            raise ValueError(f"state_grad_norms: {path!r} has states {names}, not {state!r}")
        return {t: parts[t][state] for t in sorted(parts)}

    def _module_path(self, module):
        for root in self._roots:
            for name, candidate in root.named_modules():
                if candidate is module:
                    return name
        raise ValueError(f"state_grad_norms: this {type(module).__name__} is not part of any "
                         f"module called in the trace")

    def _all_state_grad_norms(self):
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

    def to_html(self, path=None, **options):
        """The interactive explorer as one self-contained HTML page; see
        ``tinyseq.explorer.to_html``."""
        from .explorer import to_html
        return to_html(self, path, **options)

    def _repr_svg_(self):
        """Jupyter shows a trace as its graph; see ``tinyseq.explorer.notebook_svg``."""
        from .explorer import notebook_svg
        return notebook_svg(self)


def gradient_flow(loss_fn, weight):
    """Run ``loss_fn()`` under a trace, backpropagate, and measure for every time step t the
    norm of dL/dh_t (the gradient reaching step t's state) and of step t's contribution to
    dL/dweight. Returns {"steps", "state_grad_norms", "weight_contribution_norms", "loss"},
    and when ``weight`` is a recurrent layer's, that layer's "h_grad_norms" (||dL/dh_t||)
    and, for an LSTM, "c_grad_norms" (||dL/dc_t||). The backward pass accumulates into
    ``.grad`` as usual."""
    with Trace() as tr:
        loss = loss_fn()
    loss.backward()
    states = tr.state_grad_norms()
    contributions = dict(tr.contribution_norms(weight))
    steps = tr.time_steps
    flow = {"steps": steps,
            "state_grad_norms": [states.get(t, 0.0) for t in steps],
            "weight_contribution_norms": [contributions.get(t, 0.0) for t in steps],
            "loss": loss.item()}
    module, _, name = tr.leaves[id(weight)].name.rpartition(".")
    layer = name.rpartition("_l")[2]
    if layer.isdigit() and (module, f"l{layer}") in tr._state_parts:
        for state_name in ("h", "c"):
            try:
                norms = tr.state_grad_norms(module, state_name, layer=int(layer))
            except ValueError:                  # a layer without a cell state
                continue
            flow[f"{state_name}_grad_norms"] = [norms.get(t, 0.0) for t in steps]
    return flow


def _step_rows(rows, lead, axis, k):
    """The rows of step k out of ``rows`` (N, K), whose N rows are the positions of an output
    with leading shape ``lead`` (time along ``axis``)."""
    blocks = rows.reshape(lead + rows.shape[1:])
    return blocks[(slice(None),) * axis + (k,)].reshape(-1, rows.shape[1])


def _is_bias(kind, input_index, shape, output_shape, axis):
    """Whether input ``input_index`` of a ``linear`` or ``add`` is a bias broadcast over the
    output's time axis (its gradient is the output gradient summed to its shape)."""
    if not ((kind == "linear" and input_index == 2) or kind == "add"):
        return False
    time_dim = len(shape) - (len(output_shape) - axis)      # aligned from the right
    return time_dim < 0 or shape[time_dim] == 1


def _norm(g):
    xp = backend.device_of(g).xp
    return float(xp.sqrt((g.astype("float64") ** 2).sum()))


class _TraceModule(types.ModuleType):
    """``tinyseq.trace`` is this module, and calling it starts a trace: ``ts.trace()`` is
    ``Trace()``, so ``with ts.trace() as tr:`` and ``tinyseq.trace.gradient_flow`` both work.
    Called on a tensor, it is ``torch.trace``: ``ts.trace(m)`` is ``m.trace()``."""

    def __call__(self, *args, **kwargs):
        from .tensor import Tensor      # here: tensor.py is imported after this module
        if len(args) == 1 and isinstance(args[0], Tensor) and not kwargs:
            return args[0].trace()
        return Trace(*args, **kwargs)


sys.modules[__name__].__class__ = _TraceModule

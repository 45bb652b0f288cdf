"""Recurrent cells and layers built from primitive ops, with PyTorch's names, shapes and gate order.

Every gate is an op in the graph, so the tracer shows it. The step functions below are shared
by the cells (one step) and the layers (a loop over time, per layer and direction).
"""
import math
import warnings

import numpy

from .. import backend, checks
from .. import functional as F
from ..modes import scope, timestep
from ..observers import report_values
from ..ops.recurrent import GRUMath, LSTMMath, RecurrentLayer, RNNMath
from ..tensor import Tensor, concat, stack, where
from . import init
from .module import Module, factory_kwargs, new_parameter
from .utils.rnn import PackedSequence, run_packed


def _project(x, weight_ih, bias_ih):
    """W_ih x_t + b_ih; or x itself when weight_ih is None: the layers project all time steps
    in one product before the loop and pass each step's slice."""
    return x if weight_ih is None else F.linear(x, weight_ih, bias_ih)


def rnn_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh", gate_values=None):
    """h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh or relu. The step functions
    put their gate activations into ``gate_values`` when given a dict (for a trace's values)."""
    pre = _project(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_step(x, state, weight_ih, weight_hh, bias_ih, bias_hh, gate_values=None,
              weight_hr=None):
    """gates i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh);
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g);  h_t = sigmoid(o) * tanh(c_t),
    or h_t = W_hr (sigmoid(o) * tanh(c_t)) with a projection ``weight_hr`` (P, H)."""
    h, c = state
    hidden = c.shape[-1]
    gates = _project(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    with scope("input gate i"):
        input_gate = gates[:, :hidden].sigmoid()
    with scope("forget gate f"):
        forget_gate = gates[:, hidden:2 * hidden].sigmoid()
    with scope("candidate g"):
        candidate = gates[:, 2 * hidden:3 * hidden].tanh()
    with scope("output gate o"):
        output_gate = gates[:, 3 * hidden:].sigmoid()
    with scope("c_t = f*c + i*g"):
        c = forget_gate * c + input_gate * candidate
    if weight_hr is None:
        with scope("h_t = o*tanh(c_t)"):
            h = output_gate * c.tanh()
    else:
        with scope("h_t = W_hr(o*tanh(c_t))"):
            h = F.linear(output_gate * c.tanh(), weight_hr)
    if gate_values is not None:
        gate_values.update(i=input_gate, f=forget_gate, g=candidate, o=output_gate)
    return h, c


def gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gate_values=None):
    """r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz);
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h_t = (1 - z) * n + z * h_{t-1}"""
    hidden = h.shape[-1]
    x_gates = _project(x, weight_ih, bias_ih)
    h_gates = F.linear(h, weight_hh, bias_hh)
    with scope("reset gate r"):
        reset = (x_gates[:, :hidden] + h_gates[:, :hidden]).sigmoid()
    with scope("update gate z"):
        update = (x_gates[:, hidden:2 * hidden] + h_gates[:, hidden:2 * hidden]).sigmoid()
    with scope("candidate n"):
        candidate = (x_gates[:, 2 * hidden:] + reset * h_gates[:, 2 * hidden:]).tanh()
    if gate_values is not None:
        gate_values.update(r=reset, z=update, n=candidate)
    with scope("h_t = (1-z)*n + z*h"):
        return (1 - update) * candidate + update * h


_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _init_weights(module, suffix, gates, input_size, hidden_size, bias, device, dtype,
                  proj_size=0):
    """weight_ih{suffix} (gates*H, D), weight_hh{suffix} (gates*H, H), the biases and, with
    ``proj_size`` P, weight_hr{suffix} (P, H) with weight_hh (gates*H, P); registered in
    PyTorch's order, all uniform in ±1/sqrt(H) as PyTorch initialises recurrent weights, in
    ``dtype`` on ``device``."""
    bound = 1.0 / math.sqrt(hidden_size)

    def uniform(*shape):
        return new_parameter(init.uniform(shape, bound), device, dtype)

    setattr(module, "weight_ih" + suffix, uniform(gates * hidden_size, input_size))
    setattr(module, "weight_hh" + suffix, uniform(gates * hidden_size, proj_size or hidden_size))
    if bias:
        setattr(module, "bias_ih" + suffix, uniform(gates * hidden_size))
        setattr(module, "bias_hh" + suffix, uniform(gates * hidden_size))
    else:
        setattr(module, "bias_ih" + suffix, None)
        setattr(module, "bias_hh" + suffix, None)
    if proj_size:
        setattr(module, "weight_hr" + suffix, uniform(proj_size, hidden_size))


def _zeros(x, shape):
    """Zeros of ``shape`` on x's device, in x's dtype."""
    xp = backend.device_of(x.array).xp
    return Tensor.from_array(xp.zeros(shape, dtype=x.dtype), False)


def _check_floating(name, x, weight):
    """Integer and bool inputs, and inputs of another float dtype than the weights, are a
    ValueError, as in PyTorch, for the fused and primitive layers alike."""
    if x.dtype.kind != "f":
        raise ValueError(f"{name}: input must be a floating-point tensor, got dtype {x.dtype} "
                         f"(convert it with .float() or .double())")
    if x.dtype != weight.dtype:
        raise ValueError(f"{name}: input dtype {x.dtype} does not match weight dtype "
                         f"{weight.dtype}; convert the input (x.to({weight.dtype})) or the "
                         f"model (.float(), .double())")


def _check_state(name, state, shape, weight, what="a state", batched=True):
    """A state (``what``) of ``shape`` and of the weights' dtype, for the fused and primitive
    layers alike (PyTorch refuses a state of another dtype). ``shape`` has as many dims as the
    input, which is ``batched`` or not: PyTorch's rule, which the message states."""
    if not isinstance(state, Tensor):
        raise TypeError(f"{name}: the state must be a Tensor, got {type(state).__name__}")
    if tuple(state.shape) != shape:
        dims = len(shape)
        rule = "" if state.ndim == dims else \
            f"; {'a batched' if batched else 'an unbatched'} {dims}-D input takes {dims}-D states"
        raise ValueError(f"{name}: expected {what} of shape {shape}, got "
                         f"{tuple(state.shape)}{rule}")
    if state.dtype != weight.dtype:
        raise ValueError(f"{name}: state dtype {state.dtype} does not match weight dtype "
                         f"{weight.dtype}; convert the state (h.to({weight.dtype})) or the "
                         f"model (.float(), .double())")


class _CellBase(Module):
    mode = None

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = checks.integer(name, "input_size", input_size)
        self.hidden_size = checks.integer(name, "hidden_size", hidden_size, minimum=1)
        self.bias = checks.flag(name, "bias", bias)
        device, dtype = factory_kwargs(name, device, dtype)
        _init_weights(self, "", _GATES[self.mode], input_size, hidden_size, bias, device, dtype)

    def _check_input(self, x):
        """x (B, D), or (D,) unbatched; returns whether it is batched."""
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            batched, unbatched = f"(batch, {self.input_size})", f"({self.input_size},)"
            layout = {1: unbatched, 2: batched}.get(x.ndim, f"{unbatched} or {batched}")
            raise ValueError(f"{name}: expected input {layout}, got shape {tuple(x.shape)}")
        _check_floating(name, x, self.weight_ih)
        return x.ndim == 2

    def forward(self, input, hx=None):
        """h' from x (B, D) and h (B, H), or unbatched x (D,) and h (H,): the call of the cells
        with one state (the LSTM cell, whose state is (h, c), has its own)."""
        x, h = input, hx
        if not self._check_input(x):                     # (D,): one step as a batch of one
            h = None if h is None else self._as_batch_of_one([h])[0]
            return self.forward(x.unsqueeze(0), h).squeeze(0)
        batch = x.shape[0]
        if h is None:
            h = _zeros(x, (batch, self.hidden_size))
        _check_state(type(self).__name__, h, (batch, self.hidden_size), self.weight_ih)
        return self._step(x, h)

    def _as_batch_of_one(self, states):
        """The states (H,) of an unbatched call, checked as given, each as (1, H)."""
        for s in states:
            _check_state(type(self).__name__, s, (self.hidden_size,), self.weight_ih,
                         batched=False)
        return [s.unsqueeze(0) for s in states]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = f(W_ih x + b_ih + W_hh h + b_hh), f = tanh or relu;  x (B, D), h (B, H), or
    unbatched x (D,), h (H,)."""
    mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def _step(self, x, h):
        h = rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                     self.nonlinearity)
        report_values("", lambda: {"h": [h]})
        return h


class LSTMCell(_CellBase):
    """(h', c') from x (B, D) and (h, c) (B, H) each, or unbatched x (D,) and (h, c) (H,)
    each; gate order i, f, g, o as PyTorch."""
    mode = "LSTM"

    def forward(self, input, hx=None):
        x, state = input, hx
        batched = self._check_input(x)
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise TypeError("LSTMCell: the state must be a tuple (h, c)")
        if not batched:                                  # (D,): one step as a batch of one
            state = None if state is None else self._as_batch_of_one(state)
            h, c = self.forward(x.unsqueeze(0), state)
            return h.squeeze(0), c.squeeze(0)
        batch = x.shape[0]
        if state is None:
            zeros = _zeros(x, (batch, self.hidden_size))
            state = (zeros, zeros)
        for s in state:
            _check_state("LSTMCell", s, (batch, self.hidden_size), self.weight_ih)
        gates = {}
        h, c = lstm_step(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                         gates)
        report_values("", lambda: _per_step_values("LSTM", [(h, c)], [gates]))
        return h, c


class GRUCell(_CellBase):
    """h' from x (B, D) and h (B, H), or unbatched x (D,) and h (H,); gate order r, z, n as
    PyTorch."""
    mode = "GRU"

    def _step(self, x, h):
        gates = {}
        h = gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, gates)
        report_values("", lambda: _per_step_values("GRU", [h], [gates]))
        return h


class _RNNBase(Module):
    """A stack of recurrent layers over time, optionally bidirectional, over padded batches.

    Input x: (T, B, D), or (B, T, D) with batch_first. Output: (T, B, num_directions * H)
    (batch first when batch_first). h_n: (num_layers * num_directions, B, H), entry
    layer * num_directions + direction, as PyTorch lays it out. An LSTM with ``proj_size``
    P > 0 projects every h_t to P features, h_t = W_hr (o_t * tanh(c_t)) with weight_hr_l{k}
    (P, H): its output, h_0 and h_n have P features where the others have H; c_0 and c_n
    keep H.

    An unbatched input (T, D), one sequence, runs as a batch of one, as PyTorch's: output
    (T, num_directions * H), h_0 and h_n (num_layers * num_directions, H), whatever
    batch_first says; lengths= is for batches only.

    ``impl="fused"`` (the default) runs all steps of a layer direction as one op with a
    hand-written backward (``RecurrentLayer``), which shows a trace each of its time steps.
    ``impl="primitive"`` builds every gate from primitive ops, so a trace shows each of them;
    it projects the inputs of all steps in one matrix product before its time loop, tagged
    ``timestep(range(T))`` so that a trace splits W_ih's and b_ih's gradients per step as for
    the fused layer. Both compute the same numbers, traced or not. The fused op holds h and c
    in one array of H features each, so an LSTM with a projection runs the primitive ops
    whichever ``impl`` it was given.

    The arguments are PyTorch's, in PyTorch's positional order with proj_size eighth (the
    RNN's ninth, after nonlinearity); RNN and GRU take proj_size in the same place, as
    PyTorch's do, and refuse any value but 0. ``impl`` has no place in PyTorch's order, so it
    is keyword-only.
    """
    mode = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *,
                 impl="fused"):
        super().__init__()
        self.impl = checks.choice(self.mode, "impl", impl, ("fused", "primitive"))
        self.input_size = checks.integer(self.mode, "input_size", input_size, minimum=1)
        self.hidden_size = checks.integer(self.mode, "hidden_size", hidden_size, minimum=1)
        self.num_layers = checks.integer(self.mode, "num_layers", num_layers, minimum=1)
        self.bias = checks.flag(self.mode, "bias", bias)
        self.batch_first = checks.flag(self.mode, "batch_first", batch_first)
        self.dropout = checks.probability(self.mode, "dropout", dropout)
        if self.dropout and self.num_layers == 1:
            warnings.warn(f"{self.mode}: dropout adds dropout after all but the last recurrent "
                          f"layer, so a non-zero dropout expects num_layers greater than 1, but "
                          f"got dropout={self.dropout} and num_layers=1 (as PyTorch warns)",
                          UserWarning,     # at the user's line, past a subclass's __init__
                          stacklevel=2 if type(self).__init__ is _RNNBase.__init__ else 3)
        self.bidirectional = checks.flag(self.mode, "bidirectional", bidirectional)
        self.proj_size = checks.integer(self.mode, "proj_size", proj_size)
        if self.proj_size and self.mode != "LSTM":
            raise ValueError(f"{self.mode}: proj_size is supported by LSTM only, not by RNN or "
                             f"GRU; got proj_size={self.proj_size}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"LSTM: proj_size must be smaller than hidden_size "
                             f"({self.hidden_size}), got {self.proj_size}")
        self.num_directions = 2 if bidirectional else 1
        device, dtype = factory_kwargs(self.mode, device, dtype)
        output_size = self.proj_size or hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else output_size * self.num_directions
            for suffix in self._suffixes(layer):
                _init_weights(self, suffix, _GATES[self.mode], layer_input, hidden_size, bias,
                              device, dtype, self.proj_size)

    def _suffixes(self, layer):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def _weights(self, suffix):
        """{name: the weight of the layer direction ``suffix``}, the step functions' keywords."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        if self.proj_size:
            names += ("weight_hr",)
        return {name: getattr(self, name + suffix) for name in names}

    @property
    def all_weights(self):
        """The parameters of each layer direction in order, as PyTorch's ``all_weights``:
        [[weight_ih, weight_hh, bias_ih, bias_hh(, weight_hr)], ...] (no biases without bias)."""
        return [[w for w in self._weights(suffix).values() if w is not None]
                for layer in range(self.num_layers) for suffix in self._suffixes(layer)]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                              ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False), ("impl", "fused")):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text

    # --- checking the call ------------------------------------------------------------------
    def _check_input(self, x):
        """x (T, B, D), (B, T, D) with batch_first, or one sequence (T, D) whatever batch_first."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{self.mode}: input must be a Tensor, got {type(x).__name__}")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"{self.mode}: expected input {self._layout(x.ndim)} with "
                             f"{self.input_size} features, got shape {tuple(x.shape)}")
        if x.shape[1 if self.batch_first and x.ndim == 3 else 0] == 0:
            raise ValueError(f"{self.mode}: input {self._layout(x.ndim)} has no time steps: "
                             f"shape {tuple(x.shape)}")
        _check_floating(self.mode, x, self.weight_ih_l0)

    def _layout(self, ndim):
        """How an input of ``ndim`` dims is read, for the error messages."""
        batched = "(batch, time, features)" if self.batch_first else "(time, batch, features)"
        return {3: batched, 2: "(time, features)"}.get(
            ndim, f"{batched} or, unbatched, (time, features)")

    def _check_lengths(self, lengths, steps, batch):
        if lengths is None:
            return None
        if isinstance(lengths, Tensor):
            lengths = lengths.array
        if backend.is_array(lengths):
            lengths = backend.to_numpy(lengths)
        array = numpy.asarray(lengths).reshape(-1)
        if array.size and array.dtype.kind not in "iu":
            raise TypeError(f"{self.mode}: lengths must be integers, got {array.tolist()}")
        if len(array) != batch:
            raise ValueError(f"{self.mode}: got {len(array)} lengths for a batch of {batch}")
        values = [int(n) for n in array]
        bad = [n for n in values if not 0 <= n <= steps]
        if bad:
            raise ValueError(f"{self.mode}: lengths must be in [0, {steps}] (the time steps of the "
                             f"input), got {bad}")
        return values

    def _state_sizes(self):
        """The features of h (and of the LSTM's c)."""
        h_size = self.proj_size or self.hidden_size
        return (h_size, self.hidden_size) if self.mode == "LSTM" else (h_size,)

    def _given_states(self, state, batch=None):
        """The initial states given, [h0] or [h0, c0], each checked to be
        (num_layers * num_directions, batch, features), or without the batch axis when
        ``batch`` is None (an unbatched input)."""
        if self.mode == "LSTM":
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError("LSTM: the initial state must be a tuple (h0, c0)")
            states, names = list(state), ("h0", "c0")
        else:
            states, names = [state], ("h0",)
        count = self.num_layers * self.num_directions
        for s, size, name in zip(states, self._state_sizes(), names):
            shape = (count, size) if batch is None else (count, batch, size)
            _check_state(self.mode, s, shape, self.weight_ih_l0, name, batched=batch is not None)
        return states

    def _initial_states(self, x, state, batch):
        """The initial states of each (layer, direction), zeros when ``state`` is None: one
        (S, B, H) tensor, S = 2 for the LSTM's (h, c), 1 otherwise; with a projection, whose
        h and c differ in size, the list [h, c]."""
        count = self.num_layers * self.num_directions
        if state is None:
            sizes = self._state_sizes()
            if self.proj_size:
                return [[_zeros(x, (batch, size)) for size in sizes]] * count
            return [_zeros(x, (len(sizes), batch, self.hidden_size))] * count
        states = self._given_states(state, batch)
        if self.proj_size:
            return [[s[i] for s in states] for i in range(count)]
        if self.mode == "LSTM":
            stacked = stack(states)
            return [stacked[:, i] for i in range(count)]
        return [state[i:i + 1] for i in range(count)]

    # --- the time loop ----------------------------------------------------------------------
    def flatten_parameters(self):
        """Nothing to do: PyTorch packs cuDNN's weights into one buffer here; tinyseq's weights
        are arrays of their own, so scripts that call this run unchanged."""

    def forward(self, input, hx=None, lengths=None):
        x, state = input, hx
        if isinstance(x, PackedSequence):
            return run_packed(self, x, state)
        self._check_input(x)
        if x.ndim == 2:
            return self._forward_unbatched(x, state, lengths)
        time_axis = 1 if self.batch_first else 0
        steps, batch = x.shape[time_axis], x.shape[1 - time_axis]
        lengths = self._check_lengths(lengths, steps, batch)
        masks = self._step_masks(x, lengths, steps)
        initial = self._initial_states(x, state, batch)
        if self.batch_first:                             # time first from here on
            x = x.swapaxes(0, 1)
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                index = layer * self.num_directions + direction
                out, final = self._run_direction(layer_input, initial[index], self._weights(suffix),
                                                 masks, direction == 1, suffix[1:])
                outputs.append(out)
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else concat(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input.swapaxes(0, 1) if self.batch_first else layer_input
        if self.proj_size:                               # h_n (L*D, B, P), c_n (L*D, B, H)
            return output, (stack([f[0] for f in finals]), stack([f[1] for f in finals]))
        final = stack(finals, axis=1)    # (S, L*D, B, H), apart from output as PyTorch's
        if self.mode == "LSTM":
            return output, (final[0], final[1])
        return output, final[0]

    def _forward_unbatched(self, x, state, lengths):
        """One sequence x (T, D), as PyTorch takes it: run as a batch of one, with the states
        (num_layers * num_directions, features) given and returned without a batch axis and
        the output (T, num_directions * features)."""
        if lengths is not None:
            raise ValueError(f"{self.mode}: lengths= is for a batch of padded sequences; the "
                             f"unbatched input of shape {tuple(x.shape)} is one sequence of "
                             f"{x.shape[0]} steps (pass x[:n] to run its first n)")
        if state is not None:
            state = [s.unsqueeze(1) for s in self._given_states(state)]
            state = state if self.mode == "LSTM" else state[0]
        batch_axis = 0 if self.batch_first else 1
        output, final = self.forward(x.unsqueeze(batch_axis), state)
        if self.mode == "LSTM":
            return output.squeeze(batch_axis), (final[0].squeeze(1), final[1].squeeze(1))
        return output.squeeze(batch_axis), final.squeeze(1)

    def _step_masks(self, x, lengths, steps):
        """(T, B, 1) booleans [t < length] on x's device, or None when every step is valid."""
        if lengths is None or all(n == steps for n in lengths):
            return None
        xp = backend.device_of(x.array).xp
        return xp.asarray(numpy.arange(steps)[:, None, None] < numpy.asarray(lengths)[None, :, None])

    def _step(self, x_t, state, weights, gates):
        raise NotImplementedError

    def _run_direction(self, x, state, weights, masks, reverse, label):
        """(the outputs (T, B, features), the final state) of one layer direction from its
        initial state, in the form ``_initial_states`` gives; fused unless a projection makes
        h and c differ in size."""
        if self.impl == "fused" and not self.proj_size:
            return self._run_fused(x, state, weights, masks, reverse, label)
        state = (state[0], state[1]) if self.mode == "LSTM" else state[0]
        steps = x.shape[0]
        with timestep(range(steps)):                   # the inputs of all steps in one product
            x = F.linear(x, weights["weight_ih"], weights["bias_ih"])
        weights = dict(weights, weight_ih=None, bias_ih=None)
        outputs = [None] * steps
        states, gates = [None] * steps, [{} for _ in range(steps)]
        all_running = None if masks is None else backend.to_numpy(masks.all(axis=(1, 2)))
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            with timestep(t):
                new_state = self._step(x[t], state, weights, gates[t])
                if masks is None or all_running[t]:
                    state = new_state
                    outputs[t] = new_state[0] if self.mode == "LSTM" else new_state
                else:
                    mask = Tensor.from_array(masks[t], False)
                    state = _masked(mask, new_state, state)
                    h = state[0] if self.mode == "LSTM" else state
                    outputs[t] = where(mask, h, 0.0)
                states[t] = state
        report_values(label, lambda: _per_step_values(self.mode, states, gates))
        final = list(state) if self.mode == "LSTM" else [state]
        return stack(outputs), (final if self.proj_size else stack(final))

    def _run_fused(self, x, state, weights, masks, reverse, label):
        """The fused cell over time: one op for the whole layer direction, which takes and
        gives gate-major states (S, B, H)."""
        steps = x.shape[0]
        biases = () if weights["bias_ih"] is None else (weights["bias_ih"], weights["bias_hh"])
        states = RecurrentLayer(self._math(), masks, reverse, label).apply(
            x, state, weights["weight_ih"], weights["weight_hh"], *biases)
        outputs = states[0]
        if masks is not None:
            outputs = where(Tensor.from_array(masks, False), outputs, 0.0)
        return outputs, states[:, 0 if reverse else steps - 1]


def _per_step_values(mode, states, gates):
    """{quantity: [one Tensor per step]} for a trace's values: h (and c), and the gates."""
    values = {"h": [s[0] if mode == "LSTM" else s for s in states]}
    if mode == "LSTM":
        values["c"] = [s[1] for s in states]
    for name in gates[0]:
        values[name] = [step[name] for step in gates]
    return values


def _masked(mask, new_state, old_state):
    """new where mask (the sequence is still running), old where it has ended."""
    if isinstance(new_state, tuple):
        return tuple(where(mask, n, o) for n, o in zip(new_state, old_state))
    return where(mask, new_state, old_state)


class RNN(_RNNBase):
    """Elman RNN: h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) per layer, f = tanh or relu.
    ``output, h_n = rnn(input, hx=None, lengths=None)`` (hx the initial h0)."""
    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None, *, impl="fused"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, impl=impl)
        self.nonlinearity = nonlinearity

    def _step(self, x_t, h, weights, gates):
        return rnn_step(x_t, h, nonlinearity=self.nonlinearity, gate_values=gates, **weights)

    def _math(self):
        return RNNMath(self.nonlinearity)


class LSTM(_RNNBase):
    """Long short-term memory (gates i, f, g, o), with ``proj_size`` > 0 projecting h_t.
    ``output, (h_n, c_n) = lstm(input, hx=None, lengths=None)`` (hx the initial (h0, c0))."""
    mode = "LSTM"

    def _step(self, x_t, state, weights, gates):
        return lstm_step(x_t, state, gate_values=gates, **weights)

    def _math(self):
        return LSTMMath()


class GRU(_RNNBase):
    """Gated recurrent unit (gates r, z, n).
    ``output, h_n = gru(input, hx=None, lengths=None)`` (hx the initial h0)."""
    mode = "GRU"

    def _step(self, x_t, h, weights, gates):
        return gru_step(x_t, h, gate_values=gates, **weights)

    def _math(self):
        return GRUMath()

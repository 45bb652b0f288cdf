"""Fused recurrent ops: a cell step, or a whole layer direction, as one op with its backward
written by hand.

Arrays are gate-major: one time step's gates are (G, B, H), gate k a contiguous (B, H) block,
and a state is (S, B, H): S = 2 for the LSTM (h and c), 1 for RNN and GRU. The cell math then
runs on contiguous blocks, which NumPy processes about three times faster than the (B, H)
column slices of a (B, G*H) row layout. Weights keep PyTorch's (G*H, D) layout; the ops view
them as (G, H, D) stacks. Each cell's math is a class with two methods on raw arrays, for one
time step:

    forward(xp, act, h_gates, state, new_state)
        writes the gate activations into ``act`` and the new state into ``new_state``, and
        returns what backward needs besides ``act`` and ``state``. ``h_gates`` is a scratch
        buffer the math may overwrite. For an additive math (RNN, LSTM) it holds the whole
        pre-activation W_ih x_t + W_hh h_{t-1} + b; for the GRU it holds W_hh h_{t-1} + b_hh,
        and ``act`` holds x_gates = W_ih x_t + b_ih on entry.
    prepare_backward(xp, acts, prev_states, new_states, saved)
        before backward runs a block of k steps ((G, k, B, H) and (S, k, B, H) slices of the
        layer's buffers, ``saved`` the k forwards' returns): each step's ``saved`` for
        backward. The LSTM computes there, one call per formula for the whole block, the
        factors of its backward that no gradient enters; RNN and GRU pass ``saved`` on.
    backward(xp, grad_new, act, saved, state, grad_prev, grad_h_gates)
        from grad_new = dL/d new_state: overwrites ``act`` with dL/d x_gates, writes
        dL/d h_gates into ``grad_h_gates`` and into ``grad_prev`` the gradient of the previous
        state through the paths that bypass W_hh h_{t-1} (the LSTM's cell c, the GRU's z * h);
        an additive math leaves grad_prev[0], h's, to the layer.

``gate_names`` lists the gates in the order the layer's buffers hold them; ``gate_order`` is
the place of each in PyTorch's weights (the layer stacks the weights in the buffers' order and
puts each gate's gradient back at its place). The LSTM holds them as o, i, f, g (PyTorch's
i, f, g, o): its three sigmoid gates are then one block for forward, and the three that grad_c
enters one block for backward.

``gate_scale`` (LSTM: 1/2 for the sigmoid gates, 1 for the cell candidate) scales each gate's
pre-activation on NumPy: the layer folds it into its copies of the weights and bias (exact,
the scales being powers of two), so that one tanh call covers all four gates,
sigmoid(x) = (1 + tanh(x / 2)) / 2. The compiled kernels take the pre-activations unscaled.

The NumPy math is the formulas with named temporaries; it writes in place only into the
layer's buffers it is handed (``act``, ``h_gates``, the new state, ``grad_prev``,
``grad_h_gates``), which is what lets the layer get its weight gradients as one product over
all steps. The reference is the primitive cells, ``lstm_step``, ``gru_step`` and ``rnn_step``
in tinyseq/nn/recurrent.py (each gate a primitive op); ``test_fused_equals_primitive`` in
tests/test_fused.py checks that both give the same outputs and gradients (float64, to 1e-12),
with and without masks, reversed, stacked, traced and not.

On an array module that compiles elementwise kernels (CuPy's ``ElementwiseKernel``) each
method is one kernel launch instead, from the CUDA-C ``*_kernel`` source next to it: the same
formulas, one pass. Kernel parameters avoid the names CuPy reserves (``i``, ``n``), and the
kernels write sigmoid as 1 / (1 + exp(-x)) with no double-precision literal, so float32 math
stays float32 on the GPU (exp overflowing to inf still gives 0).

``additive`` maths (RNN, LSTM) see only the sum x_gates + h_gates. While a step is small the
layer gets it as one product per step, [h_{t-1}, x_t, 1] times the weights
[W_hh, W_ih, b_ih + b_hh] stacked, and the weight gradients as one product over all steps;
a larger step adds W_hh h_{t-1} to the projection of all steps' inputs made at once (see
``_JOINT_PRODUCT_SIZE``). dL/d h_gates is dL/d x_gates, one array, and h_{t-1} reaches the
new state through W_hh only, so that the layer writes dL/d h_{t-1} = dL/d h_gates W_hh
straight into grad_prev[0]. ``RecurrentLayer`` runs all steps of one layer direction as one
op. Observers (a trace, anomaly mode) see its time steps all the same: it says which steps it
runs, and its backward reports each step's state gradient and each step's share of the weight
gradients, computed from the buffers it holds only when someone asks.
"""
import functools

from .. import backend
from ..autograd import Function
from ..observers import report_values
from .elementwise import stable_sigmoid
from .linalg import rows

_compiled = {}
_compiles = {}
_halves = {}


def _kernel(xp, source):
    """xp's ElementwiseKernel for ``source`` = (in_params, out_params, operation, name), made
    once per array module; it is called with the inputs, then the output arrays to write."""
    kernel = _compiled.get((xp, source))
    if kernel is None:
        kernel = _compiled[(xp, source)] = xp.ElementwiseKernel(*source)
    return kernel


def _half(xp, dtype):
    """0.5 as a 0-d array of ``dtype``, made once per array module and dtype: NumPy multiplies
    by a 0-d array faster than by the Python number."""
    half = _halves.get((xp, dtype))
    if half is None:
        half = _halves[(xp, dtype)] = xp.asarray(0.5, dtype=dtype)
    return half


def _compiles_kernels(xp):
    """Whether xp has CuPy's ElementwiseKernel (asked once per array module: it is on the
    hot path, and a missing attribute costs NumPy microseconds)."""
    known = _compiles.get(xp)
    if known is None:
        known = _compiles[xp] = hasattr(xp, "ElementwiseKernel")
    return known


class RNNMath:
    """h_t = f(W_ih x_t + W_hh h_{t-1} + b), f = tanh or relu"""
    additive = True
    gates, state_size = 1, 1
    gate_names, gate_order = (), (0,)
    gate_scale = None
    forward_kernels = {
        "tanh": ("T a", "T h", "h = tanh(a);", "tinyseq_rnn_tanh_forward"),
        "relu": ("T a", "T h", "h = (a > 0) * a;", "tinyseq_rnn_relu_forward")}
    backward_kernels = {
        "tanh": ("T d_h, T h", "T a", "a = d_h * (1 - h * h);", "tinyseq_rnn_tanh_backward"),
        "relu": ("T d_h, T h", "T a", "a = d_h * (h > 0);", "tinyseq_rnn_relu_backward")}

    def __init__(self, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity

    def forward(self, xp, act, h_gates, state, new_state):
        if _compiles_kernels(xp):
            _kernel(xp, self.forward_kernels[self.nonlinearity])(h_gates[0], new_state[0])
            return new_state
        if self.nonlinearity == "tanh":                # act is backward's buffer only
            return xp.tanh(h_gates, out=new_state)
        return xp.maximum(h_gates, 0, out=new_state)

    def prepare_backward(self, xp, acts, prev_states, new_states, saved):
        """Backward reads each step's h (``saved``) as it is."""
        return saved

    def backward(self, xp, grad_new, act, h, state, grad_prev, grad_h_gates):
        if _compiles_kernels(xp):
            _kernel(xp, self.backward_kernels[self.nonlinearity])(grad_new[0], h[0], act[0])
            return
        if self.nonlinearity == "tanh":                # tanh' = 1 - h^2
            act[...] = grad_new * (1 - h * h)          # into the layer's buffer, as the gates'
        else:                                          # gradients
            xp.multiply(grad_new, h > 0, out=act)


class LSTMMath:
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_gates + h_gates);
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t);  state = (h_t, c_t)"""
    additive = True
    gates, state_size = 4, 2
    gate_names, gate_order = ("o", "i", "f", "g"), (3, 0, 1, 2)
    gate_scale = (0.5, 0.5, 0.5, 1.0)    # NumPy's forward takes the sigmoid gates' x / 2

    forward_kernel = ("T h_o, T h_i, T h_f, T h_g, T c_prev",
                      "T gate_o, T gate_i, T gate_f, T gate_g, T c, T h", """
        gate_i = 1 / (1 + exp(-h_i));
        gate_f = 1 / (1 + exp(-h_f));
        gate_g = tanh(h_g);
        gate_o = 1 / (1 + exp(-h_o));
        c = gate_f * c_prev + gate_i * gate_g;
        h = gate_o * tanh(c);
    """, "tinyseq_lstm_forward")
    backward_kernel = ("T d_h, T d_c_next, T c, T c_prev",
                       "T gate_o, T gate_i, T gate_f, T gate_g, T d_c_prev", """
        T tanh_c = tanh(c);
        T d_c = d_h * gate_o * (1 - tanh_c * tanh_c) + d_c_next;
        d_c_prev = d_c * gate_f;
        gate_o = d_h * tanh_c * gate_o * (1 - gate_o);
        gate_f = d_c * c_prev * gate_f * (1 - gate_f);
        T d_i = d_c * gate_g * gate_i * (1 - gate_i);
        gate_g = d_c * gate_i * (1 - gate_g * gate_g);
        gate_i = d_i;
    """, "tinyseq_lstm_backward")

    def forward(self, xp, act, h_gates, state, new_state):
        if _compiles_kernels(xp):
            _kernel(xp, self.forward_kernel)(*h_gates, state[1], *act, new_state[1], new_state[0])
            return new_state[1]
        # The gates are computed in h_gates, the layer's contiguous scratch (NumPy's calls on
        # act, a strided slice of the layer's buffer, cost more), and copied into act once;
        # h and c go into the layer's buffers (backward reads all three). The sigmoid gates'
        # pre-activations arrive halved (gate_scale), so that one tanh covers all four gates:
        # sigmoid(x) = (1 + tanh(x / 2)) / 2
        gates = h_gates
        xp.tanh(gates, out=gates)
        sigmoid_gates = gates[:3]                      # o, i, f
        half = _half(xp, gates.dtype)
        sigmoid_gates *= half
        sigmoid_gates += half
        act[...] = gates
        # indexing, not unpacking: NumPy makes four views by index in half the time
        output_gate, input_gate, forget_gate, cell_candidate = gates[0], gates[1], gates[2], gates[3]
        h, c = new_state[0], new_state[1]
        xp.multiply(forget_gate, state[1], out=c)
        c += input_gate * cell_candidate
        xp.multiply(output_gate, xp.tanh(c), out=h)
        return c                         # backward recomputes tanh(c), a block of steps at once

    def prepare_backward(self, xp, acts, prev_states, new_states, saved):
        """For a block of k steps (acts (4, k, B, H) as o, i, f, g, states (2, k, B, H)), the
        factors of backward's formulas that no gradient enters, one call per formula for the
        whole block:

            grad_c = grad_h * dc_dh + grad_c_next,   dc_dh = o * (1 - tanh(c)^2)
            d_i = grad_c * g * i (1 - i),    d_f = grad_c * c_prev * f (1 - f),
            d_g = grad_c * i * (1 - g^2),    d_o = grad_h * tanh(c) * o (1 - o)
            grad_c_prev = grad_c * f

        Returns each step's (dc_dh, (d_i, d_f, d_g) / grad_c stacked (3, B, H), d_o / grad_h):
        backward then gets the three gates that grad_c enters in one call."""
        if _compiles_kernels(xp):
            return saved
        output_gate, input_gate, forget_gate, cell_candidate = acts
        c_prev, (h, c) = prev_states[1], new_states
        tanh_c = xp.tanh(c)
        dc_dh = output_gate - h * tanh_c                 # o (1 - tanh(c)^2), as h = o tanh(c)
        cell_factors = xp.empty_like(acts[1:])
        xp.multiply(cell_candidate * input_gate, 1 - input_gate, out=cell_factors[0])
        xp.multiply(c_prev * forget_gate, 1 - forget_gate, out=cell_factors[1])
        xp.multiply(input_gate, 1 - cell_candidate * cell_candidate, out=cell_factors[2])
        output_factor = h * (1 - output_gate)            # tanh(c) o (1 - o)
        return list(zip(dc_dh, cell_factors.swapaxes(0, 1), output_factor))

    def backward(self, xp, grad_new, act, saved, state, grad_prev, grad_h_gates):
        if _compiles_kernels(xp):
            _kernel(xp, self.backward_kernel)(grad_new[0], grad_new[1], saved, state[1], *act,
                                              grad_prev[1])
            return
        dc_dh, cell_factors, output_factor = saved
        grad_h = grad_new[0]
        grad_c = grad_h * dc_dh
        grad_c += grad_new[1]
        xp.multiply(grad_c, act[2], out=grad_prev[1])     # through c = f * c_prev + ...
        # each gate's gradient replaces the gate in the layer's buffer (the weight gradients
        # are then one product over all steps); h_{t-1} reaches the gates through W_hh only
        xp.multiply(grad_c, cell_factors, out=act[1:])    # i, f and g
        xp.multiply(grad_h, output_factor, out=act[0])


class GRUMath:
    """r = sigmoid(x_r + h_r);  z = sigmoid(x_z + h_z);  n = tanh(x_n + r * h_n);
    h_t = (1 - z) * n + z * h_{t-1}   (h_n = W_hn h + b_hn: the reset gate scales it whole)"""
    additive = False
    gates, state_size = 3, 1
    gate_names, gate_order = ("r", "z", "n"), (0, 1, 2)
    gate_scale = None

    forward_kernel = ("T h_r, T h_z, T h_n, T h_prev", "T gate_r, T gate_z, T gate_n, T h", """
        gate_r = 1 / (1 + exp(-(gate_r + h_r)));
        gate_z = 1 / (1 + exp(-(gate_z + h_z)));
        gate_n = tanh(gate_n + gate_r * h_n);
        h = gate_n + gate_z * (h_prev - gate_n);
    """, "tinyseq_gru_forward")
    backward_kernel = ("T d_h, T h_prev, T h_n",
                       "T gate_r, T gate_z, T gate_n, T d_h_r, T d_h_z, T d_h_n, T d_h_prev", """
        T d_n = d_h * (1 - gate_z) * (1 - gate_n * gate_n);
        d_h_prev = d_h * gate_z;
        gate_z = d_h * (h_prev - gate_n) * gate_z * (1 - gate_z);
        d_h_z = gate_z;
        T d_r = d_n * h_n * gate_r * (1 - gate_r);
        d_h_n = d_n * gate_r;
        gate_r = d_r;
        d_h_r = d_r;
        gate_n = d_n;
    """, "tinyseq_gru_backward")

    def forward(self, xp, act, h_gates, state, new_state):
        h_n = h_gates[2].copy()
        if _compiles_kernels(xp):
            _kernel(xp, self.forward_kernel)(h_gates[0], h_gates[1], h_n, state[0], *act,
                                             new_state[0])
            return h_n
        # act and h are this step's slices of the layer's buffers (backward reads them), so
        # the results go in place
        reset_and_update = act[:2]
        reset_and_update += h_gates[:2]
        stable_sigmoid(xp, reset_and_update, out=reset_and_update)
        reset_gate, update_gate, candidate = act
        candidate += reset_gate * h_n
        xp.tanh(candidate, out=candidate)
        h, h_prev = new_state[0], state[0]
        xp.add(candidate, update_gate * (h_prev - candidate), out=h)   # (1 - z) n + z h_{t-1}
        return h_n

    def prepare_backward(self, xp, acts, prev_states, new_states, saved):
        """Backward reads each step's h_n (``saved``) as it is."""
        return saved

    def backward(self, xp, grad_new, act, h_n, state, grad_prev, grad_h_gates):
        if _compiles_kernels(xp):
            _kernel(xp, self.backward_kernel)(grad_new[0], state[0], h_n, *act, *grad_h_gates,
                                              grad_prev[0])
            return
        reset_gate, update_gate, candidate = act
        grad_h, h_prev = grad_new[0], state[0]
        grad_candidate = grad_h * (1 - update_gate) * (1 - candidate * candidate)
        grad_update_gate = grad_h * (h_prev - candidate) * update_gate * (1 - update_gate)
        grad_reset_gate = grad_candidate * h_n * reset_gate * (1 - reset_gate)
        xp.multiply(grad_h, update_gate, out=grad_prev[0])    # (+ the W_hh path, added later)
        grad_h_gates[0] = grad_reset_gate                      # the W_hh h_{t-1} products: r and
        grad_h_gates[1] = grad_update_gate                     # z see them added, n scaled by r
        xp.multiply(grad_candidate, reset_gate, out=grad_h_gates[2])
        act[0] = grad_reset_gate                               # the x W_ih products' gradients
        act[1] = grad_update_gate                              # replace the gates in the
        act[2] = grad_candidate                                # layer's buffer


def _gate_stack(weight, gates):
    """A (G*H, K) weight viewed as (G, H, K): gate k's rows as block k."""
    return weight.reshape(gates, weight.shape[0] // gates, weight.shape[1])


def _in_buffer_order(weight, order):
    """``weight`` (G*H, ...) with its gate blocks in the order the layer's buffers hold the
    gates, ``order`` giving each one's place in PyTorch's layout: a copy, or ``weight`` itself
    when the orders agree."""
    if list(order) == sorted(order):
        return weight
    return weight.reshape((len(order), -1) + weight.shape[1:])[list(order)].reshape(weight.shape)


def _in_pytorch_order(grad, order):
    """A weight gradient (G*H, ...) in the buffers' gate order, put back in PyTorch's."""
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return _in_buffer_order(grad, inverse)


def _input_grad(d_gates, weight):
    """sum_k d_gates[k] @ W_k for d_gates (G, N, H): the gradient of the product's input, (N, K)."""
    stacked = _gate_stack(weight, d_gates.shape[0])
    total = d_gates[0] @ stacked[0]
    for k in range(1, d_gates.shape[0]):
        total += d_gates[k] @ stacked[k]
    return total


def _weight_grad(xp, d_gates, inputs, order):
    """dW_k = d_gates[k]^T inputs for d_gates (G, N, H) in the buffers' gate ``order`` and
    inputs (N, K): (G*H, K), W's layout, each gate's block at its place in PyTorch's."""
    gates, _, hidden = d_gates.shape
    grad = xp.empty((gates, hidden, inputs.shape[1]), dtype=d_gates.dtype)
    for k, place in enumerate(order):
        xp.matmul(d_gates[k].T, inputs, out=grad[place])
    return grad.reshape(gates * hidden, inputs.shape[1])


def _as_weight(xp, blocks, order):
    """Gate blocks (G, K, H), dW_k^T for each gate k in the buffers' gate ``order``, as a
    weight gradient (G*H, K): W's layout, each gate's block at its place in PyTorch's."""
    gates, width, hidden = blocks.shape
    grad = xp.empty((gates, hidden, width), dtype=blocks.dtype)
    grad[list(order)] = blocks.transpose(0, 2, 1)
    return grad.reshape(gates * hidden, width)


def _bias_grad(xp, d_gates, order):
    """db = d_gates summed over the rows, for d_gates (G, N, H) in the buffers' gate ``order``:
    (G*H,), the bias's layout in PyTorch's order. The sum is a product with a row of ones:
    NumPy sums a middle axis five times slower."""
    ones = xp.ones(d_gates.shape[1], dtype=d_gates.dtype)
    return _in_pytorch_order(xp.matmul(ones, d_gates), order).reshape(-1)


def _joint_weight(xp, gates, order, weights, scale):
    """The right factor of a product into gate-major gates: ``weights`` (G*H, K_i) side by side
    (None left out, a bias (G*H,) one column), per gate in the buffers' ``order`` and
    transposed, (G, sum K_i, H): block k = [W_1k, W_2k, ...]^T, times gate k's ``scale`` if
    given."""
    blocks = [_gate_stack(w if w.ndim == 2 else w.reshape(-1, 1), gates)
              for w in weights if w is not None]
    joint = xp.concatenate(blocks, axis=2)[list(order)].transpose(0, 2, 1)
    return xp.ascontiguousarray(joint if scale is None else joint * scale)


def _forward_step(xp, math, act, prev, new, product_input, weight_t, added, h_gates, mask):
    """One time step: product_input times each gate's block of weight_t, plus ``added`` if
    given, into ``h_gates``: an additive cell's whole pre-activation, the GRU's
    W_hh h_{t-1} + b_hh; then the cell math into ``new``. Rows whose sequence has ended
    (``mask`` False) keep ``prev``. Returns what the math's backward needs."""
    xp.matmul(product_input, weight_t, out=h_gates)
    if added is not None:
        h_gates += added
    saved = math.forward(xp, act, h_gates, prev, new)
    if mask is not None:
        xp.copyto(new, prev, where=~mask)
    return saved


def _backward_step(xp, math, d_state, act, saved, prev, d_prev, d_h_gates, weight_hh, mask):
    """From d_state = dL/d new state: dL/d x_gates into ``act``, dL/d h_gates into
    ``d_h_gates`` and dL/d previous state into ``d_prev``; ended rows pass d_state straight
    back."""
    d_new = d_state if mask is None else d_state * mask
    math.backward(xp, d_new, act, saved, prev, d_prev, d_h_gates)
    gates, batch, hidden = d_h_gates.shape             # sum_k dh_gates[k] W_k, one product of
    d_h_rows = d_h_gates.transpose(1, 0, 2).reshape(batch, gates * hidden)     # (B, G*H) rows
    if math.additive:
        xp.matmul(d_h_rows, weight_hh, out=d_prev[0])
    else:
        d_prev[0] += d_h_rows @ weight_hh
    if mask is not None:
        d_prev += d_state
        d_prev -= d_new


# An additive cell takes one product per step, [h_{t-1}, x_t, 1] [W_hh, W_ih, b]^T, while a
# step has at most this many gate values: there NumPy's calls cost more than the arithmetic,
# and the joint product saves the projection's add and a call per step. Larger steps project
# the inputs of all steps at once: one tall product runs faster than the input part of every
# step's (an LSTM training step with B 64, H 512 and D 256 took 2% longer with the joint one).
_JOINT_PRODUCT_SIZE = 1 << 15

# Backward prepares its local derivatives a block of steps at a time, each block about this
# many elements per gate: few calls for small layers, cache-sized arrays for large ones
_BLOCK_SIZE = 1 << 16


def _blocks(steps, size, descending):
    """(first, end) of the blocks of ``size`` steps that cover range(steps), in running order."""
    firsts = range(0, steps, size)
    for first in (reversed(firsts) if descending else firsts):
        yield first, min(first + size, steps)


class RecurrentLayer(Function):
    """All T steps of one layer direction as one op.

    Inputs: x (T, B, D), the initial state (S, B, H), W_ih (G*H, D), W_hh (G*H, H) and
    optionally b_ih, b_hh. Output: the state after every step, (S, T, B, H); h_t is
    output[0, t]. ``masks`` (T, B, 1) booleans, or None, keep a sequence's state unchanged
    after its end; ``reverse`` runs t = T-1 .. 0. The gates of all steps live in a
    (G, T, B, H) buffer: forward projects all steps into it at once, x_gates = x W_ih^T + b_ih,
    except for a small additive cell, whose forward writes each step's gates there from its
    one product [h_{t-1}, x_t, 1] [W_hh, W_ih, b]^T; the buffer then holds the gate
    activations, and backward overwrites it with the gate gradients (unless the graph is
    retained). Backward: dW_ih = sum_t dx_gates_t^T x_t and dW_hh = sum_t dh_gates_t^T h_{t-1},
    each one product per gate over all steps (for a small additive cell one product gives both
    and the bias).

    For observers: ``time_steps()`` lists the steps in the order they run, each step reads
    every input (the state input ``state_input`` from the step before), its output is the
    slice at ``time_axis``, and a trace labels it ``step_kind``.
    """
    __slots__ = ("math", "masks", "reverse", "label")
    saves_inputs = (0, 2, 3)                            # x, W_ih and W_hh
    takes_options = True
    time_axis = 1
    state_input = 1

    def __init__(self, math, masks=None, reverse=False, label=""):
        self.math = math
        self.masks = masks
        self.reverse = reverse
        self.label = label                              # the layer direction: l0, l1_reverse

    @property
    def step_kind(self):
        """lstm_step, gru_step or rnn_step."""
        return type(self.math).__name__[:-len("Math")].lower() + "_step"

    def time_steps(self):
        steps = self.saved[3].shape[0]
        return list(range(steps - 1, -1, -1) if self.reverse else range(steps))

    def forward(self, xp, x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
        steps, batch, features = x.shape
        gates, hidden = self.math.gates, weight_hh.shape[1]
        order = self.math.gate_order
        scale = None if _compiles_kernels(xp) else self.math.gate_scale
        if scale is not None:                          # exact: the scales are powers of two
            scale = xp.asarray(scale, dtype=x.dtype).reshape(gates, 1, 1)
        step_inputs = None
        if self.math.additive and gates * batch * hidden <= _JOINT_PRODUCT_SIZE:
            # every step's product input [h_{t-1}, x_t, 1]: x and the ones now, h as it comes
            bias = None if bias_ih is None else bias_ih + bias_hh
            step_inputs = xp.empty((steps, batch, hidden + features + (bias is not None)),
                                   dtype=x.dtype)
            step_inputs[:, :, hidden:hidden + features] = x
            if bias is not None:
                step_inputs[:, :, -1] = 1
            weight_t = _joint_weight(xp, gates, order, [weight_hh, weight_ih, bias], scale)
            acts = xp.empty((gates, steps, batch, hidden), dtype=x.dtype)
        else:
            # the inputs of all steps projected at once; each step adds W_hh h_{t-1} (the GRU
            # adds b_hh to it, an additive cell the projection)
            weight_t = _joint_weight(xp, gates, order, [weight_hh], scale)
            projection = _joint_weight(xp, gates, order, [weight_ih], scale)
            acts = xp.matmul(rows(x), projection).reshape(gates, steps, batch, hidden)
            if bias_ih is not None:
                bias = _in_buffer_order(bias_ih + bias_hh if self.math.additive else bias_ih,
                                        order).reshape(gates, 1, hidden)
                acts += (bias if scale is None else bias * scale).reshape(gates, 1, 1, hidden)
        adds_projection = self.math.additive and step_inputs is None
        h_bias = None if self.math.additive or bias_hh is None else _in_buffer_order(
            bias_hh, order).reshape(gates, 1, hidden)
        # the initial state and the state after every step, in time order: states[:, t + 1]
        # follows states[:, t] (reversed: states[:, t] follows states[:, t + 1], the initial
        # is last)
        states = xp.empty((state.shape[0], steps + 1) + state.shape[1:], dtype=state.dtype)
        states[:, steps if self.reverse else 0] = state
        h_gates = xp.empty_like(acts[:, 0])
        per_step = [None] * steps
        for t in (range(steps - 1, -1, -1) if self.reverse else range(steps)):
            prev, new = ((states[:, t + 1], states[:, t]) if self.reverse
                         else (states[:, t], states[:, t + 1]))
            if step_inputs is None:
                product_input = prev[0]
            else:
                product_input = step_inputs[t]
                product_input[:, :hidden] = prev[0]
            mask = None if self.masks is None else self.masks[t]
            act = acts[:, t]
            per_step[t] = _forward_step(xp, self.math, act, prev, new, product_input, weight_t,
                                        act if adds_projection else h_bias, h_gates, mask)
        self.saved = (acts, per_step, states, x, weight_ih, weight_hh, step_inputs)
        outputs = states[:, :steps] if self.reverse else states[:, 1:]
        report_values(self.label, lambda: self._values(acts, outputs))
        return outputs

    def cell_state_grad(self, time_step, grad):
        """dL/dc_t of an LSTM layer from the gradient ``grad`` = (dL/dh_t, dL/dc_t from step
        t + 1 on) that reaches step t: c_t also feeds h_t = o_t tanh(c_t). For observers, before
        step t's backward overwrites the gate activations."""
        acts, states = self.saved[0], self.saved[2]
        xp = backend.device_of(grad).xp
        c = states[1, time_step if self.reverse else time_step + 1]
        d_h = grad[0] if self.masks is None else grad[0] * self.masks[time_step]
        tanh_c = xp.tanh(c)
        output_gate = acts[self.math.gate_names.index("o"), time_step]
        return grad[1] + d_h * output_gate * (1 - tanh_c * tanh_c)

    def _values(self, acts, outputs):
        """The states and gate activations of every step, (T, B, H) each, in time order
        (views: backward overwrites ``acts``, so an observer keeps copies)."""
        values = dict(zip(("h", "c"), outputs))
        values.update(zip(self.math.gate_names, acts))
        return values

    def backward(self, xp, g_states, retain_graph=False, observers=()):
        acts, per_step, states, x, weight_ih, weight_hh, step_inputs = self.saved
        if retain_graph:                               # a later backward needs the activations
            acts = acts.copy()
        steps = x.shape[0]
        order = self.math.gate_order
        weight_hh = _in_buffer_order(weight_hh, order)    # the gate gradients' order
        d_h_all = acts if self.math.additive else xp.empty_like(acts)
        d_state = xp.zeros_like(states[:, 0])
        d_prev = xp.empty_like(d_state)
        block = max(1, _BLOCK_SIZE // max(d_state[0].size, 1))    # a batch of 0 has no elements
        for first, end in _blocks(steps, block, descending=not self.reverse):
            prev_states, new_states = ((states[:, first + 1:end + 1], states[:, first:end])
                                       if self.reverse else
                                       (states[:, first:end], states[:, first + 1:end + 1]))
            saved = self.math.prepare_backward(xp, acts[:, first:end], prev_states, new_states,
                                               per_step[first:end])
            for t in (range(first, end) if self.reverse else range(end - 1, first - 1, -1)):
                d_state += g_states[:, t]
                mask = None if self.masks is None else self.masks[t]
                for observer in observers:
                    observer.step_grad(self, t, d_state)
                _backward_step(xp, self.math, d_state, acts[:, t], saved[t - first],
                               prev_states[:, t - first], d_prev, d_h_all[:, t], weight_hh, mask)
                d_state, d_prev = d_prev, d_state
        if observers:
            self._report_contributions(xp, observers, acts, d_h_all, states, x)
        needs = [t.requires_grad for t in self.inputs]
        gates, hidden, features = acts.shape[0], acts.shape[-1], x.shape[2]
        n_rows = steps * x.shape[1]                    # sizes, not -1: a batch of 0 has no rows
        d_x_gates = acts.reshape(gates, n_rows, hidden)
        grads = [None] * len(needs)
        if needs[0]:
            grads[0] = _input_grad(d_x_gates, _in_buffer_order(weight_ih, order)).reshape(x.shape)
        grads[1] = d_state
        if step_inputs is not None and any(needs[2:]):
            # one product for all weights: [dW_hh, dW_ih, db]^T = [h_{t-1}, x_t, 1]^T d_gates,
            # all gates in one call: at this size, with two threads, OpenBLAS runs it in 0.75
            # of the time of one d_k^T [h, x, 1] per gate (larger layers' per-gate products
            # run 1 to 8% faster than the one call, so _weight_grad keeps them)
            blocks = xp.matmul(rows(step_inputs).T, d_x_gates)
            grads[2] = _as_weight(xp, blocks[:, hidden:hidden + features], order)
            grads[3] = _as_weight(xp, blocks[:, :hidden], order)
            if len(needs) == 6:
                d_bias = _as_weight(xp, blocks[:, -1:], order).reshape(-1)
                grads[4:] = d_bias, d_bias.copy()
        elif step_inputs is None:
            d_h_gates = d_h_all.reshape(gates, n_rows, hidden)
            h_prev = rows(states[0, 1:] if self.reverse else states[0, :-1])
            if needs[2]:
                grads[2] = _weight_grad(xp, d_x_gates, rows(x), order)
            if needs[3]:
                grads[3] = _weight_grad(xp, d_h_gates, h_prev, order)
            if len(needs) == 6:
                d_bias_ih = _bias_grad(xp, d_x_gates, order)
                grads[4:] = d_bias_ih, (d_bias_ih.copy() if self.math.additive
                                        else _bias_grad(xp, d_h_gates, order))
        return tuple(g if need else None for g, need in zip(grads, needs))

    def _report_contributions(self, xp, observers, d_x_gates, d_h_gates, states, x):
        """Tell observers each step's share of the weight gradients: dW_ih|t = dx_gates_t^T x_t,
        dW_hh|t = dh_gates_t^T h_{t-1}, db_ih|t and db_hh|t the gates' gradients summed over
        the batch. Each is computed only if asked for, from these buffers."""
        h_prev = states[0, 1:] if self.reverse else states[0, :-1]
        order = self.math.gate_order
        for t in self.time_steps():
            shares = [(2, functools.partial(_weight_grad, xp, d_x_gates[:, t], x[t], order)),
                      (3, functools.partial(_weight_grad, xp, d_h_gates[:, t], h_prev[t], order))]
            if len(self.inputs) == 6:
                shares += [(4, functools.partial(_bias_grad, xp, d_x_gates[:, t], order)),
                           (5, functools.partial(_bias_grad, xp, d_h_gates[:, t], order))]
            for observer in observers:
                for input_index, compute in shares:
                    observer.step_contribution(self, input_index, t, compute)

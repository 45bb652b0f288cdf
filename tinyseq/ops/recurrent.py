"""Fused recurrent ops: a whole cell step as one op, with its backward written by hand.

Each cell's math comes as ``forward(xp, x_gates, h_gates, state, out)`` (writes the new state
into ``out``, returns what backward needs) and ``backward(xp, d_state, saved)`` on raw arrays,
where

    x_gates = W_ih x_t + b_ih      (computed for all steps at once, before the loop)
    h_gates = W_hh h_{t-1} + b_hh  (the recurrent part, inside the loop)

``backward`` returns the gradients of x_gates, of h_gates, and of the previous state through
the paths that bypass h_gates (the LSTM's cell c, the GRU's z * h). ``RecurrentSequence``
runs all steps in one op and gets dW_hh as one GEMM over all steps; ``RecurrentStep`` runs one
step, so that a trace sees every time step (and each step's share of dW_hh).
States are (B, H) for RNN and GRU and (B, 2H) = [h | c] for LSTM.
"""
from ..autograd import Function
from .elementwise import stable_sigmoid


class RNNMath:
    """h_t = f(x_gates + h_gates), f = tanh or relu"""

    def __init__(self, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity

    def forward(self, xp, x_gates, h_gates, state, out):
        h_gates += x_gates
        if self.nonlinearity == "tanh":
            xp.tanh(h_gates, out=out)
        else:
            xp.maximum(h_gates, 0, out=out)
        return out

    def backward(self, xp, d_state, h):
        d_pre = d_state * (1 - h * h) if self.nonlinearity == "tanh" else d_state * (h > 0)
        return d_pre, d_pre, None


class LSTMMath:
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_gates + h_gates);
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t);  state = [h_t | c_t]"""

    def forward(self, xp, x_gates, h_gates, state, out):
        hidden = state.shape[1] // 2
        act = h_gates                                  # a fresh product: updated in place
        act += x_gates
        g = xp.tanh(act[:, 2 * hidden:3 * hidden])
        act *= 0.5                                     # sigmoid = (1 + tanh(x / 2)) / 2
        xp.tanh(act, out=act)
        act *= 0.5
        act += 0.5
        act[:, 2 * hidden:3 * hidden] = g
        i, f, o = act[:, :hidden], act[:, hidden:2 * hidden], act[:, 3 * hidden:]
        c_prev = state[:, hidden:]
        c = out[:, hidden:]
        xp.multiply(f, c_prev, out=c)
        c += i * g
        tanh_c = xp.tanh(c)
        xp.multiply(o, tanh_c, out=out[:, :hidden])
        return act, c_prev, tanh_c

    def backward(self, xp, d_state, saved):
        act, c_prev, tanh_c = saved
        hidden = c_prev.shape[1]
        i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
        d_h = d_state[:, :hidden]
        d_c = 1 - tanh_c * tanh_c
        d_c *= o
        d_c *= d_h
        d_c += d_state[:, hidden:]
        d_gates = xp.empty_like(act)
        for k, (gate, other) in enumerate(((i, g), (f, c_prev))):   # sigmoid' = s (1 - s)
            out = d_gates[:, k * hidden:(k + 1) * hidden]
            xp.subtract(1, gate, out=out)
            out *= gate
            out *= other
            out *= d_c
        out = d_gates[:, 2 * hidden:3 * hidden]                      # tanh' = 1 - g^2
        xp.multiply(g, g, out=out)
        xp.subtract(1, out, out=out)
        out *= i
        out *= d_c
        out = d_gates[:, 3 * hidden:]
        xp.subtract(1, o, out=out)
        out *= o
        out *= tanh_c
        out *= d_h
        d_direct = xp.empty_like(d_state)
        d_direct[:, :hidden] = 0
        xp.multiply(d_c, f, out=d_direct[:, hidden:])
        return d_gates, d_gates, d_direct


class GRUMath:
    """r = sigmoid(x_r + h_r);  z = sigmoid(x_z + h_z);  n = tanh(x_n + r * h_n);
    h_t = (1 - z) * n + z * h_{t-1}   (h_n = W_hn h + b_hn: the reset gate scales it whole)"""

    def forward(self, xp, x_gates, h_gates, state, out):
        hidden = state.shape[1]
        rz = stable_sigmoid(xp, x_gates[:, :2 * hidden] + h_gates[:, :2 * hidden])
        r, z = rz[:, :hidden], rz[:, hidden:]
        h_n = h_gates[:, 2 * hidden:]
        n = xp.tanh(x_gates[:, 2 * hidden:] + r * h_n)
        xp.subtract(state, n, out=out)                 # h_t = n + z * (h_{t-1} - n)
        out *= z
        out += n
        return r, z, n, h_n, state

    def backward(self, xp, d_state, saved):
        r, z, n, h_n, h_prev = saved
        hidden = h_prev.shape[1]
        d_n = d_state * (1 - z) * (1 - n * n)
        d_x = xp.empty((d_state.shape[0], 3 * hidden), dtype=d_state.dtype)
        d_x[:, :hidden] = d_n * h_n * r * (1 - r)
        d_x[:, hidden:2 * hidden] = d_state * (h_prev - n) * z * (1 - z)
        d_x[:, 2 * hidden:] = d_n
        d_h = d_x.copy()
        d_h[:, 2 * hidden:] = d_n * r
        return d_x, d_h, d_state * z


class RecurrentSequence(Function):
    """All T steps of one layer direction in one op.

    Inputs: x_gates (T, B, G*H), the initial state, W_hh (G*H, H) and optionally b_hh.
    Output: the state after every step, (T, B, state width). ``masks`` (T, B, 1) booleans, or
    None, keep a sequence's state unchanged after its end; ``reverse`` runs t = T-1 .. 0.
    Backward: dW_hh = sum_t dh_gates_t^T h_{t-1}, one GEMM over all steps.
    """
    __slots__ = ("math", "masks", "reverse")

    def __init__(self, math, masks=None, reverse=False):
        self.math = math
        self.masks = masks
        self.reverse = reverse

    def forward(self, xp, x_gates, state, weight_hh, bias_hh=None):
        steps, hidden = x_gates.shape[0], weight_hh.shape[1]
        states = xp.empty((steps,) + state.shape, dtype=state.dtype)
        per_step = [None] * steps
        initial, weight_t = state, weight_hh.T
        for t in (range(steps - 1, -1, -1) if self.reverse else range(steps)):
            h_gates = state[:, :hidden] @ weight_t
            if bias_hh is not None:
                h_gates += bias_hh
            per_step[t] = self.math.forward(xp, x_gates[t], h_gates, state, states[t])
            if self.masks is not None:                 # ended sequences keep their state
                xp.copyto(states[t], state, where=~self.masks[t])
            state = states[t]
        self.saved = (per_step, states, initial, weight_hh)
        return states

    def backward(self, xp, g_states):
        per_step, states, initial, weight_hh = self.saved
        steps, hidden = g_states.shape[0], weight_hh.shape[1]
        d_x_all = xp.empty((steps, states.shape[1], weight_hh.shape[0]), dtype=g_states.dtype)
        d_h_all = xp.empty_like(d_x_all)
        d_state = xp.zeros_like(g_states[0])
        shared = True                        # RNN and LSTM: dh_gates is dx_gates
        for t in (range(steps) if self.reverse else range(steps - 1, -1, -1)):
            d_state += g_states[t]
            d_new = d_state if self.masks is None else d_state * self.masks[t]
            d_x, d_h, d_direct = self.math.backward(xp, d_new, per_step[t])
            d_x_all[t] = d_x
            if d_h is not d_x:
                d_h_all[t] = d_h
                shared = False
            if self.masks is not None:
                d_prev = d_state - d_new
                if d_direct is not None:
                    d_prev += d_direct
            else:
                d_prev = d_direct if d_direct is not None else xp.zeros_like(d_state)
            d_prev[:, :hidden] += d_h @ weight_hh
            d_state = d_prev
        if shared:
            d_h_all = d_x_all
        earlier = (states[1:], initial[None]) if self.reverse else (initial[None], states[:-1])
        h_prev = xp.concatenate(earlier)[:, :, :hidden]    # h_{t-1} of every step
        flat_d_h = d_h_all.reshape(-1, weight_hh.shape[0])
        d_weight = flat_d_h.T @ h_prev.reshape(-1, hidden)
        if len(self.inputs) == 4:
            return d_x_all, d_state, d_weight, flat_d_h.sum(axis=0)
        return d_x_all, d_state, d_weight


class RecurrentStep(Function):
    """One step: inputs x_gates_t (B, G*H), the previous state, W_hh and optionally b_hh;
    output the new state. The same math as RecurrentSequence, one op per time step."""
    __slots__ = ("math", "mask")

    def __init__(self, math, mask=None):
        self.math = math
        self.mask = mask

    @property
    def name(self):
        """lstm_step, gru_step or rnn_step: what a trace labels the op with."""
        return type(self.math).__name__[:-len("Math")].lower() + "_step"

    def forward(self, xp, x_gates, state, weight_hh, bias_hh=None):
        h_prev = state[:, :weight_hh.shape[1]]
        h_gates = h_prev @ weight_hh.T
        if bias_hh is not None:
            h_gates += bias_hh
        new_state = xp.empty_like(state)
        self.saved = (self.math.forward(xp, x_gates, h_gates, state, new_state), h_prev, weight_hh)
        if self.mask is not None:
            xp.copyto(new_state, state, where=~self.mask)
        return new_state

    def backward(self, xp, g):
        per_step, h_prev, weight_hh = self.saved
        d_new = g if self.mask is None else g * self.mask
        d_x, d_h, d_direct = self.math.backward(xp, d_new, per_step)
        d_prev = g - d_new if self.mask is not None else xp.zeros_like(g)
        if d_direct is not None:
            d_prev += d_direct
        d_prev[:, :weight_hh.shape[1]] += d_h @ weight_hh
        d_weight = d_h.T @ h_prev
        if len(self.inputs) == 4:
            return d_x, d_prev, d_weight, d_h.sum(axis=0)
        return d_x, d_prev, d_weight

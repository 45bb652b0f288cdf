"""Fused recurrent ops: a cell step, or a whole layer direction, as one op with its backward
written by hand.

Each cell's math is a class with two methods on raw arrays, for one time step:

    forward(xp, act, h_gates, state, new_state)
        ``act`` holds x_gates = W_ih x_t + b_ih on entry and the gate activations on exit;
        h_gates = W_hh h_{t-1} (+ b_hh); writes the new state into ``new_state`` and returns
        what backward needs besides ``act`` and ``state``.
    backward(xp, d_new, act, saved, state, d_prev, d_h_gates)
        from d_new = dL/d new_state: overwrites ``act`` with dL/d x_gates, writes dL/d h_gates
        into ``d_h_gates`` and into ``d_prev`` the gradient of the previous state through the
        paths that bypass W_hh h_{t-1} (the LSTM's cell c, the GRU's z * h).

``additive`` maths (RNN, LSTM) see only x_gates + h_gates: there b_hh folds into x_gates and
dL/d h_gates is dL/d x_gates, one array. States are (B, H) for RNN and GRU and (B, 2H) =
[h | c] for LSTM. ``RecurrentLayer`` runs all steps of one layer direction as one op (the input
projection and the weight gradients as one product over all steps); ``RecurrentStep`` runs one
step, so that a trace sees every time step and each step's share of dW_hh.
"""
from ..autograd import Function, state as engine_state
from .elementwise import stable_sigmoid
from .linalg import rows, rows_times


class RNNMath:
    """h_t = f(x_gates + h_gates), f = tanh or relu"""
    additive = True

    def __init__(self, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity

    def forward(self, xp, act, h_gates, state, new_state):
        act += h_gates
        if self.nonlinearity == "tanh":
            return xp.tanh(act, out=new_state)
        return xp.maximum(act, 0, out=new_state)

    def backward(self, xp, d_new, act, h, state, d_prev, d_h_gates):
        if self.nonlinearity == "tanh":                # tanh' = 1 - h^2
            xp.multiply(h, h, out=act)
            xp.subtract(1, act, out=act)
            act *= d_new
        else:
            xp.multiply(d_new, h > 0, out=act)
        d_prev[...] = 0


class LSTMMath:
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_gates + h_gates);
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t);  state = [h_t | c_t]"""
    additive = True

    def forward(self, xp, act, h_gates, state, new_state):
        hidden = state.shape[1] // 2
        act += h_gates
        i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
        xp.tanh(g, out=g)
        stable_sigmoid(xp, act[:, :2 * hidden], out=act[:, :2 * hidden])
        stable_sigmoid(xp, o, out=o)
        c = new_state[:, hidden:]
        xp.multiply(f, state[:, hidden:], out=c)
        c += i * g
        xp.multiply(o, xp.tanh(c), out=new_state[:, :hidden])
        return c                         # backward recomputes tanh(c) instead of keeping it

    def backward(self, xp, d_new, act, c, state, d_prev, d_h_gates):
        hidden = c.shape[1]
        i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
        tanh_c = xp.tanh(c)
        d_h, c_prev = d_new[:, :hidden], state[:, hidden:]
        d_c = xp.multiply(tanh_c, tanh_c)              # dc_t = dh o (1 - tanh^2 c) + dc from t+1
        xp.subtract(1, d_c, out=d_c)
        d_c *= o
        d_c *= d_h
        d_c += d_new[:, hidden:]
        d_prev[:, :hidden] = 0
        xp.multiply(d_c, f, out=d_prev[:, hidden:])    # dc_{t-1} = dc_t f
        scratch = xp.subtract(1, o)                    # do = dh tanh(c) o (1 - o)
        o *= scratch
        o *= tanh_c
        o *= d_h
        xp.subtract(1, f, out=scratch)                 # df = dc c_{t-1} f (1 - f)
        f *= scratch
        f *= c_prev
        f *= d_c
        xp.multiply(g, g, out=scratch)                 # dg = dc i (1 - g^2)
        xp.subtract(1, scratch, out=scratch)
        scratch *= i
        scratch *= d_c
        g *= d_c                                       # di = dc g i (1 - i)
        g *= i
        xp.subtract(1, i, out=i)
        i *= g
        g[...] = scratch


class GRUMath:
    """r = sigmoid(x_r + h_r);  z = sigmoid(x_z + h_z);  n = tanh(x_n + r * h_n);
    h_t = (1 - z) * n + z * h_{t-1}   (h_n = W_hn h + b_hn: the reset gate scales it whole)"""
    additive = False

    def forward(self, xp, act, h_gates, state, new_state):
        hidden = state.shape[1]
        rz = act[:, :2 * hidden]
        rz += h_gates[:, :2 * hidden]
        stable_sigmoid(xp, rz, out=rz)
        r, z, n = act[:, :hidden], act[:, hidden:2 * hidden], act[:, 2 * hidden:]
        h_n = h_gates[:, 2 * hidden:].copy()
        n += r * h_n
        xp.tanh(n, out=n)
        xp.subtract(state, n, out=new_state)           # h_t = n + z * (h_{t-1} - n)
        new_state *= z
        new_state += n
        return h_n

    def backward(self, xp, d_new, act, h_n, state, d_prev, d_h_gates):
        hidden = h_n.shape[1]
        r, z, n = act[:, :hidden], act[:, hidden:2 * hidden], act[:, 2 * hidden:]
        d_r, d_z, d_hn = (d_h_gates[:, k * hidden:(k + 1) * hidden] for k in range(3))
        xp.multiply(d_new, z, out=d_prev)              # dh_{t-1} = dh z (+ the W_hh path)
        d_n = xp.multiply(n, n)                        # dn = dh (1 - z) (1 - n^2)
        xp.subtract(1, d_n, out=d_n)
        one_minus_z = xp.subtract(1, z)
        d_n *= one_minus_z
        d_n *= d_new
        z *= one_minus_z                               # dz = dh (h_{t-1} - n) z (1 - z)
        z *= state - n
        z *= d_new
        xp.subtract(1, r, out=d_r)                     # dr = dn h_n r (1 - r)
        d_r *= r
        d_r *= h_n
        d_r *= d_n
        xp.multiply(d_n, r, out=d_hn)
        r[...] = d_r
        d_z[...] = z
        n[...] = d_n


def _forward_step(xp, math, act, prev, new, weight_t, h_bias, h_gates, mask):
    """One time step of either op: h_gates = h_{t-1} W_hh^T (+ b_hh), written into
    ``h_gates``, then the cell math into ``new``; rows whose sequence has ended (``mask``
    False) keep ``prev``. Returns what the math's backward needs."""
    xp.matmul(prev[:, :weight_t.shape[0]], weight_t, out=h_gates)
    if h_bias is not None:
        h_gates += h_bias
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
    d_prev[:, :weight_hh.shape[1]] += d_h_gates @ weight_hh
    if mask is not None:
        d_prev += d_state
        d_prev -= d_new


class RecurrentLayer(Function):
    """All T steps of one layer direction as one op.

    Inputs: x (T, B, D), the initial state, W_ih (G*H, D), W_hh (G*H, H) and optionally
    b_ih, b_hh. Output: the state after every step, (T, B, state width). ``masks`` (T, B, 1)
    booleans, or None, keep a sequence's state unchanged after its end; ``reverse`` runs
    t = T-1 .. 0. Forward projects all steps at once, x_gates = x W_ih^T + b_ih, into a buffer
    that then holds the gate activations, and backward overwrites that buffer with the gate
    gradients (unless the graph is retained). Backward: dW_ih = sum_t dx_gates_t^T x_t and
    dW_hh = sum_t dh_gates_t^T h_{t-1}, each one product over all steps.
    """
    __slots__ = ("math", "masks", "reverse")

    def __init__(self, math, masks=None, reverse=False):
        self.math = math
        self.masks = masks
        self.reverse = reverse

    def forward(self, xp, x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
        steps = x.shape[0]
        acts = rows_times(xp, x, weight_ih.T)
        h_bias = None
        if bias_ih is not None and self.math.additive:
            acts += bias_ih + bias_hh
        elif bias_ih is not None:
            acts += bias_ih
            h_bias = bias_hh
        # the initial state and the state after every step t, in time order: states[t + 1]
        # follows states[t] (reversed: states[t] follows states[t + 1], the initial is last)
        states = xp.empty((steps + 1,) + state.shape, dtype=state.dtype)
        states[steps if self.reverse else 0] = state
        weight_t = xp.ascontiguousarray(weight_hh.T)
        h_gates = xp.empty_like(acts[0])
        per_step = [None] * steps
        for t in (range(steps - 1, -1, -1) if self.reverse else range(steps)):
            prev, new = (states[t + 1], states[t]) if self.reverse else (states[t], states[t + 1])
            mask = None if self.masks is None else self.masks[t]
            per_step[t] = _forward_step(xp, self.math, acts[t], prev, new, weight_t, h_bias,
                                        h_gates, mask)
        self.saved = (acts, per_step, states, x, weight_ih, weight_hh)
        return states[:steps] if self.reverse else states[1:]

    def backward(self, xp, g_states):
        acts, per_step, states, x, weight_ih, weight_hh = self.saved
        if engine_state.retain_graph:                  # a later backward needs the activations
            acts = acts.copy()
        steps, hidden = x.shape[0], weight_hh.shape[1]
        d_h_all = acts if self.math.additive else xp.empty_like(acts)
        d_state = xp.zeros_like(states[0])
        d_prev = xp.empty_like(d_state)
        for t in (range(steps) if self.reverse else range(steps - 1, -1, -1)):
            prev = states[t + 1] if self.reverse else states[t]
            d_state += g_states[t]
            mask = None if self.masks is None else self.masks[t]
            _backward_step(xp, self.math, d_state, acts[t], per_step[t], prev, d_prev, d_h_all[t],
                           weight_hh, mask)
            d_state, d_prev = d_prev, d_state
        needs = [t.requires_grad for t in self.inputs]
        d_x_flat, d_h_flat = rows(acts), rows(d_h_all)
        h_prev = rows((states[1:] if self.reverse else states[:-1])[:, :, :hidden])
        grads = [rows_times(xp, acts, weight_ih) if needs[0] else None,
                 d_state,
                 d_x_flat.T @ rows(x) if needs[2] else None,
                 d_h_flat.T @ h_prev if needs[3] else None]
        if len(needs) == 6:
            d_bias_ih = d_x_flat.sum(axis=0)
            grads.append(d_bias_ih)
            grads.append(d_bias_ih.copy() if self.math.additive else d_h_flat.sum(axis=0))
        return tuple(grads)


class RecurrentStep(Function):
    """One step: inputs x_gates_t (B, G*H), the previous state, W_hh and optionally b_hh;
    output the new state. The same math as RecurrentLayer, one op per time step."""
    __slots__ = ("math", "mask")

    def __init__(self, math, mask=None):
        self.math = math
        self.mask = mask

    @property
    def name(self):
        """lstm_step, gru_step or rnn_step: what a trace labels the op with."""
        return type(self.math).__name__[:-len("Math")].lower() + "_step"

    def forward(self, xp, x_gates, state, weight_hh, bias_hh=None):
        act = x_gates.copy()
        new_state = xp.empty_like(state)
        per_step = _forward_step(xp, self.math, act, state, new_state, weight_hh.T, bias_hh,
                                 xp.empty_like(act), self.mask)
        self.saved = (act, per_step, state, weight_hh)
        return new_state

    def backward(self, xp, g):
        act, per_step, state, weight_hh = self.saved
        if engine_state.retain_graph:
            act = act.copy()
        d_h_gates = act if self.math.additive else xp.empty_like(act)
        d_prev = xp.empty_like(g)
        _backward_step(xp, self.math, g, act, per_step, state, d_prev, d_h_gates, weight_hh,
                       self.mask)
        d_weight = d_h_gates.T @ state[:, :weight_hh.shape[1]]
        if len(self.inputs) == 4:
            return act, d_prev, d_weight, d_h_gates.sum(axis=0)
        return act, d_prev, d_weight

"""Attention over encoder outputs: which source positions a decoder step looks at."""
from .. import backend, checks
from ..observers import report_values
from ..creation import as_tensor
from ..tensor import Tensor, where
from .layers import Linear
from .module import Module, factory_kwargs, new_parameter
from . import init

_METHODS = ("dot", "general", "additive")


class Attention(Module):
    """weights_j = softmax_j(score(s, h_j)),  context = sum_j weights_j h_j, where

        dot:      score = s . h_j                          (Luong; needs query_size == key_size)
        general:  score = s . (W h_j)                      (Luong)
        additive: score = v . tanh(W_q s + W_k h_j)        (Bahdanau)

    ``context, weights = attention(query (B, Hq), keys (B, S, Hk), mask (B, S) bool)``;
    masked-out positions (padding) get weight 0. Parameters are made in ``dtype`` on ``device``.
    """

    def __init__(self, query_size, key_size, method="dot", attention_size=None, *, device=None,
                 dtype=None):
        super().__init__()
        checks.choice("Attention", "method", method, _METHODS)
        checks.integer("Attention", "query_size", query_size, minimum=1)
        checks.integer("Attention", "key_size", key_size, minimum=1)
        if attention_size is not None:
            checks.integer("Attention", "attention_size", attention_size, minimum=1)
        if method == "dot" and query_size != key_size:
            raise ValueError(f"Attention: 'dot' needs query_size == key_size, got {query_size} "
                             f"and {key_size} (use 'general' or 'additive')")
        device, dtype = factory_kwargs("Attention", device, dtype)
        self.method = method
        self.query_size = query_size
        self.key_size = key_size
        if method == "general":
            self.query_projection = Linear(query_size, key_size, bias=False, device=device,
                                           dtype=dtype)
        elif method == "additive":
            attention_size = attention_size or key_size
            self.query_projection = Linear(query_size, attention_size, bias=False, device=device,
                                           dtype=dtype)
            self.key_projection = Linear(key_size, attention_size, device=device, dtype=dtype)
            self.score_vector = new_parameter(init.uniform((attention_size,),
                                                           attention_size ** -0.5), device, dtype)

    def forward(self, query, keys, mask=None):
        self._check_inputs(query, keys, mask)
        batch, source_len, key_size = keys.shape
        if self.method == "additive":
            energy = (self.key_projection(keys) + self.query_projection(query).unsqueeze(1)).tanh()
            scores = energy @ self.score_vector                              # (B, S)
        else:
            q = self.query_projection(query) if self.method == "general" else query
            scores = (keys @ q.unsqueeze(2)).reshape(batch, source_len)     # (B, S)
        if mask is not None:
            mask = mask if isinstance(mask, Tensor) else as_tensor(mask)
            scores = where(mask, scores, -1e9)
        weights = scores.softmax(axis=-1)
        context = (weights.unsqueeze(1) @ keys).reshape(batch, key_size)    # (B, Hk)
        report_values("", lambda: {"weights": [weights]})
        return context, weights

    def _check_inputs(self, query, keys, mask):
        for name, value in (("query", query), ("keys", keys)):
            if not isinstance(value, Tensor):
                raise TypeError(f"Attention: {name} must be a Tensor, got {type(value).__name__}")
        if query.ndim != 2 or keys.ndim != 3 or query.shape[0] != keys.shape[0] \
                or query.shape[1] != self.query_size or keys.shape[2] != self.key_size:
            raise ValueError(f"Attention: expected query (B, {self.query_size}) and keys "
                             f"(B, S, {self.key_size}), got {tuple(query.shape)} and "
                             f"{tuple(keys.shape)}")
        if keys.shape[1] == 0:
            raise ValueError(f"Attention: keys {tuple(keys.shape)} have no source positions")
        if mask is None:
            return
        array = mask.array if isinstance(mask, Tensor) else mask
        if backend.is_array(array):
            array = backend.to_numpy(array)
        if not hasattr(array, "dtype") or array.dtype.kind != "b":
            raise TypeError(f"Attention: mask must be a bool array or Tensor (True where a "
                            f"position may be attended to), got {type(mask).__name__} "
                            f"{getattr(array, 'dtype', '')}")
        if tuple(array.shape) != tuple(keys.shape[:2]):
            raise ValueError(f"Attention: mask has shape {tuple(array.shape)}, expected (B, S) = "
                             f"{tuple(keys.shape[:2])}")
        empty = [int(b) for b in (~array.any(axis=1)).nonzero()[0]]
        if empty:
            raise ValueError(f"Attention: the mask leaves nothing to attend to in batch "
                             f"index {empty[0]}" + (f" (and {empty[1:]})" if len(empty) > 1 else "")
                             + ": every source position is masked out")

    def extra_repr(self):
        return f"{self.query_size}, {self.key_size}, method={self.method!r}"

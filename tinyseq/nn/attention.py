"""Attention over encoder outputs: which source positions a decoder step looks at; and
PyTorch's multi-head attention."""
import math

import numpy

from .. import backend, checks
from .. import functional as F
from ..observers import report_values
from ..creation import as_tensor
from ..tensor import Tensor, concat, where
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


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for ``MultiheadAttention.out_proj``, so that printed
    models read the same."""


class MultiheadAttention(Module):
    """As ``nn.MultiheadAttention``: ``num_heads`` attention heads over slices of
    ``embed_dim``, each softmax(Q_h K_h^T / sqrt(head_dim) + mask) V_h, their outputs joined
    and projected by ``out_proj``.

    ``attn_output, attn_weights = mha(query, key, value, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False)`` with
    query (L, N, E), key (S, N, kdim), value (S, N, vdim) ((N, L, E), ... with
    ``batch_first``; (L, E), ... unbatched). Bool masks bar the positions where they are True
    (the opposite of ``F.scaled_dot_product_attention``'s), float masks are added. Parameters
    and their initialisation are PyTorch's, so its state dicts load."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        name = "MultiheadAttention"
        checks.integer(name, "embed_dim", embed_dim, minimum=1)
        checks.integer(name, "num_heads", num_heads, minimum=1)
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim {embed_dim} must be divisible by num_heads "
                             f"{num_heads}")
        for dim_name, dim in (("kdim", kdim), ("vdim", vdim)):
            if dim is not None:
                checks.integer(name, dim_name, dim, minimum=1)
        self.dropout = checks.probability(name, "dropout", dropout)
        for flag_name, flag in (("bias", bias), ("add_bias_kv", add_bias_kv),
                                ("add_zero_attn", add_zero_attn), ("batch_first", batch_first)):
            checks.flag(name, flag_name, flag)
        device, dtype = factory_kwargs(name, device, dtype)
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn

        def xavier_uniform(rows, columns):
            return new_parameter(init.uniform((rows, columns), math.sqrt(6 / (rows + columns))),
                                 device, dtype)

        def zeros(*shape):
            return new_parameter(numpy.zeros(shape), device, dtype)

        # PyTorch draws out_proj's Linear initialisation first, then resets the rest
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = xavier_uniform(3 * embed_dim, embed_dim)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.q_proj_weight = xavier_uniform(embed_dim, embed_dim)
            self.k_proj_weight = xavier_uniform(embed_dim, self.kdim)
            self.v_proj_weight = xavier_uniform(embed_dim, self.vdim)
            self.in_proj_weight = None
        self.in_proj_bias = zeros(3 * embed_dim) if bias else None
        if bias:
            self.out_proj.bias = zeros(embed_dim)
        if add_bias_kv:
            # xavier_normal of a (1, 1, E) tensor: fan_in = fan_out = E
            std = math.sqrt(1 / embed_dim)
            self.bias_k = new_parameter(init.normal((1, 1, embed_dim), std), device, dtype)
            self.bias_v = new_parameter(init.normal((1, 1, embed_dim), std), device, dtype)
        else:
            self.bias_k = self.bias_v = None

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        name = "MultiheadAttention"
        need_weights = checks.flag(name, "need_weights", need_weights)
        average_attn_weights = checks.flag(name, "average_attn_weights", average_attn_weights)
        is_causal = checks.flag(name, "is_causal", is_causal)
        key_padding_mask = _as_mask(key_padding_mask, "key_padding_mask")
        attn_mask = _as_mask(attn_mask, "attn_mask")
        batched = self._check_inputs(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{name}: is_causal=True is a hint that attn_mask is the causal "
                               f"mask, and needs that attn_mask, as PyTorch")
        # work batch first, (N, L, E), whatever the layout given
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        batch, target_len, _ = query.shape

        q, k, v = self._in_projections(query, key, value)
        added_keys = 0
        if self.bias_k is not None:
            k = concat([k, self.bias_k.expand(batch, 1, self.embed_dim)], dim=1)
            v = concat([v, self.bias_v.expand(batch, 1, self.embed_dim)], dim=1)
            added_keys += 1
        if self.add_zero_attn:
            k, v = F.pad(k, (0, 0, 0, 1)), F.pad(v, (0, 0, 0, 1))
            added_keys += 1
        q, k, v = (self._split_heads(x) for x in (q, k, v))      # (N, H, L or S, head_dim)

        # as PyTorch: with no key padding and no weights wanted, is_causal replaces attn_mask
        causal = is_causal and key_padding_mask is None and not need_weights
        mask = None if causal else self._merged_mask(attn_mask, key_padding_mask, batch,
                                                     added_keys, q.dtype)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q * math.sqrt(1 / self.head_dim)) @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores + mask
            weights = F.dropout(scores.softmax(-1), dropout_p)
            context = weights @ v
        else:
            # PyTorch's path without weights: a row that sees no key gives zeros, not NaN
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                     dropout_p=dropout_p, is_causal=causal)
        joined = context.transpose(1, 2).reshape(batch, target_len, self.embed_dim)
        output = F.linear(joined, self.out_proj.weight, self.out_proj.bias)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            output = output.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        return output, weights

    def _in_projections(self, query, key, value):
        if self.in_proj_bias is None:
            q_bias = k_bias = v_bias = None
        else:
            q_bias, k_bias, v_bias = self.in_proj_bias.chunk(3)
        if self._qkv_same_embed_dim:
            q_weight, k_weight, v_weight = self.in_proj_weight.chunk(3)
        else:
            q_weight, k_weight, v_weight = self.q_proj_weight, self.k_proj_weight, \
                self.v_proj_weight
        return (F.linear(query, q_weight, q_bias), F.linear(key, k_weight, k_bias),
                F.linear(value, v_weight, v_bias))

    def _split_heads(self, x):
        """(N, T, E) -> (N, H, T, head_dim): head h holds features h*head_dim onwards."""
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _merged_mask(self, attn_mask, key_padding_mask, batch, added_keys, dtype):
        """attn_mask and key_padding_mask as one float mask added to the scores, broadcasting
        to (N, H, L, S) (bool ones as -inf where True), with a zero column for each key that
        add_bias_kv and add_zero_attn appended; None when neither is given."""
        mask = None
        if attn_mask is not None:
            attn_mask = _additive(attn_mask, dtype)
            if attn_mask.ndim == 2:
                mask = attn_mask.reshape(1, 1, *attn_mask.shape)
            else:
                mask = attn_mask.reshape(batch, self.num_heads, *attn_mask.shape[1:])
        if key_padding_mask is not None:
            padding = _additive(key_padding_mask, dtype)
            padding = padding.reshape(batch, 1, 1, padding.shape[-1])
            mask = padding if mask is None else mask + padding
        if mask is not None and added_keys:
            mask = F.pad(mask, (0, added_keys))
        return mask

    def _check_inputs(self, query, key, value, key_padding_mask, attn_mask):
        """Whether the inputs are batched; raises for any that does not fit."""
        name = "MultiheadAttention"
        for input_name, tensor in (("query", query), ("key", key), ("value", value)):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"{name}: {input_name} must be a Tensor, got "
                                f"{type(tensor).__name__}")
        shapes = (f"query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                  f"{tuple(value.shape)}")
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: expected query, key and value all 3-D {layout} "
                             f"(batched) or all 2-D (L, E) (unbatched), got {shapes}")
        if not query.dtype == key.dtype == value.dtype or query.dtype.kind != "f":
            raise TypeError(f"{name}: expected query, key and value of one floating dtype, got "
                            f"{query.dtype}, {key.dtype} and {value.dtype}")
        batched = query.ndim == 3
        if query.shape[-1] != self.embed_dim or key.shape[-1] != self.kdim \
                or value.shape[-1] != self.vdim:
            raise ValueError(f"{name}: expected the last dims of query, key and value to be "
                             f"embed_dim {self.embed_dim}, kdim {self.kdim} and vdim "
                             f"{self.vdim}, got {shapes}")
        seq_dim = 1 if batched and self.batch_first else 0
        if key.shape[seq_dim] != value.shape[seq_dim]:
            raise ValueError(f"{name}: key and value must have one source length S, got "
                             f"{shapes}")
        if batched and not query.shape[1 - seq_dim] == key.shape[1 - seq_dim] \
                == value.shape[1 - seq_dim]:
            raise ValueError(f"{name}: query, key and value must have one batch size N "
                             f"(dim {1 - seq_dim}), got {shapes}")
        target_len, source_len = query.shape[seq_dim], key.shape[seq_dim]
        batch = query.shape[1 - seq_dim] if batched else 1
        if key_padding_mask is not None:
            expected = (batch, source_len) if batched else (source_len,)
            if tuple(key_padding_mask.shape) != expected:
                raise ValueError(f"{name}: key_padding_mask must have shape "
                                 f"{'(N, S)' if batched else '(S,)'} = {expected} for {shapes}, "
                                 f"got {tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            allowed = ((target_len, source_len),
                       (batch * self.num_heads, target_len, source_len))
            if tuple(attn_mask.shape) not in allowed:
                heads = "N * num_heads" if batched else "num_heads"
                raise ValueError(f"{name}: attn_mask must have shape (L, S) = {allowed[0]} or "
                                 f"({heads}, L, S) = {allowed[1]} for {shapes} and "
                                 f"{self.num_heads} heads, got {tuple(attn_mask.shape)}")
        return batched


def _as_mask(mask, mask_name):
    """``mask`` as a Tensor, checked to be bool or floating (as PyTorch's masks)."""
    if mask is None:
        return None
    mask = mask if isinstance(mask, Tensor) else as_tensor(mask)
    if mask.dtype.kind not in "bf":
        raise TypeError(f"MultiheadAttention: {mask_name} must be bool (True: ignore that "
                        f"position) or floating (added to the scores), got dtype {mask.dtype}")
    return mask


def _additive(mask, dtype):
    """A float mask to add to the scores: a bool one becomes -inf where True, 0 elsewhere."""
    if mask.dtype.kind == "b":
        xp = backend.device_of(mask.array).xp
        return Tensor.from_array(xp.where(mask.array, -xp.inf, 0.0).astype(dtype))
    return mask.to(dtype)

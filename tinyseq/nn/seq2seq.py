"""An encoder-decoder (Seq2Seq) with optional attention, teacher forcing, greedy and beam search.

    encoder:  h^enc_1..S = RNN(embed(x_1..S))
    decoder:  s_t = Cell(embed(y_{t-1}), s_{t-1}),  s_0 = the encoder's final state (the context)
              with attention: c_t, a_t = Attention(s_t, h^enc),  o_t = tanh(W_c [s_t; c_t])
              logits_t = W_out o_t   (o_t = s_t without attention)

Token sequences are (B, T) int arrays with <sos> first; padding uses ``pad_id`` and is ignored
by the loss and masked out of attention. Decoder steps are tagged with time steps S, S+1, ...
after the encoder's 0..S-1, so a trace shows one timeline.
"""
import numpy

from .. import backend, checks, random
from .. import functional as F
from ..modes import no_grad, timestep
from ..tensor import Tensor, concat, stack
from .attention import Attention
from .layers import Dropout, Embedding, Linear
from .module import Module, ModuleList, factory_kwargs
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

_CELLS = {"rnn": (RNN, RNNCell), "lstm": (LSTM, LSTMCell), "gru": (GRU, GRUCell)}


def _ids(ids, like):
    """Token ids as an int64 Tensor on the device of ``like``."""
    if isinstance(ids, Tensor):
        ids = ids.array
    device = backend.device_of(like.array)
    array = ids if backend.is_array(ids) else numpy.asarray(ids)
    if array.dtype.kind not in "iu":
        raise TypeError(f"Seq2Seq: token ids must be integers, got dtype {array.dtype}")
    return Tensor.from_array(backend.move(array, device).astype("int64", copy=False), False)


class Seq2Seq(Module):
    """Encoder-decoder over token ids. ``cell`` is "rnn", "lstm" or "gru"; ``attention`` is
    None, "dot", "general" or "additive"; ``impl`` is the encoder layer's ("fused" or
    "primitive", see nn.LSTM). Every layer's parameters are made in ``dtype`` on ``device``."""

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=64, hidden_size=128,
                 num_layers=1, cell="gru", attention=None, dropout=0.0, bidirectional=False,
                 pad_id=0, sos_id=1, eos_id=2, impl="fused", *, device=None, dtype=None):
        super().__init__()
        checks.choice("Seq2Seq", "cell", cell, tuple(_CELLS))
        for name, value in (("source_vocab_size", source_vocab_size),
                            ("target_vocab_size", target_vocab_size),
                            ("embedding_dim", embedding_dim), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            checks.integer("Seq2Seq", name, value, minimum=1)
        if attention is not None:
            checks.choice("Seq2Seq", "attention", attention, ("dot", "general", "additive"))
        checks.probability("Seq2Seq", "dropout", dropout)
        checks.flag("Seq2Seq", "bidirectional", bidirectional)
        # pad_id pads both vocabularies; <sos> and <eos> are target tokens
        for name, value, vocab in (("pad_id", pad_id, min(source_vocab_size, target_vocab_size)),
                                   ("sos_id", sos_id, target_vocab_size),
                                   ("eos_id", eos_id, target_vocab_size)):
            if checks.integer("Seq2Seq", name, value) >= vocab:
                raise ValueError(f"Seq2Seq: {name} must be a token id below the vocabulary "
                                 f"size, got {value} (source_vocab_size {source_vocab_size}, "
                                 f"target_vocab_size {target_vocab_size})")
        device, dtype = factory_kwargs("Seq2Seq", device, dtype)
        factory = {"device": device, "dtype": dtype}
        layer_class, cell_class = _CELLS[cell]
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pad_id, self.sos_id, self.eos_id = pad_id, sos_id, eos_id
        self.source_embedding = Embedding(source_vocab_size, embedding_dim, padding_idx=pad_id,
                                          **factory)
        self.encoder = layer_class(embedding_dim, hidden_size, num_layers, batch_first=True,
                                   dropout=dropout, bidirectional=bidirectional, impl=impl,
                                   **factory)
        if bidirectional:
            self.bridge = Linear(2 * hidden_size, hidden_size, **factory)
        self.target_embedding = Embedding(target_vocab_size, embedding_dim, padding_idx=pad_id,
                                          **factory)
        self.decoder = ModuleList(cell_class(embedding_dim if layer == 0 else hidden_size,
                                             hidden_size, **factory)
                                  for layer in range(num_layers))
        self.dropout = Dropout(dropout)
        key_size = hidden_size * (2 if bidirectional else 1)
        if attention is not None:
            self.attention = Attention(hidden_size, key_size, attention, **factory)
            self.combine = Linear(hidden_size + key_size, hidden_size, **factory)
        else:
            self.attention = None
        self.output = Linear(hidden_size, target_vocab_size, **factory)

    # --- encoder ----------------------------------------------------------------------------
    def encode(self, source, source_lengths=None):
        """(encoder outputs (B, S, H*dirs), decoder initial state per layer, mask (B, S))."""
        source = _ids(source, self.source_embedding.weight)
        if source.ndim != 2:
            raise ValueError(f"Seq2Seq: expected source ids (B, S), got shape {tuple(source.shape)}")
        batch, source_len = source.shape
        if source_lengths is None:
            lengths = numpy.full(batch, source_len)
        else:
            lengths = numpy.asarray(source_lengths.numpy() if isinstance(source_lengths, Tensor)
                                    else source_lengths).reshape(-1)
        outputs, final = self.encoder(self.source_embedding(source), lengths=lengths)
        xp = backend.device_of(outputs.array).xp
        mask = Tensor.from_array(xp.asarray(numpy.arange(source_len)[None, :] < lengths[:, None]), False)
        return outputs, self._decoder_state(final), mask

    def _decoder_state(self, final):
        """The encoder's h_n (and c_n) per layer; both directions joined through the bridge."""
        def per_layer(h_n):
            if not self.bidirectional:
                return [h_n[layer] for layer in range(self.num_layers)]
            return [self.bridge(concat([h_n[2 * layer], h_n[2 * layer + 1]], axis=1)).tanh()
                    for layer in range(self.num_layers)]
        if self.cell == "lstm":
            return list(zip(per_layer(final[0]), per_layer(final[1])))
        return per_layer(final)

    # --- one decoder step -------------------------------------------------------------------
    def decode_step(self, previous_ids, state, encoder_outputs, mask):
        """logits (B, V), new state, attention weights (B, S) or None for one step."""
        x = self.target_embedding(previous_ids)
        new_state = []
        for layer, cell in enumerate(self.decoder):
            layer_state = cell(x, state[layer])
            new_state.append(layer_state)
            x = layer_state[0] if self.cell == "lstm" else layer_state
            if layer < self.num_layers - 1:
                x = self.dropout(x)
        weights = None
        if self.attention is not None:
            context, weights = self.attention(x, encoder_outputs, mask)
            x = self.combine(concat([x, context], axis=1)).tanh()
        return self.output(self.dropout(x)), new_state, weights

    # --- training ---------------------------------------------------------------------------
    def forward(self, source, target, source_lengths=None, teacher_forcing_ratio=1.0):
        """Logits (B, T-1, V) for target[:, 1:] given target[:, :-1] (target starts with <sos>),
        and attention weights (B, T-1, S) or None. With probability ``teacher_forcing_ratio``
        a step is fed the true previous token, otherwise the model's own previous guess."""
        encoder_outputs, state, mask = self.encode(source, source_lengths)
        target = _ids(target, self.target_embedding.weight)
        if target.ndim != 2 or target.shape[0] != encoder_outputs.shape[0] or target.shape[1] < 2:
            raise ValueError(f"Seq2Seq: expected target ids (B, T) with B = "
                             f"{encoder_outputs.shape[0]} and T >= 2 (<sos> and at least one "
                             f"token), got shape {tuple(target.shape)}")
        offset = encoder_outputs.shape[1]
        cpu_generator = random.generator(backend.get_device("cpu"))
        previous = target[:, 0]
        all_logits, all_weights = [], []
        for t in range(target.shape[1] - 1):
            with timestep(offset + t):
                logits, state, weights = self.decode_step(previous, state, encoder_outputs, mask)
            all_logits.append(logits)
            all_weights.append(weights)
            teacher = teacher_forcing_ratio >= 1.0 or cpu_generator.random() < teacher_forcing_ratio
            previous = target[:, t + 1] if teacher else logits.argmax(axis=1)
        weights = stack(all_weights, axis=1) if self.attention is not None else None
        return stack(all_logits, axis=1), weights

    def loss(self, logits, target):
        """Cross-entropy per predicted token, padding ignored, averaged over real tokens."""
        target = _ids(target, logits)
        vocab = logits.shape[2]
        return F.cross_entropy(logits.reshape(-1, vocab), target[:, 1:].reshape(-1),
                               ignore_index=self.pad_id)

    # --- inference --------------------------------------------------------------------------
    @no_grad()
    def greedy_decode(self, source, source_lengths=None, max_len=50):
        """Token lists (without <sos>/<eos>) picked by argmax step by step, and the attention
        weights (B, steps, S) as a numpy array (None without attention)."""
        max_len = checks.integer("greedy_decode", "max_len", max_len, minimum=1)
        encoder_outputs, state, mask = self.encode(source, source_lengths)
        batch = encoder_outputs.shape[0]
        xp = backend.device_of(encoder_outputs.array).xp
        previous = Tensor.from_array(xp.full((batch,), self.sos_id, dtype="int64"), False)
        tokens, weights_per_step = [], []
        for _ in range(max_len):
            logits, state, weights = self.decode_step(previous, state, encoder_outputs, mask)
            previous = logits.argmax(axis=1)
            tokens.append(previous.numpy())
            if weights is not None:
                weights_per_step.append(weights.numpy())
            if all((numpy.stack(tokens, axis=1) == self.eos_id).any(axis=1)):
                break
        sequences = [self._until_eos(row) for row in numpy.stack(tokens, axis=1)]
        attention = numpy.stack(weights_per_step, axis=1) if weights_per_step else None
        return sequences, attention

    def _until_eos(self, ids):
        ids = [int(i) for i in ids]
        return ids[:ids.index(self.eos_id)] if self.eos_id in ids else ids

    @no_grad()
    def beam_search(self, source, source_lengths=None, beam_width=5, max_len=50, length_penalty=1.0):
        """For each source sequence, the token list (without <sos>/<eos>) with the best
        length-normalised log-probability score = sum(log p) / len^length_penalty, found by
        keeping the ``beam_width`` best partial hypotheses at every step. The search ends
        when ``beam_width`` hypotheses have ended and none still running scores better."""
        if not isinstance(beam_width, int) or beam_width < 1:
            raise ValueError(f"beam_search: beam_width must be a positive int, got {beam_width}")
        max_len = checks.integer("beam_search", "max_len", max_len, minimum=1)
        length_penalty = checks.finite("beam_search", "length_penalty", length_penalty)
        source = _ids(source, self.source_embedding.weight)
        if source.ndim != 2:
            raise ValueError(f"beam_search: expected source ids (B, S), got shape {tuple(source.shape)}")
        lengths = numpy.full(source.shape[0], source.shape[1]) if source_lengths is None else \
            numpy.asarray(source_lengths).reshape(-1)
        if len(lengths) != source.shape[0]:
            raise ValueError(f"beam_search: got {len(lengths)} source lengths for a batch of "
                             f"{source.shape[0]}")
        return [self._beam_search_one(source[i:i + 1], lengths[i:i + 1], beam_width, max_len,
                                      length_penalty) for i in range(source.shape[0])]

    @no_grad()
    def beam_search_tree(self, source, source_length=None, beam_width=5, max_len=50,
                         length_penalty=1.0):
        """The search ``beam_search`` runs for one source sequence (ids (S,) or (1, S)), as the
        tree of hypotheses it looked at: a dict with ``nodes`` (one per partial output the
        search ranked: ``id``, ``parent`` id (None for the root, the empty output), ``step``,
        ``token``, ``tokens`` (the partial output), ``log_prob`` (sum of log p), ``status``:
        "kept" (one of the ``beam_width`` carried on), "ended" (an <eos> that finishes a
        hypothesis, with its length-normalised ``score``) or "dropped"), ``chosen`` (the id of
        the ended node ``beam_search`` returns), ``beam_width`` and ``eos_id``. Draw it with
        ``tinyseq.render.plot_beam_tree``."""
        if not isinstance(beam_width, int) or beam_width < 1:
            raise ValueError(f"beam_search_tree: beam_width must be a positive int, got {beam_width}")
        source = _ids(source, self.source_embedding.weight)
        if source.ndim == 1:
            source = source.reshape(1, -1)
        if source.ndim != 2 or source.shape[0] != 1:
            raise ValueError(f"beam_search_tree: expected the ids of one source, (S,) or (1, S), "
                             f"got shape {tuple(source.shape)}")
        length = numpy.full(1, source.shape[1]) if source_length is None else \
            numpy.asarray(source_length).reshape(-1)
        nodes = [{"id": 0, "parent": None, "step": 0, "token": None, "tokens": [],
                  "log_prob": 0.0, "status": "kept"}]
        self._beam_search_one(source, length, beam_width, max_len, length_penalty, nodes)
        chosen = max((n for n in nodes if n["status"] == "ended"), key=lambda n: n["score"])
        return {"nodes": nodes, "chosen": chosen["id"], "beam_width": beam_width,
                "eos_id": self.eos_id}

    def _beam_search_one(self, source, source_length, beam_width, max_len, length_penalty,
                         nodes=None):
        """The best hypothesis for one source; ``nodes``, when given, gets every ranked
        candidate appended (see beam_search_tree)."""
        encoder_outputs, state, mask = self.encode(source, source_length)
        xp = backend.device_of(encoder_outputs.array).xp
        beams = [([], 0.0, 0)]                   # (tokens, sum of log-probabilities, node id)
        finished = []
        for step in range(1, max_len + 1):
            k = len(beams)
            previous = Tensor.from_array(xp.asarray([b[0][-1] if b[0] else self.sos_id for b in beams],
                                               dtype="int64"), False)
            repeated = [e.expand(k, *e.shape[1:]) for e in (encoder_outputs, mask)]
            logits, state, _ = self.decode_step(previous, state, repeated[0], repeated[1])
            log_probs = backend.to_numpy(logits.log_softmax(axis=1).array).astype("float64")
            totals = numpy.array([score for _, score, _ in beams])[:, None] + log_probs
            best = numpy.argsort(-totals, axis=None)[:2 * beam_width]
            survivors = []
            for rank, flat in enumerate(best):
                beam, token = divmod(int(flat), totals.shape[1])
                tokens, score = beams[beam][0] + [token], float(totals[beam, token])
                node = {"id": len(nodes) if nodes is not None else None, "parent": beams[beam][2],
                        "step": step, "token": token, "tokens": tokens, "log_prob": score,
                        "status": "dropped"}
                if token != self.eos_id:
                    if len(survivors) < beam_width:
                        survivors.append((beam, tokens, score, node["id"]))
                        node["status"] = "kept"
                elif rank < beam_width:          # an ending counts only if it ranks in the beam
                    node["status"], node["score"] = "ended", score / len(tokens) ** length_penalty
                    finished.append((tokens[:-1], node["score"], node["id"]))
                if nodes is not None:
                    nodes.append(node)
            if not survivors:
                break
            best_finished = max((score for _, score, _ in finished), default=-numpy.inf)
            best_live = max(score / len(tokens) ** length_penalty for _, tokens, score, _ in survivors)
            if len(finished) >= beam_width and best_finished >= best_live:
                break
            keep = Tensor.from_array(xp.asarray([s[0] for s in survivors]), False)
            state = [tuple(part[keep] for part in s) if isinstance(s, tuple) else s[keep] for s in state]
            beams = [(tokens, score, node_id) for _, tokens, score, node_id in survivors]
        if not finished:
            finished = [(tokens, score / max(len(tokens), 1) ** length_penalty, node_id)
                        for tokens, score, node_id in beams]
            if nodes is not None:                # the search ran out of steps: the live beams end
                for _, score, node_id in finished:
                    nodes[node_id]["status"], nodes[node_id]["score"] = "ended", score
        return max(finished, key=lambda item: item[1])[0]

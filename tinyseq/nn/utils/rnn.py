"""Padded and packed batches of sequences, as ``torch.nn.utils.rnn``.

A PackedSequence holds the steps of B sequences of different lengths, packed time step by
time step with the longest sequences first, exactly as PyTorch lays it out. The recurrent
layers accept one: underneath they run on the padded batch with ``lengths=``, so steps past a
sequence's end change nothing, and ``h_n`` holds each sequence's state at its own last step.
"""
import collections

import numpy

from ... import backend, functional as F
from ...tensor import Tensor, concat, stack


class PackedSequence(collections.namedtuple(
        "PackedSequence", ("data", "batch_sizes", "sorted_indices", "unsorted_indices"))):
    """``data`` (sum of lengths, *): step 0 of every sequence, then step 1 of those that have
    one, and so on, longest first; ``batch_sizes[t]`` how many sequences have step t;
    ``sorted_indices`` the batch order used (None when the batch came sorted)."""

    __slots__ = ()

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))


def _lengths_list(op, lengths, batch):
    if isinstance(lengths, Tensor):
        lengths = lengths.array
    if backend.is_array(lengths):
        lengths = backend.to_numpy(lengths)
    array = numpy.asarray(lengths).reshape(-1)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: lengths must be integers, got {array.tolist()}")
    if len(array) != batch:
        raise ValueError(f"{op}: got {len(array)} lengths for a batch of {batch}")
    if array.size and array.min() <= 0:
        raise ValueError(f"{op}: every length must be positive, got {array.tolist()}")
    return [int(n) for n in array]


def _index_tensor(values):
    return Tensor.from_array(numpy.asarray(values, dtype=numpy.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0):
    """Tensors (L_i, *) padded with ``padding_value`` to the longest and stacked: (T, B, *),
    or (B, T, *) with ``batch_first``; differentiable."""
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    for s in sequences:
        if not isinstance(s, Tensor) or s.ndim == 0:
            raise TypeError(f"pad_sequence: expected tensors with a time dim, got "
                            f"{type(s).__name__}")
    trailing = {tuple(s.shape[1:]) for s in sequences}
    if len(trailing) != 1:
        raise ValueError(f"pad_sequence: sequences differ after their first dim: "
                         f"{[tuple(s.shape) for s in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    padded = [F.pad(s, (0, 0) * (s.ndim - 1) + (0, longest - s.shape[0]), value=padding_value)
              for s in sequences]
    return stack(padded, dim=0 if batch_first else 1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *)) of sequences of ``lengths``; with
    ``enforce_sorted`` the lengths must come longest first."""
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise TypeError("pack_padded_sequence: expected a padded tensor (T, B, *)")
    time_major = input.transpose(0, 1) if batch_first else input
    steps, batch = time_major.shape[0], time_major.shape[1]
    lengths = _lengths_list("pack_padded_sequence", lengths, batch)
    if max(lengths) > steps:
        raise ValueError(f"pack_padded_sequence: lengths {lengths} exceed the {steps} time steps "
                         f"of the input")
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise ValueError(f"pack_padded_sequence: lengths {lengths} must be sorted in "
                             f"decreasing order when enforce_sorted is True (or pass "
                             f"enforce_sorted=False)")
        order = None
    else:
        order = sorted(range(batch), key=lambda b: -lengths[b])
    return _pack(time_major, lengths, order)


def _pack(time_major, lengths, order):
    """Pack time-major padded steps of sequences of ``lengths`` in batch order ``order``."""
    batch = len(lengths)
    rows = list(range(batch)) if order is None else order
    sorted_lengths = [lengths[b] for b in rows]
    batch_sizes = [sum(1 for n in sorted_lengths if n > t) for t in range(sorted_lengths[0])]
    if order is not None:
        time_major = time_major.index_select(1, _index_tensor(order))
    data = concat([time_major[t, :size] for t, size in enumerate(batch_sizes)], dim=0)
    unsorted = None if order is None else numpy.argsort(order)
    return PackedSequence(data, _index_tensor(batch_sizes),
                          None if order is None else _index_tensor(order),
                          None if order is None else _index_tensor(unsorted))


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """``(padded, lengths)`` of a PackedSequence: (T, B, *) (or (B, T, *)) in the batch's
    original order, steps past each length filled with ``padding_value``."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    batch_sizes = [int(n) for n in sequence.batch_sizes.numpy()]
    batch, steps = batch_sizes[0], len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length {total_length} is shorter than "
                             f"the longest sequence ({steps} steps)")
        steps = total_length
    data = sequence.data
    pieces, start = [], 0
    for size in batch_sizes:
        step = data[start:start + size]
        start += size
        pieces.append(F.pad(step, (0, 0) * (data.ndim - 1) + (0, batch - size),
                            value=padding_value))
    padded = stack(pieces, dim=0)
    if steps > len(batch_sizes):
        padded = F.pad(padded, (0, 0) * (padded.ndim - 1) + (0, steps - len(batch_sizes)),
                       value=padding_value)
    lengths = numpy.array([sum(1 for size in batch_sizes if size > b) for b in range(batch)])
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.numpy()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index_tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Tensors (L_i, *) packed into a PackedSequence, as PyTorch's: ``pad_sequence`` then
    ``pack_padded_sequence`` with their lengths."""
    sequences = list(sequences)
    padded = pad_sequence(sequences)
    return pack_padded_sequence(padded, [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences (L_i, *) that ``pad_sequence`` padded, as PyTorch's: each
    column of (T, B, *) (or row of (B, T, *)) cut to its length."""
    if not isinstance(padded_sequences, Tensor) or padded_sequences.ndim < 2:
        raise TypeError(f"unpad_sequence: expected a padded (T, B, *) tensor, got "
                        f"{type(padded_sequences).__name__}")
    steps, batch = padded_sequences.shape[1::-1] if batch_first else padded_sequences.shape[:2]
    lengths = _lengths_list("unpad_sequence", lengths, batch)
    if any(n > steps for n in lengths):
        raise ValueError(f"unpad_sequence: lengths {lengths} exceed the {steps} padded steps")
    columns = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [columns[b, :n] for b, n in enumerate(lengths)]


def run_packed(layer, packed, state):
    """What a recurrent layer returns for a PackedSequence: its output packed the same way,
    and its final state in the batch's original order (as PyTorch's)."""
    padded, lengths = pad_packed_sequence(packed, batch_first=layer.batch_first)
    output, state = layer.forward(padded, state, lengths)
    time_major = output.transpose(0, 1) if layer.batch_first else output
    order = None if packed.sorted_indices is None else \
        [int(i) for i in packed.sorted_indices.numpy()]
    return _pack(time_major, [int(n) for n in lengths.numpy()], order), state

"""Training helpers on parameters' gradients, and ``nn.utils.rnn`` for padded batches."""
from ... import backend, checks
from ...modes import no_grad
from ...tensor import Tensor, cat
from . import rnn


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint norm is at most ``max_norm``.

    total = (sum over parameters of ||g||^p)^(1/p); if total > max_norm every g is multiplied
    by max_norm / (total + 1e-6). Returns the total norm before clipping as a 0-d tensor.
    """
    max_norm = checks.real("clip_grad_norm_", "max_norm", max_norm, minimum=0.0)
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return Tensor.from_array(backend.get_device("cpu").xp.zeros(()), False)
    xp = backend.device_of(grads[0].array).xp
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = xp.max(xp.stack([xp.abs(g.array).max() for g in grads]))
    else:
        total = xp.stack([(xp.abs(g.array) ** norm_type).sum() for g in grads]).sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients "
                           f"is non-finite ({float(total)}), so it cannot be clipped")
    coefficient = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g.array = xp.asarray(g.array * coefficient.astype(g.array.dtype))  # 0-d stays an array
    return Tensor.from_array(xp.asarray(total), False)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry into [-clip_value, clip_value], in place, as PyTorch's
    ``nn.utils.clip_grad_value_``; ``foreach`` is accepted and changes nothing."""
    clip_value = checks.real("clip_grad_value_", "clip_value", clip_value, minimum=0.0)
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        if p.grad is not None:
            xp = backend.device_of(p.grad.array).xp
            # a new array, as clip_grad_norm_ writes: a gradient may be a read-only view
            p.grad.array = xp.asarray(xp.clip(p.grad.array, -clip_value, clip_value))


def _parameter_list(op, parameters):
    """``parameters`` (a Tensor or an iterable of them) as a list, all on one device."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(p).__name__}")
        if p.device != parameters[0].device:
            raise TypeError(f"{op}: Found two parameters on different devices ("
                            f"{parameters[0].device} and {p.device}), this is currently not "
                            f"supported.")
    return parameters


def parameters_to_vector(parameters):
    """Every parameter flattened and joined, in order, into one 1-d tensor, as PyTorch's
    ``nn.utils.parameters_to_vector``; gradients flow back to the parameters."""
    parameters = _parameter_list("parameters_to_vector", parameters)
    if not parameters:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Set the parameters, in order, to consecutive slices of the 1-d ``vec``, as PyTorch's
    ``nn.utils.vector_to_parameters``. The values are copied into each parameter (which keeps
    its dtype); PyTorch makes each parameter's ``.data`` a view of ``vec`` instead. A ``vec``
    of another length than the parameters' total is refused (PyTorch ignores a longer one's
    tail)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected Tensor, but got: {type(vec).__name__}")
    parameters = _parameter_list("vector_to_parameters", parameters)
    sizes = [p.numel() for p in parameters]
    if vec.ndim != 1 or vec.numel() != sum(sizes):
        raise ValueError(f"vector_to_parameters: expected a 1-d vec of {sum(sizes)} values (the "
                         f"parameters' total), got shape {tuple(vec.shape)}")
    if vec.device != parameters[0].device:
        raise TypeError(f"vector_to_parameters: vec is on {vec.device}, the parameters on "
                        f"{parameters[0].device}")
    start = 0
    with no_grad():
        for p, size in zip(parameters, sizes):
            p.copy_(vec[start:start + size].reshape(tuple(p.shape)))
            start += size

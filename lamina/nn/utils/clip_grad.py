"""Gradient clipping: clip_grad_norm_, clip_grad_value_, get_total_norm, clip_grads_with_norm_."""
import math
import types
import warnings

from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.tensor import Tensor


def _as_list(parameters, fn):
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    for p in parameters:
        if not isinstance(p, Tensor):
            raise ArgumentError(f"{fn}(): expected lamina Tensors (parameters), got {type(p).__name__}")
    return parameters


def _vector_norm(a, p):
    """The p-norm of all elements of ``a`` (p may be inf, -inf or 0, as in torch.linalg.vector_norm)."""
    a = xp.abs(a.astype(xp.float64, copy=False)).reshape(-1)
    if p == math.inf:
        return float(a.max()) if a.size else 0.0
    if p == -math.inf:
        return float(a.min()) if a.size else math.inf
    if p == 0:
        return float(xp.count_nonzero(a))
    if p == 2:
        return float(math.sqrt(xp.dot(a, a)))
    return float((a ** p).sum() ** (1.0 / p))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors``: their norm as one concatenated vector.

    Example:
        >>> nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
    """
    tensors = _as_list(tensors, "get_total_norm")
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._make(xp.array(0.0, dtype=xp.float32))
    norms = xp.array([_vector_norm(t._data, norm_type) for t in tensors])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ArgumentError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                            "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                            "norm anyway, set `error_if_nonfinite=False`")
    dtype = tensors[0]._data.dtype if tensors[0]._data.dtype.kind == "f" else xp.float32
    return Tensor._make(xp.array(total, dtype=dtype))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))`` in place."""
    parameters = _as_list(parameters, "clip_grads_with_norm_")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    total = float(total_norm._data) if isinstance(total_norm, Tensor) else float(total_norm)
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        # multiply even when coef == 1, as torch does: a nan/inf total norm then shows in the gradients
        g._data *= g._data.dtype.type(coef)
        g._vc[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is taken over all gradients together, as if concatenated into one vector; every gradient is
    multiplied by ``min(1, max_norm / (total_norm + 1e-6))``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest total norm allowed.
        norm_type: the p of the norm (``float('inf')`` for the max-abs norm).
        error_if_nonfinite: raise if the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Example:
        >>> loss.backward()
        >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    parameters = _as_list(parameters, "clip_grad_norm_")
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient in place to ``[-clip_value, clip_value]``.

    Example:
        >>> nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    """
    parameters = _as_list(parameters, "clip_grad_value_")
    clip_value = float(clip_value)
    for p in parameters:
        if p.grad is not None:
            xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._vc[0] += 1

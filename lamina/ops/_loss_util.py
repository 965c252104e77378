"""Helpers shared by the loss operators (lamina/ops/loss.py, lamina/ops/loss_distance.py).

Argument checks that raise Lamina's typed errors, torch's reduction rules, and the bookkeeping that turns a
reduced loss's gradient back into per-element gradients of the inputs' shapes and dtypes.
"""
import os
import threading
import warnings

from lamina.autograd import is_grad_enabled
from lamina.backend import xp
from lamina.dtypes import promote_types
from lamina.errors import ArgumentError, AutogradError, DTypeError, ShapeError
from lamina.ops._util import as_tensor_arg, unbroadcast

REDUCTIONS = ("none", "mean", "sum")


# ---- argument checks shared by the losses -----------------------------------------------------------------

def check_reduction(op, reduction, size_average=None, reduce=None, allowed=REDUCTIONS):
    """Validate ``reduction``; torch's deprecated ``size_average``/``reduce`` pair overrides it when given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        legacy = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{legacy}' "
                      "instead.", stacklevel=3)
        return legacy
    if not isinstance(reduction, str) or reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ArgumentError(f"{op}(): argument 'reduction' must be one of {names}, got {reduction!r}")
    return reduction


def tensor_arg(x):
    return None if x is None else as_tensor_arg(x)


def float_result_dtype(op, *tensors):
    """torch's result dtype over the operands, which must include a floating one (losses are float math)."""
    dt = None
    for t in tensors:
        if t is not None:
            dt = t._data.dtype if dt is None else promote_types(dt, t._data.dtype)
    if dt.kind != "f":
        got = ", ".join(str(t._data.dtype) for t in tensors if t is not None)
        raise DTypeError(f"{op}(): expected floating point input, got dtypes ({got})")
    return dt


def broadcast_shape(op, a, b, name_a="input", name_b="target"):
    try:
        return xp.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        raise ShapeError(f"{op}(): {name_a} shape {tuple(a._data.shape)} and {name_b} shape "
                         f"{tuple(b._data.shape)} cannot be broadcast together") from None


def warn_if_broadcast(input, target):
    # torch warns (but proceeds) when a pointwise loss broadcasts input against target.
    if input._data.shape != target._data.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def check_same_shape(op, input, target):
    if input._data.shape != target._data.shape:
        raise ShapeError(f"{op}(): target shape {tuple(target._data.shape)} must be the same as input shape "
                         f"{tuple(input._data.shape)}")


def check_fits_input(op, name, t, input):
    """``t`` (a weight) must broadcast to exactly the input's shape."""
    if t is None:
        return
    shape = input._data.shape
    try:
        ok = xp.broadcast_shapes(t._data.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{op}(): argument '{name}' of shape {tuple(t._data.shape)} must broadcast to the "
                         f"input shape {tuple(shape)}")


def refuse_grad(op, name, t):
    """torch refuses a gradient for these weights; say so instead of silently leaving .grad empty."""
    if t is not None and t.requires_grad and is_grad_enabled():
        raise AutogradError(f"{op}(): argument '{name}' requires grad, but the loss is not differentiable with "
                            f"respect to '{name}' (as in torch); pass {name}.detach()")


# ---- reductions on raw arrays -----------------------------------------------------------------------------

def reduce_loss(loss, reduction, denom=None):
    """Apply ``reduction`` to an elementwise loss; 'mean' divides by the element count or by ``denom``."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    with xp.errstate(divide="ignore", invalid="ignore"):  # an empty mean is nan, as in torch
        return total / (loss.size if denom is None else denom)


def grad_scale(grad, reduction, denom):
    """The gradient every element of the unreduced loss receives: d(reduced)/d(loss_i) * grad."""
    if reduction == "mean":
        with xp.errstate(divide="ignore", invalid="ignore"):
            return grad / denom
    return grad


def grad_for(g, shape, dtype):
    """Sum a broadcast gradient back to an input's shape and cast it to the input's dtype."""
    full = xp.broadcast_shapes(g.shape, shape)
    if g.shape != full:     # g depends on the other operand only (kl_div's -target): broadcast it first
        g = xp.broadcast_to(g, full)
        if full == shape:
            return g.astype(dtype)   # a writable copy, not the read-only broadcast view
    return unbroadcast(g, shape).astype(dtype, copy=False)


# ---- stable building blocks -------------------------------------------------------------------------------

def log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite for every finite x, as exp never overflows."""
    return xp.minimum(x, 0.0) - xp.log1p(xp.exp(-xp.abs(x)))


def sigmoid(x):
    """1 / (1 + exp(-x)) from e = exp(-|x|) in (0, 1], which never overflows."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# ---- large elementwise passes over several cores ----------------------------------------------------------

def _thread_count():
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", "0")) or (os.cpu_count() or 1)
    except ValueError:
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


_THREADS = _thread_count()
_ROWWISE_MIN = 1 << 20      # elements; below this, starting a thread (~0.1 ms) costs more than it saves


def rowwise(ufunc, *args, out=None):
    """``ufunc(*args, out=out)``, split by rows (axis 0) over up to OMP_NUM_THREADS threads for large arrays.

    NumPy releases the GIL inside ufunc loops, so the pieces run in parallel; this is how cross_entropy's
    ``exp`` over (N, C) logits keeps up with torch's multi-threaded kernels. Arguments whose first dim is not
    the row count (broadcast ones) go to every piece whole. Small inputs take the plain single call.
    """
    first = args[0]
    n = first.shape[0] if first.ndim else 0
    k = min(_THREADS, n)
    if xp.__name__ != "numpy" or k < 2 or first.size < _ROWWISE_MIN:
        return ufunc(*args, out=out)
    if out is None:
        dtype = ufunc.resolve_dtypes(tuple(a.dtype for a in args) + (None,))[-1]
        out = xp.empty(xp.broadcast_shapes(*(a.shape for a in args)), dtype=dtype)
    bounds = [n * i // k for i in range(k + 1)]
    state, errors = xp.geterr(), []

    def work(lo, hi):
        try:
            with xp.errstate(**state):     # errstate is per thread; carry the caller's
                ufunc(*(a[lo:hi] if a.ndim and a.shape[0] == n else a for a in args), out=out[lo:hi])
        except BaseException as e:         # re-raised in the calling thread below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(bounds[i], bounds[i + 1])) for i in range(1, k)]
    for t in threads:
        t.start()
    work(bounds[0], bounds[1])
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out

"""Helpers shared by the operator families: undoing broadcasting, checking dims and arguments."""
from lamina import dtypes as _dt
from lamina.backend import xp, ndarray
from lamina.errors import ArgumentError, DimError


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of broadcasting is a sum over the broadcast axes."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def canonical_dim(dim, ndim, op):
    """Wrap a negative ``dim``; raise DimError naming ``op`` if it is out of range (0-d tensors accept -1 and 0)."""
    if hasattr(dim, "__index__") and not isinstance(dim, bool):
        dim = dim.__index__()
    else:
        raise ArgumentError(f"{op}(): dim must be an int, got {type(dim).__name__} {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise DimError(f"{op}(): dim {dim} out of range for a {ndim}-d tensor (expected to be in range of "
                       f"[{-n}, {n - 1}])")
    return dim % n if ndim else 0


def canonical_dims(dims, ndim, op):
    """A tuple of non-negative dims for ``dims`` (None or () meaning all dims); duplicates raise."""
    if dims is None:
        return tuple(range(ndim))
    if not isinstance(dims, (tuple, list)):
        dims = (dims,)
    out = tuple(canonical_dim(d, ndim, op) for d in dims)
    if ndim == 0:
        return ()
    if len(set(out)) != len(out):
        raise ArgumentError(f"{op}(): dim {tuple(dims)} appears multiple times in the list of dims")
    return out


def as_tensor_arg(x, dtype=None):
    """Turn a Python number, list or array into a Tensor; Tensors pass through unchanged."""
    if isinstance(x, Tensor):
        return x
    from lamina.creation import as_array
    return Tensor._make(as_array(x, dtype))


def is_tensor(x):
    return isinstance(x, Tensor)


def float_dtype_of(array):
    """The floating dtype an op like exp() gives for ``array``: itself if floating, else the default."""
    return array.dtype if array.dtype.kind == "f" else _dt.get_default_dtype().numpy


def check_reduction(reduction, op):
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(f"{op}(): reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction


def shape_of(x):
    return x.shape if isinstance(x, ndarray) else ()


from lamina.tensor import Tensor  # noqa: E402

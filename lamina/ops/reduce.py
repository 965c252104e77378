"""Reductions: sum, mean, var/std, max/min, amax/amin, argmax/argmin, prod, logsumexp, norm, cumsum/cumprod,
all/any, count_nonzero, median.

Each operator reduces over ``dims``, a tuple of non-negative axes that the public function has already checked
(``dim=None`` or ``()`` means every axis, as in torch). The adjoint of a reduction broadcasts the output gradient
back over the reduced axes; ``_expand`` does that once for every operator here.
"""
import builtins
import collections
import contextlib
import math
import numbers

from lamina.autograd import Op
from lamina.backend import xp
from lamina.dtypes import get_default_dtype, to_numpy
from lamina.errors import ArgumentError, DimError, DTypeError
from lamina.tensor import Tensor
from lamina.ops._util import canonical_dim

# torch.return_types.max / min / median: a (values, indices) pair that also unpacks like a tuple.
_MaxResult = collections.namedtuple("max", ["values", "indices"])
_MinResult = collections.namedtuple("min", ["values", "indices"])
_MedianResult = collections.namedtuple("median", ["values", "indices"])

_INT64 = xp.dtype("int64")


# ---- shared helpers --------------------------------------------------------------------------------------

def _quiet():
    """Silence NumPy's divide/invalid warnings where torch silently gives inf/nan (empty mean, var with dof <= 0)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore", invalid="ignore") if errstate is not None else contextlib.nullcontext()


def _is_int(v):
    return hasattr(v, "__index__") and not isinstance(v, bool)


def _reduce_dims(dim, ndim, op):
    """torch's ``dim`` argument (None, int, or a tuple/list of ints) as a sorted tuple of axes to reduce.

    ``None`` and ``()`` reduce every axis. A 0-d tensor accepts dim 0 / -1 but has no axis to reduce, so it gives ().
    """
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if _is_int(dim) else dim
    if not isinstance(dims, (tuple, list)) or not builtins.all(_is_int(d) for d in dims):
        raise ArgumentError(f"{op}(): argument 'dim' must be an int or a tuple of ints, got {dim!r}")
    if not dims:
        return tuple(range(ndim))
    axes = []
    for d in dims:
        a = canonical_dim(d, ndim, op)
        if a in axes:
            raise ArgumentError(f"{op}(): dim {a} appears multiple times in the list of dims {dim!r}")
        axes.append(a)
    return tuple(sorted(axes)) if ndim else ()


def _one_dim(dim, ndim, op):
    """A single reduction axis (``dim`` must be an int); for a 0-d tensor, returns None (nothing to reduce)."""
    if not _is_int(dim):
        raise ArgumentError(f"{op}(): argument 'dim' must be an int, got {dim!r}")
    d = canonical_dim(dim, ndim, op)
    return d if ndim else None


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand(grad, shape, dims):
    """Adjoint of reducing ``dims`` of an array of ``shape``: broadcast grad (keepdim or not) back over them."""
    return xp.broadcast_to(grad.reshape(_keep_shape(shape, dims)), shape)


def _drop(out, dims, keepdim):
    """A keepdims=True result as the operator returns it. Operators save the returned array (reshaped back with
    ``_keep_shape`` in backward), so an in-place change of the output is caught by the version check."""
    return out if keepdim else out.reshape(tuple(s for i, s in enumerate(out.shape) if i not in dims))


def _count(shape, dims):
    return math.prod(shape[d] for d in dims)


def _is_float(np_dtype):
    return np_dtype.kind == "f"


def _check_nonempty(x, dims, op, dim_given=True):
    """torch refuses max/min/argmax-style reductions with no identity over an empty axis."""
    if x.size:
        return
    if not dim_given:
        raise ArgumentError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                            f"Specify the reduction dim with the 'dim' argument (input shape {tuple(x.shape)})")
    for d in dims:
        if x.shape[d] == 0:
            raise DimError(f"{op}(): Expected reduction dim {d} to have non-zero size, "
                           f"got input of shape {tuple(x.shape)}")


def _dtype_arg(dtype, op):
    """The NumPy dtype for a ``dtype=`` argument, or None."""
    if dtype is None:
        return None
    try:
        return to_numpy(dtype)
    except DTypeError as e:
        raise DTypeError(f"{op}(): argument 'dtype': {e}") from None


def _data(input, op):
    if not isinstance(input, Tensor):
        raise ArgumentError(f"{op}(): argument 'input' must be a Tensor, got {type(input).__name__}")
    return input._data


def _even_split_mask(x, value):
    """Where x equals the (broadcast) extreme value, NaN matching NaN; the gradient splits evenly among these."""
    mask = x == value
    if _is_float(x.dtype):
        mask |= xp.isnan(x) & xp.isnan(value)
    return mask


# ---- sum, mean --------------------------------------------------------------------------------------------

class Sum(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.in_dtype = x.shape, dims, x.dtype
        if dtype is None and x.dtype.kind in "biu":
            dtype = _INT64                            # torch sums bool/int to int64
        if x.dtype == xp.float16 and dtype is None:   # accumulate half in float32, as torch does
            return xp.sum(x, axis=dims, keepdims=keepdim, dtype=xp.float32).astype(xp.float16)
        return xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        # d(sum x)/dx = 1: the gradient is broadcast back over the reduced axes.
        return _expand(grad, ctx.shape, ctx.dims).astype(ctx.in_dtype, copy=False)


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of the elements over ``dim`` (all of them if None). Bool and integer tensors sum to int64.

    Args:
        input: the tensor to reduce.
        dim: an int or tuple of ints; None or () reduces every dimension.
        keepdim: keep the reduced dimensions with size 1.
        dtype: cast the input to this dtype before summing.

    Example:
        >>> lamina.sum(lamina.tensor([[1., 2.], [3., 4.]]), dim=0)
        tensor([4., 6.])
    """
    x = _data(input, "sum")
    dims = _reduce_dims(dim, x.ndim, "sum")
    return Sum.apply(input, dims=dims, keepdim=bool(keepdim), dtype=_dtype_arg(dtype, "sum"))


class Mean(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.in_dtype = x.shape, dims, x.dtype
        ctx.n = _count(x.shape, dims)
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        acc = xp.float32 if x.dtype == xp.float16 else x.dtype    # accumulate half in float32, as torch does
        with _quiet():                                            # the mean of nothing is nan, silently
            return (xp.sum(x, axis=dims, keepdims=keepdim, dtype=acc) / ctx.n).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # d(mean x)/dx_i = 1/n.
        scale = 1.0 / ctx.n if ctx.n else math.nan
        return (_expand(grad, ctx.shape, ctx.dims) * scale).astype(ctx.in_dtype, copy=False)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over ``dim`` (all dimensions if None). Needs a floating input or a floating ``dtype``.

    Example:
        >>> lamina.mean(lamina.tensor([1., 2., 3., 4.]))
        tensor(2.5000)
    """
    x = _data(input, "mean")
    np_dtype = _dtype_arg(dtype, "mean")
    if np_dtype is not None and not _is_float(np_dtype):
        raise DTypeError(f"mean(): could not infer output dtype. Optional dtype must be a floating point dtype, "
                         f"got {np_dtype}")
    if np_dtype is None and not _is_float(x.dtype):
        raise DTypeError(f"mean(): could not infer output dtype. Input dtype must be a floating point dtype, "
                         f"got {x.dtype}")
    dims = _reduce_dims(dim, x.ndim, "mean")
    return Mean.apply(input, dims=dims, keepdim=bool(keepdim), dtype=np_dtype)


# ---- var, std ---------------------------------------------------------------------------------------------

def _var_parts(x, dims, correction):
    """Centered input and sum of squares; var = ss / max(n - correction, 0) (two-pass for accuracy)."""
    with _quiet():
        centered = x - xp.sum(x, axis=dims, keepdims=True) / _count(x.shape, dims)
    ss = xp.sum(centered * centered, axis=dims, keepdims=True)
    dof = float(builtins.max(_count(x.shape, dims) - correction, 0))
    return centered, ss, dof


class Var(Op):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        with _quiet():
            centered, ss, dof = _var_parts(x, dims, correction)
            out = ss / dof
        ctx.save_for_backward(centered)
        ctx.dims, ctx.dof = dims, dof
        return _drop(out, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        # d var / dx_i = 2 (x_i - mean) / dof  (the mean's own derivative sums to zero).
        (centered,) = ctx.saved_tensors
        with _quiet():
            return _expand(grad, centered.shape, ctx.dims) * (centered * (2.0 / ctx.dof if ctx.dof else math.inf))


class Std(Op):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        with _quiet():
            centered, ss, dof = _var_parts(x, dims, correction)
            out = _drop(xp.sqrt(ss / dof), dims, keepdim)
        ctx.save_for_backward(centered, out)
        ctx.dims, ctx.dof = dims, dof
        return out

    @staticmethod
    def backward(ctx, grad):
        # d std / dx_i = (x_i - mean) / (dof * std); torch defines it as 0 where std == 0.
        centered, out = ctx.saved_tensors
        out = out.reshape(_keep_shape(centered.shape, ctx.dims))
        with _quiet():
            scale = grad.reshape(out.shape) / (out * ctx.dof)
            scale = xp.where(out == 0, 0.0, scale).astype(out.dtype, copy=False)
        return xp.broadcast_to(scale, centered.shape) * centered


def _var_args(op, input, dim, unbiased, keepdim, correction):
    """Resolve torch's two var/std signatures: (dim, unbiased, keepdim) and (dim, *, correction, keepdim)."""
    x = _data(input, op)
    if not _is_float(x.dtype):
        raise DTypeError(f"{op}(): std and var only support floating point dtypes, got {x.dtype}")
    if isinstance(dim, bool):                     # legacy var(input, unbiased)
        if unbiased is not None:
            raise ArgumentError(f"{op}(): got 'unbiased' twice: {dim!r} and {unbiased!r}")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ArgumentError(f"{op}(): cannot specify both 'unbiased' ({unbiased!r}) and 'correction' "
                            f"({correction!r})")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise ArgumentError(f"{op}(): argument 'correction' must be a number, got {correction!r}")
    return _reduce_dims(dim, x.ndim, op), correction, bool(keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default; ``unbiased=False`` means 0).

    Also accepts torch's legacy forms ``var(input, unbiased)`` and ``var(input, dim, unbiased, keepdim)``.

    Example:
        >>> lamina.var(lamina.tensor([1., 2., 3., 4.]))
        tensor(1.6667)
    """
    dims, correction, keepdim = _var_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims=dims, correction=correction, keepdim=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``; same arguments as ``var``."""
    dims, correction, keepdim = _var_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims=dims, correction=correction, keepdim=keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(input, ...), mean(input, ...))`` over the same dimensions."""
    dims, correction, keepdim = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    return (Var.apply(input, dims=dims, correction=correction, keepdim=keepdim),
            Mean.apply(input, dims=dims, keepdim=keepdim, dtype=None))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(input, ...), mean(input, ...))`` over the same dimensions."""
    dims, correction, keepdim = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    return (Std.apply(input, dims=dims, correction=correction, keepdim=keepdim),
            Mean.apply(input, dims=dims, keepdim=keepdim, dtype=None))


# ---- max, min, amax, amin, argmax, argmin -----------------------------------------------------------------

class AMax(Op):
    """amax / amin (and max / min without dim): the gradient splits evenly among tied extremes, as in torch."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, smallest):
        reduce = xp.amin if smallest else xp.amax
        out = _drop(reduce(x, axis=dims, keepdims=True), dims, keepdim)
        ctx.save_for_backward(x, out)
        ctx.dims = dims
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        out = out.reshape(_keep_shape(x.shape, ctx.dims))
        mask = _even_split_mask(x, out)
        count = xp.sum(mask, axis=ctx.dims, keepdims=True)
        share = grad.reshape(out.shape) / count.astype(grad.dtype)
        return xp.where(mask, share, 0.0).astype(x.dtype, copy=False)


class MaxDim(Op):
    """max / min along one dim: (values, indices); the gradient goes to the returned index only."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, smallest):
        ctx.shape, ctx.dtype = x.shape, x.dtype
        if dim is None:                                   # 0-d input: the value itself, index 0
            ctx.dim = None
            return x.copy(), xp.zeros((), dtype=_INT64)
        find = xp.argmin if smallest else xp.argmax
        idx = find(x, axis=dim, keepdims=True).astype(_INT64, copy=False)
        return _values_at(ctx, x, idx, dim, keepdim)

    @staticmethod
    def backward(ctx, grad, grad_indices):
        return _scatter_to_index(ctx, grad)


def _values_at(ctx, x, idx, dim, keepdim):
    """Forward tail of max/min/median along ``dim``: the values at ``idx`` (keepdims form), saving the indices."""
    values = xp.take_along_axis(x, idx, axis=dim)
    if not keepdim:
        values, idx = xp.squeeze(values, axis=dim), xp.squeeze(idx, axis=dim)
    ctx.save_for_backward(idx)                            # the returned indices, version-checked
    ctx.dim = dim
    return values, idx


def _scatter_to_index(ctx, grad):
    """Backward of max/min/median along a dim: the gradient goes to the selected index only."""
    if ctx.dim is None:                                   # 0-d input
        return grad
    (idx,) = ctx.saved_tensors
    idx = xp.expand_dims(idx, ctx.dim) if idx.ndim < len(ctx.shape) else idx
    out = xp.zeros(ctx.shape, dtype=ctx.dtype)
    xp.put_along_axis(out, idx, grad.reshape(idx.shape), axis=ctx.dim)
    return out


def _max_min(op, smallest, input, dim, keepdim, other):
    if other is not None or isinstance(dim, Tensor):
        from lamina.ops.elementwise import maximum, minimum   # binary form: elementwise extreme
        other = dim if other is None else other
        return minimum(input, other) if smallest else maximum(input, other)
    x = _data(input, op)
    if dim is None:
        if keepdim:
            raise ArgumentError(f"{op}(): 'keepdim' needs 'dim' to be given, got keepdim={keepdim!r}")
        dims = tuple(range(x.ndim))
        _check_nonempty(x, dims, op, dim_given=False)
        return AMax.apply(input, dims=dims, keepdim=False, smallest=smallest)
    d = _one_dim(dim, x.ndim, op)
    if d is not None:
        _check_nonempty(x, (d,), op)
    values, indices = MaxDim.apply(input, dim=d, keepdim=bool(keepdim), smallest=smallest)
    return (_MinResult if smallest else _MaxResult)(values, indices)


def max(input, dim=None, keepdim=False, *, other=None):
    """The largest element; along ``dim``, a ``(values, indices)`` named tuple; with a Tensor, elementwise maximum.

    Forms (as in torch): ``max(input)`` -> 0-d tensor (gradient split evenly among ties);
    ``max(input, dim, keepdim=False)`` -> ``max(values, indices)`` (gradient to the returned index);
    ``max(input, other)`` -> ``maximum(input, other)``.

    Example:
        >>> lamina.max(lamina.tensor([[1., 5.], [7., 2.]]), dim=1)
        max(values=tensor([5., 7.]), indices=tensor([1, 0]))
    """
    return _max_min("max", False, input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    """The smallest element; the same forms as ``max``."""
    return _max_min("min", True, input, dim, keepdim, other)


def _amax_amin(op, smallest, input, dim, keepdim):
    x = _data(input, op)
    dims = _reduce_dims(() if dim is None else dim, x.ndim, op)
    _check_nonempty(x, dims, op)
    return AMax.apply(input, dims=dims, keepdim=bool(keepdim), smallest=smallest)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (an int or tuple; () = all); the gradient is split evenly among ties."""
    return _amax_amin("amax", False, input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim`` (an int or tuple; () = all); the gradient is split evenly among ties."""
    return _amax_amin("amin", True, input, dim, keepdim)


class ArgMax(Op):
    @staticmethod
    def forward(ctx, x, dim, keepdim, smallest):
        find = xp.argmin if smallest else xp.argmax
        if dim is None:                                   # flattened index
            idx = find(x.reshape(-1)) if x.ndim else xp.zeros((), dtype=_INT64)
            idx = xp.asarray(idx, dtype=_INT64)
            return idx.reshape((1,) * x.ndim) if keepdim else idx
        return find(x, axis=dim, keepdims=keepdim).astype(_INT64, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return None


def _argmax_argmin(op, smallest, input, dim, keepdim):
    x = _data(input, op)
    if dim is None:
        _check_nonempty(x, tuple(range(x.ndim)), op, dim_given=False)
        return ArgMax.apply(input, dim=None, keepdim=bool(keepdim), smallest=smallest)
    d = _one_dim(dim, x.ndim, op)
    if d is None:                                         # 0-d input with dim 0: index 0
        return ArgMax.apply(input, dim=None, keepdim=False, smallest=smallest)
    _check_nonempty(x, (d,), op)
    return ArgMax.apply(input, dim=d, keepdim=bool(keepdim), smallest=smallest)


def argmax(input, dim=None, keepdim=False):
    """Index of the largest element along ``dim`` (of the flattened tensor if None); first one among ties."""
    return _argmax_argmin("argmax", False, input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element along ``dim`` (of the flattened tensor if None); first one among ties."""
    return _argmax_argmin("argmin", True, input, dim, keepdim)


# ---- prod -------------------------------------------------------------------------------------------------

def _exclusive_cumprod(x, reverse=False):
    """p_i = prod_{j<i} x_j (or prod_{j>i} x_j with reverse) along the last axis; exact with zeros."""
    if x.shape[-1] == 0:
        return x
    if reverse:
        return xp.flip(_exclusive_cumprod(xp.flip(x, axis=-1)), axis=-1)
    ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    return xp.cumprod(xp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)


class Prod(Op):
    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype):
        ctx.in_dtype, ctx.shape, ctx.dim, ctx.keepdim = x.dtype, x.shape, dim, keepdim
        if dtype is None and x.dtype.kind in "biu":
            dtype = _INT64                                # torch multiplies bool/int into int64
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        ctx.save_for_backward(x)
        if dim is None:
            return xp.prod(x)
        return xp.prod(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        # d(prod x)/dx_i = prod_{j != i} x_j, computed as (product before i) * (product after i): no division,
        # so zeros in the input get the right gradient.
        (x,) = ctx.saved_tensors
        if ctx.dim is None:
            flat = x.reshape(1, -1)
            others = _exclusive_cumprod(flat) * _exclusive_cumprod(flat, reverse=True)
            out = others.reshape(x.shape) * grad
        else:
            moved = xp.moveaxis(x, ctx.dim, -1)
            others = _exclusive_cumprod(moved) * _exclusive_cumprod(moved, reverse=True)
            g = grad if ctx.keepdim else xp.expand_dims(grad, ctx.dim)
            out = xp.moveaxis(others, -1, ctx.dim) * g
        return out.astype(ctx.in_dtype, copy=False)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of the elements (over one ``dim`` if given). Bool and integer tensors multiply into int64.

    The gradient is exact when the input holds zeros (no division by the input).
    """
    x = _data(input, "prod")
    d = None if dim is None else _one_dim(dim, x.ndim, "prod")     # None also for a 0-d input
    return Prod.apply(input, dim=d, keepdim=bool(keepdim), dtype=_dtype_arg(dtype, "prod"))


# ---- logsumexp --------------------------------------------------------------------------------------------

class LogSumExp(Op):
    # Fused for stability: log(sum(exp(x - m))) + m with m the max, so large inputs do not overflow.
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        if not _is_float(x.dtype):                        # integers give the default float dtype, as in torch
            x = x.astype(get_default_dtype().numpy)
        keep = _keep_shape(x.shape, dims)
        if x.size == 0:
            out = xp.full(keep, -math.inf, dtype=x.dtype)
        else:
            m = xp.amax(x, axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0.0).astype(x.dtype, copy=False)   # all -inf rows stay -inf
            with _quiet():
                out = xp.log(xp.sum(xp.exp(x - m), axis=dims, keepdims=True)) + m
        out = _drop(out, dims, keepdim)
        ctx.save_for_backward(x, out)
        ctx.dims = dims
        return out

    @staticmethod
    def backward(ctx, grad):
        # d lse / dx_i = exp(x_i - lse) = softmax(x)_i.
        x, out = ctx.saved_tensors
        out = out.reshape(_keep_shape(x.shape, ctx.dims))
        with _quiet():
            return grad.reshape(out.shape) * xp.exp(x - out)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))`` computed stably (the max is subtracted first).

    Args:
        input: the tensor; integer inputs give the default float dtype.
        dim: an int or tuple of ints to reduce (() reduces all).
        keepdim: keep the reduced dimensions with size 1.

    Example:
        >>> lamina.logsumexp(lamina.tensor([1000., 1000.]), dim=0)
        tensor(1000.6932)
    """
    x = _data(input, "logsumexp")
    dims = _reduce_dims(dim, x.ndim, "logsumexp")
    return LogSumExp.apply(input, dims=dims, keepdim=bool(keepdim))


# ---- norms ------------------------------------------------------------------------------------------------

class VectorNorm(Op):
    """The p-norm of the elements over ``dims``: (sum |x|^p)^(1/p), with p = 0, +-inf as limits."""

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim, dtype):
        ctx.in_dtype, ctx.ord, ctx.dims = x.dtype, ord, dims
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        a = xp.abs(x)
        if ord == math.inf:
            out = xp.amax(a, axis=dims, keepdims=True)
        elif ord == -math.inf:
            out = xp.amin(a, axis=dims, keepdims=True)
        elif ord == 0:
            out = xp.sum(x != 0, axis=dims, keepdims=True).astype(x.dtype)
        elif ord == 1:
            out = xp.sum(a, axis=dims, keepdims=True)
        elif ord == 2:
            out = xp.sqrt(xp.sum(x * x, axis=dims, keepdims=True))
        else:
            with _quiet():
                out = xp.sum(a ** float(ord), axis=dims, keepdims=True) ** (1.0 / ord)
        out = _drop(out, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # torch's linalg_vector_norm_backward, including its choices at points where the norm is not smooth.
        x, out = ctx.saved_tensors
        out = out.reshape(_keep_shape(x.shape, ctx.dims))
        p = ctx.ord
        g = grad.reshape(out.shape)
        with _quiet():
            if p == 0:
                gx = xp.zeros_like(x)
            elif p == 1:
                gx = xp.sign(x) * g
            elif p == 2:
                gx = x * xp.where(out == 0, 0.0, g / out)     # x / ||x||, 0 at the origin
            elif p in (math.inf, -math.inf):
                mask = xp.abs(x) == out                       # split evenly among the extreme entries
                count = xp.sum(mask, axis=ctx.dims, keepdims=True)
                gx = xp.sign(x) * xp.where(mask, g / count, 0.0)
            elif p < 1:
                scaled = xp.where(x == 0, 0.0, xp.sign(x) * xp.abs(x) ** (p - 1.0))
                gx = scaled * (g * out ** (1.0 - p))
            else:
                # d/dx_i ||x||_p = sign(x_i) |x_i|^(p-1) / ||x||^(p-1), 0 at the origin.
                gx = xp.sign(x) * xp.abs(x) ** (p - 1.0) * xp.where(out == 0, 0.0, g / out ** (p - 1.0))
        return gx.astype(ctx.in_dtype, copy=False)


class NuclearNorm(Op):
    """Sum of the singular values of the matrices spanned by two axes; d/dA = U V^T (from the reduced SVD)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.in_dtype, ctx.dims, ctx.keepdim = x.dtype, dims, keepdim
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        u, s, vh = xp.linalg.svd(xp.moveaxis(x, dims, (-2, -1)), full_matrices=False)
        ctx.save_for_backward(u, vh)
        out = xp.sum(s, axis=-1)
        return xp.expand_dims(out, dims) if keepdim else out

    @staticmethod
    def backward(ctx, grad):
        u, vh = ctx.saved_tensors
        g = xp.squeeze(grad, axis=ctx.dims) if ctx.keepdim else grad
        gx = g[..., None, None] * (u @ vh)
        return xp.moveaxis(gx, (-2, -1), ctx.dims).astype(ctx.in_dtype, copy=False)


def _vector_norm(op, input, ord, dim, keepdim, dtype):
    x = _data(input, op)
    np_dtype = _dtype_arg(dtype, op)
    if not _is_float(x.dtype) or (np_dtype is not None and not _is_float(np_dtype)):
        raise DTypeError(f"{op}(): expected a floating point tensor as input, got {x.dtype}"
                         + (f" with dtype={np_dtype}" if np_dtype is not None else ""))
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise ArgumentError(f"{op}(): argument 'ord' must be a number, got {ord!r}")
    dims = _reduce_dims(dim, x.ndim, op)
    if ord in (math.inf, -math.inf) and x.size == 0:
        empty = [d for d in dims if x.shape[d] == 0]
        if empty or not dims:
            raise ArgumentError(f"{op}(): cannot compute the {ord} norm over an empty dimension (input shape "
                                f"{tuple(x.shape)}): the operation has no identity")
    return VectorNorm.apply(input, ord=float(ord), dims=dims, keepdim=bool(keepdim), dtype=np_dtype)


def _nuclear_norm(input, dim, keepdim, dtype):
    x = _data(input, "norm")
    if dim is None:
        if x.ndim != 2:
            raise ArgumentError(f"norm(): p='nuc' without dim needs a 2-D input, got shape {tuple(x.shape)}")
        dim = (0, 1)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ArgumentError(f"norm(): p='nuc' needs dim to be a 2-tuple, got {dim!r}")
    np_dtype = _dtype_arg(dtype, "norm")
    if not _is_float(x.dtype) or (np_dtype is not None and not _is_float(np_dtype)):
        raise DTypeError(f"norm(): expected a floating point tensor as input, got {x.dtype}")
    d0, d1 = (canonical_dim(d, x.ndim, "norm") for d in dim)
    if d0 == d1:
        raise ArgumentError(f"norm(): p='nuc' needs two different dims, got {tuple(dim)!r}")
    return NuclearNorm.apply(input, dims=(d0, d1), keepdim=bool(keepdim), dtype=np_dtype)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: a vector p-norm over ``dim`` (all elements if None), or the nuclear norm of a matrix.

    Args:
        input: a floating tensor.
        p: 'fro' (the 2-norm of the elements), 'nuc' (sum of singular values over a 2-D ``dim``), or a number:
            inf / -inf (max / min of |x|), 0 (count of non-zeros), any other p.
        dim: an int or tuple of ints; None means all elements.
        keepdim: keep the reduced dimensions with size 1.
        dtype: compute and return in this dtype.

    The gradient at the origin is 0, as in torch.

    Example:
        >>> lamina.norm(lamina.tensor([3., 4.]))
        tensor(5.)
    """
    if out is not None:
        raise ArgumentError("norm(): argument 'out' is not supported by Lamina, got a value for it")
    if p is None or p == "fro":
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise ArgumentError(f"norm(): p='fro' needs dim to be an int or a 2-tuple, got {dim!r}")
        return _vector_norm("norm", input, 2.0, dim, keepdim, dtype)
    if p == "nuc":
        return _nuclear_norm(input, dim, keepdim, dtype)
    if isinstance(p, str):
        raise ArgumentError(f"norm(): argument 'p' must be 'fro', 'nuc' or a number, got {p!r}")
    return _vector_norm("norm", input, p, dim, keepdim, dtype)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.vector_norm: the ``ord``-norm of the elements of ``x`` over ``dim`` (all if None)."""
    return _vector_norm("linalg.vector_norm", x, ord, dim, keepdim, dtype)


# ---- cumulative -------------------------------------------------------------------------------------------

def _reverse_cumsum(g, axis):
    """r_i = sum_{k >= i} g_k along ``axis``."""
    return xp.flip(xp.cumsum(xp.flip(g, axis=axis), axis=axis), axis=axis)


class Cumsum(Op):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.in_dtype, ctx.dim = x.dtype, dim
        if dtype is None and x.dtype.kind in "biu":
            dtype = _INT64                                # torch accumulates bool/int in int64
        if dim is None:                                   # 0-d input
            return x.astype(dtype if dtype is not None else x.dtype, copy=True)
        return xp.cumsum(x, axis=dim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        # y_k = sum_{i<=k} x_i, so dL/dx_i = sum_{k>=i} dL/dy_k.
        g = grad if ctx.dim is None else _reverse_cumsum(grad, ctx.dim)
        return g.astype(ctx.in_dtype, copy=False)


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``; bool and integer tensors accumulate in int64.

    Example:
        >>> lamina.cumsum(lamina.tensor([1., 2., 3.]), dim=0)
        tensor([1., 3., 6.])
    """
    x = _data(input, "cumsum")
    return Cumsum.apply(input, dim=_one_dim(dim, x.ndim, "cumsum"), dtype=_dtype_arg(dtype, "cumsum"))


class Cumprod(Op):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.in_dtype, ctx.dim = x.dtype, dim
        if dtype is None and x.dtype.kind in "biu":
            dtype = _INT64
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        if dim is None:
            return x.copy()
        out = xp.cumprod(x, axis=dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.dim is None:
            return grad.astype(ctx.in_dtype, copy=False)
        x, out = ctx.saved_tensors
        # dL/dx_i = sum_{k>=i} g_k y_k / x_i where x_i != 0. Only the first zero z of a slice needs more: every
        # product through z excludes x_z, i.e. it is the cumprod with x_z replaced by 1. Entries after z get 0.
        axis = ctx.dim
        zero = x == 0
        with _quiet():
            gx = xp.where(zero, 0.0, _reverse_cumsum(grad * out, axis) / xp.where(zero, 1, x))
        if zero.any():
            first = zero & (xp.cumsum(zero, axis=axis) == 1)
            skipped = xp.cumprod(xp.where(first, 1, x), axis=axis)
            gx = xp.where(first, _reverse_cumsum(grad * skipped, axis), gx)
        return gx.astype(ctx.in_dtype, copy=False)


def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``; the gradient is exact when the input holds zeros."""
    x = _data(input, "cumprod")
    return Cumprod.apply(input, dim=_one_dim(dim, x.ndim, "cumprod"), dtype=_dtype_arg(dtype, "cumprod"))


# ---- logical and counting reductions (no gradient) --------------------------------------------------------

class AllAny(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, every):
        reduce = xp.all if every else xp.any
        out = reduce(x, axis=dims, keepdims=keepdim)
        return out.astype(xp.uint8) if x.dtype == xp.uint8 else out    # torch keeps uint8 as uint8

    @staticmethod
    def backward(ctx, grad):
        return None


def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` (all if None) is non-zero; bool result (uint8 stays uint8)."""
    x = _data(input, "all")
    return AllAny.apply(input, dims=_reduce_dims(dim, x.ndim, "all"), keepdim=bool(keepdim), every=True)


def any(input, dim=None, keepdim=False):
    """True where some element over ``dim`` (all if None) is non-zero; bool result (uint8 stays uint8)."""
    x = _data(input, "any")
    return AllAny.apply(input, dims=_reduce_dims(dim, x.ndim, "any"), keepdim=bool(keepdim), every=False)


class CountNonzero(Op):
    @staticmethod
    def forward(ctx, x, dims):
        return xp.asarray(xp.count_nonzero(x, axis=dims), dtype=_INT64)

    @staticmethod
    def backward(ctx, grad):
        return None


def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (all if None), as int64."""
    x = _data(input, "count_nonzero")
    return CountNonzero.apply(input, dims=_reduce_dims(dim, x.ndim, "count_nonzero"))


# ---- median -----------------------------------------------------------------------------------------------

class MedianAll(Op):
    """The lower median of all elements (nan if any is nan); the gradient splits evenly among equal entries."""

    @staticmethod
    def forward(ctx, x):
        flat = x.reshape(-1)
        if flat.size == 0:
            out = xp.full((), math.nan, dtype=x.dtype)
        elif _is_float(x.dtype) and xp.isnan(flat).any():
            out = xp.full((), math.nan, dtype=x.dtype)
        else:
            k = (flat.size - 1) // 2
            out = xp.partition(flat, k)[k:k + 1].reshape(())     # an array (not a NumPy scalar) to save
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        mask = _even_split_mask(x, out)
        with _quiet():                                    # an empty input has nothing to split
            return xp.where(mask, grad / mask.sum(), 0.0).astype(x.dtype, copy=False)


class MedianDim(Op):
    """Lower median along one dim with its index (the first nan if the slice has one)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.shape, ctx.dtype = x.shape, x.dtype
        if dim is None:                                   # 0-d input
            ctx.dim = None
            return x.copy(), xp.zeros((), dtype=_INT64)
        order = xp.argsort(x, axis=dim, kind="stable")
        k = (x.shape[dim] - 1) // 2
        idx = xp.take(order, [k], axis=dim)
        if _is_float(x.dtype):
            nan = xp.isnan(x)
            has_nan = xp.any(nan, axis=dim, keepdims=True)
            idx = xp.where(has_nan, xp.argmax(nan, axis=dim, keepdims=True), idx)
        return _values_at(ctx, x, idx.astype(_INT64, copy=False), dim, keepdim)

    @staticmethod
    def backward(ctx, grad, grad_indices):
        return _scatter_to_index(ctx, grad)


def median(input, dim=None, keepdim=False):
    """The lower median of all elements, or along ``dim`` a ``median(values, indices)`` named tuple."""
    x = _data(input, "median")
    if dim is None:
        return MedianAll.apply(input)
    d = _one_dim(dim, x.ndim, "median")
    if d is not None:
        _check_nonempty(x, (d,), "median")
    values, indices = MedianDim.apply(input, dim=d, keepdim=bool(keepdim))
    return _MedianResult(values, indices)

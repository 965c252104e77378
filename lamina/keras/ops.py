"""``keras.ops``: NumPy-style functions over lamina tensors, with Keras's names and arguments.

Keras spells reductions and shape functions the NumPy way (``axis`` not ``dim``, ``keepdims`` not ``keepdim``,
``x1``/``x2`` for binary operands) and follows Keras's dtype rules where torch's differ: Python ints become int32,
``argmax``/``argsort``/``top_k`` indices are int32, and the float-valued functions of integer tensors (``mean``,
``sqrt``, ``divide``...) give float32. Every function is a thin wrapper over lamina operators, so autograd sees
everything. The convolution and pooling functions take channels-last inputs by default and Keras's kernel layout
``(*kernel_size, in_channels / groups, filters)``; they move to torch's channels-first layout around lamina's
operators, as Keras's own torch backend does.

Example:
    >>> from lamina.keras import ops
    >>> x = ops.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> ops.mean(x, axis=0, keepdims=True)
    tensor([[2., 3.]])
"""
import builtins
import operator

import lamina
from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.nn import functional as F
from lamina.tensor import Tensor

EPSILON = 1e-7  # keras.config.epsilon(): the clip of probabilities in the cross-entropies


# ---- conversion -----------------------------------------------------------------------------------------------
def _keras_dtype(dtype):
    """A Keras dtype name ('float32', 'int32', ...) or a lamina/NumPy dtype as a ``lamina.dtype``."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in ("float", "int"):
        dtype = dtype + "32"
    return _dt.as_dtype(dtype)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a lamina Tensor: Python floats become float32 and Python ints int32 (Keras's rule); NumPy arrays
    keep their dtype; a Tensor is returned as is (cast to ``dtype`` when given)."""
    target = _keras_dtype(dtype)
    if isinstance(x, Tensor):
        return x if target is None or x.dtype == target else x.to(target)
    array = xp.asarray(x)
    if target is not None:
        array = array.astype(target.numpy)
    elif not isinstance(x, xp.ndarray) and not isinstance(x, xp.generic):
        # Python numbers and lists: Keras's default float and int widths.
        if array.dtype.kind == "f":
            array = array.astype(xp.float32)
        elif array.dtype.kind in "iu":
            array = array.astype(xp.int32)
    return Tensor._make(xp.ascontiguousarray(array))


def _t(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def _operand(x):
    """A binary operand: Python scalars stay scalars (they take the tensor's dtype, as in Keras)."""
    if isinstance(x, (bool, int, float)) and not isinstance(x, Tensor):
        return x
    return _t(x)


def _float(x):
    """Integer and bool tensors become float32: Keras's result dtype of mean, sqrt, divide, ... on integers."""
    x = _t(x)
    return x if x.dtype.is_floating_point else x.to(lamina.float32)


def convert_to_numpy(x):
    """A NumPy array with ``x``'s values (a copy, outside the graph)."""
    if isinstance(x, Tensor):
        return xp.array(x._data)
    return xp.array(x)


def cast(x, dtype):
    return _t(x).to(_keras_dtype(dtype))


def is_tensor(x):
    return isinstance(x, Tensor)


def shape(x):
    """The shape as a tuple of ints."""
    return tuple(_t(x).shape)


def ndim(x):
    return _t(x).ndim


def size(x):
    return _t(x).numel()


def dtype(x):
    """The dtype's Keras name, such as ``'float32'``."""
    return _t(x).dtype.name


def stop_gradient(variable):
    return _t(variable).detach()


def copy(x):
    return _t(x).clone()


# ---- creation ---------------------------------------------------------------------------------------------------
def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _float_or(dtype):
    return _keras_dtype(dtype) or lamina.float32


def zeros(shape, dtype=None):
    return lamina.zeros(_shape(shape), dtype=_float_or(dtype))


def ones(shape, dtype=None):
    return lamina.ones(_shape(shape), dtype=_float_or(dtype))


def full(shape, fill_value, dtype=None):
    return lamina.full(_shape(shape), fill_value, dtype=_float_or(dtype))


def zeros_like(x, dtype=None):
    x = _t(x)
    return lamina.zeros(tuple(x.shape), dtype=_keras_dtype(dtype) or x.dtype)


def ones_like(x, dtype=None):
    x = _t(x)
    return lamina.ones(tuple(x.shape), dtype=_keras_dtype(dtype) or x.dtype)


def full_like(x, fill_value, dtype=None):
    x = _t(x)
    return lamina.full(tuple(x.shape), fill_value, dtype=_keras_dtype(dtype) or x.dtype)


def arange(start, stop=None, step=None, dtype=None):
    """``arange(5)`` is int32 like Keras; any float bound makes it float32."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    values = (start, stop, step)
    default = lamina.float32 if builtins.any(isinstance(v, float) for v in values) else lamina.int32
    return lamina.arange(start, stop, step, dtype=_keras_dtype(dtype) or default)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """Evenly spaced numbers between Python-number bounds (not differentiable)."""
    values, step = xp.linspace(start, stop, num, endpoint=endpoint, retstep=True, axis=axis)
    out = Tensor._make(values.astype(_float_or(dtype).numpy))
    return (out, step) if retstep else out


def eye(N, M=None, k=0, dtype=None):
    return Tensor._make(xp.eye(N, M, k, dtype=_float_or(dtype).numpy))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return Tensor._make(xp.tri(N, M, k, dtype=_float_or(dtype).numpy))


# ---- elementwise ------------------------------------------------------------------------------------------------
def _binary(fn, name):
    """A binary function of tensors, arrays or Python scalars (a scalar takes the other operand's dtype)."""
    def op(x1, x2):
        a, b = _operand(x1), _operand(x2)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a = _t(a)
        return fn(a, b)
    op.__name__ = op.__qualname__ = name
    return op


add = _binary(operator.add, "add")
subtract = _binary(operator.sub, "subtract")
multiply = _binary(operator.mul, "multiply")
floor_divide = _binary(operator.floordiv, "floor_divide")
mod = _binary(operator.mod, "mod")
power = _binary(operator.pow, "power")
equal = _binary(operator.eq, "equal")
not_equal = _binary(operator.ne, "not_equal")
greater = _binary(operator.gt, "greater")
greater_equal = _binary(operator.ge, "greater_equal")
less = _binary(operator.lt, "less")
less_equal = _binary(operator.le, "less_equal")


def divide(x1, x2):
    """True division; integer inputs give float32."""
    a, b = _operand(x1), _operand(x2)
    a = _float(a) if isinstance(a, Tensor) or not isinstance(b, Tensor) else a
    b = _float(b) if isinstance(b, Tensor) else b
    return a / b


true_divide = divide


def divide_no_nan(x1, x2):
    """``x1 / x2`` with 0 where ``x2 == 0``."""
    x1, x2 = _float(x1), _float(x2)
    safe = lamina.where(x2 == 0, lamina.ones_like(x2), x2)
    return lamina.where(x2 == 0, lamina.zeros_like(x1 / safe), x1 / safe)


def maximum(x1, x2):
    x1, x2 = _t(x1), _t(x2)
    return lamina.maximum(x1, x2.to(x1.dtype) if x2.dtype != x1.dtype else x2)


def minimum(x1, x2):
    x1, x2 = _t(x1), _t(x2)
    return lamina.minimum(x1, x2.to(x1.dtype) if x2.dtype != x1.dtype else x2)


def arctan2(x1, x2):
    return lamina.atan2(_float(x1), _float(x2))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` computed as ``max + log1p(exp(-|x1 - x2|))`` to avoid overflow."""
    x1, x2 = _float(x1), _float(x2)
    return lamina.maximum(x1, x2) + lamina.log1p(lamina.exp(-lamina.abs(x1 - x2)))


def negative(x):
    return -_t(x)


def abs(x):
    return lamina.abs(_t(x))


absolute = abs


def sign(x):
    return lamina.sign(_t(x))


def square(x):
    return lamina.square(_t(x))


def floor(x):
    return lamina.floor(_float(x))


def ceil(x):
    return lamina.ceil(_float(x))


def trunc(x):
    return lamina.trunc(_t(x))


def round(x, decimals=0):
    return lamina.round(_t(x), decimals=decimals)


def _unary_float(fn):
    def op(x):
        return fn(_float(x))
    op.__name__ = fn.__name__
    return op


exp = _unary_float(lamina.exp)
exp2 = _unary_float(lamina.exp2)
expm1 = _unary_float(lamina.expm1)
log = _unary_float(lamina.log)
log1p = _unary_float(lamina.log1p)
log2 = _unary_float(lamina.log2)
log10 = _unary_float(lamina.log10)
sqrt = _unary_float(lamina.sqrt)
rsqrt = _unary_float(lamina.rsqrt)
reciprocal = _unary_float(lamina.reciprocal)
sin = _unary_float(lamina.sin)
cos = _unary_float(lamina.cos)
tan = _unary_float(lamina.tan)
arcsin = _unary_float(lamina.asin)
arccos = _unary_float(lamina.acos)
arctan = _unary_float(lamina.atan)
sinh = _unary_float(lamina.sinh)
cosh = _unary_float(lamina.cosh)
tanh = _unary_float(lamina.tanh)
erf = _unary_float(lamina.erf)


def clip(x, x_min, x_max):
    return lamina.clamp(_t(x), x_min, x_max)


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` else ``x2``; with only ``condition``, the indices of its true elements."""
    condition = _t(condition)
    if x1 is None and x2 is None:
        return lamina.nonzero(condition, as_tuple=True)
    if x1 is None or x2 is None:
        raise ArgumentError("keras.ops.where(): give both x1 and x2, or neither")
    return lamina.where(condition.to(lamina.bool), _operand(x1), _operand(x2))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return lamina.nan_to_num(_t(x), nan=nan, posinf=posinf, neginf=neginf)


# ---- comparison and logic ----------------------------------------------------------------------------------------
def logical_and(x1, x2):
    return lamina.logical_and(_t(x1), _t(x2))


def logical_or(x1, x2):
    return lamina.logical_or(_t(x1), _t(x2))


def logical_xor(x1, x2):
    return lamina.logical_xor(_t(x1), _t(x2))


def logical_not(x):
    return lamina.logical_not(_t(x))


def isnan(x):
    return lamina.isnan(_t(x))


def isinf(x):
    return lamina.isinf(_t(x))


def isfinite(x):
    return lamina.isfinite(_t(x))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return lamina.isclose(_t(x1), _t(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return lamina.allclose(_t(x1), _t(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


# ---- reductions --------------------------------------------------------------------------------------------------
def _axis(axis):
    """Keras's ``axis`` (None, an int, or a list/tuple) as lamina's ``dim``."""
    if axis is None:
        return None
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _reduce_all(fn, x, axis, keepdims):
    """Reduce with Keras's ``axis``: None (all elements; ``keepdims`` keeps every axis as size 1), an int, or
    several axes (reduced one at a time, last first, for lamina reductions that take a single dim)."""
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    if not isinstance(axis, (list, tuple)):
        return fn(x, dim=axis, keepdim=keepdims)
    axes = sorted({a % x.ndim for a in axis}, reverse=True)
    for a in axes:
        x = fn(x, dim=a, keepdim=True)
    return x if keepdims else lamina.squeeze(x, tuple(axes))


def sum(x, axis=None, keepdims=False):
    x = _t(x)
    if x.dtype == lamina.bool:
        x = x.to(lamina.int32)
    out = _reduce_all(lamina.sum, x, axis, keepdims)
    # Keras keeps the integer width of its input (torch widens sums of int32 to int64).
    return out.to(x.dtype) if out.dtype != x.dtype else out


def mean(x, axis=None, keepdims=False):
    return _reduce_all(lamina.mean, _float(x), axis, keepdims)


def average(x, axis=None, weights=None):
    """The mean of ``x``, weighted by ``weights`` (the shape of ``x``, or 1-D along a single ``axis``)."""
    x = _float(x)
    if weights is None:
        return mean(x, axis=axis)
    w = _float(weights)
    if w.ndim == 1 and x.ndim > 1:
        if not isinstance(axis, int):
            raise ArgumentError(f"keras.ops.average(): 1-D weights need a single int axis, got axis={axis!r}")
        w = w.reshape([-1 if i == axis % x.ndim else 1 for i in range(x.ndim)])
    if tuple(w.shape) != tuple(x.shape) and w.ndim == x.ndim:
        w = lamina.broadcast_to(w, tuple(x.shape))
    return sum(x * w, axis=axis) / sum(w, axis=axis)


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _t(x) if dtype is None else cast(x, dtype)
    out = _reduce_all(lamina.prod, x, axis, keepdims)
    return out.to(x.dtype) if out.dtype != x.dtype else out


def _moment(fn, x, axis, keepdims):
    x = _float(x)
    if axis is None:
        out = fn(x, correction=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=_axis(axis), keepdim=keepdims, correction=0)


def var(x, axis=None, keepdims=False):
    """The population variance (divides by N, as NumPy and Keras)."""
    return _moment(lamina.var, x, axis, keepdims)


def std(x, axis=None, keepdims=False):
    """The population standard deviation (divides by N)."""
    return _moment(lamina.std, x, axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    x = _t(x)
    out = lamina.amax(x, dim=() if axis is None else _axis(axis), keepdim=keepdims)
    if axis is None and keepdims:
        out = out.reshape((1,) * x.ndim)
    return out if initial is None else lamina.clamp(out, min=initial)


def min(x, axis=None, keepdims=False, initial=None):
    x = _t(x)
    out = lamina.amin(x, dim=() if axis is None else _axis(axis), keepdim=keepdims)
    if axis is None and keepdims:
        out = out.reshape((1,) * x.ndim)
    return out if initial is None else lamina.clamp(out, max=initial)


amax = max
amin = min


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value (over the flattened tensor when ``axis`` is None), as int32."""
    return lamina.argmax(_t(x), dim=axis, keepdim=keepdims).to(lamina.int32)


def argmin(x, axis=None, keepdims=False):
    return lamina.argmin(_t(x), dim=axis, keepdim=keepdims).to(lamina.int32)


def all(x, axis=None, keepdims=False):
    return _reduce_all(lamina.all, _t(x), axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce_all(lamina.any, _t(x), axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    x = _float(x)
    if axis is None:
        out = lamina.logsumexp(x.reshape(-1), 0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return lamina.logsumexp(x, _axis(axis), keepdim=keepdims)


def cumsum(x, axis=None, dtype=None):
    x = _t(x) if dtype is None else cast(x, dtype)
    if axis is None:
        x, axis = x.reshape(-1), 0
    out = lamina.cumsum(x, axis)
    return out.to(x.dtype) if out.dtype != x.dtype else out


def cumprod(x, axis=None, dtype=None):
    x = _t(x) if dtype is None else cast(x, dtype)
    if axis is None:
        x, axis = x.reshape(-1), 0
    out = lamina.cumprod(x, axis)
    return out.to(x.dtype) if out.dtype != x.dtype else out


def count_nonzero(x, axis=None):
    return lamina.count_nonzero(_t(x), dim=_axis(axis)).to(lamina.int32)


def norm(x, ord=None, axis=None, keepdims=False):
    """The 2-norm of the elements (``ord=None``), or a vector ``ord``-norm along ``axis``."""
    x = _float(x)
    p = 2 if ord is None or ord == "fro" else ord
    if axis is None:
        out = lamina.norm(x.reshape(-1), p=p, dim=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return lamina.norm(x, p=p, dim=_axis(axis), keepdim=keepdims)


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes`` (population variance)."""
    x = _float(x)
    axes = _axis(axes)
    m = lamina.mean(x, dim=axes, keepdim=True)
    v = lamina.mean(lamina.square(x - m), dim=axes, keepdim=True)
    if not keepdims:
        m, v = lamina.squeeze(m, axes), lamina.squeeze(v, axes)
    return m, v


# ---- shape -------------------------------------------------------------------------------------------------------
def reshape(x, newshape):
    return lamina.reshape(_t(x), _shape(newshape))


def ravel(x):
    return _t(x).reshape(-1)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    x = _t(x)
    return lamina.permute(x, tuple(range(x.ndim))[::-1] if axes is None else tuple(axes))


def expand_dims(x, axis):
    x = _t(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.ndim + len(axes)
    for a in sorted(a % out_ndim for a in axes):
        x = lamina.unsqueeze(x, a)
    return x


def squeeze(x, axis=None):
    x = _t(x)
    if axis is not None:
        for a in (axis if isinstance(axis, (tuple, list)) else (axis,)):
            if x.shape[a] != 1:
                raise ShapeError(f"keras.ops.squeeze(): cannot squeeze axis {a} of size {x.shape[a]} "
                                 f"(shape {tuple(x.shape)})")
    return lamina.squeeze(x, _axis(axis))


def concatenate(xs, axis=0):
    return lamina.cat([_t(x) for x in xs], dim=axis)


def stack(x, axis=0):
    return lamina.stack([_t(v) for v in x], dim=axis)


def unstack(x, num=None, axis=0):
    return list(lamina.unbind(_t(x), axis))


def split(x, indices_or_sections, axis=0):
    """NumPy's split: an int gives that many equal parts, a list gives the split points."""
    x = _t(x)
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ShapeError(f"keras.ops.split(): axis {axis} of size {n} does not split into "
                             f"{indices_or_sections} equal parts")
        return list(lamina.split(x, n // indices_or_sections, dim=axis))
    points = [0] + [int(i) for i in indices_or_sections] + [n]
    return list(lamina.split(x, [b - a for a, b in zip(points[:-1], points[1:])], dim=axis))


def tile(x, repeats):
    return lamina.tile(_t(x), tuple(repeats) if isinstance(repeats, (tuple, list)) else (repeats,))


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (NumPy's repeat; the flattened tensor when None)."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    index = xp.repeat(xp.arange(x.shape[axis]), repeats)
    return lamina.index_select(x, axis, Tensor._make(index))


def flip(x, axis=None):
    x = _t(x)
    axes = tuple(range(x.ndim)) if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))
    return lamina.flip(x, axes)


def roll(x, shift, axis=None):
    x = _t(x)
    if axis is None:
        return lamina.roll(x.reshape(-1), shift, 0).reshape(tuple(x.shape))
    return lamina.roll(x, shift, axis)


def moveaxis(x, source, destination):
    return lamina.movedim(_t(x), source, destination)


def swapaxes(x, axis1, axis2):
    return lamina.swapaxes(_t(x), axis1, axis2)


def broadcast_to(x, shape):
    return lamina.broadcast_to(_t(x), _shape(shape))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the 2-D slices over ``axis1``/``axis2``, on a new last axis (NumPy's rule); composed from
    an advanced index, so it is differentiable."""
    x = lamina.movedim(_t(x), (axis1, axis2), (-2, -1))
    rows, cols = x.shape[-2], x.shape[-1]
    n = builtins.max(0, builtins.min(rows, cols - offset) if offset >= 0 else builtins.min(rows + offset, cols))
    start_r, start_c = (0, offset) if offset >= 0 else (-offset, 0)
    r = Tensor._make(xp.arange(start_r, start_r + n))
    c = Tensor._make(xp.arange(start_c, start_c + n))
    return x[..., r, c]


def diag(x, k=0):
    """A 1-D ``x`` placed on the ``k``-th diagonal of a square matrix, or the ``k``-th diagonal of a 2-D ``x``."""
    x = _t(x)
    if x.ndim == 2:
        return diagonal(x, offset=k)
    if x.ndim != 1:
        raise ShapeError(f"keras.ops.diag(): x must be 1-D or 2-D, got shape {tuple(x.shape)}")
    n = x.shape[0] + builtins.abs(k)
    # x times the identity puts x on the main diagonal; padding shifts it to diagonal k.
    square = x.reshape(-1, 1) * Tensor._make(xp.eye(x.shape[0], dtype=x._data.dtype))
    before, after = (builtins.abs(k), 0) if k < 0 else (0, k)
    return pad(square, ((before, after), (after, before))) if n != x.shape[0] else square


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of the diagonal (``diagonal``) over ``axis1``/``axis2``."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def tril(x, k=0):
    return lamina.tril(_t(x), k)


def triu(x, k=0):
    return lamina.triu(_t(x), k)


def _index(indices, n):
    """Integer indices as an int64 tensor, negative ones counted from the end (NumPy's rule)."""
    idx = _t(indices).to(lamina.int64)
    return lamina.where(idx < 0, idx + n, idx)


def take(x, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when None); the result's shape is
    ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.ndim
    idx = _index(indices, x.shape[axis])
    out = lamina.index_select(x, axis, idx.reshape(-1))
    return out.reshape(tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))


def take_along_axis(x, indices, axis=None):
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return lamina.take_along_dim(x, _index(indices, x.shape[axis]), dim=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad with NumPy's ``pad_width``: one ``(before, after)`` pair per axis (or one pair / int for all)."""
    x = _t(x)
    pairs = xp.broadcast_to(xp.asarray(pad_width, dtype=xp.int64), (x.ndim, 2)).tolist()
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
    if mode not in modes:
        raise ArgumentError(f"keras.ops.pad(): mode must be one of {sorted(modes)}, got {mode!r}")
    flat = []
    for before, after in reversed(pairs):  # lamina's pad lists the last axis first
        flat += [before, after]
    if mode != "constant":
        # reflect/replicate/circular pad the trailing spatial dims of a (N, C, ...) input: skip leading zeros.
        while len(flat) > 2 and flat[-2:] == [0, 0]:
            flat = flat[:-2]
        return F.pad(x, tuple(flat), mode=modes[mode])
    return F.pad(x, tuple(flat), value=0 if constant_values is None else constant_values)


def slice(inputs, start_indices, shape):
    """The block of size ``shape`` starting at ``start_indices``."""
    x = _t(inputs)
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return x[key]


def get_item(x, key):
    return _t(x)[key]


# ---- linear algebra ----------------------------------------------------------------------------------------------
def matmul(x1, x2):
    return lamina.matmul(_t(x1), _t(x2))


def dot(x1, x2):
    """NumPy's dot: products of scalars, inner product of vectors, matmul of matrices, and for N-d arrays a sum
    over the last axis of ``x1`` and the second-to-last of ``x2``."""
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    if x2.ndim == 1:
        return lamina.tensordot(x1, x2, dims=([x1.ndim - 1], [0]))
    if x1.ndim <= 2 and x2.ndim == 2:
        return lamina.matmul(x1, x2)
    return lamina.tensordot(x1, x2, dims=([x1.ndim - 1], [x2.ndim - 2]))


def tensordot(x1, x2, axes=2):
    return lamina.tensordot(_t(x1), _t(x2), dims=axes)


def einsum(subscripts, *operands, **kwargs):
    return lamina.einsum(subscripts, *[_t(o) for o in operands])


def outer(x1, x2):
    return lamina.outer(_t(x1).reshape(-1), _t(x2).reshape(-1))


def vdot(x1, x2):
    return lamina.dot(_t(x1).reshape(-1), _t(x2).reshape(-1))


# ---- sorting and indexing ----------------------------------------------------------------------------------------
def sort(x, axis=-1):
    return lamina.sort(_t(x), dim=axis).values


def argsort(x, axis=-1):
    return lamina.argsort(_t(x), dim=axis, stable=True).to(lamina.int32)


def top_k(x, k, sorted=True):
    """``(values, indices)`` of the ``k`` largest entries along the last axis; indices are int32."""
    values, indices = lamina.topk(_t(x), k, dim=-1, sorted=sorted)
    return values, indices.to(lamina.int32)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot rows (float32 by default); a negative class gives a row of zeros, as in Keras."""
    if sparse:
        raise ArgumentError("keras.ops.one_hot(): sparse=True is not supported")
    x = _t(x).to(lamina.int64)
    hot = F.one_hot(lamina.clamp(x, min=0), num_classes)
    hot = lamina.where(lamina.unsqueeze(x, -1) >= 0, hot, lamina.zeros_like(hot)).to(_float_or(dtype))
    if axis not in (-1, hot.ndim - 1):
        hot = lamina.movedim(hot, -1, axis)
    return hot


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """A row per sample with 1 at each class it lists."""
    x = _t(inputs)
    reduce_axis = 1 if x.ndim > 1 else 0
    return lamina.amax(one_hot(x, num_classes, axis=axis, dtype=dtype), dim=reduce_axis)


# ---- neural network functions ------------------------------------------------------------------------------------
def relu(x):
    return F.relu(_float(x))


def relu6(x):
    return F.relu6(_float(x))


def sigmoid(x):
    return lamina.sigmoid(_float(x))


def softplus(x):
    return F.softplus(_float(x))


def softsign(x):
    return F.softsign(_float(x))


def silu(x):
    return F.silu(_float(x))


swish = silu


def log_sigmoid(x):
    return F.logsigmoid(_float(x))


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_float(x), negative_slope)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``."""
    return F.hardsigmoid(_float(x))


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    return F.hardswish(_float(x))


hard_swish = hard_silu


def hard_tanh(x):
    return F.hardtanh(_float(x))


def elu(x, alpha=1.0):
    return F.elu(_float(x), alpha)


def selu(x):
    return F.selu(_float(x))


def celu(x, alpha=1.0):
    return F.celu(_float(x), alpha)


def gelu(x, approximate=True):
    """GELU; Keras's ops default is the tanh approximation (``keras.activations.gelu`` defaults to exact)."""
    return F.gelu(_float(x), approximate="tanh" if approximate else "none")


def glu(x, axis=-1):
    """``a * sigmoid(b)`` for the two halves ``a, b`` of ``x`` along ``axis``."""
    a, b = lamina.chunk(_float(x), 2, dim=axis)
    return a * lamina.sigmoid(b)


def tanh_shrink(x):
    return F.tanhshrink(_float(x))


def soft_shrink(x, threshold=0.5):
    return F.softshrink(_float(x), threshold)


def hard_shrink(x, threshold=0.5):
    return F.hardshrink(_float(x), threshold)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    return F.threshold(_float(x), threshold, default_value)


def softmax(x, axis=-1):
    return F.softmax(_float(x), dim=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(_float(x), dim=axis)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis``."""
    return F.normalize(_float(x), p=order, dim=axis, eps=1e-12 if epsilon is None else epsilon)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, the statistics laid along ``axis``."""
    x = _t(x)
    shape = [1] * x.ndim
    shape[axis] = -1
    mean, variance = _t(mean).reshape(shape), _t(variance).reshape(shape)
    out = (x - mean) * lamina.rsqrt(variance + epsilon)
    if scale is not None:
        out = out * _t(scale).reshape(shape)
    if offset is not None:
        out = out + _t(offset).reshape(shape)
    return out


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy; probabilities are clipped to ``[1e-7, 1 - 1e-7]`` first."""
    target, output = _float(target), _float(output)
    if tuple(target.shape) != tuple(output.shape):
        raise ShapeError(f"keras.ops.binary_crossentropy(): target and output must have the same shape, got "
                         f"target {tuple(target.shape)} and output {tuple(output.shape)}")
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    output = lamina.clamp(output, EPSILON, 1.0 - EPSILON)
    return -(target * lamina.log(output) + (1.0 - target) * lamina.log(1.0 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``-sum(target * log(p), axis)``; without logits the probabilities are renormalised and clipped first."""
    target, output = _float(target), _float(output)
    if tuple(target.shape) != tuple(output.shape):
        raise ShapeError(f"keras.ops.categorical_crossentropy(): target and output must have the same shape, got "
                         f"target {tuple(target.shape)} and output {tuple(output.shape)}")
    return -lamina.sum(target * _log_prob(output, from_logits, axis), dim=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy against integer class labels (shape of ``output`` without its class axis)."""
    output = _float(output)
    target = _t(target).to(lamina.int64)
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = lamina.squeeze(target, axis)
    expected = tuple(s for i, s in enumerate(output.shape) if i != axis % output.ndim)
    if tuple(target.shape) != expected:
        raise ShapeError(f"keras.ops.sparse_categorical_crossentropy(): target must have the shape of output "
                         f"without its class axis {expected}, got {tuple(target.shape)}")
    log_prob = _log_prob(output, from_logits, axis)
    picked = lamina.take_along_dim(log_prob, lamina.unsqueeze(target, axis), dim=axis)
    return -lamina.squeeze(picked, axis)


def _log_prob(output, from_logits, axis):
    if from_logits:
        return F.log_softmax(output, dim=axis)
    output = output / lamina.sum(output, dim=axis, keepdim=True)
    return lamina.log(lamina.clamp(output, EPSILON, 1.0 - EPSILON))


# ---- convolution and pooling (channels-last by default) ----------------------------------------------------------
def _tuple(value, n, name, op):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ArgumentError(f"keras.ops.{op}(): {name} must be an int or {n} ints, got {value!r}")
    return value


def _data_format(data_format):
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ArgumentError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def to_channels_first(x):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return lamina.movedim(x, -1, 1)


def to_channels_last(x):
    """(N, C, *spatial) -> (N, *spatial, C)."""
    return lamina.movedim(x, 1, -1)


def same_padding(size, kernel, stride, dilation=1):
    """Keras's (TensorFlow's) 'same' padding of one axis as (before, after): the output has ``ceil(size /
    stride)`` positions and the extra pad, if the total is odd, goes after."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = builtins.max(0, (out - 1) * stride + effective - size)
    return total // 2, total - total // 2


def _pads(x, kernel, strides, dilation):
    """'same' padding of each spatial axis of a channels-first ``x`` as lamina's flat pad (last axis first)."""
    flat = []
    for i in reversed(range(len(kernel))):
        flat += same_padding(x.shape[2 + i], kernel[i], strides[i], dilation[i])
    return tuple(flat)


def _check_padding(padding, op):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ArgumentError(f"keras.ops.{op}(): padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-d convolution (N = 1 or 2) of ``inputs`` with a Keras-layout ``kernel`` ``(*k, in / groups, filters)``;
    groups follow from the channel counts."""
    return conv_with_bias(inputs, kernel, None, strides, padding, data_format, dilation_rate)


def conv_with_bias(inputs, kernel, bias, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """``conv`` plus a ``(filters,)`` bias (None for none), added inside lamina's convolution operator as torch's
    conv2d adds it: the Conv layers' forward, with one operator fewer than a separate broadcast add."""
    x, w = _t(inputs), _t(kernel)
    nd = x.ndim - 2
    if nd not in (1, 2):
        raise ShapeError(f"keras.ops.conv(): expected a 3-d or 4-d input (1-d or 2-d convolution), got shape "
                         f"{tuple(x.shape)}")
    if w.ndim != nd + 2:
        raise ShapeError(f"keras.ops.conv(): kernel of shape {tuple(w.shape)} does not fit a {nd}-d convolution")
    padding = _check_padding(padding, "conv")
    strides = _tuple(strides, nd, "strides", "conv")
    dilation = _tuple(dilation_rate, nd, "dilation_rate", "conv")
    channels_last = _data_format(data_format) == "channels_last"
    if channels_last:
        x = to_channels_first(x)
    in_channels, kernel_in = x.shape[1], w.shape[-2]
    if kernel_in == 0 or in_channels % kernel_in:
        raise ShapeError(f"keras.ops.conv(): input channels ({in_channels}) must be a multiple of the kernel's "
                         f"input channels ({kernel_in}; kernel shape {tuple(w.shape)})")
    # Keras's kernel (*k, in/groups, out) -> torch's weight (out, in/groups, *k).
    weight = lamina.permute(w, (nd + 1, nd) + tuple(range(nd)))
    symmetric = 0
    if padding == "same":
        pads = _pads(x, tuple(w.shape[:nd]), strides, dilation)
        if builtins.all(pads[i] == pads[i + 1] for i in range(0, len(pads), 2)):
            # the same pad on both sides (an odd kernel at stride 1): the convolution pads, no separate pad operator
            symmetric = tuple(reversed(pads[::2]))
        else:
            x = F.pad(x, pads)  # TensorFlow's 'same': the odd pad goes after
    conv_fn = F.conv1d if nd == 1 else F.conv2d
    out = conv_fn(x, weight, None if bias is None else _t(bias), strides, symmetric, dilation,
                  in_channels // kernel_in)
    return to_channels_last(out) if channels_last else out


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Each input channel convolved with its own ``depth_multiplier`` filters; ``kernel`` is
    ``(*k, in_channels, depth_multiplier)``."""
    w = _t(kernel)
    # (*k, C, M) -> (*k, 1, C * M): a grouped convolution with one input channel per group.
    w = w.reshape(tuple(w.shape[:-2]) + (1, w.shape[-2] * w.shape[-1]))
    return conv(inputs, w, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    out = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(out, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose_padding(size, kernel, stride, padding, output_padding, dilation=1):
    """Keras's transposed-convolution geometry along one axis as ``(crop_before, crop_after)`` of torch's
    unpadded output of length ``(size - 1) * stride + effective_kernel``; a negative crop means zero padding.

    The output length is ``size * stride`` for 'same' and ``(size - 1) * stride + max(effective_kernel, stride)``
    for 'valid' when ``output_padding`` is None.
    """
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = builtins.max(effective, stride) - effective if output_padding is None else output_padding
        before, after = effective - 1, effective - 1 + extra
    else:
        total = stride + effective - 2 if output_padding is None else effective + effective % 2 - 2 + output_padding
        before = builtins.min(total // 2 + total % 2, effective - 1)
        after = total - before
    # The transposed convolution is a full correlation padded by (before, after) over the dilated input.
    return effective - 1 - before, effective - 1 - after


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution with a Keras-layout ``kernel`` ``(*k, filters, in_channels)``."""
    x, w = _t(inputs), _t(kernel)
    nd = x.ndim - 2
    if nd not in (1, 2):
        raise ShapeError(f"keras.ops.conv_transpose(): expected a 3-d or 4-d input, got shape {tuple(x.shape)}")
    padding = _check_padding(padding, "conv_transpose")
    strides = _tuple(strides, nd, "strides", "conv_transpose")
    dilation = _tuple(dilation_rate, nd, "dilation_rate", "conv_transpose")
    out_pad = (None,) * nd if output_padding is None else _tuple(output_padding, nd, "output_padding",
                                                                 "conv_transpose")
    channels_last = _data_format(data_format) == "channels_last"
    if channels_last:
        x = to_channels_first(x)
    if x.shape[1] != w.shape[-1]:
        raise ShapeError(f"keras.ops.conv_transpose(): input has {x.shape[1]} channels, the kernel of shape "
                         f"{tuple(w.shape)} expects {w.shape[-1]}")
    # Keras's kernel (*k, out, in) -> torch's transposed weight (in, out, *k).
    weight = lamina.permute(w, (nd + 1, nd) + tuple(range(nd)))
    conv_fn = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
    out = conv_fn(x, weight, None, strides, 0, 0, 1, dilation)
    flat = []
    for i in reversed(range(nd)):
        before, after = conv_transpose_padding(x.shape[2 + i], w.shape[i], strides[i], padding, out_pad[i],
                                               dilation[i])
        flat += [-before, -after]  # lamina's pad crops with negative amounts
    if builtins.any(flat):
        out = F.pad(out, tuple(flat))
    return to_channels_last(out) if channels_last else out


def _pool_args(inputs, pool_size, strides, padding, data_format, op):
    x = _t(inputs)
    nd = x.ndim - 2
    if nd not in (1, 2):
        raise ShapeError(f"keras.ops.{op}(): expected a 3-d or 4-d input, got shape {tuple(x.shape)}")
    pool = _tuple(pool_size, nd, "pool_size", op)
    strides = pool if strides is None else _tuple(strides, nd, "strides", op)
    channels_last = _data_format(data_format) == "channels_last"
    return (to_channels_first(x) if channels_last else x), nd, pool, strides, _check_padding(padding, op), \
        channels_last


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling; 'same' pads with -inf so that padding never wins."""
    x, nd, pool, strides, padding, channels_last = _pool_args(inputs, pool_size, strides, padding, data_format,
                                                              "max_pool")
    if padding == "same":
        x = F.pad(x, _pads(x, pool, strides, (1,) * nd), value=float("-inf"))
    out = (F.max_pool1d if nd == 1 else F.max_pool2d)(x, pool, strides)
    return to_channels_last(out) if channels_last else out


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with 'same' each window averages only its real (unpadded) elements."""
    x, nd, pool, strides, padding, channels_last = _pool_args(inputs, pool_size, strides, padding, data_format,
                                                              "average_pool")
    pool_fn = F.avg_pool1d if nd == 1 else F.avg_pool2d
    if padding == "same":
        flat = _pads(x, pool, strides, (1,) * nd)
        # sum over the zero-padded window / number of real elements in it (both as window means).
        counts = pool_fn(F.pad(lamina.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype), flat), pool, strides)
        out = pool_fn(F.pad(x, flat), pool, strides) / counts
    else:
        out = pool_fn(x, pool, strides)
    return to_channels_last(out) if channels_last else out

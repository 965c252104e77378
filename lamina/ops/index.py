"""Indexing operators: ``tensor[key]`` and its out-of-place assignment ``setitem``, gather/scatter/scatter_add,
index_select/index_add/index_copy/index_fill, masked_select, take_along_dim, one_hot, sort/argsort/topk, nonzero.

Keys follow torch, which follows NumPy except that integers are applied first (as ``select``) and so never count
as advanced indices when deciding where the advanced dims go. ``_parse_key`` therefore splits a key into two
NumPy keys: a *basic* one (ints, slices, None) that gives a view, and an *advanced* one (index arrays; masks
as their nonzero arrays) applied to that view.

The adjoint of gathering is a scatter-add in which repeated indices accumulate. ``_add_along_axis`` does it
with one bincount (few target rows) or a sort and a segmented sum (many target rows); both are much faster than
``numpy.add.at`` on rows.
"""
import collections
import math

from lamina.autograd import Op
from lamina.backend import ndarray, xp
from lamina.creation import as_array
from lamina.errors import ArgumentError, AutogradError, DimError, DTypeError, IndexError_, ShapeError
from lamina.tensor import Tensor
from lamina.ops._util import as_tensor_arg, canonical_dim, unbroadcast
from lamina.ops.shape import expand, reshape

# torch.return_types.sort / topk: a (values, indices) pair that also unpacks like a tuple.
_SortResult = collections.namedtuple("sort", ["values", "indices"])
_TopkResult = collections.namedtuple("topk", ["values", "indices"])

_INT64 = xp.dtype("int64")
_INDEX_DTYPES = (xp.dtype("int64"), xp.dtype("int32"))
_ALL = slice(None)


# ---- key parsing -----------------------------------------------------------------------------------------

class _Bool:
    """A scalar bool in a key: ``x[True]`` adds a dim of size 1, ``x[False]`` one of size 0 (advanced indexing)."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _key_items(key):
    if isinstance(key, tuple):
        return key
    # torch's legacy rule: a list holding slices, None, Ellipsis or sequences is a tuple of indices.
    if isinstance(key, list) and any(k is None or k is Ellipsis or isinstance(k, (slice, list, tuple, Tensor,
                                                                                   ndarray)) for k in key):
        return tuple(key)
    return (key,)


def _key_int(v, op):
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise IndexError_(f"{op}(): slice indices must be integers or None, got {type(v).__name__} {v!r}")
    return v.__index__()


def _classify(k, op):
    """One key entry as None, Ellipsis, _Bool, int, slice, ('idx', int64 array) or ('mask', bool array)."""
    if k is None or k is Ellipsis:
        return k
    if isinstance(k, (bool, xp.bool_)):
        return _Bool(bool(k))
    if isinstance(k, slice):
        start, stop, step = (None if v is None else _key_int(v, op) for v in (k.start, k.stop, k.step))
        if step is not None and step <= 0:
            raise ArgumentError(f"{op}(): step must be greater than zero, got slice step {step}")
        return slice(start, stop, step)
    if isinstance(k, Tensor):
        k = k._data
    elif isinstance(k, (list, tuple)):
        k = as_array(k) if len(k) else xp.zeros(0, _INT64)
    if isinstance(k, ndarray):
        if k.dtype.kind == "b" or k.dtype == xp.uint8:
            return _Bool(bool(k)) if k.ndim == 0 else ("mask", k.astype(bool, copy=False))
        if k.dtype in _INDEX_DTYPES:
            return int(k) if k.ndim == 0 else ("idx", k)
        raise IndexError_(f"{op}(): tensors used as indices must be long, int, byte or bool tensors, got dtype "
                          f"{k.dtype}")
    if hasattr(k, "__index__"):
        return k.__index__()
    raise IndexError_(f"{op}(): only integers, slices (`:`), ellipsis (`...`), None and long, int or bool tensors "
                      f"are valid indices (got {type(k).__name__})")


def _in_bounds(a, size, dim, op):
    """``a`` as int64 with negative entries wrapped; IndexError_ if any is outside [-size, size)."""
    a = a.astype(_INT64, copy=False)
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if hi >= size or lo < -size:
            bad = hi if hi >= size else lo
            raise IndexError_(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {size}")
        if lo < 0:
            a = xp.where(a < 0, a + size, a)
    return a


def _parse_key(key, shape, op):
    """Split a torch key for an array of ``shape`` into ``(basic, advanced, unique)``.

    ``basic`` (ints, slices, None, Ellipsis) applies first and gives a view; ``advanced`` (None if the key has no
    index arrays, else one entry per dim of that view: full slices and int64 arrays) applies to the view.
    ``unique`` is True when no position can be selected twice (masks only), so a scatter needs no accumulation.
    """
    items = [_classify(k, op) for k in _key_items(key)]
    used, ellipsis = 0, False
    for it in items:
        if it is Ellipsis:
            if ellipsis:
                raise IndexError_(f"{op}(): an index can only have a single ellipsis ('...')")
            ellipsis = True
        elif isinstance(it, tuple):
            used += it[1].ndim if it[0] == "mask" else 1
        elif it is not None and not isinstance(it, _Bool):
            used += 1
    if used > len(shape):
        raise IndexError_(f"{op}(): too many indices for tensor of dimension {len(shape)} (the index uses {used} "
                          "dims)")
    basic, adv = [], []
    has_adv, unique, d = False, True, 0
    for it in items:
        if it is None:
            basic.append(None)
            adv.append(_ALL)
        elif it is Ellipsis:
            n = len(shape) - used
            basic += [_ALL] * n
            adv += [_ALL] * n
            d += n
        elif isinstance(it, _Bool):  # torch: a new dim of size 1, indexed by [0] (True) or [] (False)
            basic.append(None)
            adv.append(xp.zeros(1 if it.value else 0, _INT64))
            has_adv = True
        elif isinstance(it, int):
            if not -shape[d] <= it < shape[d]:
                raise IndexError_(f"{op}(): index {it} is out of bounds for dimension {d} with size {shape[d]}")
            basic.append(it)
            d += 1
        elif isinstance(it, slice):
            basic.append(it)
            adv.append(_ALL)
            d += 1
        elif it[0] == "idx":
            adv.append(_in_bounds(it[1], shape[d], d, op))
            basic.append(_ALL)
            has_adv, unique = True, False
            d += 1
        else:
            mask = it[1]
            if mask.shape != shape[d:d + mask.ndim]:
                raise IndexError_(f"{op}(): the shape of the mask {list(mask.shape)} does not match the shape "
                                  f"{list(shape[d:d + mask.ndim])} of the indexed tensor (shape {list(shape)}) "
                                  f"at dimension {d}")
            basic += [_ALL] * mask.ndim
            adv += list(xp.nonzero(mask))
            has_adv = True
            d += mask.ndim
    basic.append(Ellipsis)  # so that an all-int key still gives a 0-d view, not a NumPy scalar
    if not has_adv:
        return tuple(basic), None, True
    arrays = [a for a in adv if not isinstance(a, slice)]
    try:
        xp.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise IndexError_(f"{op}(): shape mismatch: indexing tensors could not be broadcast together with shapes "
                          + ", ".join(str(list(a.shape)) for a in arrays)) from None
    return tuple(basic), tuple(adv), unique


def _indexed_shape(shape, basic, adv):
    """The shape of ``array[basic][adv]`` for an array of ``shape``, computed without indexing any data."""
    s1 = xp.broadcast_to(xp.empty((), bool), shape)[basic].shape
    if adv is None:
        return s1
    pos = [i for i, a in enumerate(adv) if not isinstance(a, slice)]
    b = xp.broadcast_shapes(*(adv[i].shape for i in pos))
    rest = tuple(s for i, s in enumerate(s1) if i not in pos)
    if pos[-1] - pos[0] + 1 == len(pos):  # adjacent advanced dims stay in place, else they go first (NumPy)
        return rest[:pos[0]] + b + rest[pos[0]:]
    return b + rest


# ---- scatter-add kernels ---------------------------------------------------------------------------------

def _add_along_axis(target, axis, idx, values):
    """``target[..., idx[j], ...] += values[..., j, ...]`` along ``axis``, summing repeated indices.

    ``idx`` is 1-d, non-negative and in range; ``values`` has ``target``'s shape with ``axis`` of size len(idx).
    """
    if values.size == 0:
        return
    if target.dtype.kind != "f":
        xp.add.at(target, (_ALL,) * axis + (idx,), values)
        return
    n, m = target.shape[axis], idx.size
    moved = xp.moveaxis(values, axis, 0)
    v = moved.reshape(m, -1)  # one row per index
    q = v.shape[1]
    if n <= 4 * m:
        # few target rows: one bincount over (row, column) pairs
        flat = (idx[:, None] * q + xp.arange(q)).ravel()
        rows = xp.bincount(flat, weights=v.ravel(), minlength=n * q).reshape(n, q)
    else:
        # many target rows: sort the indices and sum each run of equal ones
        order = xp.argsort(idx, kind="stable")
        s = idx[order]
        starts = xp.flatnonzero(xp.concatenate((xp.ones(1, bool), s[1:] != s[:-1])))
        acc = xp.promote_types(v.dtype, xp.float32)
        rows = xp.zeros((n, q), acc)
        rows[s[starts]] = xp.add.reduceat(v[order].astype(acc, copy=False), starts, axis=0)
    target += xp.moveaxis(rows.reshape((n,) + moved.shape[1:]), 0, axis).astype(target.dtype, copy=False)


def _accumulate(target, adv, values, unique):
    """``target[adv] += values`` for an advanced key (full slices and int64 arrays), duplicates summed."""
    if unique:
        target[adv] = values
        return
    if values.size == 0:
        return
    pos = [i for i, a in enumerate(adv) if not isinstance(a, slice)]
    p, r = pos[0], len(pos)
    if pos[-1] - p + 1 != r:  # separated advanced dims move to the front of the result: NumPy's general path
        xp.add.at(target, adv, values)
        return
    arrays = xp.broadcast_arrays(*(adv[i] for i in pos))
    dims = target.shape[p:p + r]
    lin = arrays[0].ravel() if r == 1 else xp.ravel_multi_index(tuple(a.ravel() for a in arrays), dims)
    pre, post = target.shape[:p], target.shape[p + r:]
    vals = values.reshape(pre + (lin.size,) + post)
    if r == 1:
        _add_along_axis(target, p, lin, vals)
        return
    merged = xp.zeros(pre + (math.prod(dims),) + post, target.dtype)  # the r indexed dims as one
    _add_along_axis(merged, p, lin, vals)
    target += merged.reshape(target.shape)


def _flat_offsets(shape, dim, index):
    """C-order offsets, into an array of ``shape``, of the elements ``index`` addresses along ``dim``
    (every other coordinate being the index element's own)."""
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    off = index.astype(_INT64) * strides[dim]
    for d, n in enumerate(index.shape):
        if d != dim and n > 1:
            off = off + (xp.arange(n) * strides[d]).reshape((n,) + (1,) * (index.ndim - d - 1))
    return xp.broadcast_to(off, index.shape)


def _scatter_add_flat(flat, offsets, values):
    """``flat[offsets[k]] += values[k]`` for every k, repeated offsets summed."""
    offsets, values = offsets.ravel(), values.ravel()
    if flat.dtype.kind == "f" and offsets.size * 4 >= flat.size:
        flat += xp.bincount(offsets, weights=values, minlength=flat.size).astype(flat.dtype, copy=False)
    else:
        xp.add.at(flat, offsets, values)


def _atleast_1d(a):
    return a.reshape(1) if a.ndim == 0 else a


# ---- tensor[key] and its assignment ----------------------------------------------------------------------

class Index(Op):
    """``x[key]`` for a key of ints, slices, None and Ellipsis: a view. Adjoint: the gradient placed into zeros."""
    _view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.key, ctx.in_shape, ctx.dtype = key, x.shape, x.dtype
        return x[key]

    @staticmethod
    def backward(ctx, grad):
        g = xp.zeros(ctx.in_shape, ctx.dtype)
        g[ctx.key] = grad
        return g


class AdvancedIndex(Op):
    """``x[basic][adv]`` with index arrays or masks: a copy. Adjoint: scatter-add (repeated indices sum)."""

    @staticmethod
    def forward(ctx, x, basic, adv, unique):
        ctx.basic, ctx.adv, ctx.unique = basic, adv, unique
        ctx.in_shape, ctx.dtype = x.shape, x.dtype
        return x[basic][adv]

    @staticmethod
    def backward(ctx, grad):
        g = xp.zeros(ctx.in_shape, ctx.dtype)
        _accumulate(g[ctx.basic], ctx.adv, grad, ctx.unique)
        return g


def getitem(input, key):
    """``input[key]``, as torch indexes: ints, slices (step > 0), None, Ellipsis, bool masks, and integer index
    tensors, lists or arrays (advanced indexing, broadcast together). Basic keys give views.

    Example:
        >>> x = lamina.arange(6).reshape(2, 3)
        >>> x[:, [0, 2]]
        tensor([[0, 2],
                [3, 5]])
    """
    basic, adv, unique = _parse_key(key, input._data.shape, "index")
    if adv is None:
        return Index.apply(input, key=basic)
    return AdvancedIndex.apply(input, basic=basic, adv=adv, unique=unique)


class SetItem(Op):
    """A copy of ``x`` with ``x[basic][adv] = value``.

    Adjoints: for ``x``, the gradient with the written positions zeroed; for ``value``, the gradient at those
    positions summed over the dims ``value`` was broadcast along.
    """

    @staticmethod
    def forward(ctx, x, value, basic, adv, vshape):
        ctx.basic, ctx.adv, ctx.vshape = basic, adv, vshape
        if isinstance(value, ndarray):
            ctx.value_shape, ctx.value_dtype = value.shape, value.dtype
            value = value.reshape(vshape)
        out = x.copy()
        target = out[basic]
        if adv is None:
            target[...] = value
        else:
            target[adv] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = grad.copy()
            target = gx[ctx.basic]
            if ctx.adv is None:
                target[...] = 0
            else:
                target[ctx.adv] = 0
        if ctx.needs_input_grad[1]:
            g = grad[ctx.basic]
            if ctx.adv is not None:
                g = g[ctx.adv]
            gv = unbroadcast(g, ctx.vshape).reshape(ctx.value_shape).astype(ctx.value_dtype, copy=False)
        return gx, gv


def _setitem_parts(input, key, value):
    """Parse ``key`` and check ``value`` against the indexed shape: (basic, adv, value, vshape)."""
    shape = input._data.shape
    basic, adv, _ = _parse_key(key, shape, "setitem")
    if isinstance(value, (bool, int, float)):
        return basic, adv, value, ()
    value = as_tensor_arg(value)
    target = _indexed_shape(shape, basic, adv)
    vshape = value._data.shape
    while len(vshape) > len(target) and vshape[0] == 1:  # extra leading 1s are allowed, as in torch
        vshape = vshape[1:]
    try:
        ok = xp.broadcast_shapes(vshape, target) == target
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"setitem(): shape mismatch: value tensor of shape {list(value._data.shape)} cannot be "
                         f"broadcast to indexing result of shape {list(target)}")
    return basic, adv, value, vshape


def setitem(input, key, value):
    """Out of place ``input[key] = value``: a new tensor equal to ``input`` except at ``key``, where it holds
    ``value`` (a number or a tensor broadcastable to ``input[key].shape``, cast to ``input``'s dtype).

    ``Tensor.__setitem__`` writes this result back into the tensor's memory when autograd must record it.

    Example:
        >>> lamina.ops.setitem(lamina.zeros(3), 1, 5.0)
        tensor([0., 5., 0.])
    """
    basic, adv, value, vshape = _setitem_parts(input, key, value)
    return SetItem.apply(input, value, basic=basic, adv=adv, vshape=vshape)


def setitem_(input, key, value):
    """``input[key] = value`` written straight into ``input``'s memory (no graph: ``Tensor.__setitem__``'s fast
    path when nothing involved requires grad). Returns ``input``."""
    basic, adv, value, vshape = _setitem_parts(input, key, value)
    if isinstance(value, Tensor):
        value = value._data.reshape(vshape)
    if adv is None:
        input._data[basic] = value
    else:
        input._data[basic][adv] = value
    input._vc[0] += 1
    return input


# ---- gather / scatter ------------------------------------------------------------------------------------

def _index_tensor(index, op, arg="index"):
    if not isinstance(index, Tensor):
        raise DTypeError(f"{op}(): argument '{arg}' must be a Tensor of int64 indices, got {type(index).__name__}")
    if index._data.dtype not in _INDEX_DTYPES:
        raise DTypeError(f"{op}(): expected dtype int64 (or int32) for argument '{arg}', got {index.dtype}")
    return index._data


def _check_along_dim(input, dim, index, op, src=None):
    """torch's gather/scatter shape rules; returns the canonical dim."""
    shape, ishape = input._data.shape, index.shape
    d = canonical_dim(dim, len(shape), op)
    if max(len(ishape), 1) != max(len(shape), 1):
        raise ShapeError(f"{op}(): index tensor must have the same number of dimensions as the input tensor, got "
                         f"index of shape {list(ishape)} and input of shape {list(shape)}")
    if index.size:
        for k in range(len(ishape)):
            if k != d and shape and ishape[k] > shape[k]:
                raise ShapeError(f"{op}(): size {ishape[k]} of index at dimension {k} must not exceed the input's "
                                 f"size {shape[k]} there (index shape {list(ishape)}, input shape {list(shape)}, "
                                 f"dim {d})")
            if src is not None and src.shape and ishape[k] > src.shape[k]:
                raise ShapeError(f"{op}(): size {ishape[k]} of index at dimension {k} must not exceed the size "
                                 f"{src.shape[k]} of src (index shape {list(ishape)}, src shape {list(src.shape)})")
        n = shape[d] if shape else 1
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise IndexError_(f"{op}(): index {lo if lo < 0 else hi} is out of bounds for dimension {d} with size "
                              f"{n}")
    return d


class Gather(Op):
    """``out[i][j][k] = x[i][index[i][j][k]][k]`` (dim=1). Adjoint: scatter-add the gradient back."""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.dim, ctx.in_shape, ctx.dtype = dim, x.shape, x.dtype
        x1, i1 = _atleast_1d(x), _atleast_1d(index)
        ctx.save_for_backward(index)
        part = x1[tuple(_ALL if k == dim else slice(0, n) for k, n in enumerate(i1.shape))]
        return xp.take_along_axis(part, i1.astype(_INT64, copy=False), axis=dim).reshape(index.shape)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        shape1 = ctx.in_shape or (1,)
        g = xp.zeros(math.prod(shape1), ctx.dtype)
        _scatter_add_flat(g, _flat_offsets(shape1, ctx.dim, _atleast_1d(index)), grad)
        return g.reshape(ctx.in_shape), None


def gather(input, dim, index):
    """Pick values along ``dim`` at ``index`` (int64, same number of dims as ``input``; the output has its shape).

    Example:
        >>> lamina.gather(lamina.tensor([[1, 2], [3, 4]]), 1, lamina.tensor([[0, 0], [1, 0]]))
        tensor([[1, 1],
                [4, 3]])
    """
    idx = _index_tensor(index, "gather")
    d = _check_along_dim(input, dim, idx, "gather")
    return Gather.apply(input, index, dim=d)


class Scatter(Op):
    """A copy of ``x`` with ``src`` (or ``value``) written at ``index`` along ``dim``; ``reduce`` 'add' or
    'multiply' combines instead of overwriting.

    Adjoints: for ``x``, the gradient with overwritten positions zeroed (unchanged for 'add'); for ``src``, the
    gradient gathered at ``index``.
    """

    @staticmethod
    def forward(ctx, x, index, src, dim, value, reduce):
        x1, i1 = _atleast_1d(x), _atleast_1d(index)
        offsets = _flat_offsets(x1.shape, dim, i1)
        ctx.offsets, ctx.reduce, ctx.in_shape = offsets, reduce, x.shape
        if src is not None:
            ctx.src_shape, ctx.src_dtype = src.shape, src.dtype
            vals = _atleast_1d(src)[tuple(slice(0, n) for n in i1.shape)]
        else:
            vals = xp.broadcast_to(xp.asarray(value, dtype=x.dtype), i1.shape)
        out = x1.copy()
        flat = out.reshape(-1)  # a view: the copy is C-ordered
        if reduce is None:
            flat[offsets.ravel()] = vals.ravel()
        elif reduce == "add":
            _scatter_add_flat(flat, offsets, vals)
        else:
            xp.multiply.at(flat, offsets.ravel(), vals.ravel())
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        if ctx.reduce == "multiply":
            raise AutogradError("scatter(): the derivative for reduce='multiply' is not implemented (as in torch)")
        offsets = ctx.offsets.ravel()
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            gx = grad.reshape(-1).copy()
            if ctx.reduce is None:
                gx[offsets] = 0
            gx = gx.reshape(ctx.in_shape)
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            picked = grad.reshape(-1)[offsets].reshape(ctx.offsets.shape)
            gsrc = xp.zeros(ctx.src_shape or (1,), ctx.src_dtype)
            gsrc[tuple(slice(0, n) for n in picked.shape)] = picked
            gsrc = gsrc.reshape(ctx.src_shape)
        return gx, None, gsrc


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Out of place scatter: a copy of ``input`` with ``src[i][j]`` (or the number ``value``) written at
    ``index[i][j]`` along ``dim``. ``reduce``: None (overwrite), 'add' or 'multiply'.

    Example:
        >>> lamina.scatter(lamina.zeros(3), 0, lamina.tensor([2]), lamina.tensor([5.0]))
        tensor([0., 0., 5.])
    """
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src  # torch.scatter(input, dim, index, value): a number in src's place
    if (src is None) == (value is None):
        raise ArgumentError("scatter(): expected exactly one of 'src' (a Tensor) or 'value' (a number)")
    if reduce not in (None, "add", "multiply"):
        raise ArgumentError(f"scatter(): argument 'reduce' must be 'add' or 'multiply', got {reduce!r}")
    return _scatter(input, dim, index, src, value, reduce, "scatter")


def _scatter(input, dim, index, src, value, reduce, op):
    idx = _index_tensor(index, op)
    if src is not None:
        if src._data.dtype != input._data.dtype:
            raise DTypeError(f"{op}(): expected src to have the dtype of input ({input.dtype}), got {src.dtype}")
        if max(src._data.ndim, 1) != max(idx.ndim, 1):
            raise ShapeError(f"{op}(): index and src must have the same number of dimensions, got index of shape "
                             f"{list(idx.shape)} and src of shape {list(src._data.shape)}")
    elif isinstance(value, Tensor):
        value = value.item()
    d = _check_along_dim(input, dim, idx, op, None if src is None else src._data)
    return Scatter.apply(input, index, src, dim=d, value=value, reduce=reduce)


def scatter_add(input, dim, index, src):
    """Out of place ``scatter_add``: a copy of ``input`` plus ``src[i][j]`` added at ``index[i][j]`` along ``dim``
    (repeated indices accumulate).

    Example:
        >>> lamina.scatter_add(lamina.zeros(3), 0, lamina.tensor([1, 1]), lamina.tensor([1.0, 2.0]))
        tensor([0., 3., 0.])
    """
    if not isinstance(src, Tensor):
        raise DTypeError(f"scatter_add(): argument 'src' must be a Tensor, got {type(src).__name__}")
    return _scatter(input, dim, index, src, None, "add", "scatter_add")


def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting: ``indices`` and ``input`` broadcast over every dim but ``dim``; without
    ``dim``, both are flattened.

    Example:
        >>> x = lamina.tensor([[10, 30, 20]])
        >>> lamina.take_along_dim(x, lamina.argsort(x, dim=1), dim=1)
        tensor([[10, 20, 30]])
    """
    _index_tensor(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    shape, ishape = input._data.shape, indices._data.shape
    d = canonical_dim(dim, len(shape), "take_along_dim")
    if len(shape) != len(ishape):
        raise ShapeError(f"take_along_dim(): input and indices should have the same number of dimensions, got "
                         f"shapes {list(shape)} and {list(ishape)}")
    if not shape:
        raise DimError(f"take_along_dim(): dim {dim} given but the input is 0-d (pass dim=None)")
    try:
        common = list(xp.broadcast_shapes(shape[:d] + (1,) + shape[d + 1:], ishape[:d] + (1,) + ishape[d + 1:]))
    except ValueError:
        raise ShapeError(f"take_along_dim(): input of shape {list(shape)} and indices of shape {list(ishape)} "
                         f"cannot be broadcast together outside dim {d}") from None
    common[d] = shape[d]
    x = expand(input, tuple(common))
    common[d] = ishape[d]
    return gather(x, d, expand(indices, tuple(common)))


# ---- index_* ---------------------------------------------------------------------------------------------

def _index_vector(index, size, dim, op):
    """``index`` (0-d or 1-d int64/int32 tensor) as a 1-d int64 array within [0, size)."""
    idx = _index_tensor(index, op)
    if idx.ndim > 1:
        raise ShapeError(f"{op}(): index must be a vector (0-d or 1-d), got shape {list(idx.shape)}")
    idx = idx.reshape(-1).astype(_INT64, copy=False)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            raise IndexError_(f"{op}(): index {lo if lo < 0 else hi} is out of range for dimension {dim} with size "
                              f"{size}")
    return idx


class IndexSelect(Op):
    """``x`` restricted to the entries ``index`` along ``dim``. Adjoint: add the gradient rows back at ``index``
    (repeated indices sum)."""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.dim, ctx.in_shape, ctx.dtype, ctx.index = dim, x.shape, x.dtype, index
        out = xp.take(_atleast_1d(x), index, axis=dim)
        return out.reshape(()) if x.ndim == 0 and out.size == 1 else out

    @staticmethod
    def backward(ctx, grad):
        g = xp.zeros(ctx.in_shape or (1,), ctx.dtype)
        _add_along_axis(g, ctx.dim, ctx.index, _atleast_1d(grad))
        return g.reshape(ctx.in_shape), None


def index_select(input, dim, index):
    """The entries of ``input`` at ``index`` (a 1-d int64 tensor) along ``dim``.

    Example:
        >>> lamina.index_select(lamina.tensor([[1, 2], [3, 4]]), 0, lamina.tensor([1, 1]))
        tensor([[3, 4],
                [3, 4]])
    """
    shape = input._data.shape
    d = canonical_dim(dim, len(shape), "index_select")
    idx = _index_vector(index, shape[d] if shape else 1, d, "index_select")
    if not shape and idx.size != 1:
        raise ShapeError(f"index_select(): an index into a 0-d tensor can have only 1 value, got {idx.size}")
    return IndexSelect.apply(input, idx, dim=d)


class IndexAdd(Op):
    """A copy of ``x`` with ``alpha * source`` added at ``index`` along ``dim`` (repeated indices accumulate).

    Adjoints: ``x`` gets the gradient; ``source`` gets ``alpha`` times the gradient's entries at ``index``.
    """

    @staticmethod
    def forward(ctx, x, index, source, dim, alpha):
        ctx.dim, ctx.index, ctx.alpha, ctx.src_shape = dim, index, alpha, source.shape
        out = _atleast_1d(x).copy()
        src = _atleast_1d(source)
        _add_along_axis(out, dim, index, src if alpha == 1 else src * alpha)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        gsrc = None
        if ctx.needs_input_grad[2]:
            gsrc = xp.take(_atleast_1d(grad), ctx.index, axis=ctx.dim).reshape(ctx.src_shape)
            if ctx.alpha != 1:
                gsrc = gsrc * ctx.alpha
        return grad, None, gsrc


def _index_source(input, dim, index, source, op):
    shape = input._data.shape
    d = canonical_dim(dim, len(shape), op)
    idx = _index_vector(index, shape[d] if shape else 1, d, op)
    if not isinstance(source, Tensor):
        raise DTypeError(f"{op}(): argument 'source' must be a Tensor, got {type(source).__name__}")
    if source._data.dtype != input._data.dtype:
        raise DTypeError(f"{op}(): input ({input.dtype}) and source ({source.dtype}) must have the same dtype")
    want = list(shape or (1,))
    want[d] = idx.size
    if list(source._data.shape or (1,)) != want:
        raise ShapeError(f"{op}(): source must have shape {want} (input's shape {list(shape)} with dim {d} of the "
                         f"index's length {idx.size}), got {list(source._data.shape)}")
    return d, idx


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``; repeated indices accumulate.

    Example:
        >>> lamina.index_add(lamina.zeros(3), 0, lamina.tensor([0, 0]), lamina.tensor([1.0, 2.0]))
        tensor([3., 0., 0.])
    """
    d, idx = _index_source(input, dim, index, source, "index_add")
    return IndexAdd.apply(input, idx, source, dim=d, alpha=alpha)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices at ``index`` along ``dim`` replaced by those of ``source``.

    Example:
        >>> lamina.index_copy(lamina.zeros(3), 0, lamina.tensor([2]), lamina.tensor([7.0]))
        tensor([0., 0., 7.])
    """
    d, idx = _index_source(input, dim, index, source, "index_copy")
    if not input._data.ndim:  # a 0-d input works as its 1-element 1-d view
        return reshape(setitem(reshape(input, (1,)), idx, reshape(source, (idx.size,))), ())
    return setitem(input, (_ALL,) * d + (idx,), source)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or 0-d tensor).

    Example:
        >>> lamina.index_fill(lamina.zeros(2, 2), 1, lamina.tensor([0]), 1.0)
        tensor([[1., 0.],
                [1., 0.]])
    """
    shape = input._data.shape
    d = canonical_dim(dim, len(shape), "index_fill")
    idx = _index_vector(index, shape[d] if shape else 1, d, "index_fill")
    if isinstance(value, Tensor) and value._data.ndim:
        raise ShapeError(f"index_fill(): value must be a number or a 0-d tensor, got a tensor of shape "
                         f"{list(value._data.shape)}")
    if not shape:  # a 0-d input works as its 1-element 1-d view
        return reshape(setitem(reshape(input, (1,)), idx, value), ())
    return setitem(input, (_ALL,) * d + (idx,), value)


# ---- masks -----------------------------------------------------------------------------------------------

class MaskedSelect(Op):
    """The elements of ``x`` where ``mask`` is True (both broadcast to ``shape``), as a 1-d tensor.

    Adjoint: the gradient placed at the mask's positions, summed back to ``x``'s shape.
    """

    @staticmethod
    def forward(ctx, x, mask, shape):
        ctx.in_shape, ctx.dtype, ctx.shape = x.shape, x.dtype, shape
        ctx.save_for_backward(mask)
        return xp.broadcast_to(x, shape)[xp.broadcast_to(mask, shape)]

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        g = xp.zeros(ctx.shape, ctx.dtype)
        g[xp.broadcast_to(mask, ctx.shape)] = grad
        return unbroadcast(g, ctx.in_shape), None


def masked_select(input, mask):
    """A 1-d tensor of the elements of ``input`` where the bool ``mask`` is True (the two broadcast).

    Example:
        >>> x = lamina.tensor([[1, 2], [3, 4]])
        >>> lamina.masked_select(x, x > 2)
        tensor([3, 4])
    """
    if not isinstance(mask, Tensor) or mask._data.dtype != xp.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise DTypeError(f"masked_select(): expected a bool tensor for argument 'mask', got {got}")
    try:
        shape = xp.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise ShapeError(f"masked_select(): the shape of input {list(input._data.shape)} and of mask "
                         f"{list(mask._data.shape)} cannot be broadcast together") from None
    return MaskedSelect.apply(input, mask, shape=shape)


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-d tensor
    per dim. Not differentiable.

    Example:
        >>> lamina.nonzero(lamina.tensor([0, 3, 0, 4]))
        tensor([[1],
                [3]])
    """
    data = input._data
    if as_tuple:
        return tuple(Tensor._make(a.astype(_INT64, copy=False)) for a in xp.nonzero(_atleast_1d(data)))
    return Tensor._make(xp.argwhere(data).astype(_INT64, copy=False))


def argwhere(input):
    """``nonzero(input)``: an (n, ndim) int64 tensor of the indices of the non-zero elements."""
    return nonzero(input)


def one_hot(tensor, num_classes=-1):
    """One-hot encode an int64 tensor of class indices: shape ``tensor.shape + (num_classes,)``, dtype int64.

    ``num_classes=-1`` uses ``tensor.max() + 1``. Indices outside [0, num_classes) raise IndexError_.

    Example:
        >>> lamina.nn.functional.one_hot(lamina.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor) or tensor._data.dtype != _INT64:
        got = tensor.dtype if isinstance(tensor, Tensor) else type(tensor).__name__
        raise DTypeError(f"one_hot(): expected an int64 tensor of class indices, got {got}")
    data = tensor._data
    if isinstance(num_classes, bool) or not hasattr(num_classes, "__index__"):
        raise ArgumentError(f"one_hot(): argument 'num_classes' must be an int, got {num_classes!r}")
    num_classes = num_classes.__index__()
    if num_classes == -1:
        if not data.size:
            raise ArgumentError("one_hot(): can not infer the number of classes from an empty tensor; pass "
                                "num_classes")
        num_classes = int(data.max()) + 1
    elif num_classes < 0:
        raise ArgumentError(f"one_hot(): argument 'num_classes' must be -1 or non-negative, got {num_classes}")
    if data.size:
        lo, hi = int(data.min()), int(data.max())
        if lo < 0:
            raise IndexError_(f"one_hot(): class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise IndexError_(f"one_hot(): class value {hi} out of range for num_classes={num_classes}")
    if data.size * num_classes > 2 ** 48:  # the bound lamina.creation puts on any tensor
        raise ArgumentError(f"one_hot(): {data.size} labels x num_classes={num_classes} elements overflows")
    out = xp.zeros(data.shape + (num_classes,), _INT64)
    if data.size:
        xp.put_along_axis(out, data[..., None], 1, axis=-1)
    return Tensor._make(out)


# ---- sorting ---------------------------------------------------------------------------------------------

def _argsort(x, axis, descending):
    """Stable argsort; descending keeps equal elements in their original order and puts NaN first (torch)."""
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    # Stable ascending sort of the reversed array, reversed back: a stable descending order.
    r = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (x.shape[axis] - 1) - xp.flip(r, axis)


def _take_first(a, k, axis):
    return a[(_ALL,) * axis + (slice(0, k),)]


def _topk_indices(x, k, axis, largest):
    n = x.shape[axis]
    if x.size == 0 or k == 0 or 8 * k >= n:
        return _take_first(_argsort(x, axis, largest), k, axis)
    # Partition (O(n)) so that the k wanted elements come first or last, then sort only those; NaN counts as
    # the largest value in both NumPy's partition and torch's topk.
    part = xp.argpartition(x, n - k if largest else k - 1, axis=axis)
    sel = part[(_ALL,) * axis + ((slice(n - k, n) if largest else slice(0, k)),)]
    sel = xp.sort(sel, axis=axis)  # by position, so equal values keep their original order below
    order = _argsort(xp.take_along_axis(x, sel, axis=axis), axis, largest)
    return xp.take_along_axis(sel, order, axis=axis)


class Sort(Op):
    """Sorted values and their int64 indices along ``dim``. Adjoint: put the gradient back at the indices."""

    @staticmethod
    def forward(ctx, x, dim, descending):
        x1 = _atleast_1d(x)
        return Sort._finish(ctx, x, _argsort(x1, dim, descending), dim)

    @staticmethod
    def _finish(ctx, x, idx, dim):
        ctx.dim, ctx.in_shape, ctx.dtype = dim, x.shape, x.dtype
        if x.ndim == 0:  # a 0-d input gives 0-d results (torch, even for topk with k=0)
            ctx.idx = xp.zeros(1, _INT64)
            return x.copy(), xp.zeros((), _INT64)
        ctx.idx = idx
        return xp.take_along_axis(x, idx, axis=dim), idx.astype(_INT64, copy=False)

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        g = xp.zeros(ctx.in_shape or (1,), ctx.dtype)
        if grad is not None:
            xp.put_along_axis(g, ctx.idx, grad.reshape(ctx.idx.shape), axis=ctx.dim)
        return g.reshape(ctx.in_shape)


class TopK(Sort):
    """The ``k`` largest (or smallest) values along ``dim``, sorted, with their indices. Adjoint as ``Sort``."""

    @staticmethod
    def forward(ctx, x, k, dim, largest):
        return Sort._finish(ctx, x, _topk_indices(_atleast_1d(x), k, dim, largest), dim)


def sort(input, dim=-1, descending=False, stable=False):
    """Sort along ``dim``: returns ``(values, indices)``. Always stable (equal elements keep their order);
    NaN sorts as the largest value, as in torch.

    Example:
        >>> lamina.sort(lamina.tensor([3.0, 1.0, 2.0])).indices
        tensor([1, 2, 0])
    """
    d = canonical_dim(dim, input._data.ndim, "sort")
    return _SortResult(*Sort.apply(input, dim=d, descending=bool(descending)))


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (stable). Not differentiable.

    Example:
        >>> lamina.argsort(lamina.tensor([3.0, 1.0, 2.0]), descending=True)
        tensor([0, 2, 1])
    """
    d = canonical_dim(dim, input._data.ndim, "argsort")
    data = input._data
    idx = _argsort(_atleast_1d(data), d, bool(descending)).astype(_INT64, copy=False)
    return Tensor._make(idx.reshape(data.shape))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their indices, in sorted order.

    Example:
        >>> lamina.topk(lamina.tensor([1.0, 5.0, 3.0]), 2)
        topk(values=tensor([5., 3.]), indices=tensor([1, 2]))
    """
    shape = input._data.shape
    d = canonical_dim(dim, len(shape), "topk")
    if isinstance(k, bool) or not hasattr(k, "__index__"):
        raise ArgumentError(f"topk(): argument 'k' must be an int, got {k!r}")
    k = k.__index__()
    n = shape[d] if shape else 1
    if not 0 <= k <= n:
        raise ArgumentError(f"topk(): k ({k}) out of range for dimension {d} of size {n} (selected index k out of "
                            "range)")
    return _TopkResult(*TopK.apply(input, k=k, dim=d, largest=bool(largest)))

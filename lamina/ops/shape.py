"""Shape operators: reshape/view, flatten, squeeze/unsqueeze, permute/transpose, expand, repeat/tile,
cat/stack, split/chunk/unbind, flip, roll, tril/triu, narrow, contiguous.

Operators that only change how memory is read (``View``, ``Permute``, ``Expand``, ``Split``, ``Unbind``) return
NumPy views of their input and set ``_view``: the output shares the input's memory and version counter, so an
in-place change through one is seen by the other, as in torch. Operators that must copy (``Reshape`` when the
strides forbid a view, ``Flip``, ``Roll``, ``Repeat``, ``Cat``, ``Stack``, ``Tril``) return fresh arrays.

Functions that take a list of sizes accept torch's two spellings: ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``.
"""
import math

from lamina.autograd import Op
from lamina.backend import xp
from lamina.dtypes import as_dtype, promote_types
from lamina.errors import ArgumentError, DimError, DTypeError, IndexError_, ShapeError
from lamina.tensor import Tensor
from lamina.ops._util import canonical_dim, canonical_dims, unbroadcast


_MAX_ELEMENTS = 2 ** 48  # as in lamina.creation: far above any real tensor, below int64 overflow


# ---- argument helpers ------------------------------------------------------------------------------------

def _int(v, op, arg):
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise ArgumentError(f"{op}(): argument '{arg}' must be an int or a sequence of ints, got "
                            f"{type(v).__name__} {v!r}")
    return v.__index__()


def _ints(first, more, op, arg):
    """torch's ``*sizes`` convention: ``f(x, 2, 3)``, ``f(x, (2, 3))`` and ``f(x, [2, 3])`` all give (2, 3)."""
    if more:
        items = (first,) + tuple(more)
    elif isinstance(first, (tuple, list)):
        items = tuple(first)
    else:
        items = (first,)
    return tuple(_int(v, op, arg) for v in items)


def _new_dim(dim, ndim, op):
    """A dim for an op that adds an axis (unsqueeze, stack): valid range is [-ndim-1, ndim]."""
    dim = _int(dim, op, "dim")
    if not -ndim - 1 <= dim <= ndim:
        raise DimError(f"{op}(): dim {dim} out of range for a {ndim}-d tensor (expected to be in range of "
                       f"[{-ndim - 1}, {ndim}])")
    return dim % (ndim + 1)


def _infer_shape(shape, numel, in_shape, op):
    """Resolve one ``-1`` in ``shape`` so that it holds ``numel`` elements; raise if no such shape exists."""
    infer = None
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise ArgumentError(f"{op}(): only one dimension can be inferred, got shape {list(shape)}")
            infer = i
        elif s < 0:
            raise ArgumentError(f"{op}(): invalid shape dimension {s} at index {i} of shape {list(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if infer is not None:
        if known == 0:
            if numel == 0:
                raise ShapeError(f"{op}(): cannot reshape tensor of 0 elements into shape {list(shape)} because "
                                 "the unspecified dimension size -1 can be any value and is ambiguous")
        elif numel % known == 0:
            return shape[:infer] + (numel // known,) + shape[infer + 1:]
    if known != numel or infer is not None:
        raise ShapeError(f"{op}(): shape {list(shape)} is invalid for input of size {numel} "
                         f"(input shape {list(in_shape)})")
    return shape


def _check_numel(shape, op):
    if math.prod(shape) > _MAX_ELEMENTS:
        raise ArgumentError(f"{op}(): the result shape {list(shape)} has {math.prod(shape)} elements, which "
                            "overflows")


def _reshape_view(array, shape):
    """``array`` reshaped without copying, or None when its strides make that impossible."""
    try:
        return xp.reshape(array, shape, copy=False)
    except ValueError:
        return None


def _check_tensor(x, op, arg="input"):
    if not isinstance(x, Tensor):
        raise DTypeError(f"{op}(): argument '{arg}' must be a Tensor, got {type(x).__name__}")


# ---- reshape / view --------------------------------------------------------------------------------------

class Reshape(Op):
    """Reshape that copies (the input's strides do not allow a view). Adjoint: reshape the gradient back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return xp.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class View(Reshape):
    """Reshape that shares memory with its input (view, reshape when possible, flatten, squeeze, unsqueeze)."""
    _view = True


class ViewDtype(Op):
    """Reinterpret the bytes as another dtype (``x.view(lamina.int32)``); not differentiable, as in torch."""
    _view = True

    @staticmethod
    def forward(ctx, x, dtype):
        out = x.view(dtype)
        ctx.mark_non_differentiable(out)
        return (out,)  # a tuple, so apply honours mark_non_differentiable


def _reshape(input, shape, op):
    shape = _infer_shape(shape, input._data.size, input._data.shape, op)
    if _reshape_view(input._data, shape) is not None:
        return View.apply(input, shape=shape)
    return Reshape.apply(input, shape=shape)


def reshape(input, shape, *more):
    """A tensor with ``input``'s elements in ``shape`` (one entry may be -1); a view when the strides allow.

    Args:
        input: the tensor.
        shape: the new shape, as a tuple or as separate ints (``x.reshape(2, -1)``).

    Example:
        >>> lamina.arange(6).reshape(2, 3).shape
        lamina.Size([2, 3])
    """
    _check_tensor(input, "reshape")
    return _reshape(input, _ints(shape, more, "reshape", "shape"), "reshape")


def view(input, shape, *more):
    """``input`` seen with another shape (always shares memory) or, given a dtype, with another element type.

    Raises ShapeError when the strides of ``input`` cannot be viewed in ``shape`` (use ``reshape``).

    Example:
        >>> lamina.zeros(2, 3).view(-1).shape
        lamina.Size([6])
    """
    _check_tensor(input, "view")
    if not more and not isinstance(shape, (tuple, list)) and not hasattr(shape, "__index__"):
        return _view_dtype(input, shape)
    shape = _infer_shape(_ints(shape, more, "view", "shape"), input._data.size, input._data.shape, "view")
    if _reshape_view(input._data, shape) is None:
        raise ShapeError(f"view(): view size is not compatible with input tensor's size and stride (at least one "
                         f"dimension spans across two contiguous subspaces): cannot view shape "
                         f"{list(input._data.shape)} with strides {input.stride()} as {list(shape)}. "
                         "Use .reshape(...) instead.")
    return View.apply(input, shape=shape)


def _view_dtype(input, dtype):
    target = as_dtype(dtype).numpy
    data = input._data
    if target.itemsize != data.dtype.itemsize:
        if data.ndim == 0:
            raise ShapeError(f"view(): a 0-d tensor cannot be viewed as {as_dtype(dtype)} (its element size "
                             f"{target.itemsize} differs from {data.dtype.itemsize})")
        last = data.shape[-1] * data.dtype.itemsize
        if (data.strides[-1] != data.dtype.itemsize and data.shape[-1] != 1) or last % target.itemsize:
            raise ShapeError(f"view(): cannot view a tensor of shape {list(data.shape)} and dtype "
                             f"{input.dtype} as {as_dtype(dtype)}: the last dimension must be contiguous and "
                             f"its size in bytes ({last}) divisible by {target.itemsize}")
    try:
        (out,) = ViewDtype.apply(input, dtype=target)
    except ValueError as e:  # NumPy's own stride checks, if ours let something through
        raise ShapeError(f"view(): cannot view this tensor as {as_dtype(dtype)}: {e}") from None
    return out


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a view when the strides allow); a 0-d tensor becomes 1-d.

    Example:
        >>> lamina.zeros(2, 3, 4).flatten(1).shape
        lamina.Size([2, 12])
    """
    _check_tensor(input, "flatten")
    shape = input._data.shape
    start = canonical_dim(start_dim, len(shape), "flatten")
    end = canonical_dim(end_dim, len(shape), "flatten")
    if not shape:
        return _reshape(input, (1,), "flatten")
    if start > end:
        raise ArgumentError(f"flatten(): start_dim cannot come after end_dim, got start_dim={start_dim} and "
                            f"end_dim={end_dim} for a {len(shape)}-d tensor")
    if start == end:
        return input
    return _reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:], "flatten")


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1), the inverse of ``flatten``.

    Example:
        >>> lamina.zeros(2, 12).unflatten(1, (3, -1)).shape
        lamina.Size([2, 3, 4])
    """
    _check_tensor(input, "unflatten")
    shape = input._data.shape
    d = canonical_dim(dim, len(shape), "unflatten")
    sizes = _ints(sizes, (), "unflatten", "sizes")
    if not sizes:
        raise ArgumentError("unflatten(): argument 'sizes' must be non-empty")
    if not shape:
        raise DimError("unflatten(): a 0-d tensor has no dimension to unflatten")
    try:
        sizes = _infer_shape(sizes, shape[d], shape, "unflatten")
    except ShapeError:
        raise ShapeError(f"unflatten(): sizes {list(sizes)} don't multiply up to the size of dim {d} ({shape[d]}) "
                         f"of the input tensor of shape {list(shape)}") from None
    return _reshape(input, shape[:d] + sizes + shape[d + 1:], "unflatten")


def squeeze(input, dim=None):
    """Remove dims of size 1 (all of them, or those in ``dim``: an int or a tuple); other dims are left alone.

    Example:
        >>> lamina.zeros(2, 1, 3).squeeze().shape
        lamina.Size([2, 3])
    """
    _check_tensor(input, "squeeze")
    shape = input._data.shape
    if dim is None:
        dims = range(len(shape))
    else:
        dims = canonical_dims(dim if isinstance(dim, (tuple, list)) else (dim,), len(shape), "squeeze")
    drop = {d for d in dims if shape[d] == 1}
    return View.apply(input, shape=tuple(s for i, s in enumerate(shape) if i not in drop))


def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim`` (in [-ndim-1, ndim]).

    Example:
        >>> lamina.zeros(2, 3).unsqueeze(-1).shape
        lamina.Size([2, 3, 1])
    """
    _check_tensor(input, "unsqueeze")
    shape = input._data.shape
    d = _new_dim(dim, len(shape), "unsqueeze")
    return View.apply(input, shape=shape[:d] + (1,) + shape[d:])


# ---- axis permutations -----------------------------------------------------------------------------------

class Permute(Op):
    """Reorder the axes (a view). Adjoint: the inverse permutation."""
    _view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return xp.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return xp.transpose(grad, ctx.inverse)


def permute(input, dims=(), *more):
    """``input`` with its dims reordered: output dim i is input dim ``dims[i]`` (a view).

    Args:
        input: the tensor.
        dims: a permutation of ``range(input.ndim)``, as a tuple or as separate ints.

    Example:
        >>> lamina.zeros(2, 3, 4).permute(2, 0, 1).shape
        lamina.Size([4, 2, 3])
    """
    _check_tensor(input, "permute")
    ndim = input._data.ndim
    dims = _ints(dims, more, "permute", "dims")
    if len(dims) != ndim:
        raise ArgumentError(f"permute(): argument 'dims' must have one entry per dim of the {ndim}-d input, "
                            f"got {len(dims)}: {dims}")
    canon = tuple(canonical_dim(d, ndim, "permute") for d in dims) if ndim else ()
    if len(set(canon)) != len(canon):
        raise ArgumentError(f"permute(): argument 'dims' must be a permutation of 0..{ndim - 1} (no dim twice), "
                            f"got {dims}")
    return Permute.apply(input, dims=canon)


def transpose(input, dim0, dim1):
    """Swap dims ``dim0`` and ``dim1`` (a view).

    Example:
        >>> lamina.zeros(2, 3, 4).transpose(0, -1).shape
        lamina.Size([4, 3, 2])
    """
    _check_tensor(input, "transpose")
    ndim = input._data.ndim
    a = canonical_dim(dim0, ndim, "transpose")
    b = canonical_dim(dim1, ndim, "transpose")
    dims = list(range(ndim))
    if ndim:
        dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, dims=tuple(dims))


def swapaxes(input, axis0, axis1):
    """Alias of ``transpose``."""
    return transpose(input, axis0, axis1)


def swapdims(input, dim0, dim1):
    """Alias of ``transpose``."""
    return transpose(input, dim0, dim1)


def t(input):
    """Transpose a tensor of at most 2 dims (0-d and 1-d tensors are returned as views of themselves).

    Example:
        >>> lamina.zeros(2, 3).t().shape
        lamina.Size([3, 2])
    """
    _check_tensor(input, "t")
    ndim = input._data.ndim
    if ndim > 2:
        raise ShapeError(f"t(): expects a tensor with <= 2 dimensions, but input is {ndim}-D "
                         f"(shape {list(input._data.shape)}); use transpose() or permute()")
    return Permute.apply(input, dims=tuple(range(ndim))[::-1])


def movedim(input, source, destination):
    """Move dims ``source`` (int or tuple) to positions ``destination``; the other dims keep their order.

    Example:
        >>> lamina.zeros(2, 3, 4).movedim(0, -1).shape
        lamina.Size([3, 4, 2])
    """
    _check_tensor(input, "movedim")
    ndim = input._data.ndim
    src = _ints(source, (), "movedim", "source")
    dst = _ints(destination, (), "movedim", "destination")
    if len(src) != len(dst):
        raise ArgumentError(f"movedim(): source {src} and destination {dst} must have the same number of dims")
    src = tuple(canonical_dim(d, ndim, "movedim") for d in src) if ndim else ()
    dst = tuple(canonical_dim(d, ndim, "movedim") for d in dst) if ndim else ()
    for name, ds, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(ds)) != len(ds):
            raise ArgumentError(f"movedim(): repeated dim in argument '{name}': {given}")
    rest = [d for d in range(ndim) if d not in src]
    order = [None] * ndim
    for s, d in zip(src, dst):
        order[d] = s
    it = iter(rest)
    order = tuple(next(it) if o is None else o for o in order)
    return Permute.apply(input, dims=order)


def moveaxis(input, source, destination):
    """Alias of ``movedim``."""
    return movedim(input, source, destination)


# ---- broadcasting and repetition -------------------------------------------------------------------------

class Expand(Op):
    """Broadcast size-1 dims (and new leading dims) to a larger shape without copying.

    Adjoint: sum the gradient over the broadcast axes.
    """
    _view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x if x.shape == shape else xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.in_shape)


def _expand_shape(in_shape, sizes, op):
    lead = len(sizes) - len(in_shape)
    if lead < 0:
        raise ShapeError(f"{op}(): the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                         f"number of dimensions in the tensor ({len(in_shape)}); sizes {list(sizes)}, tensor "
                         f"shape {list(in_shape)}")
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise ArgumentError(f"{op}(): the expanded size {s} isn't allowed in a leading, non-existing "
                                    f"dimension {i} (sizes {list(sizes)})")
            shape.append(s)
            continue
        have = in_shape[i - lead]
        if s == -1:
            s = have
        elif s < -1:
            raise ArgumentError(f"{op}(): invalid size {s} at dimension {i} of sizes {list(sizes)}")
        elif have != 1 and s != have:
            raise ShapeError(f"{op}(): the expanded size of the tensor ({s}) must match the existing size "
                             f"({have}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                             f"Tensor sizes: {list(in_shape)}")
        shape.append(s)
    _check_numel(shape, op)
    return tuple(shape)


def expand(input, size, *more):
    """A view of ``input`` with size-1 dims broadcast to ``size`` (-1 keeps a dim); new dims go in front.

    Example:
        >>> lamina.zeros(3, 1).expand(2, -1, 4).shape
        lamina.Size([2, 3, 4])
    """
    _check_tensor(input, "expand")
    shape = _expand_shape(input._data.shape, _ints(size, more, "expand", "size"), "expand")
    return Expand.apply(input, shape=shape)


def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, tuple(other.shape))


def broadcast_to(input, size):
    """``input`` broadcast to ``size`` (a view), like ``expand``.

    Example:
        >>> lamina.broadcast_to(lamina.zeros(3), (2, 3)).shape
        lamina.Size([2, 3])
    """
    _check_tensor(input, "broadcast_to")
    shape = _expand_shape(input._data.shape, _ints(size, (), "broadcast_to", "size"), "broadcast_to")
    return Expand.apply(input, shape=shape)


class Repeat(Op):
    """Tile the input ``reps[i]`` times along dim i (extra leading reps add dims).

    Adjoint: view the gradient as (rep_0, size_0, rep_1, size_1, ...) and sum over the rep axes.
    """

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape = x.shape
        ctx.padded = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.reps = reps
        return xp.tile(x.reshape(ctx.padded), reps)

    @staticmethod
    def backward(ctx, grad):
        split = []
        for r, s in zip(ctx.reps, ctx.padded):
            split += [r, s]
        g = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(ctx.in_shape)


def repeat(input, repeats, *more):
    """Repeat ``input`` along each dim (``x.repeat(2, 1)``); more repeats than dims add leading dims.

    Example:
        >>> lamina.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    _check_tensor(input, "repeat")
    reps = _ints(repeats, more, "repeat", "repeats")
    ndim = input._data.ndim
    if len(reps) < ndim:
        raise ShapeError(f"repeat(): number of repeat dims ({len(reps)}) can not be smaller than the number of "
                         f"dimensions of the tensor ({ndim}); got repeats {list(reps)}")
    if any(r < 0 for r in reps):
        raise ArgumentError(f"repeat(): repeats must be non-negative, got {list(reps)}")
    _check_numel(reps + input._data.shape, "repeat")
    return Repeat.apply(input, reps=reps)


def tile(input, dims, *more):
    """Like ``repeat``, but fewer ``dims`` than the tensor has are padded with leading 1s.

    Example:
        >>> lamina.zeros(2, 3).tile((2,)).shape
        lamina.Size([2, 6])
    """
    _check_tensor(input, "tile")
    reps = _ints(dims, more, "tile", "dims")
    ndim = input._data.ndim
    if len(reps) < ndim:
        reps = (1,) * (ndim - len(reps)) + reps
    if any(r < 0 for r in reps):
        raise ArgumentError(f"tile(): dims must be non-negative, got {list(reps)}")
    _check_numel(reps + input._data.shape, "tile")
    return Repeat.apply(input, reps=reps)


# ---- joining ---------------------------------------------------------------------------------------------

def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise DTypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, got "
                         f"{type(tensors).__name__}")
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError(f"{op}(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise DTypeError(f"{op}(): expected a Tensor as element {i} of 'tensors', got {type(x).__name__}")
    return tensors


def _common_dtype(tensors):
    dt = tensors[0]._data.dtype
    for x in tensors[1:]:
        dt = promote_types(dt, x._data.dtype)
    return dt


class Cat(Op):
    """Concatenate along ``dim`` in the promoted dtype; inputs in ``skip`` (legacy empty 1-d) are left out.

    Adjoint: slice the gradient back into the pieces (and cast each to its input's dtype).
    """

    @staticmethod
    def forward(ctx, *arrays, dim, dtype, skip):
        ctx.dim, ctx.skip = dim, skip
        ctx.dtypes = [a.dtype for a in arrays]
        kept = [a for i, a in enumerate(arrays) if i not in skip] or list(arrays)
        ctx.sizes = [a.shape[dim] for a in kept]
        return xp.concatenate(kept, axis=dim, dtype=dtype, casting="unsafe")

    @staticmethod
    def backward(ctx, grad):
        bounds, total = [], 0
        for s in ctx.sizes[:-1]:
            total += s
            bounds.append(total)
        pieces = iter(xp.split(grad, bounds, axis=ctx.dim))
        out = []
        for i, (need, dt) in enumerate(zip(ctx.needs_input_grad, ctx.dtypes)):
            if i in ctx.skip:
                out.append(xp.zeros((0,), dt) if need else None)
                continue
            g = next(pieces)
            out.append(g.astype(dt, copy=False) if need else None)
        return tuple(out)


def cat(tensors, dim=0):
    """Concatenate ``tensors`` along ``dim``; all other sizes must match. Dtypes promote as in torch.

    As in torch, 1-d tensors with zero elements are skipped whatever the others' shapes are.

    Example:
        >>> lamina.cat([lamina.zeros(2, 3), lamina.ones(1, 3)]).shape
        lamina.Size([3, 3])
    """
    tensors = _tensor_list(tensors, "cat")
    dtype = _common_dtype(tensors)
    skip = frozenset(i for i, x in enumerate(tensors) if x._data.shape == (0,))
    kept = [(i, x) for i, x in enumerate(tensors) if i not in skip]
    if not kept:
        return Cat.apply(*tensors, dim=0, dtype=dtype, skip=frozenset())
    i0, ref = kept[0]
    ref_shape = ref._data.shape
    if not ref_shape:
        raise ShapeError(f"cat(): zero-dimensional tensor (at position {i0}) cannot be concatenated")
    d = canonical_dim(dim, len(ref_shape), "cat")
    for i, x in kept[1:]:
        shape = x._data.shape
        if len(shape) != len(ref_shape):
            raise ShapeError(f"cat(): tensors must have the same number of dimensions: got {len(ref_shape)} and "
                             f"{len(shape)} (shapes {list(ref_shape)} at position {i0} and {list(shape)} at "
                             f"position {i})")
        for k, (a, b) in enumerate(zip(ref_shape, shape)):
            if k != d and a != b:
                raise ShapeError(f"cat(): sizes of tensors must match except in dimension {d}: expected size {a} "
                                 f"but got size {b} in dimension {k} for tensor number {i} in the list (shapes "
                                 f"{list(ref_shape)} and {list(shape)})")
    return Cat.apply(*tensors, dim=d, dtype=dtype, skip=skip)


def concat(tensors, dim=0):
    """Alias of ``cat``."""
    return cat(tensors, dim)


def concatenate(tensors, axis=0):
    """Alias of ``cat`` (NumPy spelling, with ``axis``)."""
    return cat(tensors, axis)


class Stack(Op):
    """Stack equal-shaped arrays along a new dim ``dim``. Adjoint: take each slice of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, dim, dtype):
        ctx.dim = dim
        ctx.dtypes = [a.dtype for a in arrays]
        return xp.stack(arrays, axis=dim, dtype=dtype, casting="unsafe")

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        return tuple(grad[lead + (i,)].astype(dt, copy=False) if need else None
                     for i, (need, dt) in enumerate(zip(ctx.needs_input_grad, ctx.dtypes)))


def stack(tensors, dim=0):
    """Join equal-shaped ``tensors`` along a new dim ``dim`` (in [-ndim-1, ndim]).

    Example:
        >>> lamina.stack([lamina.zeros(2, 3), lamina.ones(2, 3)], dim=1).shape
        lamina.Size([2, 2, 3])
    """
    tensors = _tensor_list(tensors, "stack")
    ref = tensors[0]._data.shape
    for i, x in enumerate(tensors[1:], 1):
        if x._data.shape != ref:
            raise ShapeError(f"stack(): expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                             f"{list(x._data.shape)} at entry {i}")
    d = _new_dim(dim, len(ref), "stack")
    return Stack.apply(*tensors, dim=d, dtype=_common_dtype(tensors))


def hstack(tensors):
    """Concatenate horizontally: along dim 0 for 1-d tensors (0-d ones count as 1-d), else along dim 1."""
    tensors = [x if x._data.ndim else _reshape(x, (1,), "hstack") for x in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors):
    """Concatenate vertically (along dim 0) after making every tensor at least 2-d (``(n,)`` -> ``(1, n)``)."""
    tensors = [x if x._data.ndim >= 2 else _reshape(x, (1, x._data.size), "vstack")
               for x in _tensor_list(tensors, "vstack")]
    return cat(tensors, 0)


# ---- splitting -------------------------------------------------------------------------------------------

class Split(Op):
    """Consecutive slices of ``sizes`` along ``dim`` (views). Adjoint: concatenate the gradients (zeros for
    pieces that got none)."""
    _view = True

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim, ctx.sizes, ctx.in_shape, ctx.dtype = dim, sizes, x.shape, x.dtype
        lead = (slice(None),) * dim
        out, start = [], 0
        for s in sizes:
            out.append(x[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        pieces = []
        for g, s in zip(grads, ctx.sizes):
            if g is None:
                shape = list(ctx.in_shape)
                shape[ctx.dim] = s
                g = xp.zeros(shape, ctx.dtype)
            pieces.append(g)
        return xp.concatenate(pieces, axis=ctx.dim)


def _split(input, dim, sizes):
    return Split.apply(input, dim=dim, sizes=sizes)


def split(tensor, split_size_or_sections, dim=0):
    """Split along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the listed sizes.

    Returns a tuple of views.

    Example:
        >>> [p.shape[0] for p in lamina.zeros(5).split(2)]
        [2, 2, 1]
    """
    _check_tensor(tensor, "split", "tensor")
    shape = tensor._data.shape
    if not shape:
        raise DimError("split(): a 0-d tensor cannot be split (it has no dimension)")
    d = canonical_dim(dim, len(shape), "split")
    n = shape[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = _ints(split_size_or_sections, (), "split", "split_size_or_sections")
        if any(s < 0 for s in sizes):
            raise ArgumentError(f"split(): split sizes must be non-negative, got {list(sizes)}")
        if sum(sizes) != n:
            raise ShapeError(f"split(): split sizes must sum exactly to {n} (the size of dimension {d} of the "
                             f"input of shape {list(shape)}), but got {list(sizes)} which sum to {sum(sizes)}")
    else:
        size = _int(split_size_or_sections, "split", "split_size_or_sections")
        if size < 0 or (size == 0 and n != 0):
            raise ArgumentError(f"split(): split_size must be positive (or 0 for an empty dimension), got {size} "
                                f"for dimension {d} of size {n}")
        if n == 0:
            sizes = (0,)
        else:
            sizes = (size,) * (n // size) + ((n % size,) if n % size else ())
    return _split(tensor, d, sizes)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of equal size ``ceil(n / chunks)`` (the last smaller; maybe fewer pieces).

    Example:
        >>> [p.shape[0] for p in lamina.zeros(5).chunk(3)]
        [2, 2, 1]
    """
    _check_tensor(input, "chunk")
    chunks = _int(chunks, "chunk", "chunks")
    if chunks <= 0:
        raise ArgumentError(f"chunk(): argument 'chunks' must be greater than 0, got {chunks}")
    shape = input._data.shape
    if not shape:
        raise DimError("chunk(): a 0-d tensor cannot be chunked (it has no dimension)")
    d = canonical_dim(dim, len(shape), "chunk")
    n = shape[d]
    if n == 0:
        return _split(input, d, (0,) * chunks)
    size = -(-n // chunks)
    return _split(input, d, (size,) * (n // size) + ((n % size,) if n % size else ()))


class Unbind(Op):
    """Every slice along ``dim``, with that dim removed (views). Adjoint: stack the gradients."""
    _view = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim, ctx.dtype = dim, x.dtype
        ctx.piece = x.shape[:dim] + x.shape[dim + 1:]
        lead = (slice(None),) * dim
        return tuple(x[lead + (i, Ellipsis)] for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        zero = None
        parts = []
        for g in grads:
            if g is None:
                if zero is None:
                    zero = xp.zeros(ctx.piece, ctx.dtype)
                g = zero
            parts.append(g)
        return xp.stack(parts, axis=ctx.dim)


def unbind(input, dim=0):
    """A tuple of all slices along ``dim``, each without that dim (views).

    Example:
        >>> [r.shape for r in lamina.zeros(2, 3).unbind(1)]
        [lamina.Size([2]), lamina.Size([2]), lamina.Size([2])]
    """
    _check_tensor(input, "unbind")
    shape = input._data.shape
    if not shape:
        raise DimError(f"unbind(): dimension specified as {dim} but the tensor has no dimensions")
    d = canonical_dim(dim, len(shape), "unbind")
    if shape[d] == 0:
        return ()
    return Unbind.apply(input, dim=d)


class Narrow(Op):
    """``x[..., start:start + length, ...]`` along ``dim`` (a view). Adjoint: pad the gradient with zeros."""
    _view = True

    @staticmethod
    def forward(ctx, x, dim, start, length):
        ctx.key = (slice(None),) * dim + (slice(start, start + length),)
        ctx.in_shape, ctx.dtype = x.shape, x.dtype
        return x[ctx.key]

    @staticmethod
    def backward(ctx, grad):
        g = xp.zeros(ctx.in_shape, ctx.dtype)
        g[ctx.key] = grad
        return g


def narrow(input, dim, start, length):
    """The slice ``start:start + length`` of dim ``dim`` (a view); a negative ``start`` counts from the end.

    Example:
        >>> lamina.arange(5).narrow(0, 1, 3)
        tensor([1, 2, 3])
    """
    _check_tensor(input, "narrow")
    shape = input._data.shape
    if not shape:
        raise DimError("narrow(): cannot be applied to a 0-d tensor")
    d = canonical_dim(dim, len(shape), "narrow")
    start = _int(start, "narrow", "start")
    length = _int(length, "narrow", "length")
    n = shape[d]
    if not -n <= start <= n:
        raise IndexError_(f"narrow(): start {start} out of range for dimension {d} of size {n} (expected to be "
                          f"in range of [{-n}, {n}])")
    if start < 0:
        start += n
    if length < 0:
        raise ArgumentError(f"narrow(): argument 'length' must be non-negative, got {length}")
    if start + length > n:
        raise ArgumentError(f"narrow(): start ({start}) + length ({length}) exceeds dimension {d} of size {n}")
    return Narrow.apply(input, dim=d, start=start, length=length)


# ---- reordering elements ---------------------------------------------------------------------------------

class Flip(Op):
    """Reverse the order along ``dims`` (a copy, as in torch). Adjoint: flip the gradient back."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return xp.flip(x, axis=dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return xp.flip(grad, axis=ctx.dims)


def flip(input, dims, *more):
    """Reverse the order of elements along ``dims`` (a tuple or separate ints).

    Example:
        >>> lamina.tensor([1, 2, 3]).flip(0)
        tensor([3, 2, 1])
    """
    _check_tensor(input, "flip")
    dims = _ints(dims, more, "flip", "dims")
    return Flip.apply(input, dims=canonical_dims(dims, input._data.ndim, "flip"))


class Roll(Op):
    """Shift elements cyclically by ``shifts`` along ``dims`` (None: the flattened tensor). Adjoint: roll back."""

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return xp.roll(grad, back, axis=ctx.dims)


def roll(input, shifts, dims=None):
    """Roll elements along ``dims`` by ``shifts`` (ints or equal-length tuples); without dims, the flattened
    tensor is rolled and the shape restored.

    Example:
        >>> lamina.tensor([1, 2, 3]).roll(1)
        tensor([3, 1, 2])
    """
    _check_tensor(input, "roll")
    ndim = input._data.ndim
    shifts = _ints(shifts, (), "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise ArgumentError(f"roll(): without dims, shifts must be a single int, got {list(shifts)}")
        return Roll.apply(input, shifts=shifts[0], dims=None)
    dims = _ints(dims, (), "roll", "dims")
    if len(shifts) != len(dims) or not dims:
        raise ArgumentError(f"roll(): shifts and dims must align, got shifts {list(shifts)} and dims {list(dims)}")
    if not ndim:    # as torch: a 0-d tensor rolls only without dims
        raise DimError(f"roll(): dimension specified as {dims[0]} but the tensor has no dimensions; call roll() "
                       "without dims")
    dims = tuple(canonical_dim(d, ndim, "roll") for d in dims)
    return Roll.apply(input, shifts=shifts, dims=dims)


class Tril(Op):
    """Keep the lower (``upper=False``) or upper triangle of the last two dims relative to ``diagonal``.

    Adjoint: the same mask applied to the gradient.
    """

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        return (xp.triu if upper else xp.tril)(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return (xp.triu if ctx.upper else xp.tril)(grad, ctx.diagonal)


def _tri(input, diagonal, upper, op):
    _check_tensor(input, op)
    if input._data.ndim < 2:
        raise ShapeError(f"{op}(): input tensor must have at least 2 dimensions, got shape "
                         f"{list(input._data.shape)}")
    return Tril.apply(input, diagonal=_int(diagonal, op, "diagonal"), upper=upper)


def tril(input, diagonal=0):
    """Zero the elements above diagonal ``diagonal`` of the last two dims (0: main, >0: above, <0: below).

    Example:
        >>> lamina.ones(2, 2).tril()
        tensor([[1., 0.],
                [1., 1.]])
    """
    return _tri(input, diagonal, False, "tril")


def triu(input, diagonal=0):
    """Zero the elements below diagonal ``diagonal`` of the last two dims."""
    return _tri(input, diagonal, True, "triu")


class Contiguous(Op):
    """A C-ordered copy of a non-contiguous input. Adjoint: identity."""

    @staticmethod
    def forward(ctx, x):
        return xp.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def contiguous(input, memory_format=None):
    """``input`` itself if its memory is C-ordered, else a C-ordered copy."""
    _check_tensor(input, "contiguous")
    if input._data.flags.c_contiguous:
        return input
    return Contiguous.apply(input)

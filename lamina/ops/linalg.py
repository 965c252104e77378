"""Linear algebra: matmul (and its strict forms mm, bmm, mv, dot, vdot), addmm/baddbmm, outer, einsum, tensordot.

Every product is one ``xp.matmul`` or ``xp.einsum`` call (BLAS underneath); the backward passes are products too.
For ``C = A @ B``: dA = dC @ B^T and dB = A^T @ dC, summed over broadcast batch dimensions.
"""
from lamina.autograd import Op
from lamina.backend import xp
from lamina.dtypes import promote_types
from lamina.errors import ArgumentError, ShapeError, DTypeError
from lamina.tensor import Tensor
from lamina.ops._util import canonical_dim, unbroadcast


def _arr(t, op, name):
    if not isinstance(t, Tensor):
        raise ArgumentError(f"{op}(): argument '{name}' must be a Tensor, got {type(t).__name__}")
    return t._data


def _same_dtype(op, *arrays):
    first = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != first:
            raise DTypeError(f"{op}(): expected all operands to have the same dtype, got "
                             f"{', '.join(str(b.dtype) for b in arrays)}")
    if first.kind == "b":
        raise DTypeError(f"{op}(): bool operands are not supported (as in torch), got dtype bool")


def _swap(a):
    return xp.swapaxes(a, -1, -2)


def _shape(a):
    return tuple(a.shape)


# ---- matmul -----------------------------------------------------------------------------------------------

def _matmul_grads(grad, a, b, need_a, need_b):
    """Gradients of ``a @ b`` (torch/NumPy matmul semantics incl. 1-D promotion and batch broadcasting)."""
    if a.ndim == 1 and b.ndim == 1:                         # dot product: out is 0-d
        return (grad * b if need_a else None), (grad * a if need_b else None)
    a2 = a[None, :] if a.ndim == 1 else a                   # a 1-D left operand is a row vector
    b2 = b[:, None] if b.ndim == 1 else b                   # a 1-D right operand is a column vector
    g = grad
    if a.ndim == 1:
        g = xp.expand_dims(g, -2)
    if b.ndim == 1:
        g = xp.expand_dims(g, -1)
    ga = gb = None
    if need_a:
        if b2.ndim == 2 and g.ndim > 2 and a2.ndim == g.ndim:
            ga = g @ b2.T                                    # common Linear case: no batch sum needed
        else:
            ga = unbroadcast(g @ _swap(b2), a2.shape)
        ga = ga.reshape(a.shape)
    if need_b:
        if b2.ndim == 2 and a2.ndim > 2:
            # sum over the batch of a_i^T g_i == one GEMM over the flattened batch
            k, n = a2.shape[-1], g.shape[-1]
            gb = a2.reshape(-1, k).T @ g.reshape(-1, n)
        else:
            gb = unbroadcast(_swap(a2) @ g, b2.shape)
        gb = gb.reshape(b.shape)
    return ga, gb


class Matmul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _matmul_grads(grad, a, b, ctx.needs_input_grad[0], ctx.needs_input_grad[1])


def _check_matmul(op, a, b):
    """Validate shapes for matmul semantics; raises ShapeError naming both shapes."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"{op}(): both arguments need to be at least 1-D, got {a.ndim}-D and {b.ndim}-D "
                         f"(shapes {_shape(a)} and {_shape(b)})")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"{op}(): shapes {_shape(a)} and {_shape(b)} cannot be multiplied ({k_a} != {k_b})")
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    if batch_a and batch_b:
        try:
            xp.broadcast_shapes(batch_a, batch_b)
        except ValueError:
            raise ShapeError(f"{op}(): batch dimensions {tuple(batch_a)} and {tuple(batch_b)} of shapes "
                             f"{_shape(a)} and {_shape(b)} cannot be broadcast") from None


def matmul(input, other):
    """Matrix product with torch's rules: 1-D x 1-D is a dot product, a 1-D operand is promoted to a matrix and
    the added dimension removed, and batch dimensions broadcast.

    Example:
        >>> lamina.matmul(lamina.ones(2, 3), lamina.ones(3)).shape
        lamina.Size([2])
    """
    a, b = _arr(input, "matmul", "input"), _arr(other, "matmul", "other")
    _same_dtype("matmul", a, b)
    _check_matmul("matmul", a, b)
    return Matmul.apply(input, other)


def mm(input, mat2):
    """Product of two matrices (2-D only; no broadcasting)."""
    a, b = _arr(input, "mm", "input"), _arr(mat2, "mm", "mat2")
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm(): expected two 2-D matrices, got shapes {_shape(a)} and {_shape(b)}")
    _same_dtype("mm", a, b)
    _check_matmul("mm", a, b)
    return Matmul.apply(input, mat2)


def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors ``(b, n, m) @ (b, m, p) -> (b, n, p)``; no broadcasting."""
    a, b = _arr(input, "bmm", "input"), _arr(mat2, "bmm", "mat2")
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm(): expected two 3-D tensors, got shapes {_shape(a)} and {_shape(b)}")
    _same_dtype("bmm", a, b)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm(): batch sizes of shapes {_shape(a)} and {_shape(b)} differ "
                         f"({a.shape[0]} != {b.shape[0]})")
    _check_matmul("bmm", a, b)
    return Matmul.apply(input, mat2)


def mv(input, vec):
    """Matrix-vector product ``(n, m) @ (m,) -> (n,)``."""
    a, b = _arr(input, "mv", "input"), _arr(vec, "mv", "vec")
    if a.ndim != 2 or b.ndim != 1:
        raise ShapeError(f"mv(): expected a 2-D matrix and a 1-D vector, got shapes {_shape(a)} and {_shape(b)}")
    _same_dtype("mv", a, b)
    _check_matmul("mv", a, b)
    return Matmul.apply(input, vec)


def _dot(op, input, other):
    a, b = _arr(input, op, "input"), _arr(other, op, "other")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"{op}(): expected two 1-D tensors, got {a.ndim}-D and {b.ndim}-D "
                         f"(shapes {_shape(a)} and {_shape(b)})")
    if a.shape != b.shape:
        raise ShapeError(f"{op}(): expected vectors of the same length, got shapes {_shape(a)} and {_shape(b)}")
    _same_dtype(op, a, b)
    return Matmul.apply(input, other)


def dot(input, other):
    """Inner product of two 1-D tensors of equal length and dtype."""
    return _dot("dot", input, other)


def vdot(input, other):
    """Inner product of two 1-D tensors (the first is conjugated; Lamina's tensors are real, so this is dot)."""
    return _dot("vdot", input, other)


# ---- addmm, baddbmm ---------------------------------------------------------------------------------------

class AddMatmul(Op):
    # Fused: beta * input + alpha * (m1 @ m2) in one node, as a Linear layer's forward does it.
    @staticmethod
    def forward(ctx, c, a, b, beta, alpha):
        ctx.save_for_backward(a, b)
        ctx.c_shape, ctx.beta, ctx.alpha = c.shape, beta, alpha
        out = xp.matmul(a, b)
        if alpha != 1:
            out = (out * alpha).astype(out.dtype, copy=False)
        if beta != 0:                                       # beta == 0 ignores input entirely (nan included)
            out = out + (c if beta == 1 else (c * beta).astype(c.dtype, copy=False))
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_c, need_a, need_b = ctx.needs_input_grad[:3]
        gc = unbroadcast(grad * ctx.beta, ctx.c_shape) if need_c else None
        ga, gb = _matmul_grads(grad * ctx.alpha if ctx.alpha != 1 else grad, a, b, need_a, need_b)
        return gc, ga, gb


def _add_matmul(op, input, m1, m2, beta, alpha, ndim):
    c = _arr(input, op, "input")
    a, b = _arr(m1, op, "mat1" if ndim == 2 else "batch1"), _arr(m2, op, "mat2" if ndim == 2 else "batch2")
    if a.ndim != ndim or b.ndim != ndim:
        raise ShapeError(f"{op}(): expected two {ndim}-D tensors, got shapes {_shape(a)} and {_shape(b)}")
    _same_dtype(op, c, a, b)
    if ndim == 3 and a.shape[0] != b.shape[0]:
        raise ShapeError(f"{op}(): batch sizes of shapes {_shape(a)} and {_shape(b)} differ "
                         f"({a.shape[0]} != {b.shape[0]})")
    _check_matmul(op, a, b)
    out_shape = a.shape[:-1] + b.shape[-1:]
    try:
        if xp.broadcast_shapes(c.shape, out_shape) != out_shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"{op}(): input of shape {_shape(c)} cannot be broadcast to the product's shape "
                         f"{tuple(out_shape)}") from None
    for name, v in (("beta", beta), ("alpha", alpha)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ArgumentError(f"{op}(): argument '{name}' must be a number, got {v!r}")
    return AddMatmul.apply(input, m1, m2, beta=beta, alpha=alpha)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-D mat1, mat2; input broadcasts to the product's shape."""
    return _add_matmul("addmm", input, mat1, mat2, beta, alpha, 2)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``; input broadcasts to the product's shape."""
    return _add_matmul("baddbmm", input, batch1, batch2, beta, alpha, 3)


# ---- outer ------------------------------------------------------------------------------------------------

class Outer(Op):
    @staticmethod
    def forward(ctx, a, b, dtype):
        ctx.dtypes = (a.dtype, b.dtype)
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        ctx.save_for_backward(a, b)
        return a[:, None] * b[None, :]

    @staticmethod
    def backward(ctx, grad):
        # out_ij = a_i b_j: da = grad @ b, db = grad^T @ a.
        a, b = ctx.saved_tensors
        ga = (grad @ b).astype(ctx.dtypes[0], copy=False) if ctx.needs_input_grad[0] else None
        gb = (a @ grad).astype(ctx.dtypes[1], copy=False) if ctx.needs_input_grad[1] else None
        return ga, gb


def outer(input, vec2):
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]`` (dtypes promote as in torch)."""
    a, b = _arr(input, "outer", "input"), _arr(vec2, "outer", "vec2")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer(): expected two 1-D tensors, got shapes {_shape(a)} and {_shape(b)}")
    return Outer.apply(input, vec2, dtype=promote_types(a.dtype, b.dtype))


ger = outer


# ---- einsum -----------------------------------------------------------------------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _parse_term(term, index, op="einsum"):
    """A term's subscripts as a list of letters with '...' kept as one item."""
    out, i = [], 0
    while i < len(term):
        ch = term[i]
        if ch == ".":
            if term[i:i + 3] != "..." or "..." in out:
                raise ArgumentError(f"{op}(): found '.' for operand {index} that is not part of one ellipsis "
                                    f"'...', in {term!r}")
            out.append("...")
            i += 3
            continue
        if ch not in _LETTERS:
            raise ArgumentError(f"{op}(): invalid subscript {ch!r} in {term!r}; subscripts must be in [a-zA-Z]")
        out.append(ch)
        i += 1
    return out


def _einsum_plan(equation, arrays):
    """Resolve an equation against operand shapes.

    Returns (input subscripts per operand as strings with '...' expanded into fresh letters, output subscripts,
    the size of every letter). Size-1 dimensions broadcast against larger ones, as in torch.
    """
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ArgumentError(f"einsum(): equation {equation!r} has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(arrays):
        raise ArgumentError(f"einsum(): fewer operands were provided ({len(arrays)}) than specified in the "
                            f"equation {equation!r} ({len(terms)})")
    if len(terms) < len(arrays):
        raise ArgumentError(f"einsum(): more operands were provided ({len(arrays)}) than specified in the "
                            f"equation {equation!r} ({len(terms)})")
    parsed = [_parse_term(t, i) for i, t in enumerate(terms)]
    used = set(ch for p in parsed for ch in p if ch != "...")
    n_ell = 0
    for i, (p, a) in enumerate(zip(parsed, arrays)):
        n_letters = len(p) - ("..." in p)
        if ("..." in p and a.ndim < n_letters) or ("..." not in p and a.ndim != n_letters):
            raise ShapeError(f"einsum(): the number of subscripts in the equation ({n_letters}) does not match the "
                             f"number of dimensions ({a.ndim}) for operand {i} (shape {_shape(a)})"
                             + ("" if "..." in p else " and no ellipsis was given"))
        if "..." in p:
            n_ell = max(n_ell, a.ndim - n_letters)
    fresh = [ch for ch in _LETTERS if ch not in used]
    if n_ell > len(fresh):
        raise ArgumentError(f"einsum(): too many dimensions: the equation {equation!r} needs more than 52 subscripts")
    ell = "".join(fresh[:n_ell])

    subs, sizes = [], {}
    for i, (p, a) in enumerate(zip(parsed, arrays)):
        s = ""
        for item in p:
            s += ell[n_ell - (a.ndim - len(p) + 1):] if item == "..." else item
        for axis, ch in enumerate(s):
            n, first = a.shape[axis], s.index(ch)
            if first < axis and a.shape[first] != n:
                raise ShapeError(f"einsum(): subscript {ch} is repeated for operand {i} but the sizes don't match, "
                                 f"{a.shape[first]} != {n}")
            seen = sizes.get(ch)
            if seen is None or seen == 1:
                sizes[ch] = n
            elif n != 1 and n != seen:
                what = f"subscript {ch}" if ch not in ell else "a dimension covered by the ellipsis"
                raise ShapeError(f"einsum(): {what} has size {n} for operand {i} (shape {_shape(a)}) which does "
                                 f"not broadcast with previously seen size {seen}")
        subs.append(s)

    if arrow:
        out = "".join(ell if item == "..." else item for item in _parse_term(rhs, "output"))
        for ch in out:
            if ch not in sizes:
                raise ArgumentError(f"einsum(): output subscript {ch} does not appear in the equation for any "
                                    f"input operand")
            if out.count(ch) > 1:
                raise ArgumentError(f"einsum(): output subscript {ch} appears more than once in the output")
    else:                                                   # implicit output: ellipsis, then single letters sorted
        counts = {}
        for s in subs:
            for ch in s:
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + "".join(sorted(ch for ch, c in counts.items() if c == 1 and ch not in ell))
    return subs, out, sizes


def _einsum_operands(arrays, subs, sizes, dtype):
    """Operands cast to the common dtype, with size-1 dimensions broadcast to their subscript's size."""
    out = []
    for a, s in zip(arrays, subs):
        a = a.astype(dtype, copy=False)
        full = tuple(sizes[ch] for ch in s)
        out.append(xp.broadcast_to(a, full) if a.shape != full else a)
    return out


class Einsum(Op):
    @staticmethod
    def forward(ctx, *arrays, subs, out, sizes, dtype):
        ctx.save_for_backward(*arrays)                      # the inputs themselves, so they are version-checked
        ctx.subs, ctx.out, ctx.sizes, ctx.dtype = subs, out, sizes, dtype
        expanded = _einsum_operands(arrays, subs, sizes, dtype)
        result = xp.einsum(",".join(subs) + "->" + out, *expanded, optimize=len(arrays) > 1)
        if len(arrays) == 1 and xp.may_share_memory(result, arrays[0]):
            result = result.copy()                          # a one-operand einsum may return a view
        return result

    @staticmethod
    def backward(ctx, grad):
        inputs = ctx.saved_tensors
        expanded = _einsum_operands(inputs, ctx.subs, ctx.sizes, ctx.dtype)
        grads = []
        for i, (s, a) in enumerate(zip(ctx.subs, inputs)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            g = _einsum_operand_grad(grad, i, s, expanded, ctx)
            # undo the broadcasting of size-1 dimensions
            axes = tuple(k for k, n in enumerate(a.shape) if n == 1 and g.shape[k] != 1)
            if axes:
                g = xp.sum(g, axis=axes, keepdims=True)
            grads.append(g.astype(a.dtype, copy=False))
        return tuple(grads)


def _einsum_operand_grad(grad, i, s, arrays, ctx):
    """d out / d operand i: contract the output gradient with every other operand over the other subscripts."""
    others = [(ctx.subs[j], arrays[j]) for j in range(len(arrays)) if j != i]
    unique = "".join(dict.fromkeys(s))
    available = set(ctx.out).union(*(set(sj) for sj, _ in others))
    target = "".join(ch for ch in unique if ch in available)
    eq = ",".join([ctx.out] + [sj for sj, _ in others]) + "->" + target
    g = xp.einsum(eq, grad, *(a for _, a in others), optimize=len(others) > 0)
    # subscripts summed only inside this operand: the gradient is constant along them
    full = tuple(ctx.sizes[ch] for ch in unique)
    if target != unique:
        g = xp.broadcast_to(g.reshape(tuple(ctx.sizes[ch] if ch in available else 1 for ch in unique)), full)
    if len(unique) != len(s):                               # repeated subscript: write onto the diagonal
        z = xp.zeros(tuple(ctx.sizes[ch] for ch in s), dtype=g.dtype)
        strides = tuple(sum(z.strides[k] for k, c in enumerate(s) if c == ch) for ch in unique)
        xp.lib.stride_tricks.as_strided(z, full, strides)[...] = g
        g = z
    return g


def einsum(equation, *operands):
    """Einstein summation, as torch.einsum: ``einsum('ij,jk->ik', a, b)`` or ``einsum(eq, [a, b])``.

    Subscripts are letters a-z, A-Z; '...' stands for broadcast leading dimensions; without '->' the output
    holds the ellipsis dimensions then the letters that appear once, in alphabetical order. Operand dtypes
    promote as in torch; size-1 dimensions broadcast.

    Example:
        >>> lamina.einsum('bij,bjk->bik', lamina.ones(2, 3, 4), lamina.ones(2, 4, 5)).shape
        lamina.Size([2, 3, 5])
    """
    if not isinstance(equation, str):
        raise ArgumentError(f"einsum(): argument 'equation' must be a str, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError("einsum(): must provide at least one operand, got none")
    arrays = [_arr(t, "einsum", f"operands[{i}]") for i, t in enumerate(operands)]
    subs, out, sizes = _einsum_plan(equation, arrays)
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        dtype = promote_types(dtype, a.dtype)
    summed = set("".join(subs)) - set(out)
    if summed and dtype.kind in "biu":
        # As torch: one operand is reduced by sum (integers and bools count in int64); several are contracted
        # by a batched matmul, which keeps an integer dtype and has no bool version.
        if len(arrays) == 1:
            dtype = xp.dtype(xp.int64)
        elif dtype.kind == "b":
            raise DTypeError(f"einsum(): summing over {', '.join(sorted(summed))} in '{equation}' multiplies bool "
                             "operands, which is not supported (as in torch); cast them to an integer or float dtype")
    return Einsum.apply(*operands, subs=subs, out=out, sizes=sizes, dtype=dtype)


# ---- tensordot --------------------------------------------------------------------------------------------

def tensordot(a, b, dims=2, out=None):
    """Contract the last ``dims`` dimensions of ``a`` with the first ``dims`` of ``b``, or the dimension lists
    ``dims=(dims_a, dims_b)``; built on einsum, which supplies the gradient."""
    if out is not None:
        raise ArgumentError("tensordot(): argument 'out' is not supported by Lamina, got a value for it")
    x, y = _arr(a, "tensordot", "a"), _arr(b, "tensordot", "b")
    if x.dtype != y.dtype:
        raise DTypeError(f"tensordot(): both inputs should have the same dtype, got {x.dtype} and {y.dtype}")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int) and not isinstance(dims, bool):
        if dims < 0:
            raise ArgumentError(f"tensordot(): argument 'dims' must be >= 0, got {dims}")
        if dims > x.ndim or dims > y.ndim:
            raise ArgumentError(f"tensordot(): argument 'dims' must be <= both ndims ({x.ndim} and {y.ndim}), "
                                f"got {dims}")
        da, db = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    elif isinstance(dims, (list, tuple)) and len(dims) == 2:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise ArgumentError(f"tensordot(): both dimension lists should have the same length, got {dims!r}")
    else:
        raise ArgumentError(f"tensordot(): argument 'dims' must be an int or a pair of dimension lists, got {dims!r}")
    da = [canonical_dim(d, x.ndim, "tensordot") for d in da]
    db = [canonical_dim(d, y.ndim, "tensordot") for d in db]
    if len(set(da)) != len(da) or len(set(db)) != len(db):
        raise ArgumentError(f"tensordot(): a dimension appears twice in dims {dims!r}")
    for p, q in zip(da, db):
        if x.shape[p] != y.shape[q]:
            raise ShapeError(f"tensordot(): contracted dimensions need to match, but a (shape {_shape(x)}) has size "
                             f"{x.shape[p]} in dim {p} and b (shape {_shape(y)}) has size {y.shape[q]} in dim {q}")
    if x.ndim + y.ndim - len(da) > len(_LETTERS):
        raise ArgumentError(f"tensordot(): too many dimensions ({x.ndim} + {y.ndim})")
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(x.ndim)]
    sb = [next(letters) for _ in range(y.ndim)]
    for p, q in zip(da, db):
        sb[q] = sa[p]
    out_subs = [c for k, c in enumerate(sa) if k not in da] + [c for k, c in enumerate(sb) if k not in db]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out_subs), a, b)

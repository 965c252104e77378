"""Network operators: linear maps, softmax, dropout, embedding, norms and similarities.

These are the operators layers are made of. Each one that a composition of elementwise ops could express is fused
here anyway, either for numerical stability (softmax, log_softmax, attention) or to keep the backward to one pass
and a few GEMMs (linear, bilinear, embedding). The normalization layers' operators live in ``normalization.py``,
attention in ``attention.py``.
"""
import math
import warnings

from lamina import dtypes as _dt
from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, IndexError_, ShapeError
from lamina.ops._util import as_tensor_arg, canonical_dim, canonical_dims, unbroadcast
from lamina.random import default_generator
from lamina.tensor import Tensor


# ---- shared checks ------------------------------------------------------------------------------------------

def _shape(t):
    return tuple(t._data.shape)


def _require_float(op, name, t):
    if t._data.dtype.kind != "f":
        raise DTypeError(f"{op}(): argument '{name}' must be a floating point tensor, got {t.dtype}")


def _require_same_dtype(op, ref_name, ref, name, t):
    if t is not None and t._data.dtype != ref._data.dtype:
        raise DTypeError(f"{op}(): argument '{name}' must have the dtype of '{ref_name}' ({ref.dtype}), "
                         f"got {t.dtype}")


def _require_positive_eps(op, eps):
    if not eps > 0:
        raise ArgumentError(f"{op}(): argument 'eps' must be positive, got {eps}")


def _broadcast_shape(op, name_a, shape_a, name_b, shape_b):
    try:
        return tuple(xp.broadcast_shapes(shape_a, shape_b))
    except ValueError:
        raise ShapeError(f"{op}(): {name_a} of shape {shape_a} and {name_b} of shape {shape_b} are not "
                         "broadcastable") from None


def _optional(t):
    return None if t is None else as_tensor_arg(t)


# ---- linear, bilinear ---------------------------------------------------------------------------------------

def _linear_2d(x, weight):
    # (*, in) -> (rows, in); a 1-d weight is one output row
    k = x.shape[-1]
    return x.reshape(math.prod(x.shape[:-1]), k), weight.reshape(weight.shape[0] if weight.ndim == 2 else 1, k)


class Linear(Op):
    """y = x W^T + b, with all leading dims of x flattened into one GEMM (forward and each gradient)."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.ndim == 2 and weight.ndim == 2:  # the usual (batch, in) input needs no reshapes
            out = xp.dot(x, weight.T)   # dot, not @: ~0.5 us less per call (batch-1 latency)
        else:
            x2, w2 = _linear_2d(x, weight)
            out = (x2 @ w2.T).reshape(x.shape[:-1] + weight.shape[:-1])
        if bias is not None:
            out += bias
        ctx.save_for_backward(x, weight)
        ctx.bias_shape = None if bias is None else bias.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        x2, w2 = _linear_2d(x, weight)
        g2 = grad.reshape(x2.shape[0], w2.shape[0])
        gx = (g2 @ w2).reshape(x.shape) if ctx.needs_input_grad[0] else None
        gw = (g2.T @ x2).reshape(weight.shape) if ctx.needs_input_grad[1] else None
        if ctx.bias_shape is None:
            return gx, gw
        gb = unbroadcast(grad, ctx.bias_shape) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def _is_plain_linear(input, weight, bias):
    """True for the common call that needs none of linear()'s conversions or checks: floating Tensors of one
    dtype, a 2-d weight matching the input's last dim, no bias or a 1-d bias of out_features. For a batch-1
    layer the general path's checks cost about as much as the GEMM (docs/performance.md)."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        return False
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1] or x.dtype != w.dtype or x.dtype.kind != "f":
        return False
    return bias is None or (isinstance(bias, Tensor) and bias._data.dtype == x.dtype
                            and bias._data.shape == (w.shape[0],))


def linear(input, weight, bias=None):
    """Apply the affine map ``y = input @ weight.T + bias``.

    Args:
        input: tensor of shape ``(*, in_features)``.
        weight: tensor of shape ``(out_features, in_features)`` (or ``(in_features,)``, which drops the last dim).
        bias: optional tensor broadcastable to the output shape ``(*, out_features)``.

    Returns:
        Tensor of shape ``(*, out_features)``.

    Example:
        >>> y = lamina.nn.functional.linear(lamina.randn(8, 3), lamina.randn(4, 3), lamina.zeros(4))
    """
    if _is_plain_linear(input, weight, bias):
        return Linear.apply(input, weight, bias) if bias is not None else Linear.apply(input, weight)
    input, weight, bias = as_tensor_arg(input), as_tensor_arg(weight), _optional(bias)
    x, w = input._data, weight._data
    if x.ndim == 0 or w.ndim == 0:
        raise ShapeError(f"linear(): input and weight need at least 1 dim, got input of shape {x.shape} and "
                         f"weight of shape {w.shape}")
    if w.ndim > 2:
        raise ShapeError(f"linear(): weight must be 1-d or 2-d (out_features, in_features), got shape {w.shape}")
    if x.shape[-1] != w.shape[-1]:
        raise ShapeError(f"linear(): input of shape {x.shape} and weight of shape {w.shape} cannot be multiplied: "
                         f"input's last dim {x.shape[-1]} != in_features {w.shape[-1]}")
    if x.dtype.kind == "b":
        raise DTypeError(f"linear(): argument 'input' must be a number tensor, got {input.dtype}")
    _require_same_dtype("linear", "input", input, "weight", weight)
    if bias is None:
        return Linear.apply(input, weight)
    _require_same_dtype("linear", "input", input, "bias", bias)
    out_shape = x.shape[:-1] + w.shape[:-1]
    if _broadcast_shape("linear", "bias", _shape(bias), "output", out_shape) != out_shape:
        raise ShapeError(f"linear(): bias of shape {_shape(bias)} does not broadcast to the output shape "
                         f"{out_shape}")
    return Linear.apply(input, weight, bias)


class Bilinear(Op):
    """y_o = x1^T A_o x2 + b_o as one GEMM of the flattened outer products x1 x2^T against A."""

    @staticmethod
    def forward(ctx, x1, x2, weight, bias=None):
        n_out, n1, n2 = weight.shape
        rows = math.prod(x1.shape[:-1])
        a, b = x1.reshape(rows, n1), x2.reshape(rows, n2)
        outer = (a[:, :, None] * b[:, None, :]).reshape(rows, n1 * n2)
        out = outer @ weight.reshape(n_out, n1 * n2).T
        if bias is not None:
            out += bias
        ctx.save_for_backward(x1, x2, weight)
        ctx.has_bias = bias is not None
        return out.reshape(x1.shape[:-1] + (n_out,))

    @staticmethod
    def backward(ctx, grad):
        x1, x2, weight = ctx.saved_tensors
        n_out, n1, n2 = weight.shape
        rows = math.prod(x1.shape[:-1])
        a, b = x1.reshape(rows, n1), x2.reshape(rows, n2)
        g = grad.reshape(rows, n_out)
        need = ctx.needs_input_grad
        gx1 = gx2 = gw = gb = None
        if need[0] or need[1]:
            # dL/d(x1 x2^T) per row, then contract with the other input
            gouter = (g @ weight.reshape(n_out, n1 * n2)).reshape(rows, n1, n2)
            if need[0]:
                gx1 = (gouter @ b[:, :, None]).reshape(x1.shape)
            if need[1]:
                gx2 = (a[:, None, :] @ gouter).reshape(x2.shape)
        if need[2]:
            outer = (a[:, :, None] * b[:, None, :]).reshape(rows, n1 * n2)
            gw = (g.T @ outer).reshape(weight.shape)
        if not ctx.has_bias:
            return gx1, gx2, gw
        if need[3]:
            gb = g.sum(0)
        return gx1, gx2, gw, gb


def bilinear(input1, input2, weight, bias=None):
    """Apply the bilinear map ``y = input1^T A input2 + b``.

    Args:
        input1: tensor of shape ``(*, in1_features)``.
        input2: tensor of shape ``(*, in2_features)`` with the same leading dims as ``input1``.
        weight: tensor of shape ``(out_features, in1_features, in2_features)``.
        bias: optional tensor of shape ``(out_features,)``.

    Returns:
        Tensor of shape ``(*, out_features)``.
    """
    input1, input2, weight, bias = as_tensor_arg(input1), as_tensor_arg(input2), as_tensor_arg(weight), \
        _optional(bias)
    s1, s2, sw = _shape(input1), _shape(input2), _shape(weight)
    if len(sw) != 3:
        raise ShapeError(f"bilinear(): weight must be 3-d (out_features, in1_features, in2_features), got shape {sw}")
    if len(s1) == 0 or len(s2) == 0:
        raise ShapeError(f"bilinear(): inputs need at least 1 dim, got shapes {s1} and {s2}")
    if s1[:-1] != s2[:-1]:
        raise ShapeError(f"bilinear(): input1 of shape {s1} and input2 of shape {s2} must have the same batch "
                         "dims")
    if s1[-1] != sw[1]:
        raise ShapeError(f"bilinear(): input1's last dim {s1[-1]} must equal weight.shape[1] = {sw[1]} "
                         f"(input1 of shape {s1}, weight of shape {sw})")
    if s2[-1] != sw[2]:
        raise ShapeError(f"bilinear(): input2's last dim {s2[-1]} must equal weight.shape[2] = {sw[2]} "
                         f"(input2 of shape {s2}, weight of shape {sw})")
    _require_float("bilinear", "input1", input1)
    for name, t in (("input2", input2), ("weight", weight), ("bias", bias)):
        _require_same_dtype("bilinear", "input1", input1, name, t)
    if bias is None:
        return Bilinear.apply(input1, input2, weight)
    if _shape(bias) != (sw[0],):
        raise ShapeError(f"bilinear(): bias must have shape ({sw[0]},) to match weight of shape {sw}, got "
                         f"{_shape(bias)}")
    return Bilinear.apply(input1, input2, weight, bias)


# ---- softmax family -----------------------------------------------------------------------------------------

def _as_1d(x):
    # softmax over the only dim of a 0-d tensor: work on a 1-element view
    return x.reshape(1) if x.ndim == 0 else x


class Softmax(Op):
    """softmax(x) = exp(x - max) / sum(exp(x - max)); fused so that any magnitude is safe, with the backward
    y * (g - sum(g * y)) computed from the output alone. ``negate`` gives softmin = softmax(-x)."""

    @staticmethod
    def forward(ctx, x, dim, dtype=None, negate=False):
        ctx.dim, ctx.negate, ctx.in_dtype = dim, negate, x.dtype
        z = _as_1d(x if dtype is None else x.astype(dtype, copy=False))
        if z.size == 0:
            out = xp.empty(x.shape, z.dtype)
            ctx.save_for_backward(out)
            return out
        if negate:
            z = -z
        e = xp.exp(z - z.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        out = e.reshape(x.shape)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        y, g = _as_1d(out), _as_1d(grad)
        gx = y * (g - (g * y).sum(axis=ctx.dim, keepdims=True))
        if ctx.negate:
            gx = -gx
        return gx.reshape(out.shape).astype(ctx.in_dtype, copy=False)


class LogSoftmax(Op):
    """log_softmax(x) = x - max - log(sum(exp(x - max))); backward g - softmax(x) * sum(g)."""

    @staticmethod
    def forward(ctx, x, dim, dtype=None):
        ctx.dim, ctx.in_dtype = dim, x.dtype
        z = _as_1d(x if dtype is None else x.astype(dtype, copy=False))
        if z.size == 0:
            out = xp.empty(x.shape, z.dtype)
            ctx.save_for_backward(out)
            return out
        shifted = z - z.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        out = shifted.reshape(x.shape)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        y, g = _as_1d(out), _as_1d(grad)
        gx = g - xp.exp(y) * g.sum(axis=ctx.dim, keepdims=True)
        return gx.reshape(out.shape).astype(ctx.in_dtype, copy=False)


def _softmax_args(op, input, dim, stacklevel, dtype):
    """Validate softmax-style arguments; returns (input, canonical dim, numpy dtype or None)."""
    input = as_tensor_arg(input)
    if dtype is None and not isinstance(stacklevel, int):
        # torch.softmax(x, dim, dtype) passes dtype third, where F.softmax has _stacklevel
        dtype, stacklevel = stacklevel, 3
    ndim = input._data.ndim
    if dim is None:
        # torch's legacy implicit dim
        dim = 0 if ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X "
                      "as an argument.", stacklevel=stacklevel)
    dim = canonical_dim(dim, max(ndim, 1), op)
    if dtype is not None:
        dtype = _dt.to_numpy(dtype)
        if dtype.kind != "f":
            raise DTypeError(f"{op}(): argument 'dtype' must be a floating point dtype, got "
                             f"{_dt.from_numpy(dtype)}")
    elif input._data.dtype.kind != "f":
        raise DTypeError(f"{op}(): argument 'input' must be a floating point tensor, got {input.dtype}; "
                         "pass dtype= to compute in a floating type")
    return input, dim, dtype


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along ``dim``: ``exp(x_i) / sum_j exp(x_j)``, stable for inputs of any magnitude.

    Args:
        input: floating point tensor (or any tensor when ``dtype`` is given).
        dim: the dim the outputs sum to 1 along.
        dtype: if given, the input is cast to this dtype first (the gradient comes back in the input's dtype).

    Returns:
        Tensor of input's shape (and ``dtype`` when given). Rows that are all ``-inf`` give NaN, as in torch.

    Example:
        >>> lamina.softmax(lamina.tensor([1000.0, 1001.0, 1002.0]), dim=0)
        tensor([0.0900, 0.2447, 0.6652])
    """
    input, dim, dtype = _softmax_args("softmax", input, dim, _stacklevel, dtype)
    return Softmax.apply(input, dim=dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """Softmin along ``dim``: ``softmax(-input)``. Arguments as in ``softmax``."""
    input, dim, dtype = _softmax_args("softmin", input, dim, _stacklevel, dtype)
    return Softmax.apply(input, dim=dim, dtype=dtype, negate=True)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Logarithm of softmax along ``dim``, computed as ``x - logsumexp(x)`` so it never overflows.

    Args:
        input: floating point tensor (or any tensor when ``dtype`` is given).
        dim: the dim to normalize along.
        dtype: if given, the input is cast to this dtype first.

    Returns:
        Tensor of input's shape.

    Example:
        >>> lamina.log_softmax(lamina.tensor([1e4, 0.0]), dim=0)
        tensor([     0., -10000.])
    """
    input, dim, dtype = _softmax_args("log_softmax", input, dim, _stacklevel, dtype)
    return LogSoftmax.apply(input, dim=dim, dtype=dtype)


# ---- dropout ------------------------------------------------------------------------------------------------

class Dropout(Op):
    """out = x * mult (+ add): the masked rescaling of every dropout variant; the gradient is g * mult."""

    @staticmethod
    def forward(ctx, x, mult, add=None):
        out = x * mult
        if add is not None:
            out += add
        ctx.save_for_backward(mult)
        return out

    @staticmethod
    def backward(ctx, grad):
        (mult,) = ctx.saved_tensors
        return grad * mult, None, None


_SELU_ALPHA = 1.7580993408473766  # -SELU's negative saturation value: alpha * scale


def _check_dropout_p(op, p):
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{op}(): dropout probability has to be between 0 and 1, but got {p}")


def _dropout_noise(input, p, noise_shape, alpha):
    """(mult, add) arrays for one dropout draw: keep each element (or channel) with probability 1 - p."""
    dtype = input._data.dtype
    if p == 1.0:
        return xp.zeros((), dtype), None
    keep = (default_generator.np.random(noise_shape, dtype=xp.float32) >= p).astype(dtype)
    if not alpha:
        return keep * (1.0 / (1.0 - p)), None
    # alpha dropout: dropped units go to SELU's saturation value, then an affine map restores mean 0, var 1
    a = 1.0 / math.sqrt((_SELU_ALPHA * _SELU_ALPHA * p + 1.0) * (1.0 - p))
    return keep * a, (keep - (1.0 - p)) * (_SELU_ALPHA * a)


def _run_dropout(op, input, p, inplace, noise_shape, alpha=False):
    if input._data.dtype.kind != "f":
        raise DTypeError(f"{op}(): argument 'input' must be a floating point tensor, got {input.dtype}")
    if input._data.size == 0:
        return input

    def apply_noise(x):
        mult, add = _dropout_noise(x, p, noise_shape, alpha)
        return Dropout.apply(x, mult, add)

    if inplace:
        apply_noise.__name__ = op
        return input._inplace(apply_noise)
    return apply_noise(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask comes from Lamina's default generator, so ``lamina.manual_seed`` makes it reproducible.

    Args:
        input: floating point tensor.
        p: probability of an element to be zeroed, in [0, 1]; ``p = 1`` gives zeros.
        training: apply dropout only if True (otherwise ``input`` is returned as is).
        inplace: write the result into ``input``.

    Returns:
        Tensor of input's shape.
    """
    input = as_tensor_arg(input)
    _check_dropout_p("dropout", p)
    if not training or p == 0:
        return input
    return _run_dropout("dropout", input, p, inplace, _shape(input))


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation and the result is rescaled
    so that inputs with zero mean and unit variance keep them. Note ``training`` defaults to False, as in torch."""
    input = as_tensor_arg(input)
    _check_dropout_p("alpha_dropout", p)
    if not training or p == 0:
        return input
    return _run_dropout("alpha_dropout", input, p, inplace, _shape(input), alpha=True)


def _feature_noise_shape(op, shape):
    if len(shape) < 2:
        raise ShapeError(f"{op}(): feature dropout needs an input of at least 2 dims (N, C, ...), got shape {shape}")
    return shape[:2] + (1,) * (len(shape) - 2)


def _unbatched_noise_shape(shape):
    # a (C, *spatial) input: one draw per channel
    return shape[:1] + (1,) * (len(shape) - 1)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of a ``(N, C, L)`` or ``(C, L)`` input with probability ``p`` (scaling the rest by
    ``1 / (1 - p)``)."""
    input = as_tensor_arg(input)
    _check_dropout_p("dropout1d", p)
    shape = _shape(input)
    if len(shape) not in (2, 3):
        raise ShapeError(f"dropout1d(): expected a 2-d (C, L) or 3-d (N, C, L) input, got shape {shape}")
    if not training or p == 0:
        return input
    noise = _feature_noise_shape("dropout1d", shape) if len(shape) == 3 else _unbatched_noise_shape(shape)
    return _run_dropout("dropout1d", input, p, inplace, noise)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of a ``(N, C, H, W)`` input with probability ``p`` (scaling the rest by ``1 / (1 - p)``).

    As in torch, a 3-d input is read as ``(N, C, L)`` (with a warning) and other ranks warn and drop along dim 1.
    """
    input = as_tensor_arg(input)
    _check_dropout_p("dropout2d", p)
    shape = _shape(input)
    if len(shape) not in (3, 4):
        warnings.warn(f"dropout2d: Received a {len(shape)}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead.", stacklevel=2)
    if len(shape) == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    if not training or p == 0:
        return input
    return _run_dropout("dropout2d", input, p, inplace, _feature_noise_shape("dropout2d", shape))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of a ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with probability ``p`` (scaling the
    rest by ``1 / (1 - p)``)."""
    input = as_tensor_arg(input)
    _check_dropout_p("dropout3d", p)
    shape = _shape(input)
    if len(shape) not in (4, 5):
        warnings.warn(f"dropout3d: Received a {len(shape)}-D input to dropout3d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead.", stacklevel=2)
    if not training or p == 0:
        return input
    noise = _feature_noise_shape("dropout3d", shape) if len(shape) == 5 else _unbatched_noise_shape(shape)
    return _run_dropout("dropout3d", input, p, inplace, noise)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dim 1) of an ``(N, C, ...)`` input; see ``alpha_dropout``."""
    input = as_tensor_arg(input)
    _check_dropout_p("feature_alpha_dropout", p)
    if not training or p == 0:
        return input
    noise = _feature_noise_shape("feature_alpha_dropout", _shape(input))
    return _run_dropout("feature_alpha_dropout", input, p, inplace, noise, alpha=True)


# ---- embedding ----------------------------------------------------------------------------------------------

class Embedding(Op):
    """out = weight[indices]; the gradient scatter-adds rows of g into a zero matrix of weight's shape."""

    @staticmethod
    def forward(ctx, indices, weight, padding_idx=None, scale_grad_by_freq=False):
        ctx.save_for_backward(indices)
        ctx.weight_shape, ctx.weight_dtype = weight.shape, weight.dtype
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return xp.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        num, dim = ctx.weight_shape
        idx = indices.reshape(-1)
        g = grad.reshape(idx.size, dim)
        if ctx.scale_grad_by_freq:
            counts = xp.bincount(idx, minlength=num).astype(ctx.weight_dtype)
            g = g / counts[idx][:, None]
        gw = xp.zeros(ctx.weight_shape, ctx.weight_dtype)
        if idx.size:
            # sum the rows of g per index: sort once, then one segmented sum (faster than add.at, deterministic)
            order = xp.argsort(idx, kind="stable")
            sorted_idx = idx[order]
            starts = xp.flatnonzero(xp.concatenate((xp.ones(1, bool), sorted_idx[1:] != sorted_idx[:-1])))
            gw[sorted_idx[starts]] = xp.add.reduceat(g[order], starts, axis=0)
        if ctx.padding_idx is not None:
            gw[ctx.padding_idx] = 0.0
        return None, gw


def _embedding_renorm(weight, indices, max_norm, norm_type):
    """Rescale in place (outside autograd) the rows of ``weight`` that ``indices`` reads and whose norm exceeds
    ``max_norm`` to norm ``max_norm``, as torch's embedding_renorm_ does."""
    w = weight._data
    rows = xp.unique(indices)
    norms = _vector_norm(w[rows], float(norm_type), (1,))[:, 0]
    big = norms > max_norm
    if bool(big.any()):
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] *= scale[:, None]
        weight._vc[0] += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Look up rows of ``weight``: ``out[...] = weight[input[...]]``.

    Args:
        input: integer tensor (int64 or int32) of indices in ``[0, num_embeddings)``.
        weight: tensor of shape ``(num_embeddings, embedding_dim)``.
        padding_idx: row whose gradient is always zero (negative values count from the end).
        max_norm: if given, rows read by ``input`` whose ``norm_type``-norm exceeds it are rescaled in place to
            norm ``max_norm`` before the lookup.
        norm_type: the p of the norm for ``max_norm``.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in ``input``.
        sparse: accepted for compatibility; Lamina's gradient for ``weight`` is always dense.

    Returns:
        Tensor of shape ``input.shape + (embedding_dim,)``.

    Example:
        >>> w = lamina.randn(10, 3)
        >>> lamina.nn.functional.embedding(lamina.tensor([[1, 2], [4, 9]]), w).shape
        lamina.Size([2, 2, 3])
    """
    input, weight = as_tensor_arg(input), as_tensor_arg(weight)
    idx = input._data
    if idx.dtype not in (xp.int64, xp.int32):
        raise DTypeError(f"embedding(): argument 'input' must be an int64 or int32 tensor of indices, got "
                         f"{input.dtype}")
    if weight._data.ndim != 2:
        raise ShapeError(f"embedding(): argument 'weight' must be 2-d (num_embeddings, embedding_dim), got shape "
                         f"{_shape(weight)}")
    num = weight._data.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ArgumentError(f"embedding(): padding_idx must be within num_embeddings (-{num}..{num - 1}), got "
                                f"{padding_idx}")
        padding_idx = int(padding_idx) % num
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError_(f"embedding(): index {bad} out of range for num_embeddings {num} "
                              f"(expected 0..{num - 1})")
    if max_norm is not None and idx.size:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    return Embedding.apply(input, weight, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))


# ---- norms and similarities ---------------------------------------------------------------------------------

def _vector_norm(x, p, axes):
    """The p-norm of x over ``axes`` (keepdims), for p in {0, 1, 2, inf, -inf} or any other real."""
    if x.size == 0:
        return xp.zeros(tuple(1 if i in axes else s for i, s in enumerate(x.shape)), x.dtype)
    if p == 2.0:
        return xp.sqrt((x * x).sum(axis=axes, keepdims=True))
    ax = xp.abs(x)
    if p == 1.0:
        return ax.sum(axis=axes, keepdims=True)
    if p == math.inf:
        return ax.max(axis=axes, keepdims=True)
    if p == -math.inf:
        return ax.min(axis=axes, keepdims=True)
    if p == 0.0:
        return (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
    with xp.errstate(divide="ignore"):
        return (ax ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)


def _vector_norm_grad(x, norm, p, axes):
    """d norm / d x (torch's convention: 0 where the norm is 0; the max/min norms share the gradient equally
    among the elements that attain it)."""
    if p == 0.0 or x.size == 0:
        return xp.zeros_like(x)
    if p == 1.0:
        return xp.sign(x)
    safe = xp.where(norm == 0, 1.0, norm).astype(x.dtype)
    if p == 2.0:
        return x / safe
    ax = xp.abs(x)
    if p in (math.inf, -math.inf):
        hit = (ax == norm).astype(x.dtype)
        return xp.sign(x) * hit / hit.sum(axis=axes, keepdims=True)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = xp.where(ax == 0, 0.0, xp.sign(x) * ax ** (p - 1.0)) / safe ** (p - 1.0)
    return xp.where(norm == 0, 0.0, g).astype(x.dtype)


class Normalize(Op):
    """y = x / max(||x||_p, eps) over ``dims``; gradient g / d - [||x|| >= eps] sum(g x) / d^2 * d||x||/dx."""

    @staticmethod
    def forward(ctx, x, p, dims, eps):
        norm = _vector_norm(x, p, dims)
        out = x / xp.maximum(norm, eps)
        ctx.p, ctx.dims, ctx.eps = p, dims, eps
        ctx.save_for_backward(x, norm)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        denom = xp.maximum(norm, ctx.eps)
        gx = grad / denom
        # the clamp passes gradient to the norm only where it was not clamped
        gnorm = -(grad * x).sum(axis=ctx.dims, keepdims=True) / (denom * denom) * (norm >= ctx.eps)
        gx += gnorm * _vector_norm_grad(x, norm, ctx.p, ctx.dims)
        return gx


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """Divide ``input`` by its ``p``-norm over ``dim``: ``x / max(||x||_p, eps)``.

    Args:
        input: floating point tensor.
        p: the exponent of the norm (``inf``, ``-inf`` and 0 included).
        dim: dim or tuple of dims the norm is taken over.
        eps: lower bound of the denominator, so zero vectors stay zero.
        out: optional tensor the result is copied into.

    Returns:
        Tensor of input's shape.
    """
    input = as_tensor_arg(input)
    _require_float("normalize", "input", input)
    ndim = input._data.ndim
    if isinstance(dim, (tuple, list)):
        dims = tuple(canonical_dims(tuple(dim), max(ndim, 1), "normalize"))
    else:
        dims = (canonical_dim(dim, max(ndim, 1), "normalize"),)
    if ndim == 0:
        dims = ()  # the norm of a 0-d tensor is its absolute value
    for name, value in (("p", p), ("eps", eps)):
        if not isinstance(value, (int, float, xp.number)) or isinstance(value, bool):
            raise ArgumentError(f"normalize(): argument '{name}' must be a number, got {value!r}")
    result = Normalize.apply(input, float(p), dims, float(eps))
    if out is not None:
        return out.copy_(result)
    return result


def _cosine_operands(x1, x2, dtype):
    a, b = xp.broadcast_arrays(x1.astype(dtype, copy=False), x2.astype(dtype, copy=False))
    return _as_1d(a), _as_1d(b)  # two 0-d tensors: a 1-element dim 0


class CosineSimilarity(Op):
    """cos = sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps))) over ``dim``, fused as torch computes it
    (each input divided by its own clamped norm, which keeps the result in [-1, 1])."""

    @staticmethod
    def forward(ctx, x1, x2, dim, eps, dtype):
        ctx.dim, ctx.eps, ctx.dtypes = dim, eps, (x1.dtype, x2.dtype)
        a, b = _cosine_operands(x1, x2, dtype)
        n1 = xp.sqrt((a * a).sum(axis=dim, keepdims=True))
        n2 = xp.sqrt((b * b).sum(axis=dim, keepdims=True))
        out = ((a / xp.maximum(n1, eps)) * (b / xp.maximum(n2, eps))).sum(axis=dim)
        ctx.save_for_backward(x1, x2, n1, n2, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x1, x2, n1, n2, out = ctx.saved_tensors
        dtype = out.dtype
        a, b = _cosine_operands(x1, x2, dtype)
        d1, d2 = xp.maximum(n1, ctx.eps), xp.maximum(n2, ctx.eps)
        g = xp.expand_dims(grad, ctx.dim)
        cos = xp.expand_dims(out, ctx.dim)
        shape1, shape2 = x1.shape, x2.shape
        # torch differentiates through the clamped norm as if it were ||x||: d||x||/dx = x / ||x|| (0 at x = 0)
        r1 = a / xp.where(n1 == 0, 1.0, n1).astype(dtype)
        r2 = b / xp.where(n2 == 0, 1.0, n2).astype(dtype)
        gx1 = gx2 = None
        if ctx.needs_input_grad[0]:
            gx1 = unbroadcast(g / d1 * (b / d2 - cos * r1), shape1 or (1,)).reshape(shape1)
            gx1 = gx1.astype(ctx.dtypes[0], copy=False)
        if ctx.needs_input_grad[1]:
            gx2 = unbroadcast(g / d2 * (a / d1 - cos * r2), shape2 or (1,)).reshape(shape2)
            gx2 = gx2.astype(ctx.dtypes[1], copy=False)
        return gx1, gx2


def _pair_args(op, x1, x2):
    x1, x2 = as_tensor_arg(x1), as_tensor_arg(x2)
    shape = _broadcast_shape(op, "x1", _shape(x1), "x2", _shape(x2))
    dtype = _dt.result_type(x1, x2)
    if dtype.kind != "f":
        raise DTypeError(f"{op}(): expected floating point inputs, got x1 of dtype {x1.dtype} and x2 of dtype "
                         f"{x2.dtype}")
    return x1, x2, shape, dtype


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``: ``x1 . x2 / (max(||x1||, eps) max(||x2||,
    eps))``, with each input divided by its own norm first (so the result stays in [-1, 1]).

    Args:
        x1, x2: tensors broadcastable to a common shape.
        dim: the dim the dot product and norms run over.
        eps: lower bound of each norm.

    Returns:
        Tensor of the broadcast shape without ``dim``.
    """
    x1, x2, shape, dtype = _pair_args("cosine_similarity", x1, x2)
    dim = canonical_dim(dim, max(len(shape), 1), "cosine_similarity")
    return CosineSimilarity.apply(x1, x2, dim=dim, eps=float(eps), dtype=dtype)


class PairwiseDistance(Op):
    """||x1 - x2 + eps||_p over the last dim; the gradient of the norm goes to x1 and, negated, to x2."""

    @staticmethod
    def forward(ctx, x1, x2, p, eps, keepdim, dtype):
        diff = x1.astype(dtype, copy=False) - x2.astype(dtype, copy=False) + eps
        ctx.scalar = diff.ndim == 0
        diff = _as_1d(diff)
        norm = _vector_norm(diff, p, (diff.ndim - 1,))
        ctx.p, ctx.dtypes, ctx.shapes = p, (x1.dtype, x2.dtype), (x1.shape, x2.shape)
        ctx.save_for_backward(diff, norm)
        if ctx.scalar:
            return norm.reshape(())
        return norm if keepdim else norm[..., 0]

    @staticmethod
    def backward(ctx, grad):
        diff, norm = ctx.saved_tensors
        g = grad.reshape(norm.shape) * _vector_norm_grad(diff, norm, ctx.p, (diff.ndim - 1,))
        if ctx.scalar:
            g = g.reshape(())
        gx1 = unbroadcast(g, ctx.shapes[0]).astype(ctx.dtypes[0], copy=False) if ctx.needs_input_grad[0] else None
        gx2 = unbroadcast(-g, ctx.shapes[1]).astype(ctx.dtypes[1], copy=False) if ctx.needs_input_grad[1] else None
        return gx1, gx2


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The ``p``-norm distance between rows of ``x1`` and ``x2`` (broadcast): ``||x1 - x2 + eps||_p`` over the
    last dim.

    Args:
        x1, x2: tensors broadcastable to a common shape ``(*, D)``.
        p: the norm degree.
        eps: added to the difference to avoid a zero vector (whose 2-norm has no gradient).
        keepdim: keep the reduced last dim with size 1.

    Returns:
        Tensor of shape ``(*)`` (``(*, 1)`` with ``keepdim``).
    """
    x1, x2, shape, dtype = _pair_args("pairwise_distance", x1, x2)
    return PairwiseDistance.apply(x1, x2, p=float(p), eps=float(eps), keepdim=bool(keepdim), dtype=dtype)

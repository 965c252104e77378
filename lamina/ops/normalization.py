"""Normalization operators: batch_norm, layer_norm, group_norm, instance_norm, rms_norm.

Each standardizes its input over some dims, ``xhat = (x - mean) / sqrt(var + eps)`` with the biased variance, then
applies an optional per-feature affine map. The forward and backward are fused: the backward of a standardization,
``dx = invstd * (g - mean(g) - xhat * mean(g * xhat))``, is two reductions instead of a dozen graph nodes.
Statistics are computed on data shifted by one of its own samples, which makes a constant group exactly zero
(not the +-1 or NaN a rounding error in the mean would give) and keeps precision for data far from zero.
"""
import math

from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.ops._util import as_tensor_arg
from lamina.ops.nn import _optional, _require_float, _require_positive_eps, _require_same_dtype, _shape


def _moments(x, axes):
    """(mean, biased var, x - mean) over ``axes`` (keepdims), from data shifted by its first sample."""
    first = tuple(slice(0, 1) if i in axes else slice(None) for i in range(x.ndim))
    shift = x[first]
    centered = x - shift
    mean = centered.mean(axis=axes, keepdims=True)
    centered -= mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return shift + mean, var, centered


def _standardize_backward(gxhat, xhat, invstd, axes):
    """dL/dx of xhat = (x - mean(x)) * invstd over ``axes``, given dL/dxhat."""
    gx = gxhat - gxhat.mean(axis=axes, keepdims=True)
    gx -= xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
    gx *= invstd
    return gx


def _affine(xhat, weight, bias, shape):
    """xhat * weight + bias, written into xhat (a fresh array the caller owns)."""
    if weight is not None:
        xhat *= weight.reshape(shape)
    if bias is not None:
        xhat += bias.reshape(shape)
    return xhat


def _affine_grads(ctx, grad, xhat, weight, first_weight_input, shape, axes):
    """(gxhat, gweight, gbias) for out = xhat * weight + bias; weight/bias grads summed over ``axes``."""
    need = ctx.needs_input_grad
    gw = gb = None
    if weight is not None and need[first_weight_input]:
        gw = (grad * xhat).sum(axis=axes).reshape(weight.shape)
    if ctx.has_bias and need[first_weight_input + 1]:
        gb = grad.sum(axis=axes).reshape(ctx.bias_shape)
    gxhat = grad if weight is None else grad * weight.reshape(shape)
    return gxhat, gw, gb


# ---- batch norm ---------------------------------------------------------------------------------------------

def _channel_sum(a3):
    """Per-channel sum of an (N, C, L) array: a matrix-vector product with ones runs ~3x faster than ``sum``
    over the non-adjacent axes (0, 2)."""
    if a3.shape[2] == 1:
        return a3[:, :, 0].sum(axis=0)
    return (a3 @ xp.ones(a3.shape[2], a3.dtype)).sum(axis=0)


def _channel_dot(a3, b3):
    """Per-channel sum of a3 * b3 over (N, L), without the product as a temporary."""
    return xp.einsum("ncl,ncl->c", a3, b3)


class BatchNorm(Op):
    """Standardize over every dim but the channel (dim 1) with batch statistics (training) or running ones.

    Works on the input viewed as (N, C, L), with the per-channel statistics as (C,) vectors. Fused for speed: the
    forward is one centred copy scaled in place; the backward of ``y = w * xhat + b`` in training is
    ``dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat))``, from two per-channel reductions of g.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False, momentum=0.1,
                eps=1e-5):
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, x.size // (n * c) if n * c else 0)
        count = n * x3.shape[2]
        if training:
            # centred on each channel's first value first: a constant channel is then exactly 0 and data far
            # from zero keeps its precision
            centered = x3 - x3[:1, :, :1]
            shifted_mean = _channel_sum(centered) / count
            centered -= shifted_mean[:, None]
            var = _channel_dot(centered, centered) / count
            mean = x3[0, :, 0] + shifted_mean
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                # the running variance is the unbiased one, as in torch
                running_var *= 1.0 - momentum
                running_var += (momentum * count / (count - 1)) * var
        else:
            mean, var = running_mean.copy(), running_var
            centered = x3 - mean[:, None]
        invstd = 1.0 / xp.sqrt(var + eps)
        centered *= (invstd if weight is None else invstd * weight.reshape(-1))[:, None]
        if bias is not None:
            centered += bias.reshape(-1)[:, None]
        ctx.training, ctx.count, ctx.bias_shape = training, count, None if bias is None else bias.shape
        ctx.save_for_backward(x, mean, invstd, weight)
        return centered.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x, mean, invstd, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        n, c = x.shape[:2]
        g3 = grad.reshape(n, c, x.size // (n * c) if n * c else 0)
        scale = invstd if weight is None else invstd * weight.reshape(-1)
        centered = None
        if (weight is not None and need_w) or (need_x and ctx.training):
            centered = x.reshape(g3.shape) - mean[:, None]
            g_centered = _channel_dot(g3, centered)          # sum(g * (x - mean)) = sum(g * xhat) / invstd
        g_sum = _channel_sum(g3) if need_b or (need_x and ctx.training) else None
        gw = (g_centered * invstd).reshape(weight.shape) if weight is not None and need_w else None
        gb = g_sum.reshape(ctx.bias_shape) if need_b else None
        gx = None
        if need_x:
            if ctx.training:
                gx = g3 - (g_sum / ctx.count)[:, None]
                gx *= scale[:, None]
                centered *= (scale * invstd * invstd * g_centered / ctx.count)[:, None]
                gx -= centered
            else:
                gx = g3 * scale[:, None]
            gx = gx.reshape(x.shape)
        return gx, gw, gb


def _check_channel_vector(op, name, t, channels, input_shape):
    if t is not None and t._data.size != channels:
        raise ShapeError(f"{op}(): {name} should contain {channels} elements (the channels of input of shape "
                         f"{input_shape}), got shape {_shape(t)}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over every dim but the channel dim 1 of an ``(N, C, *)`` input.

    In training the batch's mean and (biased) variance normalize the input, and ``running_mean`` /
    ``running_var`` (if given) are updated in place: ``r = (1 - momentum) * r + momentum * stat``, with the unbiased
    variance for ``running_var``. In evaluation the running statistics normalize the input.

    Args:
        input: floating point tensor of shape ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)``, ...
        running_mean, running_var: tensors of shape ``(C,)`` or None (only allowed in training).
        weight, bias: optional per-channel affine parameters of shape ``(C,)``.
        training: use batch statistics (and update the running ones).
        momentum: weight of the new statistics in the running averages.
        eps: added to the variance; must be positive.

    Returns:
        Tensor of input's shape. A channel whose values are all equal normalizes to exactly 0.
    """
    input, weight, bias = as_tensor_arg(input), _optional(weight), _optional(bias)
    op = "batch_norm"
    shape = _shape(input)
    if len(shape) < 2:
        raise ShapeError(f"{op}(): expected an input of at least 2 dims (N, C, *), got shape {shape}")
    _require_float(op, "input", input)
    channels = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_channel_vector(op, name, t, channels, shape)
        _require_same_dtype(op, "input", input, name, t)
    _require_positive_eps(op, eps)
    if not training and (running_mean is None or running_var is None):
        missing = "running_mean" if running_mean is None else "running_var"
        raise ArgumentError(f"{op}(): {missing} must be given in evaluation mode (training=False)")
    if training:
        if momentum is None:
            raise ArgumentError(f"{op}(): argument 'momentum' must be a float in training, got None")
        per_channel = math.prod(shape) // channels if channels else 0
        if per_channel == 1:
            raise ArgumentError(f"{op}(): Expected more than 1 value per channel when training, got input of shape "
                                f"{shape}")
        if per_channel == 0:  # empty batch: nothing to normalize, running statistics unchanged (as in torch)
            return _affine_empty(input, weight, bias)
    rm = None if running_mean is None else running_mean._data
    rv = None if running_var is None else running_var._data
    return BatchNorm.apply(input, weight, bias, running_mean=rm, running_var=rv, training=bool(training),
                           momentum=0.0 if momentum is None else float(momentum), eps=float(eps))


def _affine_empty(input, weight, bias):
    # a zero-size input normalizes to a zero-size output; route through BatchNorm's eval path for the graph
    channels = input._data.shape[1]
    zeros = xp.zeros(channels, input._data.dtype)
    return BatchNorm.apply(input, weight, bias, running_mean=zeros, running_var=zeros + 1.0, training=False,
                           momentum=0.0, eps=1.0)


# ---- layer norm, rms norm -----------------------------------------------------------------------------------

class LayerNorm(Op):
    """Standardize over the last ``ndims`` dims, then scale and shift elementwise by weight and bias."""

    @staticmethod
    def forward(ctx, x, weight, bias, ndims=1, eps=1e-5):
        axes = tuple(range(x.ndim - ndims, x.ndim))
        shape = x.shape[x.ndim - ndims:]
        if x.size == 0:
            mean, invstd = xp.zeros(x.shape[:x.ndim - ndims] + (1,) * ndims, x.dtype), None
            xhat = xp.zeros(x.shape, x.dtype)
        else:
            mean, var, xhat = _moments(x, axes)
            invstd = 1.0 / xp.sqrt(var + eps)
            xhat *= invstd
        ctx.axes, ctx.shape = axes, shape
        ctx.has_bias, ctx.bias_shape = bias is not None, None if bias is None else bias.shape
        ctx.save_for_backward(x, mean, invstd, weight)
        return _affine(xhat, weight, bias, shape)

    @staticmethod
    def backward(ctx, grad):
        x, mean, invstd, weight = ctx.saved_tensors
        lead = tuple(range(x.ndim - len(ctx.axes)))
        if x.size == 0:
            xhat = xp.zeros(x.shape, x.dtype)
            invstd = xp.ones(mean.shape, x.dtype)
        else:
            xhat = (x - mean) * invstd
        gxhat, gw, gb = _affine_grads(ctx, grad, xhat, weight, 1, ctx.shape, lead)
        gx = _standardize_backward(gxhat, xhat, invstd, ctx.axes) if ctx.needs_input_grad[0] and x.size else (
            xp.zeros(x.shape, x.dtype) if ctx.needs_input_grad[0] else None)
        return gx, gw, gb


def _normalized_shape(op, input, normalized_shape, weight, bias):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    shape = _shape(input)
    k = len(normalized_shape)
    if k == 0:
        raise ShapeError(f"{op}(): normalized_shape must have at least one dim, got ()")
    if shape[len(shape) - k:] != normalized_shape or len(shape) < k:
        raise ShapeError(f"{op}(): input of shape {shape} does not end with normalized_shape {normalized_shape} "
                         f"(expected an input of shape (*, {', '.join(map(str, normalized_shape))}))")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape(t) != normalized_shape:
            raise ShapeError(f"{op}(): {name} must have shape normalized_shape = {normalized_shape}, got "
                             f"{_shape(t)}")
        _require_same_dtype(op, "input", input, name, t)
    return k


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing dims ``normalized_shape``.

    Args:
        input: floating point tensor of shape ``(*, *normalized_shape)``.
        normalized_shape: int or tuple, the trailing dims to normalize over.
        weight, bias: optional elementwise affine parameters of shape ``normalized_shape``.
        eps: added to the variance; must be positive.

    Returns:
        Tensor of input's shape.

    Example:
        >>> y = lamina.nn.functional.layer_norm(lamina.randn(2, 5, 8), (8,))
    """
    input, weight, bias = as_tensor_arg(input), _optional(weight), _optional(bias)
    _require_float("layer_norm", "input", input)
    k = _normalized_shape("layer_norm", input, normalized_shape, weight, bias)
    _require_positive_eps("layer_norm", eps)
    return LayerNorm.apply(input, weight, bias, ndims=k, eps=float(eps))


class RMSNorm(Op):
    """y = x / sqrt(mean(x^2) + eps) * weight over the last ``ndims`` dims."""

    @staticmethod
    def forward(ctx, x, weight, ndims=1, eps=1e-6):
        axes = tuple(range(x.ndim - ndims, x.ndim))
        shape = x.shape[x.ndim - ndims:]
        inv = 1.0 / xp.sqrt((x * x).mean(axis=axes, keepdims=True) + eps) if x.size else xp.ones((), x.dtype)
        ctx.axes, ctx.shape = axes, shape
        ctx.has_bias = False
        ctx.save_for_backward(x, inv, weight)
        return _affine(x * inv, weight, None, shape)  # x * inv is a fresh array

    @staticmethod
    def backward(ctx, grad):
        x, inv, weight = ctx.saved_tensors
        xhat = x * inv
        lead = tuple(range(x.ndim - len(ctx.axes)))
        gxhat, gw, _ = _affine_grads(ctx, grad, xhat, weight, 1, ctx.shape, lead)
        gx = None
        if ctx.needs_input_grad[0]:
            # no mean is subtracted, so only the variance term of the standardization backward remains
            gx = inv * (gxhat - xhat * (gxhat * xhat).mean(axis=ctx.axes, keepdims=True)) if x.size else gxhat
        return gx, gw


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalization over the trailing dims: ``x / sqrt(mean(x^2) + eps) * weight``.

    Args:
        input: floating point tensor of shape ``(*, *normalized_shape)``.
        normalized_shape: int or tuple, the trailing dims.
        weight: optional elementwise scale of shape ``normalized_shape``.
        eps: added to the mean square; default the machine epsilon of input's dtype.

    Returns:
        Tensor of input's shape.
    """
    input, weight = as_tensor_arg(input), _optional(weight)
    _require_float("rms_norm", "input", input)
    k = _normalized_shape("rms_norm", input, normalized_shape, weight, None)
    if eps is None:
        eps = float(xp.finfo(input._data.dtype).eps)
    _require_positive_eps("rms_norm", eps)
    return RMSNorm.apply(input, weight, ndims=k, eps=float(eps))


# ---- group norm, instance norm ------------------------------------------------------------------------------

class GroupNorm(Op):
    """Standardize each group of C / G channels of each sample (with its spatial dims) of an (N, C, *) input,
    then apply a per-channel affine map."""

    @staticmethod
    def forward(ctx, x, weight, bias, groups=1, eps=1e-5):
        n, c = x.shape[:2]
        grouped = (n, groups, x.size // (n * groups) if n * groups else 0)
        shape = (1, c) + (1,) * (x.ndim - 2)
        if x.size == 0:
            mean, invstd = xp.zeros((n, groups, 1), x.dtype), xp.ones((n, groups, 1), x.dtype)
            xhat = xp.zeros(x.shape, x.dtype)
        else:
            mean, var, xhat = _moments(x.reshape(grouped), (2,))
            invstd = 1.0 / xp.sqrt(var + eps)
            xhat *= invstd
            xhat = xhat.reshape(x.shape)
        ctx.grouped, ctx.shape, ctx.axes = grouped, shape, (0,) + tuple(range(2, x.ndim))
        ctx.has_bias, ctx.bias_shape = bias is not None, None if bias is None else bias.shape
        ctx.save_for_backward(x, mean, invstd, weight)
        return _affine(xhat, weight, bias, shape)

    @staticmethod
    def backward(ctx, grad):
        x, mean, invstd, weight = ctx.saved_tensors
        xg = x.reshape(ctx.grouped)
        xhat_g = (xg - mean) * invstd
        gxhat, gw, gb = _affine_grads(ctx, grad, xhat_g.reshape(x.shape), weight, 1, ctx.shape, ctx.axes)
        gx = None
        if ctx.needs_input_grad[0]:
            if x.size == 0:
                gx = xp.zeros(x.shape, x.dtype)
            else:
                gx = _standardize_backward(gxhat.reshape(ctx.grouped), xhat_g, invstd, (2,)).reshape(x.shape)
        return gx, gw, gb


def _check_group_args(op, input, weight, bias, eps):
    shape = _shape(input)
    if len(shape) < 2:
        raise ShapeError(f"{op}(): expected an input of at least 2 dims (N, C, *), got shape {shape}")
    _require_float(op, "input", input)
    channels = shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape(t) != (channels,):
            raise ShapeError(f"{op}(): {name} must have shape ({channels},) for input of shape {shape}, got "
                             f"{_shape(t)}")
        _require_same_dtype(op, "input", input, name, t)
    _require_positive_eps(op, eps)
    return shape


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization: split the C channels of an ``(N, C, *)`` input into ``num_groups`` groups and
    standardize each group of each sample, then apply a per-channel affine map.

    Args:
        input: floating point tensor of shape ``(N, C, *)``.
        num_groups: number of groups; must divide C.
        weight, bias: optional per-channel parameters of shape ``(C,)``.
        eps: added to the variance; must be positive.

    Returns:
        Tensor of input's shape.
    """
    input, weight, bias = as_tensor_arg(input), _optional(weight), _optional(bias)
    shape = _check_group_args("group_norm", input, weight, bias, eps)
    if not isinstance(num_groups, int) or num_groups <= 0:
        raise ArgumentError(f"group_norm(): argument 'num_groups' must be a positive int, got {num_groups!r}")
    if shape[1] % num_groups:
        raise ArgumentError(f"group_norm(): the number of channels {shape[1]} must be divisible by num_groups "
                            f"{num_groups} (input of shape {shape})")
    if math.prod(shape) // num_groups == 1:
        raise ArgumentError(f"group_norm(): Expected more than 1 value per group when training, got input of shape "
                            f"{shape} with num_groups={num_groups}")
    return GroupNorm.apply(input, weight, bias, groups=num_groups, eps=float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalization: standardize each channel of each sample of an ``(N, C, *)`` input over its
    spatial dims, then apply a per-channel affine map.

    With ``use_input_stats`` (the default) the statistics come from the input, and ``running_mean`` /
    ``running_var`` (if given) are updated in place with their average over the batch (unbiased variance).
    Without it, the running statistics normalize the input, as ``batch_norm`` does in evaluation.

    Args:
        input: floating point tensor of shape ``(N, C, *)`` with at least one spatial dim.
        running_mean, running_var: optional tensors of shape ``(C,)``.
        weight, bias: optional per-channel parameters of shape ``(C,)``.
        use_input_stats: normalize with the input's statistics.
        momentum: weight of the new statistics in the running averages.
        eps: added to the variance; must be positive.

    Returns:
        Tensor of input's shape.
    """
    input, weight, bias = as_tensor_arg(input), _optional(weight), _optional(bias)
    op = "instance_norm"
    shape = _check_group_args(op, input, weight, bias, eps)
    channels = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_channel_vector(op, name, t, channels, shape)
        _require_same_dtype(op, "input", input, name, t)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ArgumentError(f"{op}(): running_mean and running_var must be given when use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = math.prod(shape[2:])
    if spatial == 1:
        raise ArgumentError(f"{op}(): Expected more than 1 spatial element when training, got input of shape "
                            f"{shape}")
    if input._data.size and (running_mean is not None or running_var is not None):
        x = input._data.reshape(shape[0], channels, spatial)
        if running_mean is not None:
            running_mean._data *= 1.0 - momentum
            running_mean._data += momentum * x.mean(axis=2).mean(axis=0)
        if running_var is not None:
            running_var._data *= 1.0 - momentum
            running_var._data += momentum * x.var(axis=2, ddof=1).mean(axis=0)
    return GroupNorm.apply(input, weight, bias, groups=channels, eps=float(eps))

"""Losses of a distance or a margin with torch.nn.functional's names, signatures and semantics: mse_loss,
l1_loss, smooth_l1_loss, huber_loss, margin_ranking_loss, hinge_embedding_loss, soft_margin_loss,
cosine_embedding_loss.

Each is one operator that applies its ``reduction`` too. Inputs and targets broadcast as in torch (which warns
for the pointwise ones, and so does Lamina), and gradients flow to the target wherever torch's do.
"""
from lamina.autograd import Op
from lamina.backend import xp
from lamina.dtypes import promote_types
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.ops._loss_util import (
    broadcast_shape, check_reduction, float_result_dtype, grad_for, grad_scale, log_sigmoid, reduce_loss,
    refuse_grad, sigmoid, tensor_arg, warn_if_broadcast,
)


# ---- losses of the difference input - target --------------------------------------------------------------

class _PointwiseLoss(Op):
    """Shared operator of losses l(d) of d = input - target, times an optional weight, then reduced.

    Subclasses give ``value(d, param)`` and ``slope(d, param)`` = dl/dd. ``weight_sum_mean`` says whether the
    'mean' of a weighted loss divides by ``weight.sum()`` (mse, l1) or by the element count (huber), as in torch.
    """
    weight_sum_mean = True
    keeps_input_dtype = False      # torch's huber_loss returns the input's dtype, the others the promoted one

    @staticmethod
    def value(d, param):
        raise NotImplementedError

    @staticmethod
    def slope(d, param):
        raise NotImplementedError

    @staticmethod
    def forward(ctx, x, t, w, reduction, param):
        dt = promote_types(x.dtype, t.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype), None if w is None else (w.shape, w.dtype))
        ctx.reduction, ctx.param = reduction, param
        d = xp.subtract(x, t, dtype=dt)
        loss = type(ctx).value(d, param)
        if w is not None:
            w = w.astype(dt, copy=False)
            loss *= w
        ctx.denom = float(w.sum()) if w is not None and type(ctx).weight_sum_mean else loss.size
        ctx.save_for_backward(d, w)
        out = reduce_loss(loss, reduction, ctx.denom)
        if type(ctx).keeps_input_dtype and x.dtype.kind == "f":
            out = out.astype(x.dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx, grad):
        d, w = ctx.saved_tensors
        cls, need = type(ctx), ctx.needs_input_grad
        g = grad_scale(grad, ctx.reduction, ctx.denom)
        gx = gt = gw = None
        if need[0] or need[1]:
            s = cls.slope(d, ctx.param)
            s *= g
            if w is not None:
                s *= w
            if need[0]:
                gx = grad_for(s, *ctx.metas[0])
            if need[1]:
                gt = -grad_for(s, *ctx.metas[1])
        if need[2]:
            lw = cls.value(d, ctx.param)
            gw = grad_for(lw * g, *ctx.metas[2])
            if ctx.reduction == "mean" and cls.weight_sum_mean:
                # d/dw_k [sum(w l) / sum(w)] = (sum of l over w_k's broadcast copies - loss) / sum(w)
                gw -= (lw * w).sum() * g / ctx.denom
        return gx, gt, gw


class MSELoss(_PointwiseLoss):
    """(input - target)^2."""

    @staticmethod
    def value(d, param):
        return d * d

    @staticmethod
    def slope(d, param):
        return d * 2.0


class L1Loss(_PointwiseLoss):
    """|input - target|; the gradient at 0 is 0 (sign)."""

    @staticmethod
    def value(d, param):
        return xp.abs(d)

    @staticmethod
    def slope(d, param):
        return xp.sign(d)


class SmoothL1Loss(_PointwiseLoss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 is l1)."""

    @staticmethod
    def value(d, beta):
        a = xp.abs(d)
        if beta == 0:
            return a
        return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)

    @staticmethod
    def slope(d, beta):
        if beta == 0:
            return xp.sign(d)
        return xp.clip(d / beta, -1.0, 1.0)


class HuberLoss(_PointwiseLoss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); a weighted 'mean' divides by the count."""
    weight_sum_mean = False
    keeps_input_dtype = True

    @staticmethod
    def value(d, delta):
        a = xp.abs(d)
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))

    @staticmethod
    def slope(d, delta):
        return xp.clip(d, -delta, delta)


def _pointwise_args(op, input, target, weight):
    input, target, weight = tensor_arg(input), tensor_arg(target), tensor_arg(weight)
    float_result_dtype(op, input, target)
    broadcast_shape(op, input, target)
    warn_if_broadcast(input, target)
    if weight is not None and weight._data.shape != input._data.shape:
        raise ShapeError(f"{op}(): argument 'weight' must have the input's shape {tuple(input._data.shape)}, "
                         f"got {tuple(weight._data.shape)}")
    return input, target, weight


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2``, broadcasting input against target.

    Args:
        input, target: tensors of broadcastable shapes (torch warns when they differ, and so does Lamina).
        reduction: 'none' | 'mean' | 'sum'.
        weight: optional tensor of the input's shape; 'mean' then divides by ``weight.sum()``.

    Example:
        >>> F.mse_loss(lamina.tensor([1.0, 2.0]), lamina.tensor([0.0, 0.0]))
        tensor(2.5000)
    """
    reduction = check_reduction("mse_loss", reduction, size_average, reduce)
    input, target, weight = _pointwise_args("mse_loss", input, target, weight)
    return MSELoss.apply(input, target, weight, reduction=reduction, param=None)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``; arguments as in ``mse_loss``."""
    reduction = check_reduction("l1_loss", reduction, size_average, reduce)
    input, target, weight = _pointwise_args("l1_loss", input, target, weight)
    return L1Loss.apply(input, target, weight, reduction=reduction, param=None)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic below ``beta`` and linear above: ``0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta``.

    Args:
        beta: the switch point, >= 0 (0 gives l1_loss).
    """
    reduction = check_reduction("smooth_l1_loss", reduction, size_average, reduce)
    if not beta >= 0:
        raise ArgumentError(f"smooth_l1_loss(): argument 'beta' must be non-negative, got {beta}")
    input, target, _ = _pointwise_args("smooth_l1_loss", input, target, None)
    return SmoothL1Loss.apply(input, target, None, reduction=reduction, param=float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss: ``0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``.

    Args:
        delta: the switch point, > 0.
        weight: optional tensor of the input's shape; 'mean' divides the weighted sum by the element count.
    """
    reduction = check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ArgumentError(f"huber_loss(): argument 'delta' must be positive, got {delta}")
    input, target, weight = _pointwise_args("huber_loss", input, target, weight)
    return HuberLoss.apply(input, target, weight, reduction=reduction, param=float(delta))


# ---- margin and embedding losses ----------------------------------------------------------------------------

class MarginRankingLoss(Op):
    """max(0, -y (x1 - x2) + margin): x1 should rank above x2 where y = 1, below where y = -1."""

    @staticmethod
    def forward(ctx, x1, x2, y, margin, reduction):
        dt = promote_types(promote_types(x1.dtype, x2.dtype), y.dtype)
        ctx.metas = tuple((a.shape, a.dtype) for a in (x1, x2, y))
        ctx.reduction = reduction
        diff = xp.subtract(x1, x2, dtype=dt)
        y = y.astype(dt, copy=False)
        z = -y * diff + margin
        ctx.save_for_backward(diff, y, z >= 0)     # torch's clamp_min passes the gradient at z = 0
        ctx.denom = z.size
        return reduce_loss(xp.maximum(z, 0.0), reduction)

    @staticmethod
    def backward(ctx, grad):
        diff, y, active = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = xp.where(active, grad_scale(grad, ctx.reduction, ctx.denom), 0.0).astype(diff.dtype, copy=False)
        gy_ = g * y
        return (grad_for(-gy_, *ctx.metas[0]) if need[0] else None,
                grad_for(gy_, *ctx.metas[1]) if need[1] else None,
                grad_for(-diff * g, *ctx.metas[2]) if need[2] else None)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """Ranking loss ``max(0, -target * (input1 - input2) + margin)`` with ``target`` in {1, -1}.

    Args:
        input1, input2, target: tensors with the same number of dims (they broadcast).
        margin: the required gap.
        reduction: 'none' | 'mean' | 'sum'.
    """
    op = "margin_ranking_loss"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input1, input2, target = tensor_arg(input1), tensor_arg(input2), tensor_arg(target)
    shapes = [tuple(t._data.shape) for t in (input1, input2, target)]
    if not len(shapes[0]) == len(shapes[1]) == len(shapes[2]):
        raise ShapeError(f"{op}(): input1, input2 and target must have the same number of dims, got shapes "
                         f"{shapes[0]}, {shapes[1]} and {shapes[2]}")
    float_result_dtype(op, input1, input2, target)
    broadcast_shape(op, input1, input2, "input1", "input2")
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{op}(): shapes {shapes[0]}, {shapes[1]} and target {shapes[2]} cannot be broadcast "
                         "together") from None
    return MarginRankingLoss.apply(input1, input2, target, margin=float(margin), reduction=reduction)


class HingeEmbeddingLoss(Op):
    """x where y = 1, max(0, margin - x) where y = -1 (other target values get both terms, as in torch)."""

    @staticmethod
    def forward(ctx, x, y, margin, reduction):
        ctx.x_meta = (x.shape, x.dtype)
        ctx.reduction = reduction
        not_pos, not_neg = y != 1, y != -1
        gap = margin - x
        loss = xp.where(not_pos, xp.maximum(gap, 0.0), 0.0) + xp.where(not_neg, x, 0.0)
        loss = loss.astype(x.dtype, copy=False)
        # dloss/dx = [y != -1] - [y != 1 and margin - x >= 0]
        slope = not_neg.astype(x.dtype) - (not_pos & (gap >= 0))
        ctx.save_for_backward(slope)
        ctx.denom = loss.size
        return reduce_loss(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad_for(slope * grad_scale(grad, ctx.reduction, ctx.denom), *ctx.x_meta), None


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """Hinge loss for similar (target 1) and dissimilar (target -1) pairs given their distance ``input``.

    Args:
        input: distances; target: 1 or -1, broadcasting against input (no gradient).
        margin: dissimilar pairs are penalised while closer than this.
    """
    op = "hinge_embedding_loss"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target = tensor_arg(input), tensor_arg(target)
    if input._data.dtype.kind != "f":
        raise DTypeError(f"{op}(): expected a floating point input, got {input._data.dtype}")
    broadcast_shape(op, input, target)
    return HingeEmbeddingLoss.apply(input, target, margin=float(margin), reduction=reduction)


class SoftMarginLoss(Op):
    """log(1 + exp(-y x)) = -log_sigmoid(y x), which stays finite where torch's log1p(exp(-y x)) overflows."""

    @staticmethod
    def forward(ctx, x, y, reduction):
        dt = promote_types(x.dtype, y.dtype)
        ctx.metas = ((x.shape, x.dtype), (y.shape, y.dtype))
        ctx.reduction = reduction
        x, y = x.astype(dt, copy=False), y.astype(dt, copy=False)
        m = x * y
        ctx.save_for_backward(y, m)
        ctx.denom = m.size
        out_dtype = ctx.metas[0][1] if ctx.metas[0][1].kind == "f" else dt   # torch keeps the input's dtype
        return reduce_loss(-log_sigmoid(m), reduction).astype(out_dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        y, m = ctx.saved_tensors
        s = sigmoid(-m)                       # d/dx -log_sigmoid(y x) = -y sigmoid(-y x)
        s *= grad_scale(grad, ctx.reduction, ctx.denom)
        return grad_for(-y * s, *ctx.metas[0]), None


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` with ``target`` in {1, -1}."""
    op = "soft_margin_loss"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target = tensor_arg(input), tensor_arg(target)
    float_result_dtype(op, input, target)
    broadcast_shape(op, input, target)
    refuse_grad(op, "target", target)
    return SoftMarginLoss.apply(input, target, reduction=reduction)


class CosineEmbeddingLoss(Op):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, cos along the last dim.

    With |x|^2 taken + 1e-12 as in torch: cos = <x1, x2> / sqrt(|x1|^2 |x2|^2) and
    dcos/dx1 = x2 / sqrt(|x1|^2 |x2|^2) - cos x1 / |x1|^2 (x2 likewise).
    """

    @staticmethod
    def forward(ctx, x1, x2, y, margin, reduction):
        dt = promote_types(x1.dtype, x2.dtype)
        ctx.metas = ((x1.shape, x1.dtype), (x2.shape, x2.dtype))
        ctx.reduction = reduction
        x1, x2 = x1.astype(dt, copy=False), x2.astype(dt, copy=False)
        axis = x1.ndim - 1
        dot = (x1 * x2).sum(axis=axis, keepdims=True)
        sq1 = (x1 * x1).sum(axis=axis, keepdims=True) + 1e-12
        sq2 = (x2 * x2).sum(axis=axis, keepdims=True) + 1e-12
        denom = xp.sqrt(sq1 * sq2)
        cos = xp.squeeze(dot / denom, axis)
        pos, neg = y == 1, y == -1
        gap = cos - margin
        loss = xp.where(pos, 1.0 - cos, 0.0) + xp.where(neg, xp.maximum(gap, 0.0), 0.0)
        loss = loss.astype(dt, copy=False)
        slope = (neg & (gap >= 0)).astype(dt) - pos     # dloss/dcos
        ctx.save_for_backward(x1, x2, sq1, sq2, denom, xp.expand_dims(cos, axis), slope)
        ctx.denom = loss.size
        return reduce_loss(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x1, x2, sq1, sq2, denom, cos, slope = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = xp.expand_dims(slope * grad_scale(grad, ctx.reduction, ctx.denom), x1.ndim - 1)
        g1 = g2 = None
        if need[0]:
            g1 = grad_for(g * (x2 / denom - cos * x1 / sq1), *ctx.metas[0])
        if need[1]:
            g2 = grad_for(g * (x1 / denom - cos * x2 / sq2), *ctx.metas[1])
        return g1, g2, None


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """Cosine-similarity loss of pairs: ``1 - cos`` for target 1, ``max(0, cos - margin)`` for target -1.

    Args:
        input1, input2: (N, D) with target (N,), or (D,) with a 0-d target; the inputs broadcast.
        margin: in [-1, 1]; dissimilar pairs are penalised while their cosine exceeds it.
    """
    op = "cosine_embedding_loss"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input1, input2, target = tensor_arg(input1), tensor_arg(input2), tensor_arg(target)
    float_result_dtype(op, input1, input2)
    t_dim, dims = target._data.ndim, (input1._data.ndim, input2._data.ndim)
    if t_dim > 1:
        raise ShapeError(f"{op}(): expected a 0-d or 1-d target, got shape {tuple(target._data.shape)}")
    if dims != (t_dim + 1, t_dim + 1):
        raise ShapeError(f"{op}(): a {t_dim}-d target expects {t_dim + 1}-d inputs, got input shapes "
                         f"{tuple(input1._data.shape)} and {tuple(input2._data.shape)}")
    rows = broadcast_shape(op, input1, input2, "input1", "input2")[:-1]
    try:
        xp.broadcast_shapes(rows, target._data.shape)
    except ValueError:
        raise ShapeError(f"{op}(): target shape {tuple(target._data.shape)} does not match the batch of the "
                         f"inputs {tuple(input1._data.shape)} and {tuple(input2._data.shape)}") from None
    return CosineEmbeddingLoss.apply(input1, input2, target, margin=float(margin), reduction=reduction)

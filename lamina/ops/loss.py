"""Likelihood losses with torch.nn.functional's names, signatures and semantics: cross_entropy, nll_loss,
binary_cross_entropy(_with_logits), kl_div, poisson_nll_loss, gaussian_nll_loss.

Each loss is one operator that also applies its ``reduction`` ('none' | 'mean' | 'sum'; kl_div adds
'batchmean'), so a single graph node holds the forward and the backward. They are fused rather than composed
from elementwise ops for speed and stability: cross_entropy computes log-sum-exp once and its backward is
``softmax - onehot`` from the ``exp`` buffer it saved; binary_cross_entropy_with_logits works through
log-sigmoid, so logits at +-400 give finite losses and gradients. The losses of a distance or a margin (mse,
l1, huber, hinge, ...) are in ``loss_distance.py``; the argument checks both share in ``_loss_util.py``.

Class-index losses take input ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` with integer targets
``(N,)``, ``(N, d1, ...)`` or ``()``; the class axis is axis 1 (axis 0 when unbatched).
"""
import math

from lamina.autograd import Op
from lamina.backend import xp
from lamina.dtypes import promote_types
from lamina.errors import ArgumentError, DTypeError, IndexError_, ShapeError
from lamina.ops._loss_util import (
    broadcast_shape, check_fits_input, check_reduction, check_same_shape, float_result_dtype, grad_for, grad_scale,
    log_sigmoid, reduce_loss, refuse_grad, rowwise, sigmoid, tensor_arg,
)


# ---- binary cross entropy ---------------------------------------------------------------------------------

class BinaryCrossEntropy(Op):
    """-w (t log x + (1 - t) log(1 - x)), each log clamped at -100 as torch does (so x = 0 or 1 is finite)."""

    @staticmethod
    def _logs(x):
        with xp.errstate(divide="ignore"):
            return xp.maximum(xp.log(x), -100.0), xp.maximum(xp.log1p(-x), -100.0)

    @staticmethod
    def forward(ctx, x, t, w, reduction):
        dt = promote_types(x.dtype, t.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype))
        ctx.reduction = reduction
        x, t = x.astype(dt, copy=False), t.astype(dt, copy=False)
        if w is not None:
            w = w.astype(dt, copy=False)
        log_x, log_1mx = BinaryCrossEntropy._logs(x)
        loss = (t - 1.0) * log_1mx
        loss -= t * log_x
        if w is not None:
            loss *= w
        ctx.save_for_backward(x, t, w)
        return reduce_loss(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad_scale(grad, ctx.reduction, x.size)
        if w is not None:
            g = g * w
        gx = gt = None
        if need[0]:
            # torch's form: (x - t) / max(x (1 - x), 1e-12), which stays finite at x = 0 and 1
            gx = (x - t) / xp.maximum((1.0 - x) * x, 1e-12)
            gx *= g
            gx = grad_for(gx, *ctx.metas[0])
        if need[1]:
            with xp.errstate(divide="ignore"):
                gt = xp.log1p(-x) - xp.log(x)    # -logit(x), unclamped as in torch (infinite at x = 0 or 1)
            gt *= g
            gt = grad_for(gt, *ctx.metas[1])
        return gx, gt, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross entropy between probabilities ``input`` and ``target`` (both in [0, 1], same shape).

    Args:
        weight: optional rescaling weight that broadcasts to the input's shape.
        reduction: 'none' | 'mean' | 'sum'.

    Example:
        >>> F.binary_cross_entropy(lamina.tensor([0.8, 0.2]), lamina.tensor([1.0, 0.0]))
        tensor(0.2231)
    """
    op = "binary_cross_entropy"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target, weight = tensor_arg(input), tensor_arg(target), tensor_arg(weight)
    float_result_dtype(op, input, target)
    check_same_shape(op, input, target)
    check_fits_input(op, "weight", weight, input)
    refuse_grad(op, "weight", weight)
    for name, t in (("input", input), ("target", target)):
        a = t._data
        if a.size and not ((a >= 0) & (a <= 1)).all():   # also rejects nan, as torch does
            raise ArgumentError(f"{op}(): all elements of {name} should be between 0 and 1, got values in "
                                f"[{a.min()}, {a.max()}]")
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


class BinaryCrossEntropyWithLogits(Op):
    """(1 - t) x - (1 + (pos_weight - 1) t) log_sigmoid(x), times weight: fused for stability at |x| >> 1."""

    @staticmethod
    def forward(ctx, x, t, w, pw, reduction):
        dt = x.dtype
        for a in (t, w, pw):
            if a is not None:
                dt = promote_types(dt, a.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype))
        ctx.reduction = reduction
        x, t = x.astype(dt, copy=False), t.astype(dt, copy=False)
        w = None if w is None else w.astype(dt, copy=False)
        pw = None if pw is None else pw.astype(dt, copy=False)
        ls = log_sigmoid(x)
        if pw is not None:
            lw = (pw - 1.0) * t
            lw += 1.0
            ls *= lw
        loss = (1.0 - t) * x
        loss -= ls
        if w is not None:
            loss *= w
        ctx.save_for_backward(x, t, w, pw)
        # torch accumulates in the target's buffer, so the result has the target's dtype
        return reduce_loss(loss, reduction).astype(ctx.metas[1][1] if ctx.metas[1][1].kind == "f" else dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, t, w, pw = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad_scale(grad, ctx.reduction, x.size)
        if w is not None:
            g = g * w
        gx = gt = None
        if need[0]:
            s = sigmoid(x)
            if pw is None:
                gx = s - t                   # d/dx = sigmoid(x) - t
            else:
                pt = pw * t                  # d/dx = (pw t + 1 - t) sigmoid(x) - pw t
                gx = (pt + 1.0 - t) * s - pt
            gx *= g
            gx = grad_for(gx, *ctx.metas[0])
        if need[1]:
            if pw is None:
                gt = -x * g                  # d/dt = -x
            else:
                ls = log_sigmoid(x)          # d/dt = log_sigmoid(-x) - pw log_sigmoid(x), log_sigmoid(-x) = ls - x
                gt = ((ls - x) - pw * ls) * g
            gt = grad_for(gt, *ctx.metas[1])
        return gx, gt, None, None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross entropy in one numerically stable step.

    Args:
        input: logits; target: probabilities of the same shape.
        weight: optional rescaling weight broadcasting to the input's shape.
        pos_weight: optional weight of the positive term, broadcasting to the input's shape (one per class
            along the last dim is typical).
        reduction: 'none' | 'mean' | 'sum'.

    Example:
        >>> F.binary_cross_entropy_with_logits(lamina.tensor([400.0, -400.0]), lamina.tensor([1.0, 0.0]))
        tensor(0.)
    """
    op = "binary_cross_entropy_with_logits"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target = tensor_arg(input), tensor_arg(target)
    weight, pos_weight = tensor_arg(weight), tensor_arg(pos_weight)
    float_result_dtype(op, input, target)
    check_same_shape(op, input, target)
    check_fits_input(op, "weight", weight, input)
    check_fits_input(op, "pos_weight", pos_weight, input)
    refuse_grad(op, "weight", weight)
    refuse_grad(op, "pos_weight", pos_weight)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction=reduction)


# ---- Kullback-Leibler divergence --------------------------------------------------------------------------

class KLDiv(Op):
    """Pointwise t (log t - x) (0 where t = 0), or exp(t) (t - x) with ``log_target``; input is log-probs."""

    @staticmethod
    def forward(ctx, x, t, reduction, log_target):
        dt = promote_types(x.dtype, t.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype))
        ctx.reduction, ctx.log_target = reduction, log_target
        x, t = x.astype(dt, copy=False), t.astype(dt, copy=False)
        if log_target:
            loss = xp.exp(t) * (t - x)
        else:
            with xp.errstate(divide="ignore", invalid="ignore"):
                loss = xp.where(t == 0, 0.0, t * xp.log(t)) - t * x    # xlogy(t, t) - t x
        if reduction == "batchmean":
            # the sum over everything divided by the input's batch size (its first dim; 1 for a 0-d input)
            ctx.denom = x.shape[0] if x.ndim else 1
            out = reduce_loss(loss, "mean", ctx.denom)
        else:
            ctx.denom = loss.size
            out = reduce_loss(loss, reduction)
        ctx.save_for_backward(x, t)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad_scale(grad, "none" if ctx.reduction in ("none", "sum") else "mean", ctx.denom)
        gx = gt = None
        if need[0]:
            gx = grad_for(-(xp.exp(t) if ctx.log_target else t) * g, *ctx.metas[0])
        if need[1]:
            if ctx.log_target:
                gt = xp.exp(t) * (1.0 + t - x)
            else:
                with xp.errstate(divide="ignore", invalid="ignore"):
                    # d/dt [t log t - t x] = log t + 1 - x; taken as 0 where t = 0 (torch 2.13 gives nan there)
                    gt = xp.where(t == 0, 0.0, xp.log(t) + 1.0 - x)
            gt *= g
            gt = grad_for(gt, *ctx.metas[1])
        return gx, gt


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` with ``input`` given as log-probabilities.

    Args:
        input: log-probabilities; target: probabilities (log-probabilities if ``log_target``); they broadcast.
        reduction: 'none' | 'batchmean' (sum / batch size: the KL divergence) | 'sum' | 'mean' (per element).

    Example:
        >>> p = lamina.tensor([[0.25, 0.75]])
        >>> F.kl_div(p.log(), p, reduction="batchmean")
        tensor(0.)
    """
    op = "kl_div"
    reduction = check_reduction(op, reduction, size_average, reduce, allowed=("none", "mean", "sum", "batchmean"))
    input, target = tensor_arg(input), tensor_arg(target)
    float_result_dtype(op, input, target)
    broadcast_shape(op, input, target)
    return KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))


# ---- class-index losses: nll_loss and cross_entropy -------------------------------------------------------

def _class_inputs(x, t, w, ignore_index):
    """Batch an unbatched (C,) input; return (x, valid mask, class index along axis 1, per-item weight)."""
    if x.ndim == 1:
        x, t = x[None], t.reshape(1)
    t = t.astype(xp.int64, copy=False)
    valid = t != ignore_index
    idx = xp.expand_dims(xp.where(valid, t, 0), 1)    # ignored items point at class 0, then get weight 0
    if w is None:
        wt = valid.astype(x.dtype)
    else:
        w = w.astype(x.dtype, copy=False)
        wt = xp.where(valid, w[idx[:, 0]], 0.0) if w.size else xp.zeros(t.shape, x.dtype)
    return x, valid, idx, wt


def _pick(x, idx):
    """x[i, idx[i], ...] along the class axis (zeros when there are no classes: every item is ignored)."""
    if x.shape[1] == 0:
        return xp.zeros(idx.shape, x.dtype)
    return xp.take_along_axis(x, idx, axis=1)


def _class_reduce(ctx, loss, wt, reduction, unbatched):
    """torch's weighted mean: sum(loss) / sum(weight of each non-ignored item's class)."""
    ctx.reduction, ctx.unbatched = reduction, unbatched
    ctx.denom = wt.sum()
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss
    return reduce_loss(loss, reduction, ctx.denom)


def _item_grad(ctx, grad, valid):
    """The gradient of each item's loss (N, d...) from the reduced output; 0 for ignored items."""
    g = grad_scale(grad, ctx.reduction, ctx.denom)
    if ctx.reduction == "none" and ctx.unbatched:
        g = g.reshape(1)
    return xp.where(valid, g, 0.0).astype(grad.dtype, copy=False)


def _exp_sum(x):
    """e = exp(x - shift), s = sum_c e, lse = logsumexp over axis 1 (keepdims), with shift = the row max.

    The shift only prevents overflow, so it is first tried at 0, which saves a max and a subtraction pass:
    the result stands when every row sum is finite and >= 1e-20 (terms that underflowed are then below 1e-18
    of their row sum). Otherwise (logits beyond about +-45) the shifted, always-stable form is computed.
    """
    if x.dtype.itemsize >= 4 and x.size:
        with xp.errstate(over="ignore", under="ignore"):
            e = rowwise(xp.exp, x)
            s = _row_sum(e)
        if 1e-20 <= s.min() and s.max() < xp.inf:
            return e, s, xp.log(s)
    m = x.max(axis=1, keepdims=True, initial=-xp.inf)
    with xp.errstate(invalid="ignore", divide="ignore"):
        e = xp.subtract(x, m)
        rowwise(xp.exp, e, out=e)
        s = _row_sum(e)
        lse = xp.log(s)
        lse += m
    return e, s, lse


def _row_sum(e):
    """Sum over axis 1, keepdims; a (N, C) array sums as a BLAS matrix-vector product (several times faster)."""
    if e.ndim == 2 and e.flags.c_contiguous and e.dtype.kind == "f":
        return xp.matmul(e, xp.ones((e.shape[1], 1), e.dtype))
    return e.sum(axis=1, keepdims=True)


class NLLLoss(Op):
    """-weight[t] * input[t] for each item, input given as log-probabilities."""

    @staticmethod
    def forward(ctx, x, t, w, ignore_index, reduction):
        unbatched = x.ndim == 1
        ctx.x_shape = x.shape
        x, valid, idx, wt = _class_inputs(x, t, w, ignore_index)
        loss = _pick(x, idx)[:, 0]
        loss *= wt
        xp.negative(loss, out=loss)
        loss[~valid] = 0.0          # an ignored item contributes 0 whatever its input (inf, nan)
        ctx.save_for_backward(valid, idx, wt)
        return _class_reduce(ctx, loss, wt, reduction, unbatched)

    @staticmethod
    def backward(ctx, grad):
        valid, idx, wt = ctx.saved_tensors
        coef = _item_grad(ctx, grad, valid) * wt
        xp.negative(coef, out=coef)
        shape = ((1,) + ctx.x_shape) if ctx.unbatched else ctx.x_shape
        out = xp.zeros(shape, grad.dtype)
        if shape[1]:
            xp.put_along_axis(out, idx, xp.expand_dims(coef, 1), axis=1)
        return (out[0] if ctx.unbatched else out), None, None


class CrossEntropy(Op):
    """log_softmax + nll (+ label smoothing), fused: one log-sum-exp pass forward and backward = softmax - onehot.

    With weights w, smoothing eps, C classes and p = softmax(x), item i with class t contributes
        loss_i = (1 - eps) w_t (lse_i - x_it) + eps / C * (W lse_i - sum_c w_c x_ic),   W = sum_c w_c,
        dloss_i/dx_ic = ((1 - eps) w_t + eps / C * W) p_ic - (1 - eps) w_t [c = t] - eps / C * w_c.
    """

    @staticmethod
    def forward(ctx, x, t, w, ignore_index, reduction, label_smoothing):
        unbatched = x.ndim == 1
        ctx.x_shape = x.shape
        x, valid, idx, wt = _class_inputs(x, t, w, ignore_index)
        n_classes = x.shape[1]
        eps = ctx.eps = float(label_smoothing)
        # log-sum-exp over the class axis, keeping e = exp(x - shift) for backward (torch keeps log_softmax)
        e, s, lse = _exp_sum(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            loss = (lse - _pick(x, idx))[:, 0]
            loss *= wt
            if eps > 0:
                lse = lse[:, 0]
                if w is None:
                    smooth = lse * float(n_classes) - x.sum(axis=1)       # -sum_c log p_c
                else:
                    w = w.astype(x.dtype, copy=False)                     # -sum_c w_c log p_c
                    smooth = lse * w.sum() - xp.tensordot(x, w, axes=([1], [0]))
                loss *= 1.0 - eps
                smooth *= eps / n_classes
                loss += smooth
        loss[~valid] = 0.0
        ctx.save_for_backward(e, s, valid, idx, wt, w)
        return _class_reduce(ctx, loss, wt, reduction, unbatched)

    @staticmethod
    def backward(ctx, grad):
        e, s, valid, idx, wt, w = ctx.saved_tensors
        eps, n_classes = ctx.eps, e.shape[1]
        coef = _item_grad(ctx, grad, valid)
        onehot = coef * wt                               # weight of -[c = t]
        if eps > 0:
            onehot *= 1.0 - eps
            flat = coef * (eps / n_classes)              # weight of -w_c
            soft = onehot + flat * (float(n_classes) if w is None else w.sum())
        else:
            soft = onehot                                # weight of p_c
        out = rowwise(xp.multiply, e, xp.expand_dims(soft, 1) / s)
        if n_classes:
            at_t = xp.take_along_axis(out, idx, axis=1)
            at_t -= xp.expand_dims(onehot, 1)
            xp.put_along_axis(out, idx, at_t, axis=1)
        if eps > 0:
            flat = xp.expand_dims(flat, 1)
            out -= flat if w is None else flat * w.reshape((n_classes,) + (1,) * (e.ndim - 2))
        return (out[0] if ctx.unbatched else out), None, None


class CrossEntropyProb(Op):
    """cross_entropy with class probabilities: -sum_c w_c t'_c log_softmax(x)_c, t' = (1 - eps) t + eps / C.

    Every item counts 1 in the 'mean' (torch divides by numel / C, whatever the weights).
    """

    @staticmethod
    def forward(ctx, x, t, w, reduction, label_smoothing):
        dt = promote_types(x.dtype, t.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype), None if w is None else (w.shape, w.dtype))
        ctx.reduction, ctx.unbatched = reduction, x.ndim == 1
        if ctx.unbatched:
            x, t = x[None], t[None]
        x, t = x.astype(dt, copy=False), t.astype(dt, copy=False)
        n_classes = x.shape[1]
        eps = ctx.eps = float(label_smoothing)
        wb = None if w is None else w.astype(dt, copy=False).reshape((n_classes,) + (1,) * (x.ndim - 2))
        logp = x - _exp_sum(x)[2]
        tt = t if eps == 0 or n_classes == 0 else t * (1.0 - eps) + eps / n_classes
        tw = tt if wb is None else tt * wb
        loss = (logp * tw).sum(axis=1)
        xp.negative(loss, out=loss)
        ctx.denom = loss.size if n_classes else xp.nan    # torch's 'mean' divides by numel / C: 0 / 0 without classes
        ctx.save_for_backward(logp, tt, tw, wb)
        if reduction == "none":
            return loss.reshape(()) if ctx.unbatched else loss
        return reduce_loss(loss, reduction, ctx.denom)

    @staticmethod
    def backward(ctx, grad):
        logp, tt, tw, wb = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad_scale(grad, ctx.reduction, ctx.denom)
        if ctx.reduction == "none":                          # per-item grads (N, d...) -> (N, 1, d...)
            g = xp.expand_dims(g.reshape((1,) + g.shape) if ctx.unbatched else g, 1)
        gx = gt = gw = None
        if need[0]:
            gx = xp.exp(logp)                                # dloss/dx_c = p_c sum_k tw_k - tw_c
            gx *= tw.sum(axis=1, keepdims=True)
            gx -= tw
            gx *= g
            gx = grad_for(gx[0] if ctx.unbatched else gx, *ctx.metas[0])
        if need[1]:
            gt = logp * (g * -(1.0 - ctx.eps))               # dloss/dt_c = -(1 - eps) w_c log p_c
            if wb is not None:
                gt *= wb
            gt = grad_for(gt[0] if ctx.unbatched else gt, *ctx.metas[1])
        if need[2]:
            gw = -(logp * tt * g)                            # dloss/dw_c = -t'_c log p_c
            gw = gw.sum(axis=tuple(a for a in range(gw.ndim) if a != 1))
            gw = gw.astype(ctx.metas[2][1], copy=False)
        return gx, gt, gw


def _class_check(op, input, target, weight, ignore_index, allow_probs):
    """Validate input, weight and an integer class-index target; raise typed errors naming both shapes."""
    x, t = input._data, target._data
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}(): expected a floating point input, got {x.dtype}")
    if x.ndim < 1:
        raise ShapeError(f"{op}(): expected input with 1 or more dimensions (N, C, ...) or (C,), got shape ()")
    n_classes = x.shape[0 if x.ndim == 1 else 1]
    if weight is not None and weight._data.shape != (n_classes,):
        raise ShapeError(f"{op}(): argument 'weight' must be a 1-D tensor with {n_classes} elements (one per "
                         f"class), got shape {tuple(weight._data.shape)}")
    expected = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    probs = f" or class probabilities of the input's shape {tuple(x.shape)}" if allow_probs else ""
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{op}(): expected a target of integer class indices of shape {expected}{probs}, got a "
                         f"{t.dtype} target of shape {tuple(t.shape)}")
    if t.shape != expected and not (x.ndim == 1 and t.shape == (1,)):
        raise ShapeError(f"{op}(): target shape {tuple(t.shape)} does not match input shape {tuple(x.shape)}: "
                         f"expected class indices of shape {expected}{probs}")
    if t.size:
        bad = (t < 0) | (t >= n_classes)
        bad &= t != ignore_index
        if bad.any():
            raise IndexError_(f"{op}(): target {int(t[bad].flat[0])} is out of bounds for {n_classes} classes "
                              f"(expected a class index in [0, {n_classes - 1}] or ignore_index={ignore_index})")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class indices under log-probabilities ``input``.

    Args:
        input: log-probabilities (N, C), (N, C, d1, ...) or unbatched (C,).
        target: integer class indices (N,), (N, d1, ...) or ().
        weight: optional per-class weight of shape (C,).
        ignore_index: target value that contributes neither to the loss nor to the 'mean' denominator.
        reduction: 'none' | 'mean' (divides by the summed weights of the non-ignored items) | 'sum'.

    Example:
        >>> F.nll_loss(lamina.tensor([[-0.5, -1.0]]), lamina.tensor([1]))
        tensor(1.)
    """
    op = "nll_loss"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target, weight = tensor_arg(input), tensor_arg(target), tensor_arg(weight)
    _class_check(op, input, target, weight, int(ignore_index), allow_probs=False)
    refuse_grad(op, "weight", weight)
    return NLLLoss.apply(input, target, weight, ignore_index=int(ignore_index), reduction=reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy between logits ``input`` and class indices or class probabilities ``target``.

    A target of the input's shape is read as class probabilities; otherwise as integer class indices.

    Args:
        input: logits (N, C), (N, C, d1, ...) or unbatched (C,).
        target: class indices (N,), (N, d1, ...) or (), or floating class probabilities of the input's shape.
        weight: optional per-class weight of shape (C,).
        ignore_index: class-index target value to skip (not allowed with probabilities).
        reduction: 'none' | 'mean' | 'sum'; with class indices 'mean' divides by the summed weights of the
            non-ignored items, with probabilities by the number of items.
        label_smoothing: eps in [0, 1]: the target becomes (1 - eps) target + eps / C.

    Example:
        >>> F.cross_entropy(lamina.tensor([[2.0, 0.0, 0.0]]), lamina.tensor([0]))
        tensor(0.2395)
    """
    op = "cross_entropy"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target, weight = tensor_arg(input), tensor_arg(target), tensor_arg(weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{op}(): argument 'label_smoothing' must be between 0.0 and 1.0, got {label_smoothing}")
    x, t = input._data, target._data
    if x.ndim >= 1 and t.shape == x.shape:
        if x.dtype.kind != "f" or t.dtype.kind != "f":
            raise DTypeError(f"{op}(): a target of the input's shape {tuple(x.shape)} is read as class "
                             f"probabilities and must be floating point like the input; got input {x.dtype}, "
                             f"target {t.dtype}")
        n_classes = x.shape[0 if x.ndim == 1 else 1]
        if weight is not None and weight._data.shape != (n_classes,):
            raise ShapeError(f"{op}(): argument 'weight' must be a 1-D tensor with {n_classes} elements (one per "
                             f"class), got shape {tuple(weight._data.shape)}")
        if ignore_index >= 0:
            raise ArgumentError(f"{op}(): argument 'ignore_index' is not supported for class-probability "
                                f"targets, got ignore_index={ignore_index}")
        return CrossEntropyProb.apply(input, target, weight, reduction=reduction, label_smoothing=label_smoothing)
    _class_check(op, input, target, weight, int(ignore_index), allow_probs=True)
    refuse_grad(op, "weight", weight)
    return CrossEntropy.apply(input, target, weight, ignore_index=int(ignore_index), reduction=reduction,
                              label_smoothing=label_smoothing)


# ---- Poisson and Gaussian negative log-likelihood -------------------------------------------------------

class PoissonNLLLoss(Op):
    """exp(x) - t x (``log_input``) or x - t log(x + eps), plus Stirling's t log t - t + 0.5 log(2 pi t) where
    t > 1 when ``full``."""

    @staticmethod
    def forward(ctx, x, t, log_input, full, eps, reduction):
        dt = promote_types(x.dtype, t.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype))
        ctx.reduction, ctx.log_input, ctx.full, ctx.eps = reduction, log_input, full, eps
        x, t = x.astype(dt, copy=False), t.astype(dt, copy=False)
        with xp.errstate(divide="ignore", invalid="ignore"):
            loss = xp.exp(x) - t * x if log_input else x - t * xp.log(x + eps)
            if full:
                loss = loss + xp.where(t > 1, t * xp.log(t) - t + 0.5 * xp.log((2 * math.pi) * t), 0.0)
        ctx.save_for_backward(x, t)
        ctx.denom = loss.size
        return reduce_loss(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad_scale(grad, ctx.reduction, ctx.denom)
        gx = gt = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if need[0]:
                gx = xp.exp(x) - t if ctx.log_input else 1.0 - t / (x + ctx.eps)
                gx = grad_for(gx * g, *ctx.metas[0])
            if need[1]:
                gt = -x if ctx.log_input else -xp.log(x + ctx.eps)
                if ctx.full:     # d/dt of the Stirling term: log t + 1 / (2 t)
                    gt = gt + xp.where(t > 1, xp.log(t) + 0.5 / t, 0.0)
                gt = grad_for(gt * g, *ctx.metas[1])
        return gx, gt


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of ``target`` under a Poisson distribution with rate ``input``.

    Args:
        log_input: input is the log of the rate (then the loss is ``exp(input) - target * input``).
        full: add the Stirling approximation of ``log(target!)`` (for targets > 1).
        eps: keeps ``log(input + eps)`` finite when ``log_input`` is False.
    """
    op = "poisson_nll_loss"
    reduction = check_reduction(op, reduction, size_average, reduce)
    input, target = tensor_arg(input), tensor_arg(target)
    float_result_dtype(op, input, target)
    broadcast_shape(op, input, target)
    return PoissonNLLLoss.apply(input, target, log_input=bool(log_input), full=bool(full), eps=float(eps),
                                reduction=reduction)


class GaussianNLLLoss(Op):
    """0.5 (log v + (x - t)^2 / v) (+ 0.5 log(2 pi) when ``full``), with v = max(var, eps).

    As in torch, the clamp of var is invisible to autograd: var's gradient is 0.5 (1 / v - (x - t)^2 / v^2)
    even where var < eps.
    """

    @staticmethod
    def forward(ctx, x, t, var, full, eps, unsqueeze_var, reduction):
        dt = promote_types(promote_types(x.dtype, t.dtype), var.dtype)
        ctx.metas = ((x.shape, x.dtype), (t.shape, t.dtype), (var.shape, var.dtype))
        ctx.reduction = reduction
        if unsqueeze_var:                           # var of shape input.shape[:-1]: one variance per row
            var = var[..., None]
        v = xp.maximum(var.astype(dt, copy=False), eps)
        d = xp.subtract(x, t, dtype=dt)
        loss = xp.log(v) + d * d / v
        loss *= 0.5
        if full:
            loss += 0.5 * math.log(2 * math.pi)
        ctx.save_for_backward(d, v)
        ctx.denom = loss.size
        return reduce_loss(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        d, v = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad_scale(grad, ctx.reduction, ctx.denom)
        gx = gt = gv = None
        if need[0] or need[1]:
            gd = d / v * g
            gx = grad_for(gd, *ctx.metas[0]) if need[0] else None
            gt = -grad_for(gd, *ctx.metas[1]) if need[1] else None
        if need[2]:
            var_shape, var_dtype = ctx.metas[2]
            gv = (1.0 - d * d / v) / v * (0.5 * g)
            gv = grad_for(gv, v.shape, var_dtype).reshape(var_shape)
        return gx, gt, gv


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target`` under Gaussians with mean ``input`` and variance ``var``.

    Args:
        var: a tensor of the input's shape, of the input's shape without its last dim or with one dim of size
            1 (one variance shared along it), or a Python float; every entry >= 0.
        full: add the constant 0.5 log(2 pi).
        eps: variances are clamped at eps for stability.
    """
    op = "gaussian_nll_loss"
    reduction = check_reduction(op, reduction)
    input, target = tensor_arg(input), tensor_arg(target)
    shape = tuple(input._data.shape)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ArgumentError(f"{op}(): argument 'var' must be non-negative, got {var}")
        var = tensor_arg(xp.full(shape, float(var), dtype=input._data.dtype))
    var = tensor_arg(var)
    float_result_dtype(op, input, target, var)
    if var._data.size and (var._data < 0).any():
        raise ArgumentError(f"{op}(): argument 'var' has negative entries (min {var._data.min()})")
    v_shape = tuple(var._data.shape)
    unsqueeze = v_shape != shape and v_shape == shape[:-1] and len(shape) > 0
    if v_shape != shape and not unsqueeze:
        mismatched = [s for a, s in zip(shape, v_shape) if a != s]
        if len(v_shape) != len(shape) or sum(mismatched) != 1:
            raise ShapeError(f"{op}(): argument 'var' of shape {v_shape} does not fit the input shape {shape}: "
                             f"expected {shape}, {shape[:-1]} or {shape} with one dim of size 1")
    broadcast_shape(op, input, target)
    return GaussianNLLLoss.apply(input, target, var, full=bool(full), eps=float(eps), unsqueeze_var=unsqueeze,
                                 reduction=reduction)

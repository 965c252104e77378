"""Scaled dot-product attention, fused: the scores, a masked softmax that never produces NaN, dropout of the
weights and the weighted sum of values in one operator, with a backward of four batched GEMMs."""
import math

from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.ops._util import as_tensor_arg, unbroadcast
from lamina.ops.nn import _broadcast_shape, _optional, _require_float, _require_same_dtype, _shape
from lamina.random import default_generator


class ScaledDotProductAttention(Op):
    """softmax(q k^T * scale + mask) v, fused on raw arrays: rows whose every key is masked give zero weights
    (so zero output and zero gradients) instead of NaN.

    ``mask`` is None, a bool array (True = take part) or an additive float array; ``drop`` is the dropout
    multiplier of the attention weights (None for no dropout); ``groups`` repeats key/value heads for GQA.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask=None, scale=1.0, causal=False, drop=None, groups=1):
        k_all, v_all = _repeat_heads(k, groups), _repeat_heads(v, groups)
        n_q, n_k = q.shape[-2], k.shape[-2]
        if q.shape[-1] == 0:
            s = xp.zeros(xp.broadcast_shapes(q.shape[:-2], k_all.shape[:-2]) + (n_q, n_k), q.dtype)
        else:
            s = q @ xp.swapaxes(k_all, -1, -2)
            s *= scale
        if causal:
            mask = xp.tril(xp.ones((n_q, n_k), dtype=bool))
        if mask is not None:
            s = xp.where(mask, s, -math.inf) if mask.dtype == bool else s + mask
        if s.size and n_k:
            m = s.max(axis=-1, keepdims=True)
            m[~xp.isfinite(m)] = 0.0  # fully masked row: keep exp(-inf) = 0 instead of exp(nan)
            w = xp.exp(s - m)
            total = w.sum(axis=-1, keepdims=True)
            w /= xp.where(total == 0, 1.0, total).astype(w.dtype)
        else:
            w = xp.zeros(s.shape, q.dtype)
        out = (w if drop is None else w * drop) @ v_all
        ctx.scale, ctx.groups, ctx.drop = scale, groups, drop
        ctx.float_mask_shape = mask.shape if mask is not None and mask.dtype != bool else None
        ctx.save_for_backward(q, k, v, w)
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        k_all, v_all = _repeat_heads(k, ctx.groups), _repeat_heads(v, ctx.groups)
        gq = gk = gv = gmask = None
        if need[2]:
            wd = w if ctx.drop is None else w * ctx.drop
            gv = unbroadcast(_sum_heads(xp.swapaxes(wd, -1, -2) @ grad, ctx.groups), v.shape)
        gw = grad @ xp.swapaxes(v_all, -1, -2)
        if ctx.drop is not None:
            gw *= ctx.drop
        # softmax backward: ds = w * (dw - sum(dw * w)); fully masked rows have w = 0, so ds = 0 there
        gs = w * (gw - (gw * w).sum(axis=-1, keepdims=True))
        if need[0]:
            gq = unbroadcast((gs @ k_all) * ctx.scale, q.shape)
        if need[1]:
            gk = unbroadcast(_sum_heads((xp.swapaxes(gs, -1, -2) @ q) * ctx.scale, ctx.groups), k.shape)
        if need[3] and ctx.float_mask_shape is not None:
            gmask = unbroadcast(gs, ctx.float_mask_shape)
        return gq, gk, gv, gmask


def _repeat_heads(x, groups):
    # grouped-query attention: each key/value head (dim -3) serves `groups` consecutive query heads
    return x if groups == 1 else xp.repeat(x, groups, axis=-3)


def _sum_heads(g, groups):
    # adjoint of _repeat_heads: sum each run of `groups` consecutive heads
    if groups == 1:
        return g
    shape = g.shape
    return g.reshape(shape[:-3] + (shape[-3] // groups, groups) + shape[-2:]).sum(axis=-3)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """Attention ``softmax(query @ key^T * scale + mask) @ value``, fused forward and backward.

    Args:
        query: tensor of shape ``(*, L, E)``.
        key: tensor of shape ``(*, S, E)``; batch dims broadcast with query's.
        value: tensor of shape ``(*, S, Ev)``.
        attn_mask: bool tensor (True = the key takes part) or float tensor added to the scores, broadcastable to
            ``(*, L, S)``.
        dropout_p: dropout probability of the attention weights (from Lamina's default generator).
        is_causal: mask key j for query i when j > i (top-left aligned); exclusive with ``attn_mask``.
        scale: factor of the scores; default ``1 / sqrt(E)``.
        enable_gqa: allow fewer key/value heads (dim -3) than query heads, each shared by a group of queries.

    Returns:
        Tensor of shape ``(*, L, Ev)``. A query whose keys are all masked gets zero output and zero gradients
        (the same as torch 2.13's CPU result), never NaN.
    """
    query, key, value, attn_mask = as_tensor_arg(query), as_tensor_arg(key), as_tensor_arg(value), \
        _optional(attn_mask)
    op = "scaled_dot_product_attention"
    sq, sk, sv = _shape(query), _shape(key), _shape(value)
    if min(len(sq), len(sk), len(sv)) < 2:
        raise ShapeError(f"{op}(): query, key and value need at least 2 dims, got shapes {sq}, {sk} and {sv}")
    _require_float(op, "query", query)
    _require_same_dtype(op, "query", query, "key", key)
    _require_same_dtype(op, "query", query, "value", value)
    if sq[-1] != sk[-1]:
        raise ShapeError(f"{op}(): query of shape {sq} and key of shape {sk} must have the same embedding dim "
                         f"(last dim), got {sq[-1]} and {sk[-1]}")
    if sk[-2] != sv[-2]:
        raise ShapeError(f"{op}(): key of shape {sk} and value of shape {sv} must have the same sequence length "
                         f"(dim -2), got {sk[-2]} and {sv[-2]}")
    if scale is not None and (not isinstance(scale, (int, float, xp.number)) or isinstance(scale, bool)):
        raise ArgumentError(f"{op}(): argument 'scale' must be a number or None, got {scale!r}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ArgumentError(f"{op}(): dropout probability has to be between 0 and 1, but got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ArgumentError(f"{op}(): explicit attn_mask should not be set when is_causal=True")
    groups = 1
    if enable_gqa and len(sq) >= 3 and len(sk) >= 3 and sq[-3] != sk[-3]:
        if sk[-3] != sv[-3] or sk[-3] == 0 or sq[-3] % sk[-3]:
            raise ShapeError(f"{op}(): with enable_gqa the number of key/value heads (dim -3) must divide the "
                             f"number of query heads, got query of shape {sq}, key {sk} and value {sv}")
        groups = sq[-3] // sk[-3]
    try:
        kv_batch = tuple(xp.broadcast_shapes(sk[:-2], sv[:-2]))
        if groups > 1:
            kv_batch = kv_batch[:-1] + (kv_batch[-1] * groups,)
        batch = tuple(xp.broadcast_shapes(sq[:-2], kv_batch))
    except ValueError:
        raise ShapeError(f"{op}(): the batch dims of query {sq}, key {sk} and value {sv} are not broadcastable"
                         ) from None
    scores_shape = batch + (sq[-2], sk[-2])
    if attn_mask is not None:
        mdtype = attn_mask._data.dtype
        if mdtype != xp.bool_ and mdtype != query._data.dtype:
            raise DTypeError(f"{op}(): attn_mask must be bool or have the dtype of query ({query.dtype}), got "
                             f"{attn_mask.dtype}")
        if _broadcast_shape(op, "attn_mask", _shape(attn_mask), "attention scores", scores_shape) != scores_shape:
            raise ShapeError(f"{op}(): attn_mask of shape {_shape(attn_mask)} does not broadcast to the attention "
                             f"scores' shape {scores_shape}")
    if scale is None:
        scale = 1.0 / math.sqrt(sq[-1]) if sq[-1] else math.inf
    drop = None
    if dropout_p > 0.0:
        if dropout_p == 1.0:
            drop = xp.zeros((), query._data.dtype)
        else:
            keep = default_generator.np.random(scores_shape, dtype=xp.float32) >= dropout_p
            drop = keep.astype(query._data.dtype) * (1.0 / (1.0 - dropout_p))
    return ScaledDotProductAttention.apply(query, key, value, attn_mask, scale=float(scale),
                                           causal=bool(is_causal), drop=drop, groups=groups)

"""Operators: atomic differentiable math on tensors, one family per file.

Every public operator is a class with ``forward``/``backward`` on raw arrays (see ``lamina.autograd.Op``) and a
lowercase function with torch's name and signature. This module gathers the functions; ``lamina`` and
``lamina.nn.functional`` re-export the ones torch has in those namespaces.
"""
# --- elementwise ---
from lamina.ops.elementwise import (
    add, sub, subtract, mul, multiply, div, divide, true_divide, floor_divide, remainder, fmod, pow, float_power,
    maximum, minimum, fmax, fmin, atan2, arctan2, lerp, addcmul, addcdiv, neg, negative, abs, absolute, sign, sgn,
    floor, ceil, trunc, fix, round, frac, exp, exp2, log, log2, log10, log1p, expm1, sqrt, rsqrt, square,
    reciprocal, sin, cos, tan, asin, acos, arcsin, arccos, atan, arctan, sinh, cosh, tanh, sigmoid, erf, clamp,
    clip, clamp_min, clamp_max, where, masked_fill, nan_to_num, clone, cast, copy_from, full_like_value, eq, ne,
    lt, le, gt, ge, greater, greater_equal, less, less_equal, not_equal, equal, isclose, allclose, logical_and,
    logical_or, logical_xor, logical_not, bitwise_and, bitwise_or, bitwise_xor, bitwise_not, isnan, isinf,
    isfinite, isposinf, isneginf, is_tensor, is_floating_point, numel,
)
from lamina.ops.activation import (
    relu, relu6, hardtanh, leaky_relu, elu, selu, celu, gelu, silu, softplus, mish, logsigmoid,
    hardsigmoid, hardswish, softsign, threshold, tanhshrink, hardshrink, softshrink,
)
# --- reduce ---
from lamina.ops.reduce import (
    all, amax, amin, any, argmax, argmin, count_nonzero, cumprod, cumsum, logsumexp, max, mean, median, min,
    norm, prod, std, std_mean, sum, var, var_mean, vector_norm,
)
# --- linalg ---
from lamina.ops.linalg import (
    addmm, baddbmm, bmm, dot, einsum, ger, matmul, mm, mv, outer, tensordot, vdot,
)
# --- shape ---
from lamina.ops.shape import (
    broadcast_to, cat, chunk, concat, concatenate, contiguous, expand, expand_as, flatten, flip, hstack, moveaxis,
    movedim, narrow, permute, repeat, reshape, roll, split, squeeze, stack, swapaxes, swapdims, t, tile, transpose,
    tril, triu, unbind, unflatten, unsqueeze, view, vstack,
)
# --- index ---
from lamina.ops.index import (
    argsort, argwhere, gather, getitem, index_add, index_copy, index_fill, index_select, masked_select, nonzero,
    one_hot, scatter, scatter_add, setitem, setitem_, sort, take_along_dim, topk,
)
# --- conv ---
# (unfold/fold stay in lamina.ops.conv: lamina.ops.unfold is Tensor.unfold's name, a different operator.)
from lamina.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, pad
from lamina.ops.pool import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, avg_pool1d, avg_pool2d,
    interpolate, max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices,
)
# --- nn ---
from lamina.ops.nn import (
    alpha_dropout, bilinear, cosine_similarity, dropout, dropout1d, dropout2d, dropout3d, embedding,
    feature_alpha_dropout, linear, log_softmax, normalize, pairwise_distance, softmax, softmin,
)
from lamina.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from lamina.ops.attention import scaled_dot_product_attention
# --- loss ---
from lamina.ops.loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, gaussian_nll_loss, kl_div, nll_loss,
    poisson_nll_loss,
)
from lamina.ops.loss_distance import (
    cosine_embedding_loss, hinge_embedding_loss, huber_loss, l1_loss, margin_ranking_loss, mse_loss,
    smooth_l1_loss, soft_margin_loss,
)

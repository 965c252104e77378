"""Lamina: a readable deep-learning framework on NumPy, in the PyTorch and Keras idioms.

``lamina`` mirrors the ``torch`` namespace: tensors, creation functions, operators, autograd and dtypes.
"""
from lamina import autograd
from lamina.autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from lamina.dtypes import (
    dtype, float16, float32, float64, uint8, int8, int16, int32, int64, bool_ as bool,
    get_default_dtype, set_default_dtype, promote_types as _promote_numpy,
)
from lamina.tensor import Tensor, Size, device
from lamina.creation import (
    tensor, as_tensor, from_numpy, zeros, ones, empty, full, zeros_like, ones_like, empty_like, full_like,
    arange, linspace, logspace, eye,
)
from lamina.random import (
    Generator, default_generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state, rand, randn,
    randint, randperm, rand_like, randn_like, randint_like, normal, bernoulli, multinomial,
)
from lamina.errors import LaminaError, ShapeError, ArgumentError, DimError, DTypeError, AutogradError
from lamina import ops

half, float, double, short, int, long = float16, float32, float64, int16, int32, int64

# --- elementwise ---
from lamina.ops.elementwise import (
    add, sub, subtract, mul, multiply, div, divide, true_divide, floor_divide, remainder, fmod, pow, float_power,
    maximum, minimum, fmax, fmin, atan2, arctan2, lerp, addcmul, addcdiv, neg, negative, abs, absolute, sign, sgn,
    floor, ceil, trunc, fix, round, frac, exp, exp2, log, log2, log10, log1p, expm1, sqrt, rsqrt, square,
    reciprocal, sin, cos, tan, asin, acos, arcsin, arccos, atan, arctan, sinh, cosh, tanh, sigmoid, erf, clamp,
    clip, clamp_min, clamp_max, where, masked_fill, nan_to_num, clone, eq, ne,
    lt, le, gt, ge, greater, greater_equal, less, less_equal, not_equal, equal, isclose, allclose, logical_and,
    logical_or, logical_xor, logical_not, bitwise_and, bitwise_or, bitwise_xor, bitwise_not, isnan, isinf,
    isfinite, isposinf, isneginf, is_tensor, is_floating_point, numel,
)
from lamina.ops.activation import relu, relu6, selu, celu, hardshrink
# --- reduce ---
from lamina.ops.reduce import (
    all, amax, amin, any, argmax, argmin, count_nonzero, cumprod, cumsum, logsumexp, max, mean, median, min,
    norm, prod, std, std_mean, sum, var, var_mean,
)
# --- linalg ---
from lamina.ops.linalg import addmm, baddbmm, bmm, dot, einsum, ger, matmul, mm, mv, outer, tensordot, vdot
from lamina import linalg
# --- shape ---
from lamina.ops.shape import (
    broadcast_to, cat, chunk, concat, concatenate, flatten, flip, hstack, moveaxis, movedim, narrow, permute,
    reshape, roll, split, squeeze, stack, swapaxes, swapdims, t, tile, transpose, tril, triu, unbind, unflatten,
    unsqueeze, vstack,
)
# --- index ---
from lamina.ops.index import (
    argsort, argwhere, gather, index_add, index_copy, index_fill, index_select, masked_select, nonzero, scatter,
    scatter_add, sort, take_along_dim, topk,
)
# --- conv ---
from lamina.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
# torch.adaptive_max_pool1d always returns (values, indices), unlike the functional one.
from lamina.ops.pool import (
    adaptive_avg_pool1d, adaptive_max_pool1d_with_indices as adaptive_max_pool1d, avg_pool1d, max_pool1d,
    max_pool1d_with_indices, max_pool2d,
)
# --- nn ---
# torch.batch_norm, torch.instance_norm and torch.embedding take their arguments in another order than the
# functional versions, so only the names whose torch.X signature matches are exported here.
from lamina.ops.nn import (
    alpha_dropout, bilinear, cosine_similarity, dropout, feature_alpha_dropout, log_softmax, pairwise_distance,
    softmax,
)
from lamina.ops.normalization import group_norm, layer_norm, rms_norm
# --- loss ---
# None: torch.kl_div, torch.poisson_nll_loss, ... are ATen bindings with integer reduction codes; the losses
# live in lamina.nn.functional with torch.nn.functional's signatures.

# --- serialization ---
from lamina.serialization import save, load

from lamina.sampling import sample, generate  # noqa: E402
from lamina import nn  # noqa: E402  (nn builds on everything above)
from lamina.summary import summary  # noqa: E402  (the function shadows the module name, like torchinfo's)
from lamina import optim  # noqa: E402
from lamina import utils  # noqa: E402
from lamina import models  # noqa: E402

__version__ = "0.1.0"


def promote_types(type1, type2):
    """The dtype torch's promotion gives two dtypes (``lamina.promote_types(lamina.int64, lamina.float32)``)."""
    from lamina.dtypes import as_dtype, from_numpy
    return from_numpy(_promote_numpy(as_dtype(type1).numpy, as_dtype(type2).numpy))


def result_type(tensor1, tensor2):
    from lamina.dtypes import result_type as _rt, from_numpy
    return from_numpy(_rt(tensor1, tensor2))


def is_nonzero(input):
    return builtins_bool(input)


def get_num_threads():
    import os
    return os.cpu_count() or 1


builtins_bool = __builtins__["bool"] if isinstance(__builtins__, dict) else __builtins__.bool

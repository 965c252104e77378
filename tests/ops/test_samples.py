"""One sweep of RELIABILITY.md's sample kinds over the operators of issue 2, against torch.

Each operator runs on a 0-d input, on zero-size inputs and on a transposed (non-contiguous) input. Where torch
accepts the sample, forward, backward and float64 gradcheck must match it (``check_op``); where torch refuses
it, Lamina must refuse it too, with one of its typed errors rather than a NumPy traceback or a silent result.
"""
import numpy as np
import pytest
import torch

import lamina
from lamina.errors import LaminaError
from tests.helpers import check_op, rand


def F(lib):
    return lib.nn.functional


def _const(L, x, *shape):
    """Fixed values in [0, 1) of ``shape`` (x's by default) and x's dtype: targets and weights that do not
    depend on x, so finite differences see only x."""
    shape = shape or tuple(x.shape)
    n = int(np.prod(shape))
    return (L.arange(n, dtype=x.dtype).reshape(shape) % 5 + 1) / 6


# name -> fn(lib, x) on one float tensor; every one accepts any shape of at least `min_dims` dims.
UNARY = {
    "neg": lambda L, x: -x, "abs": lambda L, x: x.abs(), "sign*x": lambda L, x: x.sign() * x,
    "exp": lambda L, x: x.exp(), "log": lambda L, x: (x.abs() + 0.5).log(), "log1p": lambda L, x: x.abs().log1p(),
    "expm1": lambda L, x: x.expm1(), "sqrt": lambda L, x: (x.abs() + 0.5).sqrt(),
    "rsqrt": lambda L, x: (x.abs() + 0.5).rsqrt(), "square": lambda L, x: x.square(),
    "reciprocal": lambda L, x: (x.abs() + 0.5).reciprocal(), "sin": lambda L, x: x.sin(),
    "cos": lambda L, x: x.cos(), "tanh": lambda L, x: x.tanh(), "sigmoid": lambda L, x: x.sigmoid(),
    "relu": lambda L, x: F(L).relu(x), "relu6": lambda L, x: F(L).relu6(x * 8),
    "leaky_relu": lambda L, x: F(L).leaky_relu(x, 0.1), "elu": lambda L, x: F(L).elu(x),
    "selu": lambda L, x: F(L).selu(x), "gelu": lambda L, x: F(L).gelu(x),
    "gelu_tanh": lambda L, x: F(L).gelu(x, approximate="tanh"), "silu": lambda L, x: F(L).silu(x),
    "softplus": lambda L, x: F(L).softplus(x), "hardtanh": lambda L, x: F(L).hardtanh(x * 2),
    "clamp": lambda L, x: x.clamp(-0.5, 0.5), "clip": lambda L, x: L.clip(x, min=-0.2),
    "pow": lambda L, x: (x.abs() + 0.5) ** 1.5, "div_floor": lambda L, x: L.div(x, 0.7, rounding_mode="floor") * x,
    "floor_ceil_round": lambda L, x: x.floor() + x.ceil() + (x * 3).round(),
    "masked_fill": lambda L, x: x.masked_fill(x > 0.5, -1.0), "where": lambda L, x: L.where(x > 0, x, x * 0.5),
    "maximum": lambda L, x: L.maximum(x, x.flip(0) if x.ndim else -x),
    "sum": lambda L, x: x.sum(), "sum_dim": lambda L, x: x.sum(0, keepdim=True), "mean": lambda L, x: x.mean(-1),
    "var": lambda L, x: x.var(0), "std": lambda L, x: x.std(-1, correction=0), "prod": lambda L, x: x.prod(0),
    "amax": lambda L, x: x.amax(0), "max_dim": lambda L, x: x.max(0), "min_dim": lambda L, x: x.min(-1),
    "argmax": lambda L, x: x.argmax(0), "logsumexp": lambda L, x: x.logsumexp(0), "norm": lambda L, x: x.norm(),
    "norm_dim": lambda L, x: x.norm(1, dim=0), "cumsum": lambda L, x: x.cumsum(0), "all": lambda L, x: (x > 0).all(0),
    "softmax": lambda L, x: F(L).softmax(x, 0), "log_softmax": lambda L, x: F(L).log_softmax(x, -1),
    "reshape": lambda L, x: x.reshape(-1), "flatten": lambda L, x: x.flatten(), "unsqueeze": lambda L, x: x.unsqueeze(0),
    "expand": lambda L, x: x.expand(2, *x.shape), "repeat": lambda L, x: x.repeat(2, *([1] * x.ndim)),
    "flip": lambda L, x: x.flip(0), "roll": lambda L, x: x.roll(1, 0), "cat": lambda L, x: L.cat([x, x * 2]),
    "stack": lambda L, x: L.stack([x, x * 2], 0), "split": lambda L, x: x.split(1), "chunk": lambda L, x: x.chunk(2),
    "unbind": lambda L, x: x.unbind(0), "topk": lambda L, x: x.topk(1, dim=0), "sort": lambda L, x: x.sort(0),
    "argsort": lambda L, x: x.argsort(0), "index_select": lambda L, x: x.index_select(0, L.tensor([0, 0])),
    "masked_select": lambda L, x: x.masked_select(x > 0), "getitem": lambda L, x: x[..., :1],
    "normalize": lambda L, x: F(L).normalize(x, dim=0), "dropout_eval": lambda L, x: F(L).dropout(x, 0.5, False),
    "cosine_similarity": lambda L, x: F(L).cosine_similarity(x, x.exp(), dim=0),
}
MATRIX = {   # at least 2-d inputs
    "t": lambda L, x: x.t(), "transpose": lambda L, x: x.transpose(0, 1), "permute": lambda L, x: x.permute(1, 0),
    "squeeze": lambda L, x: x[:1].squeeze(0), "tril": lambda L, x: x.tril(), "triu": lambda L, x: x.triu(1),
    "unflatten": lambda L, x: x.unflatten(1, (1, -1)), "tile": lambda L, x: x.tile((2, 1)),
    "matmul": lambda L, x: x @ x.t(), "mm": lambda L, x: L.mm(x.t(), x), "einsum": lambda L, x: L.einsum("ij,kj->ik", x, x),
    "outer": lambda L, x: L.outer(x[0], x[:, 0]), "dot": lambda L, x: L.dot(x[0], x[0]),
    "bmm": lambda L, x: L.bmm(x[None], x.t()[None]), "linear": lambda L, x: F(L).linear(x, x, x[0]),
    "gather": lambda L, x: x.gather(1, L.zeros(x.shape[0], 1, dtype=L.int64)),
    "scatter": lambda L, x: x.scatter(1, L.zeros(x.shape[0], 1, dtype=L.int64), x[:, :1] * 3),
    "scatter_add": lambda L, x: x.scatter_add(0, L.zeros(1, x.shape[1], dtype=L.int64), x[:1]),
    "layer_norm": lambda L, x: F(L).layer_norm(x, x.shape[-1:]),
    "batch_norm": lambda L, x: F(L).batch_norm(x, None, None, training=True),
    "cross_entropy": lambda L, x: F(L).cross_entropy(x, L.zeros(x.shape[0], dtype=L.int64)),
    "cross_entropy_probs": lambda L, x: F(L).cross_entropy(x, _const(L, x).softmax(1), label_smoothing=0.1),
    "nll_loss": lambda L, x: F(L).nll_loss(x, L.zeros(x.shape[0], dtype=L.int64), reduction="sum"),
    "mse_loss": lambda L, x: F(L).mse_loss(x, _const(L, x)), "l1_loss": lambda L, x: F(L).l1_loss(x, _const(L, x)),
    "smooth_l1_loss": lambda L, x: F(L).smooth_l1_loss(x, _const(L, x)), "huber_loss": lambda L, x: F(L).huber_loss(x, -x),
    "bce": lambda L, x: F(L).binary_cross_entropy(x.sigmoid(), _const(L, x)),
    "bce_logits": lambda L, x: F(L).binary_cross_entropy_with_logits(x, _const(L, x), pos_weight=_const(L, x)[0] + 1),
    "kl_div": lambda L, x: F(L).kl_div(x.log_softmax(1), _const(L, x).softmax(1), reduction="batchmean"),
    "one_hot_mm": lambda L, x: F(L).one_hot(L.zeros(x.shape[1], dtype=L.int64), x.shape[0]).to(x.dtype) @ x,
    "embedding": lambda L, x: F(L).embedding(L.zeros(3, dtype=L.int64), x),
    "pad": lambda L, x: F(L).pad(x, (1, 2), value=0.5), "pad_reflect": lambda L, x: F(L).pad(x[None], (1, 1), "reflect"),
    "pad_replicate": lambda L, x: F(L).pad(x[None], (1, 1), "replicate"),
    "pad_circular": lambda L, x: F(L).pad(x[None], (1, 1), "circular"),
}
IMAGE = {    # at least 4-d inputs (N, C, H, W) with H, W >= 2
    "conv2d": lambda L, x: F(L).conv2d(x, _const(L, x, 2, x.shape[1], 2, 2), _const(L, x, 2), padding=1),
    "conv1d": lambda L, x: F(L).conv1d(x[:, :, 0], _const(L, x, 2, x.shape[1], 2), padding="same"),
    "conv_transpose2d": lambda L, x: F(L).conv_transpose2d(x, _const(L, x, x.shape[1], 2, 2, 2), stride=2),
    "max_pool2d": lambda L, x: F(L).max_pool2d(x, 2, 1, 1), "avg_pool2d": lambda L, x: F(L).avg_pool2d(x, 2, 1, 1),
    "max_pool1d": lambda L, x: F(L).max_pool1d(x[:, :, 0], 2, 1), "avg_pool1d": lambda L, x: F(L).avg_pool1d(x[:, :, 0], 2),
    "adaptive_avg_pool2d": lambda L, x: F(L).adaptive_avg_pool2d(x, 1),
    "adaptive_max_pool2d": lambda L, x: F(L).adaptive_max_pool2d(x, (1, 2)),
    "group_norm": lambda L, x: F(L).group_norm(x, 1), "interpolate": lambda L, x: F(L).interpolate(x, scale_factor=2),
    "interpolate_bilinear": lambda L, x: F(L).interpolate(x, size=(3, 5), mode="bilinear"),
    "sdpa": lambda L, x: F(L).scaled_dot_product_attention(x, x, x, is_causal=True),
}


def check_sample(fn, *inputs, **kw):
    """check_op where torch accepts the sample; a typed Lamina error where torch raises."""
    try:
        fn(torch, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs])
    except Exception as torch_error:  # torch refuses: so must Lamina, with a LaminaError
        with pytest.raises(LaminaError):
            fn(lamina, *[lamina.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs])
        return torch_error
    check_op(fn, *inputs, **kw)
    return None


SHAPES = {"0d": (), "empty": (0,), "empty2": (0, 3), "empty3": (1, 0, 3)}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_on_0d_and_zero_size(name, shape):
    check_sample(UNARY[name], rand(*SHAPES[shape]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(MATRIX))
def test_transposed_input(name):
    fn = {**UNARY, **MATRIX}[name]
    # (4, 3) stored transposed: every operator sees a non-contiguous tensor
    check_sample(lambda L, x: fn(L, x.t()), rand(3, 4), rtol=1e-5, atol=1e-5)


# Known gaps, each a bug report for the file's owner; strict, so the test says when one is fixed.
@pytest.mark.parametrize("name,shape", [(n, s) for n in sorted(MATRIX) for s in [(0, 3), (3, 0)]])
def test_matrix_ops_on_zero_size(name, shape):
    check_sample(MATRIX[name], rand(*shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(IMAGE))
def test_image_ops_on_channels_last_and_empty_batch(name):
    fn = IMAGE[name]
    # an NHWC array seen as NCHW: the layout a channels-last pipeline hands over
    check_sample(lambda L, x: fn(L, x.permute(0, 3, 1, 2)), rand(2, 3, 4, 2), rtol=1e-4, atol=1e-5)
    check_sample(fn, rand(0, 2, 3, 4), rtol=1e-4, atol=1e-5)

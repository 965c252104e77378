"""keras.ops over lamina tensors against real Keras 3 (torch backend): values, shapes and Keras's dtypes."""
import numpy as np
import pytest
import keras

import lamina
from lamina.keras import ops
from tests.helpers import rand, check_error

kops = keras.ops


def _np(x):
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    if isinstance(x, lamina.Tensor):
        return x.detach().numpy()
    return kops.convert_to_numpy(x)


def _same(ours, theirs, rtol=1e-5, atol=1e-6):
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b, rtol, atol)
        return
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != keras {b.shape}"
    assert a.dtype == b.dtype, f"dtype {a.dtype} != keras {b.dtype}"
    if b.dtype.kind in "iub":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


X = rand(2, 3, 4, seed=1)
Y = rand(2, 3, 4, seed=2)
I = rand(2, 3, dtype=np.int32, low=-3, high=5, seed=3)
P = np.abs(rand(2, 3, 4, seed=4)) + 0.1

UNARY = ["abs", "negative", "sign", "square", "floor", "ceil", "trunc", "exp", "expm1", "log1p", "sin", "cos",
         "tan", "arctan", "sinh", "cosh", "tanh", "erf", "relu", "relu6", "sigmoid", "softplus", "softsign", "silu",
         "swish", "log_sigmoid", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_tanh", "elu", "selu", "celu",
         "gelu", "tanh_shrink", "soft_shrink", "hard_shrink", "isnan", "isfinite", "logical_not", "ravel"]


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    _same(getattr(ops, name)(lamina.tensor(X)), getattr(kops, name)(X))


@pytest.mark.parametrize("name", ["sqrt", "log", "log2", "log10", "rsqrt", "reciprocal", "exp2"])
def test_unary_positive(name):
    _same(getattr(ops, name)(lamina.tensor(P)), getattr(kops, name)(P))


@pytest.mark.parametrize("name", ["abs", "square", "sqrt", "exp", "negative", "sign"])
def test_unary_int_dtypes(name):
    _same(getattr(ops, name)(lamina.tensor(I)), getattr(kops, name)(I))


BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "arctan2", "equal",
          "not_equal", "greater", "greater_equal", "less", "less_equal", "logaddexp", "divide_no_nan"]


@pytest.mark.parametrize("name", BINARY)
def test_binary(name):
    _same(getattr(ops, name)(lamina.tensor(X), lamina.tensor(Y)), getattr(kops, name)(X, Y))
    _same(getattr(ops, name)(lamina.tensor(X), 0.5), getattr(kops, name)(X, 0.5))


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "floor_divide", "mod", "power"])
def test_binary_int_and_scalar(name):
    b = np.abs(I) + 1
    _same(getattr(ops, name)(lamina.tensor(b), 2), getattr(kops, name)(b, 2))
    _same(getattr(ops, name)(lamina.tensor(b), lamina.tensor(b)), getattr(kops, name)(b, b))


REDUCE = ["sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "logsumexp", "any", "all"]


@pytest.mark.parametrize("name", REDUCE)
@pytest.mark.parametrize("axis", [None, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, axis, keepdims):
    x = X > 0 if name in ("any", "all") else X
    expected = getattr(kops, name)(x, axis=axis, keepdims=keepdims)
    if axis is None and keepdims:
        # NumPy's (and Keras-on-JAX/TF's) rule keeps every axis as size 1; Keras's torch backend drops keepdims
        # for some reductions here (sum, max, prod give a 0-d tensor).
        expected = kops.reshape(expected, (1, 1, 1))
    _same(getattr(ops, name)(lamina.tensor(x), axis=axis, keepdims=keepdims), expected)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name):
    _same(getattr(ops, name)(lamina.tensor(X), axis=1), getattr(kops, name)(X, axis=1))
    _same(getattr(ops, name)(lamina.tensor(X)), getattr(kops, name)(X))
    _same(getattr(ops, name)(lamina.tensor(X), axis=-1, keepdims=True), getattr(kops, name)(X, axis=-1, keepdims=True))


def test_integer_reductions_keep_keras_dtypes():
    _same(ops.sum(lamina.tensor(I)), kops.sum(I))
    _same(ops.mean(lamina.tensor(I), axis=0), kops.mean(I, axis=0))
    _same(ops.cumsum(lamina.tensor(I), axis=1), kops.cumsum(I, axis=1))
    _same(ops.cumprod(lamina.tensor(X)), kops.cumprod(X))
    _same(ops.count_nonzero(lamina.tensor(I), axis=1), kops.count_nonzero(I, axis=1))


def test_norm_moments_normalize():
    _same(ops.norm(lamina.tensor(X)), kops.norm(X))
    _same(ops.norm(lamina.tensor(X), axis=-1, keepdims=True), kops.norm(X, axis=-1, keepdims=True))
    _same(ops.norm(lamina.tensor(X), ord=1, axis=1), kops.norm(X, ord=1, axis=1))
    _same(ops.moments(lamina.tensor(X), axes=[0, 1]), kops.moments(X, axes=[0, 1]))
    _same(ops.normalize(lamina.tensor(X), axis=1), kops.normalize(X, axis=1))


def test_shape_functions():
    x = lamina.tensor(X)
    _same(ops.reshape(x, (4, -1)), kops.reshape(X, (4, -1)))
    _same(ops.transpose(x), kops.transpose(X))
    _same(ops.transpose(x, (1, 0, 2)), kops.transpose(X, (1, 0, 2)))
    _same(ops.expand_dims(x, 1), kops.expand_dims(X, 1))
    _same(ops.expand_dims(x, (0, -1)), kops.expand_dims(X, (0, -1)))
    _same(ops.squeeze(ops.expand_dims(x, 1), 1), X)
    _same(ops.concatenate([x, x], axis=1), kops.concatenate([X, X], axis=1))
    _same(ops.stack([x, x], axis=-1), kops.stack([X, X], axis=-1))
    _same(ops.unstack(x, axis=1), kops.unstack(kops.convert_to_tensor(X), axis=1))
    _same(ops.split(x, 2, axis=2), kops.split(X, 2, axis=2))
    _same(ops.split(x, [1, 3], axis=2), kops.split(X, [1, 3], axis=2))
    _same(ops.tile(x, (1, 2, 1)), kops.tile(X, (1, 2, 1)))
    _same(ops.repeat(x, 2, axis=1), kops.repeat(X, 2, axis=1))
    _same(ops.repeat(x, 2), kops.repeat(X, 2))
    _same(ops.flip(x, axis=1), kops.flip(X, axis=1))
    _same(ops.flip(x), kops.flip(X))
    _same(ops.roll(x, 2, axis=2), kops.roll(X, 2, axis=2))
    _same(ops.roll(x, 3), kops.roll(X, 3))
    _same(ops.moveaxis(x, 0, -1), kops.moveaxis(X, 0, -1))
    _same(ops.swapaxes(x, 0, 2), kops.swapaxes(X, 0, 2))
    _same(ops.broadcast_to(lamina.tensor(X[:1]), (3, 3, 4)), kops.broadcast_to(X[:1], (3, 3, 4)))
    _same(ops.tril(lamina.tensor(X[0]), 1), kops.tril(X[0], 1))
    _same(ops.triu(lamina.tensor(X[0])), kops.triu(X[0]))
    _same(ops.slice(x, (0, 1, 1), (2, 2, 2)), kops.slice(X, (0, 1, 1), (2, 2, 2)))
    check_error(lambda: ops.squeeze(x, 1), lamina.ShapeError, "squeeze", "axis 1")


def test_take_pad_where_clip():
    x = lamina.tensor(X)
    idx = np.array([[0, 2], [-1, 1]], dtype=np.int32)
    _same(ops.take(x, lamina.tensor(idx), axis=2), kops.take(X, idx, axis=2))
    # Keras's torch backend wraps a negative index by the first axis' size on the flattened tensor: NumPy's rule.
    _same(ops.take(x, lamina.tensor(idx)), np.take(X, idx))
    along = np.argsort(X, axis=2)
    _same(ops.take_along_axis(x, lamina.tensor(along), axis=2), kops.take_along_axis(X, along, axis=2))
    _same(ops.pad(x, ((0, 0), (1, 2), (2, 1))), kops.pad(X, ((0, 0), (1, 2), (2, 1))))
    _same(ops.pad(x, ((0, 0), (1, 1), (2, 2)), constant_values=3.0),
          kops.pad(X, ((0, 0), (1, 1), (2, 2)), constant_values=3.0))
    _same(ops.pad(x, ((0, 0), (0, 0), (1, 2)), mode="reflect"), kops.pad(X, ((0, 0), (0, 0), (1, 2)), mode="reflect"))
    _same(ops.where(lamina.tensor(X > 0), x, lamina.tensor(Y)), kops.where(X > 0, X, Y))
    _same(ops.where(lamina.tensor(X > 0), x, 0.0), kops.where(X > 0, X, 0.0))
    _same(ops.clip(x, -0.5, 0.5), kops.clip(X, -0.5, 0.5))
    _same(ops.clip(lamina.tensor(I), -1, 2), kops.clip(I, -1, 2))


def test_linear_algebra():
    a, b = rand(3, 4, seed=5), rand(4, 2, seed=6)
    _same(ops.matmul(lamina.tensor(a), lamina.tensor(b)), kops.matmul(a, b), rtol=1e-5)
    _same(ops.matmul(lamina.tensor(X), lamina.tensor(b)), kops.matmul(X, b), rtol=1e-5)
    _same(ops.dot(lamina.tensor(a), lamina.tensor(b)), kops.dot(a, b), rtol=1e-5)
    _same(ops.dot(lamina.tensor(X), lamina.tensor(b[:, 0])), kops.dot(X, b[:, 0]), rtol=1e-5)
    _same(ops.dot(lamina.tensor(a[0]), lamina.tensor(b[:, 0])), kops.dot(a[0], b[:, 0]), rtol=1e-5)
    c = rand(2, 4, 5, seed=7)
    # N-d . M-d is NumPy's dot (as Keras documents it; its torch backend does a matmul instead).
    _same(ops.dot(lamina.tensor(X), lamina.tensor(c)), np.dot(X, c), rtol=1e-5)
    _same(ops.einsum("bij,bjk->bik", lamina.tensor(X), lamina.tensor(c)), kops.einsum("bij,bjk->bik", X, c))
    _same(ops.tensordot(lamina.tensor(X), lamina.tensor(c), axes=([2], [1])), kops.tensordot(X, c, axes=([2], [1])))
    _same(ops.outer(lamina.tensor(a[0]), lamina.tensor(b[0])), kops.outer(a[0], b[0]))
    _same(ops.vdot(lamina.tensor(a), lamina.tensor(a)), kops.vdot(a.ravel(), a.ravel()), rtol=1e-5)


def test_diagonals_trace_and_average():
    a, v = rand(3, 4, seed=8), rand(3, seed=9)
    for k in (0, 2, -1):
        _same(ops.diag(lamina.tensor(v), k), kops.diag(v, k))
    for k in (0, 1, -2, 5):
        _same(ops.diag(lamina.tensor(a), k), kops.diag(a, k))
    for args in [(), (1, 1, 2), (-1, 0, 2)]:
        _same(ops.diagonal(lamina.tensor(X), *args), kops.diagonal(X, *args))
    _same(ops.trace(lamina.tensor(a)), kops.trace(a))
    _same(ops.trace(lamina.tensor(X), axis1=1, axis2=2), kops.trace(X, axis1=1, axis2=2))
    _same(ops.average(lamina.tensor(X)), kops.average(X))
    _same(ops.average(lamina.tensor(X), axis=-1, weights=P), kops.average(X, axis=-1, weights=P))
    # other axes and 1-D weights: NumPy's rule (Keras's torch backend sums the weights over the last axis)
    _same(ops.average(lamina.tensor(X), axis=1, weights=P), np.average(X, axis=1, weights=P).astype(np.float32))
    _same(ops.average(lamina.tensor(X), axis=1, weights=np.abs(v)), np.average(X, axis=1, weights=np.abs(v)))
    x = lamina.tensor(a, requires_grad=True)
    ops.trace(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.eye(3, 4, dtype=np.float32))
    check_error(lambda: ops.diag(lamina.tensor(X)), lamina.ShapeError, "diag", "(2, 3, 4)")
    check_error(lambda: ops.average(lamina.tensor(X), axis=None, weights=v), lamina.ArgumentError, "average", "axis")


def test_creation_and_conversion():
    _same(ops.arange(5), kops.arange(5))
    _same(ops.arange(1, 7, 2), kops.arange(1, 7, 2))
    _same(ops.arange(0.0, 1.0, 0.25), kops.arange(0.0, 1.0, 0.25))
    _same(ops.zeros((2, 3)), kops.zeros((2, 3)))
    _same(ops.ones(3, dtype="int32"), kops.ones(3, dtype="int32"))
    _same(ops.full((2,), 3), kops.full((2,), 3))
    _same(ops.zeros_like(lamina.tensor(I)), kops.zeros_like(I))
    _same(ops.ones_like(lamina.tensor(X), dtype="float64"), kops.ones_like(X, dtype="float64"))
    _same(ops.full_like(lamina.tensor(X), 2.5), kops.full_like(X, 2.5))
    _same(ops.linspace(0, 1, 5), kops.linspace(0, 1, 5))
    _same(ops.eye(3, 4, k=1), kops.eye(3, 4, k=1))
    _same(ops.identity(2), kops.identity(2))
    _same(ops.convert_to_tensor([1, 2]), kops.convert_to_tensor([1, 2]))
    _same(ops.convert_to_tensor([1.0, 2.0]), kops.convert_to_tensor([1.0, 2.0]))
    _same(ops.convert_to_tensor(np.zeros(2)), kops.convert_to_tensor(np.zeros(2)))
    _same(ops.cast(lamina.tensor(X), "int32"), kops.cast(X, "int32"))
    assert ops.shape(lamina.tensor(X)) == (2, 3, 4) and ops.ndim(lamina.tensor(X)) == 3
    assert ops.size(lamina.tensor(X)) == 24 and ops.dtype(lamina.tensor(X)) == "float32"
    assert isinstance(ops.convert_to_numpy(lamina.tensor(X)), np.ndarray)
    assert ops.is_tensor(lamina.tensor(X)) and not ops.is_tensor(X)
    t = lamina.tensor(X, requires_grad=True)
    assert not ops.stop_gradient(t).requires_grad


def test_sorting_and_one_hot():
    x = lamina.tensor(X)
    _same(ops.sort(x, axis=1), kops.sort(X, axis=1))
    _same(ops.argsort(x), kops.argsort(X))
    v, i = ops.top_k(x, 2)
    kv, ki = kops.top_k(X, 2)
    _same(v, kv)
    np.testing.assert_array_equal(_np(i), _np(ki))
    assert _np(i).dtype == np.int32
    labels = np.array([0, 2, -1, 1], dtype=np.int32)
    _same(ops.one_hot(lamina.tensor(labels), 3), kops.one_hot(labels, 3))
    _same(ops.one_hot(lamina.tensor(labels), 3, axis=0), kops.one_hot(labels, 3, axis=0))
    multi = np.array([[0, 2], [1, 1]], dtype=np.int32)
    _same(ops.multi_hot(lamina.tensor(multi), 3), kops.multi_hot(multi, 3))


def test_softmax_family_and_glu():
    x = lamina.tensor(X)
    _same(ops.softmax(x), kops.softmax(X))
    _same(ops.softmax(x, axis=1), kops.softmax(X, axis=1))
    _same(ops.log_softmax(x, axis=0), kops.log_softmax(X, axis=0))
    _same(ops.glu(x), kops.glu(X))
    _same(ops.gelu(x, approximate=False), kops.gelu(X, approximate=False))
    _same(ops.threshold(x, 0.1, -2.0), kops.threshold(X, 0.1, -2.0))
    _same(ops.batch_normalization(x, lamina.tensor(X[0, 0]), lamina.tensor(P[0, 0]), axis=-1,
                                  offset=lamina.tensor(Y[0, 0]), scale=lamina.tensor(P[1, 1])),
          kops.batch_normalization(X, X[0, 0], P[0, 0], axis=-1, offset=Y[0, 0], scale=P[1, 1]))


def test_crossentropies():
    probs = np.abs(X) + 0.05
    target = kops.convert_to_numpy(kops.softmax(Y))
    _same(ops.categorical_crossentropy(lamina.tensor(target), lamina.tensor(probs)),
          kops.categorical_crossentropy(target, probs))
    _same(ops.categorical_crossentropy(lamina.tensor(target), lamina.tensor(X), from_logits=True),
          kops.categorical_crossentropy(target, X, from_logits=True))
    labels = rand(2, 3, dtype=np.int32, low=0, high=4, seed=8)
    _same(ops.sparse_categorical_crossentropy(lamina.tensor(labels), lamina.tensor(X), from_logits=True),
          kops.sparse_categorical_crossentropy(labels, X, from_logits=True))
    _same(ops.sparse_categorical_crossentropy(lamina.tensor(labels), lamina.tensor(probs)),
          kops.sparse_categorical_crossentropy(labels, probs))
    bt = (Y > 0).astype(np.float32)
    _same(ops.binary_crossentropy(lamina.tensor(bt), lamina.tensor(X), from_logits=True),
          kops.binary_crossentropy(bt, X, from_logits=True))
    sig = 1 / (1 + np.exp(-X))
    _same(ops.binary_crossentropy(lamina.tensor(bt), lamina.tensor(sig)), kops.binary_crossentropy(bt, sig))
    check_error(lambda: ops.binary_crossentropy(lamina.tensor(bt), lamina.tensor(X[0])), lamina.ShapeError,
                "binary_crossentropy", "(2, 3, 4)", "(3, 4)")


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
def test_conv_ops(padding, strides, dilation):
    x = rand(2, 7, 6, 4, seed=9)
    k = rand(3, 2, 4, 5, seed=10)
    _same(ops.conv(lamina.tensor(x), lamina.tensor(k), strides, padding, dilation_rate=dilation),
          kops.conv(x, k, strides, padding, dilation_rate=dilation), rtol=1e-4, atol=1e-5)
    grouped = rand(3, 3, 2, 6, seed=11)  # groups = 4 / 2
    _same(ops.conv(lamina.tensor(x), lamina.tensor(grouped), strides, padding, dilation_rate=dilation),
          kops.conv(x, grouped, strides, padding, dilation_rate=dilation), rtol=1e-4, atol=1e-5)
    x1 = rand(2, 9, 3, seed=12)
    k1 = rand(3, 3, 2, seed=13)
    _same(ops.conv(lamina.tensor(x1), lamina.tensor(k1), strides, padding, dilation_rate=dilation),
          kops.conv(x1, k1, strides, padding, dilation_rate=dilation), rtol=1e-4, atol=1e-5)
    dk = rand(3, 3, 4, 2, seed=14)
    _same(ops.depthwise_conv(lamina.tensor(x), lamina.tensor(dk), strides, padding, dilation_rate=dilation),
          kops.depthwise_conv(x, dk, strides, padding, dilation_rate=dilation), rtol=1e-4, atol=1e-5)
    xf = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    _same(ops.conv(lamina.tensor(xf), lamina.tensor(k), strides, padding, "channels_first", dilation),
          kops.conv(xf, k, strides, padding, "channels_first", dilation), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel,strides,output_padding", [(3, 1, None), (3, 2, None), (4, 2, None), (2, 3, None),
                                                           (3, 2, 1), (3, 3, 0)])
def test_conv_transpose_op(padding, kernel, strides, output_padding):
    x = rand(2, 4, 5, 3, seed=15)
    k = rand(kernel, kernel, 2, 3, seed=16)
    _same(ops.conv_transpose(lamina.tensor(x), lamina.tensor(k), strides, padding, output_padding),
          kops.conv_transpose(x, k, strides, padding, output_padding), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,strides", [(2, None), (3, 1), (3, 2), (2, 1)])
def test_pool_ops(padding, pool, strides):
    x = rand(2, 7, 6, 3, seed=17)
    _same(ops.max_pool(lamina.tensor(x), pool, strides, padding), kops.max_pool(x, pool, strides, padding))
    _same(ops.average_pool(lamina.tensor(x), pool, strides, padding), _average_pool_reference(x, pool, strides,
                                                                                              padding))
    x1 = rand(2, 9, 3, seed=18)
    _same(ops.max_pool(lamina.tensor(x1), pool, strides, padding), kops.max_pool(x1, pool, strides, padding))
    _same(ops.average_pool(lamina.tensor(x1), pool, strides, padding), _average_pool_reference(x1, pool, strides,
                                                                                               padding))
    if padding == "valid":
        _same(ops.average_pool(lamina.tensor(x), pool, strides, padding), kops.average_pool(x, pool, strides, padding))


def _average_pool_reference(x, pool, strides, padding):
    """TensorFlow/JAX's channels-last average pooling: a 'same' window averages only its real elements. (Keras's
    torch backend pads asymmetric 'same' windows by replicating the edge, which counts those copies.)"""
    strides = strides or pool
    spatial = x.shape[1:-1]
    outs, starts = [], []
    for n in spatial:
        out = -(-n // strides) if padding == "same" else (n - pool) // strides + 1
        total = max(0, (out - 1) * strides + pool - n) if padding == "same" else 0
        outs.append(out)
        starts.append([i * strides - total // 2 for i in range(out)])
    result = np.zeros((x.shape[0], *outs, x.shape[-1]), np.float32)
    for pos in np.ndindex(*outs):
        window = tuple(slice(max(0, starts[d][p]), starts[d][p] + pool) for d, p in enumerate(pos))
        result[(slice(None),) + pos] = x[(slice(None),) + window].mean(axis=tuple(range(1, 1 + len(outs))))
    return result


def test_average_pool_same_excludes_padding():
    # [1, 2, 3, 4] with pool 4, stride 1, 'same': windows [1,2,3], [1..4], [2,3,4], [3,4] (TensorFlow/JAX rule).
    x = lamina.tensor(np.arange(1, 5, dtype=np.float32).reshape(1, 4, 1))
    np.testing.assert_allclose(ops.average_pool(x, 4, 1, "same").numpy().ravel(), [2.0, 2.5, 3.0, 3.5])


def test_conv_errors():
    x = lamina.tensor(rand(1, 5, 5, 3))
    check_error(lambda: ops.conv(x, lamina.tensor(rand(3, 3, 2, 4))), lamina.ShapeError, "conv", "3", "2")
    check_error(lambda: ops.conv(x, lamina.tensor(rand(3, 3, 3, 4)), padding="full"), lamina.ArgumentError,
                "padding", "'full'")
    check_error(lambda: ops.max_pool(x, 2, data_format="NHWC"), lamina.ArgumentError, "data_format", "NHWC")


def test_gradients_flow():
    x = lamina.tensor(X, requires_grad=True)
    (ops.sum(ops.mean(ops.square(x), axis=1)) + ops.sum(ops.max(x, axis=2))).backward()
    assert x.grad is not None and x.grad.shape == x.shape

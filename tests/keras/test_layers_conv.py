"""Convolution, pooling and spatial reshaping layers against real Keras 3 (torch backend)."""
import numpy as np
import pytest

from tests.helpers import check_error, rand
from tests.keras.layer_helpers import check_config, compare, keras, lamina, real_keras

L, R = keras.layers, real_keras.layers
CONV_TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(strides=2, padding="same"),
    dict(padding="same", dilation_rate=2),
    dict(kernel_size=(2, 3), strides=(2, 1), activation="relu"),
    dict(groups=2, padding="same"),
    dict(use_bias=False, strides=3),
])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d(kwargs, data_format):
    kwargs = dict(kwargs)
    kernel_size = kwargs.pop("kernel_size", 3)
    shape = (2, 7, 6, 4) if data_format == "channels_last" else (2, 4, 7, 6)
    ours = L.Conv2D(6, kernel_size, data_format=data_format, **kwargs)
    theirs = R.Conv2D(6, kernel_size, data_format=data_format, **kwargs)
    out, _ = compare(theirs, ours, rand(*shape, seed=1), **CONV_TOL)
    assert ours.compute_output_shape(shape) == tuple(out[0].shape) == tuple(theirs.compute_output_shape(shape))
    assert tuple(ours.kernel.shape) == (*ours.kernel_size, 4 // ours.groups, 6)
    check_config(theirs, ours)


@pytest.mark.parametrize("kwargs", [dict(), dict(padding="same", strides=2), dict(padding="causal", dilation_rate=2),
                                    dict(groups=3, padding="causal")])
def test_conv1d(kwargs):
    ours, theirs = L.Conv1D(6, 3, **kwargs), R.Conv1D(6, 3, **kwargs)
    out, _ = compare(theirs, ours, rand(2, 9, 3, seed=2), **CONV_TOL)
    assert ours.compute_output_shape((2, 9, 3)) == tuple(out[0].shape)
    check_config(theirs, ours)


@pytest.mark.parametrize("kwargs", [dict(), dict(strides=2, padding="same"), dict(strides=2), dict(kernel_size=4,
                                    strides=2, padding="same"), dict(strides=2, output_padding=1),
                                    dict(dilation_rate=2, padding="same")])
def test_conv2d_transpose(kwargs):
    kwargs = dict(kwargs)
    kernel_size = kwargs.pop("kernel_size", 3)
    ours, theirs = L.Conv2DTranspose(5, kernel_size, **kwargs), R.Conv2DTranspose(5, kernel_size, **kwargs)
    out, _ = compare(theirs, ours, rand(2, 4, 5, 3, seed=3), **CONV_TOL)
    assert tuple(ours.kernel.shape) == (kernel_size, kernel_size, 5, 3)
    assert ours.compute_output_shape((2, 4, 5, 3)) == tuple(out[0].shape)
    check_config(theirs, ours)


def test_conv1d_transpose_channels_first():
    ours = L.Conv1DTranspose(4, 3, strides=2, padding="same", data_format="channels_first")
    theirs = R.Conv1DTranspose(4, 3, strides=2, padding="same", data_format="channels_first")
    compare(theirs, ours, rand(2, 3, 6, seed=4), **CONV_TOL)


@pytest.mark.parametrize("kwargs", [dict(), dict(depth_multiplier=2, padding="same"), dict(strides=2)])
def test_depthwise_conv2d(kwargs):
    ours, theirs = L.DepthwiseConv2D(3, **kwargs), R.DepthwiseConv2D(3, **kwargs)
    out, _ = compare(theirs, ours, rand(2, 6, 6, 3, seed=5), **CONV_TOL)
    assert ours.compute_output_shape((2, 6, 6, 3)) == tuple(out[0].shape)
    check_config(theirs, ours)


@pytest.mark.parametrize("kwargs", [dict(), dict(depth_multiplier=2, padding="same", strides=2)])
def test_separable_conv(kwargs):
    ours, theirs = L.SeparableConv2D(4, 3, **kwargs), R.SeparableConv2D(4, 3, **kwargs)
    out, _ = compare(theirs, ours, rand(2, 6, 6, 3, seed=6), **CONV_TOL)
    assert [w.name for w in ours.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert ours.compute_output_shape((2, 6, 6, 3)) == tuple(out[0].shape)
    check_config(theirs, ours)
    compare(R.SeparableConv1D(4, 3, **kwargs), L.SeparableConv1D(4, 3, **kwargs), rand(2, 8, 3, seed=7), **CONV_TOL)
    compare(R.DepthwiseConv1D(3, **kwargs), L.DepthwiseConv1D(3, **kwargs), rand(2, 8, 3, seed=7), **CONV_TOL)


def test_conv_errors():
    check_error(lambda: L.Conv2D(5, 3, groups=2), lamina.ArgumentError, "Conv2D", "filters", "groups")
    check_error(lambda: L.Conv2D(4, 3, strides=2, dilation_rate=2), lamina.ArgumentError, "strides", "dilation")
    check_error(lambda: L.Conv2D(4, 0), lamina.ArgumentError, "kernel_size", "positive")
    check_error(lambda: L.Conv2D(4, 3, padding="full"), lamina.ArgumentError, "padding", "'full'")
    check_error(lambda: L.Conv2D(4, 3, padding="causal"), lamina.ArgumentError, "padding", "'causal'")
    check_error(lambda: L.Conv2D(4, 3, data_format="NHWC"), lamina.ArgumentError, "data_format")
    check_error(lambda: L.Conv2D(4, 3, groups=2)(lamina.ones(1, 5, 5, 3)), lamina.ShapeError, "channels", "groups")
    check_error(lambda: L.Conv2D(4, 5)(lamina.ones(1, 3, 3, 2)), lamina.ShapeError, "kernel", "larger")
    layer = L.Conv2D(4, 3)
    layer(lamina.ones(1, 5, 5, 2))
    check_error(lambda: layer(lamina.ones(1, 5, 5, 3)), lamina.ShapeError, "conv2d")


def test_conv_symbolic_and_cnn_model():
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(6, 3)(x)
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(2)(x)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 2)
    r_in = real_keras.Input((8, 8, 3))
    r = R.Conv2D(4, 3, padding="same", activation="relu")(r_in)
    r = R.MaxPooling2D()(r)
    r = R.Conv2D(6, 3)(r)
    r = R.GlobalAveragePooling2D()(r)
    r_model = real_keras.Model(r_in, R.Dense(2)(r))
    model.set_weights(r_model.get_weights())
    x = rand(2, 8, 8, 3, seed=8)
    np.testing.assert_allclose(model(lamina.tensor(x)).detach().numpy(),
                               real_keras.ops.convert_to_numpy(r_model(x)), rtol=1e-4, atol=1e-5)


# ---- pooling --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("kwargs", [dict(pool_size=2), dict(pool_size=3, strides=1), dict(pool_size=3, strides=2,
                                    padding="same"), dict(pool_size=(2, 3), data_format="channels_first")])
def test_pooling2d(cls, kwargs):
    x = rand(2, 7, 7, 3, seed=9)  # "same" windows are symmetric here, where Keras's torch backend is exact
    ours, theirs = getattr(L, cls)(**kwargs), getattr(R, cls)(**kwargs)
    out, _ = compare(theirs, ours, x)
    assert ours.compute_output_shape(x.shape) == tuple(out[0].shape)
    check_config(theirs, ours)


@pytest.mark.parametrize("cls", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("kwargs", [dict(pool_size=2), dict(pool_size=3, strides=1, padding="same")])
def test_pooling1d(cls, kwargs):
    ours, theirs = getattr(L, cls)(**kwargs), getattr(R, cls)(**kwargs)
    compare(theirs, ours, rand(2, 7, 3, seed=10))
    check_config(theirs, ours)


def test_average_pooling_same_asymmetric_counts_real_elements():
    # 'same' with an even window pads only at the end: each window averages the real elements (TensorFlow/JAX).
    x = lamina.tensor(np.arange(1, 5, dtype=np.float32).reshape(1, 4, 1))
    out = L.AveragePooling1D(2, strides=1, padding="same")(x)
    np.testing.assert_allclose(out.numpy().ravel(), [1.5, 2.5, 3.5, 4.0])


@pytest.mark.parametrize("cls", ["GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D",
                                 "GlobalMaxPooling2D"])
@pytest.mark.parametrize("kwargs", [dict(), dict(keepdims=True), dict(data_format="channels_first")])
def test_global_pooling(cls, kwargs):
    x = rand(2, 5, 3, seed=11) if cls.endswith("1D") else rand(2, 4, 5, 3, seed=11)
    ours, theirs = getattr(L, cls)(**kwargs), getattr(R, cls)(**kwargs)
    out, _ = compare(theirs, ours, x)
    assert ours.compute_output_shape(x.shape) == tuple(out[0].shape) == tuple(theirs.compute_output_shape(x.shape))
    check_config(theirs, ours)


def test_global_average_pooling1d_mask():
    x = rand(2, 4, 3, seed=12)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    theirs = real_keras.ops.convert_to_numpy(R.GlobalAveragePooling1D()(x, mask=mask))
    ours = L.GlobalAveragePooling1D()(lamina.tensor(x), mask=lamina.tensor(mask))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, atol=1e-6)


# ---- reshaping ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("theirs,ours", [
    (lambda: R.UpSampling2D((2, 3)), lambda: L.UpSampling2D((2, 3))),
    (lambda: R.UpSampling2D(2, interpolation="bilinear"), lambda: L.UpSampling2D(2, interpolation="bilinear")),
    (lambda: R.UpSampling2D(2, data_format="channels_first"), lambda: L.UpSampling2D(2, data_format="channels_first")),
    (lambda: R.ZeroPadding2D(), lambda: L.ZeroPadding2D()),
    (lambda: R.ZeroPadding2D(((1, 2), (0, 3))), lambda: L.ZeroPadding2D(((1, 2), (0, 3)))),
    (lambda: R.ZeroPadding2D((2, 1), data_format="channels_first"),
     lambda: L.ZeroPadding2D((2, 1), data_format="channels_first")),
    (lambda: R.Cropping2D(((1, 0), (1, 2))), lambda: L.Cropping2D(((1, 0), (1, 2)))),
    (lambda: R.Cropping2D(1, data_format="channels_first"), lambda: L.Cropping2D(1, data_format="channels_first")),
])
def test_reshaping_2d(theirs, ours):
    theirs, ours = theirs(), ours()
    x = rand(2, 4, 5, 3, seed=13)
    out, _ = compare(theirs, ours, x)
    assert ours.compute_output_shape(x.shape) == tuple(out[0].shape)
    check_config(theirs, ours)


@pytest.mark.parametrize("theirs,ours", [
    (lambda: R.UpSampling1D(3), lambda: L.UpSampling1D(3)),
    (lambda: R.ZeroPadding1D((1, 2)), lambda: L.ZeroPadding1D((1, 2))),
    (lambda: R.Cropping1D((2, 1)), lambda: L.Cropping1D((2, 1))),
])
def test_reshaping_1d(theirs, ours):
    theirs, ours = theirs(), ours()
    compare(theirs, ours, rand(2, 5, 3, seed=14))
    check_config(theirs, ours)


def test_reshaping_errors():
    check_error(lambda: L.Cropping2D(((2, 2), (0, 0)))(lamina.ones(1, 4, 4, 1)), lamina.ShapeError, "cropping",
                "(2, 2)")
    check_error(lambda: L.ZeroPadding2D(((1, -1), (0, 0))), lamina.ArgumentError, "padding")
    check_error(lambda: L.UpSampling2D(interpolation="cubic"), lamina.ArgumentError, "interpolation", "'cubic'")

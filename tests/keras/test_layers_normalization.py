"""BatchNormalization and LayerNormalization against real Keras 3 (torch backend)."""
import numpy as np
import pytest

from tests.helpers import check_error, rand
from tests.keras.layer_helpers import check_config, compare, keras, lamina, real_keras

L, R = keras.layers, real_keras.layers


def _np(x):
    return real_keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("kwargs,shape", [(dict(), (6, 4)), (dict(), (3, 5, 5, 4)), (dict(axis=1), (3, 4, 5, 5)),
                                          (dict(center=False, scale=False), (6, 4)),
                                          (dict(momentum=0.5, epsilon=1e-5), (3, 5, 4))])
def test_batch_normalization_training_and_inference(kwargs, shape):
    x = rand(*shape, seed=1) * 3 + 1
    theirs, ours = R.BatchNormalization(**kwargs), L.BatchNormalization(**kwargs)
    theirs.build(shape)
    # Non-default starting weights, so every term of the formula is exercised.
    weights = [rand(*w.shape, seed=i + 2) + (1.5 if "variance" in w.name else 0) for i, w in
               enumerate(theirs.weights)]
    theirs.set_weights(weights)
    # training: batch statistics, moving statistics updated
    compare(theirs, ours, x, call_kwargs=dict(training=True), rtol=1e-4)
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(a.detach().numpy(), _np(b), rtol=1e-5, atol=1e-6, err_msg=a.name)
    # inference: moving statistics, nothing updated
    before = [w.detach().numpy().copy() for w in ours.weights]
    compare(theirs, ours, x, call_kwargs=dict(training=False), copy=False, rtol=1e-4)
    for a, b in zip(ours.weights, before):
        np.testing.assert_array_equal(a.detach().numpy(), b)
    assert [w.name for w in ours.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert ours.compute_output_shape(shape) == shape
    check_config(theirs, ours)


def test_batch_normalization_moving_update_formula():
    bn = L.BatchNormalization(momentum=0.9)
    x = rand(16, 3, seed=5)
    bn(lamina.tensor(x), training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5, atol=1e-7)
    # the biased batch variance (Keras), not torch's unbiased one
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-5)


def test_batch_normalization_frozen_runs_in_inference():
    bn = L.BatchNormalization()
    x = lamina.tensor(rand(8, 3, seed=6) + 5)
    bn.build((None, 3))
    bn.trainable = False
    out = bn(x, training=True)
    np.testing.assert_allclose(out.numpy(), x.numpy() / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))


def test_batch_normalization_constant_channel_and_mask():
    bn = L.BatchNormalization()
    out = bn(lamina.ones(4, 2), training=True)
    assert np.all(np.isfinite(out.detach().numpy())) and np.allclose(out.detach().numpy(), 0)
    x = rand(2, 4, 3, seed=7)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    theirs = R.BatchNormalization()
    expected = _np(theirs(x, training=True, mask=mask))
    ours = L.BatchNormalization()
    got = ours(lamina.tensor(x), training=True, mask=lamina.tensor(mask))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance.numpy(), _np(theirs.moving_variance), rtol=1e-5)


def test_batch_normalization_errors():
    check_error(lambda: L.BatchNormalization(axis=3)(lamina.ones(2, 3)), lamina.ShapeError, "axis 3")
    check_error(lambda: L.BatchNormalization(epsilon=0), lamina.ArgumentError, "epsilon")
    check_error(lambda: L.BatchNormalization(renorm=True), lamina.ArgumentError, "renorm")


@pytest.mark.parametrize("kwargs,shape", [(dict(), (3, 6)), (dict(), (2, 3, 6)), (dict(axis=[1, 2]), (2, 3, 4)),
                                          (dict(center=False), (2, 5)),
                                          (dict(rms_scaling=True), (2, 3, 6)), (dict(epsilon=1e-6), (4, 5))])
def test_layer_normalization(kwargs, shape):
    theirs, ours = R.LayerNormalization(**kwargs), L.LayerNormalization(**kwargs)
    theirs.build(shape)
    theirs.set_weights([rand(*w.shape, seed=i + 8) + 1 for i, w in enumerate(theirs.weights)])
    compare(theirs, ours, rand(*shape, seed=9) * 2, rtol=1e-4)
    assert ours.compute_output_shape(shape) == shape
    check_config(theirs, ours)


def test_layer_normalization_middle_axis():
    # Keras's torch backend fails on a single non-trailing axis (it calls torch's layer_norm); NumPy is the reference.
    x = rand(2, 3, 4, seed=10)
    ln = L.LayerNormalization(axis=1, epsilon=1e-3)
    ln.build(x.shape)
    ln.set_weights([rand(3, seed=11), rand(3, seed=12)])
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * rand(3, seed=11)[:, None] + rand(3, seed=12)[:, None]
    np.testing.assert_allclose(ln(lamina.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)

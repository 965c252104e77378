"""keras.regularizers and keras.constraints against real Keras 3 (torch backend): values and configs."""
import numpy as np
import pytest

from tests.helpers import rand
from tests.keras.layer_helpers import keras, lamina, real_keras

W = rand(4, 3, seed=1) * 3


@pytest.mark.parametrize("name,kwargs", [("L1", dict(l1=0.3)), ("L2", dict(l2=0.2)), ("L1L2", dict(l1=0.1, l2=0.4)),
                                         ("L1L2", dict())])
def test_regularizers(name, kwargs):
    ours, theirs = getattr(keras.regularizers, name)(**kwargs), getattr(real_keras.regularizers, name)(**kwargs)
    value = ours(lamina.tensor(W))
    np.testing.assert_allclose(float(value), float(real_keras.ops.convert_to_numpy(theirs(W))), rtol=1e-6)
    assert set(ours.get_config()) == set(theirs.get_config())
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
    assert type(keras.regularizers.get(keras.regularizers.serialize(ours))) is type(ours)


@pytest.mark.parametrize("name,kwargs", [("MaxNorm", dict(max_value=1.5)), ("MaxNorm", dict(max_value=1, axis=1)),
                                         ("NonNeg", dict()), ("UnitNorm", dict(axis=1)),
                                         ("MinMaxNorm", dict(min_value=0.5, max_value=1.0, rate=0.5))])
def test_constraints(name, kwargs):
    ours, theirs = getattr(keras.constraints, name)(**kwargs), getattr(real_keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(ours(lamina.tensor(W)).numpy(), real_keras.ops.convert_to_numpy(theirs(W)),
                               rtol=1e-5, atol=1e-6)
    assert ours.get_config() == theirs.get_config()


def test_regularized_layer_losses_match_keras():
    ours = keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(0.1), bias_regularizer="l1",
                              activity_regularizer=keras.regularizers.L1(0.01))
    theirs = real_keras.layers.Dense(3, kernel_regularizer=real_keras.regularizers.L2(0.1), bias_regularizer="l1",
                                     activity_regularizer=real_keras.regularizers.L1(0.01))
    x = rand(5, 4, seed=2)
    theirs(x)
    ours(lamina.tensor(x))
    ours.set_weights([w + 0.5 for w in theirs.get_weights()])
    theirs.set_weights([w + 0.5 for w in theirs.get_weights()])
    theirs(x)
    ours(lamina.tensor(x))
    np.testing.assert_allclose(sorted(float(v) for v in ours.losses),
                               sorted(float(real_keras.ops.convert_to_numpy(v)) for v in theirs.losses), rtol=1e-5)


@pytest.mark.parametrize("module,alias,cls", [("regularizers", "l1", "L1"), ("regularizers", "l2", "L2"),
                                              ("regularizers", "l1_l2", "L1L2"), ("constraints", "max_norm", "MaxNorm"),
                                              ("constraints", "non_neg", "NonNeg"),
                                              ("constraints", "unit_norm", "UnitNorm"),
                                              ("constraints", "min_max_norm", "MinMaxNorm")])
def test_lowercase_aliases_are_the_classes(module, alias, cls):
    # Keras code writes kernel_regularizer=keras.regularizers.l2(1e-4): the same class as L2.
    assert getattr(getattr(real_keras, module), alias) is getattr(getattr(real_keras, module), cls)
    assert getattr(getattr(keras, module), alias) is getattr(getattr(keras, module), cls)
    layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.5))
    layer(lamina.ones(1, 3))
    np.testing.assert_allclose(float(layer.losses[0]), 0.5 * float((layer.kernel.numpy() ** 2).sum()), rtol=1e-6)

"""The names Keras 3 code reaches for outside the layer set: keras.backend's getters, keras.utils's re-exports of
the serialization registry, the lowercase regularizer/constraint aliases. Each is checked against real Keras."""
import numpy as np
import pytest

from tests.keras.layer_helpers import keras, lamina, real_keras


@pytest.mark.parametrize("name", ["floatx", "epsilon", "image_data_format"])
def test_backend_getters_match_keras(name):
    assert getattr(keras.backend, name)() == getattr(real_keras.backend, name)()
    assert getattr(keras.backend, name)() == getattr(real_keras.config, name)()


def test_defaults_follow_the_getters():
    assert keras.layers.Dense(2).dtype == keras.backend.floatx()
    assert keras.layers.Conv2D(2, 3).data_format == keras.backend.image_data_format()
    y = keras.losses.binary_crossentropy(np.ones((1, 1), "float32"), np.zeros((1, 1), "float32"))
    np.testing.assert_allclose(float(y[0]), -np.log(keras.backend.epsilon()), rtol=1e-4)


@pytest.mark.parametrize("name", ["register_keras_serializable", "serialize_keras_object",
                                  "deserialize_keras_object", "get_registered_name", "get_registered_object",
                                  "custom_object_scope", "CustomObjectScope", "clear_session", "is_keras_tensor"])
def test_utils_reexports_match_keras(name):
    assert hasattr(real_keras.utils, name)
    ours = getattr(keras.utils, name)
    assert ours is getattr(keras.saving, name, None) or ours is getattr(keras.backend, name, None)


def test_utils_registration_round_trip():
    @keras.utils.register_keras_serializable(package="namespaces")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return x * 2

    assert keras.utils.get_registered_name(Twice) == "namespaces>Twice"
    config = keras.utils.serialize_keras_object(Twice(name="t"))
    clone = keras.utils.deserialize_keras_object(config)
    assert type(clone) is Twice and clone.name == "t"
    assert keras.utils.is_keras_tensor(keras.Input((2,))) and not keras.utils.is_keras_tensor(lamina.ones(2))
    keras.utils.clear_session()
    assert keras.layers.Dense(1).name == "dense"

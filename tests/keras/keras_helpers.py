"""Shared pieces of the Keras-idiom tests: a minimal Dense written against the Layer contract, and a runner that
builds the same model with real Keras 3 (the oracle) and with lamina.keras."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402

import lamina  # noqa: E402
from lamina import keras  # noqa: E402


@keras.saving.register_keras_serializable(package="tests")
class Dense(keras.layers.Layer):
    """Keras's Dense reduced to what the core tests need (named Dense so summaries match Keras's text)."""

    def __init__(self, units, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation, self.use_bias = units, activation, use_bias

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def call(self, x):
        y = x @ self.kernel
        if self.use_bias:
            y = y + self.bias
        return y.relu() if self.activation == "relu" else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


def real_dense(units, activation=None, **kwargs):
    return real_keras.layers.Dense(units, activation=activation, **kwargs)


def fresh():
    """Restart automatic names in both frameworks (dense, dense_1, ... from scratch)."""
    real_keras.utils.clear_session()
    keras.backend.clear_session()


def summary_text(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    assert len(out) == 1
    return out[0]


def both(build, **summary_kwargs):
    """(Keras's summary, Lamina's summary) of ``build(lib, Dense)`` built by each framework from fresh names."""
    fresh()
    theirs = summary_text(build(real_keras, real_dense), **summary_kwargs)
    fresh()
    ours = summary_text(build(keras, Dense), **summary_kwargs)
    return theirs, ours


__all__ = ["Dense", "real_keras", "real_dense", "fresh", "summary_text", "both", "lamina"]

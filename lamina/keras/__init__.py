"""``lamina.keras``: the Keras 3 idiom over Lamina's one Module class.

``keras.layers.Layer`` *is* a ``lamina.nn.Module``: a Keras layer's weights are ``nn.Parameter`` objects in the
Module registries, so ``lamina.optim`` trains Keras models and the two idioms nest in each other. Channels-last by
default, as in Keras.

Example:
    >>> from lamina import keras
    >>> inputs = keras.Input((8,))
    >>> outputs = keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(inputs))
    >>> model = keras.Model(inputs, outputs)
    >>> model.summary()
"""
from lamina.keras import backend, constraints, initializers, regularizers, saving
from lamina.keras import layers, models
from lamina.keras import ops
from lamina.keras.backend import KerasTensor, Variable, clear_session
from lamina.keras.layers import Input, InputSpec, Layer
from lamina.keras.models import Functional, Model, Sequential
from lamina.keras.saving import load_model, save_model

# --- layers ---
from lamina.keras import activations, random

# --- training ---
from lamina.keras import callbacks, losses, metrics, optimizers, utils
from lamina.keras.losses import Loss
from lamina.keras.metrics import Metric
from lamina.keras.optimizers import Optimizer

__all__ = ["backend", "constraints", "initializers", "regularizers", "saving", "layers", "models", "ops",
           "KerasTensor", "Variable", "clear_session", "Input", "InputSpec", "Layer", "Functional", "Model",
           "Sequential", "load_model", "save_model"]

"""``keras.regularizers``: penalties on weights, added to the training loss through ``layer.losses``.

A regularizer is called on a weight and returns a scalar tensor; ``Layer.losses`` evaluates the regularizer of
every weight that has one (``add_weight(regularizer=...)``), so the penalty is differentiable and current.

Example:
    >>> layer.add_weight(shape=(4, 3), regularizer=keras.regularizers.L2(1e-4), name="kernel")
"""
from lamina.errors import ArgumentError
from lamina.keras import saving


class Regularizer:
    """Base class: subclasses implement ``__call__(x)`` returning a scalar tensor, and ``get_config()``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _factor(value, name, who):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ArgumentError(f"{who}: {name} must be a non-negative number, got {value!r}")
    return float(value)


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1", "L1")

    def __call__(self, x):
        return x.abs().sum() * self.l1

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)`` (no factor 1/2, as in Keras)."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2", "L2")

    def __call__(self, x):
        return (x * x).sum() * self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", "L1L2")
        self.l2 = _factor(l2, "l2", "L1L2")

    def __call__(self, x):
        total = 0.0
        if self.l1:
            total = x.abs().sum() * self.l1
        if self.l2:
            total = total + (x * x).sum() * self.l2
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


# Keras's lowercase names for the same classes: ``kernel_regularizer=keras.regularizers.l2(1e-4)``.
l1 = L1
l2 = L2
l1_l2 = L1L2

_ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
for _cls in (L1, L2, L1L2):
    saving.register_builtin(_cls)


def get(identifier):
    """A regularizer from a name (``"l2"``), a serialized config, an instance or a callable; None stays None."""
    return saving.get_object(identifier, _ALIASES, Regularizer, "regularizer")


def serialize(regularizer):
    return saving.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    return saving.deserialize_keras_object(config, custom_objects)

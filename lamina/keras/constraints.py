"""``keras.constraints``: projections applied to a weight after each optimizer update.

``add_weight(constraint=...)`` stores the constraint on the Variable (``variable.constraint``); the training
loop applies ``variable.assign(constraint(variable))`` after each step.
"""
from lamina.errors import ArgumentError
from lamina.keras import saving


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w, axis):
    return ((w * w).sum(dim=axis, keepdim=True)).sqrt()


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


class NonNeg(Constraint):
    """Negative entries become 0."""

    def __call__(self, w):
        return w.clamp(min=0.0)


class MaxNorm(Constraint):
    """Rescale slices along ``axis`` whose L2 norm exceeds ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, _axis(self.axis))
        desired = norms.clamp(0.0, self.max_value)
        return w * (desired / (norms + 1e-7))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Slices along ``axis`` rescaled to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (_norms(w, _axis(self.axis)) + 1e-7)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Slice norms moved toward ``[min_value, max_value]`` at ``rate`` (1.0 = clip exactly)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        if min_value > max_value:
            raise ArgumentError(f"MinMaxNorm: min_value {min_value} is larger than max_value {max_value}")
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, _axis(self.axis))
        desired = norms.clamp(self.min_value, self.max_value) * self.rate + norms * (1 - self.rate)
        return w * (desired / (norms + 1e-7))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras's lowercase names for the same classes: ``kernel_constraint=keras.constraints.max_norm(2.0)``.
non_neg = NonNeg
max_norm = MaxNorm
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_ALIASES = {"non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}
for _cls in (NonNeg, MaxNorm, UnitNorm, MinMaxNorm):
    saving.register_builtin(_cls)


def get(identifier):
    """A constraint from a name (``"non_neg"``), a serialized config, an instance or a callable."""
    return saving.get_object(identifier, _ALIASES, Constraint, "constraint")


def serialize(constraint):
    return saving.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    return saving.deserialize_keras_object(config, custom_objects)

"""Keras activation layers: ReLU, LeakyReLU, ELU, PReLU and Softmax (with Keras's defaults and names)."""
import lamina
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import activations, constraints, initializers, regularizers
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer
from lamina.nn import functional as F


class ReLU(Layer):
    """``keras.activations.relu`` as a layer: ``max_value`` caps the output, below ``threshold`` the output is
    ``negative_slope * (x - threshold)``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ArgumentError(f"ReLU: max_value must be non-negative, got {max_value!r}")
        if negative_slope is None or negative_slope < 0:
            raise ArgumentError(f"ReLU: negative_slope must be non-negative, got {negative_slope!r}")
        if threshold is None or threshold < 0:
            raise ArgumentError(f"ReLU: threshold must be non-negative, got {threshold!r}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras's default slope is 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ArgumentError(f"LeakyReLU: negative_slope must be non-negative, got {negative_slope!r}")
        self.negative_slope = negative_slope
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(Layer):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(Layer):
    """A leaky ReLU with a learned slope ``alpha`` per input element (``shared_axes`` share it along axes,
    e.g. ``[1, 2]`` for one slope per channel of an image)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
        self.supports_masking = True

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ShapeError(f"PReLU '{self.name}': shared axis {axis} is not a non-batch axis of input shape "
                                 f"{tuple(input_shape)}")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ShapeError(f"PReLU '{self.name}': the input's non-batch axes must be known (or shared), got input "
                             f"shape {tuple(input_shape)}")
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint,
                                     name="alpha")
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        return F.relu(inputs) - self.alpha * F.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"alpha_initializer": initializers.serialize(self.alpha_initializer),
                       "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                       "alpha_constraint": constraints.serialize(self.alpha_constraint),
                       "shared_axes": self.shared_axes})
        return config


class Softmax(Layer):
    """Softmax along ``axis`` (an int or a list of ints); a boolean ``mask`` excludes positions (they get 0)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = mask.to(lamina.bool) if mask.dtype == lamina.bool else mask > 0.5
            inputs = lamina.where(mask, inputs, -1e9)
        if isinstance(self.axis, list) and len(self.axis) > 1:
            axes = tuple(self.axis)
            out = lamina.exp(inputs - lamina.logsumexp(inputs, axes, keepdim=True))
        else:
            out = F.softmax(inputs, dim=self.axis[0] if isinstance(self.axis, list) else self.axis)
        # A fully masked axis would be uniform after the softmax: zero it instead.
        return lamina.where(mask, out, 0.0) if mask is not None else out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config

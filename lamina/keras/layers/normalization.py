"""Keras normalization layers: BatchNormalization and LayerNormalization, with Keras's defaults.

BatchNormalization differs from torch's BatchNorm in three ways that matter when porting: ``momentum`` is the
weight of the *old* moving statistic (0.99; torch's 0.1 is the weight of the new one), the moving variance is
updated with the biased batch variance, and ``epsilon`` defaults to 1e-3. A frozen layer (``trainable=False``)
always runs in inference mode, as in Keras.
"""
import lamina
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import constraints, initializers, regularizers
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer
from lamina.nn import functional as F

_MASK_EPSILON = 1e-7  # keras.config.epsilon(), added to the count of unmasked values


def _check_epsilon(epsilon, who):
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
        raise ArgumentError(f"{who}: epsilon must be a positive number, got {epsilon!r}")
    return float(epsilon)


class BatchNormalization(Layer):
    """Normalizes each feature (along ``axis``) with batch statistics in training and moving statistics at
    inference: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    In training the moving statistics become ``moving * momentum + batch * (1 - momentum)``; they are
    non-trainable weights (``moving_mean``, ``moving_variance``) listed in ``non_trainable_weights``. A mask (from
    Embedding's ``mask_zero``) excludes masked positions from the batch statistics.

    Args:
        axis: the feature axis (-1 for channels-last; 1 for channels-first images).
        momentum: weight of the old moving statistic.
        epsilon: added to the variance.
        center, scale: learn ``beta`` / ``gamma``.

    Example:
        >>> bn = keras.layers.BatchNormalization()
        >>> y = bn(lamina.randn(8, 4), training=True)   # updates bn.moving_mean
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ArgumentError(f"BatchNormalization: axis must be an int, got {axis!r}")
        if renorm:
            raise ArgumentError("BatchNormalization: renorm=True is not supported by Lamina")
        if not 0.0 <= momentum <= 1.0:
            raise ArgumentError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = _check_epsilon(epsilon, "BatchNormalization")
        self.center, self.scale = bool(center), bool(scale)
        self.synchronized = bool(synchronized)  # one process: nothing to synchronize
        self.renorm_clipping, self.renorm_momentum = renorm_clipping, renorm_momentum
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"BatchNormalization '{self.name}': axis {self.axis} is out of range for input shape "
                             f"{tuple(input_shape)}")
        size = input_shape[self.axis]
        if size is None:
            raise ShapeError(f"BatchNormalization '{self.name}': the feature axis {self.axis} of the input must be "
                             f"known, got input shape {tuple(input_shape)}")
        shape = (size,)
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                     name="gamma") if self.scale else None
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                    name="beta") if self.center else None
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer, trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self._feature_axis = self.axis % ndim
        self._reduction_axes = tuple(i for i in range(ndim) if i != self._feature_axis)
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: size})

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable:
            if mask is None:
                mean, variance = self._moments(inputs)
            else:
                mean, variance = self._masked_moments(inputs, mask)
            self._update_moving(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return self._normalize(inputs, mean, variance)

    def _moments(self, x):
        """Batch mean and (biased) variance per feature, as differentiable tensors of shape (features,)."""
        axes = self._reduction_axes
        mean = lamina.mean(x, dim=axes, keepdim=True)
        variance = lamina.mean(lamina.square(x - mean), dim=axes, keepdim=True)
        return mean.reshape(-1), variance.reshape(-1)

    def _masked_moments(self, x, mask):
        if mask.ndim != x.ndim - 1:
            raise ShapeError(f"BatchNormalization '{self.name}': the mask must have one axis less than the "
                             f"inputs, got mask shape {tuple(mask.shape)} and inputs shape {tuple(x.shape)}")
        axes = self._reduction_axes
        keep = lamina.broadcast_to(lamina.unsqueeze(mask.to(lamina.bool), -1), tuple(x.shape))
        count = lamina.sum(keep.to(x.dtype), dim=axes, keepdim=True) + _MASK_EPSILON
        mean = lamina.sum(lamina.where(keep, x, 0.0), dim=axes, keepdim=True) / count
        variance = lamina.sum(lamina.square(lamina.where(keep, x - mean, 0.0)), dim=axes, keepdim=True) / count
        return mean.reshape(-1), variance.reshape(-1)

    def _update_moving(self, mean, variance):
        m = self.momentum
        self.moving_mean.assign(self.moving_mean._data * m + mean._data * (1.0 - m))
        self.moving_variance.assign(self.moving_variance._data * m + variance._data * (1.0 - m))

    def _normalize(self, x, mean, variance):
        shape = [1] * x.ndim
        shape[self._feature_axis] = -1
        inv = lamina.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma
        # x * inv + (beta - mean * inv): one multiply-add over the big tensor.
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta
        return x * inv.reshape(shape) + shift.reshape(shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized, "renorm": False, "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (the last by default): ``gamma * (x - mean) / sqrt(var + eps) +
    beta``, with ``gamma``/``beta`` of the shape of the normalized axes.

    Args:
        axis: an int or a list of ints.
        epsilon: added to the variance (Keras's default 1e-3; torch's LayerNorm uses 1e-5).
        center, scale: learn ``beta`` / ``gamma``.
        rms_scaling: Keras's RMS variant: ``x / sqrt(var + eps) * gamma`` (no centering, no beta).

    Example:
        >>> keras.layers.LayerNormalization()(lamina.randn(2, 5, 8)).shape
        lamina.Size([2, 5, 8])
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise ArgumentError(f"LayerNormalization: axis must be an int or a list of ints, got {axis!r}")
        self.epsilon = _check_epsilon(epsilon, "LayerNormalization")
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -ndim <= a < ndim for a in axes):
            raise ShapeError(f"LayerNormalization '{self.name}': axis {self.axis} is out of range for a "
                             f"{ndim}-d input")
        return sorted(a % ndim for a in axes)

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ShapeError(f"LayerNormalization '{self.name}': the normalized axes {self.axis} must be known, got "
                             f"input shape {tuple(input_shape)}")
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                     name="gamma") if self.scale or self.rms_scaling else None
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                    name="beta") if self.center and not self.rms_scaling else None

    def call(self, inputs):
        ndim = inputs.ndim
        axes = self._axes(ndim)
        trailing = axes == list(range(ndim - len(axes), ndim))
        if trailing and not self.rms_scaling:
            # The normalized axes are the last ones: lamina's fused layer_norm operator.
            return F.layer_norm(inputs, tuple(inputs.shape[ndim - len(axes):]), self.gamma, self.beta, self.epsilon)
        shape = [inputs.shape[i] if i in axes else 1 for i in range(ndim)]
        mean = lamina.mean(inputs, dim=tuple(axes), keepdim=True)
        variance = lamina.mean(lamina.square(inputs - mean), dim=tuple(axes), keepdim=True)
        inv = lamina.rsqrt(variance + self.epsilon)
        if self.rms_scaling:
            out = inputs * inv  # Keras's rms_scaling divides by the standard deviation, without centering
        else:
            out = (inputs - mean) * inv
        if self.gamma is not None:
            out = out * self.gamma.reshape(shape)
        if self.beta is not None:
            out = out + self.beta.reshape(shape)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        })
        return config

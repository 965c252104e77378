"""Keras pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and the global poolings, channels-last by default.

'same' padding follows Keras (TensorFlow/JAX): the output has ``ceil(input / stride)`` positions, max pooling
never picks the padding and average pooling averages only the real elements of each window.
"""
import lamina
from lamina.keras import ops
from lamina.keras.layers._args import (
    conv_output_length, spatial_shape, standardize_data_format, standardize_padding, standardize_tuple,
    with_spatial,
)
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer


class _Pooling(Layer):
    rank = 2
    _op = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else standardize_tuple(strides, self.rank, "strides", who)
        self.padding = standardize_padding(padding, who)
        self.data_format = standardize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._build_at_init()

    def call(self, inputs):
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, s, self.padding) for n, k, s in
                   zip(spatial_shape(input_shape, self.data_format), self.pool_size, self.strides)]
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        return with_spatial(input_shape, spatial, channels, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": list(self.pool_size), "padding": self.padding, "strides": list(self.strides),
                       "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps of ``(batch, steps, channels)``."""
    rank = 1
    _op = staticmethod(ops.max_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows of ``(batch, h, w, channels)``; ``strides`` default to ``pool_size``.

    Example:
        >>> keras.layers.MaxPooling2D()(lamina.ones(1, 4, 4, 3)).shape
        lamina.Size([1, 2, 2, 3])
    """
    rank = 2
    _op = staticmethod(ops.max_pool)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps."""
    rank = 1
    _op = staticmethod(ops.average_pool)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows; with 'same' padding only real elements are averaged."""
    rank = 2
    _op = staticmethod(ops.average_pool)


class _GlobalPooling(Layer):
    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._build_at_init()

    def _axes(self):
        return tuple(range(1, self.rank + 1)) if self.data_format == "channels_last" else \
            tuple(range(2, self.rank + 2))

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: ``(batch, steps, channels) -> (batch, channels)``; with a mask (from Embedding's
    ``mask_zero``), the mean of the unmasked steps only."""
    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        axis = self._axes()[0]
        if mask is None:
            return lamina.mean(inputs, dim=axis, keepdim=self.keepdims)
        keep = lamina.unsqueeze(mask.to(lamina.bool), -1 if self.data_format == "channels_last" else 1)
        total = lamina.sum(lamina.where(keep, inputs, 0.0), dim=axis, keepdim=self.keepdims)
        return total / lamina.sum(keep.to(inputs.dtype), dim=axis, keepdim=self.keepdims)

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: ``(batch, h, w, channels) -> (batch, channels)`` (``keepdims``: 1 x 1)."""
    rank = 2

    def call(self, inputs):
        return lamina.mean(inputs, dim=self._axes(), keepdim=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: ``(batch, steps, channels) -> (batch, channels)``."""
    rank = 1

    def call(self, inputs):
        return lamina.amax(inputs, dim=self._axes(), keepdim=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width."""
    rank = 2

    def call(self, inputs):
        return lamina.amax(inputs, dim=self._axes(), keepdim=self.keepdims)


# Keras's aliases.
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

"""Keras convolution layers: Conv1D/2D, Conv1D/2DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D.

Inputs are channels-last by default (``data_format='channels_first'`` is accepted). Kernels keep Keras's layout,
so weights copied from Keras transfer unchanged: Conv ``(*kernel_size, in_channels / groups, filters)``,
ConvTranspose ``(*kernel_size, filters, in_channels)``, Depthwise ``(*kernel_size, in_channels,
depth_multiplier)``, Separable ``depthwise_kernel`` + ``pointwise_kernel`` ``(1, ..., in * multiplier, filters)``.
The numerics are ``keras.ops.conv`` & co., which move to torch's channels-first layout around lamina's conv
operators (the approach of Keras's own torch backend).
"""
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import activations, constraints, initializers, ops, regularizers
from lamina.keras.layers._args import (
    check_positive_int, conv_output_length, spatial_shape, standardize_data_format, standardize_padding,
    standardize_tuple, with_spatial,
)
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer


class _Conv(Layer):
    """What every convolution shares: geometry arguments, bias, activation and the channel bookkeeping."""
    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = type(self).__name__
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = standardize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        self.padding = standardize_padding(padding, who, allow_causal=self._allow_causal())
        self.data_format = standardize_data_format(data_format, who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ArgumentError(f"{who}: strides > 1 is not supported together with dilation_rate > 1, got "
                                f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=self.rank + 2)

    def _allow_causal(self):
        return False

    @property
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape):
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ShapeError(f"{type(self).__name__} '{self.name}': the channel axis of the input must be known, "
                             f"got input shape {tuple(input_shape)} ({self.data_format})")
        return channels

    def _make_bias(self, size):
        self.bias = self.add_weight(shape=(size,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None

    def _finish(self, outputs):
        if self.bias is not None:
            shape = (1,) * (self.rank + 1) + (-1,) if self.data_format == "channels_last" else \
                (1, -1) + (1,) * self.rank
            outputs = outputs + self.bias.reshape(shape)
        return self.activation(outputs)

    def _check_fits(self, input_shape):
        """The output must have at least one position along each spatial axis."""
        for n, k, d in zip(spatial_shape(input_shape, self.data_format), self.kernel_size, self.dilation_rate):
            if n is not None and self.padding == "valid" and n < (k - 1) * d + 1:
                raise ShapeError(f"{type(self).__name__} '{self.name}': the kernel (size {self.kernel_size}, "
                                 f"dilation {self.dilation_rate}) is larger than the input's spatial shape "
                                 f"{spatial_shape(input_shape, self.data_format)} with padding 'valid'")

    def _spatial_out(self, input_shape):
        return [conv_output_length(n, k, s, self.padding, d) for n, k, s, d in
                zip(spatial_shape(input_shape, self.data_format), self.kernel_size, self.strides,
                    self.dilation_rate)]

    def _base_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": list(self.kernel_size), "strides": list(self.strides), "padding": self.padding,
            "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config


class _BaseConv(_Conv):
    """An N-d convolution with ``filters`` outputs and optional channel ``groups``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        who = type(self).__name__
        self.filters = check_positive_int(filters, who, "filters")
        self.groups = check_positive_int(groups, who, "groups")
        if self.filters % self.groups:
            raise ArgumentError(f"{who}: filters ({self.filters}) must be divisible by groups ({self.groups})")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ShapeError(f"{type(self).__name__} '{self.name}': the input's {channels} channels must be "
                             f"divisible by groups ({self.groups}); input shape {tuple(input_shape)}")
        self._check_fits(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._make_bias(self.filters)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":
            # Causal (Conv1D): pad only the start of the time axis, so output t sees inputs <= t.
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            time_axis = 1 if self.data_format == "channels_last" else 2
            widths = [(0, 0)] * inputs.ndim
            widths[time_axis] = (left, 0)
            inputs, padding = ops.pad(inputs, widths), "valid"
        outputs = ops.conv_with_bias(inputs, self.kernel, self.bias, self.strides, padding, self.data_format,
                                     self.dilation_rate)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return with_spatial(input_shape, self._spatial_out(input_shape), self.filters, self.data_format)

    def get_config(self):
        config = self._base_config()
        config.update({
            "filters": self.filters, "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        })
        return config


class Conv1D(_BaseConv):
    """1-d convolution over ``(batch, steps, channels)``; ``padding`` may also be ``'causal'``.

    Example:
        >>> keras.layers.Conv1D(8, 3, padding="causal")(lamina.ones(2, 10, 4)).shape
        lamina.Size([2, 10, 8])
    """
    rank = 1

    def _allow_causal(self):
        return True


class Conv2D(_BaseConv):
    """2-d convolution over ``(batch, height, width, channels)``.

    Args:
        filters: output channels.
        kernel_size: an int or ``(kh, kw)``.
        strides, dilation_rate: ints or pairs (strides > 1 and dilation > 1 cannot be combined, as in Keras).
        padding: 'valid' (no padding) or 'same' (output size ``ceil(input / stride)``; an odd total padding puts
            the extra row/column at the end).
        groups: split the channels into groups convolved separately; the kernel is
            ``(kh, kw, in_channels / groups, filters)``.
        data_format: 'channels_last' (default) or 'channels_first'.

    Example:
        >>> keras.layers.Conv2D(8, 3, strides=2, padding="same")(lamina.ones(1, 9, 9, 3)).shape
        lamina.Size([1, 5, 5, 8])
    """
    rank = 2


class _BaseConvTranspose(_Conv):
    """The adjoint of a convolution: upsamples by ``strides``; kernel ``(*kernel_size, filters, in_channels)``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        who = type(self).__name__
        self.filters = check_positive_int(filters, who, "filters")
        self.output_padding = None if output_padding is None else standardize_tuple(
            output_padding, self.rank, "output_padding", who, allow_zero=True)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ArgumentError(f"{who}: each output_padding must be smaller than its stride, got output_padding="
                                f"{self.output_padding} and strides={self.strides}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._make_bias(self.filters)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs):
        outputs = ops.conv_transpose(inputs, self.kernel, self.strides, self.padding, self.output_padding,
                                     self.data_format, self.dilation_rate)
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        out = []
        pads = self.output_padding or (None,) * self.rank
        for n, k, s, p, d in zip(spatial_shape(input_shape, self.data_format), self.kernel_size, self.strides,
                                 pads, self.dilation_rate):
            out.append(None if n is None else _transpose_length(n, k, s, self.padding, p, d))
        return with_spatial(input_shape, out, self.filters, self.data_format)

    def get_config(self):
        config = self._base_config()
        config.update({
            "filters": self.filters,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        })
        return config


def _transpose_length(size, kernel, stride, padding, output_padding, dilation):
    """Keras's output length of a transposed convolution along one axis."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return (size - 1) * stride + effective + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + effective % 2 + output_padding


class Conv1DTranspose(_BaseConvTranspose):
    """1-d transposed convolution over ``(batch, steps, channels)``."""
    rank = 1


class Conv2DTranspose(_BaseConvTranspose):
    """2-d transposed convolution: ``(batch, h, w, c) -> (batch, h * stride, w * stride, filters)`` with 'same'.

    Example:
        >>> keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(lamina.ones(1, 5, 5, 2)).shape
        lamina.Size([1, 10, 10, 4])
    """
    rank = 2


class _BaseDepthwiseConv(_Conv):
    """Each input channel convolved with its own ``depth_multiplier`` filters (groups = channels)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = check_positive_int(depth_multiplier, type(self).__name__, "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._check_fits(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer,
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self._make_bias(channels * self.depth_multiplier)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs):
        outputs = ops.depthwise_conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                                     self.dilation_rate)
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        channels = input_shape[self._channel_axis]
        return with_spatial(input_shape, self._spatial_out(input_shape),
                            None if channels is None else channels * self.depth_multiplier, self.data_format)

    def get_config(self):
        config = self._base_config()
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        })
        return config


class DepthwiseConv1D(_BaseDepthwiseConv):
    """1-d depthwise convolution."""
    rank = 1


class DepthwiseConv2D(_BaseDepthwiseConv):
    """2-d depthwise convolution: kernel ``(kh, kw, in_channels, depth_multiplier)``, output channels
    ``in_channels * depth_multiplier``."""
    rank = 2


class _BaseSeparableConv(_Conv):
    """A depthwise convolution followed by a pointwise (1x1) convolution to ``filters`` channels."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        who = type(self).__name__
        self.filters = check_positive_int(filters, who, "filters")
        self.depth_multiplier = check_positive_int(depth_multiplier, who, "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._check_fits(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._make_bias(self.filters)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs):
        outputs = ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel, self.strides,
                                     self.padding, self.data_format, self.dilation_rate)
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        return with_spatial(input_shape, self._spatial_out(input_shape), self.filters, self.data_format)

    def get_config(self):
        config = self._base_config()
        config.update({
            "filters": self.filters, "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        })
        return config


class SeparableConv1D(_BaseSeparableConv):
    """1-d depthwise-separable convolution."""
    rank = 1


class SeparableConv2D(_BaseSeparableConv):
    """2-d depthwise-separable convolution: ``depthwise_kernel`` ``(kh, kw, in, multiplier)`` then
    ``pointwise_kernel`` ``(1, 1, in * multiplier, filters)``."""
    rank = 2


# Keras's aliases.
Convolution1D, Convolution2D = Conv1D, Conv2D
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

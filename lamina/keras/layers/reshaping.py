"""Keras spatial reshaping layers: UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D (channels-last default)."""
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import ops
from lamina.keras.layers._args import standardize_data_format, standardize_tuple
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer
from lamina.nn import functional as F


def _pairs(value, rank, name, who):
    """Keras's padding/cropping argument: an int (all sides), ``rank`` ints (symmetric per axis), or ``rank``
    ``(before, after)`` pairs; returned as a tuple of pairs of non-negative ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        items = (items,)  # ZeroPadding1D((1, 2)) is one (before, after) pair
    if len(items) != rank:
        raise ArgumentError(f"{who}: {name} must be an int, {rank} ints or {rank} pairs of ints, got {value!r}")
    pairs = []
    for item in items:
        pair = (item, item) if isinstance(item, int) else tuple(item)
        if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair):
            raise ArgumentError(f"{who}: {name} must hold non-negative ints, got {value!r}")
        pairs.append(pair)
    return tuple(pairs)


def _spatial_axes(rank, data_format):
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))


class _UpSampling(Layer):
    rank = 2

    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.size = standardize_tuple(size, self.rank, "size", who)
        self.data_format = standardize_data_format(data_format, who)
        if interpolation not in ("nearest", "bilinear"):
            raise ArgumentError(f"{who}: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        if interpolation == "bilinear" and self.rank != 2:
            raise ArgumentError(f"{who}: interpolation 'bilinear' needs 2 spatial axes")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        x = inputs
        if self.interpolation == "nearest":
            # Each element repeated size[i] times along spatial axis i (as numpy.repeat).
            for axis, n in zip(_spatial_axes(self.rank, self.data_format), self.size):
                if n > 1:
                    x = ops.repeat(x, n, axis=axis)
            return x
        if self.data_format == "channels_last":
            x = ops.to_channels_first(x)
        x = F.interpolate(x, scale_factor=self.size, mode="bilinear", align_corners=False)
        return ops.to_channels_last(x) if self.data_format == "channels_last" else x

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, n in zip(_spatial_axes(self.rank, self.data_format), self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * n
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"size": list(self.size), "data_format": self.data_format})
        if self.rank == 2:
            config["interpolation"] = self.interpolation
        return config


class UpSampling1D(_UpSampling):
    """Repeats each step ``size`` times: ``(batch, steps, c) -> (batch, steps * size, c)``."""
    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, None, "nearest", **kwargs)

    def call(self, inputs):
        return ops.repeat(inputs, self.size[0], axis=1)

    def get_config(self):
        config = Layer.get_config(self)
        config["size"] = self.size[0]
        return config


class UpSampling2D(_UpSampling):
    """Repeats rows and columns (``interpolation='nearest'``) or interpolates them (``'bilinear'``).

    Example:
        >>> keras.layers.UpSampling2D((2, 3))(lamina.ones(1, 2, 2, 1)).shape
        lamina.Size([1, 4, 6, 1])
    """
    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)


class _ZeroPadding(Layer):
    rank = 2

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.padding = _pairs(padding, self.rank, "padding", who)
        self.data_format = standardize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            widths[axis] = pair
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            shape[axis] = None if shape[axis] is None else shape[axis] + a + b
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": [list(p) for p in self.padding], "data_format": self.data_format})
        return config


class ZeroPadding1D(_ZeroPadding):
    """Zeros added at the start and end of the steps axis."""
    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["padding"] = list(self.padding[0])
        return config


class ZeroPadding2D(_ZeroPadding):
    """Zero rows and columns around an image: ``padding`` is an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``."""
    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(Layer):
    rank = 2

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.cropping = _pairs(cropping, self.rank, "cropping", who)
        self.data_format = standardize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        key = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            if a + b >= inputs.shape[axis]:
                raise ShapeError(f"{type(self).__name__} '{self.name}': cropping {(a, b)} removes all "
                                 f"{inputs.shape[axis]} positions of axis {axis} (input shape {tuple(inputs.shape)})")
            key[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(key)]

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            shape[axis] = None if shape[axis] is None else shape[axis] - a - b
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": [list(p) for p in self.cropping], "data_format": self.data_format})
        return config


class Cropping1D(_Cropping):
    """Removes steps at the start and end: ``cropping`` is an int or ``(start, end)``."""
    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)

    def get_config(self):
        config = Layer.get_config(self)
        config["cropping"] = list(self.cropping[0])
        return config


class Cropping2D(_Cropping):
    """Removes rows and columns at the borders: ``((top, bottom), (left, right))``."""
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

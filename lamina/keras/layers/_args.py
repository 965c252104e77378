"""Argument checks shared by the Keras layer set: int tuples, padding and data_format names, output lengths.

Each check raises ArgumentError naming the layer class, the argument, what was expected and what was received.
"""
from lamina.errors import ArgumentError


def standardize_tuple(value, n, name, who, allow_zero=False):
    """An int or an iterable of ``n`` ints as a tuple of ``n`` positive ints (non-negative with allow_zero)."""
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool)
                                                          for v in values):
            raise ArgumentError(f"{who}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        bound = "non-negative" if allow_zero else "positive"
        raise ArgumentError(f"{who}: {name} must be {bound}, got {value!r}")
    return values


def standardize_data_format(data_format, who):
    """``None`` means ``'channels_last'`` (Keras's default image data format)."""
    value = "channels_last" if data_format is None else str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ArgumentError(f"{who}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return value


def standardize_padding(padding, who, allow_causal=False):
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ArgumentError(f"{who}: padding must be one of {', '.join(map(repr, allowed))}, got {padding!r}")
    return value


def conv_output_length(length, kernel, stride, padding, dilation=1):
    """Output size along one axis of a convolution or pooling window (None stays None)."""
    if length is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return (length + stride - 1) // stride
    return (length - effective) // stride + 1 if length >= effective else 0


def spatial_shape(input_shape, data_format):
    """The spatial sizes of a batched input shape."""
    return tuple(input_shape[1:-1]) if data_format == "channels_last" else tuple(input_shape[2:])


def with_spatial(input_shape, spatial, channels, data_format):
    """A batched shape from its batch size, spatial sizes and channel count."""
    if data_format == "channels_last":
        return (input_shape[0],) + tuple(spatial) + (channels,)
    return (input_shape[0], channels) + tuple(spatial)


def check_rate(rate, who, name="rate"):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ArgumentError(f"{who}: {name} must be a number in [0, 1], got {rate!r}")
    return float(rate)


def check_positive_int(value, who, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{who}: {name} must be a positive int, got {value!r}")
    return value

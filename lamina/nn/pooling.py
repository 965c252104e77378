"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d.

Each layer stores its hyper-parameters as torch does (so the reprs match) and calls the pooling operator in
``lamina.nn.functional``.
"""
from lamina.errors import ArgumentError
from lamina.nn import functional as F
from lamina.nn._layer_util import ntuple
from lamina.nn.module import Module


def _check_window(cls, nd, kernel_size, stride, padding, dilation=1):
    """Type and sign checks of the window arguments at construction (the operator checks them against inputs)."""
    for name, value, minimum in (("kernel_size", kernel_size, 1), ("stride", stride, 1), ("padding", padding, 0),
                                 ("dilation", dilation, 1)):
        if value is None:
            continue
        values = ntuple(value, nd, cls, name)
        if any(v < minimum for v in values):
            kind = "positive" if minimum else "non-negative"
            raise ArgumentError(f"{cls}: argument '{name}' must be {kind}, got {value!r}")


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        _check_window(type(self).__name__, self._nd, kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of (N, C, L) or (C, L) input.

    Args:
        kernel_size: window size.
        stride: step between windows (default: kernel_size).
        padding: implicit -inf padding on both sides (at most half the kernel).
        dilation: spacing between window elements.
        return_indices: also return the flat positions of the maxima (for MaxUnpool).
        ceil_mode: round the output size up instead of down.

    Example:
        >>> nn.MaxPool1d(3, stride=2)(lamina.randn(20, 16, 50)).shape
        lamina.Size([20, 16, 24])
    """

    _nd = 1

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding 2-d windows of (N, C, H, W) or (C, H, W) input.

    Args:
        kernel_size: window size (int or pair).
        stride: step between windows (default: kernel_size).
        padding: implicit -inf padding on both sides (at most half the kernel).
        dilation: spacing between window elements.
        return_indices: also return the flat positions of the maxima (for MaxUnpool2d).
        ceil_mode: round the output size up instead of down.

    Example:
        >>> nn.MaxPool2d(2)(lamina.randn(1, 3, 8, 8)).shape
        lamina.Size([1, 3, 4, 4])
    """

    _nd = 2

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over sliding windows of (N, C, L) or (C, L) input.

    Args:
        kernel_size: window size.
        stride: step between windows (default: kernel_size).
        padding: implicit zero padding on both sides (at most half the kernel).
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padding zeros in the mean's denominator (default True).

    Example:
        >>> nn.AvgPool1d(3, stride=2)(lamina.randn(1, 1, 7)).shape
        lamina.Size([1, 1, 3])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        cls = type(self).__name__
        _check_window(cls, 1, kernel_size, stride, padding)
        # torch keeps AvgPool1d's window arguments as 1-tuples
        self.kernel_size = ntuple(kernel_size, 1, cls, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, 1, cls, "stride")
        self.padding = ntuple(padding, 1, cls, "padding")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding 2-d windows of (N, C, H, W) or (C, H, W) input.

    Args:
        kernel_size: window size (int or pair).
        stride: step between windows (default: kernel_size).
        padding: implicit zero padding on both sides (at most half the kernel).
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padding zeros in the mean's denominator (default True).
        divisor_override: divide every window's sum by this instead.

    Example:
        >>> nn.AvgPool2d(2)(lamina.randn(1, 3, 8, 8)).shape
        lamina.Size([1, 3, 4, 4])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        cls = type(self).__name__
        _check_window(cls, 2, kernel_size, stride, padding)
        if divisor_override is not None and (isinstance(divisor_override, bool)
                                             or not isinstance(divisor_override, int) or divisor_override == 0):
            raise ArgumentError(f"{cls}: divisor_override must be a non-zero int or None, got {divisor_override!r}")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _check_output_size(cls, nd, output_size):
    values = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(values) != nd or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
                                    for v in values):
        raise ArgumentError(f"{cls}: output_size must be an int, None or a tuple of {nd} ints or Nones, got "
                            f"{output_size!r}")


class _AdaptivePoolNd(Module):
    _nd = 2

    def __init__(self, output_size):
        super().__init__()
        _check_output_size(type(self).__name__, self._nd, output_size)
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Mean pooling to a fixed output length, whatever the input's length.

    Example:
        >>> nn.AdaptiveAvgPool1d(5)(lamina.randn(1, 64, 8)).shape
        lamina.Size([1, 64, 5])
    """

    _nd = 1

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Mean pooling to a fixed (H_out, W_out), whatever the input's size; None keeps that input dim.

    Example:
        >>> nn.AdaptiveAvgPool2d((5, 7))(lamina.randn(1, 64, 8, 9)).shape
        lamina.Size([1, 64, 5, 7])
        >>> nn.AdaptiveAvgPool2d(1)(lamina.randn(2, 64, 7, 7)).shape   # global average pooling
        lamina.Size([2, 64, 1, 1])
    """

    _nd = 2

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output length, whatever the input's length.

    Example:
        >>> nn.AdaptiveMaxPool1d(5)(lamina.randn(1, 64, 8)).shape
        lamina.Size([1, 64, 5])
    """

    _nd = 1

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (H_out, W_out), whatever the input's size; None keeps that input dim.

    Example:
        >>> nn.AdaptiveMaxPool2d((5, 7))(lamina.randn(1, 64, 8, 9)).shape
        lamina.Size([1, 64, 5, 7])
    """

    _nd = 2

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

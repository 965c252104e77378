"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, LazyConv1d, LazyConv2d.

Weights are (out_channels, in_channels / groups, *kernel_size) for a convolution and
(in_channels, out_channels / groups, *kernel_size) for a transposed one, as in torch, initialised with
kaiming_uniform_(a=sqrt(5)) and a U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias.
"""
import math

from lamina.errors import ArgumentError, ShapeError
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn._layer_util import check_device, check_int, float_dtype, new_parameter, ntuple
from lamina.nn.lazy import LazyModuleMixin
from lamina.nn.module import Module
from lamina.nn.parameter import UninitializedParameter
from lamina.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: argument checks, parameters, initialisation and repr."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding, groups,
                 bias, padding_mode, device, dtype):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        check_device(device, name)
        self.in_channels = check_int(in_channels, name, "in_channels")
        self.out_channels = check_int(out_channels, name, "out_channels")
        self.kernel_size = ntuple(kernel_size, nd, name, "kernel_size")
        self.stride = ntuple(stride, nd, name, "stride")
        self.dilation = ntuple(dilation, nd, name, "dilation")
        self.output_padding = ntuple(output_padding, nd, name, "output_padding")
        for arg in ("kernel_size", "stride", "dilation"):
            if any(v <= 0 for v in getattr(self, arg)):
                raise ArgumentError(f"{name}: argument '{arg}' must be positive, got {getattr(self, arg)}")
        if any(v < 0 for v in self.output_padding):
            raise ArgumentError(f"{name}: argument 'output_padding' must be non-negative, got "
                                f"{self.output_padding}")
        self.groups = check_int(groups, name, "groups", minimum=1)
        if self.in_channels % self.groups:
            raise ArgumentError(f"{name}: in_channels ({self.in_channels}) must be divisible by groups "
                                f"({self.groups})")
        if self.out_channels % self.groups:
            raise ArgumentError(f"{name}: out_channels ({self.out_channels}) must be divisible by groups "
                                f"({self.groups})")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ArgumentError(f"{name}: invalid padding string {padding!r}, should be one of 'same', 'valid'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ArgumentError(f"{name}: padding='same' is not supported for strided convolutions, got "
                                    f"stride={self.stride}")
            self.padding = padding
        else:
            self.padding = ntuple(padding, nd, name, "padding")
            if any(p < 0 for p in self.padding):
                raise ArgumentError(f"{name}: argument 'padding' must be non-negative, got {self.padding}")
        if padding_mode not in _PADDING_MODES:
            raise ArgumentError(f"{name}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, but "
                                f"got padding_mode={padding_mode!r}")
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        self._reversed_padding_repeated_twice = self._pad_amounts()
        self._dtype = float_dtype(dtype, name)
        self._make_parameters(bias)

    def _make_parameters(self, bias):
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = new_parameter(shape, self._dtype)
        if bias:
            self.bias = new_parameter((self.out_channels,), self._dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _pad_amounts(self):
        """F.pad's (left, right) amounts, last spatial dim first, for the non-'zeros' padding modes."""
        if self.padding == "valid":
            return [0, 0] * self._nd
        if self.padding == "same":
            # the odd pixel of an even kernel's padding goes at the end, as in torch
            amounts = []
            for d, k in reversed(list(zip(self.dilation, self.kernel_size))):
                total = d * (k - 1)
                amounts += [total // 2, total - total // 2]
            return amounts
        return [p for p in reversed(self.padding) for _ in range(2)]

    def reset_parameters(self):
        """Draw weight and bias as torch does (from lamina's generator)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):
        nd = self._nd
        if not isinstance(input, Tensor):
            return
        if input.ndim not in (nd + 1, nd + 2):
            raise ShapeError(f"expected a {nd + 2}-d (N, C, {_spatial(nd)}) or {nd + 1}-d (C, {_spatial(nd)}) "
                             f"input, got shape {tuple(input.shape)}")
        channels = input.shape[1 if input.ndim == nd + 2 else 0]
        if channels != self.in_channels:
            raise ShapeError(f"expected input with {self.in_channels} channels, got shape {tuple(input.shape)} "
                             f"with {channels} channels")

    def extra_repr(self):
        nd = self._nd
        padding = self.padding  # 'same' and 'valid' print bare, as in torch
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if padding != (0,) * len(padding):
            s += f", padding={padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _spatial(nd):
    return ("L", "H, W", "D, H, W")[nd - 1]


class _Conv(_ConvNd):
    _conv = None  # name of the F function

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias,
                         padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        conv = getattr(F, self._conv)
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-d convolution over (N, C_in, L) or (C_in, L) input.

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, 'valid' or 'same' (stride 1 only).
        groups: blocked connections from input to output channels; divides both.
        bias: learn a per-channel bias (default True).
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example:
        >>> nn.Conv1d(16, 33, 3, stride=2)(lamina.randn(20, 16, 50)).shape
        lamina.Size([20, 33, 24])
    """

    _nd = 1
    _conv = "conv1d"


class Conv2d(_Conv):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) input.

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: int or pair.
        padding: int, pair, 'valid' or 'same' (stride 1 only; an odd total puts the extra pixel at the end).
        groups: blocked connections from input to output channels; divides both (in_channels: depthwise).
        bias: learn a per-channel bias (default True).
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        dtype: floating dtype of the parameters.

    Attributes:
        weight: (out_channels, in_channels / groups, kh, kw); bias: (out_channels,).

    Example:
        >>> conv = nn.Conv2d(3, 8, 3, padding=1)
        >>> conv(lamina.randn(2, 3, 32, 32)).shape
        lamina.Size([2, 8, 32, 32])
    """

    _nd = 2
    _conv = "conv2d"


class _ConvTransposeNd(_ConvNd):
    _transposed = True
    _conv = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ArgumentError(f'{type(self).__name__}: only "zeros" padding mode is supported, got '
                                f"padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise ArgumentError(f"{type(self).__name__}: argument 'padding' must be an int or a tuple of ints, "
                                f"got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding, groups,
                         bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that gives ``output_size`` (torch's rule: it must lie in [min, min + stride - 1])."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        batched = input.ndim == nd + 2
        sizes = [int(s) for s in output_size]
        lead = 2 if batched else 1
        if len(sizes) == lead + nd:
            sizes = sizes[lead:]
        if len(sizes) != nd:
            raise ArgumentError(f"output_size must have {nd} or {lead + nd} elements for a {input.ndim}-d input, "
                                f"got {list(output_size)}")
        spatial = tuple(input.shape[-nd:])
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        for size, lo, hi in zip(sizes, smallest, largest):
            if not lo <= size <= hi:
                raise ShapeError(f"requested an output size of {sizes}, but valid sizes range from {smallest} to "
                                 f"{largest} (for an input of spatial size {list(spatial)})")
        return tuple(size - lo for size, lo in zip(sizes, smallest))

    def forward(self, input, output_size=None):
        self._check_input(input)
        output_padding = self._output_padding(input, output_size)
        return getattr(F, self._conv)(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                      self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution (the gradient of Conv1d with respect to its input), plus a bias.

    Example:
        >>> nn.ConvTranspose1d(16, 8, 3, stride=2)(lamina.randn(2, 16, 10)).shape
        lamina.Size([2, 8, 21])
    """

    _nd = 1
    _conv = "conv_transpose1d"


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution ("deconvolution"), e.g. for learned upsampling.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as Conv2d.
        output_padding: extra rows/columns at the end of the output (smaller than stride or dilation).

    ``forward(input, output_size=None)``: ``output_size`` picks the output_padding that gives that size.

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> up(lamina.randn(1, 16, 12, 12), output_size=(24, 24)).shape
        lamina.Size([1, 8, 24, 24])
    """

    _nd = 2
    _conv = "conv_transpose2d"


class _LazyConvMixin(LazyModuleMixin):
    """Lazy convolutions read ``in_channels`` from the first input's channel dim."""

    def _lazy_init(self, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device,
                   dtype):
        # Build as a convolution with in_channels = groups, then replace the parameters by placeholders.
        _ConvNd.__init__(self, groups, out_channels, kernel_size, stride, padding, dilation, 0, groups, False,
                         padding_mode, device, dtype)
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype=self._dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=self._dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _make_parameters(self, bias):
        self.weight = new_parameter((0,), self._dtype)
        self.register_parameter("bias", None)

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        nd = self._nd
        if not isinstance(input, Tensor) or input.ndim not in (nd + 1, nd + 2):
            raise ShapeError(f"expected a {nd + 2}-d (N, C, {_spatial(nd)}) or {nd + 1}-d (C, {_spatial(nd)}) "
                             f"input to infer in_channels, got {getattr(input, 'shape', type(input).__name__)}")
        channels = int(input.shape[1 if input.ndim == nd + 2 else 0])
        if channels % self.groups:
            raise ArgumentError(f"in_channels ({channels}) of the input must be divisible by groups "
                                f"({self.groups})")
        self.in_channels = channels
        self.weight.materialize((self.out_channels, channels // self.groups) + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _lazy_shapes(self):
        return {"weight": (self.out_channels, None) + tuple(self.kernel_size), "bias": (self.out_channels,)}

    def _infer_from_state(self):
        self.in_channels = int(self.weight.shape[1]) * self.groups


class LazyConv1d(_LazyConvMixin, Conv1d):
    """A Conv1d whose ``in_channels`` comes from the first input (see LazyConv2d)."""

    cls_to_become = Conv1d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device,
                        dtype)


class LazyConv2d(_LazyConvMixin, Conv2d):
    """A Conv2d whose ``in_channels`` comes from the first input's channel dim.

    The weight and bias are UninitializedParameters until the first call, which materializes them in place
    (an optimizer built before it trains them) with Conv2d's initialisation; the module then becomes a Conv2d.

    Example:
        >>> conv = nn.LazyConv2d(8, 3, padding=1)
        >>> conv(lamina.randn(2, 3, 16, 16)).shape
        lamina.Size([2, 8, 16, 16])
    """

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device,
                        dtype)

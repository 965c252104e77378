"""Upsample: resize the spatial dims of (N, C, *spatial) input by F.interpolate."""
from lamina.errors import ArgumentError
from lamina.nn import functional as F
from lamina.nn.module import Module

_MODES = ("nearest", "linear", "bilinear", "trilinear", "nearest-exact", "area")


class Upsample(Module):
    """Upsample (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size`` or by ``scale_factor``.

    Args:
        size: the output spatial size (int or tuple); exclusive with ``scale_factor``.
        scale_factor: multiplier of the spatial size (float or tuple of floats).
        mode: 'nearest' (default), 'linear', 'bilinear', 'trilinear', 'nearest-exact' or 'area' ('bicubic' is
            not implemented).
        align_corners: for the linear modes, align the corner pixels of input and output.
        recompute_scale_factor: recompute the scale from the computed output size.

    Example:
        >>> nn.Upsample(scale_factor=2, mode="nearest")(lamina.randn(1, 1, 2, 2)).shape
        lamina.Size([1, 1, 4, 4])
        >>> nn.Upsample(size=(3, 5), mode="bilinear")(lamina.randn(1, 1, 2, 2)).shape
        lamina.Size([1, 1, 3, 5])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        cls = type(self).__name__
        if mode not in _MODES:
            raise ArgumentError(f"{cls}: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
        if size is not None and scale_factor is not None:
            raise ArgumentError(f"{cls}: only one of size or scale_factor should be defined, got size={size!r} "
                                f"and scale_factor={scale_factor!r}")
        self.name = type(self).__name__
        self.size = size
        # torch stores the scale factor as float(s)
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        return info + ", mode=" + repr(self.mode)

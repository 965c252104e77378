"""Dropout layers: Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout.

Active only in training mode (``module.train()``); in evaluation they return the input unchanged. The masks come
from lamina's generator, so ``lamina.manual_seed`` makes them reproducible.
"""
from lamina.nn import functional as F
from lamina.nn._layer_util import check_probability
from lamina.nn.module import Module


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = check_probability(p, type(self).__name__)
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training and scale the kept ones by ``1 / (1 - p)``.

    Example:
        >>> drop = nn.Dropout(p=0.2)
        >>> x = lamina.randn(20, 16)
        >>> y = drop(x)                 # training mode: about 20% zeros, the rest times 1.25
        >>> drop.eval()(x) is x         # evaluation: the identity
        True
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` in training.

    Example:
        >>> nn.Dropout1d(0.2)(lamina.randn(20, 16, 32)).shape
        lamina.Size([20, 16, 32])
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input with probability ``p`` in training.

    Example:
        >>> nn.Dropout2d(0.2)(lamina.randn(20, 16, 32, 32)).shape
        lamina.Size([20, 16, 32, 32])
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p`` in training."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: keeps zero mean and unit variance (dropped units go to SELU's saturation)."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (dim 1)."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)

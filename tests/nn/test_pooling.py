"""Pooling and Upsample layers against torch: outputs, input gradients, repr, errors."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer, gradcheck_layer


def _distinct(*shape, dtype=np.float32):
    """Values without ties (max pooling's gradient is only defined without them)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(0).permutation(n).reshape(shape) / n - 0.5).astype(dtype)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3), stride=(1, 2)), dict(kernel_size=2, dilation=2),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool2d(kw):
    check_layer(nn.MaxPool2d(**kw), torch.nn.MaxPool2d(**kw), _distinct(2, 3, 7, 8))


def test_max_pool2d_return_indices_and_unbatched():
    kw = dict(kernel_size=2, return_indices=True)
    check_layer(nn.MaxPool2d(**kw), torch.nn.MaxPool2d(**kw), _distinct(1, 2, 4, 6))
    check_layer(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), _distinct(2, 4, 6))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, dilation=1),
                                dict(kernel_size=2, dilation=2, ceil_mode=True)])
def test_max_pool1d(kw):
    check_layer(nn.MaxPool1d(**kw), torch.nn.MaxPool1d(**kw), _distinct(2, 3, 9))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=2, divisor_override=3), dict(kernel_size=(1, 3), stride=1)])
def test_avg_pool2d(kw):
    check_layer(nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw), rand(2, 3, 7, 8))


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=2, padding=1, count_include_pad=False)])
def test_avg_pool1d(kw):
    check_layer(nn.AvgPool1d(**kw), torch.nn.AvgPool1d(**kw), rand(2, 3, 9))


@pytest.mark.parametrize("size", [1, 3, (2, 3), (None, 2), (5, 7)])
def test_adaptive_avg_pool2d(size):
    check_layer(nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size), rand(2, 3, 5, 7))


@pytest.mark.parametrize("size", [1, (2, 3), (3, None)])
def test_adaptive_max_pool2d(size):
    check_layer(nn.AdaptiveMaxPool2d(size), torch.nn.AdaptiveMaxPool2d(size), _distinct(2, 3, 5, 7))
    check_layer(nn.AdaptiveMaxPool2d(size, return_indices=True),
                torch.nn.AdaptiveMaxPool2d(size, return_indices=True), _distinct(1, 2, 5, 7))


def test_adaptive_pool1d():
    check_layer(nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), rand(2, 3, 9))
    check_layer(nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4), _distinct(2, 3, 9))


def test_pool_reprs():
    pairs = [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (nn.MaxPool1d(3, 1, 1), torch.nn.MaxPool1d(3, 1, 1)),
             (nn.MaxPool2d((2, 3), dilation=2, ceil_mode=True), torch.nn.MaxPool2d((2, 3), dilation=2, ceil_mode=True)),
             (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)), (nn.AvgPool1d(3), torch.nn.AvgPool1d(3)),
             (nn.AvgPool2d((2, 1), 1, 0, True, False, 2), torch.nn.AvgPool2d((2, 1), 1, 0, True, False, 2)),
             (nn.AdaptiveAvgPool2d((2, None)), torch.nn.AdaptiveAvgPool2d((2, None))),
             (nn.AdaptiveMaxPool2d(2), torch.nn.AdaptiveMaxPool2d(2)), (nn.AdaptiveAvgPool1d(4),
                                                                        torch.nn.AdaptiveAvgPool1d(4))]
    for l, t in pairs:
        assert repr(l) == repr(t)


def test_pool_gradcheck():
    gradcheck_layer(nn.MaxPool2d(2, stride=1), _distinct(1, 1, 3, 3))
    gradcheck_layer(nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False), rand(1, 1, 3, 3))
    gradcheck_layer(nn.AdaptiveAvgPool2d((2, 3)), rand(1, 1, 3, 4))
    gradcheck_layer(nn.AdaptiveMaxPool1d(2), _distinct(1, 2, 5))
    gradcheck_layer(nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), _distinct(1, 2, 7))
    gradcheck_layer(nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), rand(1, 2, 6))
    gradcheck_layer(nn.AvgPool2d(2, divisor_override=3), rand(1, 1, 4, 4))
    gradcheck_layer(nn.AdaptiveMaxPool2d((2, 3)), _distinct(1, 2, 5, 4))
    gradcheck_layer(nn.AdaptiveAvgPool1d(3), rand(1, 2, 5))


def test_pool_errors():
    check_error(lambda: nn.MaxPool2d(0), ArgumentError, "MaxPool2d", "kernel_size", "positive")
    check_error(lambda: nn.MaxPool2d(2, stride=0), ArgumentError, "stride")
    check_error(lambda: nn.AvgPool2d(2, padding=-1), ArgumentError, "AvgPool2d", "padding", "non-negative")
    check_error(lambda: nn.AvgPool2d(2, divisor_override=0), ArgumentError, "divisor_override")
    check_error(lambda: nn.AdaptiveAvgPool2d((2, 3, 4)), ArgumentError, "output_size")
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(5))
    check_error(lambda: net(lamina.randn(1, 1, 5, 5)), LaminaError, "1 (MaxPool2d(kernel_size=5")


# ---- Upsample -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=(2, 3)), dict(size=(5, 7)),
                                dict(scale_factor=2, mode="bilinear"), dict(size=(5, 4), mode="bilinear"),
                                dict(scale_factor=2, mode="bilinear", align_corners=True),
                                dict(scale_factor=1.5, mode="nearest")])
def test_upsample_2d(kw):
    check_layer(nn.Upsample(**kw), torch.nn.Upsample(**kw), rand(2, 3, 3, 4))


def test_upsample_1d_and_gradcheck():
    check_layer(nn.Upsample(scale_factor=2, mode="linear"), torch.nn.Upsample(scale_factor=2, mode="linear"),
                rand(2, 3, 4))
    gradcheck_layer(nn.Upsample(scale_factor=2, mode="bilinear"), rand(1, 1, 2, 2))
    gradcheck_layer(nn.Upsample(size=(3, 4)), rand(1, 1, 2, 2))
    gradcheck_layer(nn.Upsample(size=5, mode="linear", align_corners=True), rand(1, 2, 3))
    gradcheck_layer(nn.Upsample(scale_factor=1.5, mode="nearest-exact"), rand(1, 1, 2, 3))


def test_upsample_repr_and_errors():
    for kw in [dict(scale_factor=2), dict(size=(4, 4), mode="bilinear"), dict(scale_factor=(2, 3)), dict(size=3)]:
        assert repr(nn.Upsample(**kw)) == repr(torch.nn.Upsample(**kw))
    check_error(lambda: nn.Upsample(size=2, scale_factor=2), ArgumentError, "Upsample", "only one of size")
    check_error(lambda: nn.Upsample(scale_factor=2, mode="cubic"), ArgumentError, "mode", "'cubic'")

"""Dropout layers: train vs eval, mask statistics and scaling, channel-wise masks, determinism, gradients."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError
from tests.helpers import check_error, rand


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("cls", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                 "FeatureAlphaDropout"])
def test_repr_matches_torch_and_eval_is_identity(cls):
    for args in [(), (0.2,), (0.3, True)]:
        assert repr(getattr(nn, cls)(*args)) == repr(getattr(torch.nn, cls)(*args))
    shape = {"Dropout1d": (2, 3, 4), "Dropout2d": (2, 3, 4, 5)}.get(cls, (2, 3, 4, 5, 3))
    x = lamina.randn(*shape)
    m = getattr(nn, cls)(0.5).eval()
    assert np.array_equal(_np(m(x)), _np(x))


def test_dropout_statistics_and_scaling():
    lamina.manual_seed(0)
    p = 0.3
    x = lamina.ones(200, 100)
    y = _np(nn.Dropout(p)(x))
    zeros = (y == 0).mean()
    assert abs(zeros - p) < 0.01
    assert np.allclose(y[y != 0], 1 / (1 - p))
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_gradient_is_mask_times_scale():
    lamina.manual_seed(1)
    x = lamina.randn(50, 20, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    kept = _np(y) != 0
    assert np.allclose(_np(x.grad)[kept], 2.0) and np.all(_np(x.grad)[~kept] == 0)


def test_dropout_same_seed_same_mask():
    x = lamina.randn(10, 10)
    lamina.manual_seed(5)
    a = _np(nn.Dropout()(x))
    lamina.manual_seed(5)
    b = _np(nn.Dropout()(x))
    assert np.array_equal(a, b)


def test_dropout_p0_p1_and_inplace():
    x = lamina.randn(4, 5)
    assert np.array_equal(_np(nn.Dropout(0.0)(x)), _np(x))
    assert np.all(_np(nn.Dropout(1.0)(x)) == 0)
    y = lamina.ones(30, 30)
    out = nn.Dropout(0.5, inplace=True)(y)
    assert out is y and (_np(y) == 0).any()


@pytest.mark.parametrize("cls,shape", [("Dropout1d", (8, 16, 10)), ("Dropout1d", (16, 10)),
                                       ("Dropout2d", (8, 16, 4, 5)), ("Dropout3d", (4, 8, 2, 3, 4))])
def test_channel_dropout_zeros_whole_channels(cls, shape):
    lamina.manual_seed(2)
    y = _np(getattr(nn, cls)(0.5)(lamina.ones(*shape)))
    lead = 1 if cls == "Dropout1d" and len(shape) == 2 else 2
    per_channel = y.reshape(shape[:lead] + (-1,))
    # each channel is all zeros or all 1 / (1 - p)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_alpha_dropout_keeps_mean_and_variance():
    lamina.manual_seed(0)
    x = lamina.randn(400, 250)
    y = _np(nn.AlphaDropout(0.2)(x))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02


def test_dropout_gradcheck_with_fixed_mask():
    m = nn.Dropout(0.4)
    x = lamina.tensor(rand(3, 4).astype(np.float64), requires_grad=True)

    def f(x):
        lamina.manual_seed(7)       # the same mask on every evaluation
        return m(x)
    assert lamina.autograd.gradcheck(f, (x,))


def test_dropout_bad_probability():
    for cls in ("Dropout", "Dropout2d"):
        check_error(lambda: getattr(nn, cls)(1.5), ArgumentError, cls, "between 0 and 1", "1.5")
        check_error(lambda: getattr(nn, cls)(-0.1), ArgumentError, "-0.1")

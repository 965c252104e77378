"""Activation functions against torch, including stability at large magnitudes and the in-place forms."""
import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError
from tests.helpers import check_op, check_error, rand

ACTIVATIONS = {
    "relu": lambda F, x: F.relu(x), "relu6": lambda F, x: F.relu6(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.2), "elu": lambda F, x: F.elu(x, alpha=1.3),
    "selu": lambda F, x: F.selu(x), "celu": lambda F, x: F.celu(x, alpha=0.7),
    "gelu": lambda F, x: F.gelu(x), "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x), "mish": lambda F, x: F.mish(x),
    "softplus": lambda F, x: F.softplus(x), "softplus_beta": lambda F, x: F.softplus(x, beta=2.0, threshold=3.0),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 0.7), "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardswish": lambda F, x: F.hardswish(x), "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x), "threshold": lambda F, x: F.threshold(x, 0.1, -2.0),
    "tanhshrink": lambda F, x: F.tanhshrink(x), "hardshrink": lambda F, x: F.hardshrink(x, 0.3),
    "softshrink": lambda F, x: F.softshrink(x, 0.3), "sigmoid": lambda F, x: F.sigmoid(x),
    "tanh": lambda F, x: F.tanh(x),
}


def _away_from_kinks(x):
    # Keep samples off the points where these functions are not differentiable.
    for k in (0.0, 0.1, 0.3, -0.3, 0.5, -0.5, 0.7, 3.0, -3.0, 6.0, 1.5, -1.5):
        x = np.where(np.abs(x - k) < 0.02, k + 0.05, x)
    return x.astype(np.float32)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4), (0, 3)], ids=str)
def test_activation_against_torch(name, shape):
    x = _away_from_kinks(rand(*shape, low=-4, high=4))
    check_op(lambda lib, t: ACTIVATIONS[name](lib.nn.functional, t), x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_large_magnitudes_are_finite(name):
    x = np.array([-400.0, -300.0, -30.0, 30.0, 300.0, 400.0], dtype=np.float32)
    out = check_op(lambda lib, t: ACTIVATIONS[name](lib.nn.functional, t), x, gradcheck=False, rtol=1e-5)
    assert np.all(np.isfinite(out.detach().numpy()))


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "silu", "hardtanh", "hardswish"])
def test_inplace_forms(name):
    kwargs = {"leaky_relu": (0.2,), "elu": (1.0,), "hardtanh": (-1.0, 1.0)}.get(name, ())
    for lib in (lamina, torch):
        x = lib.tensor([-1.5, 0.5, 2.0])
        y = getattr(lib.nn.functional, name)(x, *kwargs, inplace=True)
        assert y is x
    a = lamina.tensor([-1.5, 0.5, 2.0])
    getattr(lamina.nn.functional, name)(a, *kwargs, inplace=True)
    b = torch.tensor([-1.5, 0.5, 2.0])
    getattr(torch.nn.functional, name)(b, *kwargs, inplace=True)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_inplace_relu_in_graph_keeps_gradients_right():
    x0 = rand(4)
    out = []
    for lib in (lamina, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 2
        lib.nn.functional.relu(y, inplace=True)
        (y * y).sum().backward()
        out.append(x.grad.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)


def test_bad_arguments():
    x = lamina.ones(3)
    check_error(lambda: lamina.nn.functional.gelu(x, approximate="fast"), ArgumentError, "gelu()", "'fast'")
    check_error(lambda: lamina.nn.functional.hardtanh(x, 1.0, -1.0), ArgumentError, "hardtanh()", "min_val")
    check_error(lambda: lamina.nn.functional.softshrink(x, -1.0), ArgumentError, "softshrink()")

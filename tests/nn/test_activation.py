"""Activation modules against torch: outputs, input gradients, reprs, gradcheck, PReLU's parameter."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer, gradcheck_layer

CASES = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", ()), ("LeakyReLU", (0.2,)), ("ELU", ()), ("ELU", (0.5,)),
    ("SELU", ()), ("CELU", ()), ("CELU", (2.0,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()),
    ("Sigmoid", ()), ("Tanh", ()), ("Softplus", ()), ("Softplus", (2, 1)), ("Hardtanh", ()),
    ("Hardtanh", (-2.0, 2.0)), ("Hardsigmoid", ()), ("Hardswish", ()), ("LogSigmoid", ()), ("Softsign", ()),
    ("Softmax", (1,)), ("Softmax", (-1,)), ("LogSoftmax", (1,)), ("Softmin", (0,)), ("Threshold", (0.1, 20.0)),
    ("Tanhshrink", ()), ("Hardshrink", ()), ("Softshrink", (0.3,)), ("Softmax2d", ()),
]


@pytest.mark.parametrize("name,args", CASES)
def test_activation_matches_torch(name, args):
    x = rand(2, 3, 4, 5, low=-4, high=4)
    check_layer(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), x)


@pytest.mark.parametrize("name,args", CASES)
def test_activation_gradcheck(name, args):
    gradcheck_layer(getattr(nn, name)(*args), rand(2, 3, 2, low=-2, high=2))


@pytest.mark.parametrize("name", ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "SiLU", "Mish", "Hardtanh",
                                  "Hardsigmoid", "Hardswish"])
def test_inplace_variants(name):
    t_mod = getattr(torch.nn, name)(inplace=True)
    l_mod = getattr(nn, name)(inplace=True)
    assert repr(l_mod) == repr(t_mod)
    x = rand(3, 4, low=-3, high=3)
    lx, tx = lamina.tensor(x), torch.tensor(x)
    out = l_mod(lx)
    t_mod(tx)
    assert out is lx
    np.testing.assert_allclose(lx.numpy(), tx.numpy(), rtol=1.3e-6, atol=1e-5)


def test_threshold_inplace_and_reprs():
    for name, args in CASES + [("Threshold", (0.5, 1.0, True)), ("Hardtanh", (-2, 2, True)),
                               ("LeakyReLU", (0.2, True)), ("ELU", (0.5, True)), ("Softmax", ())]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_softmax_stability_and_default_dim_warning():
    out = nn.Softmax(dim=0)(lamina.tensor([1000.0, 1001.0, 1002.0])).numpy()
    assert np.all(np.isfinite(out)) and abs(out.sum() - 1) < 1e-6


@pytest.mark.parametrize("num,shape", [(1, (2, 3, 4)), (3, (2, 3, 4)), (3, (2, 3)), (1, (4,))])
def test_prelu(num, shape):
    l, t = nn.PReLU(num), torch.nn.PReLU(num)
    with torch.no_grad():
        t.weight.uniform_(0.1, 0.5)
    check_layer(l, t, rand(*shape, low=-2, high=2))
    gradcheck_layer(nn.PReLU(num, init=0.3), rand(*shape, low=-2, high=2))


def test_prelu_init_state_dict_and_errors():
    m = nn.PReLU(3, init=0.1)
    assert list(m.state_dict()) == ["weight"] and np.allclose(m.weight.detach().numpy(), 0.1)
    assert repr(m) == "PReLU(num_parameters=3)"
    check_error(lambda: m(lamina.randn(2, 4, 5)), ShapeError, "PReLU(num_parameters=3)", "3 channels",
                "(2, 4, 5)")
    check_error(lambda: nn.PReLU(0), ArgumentError, "num_parameters")
    check_error(lambda: nn.PReLU(4)(lamina.randn(4)), ShapeError, "4 channels")  # a 1-d input has one channel


def test_activation_argument_errors():
    check_error(lambda: nn.GELU("fast"), ArgumentError, "GELU", "'fast'")
    check_error(lambda: nn.Hardtanh(1.0, -1.0), ArgumentError, "Hardtanh", "max_val")
    check_error(lambda: nn.CELU(0.0), ArgumentError, "CELU", "alpha")
    check_error(lambda: nn.Softmax2d()(lamina.randn(2, 3)), ShapeError, "Softmax2d", "(2, 3)")

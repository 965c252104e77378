"""nn.init: gains and fans exactly as torch, distributions checked statistically with a fixed seed,
eye_/dirac_ exactly, orthogonality, generator= argument, in-place semantics, errors."""
import math

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, ShapeError
from tests.helpers import check_error

init = nn.init


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("name", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
def test_calculate_gain_matches_torch(name):
    assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    if name == "leaky_relu":
        for param in (0, 0.2, 1, 3.5):
            assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def test_calculate_gain_errors():
    check_error(lambda: init.calculate_gain("swish"), ArgumentError, "calculate_gain", "'swish'", "leaky_relu")
    check_error(lambda: init.calculate_gain("leaky_relu", True), ArgumentError, "negative_slope")
    check_error(lambda: init.calculate_gain("leaky_relu", "0.2"), ArgumentError, "negative_slope")


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (8, 4, 3, 3), (2, 3, 1, 2, 2)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(lamina.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fans_need_two_dims():
    check_error(lambda: init._calculate_fan_in_and_fan_out(lamina.empty(5)), ShapeError, "fewer than 2", "(5,)")
    check_error(lambda: init.xavier_uniform_(lamina.empty(5)), ShapeError, "fewer than 2")


def test_uniform_and_normal_statistics():
    lamina.manual_seed(0)
    u = _np(init.uniform_(lamina.empty(200, 500), -2.0, 3.0))
    assert u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 0.02 and abs(u.std() - 5 / math.sqrt(12)) < 0.01
    n = _np(init.normal_(lamina.empty(200, 500), 1.5, 0.5))
    assert abs(n.mean() - 1.5) < 0.005 and abs(n.std() - 0.5) < 0.005


def test_constant_ones_zeros_eye_dirac():
    assert np.all(_np(init.constant_(lamina.empty(2, 3), 0.7)) == np.float32(0.7))
    assert np.all(_np(init.ones_(lamina.empty(4))) == 1) and np.all(_np(init.zeros_(lamina.ones(4))) == 0)
    for shape in [(3, 5), (5, 3), (4, 4)]:
        assert np.array_equal(_np(init.eye_(lamina.empty(*shape))), torch.nn.init.eye_(torch.empty(*shape)).numpy())
    for shape, groups in [((4, 4, 3), 1), ((6, 4, 3, 3), 1), ((6, 2, 3, 3), 3), ((4, 6, 1, 3, 2), 2)]:
        expected = torch.nn.init.dirac_(torch.empty(*shape), groups).numpy()
        assert np.array_equal(_np(init.dirac_(lamina.empty(*shape), groups)), expected)
    check_error(lambda: init.eye_(lamina.empty(2, 2, 2)), ShapeError, "eye_", "2 dimensions")
    check_error(lambda: init.dirac_(lamina.empty(2, 2)), ShapeError, "dirac_", "3, 4, or 5")
    check_error(lambda: init.dirac_(lamina.empty(5, 2, 3), groups=2), ArgumentError, "groups")


def test_dirac_conv_is_identity():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = lamina.randn(1, 3, 5, 5)
    assert np.allclose(_np(conv(x)), _np(x))


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_statistics(gain):
    lamina.manual_seed(1)
    fan_in, fan_out = 300 * 4, 200 * 4
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    u = _np(init.xavier_uniform_(lamina.empty(200, 300, 2, 2), gain=gain))
    bound = math.sqrt(3) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    assert abs(u.std() - std) < 0.01 * std
    n = _np(init.xavier_normal_(lamina.empty(200, 300, 2, 2), gain=gain))
    assert abs(n.mean()) < 0.01 * std and abs(n.std() - std) < 0.01 * std


@pytest.mark.parametrize("a,mode,nonlinearity", [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                                                 (0, "fan_out", "relu"), (0.1, "fan_out", "leaky_relu"),
                                                 (0, "fan_in", "tanh"), (0, "fan_in", "selu")])
def test_kaiming_statistics(a, mode, nonlinearity):
    lamina.manual_seed(2)
    shape = (300, 100, 3, 3)
    fan = 100 * 9 if mode == "fan_in" else 300 * 9
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = _np(init.kaiming_uniform_(lamina.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity))
    bound = math.sqrt(3) * std
    assert np.abs(u).max() <= bound * (1 + 1e-6) and np.abs(u).max() > 0.99 * bound
    assert abs(u.std() - std) < 0.01 * std
    n = _np(init.kaiming_normal_(lamina.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity))
    assert abs(n.mean()) < 0.01 * std and abs(n.std() - std) < 0.01 * std


def test_kaiming_errors_and_empty():
    check_error(lambda: init.kaiming_uniform_(lamina.empty(3, 4), mode="fan_avg"), ArgumentError, "mode", "fan_avg")
    check_error(lambda: init.kaiming_normal_(lamina.empty(3, 4), nonlinearity="swish"), ArgumentError, "swish")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(lamina.empty(0, 3))


def _truncated_std(a, b):
    """Std of the standard normal truncated to [a, b]."""
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(b) - cdf(a)
    mean = (pdf(a) - pdf(b)) / z
    return math.sqrt(1 + (a * pdf(a) - b * pdf(b)) / z - mean ** 2), mean


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 5.0),
                                          (0.0, 1.0, 2.0, 3.0), (0.0, 1.0, -0.1, 0.1)])
def test_trunc_normal(mean, std, a, b):
    lamina.manual_seed(3)
    x = _np(init.trunc_normal_(lamina.empty(200, 500), mean, std, a, b))
    assert x.min() >= a and x.max() <= b
    s, m = _truncated_std((a - mean) / std, (b - mean) / std)
    assert abs(x.mean() - (mean + std * m)) < 0.01 * std
    assert abs(x.std() - std * s) < 0.01 * std


def test_trunc_normal_float64_and_warning():
    x = _np(init.trunc_normal_(lamina.empty(1000, dtype=lamina.float64), std=0.5, a=-0.3, b=0.3))
    assert x.min() >= -0.3 and x.max() <= 0.3
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(lamina.empty(10), mean=10.0, a=-1.0, b=1.0)
    check_error(lambda: init.trunc_normal_(lamina.empty(3), a=1.0, b=-1.0), ArgumentError, "a < b")


@pytest.mark.parametrize("shape,gain", [((4, 4), 1.0), ((3, 7), 2.0), ((7, 3), 1.0), ((6, 2, 3, 2), 0.5)])
def test_orthogonal(shape, gain):
    w = _np(init.orthogonal_(lamina.empty(*shape), gain=gain)).reshape(shape[0], -1).astype(np.float64)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    assert np.allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)
    check_error(lambda: init.orthogonal_(lamina.empty(3)), ShapeError, "orthogonal_", "2 or more")


def test_sparse():
    lamina.manual_seed(4)
    w = _np(init.sparse_(lamina.empty(10, 50), sparsity=0.3, std=0.1))
    assert np.all((w == 0).sum(0) >= 3)
    assert abs(w[w != 0].std() - 0.1) < 0.02


def test_generator_argument_and_determinism():
    g1, g2 = lamina.Generator().manual_seed(7), lamina.Generator().manual_seed(7)
    state = lamina.get_rng_state()
    a = _np(init.kaiming_uniform_(lamina.empty(5, 6), generator=g1))
    b = _np(init.kaiming_uniform_(lamina.empty(5, 6), generator=g2))
    assert np.array_equal(a, b)
    assert np.array_equal(lamina.get_rng_state().numpy(), state.numpy())   # the default generator is untouched
    for fn in (init.normal_, init.uniform_, init.xavier_normal_, init.orthogonal_, init.trunc_normal_):
        lamina.manual_seed(9)
        x = _np(fn(lamina.empty(4, 3)))
        lamina.manual_seed(9)
        assert np.array_equal(x, _np(fn(lamina.empty(4, 3))))


def test_in_place_on_parameters_outside_autograd():
    p = nn.Parameter(lamina.zeros(3, 4))
    version = p._vc[0]
    out = init.normal_(p)
    assert out is p and p.requires_grad and p.grad_fn is None and p._vc[0] > version
    assert init.zeros_(p) is p and np.all(_np(p) == 0)
    assert p.dtype == lamina.float32
    q = lamina.empty(2, 2, dtype=lamina.float64)
    init.xavier_uniform_(q)
    assert q.dtype == lamina.float64


def test_init_refuses_uninitialized_parameters_and_non_tensors():
    m = nn.LazyLinear(3)
    check_error(lambda: init.kaiming_uniform_(m.weight), ArgumentError, "kaiming_uniform_", "lazy")
    check_error(lambda: init.normal_(np.zeros(3)), ArgumentError, "normal_", "ndarray")
    check_error(lambda: init.uniform_(lamina.empty(3), 1.0, 0.0), ArgumentError, "a <= b")

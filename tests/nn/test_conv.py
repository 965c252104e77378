"""Conv1d, Conv2d, ConvTranspose1d/2d, LazyConv1d/2d against torch: outputs, gradients, repr, init, errors."""
import math

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer, compare_state, gradcheck_layer, load_from_torch

CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(padding=(1, 2), stride=(2, 1)),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(dilation=(2, 1), padding=1),
    dict(groups=2),
    dict(bias=False),
]


@pytest.mark.parametrize("kw", CONV2D_CASES)
def test_conv2d_matches_torch(kw):
    check_layer(nn.Conv2d(4, 6, 3, **kw), torch.nn.Conv2d(4, 6, 3, **kw), rand(2, 4, 7, 8))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv2d_even_kernel_same_padding_and_unbatched():
    check_layer(nn.Conv2d(2, 3, (2, 4), padding="same"), torch.nn.Conv2d(2, 3, (2, 4), padding="same"),
                rand(1, 2, 5, 6))
    check_layer(nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3), rand(2, 5, 5))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_modes(mode, padding):
    kw = dict(padding=padding, padding_mode=mode)
    check_layer(nn.Conv2d(2, 3, 3, **kw), torch.nn.Conv2d(2, 3, 3, **kw), rand(2, 2, 5, 6))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2), dict(groups=2),
                                dict(padding=2, padding_mode="reflect"), dict(padding=1, padding_mode="circular"),
                                dict(padding=1, padding_mode="replicate", bias=False)])
def test_conv1d_matches_torch(kw):
    check_layer(nn.Conv1d(4, 6, 3, **kw), torch.nn.Conv1d(4, 6, 3, **kw), rand(2, 4, 9))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), output_padding=(1, 2)), dict(dilation=2, groups=2),
                                dict(bias=False, padding=(1, 0))])
def test_conv_transpose2d_matches_torch(kw):
    check_layer(nn.ConvTranspose2d(4, 6, 3, **kw), torch.nn.ConvTranspose2d(4, 6, 3, **kw), rand(2, 4, 4, 5))


def test_conv_transpose2d_output_size():
    l, t = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = rand(1, 3, 4, 4)
    for size in [(7, 7), (8, 8), (7, 8), [1, 2, 8, 7]]:
        l_out, _ = check_layer(l, t, x, forward_kwargs=dict(output_size=size))
        assert tuple(l_out.shape[-2:]) == tuple(size[-2:])
    check_error(lambda: l(lamina.randn(1, 3, 4, 4), output_size=(10, 10)), ShapeError,
                "ConvTranspose2d(3, 2", "requested an output size of [10, 10]", "[7, 7] to [8, 8]")


def test_conv_transpose1d_matches_torch():
    kw = dict(stride=2, padding=1, output_padding=1)
    check_layer(nn.ConvTranspose1d(3, 4, 3, **kw), torch.nn.ConvTranspose1d(3, 4, 3, **kw), rand(2, 3, 5))
    l, t = nn.ConvTranspose1d(3, 4, 3, stride=3), torch.nn.ConvTranspose1d(3, 4, 3, stride=3)
    check_layer(l, t, rand(2, 3, 5), forward_kwargs=dict(output_size=[16]))


def test_conv_reprs():
    for args, kw in [((3, 8, 3), dict(padding=1)), ((3, 8, 3), dict(padding="same", padding_mode="reflect",
                                                                    bias=False, dilation=2)),
                     ((2, 4, 5), dict(padding="valid", groups=2, stride=1)), ((3, 6, (1, 3)), dict(groups=3))]:
        assert repr(nn.Conv2d(*args, **kw)) == repr(torch.nn.Conv2d(*args, **kw))
    assert repr(nn.Conv1d(2, 4, 3)) == "Conv1d(2, 4, kernel_size=(3,), stride=(1,))"
    assert repr(nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=1)) == \
        repr(torch.nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=1))


def test_conv_init_statistics():
    lamina.manual_seed(0)
    m = nn.Conv2d(16, 64, 5)
    fan_in = 16 * 25
    bound = 1 / math.sqrt(fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.shape == (64, 16, 5, 5) and b.shape == (64,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert np.abs(b).max() <= bound
    t = nn.ConvTranspose2d(8, 4, 3, groups=2)
    # a transposed conv's weight is (in, out / groups, k, k): fan_in = dim 1 times the kernel
    assert t.weight.shape == (8, 2, 3, 3)
    assert np.abs(t.bias.detach().numpy()).max() <= 1 / math.sqrt(2 * 9)


def test_conv_gradcheck():
    gradcheck_layer(nn.Conv2d(2, 2, 2, padding=1, padding_mode="reflect"), rand(1, 2, 3, 3))
    gradcheck_layer(nn.Conv1d(2, 2, 3, padding="same", padding_mode="circular"), rand(1, 2, 4))
    gradcheck_layer(nn.ConvTranspose2d(2, 1, 2, stride=2), rand(1, 2, 2, 2))
    gradcheck_layer(nn.Conv2d(4, 2, 2, stride=2, padding=1, dilation=2, groups=2, padding_mode="replicate"),
                    rand(1, 4, 4, 4))
    gradcheck_layer(nn.Conv2d(1, 1, (2, 3), padding=(1, 2), padding_mode="circular"), rand(1, 1, 3, 3))
    gradcheck_layer(nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=1),
                    rand(1, 2, 2, 2))
    gradcheck_layer(nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1), rand(1, 2, 3))


def test_conv_float64_dtype_argument():
    m = nn.Conv2d(2, 3, 3, dtype=lamina.float64)
    assert m.weight.dtype == lamina.float64
    check_layer(m, torch.nn.Conv2d(2, 3, 3, dtype=torch.float64), rand(1, 2, 4, 4, dtype=np.float64))


def test_conv_constructor_errors():
    check_error(lambda: nn.Conv2d(3, 8, 3, groups=2), ArgumentError, "Conv2d", "in_channels (3)", "groups (2)")
    check_error(lambda: nn.Conv2d(4, 6, 3, groups=4), ArgumentError, "out_channels (6)")
    check_error(lambda: nn.Conv2d(3, 8, 3, padding="same", stride=2), ArgumentError, "'same'", "strided")
    check_error(lambda: nn.Conv2d(3, 8, 3, padding="full"), ArgumentError, "invalid padding string 'full'")
    check_error(lambda: nn.Conv2d(3, 8, 3, padding_mode="mirror"), ArgumentError, "padding_mode", "'mirror'")
    check_error(lambda: nn.Conv2d(3, 8, 0), ArgumentError, "kernel_size", "positive")
    check_error(lambda: nn.Conv2d(3, 8, 3, stride=0), ArgumentError, "stride")
    check_error(lambda: nn.Conv2d(3, 8, 3, padding=-1), ArgumentError, "padding", "non-negative")
    check_error(lambda: nn.Conv2d(3, 8, 3, groups=0), ArgumentError, "groups", "positive")
    check_error(lambda: nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect"), ArgumentError, '"zeros"')


def test_conv_input_errors_name_the_layer():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(16, 4, 3))
    check_error(lambda: net(lamina.randn(1, 3, 8, 8)), ShapeError,
                "2 (Conv2d(16, 4, kernel_size=(3, 3), stride=(1, 1))): expected input with 16 channels, got shape "
                "(1, 8, 6, 6)")
    check_error(lambda: nn.Conv2d(3, 8, 3)(lamina.randn(3, 8)), ShapeError, "expected a 4-d (N, C, H, W)",
                "(3, 8)")
    check_error(lambda: nn.Conv2d(3, 8, 5)(lamina.randn(1, 3, 3, 3)), ShapeError, "Conv2d(3, 8", "kernel size")


# ---- lazy ---------------------------------------------------------------------------------------------------

def test_lazy_conv2d():
    m = nn.LazyConv2d(4, 3, padding=1)
    assert repr(m) == repr(torch.nn.LazyConv2d(4, 3, padding=1))
    params = list(m.parameters())
    assert len(params) == 2 and all(isinstance(p, nn.UninitializedParameter) for p in params)
    assert set(m.state_dict()) == {"weight", "bias"}
    out = m(lamina.randn(2, 6, 5, 5))
    assert out.shape == (2, 4, 5, 5)
    assert type(m) is nn.Conv2d and m.in_channels == 6
    assert repr(m) == "Conv2d(6, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert m.weight is params[0] and m.weight.shape == (4, 6, 3, 3)
    assert 0 < np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(6 * 9)


def test_lazy_conv2d_groups_and_load():
    t = torch.nn.Conv2d(6, 4, 3, groups=2, bias=False)
    m = nn.LazyConv2d(4, 3, groups=2, bias=False)
    load_from_torch(m, t)
    assert type(m) is nn.Conv2d and m.in_channels == 6
    compare_state(m, t)
    check_layer(m, t, rand(1, 6, 4, 4), load=False)


def test_lazy_conv1d():
    m = nn.LazyConv1d(3, 2)
    assert m(lamina.randn(2, 5, 6)).shape == (2, 3, 5)
    assert type(m) is nn.Conv1d and m.in_channels == 5


def test_lazy_conv_bad_first_input():
    check_error(lambda: nn.LazyConv2d(4, 3)(lamina.randn(3, 4)), LaminaError, "LazyConv2d", "to infer in_channels")

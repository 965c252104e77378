"""Max/avg pooling, adaptive pooling and interpolate against torch: forward, indices, backward, gradcheck, errors."""
import numpy as np
import pytest

import lamina
import torch
from lamina import ArgumentError, DTypeError, ShapeError
from tests.helpers import check_error, check_op, rand

F = lamina.nn.functional
X2 = (2, 2, 7, 6)

MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=2, stride=[]),                     # an empty stride means "the kernel size", as in torch
]


@pytest.mark.parametrize("return_indices", [True, False])
@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool2d(kw, return_indices):
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, return_indices=return_indices, **kw), rand(*X2))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, dilation=2, padding=1)])
def test_max_pool1d(kw):
    check_op(lambda lib, x: lib.nn.functional.max_pool1d(x, return_indices=True, **kw), rand(2, 3, 11))


def test_max_pool_unbatched_and_top_level():
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, 2, return_indices=True), rand(3, 6, 7))
    check_op(lambda lib, x: lib.max_pool2d(x, 2, 1, 1), rand(2, 3, 5, 5))
    check_op(lambda lib, x: lib.max_pool1d(x, 3), rand(3, 9))
    check_op(lambda lib, x: lib.max_pool1d_with_indices(x, 2), rand(2, 3, 8))


def test_max_pool_ties_pick_the_first_and_the_last_nan_wins():
    x = np.zeros((1, 1, 4, 6), np.float32)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 0, 2] = x[0, 0, 1, 3] = np.nan        # two NaNs in one window: torch reports the last
    x[0, 0, 2:, 4:] = 1.0                         # a tie: the first maximum
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, 2, return_indices=True), x, grad=False)
    check_op(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, (3, 4), return_indices=True), x, grad=False)


def test_max_pool_all_minus_inf_window_points_inside_the_input():
    x = np.full((1, 1, 4, 4), -np.inf, np.float32)
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, 3, stride=2, padding=1, dilation=1, return_indices=True),
             x, grad=False)


def test_max_pool_grad_of_a_window_won_by_padding_goes_to_its_first_input_cell():
    x = np.full((1, 2, 5, 5), -np.inf, np.float32)
    x[0, 1, 2:, 2:] = rand(3, 3)                  # one channel with finite values, one all -inf
    for return_indices in (True, False):
        check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, 3, stride=2, padding=1, return_indices=return_indices),
                 x, gradcheck=False)


@pytest.mark.parametrize("kw, out_hw", [(dict(kernel_size=2), 4), (dict(kernel_size=3, stride=1, padding=1), 8)])
def test_max_pool_inf_and_nan_gradients_reach_only_the_winner(kw, out_hw):
    x = rand(2, 3, 8, 8)
    grad = np.ones((2, 3, out_hw, out_hw), np.float32)
    grad[0, 0, 0, 0], grad[1, 2, 1, 1] = np.inf, np.nan
    grads = []
    for lib in (lamina, torch):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.max_pool2d(t, **kw).backward(lib.tensor(grad))
        grads.append(np.asarray(t.grad.numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])


def test_max_pool_integer():
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, 2, padding=1, return_indices=True),
             rand(2, 2, 4, 5, dtype=np.int64, low=-9, high=9))


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, padding=1, divisor_override=4),
]


@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool2d(kw):
    check_op(lambda lib, x: lib.nn.functional.avg_pool2d(x, **kw), rand(*X2))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)])
def test_avg_pool1d(kw):
    check_op(lambda lib, x: lib.avg_pool1d(x, **kw), rand(2, 3, 11))


def test_avg_pool_integer_truncates_toward_zero():
    check_op(lambda lib, x: lib.nn.functional.avg_pool2d(x, 2, padding=1), rand(2, 2, 4, 5, dtype=np.int64,
                                                                                  low=-9, high=9))


def test_avg_pool_float64_unbatched():
    check_op(lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, 1), rand(3, 6, 5, dtype=np.float64),
             gradcheck=False)


@pytest.mark.parametrize("size", [1, (3, 5), (5, None), (7, 6), (4, 3), (9, 8)])
def test_adaptive_avg_pool2d(size):
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, size), rand(*X2), rtol=1e-5)


@pytest.mark.parametrize("size", [1, (3, 5), (5, None), (4, 3), (9, 8)])
def test_adaptive_max_pool2d(size):
    check_op(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, size, return_indices=True), rand(*X2))


@pytest.mark.parametrize("size", [1, 3, 7, 13])
def test_adaptive_pool1d(size):
    check_op(lambda lib, x: lib.adaptive_avg_pool1d(x, size), rand(2, 3, 11), rtol=1e-5)
    check_op(lambda lib, x: lib.adaptive_max_pool1d(x, size), rand(2, 3, 11))           # torch.X: (out, idx)
    check_op(lambda lib, x: lib.nn.functional.adaptive_max_pool1d(x, (size,)), rand(3, 11))


def test_adaptive_avg_pool3d_and_zero_output():
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool3d(x, (2, 3, 1)), rand(2, 2, 3, 4, 5), rtol=1e-5)
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, 0), rand(*X2), grad=False)


INTERP_CASES = [
    ("nearest", dict(scale_factor=2)),
    ("nearest", dict(scale_factor=1.7)),
    ("nearest", dict(scale_factor=2.1)),              # output == 2 * input: torch halves the index, so do we
    ("nearest", dict(size=(5, 13))),
    ("nearest", dict(scale_factor=(0.5, 2.3))),
    ("nearest", dict(scale_factor=1.7, recompute_scale_factor=True)),
    ("nearest-exact", dict(scale_factor=1.7)),
    ("nearest-exact", dict(size=(3, 11))),
    ("bilinear", dict(scale_factor=2)),
    ("bilinear", dict(scale_factor=1.7)),
    ("bilinear", dict(size=(5, 13))),
    ("bilinear", dict(scale_factor=(0.5, 2.3))),
    ("bilinear", dict(scale_factor=1.7, recompute_scale_factor=True)),
    ("bilinear", dict(scale_factor=2, align_corners=True)),
    ("bilinear", dict(size=(5, 13), align_corners=True)),
    ("bilinear", dict(size=(1, 1), align_corners=True)),
    ("area", dict(size=(3, 4))),
    ("area", dict(scale_factor=1.7)),
]


@pytest.mark.parametrize("mode, kw", INTERP_CASES)
def test_interpolate_2d(mode, kw):
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, mode=mode, **kw), rand(1, 2, 5, 6), rtol=1e-5)


@pytest.mark.parametrize("mode, kw", [("linear", dict(scale_factor=1.7)), ("linear", dict(size=30)),
                                      ("linear", dict(size=4, align_corners=True)), ("nearest", dict(size=5)),
                                      ("nearest", dict(scale_factor=3))])
def test_interpolate_1d(mode, kw):
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, mode=mode, **kw), rand(2, 3, 11), rtol=1e-5)


def test_interpolate_3d_and_float64():
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=1.5, mode="trilinear"),
             rand(1, 2, 3, 4, 5), rtol=1e-5)
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=(2, 1.5, 1)), rand(1, 2, 3, 4, 5))
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=1.3, mode="bilinear"),
             rand(2, 2, 9, 7, dtype=np.float64), gradcheck=False)


@pytest.mark.filterwarnings("ignore:`nn.functional.upsample")    # torch's deprecation notice
def test_upsample_aliases():
    check_op(lambda lib, x: lib.nn.functional.upsample_bilinear(x, scale_factor=2), rand(1, 2, 4, 3), rtol=1e-5)
    check_op(lambda lib, x: lib.nn.functional.upsample_nearest(x, size=(5, 7)), rand(1, 2, 4, 3))


def test_big_pooling_matches_torch():
    x = rand(8, 16, 32, 32)
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True), x, gradcheck=False)
    check_op(lambda lib, x: lib.nn.functional.avg_pool2d(x, 2), x, gradcheck=False)
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"), x, gradcheck=False,
             rtol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.nn.functional.max_pool2d(x, 2, return_indices=True),
    lambda lib, x: lib.nn.functional.avg_pool2d(x, 2),
    lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, 2),
    lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, 2),
    lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
])
def test_zero_batch(fn):
    check_op(fn, rand(0, 3, 5, 5))


def test_non_contiguous_input():
    base = rand(2, 3, 8, 7)
    outs = []
    for array in (np.ascontiguousarray(base.transpose(0, 1, 3, 2)), base.transpose(0, 1, 3, 2)):
        x = lamina.from_numpy(array)
        x.requires_grad_(True)
        y = F.max_pool2d(x, 2) + F.avg_pool2d(x, 2) + F.adaptive_avg_pool2d(x, (3, 4))
        (y * y).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6)


# ---- bad input --------------------------------------------------------------------------------------------------

X = lamina.zeros(2, 3, 8, 8)


@pytest.mark.parametrize("call, exc, fragments", [
    (lambda: F.max_pool2d(X, 3, padding=2), ArgumentError, ["max_pool2d()", "'padding'", "half", "padding=2"]),
    (lambda: F.max_pool2d(X, 0), ArgumentError, ["'kernel_size'", "positive", "0"]),
    (lambda: F.max_pool2d(X, 3, stride=0), ArgumentError, ["'stride'", "positive"]),
    (lambda: F.max_pool2d(X, 3, dilation=0), ArgumentError, ["'dilation'", "positive"]),
    (lambda: F.max_pool2d(X, 3, padding=-1), ArgumentError, ["'padding'", "non-negative", "-1"]),
    (lambda: F.max_pool2d(X, 9), ShapeError, ["kernel_size=9", "padded input size (8, 8)"]),
    (lambda: F.max_pool2d(X, (2, 3, 4)), ArgumentError, ["'kernel_size'", "tuple of 2 ints"]),
    (lambda: F.max_pool2d(lamina.zeros(8, 8), 2), ShapeError, ["3-d (unbatched) or 4-d (batched)", "(8, 8)"]),
    (lambda: F.max_pool2d(X.bool(), 2), DTypeError, ["max_pool2d()", "bool"]),
    (lambda: F.avg_pool1d(lamina.zeros(2, 3, 8), (2, 3)), ArgumentError, ["avg_pool1d()", "tuple of 1 ints"]),
    (lambda: F.avg_pool2d(X, 3, divisor_override=0), ArgumentError, ["divisor_override", "non-zero"]),
    (lambda: F.avg_pool2d(X, 3, padding=2), ArgumentError, ["avg_pool2d()", "half"]),
    (lambda: F.adaptive_avg_pool2d(X, (3,) * 3), ArgumentError, ["'output_size'", "tuple of 2 ints"]),
    (lambda: F.adaptive_avg_pool2d(X, -1), ArgumentError, ["'output_size'", "non-negative", "-1"]),
    (lambda: F.adaptive_avg_pool2d(lamina.zeros(2, 3, 0, 4), 2), ShapeError, ["non-zero", "(2, 3, 0, 4)"]),
    (lambda: F.adaptive_avg_pool2d(X.long(), 2), DTypeError, ["adaptive_avg_pool2d()", "int64"]),
    (lambda: F.adaptive_max_pool1d(lamina.zeros(2, 3, 8), None), ArgumentError, ["'output_size'", "None"]),
    (lambda: F.interpolate(X, size=4, scale_factor=2), ArgumentError, ["exactly one of size and scale_factor"]),
    (lambda: F.interpolate(X), ArgumentError, ["exactly one of size and scale_factor"]),
    (lambda: F.interpolate(X, scale_factor=2, align_corners=True), ArgumentError, ["align_corners", "'nearest'"]),
    (lambda: F.interpolate(lamina.zeros(2, 3, 4), scale_factor=2, mode="bilinear"), ShapeError,
     ["'bilinear' needs 4-d input", "(2, 3, 4)"]),
    (lambda: F.interpolate(X, scale_factor=2, mode="bicubic"), ArgumentError, ["mode", "'bicubic'"]),
    (lambda: F.interpolate(X, size=(3,)), ArgumentError, ["'size'", "tuple of 2 ints", "(3,)"]),
    (lambda: F.interpolate(X, scale_factor=0.01), ArgumentError, ["greater than 0", "(0, 0)"]),
    (lambda: F.interpolate(X, size=4, recompute_scale_factor=True), ArgumentError, ["recompute_scale_factor"]),
    (lambda: F.interpolate(lamina.zeros(4, 4), scale_factor=2), ShapeError, ["3-d, 4-d or 5-d", "(4, 4)"]),
    (lambda: F.interpolate(X.long(), scale_factor=2), DTypeError, ["interpolate()", "int64"]),
])
def test_bad_input(call, exc, fragments):
    check_error(call, exc, *fragments)

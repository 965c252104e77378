"""conv1d/conv2d, conv_transpose1d/2d, unfold/fold and pad against torch: forward, backward, gradcheck, errors."""
import numpy as np
import pytest
import torch

import lamina
from lamina import ArgumentError, DTypeError, ShapeError
from tests.helpers import check_error, check_op, rand

F = lamina.nn.functional
# torch warns that 'same' padding of an even kernel copies the input; that is what it is meant to do.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")
CONV_TOL = dict(rtol=1e-4, atol=1e-5)   # a GEMM sums in another order than torch


def _conv2d(**kw):
    return lambda lib, *a: lib.nn.functional.conv2d(*a, **kw)


# (input shape, weight shape, bias?, kwargs): every argument combination the operator has.
CONV2D_CASES = [
    ((2, 3, 5, 4), (4, 3, 3, 3), True, {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), True, dict(stride=2, padding=1)),
    ((2, 3, 9, 5), (3, 3, 3, 2), True, dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ((1, 3, 6, 5), (2, 3, 3, 3), False, dict(padding="same", dilation=2)),
    ((1, 3, 6, 5), (2, 3, 4, 3), True, dict(padding="same")),          # even kernel: extra pad at the end
    ((2, 3, 7, 6), (4, 3, 2, 2), True, dict(padding="valid", dilation=(1, 2))),
    ((1, 4, 5, 5), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    ((2, 4, 6, 6), (8, 1, 3, 3), True, dict(groups=4, stride=2)),       # depthwise, channel multiplier 2
    ((2, 4, 5, 6), (3, 4, 1, 1), True, {}),                            # 1x1: im2col is the image itself
    ((2, 4, 5, 6), (3, 4, 1, 1), False, dict(padding=1)),
    ((2, 4, 5, 6), (3, 4, 1, 1), True, dict(stride=2)),
    ((2, 2, 8, 7), (3, 2, 2, 2), True, dict(stride=3)),                # stride > kernel: unused pixels
    ((1, 3, 5, 5), (2, 3, 3, 3), True, dict(padding=2, dilation=2)),
    ((1, 3, 4, 4), (2, 3, 3, 3), True, dict(padding=(0, 3))),           # padding wider than the kernel
    ((3, 5, 5), (2, 3, 3, 3), True, dict(padding=1)),                  # unbatched
]


@pytest.mark.parametrize("x_shape, w_shape, bias, kw", CONV2D_CASES)
def test_conv2d(x_shape, w_shape, bias, kw):
    inputs = [rand(*x_shape), rand(*w_shape)] + ([rand(w_shape[0])] if bias else [])
    check_op(_conv2d(**kw), *inputs, **CONV_TOL)


def test_conv2d_float64_and_batch_of_one():
    x, w, b = rand(1, 2, 6, 5, dtype=np.float64), rand(3, 2, 3, 2, dtype=np.float64), rand(3, dtype=np.float64)
    check_op(_conv2d(stride=(1, 2), padding=1), x, w, b, gradcheck=False)


def test_conv2d_integer_input():
    x, w = rand(2, 2, 5, 5, dtype=np.int64, low=-5, high=5), rand(3, 2, 3, 3, dtype=np.int64, low=-5, high=5)
    check_op(_conv2d(padding=1), x, w)


def test_conv2d_no_grad_for_frozen_weight():
    x = lamina.tensor(rand(2, 3, 6, 6), requires_grad=True)
    w = lamina.tensor(rand(4, 3, 3, 3))
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is not None and w.grad is None


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_non_contiguous_input_matches_contiguous(op):
    base = rand(2, 4, 7, 6)
    w = rand(3, 4, 3, 3) if op == "conv2d" else rand(4, 3, 3, 3)
    fn = getattr(F, op)
    results = []
    for array in (np.ascontiguousarray(base.transpose(0, 1, 3, 2)), base.transpose(0, 1, 3, 2)):
        x = lamina.from_numpy(array)
        x.requires_grad_(True)
        y = fn(x, lamina.tensor(w), stride=2, padding=1)
        (y * y).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy()))
    assert not base.transpose(0, 1, 3, 2).flags.c_contiguous
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-6)


def test_conv2d_leaves_inputs_unchanged():
    x, w = rand(2, 3, 6, 6), rand(4, 3, 3, 3)
    lx, lw = lamina.tensor(x.copy(), requires_grad=True), lamina.tensor(w.copy(), requires_grad=True)
    F.conv2d(lx, lw, padding=1).sum().backward()
    np.testing.assert_array_equal(lx.detach().numpy(), x)
    np.testing.assert_array_equal(lw.detach().numpy(), w)


def test_conv2d_in_place_change_of_input_is_caught():
    x = lamina.tensor(rand(1, 2, 5, 5), requires_grad=True)
    h = x * 1.0
    y = F.conv2d(h, lamina.tensor(rand(2, 2, 3, 3), requires_grad=True))
    h.add_(1.0)
    with pytest.raises(lamina.AutogradError):
        y.sum().backward()


@pytest.mark.parametrize("chunk", [1, 3 * 27 * 16 * 4])     # one sample, or a few, per im2col chunk
@pytest.mark.parametrize("fn, w_shape", [
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1), (4, 3, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=2, groups=3), (6, 1, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w), (4, 3, 1, 1)),
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, stride=2, output_padding=1), (3, 2, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, padding=1), (3, 2, 3, 3)),
])
def test_im2col_in_chunks_of_samples(monkeypatch, chunk, fn, w_shape):
    monkeypatch.setattr(lamina.ops.conv, "_CHUNK_BYTES", chunk)
    check_op(fn, rand(5, 3, 4, 4), rand(*w_shape), gradcheck=False, **CONV_TOL)


# Stride-1 convolutions with one group run as one GEMM per kernel tap over a channel-major image (no im2col) once
# both channel counts reach _SHIFT_MIN_CHANNELS. Lowering it sends the small cases (gradcheck included) that way;
# tiny blocks and tap groups exercise the block edges and the sums across groups.
SHIFTED_CASES = [
    (_conv2d(padding=1), (2, 3, 5, 4), (4, 3, 3, 3)),
    (_conv2d(padding=(2, 0), dilation=(1, 2)), (2, 3, 6, 7), (4, 3, 3, 2)),
    (_conv2d(padding="same"), (1, 3, 6, 5), (2, 3, 4, 3)),
    (_conv2d(), (2, 2, 4, 4), (3, 2, 4, 4)),                           # a single output position per sample
    (_conv2d(padding=3), (1, 2, 3, 3), (2, 2, 2, 2)),                  # padding wider than the image
    (_conv2d(padding=(1, 0)), (2, 3, 5, 4), (4, 3, 3, 1)),             # one kernel column: no shifted copies
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, padding=1), (2, 3, 4, 5), (3, 2, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, dilation=2), (1, 3, 4, 4), (3, 4, 2, 3)),
    (lambda lib, x, w: lib.nn.functional.conv1d(x, w, padding=2), (2, 3, 9), (4, 3, 5)),
]


@pytest.mark.parametrize("columns, rows", [(4096, 576), (7, 4)])
@pytest.mark.parametrize("fn, x_shape, w_shape", SHIFTED_CASES)
def test_conv_shifted_gemms(monkeypatch, columns, rows, fn, x_shape, w_shape):
    monkeypatch.setattr(lamina.ops.conv, "_SHIFT_MIN_CHANNELS", 1)
    monkeypatch.setattr(lamina.ops.conv, "_SHIFT_COLUMNS", columns)
    monkeypatch.setattr(lamina.ops.conv, "_SHIFT_WGRAD_COLUMNS", columns)
    monkeypatch.setattr(lamina.ops.conv, "_SHIFT_ROWS", rows)
    check_op(fn, rand(*x_shape), rand(*w_shape), **CONV_TOL)


def test_conv_shifted_gemms_at_full_width():
    x, w, b = rand(3, 16, 12, 10), rand(24, 16, 3, 3), rand(24)
    assert lamina.ops.conv._use_shifted(x, w, 24, (3, 3), (1, 1), 1)
    check_op(_conv2d(padding=1), x, w, b, gradcheck=False, **CONV_TOL)
    check_op(_conv2d(padding=(0, 2), dilation=(2, 1)), x, w, gradcheck=False, **CONV_TOL)


def test_conv_backward_shares_one_copy_of_the_gradient_when_the_size_is_kept():
    x, w = rand(2, 16, 6, 5), rand(16, 16, 3, 3)
    g = rand(2, 16, 6, 5)
    assert lamina.ops.conv._conv_backward_shifted(g, x, w, (1, 1, 1, 1), (1, 1)) is not None
    assert lamina.ops.conv._conv_backward_shifted(rand(2, 16, 4, 3), x, w, (0, 0, 0, 0), (1, 1)) is None
    check_op(_conv2d(padding="same", dilation=(1, 2)), x, w, gradcheck=False, **CONV_TOL)


def test_conv2d_big_batch_matches_torch():
    x, w = rand(8, 16, 20, 20), rand(8, 16, 3, 3)
    check_op(_conv2d(padding=1, stride=2), x, w, gradcheck=False, **CONV_TOL)
    check_op(_conv2d(padding=1), x, w, gradcheck=False, **CONV_TOL)


@pytest.mark.parametrize("x_shape, w_shape, kw", [
    ((2, 4, 9), (3, 4, 3), {}),
    ((2, 4, 9), (3, 4, 3), dict(stride=2, padding=2, dilation=2)),
    ((2, 4, 9), (6, 2, 2), dict(groups=2, padding="same")),
    ((4, 9), (3, 4, 3), dict(padding=(1,))),                           # unbatched
])
def test_conv1d(x_shape, w_shape, kw):
    check_op(lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, **kw), rand(*x_shape), rand(*w_shape),
             rand(w_shape[0]), **CONV_TOL)


@pytest.mark.parametrize("fn, w_shape", [
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1), (4, 3, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=2), (4, 3, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, groups=3), (6, 1, 3, 3)),
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, stride=2), (3, 2, 3, 3)),
])
def test_zero_batch(fn, w_shape):
    check_op(fn, rand(0, 3, 5, 5), rand(*w_shape), **CONV_TOL)


def test_conv_top_level_names():
    x, w = rand(1, 2, 6, 6), rand(3, 2, 3, 3)
    check_op(lambda lib, x, w: lib.conv2d(x, w, None, 1, 1), x, w, gradcheck=False, **CONV_TOL)
    check_op(lambda lib, x, w: lib.conv1d(x, w), rand(1, 2, 6), rand(3, 2, 3), gradcheck=False, **CONV_TOL)


# (input shape, weight shape (in, out/groups, k...), bias?, kwargs)
CONV_T2D_CASES = [
    ((2, 4, 3, 4), (4, 3, 3, 3), True, {}),
    ((1, 4, 4, 5), (4, 3, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 4, 3), (4, 2, 3, 2), False, dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2))),
    ((1, 4, 4, 4), (4, 3, 3, 3), True, dict(dilation=2, padding=1, output_padding=1)),   # output_padding < dilation
    ((1, 4, 4, 4), (4, 1, 3, 3), True, dict(groups=2, stride=2, dilation=(1, 2))),
    ((2, 4, 5, 4), (4, 2, 1, 1), True, dict(groups=4)),
    ((4, 5, 4), (4, 2, 2, 2), True, dict(stride=2)),                                     # unbatched
]


@pytest.mark.parametrize("x_shape, w_shape, bias, kw", CONV_T2D_CASES)
def test_conv_transpose2d(x_shape, w_shape, bias, kw):
    groups = kw.get("groups", 1)
    inputs = [rand(*x_shape), rand(*w_shape)] + ([rand(w_shape[1] * groups)] if bias else [])
    check_op(lambda lib, *a: lib.nn.functional.conv_transpose2d(*a, **kw), *inputs, **CONV_TOL)


@pytest.mark.parametrize("kw", [dict(stride=3, groups=2), dict(padding=1, dilation=2),
                                dict(stride=2, output_padding=1)])
def test_conv_transpose1d(kw):
    check_op(lambda lib, x, w, b: lib.conv_transpose1d(x, w, b, **kw), rand(2, 4, 5), rand(4, 3, 3),
             rand(3 * kw.get("groups", 1)), **CONV_TOL)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    # <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same geometry.
    x, w = rand(2, 3, 9, 9, dtype=np.float64), rand(4, 3, 3, 2, dtype=np.float64)
    kw = dict(stride=(2, 3), padding=(1, 0), dilation=(2, 1))
    y = F.conv2d(lamina.tensor(x), lamina.tensor(w), **kw).numpy()
    g = rand(*y.shape, dtype=np.float64)
    back = F.conv_transpose2d(lamina.tensor(g), lamina.tensor(w), output_padding=(0, 1), **kw).numpy()
    assert back.shape == x.shape
    np.testing.assert_allclose((y * g).sum(), (x * back).sum(), rtol=1e-10)


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=2)])
def test_unfold_fold(kw):
    check_op(lambda lib, x: lib.nn.functional.unfold(x, **kw), rand(1, 2, 5, 6))
    cols = F.unfold(lamina.zeros(1, 2, 5, 6), **kw)
    check_op(lambda lib, c: lib.nn.functional.fold(c, (5, 6), **kw), rand(*cols.shape))


def test_unfold_fold_unbatched():
    check_op(lambda lib, x: lib.nn.functional.unfold(x, 2, stride=2), rand(3, 4, 6))
    check_op(lambda lib, c: lib.nn.functional.fold(c, (4, 6), 2, stride=2), rand(12, 6))


PAD_CASES = [
    ((2, 3, 5), (1, 2)),
    ((2, 3, 4, 5), (2, 1, 0, 3)),
    ((3, 4, 5), (-1, 2, 1, -2)),
    ((1, 4, 4), (3, 3, 3, 2)),
    ((2, 1, 3, 4, 5), (1, 0, 1, 1, 0, 2)),
    ((2, 3, 5), (-2, 3)),
    ((2, 3, 5), (4, -3)),
]


def _torch_accepts(shape, amounts, mode):
    if mode == "circular":
        # torch returns uninitialised memory when a pad is wider than what negative padding leaves; we raise.
        for i in range(len(amounts) // 2):
            a, b, n = amounts[2 * i], amounts[2 * i + 1], shape[-1 - i]
            if max(a, b) > n - max(-a, 0) - max(-b, 0):
                return False
    try:
        torch.nn.functional.pad(torch.zeros(shape), amounts, mode=mode)
    except RuntimeError:      # e.g. circular padding wider than what cropping leaves; the error tests cover ours
        return False
    return True


@pytest.mark.parametrize("shape, amounts, mode", [
    (shape, amounts, mode) for mode in ("constant", "reflect", "replicate", "circular") for shape, amounts in PAD_CASES
    if _torch_accepts(shape, amounts, mode)])
def test_pad(shape, amounts, mode):
    check_op(lambda lib, x: lib.nn.functional.pad(x, amounts, mode=mode), rand(*shape))


@pytest.mark.parametrize("shape, amounts", [((2, 3), (1, 2, 0, 1)), ((4,), (-1, 3)), ((2, 3, 4), (1, 1, 1, 1, 1, 1)),
                                            ((2, 3, 4), (0, 0)), ((2, 3, 4), (-2, -2))])
def test_pad_constant_any_dims(shape, amounts):
    check_op(lambda lib, x: lib.nn.functional.pad(x, amounts, value=2.5), rand(*shape))


def test_pad_integer_value_truncates_like_torch():
    check_op(lambda lib, x: lib.nn.functional.pad(x, (1, 1), value=2.7), rand(2, 3, dtype=np.int64, low=0, high=9))


def test_pad_value_must_be_a_number():
    check_error(lambda: F.pad(lamina.ones(1, 2, 3), (1, 1), value="a"), ArgumentError, "pad()", "'value'", "'a'")


def test_pad_returns_a_new_tensor():
    x = lamina.ones(2, 3)
    y = F.pad(x, (0, 0))
    y.add_(1.0)
    assert x.numpy().sum() == 6


# ---- bad input --------------------------------------------------------------------------------------------------

X, W = lamina.zeros(2, 3, 8, 8), lamina.zeros(4, 3, 3, 3)


@pytest.mark.parametrize("call, exc, fragments", [
    (lambda: F.conv2d(X, W, stride=0), ArgumentError, ["conv2d()", "'stride'", "positive", "0"]),
    (lambda: F.conv2d(X, W, stride=(1, -2)), ArgumentError, ["'stride'", "(1, -2)"]),
    (lambda: F.conv2d(X, W, dilation=0), ArgumentError, ["'dilation'", "positive"]),
    (lambda: F.conv2d(X, W, padding=-1), ArgumentError, ["'padding'", "non-negative", "-1"]),
    (lambda: F.conv2d(X, W, padding="foo"), ArgumentError, ["'padding'", "'foo'"]),
    (lambda: F.conv2d(X, W, padding="same", stride=2), ArgumentError, ["'same'", "stride=2"]),
    (lambda: F.conv2d(X, W, stride=(1, 2, 3)), ArgumentError, ["'stride'", "tuple of 2 ints", "(1, 2, 3)"]),
    (lambda: F.conv2d(X, W, groups=0), ArgumentError, ["'groups'", "positive", "0"]),
    (lambda: F.conv2d(X, lamina.zeros(4, 1, 3, 3), groups=3), ArgumentError, ["groups=3", "(4, 1, 3, 3)"]),
    (lambda: F.conv2d(X, lamina.zeros(4, 2, 3, 3)), ShapeError, ["(4, 2, 3, 3)", "(2, 3, 8, 8)", "2 channels"]),
    (lambda: F.conv2d(X, lamina.zeros(6, 3, 3, 3), groups=3), ShapeError, ["groups=3", "9 channels", "3 channels"]),
    (lambda: F.conv2d(lamina.zeros(2, 3, 2, 2), W), ShapeError, ["kernel size", "(3, 3)", "padded input", "(2, 2)"]),
    (lambda: F.conv2d(X, lamina.zeros(4, 3, 3, 9), padding=0), ShapeError, ["kernel size", "(3, 9)"]),
    (lambda: F.conv2d(lamina.zeros(3, 8), W), ShapeError, ["3-d (unbatched) or 4-d (batched) input", "(3, 8)"]),
    (lambda: F.conv2d(X, lamina.zeros(4, 3, 3)), ShapeError, ["4-d weight", "(4, 3, 3)"]),
    (lambda: F.conv2d(X, W, lamina.zeros(5)), ShapeError, ["bias of shape (4,)", "(5,)"]),
    (lambda: F.conv2d(X.double(), W), DTypeError, ["'weight'", "float64", "float32"]),
    (lambda: F.conv2d(X.bool(), W.bool()), DTypeError, ["'input'", "bool"]),
    (lambda: F.conv1d(lamina.zeros(2, 3, 5), lamina.zeros(4, 3, 7)), ShapeError, ["conv1d()", "kernel size 7", "5"]),
    (lambda: F.conv_transpose2d(X, lamina.zeros(3, 4, 3, 3), stride=2, output_padding=2), ArgumentError,
     ["conv_transpose2d()", "output_padding", "stride", "dilation"]),
    (lambda: F.conv_transpose2d(X, lamina.zeros(4, 4, 3, 3)), ShapeError, ["(4, 4, 3, 3)", "4 channels", "3 channels"]),
    (lambda: F.conv_transpose2d(X, lamina.zeros(3, 4, 3, 3), groups=2), ArgumentError, ["groups=2", "in_channels"]),
    (lambda: F.conv_transpose2d(X, lamina.zeros(3, 4, 3, 3), padding=6), ShapeError, ["padding=6", "output size"]),
    (lambda: F.conv_transpose2d(X, lamina.zeros(3, 4, 3, 3), padding=5), ShapeError, ["output size would be (0, 0)"]),
    (lambda: F.conv_transpose2d(X, lamina.zeros(3, 4, 3, 3), padding="same"), ArgumentError, ["'padding'"]),
    (lambda: F.unfold(X, 9), ShapeError, ["unfold()", "kernel size"]),
    (lambda: F.fold(lamina.zeros(2, 27, 35), (8, 8), 3), ShapeError, ["fold()", "6 * 6 blocks", "35"]),
    (lambda: F.fold(lamina.zeros(2, 26, 36), (8, 8), 3), ShapeError, ["fold()", "divisible", "26"]),
    (lambda: F.pad(X, (1, 2, 3)), ArgumentError, ["pad()", "divisible by 2"]),
    (lambda: F.pad(X, (1,) * 10), ArgumentError, ["pad()", "length 10", "4-d"]),
    (lambda: F.pad(X, (1, 1), mode="foo"), ArgumentError, ["pad()", "'foo'", "'reflect'"]),
    (lambda: F.pad(X, (1, 1), mode="reflect"), ArgumentError, ["reflect", "3-d", "(2, 3, 8, 8)"]),
    (lambda: F.pad(lamina.zeros(1, 1, 5), (5, 0), mode="reflect"), ArgumentError, ["(5, 0)", "less than", "5"]),
    (lambda: F.pad(lamina.zeros(1, 1, 5), (6, 0), mode="circular"), ArgumentError, ["(6, 0)", "wrap around"]),
    (lambda: F.pad(lamina.zeros(1, 1, 5), (-3, 4), mode="circular"), ArgumentError, ["(-3, 4)", "size 2 left"]),
    (lambda: F.pad(lamina.zeros(1, 1, 5), (1, 1), mode="reflect", value=1.0), ArgumentError, ["value"]),
    (lambda: F.pad(X, (-5, -5)), ArgumentError, ["(-5, -5)", "negative size -2"]),
    (lambda: F.pad(lamina.zeros(1, 0, 5), (1, 1), mode="replicate"), ArgumentError, ["non-empty", "(1, 0, 5)"]),
])
def test_bad_input(call, exc, fragments):
    check_error(call, exc, *fragments)


def test_errors_are_builtin_types_torch_raises():
    with pytest.raises(RuntimeError):
        F.conv2d(X, W, stride=0)
    with pytest.raises(RuntimeError):
        F.conv2d(X, lamina.zeros(4, 2, 3, 3))

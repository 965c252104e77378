"""Network operators against torch: linear, bilinear, softmax family, normalization, dropout, embedding,
cosine_similarity / normalize / pairwise_distance, scaled_dot_product_attention."""
import math
import warnings

import numpy as np
import pytest
import torch

import lamina
import lamina.nn.functional as LF
from lamina.errors import ArgumentError, DimError, DTypeError, IndexError_, ShapeError
from tests.helpers import check_error, check_op, rand

F64 = np.float64


def _noncontig(a):
    """Same values, Fortran-ordered strides (not C-contiguous)."""
    out = np.asfortranarray(a)
    assert a.ndim < 2 or not out.flags.c_contiguous
    return out


def _same_result_noncontig(fn, *arrays):
    """fn on Fortran-ordered inputs gives the forward and gradients of fn on C-ordered ones."""
    results = []
    for make in (np.ascontiguousarray, _noncontig):
        ts = [lamina.tensor(make(a), requires_grad=True) for a in arrays]
        out = fn(*ts)
        out.backward(lamina.ones_like(out))
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ---- linear, bilinear ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape,w_shape,b_shape", [
    ((4, 3), (5, 3), (5,)),
    ((2, 3, 3), (4, 3), (4,)),
    ((3,), (4, 3), (4,)),
    ((2, 3), (3,), None),
    ((3,), (3,), None),
    ((4, 3), (5, 3), None),
    ((4, 3), (5, 3), (4, 5)),
    ((4, 3), (5, 3), ()),
    ((0, 3), (5, 3), (5,)),
    ((2, 0), (5, 0), (5,)),
])
def test_linear(x_shape, w_shape, b_shape):
    args = [rand(*x_shape), rand(*w_shape)] + ([] if b_shape is None else [rand(*b_shape)])
    check_op(lambda lib, *a: lib.nn.functional.linear(*a), *args)


def test_linear_float64_and_noncontiguous():
    check_op(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), rand(3, 4, dtype=F64), rand(2, 4, dtype=F64),
             rand(2, dtype=F64))
    _same_result_noncontig(lambda x, w: LF.linear(x, w), rand(5, 4), rand(3, 4))


def test_linear_int():
    check_op(lambda lib, x, w: lib.nn.functional.linear(x, w), rand(2, 3, dtype=np.int64, low=-3, high=3),
             rand(4, 3, dtype=np.int64, low=-3, high=3))


def test_linear_errors():
    x, w = lamina.randn(2, 3), lamina.randn(4, 5)
    check_error(lambda: LF.linear(x, w), ShapeError, "linear()", "(2, 3)", "(4, 5)")
    check_error(lambda: LF.linear(lamina.randn(()), w), ShapeError, "linear()", "()")
    check_error(lambda: LF.linear(x, lamina.randn(4, 3, 1)), ShapeError, "weight", "(4, 3, 1)")
    check_error(lambda: LF.linear(x, lamina.randn(4, 3), lamina.randn(5)), ShapeError, "bias", "(5,)", "(2, 4)")
    check_error(lambda: LF.linear(x.double(), lamina.randn(4, 3)), DTypeError, "weight", "float32")


@pytest.mark.parametrize("s1,s2,with_bias", [((2, 3), (2, 5), True), ((3,), (5,), True), ((6, 2, 3), (6, 2, 5), True),
                                             ((2, 3), (2, 5), False)])
def test_bilinear(s1, s2, with_bias):
    args = [rand(*s1), rand(*s2), rand(4, 3, 5)] + ([rand(4)] if with_bias else [])
    check_op(lambda lib, *a: lib.nn.functional.bilinear(*a), *args)


def test_bilinear_errors():
    w = lamina.randn(4, 3, 5)
    check_error(lambda: LF.bilinear(lamina.randn(2, 3), lamina.randn(1, 5), w), ShapeError, "(2, 3)", "(1, 5)")
    check_error(lambda: LF.bilinear(lamina.randn(2, 3), lamina.randn(2, 4), w), ShapeError, "input2", "4", "5")
    check_error(lambda: LF.bilinear(lamina.randn(2, 5), lamina.randn(2, 5), w), ShapeError, "input1", "5", "3")
    check_error(lambda: LF.bilinear(lamina.randn(2, 3), lamina.randn(2, 5), w, lamina.randn(3)), ShapeError, "bias")
    check_error(lambda: LF.bilinear(lamina.randn(2, 3), lamina.randn(2, 5), lamina.randn(3, 5)), ShapeError,
                "weight", "3-d")


# ---- softmax family -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((6,), 0), ((), 0),
                                       ((), -1), ((0, 3), 1), ((3, 0), 1), ((2, 3), 0)])
def test_softmax_family(name, shape, dim):
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, dim), rand(*shape, low=-3, high=3))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtypes_and_methods(name):
    x = rand(3, 4, low=-3, high=3)
    check_op(lambda lib, x: getattr(lib, name)(x, 1), x.astype(F64))
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, 1, dtype=lib.float64), x, gradcheck=False)
    check_op(lambda lib, x: getattr(x, name)(0), x)
    # torch.softmax(x, dim, dtype) with dtype third
    check_op(lambda lib, x: getattr(lib, name)(x, 1, lib.float64), x, gradcheck=False)
    ints = np.arange(6).reshape(2, 3)
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, 1, dtype=lib.float32), ints)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_large_magnitudes(name):
    # logits at +-1e4 and a -inf entry: same values and gradients as torch
    x = rand(4, 6, low=-1e4, high=1e4)
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, 1), x, gradcheck=False, rtol=1e-5, atol=1e-4)
    x = rand(3, 4)
    x[0, 1] = -np.inf
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, 1), x, gradcheck=False)


def test_softmax_stability():
    y = lamina.softmax(lamina.tensor([1000.0, 1001.0, 1002.0]), 0).numpy()
    assert np.isfinite(y).all() and abs(y.sum() - 1.0) < 1e-6
    x = np.array([0.0, 2.0, 4.0, -6.0])
    shifted = lamina.log_softmax(lamina.tensor(x + 1e16), 0).numpy()
    np.testing.assert_allclose(shifted, lamina.log_softmax(lamina.tensor(x), 0).numpy(), rtol=1e-12, atol=1e-12)
    x32 = rand(5, 7)
    np.testing.assert_allclose(LF.log_softmax(lamina.tensor(x32 + 1e4), 1).numpy(),
                               LF.log_softmax(lamina.tensor(x32), 1).numpy(), atol=2e-3)


def test_softmax_implicit_dim_warns():
    x = rand(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = LF.softmax(lamina.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.nn.functional.softmax(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_softmax_errors():
    check_error(lambda: LF.softmax(lamina.randn(2, 3), 2), DimError, "softmax()", "2")
    check_error(lambda: LF.log_softmax(lamina.tensor(2.0), 1), DimError, "log_softmax()")
    check_error(lambda: LF.softmax(lamina.tensor([1, 2]), 0), DTypeError, "softmax()", "int64")
    check_error(lambda: LF.softmax(lamina.randn(3), 0, dtype=lamina.int64), DTypeError, "dtype", "int64")


# ---- batch norm ---------------------------------------------------------------------------------------------

def _bn(training, momentum=0.1, eps=1e-5, stats=True):
    def fn(lib, x, *affine):
        c = x.shape[1]
        rm = lib.tensor(np.linspace(-0.5, 0.5, c).astype(np.float32)).to(x.dtype) if stats else None
        rv = lib.tensor(np.linspace(0.5, 2.0, c).astype(np.float32)).to(x.dtype) if stats else None
        return lib.nn.functional.batch_norm(x, rm, rv, *affine, training=training, momentum=momentum, eps=eps)
    return fn


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 2, 2), (1, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm(shape, training, affine):
    c = shape[1]
    args = [rand(*shape, low=-2, high=2)] + ([rand(c, low=0.5, high=1.5), rand(c)] if affine else [])
    check_op(_bn(training), *args, rtol=1e-5, atol=1e-5)


def test_batch_norm_variants():
    check_op(_bn(True, stats=False), rand(5, 2, 3))
    check_op(_bn(True, momentum=0.5, eps=1e-3), rand(5, 2, 3, dtype=F64), rand(2, dtype=F64), rand(2, dtype=F64))
    check_op(_bn(False), rand(4, 2, 3, dtype=F64))
    check_op(lambda lib, x, w: _bn(True)(lib, x, w, None), rand(4, 3), rand(3))
    check_op(_bn(True), rand(0, 3), gradcheck=False)
    _same_result_noncontig(lambda x: LF.batch_norm(x, None, None, training=True), rand(6, 4))


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_running_stats(shape):
    x = rand(*shape, low=-3, high=5)
    rm0, rv0 = rand(shape[1]), rand(shape[1], low=0.5, high=2)
    results = []
    for lib in (lamina, torch):
        rm, rv = lib.tensor(rm0.copy()), lib.tensor(rv0.copy())
        lib.nn.functional.batch_norm(lib.tensor(x), rm, rv, training=True, momentum=0.3)
        results.append((rm.numpy(), rv.numpy()))
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    # an empty batch leaves them unchanged
    rm, rv = lamina.tensor(rm0.copy()), lamina.tensor(rv0.copy())
    LF.batch_norm(lamina.zeros(0, shape[1]), rm, rv, training=True)
    np.testing.assert_array_equal(rm.numpy(), rm0)


@pytest.mark.parametrize("value", [0.1, -3.0, 1e4])
def test_batch_norm_constant_channel_is_zero(value):
    x = np.full((6, 2, 3), value, dtype=np.float32)
    x[:, 1] = rand(6, 3)
    t = lamina.tensor(x, requires_grad=True)
    y = LF.batch_norm(t, None, None, training=True)
    assert np.all(y.detach().numpy()[:, 0] == 0.0)
    y.sum().backward()
    assert np.isfinite(t.grad.numpy()).all()


def test_batch_norm_errors():
    rm, rv = lamina.zeros(3), lamina.ones(3)
    check_error(lambda: LF.batch_norm(lamina.randn(1, 3), rm, rv, training=True), ArgumentError,
                "more than 1 value per channel", "(1, 3)")
    check_error(lambda: LF.batch_norm(lamina.randn(1, 3, 1), rm, rv, training=True), ArgumentError,
                "more than 1 value per channel")
    for eps in (0.0, -1e-5):
        check_error(lambda: LF.batch_norm(lamina.randn(4, 3), rm, rv, eps=eps), ArgumentError, "eps", str(eps))
    check_error(lambda: LF.batch_norm(lamina.randn(4, 3), None, None), ArgumentError, "running_mean")
    check_error(lambda: LF.batch_norm(lamina.randn(4, 5), rm, rv), ShapeError, "running_mean", "5", "(3,)")
    check_error(lambda: LF.batch_norm(lamina.randn(4, 3), rm, rv, lamina.ones(4)), ShapeError, "weight", "(4,)")
    check_error(lambda: LF.batch_norm(lamina.randn(3), rm, rv), ShapeError, "(3,)")
    check_error(lambda: LF.batch_norm(lamina.randn(4, 3).double(), rm, rv), DTypeError, "running_mean")
    check_error(lambda: LF.batch_norm(lamina.tensor([[1, 2], [3, 4]]), None, None, training=True), DTypeError,
                "int64")


# ---- layer norm, rms norm -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,normalized", [((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), 5), ((4, 6), [6]),
                                              ((0, 3), (3,)), ((2, 0), (0,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(shape, normalized, affine):
    ns = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    args = [rand(*shape, low=-2, high=2)] + ([rand(*ns, low=0.5, high=1.5), rand(*ns)] if affine else [])
    # torch's functional form wants a tuple; Lamina also takes an int, as nn.LayerNorm does
    check_op(lambda lib, x, *a: lib.nn.functional.layer_norm(x, normalized, *a), *args, rtol=1e-5, atol=1e-5,
             torch_fn=lambda lib, x, *a: lib.nn.functional.layer_norm(x, ns, *a))


def test_layer_norm_variants():
    check_op(lambda lib, x, w: lib.nn.functional.layer_norm(x, (4,), w, eps=1e-2), rand(3, 4, dtype=F64),
             rand(4, dtype=F64))
    check_op(lambda lib, x, b: lib.nn.functional.layer_norm(x, (4,), None, b), rand(3, 4), rand(4))
    # Data far from 0: torch's own float32 result is only good to ~5e-4 there (Lamina's to ~2e-7), so the
    # reference is torch in float64 on the same float32 inputs.
    x = rand(3, 4) + np.float32(1e3)
    g = rand(3, 4)
    xl = lamina.tensor(x, requires_grad=True)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    yl, yt = lamina.layer_norm(xl, (4,)), torch.nn.functional.layer_norm(xt, (4,))
    np.testing.assert_allclose(yl.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    yl.backward(lamina.tensor(g)), yt.backward(torch.tensor(g.astype(np.float64)))
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-3)
    _same_result_noncontig(lambda x: LF.layer_norm(x, (5,)), rand(4, 5))
    y = LF.layer_norm(lamina.full((2, 6), 1e4), (6,)).numpy()
    assert np.all(y == 0.0)


def test_layer_norm_errors():
    x = lamina.randn(2, 3)
    check_error(lambda: LF.layer_norm(x, (4,)), ShapeError, "layer_norm()", "(2, 3)", "(4,)")
    check_error(lambda: LF.layer_norm(x, ()), ShapeError, "normalized_shape")
    check_error(lambda: LF.layer_norm(x, (3,), lamina.ones(2)), ShapeError, "weight", "(2,)")
    check_error(lambda: LF.layer_norm(x, (3,), eps=0.0), ArgumentError, "eps")
    check_error(lambda: LF.layer_norm(x, (3,), eps=-1.0), ArgumentError, "eps")
    check_error(lambda: LF.layer_norm(lamina.tensor([[1, 2]]), (2,)), DTypeError, "int64")
    check_error(lambda: LF.layer_norm(x, (3,), lamina.ones(3).double()), DTypeError, "weight")


@pytest.mark.parametrize("shape,normalized,eps", [((2, 3, 4), (4,), None), ((2, 3, 4), (3, 4), 1e-3),
                                                  ((5,), 5, None)])
@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm(shape, normalized, eps, affine):
    ns = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    args = [rand(*shape, low=-2, high=2)] + ([rand(*ns, low=0.5, high=1.5)] if affine else [])
    check_op(lambda lib, x, *a: lib.nn.functional.rms_norm(x, normalized, *a, eps=eps), *args,
             torch_fn=lambda lib, x, *a: lib.nn.functional.rms_norm(x, ns, *a, eps=eps))


# ---- group norm, instance norm ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,groups", [((2, 6, 4), 3), ((2, 6), 2), ((2, 4, 3, 3), 2), ((2, 4, 3), 4),
                                          ((3, 4, 2), 1), ((0, 6, 4), 3), ((2, 6, 0), 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(shape, groups, affine):
    c = shape[1]
    args = [rand(*shape, low=-2, high=2)] + ([rand(c, low=0.5, high=1.5), rand(c)] if affine else [])
    # torch's weight/bias gradients for a zero-size spatial dim are NaN; Lamina's are the empty sums, 0
    empty_spatial = affine and math.prod(shape[2:]) == 0 and shape[0] > 0
    check_op(lambda lib, x, *a: lib.nn.functional.group_norm(x, groups, *a), *args, rtol=1e-5, atol=1e-5,
             grad=not empty_spatial)
    if empty_spatial:
        ts = [lamina.tensor(a, requires_grad=True) for a in args]
        LF.group_norm(ts[0], groups, ts[1], ts[2]).sum().backward()
        assert np.all(ts[1].grad.numpy() == 0) and np.all(ts[2].grad.numpy() == 0)


def test_group_norm_variants():
    check_op(lambda lib, x, w, b: lib.group_norm(x, 2, w, b, 1e-3), rand(2, 4, 5, dtype=F64), rand(4, dtype=F64),
             rand(4, dtype=F64))
    _same_result_noncontig(lambda x: LF.group_norm(x, 2), rand(3, 4))


def test_group_norm_errors():
    x = lamina.randn(2, 6, 4)
    check_error(lambda: LF.group_norm(x, 4), ArgumentError, "num_groups", "6", "4")
    check_error(lambda: LF.group_norm(x, 0), ArgumentError, "num_groups", "0")
    check_error(lambda: LF.group_norm(x, -2), ArgumentError, "num_groups", "-2")
    check_error(lambda: LF.group_norm(lamina.randn(6), 3), ShapeError, "(6,)")
    check_error(lambda: LF.group_norm(x, 3, lamina.ones(3)), ShapeError, "weight", "(3,)")
    check_error(lambda: LF.group_norm(x, 3, eps=0), ArgumentError, "eps")
    check_error(lambda: LF.group_norm(lamina.randn(1, 3, 1), 3), ArgumentError, "more than 1 value")


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm(shape, affine):
    c = shape[1]
    args = [rand(*shape, low=-2, high=2)] + ([rand(c, low=0.5, high=1.5), rand(c)] if affine else [])
    check_op(lambda lib, x, *a: lib.nn.functional.instance_norm(x, None, None, *a), *args, rtol=1e-5, atol=1e-5)


def test_instance_norm_running_stats():
    x, rm0, rv0 = rand(3, 2, 6, low=-2, high=4), rand(2), rand(2, low=0.5, high=2)
    results = []
    for lib in (lamina, torch):
        rm, rv = lib.tensor(rm0.copy()), lib.tensor(rv0.copy())
        y1 = lib.nn.functional.instance_norm(lib.tensor(x), rm, rv, momentum=0.4)
        y2 = lib.nn.functional.instance_norm(lib.tensor(x), rm, rv, use_input_stats=False)
        results.append([rm.numpy(), rv.numpy(), y1.numpy(), y2.numpy()])
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)


def test_instance_norm_errors():
    check_error(lambda: LF.instance_norm(lamina.randn(2, 3, 1)), ArgumentError, "more than 1 spatial element")
    check_error(lambda: LF.instance_norm(lamina.randn(2, 3, 4), use_input_stats=False), ArgumentError,
                "running_mean")
    check_error(lambda: LF.instance_norm(lamina.randn(2, 3, 4), lamina.zeros(4)), ShapeError, "running_mean")


# ---- dropout ------------------------------------------------------------------------------------------------

def test_dropout_values_and_gradient():
    x = lamina.tensor(rand(200, 50, low=0.5, high=1.5), requires_grad=True)
    p = 0.3
    y = LF.dropout(x, p)
    y.sum().backward()
    xs, ys, g = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    kept = ys != 0
    np.testing.assert_allclose(ys[kept], xs[kept] / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(g, kept / np.float32(1 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.02
    assert y.dtype == lamina.float32


def test_dropout_gradcheck_with_a_fixed_mask():
    def fn(x):
        lamina.manual_seed(5)    # the same mask at every evaluation, so finite differences apply
        return LF.dropout(x, 0.4)
    x = lamina.tensor(rand(4, 5, dtype=np.float64), requires_grad=True)
    assert lamina.autograd.gradcheck(fn, (x,))


def test_dropout_deterministic_with_seed():
    x = lamina.randn(8, 8)
    lamina.manual_seed(123)
    a = LF.dropout(x, 0.5).numpy()
    lamina.manual_seed(123)
    b = LF.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fn", [LF.dropout, LF.dropout1d, LF.dropout2d, LF.dropout3d, LF.alpha_dropout,
                                LF.feature_alpha_dropout])
def test_dropout_noop_cases(fn):
    x = lamina.randn(2, 3, 4, 5) if fn is not LF.dropout1d else lamina.randn(2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fn(x, 0.5, training=False) is x
        assert fn(x, 0.0, training=True) is x
        check_error(lambda: fn(x, 1.5, True), ArgumentError, "between 0 and 1", "1.5")
        check_error(lambda: fn(x, -0.1, True), ArgumentError, "-0.1")
        t = lamina.tensor(x.numpy(), requires_grad=True)
        y = fn(t, 1.0, True)
        assert np.all(y.detach().numpy() == 0)
        y.sum().backward()
        assert np.all(t.grad.numpy() == 0)


def test_dropout_zero_dim_and_empty():
    assert LF.dropout(lamina.tensor(2.0), 0.5).shape == ()
    assert LF.dropout(lamina.zeros(0, 3), 0.5).shape == (0, 3)


def test_dropout_inplace():
    x = lamina.tensor(rand(50, 10), requires_grad=True)
    h = x * 2.0
    y = LF.dropout(h, 0.5, inplace=True)
    assert y is h
    y.sum().backward()
    kept = h.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept * 4.0)
    leaf = lamina.tensor(rand(3), requires_grad=True)
    check_error(lambda: LF.dropout(leaf, 0.5, inplace=True), lamina.AutogradError, "leaf")


def test_dropout_errors():
    check_error(lambda: LF.dropout(lamina.tensor([1, 2, 3]), 0.5), DTypeError, "dropout()", "int64")
    check_error(lambda: LF.dropout1d(lamina.randn(2, 3, 4, 5), 0.5), ShapeError, "dropout1d()", "(2, 3, 4, 5)")


@pytest.mark.parametrize("fn,shape,noise", [
    (LF.dropout1d, (4, 6, 20), (4, 6, 1)), (LF.dropout1d, (6, 20), (6, 1)),
    (LF.dropout2d, (4, 6, 5, 4), (4, 6, 1, 1)), (LF.dropout2d, (4, 6, 20), (4, 6, 1)),
    (LF.dropout3d, (2, 6, 3, 2, 4), (2, 6, 1, 1, 1)), (LF.dropout3d, (6, 3, 2, 4), (6, 1, 1, 1)),
])
def test_feature_dropout_drops_whole_channels(fn, shape, noise):
    x = lamina.tensor(rand(*shape, low=0.5, high=1.5), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(x, 0.5)
    y.sum().backward()
    ratio = y.detach().numpy() / x.detach().numpy()
    axes = tuple(i for i, n in enumerate(noise) if n == 1)
    per_channel = ratio.max(axis=axes, keepdims=True)
    np.testing.assert_allclose(ratio, np.broadcast_to(per_channel, shape), rtol=1e-6)
    assert set(np.unique(np.round(per_channel, 5))) <= {0.0, 2.0}
    np.testing.assert_allclose(x.grad.numpy(), ratio, rtol=1e-6)


def test_dropout2d_warns_like_torch():
    with pytest.warns(UserWarning, match="3D input"):
        LF.dropout2d(lamina.randn(2, 3, 4), 0.5)
    with pytest.warns(UserWarning, match="5-D input"):
        LF.dropout2d(lamina.randn(1, 2, 3, 4, 5), 0.5)


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout(feature):
    fn = LF.feature_alpha_dropout if feature else LF.alpha_dropout
    p, alpha = 0.2, 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = lamina.tensor(rand(400, 300, low=-3, high=3) if not feature else rand(400, 300, 2), requires_grad=True)
    y = fn(x, p, training=True)
    y.sum().backward()
    xs, ys, g = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    kept = g != 0
    np.testing.assert_allclose(ys[kept], a * xs[kept] + alpha * a * p, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ys[~kept], alpha * a * (p - 1), rtol=1e-5)
    np.testing.assert_allclose(g[kept], a, rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.02
    # SELU's fixed point: zero mean and unit variance are preserved
    z = fn(lamina.randn(1000, 500, 1), p, training=True).numpy()
    assert abs(z.mean()) < 0.05 and abs(z.var() - 1.0) < 0.05


# ---- embedding ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("idx_shape", [(4,), (2, 3), (), (0, 2)])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                    {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_embedding(idx_shape, kwargs):
    idx = rand(*idx_shape, dtype=np.int64, low=0, high=5)
    if idx.size:
        idx.reshape(-1)[0] = 2
        idx.reshape(-1)[-1] = 2
    # padding_idx and scale_grad_by_freq change the gradient on purpose: compare with torch, not with finite
    # differences
    check_op(lambda lib, i, w: lib.nn.functional.embedding(i, w, **kwargs), idx, rand(5, 3), gradcheck=not kwargs)


def test_embedding_int32_float64_noncontiguous():
    idx = np.array([[0, 4], [4, 1]], dtype=np.int32)
    check_op(lambda lib, i, w: lib.nn.functional.embedding(i, w), idx, rand(6, 2, dtype=F64))
    _same_result_noncontig(lambda w: LF.embedding(lamina.tensor(idx), w), rand(5, 3))


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm(norm_type):
    idx = np.array([[1, 2, 2], [4, 1, 0]])
    w0 = rand(6, 3, low=-3, high=3)
    results = []
    for lib in (lamina, torch):
        w = lib.tensor(w0.copy())
        out = lib.nn.functional.embedding(lib.tensor(idx), w, max_norm=1.0, norm_type=norm_type)
        results.append((out.numpy(), w.numpy()))
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)
    # rows not looked up (3, 5) are untouched
    np.testing.assert_array_equal(results[0][1][[3, 5]], w0[[3, 5]])


def test_embedding_errors():
    w = lamina.randn(5, 3)
    check_error(lambda: LF.embedding(lamina.tensor([1, 7]), w), IndexError_, "index 7", "num_embeddings 5")
    check_error(lambda: LF.embedding(lamina.tensor([1, -1]), w), IndexError_, "index -1")
    check_error(lambda: LF.embedding(lamina.tensor([1.0, 2.0]), w), DTypeError, "float32")
    check_error(lambda: LF.embedding(lamina.tensor([1]), lamina.randn(5)), ShapeError, "weight", "(5,)")
    check_error(lambda: LF.embedding(lamina.tensor([1]), w, padding_idx=5), ArgumentError, "padding_idx", "5")
    check_error(lambda: LF.embedding(lamina.tensor([1]), w, padding_idx=-6), ArgumentError, "padding_idx", "-6")


# ---- cosine_similarity, normalize, pairwise_distance --------------------------------------------------------

@pytest.mark.parametrize("s1,s2,dim", [((4, 5), (4, 5), 1), ((4, 5), (5,), 1), ((4, 5), (4, 5), 0), ((3,), (3,), 0),
                                       ((), (), 0), ((2, 1, 3), (1, 4, 3), -1), ((0, 3), (0, 3), 1)])
def test_cosine_similarity(s1, s2, dim):
    check_op(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim), rand(*s1), rand(*s2))


def test_cosine_similarity_special_inputs():
    check_op(lambda lib, a, b: lib.cosine_similarity(a, b, 1, 1e-3), rand(3, 4, dtype=F64), rand(3, 4, dtype=F64))
    # a zero vector: torch's value (0) and torch's gradient (through the clamped norm)
    a = rand(2, 3)
    a[0] = 0.0
    check_op(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), a, rand(2, 3), gradcheck=False,
             grad_rtol=1e-4, grad_atol=1.0)
    check_op(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), rand(2, 3) * np.float32(1e4),
             rand(2, 3) * np.float32(1e-4), gradcheck=False)
    ints = np.arange(6).reshape(2, 3)
    check_op(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), ints, rand(2, 3, dtype=F64))
    _same_result_noncontig(lambda a, b: LF.cosine_similarity(a, b), rand(4, 3), rand(4, 3))


def test_cosine_similarity_errors():
    check_error(lambda: LF.cosine_similarity(lamina.randn(2, 3), lamina.randn(4, 3)), ShapeError, "(2, 3)", "(4, 3)")
    check_error(lambda: LF.cosine_similarity(lamina.randn(3), lamina.randn(3)), DimError, "cosine_similarity()")
    check_error(lambda: LF.cosine_similarity(lamina.tensor([1, 2]), lamina.tensor([1, 2]), 0), DTypeError, "int64")


@pytest.mark.parametrize("p", [2.0, 1.0, math.inf, -math.inf, 0.0, 0.5, 3.0, -1.0])
def test_normalize_p(p):
    x = rand(3, 4, low=0.2, high=1.0) * np.where(rand(3, 4) > 0, 1, -1).astype(np.float32)
    gradcheck = p not in (math.inf, -math.inf)  # finite differences at the max of two close values are unreliable
    check_op(lambda lib, x: lib.nn.functional.normalize(x, p=p), x, gradcheck=gradcheck, grad_rtol=1e-3)


@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((2, 3, 4), (1, 2)), ((5,), 0), ((), 0), ((0, 3), 1),
                                       ((2, 3, 4), -1)])
def test_normalize_shapes(shape, dim):
    check_op(lambda lib, x: lib.nn.functional.normalize(x, dim=dim), rand(*shape))


def test_normalize_special():
    x = rand(3, 4)
    x[1] = 0.0
    x[0, :2] = [3.0, -3.0]
    for p in (2.0, math.inf, 1.0, 0.5):
        check_op(lambda lib, x: lib.nn.functional.normalize(x, p=p), x, gradcheck=False, grad_rtol=1e-4,
                 grad_atol=1e-4 * 1e12)
    check_op(lambda lib, x: lib.nn.functional.normalize(x, eps=0.5), rand(3, 4, dtype=F64))
    out = lamina.zeros(3, 4)
    assert LF.normalize(lamina.tensor(x), out=out) is out
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.normalize(torch.tensor(x)).numpy(), rtol=1e-6)
    check_error(lambda: LF.normalize(lamina.tensor([[1, 2]])), DTypeError, "normalize()", "int64")
    check_error(lambda: LF.normalize(lamina.randn(3)), DimError, "normalize()")
    check_error(lambda: LF.normalize(lamina.randn(2, 3), p="a"), ArgumentError, "normalize()", "'p'", "'a'")


@pytest.mark.parametrize("s1,s2,p,keepdim", [((3, 4), (3, 4), 2.0, False), ((3, 4), (4,), 1.0, True),
                                             ((2, 1, 4), (3, 4), 3.0, False), ((4,), (4,), math.inf, False),
                                             ((), (), 2.0, False), ((), (), 2.0, True)])
def test_pairwise_distance(s1, s2, p, keepdim):
    check_op(lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, p, keepdim=keepdim), rand(*s1), rand(*s2),
             gradcheck=p != math.inf)
    check_error(lambda: LF.pairwise_distance(lamina.randn(2, 3), lamina.randn(4, 3)), ShapeError, "(2, 3)", "(4, 3)")


# ---- scaled_dot_product_attention ---------------------------------------------------------------------------

def _sdpa(**kwargs):
    return lambda lib, q, k, v, *mask: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, *mask, **kwargs)


@pytest.mark.parametrize("sq,sk,sv", [((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)), ((3, 4), (5, 4), (5, 2)),
                                      ((2, 3, 4), (1, 5, 4), (1, 5, 2)), ((2, 1, 3, 4), (2, 5, 4), (2, 5, 4)),
                                      ((2, 0, 4), (2, 5, 4), (2, 5, 3)), ((2, 3, 4), (2, 0, 4), (2, 0, 3))])
@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.3}])
def test_sdpa(sq, sk, sv, kwargs):
    check_op(_sdpa(**kwargs), rand(*sq), rand(*sk), rand(*sv))


def test_sdpa_float64_noncontiguous_large():
    check_op(_sdpa(), rand(2, 3, 4, dtype=F64), rand(2, 5, 4, dtype=F64), rand(2, 5, 3, dtype=F64))
    check_op(_sdpa(is_causal=True), rand(6, 4), rand(3, 4), rand(3, 2))
    check_op(_sdpa(), rand(2, 3, 8, low=-30, high=30), rand(2, 5, 8, low=-30, high=30), rand(2, 5, 3),
             gradcheck=False, rtol=1e-4, atol=1e-4, grad_atol=1e-3)
    _same_result_noncontig(lambda q, k, v: LF.scaled_dot_product_attention(q, k, v), rand(3, 4), rand(5, 4),
                           rand(5, 2))


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 1, 5), (1, 1, 3, 5), (2, 2, 3, 5)])
def test_sdpa_masks(mask_shape):
    q, k, v = rand(2, 2, 3, 4), rand(2, 2, 5, 4), rand(2, 2, 5, 3)
    bool_mask = rand(*mask_shape) > -0.5
    bool_mask[..., 0] = True
    check_op(lambda lib, q, k, v, m: _sdpa()(lib, q, k, v, m), q, k, v, bool_mask)
    check_op(lambda lib, q, k, v, m: _sdpa()(lib, q, k, v, m), q, k, v, rand(*mask_shape))  # float mask gets a grad


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_give_zeros_not_nan(kind):
    q, k, v = rand(2, 4, 3), rand(2, 5, 3), rand(2, 5, 2)
    keep = np.ones((4, 5), bool)
    keep[1] = False
    mask = keep if kind == "bool" else np.where(keep, 0.0, -np.inf).astype(np.float32)
    def fn(lib, q, k, v):
        m = lib.tensor(mask)
        return _sdpa()(lib, q, k, v, m if kind == "bool" else m.to(q.dtype))
    out = check_op(fn, q, k, v)
    assert np.all(out.detach().numpy()[:, 1] == 0.0)
    ts = [lamina.tensor(a, requires_grad=True) for a in (q, k, v)]
    LF.scaled_dot_product_attention(*ts, attn_mask=lamina.tensor(mask)).sum().backward()
    assert all(np.isfinite(t.grad.numpy()).all() for t in ts)


def test_sdpa_gqa():
    check_op(_sdpa(enable_gqa=True), rand(2, 6, 3, 4), rand(2, 2, 5, 4), rand(2, 2, 5, 3))
    check_op(_sdpa(enable_gqa=True), rand(4, 3, 4), rand(2, 5, 4), rand(2, 5, 3))
    check_error(lambda: LF.scaled_dot_product_attention(lamina.randn(2, 4, 3, 4), lamina.randn(2, 3, 5, 4),
                                                        lamina.randn(2, 3, 5, 4), enable_gqa=True),
                ShapeError, "heads")


def test_sdpa_dropout():
    q, k, v = lamina.randn(2, 4, 3), lamina.randn(2, 6, 3), lamina.tensor(rand(2, 6, 2), requires_grad=True)
    y0 = LF.scaled_dot_product_attention(q, k, v).detach().numpy()
    lamina.manual_seed(5)
    y1 = LF.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    lamina.manual_seed(5)
    y2 = LF.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(y1.detach().numpy(), y2.detach().numpy())
    assert not np.allclose(y1.detach().numpy(), y0)
    y1.sum().backward()
    assert np.isfinite(v.grad.numpy()).all()
    # with p = 1 every weight is dropped
    assert np.all(LF.scaled_dot_product_attention(q, k, v, dropout_p=1.0).detach().numpy() == 0)


def test_sdpa_errors():
    sdpa = LF.scaled_dot_product_attention
    q, k, v = lamina.randn(2, 3, 4), lamina.randn(2, 5, 4), lamina.randn(2, 5, 6)
    check_error(lambda: sdpa(lamina.randn(4), k, v), ShapeError, "at least 2 dims", "(4,)")
    check_error(lambda: sdpa(q, lamina.randn(2, 5, 7), v), ShapeError, "(2, 3, 4)", "(2, 5, 7)")
    check_error(lambda: sdpa(q, k, lamina.randn(2, 4, 6)), ShapeError, "(2, 5, 4)", "(2, 4, 6)")
    check_error(lambda: sdpa(q, lamina.randn(3, 5, 4), lamina.randn(3, 5, 6)), ShapeError, "not broadcastable")
    check_error(lambda: sdpa(q, k.double(), v), DTypeError, "key", "float64")
    check_error(lambda: sdpa(q, k, v, attn_mask=lamina.ones(3, 5, dtype=lamina.int64)), DTypeError, "attn_mask")
    check_error(lambda: sdpa(q, k, v, attn_mask=lamina.ones(3, 6)), ShapeError, "attn_mask", "(3, 6)")
    check_error(lambda: sdpa(q, k, v, attn_mask=lamina.ones(3, 5, dtype=lamina.bool), is_causal=True),
                ArgumentError, "is_causal")
    check_error(lambda: sdpa(q, k, v, dropout_p=1.5), ArgumentError, "1.5")
    check_error(lambda: sdpa(q, k, v, scale="a"), ArgumentError, "'scale'", "'a'")
    check_error(lambda: sdpa(q.long(), k.long(), v.long()), DTypeError, "int64")


# ---- invariants ---------------------------------------------------------------------------------------------

_UNARY = {
    "softmax": lambda x: LF.softmax(x, 0),
    "log_softmax": lambda x: LF.log_softmax(x, 1),
    "softmin": lambda x: LF.softmin(x, 0),
    "normalize": lambda x: LF.normalize(x, p=3.0, dim=0),
    "batch_norm": lambda x: LF.batch_norm(x, None, None, training=True),
    "layer_norm": lambda x: LF.layer_norm(x, (5,)),
    "rms_norm": lambda x: LF.rms_norm(x, (5,)),
    "group_norm": lambda x: LF.group_norm(x, 5),
    "cosine_similarity": lambda x: LF.cosine_similarity(x, x * 2.0 + 1.0, dim=0),
    "pairwise_distance": lambda x: LF.pairwise_distance(x, x * x),
}


@pytest.mark.parametrize("name", sorted(_UNARY))
def test_noncontiguous_and_inputs_unchanged(name):
    x = rand(4, 5, low=-2, high=2)
    _same_result_noncontig(_UNARY[name], x)
    t = lamina.tensor(x.copy(), requires_grad=True)
    _UNARY[name](t).sum().backward()
    np.testing.assert_array_equal(t.detach().numpy(), x)

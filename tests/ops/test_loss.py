"""Loss functions against torch: forward, backward of a random output gradient, float64 gradcheck, numerical
stability and typed errors for bad input."""
import warnings

import numpy as np
import pytest
import torch

import lamina
import lamina.nn.functional as LF
from lamina.errors import ArgumentError, AutogradError, DTypeError, IndexError_, ShapeError
from tests.helpers import check_error, check_op, rand

F64 = np.float64
REDUCTIONS = ["none", "mean", "sum"]
IGNORE_BROADCAST = pytest.mark.filterwarnings("ignore:Using a target size")


def F(lib):
    return lib.nn.functional


def _labels(shape, n_classes, seed=0, ignore=None):
    """Random class indices; with ``ignore``, every third item becomes that value."""
    t = np.random.default_rng(seed).integers(0, n_classes, size=shape).astype(np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[::3] = ignore
    return t


def _const(lib, a, like):
    """``a`` as a constant tensor (no grad) of ``like``'s dtype, for arguments torch refuses gradients for."""
    return lib.tensor(a).to(like.dtype)


def _probs(shape, class_axis, seed=0):
    p = np.random.default_rng(seed).uniform(0.05, 1.0, size=shape)
    return (p / p.sum(axis=class_axis, keepdims=True)).astype(np.float32)


def _same_result_noncontig(fn, *arrays):
    """fn on transposed (non-contiguous) views gives the forward and gradients of fn on contiguous copies."""
    results = []
    for make in (lambda a: np.ascontiguousarray(a), lambda a: np.ascontiguousarray(a.T).T):
        ts = [lamina.from_numpy(make(a)).requires_grad_() if a.dtype.kind == "f" else lamina.from_numpy(a)
              for a in arrays]
        out = fn(*ts)
        out.backward(lamina.ones_like(out))
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts if t.requires_grad])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ---- mse, l1, smooth_l1, huber -----------------------------------------------------------------------------

POINTWISE = [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
             ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}), ("huber_loss", {"delta": 0.3})]
SHAPES = [((3, 4), (3, 4)), ((), ()), ((0,), (0,)), ((1, 0, 3), (1, 0, 3)), ((2, 1), (2,)), ((3, 1, 2), (1, 3, 2)),
          ((4,), (2, 4))]


@IGNORE_BROADCAST
@pytest.mark.parametrize("name,kw", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise(name, kw, reduction):
    check_op(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction=reduction, **kw),
             rand(3, 4, low=-2, high=2), rand(3, 4, low=-2, high=2))


@IGNORE_BROADCAST
@pytest.mark.parametrize("name,kw", POINTWISE[::2])
@pytest.mark.parametrize("shapes", SHAPES[1:])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_pointwise_shapes(name, kw, shapes, reduction):
    check_op(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction=reduction, **kw),
             rand(*shapes[0], low=-2, high=2), rand(*shapes[1], low=-2, high=2))


@IGNORE_BROADCAST
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (3, 4))])
def test_pointwise_weight(name, reduction, shapes):
    # torch's weighted paths are compositions, so the weight gets a gradient too
    check_op(lambda lib, a, b, w: getattr(F(lib), name)(a, b, reduction=reduction, weight=w),
             rand(*shapes[0], low=-2, high=2), rand(*shapes[1], low=-2, high=2), rand(*shapes[0], low=0.1, high=2))


@pytest.mark.parametrize("name,kw", POINTWISE[::2])
def test_pointwise_float64_and_int_target(name, kw):
    fn = getattr(LF, name)
    check_op(lambda lib, a, b: getattr(F(lib), name)(a, b, **kw), rand(3, 4, dtype=F64), rand(3, 4, dtype=F64))
    # mixed float32/float64: torch's huber_loss keeps the input's dtype and cannot run its own backward
    check_op(lambda lib, a, b: getattr(F(lib), name)(a, b, **kw), rand(3, 4), rand(3, 4, dtype=F64),
             grad=name != "huber_loss")
    # float input, integer target: the result is the input's float dtype, as in torch
    check_op(lambda lib, a, b: getattr(F(lib), name)(a, b, **kw), rand(3, 4),
             rand(3, 4, dtype=np.int64, low=-2, high=2), grad=name != "huber_loss")
    _same_result_noncontig(lambda a, b: fn(a, b, **kw), rand(4, 3), rand(4, 3))


def test_pointwise_broadcast_warns_like_torch():
    x, t = lamina.tensor(rand(3, 1)), lamina.tensor(rand(3, 4))
    with pytest.warns(UserWarning, match="Using a target size"):
        LF.mse_loss(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.mse_loss(x, lamina.tensor(rand(3, 1)))


@pytest.mark.filterwarnings("ignore:size_average and reduce")
@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True)])
def test_legacy_size_average_reduce(size_average, reduce):
    check_op(lambda lib, a, b: F(lib).mse_loss(a, b, size_average=size_average, reduce=reduce), rand(3, 2),
             rand(3, 2))
    check_op(lambda lib, a, b: F(lib).cross_entropy(a, b, size_average=size_average, reduce=reduce), rand(3, 4),
             _labels(3, 4))


# ---- binary cross entropy ----------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 3), (), (0,), (5,)])
def test_binary_cross_entropy(reduction, shape):
    check_op(lambda lib, x, t: F(lib).binary_cross_entropy(x, t, reduction=reduction),
             rand(*shape, low=0.05, high=0.95), rand(*shape, low=0, high=1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("w_shape", [(4, 3), (3,), (4, 1)])
def test_binary_cross_entropy_weight(reduction, w_shape):
    w = rand(*w_shape, low=0.1, high=2)    # torch has no gradient for the weight: pass it as a constant
    check_op(lambda lib, x, t: F(lib).binary_cross_entropy(x, t, _const(lib, w, x),
                                                            reduction=reduction),
             rand(4, 3, low=0.05, high=0.95), rand(4, 3, low=0, high=1))


def test_binary_cross_entropy_at_0_and_1_clamps_log_like_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5], np.float32)
    out = check_op(lambda lib, a, b: F(lib).binary_cross_entropy(a, b, reduction="none"), x, t, gradcheck=False,
                   grad_rtol=1e-5)
    assert np.all(np.isfinite(out.detach().numpy())) and out.detach().numpy()[0] == 100.0
    check_op(lambda lib, a, b: F(lib).binary_cross_entropy(a, b), rand(3, dtype=F64, low=0.1, high=0.9),
             rand(3, dtype=F64, low=0, high=1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 3), (), (0, 3), (2, 3, 2)])
def test_bce_with_logits(reduction, shape):
    check_op(lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(x, t, reduction=reduction),
             rand(*shape, low=-4, high=4), rand(*shape, low=0, high=1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("w_shape,pw_shape", [((4, 3), None), (None, (3,)), ((4, 1), (3,)), ((3,), (4, 3))])
def test_bce_with_logits_weights(reduction, w_shape, pw_shape):
    w = None if w_shape is None else rand(*w_shape, low=0.1, high=2)
    pw = None if pw_shape is None else rand(*pw_shape, low=0.1, high=3)

    def fn(lib, x, t):
        const = lambda a: None if a is None else _const(lib, a, x)
        return F(lib).binary_cross_entropy_with_logits(x, t, const(w), reduction=reduction, pos_weight=const(pw))
    check_op(fn, rand(4, 3, low=-4, high=4), rand(4, 3, low=0, high=1))


@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_stable_at_300_to_400(pos_weight):
    x = np.array([-400, -350, -300, 300, 350, 400, -400, 400], np.float32)
    t = np.array([1, 1, 1, 0, 0, 0, 0, 1], np.float32)

    def fn(lib, a, b):
        pw = None if pos_weight is None else lib.tensor([pos_weight], dtype=lib.float32)
        return F(lib).binary_cross_entropy_with_logits(a, b, reduction="none", pos_weight=pw)
    out = check_op(fn, x, t, gradcheck=False)
    assert np.all(np.isfinite(out.detach().numpy()))
    x_l = lamina.tensor(x, requires_grad=True)
    LF.binary_cross_entropy_with_logits(x_l, lamina.tensor(t)).backward()
    assert np.all(np.isfinite(x_l.grad.numpy()))


def test_bce_with_logits_float64_and_noncontiguous():
    check_op(lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(x, t), rand(3, 4, dtype=F64, low=-3, high=3),
             rand(3, 4, dtype=F64, low=0, high=1))
    _same_result_noncontig(lambda x, t: LF.binary_cross_entropy_with_logits(x, t), rand(4, 3, low=-3, high=3),
                           rand(4, 3, low=0, high=1))


# ---- kl_div ------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("reduction", ["none", "batchmean", "sum", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (2, 4)), ((), ()), ((0, 4), (0, 4))])
def test_kl_div(reduction, log_target, shapes):
    x = np.asarray(np.log(rand(*shapes[0], low=0.05, high=1)))
    t = rand(*shapes[1], low=0.05, high=1)
    if log_target:
        t = np.asarray(np.log(t))
    check_op(lambda lib, a, b: F(lib).kl_div(a, b, reduction=reduction, log_target=log_target), x, t)


def test_kl_div_float64_and_zero_target():
    check_op(lambda lib, a, b: F(lib).kl_div(a, b, reduction="batchmean"), rand(3, 4, dtype=F64, low=-3, high=0),
             rand(3, 4, dtype=F64, low=0.05, high=1))
    x, t = rand(2, 3, low=-3, high=0), np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8]], np.float32)
    out = check_op(lambda lib, a, b: F(lib).kl_div(a, b, reduction="sum"), x, t, grad=False)
    assert np.isfinite(out.item())
    xl, tl = lamina.tensor(x, requires_grad=True), lamina.tensor(t, requires_grad=True)
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    LF.kl_div(xl, tl, reduction="sum").backward()
    torch.nn.functional.kl_div(xt, tt, reduction="sum").backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy())
    # d/dt (t log t) at t = 0: Lamina gives 0 (torch 2.13 gives nan there); elsewhere the gradients agree
    nonzero = t != 0
    np.testing.assert_allclose(tl.grad.numpy()[nonzero], tt.grad.numpy()[nonzero], rtol=1e-6)
    assert np.all(tl.grad.numpy()[~nonzero] == 0)


# ---- nll_loss and cross_entropy with class indices ---------------------------------------------------------

CLASS_SHAPES = [((6, 5), (6,)), ((2, 5, 3), (2, 3)), ((2, 4, 3, 2), (2, 3, 2)), ((5,), ()), ((0, 5), (0,)),
                ((5,), (1,))]


@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, -100])
def test_nll_loss(shapes, reduction, weighted, ignore):
    x_shape, t_shape = shapes
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t = _labels(t_shape, n_classes, ignore=ignore if len(t_shape) else None)
    w = rand(n_classes, low=0.1, high=2) if weighted else None

    def fn(lib, x, t):
        wt = None if w is None else _const(lib, w, x)
        return F(lib).nll_loss(x, t, wt, reduction=reduction)
    # torch cannot run the backward of an unbatched (C,) input with a (1,) target
    check_op(fn, rand(*x_shape, low=-3, high=0), t, grad=t_shape != (1,))


@pytest.mark.parametrize("shapes", CLASS_SHAPES[:-1])   # torch's label smoothing breaks on (C,) with (1,)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy(shapes, reduction, weighted, label_smoothing):
    x_shape, t_shape = shapes
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t = _labels(t_shape, n_classes, ignore=-100 if len(t_shape) else None)
    w = rand(n_classes, low=0.1, high=2) if weighted else None

    def fn(lib, x, t):
        wt = None if w is None else _const(lib, w, x)
        return F(lib).cross_entropy(x, t, wt, reduction=reduction, label_smoothing=label_smoothing)
    check_op(fn, rand(*x_shape, low=-3, high=3), t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3, 1.0])
def test_cross_entropy_ignore_index_that_is_a_class(reduction, weighted, label_smoothing):
    t = np.array([0, 2, 1, 2, 4, 3], np.int64)
    w = rand(5, low=0.1, high=2) if weighted else None

    def fn(lib, x, t):
        wt = None if w is None else lib.tensor(w)
        return F(lib).cross_entropy(x, t, wt, ignore_index=2, reduction=reduction, label_smoothing=label_smoothing)
    check_op(fn, rand(6, 5, low=-3, high=3), t, gradcheck=False)
    check_op(lambda lib, x, t: F(lib).nll_loss(x, t, ignore_index=2, reduction=reduction), rand(6, 5), t,
             gradcheck=False)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_all_ignored(label_smoothing):
    t = np.full(4, -100, np.int64)
    out = check_op(lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=label_smoothing), rand(4, 3), t,
                   gradcheck=False)
    assert np.isnan(out.item())   # 0 / 0, as in torch; the gradient is 0
    check_op(lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="sum", label_smoothing=label_smoothing),
             rand(4, 3), t)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_stable_for_logits_at_1e4(weighted, label_smoothing):
    x = rand(4, 6, low=-1, high=1) * 1e4
    x[1] = 1e4           # a row of ties at the top
    x[2, 3] = -1e4
    t = np.array([0, 1, 3, 5], np.int64)
    w = rand(6, low=0.1, high=2) if weighted else None

    def fn(lib, x, t):
        wt = None if w is None else _const(lib, w, x)
        return F(lib).cross_entropy(x, t, wt, label_smoothing=label_smoothing, reduction="none")
    out = check_op(fn, x, t, rtol=1e-6, atol=1e-2, gradcheck=False)
    xl = lamina.tensor(x, requires_grad=True)
    loss = LF.cross_entropy(xl, lamina.tensor(t), label_smoothing=label_smoothing)
    loss.backward()
    assert np.all(np.isfinite(out.detach().numpy())) and np.isfinite(loss.item())
    assert np.all(np.isfinite(xl.grad.numpy()))


@pytest.mark.parametrize("shift", [0.0, 40.0, -40.0, 50.0, -50.0, 1e16])
def test_cross_entropy_invariant_to_a_shift_of_the_logits(shift):
    x, t = rand(5, 7, dtype=F64), _labels(5, 7)
    ref = check_op(lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"), x, t, gradcheck=False)
    shifted = LF.cross_entropy(lamina.tensor(x + shift), lamina.tensor(t), reduction="none")
    if shift != 1e16:
        np.testing.assert_allclose(shifted.numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(shifted.numpy()))


@pytest.mark.parametrize("shift", [40.0, -40.0])
def test_cross_entropy_float32_large_offsets(shift):
    # logits near +-40 take the unshifted exp path, beyond it the max-shifted one; both match torch
    check_op(lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none", label_smoothing=0.1),
             rand(6, 5, low=-2, high=2) + np.float32(shift), _labels(6, 5), gradcheck=False)


def test_cross_entropy_threaded_rows_match_single_thread(monkeypatch):
    import lamina.ops._loss_util as util
    x, t = rand(1100, 1000, low=-3, high=3), _labels(1100, 1000, ignore=-100)    # over the threading threshold
    results = []
    for threads in (1, 3):
        monkeypatch.setattr(util, "_THREADS", threads)
        xl = lamina.tensor(x, requires_grad=True)
        loss = LF.cross_entropy(xl, lamina.tensor(t), label_smoothing=0.1)
        loss.backward()
        results.append((loss.item(), xl.grad.numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_cross_entropy_float64_noncontiguous_uint8_target():
    check_op(lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.1), rand(4, 5, dtype=F64), _labels(4, 5))
    check_op(lambda lib, x, t: F(lib).cross_entropy(x, t), rand(4, 5), _labels(4, 5).astype(np.uint8))
    _same_result_noncontig(lambda x, t: LF.cross_entropy(x, t, label_smoothing=0.2), rand(6, 5), _labels(6, 5))
    _same_result_noncontig(lambda x, t: LF.nll_loss(x, t), rand(6, 5), _labels(6, 5))
    # an int32 target is accepted (torch insists on int64 or uint8)
    x = rand(4, 5)
    a = LF.cross_entropy(lamina.tensor(x), lamina.tensor(_labels(4, 5).astype(np.int32)))
    b = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(_labels(4, 5)))
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)


def test_cross_entropy_leaves_inputs_unchanged():
    x, t = rand(8, 5), _labels(8, 5, ignore=-100)
    xl, tl = lamina.tensor(x, requires_grad=True), lamina.tensor(t)
    for ls in (0.0, 0.3):
        LF.cross_entropy(xl, tl, label_smoothing=ls).backward()
    np.testing.assert_array_equal(xl.detach().numpy(), x)
    np.testing.assert_array_equal(tl.numpy(), t)


def test_cross_entropy_retain_graph_backward_twice():
    xl = lamina.tensor(rand(3, 4), requires_grad=True)
    loss = LF.cross_entropy(xl, lamina.tensor(_labels(3, 4)))
    loss.backward(retain_graph=True)
    first = xl.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(xl.grad.numpy(), 2 * first, rtol=1e-6)


# ---- cross_entropy with class probabilities ----------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(6, 5), (2, 5, 3), (5,), (0, 5)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_probabilities(x_shape, reduction, weighted, label_smoothing):
    class_axis = 0 if len(x_shape) == 1 else 1
    n_classes = x_shape[class_axis]
    inputs = [rand(*x_shape, low=-3, high=3), _probs(x_shape, class_axis)]
    if weighted:  # torch composes this mode, so the weight gets a gradient as well
        inputs.append(rand(n_classes, low=0.1, high=2))
    # an empty batch's mean is nan whatever the weight: finite differences of it are nan, so skip gradcheck
    check_op(lambda lib, x, t, *w: F(lib).cross_entropy(x, t, *w, reduction=reduction,
                                                         label_smoothing=label_smoothing), *inputs,
             gradcheck=not (x_shape[0] == 0 and reduction == "mean"))


def test_cross_entropy_probabilities_dtypes():
    check_op(lambda lib, x, t: F(lib).cross_entropy(x, t), rand(3, 4), _probs((3, 4), 1).astype(F64))
    x = rand(4, 5, low=-1, high=1) * 1e4
    out = check_op(lambda lib, x, t: F(lib).cross_entropy(x, t), x, _probs((4, 5), 1), rtol=1e-5, gradcheck=False)
    assert np.isfinite(out.item())


# ---- bad input ---------------------------------------------------------------------------------------------

def _t(a):
    return lamina.tensor(a)


X, Y = _t(rand(3, 5)), _t(np.array([1, 2, 3]))


@pytest.mark.parametrize("call", [
    lambda r: LF.cross_entropy(X, Y, reduction=r), lambda r: LF.nll_loss(X, Y, reduction=r),
    lambda r: LF.mse_loss(X, X, reduction=r), lambda r: LF.l1_loss(X, X, reduction=r),
    lambda r: LF.smooth_l1_loss(X, X, reduction=r), lambda r: LF.huber_loss(X, X, reduction=r),
    lambda r: LF.binary_cross_entropy(X.sigmoid(), X.sigmoid(), reduction=r),
    lambda r: LF.binary_cross_entropy_with_logits(X, X, reduction=r), lambda r: LF.kl_div(X, X, reduction=r),
])
def test_unknown_reduction(call):
    msg = check_error(lambda: call("avg"), ArgumentError, "argument 'reduction'", "'none', 'mean', 'sum'", "'avg'")
    assert msg.split("(")[0] in ("cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                 "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div")
    check_error(lambda: LF.kl_div(X, X, reduction="batch"), ArgumentError, "'batchmean'")
    check_error(lambda: LF.mse_loss(X, X, reduction="batchmean"), ArgumentError, "'batchmean'")


def test_class_index_errors():
    check_error(lambda: LF.cross_entropy(X, _t(np.array([1, 7, 2]))), IndexError_,
                "cross_entropy(): target 7 is out of bounds for 5 classes")
    check_error(lambda: LF.nll_loss(X, _t(np.array([1, -1, 2]))), IndexError_,
                "nll_loss(): target -1 is out of bounds for 5 classes")
    check_error(lambda: LF.cross_entropy(_t(rand(2, 5, 3)), _t(np.full((2, 3), 5))), IndexError_, "target 5")
    check_error(lambda: LF.cross_entropy(_t(rand(5)), _t(np.array(9))), IndexError_, "target 9")
    # ignore_index entries are exempt from the range check, even out of range
    LF.cross_entropy(X, _t(np.array([1, 7, 2])), ignore_index=7)
    LF.cross_entropy(X, _t(np.array([1, -100, 2])))


def test_shape_and_dtype_errors():
    check_error(lambda: LF.cross_entropy(X, _t(np.array([1, 2]))), ShapeError, "cross_entropy()", "(2,)", "(3, 5)",
                "(3,)")
    check_error(lambda: LF.nll_loss(_t(rand(2, 5, 3)), _t(np.zeros((2, 4), np.int64))), ShapeError, "(2, 4)",
                "(2, 5, 3)", "(2, 3)")
    check_error(lambda: LF.cross_entropy(_t(rand(5)), _t(np.array([1, 2, 3]))), ShapeError, "(3,)", "(5,)")
    check_error(lambda: LF.cross_entropy(_t(np.float32(1.0)), _t(np.array(0))), ShapeError, "1 or more dimensions")
    check_error(lambda: LF.cross_entropy(X, _t(np.array([1.0, 2.0, 3.0]))), DTypeError, "cross_entropy()",
                "integer class indices", "float")
    check_error(lambda: LF.cross_entropy(X, _t(np.zeros((3, 5), np.int64))), DTypeError, "class probabilities",
                "int64")
    check_error(lambda: LF.cross_entropy(_t(np.zeros((3, 5), np.int64)), Y), DTypeError, "floating point input")
    check_error(lambda: LF.nll_loss(X, _t(np.array([True, False, True]))), DTypeError, "integer class indices")
    check_error(lambda: LF.cross_entropy(X, Y, weight=_t(rand(4))), ShapeError, "'weight'", "5 elements", "(4,)")
    check_error(lambda: LF.nll_loss(X, Y, weight=_t(rand(5, 1))), ShapeError, "'weight'", "(5, 1)")
    check_error(lambda: LF.cross_entropy(X, _t(_probs((3, 5), 1)), weight=_t(rand(3))), ShapeError, "'weight'")
    check_error(lambda: LF.cross_entropy(X, _t(_probs((3, 5), 1)), ignore_index=1), ArgumentError, "ignore_index")
    check_error(lambda: LF.mse_loss(X, _t(rand(3, 4))), ShapeError, "mse_loss()", "(3, 5)", "(3, 4)")
    check_error(lambda: LF.kl_div(X, _t(rand(2, 5))), ShapeError, "kl_div()", "(3, 5)", "(2, 5)")
    check_error(lambda: LF.mse_loss(X, X, weight=_t(rand(5))), ShapeError, "'weight'", "(3, 5)", "(5,)")
    check_error(lambda: LF.l1_loss(_t(np.ones(3, np.int64)), _t(np.ones(3, np.int64))), DTypeError, "l1_loss()",
                "int64")
    check_error(lambda: LF.binary_cross_entropy(_t(rand(3, 2, low=0, high=1)), _t(rand(3, 1, low=0, high=1))),
                ShapeError, "binary_cross_entropy()", "(3, 1)", "(3, 2)")
    check_error(lambda: LF.binary_cross_entropy_with_logits(X, _t(rand(5))), ShapeError, "(5,)", "(3, 5)")
    check_error(lambda: LF.binary_cross_entropy_with_logits(X, X, pos_weight=_t(rand(3))), ShapeError,
                "'pos_weight'", "(3,)", "(3, 5)")
    check_error(lambda: LF.binary_cross_entropy(X.sigmoid(), X.sigmoid(), weight=_t(rand(4, 3, 5))), ShapeError,
                "'weight'", "(4, 3, 5)")


def test_argument_value_errors():
    check_error(lambda: LF.cross_entropy(X, Y, label_smoothing=1.5), ArgumentError, "'label_smoothing'",
                "between 0.0 and 1.0", "1.5")
    check_error(lambda: LF.cross_entropy(X, Y, label_smoothing=-0.1), ArgumentError, "'label_smoothing'", "-0.1")
    check_error(lambda: LF.smooth_l1_loss(X, X, beta=-1.0), ArgumentError, "'beta'", "-1.0")
    check_error(lambda: LF.huber_loss(X, X, delta=0.0), ArgumentError, "'delta'", "positive", "0.0")
    p = rand(3, low=0, high=1)
    check_error(lambda: LF.binary_cross_entropy(_t(p + 1.5), _t(p)), ArgumentError, "binary_cross_entropy()",
                "input", "between 0 and 1")
    check_error(lambda: LF.binary_cross_entropy(_t(np.array([np.nan, 0.5], np.float32)), _t(p[:2])), ArgumentError,
                "input")
    check_error(lambda: LF.binary_cross_entropy(_t(p), _t(p - 2)), ArgumentError, "target", "between 0 and 1")


def test_weight_that_requires_grad_is_refused_where_torch_refuses_it():
    w = lamina.tensor(rand(5, low=0.1, high=1), requires_grad=True)
    check_error(lambda: LF.cross_entropy(X, Y, weight=w), AutogradError, "cross_entropy()", "'weight'")
    check_error(lambda: LF.nll_loss(X, Y, weight=w), AutogradError, "nll_loss()", "'weight'")
    p = X.sigmoid()
    check_error(lambda: LF.binary_cross_entropy(p, p, weight=w), AutogradError, "'weight'")
    check_error(lambda: LF.binary_cross_entropy_with_logits(X, p, pos_weight=w), AutogradError, "'pos_weight'")
    with lamina.no_grad():
        LF.cross_entropy(X, Y, weight=w)
    LF.cross_entropy(X, Y, weight=w.detach())


# ---- margin and embedding losses ---------------------------------------------------------------------------

def _signs(*shape, seed=1, dtype=np.float32):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1, 1).astype(dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((5,), (5,), (5,)), ((3, 1), (3, 4), (1, 4)), ((), (), ()), ((0,), (0,), (0,))])
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss(reduction, shapes, margin):
    s1, s2, st = shapes
    check_op(lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, margin=margin, reduction=reduction),
             rand(*s1), rand(*s2), _signs(*st))
    check_op(lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, margin=margin, reduction=reduction),
             rand(*s1), rand(*s2), _signs(*st, dtype=np.int64))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3])
@pytest.mark.parametrize("shapes", [((4, 3), (4, 3)), ((4, 3), (3,)), ((), ()), ((0, 2), (0, 2))])
def test_hinge_embedding_loss(reduction, margin, shapes):
    y = _signs(*shapes[1], dtype=np.int64)
    if y.ndim == 2 and y.size:
        y[0, 0] = 0          # neither 1 nor -1: torch adds both terms
    check_op(lambda lib, x, y: F(lib).hinge_embedding_loss(x, y, margin=margin, reduction=reduction),
             rand(*shapes[0], low=-1.5, high=2), y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((4, 3), (4, 3)), ((4, 3), (3,)), ((), ()), ((0,), (0,))])
def test_soft_margin_loss(reduction, shapes):
    y = _signs(*shapes[1])     # torch refuses a gradient for the target: pass it as a constant
    check_op(lambda lib, x: F(lib).soft_margin_loss(x, _const(lib, y, x), reduction=reduction),
             rand(*shapes[0], low=-3, high=3))
    check_op(lambda lib, x, y: F(lib).soft_margin_loss(x, y, reduction=reduction), rand(*shapes[0], low=-3, high=3),
             _signs(*shapes[1], dtype=np.int64))


def test_soft_margin_loss_is_finite_where_torch_overflows():
    x, y = lamina.tensor([100.0, -100.0, 400.0], requires_grad=True), lamina.tensor([-1.0, 1.0, -1.0])
    out = LF.soft_margin_loss(x, y, reduction="none")
    np.testing.assert_allclose(out.detach().numpy(), [100.0, 100.0, 400.0])    # torch: inf, inf, inf
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 1.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.5])
@pytest.mark.parametrize("shapes", [((5, 4), (5, 4), (5,)), ((5, 4), (1, 4), (5,)), ((4,), (4,), ()),
                                    ((0, 3), (0, 3), (0,))])
def test_cosine_embedding_loss(reduction, margin, shapes):
    s1, s2, st = shapes
    check_op(lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
             rand(*s1), rand(*s2), _signs(*st, dtype=np.int64))


def test_margin_losses_float64():
    check_op(lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, margin=0.1), rand(3, 4, dtype=F64),
             rand(3, 4, dtype=F64), _signs(3, dtype=np.int64))
    check_op(lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y), rand(3, dtype=F64), rand(3, dtype=F64),
             _signs(3, dtype=F64))
    y = _signs(3, 4, dtype=F64)
    check_op(lambda lib, x: F(lib).soft_margin_loss(x, _const(lib, y, x)), rand(3, 4, dtype=F64))
    check_error(lambda: LF.soft_margin_loss(_t(rand(3)), lamina.tensor(rand(3), requires_grad=True)), AutogradError,
                "soft_margin_loss()", "'target'")


# ---- Poisson and Gaussian negative log-likelihood ----------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shapes", [((4, 3), (4, 3)), ((4, 3), (3,)), ((), ())])
def test_poisson_nll_loss(reduction, log_input, full, shapes):
    x = rand(*shapes[0], low=-1, high=1.5) if log_input else rand(*shapes[0], low=0.2, high=3)
    t = rand(*shapes[1], low=0, high=4)
    check_op(lambda lib, x, t: F(lib).poisson_nll_loss(x, t, log_input=log_input, full=full, reduction=reduction),
             x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), (1, 3), "float"])
def test_gaussian_nll_loss(reduction, full, var_shape):
    x, t = rand(4, 3), rand(4, 3)
    if var_shape == "float":
        check_op(lambda lib, x, t: F(lib).gaussian_nll_loss(x, t, 0.7, full=full, reduction=reduction), x, t)
        return
    var = rand(*var_shape, low=0.1, high=2)
    var.reshape(-1)[0] = 1e-8      # below eps: clamped, and its gradient still flows as in torch
    check_op(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=full, reduction=reduction), x, t, var,
             gradcheck=False)
    var.reshape(-1)[0] = 0.5
    check_op(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=full, reduction=reduction), x, t, var)


def test_gaussian_and_poisson_float64_and_broadcast():
    check_op(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, eps=1e-3), rand(2, 3, dtype=F64),
             rand(3, dtype=F64), rand(2, 3, dtype=F64, low=0.1, high=1))
    check_op(lambda lib, x, t: F(lib).poisson_nll_loss(x, t, full=True), rand(2, 3, dtype=F64),
             rand(2, 3, dtype=F64, low=0, high=5))


def test_extra_loss_errors():
    a = _t(rand(3, 4))
    check_error(lambda: LF.margin_ranking_loss(_t(rand(3)), _t(rand(3)), _t(rand(3, 1))), ShapeError,
                "margin_ranking_loss()", "same number of dims", "(3, 1)")
    check_error(lambda: LF.margin_ranking_loss(_t(rand(3)), _t(rand(4)), _t(rand(3))), ShapeError, "(3,)", "(4,)")
    check_error(lambda: LF.cosine_embedding_loss(a, a, _t(rand(3, 1))), ShapeError, "cosine_embedding_loss()",
                "0-d or 1-d target", "(3, 1)")
    check_error(lambda: LF.cosine_embedding_loss(_t(rand(4)), _t(rand(4)), _t(rand(1))), ShapeError,
                "1-d target expects 2-d inputs", "(4,)")
    check_error(lambda: LF.cosine_embedding_loss(a, a, _t(rand(2))), ShapeError, "target shape (2,)", "(3, 4)")
    check_error(lambda: LF.hinge_embedding_loss(_t(np.ones(3, np.int64)), _t(rand(3))), DTypeError,
                "hinge_embedding_loss()", "floating point input")
    check_error(lambda: LF.gaussian_nll_loss(a, a, _t(-rand(3, 4, low=0.1, high=1))), ArgumentError,
                "gaussian_nll_loss()", "'var'", "negative")
    check_error(lambda: LF.gaussian_nll_loss(a, a, -1.0), ArgumentError, "'var'", "-1.0")
    check_error(lambda: LF.gaussian_nll_loss(a, a, _t(rand(4, low=0.1, high=1))), ShapeError, "'var'", "(4,)",
                "(3, 4)")
    for call in (lambda r: LF.margin_ranking_loss(a, a, a, reduction=r),
                 lambda r: LF.hinge_embedding_loss(a, a, reduction=r),
                 lambda r: LF.soft_margin_loss(a, a, reduction=r),
                 lambda r: LF.cosine_embedding_loss(a, a, _t(rand(3)), reduction=r),
                 lambda r: LF.poisson_nll_loss(a, a, reduction=r),
                 lambda r: LF.gaussian_nll_loss(a, a, a.abs(), reduction=r)):
        check_error(lambda: call("avg"), ArgumentError, "argument 'reduction'", "'avg'")


def test_functional_exports():
    names = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
             "binary_cross_entropy_with_logits", "kl_div", "margin_ranking_loss", "hinge_embedding_loss",
             "soft_margin_loss", "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss"]
    for name in names:
        assert callable(getattr(LF, name)) and getattr(lamina.ops, name) is getattr(LF, name)

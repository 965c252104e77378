"""Reductions against torch: forward, backward, gradcheck, edge cases and typed errors."""
import math

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError, DimError, DTypeError
from tests.helpers import check_error, check_op, rand

INF = math.inf
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=np.float32)
ZEROS = np.array([[0.0, 2.0, 3.0, 0.5], [0.0, 0.0, 4.0, 1.0], [1.5, 2.0, 3.0, -1.0]], dtype=np.float32)
INTS = np.arange(12, dtype=np.int64).reshape(3, 4) - 5


# ---- sum, mean, var, std ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,kwargs", [
    ((3, 4), {}),
    ((3, 4), dict(dim=1)),
    ((3, 4), dict(dim=-1, keepdim=True)),
    ((2, 3, 4), dict(dim=(0, 2))),
    ((2, 3, 4), dict(dim=(-1, 0), keepdim=True)),
    ((2, 3, 4), dict(dim=())),
    ((2, 3), dict(dim=[1])),
    ((), {}),
    ((), dict(dim=0)),
    ((), dict(dim=-1, keepdim=True)),
    ((0,), {}),
    ((1, 0, 3), dict(dim=1)),
    ((1, 0, 3), dict(dim=2, keepdim=True)),
])
def test_sum(shape, kwargs):
    check_op(lambda L, x: L.sum(x, **kwargs), rand(*shape))


@pytest.mark.parametrize("x", [INTS, INTS.astype(np.int32), INTS > 0, INTS.astype(np.uint8)], ids=str)
def test_sum_int_and_bool_give_int64(x):
    check_op(lambda L, x: L.sum(x), x)
    check_op(lambda L, x: L.sum(x, 0, keepdim=True), x)


@pytest.mark.parametrize("src,dst", [(np.float32, "float64"), (np.int64, "float32"), (np.float64, "float32"),
                                     (np.float32, "int32")])
def test_sum_dtype(src, dst):
    x = rand(3, 4, dtype=src, low=-5, high=5)
    # torch refuses autograd into an integer dtype, so that case runs without requires_grad
    check_op(lambda L, x: L.sum(x, 1, dtype=getattr(L, dst)), x, gradcheck=False, grad=dst != "int32")


def test_sum_half_accumulates():
    x = np.full(4096, 0.1, dtype=np.float16)
    check_op(lambda L, x: L.sum(x), x, grad=False, rtol=1e-3)


def test_sum_method_and_float64():
    check_op(lambda L, x: x.sum(dim=0), rand(4, 5, dtype=np.float64))


@pytest.mark.parametrize("shape,kwargs", [
    ((3, 4), {}),
    ((3, 4), dict(dim=0)),
    ((2, 3, 4), dict(dim=(0, -1), keepdim=True)),
    ((), {}),
    ((5,), dict(dim=-1)),
])
def test_mean(shape, kwargs):
    check_op(lambda L, x: L.mean(x, **kwargs), rand(*shape))


def test_mean_empty_is_nan():
    check_op(lambda L, x: L.mean(x), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: L.mean(x, 0), rand(0, 3), gradcheck=False)


def test_mean_int_with_dtype():
    check_op(lambda L, x: L.mean(x, dtype=L.float64), INTS)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("args,kwargs", [
    ((), {}),
    ((1,), {}),
    ((0,), dict(keepdim=True)),
    (((0, 1),), {}),
    ((-1,), dict(correction=0)),
    ((1,), dict(correction=2, keepdim=True)),
    ((None,), dict(correction=1.5)),
    ((False,), {}),
    ((1, False), {}),
    ((1, True, True), {}),
    ((), dict(unbiased=False)),
    ((), dict(dim=1, unbiased=True, keepdim=True)),
])
def test_var_std(op, args, kwargs):
    check_op(lambda L, x: getattr(L, op)(x, *args, **kwargs), rand(3, 5))


@pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")      # torch warns, lamina returns nan
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_edges(op):
    check_op(lambda L, x: getattr(L, op)(x, 1), np.ones((2, 3), np.float32), gradcheck=False)  # std' = 0 at 0
    check_op(lambda L, x: getattr(L, op)(x), rand(1), gradcheck=False)                         # dof 0 -> nan
    check_op(lambda L, x: getattr(L, op)(x, 0), rand(0, 3), gradcheck=False)                   # empty -> nan
    check_op(lambda L, x: getattr(L, op)(x), rand(), gradcheck=False)
    check_op(lambda L, x: getattr(L, op)(x, 1), rand(4, 6, dtype=np.float64) * 1e4)


@pytest.mark.parametrize("op", ["var_mean", "std_mean"])
def test_var_mean(op):
    check_op(lambda L, x: getattr(L, op)(x, 1, keepdim=True), rand(3, 4))
    check_op(lambda L, x: getattr(L, op)(x, correction=0), rand(3, 4))


# ---- max, min, amax, amin, argmax, argmin ---------------------------------------------------------------

@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("x", [TIES, -TIES, rand(3, 4), rand(), rand(5, dtype=np.float64)], ids=lambda x: str(x.shape))
def test_max_min_all_splits_ties(op, x):
    check_op(lambda L, x: getattr(L, op)(x), x)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("args", [(1,), (0,), (-1, True), (0, False)])
def test_max_min_dim_routes_to_index(op, args):
    out = check_op(lambda L, x: getattr(L, op)(x, *args), TIES, gradcheck=False)
    assert type(out).__name__ == op and out.values is out[0] and out.indices is out[1]
    check_op(lambda L, x: getattr(L, op)(x, *args), rand(3, 4, 2) if len(args) == 1 else rand(3, 4))


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_forms(op):
    check_op(lambda L, x: getattr(L, op)(x, dim=1, keepdim=True), rand(2, 3))
    check_op(lambda L, x: getattr(L, op)(x, 0), rand())                       # 0-d with dim 0
    check_op(lambda L, x: getattr(L, op)(x, 1), rand(0, 3), gradcheck=False)  # reduce a non-empty dim of empty
    check_op(lambda L, x: getattr(L, op)(x), INTS)
    check_op(lambda L, x: getattr(L, op)(x, 1), INTS > 2)
    check_op(lambda L, x: getattr(L, op)(x), np.array([1.0, np.nan, 3.0], np.float32), gradcheck=False)
    check_op(lambda L, x: getattr(L, op)(x, 0), np.array([1.0, np.nan, 3.0], np.float32), gradcheck=False)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_tensor_other_is_elementwise(op):
    check_op(lambda L, x, y: getattr(L, op)(x, y), rand(2, 3), rand(3), gradcheck=False)


@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("kwargs", [{}, dict(dim=1), dict(dim=(0, 1), keepdim=True), dict(dim=-1, keepdim=True),
                                    dict(dim=0)])
def test_amax_amin_split_ties(op, kwargs):
    check_op(lambda L, x: getattr(L, op)(x, **kwargs), TIES, gradcheck=False)
    check_op(lambda L, x: getattr(L, op)(x, **kwargs), rand(3, 4))


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_edges(op):
    check_op(lambda L, x: getattr(L, op)(x, 1), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: getattr(L, op)(x), rand())
    check_op(lambda L, x: getattr(L, op)(x, (0, 2)), rand(2, 3, 4))
    check_op(lambda L, x: getattr(L, op)(x), INTS)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("kwargs", [{}, dict(keepdim=True), dict(dim=1), dict(dim=-2, keepdim=True), dict(dim=0)])
def test_argmax_argmin(op, kwargs):
    check_op(lambda L, x: getattr(L, op)(x, **kwargs), rand(3, 4))
    check_op(lambda L, x: getattr(L, op)(x, **kwargs), TIES)
    check_op(lambda L, x: getattr(L, op)(x, **kwargs), INTS)


def test_argmax_scalar_and_nan():
    check_op(lambda L, x: L.argmax(x, 0), rand())
    check_op(lambda L, x: L.argmax(x), rand())
    check_op(lambda L, x: L.argmin(x), np.array([1.0, np.nan, -3.0], np.float32))


# ---- prod, logsumexp --------------------------------------------------------------------------------------

@pytest.mark.parametrize("x", [rand(3, 4, low=0.5, high=1.5), ZEROS, np.zeros((2, 3), np.float32)],
                         ids=["random", "zeros", "all-zero"])
@pytest.mark.parametrize("args", [(), (1,), (0, True), (-1,)])
def test_prod_gradient_with_zeros(x, args):
    check_op(lambda L, x: L.prod(x, *args), x)


def test_prod_forms():
    check_op(lambda L, x: L.prod(x), INTS)
    check_op(lambda L, x: L.prod(x, 0), INTS.astype(np.int32))
    check_op(lambda L, x: L.prod(x), INTS > 0)
    check_op(lambda L, x: L.prod(x, 1, dtype=L.float64), rand(2, 3))
    check_op(lambda L, x: L.prod(x), rand())
    check_op(lambda L, x: L.prod(x, 0), rand())
    check_op(lambda L, x: L.prod(x, 0), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: L.prod(x), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: x.prod(dim=1, keepdim=True), ZEROS.astype(np.float64))


@pytest.mark.parametrize("args", [(1,), (0, True), ((0, 1),), (-1,), ((),)])
def test_logsumexp(args):
    check_op(lambda L, x: L.logsumexp(x, *args), rand(3, 4),
             torch_fn=None if args != ((),) else lambda T, x: T.logsumexp(x, (0, 1)))


def test_logsumexp_stable():
    big = rand(3, 4, low=-1e4, high=1e4)
    out = check_op(lambda L, x: L.logsumexp(x, 1), big, gradcheck=False)
    assert np.isfinite(out.detach().numpy()).all()
    shifted = rand(2, 5)
    a = lamina.logsumexp(lamina.tensor(shifted + np.float32(1e4)), 1).numpy()
    b = lamina.logsumexp(lamina.tensor(shifted), 1).numpy() + np.float32(1e4)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    check_op(lambda L, x: L.logsumexp(x, 1), np.array([[-INF, -INF], [0.0, -INF]], np.float32), gradcheck=False)
    check_op(lambda L, x: L.logsumexp(x, 1), np.array([[INF, 1.0]], np.float32), grad=False)


def test_logsumexp_int_and_empty():
    check_op(lambda L, x: L.logsumexp(x, 1), INTS)
    check_op(lambda L, x: L.logsumexp(x, 0), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: L.logsumexp(x, 0), rand())


# ---- norms ------------------------------------------------------------------------------------------------

P_VALUES = ["fro", 2, 1, 0, 3, 0.5, -1, INF, -INF]


@pytest.mark.parametrize("p", P_VALUES, ids=str)
@pytest.mark.parametrize("x", [rand(3, 4), ZEROS, np.zeros((2, 3), np.float32)], ids=["random", "zeros", "origin"])
def test_norm_all(p, x):
    check_op(lambda L, x: L.norm(x, p), x, gradcheck=not (x is ZEROS and p in (0.5, -1)))


@pytest.mark.parametrize("p", P_VALUES, ids=str)
@pytest.mark.parametrize("kwargs", [dict(dim=1), dict(dim=0, keepdim=True), dict(dim=(0, 1)), dict(dim=-1)])
def test_norm_dims(p, kwargs):
    check_op(lambda L, x: L.norm(x, p, **kwargs), rand(3, 4))


def test_norm_forms():
    check_op(lambda L, x: L.norm(x), rand(2, 3, 4))
    check_op(lambda L, x: x.norm(), rand())
    check_op(lambda L, x: L.norm(x, dtype=L.float64), rand(3, 4))
    check_op(lambda L, x: L.norm(x, p=2, dim=1), rand(3, 4, dtype=np.float64) * 1e4)
    check_op(lambda L, x: L.norm(x, INF, dim=1), TIES, gradcheck=False)
    check_op(lambda L, x: L.norm(x, 2), rand(0, 3), gradcheck=False)


@pytest.mark.parametrize("args", [(), (None, False), ((0, 1), True), ((-1, 0), False)])
def test_norm_nuclear(args):
    check_op(lambda L, x: L.norm(x, "nuc", *args), rand(3, 4), grad_atol=1e-3)


def test_norm_nuclear_batched():
    check_op(lambda L, x: L.norm(x, "nuc", (2, 0)), rand(3, 2, 4))
    check_op(lambda L, x: L.norm(x, "nuc", (0, 2), True), rand(3, 2, 4))


@pytest.mark.parametrize("kwargs", [{}, dict(ord=1), dict(ord=INF, dim=1), dict(ord=3, dim=(0, 1), keepdim=True),
                                    dict(ord=0), dict(dtype="float64")])
def test_vector_norm(kwargs):
    def fn(L, x):
        kw = dict(kwargs)
        if "dtype" in kw:
            kw["dtype"] = getattr(L, kw["dtype"])
        return L.linalg.vector_norm(x, **kw)
    check_op(fn, rand(3, 4))


# ---- cumulative -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2), ((), 0), ((0, 3), 1), ((5,), 0)])
def test_cumulative(op, shape, dim):
    check_op(lambda L, x: getattr(L, op)(x, dim), rand(*shape))


@pytest.mark.parametrize("x", [ZEROS, np.array([[0.0, 2.0, 0.0, 3.0], [1.0, 0.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0]])],
                         ids=["one-zero", "several-zeros"])
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_with_zeros(x, dim):
    check_op(lambda L, x: L.cumprod(x, dim), x)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumulative_dtypes(op):
    check_op(lambda L, x: getattr(L, op)(x, 1), INTS.astype(np.int32))
    check_op(lambda L, x: getattr(L, op)(x, 0), INTS > 0)
    check_op(lambda L, x: getattr(L, op)(x, 1, dtype=L.float64), rand(2, 3))
    check_op(lambda L, x: getattr(L, op)(x, 1, dtype=L.float32), INTS)
    check_op(lambda L, x: getattr(x, op)(dim=-1), rand(2, 3, dtype=np.float64))


# ---- all, any, count_nonzero, median ----------------------------------------------------------------------

@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("x", [ZEROS, INTS, INTS > 0, INTS.astype(np.uint8), rand(0, 3), rand()],
                         ids=["float", "int", "bool", "uint8", "empty", "scalar"])
def test_all_any(op, x):
    check_op(lambda L, x: getattr(L, op)(x), x)
    if x.ndim:
        check_op(lambda L, x: getattr(L, op)(x, 0), x)
        check_op(lambda L, x: getattr(L, op)(x, -1, True), x)


def test_all_any_tuple_dim():
    check_op(lambda L, x: L.all(x, (0, 1)), ZEROS)
    check_op(lambda L, x: L.any(x, dim=(0, 2), keepdim=True), rand(2, 3, 4) > 0.5)


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
def test_count_nonzero(dim):
    check_op(lambda L, x: L.count_nonzero(x, dim), ZEROS)
    check_op(lambda L, x: L.count_nonzero(x, dim), INTS)


@pytest.mark.parametrize("x", [TIES, rand(3, 4), rand(5, 3, dtype=np.float64), rand()], ids=lambda x: str(x.shape))
def test_median(x):
    check_op(lambda L, x: L.median(x), x)
    # along a dim the gradient goes to one index: finite differences at ties split it, so no gradcheck there
    check_op(lambda L, x: L.median(x, 0), x, gradcheck=x is not TIES)
    check_op(lambda L, x: L.median(x, -1, True), x, gradcheck=x is not TIES)


def test_median_edges():
    check_op(lambda L, x: L.median(x), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: L.median(x, 1), rand(0, 3), gradcheck=False)
    check_op(lambda L, x: L.median(x), INTS)
    check_op(lambda L, x: L.median(x), np.array([1.0, np.nan, 2.0], np.float32), gradcheck=False)
    check_op(lambda L, x: L.median(x, 1), np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 2.0]], np.float32),
             gradcheck=False)
    assert type(lamina.median(lamina.tensor(TIES), 1)).__name__ == "median"


# ---- invariants -------------------------------------------------------------------------------------------

def _leaf(array):
    """A leaf tensor that keeps ``array``'s strides (lamina.tensor() would make it contiguous)."""
    return lamina.Tensor._make(array, array.dtype.kind == "f")


@pytest.mark.parametrize("name,fn", [
    ("sum", lambda L, x: L.sum(x, 0)),
    ("mean", lambda L, x: L.mean(x, 1, keepdim=True)),
    ("var", lambda L, x: L.var(x, 1)),
    ("max", lambda L, x: L.max(x, 0).values),
    ("amax", lambda L, x: L.amax(x, 1)),
    ("prod", lambda L, x: L.prod(x, 1)),
    ("logsumexp", lambda L, x: L.logsumexp(x, 0)),
    ("norm", lambda L, x: L.norm(x, 3, 1)),
    ("cumsum", lambda L, x: L.cumsum(x, 1)),
    ("cumprod", lambda L, x: L.cumprod(x, 0)),
    ("median", lambda L, x: L.median(x, 1).values),
])
def test_non_contiguous_input(name, fn):
    base = rand(5, 4)
    view = base.T                                    # (4, 5), Fortran-ordered
    x = _leaf(view)
    t = torch.tensor(base).T.requires_grad_()
    out, expected = fn(lamina, x), fn(torch, t)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rand(*expected.shape)
    out.backward(lamina.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(view, base.T)      # input unchanged


def test_inputs_unchanged():
    x = ZEROS.copy()
    t = lamina.tensor(x, requires_grad=True)
    for out in (lamina.prod(t, 1), lamina.cumprod(t, 0), lamina.norm(t, 0.5), lamina.var(t, 0), lamina.median(t)):
        out.sum().backward()
    np.testing.assert_array_equal(t.detach().numpy(), ZEROS)


# ---- errors -----------------------------------------------------------------------------------------------

def test_dim_errors():
    x = lamina.tensor(rand(2, 3))
    check_error(lambda: lamina.sum(x, 2), DimError, "sum()", "dim 2", "[-2, 1]")
    check_error(lambda: lamina.mean(x, (0, -3)), DimError, "mean()", "-3")
    check_error(lambda: lamina.max(x, 5), DimError, "max()", "5")
    check_error(lambda: lamina.cumsum(x, -3), DimError, "cumsum()", "-3")
    check_error(lambda: lamina.sum(lamina.tensor(1.0), 1), DimError, "sum()", "[-1, 0]")
    check_error(lambda: lamina.sum(x, (0, -2)), ArgumentError, "sum()", "dim 0 appears multiple times")
    check_error(lambda: lamina.amax(x, (1, 1)), ArgumentError, "amax()", "multiple times")
    check_error(lambda: lamina.sum(x, 1.5), ArgumentError, "sum()", "'dim'", "1.5")
    check_error(lambda: lamina.argmax(x, (0,)), ArgumentError, "argmax()", "'dim'", "(0,)")
    check_error(lambda: lamina.prod(x, (0, 1)), ArgumentError, "prod()", "'dim'")


def test_empty_reduction_errors():
    e = lamina.tensor(rand(0, 3))
    check_error(lambda: lamina.max(lamina.tensor(rand(0))), ArgumentError, "max()", "numel() == 0", "'dim'")
    check_error(lambda: lamina.min(e), ArgumentError, "min()", "numel() == 0")
    check_error(lambda: lamina.max(e, 0), DimError, "max()", "dim 0 to have non-zero size", "(0, 3)")
    check_error(lambda: lamina.amax(e, 0), DimError, "amax()", "dim 0")
    check_error(lambda: lamina.amin(e), DimError, "amin()", "dim 0")
    check_error(lambda: lamina.argmax(e), ArgumentError, "argmax()", "numel() == 0")
    check_error(lambda: lamina.median(e, 0), DimError, "median()", "non-zero size")
    check_error(lambda: lamina.norm(e, INF), ArgumentError, "norm()", "inf norm", "(0, 3)")
    check_error(lambda: lamina.linalg.vector_norm(e, -INF, 0), ArgumentError, "vector_norm()", "-inf")


def test_dtype_errors():
    i = lamina.tensor(INTS)
    check_error(lambda: lamina.mean(i), DTypeError, "mean()", "int64")
    check_error(lambda: lamina.mean(i, dtype=lamina.int32), DTypeError, "mean()", "int32")
    check_error(lambda: lamina.var(i), DTypeError, "var()", "floating point", "int64")
    check_error(lambda: lamina.std(i, 0), DTypeError, "std()", "int64")
    check_error(lambda: lamina.norm(i), DTypeError, "norm()", "floating point", "int64")
    check_error(lambda: lamina.norm(i, "nuc"), DTypeError, "norm()", "int64")
    check_error(lambda: lamina.sum(lamina.tensor(rand(2)), dtype="complex64"), DTypeError, "sum()", "dtype")


def test_argument_errors():
    x = lamina.tensor(rand(2, 3))
    check_error(lambda: lamina.var(x, 1, unbiased=True, correction=0), ArgumentError, "var()", "'unbiased'",
                "'correction'")
    check_error(lambda: lamina.std(x, correction="1"), ArgumentError, "std()", "'correction'", "'1'")
    check_error(lambda: lamina.norm(x, "abc"), ArgumentError, "norm()", "'p'", "'abc'")
    check_error(lambda: lamina.norm(x, "fro", (0, 1, 0)), ArgumentError, "norm()", "2-tuple")
    check_error(lambda: lamina.norm(lamina.tensor(rand(3)), "nuc"), ArgumentError, "norm()", "2-D", "(3,)")
    check_error(lambda: lamina.norm(x, "nuc", (1, -1)), ArgumentError, "norm()", "two different dims")
    check_error(lambda: lamina.linalg.vector_norm(x, "fro"), ArgumentError, "vector_norm()", "'ord'", "'fro'")
    check_error(lambda: lamina.max(x, keepdim=True), ArgumentError, "max()", "keepdim")
    check_error(lambda: lamina.sum([1.0, 2.0]), ArgumentError, "sum()", "Tensor", "list")


@pytest.mark.parametrize("fn", [
    lambda x: lamina.amax(x, 1),
    lambda x: lamina.std(x, 0),
    lambda x: lamina.logsumexp(x, 1),
    lambda x: lamina.norm(x, 3, 1),
    lambda x: lamina.cumprod(x, 1),
    lambda x: lamina.median(x),
], ids=["amax", "std", "logsumexp", "norm", "cumprod", "median"])
def test_in_place_change_of_saved_output_is_caught(fn):
    x = lamina.tensor(rand(3, 4), requires_grad=True)
    out = fn(x)
    with lamina.no_grad():
        out.mul_(2.0)
    check_error(lambda: out.sum().backward(), lamina.AutogradError, "modified by an in-place operation")


def test_in_place_change_of_returned_indices_is_caught():
    # max along a dim saves only its indices (as torch does), so changing the values in place is harmless
    x = lamina.tensor(rand(3, 4), requires_grad=True)
    values, indices = lamina.max(x, 1)
    indices.add_(1)
    check_error(lambda: values.sum().backward(), lamina.AutogradError, "modified by an in-place operation")

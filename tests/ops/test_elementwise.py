"""Elementwise operators against torch: forward, backward, gradcheck, promotion, stability and bad input."""
import numpy as np
import pytest
import torch

import lamina
from lamina.errors import DTypeError, ShapeError, ArgumentError
from tests.helpers import check_op, check_error, rand

BINARY = {
    "add": lambda lib, a, b: lib.add(a, b),
    "add_alpha": lambda lib, a, b: lib.add(a, b, alpha=2.5),
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: lib.pow(a.abs() + 0.5, b),
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "remainder": lambda lib, a, b: lib.remainder(a, b.abs() + 0.5),
    "fmod": lambda lib, a, b: lib.fmod(a, b.abs() + 0.5),
}

SHAPES = [((3,), (3,)), ((2, 1), (2,)), ((3, 1, 2), (1, 3, 2)), ((), (2, 3)), ((2, 3), ()), ((0,), (1,)),
          ((1, 0, 3), (3,))]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_against_torch(name, shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1])
    if name == "div":
        b = np.where(np.abs(b) < 0.2, 0.7, b).astype(np.float32)
    check_op(BINARY[name], a, b)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_float64_and_transposed(name):
    a = rand(3, 4, dtype=np.float64)
    b = rand(4, 3, dtype=np.float64) + 2.0
    check_op(lambda lib, x, y: BINARY[name](lib, x, y.t()), a, b)


@pytest.mark.parametrize("scalar", [2, 2.5, -1.5, True])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "rsub", "rdiv", "rpow"])
def test_python_scalars(op, scalar):
    if scalar is True and op in ("sub", "rsub"):
        for lib in (lamina, torch):
            with pytest.raises(RuntimeError):
                lib.ones(2) - True
        return
    fns = {"add": lambda lib, x: x + scalar, "sub": lambda lib, x: x - scalar, "mul": lambda lib, x: x * scalar,
           "div": lambda lib, x: x / scalar, "pow": lambda lib, x: x.abs() ** scalar,
           "rsub": lambda lib, x: scalar - x, "rdiv": lambda lib, x: scalar / (x.abs() + 1),
           "rpow": lambda lib, x: abs(scalar) ** x}
    check_op(fns[op], rand(2, 3))


@pytest.mark.parametrize("dtypes", [("int64", "float32"), ("int32", "int64"), ("bool", "int64"), ("bool", "float64"),
                                    ("float32", "float64"), ("int64", "float16")])
@pytest.mark.parametrize("zero_dim", [False, True])
def test_promotion_matches_torch(dtypes, zero_dim):
    a = rand(2, 3, dtype=dtypes[0], low=1, high=5)
    b = rand(*(() if zero_dim else (2, 3)), dtype=dtypes[1], low=1, high=5)
    for fn in (lambda lib, x, y: x + y, lambda lib, x, y: x * y, lambda lib, x, y: x / y,
               lambda lib, x, y: lib.maximum(x, y)):
        check_op(fn, a, b, grad=False)


@pytest.mark.parametrize("value", [1, 2.5, True])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float32", "float64"])
def test_scalar_promotion(dtype, value):
    a = rand(3, dtype=dtype, low=1, high=5)
    check_op(lambda lib, x: x + value, a, grad=False)
    check_op(lambda lib, x: x * value, a, grad=False)


def test_integer_division_modes():
    a = np.array([7, -7, 6, -1], dtype=np.int64)
    b = np.array([2, 2, -4, 3], dtype=np.int64)
    check_op(lambda lib, x, y: x / y, a, b)
    check_op(lambda lib, x, y: x // y, a, b)
    check_op(lambda lib, x, y: lib.div(x, y, rounding_mode="trunc"), a, b)
    check_op(lambda lib, x, y: x % y, a, b)
    af = rand(5) * 4
    check_op(lambda lib, x: lib.div(x, 0.7, rounding_mode="trunc"), af, gradcheck=False)
    check_op(lambda lib, x: x // 0.7, af, grad=False)


UNARY = {
    "neg": lambda lib, x: -x, "abs": lambda lib, x: x.abs(), "exp": lambda lib, x: x.exp(),
    "exp2": lambda lib, x: lib.exp2(x), "log": lambda lib, x: (x.abs() + 0.1).log(),
    "log2": lambda lib, x: (x.abs() + 0.1).log2(), "log10": lambda lib, x: (x.abs() + 0.1).log10(),
    "log1p": lambda lib, x: x.abs().log1p(), "expm1": lambda lib, x: x.expm1(),
    "sqrt": lambda lib, x: (x.abs() + 0.1).sqrt(), "rsqrt": lambda lib, x: (x.abs() + 0.1).rsqrt(),
    "square": lambda lib, x: x.square(), "reciprocal": lambda lib, x: (x.abs() + 0.5).reciprocal(),
    "sin": lambda lib, x: x.sin(), "cos": lambda lib, x: x.cos(), "tan": lambda lib, x: x.tan(),
    "asin": lambda lib, x: (x * 0.9).asin(), "acos": lambda lib, x: (x * 0.9).acos(),
    "atan": lambda lib, x: x.atan(), "sinh": lambda lib, x: x.sinh(), "cosh": lambda lib, x: x.cosh(),
    "tanh": lambda lib, x: x.tanh(), "sigmoid": lambda lib, x: x.sigmoid(), "erf": lambda lib, x: x.erf(),
    "sign": lambda lib, x: x.sign(), "floor": lambda lib, x: (x * 3).floor(), "ceil": lambda lib, x: (x * 3).ceil(),
    "round": lambda lib, x: (x * 3).round(), "trunc": lambda lib, x: (x * 3).trunc(),
    "frac": lambda lib, x: (x * 3).frac(), "round_decimals": lambda lib, x: (x * 3).round(decimals=2),
    "clamp": lambda lib, x: x.clamp(-0.5, 0.5), "clamp_min": lambda lib, x: x.clamp(min=0.1),
    "clamp_max": lambda lib, x: x.clamp(max=0.1), "pow_scalar": lambda lib, x: x ** 3,
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (0, 2)], ids=str)
def test_unary_against_torch(name, shape):
    x = rand(*shape)
    x = np.where(np.abs((x * 3) - np.round(x * 3)) < 0.05, 0.3, x).astype(np.float32)  # away from rounding kinks
    check_op(UNARY[name], x)


@pytest.mark.parametrize("name", ["exp", "sqrt", "abs", "sigmoid", "tanh", "neg"])
def test_unary_noncontiguous_and_float64(name):
    x = rand(4, 3, dtype=np.float64)
    check_op(lambda lib, t: UNARY[name](lib, t.t()), x)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "sigmoid", "tanh", "abs", "neg", "square"])
def test_unary_on_integers(name):
    x = np.array([1, 2, 3], dtype=np.int64)
    fns = {"exp": lambda lib, t: t.exp(), "log": lambda lib, t: t.log(), "sqrt": lambda lib, t: t.sqrt(),
           "sin": lambda lib, t: t.sin(), "sigmoid": lambda lib, t: t.sigmoid(), "tanh": lambda lib, t: t.tanh(),
           "abs": lambda lib, t: t.abs(), "neg": lambda lib, t: -t, "square": lambda lib, t: t.square()}
    check_op(fns[name], x)


def test_special_values():
    x = np.array([0.0, -0.0, 1.0, -1.0, 1e4, -1e4, np.inf, -np.inf, np.nan], dtype=np.float32)
    for name in ["exp", "abs", "sigmoid", "tanh", "sign", "neg", "floor"]:
        check_op(UNARY[name], x, grad=False)
    check_op(lambda lib, t: t.log(), np.abs(x), grad=False)
    check_op(lambda lib, t: t.sqrt(), np.abs(x), grad=False)


def test_ties_split_gradient_like_torch():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    b = np.array([1.0, 1.0, 4.0], dtype=np.float32)
    check_op(lambda lib, x, y: lib.maximum(x, y), a, b, gradcheck=False)
    check_op(lambda lib, x, y: lib.minimum(x, y), a, b, gradcheck=False)
    check_op(lambda lib, x: x.clamp(1.0, 2.0), np.array([0.5, 1.0, 1.5, 2.0, 2.5], np.float32), gradcheck=False)


def test_clamp_with_tensor_bounds():
    check_op(lambda lib, x, lo, hi: lib.clamp(x, lo, hi), rand(2, 3), rand(3) - 0.5, rand(2, 1) + 0.5)


def test_where_and_masked_fill():
    cond = rand(2, 3, dtype=bool)
    check_op(lambda lib, c, a, b: lib.where(c, a, b), cond, rand(2, 3), rand(3))
    check_op(lambda lib, c, a: lib.where(c, a, 0.5), cond, rand(2, 3))
    check_op(lambda lib, c, a: a.masked_fill(c, -1.5), cond, rand(2, 3))
    check_op(lambda lib, c, a: a.masked_fill(c[0], 2.0), cond, rand(2, 3))
    check_op(lambda lib, c, a, v: a.masked_fill(c, v), cond, rand(2, 3), rand())


def test_masked_fill_casts_the_value_to_the_input_dtype_like_torch():
    mask = np.array([True, False, True])
    for value in (2.7, -2.7, 3, True):
        check_op(lambda lib, x, m: x.masked_fill(m, value), np.array([1, 2, 3]), mask, grad=False)
        check_op(lambda lib, x, m: x.masked_fill(m, value), np.array([True, False, False]), mask, grad=False)
    check_op(lambda lib, x, m: x.masked_fill(m, lib.tensor(2.7)), np.array([1, 2, 3]), mask, grad=False)


def test_lerp_addcmul_addcdiv():
    check_op(lambda lib, a, b, w: lib.lerp(a, b, w), rand(3), rand(3), rand(3))
    check_op(lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5), rand(3), rand(3), rand(3))
    check_op(lambda lib, a, b, c: lib.addcdiv(a, b, c.abs() + 1, value=0.5), rand(3), rand(3), rand(3))


COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("name", COMPARE)
def test_comparisons(name):
    a = rand(3, 4, dtype=np.int64, low=0, high=3)
    b = rand(4, dtype=np.int64, low=0, high=3)
    check_op(lambda lib, x, y: getattr(lib, name)(x, y), a, b)
    check_op(lambda lib, x: getattr(x, name)(1), a)
    check_op(lambda lib, x: getattr(x, name)(0.5), rand(3))


def test_logical_and_bitwise():
    a, b = rand(5, dtype=bool), rand(5, dtype=bool)
    for fn in (lambda lib, x, y: lib.logical_and(x, y), lambda lib, x, y: lib.logical_or(x, y),
               lambda lib, x, y: lib.logical_xor(x, y), lambda lib, x, y: x & y, lambda lib, x, y: x | y,
               lambda lib, x, y: x ^ y, lambda lib, x, y: ~x, lambda lib, x, y: lib.logical_not(x)):
        check_op(fn, a, b)
    i = np.array([5, 3, 12], dtype=np.int64)
    check_op(lambda lib, x: (x & 6) | 1, i)
    check_op(lambda lib, x: lib.logical_and(x, x > 0.5), rand(4))


def test_sign_of_integers_and_bools():
    for x in (np.array([True, False]), np.array([-3, 0, 2], np.int32), np.array([0, 7], np.uint8)):
        check_op(lambda lib, t: t.sign(), x, grad=False)


def test_isnan_isinf_isfinite_nan_to_num():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], dtype=np.float32)
    for name in ["isnan", "isinf", "isfinite", "isposinf", "isneginf"]:
        check_op(lambda lib, t: getattr(lib, name)(t), x, grad=False)
    check_op(lambda lib, t: lib.nan_to_num(t), x, grad=False)
    check_op(lambda lib, t: lib.nan_to_num(t, nan=1.0, posinf=2.0, neginf=-2.0), x, grad=False)


def test_cast_gradient_and_dtype():
    check_op(lambda lib, x: (x.double() * 2).float(), rand(3), gradcheck=False)
    check_op(lambda lib, x: x.to(lib.float64).sum() if lib is torch else x.to(lamina.float64).sum(), rand(3))
    check_op(lambda lib, x: x.long(), rand(3) * 5, grad=False)


def test_stability_of_sigmoid():
    x = np.array([-400.0, -300.0, 300.0, 400.0, 0.0], dtype=np.float32)
    out = check_op(lambda lib, t: t.sigmoid(), x, gradcheck=False)
    assert np.all(np.isfinite(out.detach().numpy()))


def test_bad_inputs():
    a, b = lamina.ones(2, 3), lamina.ones(4, 3)
    check_error(lambda: a + b, ShapeError, "add()", "(2, 3)", "(4, 3)")
    check_error(lambda: a * b, ShapeError, "mul()", "(2, 3)", "(4, 3)")
    check_error(lambda: lamina.where(lamina.ones(2) > 0, a, b), ShapeError, "where()")
    check_error(lambda: a.masked_fill(lamina.ones(5) > 0, 1.0), ShapeError, "masked_fill()", "(5,)", "(2, 3)")
    check_error(lambda: a.masked_fill(lamina.ones(2, 3), 1.0), DTypeError, "masked_fill()", "bool")
    check_error(lambda: lamina.tensor([True]) - lamina.tensor([False]), DTypeError, "sub()")
    check_error(lambda: lamina.tensor([1, 2]) // lamina.tensor([1, 0]), ArgumentError, "division by zero")
    check_error(lambda: lamina.tensor([2]) ** lamina.tensor([-1]), ArgumentError, "negative integer powers")
    check_error(lambda: a.clamp(), ArgumentError, "clamp()")
    check_error(lambda: a.clamp("a"), DTypeError, "clamp()", "'min'", "str")
    check_error(lambda: a + "x", DTypeError, "str")
    check_error(lambda: a & a, DTypeError, "bitwise_and()")

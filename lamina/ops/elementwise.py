"""Elementwise operators: arithmetic with broadcasting, math functions, comparisons, where/clamp/masked_fill.

Binary operators promote their operands with torch's rules (``lamina.dtypes.result_type``) before computing, so
``int64 + float32 -> float32`` and a Python float stays a weak scalar. Gradients of broadcast operands are
summed back to their shapes with ``unbroadcast``.
"""
import math

from lamina import dtypes as _dt
from lamina.autograd import Op
from lamina.backend import xp, ndarray
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.ops._util import as_tensor_arg, float_dtype_of, shape_of, unbroadcast
from lamina.tensor import Tensor


# ---- operand preparation -----------------------------------------------------------------------------------

def cast(input, dtype):
    """``input`` converted to the NumPy ``dtype`` (differentiable between floating types)."""
    dtype = xp.dtype(dtype)
    if input._data.dtype == dtype:
        return input
    return Cast.apply(input, dtype=dtype)


class Cast(Op):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype) if ctx.in_dtype.kind == "f" else None


def _check_scalar(x, op):
    if isinstance(x, (bool, int, float)) or isinstance(x, xp.generic):
        return x
    raise DTypeError(f"{op}(): expected a tensor or a number, got {type(x).__name__}")


def _promote(a, b, op, floating=False):
    """Operands of a binary op, converted to their common dtype. Python numbers stay Python numbers."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if not ta and not tb or (not ta and isinstance(a, (ndarray, list, tuple))):
        a, ta = as_tensor_arg(a), True
    if not tb and isinstance(b, (ndarray, list, tuple)):
        b, tb = as_tensor_arg(b), True
    if ta and tb and a._data.dtype == b._data.dtype and (not floating or a._data.dtype.kind == "f"):
        return a, b, a._data.dtype
    if not ta:
        _check_scalar(a, op)
    if not tb:
        _check_scalar(b, op)
    dtype = _dt.result_type(a, b)
    if floating and dtype.kind != "f":
        dtype = _dt.get_default_dtype().numpy
    if ta:
        a = cast(a, dtype)
    if tb:
        b = cast(b, dtype)
    return a, b, dtype


def _floating(x):
    """Integer and bool inputs of exp/log/sin/... are computed in the default floating dtype, as in torch."""
    if not isinstance(x, Tensor):
        x = as_tensor_arg(x)
    return x if x._data.dtype.kind == "f" else cast(x, _dt.get_default_dtype().numpy)


def _broadcast_shape(a, b, op):
    try:
        return xp.broadcast_shapes(shape_of(a), shape_of(b))
    except ValueError:
        raise ShapeError(f"{op}(): shapes {tuple(shape_of(a))} and {tuple(shape_of(b))} cannot be broadcast "
                         "together") from None


def _checked(op_name, fn, a, b):
    """Run ``fn(a, b)``; turn a NumPy broadcasting error into a ShapeError naming both shapes."""
    try:
        return fn(a, b)
    except ValueError:
        _broadcast_shape(a, b, op_name)
        raise


# ---- arithmetic --------------------------------------------------------------------------------------------

class Add(Op):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.shapes, ctx.alpha = (shape_of(a), shape_of(b)), alpha
        return _checked("add", xp.add, a, b if alpha == 1 else b * alpha)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        ga = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(grad if ctx.alpha == 1 else grad * ctx.alpha, sb)
        return ga, gb


def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting."""
    a, b, _ = _promote(input, other, "add")
    return Add.apply(a, b, alpha=alpha)


def sub(input, other, *, alpha=1):
    """``input - alpha * other`` with broadcasting."""
    a, b, dtype = _promote(input, other, "sub")
    if dtype.kind == "b" or isinstance(input, bool) or isinstance(other, bool) or any(
            isinstance(v, Tensor) and v._data.dtype.kind == "b" for v in (input, other)):
        raise DTypeError("sub(): subtraction with two bool tensors is not supported; use logical_xor() or ~")
    return Add.apply(a, b, alpha=-alpha)


subtract = sub


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        # Each factor is saved only for the other's gradient (as torch does), so `y = x * 3; y += 1` stays legal.
        need = ctx.needs_input_grad
        if need:
            ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
            ctx.shapes = shape_of(a), shape_of(b)
        return _checked("mul", xp.multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad * b, ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * a, ctx.shapes[1]) if ctx.needs_input_grad[1] else None
        return ga, gb


def mul(input, other):
    """``input * other`` with broadcasting."""
    a, b, _ = _promote(input, other, "mul")
    return Mul.apply(a, b)


multiply = mul


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = _checked("div", xp.true_divide, a, b)
        # The numerator is saved only for the denominator's gradient, and the output never (as torch does), so
        # `y = x / 2; y += 1` stays legal.
        need = ctx.needs_input_grad
        if need:
            ctx.save_for_backward(a if need[1] else None, b)
        ctx.a_shape = shape_of(a)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        with xp.errstate(divide="ignore", invalid="ignore"):
            ga = unbroadcast(grad / b, ctx.a_shape) if ctx.needs_input_grad[0] else None
            gb = unbroadcast(-grad * (a / b) / b, shape_of(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class FloorDiv(Op):
    """Division rounded down or toward zero; its gradient is zero almost everywhere."""

    @staticmethod
    def forward(ctx, a, b, mode="floor"):
        ctx.shapes = (shape_of(a), shape_of(b))
        dtype = xp.result_type(a, b)
        if dtype.kind in "iu" and xp.any(xp.asarray(b) == 0):
            raise ArgumentError(f"div(): integer division by zero (rounding_mode={mode!r})")
        with xp.errstate(divide="ignore", invalid="ignore"):
            if mode == "floor":
                return _checked("floor_divide", xp.floor_divide, a, b)
            out = xp.trunc(_checked("div", xp.true_divide, a, b))
        return out if dtype.kind == "f" else out.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return tuple(xp.zeros(s, grad.dtype) if need else None for s, need in zip(ctx.shapes, ctx.needs_input_grad))


def div(input, other, *, rounding_mode=None):
    """``input / other``; ``rounding_mode`` None (true division), 'trunc' or 'floor'."""
    if rounding_mode is None:
        a, b, _ = _promote(input, other, "div", floating=True)
        return Div.apply(a, b)
    if rounding_mode not in ("trunc", "floor"):
        raise ArgumentError(f"div(): rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    a, b, _ = _promote(input, other, "div")
    return FloorDiv.apply(a, b, mode=rounding_mode)


divide = div
true_divide = div


def floor_divide(input, other):
    """Division rounded down (Python's ``//``)."""
    return div(input, other, rounding_mode="floor")


class Remainder(Op):
    """Python-style remainder (sign of the divisor); d/da = 1, d/db = -floor(a / b)."""

    @staticmethod
    def forward(ctx, a, b, fmod=False):
        if isinstance(b, ndarray) and b.dtype.kind in "iu" and xp.any(b == 0) or (
                isinstance(b, int) and b == 0 and xp.asarray(a).dtype.kind in "iu"):
            raise ArgumentError("remainder(): integer division by zero")
        ctx.save_for_backward(a, b)
        ctx.fmod = fmod
        with xp.errstate(divide="ignore", invalid="ignore"):
            return _checked("remainder", xp.fmod if fmod else xp.remainder, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad, shape_of(a)) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                q = xp.trunc(a / b) if ctx.fmod else xp.floor(a / b)
            gb = unbroadcast(-grad * q, shape_of(b))
        return ga, gb


def remainder(input, other):
    """Remainder with the sign of the divisor (Python's ``%``)."""
    a, b, _ = _promote(input, other, "remainder")
    return Remainder.apply(a, b)


def fmod(input, other):
    """Remainder with the sign of the dividend (C's fmod)."""
    a, b, _ = _promote(input, other, "fmod")
    return Remainder.apply(a, b, fmod=True)


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        if xp.asarray(b).dtype.kind in "iu" and xp.asarray(a).dtype.kind in "iu" and xp.any(xp.asarray(b) < 0):
            raise ArgumentError("pow(): integers to negative integer powers are not allowed")
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = _checked("pow", xp.power, a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ctx.needs_input_grad[0]:
                # d/da a^b = b a^(b-1); torch defines it as 0 where b == 0 (even at a == 0).
                ga = xp.where(xp.asarray(b) == 0, 0.0, grad * b * xp.power(a, b - 1)).astype(grad.dtype)
                ga = unbroadcast(ga, shape_of(a))
            if ctx.needs_input_grad[1]:
                # d/db a^b = a^b log(a); 0 where a == 0 and b >= 0, as torch.
                gb = xp.where((xp.asarray(a) == 0) & (xp.asarray(b) >= 0), 0.0, grad * out * xp.log(a))
                gb = unbroadcast(gb.astype(grad.dtype), shape_of(b))
        return ga, gb


def pow(input, exponent):
    """``input ** exponent`` with broadcasting."""
    a, b, _ = _promote(input, exponent, "pow")
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, Tensor):
        if b == 2:
            return square(a)
        if b == 1:
            return a.clone()
    return Pow.apply(a, b)


float_power = pow


class Maximum(Op):
    @staticmethod
    def forward(ctx, a, b, minimum=False):
        ctx.save_for_backward(a, b)
        ctx.minimum = minimum
        return _checked("maximum", xp.minimum if minimum else xp.maximum, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Ties split the gradient in half between the two inputs, as in torch.
        wins_a = (a < b) if ctx.minimum else (a > b)
        half = (a == b) * 0.5
        ga = unbroadcast(grad * (wins_a + half), shape_of(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * ((~wins_a & (a != b)) + half), shape_of(b)) if ctx.needs_input_grad[1] else None
        return (ga.astype(grad.dtype, copy=False) if ga is not None else None,
                gb.astype(grad.dtype, copy=False) if gb is not None else None)


def maximum(input, other):
    """Elementwise maximum (NaN propagates)."""
    a, b, _ = _promote(input, other, "maximum")
    return Maximum.apply(a, b)


def minimum(input, other):
    """Elementwise minimum (NaN propagates)."""
    a, b, _ = _promote(input, other, "minimum")
    return Maximum.apply(a, b, minimum=True)


fmax, fmin = maximum, minimum


class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _checked("atan2", xp.arctan2, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        denom = a * a + b * b
        ga = unbroadcast(grad * b / denom, shape_of(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad * a / denom, shape_of(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


def atan2(input, other):
    a, b, _ = _promote(input, other, "atan2", floating=True)
    return Atan2.apply(a, b)


arctan2 = atan2


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    return add(input, div(tensor1, tensor2), alpha=value)


# ---- unary math --------------------------------------------------------------------------------------------
# Each is d(out)/dx written next to its forward. "Saved out" ops reuse the output (exp, sqrt, tanh, sigmoid).

class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            raise DTypeError("neg(): negation of a bool tensor is not supported; use logical_not() or ~")
        return xp.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(input):
    return Neg.apply(input)


negative = neg


class Abs(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * xp.sign(x)


def abs(input):
    return Abs.apply(input)


absolute = abs


class ZeroGrad(Op):
    """Piecewise-constant functions (sign, floor, ceil, round, trunc): their gradient is zero, as in torch."""

    @staticmethod
    def forward(ctx, x, fn, decimals=0):
        return fn(x) if not decimals else fn(x, decimals)

    @staticmethod
    def backward(ctx, grad):
        return xp.zeros_like(grad)


def _sign(x):
    if x.dtype.kind == "b":      # a bool is its own sign, as in torch
        return x.copy()
    # torch gives sign(nan) = 0
    out = xp.sign(x)
    return xp.where(xp.isnan(out), 0, out).astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def sign(input):
    return ZeroGrad.apply(input, _sign)


def sgn(input):
    return sign(input)


def floor(input):
    return ZeroGrad.apply(input, xp.floor) if input._data.dtype.kind == "f" else input.clone()


def ceil(input):
    return ZeroGrad.apply(input, xp.ceil) if input._data.dtype.kind == "f" else input.clone()


def trunc(input):
    return ZeroGrad.apply(input, xp.trunc) if input._data.dtype.kind == "f" else input.clone()


fix = trunc


def round(input, *, decimals=0):
    """Round half to even, as torch does."""
    if input._data.dtype.kind != "f":
        return input.clone()
    return ZeroGrad.apply(input, xp.round, decimals=decimals)


def frac(input):
    return sub(input, trunc(input))


class Exp(Op):
    @staticmethod
    def forward(ctx, x):
        with xp.errstate(over="ignore"):
            out = xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


def exp(input):
    return Exp.apply(_floating(input))


class Exp2(Op):
    @staticmethod
    def forward(ctx, x):
        with xp.errstate(over="ignore"):
            out = xp.exp2(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * math.log(2.0)


def exp2(input):
    return Exp2.apply(_floating(input))


class Log(Op):
    _fns = {"e": (xp.log, 1.0), "2": (xp.log2, math.log(2.0)), "10": (xp.log10, math.log(10.0))}

    @staticmethod
    def forward(ctx, x, base="e"):
        fn, ctx.scale = Log._fns[base]
        ctx.save_for_backward(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return fn(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with xp.errstate(divide="ignore", invalid="ignore"):
            return grad / (x * ctx.scale) if ctx.scale != 1.0 else grad / x


def log(input):
    return Log.apply(_floating(input))


def log2(input):
    return Log.apply(_floating(input), base="2")


def log10(input):
    return Log.apply(_floating(input), base="10")


class Log1p(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with xp.errstate(divide="ignore"):
            return grad / (1 + x)


def log1p(input):
    return Log1p.apply(_floating(input))


class Expm1(Op):
    @staticmethod
    def forward(ctx, x):
        with xp.errstate(over="ignore"):
            out = xp.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


def expm1(input):
    return Expm1.apply(_floating(input))


class Sqrt(Op):
    @staticmethod
    def forward(ctx, x):
        with xp.errstate(invalid="ignore"):
            out = xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        with xp.errstate(divide="ignore", invalid="ignore"):
            return grad / (2 * out)


def sqrt(input):
    return Sqrt.apply(_floating(input))


class Rsqrt(Op):
    @staticmethod
    def forward(ctx, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = 1 / xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -0.5 * grad * out * out * out


def rsqrt(input):
    return Rsqrt.apply(_floating(input))


class Square(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * grad * x


def square(input):
    if input._data.dtype.kind == "b":
        input = cast(input, xp.int64)
    return Square.apply(input)


class Reciprocal(Op):
    @staticmethod
    def forward(ctx, x):
        with xp.errstate(divide="ignore"):
            out = 1 / x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -grad * out * out


def reciprocal(input):
    return Reciprocal.apply(_floating(input))


class Sin(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * xp.cos(x)


def sin(input):
    return Sin.apply(_floating(input))


class Cos(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * xp.sin(x)


def cos(input):
    return Cos.apply(_floating(input))


class Tan(Op):
    @staticmethod
    def forward(ctx, x):
        out = xp.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 + out * out)


def tan(input):
    return Tan.apply(_floating(input))


class Asin(Op):
    @staticmethod
    def forward(ctx, x, sign=1.0):
        ctx.save_for_backward(x)
        ctx.sign = sign
        with xp.errstate(invalid="ignore"):
            return xp.arcsin(x) if sign > 0 else xp.arccos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with xp.errstate(divide="ignore", invalid="ignore"):
            return ctx.sign * grad / xp.sqrt(1 - x * x)


def asin(input):
    return Asin.apply(_floating(input))


def acos(input):
    return Asin.apply(_floating(input), sign=-1.0)


arcsin, arccos = asin, acos


class Atan(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arctan(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + x * x)


def atan(input):
    return Atan.apply(_floating(input))


arctan = atan


class Sinh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with xp.errstate(over="ignore"):
            return xp.sinh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with xp.errstate(over="ignore"):
            return grad * xp.cosh(x)


def sinh(input):
    return Sinh.apply(_floating(input))


class Cosh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with xp.errstate(over="ignore"):
            return xp.cosh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with xp.errstate(over="ignore"):
            return grad * xp.sinh(x)


def cosh(input):
    return Cosh.apply(_floating(input))


class Tanh(Op):
    @staticmethod
    def forward(ctx, x):
        out = xp.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


def tanh(input):
    return Tanh.apply(_floating(input))


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        out = stable_sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid(input):
    return Sigmoid.apply(_floating(input))


class Erf(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2.0 / math.sqrt(math.pi)) * xp.exp(-x * x)


_erf_scalar = xp.vectorize(math.erf, otypes=[xp.float64])
# Chebyshev-fitted erfc (Numerical Recipes' erfcc): fractional error below 1.2e-7 for all x, which is float32's
# resolution, at a cost of one exp and a polynomial instead of a Python call per element.
_ERFC_COEFFS = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
                0.37409196, 1.00002368, -1.26551223)


def erf_array(x):
    """The error function on an array: exact (math.erf) for float64, the erfcc fit for float32 and float16."""
    if x.size == 0:
        return x.copy()
    if x.dtype == xp.float64:
        return _erf_scalar(x)
    z = xp.abs(x).astype(xp.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = xp.zeros_like(z)
    for c in _ERFC_COEFFS:
        poly = poly * t + c
    erfc = t * xp.exp(-z * z + poly)
    return (xp.sign(x) * (1.0 - erfc)).astype(x.dtype)


def erf(input):
    return Erf.apply(_floating(input))


# ---- selection and clamping --------------------------------------------------------------------------------

class Clamp(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        out = x
        if lo is not None:
            out = _checked("clamp", xp.maximum, out, lo)
        if hi is not None:
            out = _checked("clamp", xp.minimum, out, hi)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = ctx.saved_tensors
        # The gradient reaches x where lo <= x <= hi (ends included, as in torch), else the active bound.
        above_lo = True if lo is None else (x >= lo)
        below_hi = True if hi is None else (x <= hi)
        if lo is not None and hi is not None:
            above_lo = above_lo & (xp.asarray(lo) <= hi)
        gx = unbroadcast(grad * (above_lo & below_hi), x.shape) if ctx.needs_input_grad[0] else None
        glo = ghi = None
        if ctx.needs_input_grad[1]:
            glo = unbroadcast(grad * (~(x >= lo) & (True if hi is None else lo <= hi)), lo.shape)
        if ctx.needs_input_grad[2]:
            ghi = unbroadcast(grad * ((x > hi) | (True if lo is None else lo > hi)), hi.shape)
        return gx, glo, ghi


def clamp(input, min=None, max=None):
    """Limit values to [min, max]; bounds are numbers or tensors (broadcast)."""
    if min is None and max is None:
        raise ArgumentError("clamp(): at least one of 'min' or 'max' must not be None")
    x = input
    lo = min if not isinstance(min, (list, tuple)) else as_tensor_arg(min)
    hi = max if not isinstance(max, (list, tuple)) else as_tensor_arg(max)
    for name, bound in (("min", lo), ("max", hi)):
        if bound is not None and not isinstance(bound, (Tensor, bool, int, float, xp.number)):
            raise DTypeError(f"clamp(): argument '{name}' must be a number or a tensor, got {type(bound).__name__}")
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        dtype = _dt.result_type(*(v for v in (x, lo, hi) if v is not None))
        x = cast(x, dtype)
        lo = cast(lo, dtype) if isinstance(lo, Tensor) else lo
        hi = cast(hi, dtype) if isinstance(hi, Tensor) else hi
    elif x._data.dtype.kind != "f" and any(isinstance(v, float) for v in (lo, hi)):
        x = cast(x, _dt.get_default_dtype().numpy)
    return Clamp.apply(x, lo, hi)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min, None)


def clamp_max(input, max):
    return clamp(input, None, max)


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (shape_of(a), shape_of(b))
        try:
            return xp.where(cond, a, b)
        except ValueError:
            raise ShapeError(f"where(): condition {tuple(cond.shape)}, input {tuple(shape_of(a))} and other "
                             f"{tuple(shape_of(b))} cannot be broadcast together") from None

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        ga = unbroadcast(xp.where(cond, grad, 0), ctx.shapes[0]) if ctx.needs_input_grad[1] else None
        gb = unbroadcast(xp.where(cond, 0, grad), ctx.shapes[1]) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition, input=None, other=None):
    """``input`` where ``condition`` else ``other`` (broadcast); ``where(condition)`` is ``nonzero(as_tuple=True)``."""
    condition = as_tensor_arg(condition)
    if input is None and other is None:
        from lamina.ops import nonzero
        return nonzero(condition, as_tuple=True)
    if condition._data.dtype.kind != "b":
        raise DTypeError(f"where(): expected condition to be a bool tensor, got {condition.dtype}")
    a, b, _ = _promote(input, other, "where")
    return Where.apply(condition, a, b)


class MaskedFill(Op):
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        try:
            out = xp.where(mask, xp.asarray(value, dtype=x.dtype), x)
        except ValueError:
            out = None
        if out is None or out.shape != x.shape:
            raise ShapeError(f"masked_fill(): mask of shape {tuple(mask.shape)} is not broadcastable to the "
                             f"input's shape {tuple(x.shape)}")
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        gx = xp.where(mask, 0, grad) if ctx.needs_input_grad[0] else None
        gv = None
        if ctx.needs_input_grad[2]:
            gv = xp.asarray(xp.where(mask, grad, 0).sum(), dtype=grad.dtype)
        return gx, None, gv


def masked_fill(input, mask, value):
    """``input`` with ``value`` where the bool ``mask`` (broadcast to input's shape) is True."""
    mask = as_tensor_arg(mask)
    if mask._data.dtype.kind != "b":
        raise DTypeError(f"masked_fill(): expected a bool mask, got {mask.dtype}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise ShapeError(f"masked_fill(): only supports a 0-dimensional value tensor, got shape "
                             f"{tuple(value.shape)}")
        if value._data.dtype != input._data.dtype:
            value = cast(value, input._data.dtype)
    # A Python float into an integer or bool tensor truncates toward zero (or tests nonzero), as in torch.
    return MaskedFill.apply(input, mask, value)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN, +inf and -inf by finite numbers (the dtype's largest by default)."""
    info = xp.finfo(input._data.dtype) if input._data.dtype.kind == "f" else None
    if info is None:
        return input.clone()
    x = masked_fill(input, isnan(input), nan)
    x = masked_fill(x, eq(input, float("inf")), info.max if posinf is None else posinf)
    return masked_fill(x, eq(input, float("-inf")), info.min if neginf is None else neginf)


class Clone(Op):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph."""
    return Clone.apply(input)


class CopyFrom(Op):
    """The value ``self.copy_(src)`` writes: src broadcast to self's shape in self's dtype."""

    @staticmethod
    def forward(ctx, x, src):
        ctx.src_shape, ctx.src_dtype = shape_of(src), xp.asarray(src).dtype
        try:
            return xp.broadcast_to(xp.asarray(src, dtype=x.dtype), x.shape).copy()
        except ValueError:
            raise ShapeError(f"copy_(): source of shape {tuple(shape_of(src))} is not broadcastable to "
                             f"{tuple(x.shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        gsrc = unbroadcast(grad, ctx.src_shape).astype(ctx.src_dtype) if ctx.needs_input_grad[1] else None
        return (xp.zeros_like(grad) if ctx.needs_input_grad[0] else None), gsrc


def copy_from(input, src):
    return CopyFrom.apply(input, as_tensor_arg(src) if not isinstance(src, (int, float)) else src)


def full_like_value(input, value):
    """A tensor like ``input`` filled with ``value`` (what ``fill_``/``zero_`` write)."""
    if isinstance(value, Tensor):
        return copy_from(input, value)
    return Tensor._make(xp.full(input._data.shape, value, dtype=input._data.dtype))


# ---- comparisons and logic (no gradient) -------------------------------------------------------------------

def _compare(fn, name, input, other):
    a, b, _ = _promote(input, other, name)
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    return Tensor._make(xp.asarray(_checked(name, fn, a, b)))


def eq(input, other):
    return _compare(xp.equal, "eq", input, other)


def ne(input, other):
    return _compare(xp.not_equal, "ne", input, other)


def lt(input, other):
    return _compare(xp.less, "lt", input, other)


def le(input, other):
    return _compare(xp.less_equal, "le", input, other)


def gt(input, other):
    return _compare(xp.greater, "gt", input, other)


def ge(input, other):
    return _compare(xp.greater_equal, "ge", input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other):
    """True if both tensors have the same shape and values."""
    return tuple(input.shape) == tuple(other.shape) and bool(xp.array_equal(input._data, other._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return Tensor._make(xp.asarray(xp.isclose(input._data, as_tensor_arg(other)._data, rtol, atol, equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(xp.allclose(input._data, as_tensor_arg(other)._data, rtol, atol, equal_nan))


def _logical(fn, name, input, other):
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    return Tensor._make(xp.asarray(_checked(name, fn, a._data, b._data)))


def logical_and(input, other):
    return _logical(xp.logical_and, "logical_and", input, other)


def logical_or(input, other):
    return _logical(xp.logical_or, "logical_or", input, other)


def logical_xor(input, other):
    return _logical(xp.logical_xor, "logical_xor", input, other)


def logical_not(input):
    return Tensor._make(xp.logical_not(input._data))


def _bitwise(fn, name, input, other):
    a, b, dtype = _promote(input, other, name)
    if dtype.kind == "f":
        raise DTypeError(f"{name}(): bitwise operations need integer or bool tensors, got {_dt.from_numpy(dtype)}")
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    return Tensor._make(xp.asarray(_checked(name, fn, a, b)))


def bitwise_and(input, other):
    return _bitwise(xp.bitwise_and, "bitwise_and", input, other)


def bitwise_or(input, other):
    return _bitwise(xp.bitwise_or, "bitwise_or", input, other)


def bitwise_xor(input, other):
    return _bitwise(xp.bitwise_xor, "bitwise_xor", input, other)


def bitwise_not(input):
    if input._data.dtype.kind == "f":
        raise DTypeError(f"bitwise_not(): needs an integer or bool tensor, got {input.dtype}")
    return Tensor._make(xp.invert(input._data))


def isnan(input):
    return Tensor._make(xp.isnan(input._data))


def isinf(input):
    return Tensor._make(xp.isinf(input._data))


def isfinite(input):
    return Tensor._make(xp.isfinite(input._data))


def isposinf(input):
    return Tensor._make(xp.isposinf(input._data))


def isneginf(input):
    return Tensor._make(xp.isneginf(input._data))


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input._data.dtype.kind == "f"


def numel(input):
    return int(input._data.size)


float_dtype = float_dtype_of

"""Activation functions: relu and its relatives, the smooth ones (gelu, silu, softplus), and the hard ones.

Each is one operator with its derivative beside it. The smooth ones are fused (not composed of exp/log ops)
for speed and for stability at large |x|: softplus and logsigmoid only ever exponentiate -|x|.
"""
import math

from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.ops.elementwise import _floating, erf_array, stable_sigmoid


def _inplace_or(input, inplace, fn, *args):
    if inplace:
        return input._inplace(fn, *args)
    return fn(input, *args)


class Relu(Op):
    @staticmethod
    def forward(ctx, x):
        # clip, not maximum(x, 0), from a few thousand elements on: NumPy's maximum against a scalar runs a ~3x
        # slower loop, while clip's Python wrapper costs ~1 us a call (batch-1 latency). clip also keeps torch's
        # relu(-0.) = -0.; maximum gives +0.
        out = xp.clip(x, 0, xp.inf) if x.dtype.kind == "f" and x.size >= 8192 else xp.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)


def relu(input, inplace=False):
    """max(0, x)."""
    if inplace:
        return input._inplace(relu)
    return Relu.apply(input)


class Hardtanh(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return xp.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # torch passes the gradient strictly inside (lo, hi).
        return grad * ((x > ctx.lo) & (x < ctx.hi))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to [min_val, max_val]."""
    if min_val > max_val:
        raise ArgumentError(f"hardtanh(): min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _inplace_or(input, inplace, lambda x: Hardtanh.apply(x, lo=min_val, hi=max_val))


def relu6(input, inplace=False):
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class LeakyRelu(Op):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return xp.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return xp.where(x > 0, grad, grad * ctx.slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    return _inplace_or(input, inplace, lambda x: LeakyRelu.apply(x, slope=float(negative_slope)))


class Elu(Op):
    """scale * (x if x > 0 else alpha * (exp(x / beta) - 1)): elu, selu and celu."""

    @staticmethod
    def forward(ctx, x, alpha, scale=1.0, beta=1.0):
        with xp.errstate(over="ignore"):
            neg = alpha * xp.expm1(xp.minimum(x, 0) / beta)
        out = xp.where(x > 0, x, neg)
        if scale != 1.0:
            out = out * scale
        ctx.save_for_backward(x, out)
        ctx.alpha, ctx.scale, ctx.beta = alpha, scale, beta
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        # For x <= 0: d/dx scale*alpha*(exp(x/beta)-1) = (out + scale*alpha) / beta.
        neg = (out + ctx.scale * ctx.alpha) / ctx.beta
        return xp.where(x > 0, grad * ctx.scale, grad * neg).astype(grad.dtype, copy=False)


def elu(input, alpha=1.0, inplace=False):
    return _inplace_or(input, inplace, lambda x: Elu.apply(x, alpha=float(alpha)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    return _inplace_or(input, inplace, lambda x: Elu.apply(x, alpha=_SELU_ALPHA, scale=_SELU_SCALE))


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise ArgumentError("celu(): alpha must not be 0")
    return _inplace_or(input, inplace, lambda x: Elu.apply(x, alpha=float(alpha), beta=float(alpha)))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Gelu(Op):
    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + xp.tanh(inner))
        return 0.5 * x * (1 + erf_array(x * _INV_SQRT_2))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        # d/dx x*Phi(x) = Phi(x) + x*phi(x)
        cdf = 0.5 * (1 + erf_array(x * _INV_SQRT_2))
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return grad * (cdf + x * pdf)


def gelu(input, approximate="none"):
    """x * Phi(x), exact (erf) or with the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_floating(input), approximate=approximate)


class Silu(Op):
    @staticmethod
    def forward(ctx, x):
        s = stable_sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * s * (1 + x * (1 - s))


def silu(input, inplace=False):
    """x * sigmoid(x) (swish)."""
    return _inplace_or(input, inplace, lambda x: Silu.apply(_floating(x)))


def _softplus(x, beta, threshold):
    # log(1 + exp(b x)) / b = max(b x, 0) + log1p(exp(-|b x|)) / b; linear above the threshold as in torch.
    bx = x * beta
    soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
    return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)


class Softplus(Op):
    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return _softplus(x, beta, threshold)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return xp.where(bx > ctx.threshold, grad, grad * stable_sigmoid(bx))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, stable for any magnitude."""
    return Softplus.apply(_floating(input), beta=float(beta), threshold=float(threshold))


class Mish(Op):
    @staticmethod
    def forward(ctx, x):
        t = xp.tanh(_softplus(x, 1.0, 20.0))
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        return grad * (t + x * stable_sigmoid(x) * (1 - t * t))


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _inplace_or(input, inplace, lambda x: Mish.apply(_floating(x)))


class LogSigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # log sigmoid(x) = min(x, 0) - log1p(exp(-|x|))
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * stable_sigmoid(-x)


def logsigmoid(input):
    return LogSigmoid.apply(_floating(input))


class Hardsigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (xp.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x > -3) & (x < 3)) / 6


def hardsigmoid(input, inplace=False):
    return _inplace_or(input, inplace, lambda x: Hardsigmoid.apply(x))


class Hardswish(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * xp.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # torch: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above 3.
        mid = grad * (x / 3 + 0.5)
        return xp.where(x < -3, 0.0, xp.where(x <= 3, mid, grad)).astype(grad.dtype, copy=False)


def hardswish(input, inplace=False):
    return _inplace_or(input, inplace, lambda x: Hardswish.apply(x))


class Softsign(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + xp.abs(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        d = 1 + xp.abs(x)
        return grad / (d * d)


def softsign(input):
    return Softsign.apply(_floating(input))


class Threshold(Op):
    @staticmethod
    def forward(ctx, x, threshold, value):
        ctx.save_for_backward(x)
        ctx.threshold = threshold
        return xp.where(x > threshold, x, xp.asarray(value, dtype=x.dtype))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > ctx.threshold)


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value."""
    return _inplace_or(input, inplace, lambda x: Threshold.apply(x, threshold=threshold, value=value))


class Tanhshrink(Op):
    @staticmethod
    def forward(ctx, x):
        t = xp.tanh(x)
        ctx.save_for_backward(t)
        return x - t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * t * t


def tanhshrink(input):
    return Tanhshrink.apply(_floating(input))


class Shrink(Op):
    """hardshrink (x where |x| > lambd, else 0) and softshrink (x - sign(x) lambd where |x| > lambd)."""

    @staticmethod
    def forward(ctx, x, lambd, soft):
        keep = xp.abs(x) > lambd
        ctx.save_for_backward(keep)
        return xp.where(keep, x - xp.sign(x) * lambd if soft else x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        return grad * keep


def hardshrink(input, lambd=0.5):
    return Shrink.apply(input, lambd=lambd, soft=False)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise ArgumentError(f"softshrink(): lambd must be non-negative, got {lambd}")
    return Shrink.apply(input, lambd=lambd, soft=True)

"""``lamina.nn.init``: fill parameters in place with torch's initialisation schemes.

Every function writes into the tensor's array directly (outside autograd, as torch's do under ``no_grad``),
bumps its version counter, draws from lamina's generator (or the ``generator=`` given) and returns the tensor.

Example:
    >>> w = lamina.empty(64, 32)
    >>> nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    >>> nn.init.zeros_(b)
"""
import math
import warnings

from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.nn.parameter import is_lazy
from lamina.random import default_generator
from lamina.tensor import Tensor

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
_NONLINEARITIES = _LINEAR_FNS + ("sigmoid", "tanh", "relu", "leaky_relu", "selu")


# ---- helpers -------------------------------------------------------------------------------------------------

def _check(tensor, fn):
    if not isinstance(tensor, Tensor):
        raise ArgumentError(f"nn.init.{fn}(): argument 'tensor' must be a lamina.Tensor, got "
                            f"{type(tensor).__name__}")
    if is_lazy(tensor):
        raise ArgumentError(f"nn.init.{fn}(): the tensor is an uninitialized parameter of a lazy layer; run the "
                            "layer on an input first so its shape is known")
    return tensor


def _rng(generator):
    return (generator or default_generator).np


def _write(tensor, values):
    """Store ``values`` (any float array broadcastable to the tensor) into the tensor's array in place."""
    data = tensor._data
    data[...] = values.astype(data.dtype, copy=False) if hasattr(values, "astype") else values
    tensor._vc[0] += 1
    return tensor


def _is_real_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# ---- gains and fans ------------------------------------------------------------------------------------------

def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (scales the std of Xavier / Kaiming initialisation).

    ========================  ==================================
    linear, conv*, sigmoid    1
    tanh                      5/3
    relu                      sqrt(2)
    leaky_relu                sqrt(2 / (1 + negative_slope^2))
    selu                      3/4
    ========================  ==================================

    Args:
        nonlinearity: the name of the nonlinearity (``nn.functional`` name).
        param: the negative slope for ``'leaky_relu'`` (default 0.01).

    Example:
        >>> nn.init.calculate_gain("leaky_relu", 0.2)
        1.3867504905630728
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif _is_real_number(param):
            slope = param
        else:
            raise ArgumentError(f"nn.init.calculate_gain(): negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically (pytorch/pytorch#50664)
    raise ArgumentError(f"nn.init.calculate_gain(): unsupported nonlinearity {nonlinearity!r}; expected one of "
                        f"{', '.join(_NONLINEARITIES)}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight: dims 1 and 0 times the receptive field (the product of dims 2+)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ShapeError(f"nn.init: fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode, fn):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ArgumentError(f"nn.init.{fn}(): mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode.lower() == "fan_in" else fan_out


def _empty_is_noop(tensor):
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# ---- simple fills --------------------------------------------------------------------------------------------

def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples of U(a, b).

    Example:
        >>> nn.init.uniform_(lamina.empty(3, 5), -0.1, 0.1)
    """
    _check(tensor, "uniform_")
    if not a <= b:
        raise ArgumentError(f"nn.init.uniform_(): expected a <= b, got a={a}, b={b}")
    return _write(tensor, a + (b - a) * _rng(generator).random(tensor._data.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples of N(mean, std^2).

    Example:
        >>> nn.init.normal_(lamina.empty(3, 5), std=0.02)
    """
    _check(tensor, "normal_")
    if not std >= 0:
        raise ArgumentError(f"nn.init.normal_(): expected std >= 0, got std={std}")
    return _write(tensor, mean + std * _rng(generator).standard_normal(tensor._data.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples of N(mean, std^2) truncated to [a, b] (values outside are redrawn).

    Example:
        >>> nn.init.trunc_normal_(lamina.empty(3, 5), std=0.02, a=-0.04, b=0.04)
    """
    _check(tensor, "trunc_normal_")
    if not std > 0:
        raise ArgumentError(f"nn.init.trunc_normal_(): expected std > 0, got std={std}")
    if not a < b:
        raise ArgumentError(f"nn.init.trunc_normal_(): expected a < b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", stacklevel=2)
    rng, shape = _rng(generator), tensor._data.shape
    # compare against the bounds as the tensor's dtype represents them, so no stored value falls outside
    lo, hi = (float(xp.asarray(v, dtype=tensor._data.dtype)) for v in (a, b))

    def cdf(x):
        return (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0)))) / 2.0

    if cdf(b) - cdf(a) > 0.3:
        # most normal draws land in [a, b]: redraw only the ones outside
        values = (mean + std * rng.standard_normal(shape)).astype(tensor._data.dtype)
        bad = (values < lo) | (values > hi)
        while bad.any():
            values[bad] = mean + std * rng.standard_normal(int(bad.sum()))
            bad = (values < lo) | (values > hi)
        return _write(tensor, values)
    # a narrow window: propose uniformly on [a, b] and accept with the normal density relative to its peak
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    values = rng.uniform(a, b, shape)
    pending = xp.log(rng.random(shape)) > -0.5 * ((values - mean) / std) ** 2 - log_peak
    while pending.any():
        n = int(pending.sum())
        proposal = rng.uniform(a, b, n)
        accepted = xp.log(rng.random(n)) <= -0.5 * ((proposal - mean) / std) ** 2 - log_peak
        where = xp.flatnonzero(pending.reshape(-1))
        flat = values.reshape(-1)
        flat[where[accepted]] = proposal[accepted]
        pending.reshape(-1)[where[accepted]] = False
    return _write(tensor, xp.clip(values, lo, hi))


def constant_(tensor, val):
    """Fill with the value ``val``."""
    _check(tensor, "constant_")
    return _write(tensor, val)


def ones_(tensor):
    """Fill with 1."""
    return _write(_check(tensor, "ones_"), 1.0)


def zeros_(tensor):
    """Fill with 0."""
    return _write(_check(tensor, "zeros_"), 0.0)


def eye_(tensor):
    """Fill a 2-d tensor with the identity matrix (ones on the main diagonal of a rectangle too).

    Example:
        >>> nn.init.eye_(lamina.empty(3, 5))
    """
    _check(tensor, "eye_")
    if tensor._data.ndim != 2:
        raise ShapeError(f"nn.init.eye_(): only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    return _write(tensor, xp.eye(*tensor._data.shape))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-d conv weight with the Dirac delta: the conv passes its input channels through.

    With ``groups > 1`` each group of output channels preserves the identity of its inputs.

    Example:
        >>> nn.init.dirac_(lamina.empty(16, 16, 3, 3))
    """
    _check(tensor, "dirac_")
    shape = tuple(tensor.shape)
    if len(shape) not in (3, 4, 5):
        raise ShapeError(f"nn.init.dirac_(): only tensors with 3, 4, or 5 dimensions are supported, got shape "
                         f"{shape}")
    if not isinstance(groups, int) or groups <= 0 or shape[0] % groups:
        raise ArgumentError(f"nn.init.dirac_(): groups must be a positive int dividing dim 0 ({shape[0]}), got "
                            f"{groups!r}")
    per_group = shape[0] // groups
    values = xp.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            values[(g * per_group + d, d) + centre] = 1.0
    return _write(tensor, values)


# ---- variance-scaling schemes ------------------------------------------------------------------------------

def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).

    Example:
        >>> nn.init.xavier_uniform_(lamina.empty(3, 5), gain=nn.init.calculate_gain("relu"))
    """
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # the uniform on [-bound, bound] has this std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    Args:
        tensor: a weight of at least 2 dims.
        a: the negative slope of the rectifier after this layer (used with 'leaky_relu').
        mode: 'fan_in' (preserves the forward variance) or 'fan_out' (the backward one).
        nonlinearity: 'relu' or 'leaky_relu' (the default) are the recommended ones.

    Example:
        >>> nn.init.kaiming_uniform_(lamina.empty(3, 5), mode="fan_in", nonlinearity="relu")
    """
    _check(tensor, "kaiming_uniform_")
    if _empty_is_noop(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode, "kaiming_uniform_")
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).

    Example:
        >>> nn.init.kaiming_normal_(lamina.empty(3, 5), mode="fan_out", nonlinearity="relu")
    """
    _check(tensor, "kaiming_normal_")
    if _empty_is_noop(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode, "kaiming_normal_")
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain``; dims after the first are flattened.

    The matrix is the Q of the QR decomposition of a standard normal matrix, its columns' signs fixed by
    R's diagonal so that Q is uniformly (Haar) distributed.

    Example:
        >>> w = nn.init.orthogonal_(lamina.empty(3, 5))     # w @ w.T == I
    """
    _check(tensor, "orthogonal_")
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ShapeError(f"nn.init.orthogonal_(): only tensors with 2 or more dimensions are supported, got shape "
                         f"{shape}")
    if tensor._data.size == 0:
        return tensor
    rows = shape[0]
    cols = tensor._data.size // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-d tensor with N(0, std^2) values and zero a ``sparsity`` fraction of each column."""
    _check(tensor, "sparse_")
    if tensor._data.ndim != 2:
        raise ShapeError(f"nn.init.sparse_(): only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    rows, cols = tensor._data.shape
    rng = _rng(generator)
    values = std * rng.standard_normal((rows, cols))
    zeros = math.ceil(sparsity * rows)
    for c in range(cols):
        values[rng.permutation(rows)[:zeros], c] = 0.0
    return _write(tensor, values)

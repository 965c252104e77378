"""Random numbers from one framework-owned generator (never NumPy's global state).

``lamina.manual_seed(s)`` makes initialisation, dropout masks and shuffling bit-identical from run to run.
"""
import json
import os

import numpy

from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError

_DEFAULT_SEED = 67280421310721  # torch's default seed, so an unseeded run is still reproducible


class Generator:
    """A random number generator, like ``torch.Generator``; ``.np`` is its NumPy ``Generator``.

    Example:
        >>> g = lamina.Generator().manual_seed(0)
        >>> lamina.rand(2, generator=g)
    """

    def __init__(self, device="cpu"):
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        if not hasattr(seed, "__index__") and not isinstance(seed, (float, numpy.floating)):
            raise ArgumentError(f"manual_seed(): the seed must be an integer, got {seed!r}")
        seed = int(seed)
        self._seed = seed
        self.np = numpy.random.Generator(numpy.random.PCG64(seed & (2 ** 64 - 1)))
        return self

    def seed(self):
        seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from lamina.tensor import Tensor
        raw = json.dumps(self.np.bit_generator.state).encode()
        return Tensor._make(numpy.frombuffer(raw, dtype=numpy.uint8).copy())

    def set_state(self, state):
        """Restore a state that ``get_state`` returned (a uint8 tensor)."""
        try:
            self.np.bit_generator.state = json.loads(bytes(numpy.asarray(state._data, dtype=numpy.uint8)).decode())
        except (AttributeError, TypeError, ValueError, KeyError):   # JSONDecodeError and UnicodeError are ValueErrors
            raise ArgumentError("set_rng_state(): expected a state returned by get_rng_state() (a uint8 tensor), "
                                f"got {type(state).__name__}") from None
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _gen(generator):
    return (generator or default_generator).np


def _float(dtype, op):
    d = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)
    if not d.is_floating_point:
        raise ArgumentError(f"{op}(): expected a floating point dtype, got {d}")
    return d.numpy


def _out(array, requires_grad):
    from lamina.tensor import Tensor
    return Tensor._make(array).requires_grad_(requires_grad) if requires_grad else Tensor._make(array)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    from lamina.creation import parse_size
    shape = parse_size(size, "rand")
    d = _float(dtype, "rand")
    return _out(_gen(generator).random(shape, dtype=d if d != xp.float16 else xp.float32).astype(d, copy=False),
                requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    from lamina.creation import parse_size
    shape = parse_size(size, "randn")
    d = _float(dtype, "randn")
    sample = _gen(generator).standard_normal(shape, dtype=d if d != xp.float16 else xp.float32)
    return _out(sample.astype(d, copy=False), requires_grad)


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    from lamina.creation import parse_size
    if size is not None:
        args = args + (size,)
    if len(args) == 2:
        low, (high, size) = 0, args
    elif len(args) == 3:
        low, high, size = args
    else:
        raise ArgumentError("randint(): expected (high, size) or (low, high, size)")
    low, high = int(low), int(high)
    if high <= low:
        raise ArgumentError(f"randint(): expected low < high, got low={low}, high={high}")
    shape = parse_size((size,), "randint")
    d = _dt.int64.numpy if dtype is None else _dt.to_numpy(dtype)
    return _out(_gen(generator).integers(low, high, shape).astype(d, copy=False), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1."""
    if int(n) < 0:
        raise ArgumentError(f"randperm(): n must be non-negative, got {n}")
    d = _dt.int64.numpy if dtype is None else _dt.to_numpy(dtype)
    return _out(_gen(generator).permutation(int(n)).astype(d, copy=False), requires_grad)


def rand_like(input, *, dtype=None, generator=None, requires_grad=False):
    return rand(*input.shape, dtype=dtype or input.dtype, generator=generator, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, requires_grad=False):
    return randn(*input.shape, dtype=dtype or input.dtype, generator=generator, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, generator=generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None):
    """Normal samples with the given mean and std (numbers or tensors, broadcast)."""
    from lamina.tensor import Tensor
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if size is None:
        size = xp.broadcast_shapes(xp.shape(m), xp.shape(s))
    d = _float(dtype if dtype is not None else (mean.dtype if isinstance(mean, Tensor) else None), "normal")
    return _out((m + s * _gen(generator).standard_normal(tuple(size))).astype(d), False)


def bernoulli(input, p=None, *, generator=None):
    """Draw 0/1 with probability ``input`` (or ``p``), in input's dtype."""
    probs = input._data if p is None else p
    if xp.any((xp.asarray(probs) < 0) | (xp.asarray(probs) > 1)):
        raise ArgumentError("bernoulli(): probabilities must lie in [0, 1]")
    return _out((_gen(generator).random(input.shape) < probs).astype(input._data.dtype), False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Sample category indices from (batches of) non-negative weights."""
    w = input._data.astype(xp.float64)
    if w.ndim not in (1, 2):
        raise ArgumentError(f"multinomial(): expected a 1-d or 2-d input, got {w.ndim}-d")
    if xp.any(w < 0) or not xp.all(xp.isfinite(w)):
        raise ArgumentError("multinomial(): weights must be finite and non-negative")
    rows = w.reshape(-1, w.shape[-1])
    totals = rows.sum(-1)
    if xp.any(totals <= 0):
        raise ArgumentError("multinomial(): every row of weights must have a positive sum")
    if not replacement and num_samples > rows.shape[-1]:
        raise ArgumentError(f"multinomial(): cannot sample {num_samples} > {rows.shape[-1]} categories "
                            "without replacement")
    g = _gen(generator)
    out = xp.empty((rows.shape[0], num_samples), dtype=xp.int64)
    for i, (row, total) in enumerate(zip(rows, totals)):
        out[i] = g.choice(row.shape[0], size=num_samples, replace=replacement, p=row / total)
    return _out(out.reshape(w.shape[:-1] + (num_samples,)), False)


# Out-of-place fills that Tensor.uniform_/normal_/... write back in place.

def uniform_like(t, a=0.0, b=1.0, *, generator=None):
    return _out((a + (b - a) * _gen(generator).random(t.shape)).astype(t._data.dtype), False)


def normal_like(t, mean=0.0, std=1.0, *, generator=None):
    return _out((mean + std * _gen(generator).standard_normal(t.shape)).astype(t._data.dtype), False)


def bernoulli_like(t, p=0.5, *, generator=None):
    return _out((_gen(generator).random(t.shape) < p).astype(t._data.dtype), False)


def exponential_like(t, lambd=1.0, *, generator=None):
    return _out(_gen(generator).exponential(1.0 / lambd, t.shape).astype(t._data.dtype), False)


def randint_like_values(t, low=0, high=None, *, generator=None):
    if high is None:
        low, high = 0, low if low else 2 ** 24
    return _out(_gen(generator).integers(low, high, t.shape).astype(t._data.dtype), False)

"""``keras.random``: random tensors with Keras's names and seeding rules, drawn from lamina's generators.

A ``seed`` is one of:

- ``None``: draw from lamina's default generator, so ``lamina.manual_seed`` makes the result reproducible;
- an int: a fresh generator seeded with it, so the same call gives the same values every time (Keras's rule);
- a ``SeedGenerator``: its own generator, which advances with each call (the way to get different values from
  call to call with a fixed starting seed).

NumPy's global random state is never touched.

Example:
    >>> from lamina.keras import random
    >>> random.normal((2, 3), seed=1).shape
    lamina.Size([2, 3])
"""
from lamina import dtypes as _dt
from lamina import random as _random
from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.ops.index import index_select
from lamina.tensor import Tensor


class SeedGenerator:
    """A stateful source of random numbers for layers and functions that draw several times (Dropout).

    Args:
        seed: the starting seed; None draws one from lamina's default generator (so ``lamina.manual_seed``
            fixes it).

    Example:
        >>> gen = SeedGenerator(1337)
        >>> a, b = uniform((2,), seed=gen), uniform((2,), seed=gen)   # different values, reproducible
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ArgumentError(f"SeedGenerator(): seed must be an int or None, got {seed!r}")
        self._initial_seed = seed
        if seed is None:
            seed = int(_random.default_generator.np.integers(0, 2 ** 31 - 1))
        self.seed = seed
        self.name = name or "seed_generator"
        self.generator = _random.Generator().manual_seed(seed)

    def next(self, ordered=True):
        """A new int seed drawn from this generator (advances it)."""
        return int(self.generator.np.integers(0, 2 ** 31 - 1))

    def get_config(self):
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator seed={self.seed}>"


def make_default_seed():
    """An int seed drawn from lamina's default generator."""
    return int(_random.default_generator.np.integers(0, 2 ** 31 - 1))


def numpy_generator(seed, op="keras.random"):
    """The NumPy ``Generator`` a ``seed`` stands for (see the module docstring)."""
    if seed is None:
        return _random.default_generator.np
    if isinstance(seed, SeedGenerator):
        return seed.generator.np
    if isinstance(seed, int) and not isinstance(seed, bool):
        return _random.Generator().manual_seed(seed).np
    raise ArgumentError(f"{op}(): seed must be None, an int or a SeedGenerator, got {seed!r}")


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)


def _float_dtype(dtype, op):
    d = _dt.float32 if dtype is None else _dt.as_dtype(dtype)
    if not d.is_floating_point:
        raise ArgumentError(f"{op}(): dtype must be a floating dtype, got {d}")
    return d.numpy


def _out(array):
    return Tensor._make(xp.ascontiguousarray(array))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution (float32 unless ``dtype`` says otherwise)."""
    gen = numpy_generator(seed, "keras.random.normal")
    return _out((gen.standard_normal(_shape(shape)) * stddev + mean).astype(_float_dtype(dtype, "normal")))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from the uniform distribution on ``[minval, maxval)``."""
    gen = numpy_generator(seed, "keras.random.uniform")
    return _out(gen.uniform(minval, maxval, _shape(shape)).astype(_float_dtype(dtype, "uniform")))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples, each one farther than two standard deviations from the mean redrawn."""
    gen = numpy_generator(seed, "keras.random.truncated_normal")
    values = gen.standard_normal(_shape(shape))
    bad = xp.abs(values) > 2.0
    while bad.any():
        values[bad] = gen.standard_normal(int(bad.sum()))
        bad = xp.abs(values) > 2.0
    return _out((values * stddev + mean).astype(_float_dtype(dtype, "truncated_normal")))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform on ``[minval, maxval)``."""
    gen = numpy_generator(seed, "keras.random.randint")
    return _out(gen.integers(minval, maxval, _shape(shape)).astype(_dt.as_dtype(dtype).numpy))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (shape ``(batch, classes)``), drawn with replacement
    with probabilities ``softmax(logits)``."""
    gen = numpy_generator(seed, "keras.random.categorical")
    z = xp.asarray(logits._data if isinstance(logits, Tensor) else logits, dtype=xp.float64)
    if z.ndim != 2:
        raise ArgumentError(f"keras.random.categorical(): logits must be 2-d (batch, classes), got shape {z.shape}")
    p = xp.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    # Inverse-CDF sampling: the first class whose cumulative probability exceeds a uniform draw.
    draws = gen.random((z.shape[0], num_samples))
    index = (xp.cumsum(p, axis=1)[:, None, :] <= draws[:, :, None]).sum(axis=2)
    return _out(xp.minimum(index, z.shape[1] - 1).astype(_dt.as_dtype(dtype).numpy))


def gamma(shape, alpha, dtype=None, seed=None):
    gen = numpy_generator(seed, "keras.random.gamma")
    return _out(gen.gamma(alpha, 1.0, _shape(shape)).astype(_float_dtype(dtype, "gamma")))


def beta(shape, alpha, beta, dtype=None, seed=None):
    gen = numpy_generator(seed, "keras.random.beta")
    return _out(gen.beta(alpha, beta, _shape(shape)).astype(_float_dtype(dtype, "beta")))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    gen = numpy_generator(seed, "keras.random.binomial")
    return _out(gen.binomial(counts, probabilities, _shape(shape)).astype(_float_dtype(dtype, "binomial")))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``; ``noise_shape``
    (broadcastable to the input's shape, None entries taken from it) shares one draw across axes."""
    if not 0.0 <= rate < 1.0:
        raise ArgumentError(f"keras.random.dropout(): rate must be in [0, 1), got {rate!r}")
    shape = tuple(inputs.shape)
    if noise_shape is None:
        noise_shape = shape
    else:
        noise_shape = tuple(s if n is None else n for n, s in zip(noise_shape, shape))
    if rate == 0.0:
        return inputs
    gen = numpy_generator(seed, "keras.random.dropout")
    keep = (gen.random(noise_shape) >= rate).astype(inputs._data.dtype) / (1.0 - rate)
    return inputs * Tensor._make(keep)


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order."""
    gen = numpy_generator(seed, "keras.random.shuffle")
    t = x if isinstance(x, Tensor) else Tensor._make(xp.asarray(x))
    order = gen.permutation(t.shape[axis])
    return index_select(t, axis, Tensor._make(order))

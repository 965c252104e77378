"""``keras.initializers``: weight initializers with Keras's names, defaults, fan rules and seeding.

An initializer is called as ``init(shape, dtype=None)`` and returns a lamina Tensor (float32 by default).
Seeds follow Keras: an initializer built with ``seed=None`` draws a seed once, at construction, from lamina's
default generator (so ``lamina.manual_seed`` before building a model makes it reproducible), and like one seeded
with an int it returns the same values on every call; give it a ``keras.random.SeedGenerator`` to get new values
on each call.

Example:
    >>> from lamina.keras import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> init((4, 3)).shape
    lamina.Size([4, 3])
"""
import math

from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import random as _krandom
from lamina.keras import saving
from lamina.tensor import Tensor


def _tensor(array, dtype):
    """A NumPy result as a Tensor of ``dtype`` (float32 by default)."""
    d = _dt.float32 if dtype is None else _dt.as_dtype(dtype)
    return Tensor._make(xp.ascontiguousarray(xp.asarray(array).astype(d.numpy)))


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None)")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ---- constant initializers -------------------------------------------------------------------------------------
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return Tensor._make(xp.zeros(tuple(shape), dtype=_dt.as_dtype(dtype or "float32").numpy))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return Tensor._make(xp.ones(tuple(shape), dtype=_dt.as_dtype(dtype or "float32").numpy))


class Constant(Initializer):
    """Every element equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return Tensor._make(xp.full(tuple(shape), self.value, dtype=_dt.as_dtype(dtype or "float32").numpy))

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""
    # Saved as "IdentityInitializer" (a Keras alias) so it is not confused with the Identity layer.
    _registered_name = "IdentityInitializer"

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ShapeError(f"Identity initializer: expected a 2-d shape, got {tuple(shape)}")
        return _tensor(self.gain * xp.eye(*shape), dtype)

    def get_config(self):
        return {"gain": self.gain}


# ---- random initializers ---------------------------------------------------------------------------------------
class RandomInitializer(Initializer):
    """Holds the seed (see the module docstring); ``get_config`` reports the seed the user gave."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, _krandom.SeedGenerator) and (
                isinstance(seed, bool) or not isinstance(seed, int)):
            raise ArgumentError(f"{type(self).__name__}(): seed must be None, an int or a "
                                f"keras.random.SeedGenerator, got {seed!r}")
        self._init_seed = seed
        self.seed = _krandom.make_default_seed() if seed is None else seed

    def get_config(self):
        return {"seed": self._init_seed if not isinstance(self._init_seed, _krandom.SeedGenerator) else None}


class RandomNormal(RandomInitializer):
    """Normal samples with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _krandom.normal(shape, self.mean, self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal samples, those beyond two standard deviations redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _krandom.truncated_normal(shape, self.mean, self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Uniform samples on ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _krandom.uniform(shape, self.minval, self.maxval, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of a weight shape, Keras's rule: a vector is its own fan in and out; a matrix is
    ``(in, out)``; a convolution kernel ``(*k, in, out)`` multiplies both by the receptive field ``prod(k)``."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(RandomInitializer):
    """Samples with variance ``scale / n``, ``n`` the fan in, the fan out or their mean (``mode``).

    ``distribution='uniform'`` draws on ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``;
    ``'truncated_normal'`` draws a normal truncated at two standard deviations, its stddev divided by 0.8796...
    (the stddev of a unit normal truncated there) so the samples' variance is still ``scale / n``;
    ``'untruncated_normal'`` draws a plain normal.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if scale <= 0.0:
            raise ArgumentError(f"VarianceScaling(): scale must be positive, got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ArgumentError(f"VarianceScaling(): mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        distribution = distribution.lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ArgumentError(f"VarianceScaling(): distribution must be 'uniform', 'truncated_normal' or "
                                f"'untruncated_normal', got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return _krandom.truncated_normal(shape, 0.0, math.sqrt(scale) / 0.87962566103423978, dtype=dtype,
                                             seed=self.seed)
        if self.distribution == "untruncated_normal":
            return _krandom.normal(shape, 0.0, math.sqrt(scale), dtype=dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return _krandom.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution; only the seed and fan axes are configurable."""
    _preset = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": RandomInitializer.get_config(self)["seed"], "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (Xavier uniform)."""
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))``."""
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""
    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal with stddev ``sqrt(2 / fan_in)``."""
    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)``."""
    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with stddev ``sqrt(1 / fan_in)``."""
    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, times ``gain``; shapes of rank
    > 2 are treated as ``(prod(shape[:-1]), shape[-1])``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ShapeError(f"Orthogonal initializer: expected a shape of rank >= 2, got {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        gen = _krandom.numpy_generator(self.seed, "Orthogonal")
        a = gen.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diag(r))  # makes the decomposition unique, so Q is uniformly distributed
        if rows < cols:
            q = q.T
        return _tensor(self.gain * q.reshape(tuple(shape)), dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, TruncatedNormal, RandomUniform, VarianceScaling,
            GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal)
for _cls in _CLASSES:
    saving.register_builtin(_cls, getattr(_cls, "_registered_name", None))

# Names accepted by ``get``: class names, Keras's snake_case names and its aliases.
_ALIASES = {cls.__name__: cls for cls in _CLASSES}
_ALIASES.update({
    "zeros": Zeros, "ones": Ones, "constant": Constant, "identity": Identity, "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "random_uniform": RandomUniform, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
    "normal": RandomNormal, "uniform": RandomUniform, "zero": Zeros, "one": Ones,
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
})

# Lower-case function-style aliases, as in ``keras.initializers.glorot_uniform``.
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, truncated_normal, random_uniform, variance_scaling = (RandomNormal, TruncatedNormal, RandomUniform,
                                                                     VarianceScaling)
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal, orthogonal = LecunUniform, LecunNormal, Orthogonal


def get(identifier):
    """An initializer from a name (``'glorot_uniform'``, ``'GlorotUniform'``), a config dict, a class, an
    instance or any callable ``fn(shape, dtype=None)``; None stays None."""
    return saving.get_object(identifier, _ALIASES, Initializer, "initializer")


def serialize(initializer):
    """The config record of an initializer (None stays None)."""
    return saving.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    return saving.deserialize_keras_object(config, custom_objects)

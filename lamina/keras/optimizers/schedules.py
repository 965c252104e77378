"""``keras.optimizers.schedules``: learning rates as functions of the optimizer's step count.

A schedule is passed as an optimizer's ``learning_rate``; before each update the optimizer calls it with
``optimizer.iterations`` (the number of updates done so far) and uses the value it returns. Values are computed
in float32, as Keras computes them, and returned as 0-d float32 Tensors.

Example:
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96)
    >>> opt = keras.optimizers.SGD(learning_rate=schedule)
    >>> float(schedule(100))
    0.096
"""
import math

from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.tensor import Tensor

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]

_f32 = xp.float32


def _step(step):
    """The step count as a float32 scalar (a Python number, array or Tensor)."""
    if isinstance(step, Tensor):
        step = step._data
    return _f32(xp.asarray(step))


def _out(value):
    return Tensor._make(xp.asarray(value, dtype=_f32))


def _check_positive(who, name, value):
    if value <= 0:
        raise ArgumentError(f"keras.optimizers.schedules.{who}: {name} must be > 0, got {value!r}")


class LearningRateSchedule:
    """Base class of schedules: subclasses implement ``__call__(step)`` and ``get_config()``.

    Example:
        >>> class Halving(keras.optimizers.schedules.LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 * 0.5 ** (float(step) // 1000)
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__!r} must override __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__!r} must override get_config() "
                                  "to be serializable")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored with ``staircase``).

    Example:
        >>> ExponentialDecay(1e-2, decay_steps=10000, decay_rate=0.9, staircase=True)
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _check_positive("ExponentialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _step(step) / _f32(self.decay_steps)
        if self.staircase:
            p = xp.floor(p)
        return _out(_f32(self.initial_learning_rate) * xp.power(_f32(self.decay_rate), p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    Example:
        >>> PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1])
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ArgumentError("keras.optimizers.schedules.PiecewiseConstantDecay: boundaries must have one "
                                f"element fewer than values; got {len(boundaries)} boundaries and {len(values)} "
                                "values")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = float(_step(step))
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return _out(value)
        return _out(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``; with ``cycle`` the decay restarts with a
    longer period each time ``decay_steps`` is passed, else the rate stays at ``end_learning_rate``.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _step(step)
        decay_steps = _f32(self.decay_steps)
        if self.cycle:
            multiplier = _f32(1.0) if step == 0 else xp.ceil(step / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        initial, end = _f32(self.initial_learning_rate), _f32(self.end_learning_rate)
        return _out((initial - end) * xp.power(_f32(1) - p, _f32(self.power)) + end)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _check_positive("InverseTimeDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _step(step) / _f32(self.decay_steps)
        if self.staircase:
            p = xp.floor(p)
        return _out(_f32(self.initial_learning_rate) / (_f32(1) + _f32(self.decay_rate) * p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` to ``alpha * initial_learning_rate`` over ``decay_steps``,
    after an optional linear warmup to ``warmup_target`` over ``warmup_steps``.

    Without warmup: ``lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))
    + alpha)``. With ``warmup_target``, the cosine starts from ``warmup_target`` once the warmup is over.

    Example:
        >>> CosineDecay(0.0, decay_steps=1000, warmup_target=0.1, warmup_steps=100)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _check_positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, decay_from):
        fraction = step / decay_steps
        cosine = _f32(0.5) * (_f32(1.0) + xp.cos(_f32(math.pi) * fraction))
        return decay_from * ((_f32(1) - _f32(self.alpha)) * cosine + _f32(self.alpha))

    def __call__(self, step):
        initial = _f32(self.initial_learning_rate)
        decay_steps = _f32(self.decay_steps)
        step = _step(step)
        if self.warmup_target is None:
            return _out(self._decay(min(step, decay_steps), decay_steps, initial))
        target, warmup_steps = _f32(self.warmup_target), _f32(self.warmup_steps)
        step = min(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            return _out((target - initial) * (step / warmup_steps) + initial)
        return _out(self._decay(step - warmup_steps, decay_steps, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period ``first_decay_steps``, each next period ``t_mul`` times
    longer and its peak ``m_mul`` times lower; the floor is ``alpha * initial_learning_rate``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / _f32(self.first_decay_steps)
        t_mul, m_mul, alpha = _f32(self._t_mul), _f32(self._m_mul), _f32(self.alpha)
        if t_mul == 1.0:
            i_restart = xp.floor(fraction)
            fraction = fraction - i_restart
        else:
            # the period index i solves sum_{j<i} t_mul^j <= fraction (a geometric series)
            i_restart = xp.floor(xp.log(_f32(1.0) - fraction * (_f32(1.0) - t_mul)) / xp.log(t_mul))
            sum_r = (_f32(1.0) - xp.power(t_mul, i_restart)) / (_f32(1.0) - t_mul)
            fraction = (fraction - sum_r) / xp.power(t_mul, i_restart)
        m_fac = xp.power(m_mul, i_restart)
        cosine = _f32(0.5) * m_fac * (_f32(1.0) + xp.cos(_f32(math.pi) * fraction))
        return _out(_f32(self.initial_learning_rate) * ((_f32(1) - alpha) * cosine + alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                            InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    """``{"class_name": ..., "config": ...}`` of a built-in schedule."""
    if type(schedule).__name__ not in _SCHEDULES:
        raise ArgumentError(f"keras.optimizers.schedules.serialize(): cannot serialize {schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The inverse of ``serialize``; only built-in schedules are recognised (no import by name)."""
    cls = _SCHEDULES.get(config.get("class_name")) if isinstance(config, dict) else None
    if cls is None:
        raise ArgumentError(f"keras.optimizers.schedules.deserialize(): unknown schedule config {config!r}")
    return cls.from_config(dict(config.get("config", {})))

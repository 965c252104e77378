"""``keras.utils``: one-hot labels, global seeding and Keras's progress bar.

Example:
    >>> from lamina.keras import utils
    >>> utils.to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    >>> utils.set_random_seed(42)   # same weights, dropout masks and shuffling on every run
"""
import math
import os
import random as _py_random
import sys
import time

from lamina import random as _random
from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.keras.backend import clear_session, is_keras_tensor
from lamina.keras.saving import (
    CustomObjectScope, custom_object_scope, deserialize_keras_object, get_registered_name, get_registered_object,
    register_keras_serializable, serialize_keras_object,
)
from lamina.tensor import Tensor

# Keras re-exports the serialization registry and clear_session under keras.utils too.
__all__ = ["to_categorical", "set_random_seed", "Progbar", "clear_session", "is_keras_tensor", "CustomObjectScope",
           "custom_object_scope", "deserialize_keras_object", "get_registered_name", "get_registered_object",
           "register_keras_serializable", "serialize_keras_object"]


# ---- labels -------------------------------------------------------------------------------------------------

def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels (``keras.utils.to_categorical``).

    Args:
        x: integer labels, any shape (a trailing axis of size 1 is dropped, as Keras does).
        num_classes: number of classes; ``max(x) + 1`` when None.
    Returns:
        A float32 array of shape ``x.shape + (num_classes,)``: a NumPy array, or a lamina Tensor for a Tensor input.

    Example:
        >>> to_categorical([1, 0], num_classes=2)
        array([[0., 1.],
               [1., 0.]], dtype=float32)
    """
    is_tensor = isinstance(x, Tensor)
    labels = xp.asarray(x._data if is_tensor else x)
    if labels.dtype.kind == "f":
        if not xp.all(labels == xp.round(labels)):
            raise ArgumentError("keras.utils.to_categorical(): x must hold integer class labels, got "
                                "non-integer values")
        labels = labels.astype(xp.int64)
    elif labels.dtype.kind not in "iub":
        raise ArgumentError(f"keras.utils.to_categorical(): x must hold integer class labels, got dtype "
                            f"{labels.dtype}")
    labels = labels.astype(xp.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ArgumentError(f"keras.utils.to_categorical(): labels must lie in [0, num_classes={num_classes}), got "
                            f"values from {int(flat.min())} to {int(flat.max())}")
    out = xp.zeros((flat.size, num_classes), dtype=xp.float32)
    out[xp.arange(flat.size), flat] = 1.0
    out = out.reshape(tuple(shape) + (num_classes,))
    return Tensor._make(out) if is_tensor else out


# ---- seeding ------------------------------------------------------------------------------------------------

def set_random_seed(seed):
    """Seed every random source a Keras script uses (``keras.utils.set_random_seed``).

    Seeds lamina's generator (weight initialisation, dropout, ``fit``'s shuffling), Python's ``random`` and, as
    Keras does for user code, NumPy's global generator. Lamina itself never draws from NumPy's global state.

    Example:
        >>> set_random_seed(1337)
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ArgumentError(f"keras.utils.set_random_seed(): seed must be an int, got {seed!r}")
    _random.manual_seed(seed)
    _py_random.seed(seed)
    xp.random.seed(seed % (2 ** 32))


# ---- progress bar -------------------------------------------------------------------------------------------

_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
_BAR = "\u2501"  # the heavy horizontal line Keras 3 draws its bar with


def _stdout_is_tty():
    return bool(getattr(sys.stdout, "isatty", None) and sys.stdout.isatty()) or "ipykernel" in sys.modules \
        or "PYCHARM_HOSTED" in os.environ


def _write(message):
    try:
        sys.stdout.write(message)
    except UnicodeEncodeError:  # a stdout that cannot encode the bar character: Keras 2's '='
        sys.stdout.write(message.replace(_BAR, "="))
    sys.stdout.flush()


class Progbar:
    """Keras's progress bar (``keras.utils.Progbar``), as ``fit``, ``evaluate`` and ``predict`` print it.

    On a terminal, verbose=1 redraws one line per update::

        12/57 ━━━━━━━━━━━━━━━━━━━━ 1s 20ms/step - accuracy: 0.7812 - loss: 0.6931

    and ends with the line of the finished epoch (elapsed time instead of the ETA). When stdout is not a terminal
    (a log file, a pipe, a captured stream) only that final line is written, without colours, so logs stay
    readable. verbose=2 writes only the final line, in its compact form
    ``57/57 - 1s - 20ms/step - accuracy: 0.9000 - loss: 0.3100``; verbose=0 writes nothing.

    Args:
        target: total number of steps, or None if unknown.
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (bar) or 2 (one line at the end).
        interval: minimum seconds between two redraws.
        stateful_metrics: names whose values are shown as given (not averaged over the updates).
        stateless_metrics: names whose values are averaged over the updates; give at most one of the two.
        unit_name: what a step is called in the time per step (``"step"``).

    Example:
        >>> bar = Progbar(target=10)
        >>> for i in range(10):
        ...     bar.update(i + 1, values=[("loss", 0.5)])
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, stateless_metrics=None,
                 unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ArgumentError("Progbar(): give at most one of stateful_metrics and stateless_metrics")
        if verbose not in (0, 1, 2):
            raise ArgumentError(f"Progbar(): verbose must be 0, 1 or 2, got {verbose!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        # With neither list, every value is averaged over the updates (Keras's default).
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else \
            (None if stateless_metrics is not None else set())
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        self._dynamic_display = _stdout_is_tty()
        self._seen_so_far = 0
        self._values = {}        # name -> [weighted sum, weight]
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    # ---- public ----------------------------------------------------------------------------------------------
    def update(self, current, values=None, finalize=None):
        """Record the values of step ``current`` and redraw.

        Args:
            current: index of the current step (1-based count of finished steps).
            values: ``[(name, value), ...]`` for this step.
            finalize: whether this is the last update; default ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values or [], finalize)
        now = time.time()
        time_per_unit = self._step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if self._dynamic_display:
                self._draw_dynamic(current, now, time_per_unit, finalize)
            elif finalize:
                _write(self._plain_line(current, now, time_per_unit) + "\n")
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            _write(self._compact_line(current, now, time_per_unit) + "\n")
        self._last_update = now

    def add(self, n, values=None):
        """Advance by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # ---- bookkeeping -----------------------------------------------------------------------------------------
    def _is_stateless(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def _record(self, current, values, finalize):
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            value = _to_number(value)
            if self._is_stateless(name) and not finalize and isinstance(value, float):
                # weight each value by the steps it covers, so the shown value is a running mean
                steps = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * steps
                total[1] += steps
            else:
                self._values[name] = [value, 1]
        self._seen_so_far = current

    def _step_duration(self, current, now):
        # The first step (graph building, caches) is not representative: leave it out once there are others.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit

    # ---- formatting ------------------------------------------------------------------------------------------
    def _mean(self, name):
        total, count = self._values[name]
        if not isinstance(total, (int, float)):
            return total
        return float(total) / max(1, count)

    def _metrics_text(self, compact=False):
        text = ""
        for name in self._values_order:
            avg = self._mean(name)
            if not isinstance(avg, float):
                text += f" - {name}: {avg}"
                continue
            # verbose=2 compares the value itself with 1e-3, verbose=1 its magnitude (as Keras does)
            big = avg > 1e-3 if compact else abs(avg) > 1e-3
            text += f" - {name}: {avg:.4f}" if big else f" - {name}: {avg:.4e}"
        return text

    def _format_time(self, time_per_unit):
        if time_per_unit >= 1 or time_per_unit == 0:
            return f" {time_per_unit:.0f}s/{self.unit_name}"
        if time_per_unit >= 1e-3:
            return f" {time_per_unit * 1e3:.0f}ms/{self.unit_name}"
        return f" {time_per_unit * 1e6:.0f}us/{self.unit_name}"

    def _counter(self, current):
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    @staticmethod
    def _eta(seconds):
        if seconds > 3600:
            return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
        if seconds > 60:
            return "%d:%02d" % (seconds // 60, seconds % 60)
        return "%ds" % seconds

    def _draw_dynamic(self, current, now, time_per_unit, finalize):
        message = "\b" * self._prev_total_width + "\r"
        if self.target is not None and self.target > 0:
            filled = int(self.width * float(current) / self.target)
            bar = f"{_BOLD}{self._counter(current)}{_RESET} "
            visible_bar = len(self._counter(current)) + 1 + self.width
            if filled > 0:
                bar += f"{_GREEN}{_BAR * filled}{_RESET}"
            bar += f"{_GREY}{_BAR * (self.width - filled)}{_RESET}"
        else:
            bar = "%7d/Unknown" % current
            visible_bar = len(bar)
        if self.target is not None and self.target > 0 and not finalize:
            clock = self._eta(time_per_unit * (self.target - current))
        else:
            clock = f"{now - self._start:.0f}s"
        info = f" {_BOLD}{clock}{_RESET}" + self._format_time(time_per_unit) + self._metrics_text()
        total_width = visible_bar + len(info) - len(_BOLD) - len(_RESET)
        message += bar + info
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        _write(message)
        self._prev_total_width = total_width

    def _plain_line(self, current, now, time_per_unit):
        """The finished line without colours or redraw characters (stdout is not a terminal)."""
        if self.target is not None and self.target > 0:
            filled = int(self.width * float(current) / self.target)
            head = f"{self._counter(current)} {_BAR * filled}{_BAR * (self.width - filled)}"
        else:
            head = "%7d/Unknown" % current
        return f"{head} {now - self._start:.0f}s" + self._format_time(time_per_unit) + self._metrics_text()

    def _compact_line(self, current, now, time_per_unit):
        return (f"{self._counter(current)} - {now - self._start:.0f}s -" + self._format_time(time_per_unit)
                + self._metrics_text(compact=True))


def _to_number(value):
    """A log value as a Python float (tensors and 0-d arrays included); other values pass through."""
    if isinstance(value, Tensor):
        value = value._data
    try:
        return float(value)
    except (TypeError, ValueError):
        return value

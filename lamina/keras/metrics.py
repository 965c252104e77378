"""``keras.metrics``: stateful metrics with Keras 3's semantics (``update_state``, ``result``, ``reset_state``).

A metric accumulates its state in non-trainable variables over the batches of an epoch; ``result()`` returns
the value so far as a 0-d float32 Tensor. Metrics compute outside autograd, on the arrays of their inputs.

Example:
    >>> m = keras.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([1, 2], [[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])
    >>> float(m.result())
    0.5
"""
import inspect

from lamina import dtypes as _dt
from lamina.autograd import no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import losses as _losses
from lamina.keras.backend import Variable, to_snake_case, unique_name
from lamina.tensor import Tensor

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanSquaredError",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "RootMeanSquaredError",
    "CosineSimilarity", "LogCoshError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "get", "serialize", "deserialize",
]

NEG_INF = -1e10  # what top_k filtering writes over the predictions it drops


# ---- array helpers ------------------------------------------------------------------------------------------

def _array(x, dtype=None):
    """The backend array of a Tensor, NumPy array, list or number (no copy when possible)."""
    array = x._data if isinstance(x, Tensor) else xp.asarray(x)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def _same_rank(x1, x2, expand_rank_1=True):
    """Keras's squeeze_or_expand_to_same_rank on arrays."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _result(value):
    return Tensor._make(xp.asarray(value, dtype=xp.float32))


def _divide_no_nan(a, b):
    a, b = xp.asarray(a, dtype=xp.float32), xp.asarray(b, dtype=xp.float32)
    safe = xp.where(b == 0, xp.float32(1), b)
    return xp.where(b == 0, xp.float32(0), a / safe).astype(xp.float32)


def _initial_value(initializer, shape, dtype):
    if initializer is None or initializer in ("zeros", "Zeros"):
        return xp.zeros(shape, dtype=dtype)
    if initializer in ("ones", "Ones"):
        return xp.ones(shape, dtype=dtype)
    if isinstance(initializer, (int, float)):
        return xp.full(shape, initializer, dtype=dtype)
    if callable(initializer):
        value = initializer(shape, dtype=_dt.as_dtype(dtype))
        return _array(value, dtype).reshape(shape).copy()
    raise ArgumentError(f"keras.metrics: unknown initializer {initializer!r}; expected 'zeros', 'ones', a number "
                        "or a callable initializer(shape, dtype)")


# ---- base classes -------------------------------------------------------------------------------------------

class Metric:
    """Base class of metrics (``keras.metrics.Metric``).

    Subclasses create their state with ``add_variable`` in ``__init__`` and implement ``update_state`` and
    ``result``; ``reset_state`` sets every variable back to zeros.

    Args:
        dtype: the dtype of the state (float32 by default).
        name: the metric's name (its snake-case class name, made unique, by default).

    Example:
        >>> class CountPositive(keras.metrics.Metric):
        ...     def __init__(self, name="count_positive"):
        ...         super().__init__(name=name)
        ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.count.assign(self.count + (y_pred > 0).float().sum())
        ...     def result(self):
        ...         return self.count
    """

    _direction = None  # "up" if larger is better, "down" if smaller is; None when unknown

    def __init__(self, dtype=None, name=None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype = "float32" if dtype is None else _dt.as_dtype(dtype).name
        self._variables = []
        self._metrics = []

    @property
    def dtype(self):
        return self._dtype

    def __setattr__(self, name, value):
        # track sub-metrics assigned as attributes, so their variables count as this metric's
        if isinstance(value, Metric) and name != "_metrics" and "_metrics" in self.__dict__:
            self._metrics.append(value)
        object.__setattr__(self, name, value)

    def _check_init(self):
        if "_variables" not in self.__dict__:
            raise ArgumentError(f"{type(self).__name__}: call super().__init__() in __init__ before creating "
                                "variables")

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Create a non-trainable state variable of ``shape`` (a ``keras.Variable``)."""
        self._check_init()
        dtype = _dt.as_dtype(dtype or self._dtype).numpy
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (() if shape is None else (int(shape),))
        variable = Variable(Tensor._make(_initial_value(initializer, shape, dtype)), trainable=False, name=name)
        variable.path = f"{self.name}/{name}" if name else self.name
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Same as ``add_variable`` (Keras's older name)."""
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """The state variables of this metric and of its sub-metrics."""
        out = list(self._variables)
        for metric in self._metrics:
            out.extend(metric.variables)
        return out

    def reset_state(self):
        """Set every state variable back to zeros (at the start of each epoch)."""
        for v in self.variables:
            v._data[...] = 0
            v._vc[0] += 1

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args, **kwargs):
        """``update_state(*args, **kwargs)`` then ``result()``."""
        self._check_init()
        with no_grad():
            self.update_state(*args, **kwargs)
            return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


def _add_to(variable, value):
    variable._data += xp.asarray(value, dtype=variable._data.dtype)
    variable._vc[0] += 1


def _reduce_to_samplewise(values, sample_weight, reduce_fn):
    """Weight ``values`` and reduce them to one value per sample (Keras's reduce_to_samplewise_values)."""
    values = _array(values, xp.float32)
    if sample_weight is not None:
        sample_weight = _array(sample_weight, xp.float32)
        values, sample_weight = _same_rank(values, sample_weight)
        if values.ndim > sample_weight.ndim:
            values = reduce_fn(values, axis=tuple(range(sample_weight.ndim, values.ndim)))
        try:
            sample_weight = xp.broadcast_to(sample_weight, values.shape)
        except ValueError:
            raise ShapeError(f"keras.metrics: sample_weight of shape {sample_weight.shape} does not broadcast to "
                             f"the values of shape {values.shape}") from None
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values given (``keras.metrics.Sum``).

    Example:
        >>> m = keras.metrics.Sum(); m.update_state([1, 3, 5, 7]); float(m.result())
        16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _reduce_to_samplewise(values, sample_weight, xp.sum)
        _add_to(self.total, xp.sum(values, dtype=xp.float32))

    def result(self):
        return _result(self.total._data)


class Mean(Metric):
    """The (weighted) mean of the values given (``keras.metrics.Mean``): ``sum(w * v) / sum(w)``.

    Example:
        >>> m = keras.metrics.Mean(); m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> float(m.result())
        2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None):
        if type(sample_weight) in (int, float) and isinstance(values, Tensor) and values._data.ndim == 0:
            # one scalar with a scalar weight (the loss tracker of fit, once a step): the general path's
            # conversions cost more than the arithmetic, and give the same total and count
            _add_to(self.total, xp.float32(values._data) * xp.float32(sample_weight))
            _add_to(self.count, xp.float32(sample_weight))
            return
        values, sample_weight = _reduce_to_samplewise(values, sample_weight, xp.mean)
        _add_to(self.total, xp.sum(values, dtype=xp.float32))
        if sample_weight is not None:
            count = xp.sum(sample_weight, dtype=xp.float32)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        _add_to(self.count, count)

    def result(self):
        total, count = self.total._data, self.count._data
        if total.ndim == 0 and count.ndim == 0:
            # float32 scalars divide as the float32 arrays of _divide_no_nan would, without its array calls
            t, c = xp.float32(total), xp.float32(count)
            return _result(t / c if c != 0 else xp.float32(0))
        return _result(_divide_no_nan(total, count))


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    Example:
        >>> m = keras.metrics.MeanMetricWrapper(keras.losses.huber, name="huber", delta=0.5)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ArgumentError(f"keras.metrics.MeanMetricWrapper: fn must be callable, got {fn!r}")
        super().__init__(name=name or _losses._object_name(fn), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in _losses.ALL_FUNCTIONS or isinstance(fn, _losses.Loss):
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        with no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            mask = _array(mask, xp.float32)
            sample_weight = mask if sample_weight is None else \
                xp.multiply(*_same_rank(mask, _array(sample_weight, xp.float32)))
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


# ---- accuracy -----------------------------------------------------------------------------------------------

def _f32(x):
    return Tensor._make(x.astype(xp.float32))


def _accuracy(y_true, y_pred):
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    return _f32(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``(y_pred > threshold) == y_true``, per element."""
    y_pred, y_true = _array(y_pred), _array(y_true)
    y_true, y_pred = _same_rank(y_true, y_pred)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return _f32(y_true == predicted)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` (one-hot targets)."""
    y_true = xp.argmax(_array(y_true), axis=-1)
    y_pred = _array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _f32(y_true == xp.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == y_true`` (integer labels; a trailing axis of 1 is accepted)."""
    y_pred = _array(y_pred)
    y_true = _array(y_true)
    original_shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
        reshape = True
    matches = (y_true.astype(y_pred.dtype) == xp.argmax(y_pred, axis=-1).astype(y_pred.dtype)).astype(xp.float32)
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return Tensor._make(matches)


def _in_top_k(targets, predictions, k):
    """Whether each target's score is at least the k-th largest score of its row (ties count as in)."""
    k = min(int(k), predictions.shape[-1])
    kth = -xp.partition(-predictions, k - 1, axis=-1)[:, k - 1]
    target_scores = xp.take_along_axis(predictions, targets.astype(xp.int64)[:, None], axis=-1)[:, 0]
    return target_scores >= kth


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the true class (argmax of one-hot ``y_true``) is among the ``k`` highest scores."""
    y_pred = _array(y_pred)
    y_true = xp.argmax(_array(y_true), axis=-1)
    shape = y_true.shape
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 2 else y_pred
    matches = _in_top_k(y_true.reshape(-1), flat_pred, k).astype(xp.float32)
    return Tensor._make(matches.reshape(shape) if len(shape) > 1 else matches)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest scores (or, with ``from_sorted_ids``, among the
    first ``k`` ids of ``y_pred``)."""
    y_pred = _array(y_pred)
    y_true = _array(y_true)
    shape = y_true.shape
    flat_true = y_true.reshape(-1)
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 2 else y_pred
    if from_sorted_ids:
        matches = xp.any(flat_true[:, None].astype(flat_pred.dtype) == flat_pred[:, :k], axis=1)
    else:
        matches = _in_top_k(flat_true, flat_pred, k)
    matches = matches.astype(xp.float32)
    return Tensor._make(matches.reshape(shape) if len(shape) > 1 else matches)


def _wrapper(class_name, fn, default_name, direction, doc, extra=()):
    """A MeanMetricWrapper subclass with Keras's constructor ``(name, dtype, <extra>)``."""
    def __init__(self, name=default_name, dtype=None, **kwargs):
        options = dict(extra)
        for key, value in kwargs.items():
            if key not in options:
                raise ArgumentError(f"keras.metrics.{class_name}: unexpected argument {key!r}")
            options[key] = value
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **options)
        for key, value in options.items():
            object.__setattr__(self, key, value)
        self._direction = direction

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


Accuracy = _wrapper("Accuracy", _accuracy, "accuracy", "up",
                    """How often predictions equal labels exactly (``keras.metrics.Accuracy``).""")
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, "binary_accuracy", "up",
                          """How often ``y_pred > threshold`` matches 0/1 labels (threshold 0.5).

    Example:
        >>> m = keras.metrics.BinaryAccuracy(threshold=0.5)
    """, extra=(("threshold", 0.5),))
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy", "up",
                               """How often the argmax of the prediction matches the one-hot label.""")
SparseCategoricalAccuracy = _wrapper(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy", "up",
    """How often the argmax of the prediction matches the integer label.""")
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy", "up",
                                   """How often the one-hot label is among the ``k`` (5) highest scores.""",
                                   extra=(("k", 5),))
SparseTopKCategoricalAccuracy = _wrapper(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy", "up",
    """How often the integer label is among the ``k`` (5) highest scores.""",
    extra=(("k", 5), ("from_sorted_ids", False)))


# ---- regression and probabilistic metrics (means of the loss functions) ----------------------------------------

MeanSquaredError = _wrapper("MeanSquaredError", _losses.mean_squared_error, "mean_squared_error", "down",
                            """Mean of squared errors over all samples seen.""")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", _losses.mean_absolute_error, "mean_absolute_error", "down",
                             """Mean of absolute errors over all samples seen.""")
MeanAbsolutePercentageError = _wrapper(
    "MeanAbsolutePercentageError", _losses.mean_absolute_percentage_error, "mean_absolute_percentage_error",
    "down", """Mean absolute percentage error over all samples seen.""")
MeanSquaredLogarithmicError = _wrapper(
    "MeanSquaredLogarithmicError", _losses.mean_squared_logarithmic_error, "mean_squared_logarithmic_error",
    "down", """Mean squared logarithmic error over all samples seen.""")
LogCoshError = _wrapper("LogCoshError", _losses.log_cosh, "logcosh", "down",
                        """Mean of ``log(cosh(y_pred - y_true))``.""")
Hinge = _wrapper("Hinge", _losses.hinge, "hinge", "down", """Mean hinge loss.""")
SquaredHinge = _wrapper("SquaredHinge", _losses.squared_hinge, "squared_hinge", "down",
                        """Mean squared hinge loss.""")
CategoricalHinge = _wrapper("CategoricalHinge", _losses.categorical_hinge, "categorical_hinge", "down",
                            """Mean categorical hinge loss.""")
KLDivergence = _wrapper("KLDivergence", _losses.kl_divergence, "kl_divergence", "down",
                        """Mean Kullback-Leibler divergence.""")
Poisson = _wrapper("Poisson", _losses.poisson, "poisson", "down", """Mean Poisson loss.""")
BinaryCrossentropy = _wrapper("BinaryCrossentropy", _losses.binary_crossentropy, "binary_crossentropy", "down",
                              """Mean binary cross-entropy.""",
                              extra=(("from_logits", False), ("label_smoothing", 0.0)))
CategoricalCrossentropy = _wrapper("CategoricalCrossentropy", _losses.categorical_crossentropy,
                                   "categorical_crossentropy", "down", """Mean categorical cross-entropy.""",
                                   extra=(("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)))
SparseCategoricalCrossentropy = _wrapper(
    "SparseCategoricalCrossentropy", _losses.sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
    "down", """Mean sparse categorical cross-entropy.""", extra=(("from_logits", False), ("axis", -1)))


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions along ``axis`` (1 for parallel vectors)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_cosine, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "up"


def _cosine(y_true, y_pred, axis=-1):
    return -_losses.cosine_similarity(y_true, y_pred, axis=axis)


class RootMeanSquaredError(Mean):
    """``sqrt(mean((y_true - y_pred) ** 2))`` over all elements seen (``keras.metrics.RootMeanSquaredError``)."""

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred, xp.float32)
        y_true = _array(y_true, xp.float32)
        y_true, y_pred = _same_rank(y_true, y_pred)
        return super().update_state(xp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return _result(xp.sqrt(_divide_no_nan(self.total._data, self.count._data)))


# ---- confusion-matrix metrics -------------------------------------------------------------------------------

def _thresholds(who, thresholds, default):
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ArgumentError(f"keras.metrics.{who}: threshold values must be in [0, 1], got {bad}")
    return [float(t) for t in values]


def _confusion_counts(y_true, y_pred, thresholds, top_k=None, class_id=None, sample_weight=None):
    """Weighted (tp, fp, tn, fn) per threshold, a prediction counting as positive when ``y_pred > threshold``."""
    y_true = _array(y_true, xp.float32)
    y_pred = _array(y_pred, xp.float32)
    y_pred, y_true = _same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = _array(sample_weight, xp.float32)[..., None]
        _, sample_weight = _same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        # keep the top_k scores of each row; the others can never pass a threshold
        order = xp.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]
        keep = xp.zeros(y_pred.shape, dtype=bool)
        xp.put_along_axis(keep, order, True, axis=-1)
        y_pred = xp.where(keep, y_pred, xp.float32(NEG_INF))
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ShapeError("keras.metrics: with class_id, y_pred must have shape (num_samples, num_classes), "
                             f"got {y_pred.shape}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if y_true.shape != y_pred.shape:
        try:
            y_true = xp.broadcast_to(y_true, y_pred.shape)
        except ValueError:
            raise ShapeError(f"keras.metrics: y_true of shape {y_true.shape} does not match y_pred of shape "
                             f"{y_pred.shape}") from None
    label = (y_true != 0).reshape(1, -1)
    predicted = y_pred.reshape(1, -1) > xp.asarray(thresholds, dtype=xp.float32)[:, None]
    weights = None
    if sample_weight is not None:
        weights = xp.broadcast_to(sample_weight, y_pred.shape).reshape(1, -1)

    def count(mask):
        if weights is None:
            return mask.sum(axis=1).astype(xp.float32)
        return xp.where(mask, weights, xp.float32(0)).sum(axis=1, dtype=xp.float32)

    return {"tp": lambda: count(label & predicted), "fp": lambda: count(~label & predicted),
            "tn": lambda: count(~label & ~predicted), "fn": lambda: count(label & ~predicted)}


class _ConfusionCount(Metric):
    _kind = None
    _direction = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(type(self).__name__, thresholds, 0.5)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = _confusion_counts(y_true, y_pred, self.thresholds, sample_weight=sample_weight)
        _add_to(self.accumulator, counts[self._kind]())

    def result(self):
        value = self.accumulator._data
        return _result(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted number of true positives (``y_pred > threshold`` and ``y_true`` nonzero)."""
    _kind = "tp"


class FalsePositives(_ConfusionCount):
    """The weighted number of false positives."""
    _kind = "fp"


class TrueNegatives(_ConfusionCount):
    """The weighted number of true negatives."""
    _kind = "tn"


class FalseNegatives(_ConfusionCount):
    """The weighted number of false negatives."""
    _kind = "fn"


class _PrecisionRecall(Metric):
    _other = None  # "fp" for precision, "fn" for recall
    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _thresholds(type(self).__name__, thresholds, 0.5 if top_k is None else NEG_INF)
        n = len(self.thresholds)
        self.true_positives = self.add_variable((n,), "zeros", name="true_positives")
        other = self.add_variable((n,), "zeros", name="false_positives" if self._other == "fp" else "false_negatives")
        object.__setattr__(self, "false_positives" if self._other == "fp" else "false_negatives", other)
        self._other_variable = other

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = _confusion_counts(y_true, y_pred, self.thresholds, top_k=self.top_k, class_id=self.class_id,
                                   sample_weight=sample_weight)
        _add_to(self.true_positives, counts["tp"]())
        _add_to(self._other_variable, counts[self._other]())

    def result(self):
        tp = self.true_positives._data
        value = _divide_no_nan(tp, tp + self._other_variable._data)
        return _result(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` over all samples seen (``keras.metrics.Precision``).

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction is positive when above it (0.5 default).
            With several thresholds, ``result()`` has one value per threshold.
        top_k: only the ``top_k`` highest predictions of each sample may count as positive.
        class_id: compute the metric for this class (column) only.
        name, dtype: as in ``Metric``.

    Example:
        >>> m = keras.metrics.Precision()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); float(m.result())
        0.6666667
    """
    _other = "fp"


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` over all samples seen (``keras.metrics.Recall``); arguments as in ``Precision``.

    Example:
        >>> m = keras.metrics.Recall()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); float(m.result())
        0.6666667
    """
    _other = "fn"


# ---- lookup -------------------------------------------------------------------------------------------------

_CLASSES = [
    Mean, Sum, MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, FalseNegatives, FalsePositives, TrueNegatives,
    TruePositives, Precision, Recall, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Accuracy, BinaryAccuracy,
    CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
]
_FUNCTIONS = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({to_snake_case(cls.__name__): cls for cls in _CLASSES})
_BY_NAME.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
                 "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
                 "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                 "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError})
_BY_NAME.update(_FUNCTIONS)


def get(identifier):
    """A metric from a name, a config dict, a Metric or a callable (``keras.metrics.get``).

    A name of a metric class gives a new instance (``"mse"`` -> ``MeanSquaredError()``), the name of a metric
    function gives the function; a callable is returned as is; None gives None.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = _BY_NAME.get(identifier)
        if obj is None:
            raise ArgumentError(f"keras.metrics.get(): unknown metric {identifier!r}; expected one of "
                                f"{sorted(_BY_NAME)}, a Metric or a callable fn(y_true, y_pred)")
    else:
        obj = identifier
    if inspect.isclass(obj):
        return obj()
    if callable(obj):
        return obj
    raise ArgumentError(f"keras.metrics.get(): could not interpret metric identifier {identifier!r}")


def serialize(metric):
    """A JSON-able config of a built-in metric, or the name of a metric function."""
    if isinstance(metric, Metric) and type(metric).__name__ in _BY_NAME:
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    for name, fn in _FUNCTIONS.items():
        if fn is metric:
            return name
    raise ArgumentError(f"keras.metrics.serialize(): cannot serialize {metric!r}")


def deserialize(config):
    """The inverse of ``serialize``; only built-in metrics are recognised (no import by name)."""
    if isinstance(config, str):
        return get(config)
    cls = _BY_NAME.get(config.get("class_name")) if isinstance(config, dict) else None
    if cls is None or not inspect.isclass(cls):
        raise ArgumentError(f"keras.metrics.deserialize(): unknown metric config {config!r}")
    return cls.from_config(dict(config.get("config", {})))

"""``keras.losses``: Keras 3's losses over lamina tensors, differentiable through lamina's autograd.

Each loss exists in two forms, as in Keras: a function ``fn(y_true, y_pred)`` that returns one value per sample
(the last axis reduced), and a class whose ``__call__(y_true, y_pred, sample_weight=None)`` weights those values
and reduces them to a scalar. The default reduction, ``"sum_over_batch_size"``, is the sum of the weighted values
divided by their number (not by the sum of the weights).

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before a logarithm (Keras's ``epsilon``), so ``from_logits=False``
never gives an infinite loss.

Example:
    >>> loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> loss = loss_fn(labels, model(x))
    >>> loss.backward()
"""
import math

import lamina
from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError, IndexError_, ShapeError
from lamina.nn import functional as F
from lamina.tensor import Tensor

EPSILON = 1e-7  # keras.config.epsilon()

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "get", "serialize", "deserialize",
]


# ---- conversions and shape helpers --------------------------------------------------------------------------

def _float_dtype(dtype):
    if dtype is None:
        return lamina.float32
    return _dt.as_dtype("float32" if dtype in ("float", float) else dtype)


def convert(x, dtype=None):
    """``x`` as a lamina Tensor; a Tensor keeps its graph (cast with a differentiable ``to`` when needed)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else x.to(dtype)
    array = xp.asarray(x)
    if dtype is not None:
        array = array.astype(dtype.numpy, copy=False)
    elif array.dtype == xp.float64 and not isinstance(x, xp.ndarray):
        array = array.astype(xp.float32)  # Python floats and lists: Keras's floatx
    return Tensor._make(xp.ascontiguousarray(array))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make two tensors' ranks agree when they differ by one trailing axis of size 1 (Keras's rule).

    A rank-1 partner of a ``(N, 1)`` tensor is expanded to ``(N, 1)`` (with ``expand_rank_1``); otherwise the
    size-1 axis is squeezed away.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = lamina.unsqueeze(x2, -1)
        else:
            x1 = lamina.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = lamina.unsqueeze(x1, -1)
        else:
            x2 = lamina.squeeze(x2, -1)
    return x1, x2


def _check_same_shape(name, y_true, y_pred):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ShapeError(f"keras.losses.{name}(): y_true and y_pred must have the same shape, got y_true "
                         f"{tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)}")


def standardize_reduction(reduction, who="Loss"):
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"keras.losses.{who}: invalid reduction {reduction!r}; expected one of "
                            "'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', 'none' or None")
    return reduction


def _mask_to_weights(mask, sample_weight, reduction, dtype):
    """Fold a boolean mask into the sample weights; for mean reductions the kept values are scaled up so the
    mean is over the kept values only (Keras's ``apply_mask``)."""
    mask = convert(mask).to(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        total = float(mask.numel())
        valid = float(mask.sum())
        mask = mask * (total / valid if valid else 0.0)
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return sample_weight * mask


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", dtype=None):
    """Weight per-sample loss values and reduce them (Keras's ``reduce_weighted_values``).

    Args:
        values: per-sample (or per-element) losses.
        sample_weight: weights broadcastable to ``values`` after rank matching; None for all ones.
        mask: optional boolean mask of the values to keep.
        reduction: 'sum_over_batch_size' / 'mean' (weighted sum / number of values), 'sum',
            'mean_with_sample_weight' (weighted sum / sum of weights) or 'none' / None.
    """
    reduction = standardize_reduction(reduction)
    dtype = _float_dtype(dtype)
    values = convert(values, dtype)
    if sample_weight is not None:
        sample_weight = convert(sample_weight, dtype)
    if mask is not None:
        sample_weight = _mask_to_weights(mask, sample_weight, reduction, dtype)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            values = values * sample_weight
        except ShapeError:
            raise ShapeError(f"keras.losses: sample_weight of shape {tuple(sample_weight.shape)} does not "
                             f"broadcast to the per-sample losses of shape {tuple(values.shape)}") from None
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    loss = values.sum()
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(sample_weight.sum())
    else:
        divisor = float(values.numel())
    # divide_no_nan: an empty batch or zero total weight gives 0, not NaN
    return loss / divisor if divisor != 0 else loss * 0.0


# ---- the Loss classes ---------------------------------------------------------------------------------------

class Loss:
    """Base class of losses (``keras.losses.Loss``): subclass it and implement ``call(y_true, y_pred)``.

    Args:
        name: the loss's name (its snake-case class name by default).
        reduction: 'sum_over_batch_size' (default), 'sum', 'mean', 'mean_with_sample_weight', 'none' or None.
        dtype: the dtype the loss computes in (float32 by default).

    Example:
        >>> class MyMSE(keras.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ((y_pred - y_true) ** 2).mean(-1)
        >>> MyMSE()(y, model(x))
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        from lamina.keras.backend import to_snake_case
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction, type(self).__name__)
        self.dtype = _float_dtype(dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = _map(lambda t: convert(t, self.dtype), y_pred)
        y_true = _map(lambda t: convert(t, self.dtype), y_true)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = convert(in_mask).bool() & convert(out_mask).bool()
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(values, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
                                      dtype=self.dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _map(fn, structure):
    """``fn`` over the tensors of a nest; a (nested) list of plain numbers is one array, not a nest."""
    if isinstance(structure, (list, tuple)) and any(isinstance(s, (Tensor, xp.ndarray, dict, list, tuple))
                                                    and not _is_number_list(s) for s in structure):
        return type(structure)(_map(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    return fn(structure)


def _is_number_list(value):
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return isinstance(value, (int, float, bool))


class LossFunctionWrapper(Loss):
    """A Loss made from a function ``fn(y_true, y_pred, **kwargs)`` that returns per-sample values.

    Example:
        >>> loss = keras.losses.LossFunctionWrapper(keras.losses.huber, delta=0.5, name="huber_05")
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ArgumentError(f"keras.losses.LossFunctionWrapper: fn must be callable, got {fn!r}")
        super().__init__(name=name or _object_name(fn), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if isinstance(y_true, Tensor) and isinstance(y_pred, Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


def _object_name(obj):
    from lamina.keras.backend import to_snake_case
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return to_snake_case(obj.__name__)
    return to_snake_case(type(obj).__name__)


def _wrapper_class(class_name, fn, default_name, doc, extra=()):
    """A LossFunctionWrapper subclass with Keras's constructor ``(<extra args>, reduction, name, dtype)``."""
    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None, **kwargs):
        options = dict(extra)
        names = list(options)
        if len(args) > len(names):
            raise ArgumentError(f"keras.losses.{class_name}: takes at most {len(names)} positional arguments "
                                f"({', '.join(names) or 'none'}), got {len(args)}")
        options.update(zip(names, args))
        for key, value in kwargs.items():
            if key not in options:
                raise ArgumentError(f"keras.losses.{class_name}: unexpected argument {key!r}")
            options[key] = value
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **options)
        for key, value in options.items():
            setattr(self, key, value)

    def get_config(self):
        return {**Loss.get_config(self), **self._fn_kwargs}

    cls = type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "get_config": get_config,
                                                     "__doc__": doc, "__module__": __name__})
    return cls


# ---- loss functions (one value per sample) -------------------------------------------------------------------

def _pair(y_true, y_pred, same_rank=True):
    y_pred = convert(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(lamina.float32)
    y_true = convert(y_true, y_pred.dtype)
    if same_rank:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return lamina.mean(lamina.square(y_true - y_pred), dim=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return lamina.mean(lamina.abs(y_true - y_pred), dim=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), 1e-7)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = lamina.abs((y_true - y_pred) / lamina.clamp(lamina.abs(y_true), min=EPSILON))
    return 100.0 * lamina.mean(diff, dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = lamina.log(lamina.clamp(y_pred, min=EPSILON) + 1.0)
    second = lamina.log(lamina.clamp(y_true, min=EPSILON) + 1.0)
    return lamina.mean(lamina.square(first - second), dim=-1)


def _l2_normalize(x, axis):
    # x * rsqrt(sum(x^2)), the inverse norm capped at 1/eps (Keras's normalize(order=2))
    inv_norm = lamina.clamp(lamina.rsqrt(lamina.sum(lamina.square(x), dim=axis, keepdim=True)), max=1.0 / EPSILON)
    return x * inv_norm


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for parallel vectors, 0 for orthogonal."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -lamina.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), dim=axis)


def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 * e**2 if |e| <= delta else delta * |e| - 0.5 * delta**2, axis=-1)`` with ``e = y_pred - y_true``."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = lamina.abs(error)
    quadratic = 0.5 * lamina.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return lamina.mean(lamina.where(abs_error <= delta, quadratic, linear), dim=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed as ``x + softplus(-2x) - log 2`` (no overflow)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return lamina.mean(x + F.softplus(x * -2.0) - math.log(2.0), dim=-1)


def _hinge_labels(y_true):
    # labels given as {0, 1} become {-1, 1}; labels already in {-1, 1} are kept
    data = y_true._data
    if data.size and xp.all((data == 0) | (data == 1)):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``, labels in {-1, 1} (or {0, 1}, converted)."""
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return lamina.mean(lamina.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0), dim=-1)


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return lamina.mean(lamina.square(lamina.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0)), dim=-1)


def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    pos = lamina.sum(y_true * y_pred, dim=-1)
    neg = lamina.amax((1.0 - y_true) * y_pred, dim=-1)
    return lamina.clamp(neg - pos + 1.0, min=0.0)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[1e-7, 1]``."""
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    y_true = lamina.clamp(y_true, EPSILON, 1.0)
    y_pred = lamina.clamp(y_pred, EPSILON, 1.0)
    return lamina.sum(y_true * lamina.log(y_true / y_pred), dim=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return lamina.mean(y_pred - y_true * lamina.log(y_pred + EPSILON), dim=-1)


def _check_axis(name, axis):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ArgumentError(f"keras.losses.{name}(): axis must be an int, got {axis!r}")


def _log_probs(output, from_logits, axis):
    """log-probabilities along ``axis``: log_softmax of logits, or the log of renormalised, clipped
    probabilities (Keras divides by the sum first, so unnormalised scores also work)."""
    if from_logits:
        return F.log_softmax(output, dim=axis)
    output = output / lamina.sum(output, dim=axis, keepdim=True)
    return lamina.log(lamina.clamp(output, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log(p), axis)`` against one-hot (or soft) targets.

    Args:
        from_logits: whether ``y_pred`` holds logits (softmax applied here) or probabilities.
        label_smoothing: in [0, 1]; targets become ``y * (1 - s) + s / num_classes``.
        axis: the class axis.

    Example:
        >>> categorical_crossentropy([[0., 1.]], [[0.1, 0.9]])   # -log(0.9)
    """
    _check_axis("categorical_crossentropy", axis)
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    _check_same_shape("categorical_crossentropy", y_true, y_pred)
    if y_pred.ndim < 1:
        raise ShapeError("keras.losses.categorical_crossentropy(): y_true and y_pred must be at least rank 1")
    if label_smoothing:
        num_classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -lamina.sum(y_true * _log_probs(y_pred, from_logits, axis), dim=axis)


def _sparse_targets(name, y_true, y_pred, ignore_class, axis):
    """Checked inputs of a sparse cross-entropy: (float y_pred, int64 label array, class axis, valid or None).

    The labels have y_pred's shape without its class axis (a trailing axis of 1 is squeezed); float labels are
    truncated to ints, and labels equal to ``ignore_class`` become 0 with ``valid`` False there.
    """
    _check_axis(name, axis)
    y_pred = convert(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(lamina.float32)
    labels = convert(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = lamina.squeeze(labels, axis)
    if y_pred.ndim < 1:
        raise ShapeError(f"keras.losses.{name}(): y_pred must be at least rank 1")
    class_axis = axis % y_pred.ndim
    expected = tuple(s for i, s in enumerate(y_pred.shape) if i != class_axis)
    if tuple(labels.shape) != expected:
        raise ShapeError(f"keras.losses.{name}(): y_true must have the shape of y_pred without its class axis, "
                         f"{expected}; got y_true {tuple(labels.shape)} and y_pred {tuple(y_pred.shape)}")
    label_data = labels._data
    if label_data.dtype != xp.int64:
        label_data = label_data.astype(xp.int64)
    valid = None
    if ignore_class is not None:
        valid = label_data != ignore_class
        label_data = xp.where(valid, label_data, 0)
    num_classes = y_pred.shape[class_axis]
    if label_data.size and (label_data.min() < 0 or label_data.max() >= num_classes):
        raise IndexError_(
            f"keras.losses.{name}(): class labels must lie in [0, {num_classes}), got values from "
            f"{int(label_data.min())} to {int(label_data.max())}")
    return y_pred, label_data, class_axis, valid


def _fused_cross_entropy(y_pred, label_data, class_axis, reduction):
    """``-log_softmax(y_pred)[label]`` through the fused ``F.cross_entropy`` (one operator: one log-sum-exp pass
    forward, softmax - onehot backward), with the classes moved to axis 1 where it expects them."""
    if y_pred.ndim > 1 and class_axis != 1:
        y_pred = lamina.movedim(y_pred, class_axis, 1)
    return F.cross_entropy(y_pred, Tensor._make(label_data), reduction=reduction)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy against integer class labels: ``-log(p[y_true])``.

    Args:
        y_true: class indices, shape of ``y_pred`` without its class axis (a trailing axis of 1 is accepted).
        from_logits: whether ``y_pred`` holds logits or probabilities.
        ignore_class: a label value whose samples give 0 and are left out of the mean.
        axis: the class axis.
    """
    y_pred, label_data, class_axis, valid = _sparse_targets("sparse_categorical_crossentropy", y_true, y_pred,
                                                            ignore_class, axis)
    if from_logits:
        result = _fused_cross_entropy(y_pred, label_data, class_axis, "none")
    else:
        index = Tensor._make(xp.expand_dims(label_data, class_axis))
        picked = lamina.take_along_dim(_log_probs(y_pred, False, class_axis), index, dim=class_axis)
        result = -lamina.squeeze(picked, class_axis)
    if valid is not None:
        result = result * Tensor._make(valid.astype(result._data.dtype))
        result._keras_mask = Tensor._make(valid)
    return result


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(-(y log p + (1 - y) log(1 - p)), axis)``.

    Args:
        from_logits: whether ``y_pred`` holds logits (a stable log-sigmoid form is used) or probabilities.
        label_smoothing: in [0, 1]; targets become ``y * (1 - s) + 0.5 * s``.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = lamina.clamp(y_pred, EPSILON, 1.0 - EPSILON)
        values = -(y_true * lamina.log(p) + (1.0 - y_true) * lamina.log(1.0 - p))
    return lamina.mean(values, dim=axis)


# ---- classes ------------------------------------------------------------------------------------------------

MeanSquaredError = _wrapper_class(
    "MeanSquaredError", mean_squared_error, "mean_squared_error",
    """Mean of squared errors: ``loss = mean((y_true - y_pred) ** 2)``.

    Example:
        >>> keras.losses.MeanSquaredError()([[0., 1.]], [[1., 1.]])   # 0.5
    """)
MeanAbsoluteError = _wrapper_class(
    "MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
    """Mean of absolute errors: ``loss = mean(abs(y_true - y_pred))``.""")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mean_absolute_percentage_error",
    """``100 * mean(abs((y_true - y_pred) / y_true))``.""")
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "mean_squared_logarithmic_error",
    """``mean((log(y_pred + 1) - log(y_true + 1)) ** 2)``.""")
CosineSimilarity = _wrapper_class(
    "CosineSimilarity", cosine_similarity, "cosine_similarity",
    """Negative cosine similarity along ``axis`` (default -1).""", extra=(("axis", -1),))
Huber = _wrapper_class(
    "Huber", huber, "huber_loss",
    """Huber loss: quadratic for errors up to ``delta`` (default 1.0), linear beyond.""", extra=(("delta", 1.0),))
LogCosh = _wrapper_class("LogCosh", log_cosh, "log_cosh", """``mean(log(cosh(y_pred - y_true)))``.""")
Hinge = _wrapper_class("Hinge", hinge, "hinge", """``mean(max(1 - y_true * y_pred, 0))``.""")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              """``mean(max(1 - y_true * y_pred, 0) ** 2)``.""")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge",
                                  """``max(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``.""")
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              """``sum(y_true * log(y_true / y_pred))``.""")
Poisson = _wrapper_class("Poisson", poisson, "poisson", """``mean(y_pred - y_true * log(y_pred))``.""")
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    """Binary cross-entropy for 0/1 targets.

    Args:
        from_logits: whether predictions are logits (default False: probabilities).
        label_smoothing: targets become ``y * (1 - s) + 0.5 * s``.
        axis: the axis the per-sample mean is over (default -1).
        reduction, name, dtype: as in ``Loss``.

    Example:
        >>> keras.losses.BinaryCrossentropy(from_logits=True)(y, logits)
    """, extra=(("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)))
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    """Cross-entropy against one-hot targets.

    Args:
        from_logits: whether predictions are logits (default False: probabilities).
        label_smoothing: targets become ``y * (1 - s) + s / num_classes``.
        axis: the class axis (default -1).
        reduction, name, dtype: as in ``Loss``.
    """, extra=(("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)))


def _integer_labels_below(y_true, y_pred, axis, limit):
    """True when ``y_true`` is an integer array or Tensor and ``y_pred`` has fewer than ``limit`` classes (so every
    valid label is below it)."""
    data = y_true._data if isinstance(y_true, Tensor) else y_true
    return (isinstance(data, xp.ndarray) and data.dtype.kind in "iu" and y_pred.ndim > 0
            and isinstance(axis, int) and -y_pred.ndim <= axis < y_pred.ndim and y_pred.shape[axis] <= limit)


# Keras reductions of unweighted values, as F.cross_entropy's: the sum, or the sum over the number of values.
_FUSED_REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean", "mean_with_sample_weight": "mean", "sum": "sum"}


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy against integer class labels.

    Args:
        from_logits: whether predictions are logits (default False: probabilities).
        ignore_class: a label value to leave out (e.g. padding); those samples do not count in the mean.
        reduction: as in ``Loss``.
        axis: the class axis (default -1).
        name, dtype: as in ``Loss``.

    Example:
        >>> loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        >>> loss_fn([2, 0], logits)
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The usual training loss, logits without weights or masks reduced to a mean (or sum), is one fused
        # operator; reduce_weighted_values would give the same value from the per-sample losses.
        if (sample_weight is None and self.from_logits and self.ignore_class is None
                and self.reduction in _FUSED_REDUCTIONS and isinstance(y_pred, (Tensor, xp.ndarray))
                and getattr(y_pred, "_keras_mask", None) is None):
            y_pred = convert(y_pred, self.dtype)
            if not _integer_labels_below(y_true, y_pred, self.axis, 2 ** 24):
                y_true = convert(y_true, self.dtype)  # float32 holds every int below 2 ** 24 exactly: skipped then
            y_pred, label_data, class_axis, _ = _sparse_targets("sparse_categorical_crossentropy", y_true, y_pred,
                                                                None, self.axis)
            if label_data.size:
                return _fused_cross_entropy(y_pred, label_data, class_axis, _FUSED_REDUCTIONS[self.reduction])
        return super().__call__(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        # no rank matching here: the labels have one axis fewer than the predictions by design
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "ignore_class": self.ignore_class}


# ---- lookup -------------------------------------------------------------------------------------------------

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error, "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error,
    "cosine_similarity": cosine_similarity, "huber": huber, "log_cosh": log_cosh, "logcosh": log_cosh,
    "hinge": hinge, "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
    "kl_divergence": kl_divergence, "kld": kl_divergence, "KLD": kl_divergence,
    "kullback_leibler_divergence": kl_divergence, "poisson": poisson,
    "binary_crossentropy": binary_crossentropy, "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
_CLASSES = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy)}
ALL_FUNCTIONS = frozenset(_FUNCTIONS.values())


def get(identifier):
    """A loss from a name, a config dict, a Loss or a callable (``keras.losses.get``).

    A snake-case name gives the loss function (``"mse"`` -> ``mean_squared_error``), a class name an instance
    with default arguments (``"MeanSquaredError"``); a callable is returned as is; None gives None.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ArgumentError(f"keras.losses.get(): unknown loss {identifier!r}; expected one of "
                            f"{sorted(set(_FUNCTIONS) | set(_CLASSES))}, a Loss or a callable fn(y_true, y_pred)")
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ArgumentError(f"keras.losses.get(): could not interpret loss identifier {identifier!r}")


def serialize(loss):
    """A JSON-able config of a Loss (``{"class_name", "config"}``) or the name of a loss function."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    for name, fn in _FUNCTIONS.items():
        if fn is loss:
            return name
    raise ArgumentError(f"keras.losses.serialize(): cannot serialize {loss!r}")


def deserialize(config):
    """The inverse of ``serialize``: only the built-in losses are recognised (no import by name)."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or config.get("class_name") not in _CLASSES:
        raise ArgumentError(f"keras.losses.deserialize(): unknown loss config {config!r}")
    return _CLASSES[config["class_name"]].from_config(dict(config.get("config", {})))

"""Trainer: Keras 3's training loop (``compile``, ``fit``, ``evaluate``, ``predict``, ``*_on_batch``).

``keras.Model`` is ``class Model(Trainer, Layer)``. ``compile`` records an optimizer, losses and metrics;
``fit`` iterates over epochs and batches, each ``train_step`` running the model with ``training=True``, adding
the regularization losses (``model.losses``) to the compiled loss, back-propagating through lamina's autograd
and applying the optimizer. Metrics are stateful and reset at the start of every epoch; the logs a step
returns are their values so far.

Data may be NumPy arrays or lamina tensors (lists or dicts of them for several inputs or outputs), which are
sliced into batches and shuffled each epoch with lamina's generator (so ``keras.utils.set_random_seed`` or
``lamina.manual_seed`` makes a run repeatable), or any iterable of batches ``x``, ``(x,)``, ``(x, y)`` or
``(x, y, sample_weight)``, such as a ``lamina.utils.data.DataLoader``.

Example:
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> history = model.fit(x_train, y_train, batch_size=32, epochs=5, validation_split=0.1)
    >>> loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    >>> probabilities = model.predict(x_test)
"""
import inspect
import math
import warnings
import weakref

from lamina import random as _random
from lamina.autograd import enable_grad, no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import callbacks as callbacks_module
from lamina.keras import losses as losses_module
from lamina.keras import metrics as metrics_module
from lamina.keras import optimizers as optimizers_module
from lamina.keras.backend import flatten, map_structure, pack_as, sorted_keys, to_snake_case
from lamina.tensor import Tensor

__all__ = ["Trainer"]


# ---- nested data --------------------------------------------------------------------------------------------

def _unpack(data):
    """``(x, y, sample_weight)`` from a batch: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ArgumentError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`; found "
                        f"a tuple of {len(data)} elements")


def _pack(x, y=None, sample_weight=None):
    """The batch as Keras hands it to ``train_step``: ``x`` (or ``(x,)`` for a list/tuple x), ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _is_leaf_array(value):
    return isinstance(value, (Tensor, xp.ndarray, xp.generic)) or (
        hasattr(value, "__array__") and not isinstance(value, (list, tuple, dict, str)))


def _is_number_list(value):
    """A (nested) Python list of numbers, i.e. one array written as a list."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    first = value[0]
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, (int, float, bool)) and not isinstance(first, (list, tuple))


def _is_array_data(value):
    """True for None, an array or tensor, or a list/tuple/dict nest whose leaves all are arrays (or None)."""
    if value is None or _is_leaf_array(value) or _is_number_list(value):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_array_data(v) for v in value)
    if isinstance(value, dict):
        return all(_is_array_data(v) for v in value.values())
    return False


def _as_arrays(value):
    """The same nest with every leaf a backend array (Python number lists become float32/int arrays)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, xp.ndarray):
        return value
    if _is_number_list(value):
        array = xp.asarray(value)
        return array.astype(xp.float32) if array.dtype == xp.float64 else array
    if isinstance(value, (list, tuple)):
        return type(value)(_as_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    array = xp.asarray(value)
    return array


def _leaves(value):
    return [v for v in flatten(value) if v is not None]


def _to_tensors(value):
    """Arrays (and array-likes) in a nest become lamina Tensors; Tensors pass through."""
    def convert(v):
        if v is None or isinstance(v, Tensor):
            return v
        if isinstance(v, xp.ndarray):
            return Tensor._make(v)
        if _is_leaf_array(v):
            return Tensor._make(xp.asarray(v))
        return v
    return map_structure(convert, value)


def _batch_size(x):
    for leaf in flatten(x):
        if leaf is not None and hasattr(leaf, "shape") and len(leaf.shape):
            return int(leaf.shape[0])
    return 1


def _class_weight_to_sample_weight(y, class_weight, who):
    """One weight per sample: ``class_weight[label]`` (1.0 for a label not in the dict); one-hot targets use their
    argmax, a trailing axis of 1 is squeezed."""
    if isinstance(y, (list, tuple, dict)) and not _is_number_list(y):
        raise ArgumentError(f"{who}: class_weight is only supported for models with a single output")
    if not isinstance(class_weight, dict):
        raise ArgumentError(f"{who}: class_weight must be a dict {{class index: weight}}, got "
                            f"{type(class_weight).__name__}")
    labels = _as_arrays(y)
    if labels.ndim > 1:
        labels = xp.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = xp.round(labels).astype(xp.int64).reshape(-1)
    weights = xp.ones(labels.shape[0], dtype=xp.float32)
    for label, weight in class_weight.items():
        weights[labels == int(label)] = weight
    return weights


class _ArrayData:
    """Batches sliced from in-memory arrays, reshuffled each epoch with lamina's generator."""

    def __init__(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight, who):
        x, y, sample_weight = _as_arrays(x), _as_arrays(y), _as_arrays(sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ArgumentError(f"{who}: sample_weight and class_weight cannot be given at the same time")
            if y is None:
                raise ArgumentError(f"{who}: class_weight needs targets y")
            sample_weight = _class_weight_to_sample_weight(y, class_weight, who)
        if sample_weight is not None and isinstance(y, (list, tuple, dict)) \
                and not isinstance(sample_weight, (list, tuple, dict)):
            # one array of per-sample weights applies to every output
            if not (sample_weight.ndim == 1 or (sample_weight.ndim == 2 and sample_weight.shape[1] == 1)):
                raise ShapeError(f"{who}: for a model with several outputs a single sample_weight array must have "
                                 f"one value per sample, got shape {sample_weight.shape}")
            sample_weight = map_structure(lambda _: sample_weight, y)
        self.inputs = (x, y, sample_weight)
        sizes = {int(a.shape[0]) for a in _leaves(self.inputs) if a.ndim}
        if any(a.ndim == 0 for a in _leaves(self.inputs)):
            raise ShapeError(f"{who}: every input, target and sample weight must have a batch axis; got a 0-d array")
        if len(sizes) > 1:
            parts = []
            for label, part in zip(("x", "y", "sample_weight"), self.inputs):
                if part is not None:
                    parts.append(f"{label} sizes: {', '.join(str(a.shape[0]) for a in _leaves(part))}")
            raise ShapeError(f"{who}: data cardinality is ambiguous, all arrays must contain the same number of "
                             f"samples; {'; '.join(parts)}")
        if not sizes:
            raise ArgumentError(f"{who}: no input data given")
        self.num_samples = sizes.pop()
        if not batch_size:
            batch_size = int(math.ceil(self.num_samples / steps)) if steps else 32
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ArgumentError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
        self.batch_size = batch_size
        self.num_batches = int(math.ceil(self.num_samples / batch_size))
        if shuffle not in (True, False, "batch"):
            raise ArgumentError(f"{who}: shuffle must be True, False or 'batch', got {shuffle!r}")
        self.shuffle = shuffle

    def __iter__(self):
        n, bs = self.num_samples, self.batch_size
        starts = list(range(0, n, bs))
        if self.shuffle == "batch":
            # batch-sized chunks in a random order
            order = _random.default_generator.np.permutation(len(starts))
            for i in order:
                yield self._slice(slice(starts[i], min(starts[i] + bs, n)))
            return
        if self.shuffle:
            permutation = _random.default_generator.np.permutation(n)
            for start in starts:
                yield self._slice(permutation[start:start + bs])
            return
        for start in starts:
            yield self._slice(slice(start, min(start + bs, n)))

    def _slice(self, index):
        def take(a):
            if a is None:
                return None
            part = a[index]
            return Tensor._make(part if part.flags.c_contiguous else xp.ascontiguousarray(part))
        x, y, sw = (map_structure(take, part) if part is not None else None for part in self.inputs)
        return _pack(x, y, sw)


class _IterableData:
    """Batches from an iterable (a DataLoader, a generator, a list of batches); each element is ``x``, ``(x,)``,
    ``(x, y)`` or ``(x, y, sample_weight)``."""

    def __init__(self, data, class_weight, who):
        self.data = data
        self.class_weight = class_weight
        self.who = who
        try:
            self.num_batches = len(data)
        except TypeError:
            self.num_batches = None

    def __iter__(self):
        for batch in self.data:
            x, y, sw = _unpack(batch)
            x, y, sw = _to_tensors(x), _to_tensors(y), _to_tensors(sw)
            if self.class_weight is not None and y is not None:
                if sw is not None:
                    raise ArgumentError(f"{self.who}: sample_weight and class_weight cannot be given at the same "
                                        "time")
                sw = Tensor._make(_class_weight_to_sample_weight(y, self.class_weight, self.who))
            yield _pack(x, y, sw)


def _make_data(x, y, sample_weight, batch_size, steps, shuffle, class_weight, who):
    if _is_array_data(x):
        if x is None:
            raise ArgumentError(f"{who}: no input data given (x is None)")
        return _ArrayData(x, y, sample_weight, batch_size, steps, shuffle, class_weight, who)
    if y is not None:
        raise ArgumentError(f"{who}: when x is an iterable of batches ({type(x).__name__}), y must not be given; the "
                            "batches carry the targets as (x, y)")
    if sample_weight is not None:
        raise ArgumentError(f"{who}: sample_weight is not supported when x is an iterable of batches; give "
                            "(x, y, sample_weight) batches instead")
    if not (hasattr(x, "__iter__") or hasattr(x, "__getitem__")):
        raise ArgumentError(f"{who}: x must be arrays, tensors (or lists/dicts of them) or an iterable of batches, "
                            f"got {type(x).__name__}")
    return _IterableData(x, class_weight, who)


class _EpochIterator:
    """The batches of one epoch as ``(step, batch)``; with ``steps_per_epoch`` the underlying iterator is kept
    across epochs and restarted when the data runs out (Keras's rule)."""

    def __init__(self, data, steps_per_epoch):
        self.data = data
        self.steps_per_epoch = steps_per_epoch
        self._iterator = None
        self._seen = 0

    @property
    def num_batches(self):
        return self.steps_per_epoch or self.data.num_batches

    def __iter__(self):
        steps = self.steps_per_epoch or self.data.num_batches
        if steps is None:  # unknown length: one pass over the data
            for step, batch in enumerate(self.data):
                yield step, batch
            return
        known = self.data.num_batches
        if self._iterator is None or self.steps_per_epoch is None:
            self._iterator, self._seen = iter(self.data), 0
        for step in range(steps):
            if known and self._seen >= known:
                if self.steps_per_epoch:
                    _ran_out_warning()
                break
            try:
                batch = next(self._iterator)
            except StopIteration:
                _ran_out_warning()
                self._iterator = None
                return
            self._seen += 1
            yield step, batch
        if known and self._seen >= known:
            self._iterator = None


def _ran_out_warning():
    warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
                  "generate at least `steps_per_epoch * epochs` batches.", stacklevel=4)


def _train_validation_split(arrays, validation_split, who):
    """The last ``validation_split`` of the samples (before any shuffling) as validation data."""
    if not _is_array_data(arrays):
        raise ArgumentError(f"{who}: validation_split is only supported for NumPy arrays and tensors, not for "
                            "iterables of batches; pass validation_data instead")
    if not 0 < validation_split < 1:
        raise ArgumentError(f"{who}: validation_split must be in (0, 1), got {validation_split!r}")
    arrays = _as_arrays(arrays)
    first = _leaves(arrays)
    if not first:
        return arrays, arrays
    n = int(first[0].shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ArgumentError(f"{who}: training data contains {n} samples, which is not enough to split it into a "
                            f"validation and training set as specified by validation_split={validation_split}")

    def part(start, end):
        return tuple(map_structure(lambda a: a[start:end], v) if v is not None else None for v in arrays)
    return part(0, split_at), part(split_at, n)


def _check_verbose(verbose, who):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ArgumentError(f"{who}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose


def _to_numpy(value):
    return map_structure(lambda t: t._data if isinstance(t, Tensor) else xp.asarray(t), value)


# ---- outputs, losses and metrics of compile() ----------------------------------------------------------------

def _flat_outputs(y_pred, output_names):
    """(flat outputs, their names or None each) of a model's prediction structure."""
    if isinstance(y_pred, dict):
        keys = list(output_names) if output_names and set(output_names) == set(y_pred) else sorted_keys(y_pred)
        return [y_pred[k] for k in keys], keys
    flat = flatten(y_pred)
    if output_names and len(output_names) == len(flat):
        return flat, list(output_names)
    return flat, [None] * len(flat)


def _flat_targets(y_true, y_pred, names, what):
    """The targets (or sample weights) as one entry per flat output."""
    n = len(names)
    if y_true is None:
        return [None] * n
    if isinstance(y_true, dict):
        if n == 1 and not (names[0] in y_true) and len(y_true) == 1:
            return list(y_true.values())
        missing = [k for k in names if k not in y_true]
        if missing:
            raise ArgumentError(f"{what} is a dict with keys {sorted(y_true)}, but the model's outputs are "
                                f"{names}")
        return [y_true[k] for k in names]
    if isinstance(y_true, (list, tuple)):
        flat = flatten(y_true)
        if len(flat) == n:
            return flat
        if n == 1:
            raise ArgumentError(f"{what} has {len(flat)} entries, but the model has a single output")
        raise ArgumentError(f"{what} has {len(flat)} entries, but the model has {n} outputs")
    if n != 1:
        if what == "sample_weight":
            return [y_true] * n
        raise ArgumentError(f"{what} is a single array, but the model has {n} outputs {names}; give a list or "
                            "dict with one entry per output")
    return [y_true]


def _per_output(spec, names, what):
    """A compile() argument (loss, loss_weights, metrics) as one entry per flat output."""
    n = len(names)
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ArgumentError(f"compile(): {what} has keys {unknown} that are not output names of the model; its "
                                f"outputs are {names}")
        return [spec.get(k) for k in names]
    if isinstance(spec, (list, tuple)) and what != "metrics":
        if len(spec) != n:
            raise ArgumentError(f"compile(): {what} has {len(spec)} entries, but the model has {n} outputs")
        return list(spec)
    return None


def _is_binary_or_sparse(y_true, y_pred):
    t_shape, p_shape = tuple(y_true.shape), tuple(y_pred.shape)
    is_binary = p_shape[-1] == 1 if p_shape else False
    is_sparse = len(t_shape) < len(p_shape) or (bool(t_shape) and t_shape[-1] == 1 and p_shape[-1] > 1)
    return is_binary, is_sparse


def _resolve_loss(identifier, y_true, y_pred):
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = _is_binary_or_sparse(y_true, y_pred)
        fn = losses_module.binary_crossentropy if is_binary else \
            losses_module.sparse_categorical_crossentropy if is_sparse else losses_module.categorical_crossentropy
    else:
        fn = losses_module.get(identifier)
    if isinstance(fn, losses_module.Loss):
        return fn
    name = identifier if isinstance(identifier, str) else losses_module._object_name(fn)
    return losses_module.LossFunctionWrapper(fn, name=name)


def _resolve_metric(identifier, y_true, y_pred):
    if identifier is None:
        raise ArgumentError("compile(): expected a metric, received None")
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        is_binary, is_sparse = _is_binary_or_sparse(y_true, y_pred)
        cls = metrics_module.BinaryAccuracy if is_binary else \
            metrics_module.SparseCategoricalAccuracy if is_sparse else metrics_module.CategoricalAccuracy
        return cls(name=identifier)
    metric = metrics_module.get(identifier)
    name = identifier if isinstance(identifier, str) else \
        getattr(metric, "name", None) or to_snake_case(getattr(metric, "__name__", type(metric).__name__))
    if not isinstance(metric, metrics_module.Metric):
        metric = metrics_module.MeanMetricWrapper(metric, name=name)
    metric.name = name
    return metric


class _CompileLoss:
    """The losses given to compile(), resolved per output on the first batch; ``__call__`` returns their
    weighted sum, and with several losses one ``<name>_loss`` Mean tracks each."""

    def __init__(self, loss, loss_weights, output_names):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float, int)):
            raise ArgumentError(f"compile(): loss_weights must be a float (one output) or a list or dict (several "
                                f"outputs), got {type(loss_weights).__name__}")
        self._user_loss = loss
        self._user_loss_weights = loss_weights
        self.output_names = output_names
        self.built = False
        self.metrics = []
        self._entries = []  # (output index, Loss, weight or None, name)

    def build(self, y_true, y_pred):
        flat_pred, names = _flat_outputs(y_pred, self.output_names)
        flat_true = _flat_targets(y_true, y_pred, names if names[0] is not None else
                                  [f"output_{i}" for i in range(len(names))], "y")
        n = len(flat_pred)
        loss = self._user_loss
        if n == 1:
            if isinstance(loss, (list, tuple)):
                if len(loss) != 1:
                    raise ArgumentError(f"compile(): loss has {len(loss)} entries, but the model has one output")
                loss = loss[0]
            elif isinstance(loss, dict):
                if len(loss) != 1:
                    raise ArgumentError(f"compile(): loss has keys {sorted(loss)}, but the model has one output "
                                        f"{names}")
                loss = next(iter(loss.values()))
            losses = [loss]
        else:
            losses = _per_output(loss, names, "loss") or [loss] * n
        weights = self._user_loss_weights
        if weights is None:
            weights = [None] * n
        elif isinstance(weights, (int, float)):
            weights = [float(weights)] * n
        else:
            weights = _per_output(weights, names, "loss_weights") if n > 1 else list(
                weights.values() if isinstance(weights, dict) else weights)
            if len(weights) != n:
                raise ArgumentError(f"compile(): loss_weights must match the number of outputs ({n})")
        for i, (spec, weight, name) in enumerate(zip(losses, weights, names)):
            resolved = _resolve_loss(spec, flat_true[i], flat_pred[i])
            if resolved is not None:
                self._entries.append((i, resolved, weight, name or resolved.name))
        if not self._entries:
            raise ArgumentError("compile(): every output's loss is None; give at least one loss")
        if len(self._entries) > 1:
            seen = {}
            for _, _, _, name in self._entries:
                count = seen.get(name, 0)
                seen[name] = count + 1
                self.metrics.append(metrics_module.Mean(name=f"{name}_loss" if count == 0 else
                                                        f"{name}_loss_{count}"))
        self._names = names
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        flat_pred, _ = _flat_outputs(y_pred, self.output_names)
        keys = self._names if self._names[0] is not None else [f"output_{i}" for i in range(len(self._names))]
        flat_true = _flat_targets(y_true, y_pred, keys, "y")
        flat_weights = _flat_targets(sample_weight, y_pred, keys, "sample_weight")
        trackers = self.metrics or [None] * len(self._entries)
        total = None
        for (i, loss_fn, weight, _), tracker in zip(self._entries, trackers):
            if flat_true[i] is None:
                raise ArgumentError(f"The model's output {self._names[i] or i} has a loss but no target was given")
            value = loss_fn(flat_true[i], flat_pred[i], flat_weights[i])
            if tracker is not None:
                tracker.update_state(value, sample_weight=_batch_size(flat_pred[i]))
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        return total


class _CompileMetrics(metrics_module.Metric):
    """The metrics given to compile() (and weighted_metrics), resolved per output on the first batch.

    ``result()`` is a dict: ``{"accuracy": ...}`` for one output, ``{"<output>_accuracy": ...}`` for several.
    """

    def __init__(self, metrics, weighted_metrics, output_names):
        super().__init__(name="compile_metrics")
        for what, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value and not isinstance(value, (list, tuple, dict)):
                raise ArgumentError(f"compile(): expected {what} to be a list, tuple or dict, got {value!r} of type "
                                    f"{type(value).__name__}")
        self._user_metrics = metrics
        self._user_weighted_metrics = weighted_metrics
        self.output_names = output_names
        self.built = False
        self._flat_metrics = []
        self._flat_weighted_metrics = []

    def build(self, y_true, y_pred):
        flat_pred, names = _flat_outputs(y_pred, self.output_names)
        keys = names if names[0] is not None else [f"output_{i}" for i in range(len(names))]
        flat_true = _flat_targets(y_true, y_pred, keys, "y")
        self._prefixes = names if len(names) > 1 else [None]
        self._flat_metrics = self._build_set(self._user_metrics, flat_true, flat_pred, names)
        self._flat_weighted_metrics = self._build_set(self._user_weighted_metrics, flat_true, flat_pred, names)
        self._keys = keys
        self.built = True

    @staticmethod
    def _build_set(spec, flat_true, flat_pred, names):
        n = len(flat_pred)
        if not spec:
            return [None] * n
        if n == 1:
            return [[_resolve_metric(m, flat_true[0], flat_pred[0]) for m in flatten(spec)]]
        if isinstance(spec, dict):
            per_output = _per_output(spec, names, "metrics")
        elif isinstance(spec, (list, tuple)) and len(spec) == n:
            per_output = list(spec)
        else:
            raise ArgumentError(f"compile(): for a model with {n} outputs {names}, metrics must be a list with one "
                                f"entry (a metric or a list of metrics) per output, or a dict keyed by output name; "
                                f"got {spec!r}")
        out = []
        for entry, yt, yp in zip(per_output, flat_true, flat_pred):
            if entry is None:
                out.append(None)
                continue
            entries = entry if isinstance(entry, (list, tuple)) else [entry]
            out.append([_resolve_metric(m, yt, yp) for m in entries])
        return out

    def flat_metrics(self):
        """The resolved metrics, in order (empty before the first batch)."""
        out = []
        for group in self._flat_metrics + self._flat_weighted_metrics:
            out.extend(group or [])
        return out

    @property
    def metrics(self):
        return self.flat_metrics()

    @property
    def variables(self):
        return [v for m in self.flat_metrics() for v in m.variables]

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        flat_pred, _ = _flat_outputs(y_pred, self.output_names)
        flat_true = _flat_targets(y_true, y_pred, self._keys, "y")
        for group, yt, yp in zip(self._flat_metrics, flat_true, flat_pred):
            for m in group or ():
                m.update_state(yt, yp)
        if any(self._flat_weighted_metrics):
            flat_weights = _flat_targets(sample_weight, y_pred, self._keys, "sample_weight")
            for group, yt, yp, sw in zip(self._flat_weighted_metrics, flat_true, flat_pred, flat_weights):
                for m in group or ():
                    m.update_state(yt, yp, sample_weight=sw)

    def reset_state(self):
        for m in self.flat_metrics():
            m.reset_state()

    def result(self):
        if not self.built:
            return {}
        results, counts = {}, {}
        for weighted, groups in ((False, self._flat_metrics), (True, self._flat_weighted_metrics)):
            for prefix, group in zip(self._prefixes, groups):
                for m in group or ():
                    name = f"{prefix}_{m.name}" if prefix else m.name
                    if name in counts:
                        if weighted:
                            name = f"{prefix}_weighted_{m.name}" if prefix else f"weighted_{m.name}"
                        if name in counts:
                            counts[name] += 1
                            name = f"{name}_{counts[name] - 1}"
                    counts.setdefault(name, 1)
                    results[name] = m.result()
        return results


# ---- the Trainer mixin ---------------------------------------------------------------------------------------

# compute_loss function -> whether it has a `training` parameter (an override may not); inspect.signature costs
# about 0.03 ms, too much for every training step.
_TAKES_TRAINING = weakref.WeakKeyDictionary()


def _takes_training(method):
    fn = getattr(method, "__func__", method)
    try:
        known = _TAKES_TRAINING.get(fn)
    except TypeError:  # not weak-referenceable: look it up each time
        return "training" in inspect.signature(method).parameters
    if known is None:
        known = _TAKES_TRAINING[fn] = "training" in inspect.signature(method).parameters
    return known


def _is_torch_style(optimizer):
    from lamina.optim import Optimizer as TorchStyleOptimizer
    return isinstance(optimizer, TorchStyleOptimizer)


class Trainer:
    """The training API of ``keras.Model``: ``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch``
    methods. Override ``train_step``, ``test_step``, ``predict_step``, ``compute_loss`` or
    ``compute_metrics`` to customise the loop while keeping ``fit``'s callbacks and progress bar.
    """

    # Class-level defaults: the mixin works before compile() whatever order the base classes initialise in.
    compiled = False
    optimizer = None
    loss = None
    stop_training = False
    stop_evaluating = False
    stop_predicting = False
    steps_per_execution = 1
    jit_compile = False
    _run_eagerly = False
    _compile_loss = None
    _compile_metrics = None
    _loss_tracker = None
    _compile_config = None

    def __init__(self):
        d = self.__dict__
        d["compiled"] = False
        d["optimizer"] = None
        d["loss"] = None
        d["stop_training"] = False
        d["_compile_loss"] = None
        d["_compile_metrics"] = None
        d["_loss_tracker"] = None

    # ---- compile ---------------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training.

        Args:
            optimizer: a name ('rmsprop', 'adam', 'sgd', 'adagrad', 'adamw'), a ``keras.optimizers`` instance, or
                a ``lamina.optim`` optimizer built on the model's parameters (stepped torch-style).
            loss: a name ('mse', 'sparse_categorical_crossentropy', 'crossentropy', ...), a ``keras.losses.Loss``,
                any ``fn(y_true, y_pred)``, or a list/dict with one per output (None for an output without loss).
            loss_weights: a float, or a list/dict with one coefficient per output: the minimised loss is the
                weighted sum of the outputs' losses.
            metrics: a list of names ('accuracy', 'mae', ...), ``keras.metrics`` objects or functions; for several
                outputs, a list with one entry per output or a dict keyed by output name. 'accuracy' becomes the
                binary, categorical or sparse categorical accuracy according to the shapes of targets and outputs.
            weighted_metrics: metrics weighted by ``sample_weight`` / ``class_weight``.
            run_eagerly: accepted; Lamina always runs eagerly.
            steps_per_execution: must be 1.
            jit_compile: accepted; no compilation happens (Lamina runs its operators eagerly).
            auto_scale_loss: accepted; there is no mixed precision to scale for.

        Calling compile() again replaces the optimizer; the loss and the metrics are replaced only when given
        (Keras's rule), so ``compile(optimizer=keras.optimizers.Adam(1e-5))`` keeps the loss for fine-tuning.

        Example:
            >>> model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        if steps_per_execution != 1:
            raise ArgumentError(f"compile(): steps_per_execution must be 1, got {steps_per_execution!r}")
        if not _is_torch_style(optimizer):
            optimizer = optimizers_module.get(optimizer)
        output_names = self.__dict__.get("output_names")
        d = self.__dict__
        d["optimizer"] = optimizer
        # As in Keras, a compile() without loss (or without metrics) keeps those of an earlier compile(), so
        # compile(optimizer=...) alone only swaps the optimizer.
        if loss is not None:
            d["loss"] = loss
            d["_compile_loss"] = _CompileLoss(loss, loss_weights, output_names)
        if metrics is not None or weighted_metrics is not None:
            d["_compile_metrics"] = _CompileMetrics(metrics, weighted_metrics, output_names)
        d["_loss_tracker"] = metrics_module.Mean(name="loss")
        d["_run_eagerly"] = bool(run_eagerly)
        d["jit_compile"] = False
        d["stop_training"] = False
        d["compiled"] = True
        d["_compile_config"] = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}

    @property
    def run_eagerly(self):
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value):
        self.__dict__["_run_eagerly"] = bool(value)

    def _assert_compiled(self, method):
        if not self.compiled:
            raise ArgumentError(f"You must call `compile()` before using the model ({method}() on model "
                                f"'{getattr(self, 'name', type(self).__name__)}')")

    # ---- metrics ---------------------------------------------------------------------------------------------
    @property
    def metrics(self):
        """The model's metrics: the loss tracker, the compiled metrics, per-output loss trackers, then metrics
        assigned as attributes of the model (custom ``train_step`` loops)."""
        out = []
        if self.compiled:
            if self._loss_tracker is not None:
                out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            if self._compile_loss is not None:
                out.extend(self._compile_loss.metrics)
        metric_class = metrics_module.Metric
        attributes = [value for value in self.__dict__.values() if isinstance(value, metric_class)]
        if attributes:  # the loss tracker and compiled metrics are attributes too: each metric once
            internal = {id(m) for m in out}
            out.extend(value for value in attributes if id(value) not in internal)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        """Reset the state of every metric (the start of each epoch and of ``evaluate``)."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        """``{name: value}`` of every metric so far; the compiled metrics' dict is merged in."""
        out = {}
        for m in self.metrics:
            result = m.result()
            if isinstance(result, dict):
                out.update(result)
            else:
                out[m.name] = result
        return out

    def _get_metrics_result_or_logs(self, logs):
        result = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) == set(result):
            return result
        return logs

    def _flatten_metrics_in_order(self, logs):
        names = []
        for m in self.metrics:
            if isinstance(m, _CompileMetrics):
                names.extend(sub.name for sub in m.flat_metrics())
            else:
                names.append(m.name)
        values = [logs[name] for name in names if name in logs]
        values.extend(logs[key] for key in sorted(logs) if key not in names)
        return values[0] if len(values) == 1 else values

    # ---- losses ----------------------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the compiled losses plus ``self.losses`` (regularization and ``add_loss``)."""
        losses = []
        if self._compile_loss is not None:
            value = self._compile_loss(y, y_pred, sample_weight)
            if value is not None:
                losses.append(value)
        for extra in self._extra_losses():
            value = extra if isinstance(extra, Tensor) else Tensor._make(xp.asarray(extra, dtype=xp.float32))
            if not value.is_floating_point():
                value = value.float()
            losses.append(value.sum())
        if not losses:
            raise ArgumentError("No loss to compute. Provide a `loss` argument in `compile()`.")
        total = losses[0]
        for value in losses[1:]:
            total = total + value
        return total

    def _extra_losses(self):
        try:
            return list(self.losses)
        except AttributeError:
            return []

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        compute_loss = self.compute_loss
        if _takes_training(compute_loss):
            return compute_loss(x, y, y_pred, sample_weight, training=training)
        return compute_loss(x, y, y_pred, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch and return ``get_metrics_result()``."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    # ---- steps -----------------------------------------------------------------------------------------------
    def _trainable_variables(self):
        weights = getattr(self, "trainable_weights", None)
        if weights is None:
            weights = [p for p in self.parameters() if p.requires_grad]
        return list(weights)

    def train_step(self, data):
        """One training step on a batch: forward with ``training=True``, loss, backward, optimizer update, metrics.

        Returns:
            The logs: ``{name: value}`` of the metrics so far.
        """
        x, y, sample_weight = _unpack(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        optimizer = self.optimizer
        if _is_torch_style(optimizer):
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            variables = self._trainable_variables()
            if variables:
                for v in variables:
                    v.grad = None
                optimizer.scale_loss(loss).backward()
                optimizer.apply([v.grad for v in variables], variables)
            else:
                warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        """One evaluation step: forward with ``training=False``, loss and metrics; returns the logs."""
        x, y, sample_weight = _unpack(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        """The model's output for a batch (``training=False``)."""
        x, _, _ = _unpack(data)
        return self(x, training=False)

    # ---- fit -------------------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train the model for ``epochs`` epochs.

        Args:
            x: inputs: an array or tensor, a list/dict of them for several inputs, or an iterable of batches
                ``(x, y)`` / ``(x, y, sample_weight)`` such as a ``lamina.utils.data.DataLoader``.
            y: targets, like ``x`` (not with an iterable ``x``).
            batch_size: samples per step for array data (default 32).
            epochs: the index of the last epoch (training starts at ``initial_epoch``).
            verbose: 'auto' (= 1), 0 (silent), 1 (progress bar) or 2 (one line per epoch).
            callbacks: a list of ``keras.callbacks.Callback``.
            validation_split: the fraction of the array data, taken from the end before shuffling, used only
                for validation.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight)`` or an iterable of batches;
                overrides ``validation_split``.
            shuffle: reshuffle array data each epoch (True), keep the order (False) or shuffle batch-sized
                chunks ('batch').
            class_weight: ``{class index: weight}``, turned into per-sample weights of the loss.
            sample_weight: per-sample (or per-timestep) weights of the loss for array data.
            initial_epoch: the epoch to start from (to resume training).
            steps_per_epoch: batches per epoch (default: one pass over the data).
            validation_steps: batches per validation (default: all).
            validation_batch_size: batch size of validation (default ``batch_size``).
            validation_freq: validate every this many epochs (an int), or at the listed epochs (1-based).

        Returns:
            A ``History``: ``history.history`` maps 'loss', metric names and their 'val_' versions to per-epoch
            lists.
        """
        who = "Model.fit()"
        self._assert_compiled("fit")
        verbose = _check_verbose(verbose, who)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = _train_validation_split((x, y, sample_weight), validation_split,
                                                                             who)
        if validation_data is not None:
            if isinstance(validation_data, (list, tuple)) and _is_array_data(tuple(validation_data)):
                val_x, val_y, val_sample_weight = _unpack(tuple(validation_data))
            else:
                val_x, val_y, val_sample_weight = validation_data, None, None
        data = _make_data(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight, who)
        iterator = _EpochIterator(data, steps_per_epoch)
        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      verbose=verbose, epochs=epochs, steps=iterator.num_batches,
                                                      model=self)
        self.stop_training = False
        training_logs = None
        logs = {}
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            self.train()
            with enable_grad():
                for step, batch in iterator:
                    callbacks.on_train_batch_begin(step)
                    logs = self.train_step(batch)
                    callbacks.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            epoch_logs = dict(callbacks_module.pythonify_logs(self._get_metrics_result_or_logs(logs)))
            self.eval()
            if validation_data is not None and self._should_eval(epoch, validation_freq):
                val_logs = self.evaluate(val_x, val_y, sample_weight=val_sample_weight,
                                         batch_size=validation_batch_size or batch_size, steps=validation_steps,
                                         callbacks=callbacks, return_dict=True)
                epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if isinstance(self.optimizer, optimizers_module.Optimizer) and epochs > 0:
            self.optimizer.finalize_variable_values(self._trainable_variables())
        callbacks.on_train_end(logs=training_logs)
        return self.history

    @staticmethod
    def _should_eval(epoch, validation_freq):
        epoch += 1  # validation_freq counts epochs from 1
        if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
            return epoch % validation_freq == 0
        if isinstance(validation_freq, (list, tuple)):
            return epoch in validation_freq
        raise ArgumentError(f"Model.fit(): validation_freq must be an int or a list of epochs, got "
                            f"{validation_freq!r}")

    # ---- evaluate --------------------------------------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics of the model on data (in inference mode, without gradients).

        Args:
            x, y, sample_weight: as in ``fit``.
            batch_size: default 32 for array data.
            verbose: 'auto' (= 1), 0, 1 or 2.
            steps: batches to evaluate (default: all).
            callbacks: a list of callbacks.
            return_dict: return ``{name: value}`` instead of a list.

        Returns:
            The loss (a float) when there are no metrics, else ``[loss, metric, ...]`` in the order of
            ``metrics_names``; or a dict with ``return_dict``.
        """
        who = "Model.evaluate()"
        if kwargs:
            raise ArgumentError(f"{who}: arguments not recognized: {sorted(kwargs)}")
        self._assert_compiled("evaluate")
        verbose = _check_verbose(verbose, who)
        data = _make_data(x, y, sample_weight, batch_size, steps, False, None, who)
        iterator = _EpochIterator(data, steps)
        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, verbose=verbose,
                                                      epochs=1, steps=iterator.num_batches, model=self)
        self.eval()
        self.stop_evaluating = False
        callbacks.on_test_begin()
        logs = {}
        self.reset_metrics()
        with no_grad():
            for step, batch in iterator:
                callbacks.on_test_batch_begin(step)
                logs = self.test_step(batch)
                callbacks.on_test_batch_end(step, logs)
                if self.stop_evaluating:
                    break
        logs = callbacks_module.pythonify_logs(self._get_metrics_result_or_logs(logs))
        callbacks.on_test_end(logs)
        if return_dict:
            return logs
        return self._flatten_metrics_in_order(logs)

    # ---- predict ---------------------------------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, computed in batches in inference mode, as NumPy arrays.

        Args:
            x: inputs (arrays, tensors, lists/dicts of them, or an iterable of batches whose targets are ignored).
            batch_size: default 32 for array data.
            verbose: 'auto' (= 1), 0, 1 or 2.
            steps: batches to predict (default: all).
            callbacks: a list of callbacks.

        Returns:
            A NumPy array, or a list/dict of them for a model with several outputs.
        """
        who = "Model.predict()"
        verbose = _check_verbose(verbose, who)
        data = _make_data(x, None, None, batch_size, steps, False, None, who)
        iterator = _EpochIterator(data, steps)
        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, verbose=verbose,
                                                      epochs=1, steps=iterator.num_batches, model=self)
        self.eval()
        self.stop_predicting = False
        callbacks.on_predict_begin()
        outputs = []
        structure = None
        with no_grad():
            for step, batch in iterator:
                callbacks.on_predict_batch_begin(step)
                batch_outputs = self.predict_step(batch)
                structure = batch_outputs
                outputs.append([_to_numpy(o) for o in flatten(batch_outputs)])
                callbacks.on_predict_batch_end(step, {"outputs": batch_outputs})
                if self.stop_predicting:
                    break
        callbacks.on_predict_end()
        if not outputs:
            raise ArgumentError(f"{who}: no batch was predicted; the input data is empty")
        joined = [xp.concatenate(parts, axis=0) if parts[0].ndim else xp.stack(parts)
                  for parts in zip(*outputs)]
        return pack_as(structure, joined) if isinstance(structure, (list, tuple, dict)) else joined[0]

    # ---- single batches --------------------------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns its loss (and metrics) like ``evaluate``.

        The metrics are reset first, so the values are those of this batch alone.
        """
        who = "Model.train_on_batch()"
        self._assert_compiled("train_on_batch")
        if class_weight is not None:
            if sample_weight is not None:
                raise ArgumentError(f"{who}: sample_weight and class_weight cannot be given at the same time")
            sample_weight = _class_weight_to_sample_weight(y, class_weight, who)
        self.reset_metrics()
        self.train()
        with enable_grad():
            logs = self.train_step(_pack(_to_tensors(_as_arrays(x)), _to_tensors(_as_arrays(y)),
                                         _to_tensors(_as_arrays(sample_weight))))
        logs = callbacks_module.pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics of one batch (metrics reset first); returns them like ``evaluate``."""
        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        self.eval()
        with no_grad():
            logs = self.test_step(_pack(_to_tensors(_as_arrays(x)), _to_tensors(_as_arrays(y)),
                                        _to_tensors(_as_arrays(sample_weight))))
        logs = callbacks_module.pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, as NumPy arrays."""
        self.eval()
        with no_grad():
            outputs = self.predict_step(_pack(_to_tensors(_as_arrays(x))))
        return _to_numpy(outputs)

    # ---- saving the compile configuration --------------------------------------------------------------------
    def get_compile_config(self):
        """The compile() arguments as JSON, for ``model.save``; None when not compiled, or when a custom object
        (a loss function of your own, a torch-style optimizer) has no config."""
        if not self.compiled or self._compile_config is None:
            return None
        config = self._compile_config
        try:
            return {"optimizer": optimizers_module.serialize(config["optimizer"]),
                    "loss": _serialize_nest(config["loss"], losses_module.serialize),
                    "loss_weights": config["loss_weights"],
                    "metrics": _serialize_nest(config["metrics"], _serialize_metric),
                    "weighted_metrics": _serialize_nest(config["weighted_metrics"], _serialize_metric),
                    "run_eagerly": config["run_eagerly"], "steps_per_execution": config["steps_per_execution"],
                    "jit_compile": config["jit_compile"]}
        except (ArgumentError, TypeError, AttributeError):
            return None

    def compile_from_config(self, config):
        """``compile()`` again from ``get_compile_config()``'s output (used by ``keras.saving.load_model``)."""
        if not config:
            return
        self.compile(optimizer=optimizers_module.deserialize(config["optimizer"]),
                     loss=_serialize_nest(config.get("loss"), losses_module.deserialize, decode=True),
                     loss_weights=config.get("loss_weights"),
                     metrics=_serialize_nest(config.get("metrics"), _deserialize_metric, decode=True),
                     weighted_metrics=_serialize_nest(config.get("weighted_metrics"), _deserialize_metric,
                                                      decode=True),
                     run_eagerly=config.get("run_eagerly", False))


def _serialize_nest(value, fn, decode=False):
    """Apply ``fn`` to the objects of a loss/metrics nest; names ('mse', 'accuracy') stay strings, since
    compile() resolves them itself."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and not (decode and "class_name" in value):
        return {k: _serialize_nest(v, fn, decode) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_nest(v, fn, decode) for v in value]
    return fn(value)


def _serialize_metric(metric):
    return metrics_module.serialize(metric)


def _deserialize_metric(config):
    return metrics_module.deserialize(config)

"""``keras.callbacks``: hooks into ``fit``, ``evaluate`` and ``predict``, with Keras 3's names and behaviour.

A callback's methods are called at the start and end of training, of each epoch and of each batch, with the
logs so far (``{"loss": 0.31, "accuracy": 0.9, "val_loss": ...}``). ``fit`` always adds a ``History`` (returned
by ``fit``, also ``model.history``) and, unless ``verbose=0``, a ``ProgbarLogger`` that prints the progress bar.

Example:
    >>> early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    >>> ckpt = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)
    >>> history = model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[early, ckpt])
"""
import collections
import csv
import os
import warnings

from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.keras.utils import Progbar, _write
from lamina.tensor import Tensor

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "CSVLogger", "LambdaCallback"]


def pythonify_logs(logs):
    """Flatten nested dicts of logs (the compiled metrics) and turn tensors into Python floats, keys sorted as
    Keras sorts them."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        if isinstance(value, Tensor):
            value = value._data
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


def _print(message):
    _write(str(message) + "\n")


class Callback:
    """Base class of callbacks (``keras.callbacks.Callback``): override the hooks you need.

    ``self.model`` is the model being trained and ``self.params`` holds ``verbose``, ``epochs`` and ``steps``.
    ``on_batch_begin``/``on_batch_end`` are the training-batch hooks by another name.

    Example:
        >>> class PrintLoss(keras.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Called at the start of a training batch (same as ``on_train_batch_begin``)."""

    def on_batch_end(self, batch, logs=None):
        """Called at the end of a training batch (same as ``on_train_batch_end``)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch during ``fit``."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its training and validation logs."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the start of a batch in ``evaluate`` (and validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in ``evaluate`` (and validation)."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the start of a batch in ``predict``."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in ``predict``; ``logs["outputs"]`` holds the batch's predictions."""

    def on_train_begin(self, logs=None):
        """Called at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called at the end of ``fit`` with the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called at the start of ``evaluate`` (and of each validation)."""

    def on_test_end(self, logs=None):
        """Called at the end of ``evaluate`` with its logs."""

    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""


class CallbackList(Callback):
    """Calls a list of callbacks in order; ``fit`` makes one, adding History and ProgbarLogger when asked.

    Args:
        callbacks: the user's callbacks (a nested list is flattened).
        add_history: add a History unless one is in the list.
        add_progbar: add a ProgbarLogger unless one is in the list.
        model: the model, given to every callback.
        **params: ``verbose``, ``epochs``, ``steps``, given to every callback's ``set_params``.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = _flatten(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise ArgumentError(f"callbacks: every callback must be a keras.callbacks.Callback, got "
                                    f"{type(cb).__name__}")
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def append(self, callback):
        self.callbacks.append(callback)

    def _call(self, hook, *args, logs=None):
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        # the predictions are passed through as they are
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


def _flatten(callbacks):
    if isinstance(callbacks, CallbackList):
        return list(callbacks.callbacks)
    if isinstance(callbacks, (list, tuple)):
        out = []
        for cb in callbacks:
            out.extend(_flatten(cb))
        return out
    return [callbacks]


class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"]`` is the list of epoch losses and
    ``history.epoch`` the epoch indices. ``fit`` adds one and returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints Keras's progress bar during ``fit``, ``evaluate`` and ``predict`` (added by them when
    ``verbose != 0``): ``Epoch 2/10`` headers, then one bar per epoch; validation inside ``fit`` is silent and
    its ``val_`` values appear on the epoch's final line."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)  # the predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _reset(self):
        # the bar is made when the epoch (or evaluate/predict) starts, so its clock includes the first step
        self.seen = 0
        self.progbar = None
        self._progbar()

    def _progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step",
                                   stateless_metrics=set())
        return self.progbar

    def _update(self, batch, logs):
        bar = self._progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            bar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        bar = self._progbar()
        if self.target is None:
            self.target = self.seen
            bar.target = self.target
        bar.update(self.target, list((logs or {}).items()), finalize=True)


# ---- monitoring callbacks -----------------------------------------------------------------------------------

class _MonitorCallback(Callback):
    """Shared logic of callbacks that watch one logged quantity (``val_loss`` by default).

    With ``mode="auto"`` a name ending in ``loss`` is minimised; a compiled metric is maximised or minimised
    by its direction (accuracies up, errors down); otherwise the mode must be given.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            name = self.monitor[len("val_"):] if self.monitor.startswith("val_") else self.monitor
            if name == "loss":
                self.monitor_op = _less
            for metric in _flat_metrics(self.model):
                if metric.name == name and getattr(metric, "_direction", None) is not None:
                    self.monitor_op = _greater if metric._direction == "up" else _less
            if self.monitor_op is None:
                raise ArgumentError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but it cannot tell whether "
                    "that metric should be maximized or minimized; pass mode='max' or mode='min'")
        if self.monitor_op is _less:
            self.min_delta *= -1

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return self.monitor_op(value - self.min_delta, reference)


def _less(a, b):
    return a < b


def _greater(a, b):
    return a > b


def _flat_metrics(model):
    out = []
    for metric in getattr(model, "metrics", None) or []:
        sub = getattr(metric, "flat_metrics", None)
        out.extend(sub() if callable(sub) else [metric])
    return out


class EarlyStopping(_MonitorCallback):
    """Stop training when a monitored quantity has stopped improving.

    Args:
        monitor: the log to watch (default ``"val_loss"``).
        min_delta: a change smaller than this is no improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a message when stopping or restoring.
        mode: "auto", "min" or "max".
        baseline: stop if the model does not beat this value within ``patience`` epochs.
        restore_best_weights: at the end of training, restore the weights of the best epoch.
        start_from_epoch: epochs to wait before watching (warm-up).

    Example:
        >>> model.fit(x, y, validation_split=0.2, epochs=100,
        ...           callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self._monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first watched epoch is the best so far, even if it is not better than the baseline
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def _monitor_value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(list((logs or {}).keys()))}", stacklevel=3)
        return value


class ModelCheckpoint(_MonitorCallback):
    """Save the model (or its weights) during training.

    Args:
        filepath: where to save; may contain ``{epoch}`` (1-based) and any log name, e.g.
            ``"ckpt/model-{epoch:02d}-{val_loss:.2f}.keras"``. It must end in ``.keras`` (``model.save``), or in
            ``.weights.safetensors`` with ``save_weights_only`` (``model.save_weights``; Keras's ``.weights.h5``
            is HDF5, which Lamina does not write).
        monitor: the log that decides the best model (default ``"val_loss"``).
        verbose: 1 prints a message at each save.
        save_best_only: save only when ``monitor`` improves.
        save_weights_only: save only the weights.
        mode: "auto", "min" or "max".
        save_freq: ``"epoch"`` or a number of batches between saves.
        initial_value_threshold: the value ``monitor`` must beat for the first save.

    Example:
        >>> keras.callbacks.ModelCheckpoint("best.weights.safetensors", save_weights_only=True,
        ...                                 save_best_only=True, monitor="val_accuracy")
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ArgumentError(f"ModelCheckpoint: unrecognized save_freq {save_freq!r}; expected 'epoch' or an int")
        if save_weights_only and not self.filepath.endswith(".weights.safetensors"):
            raise ArgumentError("ModelCheckpoint: with save_weights_only=True the filepath must end in "
                                f".weights.safetensors (Lamina's weights format), got {self.filepath!r}")
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ArgumentError(f"ModelCheckpoint: the filepath must end in .keras (the Keras model format), got "
                                f"{self.filepath!r}")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch started: batches are counted from 0 again
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving model "
                       f"to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise ArgumentError(f"ModelCheckpoint: the filepath {filepath!r} is an existing directory; give a file "
                                "name")
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise ArgumentError(f"ModelCheckpoint: failed to format the filepath {self.filepath!r}: no log named "
                                f"{e}; available: epoch, {', '.join(logs)}") from None


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when a monitored quantity has stopped improving.

    Args:
        monitor: the log to watch (default ``"val_loss"``).
        factor: the multiplier, < 1 (default 0.1).
        patience: epochs without improvement before reducing (default 10).
        verbose: 1 prints a message at each reduction.
        mode: "auto", "min" or "max".
        min_delta: a change smaller than this is no improvement (default 1e-4).
        cooldown: epochs to wait after a reduction before watching again.
        min_lr: the learning rate is never reduced below this.

    The current learning rate is added to the epoch logs as ``learning_rate``.

    Example:
        >>> keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5)
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ArgumentError(f"ReduceLROnPlateau does not support a factor >= 1.0, got factor={factor}")
        if kwargs:
            raise ArgumentError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = _get_lr(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=3)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(optimizer)
                if old_lr > xp.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(optimizer, new_lr)
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _get_lr(optimizer):
    """The learning rate of a Keras optimizer, or of the first param group of a lamina.optim one."""
    if hasattr(optimizer, "param_groups"):
        return float(optimizer.param_groups[0]["lr"])
    if not hasattr(optimizer, "learning_rate"):
        raise ArgumentError('Optimizer must have a "learning_rate" attribute.')
    lr = optimizer.learning_rate
    return float(lr._data if isinstance(lr, Tensor) else lr)


def _set_lr(optimizer, value):
    if hasattr(optimizer, "param_groups"):
        for group in optimizer.param_groups:
            group["lr"] = value
    else:
        optimizer.learning_rate = value


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)`` (or ``schedule(epoch)``).

    Args:
        schedule: a function of the epoch index (0-based) and the current rate, returning the new rate (a float).
        verbose: 1 prints the rate set at each epoch.

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> keras.callbacks.LearningRateScheduler(schedule)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = _get_lr(optimizer)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # the older one-argument form
            lr = self.schedule(epoch)
        if isinstance(lr, Tensor) and lr.numel() == 1:
            lr = float(lr)
        if not isinstance(lr, (float, xp.floating)):
            raise ArgumentError(f"LearningRateScheduler: the schedule must return a float, got {lr!r}")
        _set_lr(optimizer, float(lr))
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model.optimizer)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    Args:
        raise_error: raise a RuntimeError instead of stopping quietly.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or not (xp.isnan(loss) or xp.isinf(loss)):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating "
                               "training immediately.")
        _print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (columns ``epoch`` then the log names, sorted).

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: append to an existing file (without repeating its header) instead of overwriting it.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[keras.callbacks.CSVLogger("training.log")])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            # validation happens only on some epochs: reserve val_ columns from the start
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(f"val_{k}" for k in list(self.keys))
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) or (isinstance(value, xp.ndarray) and value.ndim > 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class LambdaCallback(Callback):
    """A callback made of functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)`` and
    ``on_train_batch_end(batch, logs)``; other keyword arguments set other hooks or attributes.

    Example:
        >>> print_epoch = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)

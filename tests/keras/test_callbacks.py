"""keras.callbacks: every callback's behaviour, checked against real Keras 3 where the two can run the same
script (a callback placed first rewrites the monitored log with a fixed sequence, so both frameworks see the
same values)."""
import csv
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402
from lamina import keras  # noqa: E402
from lamina.errors import ArgumentError  # noqa: E402
from tests.helpers import check_error  # noqa: E402

# Real Keras's own Variable/tensor conversions call np.array() on objects without a `copy` argument (NumPy 2).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

rng = np.random.default_rng(5)
X = rng.normal(size=(40, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("float32")


W0 = [rng.normal(size=(4, 1)).astype("float32"), np.zeros(1, dtype="float32")]


def model_for(lib, lr=0.05, loss="binary_crossentropy"):
    """The same one-layer model with the same initial weights in either framework."""
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation="sigmoid")])
    model.set_weights(W0)
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=lr), loss=loss, metrics=["accuracy"])
    return model


def scripted(lib, key, values, record=None):
    """A callback that overwrites ``logs[key]`` at each epoch end with the next value (and records weights)."""
    class Script(lib.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs[key] = values[epoch]
            if record is not None:
                record.append([w.copy() for w in self.model.get_weights()])
    return Script()


def run_both(make_callbacks, epochs, key="val_loss", values=None, **fit_kwargs):
    """Fit a lamina model and a Keras model with ``make_callbacks(lib)`` after a script of ``values``."""
    results = []
    for lib in (real_keras, keras):
        model = model_for(lib)
        callbacks = make_callbacks(lib)
        if values is not None:
            callbacks = [scripted(lib, key, values)] + callbacks
        history = model.fit(X, Y, epochs=epochs, batch_size=10, verbose=0, shuffle=False, callbacks=callbacks,
                            **fit_kwargs)
        results.append((model, callbacks, history))
    return results


# ---- History and the hook order -------------------------------------------------------------------------------

def test_hooks_are_called_in_keras_order():
    def recorder(lib):
        class Recorder(lib.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.calls = []
        hooks = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                 "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
                 "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]
        rec = Recorder()
        for hook in hooks:
            setattr(rec, hook, (lambda name: lambda *args, **kwargs: rec.calls.append(name))(hook))
        return rec

    calls = []
    for lib in (real_keras, keras):
        model = model_for(lib)
        rec = recorder(lib)
        model.fit(X, Y, epochs=2, batch_size=20, verbose=0, validation_data=(X[:10], Y[:10]), callbacks=[rec])
        model.evaluate(X, Y, batch_size=20, verbose=0, callbacks=[rec])
        model.predict(X, batch_size=20, verbose=0, callbacks=[rec])
        calls.append(rec.calls)
    assert calls[1] == calls[0]


def test_history_records_every_epoch():
    model = model_for(keras)
    history = model.fit(X, Y, epochs=3, verbose=0, validation_split=0.25)
    assert model.history is history and history.epoch == [0, 1, 2]
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v) for v in history.history.values())


# ---- EarlyStopping --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,values", [
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.97, 0.5, 0.4]),
    ({"patience": 1, "min_delta": 0.1}, [1.0, 0.95, 0.8, 0.79, 0.78, 0.7]),
    ({"patience": 3, "baseline": 0.5}, [1.0, 0.9, 0.8, 0.7, 0.6, 0.4]),
    ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
])
def test_early_stopping_matches_keras(kwargs, values):
    runs = run_both(lambda lib: [lib.callbacks.EarlyStopping(**kwargs)], epochs=6, values=values)
    (_, cb_theirs, h_theirs), (_, cb_ours, h_ours) = runs
    assert h_ours.epoch == h_theirs.epoch
    assert cb_ours[-1].stopped_epoch == cb_theirs[-1].stopped_epoch
    assert cb_ours[-1].best == cb_theirs[-1].best


def test_early_stopping_restores_best_weights():
    weights = []
    values = [1.0, 0.6, 0.7, 0.8, 0.9, 1.0]
    model = model_for(keras)
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=0)
    history = model.fit(X, Y, epochs=6, batch_size=10, verbose=0,
                        callbacks=[scripted(keras, "val_loss", values, weights), stop])
    assert history.epoch == [0, 1, 2, 3] and stop.best_epoch == 1 and stop.stopped_epoch == 3
    for ours, best in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(ours, best)
    assert not np.array_equal(weights[3][0], weights[1][0])


def test_early_stopping_mode_from_metric_direction(capsys):
    # val_accuracy is maximised in 'auto' mode: a falling accuracy stops training
    model = model_for(keras)
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=1, verbose=1)
    history = model.fit(X, Y, epochs=5, verbose=0, callbacks=[scripted(keras, "val_accuracy", [0.9, 0.8, 0.7, 0.6,
                                                                                                   0.5]), stop])
    assert history.epoch == [0, 1]
    assert "Epoch 2: early stopping" in capsys.readouterr().out
    model = model_for(keras)
    odd = keras.callbacks.EarlyStopping(monitor="val_custom")
    check_error(lambda: model.fit(X, Y, epochs=2, verbose=0, callbacks=[scripted(keras, "val_custom", [1, 2]), odd]),
                ArgumentError, "val_custom", "mode='max'")
    with pytest.warns(UserWarning, match="not available"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss")])


# ---- ModelCheckpoint ------------------------------------------------------------------------------------------

def test_model_checkpoint_writes_formatted_files(tmp_path):
    model = model_for(keras)
    path = str(tmp_path / "ckpt" / "model-{epoch:02d}-{loss:.2f}.keras")
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path, monitor="loss")])
    files = sorted(os.listdir(tmp_path / "ckpt"))
    assert [f[:9] for f in files] == ["model-01-", "model-02-", "model-03-"] and all(f.endswith(".keras")
                                                                                   for f in files)
    loaded = keras.saving.load_model(str(tmp_path / "ckpt" / files[-1]))
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_model_checkpoint_save_best_only_and_weights(tmp_path):
    weights = []
    values = [1.0, 0.5, 0.7, 0.4, 0.9]
    saved = []
    model = model_for(keras)
    path = str(tmp_path / "best.weights.safetensors")
    ckpt = keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    original_save = model.save_weights
    model.save_weights = lambda filepath, overwrite=True: (saved.append(filepath), original_save(filepath,
                                                                                                   overwrite))
    model.fit(X, Y, epochs=5, batch_size=10, verbose=0,
              callbacks=[scripted(keras, "val_loss", values, weights), ckpt])
    assert len(saved) == 3 and ckpt.best == 0.4  # epochs 1, 2 and 4 improved
    fresh = model_for(keras)
    fresh.load_weights(path)
    for ours, best in zip(fresh.get_weights(), weights[3]):
        np.testing.assert_array_equal(ours, best)


def test_model_checkpoint_save_freq_and_errors(tmp_path):
    model = model_for(keras)
    path = str(tmp_path / "m-{epoch}-{batch}.keras")
    model.fit(X, Y, epochs=2, batch_size=10, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(path, save_freq=3)])  # 8 batches: saves at 3 and 6
    assert sorted(os.listdir(tmp_path)) == ["m-1-3.keras", "m-2-2.keras"]
    check_error(lambda: keras.callbacks.ModelCheckpoint("w.h5", save_weights_only=True), ArgumentError,
                ".weights.safetensors")
    check_error(lambda: keras.callbacks.ModelCheckpoint("model.pt"), ArgumentError, ".keras")
    check_error(lambda: keras.callbacks.ModelCheckpoint("m.keras", save_freq="often"), ArgumentError, "save_freq")
    bad = keras.callbacks.ModelCheckpoint(str(tmp_path / "{nope}.keras"))
    check_error(lambda: model.fit(X, Y, epochs=1, verbose=0, callbacks=[bad]), ArgumentError, "nope")


# ---- learning rate --------------------------------------------------------------------------------------------

def test_reduce_lr_on_plateau_matches_keras():
    values = [1.0, 0.99995, 0.99995, 0.8, 0.8, 0.8, 0.8, 0.8]
    runs = run_both(lambda lib: [lib.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1,
                                                                 min_lr=0.01)], epochs=8, values=values)
    (m_theirs, _, h_theirs), (m_ours, _, h_ours) = runs
    np.testing.assert_allclose(h_ours.history["learning_rate"], h_theirs.history["learning_rate"], rtol=1e-6)
    assert h_ours.history["learning_rate"][-1] < h_ours.history["learning_rate"][0]
    np.testing.assert_allclose(float(m_ours.optimizer.learning_rate), float(m_theirs.optimizer.learning_rate),
                               rtol=1e-6)
    check_error(lambda: keras.callbacks.ReduceLROnPlateau(factor=1.5), ArgumentError, "factor")


def test_learning_rate_scheduler_matches_keras():
    def make(lib):
        return [lib.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)]
    (m_theirs, _, h_theirs), (m_ours, _, h_ours) = run_both(make, epochs=4)
    np.testing.assert_allclose(h_ours.history["learning_rate"], h_theirs.history["learning_rate"], rtol=1e-6)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-5)
    model = model_for(keras)  # the one-argument form
    history = model.fit(X, Y, epochs=2, verbose=0,
                        callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05], rtol=1e-6)
    bad = keras.callbacks.LearningRateScheduler(lambda epoch, lr: "fast")
    check_error(lambda: model.fit(X, Y, epochs=1, verbose=0, callbacks=[bad]), ArgumentError, "float")


def test_lr_callbacks_with_a_torch_style_optimizer():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=lamina.optim.SGD(model.parameters(), lr=0.1), loss="binary_crossentropy")
    history = model.fit(X, Y, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025, 0.0125])
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)


# ---- TerminateOnNaN, CSVLogger, LambdaCallback ----------------------------------------------------------------

def test_terminate_on_nan_stops_like_keras(capsys):
    y_nan = Y.copy()
    y_nan[15] = np.nan  # the second batch of 10 gives a NaN loss
    batches = []
    for lib in (real_keras, keras):
        model = model_for(lib, loss="mse")
        counter = []
        cb = lib.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: counter.append(batch))
        history = model.fit(X, y_nan, epochs=3, batch_size=10, shuffle=False, verbose=0,
                            callbacks=[lib.callbacks.TerminateOnNaN(), cb])
        batches.append((counter, history.epoch))
    assert batches[1] == batches[0] == ([0, 1], [0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    model = model_for(keras, loss="mse")
    check_error(lambda: model.fit(X, y_nan, batch_size=10, shuffle=False, verbose=0,
                                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)]),
                RuntimeError, "NaN or Inf loss")


def test_csv_logger_columns_match_keras(tmp_path):
    rows = []
    for lib, name in ((real_keras, "theirs.csv"), (keras, "ours.csv")):
        model = model_for(lib)
        path = str(tmp_path / name)
        model.fit(X, Y, epochs=2, verbose=0, shuffle=False, callbacks=[lib.callbacks.CSVLogger(path)])
        with open(path) as f:
            rows.append(list(csv.reader(f)))
    theirs, ours = rows
    assert ours[0] == theirs[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in ours[1:]] == ["0", "1"] and ours[1][3:] == ["NA", "NA"]
    for r_ours, r_theirs in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose([float(v) for v in r_ours[1:3]], [float(v) for v in r_theirs[1:3]], rtol=1e-5)
    # append mode adds rows without a second header; a custom separator
    model = model_for(keras)
    path = str(tmp_path / "ours.csv")
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[keras.callbacks.CSVLogger(path, append=True)])
    with open(path) as f:
        lines = f.read().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,")
    path = str(tmp_path / "semi.csv")
    model.fit(X, Y, epochs=1, verbose=0, validation_split=0.25, callbacks=[keras.callbacks.CSVLogger(path, ";")])
    with open(path) as f:
        assert f.readline().strip() == "epoch;accuracy;loss;val_accuracy;val_loss"


def test_lambda_callback_and_custom_attributes():
    events = []
    cb = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                        on_epoch_begin=lambda epoch, logs: events.append(f"epoch{epoch}"),
                                        on_epoch_end=lambda epoch, logs: events.append(round(logs["loss"], 3) > 0),
                                        on_train_end=lambda logs: events.append("end"),
                                        extra="kept")
    model_for(keras).fit(X, Y, epochs=2, verbose=0, callbacks=[cb])
    assert events == ["begin", "epoch0", True, "epoch1", True, "end"] and cb.extra == "kept"
    check_error(lambda: model_for(keras).fit(X, Y, verbose=0, callbacks=[object()]), ArgumentError, "Callback")


def test_stop_training_from_a_callback_and_params():
    seen = {}

    class Stop(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.update(self.params)

        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = model_for(keras)
    history = model.fit(X, Y, epochs=5, batch_size=10, verbose=2, callbacks=[Stop()])
    assert history.epoch == [0] and seen == {"verbose": 2, "epochs": 5, "steps": 4}

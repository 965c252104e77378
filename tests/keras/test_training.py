"""Model.compile / fit / evaluate / predict and the *_on_batch methods against real Keras 3.

Most tests build the same model in both frameworks with the same initial weights and no shuffling, so the
losses, metrics and weights after training must agree to float32 rounding; the digits test trains both the
usual way (shuffled) and compares test accuracies.
"""
import os
import re

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402
import lamina.datasets  # noqa: E402
from lamina import keras  # noqa: E402
from lamina.errors import ArgumentError, ShapeError  # noqa: E402
from lamina.utils.data import DataLoader, TensorDataset  # noqa: E402
from tests.helpers import check_error  # noqa: E402

# Real Keras's own Variable/tensor conversions call np.array() on objects without a `copy` argument (NumPy 2).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

rng = np.random.default_rng(11)
X = rng.normal(size=(70, 5)).astype("float32")
Y_BIN = (X[:, 0] + X[:, 1] > 0).astype("float32")
Y_CLS = (np.digitize(X[:, 2], [-0.5, 0.5])).astype("int64")  # 3 classes
Y_REG = (X @ rng.normal(size=(5, 2))).astype("float32")


def twins(build):
    """``build(lib)`` in real Keras and in lamina.keras, the lamina model given the Keras model's weights."""
    real_keras.utils.clear_session()
    keras.backend.clear_session()
    theirs = build(real_keras)
    ours = build(keras)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def mlp(lib, out=3, activation="softmax", hidden=8, **dense_kwargs):
    return lib.Sequential([lib.Input((5,)), lib.layers.Dense(hidden, activation="relu", **dense_kwargs),
                           lib.layers.Dense(out, activation=activation)])


def assert_history_close(ours, theirs, rtol=1e-4, atol=1e-5):
    assert set(ours.history) == set(theirs.history), (sorted(ours.history), sorted(theirs.history))
    for key in theirs.history:
        np.testing.assert_allclose(ours.history[key], theirs.history[key], rtol=rtol, atol=atol, err_msg=key)


def assert_weights_close(ours, theirs, rtol=1e-4, atol=1e-5):
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ---- fit against Keras, step for step ------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "adagrad", "adamw"])
def test_fit_matches_keras_step_for_step(optimizer):
    theirs, ours = twins(mlp)
    for model, lib in ((theirs, real_keras), (ours, keras)):
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # batch_size 16 leaves a partial last batch: the epoch loss is the sample-weighted mean over batches
    h_theirs = theirs.fit(X, Y_CLS, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y_CLS, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert isinstance(h_ours, keras.callbacks.History) and h_ours is ours.history
    assert h_ours.epoch == [0, 1, 2]
    assert_history_close(h_ours, h_theirs)
    assert_weights_close(ours, theirs)


def test_fit_on_digits_reaches_keras_accuracy():
    train, test = lamina.datasets.digits("train"), lamina.datasets.digits("test")
    x_train, y_train = train.tensors[0].numpy().reshape(-1, 64), train.tensors[1].numpy()
    x_test, y_test = test.tensors[0].numpy().reshape(-1, 64), test.tensors[1].numpy()
    accuracies = []
    for lib in (real_keras, keras):
        lib.utils.set_random_seed(0)
        model = lib.Sequential([lib.Input((64,)), lib.layers.Dense(32, activation="relu"),
                                lib.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=32, epochs=3, verbose=0)
        accuracies.append(model.evaluate(x_test, y_test, verbose=0)[1])
    keras_accuracy, our_accuracy = accuracies
    assert keras_accuracy > 0.9
    assert abs(our_accuracy - keras_accuracy) < 0.03, (our_accuracy, keras_accuracy)


def test_validation_split_and_validation_data():
    theirs, ours = twins(lambda lib: mlp(lib, out=1, activation="sigmoid"))
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    h_theirs = theirs.fit(X, Y_BIN, batch_size=10, epochs=2, validation_split=0.3, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y_BIN, batch_size=10, epochs=2, validation_split=0.3, shuffle=False, verbose=0)
    assert sorted(h_ours.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert_history_close(h_ours, h_theirs)
    # explicit validation data, a tuple of arrays or a DataLoader, validated every second epoch
    val = (X[:20], Y_BIN[:20])
    h_theirs = theirs.fit(X, Y_BIN, epochs=4, validation_data=val, validation_freq=2, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y_BIN, epochs=4, validation_data=val, validation_freq=2, shuffle=False, verbose=0)
    assert len(h_ours.history["loss"]) == 4 and len(h_ours.history["val_loss"]) == 2
    assert_history_close(h_ours, h_theirs)
    loader = DataLoader(TensorDataset(lamina.tensor(X[:20]), lamina.tensor(Y_BIN[:20])), batch_size=8)
    h_loader = ours.fit(X, Y_BIN, epochs=1, validation_data=loader, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_loader.history["val_loss"][0], ours.evaluate(X[:20], Y_BIN[:20], verbose=0)[0],
                               rtol=1e-5)


def test_sample_weight_and_class_weight_change_the_loss_as_in_keras():
    weights = rng.uniform(0, 2, size=len(X)).astype("float32")
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    for kwargs in ({"sample_weight": weights}, {"class_weight": class_weight}):
        theirs, ours = twins(mlp)
        for model in (theirs, ours):
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                          weighted_metrics=["accuracy"])
        h_theirs = theirs.fit(X, Y_CLS, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs)
        h_ours = ours.fit(X, Y_CLS, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs)
        assert "weighted_accuracy" in h_ours.history
        assert_history_close(h_ours, h_theirs)
        unweighted = mlp(keras)
        unweighted.set_weights(theirs.get_weights())
        unweighted.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        # the weights make a difference to the loss
        assert abs(ours.evaluate(X, Y_CLS, verbose=0, sample_weight=weights)[0]
                   - unweighted.evaluate(X, Y_CLS, verbose=0)) > 1e-3
    np.testing.assert_allclose(ours.train_on_batch(X, Y_CLS, class_weight=class_weight),
                               theirs.train_on_batch(X, Y_CLS, class_weight=class_weight), rtol=1e-4)


def test_regularization_losses_are_added():
    def build(lib):
        return mlp(lib, kernel_regularizer=lib.regularizers.L2(0.1))
    theirs, ours = twins(build)
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    np.testing.assert_allclose(ours.evaluate(X, Y_CLS, verbose=0), theirs.evaluate(X, Y_CLS, verbose=0), rtol=1e-5)
    plain = mlp(keras)
    plain.set_weights(theirs.get_weights())
    plain.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert ours.evaluate(X, Y_CLS, verbose=0) > plain.evaluate(X, Y_CLS, verbose=0) + 0.01
    assert_history_close(ours.fit(X, Y_CLS, epochs=2, shuffle=False, verbose=0),
                         theirs.fit(X, Y_CLS, epochs=2, shuffle=False, verbose=0))


def test_add_loss_is_added():
    def build(lib):
        class ActivityPenalty(lib.layers.Layer):
            def call(self, x):
                self.add_loss(0.1 * lib.ops.mean(x ** 2))
                return x
        return lib.Sequential([lib.Input((5,)), lib.layers.Dense(4), ActivityPenalty(), lib.layers.Dense(2)])

    theirs, ours = twins(build)
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="mse")
    assert_history_close(ours.fit(X, Y_REG, epochs=2, batch_size=8, shuffle=False, verbose=0),
                         theirs.fit(X, Y_REG, epochs=2, batch_size=8, shuffle=False, verbose=0))
    np.testing.assert_allclose(ours.evaluate(X, Y_REG, verbose=0), theirs.evaluate(X, Y_REG, verbose=0), rtol=1e-5)


def test_training_flag_reaches_call():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    model = keras.Sequential([keras.Input((5,)), Probe(), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    seen.clear()  # building the model ran shape inference
    model.fit(X[:8], Y_REG[:8, :1].repeat(3, 1), batch_size=8, verbose=0)
    model.evaluate(X[:8], Y_REG[:8, :1].repeat(3, 1), verbose=0)
    model.predict(X[:8], verbose=0)
    assert seen == [True, False, False]


# ---- evaluate / predict / single batches ---------------------------------------------------------------------

def test_evaluate_return_forms():
    theirs, ours = twins(mlp)
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy", real_keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
                               if model is theirs else keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    ours_list, theirs_list = ours.evaluate(X, Y_CLS, verbose=0), theirs.evaluate(X, Y_CLS, verbose=0)
    assert isinstance(ours_list, list) and len(ours_list) == 3
    np.testing.assert_allclose(ours_list, theirs_list, rtol=1e-5)
    as_dict = ours.evaluate(X, Y_CLS, verbose=0, return_dict=True)
    assert as_dict.keys() == theirs.evaluate(X, Y_CLS, verbose=0, return_dict=True).keys()
    assert all(isinstance(v, float) for v in as_dict.values())
    assert ours.metrics_names == theirs.metrics_names == ["loss", "compile_metrics"]
    # a fresh model: compile() without metrics keeps those of the earlier compile() (next test)
    theirs, ours = twins(mlp)
    ours.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    theirs.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    scalar = ours.evaluate(X, Y_CLS, verbose=0, batch_size=7, steps=3)
    assert isinstance(scalar, float)
    np.testing.assert_allclose(scalar, theirs.evaluate(X, Y_CLS, verbose=0, batch_size=7, steps=3), rtol=1e-5)


def test_recompile_keeps_loss_and_metrics_like_keras():
    theirs, ours = twins(mlp)
    for model, lib in ((theirs, real_keras), (ours, keras)):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(X, Y_CLS, epochs=1, shuffle=False, verbose=0)
        model.compile(optimizer=lib.optimizers.SGD(0.01))  # only the optimizer changes
    assert_history_close(ours.fit(X, Y_CLS, epochs=2, shuffle=False, verbose=0),
                         theirs.fit(X, Y_CLS, epochs=2, shuffle=False, verbose=0))
    assert isinstance(ours.optimizer, keras.optimizers.SGD)


def test_predict_and_batch_methods():
    theirs, ours = twins(mlp)
    out = ours.predict(X, batch_size=16, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (70, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, theirs.predict(X, batch_size=16, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict_on_batch(X[:4]), theirs.predict_on_batch(X[:4]), rtol=1e-5, atol=1e-6)
    for model in (theirs, ours):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(ours.test_on_batch(X, Y_CLS), theirs.test_on_batch(X, Y_CLS), rtol=1e-5)
    for _ in range(2):
        np.testing.assert_allclose(ours.train_on_batch(X[:32], Y_CLS[:32]), theirs.train_on_batch(X[:32], Y_CLS[:32]),
                                   rtol=1e-4)
    assert_weights_close(ours, theirs)
    logs = ours.train_on_batch(X[:32], Y_CLS[:32], return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    # a DataLoader yielding (x, y) batches can be predicted from; the targets are ignored
    loader = DataLoader(TensorDataset(lamina.tensor(X), lamina.tensor(Y_CLS)), batch_size=32)
    np.testing.assert_allclose(ours.predict(loader, verbose=0), ours.predict(X, verbose=0), rtol=1e-6)


def test_multi_input_multi_output_functional():
    def build(lib):
        a, b = lib.Input((5,), name="a"), lib.Input((2,), name="b")
        h = lib.layers.Dense(6, activation="relu", name="hidden")(a)
        joined = lib.layers.Concatenate(name="join")([h, b])
        cls = lib.layers.Dense(3, activation="softmax", name="cls")(joined)
        reg = lib.layers.Dense(2, name="reg")(joined)
        return lib.Model([a, b], [cls, reg])

    theirs, ours = twins(build)
    x_b = rng.normal(size=(70, 2)).astype("float32")
    for model, lib in ((theirs, real_keras), (ours, keras)):
        model.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                      loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    h_theirs = theirs.fit([X, x_b], [Y_CLS, Y_REG], batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit([X, x_b], [Y_CLS, Y_REG], batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert sorted(h_ours.history) == sorted(h_theirs.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss",
                                                                   "reg_mae"]
    assert_history_close(h_ours, h_theirs)
    # inputs and targets given as dicts keyed by input and output names
    np.testing.assert_allclose(ours.evaluate({"a": X, "b": x_b}, {"cls": Y_CLS, "reg": Y_REG}, verbose=0),
                               theirs.evaluate({"a": X, "b": x_b}, {"cls": Y_CLS, "reg": Y_REG}, verbose=0),
                               rtol=1e-5)
    predictions = ours.predict([X, x_b], verbose=0)
    assert isinstance(predictions, list) and [p.shape for p in predictions] == [(70, 3), (70, 2)]
    # a list of losses, one per output (fresh models: Keras keeps an earlier compile's metrics)
    theirs, ours = twins(build)
    ours.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mae"])
    theirs.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mae"])
    np.testing.assert_allclose(ours.evaluate([X, x_b], [Y_CLS, Y_REG], verbose=0),
                               theirs.evaluate([X, x_b], [Y_CLS, Y_REG], verbose=0), rtol=1e-5)


def test_accuracy_string_resolves_by_shapes():
    for out, activation, y, expected in ((1, "sigmoid", Y_BIN, keras.metrics.BinaryAccuracy),
                                         (3, "softmax", Y_CLS, keras.metrics.SparseCategoricalAccuracy),
                                         (3, "softmax", np.eye(3, dtype="float32")[Y_CLS],
                                          keras.metrics.CategoricalAccuracy)):
        model = mlp(keras, out=out, activation=activation)
        model.compile(optimizer="sgd", loss="binary_crossentropy" if out == 1 else "crossentropy",
                      metrics=["acc"])
        history = model.fit(X, y, verbose=0)
        assert "acc" in history.history
        assert type(model._compile_metrics.flat_metrics()[0]) is expected


def test_custom_loss_function_and_loss_object():
    def scaled_mse(y_true, y_pred):
        return 2.0 * ((y_pred - y_true) ** 2).mean(-1)

    theirs, ours = twins(lambda lib: mlp(lib, out=2, activation=None))
    theirs.compile(optimizer="sgd", loss=lambda t, p: 2.0 * real_keras.ops.mean((p - t) ** 2, axis=-1))
    ours.compile(optimizer="sgd", loss=scaled_mse)
    assert_history_close(ours.fit(X, Y_REG, epochs=2, shuffle=False, verbose=0),
                         theirs.fit(X, Y_REG, epochs=2, shuffle=False, verbose=0))
    ours.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss=keras.losses.Huber(delta=0.5),
                 metrics=[keras.metrics.RootMeanSquaredError()])
    theirs.compile(optimizer=real_keras.optimizers.SGD(0.05, momentum=0.9), loss=real_keras.losses.Huber(delta=0.5),
                   metrics=[real_keras.metrics.RootMeanSquaredError()])
    assert_history_close(ours.fit(X, Y_REG, epochs=2, shuffle=False, verbose=0),
                         theirs.fit(X, Y_REG, epochs=2, shuffle=False, verbose=0))


# ---- inputs ---------------------------------------------------------------------------------------------------

def test_dataloader_and_generator_inputs():
    theirs, ours = twins(mlp)
    ours.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    theirs.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loader = DataLoader(TensorDataset(lamina.tensor(X), lamina.tensor(Y_CLS)), batch_size=16)
    steps = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(batch))
    h_ours = ours.fit(loader, epochs=2, verbose=0, callbacks=[cb])
    h_theirs = theirs.fit(X, Y_CLS, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert steps == [0, 1, 2, 3, 4] * 2
    assert_history_close(h_ours, h_theirs)
    # a generator of (x, y, sample_weight) batches with steps_per_epoch
    def batches():
        while True:
            for i in range(0, 64, 16):
                yield X[i:i + 16], Y_CLS[i:i + 16], np.ones(16, dtype="float32")
    history = ours.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    # a lamina Tensor and a Python list work like arrays
    ours.fit(lamina.tensor(X), Y_CLS.tolist(), epochs=1, verbose=0)


def test_steps_per_epoch_and_initial_epoch_with_arrays():
    model = mlp(keras)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    counted = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: counted.append(epoch))
    history = model.fit(X, Y_CLS, batch_size=10, steps_per_epoch=3, epochs=4, initial_epoch=2, verbose=0,
                        callbacks=[cb])
    assert counted == [2, 3] and history.epoch == [2, 3]


def test_shuffling_follows_lamina_seed():
    histories = []
    for _ in range(2):
        keras.utils.set_random_seed(5)
        model = mlp(keras)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        histories.append(model.fit(X, Y_CLS, batch_size=8, epochs=2, verbose=0).history["loss"])
    assert histories[0] == histories[1]
    keras.utils.set_random_seed(5)
    model = mlp(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    unshuffled = model.fit(X, Y_CLS, batch_size=8, epochs=2, verbose=0, shuffle=False).history["loss"]
    assert unshuffled != histories[0]


# ---- progress bar --------------------------------------------------------------------------------------------

TIME = re.compile(r"\d+(\.\d+)?(s|ms|us)(/step)?")


def _normalise(text):
    return TIME.sub("T", text)


def _keras_output(capsys, fn):
    capsys.readouterr()
    fn()
    return capsys.readouterr().out


def test_progress_bar_verbose_2_matches_keras_text(capsys):
    theirs, ours = twins(mlp)
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out_theirs = _keras_output(capsys, lambda: theirs.fit(X, Y_CLS, batch_size=16, epochs=2, validation_split=0.2,
                                                          shuffle=False, verbose=2))
    out_ours = _keras_output(capsys, lambda: ours.fit(X, Y_CLS, batch_size=16, epochs=2, validation_split=0.2,
                                                      shuffle=False, verbose=2))
    assert _normalise(out_ours) == _normalise(out_theirs)
    lines = out_ours.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(r"4/4 - \d+s - \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - "
                        r"val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", lines[1])
    ev_theirs = _keras_output(capsys, lambda: theirs.evaluate(X, Y_CLS, verbose=2))
    ev_ours = _keras_output(capsys, lambda: ours.evaluate(X, Y_CLS, verbose=2))
    assert _normalise(ev_ours) == _normalise(ev_theirs)


def test_progress_bar_verbose_1_and_0(capsys):
    model = mlp(keras)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out = _keras_output(capsys, lambda: model.fit(X, Y_CLS, batch_size=16, epochs=2, verbose=1))
    # stdout is captured (not a terminal): the final line of each epoch, no redraw characters
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    bar = "\u2501" * 20
    assert re.fullmatch(rf"5/5 {bar} \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{{4}} - loss: \d\.\d{{4}}",
                        lines[1]), lines[1]
    assert "\r" not in out and "\b" not in out and "\x1b" not in out
    out = _keras_output(capsys, lambda: model.evaluate(X, Y_CLS, batch_size=32))  # verbose="auto" is 1
    assert re.fullmatch(rf"3/3 {bar} \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{{4}} - loss: \d\.\d{{4}}\n", out)
    out = _keras_output(capsys, lambda: model.predict(X, batch_size=32))
    assert re.fullmatch(rf"3/3 {bar} \d+s \d+(ms|us|s)/step\n", out)
    assert _keras_output(capsys, lambda: model.fit(X, Y_CLS, epochs=2, verbose=0)) == ""
    assert _keras_output(capsys, lambda: model.evaluate(X, Y_CLS, verbose=0)) == ""


def test_progbar_on_a_terminal(monkeypatch, capsys):
    """On a terminal the bar is redrawn in place with colours, and ends with the epoch's line."""
    monkeypatch.setattr(keras.utils, "_stdout_is_tty", lambda: True)
    bar = keras.utils.Progbar(target=4, interval=0)
    for step in range(1, 5):
        bar.update(step, [("loss", 1.0 / step)])
    out = capsys.readouterr().out
    assert out.count("\r") == 4 and out.endswith("\n")
    final = out.split("\r")[-1]
    plain = re.sub(r"\x1b\[\d+m", "", final)
    assert re.fullmatch(r"4/4 \u2501{20} \d+s \d+(ms|us|s)/step - loss: 0\.2500\s*\n", plain), plain
    first = re.sub(r"\x1b\[\d+m", "", out.split("\r")[1])
    assert first.startswith("1/4 \u2501\u2501\u2501\u2501\u2501") and "ETA" not in first


def test_progbar_unknown_target_and_verbose_2(capsys):
    bar = keras.utils.Progbar(target=None, verbose=2)
    bar.update(3, [("loss", 0.5)])
    assert capsys.readouterr().out == ""
    bar = keras.utils.Progbar(target=2, verbose=2, stateful_metrics=["acc"])
    bar.update(1, [("loss", 1.0), ("acc", 0.2)])
    bar.update(2, [("loss", 3.0), ("acc", 0.4)])
    line = capsys.readouterr().out
    assert re.fullmatch(r"2/2 - \d+s - \d+(ms|us|s)/step - loss: 3\.0000 - acc: 0\.4000\n", line), line


# ---- customisation, compile options, errors --------------------------------------------------------------------

def test_compute_loss_overrides_with_and_without_training():
    seen = []

    class WithTraining(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            seen.append(("with", training))
            return super().compute_loss(x, y, y_pred, sample_weight) * 2.0

    class WithoutTraining(WithTraining):
        def compute_loss(self, x, y, y_pred, sample_weight):  # an older override: no training argument
            seen.append(("without", None))
            return keras.Model.compute_loss(self, x, y, y_pred, sample_weight)

    for cls in (WithTraining, WithoutTraining, WithTraining):
        model = cls()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.train_on_batch(X[:8], Y_CLS[:8])
        model.test_on_batch(X[:8], Y_CLS[:8])
    assert seen == [("with", True), ("with", False), ("without", None), ("without", None), ("with", True),
                    ("with", False)]


def test_custom_train_step_keras_style():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae = keras.metrics.MeanAbsoluteError(name="mae")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = ((y_pred - y) ** 2).mean()
            self.zero_grad()
            loss.backward()
            weights = self.trainable_weights
            self.optimizer.apply([w.value.grad for w in weights], weights)
            self.loss_tracker.update_state(loss)
            self.mae.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae]

    model = Custom()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(X, Y_REG, epochs=5, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_get_compile_config_and_reload(tmp_path):
    model = mlp(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)])
    model.fit(X, Y_CLS, epochs=1, verbose=0)
    config = model.get_compile_config()
    assert config["optimizer"]["class_name"] == "Adam" and config["loss"] == "sparse_categorical_crossentropy"
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.compiled and isinstance(loaded.optimizer, keras.optimizers.Adam)
    np.testing.assert_allclose(loaded.evaluate(X, Y_CLS, verbose=0), model.evaluate(X, Y_CLS, verbose=0), rtol=1e-6)
    uncompiled = mlp(keras)
    assert uncompiled.get_compile_config() is None


def test_training_errors():
    model = mlp(keras)
    check_error(lambda: model.fit(X, Y_CLS), ArgumentError, "compile()", "fit")
    check_error(lambda: model.evaluate(X, Y_CLS), ArgumentError, "compile()")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    check_error(lambda: model.fit(X, Y_CLS[:60], verbose=0), ShapeError, "cardinality", "x sizes: 70",
                "y sizes: 60")
    check_error(lambda: model.fit(X, Y_CLS, verbose=3), ArgumentError, "verbose", "3")
    check_error(lambda: model.fit(X, Y_CLS, batch_size=-1, verbose=0), ArgumentError, "batch_size")
    loader = DataLoader(TensorDataset(lamina.tensor(X), lamina.tensor(Y_CLS)), batch_size=16)
    check_error(lambda: model.fit(loader, validation_split=0.2, verbose=0), ArgumentError, "validation_split",
                "validation_data")
    check_error(lambda: model.fit(loader, Y_CLS, verbose=0), ArgumentError, "y must not be given")
    check_error(lambda: model.fit(X, Y_CLS, sample_weight=np.ones(70), class_weight={0: 1.0}, verbose=0),
                ArgumentError, "class_weight")
    check_error(lambda: model.fit(X[:1], Y_CLS[:1], validation_split=0.5, verbose=0), ArgumentError,
                "1 samples")
    check_error(lambda: model.compile(optimizer="nope"), ArgumentError, "unknown optimizer")
    check_error(lambda: model.compile(optimizer="sgd", steps_per_execution=4), ArgumentError,
                "steps_per_execution")
    fresh = mlp(keras)
    fresh.compile(optimizer="sgd")
    check_error(lambda: fresh.fit(X, Y_CLS, verbose=0), ArgumentError, "No loss to compute")

"""The digits CNN in the Keras idiom: a functional model built, compiled, fitted, evaluated, saved and reloaded.

Same task as the main demo (the embedded 8x8 handwritten digits), written as Keras 3 code runs on Lamina:
``keras.Input`` -> Conv2D/MaxPooling2D/Flatten/Dense, ``model.summary()``, ``compile``/``fit`` with a validation
split, EarlyStopping and ModelCheckpoint, the returned History plotted as curves, ``evaluate``, and a ``.keras``
file that ``load_model`` reads back into a model with identical predictions. Keras layers are channels-last, so
images go in as (N, 8, 8, 1).

Run: ``python examples/keras_cnn.py [--epochs N] [--out DIR] [--quick]``.
"""
import argparse
import os

import lamina
import lamina.datasets
import lamina.keras as keras
from lamina.keras import layers


def load_digits(split):
    """The digits as NumPy arrays, images moved from PyTorch's (N, 1, 8, 8) to Keras's channels-last (N, 8, 8, 1)."""
    images, labels = lamina.datasets.digits(split).tensors
    return images.numpy().transpose(0, 2, 3, 1), labels.numpy()


def build_model(classes=10):
    """The functional API: call layers on symbolic tensors, then wrap inputs and outputs in a Model.
    Shapes are inferred layer by layer before any data is seen, which is what ``summary()`` prints."""
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)   # 8 x 8 x 16
    x = layers.MaxPooling2D(2)(x)                                           # 4 x 4 x 16
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)        # 4 x 4 x 32
    x = layers.MaxPooling2D(2)(x)                                           # 2 x 2 x 32
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def main(epochs=40, out="out", quick=False):
    keras.utils.set_random_seed(0)  # seeds lamina's generator: same weights, dropout masks and shuffling
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    model = build_model()
    model.summary()

    # Labels are class indices (not one-hot), hence the *sparse* categorical cross-entropy.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    os.makedirs(out, exist_ok=True)
    best_path = os.path.join(out, "digits_cnn_best.keras")
    callbacks = [
        # stop once the validation loss has not improved for 5 epochs, and go back to the best weights
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
        # keep the best model seen so far on disk (a crash or a Ctrl-C loses nothing)
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", save_best_only=True),
    ]
    history = model.fit(x_train, y_train, batch_size=32, epochs=2 if quick else epochs, validation_split=0.1,
                        callbacks=callbacks, verbose=2 if quick else 1)
    print(f"trained {len(history.history['loss'])} epochs; best checkpoint in {best_path}")
    try:  # fit returns a History: one list per metric, which plots as training curves
        from lamina.utils.plotting import plot_history
        print(f"curves written to {plot_history(history, os.path.join(out, 'keras_cnn_curves.png'))}")
    except ImportError as e:
        print(f"(no curves: {e})")

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)

    # A .keras file is a zip of the model's config (JSON naming registered classes only) and its weights.
    path = os.path.join(out, "digits_cnn.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    same = bool((restored.predict(x_test, verbose=0) == model.predict(x_test, verbose=0)).all())
    print(f"saved to {path} and reloaded with load_model: identical predictions: {same}")
    print(f"test loss: {test_loss:.4f}  test accuracy: {test_accuracy:.3f}")
    return test_accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40, help="at most this many epochs (EarlyStopping may stop "
                                                               "sooner)")
    parser.add_argument("--out", default="out", help="folder for the .keras files and the curves")
    parser.add_argument("--quick", action="store_true", help="two epochs, one line per epoch (for the tests)")
    args = parser.parse_args()
    main(args.epochs, args.out, args.quick)

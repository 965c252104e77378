"""W1 and W2 written in the Keras idiom, to time against the same models in the torch idiom (both on Lamina)."""
import numpy as np

from benchmarks.workloads import _data, _labels, w1_mlp_sgd, w2_cnn_adam


def keras_w1(size):
    import lamina
    import lamina.keras as keras
    from lamina.keras import layers
    lamina.manual_seed(0)
    batch, hidden = (128, 512) if size == "full" else (8, 16)
    model = keras.Sequential([keras.Input((784,)), layers.Dense(hidden, activation="relu"),
                              layers.Dense(hidden, activation="relu"), layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _data((batch, 784), 1), _labels(batch, 10, 2)
    return lambda: model.train_on_batch(x, y)


def keras_w2(size):
    import lamina
    import lamina.keras as keras
    from lamina.keras import layers
    lamina.manual_seed(0)
    batch = 64 if size == "full" else 2
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                              layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                              layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.ascontiguousarray(_data((batch, 1, 28, 28), 1).transpose(0, 2, 3, 1))
    y = _labels(batch, 10, 2)
    return lambda: model.train_on_batch(x, y)


KERAS_WORKLOADS = {"K-W1 MLP train step, Keras idiom vs torch idiom": (keras_w1, w1_mlp_sgd),
                   "K-W2 CNN train step, Keras idiom vs torch idiom": (keras_w2, w2_cnn_adam)}

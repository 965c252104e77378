"""One custom RNN cell written twice, as an nn.Module run by ``nn.RNN(cell)`` and as a Keras cell run by
``keras.layers.RNN(cell)``, each trained to track the running parity of a stream of bits.

The cell is a minimal gated unit, h' = (1 - z) * h + z * tanh(W x + U h) with an update gate z: it can keep its
state (z = 0) or overwrite it (z = 1), which is all that parity needs (flip the state on a 1, keep it on a 0).
The task: read bits b_1..b_T and output, at every step t, whether b_1 + ... + b_t is odd. Both versions train on
the same data; the script prints their held-out accuracies (per step, and whole sequences right).

Run: ``python examples/custom_rnn_cell.py [--epochs N] [--out DIR] [--quick]``.
"""
import argparse
import os

import numpy

import lamina
import lamina.keras as keras
from lamina import nn
from lamina.keras import layers, ops
from lamina.utils.data import DataLoader, TensorDataset

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is a nicety; training works without it
    def tqdm(iterable, **kwargs):
        return iterable


# ---- the PyTorch idiom: a cell Module, looped over time by nn.RNN ---------------------------------------------------

class MinimalGRUCell(nn.Module):
    """h' = (1 - z) * h + z * tanh(W x + U h), z = sigmoid(W_z x + U_z h): one step, (N, input) -> (N, hidden).

    ``nn.RNN(cell)`` calls ``cell(x_t, h)`` at every step and starts from zeros of size ``hidden_size``.
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.x_to_gates = nn.Linear(input_size, 2 * hidden_size)
        self.h_to_gates = nn.Linear(hidden_size, 2 * hidden_size, bias=False)

    def forward(self, x, h):
        z, candidate = (self.x_to_gates(x) + self.h_to_gates(h)).chunk(2, dim=-1)
        z = z.sigmoid()
        return (1 - z) * h + z * candidate.tanh()


class ParityNet(nn.Module):
    """bits (N, T, 1) -> the cell over time -> a linear readout of each state -> logits (N, T, 2)."""

    def __init__(self, hidden=16):
        super().__init__()
        self.rnn = nn.RNN(MinimalGRUCell(1, hidden), batch_first=True)
        self.readout = nn.Linear(hidden, 2)

    def forward(self, bits):
        states, _ = self.rnn(bits)          # (N, T, hidden): the state after every step
        return self.readout(states)


def train_torch_style(x, y, x_test, epochs, quick):
    model = ParityNet()
    optimizer = lamina.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(lamina.tensor(x), lamina.tensor(y)), batch_size=64, shuffle=True)
    for epoch in tqdm(range(epochs), desc="nn.RNN(cell)", disable=quick):
        for bits, parity in loader:
            optimizer.zero_grad()
            logits = model(bits)
            # one classification per time step: flatten (N, T, 2) -> (N*T, 2)
            loss = nn.functional.cross_entropy(logits.reshape(-1, 2), parity.reshape(-1))
            loss.backward()
            optimizer.step()
    model.eval()
    with lamina.no_grad():
        predicted = model(lamina.tensor(x_test)).argmax(dim=-1).numpy()
    return model, predicted


# ---- the Keras idiom: the same cell as a Keras layer, looped over time by keras.layers.RNN ------------------------

class KerasMinimalGRUCell(keras.Layer):
    """The same step in Keras's cell protocol: ``state_size`` and ``call(inputs, states) -> (output, states)``.

    Weights are made in ``build`` with ``add_weight`` once the input width is known (Keras's kernel layout:
    (in, out), so the step is x @ kernel rather than x @ W^T).
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2 * self.units), initializer="glorot_uniform",
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 2 * self.units), initializer="orthogonal",
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=(2 * self.units,), initializer="zeros", name="bias")

    def call(self, inputs, states):
        h = states[0]
        gates = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel) + self.bias
        z, candidate = ops.split(gates, 2, axis=-1)
        z = ops.sigmoid(z)
        h = (1 - z) * h + z * ops.tanh(candidate)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def train_keras_style(x, y, x_test, epochs, quick):
    inputs = keras.Input(shape=(x.shape[1], 1))
    states = layers.RNN(KerasMinimalGRUCell(16), return_sequences=True)(inputs)   # (N, T, 16)
    outputs = layers.Dense(2)(states)                                            # logits (N, T, 2)
    model = keras.Model(inputs, outputs, name="parity_rnn")
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0 if quick else 2)
    predicted = model.predict(x_test, verbose=0).argmax(-1)
    return model, predicted


# ---- data and scoring -------------------------------------------------------------------------------------------

def parity_data(n, length, seed):
    """Random bits (n, length, 1) float32 and the running parity of each prefix (n, length) int64."""
    rng = numpy.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, length))
    return bits[..., None].astype(numpy.float32), (numpy.cumsum(bits, axis=1) % 2).astype(numpy.int64)


def scores(predicted, target):
    """(fraction of steps right, fraction of sequences with every step right)."""
    right = predicted == target
    return float(right.mean()), float(right.all(axis=1).mean())


def main(epochs=20, out="out", quick=False, length=16):
    lamina.manual_seed(0)
    if quick:
        epochs, length = 1, 8
    x, y = parity_data(256 if quick else 2000, length, seed=1)
    x_test, y_test = parity_data(128 if quick else 500, length, seed=2)

    torch_model, torch_predicted = train_torch_style(x, y, x_test, epochs, quick)
    print(torch_model)
    keras_model, keras_predicted = train_keras_style(x, y, x_test, epochs, quick)
    keras_model.summary()

    os.makedirs(out, exist_ok=True)
    lamina.save(torch_model.state_dict(), os.path.join(out, "parity_nn_rnn.safetensors"))
    keras_model.save_weights(os.path.join(out, "parity_keras_rnn.weights.safetensors"))

    results = {}
    for name, predicted in (("nn.RNN(MinimalGRUCell)", torch_predicted),
                            ("keras.layers.RNN(KerasMinimalGRUCell)", keras_predicted)):
        results[name] = scores(predicted, y_test)
        print(f"{name:40s} step accuracy {results[name][0]:.3f}   whole sequences right {results[name][1]:.3f}")
    (torch_step, _), (keras_step, _) = results.values()
    print(f"final accuracies on {len(y_test)} held-out sequences of {length} bits: "
          f"nn.RNN {torch_step:.3f}, keras.layers.RNN {keras_step:.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--length", type=int, default=16, help="bits per sequence")
    parser.add_argument("--out", default="out", help="folder for the weights")
    parser.add_argument("--quick", action="store_true", help="one epoch on short sequences (for the tests)")
    args = parser.parse_args()
    main(args.epochs, args.out, args.quick, args.length)

"""Recurrent layers (SimpleRNN, LSTM, GRU, their cells, RNN(cell), Bidirectional, TimeDistributed) against real
Keras 3 (torch backend)."""
import numpy as np
import pytest

from tests.helpers import check_error, rand
from tests.keras.layer_helpers import check_config, compare, keras, lamina, real_keras

L, R = keras.layers, real_keras.layers
TOL = dict(rtol=1e-5, atol=1e-5)

OPTIONS = [dict(), dict(return_sequences=True), dict(return_state=True), dict(go_backwards=True),
           dict(return_sequences=True, return_state=True, go_backwards=True)]


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", OPTIONS)
def test_recurrent_layers(cls, options):
    ours, theirs = getattr(L, cls)(4, **options), getattr(R, cls)(4, **options)
    compare(theirs, ours, rand(2, 5, 3, seed=1), **TOL)
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    check_config(theirs, ours)


@pytest.mark.parametrize("kwargs", [dict(reset_after=False), dict(use_bias=False), dict(activation="relu"),
                                    dict(recurrent_activation="hard_sigmoid")])
def test_gru_variants(kwargs):
    compare(R.GRU(3, return_sequences=True, **kwargs), L.GRU(3, return_sequences=True, **kwargs),
            rand(2, 4, 2, seed=2), **TOL)


def test_lstm_weights_and_unit_forget_bias():
    layer = L.LSTM(3)
    layer.build((None, 4, 2))
    assert tuple(layer.cell.kernel.shape) == (2, 12) and tuple(layer.cell.recurrent_kernel.shape) == (3, 12)
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0] * 3 + [1] * 3 + [0] * 6)  # forget gate bias = 1
    q = layer.cell.recurrent_kernel.detach().numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-5)  # orthogonal recurrent kernel
    assert layer.units == 3 and layer.recurrent_activation is keras.activations.sigmoid
    gru = L.GRU(3)
    gru.build((None, 4, 2))
    assert tuple(gru.cell.bias.shape) == (2, 9)


def test_initial_state_and_mask():
    x = rand(2, 5, 3, seed=3)
    h0, c0 = rand(2, 4, seed=4), rand(2, 4, seed=5)
    compare(R.LSTM(4, return_sequences=True), L.LSTM(4, return_sequences=True), x, initial_state=[h0, c0], **TOL)
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 0]], dtype=bool)
    for zero in (False, True):
        compare(R.GRU(4, return_sequences=True, zero_output_for_mask=zero),
                L.GRU(4, return_sequences=True, zero_output_for_mask=zero), x, mask=mask, **TOL)
    compare(R.SimpleRNN(4, return_state=True, go_backwards=True),
            L.SimpleRNN(4, return_state=True, go_backwards=True), x, mask=mask, **TOL)


@pytest.mark.parametrize("cell", ["SimpleRNNCell", "LSTMCell", "GRUCell"])
def test_cells_in_rnn(cell):
    ours = L.RNN(getattr(L, cell)(4), return_sequences=True)
    theirs = R.RNN(getattr(R, cell)(4), return_sequences=True)
    compare(theirs, ours, rand(2, 5, 3, seed=6), **TOL)
    check_config(theirs, ours)
    check_config(getattr(R, cell)(4), getattr(L, cell)(4))
    # one step by hand
    c = getattr(L, cell)(4)
    c.build((None, 3))
    states = c.get_initial_state(batch_size=2)
    out, new = c(lamina.tensor(rand(2, 3, seed=7)), states)
    assert tuple(out.shape) == (2, 4) and len(new) == len(states)


def test_stacked_cells():
    ours = L.RNN([L.LSTMCell(4), L.GRUCell(3)], return_sequences=True)
    theirs = R.RNN([R.LSTMCell(4), R.GRUCell(3)], return_sequences=True)
    compare(theirs, ours, rand(2, 5, 3, seed=8), **TOL)
    assert ours.compute_output_shape((None, 5, 3)) == (None, 5, 3)


class MinimalCell(keras.layers.Layer):
    """A custom cell: h = tanh(x @ w + h_prev @ u + b)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.u = self.add_weight(shape=(self.units, self.units), initializer="orthogonal", name="u")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs, states):
        h = lamina.tanh(inputs @ self.w + states[0] @ self.u + self.b)
        return h, [h]


def test_custom_cell_learns_running_sum():
    lamina.manual_seed(0)
    inputs = keras.Input((6, 1))
    rnn = L.RNN(MinimalCell(8))
    outputs = L.Dense(1)(rnn(inputs))
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 1)
    x = lamina.rand(128, 6, 1) - 0.5
    y = x.sum(dim=1) * 0.5
    opt = lamina.optim.Adam(model.parameters(), lr=0.02)
    first = None
    for step in range(150):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < first / 20, (first, loss.item())
    # the same cell works with real Keras's loop semantics: compare with a plain Python loop
    seq = lamina.tensor(rand(2, 4, 1, seed=9))
    h = lamina.zeros(2, 8)
    for t in range(4):
        h, _ = rnn.cell.call(seq[:, t], [h])
    np.testing.assert_allclose(rnn(seq).detach().numpy(), h.detach().numpy(), rtol=1e-6)


def test_rnn_requires_a_cell():
    class NoState:
        def call(self, inputs, states):
            return inputs, states
    check_error(lambda: L.RNN(NoState()), lamina.ArgumentError, "state_size")
    check_error(lambda: L.LSTM(4, bogus=1), lamina.ArgumentError, "bogus")


def test_rnn_dropout():
    x = lamina.tensor(rand(3, 5, 2, seed=10))
    layer = L.LSTM(4, dropout=0.5, recurrent_dropout=0.5, seed=1)
    ref = L.LSTM(4)
    ref(x)
    layer(x, training=False)
    layer.set_weights(ref.get_weights())
    np.testing.assert_allclose(layer(x, training=False).detach().numpy(), ref(x).detach().numpy(), rtol=1e-6)
    a = layer(x, training=True).detach().numpy()
    assert not np.allclose(a, ref(x).detach().numpy())
    assert layer.cell._dropout_mask is None  # masks are per sequence, cleared after the call


def test_stateful_rnn():
    x1, x2 = rand(2, 3, 2, seed=11), rand(2, 3, 2, seed=12)
    theirs, ours = R.GRU(3, stateful=True), L.GRU(3, stateful=True)
    theirs.build((2, 3, 2))
    ours.build((2, 3, 2))
    # (no gradient check: Keras writes its states in place, which torch's autograd refuses)
    compare(theirs, ours, x1, grads=False, **TOL)
    compare(theirs, ours, x2, copy=False, grads=False, **TOL)  # starts from the states left by x1
    ours.reset_states()
    theirs.reset_states()
    compare(theirs, ours, x1, copy=False, grads=False, **TOL)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional(merge_mode):
    for options in (dict(), dict(return_sequences=True)):
        theirs = R.Bidirectional(R.LSTM(3, **options), merge_mode=merge_mode)
        ours = L.Bidirectional(L.LSTM(3, **options), merge_mode=merge_mode)
        compare(theirs, ours, rand(2, 4, 2, seed=13), **TOL)
        assert ours.forward_layer.name.startswith("forward_") and ours.backward_layer.go_backwards
    check_config(theirs, ours)


def test_bidirectional_states_mask_and_shapes():
    theirs = R.Bidirectional(R.GRU(3, return_sequences=True, return_state=True))
    ours = L.Bidirectional(L.GRU(3, return_sequences=True, return_state=True))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=bool)
    compare(theirs, ours, rand(2, 4, 2, seed=14), mask=mask, **TOL)
    assert ours.compute_output_shape((None, 4, 2)) == ((None, 4, 6), (None, 3), (None, 3))
    inputs = keras.Input((4, 2))
    out = L.Bidirectional(L.SimpleRNN(5))(inputs)
    assert out.shape == (None, 10)
    custom = L.Bidirectional(L.RNN(MinimalCell(2), return_sequences=True))  # copied, not rebuilt from config
    assert tuple(custom(lamina.ones(1, 3, 2)).shape) == (1, 3, 4)
    check_error(lambda: L.Bidirectional(L.LSTM(2), merge_mode="max"), lamina.ArgumentError, "merge_mode")


def test_time_distributed():
    x = rand(2, 3, 4, seed=15)
    theirs, ours = R.TimeDistributed(R.Dense(5)), L.TimeDistributed(L.Dense(5))
    compare(theirs, ours, x, **TOL)
    assert ours.compute_output_shape((None, 3, 4)) == (None, 3, 5)
    check_config(theirs, ours)
    images = rand(2, 3, 5, 5, 2, seed=16)
    compare(R.TimeDistributed(R.Conv2D(3, 3)), L.TimeDistributed(L.Conv2D(3, 3)), images, rtol=1e-4, atol=1e-5)
    # each step is its own batch, as in Keras (BatchNormalization statistics per step)
    compare(R.TimeDistributed(R.BatchNormalization()), L.TimeDistributed(L.BatchNormalization()), x,
            call_kwargs=dict(training=True), rtol=1e-4)

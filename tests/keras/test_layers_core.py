"""Core layers (Dense, EinsumDense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, Identity,
Embedding) against real Keras 3 (torch backend)."""
import numpy as np
import pytest

from tests.helpers import check_error, rand
from tests.keras.layer_helpers import check_config, compare, keras, lamina, real_keras

L, R = keras.layers, real_keras.layers


@pytest.mark.parametrize("kwargs", [{}, dict(activation="relu"), dict(use_bias=False, activation="tanh")])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_dense(kwargs, shape):
    compare(R.Dense(6, **kwargs), L.Dense(6, **kwargs), rand(*shape, seed=1))


def test_dense_shapes_config_and_errors():
    layer = L.Dense(6, activation="softmax", kernel_regularizer="l2")
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5, 6)
    x = keras.Input((5, 3))
    assert layer(x).shape == (None, 5, 6)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert tuple(layer.kernel.shape) == (3, 6)
    clone = check_config(R.Dense(6, activation="softmax", kernel_regularizer="l2"), layer)
    assert clone.activation is keras.activations.softmax and clone.units == 6
    assert len(layer.losses) == 1  # the kernel's L2 penalty
    check_error(lambda: L.Dense(0), lamina.ArgumentError, "Dense", "units", "0")
    check_error(lambda: layer(lamina.ones(2, 5, 4)), lamina.ShapeError, "dense")


def test_dense_on_a_batch_of_vectors_is_one_operator():
    layer = L.Dense(4)
    x = lamina.tensor(rand(3, 5, seed=3), requires_grad=True)
    out = layer(x)
    assert type(out.grad_fn).__name__.startswith("AddMatmul")  # x @ kernel + bias, one graph node
    expected = x.detach().numpy() @ layer.kernel.numpy() + layer.bias.numpy()
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    # other inputs take matmul + add: float64 data into a float32 layer is cast first; 3-d inputs
    assert layer(lamina.tensor(rand(3, 5, seed=4).astype(np.float64))).dtype == lamina.float32
    assert tuple(layer(lamina.tensor(rand(2, 3, 5, seed=5))).shape) == (2, 3, 4)


def test_dense_trains_with_lamina_optim():
    lamina.manual_seed(0)
    layer = L.Dense(1)
    x = lamina.randn(64, 3)
    y = x @ lamina.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    layer.build((None, 3))  # weights exist once built
    opt = lamina.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose(layer.bias.detach().numpy(), [0.3], atol=1e-2)


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", [
    ("ab,bc->ac", 4, "c", (3, 5)),
    ("abc,cd->abd", (None, 4), "d", (2, 3, 5)),
    ("abc,cde->abde", (None, 2, 4), "de", (2, 3, 5)),
    ("abcd,cde->abe", (None, 6), "e", (2, 3, 2, 4)),
    ("...b,bc->...c", 4, None, (2, 3, 5)),
])
def test_einsum_dense(equation, output_shape, bias_axes, shape):
    ours, theirs = L.EinsumDense(equation, output_shape, bias_axes=bias_axes), \
        R.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    out, _ = compare(theirs, ours, rand(*shape, seed=2))
    # Keras leaves the None entries of output_shape as None; Lamina fills them from the input (as the output has).
    assert ours.compute_output_shape(shape) == tuple(out[0].shape)
    assert all(k is None or k == o for k, o in zip(theirs.compute_output_shape(shape), out[0].shape))
    check_config(theirs, ours)


@pytest.mark.parametrize("activation", ["relu", "gelu", "softmax", "sigmoid", "linear", "selu"])
def test_activation_layer(activation):
    ours, theirs = L.Activation(activation), R.Activation(activation)
    compare(theirs, ours, rand(3, 4, seed=3))
    check_config(theirs, ours)


def test_dropout():
    x = lamina.ones(200, 50)
    layer = L.Dropout(0.3)
    assert layer(x, training=False) is x  # inference: identity
    y = layer(x, training=True).numpy()
    assert np.all((y == 0) | np.isclose(y, 1 / 0.7))
    np.testing.assert_allclose((y == 0).mean(), 0.3, atol=0.02)
    shared = L.Dropout(0.5, noise_shape=(None, 1))(x, training=True).numpy()
    assert all(len(set(row)) == 1 for row in shared)
    a = L.Dropout(0.5, seed=3)(x, training=True).numpy()
    b = L.Dropout(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    lamina.manual_seed(1)
    c = L.Dropout(0.5)(x, training=True).numpy()
    lamina.manual_seed(1)
    np.testing.assert_array_equal(c, L.Dropout(0.5)(x, training=True).numpy())
    check_config(R.Dropout(0.3, noise_shape=(None, 1), seed=2), L.Dropout(0.3, noise_shape=(None, 1), seed=2))
    check_error(lambda: L.Dropout(1.5), lamina.ArgumentError, "Dropout", "rate", "1.5")
    # Without a training argument the Module flag decides (train() / eval()).
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert not np.array_equal(layer(x).numpy(), x.numpy())


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten(data_format):
    ours, theirs = L.Flatten(data_format=data_format), R.Flatten(data_format=data_format)
    compare(theirs, ours, rand(2, 3, 4, 5, seed=4))
    assert ours.compute_output_shape((None, 3, 4, 5)) == (None, 60)
    check_config(theirs, ours)


def test_reshape_permute_repeat_identity():
    x = rand(2, 3, 4, seed=5)
    compare(R.Reshape((4, 3)), L.Reshape((4, 3)), x)
    compare(R.Reshape((-1, 2)), L.Reshape((-1, 2)), x)
    assert L.Reshape((-1, 2)).compute_output_shape((None, 3, 4)) == (None, 6, 2)
    compare(R.Permute((2, 1)), L.Permute((2, 1)), x)
    assert L.Permute((2, 1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)
    compare(R.RepeatVector(3), L.RepeatVector(3), rand(2, 4, seed=6))
    assert L.RepeatVector(3).compute_output_shape((None, 4)) == (None, 3, 4)
    compare(R.Identity(), L.Identity(), x)
    for theirs, ours in [(R.Reshape((4, 3)), L.Reshape((4, 3))), (R.Permute((2, 1)), L.Permute((2, 1))),
                         (R.RepeatVector(3), L.RepeatVector(3)), (R.Identity(), L.Identity())]:
        check_config(theirs, ours)
    check_error(lambda: L.Reshape((5, 5))(lamina.tensor(x)), lamina.ShapeError, "reshape", "(5, 5)", "12")
    check_error(lambda: L.Permute((1, 3)), lamina.ArgumentError, "Permute", "dims")


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.Lambda(lambda t: lib.ops.reshape(t, (-1, 12)), output_shape=(12,)),
    lambda lib: lib.layers.Lambda(lambda t: t * 2, output_shape=(3, 4)),
    lambda lib: lib.layers.Lambda(lambda t: lib.ops.sum(t, axis=-1), output_shape=lambda s: s[:-1]),
    lambda lib: lib.layers.Lambda(lambda t: lib.ops.mean(t, axis=1)),
    lambda lib: lib.layers.Lambda(lambda t, k: t * k, arguments={"k": 3.0}),
], ids=["tuple output_shape without batch", "same-rank tuple", "callable output_shape", "inferred", "arguments"])
def test_lambda(make):
    x = rand(2, 3, 4, seed=7)
    compare(make(real_keras), make(keras), x)
    theirs, ours = make(real_keras)(real_keras.Input((3, 4))), make(keras)(keras.Input((3, 4)))
    assert ours.shape == theirs.shape
    assert make(keras).compute_output_shape((None, 3, 4)) == make(real_keras).compute_output_shape((None, 3, 4))


def test_lambda_on_several_inputs():
    a, b = rand(2, 3, seed=8), rand(2, 3, seed=9)
    compare(R.Lambda(lambda ts: ts[0] - ts[1]), L.Lambda(lambda ts: ts[0] - ts[1]), [a, b])
    assert L.Lambda(lambda ts: ts[0] - ts[1], output_shape=(3,))([keras.Input((3,)), keras.Input((3,))]).shape == \
        (None, 3)


def test_embedding_and_mask():
    idx = np.array([[3, 1, 0, 0], [2, 5, 4, 0]], dtype=np.int64)
    theirs, ours = R.Embedding(6, 3, mask_zero=True), L.Embedding(6, 3, mask_zero=True)
    compare(theirs, ours, idx, grads=False)
    assert tuple(ours.embeddings.shape) == (6, 3) and ours.weights[0].name == "embeddings"
    mask = ours.compute_mask(lamina.tensor(idx))
    np.testing.assert_array_equal(mask.numpy(), real_keras.ops.convert_to_numpy(theirs.compute_mask(idx)))
    out = ours(lamina.tensor(idx))
    np.testing.assert_array_equal(out._keras_mask.numpy(), idx != 0)
    assert ours.compute_output_shape((None, 4)) == (None, 4, 3)
    check_config(theirs, ours)
    # the embedding rows used get gradients
    ours(lamina.tensor(idx)).sum().backward()
    counts = np.bincount(idx.ravel(), minlength=6)
    np.testing.assert_allclose(ours.embeddings.grad.numpy(), np.repeat(counts[:, None], 3, axis=1))
    check_error(lambda: ours(lamina.tensor([[6]])), IndexError, "embedding", "6", "input_dim")
    assert L.Embedding(4, 2).compute_mask(lamina.tensor(idx)) is None


def test_embedding_masks_lstm_like_keras():
    idx = np.array([[3, 1, 2, 0, 0], [2, 5, 4, 1, 0]], dtype=np.int64)
    r_emb, r_lstm = R.Embedding(6, 3, mask_zero=True), R.LSTM(4, return_sequences=True)
    o_emb, o_lstm = L.Embedding(6, 3, mask_zero=True), L.LSTM(4, return_sequences=True)
    r_out = r_lstm(r_emb(idx))
    o_lstm(o_emb(lamina.tensor(idx)))
    o_emb.set_weights(r_emb.get_weights())
    o_lstm.set_weights(r_lstm.get_weights())
    out = o_lstm(o_emb(lamina.tensor(idx)))
    np.testing.assert_allclose(out.detach().numpy(), real_keras.ops.convert_to_numpy(r_out), rtol=1e-5, atol=1e-6)
    # masked steps repeat the last unmasked output
    np.testing.assert_allclose(out.detach().numpy()[0, 3], out.detach().numpy()[0, 2])
    np.testing.assert_array_equal(out._keras_mask.numpy(), idx != 0)
    # the same through a functional model
    inputs = keras.Input((5,), dtype="int64")
    seq = L.LSTM(4)(L.Embedding(6, 3, mask_zero=True)(inputs))
    model = keras.Model(inputs, seq)
    model.set_weights(r_emb.get_weights() + r_lstm.get_weights())
    r_last = R.LSTM(4)
    r_last(r_emb(idx))
    r_last.set_weights(r_lstm.get_weights())
    np.testing.assert_allclose(model(lamina.tensor(idx)).detach().numpy(),
                               real_keras.ops.convert_to_numpy(r_last(r_emb(idx))), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("theirs,ours", [
    (lambda: R.ReLU(), lambda: L.ReLU()),
    (lambda: R.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2),
     lambda: L.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)),
    (lambda: R.LeakyReLU(), lambda: L.LeakyReLU()),
    (lambda: R.ELU(alpha=0.7), lambda: L.ELU(alpha=0.7)),
    (lambda: R.PReLU(alpha_initializer="ones", shared_axes=[1]), lambda: L.PReLU(alpha_initializer="ones",
                                                                                 shared_axes=[1])),
    (lambda: R.Softmax(axis=1), lambda: L.Softmax(axis=1)),
    (lambda: R.Softmax(axis=[1, 2]), lambda: L.Softmax(axis=[1, 2])),
])
def test_activation_layers(theirs, ours):
    theirs, ours = theirs(), ours()
    compare(theirs, ours, rand(2, 3, 4, seed=7))
    check_config(theirs, ours)


def test_softmax_layer_mask():
    x = rand(2, 4, seed=8)
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    expected = real_keras.ops.convert_to_numpy(R.Softmax()(x, mask=mask))
    got = L.Softmax()(lamina.tensor(x), mask=lamina.tensor(mask)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert np.all(got[1] == 0)

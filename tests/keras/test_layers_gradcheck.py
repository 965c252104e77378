"""Finite-difference gradient checks (float64) of the layer set: gradients wrt the inputs and every weight."""
import pytest

from tests.helpers import rand
from tests.keras.layer_helpers import keras, lamina

L = keras.layers
F64 = dict(dtype="float64")


def _gradcheck(layer, *inputs, **call_kwargs):
    tensors = [lamina.tensor(x.astype("float64"), requires_grad=True) for x in inputs]
    layer(*tensors, **call_kwargs)  # build
    weights = [w for w in layer.weights if w.requires_grad]

    def fn(*args):
        return layer(*args[:len(tensors)], **call_kwargs)
    assert lamina.autograd.gradcheck(fn, tensors + weights)


@pytest.mark.parametrize("make,shapes", [
    (lambda: L.Dense(3, activation="tanh", **F64), [(2, 4)]),
    (lambda: L.EinsumDense("abc,cde->abde", (None, 2, 2), bias_axes="de", **F64), [(2, 3, 3)]),
    (lambda: L.Conv2D(2, 2, strides=2, padding="same", **F64), [(1, 3, 3, 2)]),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same", **F64), [(1, 2, 2, 2)]),
    (lambda: L.SeparableConv1D(2, 2, depth_multiplier=2, **F64), [(1, 4, 2)]),
    (lambda: L.AveragePooling2D(2, strides=1, padding="same", **F64), [(1, 3, 3, 2)]),
    (lambda: L.MaxPooling1D(2, **F64), [(2, 4, 2)]),
    (lambda: L.LayerNormalization(**F64), [(2, 3, 4)]),
    (lambda: L.SimpleRNN(3, return_sequences=True, **F64), [(2, 3, 2)]),
    (lambda: L.LSTM(2, go_backwards=True, **F64), [(2, 3, 2)]),
    (lambda: L.GRU(2, return_sequences=True, **F64), [(2, 3, 2)]),
    (lambda: L.GRU(2, reset_after=False, **F64), [(1, 3, 2)]),
    (lambda: L.MultiHeadAttention(2, 2, **F64), [(1, 3, 4), (1, 2, 4)]),
    (lambda: L.Attention(use_scale=True, score_mode="concat", **F64), None),
    (lambda: L.Dot(1, normalize=True, **F64), None),
])
def test_gradcheck(make, shapes):
    layer = make()
    if shapes is None:  # layers called on a list
        x = [lamina.tensor(rand(1, 2, 3, seed=i).astype("float64"), requires_grad=True) for i in range(2)]
        if isinstance(layer, L.Dot):
            x = [lamina.tensor(rand(2, 3, seed=i).astype("float64"), requires_grad=True) for i in range(2)]
        layer(x)
        weights = [w for w in layer.weights if w.requires_grad]
        assert lamina.autograd.gradcheck(lambda *a: layer(list(a[:2])), x + weights)
        return
    _gradcheck(layer, *[rand(*s, seed=i) for i, s in enumerate(shapes)])


def test_gradcheck_batch_normalization_training():
    bn = L.BatchNormalization(**F64)
    x = lamina.tensor(rand(4, 3, seed=5).astype("float64"), requires_grad=True)
    bn(x, training=False)
    weights = [w for w in bn.weights if w.requires_grad]
    # moving statistics change on each call but do not enter the training-mode output
    assert lamina.autograd.gradcheck(lambda *a: bn(a[0], training=True), [x] + weights)

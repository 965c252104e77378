"""keras.layers.Layer: the Keras layer contract over nn.Module (build, add_weight, call, training, config)."""
import numpy as np
import pytest
import torch

import lamina
import lamina.nn as nn
from lamina import keras
from lamina.keras.backend import Variable, clear_session
from tests.helpers import check_error, rand


class Linear(keras.layers.Layer):
    """A minimal Dense: the layer of these tests (the layer set lives in lamina/keras/layers)."""

    def __init__(self, units=4, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = units, use_bias

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def call(self, x):
        y = x @ self.kernel
        return y + self.bias if self.use_bias else y


class Probe(keras.layers.Layer):
    """Records the training flag its call receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)
        return x


class Block(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Probe()
        self.dense = Linear(3)

    def call(self, x):
        return self.dense(self.inner(x))


@pytest.fixture(autouse=True)
def _fresh_names():
    clear_session()


def test_build_add_weight_and_registration():
    layer = Linear(3)
    assert not layer.built and layer.weights == []
    y = layer(lamina.ones(2, 5))
    assert tuple(y.shape) == (2, 3) and layer.built
    assert [n for n, _ in layer.named_parameters()] == ["kernel", "bias"]
    assert isinstance(layer.kernel, nn.Parameter) and isinstance(layer.kernel, Variable)
    assert layer.kernel.path == "linear/kernel" and layer.kernel.name == "kernel"
    assert layer.count_params() == 18
    assert list(layer.state_dict()) == ["kernel", "bias"]
    assert np.all(layer.bias.numpy() == 0)
    limit = np.sqrt(6 / (5 + 3))  # glorot_uniform
    assert np.abs(layer.kernel.numpy()).max() <= limit


def test_layer_trained_by_lamina_optim_matches_torch():
    layer = Linear(3)
    x = rand(8, 5)
    target = rand(8, 3)
    layer(lamina.tensor(x))
    tw = torch.tensor(layer.kernel.numpy().copy(), requires_grad=True)
    tb = torch.tensor(layer.bias.numpy().copy(), requires_grad=True)
    opt = lamina.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tw, tb], lr=0.1, momentum=0.9)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((layer(lamina.tensor(x)) - lamina.tensor(target)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        topt.zero_grad()
        tloss = ((torch.tensor(x) @ tw + tb - torch.tensor(target)) ** 2).mean()
        tloss.backward()
        topt.step()
    np.testing.assert_allclose(layer.kernel.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.bias.numpy(), tb.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert losses[-1] < losses[0]


def test_explicit_build_and_weight_renaming():
    layer = Linear(2)
    layer.build((None, 4))
    assert layer.built and tuple(layer.kernel.shape) == (4, 2)

    class Renamed(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), name="scale")

        def call(self, x):
            return x * self.w

    r = Renamed()
    r(lamina.ones(1, 3))
    assert list(r.state_dict()) == ["w"] and r.w.name == "scale"


def test_add_weight_after_build_is_refused():
    layer = Linear(2)
    layer(lamina.ones(1, 3))
    check_error(lambda: layer.add_weight(shape=(2,), name="late"), lamina.ArgumentError,
                "Layer 'linear'", "already built", "late")


def test_add_weight_bad_shape_and_unknown_kwargs():
    layer = Linear(2)
    check_error(lambda: layer.add_weight(shape=(None, 2), name="w"), lamina.ArgumentError, "shape", "None")
    check_error(lambda: layer.add_weight("w", (2,)), lamina.ArgumentError, "keyword", "name='w'")
    check_error(lambda: Linear(2, foo=1), lamina.ArgumentError, "Unrecognized keyword arguments", "Linear", "foo")
    check_error(lambda: Linear(2, name="a/b"), lamina.ArgumentError, "name")
    check_error(lambda: Linear(2, trainable="yes"), lamina.ArgumentError, "trainable")


def test_non_trainable_weight_and_assign():
    class Counter(keras.layers.Layer):
        def build(self, input_shape):
            self.total = self.add_weight(shape=(), initializer="zeros", trainable=False, name="total")

        def call(self, x):
            self.total.assign(self.total + x.sum())
            return x

    c = Counter()
    c(lamina.ones(2, 2))
    c(lamina.ones(2, 2))
    assert c.total.item() == 8.0
    assert c.non_trainable_weights == [c.total] and c.trainable_weights == []
    assert not c.total.requires_grad


def test_training_flag_propagation():
    block = Block()
    x = lamina.ones(2, 4)
    block(x)                        # a new Keras layer runs in inference mode, as in Keras
    block(x, training=True)         # explicit value reaches the nested layer
    block.train()                   # torch-style switch (a Keras layer inside an nn.Module)
    block(x)                        # from Module.training
    block(x, training=False)
    assert block.inner.seen == [False, True, True, False]


def test_training_from_outer_call_wins_over_inner_module_flag():
    block = Block()
    block.inner.eval()              # the inner layer alone says eval, the outer call says train
    block(lamina.ones(1, 4), training=True)
    assert block.inner.seen == [True]


def test_weights_and_losses_walk_the_modules_in_parameters_order():
    shared = Linear(3)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = keras.Sequential([Linear(4), shared])
            self.b = [shared, nn.Linear(3, 2), keras.layers.LSTM(2)]
            self.c = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
            self.d = shared

        def call(self, x):
            return x

    net = Net()
    net.a(lamina.ones(1, 5))
    net.b[2](lamina.ones(1, 2, 3))
    assert [id(w) for w in net.weights] == [id(p) for p in net.parameters()]  # each shared weight once
    assert len(net.weights) == 13
    net.b[1].weight.requires_grad_(False)
    assert [id(w) for w in net.trainable_weights] == [id(p) for p in net.parameters() if p.requires_grad]
    assert [id(w) for w in net.non_trainable_weights] == [id(net.b[1].weight)]


def test_freezing_recursively():
    block = Block()
    block(lamina.ones(1, 4))
    block.trainable = False
    assert not block.dense.trainable and all(not p.requires_grad for p in block.parameters())
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 2
    block.trainable = True
    assert all(p.requires_grad for p in block.parameters())

    class WithState(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(2,), name="w")
            self.s = self.add_weight(shape=(2,), trainable=False, name="s")

        def call(self, x):
            return x

    layer = WithState()
    layer(lamina.ones(1, 2))
    layer.trainable = False
    layer.trainable = True
    assert layer.w.requires_grad and not layer.s.requires_grad  # unfreezing keeps state non-trainable


def test_frozen_layer_gets_no_gradient():
    block = Block()
    block(lamina.ones(1, 4))
    block.dense.trainable = False
    y = block(lamina.ones(1, 4, requires_grad=True)).sum()
    y.backward()
    assert block.dense.kernel.grad is None


def test_auto_names_match_keras():
    from keras.src.utils.naming import to_snake_case
    from lamina.keras.backend import to_snake_case as ours
    for name in ["Dense", "Conv2D", "InputLayer", "BatchNormalization", "GlobalAveragePooling2D", "LSTM",
                 "MultiHeadAttention", "ReLU", "PReLU", "MyCustomLayer2"]:
        assert ours(name) == to_snake_case(name)
    assert [Linear().name, Linear().name, Linear(name="x").name, Linear().name] == \
        ["linear", "linear_1", "x", "linear_2"]


def test_unnamed_weights_are_named_like_keras():
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real_keras

    def make(lib):
        class Affine(lib.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], 2))
                self.b = self.add_weight(shape=(2,), initializer="zeros")
                self.c = self.add_weight(shape=(2,), initializer="zeros", name="c")
                self.add_weight(shape=(2,), initializer="zeros")

            def call(self, x):
                return x @ self.w + self.b

        return Affine(), Affine()

    real_keras.utils.clear_session()
    theirs = make(real_keras)
    for layer in theirs:
        layer(np.ones((1, 3), "float32"))
    ours = make(keras)
    for layer in ours:
        layer(lamina.ones(1, 3))
    for a, b in zip(ours, theirs):
        assert [w.name for w in a.weights] == [w.name for w in b.weights]
        assert [w.path for w in a.weights] == [w.path for w in b.weights]
    assert [w.name for w in ours[1].weights] == ["variable_3", "variable_4", "c", "variable_5"]
    # the registry keys stay per layer: the attributes, then the first free "variable" key
    assert list(ours[1].state_dict()) == ["w", "b", "c", "variable"]


def test_get_config_round_trip():
    layer = Linear(7, use_bias=False, name="proj", trainable=False)
    config = layer.get_config()
    assert config == {"units": 7, "use_bias": False, "name": "proj", "trainable": False, "dtype": "float32"}
    again = Linear.from_config(config)
    assert again.get_config() == config and type(again) is Linear


def test_get_config_with_explicit_override():
    class Scale(keras.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            config = super().get_config()
            config["factor"] = self.factor
            return config

        def call(self, x):
            return x * self.factor

    config = Scale(2.0, name="s").get_config()
    assert config == {"name": "s", "trainable": True, "dtype": "float32", "factor": 2.0}
    assert Scale.from_config(config).factor == 2.0


def test_get_config_refuses_non_basic_arguments():
    class Holder(keras.layers.Layer):
        def __init__(self, thing, **kwargs):
            super().__init__(**kwargs)
            self.thing = thing

    check_error(lambda: Holder(object()).get_config(), NotImplementedError, "Holder", "get_config")
    check_error(lambda: Linear.from_config({"units": 2, "bogus": 1}), lamina.ArgumentError, "Linear",
                "bogus")


def test_losses_from_add_loss_and_regularizers():
    class Reg(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w",
                                     regularizer=keras.regularizers.L2(0.5))

        def call(self, x):
            self.add_loss(x.sum())
            return x * self.w

    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.reg = Reg()

        def call(self, x):
            return self.reg(x)

    outer = Outer()
    outer(lamina.ones(2, 3))
    losses = outer.losses
    assert [float(v) for v in losses] == [6.0, 1.5]   # add_loss, then 0.5 * sum(w^2)
    outer(lamina.ones(1, 3))                            # a new outermost call clears the previous losses
    assert [float(v) for v in outer.losses] == [3.0, 1.5]
    sum(outer.losses).backward()
    np.testing.assert_allclose(outer.reg.w.grad.numpy(), np.ones(3))  # d(0.5 * w^2)/dw = w


def test_activity_regularizer():
    layer = Linear(2, activity_regularizer="l2")
    y = layer(lamina.ones(4, 3))
    np.testing.assert_allclose(float(layer.losses[0]), 0.01 * float((y * y).sum()) / 4, rtol=1e-6)


def test_keras_layer_inside_module_and_module_inside_layer():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.keras_part = Linear(4)
            self.torch_part = nn.Linear(4, 2)

        def forward(self, x):
            return self.torch_part(self.keras_part(x))

    class KerasNet(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.torch_part = nn.Linear(3, 4)
            self.keras_part = Linear(2)

        def call(self, x):
            return self.keras_part(self.torch_part(x))

    net = Net()
    net(lamina.ones(1, 3))
    assert [n for n, _ in net.named_parameters()] == ["keras_part.kernel", "keras_part.bias", "torch_part.weight",
                                                     "torch_part.bias"]
    k = KerasNet()
    k(lamina.ones(1, 3))
    assert len(k.weights) == 4 and k.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    opt = lamina.optim.SGD(list(net.parameters()) + list(k.parameters()), lr=0.1)
    before = k.torch_part.weight.detach().numpy().copy()
    (net(lamina.ones(1, 3)).sum() + k(lamina.ones(1, 3)).sum()).backward()
    opt.step()
    assert not np.array_equal(before, k.torch_part.weight.detach().numpy())


def test_lists_and_dicts_of_layers_are_tracked():
    class Stack(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = [Linear(3), Linear(3)]
            self.heads = {"a": Linear(1)}

        def call(self, x):
            for b in self.blocks:
                x = b(x)
            return self.heads["a"](x)

    s = Stack()
    s(lamina.ones(1, 3))
    assert [n for n, _ in s.named_parameters()] == ["blocks.0.kernel", "blocks.0.bias", "blocks.1.kernel",
                                                   "blocks.1.bias", "heads.a.kernel", "heads.a.bias"]
    assert isinstance(s.blocks, list)

    class Grown(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = []
            self.sizes = []
            for units in (4, 2):
                self.blocks.append(Linear(units))
                self.sizes.append(units)

        def call(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    g = Grown()
    g(lamina.ones(1, 3))
    assert [n for n, _ in g.named_parameters()] == ["blocks.0.kernel", "blocks.0.bias", "blocks.1.kernel",
                                                   "blocks.1.bias"]
    assert g.sizes == [4, 2] and len(list(g.parameters())) == 4
    g.blocks.pop()
    assert [n for n, _ in g.named_parameters()] == ["blocks.0.kernel", "blocks.0.bias"]


def test_input_spec_error_names_layer_and_shapes():
    layer = Linear(2)
    layer(lamina.ones(1, 8))
    check_error(lambda: layer(lamina.ones(1, 4)), lamina.ShapeError, 'layer "linear"', "axis -1", "value 8",
                "(1, 4)")
    check_error(lambda: layer(lamina.ones(4)), lamina.ShapeError, "min_ndim=2", "ndim=1")


def test_numpy_inputs_and_autocast():
    layer = Linear(2)
    y = layer(np.ones((3, 4)))                   # float64 NumPy -> float32 tensor
    assert isinstance(y, lamina.Tensor) and y.dtype == lamina.float32
    double = Linear(2, dtype="float64")
    assert double(lamina.ones(1, 4)).dtype == lamina.float64 and double.kernel.dtype == lamina.float64


def test_compute_output_shape_by_dry_run_in_inference_mode():
    class Drop(keras.layers.Layer):
        def call(self, x, training=None):
            return lamina.nn.functional.dropout(x, 0.5, training=bool(training)).reshape(-1, 6)

    layer = Drop()
    lamina.manual_seed(0)
    expected = lamina.rand(3)
    lamina.manual_seed(0)
    assert layer.compute_output_shape((None, 2, 3)) == (None, 6)
    assert np.array_equal(lamina.rand(3).numpy(), expected.numpy())
    spec = layer.compute_output_spec(keras.KerasTensor((None, 3, 2)))
    assert spec.shape == (None, 6) and spec.dtype == "float32"


def test_mask_propagation():
    class MakeMask(keras.layers.Layer):
        def call(self, x):
            return x

        def compute_mask(self, inputs, previous_mask=None):
            return inputs != 0

    class PassThrough(keras.layers.Layer):
        supports_masking = True

        def call(self, x):
            return x * 2

    class UseMask(keras.layers.Layer):
        def call(self, x, mask=None):
            return x * mask

    x = lamina.tensor([[1.0, 0.0, 3.0]])
    y = UseMask()(PassThrough()(MakeMask()(x)))
    assert y.tolist() == [[2.0, 0.0, 6.0]]


def test_repr_and_module_error_naming():
    layer = Linear(2, name="proj")
    assert repr(layer) == "<Linear name=proj, built=False>"
    layer.build((None, 3))
    layer.input_spec = None
    message = check_error(lambda: layer(lamina.ones(2, 5)), lamina.ShapeError, "proj")
    assert "(2, 5)" in message or "5" in message


def test_set_and_get_weights():
    a, b = Linear(2), Linear(2)
    a(lamina.ones(1, 3))
    b(lamina.ones(1, 3))
    b.set_weights(a.get_weights())
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    check_error(lambda: b.set_weights([np.zeros((3, 3)), np.zeros(2)]), lamina.ShapeError, "kernel", "(3, 2)")
    check_error(lambda: Linear(2).count_params(), lamina.ArgumentError, "isn't built")


def test_build_with_several_named_shapes():
    class Cross(keras.layers.Layer):
        def build(self, query_shape, value_shape, key_shape=None):
            self.w = self.add_weight(shape=(query_shape[-1], value_shape[-1]), name="w")

        def call(self, query, value, key=None):
            return query @ self.w

    layer = Cross()
    out = layer(keras.Input((3, 4)), keras.Input((5, 6)))
    assert out.shape == (None, 3, 6) and tuple(layer.w.shape) == (4, 6)
    assert layer.get_build_config() == {"shapes_dict": {"query_shape": (None, 3, 4), "value_shape": (None, 5, 6)}}
    again = Cross()
    again.build_from_config({"shapes_dict": {"query_shape": [None, 3, 4], "value_shape": [None, 5, 6]}})
    assert tuple(again.w.shape) == (4, 6)

    class Wrong(keras.layers.Layer):
        def build(self, a_shape, b):
            pass

        def call(self, a, b):
            return a

    check_error(lambda: Wrong()(lamina.ones(1), lamina.ones(1)), lamina.ArgumentError, "_shape", "'b'")


def test_layers_built_during_a_dry_run_draw_fresh_weights():
    class Pair(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.a = Linear(3, use_bias=False)

        def call(self, x):
            return self.a(x)

    pair = Pair()
    pair(keras.Input((3,)))            # builds pair.a inside the dry run
    later = Linear(3, use_bias=False)
    later.build((None, 3))
    assert not np.array_equal(pair.a.kernel.numpy(), later.kernel.numpy())

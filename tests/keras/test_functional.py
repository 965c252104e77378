"""Symbolic functional API, Sequential and subclassed models (keras.Input, keras.Model, keras.Sequential)."""
import numpy as np
import pytest

import lamina
import lamina.nn as nn
from lamina import keras
from tests.helpers import check_error, rand
from tests.keras.keras_helpers import Dense, fresh, real_dense, real_keras


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()  # Lamina's names only; tests that compare with Keras call fresh()


def _np(t):
    return t.detach().numpy()


def test_input_is_symbolic():
    x = keras.Input((8,), name="x")
    assert isinstance(x, keras.KerasTensor) and x.shape == (None, 8) and x.dtype == "float32"
    assert keras.Input((3, 4), batch_size=2).shape == (2, 3, 4)
    assert keras.Input(batch_shape=(None, None, 5), dtype="int32").dtype == "int32"
    y = Dense(4)(x)
    assert y.shape == (None, 4)
    check_error(lambda: keras.Input(), lamina.ArgumentError, "shape")
    check_error(lambda: keras.Input((-1,)), lamina.ArgumentError, "shape")


def test_symbolic_call_does_not_run_data_through_dense_with_shape_function():
    calls = []

    class Spy(Dense):
        def call(self, x):
            calls.append(x.shape)
            return super().call(x)

    y = Spy(3)(keras.Input((5,)))
    assert y.shape == (None, 3) and calls == []  # compute_output_shape was enough


def test_dry_run_infers_unknown_dimensions():
    class Flatten(keras.layers.Layer):
        def call(self, x):
            return x.reshape(x.shape[0], -1)

    y = Flatten()(keras.Input((None, 4)))
    assert y.shape == (None, None)
    z = Flatten()(keras.Input((3, 4)))
    assert z.shape == (None, 12)


def test_two_inputs_two_outputs():
    a, b = keras.Input((3,), name="a"), keras.Input((5,), name="b")
    da, db = Dense(4), Dense(4)
    h = da(a) + db(b)
    head1, head2 = Dense(1, name="score"), Dense(2, name="logits")
    model = keras.Model([a, b], [head1(h), head2(h)])
    assert [layer.name for layer in model.layers] == ["a", "b", "dense", "dense_1", "add", "score", "logits"]
    assert model.input_shape == [(None, 3), (None, 5)] and model.output_shape == [(None, 1), (None, 2)]
    xa, xb = rand(6, 3), rand(6, 5)
    out1, out2 = model([xa, xb])
    hh = xa @ _np(da.kernel) + _np(da.bias) + xb @ _np(db.kernel) + _np(db.bias)
    np.testing.assert_allclose(_np(out1), hh @ _np(head1.kernel) + _np(head1.bias), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(out2), hh @ _np(head2.kernel) + _np(head2.bias), rtol=1e-5, atol=1e-6)
    # the same through a dict keyed by the inputs' names
    d1, _ = model({"a": xa, "b": xb})
    np.testing.assert_array_equal(_np(d1), _np(out1))
    check_error(lambda: model([xa]), lamina.ArgumentError, "expects 2 input(s)", "received 1")


def test_dict_inputs_and_outputs():
    inputs = {"x": keras.Input((2,), name="x"), "y": keras.Input((2,), name="y")}
    out = {"sum": inputs["x"] + inputs["y"], "prod": inputs["x"] * inputs["y"]}
    model = keras.Model(inputs, out)
    res = model({"y": np.full((1, 2), 3.0), "x": np.full((1, 2), 2.0)})
    assert set(res) == {"sum", "prod"}
    assert res["sum"].tolist() == [[5.0, 5.0]] and res["prod"].tolist() == [[6.0, 6.0]]


def test_dicts_flatten_by_sorted_key_like_keras():
    def build(lib, D):
        a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
        h = lib.layers.Concatenate()([a, b])
        return lib.Model({"b": b, "a": a}, {"zeta": D(1, name="zeta")(h), "alpha": D(2, name="alpha")(h)})

    fresh()
    theirs = build(real_keras, real_dense)
    fresh()
    ours = build(keras, Dense)
    assert [x.name for x in ours.inputs] == [x.name for x in theirs.inputs] == ["a", "b"]
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert ours.output_names == theirs.output_names == ["alpha", "zeta"]
    data = {"a": rand(4, 3), "b": rand(4, 2)}
    assert list(ours.predict(data, verbose=0)) == list(theirs.predict(data, verbose=0)) == ["alpha", "zeta"]
    assert list(ours(data)) == ["alpha", "zeta"]


def test_shared_layer_has_two_nodes_and_one_set_of_weights():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = Dense(2, name="shared")
    model = keras.Model([a, b], [shared(a), shared(b)])
    assert len(shared._inbound_nodes) == 2 and len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["dense.kernel", "dense.bias"]  # keys count classes, not global names
    xa, xb = rand(2, 3), rand(2, 3)
    ya, yb = model([xa, xb])
    np.testing.assert_allclose(_np(ya), _np(shared(lamina.tensor(xa))), rtol=1e-6)
    np.testing.assert_allclose(_np(yb), _np(shared(lamina.tensor(xb))), rtol=1e-6)
    assert shared.output is shared._inbound_nodes[0].outputs  # Keras's rule: the first call's
    check_error(lambda: Dense(2, name="lonely").output, AttributeError, "lonely", "never been called")


def test_nested_model_used_as_layer():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, Dense(3)(Dense(5)(inner_in)), name="inner")
    x = keras.Input((6,))
    outer = keras.Model(x, Dense(1)(inner(Dense(4)(x))))
    assert [layer.name for layer in outer.layers] == ["input_layer_1", "dense_3", "inner", "dense_2"]
    assert len(list(outer.parameters())) == 8
    data = rand(2, 6)
    expected = outer.layers[-1](inner(outer.layers[1](lamina.tensor(data))))
    np.testing.assert_allclose(_np(outer(data)), _np(expected), rtol=1e-6)


def test_layer_order_matches_keras_for_a_branching_graph():
    def build(lib, D):
        x = lib.Input((8,), name="x")
        left = D(4, name="left")(x)
        right = D(4, name="right")(D(6, name="pre")(x))
        merged = (real_keras.layers.Concatenate() if lib is real_keras else None)
        if merged is not None:
            h = merged([left, right])
        else:
            class Concatenate(keras.layers.Layer):
                def call(self, parts):
                    return lamina.cat(parts, dim=-1)
            h = Concatenate()([left, right])
        return lib.Model(x, [D(1, name="o1")(h), D(2, name="o2")(left)])

    fresh()
    theirs = [layer.name for layer in build(real_keras, real_dense).layers]
    fresh()
    ours = [layer.name for layer in build(keras, Dense).layers]
    assert ours == theirs


def test_graph_errors():
    x, y = keras.Input((3,), name="x"), keras.Input((3,), name="y")
    out = Dense(2)(x + y)
    check_error(lambda: keras.Model(x, out), lamina.ArgumentError, "Graph disconnected", "y")
    check_error(lambda: keras.Model(x, Dense(2, name="d")(Dense(3, name="d")(x))), lamina.ArgumentError,
                '"d"', "2 times")
    check_error(lambda: keras.Model(x, np.zeros(3)), lamina.ArgumentError, "KerasTensor")


def test_shape_error_names_layer_and_both_shapes():
    x = keras.Input((8,))
    dense = Dense(16, name="hidden")
    dense(x)
    message = check_error(lambda: dense(keras.Input((4,))), lamina.ShapeError, '"hidden"', "value 8",
                          "(None, 4)")
    assert "axis -1" in message

    class Bad(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(8, 2), name="w")

        def call(self, x):
            return x @ self.w

    check_error(lambda: Bad(name="bad")(keras.Input((4,))), lamina.ShapeError, 'Layer "bad"', "(None, 4)", "8")


def test_keras_tensor_arithmetic_records_layers():
    x = keras.Input((3,), name="x")
    y = (x * 2.0 - 1.0) / 4.0 + x
    model = keras.Model(x, -y)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Multiply", "Subtract", "TrueDivide",
                                                               "Add", "Negative"]
    data = rand(2, 3)
    np.testing.assert_allclose(_np(model(data)), -((data * 2 - 1) / 4 + data), rtol=1e-6)


def test_get_layer():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, Dense(2, name="out")(Dense(4, name="h")(x)))
    assert model.get_layer("h").units == 4 and model.get_layer(index=2).name == "out"
    check_error(lambda: model.get_layer("nope"), lamina.ArgumentError, "nope", "['x', 'h', 'out']")
    check_error(lambda: model.get_layer(index=5), lamina.ArgumentError, "index 5", "3 layers")
    check_error(lambda: model.get_layer(), lamina.ArgumentError, "name or a layer index")


def test_training_propagates_through_functional_model():
    class Probe(keras.layers.Layer):
        seen = []

        def call(self, x, training=None):
            Probe.seen.append(training)
            return x

    x = keras.Input((2,))
    model = keras.Model(x, Probe()(x))
    Probe.seen.clear()
    model(np.ones((1, 2)), training=False)
    model(np.ones((1, 2)), training=True)
    model.eval()
    model(np.ones((1, 2)))
    assert Probe.seen == [False, True, False]


def test_functional_model_with_nn_module_via_wrapper_and_optimizer():
    x = keras.Input((4,))
    h = keras.layers.TorchModuleWrapper(nn.Linear(4, 3))(x)
    model = keras.Model(x, Dense(1)(h))
    assert model.output_shape == (None, 1)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["torch_module_wrapper.module.weight", "torch_module_wrapper.module.bias", "dense.kernel",
                     "dense.bias"]
    opt = lamina.optim.Adam(model.parameters(), lr=0.01)
    data, target = lamina.tensor(rand(16, 4)), lamina.tensor(rand(16, 1))
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(data) - target) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first


# ---- Sequential ----------------------------------------------------------------------------------------------

def test_sequential_with_input_is_built_at_once():
    model = keras.Sequential([keras.Input((5,)), Dense(3), Dense(2)])
    assert model.built and model.output_shape == (None, 2) and model.input_shape == (None, 5)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert list(model.state_dict()) == ["dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"]
    data = rand(4, 5)
    d0, d1 = model.layers
    np.testing.assert_allclose(_np(model(data)), _np(d1(d0(lamina.tensor(data)))), rtol=1e-6)


def test_sequential_with_input_shape_argument():
    model = keras.Sequential([Dense(3, input_shape=(4,)), Dense(1)])
    assert model.built and model.input_shape == (None, 4) and model.output_shape == (None, 1)
    theirs = real_keras.Sequential([real_dense(3, input_shape=(4,)), real_dense(1)])
    assert theirs.input_shape == model.input_shape


def test_sequential_built_on_first_call_like_keras():
    model = keras.Sequential([Dense(3), Dense(2)])
    assert not model.built and model.weights == []
    check_error(lambda: model.inputs, AttributeError, "no defined inputs")
    model(np.zeros((5, 4)))
    theirs = real_keras.Sequential([real_dense(3), real_dense(2)])
    theirs(np.zeros((5, 4), "float32"))
    assert model.built and model.input_shape == tuple(theirs.inputs[0].shape) == (5, 4)
    assert model.layers[0].kernel.shape == (4, 3)


def test_sequential_add_pop_and_errors():
    model = keras.Sequential()
    model.add(keras.Input((4,)))
    model.add(Dense(3, name="a"))
    assert model.output_shape == (None, 3)
    model.add(Dense(2, name="b"))
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "b" and model.output_shape == (None, 3)
    assert [name for name, _ in model.named_children()] == ["dense"]
    check_error(lambda: model.add(Dense(1, name="a")), lamina.ArgumentError, "unique names", "'a'")
    check_error(lambda: model.add(keras.Input((3,))), lamina.ArgumentError, "Input")
    check_error(lambda: model.add("dense"), lamina.ArgumentError, "only layers")
    check_error(lambda: keras.Sequential().pop(), lamina.ArgumentError, "no layers")


def test_sequential_wraps_nn_modules_and_trains_with_lamina_optim():
    model = keras.Sequential([keras.Input((4,)), nn.Linear(4, 8), nn.ReLU(), Dense(1)])
    assert model.output_shape == (None, 1)
    assert [type(layer).__name__ for layer in model.layers] == ["TorchModuleWrapper", "TorchModuleWrapper",
                                                               "Dense"]
    opt = lamina.optim.SGD(model.parameters(), lr=0.05)
    data, target = lamina.tensor(rand(32, 4)), lamina.tensor(rand(32, 1))
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((model(data) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_sequential_nested_in_functional():
    block = keras.Sequential([Dense(4), Dense(4)], name="block")
    x = keras.Input((3,))
    model = keras.Model(x, Dense(1)(block(x)))
    assert block.built and block.input_shape == (None, 3)
    assert model.output_shape == (None, 1)
    assert model(np.ones((2, 3))).shape == (2, 1)


# ---- subclassing ---------------------------------------------------------------------------------------------

class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(8, activation="relu")
        self.torch_head = nn.Linear(8, 2)

    def call(self, x, training=None):
        return self.torch_head(self.hidden(x))


def test_subclassed_model_tracks_layers_and_modules():
    net = Net()
    assert net.name == "net" and not net.built
    y = net(np.ones((3, 5)))
    assert tuple(y.shape) == (3, 2) and net.built
    assert net.layers == [net.hidden]
    assert [n for n, _ in net.named_parameters()] == ["hidden.kernel", "hidden.bias", "torch_head.weight",
                                                     "torch_head.bias"]
    assert net.count_params() == 5 * 8 + 8 + 8 * 2 + 2


def test_subclassed_model_build_before_call():
    net = Net()
    net.build((None, 5))
    assert net.built and net.hidden.built and net.hidden.kernel.shape == (5, 8)
    assert net.hidden._output_shape_record == (None, 8)


def test_model_constructor_errors():
    check_error(lambda: Net(inputs=1), lamina.ArgumentError, "inputs/outputs")
    x = keras.Input((2,))
    model = keras.Model(inputs=x, outputs=x * 2.0, name="double")
    assert isinstance(model, keras.Functional) and model.name == "double"

"""model.save / keras.models.load_model / save_weights: round trips, registration, and refusing unsafe configs."""
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import lamina
from lamina import keras
from lamina.keras.saving import SerializationError
from lamina.serialization import CheckpointError
from tests.helpers import check_error, rand
from tests.keras.keras_helpers import Dense


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()  # Lamina's names only; tests that compare with Keras call fresh()


def _same_predictions(a, b, *inputs):
    ya, yb = a(*inputs), b(*inputs)
    flat_a = ya if isinstance(ya, (list, tuple)) else [ya]
    flat_b = yb if isinstance(yb, (list, tuple)) else [yb]
    for x, y in zip(flat_a, flat_b):
        np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())


@keras.saving.register_keras_serializable(package="tests")
class Residual(keras.layers.Layer):
    """A layer with a sub-layer and a non-trainable weight (auto get_config from its basic arguments)."""

    def __init__(self, units, scale=0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale
        self.inner = Dense(units)

    def build(self, input_shape):
        self.gate = self.add_weight(shape=(self.units,), initializer="ones", trainable=False, name="gate")

    def call(self, x):
        return x + self.scale * self.inner(x) * self.gate


@keras.saving.register_keras_serializable(package="tests")
class Net(keras.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.d1 = Dense(hidden, activation="relu")
        self.d2 = Dense(2)

    def call(self, x):
        return self.d2(self.d1(x))


def test_functional_round_trip(tmp_path):
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = Dense(4, name="shared")
    h = Residual(4)(shared(a) + shared(b) * 2.0)
    model = keras.Model({"a": a, "b": b}, [Dense(1, name="score")(h), h], name="two_heads")
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.safetensors"]
        config = json.loads(z.read("config.json"))
    assert config["class_name"] == "Functional" and config["config"]["name"] == "two_heads"
    loaded = keras.models.load_model(path)
    assert loaded is not model and loaded.name == "two_heads"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    inputs = {"a": lamina.tensor(rand(3, 4)), "b": lamina.tensor(rand(3, 4))}
    _same_predictions(model, loaded, inputs)
    assert list(loaded.state_dict()) == list(model.state_dict())


def test_sequential_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((5,)), Dense(6, activation="relu"), Dense(2, trainable=False)])
    path = tmp_path / "seq.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.Sequential) and loaded.input_shape == (None, 5)
    assert not loaded.layers[1].trainable and loaded.layers[1].kernel.requires_grad is False
    data = lamina.tensor(rand(4, 5))
    _same_predictions(model, loaded, data)


def test_sequential_built_by_call_and_nested_round_trip(tmp_path):
    inner = keras.Sequential([Dense(3), Dense(3)], name="inner")
    inner(np.zeros((2, 4), "float32"))
    x = keras.Input((4,))
    model = keras.Model(x, Dense(1)(inner(x)))
    model.save(tmp_path / "nested.keras")
    loaded = keras.models.load_model(tmp_path / "nested.keras")
    _same_predictions(model, loaded, lamina.tensor(rand(2, 4)))


def test_subclassed_round_trip(tmp_path):
    net = Net(hidden=5)
    data = lamina.tensor(rand(3, 7))
    net(data)
    net.save(tmp_path / "net.keras")
    loaded = keras.models.load_model(tmp_path / "net.keras")
    assert isinstance(loaded, Net) and loaded.hidden == 5 and loaded.built
    _same_predictions(net, loaded, data)


def test_custom_objects_instead_of_registration(tmp_path):
    class Plain(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    x = keras.Input((3,))
    model = keras.Model(x, Plain(3.0)(x))
    model.save(tmp_path / "p.keras")
    check_error(lambda: keras.models.load_model(tmp_path / "p.keras"), SerializationError, "unknown class",
                "'Plain'", "register_keras_serializable")
    loaded = keras.models.load_model(tmp_path / "p.keras", custom_objects={"Plain": Plain})
    _same_predictions(model, loaded, lamina.tensor(rand(2, 3)))
    with keras.saving.custom_object_scope({"Plain": Plain}):
        keras.models.load_model(tmp_path / "p.keras")


def _rewrite_config(path, edit):
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    config = json.loads(files["config.json"])
    edit(config)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def test_malicious_configs_are_refused(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, Dense(2, name="d")(x))
    path = tmp_path / "m.keras"

    attacks = [
        lambda c: c["config"]["layers"][1].update(class_name="system", module="os", registered_name="os>system"),
        lambda c: c["config"]["layers"][1].update(class_name="Popen", module="subprocess",
                                                  registered_name=None),
        lambda c: c.update(class_name="eval", module="builtins", registered_name="builtins>eval"),
        lambda c: c["config"]["layers"][1].update(class_name="function", config="print"),
    ]
    for attack in attacks:
        model.save(path)
        _rewrite_config(path, attack)
        with pytest.raises(SerializationError) as info:
            keras.models.load_model(path)
        assert "never imports" in str(info.value) or "unknown" in str(info.value)


def test_lambda_layer_refuses_to_load_code(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x))
    model.save(tmp_path / "lam.keras")
    check_error(lambda: keras.models.load_model(tmp_path / "lam.keras"), SerializationError, "Lambda",
                "never loads code")

    def triple(t):
        return t * 3

    model = keras.Model(x, keras.layers.Lambda(triple)(x))
    model.save(tmp_path / "fn.keras")
    check_error(lambda: keras.models.load_model(tmp_path / "fn.keras"), SerializationError, "triple")
    loaded = keras.models.load_model(tmp_path / "fn.keras", custom_objects={"triple": triple})
    _same_predictions(model, loaded, lamina.tensor(rand(2, 3)))


def test_save_weights_and_load_weights(tmp_path):
    model = keras.Sequential([keras.Input((4,)), Dense(3), Dense(1)])
    other = keras.Sequential([keras.Input((4,)), Dense(3), Dense(1)])
    model.save_weights(tmp_path / "w.weights.safetensors")
    other.load_weights(tmp_path / "w.weights.safetensors")
    _same_predictions(model, other, lamina.tensor(rand(2, 4)))
    model.save(tmp_path / "full.keras")
    third = keras.Sequential([keras.Input((4,)), Dense(3), Dense(1)])
    third.load_weights(tmp_path / "full.keras")
    _same_predictions(model, third, lamina.tensor(rand(2, 4)))
    check_error(lambda: model.save_weights(tmp_path / "w.h5"), lamina.ArgumentError, ".weights.safetensors")
    check_error(lambda: model.save(tmp_path / "m.h5"), lamina.ArgumentError, ".keras")
    wrong = keras.Sequential([keras.Input((4,)), Dense(5), Dense(1)])
    with pytest.raises(lamina.nn.StateDictError, match="size mismatch"):
        wrong.load_weights(tmp_path / "w.weights.safetensors")


def test_broken_files(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    check_error(lambda: keras.models.load_model(bad), CheckpointError, "not a .keras zip")
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "{}")
    check_error(lambda: keras.models.load_model(bad), CheckpointError, "model.weights.safetensors")


def test_every_core_layer_config_round_trips():
    x = keras.Input((3,), name="inp")
    layers = [x._keras_history.operation, Dense(4, activation="relu", use_bias=False, name="d"),
              Residual(3, scale=0.25), keras.layers.Lambda(abs, output_shape=(3,)),
              keras.layers.InputLayer(batch_shape=(2, 5), dtype="int32", name="ids")]
    for layer in layers:
        config = layer.get_config()
        json.dumps(config)
        with keras.saving.custom_object_scope({"abs": abs}):  # a Lambda's function comes back by name only
            again = type(layer).from_config(config)
        assert again.get_config() == config, type(layer).__name__


def test_serialize_round_trip_of_objects():
    record = keras.saving.serialize_keras_object(keras.regularizers.L1L2(l1=0.1, l2=0.2))
    assert record["class_name"] == "L1L2" and record["config"] == {"l1": 0.1, "l2": 0.2}
    again = keras.saving.deserialize_keras_object(record)
    assert isinstance(again, keras.regularizers.L1L2) and again.l2 == 0.2
    check_error(lambda: keras.saving.serialize_keras_object(lambda: 0), SerializationError, "cannot serialize")
    assert keras.saving.get_registered_name(Residual) == "tests>Residual"


def test_weights_file_is_safetensors(tmp_path):
    model = keras.Sequential([keras.Input((2,)), Dense(2, name="d")])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        state = lamina.load(io.BytesIO(z.read("model.weights.safetensors")))
    assert set(state) == {"dense.kernel", "dense.bias"}
    from safetensors.numpy import load as st_load
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert set(st_load(z.read("model.weights.safetensors"))) == {"dense.kernel", "dense.bias"}


def test_layer_set_model_round_trip_with_batchnorm_state(tmp_path):
    layers = keras.layers
    x = keras.Input((8, 8, 2))
    h = layers.BatchNormalization()(layers.Conv2D(4, 3, activation="relu")(x))
    h = layers.Dropout(0.3)(layers.Flatten()(layers.MaxPooling2D()(h)))
    model = keras.Model(x, layers.Dense(3, activation="softmax")(h))
    data = lamina.tensor(rand(5, 8, 8, 2))
    model(data, training=True)  # moves the BatchNorm statistics away from their initial values
    model.save(tmp_path / "cnn.keras")
    loaded = keras.models.load_model(tmp_path / "cnn.keras")
    assert "batch_normalization.moving_mean" in loaded.state_dict()
    np.testing.assert_array_equal(model(data, training=False).detach().numpy(),
                                  loaded(data, training=False).detach().numpy())


def test_module_wrapper_cannot_be_saved(tmp_path):
    model = keras.Sequential([keras.Input((4,)), lamina.nn.Linear(4, 2)])
    check_error(lambda: model.save(tmp_path / "w.keras"), NotImplementedError, "TorchModuleWrapper",
                "save_weights")
    model.save_weights(tmp_path / "w.weights.safetensors")  # the weights alone are fine


def test_load_in_a_fresh_process_imports_nothing_from_the_file(tmp_path):
    x = keras.Input((3,), name="x")
    model = keras.Model(x, -(x * 2.0 + 1.0))  # only built-in layers: the implicit operation layers
    model.save(tmp_path / "ops.keras")
    code = ("import sys; from lamina import keras; import numpy as np; "
            f"m = keras.models.load_model({str(tmp_path / 'ops.keras')!r}); "
            "print(m(np.ones((1, 3), 'float32')).tolist()); "
            "print(sorted(n for n in sys.modules if n.startswith('tests')))")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[[-3.0, -3.0, -3.0]]", "[]"]


def test_clone_model_to_json_and_model_from_config_match_keras():
    from tests.keras.keras_helpers import fresh, real_keras

    def build(lib):
        x = lib.Input((4,), name="in")
        functional = lib.Model(x, lib.layers.Dense(2, name="head")(lib.layers.Dense(8, name="hid")(x)), name="net")
        sequential = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, name="d")], name="seq")
        return functional, sequential

    def describe(model):
        return type(model).__name__, model.name, [layer.name for layer in model.layers], model.built

    fresh()
    theirs = build(real_keras)
    fresh()
    ours = build(keras)
    data = rand(3, 4)
    for (a, b) in zip(ours, theirs):
        assert describe(keras.models.clone_model(a)) == describe(real_keras.models.clone_model(b))
        assert describe(keras.models.model_from_json(a.to_json())) == \
            describe(real_keras.models.model_from_json(b.to_json()))
    assert describe(keras.Model.from_config(ours[0].get_config())) == \
        describe(real_keras.Model.from_config(theirs[0].get_config()))
    clone = keras.models.clone_model(ours[0])
    assert not np.allclose(clone.predict(data, verbose=0), ours[0].predict(data, verbose=0))  # fresh weights
    clone.set_weights(ours[0].get_weights())
    _same_predictions(clone, ours[0], lamina.tensor(data))
    check_error(lambda: keras.models.clone_model(Dense(2)), lamina.ArgumentError, "clone_model", "Dense")
    check_error(lambda: keras.models.model_from_json("{not json"), SerializationError, "model_from_json")
    check_error(lambda: keras.models.model_from_json(json.dumps(keras.saving.serialize_keras_object(Dense(2)))),
                SerializationError, "not a model")


def test_model_from_config_with_custom_objects():
    class Twice(keras.layers.Layer):  # not registered: found through custom_objects only
        def call(self, x):
            return x * 2

    x = keras.Input((2,))
    model = keras.Model(x, Twice(name="twice")(x))
    config = model.get_config()
    check_error(lambda: keras.Model.from_config(config), SerializationError, "Twice")
    again = keras.Model.from_config(config, custom_objects={"Twice": Twice})
    assert isinstance(again.get_layer("twice"), Twice)
    seq = keras.Sequential([keras.Input((2,)), Twice()])
    assert isinstance(keras.Sequential.from_config(seq.get_config(), custom_objects={"Twice": Twice}).layers[0],
                      Twice)

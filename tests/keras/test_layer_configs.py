"""Every layer of the layer set, made with the same arguments in Lamina and in real Keras 3: the same config
values (not only keys), the same ``built`` state before any call, and a config that round trips."""
import inspect
import json

import pytest

from tests.keras.layer_helpers import keras, real_keras

# Constructor arguments of each layer whose required arguments have no default; None: built in a lambda below.
ARGS = {
    "Dense": (3,), "EinsumDense": ("ab,bc->ac", 4), "Activation": ("relu",), "Dropout": (0.3,), "Reshape": ((2, 3),),
    "Permute": ((2, 1),), "RepeatVector": (3,), "Conv1D": (4, 3), "Conv2D": (4, 3), "Conv1DTranspose": (4, 3),
    "Conv2DTranspose": (4, 3), "DepthwiseConv1D": (3,), "DepthwiseConv2D": (3,), "SeparableConv1D": (4, 3),
    "SeparableConv2D": (4, 3), "AveragePooling1D": (2,), "AveragePooling2D": (2,), "AvgPool1D": (2,),
    "AvgPool2D": (2,), "Embedding": (10, 4), "SimpleRNN": (3,), "LSTM": (3,), "GRU": (3,), "SimpleRNNCell": (3,),
    "LSTMCell": (3,), "GRUCell": (3,), "MultiHeadAttention": (2, 4), "Dot": (1,), "Convolution1D": (4, 3),
    "Convolution2D": (4, 3), "Convolution2DTranspose": (4, 3), "SeparableConvolution1D": (4, 3),
    "SeparableConvolution2D": (4, 3), "Convolution1DTranspose": (4, 3),
}
NESTED = {
    "Bidirectional": lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True)),
    "TimeDistributed": lambda lib: lib.layers.TimeDistributed(lib.layers.Dense(2)),
    "RNN": lambda lib: lib.layers.RNN(lib.layers.GRUCell(3), return_sequences=True),
    "StackedRNNCells": lambda lib: lib.layers.StackedRNNCells([lib.layers.LSTMCell(2), lib.layers.GRUCell(3)]),
}
# Not constructible from basic arguments alone, or not a layer of the set.
OTHERS = {"Layer", "Input", "InputSpec", "InputLayer", "Lambda", "Wrapper", "TorchModuleWrapper"}


def _layer_names():
    return sorted(n for n in dir(keras.layers) if not n.startswith("_") and inspect.isclass(getattr(keras.layers, n))
                  and hasattr(real_keras.layers, n) and n not in OTHERS)


def _make(lib, name):
    if name in NESTED:
        return NESTED[name](lib)
    return getattr(lib.layers, name)(*ARGS.get(name, ()))


def _comparable(value):
    """A config as JSON values, without what names the framework (module paths, registered names) or the
    session (layer names), and with dtypes as names (Keras writes a DTypePolicy record, Lamina the name)."""
    value = json.loads(json.dumps(value))

    def clean(v):
        if isinstance(v, dict):
            if v.get("class_name") == "DTypePolicy":
                return v["config"]["name"]
            return {k: clean(x) for k, x in v.items() if k not in ("module", "registered_name", "name")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean(value)


@pytest.mark.parametrize("name", _layer_names())
def test_config_values_and_built_state_match_keras(name):
    ours, theirs = _make(keras, name), _make(real_keras, name)
    assert _comparable(ours.get_config()) == _comparable(theirs.get_config())
    assert ours.built == theirs.built, f"{name}: built={ours.built} before any call, Keras {theirs.built}"
    clone = type(ours).from_config(ours.get_config())
    assert type(clone) is type(ours) and clone.get_config() == ours.get_config()

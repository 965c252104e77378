"""``keras.activations``: activation functions by Keras's names, defaults and formulas.

``get("relu")`` returns the function; a layer's config stores the name (``serialize(relu) == "relu"``), and only
names from this module or registered/custom functions are ever looked up when loading.

Example:
    >>> from lamina.keras import activations
    >>> activations.get("gelu")(lamina.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8413])
"""
from lamina.errors import ArgumentError
from lamina.keras import ops
from lamina.keras import saving
from lamina.nn import functional as F
from lamina.ops.elementwise import clamp, sqrt, where
from lamina.tensor import Tensor


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``, Keras's generalised form: with ``threshold``, values at or below it become 0 (above it they
    pass unchanged); ``max_value`` then clips to ``[0, max_value]``; ``negative_slope`` finally adds
    ``negative_slope * (x - threshold)`` where ``x < threshold``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        if type(x) is Tensor and x._data.dtype.kind == "f":
            return F.relu(x)  # the plain relu of a float tensor (every Dense(..., activation="relu") call)
        return ops.relu(ops.convert_to_tensor(x))
    x = ops.convert_to_tensor(x)
    out = where(x > threshold, x, x * 0.0) if threshold != 0.0 else ops.relu(x)
    if max_value is not None:
        out = clamp(out, 0.0, max_value)
    if negative_slope:
        out = out - negative_slope * ops.relu(threshold - x)
    return out


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def relu6(x):
    return ops.relu6(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def celu(x, alpha=1.0):
    return ops.celu(x, alpha)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    return ops.silu(x)


def gelu(x, approximate=False):
    """The Gaussian error linear unit, exact by default (``approximate=True``: the tanh formula)."""
    return ops.gelu(x, approximate)


def glu(x, axis=-1):
    return ops.glu(x, axis)


def tanh(x):
    return ops.tanh(x)


def tanh_shrink(x):
    return ops.tanh_shrink(x)


def sigmoid(x):
    return ops.sigmoid(x)


def exponential(x):
    return ops.exp(x)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between."""
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also called hard swish)."""
    return ops.hard_silu(x)


def hard_tanh(x):
    return ops.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    return ops.hard_shrink(x, threshold)


def soft_shrink(x, threshold=0.5):
    return ops.soft_shrink(x, threshold)


def threshold(x, threshold, default_value):
    return ops.threshold(x, threshold, default_value)


def log_sigmoid(x):
    return ops.log_sigmoid(x)


def mish(x):
    """``x * tanh(softplus(x))``."""
    x = ops.convert_to_tensor(x)
    return x * ops.tanh(ops.softplus(x))


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``, a smooth ReLU."""
    x = ops.convert_to_tensor(x)
    return (x + sqrt(x * x + b)) / 2


def sparse_plus(x):
    """0 for x <= -1, ``(x + 1)^2 / 4`` for -1 < x < 1, x for x >= 1."""
    x = ops.convert_to_tensor(x)
    middle = (x + 1) * (x + 1) / 4
    return where(x <= -1, x * 0.0, where(x >= 1, x, middle))


def sparse_sigmoid(x):
    """0 for x <= -1, ``(x + 1) / 2`` between, 1 for x >= 1."""
    return clamp((ops.convert_to_tensor(x) + 1) / 2, 0.0, 1.0)


def linear(x):
    """The identity."""
    return x


swish = silu
hard_swish = hard_silu

_FUNCTIONS = (relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, celu, softplus, softsign, silu, gelu, glu,
              tanh, tanh_shrink, sigmoid, exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink, soft_shrink,
              threshold, log_sigmoid, mish, squareplus, sparse_plus, sparse_sigmoid, linear)
ALL_OBJECTS = {fn.__name__: fn for fn in _FUNCTIONS}
ALL_OBJECTS.update({"swish": silu, "hard_swish": hard_silu})
for _name, _fn in ALL_OBJECTS.items():
    saving.register_builtin(_fn, _name)


def get(identifier):
    """An activation function from its name, a serialized record or a callable; None means ``linear``."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = ALL_OBJECTS.get(identifier) or saving.get_registered_object(identifier)
        if fn is None:
            raise ArgumentError(f"keras.activations.get(): unknown activation {identifier!r}; known: "
                                f"{', '.join(sorted(ALL_OBJECTS))}")
        return fn
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ArgumentError(f"keras.activations.get(): could not interpret activation identifier {identifier!r}")


def serialize(activation):
    """A built-in activation's name (``'relu'``); a custom one's config record."""
    for name, fn in ALL_OBJECTS.items():
        if fn is activation and name not in ("swish", "hard_swish"):
            return name
    return saving.serialize_keras_object(activation)


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return get(config)
    return saving.deserialize_keras_object(config, custom_objects)

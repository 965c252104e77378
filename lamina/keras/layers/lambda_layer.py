"""Lambda: wrap a Python function of tensors as a layer."""
import inspect

from lamina.keras import saving
from lamina.keras.backend import KerasTensor, flatten_shapes, map_shapes, map_structure
from lamina.keras.layers.layer import Layer


def _as_shapes(value):
    """An output_shape as tuples: a list of ints is one shape, a list of lists several (JSON gives lists)."""
    if isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int) for d in value):
        return tuple(value)
    if isinstance(value, (list, tuple)):
        return [_as_shapes(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_shapes(v) for k, v in value.items()}
    return value


class Lambda(Layer):
    """A layer that applies ``function(inputs, **arguments)``.

    Lamina never loads code from a file, so a saved Lambda comes back only when its function is given by name
    at load time (``load_model(path, custom_objects={"my_fn": my_fn})``); an anonymous ``lambda`` cannot be
    loaded at all (rebuild the model in Python and use ``load_weights``).

    Args:
        function: a function of the input tensor(s); may take ``mask`` and ``training`` keyword arguments.
        output_shape: the output shape (or a function of the input shape); inferred by a dry run if None.
        mask: a mask to attach to the output, or a function ``(inputs, mask) -> mask``.
        arguments: extra keyword arguments for ``function``.

    Example:
        >>> double = keras.layers.Lambda(lambda x: x * 2)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise saving.SerializationError(f"Lambda: function must be callable, got {function!r}")
        self.function = function
        self.output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        params = inspect.signature(function).parameters
        self._fn_mask = "mask" in params
        self._fn_training = "training" in params
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_mask:
            kwargs["mask"] = mask
        if self._fn_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def compute_output_spec(self, *args, **kwargs):
        if self.output_shape is None:
            return super().compute_output_spec(*args, **kwargs)
        input_shape = map_structure(lambda x: x.shape if isinstance(x, KerasTensor) else x, args[0])
        if callable(self.output_shape):
            shape = self.output_shape(input_shape)  # a function of the full input shape(s), batch included
        else:
            # As in Keras, a given output_shape leaves out the batch dimension, which is the first input's.
            batch = flatten_shapes(input_shape)[0][0]
            shape = map_shapes(lambda s: (batch,) + tuple(s), _as_shapes(self.output_shape))
        return map_shapes(lambda s: KerasTensor(s, self.compute_dtype), _as_shapes(shape))

    def get_config(self):
        config = super().get_config()
        name = getattr(self.function, "__name__", "<lambda>")
        config.update({
            "function": {"module": getattr(self.function, "__module__", None), "class_name": "function",
                         "config": name, "registered_name": name},
            "output_shape": None if self.output_shape is None or callable(self.output_shape)
            else list(self.output_shape),
            "arguments": saving.serialize_keras_object(self.arguments),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        record = config.pop("function", None)
        name = record.get("config") if isinstance(record, dict) else record
        function = saving.get_registered_object(name) if isinstance(name, str) else None
        if function is None:
            raise saving.SerializationError(
                f"Lambda layer {config.get('name')!r} cannot be loaded: its function {name!r} is Python code, "
                "and Lamina never loads code from a file. Pass the function by name "
                f"(load_model(path, custom_objects={{{name!r}: fn}})), or rebuild the model in Python and call "
                "load_weights()")
        return cls(function, **config)

"""InputLayer and ``keras.Input``: the entry points of a functional graph."""
from lamina import dtypes as _dt
from lamina.errors import ArgumentError
from lamina.keras.backend import KerasTensor, standardize_dtype, standardize_shape
from lamina.keras.layers.layer import Layer
from lamina.keras.node import Node


class InputLayer(Layer):
    """The layer behind ``keras.Input``: it owns one symbolic tensor of shape ``batch_shape`` and has no weights.

    Args:
        shape: the shape without the batch dimension, e.g. ``(28, 28, 1)``.
        batch_size: the batch size if fixed (None otherwise).
        dtype: the input's dtype name (default ``"float32"``).
        batch_shape: the full shape including the batch, instead of ``shape``/``batch_size``.
        name: the layer's (and tensor's) name; ``input_layer``, ``input_layer_1``... by default.
        optional: the input may be None.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ArgumentError("InputLayer: sparse inputs are not supported")
        if shape is not None and batch_shape is not None:
            raise ArgumentError("InputLayer: pass either shape or batch_shape, not both")
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ArgumentError(f"InputLayer: input_tensor must be a KerasTensor, got "
                                    f"{type(input_tensor).__name__}")
            batch_shape, dtype = input_tensor.shape, input_tensor.dtype
        if batch_shape is None:
            if shape is None:
                raise ArgumentError("InputLayer: give the input's shape, e.g. keras.Input(shape=(8,))")
            batch_shape = (batch_size,) + standardize_shape(shape)
        self.batch_shape = standardize_shape(batch_shape)
        self.__dict__["_dtype"] = standardize_dtype(dtype) or "float32"
        self.__dict__["_np_dtype"] = _dt.as_dtype(self._dtype).numpy
        self.optional = optional
        self.sparse = False
        self.__dict__["built"] = True
        tensor = KerasTensor(self.batch_shape, dtype=self._dtype, name=self.name)
        Node(self, outputs=tensor)

    def call(self):
        raise ArgumentError(f"InputLayer '{self.name}' is not called: it stands for the model's input")

    @property
    def output(self):
        return self._inbound_nodes[0].outputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False, "name": self.name,
                "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic input tensor: the start of a functional model.

    Args:
        shape: the shape of one sample, without the batch dimension (None for unknown sizes).
        batch_size: the fixed batch size, if any.
        dtype: the dtype name (``"float32"`` by default; ``"int32"`` for token ids).
        batch_shape: the full shape including the batch dimension.
        name: the input's name (unique in a model).

    Returns:
        A KerasTensor of shape ``(batch_size, *shape)``.

    Example:
        >>> x = keras.Input(shape=(8,), name="features")
        >>> y = keras.layers.Dense(2)(x)
        >>> model = keras.Model(x, y)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional)
    return layer.output

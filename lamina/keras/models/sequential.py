"""Sequential: a plain stack of layers, each feeding the next."""
from lamina.errors import ArgumentError, LaminaError
from lamina.keras import saving
from lamina.keras.backend import KerasTensor, standardize_shape, unique_name
from lamina.keras.layers.input_layer import InputLayer
from lamina.keras.layers.layer import Layer
from lamina.keras.layers.torch_module_wrapper import TorchModuleWrapper
from lamina.keras.models.model import Model
from lamina.keras.node import name_symbolic_failure
from lamina.nn.module import Module


class Sequential(Model):
    """A model made of layers applied one after the other.

    It is built (weights created, output shapes known) as soon as its input shape is known: from a leading
    ``keras.Input`` / ``InputLayer``, from ``input_shape=`` given to the first layer, or else on the first call
    (the real input's shape, batch included, as in Keras). Plain ``nn.Module`` objects are wrapped in
    ``TorchModuleWrapper``. Layers are registered under keys counting classes within the model (``state_dict``
keys ``dense.kernel``, ``dense_1.kernel``), the same for every instance.

    Args:
        layers: a list of layers (and optionally a leading ``keras.Input``).
        trainable: False freezes every layer.
        name: the model's name (``sequential``, ``sequential_1``... by default).

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
        >>> model.add(keras.layers.Dense(2))
        >>> model.pop()
    """

    def __init__(self, layers=None, trainable=True, name=None):
        Model.__init__(self, trainable=trainable, name=name)
        self.__dict__["_layers"] = []
        self.__dict__["_graph"] = None  # (input KerasTensor, output KerasTensor) once built
        for layer in layers or ():
            self.add(layer, rebuild=False)
        if self._layers:
            self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Append a layer (a ``keras.Input`` tensor is accepted first); rebuilds when the input shape is known."""
        if not self._layers and getattr(layer, "_input_shape_arg", None) is not None:
            self.add(InputLayer(shape=layer._input_shape_arg), rebuild=False)
        if isinstance(layer, KerasTensor) and layer._keras_history is not None \
                and isinstance(layer._keras_history.operation, InputLayer):
            layer = layer._keras_history.operation
        if isinstance(layer, Module) and not isinstance(layer, Layer):
            layer = TorchModuleWrapper(layer)
        if not isinstance(layer, Layer):
            raise ArgumentError(f"Sequential.add(): only layers (or nn.Modules) can be added to Sequential model "
                                f"'{self.name}', got {layer!r} of type {type(layer).__name__}")
        if any(existing.name == layer.name for existing in self._layers):
            raise ArgumentError(f"Sequential.add(): all layers of a Sequential model need unique names; "
                                f"'{layer.name}' is already the name of a layer in model '{self.name}'")
        if isinstance(layer, InputLayer) and self._layers:
            raise ArgumentError(f"Sequential.add(): model '{self.name}' already has layers; an Input can only be "
                                "its first element")
        self._layers.append(layer)
        if not isinstance(layer, InputLayer):
            self._register_layer(layer)
            if not self.trainable:
                layer.trainable = False
        if rebuild:
            self._maybe_rebuild()
        else:
            self.__dict__["built"] = False
            self.__dict__["_graph"] = None

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        layers = self.layers
        if not layers:
            raise ArgumentError(f"Sequential.pop(): model '{self.name}' has no layers")
        layer = layers[-1]
        self._layers.remove(layer)
        self._unregister_layer(layer)
        self.__dict__["built"] = False
        self.__dict__["_graph"] = None
        if rebuild and self._layers:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.__dict__["built"] = False
        self.__dict__["_graph"] = None
        first = self._layers[0]
        if isinstance(first, InputLayer) and len(self._layers) > 1:
            self.build(first.batch_shape)
        elif isinstance(first, Model) and getattr(first, "_inputs", None) and len(self._layers) > 1:
            self.build(first.input_shape)

    def build(self, input_shape=None):
        """Connect the layers on a symbolic input of ``input_shape`` (weights created, shapes inferred)."""
        if not isinstance(input_shape, (tuple, list)) or any(isinstance(d, (tuple, list)) for d in input_shape):
            raise ArgumentError(f"Sequential '{self.name}'.build(): expected one input shape, got {input_shape!r}")
        input_shape = standardize_shape(input_shape)
        if not self._layers:
            raise ArgumentError(f"Sequential model '{self.name}' cannot be built because it has no layers; call "
                                "model.add(layer)")
        first = self._layers[0]
        if isinstance(first, InputLayer):
            if first.batch_shape != input_shape:
                raise ArgumentError(f"Sequential model '{self.name}' is configured for input shape "
                                    f"{first.batch_shape}; it cannot be built with input shape {input_shape}")
        else:
            self._layers.insert(0, InputLayer(batch_shape=input_shape, dtype=first.dtype))
        x = inputs = self._layers[0].output
        for layer in self._layers[1:]:
            x = layer(x)
            if not isinstance(x, KerasTensor):
                raise ArgumentError(f"Sequential model '{self.name}': layer '{layer.name}' returns several "
                                    "outputs; Sequential only supports single-output layers (use a functional "
                                    "model)")
        self.__dict__["_graph"] = (inputs, x)
        unique_name("functional")  # Keras builds a Functional here, which takes that name: keep the numbering

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._layers:
            if not isinstance(layer, InputLayer):
                x = layer(x)
        return x

    def compute_output_spec(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._layers:
            if isinstance(layer, InputLayer):
                continue
            try:
                x = layer.compute_output_spec(x)
            except LaminaError as e:
                name_symbolic_failure(e, layer, (x,))
                raise
        return x

    # ---- structure --------------------------------------------------------------------------------------
    @property
    def layers(self):
        """The layers, without the leading InputLayer."""
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    def _graph_or_raise(self, what):
        if self._graph is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined {what} yet: give it a "
                                 "keras.Input first, or call or build it")
        return self._graph

    @property
    def inputs(self):
        return [self._graph_or_raise("inputs")[0]]

    @property
    def outputs(self):
        return [self._graph_or_raise("outputs")[1]]

    @property
    def input(self):
        return self._graph_or_raise("input")[0]

    @property
    def output(self):
        return self._graph_or_raise("output")[1]

    @property
    def input_shape(self):
        return self._graph_or_raise("input_shape")[0].shape

    @property
    def output_shape(self):
        return self._graph_or_raise("output_shape")[1].shape

    # ---- config -----------------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "layers": [saving.serialize_keras_object(layer) for layer in self._layers]}

    def get_build_config(self):
        return None  # a built Sequential starts with its InputLayer, which rebuilds it

    @classmethod
    def from_config(cls, config, custom_objects=None):
        records = config.get("layers")
        if not isinstance(records, list):
            raise saving.SerializationError("a Sequential config needs a list of 'layers'")
        layers = [saving.deserialize_keras_object(record, custom_objects) for record in records]
        return cls(layers, trainable=config.get("trainable", True), name=config.get("name"))

"""Model: a Layer with training (``Trainer``), saving and ``summary()``; the base of all three kinds of model.

- **Subclassing**: ``class Net(keras.Model)`` with layers assigned in ``__init__`` and a ``call``; the layers
  are tracked because they are Modules.
- **Functional**: ``keras.Model(inputs, outputs)`` returns a ``Functional`` (``models/functional.py``).
- **Sequential**: ``keras.Sequential([...])`` (``models/sequential.py``).
"""
from lamina.errors import ArgumentError
from lamina.keras import saving
from lamina.keras.backend import KerasTensor, call_context, dry_run_spec, map_shapes, to_snake_case
from lamina.keras.layers.layer import Layer
from lamina.keras.trainer import Trainer
from lamina.nn.containers import ModuleDict, ModuleList


class Model(Trainer, Layer):
    """A layer that groups layers, with ``fit``/``evaluate``/``predict`` (from Trainer), ``save`` and ``summary``.

    ``Model(inputs, outputs)`` builds a functional model; ``Model(name=...)`` is the base of a subclassed one.

    Example:
        >>> class Net(keras.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = keras.layers.Dense(16, activation="relu")
        ...         self.out = keras.layers.Dense(1)
        ...     def call(self, x):
        ...         return self.out(self.hidden(x))
    """

    _lock_after_build = False

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from lamina.keras.models.functional import Functional
            return Functional.__new__(Functional, *args, **kwargs)  # Python then runs Functional.__init__
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise ArgumentError(f"{type(self).__name__}: a subclassed Model cannot take inputs/outputs; build a "
                                "functional model with keras.Model(inputs, outputs) instead")
        Layer.__init__(self, **kwargs)
        if Trainer.__init__ is not object.__init__:
            Trainer.__init__(self)

    # ---- layers -----------------------------------------------------------------------------------------
    @property
    def layers(self):
        """The model's layers: for a subclassed model, the layers assigned as attributes (lists flattened)."""
        return [m for m in self._child_modules() if isinstance(m, Layer)]

    def _child_modules(self):
        out = []
        for module in self._modules.values():
            if isinstance(module, (ModuleList, ModuleDict)):
                out.extend(m for m in module._modules.values() if m is not None)
            elif module is not None:
                out.append(module)
        seen, unique = set(), []
        for m in out:
            if id(m) not in seen:
                seen.add(id(m))
                unique.append(m)
        return unique

    def _register_layer(self, layer):
        """Register a graph layer as a sub-module under a key that does not depend on automatic names.

        Layer names are global counters (``dense_7``), so two builds of one architecture would disagree on them;
        keys count classes within this model instead (``dense``, ``dense_1``...), as Keras's weight files do, so
        ``state_dict`` keys, ``save_weights`` and ``load_weights`` match between instances.
        """
        base = to_snake_case(type(layer).__name__)
        key, i = base, 0
        while key in self._modules:
            i += 1
            key = f"{base}_{i}"
        self._modules[key] = layer  # written directly: a key may equal a Model attribute's name

    def _unregister_layer(self, layer):
        for key, module in list(self._modules.items()):
            if module is layer:
                del self._modules[key]

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index`` in ``layers``."""
        layers = self.layers
        if index is not None and name is not None:
            raise ArgumentError("get_layer(): provide only one of name and index")
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ArgumentError(f"get_layer(): asked for the layer at index {index}, but model '{self.name}' "
                                    f"only has {len(layers)} layers")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ArgumentError(f"get_layer(): no layer named {name!r} in model '{self.name}'; its layers are "
                                f"{[layer.name for layer in layers]}")
        raise ArgumentError("get_layer(): provide either a layer name or a layer index")

    # ---- building ---------------------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Create the weights of a subclassed model by a dry run of ``call`` on inputs of ``input_shape``."""
        if input_shape is None:
            raise ArgumentError(f"Model '{self.name}'.build(): give the input shape, e.g. build((None, 8))")
        inputs = map_shapes(lambda s: KerasTensor(s) if isinstance(s, tuple) else s, input_shape)
        if isinstance(inputs, dict):
            inputs = [inputs]
        elif not isinstance(inputs, KerasTensor) and not isinstance(inputs, list):
            inputs = list(inputs)
        args = (inputs,)
        outer = call_context.training
        call_context.training = False
        try:
            dry_run_spec(self.call, args, {})
        finally:
            call_context.training = outer

    # ---- config -----------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from ``get_config()``'s dict; ``keras.Model.from_config`` of a functional model's config
        (it has ``layers`` and ``nodes``) rebuilds the functional model, as in Keras."""
        from lamina.keras.models.functional import Functional
        if cls is Model and isinstance(config, dict) and "layers" in config and "nodes" in config:
            return Functional.from_config(config, custom_objects)
        with saving.custom_object_scope(dict(custom_objects or {})):
            return super().from_config(config)

    def to_json(self, **kwargs):
        """The model's config record as a JSON string (``keras.models.model_from_json`` rebuilds it, with fresh
        weights); ``kwargs`` go to ``json.dumps``."""
        import json
        return json.dumps(saving.serialize_keras_object(self), **kwargs)

    # ---- saving -----------------------------------------------------------------------------------------
    def save(self, filepath, overwrite=True):
        """Save config, metadata and weights to a ``.keras`` zip (see ``lamina.keras.saving``)."""
        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Save ``state_dict()`` to a ``.weights.safetensors`` file."""
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Load weights from a ``.weights.safetensors`` file or a ``.keras`` archive."""
        return saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    # ---- summary ----------------------------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print Keras 3's table of layers, output shapes and parameter counts (see ``models/summary.py``)."""
        from lamina.keras.models.summary import print_summary
        return print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                             expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)


Model.build._lamina_default = True  # a subclassed model's first call only records shapes (no dry run)

"""TorchModuleWrapper: a plain ``lamina.nn.Module`` used as a Keras layer in a Sequential or functional graph.

A Keras layer can hold nn.Modules as attributes directly (they are registered like any sub-module); the wrapper
is only needed where a layer *object* is required: ``keras.Sequential([nn.Linear(4, 3)])`` wraps automatically,
and ``TorchModuleWrapper(module)(x)`` works on KerasTensors (the output shape comes from a dry run).
"""
from lamina.keras import saving
from lamina.keras.layers.layer import Layer
from lamina.nn.module import Module


class TorchModuleWrapper(Layer):
    """Run an ``nn.Module`` as a Keras layer; ``training`` from the Keras call sets the module's train/eval mode.

    Args:
        module: the ``lamina.nn.Module`` to wrap (its parameters are found under ``module.``).

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.TorchModuleWrapper(nn.Linear(4, 3))])
    """

    def __init__(self, module, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(module, Module):
            raise saving.SerializationError(f"TorchModuleWrapper: expected a lamina.nn.Module, got "
                                            f"{type(module).__name__}")
        self.module = module
        self.__dict__["built"] = True

    def call(self, *args, training=None, **kwargs):
        if training is not None and self.module.training != bool(training):
            self.module.train(bool(training))
        return self.module(*args, **kwargs)

    def get_config(self):
        raise NotImplementedError(
            f"TorchModuleWrapper '{self.name}' holds a {type(self.module).__name__}, which has no config: save the "
            "weights with save_weights() and rebuild the model in Python, or write the module as a Keras layer")

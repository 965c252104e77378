"""``keras.optimizers``: SGD, Adam, AdamW, RMSprop and Adagrad with Keras 3's defaults and update rules, and
learning-rate ``schedules``.

Example:
    >>> from lamina import keras
    >>> schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=1000)
    >>> model.compile(optimizer=keras.optimizers.AdamW(learning_rate=schedule), loss="mse")
    >>> model.compile(optimizer="adam", loss="mse")      # by name, with default arguments
"""
import inspect

from lamina.errors import ArgumentError
from lamina.keras.optimizers import schedules
from lamina.keras.optimizers.optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules", "get", "serialize",
           "deserialize"]

_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}


def get(identifier):
    """An optimizer from a name ('adam', 'sgd', 'rmsprop', 'adagrad', 'adamw'; any case), a config dict or an
    instance (returned as is).

    Example:
        >>> keras.optimizers.get("rmsprop").learning_rate
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ArgumentError(f"keras.optimizers.get(): unknown optimizer {identifier!r}; expected one of "
                                f"{sorted(_BY_NAME)} or an Optimizer instance")
        return cls()
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        return identifier()
    raise ArgumentError(f"keras.optimizers.get(): could not interpret optimizer identifier {identifier!r}")


def serialize(optimizer):
    """``{"class_name": ..., "config": ...}`` of a built-in optimizer."""
    if type(optimizer).__name__.lower() not in _BY_NAME:
        raise ArgumentError(f"keras.optimizers.serialize(): cannot serialize {optimizer!r}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """The inverse of ``serialize``; only built-in optimizers are recognised (no import by name)."""
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = _BY_NAME.get(str(name).lower()) if name else None
    if cls is None:
        raise ArgumentError(f"keras.optimizers.deserialize(): unknown optimizer config {config!r}")
    return cls.from_config(dict(config.get("config", {})))

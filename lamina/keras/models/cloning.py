"""``keras.models.clone_model`` and ``model_from_json``: new models from a model's config, with fresh weights.

Both go through the config alone (``get_config`` / ``from_config``), so they build only registered classes, as
``load_model`` does.
"""
import json

from lamina.errors import ArgumentError
from lamina.keras import saving
from lamina.keras.layers.layer import Layer


def clone_model(model):
    """A new model of the same architecture and layer names as ``model``, with newly initialized weights.

    Args:
        model: a functional, Sequential or subclassed (``get_config``-able) model; custom layers that are not
            registered are found through ``keras.saving.custom_object_scope``.

    Returns:
        The clone; copy the weights with ``clone.set_weights(model.get_weights())`` if needed.

    Example:
        >>> clone = keras.models.clone_model(model)
        >>> clone.set_weights(model.get_weights())
    """
    if not isinstance(model, Layer) or not hasattr(model, "fit"):
        raise ArgumentError(f"clone_model(): expected a keras Model, got {type(model).__name__}")
    record = saving.serialize_keras_object(model)
    return saving.deserialize_keras_object(record)


def model_from_json(json_string, custom_objects=None):
    """The model described by ``model.to_json()`` (fresh weights; only registered classes are built)."""
    try:
        record = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise saving.SerializationError(f"model_from_json(): not a JSON string: {e}") from None
    model = saving.deserialize_keras_object(record, custom_objects)
    if not hasattr(model, "fit"):
        raise saving.SerializationError(f"model_from_json(): the JSON describes a {type(model).__name__}, not a "
                                        "model")
    return model

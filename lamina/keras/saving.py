"""Saving and loading Keras-idiom models: configs as JSON naming registered classes only, weights as safetensors.

``model.save("m.keras")`` writes a zip archive with three entries:

- ``config.json``: the model as ``{"module", "class_name", "config", "registered_name"}``, nested for its layers
  (a functional model also lists its graph);
- ``metadata.json``: the Lamina version and the date;
- ``model.weights.safetensors``: ``model.state_dict()`` written by ``lamina.save``.

Loading trusts nothing in the file. A class is found only in two registries filled by Python code that is already
imported: the built-in classes of ``lamina.keras`` (registered when they are defined) and the classes registered
with ``@register_keras_serializable()`` or passed as ``custom_objects``. The ``module`` field of a config is
informative and never imported; no code (pickle, marshal, lambdas) is ever deserialized, so a ``Lambda`` layer can
be loaded only when its function is given by name in ``custom_objects``.

Example:
    >>> model.save("m.keras")
    >>> same = keras.models.load_model("m.keras")
"""
import datetime
import io
import json
import os
import zipfile

from lamina.errors import ArgumentError, LaminaError
from lamina.serialization import CheckpointError

__all__ = ["SerializationError", "register_keras_serializable", "get_registered_name", "get_registered_object",
           "serialize_keras_object", "deserialize_keras_object", "custom_object_scope", "CustomObjectScope",
           "save_model", "load_model", "save_weights", "load_weights"]

_CONFIG_FILE = "config.json"
_METADATA_FILE = "metadata.json"
_WEIGHTS_FILE = "model.weights.safetensors"
_MAX_JSON_BYTES = 64 << 20  # a config larger than this is refused before it is decompressed


class SerializationError(LaminaError, ValueError, TypeError):
    """A config that cannot be written (a value that is not JSON) or read (an unknown or refused class)."""


# ---- registries ---------------------------------------------------------------------------------------------

_BUILTINS = {}      # registered name -> class, for the classes of lamina.keras itself
_CUSTOM = {}        # "Package>Name" -> class, filled by register_keras_serializable
_SCOPES = []        # stack of dicts from custom_object_scope / load_model(custom_objects=...)


def register_builtin(cls, name=None):
    """Make a class of ``lamina.keras`` loadable under ``name`` (its class name by default)."""
    name = name or getattr(cls, "__name__", None)
    existing = _BUILTINS.get(name)
    if existing is not None and existing is not cls and \
            (existing.__module__, existing.__qualname__) != (cls.__module__, getattr(cls, "__qualname__", None)):
        raise SerializationError(f"register_builtin(): the name {name!r} is already taken by {existing!r}; give "
                                 f"{cls!r} a distinct _registered_name")
    _BUILTINS[name] = cls
    return cls


def register_keras_serializable(package="Custom", name=None):
    """Class decorator: make a custom class loadable by ``load_model`` as ``"package>name"``.

    Example:
        >>> @keras.saving.register_keras_serializable(package="my_pkg")
        ... class Scale(keras.layers.Layer):
        ...     ...
    """
    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if not hasattr(obj, "get_config"):
            raise SerializationError(f"register_keras_serializable(): {obj!r} has no get_config(), so it "
                                     "cannot be saved")
        existing = _CUSTOM.get(registered)
        if existing is not None and existing is not obj and existing.__qualname__ != obj.__qualname__:
            raise SerializationError(f"register_keras_serializable(): {registered!r} is already registered to "
                                     f"{existing!r}")
        _CUSTOM[registered] = obj
        obj._registered_name = registered
        return obj
    return decorator


def get_registered_name(obj):
    """The name a class (or instance) is saved under: ``"package>Name"`` for registered custom classes."""
    cls = obj if isinstance(obj, type) else type(obj)
    registered = cls.__dict__.get("_registered_name")
    return registered or cls.__name__


def get_registered_object(name, custom_objects=None):
    """The class saved as ``name``, from ``custom_objects``, the active scopes and the registries; else None."""
    for source in ([custom_objects or {}] + _SCOPES[::-1] + [_CUSTOM, _BUILTINS]):
        if name in source:
            return source[name]
    return None


class CustomObjectScope:
    """Context manager making ``{name: class_or_function}`` visible to ``load_model`` and deserialization.

    Example:
        >>> with keras.saving.custom_object_scope({"Scale": Scale}):
        ...     model = keras.models.load_model("m.keras")
    """

    def __init__(self, custom_objects):
        if not isinstance(custom_objects, dict):
            raise ArgumentError(f"custom_object_scope(): expected a dict of name -> object, got "
                                f"{type(custom_objects).__name__}")
        self.custom_objects = custom_objects

    def __enter__(self):
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPES.pop()


custom_object_scope = CustomObjectScope


# ---- (de)serialization of objects ---------------------------------------------------------------------------

def serialize_keras_object(obj):
    """A JSON-able description of ``obj``: basic values as is, objects with ``get_config`` as a class record."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0 and not hasattr(obj, "get_config"):
        return obj.item()  # a NumPy scalar
    if isinstance(obj, type) or not hasattr(obj, "get_config"):
        name = getattr(obj, "__name__", None)
        if callable(obj) and name and name != "<lambda>":
            # A named function (an activation): saved by name, found again by name only.
            return {"module": getattr(obj, "__module__", None), "class_name": "function", "config": name,
                    "registered_name": name}
        raise SerializationError(f"cannot serialize {obj!r} of type {type(obj).__name__}: only numbers, strings, "
                                 "lists, dicts and objects with get_config() can be saved")
    record = {
        "module": type(obj).__module__,
        "class_name": type(obj).__name__,
        "config": _check_json(obj.get_config(), type(obj).__name__),
        "registered_name": get_registered_name(obj),
    }
    build_config = getattr(obj, "get_build_config", None)
    if build_config is not None:
        built = build_config()
        if built is not None:
            record["build_config"] = _check_json(built, type(obj).__name__)
    return record


def _check_json(value, where):
    try:
        return json.loads(json.dumps(value, default=_json_default, allow_nan=True))
    except (TypeError, ValueError) as e:
        raise SerializationError(f"the config of {where} is not JSON-serializable: {e}") from None


def _json_default(value):
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if hasattr(value, "get_config") or callable(value):
        return serialize_keras_object(value)
    raise TypeError(f"{value!r} (of type {type(value).__name__}) is not a JSON value")


def deserialize_keras_object(config, custom_objects=None):
    """The object a ``serialize_keras_object`` record describes; only registered classes are ever built."""
    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, list):
        return [deserialize_keras_object(x, custom_objects) for x in config]
    if not isinstance(config, dict):
        raise SerializationError(f"cannot deserialize a {type(config).__name__}: {_short(config)}")
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    class_name, registered = config.get("class_name"), config.get("registered_name")
    if not isinstance(class_name, str) or (registered is not None and not isinstance(registered, str)):
        raise SerializationError(f"malformed config: class_name and registered_name must be strings, got "
                                 f"{_short(config)}")
    if class_name == "function":
        name = config.get("config")
        fn = get_registered_object(name, custom_objects) if isinstance(name, str) else None
        if fn is None:
            raise SerializationError(f"unknown function {name!r}: pass it in custom_objects={{{name!r}: fn}} "
                                     "(Lamina never loads code from a file)")
        return fn
    cls = get_registered_object(registered, custom_objects) if registered else None
    if cls is None:
        cls = get_registered_object(class_name, custom_objects)
    if cls is None:
        raise SerializationError(
            f"unknown class {class_name!r} (registered name {registered!r}): Lamina only builds classes of "
            "lamina.keras, classes decorated with @keras.saving.register_keras_serializable(), and classes passed "
            "in custom_objects; it never imports a module named by a file")
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise SerializationError(f"malformed config for {class_name!r}: 'config' must be a dict, got "
                                 f"{_short(inner)}")
    if not hasattr(cls, "from_config"):
        raise SerializationError(f"{class_name!r} maps to {cls!r}, which has no from_config()")
    _SCOPES.append(dict(custom_objects or {}))
    try:
        obj = cls.from_config(dict(inner))
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config") and not getattr(obj, "built", True):
            obj.build_from_config(build_config)
    finally:
        _SCOPES.pop()
    return obj


def get_object(identifier, aliases, base, kind):
    """An object from a name, a config record, an instance or a callable (for initializers, regularizers...)."""
    if identifier is None:
        return None
    if isinstance(identifier, base) or (callable(identifier) and not isinstance(identifier, (str, type, dict))):
        return identifier
    if isinstance(identifier, str):
        cls = aliases.get(identifier)
        if cls is None:
            found = get_registered_object(identifier)
            cls = found if isinstance(found, type) and issubclass(found, base) else None
        if cls is None:
            raise ArgumentError(f"unknown {kind} {identifier!r}; known names: {', '.join(sorted(aliases))}")
        return cls()
    if isinstance(identifier, dict):
        obj = deserialize_keras_object(identifier)
        if not (isinstance(obj, base) or callable(obj)):
            raise ArgumentError(f"the config {_short(identifier)} is not a {kind}")
        return obj
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    raise ArgumentError(f"could not interpret {kind} identifier {identifier!r}")


def _short(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ---- files --------------------------------------------------------------------------------------------------

def save_model(model, filepath, overwrite=True):
    """Write ``model`` to a ``.keras`` zip: config.json, metadata.json, model.weights.safetensors."""
    import lamina
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise ArgumentError(f"save(): the file name must end in .keras, got {path!r} (use save_weights() with "
                            "a .weights.safetensors name to save only the weights)")
    if not overwrite and os.path.exists(path):
        raise ArgumentError(f"save(): {path!r} exists and overwrite=False")
    config = serialize_keras_object(model)
    compile_config = getattr(model, "get_compile_config", None)
    if compile_config is not None and compile_config() is not None:
        config["compile_config"] = _check_json(compile_config(), "the compile config")
    metadata = {"lamina_version": lamina.__version__, "format": "lamina.keras",
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = io.BytesIO()
    lamina.save(model.state_dict(), weights)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_METADATA_FILE, json.dumps(metadata))
        archive.writestr(_CONFIG_FILE, json.dumps(config))
        archive.writestr(_WEIGHTS_FILE, weights.getvalue())


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved by ``model.save`` and load its weights.

    Args:
        filepath: a ``.keras`` file.
        custom_objects: ``{name: class_or_function}`` for custom classes that are not registered.
        compile: restore the training configuration when the model was compiled (if training supports it).
        safe_mode: accepted for Keras compatibility; loading is always safe.
    """
    import lamina
    path = os.fspath(filepath)
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile:
        raise CheckpointError(f"load_model(): {path!r} is not a .keras zip archive") from None
    with archive:
        config = json.loads(_read_member(archive, _CONFIG_FILE, path, _MAX_JSON_BYTES).decode("utf-8"))
        weights = _read_member(archive, _WEIGHTS_FILE, path, None)
    if not isinstance(config, dict):
        raise SerializationError(f"load_model(): {path!r} has a config that is not a JSON object")
    model = deserialize_keras_object(config, custom_objects)
    if not hasattr(model, "load_state_dict"):
        raise SerializationError(f"load_model(): {path!r} describes a {type(model).__name__}, not a model")
    model.load_state_dict(lamina.load(io.BytesIO(weights)))
    if compile and config.get("compile_config") and hasattr(model, "compile_from_config"):
        model.compile_from_config(config["compile_config"])
    return model


def _read_member(archive, name, path, limit):
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CheckpointError(f"load_model(): {path!r} has no {name}; it was not written by model.save()") \
            from None
    if limit is not None and info.file_size > limit:
        raise CheckpointError(f"load_model(): {name} in {path!r} is {info.file_size} bytes, more than the "
                              f"{limit} allowed")
    return archive.read(name)


def save_weights(model, filepath, overwrite=True):
    """Write ``model.state_dict()`` to a ``.weights.safetensors`` file."""
    import lamina
    path = os.fspath(filepath)
    if not path.endswith(".weights.safetensors"):
        raise ArgumentError(f"save_weights(): the file name must end in .weights.safetensors, got {path!r}")
    if not overwrite and os.path.exists(path):
        raise ArgumentError(f"save_weights(): {path!r} exists and overwrite=False")
    lamina.save(model.state_dict(), path)


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights saved by ``save_weights`` (or the weights inside a ``.keras`` file) into ``model``."""
    import lamina
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        with zipfile.ZipFile(path, "r") as archive:
            state = lamina.load(io.BytesIO(_read_member(archive, _WEIGHTS_FILE, path, None)))
    elif path.endswith(".weights.safetensors") or path.endswith(".safetensors"):
        state = lamina.load(path)
    else:
        raise ArgumentError(f"load_weights(): expected a .weights.safetensors or .keras file, got {path!r}")
    if skip_mismatch:
        own = model.state_dict()
        state = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
        return model.load_state_dict(state, strict=False)
    return model.load_state_dict(state)

"""Layer: the Keras layer, which *is* a ``lamina.nn.Module``.

There is one layer class in Lamina, not two trees: a Keras layer registers its weights and sub-layers in the
Module registries, so ``parameters()``, ``state_dict()``, hooks and ``lamina.optim`` see them, and a Keras layer
can sit inside an ``nn.Module`` and an ``nn.Module`` inside a Keras layer or model.
"""
import functools
import inspect
import math

from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.keras import constraints, initializers, regularizers, saving
from lamina.keras.backend import (
    KerasTensor, Variable, call_context, contains_keras_tensor, dry_run_spec, flatten, map_shapes, map_structure,
    shape_of, standardize_dtype, to_snake_case, unique_name,
)
from lamina.keras.layers.input_spec import assert_input_compatibility
from lamina.nn.containers import ModuleDict, ModuleList
from lamina.nn.module import Module
from lamina.nn.parameter import Parameter
from lamina.tensor import Tensor

_SIGNATURES = {}  # class -> inspect.Signature of its __init__ (auto get_config)
_CALL_ARGS = {}   # class -> set of the parameter names of its call()


class Layer(Module):
    """Base class of Keras layers: ``build`` / ``add_weight`` / ``call`` / ``get_config`` over ``nn.Module``.

    **The contract** (what a layer subclass writes, and what the base class does for it):

    - ``__init__(self, <hyper-parameters>, **kwargs)`` stores hyper-parameters and passes ``**kwargs``
      (``name``, ``dtype``, ``trainable``, ``activity_regularizer``, ``input_shape``) to ``super().__init__``.
      Unknown keyword arguments raise ArgumentError. The arguments are captured at construction, so
      ``get_config()`` is automatic when they are basic values (numbers, strings, bools, None, lists/tuples/dicts
      of them, or objects with ``get_config`` such as initializers); otherwise override ``get_config``
      (``config = super().get_config(); config.update(...)``). Sub-layers may be created here and assigned as
      attributes; layers in list attributes are tracked (also those appended later; a ModuleList mirror registers
      them as ``blocks.0``...), tuples and dicts of layers become ``nn.ModuleList`` / ``nn.ModuleDict``.
    - ``build(self, input_shape)`` creates the weights with ``self.add_weight`` once the input shape is known.
      The first call runs it with the shape of the first argument (a tuple of ints for real tensors; with
      ``None`` for unknown sizes, e.g. the batch, on a symbolic call); a build taking several arguments names them
      ``<call argument>_shape``. ``build`` may be called directly (``layer.build((None, 8))``). After it,
      ``built`` is True and the layer is locked: ``add_weight`` raises.
    - ``add_weight(shape, initializer, dtype, trainable, regularizer, constraint, name)`` returns a
      :class:`~lamina.keras.backend.Variable` (an ``nn.Parameter``) registered under ``name`` (``kernel``,
      ``bias``; the attribute it is assigned to if different). Default initializer: ``glorot_uniform`` for floats,
      ``zeros`` otherwise. ``trainable=False`` gives ``requires_grad=False`` and lists it in
      ``non_trainable_weights`` (moving statistics are such weights, updated with ``variable.assign``).
    - ``call(self, inputs, training=None, mask=None)`` is the forward computation on lamina Tensors (channels-last
      by Keras convention). ``training`` and ``mask`` are passed only if ``call`` declares them. ``training`` is
      the value given to this call, else the one of the enclosing layer call, else ``self.training`` (the Module
      flag that ``train()``/``eval()`` set; False for a new Keras layer, so a direct call is inference, as in
      Keras). ``mask`` is taken from the input's ``_keras_mask`` when not given.
    - ``compute_output_shape(self, input_shape)`` is optional but recommended when cheap: symbolic calls use it;
      without it the output shape comes from a dry run of ``call`` on zeros (None sizes set to 1, then 2), in
      inference mode (no BatchNorm updates, no dropout draws) and with no gradients.
    - ``compute_mask(self, inputs, previous_mask)`` is optional; ``supports_masking = True`` passes masks through.
    - ``self.input_spec`` (an InputSpec or a list of them) is checked on every call: a mismatch raises ShapeError
      naming the layer, the constraint and the received shape.

    ``__call__`` converts NumPy inputs to tensors (and floating inputs to the layer's dtype), checks
    ``input_spec``, builds, resolves ``training``, runs ``call`` through ``Module.__call__`` (so hooks fire), and
    propagates masks. On KerasTensors it instead records a Node of the functional graph (``lamina/keras/node.py``).

    Example:
        >>> class Linear(keras.layers.Layer):
        ...     def __init__(self, units=32, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units = units
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        ...         self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        ...     def call(self, inputs):
        ...         return inputs @ self.kernel + self.bias
        >>> layer = Linear(4)
        >>> y = layer(lamina.ones(2, 3))        # builds a (3, 4) kernel
        >>> [name for name, _ in layer.named_parameters()]
        ['kernel', 'bias']
    """

    supports_masking = False
    _autocast_inputs = True   # __call__ casts floating inputs to the layer's dtype (Functional does its own)
    _lock_after_build = True  # add_weight is refused once built (models stay open)

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # Captured here, before __init__ runs, so get_config() can be automatic (see _auto_config).
        obj.__dict__["_init_args"] = _capture_init_args(cls, args, kwargs)
        return obj

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__ and not getattr(cls.__dict__["build"], "_lamina_build", False):
            cls.build = _wrap_build(cls.__dict__["build"])
        if cls.__module__.startswith("lamina.keras.") and not cls.__name__.startswith("_"):
            saving.register_builtin(cls, cls.__dict__.get("_registered_name") or cls.__name__)

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True, name=None,
                 **kwargs):
        Module.__init__(self)
        # Keras semantics: a direct call runs in inference mode unless told otherwise (fit passes training=True).
        # A torch-style parent's .train() still switches the flag on, so mixed models behave as torch expects.
        self.__dict__["training"] = False
        cls = type(self).__name__
        input_dim = kwargs.pop("input_dim", None)
        input_shape = kwargs.pop("input_shape", None) if input_dim is None else (input_dim,)
        kwargs.pop("input_shape", None)
        if kwargs:
            raise ArgumentError(f"Unrecognized keyword arguments passed to {cls}: {kwargs}")
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise ArgumentError(f"{cls}: name must be a non-empty string without '/', got {name!r}")
        if not isinstance(trainable, bool):
            raise ArgumentError(f"{cls}: trainable must be a bool, got {trainable!r}")
        d = self.__dict__
        d["name"] = name or unique_name(to_snake_case(cls))
        d["_dtype"] = standardize_dtype(dtype) or "float32"
        d["_np_dtype"] = _dt.as_dtype(d["_dtype"]).numpy
        d["_trainable"] = trainable
        d["autocast"] = autocast
        d["built"] = False
        d["_locked"] = False
        d["_building"] = False
        d["input_spec"] = None
        d["activity_regularizer"] = regularizers.get(activity_regularizer)
        d["_input_shape_arg"] = None if input_shape is None else tuple(input_shape)
        d["_losses"] = []
        d["_inbound_nodes"] = []
        d["_outbound_nodes"] = []
        d["_build_shapes_dict"] = None
        d["_output_shape_record"] = None

    # ---- attributes -------------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if isinstance(value, list) and "_modules" in self.__dict__:
            # Keras tracks lists of layers, even ones filled later by append: the list stays a list, and a
            # ModuleList mirror under the same name registers its layers (state_dict keys ``blocks.0.kernel``).
            tracked = value if isinstance(value, TrackedList) else TrackedList(value)
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            object.__setattr__(self, name, tracked)
            self._modules[name] = tracked.mirror
            return
        if isinstance(value, tuple) and value and all(isinstance(v, Module) for v in value):
            value = ModuleList(list(value))
        elif (isinstance(value, dict) and value and all(isinstance(v, Module) for v in value.values())
              and all(isinstance(k, str) for k in value)):
            value = ModuleDict(value)
        elif isinstance(value, Parameter) and "_parameters" in self.__dict__:
            # A weight made by add_weight(name=...) and assigned to another attribute keeps one key, the attribute.
            for key, p in list(self._parameters.items()):
                if p is value and key != name:
                    del self._parameters[key]
        if name in self.__dict__ and isinstance(self.__dict__[name], TrackedList):
            del self.__dict__[name]
            self._modules.pop(name, None)
        Module.__setattr__(self, name, value)

    def __getattr__(self, name):
        try:
            return Module.__getattr__(self, name)
        except AttributeError:
            prop = getattr(type(self), name, None)
            if isinstance(prop, property):
                prop.fget(self)  # a property that failed: raise its own message, not "no attribute"
            raise

    @property
    def dtype(self):
        """The dtype of the layer's weights and computations, as a name (``"float32"``)."""
        return self._dtype

    compute_dtype = dtype
    variable_dtype = dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freeze (False) or unfreeze this layer and every layer inside it; sets requires_grad on the weights."""
        if not isinstance(value, bool):
            raise ArgumentError(f"{type(self).__name__}.trainable must be a bool, got {value!r}")
        for module in self.modules():
            if isinstance(module, Layer):
                module.__dict__["_trainable"] = value
        for p in self.parameters():
            if p._data.dtype.kind == "f":
                p.requires_grad_(value and getattr(p, "trainable", True))

    @property
    def weights(self):
        """Every weight of this layer and its sub-layers, each once, in registration (state_dict) order."""
        return _weights_of(self)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in _weights_of(self) if w.requires_grad]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for w in _weights_of(self) if not w.requires_grad]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def path(self):
        return self.name

    def count_params(self):
        """The number of scalars in this layer's weights (the layer must be built)."""
        if not self.built:
            raise ArgumentError(f"You tried to call count_params() on layer '{self.name}', but the layer isn't "
                                "built. You can build it manually via: layer.build(input_shape)")
        return int(sum(math.prod(w.shape) for w in self.weights))

    def get_weights(self):
        """The weights as a list of NumPy arrays (copies)."""
        return [w.detach().numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Copy a list of arrays (in ``get_weights`` order) into the weights; shapes must match."""
        own = self.weights
        if len(weights) != len(own):
            raise ArgumentError(f"Layer '{self.name}' set_weights(): expected {len(own)} arrays, got {len(weights)}")
        for w, value in zip(own, weights):
            array = value._data if isinstance(value, Tensor) else xp.asarray(value)
            if tuple(array.shape) != tuple(w.shape):
                from lamina.errors import ShapeError
                raise ShapeError(f"Layer '{self.name}' set_weights(): weight {getattr(w, 'path', '')!r} has shape "
                                 f"{tuple(w.shape)}, got an array of shape {tuple(array.shape)}")
            w._data[...] = array
            w._vc[0] += 1

    # ---- weights ----------------------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False,
                   name=None):
        """Create a weight, register it as a parameter of this layer, and return it.

        Args:
            shape: tuple of ints (no None); ``()`` for a scalar.
            initializer: a name (``"glorot_uniform"``), an Initializer, or a callable ``(shape, dtype)``;
                defaults to ``glorot_uniform`` for floating dtypes and ``zeros`` otherwise.
            dtype: defaults to the layer's dtype.
            trainable: False for state updated by hand (``variable.assign``), like moving statistics.
            regularizer: adds ``regularizer(weight)`` to ``layer.losses``.
            constraint: stored as ``weight.constraint``, applied by the training loop after each update.
            name: the weight's name (``"kernel"``); when omitted, the session-wide ``variable``, ``variable_1``...

        Returns:
            The new :class:`~lamina.keras.backend.Variable`.
        """
        if self._locked and not self._building:
            raise ArgumentError(
                f"Layer '{self.name}' ({type(self).__name__}) is already built, so its state is locked: "
                f"add_weight(name={name!r}) must be called from build() or __init__, not after the first call")
        if "_parameters" not in self.__dict__:
            raise ArgumentError(f"{type(self).__name__}: call super().__init__() before add_weight()")
        if isinstance(shape, str):
            raise ArgumentError(f"Layer '{self.name}' add_weight(): name must be passed as a keyword argument, got "
                                f"add_weight({shape!r}, ...); use add_weight(shape=..., name={shape!r})")
        shape = () if shape is None else shape
        if isinstance(shape, int):
            shape = (shape,)
        shape = tuple(shape)
        if any(d is None or isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape):
            raise ArgumentError(f"Layer '{self.name}' add_weight(name={name!r}): shape must be a tuple of "
                                f"non-negative ints with no None, got {shape}")
        dtype = standardize_dtype(dtype) or self.dtype
        floating = dtype.startswith("float")
        init = initializers.get(initializer if initializer is not None else
                                ("glorot_uniform" if floating else "zeros"))
        value = init(shape, dtype=dtype)
        array = value._data if isinstance(value, Tensor) else xp.asarray(value)
        array = xp.array(array, dtype=_dt.as_dtype(dtype).numpy).reshape(shape)
        # An unnamed weight is "variable", "variable_1"... across the session, as in Keras; its registry key is
        # only unique within the layer (usually replaced by the attribute it is assigned to).
        key = self._free_weight_name(name or "variable")
        variable = Variable(array, trainable=trainable, name=name or unique_name("variable"))
        variable.path = f"{self.name}/{variable.name}"
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        if not self.trainable and floating:
            variable.requires_grad_(False)
        self.register_parameter(key, variable)
        return variable

    def _free_weight_name(self, base):
        def taken(key):
            return key in self._parameters or key in self.__dict__ or key in self._modules

        key, i = base, 0
        while taken(key):
            i += 1
            key = f"{base}_{i}"
        return key

    # ---- losses -----------------------------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar tensor to ``self.losses`` for this call (cleared when the outermost call starts)."""
        if call_context.dry_run is not None:
            return
        call_context.losses_used = True
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added during the last call by this layer and its sub-layers, then the weight regularization
        penalties (recomputed now, so they are differentiable)."""
        out = []
        modules = _modules_of(self)
        for module in modules:
            if isinstance(module, Layer):
                out.extend(module._losses)
        for w in _weights_of(self, modules):
            regularizer = getattr(w, "regularizer", None)
            if regularizer is not None:
                out.append(regularizer(w))
        return out

    def _clear_losses(self):
        for module in _modules_of(self):
            if isinstance(module, Layer) and module._losses:
                module._losses.clear()

    # ---- building ---------------------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Create the layer's weights for inputs of ``input_shape`` (the default creates none)."""

    def _build_at_init(self):
        """Mark a layer that has no weights built at construction, as Keras does for its stateless layers
        (activations, dropout, pooling, reshape): ``summary()`` of an unbuilt model then counts it as ``0``, not
        ``0 (unbuilt)``. A subclass that defines ``build`` is left to build on its first call."""
        if getattr(type(self).build, "_lamina_default", False):
            self.__dict__["built"] = True
            self.__dict__["_locked"] = self._lock_after_build

    def _build_from_call(self, args, kwargs):
        """The first call's build: shapes come from the call's tensor arguments."""
        if getattr(type(self).build, "_lamina_default", False):
            shapes = self._shapes_for(None, args, kwargs)
            self.__dict__["_build_shapes_dict"] = shapes
            self.__dict__["built"] = True
            self.__dict__["_locked"] = self._lock_after_build
            return
        self.build(**self._shapes_for(self.build, args, kwargs))

    def _shapes_for(self, fn, args, kwargs):
        """``{parameter: shape}`` for ``fn`` (build or compute_output_shape) from a call's arguments.

        A one-parameter ``fn`` gets the shape of the first tensor argument; with several parameters each must be
        called ``<call argument>_shape``.
        """
        if "training" in kwargs and "training" not in self._call_args():
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}  # a context argument, not call's
        signature = inspect.signature(self.call)
        try:
            bound = signature.bind(*args, **kwargs).arguments
        except TypeError as e:
            raise ArgumentError(f"Layer '{self.name}' ({type(self).__name__}): the arguments do not fit "
                                f"call(): {e}") from None
        shapes = {}
        for arg_name, value in bound.items():
            shape = shape_of(value)
            if shape is not None:
                shapes[f"{arg_name}_shape"] = shape
        if fn is None:
            return shapes
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not params:
            return {}
        if len(params) == 1:
            return {params[0]: next(iter(shapes.values()), None)}
        result = {}
        for p in params:
            if not p.endswith("_shape") or p[:-len("_shape")] not in signature.parameters:
                raise ArgumentError(
                    f"Layer '{self.name}' ({type(self).__name__}): a {fn.__name__}() with several arguments names "
                    f"each '<call argument>_shape' (e.g. {fn.__name__}(self, query_shape, value_shape)); "
                    f"{p!r} does not match an argument of call()")
            if p in shapes:
                result[p] = shapes[p]
        return result

    def get_build_config(self):
        """The input shapes the layer was built with, for ``build_from_config`` when loading."""
        if not self.built or not self._build_shapes_dict:
            return None
        shapes = self._build_shapes_dict
        if len(shapes) == 1:
            return {"input_shape": next(iter(shapes.values()))}
        return {"shapes_dict": shapes}

    def build_from_config(self, config):
        """Build from ``get_build_config()``'s record (shapes come back from JSON as lists)."""
        if not config:
            return
        if "input_shape" in config:
            self.build(_shape_from_json(config["input_shape"]))
        elif "shapes_dict" in config:
            shapes = {k: _shape_from_json(v) for k, v in config["shapes_dict"].items()}
            if len(shapes) == 1 or getattr(type(self).build, "_lamina_default", False):
                self.build(next(iter(shapes.values())))
            else:
                self.build(**shapes)

    # ---- calling ----------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        plain = not kwargs and len(args) == 1 and type(args[0]) is Tensor  # the common case, checked cheaply
        if not plain and contains_keras_tensor(args, kwargs):
            from lamina.keras.node import symbolic_call
            return symbolic_call(self, args, kwargs)
        if self._autocast_inputs and args:
            args = self._convert_inputs(args)
        if self.input_spec is not None:
            self._check_input_spec(args)
        training = kwargs.pop("training", None) if kwargs else None
        if not self.built:
            self._build_from_call(args, kwargs)
        ctx = call_context
        outer = ctx.training
        if training is None:
            training = outer if outer is not None else self.training
        accepted = self._call_args()
        if "training" in accepted:
            kwargs["training"] = training
        if "mask" in accepted and args and kwargs.get("mask") is None:
            mask = _mask_of(args[0])
            if mask is not None:
                kwargs["mask"] = mask
        if ctx.depth == 0 and ctx.losses_used:
            self._clear_losses()
        ctx.training, ctx.depth = training, ctx.depth + 1
        try:
            outputs = Module.__call__(self, *args, **kwargs)
        finally:
            ctx.training, ctx.depth = outer, ctx.depth - 1
        return self._after_call(args, outputs)

    def forward(self, *args, **kwargs):
        """``nn.Module``'s forward is ``call``."""
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a call() method implemented")

    def _call_args(self):
        cls = type(self)
        names = _CALL_ARGS.get(cls)
        if names is None:
            names = _CALL_ARGS[cls] = frozenset(inspect.signature(cls.call).parameters)
        return names

    def _convert_inputs(self, args):
        """NumPy arrays become tensors; floating inputs are cast to the layer's dtype (Keras's autocast)."""
        if len(args) == 1 and type(args[0]) is Tensor:
            dtype = args[0]._data.dtype
            if dtype is self._np_dtype or dtype.kind != "f" or not self.autocast:
                return args  # the common case, kept cheap
        return tuple(map_structure(self._convert_one, a) for a in args)

    def _convert_one(self, x):
        if isinstance(x, xp.ndarray):
            x = Tensor._make(x)
        if isinstance(x, Tensor) and self.autocast and x._data.dtype.kind == "f" \
                and x._data.dtype != self._np_dtype and self._np_dtype.kind == "f":
            x = x.to(_dt.as_dtype(self._dtype))
        return x

    def _check_input_spec(self, args):
        if self.input_spec is not None and args:
            assert_input_compatibility(self.input_spec, args[0], self)

    def _after_call(self, args, outputs):
        """Activity regularization, mask propagation and the record of the output shape for summary()."""
        ctx = call_context
        if self.activity_regularizer is not None and ctx.dry_run is None:
            for out in flatten(outputs):
                if isinstance(out, Tensor):
                    batch = out.shape[0] if out.ndim else 1
                    self.add_loss(self.activity_regularizer(out) / max(batch, 1))
        if (self.supports_masking or type(self).compute_mask is not Layer.compute_mask) and args:
            mask = self.compute_mask(args[0], _mask_of(args[0]))
            if mask is not None:
                for out, m in zip(flatten(outputs), flatten(mask) if isinstance(mask, (list, tuple)) else
                                  [mask] * len(flatten(outputs))):
                    if isinstance(out, Tensor):
                        out._keras_mask = m
        if ctx.dry_run is not None:
            ctx.dry_run.record(self, outputs)
        elif self._output_shape_record is None:
            self.__dict__["_output_shape_record"] = map_structure(
                lambda x: tuple(x.shape) if isinstance(x, Tensor) else None, outputs)
        return outputs

    def compute_mask(self, inputs, previous_mask=None):
        """The output mask: the input's mask if ``supports_masking``, else None."""
        return previous_mask if self.supports_masking else None

    # ---- shape inference --------------------------------------------------------------------------------
    def compute_output_shape(self, *args, **kwargs):
        """Output shape(s) for input shape(s); the default runs ``compute_output_spec`` on symbolic inputs."""
        specs = self.compute_output_spec(*map_shapes(_as_keras_tensor, args),
                                         **{k: map_shapes(_as_keras_tensor, v) for k, v in kwargs.items()})
        return map_structure(lambda x: x.shape, specs)

    def compute_output_spec(self, *args, **kwargs):
        """Output KerasTensor(s) for KerasTensor inputs, without real data.

        Uses ``compute_output_shape`` when the subclass defines it, else a dry run of the call on zeros.
        """
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            try:
                shapes = self.compute_output_shape(**self._shapes_for(self.compute_output_shape, args, kwargs))
                return map_shapes(lambda s: KerasTensor(s, self.compute_dtype), shapes)
            except NotImplementedError:
                pass  # a shape function that does not cover this case: fall back to the dry run
        if kwargs.get("training") is None:
            kwargs = dict(kwargs, training=False)  # shape inference never updates state (BatchNorm, Dropout)
        return dry_run_spec(self._dry_call, args, kwargs)

    def _dry_call(self, *args, **kwargs):
        return Layer.__call__(self, *args, **kwargs)

    # ---- graph ------------------------------------------------------------------------------------------
    @property
    def input(self):
        """The input KerasTensor(s) of this layer's first call in a functional graph."""
        node = self._only_node("input")
        return node.args[0] if len(node.args) == 1 else list(node.args)

    @property
    def output(self):
        """The output KerasTensor(s) of this layer's first call in a functional graph."""
        return self._only_node("output").outputs

    def _only_node(self, what):
        # Keras's rule: the first node, so a shared layer's input/output are those of its first call.
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {what}.")
        return self._inbound_nodes[0]

    # ---- config -----------------------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments as a JSON-able dict, so ``from_config(get_config())`` rebuilds the layer.

        A subclass that overrides ``get_config`` gets ``name``, ``trainable`` and ``dtype`` here and adds its own
        keys; otherwise the arguments captured at construction are used.
        """
        base = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:
            base["activity_regularizer"] = saving.serialize_keras_object(self.activity_regularizer)
        if type(self).get_config is not Layer.get_config:
            return base
        auto = self._auto_config()
        if auto is None:
            raise NotImplementedError(
                f"Layer {type(self).__name__} was created with arguments that are not basic values (numbers, "
                "strings, lists, dicts, objects with get_config), so its config cannot be made automatically; "
                "implement get_config() (config = super().get_config(); config.update(...))")
        params = _init_signature(type(self)).parameters
        takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
        config = dict(auto)
        config.update({k: v for k, v in base.items() if takes_kwargs or k in params})
        return config

    def _auto_config(self):
        captured = self.__dict__.get("_init_args")
        if captured is None:
            return None
        try:
            return {k: _config_value(v) for k, v in captured.items()}
        except (TypeError, saving.SerializationError):
            return None

    @classmethod
    def from_config(cls, config):
        """A new layer from ``get_config()``'s dict."""
        config = dict(config)
        try:
            return cls(**config)
        except TypeError as e:
            raise ArgumentError(f"{cls.__name__}.from_config(): the config does not fit __init__: {e}") from None

    # ---- printing ---------------------------------------------------------------------------------------
    def extra_repr(self):
        return f"name={self.name}"

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class TrackedList(list):
    """A list attribute of a layer whose Module items are registered, in order, in a ModuleList ``mirror``.

    ``self.blocks = []`` followed by ``self.blocks.append(Dense(4))`` registers the Dense as ``blocks.0``, as
    Keras tracks layers in lists; items that are not Modules are kept in the list and ignored by the mirror.
    """

    def __init__(self, items=()):
        super().__init__(items)
        self.mirror = ModuleList()
        self._sync()

    def _sync(self):
        modules = self.mirror._modules
        modules.clear()
        for i, item in enumerate(self):
            if isinstance(item, Module):
                modules[str(i)] = item

    def _mutator(method):
        def mutate(self, *args, **kwargs):
            result = getattr(list, method)(self, *args, **kwargs)
            self._sync()
            return result
        mutate.__name__ = method
        return mutate

    append = _mutator("append")
    extend = _mutator("extend")
    insert = _mutator("insert")
    pop = _mutator("pop")
    remove = _mutator("remove")
    clear = _mutator("clear")
    sort = _mutator("sort")
    reverse = _mutator("reverse")
    __setitem__ = _mutator("__setitem__")
    __delitem__ = _mutator("__delitem__")
    __iadd__ = _mutator("__iadd__")
    del _mutator


def _modules_of(root):
    """``root`` and its descendants, each once, in ``named_modules()``'s order (pre-order), without building the
    dotted names: the weight and loss properties run once per training step."""
    out, seen, stack = [], set(), [root]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        out.append(module)
        children = [m for m in module._modules.values() if m is not None]
        children.reverse()
        stack.extend(children)
    return out


def _weights_of(root, modules=None):
    """The parameters of ``root`` in ``parameters()``'s order, each once."""
    out, seen = [], set()
    for module in _modules_of(root) if modules is None else modules:
        for p in module._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def _wrap_build(build):
    """Run a subclass's build once as the outermost build, then mark the layer built and lock its state."""
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        d = self.__dict__
        if d.get("_building"):  # super().build(...) inside a subclass's build
            return build(self, *args, **kwargs)
        d["_building"] = True
        try:
            build(self, *args, **kwargs)
        finally:
            d["_building"] = False
        try:
            bound = inspect.signature(build).bind(self, *args, **kwargs)
            bound.arguments.pop(next(iter(bound.arguments)), None)
            d["_build_shapes_dict"] = {k: v for k, v in bound.arguments.items()}
        except TypeError:
            d["_build_shapes_dict"] = None
        d["built"] = True
        d["_locked"] = type(self)._lock_after_build
    wrapper._lamina_build = True
    return wrapper


Layer.build = _wrap_build(Layer.build)
Layer.build._lamina_default = True


def _capture_init_args(cls, args, kwargs):
    """The bound constructor arguments (defaults applied, **kwargs expanded), or None if impossible."""
    try:
        signature = _init_signature(cls)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(signature.parameters)), None)  # self
    for name, param in signature.parameters.items():
        if param.kind == param.VAR_POSITIONAL:
            if arguments.pop(name, ()):
                return None
        elif param.kind == param.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif param.kind == param.POSITIONAL_ONLY:
            return None
    return arguments


def _init_signature(cls):
    signature = _SIGNATURES.get(cls)
    if signature is None:
        signature = _SIGNATURES[cls] = inspect.signature(cls.__init__)
    return signature


def _config_value(value):
    """A constructor argument as a JSON value; TypeError if it cannot be one."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_config_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _config_value(v) for k, v in value.items()}
    if hasattr(value, "get_config") and not isinstance(value, (Module, type)):
        return saving.serialize_keras_object(value)
    raise TypeError(f"{type(value).__name__} is not a config value")


def _shape_from_json(value):
    """A shape (or nest of shapes) read back from JSON, where tuples became lists."""
    if isinstance(value, list) and all(v is None or isinstance(v, int) for v in value):
        return tuple(value)
    if isinstance(value, list):
        return [_shape_from_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape_from_json(v) for k, v in value.items()}
    return value


def _as_keras_tensor(shape):
    return KerasTensor(shape) if isinstance(shape, tuple) else shape


def _mask_of(x):
    if isinstance(x, Tensor):
        return x.__dict__.get("_keras_mask")
    if isinstance(x, (list, tuple)):
        masks = [_mask_of(v) for v in x]
        return masks if any(m is not None for m in masks) else None
    return None

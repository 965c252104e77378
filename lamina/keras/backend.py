"""The symbolic side of the Keras idiom: KerasTensor, Variable, dtype names, unique names and the call context.

A ``KerasTensor`` is a shape and a dtype with no data (``keras.Input((8,))`` has shape ``(None, 8)``). Calling a
layer on one infers the output's shape without real data (see ``Layer.compute_output_spec``) and records a Node,
so ``Input -> layers -> Model`` and ``summary()`` work before any data is seen.

Shape inference by a *dry run* (``dry_run_spec``) calls the layer on zero-filled tensors where each ``None``
dimension is 1, then 2; output dimensions that differ between the two runs are ``None``. It runs without
gradients and in inference mode (unless ``training`` was passed explicitly), so it updates no state (BatchNorm
statistics) and draws no dropout masks.
"""
import collections
import re

from lamina import dtypes as _dt
from lamina.autograd import no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError
from lamina.nn.parameter import Parameter
from lamina.tensor import Tensor

__all__ = ["KerasTensor", "Variable", "standardize_dtype", "is_keras_tensor", "clear_session", "get_uid", "floatx",
           "epsilon", "image_data_format"]


# ---- the fixed configuration (Keras's keras.config / keras.backend getters) ----------------------------------

def floatx():
    """The default float dtype of layers and ``keras.ops`` creation functions: ``"float32"``."""
    return "float32"


def epsilon():
    """The fuzz factor of losses and metrics (probabilities are clipped to ``[epsilon, 1 - epsilon]``): 1e-7."""
    return 1e-7


def image_data_format():
    """The default ``data_format`` of convolution, pooling and reshaping layers: ``"channels_last"``."""
    return "channels_last"


# ---- dtypes -------------------------------------------------------------------------------------------------

def standardize_dtype(dtype):
    """A dtype as Keras's string name ('float32', 'int64', 'bool', ...); None stays None.

    Accepts those names, ``lamina`` dtypes, NumPy dtypes and Python ``float``/``int``/``bool``
    (``float`` means float32 in Keras, not float64 as in torch).
    """
    if dtype is None:
        return None
    if dtype is float:
        return "float32"
    if isinstance(dtype, str) and dtype in ("float", "int"):
        return dtype + "32"
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        raise DTypeError(f"dtype policy {dtype!r} is not supported; Lamina layers compute in one dtype "
                         "(use 'float32' or 'float64')")
    return _dt.as_dtype(dtype).name


def is_float_dtype(dtype):
    return standardize_dtype(dtype).startswith("float")


# ---- names --------------------------------------------------------------------------------------------------

_name_uids = collections.defaultdict(int)


def to_snake_case(name):
    """Keras's object names: ``Conv2D`` -> ``conv2d``, ``InputLayer`` -> ``input_layer``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``... (Keras's automatic names)."""
    count = _name_uids[base]
    _name_uids[base] += 1
    return base if count == 0 else f"{base}_{count}"


def get_uid(prefix=""):
    """A counter per prefix: 1 on the first call, then 2, 3, ... (``keras.backend.get_uid``)."""
    _name_uids[prefix] += 1
    return _name_uids[prefix]


def clear_session():
    """Reset the automatic names, so the next Dense is ``dense`` again (``keras.backend.clear_session``)."""
    _name_uids.clear()


# ---- KerasTensor --------------------------------------------------------------------------------------------

KerasHistory = collections.namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for unknown sizes) and a dtype, without data.

    ``_keras_history`` names the layer and node that produced it. ``+``, ``-``, ``*``, ``/``, ``@`` and unary ``-``
    between KerasTensors (or with Python numbers) record an implicit operation layer (``add``, ``multiply``...).

    Example:
        >>> x = keras.Input((8,))
        >>> x.shape
        (None, 8)
    """

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = standardize_shape(shape)
        self.dtype = standardize_dtype(dtype)
        self.name = name or unique_name("keras_tensor")
        self._keras_history = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise ArgumentError(f"len() of {self!r}: its first dimension is unknown")
        return self.shape[0]

    def __bool__(self):
        raise ArgumentError(f"a KerasTensor has no value, so it cannot be used as a condition: {self!r}")

    # Arithmetic records an implicit layer (lamina/keras/layers/operation.py).
    def _op(self, name, *operands):
        from lamina.keras.layers import operation
        return operation.apply(name, *operands)

    def __add__(self, other):
        return self._op("add", self, other)

    def __radd__(self, other):
        return self._op("add", other, self)

    def __sub__(self, other):
        return self._op("subtract", self, other)

    def __rsub__(self, other):
        return self._op("subtract", other, self)

    def __mul__(self, other):
        return self._op("multiply", self, other)

    def __rmul__(self, other):
        return self._op("multiply", other, self)

    def __truediv__(self, other):
        return self._op("true_divide", self, other)

    def __rtruediv__(self, other):
        return self._op("true_divide", other, self)

    def __matmul__(self, other):
        return self._op("matmul", self, other)

    def __rmatmul__(self, other):
        return self._op("matmul", other, self)

    def __neg__(self):
        return self._op("negative", self)


def is_keras_tensor(x):
    return isinstance(x, KerasTensor)


def standardize_shape(shape):
    """A shape as a tuple of non-negative ints and None; refuses anything else with a clear message."""
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ArgumentError(f"a shape must be a tuple of ints or None, got {shape!r}") from None
    for d in shape:
        if d is None:
            continue
        if isinstance(d, bool) or not hasattr(d, "__index__") or int(d) < 0:
            raise ArgumentError(f"a shape must be a tuple of non-negative ints or None, got {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


# ---- nested structures (lists, tuples, dicts) -----------------------------------------------------------------

def sorted_keys(d):
    """A dict's keys in the order Keras's ``tree`` flattens them: sorted (insertion order if not comparable)."""
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def flatten(structure):
    """The leaves of a nest of lists, tuples and dicts, in order (dicts by sorted key, as Keras's ``tree``)."""
    if isinstance(structure, (list, tuple)):
        out = []
        for s in structure:
            out.extend(flatten(s))
        return out
    if isinstance(structure, dict):
        out = []
        for k in sorted_keys(structure):
            out.extend(flatten(structure[k]))
        return out
    return [structure]


def map_structure(fn, structure):
    """The same nest with ``fn`` applied to each leaf (a namedtuple stays a plain tuple; leaves of a dict are
    visited, and the new dict is made, in ``flatten``'s sorted key order)."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, structure[k]) for k in sorted_keys(structure)}
    return fn(structure)


def pack_as(structure, flat):
    """Put the items of ``flat`` into the shape of ``structure``."""
    it = iter(flat)
    return map_structure(lambda _: next(it), structure)


def contains_keras_tensor(args, kwargs):
    """True if any argument (nested one level in lists, tuples, dicts) is a KerasTensor."""
    for value in args:
        if _has_kt(value):
            return True
    for value in kwargs.values():
        if _has_kt(value):
            return True
    return False


def _has_kt(value):
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_kt(v) for v in value)
    if isinstance(value, dict):
        return any(_has_kt(v) for v in value.values())
    return False


def shape_of(value):
    """The shape structure of a tensor-like nest (Tensor, KerasTensor or array -> tuple); None for others."""
    if isinstance(value, (KerasTensor, Tensor)):
        return tuple(value.shape)
    if isinstance(value, xp.ndarray):
        return tuple(value.shape)
    if isinstance(value, list) and value and all(_is_tensor_like(v) for v in flatten(value)):
        return [shape_of(v) for v in value]
    if isinstance(value, tuple) and value and all(_is_tensor_like(v) for v in flatten(value)):
        return tuple(shape_of(v) for v in value)
    if isinstance(value, dict) and value and all(_is_tensor_like(v) for v in flatten(value)):
        return {k: shape_of(v) for k, v in value.items()}
    return None


def _is_tensor_like(value):
    return isinstance(value, (KerasTensor, Tensor, xp.ndarray))


# ---- Variable -----------------------------------------------------------------------------------------------

class Variable(Parameter):
    """A layer weight made by ``Layer.add_weight``: an ``nn.Parameter`` with Keras's variable conveniences.

    It is registered in its layer's ``_parameters`` like any Parameter, so ``model.parameters()``, ``state_dict``
    and ``lamina.optim`` see it. ``trainable`` is the flag it was created with: a trainable variable has
    ``requires_grad=True`` unless its layer is frozen. ``name`` is its short name (``kernel``), ``path`` its
    Keras path (``dense/kernel``); ``regularizer`` and ``constraint`` are callables or None.

    Example:
        >>> v = layer.add_weight(shape=(), initializer="zeros", trainable=False, name="total")
        >>> v.assign(v + 1.0)
    """

    def __init__(self, data, trainable=True, name=None):
        super().__init__(data, requires_grad=False)
        self.__dict__["_trainable"] = bool(trainable)
        if trainable and self._data.dtype.kind == "f":
            self.requires_grad_(True)
        self.name = name
        self.path = name
        self.regularizer = None
        self.constraint = None

    @property
    def trainable(self):
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        self.__dict__["_trainable"] = bool(value)
        if self._data.dtype.kind == "f":
            self.requires_grad_(bool(value))

    @property
    def value(self):
        return self

    def numpy(self, *, force=False):
        """The values as a NumPy array (shares memory); allowed on a trainable variable, as in Keras."""
        return self._data

    def assign(self, value):
        """Write ``value`` into this variable in place (outside autograd); returns the variable."""
        array = value._data if isinstance(value, Tensor) else xp.asarray(value)
        if tuple(array.shape) != tuple(self._data.shape):
            try:
                array = xp.broadcast_to(array, self._data.shape)
            except ValueError:
                from lamina.errors import ShapeError
                raise ShapeError(f"Variable.assign(): variable {self.path!r} has shape {tuple(self._data.shape)}, "
                                 f"got a value of shape {tuple(array.shape)}") from None
        with no_grad():
            self._data[...] = array
            self._vc[0] += 1
        return self

    def assign_add(self, value):
        return self.assign(self._data + (value._data if isinstance(value, Tensor) else xp.asarray(value)))

    def assign_sub(self, value):
        return self.assign(self._data - (value._data if isinstance(value, Tensor) else xp.asarray(value)))

    def __repr__(self):
        return f"<Variable path={self.path}, shape={tuple(self._data.shape)}, dtype={self._data.dtype}>"

    def __deepcopy__(self, memo):
        new = type(self).__new__(type(self))
        new._init(self._data.copy(), self._requires_grad)
        new.__dict__.update({k: v for k, v in self.__dict__.items()})
        memo[id(self)] = new
        return new


# ---- call context -------------------------------------------------------------------------------------------

class _CallContext:
    """State shared by nested layer calls: the ``training`` flag of the outermost call, the nesting depth, and
    the recorder of an active dry run (None outside shape inference)."""
    training = None
    depth = 0
    dry_run = None
    losses_used = False  # becomes True at the first add_loss; until then calls skip clearing losses


call_context = _CallContext()


class DryRun:
    """Records the output shapes that nested layers produce during one dry run."""

    def __init__(self):
        self.shapes = {}

    def record(self, layer, outputs):
        self.shapes[id(layer)] = (layer, map_structure(_shape_or_none, outputs))


def _shape_or_none(x):
    return tuple(x.shape) if isinstance(x, Tensor) else None


def zeros_for(spec, fill):
    """A zero tensor for a KerasTensor, ``None`` sizes set to ``fill``; other values pass through."""
    if isinstance(spec, KerasTensor):
        shape = tuple(fill if d is None else d for d in spec.shape)
        return Tensor._make(xp.zeros(shape, dtype=_dt.as_dtype(spec.dtype).numpy))
    return spec


def dry_run_spec(fn, args, kwargs):
    """Output KerasTensors of ``fn(*args, **kwargs)`` found by running it on zeros (None -> 1, then 2).

    ``fn`` is called inside the dry-run context, without gradients. Nested layers' output shapes from both runs
    are merged the same way and stored as their ``_output_shape_record``. The random state is not rewound: nested
    layers built during the run draw their initial weights from it like any other build (rewinding would give a
    later layer the same draws), and in inference mode the computation itself draws nothing.
    """
    has_unknown = any(d is None for kt in flatten((args, kwargs)) if isinstance(kt, KerasTensor) for d in kt.shape)
    runs = []
    for fill in ((1, 2) if has_unknown else (1,)):
        real_args = map_structure(lambda a: zeros_for(a, fill), args)
        real_kwargs = map_structure(lambda a: zeros_for(a, fill), kwargs)
        recorder = DryRun()
        outer = call_context.dry_run
        call_context.dry_run = recorder
        try:
            with no_grad():
                out = fn(*real_args, **real_kwargs)
        finally:
            call_context.dry_run = outer
        runs.append((out, recorder))
    (out1, rec1), (out2, rec2) = runs[0], runs[-1]
    for key, (layer, shapes1) in rec1.shapes.items():
        shapes2 = rec2.shapes.get(key, (layer, shapes1))[1]
        layer.__dict__["_output_shape_record"] = _merge_shapes(shapes1, shapes2)
    flat1, flat2 = flatten(out1), flatten(out2)
    specs = []
    for a, b in zip(flat1, flat2):
        if not isinstance(a, Tensor):
            raise ArgumentError(f"shape inference: expected the call to return tensors, got {type(a).__name__}")
        specs.append(KerasTensor(_merge_shape(tuple(a.shape), tuple(b.shape)), dtype=a.dtype.name))
    return pack_as(out1, specs)


def _merge_shape(a, b):
    if a is None or b is None or len(a) != len(b):
        return a
    return tuple(x if x == y else None for x, y in zip(a, b))


def is_shape(value):
    """True for a single shape: a tuple of ints and None (shapes are the leaves of shape structures)."""
    return isinstance(value, tuple) and all(d is None or type(d) is int for d in value)


def map_shapes(fn, structure):
    """Apply ``fn`` to each shape (tuple of ints/None) of a nest of shapes; other leaves pass through."""
    if structure is None or is_shape(structure):
        return fn(structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_shapes(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_shapes(fn, structure[k]) for k in sorted_keys(structure)}
    return fn(structure)


def flatten_shapes(structure):
    out = []
    map_shapes(out.append, structure)
    return out


def _merge_shapes(s1, s2):
    flat1, flat2 = flatten_shapes(s1), flatten_shapes(s2)
    if len(flat1) != len(flat2):
        return s1
    it = iter(flat2)
    return map_shapes(lambda a: _merge_shape(a, next(it)) if a is not None else next(it), s1)

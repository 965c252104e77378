"""InputSpec: what a layer accepts (rank, sizes on given axes, dtype), checked on every call."""
from lamina.errors import ShapeError
from lamina.keras.backend import shape_of, standardize_dtype
from lamina.tensor import Tensor


class InputSpec:
    """Constraints on one input of a layer; a layer sets ``self.input_spec`` (one spec or a list, one per input).

    Args:
        dtype: expected dtype name.
        shape: expected full shape (None entries match anything).
        ndim, max_ndim, min_ndim: constraints on the rank.
        axes: ``{axis: size}``, e.g. ``{-1: 8}`` once Dense is built on 8 input features.
        allow_last_axis_squeeze: accept a rank one lower or higher when the extra last axis has size 1.
        name: the input's name, for messages.
        optional: the input may be None.

    Example:
        >>> self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = standardize_dtype(dtype)
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                           ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                                           ("axes", self.axes or None)) if v is not None]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def assert_input_compatibility(input_spec, inputs, layer):
    """Raise ShapeError naming the layer, the constraint and the received shape if ``inputs`` break the spec."""
    if type(input_spec) is InputSpec and type(inputs) is Tensor:  # the common case, checked cheaply
        _check_one(input_spec, inputs._data.shape, layer, 0)
        return
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    values = inputs if isinstance(inputs, (list, tuple)) and len(specs) > 1 else [inputs]
    if len(values) != len(specs):
        raise ShapeError(f'Layer "{layer.name}" ({type(layer).__name__}) expects {len(specs)} input(s), but it '
                         f"received {len(values)} input tensors")
    for index, (spec, x) in enumerate(zip(specs, values)):
        if spec is None or (x is None and spec.optional):
            continue
        shape = shape_of(x)
        if shape is None or not isinstance(shape, tuple) or any(isinstance(d, tuple) for d in shape):
            continue
        _check_one(spec, shape, layer, index)


def _fail(layer, index, message):
    raise ShapeError(f'Input {index} of layer "{layer.name}" ({type(layer).__name__}) is incompatible with the '
                     f"layer: {message}")


def _check_one(spec, shape, layer, index):
    """Check one input's shape; the message (naming the layer) is only formatted for a failure."""
    rank = len(shape)
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
        _fail(layer, index, f"expected ndim={spec.ndim}, found ndim={rank}. Full shape received: {shape}")
    if spec.max_ndim is not None and rank > spec.max_ndim:
        _fail(layer, index, f"expected max_ndim={spec.max_ndim}, found ndim={rank}. Full shape received: {shape}")
    if spec.min_ndim is not None and rank < spec.min_ndim:
        _fail(layer, index, f"expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape received: {shape}")
    for axis, size in spec.axes.items():
        if not -rank <= axis < rank:
            _fail(layer, index, f"expected an axis {axis} of size {size}, but received input with shape {shape}")
        actual = shape[axis]
        if size is not None and actual is not None and actual != size:
            _fail(layer, index, f"expected axis {axis} of input shape to have value {size}, but received input "
                                f"with shape {shape}")
    if spec.shape is not None and len(spec.shape) == rank:
        for expected, actual in zip(spec.shape, shape):
            if expected is not None and actual is not None and expected != actual:
                _fail(layer, index, f"expected shape={spec.shape}, found shape={shape}")

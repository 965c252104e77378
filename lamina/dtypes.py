"""Data types with torch's names, and torch's type-promotion rules.

A ``lamina.dtype`` wraps a NumPy dtype; ``lamina.float32`` prints as ``lamina.float32``. Promotion follows torch,
not NumPy: ``int64 + float32 -> float32``, a Python float is a "weak" scalar of the default dtype, and 0-d
tensors only win when their category (bool < integer < floating) is higher than that of the dimensioned ones.
"""
import builtins

import numpy

from lamina.errors import DTypeError


class dtype:
    """A tensor element type: ``lamina.float32``, ``lamina.int64``, ``lamina.bool``, ..."""

    __slots__ = ("name", "numpy", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name, numpy_dtype):
        self.name = name
        self.numpy = numpy.dtype(numpy_dtype)
        self.is_floating_point = self.numpy.kind == "f"
        self.is_signed = self.numpy.kind in "fi"
        self.itemsize = self.numpy.itemsize

    def __repr__(self):
        return f"lamina.{self.name}"

    def to_real(self):
        return self


float16 = dtype("float16", "float16")
float32 = dtype("float32", "float32")
float64 = dtype("float64", "float64")
uint8 = dtype("uint8", "uint8")
int8 = dtype("int8", "int8")
int16 = dtype("int16", "int16")
int32 = dtype("int32", "int32")
int64 = dtype("int64", "int64")
bool_ = dtype("bool", "bool")

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)
_BY_NUMPY = {d.numpy: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)
# Python types map as in torch: float -> float64, int -> int64, bool -> bool.
_BY_PYTYPE = {builtins.float: float64, builtins.int: int64, builtins.bool: bool_}

_default_float = float32


def get_default_dtype():
    """The dtype of tensors made from Python floats (``lamina.float32`` unless changed)."""
    return _default_float


def set_default_dtype(d):
    """Set the default floating dtype; only float32 and float64 are allowed, as in torch."""
    global _default_float
    d = as_dtype(d)
    if d not in (float32, float64):
        raise DTypeError(f"set_default_dtype(): expected lamina.float32 or lamina.float64, got {d}")
    _default_float = d


def as_dtype(d):
    """Turn a lamina dtype, NumPy dtype, Python type or name into a ``lamina.dtype``."""
    if isinstance(d, dtype):
        return d
    if d in _BY_PYTYPE:
        return _BY_PYTYPE[d]
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        return _BY_NUMPY[numpy.dtype(d)]
    except (TypeError, KeyError):
        raise DTypeError(f"unsupported dtype {d!r}; expected one of {', '.join(x.name for x in ALL)}") from None


def to_numpy(d):
    """The NumPy dtype for ``d`` (anything ``as_dtype`` accepts); None stays None."""
    if d is None:
        return None
    if isinstance(d, dtype):
        return d.numpy
    return as_dtype(d).numpy


def from_numpy(numpy_dtype):
    """The ``lamina.dtype`` of a NumPy dtype; raises DTypeError for types Lamina does not hold."""
    try:
        return _BY_NUMPY[numpy_dtype]
    except KeyError:
        raise DTypeError(f"unsupported NumPy dtype {numpy_dtype}; expected one of "
                         f"{', '.join(x.name for x in ALL)}") from None


def is_floating(numpy_dtype):
    return numpy_dtype.kind == "f"


# ---- promotion -------------------------------------------------------------------------------------------

_BOOL, _INT, _FLOAT = 0, 1, 2


def _category(numpy_dtype):
    kind = numpy_dtype.kind
    return _FLOAT if kind == "f" else (_BOOL if kind == "b" else _INT)


def promote_types(a, b):
    """torch.promote_types on NumPy dtypes: the higher category wins; within one, the wider type."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return numpy.promote_types(a, b)


def _combine(higher, lower):
    # torch's combine_categories: a lower-priority group only matters if its category is higher.
    if higher is None:
        return lower
    if lower is None or _category(higher) == _FLOAT:
        return higher
    if _category(higher) == _BOOL or _category(lower) == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """The NumPy dtype torch gives to an elementwise op over ``operands``.

    Operands are tensors (anything with ``.data``), arrays or Python scalars. Dimensioned tensors take
    precedence over 0-d tensors, which take precedence over Python scalars, unless a lower group has a
    higher category (bool < int < float).
    """
    dim = zero = wrapped = None
    for x in operands:
        data = getattr(x, "_data", x)
        if isinstance(data, numpy.ndarray):
            if data.ndim:
                dim = data.dtype if dim is None else promote_types(dim, data.dtype)
            else:
                zero = data.dtype if zero is None else promote_types(zero, data.dtype)
        else:
            if isinstance(x, builtins.bool):
                d = numpy.dtype(numpy.bool_)
            elif isinstance(x, builtins.int):
                d = numpy.dtype(numpy.int64)
            elif isinstance(x, builtins.float):
                d = _default_float.numpy
            elif isinstance(x, numpy.generic):
                d = x.dtype
            else:
                raise DTypeError(f"unsupported operand of type {type(x).__name__}: {x!r}")
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))

"""Tensor creation: ``tensor``, ``zeros``, ``arange``, ``eye``, ... with torch's names, arguments and dtypes."""
import math

from lamina import dtypes as _dt
from lamina.backend import xp, ndarray
from lamina.errors import ArgumentError, DTypeError, ShapeError

_MAX_ELEMENTS = 2 ** 48  # far above any real tensor; guards against sizes whose product overflows


def parse_size(size, op):
    """``(2, 3)``, ``((2, 3),)`` or ``([2, 3],)`` -> ``(2, 3)``, checked: ints, non-negative, no overflow."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = []
    for s in size:
        if hasattr(s, "__index__") and not isinstance(s, bool):
            s = s.__index__()
        if not isinstance(s, int):
            raise ArgumentError(f"{op}(): size must be a sequence of ints, got {type(s).__name__} in {tuple(size)}")
        if s < 0:
            raise ArgumentError(f"{op}(): negative dimension {s} in size {tuple(size)}")
        shape.append(s)
    if math.prod(shape) > _MAX_ELEMENTS:
        raise ArgumentError(f"{op}(): size {tuple(shape)} has {math.prod(shape)} elements, which overflows")
    return tuple(shape)


def as_array(data, dtype=None):
    """A backend array for ``data``; Python floats become the default dtype, Python ints int64, as in torch."""
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, ndarray):
        array = data
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _leaves(data)):
            data = _unwrap_nested(data)
        try:
            array = xp.asarray(data)
        except ValueError:
            raise ShapeError(f"tensor(): {_ragged(data)}") from None
        if array.dtype == xp.float64 and not isinstance(data, xp.generic):
            array = array.astype(_dt.get_default_dtype().numpy)
        elif array.dtype.kind in "iu" and array.dtype != xp.uint8 and not isinstance(data, xp.generic):
            array = array.astype(xp.int64)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"tensor(): can't convert data of NumPy dtype {array.dtype} to a tensor; "
                         "expected numbers or booleans")
    if dtype is not None:
        array = array.astype(_dt.to_numpy(dtype), copy=False)
    _dt.from_numpy(array.dtype)  # raises for unsupported dtypes (uint16, complex, ...)
    return array


def _ragged(data):
    """Where nested lists stop being rectangular, worded as torch does."""
    shape, probe = [], data
    while isinstance(probe, (list, tuple)):
        shape.append(len(probe))
        probe = probe[0] if probe else None

    def first_mismatch(x, dim):
        if dim == len(shape):
            return None if not isinstance(x, (list, tuple)) else f"expected a number at dim {dim} (got a sequence)"
        if not isinstance(x, (list, tuple)):
            return f"expected sequence of length {shape[dim]} at dim {dim} (got {type(x).__name__})"
        if len(x) != shape[dim]:
            return f"expected sequence of length {shape[dim]} at dim {dim} (got {len(x)})"
        for item in x:
            found = first_mismatch(item, dim + 1)
            if found:
                return found
        return None

    return first_mismatch(data, 0) or "nested sequences must be rectangular"


def _leaves(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _leaves(x)
        else:
            yield x


def _unwrap_nested(data):
    return [(_unwrap_nested(x) if isinstance(x, (list, tuple)) else (x._data if isinstance(x, Tensor) else x))
            for x in data]


def _finish(array, requires_grad):
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays or tensors).

    Example:
        >>> lamina.tensor([[1, 2], [3, 4]])
        tensor([[1, 2],
                [3, 4]])
    """
    array = as_array(data, dtype)
    return _finish(array.copy(), requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array or tensor when the dtype already matches."""
    if isinstance(data, Tensor) and (dtype is None or _dt.to_numpy(dtype) == data._data.dtype):
        return data
    return Tensor._make(as_array(data, dtype))


def from_numpy(ndarray_):
    """A tensor sharing memory with a NumPy array (its dtype kept)."""
    if not isinstance(ndarray_, ndarray):
        raise ArgumentError(f"from_numpy(): expected a NumPy ndarray, got {type(ndarray_).__name__}")
    _dt.from_numpy(ndarray_.dtype)
    return Tensor._make(ndarray_)


def _dtype_or_default(dtype):
    return (_dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)).numpy


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(xp.zeros(parse_size(size, "zeros"), dtype=_dtype_or_default(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(xp.ones(parse_size(size, "ones"), dtype=_dtype_or_default(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(xp.empty(parse_size(size, "empty"), dtype=_dtype_or_default(dtype)), requires_grad)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return _dt.to_numpy(dtype)
    if isinstance(fill_value, bool):
        return xp.dtype(xp.bool_)
    if isinstance(fill_value, int):
        return xp.dtype(xp.int64)
    return _dt.get_default_dtype().numpy


def _fill(value, op):
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, (bool, int, float, xp.bool_, xp.number)):
        raise DTypeError(f"{op}(): argument 'fill_value' must be a number or a bool, got {type(value).__name__}")
    return value


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    fill_value = _fill(fill_value, "full")
    shape = parse_size((size,) if not isinstance(size, int) else (size,), "full")
    return _finish(xp.full(shape, fill_value, dtype=_fill_dtype(fill_value, dtype)), requires_grad)


def _like_dtype(input, dtype):
    return input._data.dtype if dtype is None else _dt.to_numpy(dtype)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(xp.zeros(input._data.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(xp.ones(input._data.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(xp.empty(input._data.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    fill_value = _fill(fill_value, "full_like")
    return _finish(xp.full(input._data.shape, fill_value, dtype=_like_dtype(input, dtype)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless an argument is a float."""
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    for name, value in (("start", start), ("end", end), ("step", step)):
        if not isinstance(value, (int, float, xp.number)) or not math.isfinite(value):
            raise ArgumentError(f"arange(): argument '{name}' must be a finite number, got {value!r}")
    if step == 0:
        raise ArgumentError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise ArgumentError(f"arange(): upper bound and step sign are inconsistent: start={start}, end={end}, "
                            f"step={step}")
    if dtype is None:
        floating = any(isinstance(x, float) for x in (start, end, step))
        d = _dt.get_default_dtype().numpy if floating else xp.dtype(xp.int64)
    else:
        d = _dt.to_numpy(dtype)
    n = max(0, math.ceil((end - start) / step))
    parse_size((n,), "arange")
    values = start + step * xp.arange(n, dtype=xp.float64 if d.kind == "f" or isinstance(step, float) else xp.int64)
    return _finish(values.astype(d), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ArgumentError(f"linspace(): number of steps must be non-negative, got {steps}")
    return _finish(xp.linspace(start, end, int(steps)).astype(_dtype_or_default(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise ArgumentError(f"logspace(): number of steps must be non-negative, got {steps}")
    return _finish(xp.logspace(start, end, int(steps), base=base).astype(_dtype_or_default(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """An identity matrix of n rows and m (default n) columns."""
    parse_size((n, n if m is None else m), "eye")
    return _finish(xp.eye(n, m, dtype=_dtype_or_default(dtype)), requires_grad)


from lamina.tensor import Tensor  # noqa: E402

"""Small helpers the layer files share: argument tuples, parameter creation, hyper-parameter checks."""
from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.nn.parameter import Parameter
from lamina.tensor import Tensor, device as _device


def check_device(device, cls):
    """Accept torch's ``device=`` argument; only the CPU exists."""
    if device is not None:
        try:
            _device(str(device).split(":")[0])
        except ArgumentError:
            raise ArgumentError(f"{cls}: argument 'device' must be 'cpu' (Lamina runs on NumPy), got "
                                f"{device!r}") from None


def float_dtype(dtype, cls):
    """The NumPy dtype of a layer's parameters: ``dtype`` (floating) or lamina's default dtype."""
    d = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)
    if not d.is_floating_point:
        raise ArgumentError(f"{cls}: argument 'dtype' must be a floating point dtype, got {d}")
    return d.numpy


def new_parameter(shape, dtype, requires_grad=True):
    """A Parameter of ``shape`` holding zeros; the layer's reset_parameters fills it."""
    return Parameter(Tensor._make(xp.zeros(tuple(shape), dtype=dtype)), requires_grad=requires_grad)


def new_buffer(shape, dtype, fill=0.0):
    return Tensor._make(xp.full(tuple(shape), fill, dtype=dtype))


def ntuple(value, n, cls, name):
    """torch's _single/_pair: an int or a sequence of ``n`` ints, as an ``n``-tuple."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n or not all(hasattr(v, "__index__") and not isinstance(v, bool) for v in vals):
        raise ArgumentError(f"{cls}: argument '{name}' must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(v.__index__() for v in vals)


def check_int(value, cls, name, minimum=0):
    """``value`` is an int >= ``minimum`` (bools refused)."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or value.__index__() < minimum:
        which = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
        raise ArgumentError(f"{cls}: argument '{name}' must be {which}, got {value!r}")
    return value.__index__()


def check_probability(p, cls):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{cls}: dropout probability has to be between 0 and 1, but got {p!r}")
    return p

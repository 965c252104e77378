"""Parameter: a Tensor that a Module registers as a learnable weight; and the placeholder lazy layers use."""
from lamina.backend import xp
from lamina.creation import as_array
from lamina.errors import ArgumentError
from lamina.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.

    Example:
        >>> self.scale = nn.Parameter(lamina.ones(10))
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            array = xp.zeros((0,), dtype=xp.float32)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = as_array(data)
        self._init(array, False)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        p = type(self).__new__(type(self))
        p._init(self._data.copy(), self._requires_grad)
        memo[id(self)] = p
        return p


class UninitializedParameter(Parameter):
    """The parameter of a lazy layer before its first call: listed by ``parameters()``, shaped on first use.

    ``materialize(shape)`` fills this same object, so an optimizer built before the first call trains it.
    """

    def __init__(self, requires_grad=True, dtype=None):
        super().__init__(None, requires_grad)
        if dtype is not None:  # the empty placeholder carries the dtype the parameter will have
            self._data = xp.zeros((0,), dtype=dtype)

    def is_materialized(self):
        return type(self) is not UninitializedParameter

    def materialize(self, shape):
        self._data = xp.zeros(tuple(shape), dtype=self._data.dtype)
        self._vc[0] += 1
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"

    def _refuse(self, *args, **kwargs):
        raise ArgumentError("this parameter belongs to a lazy layer that has not run yet; call the module on "
                            "an input first so it can infer the parameter's shape")

    numel = _refuse


class UninitializedBuffer(Tensor):
    """The buffer of a lazy layer before its first call."""

    def __init__(self, dtype=None):
        self._init(xp.zeros((0,), dtype=xp.float32 if dtype is None else dtype), False)

    def materialize(self, shape, fill=0.0):
        self._data = xp.full(tuple(shape), fill, dtype=self._data.dtype)
        self.__class__ = Tensor

    def __repr__(self):
        return "<UninitializedBuffer>"


def is_lazy(t):
    return isinstance(t, (UninitializedParameter, UninitializedBuffer))

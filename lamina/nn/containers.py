"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, with torch's semantics."""
import operator
from collections import OrderedDict

from lamina.errors import ArgumentError
from lamina.nn.module import Module
from lamina.nn.parameter import Parameter
from lamina.tensor import Tensor


def _renumber(container, modules):
    """Register ``modules`` under '0', '1', ... in order, replacing the container's children (list semantics)."""
    container._modules.clear()
    for i, m in enumerate(modules):
        container.add_module(str(i), m)


def _digit_free_dir(module):
    """``dir()`` without the '0', '1', ... child names, as torch's list-like containers do."""
    return [key for key in Module.__dir__(module) if not key.isdigit()]


def _index(idx, n, cls):
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{cls}: index {idx} is out of range for {n} modules")
    return idx % n


class Sequential(Module):
    """Modules applied one after another; index, slice, append, insert, extend and del like a list.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> net = nn.Sequential(OrderedDict(fc=nn.Linear(4, 2)))
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module):
        key = list(self._modules.keys())[_index(idx, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx):
        values = list(self._modules.values())
        del values[idx if isinstance(idx, slice) else _index(idx, len(values), "Sequential")]
        _renumber(self, values)  # indices stay 0..n-1, as in torch

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __dir__(self):
        return _digit_free_dir(self)

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ArgumentError(f"Sequential: add operator supports only objects of Sequential class, got "
                                f"{type(other).__name__}")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ArgumentError(f"Sequential: add operator supports only objects of Sequential class, got "
                                f"{type(other).__name__}")
        return self.extend(other)

    def __mul__(self, other):
        """``seq * n``: a new Sequential holding the same modules ``n`` times in a row (shared, not copied)."""
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: 'Sequential' and '{type(other).__name__}'")
        if other <= 0:
            raise ArgumentError(f"Sequential: non-positive multiplication factor {other}")
        return Sequential(*(list(self) * other))

    __rmul__ = __mul__

    def __imul__(self, other):
        repeated = self * other
        _renumber(self, list(repeated))
        return self

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"module should be of type Module, got {type(module).__name__}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        values = list(self._modules.values())  # list.insert semantics: -1 goes before the last module
        values.insert(index, module)
        _renumber(self, values)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def pop(self, index=-1):
        module = self[index]
        del self[index]
        return module


class ModuleList(Module):
    """A list of sub-modules, registered so their parameters are found; no forward of its own."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        values = list(self._modules.values())
        del values[idx if isinstance(idx, slice) else _index(idx, len(values), "ModuleList")]
        _renumber(self, values)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __dir__(self):
        return _digit_free_dir(self)

    def __repr__(self):
        # torch's compressed form: a run of children with the same repr prints once, as "(2-5): 4 x Linear(...)".
        reprs = [repr(m) for m in self]
        if not reprs:
            return f"{self._get_name()}()"
        runs = []  # [first index, last index, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = []
        for first, last, r in runs:
            head = f"({first}): " if first == last else f"({first}-{last}): {last - first + 1} x "
            lines.append((head + r).replace("\n", "\n  "))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)) or \
                not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        values = list(self._modules.values())
        values.insert(index, module)
        _renumber(self, values)

    def pop(self, index=-1):
        module = self[index]
        del self[index]
        return module


class ModuleDict(Module):
    """An ordered dict of sub-modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def update(self, modules):
        if not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleDict.update should be called with an iterable of key/value pairs, but got "
                            f"{type(modules).__name__}")
        items = modules.items() if hasattr(modules, "items") else modules
        for i, entry in enumerate(items):
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise ArgumentError(f"ModuleDict.update: element #{i} should be a (name, module) pair, got "
                                    f"{entry!r}")
            self[entry[0]] = entry[1]


def _parameters_repr(items, type_name):
    """torch's ParameterList/ParameterDict lines: ``  (0): Parameter containing: [lamina.float32 of size 3x4]``
    (the two leading spaces are torch's, on top of the repr's own indent)."""
    lines = []
    for key, p in items:
        if isinstance(p, Tensor):
            kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
            size = "x".join(str(d) for d in p.shape)
            lines.append(f"  ({key}): {kind} containing: [{type_name(p)} of size {size}]")
        else:
            lines.append(f"  ({key}): Object of type: {type(p).__name__}")
    return "\n".join(lines)


def _as_parameter(value):
    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, Tensor):
        return Parameter(value, requires_grad=value.requires_grad or value.is_floating_point())
    return value


class ParameterList(Module):
    """A list of parameters, registered under '0', '1', ... (tensors are wrapped as Parameters)."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_index(idx, len(self), "ParameterList")))

    def __setitem__(self, idx, param):
        setattr(self, str(_index(idx, len(self), "ParameterList")), _as_parameter(param))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        i = self._size
        self._size += 1
        setattr(self, str(i), _as_parameter(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return _parameters_repr(enumerate(self), lambda p: p.dtype)


class ParameterDict(Module):
    """An ordered dict of parameters (tensors are wrapped as Parameters)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return getattr(self, key)

    def __setitem__(self, key, value):
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def values(self):
        return (self[k] for k in self._keys)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def update(self, parameters):
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v

    def extra_repr(self):
        return _parameters_repr(self.items(), lambda p: p.type())

"""Module: the one base class of every layer and block, in both idioms.

A Module owns its state in three explicit registries: ``_parameters``, ``_buffers`` and ``_modules``.
``__setattr__`` routes a Parameter, a buffer or a sub-module into the right one; everything else is a plain
attribute (a fixed random tensor assigned as ``self.w = lamina.randn(3)`` is *not* a parameter, as in torch).
``state_dict`` writes each module's own state and the recursion adds dotted prefixes, so keys are torch's.
"""
import itertools
from collections import OrderedDict, namedtuple

from lamina import dtypes as _dt
from lamina.autograd import no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, LaminaError
from lamina.nn.parameter import Parameter, is_lazy
from lamina.tensor import Tensor

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns: (missing_keys, unexpected_keys), printed as torch prints it."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateDictError(LaminaError, RuntimeError):
    """A state_dict that does not fit the module: missing or unexpected keys, shape mismatches."""


class Module:
    """Base class for all layers and blocks.

    Subclass it, create parameters and sub-modules in ``__init__`` and compute in ``forward``.

    Example:
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
    """

    training = True
    _version = 1

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__ takes none")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ---- calling --------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        try:
            if not (self._forward_hooks or self._forward_pre_hooks):
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        except LaminaError as e:
            _name_layer_in_error(e, self)
            raise

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before forward; a returned value replaces the args."""
        return _add_hook(self._forward_pre_hooks, hook, with_kwargs, prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args, output)`` after forward; a returned value replaces the output."""
        return _add_hook(self._forward_hooks, hook, with_kwargs, prepend)

    # ---- registration ---------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(lamina.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            _remove_from(name, d, params, self._buffers, self._non_persistent_buffers_set)
            modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(lamina.nn.Module or None expected)")
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(lamina.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Runs for every parameter read in forward (self.weight): the registries are looked up inline rather than
        # in a loop over their names (about 7% less per read).
        d = self.__dict__
        params = d.get("_parameters")
        if params is not None and name in params:
            return params[name]
        buffers = d.get("_buffers")
        if buffers is not None and name in buffers:
            return buffers[name]
        modules = d.get("_modules")
        if modules is not None and name in modules:
            return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name, param):
        """Add a parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(name, self, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(lamina.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ArgumentError(f"cannot assign non-leaf tensor to parameter '{name}'; compute it in forward() "
                                "or use .detach()")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state that is not trained (running statistics), saved unless ``persistent=False``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(name, self, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(lamina.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, self, "module")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at dotted path ``target`` ('' is this module)."""
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}` (looking for {target!r})")
            module = module._modules[part]
        return module

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}`")
        return module._buffers[name]

    # ---- iteration ------------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, each shared module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) pairs; a parameter shared by two layers is listed once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and bulk changes -----------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode on this module and all descendants (dropout active, batch statistics)."""
        if not isinstance(mode, bool):
            raise ArgumentError(f"train(): mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset parameter gradients (to None by default, as torch 2 does)."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def apply(self, fn):
        """Call ``fn`` on every descendant and then on this module (for custom initialisation)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, fn):
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is not None:  # lazy placeholders too: their empty array carries the future dtype
                        t._data = fn(t)
                        if t.grad is not None:
                            t.grad._data = fn(t.grad)
        return self

    def to(self, *args, **kwargs):
        """Convert floating parameters and buffers to a dtype (devices other than 'cpu' are refused)."""
        from lamina.tensor import device
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, (str, device)):
                device(str(a).split(":")[0])
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                dtype = a
        if kwargs.get("device") is not None:
            device(str(kwargs["device"]).split(":")[0])
        if dtype is None:
            return self
        target = _dt.to_numpy(dtype)
        if target.kind != "f":
            raise DTypeError(f"Module.to() only accepts floating point dtypes, got {dtype}")
        return self._apply_to_tensors(lambda t: t._data.astype(target) if t._data.dtype.kind == "f" else t._data)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        raise ArgumentError("cuda(): Lamina runs on the CPU (NumPy); no CUDA backend is available yet")

    def type(self, dst_type):
        return self.to(dst_type)

    # ---- state_dict -----------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An ordered dict from torch-style dotted names to parameters and persistent buffers."""
        if args:
            destination = args[0] if len(args) > 0 else destination
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, strict, missing, unexpected, errors, assign=False):
        own = {**{k: v for k, v in self._parameters.items() if v is not None},
               **{k: v for k, v in self._buffers.items()
                  if v is not None and k not in self._non_persistent_buffers_set}}
        for name, target in own.items():
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            value = state_dict[key]
            if isinstance(value, xp.ndarray):
                value = Tensor._make(value)
            elif not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected lamina.Tensor or a NumPy array '
                              f"from checkpoint but received {type(value)}")
                continue
            if is_lazy(target):
                target.materialize(value.shape)
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                              f"checkpoint, the shape in current model is {target.shape}.")
                continue
            with no_grad():
                if assign:  # the checkpoint's tensor properties (dtype) are kept, as in torch
                    target._data = xp.array(value._data, copy=True)
                else:
                    target._data[...] = value._data
                target._vc[0] += 1

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict``.

        With ``strict`` (the default) every key must match; all missing and unexpected keys and every shape
        mismatch are reported together in one StateDictError. Returns (missing_keys, unexpected_keys).
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}")
        missing, errors, expected = [], [], set()
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            prefix = module_prefix + "." if module_prefix else ""
            module._load_from_state_dict(state_dict, prefix, strict, missing, [], errors, assign)
            for name in itertools.chain(module._parameters, module._buffers):
                if name not in module._non_persistent_buffers_set:
                    expected.add(prefix + name)
        unexpected = [k for k in state_dict.keys() if k not in expected]
        messages = list(errors)
        if strict:
            if unexpected:
                messages.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
                                + ". ")
            if missing:
                messages.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if messages:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                                 + "\n\t".join(messages))
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (layer hyper-parameters)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return f"{self._get_name()}()"
        if len(lines) == 1 and not self._modules:
            return f"{self._get_name()}({lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def __getstate__(self):
        raise TypeError("Lamina modules cannot be pickled; save model.state_dict() with lamina.save instead")

    def __reduce_ex__(self, protocol):
        raise TypeError("Lamina modules cannot be pickled; save model.state_dict() with lamina.save instead")

    def __deepcopy__(self, memo):
        import copy
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new


def _check_name(name, module, what):
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f"{what} name can't contain '.', got {name!r}")
    if name == "":
        raise KeyError(f"{what} name can't be empty string \"\"")
    registry = {"parameter": "_parameters", "buffer": "_buffers", "module": "_modules"}[what]
    if hasattr(module, name) and name not in getattr(module, registry):
        raise KeyError(f"attribute '{name}' already exists")


def _remove_from(name, *containers):
    for c in containers:
        if c is None:
            continue
        if isinstance(c, set):
            c.discard(name)
        elif name in c:
            del c[name]


class RemovableHandle:
    """Returned by the hook registrations; ``remove()`` takes the hook out."""
    _ids = itertools.count()

    def __init__(self, registry):
        self._registry = registry
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._registry.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(registry, hook, with_kwargs, prepend):
    handle = RemovableHandle(registry)
    registry[handle.id] = (hook, with_kwargs)
    if prepend:
        registry.move_to_end(handle.id, last=False)
    return handle


def _name_layer_in_error(error, module):
    """Put the failing layer's path and description in front of an error's message, once per level.

    The innermost module that sees the error names itself; each enclosing module prepends the name under
    which it holds the previous one, so the top-level message reads ``net.2 (Linear(...)): ...``.
    """
    state = getattr(error, "_lamina_layer", None)
    if state is None:
        original = str(error.args[0]) if error.args else ""
        state = {"path": [], "layer": f"{module._get_name()}({module.extra_repr()})", "message": original,
                 "top": module}
        error._lamina_layer = state
    elif state["top"] is not module:
        # the previous one may sit deeper than a direct child (reached through a ModuleList or ModuleDict that
        # forward loops over without calling it)
        for name, sub in module.named_modules():
            if sub is state["top"] and name:
                state["path"][:0] = name.split(".")
                break
        else:
            return
        state["top"] = module
    path = ".".join(state["path"])
    where = f"{path} ({state['layer']})" if path else state["layer"]
    error.args = (f"{where}: {state['message']}",) + tuple(error.args[1:])

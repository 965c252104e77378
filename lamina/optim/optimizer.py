"""Optimizer: the base of every optimizer, with torch's param groups, per-parameter state and state_dict layout.

An optimizer holds ``param_groups`` (a list of dicts: ``"params"`` plus the hyperparameters of that group) and
``state`` (a dict keyed by the parameter object). Subclasses implement ``step``; they update each parameter in
place on its raw array (``p._data``) with backend ufuncs writing through ``out=``, into work arrays the optimizer
keeps between steps, so that a step allocates no array data once the state exists. Parameters whose ``.grad``
is None are skipped.
"""
import copy
import functools
import itertools
import warnings
from collections import defaultdict

from lamina.autograd import enable_grad, no_grad
from lamina.backend import xp, is_array
from lamina.errors import ArgumentError, ShapeError
from lamina.nn.module import RemovableHandle
from lamina.tensor import Tensor


class _RequiredParameter:
    """Marks a hyperparameter without a default: every param group must then set it."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _hooked_step(step):
    """Wrap a subclass's ``step``: run the step hooks around it and the update itself under ``no_grad``."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self._in_step:  # a subclass's step calling super().step(): the hooks already ran
            return step(self, *args, **kwargs)
        for hook in list(self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise ArgumentError(f"{type(self).__name__}.step(): a step pre-hook must return None or "
                                        f"a tuple (new_args, new_kwargs), got {result!r}")
                args, kwargs = result
        self._opt_called = True  # lets an lr scheduler warn when it is stepped before the optimizer
        self._in_step = True
        try:
            with no_grad():
                out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._lamina_hooked = True
    return wrapper


class Optimizer:
    """Base class of all optimizers (torch.optim.Optimizer semantics).

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts, each a parameter group with a
            ``"params"`` entry and hyperparameters that override ``defaults`` for that group.
        defaults: the default value of every hyperparameter.

    Example:
        >>> opt = lamina.optim.SGD([{"params": model.body.parameters()},
        ...                         {"params": model.head.parameters(), "lr": 1e-2}], lr=1e-3, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _in_step = False
    _state_like_param = ()  # state keys whose tensors have the parameter's shape (load_state_dict checks them)

    def __init_subclass__(cls, **kwargs):
        # every subclass's own step() runs the step hooks and no_grad, also a user's optimizer written torch-style
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_lamina_hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = {}
        self._optimizer_step_post_hooks = {}
        self._work = {}
        name = type(self).__name__
        if isinstance(params, Tensor) or not _iterable(params):
            raise ArgumentError(f"{name}: params should be an iterable of Tensors or dicts, "
                                f"got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise ArgumentError(f"{name}: optimizer parameters need to be organized in ordered collections, but "
                                "the ordering of tensors in sets will change between runs; use a list")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ArgumentError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"

    # ---- param groups ----------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters, with hyperparameters that override ``defaults`` (fine-tuning, unfreezing).

        Example:
            >>> opt.add_param_group({"params": model.head.parameters(), "lr": 1e-4})
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise ArgumentError(f"{name}.add_param_group(): param_group must be a dict, "
                                f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ArgumentError(f"{name}.add_param_group(): param_group must have a 'params' entry, "
                                f"got keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise ArgumentError(f"{name}: optimizer parameters need to be organized in ordered collections, "
                                "but the ordering of tensors in sets will change between runs; use a list")
        else:
            params = list(params)

        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2:
                names.append(p[0])
                p = p[1]
            tensors.append(p)
        if names and len(names) != len(tensors):
            raise ArgumentError(f"{name}: all optimizer params should be with/without names; "
                                f"{len(tensors) - len(names)} of {len(tensors)} have no name")
        param_group["params"] = tensors
        if names:
            param_group["param_names"] = names

        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise ArgumentError(f"{name}: optimizer can only optimize Tensors, but param {i} of the group is "
                                    f"a {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ArgumentError(f"{name}: can't optimize a non-leaf Tensor (param {i} of the group was made "
                                    "by an operation); pass the leaf tensor or a detached copy")

        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ArgumentError(f"{name}: parameter group didn't specify a value of required optimization "
                                    f"parameter {key}")
            param_group.setdefault(key, default)

        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn(f"{name}: optimizer contains a parameter group with duplicate parameters; "
                          "each will be updated more than once per step", stacklevel=3)

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ArgumentError(f"{name}: all optimizer param groups should be with/without names; cannot "
                                    f"add param group {kind} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ArgumentError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients and steps ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (the default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g._ctx is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                if g._data.flags.writeable:
                    g._data.fill(0)
                else:  # a read-only (broadcast) gradient array cannot be zeroed where it is
                    g._data = xp.zeros(g._data.shape, dtype=g._data.dtype)
                g._vc[0] += 1

    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None without a closure.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def register_step_pre_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` before each step; it may return ``(new_args, new_kwargs)``."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # ---- state_dict ------------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state in torch's layout: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their index in the order of the groups; the state tensors are the
        optimizer's own (not copies), as in torch.

        Example:
            >>> sd = opt.state_dict()
            >>> sd["param_groups"][0]["params"]
            [0, 1]
        """
        index = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state saved by ``state_dict``: hyperparameters of every group and the per-parameter state.

        The state tensors are copied (cast to each parameter's dtype, except ``step``), so the optimizer that
        saved them and this one can go on independently. Load it after creating any lr scheduler, which
        would otherwise overwrite the loaded learning rates.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ArgumentError(f"{name}.load_state_dict(): expected a dict with 'state' and 'param_groups', "
                                f"got {got}")
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ArgumentError(f"{name}.load_state_dict(): loaded state dict has a different number of parameter "
                                f"groups: the optimizer has {len(groups)}, the state dict {len(saved_groups)}")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ArgumentError(f"{name}.load_state_dict(): loaded state dict contains a parameter group that "
                                    f"doesn't match the size of optimizer's group: group {i} has "
                                    f"{len(g['params'])} parameters, the loaded one {len(s['params'])}")
        id_map = dict(zip(itertools.chain.from_iterable(s["params"] for s in saved_groups),
                          itertools.chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = self._copy_state(param, key, value)
            else:
                state[key] = copy.deepcopy(value)
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            for key, default in self.defaults.items():  # groups saved by older versions lack newer keys
                s.setdefault(key, default)
        self.state = state
        self.param_groups = saved_groups

    def _copy_state(self, param, index, value):
        name = type(self).__name__
        if not isinstance(value, dict):
            raise ArgumentError(f"{name}.load_state_dict(): the state of parameter {index} must be a dict, "
                                f"got {type(value).__name__}")
        out = {}
        for key, v in value.items():
            array = v._data if isinstance(v, Tensor) else v if is_array(v) else None
            if array is None:
                out[key] = Tensor._make(xp.asarray(float(v), dtype=xp.float32)) if key == "step" \
                    else copy.deepcopy(v)
                continue
            if key == "step":
                out[key] = Tensor._make(xp.array(array, dtype=xp.float32))
                continue
            if key in self._state_like_param and array.shape != param._data.shape:
                raise ShapeError(f"{name}.load_state_dict(): state '{key}' of parameter {index} has shape "
                                 f"{tuple(array.shape)}, expected the parameter's shape {tuple(param.shape)}")
            dtype = param._data.dtype if array.dtype.kind == "f" and param._data.dtype.kind == "f" else array.dtype
            out[key] = Tensor._make(xp.array(array, dtype=dtype))
        return out

    # ---- helpers for subclasses --------------------------------------------------------------------------
    def _work_arrays(self, like, count=2):
        """``count`` scratch arrays shaped like ``like``: views of flat buffers kept between steps.

        Updates are sequential, so one set of buffers (as large as the largest parameter of each dtype) serves
        every parameter; a step then allocates no array data.
        """
        buffers = self._work.setdefault(like.dtype, [])
        n = like.size
        out = []
        for i in range(count):
            if i == len(buffers):
                buffers.append(xp.empty(n, dtype=like.dtype))
            elif buffers[i].size < n:
                buffers[i] = xp.empty(n, dtype=like.dtype)
            out.append(buffers[i][:n].reshape(like.shape))
        return out


def _iterable(obj):
    try:
        iter(obj)
    except TypeError:
        return False
    return True


def _evaluate_closure(closure):
    """The loss from ``closure()``, computed with graph recording on (``step`` itself runs under no_grad)."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


def _new_step():
    """A fresh step counter: a 0-d float32 tensor, as torch stores it."""
    return Tensor._make(xp.zeros((), dtype=xp.float32))


def _increment(step_t):
    """Add one to a step counter in place and return the new count as a Python float."""
    array = step_t._data
    array += 1
    return float(array)


def _effective_grad(grad, param, maximize, weight_decay, out):
    """``±grad + weight_decay * param`` (minus for maximize), written into ``out`` only if it differs from grad."""
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=out)
        if maximize:
            xp.subtract(out, grad, out=out)
        else:
            xp.add(out, grad, out=out)
        return out
    if maximize:
        return xp.negative(grad, out=out)
    return grad


def _lerp_(start, end, weight, work):
    """``start += weight * (end - start)`` in place, in torch's two forms (the one for weight >= 0.5 is exact
    at weight 1)."""
    xp.subtract(end, start, out=work)
    if weight < 0.5:
        work *= weight
        start += work
    else:
        work *= 1 - work.dtype.type(weight)  # (1 - w) rounded in the array's precision, as torch's kernel does
        xp.subtract(end, work, out=start)


def _check(cls_name, ok, message, expected):
    """Raise ArgumentError ``"<cls>: <message>; expected <expected>"`` unless ``ok``."""
    if not ok:
        raise ArgumentError(f"{cls_name}: {message}; expected {expected}")


def _as_float(cls_name, name, value):
    """``value`` as a float, or an ArgumentError naming the hyperparameter."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{cls_name}: {name} must be a number, got {value!r}") from None


def _check_flags(cls_name, foreach, fused, differentiable):
    """The implementation switches torch accepts: all give the same values here, except differentiable."""
    if differentiable:
        raise ArgumentError(f"{cls_name}: differentiable=True (autograd through the update) is not supported; "
                            "expected differentiable=False")
    if fused and foreach:
        raise ArgumentError(f"{cls_name}: `fused` and `foreach` cannot be `True` together")

"""Reverse-mode automatic differentiation.

An operator run on tensors that require grad leaves a node behind: the ``Op`` instance that computed it, which
saved what its backward needs and points at the nodes (or leaf tensors) that produced its inputs. ``backward``
sorts the nodes reachable from the outputs topologically, walks them in reverse, and accumulates into the ``.grad``
of leaf tensors. Two ways to define an operator:

- ``Op``: Lamina's own operators. ``forward(ctx, *arrays, **attrs)`` and ``backward(ctx, grad)`` work on raw
  backend arrays, which keeps the per-operator cost low.
- ``Function``: the public custom-op API, shaped like ``torch.autograd.Function``: ``forward``/``backward``
  staticmethods on Tensors, ``apply``, ``ctx.save_for_backward``/``saved_tensors``, ``needs_input_grad``,
  ``mark_non_differentiable``.

Example:
    >>> import lamina
    >>> x = lamina.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
"""
import functools
import inspect

from lamina.backend import xp, ndarray
from lamina.errors import AutogradError, DTypeError


class _Mode:
    """Global autograd switches (grad recording and anomaly detection)."""
    grad_enabled = True
    anomaly = False


_mode = _Mode()

_op_observer = None
"""None, or a callable ``(op_class, args, attrs) -> output`` that runs each ``Op.apply`` in its place while
``lamina.summary(..., ops=True)`` records which operators every layer runs (see lamina/summary.py)."""


def is_grad_enabled():
    """True when operators record the graph for backward."""
    return _mode.grad_enabled


class _GradModeContext:
    """Base of no_grad/enable_grad: a context manager that is also a decorator (with or without parentheses)."""
    _enabled = None

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is not None and callable(func):  # used bare: @no_grad
            return self(func)
        return self

    def __enter__(self):
        self._prev = _mode.grad_enabled
        _mode.grad_enabled = self._enabled

    def __exit__(self, *exc):
        _mode.grad_enabled = self._prev
        return False

    def __call__(self, func):
        mode = type(self)

        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator_wrapper(*args, **kwargs):
                # the mode holds while the generator body runs, and the caller's mode between its steps
                gen = func(*args, **kwargs)
                value = None
                while True:
                    try:
                        with mode():
                            item = gen.send(value)
                    except StopIteration as stop:
                        return stop.value
                    value = yield item
            return generator_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator that turns off graph recording (inference, optimizer updates).

    Example:
        >>> with lamina.no_grad():
        ...     y = model(x)          # y.requires_grad is False
    """
    _enabled = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that turns graph recording back on inside ``no_grad``."""
    _enabled = True


class inference_mode(no_grad):
    """Alias of ``no_grad`` (torch's inference_mode has the same effect on results)."""

    def __new__(cls, mode=True):
        if callable(mode):
            return no_grad.__new__(cls, mode)
        self = super().__new__(cls)
        self._enabled = not mode
        return self


class set_grad_enabled:
    """Turn graph recording on or off: as a function call, a context manager or a decorator."""

    def __init__(self, mode):
        self._prev = _mode.grad_enabled
        self._mode = bool(mode)
        _mode.grad_enabled = self._mode

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _mode.grad_enabled = self._prev
        return False

    def __call__(self, func):
        _mode.grad_enabled = self._prev  # decorating must not change the mode now
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)
        return wrapper


class detect_anomaly:
    """Context manager that checks every operator's forward output and backward gradients for NaN/inf.

    The first operator that produces a non-finite value raises an AutogradError naming it, in forward or in
    backward, instead of letting NaN spread silently.
    """

    def __init__(self, check_nan=True):
        self._check = check_nan

    def __enter__(self):
        self._prev = _mode.anomaly
        _mode.anomaly = self._check

    def __exit__(self, *exc):
        _mode.anomaly = self._prev
        return False


def set_detect_anomaly(mode):
    """Turn anomaly detection on or off globally."""
    _mode.anomaly = bool(mode)


def is_anomaly_enabled():
    return _mode.anomaly


def _check_finite(op_name, arrays, where):
    for i, a in enumerate(arrays):
        if a is not None and isinstance(a, ndarray) and a.dtype.kind == "f" and not xp.isfinite(a).all():
            kind = "nan" if xp.isnan(a).any() else "inf"
            raise AutogradError(f"detect_anomaly: {op_name} produced {kind} values in its {where} {i}")


# ---- nodes ------------------------------------------------------------------------------------------------

class Op:
    """Base of Lamina's operators: ``forward`` and ``backward`` on raw backend arrays.

    ``forward(ctx, *args, **attrs)`` receives each Tensor among ``args`` as its raw array, other positional
    arguments unchanged, and keyword arguments as attributes. It returns an array or a tuple of arrays, and
    saves what backward needs with ``ctx.save_for_backward`` (those arrays are version-checked and freed after
    backward). ``backward(ctx, *grads)`` returns one gradient per positional argument (None where not needed,
    see ``ctx.needs_input_grad``). A subclass whose forward returns a view of its first input sets ``_view``.

    The instance is both the ``ctx`` of forward/backward and the graph node.
    """
    _view = False
    # Node state; class-level defaults keep apply() cheap, instances override what they use.
    next = ()               # per positional input: None, (node, output_index), or (leaf_tensor, -1)
    needs_input_grad = ()
    saved_tensors = ()
    _checks = ()            # (version_counter, version) of every saved input/output
    _view_of = None         # for a view: (version_counter, version) of its source when the view was taken
    _n_out = 1
    _freed = False
    _hooks = None           # {output_index: [hook, ...]} registered on non-leaf outputs
    _retained = None        # {output_index: tensor} for retain_grad()
    _non_differentiable = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def mark_non_differentiable(self, *outputs):
        self._non_differentiable = tuple(id(o) for o in outputs)

    def name(self):
        return type(self).__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    @staticmethod
    def forward(ctx, *args, **attrs):
        raise NotImplementedError("an Op subclass defines forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("an Op subclass defines backward")

    @classmethod
    def apply(cls, *args, **attrs):
        if _op_observer is not None:  # only while lamina.summary(ops=True) runs; one check otherwise
            return _op_observer(cls, args, attrs)
        ctx = object.__new__(cls)
        requires = False
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a._requires_grad:
                    requires = True
            else:
                arrays.append(a)
        if requires and _mode.grad_enabled:
            # a list comprehension, not tuple(generator): this runs once per recorded operator
            ctx.needs_input_grad = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        else:
            requires = False
        out = cls.forward(ctx, *arrays, **attrs)
        if isinstance(out, tuple):
            if _mode.anomaly:
                _check_finite(cls.__name__, out, "forward output")
            return ctx._wrap_outputs(args, arrays, out, requires)
        if not isinstance(out, ndarray):
            out = xp.asarray(out)
        if _mode.anomaly:
            _check_finite(cls.__name__, (out,), "forward output")
        result = Tensor._make(out, requires and out.dtype.kind == "f" and id(out) not in ctx._non_differentiable)
        if cls._view or (arrays and out is arrays[0]):
            src = args[0]
            result._vc = src._vc
            result._base = src if src._base is None else src._base
            if requires:
                ctx._view_of = (src._vc, src._vc[0])
        if requires:
            ctx._link(args, arrays, (result,))
        return result

    def _wrap_outputs(self, args, arrays, outs, requires):
        results = []
        for o in outs:
            if not isinstance(o, ndarray):
                o = xp.asarray(o)
            results.append(Tensor._make(o, requires and o.dtype.kind == "f"
                                        and id(o) not in self._non_differentiable))
        if self._view and isinstance(args[0], Tensor):
            base = args[0] if args[0]._base is None else args[0]._base
            for r in results:
                r._vc, r._base = args[0]._vc, base
            if requires:
                self._view_of = (args[0]._vc, args[0]._vc[0])
        if requires:
            self._n_out = len(results)
            self._link(args, arrays, results)
        return tuple(results)

    def _link(self, args, arrays, results):
        """Connect this node to its inputs' nodes and its outputs to this node."""
        self.next = tuple([_edge(a) if needed else None for a, needed in zip(args, self.needs_input_grad)])
        for i, r in enumerate(results):
            if r._requires_grad:
                r._ctx, r._out_index = self, i
        saved = self.saved_tensors
        if saved:
            checks = []
            for s in saved:
                if s is None:
                    continue
                for a in args:
                    if isinstance(a, Tensor) and a._data is s:
                        checks.append((a._vc, a._vc[0]))
                        break
                else:
                    for r in results:
                        if r._data is s:
                            checks.append((r._vc, r._vc[0]))
                            break
            self._checks = checks

    def _run_backward(self, grads):
        """Called by the engine with one array (or None) per output; returns one gradient per input."""
        cls = type(self)
        if self._n_out == 1:
            out = cls.backward(self, grads[0])
        else:
            out = cls.backward(self, *grads)
        return out if isinstance(out, tuple) else (out,)

    def _release(self):
        if self.saved_tensors:
            self._freed = True
        self.saved_tensors = None


def _edge(t):
    node = t._ctx
    if node is None:
        return (t, -1)
    view_of = node._view_of
    if view_of is not None and view_of[0] is t._vc and view_of[0][0] != view_of[1]:
        # t is a view whose source changed in place after t was taken: t holds the new values, its node the old
        # graph, so its gradient would be wrong
        raise AutogradError(
            f"{node.name()}: this tensor is a view taken before its base was modified by an in-place operation "
            f"(the base was at version {view_of[1]}, it is now at version {view_of[0][0]}); its gradient would "
            "follow the old values. Take the view again after the in-place change, or .clone() it before.")
    return (node, t._out_index)


class Function(Op):
    """Public custom operator, shaped like ``torch.autograd.Function``.

    Subclass it with ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as staticmethods working on
    Tensors, and call ``MyFn.apply(...)``. Inside forward nothing is recorded; ``ctx.save_for_backward`` keeps
    tensors for backward (``ctx.saved_tensors``), ``ctx.needs_input_grad`` says which inputs need a gradient.

    Example:
        >>> class Cube(lamina.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return grad * 3 * x ** 2
        >>> y = Cube.apply(lamina.tensor(2.0, requires_grad=True))
    """
    _materialize_grads = True

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors
        self._checks = [(t._vc, t._vc[0]) for t in tensors if isinstance(t, Tensor)]

    def mark_non_differentiable(self, *outputs):
        self._non_differentiable = tuple(id(o) for o in outputs)

    def set_materialize_grads(self, value):
        self._materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        for t in tensors:
            t._vc[0] += 1

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls.__new__(cls)
        requires = _mode.grad_enabled and any(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, (tuple, list))
        outs = (out,) if single else tuple(out)
        if not requires:
            return out
        results = []
        for o in outs:
            if not isinstance(o, Tensor):
                results.append(o)
                continue
            diff = o._data.dtype.kind == "f" and id(o) not in ctx._non_differentiable
            r = Tensor._make(o._data, diff)
            r._vc, r._base = o._vc, o._base
            results.append(r)
        ctx._out_shapes = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs]
        ctx._n_out = len(results)
        ctx.next = tuple(_edge(a) if isinstance(a, Tensor) and a._requires_grad else None for a in args)
        ctx._in_shapes = tuple(a._data.shape if isinstance(a, Tensor) else None for a in args)
        for i, r in enumerate(results):
            if isinstance(r, Tensor) and r._requires_grad:
                r._ctx, r._out_index = ctx, i
        return results[0] if single else tuple(results)

    def _run_backward(self, grads):
        tensors = []
        for g, spec in zip(grads, self._out_shapes):
            if g is None and self._materialize_grads and spec is not None:
                g = xp.zeros(spec[0], dtype=spec[1])
            tensors.append(None if g is None else Tensor._make(g, False))
        # Under detect_anomaly the operators inside backward are not checked one by one: the engine checks what
        # this backward returns, naming this Function rather than an operator it happened to use.
        anomaly, _mode.anomaly = _mode.anomaly, False
        try:
            with no_grad():
                out = type(self).backward(self, *tensors)
        finally:
            _mode.anomaly = anomaly
        if not isinstance(out, tuple):
            out = (out,)
        if len(out) != len(self.next):
            raise AutogradError(f"{type(self).__name__}.backward returned {len(out)} gradients, "
                                f"expected {len(self.next)} (one per argument of forward)")
        grads_in = [g._data if isinstance(g, Tensor) else g for g in out]
        for i, (g, edge, shape) in enumerate(zip(grads_in, self.next, self._in_shapes)):
            if g is None or edge is None or xp.shape(g) == shape:
                continue
            try:
                expandable = xp.broadcast_shapes(shape, xp.shape(g)) == xp.shape(g)
            except ValueError:
                expandable = False
            if not expandable:
                raise AutogradError(f"{type(self).__name__}.backward returned an invalid gradient at index {i}: "
                                    f"got shape {xp.shape(g)}, expected {shape} (the input's) or a shape it "
                                    "broadcasts to")
            from lamina.ops._util import unbroadcast      # as torch, a broadcast gradient is summed to the input
            grads_in[i] = unbroadcast(xp.asarray(g), shape)
        return tuple(grads_in)


# ---- the backward walk ------------------------------------------------------------------------------------

def _topological_order(roots):
    """Nodes reachable from ``roots``, each before the nodes that produced its inputs."""
    order, visited = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for edge in node.next:
            if edge is not None and edge[1] >= 0 and edge[0] not in visited:
                stack.append((edge[0], False))
    order.reverse()
    return order


def _as_grad_array(g, like, what):
    if isinstance(g, Tensor):
        g = g._data
    g = xp.asarray(g)
    if g.shape != like.shape:
        raise AutogradError(f"{what}: gradient has shape {tuple(g.shape)} but the tensor has shape "
                            f"{tuple(like.shape)}")
    return g.astype(like.dtype, copy=False)


def _run_engine(roots, grads, retain_graph, capture=None, accumulate=True, only_leaves=None):
    """Propagate ``grads`` (arrays) from ``roots`` (tensors) back through the graph.

    Accumulates into leaves' ``.grad`` (when ``accumulate``; restricted to ``only_leaves`` if given) and
    returns, for every key of ``capture`` (id of a leaf, or (node, index) of a non-leaf), its gradient.
    """
    buffers = {}
    leaf_grads = {}     # id(leaf) -> [leaf, summed grad]
    captured = {}

    def send(edge, g):
        target, index = edge
        if index < 0:
            slot = leaf_grads.get(id(target))
            if slot is None:
                leaf_grads[id(target)] = [target, g]
            else:
                slot[1] = slot[1] + g
            return
        buf = buffers.get(target)
        if buf is None:
            buf = buffers[target] = [None] * target._n_out
        buf[index] = g if buf[index] is None else buf[index] + g

    root_nodes = []
    for t, g in zip(roots, grads):
        send(_edge(t), g)
        if t._ctx is not None:
            root_nodes.append(t._ctx)

    for node in _topological_order(root_nodes):
        grads_out = buffers.pop(node, None)
        if grads_out is None:
            continue
        if node._freed:
            raise AutogradError(
                f"{node.name()}: trying to backward through the graph a second time (or to use saved "
                "tensors after they were freed). Pass retain_graph=True to the first backward() if you need "
                "to backward through the graph twice.")
        for counter, version in node._checks:
            if counter[0] != version:
                raise AutogradError(
                    f"{node.name()}: one of the tensors needed for gradient computation has been modified by an "
                    f"in-place operation (it was saved at version {version}, it is now at version "
                    f"{counter[0]}). Use an out-of-place operation or .clone() the tensor before changing it.")
        if node._hooks is not None or node._retained is not None:
            grads_out = _run_output_hooks(node, grads_out)
        if capture is not None:
            for i, g in enumerate(grads_out):
                if (node, i) in capture:
                    captured[(node, i)] = g
        in_grads = node._run_backward(grads_out)
        if _mode.anomaly:
            _check_finite(node.name(), in_grads, "gradient for input")
        if not retain_graph:
            node._release()
        for edge, g in zip(node.next, in_grads):
            if edge is not None and g is not None:
                if not isinstance(g, ndarray):
                    g = xp.asarray(g)
                send(edge, g)

    seen = {id(g) for g in grads}
    for leaf, g in leaf_grads.values():
        data = leaf._data
        if g.shape != data.shape:
            raise AutogradError(f"internal error: gradient of shape {g.shape} for a leaf of shape {data.shape}")
        if g.dtype != data.dtype:
            g = g.astype(data.dtype)
        if leaf._hooks:
            for hook in leaf._hooks:
                new = hook(Tensor._make(g, False))
                if new is not None:
                    g = _as_grad_array(new, data, "tensor hook")
        if capture is not None and id(leaf) in capture:
            captured[id(leaf)] = g
        if not accumulate or (only_leaves is not None and id(leaf) not in only_leaves):
            continue
        if leaf.grad is None:
            # The engine may hand the same array to several leaves, or a view of another; .grad owns its own.
            if id(g) in seen or not g.flags.owndata or not g.flags.writeable:
                g = g.copy()
            seen.add(id(g))
            leaf.grad = Tensor._make(g, False)
        else:
            leaf.grad._data = leaf.grad._data + g
    return captured


def _run_output_hooks(node, grads_out):
    grads_out = list(grads_out)
    for i, g in enumerate(grads_out):
        if g is None:
            continue
        for hook in (node._hooks or {}).get(i, ()):
            new = hook(Tensor._make(g, False))
            if new is not None:
                g = _as_grad_array(new, g, "tensor hook")
        grads_out[i] = g
        kept = (node._retained or {}).get(i)
        if kept is not None:
            t = kept()
            if t is not None:
                t.grad = Tensor._make(g.copy(), False) if t.grad is None else Tensor._make(t.grad._data + g, False)
    return grads_out


def _root_grads(tensors, grad_tensors, who):
    grads = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t._requires_grad:
            raise AutogradError(f"{who}: element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise AutogradError(
                    f"{who}: grad can be implicitly created only for scalar outputs; this output has shape "
                    f"{tuple(t._data.shape)}, so pass a gradient of that shape")
            g = xp.ones_like(t._data)
        else:
            g = _as_grad_array(g, t._data, who)
        grads.append(g)
    return grads


def _as_tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    if create_graph:
        raise AutogradError("backward(): create_graph=True (higher-order gradients) is not supported by Lamina")
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    grad_tensors = _as_tuple(grad_tensors) if isinstance(grad_tensors, Tensor) else tuple(grad_tensors)
    grads = _root_grads(tensors, grad_tensors, "backward()")
    only = None if inputs is None else {id(t) for t in _as_tuple(inputs)}
    _run_engine(tensors, grads, bool(retain_graph), only_leaves=only)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching any ``.grad``.

    Example:
        >>> x = lamina.tensor([1.0, 2.0], requires_grad=True)
        >>> (gx,) = lamina.autograd.grad((x ** 2).sum(), x)
    """
    if create_graph:
        raise AutogradError("grad(): create_graph=True (higher-order gradients) is not supported by Lamina")
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise AutogradError(f"grad(): input {i} does not require grad")
    keys = [id(t) if t._ctx is None else (t._ctx, t._out_index) for t in inputs]
    grads = _root_grads(outputs, grad_outputs, "grad()")
    captured = _run_engine(outputs, grads, bool(retain_graph), capture=set(keys), accumulate=False)
    result = []
    for i, (t, key) in enumerate(zip(inputs, keys)):
        g = captured.get(key)
        if g is None:
            if not (allow_unused or materialize_grads):
                raise AutogradError(f"grad(): input {i} was not used in the graph of the outputs; "
                                    "pass allow_unused=True if this is expected")
            result.append(Tensor._make(xp.zeros_like(t._data), False) if materialize_grads else None)
        else:
            result.append(Tensor._make(g.copy() if not g.flags.owndata else g, False))
    return tuple(result)


# ---- gradcheck ---------------------------------------------------------------------------------------------

class GradcheckError(AutogradError):
    """Analytical and numerical gradients disagree."""


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0):
    """Compare the gradients backward computes with central finite differences, in float64.

    ``func(*inputs)`` returns a tensor or a tuple of tensors; every floating input that requires grad is
    checked against every floating output, element by element (keep the inputs small).

    Returns True, or raises GradcheckError naming the input, the output and the largest mismatch.
    """
    inputs = _as_tuple(inputs) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._requires_grad]
    for i in checked:
        if inputs[i]._data.dtype != xp.float64:
            raise DTypeError(f"gradcheck(): input {i} is {inputs[i]._data.dtype}; finite differences need float64 "
                             "inputs (cast with .double())")
    outputs = _flat_outputs(func(*inputs))
    for k, out in enumerate(outputs):
        if not out._requires_grad:
            continue
        n_out = out._data.size
        for i in checked:
            x = inputs[i]
            n_in = x._data.size
            analytical = xp.zeros((n_out, n_in))
            for j in range(n_out):
                g = xp.zeros(out._data.shape)
                g.reshape(-1)[j] = 1.0
                fresh = _flat_outputs(func(*inputs))[k]
                (gx,) = grad(fresh, x, Tensor._make(g), allow_unused=True)
                if gx is not None:
                    analytical[j] = gx._data.reshape(-1)
            numerical = xp.zeros((n_out, n_in))
            for j, idx in enumerate(xp.ndindex(*x._data.shape)):
                orig = x._data[idx].copy()
                with no_grad():
                    x._data[idx] = orig + eps
                    plus = _flat_outputs(func(*inputs))[k]._data.astype(xp.float64).reshape(-1)
                    x._data[idx] = orig - eps
                    minus = _flat_outputs(func(*inputs))[k]._data.astype(xp.float64).reshape(-1)
                    x._data[idx] = orig
                numerical[:, j] = (plus - minus) / (2 * eps)
            bad = ~xp.isclose(analytical, numerical, rtol=rtol, atol=atol, equal_nan=True)
            if bad.any():
                if not raise_exception:
                    return False
                j, m = (int(v[0]) for v in xp.nonzero(bad))
                raise GradcheckError(
                    f"gradcheck(): Jacobian mismatch for output {k} with respect to input {i} at "
                    f"(output element {j}, input element {m}): analytical {analytical[j, m]!r}, numerical "
                    f"{numerical[j, m]!r} ({int(bad.sum())} of {bad.size} entries differ)")
    return True


from lamina.tensor import Tensor  # noqa: E402  (tensor.py needs this module's classes first)

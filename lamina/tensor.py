"""Tensor: a backend array, its gradient, and the graph node that made it.

A Tensor never does math itself: each method below calls an operator from ``lamina.ops``, so the autograd
graph sees everything. Names and semantics follow torch.Tensor.
"""
import builtins
import weakref

from lamina import dtypes as _dt
from lamina.backend import xp, ndarray
from lamina.errors import ArgumentError, AutogradError, DTypeError, ShapeError


class Size(tuple):
    """The shape of a tensor: a tuple that prints like ``lamina.Size([2, 3])``."""

    def __repr__(self):
        return f"lamina.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    # Slicing, concatenation and repetition give a Size again, as in torch.
    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__


class device:
    """Where a tensor lives. Only ``cpu`` exists today; the seam for a GPU backend."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if type != "cpu":
            raise ArgumentError(f"device(): only 'cpu' is available, got {type!r}")
        self.type, self.index = type, index

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return self.type

    def __eq__(self, other):
        return isinstance(other, (device, str)) and str(other).split(":")[0] == self.type

    def __hash__(self):
        return hash(self.type)


_Device = device
# torch's legacy tensor type names, as Tensor.type() returns them (torch.FloatTensor for float32...)
_LEGACY_TYPE_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
                      "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                      "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_CPU = device("cpu")


class Tensor:
    """A multi-dimensional array that records the operations on it for automatic differentiation.

    Create tensors with ``lamina.tensor``, ``lamina.zeros``, ``lamina.randn`` and friends.

    Example:
        >>> x = lamina.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> y = (x @ x).relu().sum()
        >>> y.backward()
    """

    __slots__ = ("_data", "grad", "_requires_grad", "_ctx", "_out_index", "_vc", "_base", "_hooks",
                 "__weakref__", "__dict__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # NumPy defers ndarray <op> Tensor to our reflected operators

    def __init__(self, data=None, requires_grad=False):
        array = _dt_array(data if data is not None else [])
        self._init(array, False)
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, array, requires_grad):
        self._data = array
        self.grad = None
        self._requires_grad = requires_grad
        self._ctx = None
        self._out_index = 0
        self._vc = [0]
        self._base = None
        self._hooks = None

    @classmethod
    def _make(cls, array, requires_grad=False):
        """Wrap a backend array without copying or checking (for operators)."""
        t = object.__new__(Tensor)
        t._data = array
        t.grad = None
        t._requires_grad = requires_grad
        t._ctx = None
        t._out_index = 0
        t._vc = [0]
        t._base = None
        t._hooks = None
        return t

    # ---- properties -----------------------------------------------------------------------------------
    @property
    def data(self):
        """This tensor's values as a tensor outside the graph, like torch's ``.data``.

        It shares memory but not the version counter: in-place changes through ``.data`` are hidden from autograd
        (``detach()`` is the tracked way).
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        array = value._data if isinstance(value, Tensor) else xp.asarray(value)
        self._data = array

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_canonical_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return _dt.from_numpy(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

    @property
    def layout(self):
        return "strided"

    @property
    def T(self):
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return False

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_canonical_dim(dim, self._data.ndim, "stride")]

    def data_ptr(self):
        return self._data.__array_interface__["data"][0]

    def untyped_storage(self):
        return self._data if self._data.base is None else self._data.base

    # ---- autograd -------------------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(f"requires_grad_(): only tensors of floating point dtype can require gradients, "
                             f"got {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise AutogradError("requires_grad_(): you can only change requires_grad of leaf tensors; "
                                "use .detach() to get a tensor outside the graph")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def output_nr(self):
        return self._out_index

    @property
    def _version(self):
        return self._vc[0]

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``; see ``lamina.autograd.backward``."""
        _autograd.backward(self, None if gradient is None else (gradient,), retain_graph, create_graph, inputs)

    def detach(self):
        """A tensor sharing this one's data, outside the graph."""
        t = Tensor._make(self._data)
        t._vc = self._vc   # shares memory and the version counter, but is no view for autograd (as in torch)
        return t

    def detach_(self):
        if self._base is not None and self._ctx is not None:
            raise AutogradError("detach_(): can't detach a view in place; use detach()")
        self._ctx = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in ``.grad`` after backward."""
        if self._ctx is None:
            return
        node = self._ctx
        if node._retained is None:
            node._retained = {}
        node._retained[self._out_index] = weakref.ref(self)

    @property
    def retains_grad(self):
        node = self._ctx
        return node is not None and node._retained is not None and self._out_index in node._retained

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self._requires_grad:
            raise AutogradError("register_hook(): cannot register a hook on a tensor that doesn't require grad")
        if self._ctx is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._ctx
            if node._hooks is None:
                node._hooks = {}
            hooks = node._hooks.setdefault(self._out_index, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    # ---- conversions ----------------------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The values as a NumPy array (shares memory). Raises if the tensor requires grad, as torch does."""
        if self._requires_grad and not force:
            raise AutogradError("numpy(): can't call numpy() on a tensor that requires grad; "
                                "use tensor.detach().numpy() instead")
        return self._data

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self):
        if self._data.size != 1:
            raise ArgumentError(f"item(): a tensor with {self._data.size} elements cannot be converted to a "
                                "Python number")
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ArgumentError(f"bool(): a tensor with {self._data.size} elements is ambiguous as a boolean")
        return builtins.bool(self._data.reshape(-1)[0])

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("Lamina tensors cannot be pickled; use lamina.save (a safetensors file) instead")

    def __deepcopy__(self, memo):
        t = Tensor._make(self._data.copy(), self._requires_grad)
        if self.grad is not None:
            t.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = t
        return t

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """Convert dtype (and accept device 'cpu'): ``x.to(lamina.float64)``, ``x.to('cpu')``, ``x.to(other)``."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, _Device)):
                _Device(str(a).split(":")[0])
            else:
                dtype = a
        if device is not None:
            _Device(str(device).split(":")[0])
        if dtype is None or _dt.to_numpy(dtype) == self._data.dtype:
            return self.clone() if copy else self
        return _ops.cast(self, _dt.to_numpy(dtype))

    def type(self, dtype=None):
        """Without ``dtype``, torch's legacy type name (``'lamina.FloatTensor'``); with it, ``self.to(dtype)``."""
        if dtype is None:
            return f"lamina.{_LEGACY_TYPE_NAMES.get(self.dtype.name, self.dtype.name.capitalize())}Tensor"
        return self.to(dtype)

    def type_as(self, tensor):
        """This tensor cast to the dtype of ``tensor``."""
        return self.to(tensor.dtype)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def short(self):
        return self.to(_dt.int16)

    def bool(self):
        return self.to(_dt.bool_)

    def byte(self):
        return self.to(_dt.uint8)

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        raise ArgumentError("cuda(): Lamina runs on the CPU (NumPy); no CUDA backend is available yet")

    def clone(self, *, memory_format=None):
        return _ops.clone(self)

    def contiguous(self, memory_format=None):
        return _ops.contiguous(self)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return _creation.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return _creation.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return _creation.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return _creation.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False):
        return _creation.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    # ---- printing -------------------------------------------------------------------------------------
    def __repr__(self):
        return _format_tensor(self)

    def __str__(self):
        return _format_tensor(self)

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return object.__format__(self, spec) if spec else repr(self)

    # ---- in place -------------------------------------------------------------------------------------
    def _inplace(self, fn, *args, **kwargs):
        """Run the out-of-place ``fn(self, *args)`` and write its result into this tensor's memory.

        Inside the graph, the operator is recorded on a snapshot of the old value and this tensor becomes its
        output, so gradients stay right; the version counter tells earlier nodes that saved this memory. A view
        is handled through its base (see ``_inplace_on_view``).
        """
        grad_needed = _autograd._mode.grad_enabled and (
            self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
        if grad_needed:
            if self._ctx is None and self._requires_grad and self._base is None:
                raise AutogradError(
                    f"{_name(fn)}(): a leaf tensor that requires grad is being used in an in-place operation; "
                    "wrap it in `with lamina.no_grad():` or work on a .clone()")
            if self._base is not None:
                return self._inplace_on_view(self._base, fn, args, kwargs)
            old = Tensor._make(self._data.copy(), self._requires_grad)
            old._ctx, old._out_index = self._ctx, self._out_index
            result = fn(old, *args, **kwargs)
        else:
            result = fn(self, *args, **kwargs)
        self._write_inplace_result(fn, result._data)
        if grad_needed:
            self._ctx, self._out_index = result._ctx, result._out_index
            self._requires_grad = result._requires_grad
        self._vc[0] += 1
        return self

    def _inplace_on_view(self, base, fn, args, kwargs):
        """An in-place change of a view inside the graph, recorded on its base as torch's CopySlices does.

        The base becomes its old value with this view's elements replaced by ``fn(old elements)`` (a setitem
        at the elements' flat positions in the base), and the view becomes those elements of the new base, so
        gradients flow through both.
        """
        if base._ctx is None and base._requires_grad:
            raise AutogradError(
                f"{_name(fn)}(): a view of a leaf tensor that requires grad is being used in an in-place "
                "operation; wrap it in `with lamina.no_grad():` or work on a .clone()")
        positions = _view_positions(self._data, base._data)
        if positions is None:
            raise ArgumentError(f"{_name(fn)}(): cannot write into this tensor ({tuple(self.shape)}) inside the "
                                "autograd graph: it is an expanded view whose elements share memory; .clone() it "
                                "first")
        index = Tensor._make(positions)
        old_base = Tensor._make(base._data.copy(), base._requires_grad)
        old_base._ctx, old_base._out_index = base._ctx, base._out_index
        old_flat = _ops.reshape(old_base, (-1,))
        result = fn(_ops.getitem(old_flat, index), *args, **kwargs)
        self._check_inplace_result(fn, result._data)
        new_flat = _ops.setitem(old_flat, index, result)
        xp.copyto(base._data, new_flat._data.reshape(base._data.shape))   # also updates this view's memory
        new_base = _ops.reshape(new_flat, tuple(base._data.shape))
        base._ctx, base._out_index, base._requires_grad = new_base._ctx, new_base._out_index, True
        view = _ops.getitem(new_flat, index)
        self._ctx, self._out_index, self._requires_grad = view._ctx, view._out_index, True
        self._vc[0] += 1
        return self

    def _check_inplace_result(self, fn, new):
        if new.shape != self._data.shape:
            raise ShapeError(f"{_name(fn)}(): output with shape {list(self._data.shape)} doesn't match the "
                             f"broadcast shape {list(new.shape)}")
        if new.dtype != self._data.dtype:
            if new.dtype.kind == "f" and self._data.dtype.kind != "f" or (
                    new.dtype.kind in "iu" and self._data.dtype.kind == "b"):
                raise DTypeError(f"{_name(fn)}(): result type {_dt.from_numpy(new.dtype)} can't be cast to the "
                                 f"desired output type {self.dtype}")

    def _write_inplace_result(self, fn, new):
        self._check_inplace_result(fn, new)
        try:
            xp.copyto(self._data, new, casting="unsafe")
        except ValueError as e:
            raise ArgumentError(f"{_name(fn)}(): cannot write into this tensor ({e}); it is an expanded view "
                                "whose elements share memory; .clone() it first") from None

    def __setitem__(self, key, value):
        if _autograd._mode.grad_enabled and (self._requires_grad or (
                isinstance(value, Tensor) and value._requires_grad)):
            self._inplace(_ops.setitem, key, value)
        else:
            _ops.setitem_(self, key, value)

    def copy_(self, src, non_blocking=False):
        return self._inplace(_ops.copy_from, src)

    def zero_(self):
        return self._inplace(_zero)

    def fill_(self, value):
        return self._inplace(_ops.full_like_value, value)

    def add_(self, other, *, alpha=1):
        return self._inplace(_ops.add, other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        return self._inplace(_ops.sub, other, alpha=alpha)

    def mul_(self, other):
        return self._inplace(_ops.mul, other)

    def div_(self, other, *, rounding_mode=None):
        return self._inplace(_ops.div, other, rounding_mode=rounding_mode)

    def pow_(self, exponent):
        return self._inplace(_ops.pow, exponent)

    def neg_(self):
        return self._inplace(_ops.neg)

    def abs_(self):
        return self._inplace(_ops.abs)

    def exp_(self):
        return self._inplace(_ops.exp)

    def log_(self):
        return self._inplace(_ops.log)

    def sqrt_(self):
        return self._inplace(_ops.sqrt)

    def relu_(self):
        return self._inplace(_ops.relu)

    def sigmoid_(self):
        return self._inplace(_ops.sigmoid)

    def tanh_(self):
        return self._inplace(_ops.tanh)

    def clamp_(self, min=None, max=None):
        return self._inplace(_ops.clamp, min, max)

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return self._inplace(_ops.masked_fill, mask, value)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(_ops.addcmul, tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(_ops.addcdiv, tensor1, tensor2, value=value)

    def lerp_(self, end, weight):
        return self._inplace(_ops.lerp, end, weight)

    def floor_(self):
        return self._inplace(_ops.floor)

    def round_(self, decimals=0):
        return self._inplace(_ops.round, decimals=decimals)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return self._inplace(_random.uniform_like, a, b, generator=generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._inplace(_random.normal_like, mean, std, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        return self._inplace(_random.bernoulli_like, p, generator=generator)

    def random_(self, low=0, high=None, *, generator=None):
        return self._inplace(_random.randint_like_values, low, high, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._inplace(_random.exponential_like, lambd, generator=generator)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._inplace(_ops.scatter, dim, index, src, value=value, reduce=reduce)

    def scatter_add_(self, dim, index, src):
        return self._inplace(_ops.scatter_add, dim, index, src)

    def index_fill_(self, dim, index, value):
        return self._inplace(_ops.index_fill, dim, index, value)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ifloordiv__(self, other):
        return self._inplace(_ops.floor_divide, other)

    def __ipow__(self, other):
        return self.pow_(other)

    def __imatmul__(self, other):
        return self._inplace(_ops.matmul, other)

    def __imod__(self, other):
        return self._inplace(_ops.remainder, other)

    def __iand__(self, other):
        return self._inplace(_ops.bitwise_and, other)

    def __ior__(self, other):
        return self._inplace(_ops.bitwise_or, other)

    def __ixor__(self, other):
        return self._inplace(_ops.bitwise_xor, other)

    # ---- Python operators -----------------------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __invert__(self):
        return _ops.bitwise_not(self)

    def __and__(self, other):
        return _ops.bitwise_and(self, other)

    def __rand__(self, other):
        return _ops.bitwise_and(other, self)

    def __or__(self, other):
        return _ops.bitwise_or(self, other)

    def __ror__(self, other):
        return _ops.bitwise_or(other, self)

    def __xor__(self, other):
        return _ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops.bitwise_xor(other, self)

    def __eq__(self, other):
        if other is None:          # `x == None` is False, as in torch (Python falls back to identity)
            return NotImplemented
        return _ops.eq(self, other)

    def __ne__(self, other):
        if other is None:
            return NotImplemented
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __getitem__(self, key):
        return _ops.getitem(self, key)

    # ---- elementwise ----------------------------------------------------------------------------------
    def add(self, other, *, alpha=1):
        return _ops.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return _ops.sub(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other):
        return _ops.mul(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    divide = div
    true_divide = div

    def floor_divide(self, other):
        return _ops.floor_divide(self, other)

    def remainder(self, other):
        return _ops.remainder(self, other)

    def fmod(self, other):
        return _ops.fmod(self, other)

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def neg(self):
        return _ops.neg(self)

    negative = neg

    def abs(self):
        return _ops.abs(self)

    absolute = abs

    def sign(self):
        return _ops.sign(self)

    def exp(self):
        return _ops.exp(self)

    def exp2(self):
        return _ops.exp2(self)

    def log(self):
        return _ops.log(self)

    def log2(self):
        return _ops.log2(self)

    def log10(self):
        return _ops.log10(self)

    def log1p(self):
        return _ops.log1p(self)

    def expm1(self):
        return _ops.expm1(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def rsqrt(self):
        return _ops.rsqrt(self)

    def square(self):
        return _ops.square(self)

    def reciprocal(self):
        return _ops.reciprocal(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tan(self):
        return _ops.tan(self)

    def asin(self):
        return _ops.asin(self)

    def acos(self):
        return _ops.acos(self)

    def atan(self):
        return _ops.atan(self)

    def atan2(self, other):
        return _ops.atan2(self, other)

    def sinh(self):
        return _ops.sinh(self)

    def cosh(self):
        return _ops.cosh(self)

    def tanh(self):
        return _ops.tanh(self)

    def erf(self):
        return _ops.erf(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def softmax(self, dim, dtype=None):
        return _ops.softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim, dtype=None):
        return _ops.log_softmax(self, dim, dtype=dtype)

    def clamp(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return _ops.clamp(self, min, None)

    def clamp_max(self, max):
        return _ops.clamp(self, None, max)

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def where(self, condition, other):
        return _ops.where(condition, self, other)

    def masked_fill(self, mask, value):
        return _ops.masked_fill(self, mask, value)

    def lerp(self, end, weight):
        return _ops.lerp(self, end, weight)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _ops.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _ops.addcdiv(self, tensor1, tensor2, value=value)

    def floor(self):
        return _ops.floor(self)

    def ceil(self):
        return _ops.ceil(self)

    def round(self, decimals=0):
        return _ops.round(self, decimals=decimals)

    def trunc(self):
        return _ops.trunc(self)

    def frac(self):
        return _ops.frac(self)

    def isnan(self):
        return _ops.isnan(self)

    def isinf(self):
        return _ops.isinf(self)

    def isfinite(self):
        return _ops.isfinite(self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return _ops.nan_to_num(self, nan, posinf, neginf)

    def logical_and(self, other):
        return _ops.logical_and(self, other)

    def logical_or(self, other):
        return _ops.logical_or(self, other)

    def logical_xor(self, other):
        return _ops.logical_xor(self, other)

    def logical_not(self):
        return _ops.logical_not(self)

    def eq(self, other):
        return _ops.eq(self, other)

    def ne(self, other):
        return _ops.ne(self, other)

    def lt(self, other):
        return _ops.lt(self, other)

    def le(self, other):
        return _ops.le(self, other)

    def gt(self, other):
        return _ops.gt(self, other)

    def ge(self, other):
        return _ops.ge(self, other)

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def equal(self, other):
        return _ops.equal(self, other)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.allclose(self, other, rtol, atol, equal_nan)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.isclose(self, other, rtol, atol, equal_nan)

    # ---- reductions -----------------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.mean(self, dim, keepdim, dtype=dtype)

    def var(self, *args, **kwargs):
        return _ops.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        return _ops.std(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return _ops.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return _ops.min(self, *args, **kwargs)

    def amax(self, dim=(), keepdim=False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return _ops.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _ops.argmin(self, dim, keepdim)

    def prod(self, *args, **kwargs):
        return _ops.prod(self, *args, **kwargs)

    def logsumexp(self, dim, keepdim=False):
        return _ops.logsumexp(self, dim, keepdim)

    def norm(self, *args, **kwargs):
        return _ops.norm(self, *args, **kwargs)

    def cumsum(self, dim, *, dtype=None):
        return _ops.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        return _ops.cumprod(self, dim, dtype=dtype)

    def all(self, *args, **kwargs):
        return _ops.all(self, *args, **kwargs)

    def any(self, *args, **kwargs):
        return _ops.any(self, *args, **kwargs)

    def count_nonzero(self, dim=None):
        return _ops.count_nonzero(self, dim)

    def median(self, *args, **kwargs):
        return _ops.median(self, *args, **kwargs)

    # ---- linear algebra -------------------------------------------------------------------------------
    def matmul(self, other):
        return _ops.matmul(self, other)

    def mm(self, mat2):
        return _ops.mm(self, mat2)

    def bmm(self, mat2):
        return _ops.bmm(self, mat2)

    def dot(self, other):
        return _ops.dot(self, other)

    def outer(self, vec2):
        return _ops.outer(self, vec2)

    def mv(self, vec):
        return _ops.mv(self, vec)

    def vdot(self, other):
        return _ops.vdot(self, other)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    # ---- shape ----------------------------------------------------------------------------------------
    def reshape(self, *shape, **kwargs):
        return _ops.reshape(self, *_sizes(shape, kwargs, ("shape",), "reshape"))

    def reshape_as(self, other):
        return _ops.reshape(self, other.shape)

    def view(self, *shape, **kwargs):
        return _ops.view(self, *_sizes(shape, kwargs, ("size", "dtype"), "view"))

    def view_as(self, other):
        return _ops.view(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return _ops.unflatten(self, dim, sizes)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _ops.unsqueeze(self, dim)

    def permute(self, *dims, **kwargs):
        return _ops.permute(self, *_sizes(dims, kwargs, ("dims",), "permute"))

    def transpose(self, dim0, dim1):
        return _ops.transpose(self, dim0, dim1)

    swapaxes = transpose
    swapdims = transpose

    def t(self):
        return _ops.t(self)

    def movedim(self, source, destination):
        return _ops.movedim(self, source, destination)

    def expand(self, *sizes, **kwargs):
        return _ops.expand(self, *_sizes(sizes, kwargs, ("size",), "expand"))

    def expand_as(self, other):
        return _ops.expand(self, other.shape)

    def broadcast_to(self, size):
        return _ops.broadcast_to(self, size)

    def repeat(self, *sizes, **kwargs):
        return _ops.repeat(self, *_sizes(sizes, kwargs, ("repeats",), "repeat"))

    def tile(self, *dims, **kwargs):
        return _ops.tile(self, *_sizes(dims, kwargs, ("dims",), "tile"))

    def split(self, split_size, dim=0):
        return _ops.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return _ops.unbind(self, dim)

    def flip(self, *dims, **kwargs):
        return _ops.flip(self, *_sizes(dims, kwargs, ("dims",), "flip"))

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, dims)

    def tril(self, diagonal=0):
        return _ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _ops.triu(self, diagonal)

    def narrow(self, dim, start, length):
        return _ops.narrow(self, dim, start, length)

    moveaxis = movedim

    def squeeze_(self, dim=None):
        return self._set_view_shape(_ops.squeeze(self.detach(), dim))

    def unsqueeze_(self, dim):
        return self._set_view_shape(_ops.unsqueeze(self.detach(), dim))

    def t_(self):
        return self._set_view_shape(_ops.t(self.detach()))

    def transpose_(self, dim0, dim1):
        return self._set_view_shape(_ops.transpose(self.detach(), dim0, dim1))

    def _set_view_shape(self, view):
        """In-place metadata change (squeeze_, t_, ...): this tensor becomes ``view`` of its own memory."""
        if self._requires_grad and _autograd._mode.grad_enabled:
            raise AutogradError("in-place shape change of a tensor that requires grad is not supported; use the "
                                "out-of-place form (squeeze, t, transpose, ...)")
        self._data = view._data
        return self

    def tril_(self, diagonal=0):
        return self._inplace(_ops.tril, diagonal)

    def triu_(self, diagonal=0):
        return self._inplace(_ops.triu, diagonal)

    # ---- indexing -------------------------------------------------------------------------------------
    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return _ops.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return _ops.scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return _ops.index_select(self, dim, index)

    def index_add(self, dim, index, source, *, alpha=1):
        return _ops.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(_ops.index_add, dim, index, source, alpha=alpha)

    def index_copy(self, dim, index, source):
        return _ops.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return self._inplace(_ops.index_copy, dim, index, source)

    def index_fill(self, dim, index, value):
        return _ops.index_fill(self, dim, index, value)

    def argwhere(self):
        return _ops.argwhere(self)

    def masked_select(self, mask):
        return _ops.masked_select(self, mask)

    def take_along_dim(self, indices, dim=None):
        return _ops.take_along_dim(self, indices, dim)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return _ops.sort(self, dim, descending, stable=stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _ops.argsort(self, dim, descending, stable=stable)

    def nonzero(self, *, as_tuple=False):
        return _ops.nonzero(self, as_tuple=as_tuple)


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


# The in-place method a user called, for the out-of-place helpers whose names differ from it.
_INPLACE_NAMES = {"setitem": "__setitem__", "copy_from": "copy_", "full_like_value": "fill_",
                  "uniform_like": "uniform_", "normal_like": "normal_", "bernoulli_like": "bernoulli_",
                  "randint_like_values": "random_", "exponential_like": "exponential_"}


def _name(fn):
    """The name of the in-place method that runs the out-of-place ``fn`` (``add`` -> ``add_``)."""
    name = getattr(fn, "__name__", "op").rstrip("_")
    return _INPLACE_NAMES.get(name, name + "_")


def _zero(input):
    return _ops.full_like_value(input, 0)


_zero.__name__ = "zero"


def _view_positions(view, base):
    """The flat (C-order) index in ``base`` of each element of ``view``, an array sharing ``base``'s memory.

    None when the view's elements overlap (an expanded view) or do not all lie in ``base``.
    """
    if any(stride == 0 and n > 1 for stride, n in zip(view.strides, view.shape)):
        return None

    def byte_offsets(a, start):
        offsets = xp.full(a.shape, start, dtype=xp.int64)
        for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
            shape = [1] * a.ndim
            shape[axis] = n
            offsets = offsets + (xp.arange(n, dtype=xp.int64) * stride).reshape(shape)
        return offsets

    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    wanted = byte_offsets(view, start)
    if wanted.size == 0:
        return wanted
    if base.flags.c_contiguous:
        positions, rest = xp.divmod(wanted, base.itemsize)
        if rest.any() or positions.min() < 0 or positions.max() >= base.size:
            return None
        return positions
    held = byte_offsets(base, 0).reshape(-1)
    order = xp.argsort(held, kind="stable")
    found = xp.minimum(xp.searchsorted(held[order], wanted), held.size - 1)
    if not xp.array_equal(held[order][found], wanted):
        return None
    return order[found]


def _sizes(args, kwargs, names, op):
    """The sizes of ``x.reshape(2, 3)``, ``x.reshape((2, 3))`` or torch's keyword form ``x.reshape(shape=(2, 3))``."""
    if not kwargs:
        return args
    if args or len(kwargs) != 1 or next(iter(kwargs)) not in names:
        given = ", ".join(list(map(repr, args)) + [f"{k}=..." for k in kwargs])
        raise TypeError(f"{op}(): takes its sizes either positionally or as one of {', '.join(names)}=, got ({given})")
    return (next(iter(kwargs.values())),)


def _canonical_dim(dim, ndim, op):
    from lamina.ops._util import canonical_dim
    return canonical_dim(dim, ndim, op)


def _dt_array(data):
    """An array for Tensor(data): Python floats become the default dtype, as in torch."""
    return _creation.as_array(data)


# ---- printing -------------------------------------------------------------------------------------------
# torch's printer (torch/_tensor_str.py) with its default options: 4 digits, lines of 80 characters, and
# tensors of more than 1000 elements summarised to 3 items at each end of every axis.
_PRECISION, _THRESHOLD, _EDGEITEMS, _LINEWIDTH = 4, 1000, 3, 80


def _format_tensor(t):
    a = t._data
    d = _dt.from_numpy(a.dtype)
    prefix = "tensor("
    suffixes = []
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if d != _dt.get_default_dtype():   # nothing to infer an empty tensor's dtype from: always shown
            suffixes.append(f"dtype=lamina.{d.name}")
        body = "[]"
    else:
        if d not in (_dt.get_default_dtype(), _dt.int64, _dt.bool_):
            suffixes.append(f"dtype=lamina.{d.name}")
        if a.dtype == xp.float16:
            a = a.astype(xp.float32)
        summarize = a.size > _THRESHOLD
        formatter = _Formatter(_summarized(a) if summarize else a)
        body = _format_nested(a, len(prefix), summarize, formatter)
    if t._ctx is not None:
        suffixes.append(f"grad_fn=<{t._ctx.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    line_len = len(text) - text.rfind("\n") + 1
    parts = [text]
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > _LINEWIDTH:
            parts.append(",\n" + " " * len(prefix) + suffix)
            line_len = len(prefix) + len(suffix)
        else:
            parts.append(", " + suffix)
            line_len += len(suffix) + 2
    return "".join(parts) + ")"


class _Formatter:
    """One width and notation for every element: integers as is; floats fixed, integral (``2.``) or scientific."""

    def __init__(self, a):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = a.reshape(-1)
        if not self.floating:
            self.width = builtins.max([1] + [len(str(v)) for v in flat.tolist()])
            return
        values = flat[xp.isfinite(flat) & (flat != 0)].astype(xp.float64)
        if values.size == 0:
            return
        magnitudes = xp.abs(values)
        vmin, vmax = builtins.float(magnitudes.min()), builtins.float(magnitudes.max())
        self.int_mode = builtins.bool(xp.all(values == xp.ceil(values)))
        values = values.tolist()
        if vmax / vmin > 1000.0 or vmax > 1.0e8 or (not self.int_mode and vmin < 1.0e-4):
            self.sci_mode = True
            self.width = builtins.max(len(f"{v:.{_PRECISION}e}") for v in values)
        elif self.int_mode:
            self.width = builtins.max(len(f"{v:.0f}") + 1 for v in values)
        else:
            self.width = builtins.max(len(f"{v:.{_PRECISION}f}") for v in values)

    def format(self, v):
        if not self.floating:
            text = str(v)
        elif self.sci_mode:
            text = f"{v:{self.width}.{_PRECISION}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if v != v or v in (builtins.float("inf"), builtins.float("-inf")) else ".")
        else:
            text = f"{v:.{_PRECISION}f}"
        return " " * (self.width - len(text)) + text


def _summarized(a):
    """The elements a summarised print shows, for choosing the notation and width."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * _EDGEITEMS:
        a = xp.concatenate([a[:_EDGEITEMS], a[-_EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return xp.stack([_summarized(row) for row in a])


def _format_nested(a, indent, summarize, formatter):
    if a.ndim == 0:
        return formatter.format(a.item())
    cut = summarize and a.shape[0] > 2 * _EDGEITEMS
    if a.ndim == 1:
        per_line = builtins.max(1, (_LINEWIDTH - indent) // (formatter.width + 2))
        if cut:
            items = ([formatter.format(v) for v in a[:_EDGEITEMS].tolist()] + [" ..."]
                     + [formatter.format(v) for v in a[-_EDGEITEMS:].tolist()])
        else:
            items = [formatter.format(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(a.shape[0])
    if cut:
        rows = list(range(_EDGEITEMS)) + [None] + list(range(a.shape[0] - _EDGEITEMS, a.shape[0]))
    parts = ["..." if i is None else _format_nested(a[i], indent + 1, summarize, formatter) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


from lamina import autograd as _autograd  # noqa: E402  (circular: autograd wraps outputs in Tensor)
from lamina import creation as _creation  # noqa: E402
from lamina import random as _random  # noqa: E402
from lamina import ops as _ops  # noqa: E402

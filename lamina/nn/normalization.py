"""Normalization layers: BatchNorm1d/2d/3d, LazyBatchNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm.

BatchNorm keeps torch's buffers (``running_mean``, ``running_var``, ``num_batches_tracked``), so torch
checkpoints load; in training it normalizes with the batch statistics and updates the running ones,
``r = (1 - momentum) r + momentum * stat`` (momentum=None: the cumulative average, momentum = 1 / batches seen).
"""
import numbers

from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn._layer_util import check_device, check_int, float_dtype, new_buffer, new_parameter
from lamina.nn.lazy import LazyModuleMixin
from lamina.nn.module import Module
from lamina.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from lamina.tensor import Tensor


def _check_eps(cls, eps):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ArgumentError(f"{cls}: argument 'eps' must be a positive number, got {eps!r}")


def _write(tensor, value):
    tensor._data[...] = value
    tensor._vc[0] += 1


class _NormBase(Module):
    """Parameters, buffers and repr shared by the batch norms."""

    _dims = ()  # accepted input ranks

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        cls = type(self).__name__
        check_device(device, cls)
        _check_eps(cls, eps)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)):
            raise ArgumentError(f"{cls}: argument 'momentum' must be a number or None, got {momentum!r}")
        self.num_features = check_int(num_features, cls, "num_features")
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._dtype = float_dtype(dtype, cls)
        n = self.num_features
        if affine:
            self.weight = new_parameter((n,), self._dtype)
            if bias:
                self.bias = new_parameter((n,), self._dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", new_buffer((n,), self._dtype, 0.0))
            self.register_buffer("running_var", new_buffer((n,), self._dtype, 1.0))
            self.register_buffer("num_batches_tracked", Tensor._make(xp.array(0, dtype=xp.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            _write(self.running_mean, 0.0)
            _write(self.running_var, 1.0)
            _write(self.num_batches_tracked, 0)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input):
        if not isinstance(input, Tensor):
            return
        if input.ndim not in self._dims:
            ranks = " or ".join(f"{d}D" for d in self._dims)
            raise ShapeError(f"expected {ranks} input, got {input.ndim}D input of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"expected input with {self.num_features} channels (dim 1), got shape "
                             f"{tuple(input.shape)}")

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        count = self.num_batches_tracked
        update_count = self.training and self.track_running_stats and count is not None
        if update_count and self.momentum is None:
            factor = 1.0 / float(int(count._data) + 1)  # cumulative moving average over the batches seen
        # batch statistics in training, and in evaluation when no running statistics are kept
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        out = F.batch_norm(input, self.running_mean if keep else None, self.running_var if keep else None,
                           self.weight, self.bias, use_batch_stats, factor, self.eps)
        if update_count:
            count._data += 1
            count._vc[0] += 1
        return out

    def _load_from_state_dict(self, state_dict, prefix, strict, missing, unexpected, errors, assign=False):
        # torch's rule for a state_dict without version metadata (every safetensors file; checkpoints from before
        # num_batches_tracked existed): a missing num_batches_tracked keeps its current value and is not reported.
        before = len(missing)
        super()._load_from_state_dict(state_dict, prefix, strict, missing, unexpected, errors, assign)
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key in missing[before:]:
            missing.remove(key)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_NormBase):
    """Batch normalization of (N, C) or (N, C, L) input, per channel C.

    Args:
        num_features: C.
        eps: added to the variance (default 1e-5).
        momentum: weight of the new batch statistics in the running ones (default 0.1); None: cumulative
            average.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        track_running_stats: keep running statistics and use them in evaluation; without them the batch
            statistics are used in evaluation too.
        bias: learn the bias (with affine).

    Example:
        >>> bn = nn.BatchNorm1d(100)
        >>> bn(lamina.randn(20, 100)).shape
        lamina.Size([20, 100])
    """

    _dims = (2, 3)


class BatchNorm2d(_NormBase):
    """Batch normalization of (N, C, H, W) input, per channel C (see BatchNorm1d for the arguments).

    Example:
        >>> bn = nn.BatchNorm2d(8)
        >>> y = bn(lamina.randn(4, 8, 5, 5))          # training: batch statistics, running ones updated
        >>> bn.eval(); y = bn(lamina.randn(1, 8, 5, 5))  # evaluation: running statistics
    """

    _dims = (4,)


class BatchNorm3d(_NormBase):
    """Batch normalization of (N, C, D, H, W) input, per channel C (see BatchNorm1d for the arguments)."""

    _dims = (5,)


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """Lazy batch norms read ``num_features`` from the first input's dim 1."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *,
                 bias=True):
        _NormBase.__init__(self, 0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(dtype=self._dtype)
            if bias:
                self.bias = UninitializedParameter(dtype=self._dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=self._dtype)
            self.running_var = UninitializedBuffer(dtype=self._dtype)
            self.num_batches_tracked = Tensor._make(xp.array(0, dtype=xp.int64))

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if not isinstance(input, Tensor) or input.ndim < 2:
            raise ShapeError(f"expected an input of at least 2 dims (N, C, *) to infer num_features, got "
                             f"{getattr(input, 'shape', type(input).__name__)}")
        # also without lazy tensors (affine=False, track_running_stats=False) num_features follows the input
        self.num_features = int(input.shape[1])
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            if t is not None and is_lazy(t):
                t.materialize((self.num_features,))
        self.reset_parameters()

    def _lazy_shapes(self):
        return {name: (None,) for name in ("weight", "bias", "running_mean", "running_var")}

    def _infer_from_state(self):
        for t in (self.weight, self.running_mean):
            if t is not None:
                self.num_features = int(t.shape[0])
                return


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """A BatchNorm1d whose num_features comes from the first input (it then becomes a BatchNorm1d).

    Example:
        >>> bn = nn.LazyBatchNorm1d()
        >>> bn(lamina.randn(4, 6)); bn.num_features
        6
    """

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """A BatchNorm2d whose num_features comes from the first input (it then becomes a BatchNorm2d)."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """A BatchNorm3d whose num_features comes from the first input (it then becomes a BatchNorm3d)."""

    cls_to_become = BatchNorm3d


def _as_shape(cls, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ArgumentError(f"{cls}: normalized_shape must be an int or a non-empty sequence of non-negative ints, "
                            f"got {normalized_shape!r}")
    return shape


def _check_trailing(input, shape):
    if isinstance(input, Tensor) and tuple(input.shape[-len(shape):]) != shape:
        raise ShapeError(f"expected input whose last {len(shape)} dim(s) are {shape}, got shape "
                         f"{tuple(input.shape)}")


class LayerNorm(Module):
    """Normalize over the last ``len(normalized_shape)`` dims of each sample, then scale and shift.

    Args:
        normalized_shape: the trailing shape to normalize over (an int means the last dim).
        eps: added to the variance (default 1e-5).
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.
        bias: learn the bias (with elementwise_affine).

    Example:
        >>> ln = nn.LayerNorm(10)
        >>> ln(lamina.randn(20, 5, 10)).shape
        lamina.Size([20, 5, 10])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        check_device(device, cls)
        _check_eps(cls, eps)
        self.normalized_shape = _as_shape(cls, normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = float_dtype(dtype, cls)
        if elementwise_affine:
            self.weight = new_parameter(self.normalized_shape, dt)
            if bias:
                self.bias = new_parameter(self.normalized_shape, dt)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        _check_trailing(input, self.normalized_shape)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the C channels of (N, C, *) input into groups and normalize each group of each sample.

    Args:
        num_groups: number of groups; divides num_channels.
        num_channels: C.
        eps: added to the variance (default 1e-5).
        affine: learn per-channel ``weight`` (ones) and ``bias`` (zeros).
        bias: learn the bias (with affine).

    Example:
        >>> gn = nn.GroupNorm(3, 6)
        >>> gn(lamina.randn(20, 6, 10, 10)).shape
        lamina.Size([20, 6, 10, 10])
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        cls = type(self).__name__
        check_device(device, cls)
        _check_eps(cls, eps)
        self.num_groups = check_int(num_groups, cls, "num_groups", minimum=1)
        self.num_channels = check_int(num_channels, cls, "num_channels")
        if self.num_channels % self.num_groups:
            raise ArgumentError(f"{cls}: num_channels ({num_channels}) must be divisible by num_groups "
                                f"({num_groups})")
        self.eps = eps
        self.affine = affine
        dt = float_dtype(dtype, cls)
        if affine:
            self.weight = new_parameter((self.num_channels,), dt)
            if bias:
                self.bias = new_parameter((self.num_channels,), dt)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        if isinstance(input, Tensor) and (input.ndim < 2 or input.shape[1] != self.num_channels):
            raise ShapeError(f"expected input of shape (N, {self.num_channels}, *), got shape "
                             f"{tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape``: ``x / sqrt(mean(x^2) + eps) * w``.

    Args:
        normalized_shape: the trailing shape to normalize over (an int means the last dim).
        eps: added to the mean square (default None: the dtype's machine epsilon).
        elementwise_affine: learn ``weight`` (ones) of shape ``normalized_shape``.

    Example:
        >>> nn.RMSNorm([5, 10])(lamina.randn(2, 5, 10)).shape
        lamina.Size([2, 5, 10])
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        check_device(device, cls)
        if eps is not None:
            _check_eps(cls, eps)
        self.normalized_shape = _as_shape(cls, normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = new_parameter(self.normalized_shape, float_dtype(dtype, cls))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input):
        _check_trailing(input, self.normalized_shape)
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

"""Loss layers: a Module for each loss of ``lamina.nn.functional``, with torch's arguments.

``reduction`` is 'mean' (the default), 'sum' or 'none'; torch's deprecated ``size_average`` / ``reduce`` pair
still works and overrides it, with a warning. Class weights are buffers, so they follow ``.to(dtype)`` and appear
in the state_dict, as in torch.
"""
import warnings

from lamina.errors import ArgumentError
from lamina.nn import functional as F
from lamina.nn.module import Module
from lamina.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average, reduce):
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  stacklevel=4)
    return reduction


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = _legacy_reduction(size_average, reduce)
        else:
            if reduction not in _REDUCTIONS:
                raise ArgumentError(f"{type(self).__name__}: reduction must be one of 'none', 'mean', 'sum', got "
                                    f"{reduction!r}")
            self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        _check_weight(type(self).__name__, "weight", weight)
        self.register_buffer("weight", weight)


def _check_weight(cls, name, weight):
    if weight is not None and not isinstance(weight, Tensor):
        raise ArgumentError(f"{cls}: {name} must be a lamina.Tensor or None, got {type(weight).__name__}")


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``.

    Example:
        >>> nn.L1Loss()(lamina.tensor([1.0, 2.0]), lamina.tensor([0.0, 4.0]))
        tensor(1.5000)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2``.

    Example:
        >>> loss = nn.MSELoss()(lamina.randn(3, 5, requires_grad=True), lamina.randn(3, 5))
        >>> loss.backward()
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (d = input - target)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        if not beta >= 0:
            raise ArgumentError(f"{type(self).__name__}: beta must be non-negative, got {beta}")
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)`` (d = input - target)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        if not delta > 0:
            raise ArgumentError(f"{type(self).__name__}: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of class indices under log-probabilities ``input`` (N, C) or (N, C, d1, ...).

    Args:
        weight: optional per-class weight (C,).
        ignore_index: target value that contributes nothing (default -100).
        reduction: 'mean' divides by the summed weights of the non-ignored targets.

    Example:
        >>> logp = nn.LogSoftmax(dim=1)(lamina.randn(3, 5))
        >>> nn.NLLLoss()(logp, lamina.tensor([1, 0, 4]))
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy of logits ``input`` against class indices or class probabilities ``target``.

    Args:
        weight: optional per-class weight (C,).
        ignore_index: class-index target that contributes nothing (default -100).
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: eps in [0, 1]; the target becomes (1 - eps) target + eps / C.

    Example:
        >>> loss = nn.CrossEntropyLoss()(lamina.randn(3, 5, requires_grad=True), lamina.tensor([1, 0, 4]))
        >>> loss.backward()
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ArgumentError(f"{type(self).__name__}: label_smoothing must be between 0.0 and 1.0, got "
                                f"{label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities ``input`` in [0, 1] against targets in [0, 1].

    Example:
        >>> p = nn.Sigmoid()(lamina.randn(3, requires_grad=True))
        >>> nn.BCELoss()(p, lamina.tensor([0.0, 1.0, 1.0]))
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross entropy in one numerically stable step, on logits ``input``.

    Args:
        weight: optional rescaling weight, broadcast to the input.
        pos_weight: optional weight of the positive term (one per class along the last dim is typical).

    Example:
        >>> nn.BCEWithLogitsLoss(pos_weight=lamina.ones(3))(lamina.randn(4, 3), lamina.rand(4, 3))
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        cls = type(self).__name__
        _check_weight(cls, "weight", weight)
        _check_weight(cls, "pos_weight", pos_weight)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence ``target * (log target - input)`` with ``input`` log-probabilities.

    Args:
        reduction: 'mean' (the mean over all elements, as torch), 'batchmean' (the sum divided by the batch
            size: the mathematically correct KL), 'sum' or 'none'.
        log_target: ``target`` holds log-probabilities too.

    Example:
        >>> kl = nn.KLDivLoss(reduction="batchmean")
        >>> kl(nn.LogSoftmax(dim=1)(lamina.randn(3, 5)), nn.Softmax(dim=1)(lamina.randn(3, 5)))
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__()
            self.reduction = "batchmean"
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

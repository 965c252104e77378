"""Loss modules against torch, with every reduction: values, gradients, buffers (class weights), reprs."""
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer

REDUCTIONS = ["mean", "sum", "none"]


def _pair(name, *args, **kw):
    l_kw = {k: (lamina.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    t_kw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    return getattr(nn, name)(*args, **l_kw), getattr(torch.nn, name)(*args, **t_kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                     ("SmoothL1Loss", dict(beta=0.5)), ("HuberLoss", {}),
                                     ("HuberLoss", dict(delta=0.3))])
def test_pointwise_losses(name, kw, reduction):
    l, t = _pair(name, reduction=reduction, **kw)
    check_layer(l, t, rand(3, 4) * 2, rand(3, 4) * 2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, dict(weight=rand(5, low=0.1)), dict(ignore_index=2),
                                dict(label_smoothing=0.1), dict(weight=rand(5, low=0.1), label_smoothing=0.2)])
def test_cross_entropy_loss(kw, reduction):
    l, t = _pair("CrossEntropyLoss", reduction=reduction, **kw)
    check_layer(l, t, rand(4, 5), np.array([0, 2, 4, 1]))
    check_layer(l, t, rand(2, 5, 3), np.array([[0, 2, 4], [1, 1, 3]]))


def test_cross_entropy_loss_probability_targets():
    l, t = _pair("CrossEntropyLoss", label_smoothing=0.1)
    target = np.abs(rand(4, 5))
    check_layer(l, t, rand(4, 5), (target / target.sum(1, keepdims=True)).astype(np.float32))


def test_cross_entropy_loss_extreme_logits_are_finite():
    x = lamina.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, lamina.tensor([1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, dict(weight=rand(3, low=0.1)), dict(ignore_index=1)])
def test_nll_loss(kw, reduction):
    l, t = _pair("NLLLoss", reduction=reduction, **kw)
    logp = np.log(np.abs(rand(4, 3)) + 0.1).astype(np.float32)
    check_layer(l, t, logp, np.array([0, 2, 1, 1]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, dict(weight=rand(3, low=0.1))])
def test_bce_loss(kw, reduction):
    l, t = _pair("BCELoss", reduction=reduction, **kw)
    check_layer(l, t, rand(2, 3, low=0.05, high=0.95), rand(2, 3, low=0, high=1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, dict(weight=rand(3, low=0.1)), dict(pos_weight=rand(3, low=0.5, high=2))])
def test_bce_with_logits_loss(kw, reduction):
    l, t = _pair("BCEWithLogitsLoss", reduction=reduction, **kw)
    check_layer(l, t, rand(2, 3) * 3, rand(2, 3, low=0, high=1))


def test_bce_with_logits_extreme_inputs_are_finite():
    x = lamina.tensor([350.0, -350.0, 400.0], requires_grad=True)
    loss = nn.BCEWithLogitsLoss()(x, lamina.tensor([0.0, 1.0, 1.0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss(reduction, log_target):
    l, t = _pair("KLDivLoss", reduction=reduction, log_target=log_target)
    logp = torch.log_softmax(torch.tensor(rand(3, 4)), 1).numpy()
    target = torch.softmax(torch.tensor(rand(3, 4)), 1).numpy()
    check_layer(l, t, logp, np.log(target) if log_target else target)


def test_loss_reprs_and_state_dicts():
    w = rand(3, low=0.1)
    for name, kw in [("MSELoss", {}), ("CrossEntropyLoss", dict(weight=w)), ("BCEWithLogitsLoss", dict(pos_weight=w)),
                     ("NLLLoss", {}), ("KLDivLoss", dict(reduction="batchmean")), ("HuberLoss", dict(delta=2.0))]:
        l, t = _pair(name, **kw)
        assert repr(l) == repr(t)
        assert list(l.state_dict()) == list(t.state_dict())


def test_loss_weight_follows_dtype_conversion():
    m = nn.CrossEntropyLoss(weight=lamina.ones(3)).double()
    assert m.weight.dtype == lamina.float64


def test_legacy_size_average_and_reduce():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning):
        assert nn.CrossEntropyLoss(size_average=True, reduce=True).reduction == "mean"


def test_loss_errors():
    check_error(lambda: nn.MSELoss(reduction="avg"), ArgumentError, "MSELoss", "reduction", "'avg'")
    check_error(lambda: nn.CrossEntropyLoss(label_smoothing=1.5), ArgumentError, "label_smoothing")
    check_error(lambda: nn.HuberLoss(delta=0), ArgumentError, "HuberLoss", "delta")
    check_error(lambda: nn.CrossEntropyLoss(weight=[1.0, 2.0]), ArgumentError, "weight", "lamina.Tensor")
    check_error(lambda: nn.CrossEntropyLoss()(lamina.randn(2, 3), lamina.tensor([0, 3])), LaminaError,
                "CrossEntropyLoss()", "3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_error(lambda: nn.L1Loss()(lamina.randn(2, 3), lamina.randn(4, 3)), ShapeError, "L1Loss()", "(2, 3)",
                    "(4, 3)")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_gradcheck(reduction):
    cases = [(nn.MSELoss, rand(2, 3), rand(2, 3)), (nn.L1Loss, rand(2, 3), rand(2, 3)),
             (nn.SmoothL1Loss, rand(2, 3) * 2, rand(2, 3)), (nn.HuberLoss, rand(2, 3) * 2, rand(2, 3)),
             (nn.CrossEntropyLoss, rand(3, 4), np.array([0, 3, 1])),
             (nn.NLLLoss, rand(3, 4), np.array([0, 3, 1])),
             (nn.BCELoss, rand(2, 3, low=0.1, high=0.9), rand(2, 3, low=0, high=1)),
             (nn.BCEWithLogitsLoss, rand(2, 3), rand(2, 3, low=0, high=1)),
             (nn.KLDivLoss, rand(2, 3), rand(2, 3, low=0.1, high=1))]
    for cls, x, target in cases:
        m = cls(reduction=reduction)
        xt = lamina.tensor(x.astype(np.float64), requires_grad=True)
        tt = lamina.tensor(target.astype(np.float64) if target.dtype.kind == "f" else target)
        assert lamina.autograd.gradcheck(lambda a: m(a, tt), (xt,)), cls.__name__

"""RELIABILITY.md's bad-input list, in one place: each raises a typed LaminaError that names the operator (or
layer), the argument and what was received. Never a bare NumPy traceback, a hang or a silent wrong answer."""
import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.errors import LaminaError
import lamina.nn.functional as F

x4 = lamina.randn(1, 3, 8, 8)
w = lamina.randn(4, 3, 3, 3)

CASES = {
    "negative dimension": (lambda: lamina.zeros(2, -3), "zeros()", "-3"),
    "element count overflow": (lambda: lamina.empty(2 ** 40, 2 ** 40), "empty()", "overflow"),
    "reshape incompatible": (lambda: lamina.ones(2, 3).reshape(4, 2), "reshape()", "[4, 2]", "6"),
    "dim out of range": (lambda: lamina.ones(2, 3).sum(dim=5), "sum()", "5"),
    "matmul shapes": (lambda: lamina.ones(2, 3) @ lamina.ones(4, 5), "matmul()", "(2, 3)"),
    "broadcast shapes": (lambda: lamina.ones(2, 3) + lamina.ones(4), "add()", "(4,)"),
    "conv channels": (lambda: F.conv2d(lamina.randn(1, 2, 8, 8), w), "conv2d()", "3"),
    "conv kernel larger than input": (lambda: F.conv2d(lamina.randn(1, 3, 2, 2), w), "conv2d()", "kernel"),
    "conv stride <= 0": (lambda: F.conv2d(x4, w, stride=0), "conv2d()", "stride"),
    "conv dilation <= 0": (lambda: F.conv2d(x4, w, dilation=-1), "conv2d()", "dilation"),
    "conv negative padding": (lambda: F.conv2d(x4, w, padding=-1), "conv2d()", "padding"),
    "conv groups": (lambda: F.conv2d(x4, lamina.randn(4, 1, 3, 3), groups=2), "conv2d()", "groups"),
    "conv same with stride": (lambda: F.conv2d(x4, w, padding="same", stride=2), "conv2d()", "same"),
    "pool kernel too large": (lambda: F.max_pool2d(lamina.randn(1, 1, 2, 2), 3), "max_pool2d()", "kernel"),
    "pool stride <= 0": (lambda: F.avg_pool2d(x4, 2, stride=0), "avg_pool2d()", "stride"),
    "class index out of range": (lambda: F.cross_entropy(lamina.randn(2, 5), lamina.tensor([1, 7])),
                                 "cross_entropy()", "7"),
    "nll class index": (lambda: F.nll_loss(lamina.randn(2, 5), lamina.tensor([-2, 1])), "nll_loss()", "-2"),
    "unknown reduction": (lambda: F.mse_loss(lamina.ones(2), lamina.ones(2), reduction="avg"), "mse_loss()", "avg"),
    "loss shapes": (lambda: F.mse_loss(lamina.ones(2, 3), lamina.ones(3, 2)), "mse_loss()", "(3, 2)"),
    "batchnorm one value per channel": (lambda: nn.BatchNorm1d(3)(lamina.randn(1, 3)), "BatchNorm1d", "channel"),
    "eps <= 0": (lambda: F.layer_norm(lamina.ones(2, 3), (3,), eps=0.0), "layer_norm()", "eps"),
    "optimizer lr < 0": (lambda: lamina.optim.SGD([nn.Parameter(lamina.ones(1))], lr=-1), "learning rate", "-1"),
    "optimizer betas": (lambda: lamina.optim.Adam([nn.Parameter(lamina.ones(1))], betas=(1.0, 0.9)), "beta", "1.0"),
    "requires_grad on integers": (lambda: lamina.tensor([1, 2], requires_grad=True), "requires_grad", "floating"),
    "linear in a model": (lambda: nn.Sequential(nn.Linear(4, 3), nn.Linear(2, 1))(lamina.ones(1, 4)), "1 (Linear",
                          "(1, 3)"),
    "embedding index": (lambda: F.embedding(lamina.tensor([5]), lamina.randn(3, 2)), "embedding()", "5"),
    "dropout p": (lambda: F.dropout(lamina.ones(2), p=1.5), "dropout()", "1.5"),
    "gather index": (lambda: lamina.ones(2, 3).gather(1, lamina.tensor([[3]])), "gather()", "3"),
    "getitem index": (lambda: lamina.ones(2, 3)[5], "5", "2"),
    "bmm batch": (lambda: lamina.ones(2, 3, 4).bmm(lamina.ones(3, 4, 5)), "bmm()", "2"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_a_typed_error_that_teaches(name):
    fn, *fragments = CASES[name]
    with pytest.raises(LaminaError) as info:
        fn()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{name}: {fragment!r} not in {message!r}"


def test_backward_errors():
    x = lamina.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(LaminaError, match="second time"):
        y.backward()
    with pytest.raises(LaminaError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(LaminaError, match="leaf"):
        x.mul_(2)
    z = x.exp()
    w = z * 2
    z.add_(1)
    with pytest.raises(LaminaError, match="in-place"):
        w.sum().backward()

"""The common-case fast paths of F.linear and nn.Linear give what the general paths give (docs/performance.md)."""
import numpy as np
import torch

import lamina
from lamina import nn
from lamina.errors import ShapeError
from lamina.ops import nn as ops_nn
from tests.helpers import check_error


def test_fast_path_matches_torch_forward_and_grads():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in [(5, 3), (4, 3), (4,)])
    lx, lw, lb = (lamina.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    assert ops_nn._is_plain_linear(lx, lw, lb)
    out, ref = lamina.nn.functional.linear(lx, lw, lb), torch.nn.functional.linear(tx, tw, tb)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal((5, 4)).astype(np.float32)
    out.backward(lamina.tensor(g))
    ref.backward(torch.tensor(g))
    for a, t in ((lx, tx), (lw, tw), (lb, tb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_general_path_still_taken_and_checked():
    x, w = lamina.randn(2, 3), lamina.randn(4, 3)
    assert not ops_nn._is_plain_linear(x, w, lamina.randn(1, 4))      # a 2-d bias broadcasts: general path
    assert not ops_nn._is_plain_linear(x.double(), w, None)            # dtype mismatch: the general check raises
    assert not ops_nn._is_plain_linear([[1.0, 2.0, 3.0]], w, None)     # a list is converted by the general path
    assert lamina.nn.functional.linear(x, w, lamina.zeros(1, 4)).shape == (2, 4)
    check_error(lambda: lamina.nn.functional.linear(x, w, lamina.zeros(5)), ShapeError, "linear()", "bias")


def test_module_reads_weight_set_outside_the_registry():
    fc = nn.Linear(3, 2)
    w = fc.weight.detach() * 2
    del fc.weight                      # as a reparametrization does: weight becomes a plain attribute
    fc.weight = w
    x = lamina.randn(4, 3)
    expected = lamina.nn.functional.linear(x, w, fc.bias)
    np.testing.assert_array_equal(fc(x).detach().numpy(), expected.detach().numpy())

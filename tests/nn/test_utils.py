"""nn.utils against torch: clip_grad_norm_ (every norm type), clip_grad_value_, parameters_to_vector,
vector_to_parameters."""
import math

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, ShapeError
from tests.helpers import assert_close, check_error, rand
from tests.nn.layer_helpers import load_from_torch


def _twins_with_grads(scale=1.0):
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False))
    l = load_from_torch(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False)), t)
    x = rand(5, 3) * scale
    (t(torch.tensor(x)) ** 2).sum().backward()
    (l(lamina.tensor(x)) ** 2).sum().backward()
    return l, t


def _compare_grads(l, t):
    for (name, lp), tp in zip(l.named_parameters(), t.parameters()):
        assert_close(lp.grad, tp.grad, 1e-5, 1e-6, what=f"grad of {name}")


@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, 0.0])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    l, t = _twins_with_grads(scale=3.0)
    total_l = nn.utils.clip_grad_norm_(l.parameters(), max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(t.parameters(), max_norm, norm_type)
    assert_close(total_l, total_t, 1e-5, 1e-6)
    _compare_grads(l, t)


def test_clip_grad_norm_result_norm_and_single_tensor():
    l, _ = _twins_with_grads(scale=3.0)
    nn.utils.clip_grad_norm_(l.parameters(), 1.0)
    norm = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in l.parameters()))
    assert norm == pytest.approx(1.0, rel=1e-5)
    p = nn.Parameter(lamina.ones(4))
    p.grad = lamina.full((4,), 2.0)
    total = nn.utils.clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(4.0) and np.allclose(p.grad.numpy(), 0.5, rtol=1e-5)


def test_clip_grad_norm_no_grads_and_nonfinite():
    assert nn.utils.clip_grad_norm_([nn.Parameter(lamina.ones(2))], 1.0).item() == 0.0
    p = nn.Parameter(lamina.ones(2))
    p.grad = lamina.tensor([float("inf"), 1.0])
    check_error(lambda: nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True), ArgumentError,
                "non-finite", "error_if_nonfinite=False")
    with pytest.warns(UserWarning, match="empty generator"):
        nn.utils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("clip", [0.01, 0.5, 100.0])
def test_clip_grad_value_matches_torch(clip):
    l, t = _twins_with_grads(scale=2.0)
    assert nn.utils.clip_grad_value_(l.parameters(), clip) is None
    torch.nn.utils.clip_grad_value_(t.parameters(), clip)
    _compare_grads(l, t)


def test_parameters_to_vector_and_back():
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    l = load_from_torch(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), t)
    vec_l = nn.utils.parameters_to_vector(l.parameters())
    vec_t = torch.nn.utils.parameters_to_vector(t.parameters())
    assert_close(vec_l, vec_t)
    assert vec_l.requires_grad      # differentiable, like torch.cat
    (vec_l * 2).sum().backward()
    assert np.all(l[0].weight.grad.numpy() == 2)
    new = rand(vec_t.numel())
    nn.utils.vector_to_parameters(lamina.tensor(new), l.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), t.parameters())
    for lp, tp in zip(l.parameters(), t.parameters()):
        assert_close(lp.detach(), tp.detach())
    assert l[0].weight.shape == (4, 3) and l[0].weight.requires_grad


def test_vector_to_parameters_errors():
    params = list(nn.Linear(2, 2).parameters())
    check_error(lambda: nn.utils.vector_to_parameters([1.0] * 6, params), ArgumentError, "lamina.Tensor", "list")
    check_error(lambda: nn.utils.vector_to_parameters(lamina.zeros(5), params), ShapeError, "6 elements", "(5,)")
    check_error(lambda: nn.utils.parameters_to_vector([]), ArgumentError, "non-empty")

"""Flatten and Unflatten against torch."""
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer, gradcheck_layer


@pytest.mark.parametrize("args", [(), (0,), (0, 2), (1, 2), (-2, -1), (2, 2)])
def test_flatten(args):
    check_layer(nn.Flatten(*args), torch.nn.Flatten(*args), rand(2, 3, 4, 5))


@pytest.mark.parametrize("dim,sizes,shape", [(1, (3, 4), (2, 12, 5)), (-1, (2, -1), (2, 3, 6)),
                                             (0, [1, 2], (2, 3)), (2, (5,), (2, 3, 5))])
def test_unflatten(dim, sizes, shape):
    check_layer(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), rand(*shape))


def test_flatten_gradcheck_and_errors():
    gradcheck_layer(nn.Sequential(nn.Flatten(), nn.Unflatten(1, (2, 3))), rand(2, 3, 2))
    check_error(lambda: nn.Flatten(1.5), ArgumentError, "Flatten", "start_dim")
    check_error(lambda: nn.Unflatten(1, 6), ArgumentError, "Unflatten", "unflattened_size")
    net = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (5, 5)))
    check_error(lambda: net(lamina.randn(2, 3, 4)), LaminaError, "1 (Unflatten(dim=1, unflattened_size=(5, 5)))")

"""Embedding against torch: lookup, gradients (padding_idx gets none), max_norm, from_pretrained, init, errors."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, IndexError_, LaminaError, ShapeError
from tests.helpers import check_error
from tests.nn.layer_helpers import check_layer, gradcheck_layer

IDS = np.array([[1, 2, 4, 5], [4, 3, 2, 9]], dtype=np.int64)


@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=0), dict(padding_idx=-1), dict(scale_grad_by_freq=True),
                                dict(max_norm=1.0), dict(max_norm=0.5, norm_type=1.0)])
def test_embedding_matches_torch(kw):
    l, t = nn.Embedding(10, 3, **kw), torch.nn.Embedding(10, 3, **kw)
    ids = IDS.copy()
    if kw.get("padding_idx") is not None:
        ids[0, 0] = kw["padding_idx"] % 10
    check_layer(l, t, ids)


def test_embedding_padding_row_zero_at_init_and_no_gradient():
    m = nn.Embedding(6, 4, padding_idx=2)
    assert np.all(m.weight.detach().numpy()[2] == 0)
    m(lamina.tensor([[2, 2, 1]])).sum().backward()
    g = m.weight.grad.numpy()
    assert np.all(g[2] == 0) and np.all(g[1] == 1)


def test_embedding_init_is_standard_normal():
    lamina.manual_seed(0)
    w = nn.Embedding(1000, 64).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_embedding_max_norm_renormalizes_rows_in_place():
    m = nn.Embedding(5, 3, max_norm=1.0)
    with lamina.no_grad():
        m.weight.mul_(10.0)
    m(lamina.tensor([1, 3]))
    norms = np.linalg.norm(m.weight.detach().numpy(), axis=1)
    assert np.all(norms[[1, 3]] <= 1.0 + 1e-5) and np.all(norms[[0, 2, 4]] > 1.0)


def test_embedding_from_pretrained():
    table = lamina.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    m = nn.Embedding.from_pretrained(table)
    assert not m.weight.requires_grad
    out = m(lamina.tensor([1]))
    assert np.allclose(out.numpy(), [[4.0, 5.1, 6.3]])
    t = torch.nn.Embedding.from_pretrained(torch.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]]))
    assert repr(m) == repr(t)
    m2 = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert m2.weight.requires_grad and m2.padding_idx == 0
    assert np.allclose(m2.weight.detach().numpy()[0], [1.0, 2.3, 3.0])    # not zeroed, as in torch
    check_error(lambda: nn.Embedding.from_pretrained(lamina.ones(3)), ShapeError, "2-d")


def test_embedding_reprs():
    for args, kw in [((10, 3), dict()), ((10, 3), dict(padding_idx=0, max_norm=1.0)),
                     ((10, 3), dict(norm_type=1.0, scale_grad_by_freq=True)), ((5, 2), dict(sparse=True))]:
        assert repr(nn.Embedding(*args, **kw)) == repr(torch.nn.Embedding(*args, **kw))


def test_embedding_gradcheck():
    # without padding_idx: its row gets a zero gradient by design, not the true derivative
    gradcheck_layer(nn.Embedding(4, 2), np.array([0, 1, 3, 0], dtype=np.int64))


def test_embedding_errors():
    check_error(lambda: nn.Embedding(5, 2, padding_idx=5), ArgumentError, "Embedding", "padding_idx", "5")
    check_error(lambda: nn.Embedding(5, 2, padding_idx=-6), ArgumentError, "padding_idx")
    check_error(lambda: nn.Embedding(-1, 2), ArgumentError, "num_embeddings")
    net = nn.Sequential(nn.Embedding(5, 2))
    check_error(lambda: net(lamina.tensor([1, 7])), IndexError_, "0 (Embedding(5, 2))", "index 7 out of range")
    check_error(lambda: net(lamina.tensor([1.0])), LaminaError, "int64 or int32")

"""Temperature, top-k and top-p sampling, tested statistically with a fixed seed."""
import numpy as np
import pytest

import lamina
from lamina.errors import ArgumentError, ShapeError
from tests.helpers import check_error

LOGITS = np.log(np.array([0.5, 0.25, 0.15, 0.1]))


def _freqs(n=20000, **kwargs):
    g = lamina.Generator().manual_seed(0)
    logits = lamina.tensor(np.tile(LOGITS, (n, 1)).astype(np.float32))
    draws = lamina.sample(logits, generator=g, **kwargs).numpy()
    return np.bincount(draws, minlength=4) / n


def test_temperature_one_matches_the_softmax():
    np.testing.assert_allclose(_freqs(), [0.5, 0.25, 0.15, 0.1], atol=0.015)


def test_temperature_reshapes_the_distribution():
    for t in (0.5, 1.5):
        p = np.exp(LOGITS / t) / np.exp(LOGITS / t).sum()
        np.testing.assert_allclose(_freqs(temperature=t), p, atol=0.015)
    assert _freqs(temperature=0.5)[0] > 0.5 > _freqs(temperature=1.5)[0]


def test_temperature_zero_is_argmax():
    assert _freqs(n=100, temperature=0)[0] == 1.0
    assert lamina.sample(lamina.tensor([0.1, 2.0, 0.3]), temperature=0).item() == 1


def test_top_k_and_top_p_filter_before_sampling():
    np.testing.assert_allclose(_freqs(top_k=2), [2 / 3, 1 / 3, 0, 0], atol=0.015)
    # cumulative 0.5, 0.75, 0.9: top_p=0.7 keeps the first two, 0.8 the first three
    np.testing.assert_allclose(_freqs(top_p=0.7), [2 / 3, 1 / 3, 0, 0], atol=0.015)
    np.testing.assert_allclose(_freqs(top_p=0.8), [0.5 / 0.9, 0.25 / 0.9, 0.15 / 0.9, 0], atol=0.015)
    assert _freqs(n=200, top_p=0.1)[0] == 1.0


def test_shapes_determinism_and_errors():
    g1, g2 = lamina.Generator().manual_seed(3), lamina.Generator().manual_seed(3)
    logits = lamina.randn(5, 7)
    a, b = lamina.sample(logits, generator=g1), lamina.sample(logits, generator=g2)
    assert a.shape == (5,) and a.dtype == lamina.int64 and a.tolist() == b.tolist()
    check_error(lambda: lamina.sample(logits, temperature=-1), ArgumentError, "temperature")
    check_error(lambda: lamina.sample(logits, top_k=0), ArgumentError, "top_k")
    check_error(lambda: lamina.sample(logits, top_p=1.5), ArgumentError, "top_p")
    check_error(lambda: lamina.sample(lamina.zeros(2, 3, 4)), ShapeError, "(2, 3, 4)")


def test_generate_extends_the_prompt():
    class Bigram(lamina.nn.Module):
        block_size = 4

        def forward(self, ids):
            # always predict (last token + 1) mod 5 with certainty
            nxt = (ids._data + 1) % 5
            return lamina.tensor(np.eye(5, dtype=np.float32)[nxt] * 50)

    out = lamina.generate(Bigram(), lamina.tensor([[0, 1]]), max_new_tokens=6, temperature=0.8)
    assert out.tolist() == [[0, 1, 2, 3, 4, 0, 1, 2]]

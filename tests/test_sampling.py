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


def test_temperature_filters_and_masks_combine():
    # top-k keeps the two best; temperature 0.5 then squares their odds: 0.5^2 : 0.25^2 = 0.8 : 0.2
    np.testing.assert_allclose(_freqs(temperature=0.5, top_k=2), [0.8, 0.2, 0, 0], atol=0.015)
    # a token at -inf is masked out and never drawn, whatever the temperature
    g = lamina.Generator().manual_seed(1)
    masked = lamina.tensor(np.tile([0.0, -np.inf, 0.0], (5000, 1)).astype(np.float32))
    for t in (0.5, 1.0, 3.0):
        draws = lamina.sample(masked, temperature=t, generator=g).numpy()
        assert 1 not in draws and 0.45 < (draws == 0).mean() < 0.55
    # a numpy integer is an int
    assert lamina.sample(lamina.tensor([0.0, 5.0, 1.0]), top_k=np.int64(1)).item() == 1


def test_sampling_is_repeatable_with_the_default_generator():
    logits = lamina.randn(4, 50)
    lamina.manual_seed(11)
    a = [lamina.sample(logits, temperature=1.3).tolist() for _ in range(3)]
    lamina.manual_seed(11)
    b = [lamina.sample(logits, temperature=1.3).tolist() for _ in range(3)]
    assert a == b and len({tuple(x) for x in a}) > 1


def test_bad_logits_and_arguments():
    check_error(lambda: lamina.sample(lamina.tensor([0.0, float("nan")])), ArgumentError, "NaN")
    check_error(lambda: lamina.sample(lamina.tensor([0.0, float("inf")])), ArgumentError, "+inf")
    check_error(lambda: lamina.sample(lamina.tensor([[0.0, 1.0], [-np.inf, -np.inf]])), ArgumentError, "-inf")
    check_error(lambda: lamina.sample(lamina.zeros(2, 0)), ShapeError, "(2, 0)")
    check_error(lambda: lamina.sample(lamina.zeros(3), temperature=float("nan")), ArgumentError, "temperature")
    check_error(lambda: lamina.sample(lamina.zeros(3), top_k=True), ArgumentError, "top_k")
    check_error(lambda: lamina.sample(lamina.zeros(3), top_p=0), ArgumentError, "top_p")


def test_generate_samples_from_the_last_position_with_filters():
    class Uniform(lamina.nn.Module):
        """Uniform over 10 tokens, except that the last position strongly prefers token 7."""

        def forward(self, ids):
            logits = np.zeros(tuple(ids.shape) + (10,), dtype=np.float32)
            logits[:, -1, 7] = 3.0
            return lamina.tensor(logits)

    prompt = lamina.tensor([[1, 2], [3, 4]])
    greedy = lamina.generate(Uniform(), prompt, max_new_tokens=3, temperature=0)
    assert greedy.tolist() == [[1, 2, 7, 7, 7], [3, 4, 7, 7, 7]]
    a = lamina.generate(Uniform(), prompt, 20, temperature=2.0, generator=lamina.Generator().manual_seed(4))
    b = lamina.generate(Uniform(), prompt, 20, temperature=2.0, generator=lamina.Generator().manual_seed(4))
    assert a.tolist() == b.tolist() and a.shape == (2, 22) and len(set(a[:, 2:].numpy().ravel())) > 3
    assert set(lamina.generate(Uniform(), prompt, 30, top_k=1)[:, 2:].numpy().ravel()) == {7}
    check_error(lambda: lamina.generate(Uniform(), prompt, -1), ArgumentError, "max_new_tokens")
    check_error(lambda: lamina.generate(Uniform(), lamina.zeros(1, 0, dtype=lamina.int64), 2), ShapeError,
                "(1, 0)")


def test_generate_crops_the_context_to_block_size():
    seen = []

    class Recorder(lamina.nn.Module):
        block_size = 3

        def forward(self, ids):
            seen.append(ids.shape[1])
            return lamina.zeros(ids.shape[0], ids.shape[1], 5)

    lamina.generate(Recorder(), lamina.tensor([0, 1]), max_new_tokens=4)
    assert seen == [2, 3, 3, 3]
    seen.clear()
    out = lamina.generate(Recorder(), lamina.tensor([0, 1]), max_new_tokens=3, block_size=1)
    assert seen == [1, 1, 1] and out.shape == (1, 5)

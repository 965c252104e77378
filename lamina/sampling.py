"""Sampling tokens from logits: temperature, top-k and top-p (nucleus) filtering, and an autoregressive loop.

Temperature divides the logits before the softmax: below 1 it sharpens the distribution towards the most likely
token (0 means always take it), above 1 it flattens it. top-k keeps the k most likely tokens; top-p keeps the
smallest set of most likely tokens whose probabilities add up to at least p.
"""
import numbers

from lamina.autograd import no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.random import default_generator
from lamina.tensor import Tensor


def sample(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw one token index per row of ``logits``.

    Args:
        logits: (V,) or (B, V) unnormalised log-probabilities.
        temperature: >= 0; 0 picks the argmax.
        top_k: keep only the k largest logits (None keeps all).
        top_p: keep the smallest set of tokens with cumulative probability >= top_p, in (0, 1].
        generator: a ``lamina.Generator``; the default generator otherwise.
    Returns:
        int64 tensor of shape () for 1-d logits or (B,).

    Example:
        >>> lamina.sample(lamina.tensor([[1.0, 3.0, 0.5]]), temperature=0.5, top_k=2)
    """
    data = logits._data if isinstance(logits, Tensor) else xp.asarray(logits)
    if data.ndim not in (1, 2) or data.shape[-1] == 0:
        raise ShapeError(f"sample(): expected logits of shape (V,) or (B, V) with V > 0, got {tuple(data.shape)}")
    if not isinstance(temperature, numbers.Real) or not temperature >= 0 or temperature == float("inf"):
        raise ArgumentError(f"sample(): temperature must be a finite number >= 0, got {temperature!r}")
    vocab = data.shape[-1]
    if top_k is not None and not (isinstance(top_k, numbers.Integral) and not isinstance(top_k, bool)
                                  and top_k >= 1):
        raise ArgumentError(f"sample(): top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, numbers.Real) and 0 < top_p <= 1):
        raise ArgumentError(f"sample(): top_p must lie in (0, 1], got {top_p!r}")
    rows = data.reshape(-1, vocab).astype(xp.float64)
    # -inf masks a token out; NaN, +inf or a row with nothing left would make the draw meaningless
    if xp.isnan(rows).any() or xp.isposinf(rows).any():
        raise ArgumentError("sample(): logits contain NaN or +inf")
    if (rows == -xp.inf).all(-1).any():
        raise ArgumentError("sample(): a row of logits is -inf everywhere: no token can be drawn")
    top_k = None if top_k is None else int(top_k)
    if temperature == 0:
        out = rows.argmax(-1)
    else:
        rows = rows / temperature
        if top_k is not None and top_k < vocab:
            kth = xp.partition(rows, vocab - top_k, axis=-1)[:, vocab - top_k:vocab - top_k + 1]
            rows = xp.where(rows < kth, -xp.inf, rows)
        probs = _softmax(rows)
        if top_p is not None and top_p < 1:
            order = xp.argsort(-probs, axis=-1, kind="stable")
            sorted_probs = xp.take_along_axis(probs, order, -1)
            before = xp.cumsum(sorted_probs, -1) - sorted_probs  # mass of the tokens ranked above each one
            drop_sorted = before >= top_p                       # the first token always stays
            drop = xp.zeros_like(drop_sorted)
            xp.put_along_axis(drop, order, drop_sorted, -1)
            probs = xp.where(drop, 0.0, probs)
            probs /= probs.sum(-1, keepdims=True)
        u = (generator or default_generator).np.random((rows.shape[0], 1))
        out = (xp.cumsum(probs, -1) < u).sum(-1)
        out = xp.minimum(out, vocab - 1)  # guards the cumulative sum's last rounding
    out = out.astype(xp.int64)
    return Tensor._make(out.reshape(data.shape[:-1]))


def _softmax(rows):
    shifted = rows - rows.max(-1, keepdims=True)
    e = xp.exp(shifted)
    return e / e.sum(-1, keepdims=True)


def generate(model, prompt, max_new_tokens, temperature=1.0, top_k=None, top_p=None, block_size=None,
             generator=None):
    """Extend ``prompt`` (B, T) int64 token ids by ``max_new_tokens`` sampled from ``model``'s last-position logits.

    ``model(ids)`` must return logits of shape (B, T, V) (or a tuple whose first element is that); the context is
    cropped to ``block_size`` (default: ``model.block_size`` if it has one).
    """
    if not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
        raise ArgumentError(f"generate(): max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    ids = prompt if isinstance(prompt, Tensor) else Tensor._make(xp.asarray(prompt, dtype=xp.int64))
    if ids.ndim not in (1, 2) or ids.shape[-1] == 0:
        raise ShapeError(f"generate(): expected a prompt of token ids (T,) or (B, T) with T > 0, got "
                         f"{tuple(ids.shape)}")
    if ids.ndim == 1:
        ids = Tensor._make(ids._data[None])
    if block_size is None:
        block_size = getattr(model, "block_size", None)
    with no_grad():
        for _ in range(max_new_tokens):
            context = ids._data if block_size is None else ids._data[:, -block_size:]
            logits = model(Tensor._make(context))
            if isinstance(logits, tuple):
                logits = logits[0]
            if logits.ndim != 3:
                raise ShapeError(f"generate(): the model must return logits (B, T, V), got {tuple(logits.shape)}")
            nxt = sample(Tensor._make(logits._data[:, -1]), temperature, top_k, top_p, generator)
            ids = Tensor._make(xp.concatenate([ids._data, nxt._data[:, None]], axis=1))
    return ids

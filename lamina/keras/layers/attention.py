"""Keras attention layers: MultiHeadAttention and Attention (dot-product, Luong-style).

MultiHeadAttention projects query, key and value with EinsumDense sublayers whose weights have Keras's names and
shapes (``query``/``key``: kernel ``(dim, num_heads, key_dim)``, bias ``(num_heads, key_dim)``; ``value``: kernel
``(dim, num_heads, value_dim)``; ``attention_output``: kernel ``(num_heads, value_dim, output_dim)``), so Keras
weights transfer with ``set_weights``. Masks follow Keras: a boolean ``attention_mask`` ``(B, T, S)`` (True =
attend), the Keras masks of query/value/key (from Embedding's ``mask_zero``), and ``use_causal_mask``; masked
scores get -1e9 before the softmax and are zeroed after it, so a fully masked row gives zeros, not NaN.
"""
import math
import string

import lamina
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import constraints, initializers, regularizers
from lamina.keras.backend import KerasTensor
from lamina.keras.layers._args import check_positive_int, check_rate
from lamina.keras.layers.core import Dropout, EinsumDense
from lamina.keras.layers.layer import Layer
from lamina.nn import functional as F

_LARGE_NEGATIVE = -1e9  # what Keras adds to masked scores (float32)


def _masked_softmax(scores, mask, axes):
    """Softmax over ``axes`` with masked positions excluded (and zero in the result)."""
    if mask is not None:
        scores = lamina.where(mask, scores, _LARGE_NEGATIVE)
    if len(axes) == 1:
        out = F.softmax(scores, dim=axes[0])
    else:
        out = lamina.exp(scores - lamina.logsumexp(scores, axes, keepdim=True))
    return lamina.where(mask, out, 0.0) if mask is not None else out


def _causal_mask(q_len, v_len):
    """``(1, T, S)`` boolean lower-triangular mask: query position i sees value positions j <= i."""
    return lamina.tril(lamina.ones((q_len, v_len), dtype=lamina.bool)).reshape(1, q_len, v_len)


def _proj_equation(free_dims, bound_dims, output_dims):
    """Keras's projection einsum: free axes pass through, bound axes are contracted, output axes are new."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, len(free) + len(out)


def _attention_equations(rank, attn_axes):
    """The query-key product and the combination with the values, as einsum equations (Keras's layout)."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes and i != rank - 1)
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes] +
                      [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017) with Keras's arguments and weights.

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: the projections have biases.
        output_shape: the output's trailing shape (default: the query's last axis).
        attention_axes: the axes attention runs over (default: all axes between batch and features).

    Call arguments:
        query ``(B, T, dim)``, value ``(B, S, dim)``, key (default value), attention_mask ``(B, T, S)`` boolean,
        return_attention_scores (also return ``(B, num_heads, T, S)``), training, use_causal_mask.

    Example:
        >>> mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        >>> mha(lamina.ones(2, 5, 8), lamina.ones(2, 3, 8)).shape
        lamina.Size([2, 5, 8])
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, use_gate=False, sliding_window=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads = check_positive_int(num_heads, "MultiHeadAttention", "num_heads")
        self.key_dim = check_positive_int(key_dim, "MultiHeadAttention", "key_dim")
        self.value_dim = self.key_dim if value_dim is None else check_positive_int(value_dim, "MultiHeadAttention",
                                                                                  "value_dim")
        if use_gate or sliding_window is not None:
            raise ArgumentError("MultiHeadAttention: use_gate and sliding_window are not supported by Lamina")
        self.dropout = check_rate(dropout, "MultiHeadAttention", "dropout")
        self.use_bias = bool(use_bias)
        if output_shape is not None:
            output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self._output_shape = output_shape
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        self._attention_axes_arg = None if attention_axes is None else tuple(attention_axes)
        self.attention_axes = self._attention_axes_arg
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.key_dim))

    def __call__(self, query, value, key=None, **kwargs):
        # key is passed explicitly (None when absent) so build(query_shape, value_shape, key_shape) can be
        # matched to the call's arguments.
        return super().__call__(query, value, key=key, **kwargs)

    def _sublayer_kwargs(self):
        # Each projection gets its own copy of the initializers (a seeded one gives each the same values, as in
        # Keras).
        return dict(kernel_initializer=type(self.kernel_initializer).from_config(self.kernel_initializer.get_config()),
                    bias_initializer=type(self.bias_initializer).from_config(self.bias_initializer.get_config()),
                    kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
                    kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
                    dtype=self.dtype)

    def _projection(self, input_rank, heads_dim, name):
        equation, bias_axes, out_rank = _proj_equation(input_rank - 1, 1, 2)
        return EinsumDense(equation, output_shape=[None] * (out_rank - 1 - 2) + [self.num_heads, heads_dim],
                           bias_axes=bias_axes if self.use_bias else None, name=name, **self._sublayer_kwargs())

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ShapeError(f"MultiHeadAttention '{self.name}': value and key must match on every axis but the "
                             f"last, got value shape {tuple(value_shape)} and key shape {tuple(key_shape)}")
        q_rank = len(query_shape)
        self.query_dense = self._projection(q_rank, self.key_dim, "query")
        self.query_dense.build(tuple(query_shape))
        self.key_dense = self._projection(len(key_shape), self.key_dim, "key")
        self.key_dense.build(tuple(key_shape))
        self.value_dense = self._projection(len(value_shape), self.value_dim, "value")
        self.value_dense.build(tuple(value_shape))
        output_shape = list(self._output_shape) if self._output_shape else [query_shape[-1]]
        equation, bias_axes, out_rank = _proj_equation(q_rank - 1, 2, len(output_shape))
        self.output_dense = EinsumDense(equation, output_shape=[None] * (out_rank - 1 - len(output_shape)) +
                                        output_shape, bias_axes=bias_axes if self.use_bias else None,
                                        name="attention_output", **self._sublayer_kwargs())
        heads_shape = list(self.query_dense.compute_output_shape(tuple(query_shape)))
        heads_shape[-1] = self.value_dim  # the attention output: (B, T, num_heads, value_dim)
        self.output_dense.build(tuple(heads_shape))
        self._build_attention(q_rank + 1)

    def _build_attention(self, rank):
        if self._attention_axes_arg is None:
            axes = tuple(range(1, rank - 2))
        else:
            axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes_arg)
        self.attention_axes = axes
        self._dot_equation, self._combine_equation, scores_rank = _attention_equations(rank, axes)
        self._norm_axes = tuple(range(scores_rank - len(axes), scores_rank))
        self.dropout_layer = Dropout(rate=self.dropout, seed=self.seed, dtype=self.dtype)

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """Merge the masks into one boolean ``(B, T, S)``-like mask (True = attend), as Keras does."""
        auto = None
        if query_mask is not None:
            auto = lamina.unsqueeze(query_mask.to(lamina.bool), -1)             # (B, T, 1)
        for m in (value_mask, key_mask):
            if m is not None:
                m = lamina.unsqueeze(m.to(lamina.bool), -2)                      # (B, 1, S)
                auto = m if auto is None else lamina.logical_and(auto, m)
        if use_causal_mask:
            m = _causal_mask(query.shape[1], value.shape[1])
            auto = m if auto is None else lamina.logical_and(auto, m)
        if attention_mask is not None:
            attention_mask = attention_mask.to(lamina.bool)
        if auto is not None:
            attention_mask = auto if attention_mask is None else lamina.logical_and(attention_mask, auto)
        return attention_mask

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        if key is None:
            key = value
        query_mask = query.__dict__.get("_keras_mask") if query_mask is None else query_mask
        value_mask = value.__dict__.get("_keras_mask") if value_mask is None else value_mask
        if key is not value and key_mask is None:
            key_mask = key.__dict__.get("_keras_mask")
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        q = self.query_dense(query)
        k = self.key_dense(key)
        v = self.value_dense(value)
        output, scores = self._compute_attention(q, k, v, mask, training)
        output = self.output_dense(output)
        if query_mask is not None:
            output._keras_mask = query_mask
        return (output, scores) if return_attention_scores else output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        """Scaled dot-product attention over the projected ``(B, T, N, H)`` tensors."""
        query = query * self.inverse_sqrt_key_dim
        scores = lamina.einsum(self._dot_equation, key, query)
        if attention_mask is not None:
            # (B, T, S) -> (B, 1, T, S): a new axis for the heads (Keras's expansion axis).
            axis = -len(self.attention_axes) * 2 - 1
            while attention_mask.ndim < scores.ndim:
                attention_mask = lamina.unsqueeze(attention_mask, axis)
        scores = _masked_softmax(scores, attention_mask, self._norm_axes)
        dropped = self.dropout_layer(scores, training=training) if self.dropout > 0 else scores
        return lamina.einsum(self._combine_equation, dropped, value), scores

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ShapeError(f"MultiHeadAttention '{self.name}': value and key must match on every axis but the "
                             f"last, got value shape {tuple(value_shape)} and key shape {tuple(key_shape)}")
        if self._output_shape:
            return tuple(query_shape[:-1]) + tuple(self._output_shape)
        return tuple(query_shape)

    def compute_output_spec(self, query, value, key=None, return_attention_scores=False, **kwargs):
        shape = self.compute_output_shape(query.shape, value.shape, None if key is None else key.shape)
        output = KerasTensor(shape, dtype=self.dtype)
        if return_attention_scores:
            return output, KerasTensor((query.shape[0], self.num_heads, query.shape[1], value.shape[1]),
                                       dtype=self.dtype)
        return output

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
            "dropout": self.dropout, "use_bias": self.use_bias, "use_gate": False,
            "output_shape": None if self._output_shape is None else list(self._output_shape),
            "attention_axes": None if self._attention_axes_arg is None else list(self._attention_axes_arg),
            "sliding_window": None,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        })
        return config


class Attention(Layer):
    """Dot-product (Luong-style) attention over ``[query, value]`` or ``[query, value, key]``.

    ``scores = query @ key^T`` (times a learned ``scale`` with ``use_scale``; ``score_mode='concat'`` uses
    ``sum(tanh(query + key))`` instead), ``softmax`` over the values, then ``scores @ value``. A value mask (or
    ``use_causal_mask``) excludes value positions; a query mask zeroes the masked query rows of the output.

    Example:
        >>> out = keras.layers.Attention()([lamina.ones(2, 4, 8), lamina.ones(2, 6, 8)])
        >>> out.shape
        lamina.Size([2, 4, 8])
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ArgumentError(f"Attention: score_mode must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = check_rate(dropout, "Attention", "dropout")
        self.seed = seed
        self.dropout_layer = Dropout(rate=self.dropout, seed=seed) if self.dropout > 0 else None
        self.supports_masking = True

    def _validate(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ArgumentError(f"Attention '{self.name}': expected a list [query, value] or [query, value, key], "
                                f"got {type(inputs).__name__}" + (f" of length {len(inputs)}"
                                                                  if isinstance(inputs, (list, tuple)) else ""))
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ArgumentError(f"Attention '{self.name}': mask must be a list [query_mask, value_mask]")

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale") if self.use_scale else None
        self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight") \
            if self.score_mode == "concat" else None

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = lamina.matmul(query, lamina.transpose(key, -2, -1))
            return scores * self.scale if self.scale is not None else scores
        q, k = lamina.unsqueeze(query, -2), lamina.unsqueeze(key, -3)   # (B, Tq, 1, d), (B, 1, Tv, d)
        inner = (q + k) * self.scale if self.scale is not None else q + k
        return self.concat_score_weight * lamina.sum(lamina.tanh(inner), dim=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._scores(q, k)
        scores_mask = None if v_mask is None else lamina.unsqueeze(v_mask.to(lamina.bool), -2)   # (B, 1, Tv)
        if use_causal_mask:
            causal = _causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if scores_mask is None else lamina.logical_and(scores_mask, causal)
        if scores_mask is not None:
            # Keras subtracts 1e9 from the masked scores (every row must keep one unmasked value).
            scores = lamina.where(scores_mask, scores, scores - 1e9)
        weights = F.softmax(scores, dim=-1)
        if training and self.dropout_layer is not None:
            weights = self.dropout_layer(weights, training=True)
        output = lamina.matmul(weights, v)
        if q_mask is not None:
            output = lamina.where(lamina.unsqueeze(q_mask.to(lamina.bool), -1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or previous_mask[0] is None:
            return None
        return previous_mask[0]

    def compute_output_shape(self, input_shape):
        self._validate(input_shape)
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def compute_output_spec(self, inputs, return_attention_scores=False, **kwargs):
        self._validate(inputs)
        output = KerasTensor(self.compute_output_shape([tuple(x.shape) for x in inputs]), dtype=self.dtype)
        if return_attention_scores:
            q, v = inputs[0], inputs[1]
            return output, KerasTensor((q.shape[0], q.shape[1], v.shape[1]), dtype=self.dtype)
        return output

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode, "dropout": self.dropout,
                       "seed": self.seed})
        return config

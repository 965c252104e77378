"""Multi-head attention, torch's ``nn.MultiheadAttention``: arguments, parameter names, masks and outputs.

``forward`` projects query, key and value (one GEMM for self-attention with the packed ``in_proj_weight``),
splits the heads and runs the fused ``scaled_dot_product_attention`` when the attention weights are not asked
for; with ``need_weights=True`` it computes the weights explicitly (scores, masked softmax, dropout) because it
returns them.
"""
import math

from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.nn import init
from lamina.nn._layer_util import check_device, check_int, check_probability, float_dtype, new_parameter
from lamina.nn.linear import Linear
from lamina.nn.module import Module
from lamina.ops.attention import scaled_dot_product_attention
from lamina.ops.elementwise import where as _where
from lamina.ops.nn import dropout as _dropout, linear as _linear, softmax as _softmax
from lamina.ops.shape import cat as _cat
from lamina.tensor import Tensor


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name torch gives MultiheadAttention's ``out_proj`` (so reprs and checks match)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads: ``concat(head_1..head_h) W_o``, ``head_i = softmax(q_i k_i^T /
    sqrt(d) + mask) v_i`` with ``q = query W_q^T + b_q`` and likewise k, v.

    Args:
        embed_dim: model dim E (query features); split into ``num_heads`` heads of ``E // num_heads``.
        num_heads: number of heads; must divide ``embed_dim``.
        dropout: dropout probability of the attention weights (training only).
        bias: biases in the input and output projections.
        add_bias_kv: learn ``bias_k``, ``bias_v`` of shape ``(1, 1, E)`` appended to key and value as one more
            source position.
        add_zero_attn: append a zero position to key and value (after projection).
        kdim, vdim: features of key and value (default E); when they differ from E the projections are
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead of the packed ``in_proj_weight``.
        batch_first: inputs and output are ``(N, L, E)`` instead of ``(L, N, E)``.

    Parameters: ``in_proj_weight`` ``(3E, E)`` (xavier uniform) or the three separate ones, ``in_proj_bias``
    ``(3E,)`` (zeros), ``out_proj`` a Linear(E, E) whose bias starts at zero, as in torch.

    Example:
        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = lamina.randn(2, 5, 16)
        >>> out, weights = mha(x, x, x)          # (2, 5, 16), (2, 5, 5) averaged over heads
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        name = "MultiheadAttention"
        check_device(device, name)
        embed_dim = check_int(embed_dim, name, "embed_dim", 1)
        num_heads = check_int(num_heads, name, "num_heads", 1)
        if embed_dim % num_heads:
            raise ArgumentError(f"{name}: embed_dim must be divisible by num_heads, got embed_dim={embed_dim} and "
                                f"num_heads={num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = embed_dim if kdim is None else check_int(kdim, name, "kdim", 1)
        self.vdim = embed_dim if vdim is None else check_int(vdim, name, "vdim", 1)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = check_probability(dropout, name)
        self.batch_first = bool(batch_first)
        self.head_dim = embed_dim // num_heads
        dt = float_dtype(dtype, name)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_parameter((3 * embed_dim, embed_dim), dt)
            for p in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(p, None)
        else:
            self.q_proj_weight = new_parameter((embed_dim, embed_dim), dt)
            self.k_proj_weight = new_parameter((embed_dim, self.kdim), dt)
            self.v_proj_weight = new_parameter((embed_dim, self.vdim), dt)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = new_parameter((3 * embed_dim,), dt)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = new_parameter((1, 1, embed_dim), dt)
            self.bias_v = new_parameter((1, 1, embed_dim), dt)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: ``(L, N, E)`` (``(N, L, E)`` with batch_first) or unbatched ``(L, E)``.
            key, value: ``(S, N, kdim)`` and ``(S, N, vdim)`` (batch_first / unbatched likewise).
            key_padding_mask: ``(N, S)`` (unbatched ``(S,)``): bool, True = ignore that key; or float, added to
                the scores.
            need_weights: also return the attention weights.
            attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``: bool, True = not allowed to attend; or float,
                added to the scores.
            average_attn_weights: average the returned weights over heads.
            is_causal: hint that ``attn_mask`` is the causal mask (which must be given, as in torch); without
                a key_padding_mask and weights the fused kernel then applies causality itself.

        Returns:
            ``(output, weights)``: output of the query's shape (E features); weights ``(N, L, S)`` (or
            ``(N, num_heads, L, S)`` without averaging; no N when unbatched) or None. A query whose keys are all
            masked gets zero weights (torch gives NaN with need_weights=True and zeros without).
        """
        q, k, v, batched = self._check_inputs(query, key, value)
        N, L, S = q.shape[0], q.shape[1], k.shape[1]
        dtype = q._data.dtype
        if is_causal and attn_mask is None:
            raise ArgumentError("MultiheadAttention: Need attn_mask if specifying the is_causal hint. You may use "
                                "the Transformer module method `generate_square_subsequent_mask` to create this "
                                "mask.")
        kpm = self._check_key_padding_mask(key_padding_mask, batched, N, S, dtype)
        # With the causal hint, no key padding and no weights, the fused kernel applies the causal mask itself;
        # otherwise the mask is used as given (and, merged with a padding mask, is not causal any more).
        is_causal = bool(is_causal and kpm is None and not need_weights)
        amask = self._check_attn_mask(attn_mask, N, L, S, dtype, convert=not is_causal)

        q, k, v = self._project(q, k, v)
        if self.bias_k is not None:
            k = _cat([k, self.bias_k.expand(N, 1, self.embed_dim)], dim=1)
            v = _cat([v, self.bias_v.expand(N, 1, self.embed_dim)], dim=1)
            amask, kpm = _pad_key_dim(amask), _pad_key_dim(kpm)
        H, D = self.num_heads, self.head_dim
        q, k, v = (t.reshape(N, t.shape[1], H, D).transpose(1, 2) for t in (q, k, v))   # (N, H, *, D)
        if self.add_zero_attn:
            zeros = Tensor._make(xp.zeros((N, H, 1, D), dtype=dtype))
            k, v = _cat([k, zeros], dim=2), _cat([v, zeros], dim=2)
            amask, kpm = _pad_key_dim(amask), _pad_key_dim(kpm)
        mask = _merge_masks(amask, kpm)
        p = self.dropout if self.training else 0.0

        if need_weights:
            scores = (q * (1.0 / math.sqrt(D))) @ k.transpose(-2, -1)
            weights = _masked_softmax(scores, mask)
            if p > 0:
                weights = _dropout(weights, p, True)
            out = weights @ v
        else:
            out = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal)
            weights = None
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, self.embed_dim))
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    # ---- pieces of forward --------------------------------------------------------------------------------
    def _check_inputs(self, query, key, value):
        """Validate shapes; return query, key, value batch first ``(N, L, *)`` and whether input was batched."""
        for arg, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise ArgumentError(f"argument '{arg}' must be a lamina.Tensor, got {type(t).__name__}")
            if t._data.dtype != self.out_proj.weight._data.dtype:
                raise DTypeError(f"argument '{arg}' must have the dtype of the layer's parameters "
                                 f"({self.out_proj.weight.dtype}), got {t.dtype}")
        if query.ndim not in (2, 3):
            raise ShapeError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query "
                             "tensor")
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ShapeError(f"for {query.ndim}-D query, expected key and value to be {query.ndim}-D but found "
                             f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        for arg, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != size:
                raise ShapeError(f"was expecting {arg} to have embedding dimension of {size}, but got shape "
                                 f"{tuple(t.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if batched and self.batch_first:
            q, k, v = query, key, value
        else:
            # one view per distinct tensor, so self-attention still sees q is k is v (the packed projection)
            def to_batch_first(t):
                return t.transpose(0, 1) if batched else t.unsqueeze(0)
            q = to_batch_first(query)
            k = q if key is query else to_batch_first(key)
            v = k if value is key else (q if value is query else to_batch_first(value))
        if q.shape[0] != k.shape[0]:
            raise ShapeError(f"query of shape {tuple(query.shape)} and key of shape {tuple(key.shape)} must have the "
                             f"same batch size")
        return q, k, v, batched

    def _check_key_padding_mask(self, mask, batched, N, S, dtype):
        if mask is None:
            return None
        _check_mask_dtype("key_padding_mask", mask, dtype)
        expected = (N, S) if batched else (S,)
        if tuple(mask.shape) != expected:
            raise ShapeError(f"expecting key_padding_mask of shape {expected}, but got {tuple(mask.shape)}")
        return _as_float_mask(mask, dtype).reshape(N, 1, 1, S)

    def _check_attn_mask(self, mask, N, L, S, dtype, convert=True):
        if mask is None:
            return None
        _check_mask_dtype("attn_mask", mask, dtype)
        if mask.ndim == 2:
            if tuple(mask.shape) != (L, S):
                raise ShapeError(f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be {(L, S)}.")
            return _as_float_mask(mask, dtype) if convert else None
        expected = (N * self.num_heads, L, S)
        if mask.ndim != 3 or tuple(mask.shape) != expected:
            raise ShapeError(f"attn_mask must be 2D (L, S) or 3D (N * num_heads, L, S) = {expected}, got shape "
                             f"{tuple(mask.shape)}")
        return _as_float_mask(mask, dtype).reshape(N, self.num_heads, L, S) if convert else None

    def _project(self, q, k, v):
        """The input projections; one GEMM with the packed weight for self-attention."""
        E = self.embed_dim
        if self._qkv_same_embed_dim and q is k and k is v:
            qkv = _linear(q, self.in_proj_weight, self.in_proj_bias)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            w_q, w_k, w_v = w[:E], w[E:2 * E], w[2 * E:]
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b = self.in_proj_bias
        b_q, b_k, b_v = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        return _linear(q, w_q, b_q), _linear(k, w_k, b_k), _linear(v, w_v, b_v)


def _check_mask_dtype(name, mask, dtype):
    if not isinstance(mask, Tensor):
        raise ArgumentError(f"argument '{name}' must be a lamina.Tensor, got {type(mask).__name__}")
    kind = mask._data.dtype.kind
    if kind not in "bf":
        raise DTypeError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    if kind == "f" and mask._data.dtype != dtype:
        raise DTypeError(f"a float {name} must have the dtype of the query ({_dt.from_numpy(dtype)}), got "
                         f"{mask.dtype}")


def _as_float_mask(mask, dtype):
    """torch's canonical mask: a bool mask (True = masked) becomes 0 / -inf to add to the scores."""
    if mask._data.dtype.kind == "b":
        return Tensor._make(xp.where(mask._data, -math.inf, 0.0).astype(dtype))
    return mask


def _pad_key_dim(mask):
    """Append one unmasked key position (the one bias_k / the zero attention adds)."""
    if mask is None:
        return None
    pad = Tensor._make(xp.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask._data.dtype))
    return _cat([mask, pad], dim=-1)


def _merge_masks(attn_mask, key_padding_mask):
    if attn_mask is None:
        return key_padding_mask
    if key_padding_mask is None:
        return attn_mask
    return attn_mask + key_padding_mask


def _masked_softmax(scores, mask):
    """softmax(scores + mask) over the keys, where a query whose keys are all masked (-inf) gets zero weights
    instead of NaN: those rows' mask is replaced by 0 so the softmax stays finite, then their weights are zeroed
    (which also zeroes their gradients)."""
    if mask is None:
        return _softmax(scores, dim=-1)
    dead = xp.isneginf(mask._data).all(axis=-1, keepdims=True)
    if not dead.any():
        return _softmax(scores + mask, dim=-1)
    dead_t = Tensor._make(dead)
    mask = _where(dead_t, 0.0, mask)
    return _softmax(scores + mask, dim=-1) * Tensor._make((~dead).astype(scores._data.dtype))

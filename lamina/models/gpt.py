"""A GPT-2-style decoder-only transformer language model, in the spirit of nanoGPT."""
import math

from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.nn import init
from lamina.nn.blocks import GPTBlock
from lamina.nn.containers import ModuleList
from lamina.nn.dropout import Dropout
from lamina.nn.linear import Linear
from lamina.nn.module import Module
from lamina.nn.normalization import LayerNorm
from lamina.nn.sparse import Embedding
from lamina.ops.loss import cross_entropy
from lamina.sampling import generate
from lamina.tensor import Tensor


class GPT(Module):
    """Token + position embeddings -> dropout -> ``n_layer`` pre-norm ``GPTBlock``s -> final LayerNorm -> a
    linear head to vocabulary logits.

    Args:
        vocab_size: number of token ids.
        block_size: the longest context (number of position embeddings).
        n_layer, n_head, n_embd: depth, attention heads and model width (``n_embd % n_head == 0``).
        dropout: dropout after the embeddings, on attention weights and on residual branches.
        bias: biases in the Linear and LayerNorm layers.
        tie_weights: the head shares the token embedding matrix (``lm_head.weight is wte.weight``), as GPT-2.

    Weights start as GPT-2's: N(0, 0.02) for Linear and Embedding weights, zero biases, and the projections
    that end each residual branch scaled by ``1 / sqrt(2 * n_layer)``.

    Submodules: ``wte``, ``wpe``, ``drop``, ``h`` (the blocks), ``ln_f``, ``lm_head``.

    Example:
        >>> model = lamina.models.GPT(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64)
        >>> idx = lamina.randint(0, 65, (4, 32))
        >>> logits = model(idx)                              # (4, 32, 65)
        >>> logits, loss = model(idx[:, :-1], targets=idx[:, 1:])
        >>> sample = model.generate(idx[:, :5], max_new_tokens=10)
    """

    def __init__(self, vocab_size, block_size, n_layer=12, n_head=12, n_embd=768, dropout=0.0, bias=True,
                 tie_weights=True):
        super().__init__()
        if n_embd % n_head:
            raise ArgumentError(f"GPT: n_embd must be divisible by n_head, got n_embd={n_embd}, n_head={n_head}")
        self.vocab_size, self.block_size = vocab_size, block_size
        self.wte = Embedding(vocab_size, n_embd)
        self.wpe = Embedding(block_size, n_embd)
        self.drop = Dropout(dropout)
        self.h = ModuleList([GPTBlock(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd, bias=bias)
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.wte.weight
        self._init_weights(n_layer)

    def _init_weights(self, n_layer):
        for m in self.modules():
            if isinstance(m, (Linear, Embedding)):
                init.normal_(m.weight, 0.0, 0.02)
                if isinstance(m, Linear) and m.bias is not None:
                    init.zeros_(m.bias)
        for block in self.h:
            init.normal_(block.attn.in_proj_weight, 0.0, 0.02)   # not a Linear: MultiheadAttention's own weight
            # residual branches add up over depth: scale their output projections by 1/sqrt(2 * n_layer)
            init.normal_(block.attn.out_proj.weight, 0.0, 0.02 / math.sqrt(2 * n_layer))
            init.normal_(block.mlp[2].weight, 0.0, 0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx, targets=None):
        """Logits ``(N, T, vocab_size)`` for token ids ``idx`` ``(N, T)``, ``T <= block_size``; with ``targets``
        (ids of the same shape) returns ``(logits, mean cross-entropy loss)``."""
        if not isinstance(idx, Tensor) or idx._data.dtype.kind not in "iu":
            raise DTypeError(f"GPT: idx must be an integer tensor of token ids, got "
                             f"{getattr(idx, 'dtype', type(idx).__name__)}")
        if idx.ndim != 2:
            raise ShapeError(f"GPT: idx must have shape (batch, time), got {tuple(idx.shape)}")
        T = idx.shape[1]
        if T > self.block_size:
            raise ShapeError(f"GPT: cannot forward a sequence of length {T}, block size is only {self.block_size}")
        pos = Tensor._make(xp.arange(T, dtype=xp.int64))
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits
        loss = cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None):
        """Extend ``idx`` ``(N, T)`` by ``max_new_tokens`` sampled tokens, feeding each back in with the context
        cropped to the last ``block_size`` tokens: ``lamina.generate`` on this model (temperature 0 is greedy;
        ``top_k`` / ``top_p`` filter first). Call ``model.eval()`` first to turn dropout off."""
        return generate(self, idx, max_new_tokens, temperature, top_k, top_p, self.block_size, generator)

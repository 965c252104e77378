"""Embedding: a lookup table of learned vectors, indexed by integer ids."""
from lamina.errors import ArgumentError, ShapeError
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn._layer_util import check_device, check_int, float_dtype, new_parameter
from lamina.nn.module import Module
from lamina.nn.parameter import Parameter
from lamina.tensor import Tensor


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``forward(ids)`` returns their rows.

    Args:
        num_embeddings: size of the table.
        embedding_dim: size of each vector.
        padding_idx: a row that stays zero at init and gets no gradient (negative counts from the end).
        max_norm: rows read by a forward whose ``norm_type``-norm exceeds it are rescaled in place to it.
        norm_type: the p of that norm (default 2).
        scale_grad_by_freq: divide each row's gradient by its id's frequency in the batch.
        sparse: accepted for compatibility; the gradient is always dense.

    Attributes:
        weight: (num_embeddings, embedding_dim) from N(0, 1).

    Example:
        >>> emb = nn.Embedding(10, 3, padding_idx=0)
        >>> emb(lamina.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
        lamina.Size([2, 4, 3])
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        check_device(device, cls)
        self.num_embeddings = check_int(num_embeddings, cls, "num_embeddings")
        self.embedding_dim = check_int(embedding_dim, cls, "embedding_dim")
        if padding_idx is not None:
            padding_idx = check_int(padding_idx, cls, "padding_idx", minimum=-num_embeddings)
            if padding_idx >= num_embeddings:
                raise ArgumentError(f"{cls}: padding_idx must be within num_embeddings (-{num_embeddings}.."
                                    f"{num_embeddings - 1}), got {padding_idx}")
            if padding_idx < 0:
                padding_idx += num_embeddings
        if max_norm is not None and not max_norm > 0:
            raise ArgumentError(f"{cls}: max_norm must be positive, got {max_norm!r}")
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = new_parameter((num_embeddings, embedding_dim), float_dtype(dtype, cls),
                                        requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if not isinstance(_weight, Tensor):
                raise ArgumentError(f"{cls}: _weight must be a lamina.Tensor, got {type(_weight).__name__}")
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"{cls}: shape of _weight {tuple(_weight.shape)} does not match num_embeddings "
                                 f"and embedding_dim ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0
            self.weight._vc[0] += 1

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` (shared, not copied; frozen unless ``freeze=False``).

        Example:
            >>> emb = nn.Embedding.from_pretrained(lamina.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]]))
            >>> emb(lamina.tensor([1]))
            tensor([[4.0000, 5.1000, 6.3000]])
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be a 2-d tensor (num_embeddings, "
                             f"embedding_dim), got {getattr(embeddings, 'shape', type(embeddings).__name__)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)

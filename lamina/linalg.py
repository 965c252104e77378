"""``lamina.linalg``: the torch.linalg functions Lamina has, re-exported from ``lamina.ops``."""
from lamina.ops.linalg import matmul
from lamina.ops.reduce import vector_norm

__all__ = ["matmul", "vector_norm"]

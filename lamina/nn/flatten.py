"""Flatten and Unflatten: reshape a range of dims into one, and one dim into several."""
from lamina.errors import ArgumentError
from lamina.nn.module import Module
from lamina.ops.shape import flatten, unflatten


def _is_int(v):
    return hasattr(v, "__index__") and not isinstance(v, bool)


class Flatten(Module):
    """Flatten dims ``start_dim`` .. ``end_dim`` into one (by default all but the batch dim).

    Example:
        >>> nn.Flatten()(lamina.randn(32, 1, 5, 5)).shape
        lamina.Size([32, 25])
        >>> nn.Flatten(0, 2)(lamina.randn(32, 1, 5, 5)).shape
        lamina.Size([160, 5])
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not _is_int(v):
                raise ArgumentError(f"Flatten: argument '{name}' must be an int, got {v!r}")
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dim ``dim`` into ``unflattened_size`` (one entry may be -1).

    Example:
        >>> nn.Unflatten(1, (2, 5, 5))(lamina.randn(2, 50)).shape
        lamina.Size([2, 2, 5, 5])
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not _is_int(dim):
            raise ArgumentError(f"Unflatten: argument 'dim' must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(_is_int(s) for s in unflattened_size):
            raise ArgumentError(f"Unflatten: unflattened_size must be a tuple or list of ints, got "
                                f"{unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

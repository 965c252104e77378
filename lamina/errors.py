"""Lamina's typed errors.

Each is a ``LaminaError`` and also the builtin exception torch raises in the same situation, so code that catches
``RuntimeError``, ``ValueError``, ``IndexError`` or ``TypeError`` keeps working. Messages start with the operator
or layer that failed and name the argument, the expected and the received value.
"""


class LaminaError(Exception):
    """Base class of every error Lamina raises on purpose."""


class ShapeError(LaminaError, ValueError, RuntimeError):
    """Shapes that do not fit together (matmul, broadcasting, conv, losses, reshape)."""


class ArgumentError(LaminaError, ValueError, RuntimeError):
    """An argument outside its allowed values (stride <= 0, unknown reduction, p outside [0, 1])."""


class DimError(LaminaError, IndexError):
    """A dimension index out of range for the tensor it is applied to."""


class DTypeError(LaminaError, TypeError, RuntimeError):
    """A dtype an operation does not accept (requires_grad on integers, mean of an integer tensor)."""


class IndexError_(LaminaError, IndexError):
    """An element index out of range: indexing, gather, embedding, class labels."""


class AutogradError(LaminaError, RuntimeError):
    """A misuse of autograd: backward through a freed graph, on a non-scalar, after an in-place change."""

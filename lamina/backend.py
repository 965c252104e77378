"""The one seam between Lamina and its array library.

Operators never import NumPy themselves: they take the array namespace ``xp`` from here, so a CuPy backend can
later replace it without touching them. This module imports nothing of lamina.
"""
import numpy

xp = numpy
"""The array namespace operators compute with (NumPy's API)."""

ndarray = numpy.ndarray
"""The array type of the active backend."""


def asarray(data, dtype=None):
    """Return ``data`` as a backend array (no copy when it already is one of ``dtype``)."""
    return xp.asarray(data, dtype=dtype)


def is_array(obj):
    """True if ``obj`` is an array of the active backend."""
    return isinstance(obj, ndarray)

"""The one seam between Lamina and its array library.

Operators never import NumPy themselves: they take the array namespace ``xp`` from here, so a CuPy backend can
later replace it without touching them. This module imports nothing of lamina.
"""
import os
import sys

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


# ---- the C allocator ------------------------------------------------------------------------------------------
# NumPy takes every array from malloc. glibc serves a large block with a fresh mmap and unmaps it on free (and trims
# a freed heap top), so each large temporary of a training step is faulted in page by page again, which on these
# machines costs about as much as computing it (docs/performance.md: a residual-block step took 1.4x as long).
# Serving blocks up to 32 MB from the heap and keeping up to 256 MB of freed heap lets steps reuse warm memory.

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3        # mallopt parameter numbers (malloc.h)
_ALLOCATOR_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 256 << 20))


def tune_allocator():
    """Ask glibc's malloc to keep large freed blocks for reuse; return True if it was asked.

    Runs once at import on Linux with glibc. It is skipped where ``LAMINA_TUNE_MALLOC=0`` is set, or where the
    process already chose its own settings through glibc's ``MALLOC_*_`` environment variables; elsewhere
    (macOS, Windows, musl) there is nothing to change.
    """
    if os.environ.get("LAMINA_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):       # not glibc (musl has a mallopt that does nothing)
            return False
        for param, value in _ALLOCATOR_SETTINGS:
            libc.mallopt(param, value)
    except (OSError, AttributeError):
        return False
    return True


allocator_tuned = tune_allocator()
"""Whether ``tune_allocator`` set malloc's thresholds when Lamina was imported."""

"""Giving freed heap back to the system.

glibc keeps memory freed by large requests in its arenas, so RSS would stay at the peak of the
largest image or upload seen; ``malloc_trim`` returns it. Elsewhere this is a no-op.
"""

import ctypes
import ctypes.util
from collections.abc import Callable


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc.malloc_trim if libc is not None else None
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_MALLOC_TRIM = _load_malloc_trim()


def trim_heap() -> None:
    """Return freed heap pages to the system (glibc's ``malloc_trim``; no-op elsewhere)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 16 * 1024 * 1024


def keep_large_blocks_apart() -> None:
    """Serve allocations of 16 MiB and more by mmap, always, so freeing one unmaps it at once.

    glibc otherwise raises its mmap threshold after the first large free (up to 32 MiB), and
    uploads and image buffers then land in the heap, where fragmentation keeps them resident.
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # not glibc
        return
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)

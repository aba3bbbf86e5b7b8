"""Keep freed memory in the process (glibc), for CPU inference on large images.

glibc serves every block above its mmap threshold (at most 32 MiB) with a
fresh ``mmap`` and unmaps it on free, so each large activation of a CNN
costs page faults that zero it again. On multi-scale maps of VOC-sized
images (MobileNetV2 at output stride 8, scale 2.0: 45 MiB per activation)
that costs the model much CPU time (benchmarks/bench_maps.py; the measurement
is under "allocators" in benchmarks/results/maps.json). Raising
the thresholds lets freed blocks be reused: memory stays at the peak of one
image instead of being returned and faulted in again per layer.
"""
import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_applied = False


def keep_freed_memory(limit_bytes=1 << 30):
    """Serve blocks up to ``limit_bytes`` from the reusable heap and keep freed
    memory in the process. Idempotent; returns False (and changes nothing)
    where the C library is not glibc."""
    global _applied
    if _applied:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, int(limit_bytes)) == 1 and \
        mallopt(_M_TRIM_THRESHOLD, int(limit_bytes)) == 1
    if not ok:
        logger.debug('mallopt refused the thresholds; keeping the default allocator settings')
    _applied = ok
    return ok

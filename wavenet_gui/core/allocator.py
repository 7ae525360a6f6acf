"""Keep freed memory for the next training step instead of giving it back to the system.

A training step allocates and frees the same large tensors every iteration (activations of
every layer, their gradients, the stacked skip input).  glibc's ``malloc`` serves blocks above
its mmap threshold (128 KiB, rising to at most 32 MiB) with fresh ``mmap`` calls and unmaps
them on ``free``; it also trims the top of its heap when more than twice that threshold is free.
Each step then faults every page of those blocks in again, and the kernel zeroes each one:
measured on one core, 41,000 page faults per step for the 4 x 10 x 32 model and 162,000 for
2 x 14 x 128, about 5 % of the step as system time and more in the matrix products that first
touch the pages.

:func:`reuse_freed_memory` raises the mmap and trim thresholds while training runs, so freed
blocks stay in the process's heap and the next step reuses them; on leaving it restores
glibc's thresholds (as its dynamic rise leaves them) and returns the free memory to the system
(``malloc_trim``).  Elsewhere (macOS, Windows, musl) it does nothing; it also does nothing when the user tunes malloc
through the environment (any ``MALLOC_*_`` variable or ``GLIBC_TUNABLES``).

Examples
--------
>>> with reuse_freed_memory():
...     pass  # training steps
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["reuse_freed_memory", "active", "kept_empty"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
#: (parameter, while training, glibc's default).  While training: no block is mmapped (the main
#: thread's heap grows instead; another thread's heaps hold at most 64 MiB each, so a bigger
#: block is still mmapped there), the threshold at its maximum (32 MiB) for when mmap is
#: allowed again, and a free top of the heap is never trimmed.  Setting any of them ends glibc's
#: dynamic rise of the thresholds for good, so they are restored to the values that rise reaches
#: (32 MiB, trim at twice that): restored to the initial 128 KiB, every torch step after the
#: first training ran 1.8x slower (bench baseline, 2 x 14 x 128: 28.2 against 15.6 s a step).
_SETTINGS = (
    (_M_MMAP_MAX, 0, 65536),
    (_M_MMAP_THRESHOLD, 32 * 1024 * 1024, 32 * 1024 * 1024),
    (_M_TRIM_THRESHOLD, 2**31 - 1, 64 * 1024 * 1024),
)

_lock = threading.RLock()  # re-entrant: a collection inside torch.empty may close a Trainer.steps
_depth = 0
#: tensors :func:`kept_empty` handed out, by key, while :func:`reuse_freed_memory` is on
_kept: dict[tuple, Any] = {}
_libc: ctypes.CDLL | None | bool = None  # None: not looked up yet; False: not glibc


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                lib.gnu_get_libc_version.restype = ctypes.c_char_p
                lib.gnu_get_libc_version()  # glibc only (musl has no such function)
                lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                lib.mallopt.restype = ctypes.c_int
                lib.malloc_trim.argtypes = [ctypes.c_size_t]
                lib.malloc_trim.restype = ctypes.c_int
                _libc = lib
            except (OSError, AttributeError):
                _libc = False
    return _libc if isinstance(_libc, ctypes.CDLL) else None


def _user_tuned() -> bool:
    return "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ)


def active() -> bool:
    """Whether freed memory is being kept (inside :func:`reuse_freed_memory`, on glibc)."""
    return _depth > 0 and _glibc() is not None and not _user_tuned()


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Inside: freed blocks stay in the heap for the next allocation (see the module's text).

    Nested and concurrent uses share one setting; the last one out restores glibc's
    thresholds and calls ``malloc_trim(0)``.

    Examples
    --------
    >>> with reuse_freed_memory():
    ...     active() or sys.platform != "linux"
    True
    """
    global _depth
    lib = None if _user_tuned() else _glibc()
    with _lock:
        _depth += 1
        if _depth == 1 and lib is not None:
            for param, value, _ in _SETTINGS:
                lib.mallopt(param, value)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and lib is not None:
                for param, _, default in _SETTINGS:
                    lib.mallopt(param, default)
            if _depth == 0:
                _kept.clear()
                if lib is not None:
                    lib.malloc_trim(0)


def _unshared(t: Any) -> bool:
    """Whether ``t`` is referenced by nothing but the caller's (and the pool's) reference: no
    other tensor object (saved for a backward pass, a view) and no view of its storage."""
    try:
        import torch

        # one reference: the pool's; the storage's two: the tensor and the temporary storage object
        return t._use_count() == 1 and torch._C._storage_Use_Count(t.untyped_storage()._cdata) == 2
    except (AttributeError, RuntimeError):  # another torch: never reuse
        return False


def kept_empty(key: str, shape: tuple[int, ...], dtype: Any, device: Any) -> Any:
    """``torch.empty(shape)``, reusing the block of the last such tensor under ``key`` when
    nothing uses it any more, while :func:`reuse_freed_memory` is on (else simply new).

    For blocks too big for glibc's heaps in a thread other than the main one (above 64 MiB):
    those are mmapped and unmapped whatever the settings, so each step faults them in again.
    A tensor still saved for a backward pass (``retain_graph``), or viewed, is never reused.

    Examples
    --------
    >>> import torch
    >>> with reuse_freed_memory():
    ...     a = kept_empty("x", (4, 4), torch.float32, "cpu")
    ...     ptr = a.data_ptr()
    ...     del a
    ...     kept_empty("x", (4, 4), torch.float32, "cpu").data_ptr() == ptr
    True
    """
    import torch

    if _depth == 0:
        return torch.empty(shape, dtype=dtype, device=device)
    # Keyed by thread too: ``_unshared`` sees torch's references, not Python's, so a tensor a
    # trainer in another thread holds only in a local variable would look free.
    full = (key, tuple(shape), dtype, str(device), threading.get_ident())
    with _lock:
        t = _kept.pop(full, None)
        if t is not None and not _unshared(t):
            t = None
    if t is None:
        t = torch.empty(shape, dtype=dtype, device=device)
    with _lock:
        if _depth > 0:
            _kept[full] = t
    return t

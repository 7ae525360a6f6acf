"""numba housekeeping: compile kernels once per process, set numba's threads safely."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable

_lock = threading.Lock()
_done: set[str] = set()
_exiting = threading.Event()


def _mark_exiting() -> None:
    _exiting.set()


# Called when the interpreter starts to exit (before non-daemon threads are joined, the
# moment concurrent.futures stops taking work), falling back to atexit on other Pythons.
if hasattr(threading, "_register_atexit"):
    threading._register_atexit(_mark_exiting)  # noqa: SLF001 - what concurrent.futures itself uses
else:  # pragma: no cover
    import atexit

    atexit.register(_mark_exiting)


def interpreter_exiting() -> bool:
    """Whether the interpreter has begun to exit (a background warm-up then stops quietly).

    Examples
    --------
    >>> interpreter_exiting()
    False
    """
    return _exiting.is_set() or bool(getattr(threading, "_SHUTTING_DOWN", False)) or sys.is_finalizing()


def warm_once(what: str, compile_kernels: Callable[[], None]) -> bool:
    """Run ``compile_kernels`` the first time ``what`` is asked for; return whether it is ready.

    Safe to call from several threads (later calls wait for the first).  A failure is
    logged, not raised: warming up is an optimisation only, the kernels then compile on
    first use.  When the interpreter exits while a warm-up runs in a background thread
    (the program finished first), the warm-up stops without a word: whatever fails then
    (e.g. "cannot schedule new futures after interpreter shutdown") is not a failure.

    Examples
    --------
    >>> warm_once("nothing", lambda: None)
    True
    """
    with _lock:
        if what in _done:
            return True
        if interpreter_exiting():
            return False
        try:
            compile_kernels()
        except Exception:  # noqa: BLE001 - an optimisation only
            if not interpreter_exiting():
                logging.getLogger(__name__).warning("warming up the %s failed", what, exc_info=True)
            return False
        _done.add(what)
        return True


@contextlib.contextmanager
def keep_torch_threads():
    """Keep this thread's torch thread count across the numba calls inside.

    The first numba call that launches its threading layer (``set_num_threads``,
    ``get_num_threads``, ``threading_layer``, a parallel kernel) can, with OpenMP, reset
    the calling thread's OpenMP thread count, which is torch's (measured: 1 -> 2 on 2 cores).

    Examples
    --------
    >>> import numba
    >>> with keep_torch_threads():
    ...     numba.set_num_threads(1)
    """
    import torch

    before = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)

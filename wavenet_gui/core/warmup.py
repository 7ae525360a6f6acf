"""Compile numba kernels once per process, from any thread, without failing the caller."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Callable

_lock = threading.Lock()
_done: set[str] = set()


def warm_once(what: str, compile_kernels: Callable[[], None]) -> bool:
    """Run ``compile_kernels`` the first time ``what`` is asked for; return whether it is ready.

    Safe to call from several threads (later calls wait for the first).  A failure is
    logged, not raised: warming up is an optimisation only, the kernels then compile on
    first use.

    Examples
    --------
    >>> warm_once("nothing", lambda: None)
    True
    """
    with _lock:
        if what in _done:
            return True
        try:
            compile_kernels()
        except Exception:  # noqa: BLE001 - an optimisation only
            if not sys.is_finalizing():
                logging.getLogger(__name__).warning("warming up the %s failed", what, exc_info=True)
            return False
        _done.add(what)
        return True

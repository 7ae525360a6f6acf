"""Run plain (Qt-free) functions in a QThread and hear about them through signals.

The pattern follows superqt / napari: the work is an ordinary function from the
core that knows nothing about Qt.  It receives two keyword arguments,

``progress(obj)``
    call it with anything worth showing (it is sent to the UI thread as is, so
    pass copies of arrays, never buffers the function keeps writing to);
``cancel``
    a :class:`threading.Event`; the function checks it between steps and returns
    early (with what it has) when it is set.

:func:`start_task` moves a :class:`_Worker` to a new :class:`QThread` and returns
a :class:`Task` living in the UI thread, whose past-tense signals (``started``,
``progressed``, ``finished``, ``errored``, ``cancelled``, ``done``) are always
delivered in the UI thread.  Cancelling only sets the event; threads are never
terminated.

Example
-------
>>> def count(n, *, progress, cancel):
...     for i in range(n):
...         if cancel.is_set():
...             return i
...         progress(i)
...     return n
>>> task = start_task(count, 10)            # doctest: +SKIP
>>> task.finished.connect(print)            # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)

#: Every QThread started here, with its worker, until it has ended and been waited for.
#: Holding them here means no QThread is ever destroyed while it runs (Qt aborts the
#: process then: "QThread: Destroyed while thread is still running"), whatever happens
#: to its Task (deleted with its window, garbage-collected in a reference cycle, ...).
_LIVE: dict[int, tuple[QThread, "_Worker", str]] = {}


def _prune() -> None:
    for key, (thread, _worker, _name) in list(_LIVE.items()):
        if thread.isFinished():
            thread.wait()
            _LIVE.pop(key, None)


def running_threads() -> list[str]:
    """Names of the worker threads still running (finished ones are forgotten)."""
    _prune()
    return [name for thread, _w, name in _LIVE.values() if not thread.isFinished()]


def wait_all(timeout_ms: int = -1) -> bool:
    """Wait for every worker thread to end; True if all did within ``timeout_ms`` (-1: forever)."""
    import time

    end = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
    for thread, _w, _name in list(_LIVE.values()):
        if end is None:
            thread.wait()
        elif not thread.wait(max(0, int((end - time.monotonic()) * 1000))):
            return False
    _prune()
    return True


class _Worker(QObject):
    """Lives in the worker thread; runs the function once."""

    started = Signal()
    progressed = Signal(object)
    returned = Signal(object)  # value
    failed = Signal(object, str)  # exception, formatted traceback

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, cancel: threading.Event):
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            value = self._fn(*self._args, progress=self.progressed.emit, cancel=self._cancel, **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - everything must reach the user
            tb = traceback.format_exc()
            self._release()
            self.failed.emit(exc, tb)
        else:
            self._release()
            self.returned.emit(value)

    def _release(self) -> None:
        # Drop the arguments (a model, audio) before reporting, so that nothing is left
        # for the thread to do once the UI thread has heard the result.
        self._fn = self._args = self._kwargs = None


class Task(QObject):
    """Handle on one piece of background work; lives in the UI thread.

    Signals
    -------
    started()
    progressed(object)        whatever the function passed to ``progress``
    finished(object)          the function's return value (not emitted after cancel)
    cancelled(object)         the return value when ``cancel()`` was called before it ended
    errored(object)           the exception (``str(exc)`` is the user message for WaveNetError)
    done()                    always last, after one of finished/cancelled/errored
    """

    started = Signal()
    progressed = Signal(object)
    finished = Signal(object)
    cancelled = Signal(object)
    errored = Signal(object)
    done = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_event = threading.Event()
        self.thread: QThread | None = None
        self.worker: _Worker | None = None
        self.running = False
        self.traceback = ""

    # -- control -----------------------------------------------------
    def cancel(self) -> None:
        """Ask the function to stop at its next check; returns at once."""
        self.cancel_event.set()

    @property
    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the thread has ended (True) or the timeout passed (False)."""
        thread = self.thread
        if thread is None:
            return True
        ended = thread.wait(timeout_ms) if timeout_ms >= 0 else thread.wait()
        if ended:  # its result is still queued for the event loop; the work itself is over
            self.running = False
        return ended

    # -- relays (run in the UI thread: this object lives there) --------
    @Slot()
    def _on_started(self) -> None:
        self.started.emit()

    @Slot(object)
    def _on_progressed(self, obj: object) -> None:
        if self.running:
            self.progressed.emit(obj)

    @Slot(object)
    def _on_returned(self, value: object) -> None:
        self.running = False
        if self.cancel_event.is_set():
            self.cancelled.emit(value)
        else:
            self.finished.emit(value)
        self.done.emit()

    @Slot(object, str)
    def _on_failed(self, exc: object, tb: str) -> None:
        self.running = False
        self.traceback = tb
        log.error("task %s failed:\n%s", self.name, tb)
        self.errored.emit(exc)
        self.done.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        # ``finished`` is emitted from the ending thread; wait the last moment so the
        # QThread can be released safely, then drop both objects.
        thread = self.thread
        if thread is not None:
            thread.wait()
            _LIVE.pop(id(thread), None)
        self.thread = None
        self.worker = None


def start_task(fn: Callable[..., Any], *args: Any, name: str | None = None,
               parent: QObject | None = None, **kwargs: Any) -> Task:
    """Run ``fn(*args, progress=..., cancel=..., **kwargs)`` in a new QThread.

    Connect to the returned task's signals right away: the work starts when the
    event loop next runs, so no signal can be missed.
    """
    _prune()
    task = Task(name or getattr(fn, "__name__", "task"), parent)
    thread = QThread()
    thread.setObjectName(f"wavenet-{task.name}")
    worker = _Worker(fn, args, kwargs, task.cancel_event)
    worker.moveToThread(thread)
    task.thread, task.worker = thread, worker

    thread.started.connect(worker.run)
    worker.started.connect(task._on_started)
    worker.progressed.connect(task._on_progressed)
    worker.returned.connect(task._on_returned)
    worker.failed.connect(task._on_failed)
    # Direct: quit() is thread-safe, and a queued call would never run while the UI thread waits.
    worker.returned.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(task._on_thread_finished)
    task.running = True
    _LIVE[id(thread)] = (thread, worker, thread.objectName())
    thread.start()
    return task

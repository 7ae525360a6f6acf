"""Background work for the window: superqt workers running the core's own code.

The window hands :func:`run_in_thread` either a plain function (load a file, save a
model, read a folder) or a generator the core made (``Session.train()``,
``Session.generate()``).  superqt's ``create_worker`` runs it on Qt's thread pool and
delivers its ``yielded`` values, its return value and its exception to the UI thread
as signals, as in napari.  Stopping is the core's business (``Session.stop()`` or a
``threading.Event`` the function checks); threads are never terminated.

Two things are added to superqt's workers, both small:

* a :class:`Job` handle with a ``done`` event, so the window can wait for exactly its own
  work when it closes (superqt offers a wait for the whole pool only);
* a ``RuntimeError`` raised inside a generator reaches ``errored``: superqt 0.x's
  ``GeneratorWorker`` takes a ``RuntimeError`` for a deleted worker and drops it without
  any signal, and torch reports most failures (out of memory, ...) as ``RuntimeError``.

Examples
--------
>>> def count(n):
...     for i in range(n):
...         yield i
...     return n
>>> job = run_in_thread(count(3), yielded=print, returned=print)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThreadPool
from superqt.utils import create_worker

log = logging.getLogger(__name__)

#: The pool's threads: a training run, a generation, file reads and a model load may overlap.
POOL_THREADS = 8

#: Jobs started and not yet done (every window's), for :func:`running_jobs` and the tests.
_LIVE: set[Job] = set()
_LIVE_LOCK = threading.Lock()


class JobError(Exception):
    """A ``RuntimeError`` raised by a job's generator (see the module docstring); ``original`` is it."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class Job:
    """One piece of background work: its superqt worker and a way to wait for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = threading.Event()
        """Set in the worker thread when the work has ended (what closing the window waits for)."""
        self.worker: Any = None
        self.traceback = ""
        self._delivered = False

    @property
    def running(self) -> bool:
        """True until the UI thread has heard the outcome (``returned`` or ``errored``, then ``finished``)."""
        return not self._delivered

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work has ended (True) or ``timeout`` seconds passed (False)."""
        return self.done.wait(timeout)

    def _on_finished(self) -> None:
        self._delivered = True

    def settle(self) -> None:
        """Count an ended job as done without waiting for its outcome to be delivered (the window
        is closing: nobody is left to hear it)."""
        if self.done.is_set():
            self._delivered = True


def _drive(gen, job: Job):
    """Run ``gen`` to its end in the worker; mark ``job`` done whatever happens."""
    try:
        try:
            return (yield from gen)
        except RuntimeError as exc:
            job.traceback = traceback.format_exc()
            raise JobError(exc) from exc
        except BaseException:
            job.traceback = traceback.format_exc()
            raise
    finally:
        gen.close()
        job.done.set()
        with _LIVE_LOCK:
            _LIVE.discard(job)


def _call(fn: Callable[..., Any], job: Job, args: tuple, kwargs: dict) -> Any:
    try:
        return fn(*args, **kwargs)
    except BaseException:
        job.traceback = traceback.format_exc()
        raise
    finally:
        job.done.set()
        with _LIVE_LOCK:
            _LIVE.discard(job)


def run_in_thread(work: Any, *args: Any, name: str = "", yielded: Callable | None = None,
                  returned: Callable | None = None, errored: Callable | None = None,
                  finished: Callable | None = None, **kwargs: Any) -> Job:
    """Run ``work`` (a generator, or a function called with ``args``/``kwargs``) on the pool.

    The callbacks run in the UI thread: ``yielded(value)`` for each value a generator
    yields, ``returned(value)`` with its return value, ``errored(exception)`` when it
    raises (``job.traceback`` holds the traceback), then ``finished()`` always.
    Connect bound methods of a QObject or plain functions that check it still exists.
    """
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < POOL_THREADS:
        pool.setMaxThreadCount(POOL_THREADS)
    job = Job(name or getattr(work, "__name__", "job"))
    connect: dict[str, Any] = {"errored": errored or (lambda exc: log.error("job %s failed: %s", job.name, exc))}
    if yielded is not None:
        connect["yielded"] = yielded
    if returned is not None:
        connect["returned"] = returned
    if inspect.isgenerator(work):
        worker = create_worker(_drive, work, job, _start_thread=False, _connect=connect)
    else:
        worker = create_worker(_call, work, job, args, kwargs, _start_thread=False, _connect=connect)
    worker.finished.connect(job._on_finished)  # first: ``finished`` callbacks see the job ended
    if finished is not None:
        worker.finished.connect(finished)
    job.worker = worker
    with _LIVE_LOCK:
        _LIVE.add(job)
    pool.start(worker)  # at once: a job started while the window closes is still waited for
    return job


def running_jobs() -> list[str]:
    """Names of the jobs still running (of every window)."""
    with _LIVE_LOCK:
        return sorted(job.name for job in _LIVE)


def wait_all(timeout: float | None = None) -> bool:
    """Wait for every running job; True if all ended within ``timeout`` seconds."""
    import time

    end = None if timeout is None else time.monotonic() + timeout
    with _LIVE_LOCK:
        jobs = list(_LIVE)
    for job in jobs:
        left = None if end is None else max(0.0, end - time.monotonic())
        if not job.wait(left):
            return False
    return True

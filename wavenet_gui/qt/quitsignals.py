"""SIGTERM and SIGHUP for the window: the session logs out, ``kill`` is sent, a terminal closes.

Qt's event loop runs in C++, where Python's signal handlers cannot run; a socket pair given to
:func:`signal.set_wakeup_fd` and watched by a :class:`QSocketNotifier` wakes the loop, so the
handler runs within milliseconds (a slow timer does the same where the socket is unavailable).
The handler then asks the window to :meth:`~wavenet_gui.qt.window.MainWindow.terminate`:
stop training or generation (what was made is kept), save a recovery copy of an unsaved
model and say where in the log, and quit without asking (nobody is there to answer).
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

log = logging.getLogger(__name__)

#: The signals that end the window cleanly.
NAMES = ("SIGTERM", "SIGHUP")


class QuitSignals(QObject):
    """Route SIGTERM and SIGHUP to ``on_signal(name)`` on the UI thread (the first one; later ones
    are logged: the window is already on its way out).

    Examples
    --------
    >>> from PySide6.QtCore import QCoreApplication
    >>> app = QCoreApplication.instance() or QCoreApplication([])
    >>> got = []
    >>> guard = QuitSignals(got.append)
    >>> guard.uninstall()
    """

    def __init__(self, on_signal: Callable[[str], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_signal = on_signal
        self.received: list[str] = []
        self.previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
        self._old_fd = -1
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._notifier: QSocketNotifier | None = None
        self._timer: QTimer | None = None
        for name in NAMES:
            signum = getattr(signal, name, None)
            if signum is not None:
                self.previous[signum] = signal.signal(signum, self._handler)
        try:
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self._old_fd = signal.set_wakeup_fd(b.fileno(), warn_on_full_buffer=False)
            self._sockets = (a, b)
            self._notifier = QSocketNotifier(a.fileno(), QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self._drain)
        except (OSError, ValueError):  # no socket pair: let the interpreter in four times a second
            self._timer = QTimer(self)
            self._timer.setInterval(250)
            self._timer.timeout.connect(lambda: None)
            self._timer.start()

    def _drain(self, *_: object) -> None:
        if self._sockets is None:
            return
        try:
            while self._sockets[0].recv(64):
                pass
        except OSError:
            pass

    def _handler(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        log.warning("%s received: stopping, keeping the model, quitting", name)
        if len(self.received) == 1:
            QTimer.singleShot(0, lambda: self.on_signal(name))

    def uninstall(self) -> None:
        """Give the signals back their previous handlers."""
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()
        if self._sockets is not None:
            signal.set_wakeup_fd(self._old_fd)
            if self._notifier is not None:
                self._notifier.setEnabled(False)
            for s in self._sockets:
                s.close()
            self._sockets = None
        if self._timer is not None:
            self._timer.stop()

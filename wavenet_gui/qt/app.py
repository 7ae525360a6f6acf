"""Entry point of ``wavenet-gui``: show the window first, load the heavy parts after.

``main()`` handles ``--version`` / ``--help`` / ``--self-test`` without Qt
(:func:`wavenet_gui.qt.launch.handle_early_args`), sets up logging and the crash
hook, then shows :class:`~wavenet_gui.qt.window.MainWindow`.  torch, numba
and the model code are imported by a background job once the window is up.
Audio files named on the command line are added to the file list, a model file is loaded.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()
log = logging.getLogger(__name__)


def _set_app_identity(app) -> None:
    try:
        from wavenet_gui import appinfo

        app.setOrganizationName(appinfo.ORG_NAME)
        app.setApplicationName(appinfo.APP_NAME)
        app.setApplicationVersion(appinfo.APP_VERSION)
    except Exception:  # noqa: BLE001
        app.setOrganizationName("wavenet-gui")
        app.setApplicationName("wavenet-gui")
    app.setApplicationDisplayName("WaveNet GUI")
    try:
        from PySide6.QtGui import QIcon

        from wavenet_gui.resources import icon_path

        icon = QIcon()
        for size in (16, 32, 64, 256):
            try:
                icon.addFile(str(icon_path(size)))
            except Exception:  # noqa: BLE001
                pass
        app.setWindowIcon(icon)
    except Exception:  # noqa: BLE001 - no icon is not worth failing for
        log.debug("no icon", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    """Run the application; returns the exit status."""
    argv = list(sys.argv if argv is None else argv)
    from wavenet_gui.qt.launch import handle_early_args

    code = handle_early_args(argv[1:])
    if code is not None:
        return code

    from wavenet_gui import appinfo

    try:
        appinfo.setup_logging()
    except Exception:  # noqa: BLE001
        logging.basicConfig(level=logging.INFO)

    reason = "" if any(a in ("-platform", "--platform") for a in argv) else no_display_reason()
    if reason:
        print(f"wavenet-gui: {reason}", file=sys.stderr, flush=True)
        log.info("not started: %s", reason)
        return 2

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    own_app = QApplication.instance() is None
    app = QApplication.instance() or QApplication(argv)
    _set_app_identity(app)

    from .window import MainWindow

    window = MainWindow()
    # Delete the window while the event loop still runs, not during interpreter teardown.
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def show_crash(message: str) -> None:  # may be called from any thread: hop to the UI thread
        QTimer.singleShot(0, app, lambda: QMessageBox.critical(window, "Unexpected error", message))

    appinfo.install_excepthook(show_crash)
    from .quitsignals import QuitSignals

    quit_signals = QuitSignals(window.terminate, app)  # SIGTERM / SIGHUP: stop, keep, save a copy, quit
    window.show()
    shown = time.perf_counter() - _T0
    log.info("window shown %.2f s after start", shown)
    if os.environ.get("WAVENET_GUI_TIMING"):
        print(f"window shown after {shown:.2f} s (torch loaded: {'torch' in sys.modules})", file=sys.stderr,
              flush=True)
    QTimer.singleShot(0, lambda: open_arguments(window, app.arguments()))
    if os.environ.get("WAVENET_GUI_QUIT_AFTER_SHOW"):  # for launch-time measurements
        QTimer.singleShot(int(os.environ["WAVENET_GUI_QUIT_AFTER_SHOW"]), window.close)
    if os.environ.get("WAVENET_GUI_QUIT_WHEN_READY"):  # for close-time measurements: close once idle

        def close_when_ready() -> None:
            if window.core is None and not window.core_error or window.files == [] and window.busy_reading():
                QTimer.singleShot(50, window, close_when_ready)
                return
            print(f"closing at {time.time():.3f}", file=sys.stderr, flush=True)
            window.close()

        QTimer.singleShot(0, window, close_when_ready)
    try:
        code = app.exec()
    finally:
        quit_signals.uninstall()
        appinfo.uninstall_excepthook()
    if own_app and not os.environ.get("WAVENET_GUI_FULL_TEARDOWN"):
        # The window has stopped its workers and saved the settings: skip the interpreter's
        # teardown (2-3 s of freeing torch, numba and Qt objects, with the window still on
        # screen until the X connection closes).
        exit_now(code)
    return code


def open_arguments(window, arguments: list[str]) -> list[str]:
    """Open the files named after the program (``arguments[0]``) as a drop would: a model file
    (.safetensors) is loaded, audio files and folders are added; options are skipped (Qt took
    its own).  Returns the paths opened."""
    files = [a for a in arguments[1:] if not a.startswith("-") and Path(a).exists()]
    if files:
        window.open_paths(files)
    return files


def no_display_reason(environ=None, platform: str | None = None) -> str:
    """Why Qt cannot show a window here ("" when it can, or when we cannot tell).

    On Linux without DISPLAY / WAYLAND_DISPLAY, Qt's xcb plugin aborts the process
    (SIGABRT) with a misleading hint about missing xcb libraries: say so first.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return ""
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return ""
    return ("no display found (DISPLAY is not set); run it in a desktop session, "
            "or use --self-test / QT_QPA_PLATFORM=offscreen")


def exit_now(code: int) -> None:
    """End the process at once: run the atexit handlers (log files, PortAudio), flush, ``os._exit``."""
    import atexit

    try:
        atexit._run_exitfuncs()
    except Exception:  # noqa: BLE001 - exiting anyway
        pass
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())

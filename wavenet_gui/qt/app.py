"""Entry point of ``wavenet-gui``: show the window first, load the heavy parts after.

``main()`` handles ``--version`` / ``--help`` / ``--self-test`` without Qt
(:func:`wavenet_gui.launch.handle_early_args`), sets up logging and the crash
hook, then shows :class:`~wavenet_gui.qt.window.MainWindow`.  torch, numba
and the model code are imported by a background job once the window is up.
Audio files named on the command line are added to the file list.
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

        from wavenet_gui.resources_api import icon_path

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
    from wavenet_gui.launch import handle_early_args

    code = handle_early_args(argv[1:])
    if code is not None:
        return code

    from wavenet_gui import appinfo

    try:
        appinfo.setup_logging()
    except Exception:  # noqa: BLE001
        logging.basicConfig(level=logging.INFO)

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(argv)
    _set_app_identity(app)

    from .window import MainWindow

    window = MainWindow()
    # Delete the window while the event loop still runs, not during interpreter teardown.
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def show_crash(message: str) -> None:  # may be called from any thread: hop to the UI thread
        QTimer.singleShot(0, app, lambda: QMessageBox.critical(window, "Unexpected error", message))

    appinfo.install_excepthook(show_crash)
    window.show()
    shown = time.perf_counter() - _T0
    log.info("window shown %.2f s after start", shown)
    if os.environ.get("WAVENET_GUI_TIMING"):
        print(f"window shown after {shown:.2f} s", file=sys.stderr, flush=True)
    files = [a for a in app.arguments()[1:] if not a.startswith("-") and Path(a).exists()]
    if files:
        QTimer.singleShot(0, lambda: window.add_paths(files))
    if os.environ.get("WAVENET_GUI_QUIT_AFTER_SHOW"):  # for launch-time measurements
        QTimer.singleShot(int(os.environ["WAVENET_GUI_QUIT_AFTER_SHOW"]), window.close)
    try:
        return app.exec()
    finally:
        appinfo.uninstall_excepthook()


if __name__ == "__main__":
    sys.exit(main())

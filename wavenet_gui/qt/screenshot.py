"""Make the README screenshot: train briefly on the example clip, generate, grab the window.

Run under a display (e.g. ``Xvfb :99 & DISPLAY=:99``)::

    python -m wavenet_gui.qt.screenshot docs/screenshot.png [iterations]

Settings go to a temporary file, so the user's own settings are untouched.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Path(argv[0] if argv else "screenshot.png")
    iterations = int(argv[1]) if len(argv) > 1 else 300
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .app import _set_app_identity
    from .window import MainWindow, example_clip

    app = QApplication.instance() or QApplication(sys.argv[:1])
    _set_app_identity(app)
    tmp = Path(tempfile.mkdtemp(prefix="wavenet-shot-"))
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), restore_files=False)
    w.resize(1400, 880)
    w.show()

    def spin(cond, timeout: float = 300.0) -> None:
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    spin(lambda: w.core is not None)
    # The default model and training settings, with a 20% validation share to show that curve too.
    w.training_form.set_values({"train_iterations": iterations, "holdout": 20, "output_dir": str(tmp / "out")})
    w.generation_form.set_values({"length_s": 2.0, "temperature": 1.0, "seed": 7, "n_streams": 1,
                                  "start_from": "input"})
    w.add_paths([str(example_clip())])
    spin(lambda: bool(w.files) and w.input_audio is not None)
    w.start_training()
    spin(lambda: not w.busy())
    w.start_generation()
    spin(lambda: not w.busy())
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    w.grab().save(str(out))
    print(f"{out}: {w.last_message}")
    w.close()
    w.deleteLater()
    app.processEvents()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Skip interpreter teardown: after training and generation it has crashed once in a C
    # extension's deallocator (none_dealloc) while garbage-collecting; the PNG is written by then.
    import os

    os._exit(code)

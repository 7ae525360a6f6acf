"""Make the README's screenshots: train on speech clips (or load a model), generate, grab the screen.

Run under a display with a window manager (e.g. ``Xvfb :99 -screen 0 1600x1000x24 &``,
``DISPLAY=:99 openbox &``)::

    python -m wavenet_gui.qt.screenshot docs/screenshot.png --files tests/data/speech*.wav \\
        --iterations 600 --save-model /tmp/shot.safetensors
    QT_SCALE_FACTOR=2 python -m wavenet_gui.qt.screenshot docs/screenshot-200-dark.png --dark \\
        --files tests/data/speech*.wav --model /tmp/shot.safetensors

The window trains with a preset (``--preset``, default: the one the app suggests for the
files, as the window does when files are added), whose settings (iterations, start,
temperature, length) it keeps unless an option overrides them, so the screenshot shows
what a user gets.  The whole screen is grabbed (the window with its frame, as the window
manager draws it).  ``--spectrogram`` (the default) shows the spectrograms of the input and of the
generated audio, ``--waveform`` the waveforms.  Settings go to a temporary file, so
the user's own settings are untouched.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def dark_palette():
    """A plain dark palette (Fusion style), for the dark screenshots."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    for role, color in (("Window", "#2b2b2b"), ("WindowText", "#e6e6e6"), ("Base", "#1e1e1e"),
                        ("AlternateBase", "#2b2b2b"), ("ToolTipBase", "#3a3a3a"), ("ToolTipText", "#e6e6e6"),
                        ("Text", "#e6e6e6"), ("Button", "#353535"), ("ButtonText", "#e6e6e6"),
                        ("BrightText", "#ff5555"), ("Highlight", "#2f65ca"), ("HighlightedText", "#ffffff"),
                        ("PlaceholderText", "#8a8a8a")):
        p.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    for role in ("WindowText", "Text", "ButtonText"):
        p.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role), QColor("#7a7a7a"))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wavenet_gui.qt.screenshot")
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", nargs="*", default=[], help="audio files to train on (default: the example clip)")
    parser.add_argument("--preset", default="", help="imitate, variations or speech16k (default: the suggested one)")
    parser.add_argument("--iterations", type=int, default=None, help="training iterations (default: the preset's)")
    parser.add_argument("--holdout", type=float, default=None, help="validation share (default: the preset's)")
    parser.add_argument("--temperature", type=float, default=None, help="default: the preset's")
    parser.add_argument("--model", type=Path, help="load this model instead of training")
    parser.add_argument("--save-model", type=Path, help="save the trained model here (for the next shots)")
    parser.add_argument("--seconds", type=float, default=None, help="audio to generate (default: the preset's)")
    parser.add_argument("--dark", action="store_true", help="a dark palette")
    parser.add_argument("--waveform", action="store_true", help="waveforms instead of spectrograms")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .app import _set_app_identity
    from .window import MainWindow, example_clip

    app = QApplication.instance() or QApplication(sys.argv[:1])
    _set_app_identity(app)
    if args.dark:
        QApplication.setStyle("Fusion")  # static: the running application's
        QApplication.setPalette(dark_palette())
    tmp = Path(tempfile.mkdtemp(prefix="wavenet-shot-"))
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), restore_files=False)
    w.show()

    def spin(cond, timeout: float = 900.0) -> None:
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        if not cond():  # e.g. training on a busy machine: say so rather than shoot a half-done window
            raise SystemExit(f"screenshot: gave up waiting after {timeout:.0f} s ({w.last_message})")

    spin(lambda: w.core is not None)
    files: list[str | Path] = [str(f) for f in args.files] or [str(example_clip())]
    w.add_paths(files)
    spin(lambda: len(w.files) == len(files) and w.files_view.input_audio is not None)
    if args.model:
        w.load_model(args.model)
        spin(lambda: not w.busy() and w.model is not None)
    else:
        name = args.preset or w.session.suggested_preset()
        w.apply_preset(name)  # the preset fills in training and generation (start, temperature, length)
        overrides = {"train_iterations": args.iterations, "holdout": args.holdout}
        w.training_form.set_values({"output_dir": str(tmp / "out"),
                                    **{k: v for k, v in overrides.items() if v is not None}})
        w.start_training()
        spin(lambda: not w.busy(), timeout=4 * 3600.0)  # a shared machine trains slowly
        if args.save_model:
            job = w.save_model(args.save_model)
            spin(lambda: not job.running)
    w.training_form.set_values({"output_dir": str(tmp / "out")})
    overrides = {"length": args.seconds, "temperature": args.temperature}
    w.generation_form.set_values({"seed": 7, "variations": 1, **{k: v for k, v in overrides.items() if v is not None}})
    print("generating with " + ", ".join(f"{k}={v}" for k, v in w.session.checked("generation").items()
                                         if k in ("length", "temperature", "top_k", "top_p", "prime")))
    w.show_spectrogram(not args.waveform)
    w.start_generation()
    spin(lambda: not w.busy())
    for _ in range(40):
        app.processEvents()
        time.sleep(0.02)
    screen = w.screen()
    shot = screen.grabWindow(0)
    if shot.isNull():  # no window system grab (offscreen): the window alone
        shot = w.grab()
    shot.save(str(args.out))
    print(f"{args.out}: {shot.width()}x{shot.height()}; {w.last_message}")
    w.session.unsaved = False  # a screenshot run: nothing to ask about
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

"""Fixtures for the window tests, loaded for every test module by ``tests/conftest.py``
(``pytest_plugins``): ``qt_settings``, ``tone_file``, ``make_window`` and the autouse
``qt_leak_check``.  Test modules import only the helpers they call by name (``TINY``,
``UiProbe``, ``train_model``, ``write_tone``).

Importing this module first points ALSA at a null output device (so playback
really runs, silently) and Qt at the offscreen platform.  That has to happen
before sounddevice is imported anywhere in the process.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

_CONFIG = Path(tempfile.mkdtemp(prefix="wavenet-qt-tests-"))
(_CONFIG / "alsa").mkdir(parents=True, exist_ok=True)
(_CONFIG / "alsa" / "asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
os.environ["XDG_CONFIG_HOME"] = str(_CONFIG)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WAVENET_GUI_LOG_DIR", str(_CONFIG / "log"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

#: A model small enough to train and generate in a blink on 2 cores.
TINY = {
    "sample_rate": 8000,
    "quantization": "mu_law",
    "n_channels": 64,
    "n_dilations": 4,
    "n_blocks": 2,
    "n_hidden": 8,
    "n_skip": 8,
    "learning_rate": "0.003",
    "target_loss": "",
    "train_iterations": 100000,
    "target_length": 128,
    "batch_size": 2,
    "holdout": 0,
    "train_seed": 0,
    "save_weights": False,
}


def write_tone(path: Path, *, seconds: float = 1.0, rate: int = 8000, channels: int = 1, freq: float = 220.0) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    sf.write(str(path), x, rate, subtype="PCM_16")
    return path


class Recorder:
    """Stands in for message boxes: records what would have been shown."""

    def __init__(self, answer: bool = True) -> None:
        self.messages: list[tuple[str, str, str]] = []
        self.questions: list[str] = []
        self.answer = answer
        self.choice: str | None = None  # for choose(); None: "Discard" when answer else "Cancel"
        self.save_path = ""  # what ask_save_path() returns ("" = the dialog was cancelled)

    def show_message(self, kind: str, title: str, text: str, details: str = "") -> None:
        self.messages.append((kind, title, text))

    def ask(self, title: str, text: str) -> bool:
        self.questions.append(text)
        return self.answer

    def choose(self, title: str, text: str, choices: tuple[str, ...]) -> str:
        self.questions.append(text)
        choice = self.choice or ("Discard" if self.answer else "Cancel")
        assert choice in choices, (choice, choices)
        return choice

    def ask_save_path(self, title: str, start: str) -> str:
        self.questions.append(title)
        return self.save_path


@pytest.fixture
def qt_settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def tone_file(tmp_path) -> Path:
    return write_tone(tmp_path / "tone.wav")


def _require_qapplication() -> None:
    """Widgets need a QApplication; a QGuiApplication / QCoreApplication left by an earlier test
    (pytest-qt reuses whatever instance exists) makes Qt abort the whole run in QWidget's
    constructor.  Fail the test with the reason instead."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    app = QCoreApplication.instance()
    if app is not None and not isinstance(app, QApplication):
        pytest.fail(f"the running Qt application is a {type(app).__name__}, not a QApplication: an earlier "
                    "test created it; creating a window now would abort the process", pytrace=False)


def _running_workers(timeout_s: float = 10.0) -> list[str]:
    """The window's jobs still running after ``timeout_s`` (they may be winding down)."""
    from wavenet_gui.qt import tasks

    deadline = time.monotonic() + timeout_s
    names = tasks.running_jobs()
    while names and time.monotonic() < deadline:
        tasks.wait_all(0.1)
        names = tasks.running_jobs()
    return names


@pytest.fixture(autouse=True)
def qt_leak_check():
    """After each test: no worker job still running, no audio stream left open.

    Runs after pytest-qt has closed the test's widgets and after :func:`make_window` has
    deleted its windows; a no-op until a test has imported the window's workers or player.
    """
    yield
    if "wavenet_gui.qt.tasks" not in sys.modules and "wavenet_gui.qt.playback" not in sys.modules:
        return  # no window, worker or player in this process yet
    from wavenet_gui.qt import playback

    left = _running_workers()
    streams = playback.open_stream_count()
    for stream in list(playback._open_streams):  # do not let a stream play into the next test
        try:
            stream.abort()
            stream.close()
        except Exception:  # noqa: BLE001
            pass
        playback._open_streams.discard(stream)
    problems = []
    if left:
        problems.append(f"worker jobs still running after the test: {left}")
    if streams:
        problems.append(f"{streams} audio output stream(s) left open")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def make_window(qtbot, qt_settings, tmp_path):
    """``make_window(files=[...], tiny=True)`` -> a shown MainWindow with the core loaded.

    At teardown every window is shut down (threads joined), closed and deleted, and the
    deletion is carried out at once, so nothing of it (timers, queued signals) reaches
    the next test.
    """
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent

    from wavenet_gui.qt.window import MainWindow

    _require_qapplication()
    made = []

    def make(files=(), *, tiny: bool = True, restore_files: bool = False, settings: QSettings | None = None):
        w = MainWindow(settings if settings is not None else qt_settings, restore_files=restore_files)
        rec = Recorder()
        w.show_message = rec.show_message
        w.ask = rec.ask
        w.choose = rec.choose
        w.ask_save_path = rec.ask_save_path
        w.recorder = rec
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        qtbot.waitUntil(lambda: w.core is not None or bool(w.core_error), timeout=30000)
        assert w.core is not None, w.core_error
        if tiny:
            w.training_form.set_values({**TINY, "output_dir": str(tmp_path / "out")})
            w.generation_form.set_values({"length": 0.5, "temperature": 1.0, "seed": 1, "variations": 1,
                                          "prime": "silence"})
        if files:
            n = len(w.files)
            w.add_paths(list(files))
            qtbot.waitUntil(lambda: len(w.files) > n or bool(w.last_error), timeout=10000)
        return w

    yield make
    for w in made:  # stop everything so no thread outlives its test
        if shiboken6.isValid(w):
            w.shutdown()
            w.close()
            w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    alive = [w for w in made if shiboken6.isValid(w)]
    made.clear()
    assert not alive, f"{len(alive)} window(s) not deleted at the end of the test"
    left = _running_workers()
    assert not left, f"worker jobs still running after the windows were closed: {left}"


class UiProbe:
    """A QTimer on the UI thread; records the longest gap between its ticks.

    A watchdog thread samples the UI thread's stack whenever a tick is late, so a
    failure says what the UI thread was doing (:meth:`report`).
    """

    def __init__(self, interval_ms: int = 10, late_ms: int = 60) -> None:
        from PySide6.QtCore import QTimer

        self.interval = interval_ms / 1000
        self.late = late_ms / 1000
        self.last = None
        self.max_gap = 0.0
        self.ticks = 0
        self.stacks: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._ui_thread = threading.get_ident()
        self._watching = False

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now
        self.ticks += 1

    def _watch(self) -> None:
        while self._watching:
            time.sleep(0.01)
            last = self.last
            if last is not None and time.perf_counter() - last > self.late:
                frame = sys._current_frames().get(self._ui_thread)
                stack = "".join(traceback.format_stack(frame)[-8:]) if frame is not None else "?"
                if stack not in self.stacks:
                    self.stacks.append(stack)

    def start(self) -> None:
        """Start watching, once the window's background warm-up has finished.

        The warm-up thread loads (or compiles) the numba kernels, which holds the GIL for
        stretches of 230-360 ms (measured with py-spy --gil on this 2-core machine): a known
        stall in the first seconds after launch, reported in issue notes, not what these
        probes measure (the steady state of training, generation and plotting).
        """
        from PySide6.QtWidgets import QApplication

        deadline = time.perf_counter() + 600
        while any(t.name == "wavenet-warm-up" for t in threading.enumerate()) and time.perf_counter() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        self.last = None
        self._watching = True
        threading.Thread(target=self._watch, daemon=True).start()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._watching = False

    @property
    def max_wait(self) -> float:
        """The longest time a due tick waited (gap between ticks less the timer interval)."""
        return max(0.0, self.max_gap - self.interval)

    def report(self, what: str) -> str:
        return (f"UI thread blocked {self.max_wait * 1000:.0f} ms while {what}; it was in:\n"
                + "\n---\n".join(self.stacks[-3:]))


def train_model(qtbot, w, *, points: int = 5):
    """Train the window's model until the loss curve has ``points`` points, then stop."""
    w.train_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.n_points >= points or bool(w.recorder.messages), timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=10000)
    assert w.model is not None

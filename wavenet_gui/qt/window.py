"""The main window: a view of a :class:`~wavenet_gui.core.session.Session`.

The session owns the work (files, settings, model and training history, generated
audio); the window composes the views that show it and turn clicks into the session's
verbs:

* :class:`.fileview.FileView`: the file list, adding, removing, the selected input;
* the settings forms (:mod:`.forms`), kept in step with the session's settings here;
* :class:`.runview.RunView`: Train / Generate / Preview / Play, model files, the progress;
* :class:`.plotsview.PlotsView`: the loss and the audio (waveforms or spectrograms);
* :class:`.resultsview.ResultsView`: the variation shown, export, the output folder;
* :class:`.menus.Menus` and :mod:`.dialogs`: the menu bar, Preferences, Help, quitting.

The slow verbs run on workers (:mod:`.tasks`), started by :meth:`MainWindow.run_job`.
Session changes arrive as one-word events, relayed to the UI thread; a 15 Hz timer
redraws the plots from the session's data.  Nothing heavy is imported here: PyTorch
loads in the background after the window shows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from wavenet_gui.core.errors import WaveNetError
from wavenet_gui.core.session import Session

from . import dialogs, geometry, theme
from .dialogs import quick_start_html  # noqa: F401 - (its old home)
from .fileview import FileView
from .menus import Menus
from .playback import AudioBuffer, Player
from .plotsview import PlotsView
from .resultsview import ResultsView
from .runview import RunView, loss_text  # noqa: F401 - loss_text: (its old home)
from .settingsview import SettingsView
from .startup import example_clip, load_core  # noqa: F401 - example_clip: (its old home)
from .tasks import Job, JobError, run_in_thread

log = logging.getLogger(__name__)

APP_TITLE = "WaveNet GUI"
REFRESH_MS = 66  # plot redraw rate, ~15 Hz
LOADING_LONG = "Loading PyTorch in the background… (Train can be pressed now: it starts when ready)"
MIN_PANEL_WIDTH = 240  # the settings panel's narrowest (its form scrolls sideways below its own width)


class _Relay(QObject):
    """Carries the session's events (from whichever thread) to the window's thread."""

    kind = Signal(str)



class MainWindow(QMainWindow):
    """The application window.  ``settings`` defaults to the app's QSettings.

    Examples
    --------
    >>> window = MainWindow()                   # doctest: +SKIP
    >>> window.add_paths(["voice.wav"])         # doctest: +SKIP
    >>> window.start_training()                 # doctest: +SKIP
    """

    def __init__(self, settings: QSettings | None = None, *, load_core: bool = True,
                 restore_files: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.settings = settings if settings is not None else QSettings()
        self.setAcceptDrops(True)

        self.session = Session(leave_a_core_free=True)
        self._relay = _Relay(self)
        self._relay.kind.connect(self._on_session_event)
        self.session.subscribe(self._relay.kind.emit)
        # What the window itself keeps: its jobs, whether the core is loaded, the last messages.
        self.core: list[str] | None = None  # the devices, once PyTorch and the model code are loaded
        self.core_error = ""
        self._jobs: set[Job] = set()
        self.last_error = ""
        self.last_message = ""
        self.closed = False
        self._shown_once = False
        self._settings_saved = False
        self._terminating = False

        theme.configure_defaults()  # the plots are made in the palette's colours
        self.player = Player(self)
        self.plots = PlotsView(self.settings)
        self.plots.spectrogram_plot.rate_hint = self._rate_shown  # an empty spectrogram's frequency axis
        self.files_view = FileView(self)
        self.results = ResultsView(self)
        self.run = RunView(self)
        self.settings_view = SettingsView(self)
        self.training_form = self.settings_view.training_form
        self.generation_form = self.settings_view.generation_form
        self.tabs, self.form_scrolls = self.settings_view, self.settings_view.form_scrolls
        self._build_ui()
        self.menus = Menus(self)
        self.recent = self.menus.recent
        self._expose_parts()
        self.dark = self.plots.follow_palette()
        self.settings_view.load(self.settings)
        self.files_view.listed.connect(lambda: self.settings_view.files_changed(
            [str(i.path) for i in self.files_view.files], [kept for kept, _ in self.files_view.durations]))
        self.show_spectrogram(str(self.settings.value("view/spectrogram", False)).lower() == "true")
        device = str(self.settings.value("audio/device", "") or "")
        if device and self.player.availability()[0] and not self.set_output_device(device):
            self.status(f"The output device {device} is not there: playing through the default output", 8000)
        saved_geometry = self.settings.value("window/geometry")
        if saved_geometry is None or not self.restoreGeometry(saved_geometry):
            self.resize(geometry.default_size(self))
        self.fit_to_screen()

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.plots.refresh)
        self.refresh_timer.start()
        self._on_session_event("model")
        self.statusBar().showMessage(LOADING_LONG)
        self.last_message = LOADING_LONG
        if load_core:  # the window as context: never called once it is deleted
            QTimer.singleShot(0, self, self._start_core_loader)
        if restore_files:
            QTimer.singleShot(0, self, lambda: None if self.closed else self.files_view.restore_files(example_clip()))

    # ================================================================ compatibility views of the session
    @property
    def files(self) -> list[Any]:
        """The files the list shows (the session's, as of its last "files" event)."""
        return self.files_view.files

    @property
    def model(self):
        return self.session.model

    @property
    def optimizer_state(self) -> dict | None:
        return self.session.state.optimizer_state

    @property
    def generated(self) -> list[AudioBuffer]:
        return list(self.session.results.buffers) if self.session.results else []

    @property
    def last_prediction(self) -> list[Path]:
        return list(self.session.results.saved) if self.session.results else []

    # ================================================================ UI
    def _build_ui(self) -> None:
        left = QSplitter(Qt.Orientation.Vertical)
        left.setObjectName("leftPanel")
        left.addWidget(self.files_view)
        left.addWidget(self.settings_view)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 3)
        left.setSizes([170, 650])
        left.setMinimumWidth(MIN_PANEL_WIDTH)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.run.controls_box)
        rl.addWidget(self.run.progress_bar)
        # The plots have least heights (PlotsView): a short window scrolls them instead of squashing them.
        self.plots_scroll = QScrollArea()
        self.plots_scroll.setObjectName("plotsScroll")
        self.plots_scroll.setWidgetResizable(True)
        self.plots_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.plots_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.plots_scroll.setWidget(self.plots)
        rl.addWidget(self.plots_scroll, 1)
        self.plots_splitter = self.plots

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        main.setSizes([self.settings_view.panel_width(), 10_000])  # the form gets its width, the plots the rest
        self.main_splitter = main
        self.setCentralWidget(main)
        for w in (self.run.speed_label, self.run.audio_label, self.run.model_label):
            self.statusBar().addPermanentWidget(w)

        self.messages_dock = dialogs.MessagesDock(self)  # every note in full (the status bar shows one line)
        self.messages_list = self.messages_dock.list
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.messages_dock)
        self.messages_dock.hide()

    def _expose_parts(self) -> None:
        """The views' widgets and actions under the window's names (``window.train_button``, ...)."""
        parts: dict[object, tuple[str, ...]] = {
            self.files_view: ("file_list", "drop_hint", "add_button", "remove_button"),
            self.plots: ("loss_plot", "waveform_plot", "spectrogram_plot", "audio_view", "log_check",
                         "spectrogram_check"),
            self.results: ("variation_spin",),
            self.run: ("train_button", "stop_button", "load_model_button", "save_model_button", "generate_button",
                       "preview_button", "cancel_button", "play_input_button", "play_button", "export_button",
                       "controls_box", "progress_bar", "speed_label", "model_label", "audio_label"),
            self.menus: Menus.NAMES,
        }
        for view, names in parts.items():
            for name in names:
                setattr(self, name, getattr(view, name))

    def sizeHint(self) -> QSize:  # noqa: D401
        return geometry.DEFAULT_SIZE

    def available_area(self) -> QRect | None:
        """The screen's available area (None on the tests' nominal offscreen screen)."""
        return geometry.available_area(self)

    def changeEvent(self, event) -> None:  # noqa: N802
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and hasattr(
                self, "plots"):
            self.dark = self.plots.follow_palette(self.palette())
        super().changeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:  # the frame's size is known once shown: fit again with it
            self._shown_once = True
            self.fit_to_screen()
            # A narrow window (small screen, 200 %): the settings panel takes at most 40 % of it.
            total = sum(self.main_splitter.sizes())
            if total > 0:
                left = min(self.settings_view.panel_width(), max(MIN_PANEL_WIDTH, int(total * 0.4)))
                self.main_splitter.setSizes([left, total - left])
                h = sum(self.plots_splitter.sizes())
                self.plots_splitter.setSizes([int(h * 0.4), h - int(h * 0.4)])

    def fit_to_screen(self) -> None:
        """Shrink and move the window into the screen's available area."""
        geometry.fit_to_screen(self)

    # ================================================================ dialogs (tests replace these)
    def show_message(self, kind: str, title: str, text: str, details: str = "") -> None:
        """Show a message box; ``kind`` is "info", "warning" or "error"."""
        if kind != "info":
            self.last_error = text
        dialogs.message_box(self, kind, title, text, details)

    def ask(self, title: str, text: str) -> bool:
        return dialogs.ask(self, title, text)

    def choose(self, title: str, text: str, choices: tuple[str, ...]) -> str:
        """Ask with one button per choice ("Save", "Discard", "Cancel", ...); the chosen one (Esc: the last)."""
        return dialogs.choose(self, title, text, choices)

    def ask_save_path(self, title: str, start: str) -> str:
        """A file name to save a model to ("" when cancelled)."""
        return dialogs.ask_save_path(self, title, start)

    def _rate_shown(self) -> int:
        """The model's sample rate, else the settings' (what Generate would make)."""
        model = self.session.model
        if model is not None:
            return int(model.config.sample_rate)
        return int(self.session.settings.get("sample_rate") or 8000)

    def note(self, text: str, kind: str = "info") -> None:
        """Add a line to the Messages panel (View > Messages): every note in full, with the time."""
        self.messages_dock.note(text, kind)

    def messages(self) -> list[str]:
        """The Messages panel's lines, without their times."""
        return self.messages_dock.lines()

    def status(self, text: str, timeout_ms: int = 0) -> None:
        self.last_message = text
        self.statusBar().showMessage(text, timeout_ms)


    def report_error(self, title: str, exc: BaseException, job: Job | None = None) -> None:
        if isinstance(exc, JobError):
            exc = exc.original
        details = ""
        if isinstance(exc, WaveNetError):
            text = str(exc)
        elif isinstance(exc, MemoryError) or "can't allocate" in str(exc) or "out of memory" in str(exc).lower():
            text = "Out of memory: try fewer or shorter files, a smaller model or a smaller batch."
            details = job.traceback if job else ""
        else:
            text = f"Unexpected error: {type(exc).__name__}: {exc}"
            details = job.traceback if job else ""
        self.status(f"{title}: {text}")
        self.note(f"{title}: {text}", "error")
        self.show_message("error", title, text, details)

    # ================================================================ jobs
    def run_job(self, work: Any, *args: Any, name: str, yielded=None, returned=None, errored=None, **kwargs) -> Job:
        """Run ``work`` on a worker; its outcome comes back to these callbacks in the UI thread."""
        holder: list[Job] = []
        job = run_in_thread(work, *args, name=name, yielded=yielded, returned=returned,
                            errored=errored or (lambda exc: self.report_error(f"{name} failed", exc, holder[0])),
                            finished=lambda: self._on_job_finished(holder[0]), **kwargs)
        holder.append(job)
        self._jobs.add(job)
        return job

    def _on_job_finished(self, job: Job) -> None:
        self._jobs.discard(job)
        self.run.job_finished(job)
        if not self.closed:
            self.update_actions()

    def busy_reading(self) -> bool:
        """Whether files are still being read or PyTorch loaded."""
        return any(job.running and job.name in ("add-files", "load-core") for job in self._jobs)

    def busy(self) -> str:
        """The name of the heavy job running ("training", "generation", "model file") or ""."""
        return self.run.busy()

    # ================================================================ the verbs (the views' own, by their old names)
    def add_paths(self, paths: list[str | Path], *, quiet: bool = False) -> Job:
        """Read ``paths`` (files or folders) in the background and add the usable files to the list."""
        return self.files_view.add_paths(paths, quiet=quiet)

    def open_paths(self, paths: list[str]) -> None:
        """As a drop: a model file (.safetensors) is loaded, audio files and folders are added."""
        self.files_view.open_paths(paths)

    def start_training(self) -> None:
        self.run.start_training()

    def start_generation(self) -> None:
        self.run.start_generation()

    def load_model(self, path: str | Path) -> Job:
        return self.run.load_model(path)

    def save_model(self, path: str | Path) -> Job:
        return self.run.save_model(path)

    def show_spectrogram(self, on: bool) -> None:
        """Show the spectrograms (True) or the waveforms (False) of the input and generated audio."""
        self.plots.show_spectrogram(on)

    # ================================================================ the session's events
    def _on_session_event(self, kind: str) -> None:
        if self.closed:
            return
        if kind == "files":
            self.files_view.show_files()
        elif kind == "settings":
            self.settings_view.follow_session()
        elif kind == "model":
            if self.plots.loss_plot.source is not self.session.state:
                self.plots.loss_plot.set_source(self.session.state)
            self.run.update_model_label()
            self.files_view.show_durations()  # files are decoded at the model's rate
        elif kind == "results":
            self.results.show_results()
        self.update_actions()

    def push_settings(self) -> None:
        """Hand the forms' values (checked when used) to the session."""
        self.settings_view.push()

    def apply_preset(self, name: str = "") -> None:
        """Fill in the form with preset ``name`` (empty: the one that suits the files in the list)."""
        self.settings_view.apply_preset(name)

    def update_actions(self) -> None:
        """Enable what can run now (each view its own buttons)."""
        self.run.update_actions()
        training = self.busy() == "training"
        self.files_view.update_actions(training=training)
        self.menus.act_remove.setEnabled(self.files_view.remove_button.isEnabled())
        self.training_form.setEnabled(not training)

    # ================================================================ core loading
    def _start_core_loader(self) -> None:
        if not self.closed:
            self.run_job(load_core, name="load-core", returned=self._on_core_loaded, errored=self._on_core_failed)

    def _on_core_loaded(self, devices: list[str]) -> None:
        if self.closed:
            return
        self.core = devices
        self.training_form.set_devices(devices)
        self.push_settings()
        if self.last_message.startswith("Loading PyTorch"):
            self.status("Ready. Press Train to learn from the files in the list.", 8000)
        self.run.core_loaded()

    def _on_core_failed(self, exc: BaseException) -> None:
        self.core_error = f"The model code could not be loaded: {type(exc).__name__}: {exc}"
        self.run.core_failed()
        self.status(self.core_error)
        self.update_actions()

    # ================================================================ recent files, drops
    def open_recent(self, kind: str, path: str) -> Job | None:
        """Add a recent audio file (or folder) to the list, or load a recent model."""
        return self.files_view.open_recent(kind, path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        self.files_view.drag_enter(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.files_view.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.files_view.drop(event)

    def set_output_device(self, name: str) -> bool:
        """Play through the output device called ``name`` ("": the system's default); False if it is gone."""
        return dialogs.set_output_device(self, name)

    # ================================================================ closing
    def terminate(self, reason: str = "SIGTERM") -> Path | None:
        """Quit without asking (the session logs out, ``kill``): stop the work running and keep
        what was made, save a recovery copy of an unsaved model (the log says where), close.

        Returns the recovery copy's path (None when nothing needed saving or it failed).
        """
        log.warning("%s: stopping the work running and quitting", reason)
        self._terminating = True
        self.session.stop()
        for job in [job for job in self._jobs if job.running and job.name in ("training", "generation")]:
            job.wait()
        saved = None
        if self.session.model is not None and self.session.unsaved and not self.session.busy:
            saved = self.run.save_for_recovery()
            if saved is not None:
                log.warning("%s: the unsaved model was saved to %s (open it with Load model)", reason, saved)
            else:
                log.error("%s: the unsaved model could not be saved", reason)
        self.shutdown()
        self.close()
        return saved

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._terminating:  # terminate() stopped and saved: nobody is there to ask
            self.shutdown()
            event.accept()
            super().closeEvent(event)
            return
        if not self.closed and not self.confirm_quit():
            event.ignore()
            return
        self.shutdown()
        event.accept()
        super().closeEvent(event)

    def confirm_quit(self) -> bool:
        """Whether the window may close (:func:`.dialogs.confirm_quit`: asks to save an unsaved model)."""
        return dialogs.confirm_quit(self)

    def shutdown(self) -> None:
        """Stop all work, wait for it and save the settings.  Safe to call more than once."""
        self.closed = True
        self.refresh_timer.stop()
        self.player.stop()
        self.session.stop()
        self.files_view.cancel_reading()
        waiting = [job for job in self._jobs if job.running and not job.done.is_set()]
        if waiting:
            self.status("Stopping…")
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                for job in waiting:
                    job.wait()
            finally:
                QApplication.restoreOverrideCursor()
        for job in list(self._jobs):
            job.settle()
        if self._settings_saved:
            return
        self._settings_saved = True
        try:
            self.settings_view.save(self.settings)
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("files/paths", [str(i.path) for i in self.session.files])
            self.settings.sync()
        except Exception:  # noqa: BLE001 - an unwritable settings file must not block quitting
            log.warning("could not save settings", exc_info=True)

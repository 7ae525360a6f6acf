"""The main window: a view of a :class:`~wavenet_gui.core.session.Session`.

The session owns the work (files, settings, model and training history, generated
audio); the window shows it, turns clicks into the session's verbs and runs the slow
ones on a worker (:mod:`.tasks`).  Session changes arrive as one-word events, relayed
to the UI thread; a 15 Hz timer redraws the plots from the session's data.  Nothing
heavy is imported here: PyTorch loads in the background after the window shows.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QCheckBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
    QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter, QTabWidget,
    QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from wavenet_gui import appinfo
from wavenet_gui.core.errors import WaveNetError
from wavenet_gui.core.session import Session, seconds_text

from .forms import GenerationForm, TrainingForm
from .playback import PLAYING, AudioBuffer, Player
from .plots import LossPlot, WaveformPlot
from .recent import RecentFiles
from .tasks import Job, JobError, run_in_thread

log = logging.getLogger(__name__)

APP_TITLE = "WaveNet GUI"
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.aiff *.aif *.mp3 *.m4a);;All files (*)"
MODEL_FILTER = "WaveNet models (*.safetensors);;All files (*)"
EXPORT_FORMATS = {  # dialog filter -> (extension, soundfile subtype)
    "WAV 16-bit (*.wav)": (".wav", "PCM_16"),
    "WAV 32-bit float (*.wav)": (".wav", "FLOAT"),
    "FLAC (*.flac)": (".flac", None),
    "OGG Vorbis (*.ogg)": (".ogg", None),
}
REFRESH_MS = 66  # plot redraw rate, ~15 Hz


def example_clip() -> Path | None:
    """The bundled example clip (None if an installation lost it)."""
    from wavenet_gui.resources import example_clip_path

    try:
        p = Path(example_clip_path())
    except (OSError, ModuleNotFoundError):
        return None
    return p if p.exists() else None


def load_core() -> list[str]:
    """Import torch and the model code (in a worker); start compiling the kernels; the devices."""
    import threading

    from wavenet_gui.core import generation, training
    from wavenet_gui.core.session import available_devices, leave_a_core_free

    leave_a_core_free()
    # The first optimizer imports torch._dynamo (seconds, holding the GIL): do it now, in the
    # background, rather than when Train is pressed (measured: a 300 ms stall of the UI then).
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    def warm_up() -> None:  # daemon: compiling cannot be interrupted and must not hold up closing
        training.warm_up()
        generation.warm_up()

    threading.Thread(target=warm_up, name="wavenet-warm-up", daemon=True).start()
    return available_devices() or ["cpu"]


class _Relay(QObject):
    """Carries the session's events (from whichever thread) to the window's thread."""

    event = Signal(str)


class MainWindow(QMainWindow):
    """The application window.  ``settings`` defaults to the app's QSettings."""

    def __init__(self, settings: QSettings | None = None, *, load_core: bool = True,
                 restore_files: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.settings = settings if settings is not None else QSettings()
        self.setAcceptDrops(True)

        self.session = Session(leave_a_core_free=True)
        self._relay = _Relay(self)
        self._relay.event.connect(self._on_session_event)
        self.session.subscribe(self._relay.event.emit)
        # What the window itself keeps: its jobs, the view of the selected input, messages.
        self.core: list[str] | None = None  # the devices, once PyTorch and the model code are loaded
        self.core_error = ""
        self.train_job: Job | None = None
        self.gen_job: Job | None = None
        self.io_job: Job | None = None  # load/save model, export
        self._jobs: set[Job] = set()
        self._files_cancel = None
        self.input_audio: AudioBuffer | None = None
        self.input_path: str | None = None
        self.last_error = ""
        self.last_message = ""
        self._last_play = "generated"
        self._closed = False
        self._settings_saved = False
        self._follow_files = False  # apply the suggested preset when files come (first launch, reset)
        self._syncing = False  # the forms are being filled from the session
        self._train_from: int | None = None  # the iteration this training run started after
        self._listed: tuple = ()  # the session's files as the list shows them

        self.player = Player(self)
        self.player.stateChanged.connect(self._on_player_state)
        self.player.positionChanged.connect(lambda s: self.waveform_plot.set_playhead(self.player.tag, s))
        self.player.failed.connect(self._on_player_failed)

        self._build_ui()
        self._build_actions()
        stored = self.training_form.load_settings(self.settings)
        self.generation_form.load_settings(self.settings)
        self._follow_files = not stored
        self._push_settings()
        self.training_form.changed.connect(self._on_form_changed)
        self.generation_form.changed.connect(self._on_form_changed)
        self.training_form.preset_chosen.connect(self.apply_preset)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(self._default_size())

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self._refresh_plots)
        self.refresh_timer.start()
        self._on_session_event("model")
        self.statusBar().showMessage("Loading PyTorch in the background…")
        self.last_message = "Loading PyTorch in the background…"
        if load_core:  # the window as context: never called once it is deleted
            QTimer.singleShot(0, self, self._start_core_loader)
        if restore_files:
            QTimer.singleShot(0, self, self._restore_files)

    # ================================================================ compatibility views of the session
    @property
    def files(self) -> list[Any]:
        """The files the list shows (the session's, as of its last "files" event)."""
        return list(self._listed)

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
        files_box = QGroupBox("Audio files")
        fl = QVBoxLayout(files_box)
        self.file_list = QTreeWidget()
        self.file_list.setObjectName("fileList")
        self.file_list.setHeaderLabels(["Name", "Duration", "Rate", "Ch"])
        self.file_list.setRootIsDecorated(False)
        self.file_list.setUniformRowHeights(True)
        self.file_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.file_list.setToolTip("Drop audio files or folders here (or anywhere on the window)")
        header = self.file_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.file_list.itemSelectionChanged.connect(self._on_file_selected)
        fl.addWidget(self.file_list)
        self.drop_hint = QLabel("Drop audio files or folders here, or press Add…")
        self.drop_hint.setStyleSheet("color: #666;")
        fl.addWidget(self.drop_hint)
        row = QHBoxLayout()
        self.add_button = self._button("addButton", "Add…", "Add audio files (Ctrl+O)", self.open_files_dialog)
        self.remove_button = self._button("removeButton", "Remove", "Remove the selected files from the list (Del)",
                                          self.remove_selected_files)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        fl.addLayout(row)

        self.training_form = TrainingForm()
        self.generation_form = GenerationForm()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        self.form_scrolls: list[QScrollArea] = []
        for form, title in ((self.training_form, "Training"), (self.generation_form, "Generation")):
            scroll = QScrollArea()
            scroll.setObjectName(f"{form.objectName()}Scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            # The panel is made wide enough for the form (below): it scrolls up and down only.
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(form)
            self.form_scrolls.append(scroll)
            self.tabs.addTab(scroll, title)
        left = QSplitter(Qt.Orientation.Vertical)
        left.setObjectName("leftPanel")
        left.addWidget(files_box)
        left.addWidget(self.tabs)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 3)
        left.setSizes([170, 650])
        left.setMinimumWidth(self._settings_panel_width())

        b = self._button
        self.train_button = b("trainButton", "Train", "Train on the files in the list (Ctrl+T)", self.start_training)
        self.stop_button = b("stopButton", "Stop", "Stop training after the current step (Esc)", self.stop_training)
        self.load_model_button = b("loadModelButton", "Load model…", "Load a trained model", self.open_model_dialog)
        self.save_model_button = b("saveModelButton", "Save model…", "Save the current model", self.save_model_dialog)
        self.generate_button = b("generateButton", "Generate", "Generate audio with the model (Ctrl+G)",
                                 self.start_generation)
        self.cancel_button = b("cancelButton", "Cancel", "Cancel generation, keeping what was made (Esc)",
                               self.cancel_generation)
        self.play_input_button = b("playInputButton", "Play input", "Play the selected input file",
                                   lambda: self.toggle_play("input"))
        self.play_button = b("playButton", "Play", "Play the generated audio (Space)", lambda: self.toggle_play("generated"))
        self.export_button = b("exportButton", "Export…", "Export the generated audio (Ctrl+E)", self.export_dialog)
        self.train_button.setDefault(True)
        self.variation_spin = QSpinBox()
        self.variation_spin.setObjectName("variationSpin")
        self.variation_spin.setRange(1, 1)
        self.variation_spin.setPrefix("variation ")
        self.variation_spin.setToolTip("Which generated variation to show, play and export")
        self.variation_spin.valueChanged.connect(self._on_variation_changed)
        # Shown only with several variations, and it keeps its place while hidden: nothing moves.
        policy = self.variation_spin.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.variation_spin.setSizePolicy(policy)
        self.variation_spin.hide()
        for btn, texts in ((self.play_input_button, ("Play input", "Stop")), (self.play_button, ("Play", "Stop"))):
            btn.setMinimumWidth(max(btn.fontMetrics().horizontalAdvance(t) for t in texts) + 24)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setObjectName("logScaleCheck")
        self.log_check.setToolTip("Show the loss on a logarithmic axis")

        controls = QHBoxLayout()
        for group in ((self.train_button, self.stop_button), (self.load_model_button, self.save_model_button),
                      (self.generate_button, self.cancel_button),
                      (self.play_input_button, self.play_button, self.export_button)):
            for w in group:
                controls.addWidget(w)
            controls.addSpacing(12)
        controls.addStretch(1)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("Idle")

        self.loss_plot = LossPlot()
        self.log_check.toggled.connect(self.loss_plot.set_log_scale)
        loss_box = QWidget()
        lb = QVBoxLayout(loss_box)
        lb.setContentsMargins(0, 0, 0, 0)
        lb.addWidget(self.loss_plot)
        lrow = QHBoxLayout()
        lrow.addWidget(self.variation_spin)
        lrow.addStretch(1)
        lrow.addWidget(self.log_check)
        lb.addLayout(lrow)
        self.waveform_plot = WaveformPlot()
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(loss_box)
        plots.addWidget(self.waveform_plot)
        plots.setSizes([380, 380])
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(controls)
        rl.addWidget(self.progress_bar)
        rl.addWidget(plots, 1)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        main.setSizes([left.minimumWidth(), 10_000])  # the form gets its width, the plots the rest
        self.main_splitter = main
        self.setCentralWidget(main)

        self.speed_label = QLabel("")
        self.speed_label.setObjectName("speedLabel")
        self.model_label = QLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.audio_label = QLabel("No audio output: playback is off")  # shown without hovering
        self.audio_label.setObjectName("audioLabel")
        self.audio_label.setStyleSheet("color: #8a5a00;")
        self.audio_label.hide()
        for w in (self.speed_label, self.audio_label, self.model_label):
            self.statusBar().addPermanentWidget(w)

    @staticmethod
    def _button(name: str, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _build_actions(self) -> None:
        def action(text: str, shortcut, slot) -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.act_open = action("&Add audio files…", QKeySequence.StandardKey.Open, self.open_files_dialog)
        self.act_remove = action("&Remove selected files", QKeySequence.StandardKey.Delete, self.remove_selected_files)
        self.act_load_model = action("&Load model…", "Ctrl+L", self.open_model_dialog)
        self.act_save_model = action("&Save model…", QKeySequence.StandardKey.Save, self.save_model_dialog)
        self.act_export = action("&Export audio…", "Ctrl+E", self.export_dialog)
        self.act_export_plots = action("Export &plots to PNG…", "Ctrl+Shift+E", self.export_plots_dialog)
        self.act_open_output = action("Open &output folder", None, self.open_output_folder)
        self.act_quit = action("&Quit", "Ctrl+Q", self.close)
        self.act_train = action("&Train", "Ctrl+T", self.start_training)
        self.act_stop = action("&Stop / Cancel", Qt.Key.Key_Escape, self.stop_all)
        self.act_generate = action("&Generate", "Ctrl+G", self.start_generation)
        self.act_play = action("&Play / Stop", Qt.Key.Key_Space, lambda: self.toggle_play())
        self.act_log = QAction("&Log scale loss", self, checkable=True)
        self.act_log.toggled.connect(self.log_check.setChecked)
        self.log_check.toggled.connect(self.act_log.setChecked)
        self.act_reset = action("&Reset settings to defaults", None, self._reset_all_settings)
        self.act_about = action("&About WaveNet GUI", None, self.show_about)
        self.recent = RecentFiles(self.settings, self, self.open_recent)
        self.recent_menu = self.recent.menu
        mb = self.menuBar()
        for title, items in (("&File", (self.act_open, self.act_remove, None, self.act_load_model, self.act_save_model,
                                         self.recent_menu, None, self.act_export, self.act_export_plots,
                                         self.act_open_output, None, self.act_quit)),
                             ("&Run", (self.act_train, self.act_stop, None, self.act_generate, self.act_play)),
                             ("&View", (self.act_log, self.act_reset)), ("&Help", (self.act_about,))):
            m = mb.addMenu(title)
            for a in items:
                if a is None:
                    m.addSeparator()
                elif isinstance(a, QAction):
                    m.addAction(a)
                else:
                    m.addMenu(a)

    def sizeHint(self) -> QSize:  # noqa: D401
        return QSize(1280, 820)

    def _settings_panel_width(self) -> int:
        """Width of the left panel: the wider form, its vertical scroll bar and the frames."""
        form_w = max(f.minimumSizeHint().width() for f in (self.training_form, self.generation_form))
        form_w = max(form_w, *(f.sizeHint().width() for f in (self.training_form, self.generation_form)))
        return form_w + self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent) + 24

    def _default_size(self) -> QSize:
        """1280x820, less where the screen is smaller."""
        size = self.sizeHint()
        screen = self.screen()
        if screen is not None and QApplication.platformName() != "offscreen":  # its screen is a nominal 800x600
            avail = screen.availableGeometry()
            if avail.width() > 0 and avail.height() > 0:
                size = size.boundedTo(QSize(avail.width() - 20, avail.height() - 40))
        return size

    # ================================================================ dialogs (tests replace these)
    def show_message(self, kind: str, title: str, text: str, details: str = "") -> None:
        """Show a message box; ``kind`` is "info", "warning" or "error"."""
        if kind != "info":
            self.last_error = text
        box = QMessageBox(self)
        box.setIcon({"info": QMessageBox.Icon.Information, "warning": QMessageBox.Icon.Warning}.get(
            kind, QMessageBox.Icon.Critical))
        box.setWindowTitle(title)
        box.setText(text)
        if details:
            box.setDetailedText(details)
        box.exec()

    def ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def status(self, text: str, timeout_ms: int = 0) -> None:
        self.last_message = text
        self.statusBar().showMessage(text, timeout_ms)

    def _report_error(self, title: str, exc: BaseException, job: Job | None = None) -> None:
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
        self.show_message("error", title, text, details)

    # ================================================================ jobs
    def _run(self, work: Any, *args: Any, name: str, yielded=None, returned=None, errored=None, **kwargs) -> Job:
        """Run ``work`` on a worker; its outcome comes back to these methods in the UI thread."""
        holder: list[Job] = []
        job = run_in_thread(work, *args, name=name, yielded=yielded, returned=returned,
                            errored=errored or (lambda exc: self._report_error(f"{name} failed", exc, holder[0])),
                            finished=lambda: self._on_job_finished(holder[0]), **kwargs)
        holder.append(job)
        self._jobs.add(job)
        return job

    def _on_job_finished(self, job: Job) -> None:
        self._jobs.discard(job)
        if job is self.train_job:
            appinfo.set_recovery_saver(None)
        if self._closed:
            return
        if job in (self.train_job, self.gen_job):
            self.speed_label.setText("")
        self._update_model_label()
        self._update_actions()

    def busy_reading(self) -> bool:
        """Whether files are still being read or PyTorch loaded."""
        return any(job.running and job.name in ("add-files", "load-core") for job in self._jobs)

    def busy(self) -> str:
        """The name of the heavy job running ("training", "generation", "model file") or ""."""
        for job, what in ((self.train_job, "training"), (self.gen_job, "generation"), (self.io_job, "model file")):
            if job is not None and job.running:
                return what
        return ""

    # ================================================================ the session's events
    def _on_session_event(self, kind: str) -> None:
        if self._closed:
            return
        if kind == "files":
            self._show_files()
        elif kind == "settings":
            self._syncing = True
            try:
                for form in (self.training_form, self.generation_form):
                    form.set_values({k: v for k, v in self.session.settings.items() if k in form.widgets})
            finally:
                self._syncing = False
        elif kind == "model":
            if self.loss_plot.source is not self.session.state:
                self.loss_plot.set_source(self.session.state)
            self._update_model_label()
        elif kind == "results":
            self._show_results()
        self._update_actions()

    def _push_settings(self) -> None:
        values = {**self.training_form.raw_values(), **self.generation_form.raw_values()}
        self.session.update_settings(values)

    def _on_form_changed(self) -> None:
        self._push_settings()
        if not self._syncing:  # the user edited a field: the form no longer follows the files
            self._follow_files = False
        self.training_form.show_preset(self.training_form.matching_preset())
        self.training_form.set_model_mismatch(self.session.model_mismatch())
        self._update_actions()

    def apply_preset(self, name: str = "") -> None:
        """Fill in the form with preset ``name`` (empty: the one that suits the files in the list)."""
        name = name or self.session.suggested_preset()
        self.session.apply_preset(name)  # announces "settings": the forms follow
        self.training_form.show_preset(name)
        self.status(f"Preset: {self.training_form.preset_combo.currentText()}", 4000)

    # ================================================================ core loading
    def _start_core_loader(self) -> None:
        if not self._closed:
            self._run(load_core, name="load-core", returned=self._on_core_loaded, errored=self._on_core_failed)

    def _on_core_loaded(self, devices: list[str]) -> None:
        self.core = devices
        self.training_form.set_devices(devices)
        self._push_settings()
        if self.last_message.startswith("Loading PyTorch"):
            self.status("Ready. Press Train to learn from the files in the list.", 8000)
        self._update_actions()

    def _on_core_failed(self, exc: BaseException) -> None:
        self.core_error = f"The model code could not be loaded: {type(exc).__name__}: {exc}"
        self.status(self.core_error)
        self._update_actions()

    # ================================================================ recent files
    def recent_items(self) -> list[tuple[str, str]]:
        return self.recent.items()

    def remember_recent(self, kind: str, path: str | Path) -> None:
        self.recent.remember(kind, path)

    def _fill_recent_menu(self) -> None:
        self.recent.fill_menu()

    def _clear_recent(self) -> None:
        self.recent.clear()

    def open_recent(self, kind: str, path: str) -> Job | None:
        """Add a recent audio file (or folder) to the list, or load a recent model."""
        if not Path(path).exists():
            self.recent.forget(kind, path)
            self.status(f"{Path(path).name} no longer exists (removed from the recent list)")
            return None
        if kind == "model":
            if self.busy():
                self.status("Wait for the current work to finish (or stop it) to load a model")
                return None
            return self.load_model(path)
        return self.add_paths([path])

    # ================================================================ files
    def _restore_files(self) -> None:
        if self._closed:
            return
        stored = self.settings.value("files/paths")
        if stored is None:  # first launch: the example clip, so Train works at once
            clip = example_clip()
            paths = [str(clip)] if clip else []
        else:
            stored = [stored] if isinstance(stored, str) and stored else (stored or [])
            paths = [p for p in stored if Path(p).exists()]
        if paths:
            self.add_paths(paths, quiet=True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(paths)

    def open_files_dialog(self) -> None:
        start = self.settings.value("files/last_dir", str(Path.home()))
        paths, _ = QFileDialog.getOpenFileNames(self, "Add audio files", start, AUDIO_FILTER)
        if paths:
            self.settings.setValue("files/last_dir", str(Path(paths[0]).parent))
            self.add_paths(paths)

    def add_paths(self, paths: list[str | Path], *, quiet: bool = False) -> Job:
        """Read ``paths`` (files or folders) in the background and add the usable files to the list."""
        import threading

        self.status(f"Reading {len(paths)} item(s)…")
        self._files_cancel = self._files_cancel or threading.Event()
        return self._run(self.session.add_files, [str(p) for p in paths], name="add-files",
                         cancel=self._files_cancel, returned=lambda report: self._on_files_added(report, quiet))

    def _on_files_added(self, report, quiet: bool) -> None:
        if self._closed:
            return
        if not quiet:
            for info in report.added:
                self.remember_recent("audio", info.path)
        parts = []
        added = report.added
        if added:
            parts.append(f"Added {len(added)} file(s)" + (f": {Path(added[0].path).name}" if len(added) == 1 else ""))
        if report.refused:
            more = f" (and {len(report.refused) - 1} more refused)" if len(report.refused) > 1 else ""
            parts.append(f"Refused {report.refused[0]}{more}")
            self.last_error = "; ".join(report.refused)
        skipped = [n for n in report.notes if "skipped" in n]
        changed = [n for n in report.notes if "skipped" not in n] if added else []
        if skipped:
            parts.append(skipped[0] if len(skipped) == 1 else f"{len(skipped)} notes on skipped files")
        if changed:
            parts.append(changed[0] + (f" (and {len(changed) - 1} more notes)" if len(changed) > 1 else ""))
        if report.duplicates:
            d = report.duplicates
            parts.append(f"{d[0]} is already in the list" if len(d) == 1 else f"{len(d)} files are already in the list")
        if not parts:
            parts.append("No audio files found")
        if not (quiet and not report.refused):
            self.status(". ".join(parts))
        elif added and not self.last_message.startswith("Loading PyTorch"):
            self.status(parts[0], 5000)
        if report.refused or report.notes:
            self.statusBar().setToolTip("\n".join(report.refused + report.notes))
        if added and not self.file_list.selectedItems() and self.file_list.topLevelItemCount():
            self.file_list.setCurrentItem(self.file_list.topLevelItem(0))

    def _show_files(self) -> None:
        """Make the list show the session's files (rows are kept for files still there)."""
        files = self._listed = self.session.files
        rows = {self.file_list.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): self.file_list.topLevelItem(i)
                for i in range(self.file_list.topLevelItemCount())}
        wanted = [str(i.path) for i in files]
        for path, item in rows.items():
            if path not in wanted:
                self.file_list.takeTopLevelItem(self.file_list.indexOfTopLevelItem(item))
        for info in files:
            if str(info.path) in rows:
                continue
            item = QTreeWidgetItem([Path(info.path).name, seconds_text(info.duration), f"{info.sample_rate} Hz",
                                    str(info.channels)])
            item.setToolTip(0, str(info.path))
            item.setData(0, Qt.ItemDataRole.UserRole, str(info.path))
            for col in (1, 2, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.file_list.addTopLevelItem(item)
        self.settings.setValue("files/paths", wanted)
        self.drop_hint.setVisible(not files)
        self.generation_form.set_files(wanted)
        seconds = self.session.clip_seconds()
        self.training_form.set_clip_seconds(seconds)
        if self._follow_files and files:  # the defaults the app opens with suit the files in the list
            self.apply_preset()
        else:
            self.training_form.show_preset(self.training_form.matching_preset())
        if self.input_path is not None and self.input_path not in wanted:
            if self.player.tag == "input":
                self.player.stop()
            self.input_path = self.input_audio = None
            self.waveform_plot.set_audio("input", None, title="Input")

    def remove_selected_files(self) -> None:
        items = self.file_list.selectedItems()
        if items:
            n = self.session.remove_files([it.data(0, Qt.ItemDataRole.UserRole) for it in items])
            self.status(f"Removed {n} file(s)", 4000)

    def _on_file_selected(self) -> None:
        items = self.file_list.selectedItems()
        path = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        if path is None or path == self.input_path:
            self._update_actions()
            return
        self.input_path = path
        self._run(self.session.display_audio, path, name="display",
                  returned=lambda loaded, p=path: self._on_display_loaded(p, loaded),
                  errored=lambda exc, p=path: self._on_display_failed(p, exc))

    def _on_display_loaded(self, path: str, loaded) -> None:
        if path != self.input_path or self._closed:
            return
        self.input_audio = AudioBuffer.from_array(loaded.samples, loaded.sample_rate)
        self.waveform_plot.set_audio("input", self.input_audio.view(), loaded.sample_rate,
                                     title=f"Input: {Path(path).name}")
        self._update_actions()

    def _on_display_failed(self, path: str, exc: BaseException) -> None:
        if path == self.input_path:
            self.input_audio = None
            self.waveform_plot.set_audio("input", None, title=f"Input: {Path(path).name} (unreadable)")
        self.status(str(exc))
        self.last_error = str(exc)
        self._update_actions()

    # ================================================================ training
    def start_training(self) -> None:
        if not self.train_button.isEnabled():
            self.status(self.train_button.toolTip(), 6000)
            return
        if not self.training_form.is_valid:
            self.tabs.setCurrentIndex(0)
            self.status("Fix the highlighted settings first.", 6000)
            return
        self._push_settings()
        replace = False
        differ = self.session.model_mismatch()
        if self.session.model is not None and differ:
            unsaved = " It has not been saved." if self.session.unsaved else ""
            labels = ", ".join(differ)
            if not self.ask("Start a new model?", f"The settings ({labels}) no longer match the current model, "
                                                  f"so Train would start a new model and close this one.{unsaved} "
                                                  "Start a new model?"):
                self.status("Training not started: the current model is kept", 6000)
                return
            replace = True
        if self.player.tag == "generated":
            self.player.stop()
        try:
            work = self.session.train(replace=replace)
        except WaveNetError as exc:
            self._report_error("Cannot train", exc)
            return
        self._train_from = None
        self.train_job = self._run(work, name="training", yielded=self._on_train_progress,
                                   returned=self._on_train_done, errored=self._on_train_failed)
        appinfo.set_recovery_saver(self._save_for_recovery)  # the excepthook saves the model being trained
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading audio…")
        continuing = self.session.model is not None and not replace
        self.status("Continuing to train the current model (change a model setting to start afresh)…"
                    if continuing else "Starting training…")
        self._update_model_label()
        self._update_actions()

    def _save_for_recovery(self) -> Path | None:
        """Save the model being trained next to the outputs (else beside the log), for a crash."""
        for folder in (self.session.settings.get("output_dir"), appinfo.user_log_dir()):
            try:
                return self.session.save_recovery(Path(str(folder)).expanduser())
            except (WaveNetError, OSError, TypeError):
                continue
        return None

    def stop_training(self) -> None:
        if self.busy() == "training":
            self.session.stop()
            self.stop_button.setEnabled(False)
            self.progress_bar.setFormat("Stopping after this step…")
            self.status("Stopping after the current step…")

    def _on_train_progress(self, p) -> None:
        if isinstance(p, str):
            self.progress_bar.setFormat(p)
            self.status(p)
            return
        if self._train_from is None:
            self._train_from = p.iteration - 1
        self.progress_bar.setRange(self._train_from, max(1, p.total_iterations))
        self.progress_bar.setValue(min(p.iteration, p.total_iterations))
        eta = f" · {seconds_text(p.eta)} left" if p.eta is not None else ""
        val = f" · val {p.val_loss:.3f}" if p.val_loss is not None else ""
        self.progress_bar.setFormat(f"Iteration {p.iteration:,}/{p.total_iterations:,} · loss {p.mean_loss:.3f}"
                                    f"{val} · {p.samples_per_s:,.0f} samples/s{eta}")
        self.speed_label.setText(f"{p.samples_per_s:,.0f} samples/s")
        self._update_model_label(p.iteration)
        if p.checkpoint is not None:
            self.status(f"Checkpoint saved: {p.checkpoint}", 5000)

    def _on_train_done(self, outcome) -> None:
        r = outcome.result
        if r.reason != "cancelled":
            self.progress_bar.setValue(self.progress_bar.maximum())
        self.progress_bar.setFormat(f"Training ended: {r.reason}")
        msg = r.message + (" · " + "; ".join(outcome.notes[:3]) if outcome.notes else "")
        self.status(msg)
        self.loss_plot.refresh()
        if r.reason == "diverged":
            self.show_message("warning", "Training stopped", r.message)

    def _on_train_failed(self, exc: BaseException) -> None:
        self.progress_bar.setFormat("Training failed")
        self._report_error("Training failed", exc, self.train_job)

    def _update_model_label(self, iteration: int | None = None) -> None:
        s = self.session
        if self.busy() == "training":
            it = iteration if iteration is not None else s.state.iteration
            self.model_label.setText(f"Training: iteration {it:,}" if it else "Training…")
            return
        self.training_form.set_model_mismatch(s.model_mismatch())
        if s.model is None:
            self.model_label.setText("No model")
            return
        cfg = s.model.config
        parts = [f"Model: {cfg.sample_rate} Hz, RF {cfg.receptive_field:,}"]
        if s.state.iteration:
            parts.append(f"{s.state.iteration:,} it")
        loss = s.state.mean_loss()
        if loss is not None and math.isfinite(loss):
            parts.append(f"loss {loss:.3g}")
        if s.unsaved:
            parts.append("not saved")
        self.model_label.setText(" · ".join(parts))

    # ================================================================ generation
    def start_generation(self) -> None:
        if not self.generate_button.isEnabled():
            self.status(self.generate_button.toolTip(), 6000)
            return
        self._push_settings()
        if self.player.tag == "generated":
            self.player.stop()
        try:
            work = self.session.generate()
        except WaveNetError as exc:
            self._report_error("Cannot generate", exc)
            return
        self.gen_job = self._run(work, name="generation", yielded=self._on_gen_progress, returned=self._on_gen_done,
                                 errored=self._on_gen_failed)
        r = self.session.results
        self.progress_bar.setRange(0, r.n_samples)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"Generating {seconds_text(r.n_samples / r.sample_rate)}…")
        self.status(f"Generating {r.n_samples:,} samples ({seconds_text(r.n_samples / r.sample_rate)}) × "
                    f"{len(r.buffers)}…")
        self._update_actions()

    def cancel_generation(self) -> None:
        if self.busy() == "generation":
            self.session.stop()
            self.cancel_button.setEnabled(False)
            self.status("Cancelling generation…")

    def _on_gen_progress(self, gp) -> None:
        self.waveform_plot.mark_dirty("generated")
        self.progress_bar.setRange(0, max(1, int(gp.total)))
        self.progress_bar.setValue(int(gp.done))
        self.progress_bar.setFormat(f"Generated {gp.done:,}/{gp.total:,} samples · {gp.realtime_factor:.2f}× real time")
        self.speed_label.setText(f"{gp.samples_per_s:,.0f} samples/s · {gp.realtime_factor:.2f}× real time")
        self._update_actions()

    def _on_gen_done(self, outcome) -> None:
        r = outcome.results
        seconds = r.length / r.sample_rate
        self._show_results()
        self.progress_bar.setFormat(("Cancelled" if r.cancelled else "Done") + f": {seconds_text(seconds)} generated")
        msg = (f"Generation cancelled: kept {seconds_text(seconds)}" if r.cancelled
               else f"Generated {seconds_text(seconds)}")
        msg += f" at {r.samples_per_s:,.0f} samples/s ({r.samples_per_s / r.sample_rate:.2f}× real time), {r.note}"
        if r.saved:
            more = f" and {len(r.saved) - 1} more" if len(r.saved) > 1 else ""
            msg += f"; saved {r.saved[0].name}{more} in {r.saved[0].parent}"
        if r.save_error:
            msg += f"; NOT saved: {r.save_error}"
        self.status(msg)
        if r.save_error:
            self.show_message("warning", "Prediction not saved", r.save_error)

    def _on_gen_failed(self, exc: BaseException) -> None:
        self.progress_bar.setFormat("Generation failed")
        self._report_error("Generation failed", exc, self.gen_job)

    def _show_results(self) -> None:
        r = self.session.results
        k = len(r.buffers) if r else 1
        if self.variation_spin.maximum() != k:
            self.variation_spin.blockSignals(True)
            self.variation_spin.setRange(1, k)
            self.variation_spin.setValue(1)
            self.variation_spin.blockSignals(False)
        self.variation_spin.setVisible(k > 1)
        self._on_variation_changed()

    def _on_variation_changed(self, *_: object) -> None:
        r = self.session.results
        buf = self.current_generated()
        if buf is None:
            self.waveform_plot.set_audio("generated", None, title="Generated")
            return
        if self.player.tag == "generated" and self.player.buffer is not buf:
            self.player.stop()
        running = self.busy() == "generation"
        title = "Generated (in progress)" if running else ("Generated (cancelled, partial)" if r.cancelled
                                                           else "Generated")
        if len(r.buffers) > 1:
            title += f" · variation {self.variation_spin.value()}/{len(r.buffers)}"
        self.waveform_plot.set_audio("generated", buf, buf.sample_rate, title=title,
                                     expected_seconds=r.n_samples / r.sample_rate if running else 0.0)

    def current_generated(self) -> AudioBuffer | None:
        r = self.session.results
        if r is None or not r.buffers:
            return None
        return r.buffers[min(self.variation_spin.value() - 1, len(r.buffers) - 1)]

    def stop_all(self) -> None:
        """Esc: stop training, cancel generation, stop playback."""
        if self.busy() == "training":
            self.stop_training()
        elif self.busy() == "generation":
            self.cancel_generation()
        elif self.player.state == PLAYING:
            self.player.stop()

    # ================================================================ model files
    def open_model_dialog(self) -> None:
        if self.busy():
            return
        start = self.settings.value("model/last_dir", self.session.settings.get("output_dir") or "")
        path, _ = QFileDialog.getOpenFileName(self, "Load model", start, MODEL_FILTER)
        if path:
            self.load_model(path)

    def load_model(self, path: str | Path) -> Job:
        self.settings.setValue("model/last_dir", str(Path(path).parent))
        self.status(f"Loading {Path(path).name}…")
        self.io_job = self._run(self.session.load_model, str(path), name="load-model",
                                returned=lambda loaded, p=path: self._on_model_loaded(p),
                                errored=lambda exc: self._report_error("Could not load the model", exc, self.io_job))
        self._update_actions()
        return self.io_job

    def _on_model_loaded(self, path) -> None:
        self.remember_recent("model", path)
        self.loss_plot.refresh()
        self.status(f"Loaded {Path(path).name}: press Generate (training is not needed).")

    def save_model_dialog(self) -> None:
        if self.session.model is None or self.busy():
            return
        start = self.settings.value("model/last_dir", self.session.settings.get("output_dir") or "")
        path, _ = QFileDialog.getSaveFileName(self, "Save model", str(Path(start) / "model.safetensors"), MODEL_FILTER)
        if path:
            self.save_model(path if path.endswith(".safetensors") else path + ".safetensors")

    def save_model(self, path: str | Path) -> Job:
        self.settings.setValue("model/last_dir", str(Path(path).parent))
        self.io_job = self._run(self.session.save_model, str(path), name="save-model",
                                returned=lambda p: (self.remember_recent("model", p), self.status(f"Model saved: {p}")),
                                errored=lambda exc: self._report_error("Could not save the model", exc, self.io_job))
        self._update_actions()
        return self.io_job

    # ================================================================ export
    def export_dialog(self) -> None:
        buf = self.current_generated()
        if buf is None or buf.length == 0 or self.busy() == "generation":
            return
        start = self.settings.value("export/last_dir", self.session.settings.get("output_dir") or "")
        path, chosen = QFileDialog.getSaveFileName(self, "Export generated audio", str(Path(start) / "generated.wav"),
                                                   ";;".join(EXPORT_FORMATS),
                                                   options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        ext, subtype = EXPORT_FORMATS.get(chosen, (".wav", "PCM_16"))
        if Path(path).suffix.lower() not in (".wav", ".flac", ".ogg"):
            path += ext
        elif Path(path).suffix.lower() != ext:
            subtype = "PCM_16" if Path(path).suffix.lower() == ".wav" else None
        self.export_to(path, subtype=subtype)

    def export_to(self, path: str | Path, *, subtype: str | None = "PCM_16", confirm: bool = True) -> Job | None:
        """Write the shown variation to ``path`` (format from the extension), asking before overwriting."""
        buf = self.current_generated()
        if buf is None or buf.length == 0:
            return None
        path = Path(path)
        if confirm and path.exists() and not self.ask("Overwrite?", f"{path.name} exists. Replace it?"):
            self.status("Export cancelled", 3000)
            return None
        self.settings.setValue("export/last_dir", str(path.parent))
        return self._run(self.session.export, str(path), name="export", variation=self.variation_spin.value() - 1,
                         subtype=subtype, returned=lambda p: self.status(f"Exported {p}"),
                         errored=lambda exc: self._report_error("Export failed", exc))

    def export_plots_dialog(self) -> None:
        start = self.settings.value("export/last_dir", self.session.settings.get("output_dir") or "")
        path, _ = QFileDialog.getSaveFileName(self, "Export plots to PNG", str(Path(start) / "plot.png"),
                                              "PNG images (*.png)")
        if path:
            try:
                written = self.export_plots(path)
            except Exception as exc:  # noqa: BLE001
                self._report_error("Could not export the plots", exc)
                return
            self.status("Plots saved: " + ", ".join(p.name for p in written))

    def export_plots(self, path: str | Path) -> list[Path]:
        """Write ``<stem>-loss.png`` and ``<stem>-waveform.png`` next to ``path``."""
        stem = Path(path).with_suffix("")
        return [self.loss_plot.export_png(f"{stem}-loss.png"), self.waveform_plot.export_png(f"{stem}-waveform.png")]

    def open_output_folder(self) -> None:
        out = self.session.settings.get("output_dir")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(out)))

    # ================================================================ playback
    def toggle_play(self, which: str | None = None) -> None:
        """Play ``which`` ("input" / "generated"); stop if it is already playing."""
        if self.player.state == PLAYING and (which is None or self.player.tag == which):
            self.player.stop()
            return
        if which is None:
            which = self._last_play if self._can_play(self._last_play) else (
                "generated" if self._can_play("generated") else "input")
        if not self._can_play(which):
            return
        self._last_play = which
        self.player.play(self.current_generated() if which == "generated" else self.input_audio, tag=which)

    def _can_play(self, which: str) -> bool:
        if not self.player.availability()[0]:
            return False
        if which == "generated":
            buf = self.current_generated()
            return buf is not None and (buf.length > 0 or not buf.complete)
        return self.input_audio is not None and self.input_audio.length > 0

    def _on_player_state(self, state: str) -> None:
        if state != PLAYING:
            self.waveform_plot.set_playhead(None)
        self._update_actions()

    def _on_player_failed(self, reason: str) -> None:
        self.status(reason)
        self.last_error = reason
        self._update_actions()

    # ================================================================ enabling
    def _update_actions(self) -> None:
        busy = self.busy()
        core_ok = self.core is not None
        training, generating = busy == "training", busy == "generation"
        has_model = self.session.model is not None
        if not core_ok:
            why = self.core_error or "Loading PyTorch…"
        elif busy:
            why = f"Busy: {busy} is running"
        elif not self.training_form.is_valid:
            why = "Some settings are invalid: see the Training tab"
        elif not self.session.files:
            why = "Add audio files first (drop them on the window or press Ctrl+O)"
        else:
            why = ""
        self._set_enabled(self.train_button, not why, why or "Train on the files in the list (Ctrl+T)")
        self.act_train.setEnabled(not why)
        self._set_enabled(self.stop_button, training and not self.session.stopping,
                          "Stop training after the current step (Esc)")
        gwhy = (self.core_error or "Loading PyTorch…") if not core_ok else (
            "Train or load a model first" if not has_model else (f"Busy: {busy} is running" if busy else (
                "Some settings are invalid: see the Generation tab" if not self.generation_form.is_valid else "")))
        self._set_enabled(self.generate_button, not gwhy, gwhy or "Generate audio with the model (Ctrl+G)")
        self.act_generate.setEnabled(not gwhy)
        self._set_enabled(self.cancel_button, generating and not self.session.stopping,
                          "Cancel generation, keeping what was made (Esc)")
        lwhy = (self.core_error or "Loading PyTorch…") if not core_ok else (f"Busy: {busy} is running" if busy else "")
        self._set_enabled(self.load_model_button, not lwhy, lwhy or "Load a trained model")
        self.act_load_model.setEnabled(not lwhy)
        can_save = has_model and not busy
        self._set_enabled(self.save_model_button, can_save, "Save the current model" if can_save else (
            "Train or load a model first" if not has_model else f"Busy: {busy} is running"))
        self.act_save_model.setEnabled(can_save)
        buf = self.current_generated()
        has_gen = buf is not None and buf.length > 0
        can_export = has_gen and not generating
        self._set_enabled(self.export_button, can_export, "Export the generated audio (Ctrl+E)" if can_export
                          else "Generate audio first" if not has_gen else "Wait until generation ends")
        self.act_export.setEnabled(can_export)
        ok, reason = self.player.availability()
        if not ok and self.audio_label.toolTip() != reason:
            self.audio_label.setToolTip(reason)
        self.audio_label.setVisible(not ok)
        playing = self.player.state == PLAYING
        for which, button, label in (("generated", self.play_button, "Play"), ("input", self.play_input_button,
                                                                               "Play input")):
            active = playing and self.player.tag == which
            button.setText("Stop" if active else label)
            if not ok:
                self._set_enabled(button, False, reason)
            elif active:
                self._set_enabled(button, True, "Stop playback (Space)")
            else:
                can = self._can_play(which)
                tip = ("Play the generated audio (Space)" if which == "generated" else "Play the selected input file")
                if not can:
                    tip = "Generate audio first" if which == "generated" else "Select an input file first"
                self._set_enabled(button, can, tip)
        self.act_play.setEnabled(ok)
        self.remove_button.setEnabled(bool(self.file_list.selectedItems()) and not training)
        self.act_remove.setEnabled(self.remove_button.isEnabled())
        self.training_form.setEnabled(not training)

    @staticmethod
    def _set_enabled(widget: QWidget, enabled: bool, tip: str) -> None:
        widget.setEnabled(enabled)
        widget.setToolTip(tip)

    def _refresh_plots(self) -> None:
        self.loss_plot.refresh()
        self.waveform_plot.refresh()

    # ================================================================ settings / about
    def _reset_all_settings(self) -> None:
        self.apply_preset()
        self.generation_form.reset_defaults()
        self.status("Settings reset to the defaults for these files", 4000)

    def show_about(self) -> None:
        QMessageBox.about(self, "About WaveNet GUI", self.about_text())

    def about_text(self) -> str:
        from wavenet_gui import __version__

        rows = list(appinfo.versions().items())
        table = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in rows)
        where = "".join(f"<p>{line}</p>" for line in appinfo.user_settings_note(self.settings.fileName()).splitlines())
        return (f"<h3>WaveNet GUI {__version__}</h3><p>Train an unconditioned WaveNet on your own audio, then "
                f"listen to, plot and export what it generates.</p><table>{table}</table>{where}")

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        busy = self.busy()
        if busy and not self.ask("Quit?", f"{busy.capitalize()} is running. Stop it and quit?"):
            event.ignore()
            return
        self.shutdown()
        event.accept()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop all work, wait for it and save the settings.  Safe to call more than once."""
        self._closed = True
        self.refresh_timer.stop()
        self.player.stop()
        self.session.stop()
        if self._files_cancel is not None:
            self._files_cancel.set()
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
            self.training_form.save_settings(self.settings)
            self.generation_form.save_settings(self.settings)
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("files/paths", [str(i.path) for i in self.session.files])
            self.settings.sync()
        except Exception:  # noqa: BLE001 - an unwritable settings file must not block quitting
            log.warning("could not save settings", exc_info=True)

"""The main window: files, settings, training, generation, playback and export.

Nothing heavy is imported here: torch and the model code are loaded by a
background job right after the window shows (``Train`` and ``Generate`` are
enabled once that is done).  All work runs in :mod:`workers` tasks; a 15 Hz
timer redraws the plots from the latest data.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from . import jobs
from .forms import GenerationForm, TrainingForm
from .playback import PLAYING, AudioBuffer, Player
from .plots import LossPlot, WaveformPlot
from .workers import Task, start_task

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


def _fmt_duration(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def example_clip() -> Path | None:
    """The bundled example clip (None if an installation lost it)."""
    from wavenet_gui.resources_api import example_clip_path

    try:
        p = Path(example_clip_path())
    except (OSError, ModuleNotFoundError):
        return None
    return p if p.exists() else None


class MainWindow(QMainWindow):
    """The application window.  ``settings`` defaults to the app's QSettings."""

    def __init__(self, settings: QSettings | None = None, *, load_core: bool = True,
                 restore_files: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.settings = settings if settings is not None else QSettings()
        self.setAcceptDrops(True)

        # state
        self.core: jobs.CoreInfo | None = None
        self.core_error = ""
        self.files: list[Any] = []  # core.audio.AudioInfo, in list order
        self.model = None
        self.model_metadata: dict = {}
        self.iteration_offset = 0
        self.optimizer_state = None  # Adam's state of self.model, so Train continues where it stopped
        self.train_task: Task | None = None
        self.gen_task: Task | None = None
        self.io_task: Task | None = None  # load/save model, export
        self.display_task: Task | None = None
        self.other_tasks: list[Task] = []  # probes and the core loader
        self.generated: list[AudioBuffer] = []
        self.generated_total = 0
        self.input_audio: AudioBuffer | None = None
        self.input_path: str | None = None
        self.last_prediction: list[Path] = []
        self.last_error = ""
        self.last_message = ""
        self._last_play = "generated"
        self._gen_started = 0.0
        self._train_started = 0.0
        self._train_iteration = 0  # the latest iteration of the running training (for the status bar)
        self._train_continuing = False
        self._closed = False  # set by shutdown(): no new work after it
        self._settings_saved = False

        self.player = Player(self)
        self.player.stateChanged.connect(self._on_player_state)
        self.player.positionChanged.connect(self._on_player_position)
        self.player.failed.connect(self._on_player_failed)

        self._build_ui()
        self._build_actions()
        self.training_form.load_settings(self.settings)
        self.generation_form.load_settings(self.settings)
        self.training_form.changed.connect(self._update_actions)
        self.generation_form.changed.connect(self._update_actions)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(self._default_size())

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self._refresh_plots)
        self.refresh_timer.start()

        self._update_actions()
        self.statusBar().showMessage("Loading PyTorch in the background…")
        if load_core:  # the window as context: never called once it is deleted
            QTimer.singleShot(0, self, self._start_core_loader)
        if restore_files:
            QTimer.singleShot(0, self, self._restore_files)

    # ================================================================ UI
    def _build_ui(self) -> None:
        # -- left: files + settings ------------------------------------
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
        self.add_button = QPushButton("Add…")
        self.add_button.setObjectName("addButton")
        self.add_button.setToolTip("Add audio files (Ctrl+O)")
        self.add_button.clicked.connect(self.open_files_dialog)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeButton")
        self.remove_button.setToolTip("Remove the selected files from the list (Del)")
        self.remove_button.clicked.connect(self.remove_selected_files)
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
        self.left_panel = left

        # -- right: controls + plots ------------------------------------
        def button(name: str, text: str, tip: str, slot) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        self.train_button = button("trainButton", "Train", "Train on the files in the list (Ctrl+T)", self.start_training)
        self.stop_button = button("stopButton", "Stop", "Stop training after the current step (Esc)", self.stop_training)
        self.load_model_button = button("loadModelButton", "Load model…", "Load a trained model instead of training",
                                        self.open_model_dialog)
        self.save_model_button = button("saveModelButton", "Save model…", "Save the current model", self.save_model_dialog)
        self.generate_button = button("generateButton", "Generate", "Generate audio with the model (Ctrl+G)",
                                      self.start_generation)
        self.cancel_button = button("cancelButton", "Cancel", "Cancel generation, keeping what was made (Esc)",
                                    self.cancel_generation)
        self.play_input_button = button("playInputButton", "Play input", "Play the selected input file",
                                        lambda: self.toggle_play("input"))
        self.play_button = button("playButton", "Play", "Play the generated audio (Space)",
                                  lambda: self.toggle_play("generated"))
        self.export_button = button("exportButton", "Export…", "Export the generated audio (Ctrl+E)",
                                    self.export_dialog)
        self.train_button.setDefault(True)
        self.variation_spin = QSpinBox()
        self.variation_spin.setObjectName("variationSpin")
        self.variation_spin.setRange(1, 1)
        self.variation_spin.setPrefix("variation ")
        self.variation_spin.setToolTip("Which generated variation to show, play and export")
        self.variation_spin.valueChanged.connect(self._on_variation_changed)
        # Shown only with several variations, under the toolbar (next to "Log scale"), and it keeps
        # its place while hidden: nothing moves when it appears or goes.
        policy = self.variation_spin.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.variation_spin.setSizePolicy(policy)
        self.variation_spin.hide()
        # Buttons whose text changes (Play <-> Stop) keep the width of their longest text.
        for b, texts in ((self.play_input_button, ("Play input", "Stop")), (self.play_button, ("Play", "Stop"))):
            b.setMinimumWidth(max(b.fontMetrics().horizontalAdvance(t) for t in texts) + 24)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setObjectName("logScaleCheck")
        self.log_check.setToolTip("Show the loss on a logarithmic axis")

        controls = QHBoxLayout()
        for w in (self.train_button, self.stop_button):
            controls.addWidget(w)
        controls.addSpacing(12)
        for w in (self.load_model_button, self.save_model_button):
            controls.addWidget(w)
        controls.addSpacing(12)
        for w in (self.generate_button, self.cancel_button):
            controls.addWidget(w)
        controls.addSpacing(12)
        for w in (self.play_input_button, self.play_button, self.export_button):
            controls.addWidget(w)
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
        # Shown (without hovering) when there is no audio output: the play buttons say why too.
        self.audio_label = QLabel("No audio output: playback is off")
        self.audio_label.setObjectName("audioLabel")
        self.audio_label.setStyleSheet("color: #8a5a00;")
        self.audio_label.hide()
        self.statusBar().addPermanentWidget(self.speed_label)
        self.statusBar().addPermanentWidget(self.audio_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _build_actions(self) -> None:
        def action(text: str, shortcut, slot, *, tip: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setStatusTip(tip)
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

        mb = self.menuBar()
        m = mb.addMenu("&File")
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        for a in (self.act_open, self.act_remove, None, self.act_load_model, self.act_save_model,
                  self.recent_menu, None, self.act_export, self.act_export_plots, self.act_open_output, None,
                  self.act_quit):
            if a is None:
                m.addSeparator()
            elif isinstance(a, QMenu):
                m.addMenu(a)
            else:
                m.addAction(a)
        m = mb.addMenu("&Run")
        for a in (self.act_train, self.act_stop, None, self.act_generate, self.act_play):
            m.addSeparator() if a is None else m.addAction(a)
        m = mb.addMenu("&View")
        m.addAction(self.act_log)
        m.addAction(self.act_reset)
        m = mb.addMenu("&Help")
        m.addAction(self.act_about)

    def sizeHint(self) -> QSize:  # noqa: D401
        return QSize(1280, 820)

    def _settings_panel_width(self) -> int:
        """Width of the left panel: the wider form, its vertical scroll bar and the frames."""
        form_w = max(self.training_form.minimumSizeHint().width(), self.training_form.sizeHint().width(),
                     self.generation_form.minimumSizeHint().width(), self.generation_form.sizeHint().width())
        bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        return form_w + bar + 24  # tab frame and margins

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

    def _report_error(self, title: str, exc: BaseException, task: Task | None = None) -> None:
        from wavenet_gui.core.errors import WaveNetError

        if isinstance(exc, WaveNetError):
            text = str(exc)
            details = ""
        elif isinstance(exc, MemoryError):
            text = "Out of memory: try fewer or shorter files, a smaller model or a smaller batch."
            details = task.traceback if task else ""
        else:
            text = f"Unexpected error: {type(exc).__name__}: {exc}"
            details = task.traceback if task else ""
        self.status(f"{title}: {text}")
        self.show_message("error", title, text, details)

    # ================================================================ core loading
    def _start_core_loader(self) -> None:
        if self._closed:
            return
        task = start_task(jobs.load_core, name="load-core", parent=self)
        task.finished.connect(self._on_core_loaded)
        task.errored.connect(self._on_core_failed)
        self._track(task)

    @Slot(object)
    def _on_core_loaded(self, info: jobs.CoreInfo) -> None:
        self.core = info
        self.training_form.set_devices(info.devices)
        self.training_form.set_core(info.config_cls, info.count_parameters, info.training_config_cls)
        if self.last_message.startswith("Loading PyTorch"):
            self.status("Ready. Press Train to learn from the files in the list.", 8000)
        self._update_actions()

    @Slot(object)
    def _on_core_failed(self, exc: BaseException) -> None:
        self.core_error = f"The model code could not be loaded: {type(exc).__name__}: {exc}"
        self.status(self.core_error)
        self._update_actions()

    def _track(self, task: Task) -> None:
        self.other_tasks.append(task)
        task.done.connect(lambda t=task: self.other_tasks.remove(t) if t in self.other_tasks else None)

    # ================================================================ recent files
    RECENT_MAX = 10

    def recent_items(self) -> list[tuple[str, str]]:
        """``(kind, path)`` pairs, most recent first; kind is ``"audio"`` or ``"model"``."""
        stored = self.settings.value("recent/items") or []
        if isinstance(stored, str):
            stored = [stored]
        items = []
        for entry in stored:
            kind, _, path = str(entry).partition(":")
            if kind in ("audio", "model") and path:
                items.append((kind, path))
        return items

    def _store_recent(self, items: list[tuple[str, str]]) -> None:
        self.settings.setValue("recent/items", [f"{k}:{p}" for k, p in items[:self.RECENT_MAX]])

    def remember_recent(self, kind: str, path: str | Path) -> None:
        entry = (kind, str(Path(path).resolve()))
        self._store_recent([entry] + [i for i in self.recent_items() if i != entry])

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        items = self.recent_items()
        if not items:
            none = menu.addAction("No recent files")
            none.setEnabled(False)
            return
        for kind, path in items:
            p = Path(path)
            a = menu.addAction(f"{'Model' if kind == 'model' else 'Audio'}: {p.name}  ({p.parent})")
            a.setStatusTip(path)
            a.setData(f"{kind}:{path}")
            a.triggered.connect(lambda _=False, k=kind, q=path: self.open_recent(k, q))
        menu.addSeparator()
        menu.addAction("Clear list", self._clear_recent)

    def _clear_recent(self) -> None:
        self._store_recent([])
        self._fill_recent_menu()

    def open_recent(self, kind: str, path: str) -> Task | None:
        """Add a recent audio file (or folder) to the list, or load a recent model."""
        if not Path(path).exists():
            self._store_recent([i for i in self.recent_items() if i != (kind, path)])
            self._fill_recent_menu()
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
            if isinstance(stored, str):
                stored = [stored] if stored else []
            paths = [p for p in stored if Path(p).exists()]
        if paths:
            self.add_paths(paths, quiet=True)

    def _save_file_list(self) -> None:
        self.settings.setValue("files/paths", [str(i.path) for i in self.files])

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

    def add_paths(self, paths: list[str | Path], *, quiet: bool = False) -> Task:
        """Probe ``paths`` (files or folders) in the background and list the good ones."""
        self.status(f"Reading {len(paths)} item(s)…")
        rate = self.training_form.raw_values().get("sample_rate")
        rate = int(rate) if isinstance(rate, int) and 1000 <= rate <= 192_000 else None
        task = start_task(jobs.probe_files, [str(p) for p in paths], rate, name="probe", parent=self)
        task.finished.connect(lambda result: self._on_probed(result, quiet))
        task.errored.connect(lambda exc, t=task: self._report_error("Could not add files", exc, t))
        self._track(task)
        return task

    def _on_probed(self, result: jobs.ProbeResult, quiet: bool) -> None:
        known = {str(Path(i.path).resolve()) for i in self.files}
        added = []
        duplicates = []
        for info in result.infos:
            key = str(Path(info.path).resolve())
            if key in known:
                duplicates.append(Path(info.path).name)
                continue
            known.add(key)
            self.files.append(info)
            added.append(info)
            if not quiet:
                self.remember_recent("audio", info.path)
            item = QTreeWidgetItem([Path(info.path).name, _fmt_duration(info.duration),
                                    f"{info.sample_rate} Hz", str(info.channels)])
            item.setToolTip(0, str(info.path))
            item.setData(0, Qt.ItemDataRole.UserRole, str(info.path))
            for col in (1, 2, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.file_list.addTopLevelItem(item)
        parts = []
        if added:
            parts.append(f"Added {len(added)} file(s)" + (f": {Path(added[0].path).name}" if len(added) == 1 else ""))
        if result.refused:
            head = result.refused[0]
            more = f" (and {len(result.refused) - 1} more refused)" if len(result.refused) > 1 else ""
            parts.append(f"Refused {head}{more}")
            self.last_error = "; ".join(result.refused)
        skipped = [n for n in result.notes if "skipped" in n]
        changed = [n for n in result.notes if "skipped" not in n] if added else []
        if skipped:
            parts.append(skipped[0] if len(skipped) == 1 else f"{len(skipped)} notes on skipped files")
        if changed:
            parts.append(changed[0] + (f" (and {len(changed) - 1} more notes)" if len(changed) > 1 else ""))
        if duplicates:
            parts.append(f"{duplicates[0]} is already in the list" if len(duplicates) == 1
                         else f"{len(duplicates)} files are already in the list")
        if not parts:
            parts.append("No audio files found")
        if not (quiet and not result.refused):
            self.status(". ".join(parts))
        elif added and not self.last_message.startswith("Loading PyTorch"):
            self.status(parts[0], 5000)
        if result.refused or result.notes:
            self.statusBar().setToolTip("\n".join(result.refused + result.notes))
        if added:
            self._files_changed()
            if not self.file_list.selectedItems():
                self.file_list.setCurrentItem(self.file_list.topLevelItem(0))

    def remove_selected_files(self) -> None:
        items = self.file_list.selectedItems()
        if not items:
            return
        gone = {it.data(0, Qt.ItemDataRole.UserRole) for it in items}
        for it in items:
            self.file_list.takeTopLevelItem(self.file_list.indexOfTopLevelItem(it))
        self.files = [i for i in self.files if str(i.path) not in gone]
        if self.input_path in gone:
            if self.player.tag == "input":
                self.player.stop()
            self.input_path = None
            self.input_audio = None
            self.waveform_plot.set_audio("input", None, title="Input")
        self.status(f"Removed {len(items)} file(s)", 4000)
        self._files_changed()

    def _files_changed(self) -> None:
        self._save_file_list()
        self.drop_hint.setVisible(not self.files)
        self.generation_form.set_files([Path(i.path) for i in self.files])
        longest = max((float(i.duration) for i in self.files), default=None)
        self.training_form.set_longest_input(longest)
        self._update_actions()

    def _on_file_selected(self) -> None:
        items = self.file_list.selectedItems()
        if not items:
            self._update_actions()
            return
        path = items[0].data(0, Qt.ItemDataRole.UserRole)
        if path == self.input_path:
            return
        info = next((i for i in self.files if str(i.path) == path), None)
        if info is None:
            return
        if self.display_task is not None:
            self.display_task.cancel()
        self.input_path = path
        task = start_task(jobs.load_display_audio, path, int(info.sample_rate), name="display", parent=self)
        task.finished.connect(lambda la, p=path: self._on_display_loaded(p, la))
        task.errored.connect(lambda exc, p=path: self._on_display_failed(p, exc))
        self.display_task = task
        self._track(task)

    def _on_display_loaded(self, path: str, loaded) -> None:
        if path != self.input_path:
            return
        self.input_audio = AudioBuffer.from_array(loaded.samples, loaded.sample_rate)
        self.waveform_plot.set_audio("input", self.input_audio.view(), loaded.sample_rate,
                                     title=f"Input: {Path(path).name}")
        if getattr(loaded, "notes", None):
            self.status(f"{Path(path).name}: " + "; ".join(loaded.notes), 8000)
        self._update_actions()

    def _on_display_failed(self, path: str, exc: BaseException) -> None:
        if path == self.input_path:
            self.input_audio = None
            self.waveform_plot.set_audio("input", None, title=f"Input: {Path(path).name} (unreadable)")
        self.status(str(exc))
        self.last_error = str(exc)
        self._update_actions()

    # ================================================================ training
    def _wire(self, task, on_progress, on_done, on_failed) -> None:
        """Connect a long task: progress, finished or cancelled (both keep what was made), errors."""
        task.progressed.connect(on_progress)
        task.finished.connect(on_done)
        task.cancelled.connect(on_done)
        task.errored.connect(lambda exc, t=task: on_failed(exc, t))
        task.done.connect(self._on_task_done)

    def start_training(self) -> None:
        if not self.train_button.isEnabled():
            self.status(self.train_button.toolTip(), 6000)
            return
        form = self.training_form
        if not form.validate():
            self.tabs.setCurrentIndex(0)
            self.status("Fix the highlighted settings first.", 6000)
            return
        cfg = form.model_config
        continuing = self.model is not None and self.model.config == cfg
        if not continuing:
            self.loss_plot.clear_data()
            self.iteration_offset = 0
        else:
            self.iteration_offset = (self.loss_plot.iterations[-1] if self.loss_plot.iterations else 0)
        if self.player.tag == "generated":
            self.player.stop()
        task = start_task(jobs.train, [str(i.path) for i in self.files], form.model_kwargs(),
                          form.training_values(), self.model if continuing else None, self.iteration_offset,
                          self.optimizer_state if continuing else None, name="train", parent=self)
        self._wire(task, self._on_train_progress, self._on_train_done, self._on_train_failed)
        self.train_task = task
        self._train_started = time.monotonic()
        self._train_iteration = 0
        self._train_continuing = continuing
        self._update_model_label()
        self.progress_bar.setRange(0, max(1, int(form.training_values()["train_iterations"])))
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading audio…")
        self.status("Continuing to train the current model (change a model setting to start afresh)…"
                    if continuing else "Starting training…")
        self._update_actions()

    def stop_training(self) -> None:
        if self.train_task is not None and self.train_task.running:
            self.train_task.cancel()
            self.stop_button.setEnabled(False)
            self.progress_bar.setFormat("Stopping after this step…")
            self.status("Stopping after the current step…")

    def _on_train_progress(self, msg) -> None:
        kind = msg[0]
        if kind == "status":
            self.progress_bar.setFormat(msg[1])
            self.status(msg[1])
            return
        p = msg[1]
        it = self.iteration_offset + int(p.iteration)
        self.loss_plot.add_point(it, p.loss, p.mean_loss, p.val_loss)
        self.progress_bar.setRange(0, max(1, int(p.total_iterations)))
        self.progress_bar.setValue(min(int(p.iteration), int(p.total_iterations)))
        eta = f" · {_fmt_duration(p.eta)} left" if p.eta is not None else ""
        val = f" · val {p.val_loss:.3f}" if p.val_loss is not None else ""
        self.progress_bar.setFormat(f"Iteration {p.iteration:,}/{p.total_iterations:,} · loss {p.mean_loss:.3f}"
                                    f"{val} · {p.samples_per_s:,.0f} samples/s{eta}")
        self.speed_label.setText(f"{p.samples_per_s:,.0f} samples/s")
        self._train_iteration = it
        self._update_model_label()
        if p.checkpoint is not None:
            self.status(f"Checkpoint saved: {p.checkpoint}", 5000)

    def _on_train_done(self, outcome: jobs.TrainOutcome) -> None:
        self.model = outcome.model
        self.optimizer_state = outcome.optimizer_state
        r = outcome.result
        self.model_metadata = {"training_files": [Path(f).name for f in outcome.files],
                               "iterations": int(self.iteration_offset + r.iterations),
                               "final_loss": r.final_loss}
        self.progress_bar.setValue(self.progress_bar.maximum() if r.reason != "cancelled" else self.progress_bar.value())
        self.progress_bar.setFormat(f"Training ended: {r.reason}")
        msg = r.message
        if outcome.notes:
            msg += " · " + "; ".join(outcome.notes[:3])
        self.status(msg)
        self._update_model_label()
        self.loss_plot.refresh()
        if r.reason == "diverged":
            self.show_message("warning", "Training stopped", r.message)

    def _on_train_failed(self, exc: BaseException, task: Task) -> None:
        self.progress_bar.setFormat("Training failed")
        self._report_error("Training failed", exc, task)

    def _update_model_label(self) -> None:
        if self.busy() == "training":
            it = self._train_iteration
            what = "continuing the current model" if self._train_continuing else "a new model"
            self.model_label.setText(f"Training {what}: iteration {it:,}" if it else f"Training {what}…")
            return
        if self.model is None:
            self.model_label.setText("No model")
            return
        cfg = self.model.config
        its = self.model_metadata.get("iterations")
        loss = self.model_metadata.get("final_loss")
        parts = [f"Model: {cfg.sample_rate} Hz, RF {self.model.receptive_field:,}"]
        if its:
            parts.append(f"{its:,} it")
        if isinstance(loss, (int, float)) and loss is not None and math.isfinite(loss):
            parts.append(f"loss {loss:.3f}")
        self.model_label.setText(" · ".join(parts))

    # ================================================================ generation
    def start_generation(self) -> None:
        if not self.generate_button.isEnabled():
            self.status(self.generate_button.toolTip(), 6000)
            return
        v = self.generation_form.values()
        sr = int(self.model.config.sample_rate)
        n = max(1, int(round(float(v["length_s"]) * sr)))
        k = int(v["n_streams"])
        if self.player.tag == "generated":
            self.player.stop()
        self.generated = [AudioBuffer(sr, capacity=n) for _ in range(k)]
        self.generated_total = n
        self.variation_spin.blockSignals(True)
        self.variation_spin.setRange(1, k)
        self.variation_spin.setValue(1)
        self.variation_spin.blockSignals(False)
        self.variation_spin.setVisible(k > 1)
        self.waveform_plot.set_audio("generated", self.generated[0], sr, title="Generated (in progress)",
                                     expected_seconds=n / sr)
        prime_file = None
        if v["start_from"] == "input":
            prime_file = str(self.files[0].path) if self.files else None
        elif v["start_from"] == "file":
            prime_file = v.get("start_file") or (str(self.files[0].path) if self.files else None)
        out_dir = self.training_form.training_values().get("output_dir")
        task = start_task(jobs.generate, self.model, n_samples=n, temperature=float(v["temperature"]),
                          seed=v["seed"], n_streams=k, start_from=v["start_from"], prime_file=prime_file,
                          output_dir=out_dir, weight_format=v.get("weight_format", "float32"),
                          name="generate", parent=self)
        self._wire(task, self._on_gen_progress, self._on_gen_done, self._on_gen_failed)
        self.gen_task = task
        self._gen_started = time.monotonic()
        self.progress_bar.setRange(0, n)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"Generating {_fmt_duration(n / sr)}…")
        self.status(f"Generating {n:,} samples ({_fmt_duration(n / sr)}) × {k}…")
        self._update_actions()

    def cancel_generation(self) -> None:
        if self.gen_task is not None and self.gen_task.running:
            self.gen_task.cancel()
            self.cancel_button.setEnabled(False)
            self.status("Cancelling generation…")

    def _on_gen_progress(self, msg) -> None:
        if msg[0] != "chunk":
            return
        _, gp, chunk = msg
        chunk = np.atleast_2d(chunk)
        for k, buf in enumerate(self.generated):
            if k < chunk.shape[0]:
                buf.append(chunk[k])
        self.waveform_plot.mark_dirty("generated")
        self.progress_bar.setRange(0, max(1, int(gp.total)))
        self.progress_bar.setValue(int(gp.done))
        self.progress_bar.setFormat(f"Generated {gp.done:,}/{gp.total:,} samples · "
                                    f"{gp.realtime_factor:.2f}× real time")
        self.speed_label.setText(f"{gp.samples_per_s:,.0f} samples/s · {gp.realtime_factor:.2f}× real time")
        self._update_actions()

    def _on_gen_done(self, outcome: jobs.GenerationOutcome) -> None:
        r = outcome.result
        audio = np.atleast_2d(np.asarray(r.audio, dtype=np.float32))
        sr = int(r.sample_rate)
        playing_generated = self.player.state == PLAYING and self.player.tag == "generated"
        for k in range(audio.shape[0]):
            if k >= len(self.generated):
                self.generated.append(AudioBuffer(sr, capacity=audio.shape[1]))
            buf = self.generated[k]
            if buf.length != audio.shape[1] or buf.sample_rate != sr:
                if playing_generated:
                    self.player.stop()
                    playing_generated = False
                buf = self.generated[k] = AudioBuffer.from_array(audio[k], sr)
            buf.finish()
        self.generated = self.generated[: audio.shape[0]]
        self.last_prediction = list(outcome.saved)
        seconds = audio.shape[1] / sr if audio.size else 0.0
        cancelled = bool(getattr(r, "cancelled", False))
        title = "Generated (cancelled, partial)" if cancelled else "Generated"
        self._show_variation(title=title, expected=seconds)
        self.progress_bar.setFormat(("Cancelled" if cancelled else "Done") + f": {_fmt_duration(seconds)} generated")
        msg = (f"Generation cancelled: kept {_fmt_duration(seconds)}" if cancelled
               else f"Generated {_fmt_duration(seconds)}")
        msg += f" at {r.samples_per_s:,.0f} samples/s ({r.samples_per_s / sr:.2f}× real time)"
        if outcome.saved:
            msg += f"; saved {outcome.saved[0].name}" + (f" and {len(outcome.saved) - 1} more" if len(outcome.saved) > 1 else "")
            msg += f" in {outcome.saved[0].parent}"
        if outcome.save_error:
            msg += f"; NOT saved: {outcome.save_error}"
        self.status(msg)
        if outcome.save_error:
            self.show_message("warning", "Prediction not saved", outcome.save_error)

    def _on_gen_failed(self, exc: BaseException, task: Task) -> None:
        self.progress_bar.setFormat("Generation failed")
        for buf in self.generated:
            buf.finish()
        self._report_error("Generation failed", exc, task)

    def _on_variation_changed(self, _value: int) -> None:
        if self.player.tag == "generated":
            self.player.stop()
        self._show_variation()

    def _show_variation(self, *, title: str | None = None, expected: float = 0.0) -> None:
        if not self.generated:
            self.waveform_plot.set_audio("generated", None, title="Generated")
            return
        k = min(self.variation_spin.value() - 1, len(self.generated) - 1)
        buf = self.generated[k]
        suffix = f" · variation {k + 1}/{len(self.generated)}" if len(self.generated) > 1 else ""
        self.waveform_plot.set_audio("generated", buf, buf.sample_rate, title=(title or "Generated") + suffix,
                                     expected_seconds=expected)

    def current_generated(self) -> AudioBuffer | None:
        if not self.generated:
            return None
        return self.generated[min(self.variation_spin.value() - 1, len(self.generated) - 1)]

    # ================================================================ stop / busy
    def busy(self) -> str:
        """The name of the heavy job running ("training", "generation", "model file") or ""."""
        if self.train_task is not None and self.train_task.running:
            return "training"
        if self.gen_task is not None and self.gen_task.running:
            return "generation"
        if self.io_task is not None and self.io_task.running:
            return "model file"
        return ""

    def stop_all(self) -> None:
        """Esc: stop training, cancel generation, stop playback."""
        if self.busy() == "training":
            self.stop_training()
        elif self.busy() == "generation":
            self.cancel_generation()
        elif self.player.state == PLAYING:
            self.player.stop()

    def _on_task_done(self) -> None:
        self.speed_label.setText("")
        self._update_model_label()
        self._update_actions()

    # ================================================================ model files
    def open_model_dialog(self) -> None:
        if self.busy():
            return
        start = self.settings.value("model/last_dir", self.training_form.training_values().get("output_dir") or "")
        path, _ = QFileDialog.getOpenFileName(self, "Load model", start, MODEL_FILTER)
        if path:
            self.load_model(path)

    def load_model(self, path: str | Path) -> Task:
        self.settings.setValue("model/last_dir", str(Path(path).parent))
        self.status(f"Loading {Path(path).name}…")
        task = start_task(jobs.load_model_file, str(path), name="load-model", parent=self)
        task.finished.connect(lambda loaded, p=path: self._on_model_loaded(p, loaded))
        task.errored.connect(lambda exc, t=task: self._report_error("Could not load the model", exc, t))
        task.done.connect(self._on_task_done)
        self.io_task = task
        self._update_actions()
        return task

    def _on_model_loaded(self, path, loaded) -> None:
        self.remember_recent("model", path)
        self.model = loaded.model
        self.optimizer_state = getattr(loaded, "optimizer_state", None)
        self.model_metadata = dict(getattr(loaded, "training", None) or {})
        cfg = self.model.config
        self.training_form.set_values({k: getattr(cfg, k) for k in ("sample_rate", "quantization", "n_channels",
                                                                     "n_dilations", "n_blocks", "n_hidden", "n_skip")})
        self.loss_plot.clear_data()
        losses = list(getattr(loaded, "losses", None) or [])
        if losses:  # the loss history saved with the model
            window = 20
            for i, v in enumerate(losses):
                self.loss_plot.add_point(i + 1, v, float(np.mean(losses[max(0, i + 1 - window):i + 1])))
            self.model_metadata.setdefault("iterations", len(losses))
            self.model_metadata.setdefault("final_loss", float(np.mean(losses[-window:])))
        self._update_model_label()
        self.status(f"Loaded {Path(path).name}: press Generate (training is not needed).")

    def save_model_dialog(self) -> None:
        if self.model is None or self.busy():
            return
        start = self.settings.value("model/last_dir", self.training_form.training_values().get("output_dir") or "")
        path, _ = QFileDialog.getSaveFileName(self, "Save model", str(Path(start) / "model.safetensors"), MODEL_FILTER)
        if path:
            if not path.endswith(".safetensors"):
                path += ".safetensors"
            self.save_model(path)

    def save_model(self, path: str | Path) -> Task:
        from wavenet_gui import __version__

        self.settings.setValue("model/last_dir", str(Path(path).parent))
        meta = {**self.model_metadata, "app": f"wavenet-gui {__version__}"}
        meta.setdefault("iteration", int(meta.get("iterations") or 0))  # what the CLI and Trainer resume from
        task = start_task(jobs.save_model_file, str(path), self.model, meta, list(self.loss_plot.losses),
                          self.optimizer_state, name="save-model", parent=self)
        task.finished.connect(lambda p: (self.remember_recent("model", p), self.status(f"Model saved: {p}")))
        task.errored.connect(lambda exc, t=task: self._report_error("Could not save the model", exc, t))
        task.done.connect(self._on_task_done)
        self.io_task = task
        self._update_actions()
        return task

    # ================================================================ export
    def export_dialog(self) -> None:
        buf = self.current_generated()
        if buf is None or buf.length == 0 or self.busy() == "generation":
            return
        start = self.settings.value("export/last_dir", self.training_form.training_values().get("output_dir") or "")
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

    def export_to(self, path: str | Path, *, subtype: str | None = "PCM_16", confirm: bool = True) -> Task | None:
        """Write the shown variation to ``path`` (format from the extension), asking before overwriting."""
        buf = self.current_generated()
        if buf is None or buf.length == 0:
            return None
        path = Path(path)
        if confirm and path.exists() and not self.ask("Overwrite?", f"{path.name} exists. Replace it?"):
            self.status("Export cancelled", 3000)
            return None
        self.settings.setValue("export/last_dir", str(path.parent))
        task = start_task(jobs.export_audio, str(path), buf.view().copy(), buf.sample_rate, subtype,
                          name="export", parent=self)
        task.finished.connect(lambda p: self.status(f"Exported {p}"))
        task.errored.connect(lambda exc, t=task: self._report_error("Export failed", exc, t))
        self._track(task)
        return task

    def export_plots_dialog(self) -> None:
        start = self.settings.value("export/last_dir", self.training_form.training_values().get("output_dir") or "")
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
        path = Path(path)
        stem = path.with_suffix("")
        return [self.loss_plot.export_png(f"{stem}-loss.png"),
                self.waveform_plot.export_png(f"{stem}-waveform.png")]

    def open_output_folder(self) -> None:
        out = self.training_form.training_values().get("output_dir")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            QDesktopServices.openUrl(QUrl.fromLocalFile(out))

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
        buf = self.current_generated() if which == "generated" else self.input_audio
        self._last_play = which
        self.player.play(buf, tag=which)

    def _can_play(self, which: str) -> bool:
        ok, _ = self.player.availability()
        if not ok:
            return False
        if which == "generated":
            buf = self.current_generated()
            return buf is not None and (buf.length > 0 or not buf.complete)
        return self.input_audio is not None and self.input_audio.length > 0

    def _on_player_state(self, state: str) -> None:
        if state != PLAYING:
            self.waveform_plot.set_playhead(None)
        self._update_actions()

    def _on_player_position(self, seconds: float) -> None:
        self.waveform_plot.set_playhead(self.player.tag, seconds)

    def _on_player_failed(self, reason: str) -> None:
        self.status(reason)
        self.last_error = reason
        self._update_actions()

    # ================================================================ enabling
    def _update_actions(self) -> None:
        busy = self.busy()
        core_ok = self.core is not None
        form_ok = self.training_form.is_valid
        training = busy == "training"
        generating = busy == "generation"

        if not core_ok:
            why = self.core_error or "Loading PyTorch…"
        elif busy:
            why = f"Busy: {busy} is running"
        elif not form_ok:
            why = "Some settings are invalid: see the Training tab"
        elif not self.files:
            why = "Add audio files first (drop them on the window or press Ctrl+O)"
        else:
            why = ""
        self._set_enabled(self.train_button, not why, why or "Train on the files in the list (Ctrl+T)")
        self.act_train.setEnabled(not why)
        self._set_enabled(self.stop_button, training and not self.train_task.is_cancelled,
                          "Stop training after the current step (Esc)")

        if not core_ok:
            gwhy = self.core_error or "Loading PyTorch…"
        elif self.model is None:
            gwhy = "Train or load a model first"
        elif busy:
            gwhy = f"Busy: {busy} is running"
        else:
            gwhy = ""
        self._set_enabled(self.generate_button, not gwhy, gwhy or "Generate audio with the model (Ctrl+G)")
        self.act_generate.setEnabled(not gwhy)
        self._set_enabled(self.cancel_button, generating and not self.gen_task.is_cancelled,
                          "Cancel generation, keeping what was made (Esc)")
        self._set_enabled(self.load_model_button, core_ok and not busy,
                          "Load a trained model instead of training" if core_ok and not busy
                          else (gwhy if not core_ok else f"Busy: {busy} is running"))
        self.act_load_model.setEnabled(self.load_model_button.isEnabled())
        can_save = self.model is not None and not busy
        self._set_enabled(self.save_model_button, can_save,
                          "Save the current model" if can_save else "Train or load a model first"
                          if self.model is None else f"Busy: {busy} is running")
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
        for which, b, label in (("generated", self.play_button, "Play"), ("input", self.play_input_button, "Play input")):
            active = playing and self.player.tag == which
            b.setText("Stop" if active else label)
            if not ok:
                self._set_enabled(b, False, reason)
            elif active:
                self._set_enabled(b, True, "Stop playback (Space)")
            else:
                can = self._can_play(which)
                tip = ("Play the generated audio (Space)" if which == "generated" else "Play the selected input file")
                if not can:
                    tip = "Generate audio first" if which == "generated" else "Select an input file first"
                self._set_enabled(b, can, tip)
        self.act_play.setEnabled(ok)
        self.remove_button.setEnabled(bool(self.file_list.selectedItems()) and not training)
        self.act_remove.setEnabled(self.remove_button.isEnabled())
        self.training_form.setEnabled(not training)

    @staticmethod
    def _set_enabled(widget: QWidget, enabled: bool, tip: str) -> None:
        widget.setEnabled(enabled)
        widget.setToolTip(tip)

    # ================================================================ timers
    def _refresh_plots(self) -> None:
        self.loss_plot.refresh()
        self.waveform_plot.refresh()

    # ================================================================ settings / about
    def _reset_all_settings(self) -> None:
        self.training_form.reset_defaults()
        self.generation_form.reset_defaults()
        self.status("Settings reset to defaults", 4000)

    def show_about(self) -> None:
        QMessageBox.about(self, "About WaveNet GUI", self.about_text())

    def about_text(self) -> str:
        from wavenet_gui import __version__

        rows: list[tuple[str, str]] = []
        log_location = ""
        try:
            from wavenet_gui import appinfo

            versions = appinfo.versions()
            rows = list(versions.items()) if isinstance(versions, dict) else [tuple(v) for v in versions]
            for name in ("log_path", "log_file", "log_dir"):
                if hasattr(appinfo, name):
                    obj = getattr(appinfo, name)
                    log_location = str(obj() if callable(obj) else obj)
                    break
        except Exception:  # noqa: BLE001 - appinfo not there: the versions we know
            import platform

            import PySide6
            import pyqtgraph

            rows = [("wavenet-gui", __version__), ("Python", platform.python_version()),
                    ("PySide6", PySide6.__version__), ("pyqtgraph", pyqtgraph.__version__)]
            if self.core is not None:
                import torch

                rows.append(("torch", torch.__version__))
        table = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in rows)
        where = f"<p>Settings: {self.settings.fileName()}</p>"
        if log_location:
            where += f"<p>Log: {log_location}</p>"
        return (f"<h3>WaveNet GUI {__version__}</h3><p>Train an unconditioned WaveNet on your own audio, then "
                f"listen to, plot and export what it generates.</p><table>{table}</table>{where}")

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        busy = self.busy()
        if busy:
            if not self.ask("Quit?", f"{busy.capitalize()} is running. Stop it and quit?"):
                event.ignore()
                return
        self.shutdown()
        event.accept()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Cancel every task, wait for the threads and save the settings.

        Safe to call more than once; no new work starts afterwards.
        """
        self._closed = True
        self.refresh_timer.stop()
        self.player.stop()
        # Every task this window started (also replaced or finished ones whose thread is
        # still winding down): each is a child of the window.
        tasks = [t for t in self.findChildren(Task) if t.thread is not None]
        for t in tasks:
            t.cancel()
        busy = [t for t in tasks if not t.thread.isFinished()]
        if busy:
            self.status("Stopping…")
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                for t in busy:
                    t.wait()
            finally:
                QApplication.restoreOverrideCursor()
        for t in tasks:  # all ended: mark them so and release the QThreads now, not on a queued event
            t.wait()
            t._on_thread_finished()
        if self._settings_saved:
            return
        self._settings_saved = True
        try:
            self.training_form.save_settings(self.settings)
            self.generation_form.save_settings(self.settings)
            self.settings.setValue("window/geometry", self.saveGeometry())
            self._save_file_list()
            self.settings.sync()
        except Exception:  # noqa: BLE001 - an unwritable settings file must not block quitting
            log.warning("could not save settings", exc_info=True)

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

from PySide6.QtCore import QObject, QRect, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QCheckBox, QDockWidget, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
    QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
    QStackedWidget, QTabWidget, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from wavenet_gui import appinfo
from wavenet_gui.core.errors import WaveNetError
from wavenet_gui.core.fileio import check_path_length, check_writable_dir
from wavenet_gui.core.session import Session, seconds_text

from . import theme
from .flow import FlowLayout
from .forms import GenerationForm, TrainingForm
from .playback import PLAYING, AudioBuffer, Player
from .plots import LossPlot, WaveformPlot
from .recent import RecentFiles
from .spectrogram import SpectrogramPlot
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
LOADING = "Loading PyTorch…"
LOADING_LONG = "Loading PyTorch in the background… (Train can be pressed now: it starts when ready)"
MIN_PANEL_WIDTH = 240  # the settings panel's narrowest (its form scrolls sideways below its own width)


def loss_text(loss: float) -> str:
    """A loss with four significant digits ("2.431", "0.0001234", "1.2e-07"), never "0.000".

    >>> loss_text(0.0001), loss_text(2.4312345)
    ('0.0001', '2.431')
    """
    return f"{loss:.4g}"


#: What the main settings do to the sound (Help > Quick start), in the settings table's words where it has them.
_SOUND_NOTES = {
    "sample_rate": "Higher keeps more treble (8 kHz sounds like a telephone, 16 kHz like a clear voice) but "
                   "the model must learn more samples per second: slower training and generation.",
    "n_dilations": "With Blocks, sets how far back the model hears (the receptive field). Longer: it can "
                   "keep a pitch or a syllable going; too short and the sound turns to noise and clicks.",
    "n_hidden": "The model's width. Wider learns richer timbre, trains slower.",
    "train_iterations": "How long training runs. Stop at any time: the model so far is kept.",
    "temperature": "Below 1 the sound is cleaner and more repetitive, above 1 noisier and more surprising.",
    "length": "Seconds to generate.",
    "variations": "Several takes at once, each from its own seed; listen and keep the best.",
    "prime": "What generation starts from: silence, or the start of one of your files (then it goes on "
             "in that file's manner).",
}


def quick_start_html() -> str:
    """The Quick start text (HTML): the four steps, the presets, the main settings and the sound."""
    from html import escape

    from wavenet_gui.core import config
    from wavenet_gui.core.presets import PRESETS

    steps = ("<b>Add audio</b>: drop files or a folder on the window (or File &gt; Add, Ctrl+O / Ctrl+Shift+O). "
             "A few seconds to a few minutes of one kind of sound works best.",
             "<b>Choose a preset</b> on the Training tab (one is picked for your files), then press "
             "<b>Train</b> (Ctrl+T). Watch the loss fall; press <b>Stop</b> (Esc) when it levels out: the model "
             "is kept.",
             "<b>Generate</b> (Ctrl+G): new audio appears as it is made; switch the plot to the "
             "<b>Spectrogram</b> to compare its pitch and timbre with the input's. Press <b>Play</b> (Space).",
             "<b>Keep it</b>: <b>Export</b> the audio (Ctrl+E; all variations, any sample rate) and "
             "<b>Save model</b> (Ctrl+S) to generate more later without training again.")
    html = ["<h3>Four steps</h3><ol>", *(f"<li>{s}</li>" for s in steps), "</ol><h3>Presets</h3><ul>"]
    html += [f"<li><b>{escape(p.label)}</b>: {escape(p.description)}</li>" for p in PRESETS.values()]
    html.append("</ul><h3>The main settings and the sound</h3><dl>")
    for name, note in _SOUND_NOTES.items():
        setting = config.SETTINGS.get(name)
        label = setting.label if setting is not None else name
        html.append(f"<dt><b>{escape(label)}</b></dt><dd>{escape(note)}</dd>")
    html.append("</dl><p>Every field's tooltip says more; View &gt; Messages lists every note the app made.</p>")
    return "".join(html)


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
    # Compiling the generator's matrix products makes numba load scipy's BLAS (about 0.5 s
    # holding the GIL, measured with py-spy --gil): load it here, while the window says
    # "Loading PyTorch…", not in the warm-up thread while the user trains.
    try:
        from numba.np.linalg import ensure_blas

        ensure_blas()
    except Exception:  # noqa: BLE001 - no scipy BLAS: numba reports it when it compiles
        pass

    def warm_up() -> None:  # daemon: compiling cannot be interrupted and must not hold up closing
        training.warm_up()
        generation.warm_up()

    threading.Thread(target=warm_up, name="wavenet-warm-up", daemon=True).start()
    return available_devices() or ["cpu"]


class _Relay(QObject):
    """Carries the session's events (from whichever thread) to the window's thread."""

    event = Signal(str)


PREVIEW_SECONDS = 1.0
PREVIEW_TIP = ("Generate 1 s from the current weights and play it (also while training, to hear "
               "progress); nothing is written")


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
        self._shown_once = False
        self.train_queued = False  # Train was pressed while PyTorch loaded: it starts when ready
        self._settings_saved = False
        self._follow_files = False  # apply the suggested preset when files come (first launch, reset)
        self._syncing = False  # the forms are being filled from the session
        self._train_from: int | None = None  # the iteration this training run started after
        self._listed: tuple = ()  # the session's files as the list shows them

        self.player = Player(self)
        self.player.stateChanged.connect(self._on_player_state)
        self.player.positionChanged.connect(lambda s: self.audio_views_call("set_playhead", self.player.tag, s))
        self.player.failed.connect(self._on_player_failed)

        theme.configure_defaults()  # the plots are made in the palette's colours
        self._build_ui()
        self._build_actions()
        self.dark = theme.follow_palette(self.loss_plot, self.waveform_plot, self.spectrogram_plot)
        stored = self.training_form.load_settings(self.settings)
        self.generation_form.load_settings(self.settings)
        self._follow_files = not stored
        self._push_settings()
        self.training_form.changed.connect(self._on_form_changed)
        self.generation_form.changed.connect(self._on_form_changed)
        self.training_form.preset_chosen.connect(self.apply_preset)
        self.show_spectrogram(str(self.settings.value("view/spectrogram", False)).lower() == "true")
        device = str(self.settings.value("audio/device", "") or "")
        if device and self.player.availability()[0] and not self.set_output_device(device):
            self.status(f"The output device {device} is not there: playing through the default output", 8000)
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(self._default_size())
        self.fit_to_screen()

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self._refresh_plots)
        self.refresh_timer.start()
        self._on_session_event("model")
        self.statusBar().showMessage(LOADING_LONG)
        self.last_message = LOADING_LONG
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
            # The panel opens wide enough for the form (below); made narrower (a small screen, 200 %
            # scaling), the form scrolls sideways too rather than holding the window wide.
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
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
        left.setMinimumWidth(MIN_PANEL_WIDTH)

        b = self._button
        self.train_button = b("trainButton", "Train", "Train on the files in the list (Ctrl+T)", self.start_training)
        self.stop_button = b("stopButton", "Stop", "Stop training after the current step (Esc)", self.stop_training)
        self.load_model_button = b("loadModelButton", "Load model…", "Load a trained model", self.open_model_dialog)
        self.save_model_button = b("saveModelButton", "Save model…", "Save the current model", self.save_model_dialog)
        self.generate_button = b("generateButton", "Generate", "Generate audio with the model (Ctrl+G)",
                                 self.start_generation)
        self.preview_button = b("previewButton", "Preview", PREVIEW_TIP, self.start_preview)
        self.preview_job: Job | None = None
        self.preview_audio: AudioBuffer | None = None
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

        # The buttons in groups that wrap to more rows when the window is narrow (nothing off-screen).
        self.controls_box = QWidget()
        self.controls_box.setObjectName("controls")
        controls = FlowLayout(self.controls_box, spacing=6)
        for group in ((self.train_button, self.stop_button), (self.load_model_button, self.save_model_button),
                      (self.generate_button, self.cancel_button, self.preview_button),
                      (self.play_input_button, self.play_button, self.export_button)):
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 12, 0)
            for w in group:
                row.addWidget(w)
            controls.addWidget(box)
        policy = self.controls_box.sizePolicy()
        policy.setHeightForWidth(True)
        self.controls_box.setSizePolicy(policy)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat(LOADING)

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
        self.spectrogram_plot = SpectrogramPlot()
        self.audio_view = QStackedWidget()
        self.audio_view.setObjectName("audioView")
        self.audio_view.addWidget(self.waveform_plot)
        self.audio_view.addWidget(self.spectrogram_plot)
        self.spectrogram_check = QCheckBox("Spectrogram")
        self.spectrogram_check.setObjectName("spectrogramCheck")
        self.spectrogram_check.setToolTip("Show the input and the generated audio as mel spectrograms "
                                          "(pitch and timbre) instead of waveforms")
        self.spectrogram_check.toggled.connect(self.show_spectrogram)
        lrow.insertWidget(2, self.spectrogram_check)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(loss_box)
        plots.addWidget(self.audio_view)
        plots.setStretchFactor(0, 2)
        plots.setStretchFactor(1, 3)  # two plots below, one above
        plots.setSizes([320, 480])
        self.plots_splitter = plots
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.controls_box)
        rl.addWidget(self.progress_bar)
        rl.addWidget(plots, 1)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        main.setSizes([self._settings_panel_width(), 10_000])  # the form gets its width, the plots the rest
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

        # Every note and message in full (the status bar has room for one line).
        self.messages_list = QListWidget()
        self.messages_list.setObjectName("messagesList")
        self.messages_list.setWordWrap(True)
        self.messages_list.setAlternatingRowColors(True)
        self.messages_dock = QDockWidget("Messages", self)
        self.messages_dock.setObjectName("messagesDock")
        self.messages_dock.setWidget(self.messages_list)
        self.messages_dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea
                                           | Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.messages_dock)
        self.messages_dock.hide()

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
        self.act_open_folder = action("Add a &folder…", "Ctrl+Shift+O", self.open_folder_dialog)
        self.act_remove = action("&Remove selected files", QKeySequence.StandardKey.Delete, self.remove_selected_files)
        self.act_load_model = action("&Load model…", "Ctrl+L", self.open_model_dialog)
        self.act_save_model = action("&Save model…", QKeySequence.StandardKey.Save, self.save_model_dialog)
        self.act_export = action("&Export audio…", "Ctrl+E", self.export_dialog)
        self.act_export_all = action("Export &all variations…", None, lambda: self.export_dialog(all_variations=True))
        self.act_export_plots = action("Export &plots (PNG, SVG)…", "Ctrl+Shift+E", self.export_plots_dialog)
        self.act_open_output = action("Open &output folder", None, self.open_output_folder)
        self.act_preferences = action("Pre&ferences…", QKeySequence.StandardKey.Preferences, self.show_preferences)
        if self.act_preferences.shortcut().isEmpty():
            self.act_preferences.setShortcut(QKeySequence("Ctrl+,"))
        self.act_quit = action("&Quit", "Ctrl+Q", self.close)
        self.act_train = action("&Train", "Ctrl+T", self.start_training)
        self.act_stop = action("&Stop / Cancel", Qt.Key.Key_Escape, self.stop_all)
        self.act_generate = action("&Generate", "Ctrl+G", self.start_generation)
        self.act_play = action("&Play / Stop", Qt.Key.Key_Space, lambda: self.toggle_play())
        self.act_log = QAction("&Log scale loss", self, checkable=True)
        self.act_log.toggled.connect(self.log_check.setChecked)
        self.log_check.toggled.connect(self.act_log.setChecked)
        self.act_spectrogram = QAction("Spectro&gram view", self, checkable=True)
        self.act_spectrogram.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.act_spectrogram.toggled.connect(self.show_spectrogram)
        self.addAction(self.act_spectrogram)
        self.act_messages = self.messages_dock.toggleViewAction()
        self.act_messages.setText("&Messages")
        self.act_messages.setShortcut(QKeySequence("Ctrl+M"))
        self.addAction(self.act_messages)
        self.act_reset = action("&Reset settings to defaults", None, self._reset_all_settings)
        self.act_quick_start = action("&Quick start", QKeySequence.StandardKey.HelpContents, self.show_quick_start)
        self.act_about = action("&About WaveNet GUI", None, self.show_about)
        self.recent = RecentFiles(self.settings, self, self.open_recent)
        self.recent_menu = self.recent.menu
        mb = self.menuBar()
        menus = (("&File", (self.act_open, self.act_open_folder, self.act_remove, None, self.act_load_model,
                            self.act_save_model, self.recent_menu, None, self.act_export, self.act_export_all,
                            self.act_export_plots, self.act_open_output, None, self.act_preferences, None,
                            self.act_quit)),
                 ("&Run", (self.act_train, self.act_stop, None, self.act_generate, self.act_play)),
                 ("&View", (self.act_log, self.act_spectrogram, self.act_messages, self.act_reset)),
                 ("&Help", (self.act_quick_start, self.act_about)))
        for title, items in menus:
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

    def _available(self) -> QRect | None:
        """The screen's available area, or None on the offscreen platform's nominal 800x800 screen."""
        screen = self.screen()
        if screen is None:
            return None
        avail = screen.availableGeometry()
        if avail.width() <= 0 or avail.height() <= 0:
            return None
        if QApplication.platformName() == "offscreen" and screen.geometry().size() == QSize(800, 800):
            return None  # the tests' default offscreen screen: not a real one
        return avail

    def _default_size(self) -> QSize:
        """1280x820, less where the screen is smaller."""
        size = self.sizeHint()
        avail = self._available()
        if avail is not None:
            size = size.boundedTo(QSize(avail.width() - 20, avail.height() - 40))
        return size

    def changeEvent(self, event) -> None:  # noqa: N802
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and hasattr(
                self, "spectrogram_plot"):
            self.dark = theme.follow_palette(self.loss_plot, self.waveform_plot, self.spectrogram_plot,
                                             self.palette())
        super().changeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:  # the frame's size is known once shown: fit again with it
            self._shown_once = True
            self.fit_to_screen()
            # A narrow window (small screen, 200 %): the settings panel takes at most 40 % of it.
            total = sum(self.main_splitter.sizes())
            if total > 0:
                left = min(self._settings_panel_width(), max(MIN_PANEL_WIDTH, int(total * 0.4)))
                self.main_splitter.setSizes([left, total - left])
                h = sum(self.plots_splitter.sizes())
                self.plots_splitter.setSizes([int(h * 0.4), h - int(h * 0.4)])

    def fit_to_screen(self) -> None:
        """Shrink and move the window into the screen's available area (a restored size may not fit:
        it can come from another screen or another scale factor)."""
        avail = self._available()
        if avail is None:
            return
        frame = self.frameGeometry()
        extra_w = max(0, frame.width() - self.width())
        extra_h = max(0, frame.height() - self.height())
        w = min(self.width(), avail.width() - extra_w)
        h = min(self.height(), avail.height() - extra_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(max(w, self.minimumSizeHint().width()), max(h, self.minimumSizeHint().height()))
        frame = self.frameGeometry()
        x = min(max(frame.x(), avail.left()), max(avail.left(), avail.right() + 1 - frame.width()))
        y = min(max(frame.y(), avail.top()), max(avail.top(), avail.bottom() + 1 - frame.height()))
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)

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

    def choose(self, title: str, text: str, choices: tuple[str, ...]) -> str:
        """Ask with one button per choice ("Save", "Discard", "Cancel", ...); the chosen one (Esc: the last)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        standard = {"Save": QMessageBox.StandardButton.Save, "Discard": QMessageBox.StandardButton.Discard,
                    "Cancel": QMessageBox.StandardButton.Cancel}
        buttons = {}
        for choice in choices:
            if choice in standard:
                buttons[box.addButton(standard[choice])] = choice
            else:
                buttons[box.addButton(choice, QMessageBox.ButtonRole.ActionRole)] = choice
        first = next(iter(buttons))
        box.setDefaultButton(first)
        box.setEscapeButton(list(buttons)[-1])
        box.exec()
        return buttons.get(box.clickedButton(), choices[-1])

    def ask_save_path(self, title: str, start: str) -> str:
        """A file name to save a model to ("" when cancelled)."""
        path, _ = QFileDialog.getSaveFileName(self, title, start, MODEL_FILTER)
        return path

    def note(self, text: str, kind: str = "info") -> None:
        """Add a line to the Messages panel (View > Messages): every note in full, with the time."""
        from datetime import datetime

        item = QListWidgetItem(f"{datetime.now():%H:%M:%S}  {text}")
        item.setToolTip(text)
        if kind in ("warning", "error"):
            item.setForeground(QColor("#c07000") if kind == "warning" else QColor("#d02020"))
        self.messages_list.addItem(item)
        while self.messages_list.count() > 2000:
            self.messages_list.takeItem(0)
        self.messages_list.scrollToBottom()

    def messages(self) -> list[str]:
        """The Messages panel's lines, without their times."""
        return [self.messages_list.item(i).toolTip() for i in range(self.messages_list.count())]

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
        self.note(f"{title}: {text}", "error")
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
        if job is self.gen_job:
            self._on_variation_changed()  # the titles: no longer "in progress"
        self._update_model_label()
        self._update_actions()

    def start_preview(self) -> Job | None:
        """Generate a short preview from the current weights in the background (also while
        training: the weights are copied between steps), then play it and say what the collapse
        check found.  Nothing is written and the generated results are not touched."""
        if self.session.model is None or (self.preview_job is not None and self.preview_job.running):
            return None
        self.status("Making a 1 s preview from the current weights…")
        self.preview_job = self._run(lambda: self.session.preview(seconds=PREVIEW_SECONDS), name="preview",
                                     returned=self._on_preview)
        self._update_actions()
        return self.preview_job

    def _on_preview(self, result) -> None:
        buf = AudioBuffer(result.sample_rate, capacity=result.audio.shape[-1])
        buf.append(result.audio.reshape(-1))
        buf.finish()
        self.preview_audio = buf
        iteration = result.iteration if result.iteration is not None else self.session.state.iteration
        when = f"at iteration {iteration:,}" if iteration else "from the model"
        verdict = result.collapse.message if result.collapse is not None else "no silent or noise collapse found"
        text = f"Preview {when}: {verdict}"
        self.status(text)
        self.note(text, "warning" if result.collapse is not None else "info")
        if self.player.availability()[0]:
            self.player.play(buf, tag="preview")

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
        if self._closed:
            return
        self.core = devices
        self.training_form.set_devices(devices)
        self._push_settings()
        if self.progress_bar.format() == LOADING:
            self.progress_bar.setFormat("Idle")
        if self.last_message.startswith("Loading PyTorch"):
            self.status("Ready. Press Train to learn from the files in the list.", 8000)
        self._update_actions()
        if self.train_queued:
            self.train_queued = False
            if self.train_button.isEnabled():
                self.start_training()
            else:
                self.status(f"Training not started: {self.train_button.toolTip()}", 8000)

    def _on_core_failed(self, exc: BaseException) -> None:
        self.core_error = f"The model code could not be loaded: {type(exc).__name__}: {exc}"
        self.train_queued = False
        self.progress_bar.setFormat("PyTorch could not be loaded")
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
        models = [p for p in paths if p.lower().endswith(".safetensors") and Path(p).is_file()]
        audio = [p for p in paths if p not in models]
        if models:
            if self.busy():
                self.status(f"Not loading {Path(models[0]).name}: wait for the current work to finish (or stop it)")
            else:
                self.load_model(models[0])
            if len(models) > 1:
                self.note(f"Only one model can be open: loaded {Path(models[0]).name}, not "
                          + ", ".join(Path(m).name for m in models[1:]), "warning")
        if audio:
            self.add_paths(audio)

    def open_files_dialog(self) -> None:
        start = self.settings.value("files/last_dir", str(Path.home()))
        paths, _ = QFileDialog.getOpenFileNames(self, "Add audio files", start, AUDIO_FILTER)
        if paths:
            self.settings.setValue("files/last_dir", str(Path(paths[0]).parent))
            self.add_paths(paths)

    def open_folder_dialog(self) -> None:
        """Add every audio file in a folder (and its subfolders)."""
        start = self.settings.value("files/last_dir", str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of audio files", start)
        if folder:
            self.settings.setValue("files/last_dir", folder)
            self.add_paths([folder])

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
            more = f" (and {len(report.refused) - 1} more refused)" if len(report.refused) > 1 else ""  # listed in full

            parts.append(f"Refused {report.refused[0]}{more}")
            self.last_error = "; ".join(report.refused)
        skipped = [n for n in report.notes if "skipped" in n]
        changed = [n for n in report.notes if "skipped" not in n] if added else []
        if skipped:
            parts.append(skipped[0] if len(skipped) == 1 else f"{len(skipped)} files skipped")
        if changed:
            parts.append(changed[0] if len(changed) == 1 else f"{len(changed)} files converted on the way in")
        if report.duplicates:
            d = report.duplicates
            parts.append(f"{d[0]} is already in the list" if len(d) == 1 else f"{len(d)} files are already in the list")
        same = list(getattr(report, "same_content", []))
        if same:
            parts.append(same[0] if len(same) == 1 else f"{len(same)} files have the same audio as files in the list")
        for line in report.refused:
            self.note(f"Refused {line}", "warning")
        self._tip_files(report.notes)
        for line in report.notes + same:
            self.note(line)
        for name in report.duplicates:
            self.note(f"{name} is already in the list")
        lines = len(report.refused) + len(report.notes) + len(same)
        if lines > 1:
            parts.append("the whole list is in View > Messages (Ctrl+M)")
        if not parts:
            parts.append("No audio files found")
        if not (quiet and not report.refused):
            self.status(". ".join(parts))
        elif added and not self.last_message.startswith("Loading PyTorch"):
            self.status(parts[0], 5000)
        if report.refused or report.notes or same:
            self.statusBar().setToolTip("\n".join(report.refused + report.notes + same))
        if added and not self.file_list.selectedItems() and self.file_list.topLevelItemCount():
            self.file_list.setCurrentItem(self.file_list.topLevelItem(0))

    def _tip_files(self, notes: list[str]) -> None:
        """Add each "name: note" to the tooltip of that file's row (what was changed on the way in)."""
        for i in range(self.file_list.topLevelItemCount()):
            item = self.file_list.topLevelItem(i)
            name = item.text(0)
            mine = [n[len(name) + 2:] for n in notes if n.startswith(name + ": ")]
            if mine:
                item.setToolTip(0, "\n".join([item.data(0, Qt.ItemDataRole.UserRole), *mine]))

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
            self.audio_views_call("set_audio", "input", None, title="Input")

    def remove_selected_files(self) -> None:
        """Take the selected files off the list; the file after them is selected (and plotted)."""
        items = self.file_list.selectedItems()
        if items:
            first = min(self.file_list.indexOfTopLevelItem(it) for it in items)
            n = self.session.remove_files([it.data(0, Qt.ItemDataRole.UserRole) for it in items])
            self._show_files()  # at once (the session's event may come later)
            count = self.file_list.topLevelItemCount()
            if count:
                self.file_list.setCurrentItem(self.file_list.topLevelItem(min(first, count - 1)))
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
        self._update_actions()

    def _on_display_loaded(self, path: str, loaded) -> None:
        if path != self.input_path or self._closed:
            return
        self.input_audio = AudioBuffer.from_array(loaded.samples, loaded.sample_rate)
        self.audio_views_call("set_audio", "input", self.input_audio.view(), loaded.sample_rate,
                                     title=f"Input: {Path(path).name}")
        self._update_actions()

    def _on_display_failed(self, path: str, exc: BaseException) -> None:
        if path == self.input_path:
            self.input_audio = None
            self.audio_views_call("set_audio", "input", None, title=f"Input: {Path(path).name} (unreadable)")
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
        if self.core is None:  # PyTorch still loading: queue it (pressed again: call it off)
            self.train_queued = not self.train_queued
            self.status("Training will start as soon as PyTorch has loaded…" if self.train_queued
                        else "Training called off (PyTorch is still loading)", 0 if self.train_queued else 5000)
            self._update_actions()
            return
        self.train_queued = False
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
        val = f" · val {loss_text(p.val_loss)}" if p.val_loss is not None else ""
        self.progress_bar.setFormat(f"Iteration {p.iteration:,}/{p.total_iterations:,} · loss {loss_text(p.mean_loss)}"
                                    f"{val} · {p.samples_per_s:,.0f} samples/s{eta}")
        self.speed_label.setText(f"{p.samples_per_s:,.0f} samples/s")
        self._update_model_label(p.iteration)
        if p.checkpoint is not None:
            self.status(f"Checkpoint saved: {p.checkpoint}", 5000)
        elif p.checkpoint_error:
            self.status(f"Warning: {p.checkpoint_error}; training goes on, the model stays in memory")

    def _on_train_done(self, outcome) -> None:
        r = outcome.result
        if r.reason != "cancelled":
            self.progress_bar.setValue(self.progress_bar.maximum())
        iteration = self.session.state.iteration
        if r.reason == "cancelled":  # Stop: nothing is lost, say so
            kept = "; the model is kept" if self.session.model is not None else ""
            self.progress_bar.setFormat(f"Stopped at iteration {iteration:,}")
            msg = f"Training stopped at iteration {iteration:,}{kept}"
            if r.final_loss is not None and math.isfinite(r.final_loss):
                msg += f" (loss {loss_text(r.final_loss)})"
        else:
            self.progress_bar.setFormat(f"Training ended at iteration {iteration:,}: {r.reason.replace('_', ' ')}")
            msg = r.message
        for line in outcome.notes:
            self.note(line)
        if outcome.notes:
            msg += f" · {outcome.notes[0]}" + (" (more in View > Messages)" if len(outcome.notes) > 1 else "")
        self.note(msg)
        self.status(msg)
        self.loss_plot.refresh()
        if r.reason == "diverged":
            self.show_message("warning", "Training stopped", r.message)
        if r.checkpoint_error:
            self.show_message("warning", "Checkpoint not saved",
                              f"{r.checkpoint_error}. The trained model is kept: use Save model… to save it "
                              "elsewhere.")

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
            parts.append(f"loss {loss_text(loss)}")
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
        self._on_variation_changed()  # now that it runs: "in progress", and the length to expect
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
        self.audio_views_call("mark_dirty", "generated")
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
        if r.warnings:  # a collapse into silence, a stuck value or noise: say so, with what to try
            msg += ". " + r.warnings[0] + (f" (and {len(r.warnings) - 1} more)" if len(r.warnings) > 1 else "")
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
            self.audio_views_call("set_audio", "generated", None, title="Generated")
            return
        if self.player.tag == "generated" and self.player.buffer is not None and self.player.source is not buf:
            self.player.stop()
        running = self.busy() == "generation"
        title = "Generated (in progress)" if running else ("Generated (cancelled, partial)" if r.cancelled
                                                           else "Generated")
        if len(r.buffers) > 1:
            title += f" · variation {self.variation_spin.value()}/{len(r.buffers)}"
        self.audio_views_call("set_audio", "generated", buf, buf.sample_rate, title=title,
                                     expected_seconds=r.n_samples / r.sample_rate if running else 0.0)

    def current_generated(self) -> AudioBuffer | None:
        r = self.session.results
        if r is None or not r.buffers:
            return None
        return r.buffers[min(self.variation_spin.value() - 1, len(r.buffers) - 1)]

    def stop_all(self) -> None:
        """Esc: stop training, cancel generation, stop playback (or call off a queued training)."""
        if self.train_queued:
            self.train_queued = False
            self.status("Training called off (PyTorch is still loading)", 5000)
            self._update_actions()
        elif self.busy() == "training":
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
    def export_dialog(self, *, all_variations: bool = False) -> None:
        buf = self.current_generated()
        if buf is None or buf.length == 0 or self.busy() == "generation":
            return
        options = self.ask_export_options(all_variations)
        if options is None:
            return
        all_variations, rate = options
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
        self.export_to(path, subtype=subtype, sample_rate=rate, all_variations=all_variations)

    def ask_export_options(self, all_variations: bool = False) -> tuple[bool, int | None] | None:
        """Which variations and at what rate to export: (all, rate or None for the model's), None: cancelled."""
        from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout

        r = self.session.results
        dialog = QDialog(self)
        dialog.setWindowTitle("Export generated audio")
        form = QFormLayout(dialog)
        which = QComboBox()
        which.addItem(f"Variation {self.variation_spin.value()} (the one shown)", False)
        if len(r.buffers) > 1:
            which.addItem(f"All {len(r.buffers)} variations (one file each, _v1, _v2, …)", True)
            which.setCurrentIndex(1 if all_variations else 0)
        rate = QComboBox()
        rate.addItem(f"{r.sample_rate} Hz (the model's rate)", None)
        for hz in (16000, 22050, 44100, 48000, 96000):
            if hz != r.sample_rate:
                rate.addItem(f"{hz} Hz (resampled)", hz)
        form.addRow("Export", which)
        form.addRow("Sample rate", rate)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return bool(which.currentData()), rate.currentData()

    def export_to(self, path: str | Path, *, subtype: str | None = "PCM_16", confirm: bool = True,
                  sample_rate: int | None = None, all_variations: bool = False) -> Job | None:
        """Write the shown variation (or every variation: ``<stem>_v1``, ``_v2``, …) to ``path`` (format
        from the extension), resampled to ``sample_rate`` if given; asks before overwriting."""
        buf = self.current_generated()
        r = self.session.results
        if buf is None or buf.length == 0:
            return None
        path = Path(path)
        if all_variations and len(r.buffers) > 1:
            targets = [(k, path.with_name(f"{path.stem}_v{k + 1}{path.suffix}")) for k in range(len(r.buffers))]
        else:
            targets = [(self.variation_spin.value() - 1, path)]
        try:  # a name over 255 bytes, a pseudo folder: one line with the true reason, before any OSError
            for _, target in targets:
                check_path_length(target)
            check_writable_dir(path.parent)
        except WaveNetError as exc:
            self._report_error("Export failed", exc)
            return None
        existing = [p.name for _, p in targets if p.exists()]
        verb = "exists" if len(existing) == 1 else "exist"
        if confirm and existing and not self.ask("Overwrite?", f"{', '.join(existing)} {verb}. Replace?"):
            self.status("Export cancelled", 3000)
            return None
        self.settings.setValue("export/last_dir", str(path.parent))

        def work() -> list[Path]:
            return [self.session.export(str(p), variation=k, subtype=subtype, sample_rate=sample_rate)
                    for k, p in targets]

        def done(written: list[Path]) -> None:
            rate = f" at {sample_rate} Hz" if sample_rate else ""
            text = (f"Exported {written[0]}{rate}" if len(written) == 1
                    else f"Exported {len(written)} variations{rate}: {written[0].name} … {written[-1].name} in "
                         f"{written[0].parent}")
            self.note(text)
            self.status(text)

        return self._run(work, name="export", returned=done,
                         errored=lambda exc: self._report_error("Export failed", exc))

    def export_plots_dialog(self) -> None:
        start = self.settings.value("export/last_dir", self.session.settings.get("output_dir") or "")
        path, chosen = QFileDialog.getSaveFileName(self, "Export plots", str(Path(start) / "plot.png"),
                                                   "PNG images (*.png);;SVG drawings (*.svg)")
        if path:
            if Path(path).suffix.lower() not in (".png", ".svg"):
                path += ".svg" if "svg" in chosen.lower() else ".png"
            try:
                written = self.export_plots(path)
            except Exception as exc:  # noqa: BLE001
                self._report_error("Could not export the plots", exc)
                return
            self.status("Plots saved: " + ", ".join(p.name for p in written))

    def export_plots(self, path: str | Path) -> list[Path]:
        """Write ``<stem>-loss``, ``<stem>-waveform`` and ``<stem>-spectrogram`` next to ``path``, as PNG
        images, or as SVG drawings when ``path`` ends in ``.svg`` (the spectrogram is an image in it)."""
        path = Path(path)
        stem = path.with_suffix("")
        check_path_length(f"{stem}-spectrogram{path.suffix}")
        check_writable_dir(stem.parent)
        if path.suffix.lower() == ".svg":
            from .plots import export_widget_svg

            out = []
            for view, name in ((self.loss_plot, "loss"), (self.waveform_plot, "waveform"),
                               (self.spectrogram_plot, "spectrogram")):
                view.refresh()
                out.append(export_widget_svg(view, f"{stem}-{name}.svg"))
            return out
        return [self.loss_plot.export_png(f"{stem}-loss.png"), self.waveform_plot.export_png(f"{stem}-waveform.png"),
                self.spectrogram_plot.export_png(f"{stem}-spectrogram.png")]

    def open_output_folder(self) -> bool:
        """Open the output folder in the file manager; says where it is when none can open it."""
        out = self.session.settings.get("output_dir")
        if not out:
            self.status("No output folder is set (Training tab, Output folder)", 6000)
            return False
        try:
            folder = check_writable_dir(out)
        except WaveNetError as exc:
            self._report_error("Cannot open the output folder", exc)
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.status(f"Opened {folder}", 4000)
            return True
        text = f"No file manager could be started to show the folder. The files are in {folder}"
        self.status(text)
        self.note(text, "warning")
        self.show_message("info", "Output folder", text)
        return False

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
        if self.player.play(self.current_generated() if which == "generated" else self.input_audio, tag=which) \
                and self.player.note:
            self.status(f"Playing ({self.player.note})", 5000)

    def _can_play(self, which: str) -> bool:
        if not self.player.availability()[0]:
            return False
        if which == "generated":
            buf = self.current_generated()
            return buf is not None and (buf.length > 0 or not buf.complete)
        return self.input_audio is not None and self.input_audio.length > 0

    def _on_player_state(self, state: str) -> None:
        if state != PLAYING:
            self.audio_views_call("set_playhead", None)
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
        loading = not core_ok and not self.core_error
        if self.core_error:
            why = self.core_error
        elif busy:
            why = f"Busy: {busy} is running"
        elif not self.training_form.is_valid:
            why = "Some settings are invalid: see the Training tab"
        elif not self.session.files:
            why = "Add audio files first (drop them on the window or press Ctrl+O)"
        else:
            why = ""
        if loading and self.train_queued:
            tip = "Training starts as soon as PyTorch has loaded (press again or Esc to call it off)"
        elif loading:
            tip = "PyTorch is still loading: press Train and training starts as soon as it is ready"
        else:
            tip = "Train on the files in the list (Ctrl+T)"
        self._set_enabled(self.train_button, not why, why or tip)
        self.train_button.setText("Train (queued)" if loading and self.train_queued else "Train")
        self.act_train.setEnabled(not why)
        self._set_enabled(self.stop_button, training and not self.session.stopping,
                          "Stop training after the current step (Esc)")
        gwhy = (self.core_error or "Loading PyTorch…") if not core_ok else (
            "Train or load a model first" if not has_model else (f"Busy: {busy} is running" if busy else (
                "Some settings are invalid: see the Generation tab" if not self.generation_form.is_valid else "")))
        self._set_enabled(self.generate_button, not gwhy, gwhy or "Generate audio with the model (Ctrl+G)")
        self.act_generate.setEnabled(not gwhy)
        pwhy = (self.core_error or "Loading PyTorch…") if not core_ok else (
            "Train or load a model first" if not has_model else "Wait until generation ends" if generating else
            "A preview is being made" if self.preview_job is not None and self.preview_job.running else
            "Some settings are invalid: see the Generation tab" if not self.generation_form.is_valid else "")
        self._set_enabled(self.preview_button, not pwhy, pwhy or PREVIEW_TIP)
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
        self.act_export_all.setEnabled(can_export and self.session.results is not None
                                       and len(self.session.results.buffers) > 1)
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
        self.audio_view.currentWidget().refresh()  # the hidden view catches up when it is shown

    def audio_views_call(self, method: str, *args, **kwargs) -> None:
        """Call ``method`` on the waveform view and on the spectrogram view (they show the same audio)."""
        for view in (self.waveform_plot, self.spectrogram_plot):
            getattr(view, method)(*args, **kwargs)

    def show_spectrogram(self, on: bool) -> None:
        """Show the spectrograms (True) or the waveforms (False) of the input and generated audio."""
        on = bool(on)
        view = self.spectrogram_plot if on else self.waveform_plot
        view.refresh()
        self.audio_view.setCurrentWidget(view)
        for widget in (self.spectrogram_check, self.act_spectrogram):
            if widget.isChecked() != on:
                widget.setChecked(on)
        self.settings.setValue("view/spectrogram", on)

    # ================================================================ settings / about
    def _reset_all_settings(self) -> None:
        self.apply_preset()
        self.generation_form.reset_defaults()
        self.status("Settings reset to the defaults for these files", 4000)

    def set_output_device(self, name: str) -> bool:
        """Play through the output device called ``name`` ("" : the system's default); False if it is gone."""
        from .playback import output_devices

        if not name:
            self.player.device = None
            self.settings.setValue("audio/device", "")
            return True
        for index, dev_name, _rate in output_devices():
            if dev_name == name:
                self.player.device = index
                self.settings.setValue("audio/device", name)
                return True
        self.player.device = None
        return False

    def show_preferences(self) -> None:
        """Preferences: the output device, with the sample rates it plays."""
        from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout

        from .playback import output_devices, supported_rates

        dialog = QDialog(self)
        dialog.setObjectName("preferences")
        dialog.setWindowTitle("Preferences")
        form = QFormLayout(dialog)
        combo = QComboBox()
        combo.setObjectName("outputDevice")
        combo.addItem("System default output", ("", None))
        for index, name, rate in output_devices():
            combo.addItem(f"{name} ({rate} Hz by default)", (name, index))
        current = str(self.settings.value("audio/device", "") or "")
        combo.setCurrentIndex(max(0, next((i for i in range(combo.count()) if combo.itemData(i)[0] == current), 0)))
        rates = QLabel()
        rates.setObjectName("deviceRates")
        rates.setWordWrap(True)
        model_rate = self.session.model.config.sample_rate if self.session.model is not None else None

        def show_rates() -> None:
            ok = supported_rates(combo.currentData()[1])
            text = ", ".join(f"{r:,}" for r in ok) + " Hz" if ok else "none of the usual rates (or no device)"
            if model_rate and ok and model_rate not in ok:
                text += f". The model's {model_rate:,} Hz is resampled for it when played."
            rates.setText(text)

        combo.currentIndexChanged.connect(show_rates)
        show_rates()
        form.addRow("Output device", combo)
        form.addRow("Sample rates it plays", rates)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        self.preferences_dialog = dialog  # (tests look at it)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.player.stop()
            self.set_output_device(combo.currentData()[0])
            self.status(f"Output device: {combo.currentText()}", 5000)

    def show_quick_start(self) -> None:
        """Help > Quick start: the four steps, the presets and what the main settings do to the sound."""
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser

        dialog = QDialog(self)
        dialog.setObjectName("quickStart")
        dialog.setWindowTitle("Quick start")
        layout = QVBoxLayout(dialog)
        text = QTextBrowser()
        text.setOpenExternalLinks(False)
        text.setHtml(quick_start_html())
        layout.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        avail = self._available()
        dialog.resize(min(640, avail.width() - 40) if avail else 640, min(620, avail.height() - 60) if avail else 620)
        dialog.exec()

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
            saved = self._save_for_recovery()
            if saved is not None:
                log.warning("%s: the unsaved model was saved to %s (open it with Load model)", reason, saved)
            else:
                log.error("%s: the unsaved model could not be saved", reason)
        self.shutdown()
        self.close()
        return saved

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if getattr(self, "_terminating", False):  # terminate() stopped and saved: nobody is there to ask
            self.shutdown()
            event.accept()
            super().closeEvent(event)
            return
        if not self._closed and not self.confirm_quit():
            event.ignore()
            return
        self.shutdown()
        event.accept()
        super().closeEvent(event)

    def confirm_quit(self) -> bool:
        """Whether the window may close: asks to save a model changed since it was last saved or loaded.

        "Save the trained model before quitting?" with Save, Discard and Cancel (training, if
        it runs, is stopped first and the model as it is then is saved); with nothing unsaved,
        running work is stopped after asking.  A failed or cancelled save keeps the window open.
        """
        busy = self.busy()
        if busy == "model file":
            self.status("Wait until the model file is written, then quit", 5000)
            return False
        if self.session.model is not None and (self.session.unsaved or busy == "training"):
            running = " Training is running: it stops first." if busy == "training" else (
                " Generation is running: it stops first." if busy else "")
            choice = self.choose("Quit?", "Save the trained model before quitting?" + running
                                 + " Discard loses the training.", ("Save", "Discard", "Cancel"))
            if choice == "Cancel":
                return False
            if choice == "Save":
                return self._save_before_quit()
            return True
        if busy and not self.ask("Quit?", f"{busy.capitalize()} is running. Stop it and quit?"):
            return False
        return True

    def _save_before_quit(self) -> bool:
        """Stop training, then save the model (to its file, else where the user says); True when saved."""
        if self.busy() in ("training", "generation"):
            self.session.stop()
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                for job in (self.train_job, self.gen_job):
                    if job is not None and job.running:
                        job.wait()
            finally:
                QApplication.restoreOverrideCursor()
        known = self.session.model_path
        if known is not None and Path(known).suffix == ".safetensors" and Path(known).parent.is_dir():
            path = str(known)
        else:
            start = self.settings.value("model/last_dir", self.session.settings.get("output_dir") or "")
            path = self.ask_save_path("Save the trained model", str(Path(start or ".") / "model.safetensors"))
            if not path:
                self.status("Not quitting: the model is not saved", 6000)
                return False
            if not path.endswith(".safetensors"):
                path += ".safetensors"
        try:
            written = self.session.save_model(path)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the window (and the model) open
            self._report_error("Could not save the model; not quitting", exc)
            return False
        self.remember_recent("model", written)
        self.settings.setValue("model/last_dir", str(Path(written).parent))
        return True

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

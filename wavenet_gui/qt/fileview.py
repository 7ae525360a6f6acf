"""The file list: the session's audio files, added by dialog, drop or recent menu, and the selected one shown.

The list shows what the session holds (:attr:`Session.files`), with each file's duration
after its leading and trailing silence is trimmed and how much was trimmed.  Adding and
removing are the session's verbs; the list redraws on its "files" event.  The selected
file is decoded (from the session's cache) for the input plot and the Play input button.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from wavenet_gui.core.audio import AUDIO_EXTENSIONS
from wavenet_gui.core.session import seconds_text

from .playback import AudioBuffer
from .tasks import Job

if TYPE_CHECKING:
    from .window import MainWindow

#: The Add files dialog's filter: the extensions the app reads (the same list as a folder's).
AUDIO_FILTER = ("Audio files (" + " ".join(f"*{ext}" for ext in sorted(AUDIO_EXTENSIONS)) + ");;All files (*)")
DURATION_TIP = ("Seconds used for training: leading and trailing silence is trimmed (Silence threshold, "
                "Training tab); how much is said in brackets")
PATH = Qt.ItemDataRole.UserRole


def duration_text(kept: float, trimmed: float | None) -> str:
    """A file's duration for the list: ``"1.8 s"``, or ``"1.8 s (trimmed 0.31 s)"`` when silence was cut.

    >>> duration_text(1.84, 0.0), duration_text(1.84, 0.312)
    ('1.8 s', '1.8 s (trimmed 0.31 s)')
    """
    text = seconds_text(kept)
    return text + f" (trimmed {trimmed:.2f} s)" if trimmed is not None and trimmed >= 0.005 else text


class FileView(QGroupBox):
    """"Audio files": the list, the drop hint and the Add / Remove buttons.

    ``listed`` is emitted after the list has followed the session (the window then updates
    the forms and the preset).

    Examples
    --------
    >>> view = FileView(window)                 # doctest: +SKIP
    >>> view.add_paths(["voice.wav"])           # doctest: +SKIP
    """

    listed = Signal()

    def __init__(self, host: MainWindow) -> None:
        super().__init__("Audio files")
        self.host = host
        self.session = host.session
        self.input_audio: AudioBuffer | None = None  # the selected file, decoded for the plot and Play input
        self.input_path: str | None = None
        self._files_cancel: threading.Event | None = None
        self._durations_cancel: threading.Event | None = None  # the background duration read's
        self._listed: tuple = ()  # the session's files as the list shows them
        self._durations_key: tuple = ()
        self.durations: list[tuple[float, float | None]] = []  # (seconds used, trimmed; None: not known yet)

        layout = QVBoxLayout(self)
        self.file_list = QTreeWidget()
        self.file_list.setObjectName("fileList")
        self.file_list.setHeaderLabels(["Name", "Duration", "Rate", "Ch"])
        self.file_list.headerItem().setToolTip(1, DURATION_TIP)
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
        layout.addWidget(self.file_list)
        self.drop_hint = QLabel("Drop audio files or folders here, or press Add…")
        self.drop_hint.setStyleSheet("color: #666;")
        layout.addWidget(self.drop_hint)
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
        layout.addLayout(row)

    def rows(self) -> list[QTreeWidgetItem]:
        """The list's rows, top to bottom."""
        items = (self.file_list.topLevelItem(i) for i in range(self.file_list.topLevelItemCount()))
        return [item for item in items if item is not None]

    @property
    def files(self) -> list:
        """The files the list shows (the session's, as of its last "files" event)."""
        return list(self._listed)

    # ------------------------------------------------------------------ adding
    def open_files_dialog(self) -> None:
        settings = self.host.settings
        start = str(settings.value("files/last_dir", str(Path.home())))
        paths, _ = QFileDialog.getOpenFileNames(self.host, "Add audio files", start, AUDIO_FILTER)
        if paths:
            settings.setValue("files/last_dir", str(Path(paths[0]).parent))
            self.add_paths(paths)

    def open_folder_dialog(self) -> None:
        """Add every audio file in a folder (and its subfolders)."""
        settings = self.host.settings
        start = str(settings.value("files/last_dir", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self.host, "Add a folder of audio files", start)
        if folder:
            settings.setValue("files/last_dir", folder)
            self.add_paths([folder])

    def restore_files(self, example: Path | None) -> None:
        """Add the files listed when the app last closed (on first launch: ``example``, so Train works at once)."""
        stored = self.host.settings.value("files/paths")
        if stored is None:
            paths = [str(example)] if example else []
        else:
            stored = [stored] if isinstance(stored, str) and stored else (stored or [])
            paths = [p for p in stored if Path(p).exists()]
        if paths:
            self.add_paths(paths, quiet=True)

    def open_recent(self, kind: str, path: str) -> Job | None:
        """Add a recent audio file (or folder) to the list, or load a recent model."""
        host = self.host
        if not Path(path).exists():
            host.recent.forget(kind, path)
            host.status(f"{Path(path).name} no longer exists (removed from the recent list)")
            return None
        if kind == "model":
            if host.busy():
                host.status("Wait for the current work to finish (or stop it) to load a model")
                return None
            return host.load_model(path)
        return self.add_paths([path])

    @staticmethod
    def drag_enter(event: QDragEnterEvent) -> None:
        """Accept a drag that brings local files (anywhere on the window)."""
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        """Dropped files: audio (and folders) are added, a model file (.safetensors) is loaded."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    def open_paths(self, paths: Sequence[str]) -> None:
        """Dropped or named on the command line: a model file (.safetensors) is loaded, audio
        files and folders are added."""
        host = self.host
        models = [p for p in paths if p.lower().endswith(".safetensors") and Path(p).is_file()]
        audio = [p for p in paths if p not in models]
        if models:
            if host.busy():
                host.status(f"Not loading {Path(models[0]).name}: wait for the current work to finish (or stop it)")
            else:
                host.load_model(models[0])
            if len(models) > 1:
                host.note(f"Only one model can be open: loaded {Path(models[0]).name}, not "
                          + ", ".join(Path(m).name for m in models[1:]), "warning")
        if audio:
            self.add_paths(audio)

    def add_paths(self, paths: Sequence[str | Path], *, quiet: bool = False) -> Job:
        """Read ``paths`` (files or folders) in the background and add the usable files to the list."""
        self.host.status(f"Reading {len(paths)} item(s)…")
        self._files_cancel = self._files_cancel or threading.Event()
        return self.host.run_job(self.session.add_files, [str(p) for p in paths], name="add-files",
                                 cancel=self._files_cancel, returned=lambda report: self._on_files_added(report, quiet))

    def cancel_reading(self) -> None:
        if self._files_cancel is not None:
            self._files_cancel.set()
        self.cancel_durations()

    def cancel_durations(self) -> None:
        """Call off the background read of the files' trimmed durations (training reads them)."""
        if self._durations_cancel is not None:
            self._durations_cancel.set()
            self._durations_cancel = None

    def _on_files_added(self, report, quiet: bool) -> None:
        host = self.host
        if host.closed:
            return
        if not quiet:
            for info in report.added:
                host.recent.remember("audio", info.path)
        parts = []
        added = report.added
        if added:
            parts.append(f"Added {len(added)} file(s)" + (f": {Path(added[0].path).name}" if len(added) == 1 else ""))
        if report.refused:
            more = f" (and {len(report.refused) - 1} more refused)" if len(report.refused) > 1 else ""  # listed in full
            parts.append(f"Refused {report.refused[0]}{more}")
            host.last_error = "; ".join(report.refused)
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
            host.note(f"Refused {line}", "warning")
        self._tip_files(report.notes)
        for line in report.notes + same:
            host.note(line)
        for name in report.duplicates:
            host.note(f"{name} is already in the list")
        lines = len(report.refused) + len(report.notes) + len(same)
        if lines > 1:
            parts.append("the whole list is in View > Messages (Ctrl+M)")
        if not parts:
            parts.append("No audio files found")
        if not (quiet and not report.refused):
            host.status(". ".join(parts))
        elif added and not host.last_message.startswith("Loading PyTorch"):
            host.status(parts[0], 5000)
        if report.refused or report.notes or same:
            host.statusBar().setToolTip("\n".join(report.refused + report.notes + same))
        rows = self.rows()
        if added and not self.file_list.selectedItems() and rows:
            self.file_list.setCurrentItem(rows[0])

    def _tip_files(self, notes: list[str]) -> None:
        """Add each "name: note" to the tooltip of that file's row (what was changed on the way in)."""
        for item in self.rows():
            name = item.text(0)
            mine = [n[len(name) + 2:] for n in notes if n.startswith(name + ": ")]
            if mine:
                item.setToolTip(0, "\n".join([item.data(0, PATH), *mine]))

    # ------------------------------------------------------------------ showing
    def show_files(self) -> None:
        """Make the list show the session's files (rows are kept for files still there)."""
        files = self._listed = tuple(self.session.files)
        rows = {item.data(0, PATH): item for item in self.rows()}
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
            item.setData(0, PATH, str(info.path))
            for col in (1, 2, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.file_list.addTopLevelItem(item)
        self._durations_key = ()
        self.show_durations()
        self.host.settings.setValue("files/paths", wanted)
        self.drop_hint.setVisible(not files)
        if self.input_path is not None and self.input_path not in wanted:
            player = self.host.player
            if player.tag == "input":
                player.stop()
            self.input_path = self.input_audio = None
            self.host.plots.audio_views_call("set_audio", "input", None, title="Input")
        self.listed.emit()

    def show_durations(self) -> None:
        """Each row's duration after trimming, and how much silence was trimmed; again when the
        silence threshold, the rate or the model changes.  Files not yet decoded at the rate
        used are read in the background (the trim is known then)."""
        s = self.session.settings
        key = (self._listed, s.get("silence_threshold"), s.get("sample_rate"), s.get("n_channels"),
               s.get("quantization"), self.session.model)
        if key == self._durations_key:
            return
        self._durations_key = key
        self._apply_durations(key, self.session.file_durations())
        if any(t is None for _, t in self.durations) and not self.host.closed and not self.host.busy():
            self.cancel_durations()  # a read for older settings is of no use any more
            cancel = self._durations_cancel = threading.Event()
            self.host.run_job(lambda: self.session.file_durations(read=True, cancel=cancel), name="read-durations",
                              returned=lambda durations: self._apply_durations(key, durations),
                              errored=lambda exc: self.host.status(f"Could not read the files' durations: {exc}"))

    def _apply_durations(self, key: tuple, durations: list[tuple[float, float | None]]) -> None:
        if key != self._durations_key or self.host.closed:
            return  # the files or the settings changed meanwhile: a newer read follows
        self.durations = durations
        for item, info, (kept, trimmed) in zip(self.rows(), self._listed, durations, strict=False):
            item.setText(1, duration_text(kept, trimmed))
            whole = seconds_text(info.duration)
            if trimmed is None:
                tip = f"{whole} in the file (the silence to trim is known once it is read at this rate)"
            elif trimmed >= 0.005:
                tip = f"{whole} in the file; {kept:.2f} s used, {trimmed:.2f} s of leading and trailing silence trimmed"
            else:
                tip = f"{whole} in the file, all used (no silence to trim)"
            item.setToolTip(1, tip)

    def remove_selected_files(self) -> None:
        """Take the selected files off the list; the file after them is selected (and plotted)."""
        items = self.file_list.selectedItems()
        if items:
            first = min(self.file_list.indexOfTopLevelItem(it) for it in items)
            n = self.session.remove_files([it.data(0, PATH) for it in items])
            self.show_files()  # at once (the session's event may come later)
            rows = self.rows()
            if rows:
                self.file_list.setCurrentItem(rows[min(first, len(rows) - 1)])
            self.host.status(f"Removed {n} file(s)", 4000)

    def update_actions(self, *, training: bool) -> None:
        self.remove_button.setEnabled(bool(self.file_list.selectedItems()) and not training)

    # ------------------------------------------------------------------ the selected file
    def _on_file_selected(self) -> None:
        items = self.file_list.selectedItems()
        path = items[0].data(0, PATH) if items else None
        if path is None or path == self.input_path:
            self.host.update_actions()
            return
        self.input_path = path
        self.host.run_job(self.session.display_audio, path, name="display",
                          returned=lambda loaded, p=path: self._on_display_loaded(p, loaded),
                          errored=lambda exc, p=path: self._on_display_failed(p, exc))
        self.host.update_actions()

    def _on_display_loaded(self, path: str, loaded) -> None:
        if path != self.input_path or self.host.closed:
            return
        self.input_audio = AudioBuffer.from_array(loaded.samples, loaded.sample_rate)
        self.host.plots.audio_views_call("set_audio", "input", self.input_audio.view(), loaded.sample_rate,
                                         title=f"Input: {Path(path).name}")
        self.host.update_actions()

    def _on_display_failed(self, path: str, exc: BaseException) -> None:
        if path == self.input_path:
            self.input_audio = None
            self.host.plots.audio_views_call("set_audio", "input", None,
                                             title=f"Input: {Path(path).name} (unreadable)")
        self.host.status(str(exc))
        self.host.last_error = str(exc)
        self.host.update_actions()

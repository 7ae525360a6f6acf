"""The window's dialogs: message boxes, Preferences, Quick start, About, and the question asked before quitting.

The message-box functions take the parent window; the window wraps them in methods
(``show_message``, ``ask``, ``choose``, ``ask_save_path``) that tests replace.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from wavenet_gui import appinfo

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from .window import MainWindow

MODEL_FILTER = "WaveNet models (*.safetensors);;All files (*)"

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
    """The Quick start text (HTML): the four steps, the presets, the main settings and the sound.

    >>> "Four steps" in quick_start_html()
    True
    """
    from html import escape

    from wavenet_gui.core import config
    from wavenet_gui.core.presets import PRESETS

    steps = ("<b>Add audio</b>: drop files or a folder on the window (or File &gt; Add, Ctrl+O / Ctrl+Shift+O). "
             "Clips of up to a few seconds come back closest (the Imitate preset, minutes of training); longer "
             "material needs far longer training before it sounds like yours.",
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


# ============================================================================ message boxes
def message_box(parent: QWidget, kind: str, title: str, text: str, details: str = "") -> None:
    """A modal message box; ``kind`` is "info", "warning" or "error"."""
    box = QMessageBox(parent)
    box.setIcon({"info": QMessageBox.Icon.Information, "warning": QMessageBox.Icon.Warning}.get(
        kind, QMessageBox.Icon.Critical))
    box.setWindowTitle(title)
    box.setText(text)
    if details:
        box.setDetailedText(details)
    box.exec()


def ask(parent: QWidget, title: str, text: str) -> bool:
    """Yes / No (No by default)."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def choose(parent: QWidget, title: str, text: str, choices: tuple[str, ...]) -> str:
    """Ask with one button per choice ("Save", "Discard", "Cancel", ...); the chosen one (Esc: the last)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    standard = {"Save": QMessageBox.StandardButton.Save, "Discard": QMessageBox.StandardButton.Discard,
                "Cancel": QMessageBox.StandardButton.Cancel}
    buttons: dict[QPushButton, str] = {}
    for choice in choices:
        if choice in standard:
            buttons[box.addButton(standard[choice])] = choice
        else:
            buttons[box.addButton(choice, QMessageBox.ButtonRole.ActionRole)] = choice
    box.setDefaultButton(next(iter(buttons)))
    box.setEscapeButton(list(buttons)[-1])
    box.exec()
    clicked = box.clickedButton()
    return next((choice for button, choice in buttons.items() if button is clicked), choices[-1])


def ask_save_path(parent: QWidget, title: str, start: str) -> str:
    """A file name to save a model to ("" when cancelled)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, start, MODEL_FILTER)
    return path


class MessagesDock(QDockWidget):
    """View > Messages: every note and message in full, with its time (the status bar shows one line)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__("Messages", parent)
        self.setObjectName("messagesDock")
        self.list = QListWidget()
        self.list.setObjectName("messagesList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.setWidget(self.list)
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)

    def note(self, text: str, kind: str = "info") -> None:
        """Add a line (the last 2,000 are kept); warnings and errors in colour."""
        from datetime import datetime

        item = QListWidgetItem(f"{datetime.now():%H:%M:%S}  {text}")
        item.setToolTip(text)
        if kind in ("warning", "error"):
            item.setForeground(QColor("#c07000") if kind == "warning" else QColor("#d02020"))
        self.list.addItem(item)
        while self.list.count() > 2000:
            self.list.takeItem(0)
        self.list.scrollToBottom()

    def lines(self) -> list[str]:
        """The lines, without their times."""
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item.toolTip() for item in items if item is not None]


# ============================================================================ Preferences, Help
def set_output_device(host: MainWindow, name: str) -> bool:
    """Play through the output device called ``name`` ("": the system's default); False if it is gone."""
    from .playback import output_devices

    if not name:
        host.player.device = None
        host.settings.setValue("audio/device", "")
        return True
    for index, dev_name, _rate in output_devices():
        if dev_name == name:
            host.player.device = index
            host.settings.setValue("audio/device", name)
            return True
    host.player.device = None
    return False



def ok_cancel(dialog: QDialog, form: QFormLayout) -> bool:
    """Add OK and Cancel as the last row of ``form`` and run ``dialog``: whether it was accepted."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    return dialog.exec() == QDialog.DialogCode.Accepted


def show_preferences(host: MainWindow) -> None:
    """Preferences: the output device, with the sample rates it plays."""
    from .playback import output_devices, supported_rates

    dialog = QDialog(host)
    dialog.setObjectName("preferences")
    dialog.setWindowTitle("Preferences")
    form = QFormLayout(dialog)
    combo = QComboBox()
    combo.setObjectName("outputDevice")
    combo.addItem("System default output", ("", None))
    for index, name, rate in output_devices():
        combo.addItem(f"{name} ({rate} Hz by default)", (name, index))
    current = str(host.settings.value("audio/device", "") or "")
    combo.setCurrentIndex(max(0, next((i for i in range(combo.count()) if combo.itemData(i)[0] == current), 0)))
    rates = QLabel()
    rates.setObjectName("deviceRates")
    rates.setWordWrap(True)
    model_rate = host.session.model.config.sample_rate if host.session.model is not None else None

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
    if ok_cancel(dialog, form):
        host.player.stop()
        host.set_output_device(combo.currentData()[0])
        host.status(f"Output device: {combo.currentText()}", 5000)


def show_quick_start(host: MainWindow) -> None:
    """Help > Quick start: the four steps, the presets and what the main settings do to the sound."""

    dialog = QDialog(host)
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
    avail = host.available_area()
    dialog.resize(min(640, avail.width() - 40) if avail else 640, min(620, avail.height() - 60) if avail else 620)
    dialog.exec()


def about_text(settings: QSettings) -> str:
    """Help > About: the version, the versions of the libraries, where settings and the log are."""
    from wavenet_gui import __version__

    rows = list(appinfo.versions().items())
    table = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in rows)
    where = "".join(f"<p>{line}</p>" for line in appinfo.user_settings_note(settings.fileName()).splitlines())
    return (f"<h3>WaveNet GUI {__version__}</h3><p>Train an unconditioned WaveNet on your own audio, then "
            f"listen to, plot and export what it generates.</p><table>{table}</table>{where}")


def show_about(host: MainWindow) -> None:
    QMessageBox.about(host, "About WaveNet GUI", about_text(host.settings))


# ============================================================================ quitting
def confirm_quit(host: MainWindow) -> bool:
    """Whether the window may close: asks to save a model changed since it was last saved or loaded.

    "Save the trained model before quitting?" with Save, Discard and Cancel (training, if
    it runs, is stopped first and the model as it is then is saved); with nothing unsaved,
    running work is stopped after asking.  A failed or cancelled save keeps the window open.
    """
    busy = host.busy()
    if busy == "model file":
        host.status("Wait until the model file is written, then quit", 5000)
        return False
    if host.session.model is not None and (host.session.unsaved or busy == "training"):
        running = " Training is running: it stops first." if busy == "training" else (
            " Generation is running: it stops first." if busy else "")
        choice = host.choose("Quit?", "Save the trained model before quitting?" + running
                             + " Discard loses the training.", ("Save", "Discard", "Cancel"))
        if choice == "Cancel":
            return False
        if choice == "Save":
            return save_before_quit(host)
        return True
    if busy and not host.ask("Quit?", f"{busy.capitalize()} is running. Stop it and quit?"):
        return False
    return True


def save_before_quit(host: MainWindow) -> bool:
    """Stop training, then save the model (to its file, else where the user says); True when saved."""
    session, run = host.session, host.run
    if host.busy() in ("training", "generation"):
        session.stop()
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            for job in (run.train_job, run.gen_job):
                if job is not None and job.running:
                    job.wait()
        finally:
            QApplication.restoreOverrideCursor()
    known = session.model_path
    if known is not None and Path(known).suffix == ".safetensors" and Path(known).parent.is_dir():
        path = str(known)
    else:
        start = str(host.settings.value("model/last_dir", session.settings.get("output_dir") or ""))
        path = host.ask_save_path("Save the trained model", str(Path(start or ".") / "model.safetensors"))
        if not path:
            host.status("Not quitting: the model is not saved", 6000)
            return False
        if not path.endswith(".safetensors"):
            path += ".safetensors"
    try:
        written = session.save_model(path)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the window (and the model) open
        host.report_error("Could not save the model; not quitting", exc)
        return False
    host.recent.remember("model", written)
    host.settings.setValue("model/last_dir", str(Path(written).parent))
    return True

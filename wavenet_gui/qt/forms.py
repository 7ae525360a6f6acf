"""The settings forms, built from the one table of settings (:mod:`wavenet_gui.core.config`).

Each setting gets the widget its kind asks for, with the table's range, unit, label
and help text as tooltip; an error line under it shows the table's reason when a
typed value is invalid.  The receptive field and the parameter count come from the
table too, so the form is live before PyTorch has loaded.  Forms hold no state of
their own beyond what is typed: the window copies their values into the session.

* :class:`TrainingForm`: a preset choice at the top, then the model settings (every
  setting a model file carries), the training settings and the output folder.
* :class:`GenerationForm`: what to generate and what it starts from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QSettings, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from wavenet_gui.core import config
from wavenet_gui.core.config import SETTINGS, Setting
from wavenet_gui.core.presets import PRESETS

ERROR_STYLE = "color: #b00020;"
WARNING_STYLE = "color: #8a5a00;"

#: The prime setting's choices in the form (a file is chosen next to it).
START_FROM = (("first", "First sample of the first file"), ("silence", "Silence"), ("file", "Continue a file"))
CUSTOM = "custom"


def default_output_dir() -> str:
    """The window's output folder by default: ``~/Music/wavenet-gui`` (the CLI's is ``./output``)."""
    music = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
    base = Path(music) if music else Path.home()
    return str(base / "wavenet-gui")


def _format_float(value: float) -> str:
    return f"{value:g}"


def _field_row(widget: QWidget) -> tuple[QWidget, QLabel]:
    """A container with the field widget over a (hidden) error line."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(1)
    lay.addWidget(widget)
    err = QLabel()
    err.setStyleSheet(ERROR_STYLE)
    err.setWordWrap(True)
    err.hide()
    lay.addWidget(err)
    return box, err


class _FolderEdit(QWidget):
    """A line edit with a browse button."""

    def __init__(self, tip: str) -> None:
        super().__init__()
        self.edit = QLineEdit()
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the folder")
        browse.clicked.connect(self._browse)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(browse)
        self.edit.setToolTip(tip)

    def _browse(self) -> None:
        start = self.edit.text().strip() or default_output_dir()
        path = QFileDialog.getExistingDirectory(self, "Output folder", start)
        if path:
            self.edit.setText(path)


class _PrimeEdit(QWidget):
    """The prime setting: first | silence | a file (one of the list, or any other)."""

    def __init__(self, tip: str) -> None:
        super().__init__()
        self.kind = QComboBox()
        for key, text in START_FROM:
            self.kind.addItem(text, key)
        self.file = QComboBox()
        self.file.setObjectName("startFileCombo")
        self.file.setToolTip("The file the generated audio continues (its last receptive field primes it).")
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose another audio file")
        browse.clicked.connect(self._browse)
        self._browse_button = browse
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.kind)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.kind.setToolTip(tip)
        self.kind.currentIndexChanged.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        on = self.kind.currentData() == "file"
        self.file.setEnabled(on)
        self._browse_button.setEnabled(on)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Continue which audio file?", "",
                                              "Audio files (*.wav *.flac *.ogg *.aiff *.aif);;All files (*)")
        if path:
            self._add_file(path)
            self.file.setCurrentIndex(self.file.findData(path))

    def _add_file(self, path: str) -> None:
        if self.file.findData(path) < 0:
            self.file.addItem(Path(path).name, path)
            self.file.setItemData(self.file.count() - 1, path, Qt.ItemDataRole.ToolTipRole)

    def set_files(self, paths: list[str]) -> None:
        current = self.file.currentData()
        self.file.blockSignals(True)
        self.file.clear()
        for p in paths:
            self._add_file(str(p))
        if current and self.file.findData(current) < 0 and Path(str(current)).is_file():
            self._add_file(str(current))
        self.file.setCurrentIndex(max(self.file.findData(current), 0))
        self.file.blockSignals(False)

    def value(self) -> str:
        kind = self.kind.currentData()
        if kind != "file":
            return kind
        return self.file.currentData() or ""

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if text in ("first", "silence", "input"):
            self.kind.setCurrentIndex(self.kind.findData("first" if text == "input" else text))
            return
        self.kind.setCurrentIndex(self.kind.findData("file"))
        if text:
            self._add_file(text)
            self.file.setCurrentIndex(self.file.findData(text))


# ==================================================================================================
class SettingsForm(QWidget):
    """A form over some groups of the settings table.

    ``changed`` is emitted when the user edits a field (not when :meth:`set_values` fills it).
    """

    changed = Signal()
    GROUP = ""  # the QSettings group
    GROUPS: tuple[tuple[str, str], ...] = ()  # (settings group, box title)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._loading = False
        self._extra_errors: dict[str, str] = {}

    # -- building ------------------------------------------------------
    def _widget(self, s: Setting) -> QWidget:
        w: QWidget
        if s.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(self._emit_changed)
        elif s.kind == "choice":
            w = QComboBox()
            for value, text in s.choices:
                w.addItem(text, value)
            w.currentIndexChanged.connect(self._emit_changed)
        elif s.widget == "folder":
            w = _FolderEdit(s.help)
            w.edit.textChanged.connect(self._emit_changed)
        elif s.widget == "prime":
            w = _PrimeEdit(s.help)
            w.kind.currentIndexChanged.connect(self._emit_changed)
            w.file.currentIndexChanged.connect(self._emit_changed)
        elif s.name == "device":
            w = QComboBox()
            w.addItem("cpu", "cpu")
            w.currentIndexChanged.connect(self._emit_changed)
        elif s.kind == "int":
            w = QSpinBox()
            lo = int(s.minimum if s.minimum is not None else 0)
            if s.optional:
                lo -= 1  # the special value ("random")
                w.setSpecialValueText(s.special)
            elif s.special:
                w.setSpecialValueText(s.special)
            w.setRange(lo, int(s.maximum if s.maximum is not None else 2**31 - 1))
            w.setSingleStep(int(s.step or 1))
            if s.unit:
                w.setSuffix(f" {s.unit}" if s.unit in ("Hz",) else "")
            w.setAccelerated(True)
            w.valueChanged.connect(self._emit_changed)
        elif s.kind == "float" and s.widget != "line":
            w = QDoubleSpinBox()
            scale = 100.0 if s.percent else 1.0
            low = (s.minimum or 0.0) * scale
            if s.minimum_exclusive:
                low += 10.0 ** -max(s.decimals, 0)
            w.setDecimals(s.decimals)
            w.setRange(low, (s.maximum if s.maximum is not None else 1e9) * scale)
            w.setSingleStep((s.step or 1.0) * scale)
            w.setSuffix(" %" if s.percent else (f" {s.unit}" if s.unit else ""))
            w.valueChanged.connect(self._emit_changed)
        else:  # numbers typed as text (1e-3), optional numbers ("none")
            w = QLineEdit()
            w.setPlaceholderText(s.special or (f"e.g. {_format_float(s.default)}" if s.default is not None else ""))
            w.textChanged.connect(self._emit_changed)
        return w

    def _add(self, layout: QFormLayout, s: Setting) -> None:
        w = self._widget(s)
        w.setObjectName(s.name)
        tip = s.help + (f" ({s.unit})" if s.unit and s.unit != "Hz" else "")
        w.setToolTip(tip)
        box, err = _field_row(w)
        err.setObjectName(f"{s.name}Error")
        label = QLabel(s.label)
        label.setToolTip(tip)
        label.setBuddy(w)
        layout.addRow(label, box)
        self.widgets[s.name] = w
        self.errors[s.name] = err

    def _build_groups(self, outer: QVBoxLayout) -> dict[str, QFormLayout]:
        layouts = {}
        for group, title in self.GROUPS:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for s in SETTINGS.values():
                if s.group == group:
                    self._add(form, s)
            outer.addWidget(box)
            layouts[group] = form
        return layouts

    def _emit_changed(self, *_: object) -> None:
        if not self._loading:
            self.changed.emit()

    # -- values <-> widgets -------------------------------------------
    def _get(self, name: str) -> Any:
        w = self.widgets[name]
        s = SETTINGS[name]
        if isinstance(w, _PrimeEdit):
            return w.value()
        if isinstance(w, _FolderEdit):
            return w.edit.text().strip()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            data = w.currentData()
            return data if data is not None else w.currentText()
        if isinstance(w, QSpinBox):
            v = w.value()
            return None if s.optional and v < (s.minimum or 0) else v
        if isinstance(w, QDoubleSpinBox):
            return w.value() / 100.0 if s.percent else w.value()
        if isinstance(w, QLineEdit):
            return w.text().strip()
        raise TypeError(name)

    def _set(self, name: str, value: Any) -> None:
        w = self.widgets[name]
        s = SETTINGS[name]
        if isinstance(w, _PrimeEdit):
            w.set_value(value)
        elif isinstance(w, _FolderEdit):
            w.edit.setText("" if value is None else str(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value) and str(value).lower() not in ("false", "0"))
        elif isinstance(w, QComboBox):
            i = w.findData(value)
            if i < 0:
                i = w.findText(str(value))
            if i < 0 and value not in (None, ""):
                w.addItem(str(value), str(value))
                i = w.count() - 1
            w.setCurrentIndex(max(i, 0))
        elif isinstance(w, QSpinBox):
            if value is None or value == "":
                w.setValue(w.minimum())
            else:
                w.setValue(int(float(value)))
        elif isinstance(w, QDoubleSpinBox):
            w.setValue(float(value) * (100.0 if s.percent else 1.0))
        elif isinstance(w, QLineEdit):
            w.setText("" if value is None else (_format_float(value) if isinstance(value, float) else str(value)))

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill in the fields named in ``values`` (setting names); others are left alone."""
        self._loading = True
        try:
            for key, value in values.items():
                if key in self.widgets:
                    self._set(key, value)
        finally:
            self._loading = False
        self.changed.emit()

    def raw_values(self) -> dict[str, Any]:
        """What the fields hold, by setting name (text where typed; checked when used)."""
        return {key: self._get(key) for key in self.widgets}

    def values(self) -> dict[str, Any]:
        """The checked values (raises ConfigError on the first invalid one)."""
        return config.validate(self.raw_values())

    # -- errors --------------------------------------------------------
    def check(self) -> dict[str, str]:
        """Show the reason under every invalid field; return them by name."""
        errors = {**config.errors(self.raw_values()), **self._extra_errors}
        for key, label in self.errors.items():
            msg = errors.get(key, "")
            label.setText(msg)
            label.setVisible(bool(msg))
        return errors

    @property
    def is_valid(self) -> bool:
        return not self.check()

    # -- persistence -----------------------------------------------------
    def defaults(self) -> dict[str, Any]:
        return {name: SETTINGS[name].default for name in self.widgets}

    def reset_defaults(self) -> None:
        self.set_values(self.defaults())

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(self.GROUP)
        for key, value in self.raw_values().items():
            settings.setValue(key, "" if value is None else value)
        settings.endGroup()

    def load_settings(self, settings: QSettings) -> bool:
        """Fill the fields from ``settings``; True if any was stored there."""
        values = self.defaults()
        settings.beginGroup(self.GROUP)
        stored = False
        for key in self.widgets:
            if settings.contains(key):
                values[key] = settings.value(key)
                stored = True
        settings.endGroup()
        try:
            self.set_values(values)
        except (TypeError, ValueError):  # a corrupt settings file: fall back to defaults
            self.reset_defaults()
        return stored


# ==================================================================================================
class TrainingForm(SettingsForm):
    """The preset, the model and training settings, the output folder, and what they make."""

    GROUP = "training"
    GROUPS = (("model", "Model"), ("training", "Training"), ("output", "Output"))
    preset_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingForm")
        self._clip_seconds: list[float] = []
        #: The preset last applied and the values it gave (for the files listed then); None once
        #: the user edits a field.  Imitate's values follow the clips' durations: after files are
        #: removed the fields still hold what it gave, which is not "Custom".
        self.applied_preset: tuple[str, dict[str, Any]] | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        top = QFormLayout()
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        for name, preset in PRESETS.items():
            self.preset_combo.addItem(preset.label, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, preset.description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.addItem("Custom", CUSTOM)
        self.preset_combo.setToolTip("A preset fills in the settings below for the files in the list; "
                                     "you can still change every field.")
        self.preset_combo.activated.connect(self._on_preset_activated)
        self.preset_label = QLabel()
        self.preset_label.setObjectName("presetDescription")
        self.preset_label.setWordWrap(True)
        top.addRow("Preset", self.preset_combo)
        top.addRow("", self.preset_label)
        outer.addLayout(top)

        layouts = self._build_groups(outer)
        self.receptive_label = QLabel("…")
        self.receptive_label.setObjectName("receptiveFieldLabel")
        self.receptive_label.setToolTip("How many past samples one prediction sees.")
        self.params_label = QLabel("…")
        self.params_label.setObjectName("parameterCountLabel")
        for lab in (self.receptive_label, self.params_label):  # long texts wrap instead of widening the panel
            lab.setWordWrap(True)
        layouts["model"].addRow("Receptive field", self.receptive_label)
        layouts["model"].addRow("Parameters", self.params_label)

        self.model_note = QLabel()
        self.model_note.setObjectName("modelMismatch")
        self.model_note.setStyleSheet(WARNING_STYLE)
        self.model_note.setWordWrap(True)
        self.model_note.hide()
        outer.insertWidget(1, self.model_note)

        reset = QPushButton("Reset to defaults")
        reset.setObjectName("resetTrainingButton")
        reset.setToolTip("The preset that suits the files in the list")
        reset.clicked.connect(lambda: self.preset_chosen.emit(""))
        outer.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        outer.addStretch(1)
        self.changed.connect(self.check)
        self._loading = True
        super().reset_defaults()
        self._set("output_dir", default_output_dir())
        self._loading = False
        self.check()

    def defaults(self) -> dict[str, Any]:
        values = super().defaults()
        values["output_dir"] = default_output_dir()
        return values

    # -- presets ---------------------------------------------------------
    def _on_preset_activated(self, _index: int) -> None:
        name = self.preset_combo.currentData()
        if name != CUSTOM:
            self.preset_chosen.emit(name)

    def show_preset(self, name: str) -> None:
        """Show ``name`` as the chosen preset (``"custom"`` when the fields differ from every preset)."""
        i = self.preset_combo.findData(name)
        self.preset_combo.setCurrentIndex(i if i >= 0 else self.preset_combo.findData(CUSTOM))
        preset = PRESETS.get(name)
        text = preset.description if preset else "Your own settings."
        if preset is not None and not self._holds(config.preset_values(name, clip_seconds=self._clip_seconds)):
            text += (" Its values were set for the files listed when it was chosen: choose it again to fit "
                     "the files listed now.")
        self.preset_label.setText(text)

    def _holds(self, wanted: dict[str, Any]) -> bool:
        """Whether the fields hold ``wanted``'s values (those the form shows)."""
        try:
            current = config.validate(self.raw_values())
        except Exception:  # noqa: BLE001 - invalid fields match no preset
            return False
        return all(current.get(k) == v for k, v in wanted.items() if k in self.widgets)

    def matching_preset(self) -> str:
        """The preset whose values the fields hold for the current files, or the one last applied
        if no field was edited since (its values were for the files listed then), else ``"custom"``."""
        for name in PRESETS:
            if self._holds(config.preset_values(name, clip_seconds=self._clip_seconds)):
                return name
        if self.applied_preset is not None and self._holds(self.applied_preset[1]):
            return self.applied_preset[0]
        return CUSTOM

    # -- the world around the form -----------------------------------
    def set_devices(self, devices: list[str]) -> None:
        combo = cast(QComboBox, self.widgets["device"])  # made by _widget
        current = self._get("device")
        self._loading = True
        combo.clear()
        for d in devices:
            combo.addItem(d, d)
        self._loading = False
        self._set("device", current if current in devices else (devices[0] if devices else "cpu"))

    def set_clip_seconds(self, seconds: list[float]) -> None:
        """The durations of the files in the list, after trimming (the presets use them)."""
        self._clip_seconds = list(seconds)
        self.check()

    def set_model_mismatch(self, names: list[str], model_text: str = "") -> None:
        """Say which settings differ from the current model's (none: say nothing)."""
        if names:
            labels = ", ".join(SETTINGS[n].label.lower() for n in names)
            self.model_note.setText(f"These settings differ from the current model's ({labels}): "
                                    f"Train will ask before starting a new model{model_text}.")
        self.model_note.setVisible(bool(names))

    # -- checks ------------------------------------------------------------
    def check(self) -> dict[str, str]:
        raw = self.raw_values()
        errors = config.errors(raw)
        if not raw.get("output_dir"):
            errors["output_dir"] = "Choose a folder for the generated audio."
        elif Path(str(raw["output_dir"])).expanduser().is_file():
            errors["output_dir"] = f"{Path(str(raw['output_dir'])).name} is a file, not a folder."
        self._extra_errors = {k: v for k, v in errors.items() if k == "output_dir"}
        errors = super().check()
        model_ok = not any(k in errors for k in config.MODEL_SETTINGS)
        rf = None
        if model_ok:
            values = config.validate(raw, names=config.MODEL_SETTINGS)
            rf = config.receptive_field(values)
            self.receptive_label.setText(f"{rf:,} samples ({rf / values['sample_rate']:.3f} s)")
            self.params_label.setText(f"{config.parameter_count(values):,}")
        else:
            self.receptive_label.setText("—")
            self.params_label.setText("—")
        # no "files too short" check: clips shorter than a training window are trained on
        # (every sample of every file is a target)
        return errors

    @property
    def is_valid(self) -> bool:
        return not self.check()


# ==================================================================================================
class GenerationForm(SettingsForm):
    """What to generate: length, temperature, seed, variations, the start and the weights."""

    GROUP = "generation"
    GROUPS = (("generation", "Generation"),)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generationForm")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._build_groups(outer)
        reset = QPushButton("Reset to defaults")
        reset.setObjectName("resetGenerationButton")
        reset.clicked.connect(self.reset_defaults)
        outer.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        outer.addStretch(1)
        self.changed.connect(self.check)
        self.reset_defaults()

    @property
    def file_combo(self) -> QComboBox:
        return cast(_PrimeEdit, self.widgets["prime"]).file

    def set_files(self, paths: Sequence[str | Path]) -> None:
        """The files in the list, offered as what the generated audio continues."""
        cast(_PrimeEdit, self.widgets["prime"]).set_files([str(p) for p in paths])

    def check(self) -> dict[str, str]:
        raw = self.raw_values()
        prime = raw.get("prime")
        self._extra_errors = {}
        if prime == "":
            self._extra_errors["prime"] = "Choose the file to continue."
        elif prime not in ("first", "silence") and not Path(str(prime)).is_file():
            self._extra_errors["prime"] = f"{Path(str(prime)).name} does not exist."
        return super().check()


"""The hyperparameter and generation forms.

Forms import nothing heavy: the defaults below mirror ``WaveNetConfig`` and
``TrainingConfig`` (a test keeps them in step) and the receptive field and
parameter count come from the core once the window has loaded it in the
background (:meth:`TrainingForm.set_core`).  Each field has an error line under
it where the reason for an invalid value is shown (the core's
``ConfigError`` message for the model settings).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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

ERROR_STYLE = "color: #b00020;"

MODEL_FIELDS = ("sample_rate", "quantization", "n_channels", "n_dilations", "n_blocks", "n_hidden", "n_skip")
TRAINING_FIELDS = ("learning_rate", "target_loss", "train_iterations", "target_length", "batch_size", "holdout",
                   "device", "seed", "save_weights", "output_dir")


def default_output_dir() -> str:
    music = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
    base = Path(music) if music else Path.home()
    return str(base / "wavenet-gui")


#: Form defaults: the core dataclasses' defaults (``WaveNetConfig()``, ``TrainingConfig()``).  The core
#: imports torch, which the window loads only after it shows, so they are copied here and
#: tests/test_qt_launch.py::test_form_defaults_match_the_core keeps the copy in step.
TRAINING_DEFAULTS: dict[str, Any] = {
    "sample_rate": 8000,
    "quantization": "mu_law",
    "n_channels": 256,
    "n_dilations": 10,
    "n_blocks": 2,
    "n_hidden": 32,
    "n_skip": 128,
    "learning_rate": 3e-3,
    "target_loss": None,
    "train_iterations": 1000,
    "target_length": 2048,
    "batch_size": 4,
    "holdout": 0.0,
    "device": "cpu",
    "seed": 0,
    "save_weights": False,
    "output_dir": None,  # default_output_dir()
}

GENERATION_DEFAULTS: dict[str, Any] = {
    "length_s": 2.0,
    "temperature": 1.0,
    "seed": -1,  # random
    "n_streams": 1,
    "start_from": "input",  # "input" | "file" | "silence"
    "weight_format": "float32",  # "float32" (exact) | "bfloat16" (16-bit weights, faster on big models)
}

WEIGHT_FORMATS = (("float32", "float32 (exact)"), ("bfloat16", "bfloat16 (faster, big models)"))

START_FROM = (("input", "First sample of the input"), ("file", "Start of a file"), ("silence", "Silence"))


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


def _spin(lo: int, hi: int, *, suffix: str = "", step: int = 1) -> QSpinBox:
    w = QSpinBox()
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setSuffix(suffix)
    w.setKeyboardTracking(True)
    w.setAccelerated(True)
    return w


class _BaseForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._loading = False

    def _add(self, layout: QFormLayout, key: str, label: str, widget: QWidget, tip: str) -> None:
        widget.setObjectName(key)
        widget.setToolTip(tip)
        box, err = _field_row(widget)
        err.setObjectName(f"{key}Error")
        lab = QLabel(label)
        lab.setToolTip(tip)
        lab.setBuddy(widget)
        layout.addRow(lab, box)
        self.widgets[key] = widget
        self.errors[key] = err
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            widget.valueChanged.connect(self._emit_changed)
        elif isinstance(widget, QLineEdit):
            widget.textChanged.connect(self._emit_changed)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(self._emit_changed)
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(self._emit_changed)

    def _emit_changed(self, *_: object) -> None:
        if not self._loading:
            self.changed.emit()

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, label in self.errors.items():
            msg = errors.get(key, "")
            label.setText(msg)
            label.setVisible(bool(msg))

    # -- values <-> widgets -------------------------------------------
    def _get(self, key: str) -> Any:
        w = self.widgets[key]
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            return w.value()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            data = w.currentData()
            return data if data is not None else w.currentText()
        if isinstance(w, QLineEdit):
            return w.text().strip()
        raise TypeError(key)

    def _set(self, key: str, value: Any) -> None:
        w = self.widgets[key]
        if isinstance(w, QSpinBox):
            w.setValue(int(value))
        elif isinstance(w, QDoubleSpinBox):
            w.setValue(float(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value) and str(value).lower() not in ("false", "0"))
        elif isinstance(w, QComboBox):
            i = w.findData(value)
            if i < 0:
                i = w.findText(str(value))
            if i < 0 and value:
                w.addItem(str(value), str(value))
                i = w.count() - 1
            w.setCurrentIndex(max(i, 0))
        elif isinstance(w, QLineEdit):
            w.setText("" if value is None else (_format_float(value) if isinstance(value, float) else str(value)))

    def set_values(self, values: dict[str, Any]) -> None:
        self._loading = True
        try:
            for key, value in values.items():
                if key in self.widgets:
                    self._set(key, value)
        finally:
            self._loading = False
        self.changed.emit()

    def raw_values(self) -> dict[str, Any]:
        return {key: self._get(key) for key in self.widgets}

    # -- persistence -----------------------------------------------------
    GROUP = ""
    DEFAULTS: dict[str, Any] = {}

    def defaults(self) -> dict[str, Any]:
        return dict(self.DEFAULTS)

    def reset_defaults(self) -> None:
        self.set_values(self.defaults())

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(self.GROUP)
        for key, value in self.raw_values().items():
            settings.setValue(key, value)
        settings.endGroup()

    def load_settings(self, settings: QSettings) -> None:
        values = self.defaults()
        settings.beginGroup(self.GROUP)
        for key in self.widgets:
            if settings.contains(key):
                values[key] = settings.value(key)
        settings.endGroup()
        try:
            self.set_values(values)
        except (TypeError, ValueError):  # a corrupt settings file: fall back to defaults
            self.reset_defaults()


class TrainingForm(_BaseForm):
    """Model and training hyperparameters, with the receptive field and parameter count."""

    GROUP = "training"
    DEFAULTS = TRAINING_DEFAULTS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingForm")
        self._core = None  # (WaveNetConfig class, param-count function) once loaded
        self._training_cls = None
        self._longest_input_s: float | None = None
        self._valid = False
        self._model_config = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        model_box = QGroupBox("Model")
        mf = QFormLayout(model_box)
        mf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._add(mf, "sample_rate", "Sample rate", _spin(0, 1_000_000, suffix=" Hz", step=1000),
                  "Audio is resampled to this rate for training; generated audio has this rate.")
        q = QComboBox()
        q.addItem("μ-law (companded)", "mu_law")
        q.addItem("Linear", "linear")
        self._add(mf, "quantization", "Quantization", q,
                  "How samples map to classes: μ-law spends more classes on quiet sounds (as in WaveNet).")
        self._add(mf, "n_channels", "Quantization channels", _spin(0, 1_000_000, step=32),
                  "Number of amplitude classes the model predicts (256 = 8-bit μ-law).")
        self._add(mf, "n_dilations", "Dilations per block", _spin(0, 64),
                  "Layers per block, with dilations 1, 2, 4, ... 2^(n-1).")
        self._add(mf, "n_blocks", "Blocks", _spin(0, 1000), "How many times the dilation pattern repeats.")
        self._add(mf, "n_hidden", "Hidden channels", _spin(0, 100_000, step=8),
                  "Residual channels: the width of each layer.")
        self._add(mf, "n_skip", "Skip channels", _spin(0, 100_000, step=8),
                  "Channels of the skip connections feeding the output layers.")
        self.receptive_label = QLabel("…")
        self.receptive_label.setObjectName("receptiveFieldLabel")
        self.receptive_label.setToolTip("How many past samples one prediction sees.")
        self.params_label = QLabel("…")
        self.params_label.setObjectName("parameterCountLabel")
        for lab in (self.receptive_label, self.params_label):  # long texts wrap instead of widening the panel
            lab.setWordWrap(True)
        mf.addRow("Receptive field", self.receptive_label)
        mf.addRow("Parameters", self.params_label)
        outer.addWidget(model_box)

        train_box = QGroupBox("Training")
        tf = QFormLayout(train_box)
        tf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        lr = QLineEdit()
        lr.setPlaceholderText("e.g. 0.003")
        self._add(tf, "learning_rate", "Learning rate", lr, "Adam step size, a positive number (e.g. 3e-3).")
        tl = QLineEdit()
        tl.setPlaceholderText("none")
        self._add(tf, "target_loss", "Target loss", tl,
                  "Training stops when the smoothed loss falls below this (empty: no target).")
        self._add(tf, "train_iterations", "Iteration limit", _spin(1, 100_000_000, step=100),
                  "Training stops after this many iterations.")
        self._add(tf, "target_length", "Target length", _spin(1, 1_000_000, suffix=" samples", step=256),
                  "Samples scored per training window; a window is the receptive field plus this.")
        self._add(tf, "batch_size", "Batch size", _spin(1, 4096), "Windows per training step.")
        hold = QDoubleSpinBox()
        hold.setRange(0.0, 50.0)
        hold.setDecimals(0)
        hold.setSuffix(" %")
        self._add(tf, "holdout", "Validation share", hold,
                  "Share of each file's end kept aside to compute a validation loss (0: none).")
        dev = QComboBox()
        dev.addItem("cpu", "cpu")
        self._add(tf, "device", "Device", dev, "Where the model trains and generates.")
        self._add(tf, "seed", "Seed", _spin(0, 2**31 - 1), "Random seed for weights and window sampling.")
        self._add(tf, "save_weights", "Save weights", QCheckBox("write checkpoints while training"),
                  "Save a checkpoint in the output folder every so often and at the end.")
        out_edit = QLineEdit()
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the output folder")
        browse.clicked.connect(self._browse_output)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(out_edit, 1)
        rl.addWidget(browse)
        self._add_output(tf, out_edit, row)
        outer.addWidget(train_box)

        self.data_error = QLabel()
        self.data_error.setObjectName("dataError")
        self.data_error.setStyleSheet(ERROR_STYLE)
        self.data_error.setWordWrap(True)
        self.data_error.hide()
        outer.addWidget(self.data_error)

        reset = QPushButton("Reset to defaults")
        reset.setObjectName("resetTrainingButton")
        reset.clicked.connect(self.reset_defaults)
        outer.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        outer.addStretch(1)

        self.changed.connect(self.validate)
        self.reset_defaults()

    def _add_output(self, layout: QFormLayout, edit: QLineEdit, row: QWidget) -> None:
        tip = "Predictions (pred_[time].wav) and checkpoints are written here."
        edit.setObjectName("output_dir")
        edit.setToolTip(tip)
        box, err = _field_row(row)
        err.setObjectName("output_dirError")
        lab = QLabel("Output folder")
        lab.setToolTip(tip)
        lab.setBuddy(edit)
        layout.addRow(lab, box)
        self.widgets["output_dir"] = edit
        self.errors["output_dir"] = err
        edit.textChanged.connect(self._emit_changed)

    def _browse_output(self) -> None:
        start = self._get("output_dir") or default_output_dir()
        path = QFileDialog.getExistingDirectory(self, "Output folder", start)
        if path:
            self._set("output_dir", path)

    def defaults(self) -> dict[str, Any]:
        values = dict(self.DEFAULTS)
        values["output_dir"] = default_output_dir()
        return values

    # -- core hooks ------------------------------------------------------
    def set_core(self, config_cls, count_parameters, training_config_cls=None) -> None:
        """Called once the core is imported: enables live validation with its rules."""
        self._core = (config_cls, count_parameters)
        self._training_cls = training_config_cls
        self.validate()

    def set_devices(self, devices: list[str]) -> None:
        combo: QComboBox = self.widgets["device"]
        current = self._get("device")
        self._loading = True
        combo.clear()
        for d in devices:
            combo.addItem(d, d)
        self._loading = False
        self._set("device", current if current in devices else (devices[0] if devices else "cpu"))

    def set_longest_input(self, seconds: float | None) -> None:
        self._longest_input_s = seconds
        self.validate()

    # -- values ----------------------------------------------------------
    def model_kwargs(self) -> dict[str, Any]:
        v = self.raw_values()
        return {k: v[k] for k in MODEL_FIELDS}

    def _training_values(self) -> tuple[dict[str, Any], dict[str, str]]:
        v = self.raw_values()
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        try:
            lr = float(v["learning_rate"])
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError
            if lr > 1:
                errors["learning_rate"] = f"{lr:g} is too large to train: use a value below 1 (e.g. 1e-3)."
            out["learning_rate"] = lr
        except ValueError:
            errors["learning_rate"] = (f"'{v['learning_rate']}' is not a positive number: "
                                       "enter e.g. 0.001 or 1e-3.")
        if v["target_loss"] in ("", "none", "None"):
            out["target_loss"] = None
        else:
            try:
                tl = float(v["target_loss"])
                if not (math.isfinite(tl) and tl > 0):
                    raise ValueError
                out["target_loss"] = tl
            except ValueError:
                errors["target_loss"] = f"'{v['target_loss']}' is not a positive number: leave empty for none."
        for k in ("train_iterations", "target_length", "batch_size", "seed", "device", "save_weights"):
            out[k] = v[k]
        out["holdout"] = float(v["holdout"]) / 100.0
        out_dir = v["output_dir"]
        if not out_dir:
            errors["output_dir"] = "Choose a folder for the generated audio."
        else:
            p = Path(out_dir).expanduser()
            if p.exists() and not p.is_dir():
                errors["output_dir"] = f"{p.name} is a file, not a folder."
        out["output_dir"] = str(Path(out_dir).expanduser()) if out_dir else None
        return out, errors

    def validate(self) -> bool:
        """Check every field, show the reasons inline, update the summary; return validity."""
        errors: dict[str, str] = {}
        self._model_config = None
        kwargs = self.model_kwargs()
        training, terr = self._training_values()
        errors.update(terr)
        rf = None
        if self._core is not None:
            config_cls, count = self._core
            from wavenet_gui.core.errors import ConfigError

            try:
                cfg = config_cls(**kwargs)
                cfg.validate()
            except ConfigError as exc:
                field = getattr(exc, "field", "")
                key = field if field in self.widgets else "n_dilations"
                errors.setdefault(key, getattr(exc, "reason", str(exc)))
                self.receptive_label.setText("—")
                self.params_label.setText("—")
            else:
                self._model_config = cfg
                rf = cfg.receptive_field
                self.receptive_label.setText(f"{rf:,} samples ({rf / cfg.sample_rate:.3f} s)")
                try:
                    self.params_label.setText(f"{count(cfg):,}")
                except Exception as exc:  # noqa: BLE001 - e.g. too large to build
                    self.params_label.setText(f"— ({exc})")
            if self._training_cls is not None and not terr:
                try:
                    self._training_cls(**training).validate()
                except ConfigError as exc:
                    field = getattr(exc, "field", "")
                    key = field if field in self.widgets else "learning_rate"
                    errors.setdefault(key, getattr(exc, "reason", str(exc)))
                except TypeError:
                    pass
        self.show_errors(errors)
        data_msg = ""  # clips shorter than a training window are trained on (every sample is a target)
        self.data_error.setText(data_msg)
        self.data_error.setVisible(bool(data_msg))
        self._valid = not errors and not data_msg and self._model_config is not None
        return self._valid

    @property
    def is_valid(self) -> bool:
        return self._valid

    @property
    def model_config(self):
        """The validated WaveNetConfig, or None."""
        return self._model_config

    def training_values(self) -> dict[str, Any]:
        """TrainingConfig keyword arguments (only meaningful when :attr:`is_valid`)."""
        return self._training_values()[0]


class GenerationForm(_BaseForm):
    """What to generate: length, temperature, seed, variations and the start."""

    GROUP = "generation"
    DEFAULTS = GENERATION_DEFAULTS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generationForm")
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        length = QDoubleSpinBox()
        length.setRange(0.01, 3600.0)
        length.setDecimals(2)
        length.setSingleStep(0.5)
        length.setSuffix(" s")
        self._add(form, "length_s", "Length", length, "Seconds of audio to generate.")
        temp = QDoubleSpinBox()
        temp.setRange(0.0, 5.0)
        temp.setDecimals(2)
        temp.setSingleStep(0.05)
        self._add(form, "temperature", "Temperature", temp,
                  "1 samples the model's distribution; lower is more conservative; 0 always takes the likeliest.")
        seed = _spin(-1, 2**31 - 1)
        seed.setSpecialValueText("random")
        self._add(form, "seed", "Seed", seed, "Same seed, same audio (random: a new seed each time).")
        self._add(form, "n_streams", "Variations", _spin(1, 64),
                  "How many independent sequences to generate at once (batched).")
        start = QComboBox()
        for key, text in START_FROM:
            start.addItem(text, key)
        self._add(form, "start_from", "Start from", start,
                  "What the generator is primed with before it continues on its own.")
        weights = QComboBox()
        for key, text in WEIGHT_FORMATS:
            weights.addItem(text, key)
        self._add(form, "weight_format", "Weights", weights,
                  "How the generator stores the weights. float32 computes exactly what the model defines; "
                  "bfloat16 stores them in 16 bits (computed in float32): up to 40% faster on big models, "
                  "logits within about 1% (so the same seed can give different audio).")
        self.file_combo = QComboBox()
        self.file_combo.setObjectName("startFileCombo")
        self.file_combo.setToolTip("The file whose beginning primes the generator.")
        self.file_combo.currentIndexChanged.connect(self._emit_changed)
        form.addRow("File", self.file_combo)
        reset = QPushButton("Reset to defaults")
        reset.setObjectName("resetGenerationButton")
        reset.clicked.connect(self.reset_defaults)
        form.addRow("", reset)
        self.changed.connect(self._sync)
        self.reset_defaults()

    def _sync(self) -> None:
        self.file_combo.setEnabled(self._get("start_from") == "file")

    def set_files(self, paths: list[Path]) -> None:
        current = self.file_combo.currentData()
        self.file_combo.blockSignals(True)
        self.file_combo.clear()
        for p in paths:
            self.file_combo.addItem(Path(p).name, str(p))
        i = self.file_combo.findData(current)
        self.file_combo.setCurrentIndex(max(i, 0))
        self.file_combo.blockSignals(False)

    def values(self) -> dict[str, Any]:
        v = self.raw_values()
        v["seed"] = None if v["seed"] < 0 else int(v["seed"])
        v["start_file"] = self.file_combo.currentData()
        return v

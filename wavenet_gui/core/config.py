"""Every setting, defined once: its default, bounds, unit and help text.

One table, :data:`SETTINGS`, drives everything that handles a setting:

* validation: :func:`check` (a typed value), :func:`parse` (text from a form, a
  settings file or the command line), :func:`validate` and :func:`errors` (a whole
  set of values);
* the command line: :func:`add_arguments` makes ``wavenet-cli``'s flags (the name of
  a setting is its flag without ``--``) with their help and defaults;
* the window's form (``wavenet_gui.qt.forms``): one widget per setting, with its
  range, unit and tooltip;
* the model and training dataclasses, whose defaults and checks come from here
  (:class:`~wavenet_gui.core.model.WaveNetConfig`,
  :class:`~wavenet_gui.core.training.TrainingConfig`).

The table is torch-free, so the window builds and checks its form before PyTorch
has loaded; :func:`receptive_field` and :func:`parameter_count` describe a model
from its settings without building it.

Presets (:mod:`wavenet_gui.core.presets`) are named bundles of values from this
table; :func:`preset_values` turns one into a full set of values for some files.

Examples
--------
>>> SETTINGS["n_hidden"].default
32
>>> check("n_blocks", 0)
Traceback (most recent call last):
...
wavenet_gui.core.errors.ConfigError: n_blocks: must be between 1 and 64 blocks, got 0
>>> parse("learning_rate", "3e-3")
0.003
>>> receptive_field(defaults())
2047
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import MAX_HOLDOUT
from .errors import ConfigError
from .fileio import path_length_problem
from .quantization import MAX_CHANNELS, MIN_CHANNELS, QUANTIZATION_KINDS

__all__ = [
    "GROUPS", "MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "MODEL_SETTINGS", "SETTINGS", "Setting",
    "add_arguments", "check", "defaults", "errors", "parameter_count", "parse", "preset_values",
    "receptive_field", "validate", "values_from_args",
]

#: Sample rates (Hz) a model can be built for; files at any rate are resampled to it.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 192_000
#: The largest seed accepted (what a 32-bit spin box holds).
MAX_SEED = 2**31 - 1
#: The longest audio one generation makes, in seconds (an hour).
MAX_LENGTH_S = 3600.0

#: Groups, in the order the form and ``--help`` show them.
GROUPS = {"model": "model", "training": "training", "generation": "generation", "output": "output"}


@dataclass(frozen=True)
class Setting:
    """One setting: what it is called, what it may be and how it is explained.

    Attributes
    ----------
    name : str
        The key everywhere: the CLI flag without ``--``, the form field, the settings file.
    group : str
        ``"model"`` (a model file carries it), ``"training"``, ``"generation"`` or ``"output"``.
    kind : str
        ``"int"``, ``"float"``, ``"bool"``, ``"choice"`` or ``"text"``.
    default : object
        The value when nothing else is said (``None`` for "unset" where ``optional``).
    label : str
        The form's label.
    help : str
        One or two sentences: the form's tooltip and the CLI's help.
    unit : str
        Shown after numbers ("Hz", "samples", "s").
    minimum, maximum : float, optional
        Inclusive bounds of numbers (``minimum_exclusive`` makes the lower bound strict).
    choices : tuple of (value, label)
        The allowed values of a ``"choice"`` (labels for the form).
    optional : bool
        ``None`` is allowed (it means "off" / "random"); :attr:`special` names it.
    special : str
        The form's text for the special value (``None``, or 0 for ``n_dilation_channels``).
    step : float
        The form's step for spin boxes.
    percent : bool
        Shown in the form as a percentage (the value stays a fraction).
    widget : str
        A hint for the form: ``"line"`` for numbers typed as text (``1e-3``), ``"folder"``,
        ``"prime"``.
    presettable : bool
        Presets may set it (not so for the output folder, the device, saving).
    cli : bool
        Has a ``wavenet-cli`` flag.
    hint : str
        An example appended to error messages ("e.g. 0.001").
    """

    name: str
    group: str
    kind: str
    default: Any
    label: str
    help: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    choices: tuple[tuple[Any, str], ...] = ()
    optional: bool = False
    special: str = ""
    step: float | None = None
    decimals: int = 0
    percent: bool = False
    widget: str = ""
    presettable: bool = True
    cli: bool = True
    hint: str = ""
    extra_choices: tuple[Any, ...] = field(default=())
    """Values the CLI accepts beyond the form's choices (e.g. ``float16`` weights)."""

    # ------------------------------------------------------------------
    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def allowed(self) -> tuple[Any, ...]:
        return tuple(v for v, _ in self.choices) + tuple(self.extra_choices)

    def _unit(self) -> str:
        return f" {self.unit}" if self.unit else ""

    def _fail(self, reason: str) -> ConfigError:
        return ConfigError(self.name, reason + (f" ({self.hint})" if self.hint else ""))

    def check(self, value: Any) -> Any:
        """``value`` if it is a valid value of this setting (ints as ``int``), else ConfigError."""
        if value is None:
            if self.optional:
                return None
            raise self._fail("needs a value")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise self._fail(f"must be true or false, got {value!r}")
        if self.kind == "choice":
            if value in self.allowed:
                return value
            raise self._fail(f"{value!r} is not one of {', '.join(map(str, self.allowed))}")
        if self.kind == "text":
            if not (isinstance(value, str) and value.strip()):
                raise self._fail("needs a value")
            if self.widget in ("folder", "prime") and value not in ("first", "silence"):
                problem = path_length_problem(value)
                if problem:
                    raise self._fail(problem)
            return value
        number = self._number(value)
        lo, hi = self.minimum, self.maximum
        too_low = lo is not None and (number <= lo if self.minimum_exclusive else number < lo)
        too_high = hi is not None and number > hi
        if too_low or too_high:
            shown = _fmt(number, self.kind)
            if self.minimum_exclusive and lo == 0:
                bound = f" no larger than {_fmt(hi, self.kind)}{self._unit()}" if hi is not None else ""
                raise self._fail(f"must be a positive number{bound}, got {shown}")
            if hi is None:
                raise self._fail(f"must be at least {_fmt(lo, self.kind)}{self._unit()}, got {shown}")
            if lo is None:
                raise self._fail(f"must be at most {_fmt(hi, self.kind)}{self._unit()}, got {shown}")
            raise self._fail(f"must be between {_fmt(lo, self.kind)} and {_fmt(hi, self.kind)}"
                             f"{self._unit()}, got {shown}")
        return number

    def _number(self, value: Any) -> int | float:
        if isinstance(value, bool):
            raise self._fail(f"must be a number, got {value!r}")
        if self.kind == "int":
            if isinstance(value, int):
                return int(value)
            if hasattr(value, "__index__") and not isinstance(value, float):  # numpy integers
                return int(value.__index__())
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise self._fail(f"must be a whole number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._fail(f"must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise self._fail(f"must be a finite number, got {value!r}")
        return number

    def parse(self, raw: Any) -> Any:
        """Turn text (a form field, a settings file, a flag) into a value, then :meth:`check` it.

        Typed values pass through; ``""``/``"none"`` mean ``None`` where that is allowed.
        """
        if isinstance(raw, str):
            text = raw.strip()
            if self.optional and text.lower() in ("", "none", "random", "off"):
                return None
            if self.kind == "bool":
                low = text.lower()
                if low in ("1", "true", "yes", "on", "y", "t"):
                    return True
                if low in ("0", "false", "no", "off", "n", "f"):
                    return False
                raise self._fail(f"expected true or false, got {raw!r}")
            if self.kind == "int":
                try:
                    return self.check(int(text.replace(",", "").replace("_", "")))
                except ValueError:
                    try:
                        number = float(text)
                    except ValueError:
                        raise self._fail(f"{raw!r} is not a whole number") from None
                    return self.check(number)
            if self.kind == "float":
                try:
                    number = float(text)
                except ValueError:
                    raise self._fail(f"{raw!r} is not a number") from None
                return self.check(number)
            if self.kind == "choice":
                return self.check(text)
            return self.check(text)
        return self.check(raw)


def _fmt(x: float | None, kind: str) -> str:
    if x is None:
        return "?"
    if kind == "int" or float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}" if abs(x) >= 10_000 else f"{int(x)}"
    return f"{x:g}"


# ------------------------------------------------------------------------------------------ the table
_MODEL = (
    Setting("sample_rate", "model", "int", 8000, "Sample rate",
            "Audio is resampled to this rate for training; the generated audio has this rate.",
            unit="Hz", minimum=MIN_SAMPLE_RATE, maximum=MAX_SAMPLE_RATE, step=1000),
    Setting("quantization", "model", "choice", "mu_law", "Quantization",
            "How samples map to classes: μ-law spends more classes on quiet sounds (as in WaveNet).",
            choices=(("mu_law", "μ-law (companded)"), ("linear", "Linear"))),
    Setting("n_channels", "model", "int", 256, "Quantization classes",
            "Number of amplitude classes the model predicts (256 = 8-bit μ-law).",
            unit="classes", minimum=MIN_CHANNELS, maximum=MAX_CHANNELS, step=32),
    Setting("n_dilations", "model", "int", 10, "Dilations per block",
            "Layers per block, with dilations 1, 2, 4, ... 2^(n-1).",
            unit="layers", minimum=1, maximum=20),
    Setting("n_blocks", "model", "int", 2, "Blocks", "How many times the dilation pattern repeats.",
            unit="blocks", minimum=1, maximum=64),
    Setting("n_hidden", "model", "int", 32, "Residual channels",
            "The width of the signal passed from layer to layer.",
            unit="channels", minimum=1, maximum=4096, step=8),
    Setting("n_dilation_channels", "model", "int", 0, "Gate channels",
            "Channels of each layer's gated activation; 0 means the same as the residual channels.",
            unit="channels", minimum=0, maximum=4096, step=8, special="same as residual"),
    Setting("n_skip", "model", "int", 128, "Skip channels",
            "Every layer adds its output to the skip sum, which feeds the output layers.",
            unit="channels", minimum=1, maximum=4096, step=8),
    Setting("n_end", "model", "int", 128, "End channels",
            "Channels of the hidden layer between the skip sum and the class probabilities.",
            unit="channels", minimum=1, maximum=4096, step=8),
    Setting("bias", "model", "bool", True, "Biases", "Whether the convolutions carry biases."),
)

_TRAINING = (
    Setting("learning_rate", "training", "float", 3e-3, "Learning rate",
            "Adam's step size (3e-3 learns the example clip within two minutes; lower it for big models).",
            minimum=0.0, minimum_exclusive=True, maximum=1.0, widget="line", hint="e.g. 0.001 or 1e-3"),
    Setting("lr_warmup", "training", "int", 0, "Warm-up",
            "Iterations over which the learning rate rises from a small value to the learning rate (0: none).",
            unit="iterations", minimum=0, maximum=100_000_000, step=10),
    Setting("lr_schedule", "training", "choice", "constant", "Schedule",
            "After the warm-up the learning rate stays constant, or decays along a cosine to the final "
            "learning rate by the last iteration of the run.",
            choices=(("constant", "Constant"), ("cosine", "Cosine decay"))),
    Setting("lr_floor", "training", "float", 0.05, "Final learning rate",
            "Where the cosine decay ends, as a share of the learning rate.",
            minimum=0.0, maximum=1.0, percent=True, decimals=0, step=0.05),
    Setting("silence_threshold", "training", "float", 0.01, "Silence threshold",
            "Leading and trailing sound quieter than this RMS level (a share of full scale: 0.01 is "
            "-40 dBFS) is trimmed from every file before training; 0 keeps everything.",
            minimum=0.0, maximum=0.5, step=0.005, decimals=3),
    Setting("target_loss", "training", "float", None, "Target loss",
            "Stop when the mean loss of the last 20 iterations reaches this (empty: no target).",
            unit="nats", minimum=0.0, optional=True, special="none", widget="line"),
    Setting("train_iterations", "training", "int", 1000, "Iteration limit",
            "Stop after this many iterations (in this run; continuing adds them to the count).",
            unit="iterations", minimum=1, maximum=100_000_000, step=100),
    Setting("batch_size", "training", "int", 4, "Batch size", "Windows per training step.",
            unit="windows", minimum=1, maximum=4096),
    Setting("target_length", "training", "int", 2048, "Target length",
            "Samples scored per training window; a window is the receptive field plus this.",
            unit="samples", minimum=1, maximum=1_000_000, step=256),
    Setting("holdout", "training", "float", 0.0, "Validation share",
            "Share of each file's end kept out of training to compute a validation loss (0: none).",
            minimum=0.0, maximum=MAX_HOLDOUT, percent=True, decimals=0, step=0.05),
    Setting("train_seed", "training", "int", 0, "Training seed",
            "Seeds the initial weights and the order of the training windows.",
            minimum=0, maximum=MAX_SEED),
    Setting("checkpoint_every", "training", "int", 100, "Checkpoint every",
            "Iterations between checkpoints while saving weights (and one at the end).",
            unit="iterations", minimum=1, maximum=100_000_000, step=100),
    Setting("save_weights", "training", "bool", False, "Save weights",
            "Write checkpoints (model.safetensors) to the output folder while training.",
            presettable=False),
    Setting("device", "training", "text", "cpu", "Device",
            "Where the model trains and generates: cpu, cuda, mps or auto (CUDA, then MPS, then the CPU).",
            presettable=False),
    # scale (issue 15): training arithmetic (core/devices.py: precision_plan)
    Setting("precision", "training", "choice", "auto", "Precision",
            "Training arithmetic. auto: bfloat16 on GPUs that have it (else float16 with a gradient scaler) "
            "and on CPUs with native bfloat16, else float32. float16 needs CUDA.",
            choices=(("auto", "auto"), ("float32", "float32"), ("bfloat16", "bfloat16")),
            extra_choices=("float16",), presettable=False),
)

_GENERATION = (
    Setting("length", "generation", "float", 2.0, "Length", "Seconds of audio to generate.",
            unit="s", minimum=0.0, minimum_exclusive=True, maximum=MAX_LENGTH_S, step=0.5, decimals=2),
    Setting("temperature", "generation", "float", 1.0, "Temperature",
            "1 samples the model's distribution; lower is more conservative; 0 always takes the likeliest.",
            minimum=0.0, maximum=10.0, step=0.05, decimals=2),
    Setting("top_k", "generation", "int", 0, "Top-k",
            "Sample only among this many likeliest values at each step (0: all). 1 is the same as temperature 0.",
            minimum=0, maximum=MAX_CHANNELS, special="all"),
    Setting("top_p", "generation", "float", 1.0, "Top-p",
            "Sample only among the likeliest values that together hold this share of the probability "
            "(nucleus sampling; 1: all). Lower keeps the output closer to what the model is sure of.",
            minimum=0.0, minimum_exclusive=True, maximum=1.0, step=0.05, decimals=2),
    Setting("seed", "generation", "int", None, "Seed", "Same seed, same audio (random: a new seed each time).",
            minimum=0, maximum=MAX_SEED, optional=True, special="random"),
    Setting("variations", "generation", "int", 1, "Variations",
            "How many independent sequences to generate at once (each saved as pred_…_v1, _v2, …).",
            minimum=1, maximum=64),
    Setting("prime", "generation", "text", "first", "Start from",
            "What the generator starts from: the first sample of the first file (first), silence, or an "
            "audio file, which the generated audio continues (its last receptive field primes it).",
            widget="prime"),
    Setting("weight_format", "generation", "choice", "float32", "Weights",
            "How the generator stores the weights. float32 computes exactly what the model defines; "
            "bfloat16 stores them in 16 bits (computed in float32): up to 40% faster on big models, "
            "logits within about 1% (so the same seed can give different audio).",
            choices=(("float32", "float32 (exact)"), ("bfloat16", "bfloat16 (faster, big models)")),
            extra_choices=("float16",)),
)

_OUTPUT = (
    Setting("output_dir", "output", "text", "output", "Output folder",
            "Generated audio (pred_[time].wav) and checkpoints are written here.",
            widget="folder", presettable=False),
    # scale (issue 15): the decoded-audio cache (core/corpus_cache.py)
    Setting("cache_dir", "output", "text", "auto", "Audio cache",
            "Training audio is decoded once into a memory-mapped cache of classes (one byte per sample) in "
            "this folder. auto: the user's cache folder when the files last 10 minutes or more; off: decode "
            "into memory.", widget="folder", presettable=False),
)

#: Every setting by name, in display order.
SETTINGS: dict[str, Setting] = {s.name: s for s in (*_MODEL, *_TRAINING, *_GENERATION, *_OUTPUT)}
#: The settings a model file carries (the fields of ``WaveNetConfig``).
MODEL_SETTINGS: tuple[str, ...] = tuple(s.name for s in _MODEL)
#: Training settings whose ``TrainingConfig`` field has another name.
TRAINING_FIELD_NAMES = {"train_seed": "seed"}
#: Training-group settings that are not ``TrainingConfig`` fields: they shape the files the
#: trainer gets (the Session applies them).
DATA_SETTINGS = ("silence_threshold",)

assert set(QUANTIZATION_KINDS) == set(SETTINGS["quantization"].allowed)


def setting(name: str) -> Setting:
    """The :class:`Setting` called ``name`` (ConfigError when there is none)."""
    try:
        return SETTINGS[name]
    except KeyError:
        raise ConfigError(name, "is not a setting") from None


def default(name: str) -> Any:
    """The default value of setting ``name`` (dataclass fields use it).

    >>> default("batch_size")
    4
    """
    return SETTINGS[name].default


def check(name: str, value: Any) -> Any:
    """Check a typed value of setting ``name``; return it (ints as ``int``) or raise ConfigError."""
    return setting(name).check(value)


def parse(name: str, raw: Any) -> Any:
    """Turn text or a typed value into a checked value of setting ``name`` (raises ConfigError)."""
    return setting(name).parse(raw)


def defaults(groups: Iterable[str] | None = None) -> dict[str, Any]:
    """Every setting's default (or only those of ``groups``).

    >>> defaults(["generation"])["length"]
    2.0
    """
    wanted = set(groups) if groups is not None else None
    return {s.name: s.default for s in SETTINGS.values() if wanted is None or s.group in wanted}


def errors(values: Mapping[str, Any]) -> dict[str, str]:
    """The reason each invalid value is invalid (``{}`` when all are fine); unknown keys are ignored.

    The form shows these next to its fields.
    """
    out: dict[str, str] = {}
    for name, raw in values.items():
        s = SETTINGS.get(name)
        if s is None:
            continue
        try:
            s.parse(raw)
        except ConfigError as exc:
            out[name] = exc.reason
    return out


def validate(values: Mapping[str, Any], *, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Parse and check ``values`` (text or typed); return the checked values of known settings.

    Raises the :class:`ConfigError` of the first invalid one (in table order).  Settings not
    in ``values`` are left out; unknown keys are ignored (a preset from a newer version may
    name settings this table lacks).

    >>> validate({"n_hidden": "48", "learning_rate": 0.01})
    {'n_hidden': 48, 'learning_rate': 0.01}
    """
    wanted = list(SETTINGS) if names is None else list(names)
    out: dict[str, Any] = {}
    for name in wanted:
        if name in values and name in SETTINGS:
            out[name] = SETTINGS[name].parse(values[name])
    return out


def complete(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting: ``values`` (checked) over the defaults."""
    return {**defaults(), **validate(values)}


# ------------------------------------------------------------------------------------------ derived
def dilation_channels(values: Mapping[str, Any]) -> int:
    return int(values.get("n_dilation_channels") or 0) or int(values["n_hidden"])


def receptive_field(values: Mapping[str, Any]) -> int:
    """How many input samples one prediction sees (the current one included).

    >>> receptive_field({"n_dilations": 4, "n_blocks": 2})
    31
    """
    return int(values["n_blocks"]) * (2 ** int(values["n_dilations"]) - 1) + 1


def parameter_count(values: Mapping[str, Any]) -> int:
    """Parameters of the WaveNet these model settings describe (``WaveNet.n_parameters()``).

    >>> parameter_count(defaults())
    246528
    """
    C, R, S, E = (int(values[k]) for k in ("n_channels", "n_hidden", "n_skip", "n_end"))
    D = dilation_channels(values)
    L = int(values["n_dilations"]) * int(values["n_blocks"])
    b = 1 if values.get("bias", True) else 0
    per_layer = 2 * D * R * 2 + S * D + R * D + b * (2 * D + S + R)
    return C * R + L * per_layer + E * S + C * E + b * (E + C)


def model_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``WaveNetConfig`` keyword arguments among ``values``."""
    return {k: values[k] for k in MODEL_SETTINGS if k in values}


def training_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``TrainingConfig`` keyword arguments among ``values`` (``train_seed`` -> ``seed``)."""
    out = {}
    for s in SETTINGS.values():
        if s.group == "training" and s.name in values and s.name not in DATA_SETTINGS:
            out[TRAINING_FIELD_NAMES.get(s.name, s.name)] = values[s.name]
    if "output_dir" in values:
        out["output_dir"] = values["output_dir"]
    return out


# ------------------------------------------------------------------------------------------ presets
def preset_values(name: str, *, clip_seconds: Sequence[float] = ()) -> dict[str, Any]:
    """The values preset ``name`` gives for clips of these durations, over the table's defaults.

    Only presettable settings are returned (never the output folder, the device or saving).
    Settings the preset names that this table does not know are ignored, and so are values
    this table refuses (the default stays).

    >>> preset_values("variations")["n_dilations"]
    10
    """
    from .presets import PRESETS

    try:
        preset = PRESETS[name]
    except KeyError:
        raise ConfigError("preset", f"{name!r} is not one of {', '.join(PRESETS)}") from None
    out = {s.name: s.default for s in SETTINGS.values() if s.presettable}
    for key, value in preset.settings(clip_seconds=list(clip_seconds)).items():
        s = SETTINGS.get(key)
        if s is None or not s.presettable:
            continue
        try:
            out[key] = s.parse(value)
        except ConfigError:
            continue
    return out


# ------------------------------------------------------------------------------------------ argparse
def _arg_type(s: Setting):
    """argparse's ``type``: text to the setting's type only; bounds are checked by :func:`validate`
    later, so that a bad value is reported like every other error (one line, exit status 2)."""
    def convert(text: str) -> Any:
        try:
            if s.kind == "bool" or (s.optional and text.strip().lower() in ("", "none", "random", "off")):
                return s.parse(text)
            if s.kind == "int":
                try:
                    return int(text.replace("_", ""))
                except ValueError:
                    number = float(text)
                    return int(number) if number.is_integer() else number
            if s.kind == "float":
                return float(text)
            return text
        except (ConfigError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if s.kind == 'int' else s.kind}") \
                from None

    convert.__name__ = s.kind  # argparse names it in "invalid <type> value"
    return convert


def add_arguments(parser: argparse.ArgumentParser, *, groups: Mapping[str, Any] | None = None) -> None:
    """Add a flag for every CLI setting (``--name``) to ``parser``, grouped, with help and default.

    ``groups`` maps a setting group to a title, or to an argument group already made.
    Flags left out are absent from the parsed namespace (their default is
    ``argparse.SUPPRESS``), so :func:`values_from_args` can tell a flag given from a default.
    """
    titles = dict(groups or GROUPS)
    made: dict[str, Any] = {}
    for s in SETTINGS.values():
        if not s.cli:
            continue
        group = made.get(s.group)
        if group is None:
            title = titles.get(s.group, s.group)
            group = made[s.group] = title if not isinstance(title, str) else parser.add_argument_group(title)
        shown = s.special if s.default is None and s.special else s.default
        if s.kind == "bool":
            text = f"{s.help} (default {'true' if s.default else 'false'})"
            group.add_argument(s.flag, type=_arg_type(s), nargs="?", const=True, default=argparse.SUPPRESS,
                               metavar="true|false", help=text)
            continue
        text = f"{s.help} (default {shown}{' ' + s.unit if s.unit and s.default is not None else ''})"
        kwargs: dict[str, Any] = dict(default=argparse.SUPPRESS, help=text.replace("%", "%%"))
        if s.kind == "choice":
            kwargs["choices"] = list(s.allowed)
        else:
            kwargs["type"] = _arg_type(s)
            if s.widget == "prime":
                kwargs["metavar"] = "first|silence|FILE"
            elif s.kind in ("int", "float"):
                kwargs["metavar"] = s.unit.upper().replace(" ", "_") or s.kind.upper()
        group.add_argument(s.flag, **kwargs)


def values_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (only those; see :func:`add_arguments`)."""
    return {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}

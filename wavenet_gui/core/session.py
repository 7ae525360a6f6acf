"""The user's open work, without Qt: :class:`Session`.

A session owns what a person works on, and its methods are what they do:

* the audio files (:meth:`Session.add_files`, :meth:`Session.remove_files`), each
  decoded once and kept as compact classes, cached by path, modification time and rate;
* the settings (:attr:`Session.settings`, one value per setting of
  :data:`wavenet_gui.core.config.SETTINGS`; :meth:`Session.apply_preset`);
* the model and ONE long-lived training state (iterations, loss and validation
  history, Adam's moments: :class:`~wavenet_gui.core.trainstate.TrainingState`), which
  :meth:`Session.train` continues and :meth:`Session.save_model` /
  :meth:`Session.load_model` carry to and from a file;
* the generated audio (:attr:`Session.results`) and the output folder
  (:meth:`Session.generate`, :meth:`Session.export`).

:meth:`Session.train` and :meth:`Session.generate` return generators: iterate them to
do the work (in a worker thread, in the window) and read progress from what they
yield; their return value (``StopIteration.value``) is the outcome.  :meth:`Session.stop`
ends either between two steps and keeps what was made.  Changes are announced to
plain callbacks (:meth:`Session.subscribe`) with one word: ``"files"``, ``"settings"``,
``"model"`` or ``"results"``; they may be called from the thread doing the work.

The window (``wavenet_gui.qt.window``) and the CLI (``wavenet_gui.cli``) are views
over a session; every rule about what training or generation does lives here, once:

* continuing a model continues its iteration count, loss history and Adam's moments;
  a model whose settings no longer match the form is replaced only when asked
  (``train(replace=True)``); a new model's weights are seeded with ``train_seed``;
* before a file's first sample the past is silence (the centre class) in training, in
  the model and in the generators; every sample of every file is a training target,
  so files shorter than the receptive field are trained on;
* leading and trailing silence is trimmed from every file (``silence_threshold``; 0
  keeps everything) before training, for the presets' durations and for ``first``;
  a file silent after trimming is refused in one line;
* a clip primes the generator with its last receptive field (the output continues
  the clip); ``first`` primes with the first (non-silent) sample of the first file;
* every generated variation is checked for a collapse into silence, a stuck value or
  noise (:func:`~wavenet_gui.core.checks.check_generation`); what it finds is in
  :attr:`Results.warnings`;
* variations are written as ``pred_[time]_v1.wav``, ``_v2``, ... (one file: no suffix).

Examples
--------
>>> import tempfile
>>> from wavenet_gui.resources import example_clip_path
>>> session = Session({"n_dilations": 4, "n_blocks": 1, "n_hidden": 8, "n_skip": 8, "n_end": 8,
...                    "train_iterations": 3, "target_length": 64, "length": 0.01, "seed": 1,
...                    "output_dir": tempfile.mkdtemp()})
>>> report = session.add_files([example_clip_path()])
>>> outcome = session.run_training()
>>> session.state.iteration, len(session.state.losses)
(3, 3)
>>> session.run_generation().saved[0].name.startswith("pred_")
True
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import config
from .audio import (
    AudioInfo,
    LoadedAudio,
    LoadedClasses,
    audio_info,
    find_audio_files,
    load_audio,
    load_audio_classes,
    save_audio,
)
from .buffer import AudioBuffer
from .data import WindowSampler
from .errors import AudioFileError, Cancelled, ConfigError, WaveNetError
from .fileio import check_writable_dir
from .progress import drain
from .quantization import Quantizer
from .trainstate import TrainingState

if TYPE_CHECKING:  # torch loads when the session first trains, generates or loads a model
    from .corpus_cache import Corpus
    from .distributed import DistributedRun
    from .model import WaveNet
    from .training import Trainer

__all__ = [
    "FilesReport", "GenerationOutcome", "Results", "Session", "TrainOutcome", "available_devices",
    "leave_a_core_free", "load_training_audio", "make_sampler", "prediction_path", "resolve_device",
    "variation_suffix", "write_prediction",
]

PREDICTION_PREFIX = "pred_"
#: Decoded display audio kept (the selected file), as float32 at the file's own rate.
_DISPLAY_CACHE = 2


# ========================================================================================= helpers
def variation_suffix(k: int, n: int) -> str:
    """The file-name suffix of variation ``k`` (from 0) of ``n``: ``""`` alone, else ``"_v{k+1}"``.

    >>> variation_suffix(0, 1), variation_suffix(1, 3)
    ('', '_v2')
    """
    return "" if n <= 1 else f"_v{k + 1}"


def load_training_audio(paths: Iterable[str | Path], *, sample_rate: int, quantizer: Quantizer,
                        min_samples: int = 1, cancel: threading.Event | None = None
                        ) -> tuple[list[np.ndarray], list[LoadedClasses]]:
    """Load, check and quantize every file; raise the first file's :class:`AudioFileError`.

    Each file is decoded block by block straight to classes
    (:func:`~wavenet_gui.core.audio.load_audio_classes`: never held as float).  Returns
    the quantized signals (compact integer arrays) and the loaded files (with their notes
    on what was changed, e.g. "mixed 2 channels to mono").

    Examples
    --------
    >>> from wavenet_gui.resources import example_clip_path
    >>> signals, loaded = load_training_audio([example_clip_path()], sample_rate=8000,
    ...                                       quantizer=Quantizer(n_channels=256))
    >>> signals[0].dtype
    dtype('uint8')
    """
    loaded = [load_audio_classes(path, sample_rate=sample_rate, quantizer=quantizer, min_samples=min_samples,
                                 cancel=cancel) for path in paths]
    if not loaded:
        raise ConfigError("wav", "no audio files were given")
    return [a.classes for a in loaded], loaded


def make_sampler(signals: list[np.ndarray], *, receptive_field: int, target_length: int,
                 holdout: float = 0.0, names: list[str] | None = None, config=None) -> WindowSampler:
    """The sampler a :class:`~wavenet_gui.core.training.Trainer` needs for this model and config.

    With the model's ``config`` (a :class:`~wavenet_gui.core.model.WaveNetConfig`) the sampler
    checks the classes against ``n_channels`` (else 256) and pads with its centre class.
    """
    extra = {}
    if config is not None:
        extra = dict(n_channels=config.n_channels, sample_rate=config.sample_rate)
    return WindowSampler(signals, receptive_field=receptive_field, target_length=target_length,
                         holdout=holdout, names=names, **extra)


def prediction_path(output_dir: str | Path, *, suffix: str = "", when: datetime | None = None) -> Path:
    """``output_dir/pred_YYYYmmdd-HHMMSS{suffix}.wav``, numbered so it never overwrites."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder = Path(output_dir)
    path = folder / f"{PREDICTION_PREFIX}{stamp}{suffix}.wav"
    n = 2
    while path.exists():
        path = folder / f"{PREDICTION_PREFIX}{stamp}{suffix}-{n}.wav"
        n += 1
    return path


def write_prediction(output_dir: str | Path, audio: np.ndarray, *, sample_rate: int,
                     suffix: str = "", when: datetime | None = None) -> Path:
    """Write generated audio as ``pred_[timestamp].wav`` in ``output_dir`` (atomically).

    Raises :class:`~wavenet_gui.core.errors.OutputError` when the folder cannot be written.
    """
    folder = check_writable_dir(output_dir)
    return save_audio(prediction_path(folder, suffix=suffix, when=when),
                      np.asarray(audio, dtype=np.float32).reshape(-1), sample_rate=sample_rate, exclusive=True)


def available_devices() -> list[str]:
    """Devices torch can use here, CPU first (see :func:`wavenet_gui.core.devices.available_devices`)."""
    from .devices import available_devices as present  # scale (issue 15): one place, core/devices.py

    return present()


def resolve_device(name: str):
    """``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` (CUDA, then MPS, then the CPU) as a
    torch device (see :func:`wavenet_gui.core.devices.resolve_device`)."""
    from .devices import resolve_device as resolve  # scale (issue 15)

    return resolve(name)


def leave_a_core_free() -> None:
    """On machines with up to four cores, compute on one core fewer, in this thread.

    torch's OpenMP workers spin after each parallel region; with as many of them as
    cores, a window's UI thread waits for a time slice (measured: 150-300 ms gaps on 2
    cores).  OpenMP's thread count is per calling thread, so call this in the thread
    that trains or generates.  numba's count is set too (it may otherwise reset torch's).
    """
    import torch

    from .warmup import keep_torch_threads

    cores = os.cpu_count() or 1
    if cores > 4:
        return
    if torch.get_num_threads() >= cores:
        torch.set_num_threads(max(1, cores - 1))
    try:
        import numba

        with keep_torch_threads():
            numba.set_num_threads(max(1, min(numba.get_num_threads(), cores - 1)))
    except Exception:  # noqa: BLE001 - numba missing: the torch engines are used
        pass


# ========================================================================================= results
@dataclass(frozen=True)
class FilesReport:
    """What :meth:`Session.add_files` did."""

    added: list[AudioInfo] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """One line per refused file, naming it."""
    notes: list[str] = field(default_factory=list)
    """What was changed on the way in ("tone.wav: resampled ...", "word.wav: trimmed 0.37 s of silence
    at the end"), what was skipped in folders."""
    duplicates: list[str] = field(default_factory=list)
    """Names of files already in the list."""
    same_content: list[str] = field(default_factory=list)
    """One line per file not added because a file in the list has the same bytes."""


@dataclass(frozen=True)
class TrainOutcome:
    """What :meth:`Session.train` returns."""

    result: Any
    """The :class:`~wavenet_gui.core.training.TrainingResult` of this run."""
    new_model: bool
    """Whether this run started a new model (else it continued the session's)."""
    notes: list[str] = field(default_factory=list)
    """Silence trimmed from the files, files not used, a checkpoint that failed, ..."""


@dataclass
class Results:
    """The generated audio: one growing :class:`AudioBuffer` per variation.

    The buffers fill while :meth:`Session.generate` runs (the window plots and plays them
    live) and are complete when it ends.
    """

    buffers: list[AudioBuffer]
    sample_rate: int
    seed: int
    n_samples: int
    """Samples asked for per variation."""
    note: str = ""
    """What the generator started from."""
    cancelled: bool = False
    samples_per_s: float = 0.0
    saved: list[Path] = field(default_factory=list)
    save_error: str = ""
    warnings: list[str] = field(default_factory=list)
    """One line per variation that collapsed into silence, a stuck value or noise, naming
    the variation and what to try (:func:`~wavenet_gui.core.checks.check_generation`)."""

    @property
    def length(self) -> int:
        """Samples made so far (per variation)."""
        return min((b.length for b in self.buffers), default=0)

    def audio(self, variation: int = 0) -> np.ndarray:
        """The samples of one variation (a copy)."""
        return self.buffers[variation].view().copy()


@dataclass(frozen=True)
class GenerationOutcome:
    """What :meth:`Session.generate` returns: the results and where they were written."""

    results: Results

    @property
    def saved(self) -> list[Path]:
        return self.results.saved


@dataclass
class _Decoded:
    classes: np.ndarray
    seconds: float
    notes: list[str]


# ========================================================================================= session
def _same_content(path: Path, others: list[Path]) -> Path | None:
    """The first of ``others`` with exactly the bytes of ``path`` (sizes first, then SHA-256), or None."""
    import hashlib

    def digest(p: Path) -> bytes:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.digest()

    try:
        size = path.stat().st_size
        candidates = [o for o in others if o.exists() and o.stat().st_size == size]
        if not candidates:
            return None
        mine = digest(path)
        for other in candidates:
            if digest(other) == mine:
                return other
    except OSError:
        return None
    return None


#: Generation settings a model file keeps with its training record (``generate_<name>``), so a
#: saved model generates as it was trained to (Imitate: greedy, from silence, the clip's length).
KEPT_GENERATION_SETTINGS = ("length", "temperature", "top_k", "top_p", "prime")


def restored_generation(training: Mapping[str, Any]) -> dict[str, Any]:
    """The generation settings kept in a model file's training record that are valid (others are
    left out: a file is checked, never trusted).

    Examples
    --------
    >>> restored_generation({"generate_temperature": 0.3, "generate_length": -1, "iteration": 5})
    {'temperature': 0.3}
    """
    out: dict[str, Any] = {}
    for name in KEPT_GENERATION_SETTINGS:
        key = f"generate_{name}"
        if key not in training:
            continue
        try:
            value = config.parse(name, training[key])
        except (ConfigError, TypeError, ValueError):
            continue
        if name == "prime" and value not in ("first", "silence"):
            continue
        out[name] = value
    return out


class Session:
    """The user's open work: files, settings, model and training state, results.

    Parameters
    ----------
    settings : mapping, optional
        Values of settings of :data:`~wavenet_gui.core.config.SETTINGS` (text or typed);
        the rest keep their defaults.  Checked when used.
    leave_a_core_free : bool, keyword-only
        Train and generate on one core fewer on machines with up to four cores, so a
        window stays responsive (see :func:`leave_a_core_free`).  The CLI uses every core.
    """

    def __init__(self, settings: Mapping[str, Any] | None = None, *, leave_a_core_free: bool = False) -> None:
        self.settings: dict[str, Any] = config.defaults()
        self.settings.update({k: v for k, v in (settings or {}).items() if k in config.SETTINGS})
        self.leave_a_core_free = bool(leave_a_core_free)
        self._files: tuple[AudioInfo, ...] = ()
        self._decoded: dict[tuple, _Decoded] = {}
        self._display: OrderedDict[tuple, LoadedAudio] = OrderedDict()
        self._lock = threading.RLock()
        self._listeners: list[Callable[[str], None]] = []
        self._cancel = threading.Event()
        self.busy = ""
        """``"training"`` or ``"generation"`` while :meth:`train` or :meth:`generate` runs, else ``""``."""
        self.model: WaveNet | None = None
        """The :class:`~wavenet_gui.core.model.WaveNet`, or None before training or loading one."""
        self.state = TrainingState()
        """The model's training state: iteration count, loss and validation history, Adam's moments."""
        self.unsaved = False
        """Whether the model was trained since it was last saved or loaded."""
        self.model_path: Path | None = None
        """The file the model was last saved to or loaded from."""
        self.results: Results | None = None
        self.backend = "auto"
        self._trainer: Trainer | None = None  # the Trainer while train() runs (for save_recovery)
        #: scale (issue 15): the :class:`~wavenet_gui.core.distributed.DistributedRun` of a torchrun
        #: launch (the CLI sets it): training then uses a DistributedTrainer
        self.distributed: DistributedRun | None = None
        """The generator engine: ``"auto"``, ``"fast"`` (numba) or ``"torch"`` (the reference)."""

    # ------------------------------------------------------------------------------ events
    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(kind)`` after every change: ``"files"``, ``"settings"``, ``"model"``, ``"results"``.

        It may be called from the thread that does the work (a window relays it to its own thread).
        """
        self._listeners.append(callback)

    def _emit(self, kind: str) -> None:
        for callback in list(self._listeners):
            callback(kind)

    # ------------------------------------------------------------------------------ settings
    def update_settings(self, values: Mapping[str, Any], *, announce: bool = False) -> None:
        """Take new (possibly invalid, checked when used) values; unknown names are ignored."""
        self.settings.update({k: v for k, v in values.items() if k in config.SETTINGS})
        if announce:
            self._emit("settings")

    def checked(self, *groups: str) -> dict[str, Any]:
        """The settings of ``groups`` (all when none), checked; raises the first ConfigError."""
        names = [s.name for s in config.SETTINGS.values() if not groups or s.group in groups]
        return config.validate(self.settings, names=names)

    def clip_seconds(self) -> list[float]:
        """The durations of the files in the list (seconds), after trimming their silence.

        Files decoded at the settings' rate (when they were added) give their trimmed
        duration; the others their whole duration (from the header).
        """
        return [kept for kept, _ in self.file_durations()]

    def file_durations(self, *, read: bool = False,
                       cancel: threading.Event | None = None) -> list[tuple[float, float | None]]:
        """Each listed file's ``(seconds used, seconds of silence trimmed)``, in list order.

        The trim follows the ``silence_threshold`` setting as it is now, at the rate files are
        decoded for (the model's, else the settings').  A file not decoded at that rate gives
        its whole duration and None (not known yet), unless ``read``: then it is decoded (and
        cached, as training would) -- slow, for a worker; not for corpora cached on disk.  A
        file that cannot be read or is silent throughout also gives None.

        Examples
        --------
        >>> from wavenet_gui.resources import example_clip_path
        >>> session = Session()
        >>> _ = session.add_files([example_clip_path()])
        >>> kept, trimmed = session.file_durations()[0]
        >>> kept > 0 and trimmed >= 0
        True
        """
        rate, quantizer = self._audio_format()
        read = read and self._corpus_dir() is None
        out: list[tuple[float, float | None]] = []
        for info in self._files:
            trimmed = None
            if rate is not None and quantizer is not None:
                try:
                    decoded = self._cached(info.path, rate, quantizer)
                    if decoded is None and read and not (cancel is not None and cancel.is_set()):
                        decoded = self._decode(info.path, rate, quantizer, cancel)
                    if decoded is not None:
                        trimmed = self._trim(decoded.classes, info.path, rate, quantizer)
                except (WaveNetError, OSError):
                    trimmed = None
            if trimmed is None:
                out.append((float(info.duration), None))
            else:
                out.append((trimmed.duration, trimmed.lead_seconds + trimmed.trail_seconds))
        return out

    def silence_threshold(self) -> float:
        """The ``silence_threshold`` setting, checked (its default while the field is invalid)."""
        try:
            return float(config.parse("silence_threshold", self.settings.get("silence_threshold")))
        except ConfigError:
            return float(config.default("silence_threshold"))

    def _trim(self, classes: np.ndarray, path: str | Path, rate: int, quantizer: Quantizer,
              threshold: float | None = None):
        """A file's classes without their leading and trailing silence (:func:`~.silence.trim_classes`)."""
        from .silence import trim_classes

        return trim_classes(classes, quantizer=quantizer, sample_rate=rate,
                            threshold=self.silence_threshold() if threshold is None else threshold,
                            name=Path(path))

    def suggested_preset(self) -> str:
        """The preset that suits the files in the list (:func:`~wavenet_gui.core.presets.suggest_preset`)."""
        from .presets import suggest_preset

        return suggest_preset(self.clip_seconds())

    def apply_preset(self, name: str | None = None) -> None:
        """Set the values of preset ``name`` (default: the suggested one) for the files in the list."""
        self.update_settings(config.preset_values(name or self.suggested_preset(), clip_seconds=self.clip_seconds()),
                             announce=True)

    def model_config(self):
        """The :class:`~wavenet_gui.core.model.WaveNetConfig` the settings describe (ConfigError if invalid)."""
        from .model import WaveNetConfig

        return WaveNetConfig(**config.model_values(self.checked("model"))).validate()

    def model_mismatch(self) -> list[str]:
        """The model settings in which the settings differ from the current model ([] when none, or no model)."""
        if self.model is None:
            return []
        values = {k: self.settings.get(k) for k in config.MODEL_SETTINGS}
        out = []
        for name in config.MODEL_SETTINGS:
            try:
                value = config.parse(name, values[name])
            except ConfigError:
                out.append(name)
                continue
            if value != getattr(self.model.config, name):
                out.append(name)
        return out

    def _model(self) -> WaveNet:
        """The model, for the verbs that have checked there is one."""
        if self.model is None:
            raise ConfigError("model", "there is no model yet: train or load one first")
        return self.model

    def _sync_settings_to_model(self) -> None:
        cfg = self._model().config
        self.settings.update({name: getattr(cfg, name) for name in config.MODEL_SETTINGS})

    # ------------------------------------------------------------------------------ files
    @property
    def files(self) -> tuple[AudioInfo, ...]:
        """The audio files, in list order."""
        return self._files

    def add_files(self, paths: Iterable[str | Path], *, cancel: threading.Event | None = None,
                  strict: bool = False) -> FilesReport:
        """Add audio files and folders (read recursively) to the list; decode each once.

        Each file is read the way training will read it (at the settings' rate, when they
        are valid), so a file training would refuse is refused now, in one line naming it;
        the rest of the list is not touched.  With ``strict`` (the CLI) the first refusal of a
        file named in ``paths`` is raised instead; files found inside a folder are still skipped
        and reported (:attr:`FilesReport.refused`), and only a list left empty is an error.
        Files already in the list are reported, not added twice.
        """
        rate, quantizer = self._audio_format()
        report = FilesReport()
        found: list[Path] = []
        in_folder: set[Path] = set()  # found inside a folder: refused ones are reported, never raised
        for p in paths:
            p = Path(p)
            try:
                files, skipped = find_audio_files([p])
            except WaveNetError as exc:
                if strict:
                    raise
                report.refused.append(str(exc))
                continue
            found.extend(files)
            if p.is_dir():
                in_folder.update(files)
                report.notes.extend(skipped)
            elif strict and skipped:
                raise AudioFileError(p, "is not an audio file")
            else:
                report.refused.extend(skipped)
        known = {self._key(i.path) for i in self._files}
        listed = [Path(i.path) for i in self._files]
        seconds = sum(float(i.duration) for i in self._files)  # scale (issue 15): see _corpus_dir
        for f in found:
            if cancel is not None and cancel.is_set():
                break
            key = self._key(f)
            if key in known:
                report.duplicates.append(f.name)
                continue
            twin = _same_content(f, listed + [Path(i.path) for i in report.added])
            if twin is not None:
                report.same_content.append(f"{f.name}: the same audio as {twin.name}, which is in the list; "
                                           "not added twice")
                continue
            try:
                info = audio_info(f)
                if info.frames == 0:
                    raise AudioFileError(f, "file holds no audio (zero frames)")
                seconds += float(info.duration)
                # cached corpora decode at training
                if rate is not None and quantizer is not None and self._corpus_dir(seconds) is None:
                    decoded = self._decode(info.path, rate, quantizer, cancel)
                    trimmed = self._trim(decoded.classes, info.path, rate, quantizer)  # silent: refused
                    report.notes.extend(f"{f.name}: {n}" for n in decoded.notes)
                    if trimmed.lead or trimmed.trail or trimmed.note:
                        report.notes.append(f"{f.name}: {trimmed.describe()}")
            except Cancelled:
                break
            except WaveNetError as exc:
                if strict and f not in in_folder:
                    raise
                report.refused.append(str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a case the core missed: still one line naming the file
                if strict and f not in in_folder:
                    raise AudioFileError(f, f"cannot be used ({exc})") from exc
                report.refused.append(f"{f.name}: cannot be used ({exc})")
                continue
            known.add(key)
            report.added.append(info)
        if report.added:
            with self._lock:
                self._files = self._files + tuple(report.added)
            self._emit("files")
        if strict and not self._files:
            where = ", ".join(str(p) for p in paths)
            if report.refused:
                n = len(report.refused)
                raise ConfigError("wav", f"no usable audio file in {where}: {n} refused "
                                         f"({report.refused[0]}{'; ...' if n > 1 else ''})")
            raise ConfigError("wav", "no audio files found in " + where)
        return report

    def remove_files(self, paths: Iterable[str | Path]) -> int:
        """Take files off the list (their cached audio goes too); returns how many."""
        gone = {self._key(p) for p in paths}
        with self._lock:
            kept = tuple(i for i in self._files if self._key(i.path) not in gone)
            removed = len(self._files) - len(kept)
            self._files = kept
            self._decoded = {k: v for k, v in self._decoded.items() if k[0] not in gone}
        if removed:
            self._emit("files")
        return removed

    def display_audio(self, path: str | Path) -> LoadedAudio:
        """A file as mono float32 at its own rate, for a plot or for playing it (cached)."""
        p = Path(path)
        st = p.stat()
        info = audio_info(p)
        key = (self._key(p), st.st_mtime_ns, st.st_size, int(info.sample_rate))
        with self._lock:
            if key in self._display:
                self._display.move_to_end(key)
                return self._display[key]
        loaded = load_audio(p, sample_rate=int(info.sample_rate))
        with self._lock:
            self._display[key] = loaded
            while len(self._display) > _DISPLAY_CACHE:
                self._display.popitem(last=False)
        return loaded

    @staticmethod
    def _key(path: str | Path) -> str:
        return str(Path(path).expanduser().resolve())

    def _audio_format(self) -> tuple[int | None, Quantizer | None]:
        """The rate and quantizer files are decoded for: the model's, else the settings' (None if invalid)."""
        if self.model is not None:
            cfg = self.model.config
            return cfg.sample_rate, cfg.quantizer
        try:
            v = config.validate(self.settings, names=("sample_rate", "n_channels", "quantization"))
            return v["sample_rate"], Quantizer(n_channels=v["n_channels"], kind=v["quantization"])
        except ConfigError:
            return None, None

    def _cached(self, path: str | Path, rate: int, quantizer: Quantizer) -> _Decoded | None:
        """The file's decode at ``rate`` if it is cached (nothing is read)."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            return None
        return self._decoded.get((self._key(p), st.st_mtime_ns, st.st_size, int(rate), quantizer.n_channels,
                                  quantizer.kind))

    def _decode(self, path: str | Path, rate: int, quantizer: Quantizer,
                cancel: threading.Event | None = None) -> _Decoded:
        """The file as compact classes at ``rate``: decoded once, cached by path, mtime, size and rate.

        Decoded block by block straight to classes (the float samples are never held);
        ``cancel`` stops a long read between blocks (:class:`~wavenet_gui.core.errors.Cancelled`).
        """
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            audio_info(p)  # raises the one-line reason (gone, unreadable, ...)
            raise
        key = (self._key(p), st.st_mtime_ns, st.st_size, int(rate), quantizer.n_channels, quantizer.kind)
        hit = self._decoded.get(key)
        if hit is not None:
            return hit
        loaded = load_audio_classes(p, sample_rate=rate, quantizer=quantizer, cancel=cancel)
        decoded = _Decoded(classes=loaded.classes, seconds=loaded.duration, notes=list(loaded.notes))
        with self._lock:
            for k in [k for k in self._decoded if k[0] == key[0] and k[1:3] != key[1:3]]:
                del self._decoded[k]  # the file changed: its older decodes go
            # one decode per rate tried would pile up (one byte per sample each): keep the newest
            # two (switching between two presets' rates reads nothing again)
            for k in [k for k in self._decoded if k[0] == key[0]][:-1]:
                del self._decoded[k]
            self._decoded[key] = decoded
        return decoded

    # ------------------------------------------------------------------------------ model files
    def load_model(self, path: str | Path):
        """Open a model file: its weights, settings and training state become the session's.

        The model settings follow the file (so continuing trains this model).  Returns the
        :class:`~wavenet_gui.core.modelfile.LoadedModel`.
        """
        from .modelfile import load_model
        self._not_busy("load a model")
        try:
            device = resolve_device(config.parse("device", self.settings.get("device", "cpu")))
        except ConfigError:
            device = "cpu"
        loaded = load_model(path, device=device)
        self.model = loaded.model
        self.state = TrainingState.from_loaded(loaded)
        self.unsaved = False
        self.model_path = loaded.path
        self._sync_settings_to_model()
        self.settings.update(restored_generation(loaded.training))
        self._emit("settings")
        self._emit("model")
        return loaded

    def generation_record(self) -> dict[str, Any]:
        """The generation settings a model file keeps (``generate_temperature``, ...): those that
        make its sound, valid now (a preset's greedy replay of the clip's length comes back with the
        model).  A start from a file is not kept (it names a file of this machine).

        Examples
        --------
        >>> Session({"temperature": 0.3, "prime": "silence", "length": 0.7}).generation_record()
        {'generate_length': 0.7, 'generate_temperature': 0.3, 'generate_top_k': 0, 'generate_top_p': 1.0, \
'generate_prime': 'silence'}
        """
        now = {f"generate_{n}": self.settings.get(n, config.SETTINGS[n].default) for n in KEPT_GENERATION_SETTINGS}
        return {f"generate_{n}": v for n, v in restored_generation(now).items()}

    def save_model(self, path: str | Path) -> Path:
        """Write the model with its whole training state (one ``.safetensors`` file, atomically)."""
        from .training import TrainingConfig, save_trained_model

        if self.model is None:
            raise ConfigError("model", "there is no model to save yet: train or load one")
        self._not_busy("save the model")
        try:
            tcfg = TrainingConfig(**config.training_values(self.checked("training")))
        except (ConfigError, TypeError):
            tcfg = None
        written = save_trained_model(path, self.model, self.state, config=tcfg, extra=self.generation_record())
        self.unsaved = False
        self.model_path = written
        self._emit("model")
        return written

    def save_recovery(self, folder: str | Path) -> Path | None:
        """Write the model as it is now to a new file in ``folder``, for when the app fails.

        For :func:`wavenet_gui.appinfo.set_recovery_saver`: may be called while training
        runs (from another thread); the file then holds the weights, loss history and
        Adam's state of the training so far.  Never replaces a file
        (``recovered_[time].safetensors``, numbered).  Returns the path, or None when
        there is no model or nothing new since it was saved.
        """
        from .training import save_trained_model

        model, trainer = self.model, self._trainer
        if model is None or not self.unsaved:
            return None
        folder = check_writable_dir(folder)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"recovered_{stamp}.safetensors"
        n = 2
        while path.exists():
            path = folder / f"recovered_{stamp}-{n}.safetensors"
            n += 1
        if trainer is not None:
            return trainer.save_checkpoint(path)
        return save_trained_model(path, model, self.state, extra=self.generation_record())

    def discard_model(self) -> None:
        """Forget the model and its training state (the next training starts a new one)."""
        self._not_busy("close the model")
        self.model = None
        self.state = TrainingState()
        self.unsaved = False
        self.model_path = None
        self._emit("model")

    # ------------------------------------------------------------------------------ training
    def stop(self) -> None:
        """Stop training or generation after the current step; what was made is kept."""
        self._cancel.set()

    @property
    def stopping(self) -> bool:
        return bool(self.busy) and self._cancel.is_set()

    def _not_busy(self, what: str) -> None:
        if self.busy:
            raise WaveNetError(f"cannot {what} while {self.busy} is running (stop it first)")

    def _start(self, busy: str, cancel: threading.Event | None) -> threading.Event:
        self._not_busy(busy)
        self._cancel = threading.Event()
        self.busy = busy
        if cancel is None:
            return self._cancel
        both = _AnyEvent(self._cancel, cancel)
        return both  # type: ignore[return-value]

    def check_training(self, *, replace: bool = False) -> tuple[Any, Any]:
        """Check the settings and output folder training needs, without starting.

        Returns ``(WaveNetConfig, TrainingConfig)``.  Raises :class:`ConfigError` with the
        first problem; with a model whose settings differ from the form's and
        ``replace=False``, the error says so (``field == "model"``).
        """
        from .training import TrainingConfig

        values = self.checked("model", "training", "output")
        cfg = self.model_config()
        if self.model is not None and not replace and self.model_mismatch():
            names = ", ".join(self.model_mismatch())
            raise ConfigError("model", f"the settings ({names}) differ from the current model's; "
                                       "train with replace=True to start a new model")
        device = str(resolve_device(values["device"]))
        tcfg = TrainingConfig(**{**config.training_values(values), "device": device}).validate()
        if tcfg.save_weights:
            check_writable_dir(values["output_dir"])
        return cfg, tcfg

    def train(self, *, replace: bool = False, cancel: threading.Event | None = None
              ) -> Generator[Any, None, TrainOutcome]:
        """Train the session's model on the files in the list: a generator of progress.

        The checks (:meth:`check_training`) run at once, in the caller's thread; the work
        runs as the returned generator is iterated.  It yields a status line (``str``)
        while reading files, then a :class:`~wavenet_gui.core.training.TrainingProgress`
        after every iteration, and returns a :class:`TrainOutcome`.

        The model is continued when its settings match (iterations, losses and Adam's
        moments go on), else a new one is built, seeded with ``train_seed`` (only with
        ``replace=True`` when there is a model).  :meth:`stop` ends it after the
        current step and keeps the model.
        """
        self._not_busy("train")
        cfg, tcfg = self.check_training(replace=replace)
        if not self._files:
            raise ConfigError("wav", "no audio files to train on: add some first")
        event = self._start("training", cancel)
        return self._train(cfg, tcfg, event)

    def _train(self, cfg, tcfg, cancel) -> Generator[Any, None, TrainOutcome]:
        from .training import Trainer

        trainer: Trainer | None = None
        try:
            if self.leave_a_core_free:
                leave_a_core_free()
            if cancel.is_set():
                return self._not_started()
            files = self._files
            yield f"Reading {len(files)} file(s) at {cfg.sample_rate} Hz…"
            rf = cfg.receptive_field
            threshold = self.silence_threshold()
            signals, names, trim_notes = [], [], []
            corpus = None
            cache_dir = self._corpus_dir()
            if cache_dir is not None:  # scale (issue 15): decoded once into a memory-mapped cache
                try:
                    corpus = self._open_corpus(cache_dir, cfg, cancel)
                except Cancelled:
                    return self._not_started()
                signals, names = corpus.signals(), corpus.names
            for info in files if corpus is None else ():
                try:
                    decoded = self._decode(info.path, cfg.sample_rate, cfg.quantizer, cancel)
                except Cancelled:
                    return self._not_started()
                # every sample is a target: a clip shorter than the receptive field is trained on
                trimmed = self._trim(decoded.classes, info.path, cfg.sample_rate, cfg.quantizer, threshold)
                if trimmed.lead or trimmed.trail or trimmed.note:
                    trim_notes.append(f"{Path(info.path).name}: {trimmed.describe()}")
                signals.append(trimmed.samples)
                names.append(Path(info.path).name)
            sampler = make_sampler(signals, receptive_field=rf, target_length=tcfg.target_length,
                                   holdout=tcfg.holdout, names=names, config=cfg)
            del signals  # the sampler holds its own compact copy (or reads the cache's map)
            if corpus is not None:
                corpus.release_pages()  # the sampler's checking pass read every page; training reads windows
            new_model = self.model is None or self.model.config != cfg
            if new_model:
                self._new_model(cfg, tcfg.seed)
            if self.distributed is not None:  # scale (issue 15): DDP under torchrun
                from .distributed import DistributedTrainer

                trainer = self._trainer = DistributedTrainer(self._model(), sampler, tcfg, state=self.state,
                                                             run=self.distributed)
            else:
                trainer = self._trainer = Trainer(self._model(), sampler, tcfg, state=self.state)
            trainer.record = self.generation_record()
            self.unsaved = True
            self._emit("model")
            yield "Training…"
            result = yield from trainer.steps(cancel=cancel)
            notes = (corpus.notes if corpus is not None and corpus.decoded else []) + trim_notes + sampler.unused_files
            return TrainOutcome(result=result, new_model=new_model, notes=notes)
        finally:
            if trainer is not None and trainer.iteration > 0:
                self.state.optimizer_state = trainer.optimizer_state()
            self._trainer = None
            self.busy = ""
            self._emit("model")

    # ---- scale (issue 15): the decoded-audio cache (core/corpus_cache.py) -----------------------
    #: ``cache_dir = auto`` caches the decoded training audio when the files last at least this long (s).
    CACHE_MIN_SECONDS = 600.0

    def _corpus_dir(self, seconds: float | None = None) -> Path | None:
        """Where the training audio is cached (None: decoded into memory), by the setting ``cache_dir``."""
        text = str(self.settings.get("cache_dir") or "auto").strip()
        if text.lower() == "off":
            return None
        if text.lower() != "auto":
            return Path(text).expanduser()
        if seconds is None:
            seconds = sum(float(i.duration) for i in self._files)
        if seconds < self.CACHE_MIN_SECONDS:
            return None
        from .corpus_cache import default_cache_dir

        return default_cache_dir()

    def _open_corpus(self, cache_dir: Path, cfg, cancel):
        """The files' classes from the cache (rank 0 of a torchrun launch decodes, the others wait)."""
        from .corpus_cache import open_corpus

        launch = self.distributed
        if launch is not None and not launch.is_main:
            import torch.distributed as dist

            dist.barrier()
        corpus = open_corpus([i.path for i in self._files], sample_rate=cfg.sample_rate, quantizer=cfg.quantizer,
                             cache_dir=cache_dir, min_samples=cfg.receptive_field + 1, cancel=cancel,
                             progress=self.corpus_progress)
        if launch is not None and launch.is_main:
            import torch.distributed as dist

            dist.barrier()
        self.corpus = corpus
        return corpus

    #: called with (done, total, name) before each file is decoded into the cache
    corpus_progress: Callable[[int, int, str], None] | None = None
    #: the cache of the last training run (None: decoded into memory)
    corpus: Corpus | None = None

    def _not_started(self) -> TrainOutcome:
        from .training import TrainingResult

        return TrainOutcome(TrainingResult("cancelled", "stopped before it started", self.state.iteration,
                                           self.state.mean_loss(), None, 0.0), new_model=False)

    def _new_model(self, cfg, seed: int) -> None:
        import torch

        from .model import WaveNet
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.model = WaveNet(cfg)
        self.state = TrainingState()
        self.model_path = None

    # ------------------------------------------------------------------------------ generation
    def check_generation(self, *, need_model: bool = True) -> dict[str, Any]:
        """Check what generation needs (settings, start, output folder) without starting.

        A clip to start from must be readable audio (its header is read), and the length times
        the variations must fit in memory at the model's rate (before there is a model: the
        settings' rate, which training gives the model), so both are refused before training.
        """
        values = self.checked("generation", "output")
        prime = values["prime"]
        if prime not in ("first", "silence"):
            path = Path(prime).expanduser()
            if not path.is_file():
                raise ConfigError("prime", f"{prime!r} is not first, silence or an audio file that exists")
            try:
                audio_info(path)  # not audio, empty, a damaged header, no frames
            except AudioFileError as exc:
                raise ConfigError("prime", str(exc)) from None
        rate = self._audio_format()[0]
        if rate is not None:
            self._check_in_memory(values, rate)
        check_writable_dir(values["output_dir"])
        if need_model and self.model is None:
            raise ConfigError("model", "there is no model yet: train or load one first")
        return values

    @staticmethod
    def _check_in_memory(values: Mapping[str, Any], sr: int) -> None:
        from .generation import MAX_IN_MEMORY_SAMPLES

        n = max(1, int(round(values["length"] * sr)))
        if n * values["variations"] > MAX_IN_MEMORY_SAMPLES:
            raise ConfigError("length", f"{values['length']:g} s x {values['variations']} variations at {sr} Hz is "
                                        f"more than the {MAX_IN_MEMORY_SAMPLES:,} samples generation keeps in "
                                        "memory; generate less at a time")

    def generate(self, *, cancel: threading.Event | None = None) -> Generator[Any, None, GenerationOutcome]:
        """Generate with the session's model: a generator of progress.

        Checks at once (:meth:`check_generation`); as it is iterated it yields a
        :class:`~wavenet_gui.core.generation.GenerationProgress` after every chunk, while
        the audio grows in :attr:`results` (one buffer per variation).  At the end each
        variation is written to the output folder as ``pred_[time].wav`` (``_v{k}`` with
        several); :meth:`stop` ends it early and keeps (and writes) what was made.
        """
        self._not_busy("generate")
        values = self.check_generation()
        sr = self._model().config.sample_rate
        n = max(1, int(round(values["length"] * sr)))
        from .generation import random_seed

        seed = values["seed"] if values["seed"] is not None else random_seed()
        event = self._start("generation", cancel)
        self.results = Results(buffers=[AudioBuffer(sr, capacity=n) for _ in range(values["variations"])],
                               sample_rate=sr, seed=seed, n_samples=n)
        self._emit("results")
        return self._generate(values, self.results, event)

    def _generate(self, values: dict[str, Any], results: Results, cancel) -> Generator[Any, None, GenerationOutcome]:
        import time

        from .generation import GenerationProgress, iter_generate

        try:
            if self.leave_a_core_free:
                leave_a_core_free()
            model = self._model()
            cfg = model.config
            n, sr = results.n_samples, results.sample_rate
            prime, results.note = self._prime(values["prime"], cfg)
            quantizer = cfg.quantizer
            t0 = time.perf_counter()
            done = 0
            for chunk in iter_generate(model, n_samples=n, temperature=values["temperature"], seed=results.seed,
                                       prime=prime, n_streams=len(results.buffers), cancel=cancel,
                                       weight_format=values["weight_format"], backend=self.backend,
                                       top_k=values["top_k"], top_p=values["top_p"]):
                audio = quantizer.decode(chunk).astype(np.float32)  # [K, m]
                for buf, row in zip(results.buffers, audio, strict=True):
                    buf.append(row)
                done += chunk.shape[1]
                elapsed = time.perf_counter() - t0
                rate = done / max(elapsed, 1e-9)
                yield GenerationProgress(done, n, rate, elapsed, rate / sr)
            elapsed = time.perf_counter() - t0
            results.cancelled = done < n
            results.samples_per_s = done / max(elapsed, 1e-9)
            for buf in results.buffers:
                buf.finish()
            if done:
                results.warnings = self._collapse_warnings(results, cfg)
                self._write_results(results, values["output_dir"])
            return GenerationOutcome(results)
        finally:
            results.cancelled = results.cancelled or results.length < results.n_samples
            for buf in results.buffers:
                buf.finish()
            self.busy = ""
            self._emit("results")

    def preview(self, *, seconds: float = 1.0):
        """A short generation from the current weights, also while :meth:`train` runs.

        The weights are copied (training goes on undisturbed), generation starts from the
        silent past at the settings' temperature and seed (0 when random), and the collapse
        check runs against the training files.  Nothing is written and :attr:`results` is
        not touched.  Returns a :class:`~wavenet_gui.core.preview.PreviewResult`.
        """
        from .preview import preview

        source = self._trainer if self._trainer is not None else self.model
        if source is None:
            raise ConfigError("model", "there is no model yet: train or load one first")
        values = self.checked("generation")
        cfg = self._model().config
        profile = self._profile(cfg)
        return preview(source, seconds=self.preview_seconds(seconds), temperature=values["temperature"],
                       seed=values["seed"] or 0, profile=profile, top_k=values["top_k"], top_p=values["top_p"],
                       preset=self._preset_of(cfg))

    def preview_seconds(self, longest: float = 1.0) -> float:
        """How long a preview lasts: ``longest``, or the generation length if shorter (Imitate
        sets it to the longest clip: after it a replay drifts into babble)."""
        try:
            return min(longest, float(self.checked("generation")["length"]))
        except ConfigError:
            return longest

    def _preset_of(self, cfg) -> str | None:
        """The preset whose model settings (for the files in the list) ``cfg`` has, or None."""
        from .presets import PRESETS, split_settings

        seconds = self.clip_seconds()
        for name in PRESETS:
            model_values, _, _ = split_settings(config.preset_values(name, clip_seconds=seconds))
            if all(getattr(cfg, k, None) == v for k, v in model_values.items()):
                return name
        return None

    def _profile(self, cfg):
        """The :class:`~wavenet_gui.core.checks.AudioProfile` of the training files (trimmed), or None."""
        from .checks import AudioProfile

        signals = []
        for info in self._files:
            try:
                decoded = self._decode(info.path, cfg.sample_rate, cfg.quantizer)
                signals.append(self._trim(decoded.classes, info.path, cfg.sample_rate, cfg.quantizer).samples)
            except (WaveNetError, OSError):
                continue  # a file gone or changed since training: judge against the others
        if not signals:
            return None
        return AudioProfile.of_classes(signals, quantizer=cfg.quantizer, sample_rate=cfg.sample_rate)

    def _collapse_warnings(self, results: Results, cfg) -> list[str]:
        """One line per variation that collapsed (silence, a stuck value, noise), judged against
        the training files (trimmed) as :func:`~wavenet_gui.core.checks.check_generation` does."""
        from .checks import check_generation

        profile = self._profile(cfg)
        if profile is None:
            return []
        out = []
        k = len(results.buffers)
        preset = self._preset_of(cfg)
        for i, buf in enumerate(results.buffers):
            collapse = check_generation(buf.view(), profile=profile, preset=preset)
            if collapse is not None:
                out.append(f"variation {i + 1}: {collapse.message}" if k > 1 else collapse.message)
        return out

    def _prime(self, prime: str, cfg) -> tuple[np.ndarray | None, str]:
        """The classes the generator starts from, and a note saying what they are."""
        if prime == "silence":
            return None, "started from silence"
        if prime == "first":
            if not self._files:
                return None, "started from silence: no input file"
            first = self._files[0]
            classes = self._decode(first.path, cfg.sample_rate, cfg.quantizer).classes
            classes = self._trim(classes, first.path, cfg.sample_rate, cfg.quantizer).samples
            return np.asarray(classes[:1], dtype=np.int64), f"started from the first sample of {Path(first.path).name}"
        path = Path(prime).expanduser()
        classes = self._decode(path, cfg.sample_rate, cfg.quantizer).classes
        tail = np.asarray(classes[-cfg.receptive_field:], dtype=np.int64)  # all the model can see of it
        return tail, f"continued {path.name}"

    def _write_results(self, results: Results, output_dir: str) -> None:
        when = datetime.now()
        k = len(results.buffers)
        try:
            for i, buf in enumerate(results.buffers):
                results.saved.append(write_prediction(output_dir, buf.view(), sample_rate=results.sample_rate,
                                                      suffix=variation_suffix(i, k), when=when))
        except WaveNetError as exc:
            results.save_error = str(exc)

    def export(self, path: str | Path, *, variation: int = 0, subtype: str | None = None,
               sample_rate: int | None = None) -> Path:
        """Write one variation of the generated audio to ``path`` (WAV, FLAC or OGG by extension),
        at the model's rate or resampled (soxr, very high quality) to ``sample_rate``."""
        if self.results is None or self.results.length == 0:
            raise ConfigError("export", "there is no generated audio yet")
        if not 0 <= variation < len(self.results.buffers):
            raise ConfigError("variation", f"must be between 1 and {len(self.results.buffers)}")
        audio, rate = self.results.audio(variation), self.results.sample_rate
        if sample_rate is not None and int(sample_rate) != rate:
            if not 1000 <= int(sample_rate) <= 384000:
                raise ConfigError("sample_rate", f"export rate {sample_rate} Hz is outside 1000-384000 Hz")
            import soxr

            audio = soxr.resample(np.asarray(audio, np.float32), rate, int(sample_rate), quality="VHQ")
            rate = int(sample_rate)
        return save_audio(path, audio, sample_rate=rate, subtype=subtype)

    # ------------------------------------------------------------------------------ plain loops
    def run_training(self, *, replace: bool = False,
                     callback: Callable[[Any], None] | None = None) -> TrainOutcome:
        """:meth:`train` to the end, calling ``callback`` with what it yields."""
        return drain(self.train(replace=replace), callback)

    def run_generation(self, *, callback: Callable[[Any], None] | None = None) -> GenerationOutcome:
        """:meth:`generate` to the end, calling ``callback`` with what it yields."""
        return drain(self.generate(), callback)


class _AnyEvent:
    """Set when either of two events is set (the session's Stop, or a caller's own event)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self._a, self._b = a, b

    def is_set(self) -> bool:
        return self._a.is_set() or self._b.is_set()

    def set(self) -> None:
        self._a.set()


def seconds_text(seconds: float) -> str:
    """``"1.5 s"`` under a minute, else ``"m:ss"`` or ``"h:mm:ss"``."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

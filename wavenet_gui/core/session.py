"""High-level steps shared by the CLI and the window: audio in, sampler, device, results out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from .audio import LoadedAudio, load_audio, save_audio
from .data import WindowSampler
from .errors import ConfigError
from .fileio import check_writable_dir
from .quantization import Quantizer

PREDICTION_PREFIX = "pred_"


def load_training_audio(paths: Iterable[str | Path], *, sample_rate: int, quantizer: Quantizer,
                        min_samples: int = 1) -> tuple[list[np.ndarray], list[LoadedAudio]]:
    """Load, check and quantize every file; raise the first file's :class:`AudioFileError`.

    Returns the quantized signals (compact integer arrays) and the loaded audio
    (with its notes on what was changed, e.g. "mixed 2 channels to mono").

    Examples
    --------
    >>> from wavenet_gui.resources_api import example_clip_path
    >>> signals, loaded = load_training_audio([example_clip_path()], sample_rate=8000,
    ...                                       quantizer=Quantizer(n_channels=256))
    >>> signals[0].dtype
    dtype('uint8')
    """
    signals, loaded = [], []
    dtype = np.uint8 if quantizer.n_channels <= 256 else np.uint16
    for path in paths:
        audio = load_audio(path, sample_rate=sample_rate, min_samples=min_samples)
        loaded.append(audio)
        signals.append(quantizer.encode(audio.samples).astype(dtype))
    if not loaded:
        raise ConfigError("wav", "no audio files were given")
    return signals, loaded


def make_sampler(signals: list[np.ndarray], *, receptive_field: int, target_length: int,
                 holdout: float = 0.0, names: list[str] | None = None, config=None) -> WindowSampler:
    """The sampler a :class:`~wavenet_gui.core.training.Trainer` needs for this model and config.

    With the model's ``config`` (a :class:`~wavenet_gui.core.model.WaveNetConfig`) the sampler
    checks the classes against ``n_channels`` and its "too short" message speaks in seconds.
    """
    extra = {}
    if config is not None:
        extra = dict(n_channels=config.n_channels, receptive_field=config.receptive_field,
                     sample_rate=config.sample_rate)
    return WindowSampler(signals, window=receptive_field + target_length, holdout=holdout, names=names, **extra)


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
                     suffix: str = "") -> Path:
    """Write generated audio as ``pred_[timestamp].wav`` in ``output_dir`` (atomically).

    Raises :class:`~wavenet_gui.core.errors.OutputError` when the folder cannot be written.
    """
    folder = check_writable_dir(output_dir)
    return save_audio(prediction_path(folder, suffix=suffix), np.asarray(audio, dtype=np.float32).reshape(-1),
                      sample_rate=sample_rate, exclusive=True)


# scale (issue 15): the device list and "auto" (CUDA, then MPS, then CPU) live in core/devices.py.
from .devices import available_devices, resolve_device  # noqa: E402,F401

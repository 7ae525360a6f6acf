"""Trimming leading and trailing silence before training (ibab's ``--silence_threshold``).

Silence at a file's ends teaches a WaveNet little except that silence follows
silence, which is how generation gets stuck in it; and generation, which starts
from silence, should start where the sound starts.  :func:`trim_silence` cuts
the frames at each end whose RMS level is below a threshold and reports how
much it cut; a file with no frame above the threshold is refused in one line.

Examples
--------
>>> import numpy as np
>>> sr = 8000
>>> t = np.arange(sr) / sr
>>> audio = np.where((t > 0.25) & (t < 0.75), 0.5 * np.sin(2 * np.pi * 220 * t), 0.0)
>>> trimmed = trim_silence(audio, sample_rate=sr, name="hum.wav")
>>> round(trimmed.duration, 2), trimmed.describe()
(0.53, 'trimmed 0.23 s of silence at the start and 0.23 s at the end')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from . import config as _config
from .errors import AudioFileError, ConfigError
from .quantization import Quantizer

__all__ = ["DEFAULT_SILENCE_THRESHOLD", "FRAME_SECONDS", "Trimmed", "trim_classes", "trim_silence"]

#: Frames quieter than this RMS level (a fraction of full scale; 0.01 is -40 dBFS) are silence.
DEFAULT_SILENCE_THRESHOLD = _config.default("silence_threshold")
#: Length of the frames whose level is measured (the trimming's resolution is a quarter of it).
FRAME_SECONDS = 0.02


@dataclass(frozen=True)
class Trimmed:
    """Audio with its leading and trailing silence cut (see :func:`trim_silence`)."""

    samples: np.ndarray
    """What is left: float32 samples (:func:`trim_silence`) or a view of the classes
    (:func:`trim_classes`)."""
    lead: int
    """Samples cut at the start."""
    trail: int
    """Samples cut at the end."""
    sample_rate: int

    @property
    def duration(self) -> float:
        """Seconds left."""
        return len(self.samples) / self.sample_rate

    @property
    def lead_seconds(self) -> float:
        return self.lead / self.sample_rate

    @property
    def trail_seconds(self) -> float:
        return self.trail / self.sample_rate

    def describe(self) -> str:
        """One phrase for the file list and the log, e.g. ``"trimmed 0.21 s of silence at the start"``."""
        parts = []
        if self.lead:
            parts.append(f"{self.lead_seconds:.2f} s of silence at the start")
        if self.trail:
            parts.append(f"{self.trail_seconds:.2f} s at the end" if self.lead
                         else f"{self.trail_seconds:.2f} s of silence at the end")
        return "trimmed " + " and ".join(parts) if parts else "no silence to trim"


def frame_rms(samples: np.ndarray, *, frame: int, hop: int) -> np.ndarray:
    """RMS of every full frame (``frame`` samples every ``hop``); one frame for shorter audio.

    Examples
    --------
    >>> frame_rms(np.ones(10), frame=4, hop=2).round(3).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    x = np.asarray(samples, dtype=np.float64)
    if len(x) <= frame:
        return np.array([np.sqrt(np.mean(x * x))]) if len(x) else np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(0, len(x) - frame + 1, hop)
    return np.sqrt(np.maximum(c[starts + frame] - c[starts], 0.0) / frame)


def _check(threshold: object, sample_rate: object) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) \
            or not np.isfinite(threshold) or not 0.0 <= threshold < 1.0:
        raise ConfigError("silence_threshold",
                          f"must be an RMS level from 0 (off) to below 1, such as 0.01, got {threshold!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1:
        raise ConfigError("sample_rate", f"must be a positive whole number of Hz, got {sample_rate!r}")


#: Frames measured per block while looking for the first and last sound (memory stays a few
#: blocks of float64, however long the file).
_BLOCK_FRAMES = 4096


def _sound_bounds(n: int, read: Callable[[int, int], np.ndarray], *, sample_rate: int, threshold: float,
                  name: str | Path) -> tuple[int, int]:
    """``(start, end)`` of the audio between the first and the last frame at or above ``threshold``.

    ``read(a, b)`` returns samples ``a:b`` as floats; frames are read block by block from each
    end, so a long file is never decoded whole.  Raises the one-line AudioFileError when no frame
    is loud enough.
    """
    frame = max(1, int(round(FRAME_SECONDS * sample_rate)))
    hop = max(1, frame // 4)
    if n <= frame:  # one frame: all or nothing
        rms = frame_rms(read(0, n), frame=frame, hop=hop)
        if len(rms) and rms[0] >= threshold:
            return 0, n
        _refuse(float(rms.max()) if len(rms) else 0.0, threshold, name)
    n_frames = (n - frame) // hop + 1  # frame k covers k * hop .. k * hop + frame
    peak = 0.0

    def levels(k0: int, k1: int) -> np.ndarray:
        return frame_rms(read(k0 * hop, (k1 - 1) * hop + frame), frame=frame, hop=hop)[: k1 - k0]

    first = None
    for k0 in range(0, n_frames, _BLOCK_FRAMES):
        rms = levels(k0, min(n_frames, k0 + _BLOCK_FRAMES))
        loud = np.flatnonzero(rms >= threshold)
        if len(loud):
            first = k0 + int(loud[0])
            break
        peak = max(peak, float(rms.max()))
    if first is None:
        _refuse(peak, threshold, name)
    last = first
    for k1 in range(n_frames, first, -_BLOCK_FRAMES):
        k0 = max(first, k1 - _BLOCK_FRAMES)
        loud = np.flatnonzero(levels(k0, k1) >= threshold)
        if len(loud):
            last = k0 + int(loud[-1])
            break
    return first * hop, min(n, last * hop + frame)


def _refuse(peak: float, threshold: float, name: str | Path) -> NoReturn:
    level = f"{20 * np.log10(peak):.0f} dBFS" if peak > 0 else "digital silence"
    raise AudioFileError(
        name, f"silent after trimming silence: its loudest part is {level}, below the silence threshold "
              f"{threshold:g} ({20 * np.log10(threshold):.0f} dBFS); lower the silence threshold "
              "(0 turns trimming off)")


def trim_silence(samples: np.ndarray, *, sample_rate: int, threshold: float = DEFAULT_SILENCE_THRESHOLD,
                 name: str | Path = "audio") -> Trimmed:
    """Cut leading and trailing frames whose RMS level is below ``threshold``.

    Frames are :data:`FRAME_SECONDS` long with a hop of a quarter of that; the
    audio kept runs from the start of the first frame above the threshold to
    the end of the last one, so an onset is never clipped.

    Parameters
    ----------
    samples : np.ndarray
        Mono audio in [-1, 1].
    sample_rate : int, keyword-only
        Hz.
    threshold : float, keyword-only
        RMS level (fraction of full scale) below which a frame is silence;
        0 turns trimming off (the audio is returned whole).
    name : str or Path, keyword-only
        The file, for the error message.

    Returns
    -------
    Trimmed

    Raises
    ------
    AudioFileError
        Nothing in the file is louder than the threshold (naming the file, its
        loudest frame and what to change).
    ConfigError
        ``threshold`` is negative, not finite or at least 1.

    Examples
    --------
    >>> import numpy as np
    >>> trim_silence(np.zeros(800) + 1e-4, sample_rate=8000, name="hiss.wav")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    wavenet_gui.core.errors.AudioFileError: hiss.wav: silent after trimming silence: its loudest part is
    -80 dBFS, below the silence threshold 0.01 (-40 dBFS); lower the silence threshold (0 turns trimming off)
    """
    _check(threshold, sample_rate)
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if threshold == 0.0:
        return Trimmed(x, 0, 0, int(sample_rate))
    start, end = _sound_bounds(len(x), lambda a, b: x[a:b], sample_rate=int(sample_rate),
                               threshold=float(threshold), name=name)
    return Trimmed(np.ascontiguousarray(x[start:end]), start, len(x) - end, int(sample_rate))


def trim_classes(classes: np.ndarray, *, quantizer: Quantizer, sample_rate: int,
                 threshold: float = DEFAULT_SILENCE_THRESHOLD, name: str | Path = "audio") -> Trimmed:
    """:func:`trim_silence` for audio already quantized (one byte per sample, as training keeps it).

    The levels are those of the decoded classes, read block by block from each end, so a
    long file is never held as float; the result's ``samples`` is a view of ``classes``.

    Parameters
    ----------
    classes : np.ndarray
        1-D classes of ``quantizer``.
    quantizer : Quantizer, keyword-only
    sample_rate, threshold, name
        As :func:`trim_silence`.

    Returns
    -------
    Trimmed
        ``samples`` holds the kept classes.

    Examples
    --------
    >>> import numpy as np
    >>> from wavenet_gui.core.quantization import Quantizer
    >>> q = Quantizer(256)
    >>> t = np.arange(8000) / 8000
    >>> audio = np.where((t > 0.25) & (t < 0.75), 0.5 * np.sin(2 * np.pi * 220 * t), 0.0)
    >>> trim_classes(q.encode(audio), quantizer=q, sample_rate=8000, name="hum.wav").describe()
    'trimmed 0.23 s of silence at the start and 0.23 s at the end'
    """
    _check(threshold, sample_rate)
    c = np.asarray(classes).reshape(-1)
    if threshold == 0.0:
        return Trimmed(c, 0, 0, int(sample_rate))
    start, end = _sound_bounds(len(c), lambda a, b: quantizer.decode(c[a:b]), sample_rate=int(sample_rate),
                               threshold=float(threshold), name=name)
    return Trimmed(c[start:end], start, len(c) - end, int(sample_rate))

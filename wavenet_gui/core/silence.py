"""Trimming leading and trailing silence before training (ibab's ``--silence_threshold``).

Silence at a file's ends teaches a WaveNet little except that silence follows
silence, which is how generation gets stuck in it; and generation, which starts
from silence, should start where the sound starts.  :func:`trim_silence` cuts
the frames at each end whose RMS level is below a threshold and reports how
much it cut.

A quiet recording (its loudest part below the threshold) is not refused: the
threshold then follows the file, :data:`QUIET_RELATIVE_DB` below its loudest part
(and above its noise floor), and the result says so in its note.  A file is
refused in one line only when it holds nothing but silence: digital silence, a
level below :data:`QUIET_FLOOR_DBFS`, or steady noise (noise-like and without
dynamics) below the threshold.

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

__all__ = ["DEFAULT_SILENCE_THRESHOLD", "FRAME_SECONDS", "QUIET_FLOOR_DBFS", "QUIET_RELATIVE_DB", "Trimmed",
           "trim_classes", "trim_silence"]

#: Frames quieter than this RMS level (a fraction of full scale; 0.01 is -40 dBFS) are silence.
DEFAULT_SILENCE_THRESHOLD = _config.default("silence_threshold")
#: Length of the frames whose level is measured (the trimming's resolution is a quarter of it).
FRAME_SECONDS = 0.02
#: A file whose loudest frame is below the threshold is trimmed this many dB below its loudest frame
#: (a full-scale file's loudest frames lie about 30-35 dB above the default -40 dBFS).
QUIET_RELATIVE_DB = 30.0
#: ... unless its loudest frame is below this level (dBFS): then it is silence.
QUIET_FLOOR_DBFS = -70.0
#: Quiet audio counts as steady noise (silence with hiss) when its loud part is this flat (white
#: noise 0.56, speech 0.05, a tone 0) and it rises less than QUIET_DYNAMICS_DB above its quiet part.
QUIET_NOISE_FLATNESS = 0.3
QUIET_DYNAMICS_DB = 12.0


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
    note: str = ""
    """Set when the threshold followed a quiet file (what was used instead, and why)."""

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
        text = "trimmed " + " and ".join(parts) if parts else "no silence to trim"
        return f"{self.note}; {text}" if self.note else text


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
                  name: str | Path) -> tuple[int, int, str]:
    """``(start, end, note)`` of the audio between the first and the last frame at or above ``threshold``.

    ``read(a, b)`` returns samples ``a:b`` as floats; frames are read block by block from each
    end, so a long file is never decoded whole.  When no frame is loud enough, the threshold
    follows a quiet file (:func:`_quiet_threshold`; ``note`` says so) or the one-line
    AudioFileError refuses a silent one.
    """
    frame = max(1, int(round(FRAME_SECONDS * sample_rate)))
    hop = max(1, frame // 4)
    if n <= frame:  # one frame: all or nothing
        rms = frame_rms(read(0, n), frame=frame, hop=hop)
        if len(rms) and rms[0] >= threshold:
            return 0, n, ""
        peak = float(rms.max()) if len(rms) else 0.0
        if _quiet_threshold(peak, peak, read(0, n), sample_rate) is not None:
            return 0, n, _quiet_note(peak, threshold, None)
        _refuse(peak, threshold, name)
    n_frames = (n - frame) // hop + 1  # frame k covers k * hop .. k * hop + frame
    peak, peak_at, floor = 0.0, 0, float("inf")

    def levels(k0: int, k1: int) -> np.ndarray:
        return frame_rms(read(k0 * hop, (k1 - 1) * hop + frame), frame=frame, hop=hop)[: k1 - k0]

    first = None
    for k0 in range(0, n_frames, _BLOCK_FRAMES):
        rms = levels(k0, min(n_frames, k0 + _BLOCK_FRAMES))
        loud = np.flatnonzero(rms >= threshold)
        if len(loud):
            first = k0 + int(loud[0])
            break
        if float(rms.max()) > peak:
            peak, peak_at = float(rms.max()), k0 + int(rms.argmax())
        floor = min(floor, float(np.percentile(rms, 10)))
    if first is None:  # nothing reaches the threshold: a quiet recording, or silence
        around = read(max(0, peak_at * hop - 2 * frame), min(n, peak_at * hop + 3 * frame))
        quiet = _quiet_threshold(peak, floor, around, sample_rate)
        if quiet is None:
            _refuse(peak, threshold, name)
        start, end, _ = _sound_bounds(n, read, sample_rate=sample_rate, threshold=quiet, name=name)
        return start, end, _quiet_note(peak, threshold, quiet)
    last = first
    for k1 in range(n_frames, first, -_BLOCK_FRAMES):
        k0 = max(first, k1 - _BLOCK_FRAMES)
        loud = np.flatnonzero(levels(k0, k1) >= threshold)
        if len(loud):
            last = k0 + int(loud[-1])
            break
    return first * hop, min(n, last * hop + frame), ""


def _quiet_threshold(peak: float, floor: float, loudest: np.ndarray, sample_rate: int) -> float | None:
    """The threshold for a file whose loudest frame (RMS ``peak``) is below the set one; None: silence.

    ``floor`` is the level of its quiet frames (a low percentile), ``loudest`` the samples around
    its loudest frame.  Silence is a peak (or, without its DC offset, a swing) below
    :data:`QUIET_FLOOR_DBFS`, or steady noise: as
    flat as noise (:data:`QUIET_NOISE_FLATNESS`) where it is loudest and less than
    :data:`QUIET_DYNAMICS_DB` above its quiet frames.  Otherwise the threshold lies
    :data:`QUIET_RELATIVE_DB` below the peak, or 6 dB above the noise floor when that is higher
    (but at least 6 dB below the peak).
    """
    from .checks import flatness

    if peak <= 0 or 20 * np.log10(peak) < QUIET_FLOOR_DBFS:
        return None
    swing = float(np.std(loudest)) if len(loudest) else 0.0  # a constant (DC) value is silence too
    if swing <= 0 or 20 * np.log10(swing) < QUIET_FLOOR_DBFS:
        return None
    dynamics = 20 * np.log10(peak / floor) if floor > 0 else np.inf
    if dynamics < QUIET_DYNAMICS_DB and flatness(loudest, sample_rate) >= QUIET_NOISE_FLATNESS:
        return None
    relative = peak * 10 ** (-QUIET_RELATIVE_DB / 20)
    above_floor = min(2.0 * floor, peak / 2.0) if np.isfinite(floor) else 0.0
    return float(max(relative, above_floor))


def _quiet_note(peak: float, threshold: float, used: float | None) -> str:
    level = f"silence taken as below {20 * np.log10(used):.0f} dBFS" if used else "kept whole"
    return (f"quiet (loudest part {20 * np.log10(peak):.0f} dBFS, below the silence threshold "
            f"{20 * np.log10(threshold):.0f} dBFS): {level}")


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
    start, end, note = _sound_bounds(len(x), lambda a, b: x[a:b], sample_rate=int(sample_rate),
                                     threshold=float(threshold), name=name)
    return Trimmed(np.ascontiguousarray(x[start:end]), start, len(x) - end, int(sample_rate), note)


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
    start, end, note = _sound_bounds(len(c), lambda a, b: quantizer.decode(c[a:b]), sample_rate=int(sample_rate),
                                     threshold=float(threshold), name=name)
    return Trimmed(c[start:end], start, len(c) - end, int(sample_rate), note)

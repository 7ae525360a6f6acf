"""Noticing when generation collapses: into silence, a stuck value, or noise.

A low training loss does not mean the output sounds like the input: a model
can learn its clips and still, from the start it is given, fall silent, hold
one value or hiss.  :func:`check_generation` compares generated audio with an
:class:`AudioProfile` of the training audio and returns a one-line message
saying what went wrong and what to try, or ``None`` when nothing did.

The measures follow ``bench/quality.py`` (whose numbers the README quotes):
frames of 32 ms every 10 ms; a frame is silent when it is more than 35 dB
below the training audio's loudest frame; spectral flatness is the geometric
over the arithmetic mean of the power spectrum of the non-silent frames
(white noise about 0.56, speech about 0.05).

Examples
--------
>>> import numpy as np
>>> sr = 8000
>>> t = np.arange(2 * sr) / sr
>>> speechy = 0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
>>> profile = AudioProfile.of([speechy], sample_rate=sr)
>>> print(check_generation(np.zeros(sr), profile=profile))  # doctest: +NORMALIZE_WHITESPACE
The generated audio is 100% silence while the training audio is 42%: try a longer receptive
field (the Imitate preset for short clips), another start or temperature, or more training.
>>> check_generation(speechy[:sr], profile=profile) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

__all__ = ["AudioProfile", "Collapse", "check_generation", "flatness", "frame_levels_db",
           "longest_constant_run", "SILENT_DB", "FRAME_SECONDS", "HOP_SECONDS"]

#: Frames more than this many dB below the reference's loudest frame are silent.
SILENT_DB = 35.0
FRAME_SECONDS = 0.032
HOP_SECONDS = 0.010
#: Generated audio at least this silent (while the training audio is not) has collapsed into silence.
SILENT_COLLAPSE = 0.95
#: Spectral flatness from which audio sounds like noise (white noise scores about 0.56, speech 0.05;
#: bench/quality.py: a sentence model collapsed into noise scored 0.32-0.35, a drum model 0.55).
NOISE_FLATNESS = 0.3
#: ... when that is also this many times the training audio's flatness (a noisy texture is not a collapse).
NOISE_RATIO = 1.5
#: The longest run of one value counts as stuck from this many seconds (and more than the input's).
STUCK_SECONDS = 0.25

_TRY = ("try a longer receptive field (the Imitate preset for short clips), another start or temperature, "
        "or more training")


def _frames(x: np.ndarray, sample_rate: int) -> np.ndarray:
    frame = max(2, int(round(FRAME_SECONDS * sample_rate)))
    hop = max(1, int(round(HOP_SECONDS * sample_rate)))
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    n = 1 + (len(x) - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]  # [n, frame]


def frame_levels_db(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """RMS level of every 32 ms frame (10 ms hop) in dB (full scale = 0 dB, floored at -200)."""
    f = _frames(x, sample_rate)
    return 10.0 * np.log10(np.maximum(np.mean(f * f, axis=1), 1e-20))


def flatness(x: np.ndarray, sample_rate: int, *, loud_db: float | None = None) -> float:
    """Mean spectral flatness of the frames louder than ``loud_db`` (all frames when None).

    White noise scores about 0.56 (with a Hann window), a pure tone near 0, speech about 0.05.
    Returns nan when no frame is loud enough.
    """
    f = _frames(x, sample_rate)
    if loud_db is not None:
        f = f[10.0 * np.log10(np.maximum(np.mean(f * f, axis=1), 1e-20)) > loud_db]
    if len(f) == 0:
        return float("nan")
    p = np.abs(np.fft.rfft(f * np.hanning(f.shape[1]), axis=1)) ** 2 + 1e-12
    return float(np.mean(np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)))


def longest_constant_run(x: np.ndarray) -> int:
    """Length of the longest run of one repeated value (1 for audio that never repeats)."""
    x = np.asarray(x).reshape(-1)
    if len(x) == 0:
        return 0
    change = np.flatnonzero(np.diff(x) != 0)
    bounds = np.concatenate([[-1], change, [len(x) - 1]])
    return int(np.diff(bounds).max())


@dataclass(frozen=True)
class AudioProfile:
    """What the training audio is like, to judge generated audio against it."""

    sample_rate: int
    peak_db: float
    """Level of the loudest frame (dB)."""
    silent_fraction: float
    """Share of frames more than :data:`SILENT_DB` below ``peak_db``."""
    flatness: float
    """Spectral flatness of the non-silent frames."""
    longest_run_seconds: float
    """The longest run of one value in any file, in seconds."""

    @classmethod
    def of(cls, signals: Sequence[np.ndarray], *, sample_rate: int) -> AudioProfile:
        """Profile of the training audio (float samples in [-1, 1], one array per file).

        Examples
        --------
        >>> import numpy as np
        >>> p = AudioProfile.of([np.r_[np.zeros(4000), 0.5 * np.sin(np.arange(4000))]], sample_rate=8000)
        >>> round(p.silent_fraction, 1)
        0.5
        """
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1:
            raise ConfigError("sample_rate", f"must be a positive whole number of Hz, got {sample_rate!r}")
        signals = [np.asarray(s, dtype=np.float64).reshape(-1) for s in signals]
        signals = [s for s in signals if len(s)]
        if not signals:
            raise ConfigError("signals", "no audio to profile")
        levels = [frame_levels_db(s, sample_rate) for s in signals]
        peak = float(max(lv.max() for lv in levels))
        all_levels = np.concatenate(levels)
        silent = float(np.mean(all_levels < peak - SILENT_DB))
        flats = [flatness(s, sample_rate, loud_db=peak - SILENT_DB) for s in signals]
        weights = [len(s) for s in signals]
        ok = [(f, w) for f, w in zip(flats, weights, strict=True) if np.isfinite(f)]
        flat = float(np.average([f for f, _ in ok], weights=[w for _, w in ok])) if ok else float("nan")
        run = max(longest_constant_run(s) for s in signals) / sample_rate
        return cls(int(sample_rate), peak, silent, flat, run)


    @classmethod
    def of_classes(cls, signals: Sequence[np.ndarray], *, quantizer, sample_rate: int,
                   max_seconds: float = 60.0) -> AudioProfile:
        """:meth:`of` for quantized training audio (one byte per sample, as training keeps it).

        At most ``max_seconds`` of each file is decoded: a longer file is profiled from 20
        evenly spaced excerpts, so memory stays small however long the files are.

        Examples
        --------
        >>> import numpy as np
        >>> from wavenet_gui.core.quantization import Quantizer
        >>> q = Quantizer(256)
        >>> p = AudioProfile.of_classes([q.encode(0.5 * np.sin(np.arange(8000)))], quantizer=q, sample_rate=8000)
        >>> round(p.silent_fraction, 1)
        0.0
        """
        limit = max(1, int(max_seconds * sample_rate))
        parts: list[np.ndarray] = []
        for c in signals:
            c = np.asarray(c).reshape(-1)
            if len(c) <= limit:
                parts.append(quantizer.decode(c))
                continue
            n = limit // 20
            for start in np.linspace(0, len(c) - n, 20).astype(np.int64):
                parts.append(quantizer.decode(c[start:start + n]))
        return cls.of(parts, sample_rate=sample_rate)


@dataclass(frozen=True)
class Collapse:
    """A collapse found by :func:`check_generation`."""

    kind: str
    """``"silence"``, ``"stuck"`` or ``"noise"``."""
    message: str
    """One line for the user: what happened and what to try."""

    def __str__(self) -> str:
        return self.message


def check_generation(audio: np.ndarray, *, profile: AudioProfile) -> Collapse | None:
    """Look for a collapse of generated ``audio`` (one stream, float in [-1, 1]).

    * silence: at least 95% of the frames are silent while the training audio's share is lower;
    * stuck: one value repeats for 0.25 s or more, longer than anywhere in the training audio
      (digital silence counts as silence, not as stuck);
    * noise: the non-silent frames are about as flat as noise (>= 0.3) and more than 1.5x as flat
      as the training audio's.

    Returns
    -------
    Collapse or None
        A :class:`Collapse` whose ``message`` (also its ``str()``) is one line naming what to
        try, or None.

    Examples
    --------
    >>> import numpy as np
    >>> profile = AudioProfile.of([0.3 * np.sin(np.arange(16000) * 0.2)], sample_rate=8000)
    >>> noise = np.random.default_rng(0).uniform(-0.3, 0.3, 8000)
    >>> check_generation(noise, profile=profile).kind
    'noise'
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    sr = profile.sample_rate
    if len(x) == 0:
        return None
    levels = frame_levels_db(x, sr)
    floor = profile.peak_db - SILENT_DB
    silent = float(np.mean(levels < floor))
    if silent >= SILENT_COLLAPSE and profile.silent_fraction < SILENT_COLLAPSE:
        return Collapse("silence", f"The generated audio is {silent:.0%} silence while the training audio is "
                                   f"{profile.silent_fraction:.0%}: {_TRY}.")
    run = longest_constant_run(x)
    run_s = run / sr
    if run_s >= STUCK_SECONDS and run_s > 2 * profile.longest_run_seconds:
        start = _run_start(x, run)
        if abs(x[start]) > 10 ** (floor / 20):  # a held non-zero value, not silence
            return Collapse("stuck", f"The generated audio holds one value ({x[start]:+.3f}) for {run_s:.2f} s: "
                                     f"{_TRY}.")
    flat = flatness(x, sr, loud_db=floor)
    if np.isfinite(flat) and flat >= NOISE_FLATNESS and not (profile.flatness * NOISE_RATIO >= flat):
        return Collapse("noise", f"The generated audio sounds like noise (spectral flatness {flat:.2f}, the training "
                                 f"audio's {profile.flatness:.2f}): {_TRY}.")
    return None


def _run_start(x: np.ndarray, run: int) -> int:
    change = np.flatnonzero(np.diff(x) != 0)
    bounds = np.concatenate([[-1], change, [len(x) - 1]])
    k = int(np.argmax(np.diff(bounds) >= run))
    return int(bounds[k] + 1)

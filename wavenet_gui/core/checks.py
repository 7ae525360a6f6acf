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
(white noise about 0.56, speech about 0.05).  Output that hisses with the training
audio's overall spectral tilt (noise shaped like speech) is less flat than white noise;
:func:`noisiness`, the flatness after a pre-emphasis that removes most of that tilt,
finds it (speech about 0.08-0.09, such noise 0.43-0.53, brown noise 0.35-0.46).
Noise from a model of audio that is itself partly noise (a drum loop, flatness 0.29) is told
apart by its level: white noise holds one level (its frames' levels spread over about 1 dB,
:func:`level_range_db`) where drums, speech and their imitations rise and fall by 10-30 dB.

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
           "level_range_db", "longest_constant_run", "noisiness", "SILENT_DB", "FRAME_SECONDS", "HOP_SECONDS"]

#: Frames more than this many dB below the reference's loudest frame are silent.
SILENT_DB = 35.0
FRAME_SECONDS = 0.032
HOP_SECONDS = 0.010
#: Generated audio at least this silent (while the training audio is not) has collapsed into silence.
SILENT_COLLAPSE = 0.95
#: ... and so has audio at least this silent when that is :data:`MOSTLY_SILENT_MARGIN` more than the
#: training audio's share (bench/quality.py: Speech 16 kHz on a 19 s story after 10 minutes, 90%
#: silent frames against the story's 8%, with a few bursts: speech 0.03).
MOSTLY_SILENT = 0.85
MOSTLY_SILENT_MARGIN = 0.6
#: Spectral flatness from which audio sounds like noise (white noise scores about 0.56, speech 0.05;
#: bench/quality.py: a sentence model collapsed into noise scored 0.32-0.35, a drum model 0.55).
NOISE_FLATNESS = 0.3
#: ... when that is also this many times the training audio's flatness (a noisy texture is not a collapse:
#: the drum loop, flatness 0.29, gives noise bursts in its rhythm at 0.45-0.55 after 2 minutes, 1.6-1.9x).
NOISE_RATIO = 2.0
#: Noise with the input's spectral tilt: :func:`noisiness` at least this (bench/quality.py, measured on
#: real outputs: speech models that collapsed into noise 0.43-0.53 (no speech found by silero-vad,
#: voice similarity 0.48-0.62); outputs still speech-like 0.12-0.33 (speech 0.39-0.87, voice 0.75-0.93);
#: white noise 0.29, which the plain flatness finds) ...
NOISINESS = 0.4
#: ... and this many times the training audio's (speech 0.08-0.09; a brown-noise texture, whose
#: outputs score 0.49-0.51 against its 0.46, and noisy drums are not collapses).
NOISINESS_RATIO = 2.0
#: Steady noise: a flatness of at least :data:`NOISE_FLATNESS` whose frame levels spread over at most
#: this many dB (:func:`level_range_db`; white noise 1.0, the drum loop 30, a sentence 24, a brown-noise
#: texture 17, and their models' outputs 11-31: bench/quality.py) ...
STEADY_DB = 3.0
#: ... while the training audio's spread over at least this many times as much.
STEADY_RATIO = 4.0
#: The pre-emphasis of :func:`noisiness` (``y[n] = x[n] - 0.97 x[n-1]``, as in speech analysis).
PRE_EMPHASIS = 0.97
#: Generated audio longer than this (seconds) is judged on 20 evenly spaced excerpts of this much in
#: all (the stuck-value rule still reads all of it), so an hour costs what a minute does.
MAX_CHECK_SECONDS = 60.0
#: The longest run of one value counts as stuck from this many seconds (and more than the input's).
STUCK_SECONDS = 0.25


def _try(preset: str | None = None) -> str:
    """What to try after a collapse; the Imitate preset is not suggested while it is in use.

    >>> _try("imitate")
    'try another start or temperature, or more training'
    """
    if preset == "imitate":  # its receptive field already covers the longest clip
        return "try another start or temperature, or more training"
    return "try a longer receptive field (the Imitate preset for short clips), another start or temperature, " \
           "or more training"


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


def noisiness(x: np.ndarray, sample_rate: int, *, loud_db: float | None = None) -> float:
    """:func:`flatness` after pre-emphasis (``x[n] - 0.97 x[n-1]``) of the frames louder than ``loud_db``.

    Which frames count is decided on ``x`` itself.  The pre-emphasis removes most of a spectral
    tilt, so noise scores high whether it is white or shaped like the training audio's average
    spectrum: speech about 0.08, speech-shaped noise about 0.5, brown noise 0.35-0.46.
    (White noise itself scores 0.29: the pre-emphasis tilts it; :func:`flatness` finds that.)

    Examples
    --------
    >>> import numpy as np
    >>> sr = 8000
    >>> brown = np.cumsum(np.random.default_rng(0).standard_normal(sr))
    >>> brown = 0.3 * (brown - brown.mean()) / np.abs(brown - brown.mean()).max()
    >>> round(flatness(brown, sr), 3), round(noisiness(brown, sr), 2)
    (0.004, 0.35)
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if len(x) == 0:
        return float("nan")
    y = np.r_[x[:1], x[1:] - PRE_EMPHASIS * x[:-1]]
    f = _frames(y, sample_rate)
    if loud_db is not None:
        f = f[frame_levels_db(x, sample_rate)[: len(f)] > loud_db]
    if len(f) == 0:
        return float("nan")
    p = np.abs(np.fft.rfft(f * np.hanning(f.shape[1]), axis=1)) ** 2 + 1e-12
    return float(np.mean(np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)))


def level_range_db(x: np.ndarray, sample_rate: int, *, floor_db: float) -> float:
    """How far the level rises and falls: the 10th to 90th percentile range of the frame levels (dB).

    Frame levels are those of :func:`frame_levels_db`, raised to ``floor_db`` (silence counts as
    the floor, so a pause between drum hits spreads the range as much as the hits do).  White
    noise scores about 1 dB, a drum loop 30, speech about 24.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 8000
    >>> noise = 0.1 * np.random.default_rng(0).standard_normal(sr)
    >>> round(level_range_db(noise, sr, floor_db=-60.0))
    1
    >>> bursts = noise * (np.arange(sr) % 2000 < 400)
    >>> level_range_db(bursts, sr, floor_db=-60.0) > 30
    True
    """
    return _spread(frame_levels_db(x, sample_rate), floor_db)


def _spread(levels: np.ndarray, floor_db: float) -> float:
    """10th to 90th percentile range of frame levels (dB) raised to ``floor_db``."""
    lv = np.maximum(levels, floor_db)
    return float(np.percentile(lv, 90) - np.percentile(lv, 10))


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
    noisiness: float = float("nan")
    """:func:`noisiness` of the non-silent frames (nan: unknown, that rule is skipped)."""
    level_range_db: float = float("nan")
    """:func:`level_range_db` of all frames, floored :data:`SILENT_DB` below ``peak_db`` (nan: unknown,
    the steady-noise rule is skipped)."""

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
        weights = [len(s) for s in signals]

        def mean(values: list[float]) -> float:
            ok = [(v, w) for v, w in zip(values, weights, strict=True) if np.isfinite(v)]
            return float(np.average([v for v, _ in ok], weights=[w for _, w in ok])) if ok else float("nan")

        flat = mean([flatness(s, sample_rate, loud_db=peak - SILENT_DB) for s in signals])
        noisy = mean([noisiness(s, sample_rate, loud_db=peak - SILENT_DB) for s in signals])
        run = max(longest_constant_run(s) for s in signals) / sample_rate
        return cls(int(sample_rate), peak, silent, flat, run, noisy, _spread(all_levels, peak - SILENT_DB))


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


def check_generation(audio: np.ndarray, *, profile: AudioProfile, preset: str | None = None) -> Collapse | None:
    """Look for a collapse of generated ``audio`` (one stream, float in [-1, 1]).

    * silence: at least 95% of the frames are silent while the training audio's share is lower,
      or at least 85% when that is 60 points more than the training audio's share;
    * stuck: one value repeats for 0.25 s or more, longer than anywhere in the training audio
      (digital silence counts as silence, not as stuck);
    * noise: the non-silent frames are about as flat as noise (>= 0.3) and more than 2x as flat
      as the training audio's; or, after pre-emphasis (:func:`noisiness`: noise whose spectrum
      falls), at least 0.4 and 2x the training audio's; or steady noise: a flatness of at least 0.3
      at one level (frame levels within 3 dB, :func:`level_range_db`) where the training audio's
      levels spread over 4x as much (noise from a model of drums, which are themselves half noise).

    Audio longer than :data:`MAX_CHECK_SECONDS` is judged on 20 evenly spaced excerpts (the
    stuck-value rule reads all of it).  ``preset`` names the preset the model was made with
    (``"imitate"``...), if any: the advice does not suggest the one in use.

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
    whole = np.asarray(audio).reshape(-1)
    sr = profile.sample_rate
    advice = _try(preset)
    if len(whole) == 0:
        return None
    limit = int(MAX_CHECK_SECONDS * sr)
    if len(whole) > limit:  # excerpts: the frame measures below build arrays of several times the audio
        n = limit // 20
        starts = np.linspace(0, len(whole) - n, 20).astype(np.int64)
        x = np.concatenate([np.asarray(whole[a:a + n], dtype=np.float64) for a in starts])
    else:
        x = np.asarray(whole, dtype=np.float64)
    levels = frame_levels_db(x, sr)
    floor = profile.peak_db - SILENT_DB
    silent = float(np.mean(levels < floor))
    mostly = silent >= MOSTLY_SILENT and silent >= profile.silent_fraction + MOSTLY_SILENT_MARGIN
    if (silent >= SILENT_COLLAPSE or mostly) and profile.silent_fraction < SILENT_COLLAPSE:
        return Collapse("silence", f"The generated audio is {silent:.0%} silence while the training audio is "
                                   f"{profile.silent_fraction:.0%}: {advice}.")
    run = longest_constant_run(whole)
    run_s = run / sr
    if run_s >= STUCK_SECONDS and run_s > 2 * profile.longest_run_seconds:
        start = _run_start(whole, run)
        if abs(whole[start]) > 10 ** (floor / 20):  # a held non-zero value, not silence
            return Collapse("stuck", f"The generated audio holds one value ({float(whole[start]):+.3f}) for "
                                     f"{run_s:.2f} s: {advice}.")
    flat = flatness(x, sr, loud_db=floor)
    if np.isfinite(flat) and flat >= NOISE_FLATNESS and not (profile.flatness * NOISE_RATIO >= flat):
        return Collapse("noise", f"The generated audio sounds like noise (spectral flatness {flat:.2f}, the training "
                                 f"audio's {profile.flatness:.2f}): {advice}.")
    if np.isfinite(flat) and flat >= NOISE_FLATNESS and np.isfinite(profile.level_range_db):
        spread = _spread(levels, floor)
        if spread <= STEADY_DB and profile.level_range_db >= STEADY_RATIO * max(spread, 1.0):
            return Collapse("noise", f"The generated audio is a steady noise (spectral flatness {flat:.2f}, its level "
                                     f"varying by {spread:.0f} dB where the training audio's varies by "
                                     f"{profile.level_range_db:.0f} dB): {advice}.")
    noisy = noisiness(x, sr, loud_db=floor)
    if np.isfinite(noisy) and np.isfinite(profile.noisiness) and noisy >= NOISINESS \
            and noisy >= NOISINESS_RATIO * profile.noisiness:
        return Collapse("noise", f"The generated audio sounds like noise (spectral flatness after pre-emphasis "
                                 f"{noisy:.2f}, the training audio's {profile.noisiness:.2f}): {advice}.")
    return None


def _run_start(x: np.ndarray, run: int) -> int:
    change = np.flatnonzero(np.diff(x) != 0)
    bounds = np.concatenate([[-1], change, [len(x) - 1]])
    k = int(np.argmax(np.diff(bounds) >= run))
    return int(bounds[k] + 1)

"""Audio in and out: read any file libsndfile reads, refuse bad ones plainly, write atomically.

Reading (:func:`load_audio`) gives mono ``float32`` samples in [-1, 1] at the
chosen sample rate, or raises :class:`~wavenet_gui.core.errors.AudioFileError`
whose ``str()`` is one line naming the file and the reason.  What was changed
on the way in is listed, in plain words, in :attr:`LoadedAudio.notes`.

Accept-or-refuse rules
----------------------
========================================  ==========================================================
input                                     answer
========================================  ==========================================================
missing file / folder / not a file        refused: "does not exist" / "is a folder, ..."
empty file (0 bytes)                      refused: "file is empty (0 bytes)"
not audio (also with an audio extension)  refused: "is not an audio file ..."
truncated or damaged header               refused: "the header is truncated or damaged (...)"
truncated data                            accepted with the note "truncated: read N of M frames"
                                          when a prefix is readable, else refused "is truncated"
zero frames                               refused: "has no audio frames"
too short for the model                   refused: "too short: N samples (...); the model needs ..."
digital silence                           refused: "is digital silence; nothing to learn"
a constant level (pure DC, no sound)      refused: "is a constant level (DC) with no sound ..."
NaN / Inf samples                         more than 1 % refused; else replaced by 0, with a note
float data outside [-1, 1]                rescaled to peak 1, with a note
DC offset (``|mean| > 0.01 * scale``)     removed (scale: 1, or the peak if above 1), with a note
2 or more channels                        averaged to mono, with a note
8/16/24/32-bit int, 32/64-bit float       accepted (libsndfile scales integers to [-1, 1))
source rate from 100 Hz to 768 kHz        resampled (soxr, high quality), with a note; a very low
                                          source rate (< 1000 Hz) is accepted and said so
a rate below 100 Hz or above 768 kHz      refused: "declares a sample rate of 1 Hz; ..."
longer than 24 hours                      refused: "is 30.0 hours long; ..." (split it)
quiet audio (peak < 0.01)                 kept as is (never normalised up), with a note
========================================  ==========================================================

Amplitude is otherwise never changed: audio inside [-1, 1] keeps its level.

Files are decoded in blocks (:func:`open_audio`): a first pass checks and measures the
file (NaN count, DC offset, peak), a second yields the finished samples block by block
through soxr's streaming resampler.  Memory is the output (four bytes per sample from
:func:`load_audio`, one from :func:`load_audio_classes`) plus a few blocks, and a
``cancel`` event stops the read between blocks.  :func:`display_envelope` reduces hours
of samples to a min/max per pixel for plotting.
"""

from __future__ import annotations

import io
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import ArrayLike

from wavenet_gui.core.errors import AudioFileError, Cancelled, ConfigError, OutputError
from wavenet_gui.core.fileio import atomic_write, path_length_problem, shorten, write_new_file
from wavenet_gui.core.quantization import Quantizer

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_AUDIO_SECONDS",
    "MAX_SAMPLE_RATE",
    "MAX_SOURCE_RATE",
    "MIN_SAMPLE_RATE",
    "MIN_SOURCE_RATE",
    "WRITE_EXTENSIONS",
    "AudioInfo",
    "AudioStream",
    "Envelope",
    "LoadedAudio",
    "LoadedClasses",
    "audio_info",
    "display_envelope",
    "find_audio_files",
    "load_audio",
    "load_audio_classes",
    "open_audio",
    "save_audio",
    "validate_sample_rate",
]

#: File name extensions (lower case, with the dot) treated as audio when folders are read.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".wav", ".wave", ".bwf", ".rf64", ".w64",
        ".flac", ".ogg", ".oga", ".opus", ".mp3",
        ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf",
        ".voc", ".sph", ".nist", ".svx", ".8svx", ".htk", ".paf", ".mat", ".ircam",
    }
)  # fmt: skip

#: Extensions :func:`save_audio` writes: container, default subtype, allowed subtypes.
WRITE_EXTENSIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    ".wav": ("WAV", "PCM_16", ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")),
    ".flac": ("FLAC", "PCM_16", ("PCM_S8", "PCM_16", "PCM_24")),
    ".ogg": ("OGG", "VORBIS", ("VORBIS",)),
}

# The rates a model may be built for (and audio resampled to), defined with the other settings.
from wavenet_gui.core.config import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE  # noqa: E402

#: More than this fraction of NaN/Inf samples and a file is refused rather than repaired.
MAX_NONFINITE_FRACTION = 0.01
#: A mean above this (in absolute value) is removed as a DC offset.
DC_OFFSET_THRESHOLD = 0.01
#: Peaks below this get a "very quiet" note (the audio is not changed).
QUIET_PEAK = 0.01
#: Source rates below this are accepted with a warning in the resampling note.
LOW_SOURCE_RATE = 1000
#: A file declaring a rate outside [MIN_SOURCE_RATE, MAX_SOURCE_RATE] Hz is refused (a 100 kB
#: file "at 1 Hz" would otherwise become hours of audio).
MIN_SOURCE_RATE = 100
MAX_SOURCE_RATE = 768_000
#: The longest file read (24 hours); longer recordings must be split.
MAX_AUDIO_SECONDS = 24 * 3600
#: Files of up to this many frames stay decoded between the checking pass and the output
#: pass (16 MB as float32); longer files are decoded twice, so memory stays bounded.
CACHE_FRAMES = 1 << 22

_BLOCK_FRAMES = 1 << 16
_MAX_LISTED_SKIPS = 5

# Magic numbers of containers libsndfile reads: a file starting with one of
# these that libsndfile cannot open is damaged, not "not audio".
_MAGIC: tuple[tuple[bytes, int, bytes | None], ...] = (
    (b"RIFF", 8, b"WAVE"),
    (b"RIFX", 8, b"WAVE"),
    (b"RF64", 8, b"WAVE"),
    (b"BW64", 8, b"WAVE"),
    (b"FORM", 8, None),  # AIFF/AIFC/8SVX
    (b"fLaC", 0, None),
    (b"OggS", 0, None),
    (b".snd", 0, None),
    (b"caff", 0, None),
    (b"riff", 0, None),  # Sony Wave64
)


# --------------------------------------------------------------------------- data classes
@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says (see :func:`audio_info`).

    Attributes
    ----------
    path : Path
    duration : float
        Seconds.
    sample_rate : int
        Hz.
    channels : int
    frames : int
        Samples per channel that can be read.
    format : str
        Container, e.g. ``"WAV"``, ``"FLAC"``.
    subtype : str
        Encoding, e.g. ``"PCM_16"``, ``"FLOAT"``, ``"VORBIS"``.
    """

    path: Path
    duration: float
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str


@dataclass(eq=False)
class LoadedAudio:
    """Audio ready for training (see :func:`load_audio`).

    Attributes
    ----------
    path : Path
        The file it came from.
    samples : np.ndarray
        Mono ``float32`` samples in [-1, 1].
    sample_rate : int
        Hz (the rate asked for, not the file's).
    notes : list of str
        What was changed on the way in, one plain phrase each, without the file
        name (show them as ``f"{loaded.path.name}: {note}"``).
    """

    path: Path
    samples: np.ndarray
    sample_rate: int
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


# --------------------------------------------------------------------------- validation
def validate_sample_rate(sample_rate: object, *, field_name: str = "sample_rate") -> int:
    """Check a sample rate asked for by the user and return it as ``int``.

    Parameters
    ----------
    sample_rate : int
        Hz, from 1000 to 192000.
    field_name : str, keyword-only
        Field named in the error.

    Raises
    ------
    ConfigError
        Not a whole number, or outside [1000, 192000].

    Examples
    --------
    >>> validate_sample_rate(16000)
    16000
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        if isinstance(sample_rate, (float, np.floating)) and float(sample_rate).is_integer():
            sample_rate = int(sample_rate)
        else:
            raise ConfigError(field_name, f"must be a whole number of Hz, got {sample_rate!r}")
    rate = int(sample_rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ConfigError(
            field_name, f"must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz, got {rate}"
        )
    return rate


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _libsndfile_message(err: Exception) -> str:
    """libsndfile's own words, without the "Error opening '<path>': " prefix."""
    text = _one_line(getattr(err, "error_string", None) or err)
    text = re.sub(r"^Error opening .*?: ", "", text)
    return text.rstrip(".")


def _check_path(path: str | os.PathLike[str]) -> Path:
    p = Path(os.fspath(path)).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            raise AudioFileError(p, "is a broken link (its target does not exist)") from None
        raise AudioFileError(p, "does not exist") from None
    except PermissionError:
        raise AudioFileError(p, "cannot be read: permission denied") from None
    except OSError as err:
        raise AudioFileError(p, f"cannot be read: {_one_line(err.strerror or err)}") from None
    if p.is_dir():
        raise AudioFileError(p, "is a folder, not an audio file")
    if not p.is_file():
        raise AudioFileError(p, "is not a regular file")
    if st.st_size == 0:
        raise AudioFileError(p, "file is empty (0 bytes)")
    return p


def _looks_like_audio_container(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    for magic, offset, kind in _MAGIC:
        if head.startswith(magic):
            if kind is None or len(head) < offset + len(kind):
                return True
            return head[offset : offset + len(kind)] == kind
    return False


def _open(path: Path) -> sf.SoundFile:
    """Open for reading, turning every failure into an AudioFileError."""
    try:
        return sf.SoundFile(path)
    except PermissionError:
        raise AudioFileError(path, "cannot be read: permission denied") from None
    except sf.LibsndfileError as err:
        message = _libsndfile_message(err)
        if _looks_like_audio_container(path):
            raise AudioFileError(
                path, f"the header is truncated or damaged (libsndfile: {message})"
            ) from None
        if "not recognised" in message.lower() or "unknown format" in message.lower():
            raise AudioFileError(
                path, "is not an audio file this app can read (WAV, FLAC, OGG, AIFF, MP3 and the like)"
            ) from None
        raise AudioFileError(path, f"cannot be read as audio (libsndfile: {message})") from None
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError) as err:
        raise AudioFileError(path, f"cannot be read as audio ({_one_line(err)})") from None
    except OSError as err:
        raise AudioFileError(path, f"cannot be read: {_one_line(err.strerror or err)}") from None


def _promised_frames(f: sf.SoundFile) -> int:
    """Frames the header promises (libsndfile reports only what is there for WAV/AIFF)."""
    frames = int(f.frames)
    try:
        log = f.extra_info
    except Exception:  # pragma: no cover - defensive, extra_info is a plain C call
        return frames
    m = re.search(r"Frame count read from '\w+' chunk \((\d+)\)", log)
    if m:
        frames = max(frames, int(m.group(1)))
    m = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", log, re.MULTILINE)
    align = re.search(r"Block Align\s*:\s*(\d+)", log)
    if m and align and int(align.group(1)) > 0:
        declared = int(m.group(1))
        # 0 and 0xFFFFFFFF are "unknown length" markers of streamed WAV files.
        if 0 < declared < 0xFFFFFFFF:
            frames = max(frames, declared // int(align.group(1)))
    return frames


def _info_from(f: sf.SoundFile, path: Path) -> AudioInfo:
    rate = int(f.samplerate)
    if rate <= 0:
        raise AudioFileError(path, f"the header is damaged (sample rate {rate} Hz)")
    if not MIN_SOURCE_RATE <= rate <= MAX_SOURCE_RATE:
        raise AudioFileError(path, f"declares a sample rate of {rate:,} Hz; audio files have "
                                   f"{MIN_SOURCE_RATE} to {MAX_SOURCE_RATE:,} Hz (a damaged or forged header?)")
    seconds = int(f.frames) / rate
    if seconds > MAX_AUDIO_SECONDS:
        raise AudioFileError(path, f"is {seconds / 3600:.1f} hours long; files of at most "
                                   f"{MAX_AUDIO_SECONDS // 3600} hours are read (split it into parts)")
    return AudioInfo(
        path=path,
        duration=int(f.frames) / rate,
        sample_rate=rate,
        channels=int(f.channels),
        frames=int(f.frames),
        format=str(f.format),
        subtype=str(f.subtype),
    )


def _no_frames(f: sf.SoundFile, path: Path, promised: int) -> AudioFileError:
    """The error for a file with no readable frames: empty by design, or cut short."""
    if promised > 0:
        return AudioFileError(
            path, f"is truncated: the header promises {promised:,} frames but holds no audio"
        )
    try:
        log = f.extra_info.lower()
    except Exception:  # pragma: no cover - defensive
        log = ""
    if "unexpectedly" in log or "truncat" in log:
        return AudioFileError(
            path, "is truncated or damaged: no complete audio frames could be found"
        )
    return AudioFileError(path, "has no audio frames (0 samples)")


def _seconds(n: int, rate: int) -> str:
    return f"{n / rate:.3f} s"


def _too_short(path: Path, n: int, rate: int, min_samples: int) -> AudioFileError:
    return AudioFileError(
        path,
        f"too short: {n:,} samples ({_seconds(n, rate)} at {rate} Hz); the model needs at least "
        f"{min_samples:,} samples ({_seconds(min_samples, rate)})",
    )


# --------------------------------------------------------------------------- reading
def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read only the header of an audio file (fast; no samples are decoded).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    AudioInfo

    Raises
    ------
    AudioFileError
        Missing, a folder, empty, not audio, a damaged header or no frames.
        Problems inside the samples (silence, NaN, truncated compressed data)
        are only found by :func:`load_audio`.

    Examples
    --------
    >>> info = audio_info("speech.wav")  # doctest: +SKIP
    >>> info.duration, info.sample_rate, info.channels  # doctest: +SKIP
    (2.5, 44100, 2)
    """
    p = _check_path(path)
    with _open(p) as f:
        info = _info_from(f, p)
        if info.frames == 0:
            raise _no_frames(f, p, _promised_frames(f))
    return info


class _Stats:
    """What the first pass over a file finds (see :func:`_mono_blocks`)."""

    def __init__(self) -> None:
        self.read = 0
        self.nonfinite = 0
        self.total = 0.0  # float64 sum of the mono samples
        self.lo = math.inf
        self.hi = -math.inf
        self.failed = False


def _check_cancel(path: Path, cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{path.name}: reading was cancelled")


def _mono_blocks(path: Path, f: sf.SoundFile, frames: int, stats: _Stats,
                 cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
    """Decode up to ``frames`` frames block by block, mixed to mono (float32).

    NaN/Inf samples are set to 0 and counted in ``stats``.  A decoding error stops the
    read and keeps what came before (after retrying the failing block in smaller pieces
    from a fresh handle).  ``cancel`` is checked before every block.
    """
    channels = int(f.channels)
    block = _BLOCK_FRAMES
    handle = f
    try:
        while stats.read < frames:
            _check_cancel(path, cancel)
            try:
                data = handle.read(min(block, frames - stats.read), dtype="float32", always_2d=True)
            except (sf.SoundFileError, RuntimeError):
                stats.failed = True
                if block <= 256:
                    break
                block //= 16
                if handle is not f:
                    handle.close()
                try:
                    handle = sf.SoundFile(path)
                    handle.seek(stats.read)
                except Exception:
                    break
                continue
            n = len(data)
            if n == 0:
                break
            bad = ~np.isfinite(data)
            count = int(bad.sum())
            if count:
                stats.nonfinite += count
                data[bad] = 0.0
            if channels == 1:
                mono = np.ascontiguousarray(data[:, 0])
            else:  # the mean over channels in float64, one column at a time (a strided
                # reduction over a short axis is several times slower)
                acc = data[:, 0].astype(np.float64)
                for c in range(1, channels):
                    acc += data[:, c]
                acc /= channels
                mono = acc.astype(np.float32)
            stats.read += n
            stats.total += float(mono.sum(dtype=np.float64))
            stats.lo = min(stats.lo, float(mono.min()))
            stats.hi = max(stats.hi, float(mono.max()))
            yield mono
    finally:
        if handle is not f:
            handle.close()


class AudioStream:
    """An audio file being read in blocks: checked and measured, then decoded block by block.

    Made by :func:`open_audio`, which reads the file once to check it and to find what
    must be changed (mono mix, NaN repair, DC offset, level); :meth:`blocks` then yields
    the finished samples (mono float32 in [-1, 1] at :attr:`sample_rate`) a block at a
    time, resampled with soxr's streaming resampler, so memory stays at a few blocks
    whatever the file's length.  Files of at most :data:`CACHE_FRAMES` frames are kept
    decoded between the two passes; longer ones are decoded twice.

    Attributes
    ----------
    path : Path
    info : AudioInfo
        What the header says.
    sample_rate : int
        The rate of the blocks (Hz).
    notes : list of str
        What is changed on the way in (see :func:`load_audio`).
    max_samples : int
        An upper bound on the samples :meth:`blocks` yields (a few above the exact count).
    """

    def __init__(self, path: Path, info: AudioInfo, rate: int, frames: int, notes: list[str],
                 shift: np.float32, gain: np.float32 | None, cached: list[np.ndarray] | None,
                 cancel: threading.Event | None) -> None:
        self.path = path
        self.info = info
        self.sample_rate = rate
        self.notes = notes
        self.max_samples = math.ceil(frames * rate / info.sample_rate) + 2
        self._frames = frames
        self._shift = shift
        self._gain = gain
        self._cached = cached
        self._cancel = cancel

    def _source(self) -> Iterator[np.ndarray]:
        if self._cached is not None:
            for block in self._cached:
                _check_cancel(self.path, self._cancel)
                yield block
            return
        with _open(self.path) as f:
            stats = _Stats()
            yield from _mono_blocks(self.path, f, self._frames, stats, self._cancel)
        if stats.read != self._frames:
            raise AudioFileError(self.path, "changed while it was being read")

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the finished samples, mono float32 in [-1, 1] at :attr:`sample_rate`, block by block.

        Raises :class:`~wavenet_gui.core.errors.Cancelled` when the ``cancel`` event is set.
        """
        resampler = None
        if self.info.sample_rate != self.sample_rate:
            import soxr

            resampler = soxr.ResampleStream(self.info.sample_rate, self.sample_rate, 1, dtype="float32",
                                            quality="HQ")
        for x in self._source():
            x = x.copy() if self._cached is not None else x
            if self._shift:
                x -= self._shift
            if self._gain is not None:
                x /= self._gain
            if resampler is not None:
                x = resampler.resample_chunk(x, last=False)
            np.clip(x, -1.0, 1.0, out=x)
            if len(x):
                yield x
        if resampler is not None:
            x = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            np.clip(x, -1.0, 1.0, out=x)
            if len(x):
                yield x


def _check_min_samples(min_samples: object) -> int:
    if isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)):
        raise ConfigError("min_samples", f"must be a whole number, got {min_samples!r}")
    if min_samples < 1:
        raise ConfigError("min_samples", f"must be at least 1, got {min_samples}")
    return int(min_samples)


def open_audio(path: str | os.PathLike[str], *, sample_rate: int, min_samples: int = 1,
               cancel: threading.Event | None = None) -> AudioStream:
    """Check an audio file and measure it (one pass, bounded memory); decode it with ``.blocks()``.

    Everything :func:`load_audio` refuses is refused here, before any output is made.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads.
    sample_rate : int, keyword-only
        Target rate in Hz, 1000 to 192000.
    min_samples : int, keyword-only
        Refuse files shorter than this after resampling.  Default 1.
    cancel : threading.Event, optional, keyword-only
        Checked between blocks, here and in ``.blocks()``; when set,
        :class:`~wavenet_gui.core.errors.Cancelled` is raised.

    Returns
    -------
    AudioStream

    Raises
    ------
    ConfigError
        ``sample_rate`` or ``min_samples`` is invalid.
    AudioFileError
        The file is refused; ``str(err)`` is one line naming the file.
    Cancelled
        ``cancel`` was set.

    Examples
    --------
    >>> stream = open_audio("speech.wav", sample_rate=16000)  # doctest: +SKIP
    >>> sum(len(b) for b in stream.blocks())  # doctest: +SKIP
    40000
    """
    rate = validate_sample_rate(sample_rate)
    min_samples = _check_min_samples(min_samples)
    p = _check_path(path)
    notes: list[str] = []
    stats = _Stats()
    cached: list[np.ndarray] | None = []
    with _open(p) as f:
        info = _info_from(f, p)
        promised = _promised_frames(f)
        if info.frames == 0:
            raise _no_frames(f, p, promised)
        expected = math.floor(info.frames * rate / info.sample_rate)
        if expected < min_samples:
            raise _too_short(p, expected, rate, min_samples)
        for block in _mono_blocks(p, f, info.frames, stats, cancel):
            if cached is not None:
                cached.append(block)
                if stats.read > CACHE_FRAMES:
                    cached = None  # too long to keep: decoded again by .blocks()

    read = stats.read
    if read == 0:
        raise AudioFileError(
            p, f"is truncated or damaged: none of its {promised:,} frames could be decoded"
        )
    if read < promised:
        notes.append(f"truncated: read {read:,} of {promised:,} frames")
    if stats.nonfinite:
        fraction = stats.nonfinite / (read * info.channels)
        if fraction > MAX_NONFINITE_FRACTION:
            raise AudioFileError(
                p,
                f"has {stats.nonfinite:,} NaN/Inf samples ({fraction:.1%} of the file); "
                "too many to repair",
            )
        notes.append(f"replaced {stats.nonfinite:,} NaN/Inf samples with 0")
    if info.channels > 1:
        notes.append(f"mixed {info.channels} channels to mono")

    lo, hi = stats.lo, stats.hi
    if lo == hi:
        if lo == 0.0:
            raise AudioFileError(p, "is digital silence; nothing to learn")
        raise AudioFileError(
            p, f"is a constant level ({lo:+.3g}, DC) with no sound; nothing to learn"
        )
    # The DC threshold is relative to full scale, i.e. to the peak when the
    # data are rescaled below (loud float files).
    mean = stats.total / read
    scale = max(1.0, abs(lo), abs(hi))
    shift = np.float32(0.0)
    if abs(mean) > DC_OFFSET_THRESHOLD * scale:
        shift = np.float32(mean)
        notes.append(f"removed a DC offset of {mean:+.3g}")
    # float32 subtraction is monotonic: the largest |x - shift| is at the smallest or largest x
    peak = float(max(abs(np.float32(hi) - shift), abs(np.float32(lo) - shift)))
    gain = None
    if peak > 1.0:
        gain = np.float32(peak)
        notes.append(f"rescaled to peak 1 (the peak was {peak:.3g}, outside [-1, 1])")
    elif peak < QUIET_PEAK:
        notes.append(f"very quiet (peak {peak:.4f}); kept as is")
    if info.sample_rate != rate:
        note = f"resampled from {info.sample_rate} Hz to {rate} Hz"
        if info.sample_rate < LOW_SOURCE_RATE:
            note += f" (a very low source rate: nothing above {info.sample_rate // 2} Hz)"
        notes.append(note)
    return AudioStream(p, info, rate, read, notes, shift, gain, cached, cancel)


def _collect(stream: AudioStream, min_samples: int, dtype: np.dtype,
             convert=None) -> np.ndarray:
    """Every block of ``stream`` into one array of ``dtype`` (one allocation, no float64)."""
    out = np.empty(stream.max_samples, dtype=dtype)
    n = 0
    for block in stream.blocks():
        k = len(block)
        if n + k > len(out):  # never expected: soxr makes at most ceil(n * ratio) samples
            out = np.concatenate([out[:n], np.empty(max(k, len(out) // 8), dtype=dtype)])
        out[n:n + k] = convert(block) if convert is not None else block
        n += k
    if n < min_samples:
        raise _too_short(stream.path, n, stream.sample_rate, min_samples)
    return out[:n]


def load_audio(
    path: str | os.PathLike[str], *, sample_rate: int, min_samples: int = 1,
    cancel: threading.Event | None = None,
) -> LoadedAudio:
    """Read an audio file as mono float32 in [-1, 1] at ``sample_rate``.

    See the module docstring for what is accepted (and noted) and what is
    refused.  The file is decoded in blocks (see :func:`open_audio`): memory holds
    the result and a few blocks, never the whole file as float.  For training data,
    :func:`load_audio_classes` holds one byte per sample instead of four.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads (WAV, FLAC, OGG, AIFF, ...).
    sample_rate : int, keyword-only
        Target rate in Hz, 1000 to 192000; the file is resampled to it.
    min_samples : int, keyword-only
        Refuse files with fewer samples than this after resampling (e.g. the
        model's training window).  Default 1.
    cancel : threading.Event, optional, keyword-only
        Checked between blocks: set it (e.g. when the window closes) and
        :class:`~wavenet_gui.core.errors.Cancelled` is raised within one block.

    Returns
    -------
    LoadedAudio
        Samples plus :attr:`LoadedAudio.notes` saying what was changed.

    Raises
    ------
    ConfigError
        ``sample_rate`` or ``min_samples`` is invalid.
    AudioFileError
        The file is refused; ``str(err)`` is one line naming the file.
    Cancelled
        ``cancel`` was set.

    Examples
    --------
    >>> audio = load_audio("speech.wav", sample_rate=16000)  # doctest: +SKIP
    >>> audio.samples.dtype, audio.notes  # doctest: +SKIP
    (dtype('float32'), ['mixed 2 channels to mono', 'resampled from 44100 Hz to 16000 Hz'])
    """
    stream = open_audio(path, sample_rate=sample_rate, min_samples=min_samples, cancel=cancel)
    x = _collect(stream, int(min_samples), np.dtype(np.float32))
    return LoadedAudio(path=stream.path, samples=x, sample_rate=stream.sample_rate, notes=stream.notes)


@dataclass(eq=False)
class LoadedClasses:
    """Audio quantized for training, one byte per sample (see :func:`load_audio_classes`).

    Attributes
    ----------
    path : Path
    classes : np.ndarray
        ``uint8`` classes (``uint16`` above 256 classes), one per sample.
    sample_rate : int
    notes : list of str
        What was changed on the way in, as in :class:`LoadedAudio`.
    """

    path: Path
    classes: np.ndarray
    sample_rate: int
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.classes) / self.sample_rate


def load_audio_classes(
    path: str | os.PathLike[str], *, sample_rate: int, quantizer: Quantizer, min_samples: int = 1,
    cancel: threading.Event | None = None,
) -> LoadedClasses:
    """Read an audio file straight into quantized classes, block by block.

    The same checks, repairs and notes as :func:`load_audio`, and the same classes as
    ``quantizer.encode(load_audio(...).samples)``, but the file is never held as
    float: memory is the classes (one byte per sample up to 256 classes) plus a few
    blocks.  A 6-hour 44.1 kHz stereo WAV read at 8 kHz peaks at about 0.2 GB
    (see ``bench/long_audio.py``).

    Parameters
    ----------
    path : str or os.PathLike
    sample_rate : int, keyword-only
        Target rate in Hz, 1000 to 192000.
    quantizer : Quantizer, keyword-only
        The model's quantizer.
    min_samples : int, keyword-only
        Refuse files shorter than this after resampling.
    cancel : threading.Event, optional, keyword-only
        Checked between blocks (raises :class:`~wavenet_gui.core.errors.Cancelled`).

    Returns
    -------
    LoadedClasses

    Raises
    ------
    ConfigError, AudioFileError, Cancelled
        As :func:`load_audio`.

    Examples
    --------
    >>> from wavenet_gui.core.quantization import Quantizer
    >>> from wavenet_gui.resources import example_clip_path
    >>> clip = load_audio_classes(example_clip_path(), sample_rate=8000, quantizer=Quantizer(256))
    >>> clip.classes.dtype, clip.sample_rate
    (dtype('uint8'), 8000)
    """
    stream = open_audio(path, sample_rate=sample_rate, min_samples=min_samples, cancel=cancel)
    dtype = quantizer.storage_dtype
    classes = _collect(stream, int(min_samples), dtype, convert=quantizer.encode)
    return LoadedClasses(path=stream.path, classes=classes, sample_rate=stream.sample_rate, notes=stream.notes)


# --------------------------------------------------------------------------- display
@dataclass(frozen=True)
class Envelope:
    """Min and max of the samples in consecutive buckets, for drawing a long waveform.

    Attributes
    ----------
    starts : np.ndarray
        int64, the index of each bucket's first sample.
    lo, hi : np.ndarray
        float32, the smallest and largest value in each bucket.
    bucket : int
        Samples per bucket (the last bucket may hold fewer).
    """

    starts: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    bucket: int

    def as_line(self, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds, values)`` of one line through every bucket's min then max (2 points per bucket).

        Drawn as one connected line, this fills the band the waveform covers; with one sample per
        bucket it is the waveform itself.
        """
        t = np.repeat(self.starts.astype(np.float64) / float(sample_rate), 2)
        y = np.empty(2 * len(self.lo), dtype=np.float32)
        y[0::2], y[1::2] = self.lo, self.hi
        return t, y


def display_envelope(samples: np.ndarray, *, n_buckets: int, start: int = 0, stop: int | None = None,
                     quantizer: Quantizer | None = None) -> Envelope:
    """Min/max of ``samples[start:stop]`` per bucket, at most ``n_buckets`` buckets (e.g. pixels).

    Works in the samples' own dtype (float32 audio or uint8/uint16 classes): no float64
    copy of the whole array is made, so hours of audio are drawn with a few thousand
    points.  Classes are decoded after the reduction (decoding is monotonic).

    Parameters
    ----------
    samples : np.ndarray
        1-D float audio, or integer classes when ``quantizer`` is given.
    n_buckets : int, keyword-only
        At most this many buckets (at least 1), e.g. the plot's width in pixels.
    start, stop : int, keyword-only
        The range to draw (a zoomed view); default the whole array.
    quantizer : Quantizer, optional, keyword-only
        Decode class extremes to audio values.

    Returns
    -------
    Envelope

    Raises
    ------
    ConfigError
        ``samples`` is not 1-D, or ``n_buckets`` is not a whole number >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> env = display_envelope(np.sin(np.arange(48000, dtype=np.float32) / 10), n_buckets=1000)
    >>> len(env.lo), env.bucket, float(env.hi.max()) > 0.99
    (1000, 48, True)
    """
    a = np.asarray(samples)
    if a.ndim != 1:
        raise ConfigError("samples", f"must be one channel (1-D), got shape {a.shape}")
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)) or n_buckets < 1:
        raise ConfigError("n_buckets", f"must be a whole number >= 1, got {n_buckets!r}")
    start, stop, _ = slice(start, stop).indices(len(a))
    x = a[start:max(start, stop)]
    n = len(x)
    if n == 0:
        empty = np.zeros(0, np.float32)
        return Envelope(np.zeros(0, np.int64), empty, empty.copy(), 1)
    bucket = -(-n // int(n_buckets))
    full = n // bucket
    lo_parts, hi_parts = [], []
    if full:
        body = x[:full * bucket].reshape(full, bucket)
        lo_parts.append(body.min(axis=1))
        hi_parts.append(body.max(axis=1))
    if full * bucket < n:
        tail = x[full * bucket:]
        lo_parts.append(tail.min(keepdims=True))
        hi_parts.append(tail.max(keepdims=True))
    lo, hi = np.concatenate(lo_parts), np.concatenate(hi_parts)
    if quantizer is not None:
        lo, hi = quantizer.decode(lo), quantizer.decode(hi)
    starts = start + np.arange(len(lo), dtype=np.int64) * bucket
    return Envelope(starts, np.asarray(lo, np.float32), np.asarray(hi, np.float32), bucket)


# --------------------------------------------------------------------------- folders
def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def find_audio_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> tuple[list[Path], list[str]]:
    """Expand files and folders (recursively) into a list of audio files.

    Folders are walked recursively in sorted order; their files are kept when
    the extension is in :data:`AUDIO_EXTENSIONS` (case-insensitive).  Hidden
    files and folders (names starting with ``.``, e.g. macOS ``._x.wav``) are
    skipped.  Files named directly are kept when their extension is audio.
    Whether a kept file really is usable audio is decided by :func:`load_audio`.

    Parameters
    ----------
    paths : path or iterable of paths
        Files and folders, as dropped on the window or given to ``--wav``.

    Returns
    -------
    files : list of Path
        Audio files, in the order given (folders sorted), without duplicates.
    skipped : list of str
        One line per thing skipped, e.g. ``"notes.txt: skipped, not an audio
        file"``; when a folder holds many, one line with their count.

    Raises
    ------
    AudioFileError
        A path given directly does not exist.

    Examples
    --------
    >>> files, skipped = find_audio_files(["recordings/"])  # doctest: +SKIP
    >>> skipped  # doctest: +SKIP
    ['cover.jpg: skipped, not an audio file']
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    skipped: list[str] = []
    seen: set[Path] = set()

    def keep(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for item in paths:
        p = Path(os.fspath(item)).expanduser()
        problem = path_length_problem(p)
        if problem:
            raise AudioFileError(shorten(p.name), problem)
        if not p.exists():
            if p.is_symlink():
                raise AudioFileError(p, "is a broken link (its target does not exist)")
            raise AudioFileError(p, "does not exist")
        if p.is_dir():
            found, not_audio, hidden = _walk(p)
            for f in found:
                keep(f)
            if len(not_audio) <= _MAX_LISTED_SKIPS:
                skipped.extend(f"{q.relative_to(p)}: skipped, not an audio file" for q in not_audio)
            else:
                exts = sorted({q.suffix.lower() or "(no extension)" for q in not_audio})
                shown = ", ".join(exts[:6]) + (", ..." if len(exts) > 6 else "")
                skipped.append(
                    f"{p.name}: skipped {len(not_audio)} files that are not audio ({shown})"
                )
            if hidden:
                skipped.append(f"{p.name}: skipped {hidden} hidden files or folders")
            if not found:
                skipped.append(f"{p.name}: the folder holds no audio files")
        elif p.suffix.lower() in AUDIO_EXTENSIONS:
            keep(p)
        else:
            skipped.append(f"{p.name}: skipped, not an audio file")
    return files, skipped


def _walk(folder: Path) -> tuple[list[Path], list[Path], int]:
    """Audio files, non-audio files (both sorted by path) and the hidden count under ``folder``."""
    audio: list[Path] = []
    other: list[Path] = []
    hidden = 0
    for root, dirs, names in os.walk(folder, followlinks=False):
        kept_dirs = sorted(d for d in dirs if not _is_hidden(d))
        hidden += len(dirs) - len(kept_dirs)
        dirs[:] = kept_dirs
        for name in sorted(names):
            if _is_hidden(name):
                hidden += 1
                continue
            q = Path(root) / name
            if not q.is_file():
                continue
            (audio if q.suffix.lower() in AUDIO_EXTENSIONS else other).append(q)

    def order(q: Path) -> tuple[str, ...]:
        return q.relative_to(folder).parts

    return sorted(audio, key=order), sorted(other, key=order), hidden


# --------------------------------------------------------------------------- writing
def save_audio(
    path: str | os.PathLike[str],
    samples: ArrayLike,
    *,
    sample_rate: int,
    subtype: str | None = None,
    exclusive: bool = False,
) -> Path:
    """Write mono audio atomically; the format follows the extension.

    Parameters
    ----------
    path : str or os.PathLike
        ``.wav`` (PCM_16 by default; PCM_U8, PCM_24, PCM_32, FLOAT, DOUBLE),
        ``.flac`` (PCM_16 by default; PCM_S8, PCM_24) or ``.ogg`` (Vorbis).
        The folder must exist (see :func:`~wavenet_gui.core.fileio.check_writable_dir`).
    samples : array_like of float
        1-D samples; clipped to [-1, 1], NaN written as 0.
    sample_rate : int, keyword-only
        Hz, 1000 to 192000.
    subtype : str, optional, keyword-only
        libsndfile subtype for the container, e.g. ``"FLOAT"`` for 32-bit float WAV.
    exclusive : bool, keyword-only
        Never replace a file: when ``path`` exists (or another process takes the name at
        the same moment) the file is named ``stem-2.wav``, ``stem-3.wav``, ...
        (:func:`~wavenet_gui.core.fileio.write_new_file`).  Default False: replace.

    Returns
    -------
    Path
        The file written: ``path``, or with ``exclusive`` the numbered name it got.

    Raises
    ------
    OutputError
        Unknown extension, or the file cannot be written (full disk, no
        permission, ...); nothing is left half-written.
    ConfigError
        Bad ``samples`` (field ``"samples"``), ``sample_rate`` or ``subtype``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "tone.wav"
    >>> t = np.arange(8000) / 8000
    >>> save_audio(out, 0.5 * np.sin(2 * np.pi * 440 * t), sample_rate=8000) == out
    True
    """
    p = Path(os.fspath(path)).expanduser()
    ext = p.suffix.lower()
    if ext not in WRITE_EXTENSIONS:
        raise OutputError(
            p, f"unknown audio extension {ext or '(none)'!r}; use .wav, .flac or .ogg"
        )
    container, default_subtype, allowed = WRITE_EXTENSIONS[ext]
    chosen = default_subtype if subtype is None else str(subtype).upper()
    if chosen not in allowed:
        raise ConfigError("subtype", f"{ext} files can be {', '.join(allowed)}; got {subtype!r}")
    rate = validate_sample_rate(sample_rate)
    try:
        data = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("samples", "must be numbers") from None
    if data.ndim == 2 and 1 in data.shape:
        data = data.reshape(-1)
    if data.ndim != 1:
        raise ConfigError("samples", f"must be one mono channel (1-D), got shape {data.shape}")
    data = np.clip(np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    data = data.astype(np.float64 if chosen == "DOUBLE" else np.float32)
    # Encode in memory first: libsndfile calls back into Python to write, and
    # an OSError raised inside that callback (a full disk) would be lost.  A
    # plain write of the bytes lets atomic_write report it.
    buffer = io.BytesIO()
    try:
        sf.write(buffer, data, rate, subtype=chosen, format=container)
    except (sf.SoundFileError, RuntimeError) as err:
        raise OutputError(
            p, f"could not encode {container}/{chosen} ({_libsndfile_message(err)})"
        ) from None
    if exclusive:
        return write_new_file(p, buffer.getbuffer())
    with atomic_write(p) as f:
        f.write(buffer.getbuffer())
    return p

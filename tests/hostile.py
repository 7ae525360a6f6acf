"""A corpus of hostile audio inputs (issue 5), written on demand into a folder.

Every case says whether the core must accept or refuse it and which words the
one-line reason (refused) or one of the notes (accepted) must contain, when the
file is loaded with ``load_audio(path, sample_rate=HOSTILE_SAMPLE_RATE,
min_samples=HOSTILE_MIN_SAMPLES)``: 8 kHz and the receptive field of a model
with 10 dilations in 2 blocks (2047 samples).

One case is a folder (``case.path.is_dir()``): it is accepted by expanding it
with ``find_audio_files`` (a skipped-note must contain ``note_contains``) and
every audio file in it loads.  One case (``missing``) is a path that does not
exist.  Use the fixture ``hostile_corpus`` (``tests/conftest.py``) to get the
cases, and :data:`HOSTILE_LABELS` to parametrize tests.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

__all__ = [
    "HOSTILE_LABELS",
    "HOSTILE_MIN_SAMPLES",
    "HOSTILE_SAMPLE_RATE",
    "HostileCase",
    "write_hostile_corpus",
]

HOSTILE_SAMPLE_RATE = 8000
HOSTILE_MIN_SAMPLES = 2047


@dataclass(frozen=True)
class HostileCase:
    """One hostile input and what the core must answer.

    Attributes
    ----------
    path : Path
        The file (or folder, or missing path).
    expect : {"accept", "refuse"}
    reason_contains : str or None
        Words the one-line error must contain (refused cases).
    note_contains : str or None
        Words one of the notes must contain (accepted cases; ``None`` means
        nothing is required, not that there are no notes).
    label : str
        Short identifier, e.g. for pytest ids.
    """

    path: Path
    expect: Literal["accept", "refuse"]
    reason_contains: str | None
    note_contains: str | None
    label: str = ""


# --------------------------------------------------------------------- signals
def _tone(seconds: float, rate: int, *, amplitude: float = 0.5, channels: int = 1) -> np.ndarray:
    """A 220 Hz tone with a little noise; channels differ in phase."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    rng = np.random.default_rng(n + channels)
    cols = [
        amplitude * (0.9 * np.sin(2 * np.pi * 220 * t + c) + 0.1 * rng.uniform(-1, 1, n))
        for c in range(channels)
    ]
    x = np.stack(cols, axis=1) if channels > 1 else cols[0]
    return x.astype(np.float32)


SR = HOSTILE_SAMPLE_RATE


def _wav(subtype: str = "PCM_16", *, seconds: float = 0.3, rate: int = SR, channels: int = 1,
         amplitude: float = 0.5, fmt: str | None = None) -> Callable[[Path], None]:  # fmt: skip
    def write(path: Path) -> None:
        x = _tone(seconds, rate, amplitude=amplitude, channels=channels)
        sf.write(path, x, rate, subtype=subtype, format=fmt)

    return write


def _data(values: Callable[[], np.ndarray], subtype: str = "FLOAT") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        sf.write(path, values(), SR, subtype=subtype, format="WAV")

    return write


def _bytes(content: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(content)

    return write


def _cut(writer: Callable[[Path], None], fraction: float | None = None, *,
         keep: int | None = None) -> Callable[[Path], None]:  # fmt: skip
    """Write a good file, then keep only its first bytes."""

    def write(path: Path) -> None:
        writer(path)
        data = path.read_bytes()
        n = keep if keep is not None else int(len(data) * float(fraction or 0))
        path.write_bytes(data[:n])

    return write


def _header_only_wav(frames: int) -> Callable[[Path], None]:
    """A 16-bit mono WAV header that promises ``frames`` frames and holds none."""

    def write(path: Path) -> None:
        data_bytes = frames * 2
        header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, SR, SR * 2, 2, 16)
        header += b"data" + struct.pack("<I", data_bytes)
        path.write_bytes(header)

    return write


def _with_bad(kind: float, count: int) -> Callable[[], np.ndarray]:
    def values() -> np.ndarray:
        x = _tone(0.3, SR)
        idx = np.linspace(10, len(x) - 10, count).astype(int)
        x[idx] = kind
        if np.isinf(kind):
            x[idx[::2]] = -kind
        return x

    return values


def _folder(path: Path) -> None:
    (path / "sub" / "deeper").mkdir(parents=True)
    (path / ".git").mkdir()
    sf.write(path / "a.wav", _tone(0.3, SR), SR)
    sf.write(path / "sub" / "b.flac", _tone(0.3, 16000), 16000)
    sf.write(path / "sub" / "deeper" / "c.ogg", _tone(0.4, SR), SR)
    (path / "readme.txt").write_text("not audio\n")
    (path / "sub" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(60))
    (path / "._a.wav").write_bytes(b"\x00\x05\x16\x07" + bytes(60))  # macOS resource fork
    (path / ".git" / "config").write_text("[core]\n")


@dataclass(frozen=True)
class _Spec:
    label: str
    name: str
    write: Callable[[Path], None] | None
    expect: Literal["accept", "refuse"]
    reason: str | None = None
    note: str | None = None


_GOOD = _wav()

_SPECS: tuple[_Spec, ...] = (
    # not there / not a file / nothing in it
    _Spec("missing", "missing.wav", None, "refuse", "does not exist"),
    _Spec("empty", "empty.wav", _bytes(b""), "refuse", "empty"),
    _Spec("text_as_wav", "notes really.wav", _bytes(b"These are my notes, not audio.\n" * 20),
          "refuse", "not an audio file"),
    _Spec("random_as_flac", "random.flac",
          _bytes(np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8).tobytes()),
          "refuse", "not an audio file"),
    _Spec("png_as_ogg", "picture.ogg", _bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)),
          "refuse", "not an audio file"),
    # damaged
    _Spec("truncated_header", "truncated header.wav", _cut(_GOOD, keep=30), "refuse", "header"),
    _Spec("truncated_header_ogg", "truncated header.ogg", _cut(_wav(fmt="OGG", subtype="VORBIS"),
          keep=40), "refuse", "truncated"),
    _Spec("truncated_data_wav", "truncated data.wav", _cut(_wav(seconds=0.5), 0.7),
          "accept", None, "truncated: read"),
    _Spec("truncated_data_flac", "truncated data.flac",
          _cut(_wav(seconds=1.0, fmt="FLAC"), 0.6), "accept", None, "truncated: read"),
    _Spec("truncated_no_data", "no data.wav", _header_only_wav(4000), "refuse", "truncated"),
    _Spec("zero_frames", "zero frames.wav",
          lambda p: sf.write(p, np.zeros(0, np.float32), SR), "refuse", "no audio frames"),
    # too short for the model
    _Spec("too_short", "short.wav", _wav(seconds=1000 / SR), "refuse", "too short"),
    _Spec("too_short_after_resampling", "short 44k.wav", _wav(seconds=0.11, rate=44100),
          "refuse", "too short"),
    # content
    _Spec("digital_silence", "silence.wav", _data(lambda: np.zeros(2400, np.float32), "PCM_16"),
          "refuse", "digital silence"),
    _Spec("constant_dc", "constant.wav", _data(lambda: np.full(2400, 0.5, np.float32), "PCM_16"),
          "refuse", "constant level"),
    _Spec("nan_many", "many nan.wav", _data(_with_bad(np.nan, 240)), "refuse", "NaN/Inf"),
    _Spec("nan_few", "few nan.wav", _data(_with_bad(np.nan, 5)), "accept", None, "NaN/Inf"),
    _Spec("inf_many", "many inf.wav", _data(_with_bad(np.inf, 240)), "refuse", "NaN/Inf"),
    _Spec("inf_few", "few inf.wav", _data(_with_bad(np.inf, 4)), "accept", None, "NaN/Inf"),
    _Spec("float_far_outside", "loud float.wav", _wav("FLOAT", amplitude=40.0),
          "accept", None, "rescaled to peak 1"),
    _Spec("float_double_outside", "loud double.wav", _wav("DOUBLE", amplitude=3.0),
          "accept", None, "rescaled to peak 1"),
    _Spec("dc_offset", "dc offset.wav", _data(lambda: _tone(0.3, SR, amplitude=0.3) + 0.4,
          "PCM_16"), "accept", None, "DC offset"),
    _Spec("quiet", "quiet.wav", _wav(amplitude=0.004), "accept", None, "very quiet"),
    # channels
    *(
        _Spec(f"channels_{c}", f"{c} channels.wav", _wav(channels=c), "accept", None,
              f"mixed {c} channels")
        for c in range(2, 9)
    ),
    # sample formats
    _Spec("pcm_u8", "u8.wav", _wav("PCM_U8"), "accept"),
    _Spec("pcm_s8", "s8.aiff", _wav("PCM_S8", fmt="AIFF"), "accept"),
    _Spec("pcm_16", "pcm16.wav", _wav("PCM_16"), "accept"),
    _Spec("pcm_24", "pcm24.wav", _wav("PCM_24"), "accept"),
    _Spec("pcm_32", "pcm32.wav", _wav("PCM_32"), "accept"),
    _Spec("float", "float.wav", _wav("FLOAT"), "accept"),
    _Spec("double", "double.wav", _wav("DOUBLE"), "accept"),
    _Spec("ulaw", "ulaw.wav", _wav("ULAW"), "accept"),
    _Spec("aiff", "pcm16.aiff", _wav("PCM_16", fmt="AIFF"), "accept"),
    # sample rates
    _Spec("rate_100", "100 Hz.wav", _wav(seconds=0.5, rate=100), "accept", None,
          "resampled from 100 Hz"),
    _Spec("rate_192k", "192 kHz.wav", _wav(seconds=0.3, rate=192000), "accept", None,
          "resampled from 192000 Hz"),
    # containers
    _Spec("flac", "tone.flac", _wav("PCM_16", fmt="FLAC"), "accept"),
    _Spec("flac_24", "tone 24.flac", _wav("PCM_24", fmt="FLAC"), "accept"),
    _Spec("ogg", "tone.ogg", _wav("VORBIS", seconds=0.4, fmt="OGG"), "accept"),
    # names
    _Spec("name_spaces", "my  recording  (take 2).wav", _GOOD, "accept"),
    _Spec("name_non_ascii", "Grüße ñandú 音声 Ωμέγα.flac", _wav(fmt="FLAC"), "accept"),
    _Spec("upper_case_extension", "SHOUT.WAV", _GOOD, "accept"),
    # a folder read recursively
    _Spec("folder", "nested folder", _folder, "accept", None, "skipped, not an audio file"),
)

#: Labels of every case, in corpus order (for ``pytest.mark.parametrize``).
HOSTILE_LABELS: tuple[str, ...] = tuple(s.label for s in _SPECS)


def write_hostile_corpus(folder: Path) -> list[HostileCase]:
    """Write every hostile input into ``folder`` (which must exist and be empty).

    Files go to ``folder / "files"``, the nested folder case to ``folder / "folders"``.

    Returns
    -------
    list of HostileCase
        In the order of :data:`HOSTILE_LABELS`.
    """
    files = Path(folder) / "files"
    folders = Path(folder) / "folders"
    files.mkdir(parents=True, exist_ok=True)
    folders.mkdir(parents=True, exist_ok=True)
    cases = []
    for spec in _SPECS:
        if spec.write is _folder:
            path = folders / spec.name
            path.mkdir()
        else:
            path = files / spec.name
        if spec.write is not None:
            spec.write(path)
        cases.append(HostileCase(path, spec.expect, spec.reason, spec.note, spec.label))
    return cases

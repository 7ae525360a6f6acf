"""Audio in and out (core/audio.py), including every hostile input of issue 5."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.hostile import (
    HOSTILE_LABELS,
    HOSTILE_MIN_SAMPLES,
    HOSTILE_SAMPLE_RATE,
    HostileCase,
)
from wavenet_gui.core import fileio
from wavenet_gui.core.audio import (
    AUDIO_EXTENSIONS,
    AudioInfo,
    LoadedAudio,
    audio_info,
    find_audio_files,
    load_audio,
    save_audio,
)
from wavenet_gui.core.errors import AudioFileError, ConfigError, OutputError

SR = 8000

# Refusals that the header alone reveals, so audio_info must give them too.
HEADER_REFUSALS = {
    "missing", "empty", "text_as_wav", "random_as_flac", "png_as_ogg", "truncated_header",
    "truncated_header_ogg", "truncated_no_data", "zero_frames",
}  # fmt: skip


def _case(corpus: list[HostileCase], label: str) -> HostileCase:
    return next(c for c in corpus if c.label == label)


def _tone(n: int = 4000, *, freq: float = 440.0, rate: int = SR, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.float32)


def _check_error(err: Exception, path: Path) -> str:
    text = str(err)
    assert "\n" not in text and "\r" not in text, text
    assert text.startswith(f"{path.name}: "), text
    return text


# ------------------------------------------------------------------ the hostile corpus
def test_corpus_covers_issue_5() -> None:
    needed = {
        "empty", "text_as_wav", "truncated_header", "truncated_data_wav", "truncated_data_flac",
        "zero_frames", "too_short", "digital_silence", "nan_many", "nan_few", "inf_many",
        "float_far_outside", "dc_offset", "pcm_u8", "pcm_s8", "pcm_16", "pcm_24", "pcm_32",
        "float", "double", "rate_100", "rate_192k", "flac", "ogg", "name_spaces",
        "name_non_ascii", "folder", *(f"channels_{c}" for c in range(2, 9)),
    }  # fmt: skip
    assert needed <= set(HOSTILE_LABELS)
    assert len(set(HOSTILE_LABELS)) == len(HOSTILE_LABELS)


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_input_gets_a_clear_answer(hostile_corpus: list[HostileCase], label: str) -> None:
    case = _case(hostile_corpus, label)
    if case.path.is_dir():
        files, skipped = find_audio_files([case.path])
        assert files and all(f.suffix.lower() in AUDIO_EXTENSIONS for f in files)
        assert any(case.note_contains in s for s in skipped), skipped
        for f in files:
            load_audio(f, sample_rate=HOSTILE_SAMPLE_RATE, min_samples=HOSTILE_MIN_SAMPLES)
        with pytest.raises(AudioFileError, match="is a folder"):
            load_audio(case.path, sample_rate=HOSTILE_SAMPLE_RATE)
        return
    if case.expect == "refuse":
        with pytest.raises(AudioFileError) as info:
            load_audio(case.path, sample_rate=HOSTILE_SAMPLE_RATE, min_samples=HOSTILE_MIN_SAMPLES)
        text = _check_error(info.value, case.path)
        assert case.reason_contains in text
        assert info.value.path == case.path
        return
    loaded = load_audio(case.path, sample_rate=HOSTILE_SAMPLE_RATE, min_samples=HOSTILE_MIN_SAMPLES)
    assert isinstance(loaded, LoadedAudio)
    x = loaded.samples
    assert x.dtype == np.float32 and x.ndim == 1 and x.flags.c_contiguous
    assert len(x) >= HOSTILE_MIN_SAMPLES and loaded.sample_rate == HOSTILE_SAMPLE_RATE
    assert np.all(np.isfinite(x)) and np.abs(x).max() <= 1.0 and np.abs(x).max() > 0
    assert all(isinstance(n, str) and "\n" not in n for n in loaded.notes)
    if case.note_contains is not None:
        assert any(case.note_contains in n for n in loaded.notes), loaded.notes


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_audio_info_on_hostile_input(hostile_corpus: list[HostileCase], label: str) -> None:
    case = _case(hostile_corpus, label)
    if case.path.is_dir():
        with pytest.raises(AudioFileError, match="is a folder"):
            audio_info(case.path)
    elif label in HEADER_REFUSALS:
        with pytest.raises(AudioFileError) as info:
            audio_info(case.path)
        assert case.reason_contains in _check_error(info.value, case.path)
    else:
        info = audio_info(case.path)
        assert isinstance(info, AudioInfo)
        assert info.frames > 0 and info.duration > 0 and info.channels >= 1


def test_hostile_too_short_message_gives_both_lengths(hostile_corpus: list[HostileCase]) -> None:
    case = _case(hostile_corpus, "too_short")
    with pytest.raises(AudioFileError) as info:
        load_audio(case.path, sample_rate=SR, min_samples=2047)
    assert str(info.value) == (
        "short.wav: too short: 1,000 samples (0.125 s at 8000 Hz); the model needs at least "
        "2,047 samples (0.256 s)"
    )


def test_hostile_repairs(hostile_corpus: list[HostileCase]) -> None:
    nan = load_audio(_case(hostile_corpus, "nan_few").path, sample_rate=SR)
    assert nan.notes == ["replaced 5 NaN/Inf samples with 0"]
    dc = load_audio(_case(hostile_corpus, "dc_offset").path, sample_rate=SR)
    assert abs(float(dc.samples.mean())) < 1e-3
    loud = load_audio(_case(hostile_corpus, "float_far_outside").path, sample_rate=SR)
    assert float(np.abs(loud.samples).max()) == pytest.approx(1.0, abs=1e-6)
    assert not any("DC" in n for n in loud.notes)  # its mean is tiny relative to its peak
    trunc = load_audio(_case(hostile_corpus, "truncated_data_wav").path, sample_rate=SR)
    assert trunc.notes == [f"truncated: read {len(trunc.samples):,} of 4,000 frames"]


# ------------------------------------------------------------------ load_audio behaviour
def test_level_is_kept_and_nothing_noted(tmp_path: Path) -> None:
    x = _tone(amp=0.3)
    sf.write(tmp_path / "t.wav", x, SR, subtype="FLOAT")
    loaded = load_audio(tmp_path / "t.wav", sample_rate=SR)
    assert np.array_equal(loaded.samples, x) and loaded.notes == []
    assert loaded.duration == pytest.approx(0.5)


def test_resampling_keeps_pitch_and_length(tmp_path: Path) -> None:
    sf.write(tmp_path / "t.wav", _tone(16000, rate=16000), 16000)
    loaded = load_audio(tmp_path / "t.wav", sample_rate=SR)
    assert len(loaded.samples) == 8000
    spectrum = np.abs(np.fft.rfft(loaded.samples))
    assert np.argmax(spectrum) * SR / len(loaded.samples) == pytest.approx(440, abs=2)
    assert loaded.notes == ["resampled from 16000 Hz to 8000 Hz"]


def test_channels_are_averaged(tmp_path: Path) -> None:
    x = _tone()
    sf.write(tmp_path / "st.wav", np.stack([x, 0.5 * x], axis=1), SR, subtype="FLOAT")
    loaded = load_audio(tmp_path / "st.wav", sample_rate=SR)
    assert np.allclose(loaded.samples, 0.75 * x, atol=1e-6)
    assert loaded.notes == ["mixed 2 channels to mono"]


def test_opposite_channels_cancel_to_silence(tmp_path: Path) -> None:
    x = _tone()
    sf.write(tmp_path / "phase.wav", np.stack([x, -x], axis=1), SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="digital silence"):
        load_audio(tmp_path / "phase.wav", sample_rate=SR)


def test_nan_samples_become_zero(tmp_path: Path) -> None:
    x = _tone()
    x[[100, 200]] = np.nan
    sf.write(tmp_path / "n.wav", x, SR, subtype="FLOAT")
    loaded = load_audio(tmp_path / "n.wav", sample_rate=SR)
    assert loaded.samples[100] == 0 and loaded.samples[200] == 0
    assert np.array_equal(np.delete(loaded.samples, [100, 200]), np.delete(x, [100, 200]))


def test_long_file_is_read_in_blocks(tmp_path: Path) -> None:
    x = _tone(200_000, amp=0.2)  # several read blocks
    sf.write(tmp_path / "long.flac", np.stack([x, x], axis=1), SR)
    loaded = load_audio(tmp_path / "long.flac", sample_rate=SR)
    assert len(loaded.samples) == 200_000
    assert np.allclose(loaded.samples, x, atol=1e-4)


@pytest.mark.parametrize("rate", [999, 192001, 0, -8000, "8000", True, 8000.5, None])
def test_bad_sample_rate(tmp_path: Path, rate: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_audio(tmp_path / "whatever.wav", sample_rate=rate)  # type: ignore[arg-type]
    assert info.value.field == "sample_rate" and "\n" not in str(info.value)


@pytest.mark.parametrize("rate", [1000, 192000, np.int32(16000), 22050.0])
def test_edge_sample_rates_are_fine(tmp_path: Path, rate: object) -> None:
    sf.write(tmp_path / "t.wav", _tone(), SR)
    loaded = load_audio(tmp_path / "t.wav", sample_rate=rate)  # type: ignore[arg-type]
    assert loaded.sample_rate == int(rate)  # type: ignore[call-overload]
    assert type(loaded.sample_rate) is int


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_bad_min_samples(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match="min_samples"):
        load_audio(tmp_path / "x.wav", sample_rate=SR, min_samples=bad)  # type: ignore[arg-type]


def test_too_short_is_found_from_the_header_before_decoding(tmp_path: Path, monkeypatch) -> None:
    sf.write(tmp_path / "t.wav", _tone(100), SR)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a file the header already showed to be too short")

    monkeypatch.setattr("wavenet_gui.core.audio._mono_blocks", no_decoding)
    with pytest.raises(AudioFileError, match="too short"):
        load_audio(tmp_path / "t.wav", sample_rate=SR, min_samples=1000)


def test_unreadable_file(tmp_path: Path, monkeypatch) -> None:
    sf.write(tmp_path / "t.wav", _tone(), SR)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(sf, "SoundFile", denied)
    with pytest.raises(AudioFileError, match="permission denied"):
        load_audio(tmp_path / "t.wav", sample_rate=SR)


# ------------------------------------------------------------------ find_audio_files
def test_find_audio_files_walks_sorted_and_dedupes(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for name in ["b/2.wav", "b/1.FLAC", "a/z.ogg", "top.aiff"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "a" / "notes.txt").write_text("x")
    files, skipped = find_audio_files([tmp_path, tmp_path / "top.aiff", str(tmp_path / "b")])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a/z.ogg", "b/1.FLAC", "b/2.wav", "top.aiff",
    ]  # fmt: skip
    assert skipped == ["a/notes.txt: skipped, not an audio file"]


def test_find_audio_files_counts_many_skipped_files(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"x")
    for i in range(12):
        (tmp_path / f"img{i}.png").write_bytes(b"x")
    (tmp_path / "readme").write_text("x")
    files, skipped = find_audio_files(tmp_path)
    assert files == [tmp_path / "x.wav"]
    assert skipped == [
        f"{tmp_path.name}: skipped 13 files that are not audio ((no extension), .png)"
    ]


def test_find_audio_files_named_files(tmp_path: Path) -> None:
    (tmp_path / "doc.pdf").write_bytes(b"x")
    (tmp_path / "a.wav").write_bytes(b"x")
    files, skipped = find_audio_files([tmp_path / "doc.pdf", tmp_path / "a.wav"])
    assert files == [tmp_path / "a.wav"]
    assert skipped == ["doc.pdf: skipped, not an audio file"]
    with pytest.raises(AudioFileError, match="does not exist"):
        find_audio_files([tmp_path / "gone.wav"])


def test_find_audio_files_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files, skipped = find_audio_files([tmp_path / "empty"])
    assert files == [] and skipped == ["empty: the folder holds no audio files"]


# ------------------------------------------------------------------ save_audio
@pytest.mark.parametrize(
    ("name", "subtype", "tolerance"),
    [
        ("o.wav", None, 1 / 32768),
        ("o.wav", "FLOAT", 0.0),
        ("o.wav", "pcm_24", 1e-6),
        ("o.flac", None, 1 / 32768),
        ("o.flac", "PCM_24", 1e-6),
        ("o.ogg", None, None),
    ],
)
def test_save_audio_round_trip(tmp_path: Path, name: str, subtype: str | None,
                               tolerance: float | None) -> None:  # fmt: skip
    x = _tone(4000)
    out = save_audio(tmp_path / name, x, sample_rate=SR, subtype=subtype)
    assert out == tmp_path / name
    info = audio_info(out)
    assert info.sample_rate == SR and info.channels == 1
    expected_subtype = {"o.ogg": "VORBIS"}.get(name, (subtype or "PCM_16").upper())
    assert info.subtype == expected_subtype
    back, rate = sf.read(out, dtype="float32")
    assert rate == SR
    if tolerance is not None:
        assert len(back) == len(x) and np.max(np.abs(back - x)) <= tolerance
    else:
        assert abs(len(back) - len(x)) < 1000
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_save_audio_clips_and_zeroes_nan(tmp_path: Path) -> None:
    out = save_audio(tmp_path / "c.wav", [2.0, -3.0, np.nan, np.inf, 0.5],
                     sample_rate=SR, subtype="FLOAT")  # fmt: skip
    back, _ = sf.read(out, dtype="float32")
    assert back.tolist() == [1.0, -1.0, 0.0, 1.0, 0.5]


def test_save_then_load_is_exact_for_float(tmp_path: Path) -> None:
    x = _tone(3000, amp=0.7)
    loaded = load_audio(save_audio(tmp_path / "r.wav", x, sample_rate=SR, subtype="FLOAT"),
                        sample_rate=SR)  # fmt: skip
    assert np.array_equal(loaded.samples, x)


def test_save_audio_refuses_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as info:
        save_audio(tmp_path / "o.mp3", _tone(), sample_rate=SR)
    assert "unknown audio extension '.mp3'" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "o.ogg", "subtype": "PCM_16"}, "subtype"),
        ({"name": "o.wav", "subtype": "MP3"}, "subtype"),
        ({"name": "o.wav", "sample_rate": 500}, "sample_rate"),
        ({"name": "o.wav", "samples": np.zeros((100, 2))}, "samples"),
        ({"name": "o.wav", "samples": ["a", "b"]}, "samples"),
    ],
)
def test_save_audio_validates(tmp_path: Path, kwargs: dict, field: str) -> None:
    samples = kwargs.pop("samples", _tone())
    name = kwargs.pop("name")
    kwargs.setdefault("sample_rate", SR)
    with pytest.raises(ConfigError) as info:
        save_audio(tmp_path / name, samples, **kwargs)
    assert info.value.field == field
    assert list(tmp_path.iterdir()) == []


def test_save_audio_full_disk_leaves_previous_file(tmp_path: Path, monkeypatch) -> None:
    target = save_audio(tmp_path / "pred.wav", _tone(), sample_rate=SR)
    before = target.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OutputError) as info:
        save_audio(target, _tone(amp=0.9), sample_rate=SR)
    assert str(info.value) == f"{target}: disk is full"
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["pred.wav"]


def test_save_audio_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="folder does not exist"):
        save_audio(tmp_path / "no" / "o.wav", _tone(), sample_rate=SR)


def test_save_audio_accepts_a_column(tmp_path: Path) -> None:
    out = save_audio(tmp_path / "col.flac", _tone()[:, None], sample_rate=SR)
    assert audio_info(out).frames == 4000

"""The decoded audio cache: decode once, memory-map, sample windows from the map."""

from __future__ import annotations

import os
import threading
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from wavenet_gui.core import corpus_cache
from wavenet_gui.core.audio import load_audio_classes
from wavenet_gui.core.corpus_cache import KEEP_ENTRIES, open_corpus
from wavenet_gui.core.errors import AudioFileError, Cancelled
from wavenet_gui.core.model import WaveNetConfig
from wavenet_gui.core.quantization import Quantizer
from wavenet_gui.core.session import make_sampler

Q = Quantizer(256)


def tones(folder, n=3, seconds=2.0, rate=16000):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        t = np.arange(int(seconds * rate)) / rate
        x = 0.4 * np.sin(2 * np.pi * (200 + 100 * i) * t) + 0.05 * rng.standard_normal(len(t))
        path = folder / f"tone{i}.wav"
        sf.write(path, x.astype(np.float32), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def test_decoded_once_then_reused_and_equal_to_block_decoding(tmp_path):
    paths = tones(tmp_path / "audio")
    first = open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "cache")
    assert first.decoded
    assert isinstance(first.data, np.memmap) and first.data.dtype == np.uint8
    assert first.nbytes == sum(first.lengths) and first.seconds == pytest.approx(6.0, abs=0.01)
    for path, classes in zip(paths, first.signals(), strict=True):
        np.testing.assert_array_equal(classes, load_audio_classes(path, sample_rate=8000, quantizer=Q).classes)
    assert any("resampled" in n for n in first.notes) and first.notes[0].startswith("tone0.wav: ")
    again = open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "cache")
    assert not again.decoded and again.directory == first.directory
    np.testing.assert_array_equal(np.asarray(again.data), np.asarray(first.data))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.directory.name]  # no temporary left


def test_a_changed_file_rate_or_quantization_is_decoded_again(tmp_path):
    paths = tones(tmp_path / "audio", n=2)
    cache = tmp_path / "cache"
    base = open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=cache)
    assert open_corpus(paths, sample_rate=16000, quantizer=Q, cache_dir=cache).decoded
    assert open_corpus(paths, sample_rate=8000, quantizer=Quantizer(256, kind="linear"), cache_dir=cache).decoded
    st = os.stat(paths[1])
    sf.write(paths[1], 0.3 * np.sin(np.arange(16000, dtype=np.float32) * 0.05), 16000, subtype="PCM_16")
    os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=cache)
    assert changed.decoded and changed.directory != base.directory
    assert changed.lengths[1] == 8000


def test_a_damaged_entry_is_rebuilt(tmp_path):
    paths = tones(tmp_path / "audio", n=1)
    first = open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "c")
    with open(first.directory / "classes.bin", "r+b") as f:
        f.truncate(100)
    again = open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "c")
    assert again.decoded and again.nbytes == first.nbytes


def test_a_cancelled_build_leaves_nothing_behind(tmp_path):
    paths = tones(tmp_path / "audio", n=3)
    cancel = threading.Event()

    def progress(i, n, name):
        if i == 1:
            cancel.set()

    with pytest.raises(Cancelled):
        open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "c", cancel=cancel,
                    progress=progress)
    assert list((tmp_path / "c").iterdir()) == []


def test_refusals_name_the_file(tmp_path):
    paths = tones(tmp_path / "audio", n=2, seconds=0.1)
    with pytest.raises(AudioFileError, match=r"^tone0\.wav: too short: 800 samples"):
        open_corpus(paths, sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "c", min_samples=2000)
    (tmp_path / "audio" / "bad.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(AudioFileError, match=r"^bad\.wav: "):
        open_corpus([tmp_path / "audio" / "bad.wav"], sample_rate=8000, quantizer=Q, cache_dir=tmp_path / "c")


def test_old_entries_are_pruned(tmp_path):
    paths = tones(tmp_path / "audio", n=1, seconds=0.2)
    for rate in (4000, 5000, 6000, 7000, 8000, 9000):
        open_corpus(paths, sample_rate=rate, quantizer=Q, cache_dir=tmp_path / "c")
    entries = [p for p in (tmp_path / "c").iterdir()]
    assert len(entries) == KEEP_ENTRIES


def test_the_sampler_reads_the_map_without_copying_it(tmp_path):
    paths = tones(tmp_path / "audio", n=3, seconds=20.0)
    corpus = open_corpus(paths, sample_rate=16000, quantizer=Q, cache_dir=tmp_path / "c")
    assert corpus.nbytes == 960_000
    cfg = WaveNetConfig(n_dilations=5, n_blocks=1, sample_rate=16000)
    tracemalloc.start()
    sampler = make_sampler(corpus.signals(), receptive_field=cfg.receptive_field, target_length=968, holdout=0.1,
                           names=corpus.names, config=cfg)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000, peak  # not a copy of the 960 kB of classes
    corpus.release_pages()
    # the same windows as a sampler holding the classes in memory
    copies = [np.array(s) for s in corpus.signals()]
    memory = make_sampler(copies, receptive_field=cfg.receptive_field, target_length=968, holdout=0.1,
                          names=corpus.names, config=cfg)
    for seed in range(3):
        a = sampler.sample(8, np.random.default_rng(seed))
        b = memory.sample(8, np.random.default_rng(seed))
        np.testing.assert_array_equal(a, b)
    for a, b in zip(sampler.validation_batches(4), memory.validation_batches(4), strict=True):
        np.testing.assert_array_equal(a, b)


def test_plain_arrays_are_still_copied(tmp_path):
    big = np.arange(10_000, dtype=np.uint8)
    cfg = WaveNetConfig(n_dilations=3, n_blocks=1)
    sampler = make_sampler([big[:5000], big[5000:]], receptive_field=cfg.receptive_field, target_length=92,
                           config=cfg)
    big[:] = 0  # the caller's array changes; the sampler kept its own copy
    assert sampler.sample(4, np.random.default_rng(0)).any()


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert corpus_cache.default_cache_dir() == tmp_path / "wavenet-gui" / "corpus"


def test_cli_trains_from_the_cache_and_reuses_it(tmp_path, capsys):
    from wavenet_gui.cli import main

    paths = tones(tmp_path / "audio", n=2, seconds=1.0)
    args = ["--wav", str(tmp_path / "audio"), "--cache_dir", str(tmp_path / "cache"), "--n_dilations", "3",
            "--n_blocks", "1", "--n_hidden", "8", "--n_skip", "8", "--n_end", "8", "--train_iterations", "2",
            "--target_length", "64", "--length", "0.01", "--output_dir", str(tmp_path / "out")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "decoded into the cache" in err and "decoding 2/2: tone1.wav" in err
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "read from the cache" in err and "decoding" not in err
    assert len(paths) == 2


def test_the_session_trains_from_the_cache_without_decoding_into_memory(tmp_path):
    """The window's path: files added to a Session are decoded at training, into the cache."""
    from wavenet_gui.core.session import Session

    paths = tones(tmp_path / "audio", n=2, seconds=1.0)
    session = Session({"n_dilations": 3, "n_blocks": 1, "n_hidden": 8, "n_skip": 8, "n_end": 8,
                       "train_iterations": 2, "target_length": 64, "output_dir": str(tmp_path / "out"),
                       "cache_dir": str(tmp_path / "cache")})
    session.add_files(paths)
    assert session._decoded == {}  # nothing decoded into memory when the cache is on
    outcome = session.run_training()
    assert outcome.result.iterations == 2
    assert session.corpus is not None and session.corpus.decoded
    assert any("resampled" in note for note in outcome.notes)
    session.run_training()
    assert not session.corpus.decoded and session.state.iteration == 4
    # small inputs with the default "auto" are decoded into memory as before
    small = Session({"output_dir": str(tmp_path / "out")})
    small.add_files(paths)
    assert small._corpus_dir() is None and len(small._decoded) == 2

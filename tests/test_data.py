"""Training windows (core/data.py): weighting, hold-out, validation, storage, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from wavenet_gui.core.data import WindowSampler, compact_dtype
from wavenet_gui.core.errors import ConfigError


def _ramps(lengths: list[int]) -> list[np.ndarray]:
    """Files whose classes are their global sample index, so a window tells where it came from."""
    out, start = [], 0
    for n in lengths:
        out.append(np.arange(start, start + n, dtype=np.int64))
        start += n
    return out


def test_files_are_drawn_in_proportion_to_their_valid_windows() -> None:
    lengths, window = [1000, 3000, 6000], 100
    signals = [np.full(n, i + 1, dtype=np.int64) for i, n in enumerate(lengths)]
    sampler = WindowSampler(signals, window=window)
    counts = np.array(lengths) - window + 1
    assert np.allclose(sampler.file_weights, counts / counts.sum())
    assert sampler.n_windows == counts.sum()

    batch = sampler.sample(30_000, np.random.default_rng(1234))
    assert batch.shape == (30_000, window) and batch.dtype == np.int64
    assert np.all(batch == batch[:, :1])  # one file per window, never straddling two
    freq = np.bincount(batch[:, 0], minlength=4)[1:] / len(batch)
    assert np.allclose(freq, counts / counts.sum(), atol=0.015)


def test_windows_never_straddle_files_and_cover_every_start() -> None:
    lengths, window = [50, 70], 10
    sampler = WindowSampler(_ramps(lengths), window=window, n_channels=256)
    batch = sampler.sample(20_000, np.random.default_rng(0))
    assert np.all(np.diff(batch, axis=1) == 1)  # contiguous inside one file
    starts = set(batch[:, 0].tolist())
    expected = set(range(0, 50 - window + 1)) | set(range(50, 120 - window + 1))
    assert starts == expected


def test_holdout_tail_is_never_used_for_training() -> None:
    lengths, window, holdout = [5000, 10000], 100, 0.1
    sampler = WindowSampler(_ramps(lengths), window=window, holdout=holdout, n_channels=65536)
    batch = sampler.sample(50_000, np.random.default_rng(7))
    assert np.all(np.diff(batch, axis=1) == 1)
    first, last = batch[:, 0], batch[:, -1]
    in_a = first < 5000
    # file A trains on [0, 4500), file B on [5000, 14000)
    assert 4490 <= last[in_a].max() <= 4499 and first[in_a].min() >= 0
    assert 13990 <= last[~in_a].max() <= 13999 and first[~in_a].min() >= 5000
    assert sampler.train_samples == 4500 + 9000 and sampler.total_samples == 15000


def test_validation_windows_come_from_the_tails_and_are_fixed() -> None:
    lengths, window = [5000, 10000], 100
    sampler = WindowSampler(_ramps(lengths), window=window, holdout=0.1, n_channels=65536)
    assert sampler.has_validation
    assert sampler.n_validation_windows == 500 // window + 1000 // window
    batches = sampler.validation_batches(4, max_batches=100)
    windows = np.concatenate(batches)
    assert len(windows) == 15 and [len(b) for b in batches] == [4, 4, 4, 3]
    assert np.all(np.diff(windows, axis=1) == 1)
    first = windows[:, 0]
    in_a = first < 5000
    assert np.all((first[in_a] >= 4500) & (windows[in_a, -1] < 5000))
    assert np.all((first[~in_a] >= 14000) & (windows[~in_a, -1] < 15000))
    # Deterministic: the same windows every time.
    again = sampler.validation_batches(4, max_batches=100)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_validation_is_capped_and_spread_over_files() -> None:
    sampler = WindowSampler(_ramps([20_000, 20_000]), window=10, holdout=0.2, n_channels=65536)
    batches = sampler.validation_batches(8, max_batches=3)
    windows = np.concatenate(batches)
    assert len(batches) == 3 and len(windows) == 24
    assert (windows[:, 0] < 20_000).any() and (windows[:, 0] >= 20_000).any()


def test_no_validation_without_holdout_or_with_short_tails() -> None:
    signals = [np.zeros(1000, dtype=np.int64)]
    assert WindowSampler(signals, window=100).validation_batches(8) == []
    short_tails = WindowSampler(signals, window=200, holdout=0.1)  # tail of 100 < window
    assert not short_tails.has_validation
    assert short_tails.validation_batches(8) == []


def test_storage_is_compact() -> None:
    big = np.random.default_rng(0).integers(0, 256, 1_000_000)  # int64: 8 MB
    sampler = WindowSampler([big], window=1000, n_channels=256)
    assert sampler.dtype == np.uint8
    assert sampler.memory_bytes < 1.01 * 1_000_000
    assert WindowSampler([big], window=10).dtype == np.uint8  # inferred from the data
    assert WindowSampler([big], window=10, n_channels=1024).dtype == np.uint16
    assert WindowSampler([np.array([0, 70000, 3])], window=2).dtype == np.int32
    assert compact_dtype(256) == np.uint8 and compact_dtype(65536) == np.uint16


def test_samples_keep_the_values() -> None:
    rng = np.random.default_rng(3)
    signal = rng.integers(0, 256, 5000)
    sampler = WindowSampler([signal], window=64)
    batch = sampler.sample(50, np.random.default_rng(9))
    all_windows = np.lib.stride_tricks.sliding_window_view(signal, 64)
    for row in batch:
        assert np.all(all_windows == row, axis=1).any()  # each row is a real window


def test_same_seed_same_batch() -> None:
    sampler = WindowSampler([np.arange(1000) % 256, np.arange(3000) % 256], window=32)
    a = sampler.sample(16, np.random.default_rng(42))
    b = sampler.sample(16, np.random.default_rng(42))
    assert np.array_equal(a, b)


def test_short_files_are_skipped_with_a_note_and_never_drawn() -> None:
    signals = [np.full(50, 1), np.full(500, 2)]
    sampler = WindowSampler(signals, window=100, names=["tiny.wav", "long.wav"])
    assert sampler.unused_files == [
        "tiny.wav: shorter than one training window (50 < 100 samples); not used for training"
    ]
    assert np.all(sampler.sample(1000, np.random.default_rng(0)) == 2)
    assert sampler.file_weights[0] == 0


def test_clear_error_when_no_file_is_long_enough() -> None:
    signals = [np.zeros(1500, dtype=np.int64), np.zeros(1800, dtype=np.int64)]
    with pytest.raises(ConfigError) as info:
        WindowSampler(signals, window=2048, names=["a.wav", "b.wav"],
                      receptive_field=2047, sample_rate=8000)  # fmt: skip
    err = info.value
    text = str(err)
    assert err.field == "window" and "\n" not in text
    for words in ("2,048 samples", "receptive field 2,047", "b.wav", "1,800 samples",
                  "fewer dilations or blocks", "longer audio", "0.256 s"):  # fmt: skip
        assert words in text, words


def test_error_blames_the_holdout_when_it_is_the_cause() -> None:
    with pytest.raises(ConfigError, match="smaller hold-out") as info:
        WindowSampler([np.zeros(2100, dtype=np.int64)], window=2048, holdout=0.1)
    assert "1,890 samples after holding out 10%" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"signals": [], "window": 10}, "signals"),
        ({"signals": [np.zeros((2, 50), int)], "window": 10}, "signals"),
        ({"signals": [np.zeros(50)], "window": 10}, "signals"),
        ({"signals": [np.full(50, -1)], "window": 10}, "signals"),
        ({"signals": [np.full(50, 300)], "window": 10, "n_channels": 256}, "signals"),
        ({"signals": [np.zeros(50, int)], "window": 1}, "window"),
        ({"signals": [np.zeros(50, int)], "window": 10.0}, "window"),
        ({"signals": [np.zeros(50, int)], "window": 10, "holdout": 0.7}, "holdout"),
        ({"signals": [np.zeros(50, int)], "window": 10, "holdout": -0.1}, "holdout"),
        ({"signals": [np.zeros(50, int)], "window": 10, "names": ["a", "b"]}, "names"),
    ],
)
def test_bad_arguments(kwargs: dict, field: str) -> None:
    signals = kwargs.pop("signals")
    with pytest.raises(ConfigError) as info:
        WindowSampler(signals, **kwargs)
    assert info.value.field == field and "\n" not in str(info.value)


def test_bad_sample_arguments() -> None:
    sampler = WindowSampler([np.zeros(100, int)], window=10, holdout=0.2)
    with pytest.raises(ConfigError, match="batch_size"):
        sampler.sample(0, np.random.default_rng())
    with pytest.raises(ConfigError, match="rng"):
        sampler.sample(4, 42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_batches"):
        sampler.validation_batches(4, max_batches=0)

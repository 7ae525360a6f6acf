"""Training windows (core/data.py): every sample a target, silence before a file, padding after a
short one, weighting, hold-out, validation, storage, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from wavenet_gui.core.data import IGNORE, WindowSampler, compact_dtype
from wavenet_gui.core.errors import ConfigError

N = 65536  # classes: enough to hold global sample indices
CENTRE = N // 2


def _ramps(lengths: list[int], start: int = 0) -> list[np.ndarray]:
    """Files whose classes are their global sample index, so a window tells where it came from."""
    out = []
    for n in lengths:
        out.append(np.arange(start, start + n, dtype=np.int64))
        start += n
    return out


def _targets_of(batch: np.ndarray, T: int) -> np.ndarray:
    return batch[:, -T:]


def test_every_sample_is_a_target_sample_zero_and_the_last_included() -> None:
    rf, T, lengths = 30, 20, [57, 200]
    sampler = WindowSampler(_ramps(lengths, start=1), receptive_field=rf, target_length=T, n_channels=N)
    batch = sampler.sample(20_000, np.random.default_rng(0))
    assert batch.shape == (20_000, rf + T) and batch.dtype == np.int64
    targets = _targets_of(batch, T)
    assert not (targets == IGNORE).any()  # files longer than T are never padded on the right
    counts = np.bincount(targets.ravel(), minlength=258)[1:258]
    assert (counts > 0).all()  # every sample of both files, the first and the last included
    # Coverage is even to within 2x: a sample at a file's edge is as likely a target as a middle one.
    inner = counts[100:200]
    assert counts.min() > 0.4 * inner.mean() and counts.max() < 2.5 * inner.mean()


def test_context_before_the_first_sample_is_silence_and_windows_never_mix_files() -> None:
    rf, T = 40, 10
    sampler = WindowSampler(_ramps([50, 70], start=1), receptive_field=rf, target_length=T, n_channels=N)
    assert sampler.pad_class == CENTRE
    batch = sampler.sample(5000, np.random.default_rng(1))
    for row in batch:
        real = row[row != CENTRE]
        assert np.all(np.diff(real) == 1)  # contiguous inside one file
        assert (real <= 50).all() or (real >= 51).all()  # never two files
        if (row == CENTRE).any():  # silence only before the file's first sample
            k = int(np.argmax(row != CENTRE))
            assert np.all(row[:k] == CENTRE) and row[k] in (1, 51)
    # The window whose first target is sample 0 sees rf samples of silence.
    first = batch[batch[:, rf] == 1]
    assert len(first) and np.all(first[:, :rf] == CENTRE)


def test_short_files_are_right_padded_with_ignore_and_still_trained() -> None:
    rf, T = 8, 100
    sampler = WindowSampler([np.full(30, 5), np.full(500, 7)], receptive_field=rf, target_length=T,
                            names=["tiny.wav", "long.wav"])
    assert sampler.padded_files == ["tiny.wav"] and sampler.unused_files == []
    batch = sampler.sample(4000, np.random.default_rng(2))
    tiny = batch[(batch == 5).any(axis=1)]
    assert len(tiny) > 0
    assert np.all(tiny[:, :rf] == 128)  # silence before
    assert np.all(tiny[:, rf:rf + 30] == 5) and np.all(tiny[:, rf + 30:] == IGNORE)
    # drawn by its share of the training samples
    assert np.allclose(sampler.file_weights, [30 / 530, 500 / 530])
    assert abs(len(tiny) / len(batch) - 30 / 530) < 0.02


def test_leading_silence_classes_belong_to_the_silent_past() -> None:
    sampler = WindowSampler([np.r_[np.full(5, 128), np.arange(1, 21)], np.full(9, 128)],
                            receptive_field=4, target_length=4, names=["a.wav", "quiet.wav"])
    assert sampler.train_samples == 20 and sampler.unused_files == ["quiet.wav: empty; not used for training"]
    targets = sampler.sample(2000, np.random.default_rng(0))[:, -4:]
    assert set(np.unique(targets)) == set(range(1, 21))  # the leading 128s are never targets


def test_clips_shorter_than_the_receptive_field_are_accepted() -> None:
    sampler = WindowSampler([np.full(300, 9)], receptive_field=2047, target_length=2048)
    batch = sampler.sample(2, np.random.default_rng(0))
    assert np.all(batch[:, :2047] == 128) and np.all(batch[:, 2047:2347] == 9)
    assert np.all(batch[:, 2347:] == IGNORE)


def test_holdout_tail_is_never_a_training_target() -> None:
    rf, T = 100, 50
    sampler = WindowSampler(_ramps([5000, 10000]), receptive_field=rf, target_length=T, holdout=0.1, n_channels=N)
    targets = _targets_of(sampler.sample(50_000, np.random.default_rng(7)), T)
    in_a = targets[:, 0] < 5000
    assert targets[in_a].max() == 4499 and targets[in_a].min() == 0
    assert targets[~in_a].max() == 13999 and targets[~in_a].min() == 5000
    assert sampler.train_samples == 4500 + 9000 and sampler.total_samples == 15000


def test_validation_scores_every_tail_sample_once_with_real_context() -> None:
    rf, T = 100, 64
    sampler = WindowSampler(_ramps([5000, 10000], start=1), receptive_field=rf, target_length=T,
                            holdout=0.1, n_channels=N)
    assert sampler.has_validation
    batches = sampler.validation_batches(4, max_batches=100)
    windows = np.concatenate(batches)
    targets = windows[:, -T:].ravel()
    scored = np.sort(targets[targets != IGNORE])
    expected = np.r_[np.arange(4501, 5001), np.arange(14001, 15001)]
    assert np.array_equal(scored, expected)  # each tail sample exactly once
    for w in windows:
        real = w[w != IGNORE]
        assert np.all(np.diff(real) == 1)  # the context is the file itself, right before the tail
    again = sampler.validation_batches(4, max_batches=100)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_validation_is_capped_and_spread_over_files() -> None:
    sampler = WindowSampler(_ramps([20_000, 20_000]), receptive_field=5, target_length=10, holdout=0.2,
                            n_channels=N)
    batches = sampler.validation_batches(8, max_batches=3)
    windows = np.concatenate(batches)
    assert len(batches) == 3 and len(windows) == 24
    assert (windows[:, -1] < 20_000).any() and (windows[:, -1] >= 20_000).any()


def test_no_validation_without_holdout() -> None:
    sampler = WindowSampler([np.zeros(1000, dtype=np.int64)], receptive_field=50, target_length=50)
    assert not sampler.has_validation and sampler.validation_batches(8) == []


def test_storage_is_compact() -> None:
    big = np.random.default_rng(0).integers(0, 256, 1_000_000)  # int64: 8 MB
    sampler = WindowSampler([big], receptive_field=500, target_length=500)
    assert sampler.dtype == np.uint8
    assert sampler.memory_bytes < 1.01 * 1_000_000
    assert WindowSampler([big], receptive_field=5, target_length=5, n_channels=1024).dtype == np.uint16
    assert WindowSampler([np.array([0, 70000, 3])], receptive_field=1, target_length=1,
                         n_channels=70001).dtype == np.int32
    assert compact_dtype(256) == np.uint8 and compact_dtype(65536) == np.uint16


def test_samples_keep_the_values() -> None:
    rng = np.random.default_rng(3)
    signal = rng.integers(0, 256, 5000)
    sampler = WindowSampler([signal], receptive_field=32, target_length=32)
    batch = sampler.sample(50, np.random.default_rng(9))
    padded = np.r_[np.full(32, 128), signal]
    all_windows = np.lib.stride_tricks.sliding_window_view(padded, 64)
    for row in batch:
        assert np.all(all_windows == row, axis=1).any()  # each row is a real (padded) window


def test_same_seed_same_batch() -> None:
    sampler = WindowSampler([np.arange(1000) % 256, np.arange(3000) % 256], receptive_field=16, target_length=16)
    a = sampler.sample(16, np.random.default_rng(42))
    b = sampler.sample(16, np.random.default_rng(42))
    assert np.array_equal(a, b)


def test_empty_files_are_noted_and_never_drawn() -> None:
    sampler = WindowSampler([np.zeros(0, int), np.full(500, 2)], receptive_field=10, target_length=100,
                            names=["empty.wav", "long.wav"])
    assert sampler.unused_files == ["empty.wav: empty; not used for training"]
    assert np.all(_targets_of(sampler.sample(1000, np.random.default_rng(0)), 100) == 2)
    assert sampler.file_weights[0] == 0


def test_clear_error_when_there_is_nothing_to_train_on() -> None:
    with pytest.raises(ConfigError) as info:
        WindowSampler([np.zeros(0, int)], receptive_field=10, target_length=10)
    assert info.value.field == "signals" and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"signals": []}, "signals"),
        ({"signals": [np.zeros((2, 50), int)]}, "signals"),
        ({"signals": [np.zeros(50)]}, "signals"),
        ({"signals": [np.full(50, -1)]}, "signals"),
        ({"signals": [np.full(50, 300)], "n_channels": 256}, "signals"),
        ({"signals": [np.zeros(50, int)], "receptive_field": 0}, "receptive_field"),
        ({"signals": [np.zeros(50, int)], "target_length": 0}, "target_length"),
        ({"signals": [np.zeros(50, int)], "target_length": 10.0}, "target_length"),
        ({"signals": [np.zeros(50, int)], "holdout": 0.7}, "holdout"),
        ({"signals": [np.zeros(50, int)], "holdout": -0.1}, "holdout"),
        ({"signals": [np.zeros(50, int)], "names": ["a", "b"]}, "names"),
    ],
)
def test_bad_arguments(kwargs: dict, field: str) -> None:
    signals = kwargs.pop("signals")
    kwargs = {"receptive_field": 10, "target_length": 10, **kwargs}
    with pytest.raises(ConfigError) as info:
        WindowSampler(signals, **kwargs)
    assert info.value.field == field and "\n" not in str(info.value)


def test_bad_sample_arguments() -> None:
    sampler = WindowSampler([np.zeros(100, int)], receptive_field=5, target_length=5, holdout=0.2)
    with pytest.raises(ConfigError, match="batch_size"):
        sampler.sample(0, np.random.default_rng())
    with pytest.raises(ConfigError, match="rng"):
        sampler.sample(4, 42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_batches"):
        sampler.validation_batches(4, max_batches=0)

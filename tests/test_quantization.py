"""Quantization: round trips, silence, symmetry, monotonicity, validation (core/quantization.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wavenet_gui.core.errors import ConfigError
from wavenet_gui.core.quantization import Quantizer

KINDS = ("mu_law", "linear")
SIZES = (2, 3, 4, 16, 255, 256, 257, 1024, 65536)
X = np.concatenate([np.linspace(-1.0, 1.0, 100_001), [-1.0, 0.0, 1.0, 1e-9, -1e-9]])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", SIZES)
def test_round_trip_within_bound(n: int, kind: str) -> None:
    q = Quantizer(n, kind)
    classes = q.encode(X)
    assert classes.dtype == np.int64 and classes.shape == X.shape
    assert classes.min() >= 0 and classes.max() < n
    y = q.decode(classes)
    assert y.dtype == np.float32 and y.min() >= -1.0 and y.max() <= 1.0
    assert np.max(np.abs(y - X)) <= q.max_error


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", SIZES)
def test_silence_maps_to_centre(n: int, kind: str) -> None:
    q = Quantizer(n, kind)
    assert q.centre == n // 2 == int(q.encode(0.0))
    centre_value = float(q.decode(q.centre))
    if n >= 3:
        assert centre_value == 0.0
    else:  # a sign quantizer has no zero level
        assert abs(centre_value) <= q.max_error
    assert np.all(q.encode(np.zeros(10)) == q.centre)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [s for s in SIZES if s >= 3])
def test_symmetry(n: int, kind: str) -> None:
    q = Quantizer(n, kind)
    assert np.array_equal(q.encode(-X), 2 * q.centre - q.encode(X))
    used = np.arange(n // 2 - (n - 1) // 2, n)  # class 0 is unused for even n
    assert np.array_equal(q.decode(2 * q.centre - used), -q.decode(used))


def test_two_classes_mirror_around_the_middle() -> None:
    for kind in KINDS:
        q = Quantizer(2, kind)
        x = X[X != 0]
        assert np.array_equal(q.encode(-x), 1 - q.encode(x))
        assert q.decode(0) == -q.decode(1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", SIZES)
def test_monotonic(n: int, kind: str) -> None:
    q = Quantizer(n, kind)
    assert np.all(np.diff(q.encode(X[:100_001])) >= 0)
    levels = q.decode(np.arange(n))
    assert np.all(np.diff(levels) >= 0)
    first_used = n // 2 - (n - 1) // 2 if n > 2 else 0
    assert np.all(np.diff(levels[first_used:]) > 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [3, 4, 255, 256, 257, 1024])
def test_every_level_is_reachable_and_stable(n: int, kind: str) -> None:
    q = Quantizer(n, kind)
    used = np.arange(n // 2 - (n - 1) // 2, n)
    assert np.array_equal(q.encode(q.decode(used)), used)
    if n % 2 == 0:
        assert int(q.encode(-1.0)) == 1  # class 0 is never produced
        assert float(q.decode(0)) == -1.0


def test_known_values_256() -> None:
    q = Quantizer()
    assert (q.n_channels, q.kind, q.mu) == (256, "mu_law", 255)
    assert q.encode([-1.0, 0.0, 1.0]).tolist() == [1, 128, 255]
    assert q.storage_dtype == np.uint8
    assert Quantizer(257).storage_dtype == np.uint16
    # Linear: the bound is half a step.
    assert Quantizer(256, "linear").max_error == pytest.approx(0.5 / 127, abs=2e-6)


def test_mu_law_is_finer_near_zero_than_linear() -> None:
    mu, lin = Quantizer(256, "mu_law"), Quantizer(256, "linear")
    assert float(mu.decode(129)) < float(lin.decode(129)) / 10
    quiet = 0.003 * np.sin(np.linspace(0, 20, 1000))
    assert len(np.unique(mu.encode(quiet))) > 4 * len(np.unique(lin.encode(quiet)))


def test_out_of_range_and_nan_inputs_are_clipped() -> None:
    q = Quantizer(256)
    assert q.encode([5.0, -5.0, np.inf, -np.inf, np.nan]).tolist() == [255, 1, 255, 1, 128]


def test_shapes_are_kept() -> None:
    q = Quantizer(16, "linear")
    x = np.zeros((3, 4, 5), dtype=np.float32)
    assert q.encode(x).shape == (3, 4, 5)
    assert q.decode(q.encode(x)).shape == (3, 4, 5)
    assert q.encode(0.25).shape == ()


@pytest.mark.parametrize("bad", [1, 0, -3, 65537, 2.5, True, "256", None])
def test_bad_n_channels(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        Quantizer(bad)  # type: ignore[arg-type]
    assert info.value.field == "n_channels"
    assert "\n" not in str(info.value) and str(info.value).startswith("n_channels: ")


def test_bad_kind() -> None:
    with pytest.raises(ConfigError) as info:
        Quantizer(256, "a_law")
    assert info.value.field == "kind" and "mu_law" in str(info.value)


def test_numpy_integer_n_channels_is_accepted() -> None:
    q = Quantizer(np.int64(256))
    assert type(q.n_channels) is int and q == Quantizer(256)


def test_decode_validates_classes() -> None:
    q = Quantizer(256)
    with pytest.raises(ConfigError, match="classes"):
        q.decode([0, 256])
    with pytest.raises(ConfigError, match="classes"):
        q.decode([-1])
    with pytest.raises(ConfigError, match="integers"):
        q.decode([0.5])
    assert q.decode(np.array([], dtype=np.int64)).shape == (0,)


def test_frozen_and_plain_fields() -> None:
    q = Quantizer(256)
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.n_channels = 3  # type: ignore[misc]
    assert dataclasses.asdict(q) == {"n_channels": 256, "kind": "mu_law"}
    assert hash(q) == hash(Quantizer(256, "mu_law"))

"""Quantization of audio in [-1, 1] to ``n_channels`` integer classes and back.

Two kinds are offered: ``"mu_law"`` (the WaveNet default, with
``mu = n_channels - 1``) and ``"linear"``.  Both are *mid-tread* quantizers
built to be exactly symmetric:

* ``half = (n_channels - 1) // 2`` levels on each side of zero and one level at
  zero; the class of silence is ``centre = n_channels // 2`` and
  ``decode(centre) == 0.0`` exactly;
* ``encode(-x) == 2 * centre - encode(x)`` for every ``x``;
* ``encode`` is monotonic (non-decreasing) in ``x``.

For odd ``n_channels`` every class is a level.  For even ``n_channels`` (256,
the default) the levels use classes ``1 .. n_channels - 1`` and class ``0`` is
never produced by :meth:`Quantizer.encode` (it decodes to ``-1.0``); giving up
one class of 256 is the price of an exact, symmetric zero.  ``n_channels == 2``
has no room for a zero level and is a sign quantizer (class 0 is negative,
class 1 is zero and positive); it is allowed but of little use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from wavenet_gui.core.errors import ConfigError

__all__ = ["QUANTIZATION_KINDS", "Quantizer"]

QUANTIZATION_KINDS: tuple[str, ...] = ("mu_law", "linear")
MIN_CHANNELS = 2
MAX_CHANNELS = 65536


@dataclass(frozen=True)
class Quantizer:
    """Map audio samples in [-1, 1] to integer classes in ``[0, n_channels)``.

    Parameters
    ----------
    n_channels : int
        Number of classes, 2 to 65536 (default 256).
    kind : {"mu_law", "linear"}
        Companding: mu-law with ``mu = n_channels - 1`` (default) or none.

    Raises
    ------
    ConfigError
        ``n_channels`` is not an integer in [2, 65536] (field ``"n_channels"``)
        or ``kind`` is unknown (field ``"kind"``).

    Examples
    --------
    >>> q = Quantizer(256)
    >>> q.centre
    128
    >>> q.encode([-1.0, 0.0, 1.0]).tolist()
    [1, 128, 255]
    >>> float(q.decode(q.centre))
    0.0
    """

    n_channels: int = 256
    kind: str = "mu_law"

    def __post_init__(self) -> None:
        n = self.n_channels
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ConfigError("n_channels", f"must be a whole number, got {n!r}")
        if not MIN_CHANNELS <= int(n) <= MAX_CHANNELS:
            raise ConfigError(
                "n_channels", f"must be between {MIN_CHANNELS} and {MAX_CHANNELS} classes, got {n}"
            )
        if self.kind not in QUANTIZATION_KINDS:
            raise ConfigError(
                "kind", f"must be one of {', '.join(QUANTIZATION_KINDS)}, got {self.kind!r}"
            )
        object.__setattr__(self, "n_channels", int(n))

    @property
    def _half(self) -> int:
        """Number of levels on each side of zero."""
        return (self.n_channels - 1) // 2

    # -- companding -------------------------------------------------------
    @property
    def mu(self) -> int:
        """The mu-law parameter, ``n_channels - 1`` (also set for ``"linear"``)."""
        return self.n_channels - 1

    def _compress(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "linear":
            return x
        mu = float(self.mu)
        return np.sign(x) * np.log1p(mu * np.abs(x)) / math.log1p(mu)

    def _expand(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "linear":
            return y
        mu = float(self.mu)
        return np.sign(y) * np.expm1(np.abs(y) * math.log1p(mu)) / mu

    # -- public API ---------------------------------------------------------
    @property
    def centre(self) -> int:
        """The class of silence, ``encode(0.0)`` (``n_channels // 2``)."""
        return self.n_channels // 2

    @property
    def storage_dtype(self) -> np.dtype:
        """The smallest unsigned dtype that holds every class (uint8 up to 256 classes)."""
        return np.dtype(np.uint8) if self.n_channels <= 256 else np.dtype(np.uint16)

    def encode(self, x: ArrayLike) -> np.ndarray:
        """Quantize samples to classes.

        Parameters
        ----------
        x : array_like of float
            Samples; values outside [-1, 1] are clipped, NaN is treated as 0.

        Returns
        -------
        np.ndarray of int64
            Classes in ``[0, n_channels)``, same shape as ``x``.

        Examples
        --------
        >>> Quantizer(5, kind="linear").encode([-1, -0.5, 0, 0.5, 1]).tolist()
        [0, 1, 2, 3, 4]
        """
        a = np.asarray(x, dtype=np.float64)
        a = np.clip(np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        y = self._compress(a)
        if self._half == 0:  # n_channels == 2: sign quantizer
            return np.where(y < 0.0, 0, 1).astype(np.int64)
        # np.rint rounds half to even, which is symmetric: rint(-v) == -rint(v).
        return (self.centre + np.rint(y * self._half)).astype(np.int64)

    def decode(self, q: ArrayLike) -> np.ndarray:
        """Turn classes back into samples.

        Parameters
        ----------
        q : array_like of int
            Classes in ``[0, n_channels)``.

        Returns
        -------
        np.ndarray of float32
            Samples in [-1, 1], same shape as ``q``.

        Raises
        ------
        ConfigError
            ``q`` is not integer or holds a class outside ``[0, n_channels)``
            (field ``"classes"``).

        Examples
        --------
        >>> Quantizer(5, kind="linear").decode([0, 2, 4]).tolist()
        [-1.0, 0.0, 1.0]
        """
        a = np.asarray(q)
        if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
            raise ConfigError("classes", f"must be integers, got {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= self.n_channels):
            raise ConfigError(
                "classes",
                f"must be in [0, {self.n_channels}), got values from {a.min()} to {a.max()}",
            )
        a = a.astype(np.float64)
        if self._half == 0:  # n_channels == 2
            y = np.where(a < 1, -0.5, 0.5)
            return self._expand(y).astype(np.float32)
        y = np.clip((a - self.centre) / self._half, -1.0, 1.0)
        return self._expand(y).astype(np.float32)

    @cached_property
    def max_error(self) -> float:
        """Largest ``|decode(encode(x)) - x|`` over ``x`` in [-1, 1] (plus float32 slack).

        ``0.5 / half`` for linear; for mu-law the widest cell, next to +-1.
        """
        if self._half == 0:
            # Levels at expand(+-0.5); the worst x are 0 and +-1.
            level = float(self._expand(np.array(0.5)))
            bound = max(level, 1.0 - level)
        else:
            j = np.arange(self._half + 1, dtype=np.float64)
            levels = self._expand(j / self._half)
            upper = self._expand(np.minimum(j + 0.5, self._half) / self._half)
            lower = self._expand(np.maximum(j - 0.5, 0.0) / self._half)
            bound = float(max(np.max(upper - levels), np.max(levels - lower)))
        return bound + 1e-6

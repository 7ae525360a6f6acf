"""Training data: random windows drawn from many files, with an optional held-out tail.

A long file is never turned into one big float tensor: the quantized classes
of every file are kept in one compact integer array (``uint8`` for up to 256
classes, ``uint16`` up to 65536, else ``int32``), and each training step copies
out only the windows it needs.  Memory is therefore about one byte per sample
for 256 classes (a 10-minute file at 16 kHz: 9.6 MB); see
:attr:`WindowSampler.memory_bytes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wavenet_gui.core.errors import ConfigError

__all__ = ["MAX_HOLDOUT", "WindowSampler", "compact_dtype"]

#: The largest hold-out fraction accepted.
MAX_HOLDOUT = 0.5


def compact_dtype(n_channels: int) -> np.dtype:
    """The smallest integer dtype that holds classes ``0 .. n_channels - 1``.

    Examples
    --------
    >>> compact_dtype(256), compact_dtype(257)
    (dtype('uint8'), dtype('uint16'))
    """
    if n_channels <= 1 << 8:
        return np.dtype(np.uint8)
    if n_channels <= 1 << 16:
        return np.dtype(np.uint16)
    return np.dtype(np.int32)


class WindowSampler:
    """Draw random training windows across files, weighted by their length.

    Each file of ``L`` samples is split into a training part (the first
    ``L - round(L * holdout)`` samples) and a held-out tail.  A training
    window lies wholly inside a training part; every valid window start of
    every file is equally likely, so a file is chosen with probability
    proportional to its number of valid windows (its duration).  Validation
    windows are fixed, non-overlapping windows lying wholly inside the tails.

    Parameters
    ----------
    signals : sequence of 1-D integer arrays
        Quantized classes, one array per file.
    window : int, keyword-only
        Window length in samples: the model's receptive field plus the number
        of target samples (at least 2).
    holdout : float, keyword-only
        Fraction of each file, at its end, kept out of training for
        validation; 0 (default) to 0.5.
    names : sequence of str, optional, keyword-only
        File names, used in messages.
    n_channels : int, optional, keyword-only
        Number of classes; when given, classes are checked against it and it
        picks the storage dtype.  Otherwise the largest class decides.
    receptive_field : int, optional, keyword-only
        The model's receptive field, only to explain errors.
    sample_rate : int, optional, keyword-only
        Hz, only to give lengths in seconds in errors.

    Raises
    ------
    ConfigError
        No signals, bad classes, a bad ``window`` or ``holdout``, or no file
        long enough for one training window (field ``"window"``; the message
        says the window, the longest file and what to change).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signals = [rng.integers(0, 256, 10_000), rng.integers(0, 256, 30_000)]
    >>> sampler = WindowSampler(signals, window=1024, holdout=0.1)
    >>> sampler.sample(8, rng).shape
    (8, 1024)
    >>> len(sampler.validation_batches(4)) > 0
    True
    """

    def __init__(
        self,
        signals: Sequence[np.ndarray],
        *,
        window: int,
        holdout: float = 0.0,
        names: Sequence[str] | None = None,
        n_channels: int | None = None,
        receptive_field: int | None = None,
        sample_rate: int | None = None,
    ) -> None:
        window = _whole("window", window, minimum=2)
        if isinstance(holdout, bool) or not isinstance(holdout, (int, float, np.floating)):
            raise ConfigError("holdout", f"must be a fraction between 0 and {MAX_HOLDOUT}")
        holdout = float(holdout)
        if not 0.0 <= holdout <= MAX_HOLDOUT:
            raise ConfigError(
                "holdout", f"must be between 0 and {MAX_HOLDOUT} (e.g. 0.1), got {holdout:g}"
            )
        if n_channels is not None:
            n_channels = _whole("n_channels", n_channels, minimum=2)
        if receptive_field is not None:
            receptive_field = _whole("receptive_field", receptive_field, minimum=1)
        if sample_rate is not None:
            sample_rate = _whole("sample_rate", sample_rate, minimum=1)
        if isinstance(signals, np.ndarray) and signals.ndim == 1:
            signals = [signals]
        signals = list(signals)
        if not signals:
            raise ConfigError("signals", "no audio to train on: give at least one file")
        if names is None:
            names = [f"file {i + 1}" for i in range(len(signals))]
        else:
            names = [str(n) for n in names]
            if len(names) != len(signals):
                raise ConfigError(
                    "names", f"{len(names)} names given for {len(signals)} signals"
                )

        arrays: list[np.ndarray] = []
        top = 0
        for name, s in zip(names, signals):
            a = np.asarray(s)
            if a.ndim != 1:
                raise ConfigError("signals", f"{name}: must be 1-D classes, got shape {a.shape}")
            if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
                raise ConfigError("signals", f"{name}: classes must be integers, got {a.dtype}")
            if a.size:
                lo, hi = int(a.min()), int(a.max())
                if lo < 0 or (n_channels is not None and hi >= n_channels):
                    limit = f"[0, {n_channels})" if n_channels is not None else "0 or more"
                    raise ConfigError(
                        "signals", f"{name}: classes must be {limit}, got {lo} to {hi}"
                    )
                top = max(top, hi)
            arrays.append(a)

        self._dtype = compact_dtype(n_channels if n_channels is not None else top + 1)
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        shared = _one_buffer(arrays, self._dtype)  # scale (issue 15): a corpus cache's map is not copied
        if shared is not None:
            data, starts = shared
            offsets = np.append(starts, len(data))
        else:
            data = np.empty(int(offsets[-1]), dtype=self._dtype)
            for a, start in zip(arrays, offsets[:-1]):
                data[start : start + len(a)] = a  # one compact copy, file by file

        held = np.rint(lengths * holdout).astype(np.int64) if holdout > 0 else lengths * 0
        train_len = lengths - held
        counts = np.maximum(train_len - window + 1, 0)

        self._data = data
        self._names = names
        self._window = window
        self._holdout = holdout
        self._lengths = lengths
        self._offsets = offsets[:-1].copy()
        self._train_len = train_len
        self._held = held
        self._counts = counts
        self._cum_counts = np.cumsum(counts)
        self._n_windows = int(counts.sum())

        if self._n_windows == 0:
            raise ConfigError("window", self._too_short_message(receptive_field, sample_rate))

        # Validation windows: non-overlapping, wholly inside each tail, in file order.
        starts: list[int] = []
        for i in range(len(arrays)):
            tail_start = int(self._offsets[i] + train_len[i])
            for k in range(int(held[i]) // window):
                starts.append(tail_start + k * window)
        self._validation_starts = np.array(starts, dtype=np.int64)

    # ------------------------------------------------------------------ messages
    def _too_short_message(self, receptive_field: int | None, sample_rate: int | None) -> str:
        longest = int(np.argmax(self._lengths))
        length = int(self._lengths[longest])
        usable = int(self._train_len[longest])

        def amount(n: int) -> str:
            text = f"{n:,} samples"
            return f"{text} ({n / sample_rate:.3f} s)" if sample_rate else text

        parts = [f"{self._window / sample_rate:.3f} s"] if sample_rate else []
        if receptive_field is not None:
            targets = self._window - receptive_field
            parts.append(f"receptive field {receptive_field:,} + {targets:,} target samples")
        what = f"a training window is {self._window:,} samples"
        what += f" ({'; '.join(parts)})" if parts else ""
        if usable != length and length >= self._window:
            have = (
                f"the longest file ({self._names[longest]}) has {amount(length)}, "
                f"{amount(usable)} after holding out {self._holdout:.0%}"
            )
            fix = (
                "use fewer dilations or blocks, fewer target samples, a smaller hold-out "
                "or longer audio"
            )
        else:
            have = f"the longest file ({self._names[longest]}) has only {amount(length)}"
            fix = "use fewer dilations or blocks, fewer target samples or longer audio"
        return f"{what} but {have}; {fix}"

    # ------------------------------------------------------------------ properties
    @property
    def window(self) -> int:
        """Window length in samples."""
        return self._window

    @property
    def holdout(self) -> float:
        """Held-out fraction of each file."""
        return self._holdout

    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of the classes (``uint8`` for up to 256 classes)."""
        return self._dtype

    @property
    def names(self) -> list[str]:
        """File names, in order."""
        return list(self._names)

    @property
    def n_files(self) -> int:
        """Number of files (including ones too short to give a window)."""
        return len(self._lengths)

    @property
    def total_samples(self) -> int:
        """All samples of all files, held-out tails included."""
        return int(self._lengths.sum())

    @property
    def train_samples(self) -> int:
        """Samples in the training parts (tails excluded)."""
        return int(self._train_len.sum())

    @property
    def n_windows(self) -> int:
        """Number of distinct training windows (valid window starts)."""
        return self._n_windows

    @property
    def file_weights(self) -> np.ndarray:
        """Probability of each file being drawn (valid windows / all valid windows)."""
        return self._counts / self._n_windows

    @property
    def unused_files(self) -> list[str]:
        """One note per file too short for a training window, e.g. for the log."""
        return [
            f"{name}: shorter than one training window ({int(n):,} < {self._window:,} samples); "
            "not used for training"
            for name, n, c in zip(self._names, self._train_len, self._counts)
            if c == 0
        ]

    @property
    def has_validation(self) -> bool:
        """Whether at least one validation window exists."""
        return len(self._validation_starts) > 0

    @property
    def n_validation_windows(self) -> int:
        """Number of validation windows available (before ``max_batches`` applies)."""
        return len(self._validation_starts)

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the sampler (the compact classes plus its index arrays)."""
        extra = (
            self._lengths, self._offsets, self._train_len, self._held,
            self._counts, self._cum_counts, self._validation_starts,
        )  # fmt: skip
        return int(self._data.nbytes + sum(a.nbytes for a in extra))

    # ------------------------------------------------------------------ sampling
    def _gather(self, starts: np.ndarray) -> np.ndarray:
        views = sliding_window_view(self._data, self._window)
        return views[starts].astype(np.int64)

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Draw a batch of random training windows.

        Parameters
        ----------
        batch_size : int
            Number of windows (at least 1).
        rng : np.random.Generator
            Source of randomness (same generator state, same batch).

        Returns
        -------
        np.ndarray of int64, shape (batch_size, window)

        Examples
        --------
        >>> import numpy as np
        >>> s = WindowSampler([np.arange(100) % 256], window=10)
        >>> s.sample(3, np.random.default_rng(1)).shape
        (3, 10)
        """
        batch_size = _whole("batch_size", batch_size, minimum=1)
        if not isinstance(rng, np.random.Generator):
            raise ConfigError("rng", f"must be a numpy.random.Generator, got {type(rng).__name__}")
        u = rng.integers(0, self._n_windows, size=batch_size, dtype=np.int64)
        files = np.searchsorted(self._cum_counts, u, side="right")
        before = np.where(files > 0, self._cum_counts[files - 1], 0)
        starts = self._offsets[files] + (u - before)
        return self._gather(starts)

    def validation_batches(self, batch_size: int, *, max_batches: int = 8) -> list[np.ndarray]:
        """Fixed validation windows from the held-out tails, in batches.

        The same call always gives the same windows.  When the tails hold more
        than ``batch_size * max_batches`` windows, that many are taken evenly
        spread over all of them.

        Parameters
        ----------
        batch_size : int
            Windows per batch (the last batch may be smaller).
        max_batches : int, keyword-only
            At most this many batches (default 8).

        Returns
        -------
        list of np.ndarray of int64, each (n, window)
            Empty when ``holdout`` is 0 or no tail is as long as a window.

        Examples
        --------
        >>> import numpy as np
        >>> s = WindowSampler([np.arange(1000) % 256], window=50, holdout=0.2)
        >>> [b.shape for b in s.validation_batches(3)]
        [(3, 50), (1, 50)]
        """
        batch_size = _whole("batch_size", batch_size, minimum=1)
        max_batches = _whole("max_batches", max_batches, minimum=1)
        starts = self._validation_starts
        limit = batch_size * max_batches
        if len(starts) > limit:
            pick = np.linspace(0, len(starts) - 1, limit).round().astype(np.int64)
            starts = starts[np.unique(pick)]
        return [self._gather(starts[i : i + batch_size]) for i in range(0, len(starts), batch_size)]


def _one_buffer(arrays: Sequence[np.ndarray], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray] | None:
    """scale (issue 15): when every array is a contiguous view into one 1-D buffer of ``dtype``
    (the memory map of :mod:`wavenet_gui.core.corpus_cache`), that buffer and each array's
    start in it, so the sampler reads the map instead of copying it; else None."""
    roots, starts = [], []
    for a in arrays:
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        if (root.ndim != 1 or root.dtype != dtype or a.dtype != dtype or not root.flags.c_contiguous
                or (len(a) > 1 and a.strides[0] != dtype.itemsize)):
            return None
        delta = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        start, rest = divmod(delta, dtype.itemsize)
        if rest or start < 0 or start + len(a) > len(root):
            return None
        roots.append(root)
        starts.append(start)
    if not roots or any(r is not roots[0] for r in roots) or not isinstance(roots[0], np.memmap):
        return None
    return roots[0], np.array(starts, dtype=np.int64)


def _whole(field: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(field, f"must be at least {minimum}, got {value}")
    return int(value)

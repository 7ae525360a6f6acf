"""Training data: windows drawn from many files so that every sample is a target.

A long file is never turned into one big float tensor: the quantized classes
of every file are kept in one compact integer array (``uint8`` for up to 256
classes, ``uint16`` up to 65536, else ``int32``), and each training step copies
out only the windows it needs.  Memory is therefore about one byte per sample
for 256 classes (a 10-minute file at 16 kHz: 9.6 MB); see
:attr:`WindowSampler.memory_bytes`.

A window is ``receptive_field`` samples of context followed by
``target_length`` scored samples.  Windows may start before a file's first
sample: the missing context is silence (the centre class), exactly what
:meth:`~wavenet_gui.core.model.WaveNet.forward` and the cached generators see
before the first sample, so every sample of every file, sample 0 included, is
a training target.  Windows never mix two files.  A file shorter than the
target length is right-padded with :data:`IGNORE` (``-1``), which the loss
skips (``F.cross_entropy(..., ignore_index=-1)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wavenet_gui.core.errors import ConfigError

__all__ = ["IGNORE", "MAX_HOLDOUT", "WindowSampler", "compact_dtype"]

#: The largest hold-out fraction accepted.
MAX_HOLDOUT = 0.5

#: Class value of padding after a file's end: such targets carry no loss.
IGNORE = -1


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
    """Draw random training windows across files so that every sample is scored.

    Each file of ``L`` samples is split into a training part (the first
    ``L - round(L * holdout)`` samples) and a held-out tail.  A window is
    ``receptive_field`` samples of context and ``target_length`` targets; its
    targets lie inside one file's training part, its context may reach
    before the file's first sample, where it is silence (the centre class).
    A file's leading samples of the centre class belong to that silent past:
    they are dropped (a file of nothing else is empty).

    A file is drawn with probability proportional to its training samples.
    Within a file of ``n >= target_length`` training samples the first target
    ``u`` is ``clip(v, 0, n - target_length)`` for ``v`` uniform in
    ``[1 - target_length, n - 1]``: every sample is covered by between
    ``target_length`` and ``2 * target_length`` of the ``n + target_length - 1``
    equally likely draws, sample 0 and the last one included, and no window
    wastes its targets on padding.  A file shorter than ``target_length`` gives
    one window, right-padded with :data:`IGNORE`.

    Validation windows score the held-out tails, ``target_length`` samples at a
    time, with the real context before them (the end of the training part).

    Parameters
    ----------
    signals : sequence of 1-D integer arrays
        Quantized classes, one array per file.
    receptive_field : int, keyword-only
        The model's receptive field: the context before the first target.
    target_length : int, keyword-only
        Scored samples per window.
    holdout : float, keyword-only
        Fraction of each file, at its end, kept out of training for
        validation; 0 (default) to 0.5.
    names : sequence of str, optional, keyword-only
        File names, used in messages.
    n_channels : int, keyword-only
        Number of classes (default 256): classes are checked against it, it
        picks the storage dtype, and its centre class is the silence padding.
    sample_rate : int, optional, keyword-only
        Hz, only to give lengths in seconds in messages.

    Raises
    ------
    ConfigError
        No signals, bad classes, a bad ``receptive_field``, ``target_length``
        or ``holdout``, or no training sample at all (field ``"signals"``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signals = [rng.integers(0, 256, 10_000), rng.integers(0, 256, 300)]
    >>> sampler = WindowSampler(signals, receptive_field=1024, target_length=512, holdout=0.1)
    >>> sampler.sample(8, rng).shape
    (8, 1536)
    >>> len(sampler.validation_batches(4)) > 0
    True
    """

    def __init__(
        self,
        signals: Sequence[np.ndarray],
        *,
        receptive_field: int,
        target_length: int,
        holdout: float = 0.0,
        names: Sequence[str] | None = None,
        n_channels: int = 256,
        sample_rate: int | None = None,
    ) -> None:
        receptive_field = _whole("receptive_field", receptive_field, minimum=1)
        target_length = _whole("target_length", target_length, minimum=1)
        if isinstance(holdout, bool) or not isinstance(holdout, (int, float, np.floating)):
            raise ConfigError("holdout", f"must be a fraction between 0 and {MAX_HOLDOUT}")
        holdout = float(holdout)
        if not 0.0 <= holdout <= MAX_HOLDOUT:
            raise ConfigError(
                "holdout", f"must be between 0 and {MAX_HOLDOUT} (e.g. 0.1), got {holdout:g}"
            )
        n_channels = _whole("n_channels", n_channels, minimum=2)
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
        for name, s in zip(names, signals, strict=True):
            a = np.asarray(s)
            if a.ndim != 1:
                raise ConfigError("signals", f"{name}: must be 1-D classes, got shape {a.shape}")
            if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
                raise ConfigError("signals", f"{name}: classes must be integers, got {a.dtype}")
            if a.size:
                lo, hi = int(a.min()), int(a.max())
                if lo < 0 or hi >= n_channels:
                    raise ConfigError(
                        "signals", f"{name}: classes must be in [0, {n_channels}), got {lo} to {hi}"
                    )
            # Leading samples of the centre class are indistinguishable from the silent past
            # before the file: they are part of it, never targets.  (Otherwise the model would
            # learn that silence may go on after silence, which is how generation from nothing
            # stays silent.)
            first = _first_other(a, n_channels // 2)
            arrays.append(a[first:])  # a view: a memory-mapped corpus stays uncopied

        self._dtype = compact_dtype(n_channels)
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        shared = _one_buffer(arrays, self._dtype)  # scale (issue 15): a corpus cache's map is not copied
        if shared is not None:
            data, starts = shared
            offsets = np.append(starts, len(data))
        else:
            data = np.empty(int(offsets[-1]), dtype=self._dtype)
            for a, start in zip(arrays, offsets[:-1], strict=True):
                data[start : start + len(a)] = a  # one compact copy, file by file

        held = np.rint(lengths * holdout).astype(np.int64) if holdout > 0 else lengths * 0
        train_len = lengths - held

        self._data = data
        self._names = names
        self._rf = receptive_field
        self._targets = target_length
        self._window = receptive_field + target_length
        self._centre = n_channels // 2
        self._sample_rate = sample_rate
        self._holdout = holdout
        self._lengths = lengths
        self._offsets = offsets[:-1].copy()
        self._train_len = train_len
        self._held = held
        self._cum_train = np.cumsum(train_len)

        if int(train_len.sum()) == 0:
            raise ConfigError("signals", "no audio to train on: every file is empty"
                              + (" after the hold-out" if holdout > 0 else ""))

        # Validation: the tails, target_length targets at a time, in file order.
        vfiles: list[int] = []
        vstarts: list[int] = []
        for i in range(len(arrays)):
            for u in range(int(train_len[i]), int(lengths[i]), target_length):
                vfiles.append(i)
                vstarts.append(u)
        self._validation = (np.array(vfiles, dtype=np.int64), np.array(vstarts, dtype=np.int64))

    # ------------------------------------------------------------------ properties
    @property
    def window(self) -> int:
        """Window length in samples: ``receptive_field + target_length``."""
        return self._window

    @property
    def receptive_field(self) -> int:
        """Context samples before the first target of a window."""
        return self._rf

    @property
    def target_length(self) -> int:
        """Scored samples per window (the last ``target_length`` of it)."""
        return self._targets

    @property
    def pad_class(self) -> int:
        """The class of the silence before a file's first sample (the centre class)."""
        return self._centre

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
        """Number of files (including empty ones)."""
        return len(self._lengths)

    @property
    def total_samples(self) -> int:
        """All samples of all files, held-out tails included."""
        return int(self._lengths.sum())

    @property
    def train_samples(self) -> int:
        """Samples in the training parts (tails excluded): every one is a target."""
        return int(self._train_len.sum())

    @property
    def n_windows(self) -> int:
        """Number of distinct training windows (distinct first targets)."""
        return int(np.maximum(self._train_len - self._targets + 1, 1)[self._train_len > 0].sum())

    @property
    def file_weights(self) -> np.ndarray:
        """Probability of each file being drawn (its share of the training samples)."""
        return self._train_len / self._train_len.sum()

    @property
    def unused_files(self) -> list[str]:
        """One note per file with nothing to train on, e.g. for the log."""
        return [f"{name}: empty; not used for training"
                for name, n in zip(self._names, self._train_len, strict=True) if n == 0]

    @property
    def padded_files(self) -> list[str]:
        """Files shorter than the target length: their windows are padded, which costs time."""
        return [name for name, n in zip(self._names, self._train_len, strict=True) if 0 < n < self._targets]

    @property
    def has_validation(self) -> bool:
        """Whether at least one validation window exists."""
        return len(self._validation[0]) > 0

    @property
    def n_validation_windows(self) -> int:
        """Number of validation windows available (before ``max_batches`` applies)."""
        return len(self._validation[0])

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the sampler (the compact classes plus its index arrays)."""
        extra = (self._lengths, self._offsets, self._train_len, self._held, self._cum_train,
                 *self._validation)
        return int(self._data.nbytes + sum(a.nbytes for a in extra))

    # ------------------------------------------------------------------ sampling
    def _gather(self, files: np.ndarray, first_targets: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Windows whose targets start at ``first_targets`` (in file coordinates).

        Positions before the file's start are the centre class, positions at or after
        ``ends`` (file coordinates) are :data:`IGNORE`.
        """
        pos = (first_targets - self._rf)[:, None] + np.arange(self._window)  # [B, W]
        inside = (pos >= 0) & (pos < ends[:, None])
        flat = np.where(inside, pos + self._offsets[files][:, None], 0)
        out = self._data[flat].astype(np.int64)
        out[pos < 0] = self._centre
        out[pos >= ends[:, None]] = IGNORE
        return out

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
            Classes; the silence before a file is the centre class, padding
            after a short file is :data:`IGNORE` (-1).

        Examples
        --------
        >>> import numpy as np
        >>> s = WindowSampler([np.arange(100) % 256], receptive_field=4, target_length=6)
        >>> s.sample(3, np.random.default_rng(1)).shape
        (3, 10)
        """
        batch_size = _whole("batch_size", batch_size, minimum=1)
        if not isinstance(rng, np.random.Generator):
            raise ConfigError("rng", f"must be a numpy.random.Generator, got {type(rng).__name__}")
        T = self._targets
        u = rng.integers(0, int(self._cum_train[-1]), size=batch_size, dtype=np.int64)
        files = np.searchsorted(self._cum_train, u, side="right")  # by share of training samples
        n = self._train_len[files]
        v = rng.integers(1 - T, n, dtype=np.int64)  # [1 - T, n - 1]
        first = np.clip(v, 0, np.maximum(n - T, 0))
        return self._gather(files, first, n)

    def validation_batches(self, batch_size: int, *, max_batches: int = 8) -> list[np.ndarray]:
        """Fixed validation windows scoring the held-out tails, in batches.

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
            Empty when ``holdout`` is 0.

        Examples
        --------
        >>> import numpy as np
        >>> s = WindowSampler([np.arange(1000) % 256], receptive_field=10, target_length=40, holdout=0.2)
        >>> [b.shape for b in s.validation_batches(3)]
        [(3, 50), (2, 50)]
        """
        batch_size = _whole("batch_size", batch_size, minimum=1)
        max_batches = _whole("max_batches", max_batches, minimum=1)
        files, starts = self._validation
        limit = batch_size * max_batches
        if len(starts) > limit:
            pick = np.unique(np.linspace(0, len(starts) - 1, limit).round().astype(np.int64))
            files, starts = files[pick], starts[pick]
        ends = self._lengths[files]
        return [self._gather(files[i:i + batch_size], starts[i:i + batch_size], ends[i:i + batch_size])
                for i in range(0, len(starts), batch_size)]


def _first_other(a: np.ndarray, value: int, *, block: int = 1 << 16) -> int:
    """Index of the first element of ``a`` other than ``value`` (``len(a)`` if none), read block
    by block so a long (memory-mapped) array is never scanned into a temporary of its size."""
    for start in range(0, len(a), block):
        other = a[start:start + block] != value
        if other.any():
            return start + int(other.argmax())
    return len(a)


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

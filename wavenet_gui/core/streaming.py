"""Long generation streamed to disk: memory stays flat however long the output.

:func:`~wavenet_gui.core.generation.generate` keeps everything it makes in memory (for the
window, which plays and plots it), up to
:data:`~wavenet_gui.core.generation.MAX_IN_MEMORY_SAMPLES`.  :func:`generate_to_files`
writes each variation to its own 16-bit WAV file chunk by chunk as it is generated, so
hours of output cost a few megabytes of memory.  The files are written under hidden
temporary names in the output folder and get their final names (never replacing a file,
see :func:`~wavenet_gui.core.fileio.publish_new`) when generation ends: finished, or
cancelled through ``cancel`` (what was made is kept, as with Ctrl+C or SIGTERM in the CLI).

Limits, checked before the first sample is made: at most :data:`MAX_STREAMED_SAMPLES`
samples per variation (what a WAV file can hold), and the output must fit in the free
space of the output folder's disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError, OutputError
from .fileio import check_writable_dir, os_error_reason, publish_new
from .generation import GenerationProgress, iter_generate, random_seed
from .model import WaveNet

__all__ = ["MAX_STREAMED_SAMPLES", "StreamedGeneration", "WavStreamWriter", "generate_to_files"]

_HEADER_BYTES = 44
#: The most samples one streamed variation may have: a 16-bit mono WAV file holds at most
#: 4 GiB of data (74 hours at 8 kHz, 3.1 hours at 192 kHz).
MAX_STREAMED_SAMPLES = (0xFFFFFFFF - _HEADER_BYTES) // 2
#: Free space left on the disk after the output is written.
DISK_MARGIN_BYTES = 64 * 1024 * 1024


def _wav_header(n_samples: int, sample_rate: int) -> bytes:
    data = 2 * n_samples
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16)
            + b"data" + struct.pack("<I", data))


class WavStreamWriter:
    """A mono 16-bit WAV file written block by block; it gets its name only when closed.

    The samples go to a hidden temporary file in the folder of ``path``; :meth:`close`
    writes the header, syncs, and names the file ``path`` (or ``path-2``, ... when taken);
    :meth:`discard` removes it.  Samples are clipped to [-1, 1] and converted as libsndfile
    1.2 does (the top 16 bits of ``rint(x * 2**31)``), so the file equals what
    :func:`~wavenet_gui.core.audio.save_audio` writes for the same samples.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> w = WavStreamWriter(pathlib.Path(tempfile.mkdtemp()) / "long.wav", sample_rate=8000)
    >>> for _ in range(3):
    ...     w.write(np.zeros(800, np.float32))
    >>> w.close().name, w.n_samples
    ('long.wav', 2400)
    """

    def __init__(self, path: str | os.PathLike[str], *, sample_rate: int) -> None:
        self.path = Path(os.fspath(path)).expanduser()
        self.sample_rate = int(sample_rate)
        self.n_samples = 0
        try:
            self._fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.tmp-", dir=self.path.parent)
        except OSError as err:
            raise OutputError(self.path, os_error_reason(err)) from err
        self._tmp = Path(tmp)
        self._write_all(_wav_header(0, self.sample_rate))

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as err:
            self.discard()
            raise OutputError(self.path, os_error_reason(err)) from err

    def write(self, samples: np.ndarray) -> None:
        """Append mono samples (floats in [-1, 1]; NaN written as 0)."""
        x = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1), nan=0.0)
        if self.n_samples + len(x) > MAX_STREAMED_SAMPLES:
            raise OutputError(self.path, f"a WAV file holds at most {MAX_STREAMED_SAMPLES:,} samples")
        # libsndfile's float -> 16-bit conversion: to 32 bits (x * 2**31), then the top 16 bits
        pcm = np.clip(np.floor(np.rint(np.clip(x, -1.0, 1.0).astype(np.float64) * 2.0**31) / 65536.0),
                      -32768, 32767).astype("<i2")
        self._write_all(pcm.tobytes())
        self.n_samples += len(x)

    def close(self) -> Path:
        """Finish the header, sync, and give the file its name; return that name."""
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
        except OSError as err:
            self.discard()
            raise OutputError(self.path, os_error_reason(err)) from err
        self._write_all(_wav_header(self.n_samples, self.sample_rate))
        try:
            os.fsync(self._fd)
            os.close(self._fd)
        except OSError as err:
            self.discard()
            raise OutputError(self.path, os_error_reason(err)) from err
        self._fd = -1
        self.path = publish_new(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file (nothing appears under the final name)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            self._tmp.unlink()


@dataclass
class StreamedGeneration:
    paths: list[Path]
    """The files written, one per variation (empty when cancelled before the first sample)."""
    n_samples: int
    """Samples made per variation."""
    cancelled: bool
    samples_per_s: float
    sample_rate: int
    seed: int


def check_streamed_output(n_samples: int, n_streams: int, folder: str | os.PathLike[str]) -> int:
    """Refuse, in one line, an output longer than a WAV file holds or larger than the free disk.

    Returns the bytes the output will take.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ConfigError("length", f"must be at least one sample, got {n_samples!r}")
    if n_samples > MAX_STREAMED_SAMPLES:
        raise ConfigError("length", f"{n_samples:,} samples is more than a WAV file holds "
                                    f"({MAX_STREAMED_SAMPLES:,} samples per variation)")
    need = n_streams * (_HEADER_BYTES + 2 * int(n_samples))
    try:
        free = shutil.disk_usage(folder).free
    except OSError as err:
        raise OutputError(folder, os_error_reason(err)) from err
    if need + DISK_MARGIN_BYTES > free:
        raise OutputError(folder, f"not enough free disk space: the output needs {need / 1e9:.2f} GB "
                                  f"({n_streams} x {n_samples:,} samples), {free / 1e9:.2f} GB are free")
    return need


def generate_to_files(model: WaveNet, paths: Sequence[str | os.PathLike[str]], *, n_samples: int,
                      temperature: float = 1.0, seed: int | None = None, prime=None,
                      callback: Callable[[GenerationProgress, np.ndarray], None] | None = None,
                      cancel: threading.Event | None = None, backend: str = "auto",
                      weight_format: str = "float32") -> StreamedGeneration:
    """Generate one variation per path, writing each to its WAV file as it is generated.

    Memory stays at a few chunks, whatever ``n_samples``.  Same randomness as
    :func:`~wavenet_gui.core.generation.generate` (the same seed gives the same audio).
    When ``cancel`` is set, the samples made so far are written and named like a finished
    run (``cancelled=True``); on an error or an abort (KeyboardInterrupt) the temporary
    files are removed and nothing appears.

    Parameters
    ----------
    model : WaveNet
    paths : sequence of path-like
        The file name wanted for each variation (``len(paths)`` variations, 1 to 64); a
        name that exists gets ``-2``, ``-3``, ... instead of replacing it.
    n_samples : int, keyword-only
        Samples per variation, at most :data:`MAX_STREAMED_SAMPLES`.
    callback : callable, optional, keyword-only
        ``callback(progress, audio_chunk)`` after every chunk, as in ``generate``.
    cancel : threading.Event, optional, keyword-only
        Checked between chunks.

    Returns
    -------
    StreamedGeneration

    Raises
    ------
    ConfigError
        Bad length, temperature or number of variations.
    OutputError
        The folder cannot be written, or the output would not fit on its disk.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> r = generate_to_files(model, [out / "a.wav", out / "b.wav"], n_samples=800, seed=0)
    >>> [p.name for p in r.paths], r.n_samples
    (['a.wav', 'b.wav'], 800)
    """
    files = [Path(os.fspath(p)).expanduser() for p in paths]
    if not 1 <= len(files) <= 64:
        raise ConfigError("variations", f"must be between 1 and 64, got {len(files)}")
    for folder in dict.fromkeys(p.parent for p in files):
        check_writable_dir(folder)
        check_streamed_output(n_samples, sum(p.parent == folder for p in files), folder)
    if seed is None:
        seed = random_seed()
    sr = model.config.sample_rate
    quantizer = model.config.quantizer
    chunks = iter_generate(model, n_samples=n_samples, temperature=temperature, seed=seed, prime=prime,
                           n_streams=len(files), cancel=cancel, backend=backend, weight_format=weight_format)
    writers = [WavStreamWriter(p, sample_rate=sr) for p in files]
    done = 0
    t0 = time.perf_counter()
    try:
        for out in chunks:
            audio = quantizer.decode(out).astype(np.float32).reshape(out.shape)
            for k, w in enumerate(writers):
                w.write(audio[k])
            done += out.shape[1]
            if callback is not None:
                elapsed = time.perf_counter() - t0
                rate = done / max(elapsed, 1e-9)
                callback(GenerationProgress(done, n_samples, rate, elapsed, rate / sr), audio)
    except BaseException:
        chunks.close()
        for w in writers:
            w.discard()
        raise
    elapsed = time.perf_counter() - t0
    written: list[Path] = []
    if done == 0:
        for w in writers:
            w.discard()
    else:
        try:
            for w in writers:
                written.append(w.close())
        except BaseException:
            for w in writers:
                w.discard()
            raise
    return StreamedGeneration(paths=written, n_samples=done, cancelled=done < n_samples,
                              samples_per_s=done / max(elapsed, 1e-9), sample_rate=sr, seed=seed)

"""Hours of audio without holding them in memory: a decoded cache, memory-mapped.

Training reads quantized classes, one byte per sample (up to 256 classes).  For a
folder of hours of audio, :func:`open_corpus` decodes every file once, block by block
(:func:`~wavenet_gui.core.audio.open_audio`, soxr's streaming resampler), straight into
one file of classes on disk, and memory-maps it with numpy.  The next run with the same
files opens the map at once: nothing is decoded again, and the classes are read from
disk (the operating system's page cache) only where training windows fall.

Layout: ``cache_dir/<key>/classes.bin`` (every file's classes, one after the other) and
``index.json`` (the files, their offsets and lengths, the notes made while decoding).
The key hashes each file's resolved path, modification time and size, the sample rate,
the quantization and this format's version, so a changed file, rate or quantization
gives a new entry.  An entry is written in a temporary folder and renamed into place, so
an interrupted run never leaves a half-written entry; entries beyond the
:data:`KEEP_ENTRIES` most recently used are deleted.

The :class:`~wavenet_gui.core.data.WindowSampler` takes :meth:`Corpus.signals` (views of
the one map) without copying them.

Examples
--------
>>> import tempfile
>>> from wavenet_gui.core.quantization import Quantizer
>>> from wavenet_gui.resources import example_clip_path
>>> folder = tempfile.mkdtemp()
>>> corpus = open_corpus([example_clip_path()], sample_rate=8000, quantizer=Quantizer(256), cache_dir=folder)
>>> corpus.decoded, corpus.signals()[0].dtype
(True, dtype('uint8'))
>>> open_corpus([example_clip_path()], sample_rate=8000, quantizer=Quantizer(256), cache_dir=folder).decoded
False
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import open_audio
from .errors import AudioFileError, ConfigError, OutputError
from .quantization import Quantizer

__all__ = ["CACHE_VERSION", "KEEP_ENTRIES", "Corpus", "corpus_key", "default_cache_dir", "open_corpus"]

#: Bump when the decoding changes (the classes of a file would differ): old entries are not reused.
CACHE_VERSION = 1
#: Entries kept in a cache folder (the most recently used); older ones are deleted.
KEEP_ENTRIES = 4

_INDEX = "index.json"
_CLASSES = "classes.bin"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/wavenet-gui/corpus`` (``~/.cache/wavenet-gui/corpus`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wavenet-gui" / "corpus"


def _identity(path: Path) -> dict:
    try:
        st = path.stat()
    except OSError as e:
        raise AudioFileError(path, f"cannot be read ({e.strerror or e})") from None
    return {"path": str(path), "mtime_ns": int(st.st_mtime_ns), "size": int(st.st_size)}


def corpus_key(paths: Sequence[str | os.PathLike[str]], *, sample_rate: int, quantizer: Quantizer) -> str:
    """The cache key of these files (in this order) decoded at ``sample_rate`` with ``quantizer``.

    Examples
    --------
    >>> from wavenet_gui.resources import example_clip_path
    >>> a = corpus_key([example_clip_path()], sample_rate=8000, quantizer=Quantizer(256))
    >>> b = corpus_key([example_clip_path()], sample_rate=16000, quantizer=Quantizer(256))
    >>> len(a), a != b
    (32, True)
    """
    files = [_identity(Path(p).expanduser().resolve()) for p in paths]
    desc = {"version": CACHE_VERSION, "sample_rate": int(sample_rate), "n_channels": quantizer.n_channels,
            "quantization": quantizer.kind, "files": files}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class Corpus:
    """Decoded classes of several files in one memory-mapped array.

    Attributes
    ----------
    directory : Path
        The cache entry.
    paths : list of Path
        The source files, in order.
    offsets, lengths : np.ndarray
        int64: where each file's classes start in :attr:`data` and how many there are.
    sample_rate : int
    notes : list of str
        What decoding changed, one line per note, prefixed with the file's name.
    data : np.memmap
        Every file's classes, read-only.
    decoded : bool
        Whether this call decoded the files (False: the entry was reused).
    """

    directory: Path
    paths: list[Path]
    offsets: np.ndarray
    lengths: np.ndarray
    sample_rate: int
    notes: list[str]
    data: np.ndarray
    decoded: bool = False
    _released: bool = field(default=False, repr=False)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.paths]

    @property
    def seconds(self) -> float:
        """Duration of every file together."""
        return float(self.lengths.sum()) / self.sample_rate

    @property
    def nbytes(self) -> int:
        """Size of the classes on disk."""
        return int(self.data.nbytes)

    def signals(self) -> list[np.ndarray]:
        """Each file's classes: views of the one map (nothing is copied or read yet)."""
        return [self.data[int(o):int(o) + int(n)] for o, n in zip(self.offsets, self.lengths, strict=True)]

    def release_pages(self) -> None:
        """Drop the pages read so far from this process's memory (they stay in the page cache).

        A checking pass over every sample (the sampler's class range) maps the whole file
        into the process; afterwards only the windows training draws are read back in.
        """
        mm = getattr(self.data, "_mmap", None)
        advice = getattr(mmap, "MADV_DONTNEED", None)
        if mm is not None and advice is not None:
            try:
                mm.madvise(advice)
            except (OSError, ValueError):
                pass


def _entry_valid(entry: Path, key: str) -> dict | None:
    try:
        index = json.loads((entry / _INDEX).read_text())
        if index.get("key") != key or index.get("version") != CACHE_VERSION:
            return None
        size = (entry / _CLASSES).stat().st_size
        itemsize = np.dtype(index["dtype"]).itemsize
        if size != sum(int(f["length"]) for f in index["files"]) * itemsize:
            return None
        return index
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _prune(cache_dir: Path, keep: Path) -> None:
    entries = []
    for child in cache_dir.iterdir():
        if child.is_dir() and child != keep and not child.name.startswith("."):
            try:
                entries.append(((child / _INDEX).stat().st_mtime, child))
            except OSError:
                entries.append((0.0, child))
    entries.sort(reverse=True)
    for _, old in entries[KEEP_ENTRIES - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def _build(entry: Path, key: str, paths: list[Path], *, sample_rate: int, quantizer: Quantizer,
           cancel: threading.Event | None, progress: Callable[[int, int, str], None] | None) -> None:
    tmp = entry.parent / f".tmp-{entry.name}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    dtype = quantizer.storage_dtype
    files: list[dict] = []
    notes: list[str] = []
    try:
        with open(tmp / _CLASSES, "wb") as out:
            for i, path in enumerate(paths):
                if progress is not None:
                    progress(i, len(paths), path.name)
                stream = open_audio(path, sample_rate=sample_rate, cancel=cancel)
                n = 0
                for block in stream.blocks():
                    classes = quantizer.encode(block).astype(dtype, copy=False)
                    out.write(classes.tobytes())
                    n += len(classes)
                files.append({**_identity(path), "name": path.name, "length": n})
                notes.extend(f"{path.name}: {note}" for note in stream.notes)
            out.flush()
            os.fsync(out.fileno())
        index = {"version": CACHE_VERSION, "key": key, "sample_rate": int(sample_rate),
                 "n_channels": quantizer.n_channels, "quantization": quantizer.kind,
                 "dtype": dtype.name, "files": files, "notes": notes}
        (tmp / _INDEX).write_text(json.dumps(index, indent=1))
        try:
            os.rename(tmp, entry)
        except OSError:
            if _entry_valid(entry, key) is None:  # not another process's finished copy
                raise
    except OSError as e:
        if e.errno is not None and e.errno == 28:  # ENOSPC
            raise OutputError(entry.parent, "no space left for the decoded audio cache "
                                            "(free some space or use --cache_dir off)") from None
        raise OutputError(entry.parent, f"cannot write the decoded audio cache ({e.strerror or e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_corpus(paths: Iterable[str | os.PathLike[str]], *, sample_rate: int, quantizer: Quantizer,
                cache_dir: str | os.PathLike[str] | None = None, min_samples: int = 1,
                cancel: threading.Event | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> Corpus:
    """The files' classes, memory-mapped from the cache (decoding them first when not cached).

    Parameters
    ----------
    paths : iterable of path
        Audio files (folders already expanded, e.g. by
        :func:`~wavenet_gui.core.audio.find_audio_files`).
    sample_rate : int, keyword-only
        Hz, the model's rate.
    quantizer : Quantizer, keyword-only
        The model's quantizer.
    cache_dir : path, optional, keyword-only
        The cache folder (default :func:`default_cache_dir`).
    min_samples : int, keyword-only
        Refuse (after decoding) a file with fewer samples, as training would.
    cancel : threading.Event, optional, keyword-only
        Checked between blocks while decoding.
    progress : callable(done, total, name), optional, keyword-only
        Called before each file is decoded.

    Returns
    -------
    Corpus

    Raises
    ------
    AudioFileError
        A file is refused (one line naming it), as :func:`~wavenet_gui.core.audio.load_audio` would.
    OutputError
        The cache folder cannot be written (e.g. the disk is full).
    ConfigError
        No files.
    """
    resolved = [Path(p).expanduser().resolve() for p in paths]
    if not resolved:
        raise ConfigError("wav", "no audio files were given")
    rate = int(sample_rate)
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(folder, f"cannot create the decoded audio cache folder ({e.strerror or e})") from None
    key = corpus_key(resolved, sample_rate=rate, quantizer=quantizer)
    entry = folder / key
    index = _entry_valid(entry, key)
    decoded = index is None
    if index is None:
        shutil.rmtree(entry, ignore_errors=True)
        _build(entry, key, resolved, sample_rate=rate, quantizer=quantizer, cancel=cancel, progress=progress)
        index = _entry_valid(entry, key)
        if index is None:
            raise OutputError(entry, "the decoded audio cache could not be read back")
        _prune(folder, entry)
    else:
        os.utime(entry / _INDEX)  # most recently used
    lengths = np.array([int(f["length"]) for f in index["files"]], dtype=np.int64)
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    for path, n in zip(resolved, lengths, strict=True):
        if n < min_samples:
            raise AudioFileError(path, f"too short: {int(n):,} samples ({n / rate:.3f} s at {rate} Hz); the model "
                                       f"needs at least {min_samples:,} samples ({min_samples / rate:.3f} s)")
    dtype = np.dtype(index["dtype"])
    total = int(lengths.sum())
    data: np.ndarray
    if total:
        data = np.memmap(entry / _CLASSES, dtype=dtype, mode="r", shape=(total,))
    else:
        data = np.zeros(0, dtype=dtype)
    return Corpus(directory=entry, paths=resolved, offsets=offsets, lengths=lengths, sample_rate=rate,
                  notes=list(index.get("notes", [])), data=data, decoded=decoded)

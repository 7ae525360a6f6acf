"""Safe file output: atomic writes and output-folder checks.

A file written through :func:`atomic_write` either appears complete under its
final name or not at all: the data go to a hidden temporary file in the same
folder (``.name.tmp-XXXX``), are flushed and fsync'ed, and only then renamed
over the final name with :func:`os.replace`.  A crash, a kill or an exception
at any moment leaves the previous file (if any) untouched.

:func:`write_new_file` is the same for a file that must never replace another one (a
generated prediction): the data are published with a hard link, which fails when the
name exists, so the first free name of ``name``, ``name-2``, ``name-3``, ... is taken,
also when several processes write into one folder at the same moment.

Every ``OSError`` raised while writing becomes an
:class:`~wavenet_gui.core.errors.OutputError` whose reason is a short human
phrase ("disk is full", "permission denied", "folder is read-only", ...).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from wavenet_gui.core.errors import OutputError

__all__ = ["atomic_write", "check_path_length", "check_writable_dir", "numbered_name", "os_error_reason",
           "path_length_problem", "publish_new", "shorten", "write_new_file"]

#: The longest file or folder name most file systems take (bytes, NAME_MAX), and the longest path.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4095

#: How many numbered names (``name-2`` ... ) are tried before giving up.
MAX_NUMBERED_NAMES = 10_000

_REASONS: dict[int, str] = {
    errno.ENOSPC: "disk is full",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "folder is read-only",
    errno.ENOENT: "folder does not exist",
    errno.ENOTDIR: "not a folder",
    errno.EISDIR: "is a folder",
    errno.ENAMETOOLONG: "file name is too long",
    errno.EFBIG: "file is too large for this disk",
    errno.EIO: "input/output error (is the disk still connected?)",
}
if hasattr(errno, "EDQUOT"):
    _REASONS[errno.EDQUOT] = "disk quota exceeded"

_MODES = ("wb", "w")
#: Kernel file systems that show files but take no new ones.
_PSEUDO_FILE_SYSTEMS = {"proc", "sysfs", "cgroup", "cgroup2", "debugfs", "securityfs", "pstore", "bpf",
                        "tracefs", "configfs", "efivarfs", "fusectl", "binfmt_misc", "autofs", "devpts",
                        "mqueue", "hugetlbfs"}


def os_error_reason(error: OSError) -> str:
    """Return a short human reason for an ``OSError``.

    Parameters
    ----------
    error : OSError
        The error raised by the operating system.

    Returns
    -------
    str
        One line such as ``"disk is full"`` or ``"permission denied"``.

    Examples
    --------
    >>> import errno
    >>> os_error_reason(OSError(errno.ENOSPC, "No space left on device"))
    'disk is full'
    """
    if error.errno in _REASONS:
        return _REASONS[error.errno]
    text = error.strerror or str(error) or type(error).__name__
    return f"could not write ({' '.join(str(text).split())})"


def shorten(name: str, keep: int = 24) -> str:
    """``name`` cut in the middle (``abc…xyz``) when longer than ``2 * keep + 1`` characters."""
    return name if len(name) <= 2 * keep + 1 else f"{name[:keep]}…{name[-keep:]}"


def path_length_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is too long for the file system, or None when its length is fine.

    Checked from the text alone, before the path is used, so a name over 255 bytes gives
    this one line rather than an ``OSError`` from deep inside a read or write.

    Examples
    --------
    >>> path_length_problem("out/" + "a" * 300)
    'the name is 300 bytes long; the limit is 255'
    >>> path_length_problem("out/pred.wav") is None
    True
    """
    text = os.fspath(path)
    raw = os.fsencode(text)
    if len(raw) > MAX_PATH_BYTES:
        return f"the path is {len(raw):,} bytes long; the limit is {MAX_PATH_BYTES:,}"
    parts = Path(text).parts
    for k, part in enumerate(parts):
        n = len(os.fsencode(part))
        if n > MAX_NAME_BYTES:
            what = "the name" if k == len(parts) - 1 else f"the folder name {shorten(part)!r}"
            return f"{what} is {n:,} bytes long; the limit is {MAX_NAME_BYTES}"
    return None


def check_path_length(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, or :class:`OutputError` when a name in it is too long (see :func:`path_length_problem`)."""
    problem = path_length_problem(path)
    if problem:
        raise OutputError(shorten(os.fspath(path), 40), problem)
    return Path(os.fspath(path))


def _fs_type(folder: Path) -> str:
    """The type of the file system holding ``folder`` ("proc", "sysfs", ...; "" when unknown)."""
    try:
        target = os.path.realpath(folder)
        best, kind = "", ""
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1].replace("\\040", " ")
                if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, kind = mount, fields[2]
        return kind
    except OSError:
        return ""


def _creation_reason(folder: Path, err: OSError) -> str:
    """Why a file or folder could not be created in the existing folder ``folder``."""
    kind = _fs_type(folder)
    if kind in _PSEUDO_FILE_SYSTEMS or (err.errno == errno.ENOENT and folder.is_dir()):
        what = f"a {kind} system folder" if kind else "a system folder"
        return f"files cannot be created here ({what}); choose another folder"
    return os_error_reason(err)


def _tmp_prefix(final: Path) -> str:
    """A temporary name's prefix that stays under 255 bytes for any legal final name."""
    name = final.name
    while len(os.fsencode(name)) > 100:
        name = name[:-1]
    return f".{name}.tmp-"


def _umask_mode() -> int:
    """Permission bits a normally created file would get (0o666 minus the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write a file atomically: all of it under its final name, or nothing.

    Yields an open file object on a temporary file ``.name.tmp-XXXX`` in the
    same folder as ``path``.  When the ``with`` block ends normally the file is
    flushed, fsync'ed and renamed over ``path`` (``os.replace``).  When the block
    raises, the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Final file name.  Its folder must exist (see :func:`check_writable_dir`).
    mode : {"wb", "w"}, keyword-only
        Binary (default) or text (UTF-8) mode.

    Yields
    ------
    file object
        Write to it inside the ``with`` block; do not close it.

    Raises
    ------
    OutputError
        Any ``OSError`` while creating, writing, syncing or renaming (including
        ones raised inside the ``with`` block) with a human reason, e.g.
        ``OutputError(path, "disk is full")``.
    ValueError
        ``mode`` is not ``"wb"`` or ``"w"`` (a programming error).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"hello")
    >>> target.read_bytes()
    b'hello'
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write mode must be one of {_MODES}, got {mode!r}")
    final = check_path_length(Path(os.fspath(path)).expanduser())
    folder = final.parent
    if final.is_dir():
        raise OutputError(final, "is a folder")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_tmp_prefix(final), dir=folder)
    except OSError as err:
        raise OutputError(final, os_error_reason(err)) from err
    tmp = Path(tmp_name)
    try:
        try:
            # Keep the permissions of the file we replace, else the usual ones
            # (mkstemp makes 0600 files).
            try:
                perms = final.stat().st_mode & 0o777
            except OSError:
                perms = _umask_mode()
            with contextlib.suppress(OSError):
                os.chmod(fd, perms)
            if mode == "wb":
                handle: IO[Any] = os.fdopen(fd, "wb")
            else:
                handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except OSError as err:
        _remove_quietly(tmp)
        raise OutputError(final, os_error_reason(err)) from err
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_folder(folder)


def numbered_name(path: str | os.PathLike[str], n: int) -> Path:
    """The ``n``-th name tried for a new file: ``path`` itself for 1, else ``stem-n.suffix``.

    Examples
    --------
    >>> numbered_name("out/pred_1.wav", 3).name
    'pred_1-3.wav'
    """
    p = Path(os.fspath(path))
    if n <= 1:
        return p
    stem, tail = p.stem, f"-{n}{p.suffix}"
    while stem and len(os.fsencode(stem + tail)) > MAX_NAME_BYTES:  # a long legal name stays legal
        stem = stem[:-1]
    return p.with_name(stem + tail)


def publish_new(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Give the complete file ``tmp`` the first free name of ``path``, ``path-2``, ...; never replace.

    The name is taken with a hard link (``os.link`` fails when the name exists, atomically,
    across processes), then ``tmp`` is removed.  Where the file system has no hard links,
    the name is reserved with ``O_CREAT | O_EXCL`` and ``tmp`` renamed over it.

    Parameters
    ----------
    tmp : path-like
        A finished, synced file in the same folder as ``path``.
    path : path-like
        The name wanted.

    Returns
    -------
    Path
        The name the file got.

    Raises
    ------
    OutputError
        No free name among :data:`MAX_NUMBERED_NAMES`, or the file system refuses.
    """
    tmp = Path(os.fspath(tmp))
    final = Path(os.fspath(path)).expanduser()
    use_link = True
    try:
        for n in range(1, MAX_NUMBERED_NAMES + 1):
            candidate = numbered_name(final, n)
            if use_link:
                try:
                    os.link(tmp, candidate)
                except FileExistsError:
                    continue
                except OSError as err:
                    if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
                                         errno.ENOSYS):
                        raise
                    use_link = False  # no hard links here (FAT, some network shares)
                else:
                    _remove_quietly(tmp)
                    _fsync_folder(final.parent)
                    return candidate
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            os.replace(tmp, candidate)
            _fsync_folder(final.parent)
            return candidate
    except OSError as err:
        _remove_quietly(tmp)
        raise OutputError(final, os_error_reason(err)) from err
    _remove_quietly(tmp)
    raise OutputError(final, f"no free file name (tried {MAX_NUMBERED_NAMES:,} numbered names)")


def write_new_file(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` as a new file named ``path`` (or ``path-2``, ``path-3``, ...), atomically.

    Never replaces an existing file, also against other processes writing the same name
    at the same moment (see :func:`publish_new`); the file appears complete or not at all.

    Parameters
    ----------
    path : path-like
        The name wanted; its folder must exist.
    data : bytes-like
        The whole content.

    Returns
    -------
    Path
        The name the file got.

    Raises
    ------
    OutputError
        With a human reason (disk full, permission denied, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [write_new_file(folder / "a.txt", b"x").name for _ in range(3)]
    ['a.txt', 'a-2.txt', 'a-3.txt']
    """
    final = check_path_length(Path(os.fspath(path)).expanduser())
    if final.is_dir():
        raise OutputError(final, "is a folder")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_tmp_prefix(final), dir=final.parent)
    except OSError as err:
        raise OutputError(final, os_error_reason(err)) from err
    tmp = Path(tmp_name)
    try:
        with contextlib.suppress(OSError):
            os.chmod(fd, _umask_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        _remove_quietly(tmp)
        raise OutputError(final, os_error_reason(err)) from err
    except BaseException:
        _remove_quietly(tmp)
        raise
    return publish_new(tmp, final)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows it (not on Windows)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Make sure ``path`` is a folder we can write into, creating it if missing.

    The check is real: a small temporary file is created and removed, so a
    read-only disk, missing permission or a full disk are found before any
    long job starts.

    Parameters
    ----------
    path : str or os.PathLike
        The output folder.  ``~`` is expanded.  Missing folders (and their
        parents) are created.

    Returns
    -------
    Path
        The folder, as an absolute path.

    Raises
    ------
    OutputError
        With a human reason: ``"is not a folder"``, ``"permission denied"``,
        ``"folder is read-only"``, ``"disk is full"``, ...

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = check_writable_dir(pathlib.Path(tempfile.mkdtemp()) / "runs" / "1")
    >>> out.is_dir()
    True
    """
    folder = check_path_length(Path(os.fspath(path)).expanduser().absolute())
    if folder.exists() and not folder.is_dir():
        raise OutputError(folder, "is not a folder")
    if not folder.exists():
        existing = folder
        for parent in folder.parents:
            if parent.exists():
                existing = parent
                if not parent.is_dir():
                    raise OutputError(folder, f"cannot create the folder: {parent} is not a folder")
                break
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            reason = _creation_reason(existing, err)
            raise OutputError(folder, reason if reason.startswith("files cannot") else
                              f"cannot create the folder: {reason}") from err
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.tmp-", dir=folder)
    except OSError as err:
        raise OutputError(folder, _creation_reason(folder, err)) from err
    try:
        try:
            os.write(fd, b"\0")
        finally:
            os.close(fd)
    except OSError as err:
        raise OutputError(folder, os_error_reason(err)) from err
    finally:
        _remove_quietly(Path(probe))
    return folder

"""Atomic writes and output-folder checks (core/fileio.py)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from wavenet_gui.core import fileio
from wavenet_gui.core.errors import OutputError
from wavenet_gui.core.fileio import atomic_write, check_writable_dir, os_error_reason

ROOT = Path(__file__).resolve().parents[1]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def _one_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and text.strip() == text and text
    return text


# ------------------------------------------------------------------ atomic_write
def test_writes_new_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with atomic_write(target) as f:
        f.write(b"abc")
        # While writing, only a hidden temporary file exists, named after the target.
        names = [p.name for p in tmp_path.iterdir()]
        assert not target.exists()
        assert len(names) == 1 and names[0].startswith(".out.bin.tmp-")
    assert target.read_bytes() == b"abc"
    assert _leftovers(tmp_path) == []


def test_replaces_existing_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_file_gets_normal_permissions_not_0600(tmp_path: Path) -> None:
    target = tmp_path / "x.wav"
    with atomic_write(target) as f:
        f.write(b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_text_mode(tmp_path: Path) -> None:
    target = tmp_path / "notes.json"
    with atomic_write(target, mode="w") as f:
        f.write('{"ü": 1}\n')
    assert target.read_text(encoding="utf-8") == '{"ü": 1}\n'


def test_bad_mode_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError), atomic_write(tmp_path / "x", mode="ab"):
        pass


def test_exception_in_block_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "ckpt.bin"
    target.write_bytes(b"good")
    with pytest.raises(KeyError), atomic_write(target) as f:
        f.write(b"half")
        raise KeyError("boom")
    assert target.read_bytes() == b"good"
    assert _leftovers(tmp_path) == []


def test_exception_in_block_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.bin"
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write(b"half")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_disk_full_while_writing_becomes_output_error(tmp_path: Path) -> None:
    target = tmp_path / "pred.wav"
    target.write_bytes(b"previous")
    with pytest.raises(OutputError) as info, atomic_write(target) as f:
        f.write(b"part")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert info.value.reason == "disk is full"
    assert _one_line(info.value) == f"{target}: disk is full"
    assert target.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []


def test_disk_full_at_fsync_becomes_output_error(tmp_path: Path, monkeypatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    target = tmp_path / "x.bin"
    with pytest.raises(OutputError, match="disk is full"), atomic_write(target) as f:
        f.write(b"data")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as info, atomic_write(tmp_path / "nope" / "x.wav"):
        pass
    assert info.value.reason == "folder does not exist"
    _one_line(info.value)


def test_target_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "x.wav").mkdir()
    with pytest.raises(OutputError, match="is a folder"), atomic_write(tmp_path / "x.wav"):
        pass


def test_permission_denied_creating_temp(tmp_path: Path, monkeypatch) -> None:
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match="permission denied"), atomic_write(tmp_path / "a"):
        pass


def test_killed_writer_leaves_previous_file_intact(tmp_path: Path) -> None:
    """A real SIGKILL in the middle of a write: the old file is still whole."""
    target = tmp_path / "checkpoint.bin"
    target.write_bytes(b"previous checkpoint")
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from wavenet_gui.core.fileio import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"x" * 100000)
            f.flush()
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        child.kill()
    finally:
        child.wait(timeout=30)
        child.stdout.close()
    assert target.read_bytes() == b"previous checkpoint"
    # Only a hidden temporary file may remain, never a partial file under the final name.
    assert all(p.name.startswith(".checkpoint.bin.tmp-") for p in tmp_path.iterdir() if p != target)


# ------------------------------------------------------------------ check_writable_dir
def test_creates_missing_folders(tmp_path: Path) -> None:
    out = check_writable_dir(tmp_path / "a" / "b")
    assert out.is_dir() and out.is_absolute()
    assert list(out.iterdir()) == []  # the probe file is gone


def test_existing_folder_is_returned(tmp_path: Path) -> None:
    assert check_writable_dir(tmp_path) == tmp_path.absolute()
    assert list(tmp_path.iterdir()) == []


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(OutputError) as info:
        check_writable_dir(f)
    assert info.value.reason == "is not a folder"
    _one_line(info.value)


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        check_writable_dir(tmp_path / "file" / "sub")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "folder is read-only"),
        (errno.ENOSPC, "disk is full"),
    ],
)
def test_unwritable_folder_reasons(tmp_path: Path, monkeypatch, code: int, reason: str) -> None:
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", fail)
    with pytest.raises(OutputError) as info:
        check_writable_dir(tmp_path)
    assert info.value.reason == reason
    _one_line(info.value)


def test_full_disk_found_by_probe_write(tmp_path: Path, monkeypatch) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "write", full)
    with pytest.raises(OutputError, match="disk is full"):
        check_writable_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions"
)
def test_real_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            check_writable_dir(folder)
        with pytest.raises(OutputError, match="permission denied"), atomic_write(folder / "x"):
            pass
    finally:
        os.chmod(folder, 0o700)


def test_cannot_create_folder(tmp_path: Path, monkeypatch) -> None:
    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(OutputError, match="cannot create the folder: permission denied"):
        check_writable_dir(tmp_path / "new")


def test_os_error_reason_is_one_line_for_unknown_errors() -> None:
    reason = os_error_reason(OSError(errno.EBUSY, "Device or\nresource busy"))
    assert reason == "could not write (Device or resource busy)"
    assert os_error_reason(OSError(errno.ENOSPC, "x")) == "disk is full"


def test_tempfile_module_is_the_one_patched() -> None:
    # The monkeypatches above rely on fileio using the tempfile module's mkstemp.
    assert fileio.tempfile is tempfile

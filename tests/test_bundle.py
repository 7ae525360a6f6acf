"""Build the PyInstaller bundle and run it headless (slow: run on demand with ``pytest -m bundle``).

Needs PyInstaller (``pip install -e '.[bundle]'``) and, on Linux, PortAudio
(``apt install libportaudio2``).  Building takes about 3 minutes on 2 cores and the
bundle is about 1 GB, mostly torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wavenet_gui import __version__

pytestmark = pytest.mark.bundle

REPO = Path(__file__).resolve().parent.parent
EXE = REPO / "dist" / "wavenet-gui" / ("wavenet-gui.exe" if sys.platform == "win32" else "wavenet-gui")


@pytest.fixture(scope="module")
def bundle() -> Path:
    pytest.importorskip("PyInstaller", reason="pip install 'pyinstaller>=6.3'")
    if os.environ.get("WAVENET_GUI_REUSE_BUNDLE") and EXE.exists():
        return EXE
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "wavenet_gui.spec"],
        cwd=REPO, check=True, timeout=1800,
    )
    assert EXE.is_file()
    return EXE


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["WAVENET_GUI_LOG_DIR"] = str(tmp_path / "log")
    return env


def test_bundle_prints_its_version(bundle, tmp_path):
    out = subprocess.run([str(bundle), "--version"], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=120, check=True).stdout
    assert out.strip() == f"wavenet-gui {__version__}"


def test_bundle_passes_its_self_test(bundle, tmp_path):
    proc = subprocess.run([str(bundle), "--self-test", "--out-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=600)
    print(proc.stdout)
    print(proc.stderr, file=sys.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed" in proc.stdout
    assert "(bundle)" in proc.stdout
    assert list((tmp_path / "out").glob("pred_*_selftest.wav"))


def test_bundle_ships_resources_and_portaudio(bundle):
    internal = bundle.parent / "_internal"
    resources = internal / "wavenet_gui" / "resources"
    for name in ("icon.svg", "icon-256.png", "example.wav", "__init__.py"):
        assert (resources / name).is_file(), name
    if sys.platform.startswith("linux"):
        assert list(internal.glob("libportaudio.so*"))
    # Left out to keep the size down.
    assert not (internal / "torch" / "test").exists()
    assert not list(internal.glob("PySide6/QtNetwork*"))
    assert not (internal / "matplotlib").exists()


def test_bundle_uses_its_own_portaudio(bundle, tmp_path):
    """The runtime hook makes sounddevice load the bundled library, not the system's."""
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs the runtime hook")
    env = _env(tmp_path)
    env["LD_DEBUG"] = "libs"
    proc = subprocess.run([str(bundle), "--self-test"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    loads = [line for line in proc.stderr.splitlines() if "calling init:" in line and "libportaudio" in line]
    assert loads and all(str(bundle.parent / "_internal") in line for line in loads), loads

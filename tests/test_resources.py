"""The shipped resources: the example clip and the icon, found via importlib.resources."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavenet_gui import __version__
from wavenet_gui.qt.launch import handle_early_args
from wavenet_gui.resources import ICON_SIZES, example_clip_path, icon_path, resource_path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display on CI

REPO = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_example_clip_is_a_short_16k_mono_16bit_wav():
    path = example_clip_path()
    assert path.is_file() and path.name == "example.wav"
    info = sf.info(str(path))
    assert (info.format, info.subtype) == ("WAV", "PCM_16")
    assert info.samplerate == 16_000 and info.channels == 1
    assert 4.0 <= info.frames / info.samplerate <= 6.0
    assert path.stat().st_size < 200_000


def test_example_clip_is_audible_not_clipped_and_ends_in_silence():
    samples, rate = sf.read(str(example_clip_path()), dtype="float32")
    assert samples.ndim == 1 and rate == 16_000
    peak = float(np.max(np.abs(samples)))
    assert 0.5 < peak < 0.99
    assert float(np.sqrt(np.mean(samples**2))) > 0.05
    assert float(np.max(np.abs(samples[-16:]))) < 0.01


def test_example_clip_is_what_the_script_makes():
    """resources/example.wav is reproducible from scripts/make_resources.py."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import make_resources
    finally:
        sys.path.pop(0)
    made = make_resources.make_clip()
    shipped, _ = sf.read(str(example_clip_path()), dtype="float32")
    assert made.shape == shipped.shape
    assert np.max(np.abs(made - shipped)) <= 1.0 / 32768 + 1e-6  # 16-bit rounding only


def test_icon_svg_is_valid_svg():
    root = ET.parse(icon_path()).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 256 256"


@pytest.mark.parametrize("size", ICON_SIZES)
def test_icon_pngs_exist_with_their_size(size):
    path = icon_path(size)
    assert path.name == f"icon-{size}.png"
    assert png_size(path) == (size, size)


@pytest.mark.parametrize("size, expected", [(1, 16), (16, 16), (24, 32), (48, 64), (128, 256), (512, 256)])
def test_icon_path_picks_the_smallest_size_at_least_asked(size, expected):
    assert icon_path(size).name == f"icon-{expected}.png"


@pytest.mark.parametrize("size", [0, -5, 3.5, True, "32"])
def test_icon_path_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="icon size"):
        icon_path(size)


def test_icon_ico_holds_png_entries():
    data = resource_path("icon.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 3
    for i in range(count):
        w, h, _, _, _, _, size, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i : 22 + 16 * i])
        assert data[offset : offset + 8] == PNG_MAGIC
        assert offset + size <= len(data)


def test_missing_resource_names_the_file():
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        resource_path("nope.bin")


def test_resources_readme_describes_every_file():
    readme = resource_path("README.md").read_text(encoding="utf-8")
    for name in ("icon.svg", "icon-256.png", "icon.ico", "example.wav", "make_resources.py"):
        assert name in readme


def test_qt_can_load_the_icon(qapp):
    from PySide6.QtGui import QIcon, QImage

    for size in ICON_SIZES:
        assert not QImage(str(icon_path(size))).isNull()
    from PySide6.QtSvg import QSvgRenderer

    assert QSvgRenderer(str(icon_path())).isValid()
    assert not QIcon(str(icon_path(256))).isNull()


def test_version_option_prints_the_version(capsys):
    assert handle_early_args(["--version"]) == 0
    assert capsys.readouterr().out == f"wavenet-gui {__version__}\n"


def test_help_option_names_the_log_file(capsys):
    assert handle_early_args(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: wavenet-gui") and "--self-test" in out and "Log file:" in out


def test_other_arguments_leave_the_window_to_start():
    assert handle_early_args([]) is None
    assert handle_early_args(["-platform", "offscreen", "song.wav"]) is None


def test_version_from_a_fresh_interpreter():
    out = subprocess.run(
        [sys.executable, "-m", "wavenet_gui.qt.launch", "--version"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert out == f"wavenet-gui {__version__}\n"

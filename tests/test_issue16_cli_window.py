"""Issue 16, the red-team rows that live in the CLI and the window: rows 1, 6, 7, 8, 12 and 15.

Each test is one row of the issue's table (see tests/test_issue16.py for the core rows).
Row 7 (a changed model setting asks before the unsaved model is replaced) is
tests/test_qt_window.py::test_changing_a_model_setting_asks_before_replacing_the_model and
tests/test_session.py::test_a_model_is_replaced_only_when_asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wavenet_gui.core import config
from wavenet_gui.core.errors import ConfigError, OutputError

ROOT = Path(__file__).resolve().parents[1]
LONG = "a" * 300  # over the 255-byte name limit of every common file system


def cli(*args: str, timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "wavenet_gui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd or ROOT)


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- row 8: flags at their edges
@pytest.mark.parametrize("flag, value, words", [
    ("--length", "inf", ("length", "finite")),
    ("--length", "nan", ("length", "finite")),
    ("--seed", "-1", ("seed", "between 0")),
    ("--seed", "99999999999999999999999", ("seed", "between 0")),
    ("--batch_size", "100000", ("batch_size", "4096")),
    ("--output_dir", f"/tmp/{LONG}", ("output_dir", "300 bytes", "255")),
    ("--prime", f"/tmp/{LONG}.wav", ("prime", "304 bytes", "255")),
    ("--wav", f"/tmp/{LONG}.wav", ("304 bytes", "255")),
    ("--model", f"/tmp/{LONG}", ("300 bytes", "255")),
    ("--output_dir", "/proc", ("/proc", "cannot be created", "proc")),
])
def test_row08_flags_at_their_edges_exit_2_in_one_line_before_training(tmp_path, flag, value, words):
    # A million iterations: only a refusal before training can finish within the timeout.
    proc = cli("--train_iterations", "1000000", "--save_weights", "--output_dir", str(tmp_path / "out"),
               flag, value, timeout=120, cwd=tmp_path)
    one_line_error(proc, *words)
    assert "training on" not in proc.stdout  # refused before the audio was read


@pytest.mark.parametrize("name, raw", [("output_dir", f"out/{LONG}"), ("prime", f"{LONG}.wav"),
                                       ("output_dir", "x" * 5000)])
def test_row08_path_bounds_live_in_the_settings_table_so_the_form_has_them(name, raw):
    with pytest.raises(ConfigError, match="bytes long"):
        config.parse(name, raw)
    assert name in config.errors({name: raw})  # what the form shows next to the field
    assert config.parse(name, "out/" + "b" * 255 if name == "output_dir" else "first")


def test_row08_a_255_byte_name_is_still_written(tmp_path):
    # The hidden temporary name must not push a legal name over the limit.
    import numpy as np

    from wavenet_gui.core.audio import save_audio
    from wavenet_gui.core.fileio import write_new_file

    name = "n" * 251 + ".wav"
    assert save_audio(tmp_path / name, np.zeros(100), sample_rate=8000).name == name
    assert write_new_file(tmp_path / name, b"x").name == "n" * 249 + "-2.wav"  # numbered, still 255 bytes


# ----------------------------------------------------------------------------- row 15: bad export targets
@pytest.mark.parametrize("folder", ["/proc", "/proc/wavenet-test", "/sys/kernel"])
def test_row15_pseudo_folders_are_refused_with_the_true_reason(folder):
    from wavenet_gui.core.fileio import check_writable_dir

    if not Path("/proc/self/mounts").exists():
        pytest.skip("Linux only")
    with pytest.raises(OutputError) as info:
        check_writable_dir(folder)
    text = str(info.value)
    assert "cannot be created" in text and "does not exist" not in text and "\n" not in text


def test_row15_an_export_name_over_255_bytes_is_one_line(tmp_path):
    import numpy as np

    from wavenet_gui.core.audio import save_audio

    with pytest.raises(OutputError, match="304 bytes long; the limit is 255") as info:
        save_audio(tmp_path / f"{LONG}.wav", np.zeros(10), sample_rate=8000)
    assert len(str(info.value)) < 200
    assert list(tmp_path.iterdir()) == []

"""The window opens fast: nothing heavy at import, shown well under 2 s; the form mirrors the core."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.qt_fixtures import make_window, qt_settings  # noqa: F401


def test_window_module_does_not_import_torch():
    code = ("import sys; import wavenet_gui.qt.window, wavenet_gui.qt.app; "
            "heavy = [m for m in ('torch', 'numba', 'librosa', 'sounddevice') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_window_shows_within_two_seconds(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WAVENET_GUI_TIMING": "1",
           "WAVENET_GUI_QUIT_AFTER_SHOW": "100", "XDG_CONFIG_HOME": str(tmp_path),
           "WAVENET_GUI_LOG_DIR": str(tmp_path / "log")}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "wavenet_gui.qt.app"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stderr.splitlines() if line.startswith("window shown after"))
    shown = float(line.split()[3])
    assert shown < 2.0, f"{line} (process ran {time.perf_counter() - t0:.1f} s)"


def test_form_defaults_match_the_core():
    from wavenet_gui.core.model import WaveNetConfig
    from wavenet_gui.core.training import TrainingConfig
    from wavenet_gui.qt.forms import TRAINING_DEFAULTS

    m, t = WaveNetConfig(), TrainingConfig()
    for key, value in TRAINING_DEFAULTS.items():
        if key == "output_dir":
            continue
        expected = getattr(m, key) if hasattr(m, key) else getattr(t, key)
        assert value == expected, key


def test_version_flag_needs_no_window():
    r = subprocess.run([sys.executable, "-m", "wavenet_gui.qt.app", "--version"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("wavenet-gui ")

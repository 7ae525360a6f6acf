"""The window opens first and loads the heavy parts behind it; it closes cleanly; the form mirrors the core."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.qt_fixtures import train_model


def test_window_module_does_not_import_torch():
    code = ("import sys; import wavenet_gui.qt.window, wavenet_gui.qt.app; "
            "heavy = [m for m in ('torch', 'numba', 'librosa', 'sounddevice') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_window_is_shown_before_torch_loads(tmp_path):
    """The window appears first; PyTorch and the model code load behind it (the launch time itself is
    measured by bench/bench_app.py, not here)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WAVENET_GUI_TIMING": "1",
           "WAVENET_GUI_QUIT_AFTER_SHOW": "100", "XDG_CONFIG_HOME": str(tmp_path),
           "WAVENET_GUI_LOG_DIR": str(tmp_path / "log")}
    r = subprocess.run([sys.executable, "-m", "wavenet_gui.qt.app"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stderr.splitlines() if line.startswith("window shown after"))
    assert line.endswith("(torch loaded: False)"), line


def test_form_is_built_from_the_settings_table(qtbot):
    """One widget per setting of its groups, with the table's range, label and help; every model
    setting a model file carries is there (so continuing a loaded model never loses one)."""
    from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

    from wavenet_gui.core import config
    from wavenet_gui.core.model import WaveNetConfig
    from wavenet_gui.qt.forms import GenerationForm, TrainingForm

    t, g = TrainingForm(), GenerationForm()
    qtbot.addWidget(t)
    qtbot.addWidget(g)
    assert set(config.MODEL_SETTINGS) == set(WaveNetConfig().to_dict()) <= set(t.widgets)
    for s in config.SETTINGS.values():
        form = t if s.group in ("model", "training", "output") else g
        w = form.widgets[s.name]
        assert w.toolTip().startswith(s.help), s.name
        if isinstance(w, QSpinBox) and not s.optional:
            assert (w.minimum(), w.maximum()) == (s.minimum, s.maximum), s.name
        if isinstance(w, QDoubleSpinBox) and s.percent:
            assert w.maximum() == s.maximum * 100, s.name
    defaults = config.defaults()
    values = {**t.raw_values(), **g.raw_values()}
    for name, value in values.items():
        if name != "output_dir":  # the window's own default folder
            assert config.parse(name, value) == defaults[name], name


def test_version_flag_needs_no_window():
    r = subprocess.run([sys.executable, "-m", "wavenet_gui.qt.app", "--version"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("wavenet-gui ")


def test_no_display_says_so_and_exits_2(tmp_path):
    """Without DISPLAY / WAYLAND_DISPLAY (and no QT_QPA_PLATFORM) Qt's xcb plugin would abort with a
    misleading hint about xcb libraries: the app says what is wrong, in one line, and exits 2."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path), WAVENET_GUI_LOG_DIR=str(tmp_path / "log"))
    r = subprocess.run([sys.executable, "-m", "wavenet_gui.qt.app"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == ["wavenet-gui: no display found (DISPLAY is not set); run it in a desktop session, "
                     "or use --self-test / QT_QPA_PLATFORM=offscreen"], r.stderr
    assert "xcb" not in r.stderr


def test_no_display_reason_rules():
    from wavenet_gui.qt.app import no_display_reason

    assert no_display_reason({}, "linux")
    assert not no_display_reason({"DISPLAY": ":0"}, "linux")
    assert not no_display_reason({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not no_display_reason({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not no_display_reason({}, "darwin") and not no_display_reason({}, "win32")


def test_idle_close_ends_the_process_and_saves_settings(tmp_path):
    """Closing an idle window ends the process (skipping the slow interpreter teardown) with the settings
    saved on the way out (the time it takes is measured by bench/bench_app.py)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WAVENET_GUI_QUIT_WHEN_READY": "1",
           "XDG_CONFIG_HOME": str(tmp_path), "WAVENET_GUI_LOG_DIR": str(tmp_path / "log")}
    proc = subprocess.run([sys.executable, "-m", "wavenet_gui.qt.app"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith("closing at ") for line in proc.stderr.splitlines()), proc.stderr
    settings = list(tmp_path.rglob("*.conf")) + list(tmp_path.rglob("*.ini"))
    assert settings, "the settings were not saved on the way out"


def test_idle_window_closes_fast(make_window):
    w = make_window(tiny=False)
    t0 = time.perf_counter()
    w.close()
    assert not w.isVisible() and time.perf_counter() - t0 < 0.5


def test_default_layout_gives_the_form_its_width_and_does_not_jump(qtbot, make_window, tone_file, tmp_path):
    """No saved settings: 1280x820, the settings panel as wide as the form (no horizontal scroll bar),
    and nothing moves when training and generating change the window's state."""
    from PySide6.QtWidgets import QApplication, QScrollArea

    from tests.qt_fixtures import TINY

    w = make_window([tone_file], tiny=False)
    assert (w.width(), w.height()) == (1280, 820)
    qtbot.waitUntil(lambda: w.files_view.input_audio is not None, timeout=10000)
    for scroll in w.form_scrolls:
        form = scroll.widget()
        assert not scroll.horizontalScrollBar().isVisible()  # (it scrolls sideways only in a narrow window)
        assert scroll.viewport().width() >= form.minimumSizeHint().width(), form.objectName()
    assert isinstance(w.form_scrolls[0], QScrollArea)

    def layout():
        return (w.main_splitter.sizes(), [b.geometry().getRect() for b in (
            w.train_button, w.stop_button, w.load_model_button, w.save_model_button, w.generate_button,
            w.cancel_button, w.play_input_button, w.play_button, w.export_button)])

    before = layout()
    w.training_form.set_values({**TINY, "output_dir": str(tmp_path / "out")})
    w.generation_form.set_values({"length": 0.1, "variations": 2, "prime": "silence"})
    train_model(qtbot, w, points=3)
    assert layout() == before
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    QApplication.processEvents()
    assert w.variation_spin.isVisible()  # two variations: the chooser shows up, and nothing moved
    assert layout() == before


# ------------------------------------------------------------------ --self-test details
def test_self_test_playback_without_output_device_is_skipped_not_ok(monkeypatch):
    from wavenet_gui.qt import selftest

    class FakeSd:
        @staticmethod
        def get_portaudio_version():
            return 1246720, "PortAudio V19.7.0-devel, revision unknown"

        @staticmethod
        def query_devices():
            return [{"name": "mic", "max_output_channels": 0, "max_input_channels": 2}]

    monkeypatch.setitem(sys.modules, "sounddevice", FakeSd)
    with pytest.raises(selftest._Skip, match="no audio output device"):
        selftest._check_portaudio()
    FakeSd.query_devices = staticmethod(lambda: [{"name": "out", "max_output_channels": 2}])
    assert selftest._check_portaudio() == "PortAudio V19.7.0-devel, 1 output device(s)"


def test_self_test_drops_the_offscreen_size_hint_warning(qtlog):
    from PySide6.QtCore import qWarning

    from wavenet_gui.qt.selftest import _QuietQtNoise

    with _QuietQtNoise():
        qWarning("This plugin does not support propagateSizeHints()")
        qWarning("something worth seeing")
    messages = [r.message for r in qtlog.records]
    assert "something worth seeing" in messages
    assert not any("propagateSizeHints" in m for m in messages)


def test_a_model_named_on_the_command_line_is_loaded_and_audio_added(qtbot, make_window, tone_file, tmp_path):
    """``wavenet-gui model.safetensors a.wav``: the model is loaded (as a drop loads it), not
    refused as "not an audio file"; the audio file is added; options are left to Qt."""
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.modelfile import save_model
    from wavenet_gui.qt.app import open_arguments
    from wavenet_gui.qt.launch import usage

    model_path = tmp_path / "model.safetensors"
    save_model(model_path, WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8)))
    w = make_window()
    opened = open_arguments(w, ["wavenet-gui", "-style", "fusion", str(model_path), str(tone_file)])
    assert opened == [str(model_path), str(tone_file)]
    qtbot.waitUntil(lambda: w.model is not None and len(w.files) == 1 and not w.busy_reading(), timeout=20000)
    assert w.model.config.n_dilations == 3 and w.files[0].path.name == tone_file.name
    assert not any("not an audio file" in line for line in w.messages()), w.messages()
    assert "[FILE ...]" in usage() and ".safetensors" in usage()

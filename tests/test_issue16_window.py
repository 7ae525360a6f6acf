"""Issue 16, the window's rows: 6 (a failed checkpoint), 12 (a 1 M-loss model, an hour generated),
15 (bad export targets) and the window part of row 1 (SIGTERM / SIGHUP at session logout)."""

from __future__ import annotations

import contextlib
import errno
import time
from pathlib import Path

import numpy as np
import pytest

from tests.qt_fixtures import UiProbe, train_model


@pytest.fixture
def full_disk_for_models(monkeypatch):
    from wavenet_gui.core import fileio, modelfile

    @contextlib.contextmanager
    def full(path, **kwargs):
        with fileio.atomic_write(path, **kwargs) as f:
            raise OSError(errno.ENOSPC, "No space left on device")
            yield f  # pragma: no cover

    monkeypatch.setattr(modelfile, "atomic_write", full)
    return lambda: monkeypatch.setattr(modelfile, "atomic_write", fileio.atomic_write)


# ----------------------------------------------------------------------------- row 6
def test_row06_a_full_disk_warns_keeps_the_model_and_it_can_be_saved_elsewhere(qtbot, make_window, tone_file,
                                                                                tmp_path, full_disk_for_models):
    w = make_window([tone_file])
    w.training_form.set_values({"save_weights": True, "checkpoint_every": 2})
    w.train_button.click()
    qtbot.waitUntil(lambda: w.session.state.iteration >= 5 or bool(w.recorder.messages), timeout=30000)
    assert "checkpoint not saved" in w.last_message and "disk is full" in w.last_message, w.last_message
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.busy() and bool(w.recorder.messages), timeout=10000)
    kinds = [(kind, title) for kind, title, _ in w.recorder.messages]
    assert kinds == [("warning", "Checkpoint not saved")], w.recorder.messages
    text = w.recorder.messages[0][2]
    assert "disk is full" in text and "Save model" in text and "\n" not in text
    assert w.model is not None and w.session.unsaved and w.session.state.iteration >= 5
    full_disk_for_models()  # "elsewhere": a disk with room
    job = w.save_model(tmp_path / "elsewhere.safetensors")
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert (tmp_path / "elsewhere.safetensors").exists() and not w.session.unsaved


# ----------------------------------------------------------------------------- row 15
def test_row15_export_names_over_255_bytes_and_pseudo_folders_give_one_line(qtbot, make_window, tmp_path):
    w = make_window(tiny=True)
    from wavenet_gui.core.buffer import AudioBuffer
    from wavenet_gui.core.session import Results

    w.session.results = Results(buffers=[AudioBuffer.from_array(np.zeros(800, np.float32), 8000)],
                                sample_rate=8000, seed=1, n_samples=800)
    w.results.show_results()
    for target, words in ((tmp_path / ("a" * 300 + ".wav"), ("304 bytes", "255")),
                          (Path("/proc/generated.wav"), ("/proc", "cannot be created"))):
        w.recorder.messages.clear()
        assert w.results.export_to(target) is None  # refused at once, on the UI thread, without an OSError
        assert [m[:2] for m in w.recorder.messages] == [("error", "Export failed")]
        text = w.recorder.messages[0][2]
        assert all(word in text for word in words) and "\n" not in text and "Unexpected" not in text, text
    w.recorder.messages.clear()
    w.training_form.set_values({"output_dir": "/proc"})
    w.results.open_output_folder()
    assert w.recorder.messages and "cannot be created" in w.recorder.messages[0][2]
    w.generation_form.set_values({"prime": "silence"})
    assert list(tmp_path.glob("a*")) == []


# ----------------------------------------------------------------------------- row 12
def _model_with_losses(path: Path, n: int) -> Path:
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.modelfile import save_model

    cfg = WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8, n_channels=64)
    rng = np.random.default_rng(0)
    losses = 4.0 * np.exp(-np.arange(n) / (n / 5)) + 0.3 * rng.random(n)
    return save_model(path, WaveNet(cfg), training={"iteration": n}, losses=losses.tolist())


def test_row12_a_model_with_a_million_losses_loads_without_blocking(qtbot, make_window, tmp_path):
    path = _model_with_losses(tmp_path / "long.safetensors", 1_000_000)
    w = make_window(tiny=False)
    probe = UiProbe()
    probe.start()
    w.load_model(path)
    qtbot.waitUntil(lambda: w.loss_plot.n_points == 1_000_000 and not w.busy(), timeout=60000)
    qtbot.wait(500)  # the redraws after the last piece
    probe.stop()
    assert probe.max_wait < 0.100, probe.report("loading a model with 1 M losses")
    x, raw, xs, smooth = w.loss_plot.curve_data()
    assert len(x) <= 4 * 4096 and len(xs) <= 4096  # decimated for the plot...
    assert x[0] == 1 and x[-1] == 1_000_000
    losses = np.asarray(w.session.state.losses)
    assert raw.max() == losses.max() and raw.min() == losses.min()  # ...with every spike kept
    assert smooth[-1] == pytest.approx(losses[-int(1_000_000 / len(xs) + 1):].mean(), rel=0.01)


def test_row12_loss_plot_decimation_matches_the_history(qtbot):
    """Min/max per bucket equal the history's, also when zoomed in; few points are drawn as they are."""
    from wavenet_gui.qt.plots import LossPlot

    class History:
        iteration = 0
        losses: list[float] = []
        val_losses: list = []

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(800, 300)
    h = History()
    h.losses = list(np.random.default_rng(1).random(50))
    h.iteration = 50
    plot.set_source(h)
    x, raw, xs, smooth = plot.curve_data()
    assert np.array_equal(raw, h.losses) and np.array_equal(x, np.arange(1, 51))
    assert smooth[-1] == pytest.approx(np.mean(h.losses[-20:]))
    h.losses = list(np.random.default_rng(2).random(300_000))
    h.iteration = 300_100  # the file kept the last 300,000 of 300,100 iterations
    plot.set_source(h)
    while plot.pending:
        plot.refresh()
    x, raw, xs, smooth = plot.curve_data()
    assert x[0] == 101 and x[-1] == 300_100 and len(x) < 10_000
    y = np.asarray(h.losses)
    edges = np.searchsorted(np.arange(1, 300_001) + 100, x[0::2])
    assert np.allclose(np.maximum(raw[0::2], raw[1::2]), np.maximum.reduceat(y, edges))
    assert np.allclose(np.minimum(raw[0::2], raw[1::2]), np.minimum.reduceat(y, edges))
    vb = plot.getPlotItem().getViewBox()
    vb.setXRange(150_000, 150_200, padding=0)
    plot.refresh()
    x, raw, _, _ = plot.curve_data()
    inside = (x >= 150_000) & (x <= 150_200)
    assert inside.sum() == 201 and np.array_equal(raw[inside], y[150_000 - 101:150_200 - 100])


def test_row12_generating_an_hour_keeps_the_ui_responsive(qtbot, make_window, tone_file, monkeypatch):
    """3600 s at 8 kHz (28.8 M samples) grow in the plot's buffer; the generator is replaced by a fast
    stand-in (the plot and the window are under test, not the generator's speed)."""
    from wavenet_gui.core import generation

    def fast(model, *, n_samples, n_streams=1, cancel=None, **_):
        rng = np.random.default_rng(0)
        done = 0
        while done < n_samples and not (cancel is not None and cancel.is_set()):
            k = min(100_000, n_samples - done)  # the real one yields ~50 ms chunks
            yield rng.integers(0, model.config.n_channels, size=(n_streams, k))
            done += k
            time.sleep(0.005)

    w = make_window([tone_file])
    train_model(qtbot, w, points=2)
    monkeypatch.setattr(generation, "iter_generate", fast)
    w.generation_form.set_values({"length": 3600.0})
    probe = UiProbe()
    probe.start()
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=120000)
    qtbot.wait(300)
    probe.stop()
    assert not w.recorder.messages, w.recorder.messages
    assert w.session.results.length == 3600 * 8000
    assert probe.max_wait < 0.100, probe.report("generating an hour")
    x, y = w.waveform_plot.curve_data("generated")
    assert len(x) <= 2 * 4096 + 2 and x[-1] == pytest.approx(3600, abs=1)
    audio = w.session.results.audio(0)
    assert y.max() == audio.max() and y.min() == audio.min()


# ----------------------------------------------------------------------------- row 1 (the window)
@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("name, while_training", [("SIGTERM", True), ("SIGHUP", False)])
def test_row01_a_logout_stops_keeps_saves_a_recovery_copy_and_quits(qtbot, make_window, tone_file, tmp_path,
                                                                   caplog, name, while_training):
    import os
    import signal

    import shiboken6

    from wavenet_gui.core.modelfile import load_model
    from wavenet_gui.qt.quitsignals import QuitSignals

    w = make_window([tone_file])
    if while_training:
        w.train_button.click()
        qtbot.waitUntil(lambda: w.session.state.iteration >= 3 or bool(w.recorder.messages), timeout=30000)
    else:
        train_model(qtbot, w, points=3)
    assert w.session.unsaved
    guard = QuitSignals(w.terminate)
    try:
        with caplog.at_level("WARNING"):
            os.kill(os.getpid(), getattr(signal, name))
            qtbot.waitUntil(lambda: not shiboken6.isValid(w) or not w.isVisible(), timeout=30000)
    finally:
        guard.uninstall()
    assert guard.received == [name]
    assert not w.recorder.questions and not w.recorder.messages  # nobody is asked: the session is ending
    assert not w.busy()
    saved = list((tmp_path / "out").glob("recovered_*.safetensors"))
    assert len(saved) == 1
    loaded = load_model(saved[0])
    assert loaded.training["iteration"] == w.session.state.iteration >= 3  # everything trained is in it
    assert any(str(saved[0]) in r.getMessage() and name in r.getMessage() for r in caplog.records), caplog.text


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_row01_the_app_quits_cleanly_on_sigterm_and_sighup(tmp_path, name):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WAVENET_GUI_TIMING": "1", "XDG_CONFIG_HOME": str(tmp_path),
           "WAVENET_GUI_LOG_DIR": str(tmp_path / "log"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "wavenet_gui.qt.app"], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("window shown after"):
            break
    time.sleep(1.0)  # PyTorch loads behind the window meanwhile
    proc.send_signal(getattr(signal, name))
    out, err = proc.communicate(timeout=60)
    err = "".join(lines) + err
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    log_text = "".join(p.read_text(errors="replace") for p in (tmp_path / "log").rglob("*.log"))
    assert f"{name}: stopping the work running and quitting" in log_text
    assert list(tmp_path.rglob("*.conf")) + list(tmp_path.rglob("*.ini")), "settings not saved on the way out"

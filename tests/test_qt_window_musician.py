"""The window as a musician expects it (issue 13), driven through its widgets, offscreen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qt_fixtures import TINY, UiProbe, train_model, write_tone


# ------------------------------------------------------------------ 1. never lose a trained model
def test_quitting_with_an_unsaved_model_asks_save_discard_cancel(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    train_model(qtbot, w)
    assert w.session.unsaved
    # Cancel: the window stays, with its model
    w.recorder.choice = "Cancel"
    w.act_quit.trigger()  # Ctrl+Q
    assert w.isVisible() and w.model is not None
    assert "Save the trained model before quitting?" in w.recorder.questions[-1]
    # Save, but the file dialog is cancelled: still open, nothing lost
    w.recorder.choice = "Save"
    w.recorder.save_path = ""
    w.close()
    assert w.isVisible() and w.model is not None and w.session.unsaved
    # Save to a file: written, then the window closes
    w.recorder.save_path = str(tmp_path / "kept")
    iterations = w.session.state.iteration
    w.close()
    assert not w.isVisible()
    from wavenet_gui.core.modelfile import load_model

    loaded = load_model(tmp_path / "kept.safetensors")
    assert loaded.model.config == w.model.config and len(loaded.losses) == iterations


def test_a_saved_or_loaded_model_quits_without_a_question(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    train_model(qtbot, w)
    job = w.save_model(tmp_path / "m.safetensors")
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert not w.session.unsaved
    n = len(w.recorder.questions)
    w.close()
    assert not w.isVisible() and len(w.recorder.questions) == n
    # Discard closes with the model unsaved, as asked
    w2 = make_window([tone_file])
    train_model(qtbot, w2)
    w2.recorder.choice = "Discard"
    w2.close()
    assert not w2.isVisible() and w2.recorder.questions


def test_close_during_training_offers_to_save_the_model_being_trained(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    w.train_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.n_points >= 3, timeout=30000)
    w.recorder.choice = "Cancel"
    w.close()
    assert w.isVisible() and w.busy() == "training"
    assert "Training is running" in w.recorder.questions[-1]
    w.recorder.choice = "Save"
    w.recorder.save_path = str(tmp_path / "during.safetensors")
    job = w.run.train_job
    w.close()
    assert not w.isVisible() and job.done.is_set()
    from wavenet_gui.core.modelfile import load_model

    loaded = load_model(tmp_path / "during.safetensors")
    assert len(loaded.losses) == w.session.state.iteration >= 3


def test_save_before_quit_uses_the_models_own_file(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    train_model(qtbot, w)
    path = tmp_path / "own.safetensors"
    job = w.save_model(path)
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    train_model(qtbot, w, points=w.loss_plot.n_points + 2)  # trained on: unsaved again
    assert w.session.unsaved
    w.recorder.choice = "Save"
    w.close()
    assert not w.isVisible()
    assert "Save the trained model" not in w.recorder.questions  # no file dialog: its own file
    from wavenet_gui.core.modelfile import load_model

    assert len(load_model(path).losses) == w.session.state.iteration


# ------------------------------------------------------------------ 2. fit the screen
_FIT_SCRIPT = r"""
import json, sys
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from wavenet_gui.qt.window import MainWindow

ini = sys.argv[1]
if sys.argv[2] == "huge":  # a geometry saved on a bigger screen (2,394 px wide)
    s = QSettings(ini, QSettings.Format.IniFormat)
    w0 = MainWindow(s, load_core=False, restore_files=False)
    w0.setGeometry(100, 100, 2394, 1400)
    s.setValue("window/geometry", w0.saveGeometry())
    s.sync()
    w0.shutdown()
    w0.settings = QSettings(ini + ".x", QSettings.Format.IniFormat)
w = MainWindow(QSettings(ini, QSettings.Format.IniFormat), load_core=False, restore_files=False)
w.show()
app.processEvents()
avail = w.screen().availableGeometry()
buttons = {}
for b in (w.train_button, w.stop_button, w.generate_button, w.cancel_button, w.play_button, w.export_button,
          w.load_model_button, w.save_model_button, w.play_input_button):
    top_left = b.mapTo(w, b.rect().topLeft())
    buttons[b.objectName()] = [top_left.x(), top_left.y(), b.width(), b.height(), b.isVisible()]
print(json.dumps({"frame": [w.frameGeometry().x(), w.frameGeometry().y(), w.frameGeometry().width(),
                            w.frameGeometry().height()],
                  "size": [w.width(), w.height()], "min": [w.minimumSizeHint().width(), w.minimumSizeHint().height()],
                  "avail": [avail.x(), avail.y(), avail.width(), avail.height()],
                  "dpr": w.devicePixelRatio(), "buttons": buttons}))
w.shutdown()
"""


@pytest.mark.parametrize("screen,scale,stored", [((1280, 720), 1, "none"), ((1600, 1000), 2, "none"),
                                                ((1600, 1000), 2, "huge"), ((1280, 720), 1, "huge")])
def test_the_window_fits_small_and_scaled_screens(tmp_path, screen, scale, stored):
    """At 100 % on 1280x720 and at 200 % on 1600x1000 the window, every button on it, fits the screen,
    also when the stored geometry came from a bigger screen."""
    import json
    import os
    import subprocess
    import sys

    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": screen[0], "height": screen[1],
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "QT_SCALE_FACTOR": str(scale)}
    out = subprocess.run([sys.executable, "-c", _FIT_SCRIPT, str(tmp_path / "s.ini"), stored], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["dpr"] == scale
    x, y, width, height = got["frame"]
    ax, ay, aw, ah = got["avail"]
    assert width * scale <= screen[0] and height * scale <= screen[1], got  # in device pixels
    assert ax <= x and x + width <= ax + aw and ay <= y and y + height <= ay + ah, got
    assert got["min"][0] * scale <= screen[0] * 0.8, got  # and it can be made narrower still
    for name, (bx, by, bw, bh, visible) in got["buttons"].items():
        assert visible and bx >= 0 and by >= 0 and bx + bw <= got["size"][0] and by + bh <= got["size"][1], (name, got)


# ------------------------------------------------------------------ 3. start-up
def test_the_progress_bar_says_when_the_fast_kernels_are_still_compiling(qtbot, make_window, tone_file,
                                                                          monkeypatch):
    """The background warm-up holds the GIL for moments (a known start-up stall): while it runs
    the progress bar says so, idle or while a run waits for it; afterwards it says what it said."""
    from wavenet_gui.qt import runview, startup

    w = make_window([tone_file])
    qtbot.waitUntil(lambda: not startup.warming_up(), timeout=120000)
    qtbot.waitUntil(lambda: not w.run.warm_timer.isActive(), timeout=5000)
    assert w.progress_bar.format() == "Idle"
    monkeypatch.setattr(startup, "warming_up", lambda: True)
    w.run.core_loaded()
    assert w.progress_bar.format() == "Idle" + runview.WARMING and w.run.warm_timer.isActive()
    assert w.train_button.isEnabled()  # usable meanwhile
    w.progress_bar.setFormat("Training…")  # a run started: it waits for the kernels
    qtbot.waitUntil(lambda: w.progress_bar.format() == "Training…" + runview.WARMING, timeout=2000)
    monkeypatch.setattr(startup, "warming_up", lambda: False)
    qtbot.waitUntil(lambda: w.progress_bar.format() == "Training…", timeout=2000)
    assert not w.run.warm_timer.isActive()


def test_start_up_says_loading_and_queues_an_early_train(qtbot, make_window, tone_file, monkeypatch, qt_settings):
    """While PyTorch loads the progress bar says so and Train is pressable: the training is queued and
    starts when the core is ready; pressing again calls it off."""
    import threading

    from tests.qt_fixtures import Recorder
    from wavenet_gui.qt import window as window_module

    gate = threading.Event()
    real = window_module.load_core

    def slow_core():
        gate.wait(20)
        return real()

    monkeypatch.setattr(window_module, "load_core", slow_core)
    w = window_module.MainWindow(qt_settings, restore_files=False)
    rec = Recorder()
    w.show_message, w.ask, w.choose, w.recorder = rec.show_message, rec.ask, rec.choose, rec
    qtbot.addWidget(w)
    w.show()
    try:
        assert w.core is None and w.progress_bar.format() == "Loading PyTorch…"
        assert "Loading PyTorch" in w.last_message
        w.add_paths([tone_file])
        qtbot.waitUntil(lambda: len(w.files) == 1, timeout=10000)
        assert w.progress_bar.format() == "Loading PyTorch…"  # still said after "Added 1 file"
        w.training_form.set_values({**TINY, "output_dir": str(qt_settings.fileName() + ".out"),
                                    "train_iterations": 3})
        assert w.train_button.isEnabled() and "still loading" in w.train_button.toolTip()
        w.train_button.click()
        assert w.run.train_queued and w.train_button.text() == "Train (queued)" and "as soon as" in w.last_message
        w.train_button.click()  # called off
        assert not w.run.train_queued and w.train_button.text() == "Train"
        w.train_button.click()  # and queued again
        assert w.run.train_queued and w.busy() == ""
        gate.set()
        qtbot.waitUntil(lambda: w.core is not None, timeout=30000)
        assert w.busy() == "training" or w.session.state.iteration > 0
        qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
        assert w.session.state.iteration == 3 and not rec.messages, rec.messages
        assert not w.run.train_queued and w.progress_bar.format() != "Loading PyTorch…"
    finally:
        gate.set()
        w.shutdown()
        w.close()


# ------------------------------------------------------------------ 4. spectrogram
def test_spectrogram_of_the_input_and_of_generated_audio_as_it_grows(qtbot, make_window, tmp_path, qt_settings):
    """The spectrogram view shows the selected input (its 440 Hz tone in the right mel band) and the
    generated audio, growing while it is generated, with the UI never blocked 100 ms."""
    import numpy as np

    from wavenet_gui.qt.spectrogram import hz_to_mel

    tone = write_tone(tmp_path / "a440.wav", seconds=2.0, freq=440.0)
    w = make_window([tone])
    qtbot.waitUntil(lambda: w.files_view.input_audio is not None, timeout=10000)
    assert w.audio_view.currentWidget() is w.waveform_plot
    w.spectrogram_check.setChecked(True)  # the View menu's action follows
    assert w.act_spectrogram.isChecked() and w.audio_view.currentWidget() is w.spectrogram_plot
    spec = w.spectrogram_plot
    qtbot.waitUntil(lambda: spec.n_frames("input") > 0, timeout=5000)
    s = spec.spectrogram("input")
    assert s.n_frames == (16000 - s.n_fft) // s.hop + 1
    loudest = int(np.median(s.image().argmax(axis=1)))
    expected_row = hz_to_mel(440) / hz_to_mel(4000) * s.n_mels
    assert abs(loudest - expected_row) <= 1.5, (loudest, expected_row)
    assert spec.images["input"].image is not None and spec.images["input"].image.shape == (s.n_frames, s.n_mels)

    train_model(qtbot, w)
    w.generation_form.set_values({"length": 600.0, "seed": 3})
    probe = UiProbe()
    probe.start()
    w.generate_button.click()
    seen = []
    qtbot.waitUntil(lambda: (seen.append(spec.n_frames("generated")) or seen[-1] > 20), timeout=30000)
    qtbot.waitUntil(lambda: spec.n_frames("generated") > seen[-1], timeout=30000)  # it grows
    qtbot.wait(300)
    assert spec.spectrogram("generated").hop >= (600 * 8000) // 2000  # decimated for the whole expected length
    w.cancel_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=10000)
    probe.stop()
    assert probe.max_wait < 0.100, probe.report("drawing the spectrogram of audio being generated")
    g = spec.spectrogram("generated")
    buf = w.results.current_generated()
    # it catches up (at most 250 columns a refresh) after the end
    qtbot.waitUntil(lambda: g.n_frames == (buf.length - g.n_fft) // g.hop + 1, timeout=5000)
    title = spec.plots["generated"].titleLabel.text
    assert "in progress" not in title and "cancelled" in title, title
    assert "in progress" not in w.waveform_plot.generated_plot.titleLabel.text
    g = spec.spectrogram("generated")
    buf = w.results.current_generated()
    assert g.n_frames == (buf.length - g.n_fft) // g.hop + 1
    assert g.n_frames <= 2000
    assert np.isfinite(g.image()).all()
    # the choice is remembered, and the plots export includes the spectrogram
    written = w.results.export_plots(tmp_path / "plots.png")
    assert any(p.name == "plots-spectrogram.png" and p.stat().st_size > 1000 for p in written)
    assert str(qt_settings.value("view/spectrogram")).lower() == "true"


def test_mel_spectrogram_incremental_equals_whole():
    """Fed a growing signal bit by bit, the spectrogram equals the one computed at once."""
    import numpy as np

    from wavenet_gui.qt.spectrogram import MelSpectrogram, mel_filterbank

    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000).astype(np.float32) * 0.1
    whole = MelSpectrogram(16000, expected_samples=len(x))
    whole.update(x)
    parts = MelSpectrogram(16000, expected_samples=len(x))
    for end in (0, 100, 511, 512, 700, 5000, 5001, 19999, 20000):
        parts.update(x[:end])
    assert parts.n_frames == whole.n_frames and np.allclose(parts.image(), whole.image(), atol=1e-4)
    # a long signal has at most 2,000 columns
    long = MelSpectrogram(8000)
    long.update(np.zeros(8000 * 600, np.float32))
    assert long.n_frames <= 2000
    bank = mel_filterbank(8000, 256)
    assert bank.shape == (129, 80) and (bank.sum(axis=0) > 0).all()


# ------------------------------------------------------------------ 5. the file list
def test_delete_selects_and_plots_the_next_file(qtbot, make_window, tmp_path):
    files = [write_tone(tmp_path / f"{n}.wav", freq=f) for n, f in (("a", 220.0), ("b", 330.0), ("c", 440.0))]
    w = make_window(files)
    qtbot.waitUntil(lambda: len(w.files) == 3, timeout=10000)
    w.file_list.setCurrentItem(w.file_list.topLevelItem(1))
    view = w.files_view  # the selected input is the file list's
    qtbot.waitUntil(lambda: view.input_path is not None and view.input_path.endswith("b.wav"), timeout=5000)
    w.act_remove.trigger()  # Del
    assert [Path(i.path).name for i in w.files] == ["a.wav", "c.wav"]
    selected = w.file_list.selectedItems()
    assert len(selected) == 1 and selected[0].text(0) == "c.wav"
    qtbot.waitUntil(lambda: view.input_audio is not None and view.input_path.endswith("c.wav"), timeout=5000)
    assert w.waveform_plot.n_samples("input") == 8000
    w.act_remove.trigger()  # the last row: the one before it is selected
    qtbot.waitUntil(lambda: view.input_path is not None and view.input_path.endswith("a.wav"), timeout=5000)
    w.act_remove.trigger()
    assert not w.files and w.files_view.input_path is None and w.waveform_plot.n_samples("input") == 0


def test_the_same_audio_is_not_added_twice(qtbot, make_window, tmp_path):
    import shutil

    a = write_tone(tmp_path / "a.wav")
    copy = tmp_path / "sub" / "copy of a.wav"
    copy.parent.mkdir()
    shutil.copy(a, copy)
    other = write_tone(tmp_path / "other.wav", freq=300.0)
    w = make_window([a])
    job = w.add_paths([copy, other])
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert [Path(i.path).name for i in w.files] == ["a.wav", "other.wav"]
    assert "copy of a.wav: the same audio as a.wav" in w.last_message
    assert any("copy of a.wav" in m and "not added twice" in m for m in w.messages())
    # two copies dropped together: one of them
    w2 = make_window()
    job = w2.add_paths([tmp_path])  # the folder: a.wav, other.wav and sub/copy of a.wav
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert sorted(Path(i.path).name for i in w2.files) == ["a.wav", "other.wav"]


def test_a_dropped_model_file_is_loaded(qtbot, make_window, tone_file, tmp_path):
    from tests.test_qt_window import drop

    w = make_window([tone_file])
    train_model(qtbot, w)
    path = tmp_path / "dropped.safetensors"
    job = w.save_model(path)
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    w2 = make_window()
    assert drop(w2, [path, tone_file])  # a model and an audio file at once
    qtbot.waitUntil(lambda: w2.model is not None and len(w2.files) == 1, timeout=15000)
    assert w2.model.config == w.model.config and w2.session.model_path == path
    assert not w2.recorder.messages, w2.recorder.messages
    qtbot.waitUntil(lambda: not w2.busy(), timeout=5000)
    assert w2.generate_button.isEnabled(), w2.generate_button.toolTip()


def test_a_folder_can_be_added_from_the_file_menu(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "clips"
    folder.mkdir()
    for n in range(3):
        write_tone(folder / f"{n}.wav", freq=200.0 + 50 * n)
    w = make_window()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    assert w.act_open_folder.shortcut().toString() == "Ctrl+Shift+O"
    w.act_open_folder.trigger()
    qtbot.waitUntil(lambda: len(w.files) == 3, timeout=10000)


# ------------------------------------------------------------------ 6. words and numbers
def test_words_and_numbers(qtbot, make_window, tone_file, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from wavenet_gui import appinfo
    from wavenet_gui.qt.window import loss_text

    assert loss_text(1e-4) == "0.0001" and loss_text(2.4312345) == "2.431" and loss_text(1.234e-7) == "1.234e-07"
    w = make_window([tone_file])
    train_model(qtbot, w)
    n = w.session.state.iteration
    assert w.last_message.startswith(f"Training stopped at iteration {n}; the model is kept"), w.last_message
    assert "cancelled" not in w.last_message and "cancelled" not in w.progress_bar.format()
    assert w.progress_bar.format() == f"Stopped at iteration {n}"
    # a loss of 1e-4 reads as such in the status bar's model label
    w.session.state.losses[-20:] = [1e-4] * 20
    w.run.update_model_label()
    assert "loss 0.0001" in w.model_label.text(), w.model_label.text()
    # no file manager: it says where the files are
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    assert w.results.open_output_folder() is False
    assert "No file manager" in w.last_message and str(w.session.settings["output_dir"]) in w.last_message
    assert w.recorder.messages and w.recorder.messages[-1][0] == "info"
    # About names the log file
    from wavenet_gui.qt.dialogs import about_text

    assert str(appinfo.log_file_path().parent) in about_text(w.settings)


def test_messages_panel_lists_every_note_in_full(qtbot, make_window, tmp_path):
    good = [write_tone(tmp_path / f"at44k_{n}.wav", rate=44100, freq=200.0 + 100 * n) for n in range(3)]
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio")
    w = make_window(tiny=False)
    w.training_form.set_values({"sample_rate": 8000})
    job = w.add_paths(good + [bad])
    qtbot.waitUntil(lambda: not job.running, timeout=20000)
    lines = w.messages()
    for f in good:  # each conversion note names its file, and the file's row says it too
        assert any(m.startswith(f.name) and "resampled" in m for m in lines), lines
    rows = [w.file_list.topLevelItem(i) for i in range(w.file_list.topLevelItemCount())]
    assert len(rows) == 3 and all("resampled from 44100 Hz" in r.toolTip(0) for r in rows), [r.toolTip(0) for r in rows]
    refused = [m for m in lines if "notes.txt" in m]
    assert refused and "libsndfile" not in refused[0] and "not an audio file" in refused[0], refused
    assert "and 2 more notes" not in w.last_message and "View > Messages" in w.last_message, w.last_message
    assert not w.messages_dock.isVisible()
    w.act_messages.trigger()  # View > Messages (Ctrl+M)
    assert w.messages_dock.isVisible() and w.messages_list.count() == len(lines)


# ------------------------------------------------------------------ 7. export
def test_export_all_variations_at_another_rate_and_plots_as_svg(qtbot, make_window, tone_file, tmp_path):
    import soundfile as sf

    w = make_window([tone_file])
    train_model(qtbot, w)
    w.generation_form.set_values({"length": 0.25, "variations": 3})
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert len(w.generated) == 3 and w.act_export_all.isEnabled()
    job = w.results.export_to(tmp_path / "take.flac", subtype=None, sample_rate=44100, all_variations=True)
    qtbot.waitUntil(lambda: not job.running, timeout=20000)
    assert not w.recorder.messages, w.recorder.messages
    for k in (1, 2, 3):
        info = sf.info(str(tmp_path / f"take_v{k}.flac"))
        assert info.samplerate == 44100 and abs(info.frames - 2000 * 44100 // 8000) <= 2
    assert "Exported 3 variations at 44100 Hz" in w.last_message
    # the resampled audio is the same sound: taken back to 8 kHz it matches what was generated
    import numpy as np
    import soxr

    x44, _ = sf.read(str(tmp_path / "take_v2.flac"), dtype="float32")
    x8 = w.generated[1].view()
    back = soxr.resample(x44, 44100, 8000)[:len(x8)]
    corr = float(np.corrcoef(back, x8[:len(back)])[0, 1])
    assert corr > 0.9, corr
    # overwriting asks, naming the files
    w.recorder.answer = False
    assert w.results.export_to(tmp_path / "take.flac", subtype=None, all_variations=True) is None
    assert "take_v1.flac" in w.recorder.questions[-1]
    # plots as SVG
    written = w.results.export_plots(tmp_path / "plots.svg")
    assert [p.name for p in written] == ["plots-loss.svg", "plots-waveform.svg", "plots-spectrogram.svg"]
    for p in written:
        text = p.read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text and len(text) > 1000


# ------------------------------------------------------------------ 8. help
def test_help_quick_start(qtbot, make_window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QTextBrowser

    from wavenet_gui.core.presets import PRESETS

    w = make_window()
    seen = {}

    def look_and_close():
        dialog = QApplication.activeModalWidget()
        seen["title"] = dialog.windowTitle() if dialog else None
        browser = dialog.findChild(QTextBrowser) if dialog else None
        seen["text"] = browser.toPlainText() if browser else ""
        if dialog:
            dialog.reject()

    QTimer.singleShot(200, look_and_close)
    w.act_quick_start.trigger()
    assert seen["title"] == "Quick start"
    text = seen["text"]
    for word in ("Add audio", "Train", "Stop", "Generate", "Export", "Save model", "Temperature", "Sample rate"):
        assert word in text, word
    for preset in PRESETS.values():
        assert preset.label in text and preset.description[:40] in text


# ------------------------------------------------------------------ 10. dark palette
def test_plots_follow_a_dark_palette(qtbot, make_window):
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    w = make_window()
    assert not w.dark and w.loss_plot.backgroundBrush().color().lightness() > 200
    old = app.palette()
    dark = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.Base, "#1e1e1e"),
                        (QPalette.ColorRole.WindowText, "#e6e6e6"), (QPalette.ColorRole.Text, "#e6e6e6"),
                        (QPalette.ColorRole.Button, "#353535"), (QPalette.ColorRole.ButtonText, "#e6e6e6")):
        dark.setColor(role, QColor(color))
    try:
        app.setPalette(dark)
        qtbot.waitUntil(lambda: w.dark, timeout=3000)
        for view in (w.loss_plot, w.waveform_plot, w.spectrogram_plot):
            assert view.backgroundBrush().color().lightness() < 60, view.objectName()
        axis = w.loss_plot.getPlotItem().getAxis("left")
        assert axis.pen().color().lightness() > 180 and axis.textPen().color().lightness() > 180
        assert w.waveform_plot.curves["input"].opts["pen"].color().lightness() > 150  # visible on dark
        image = w.loss_plot.grab().toImage()
        samples = [QColor(image.pixel(x, y)).lightness() for x in range(0, image.width(), 37)
                   for y in range(0, image.height(), 23)]
        assert sum(v < 60 for v in samples) > 0.8 * len(samples)  # it is drawn dark, too
    finally:
        app.setPalette(old)
    qtbot.waitUntil(lambda: not w.dark, timeout=3000)
    assert w.loss_plot.backgroundBrush().color().lightness() > 200


# ------------------------------------------------------------------ 9. output device
def test_preferences_list_output_devices_and_playback_resamples_for_the_device(qtbot, make_window, tone_file,
                                                                                monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QComboBox, QLabel

    from wavenet_gui.qt import playback

    w = make_window([tone_file])
    if not w.player.availability()[0]:
        pytest.skip("no audio output here")
    devices = playback.output_devices()
    assert devices and all(isinstance(i, int) and name and rate > 0 for i, name, rate in devices)
    seen = {}

    def look_and_close():
        dialog = QApplication.activeModalWidget()
        combo = dialog.findChild(QComboBox, "outputDevice")
        seen["items"] = [combo.itemText(i) for i in range(combo.count())]
        seen["rates"] = dialog.findChild(QLabel, "deviceRates").text()
        combo.setCurrentIndex(1)
        dialog.accept()

    QTimer.singleShot(200, look_and_close)
    w.act_preferences.trigger()
    assert seen["items"][0] == "System default output" and len(seen["items"]) == len(devices) + 1
    assert "Hz" in seen["rates"]
    assert w.player.device == devices[0][0] and w.settings.value("audio/device") == devices[0][1]
    # a device that cannot play 8 kHz: the input is resampled to its rate, and the playhead stays in seconds
    monkeypatch.setattr(playback, "rate_supported", lambda device, rate: rate != 8000)
    monkeypatch.setattr(playback, "device_default_rate", lambda device: 48000)
    qtbot.waitUntil(lambda: w.files_view.input_audio is not None, timeout=5000)
    w.play_input_button.click()
    try:
        assert w.player.state == playback.PLAYING, w.last_error
        assert w.player.buffer.sample_rate == 48000 and abs(w.player.buffer.length - 6 * 8000) <= 6
        assert w.player.source is w.files_view.input_audio and "resampled 8000 Hz -> 48000 Hz" in w.last_message
    finally:
        w.player.stop()
    # the device remembered by name in a new window
    w2 = make_window(settings=w.settings)
    assert w2.player.device == devices[0][0]


def test_an_empty_spectrogram_has_sensible_axes(qtbot, make_window, tmp_path):
    """Nothing generated yet: the Generated spectrogram spans 0 to the input's duration and its
    frequency axis 0 to the Nyquist frequency in Hz (not pyqtgraph's -400..400 default)."""
    from wavenet_gui.qt.spectrogram import N_MELS

    tone = write_tone(tmp_path / "a440.wav", seconds=2.0, freq=440.0)
    w = make_window([tone])
    qtbot.waitUntil(lambda: w.files_view.input_audio is not None, timeout=10000)
    w.spectrogram_check.setChecked(True)
    spec = w.spectrogram_plot
    qtbot.waitUntil(lambda: spec.n_frames("input") > 0, timeout=5000)
    plot = spec.plots["generated"]
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert -0.05 <= x0 <= 0 and 1.95 <= x1 <= 2.05, (x0, x1)  # the input's 2 s
    assert (y0, y1) == (0, N_MELS), (y0, y1)
    labels = [label for level in plot.getAxis("left")._tickLevels for _, label in level]
    assert "2k" in labels and "4k" not in labels, labels  # 8 kHz: up to 4 kHz
    w.training_form.set_values({"sample_rate": 16000})
    qtbot.waitUntil(lambda: "4k" in [lb for lv in plot.getAxis("left")._tickLevels for _, lb in lv], timeout=5000)


def test_plots_keep_a_readable_height_in_a_short_window(qtbot, make_window, tone_file):
    """1600x1000 at 200 % gives an 800x500 window: the plots were squashed to a few pixels with
    their tick labels piled up.  Each keeps a few lines of height (a short window scrolls them)."""
    w = make_window([tone_file])
    qtbot.waitUntil(lambda: w.files_view.input_audio is not None, timeout=10000)
    w.resize(800, 500)
    qtbot.wait(100)
    line = w.fontMetrics().height()
    boxes = {"loss": w.loss_plot.getPlotItem().getViewBox(), "input": w.waveform_plot.input_plot.getViewBox(),
             "generated": w.waveform_plot.generated_plot.getViewBox()}
    heights = {k: round(v.height()) for k, v in boxes.items()}
    assert all(h >= 2.5 * line for h in heights.values()), (heights, line)
    assert w.plots_scroll.verticalScrollBar().maximum() > 0  # they scroll rather than squash
    w.resize(1366, 768)  # 100 % on a 1366x768 screen: nothing to scroll
    qtbot.wait(100)
    assert w.plots_scroll.verticalScrollBar().maximum() == 0
    assert all(v.height() >= 6 * line for v in boxes.values()), {k: v.height() for k, v in boxes.items()}

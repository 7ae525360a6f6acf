"""The window (issue 3; window parts of issue 5), driven through its widgets, offscreen."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.qt_fixtures import TINY, UiProbe, train_model, write_tone


def drop(widget, paths) -> bool:
    """Drag file URLs onto ``widget`` and drop them there (real QDragEnterEvent + QDropEvent).

    Returns whether the drop was accepted.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return bool(event.isAccepted())


# ------------------------------------------------------------------ launch and files
def test_object_names_and_first_launch_example(make_window):
    w = make_window(restore_files=True, tiny=False)
    for name in ("fileList", "trainButton", "stopButton", "generateButton", "cancelButton", "playButton",
                 "exportButton", "lossPlot", "waveformPlot", "progressBar", "loadModelButton", "saveModelButton"):
        assert w.findChild(object, name) is not None, name
    from wavenet_gui.qt.window import example_clip

    if example_clip() is None:
        pytest.skip("no example clip")
    import pytestqt.qtbot  # noqa: F401

    deadline = time.monotonic() + 10
    while not w.files and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    assert [Path(i.path).name for i in w.files] == [example_clip().name]
    assert w.file_list.topLevelItem(0).text(0) == example_clip().name
    # ready to train at once
    assert w.train_button.isEnabled(), w.train_button.toolTip()
    assert not w.generate_button.isEnabled() and "model" in w.generate_button.toolTip().lower()


def test_drop_adds_good_files_and_refuses_bad_ones(qtbot, make_window, tmp_path):
    w = make_window()
    good = write_tone(tmp_path / "good tone é.wav", seconds=1.5, rate=16000, channels=2)
    folder = tmp_path / "folder"
    folder.mkdir()
    write_tone(folder / "inner.flac", seconds=0.5)
    (folder / "readme.txt").write_text("not audio")
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"this is not a wav file at all" * 10)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert drop(w, [good, folder, bad, empty])
    qtbot.waitUntil(lambda: len(w.files) == 2, timeout=10000)
    qtbot.waitUntil(lambda: "Refused" in w.last_message, timeout=5000)
    names = [w.file_list.topLevelItem(i).text(0) for i in range(w.file_list.topLevelItemCount())]
    assert names == ["good tone é.wav", "inner.flac"]
    row = w.file_list.topLevelItem(0)
    assert row.text(1) == "1.5 s" and row.text(2) == "16000 Hz" and row.text(3) == "2"
    # the refusal names the file, in one line, and nothing else changed
    assert "broken.wav" in w.last_error and "empty.wav" in w.last_error
    assert "\n" not in w.last_message
    assert not w.recorder.messages
    # dropping the same file again adds nothing; removing works
    drop(w, [good])
    qtbot.waitUntil(lambda: "already in the list" in w.last_message, timeout=5000)
    assert len(w.files) == 2
    w.file_list.setCurrentItem(w.file_list.topLevelItem(1))
    w.remove_button.click()
    assert [Path(i.path).name for i in w.files] == ["good tone é.wav"]
    # the selected file's waveform is plotted
    w.file_list.setCurrentItem(w.file_list.topLevelItem(0))
    qtbot.waitUntil(lambda: w.waveform_plot.n_samples("input") == 24000, timeout=5000)


def test_hostile_corpus_through_the_drop_handler(qtbot, make_window, hostile_corpus):
    """Every hostile file is listed or refused with one line naming it; the window stays usable."""
    w = make_window()
    cases = [c for c in hostile_corpus if c.path.exists() and not c.path.is_dir()]
    drop(w, [c.path for c in cases])
    qtbot.waitUntil(lambda: w.last_message and not w.last_message.startswith("Reading"), timeout=60000)
    listed = {Path(i.path).name for i in w.files}
    refused = w.last_error
    twins = " ".join(m for m in w.messages() if "not added twice" in m)  # the same bytes as a listed file
    for c in cases:
        if c.path.name in listed or (c.expect == "accept" and c.path.name in twins):
            continue
        assert c.path.name in refused, f"{c.label}: neither listed nor refused by name"
    for c in cases:
        if c.expect == "refuse" and c.reason_contains and "short" not in c.reason_contains:
            assert c.path.name not in listed or c.label.startswith("short"), c.label
    assert w.isVisible() and w.add_button.isEnabled()


def test_the_file_list_shows_the_silence_trimmed_from_each_file(qtbot, make_window, tmp_path):
    """Issue 10: each row says how long the file is once its leading and trailing silence is
    cut, and how much was cut, in the row itself (not only in a tooltip or a note)."""
    rate = 8000
    t = np.arange(int(0.5 * rate)) / rate
    word = np.r_[np.zeros(int(0.3 * rate)), 0.5 * np.sin(2 * np.pi * 300 * t), np.zeros(int(0.2 * rate))]
    sf.write(tmp_path / "word.wav", word, rate, subtype="PCM_16")
    w = make_window([tmp_path / "word.wav", write_tone(tmp_path / "tone.wav")])
    rows = {w.file_list.topLevelItem(i).text(0): w.file_list.topLevelItem(i).text(1)
            for i in range(w.file_list.topLevelItemCount())}
    assert rows["tone.wav"] == "1.0 s", rows  # nothing to trim: the plain duration
    kept, trimmed = w.session.file_durations()[[Path(i.path).name for i in w.files].index("word.wav")]
    assert 0.4 <= trimmed <= 0.55 and kept == pytest.approx(1.0 - trimmed)
    assert rows["word.wav"] == f"{kept:.1f} s (trimmed {trimmed:.2f} s)", rows
    # trimming off (threshold 0): the row follows at once, the whole file is used
    w.training_form.set_values({"silence_threshold": 0.0})
    word_row = w.file_list.findItems("word.wav", Qt.MatchFlag.MatchExactly, 0)[0]
    assert word_row.text(1) == "1.0 s" and "all used" in word_row.toolTip(1)
    w.training_form.set_values({"silence_threshold": 0.01})
    assert "(trimmed 0." in word_row.text(1) and "silence trimmed" in word_row.toolTip(1)
    # another rate: the files are read at it in the background, then the row says the trim again
    w.training_form.set_values({"sample_rate": 16000})
    qtbot.waitUntil(lambda: "(trimmed 0." in word_row.text(1), timeout=10000)
    assert w.session.file_durations()[0][1] is not None  # decoded at 16 kHz now (cached)


# ------------------------------------------------------------------ form
def test_form_validation_inline_and_receptive_field(make_window):
    from wavenet_gui.core import config

    w = make_window()
    f = w.training_form
    f.set_values({"n_dilations": 4, "n_blocks": 2, "sample_rate": 8000})
    assert f.is_valid
    assert f.receptive_label.text().startswith("31 samples")
    assert f.params_label.text().replace(",", "") == str(config.parameter_count(w.session.settings))
    # numbers out of the table's range cannot be entered: the spin boxes stop at its bounds
    f.set_values({"n_channels": 1, "sample_rate": 100})
    assert f.raw_values()["n_channels"] == 2 and f.raw_values()["sample_rate"] == 1000
    # typed values are checked by the table's rules, with the reason under the field
    f.set_values({"n_channels": 256, "sample_rate": 8000, "learning_rate": "-1"})
    assert not f.is_valid
    assert f.errors["learning_rate"].isVisibleTo(f) and "positive" in f.errors["learning_rate"].text()
    assert not w.train_button.isEnabled() and "invalid" in w.train_button.toolTip()
    f.set_values({"learning_rate": "fast"})
    assert "not a number" in f.errors["learning_rate"].text()
    f.set_values({"learning_rate": "0.001", "target_loss": "-2"})
    assert f.errors["target_loss"].text() and not f.errors["learning_rate"].text()
    f.set_values({"target_loss": ""})
    assert f.is_valid and w.train_button.isEnabled() is False  # no files yet
    assert "files" in w.train_button.toolTip().lower()
    # the settings the session trains with are the form's
    assert w.session.checked("model")["n_dilations"] == 4 and w.session.settings["learning_rate"] == "0.001"


def test_a_file_shorter_than_the_receptive_field_can_be_trained(qtbot, make_window, tmp_path):
    w = make_window([write_tone(tmp_path / "short.wav", seconds=0.05)])
    qtbot.waitUntil(lambda: len(w.files) == 1, timeout=5000)
    f = w.training_form
    f.set_values({"n_dilations": 10, "n_blocks": 2, "target_length": 2048})
    assert f.is_valid and not f.check()  # every sample is a target, short clips too
    assert w.train_button.isEnabled()


def test_settings_persist_and_reset(make_window, qt_settings):
    w = make_window(tiny=False)
    w.training_form.set_values({"n_hidden": 48, "learning_rate": "0.0005"})
    w.generation_form.set_values({"temperature": 0.7, "variations": 3})
    w.shutdown()
    w2 = make_window(tiny=False, settings=qt_settings)
    assert w2.training_form.raw_values()["n_hidden"] == 48
    assert w2.training_form.raw_values()["learning_rate"] == "0.0005"
    assert w2.generation_form.raw_values()["variations"] == 3
    w2.training_form.reset_defaults()
    assert w2.training_form.raw_values()["n_hidden"] == 32


# ------------------------------------------------------------------ training and generation
def test_train_stop_generate_cancel_export(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    assert w.train_button.isEnabled(), w.train_button.toolTip()
    assert not w.stop_button.isEnabled()

    probe = UiProbe()
    probe.start()
    w.train_button.click()
    assert not w.train_button.isEnabled() and w.stop_button.isEnabled()
    assert not w.generate_button.isEnabled()
    # at least 20 loss points, and at least half a second of training for the UI probe to watch
    qtbot.waitUntil(lambda: w.loss_plot.n_points >= 20 and probe.ticks > 40, timeout=30000)
    label = w.model_label.text()  # the status bar says what is going on, not "No model"
    assert label.startswith("Training") and "iteration" in label, label
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=10000)
    probe.stop()
    assert w.model_label.text().startswith("Model:"), w.model_label.text()
    assert w.loss_plot.legend_names() == ["loss", "smoothed"]  # Validation share 0 %: no validation entry
    assert probe.ticks > 40
    assert probe.max_wait < 0.100, probe.report("training")
    assert not w.recorder.messages, w.recorder.messages
    assert w.model is not None
    assert w.train_button.isEnabled() and not w.stop_button.isEnabled() and w.generate_button.isEnabled()
    assert "stopped" in w.last_message
    assert w.loss_plot.raw_curve.getData()[0] is not None and len(w.loss_plot.raw_curve.getData()[0]) >= 20

    # generation: progress, a growing waveform, then Cancel keeps the partial audio
    w.generation_form.set_values({"length": 600.0, "seed": 3})
    probe.start()
    w.generate_button.click()
    assert w.cancel_button.isEnabled() and not w.generate_button.isEnabled()
    qtbot.waitUntil(lambda: w.progress_bar.value() > 4000, timeout=30000)
    assert "real time" in w.speed_label.text()
    t0 = time.perf_counter()
    w.cancel_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=5000)
    latency = time.perf_counter() - t0
    probe.stop()
    assert latency < 0.5, f"cancel took {latency:.2f} s"
    assert probe.max_wait < 0.100, probe.report("generating")
    buf = w.results.current_generated()
    assert buf is not None and 4000 < buf.length < 600 * 8000 and buf.complete
    assert np.isfinite(buf.view()).all()
    assert "cancelled" in w.last_message.lower()
    assert w.waveform_plot.n_samples("generated") == buf.length
    saved = w.last_prediction
    assert saved and saved[0].name.startswith("pred_") and saved[0].parent == tmp_path / "out"
    assert sf.info(str(saved[0])).frames == buf.length
    assert w.export_button.isEnabled() and w.play_button.isEnabled() == w.player.availability()[0]

    # export: readable files, and overwrite asks first
    for name, subtype, kind in (("a.wav", "PCM_16", "PCM_16"), ("b.wav", "FLOAT", "FLOAT"),
                                ("c.flac", None, "PCM_16"), ("d.ogg", None, "VORBIS")):
        task = w.results.export_to(tmp_path / name, subtype=subtype)
        qtbot.waitUntil(lambda t=task: not t.running, timeout=10000)
        info = sf.info(str(tmp_path / name))
        assert info.samplerate == 8000 and info.subtype == kind
        if name != "d.ogg":
            assert abs(info.frames - buf.length) == 0
    w.recorder.answer = False
    assert w.results.export_to(tmp_path / "a.wav") is None
    assert w.recorder.questions and "a.wav" in w.recorder.questions[-1]

    # plots to PNG
    written = w.results.export_plots(tmp_path / "plots.png")
    assert all(p.exists() and p.stat().st_size > 1000 for p in written)


def test_generate_full_length_saves_prediction(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    train_model(qtbot, w)
    w.generation_form.set_values({"length": 0.25, "variations": 2, "prime": "first",
                                  "weight_format": "bfloat16"})  # the 16-bit weight path, chosen in the form
    assert w.generation_form.values()["weight_format"] == "bfloat16"
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    assert len(w.generated) == 2 and all(b.length == 2000 for b in w.generated)
    assert len(w.last_prediction) == 2 and all(p.exists() for p in w.last_prediction)
    assert [p.stem[-3:] for p in w.last_prediction] == ["_v1", "_v2"]  # named as the CLI names them
    assert w.variation_spin.maximum() == 2


def test_target_and_iteration_limit_end_training(qtbot, make_window, tone_file):
    w = make_window([tone_file])
    w.training_form.set_values({"train_iterations": 7})
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert w.loss_plot.n_points == 7 and "iteration limit" in w.last_message
    w.training_form.set_values({"n_hidden": 16, "target_loss": "100", "train_iterations": 1000})
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert "target loss" in w.last_message and w.loss_plot.n_points < 1000


def test_save_and_load_model(qtbot, make_window, tone_file, tmp_path):
    w = make_window([tone_file])
    train_model(qtbot, w)
    path = tmp_path / "m.safetensors"
    task = w.save_model(path)
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    assert path.exists(), w.recorder.messages
    w2 = make_window()  # no files, no training: load and generate
    task = w2.load_model(path)
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    assert w2.model is not None and w2.model.config == w.model.config
    assert w2.generate_button.isEnabled()
    assert w2.loss_plot.n_points == w.loss_plot.n_points
    # Adam's state travels with the saved model, so training continues where it stopped
    assert w.optimizer_state is not None and w2.optimizer_state is not None
    assert w2.optimizer_state["step"] == w.optimizer_state["step"] > 0
    # a bad model file is refused with a dialog and the window stays usable
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    task = w2.load_model(bad)
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    assert w2.recorder.messages and "bad.safetensors" in w2.recorder.messages[-1][2]
    assert w2.model is not None and w2.generate_button.isEnabled()


def test_worker_exception_becomes_dialog(qtbot, make_window, tone_file, monkeypatch):
    """A RuntimeError (what torch raises when it runs out of memory) inside the training generator
    reaches the window as a one-line dialog, and the window is usable again."""
    w = make_window([tone_file])

    def boom(self, *args):
        yield "Reading…"
        raise RuntimeError("kaboom")

    monkeypatch.setattr(type(w.session), "_train", boom)
    w.train_button.click()
    qtbot.waitUntil(lambda: bool(w.recorder.messages), timeout=5000)
    kind, title, text = w.recorder.messages[-1]
    assert kind == "error" and "kaboom" in text and "\n" not in text
    # the job's "finished" comes after its "errored" (a second queued signal from the worker)
    qtbot.waitUntil(lambda: not w.busy(), timeout=5000)
    assert w.train_button.isEnabled()


def test_training_error_from_core_is_one_line(qtbot, make_window, tmp_path):
    # a file that went away after it was listed: the core refuses it, naming it
    w = make_window([write_tone(tmp_path / "tiny.wav", seconds=1.0), write_tone(tmp_path / "blip.wav", seconds=0.6)])
    qtbot.waitUntil(lambda: len(w.files) == 2, timeout=5000)
    (tmp_path / "blip.wav").unlink()
    w.train_button.click()
    qtbot.waitUntil(lambda: bool(w.recorder.messages), timeout=10000)
    text = w.recorder.messages[-1][2]
    assert "blip.wav" in text and "\n" not in text
    assert w.train_button.isEnabled()


def test_a_file_shorter_than_a_window_is_trained_on_too(qtbot, make_window, tmp_path):
    """One rule for window and CLI (the session's): every sample of every file is a target, so a
    file shorter than a training window is trained on, not left out."""
    w = make_window([write_tone(tmp_path / "tone.wav", seconds=1.0), write_tone(tmp_path / "blip.wav", seconds=0.01)])
    qtbot.waitUntil(lambda: len(w.files) == 2, timeout=5000)
    w.training_form.set_values({"train_iterations": 3})
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    assert "not used" not in w.last_message
    assert w.session.state.iteration == 3


def test_close_during_training_asks_and_stops_threads(qtbot, make_window, tone_file):
    w = make_window([tone_file])
    w.train_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.n_points >= 2, timeout=30000)
    w.recorder.answer = False
    w.close()
    assert w.isVisible() and w.busy() == "training" and w.recorder.questions
    job = w.run.train_job
    w.recorder.answer = True
    w.close()
    assert not w.isVisible()
    assert job.done.is_set()  # the training thread has ended
    assert not w.session.busy


def test_close_during_generation(qtbot, make_window, tone_file):
    w = make_window([tone_file])
    train_model(qtbot, w)
    w.generation_form.set_values({"length": 600.0})
    w.generate_button.click()
    qtbot.waitUntil(lambda: w.progress_bar.value() > 100, timeout=30000)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 2.0
    assert not w.isVisible() and not w.busy()


def test_about_and_shortcuts(make_window):
    w = make_window()
    from wavenet_gui.qt.dialogs import about_text

    text = about_text(w.settings)
    assert "torch" in text and "PySide6" in text and "Settings" in text
    shortcuts = {a.shortcut().toString() for a in w.actions()}
    for key in ("Ctrl+O", "Ctrl+T", "Esc", "Ctrl+G", "Space", "Ctrl+E", "Ctrl+Q"):
        assert key in shortcuts, key


def test_loss_plot_is_a_view_of_the_history(qtbot):
    """The plot reads the training history it is given (the session's): points appear as the history
    grows, the smoothed curve is the mean of the last 20, and validation joins the legend with data."""
    from wavenet_gui.core.training import TrainingState
    from wavenet_gui.qt.plots import LossPlot

    p = LossPlot()
    qtbot.addWidget(p)
    state = TrainingState(iteration=1, losses=[5.0])
    p.set_source(state)
    assert p.legend_names() == ["loss", "smoothed"] and p.n_points == 1
    state.losses.extend(float(v) for v in range(4, -21, -1))
    state.iteration = len(state.losses)
    state.val_losses.append((2, 4.2))
    p.refresh()
    assert p.legend_names() == ["loss", "smoothed", "validation"] and p.n_points == 26
    x, smooth = p.smooth_curve.getData()
    assert x[0] == 1 and x[-1] == 26 and smooth[-1] == np.mean(state.losses[-20:])
    loaded = TrainingState(iteration=100, losses=[1.0, 0.5])  # a file that kept the last losses only
    p.set_source(loaded)
    assert p.legend_names() == ["loss", "smoothed"] and list(p.raw_curve.getData()[0]) == [99, 100]


def test_training_with_validation_shows_its_legend(qtbot, make_window, tone_file):
    w = make_window([tone_file])
    w.training_form.set_values({"holdout": 0.2, "train_iterations": 30})
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    if w.loss_plot.val_losses:
        assert "validation" in w.loss_plot.legend_names()
    else:
        assert "validation" not in w.loss_plot.legend_names()


def test_open_recent_remembers_files_and_models(qtbot, make_window, tone_file, tmp_path):
    w = make_window()
    assert [a.text() for a in w.recent_menu.actions()] == ["No recent files"]
    other = write_tone(tmp_path / "other.wav", seconds=0.8)
    w.add_paths([other])
    qtbot.waitUntil(lambda: len(w.files) == 1, timeout=10000)
    w.add_paths([tone_file])
    qtbot.waitUntil(lambda: len(w.files) == 2, timeout=10000)
    train_model(qtbot, w)
    path = tmp_path / "recent model.safetensors"
    task = w.save_model(path)
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    assert [k for k, _ in w.recent.items()] == ["model", "audio", "audio"]  # most recent first
    w.recent.fill_menu()
    texts = [a.text() for a in w.recent_menu.actions() if a.text()]
    assert texts[0].startswith("Model: recent model.safetensors") and texts[-1] == "Clear list"
    # a new window (same settings) opens them from the menu
    w2 = make_window()
    w2.recent.fill_menu()
    model_action = next(a for a in w2.recent_menu.actions() if a.text().startswith("Model:"))
    model_action.trigger()
    qtbot.waitUntil(lambda: w2.model is not None, timeout=10000)
    assert w2.model.config == w.model.config
    w2.file_list.selectAll()
    w2.files_view.remove_selected_files()
    assert w2.files == []
    audio_action = next(a for a in w2.recent_menu.actions() if "other.wav" in a.text())
    audio_action.trigger()
    qtbot.waitUntil(lambda: [Path(i.path).name for i in w2.files] == ["other.wav"], timeout=10000)
    # a file that has gone is dropped from the list with a message, not an error dialog
    other.unlink()
    assert w2.open_recent("audio", str(other.resolve())) is None
    assert "no longer exists" in w2.last_message and not w2.recorder.messages
    assert ("audio", str(other.resolve())) not in w2.recent.items()
    w2.recent.clear()
    assert w2.recent.items() == []


# ------------------------------------------------------------------ one session under both front ends
def test_window_and_cli_give_the_same_audio_for_the_same_files_settings_and_seed(qtbot, make_window, tone_file,
                                                                                  tmp_path):
    """Both drive the same Session: same files, settings and seeds give the same weights and audio
    (training seeded by train_seed, sampling by seed, started from the first sample of the first file)."""
    import torch

    from wavenet_gui.cli import main

    w = make_window([tone_file])
    w.training_form.set_values({"train_iterations": 6, "train_seed": 5, "output_dir": str(tmp_path / "gui")})
    w.generation_form.set_values({"length": 0.2, "temperature": 1.0, "seed": 9, "variations": 2, "prime": "first"})
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    gui = sorted((tmp_path / "gui").glob("pred_*.wav"))
    flags = [a for k, v in TINY.items() if k not in ("target_loss", "train_iterations", "train_seed")
             for a in (f"--{k}", str(v))]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the window trains on one core fewer: the same arithmetic
    try:
        assert main(["--wav", str(tone_file), *flags, "--train_iterations", "6", "--train_seed", "5", "--length", "0.2",
                     "--temperature", "1.0", "--seed", "9", "--variations", "2", "--prime", "first",
                     "--output_dir", str(tmp_path / "cli")]) == 0
    finally:
        torch.set_num_threads(threads)
    cli = sorted((tmp_path / "cli").glob("pred_*.wav"))
    assert [p.name[-7:] for p in gui] == [p.name[-7:] for p in cli] == ["_v1.wav", "_v2.wav"]
    for a, b in zip(gui, cli, strict=True):
        np.testing.assert_array_equal(sf.read(a)[0], sf.read(b)[0])


def test_stopped_continued_and_saved_model_has_the_whole_history(qtbot, make_window, tone_file, tmp_path):
    from wavenet_gui.core.modelfile import load_model

    w = make_window([tone_file])
    train_model(qtbot, w, points=5)
    first = w.session.state.iteration
    assert f"stopped at iteration {first}" in w.last_message and f"{first:,} it" in w.model_label.text()
    train_model(qtbot, w, points=first + 5)  # Train again: the same model goes on
    total = w.session.state.iteration
    assert total > first and f"stopped at iteration {total}" in w.last_message
    assert f"{total:,} it" in w.model_label.text() and "not saved" in w.model_label.text()
    assert w.loss_plot.n_points == total
    task = w.save_model(tmp_path / "m.safetensors")
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    assert "not saved" not in w.model_label.text()
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.training["iteration"] == total and len(loaded.losses) == total
    np.testing.assert_allclose(loaded.losses, w.session.state.losses, rtol=1e-6)
    assert loaded.optimizer_state["step"] == total


def test_changing_a_model_setting_asks_before_replacing_the_model(qtbot, make_window, tone_file):
    w = make_window([tone_file])
    train_model(qtbot, w)
    model = w.model
    w.training_form.set_values({"n_end": 32})  # a setting the old form did not show
    assert w.training_form.model_note.isVisibleTo(w.training_form)
    assert "end channels" in w.training_form.model_note.text()
    w.recorder.answer = False
    w.train_button.click()
    question = w.recorder.questions[-1] if w.recorder.questions else ""
    assert "(end channels)" in question and "n_end" not in question, question  # the form's label, not the key
    assert "not been saved" in question
    assert w.model is model and not w.busy()
    w.recorder.answer = True
    w.train_button.click()
    qtbot.waitUntil(lambda: w.model is not model and w.session.state.iteration >= 2 or bool(w.recorder.messages),
                    timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=10000)
    assert w.model is not model and w.model.config.n_end == 32
    assert w.loss_plot.n_points == w.session.state.iteration  # the new model's history only


def test_loading_a_model_fills_in_every_model_setting(qtbot, make_window, tmp_path):
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.modelfile import save_model

    cfg = WaveNetConfig(n_dilations=3, n_blocks=2, n_hidden=12, n_dilation_channels=6, n_skip=20, n_end=24,
                        bias=False, n_channels=128, quantization="linear", sample_rate=11025)
    save_model(tmp_path / "odd.safetensors", WaveNet(cfg), training={"iteration": 40}, losses=[2.0] * 40)
    w = make_window()
    task = w.load_model(tmp_path / "odd.safetensors")
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    values = w.training_form.values()
    assert {k: values[k] for k in cfg.to_dict()} == cfg.to_dict()
    assert not w.training_form.model_note.isVisibleTo(w.training_form)  # Train continues this model
    assert w.session.model_mismatch() == [] and w.loss_plot.n_points == 40


def test_presets_fill_in_the_form_and_the_fields_stay_editable(qtbot, make_window, tmp_path):
    from wavenet_gui.core import config

    w = make_window([write_tone(tmp_path / "short.wav", seconds=1.0)], tiny=False)
    f = w.training_form
    assert f.preset_combo.currentData() == "imitate"  # first launch: the preset that suits the files
    assert f.raw_values()["n_dilations"] == config.preset_values("imitate", clip_seconds=[1.0])["n_dilations"]
    f.preset_combo.setCurrentIndex(f.preset_combo.findData("speech16k"))
    f.preset_combo.activated.emit(f.preset_combo.currentIndex())
    assert f.raw_values()["sample_rate"] == 16000 and w.session.settings["sample_rate"] == 16000
    from wavenet_gui.core.presets import PRESETS

    assert PRESETS["speech16k"].description in f.preset_label.text()
    f.set_values({"n_hidden": 40})
    assert f.preset_combo.currentData() == "custom" and w.session.settings["n_hidden"] == 40


def test_learning_rate_0_9_on_speech_stops_and_says_why(qtbot, make_window):
    """Issue 11: three speech clips at learning rate 0.9, Log scale clicked while it trains.  The
    loss explodes at once; training stops with a warning naming a learning rate to try, and the
    window keeps a usable model (the state before the step that exploded it)."""
    speech = sorted((Path(__file__).parent / "data").glob("speech*.wav"))
    w = make_window(speech, tiny=False)
    assert len(w.files) == 3
    # at once: no warm-up (the Imitate preset the window picks for short clips warms up for 20)
    w.training_form.set_values({"learning_rate": "0.9", "train_iterations": 300, "lr_warmup": 0})
    w.train_button.click()
    for _ in range(4):  # the crash of the issue came with a repaint in log scale during training
        w.log_check.click()
        qtbot.wait(30)
    qtbot.waitUntil(lambda: not w.busy(), timeout=60000)
    warnings_shown = [m for m in w.recorder.messages if m[0] == "warning"]
    assert len(warnings_shown) == 1, w.recorder.messages
    assert "try 0.09" in warnings_shown[0][2] and "\n" not in warnings_shown[0][2]
    assert w.model is not None
    import torch

    assert all(bool(torch.isfinite(p).all()) for p in w.model.parameters())


def test_a_crash_while_training_saves_the_model_being_trained(qtbot, make_window, tone_file, tmp_path):
    """The window registers a recovery saver with appinfo while it trains (the excepthook
    calls it), and takes it away when training ends."""
    from wavenet_gui import appinfo
    from wavenet_gui.core.modelfile import load_model

    w = make_window([tone_file])
    w.training_form.set_values({"output_dir": str(tmp_path / "out")})
    w.train_button.click()
    qtbot.waitUntil(lambda: w.session.state.iteration >= 3 or bool(w.recorder.messages), timeout=30000)
    assert not w.recorder.messages, w.recorder.messages
    sentence = appinfo._save_for_recovery()
    assert sentence.startswith("Your work was saved to "), sentence
    saved = sorted((tmp_path / "out").glob("recovered_*.safetensors"))
    assert len(saved) == 1 and str(saved[0]) in sentence
    loaded = load_model(saved[0])
    assert loaded.training["iteration"] >= 3 and len(loaded.losses) == loaded.training["iteration"]
    assert loaded.optimizer_state is not None
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=10000)
    assert appinfo._save_for_recovery() == ""  # nothing registered once training ended


# ------------------------------------------------------------------ previews (issue 10)
def test_preview_plays_a_second_from_the_current_weights_also_while_training(qtbot, make_window, tone_file):
    w = make_window([tone_file])
    assert not w.preview_button.isEnabled()  # no model yet
    train_model(qtbot, w, points=3)
    results_before = w.session.results
    assert w.preview_button.isEnabled()
    w.preview_button.click()
    qtbot.waitUntil(lambda: w.run.preview_audio is not None and not w.run.preview_job.running, timeout=30000)
    sr = w.model.config.sample_rate
    # no longer than Generate's Length (0.5 s in the tiny settings): an Imitate clip's length
    assert w.run.preview_audio.length == int(round(sr * 0.5)) and w.run.preview_audio.complete
    assert np.all(np.abs(w.run.preview_audio.view()) <= 1.0)
    assert f"Preview at iteration {w.session.state.iteration:,}" in w.last_message, w.last_message
    assert w.session.results is results_before  # nothing generated is replaced, nothing written
    # while training: the weights of the step reached are previewed, training goes on
    w.run.preview_audio = None
    w.train_button.click()
    qtbot.waitUntil(lambda: w.busy() == "training" and w.session.state.iteration > 3 + 2, timeout=30000)
    assert w.preview_button.isEnabled()
    w.preview_button.click()
    qtbot.waitUntil(lambda: w.run.preview_audio is not None, timeout=30000)
    assert w.busy() == "training" or w.session.state.iteration > 5
    assert not w.recorder.messages, w.recorder.messages
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=10000)


def test_a_collapse_warning_after_generate_is_kept_in_messages(qtbot, make_window, tone_file, monkeypatch):
    """The status bar cuts a long warning off; View > Messages must keep it in full."""
    from wavenet_gui.core.session import Session

    warning = ("The generated audio sounds like noise (spectral flatness 0.50, the training audio's 0.10): "
               "try a longer receptive field, another start or temperature, or more training.")
    monkeypatch.setattr(Session, "_collapse_warnings", lambda self, results, cfg: [warning])
    w = make_window([tone_file])
    train_model(qtbot, w, points=2)
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    assert warning in w.last_message
    assert any(warning in line and line.startswith("Generated") for line in w.messages()), w.messages()


def test_the_add_files_dialog_offers_exactly_the_extensions_the_app_reads(make_window, monkeypatch):
    """*.m4a was offered and then refused: the filter is the readable extensions, no more, no less."""
    import re

    from PySide6.QtWidgets import QFileDialog

    from wavenet_gui.core.audio import AUDIO_EXTENSIONS
    from wavenet_gui.qt import fileview

    w = make_window()
    asked = []
    monkeypatch.setattr(fileview.QFileDialog, "getOpenFileNames",
                        lambda *a: (asked.append(a[3]) or ([], "")))
    assert fileview.QFileDialog is QFileDialog
    w.files_view.open_files_dialog()
    audio_group = asked[0].split(";;")[0]
    offered = {"." + e for e in re.findall(r"\*\.(\w+)", audio_group)}
    assert offered == set(AUDIO_EXTENSIONS), offered ^ set(AUDIO_EXTENSIONS)
    assert ".m4a" not in offered


def test_the_export_dialog_has_room_for_its_title(qtbot, make_window, tone_file, monkeypatch):
    """The title was cut to "Export genera…": the dialog is wide enough for its title beside the
    title bar's icon and buttons (about 150 px)."""
    from wavenet_gui.qt import dialogs

    w = make_window([tone_file])
    train_model(qtbot, w, points=2)
    w.generate_button.click()
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    shown = []
    monkeypatch.setattr(dialogs, "ok_cancel", lambda dialog, form: shown.append(dialog) or False)
    assert w.results.ask_export_options() is None
    dialog = shown[0]
    width = max(dialog.minimumWidth(), dialog.sizeHint().width())
    title = dialog.windowTitle()
    assert title.startswith("Export") and width >= 1.25 * dialog.fontMetrics().horizontalAdvance(title) + 150

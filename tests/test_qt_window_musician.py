"""The window as a musician expects it (issue 13), driven through its widgets, offscreen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qt_fixtures import (  # noqa: F401
    TINY,
    UiProbe,
    make_window,
    qt_leak_check,
    qt_settings,
    tone_file,
    train_model,
    write_tone,
)

pytest.importorskip("pytestqt")


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
    job = w.train_job
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

"""A preset fills in the generation settings too (start, temperature, length), in the window.

A bug found by the screenshot script (issue 10), kept here as its test: the window filled the
training form first; that form's ``changed`` pushes *both* forms'
values to the session, so the generation form's old values overwrite the preset's before the
generation form is filled.  Imitate then generates at temperature 1 from "first" instead of
greedily from the silent past, which on speech1.wav after 300 iterations is noise (flatness
0.46).  ``SettingsView.follow_session`` now takes a snapshot of the session's settings before filling
the forms, and fills both from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qt_fixtures import make_window, qt_leak_check, qt_settings  # noqa: F401

pytest.importorskip("pytestqt")

DATA = Path(__file__).parent / "data"


def test_a_preset_fills_in_the_generation_form(qtbot, make_window):  # noqa: F811
    from wavenet_gui.core import config

    w = make_window([DATA / "speech1.wav"], tiny=False)
    qtbot.waitUntil(lambda: w.files_view.input_audio is not None, timeout=10000)
    w.apply_preset("imitate")
    want = config.preset_values("imitate", clip_seconds=w.session.clip_seconds())
    got = w.generation_form.raw_values()
    assert (w.session.settings["temperature"], w.session.settings["prime"]) == (want["temperature"], want["prime"])
    assert float(got["temperature"]) == want["temperature"] and got["prime"] == want["prime"]


def test_removing_files_keeps_the_preset_shown_while_no_field_was_edited(qtbot, make_window, tmp_path):  # noqa: F811
    """Imitate's values depend on the clips (the receptive field and the length follow the
    longest): removing the longest clip made the fields differ from Imitate-for-these-clips and
    the combo said Custom, though the user edited nothing.  The combo keeps naming the preset
    the fields came from (and says they were set for the earlier files); the values are not
    re-applied (a trained model would have to be replaced)."""
    from tests.qt_fixtures import write_tone

    short = write_tone(tmp_path / "short.wav", seconds=0.5)
    long = write_tone(tmp_path / "long.wav", seconds=1.5)
    w = make_window([short, long])
    qtbot.waitUntil(lambda: len(w.files) == 2, timeout=10000)
    w.apply_preset("imitate")
    assert w.training_form.preset_combo.currentData() == "imitate"
    before = dict(w.session.settings)
    assert before["length"] == 1.5
    rows = w.files_view.rows()
    w.files_view.file_list.clearSelection()
    next(r for r in rows if r.data(0, 256).endswith("long.wav")).setSelected(True)
    w.files_view.remove_selected_files()
    qtbot.waitUntil(lambda: len(w.files) == 1, timeout=10000)
    qtbot.wait(50)
    assert w.training_form.preset_combo.currentData() == "imitate"
    assert "choose it again" in w.training_form.preset_label.text()
    assert w.session.settings["length"] == before["length"]  # nothing re-applied behind the user's back
    w.training_form.set_values({"n_hidden": 24})  # an edit: now it is the user's own
    assert w.training_form.preset_combo.currentData() == "custom"
    w.apply_preset("imitate")  # chosen again: fits the file left
    assert w.session.settings["length"] == 0.5 and w.training_form.preset_combo.currentData() == "imitate"
    assert "choose it again" not in w.training_form.preset_label.text()

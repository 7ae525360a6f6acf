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

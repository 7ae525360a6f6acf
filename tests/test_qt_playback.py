"""Playback through sounddevice against ALSA's null device (set up by tests/qt_fixtures.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.qt_fixtures import make_window, qt_leak_check, qt_settings, tone_file, train_model  # noqa: F401
from wavenet_gui.qt.playback import PLAYING, STOPPED, AudioBuffer, Player, playback_availability  # noqa: E402

AVAILABLE, REASON = playback_availability()
needs_audio = pytest.mark.skipif(not AVAILABLE, reason=f"no audio output here: {REASON}")


def test_audio_buffer_grows_and_keeps_old_samples():
    b = AudioBuffer(8000, capacity=4)
    b.append(np.arange(3, dtype=np.float32))
    b.append(np.arange(3, 10, dtype=np.float32))
    assert b.length == 10 and not b.complete
    assert np.array_equal(b.view(), np.r_[np.arange(3), np.arange(3, 10)].astype(np.float32))
    b.finish()
    assert b.complete and b.duration == 10 / 8000


def test_callback_copies_and_waits_for_more_data():
    """The callback only copies: silence while the buffer waits, drained once complete."""
    p = Player()
    b = AudioBuffer(8000)
    b.append(np.ones(5, np.float32))
    p._buffer = b
    out = np.full((8, 1), 9.0, np.float32)
    p._callback(out, 8, None, None)
    assert out[:5, 0].tolist() == [1.0] * 5 and out[5:, 0].tolist() == [0.0] * 3
    assert p._pos == 5 and not p._drained  # still generating: wait, do not stop
    b.append(np.full(2, 0.5, np.float32))
    b.finish()
    p._callback(out, 8, None, None)
    assert out[:2, 0].tolist() == [0.5, 0.5] and p._drained


@needs_audio
def test_plays_to_the_end_on_the_null_device(qtbot):
    p = Player()
    buf = AudioBuffer.from_array(0.1 * np.sin(np.arange(1600) / 5), 8000)  # 0.2 s
    positions = []
    p.positionChanged.connect(positions.append)
    assert p.play(buf, tag="x")
    assert p.state == PLAYING
    qtbot.waitUntil(lambda: p.state == STOPPED, timeout=5000)
    assert positions and max(positions) > 0.05


@needs_audio
def test_follows_a_growing_buffer(qtbot):
    p = Player()
    buf = AudioBuffer(8000, capacity=800)
    buf.append(np.zeros(400, np.float32))
    assert p.play(buf)
    for _ in range(4):  # "generation" keeps appending while it plays
        qtbot.wait(30)
        assert p.state == PLAYING
        buf.append(np.zeros(400, np.float32))
    buf.finish()
    qtbot.waitUntil(lambda: p.state == STOPPED, timeout=5000)
    assert p._buffer is None


@needs_audio
def test_device_failing_mid_play_stops_with_an_explanation(qtbot):
    """The stream dies under the player (as when a device is unplugged): stopped, explained, no crash."""
    p = Player()
    failures = []
    p.failed.connect(failures.append)
    buf = AudioBuffer(8000)  # still growing, as while generating: the null device cannot drain it
    buf.append(np.zeros(800, np.float32))
    assert p.play(buf)
    qtbot.wait(50)
    assert p.state == PLAYING
    p._stream.abort()  # the device goes away underneath
    qtbot.waitUntil(lambda: p.state == STOPPED, timeout=2000)
    assert failures and "stopped" in failures[0].lower()
    assert p.play(AudioBuffer.from_array(np.zeros(800, np.float32), 8000))  # and it can play again
    qtbot.waitUntil(lambda: p.state == STOPPED, timeout=5000)


@needs_audio
def test_stop_from_the_ui_thread(qtbot):
    p = Player()
    buf = AudioBuffer.from_array(np.zeros(80000, np.float32), 8000)  # 10 s
    assert p.play(buf)
    qtbot.wait(50)
    t0 = time.perf_counter()
    p.stop()
    assert p.state == STOPPED and time.perf_counter() - t0 < 0.5


@needs_audio
def test_window_play_and_space(qtbot, make_window, tone_file):
    """ALSA's null device takes samples as fast as they come, so a whole clip plays in a blink."""
    w = make_window([tone_file])
    qtbot.waitUntil(lambda: w.input_audio is not None, timeout=5000)
    assert w.play_input_button.isEnabled()
    assert not w.play_button.isEnabled()  # nothing generated yet
    heads = []
    w.player.positionChanged.connect(lambda s: heads.append((s, w.waveform_plot.playheads["input"].isVisible())))
    w.play_input_button.click()
    assert w.player.state == PLAYING and w.player.tag == "input"
    assert w.play_input_button.text() == "Stop"
    w.act_play.trigger()  # Space stops
    assert w.player.state == STOPPED and w.play_input_button.text() == "Play input"
    w.act_play.trigger()  # Space plays again (the input: there is nothing generated)
    assert w.player.tag == "input"
    qtbot.waitUntil(lambda: w.player.state == STOPPED, timeout=5000)  # played to the end
    assert heads and heads[-1][1] and heads[-1][0] == pytest.approx(1.0, abs=0.2)
    assert not w.waveform_plot.playheads["input"].isVisible()

    # play while generating: starts on the growing buffer, waits for it, plays it to its end
    train_model(qtbot, w)
    w.generation_form.set_values({"length": 1.0})
    w.generate_button.click()
    qtbot.waitUntil(lambda: w.current_generated() is not None and w.current_generated().length > 0, timeout=10000)
    assert w.play_button.isEnabled()
    heads.clear()
    w.play_button.click()
    assert w.player.state == PLAYING and w.player.tag == "generated"
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    qtbot.waitUntil(lambda: w.player.state == STOPPED, timeout=5000)
    assert heads[-1][0] == pytest.approx(1.0, abs=0.1)  # it followed the generator to the last sample
    assert not w.recorder.messages and "device" not in w.last_message


def test_without_portaudio_play_is_disabled_with_the_reason(qtbot, make_window, tone_file, monkeypatch):
    from wavenet_gui.qt import playback

    reason = "Playback is off: the PortAudio library was not found. Install libportaudio2."
    monkeypatch.setattr(playback, "playback_availability", lambda: (False, reason))
    w = make_window([tone_file])
    qtbot.waitUntil(lambda: w.input_audio is not None, timeout=5000)
    for b in (w.play_button, w.play_input_button):
        assert not b.isEnabled() and b.toolTip() == reason
    assert w.audio_label.isVisible() and w.audio_label.toolTip() == reason  # seen without hovering
    w.toggle_play("input")  # Space does nothing harmful
    assert w.player.state == STOPPED
    assert w.train_button.isEnabled()  # everything else works


def test_no_output_device_message_is_human_and_shown(qtbot, make_window, tone_file, monkeypatch):
    """PortAudio's "Error querying device -1" becomes a sentence, shown in the status bar without hovering."""
    from wavenet_gui.qt import playback

    class FakeSd:
        @staticmethod
        def query_devices(kind=None):
            raise RuntimeError("Error querying device -1")

    monkeypatch.setitem(__import__("sys").modules, "sounddevice", FakeSd)
    ok, reason = playback._query_availability()
    assert not ok and reason == "No audio output device was found; playback is off. Everything else works."
    monkeypatch.setattr(playback, "playback_availability", lambda: (ok, reason))
    w = make_window([tone_file])
    qtbot.waitUntil(lambda: w.input_audio is not None, timeout=5000)
    assert w.play_button.toolTip() == reason and "-1" not in w.play_button.toolTip()
    assert w.audio_label.isVisible() and "playback is off" in w.audio_label.text()
    assert w.audio_label.toolTip() == reason


def test_audio_note_hidden_when_playback_works(make_window):
    w = make_window()
    assert w.audio_label.isHidden() == playback_availability()[0]

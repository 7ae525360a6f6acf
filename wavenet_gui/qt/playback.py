"""Audio playback through sounddevice, with a buffer that may still be growing.

The :class:`Player` is a small state machine (``stopped`` -> ``playing`` ->
``stopping`` -> ``stopped``).  The PortAudio callback only copies samples out of
an :class:`AudioBuffer`; it never stops the stream, never allocates much and
never touches Qt.  A QTimer in the UI thread reads the position (for the
playhead), notices the end of the data or a failed device, and stops the stream
from there.

Play while generating: the generator appends to an :class:`AudioBuffer`; the
callback plays what is there and outputs silence while it waits for more, so
when generation is faster than real time there are no gaps.

sounddevice is imported lazily: without PortAudio (``OSError`` at import) or
without an output device the player reports itself unavailable with a reason,
and everything else in the window keeps working.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from wavenet_gui.core.buffer import AudioBuffer

if TYPE_CHECKING:  # sounddevice loads when playback is first checked
    import sounddevice

log = logging.getLogger(__name__)

STOPPED, PLAYING, STOPPING = "stopped", "playing", "stopping"


#: What the window says when there is nothing to play on (shown without hovering too).
NO_DEVICE_MESSAGE = "No audio output device was found; playback is off. Everything else works."
NO_PORTAUDIO_MESSAGE = ("The PortAudio library was not found (install libportaudio2); playback is off. "
                        "Everything else works.")
PORTAUDIO_FAILED_MESSAGE = "The audio system (PortAudio) could not start; playback is off. Everything else works."

_availability: tuple[bool, str] | None = None


def playback_availability() -> tuple[bool, str]:
    """``(True, "")`` when sounddevice can open an output, else ``(False, reason)``.

    ``reason`` is one sentence for people; PortAudio's own text goes to the log.  The
    answer is worked out once per process (PortAudio is initialised once, by the
    import of sounddevice, and never terminated and re-initialised here).
    """
    global _availability
    if _availability is None:
        _availability = _query_availability()
    return _availability


def _query_availability() -> tuple[bool, str]:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        log.info("playback off: %s", exc)
        return False, NO_PORTAUDIO_MESSAGE
    except Exception as exc:  # noqa: BLE001 - PortAudio failed to initialise
        log.info("playback off: PortAudio could not start: %s", exc)
        return False, PORTAUDIO_FAILED_MESSAGE
    try:
        sd.query_devices(kind="output")
    except Exception as exc:  # noqa: BLE001 - e.g. "Error querying device -1": no default output
        log.info("playback off: no output device (%s)", exc)
        return False, NO_DEVICE_MESSAGE
    return True, ""


#: Output streams open right now (the tests check that none outlives its test).
_open_streams: set = set()


#: Rates offered and checked for an output device.
COMMON_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)


def output_devices() -> list[tuple[int, str, int]]:
    """The output devices sounddevice lists: ``(index, name, default rate)``; [] without PortAudio."""
    try:
        import sounddevice as sd

        devices = sd.query_devices()
    except Exception:  # noqa: BLE001 - no PortAudio, no devices
        return []
    return [(i, str(d["name"]), int(d["default_samplerate"])) for i, d in enumerate(devices)
            if int(d.get("max_output_channels", 0)) > 0]


def rate_supported(device: int | None, rate: int) -> bool:
    """Whether ``device`` (None: the default output) accepts mono float32 at ``rate`` Hz."""
    try:
        import sounddevice as sd

        sd.check_output_settings(device=device, samplerate=int(rate), channels=1, dtype="float32")
    except Exception:  # noqa: BLE001 - "Invalid sample rate", no such device, ...
        return False
    return True


def supported_rates(device: int | None) -> list[int]:
    """The :data:`COMMON_RATES` ``device`` accepts."""
    return [r for r in COMMON_RATES if rate_supported(device, r)]


def device_default_rate(device: int | None) -> int:
    try:
        import sounddevice as sd

        return int(sd.query_devices(device if device is not None else sd.default.device[1])["default_samplerate"])
    except Exception:  # noqa: BLE001
        return 48000


def open_stream_count() -> int:
    return len(_open_streams)


class Player(QObject):
    """Plays one :class:`AudioBuffer` at a time.

    Signals: ``stateChanged(str)``, ``positionChanged(float seconds)``,
    ``failed(str)`` (a one-line reason; the player is stopped by then).
    """

    stateChanged = Signal(str)
    positionChanged = Signal(float)
    failed = Signal(str)

    POLL_MS = 33

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = STOPPED
        self.tag = ""  # what is playing ("input" or "generated"), for the window
        self._stream: sounddevice.OutputStream | None = None
        self._buffer: AudioBuffer | None = None
        self._pos = 0
        self._drained = False
        self._status_error = ""
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._available: tuple[bool, str] | None = None
        self.device: int | None = None
        self.source: AudioBuffer | None = None
        """The buffer :meth:`play` was given (what plays may be a resampled copy of it)."""
        """The output device's index (None: the system's default output)."""
        self.note = ""
        """What the last :meth:`play` changed ("resampled 8000 Hz -> 48000 Hz for ..."), or ""."""

    # -- availability -------------------------------------------------
    @property
    def buffer(self) -> AudioBuffer | None:
        """The buffer playing (None when stopped)."""
        return self._buffer

    def availability(self) -> tuple[bool, str]:
        if self._available is None:
            self._available = playback_availability()
        return self._available

    # -- the PortAudio callback (audio thread: copies only) --------------
    def _callback(self, outdata, frames, time_info, status) -> None:  # noqa: ARG002
        buf = self._buffer
        pos = self._pos
        if buf is None:
            outdata.fill(0)
            return
        length = buf.length  # read length before data (see AudioBuffer)
        data = buf.data
        n = min(frames, max(length - pos, 0))
        if n:
            outdata[:n, 0] = data[pos:pos + n]
        if n < frames:
            outdata[n:].fill(0)
            if buf.complete and pos + n >= buf.length:
                self._drained = True
        self._pos = pos + n

    # -- control (UI thread) --------------------------------------------
    def play(self, buffer: AudioBuffer, *, tag: str = "", start_s: float = 0.0) -> bool:
        """Start playing ``buffer``; returns False (and emits ``failed``) on error."""
        if self.state != STOPPED:
            self.stop()
        ok, reason = self.availability()
        if not ok:
            self.failed.emit(reason)
            return False
        import sounddevice as sd

        self.note = ""
        self.source = buffer
        if not rate_supported(self.device, buffer.sample_rate):
            # The device cannot play this rate: play a resampled copy (of the audio made so far).
            if not buffer.complete:
                self.failed.emit(f"The output device cannot play {buffer.sample_rate} Hz; press Play again when "
                                 "generation ends (it is then resampled for the device)")
                return False
            target = device_default_rate(self.device)
            if not rate_supported(self.device, target):
                ok_rates = supported_rates(self.device)
                if not ok_rates:
                    self.failed.emit(f"The output device plays none of the usual sample rates "
                                     f"({buffer.sample_rate} Hz asked): choose another in Preferences")
                    return False
                target = ok_rates[-1]
            import soxr

            resampled = soxr.resample(buffer.view(), buffer.sample_rate, target, quality="HQ")
            self.note = f"resampled {buffer.sample_rate} Hz -> {target} Hz for the output device"
            buffer = AudioBuffer.from_array(resampled, target)
        self._buffer = buffer
        self._pos = max(0, min(int(start_s * buffer.sample_rate), buffer.length))
        self._drained = False
        self.tag = tag
        try:
            self._stream = sd.OutputStream(samplerate=buffer.sample_rate, channels=1, dtype="float32",
                                           device=self.device, callback=self._callback)
            _open_streams.add(self._stream)
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - device refused the format, vanished, ...
            self._close_stream(abort=True)
            self._buffer = None
            self.failed.emit(f"Could not play: {exc}")
            return False
        self._set_state(PLAYING)
        self._timer.start()
        return True

    @Slot()
    def stop(self) -> None:
        """Stop now (from the UI thread)."""
        if self.state == STOPPED:
            return
        self._set_state(STOPPING)
        self._timer.stop()
        self._close_stream(abort=True)
        self._buffer = None
        self._set_state(STOPPED)

    @property
    def position(self) -> float:
        """Seconds heard so far: samples handed to the device less its output latency."""
        buf = self._buffer
        if buf is None:
            return 0.0
        latency = 0.0
        if not self._drained and self._stream is not None:
            try:
                latency = float(self._stream.latency)
            except Exception:  # noqa: BLE001
                latency = 0.0
        return max(0.0, self._pos / buf.sample_rate - latency)

    # -- internals -------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def _close_stream(self, *, abort: bool) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            if abort:
                stream.abort()
            else:
                stream.stop()
        except Exception:  # noqa: BLE001
            log.debug("stopping the stream failed", exc_info=True)
        try:
            stream.close()
        except Exception:  # noqa: BLE001
            log.debug("closing the stream failed", exc_info=True)
        _open_streams.discard(stream)

    @Slot()
    def _poll(self) -> None:
        if self.state != PLAYING:
            return
        self.positionChanged.emit(self.position)
        stream = self._stream
        if self._drained:
            self._set_state(STOPPING)
            self._timer.stop()
            self._close_stream(abort=False)
            self._buffer = None
            self._set_state(STOPPED)
            return
        if stream is not None and not stream.active:
            self.stop()
            self.failed.emit("Playback stopped: the audio device stopped responding.")

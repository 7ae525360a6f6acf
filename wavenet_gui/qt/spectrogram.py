"""A mel spectrogram of the input and of the generated audio (pyqtgraph ImageItem).

The short-time Fourier transform is numpy's, on Hann-windowed frames; the power
spectrum is summed into mel bands and shown in decibels (0 dB: a full-scale sine)
with a frequency axis labelled in Hz at mel spacing.  It is computed
incrementally: a growing buffer (audio being generated) costs only the frames it
gained since the last refresh, and the hop grows with the audio's (expected)
length so that a clip of any length has at most :data:`MAX_FRAMES` columns; the
window redraws it from its refresh timer, so the UI thread never does more than
a bounded amount of work at a time.

Examples
--------
>>> import numpy as np
>>> spec = MelSpectrogram(8000)
>>> spec.update(np.sin(2 * np.pi * 440 * np.arange(8000) / 8000))  # frames added
122
>>> spec.image().shape[1] == spec.n_mels
True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from .plots import AudioViews, set_title

#: Columns (frames) at most per spectrogram: long audio gets a longer hop.
MAX_FRAMES = 2000
#: Columns computed per refresh at most (a long input is drawn over a few timer ticks).
FRAMES_PER_REFRESH = 250
#: Mel bands (rows).
N_MELS = 80
#: The decibel range shown (0 dB: a full-scale sine).
DB_RANGE = (-90.0, 0.0)


def hz_to_mel(f):
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular mel filters, shape ``(n_fft // 2 + 1, n_mels)``, each summing the power it covers."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    f = freqs[:, None]
    up = (f - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - f) / np.maximum(hi - mid, 1e-9)
    bank = np.maximum(0.0, np.minimum(up, down))
    # bands narrower than a bin would be empty: give them their nearest bin
    empty = bank.sum(axis=0) == 0
    if empty.any():
        nearest = np.abs(freqs[:, None] - mid[None, empty]).argmin(axis=0)
        bank[nearest, np.flatnonzero(empty)] = 1.0
    return bank.astype(np.float32)


def fft_size(sample_rate: int) -> int:
    """About 32 ms: 256 at 8 kHz, 512 at 16 kHz, 1024 at 44.1 kHz."""
    return int(2 ** round(np.log2(max(64, sample_rate * 0.032))))


class MelSpectrogram:
    """The mel spectrogram of one (possibly growing) signal, computed a frame at a time.

    Parameters
    ----------
    sample_rate : int
        Of the audio.
    expected_samples : int, keyword-only
        How long the audio will get (0: as long as the first :meth:`update`); sets the hop.
    """

    def __init__(self, sample_rate: int, *, expected_samples: int = 0, n_mels: int = N_MELS) -> None:
        self.sample_rate = int(sample_rate)
        self.n_fft = fft_size(self.sample_rate)
        self.n_mels = int(n_mels)
        self.expected = int(expected_samples)
        self.hop: int | None = None
        bank = mel_filterbank(self.sample_rate, self.n_fft, self.n_mels)
        # Each band as (first bin, weights): summed with plain ufuncs, not a BLAS product, whose
        # threads fight the generator's for the cores (measured: a 0.9 s stall of the UI thread).
        self._bands = []
        for m in range(self.n_mels):
            nz = np.flatnonzero(bank[:, m])
            self._bands.append((int(nz[0]), bank[nz[0]:nz[-1] + 1, m].copy()))
        self._window = np.hanning(self.n_fft).astype(np.float32)
        self._scale = float((self._window.sum() / 2) ** 2)  # a full-scale sine's peak power: 0 dB
        self._cols = np.full((0, self.n_mels), DB_RANGE[0], np.float32)
        self.n_frames = 0

    def _choose_hop(self, n: int) -> int:
        longest = max(n, self.expected)
        return max(self.n_fft // 4, int(np.ceil(longest / MAX_FRAMES)))

    def update(self, samples: np.ndarray, *, max_frames: int | None = None) -> int:
        """Add the frames ``samples`` (the whole signal so far) completes, at most ``max_frames`` of
        them (the rest next time); returns how many were added."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self.hop is None:
            if len(x) == 0:
                return 0
            self.hop = self._choose_hop(len(x))
        hop, n_fft = self.hop, self.n_fft
        available = 0 if len(x) < n_fft else (len(x) - n_fft) // hop + 1
        new = available - self.n_frames
        if max_frames is not None:
            new = min(new, int(max_frames))
        if new <= 0:
            return 0
        start = self.n_frames * hop
        chunk = x[start:start + (new - 1) * hop + n_fft]
        frames = np.lib.stride_tricks.sliding_window_view(chunk, n_fft)[::hop][:new]
        spectrum = np.fft.rfft(frames * self._window, axis=1)
        power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
        mel = np.empty((new, self.n_mels), np.float32)
        for m, (first, weights) in enumerate(self._bands):
            mel[:, m] = (power[:, first:first + len(weights)] * weights).sum(axis=1)
        mel /= self._scale
        db = np.clip(10.0 * np.log10(np.maximum(mel, 1e-12)), DB_RANGE[0] - 10, DB_RANGE[1] + 10)
        if self.n_frames + new > len(self._cols):
            grown = np.full((max(2 * len(self._cols), self.n_frames + new, 64), self.n_mels), DB_RANGE[0], np.float32)
            grown[:self.n_frames] = self._cols[:self.n_frames]
            self._cols = grown
        self._cols[self.n_frames:self.n_frames + new] = db
        self.n_frames += new
        return new

    def image(self) -> np.ndarray:
        """``(frames, mels)`` in dB (a view: copy it to keep it)."""
        return self._cols[:self.n_frames]

    @property
    def seconds(self) -> float:
        """Time covered by the frames so far (frame starts)."""
        return 0.0 if self.hop is None else self.n_frames * self.hop / self.sample_rate

    def mel_ticks(self, levels: tuple[tuple[int, ...], ...] = ((500, 1000, 2000, 4000, 8000, 16000),
                                                                (100, 200))) -> list[list[tuple[float, str]]]:
        """Axis ticks, major then minor: positions in mel rows, labelled in Hz."""
        top = hz_to_mel(self.sample_rate / 2)
        out = []
        for level in levels:
            ticks = []
            for hz in level:
                if hz < self.sample_rate / 2:
                    row = float(hz_to_mel(hz) / top * self.n_mels)
                    ticks.append((row, f"{hz // 1000}k" if hz >= 1000 else str(hz)))
            out.append(ticks)
        return out


class SpectrogramPlot(AudioViews, pg.GraphicsLayoutWidget):
    """Two stacked mel spectrograms: the selected input and the generated audio (the waveform
    view's partner, with the same :meth:`set_audio` / :meth:`mark_dirty` / :meth:`set_playhead`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spectrogramPlot")
        self.plots = {"input": self.addPlot(row=0, col=0, title="Input"),
                      "generated": self.addPlot(row=1, col=0, title="Generated")}
        self.images: dict[str, pg.ImageItem] = {}
        self.playheads: dict[str, pg.InfiniteLine] = {}
        cmap = pg.colormap.get("viridis")
        for key, plot in self.plots.items():
            if key == "generated":  # one time axis label for both: the input's height goes to its image
                plot.setLabel("bottom", "time", units="s")
            plot.setLabel("left", "Hz")
            set_title(plot)
            plot.setMouseEnabled(x=True, y=False)
            image = pg.ImageItem(axisOrder="col-major")
            image.setLookupTable(cmap.getLookupTable(nPts=256))
            image.setLevels(DB_RANGE)
            plot.addItem(image)
            self.images[key] = image
            line = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((230, 40, 40), width=2), movable=False)
            line.setZValue(10)
            line.hide()
            plot.addItem(line)
            self.playheads[key] = line
        self._data: dict[str, tuple[object, int] | None] = {"input": None, "generated": None}
        self._spec: dict[str, MelSpectrogram | None] = {"input": None, "generated": None}
        self._expected: dict[str, float] = {"input": 0.0, "generated": 0.0}
        self._dirty = {"input": False, "generated": False}
        #: The sample rate an empty plot's frequency axis shows (the window gives the model's or the settings').
        self.rate_hint: Callable[[], int] = lambda: 8000
        self._empty: dict[str, tuple[int, float] | None] = {"input": None, "generated": None}
        self._show_empty_ranges()

    def _show_empty_ranges(self) -> None:
        """Give each plot without audio a sensible empty range: 0 to the Nyquist frequency of
        :attr:`rate_hint` (in mel rows, labelled in Hz) by 0 to 1 s, or to the input's duration
        for the generated plot (pyqtgraph's default, -400..400, means nothing here)."""
        try:
            rate = int(self.rate_hint())
        except Exception:  # noqa: BLE001 - a hint that cannot be read: the default rate
            rate = 8000
        rate = rate if rate > 0 else 8000
        y_in = self._samples("input")
        input_seconds = len(y_in) / self._rate("input") if y_in is not None and len(y_in) else 0.0
        for key, plot in self.plots.items():
            y = self._samples(key)
            if y is not None and len(y):
                self._empty[key] = None
                continue
            span = max(1.0, input_seconds) if key == "generated" else 1.0
            if self._empty[key] == (rate, span):
                continue
            self._empty[key] = (rate, span)
            plot.getAxis("left").setTicks(MelSpectrogram(rate, n_mels=N_MELS).mel_ticks())
            plot.setYRange(0, N_MELS, padding=0)
            plot.setXRange(0, span, padding=0.01)

    # -- the waveform view's interface -----------------------------------
    def set_audio(self, key: str, samples, sample_rate: int = 1, *, title: str | None = None,
                  expected_seconds: float = 0.0) -> None:
        """Show ``samples`` (an array, or a growing buffer with ``view()``); None: nothing."""
        old = self._data[key]
        same = old is not None and samples is not None and old[0] is samples and old[1] == int(sample_rate)
        self._data[key] = None if samples is None else (samples, int(sample_rate))
        if not same or float(expected_seconds) > self._expected[key]:
            self._spec[key] = None  # another signal, or a longer one expected (a longer hop): start over
        self._expected[key] = float(expected_seconds)
        self._dirty[key] = True
        if title is not None:
            set_title(self.plots[key], title)

    def n_frames(self, key: str) -> int:
        """Columns shown for ``key`` (as of the last :meth:`refresh`)."""
        spec = self._spec[key]
        return 0 if spec is None else spec.n_frames

    def spectrogram(self, key: str) -> MelSpectrogram | None:
        return self._spec[key]

    def refresh(self) -> None:
        """Add the frames new audio completed and redraw (what the window's timer calls)."""
        for key, dirty in self._dirty.items():
            if not dirty:
                continue
            self._dirty[key] = False
            plot, image = self.plots[key], self.images[key]
            y = self._samples(key)
            if y is None or len(y) == 0:
                self._spec[key] = None
                image.clear()
                self._empty[key] = None  # set its empty range below
                continue
            sr = self._rate(key)
            spec = self._spec[key]
            if spec is None:
                spec = self._spec[key] = MelSpectrogram(sr, expected_samples=int(self._expected[key] * sr))
                ax = plot.getAxis("left")
                ax.setTicks(spec.mel_ticks())
                plot.setYRange(0, spec.n_mels, padding=0)
            added = spec.update(y, max_frames=FRAMES_PER_REFRESH)
            if added == FRAMES_PER_REFRESH:
                self._dirty[key] = True  # more to do: on the next tick (the UI thread stays free)
            if added == 0 and image.image is not None:
                continue
            cols = spec.image()
            if len(cols) == 0:
                image.clear()
                continue
            image.setImage(cols, autoLevels=False, levels=DB_RANGE)
            # (the hop is set once there are frames)
            image.setRect(QRectF(0.0, 0.0, spec.n_frames * (spec.hop or 0) / sr, float(spec.n_mels)))
            span = max(len(y) / sr, self._expected[key], 1e-3)
            plot.setXRange(0, span, padding=0.01)
        self._show_empty_ranges()  # (cheap when nothing changed: the rate and span are remembered)

    def export_png(self, path: str | Path) -> Path:
        from .plots import export_item_png

        self.refresh()
        return export_item_png(self.ci, path)

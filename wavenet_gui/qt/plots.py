"""pyqtgraph plots: the loss curve and the input / generated waveforms.

Both take data through plain setters and redraw only when the window's
refresh timer calls :meth:`refresh` (10-20 Hz), never once per signal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from wavenet_gui.core.audio import Envelope, display_envelope

# Antialiasing is costly with many points and painted in the UI thread: only the smoothed loss uses it.
pg.setConfigOptions(antialias=False, background="w", foreground="k")

RAW_PEN = pg.mkPen((120, 160, 220), width=1)
SMOOTH_PEN = pg.mkPen((20, 70, 170), width=2.5)
VAL_PEN = pg.mkPen((220, 110, 20), width=2)
INPUT_PEN = pg.mkPen((90, 90, 90), width=1)
GEN_PEN = pg.mkPen((20, 70, 170), width=1)
PLAYHEAD_PEN = pg.mkPen((200, 30, 30), width=2)


class LossHistory(Protocol):
    """What :class:`LossPlot` reads (a :class:`~wavenet_gui.core.trainstate.TrainingState`)."""

    iteration: int
    losses: list[float]
    val_losses: list[tuple[int, float]]


def export_item_png(item, path: str | Path, *, width: int = 1600) -> Path:
    """Write ``item`` (a PlotItem, layout or scene) to a PNG with pyqtgraph's ImageExporter."""
    from pyqtgraph.exporters import ImageExporter

    path = Path(path)
    exporter = ImageExporter(item)
    exporter.parameters()["width"] = width
    exporter.export(str(path))
    return path


def export_widget_svg(widget, path: str | Path) -> Path:
    """Draw ``widget`` (a plot) into an SVG file with Qt's SVG generator: lines and text stay vectors.

    (pyqtgraph's own SVGExporter cannot parse the path data Qt 6.11 writes.)
    """
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    path = Path(path)
    size = widget.size()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(widget.objectName() or "plot")
    generator.setDescription("WaveNet GUI plot")
    painter = QPainter(generator)
    try:
        widget.render(painter)
    finally:
        painter.end()
    if not path.exists() or path.stat().st_size == 0:
        raise OSError(f"{path.name}: the SVG could not be written")
    return path


class LossPlot(pg.PlotWidget):
    """Training loss per iteration: raw, smoothed (running mean) and validation.

    A view of a training history (the session's :class:`~wavenet_gui.core.training.TrainingState`,
    or anything with ``iteration``, ``losses`` and ``val_losses``): :meth:`refresh` reads the
    points added since it last looked, so the history lives in one place.
    """

    #: Iterations averaged by the smoothed curve (the Trainer's mean loss uses as many).
    WINDOW = 20
    #: Most losses read from the history per refresh (a 1 M history takes 20 refreshes, about a second).
    PULL_CHUNK = 50_000
    #: Losses per block whose min and max are kept (drawing a long history reads those).
    BLOCK = 64

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        item = self.getPlotItem()
        set_title(item, "Training loss")
        item.setLabel("bottom", "iteration")
        item.setLabel("left", "loss (cross-entropy)")
        item.showGrid(x=True, y=True, alpha=0.15)
        self.legend = item.addLegend(offset=(-10, 10))
        self.raw_curve = item.plot([], [], pen=RAW_PEN, name="loss")
        self.smooth_curve = item.plot([], [], pen=SMOOTH_PEN, name="smoothed", antialias=True)
        # No name: it joins the legend only while there is validation data (Validation share > 0).
        self.val_curve = item.plot([], [], pen=VAL_PEN, symbol="o", symbolSize=6, symbolBrush=(220, 110, 20))
        self._val_in_legend = False
        # The curves get at most a few points per pixel (:meth:`curve_data`): pyqtgraph's own
        # downsampling would still copy the whole history at every redraw.
        item.getViewBox().sigXRangeChanged.connect(self._on_view_changed)
        item.getViewBox().sigResized.connect(self._on_view_changed)
        self.log_scale = False
        self._source: LossHistory | None = None
        self._reset()

    # -- data ----------------------------------------------------------
    @property
    def source(self):
        """The history shown (None: nothing)."""
        return self._source

    def set_source(self, history: LossHistory | None) -> None:
        """Show ``history`` (None: nothing)."""
        self._source = history
        self._reset()
        self.refresh()

    def _reset(self) -> None:
        src = self._source
        self._base = max(0, int(src.iteration) - len(src.losses)) if src is not None else 0
        self._n = 0
        cap = max(1024, len(src.losses) if src is not None else 0)  # a loaded history: room for all of it
        self._y = np.zeros(cap, np.float64)  # losses (capacity doubles as training adds more)
        self._cs = np.zeros(cap + 1, np.float64)  # cumulative sums, with a leading 0
        self._bmin = np.zeros(cap // self.BLOCK + 1, np.float64)  # min / max of each complete block
        self._bmax = np.zeros(cap // self.BLOCK + 1, np.float64)
        self._n_val = -1
        self._dirty = True

    @property
    def n_points(self) -> int:
        """Points on the loss curve (as of the last :meth:`refresh`)."""
        return self._n

    @property
    def pending(self) -> int:
        """Losses of the history not read yet (a long one is read over several refreshes)."""
        src = self._source
        return max(0, len(src.losses) - self._n) if src is not None else 0

    @property
    def val_losses(self) -> list[tuple[int, float]]:
        return list(self._source.val_losses) if self._source is not None else []

    def set_log_scale(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.getPlotItem().setLogMode(x=False, y=self.log_scale)
        self._dirty = True
        self.refresh()

    def _on_view_changed(self, *_: object) -> None:
        self._dirty = True  # the next refresh draws the newly visible range at full detail

    def _pull(self) -> None:
        """Read new losses from the source: at most :attr:`PULL_CHUNK` per call, so a history of
        millions (a loaded model) is read over a few refreshes and no refresh blocks the window."""
        src = self._source
        losses = src.losses if src is not None else []
        n = len(losses)
        if n < self._n:  # another history (a new or loaded model)
            self._reset()
        if n > self._n:
            stop = min(n, self._n + self.PULL_CHUNK)
            new = np.asarray(losses[self._n:stop], dtype=np.float64)
            if stop > len(self._y):
                cap = max(stop, 2 * len(self._y))
                y, cs = np.zeros(cap, np.float64), np.zeros(cap + 1, np.float64)
                y[:self._n], cs[:self._n + 1] = self._y[:self._n], self._cs[:self._n + 1]
                self._y, self._cs = y, cs
            self._y[self._n:stop] = new
            self._cs[self._n + 1:stop + 1] = self._cs[self._n] + np.cumsum(new)
            b0, b1 = self._n // self.BLOCK, stop // self.BLOCK
            if b1 > b0:
                if b1 > len(self._bmin):
                    self._bmin = np.concatenate([self._bmin, np.zeros(b1, np.float64)])
                    self._bmax = np.concatenate([self._bmax, np.zeros(b1, np.float64)])
                blocks = self._y[b0 * self.BLOCK:b1 * self.BLOCK].reshape(b1 - b0, self.BLOCK)
                self._bmin[b0:b1], self._bmax[b0:b1] = blocks.min(axis=1), blocks.max(axis=1)
            self._n = stop
            self._dirty = True
        n_val = len(src.val_losses) if src is not None else 0
        if n_val != self._n_val:
            self._n_val = n_val
            self._dirty = True

    def _visible(self) -> tuple[int, int]:
        """The index range worth drawing: all of it, or the zoomed-in x range with a view's margin."""
        n = self._n
        vb = self.getPlotItem().getViewBox()
        if n == 0 or vb.autoRangeEnabled()[0]:
            return 0, n
        x0, x1 = vb.viewRange()[0]
        span = max(x1 - x0, 1.0)
        lo = int(np.clip(np.floor(x0 - span - self._base - 1), 0, n))
        hi = int(np.clip(np.ceil(x1 + span - self._base), 0, n))
        return (lo, hi) if hi > lo else (0, n)

    def curve_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x, raw, x_smooth, smooth)`` as drawn: every point when they are few, else per pixel
        bucket the minimum and maximum of the raw loss and the mean of the bucket (at least
        :attr:`WINDOW` iterations, as the running mean).

        At most ``4 * buckets`` points whatever the history's length (a loaded model can carry
        millions), so painting stays cheap; the spikes survive (min/max), the trend is exact.
        """
        lo, hi = self._visible()
        m = hi - lo
        buckets = max(200, int(self.getPlotItem().getViewBox().width()) or 800)
        if m <= 2 * buckets:
            i_end = np.arange(lo + 1, hi + 1)  # 1-based: the running mean ends at each point
            x = self._base + i_end.astype(np.float64)
            raw = self._y[lo:hi].copy()
            xs, ends = x, i_end
        else:
            B = self.BLOCK
            b0, b1 = -(-lo // B), hi // B
            if m >= 4 * B * buckets and b1 - b0 >= buckets:
                # from the blocks' extremes (kept as losses arrive): cost ~ history / BLOCK
                edges = (b0 + (np.arange(buckets + 1) * (b1 - b0)) // buckets) * B
                mins = np.minimum.reduceat(self._bmin[b0:b1], edges[:-1] // B - b0)
                maxs = np.maximum.reduceat(self._bmax[b0:b1], edges[:-1] // B - b0)
                if lo < edges[0]:  # the part-blocks at either end join the first / last bucket
                    mins[0] = min(mins[0], self._y[lo:edges[0]].min())
                    maxs[0] = max(maxs[0], self._y[lo:edges[0]].max())
                if edges[-1] < hi:
                    mins[-1] = min(mins[-1], self._y[edges[-1]:hi].min())
                    maxs[-1] = max(maxs[-1], self._y[edges[-1]:hi].max())
                edges[0], edges[-1] = lo, hi
            else:
                edges = lo + (np.arange(buckets + 1) * m) // buckets
                mins = np.minimum.reduceat(self._y[lo:hi], edges[:-1] - lo)
                maxs = np.maximum.reduceat(self._y[lo:hi], edges[:-1] - lo)
            starts = edges[:-1]
            seg = self._y[lo:hi]
            # per bucket: its extreme values at its first and last iteration, in time order
            x = self._base + np.repeat(starts + 1, 2).astype(np.float64)
            x[1::2] = self._base + edges[1:]
            first_min = np.argmin(np.stack([np.abs(seg[starts - lo] - mins), np.abs(seg[starts - lo] - maxs)]),
                                  axis=0) == 0
            raw = np.empty(2 * buckets, np.float64)
            raw[0::2] = np.where(first_min, mins, maxs)
            raw[1::2] = np.where(first_min, maxs, mins)
            ends = edges[1:]
            xs = self._base + ends.astype(np.float64)
        # the running mean of WINDOW iterations; per bucket, of the bucket when that is longer
        width = max(self.WINDOW, -(-m // buckets)) if m > 2 * buckets else self.WINDOW
        start = np.maximum(ends - width, 0)
        smooth = (self._cs[ends] - self._cs[start]) / (ends - start) if len(ends) else np.zeros(0)
        return x, raw, xs, smooth

    def refresh(self) -> None:
        self._pull()
        if not self._dirty:
            return
        self._dirty = False
        if self.pending:
            self._dirty = True  # more to read: the next refresh goes on
        x, y, xs, smooth = self.curve_data()
        if self.log_scale:  # log of non-positive values is undefined: clip
            y = np.maximum(y, 1e-6)
            smooth = np.maximum(smooth, 1e-6)
        self.raw_curve.setData(x, y)
        # antialiasing a thick line costs ~10 ms per 100 points: only while every point is drawn
        self.smooth_curve.setData(xs, smooth, antialias=len(xs) == len(x))
        vals = self.val_losses
        self.val_curve.setData(np.asarray([v[0] for v in vals], np.float64),
                               np.asarray([v[1] for v in vals], np.float64))
        has_val = bool(vals)
        if has_val != self._val_in_legend:
            if has_val:
                self.legend.addItem(self.val_curve, "validation")
            else:
                self.legend.removeItem(self.val_curve)
            self._val_in_legend = has_val

    def legend_names(self) -> list[str]:
        """The names the legend shows, in order."""
        return [label.text for _sample, label in self.legend.items]

    def export_png(self, path: str | Path) -> Path:
        self.refresh()
        return export_item_png(self.getPlotItem(), path)


class AudioViews:
    """What the waveform and spectrogram views share: per-view dirty flags (``_dirty``), data
    (``_data[key] = (samples or AudioBuffer, ...)``) and playhead lines (``playheads``)."""

    # Set by each view's __init__.
    _dirty: dict[str, bool]
    _data: dict[str, tuple[Any, int] | None]
    playheads: dict[str, pg.InfiniteLine]

    def mark_dirty(self, key: str) -> None:
        self._dirty[key] = True

    def set_playhead(self, key: str | None, seconds: float = 0.0) -> None:
        for k, line in self.playheads.items():
            if k == key:
                line.setValue(seconds)
                line.show()
            else:
                line.hide()

    def _rate(self, key: str) -> int:
        """The sample rate of view ``key``'s audio (called only for a view that has audio)."""
        d = self._data[key]
        if d is None:
            raise ValueError(f"the {key} view has no audio")
        return d[1]

    def _samples(self, key: str) -> np.ndarray | None:
        d = self._data[key]
        if d is None:
            return None
        src = d[0]
        return src.view() if hasattr(src, "view") and not isinstance(src, np.ndarray) else src


#: Plot titles in the application's text size, not pyqtgraph's 11 pt (every line counts in a
#: short window: 1600x1000 at 200 % leaves 500 px for the whole window).
TITLE_SIZE = "9pt"


def set_title(plot: pg.PlotItem, text: str | None = None) -> None:
    """Set ``plot``'s title (default: the one it has) in :data:`TITLE_SIZE`.

    (pyqtgraph fixes the title's row at 30 px; fitting it to the text made the window crash at
    interpreter teardown when it was not deleted first: tests/test_qt_window_musician.py's
    screen-fit script.)"""
    plot.setTitle(plot.titleLabel.text if text is None else text, size=TITLE_SIZE)


class WaveformPlot(AudioViews, pg.GraphicsLayoutWidget):
    """Two stacked plots: the selected input file and the generated audio, each with a playhead.

    Long audio (an hour generated, a long input file) is drawn as a min/max envelope of about
    :attr:`BUCKETS` buckets, kept up to date with only the samples added since the last
    refresh; a zoomed-in view is drawn in detail from the samples it shows.
    """

    #: Buckets of the envelope of a whole signal.
    BUCKETS = 4096

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waveformPlot")
        self.input_plot = self.addPlot(row=0, col=0, title="Input")
        self.generated_plot = self.addPlot(row=1, col=0, title="Generated")
        self.curves = {}
        self.playheads = {}
        for key, plot, pen in (("input", self.input_plot, INPUT_PEN), ("generated", self.generated_plot, GEN_PEN)):
            if key == "generated":  # one time axis label for both (as the spectrograms): height for the input
                plot.setLabel("bottom", "time", units="s")
            set_title(plot)
            plot.setYRange(-1, 1, padding=0.05)
            plot.setMouseEnabled(x=True, y=False)
            plot.showGrid(x=True, y=False, alpha=0.2)
            curve = plot.plot([], [], pen=pen)  # fed a few points per pixel (curve_data)
            plot.getViewBox().sigXRangeChanged.connect(lambda *_, k=key: self._on_view_changed(k))
            self.curves[key] = curve
            line = pg.InfiniteLine(pos=0, angle=90, pen=PLAYHEAD_PEN, movable=False)
            line.setZValue(10)
            line.hide()
            plot.addItem(line)
            self.playheads[key] = line
        self._data: dict[str, tuple[np.ndarray, int] | None] = {"input": None, "generated": None}
        self._dirty = {"input": False, "generated": False}
        self._expected: dict[str, float] = {"input": 0.0, "generated": 0.0}
        self._view_dirty = {"input": False, "generated": False}
        self._connect = {"input": "all", "generated": "all"}
        self._env: dict[str, dict | None] = {"input": None, "generated": None}
        self._setting_range = False

    def set_audio(self, key: str, samples: np.ndarray | None, sample_rate: int = 1, *,
                  title: str | None = None, expected_seconds: float = 0.0) -> None:
        """Show ``samples``: an array, or an object with ``view()`` (a growing buffer,
        re-read on every refresh)."""
        old = self._data[key]
        if old is None or samples is None or old[0] is not samples or old[1] != int(sample_rate):
            self._env[key] = None  # another signal (the same growing buffer keeps its envelope)
        self._data[key] = None if samples is None else (samples, int(sample_rate))
        self._expected[key] = float(expected_seconds)
        self._dirty[key] = True
        if title is not None:
            set_title(self.input_plot if key == "input" else self.generated_plot, title)

    def n_samples(self, key: str) -> int:
        y = self._samples(key)
        return 0 if y is None else len(y)

    def _on_view_changed(self, key: str) -> None:
        if not self._setting_range:
            self._view_dirty[key] = True  # zoomed or panned: redraw the visible part in detail

    def _envelope(self, key: str, y: np.ndarray) -> Envelope:
        """The min/max envelope of all of ``y`` in about :attr:`BUCKETS` buckets, extended with
        only the samples added since the last call (a growing buffer costs its new samples)."""
        sr = self._rate(key)
        env = self._env[key]
        n = len(y)
        if env is None or n < env["done"]:
            total = max(n, int(round(self._expected[key] * sr)))
            env = self._env[key] = {"bucket": max(1, -(-total // self.BUCKETS)), "done": 0,
                                    "lo": np.zeros(0, np.float32), "hi": np.zeros(0, np.float32)}
        b, done = env["bucket"], env["done"]
        full = (n - done) // b
        if full:
            body = y[done:done + full * b].reshape(full, b)
            env["lo"] = np.concatenate([env["lo"], body.min(axis=1).astype(np.float32)])
            env["hi"] = np.concatenate([env["hi"], body.max(axis=1).astype(np.float32)])
            env["done"] = done = done + full * b
        lo, hi = env["lo"], env["hi"]
        if done < n:  # the bucket still filling
            tail = y[done:n]
            lo = np.append(lo, np.float32(tail.min()))
            hi = np.append(hi, np.float32(tail.max()))
        return Envelope(np.arange(len(lo), dtype=np.int64) * b, lo, hi, b)

    def curve_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds, values)`` as drawn: the samples when they are few, else a min/max line per
        pixel (of the whole signal, or of the zoomed-in range), never a copy of hours of audio."""
        y = self._samples(key)
        if y is None or len(y) == 0:
            return np.zeros(0), np.zeros(0, np.float32)
        sr = self._rate(key)
        plot = self.input_plot if key == "input" else self.generated_plot
        width = max(200, int(plot.getViewBox().width()) or 800)
        n = len(y)
        self._connect[key] = "all"
        if n <= 4 * width:
            return np.arange(n, dtype=np.float64) / sr, np.array(y, dtype=np.float32)
        self._connect[key] = "pairs"  # a vertical line per bucket, from its minimum to its maximum
        env = _coarsen(self._envelope(key, y), width)
        x0, x1 = plot.getViewBox().viewRange()[0]
        i0, i1 = int(np.clip(x0 * sr, 0, n)), int(np.clip(np.ceil(x1 * sr), 0, n))
        if i1 - i0 < env.bucket * width // 2:  # zoomed in past the cached resolution
            margin = max(i1 - i0, 1)
            lo, hi = max(0, i0 - margin), min(n, i1 + margin)
            if hi - lo <= 4 * width:
                self._connect[key] = "all"
                return np.arange(lo, hi, dtype=np.float64) / sr, np.array(y[lo:hi], dtype=np.float32)
            env = display_envelope(y, n_buckets=3 * width, start=lo, stop=hi)
        return env.as_line(sr)


    def refresh(self) -> None:
        for key in self._dirty:
            dirty, view = self._dirty[key], self._view_dirty[key]
            if not (dirty or view):
                continue
            self._dirty[key] = self._view_dirty[key] = False
            plot = self.input_plot if key == "input" else self.generated_plot
            n = self.n_samples(key)
            if dirty and n:
                span = max(n / self._rate(key), self._expected[key], 1e-3)
                self._setting_range = True
                try:
                    plot.setXRange(0, span, padding=0.01)
                finally:
                    self._setting_range = False
            x, y = self.curve_data(key)
            self.curves[key].setData(x, y, skipFiniteCheck=True, connect=self._connect[key])

    def export_png(self, path: str | Path) -> Path:
        self.refresh()
        return export_item_png(self.ci, path)


def _coarsen(env: Envelope, width: int) -> Envelope:
    """Merge neighbouring buckets until there are at most ``2 * width`` (a line from each bucket's
    minimum to its maximum: more than two per pixel only costs painting)."""
    k = -(-len(env.lo) // (2 * width))
    if k <= 1:
        return env
    n = len(env.lo) // k * k
    lo, hi = env.lo[:n].reshape(-1, k).min(axis=1), env.hi[:n].reshape(-1, k).max(axis=1)
    starts = env.starts[:n:k]
    if n < len(env.lo):
        lo, hi = np.append(lo, env.lo[n:].min()), np.append(hi, env.hi[n:].max())
        starts = np.append(starts, env.starts[n])
    return Envelope(starts, lo, hi, env.bucket * k)

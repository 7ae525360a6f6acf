"""pyqtgraph plots: the loss curve and the input / generated waveforms.

Both take data through plain setters and redraw only when the window's
refresh timer calls :meth:`refresh` (10-20 Hz), never once per signal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

# Antialiasing is costly with many points and painted in the UI thread: only the smoothed loss uses it.
pg.setConfigOptions(antialias=False, background="w", foreground="k")

RAW_PEN = pg.mkPen((120, 160, 220), width=1)
SMOOTH_PEN = pg.mkPen((20, 70, 170), width=2.5)
VAL_PEN = pg.mkPen((220, 110, 20), width=2)
INPUT_PEN = pg.mkPen((90, 90, 90), width=1)
GEN_PEN = pg.mkPen((20, 70, 170), width=1)
PLAYHEAD_PEN = pg.mkPen((200, 30, 30), width=2)


def export_item_png(item, path: str | Path, *, width: int = 1600) -> Path:
    """Write ``item`` (a PlotItem, layout or scene) to a PNG with pyqtgraph's ImageExporter."""
    from pyqtgraph.exporters import ImageExporter

    path = Path(path)
    exporter = ImageExporter(item)
    exporter.parameters()["width"] = width
    exporter.export(str(path))
    return path


class LossPlot(pg.PlotWidget):
    """Training loss per iteration: raw, smoothed (running mean) and validation.

    A view of a training history (the session's :class:`~wavenet_gui.core.training.TrainingState`,
    or anything with ``iteration``, ``losses`` and ``val_losses``): :meth:`refresh` reads the
    points added since it last looked, so the history lives in one place.
    """

    #: Iterations averaged by the smoothed curve (the Trainer's mean loss uses as many).
    WINDOW = 20

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        item = self.getPlotItem()
        item.setTitle("Training loss")
        item.setLabel("bottom", "iteration")
        item.setLabel("left", "loss (cross-entropy)")
        item.showGrid(x=True, y=True, alpha=0.15)
        self.legend = item.addLegend(offset=(-10, 10))
        self.raw_curve = item.plot([], [], pen=RAW_PEN, name="loss")
        self.smooth_curve = item.plot([], [], pen=SMOOTH_PEN, name="smoothed", antialias=True)
        # No name: it joins the legend only while there is validation data (Validation share > 0).
        self.val_curve = item.plot([], [], pen=VAL_PEN, symbol="o", symbolSize=6, symbolBrush=(220, 110, 20))
        self._val_in_legend = False
        for curve in (self.raw_curve, self.smooth_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.log_scale = False
        self._source = None
        self._reset()

    # -- data ----------------------------------------------------------
    @property
    def source(self):
        """The history shown (None: nothing)."""
        return self._source

    def set_source(self, history) -> None:
        """Show ``history`` (None: nothing)."""
        self._source = history
        self._reset()
        self.refresh()

    def _reset(self) -> None:
        src = self._source
        self._base = max(0, int(src.iteration) - len(src.losses)) if src is not None else 0
        self._y = np.zeros(0, np.float64)
        self._cs = np.zeros(1, np.float64)  # cumulative sums, with a leading 0
        self._n_val = -1
        self._dirty = True

    @property
    def n_points(self) -> int:
        """Points on the loss curve (as of the last :meth:`refresh`)."""
        return len(self._y)

    @property
    def val_losses(self) -> list[tuple[int, float]]:
        return list(self._source.val_losses) if self._source is not None else []

    def set_log_scale(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.getPlotItem().setLogMode(x=False, y=self.log_scale)
        self._dirty = True
        self.refresh()

    def _pull(self) -> None:
        src = self._source
        losses = src.losses if src is not None else []
        n = len(losses)
        if n < len(self._y):  # another history (a new or loaded model)
            self._reset()
        if n > len(self._y):
            new = np.asarray(losses[len(self._y):n], dtype=np.float64)
            self._y = np.concatenate([self._y, new])
            self._cs = np.concatenate([self._cs, self._cs[-1] + np.cumsum(new)])
            self._dirty = True
        n_val = len(src.val_losses) if src is not None else 0
        if n_val != self._n_val:
            self._n_val = n_val
            self._dirty = True

    def refresh(self) -> None:
        self._pull()
        if not self._dirty:
            return
        self._dirty = False
        n = len(self._y)
        x = self._base + np.arange(1, n + 1, dtype=np.float64)
        i = np.arange(1, n + 1)
        lo = np.maximum(i - self.WINDOW, 0)
        smooth = (self._cs[i] - self._cs[lo]) / (i - lo) if n else np.zeros(0)
        y = self._y
        if self.log_scale:  # log of non-positive values is undefined: clip
            y = np.maximum(y, 1e-6)
            smooth = np.maximum(smooth, 1e-6)
        self.raw_curve.setData(x, y)
        self.smooth_curve.setData(x, smooth)
        vals = self.val_losses
        self.val_curve.setData(np.asarray([v[0] for v in vals], np.float64), np.asarray([v[1] for v in vals], np.float64))
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


class WaveformPlot(pg.GraphicsLayoutWidget):
    """Two stacked plots: the selected input file and the generated audio, each with a playhead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waveformPlot")
        self.input_plot = self.addPlot(row=0, col=0, title="Input")
        self.generated_plot = self.addPlot(row=1, col=0, title="Generated")
        self.curves = {}
        self.playheads = {}
        for key, plot, pen in (("input", self.input_plot, INPUT_PEN), ("generated", self.generated_plot, GEN_PEN)):
            plot.setLabel("bottom", "time", units="s")
            plot.setYRange(-1, 1, padding=0.05)
            plot.setMouseEnabled(x=True, y=False)
            plot.showGrid(x=True, y=False, alpha=0.2)
            curve = plot.plot([], [], pen=pen)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.curves[key] = curve
            line = pg.InfiniteLine(pos=0, angle=90, pen=PLAYHEAD_PEN, movable=False)
            line.setZValue(10)
            line.hide()
            plot.addItem(line)
            self.playheads[key] = line
        self._data: dict[str, tuple[np.ndarray, int] | None] = {"input": None, "generated": None}
        self._dirty = {"input": False, "generated": False}
        self._expected: dict[str, float] = {"input": 0.0, "generated": 0.0}

    def set_audio(self, key: str, samples: np.ndarray | None, sample_rate: int = 1, *,
                  title: str | None = None, expected_seconds: float = 0.0) -> None:
        """Show ``samples``: an array, or an object with ``view()`` (a growing buffer,
        re-read on every refresh)."""
        self._data[key] = None if samples is None else (samples, int(sample_rate))
        self._expected[key] = float(expected_seconds)
        self._dirty[key] = True
        if title is not None:
            (self.input_plot if key == "input" else self.generated_plot).setTitle(title)

    def mark_dirty(self, key: str) -> None:
        self._dirty[key] = True

    def set_playhead(self, key: str | None, seconds: float = 0.0) -> None:
        for k, line in self.playheads.items():
            if k == key:
                line.setValue(seconds)
                line.show()
            else:
                line.hide()

    def _samples(self, key: str) -> np.ndarray | None:
        d = self._data[key]
        if d is None:
            return None
        src = d[0]
        return src.view() if hasattr(src, "view") and not isinstance(src, np.ndarray) else src

    def n_samples(self, key: str) -> int:
        y = self._samples(key)
        return 0 if y is None else len(y)

    def refresh(self) -> None:
        for key, dirty in self._dirty.items():
            if not dirty:
                continue
            self._dirty[key] = False
            plot = self.input_plot if key == "input" else self.generated_plot
            y = self._samples(key)
            if y is None or len(y) == 0:
                self.curves[key].setData([], [])
                continue
            sr = self._data[key][1]
            y = np.array(y, dtype=np.float32)  # a copy: the buffer may grow meanwhile
            x = np.arange(len(y), dtype=np.float64) / sr
            self.curves[key].setData(x, y, skipFiniteCheck=True)
            span = max(len(y) / sr, self._expected[key], 1e-3)
            plot.setXRange(0, span, padding=0.01)

    def export_png(self, path: str | Path) -> Path:
        self.refresh()
        return export_item_png(self.ci, path)


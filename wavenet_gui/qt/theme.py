"""The plots follow the application palette (light or dark).

pyqtgraph draws with its own colours (white background, black text, by
default); :func:`follow_palette` takes them from the Qt palette instead: the
background from ``Base``, text and axes from ``WindowText``, and on a dark
palette the curves get lighter pens so they stay visible.  The window calls it
when it is built and whenever the palette changes.

Examples
--------
>>> from PySide6.QtGui import QColor
>>> is_dark(QColor(30, 30, 30)), is_dark(QColor("white"))
(True, False)
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from . import plots

#: Curve colours on a light and on a dark background.
LIGHT = {"raw": (120, 160, 220), "smooth": (20, 70, 170), "input": (90, 90, 90), "generated": (20, 70, 170)}
DARK = {"raw": (80, 120, 180), "smooth": (120, 180, 255), "input": (200, 200, 200), "generated": (120, 180, 255)}


def is_dark(color: QColor) -> bool:
    return color.lightness() < 128


def palette_colors(palette: QPalette | None = None) -> tuple[QColor, QColor]:
    """(background, foreground) for plots from ``palette`` (the application's by default)."""
    palette = palette if palette is not None else QApplication.palette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.WindowText)


def configure_defaults(palette: QPalette | None = None) -> None:
    """Set pyqtgraph's defaults (for plots made from now on) from the palette."""
    bg, fg = palette_colors(palette)
    pg.setConfigOptions(background=bg, foreground=fg)


def _retext(label) -> None:
    """Re-set a LabelItem's text so it takes the current foreground colour."""
    if label is not None and getattr(label, "text", None):
        label.setText(label.text)


def follow_palette(loss_plot, waveform_plot, spectrogram_plot=None, palette: QPalette | None = None) -> bool:
    """Recolour the window's plots from the palette; returns whether it is dark."""
    configure_defaults(palette)
    bg, fg = palette_colors(palette)
    dark = is_dark(bg)
    colors = DARK if dark else LIGHT
    views = [loss_plot, waveform_plot] + ([spectrogram_plot] if spectrogram_plot is not None else [])
    for view in views:
        view.setBackground(bg)
    items = [loss_plot.getPlotItem()] + [waveform_plot.input_plot, waveform_plot.generated_plot]
    if spectrogram_plot is not None:
        items += list(spectrogram_plot.plots.values())
    for item in items:
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
            if axis.label is not None:
                axis.label.setDefaultTextColor(fg)
        _retext(item.titleLabel)
    legend = getattr(loss_plot, "legend", None)
    if legend is not None:
        legend.setLabelTextColor(fg)
        legend.setBrush(pg.mkBrush(bg.red(), bg.green(), bg.blue(), 200))
        for _sample, label in legend.items:
            _retext(label)
    loss_plot.raw_curve.setPen(pg.mkPen(colors["raw"], width=1))
    loss_plot.smooth_curve.setPen(pg.mkPen(colors["smooth"], width=2.5))
    waveform_plot.curves["input"].setPen(pg.mkPen(colors["input"], width=1))
    waveform_plot.curves["generated"].setPen(pg.mkPen(colors["generated"], width=1))
    _ = plots  # the pens above replace plots' light defaults
    return dark

"""The CLI's ``--plot``: a PNG of the input and generated waveforms, drawn with QPainter.

Qt is imported here only, when a plot is asked for; it runs offscreen when there
is no display, so the CLI plots on a headless machine too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from wavenet_gui.core.errors import OutputError
from wavenet_gui.core.fileio import atomic_write


def _envelope(x: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of ``x`` over ``columns`` equal slices (for drawing a long signal)."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if len(x) == 0:
        return np.zeros(columns), np.zeros(columns)
    edges = np.linspace(0, len(x), columns + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
    edges = np.minimum(edges, len(x))
    lo = np.array([x[a:max(b, a + 1)].min() if a < len(x) else 0.0 for a, b in zip(edges[:-1], edges[1:], strict=True)])
    hi = np.array([x[a:max(b, a + 1)].max() if a < len(x) else 0.0 for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return lo, hi


def nice_ticks(duration: float, most: int = 6) -> list[float]:
    """Round times (steps of 1, 2 or 5 x 10^k s) from 0 to ``duration``: at most ``most`` of them.

    Examples
    --------
    >>> nice_ticks(0.72)
    [0.0, 0.2, 0.4, 0.6]
    >>> nice_ticks(3.4)
    [0.0, 1.0, 2.0, 3.0]
    >>> nice_ticks(0.0)
    [0.0]
    """
    if not duration > 0:
        return [0.0]
    for exponent in range(-4, 8):
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0 ** exponent
            if duration / step < most:
                n = int(duration / step + 1e-9)
                return [round(k * step, 6) for k in range(n + 1)]
    return [0.0, float(duration)]


def plot_waveforms_png(path: str | Path, source: np.ndarray | None, generated: np.ndarray, *,
                       sample_rate: int, width: int = 1200, height_per_panel: int = 260) -> Path:
    """Write a PNG with one panel per waveform ("Input", "Generated"); return its path.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = plot_waveforms_png(os.path.join(tempfile.mkdtemp(), "w.png"), None,
    ...                        np.sin(np.arange(8000) / 10), sample_rate=8000)
    >>> p.suffix
    '.png'
    """
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen
    from PySide6.QtWidgets import QApplication

    # Fonts need an application object. Make a full QApplication, not a QGuiApplication:
    # a process (a test run, a script) may go on to create widgets, which need one.
    app = QGuiApplication.instance() or QApplication([])  # noqa: F841
    candidates = [("Input", source, QColor(70, 130, 180)), ("Generated", generated, QColor(220, 110, 40))]
    panels = [(title, s, colour) for title, s, colour in candidates if s is not None and len(s)]
    height = height_per_panel * len(panels)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setFont(QFont("Sans", 10))
    left, right, top_pad, bottom_pad = 60, 20, 28, 30
    for i, (title, signal, colour) in enumerate(panels):
        y0 = i * height_per_panel
        plot = QRectF(left, y0 + top_pad, width - left - right, height_per_panel - top_pad - bottom_pad)
        painter.setPen(QPen(QColor(60, 60, 60)))
        duration = len(signal) / sample_rate
        painter.drawText(QPointF(left, y0 + 18), f"{title}: {duration:.2f} s at {sample_rate} Hz")
        painter.setPen(QPen(QColor(200, 200, 200)))
        painter.drawRect(plot)
        mid = plot.center().y()
        painter.drawLine(QPointF(plot.left(), mid), QPointF(plot.right(), mid))
        lo, hi = _envelope(signal, int(plot.width()))
        painter.setPen(QPen(colour, 1))
        half = plot.height() / 2
        for c, (a, b) in enumerate(zip(lo, hi, strict=True)):
            x = plot.left() + c
            painter.drawLine(QPointF(x, mid - float(b) * half), QPointF(x, mid - float(a) * half + 0.5))
        painter.setPen(QPen(QColor(90, 90, 90)))
        for v, label in ((1, "1"), (0, "0"), (-1, "-1")):
            painter.drawText(QRectF(0, mid - v * half - 8, left - 8, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        for t in nice_ticks(duration):  # round times where they fall, not fifths of the duration
            x = plot.left() + plot.width() * (t / duration if duration > 0 else 0.0)
            painter.drawText(QRectF(x - 40, plot.bottom() + 4, 80, 16), Qt.AlignmentFlag.AlignHCenter, f"{t:g} s")
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 6.11 takes the format as str here; its stubs say bytes, which it refuses.
    if not image.save(buf, "PNG"):  # type: ignore[call-overload]
        raise OutputError(path, "could not encode the plot as PNG")
    buf.close()
    path = Path(path)
    with atomic_write(path) as f:
        f.write(data.data())
    return path

"""Fitting the window to the screen it opens on (a restored size may come from another screen or scale)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication, QWidget

DEFAULT_SIZE = QSize(1280, 820)


def available_area(widget: QWidget) -> QRect | None:
    """The available area of ``widget``'s screen, or None on the offscreen platform's nominal 800x800 screen."""
    screen = widget.screen()
    if screen is None:
        return None
    avail = screen.availableGeometry()
    if avail.width() <= 0 or avail.height() <= 0:
        return None
    if QApplication.platformName() == "offscreen" and screen.geometry().size() == QSize(800, 800):
        return None  # the tests' default offscreen screen: not a real one
    return avail


def default_size(widget: QWidget) -> QSize:
    """1280x820, less where the screen is smaller."""
    size = DEFAULT_SIZE
    avail = available_area(widget)
    if avail is not None:
        size = size.boundedTo(QSize(avail.width() - 20, avail.height() - 40))
    return size


def fit_to_screen(window: QWidget) -> None:
    """Shrink and move ``window`` (its frame included) into its screen's available area."""
    avail = available_area(window)
    if avail is None:
        return
    frame = window.frameGeometry()
    extra_w = max(0, frame.width() - window.width())
    extra_h = max(0, frame.height() - window.height())
    w = min(window.width(), avail.width() - extra_w)
    h = min(window.height(), avail.height() - extra_h)
    if (w, h) != (window.width(), window.height()):
        window.resize(max(w, window.minimumSizeHint().width()), max(h, window.minimumSizeHint().height()))
    frame = window.frameGeometry()
    x = min(max(frame.x(), avail.left()), max(avail.left(), avail.right() + 1 - frame.width()))
    y = min(max(frame.y(), avail.top()), max(avail.top(), avail.bottom() + 1 - frame.height()))
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)

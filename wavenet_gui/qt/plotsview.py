"""The plots: the loss curve above, the input and generated audio below (waveforms or spectrograms).

The plots draw from the session's data (the trainer state's history, the audio buffers);
this view only chooses what is shown and redraws it at the window's refresh rate.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from wavenet_gui.core.fileio import check_path_length, check_writable_dir

from . import theme
from .plots import LossPlot, WaveformPlot
from .spectrogram import SpectrogramPlot

#: The least heights of the loss plot (with its switches) and of the two audio plots, in lines of text.
LOSS_MIN_LINES = 11
AUDIO_MIN_LINES = 16


class PlotsView(QSplitter):
    """The loss plot (with its log-scale and spectrogram switches) above the audio views.

    Examples
    --------
    >>> plots = PlotsView(QSettings())          # doctest: +SKIP
    >>> plots.show_spectrogram(True)            # doctest: +SKIP
    """

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.settings = settings
        self.loss_plot = LossPlot()
        self.log_check = QCheckBox("Log scale")
        self.log_check.setObjectName("logScaleCheck")
        self.log_check.setToolTip("Show the loss on a logarithmic axis")
        self.log_check.toggled.connect(self.loss_plot.set_log_scale)
        self.spectrogram_check = QCheckBox("Spectrogram")
        self.spectrogram_check.setObjectName("spectrogramCheck")
        self.spectrogram_check.setToolTip("Show the input and the generated audio as mel spectrograms "
                                          "(pitch and timbre) instead of waveforms")
        self.spectrogram_check.toggled.connect(self.show_spectrogram)
        loss_box = QWidget()
        lb = QVBoxLayout(loss_box)
        lb.setContentsMargins(0, 0, 0, 0)
        lb.addWidget(self.loss_plot)
        self.loss_row = QHBoxLayout()  # (the results view puts its variation picker first)
        self.loss_row.addStretch(1)
        self.loss_row.addWidget(self.spectrogram_check)
        self.loss_row.addWidget(self.log_check)
        lb.addLayout(self.loss_row)

        self.waveform_plot = WaveformPlot()
        self.spectrogram_plot = SpectrogramPlot()
        self.audio_view = QStackedWidget()
        self.audio_view.setObjectName("audioView")
        self.audio_view.addWidget(self.waveform_plot)
        self.audio_view.addWidget(self.spectrogram_plot)
        self.addWidget(loss_box)
        self.addWidget(self.audio_view)
        # Each plot keeps a readable height (the window scrolls them, see MainWindow._build_ui,
        # rather than squash them to a few pixels with their tick labels piled up: 200 % on a
        # 1000 px high screen); in lines of text, so that it scales with the font and the scale.
        line = self.fontMetrics().height()
        loss_box.setMinimumHeight(LOSS_MIN_LINES * line)
        self.audio_view.setMinimumHeight(AUDIO_MIN_LINES * line)
        self.setChildrenCollapsible(False)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 3)  # two plots below, one above
        self.setSizes([320, 480])

        self.act_log = QAction("&Log scale loss", self, checkable=True)
        self.act_log.toggled.connect(self.log_check.setChecked)
        self.log_check.toggled.connect(self.act_log.setChecked)
        self.act_spectrogram = QAction("Spectro&gram view", self, checkable=True)
        self.act_spectrogram.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.act_spectrogram.toggled.connect(self.show_spectrogram)

    def follow_palette(self, palette: QPalette | None = None) -> bool:
        """Recolour the plots from ``palette`` (the application's by default); whether it is dark."""
        return theme.follow_palette(self.loss_plot, self.waveform_plot, self.spectrogram_plot, palette)

    def refresh(self) -> None:
        """Redraw the loss and the audio view shown (the hidden one catches up when it is shown)."""
        self.loss_plot.refresh()
        shown = self.audio_view.currentWidget()
        (self.spectrogram_plot if shown is self.spectrogram_plot else self.waveform_plot).refresh()

    def audio_views_call(self, method: str, *args, **kwargs) -> None:
        """Call ``method`` on the waveform view and on the spectrogram view (they show the same audio)."""
        for view in (self.waveform_plot, self.spectrogram_plot):
            getattr(view, method)(*args, **kwargs)

    def show_spectrogram(self, on: bool) -> None:
        """Show the spectrograms (True) or the waveforms (False) of the input and generated audio."""
        on = bool(on)
        view = self.spectrogram_plot if on else self.waveform_plot
        view.refresh()
        self.audio_view.setCurrentWidget(view)
        for widget in (self.spectrogram_check, self.act_spectrogram):
            if widget.isChecked() != on:
                widget.setChecked(on)
        self.settings.setValue("view/spectrogram", on)

    def export_plots(self, path: str | Path) -> list[Path]:
        """Write ``<stem>-loss``, ``<stem>-waveform`` and ``<stem>-spectrogram`` next to ``path``, as PNG
        images, or as SVG drawings when ``path`` ends in ``.svg`` (the spectrogram is an image in it)."""
        path = Path(path)
        stem = path.with_suffix("")
        check_path_length(f"{stem}-spectrogram{path.suffix}")
        check_writable_dir(stem.parent)
        if path.suffix.lower() == ".svg":
            from .plots import export_widget_svg

            out = []
            for view, name in ((self.loss_plot, "loss"), (self.waveform_plot, "waveform"),
                               (self.spectrogram_plot, "spectrogram")):
                view.refresh()
                out.append(export_widget_svg(view, f"{stem}-{name}.svg"))
            return out
        return [self.loss_plot.export_png(f"{stem}-loss.png"), self.waveform_plot.export_png(f"{stem}-waveform.png"),
                self.spectrogram_plot.export_png(f"{stem}-spectrogram.png")]

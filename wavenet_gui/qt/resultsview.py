"""The generated results: which variation is shown, and exporting it (audio, plots) or opening the output folder.

The results themselves (one growing buffer per variation, where they were saved) are the
session's :class:`~wavenet_gui.core.session.Results`; this view shows the variation picked
in its spin box and writes through :meth:`Session.export`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QSpinBox

from wavenet_gui.core.errors import WaveNetError
from wavenet_gui.core.fileio import check_path_length, check_writable_dir

from . import dialogs
from .playback import AudioBuffer
from .tasks import Job

if TYPE_CHECKING:
    from .window import MainWindow

#: The export options dialog's title, and the room a title bar takes besides its text (the
#: window's icon and buttons; title fonts are often bold: the text's width counts 1.25 times).
EXPORT_TITLE = "Export audio"
TITLE_BAR_EXTRA = 160

EXPORT_FORMATS = {  # dialog filter -> (extension, soundfile subtype)
    "WAV 16-bit (*.wav)": (".wav", "PCM_16"),
    "WAV 32-bit float (*.wav)": (".wav", "FLOAT"),
    "FLAC (*.flac)": (".flac", None),
    "OGG Vorbis (*.ogg)": (".ogg", None),
}


class ResultsView(QObject):
    """The variation picker (shown with several variations) and the export verbs.

    Examples
    --------
    >>> results = ResultsView(window)                       # doctest: +SKIP
    >>> results.export_to("take.flac", all_variations=True)  # doctest: +SKIP
    """

    def __init__(self, host: MainWindow) -> None:
        super().__init__(host)
        self.host = host
        self.session = host.session
        self.variation_spin = QSpinBox()
        self.variation_spin.setObjectName("variationSpin")
        self.variation_spin.setRange(1, 1)
        self.variation_spin.setPrefix("variation ")
        self.variation_spin.setToolTip("Which generated variation to show, play and export")
        self.variation_spin.valueChanged.connect(self.on_variation_changed)
        # Shown only with several variations, and it keeps its place while hidden: nothing moves.
        policy = self.variation_spin.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.variation_spin.setSizePolicy(policy)
        self.variation_spin.hide()
        host.plots.loss_row.insertWidget(0, self.variation_spin)

    # ------------------------------------------------------------------ showing
    def show_results(self) -> None:
        """Follow the session's results: as many variations as it has, the first one shown."""
        r = self.session.results
        k = len(r.buffers) if r else 1
        if self.variation_spin.maximum() != k:
            self.variation_spin.blockSignals(True)
            self.variation_spin.setRange(1, k)
            self.variation_spin.setValue(1)
            self.variation_spin.blockSignals(False)
        self.variation_spin.setVisible(k > 1)
        self.on_variation_changed()

    def on_variation_changed(self, *_: object) -> None:
        r = self.session.results
        buf = self.current_generated()
        plots, player = self.host.plots, self.host.player
        if r is None or buf is None:
            plots.audio_views_call("set_audio", "generated", None, title="Generated")
            return
        if player.tag == "generated" and player.buffer is not None and player.source is not buf:
            player.stop()
        running = self.host.busy() == "generation"
        title = "Generated (in progress)" if running else ("Generated (cancelled, partial)" if r.cancelled
                                                           else "Generated")
        if len(r.buffers) > 1:
            title += f" · variation {self.variation_spin.value()}/{len(r.buffers)}"
        plots.audio_views_call("set_audio", "generated", buf, buf.sample_rate, title=title,
                               expected_seconds=r.n_samples / r.sample_rate if running else 0.0)

    def current_generated(self) -> AudioBuffer | None:
        """The buffer of the variation shown (None before anything was generated)."""
        r = self.session.results
        if r is None or not r.buffers:
            return None
        return r.buffers[min(self.variation_spin.value() - 1, len(r.buffers) - 1)]

    def can_export(self) -> tuple[bool, str]:
        """Whether Export can run now, and the button's tooltip saying why (not)."""
        buf = self.current_generated()
        has_gen = buf is not None and buf.length > 0
        generating = self.host.busy() == "generation"
        if has_gen and not generating:
            return True, "Export the generated audio (Ctrl+E)"
        return False, "Generate audio first" if not has_gen else "Wait until generation ends"

    # ------------------------------------------------------------------ exporting audio
    def export_dialog(self, *, all_variations: bool = False) -> None:
        buf = self.current_generated()
        if buf is None or buf.length == 0 or self.host.busy() == "generation":
            return
        options = self.ask_export_options(all_variations)
        if options is None:
            return
        all_variations, rate = options
        start = str(self.host.settings.value("export/last_dir", self.session.settings.get("output_dir") or ""))
        path, chosen = QFileDialog.getSaveFileName(self.host, "Export generated audio",
                                                   str(Path(start) / "generated.wav"), ";;".join(EXPORT_FORMATS),
                                                   options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        ext, subtype = EXPORT_FORMATS.get(chosen, (".wav", "PCM_16"))
        if Path(path).suffix.lower() not in (".wav", ".flac", ".ogg"):
            path += ext
        elif Path(path).suffix.lower() != ext:
            subtype = "PCM_16" if Path(path).suffix.lower() == ".wav" else None
        self.export_to(path, subtype=subtype, sample_rate=rate, all_variations=all_variations)

    def ask_export_options(self, all_variations: bool = False) -> tuple[bool, int | None] | None:
        """Which variations and at what rate to export: (all, rate or None for the model's), None: cancelled."""
        from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout

        r = self.session.results
        if r is None:
            return None
        dialog = QDialog(self.host)
        dialog.setWindowTitle(EXPORT_TITLE)
        # room for the title beside the window manager's buttons (it was cut to "Export genera…")
        dialog.setMinimumWidth(int(1.25 * dialog.fontMetrics().horizontalAdvance(EXPORT_TITLE)) + TITLE_BAR_EXTRA)
        form = QFormLayout(dialog)
        which = QComboBox()
        which.addItem(f"Variation {self.variation_spin.value()} (the one shown)", False)
        if len(r.buffers) > 1:
            which.addItem(f"All {len(r.buffers)} variations (one file each, _v1, _v2, …)", True)
            which.setCurrentIndex(1 if all_variations else 0)
        rate = QComboBox()
        rate.addItem(f"{r.sample_rate} Hz (the model's rate)", None)
        for hz in (16000, 22050, 44100, 48000, 96000):
            if hz != r.sample_rate:
                rate.addItem(f"{hz} Hz (resampled)", hz)
        form.addRow("Export", which)
        form.addRow("Sample rate", rate)
        if not dialogs.ok_cancel(dialog, form):
            return None
        return bool(which.currentData()), rate.currentData()

    def export_to(self, path: str | Path, *, subtype: str | None = "PCM_16", confirm: bool = True,
                  sample_rate: int | None = None, all_variations: bool = False) -> Job | None:
        """Write the shown variation (or every variation: ``<stem>_v1``, ``_v2``, …) to ``path`` (format
        from the extension), resampled to ``sample_rate`` if given; asks before overwriting."""
        host = self.host
        buf = self.current_generated()
        r = self.session.results
        if r is None or buf is None or buf.length == 0:
            return None
        path = Path(path)
        if all_variations and len(r.buffers) > 1:
            targets = [(k, path.with_name(f"{path.stem}_v{k + 1}{path.suffix}")) for k in range(len(r.buffers))]
        else:
            targets = [(self.variation_spin.value() - 1, path)]
        try:  # a name over 255 bytes, a pseudo folder: one line with the true reason, before any OSError
            for _, target in targets:
                check_path_length(target)
            check_writable_dir(path.parent)
        except WaveNetError as exc:
            host.report_error("Export failed", exc)
            return None
        existing = [p.name for _, p in targets if p.exists()]
        verb = "exists" if len(existing) == 1 else "exist"
        if confirm and existing and not host.ask("Overwrite?", f"{', '.join(existing)} {verb}. Replace?"):
            host.status("Export cancelled", 3000)
            return None
        host.settings.setValue("export/last_dir", str(path.parent))

        def work() -> list[Path]:
            return [self.session.export(str(p), variation=k, subtype=subtype, sample_rate=sample_rate)
                    for k, p in targets]

        def done(written: list[Path]) -> None:
            rate = f" at {sample_rate} Hz" if sample_rate else ""
            text = (f"Exported {written[0]}{rate}" if len(written) == 1
                    else f"Exported {len(written)} variations{rate}: {written[0].name} … {written[-1].name} in "
                         f"{written[0].parent}")
            host.note(text)
            host.status(text)

        return host.run_job(work, name="export", returned=done,
                            errored=lambda exc: host.report_error("Export failed", exc))

    # ------------------------------------------------------------------ plots, the output folder
    def export_plots_dialog(self) -> None:
        start = str(self.host.settings.value("export/last_dir", self.session.settings.get("output_dir") or ""))
        path, chosen = QFileDialog.getSaveFileName(self.host, "Export plots", str(Path(start) / "plot.png"),
                                                   "PNG images (*.png);;SVG drawings (*.svg)")
        if path:
            if Path(path).suffix.lower() not in (".png", ".svg"):
                path += ".svg" if "svg" in chosen.lower() else ".png"
            try:
                written = self.export_plots(path)
            except Exception as exc:  # noqa: BLE001
                self.host.report_error("Could not export the plots", exc)
                return
            self.host.status("Plots saved: " + ", ".join(p.name for p in written))

    def export_plots(self, path: str | Path) -> list[Path]:
        """The three plots as images next to ``path`` (:meth:`PlotsView.export_plots`)."""
        return self.host.plots.export_plots(path)

    def open_output_folder(self) -> bool:
        """Open the output folder in the file manager; says where it is when none can open it."""
        host = self.host
        out = self.session.settings.get("output_dir")
        if not out:
            host.status("No output folder is set (Training tab, Output folder)", 6000)
            return False
        try:
            folder = check_writable_dir(out)
        except WaveNetError as exc:
            host.report_error("Cannot open the output folder", exc)
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            host.status(f"Opened {folder}", 4000)
            return True
        text = f"No file manager could be started to show the folder. The files are in {folder}"
        host.status(text)
        host.note(text, "warning")
        host.show_message("info", "Output folder", text)
        return False

"""The run controls: Train / Stop, Load / Save model, Generate / Cancel / Preview, Play and Export,
the progress bar and the status bar's speed and model labels.

Each button calls one of the session's verbs; the slow ones (:meth:`Session.train`,
:meth:`Session.generate`, :meth:`Session.preview`, loading and saving a model) run as the
window's jobs and report back here.  The model, its history and the results are the
session's; what this view keeps is which job runs (for the buttons) and the last preview.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from wavenet_gui import appinfo
from wavenet_gui.core.config import SETTINGS
from wavenet_gui.core.errors import WaveNetError
from wavenet_gui.core.session import seconds_text

from . import startup
from .flow import FlowLayout
from .playback import PLAYING, AudioBuffer
from .tasks import Job

if TYPE_CHECKING:
    from .window import MainWindow

MODEL_FILTER = "WaveNet models (*.safetensors);;All files (*)"
LOADING = "Loading PyTorch…"
WARMING = " · preparing the fast kernels (the window may pause for a moment)…"
PREVIEW_SECONDS = 1.0
PREVIEW_TIP = ("Generate 1 s (at most the Length setting) from the current weights and play it (also while "
               "training, to hear progress); nothing is written")


def loss_text(loss: float) -> str:
    """A loss with four significant digits ("2.431", "0.0001234", "1.2e-07"), never "0.000".

    >>> loss_text(0.0001), loss_text(2.4312345)
    ('0.0001', '2.431')
    """
    return f"{loss:.4g}"


def _set_enabled(widget, enabled: bool, tip: str) -> None:
    widget.setEnabled(enabled)
    widget.setToolTip(tip)


class RunView(QObject):
    """The buttons that run things, and what they report while they run.

    Examples
    --------
    >>> run = RunView(window)       # doctest: +SKIP
    >>> run.start_training()        # doctest: +SKIP
    """

    def __init__(self, host: MainWindow) -> None:
        super().__init__(host)
        self.host = host
        self.session = host.session
        self.train_job: Job | None = None
        self.gen_job: Job | None = None
        self.io_job: Job | None = None  # load/save model
        self.preview_job: Job | None = None
        self.preview_audio: AudioBuffer | None = None
        self.train_queued = False  # Train was pressed while PyTorch loaded: it starts when ready
        self._train_from: int | None = None  # the iteration this training run started after
        self._last_play = "generated"

        def button(name: str, text: str, tip: str, slot) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        results = host.results
        self.train_button = button("trainButton", "Train", "Train on the files in the list (Ctrl+T)",
                                   self.start_training)
        self.stop_button = button("stopButton", "Stop", "Stop training after the current step (Esc)",
                                  self.stop_training)
        self.load_model_button = button("loadModelButton", "Load model…", "Load a trained model",
                                        self.open_model_dialog)
        self.save_model_button = button("saveModelButton", "Save model…", "Save the current model",
                                        self.save_model_dialog)
        self.generate_button = button("generateButton", "Generate", "Generate audio with the model (Ctrl+G)",
                                      self.start_generation)
        self.preview_button = button("previewButton", "Preview", PREVIEW_TIP, self.start_preview)
        self.cancel_button = button("cancelButton", "Cancel", "Cancel generation, keeping what was made (Esc)",
                                    self.cancel_generation)
        self.play_input_button = button("playInputButton", "Play input", "Play the selected input file",
                                        lambda: self.toggle_play("input"))
        self.play_button = button("playButton", "Play", "Play the generated audio (Space)",
                                  lambda: self.toggle_play("generated"))
        self.export_button = button("exportButton", "Export…", "Export the generated audio (Ctrl+E)",
                                    lambda: results.export_dialog())
        self.train_button.setDefault(True)
        for btn, texts in ((self.play_input_button, ("Play input", "Stop")), (self.play_button, ("Play", "Stop"))):
            btn.setMinimumWidth(max(btn.fontMetrics().horizontalAdvance(t) for t in texts) + 24)

        # The buttons in groups that wrap to more rows when the window is narrow (nothing off-screen).
        self.controls_box = QWidget()
        self.controls_box.setObjectName("controls")
        controls = FlowLayout(self.controls_box, spacing=6)
        for group in ((self.train_button, self.stop_button), (self.load_model_button, self.save_model_button),
                      (self.generate_button, self.cancel_button, self.preview_button),
                      (self.play_input_button, self.play_button, self.export_button)):
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 12, 0)
            for w in group:
                row.addWidget(w)
            controls.addWidget(box)
        policy = self.controls_box.sizePolicy()
        policy.setHeightForWidth(True)
        self.controls_box.setSizePolicy(policy)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat(LOADING)
        self.warm_timer = QTimer(self)
        self.warm_timer.setInterval(250)
        self.warm_timer.timeout.connect(self._show_warm_up)

        self.speed_label = QLabel("")
        self.speed_label.setObjectName("speedLabel")
        self.model_label = QLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.audio_label = QLabel("No audio output: playback is off")  # shown without hovering
        self.audio_label.setObjectName("audioLabel")
        self.audio_label.setStyleSheet("color: #8a5a00;")
        self.audio_label.hide()

        player = host.player
        player.stateChanged.connect(self._on_player_state)
        player.positionChanged.connect(lambda s: host.plots.audio_views_call("set_playhead", player.tag, s))
        player.failed.connect(self._on_player_failed)

    # ------------------------------------------------------------------ jobs
    def busy(self) -> str:
        """The name of the heavy job running ("training", "generation", "model file") or ""."""
        for job, what in ((self.train_job, "training"), (self.gen_job, "generation"), (self.io_job, "model file")):
            if job is not None and job.running:
                return what
        return ""

    def job_finished(self, job: Job) -> None:
        if job is self.train_job:
            appinfo.set_recovery_saver(None)
        if self.host.closed:
            return
        if job in (self.train_job, self.gen_job):
            self.speed_label.setText("")
        if job is self.gen_job:
            self.host.results.on_variation_changed()  # the titles: no longer "in progress"
        self.update_model_label()

    def core_loaded(self) -> None:
        """PyTorch is there: say Idle, and start a training queued while it loaded."""
        if self.progress_bar.format() == LOADING:
            self.progress_bar.setFormat("Idle")
        if startup.warming_up():  # say so while the kernels compile (the window may pause briefly)
            self._show_warm_up()
            self.warm_timer.start()
        self.host.update_actions()
        if self.train_queued:
            self.train_queued = False
            if self.train_button.isEnabled():
                self.start_training()
            else:
                self.host.status(f"Training not started: {self.train_button.toolTip()}", 8000)

    def _show_warm_up(self) -> None:
        """While the kernels compile in the background: the progress bar says so (idle, or a run
        that waits for them); once they are ready it says what it said before."""
        text = self.progress_bar.format()
        base = text.removesuffix(WARMING)
        warming = startup.warming_up()
        if not warming:
            self.warm_timer.stop()
        if warming and not text.endswith(WARMING) and (base == "Idle" or base in ("Training…", "Loading audio…")
                                                        or base.startswith("Generating ")):
            self.progress_bar.setFormat(base + WARMING)
        elif not warming and text.endswith(WARMING):
            self.progress_bar.setFormat(base)

    def core_failed(self) -> None:
        self.train_queued = False
        self.progress_bar.setFormat("PyTorch could not be loaded")

    # ------------------------------------------------------------------ training
    def start_training(self) -> None:
        host, s = self.host, self.session
        if not self.train_button.isEnabled():
            host.status(self.train_button.toolTip(), 6000)
            return
        if not host.training_form.is_valid:
            host.tabs.setCurrentIndex(0)
            host.status("Fix the highlighted settings first.", 6000)
            return
        if host.core is None:  # PyTorch still loading: queue it (pressed again: call it off)
            self.train_queued = not self.train_queued
            host.status("Training will start as soon as PyTorch has loaded…" if self.train_queued
                        else "Training called off (PyTorch is still loading)", 0 if self.train_queued else 5000)
            host.update_actions()
            return
        self.train_queued = False
        host.files_view.cancel_durations()  # training decodes the files itself
        host.push_settings()
        replace = False
        differ = s.model_mismatch()
        if s.model is not None and differ:
            unsaved = " It has not been saved." if s.unsaved else ""
            labels = ", ".join(SETTINGS[n].label.lower() for n in differ)  # as the form names them
            if not host.ask("Start a new model?", f"The settings ({labels}) no longer match the current model, "
                                                  f"so Train would start a new model and close this one.{unsaved} "
                                                  "Start a new model?"):
                host.status("Training not started: the current model is kept", 6000)
                return
            replace = True
        if host.player.tag == "generated":
            host.player.stop()
        try:
            work = s.train(replace=replace)
        except WaveNetError as exc:
            host.report_error("Cannot train", exc)
            return
        self._train_from = None
        self.train_job = host.run_job(work, name="training", yielded=self._on_train_progress,
                                      returned=self._on_train_done, errored=self._on_train_failed)
        appinfo.set_recovery_saver(self.save_for_recovery)  # the excepthook saves the model being trained
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading audio…")
        continuing = s.model is not None and not replace
        host.status("Continuing to train the current model (change a model setting to start afresh)…"
                    if continuing else "Starting training…")
        self.update_model_label()
        host.update_actions()

    def save_for_recovery(self) -> Path | None:
        """Save the model being trained next to the outputs (else beside the log), for a crash."""
        for folder in (self.session.settings.get("output_dir"), appinfo.user_log_dir()):
            try:
                return self.session.save_recovery(Path(str(folder)).expanduser())
            except (WaveNetError, OSError, TypeError):
                continue
        return None

    def stop_training(self) -> None:
        if self.busy() == "training":
            self.session.stop()
            self.stop_button.setEnabled(False)
            self.progress_bar.setFormat("Stopping after this step…")
            self.host.status("Stopping after the current step…")

    def _on_train_progress(self, p) -> None:
        if isinstance(p, str):
            self.progress_bar.setFormat(p)
            self.host.status(p)
            return
        if self._train_from is None:
            self._train_from = p.iteration - 1
        self.progress_bar.setRange(self._train_from, max(1, p.total_iterations))
        self.progress_bar.setValue(min(p.iteration, p.total_iterations))
        eta = f" · {seconds_text(p.eta)} left" if p.eta is not None else ""
        val = f" · val {loss_text(p.val_loss)}" if p.val_loss is not None else ""
        self.progress_bar.setFormat(f"Iteration {p.iteration:,}/{p.total_iterations:,} · loss {loss_text(p.mean_loss)}"
                                    f"{val} · {p.samples_per_s:,.0f} samples/s{eta}")
        self.speed_label.setText(f"{p.samples_per_s:,.0f} samples/s")
        self.update_model_label(p.iteration)
        if p.checkpoint is not None:
            self.host.status(f"Checkpoint saved: {p.checkpoint}", 5000)
        elif p.checkpoint_error:
            self.host.status(f"Warning: {p.checkpoint_error}; training goes on, the model stays in memory")

    def _on_train_done(self, outcome) -> None:
        host, r = self.host, outcome.result
        if r.reason != "cancelled":
            self.progress_bar.setValue(self.progress_bar.maximum())
        iteration = self.session.state.iteration
        if r.reason == "cancelled":  # Stop: nothing is lost, say so
            kept = "; the model is kept" if self.session.model is not None else ""
            self.progress_bar.setFormat(f"Stopped at iteration {iteration:,}")
            msg = f"Training stopped at iteration {iteration:,}{kept}"
            if r.final_loss is not None and math.isfinite(r.final_loss):
                msg += f" (loss {loss_text(r.final_loss)})"
        else:
            self.progress_bar.setFormat(f"Training ended at iteration {iteration:,}: {r.reason.replace('_', ' ')}")
            msg = r.message
        for line in outcome.notes:
            host.note(line)
        if outcome.notes:
            msg += f" · {outcome.notes[0]}" + (" (more in View > Messages)" if len(outcome.notes) > 1 else "")
        host.note(msg)
        host.status(msg)
        host.plots.loss_plot.refresh()
        if r.reason == "diverged":
            host.show_message("warning", "Training stopped", r.message)
        if r.checkpoint_error:
            host.show_message("warning", "Checkpoint not saved",
                              f"{r.checkpoint_error}. The trained model is kept: use Save model… to save it "
                              "elsewhere.")

    def _on_train_failed(self, exc: BaseException) -> None:
        self.progress_bar.setFormat("Training failed")
        self.host.report_error("Training failed", exc, self.train_job)

    def update_model_label(self, iteration: int | None = None) -> None:
        s = self.session
        if self.busy() == "training":
            it = iteration if iteration is not None else s.state.iteration
            self.model_label.setText(f"Training: iteration {it:,}" if it else "Training…")
            return
        self.host.training_form.set_model_mismatch(s.model_mismatch())
        if s.model is None:
            self.model_label.setText("No model")
            return
        cfg = s.model.config
        parts = [f"Model: {cfg.sample_rate} Hz, RF {cfg.receptive_field:,}"]
        if s.state.iteration:
            parts.append(f"{s.state.iteration:,} it")
        loss = s.state.mean_loss()
        if loss is not None and math.isfinite(loss):
            parts.append(f"loss {loss_text(loss)}")
        if s.unsaved:
            parts.append("not saved")
        self.model_label.setText(" · ".join(parts))

    # ------------------------------------------------------------------ generation
    def start_generation(self) -> None:
        host = self.host
        if not self.generate_button.isEnabled():
            host.status(self.generate_button.toolTip(), 6000)
            return
        host.push_settings()
        if host.player.tag == "generated":
            host.player.stop()
        try:
            work = self.session.generate()
        except WaveNetError as exc:
            host.report_error("Cannot generate", exc)
            return
        self.gen_job = host.run_job(work, name="generation", yielded=self._on_gen_progress,
                                    returned=self._on_gen_done, errored=self._on_gen_failed)
        host.results.on_variation_changed()  # now that it runs: "in progress", and the length to expect
        r = self.session.results
        if r is None:  # (generate() makes them before it yields)
            return
        self.progress_bar.setRange(0, r.n_samples)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"Generating {seconds_text(r.n_samples / r.sample_rate)}…")
        host.status(f"Generating {r.n_samples:,} samples ({seconds_text(r.n_samples / r.sample_rate)}) × "
                    f"{len(r.buffers)}…")
        host.update_actions()

    def cancel_generation(self) -> None:
        if self.busy() == "generation":
            self.session.stop()
            self.cancel_button.setEnabled(False)
            self.host.status("Cancelling generation…")

    def _on_gen_progress(self, gp) -> None:
        self.host.plots.audio_views_call("mark_dirty", "generated")
        self.progress_bar.setRange(0, max(1, int(gp.total)))
        self.progress_bar.setValue(int(gp.done))
        self.progress_bar.setFormat(f"Generated {gp.done:,}/{gp.total:,} samples · {gp.realtime_factor:.2f}× real time")
        self.speed_label.setText(f"{gp.samples_per_s:,.0f} samples/s · {gp.realtime_factor:.2f}× real time")
        self.host.update_actions()

    def _on_gen_done(self, outcome) -> None:
        r = outcome.results
        seconds = r.length / r.sample_rate
        self.host.results.show_results()
        self.progress_bar.setFormat(("Cancelled" if r.cancelled else "Done") + f": {seconds_text(seconds)} generated")
        msg = (f"Generation cancelled: kept {seconds_text(seconds)}" if r.cancelled
               else f"Generated {seconds_text(seconds)}")
        msg += f" at {r.samples_per_s:,.0f} samples/s ({r.samples_per_s / r.sample_rate:.2f}× real time), {r.note}"
        if r.saved:
            more = f" and {len(r.saved) - 1} more" if len(r.saved) > 1 else ""
            msg += f"; saved {r.saved[0].name}{more} in {r.saved[0].parent}"
        if r.save_error:
            msg += f"; NOT saved: {r.save_error}"
        if r.warnings:  # a collapse into silence, a stuck value or noise: say so, with what to try
            more = f" (and {len(r.warnings) - 1} more)" if len(r.warnings) > 1 else ""
            self.host.status(f"{msg}. {r.warnings[0]}{more}")
            # the status bar cuts a long line off: View > Messages keeps every warning in full
            self.host.note(f"{msg}. " + " ".join(r.warnings), "warning")
        else:
            self.host.status(msg)
        if r.save_error:
            self.host.show_message("warning", "Prediction not saved", r.save_error)

    def _on_gen_failed(self, exc: BaseException) -> None:
        self.progress_bar.setFormat("Generation failed")
        self.host.report_error("Generation failed", exc, self.gen_job)

    def start_preview(self) -> Job | None:
        """Generate a short preview from the current weights in the background (also while
        training: the weights are copied between steps), then play it and say what the collapse
        check found.  Nothing is written and the generated results are not touched."""
        if self.session.model is None or (self.preview_job is not None and self.preview_job.running):
            return None
        seconds = self.session.preview_seconds(PREVIEW_SECONDS)  # no longer than Generate would make
        self.host.status(f"Making a {seconds_text(seconds)} preview from the current weights…")
        self.preview_job = self.host.run_job(lambda: self.session.preview(seconds=PREVIEW_SECONDS), name="preview",
                                             returned=self._on_preview)
        self.host.update_actions()
        return self.preview_job

    def _on_preview(self, result) -> None:
        buf = AudioBuffer(result.sample_rate, capacity=result.audio.shape[-1])
        buf.append(result.audio.reshape(-1))
        buf.finish()
        self.preview_audio = buf
        iteration = result.iteration if result.iteration is not None else self.session.state.iteration
        when = f"at iteration {iteration:,}" if iteration else "from the model"
        verdict = result.collapse.message if result.collapse is not None else "no silent or noise collapse found"
        text = f"Preview {when}: {verdict}"
        self.host.status(text)
        self.host.note(text, "warning" if result.collapse is not None else "info")
        if self.host.player.availability()[0]:
            self.host.player.play(buf, tag="preview")

    def stop_all(self) -> None:
        """Esc: stop training, cancel generation, stop playback (or call off a queued training)."""
        if self.train_queued:
            self.train_queued = False
            self.host.status("Training called off (PyTorch is still loading)", 5000)
            self.host.update_actions()
        elif self.busy() == "training":
            self.stop_training()
        elif self.busy() == "generation":
            self.cancel_generation()
        elif self.host.player.state == PLAYING:
            self.host.player.stop()

    # ------------------------------------------------------------------ model files
    def open_model_dialog(self) -> None:
        if self.busy():
            return
        start = str(self.host.settings.value("model/last_dir", self.session.settings.get("output_dir") or ""))
        path, _ = QFileDialog.getOpenFileName(self.host, "Load model", start, MODEL_FILTER)
        if path:
            self.load_model(path)

    def load_model(self, path: str | Path) -> Job:
        host = self.host
        host.settings.setValue("model/last_dir", str(Path(path).parent))
        host.status(f"Loading {Path(path).name}…")
        self.io_job = host.run_job(self.session.load_model, str(path), name="load-model",
                                   returned=lambda loaded, p=path: self._on_model_loaded(p),
                                   errored=lambda exc: host.report_error("Could not load the model", exc, self.io_job))
        host.update_actions()
        return self.io_job

    def _on_model_loaded(self, path) -> None:
        self.host.recent.remember("model", path)
        self.host.plots.loss_plot.refresh()
        self.host.status(f"Loaded {Path(path).name}: press Generate (training is not needed).")

    def save_model_dialog(self) -> None:
        if self.session.model is None or self.busy():
            return
        start = str(self.host.settings.value("model/last_dir", self.session.settings.get("output_dir") or ""))
        path, _ = QFileDialog.getSaveFileName(self.host, "Save model", str(Path(start) / "model.safetensors"),
                                              MODEL_FILTER)
        if path:
            self.save_model(path if path.endswith(".safetensors") else path + ".safetensors")

    def save_model(self, path: str | Path) -> Job:
        host = self.host

        def saved(p) -> None:
            host.recent.remember("model", p)
            host.status(f"Model saved: {p}")

        host.settings.setValue("model/last_dir", str(Path(path).parent))
        self.io_job = host.run_job(self.session.save_model, str(path), name="save-model", returned=saved,
                                   errored=lambda exc: host.report_error("Could not save the model", exc, self.io_job))
        host.update_actions()
        return self.io_job

    # ------------------------------------------------------------------ playback
    def toggle_play(self, which: str | None = None) -> None:
        """Play ``which`` ("input" / "generated"); stop if it is already playing."""
        player = self.host.player
        if player.state == PLAYING and (which is None or player.tag == which):
            player.stop()
            return
        if which is None:
            which = self._last_play if self.can_play(self._last_play) else (
                "generated" if self.can_play("generated") else "input")
        if not self.can_play(which):
            return
        self._last_play = which
        source = self.host.results.current_generated() if which == "generated" else self.host.files_view.input_audio
        if source is not None and player.play(source, tag=which) and player.note:
            self.host.status(f"Playing ({player.note})", 5000)

    def can_play(self, which: str) -> bool:
        if not self.host.player.availability()[0]:
            return False
        if which == "generated":
            buf = self.host.results.current_generated()
            return buf is not None and (buf.length > 0 or not buf.complete)
        audio = self.host.files_view.input_audio
        return audio is not None and audio.length > 0

    def _on_player_state(self, state: str) -> None:
        if state != PLAYING:
            self.host.plots.audio_views_call("set_playhead", None)
        self.host.update_actions()

    def _on_player_failed(self, reason: str) -> None:
        self.host.status(reason)
        self.host.last_error = reason
        self.host.update_actions()

    # ------------------------------------------------------------------ enabling
    def update_actions(self) -> None:
        """Enable each button and action that can run now; the tooltip says why one cannot."""
        host, s, acts = self.host, self.session, self.host.menus
        busy = self.busy()
        core_ok = host.core is not None
        training, generating = busy == "training", busy == "generation"
        has_model = s.model is not None
        loading = not core_ok and not host.core_error
        if host.core_error:
            why = host.core_error
        elif busy:
            why = f"Busy: {busy} is running"
        elif not host.training_form.is_valid:
            why = "Some settings are invalid: see the Training tab"
        elif not s.files:
            why = "Add audio files first (drop them on the window or press Ctrl+O)"
        else:
            why = ""
        if loading and self.train_queued:
            tip = "Training starts as soon as PyTorch has loaded (press again or Esc to call it off)"
        elif loading:
            tip = "PyTorch is still loading: press Train and training starts as soon as it is ready"
        else:
            tip = "Train on the files in the list (Ctrl+T)"
        _set_enabled(self.train_button, not why, why or tip)
        self.train_button.setText("Train (queued)" if loading and self.train_queued else "Train")
        acts.act_train.setEnabled(not why)
        _set_enabled(self.stop_button, training and not s.stopping, "Stop training after the current step (Esc)")
        gwhy = (host.core_error or LOADING) if not core_ok else (
            "Train or load a model first" if not has_model else (f"Busy: {busy} is running" if busy else (
                "Some settings are invalid: see the Generation tab" if not host.generation_form.is_valid else "")))
        _set_enabled(self.generate_button, not gwhy, gwhy or "Generate audio with the model (Ctrl+G)")
        acts.act_generate.setEnabled(not gwhy)
        pwhy = (host.core_error or LOADING) if not core_ok else (
            "Train or load a model first" if not has_model else "Wait until generation ends" if generating else
            "A preview is being made" if self.preview_job is not None and self.preview_job.running else
            "Some settings are invalid: see the Generation tab" if not host.generation_form.is_valid else "")
        _set_enabled(self.preview_button, not pwhy, pwhy or PREVIEW_TIP)
        _set_enabled(self.cancel_button, generating and not s.stopping,
                     "Cancel generation, keeping what was made (Esc)")
        lwhy = (host.core_error or LOADING) if not core_ok else (f"Busy: {busy} is running" if busy else "")
        _set_enabled(self.load_model_button, not lwhy, lwhy or "Load a trained model")
        acts.act_load_model.setEnabled(not lwhy)
        can_save = has_model and not busy
        _set_enabled(self.save_model_button, can_save, "Save the current model" if can_save else (
            "Train or load a model first" if not has_model else f"Busy: {busy} is running"))
        acts.act_save_model.setEnabled(can_save)
        can_export, export_tip = host.results.can_export()
        _set_enabled(self.export_button, can_export, export_tip)
        acts.act_export.setEnabled(can_export)
        acts.act_export_all.setEnabled(can_export and s.results is not None and len(s.results.buffers) > 1)
        self._update_play_buttons()

    def _update_play_buttons(self) -> None:
        player = self.host.player
        ok, reason = player.availability()
        if not ok and self.audio_label.toolTip() != reason:
            self.audio_label.setToolTip(reason)
        self.audio_label.setVisible(not ok)
        playing = player.state == PLAYING
        for which, button, label in (("generated", self.play_button, "Play"),
                                     ("input", self.play_input_button, "Play input")):
            active = playing and player.tag == which
            button.setText("Stop" if active else label)
            if not ok:
                _set_enabled(button, False, reason)
            elif active:
                _set_enabled(button, True, "Stop playback (Space)")
            else:
                can = self.can_play(which)
                tip = ("Play the generated audio (Space)" if which == "generated" else "Play the selected input file")
                if not can:
                    tip = "Generate audio first" if which == "generated" else "Select an input file first"
                _set_enabled(button, can, tip)
        self.host.menus.act_play.setEnabled(ok)

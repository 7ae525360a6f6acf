"""The settings panel: the Training and Generation forms in tabs, kept in step with the session's settings.

The settings themselves are the session's (:attr:`Session.settings`, checked by
:mod:`wavenet_gui.core.config` when used).  Every edit is handed to the session; when the
session changes them (a preset), it announces "settings" and the forms follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QScrollArea, QTabWidget

from wavenet_gui.core import config

from .forms import GenerationForm, TrainingForm

if TYPE_CHECKING:
    from .window import MainWindow


class SettingsView(QTabWidget):
    """The forms, in scroll areas, one tab each.

    Examples
    --------
    >>> view = SettingsView(window)          # doctest: +SKIP
    >>> view.apply_preset("imitate")         # doctest: +SKIP
    """

    def __init__(self, host: MainWindow) -> None:
        super().__init__()
        self.setObjectName("settingsTabs")
        self.host = host
        self.session = host.session
        self.follow_files = False  # apply the suggested preset when files come (first launch, reset)
        self._syncing = False  # the forms are being filled from the session
        self.training_form = TrainingForm()
        self.generation_form = GenerationForm()
        self.form_scrolls: list[QScrollArea] = []
        for form, title in ((self.training_form, "Training"), (self.generation_form, "Generation")):
            scroll = QScrollArea()
            scroll.setObjectName(f"{form.objectName()}Scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            # The panel opens wide enough for the form (below); made narrower (a small screen, 200 %
            # scaling), the form scrolls sideways too rather than holding the window wide.
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            scroll.setWidget(form)
            self.form_scrolls.append(scroll)
            self.addTab(scroll, title)

    def load(self, settings: QSettings) -> None:
        """Fill the forms from ``settings`` (the defaults follow the files when nothing was stored)."""
        stored = self.training_form.load_settings(settings)
        self.generation_form.load_settings(settings)
        self.follow_files = not stored
        self.push()
        self.training_form.changed.connect(self._on_form_changed)
        self.generation_form.changed.connect(self._on_form_changed)
        self.training_form.preset_chosen.connect(self.apply_preset)

    def save(self, settings: QSettings) -> None:
        self.training_form.save_settings(settings)
        self.generation_form.save_settings(settings)

    def panel_width(self) -> int:
        """The width the wider form needs, with its vertical scroll bar and the frames."""
        forms = (self.training_form, self.generation_form)
        form_w = max(max(f.minimumSizeHint().width() for f in forms), *(f.sizeHint().width() for f in forms))
        return form_w + self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent) + 24

    def push(self) -> None:
        """Hand the forms' values (checked when used) to the session."""
        self.session.update_settings({**self.training_form.raw_values(), **self.generation_form.raw_values()})

    def follow_session(self) -> None:
        """The session's settings changed (a preset): show them."""
        # A snapshot first: filling the training form announces its change, which pushes both
        # forms to the session, the generation form's old values over the preset's.
        values = dict(self.session.settings)
        self._syncing = True
        try:
            for form in (self.training_form, self.generation_form):
                form.set_values({k: v for k, v in values.items() if k in form.widgets})
        finally:
            self._syncing = False
        self._refresh()

    def files_changed(self, paths: list[str], clip_seconds: list[float]) -> None:
        """The files changed: the prime choices, the clip lengths and (while it follows them) the preset."""
        self.generation_form.set_files([p for p in paths])
        self.training_form.set_clip_seconds(clip_seconds)
        if self.follow_files and paths:  # the defaults the app opens with suit the files in the list
            self.apply_preset()
        else:
            self.training_form.show_preset(self.training_form.matching_preset())

    def _on_form_changed(self) -> None:
        if self._syncing:  # follow_session fills the forms from the session, then refreshes once
            return
        self.push()
        self.follow_files = False  # the user edited a field: the form no longer follows the files
        self.training_form.applied_preset = None  # nor names the preset it came from unless it matches
        self._refresh()

    def _refresh(self) -> None:
        self.training_form.show_preset(self.training_form.matching_preset())
        self.training_form.set_model_mismatch(self.session.model_mismatch())
        self.host.files_view.show_durations()  # the silence threshold or the rate may have changed
        self.host.update_actions()

    def apply_preset(self, name: str = "") -> None:
        """Fill in the form with preset ``name`` (empty: the one that suits the files in the list)."""
        name = name or self.session.suggested_preset()
        self.session.apply_preset(name)  # announces "settings": the forms follow
        self.training_form.applied_preset = (name, config.preset_values(name, clip_seconds=self.session.clip_seconds()))
        self.training_form.show_preset(name)
        self.host.status(f"Preset: {self.training_form.preset_combo.currentText()}", 4000)

    def reset_all(self) -> None:
        self.apply_preset()
        self.generation_form.reset_defaults()
        self.host.status("Settings reset to the defaults for these files", 4000)

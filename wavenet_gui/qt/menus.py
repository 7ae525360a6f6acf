"""The menu bar and its actions (with their shortcuts), and the recent-files menu."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from . import dialogs
from .recent import RecentFiles

if TYPE_CHECKING:
    from .window import MainWindow


class Menus(QObject):
    """File, Run, View and Help: every action is also a shortcut on the window.

    Examples
    --------
    >>> menus = Menus(window)            # doctest: +SKIP
    >>> menus.act_train.trigger()        # doctest: +SKIP
    """

    def __init__(self, host: MainWindow) -> None:
        super().__init__(host)
        files, results, run, plots = host.files_view, host.results, host.run, host.plots

        def action(text: str, shortcut, slot) -> QAction:
            a = QAction(text, host)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            host.addAction(a)
            return a

        self.act_open = action("&Add audio files…", QKeySequence.StandardKey.Open, files.open_files_dialog)
        self.act_open_folder = action("Add a &folder…", "Ctrl+Shift+O", files.open_folder_dialog)
        self.act_remove = action("&Remove selected files", QKeySequence.StandardKey.Delete,
                                 files.remove_selected_files)
        self.act_load_model = action("&Load model…", "Ctrl+L", run.open_model_dialog)
        self.act_save_model = action("&Save model…", QKeySequence.StandardKey.Save, run.save_model_dialog)
        self.act_export = action("&Export audio…", "Ctrl+E", lambda: results.export_dialog())
        self.act_export_all = action("Export &all variations…", None,
                                     lambda: results.export_dialog(all_variations=True))
        self.act_export_plots = action("Export &plots (PNG, SVG)…", "Ctrl+Shift+E", results.export_plots_dialog)
        self.act_open_output = action("Open &output folder", None, results.open_output_folder)
        self.act_preferences = action("Pre&ferences…", QKeySequence.StandardKey.Preferences,
                                      lambda: dialogs.show_preferences(host))
        if self.act_preferences.shortcut().isEmpty():
            self.act_preferences.setShortcut(QKeySequence("Ctrl+,"))
        self.act_quit = action("&Quit", "Ctrl+Q", host.close)
        self.act_train = action("&Train", "Ctrl+T", run.start_training)
        self.act_stop = action("&Stop / Cancel", Qt.Key.Key_Escape, run.stop_all)
        self.act_generate = action("&Generate", "Ctrl+G", run.start_generation)
        self.act_play = action("&Play / Stop", Qt.Key.Key_Space, lambda: run.toggle_play())
        self.act_log = plots.act_log
        self.act_spectrogram = plots.act_spectrogram
        host.addAction(self.act_spectrogram)
        self.act_messages = host.messages_dock.toggleViewAction()
        self.act_messages.setText("&Messages")
        self.act_messages.setShortcut(QKeySequence("Ctrl+M"))
        host.addAction(self.act_messages)
        self.act_reset = action("&Reset settings to defaults", None, host.settings_view.reset_all)
        self.act_quick_start = action("&Quick start", QKeySequence.StandardKey.HelpContents,
                                      lambda: dialogs.show_quick_start(host))
        self.act_about = action("&About WaveNet GUI", None, lambda: dialogs.show_about(host))
        self.recent = RecentFiles(host.settings, host, host.open_recent)
        self.recent_menu = self.recent.menu
        menus = (("&File", (self.act_open, self.act_open_folder, self.act_remove, None, self.act_load_model,
                            self.act_save_model, self.recent_menu, None, self.act_export, self.act_export_all,
                            self.act_export_plots, self.act_open_output, None, self.act_preferences, None,
                            self.act_quit)),
                 ("&Run", (self.act_train, self.act_stop, None, self.act_generate, self.act_play)),
                 ("&View", (self.act_log, self.act_spectrogram, self.act_messages, self.act_reset)),
                 ("&Help", (self.act_quick_start, self.act_about)))
        bar = host.menuBar()
        for title, items in menus:
            m = bar.addMenu(title)
            for a in items:
                if a is None:
                    m.addSeparator()
                elif isinstance(a, QAction):
                    m.addAction(a)
                else:
                    m.addMenu(a)

    #: The actions the window exposes by name (``window.act_train``, ...).
    NAMES = ("act_open", "act_open_folder", "act_remove", "act_load_model", "act_save_model", "act_export",
             "act_export_all", "act_export_plots", "act_open_output", "act_preferences", "act_quit", "act_train",
             "act_stop", "act_generate", "act_play", "act_log", "act_spectrogram", "act_messages", "act_reset",
             "act_quick_start", "act_about", "recent", "recent_menu")

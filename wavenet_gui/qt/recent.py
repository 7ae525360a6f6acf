"""File > Open recent: the last ten audio files and models added, loaded or saved (in QSettings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QWidget

RECENT_MAX = 10
_KEY = "recent/items"


class RecentFiles:
    """The list, kept in ``settings``, and the menu that shows it.

    ``open_item(kind, path)`` is called when an entry is chosen (kind is ``"audio"`` or ``"model"``).
    """

    def __init__(self, settings: QSettings, parent: QWidget, open_item: Callable[[str, str], object]) -> None:
        self.settings = settings
        self.open_item = open_item
        self.menu = QMenu("Open &recent", parent)
        self.menu.setObjectName("recentMenu")
        self.menu.aboutToShow.connect(self.fill_menu)
        self.fill_menu()

    def items(self) -> list[tuple[str, str]]:
        """``(kind, path)`` pairs, most recent first."""
        stored = self.settings.value(_KEY) or []
        if isinstance(stored, str):
            stored = [stored]
        out = []
        for entry in stored:
            kind, _, path = str(entry).partition(":")
            if kind in ("audio", "model") and path:
                out.append((kind, path))
        return out

    def _store(self, items: list[tuple[str, str]]) -> None:
        self.settings.setValue(_KEY, [f"{k}:{p}" for k, p in items[:RECENT_MAX]])

    def remember(self, kind: str, path: str | Path) -> None:
        entry = (kind, str(Path(path).resolve()))
        self._store([entry] + [i for i in self.items() if i != entry])

    def forget(self, kind: str, path: str) -> None:
        self._store([i for i in self.items() if i != (kind, path)])
        self.fill_menu()

    def clear(self) -> None:
        self._store([])
        self.fill_menu()

    def fill_menu(self) -> None:
        menu = self.menu
        menu.clear()
        items = self.items()
        if not items:
            menu.addAction("No recent files").setEnabled(False)
            return
        for kind, path in items:
            p = Path(path)
            a = menu.addAction(f"{'Model' if kind == 'model' else 'Audio'}: {p.name}  ({p.parent})")
            a.setStatusTip(path)
            a.triggered.connect(lambda _=False, k=kind, q=path: self.open_item(k, q))
        menu.addSeparator()
        menu.addAction("Clear list", self.clear)

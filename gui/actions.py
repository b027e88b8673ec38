"""The window's actions (menus, toolbar, shortcuts), created in one place."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from .theme import icon


def _action(parent: QObject, text: str, icon_name: str = "", shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, parent)
    if icon_name:
        action.setIcon(icon(icon_name))
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.setCheckable(checkable)
    return action


class QtActions:
    """Plain holder of QActions; the main window connects them."""

    def __init__(self, parent: QObject) -> None:
        std = QKeySequence.StandardKey
        self.open_db = _action(parent, "&Open database\u2026", "open", std.Open, "Open a ReviewScope database file")
        self.import_folder = _action(parent, "&Import catalogue folder\u2026", "import", "Ctrl+I",
                                     "Import a JSONL catalogue or MRHP folder")
        self.import_file = _action(parent, "Import catalogue &file\u2026", "import", None, "Import a CSV or JSONL file")
        self.export_view = _action(parent, "&Export current view\u2026", "export", "Ctrl+E",
                                   "Write the rows of the review table (all pages) to CSV or JSONL")
        self.export_flags = _action(parent, "Export all &flags\u2026", "export", None, "Write every active flag to CSV or JSONL")
        self.quit = _action(parent, "&Quit", "", std.Quit)
        self.flag = _action(parent, "&Flag review\u2026", "flag", "F", "Flag the current review")
        self.undo_key = _action(parent, "Undo (U)", "undo", "U")
        self.labels = [_action(parent, f"Set corrected label {n}", "", str(n)) for n in range(5)]
        self.user_name = _action(parent, "&User name\u2026", "", None, "The name written into flags and the audit log")
        self.dark_theme = _action(parent, "&Dark theme", "theme", "Ctrl+Shift+D", "Switch between the light and dark theme",
                                  checkable=True)
        self.refresh = _action(parent, "&Reload", "refresh", std.Refresh, "Reload products, reviews and queues")
        self.shortcuts = _action(parent, "&Keyboard shortcuts", "", None)
        self.about = _action(parent, "&About ReviewScope", "app")
        # Triage keys act in the review table and the queue only, never while typing elsewhere.
        for a in (self.flag, self.undo_key, *self.labels):
            a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

    @property
    def triage(self) -> list[QAction]:
        return [self.flag, self.undo_key, *self.labels]


SHORTCUTS_HELP = """Review table and disagreement queue:
  J / K      next / previous review
  0 - 4      set the corrected helpfulness label
             (creates a "model too high" or "model too low" flag, or updates the flag)
  F          flag dialog
  U          undo the last flag change (Ctrl+Shift+Z: redo)
  Enter      read the review in the detail pane (Esc: back)

Ctrl+O open database, Ctrl+I import catalogue, Ctrl+E export view, F5 reload."""

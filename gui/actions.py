"""The window's actions (menus, toolbar, shortcuts), created in one place.

Their keys come from :mod:`gui.state.shortcuts` (defaults plus the user's overrides):
:meth:`QtActions.apply_keys` sets them, and the sheet is built from the same table.
"""
from __future__ import annotations

from html import escape
from typing import Mapping

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from .state import shortcuts
from .theme import icon


def _action(parent: QObject, text: str, icon_name: str = "", tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, parent)
    if icon_name:
        action.setIcon(icon(icon_name))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.setCheckable(checkable)
    return action


class QtActions:
    """Plain holder of QActions; the main window connects them."""

    def __init__(self, parent: QObject) -> None:
        self.open_db = _action(parent, "&Open database\u2026", "open", "Open a ReviewScope database file")
        self.import_folder = _action(parent, "&Import catalogue folder\u2026", "import", "Import a JSONL catalogue or MRHP folder")
        self.import_file = _action(parent, "Import catalogue &file\u2026", "import", "Import a CSV or JSONL file")
        self.import_mapped = _action(parent, "Import with column &mapping\u2026", "import",
                                     "Import any CSV or JSONL file of reviews, choosing which column holds each field")
        self.export_view = _action(parent, "&Export current view\u2026", "export",
                                   "Write the rows of the review table (all pages; with no product selected, every\n"
                                   "product's reviews that pass the filter) to CSV or JSONL")
        self.export_flags = _action(parent, "Export all &flags\u2026", "export", "Write every active flag to CSV or JSONL")
        self.quit = _action(parent, "&Quit")
        self.flag = _action(parent, "&Flag review\u2026", "flag", "Flag the current review, or edit its flag")
        self.dispute = _action(parent, "&Dispute a sub-score\u2026", "",
                               "Say which sub-score of the current review is too high or too low, or clear that\n"
                               "(also: right-click a bar of the sub-score chart)")
        self.bulk_selected = _action(parent, "Apply to &selected reviews\u2026", "flag",
                                     "Flag every selected review of the table at once (Ctrl/Shift+click or Ctrl+A\n"
                                     "select several); one undo takes it all back")
        self.bulk_filter = _action(parent, "Apply to &every review matching this filter\u2026", "flag",
                                   "Flag every review of the table's product that its filter and search let\n"
                                   "through, on every page; one undo takes it all back")
        self.flag_kinds = _action(parent, "Manage flag &kinds\u2026", "", "Add, rename, retire or restore the kinds a flag can have")
        self.undo_key = _action(parent, "Undo last flag change", "undo", "Undo the last flag change (from the table or queue)")
        self.labels = [_action(parent, f"Set corrected label {n}") for n in range(5)]
        self.next = _action(parent, "&Next review", "", "Next review in the table or the queue")
        self.previous = _action(parent, "&Previous review", "", "Previous review in the table or the queue")
        self.advance = _action(parent, "&Advance after a decision", "",
                               "A label key or a saved flag moves on to the next review", checkable=True)
        self.user_name = _action(parent, "&User name\u2026", "", "The name written into flags and the audit log")
        self.dark_theme = _action(parent, "&Dark theme", "theme", "Switch between the light and dark theme", checkable=True)
        self.refresh = _action(parent, "&Reload", "refresh", "Reload products, reviews and queues")
        self.shortcuts = _action(parent, "&Keyboard shortcuts")
        self.edit_shortcuts = _action(parent, "Change &keyboard shortcuts\u2026", "", "Rebind any shortcut")
        self.about = _action(parent, "&About ReviewScope", "app")
        self.search = _action(parent, "&Search all reviews\u2026", "search",
                              "Search review texts, review titles and product titles across every product")
        self.save_view = _action(parent, "&Save view as\u2026", "", "Name the review table's filter, sort and columns")
        # Triage keys act in the review table and the queue only, never while typing elsewhere.
        for a in self.triage:
            a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.keyed: dict[str, QAction] = {
            "open_db": self.open_db, "import_folder": self.import_folder, "import_file": self.import_file,
            "export_view": self.export_view, "export_flags": self.export_flags, "quit": self.quit,
            "flag": self.flag, "dispute": self.dispute, "undo_key": self.undo_key, "next": self.next, "previous": self.previous,
            "refresh": self.refresh, "dark_theme": self.dark_theme, "shortcuts": self.shortcuts,
            "search": self.search, "save_view": self.save_view, "bulk_selected": self.bulk_selected,
            "bulk_filter": self.bulk_filter,
            **{f"label_{n}": a for n, a in enumerate(self.labels)},
        }
        """Binding id -> action, for every action that has a key (undo/redo join in the window)."""

    @property
    def triage(self) -> list[QAction]:
        return [self.flag, self.dispute, self.undo_key, self.next, self.previous, *self.labels]

    def apply_keys(self, keys: Mapping[str, tuple[str, ...]]) -> None:
        for bid, action in self.keyed.items():
            action.setShortcuts([QKeySequence(k) for k in keys.get(bid, ())])


def shortcut_sheet(keys: Mapping[str, tuple[str, ...]]) -> str:
    """The keyboard shortcut sheet as an HTML table (aligned columns, whatever the font)."""
    rows = []
    for group, items in shortcuts.sheet_rows(keys):
        rows.append(f"<tr><td colspan='2'><b>{escape(group)}</b></td></tr>")
        rows += [f"<tr><td style='padding-right:18px'><code>{escape(k)}</code></td><td>{escape(text)}</td></tr>"
                 for k, text in items]
    return "<table cellspacing='2'>" + "".join(rows) + "</table>"

"""The disagreement queue as a table, in the order of :class:`DisagreementQueueState`."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPalette

from ..state.disagreement_queue import DisagreementQueueState, is_done
from .formatting import fmt_flag, fmt_float, one_line
from .record_table import RecordTableModel
from .roles import KeyRole, RecordRole, SortRole

Index = QModelIndex | QPersistentModelIndex
_COLUMNS = ("Product", "Review", "Score", "Label", "Model implies", "Rank gap", "Flag")
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class DisagreementTableModel(RecordTableModel):
    """Rows are ``gui.queries.QueueItem`` objects from the queue state."""

    def __init__(self, state: DisagreementQueueState, parent=None) -> None:
        super().__init__(parent)
        self._state = state
        self._items: tuple = ()
        state.events.items.connect(self._on_items_changed)

    def _on_items_changed(self, items) -> None:
        self.beginResetModel()
        self._items = tuple(items)
        self.endResetModel()

    COLUMNS = _COLUMNS

    def _records(self):
        return self._items

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        d, r, col = item.disagreement, item.row, index.column()
        if role == RecordRole:
            return item
        if role == KeyRole:
            return item.review_pk
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                ("\u2713 " if is_done(item) else "") + one_line(item.product_title, 40), one_line(r.title or r.text, 60), fmt_float(d.score), str(d.label),
                str(d.info.implied_label), f"{d.info.rank_gap:+d}", fmt_flag(r.flag_kind, r.corrected_label),
            )[col]
        if role == SortRole:
            return (item.product_title, r.title, d.score, d.label, d.info.implied_label, abs(d.info.rank_gap or 0),
                    r.flag_kind or "")[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{d.direction}: rank {d.info.model_rank} of {d.info.n_scored} under the model; "
                f"its vote label {d.label} belongs {abs(d.info.rank_gap or 0)} places "
                f"{'lower' if (d.info.rank_gap or 0) > 0 else 'higher'}"
                + (f"\nDone: {fmt_flag(r.flag_kind, r.corrected_label)}" if is_done(item) else "")
            )
        if role == Qt.ItemDataRole.ForegroundRole and is_done(item):
            return QPalette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)  # done: greyed
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= col <= 5:  # numbers; the flag reads left-aligned
            return _RIGHT
        return None

"""Item models of the models view: model versions, and the three comparison tables.

One generic read-only table model over a list of records, with columns given as
``(header, value function, tooltip)``; sorting is done by a QSortFilterProxyModel on
:data:`SortRole`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from storage.records import ModelVersionRecord

from ..models.formatting import fmt_datetime, one_line
from ..models.roles import KeyRole, SortRole
from .compare import RankMove
from .drift import SERIES, share_text
from .queries import ModelsSnapshot

Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
UP, DOWN = QColor(30, 140, 70), QColor(192, 57, 43)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    text: Optional[Callable[[Any], str]] = None
    tooltip: str = ""
    number: bool = False
    signed: bool = False  # colour > 0 green, < 0 red


def _num(digits: int = 1) -> Callable[[Any], str]:
    return lambda v: "" if v is None else f"{v:.{digits}f}"


def _signed(digits: int = 1) -> Callable[[Any], str]:
    return lambda v: "" if v is None else (f"{v:+.{digits}f}" if isinstance(v, float) else f"{v:+d}")


class RecordTableModel(QAbstractTableModel):
    """Rows of records, columns of :class:`Column`; :data:`KeyRole` gives ``key(record)``."""

    def __init__(self, columns: Sequence[Column], key: Callable[[Any], Any] = id, parent=None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._key = key
        self._rows: list = []

    def set_rows(self, rows: Sequence) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def record(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].tooltip or None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.columns):
            return None
        rec = self._rows[index.row()]
        col = self.columns[index.column()]
        value = col.value(rec)
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(value) if col.text else ("" if value is None else str(value))
        if role == SortRole:
            return value if value is not None else float("-inf") if col.number else ""
        if role == KeyRole:
            return self._key(rec)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.number:
            return _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and col.signed and isinstance(value, (int, float)) and value:
            return UP if value > 0 else DOWN
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(rec, col, value)
        if role == Qt.ItemDataRole.FontRole:
            return self._font(rec)
        return None

    def _tooltip(self, rec, col: Column, value: Any) -> Optional[str]:
        return None

    def _font(self, rec) -> Optional[QFont]:
        return None


# ---------------------------------------------------------------- model versions


def _metric(split: str, name: str) -> Callable[[ModelVersionRecord], Optional[float]]:
    def get(m: ModelVersionRecord) -> Optional[float]:
        block = m.metrics.get(split)
        value = block.get(name) if isinstance(block, dict) else None
        return float(value) if isinstance(value, (int, float)) else None

    return get


def _origin(m: ModelVersionRecord) -> str:
    card = m.card if isinstance(m.card, dict) else {}
    if card.get("bundled"):
        return "bundled starter"
    if card.get("imported_from"):
        return "imported"
    recipe = card.get("recipe") or ""
    device = card.get("device") or ""
    return ", ".join(x for x in (recipe, device) if x)


class ModelListModel(RecordTableModel):
    """Model versions; the active one in bold, with how many reviews each has scored."""

    def __init__(self, parent=None) -> None:
        super().__init__([
            Column("", lambda m: "\u25cf" if m.active else "", tooltip="Active model"),
            Column("Name", lambda m: m.name),
            Column("Parent", lambda m: self._names.get(m.parent_id, "") if m.parent_id else "",
                   tooltip="The model it was trained from"),
            Column("Created", lambda m: m.created_at, fmt_datetime),
            Column("Dev MAP", _metric("dev", "MAP"), _num(), "MAP on the dev split (x100)", number=True),
            Column("Dev N@3", _metric("dev", "NDCG@3"), _num(), "NDCG@3 on the dev split (x100)", number=True),
            Column("Test MAP", _metric("test", "MAP"), _num(), "MAP on the test split (x100)", number=True),
            Column("Scored", lambda m: self._scored(m), tooltip="Reviews scored by this model / reviews", number=False),
            Column("Origin", _origin, tooltip="Recipe and device, or where it came from"),
        ], key=lambda m: m.id, parent=parent)
        self._snapshot: Optional[ModelsSnapshot] = None
        self._names: dict[int, str] = {}

    def set_snapshot(self, snapshot: ModelsSnapshot) -> None:
        self._snapshot = snapshot
        self._names = {m.id: m.name for m in snapshot.models}
        self.set_rows(list(reversed(snapshot.models)))  # newest first

    def _scored(self, m: ModelVersionRecord) -> str:
        if self._snapshot is None:
            return ""
        return f"{self._snapshot.scored.get(m.id, 0)}/{self._snapshot.reviews}"

    def row_of(self, model_id: int) -> Optional[int]:
        return next((i for i, m in enumerate(self._rows) if m.id == model_id), None)

    def _font(self, m: ModelVersionRecord) -> Optional[QFont]:
        if not m.active:
            return None
        font = QFont()
        font.setBold(True)
        return font

    def _tooltip(self, m: ModelVersionRecord, col: Column, value: Any) -> Optional[str]:
        if col.header == "Name":
            return f"{m.name}\n{m.checkpoint_path}\nsha256 {m.checkpoint_sha256[:16]}\u2026"
        return col.tooltip or None


# ---------------------------------------------------------------- comparison


def metric_table(parent: QObject | None = None) -> RecordTableModel:
    return RecordTableModel([
        Column("Split", lambda r: r.split),
        Column("Metric", lambda r: r.metric),
        Column("A", lambda r: r.a, _num(2), number=True),
        Column("B", lambda r: r.b, _num(2), number=True),
        Column("\u0394", lambda r: r.delta, _signed(2), "B minus A", number=True, signed=True),
    ], key=lambda r: (r.split, r.metric), parent=parent)


def product_table(parent: QObject | None = None) -> RecordTableModel:
    return RecordTableModel([
        Column("\u0394 AP", lambda r: r.delta, _signed(), "AP of B minus AP of A (x100)", number=True, signed=True),
        Column("Product", lambda r: one_line(r.title, 48)),
        Column("AP A", lambda r: r.ap_a, _num(), number=True),
        Column("AP B", lambda r: r.ap_b, _num(), number=True),
        Column("Labelled", lambda r: r.n_labelled, number=True,
               tooltip="Labelled reviews that both models scored"),
        Column("Split", lambda r: r.split),
    ], key=lambda r: r.product_id, parent=parent)


def _move_text(move: RankMove) -> str:
    if move.row is None:
        return f"review #{move.review_pk}"
    return one_line(move.row.title or move.row.text, 70)


def moves_table(parent: QObject | None = None) -> RecordTableModel:
    return RecordTableModel([
        Column("Moved", lambda m: m.delta, lambda d: ("\u25b2" if d > 0 else "\u25bc") + str(abs(d)),
               "Places up (\u25b2) or down (\u25bc) from A to B", number=True, signed=True),
        Column("Review", _move_text),
        Column("A", lambda m: m.old_rank, number=True, tooltip="Rank under model A"),
        Column("B", lambda m: m.new_rank, number=True, tooltip="Rank under model B"),
        Column("Label", lambda m: m.row.label if m.row is not None else None, number=True,
               tooltip="Vote label (0-4)"),
        Column("Product", lambda m: m.product_id),
    ], key=lambda m: m.review_pk, parent=parent)


# ---------------------------------------------------------------- drift (unflagged reviews)


class _SentenceTooltips(RecordTableModel):
    """Every cell's tooltip is the row's plain-words sentence."""

    def _tooltip(self, rec, col: Column, value: Any) -> Optional[str]:
        return getattr(rec, "sentence", None) or col.tooltip or None


def _mean(v: Optional[float]) -> str:
    text = "" if v is None else f"{v:.2f}"
    return "0.00" if text == "-0.00" else text


def drift_summary_table(parent: QObject | None = None) -> RecordTableModel:
    return _SentenceTooltips([
        Column("Series", lambda s: s.name),
        Column("Moved", lambda s: s.moved_share, share_text,
               "Share of reviews with |B \u2212 A| > 1 label step (the score: > one standard deviation of A's scores)",
               number=True),
        Column("KS D", lambda s: None if s.flat else s.ks_d, lambda v: "flat" if v is None else f"{v:.2f}",
               "Kolmogorov-Smirnov statistic: the largest gap between the two distributions' CDFs (0 = same)",
               number=True),
        Column("A", lambda s: s.mean_a, _mean, "Mean under model A", number=True),
        Column("B", lambda s: s.mean_b, _mean, "Mean under model B", number=True),
        Column("n", lambda s: s.n, lambda v: f"{v:,}", "Unflagged reviews with a value under both models", number=True),
    ], key=lambda s: s.name, parent=parent)


def drift_movers_table(parent: QObject | None = None) -> RecordTableModel:
    return RecordTableModel([
        Column("\u0394", lambda m: m.delta, _signed(2), "B minus A", number=True, signed=True),
        Column("Review", lambda m: one_line(m.row.title or m.row.text, 70) if m.row is not None else f"review #{m.review_pk}"),
        Column("A", lambda m: m.a, _mean, number=True, tooltip="Value under model A"),
        Column("B", lambda m: m.b, _mean, number=True, tooltip="Value under model B"),
        Column("Category", lambda m: m.category),
    ], key=lambda m: m.review_pk, parent=parent)


def drift_category_table(parent: QObject | None = None) -> RecordTableModel:
    return RecordTableModel([
        Column("Category", lambda c: c.category),
        Column("n", lambda c: c.n, lambda v: f"{v:,}", "Unflagged reviews of the category scored by both", number=True),
        *(Column(name, (lambda i: lambda c: c.moved_share[i])(i), share_text,
                 f"Share of the category's reviews whose {name} moved (see the summary's Moved)", number=True)
          for i, name in enumerate(SERIES)),
    ], key=lambda c: c.category, parent=parent)

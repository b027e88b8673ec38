"""The detail pane's word tint (gui/state/text_highlight.py): background colours put on the review
text's document, and the legend row with its on/off box.

The text stays plain: the tint is a character format laid on a QPlainTextEdit's document after
``setPlainText``, so nothing a review contains is ever interpreted (the title stays a plain-text
label; its words' values are in its tooltip, shown literally). Orange and blue (a colour-blind-safe diverging pair, ColorBrewer's
PuOr/RdBu ends), mixed from the theme's base colour by the word's level; explicit per theme, as the
waterfall's, never the palette (it may still be the old theme's when the switch reaches here).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ..state.text_highlight import LEGEND_DOWN, LEGEND_UP, HighlightView, Tint

_BASE = {False: "#ffffff", True: "#252a31"}  # gui/theme.py's Base colours
_FULL = {  # (raised, lowered) at level 1: light backgrounds under dark text, dark ones under light text
    False: ("#f1a340", "#67a9cf"),
    True: ("#b35806", "#2166ac"),
}


def tint_color(level: float, dark: bool) -> QColor:
    """The background of a word at ``level`` in [-1, 1] (0: the base colour)."""
    base, full = QColor(_BASE[dark]), QColor(_FULL[dark][0 if level >= 0 else 1])
    t = min(1.0, abs(level))
    return QColor.fromRgbF(*(b + (f - b) * t for b, f in zip(base.getRgbF()[:3], full.getRgbF()[:3])))


def apply_tints(edit: QPlainTextEdit, tints: tuple[Tint, ...], dark: bool) -> None:
    """Lay the tints on ``edit``'s document (whose text must be the displayed text they index);
    no tints clears every background."""
    doc = edit.document()
    cursor = QTextCursor(doc)
    cursor.beginEditBlock()
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.setCharFormat(QTextCharFormat())
    last = doc.characterCount() - 1
    for t in tints:
        if t.start >= last:
            continue
        cursor.setPosition(t.start)
        cursor.setPosition(min(t.end, last), QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setBackground(tint_color(t.level, dark))
        cursor.mergeCharFormat(fmt)
    cursor.endEditBlock()


class QtHighlightLegend(QWidget):
    """The legend under the review text: a box that turns the tint on and off, what each colour
    means (one wrapping label: the pane may be narrow), and where reading stopped. Emits
    ``toggled(bool)``; :meth:`set_checked` follows the state."""

    toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("Tint words", self)
        self.check.setChecked(True)
        self.check.toggled.connect(self.toggled)
        self.key = QLabel(self)  # our own constant words and colours, never review text (AutoText: rendered)
        self.key.setWordWrap(True)
        self.note = QLabel(self)
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.check)
        row.addWidget(self.key, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.set_dark(False)

    def set_dark(self, dark: bool) -> None:
        def swatch(level: float) -> str:
            return f'<span style="background-color:{tint_color(level, dark).name()}">&nbsp;&nbsp;&nbsp;&nbsp;</span>'

        self.key.setText(f"{swatch(1.0)}&nbsp;{LEGEND_UP} &nbsp; {swatch(-1.0)}&nbsp;{LEGEND_DOWN}")

    def set_checked(self, on: bool) -> None:
        if self.check.isChecked() != on:
            self.check.setChecked(on)

    def set_view(self, view: Optional[HighlightView]) -> None:
        on = self.check.isChecked()
        self.key.setVisible(on)
        self.note.setText(view.note if view else "")
        self.note.setVisible(on and bool(view and view.note))
        self.setToolTip(view.tooltip if view else "")

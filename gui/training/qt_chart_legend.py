"""One legend for the training charts: the five subtasks keep their colour in every chart."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from .chart_style import BEST_COLOR, DARK_MAIN, LIGHT_MAIN, NDCG_COLOR, STEP_COLOR, SUBTASK_COLORS


def _swatch(color: str, text: str, dashed: bool = False, dot: bool = False) -> str:
    mark = "\u2504\u2504" if dashed else ("\u25cf" if dot else "\u25a0")
    return f"<span style='color:{color}'>{mark}</span>&nbsp;{html.escape(text)}"


class QtChartLegend(QLabel):
    """Rich text built from constants only (no user text)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("muted")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.set_dark(False)

    def set_dark(self, dark: bool) -> None:
        main = DARK_MAIN if dark else LIGHT_MAIN
        parts = [_swatch(c, name) for name, c in SUBTASK_COLORS.items()]
        parts += [_swatch(main, "target loss, dev MAP"), _swatch(NDCG_COLOR, "dev NDCG@3", dashed=True),
                  _swatch(BEST_COLOR, "best epoch", dot=True), _swatch(BEST_COLOR, "parent's dev MAP", dashed=True),
                  _swatch(main, "human labels", dashed=True),
                  _swatch(STEP_COLOR, "loss of each step")]
        self.setText("&nbsp;&nbsp; ".join(parts))
        self.setToolTip("Subtasks: p = product, r = review, t = text, v = image (vision); "
                        "e.g. p_t r_v pairs the product text with the review images.")

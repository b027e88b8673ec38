"""The Models view's disputed sub-scores: per interaction, on how many reviews moderators said the
selected model's sub-score was wrong ("moderators disputed p_t r_t on 14 reviews")."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from .queries import DisputeSummary
from .state import ModelsViewState


def dispute_text(summary: Optional[DisputeSummary], model_name: str = "") -> str:
    """The sentence(s) shown; "" when no single model is selected."""
    if summary is None:
        return ""
    of = f" of {model_name}" if model_name else ""
    if summary.total == 0:
        return f"No sub-score{of} is disputed by an active flag."
    lines = []
    for c in summary.counts:
        if not c.reviews:
            continue
        ways = [f"{n} too high" for n in (c.too_high,) if n] + [f"{n} too low" for n in (c.too_low,) if n]
        lines.append(f"Moderators disputed {c.interaction} on {c.reviews:,} review{'s' if c.reviews != 1 else ''}"
                     f" ({', '.join(ways)})")
    return f"Disputed sub-scores{of}:\n" + "\n".join(lines)


class QtDisputeCounts(QLabel):
    """Shows ``state.disputes``; keeps nothing of its own."""

    def __init__(self, state: ModelsViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.setObjectName("disputeCounts")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setToolTip("Active flags made against this model that say a sub-score is too high or too low;\n"
                        "training leaves those reviews' targets out of that subtask")
        state.events.disputes.connect(self._on_disputes)
        self._on_disputes(state.disputes)

    def _on_disputes(self, summary: Optional[DisputeSummary]) -> None:
        model = self._state.model(summary.model_id) if summary is not None else None
        self.setText(dispute_text(summary, model.name if model is not None else ""))
        self.setVisible(summary is not None)

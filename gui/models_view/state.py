"""Qt-free state of the models view: the model list, the selection, the comparison."""
from __future__ import annotations

from typing import Optional

from storage.records import ModelVersionRecord

from ..state.evented import EventedState, evented
from .queries import ModelsSnapshot


class ModelsViewState(EventedState):
    """What the models view shows."""

    snapshot = evented(None, "Every model version and its scored-review count (:class:`ModelsSnapshot`).")
    selected = evented((), "Ids of the selected model versions, in id order.", coerce=lambda v: tuple(sorted(v)))
    comparison = evented(None, "The :class:`~gui.models_view.compare.Comparison` on show, or None.")
    comparing = evented(False, "A comparison is being computed.")
    drift = evented(None, "The :class:`~gui.models_view.drift.Drift` of the pair on show (unflagged reviews), or None.")
    drifting = evented(False, "The drift of the pair is being computed.")
    drift_series = evented("score", "The series whose quantiles and movers the drift part shows.")
    disputes = evented(None, "The :class:`DisputeSummary` of the one selected model, or None.")

    def model(self, model_id: int) -> Optional[ModelVersionRecord]:
        snap: Optional[ModelsSnapshot] = self.snapshot
        if snap is None:
            return None
        return next((m for m in snap.models if m.id == model_id), None)

    def compare_pair(self) -> Optional[tuple[int, int]]:
        """The two models to compare: the two selected (older first), or one selected and its
        parent; None when there is no such pair."""
        if len(self.selected) == 2:
            return self.selected[0], self.selected[1]
        if len(self.selected) == 1:
            m = self.model(self.selected[0])
            if m is not None and m.parent_id is not None and self.model(m.parent_id) is not None:
                return m.parent_id, m.id
        return None

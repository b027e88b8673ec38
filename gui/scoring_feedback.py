"""Scoring where the reviews are: after an import, the offer to score what it left unscored;
while a job scores the model the table shows, the table's "not scored" cells say how far it
is, and the rows fill in as the engine writes its batches.

The job itself is the shared :class:`~gui.training.scoring.QtScoringController` (``python -m
engine score`` in a QProcess); this object only reads its state and asks the store for rows.
"""
from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QObject

from . import queries
from .models.review_table_model import ReviewTableModel
from .models_view.operations import QtModelOperations
from .state.app_state import AppState
from .store import Store
from .training.scoring import QtScoringController
from .training.scoring_state import count
from .training.state import RunStatus
from .widgets.qt_scoring_bar import QtScoringBar


def import_counts(reports) -> tuple[int, int]:
    """(reviews added, reviews updated) over the importer's reports; a report that does not
    say counts as one changed review (better an offer too many than one missing)."""
    added = updated = 0
    for report in reports:
        a, u = getattr(report, "reviews_added", None), getattr(report, "reviews_updated", None)
        if a is None and u is None:
            updated += 1
            continue
        added += int(a or 0)
        updated += int(u or 0)
    return added, updated


def offer_text(unscored: int, model: str, added: int, updated: int) -> str:
    """The offer's words; no import counts (a database opened with unscored reviews) say only that."""
    done = f"The import added {count(added)}" + (f" and updated {count(updated)}" if updated else "") + ". "
    if not added:
        done = f"The import updated {count(updated)}. " if updated else ""
    return (f"{done}{count(unscored)} {'has' if unscored == 1 else 'have'} no score under {model} yet: "
            "score them now, in the background?")


class QtScoringFeedback(QObject):
    """Wires the scoring job to the review table area (the bar above it and its cells)."""

    def __init__(self, store: Store, app_state: AppState, scoring: QtScoringController,
                 model_ops: QtModelOperations, review_model: ReviewTableModel, bar: QtScoringBar,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self._scoring = scoring
        self._ops = model_ops
        self._model = review_model
        self.bar = bar
        self._reports: list[Any] = []
        self._offer_due: Optional[tuple[int, int]] = None  # an import ended while a job ran: ask once it is over
        self._refreshing = False
        self._refresh_again = False
        self._offer_model = ""  # the model an offer is for
        self._last_model = ""  # the model of the last job (what "Score the rest" continues)
        state = scoring.state
        state.events.status.connect(self._on_status)
        state.events.progress.connect(self._on_progress)
        state.events.eta_s.connect(self._on_progress)
        bar.score_requested.connect(self.score_now)
        bar.rest_requested.connect(self.score_rest)
        bar.cancel_requested.connect(scoring.cancel)
        app_state.events.active_model.connect(self._on_active_model)  # a bound method: held weakly

    # ------------------------------------------------------------ after an import

    def note_import(self, _path: str, report: Any) -> None:
        self._reports.append(report)

    def imports_done(self) -> None:
        """The importer's queue is empty: offer to score what it left unscored."""
        reports, self._reports = self._reports, []
        added, updated = import_counts(reports)
        if not added and not updated:
            return
        if self._scoring.busy:  # e.g. the first launch scores the sample: it scores these too
            self._offer_due = (added, updated)
            return
        self._ask(added, updated)

    def offer_unscored(self) -> None:
        """A database opened with reviews its active model has not scored (an interrupted scoring,
        an import that changed them): the same offer as after an import."""
        if self._scoring.busy:
            self._offer_due = (0, 0)
            return
        self._ask(0, 0)

    def _ask(self, added: int, updated: int) -> None:
        self._store.call(queries.unscored_reviews, on_result=lambda u: self._on_unscored(u, added, updated))

    def _on_unscored(self, unscored: Optional[queries.Unscored], added: int, updated: int) -> None:
        if unscored is None or unscored.count <= 0:
            self.bar.withdraw()
            return
        if self._scoring.busy:
            self._offer_due = (added, updated)
            return
        self._offer_model = unscored.model.name
        self.bar.offer(offer_text(unscored.count, unscored.model.name, added, updated))

    def score_now(self) -> None:
        """"Score now": score what the offer named (the active model's unscored reviews)."""
        self.bar.withdraw()
        self._score(self._offer_model)

    def score_rest(self) -> None:
        """"Score the rest": go on where the cancelled job stopped."""
        self._score(self._last_model)

    def _score(self, model: str) -> None:
        if model:
            self._ops.score_unscored(model)
        else:
            self._ops.rescore_active()

    # ------------------------------------------------------------ while a job scores

    def scores_shown_model(self) -> bool:
        """The job scores the model whose scores the table shows."""
        state, active = self._scoring.state, self._app.active_model
        return state.status.active and (not state.requested or (active is not None and state.model == active.name))

    def _mark(self) -> None:
        state = self._scoring.state
        if self.scores_shown_model():
            pct = state.percent
            self._model.set_scoring(state.cell_text(), state.cell_tooltip(), None if pct is None else state.done / state.total)
        else:
            self._model.set_scoring(None)

    def _on_active_model(self, _model) -> None:
        self._mark()

    def _on_progress(self, _value=None) -> None:
        self._mark()
        if self.scores_shown_model() and self._scoring.state.done:
            self.refresh_rows()

    def _on_status(self, status: RunStatus) -> None:
        self._mark()
        if status.active:
            if self.scores_shown_model():
                self.bar.withdraw()  # the job scores what was offered
            return
        if status is RunStatus.IDLE:
            return
        self._last_model = self._scoring.state.model or self._last_model
        self.refresh_rows()  # the batches written before the end (a cancel keeps them)
        due, self._offer_due = self._offer_due, None
        if due and not self._scoring.busy:
            self._ask(*due)

    def refresh_rows(self) -> None:
        """Re-read the loaded rows that show no score (at most one read at a time)."""
        mv = self._app.model_version_id
        if mv is None:
            return
        if self._refreshing:
            self._refresh_again = True
            return
        pks = self._model.unscored_pks()
        if not pks:
            return
        self._refreshing = True
        self._store.call(queries.review_rows, pks, mv, on_result=lambda rows: self._on_rows(mv, rows),
                         on_error=lambda _exc: self._on_rows(mv, []))

    def _on_rows(self, mv: int, rows) -> None:
        self._refreshing = False
        if mv == self._app.model_version_id:
            self._model.update_rows([r for r in rows if r.score is not None])
        if self._refresh_again:
            self._refresh_again = False
            self.refresh_rows()

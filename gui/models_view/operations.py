"""What happens to model versions: activate, delete, export, import, and the follow-up of a
training run (score the new model, resolve the flags it settles, reload the window)."""
from __future__ import annotations

import json
import logging
from typing import Optional, Sequence

from PySide6.QtCore import QObject, Signal

from engine.starter import apply_shipped_scores, ensure_starter_model
from storage import repository as repo

from ..state.app_state import AppState
from ..store import Store
from ..training.engine_info import starter_model_exists
from ..training.process import QtEngineProcess
from ..training.scoring import QtScoringController
from ..training.state import RunStatus
from . import queries

_log = logging.getLogger(__name__)


class QtModelOperations(QObject):
    """Model actions shared by the models view, the training panel and the main window.

    Signals
    -------
    models_changed()
        The list of model versions changed (registered, imported, deleted).
    catalogue_changed()
        The active model or its scores changed: the window reloads what it shows.
    message(str)
        A short result for the status bar.
    failed(str, str)
        Title and message of an error for the user.
    busy_changed(bool)
        An export or import runs.
    """

    models_changed = Signal()
    catalogue_changed = Signal()
    message = Signal(str)
    failed = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, store: Store, app_state: AppState, scoring: QtScoringController,
                 command: Optional[Sequence[str]] = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self.scoring = scoring
        self.transfer = QtEngineProcess(command, self)
        self.transfer.line.connect(self._on_transfer_line)
        self.transfer.finished.connect(self._on_transfer_finished)
        self._transfer_result: dict = {}
        self._transfer_what = ""

    @property
    def _url(self) -> Optional[str]:
        return self._store.db.url if self._store.db is not None else None

    # ------------------------------------------------------------ after training

    def model_trained(self, outcome) -> None:
        """A run registered ``outcome.model``: score the catalogue with it in the background;
        once scored, an activated model resolves flags and the window shows its ranks."""
        self.models_changed.emit()
        if self._url is None:
            return
        self.message.emit(f"Trained {outcome.model}; scoring the catalogue with it in the background\u2026")
        self.scoring.score(self._url, outcome.model,
                           on_done=lambda status: self._after_scoring(outcome.model_version_id, outcome.model,
                                                                      outcome.activated, status))

    def _after_scoring(self, model_id: int, name: str, active: bool, status: RunStatus) -> None:
        self.models_changed.emit()
        if status is not RunStatus.SUCCEEDED:
            if status is RunStatus.FAILED:
                self.failed.emit("Scoring failed", f"Scoring with {name} failed: {self.scoring.state.error}")
            elif status is RunStatus.CANCELLED:
                more = "Model > Score unscored reviews goes on" if active else "activating it scores the rest"
                self.message.emit(f"Scoring with {name} was cancelled: the reviews it scored keep their scores ({more})")
            if active:  # the window shows the active model: the one just activated, partly scored
                self.catalogue_changed.emit()
            return
        if active:
            self._resolve(model_id, name)
        else:
            self.message.emit(f"Scored the catalogue with {name} (not active: activate it in the Models view)")

    def _resolve(self, model_id: int, name: str) -> None:
        def done(n: int) -> None:
            self.message.emit(f"{name} is active; {n} flag{'s' if n != 1 else ''} resolved by it"
                              if n else f"{name} is active")
            self.catalogue_changed.emit()

        self._store.call(queries.resolve_flags, model_id, write=True, on_result=done,
                         on_error=lambda exc: self.failed.emit("Could not resolve flags", str(exc)))

    # ------------------------------------------------------------ scoring

    def score_first_launch(self) -> None:
        """First launch, sample imported: register and activate the bundled starter model and
        write the scores it ships for the sample (seconds, no torch: ``engine.starter``), then
        let ``engine score`` score whatever they did not cover (a sample edited since)."""
        if self._url is None:
            return
        if not starter_model_exists():
            self.message.emit("No model yet: train one on the sample in the Training panel (Model > Train)")
            return
        db = self._store.db

        def shipped(result: tuple[int, int]) -> None:
            n, left = result
            if n:
                self.message.emit(f"Scored the sample with the bundled starter model ({n} reviews, shipped scores)")
                self.models_changed.emit()
                self.catalogue_changed.emit()
            if left:  # reviews the shipped scores do not cover (a sample edited since): score them
                self.scoring.score(self._url, on_done=self._after_first_scoring)

        def failed(exc) -> None:  # the shipped scores are a shortcut: score the usual way
            _log.warning("shipped starter scores not used: %s", exc)
            self.scoring.score(self._url, on_done=self._after_first_scoring)

        self._store.run(first_launch_scores, db, on_result=shipped, on_error=failed)

    def _after_first_scoring(self, status: RunStatus) -> None:
        if status is RunStatus.SUCCEEDED:
            self.message.emit("Scored the sample catalogue with the bundled starter model")
            self.models_changed.emit()
            self.catalogue_changed.emit()
        elif status is RunStatus.FAILED:
            self.failed.emit("Could not score the sample", self.scoring.state.error)

    def rescore_active(self) -> None:
        """Score the reviews the active model has not scored yet (e.g. after an import)."""
        model = self._app.active_model
        if self._url is None or model is None:
            self.message.emit("No active model to score with")
            return
        self.score_unscored(model.name)

    def score_unscored(self, name: str) -> None:
        """Score the reviews model ``name`` has not scored yet; the window reloads when it ends
        (also after a cancel: the batches written before it keep their scores)."""
        if self._url is None:
            return

        def done(status: RunStatus) -> None:
            if status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED):
                self.models_changed.emit()
                self.catalogue_changed.emit()
            elif status is RunStatus.FAILED:
                self.failed.emit("Scoring failed", self.scoring.state.error)

        self.scoring.score(self._url, name, on_done=done)

    # ------------------------------------------------------------ registry

    def activate(self, model_id: int, name: str) -> None:
        """Activate a model; score the reviews it has not scored yet first, then resolve flags."""
        def done(needs_scoring: bool) -> None:
            self.models_changed.emit()
            if needs_scoring and self._url is not None:
                self.message.emit(f"Activated {name}; scoring the catalogue with it\u2026")
                self.scoring.score(self._url, name,
                                   on_done=lambda status: self._after_scoring(model_id, name, True, status))
            else:
                self._resolve(model_id, name)

        self._store.call(queries.activate, model_id, self._app.user_name or "reviewscope", write=True, on_result=done,
                         on_error=lambda exc: self.failed.emit("Could not activate the model", str(exc)))

    def delete(self, model_id: int) -> None:
        def done(deleted: queries.Deleted) -> None:
            name, path = deleted.model.name, deleted.model.checkpoint_path
            self.message.emit(f"Deleted {name}, its predictions and its files" if deleted.files_removed else
                              f"Deleted {name} and its predictions (its files outside the models folder stay: {path})")
            self.models_changed.emit()

        db = self._store.db
        if db is None:
            return
        self._store.run(queries.delete_with_files, db, model_id, self._app.user_name or "reviewscope", write=True,
                        on_result=done, on_error=lambda exc: self.failed.emit("Could not delete the model", str(exc)))

    # ------------------------------------------------------------ export / import (engine commands)

    @property
    def transferring(self) -> bool:
        return self.transfer.running

    def export(self, name: str, folder: str) -> bool:
        """Copy a model's folder (safetensors + JSON) to ``folder``; False while another transfer runs."""
        return self._run_transfer(f"Export {name}", ["models", "export", name, folder])

    def import_folder(self, folder: str, name: Optional[str] = None) -> bool:
        """Check, copy and register a model folder (never activates it)."""
        args = ["models", "import", folder] + (["--name", name] if name else [])
        return self._run_transfer("Import model", args)

    def _run_transfer(self, what: str, args: list[str]) -> bool:
        if self.transfer.running or self._url is None:
            return False
        self._transfer_result, self._transfer_what = {}, what
        self.transfer.start([*args, "--db", self._url, "--json"])
        self.busy_changed.emit(True)
        return True

    def _on_transfer_line(self, line: str) -> None:
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            return
        if isinstance(data, dict):
            self._transfer_result = data

    def _on_transfer_finished(self, code: int, stderr_tail: str) -> None:
        self.busy_changed.emit(False)
        result = self._transfer_result
        if code == 0 and result:
            if "id" in result:
                self.message.emit(f"Imported {result.get('model')} into {result.get('path')}")
                self.models_changed.emit()
            else:
                self.message.emit(f"Exported {result.get('model')} to {result.get('path')}")
            return
        lines = [ln for ln in stderr_tail.splitlines() if ln.strip()]
        errors = [ln[len("error:"):].strip() for ln in lines if ln.startswith("error:")]
        self.failed.emit(f"{self._transfer_what} failed",
                         errors[-1] if errors else (lines[-1] if lines else f"the engine exited with code {code}"))

    def shutdown(self) -> None:
        self.transfer.kill()


def first_launch_scores(db) -> tuple[int, int]:
    """In the store's write worker: the starter model registered (if the database has no
    model) and its shipped scores of the sample written; (reviews scored so, reviews left
    without a score of the active model)."""
    ensure_starter_model(db)
    n = apply_shipped_scores(db)
    with db.begin() as s:
        mv = repo.get_active_model(s)
        left = repo.count_missing_predictions(s, mv.id) if mv is not None else 1
    return n, left

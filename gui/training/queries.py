"""Store jobs of the training panel (plain functions of a Session, run in workers)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy.orm import Session

from storage import repository as repo
from storage.records import ModelVersionRecord

from .setup import PastRun


@dataclass(frozen=True)
class TrainingInfo:
    """What the panel shows before a run: the model it would start from and the data.

    Attributes
    ----------
    data : dict
        :func:`storage.repository.training_data_summary` (labelled reviews per split,
        corrections, corrections since the active model).
    past_runs : list of PastRun
        Succeeded runs, oldest first (for the time estimate).
    """

    active: Optional[ModelVersionRecord]
    data: dict[str, Any] = field(default_factory=dict)
    past_runs: list[PastRun] = field(default_factory=list)


def load_training_info(session: Session) -> TrainingInfo:
    active = repo.get_active_model(session)
    data = repo.training_data_summary(session, since=active.created_at if active else None)
    past = []
    for run in repo.list_training_runs(session):
        if run.status != "succeeded" or run.finished_at is None:
            continue
        past.append(PastRun((run.finished_at - run.started_at).total_seconds(), run.epochs,
                            int(run.config.get("text_finetune_layers", 0) or 0) == 0))
    return TrainingInfo(active, data, past)

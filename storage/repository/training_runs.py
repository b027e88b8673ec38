"""Training runs: started, their finished epochs, finished, and the stale ones of killed trainers.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..models import AuditEvent, TrainingEpoch, TrainingRun, utcnow
from ..records import RunStatus, TrainingEpochRecord, TrainingRunRecord
from ._chunks import in_chunks
from .audit import record_audit

__all__ = [
    "start_training_run",
    "record_training_epoch",
    "list_training_epochs",
    "finish_training_run",
    "list_training_runs",
    "mark_stale_runs",
]


def _run_record(t: TrainingRun, epochs: int = 0) -> TrainingRunRecord:
    return TrainingRunRecord(
        t.id, t.status, dict(t.config or {}), dict(t.metrics or {}), t.parent_model_id, t.model_version_id, t.started_at,
        t.finished_at, t.log or "", epochs,
    )


def _epoch_record(e: TrainingEpoch) -> TrainingEpochRecord:
    return TrainingEpochRecord(e.training_run_id, e.epoch, e.loss, e.dev_map, e.samples_per_s, dict(e.losses or {}),
                               dict(e.dev or {}), dict(e.pseudo_labels or {}), e.finished_at)


def _number(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _this_host() -> str:
    import socket

    return socket.gethostname()


def start_training_run(session: Session, config: dict, parent_model_id: int | None = None, actor: str = "engine") -> TrainingRunRecord:
    """A TrainingRun in status 'running'; its audit event records the host and process that
    owns it, so :func:`mark_stale_runs` can tell a live run from one whose trainer died."""
    import os

    t = TrainingRun(status="running", config=config, parent_model_id=parent_model_id)
    session.add(t)
    session.flush()
    record_audit(session, actor, "train.start", "training_run", t.id,
                 {"parent_model_id": parent_model_id, "host": _this_host(), "pid": os.getpid()})
    return _run_record(t)


def finish_training_run(
    session: Session, run_id: int, status: str, metrics: dict | None = None, model_version_id: int | None = None,
    log: str = "", actor: str = "engine",
) -> TrainingRunRecord:
    status = RunStatus(status).value  # ValueError for a status outside the set
    t = session.get(TrainingRun, run_id)
    if t is None:
        raise NotFoundError(f"no training run #{run_id}")
    t.status = status
    t.metrics = metrics or {}
    t.model_version_id = model_version_id
    t.finished_at = utcnow()
    t.log = (t.log or "") + log
    record_audit(session, actor, f"train.{status}", "training_run", run_id, {"model_version_id": model_version_id})
    return _run_record(t)


def record_training_epoch(session: Session, run_id: int, epoch: dict) -> TrainingEpochRecord:
    """Store one finished epoch, as the engine's ``epoch`` event carries it (``epoch``,
    ``losses``, ``dev``, ``pseudo_labels``, ``samples_per_s``). The same epoch again replaces
    the row (a retried write); an unknown run raises NotFoundError."""
    if session.get(TrainingRun, run_id) is None:
        raise NotFoundError(f"no training run #{run_id}")
    n = int(epoch["epoch"])
    if n < 1:
        raise ValueError(f"epoch must be >= 1, got {n}")
    losses = dict(epoch.get("losses") or {})
    dev = dict(epoch.get("dev") or {})
    row = session.scalar(select(TrainingEpoch).where(TrainingEpoch.training_run_id == run_id, TrainingEpoch.epoch == n))
    if row is None:
        row = TrainingEpoch(training_run_id=run_id, epoch=n)
        session.add(row)
    row.loss = _number(losses.get("total"))
    row.dev_map = _number(dev.get("MAP"))
    row.samples_per_s = _number(epoch.get("samples_per_s"))
    row.losses, row.dev, row.pseudo_labels = losses, dev, dict(epoch.get("pseudo_labels") or {})
    row.finished_at = utcnow()
    session.flush()
    return _epoch_record(row)


def list_training_epochs(session: Session, run_id: int) -> list[TrainingEpochRecord]:
    """The epochs a run finished, in order."""
    rows = session.scalars(select(TrainingEpoch).where(TrainingEpoch.training_run_id == run_id).order_by(TrainingEpoch.epoch))
    return [_epoch_record(e) for e in rows]


def list_training_runs(session: Session) -> list[TrainingRunRecord]:
    counts = dict(session.execute(
        select(TrainingEpoch.training_run_id, func.count()).group_by(TrainingEpoch.training_run_id)).all())
    return [_run_record(t, counts.get(t.id, 0)) for t in session.scalars(select(TrainingRun).order_by(TrainingRun.id))]


def _pid_alive(pid: int) -> bool:
    import os

    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell (e.g. Windows quirks): assume alive, never mark a live run
    return True


def mark_stale_runs(
    session: Session, older_than: dt.timedelta = dt.timedelta(0), *, spare_live: bool = False,
    foreign_after: dt.timedelta = dt.timedelta(hours=24),
) -> int:
    """Runs left 'running' by a killed trainer become 'interrupted'; returns how many.

    Without ``spare_live`` every run started at least ``older_than`` ago is marked. With
    ``spare_live`` (what a new training run calls at its start) a run whose owning process,
    recorded by :func:`start_training_run`, is on this host is marked only when that process
    is gone; a run owned by another machine (team mode) or of unknown owner only once it is
    older than ``foreign_after``, as we cannot see whether its trainer still lives.
    """
    now = utcnow()
    cutoff = now - older_than
    running = session.execute(
        select(TrainingRun.id, TrainingRun.started_at)
        .where(TrainingRun.status == "running", TrainingRun.started_at <= cutoff)
        .order_by(TrainingRun.id)
    ).all()
    if not running:
        return 0
    stale: list[int] = []
    if not spare_live:
        stale = [rid for rid, _ in running]
    else:
        owners: dict[str, dict] = {}
        for target_id, details in session.execute(
            select(AuditEvent.target_id, AuditEvent.details).where(
                AuditEvent.action == "train.start", AuditEvent.target_kind == "training_run",
                AuditEvent.target_id.in_([str(rid) for rid, _ in running]),
            )
        ):
            owners[target_id] = dict(details or {})
        host = _this_host()
        for rid, started in running:
            owner = owners.get(str(rid), {})
            if owner.get("host") == host and isinstance(owner.get("pid"), int):
                if not _pid_alive(owner["pid"]):
                    stale.append(rid)
            elif started is not None and started <= now - foreign_after:
                stale.append(rid)
    n = 0
    for cond in in_chunks(TrainingRun.id, stale):
        res = session.execute(
            update(TrainingRun)
            .where(cond, TrainingRun.status == "running")
            .values(status="interrupted", finished_at=now, log=func.coalesce(TrainingRun.log, "")
                    + "marked interrupted: its trainer stopped without finishing (killed or crashed)\n")
        )
        n += res.rowcount or 0
    for rid in stale:
        record_audit(session, "engine", "train.interrupted", "training_run", rid, {"reason": "stale"})
    return n

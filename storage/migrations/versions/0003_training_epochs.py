"""per-epoch training metrics in their own table

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Until 0002 a finished run kept its epochs as a JSON list under ``training_runs.metrics
["history"]``. Each entry becomes a row of ``training_epochs`` and the list leaves the run's
metrics (its other keys stay). Downgrading puts the list back. Entries that are not objects
with a whole ``epoch`` >= 1 are kept where they are (nothing is dropped).
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _number(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _as_dict(v):
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return None
    return v if isinstance(v, dict) else None


def upgrade() -> None:
    op.create_table(
        "training_epochs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("training_run_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("dev_map", sa.Float(), nullable=True),
        sa.Column("samples_per_s", sa.Float(), nullable=True),
        sa.Column("losses", sa.JSON(), nullable=False),
        sa.Column("dev", sa.JSON(), nullable=False),
        sa.Column("pseudo_labels", sa.JSON(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("epoch >= 1", name=op.f("ck_training_epochs_epoch_positive")),
        sa.ForeignKeyConstraint(["training_run_id"], ["training_runs.id"], ondelete="CASCADE",
                                name=op.f("fk_training_epochs_training_run_id_training_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_epochs")),
        sa.UniqueConstraint("training_run_id", "epoch", name=op.f("uq_training_epochs_training_run_id")),
    )
    with op.batch_alter_table("training_epochs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_epochs_training_run_id"), ["training_run_id"], unique=False)

    conn = op.get_bind()
    runs = sa.table("training_runs", sa.column("id", sa.Integer), sa.column("metrics", sa.JSON),
                    sa.column("finished_at", sa.DateTime), sa.column("started_at", sa.DateTime))
    epochs = sa.table(
        "training_epochs", sa.column("training_run_id", sa.Integer), sa.column("epoch", sa.Integer),
        sa.column("loss", sa.Float), sa.column("dev_map", sa.Float), sa.column("samples_per_s", sa.Float),
        sa.column("losses", sa.JSON), sa.column("dev", sa.JSON), sa.column("pseudo_labels", sa.JSON),
        sa.column("finished_at", sa.DateTime),
    )
    for run_id, metrics, finished, started in conn.execute(
            sa.select(runs.c.id, runs.c.metrics, runs.c.finished_at, runs.c.started_at)).all():
        metrics = _as_dict(metrics)
        if not metrics or not isinstance(metrics.get("history"), list):
            continue
        rows, kept, seen = [], [], set()
        for entry in metrics["history"]:
            n = entry.get("epoch") if isinstance(entry, dict) else None
            if not isinstance(n, int) or isinstance(n, bool) or n < 1 or n in seen:
                kept.append(entry)
                continue
            seen.add(n)
            losses = entry.get("losses") if isinstance(entry.get("losses"), dict) else {}
            dev = entry.get("dev") if isinstance(entry.get("dev"), dict) else {}
            pseudo = entry.get("pseudo_labels") if isinstance(entry.get("pseudo_labels"), dict) else {}
            rows.append({
                "training_run_id": run_id, "epoch": n, "loss": _number(losses.get("total")),
                "dev_map": _number(dev.get("MAP")), "samples_per_s": _number(entry.get("samples_per_s")),
                "losses": losses, "dev": dev, "pseudo_labels": pseudo, "finished_at": finished or started,
            })
        if rows:
            conn.execute(sa.insert(epochs), rows)
        new = {k: v for k, v in metrics.items() if k != "history"}
        if kept:
            new["history"] = kept
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(metrics=new))


def downgrade() -> None:
    conn = op.get_bind()
    runs = sa.table("training_runs", sa.column("id", sa.Integer), sa.column("metrics", sa.JSON))
    epochs = sa.table(
        "training_epochs", sa.column("training_run_id", sa.Integer), sa.column("epoch", sa.Integer),
        sa.column("samples_per_s", sa.Float), sa.column("losses", sa.JSON), sa.column("dev", sa.JSON),
        sa.column("pseudo_labels", sa.JSON),
    )
    history: dict[int, list] = {}
    for run_id, n, sps, losses, dev, pseudo in conn.execute(sa.select(
            epochs.c.training_run_id, epochs.c.epoch, epochs.c.samples_per_s, epochs.c.losses, epochs.c.dev,
            epochs.c.pseudo_labels).order_by(epochs.c.training_run_id, epochs.c.epoch)).all():
        history.setdefault(run_id, []).append({"epoch": n, "losses": _as_dict(losses) or {}, "dev": _as_dict(dev) or {},
                                               "pseudo_labels": _as_dict(pseudo) or {}, "samples_per_s": sps})
    for run_id, entries in history.items():
        metrics = _as_dict(conn.execute(sa.select(runs.c.metrics).where(runs.c.id == run_id)).scalar()) or {}
        old = metrics.get("history") if isinstance(metrics.get("history"), list) else []
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(metrics={**metrics, "history": entries + old}))
    with op.batch_alter_table("training_epochs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_epochs_training_run_id"))
    op.drop_table("training_epochs")

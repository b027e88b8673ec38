"""each prediction keeps the two largest parts of its explanation in columns

Revision ID: 0008_top_reasons
Revises: 0007_flag_interactions
Create Date: 2026-12-06

The review table shows and sorts by a score's top reasons (its largest parts by absolute
value, ties by name: ``storage.records.ScoreParts.ranked``). Read from the JSON column, a
page of 500 rows would parse 500 explanations (~1.5 kB each) and sorting a product by its top
reason would need each dialect's JSON functions. Four plain nullable columns instead:
``top_reason`` / ``top_reason_value`` and ``second_reason`` / ``second_reason_value`` (the
part's plain label and its value in score units), written with the explanation by
``repository.write_predictions``. Predictions stored since 0006 get them from their JSON here;
those without an explanation keep NULL. Downgrading drops the columns.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_top_reasons"
down_revision = "0007_flag_interactions"
branch_labels = None
depends_on = None

_BATCH = 2000


def _top_two(data):
    """The two largest parts ``(label, value)`` of a stored explanation (frozen here: a later
    change of the app's code must not change what this revision wrote)."""
    if not isinstance(data, dict) or data.get("version") != 1:
        return []
    try:
        parts = [(str(label), float(v)) for _key, label, v in data["parts"]]
    except (KeyError, TypeError, ValueError):
        return []
    return sorted(parts, key=lambda p: (-abs(p[1]), p[0]))[:2]


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("top_reason", sa.String(200), nullable=True))
        batch.add_column(sa.Column("top_reason_value", sa.Float(), nullable=True))
        batch.add_column(sa.Column("second_reason", sa.String(200), nullable=True))
        batch.add_column(sa.Column("second_reason_value", sa.Float(), nullable=True))
    conn = op.get_bind()
    preds = sa.table("predictions", sa.column("id", sa.Integer), sa.column("explanation", sa.JSON),
                     sa.column("top_reason", sa.String), sa.column("top_reason_value", sa.Float),
                     sa.column("second_reason", sa.String), sa.column("second_reason_value", sa.Float))
    last = 0
    while True:  # keyset batches: a 100k-prediction database is never read whole
        rows = conn.execute(sa.select(preds.c.id, preds.c.explanation)
                            .where(preds.c.id > last, preds.c.explanation.is_not(None))
                            .order_by(preds.c.id).limit(_BATCH)).all()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for pk, data in rows:
            top = _top_two(data) + [(None, None)] * 2
            if top[0][0] is not None:
                updates.append({"pk": pk, "t": top[0][0], "tv": top[0][1], "s": top[1][0], "sv": top[1][1]})
        if updates:
            conn.execute(preds.update().where(preds.c.id == sa.bindparam("pk")).values(
                top_reason=sa.bindparam("t"), top_reason_value=sa.bindparam("tv"),
                second_reason=sa.bindparam("s"), second_reason_value=sa.bindparam("sv")), updates)


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        for name in ("second_reason_value", "second_reason", "top_reason_value", "top_reason"):
            batch.drop_column(name)

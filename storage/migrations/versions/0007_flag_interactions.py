"""a flag names the sub-scores it disputes, and which way

Revision ID: 0007_flag_interactions
Revises: 0006_score_parts
Create Date: 2026-12-06

A child table ``flag_interactions`` (flag_id, interaction, direction): the interactions of
MMSS.md ("p_t r_t", ...) whose sub-score the flag says is "too_high" or "too_low", each at most
once per flag (the primary key). A table rather than a JSON column, so that the Models view
counts disputed reviews per interaction in SQL on SQLite and PostgreSQL alike. Rows go with
their flag (ON DELETE CASCADE). Flags written before this revision dispute nothing.

Disputing a sub-score of an unflagged review creates a flag of kind "sub-score wrong", which
becomes built in (not renamed, not retired): a database where it was retired gets it back on
offer, one where it is missing (renamed away) gets it again, last.

Downgrading drops the table (the disputes are lost; the flags and their kinds stay).
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0007_flag_interactions"
down_revision = "0006_score_parts"
branch_labels = None
depends_on = None

# Frozen here as this revision knows them (storage.records may change later).
INTERACTIONS = ("p_t r_t", "p_v r_v", "p_t r_v", "p_v r_t", "r_t r_v")
DIRECTIONS = ("too_high", "too_low")
SUBSCORE_WRONG = "sub-score wrong"


def upgrade() -> None:
    op.create_table(
        "flag_interactions",
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("interaction", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.CheckConstraint(f"interaction IN {INTERACTIONS!r}", name=op.f("ck_flag_interactions_interaction")),
        sa.CheckConstraint(f"direction IN {DIRECTIONS!r}", name=op.f("ck_flag_interactions_direction")),
        sa.ForeignKeyConstraint(["flag_id"], ["flags.id"], name=op.f("fk_flag_interactions_flag_id_flags"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("flag_id", "interaction", name=op.f("pk_flag_interactions")),
    )
    conn = op.get_bind()
    kinds = sa.table("flag_kinds", sa.column("name", sa.String), sa.column("position", sa.Integer),
                     sa.column("retired_at", sa.DateTime), sa.column("created_at", sa.DateTime))
    found = conn.execute(sa.select(kinds.c.name).where(kinds.c.name == SUBSCORE_WRONG)).first()
    if found is None:
        last = conn.execute(sa.select(sa.func.max(kinds.c.position))).scalar()
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        conn.execute(sa.insert(kinds).values(name=SUBSCORE_WRONG, position=(last if last is not None else -1) + 1,
                                             created_at=now))
    else:
        conn.execute(sa.update(kinds).where(kinds.c.name == SUBSCORE_WRONG).values(retired_at=None))


def downgrade() -> None:
    op.drop_table("flag_interactions")

"""flag kinds in their own table, editable from the app

Revision ID: 0004_flag_kinds
Revises: 0003
Create Date: 2026-12-05

Until 0003 the kinds a flag could have were a constant of the code. They become rows of
``flag_kinds`` (name, position, retired_at, created_at), seeded with the defaults in their
order. A kind that flags of an existing database already use but that is not a default (a
script or an older release wrote it) gets a row too, after the defaults, alphabetically and
active, so those flags keep displaying and stay editable; a moderator may retire it. Flags keep
their kind as a string: renaming a kind renames it in its flags (storage.repository.flag_kinds).
Downgrading drops the table; every flag keeps its kind.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004_flag_kinds"
down_revision = "0003"
branch_labels = None
depends_on = None

# The defaults as 0003's code had them (storage.records.FLAG_KINDS then), frozen here.
DEFAULT_KINDS = (
    "model too high",
    "model too low",
    "sub-score wrong",
    "spam",
    "off-topic",
    "promotional",
    "private information",
    "profanity",
    "other",
)


def upgrade() -> None:
    op.create_table(
        "flag_kinds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_kinds")),
        sa.UniqueConstraint("name", name=op.f("uq_flag_kinds_name")),
    )
    conn = op.get_bind()
    flags = sa.table("flags", sa.column("kind", sa.String))
    kinds = sa.table("flag_kinds", sa.column("name", sa.String), sa.column("position", sa.Integer),
                     sa.column("created_at", sa.DateTime))
    used = sorted(k for (k,) in conn.execute(sa.select(flags.c.kind).distinct()) if k and k not in DEFAULT_KINDS)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    conn.execute(sa.insert(kinds), [{"name": name, "position": i, "created_at": now}
                                    for i, name in enumerate(DEFAULT_KINDS + tuple(used))])


def downgrade() -> None:
    op.drop_table("flag_kinds")

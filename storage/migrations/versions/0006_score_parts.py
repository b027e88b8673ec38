"""each prediction keeps its score's explanation

Revision ID: 0006_score_parts
Revises: 0005_search
Create Date: 2026-12-05

A nullable JSON column ``predictions.explanation``: the named parts that add up to the score
(MMSS.md, "Explaining a score"; written by the engine's scoring, read as
``storage.records.ScoreParts``): ``{"version": 1, "reference": ..., "base": ..., "score": ...,
"parts": [[key, label, value], ...]}``. A column and not a table of part rows: scoring writes
one row per review either way, so storing the parts costs no extra statement, and the review
table's queries name their columns, so they never read it. Predictions written before this
revision keep NULL (the app says: rescore to see one). Downgrading drops the column.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_score_parts"
down_revision = "0005_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("explanation", sa.JSON(), nullable=True))


def downgrade() -> None:
    # predictions carries no trigger or view of 0005_search, so SQLite's copy-and-move is safe here
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("explanation")

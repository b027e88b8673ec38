"""at most one active model version; training run status checked

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

A database written by revision 0001 may hold several active model versions (two UPDATEs could
interleave); the newest of them stays active. A run status outside the known set becomes
'failed'. Every flag, model and prediction is kept.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = ("running", "succeeded", "failed", "cancelled", "interrupted")
CHECK = "status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')"


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text("UPDATE model_versions SET active = :no WHERE active = :yes AND id <> "
                "(SELECT MAX(id) FROM model_versions WHERE active = :yes)"),
        {"yes": True, "no": False},
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index("ix_model_versions_one_active", ["active"], unique=True,
                              sqlite_where=sa.text("active = 1"), postgresql_where=sa.text("active"))
    conn.execute(sa.text(f"UPDATE training_runs SET status = 'failed' WHERE status NOT IN {STATUSES!r}"))
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.create_check_constraint("status", CHECK)


def downgrade() -> None:
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.drop_constraint("status", type_="check")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_model_versions_one_active")

"""the stored model ranks indexed per product: the review table's default order from an index

Revision ID: 0011_score_order_index
Revises: 0010_stored_ranks
Create Date: 2026-12-09

``ix_review_ranks_model_order`` on ``review_ranks (model_version_id, product_pk, model_rank)``.
A product's stored model ranks 1..n_scored are its reviews in the review table's default order
(score descending, ties by review id), so a page of that order is a range of this index
(``storage.repository.ranks.stored_score_page``) instead of a sort of every review of the product
by its prediction: the first page of a 10,000-review product, 0.6 against 11 ms of SQL. Nothing
else changes; downgrading drops the index.
"""
from alembic import op

revision = "0011_score_order_index"
down_revision = "0010_stored_ranks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_review_ranks_model_order", "review_ranks", ["model_version_id", "product_pk", "model_rank"])


def downgrade() -> None:
    op.drop_index("ix_review_ranks_model_order", table_name="review_ranks")

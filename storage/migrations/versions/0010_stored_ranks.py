"""every scored review's place in its product, stored per model

Revision ID: 0010_stored_ranks
Revises: 0009_search_backlog
Create Date: 2026-12-08

``review_ranks`` (model, review) -> the review's rank under the model and under the votes, the
label the model implies and the gaps (storage.ranking.RankInfo), with the queue's two sort keys
(``-|rank gap|``, ``-|label gap|``) indexed per model; ``product_ranks`` (model, product) -> how
many reviews the model scored and how many the product has. The disagreement queue reads them
instead of ranking every product in Python on every open (1 s at 100,000 reviews before).
``storage/repository/ranks.py`` keeps them current: predictions are written with them, an import
ranks the products it changes again.

Upgrading ranks what is already scored, in SQL (window functions, SQLite >= 3.25 and
PostgreSQL): the same definitions as storage.ranking, frozen here as this revision knows them
(ties by review id under the score and the votes; a label's places are the positions its equals
take when the scored, labelled reviews are sorted by label). The sub-scores' percentiles and
spreads are left NULL (the app computes them for such a product until it is scored again).
Downgrading drops both tables.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_stored_ranks"
down_revision = "0009_search_backlog"
branch_labels = None
depends_on = None

PERCENTILE_COLUMNS = ("pct_pt_rt", "pct_pv_rv", "pct_pt_rv", "pct_pv_rt", "pct_rt_rv")

_RANK_EVERYTHING = """
INSERT INTO review_ranks (model_version_id, review_pk, product_pk, model_rank, vote_rank, implied_label, label_gap,
                          rank_gap, queue_rank_key, queue_label_key)
WITH votes AS (
  SELECT id AS review_pk, product_pk,
         ROW_NUMBER() OVER (PARTITION BY product_pk ORDER BY coalesce(helpful_votes, 0) DESC, id) AS vote_rank
  FROM reviews
), ranked AS (
  SELECT DISTINCT p.model_version_id AS mv, r.product_pk FROM predictions p JOIN reviews r ON r.id = p.review_pk
), scored AS (
  SELECT p.model_version_id AS mv, r.id AS review_pk, r.product_pk, r.label,
         ROW_NUMBER() OVER (PARTITION BY p.model_version_id, r.product_pk ORDER BY p.score DESC, r.id) AS model_rank
  FROM predictions p JOIN reviews r ON r.id = p.review_pk
), judged AS (
  SELECT mv, review_pk, product_pk, label,
         ROW_NUMBER() OVER (PARTITION BY mv, product_pk ORDER BY model_rank) AS pos,
         ROW_NUMBER() OVER (PARTITION BY mv, product_pk ORDER BY label DESC, review_pk) AS label_pos
  FROM scored WHERE label IS NOT NULL
), ties AS (
  SELECT mv, product_pk, label, min(label_pos) AS first_pos, max(label_pos) AS last_pos
  FROM judged GROUP BY mv, product_pk, label
), gaps AS (
  SELECT j.mv, j.review_pk, b.label AS implied_label, b.label - j.label AS label_gap,
         CASE WHEN j.pos < t.first_pos THEN t.first_pos - j.pos
              WHEN j.pos > t.last_pos THEN t.last_pos - j.pos ELSE 0 END AS rank_gap
  FROM judged j
  JOIN judged b ON b.mv = j.mv AND b.product_pk = j.product_pk AND b.label_pos = j.pos
  JOIN ties t ON t.mv = j.mv AND t.product_pk = j.product_pk AND t.label = j.label
)
SELECT k.mv, v.review_pk, v.product_pk, s.model_rank, v.vote_rank, g.implied_label, g.label_gap, g.rank_gap,
       -abs(coalesce(g.rank_gap, 0)), -abs(coalesce(g.label_gap, 0))
FROM ranked k JOIN votes v ON v.product_pk = k.product_pk
LEFT JOIN scored s ON s.mv = k.mv AND s.review_pk = v.review_pk
LEFT JOIN gaps g ON g.mv = k.mv AND g.review_pk = v.review_pk
"""

_COUNT_EVERYTHING = """
INSERT INTO product_ranks (model_version_id, product_pk, n_scored, n_reviews)
SELECT s.model_version_id, s.product_pk, s.n, (SELECT count(*) FROM reviews r2 WHERE r2.product_pk = s.product_pk)
FROM (SELECT p.model_version_id, r.product_pk, count(*) AS n
      FROM predictions p JOIN reviews r ON r.id = p.review_pk GROUP BY p.model_version_id, r.product_pk) s
"""


def upgrade() -> None:
    op.create_table(
        "review_ranks",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("review_pk", sa.Integer(), nullable=False),
        sa.Column("product_pk", sa.Integer(), nullable=False),
        sa.Column("model_rank", sa.Integer(), nullable=True),
        sa.Column("vote_rank", sa.Integer(), nullable=False),
        sa.Column("implied_label", sa.Integer(), nullable=True),
        sa.Column("label_gap", sa.Integer(), nullable=True),
        sa.Column("rank_gap", sa.Integer(), nullable=True),
        sa.Column("queue_rank_key", sa.Integer(), nullable=False),
        sa.Column("queue_label_key", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Float(), nullable=True) for c in PERCENTILE_COLUMNS),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"],
                                name=op.f("fk_review_ranks_model_version_id_model_versions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_pk"], ["products.id"], name=op.f("fk_review_ranks_product_pk_products"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["review_pk"], ["reviews.id"], name=op.f("fk_review_ranks_review_pk_reviews"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_version_id", "review_pk", name=op.f("pk_review_ranks")),
    )
    op.create_index("ix_review_ranks_queue_rank", "review_ranks",
                    ["model_version_id", "queue_rank_key", "queue_label_key", "review_pk"])
    op.create_index("ix_review_ranks_queue_label", "review_ranks",
                    ["model_version_id", "queue_label_key", "queue_rank_key", "review_pk"])
    op.create_index("ix_review_ranks_product", "review_ranks", ["product_pk", "model_version_id"])
    op.create_table(
        "product_ranks",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("product_pk", sa.Integer(), nullable=False),
        sa.Column("n_scored", sa.Integer(), nullable=False),
        sa.Column("n_reviews", sa.Integer(), nullable=False),
        sa.Column("subscore_spreads", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"],
                                name=op.f("fk_product_ranks_model_version_id_model_versions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_pk"], ["products.id"], name=op.f("fk_product_ranks_product_pk_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_version_id", "product_pk", name=op.f("pk_product_ranks")),
    )
    op.create_index("ix_product_ranks_product", "product_ranks", ["product_pk"])
    op.execute(_RANK_EVERYTHING)
    op.execute(_COUNT_EVERYTHING)


def downgrade() -> None:
    op.drop_index("ix_product_ranks_product", table_name="product_ranks")
    op.drop_table("product_ranks")
    for name in ("ix_review_ranks_product", "ix_review_ranks_queue_label", "ix_review_ranks_queue_rank"):
        op.drop_index(name, table_name="review_ranks")
    op.drop_table("review_ranks")

"""SQLAlchemy 2.0 typed ORM models of the ReviewScope store.

ORM objects never leave a session scope: repository functions convert them to the
plain dataclasses of :mod:`storage.records`.  The schema only changes through Alembic
revisions in ``storage/migrations``; ``tests/storage/test_migrations.py`` checks the
head revision against this module.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .records import DISPUTE_DIRECTIONS, SUBSCORE_NAMES, RunStatus

# Deterministic constraint names keep Alembic diffs clean (and SQLite batch moves possible).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SUBSCORE_COLUMNS = ("s_pt_rt", "s_pv_rv", "s_pt_rv", "s_pv_rt", "s_rt_rv")
"""Prediction columns of the five interaction sub-scores, in MMSS.md order:
p_t r_t, p_v r_v, p_t r_v, p_v r_t, r_t r_v."""

SPLITS = ("train", "dev", "test")
TRAIN_SPLIT = SPLITS[0]
"""The split whose labels train a model (dev selects it, test measures it)."""

RUN_STATUSES = tuple(s.value for s in RunStatus)
"""What a training run's ``status`` may be (a CHECK constraint holds it)."""


SEARCH_SCHEMA_OBJECTS = frozenset({
    "reviews_fts", "reviews_fts_content", "reviews_fts_data", "reviews_fts_idx", "reviews_fts_docsize",
    "reviews_fts_config", "ix_reviews_search", "ix_products_search", "search_state",
})
"""What migrations 0005_search and 0009_search_backlog create outside this module: SQLite's FTS5
table (with its shadow tables and content view, and the one-row table saying which reviews it does
not hold yet) and PostgreSQL's expression indexes. Triggers, views and virtual tables
have no place in SQLAlchemy metadata, so autogenerate must not see them."""


def include_name(name: Optional[str], type_: str, _parent_names: Any) -> bool:
    """Alembic autogenerate filter (``include_name``): leave the search objects out of comparisons."""
    return not (type_ in ("table", "index") and name in SEARCH_SCHEMA_OBJECTS)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Product(Base):
    __tablename__ = "products"
    # the counts below are the database's (defaults, triggers): not read back after an insert
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(300), default="", index=True)
    split: Mapped[str] = mapped_column(String(8), default="train", index=True)
    image_urls: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # its reviews, and those with a vote label (migration 0012): kept by triggers on reviews in SQLite,
    # by the importer's recount_products in PostgreSQL
    n_reviews: Mapped[int] = mapped_column(Integer, server_default="0")
    n_labelled: Mapped[int] = mapped_column(Integer, server_default="0")

    reviews: Mapped[list["Review"]] = relationship(back_populates="product", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Product {self.product_id!r} {self.title[:30]!r}>"


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[str] = mapped_column(String(200), unique=True)
    product_pk: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    helpful_votes: Mapped[int] = mapped_column(Integer, default=0)
    total_votes: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    time: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    # Label from votes (MMSS.md) or given by the catalogue; NULL = unlabelled (0 votes).
    label: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, index=True)
    image_urls: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    product: Mapped[Product] = relationship(back_populates="reviews")

    def __repr__(self) -> str:
        return f"<Review {self.review_id!r} of product #{self.product_pk}>"


class Image(Base):
    """An image file, content-addressed: stored as ``media/<sha[:2]>/<sha>.<ext>``."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    relpath: Mapped[str] = mapped_column(String(200))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    n_bytes: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<Image {self.sha256[:12]} {self.width}x{self.height}>"


class ImageLink(Base):
    """Which product or review shows an image, in which position."""

    __tablename__ = "image_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    product_pk: Mapped[Optional[int]] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), nullable=True, index=True
    )
    review_pk: Mapped[Optional[int]] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), nullable=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    # At most one active model, whoever writes (two app windows, a trainer, a colleague's
    # PostgreSQL session): a unique index over the active rows only.
    __table_args__ = (
        Index("ix_model_versions_one_active", "active", unique=True,
              sqlite_where=text("active = 1"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True
    )
    checkpoint_path: Mapped[str] = mapped_column(Text)
    checkpoint_sha256: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ModelVersion {self.name!r}{' active' if self.active else ''}>"


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("model_version_id", "review_pk", name="uq_predictions_model_review"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    review_pk: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    s_pt_rt: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    s_pv_rv: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    s_pt_rv: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    s_pv_rt: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    s_rt_rv: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The score's named parts (records.ScoreParts JSON; migration 0006); None when scored without.
    explanation: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)
    # Its two largest parts (label, value), copied from ``explanation`` when written (migration
    # 0007): the review table shows and sorts by them without parsing the JSON.
    top_reason: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    top_reason_value: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    second_reason: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    second_reason_value: Mapped[Optional[float]] = mapped_column(Float, nullable=True)


class ReviewRank(Base):
    """Where a review stands in its product under one model (:class:`storage.ranking.RankInfo`),
    and its sub-scores' percentiles within the product, stored when the model's predictions of
    the product are written and again when an import changes the product's reviews
    (``storage/repository/ranks.py``), so that the disagreement queue is one indexed read and the
    review table reads the ranks of the rows it shows, instead of ranking whole products on every
    open. Every review of a product the model scored any of has a row (``model_rank`` NULL: not
    scored). Migration 0010.

    ``queue_rank_key`` and ``queue_label_key`` are ``-|rank_gap|`` and ``-|label_gap|`` (0 when
    the review has no label): ascending, they give the queue's orders (largest gap first, ties by
    review) straight from an index, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "review_ranks"
    __table_args__ = (
        Index("ix_review_ranks_queue_rank", "model_version_id", "queue_rank_key", "queue_label_key", "review_pk"),
        Index("ix_review_ranks_queue_label", "model_version_id", "queue_label_key", "queue_rank_key", "review_pk"),
        Index("ix_review_ranks_product", "product_pk", "model_version_id"),
        # a product's reviews in score order (model ranks 1..n_scored; migration 0011)
        Index("ix_review_ranks_model_order", "model_version_id", "product_pk", "model_rank"),
    )

    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    review_pk: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    product_pk: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    model_rank: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    vote_rank: Mapped[int] = mapped_column(Integer)
    implied_label: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    label_gap: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    rank_gap: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    queue_rank_key: Mapped[int] = mapped_column(Integer)
    queue_label_key: Mapped[int] = mapped_column(Integer)
    # percentile (0-100, storage.repository.predictions.percentile_ranks) of each sub-score within
    # the product's scored reviews, in SUBSCORE_COLUMNS order; NULL without a value
    pct_pt_rt: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    pct_pv_rv: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    pct_pt_rv: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    pct_pv_rt: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    pct_rt_rv: Mapped[Optional[float]] = mapped_column(Float, nullable=True)


class ProductRank(Base):
    """How many reviews of a product one model scored, how many it has, and its sub-scores'
    spreads, as its :class:`ReviewRank` rows were stored (one row per model and product with a
    scored review)."""

    __tablename__ = "product_ranks"
    __table_args__ = (Index("ix_product_ranks_product", "product_pk"),)

    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    product_pk: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    n_scored: Mapped[int] = mapped_column(Integer)
    n_reviews: Mapped[int] = mapped_column(Integer)
    # each sub-score's spread over the product ([n, low, p10, p90, high] or null, SUBSCORE_COLUMNS
    # order); NULL when ranked by migration 0010 and not scored since (readers compute it then)
    subscore_spreads: Mapped[Optional[list[Any]]] = mapped_column(JSON, nullable=True)


class Flag(Base):
    """A moderator's disagreement with the model about one review.

    ``undone`` marks a flag taken back (undo keeps the row for the audit trail);
    ``version`` is an optimistic-concurrency counter: a conflicting edit of the same
    flag from another moderator raises :class:`storage.errors.ConflictError`.
    """

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_pk: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    corrected_label: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    undone: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    resolution: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Loaded with the flag (one SELECT ... IN for a list of flags); a change of them is a change
    # of the flag: storage.repository.disputes bumps its version.
    interactions: Mapped[list["FlagInteraction"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="FlagInteraction.interaction",
    )

    __mapper_args__ = {"version_id_col": version}


class FlagInteraction(Base):
    """One interaction a flag disputes, and which way: the model's sub-score is too high or too low.

    A child table rather than a JSON column, so that "how many reviews dispute p_t r_t under
    this model" is one GROUP BY. Migration 0007_flag_interactions.
    """

    __tablename__ = "flag_interactions"
    __table_args__ = (
        CheckConstraint(f"interaction IN {SUBSCORE_NAMES!r}", name="interaction"),
        CheckConstraint(f"direction IN {DISPUTE_DIRECTIONS!r}", name="direction"),
    )

    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True)
    interaction: Mapped[str] = mapped_column(String(16), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))

    def __repr__(self) -> str:
        return f"<FlagInteraction flag #{self.flag_id} {self.interaction} {self.direction}>"


class FlagKind(Base):
    """A kind a flag can have (spam, model too high...), editable from the app.

    Flags keep their kind as a string: a rename rewrites it in the flags that use it, and a
    retired kind (``retired_at`` set) stays on its flags but is no longer offered for new ones.
    """

    __tablename__ = "flag_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TrainingRun(Base):
    __tablename__ = "training_runs"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(32), default="running")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    log: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent_model_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True
    )
    model_version_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True
    )
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)


class TrainingEpoch(Base):
    """One finished epoch of a training run: written as the epoch ends, so a killed run keeps
    the epochs it finished. The headline figures are columns (sortable, comparable across runs);
    the per-subtask detail, whose keys depend on the model, stays JSON."""

    __tablename__ = "training_epochs"
    __table_args__ = (
        UniqueConstraint("training_run_id", "epoch"),
        CheckConstraint("epoch >= 1", name="epoch_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    training_run_id: Mapped[int] = mapped_column(ForeignKey("training_runs.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    loss: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    dev_map: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    samples_per_s: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    losses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dev: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pseudo_labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(64), default="")
    target_id: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


Index("ix_reviews_product_label", Review.product_pk, Review.label)

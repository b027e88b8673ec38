"""Scores and sub-scores of reviews, per model version.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Optional

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from ..models import SUBSCORE_COLUMNS, Prediction, Product, Review, utcnow
from ..records import PredictionIn

__all__ = [
    "write_predictions",
    "review_pks_missing_prediction",
    "count_missing_predictions",
    "scores_by_product",
    "prediction_counts",
]


def write_predictions(session: Session, model_version_id: int, preds: Iterable[PredictionIn]) -> int:
    """Insert or replace predictions of one model (one batch, one transaction of the caller)."""
    preds = list(preds)
    if not preds:
        return 0
    pks = [p.review_pk for p in preds]
    session.execute(
        delete(Prediction).where(Prediction.model_version_id == model_version_id, Prediction.review_pk.in_(pks))
    )
    now = utcnow()
    session.execute(
        Prediction.__table__.insert(),
        [
            {
                "model_version_id": model_version_id, "review_pk": p.review_pk, "score": float(p.score), "created_at": now,
                **{c: (None if v is None else float(v)) for c, v in zip(SUBSCORE_COLUMNS, p.sub_scores)},
            }
            for p in preds
        ],
    )
    return len(preds)


def review_pks_missing_prediction(session: Session, model_version_id: int) -> list[int]:
    have = select(Prediction.review_pk).where(Prediction.model_version_id == model_version_id)
    return list(session.scalars(select(Review.id).where(Review.id.not_in(have)).order_by(Review.id)))


def count_missing_predictions(session: Session, model_version_id: int) -> int:
    """How many reviews have no prediction of the model (what ``score`` without ``--all`` scores)."""
    have = select(Prediction.review_pk).where(Prediction.model_version_id == model_version_id)
    return int(session.scalar(select(func.count()).select_from(Review).where(Review.id.not_in(have))) or 0)


def scores_by_product(
    session: Session, model_version_id: int, split: str | None = None, *, product_pk: int | None = None,
    category: str | None = None, exclude_split: str | None = None,
) -> dict[str, list[tuple[int, float, Optional[int]]]]:
    """product_id -> [(review_pk, score, vote label)] for every scored review, of one split,
    one product, one category, or all but one split when asked."""
    q = (
        select(Product.product_id, Review.id, Prediction.score, Review.label)
        .join(Review, Review.product_pk == Product.id)
        .join(Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == model_version_id))
        .order_by(Product.id, Review.id)
    )
    if split:
        q = q.where(Product.split == split)
    if exclude_split:
        q = q.where(Product.split != exclude_split)
    if product_pk is not None:
        q = q.where(Product.id == product_pk)
    if category is not None:
        q = q.where(Product.category == category)
    out: dict[str, list] = defaultdict(list)
    for pid, rpk, score, label in session.execute(q):
        out[pid].append((rpk, score, label))
    return dict(out)


def prediction_counts(session: Session) -> dict[int, int]:
    """model_version_id -> number of reviews it has scored."""
    return dict(session.execute(select(Prediction.model_version_id, func.count()).group_by(Prediction.model_version_id)).all())

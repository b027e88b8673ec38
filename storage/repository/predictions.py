"""Scores and sub-scores of reviews, per model version.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

import heapq

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from itertools import groupby
from operator import itemgetter
from typing import Iterable, Iterator, Mapping, Optional

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session, aliased

from ..models import SUBSCORE_COLUMNS, Flag, Prediction, Product, Review, utcnow
from ..records import SUBSCORE_DECIMALS, PredictionIn, ProductSubScores, ScoreParts, SubScoreSpread, part_order
from ._chunks import in_chunks
from .ranks import product_pks_of_reviews, refresh_ranks

__all__ = [
    "write_predictions",
    "review_pks_missing_prediction",
    "count_missing_predictions",
    "scores_by_product",
    "iter_scores_by_product",
    "prediction_counts",
    "PAIRED_COLUMNS",
    "paired_predictions",
    "paired_predictions_stamp",
    "score_parts",
    "score_parts_by_pks",
    "product_subscores",
    "subscore_spread",
    "percentile_ranks",
]


def write_predictions(session: Session, model_version_id: int, preds: Iterable[PredictionIn]) -> int:
    """Insert or replace predictions of one model (one batch, one transaction of the caller), and
    store the ranks of the products they belong to under that model again (``ranks.py``)."""
    preds = list(preds)
    if not preds:
        return 0
    pks = [p.review_pk for p in preds]
    for cond in in_chunks(Prediction.review_pk, pks):  # SQLite bounds a statement's parameters
        session.execute(delete(Prediction).where(Prediction.model_version_id == model_version_id, cond))
    now = utcnow()
    session.execute(
        Prediction.__table__.insert(),
        [
            {
                "model_version_id": model_version_id, "review_pk": p.review_pk, "score": float(p.score), "created_at": now,
                "explanation": p.explanation, **_reason_columns(p.explanation),
                **{c: (None if v is None else float(v)) for c, v in zip(SUBSCORE_COLUMNS, p.sub_scores)},
            }
            for p in preds
        ],
    )
    refresh_ranks(session, product_pks_of_reviews(session, pks), [model_version_id])
    return len(preds)


def _reason_columns(explanation) -> dict:
    """The two largest parts of an explanation as the prediction's reason columns (migration 0007):
    ``ScoreParts.from_json(explanation).ranked()[:2]``, read without building the parts (a
    rescoring writes thousands of explanations a second)."""
    top: list = []
    if isinstance(explanation, dict) and explanation.get("version") == 1:
        try:
            float(explanation["score"]), float(explanation["base"])
            parts = [(str(label), float(v)) for _k, label, v in explanation["parts"]]
            top = heapq.nsmallest(2, parts, key=lambda p: part_order(*p))
        except (KeyError, TypeError, ValueError):
            top = []
    top += [(None, None)] * (2 - len(top))
    return {"top_reason": top[0][0], "top_reason_value": top[0][1],
            "second_reason": top[1][0], "second_reason_value": top[1][1]}


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
    # Executed on the session's connection (Core rows, same transaction; flushed first, as the
    # ORM's execute would): 100,000 rows of a large catalogue in ~150 ms against ~180 ms through
    # the ORM's result machinery (stop 25, same run).
    session.flush()
    for pid, rpk, score, label in session.connection().execute(q):
        out[pid].append((rpk, score, label))
    return dict(out)


def iter_scores_by_product(session: Session, model_version_id: int) -> Iterator[tuple[str, list]]:
    """``(product_id, [(review_pk, score, vote label)])`` of every product the model scored, one
    product at a time (what :func:`scores_by_product` returns, streamed from the cursor: a
    million scores are never held at once). Consume it inside the session's transaction."""
    q = (
        select(Product.product_id, Review.id, Prediction.score, Review.label)
        .join(Review, Review.product_pk == Product.id)
        .join(Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == model_version_id))
        .order_by(Product.id, Review.id)
    )
    session.flush()
    rows = session.connection().execution_options(stream_results=True, yield_per=5000).execute(q)
    for pid, group in groupby(rows, key=itemgetter(0)):
        yield pid, [(rpk, score, label) for _pid, rpk, score, label in group]


def prediction_counts(session: Session) -> dict[int, int]:
    """model_version_id -> number of reviews it has scored."""
    return dict(session.execute(select(Prediction.model_version_id, func.count()).group_by(Prediction.model_version_id)).all())


PAIRED_COLUMNS = ("review_pk", "product_pk", "category", "score_a", *(f"{c}_a" for c in SUBSCORE_COLUMNS),
                  "score_b", *(f"{c}_b" for c in SUBSCORE_COLUMNS))
"""The fields of a row of :func:`paired_predictions`, in order."""


def _unflagged(review_pk):
    """No flag of the review is active (an undone flag does not count). An uncorrelated NOT IN:
    the active flags are read once (a correlated NOT EXISTS made SQLite walk the undone index
    for every review: 10 s at 100k reviews)."""
    return review_pk.not_in(select(Flag.review_pk).where(Flag.undone.is_(False)))


def paired_predictions(session: Session, model_a: int, model_b: int) -> list[tuple]:
    """Both models' predictions of every review that both scored and that has no active flag.

    One row per review, in review order, as plain tuples of :data:`PAIRED_COLUMNS`:
    ``(review_pk, product_pk, category, score_a, 5 sub-scores under a, score_b, 5 sub-scores
    under b)``; a sub-score may be None. One SQL join, so it stays quick at 100k reviews."""
    pa, pb = aliased(Prediction), aliased(Prediction)
    q = (
        select(Review.id, Review.product_pk, Product.category,
               pa.score, *(getattr(pa, c) for c in SUBSCORE_COLUMNS),
               pb.score, *(getattr(pb, c) for c in SUBSCORE_COLUMNS))
        .select_from(pa)
        .join(pb, and_(pb.review_pk == pa.review_pk, pb.model_version_id == model_b))
        .join(Review, Review.id == pa.review_pk)
        .join(Product, Product.id == Review.product_pk)
        .where(pa.model_version_id == model_a, _unflagged(pa.review_pk))
        .order_by(pa.review_pk)
    )
    return [tuple(r) for r in session.execute(q)]


def paired_predictions_stamp(session: Session, model_a: int, model_b: int) -> tuple:
    """A cheap fingerprint that changes whenever :func:`paired_predictions` may answer
    differently: a prediction of either model written or deleted (count and newest time of
    each model's predictions) or a flag added, undone or redone (count and id sum of the
    active flags). A cache of the pairs keyed by it never serves a stale answer after a
    rescoring or a moderator's flag."""
    per_model = dict(
        (mid, (n, str(newest)))
        for mid, n, newest in session.execute(
            select(Prediction.model_version_id, func.count(), func.max(Prediction.created_at))
            .where(Prediction.model_version_id.in_((model_a, model_b)))
            .group_by(Prediction.model_version_id)
        )
    )
    n_flags, id_sum = session.execute(
        select(func.count(), func.coalesce(func.sum(Flag.id), 0)).where(Flag.undone.is_(False))
    ).one()
    return (model_a, per_model.get(model_a, (0, None)), model_b, per_model.get(model_b, (0, None)),
            int(n_flags), int(id_sum))


def score_parts_by_pks(session: Session, model_version_id: int, review_pks) -> dict[int, ScoreParts]:
    """review pk -> its stored explanation under one model (reviews without one left out)."""
    out: dict[int, ScoreParts] = {}
    for cond in in_chunks(Prediction.review_pk, list(dict.fromkeys(review_pks))):
        for pk, data in session.execute(select(Prediction.review_pk, Prediction.explanation).where(
                Prediction.model_version_id == model_version_id, cond, Prediction.explanation.is_not(None))):
            parts = ScoreParts.from_json(data)
            if parts is not None:
                out[pk] = parts
    return out


def score_parts(session: Session, model_version_id: int, review_pk: int) -> Optional[ScoreParts]:
    """The stored explanation of one review's score under one model; None when it has none
    (not scored, or scored by a version that stored no parts)."""
    data = session.scalar(select(Prediction.explanation).where(
        Prediction.model_version_id == model_version_id, Prediction.review_pk == review_pk))
    return ScoreParts.from_json(data)


def _rounded(v: Optional[float]) -> Optional[float]:
    return None if v is None else round(float(v), SUBSCORE_DECIMALS)


def subscore_spread(values: list[float]) -> Optional[SubScoreSpread]:
    """Smallest, 10th and 90th percentile (nearest rank) and largest of ``values`` (already rounded)."""
    if not values:
        return None
    v = sorted(values)
    n = len(v)

    def nearest(q: float) -> float:
        return v[max(0, min(n - 1, math.ceil(q * n) - 1))]

    return SubScoreSpread(n, v[0], nearest(0.10), nearest(0.90), v[-1])


def percentile_ranks(values: dict[int, float]) -> dict[int, float]:
    """key -> percentile rank 0-100 of its value among ``values``: (values below + half the ties
    including itself) / n. All tied: every key at 50."""
    ordered = sorted(values.values())
    n = len(ordered)
    return {k: 100.0 * (bisect_left(ordered, v) + 0.5 * (bisect_right(ordered, v) - bisect_left(ordered, v))) / n
            for k, v in values.items()}


class SubScorePercentiles(Mapping):
    """review pk -> each sub-score's percentile rank within the product (:func:`percentile_ranks`'
    definition), computed when a review is first read: one sorted column per sub-score up front,
    two bisections per value read."""

    def __init__(self, rows) -> None:
        n, d = len(SUBSCORE_COLUMNS), SUBSCORE_DECIMALS
        columns = [[None if v is None else round(float(v), d) for v in col] for col in list(zip(*rows))[1:]] if rows else []
        self._values = dict(zip((r[0] for r in rows), zip(*columns))) if rows else {}
        self.sorted = [sorted(v for v in columns[i] if v is not None) if rows else [] for i in range(n)]
        self._built: dict[int, tuple] = {}

    def _percentile(self, i: int, v: Optional[float]) -> Optional[float]:
        if v is None:
            return None
        ordered = self.sorted[i]
        lo, hi = bisect_left(ordered, v), bisect_right(ordered, v)
        return 100.0 * (lo + 0.5 * (hi - lo)) / len(ordered)

    def __getitem__(self, review_pk: int) -> tuple:
        out = self._built.get(review_pk)
        if out is None:
            out = tuple(self._percentile(i, v) for i, v in enumerate(self._values[review_pk]))
            self._built[review_pk] = out
        return out

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, review_pk: object) -> bool:
        return review_pk in self._values


def product_subscores(session: Session, product_pk: int, model_version_id: Optional[int]) -> Optional[ProductSubScores]:
    """The five sub-scores of one product's reviews under one model: each one's spread and each
    review's percentile within the product (:class:`ProductSubScores`, percentiles computed as
    they are read), from one query of the product's predictions (the product's reviews, then
    each one's prediction by the (model, review) index); None without a model."""
    if model_version_id is None:
        return None
    cols = [getattr(Prediction, c) for c in SUBSCORE_COLUMNS]
    rows = [r for r in session.execute(
        select(Prediction.review_pk, *cols)
        .select_from(Review)
        .outerjoin(Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == model_version_id))
        .where(Review.product_pk == product_pk)
    ) if r[0] is not None]
    percentiles = SubScorePercentiles(rows)
    spreads = tuple(subscore_spread(v) for v in percentiles.sorted)
    return ProductSubScores(product_pk, model_version_id, spreads, percentiles)

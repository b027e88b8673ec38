"""Stored ranks: each review's place in its product under a model (``review_ranks``,
``product_ranks``; migration 0010), kept equal to what :func:`storage.ranking.rank_product`
computes from the stored scores, labels and votes, with each scored review's sub-score
percentiles and the product's sub-score spreads (``predictions.product_subscores``).

They are rewritten, in the writer's transaction, whenever what they depend on changes:
``write_predictions`` refreshes the products of the reviews it wrote (under that model); an
import refreshes the products whose reviews it added, changed or moved (under every model);
deleting a model deletes them. Readers therefore never rank: the disagreement queue is one
indexed query (:func:`stored_disagreements`), and the review table reads the ranks and
percentiles of the rows it shows (:func:`stored_context`), whatever the product's size.

A product has rows under a model once the model scored one of its reviews: one per review of
the product, unscored ones included (their vote rank). Products ranked by the migration have no
sub-score figures (``subscore_spreads`` NULL) until they are scored again; readers then compute
them (:func:`stored_context` answers None).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Optional, Sequence

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from ..models import SUBSCORE_COLUMNS, Prediction, Product, ProductRank, Review, ReviewRank
from ..ranking import MODEL_TOO_HIGH, MODEL_TOO_LOW, Disagreement, DisagreementMode, RankInfo, RankInput, rank_product
from ..records import ProductSubScores, SubScoreSpread
from ._chunks import in_chunks

__all__ = ["refresh_ranks", "product_pks_of_reviews", "stored_disagreements", "stored_context", "stored_score_page",
           "disagreement_pks", "PERCENTILE_COLUMNS"]

_PG_LOCK_KEY = 0x52414E4B  # "RANK": PostgreSQL advisory lock of rank refreshes

PERCENTILE_COLUMNS = tuple(f"pct_{c[2:]}" for c in SUBSCORE_COLUMNS)
"""``review_ranks`` columns of the five sub-scores' percentiles within the product, in MMSS.md order."""


def product_pks_of_reviews(session: Session, review_pks: Sequence[int]) -> set[int]:
    out: set[int] = set()
    for cond in in_chunks(Review.id, review_pks):
        out.update(session.scalars(select(Review.product_pk).where(cond).distinct()))
    return out


def _models_ranking(session: Session, product_pks: Sequence[int]) -> set[int]:
    """Models with stored ranks of any of the products (every model that scored one of them:
    predictions are only written with their ranks, and migration 0010 ranked the older ones)."""
    out: set[int] = set()
    for cond in in_chunks(ProductRank.product_pk, product_pks):
        out.update(session.scalars(select(ProductRank.model_version_id).where(cond).distinct()))
    return out


def _spread_json(spread: Optional[SubScoreSpread]) -> Optional[list]:
    return None if spread is None else [spread.n, spread.low, spread.p10, spread.p90, spread.high]


def _spread(data) -> Optional[SubScoreSpread]:
    return None if data is None else SubScoreSpread(int(data[0]), *(float(v) for v in data[1:]))


def refresh_ranks(session: Session, product_pks: Iterable[int], model_version_ids: Optional[Iterable[int]] = None) -> int:
    """Rank again the reviews of ``product_pks`` under each of ``model_version_ids`` (None: every
    model that ranked any of them) and store the result, with the sub-score percentiles and
    spreads, in place of the old one. Returns the number of review rows written. The caller's
    transaction; no commit."""
    from .predictions import SubScorePercentiles, subscore_spread  # predictions.py writes through here

    pks = sorted(set(product_pks))
    if not pks:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # Two writers refreshing the same product (an import and a scoring job) would each delete,
        # then insert rows the other cannot see yet (READ COMMITTED): a duplicate key, or ranks from
        # the other's uncommitted votes or scores. One refresh at a time, until its commit; each
        # statement after the lock sees what the other committed.
        session.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    models = sorted(set(model_version_ids) if model_version_ids is not None else _models_ranking(session, pks))
    written = 0
    rr, pr = ReviewRank.__table__, ProductRank.__table__
    subs = [getattr(Prediction, c) for c in SUBSCORE_COLUMNS]
    for mv in models:
        for cond_r, cond_p, cond_in in zip(in_chunks(rr.c.product_pk, pks), in_chunks(pr.c.product_pk, pks),
                                           in_chunks(Review.product_pk, pks)):
            session.execute(delete(rr).where(rr.c.model_version_id == mv, cond_r))
            session.execute(delete(pr).where(pr.c.model_version_id == mv, cond_p))
            q = (
                select(Review.product_pk, Review.id, Prediction.score, Review.label, Review.helpful_votes, *subs)
                .outerjoin(Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == mv))
                .where(cond_in)
                .order_by(Review.product_pk, Review.id)
            )
            by_product: dict[int, list] = defaultdict(list)
            for row in session.connection().execute(q):
                by_product[row[0]].append(row)
            rows, counts = [], []
            for ppk, found in by_product.items():
                items = [RankInput(r[1], r[2], r[3], r[4] or 0) for r in found]
                scored = [r for r in found if r[2] is not None]
                if not scored:
                    continue
                ranks = rank_product(items)
                percentiles = SubScorePercentiles([(r[1], *r[5:]) for r in scored])
                none = (None,) * len(SUBSCORE_COLUMNS)
                for item in items:
                    info = ranks[item.review_pk]
                    pct = percentiles[item.review_pk] if item.score is not None else none
                    rows.append({
                        "model_version_id": mv, "review_pk": item.review_pk, "product_pk": ppk,
                        "model_rank": info.model_rank, "vote_rank": info.vote_rank,
                        "implied_label": info.implied_label, "label_gap": info.label_gap, "rank_gap": info.rank_gap,
                        "queue_rank_key": -abs(info.rank_gap or 0), "queue_label_key": -abs(info.label_gap or 0),
                        **dict(zip(PERCENTILE_COLUMNS, pct)),
                    })
                counts.append({"model_version_id": mv, "product_pk": ppk, "n_scored": len(scored),
                               "n_reviews": len(items),
                               "subscore_spreads": [_spread_json(subscore_spread(v)) for v in percentiles.sorted]})
            if rows:
                session.execute(rr.insert(), rows)
                session.execute(pr.insert(), counts)
            written += len(rows)
    return written


def stored_context(
    session: Session, product_pk: int, model_version_id: Optional[int], review_pks: Optional[Sequence[int]] = None,
) -> Optional[tuple[dict[int, RankInfo], ProductSubScores]]:
    """``(review pk -> RankInfo, the product's sub-scores)`` as stored, for ``review_pks`` (None:
    every review of the product); the sub-scores carry the product's spreads and the percentiles
    of those reviews. None when nothing is stored to answer from (no model, a product the model
    scored none of, or ranked by the migration without sub-score figures): compute them instead."""
    if model_version_id is None:
        return None
    head = _head(session, product_pk, model_version_id)
    if head is None:
        return None
    base = _context_rows(model_version_id, product_pk)
    queries = [base] if review_pks is None else [base.where(c) for c in in_chunks(ReviewRank.review_pk, review_pks)]
    session.flush()
    conn = session.connection()
    return _context(product_pk, model_version_id, head, (r for q in queries for r in conn.execute(q)))


def _head(session: Session, product_pk: int, model_version_id: int):
    """The product's ``(n_scored, n_reviews, spreads)`` under the model; None without stored
    sub-score figures (see :func:`stored_context`)."""
    head = session.execute(select(ProductRank.n_scored, ProductRank.n_reviews, ProductRank.subscore_spreads).where(
        ProductRank.model_version_id == model_version_id, ProductRank.product_pk == product_pk)).first()
    return None if head is None or head[2] is None else head


def _context_rows(model_version_id: int, product_pk: int):
    """The stored rank columns of a product's reviews under a model (see :func:`_context`)."""
    cols = (ReviewRank.review_pk, ReviewRank.model_rank, ReviewRank.vote_rank, ReviewRank.implied_label,
            ReviewRank.label_gap, ReviewRank.rank_gap, *(getattr(ReviewRank, c) for c in PERCENTILE_COLUMNS))
    return select(*cols).where(ReviewRank.model_version_id == model_version_id, ReviewRank.product_pk == product_pk)


def _context(product_pk: int, model_version_id: int, head, rows) -> tuple[dict[int, RankInfo], ProductSubScores]:
    """Ranks (in the rows' order) and sub-scores from the product's ``product_ranks`` row (``head``:
    n_scored, n_reviews, spreads) and :func:`_context_rows` rows."""
    n_scored, n_reviews, spreads = head
    ranks: dict[int, RankInfo] = {}
    percentiles: dict[int, tuple] = {}
    for pk, model_rank, vote_rank, implied, label_gap, rank_gap, *pct in rows:
        ranks[pk] = RankInfo(model_rank, n_scored, vote_rank, n_reviews, implied, label_gap, rank_gap)
        if model_rank is not None:
            percentiles[pk] = tuple(pct)
    return ranks, ProductSubScores(product_pk, model_version_id, tuple(_spread(s) for s in spreads), percentiles)


def stored_score_page(
    session: Session, product_pk: int, model_version_id: Optional[int], offset: int, limit: int,
) -> Optional[tuple[list[int], dict[int, RankInfo], ProductSubScores]]:
    """Reviews ``offset`` to ``offset + limit`` of the product in the review table's default order
    (score descending, ties by review id, unscored reviews last by review id: the stored model
    ranks 1..n_scored are that order), with what :func:`stored_context` gives for them, read by
    the ``(model, product, model rank)`` index: a range of it, whatever the product's size,
    instead of sorting every review of the product by its score (10,000 reviews: 0.6 against
    11 ms of SQL, and the ranks come with the keys). None when :func:`stored_context` is None, or
    (PostgreSQL) when the product was ranked again while the page was read."""
    if model_version_id is None:
        return None
    head = _head(session, product_pk, model_version_id)
    if head is None:
        return None
    n_scored = head[0]
    base = _context_rows(model_version_id, product_pk)
    session.flush()
    conn = session.connection()
    found: list = []
    if offset < n_scored:
        found += conn.execute(base.where(ReviewRank.model_rank > offset, ReviewRank.model_rank <= offset + limit)
                              .order_by(ReviewRank.model_rank)).all()
    if len(found) < limit:
        found += conn.execute(base.where(ReviewRank.model_rank.is_(None)).order_by(ReviewRank.review_pk)
                              .offset(max(0, offset - n_scored)).limit(limit - len(found))).all()
    if session.get_bind().dialect.name != "sqlite" and _head(session, product_pk, model_version_id) != head:
        # PostgreSQL reads each statement at its own moment (READ COMMITTED): ranks written between
        # them would mix two rankings in one page. Rare; the caller then sorts by the scores
        return None
    ranks, subscores = _context(product_pk, model_version_id, head, found)
    return list(ranks), ranks, subscores


def disagreement_pks(session: Session, product_pk: int, model_version_id: int) -> Optional[tuple[int, ...]]:
    """The product's reviews the model disagrees with (stored label gap not 0), in review order;
    None when the model's ranks of the product are not stored (see :func:`stored_context`)."""
    stored = session.scalar(select(ProductRank.n_scored).where(
        ProductRank.model_version_id == model_version_id, ProductRank.product_pk == product_pk))
    if stored is None:
        return None
    return tuple(session.scalars(select(ReviewRank.review_pk).where(
        ReviewRank.model_version_id == model_version_id, ReviewRank.product_pk == product_pk,
        ReviewRank.label_gap != 0).order_by(ReviewRank.review_pk)))
_ORDER = {
    DisagreementMode.RANK_GAP: (ReviewRank.queue_rank_key, ReviewRank.queue_label_key, ReviewRank.review_pk),
    DisagreementMode.SCORE_VS_LABEL: (ReviewRank.queue_label_key, ReviewRank.queue_rank_key, ReviewRank.review_pk),
}


def stored_disagreements(
    session: Session, model_version_id: int, mode: DisagreementMode = DisagreementMode.RANK_GAP,
    limit: Optional[int] = 500, direction: Optional[str] = None, *, product_pk: Optional[int] = None,
    category: Optional[str] = None, exclude_split: Optional[str] = None,
) -> list[Disagreement]:
    """What :func:`storage.ranking.find_disagreements` returns for the model's scores (same
    reviews, same order, same :class:`RankInfo`, votes included), read from the stored ranks:
    the index of ``mode``'s order is walked until ``limit`` reviews pass the filters."""
    if direction not in (None, MODEL_TOO_HIGH, MODEL_TOO_LOW):
        raise ValueError(f"unknown direction {direction!r}")
    q = (
        select(ReviewRank.review_pk, Product.product_id, Prediction.score, Review.label, ReviewRank.model_rank,
               ProductRank.n_scored, ReviewRank.vote_rank, ProductRank.n_reviews, ReviewRank.implied_label,
               ReviewRank.label_gap, ReviewRank.rank_gap)
        .select_from(ReviewRank)
        .join(Prediction, and_(Prediction.model_version_id == ReviewRank.model_version_id,
                               Prediction.review_pk == ReviewRank.review_pk))
        .join(Review, Review.id == ReviewRank.review_pk)
        .join(Product, Product.id == ReviewRank.product_pk)
        .join(ProductRank, and_(ProductRank.model_version_id == ReviewRank.model_version_id,
                                ProductRank.product_pk == ReviewRank.product_pk))
        .where(ReviewRank.model_version_id == model_version_id, ReviewRank.label_gap != 0)
    )
    # One product: its rows by the product index, sorted (a small product's few disagreements
    # are far down the model's whole index: 36 ms against 1 ms at 100,000 reviews); otherwise
    # the index of the mode's order, read until the limit.
    order = _ORDER[mode]
    q = q.order_by(*((c + 0 for c in order) if product_pk is not None else order))
    if direction == MODEL_TOO_HIGH:
        q = q.where(ReviewRank.label_gap > 0)
    elif direction == MODEL_TOO_LOW:
        q = q.where(ReviewRank.label_gap < 0)
    if product_pk is not None:
        q = q.where(ReviewRank.product_pk == product_pk)
    if category is not None:
        q = q.where(Product.category == category)
    if exclude_split:
        q = q.where(Product.split != exclude_split)
    if limit is not None:
        q = q.limit(limit)
    session.flush()
    return [Disagreement(pid, rpk, float(score), int(label), RankInfo(*info))
            for rpk, pid, score, label, *info in session.connection().execute(q)]

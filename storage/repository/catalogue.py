"""Products and reviews: browsing pages, review detail, and the catalogue as training and scoring read it.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..models import SUBSCORE_COLUMNS, Flag, Image, ImageLink, Prediction, Product, ProductRank, Review
from ..records import (
    ImageRecord,
    ProductSummary,
    ReviewDetail,
    ReviewFilter,
    ReviewRow,
    TrainingProduct,
    TrainingReview,
    product_order,
)
from ._chunks import in_chunks
from .disputes import disputed_interactions
from .flags import _flag_record
from .predictions import score_parts

__all__ = [
    "list_categories",
    "list_products",
    "recount_products",
    "get_product_pk",
    "first_product_pk",
    "product_titles",
    "count_reviews",
    "page_reviews",
    "iter_reviews",
    "get_review_detail",
    "product_rank_inputs",
    "rank_inputs_by_product",
    "review_rows_by_pks",
    "page_reviews_among",
    "count_reviews_among",
    "review_pks_matching",
    "corrected_labels",
    "load_catalogue",
    "review_pks_by_product",
    "load_products",
]


def list_categories(session: Session) -> list[str]:
    return [c for c in session.scalars(select(Product.category).distinct().order_by(Product.category)) if c is not None]


def list_products(
    session: Session, search: str = "", category: str | None = None, model_version_id: int | None = None
) -> list[ProductSummary]:
    """Products with counts: reviews, labelled reviews, active flags, scored by the model."""
    # the review counts are the product's own columns (migration 0012: kept by triggers on SQLite, by
    # the importer on PostgreSQL), not a count over the catalogue's reviews (8 ms of SQL at 100,000
    # reviews, 10x that at 1,000,000)
    n_flagged = (
        select(Review.product_pk, func.count(func.distinct(Flag.review_pk)).label("n"))
        .join(Flag, Flag.review_pk == Review.id)
        .where(Flag.undone.is_(False))
        .group_by(Review.product_pk)
        .subquery()
    )
    cols = [
        Product.id,
        Product.product_id,
        Product.title,
        Product.category,
        Product.split,
        Product.n_reviews,
        Product.n_labelled,
        func.coalesce(n_flagged.c.n, 0),
    ]
    q = select(*cols).outerjoin(n_flagged, n_flagged.c.product_pk == Product.id)
    if model_version_id is not None:
        # the scored counts stored with the model's ranks (ranks.py): a key lookup per product
        # instead of counting every prediction of the model (28 ms of SQL at 100,000 reviews)
        q = q.add_columns(func.coalesce(ProductRank.n_scored, 0)).outerjoin(
            ProductRank, and_(ProductRank.product_pk == Product.id, ProductRank.model_version_id == model_version_id))
    if search:
        like = f"%{search}%"
        q = q.where(or_(Product.title.ilike(like), Product.product_id.ilike(like)))
    if category:
        q = q.where(Product.category == category)
    q = q.order_by(Product.id)
    session.flush()
    scored = model_version_id is not None
    return [ProductSummary(r[0], r[1], r[2] or "", r[3] or "", r[4], r[5], r[6], r[7], r[8] if scored else 0)
            for r in session.connection().execute(q).all()]


def recount_products(session: Session, product_pks) -> None:
    """Count the reviews and the labelled reviews of ``product_pks`` again into the products' own
    columns (migration 0012). SQLite's triggers keep them as rows are written; on PostgreSQL the
    importer calls this for the products it touched, at the end of its transaction."""
    pt, rt = Product.__table__, Review.__table__
    for cond in in_chunks(pt.c.id, sorted(set(product_pks))):
        session.execute(update(pt).where(cond).values(
            n_reviews=select(func.count()).where(rt.c.product_pk == pt.c.id).scalar_subquery(),
            n_labelled=select(func.count(rt.c.label)).where(rt.c.product_pk == pt.c.id).scalar_subquery()))


def product_titles(session: Session, product_ids: Sequence[str]) -> dict[str, str]:
    """product_id -> title ('' when none) of the given products."""
    out: dict[str, str] = {}
    for cond in in_chunks(Product.product_id, sorted(set(product_ids))):
        out.update({pid: title or "" for pid, title in session.execute(select(Product.product_id, Product.title).where(cond))})
    return out


def get_product_pk(session: Session, product_id: str) -> int:
    pk = session.scalar(select(Product.id).where(Product.product_id == product_id))
    if pk is None:
        raise NotFoundError(f"no product with id {product_id!r}")
    return pk


def first_product_pk(session: Session, product_id: str | None = None) -> int | None:
    """The product ``product_id`` (None: not in the catalogue), or without one the first product
    in the product list's order (title, else product id, case-insensitively; then pk)."""
    if product_id is not None:
        return session.scalar(select(Product.id).where(Product.product_id == product_id))
    # the product list's own key, in Python: SQL lower() folds ASCII only ("É" stays before "é")
    rows = session.execute(select(Product.id, Product.title, Product.product_id))
    first = min(rows, key=lambda r: product_order(r[1], r[2], r[0]), default=None)
    return None if first is None else first[0]


_ORDERABLE = {
    "score": Prediction.score,
    "label": Review.label,
    "votes": Review.helpful_votes,
    "rating": Review.rating,
    "time": Review.time,
    "review_id": Review.review_id,
    "id": Review.id,
    **{name: getattr(Prediction, name) for name in SUBSCORE_COLUMNS},
    # a reason groups its reviews, each group ordered by how much the reason moved the score
    "top_reason": (Prediction.top_reason, Prediction.top_reason_value),
    "second_reason": (Prediction.second_reason, Prediction.second_reason_value),
}


def _order(q, order_by: str, descending: bool):
    """``q`` ordered by an :data:`_ORDERABLE` key: NULLs last, ties by review id (stable pages)."""
    if order_by not in _ORDERABLE:
        raise ValueError(f"cannot order reviews by {order_by!r}; choose one of {sorted(_ORDERABLE)}")
    cols = _ORDERABLE[order_by]
    cols = cols if isinstance(cols, tuple) else (cols,)
    return q.order_by(cols[0].is_(None), *(c.desc() if descending else c.asc() for c in cols), Review.id)


def _has_text(*cols):
    """Any of the columns holds more than whitespace (as the engine's product text is built)."""
    return or_(*(func.length(func.trim(func.coalesce(c, ""))) > 0 for c in cols))


@functools.lru_cache(maxsize=32)
def _review_query(model_version_id: Optional[int]):
    """The review table's row query (and its image-count subquery) under a model. Statements are
    immutable, so one is built per model and reused: building it costs more than a page's SQL."""
    n_img = (
        select(ImageLink.review_pk, func.count().label("n"))
        .where(ImageLink.review_pk.is_not(None))
        .group_by(ImageLink.review_pk)
        .subquery()
    )
    n_product_img = (
        select(ImageLink.product_pk, func.count().label("n"))
        .where(ImageLink.product_pk.is_not(None))
        .group_by(ImageLink.product_pk)
        .subquery()
    )
    active_flag = (
        select(Flag.review_pk, func.max(Flag.id).label("flag_id"))
        .where(Flag.undone.is_(False))
        .group_by(Flag.review_pk)
        .subquery()
    )
    q = (
        select(
            Review.id,
            Review.review_id,
            Review.product_pk,
            Review.title,
            Review.text,
            Review.rating,
            Review.helpful_votes,
            Review.label,
            Review.time,
            func.coalesce(n_img.c.n, 0),
            Prediction.score,
            *[getattr(Prediction, c) for c in SUBSCORE_COLUMNS],
            Flag.kind,
            Flag.id,
            Flag.corrected_label,
            Prediction.top_reason,
            Prediction.top_reason_value,
            Prediction.second_reason,
            Prediction.second_reason_value,
            _has_text(Product.title, Product.description),
            func.coalesce(n_product_img.c.n, 0),
        )
        .join(Product, Product.id == Review.product_pk)
        .outerjoin(n_img, n_img.c.review_pk == Review.id)
        .outerjoin(n_product_img, n_product_img.c.product_pk == Review.product_pk)
        .outerjoin(
            Prediction,
            and_(Prediction.review_pk == Review.id, Prediction.model_version_id == (model_version_id or -1)),
        )
        .outerjoin(active_flag, active_flag.c.review_pk == Review.id)
        .outerjoin(Flag, Flag.id == active_flag.c.flag_id)
    )
    return q, n_img


def _row(r) -> ReviewRow:
    reasons = tuple((label, float(value)) for label, value in ((r[19], r[20]), (r[21], r[22]))
                    if label is not None and value is not None)
    return ReviewRow(
        id=r[0], review_id=r[1], product_pk=r[2], title=r[3] or "", text=r[4] or "", rating=r[5],
        helpful_votes=r[6], label=r[7], time=r[8], n_images=r[9], score=r[10], sub_scores=tuple(r[11:16]),
        flag_kind=r[16], flag_id=r[17], corrected_label=r[18], reasons=reasons, has_product_text=bool(r[23]),
        n_product_images=int(r[24] or 0),
    )


def _apply_filter(q, flt: ReviewFilter | None, n_img):
    if flt is None:
        return q
    if flt.text:
        like = f"%{flt.text}%"
        q = q.where(or_(Review.text.ilike(like), Review.title.ilike(like), Review.review_id.ilike(like)))
    if flt.only_flagged:
        q = q.where(Flag.id.is_not(None))
    if flt.has_images:
        q = q.where(n_img.c.n > 0)
    if flt.only_labeled:
        q = q.where(Review.label.is_not(None))
    return q


def _own_columns_only(flt: ReviewFilter | None) -> bool:
    """The filter is on the review's own columns (text, label): no flag or image join needed."""
    return flt is None or not (flt.only_flagged or flt.has_images)


def count_reviews(session: Session, product_pk: int | None = None, flt: ReviewFilter | None = None) -> int:
    if _own_columns_only(flt):
        # counted on the reviews alone (an index range for one product), not over the table
        # row's joins (0.2 against 3.3 ms at 10,000 reviews)
        q = select(func.count()).select_from(Review)
        if product_pk is not None:
            q = q.where(Review.product_pk == product_pk)
        return session.scalar(_apply_filter(q, flt, None))
    q, n_img = _review_query(None)
    if product_pk is not None:
        q = q.where(Review.product_pk == product_pk)
    q = _apply_filter(q, flt, n_img)
    return session.scalar(select(func.count()).select_from(q.subquery()))


def page_reviews(
    session: Session,
    product_pk: int | None,
    model_version_id: int | None = None,
    offset: int = 0,
    limit: int | None = 200,
    order_by: str = "score",
    descending: bool = True,
    flt: ReviewFilter | None = None,
) -> list[ReviewRow]:
    """One page of a product's reviews (or all reviews when ``product_pk`` is None),
    with the prediction of ``model_version_id`` and the latest active flag.
    Ordering is stable (ties broken by review id) and NULLs sort last."""
    # A page is a deferred join: its review ids first, sorting ids and keys rather than every row
    # with its texts (the first page of a 10,000-review product: 12.5 -> 6.1 + 1.9 ms of SQL),
    # then its rows by id, in that order. The ids need the row's other joins only for a filter
    # on flags or images (every order is on the review or its prediction).
    if limit is not None and _own_columns_only(flt):
        q, n_img = select(Review.id).outerjoin(
            Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == (model_version_id or -1))
        ), None
    else:
        q, n_img = _review_query(model_version_id)
    if product_pk is not None:
        q = q.where(Review.product_pk == product_pk)
    q = _order(_apply_filter(q, flt, n_img), order_by, descending)
    if limit is None:
        return [_row(r) for r in session.execute(q.offset(offset))]
    ids = list(session.scalars(q.with_only_columns(Review.id).offset(offset).limit(limit)))
    return review_rows_by_pks(session, ids, model_version_id)


def iter_reviews(
    session: Session,
    product_pk: int | None,
    model_version_id: int | None = None,
    order_by: str = "score",
    descending: bool = True,
    flt: ReviewFilter | None = None,
    batch: int = 1000,
) -> Iterator[tuple[ReviewRow, str]]:
    """Every row :func:`page_reviews` would return with ``limit=None``, each with its product's
    ``product_id``, streamed from the cursor ``batch`` rows at a time (an export of 100k rows
    never holds them all). Consume it inside the session's transaction."""
    q, n_img = _review_query(model_version_id)
    q = q.add_columns(Product.product_id)
    if product_pk is not None:
        q = q.where(Review.product_pk == product_pk)
    q = _order(_apply_filter(q, flt, n_img), order_by, descending)
    for r in session.execute(q, execution_options={"yield_per": max(1, batch)}):
        yield _row(r), r[-1]


def _images_of(session: Session, media_dir: Path, *, product_pk: int | None = None, review_pk: int | None = None):
    q = select(Image).join(ImageLink, ImageLink.image_id == Image.id).order_by(ImageLink.position)
    q = q.where(ImageLink.product_pk == product_pk) if product_pk is not None else q.where(ImageLink.review_pk == review_pk)
    return tuple(
        ImageRecord(i.id, i.sha256, str(Path(media_dir) / i.relpath), i.width, i.height, i.format) for i in session.scalars(q)
    )


def get_review_detail(session: Session, review_pk: int, model_version_id: int | None, media_dir: Path) -> ReviewDetail:
    q, _ = _review_query(model_version_id)
    r = session.execute(q.where(Review.id == review_pk)).first()
    if r is None:
        raise NotFoundError(f"no review #{review_pk}")
    row = _row(r)
    review = session.get(Review, review_pk)
    product = session.get(Product, row.product_pk)
    flags = session.scalars(select(Flag).where(Flag.review_pk == review_pk).order_by(Flag.id)).all()
    return ReviewDetail(
        row=row,
        product_id=product.product_id,
        product_title=product.title or "",
        product_description=product.description or "",
        product_images=_images_of(session, media_dir, product_pk=product.id),
        review_images=_images_of(session, media_dir, review_pk=review_pk),
        flags=tuple(_flag_record(f) for f in flags),
        extra=dict(review.extra or {}),
        explanation=score_parts(session, model_version_id, review_pk) if model_version_id is not None else None,
    )


def product_rank_inputs(
    session: Session, product_pk: int, model_version_id: int | None
) -> list[tuple[int, Optional[float], Optional[int], int]]:
    """``(review_pk, score or None, vote label, helpful votes)`` of every review of a
    product, in review-id order: what ranking under the model and the votes needs."""
    q = (
        select(Review.id, Prediction.score, Review.label, Review.helpful_votes)
        .outerjoin(
            Prediction,
            and_(Prediction.review_pk == Review.id, Prediction.model_version_id == (model_version_id or -1)),
        )
        .where(Review.product_pk == product_pk)
        .order_by(Review.id)
    )
    return [(r[0], r[1], r[2], r[3] or 0) for r in session.execute(q)]


def rank_inputs_by_product(
    session: Session, model_version_id: int | None, product_pk: int | None = None
) -> dict[int, list[tuple[int, Optional[float], Optional[int], int]]]:
    """product_pk -> :func:`product_rank_inputs` of every product (or only ``product_pk``), in one query."""
    q = (
        select(Review.product_pk, Review.id, Prediction.score, Review.label, Review.helpful_votes)
        .outerjoin(
            Prediction,
            and_(Prediction.review_pk == Review.id, Prediction.model_version_id == (model_version_id or -1)),
        )
        .order_by(Review.product_pk, Review.id)
    )
    if product_pk is not None:
        q = q.where(Review.product_pk == product_pk)
    out: dict[int, list[tuple[int, Optional[float], Optional[int], int]]] = defaultdict(list)
    for ppk, rpk, score, label, votes in session.execute(q):
        out[ppk].append((rpk, score, label, votes or 0))
    return dict(out)


def review_rows_by_pks(session: Session, review_pks: Sequence[int], model_version_id: int | None) -> list[ReviewRow]:
    """Review-table rows of the given reviews (any product), in the order of ``review_pks``."""
    found: dict[int, ReviewRow] = {}
    pks = list(dict.fromkeys(review_pks))
    q, _ = _review_query(model_version_id)
    session.flush()
    conn = session.connection()  # plain rows: no ORM result processing (a page is 500 of them)
    for cond in in_chunks(Review.id, pks):
        for r in conn.execute(q.where(cond)):
            found[r[0]] = _row(r)
    return [found[pk] for pk in pks if pk in found]


def page_reviews_among(
    session: Session,
    review_pks: Sequence[int],
    model_version_id: int | None = None,
    offset: int = 0,
    limit: int | None = 200,
    order_by: str = "score",
    descending: bool = True,
    flt: ReviewFilter | None = None,
) -> list[ReviewRow]:
    """Like :func:`page_reviews`, restricted to ``review_pks`` (e.g. a product's
    disagreements); ordering, NULLs-last and filters as there."""
    if order_by not in _ORDERABLE:
        raise ValueError(f"cannot order reviews by {order_by!r}; choose one of {sorted(_ORDERABLE)}")
    if not review_pks:
        return []
    q, n_img = _review_query(model_version_id)
    q = _order(_apply_filter(q.where(Review.id.in_(list(review_pks))), flt, n_img), order_by, descending).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return [_row(r) for r in session.execute(q)]


def count_reviews_among(session: Session, review_pks: Sequence[int], flt: ReviewFilter | None = None) -> int:
    """How many of ``review_pks`` pass ``flt``."""
    if not review_pks:
        return 0
    q, n_img = _review_query(None)
    q = _apply_filter(q.where(Review.id.in_(list(review_pks))), flt, n_img)
    return session.scalar(select(func.count()).select_from(q.subquery()))


def review_pks_matching(
    session: Session, product_pk: int | None, flt: ReviewFilter | None = None, among: Sequence[int] | None = None,
) -> list[int]:
    """Keys of the reviews :func:`page_reviews` (or, with ``among``, :func:`page_reviews_among`)
    would list over all its pages, in key order: only ids leave the database."""
    def ids(q) -> list[int]:
        return list(session.scalars(q.with_only_columns(Review.id).order_by(Review.id)))

    q, n_img = _review_query(None)
    if product_pk is not None:
        q = q.where(Review.product_pk == product_pk)
    q = _apply_filter(q, flt, n_img)
    if among is None:
        return ids(q)
    found: list[int] = []
    for cond in in_chunks(Review.id, sorted(set(among))):
        found += ids(q.where(cond))
    return sorted(found)


def _image_paths(session: Session, media_dir: Path, owner_col, owner_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not owner_ids:
        return out
    q = (
        select(owner_col, Image.relpath)
        .join(Image, Image.id == ImageLink.image_id)
        .where(owner_col.in_(owner_ids))
        .order_by(owner_col, ImageLink.position)
    )
    for oid, rel in session.execute(q):
        out[oid].append(str(Path(media_dir) / rel))
    return out


def corrected_labels(session: Session) -> dict[int, int]:
    """review_pk -> the newest active moderator correction (overrides the vote label in training)."""
    q = (
        select(Flag.review_pk, Flag.corrected_label)
        .where(Flag.undone.is_(False), Flag.corrected_label.is_not(None))
        .order_by(Flag.id)
    )
    return {rpk: lab for rpk, lab in session.execute(q)}


def load_catalogue(
    session: Session, media_dir: Path, splits: Sequence[str] | None = None, review_pks: Sequence[int] | None = None,
    use_corrections: bool = True,
) -> list[TrainingProduct]:
    """Products (optionally of some splits) with their reviews, effective labels and image paths."""
    pq = select(Product).order_by(Product.id)
    if splits:
        pq = pq.where(Product.split.in_(list(splits)))
    products = session.scalars(pq).all()
    ppks = [p.id for p in products]
    rq = select(Review).where(Review.product_pk.in_(ppks)).order_by(Review.product_pk, Review.id) if ppks else None
    reviews = session.scalars(rq).all() if rq is not None else []
    if review_pks is not None:
        wanted = set(review_pks)
        reviews = [r for r in reviews if r.id in wanted]
    corr = corrected_labels(session) if use_corrections else {}
    disputed = disputed_interactions(session) if use_corrections else {}
    pimg = _image_paths(session, media_dir, ImageLink.product_pk, ppks)
    rimg = _image_paths(session, media_dir, ImageLink.review_pk, [r.id for r in reviews])
    by_product: dict[int, list[TrainingReview]] = defaultdict(list)
    for r in reviews:
        by_product[r.product_pk].append(
            TrainingReview(
                r.id, r.review_id, r.title or "", r.text or "", r.rating, r.time, corr.get(r.id, r.label), r.label,
                tuple(rimg.get(r.id, ())), disputed.get(r.id, ()),
            )
        )
    out = []
    for p in products:
        revs = by_product.get(p.id)
        if not revs and review_pks is not None:
            continue
        out.append(
            TrainingProduct(
                p.id, p.product_id, p.title or "", p.description or "", p.category or "", p.split, tuple(pimg.get(p.id, ())),
                tuple(revs or ()),
            )
        )
    return out


def review_pks_by_product(session: Session, missing_for_model: int | None = None) -> dict[int, list[int]]:
    """product pk -> its review pks (ascending), in product order; with ``missing_for_model``
    only the reviews that model has no prediction for (products without any are left out)."""
    q = select(Review.product_pk, Review.id)
    if missing_for_model is not None:
        have = select(Prediction.review_pk).where(Prediction.model_version_id == missing_for_model)
        q = q.where(Review.id.not_in(have))
    out: dict[int, list[int]] = {}
    for ppk, rpk in session.execute(q.order_by(Review.product_pk, Review.id)):
        out.setdefault(ppk, []).append(rpk)
    return out


def load_products(session: Session, media_dir: Path, product_pks: Sequence[int], use_corrections: bool = True) -> list[TrainingProduct]:
    """Like :func:`load_catalogue` for the given products only (each with ALL its reviews),
    in ``product_pks`` order; plain column reads, no ORM objects."""
    pks = list(dict.fromkeys(product_pks))
    if not pks:
        return []
    prows: dict[int, Any] = {}
    for cond in in_chunks(Product.id, pks):
        for row in session.execute(
            select(Product.id, Product.product_id, Product.title, Product.description, Product.category, Product.split).where(cond)
        ):
            prows[row[0]] = row
    rrows = []
    for cond in in_chunks(Review.product_pk, pks):
        rrows.extend(session.execute(
            select(Review.id, Review.product_pk, Review.review_id, Review.title, Review.text, Review.rating, Review.time,
                   Review.label).where(cond).order_by(Review.product_pk, Review.id)
        ).all())
    corr = corrected_labels(session) if use_corrections else {}
    disputed = disputed_interactions(session) if use_corrections else {}
    pimg: dict[int, list[str]] = defaultdict(list)
    rimg: dict[int, list[str]] = defaultdict(list)
    for cond in in_chunks(ImageLink.product_pk, pks):  # images of the products and of their reviews
        q = (select(ImageLink.product_pk, Image.relpath).join(Image, Image.id == ImageLink.image_id)
             .where(cond).order_by(ImageLink.product_pk, ImageLink.position))
        for oid, rel in session.execute(q):
            pimg[oid].append(str(Path(media_dir) / rel))
    rq = (select(ImageLink.review_pk, Image.relpath).join(Image, Image.id == ImageLink.image_id)
          .join(Review, Review.id == ImageLink.review_pk))
    for cond in in_chunks(Review.product_pk, pks):
        for oid, rel in session.execute(rq.where(cond).order_by(ImageLink.review_pk, ImageLink.position)):
            rimg[oid].append(str(Path(media_dir) / rel))
    by_product: dict[int, list[TrainingReview]] = defaultdict(list)
    for rid, ppk, review_id, title, text, rating, time, label in rrows:
        by_product[ppk].append(
            TrainingReview(rid, review_id, title or "", text or "", rating, time, corr.get(rid, label), label,
                           tuple(rimg.get(rid, ())), disputed.get(rid, ()))
        )
    out = []
    for pk in pks:
        p = prows.get(pk)
        if p is None:
            continue
        out.append(TrainingProduct(p[0], p[1], p[2] or "", p[3] or "", p[4] or "", p[5], tuple(pimg.get(pk, ())),
                                   tuple(by_product.get(pk, ()))))
    return out

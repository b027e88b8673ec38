"""Repository functions that the GUI and the engine call.

Every function takes a :class:`~sqlalchemy.orm.Session` and never commits: the caller owns
the transaction (``with db.begin() as session: ...``). Results are plain dataclasses
from :mod:`storage.records`.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .errors import ConflictError, NotFoundError, StorageError
from .models import (
    SUBSCORE_COLUMNS,
    AuditEvent,
    Flag,
    Image,
    ImageLink,
    ModelVersion,
    Prediction,
    Product,
    Review,
    TrainingRun,
    utcnow,
)
from .records import (
    FLAG_KINDS,
    AuditRecord,
    FlagRecord,
    ImageRecord,
    ModelVersionRecord,
    PredictionIn,
    ProductSummary,
    ReviewDetail,
    ReviewFilter,
    ReviewRow,
    TrainingProduct,
    TrainingReview,
    TrainingRunRecord,
)

# ---------------------------------------------------------------------------- audit


def record_audit(
    session: Session, actor: str, action: str, target_kind: str = "", target_id: Any = "", details: dict | None = None
) -> None:
    # Column widths are enforced by PostgreSQL (SQLite ignores them): clip, never fail an action on it.
    session.add(
        AuditEvent(actor=(actor or "")[:200], action=action[:64], target_kind=(target_kind or "")[:64],
                   target_id=str(target_id)[:200], details=details or {})
    )


def list_audit_events(session: Session, limit: int = 500, target_kind: str | None = None, target_id: Any = None) -> list[AuditRecord]:
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if target_kind:
        q = q.where(AuditEvent.target_kind == target_kind)
    if target_id is not None:
        q = q.where(AuditEvent.target_id == str(target_id))
    return [
        AuditRecord(e.id, e.at, e.actor, e.action, e.target_kind, e.target_id, dict(e.details or {}))
        for e in session.scalars(q)
    ]


# ---------------------------------------------------------------------------- products


def list_categories(session: Session) -> list[str]:
    return [c for c in session.scalars(select(Product.category).distinct().order_by(Product.category)) if c is not None]


def list_products(
    session: Session, search: str = "", category: str | None = None, model_version_id: int | None = None
) -> list[ProductSummary]:
    """Products with counts: reviews, labelled reviews, active flags, scored by the model."""
    n_reviews = (
        select(Review.product_pk, func.count().label("n"), func.count(Review.label).label("nl"))
        .group_by(Review.product_pk)
        .subquery()
    )
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
        func.coalesce(n_reviews.c.n, 0),
        func.coalesce(n_reviews.c.nl, 0),
        func.coalesce(n_flagged.c.n, 0),
    ]
    q = (
        select(*cols)
        .outerjoin(n_reviews, n_reviews.c.product_pk == Product.id)
        .outerjoin(n_flagged, n_flagged.c.product_pk == Product.id)
    )
    if model_version_id is not None:
        n_scored = (
            select(Review.product_pk, func.count().label("n"))
            .join(Prediction, Prediction.review_pk == Review.id)
            .where(Prediction.model_version_id == model_version_id)
            .group_by(Review.product_pk)
            .subquery()
        )
        q = q.add_columns(func.coalesce(n_scored.c.n, 0)).outerjoin(n_scored, n_scored.c.product_pk == Product.id)
    if search:
        like = f"%{search}%"
        q = q.where(or_(Product.title.ilike(like), Product.product_id.ilike(like)))
    if category:
        q = q.where(Product.category == category)
    q = q.order_by(Product.id)
    out = []
    for row in session.execute(q):
        n_scored_v = row[8] if model_version_id is not None else 0
        out.append(ProductSummary(row[0], row[1], row[2] or "", row[3] or "", row[4], row[5], row[6], row[7], n_scored_v))
    return out


def get_product_pk(session: Session, product_id: str) -> int:
    pk = session.scalar(select(Product.id).where(Product.product_id == product_id))
    if pk is None:
        raise NotFoundError(f"no product with id {product_id!r}")
    return pk


# ---------------------------------------------------------------------------- reviews

_ORDERABLE = {
    "score": Prediction.score,
    "label": Review.label,
    "votes": Review.helpful_votes,
    "rating": Review.rating,
    "time": Review.time,
    "review_id": Review.review_id,
    "id": Review.id,
    **{name: getattr(Prediction, name) for name in SUBSCORE_COLUMNS},
}


def _review_query(model_version_id: Optional[int]):
    n_img = (
        select(ImageLink.review_pk, func.count().label("n"))
        .where(ImageLink.review_pk.is_not(None))
        .group_by(ImageLink.review_pk)
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
        )
        .outerjoin(n_img, n_img.c.review_pk == Review.id)
        .outerjoin(
            Prediction,
            and_(Prediction.review_pk == Review.id, Prediction.model_version_id == (model_version_id or -1)),
        )
        .outerjoin(active_flag, active_flag.c.review_pk == Review.id)
        .outerjoin(Flag, Flag.id == active_flag.c.flag_id)
    )
    return q, n_img


def _row(r) -> ReviewRow:
    return ReviewRow(
        id=r[0], review_id=r[1], product_pk=r[2], title=r[3] or "", text=r[4] or "", rating=r[5],
        helpful_votes=r[6], label=r[7], time=r[8], n_images=r[9], score=r[10], sub_scores=tuple(r[11:16]),
        flag_kind=r[16], flag_id=r[17], corrected_label=r[18],
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


def count_reviews(session: Session, product_pk: int | None = None, flt: ReviewFilter | None = None) -> int:
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
    if order_by not in _ORDERABLE:
        raise ValueError(f"cannot order reviews by {order_by!r}; choose one of {sorted(_ORDERABLE)}")
    q, n_img = _review_query(model_version_id)
    if product_pk is not None:
        q = q.where(Review.product_pk == product_pk)
    q = _apply_filter(q, flt, n_img)
    col = _ORDERABLE[order_by]
    q = q.order_by(col.is_(None), col.desc() if descending else col.asc(), Review.id)
    q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return [_row(r) for r in session.execute(q)]


def _images_of(session: Session, media_dir: Path, *, product_pk: int | None = None, review_pk: int | None = None):
    q = select(Image).join(ImageLink, ImageLink.image_id == Image.id).order_by(ImageLink.position)
    q = q.where(ImageLink.product_pk == product_pk) if product_pk is not None else q.where(ImageLink.review_pk == review_pk)
    return tuple(
        ImageRecord(i.id, i.sha256, str(Path(media_dir) / i.relpath), i.width, i.height, i.format) for i in session.scalars(q)
    )


def _flag_record(f: Flag) -> FlagRecord:
    return FlagRecord(
        f.id, f.review_pk, f.model_version_id, f.kind, f.corrected_label, f.note or "", f.author or "",
        f.created_at, bool(f.undone), f.resolution, f.version,
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
    )


# ---------------------------------------------------------------------------- flags


def _check_flag_args(kind: str, corrected_label: Optional[int]) -> None:
    if not kind or len(kind) > 64:
        raise ValueError("flag kind must be 1-64 characters")
    if corrected_label is not None and corrected_label not in (0, 1, 2, 3, 4):
        raise ValueError(f"corrected label must be 0-4, got {corrected_label!r}")


def add_flag(
    session: Session,
    review_pk: int,
    kind: str,
    author: str,
    corrected_label: Optional[int] = None,
    note: str = "",
    model_version_id: Optional[int] = None,
) -> FlagRecord:
    """Flag a review. Earlier active flags of the same review stay; the newest one shows."""
    _check_flag_args(kind, corrected_label)
    if session.get(Review, review_pk) is None:
        raise NotFoundError(f"no review #{review_pk}")
    f = Flag(
        review_pk=review_pk, kind=kind, corrected_label=corrected_label, note=note or "", author=(author or "")[:200],
        model_version_id=model_version_id,
    )
    session.add(f)
    session.flush()
    record_audit(
        session, author, "flag.add", "review", review_pk,
        {"flag_id": f.id, "kind": kind, "corrected_label": corrected_label, "note": note, "model_version_id": model_version_id},
    )
    return _flag_record(f)


def _set_flag_undone(session: Session, flag_id: int, undone: bool, author: str, expected_version: int | None) -> FlagRecord:
    f = session.get(Flag, flag_id)
    if f is None:
        raise NotFoundError(f"no flag #{flag_id}")
    if expected_version is not None and f.version != expected_version:
        raise ConflictError(
            f"flag #{flag_id} was changed by someone else (version {f.version}, you had {expected_version}); reload and retry"
        )
    f.undone = undone
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"flag #{flag_id} was changed by someone else at the same time; reload and retry") from exc
    record_audit(session, author, "flag.undo" if undone else "flag.redo", "review", f.review_pk, {"flag_id": flag_id})
    return _flag_record(f)


def undo_flag(session: Session, flag_id: int, author: str, expected_version: int | None = None) -> FlagRecord:
    return _set_flag_undone(session, flag_id, True, author, expected_version)


def redo_flag(session: Session, flag_id: int, author: str, expected_version: int | None = None) -> FlagRecord:
    return _set_flag_undone(session, flag_id, False, author, expected_version)


def edit_flag(
    session: Session, flag_id: int, author: str, expected_version: int, *, kind: str | None = None,
    corrected_label: Optional[int] = -1, note: str | None = None,
) -> FlagRecord:
    """Change a flag; ``expected_version`` must match or ConflictError tells the loser."""
    f = session.get(Flag, flag_id)
    if f is None:
        raise NotFoundError(f"no flag #{flag_id}")
    if f.version != expected_version:
        raise ConflictError(f"flag #{flag_id} was changed by someone else (version {f.version}, you had {expected_version})")
    before = {"kind": f.kind, "corrected_label": f.corrected_label, "note": f.note}
    if kind is not None:
        f.kind = kind
    if corrected_label != -1:
        f.corrected_label = corrected_label
    if note is not None:
        f.note = note
    _check_flag_args(f.kind, f.corrected_label)
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"flag #{flag_id} was changed by someone else at the same time; reload and retry") from exc
    record_audit(session, author, "flag.edit", "review", f.review_pk, {"flag_id": flag_id, "before": before})
    return _flag_record(f)


def list_flags(session: Session, include_undone: bool = False) -> list[FlagRecord]:
    q = select(Flag).order_by(Flag.id)
    if not include_undone:
        q = q.where(Flag.undone.is_(False))
    return [_flag_record(f) for f in session.scalars(q)]


def export_flags_rows(session: Session) -> list[dict[str, Any]]:
    """All active flags joined with their review and product ids, for CSV/JSONL export."""
    q = (
        select(Flag, Review.review_id, Product.product_id)
        .join(Review, Review.id == Flag.review_pk)
        .join(Product, Product.id == Review.product_pk)
        .where(Flag.undone.is_(False))
        .order_by(Flag.id)
    )
    return [
        {
            "flag_id": f.id, "review_id": rid, "product_id": pid, "kind": f.kind, "corrected_label": f.corrected_label,
            "note": f.note, "author": f.author, "created_at": f.created_at.isoformat(), "model_version_id": f.model_version_id,
            "resolution": f.resolution,
        }
        for f, rid, pid in session.execute(q)
    ]


def resolve_flags(session: Session, model_version_id: int) -> int:
    """Mark active, unresolved flags whose corrected label the new model now agrees with
    (model rank of the review within its product equals the rank of its corrected label
    direction: score order agrees with the corrected label against every other labelled review)."""
    flags = session.execute(
        select(Flag.id, Flag.review_pk, Flag.corrected_label, Flag.kind, Review.product_pk)
        .join(Review, Review.id == Flag.review_pk)
        .where(Flag.undone.is_(False), Flag.resolution.is_(None), Flag.corrected_label.is_not(None))
    ).all()
    if not flags:
        return 0
    products = {f[4] for f in flags}
    scores = dict(
        session.execute(
            select(Prediction.review_pk, Prediction.score)
            .join(Review, Review.id == Prediction.review_pk)
            .where(Prediction.model_version_id == model_version_id, Review.product_pk.in_(products))
        ).all()
    )
    labels = defaultdict(list)
    for rpk, ppk, lab in session.execute(
        select(Review.id, Review.product_pk, Review.label).where(Review.product_pk.in_(products), Review.label.is_not(None))
    ):
        labels[ppk].append((rpk, lab))
    n = 0
    for fid, rpk, corrected, _kind, ppk in flags:
        s = scores.get(rpk)
        if s is None:
            continue
        agree = all(
            (scores.get(o) is None) or (lab == corrected) or ((s > scores[o]) == (corrected > lab))
            for o, lab in labels[ppk] if o != rpk
        )
        if agree:
            session.execute(update(Flag).where(Flag.id == fid).values(resolution=f"resolved by model #{model_version_id}"))
            n += 1
    return n


# ---------------------------------------------------------------------------- models


def _mv_record(m: ModelVersion) -> ModelVersionRecord:
    return ModelVersionRecord(
        m.id, m.name, m.parent_id, m.checkpoint_path, m.checkpoint_sha256, dict(m.config or {}), dict(m.metrics or {}),
        dict(m.card or {}), bool(m.active), m.created_at,
    )


def register_model_version(
    session: Session, name: str, checkpoint_path: str, checkpoint_sha256: str, *, parent_id: int | None = None,
    config: dict | None = None, metrics: dict | None = None, card: dict | None = None, activate: bool = False,
    actor: str = "engine",
) -> ModelVersionRecord:
    if session.scalar(select(ModelVersion.id).where(ModelVersion.name == name)) is not None:
        raise StorageError(f"a model version named {name!r} already exists")
    m = ModelVersion(
        name=name, parent_id=parent_id, checkpoint_path=str(checkpoint_path), checkpoint_sha256=checkpoint_sha256,
        config=config or {}, metrics=metrics or {}, card=card or {}, active=False,
    )
    session.add(m)
    session.flush()
    record_audit(session, actor, "model.register", "model", m.id, {"name": name, "parent_id": parent_id})
    if activate:
        activate_model(session, m.id, actor=actor)
    return _mv_record(m)


def list_model_versions(session: Session) -> list[ModelVersionRecord]:
    return [_mv_record(m) for m in session.scalars(select(ModelVersion).order_by(ModelVersion.id))]


def get_model_version(session: Session, name_or_id: str | int) -> ModelVersionRecord:
    if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdigit()):
        m = session.get(ModelVersion, int(name_or_id))
    else:
        m = session.scalar(select(ModelVersion).where(ModelVersion.name == name_or_id))
    if m is None:
        raise NotFoundError(f"no model version {name_or_id!r}")
    return _mv_record(m)


def get_active_model(session: Session) -> ModelVersionRecord | None:
    m = session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))
    return _mv_record(m) if m else None


def activate_model(session: Session, model_id: int, actor: str = "") -> None:
    if session.get(ModelVersion, model_id) is None:
        raise NotFoundError(f"no model version #{model_id}")
    session.execute(update(ModelVersion).where(ModelVersion.id != model_id).values(active=False))
    session.execute(update(ModelVersion).where(ModelVersion.id == model_id).values(active=True))
    record_audit(session, actor, "model.activate", "model", model_id)


def delete_model_version(session: Session, model_id: int, actor: str = "") -> ModelVersionRecord:
    m = session.get(ModelVersion, model_id)
    if m is None:
        raise NotFoundError(f"no model version #{model_id}")
    rec = _mv_record(m)
    session.execute(delete(Prediction).where(Prediction.model_version_id == model_id))
    session.delete(m)
    record_audit(session, actor, "model.delete", "model", model_id, {"name": rec.name})
    return rec


def update_model_metrics(session: Session, model_id: int, metrics: dict) -> None:
    m = session.get(ModelVersion, model_id)
    if m is None:
        raise NotFoundError(f"no model version #{model_id}")
    m.metrics = {**(m.metrics or {}), **metrics}


# ---------------------------------------------------------------------------- predictions


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


def scores_by_product(session: Session, model_version_id: int, split: str | None = None) -> dict[str, list[tuple[int, float, Optional[int]]]]:
    """product_id -> [(review_pk, score, vote label)] for every scored review."""
    q = (
        select(Product.product_id, Review.id, Prediction.score, Review.label)
        .join(Review, Review.product_pk == Product.id)
        .join(Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == model_version_id))
        .order_by(Product.id, Review.id)
    )
    if split:
        q = q.where(Product.split == split)
    out: dict[str, list] = defaultdict(list)
    for pid, rpk, score, label in session.execute(q):
        out[pid].append((rpk, score, label))
    return dict(out)


# ---------------------------------------------------------------------------- training data


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
    pimg = _image_paths(session, media_dir, ImageLink.product_pk, ppks)
    rimg = _image_paths(session, media_dir, ImageLink.review_pk, [r.id for r in reviews])
    by_product: dict[int, list[TrainingReview]] = defaultdict(list)
    for r in reviews:
        by_product[r.product_pk].append(
            TrainingReview(
                r.id, r.review_id, r.title or "", r.text or "", r.rating, r.time, corr.get(r.id, r.label), r.label,
                tuple(rimg.get(r.id, ())),
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


def catalogue_summary(session: Session) -> dict[str, Any]:
    n_products = session.scalar(select(func.count()).select_from(Product))
    n_reviews = session.scalar(select(func.count()).select_from(Review))
    n_labeled = session.scalar(select(func.count()).select_from(Review).where(Review.label.is_not(None)))
    by_split = dict(session.execute(select(Product.split, func.count()).group_by(Product.split)).all())
    n_corr = len(corrected_labels(session))
    return {"products": n_products, "reviews": n_reviews, "labeled": n_labeled, "products_by_split": by_split, "corrections": n_corr}


# ---------------------------------------------------------------------------- training runs


def _run_record(t: TrainingRun) -> TrainingRunRecord:
    return TrainingRunRecord(
        t.id, t.status, dict(t.config or {}), dict(t.metrics or {}), t.parent_model_id, t.model_version_id, t.started_at,
        t.finished_at, t.log or "",
    )


def _this_host() -> str:
    import socket

    return socket.gethostname()


def start_training_run(session: Session, config: dict, parent_model_id: int | None = None, actor: str = "engine") -> TrainingRunRecord:
    """A TrainingRun in status 'running'; its audit event records the host and process that
    owns it, so :func:`mark_stale_runs` can tell a live run from one whose trainer died."""
    import os

    t = TrainingRun(status="running", config=config, parent_model_id=parent_model_id)
    session.add(t)
    session.flush()
    record_audit(session, actor, "train.start", "training_run", t.id,
                 {"parent_model_id": parent_model_id, "host": _this_host(), "pid": os.getpid()})
    return _run_record(t)


def finish_training_run(
    session: Session, run_id: int, status: str, metrics: dict | None = None, model_version_id: int | None = None,
    log: str = "", actor: str = "engine",
) -> TrainingRunRecord:
    t = session.get(TrainingRun, run_id)
    if t is None:
        raise NotFoundError(f"no training run #{run_id}")
    t.status = status
    t.metrics = metrics or {}
    t.model_version_id = model_version_id
    t.finished_at = utcnow()
    t.log = (t.log or "") + log
    record_audit(session, actor, f"train.{status}", "training_run", run_id, {"model_version_id": model_version_id})
    return _run_record(t)


def list_training_runs(session: Session) -> list[TrainingRunRecord]:
    return [_run_record(t) for t in session.scalars(select(TrainingRun).order_by(TrainingRun.id))]


def _pid_alive(pid: int) -> bool:
    import os

    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell (e.g. Windows quirks): assume alive, never mark a live run
    return True


def mark_stale_runs(
    session: Session, older_than: dt.timedelta = dt.timedelta(0), *, spare_live: bool = False,
    foreign_after: dt.timedelta = dt.timedelta(hours=24),
) -> int:
    """Runs left 'running' by a killed trainer become 'interrupted'; returns how many.

    Without ``spare_live`` every run started at least ``older_than`` ago is marked. With
    ``spare_live`` (what a new training run calls at its start) a run whose owning process,
    recorded by :func:`start_training_run`, is on this host is marked only when that process
    is gone; a run owned by another machine (team mode) or of unknown owner only once it is
    older than ``foreign_after``, as we cannot see whether its trainer still lives.
    """
    now = utcnow()
    cutoff = now - older_than
    running = session.execute(
        select(TrainingRun.id, TrainingRun.started_at)
        .where(TrainingRun.status == "running", TrainingRun.started_at <= cutoff)
        .order_by(TrainingRun.id)
    ).all()
    if not running:
        return 0
    stale: list[int] = []
    if not spare_live:
        stale = [rid for rid, _ in running]
    else:
        owners: dict[str, dict] = {}
        for target_id, details in session.execute(
            select(AuditEvent.target_id, AuditEvent.details).where(
                AuditEvent.action == "train.start", AuditEvent.target_kind == "training_run",
                AuditEvent.target_id.in_([str(rid) for rid, _ in running]),
            )
        ):
            owners[target_id] = dict(details or {})
        host = _this_host()
        for rid, started in running:
            owner = owners.get(str(rid), {})
            if owner.get("host") == host and isinstance(owner.get("pid"), int):
                if not _pid_alive(owner["pid"]):
                    stale.append(rid)
            elif started is not None and started <= now - foreign_after:
                stale.append(rid)
    n = 0
    for i in range(0, len(stale), 900):
        res = session.execute(
            update(TrainingRun)
            .where(TrainingRun.id.in_(stale[i : i + 900]), TrainingRun.status == "running")
            .values(status="interrupted", finished_at=now, log=func.coalesce(TrainingRun.log, "")
                    + "marked interrupted: its trainer stopped without finishing (killed or crashed)\n")
        )
        n += res.rowcount or 0
    for rid in stale:
        record_audit(session, "engine", "train.interrupted", "training_run", rid, {"reason": "stale"})
    return n


__all__ = [n for n in dir() if not n.startswith("_")] + ["FLAG_KINDS"]


# --- gui additions ------------------------------------------------------------------
# Added for the triage app (gui/). Same rules as above: a Session argument, no commit,
# plain values or dataclasses back.

_IN_CHUNK = 900  # stay far below SQLite's bound-parameter limit


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


def subscore_range(session: Session, product_pk: int, model_version_id: int | None) -> tuple[float, float] | None:
    """Smallest and largest of the five sub-scores over a product's reviews (None if unscored)."""
    if model_version_id is None:
        return None
    cols = [getattr(Prediction, c) for c in SUBSCORE_COLUMNS]
    q = (
        select(*[func.min(c) for c in cols], *[func.max(c) for c in cols])
        .join(Review, Review.id == Prediction.review_pk)
        .where(Review.product_pk == product_pk, Prediction.model_version_id == model_version_id)
    )
    row = session.execute(q).one()
    lows = [v for v in row[:5] if v is not None]
    highs = [v for v in row[5:] if v is not None]
    if not lows:
        return None
    return float(min(lows)), float(max(highs))


def review_rows_by_pks(session: Session, review_pks: Sequence[int], model_version_id: int | None) -> list[ReviewRow]:
    """Review-table rows of the given reviews (any product), in the order of ``review_pks``."""
    found: dict[int, ReviewRow] = {}
    pks = list(dict.fromkeys(review_pks))
    for i in range(0, len(pks), _IN_CHUNK):
        q, _ = _review_query(model_version_id)
        for r in session.execute(q.where(Review.id.in_(pks[i : i + _IN_CHUNK]))):
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
    q = _apply_filter(q.where(Review.id.in_(list(review_pks))), flt, n_img)
    col = _ORDERABLE[order_by]
    q = q.order_by(col.is_(None), col.desc() if descending else col.asc(), Review.id).offset(offset)
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


def get_flag(session: Session, flag_id: int) -> FlagRecord:
    f = session.get(Flag, flag_id)
    if f is None:
        raise NotFoundError(f"no flag #{flag_id}")
    return _flag_record(f)


def active_flag(session: Session, review_pk: int) -> FlagRecord | None:
    """The newest flag of a review that is not undone (the one the table shows)."""
    f = session.scalar(
        select(Flag).where(Flag.review_pk == review_pk, Flag.undone.is_(False)).order_by(Flag.id.desc()).limit(1)
    )
    return _flag_record(f) if f is not None else None


__all__ += [
    "product_rank_inputs", "subscore_range", "review_rows_by_pks", "page_reviews_among", "count_reviews_among",
    "get_flag", "active_flag",
]
# --- end gui additions ----------------------------------------------------------------


# --- training panel additions ---------------------------------------------------------
# Added for the training panel and the models view (gui/training, gui/models_view). Same
# rules as above: a Session argument, no commit, plain values or dataclasses back.


def training_data_summary(session: Session, since: dt.datetime | None = None) -> dict[str, Any]:
    """What a training run would use: labelled reviews per split (moderators' corrected labels
    count as labels), all active corrections, and those made after ``since`` (e.g. the active
    model's creation)."""
    corrections = corrected_labels(session)
    out: dict[str, Any] = {"corrections": len(corrections)}
    for split in ("train", "dev", "test"):
        rows = session.execute(
            select(Review.id, Review.label).join(Product, Product.id == Review.product_pk).where(Product.split == split)
        ).all()
        out[f"{split}_reviews"] = len(rows)
        out[f"{split}_labelled"] = sum(1 for pk, lab in rows if corrections.get(pk, lab) is not None)
        out[f"{split}_products"] = session.scalar(select(func.count()).select_from(Product).where(Product.split == split))
    q = select(func.count(func.distinct(Flag.review_pk))).where(Flag.undone.is_(False), Flag.corrected_label.is_not(None))
    out["corrections_since"] = session.scalar(q.where(Flag.created_at > since)) if since is not None else len(corrections)
    return out


def prediction_counts(session: Session) -> dict[int, int]:
    """model_version_id -> number of reviews it has scored."""
    return dict(session.execute(select(Prediction.model_version_id, func.count()).group_by(Prediction.model_version_id)).all())


def previous_model_version(session: Session, model_id: int) -> ModelVersionRecord | None:
    """The model that was active before ``model_id`` was last activated (from the audit
    trail), else its parent; None when neither exists any more."""
    events = session.execute(
        select(AuditEvent.target_id).where(AuditEvent.action == "model.activate").order_by(AuditEvent.id.desc())
    ).scalars().all()
    seen_self = False
    for target in events:
        if target == str(model_id):
            seen_self = True
        elif seen_self and target.isdigit():
            m = session.get(ModelVersion, int(target))
            if m is not None:
                return _mv_record(m)
    m = session.get(ModelVersion, model_id)
    parent = session.get(ModelVersion, m.parent_id) if m is not None and m.parent_id is not None else None
    return _mv_record(parent) if parent is not None else None


def flag_resolutions(session: Session, product_pk: int) -> dict[int, str]:
    """review_pk -> resolution of the review's newest active flag, for the reviews of a
    product whose flag a model resolved (:func:`resolve_flags`)."""
    newest = (
        select(Flag.review_pk, func.max(Flag.id).label("fid"))
        .join(Review, Review.id == Flag.review_pk)
        .where(Review.product_pk == product_pk, Flag.undone.is_(False))
        .group_by(Flag.review_pk)
        .subquery()
    )
    q = select(Flag.review_pk, Flag.resolution).join(newest, newest.c.fid == Flag.id).where(Flag.resolution.is_not(None))
    return {pk: res for pk, res in session.execute(q)}


__all__ += ["training_data_summary", "prediction_counts", "previous_model_version", "flag_resolutions"]
# --- end training panel additions ----------------------------------------------------


# --- scoring additions (streaming) ----------------------------------------------------
# For ``engine score``: read the catalogue a few products at a time, so memory stays flat
# on catalogues of any size (benchmarks/, docs/performance.md). Same rules as above.


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


def _in_chunks(col, values: Sequence[int], n: int = 900):
    for i in range(0, len(values), n):
        yield col.in_(list(values[i:i + n]))


def load_products(session: Session, media_dir: Path, product_pks: Sequence[int], use_corrections: bool = True) -> list[TrainingProduct]:
    """Like :func:`load_catalogue` for the given products only (each with ALL its reviews),
    in ``product_pks`` order; plain column reads, no ORM objects."""
    pks = list(dict.fromkeys(product_pks))
    if not pks:
        return []
    prows: dict[int, Any] = {}
    for cond in _in_chunks(Product.id, pks):
        for row in session.execute(
            select(Product.id, Product.product_id, Product.title, Product.description, Product.category, Product.split).where(cond)
        ):
            prows[row[0]] = row
    rrows = []
    for cond in _in_chunks(Review.product_pk, pks):
        rrows.extend(session.execute(
            select(Review.id, Review.product_pk, Review.review_id, Review.title, Review.text, Review.rating, Review.time,
                   Review.label).where(cond).order_by(Review.product_pk, Review.id)
        ).all())
    corr = corrected_labels(session) if use_corrections else {}
    pimg: dict[int, list[str]] = defaultdict(list)
    rimg: dict[int, list[str]] = defaultdict(list)
    for cond in _in_chunks(ImageLink.product_pk, pks):  # images of the products and of their reviews
        q = (select(ImageLink.product_pk, Image.relpath).join(Image, Image.id == ImageLink.image_id)
             .where(cond).order_by(ImageLink.product_pk, ImageLink.position))
        for oid, rel in session.execute(q):
            pimg[oid].append(str(Path(media_dir) / rel))
    rq = (select(ImageLink.review_pk, Image.relpath).join(Image, Image.id == ImageLink.image_id)
          .join(Review, Review.id == ImageLink.review_pk))
    for cond in _in_chunks(Review.product_pk, pks):
        for oid, rel in session.execute(rq.where(cond).order_by(ImageLink.review_pk, ImageLink.position)):
            rimg[oid].append(str(Path(media_dir) / rel))
    by_product: dict[int, list[TrainingReview]] = defaultdict(list)
    for rid, ppk, review_id, title, text, rating, time, label in rrows:
        by_product[ppk].append(
            TrainingReview(rid, review_id, title or "", text or "", rating, time, corr.get(rid, label), label,
                           tuple(rimg.get(rid, ())))
        )
    out = []
    for pk in pks:
        p = prows.get(pk)
        if p is None:
            continue
        out.append(TrainingProduct(p[0], p[1], p[2] or "", p[3] or "", p[4] or "", p[5], tuple(pimg.get(pk, ())),
                                   tuple(by_product.get(pk, ()))))
    return out


__all__ += ["review_pks_by_product", "load_products"]
# --- end scoring additions ------------------------------------------------------------

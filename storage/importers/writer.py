"""Phase 2 of an import: the one-transaction bulk writer.

An importer has two phases.  Phase 1 (each format's ``read_catalogue``) reads and validates
every row (and every image) into a :class:`~.rows.Catalogue` without touching the database;
any problem raises :class:`~storage.errors.CatalogueError` naming the file, the 1-based line
and the field.  Phase 2 (:func:`write_catalogue`, run by :func:`run_import`) writes the whole
catalogue in ONE transaction with bulk statements, so a failure there (an unknown product, a
lost lock) also leaves the database unchanged.
"""
from __future__ import annotations

import getpass
import json
import operator
import time
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import JSON, Float, Integer, String, delete, func, select, update
from sqlalchemy.orm import Session

from ..files import media_writer
from ..models import Image, ImageLink, Prediction, Product, Review
from ..repository._chunks import IN_CHUNK, in_chunks
from ..repository.audit import record_audit
from ..repository.catalogue import recount_products
from ..repository.ranks import refresh_ranks
from ..repository.search import mark_unindexed
from .images import ImageRef, StoredFiles, store_images
from .rows import Catalogue, ImportReport, hash_split

__all__ = ["SQLITE_DRIVER_INSERT", "insert_many", "write_catalogue", "run_import"]

PRODUCT_DEFAULTS: dict[str, Any] = {
    "title": "", "description": "", "category": "", "image_urls": [], "extra": {},
}
REVIEW_DEFAULTS: dict[str, Any] = {
    "title": "", "text": "", "rating": None, "helpful_votes": 0, "total_votes": None, "time": None,
    "label": None, "image_urls": [], "extra": {},
}


def _ids_by_key(session: Session, key_col, pk_col, keys: Iterable[str]) -> dict[str, int]:
    """``key -> primary key`` of the rows whose ``key_col`` is in ``keys``."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    if len(keys) > 4 * IN_CHUNK:
        # Many keys: one scan of the (key, pk) index beats dozens of IN (...) queries unless
        # the table is much larger than the catalogue.
        n_rows = session.scalar(select(func.count()).select_from(key_col.table))
        if n_rows == 0:
            return {}
        if n_rows <= 20 * len(keys):
            wanted = set(keys)
            return {k: pk for k, pk in session.execute(select(key_col, pk_col)) if k in wanted}
    out: dict[str, int] = {}
    for cond in in_chunks(key_col, keys):
        out.update(session.execute(select(key_col, pk_col).where(cond)).all())
    return out


SQLITE_DRIVER_INSERT = True
"""On SQLite, insert plain rows with multi-row INSERT statements through the DBAPI (JSON
columns dumped here) instead of SQLAlchemy's per-row parameter processing: about twice as fast
for large catalogues. Other databases always take the Core path."""

SQLITE_ROWS_PER_INSERT = 1000
"""Rows per multi-row INSERT (fewer where SQLite allows fewer bound parameters)."""

WRITE_CHUNK = 20_000
"""Reviews whose rows are built and written at a time (all in the import's one transaction):
the rows of a whole large catalogue at once were about a quarter of its import's peak memory."""


def insert_many(session: Session, table, rows: list[dict]) -> None:
    """Bulk INSERT of ``rows`` (all with the same keys, every column value given)."""
    if not rows:
        return
    conn = session.connection()
    keys = list(rows[0])
    columns = table.columns
    simple = all(k in columns and isinstance(columns[k].type, (JSON, Integer, Float, String)) for k in keys)
    if not (SQLITE_DRIVER_INSERT and conn.dialect.name == "sqlite" and simple):
        session.execute(table.insert(), rows)
        return
    json_idx = [i for i, k in enumerate(keys) if isinstance(columns[k].type, JSON)]

    def dumps(v, _dumps=json.dumps):
        # empty lists / objects (most image_urls and extra values) without the encoder
        if not v and (v == [] or v == {}):
            return "[]" if v == [] else "{}"
        return _dumps(v)

    get = operator.itemgetter(*keys) if len(keys) > 1 else (lambda r, _k=keys[0]: (r[_k],))
    params: list = []
    for r in rows:
        values = list(get(r))
        for i in json_idx:
            values[i] = dumps(values[i])
        params.extend(values)
    names = ", ".join('"' + k + '"' for k in keys)
    one = f"({', '.join('?' * len(keys))})"
    per = max(1, min(SQLITE_ROWS_PER_INSERT, _sqlite_max_params(conn) // len(keys)))
    width = per * len(keys)
    full = f'INSERT INTO "{table.name}" ({names}) VALUES {", ".join([one] * per)}'
    for start in range(0, len(params), width):
        chunk = params[start:start + width]
        n = len(chunk) // len(keys)
        conn.exec_driver_sql(full if n == per else f'INSERT INTO "{table.name}" ({names}) VALUES {", ".join([one] * n)}',
                             tuple(chunk))


def _sqlite_max_params(conn) -> int:
    """How many ``?`` one statement may bind (999 before SQLite 3.32, 32766 since)."""
    import sqlite3

    try:
        return int(conn.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error, TypeError):  # Python < 3.11, another driver
        return 999


def _bulk_update(session: Session, model, rows: list[dict]) -> None:
    """ORM bulk UPDATE by primary key, one executemany per set of columns."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(r)), []).append(r)
    for group in groups.values():
        session.execute(update(model), group)


#: What a score is computed from: a review's own fields (its text and metadata) and its product's
#: text. Votes and labels are not among them (never read at scoring time).
_REVIEW_INPUTS = ("title", "text", "rating", "time")
_PRODUCT_INPUTS = ("title", "description")
_RANK_INPUTS = ("helpful_votes", "label")
"""What a review's place under the votes depends on besides its product's members (ranks.py)."""


def _changed(session: Session, model, fields: tuple[str, ...], rows: list[dict]) -> dict[int, dict[str, Any]]:
    """The rows of ``rows`` (``{"id": pk, field: new value...}``) whose stored value of one of
    ``fields`` differs from the new one: pk -> the stored values."""
    wanted = {r["id"]: r for r in rows if any(f in r for f in fields)}
    out: dict[int, dict[str, Any]] = {}
    cols = [getattr(model, f) for f in fields]
    for cond in in_chunks(model.id, list(wanted)):
        for pk, *old in session.execute(select(model.id, *cols).where(cond)):
            new = wanted[pk]
            if any(f in new and new[f] != o for f, o in zip(fields, old)):
                out[pk] = dict(zip(fields, old))
    return out


def _image_shas(session: Session, column, pks: list[int]) -> dict[int, list[str]]:
    """The stored images of each owner (a product or review pk in ``column``), in order."""
    out: dict[int, list[str]] = {pk: [] for pk in pks}
    for cond in in_chunks(column, pks):
        q = (select(column, Image.sha256).join(Image, Image.id == ImageLink.image_id).where(cond)
             .order_by(column, ImageLink.position))
        for pk, sha in session.execute(q):
            out[pk].append(sha)
    return out


def _drop_stale_predictions(session: Session, product_pks: set[int]) -> int:
    """Delete every model's predictions of the reviews of ``product_pks``: the import changed what
    they were computed from (a review's metadata is relative to its product's other reviews:
    rating minus the product's mean, age and length ranks). They read "not scored" until rescored
    (the app offers it), rather than show a score of text that is no longer there."""
    n = 0
    for cond in in_chunks(Review.product_pk, sorted(product_pks)):
        sub = select(Review.id).where(cond)
        n += session.execute(delete(Prediction).where(Prediction.review_pk.in_(sub))).rowcount or 0
    return n


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "importer"


def write_catalogue(session: Session, cat: Catalogue, media_dir: Path, stored: StoredFiles, actor: str | None = None) -> ImportReport:
    """Phase 2: write ``cat`` in the caller's transaction (bulk statements). Image files are
    written last, into ``stored`` so the caller can remove them if the transaction fails."""
    report = ImportReport(format=cat.format, path=str(cat.path), dropped=dict(cat.dropped), notes=list(cat.notes))
    product_table = Product.__table__
    review_table = Review.__table__

    # -- products
    existing_p = _ids_by_key(session, Product.product_id, Product.id, (p.product_id for p in cat.products))
    new_p, upd_p = [], []
    for p in cat.products:
        pk = existing_p.get(p.product_id)
        if pk is None:
            row = {**PRODUCT_DEFAULTS, "split": p.values.get("split") or hash_split(p.product_id), **p.values}
            row["product_id"] = p.product_id
            new_p.append(row)
        else:
            upd_p.append({"id": pk, **p.values})
    stale: set[int] = set(_changed(session, Product, _PRODUCT_INPUTS, upd_p)) if upd_p else set()
    if new_p:
        session.execute(product_table.insert(), new_p)
    if upd_p:
        _bulk_update(session, Product, upd_p)
    report.products_added, report.products_updated = len(new_p), len(upd_p)

    # -- product primary keys for every review (this catalogue's and earlier imports')
    wanted = {r.product_id for r in cat.reviews} | {p.product_id for p in cat.products if p.images}
    product_pk = _ids_by_key(session, Product.product_id, Product.id, wanted) if wanted else {}
    for r in cat.reviews:
        if r.product_id not in product_pk:
            raise r.where.error(
                r.product_field, f"review of unknown product {r.product_id!r} (not in this catalogue nor in the database)"
            )

    # -- reviews, written WRITE_CHUNK at a time (their rows are built per chunk, not all at once)
    existing_r = _ids_by_key(session, Review.review_id, Review.id, (r.review_id for r in cat.reviews))
    # products whose reviews' scores the import makes stale: a product that was already there and
    # gets a review, or whose reviews changed text or metadata (or moved to another product)
    new_products = {product_pk[p.product_id] for p in cat.products
                    if p.product_id not in existing_p and p.product_id in product_pk}
    touched: set[int] = set()  # products whose reviews' ranks (votes, labels, members) may change
    n_new = n_upd = 0
    for start in range(0, len(cat.reviews), WRITE_CHUNK):
        new_r, upd_r = [], []
        for r in cat.reviews[start:start + WRITE_CHUNK]:
            pk = existing_r.get(r.review_id)
            if pk is None:
                row = {**REVIEW_DEFAULTS, **r.values}
                row["review_id"] = r.review_id
                row["product_pk"] = product_pk[r.product_id]
                new_r.append(row)
            else:
                upd_r.append({"id": pk, "product_pk": product_pk[r.product_id], **r.values})
        stale |= {row["product_pk"] for row in new_r} - new_products
        if upd_r:
            by_pk = {r["id"]: r for r in upd_r}
            # votes or labels that changed move their product's ranks (read before the update below)
            touched |= {by_pk[pk]["product_pk"] for pk in _changed(session, Review, _RANK_INPUTS, upd_r)}
            for pk, old in _changed(session, Review, _REVIEW_INPUTS + ("product_pk",), upd_r).items():
                stale |= {by_pk[pk]["product_pk"], old["product_pk"]}
        if new_r:
            if not n_new:
                # the full-text index of the new reviews is built after the import, by the first
                # search (storage/repository/search.py): about a third of a large import's time otherwise
                mark_unindexed(session)
            insert_many(session, review_table, new_r)
        if upd_r:
            _bulk_update(session, Review, upd_r)
        n_new += len(new_r)
        n_upd += len(upd_r)
    report.reviews_added, report.reviews_updated = n_new, n_upd

    # -- images: rows by sha256, then links of the imported owners (replaced on re-import)
    refs: dict[str, ImageRef] = {}
    for owner in (*cat.products, *cat.reviews):
        for ref in owner.images:
            refs.setdefault(ref.sha256, ref)
    report.images = len(refs)
    # links of updated owners are replaced, unless the input says nothing about their images
    upd_p_pks = [existing_p[p.product_id] for p in cat.products if p.images_given and p.product_id in existing_p]
    upd_r_pks = [existing_r[r.review_id] for r in cat.reviews if r.images_given and r.review_id in existing_r]
    if upd_p_pks:  # the images a score read changed: its product's reviews are stale
        old = _image_shas(session, ImageLink.product_pk, upd_p_pks)
        stale |= {existing_p[p.product_id] for p in cat.products if p.images_given and p.product_id in existing_p
                  and old[existing_p[p.product_id]] != [ref.sha256 for ref in p.images]}
    if upd_r_pks:
        old = _image_shas(session, ImageLink.review_pk, upd_r_pks)
        stale |= {product_pk[r.product_id] for r in cat.reviews if r.images_given and r.review_id in existing_r
                  and old[existing_r[r.review_id]] != [ref.sha256 for ref in r.images]}
    for cond in in_chunks(ImageLink.product_pk, upd_p_pks):
        session.execute(delete(ImageLink).where(cond))
    for cond in in_chunks(ImageLink.review_pk, upd_r_pks):
        session.execute(delete(ImageLink).where(cond))
    if refs:
        image_pk = _ids_by_key(session, Image.sha256, Image.id, refs)
        new_images = [
            {"sha256": s, "relpath": ref.relpath, "width": ref.width, "height": ref.height, "format": ref.format,
             "n_bytes": ref.n_bytes}
            for s, ref in refs.items() if s not in image_pk
        ]
        if new_images:
            session.execute(Image.__table__.insert(), new_images)
            image_pk = _ids_by_key(session, Image.sha256, Image.id, refs)
        report.images_added = len(new_images)
        review_pk = _ids_by_key(session, Review.review_id, Review.id, (r.review_id for r in cat.reviews if r.images))
        links = []
        for p in cat.products:
            for pos, ref in enumerate(p.images):
                links.append({"image_id": image_pk[ref.sha256], "product_pk": product_pk[p.product_id], "review_pk": None,
                              "position": pos})
        for r in cat.reviews:
            for pos, ref in enumerate(r.images):
                links.append({"image_id": image_pk[ref.sha256], "product_pk": None, "review_pk": review_pk[r.review_id],
                              "position": pos})
        if links:
            session.execute(ImageLink.__table__.insert(), links)

    report.scores_dropped = _drop_stale_predictions(session, stale) if stale else 0
    if session.get_bind().dialect.name != "sqlite":
        # each product's review counts (migration 0012; SQLite's triggers counted as rows went in):
        # products that got reviews (new ones included), lost them by a move, or whose labels changed
        recount_products(session, touched | stale | new_products)
    # every model's stored ranks of the products whose reviews changed, came or went (new
    # products have none): the queue reads them as they are
    refresh_ranks(session, touched | stale)
    record_audit(
        session, actor or _actor(), "import", "catalogue", str(cat.path),
        {
            "format": cat.format, "files": cat.files, "products_added": report.products_added,
            "products_updated": report.products_updated, "reviews_added": report.reviews_added,
            "reviews_updated": report.reviews_updated, "images": report.images, "images_added": report.images_added,
            **({"scores_dropped": report.scores_dropped} if report.scores_dropped else {}),
            **({"dropped": report.dropped} if report.dropped else {}),
        },
    )
    session.flush()
    # Files last: nothing is written to the media folder unless every row went in.
    store_images(list(refs.values()), media_dir, stored)
    return report


def run_import(db, cat: Catalogue, t0: float, actor: str | None = None) -> ImportReport:
    """Phase 2 in ONE transaction (retried a bounded number of times if SQLite is locked);
    media files created by a failed attempt are removed again."""
    stored = StoredFiles()

    def _write(session: Session) -> ImportReport:
        try:
            return write_catalogue(session, cat, Path(db.media_dir), stored, actor=actor)
        except BaseException:
            stored.remove_created()
            raise

    try:
        with media_writer(db.media_dir):  # until the rows naming the files are committed
            report = db.run(_write)
    except BaseException:
        stored.remove_created()  # the commit itself failed
        raise
    report.seconds = time.perf_counter() - t0
    return report

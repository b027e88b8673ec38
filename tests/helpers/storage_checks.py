"""Storage test helpers: table checksums, media listings, small catalogues written on the fly.

No fixtures here (plain functions), so tests/storage and tests/reliability share them, and
multiprocessing children can import the worker functions.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from PIL import Image as PILImage
from sqlalchemy import inspect, select, text

from storage.models import Base


def table_checksums(db) -> dict[str, tuple[int, str]]:
    """``table -> (row count, sha256 of every row in primary-key order)`` for every table of
    the schema plus ``alembic_version``: equal before and after means nothing changed."""
    out: dict[str, tuple[int, str]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            q = select(table).order_by(*table.primary_key.columns)
            h = hashlib.sha256()
            n = 0
            for row in conn.execute(q):
                h.update(repr(tuple(row)).encode("utf-8"))
                n += 1
            out[table.name] = (n, h.hexdigest())
        if inspect(conn).has_table("alembic_version"):
            rows = conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1")).all()
            out["alembic_version"] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def media_files(db) -> set[str]:
    root = Path(db.media_dir)
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def write_png(path: Path, size=(24, 16), color=(200, 40, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", size, color).save(path, format="PNG")
    return path


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def good_products() -> list[dict]:
    return [
        {"product_id": "P1", "title": "Kettle", "description": "Boils water.", "category": "Kitchen",
         "image_files": ["images/kettle.png"], "image_urls": ["http://example.invalid/k.jpg"], "source": "test"},
        {"product_id": "P2", "title": "Shoe", "description": "", "category": "Clothes", "image_files": [],
         "image_urls": [], "split": "test", "source": "test"},
        {"product_id": "P3", "title": "", "description": "", "category": "Food", "image_files": [], "image_urls": []},
    ]


def good_reviews() -> list[dict]:
    base = {"title": "t", "rating": 4, "time": 1_300_000_000, "image_files": [], "image_urls": []}
    return [
        {**base, "review_id": "R1", "product_id": "P1", "text": "Great kettle, boils fast.", "helpful_votes": 0},
        {**base, "review_id": "R2", "product_id": "P1", "text": "Broke after a week.", "helpful_votes": 1,
         "total_votes": 3, "rating": 1},
        {**base, "review_id": "R3", "product_id": "P1", "text": "Fine.", "helpful_votes": 3,
         "image_files": ["images/r3.png"]},
        {**base, "review_id": "R4", "product_id": "P1", "text": "Detailed review " * 20, "helpful_votes": 12,
         "total_votes": 15},
        {**base, "review_id": "R5", "product_id": "P2", "text": "Comfortable.", "helpful_votes": 40, "label": 1},
        {**base, "review_id": "R6", "product_id": "P2", "text": "Too small.", "helpful_votes": 7, "source": "x",
         "rating": None},
        {**base, "review_id": "R7", "product_id": "P3", "text": "Tasty \u00e9t\u00e9 \u2603.", "helpful_votes": 2},
        {**base, "review_id": "R8", "product_id": "P3", "text": "Meh.", "helpful_votes": 16},
    ]


def write_good_catalogue(folder: Path, products=None, reviews=None) -> Path:
    """A small valid JSONL catalogue with two real PNGs (one product, one review image)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / "images" / "kettle.png", (32, 20), (10, 120, 200))
    write_png(folder / "images" / "r3.png", (20, 20), (250, 200, 0))
    write_jsonl(folder / "products.jsonl", good_products() if products is None else products)
    write_jsonl(folder / "reviews.jsonl", good_reviews() if reviews is None else reviews)
    return folder


# ------------------------------------------------------------------ concurrency worker


def concurrent_writer(url: str, media_dir: str, who: str, review_pks: list[int], model_id: int, n: int, out_q) -> None:
    """Child process: ``n`` flags and ``n`` prediction writes, each its own transaction
    through ``db.run`` (bounded retries). Reports ("ok", n) or ("error", message)."""
    try:
        from storage import open_database
        from storage import repository as repo
        from storage.records import PredictionIn

        db = open_database(url, media_dir=Path(media_dir))
        for i in range(n):
            rpk = review_pks[i % len(review_pks)]
            db.run(lambda s: repo.add_flag(s, rpk, "spam", author=f"{who}-{i}", note=f"{who} {i}"))
            db.run(lambda s: repo.write_predictions(
                s, model_id, [PredictionIn(rpk, float(i), (0.1, 0.2, 0.3, 0.4, 0.5))]))
        db.dispose()
        out_q.put((who, "ok", n))
    except BaseException as exc:  # report everything, including "database is locked"
        out_q.put((who, "error", f"{type(exc).__name__}: {exc}"))


def stored_ranks_as_computed(session, model_version_id: int) -> tuple[dict, dict]:
    """``(stored, computed)``: every ``review_ranks`` row of the model as review pk ->
    (product pk, model rank, vote rank, implied label, label gap, rank gap, queue keys) plus
    ``product_ranks`` as product pk -> (scored, reviews), next to the same figures computed
    here by :func:`storage.ranking.rank_product` from the stored scores, labels and votes (every
    review of a product the model scored any of). Equal when the stored ranks are current."""
    from storage import repository as repo
    from storage.models import ProductRank, ReviewRank
    from storage.ranking import RankInput, rank_product

    stored = {r.review_pk: (r.product_pk, r.model_rank, r.vote_rank, r.implied_label, r.label_gap, r.rank_gap,
                            r.queue_rank_key, r.queue_label_key)
              for r in session.scalars(select(ReviewRank).where(ReviewRank.model_version_id == model_version_id))}
    stored_counts = {r.product_pk: (r.n_scored, r.n_reviews)
                     for r in session.scalars(select(ProductRank).where(ProductRank.model_version_id == model_version_id))}
    computed, counts = {}, {}
    for ppk, items in repo.rank_inputs_by_product(session, model_version_id).items():
        items = [RankInput(*i) for i in items]
        n_scored = sum(1 for i in items if i.score is not None)
        if not n_scored:
            continue
        ranks = rank_product(items)
        for i in items:
            info = ranks[i.review_pk]
            computed[i.review_pk] = (ppk, info.model_rank, info.vote_rank, info.implied_label, info.label_gap,
                                     info.rank_gap, -abs(info.rank_gap or 0), -abs(info.label_gap or 0))
        counts[ppk] = (n_scored, len(items))
    return (stored, stored_counts), (computed, counts)


def stored_subscores_as_computed(session, model_version_id: int) -> tuple[dict, dict]:
    """``(stored, computed)``: product pk -> (sub-score spreads, review pk -> percentiles) as
    ``repository.stored_context`` reads them and as ``repository.product_subscores`` computes
    them, for every product whose sub-score figures are stored."""
    from storage import repository as repo
    from storage.models import ProductRank

    stored, computed = {}, {}
    for ppk in session.scalars(select(ProductRank.product_pk).where(
            ProductRank.model_version_id == model_version_id, ProductRank.subscore_spreads.is_not(None))):
        _ranks, subs = repo.stored_context(session, ppk, model_version_id)
        stored[ppk] = (subs.spreads, dict(subs.percentiles))
        live = repo.product_subscores(session, ppk, model_version_id)
        computed[ppk] = (live.spreads, {pk: live.percentiles[pk] for pk in live.percentiles})
    return stored, computed


def scored_counts(session, model_version_id: int) -> dict[int, int]:
    """product pk -> reviews of it the model scored, as ``product_ranks`` stores them (products it
    scored none of left out)."""
    from storage.models import ProductRank

    return dict(session.execute(select(ProductRank.product_pk, ProductRank.n_scored)
                                .where(ProductRank.model_version_id == model_version_id)).all())


def product_counts_as_counted(session) -> tuple[dict, dict]:
    """``(stored, counted)``: product pk -> (reviews, labelled reviews) as ``products`` holds them
    (kept by migration 0012's triggers) and as counted here over ``reviews``. Equal when current."""
    from sqlalchemy import func, select

    from storage.models import Product, Review

    stored = {pk: (n, nl) for pk, n, nl in session.execute(select(Product.id, Product.n_reviews, Product.n_labelled))}
    counted = {pk: (0, 0) for pk in stored}
    counted.update({pk: (n, nl) for pk, n, nl in session.execute(
        select(Review.product_pk, func.count(), func.count(Review.label)).group_by(Review.product_pk))})
    return stored, counted

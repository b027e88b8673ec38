"""How long the Models view's drift (two versions' score + five sub-scores on the unflagged
reviews) takes on a 100k-review catalogue, next to a bare SELECT of the same pairs.

    .venv/bin/python -m benchmarks.drift [--reviews 100000] [--repeats 5]

Builds a fresh SQLite store (products in 8 categories, two model versions that both scored
every review, B = A + noise with a shift on p_t r_t, p_v r_v flat under both, 1 % of the
reviews flagged of which half undone) and prints, median of the repeats, run in rotation:

- ``bare_select``: the same join as raw SQL through sqlite3 (fetchall), the floor;
- ``paired_predictions``: the repository function (SQLAlchemy, plain tuples);
- ``compute_drift``: the pure numpy part on those rows;
- ``load_drift``: the whole store job of the view (stamp + pairs + drift + movers' rows);
- ``load_drift_cached``: the same job when the view already holds the pair (stamp check only).

Asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from .common import median, rotate, section

CATEGORIES = ("Books", "Kitchen", "Toys", "Garden", "Clothing", "Music", "Tools", "Beauty")
BARE_SQL = """
SELECT r.id, r.product_pk, p.category,
       a.score, a.s_pt_rt, a.s_pv_rv, a.s_pt_rv, a.s_pv_rt, a.s_rt_rv,
       b.score, b.s_pt_rt, b.s_pv_rv, b.s_pt_rv, b.s_pv_rt, b.s_rt_rv
FROM predictions a
JOIN predictions b ON b.review_pk = a.review_pk AND b.model_version_id = ?
JOIN reviews r ON r.id = a.review_pk
JOIN products p ON p.id = r.product_pk
WHERE a.model_version_id = ?
  AND a.review_pk NOT IN (SELECT f.review_pk FROM flags f WHERE f.undone = 0)
ORDER BY a.review_pk
"""


def build(path: Path, n_reviews: int, seed: int = 0) -> tuple[int, int]:
    from storage import open_database
    from storage import repository as repo
    from storage.models import Prediction, Product, Review, utcnow

    rng = random.Random(seed)
    db = open_database(str(path))
    per_product = 20
    n_products = -(-n_reviews // per_product)
    now = utcnow()
    with db.begin() as s:
        s.execute(Product.__table__.insert(), [
            {"product_id": f"S{i:07d}", "title": f"Product {i}", "description": "", "category": CATEGORIES[i % 8],
             "split": ("train", "dev", "test")[i % 3], "created_at": now} for i in range(n_products)])
        first = s.query(Product.id).order_by(Product.id).first()[0]
        s.execute(Review.__table__.insert(), [
            {"review_id": f"s{i:08d}", "product_pk": first + i // per_product, "title": f"Review {i}",
             "text": f"Review text number {i}", "rating": float(1 + i % 5), "helpful_votes": i % 40,
             "label": (i % 40) // 10} for i in range(n_reviews)])
        a = repo.register_model_version(s, "A", "/m/a", "a" * 64)
        b = repo.register_model_version(s, "B", "/m/b", "b" * 64, parent_id=a.id)
        pks = [r for (r,) in s.query(Review.id).order_by(Review.id)]
        rows_a, rows_b = [], []
        for pk in pks:
            va = [rng.gauss(0, 1.5)] + [min(4, max(0, rng.gauss(2, 0.8))) for _ in range(5)]
            va[2] = 0.0  # p_v r_v: no images, flat under both
            vb = [x + rng.gauss(0, 0.3) for x in va]
            vb[1] = va[1] + (1.5 if rng.random() < 0.2 else 0.0)
            vb[2] = 0.0
            for rows, mid, v in ((rows_a, a.id, va), (rows_b, b.id, vb)):
                rows.append({"model_version_id": mid, "review_pk": pk, "score": v[0], "s_pt_rt": v[1], "s_pv_rv": v[2],
                             "s_pt_rv": v[3], "s_pv_rt": v[4], "s_rt_rv": v[5], "created_at": now})
        s.execute(Prediction.__table__.insert(), rows_a)
        s.execute(Prediction.__table__.insert(), rows_b)
        repo.refresh_ranks(s, {first + i // per_product for i in range(n_reviews)}, [a.id, b.id])  # as write_predictions would
        flagged = rng.sample(pks, len(pks) // 100)
        for i, pk in enumerate(flagged):
            f = repo.add_flag(s, pk, "spam", "bench")
            if i % 2:
                repo.undo_flag(s, f.id, "bench")
        ids = (a.id, b.id)
    db.dispose()
    return ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reviews", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    from gui.models_view import queries
    from gui.models_view.drift import compute_drift
    from storage import open_database
    from storage import repository as repo

    section(f"drift between two model versions, {args.reviews:,} reviews")
    tmp = Path(tempfile.mkdtemp(prefix="rs-drift-"))
    t0 = time.perf_counter()
    a_id, b_id = build(tmp / "store.db", args.reviews)
    print(f"built in {time.perf_counter() - t0:.1f} s: {tmp / 'store.db'}")
    db = open_database(str(tmp / "store.db"))
    raw = sqlite3.connect(str(tmp / "store.db"))
    with db.begin() as s:
        rows = repo.paired_predictions(s, a_id, b_id)
        cached = queries.load_drift(s, a_id, b_id)
    n_bare = len(raw.execute(BARE_SQL, (b_id, a_id)).fetchall())
    print(f"pairs: {len(rows):,} (bare SELECT: {n_bare:,}); {cached.get('p_t r_t').sentence}")
    print(f"  {cached.get('p_v r_v').sentence}")

    def in_session(fn):
        def run():
            with db.begin() as s:
                return fn(s)
        return run

    times = rotate({
        "bare_select": lambda: raw.execute(BARE_SQL, (b_id, a_id)).fetchall(),
        "paired_predictions": in_session(lambda s: repo.paired_predictions(s, a_id, b_id)),
        "compute_drift": lambda: compute_drift(rows, a_id, b_id),
        "load_drift": in_session(lambda s: queries.load_drift(s, a_id, b_id)),
        "load_drift_cached": in_session(lambda s: queries.load_drift(s, a_id, b_id, cached)),
    }, args.repeats, warmup=True)
    for name, ts in times.items():
        print(f"{name:>20}: {median(ts) * 1000:8.1f} ms  (median of {len(ts)}; min {min(ts) * 1000:.1f})")
    raw.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

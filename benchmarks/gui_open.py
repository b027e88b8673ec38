"""How fast the triage app shows data: each figure next to a bare SELECT of the same rows,
measured in the same run (offscreen Qt, fresh SQLite files).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_open.py [--reviews 100000] [--big 10000]

Prints, in milliseconds (best of --repeat):
1. open the bundled sample: from ``open_database`` to the first page of the first product's
   reviews painted (product list, counts, first page), next to a raw sqlite3 SELECT of the
   product list with counts plus that first page;
2. open a generated catalogue of --reviews reviews (one product has --big reviews, all are
   scored by a registered model), first paint, next to the same bare SELECTs;
3. sort the --big reviews of one product by votes: from the header click to the first page
   painted, next to a bare ``SELECT ... ORDER BY helpful_votes DESC`` of the same product,
   both the first page (LIMIT 500) and all rows.
It asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from storage import open_database  # noqa: E402
from storage import repository as repo  # noqa: E402
from storage.importers import import_path  # noqa: E402
from storage.records import PredictionIn  # noqa: E402

PAGE = 500


def spin(app: QApplication, cond, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def generate(folder: Path, n_reviews: int, big: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    per_product = 50
    n_products = 1 + max(1, (n_reviews - big) // per_product)
    with open(folder / "products.jsonl", "w", encoding="utf-8") as f:
        for p in range(n_products):
            f.write(json.dumps({"product_id": f"G{p:06d}", "title": f"Generated product {p}",
                                "category": f"Category {p % 12}"}) + "\n")
    with open(folder / "reviews.jsonl", "w", encoding="utf-8") as f:
        for i in range(n_reviews):
            p = 0 if i < big else 1 + (i - big) // per_product
            p = min(p, n_products - 1)
            words = " ".join(rng.choice(("good", "bad", "kettle", "boils", "fast", "broke", "gift", "value"))
                             for _ in range(rng.randint(5, 80)))
            f.write(json.dumps({"review_id": f"g{i:07d}", "product_id": f"G{p:06d}", "title": words[:30], "text": words,
                                "rating": rng.randint(1, 5), "helpful_votes": int(rng.expovariate(0.3)),
                                "time": 1_300_000_000 + i}) + "\n")


def score_everything(db) -> None:
    rng = random.Random(1)
    with db.begin() as s:
        mv = repo.register_model_version(s, "bench", "/dev/null", "0" * 64, activate=True, card={"device": "cpu"})
        pks = repo.review_pks_missing_prediction(s, mv.id)
        repo.write_predictions(s, mv.id, (PredictionIn(pk, rng.gauss(0, 1), tuple(rng.gauss(0, 1) for _ in range(5)))
                                         for pk in pks))


def bare_selects(db_file: Path, product_pk: int) -> dict[str, float]:
    con = sqlite3.connect(db_file)
    out = {}
    t = time.perf_counter()
    con.execute(
        "SELECT p.id, p.product_id, p.title, p.category, count(r.id), count(r.label) FROM products p "
        "LEFT JOIN reviews r ON r.product_pk = p.id GROUP BY p.id ORDER BY p.id").fetchall()
    con.execute(
        "SELECT r.*, pr.score FROM reviews r LEFT JOIN predictions pr ON pr.review_pk = r.id "
        "WHERE r.product_pk = ? ORDER BY pr.score DESC LIMIT ?", (product_pk, PAGE)).fetchall()
    out["products + first page"] = time.perf_counter() - t
    t = time.perf_counter()
    con.execute("SELECT * FROM reviews WHERE product_pk = ? ORDER BY helpful_votes DESC LIMIT ?", (product_pk, PAGE)).fetchall()
    out["sort, first page"] = time.perf_counter() - t
    t = time.perf_counter()
    con.execute("SELECT * FROM reviews WHERE product_pk = ? ORDER BY helpful_votes DESC", (product_pk,)).fetchall()
    out["sort, all rows"] = time.perf_counter() - t
    con.close()
    return out


def time_window(app, db_url: str, settings_dir: Path, product_id: str | None):
    from gui.settings import Settings
    from gui.state.columns import COLUMN_INDEX
    from gui.widgets.qt_main_window import QtMainWindow

    settings = Settings.at(settings_dir / f"s{time.perf_counter_ns()}.ini")
    window = QtMainWindow(settings, import_sample_when_empty=False)
    window.show()
    spin(app, lambda: window.isVisible())
    t0 = time.perf_counter()
    window.open_database(db_url)
    spin(app, lambda: window.review_model.rowCount() > 0 and window.product_model.rowCount() > 0)
    window.review_table.view.viewport().repaint()
    first_paint = time.perf_counter() - t0
    spin(app, lambda: not window.store.busy)
    product_pk = window.app_state.current_product_pk
    sort = None
    if product_id is not None:
        pk = next(p.id for p in window.product_model._products if p.product_id == product_id)
        window.product_list.select_product(pk)
        spin(app, lambda: window.review_model.rowCount() > 0 and not window.review_model.is_loading and not window.store.busy)
        product_pk = pk
        t0 = time.perf_counter()
        window.review_model.sort(COLUMN_INDEX["votes"])  # what a header click does
        spin(app, lambda: not window.review_model.is_loading and window.review_model.rowCount() > 0)
        window.review_table.view.viewport().repaint()
        sort = time.perf_counter() - t0
    window.close()
    return first_paint, sort, product_pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    import resources

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sample_db = tmp / "sample.db"
        db = open_database(str(sample_db))
        import_path(db, resources.sample_path())
        db.dispose()
        gen = tmp / "generated"
        t = time.perf_counter()
        generate(gen, args.reviews, args.big)
        big_db = tmp / "big.db"
        db = open_database(str(big_db))
        import_path(db, gen)
        score_everything(db)
        db.dispose()
        print(f"generated and imported {args.reviews} reviews in {time.perf_counter() - t:.1f} s")

        rows = []
        best = lambda xs: min(xs) * 1000  # noqa: E731
        s_paint, s_bare = [], []
        for _ in range(args.repeat):
            paint, _sort, ppk = time_window(app, f"sqlite:///{sample_db}", tmp, None)
            s_paint.append(paint)
            s_bare.append(bare_selects(sample_db, ppk)["products + first page"])
        rows.append(("open the sample, first paint", best(s_paint), best(s_bare)))
        g_paint, g_bare, sorts, sort_page, sort_all = [], [], [], [], []
        for _ in range(args.repeat):
            paint, sort, ppk = time_window(app, f"sqlite:///{big_db}", tmp, "G000000")
            bare = bare_selects(big_db, ppk)
            g_paint.append(paint)
            g_bare.append(bare["products + first page"])
            sorts.append(sort)
            sort_page.append(bare["sort, first page"])
            sort_all.append(bare["sort, all rows"])
        rows.append((f"open {args.reviews:,} reviews, first paint", best(g_paint), best(g_bare)))
        rows.append((f"sort {args.big:,} rows by votes (first page)", best(sorts), best(sort_page)))
        rows.append((f"   bare SELECT of all {args.big:,} sorted rows", None, best(sort_all)))
    print(f"{'':48} {'app ms':>10} {'bare SELECT ms':>15}")
    for name, ours, bare in rows:
        print(f"{name:48} {'' if ours is None else f'{ours:10.0f}':>10} {bare:15.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

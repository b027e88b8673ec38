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
   both the first page (LIMIT 500) and all rows, and next to Python ``sorted()`` of the same
   10,000 keys and of the 10,000 rows by that key, and next to Qt's own in-memory sort: a
   QSortFilterProxyModel over a QStandardItemModel holding the same rows and columns, in a
   QTableView of the same size, click to repaint (issue 17's goal: no slower than that);
4. the disagreement queue's first page (500 rows): the store job the queue runs, next to a
   bare SELECT of 500 scored, labelled reviews ordered by ``abs(score - label)``.
Medians of --repeat runs (``--json FILE`` writes every run). It asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import operator
import random
import sqlite3
import statistics
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
    """Run the event loop until ``cond()``, as the app's own loop runs: asleep in Qt (the GIL
    released for the store's workers) until an event comes, woken every 2 ms to test ``cond``.
    (Until stop 26 this polled ``processEvents`` in a busy Python loop, which held the GIL against
    the workers and added to every figure something the app does not do.)"""
    from PySide6.QtCore import QTimer

    end = time.perf_counter() + timeout
    tick = QTimer()
    tick.start(2)
    try:
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents | QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        tick.stop()


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
    """A registered, active model and a random score (and sub-scores) for every review, one
    ``write_predictions`` call (it replaces old rows in chunks, whatever the catalogue's size)."""
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


def time_window(app, db_url: str, settings_dir: Path, product_id: str | None, extra: dict | None = None):
    from gui.app import settle_heap
    from gui.settings import Settings
    from gui.state.columns import COLUMN_INDEX
    from gui.widgets.qt_main_window import QtMainWindow

    settings = Settings.at(settings_dir / f"s{time.perf_counter_ns()}.ini")
    window = QtMainWindow(settings, import_sample_when_empty=False)
    window.show()
    settle_heap()  # as gui.app.main does once the window is made
    # the window's own first paint (about 20 ms: exposing, activating and painting every widget)
    # is not part of opening a catalogue: until stop 27 it fell inside the figure, as the clock
    # started when show() returned, before the window was exposed
    spin(app, lambda: window.isVisible() and window.windowHandle() is not None and window.windowHandle().isExposed())
    window.repaint()
    app.processEvents()
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
        if extra is not None:  # the floor of any sort that repaints: a repaint of the same table
            view = window.review_table.view
            extra["view_size"] = (view.width(), view.height())
            extra["hidden"] = [i for i in range(window.review_model.columnCount()) if view.isColumnHidden(i)]
            extra["model_version_id"] = window.app_state.model_version_id
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                window.review_table.view.viewport().repaint()
                ts.append(time.perf_counter() - t0)
            extra["repaint"] = statistics.median(ts)
    window.close()
    return first_paint, sort, product_pk


def qt_proxy_sort(app, db_file: Path, product_pk: int, model_version_id, size, hidden, repeat: int = 5) -> float:
    """What a developer would write by default: the product's rows in a QStandardItemModel (same
    rows, same columns and display texts as the review table, numbers as numbers), a
    QSortFilterProxyModel, a QTableView of the table's size with the same hidden columns; median
    seconds from ``sortByColumn(votes)`` (what a header click does) to the viewport repainted.
    Before each timed sort the view is sorted by score (the table's default order), untimed."""
    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView

    from gui.models.formatting import fmt_float, one_line
    from gui.state.columns import COLUMN_INDEX, REVIEW_COLUMNS

    db = open_database(str(db_file))
    try:
        rows = db.run(lambda s: repo.page_reviews(s, product_pk, model_version_id, 0, None))
    finally:
        db.dispose()

    def cells(i: int, r) -> list:
        values = {"rank": i + 1, "review": one_line(r.title or r.text), "score": r.score, "label": r.label,
                  "votes": r.helpful_votes, "rating": r.rating, "flag": "", "date": r.time, "images": r.n_images,
                  "review_id": r.review_id, "top_reason": "", "second_reason": ""}
        out = []
        for c in REVIEW_COLUMNS:
            v = r.sub_scores[int(c.key[3:])] if c.key.startswith("sub") else values.get(c.key)
            item = QStandardItem()
            if isinstance(v, float):
                item.setData(v, Qt.ItemDataRole.DisplayRole)
                item.setData(fmt_float(v), Qt.ItemDataRole.ToolTipRole)
            elif v is not None:
                item.setData(v, Qt.ItemDataRole.DisplayRole)
            out.append(item)
        return out

    model = QStandardItemModel(0, len(REVIEW_COLUMNS))
    model.setHorizontalHeaderLabels([c.header for c in REVIEW_COLUMNS])
    for i, r in enumerate(rows):
        model.appendRow(cells(i, r))
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    for c in hidden:
        view.setColumnHidden(c, True)
    view.resize(*size)
    view.show()
    spin(app, lambda: view.isVisible())
    ts = []
    for _ in range(repeat):
        view.sortByColumn(COLUMN_INDEX["score"], Qt.SortOrder.DescendingOrder)
        view.viewport().repaint()
        t = time.perf_counter()
        view.sortByColumn(COLUMN_INDEX["votes"], Qt.SortOrder.DescendingOrder)
        view.viewport().repaint()
        ts.append(time.perf_counter() - t)
    view.close()
    view.deleteLater()
    app.processEvents()
    return statistics.median(ts)


QUEUE_BARE = ("SELECT r.*, pr.score FROM reviews r JOIN predictions pr ON pr.review_pk = r.id "
              "WHERE pr.model_version_id = ? AND r.label IS NOT NULL ORDER BY abs(pr.score - r.label) DESC, r.id LIMIT ?")


def queue_first_page(db_file: Path, model_version_id: int, repeat: int = 3) -> dict[str, float]:
    """The disagreement queue's first page (500 rows, rank-gap order, the queue's default filter):
    median seconds of the store job ``gui.queries.load_disagreements`` (what the queue's worker
    runs) next to a bare SELECT of a first page of 500 scored, labelled reviews ordered by a
    per-review disagreement measure (``abs(score - label)``) over the same catalogue."""
    from gui import queries
    from storage.ranking import DisagreementMode

    db = open_database(str(db_file))
    ours, bare = [], []
    try:
        for _ in range(repeat):
            t = time.perf_counter()
            db.run(lambda s: queries.load_disagreements(s, model_version_id, DisagreementMode.RANK_GAP, PAGE))
            ours.append(time.perf_counter() - t)
            con = sqlite3.connect(db_file)
            t = time.perf_counter()
            con.execute(QUEUE_BARE, (model_version_id, PAGE)).fetchall()
            bare.append(time.perf_counter() - t)
            con.close()
    finally:
        db.dispose()
    return {"ours": statistics.median(ours), "bare": statistics.median(bare)}


def python_sorts(db_file: Path, product_pk: int, repeat: int = 21) -> dict[str, float]:
    """Median seconds of Python ``sorted()`` of the product's vote keys, and of its rows by
    that key (rows and keys fetched once, untimed)."""
    con = sqlite3.connect(db_file)
    cur = con.execute("SELECT * FROM reviews WHERE product_pk = ?", (product_pk,))
    idx = [d[0] for d in cur.description].index("helpful_votes")
    rows = cur.fetchall()
    con.close()
    keys = [r[idx] for r in rows]
    out = {}
    for name, fn in (("keys", lambda: sorted(keys, reverse=True)),
                     ("rows", lambda: sorted(rows, key=operator.itemgetter(idx), reverse=True))):
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        out[name] = statistics.median(ts)
    out["n"] = len(rows)
    return out


def measure(n_reviews: int = 100_000, big: int = 10_000, repeat: int = 3, tmp: Path | None = None,
            trace: bool = False) -> dict:
    """Every run's seconds of each figure (lists), plus the sizes."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    import resources

    own = tmp is None
    tmpdir = tempfile.TemporaryDirectory() if own else None
    tmp = Path(tmpdir.name) if own else Path(tmp)
    try:
        sample_db = tmp / "sample.db"
        db = open_database(str(sample_db))
        import_path(db, resources.sample_path())
        db.dispose()
        gen = tmp / "generated"
        t = time.perf_counter()
        generate(gen, n_reviews, big)
        big_db = tmp / "big.db"
        db = open_database(str(big_db))
        import_path(db, gen)
        score_everything(db)
        db.dispose()
        out: dict = {"reviews": n_reviews, "big": big, "repeat": repeat, "setup_s": time.perf_counter() - t}
        print(f"generated and imported {n_reviews} reviews in {out['setup_s']:.1f} s", flush=True)
        keys = ("sample_paint", "sample_bare", "open_paint", "open_bare", "sort", "sort_page_bare", "sort_all_bare",
                "sorted_keys", "sorted_rows", "repaint", "sort_qt_proxy", "queue", "queue_bare")
        out.update({k: [] for k in keys})
        for _ in range(repeat):
            paint, _sort, ppk = time_window(app, f"sqlite:///{sample_db}", tmp, None)
            out["sample_paint"].append(paint)
            out["sample_bare"].append(bare_selects(sample_db, ppk)["products + first page"])
            extra: dict = {}
            paint, sort, ppk = time_window(app, f"sqlite:///{big_db}", tmp, "G000000", extra)
            out["repaint"].append(extra.get("repaint"))
            bare = bare_selects(big_db, ppk)
            ps = python_sorts(big_db, ppk)
            out["open_paint"].append(paint)
            out["open_bare"].append(bare["products + first page"])
            out["sort"].append(sort)
            out["sort_page_bare"].append(bare["sort, first page"])
            out["sort_all_bare"].append(bare["sort, all rows"])
            out["sorted_keys"].append(ps["keys"])
            out["sorted_rows"].append(ps["rows"])
            out["sort_qt_proxy"].append(qt_proxy_sort(app, big_db, ppk, extra["model_version_id"], extra["view_size"],
                                                      extra["hidden"]))
            q = queue_first_page(big_db, extra["model_version_id"], repeat=1)
            out["queue"].append(q["ours"])
            out["queue_bare"].append(q["bare"])
        if trace:
            out["trace"] = trace_open(big_db, tmp)
        return out
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()


def trace_open(db_file: Path, settings_dir: Path, product_id: str | None = None) -> dict:
    """One window open with every store job timed (queued / start / end, ms after the call to
    ``open_database``): the critical path of the first paint, and what competes with it."""
    import threading

    import gui.store as store_mod
    from gui.widgets.qt_main_window import QtMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    t0 = {"t": 0.0}
    jobs: list[dict] = []
    real_call, real_open = store_mod.Store.call, QtMainWindow.open_database

    def call(self, fn, *a, **k):
        name = getattr(fn, "__name__", str(fn))
        queued = time.perf_counter()

        def timed(session, *aa, **kk):
            start = time.perf_counter()
            try:
                return fn(session, *aa, **kk)
            finally:
                end = time.perf_counter()
                jobs.append({"job": name, "queued_ms": 1000 * (queued - t0["t"]), "start_ms": 1000 * (start - t0["t"]),
                             "end_ms": 1000 * (end - t0["t"]), "thread": threading.current_thread().name})
        return real_call(self, timed, *a, **k)

    def open_database(self, url, *a, **k):
        t0["t"] = time.perf_counter()
        return real_open(self, url, *a, **k)

    store_mod.Store.call, QtMainWindow.open_database = call, open_database
    try:
        paint, _sort, _ppk = time_window(app, f"sqlite:///{db_file}", settings_dir, product_id)
        spin(app, lambda: len(jobs) > 0 and all(j["end_ms"] > 0 for j in jobs))
    finally:
        store_mod.Store.call, QtMainWindow.open_database = real_call, real_open
    return {"first_paint_ms": 1000 * paint, "jobs": sorted(jobs, key=lambda j: j["start_ms"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write every run's figures (seconds) to this file")
    parser.add_argument("--trace", action="store_true", help="also time every store job of one more window open")
    args = parser.parse_args(argv)
    out = measure(args.reviews, args.big, args.repeat, trace=args.trace)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    med = lambda k: statistics.median(out[k]) * 1000  # noqa: E731
    rows = [
        ("open the sample, first paint", med("sample_paint"), med("sample_bare")),
        (f"open {args.reviews:,} reviews, first paint", med("open_paint"), med("open_bare")),
        (f"sort {args.big:,} rows by votes (first page)", med("sort"), med("sort_page_bare")),
        (f"   bare SELECT of all {args.big:,} sorted rows", None, med("sort_all_bare")),
        (f"   Python sorted() of the {args.big:,} keys", None, med("sorted_keys")),
        (f"   Python sorted() of the {args.big:,} rows by key", None, med("sorted_rows")),
        ("   a repaint of the table alone (no sort)", None, med("repaint")),
        ("   Qt QSortFilterProxyModel sort + repaint", None, med("sort_qt_proxy")),
        ("disagreement queue, first page (store job)", med("queue"), med("queue_bare")),
    ]
    print(f"{'':48} {'app ms':>10} {'baseline ms':>15}   (medians of {args.repeat})")
    for name, ours, bare in rows:
        print(f"{name:48} {'' if ours is None else f'{ours:10.0f}':>10} {bare:15.2f}")
    ratios = {"first paint / bare SELECT (goal <= 3x)": ("open_paint", "open_bare"),
              "sort / Qt proxy sort (goal <= 1x)": ("sort", "sort_qt_proxy"),
              "queue first page / bare SELECT (goal <= 3x)": ("queue", "queue_bare")}
    out["ratios"] = {}
    for name, (a, b) in ratios.items():
        out["ratios"][a] = med(a) / med(b)
        print(f"{name:48} {med(a) / med(b):10.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    if "trace" in out:
        print(f"\nstore jobs of one more open (first paint {out['trace']['first_paint_ms']:.0f} ms):")
        for j in out["trace"]["jobs"]:
            print(f"  {j['job']:<28} queued {j['queued_ms']:6.0f}  ran {j['start_ms']:6.0f} - {j['end_ms']:6.0f} ms"
                  f"  ({j['end_ms'] - j['start_ms']:5.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

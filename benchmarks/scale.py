"""Scale (issue 17): a generated catalogue of N reviews imports, opens, sorts, searches and fills
the disagreement queue; each figure at every size next to a bare baseline measured in the same
run, the log-log slope of each figure over the sizes, and the app's peak memory.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.scale [--sizes 10000,100000,1000000] [--json FILE]

For each size N (catalogue of ``benchmarks.gui_open.generate``: one product of --big reviews,
10,000 by default at every size so that its sort is comparable, the rest 50 reviews a product):

1. import, whole processes: ``python -m engine import FOLDER --db sqlite:///FILE`` on a new file,
   wall clock and the child's peak RSS (VmHWM, read by a small wrapper at the child's exit),
   next to a bare python process that json.loads the files and ``sqlite3.executemany``s the
   rows (``benchmarks.import_speed.BARE``, on a file with the schema but no full-text index);
2. every review scored by a registered model (``gui_open.score_everything``, untimed);
3. in one fresh process per size (so its peak memory is that size's): the main window opened on
   the database, first paint; the big product sorted by votes (click to repaint); the
   disagreement queue's first page (the queue's store job); the full-text index's catch-up
   after the import (``gui.queries.catch_up_search`` in the app's steps, until done) next to a
   bare FTS5 ``INSERT ... SELECT`` of the same rows into a temp table; a search
   (``gui.queries.search``, what the search box runs) after the catch-up next to a bare FTS5
   ``MATCH ... ORDER BY rank LIMIT``; the bare SELECTs of gui_open for the paint, sort and queue.
   VmHWM after the first paint, after the sort, after the queue, and at the end.

Prints a table figure x size (ms, and the app / baseline ratio), the log-log slope of each
figure (least squares of log t on log N over the sizes: 0 flat, 1 linear), and peak memory.
It asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIG_PRODUCT = "G000000"
SEARCH = "kettle broke"
REPEAT = 3

# Runs a module (``-m NAME``) or a script as __main__ and writes its VmHWM (MiB) to $RS_HWM_OUT at exit.
HWM_WRAPPER = r'''
import atexit, os, runpy, sys
def _hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                with open(os.environ["RS_HWM_OUT"], "w") as o:
                    o.write(str(int(line.split()[1]) / 1024))
atexit.register(_hwm)
args = sys.argv[1:]
if args[0] == "-m":
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
'''


def _child(cmd: list[str], tmp: Path, timeout: float = 3600) -> tuple[float, float | None]:
    """Wall seconds and peak RSS (MiB) of ``python [HWM_WRAPPER] cmd...``."""
    from benchmarks.common import env

    hwm_file = tmp / "hwm.txt"
    hwm_file.unlink(missing_ok=True)
    e = env()
    e["RS_HWM_OUT"] = str(hwm_file)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", HWM_WRAPPER, *cmd], cwd=ROOT, env=e, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, (float(hwm_file.read_text()) if hwm_file.exists() else None)


def _rm_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(path.parent / f"{path.stem}-media", ignore_errors=True)
    shutil.rmtree(path.parent / f"{path.stem}-cache", ignore_errors=True)


def _median_time(fn, repeat: int = REPEAT) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


# --------------------------------------------------------------------------- the window process


def window_process(db_file: Path, out_file: Path) -> None:
    """Everything measured in the per-size process; writes a JSON object to ``out_file``."""
    import sqlite3

    from PySide6.QtWidgets import QApplication

    from benchmarks import gui_open
    from benchmarks.common import vm_hwm_mb
    from gui import queries
    from gui.widgets.qt_main_window import QtMainWindow
    from storage import open_database
    from storage.repository import parse_search

    out: dict = {"hwm_start_mb": vm_hwm_mb()}
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings_dir = Path(tempfile.mkdtemp(prefix="rs-scale-settings-"))
    try:
        extra: dict = {}  # time_window fills it after the sort
        paint, sort, ppk = _time_window(app, gui_open, f"sqlite:///{db_file}", settings_dir, extra, out)
    finally:
        shutil.rmtree(settings_dir, ignore_errors=True)
    out["first_paint"], out["sort"], out["product_pk"] = paint, sort, ppk
    mv = extra["model_version_id"]
    out["repaint"] = extra.get("repaint")
    bares = [gui_open.bare_selects(db_file, ppk) for _ in range(REPEAT)]
    out["first_paint_bare"] = statistics.median(b["products + first page"] for b in bares)
    out["sort_bare"] = statistics.median(b["sort, first page"] for b in bares)
    out["sort_all_bare"] = statistics.median(b["sort, all rows"] for b in bares)

    q = gui_open.queue_first_page(db_file, mv, repeat=REPEAT)
    out["queue"], out["queue_bare"] = q["ours"], q["bare"]
    out["hwm_after_queue_mb"] = vm_hwm_mb()

    # The full-text index: the import deferred it; the app catches up in steps after an import.
    db = open_database(str(db_file))
    try:
        out["search_backlog"] = db.run(queries.search_backlog)
        steps = 0
        t = time.perf_counter()
        while True:
            with db.begin() as s:
                n = queries.catch_up_search(s, QtMainWindow.SEARCH_CATCH_UP_STEP)
            if not n:
                break
            steps += 1
        out["catch_up"], out["catch_up_steps"] = time.perf_counter() - t, steps
        out["hwm_after_catch_up_mb"] = vm_hwm_mb()
        n_hits = {}

        def ours():
            n_hits["ours"] = len(db.run(lambda s: queries.search(s, SEARCH, limit=50)).hits)

        ours()  # a warm-up: the first search of a process also loads the FTS5 module's pages
        out["search"] = _median_time(ours)
    finally:
        db.dispose()
    fts_q = parse_search(SEARCH).fts5()
    con = sqlite3.connect(db_file)
    try:
        con.execute("SELECT rowid FROM reviews_fts WHERE reviews_fts MATCH ? ORDER BY rank LIMIT 51", (fts_q,)).fetchall()
        out["search_bare"] = _median_time(lambda: con.execute(
            "SELECT rowid, rank FROM reviews_fts WHERE reviews_fts MATCH ? ORDER BY rank LIMIT 51", (fts_q,)).fetchall())
        out["search_matches"] = con.execute("SELECT count(*) FROM reviews_fts WHERE reviews_fts MATCH ?",
                                            (fts_q,)).fetchone()[0]
        out["search_hits"] = n_hits.get("ours")
        # bare catch-up: the same rows into a new FTS5 table (same tokenizer), one transaction
        con.execute("CREATE VIRTUAL TABLE temp.bare_fts USING fts5(title, text, product_title, "
                    "tokenize='unicode61 remove_diacritics 2')")
        t = time.perf_counter()
        con.execute("INSERT INTO temp.bare_fts(rowid, title, text, product_title) SELECT r.id, r.title, r.text, p.title "
                    "FROM reviews AS r JOIN products AS p ON p.id = r.product_pk ORDER BY r.id")
        con.commit()
        out["catch_up_bare"] = time.perf_counter() - t
        con.execute("DROP TABLE temp.bare_fts")
    finally:
        con.close()
    out["hwm_end_mb"] = vm_hwm_mb()
    out_file.write_text(json.dumps(out))


def _time_window(app, gui_open, url, settings_dir, extra, out):
    """gui_open.time_window, with the process's VmHWM read right after the first paint and
    after the sort (a spy on the review table's first repaint)."""
    from benchmarks.common import vm_hwm_mb
    from gui.widgets.qt_main_window import QtMainWindow

    real_open = QtMainWindow.open_database
    marks: list = []

    def open_database(self, *a, **k):
        res = real_open(self, *a, **k)
        view = self.review_table.view.viewport()
        real_repaint = view.repaint

        def repaint(*aa):
            r = real_repaint(*aa)
            marks.append(vm_hwm_mb())
            return r
        view.repaint = repaint
        return res

    QtMainWindow.open_database = open_database
    try:
        res = gui_open.time_window(app, url, settings_dir, BIG_PRODUCT, extra)
    finally:
        QtMainWindow.open_database = real_open
    out["hwm_after_paint_mb"] = marks[0] if marks else None
    out["hwm_after_sort_mb"] = marks[1] if len(marks) > 1 else None
    out["hwm_after_window_mb"] = vm_hwm_mb()
    return res


# --------------------------------------------------------------------------- one size


def measure_size(n: int, big: int, work: Path, keep: bool = False) -> dict:
    from benchmarks import gui_open
    from benchmarks.import_speed import BARE, fresh_db_file
    from storage import open_database

    tmp = work / f"scale{n}"
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict = {"reviews": n, "big": big}
    folder = tmp / "catalogue"
    t = time.perf_counter()
    gui_open.generate(folder, n, big)
    out["generate_s"] = time.perf_counter() - t
    out["catalogue_mb"] = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
    print(f"  {n:,}: generated in {out['generate_s']:.1f} s ({out['catalogue_mb']:.0f} MiB)", flush=True)

    db_file = tmp / "app.db"
    _rm_db(db_file)
    out["import"], out["import_hwm_mb"] = _child(["-m", "engine", "import", str(folder), "--db", f"sqlite:///{db_file}"], tmp)
    bare_script = tmp / "bare_import.py"
    bare_script.write_text(BARE)
    bare_db = fresh_db_file(tmp, "bare", bare=True)
    out["import_bare"], out["import_bare_hwm_mb"] = _child([str(bare_script), str(folder), str(bare_db)], tmp)
    _rm_db(bare_db)
    out["db_mb"] = db_file.stat().st_size / 2**20
    print(f"  {n:,}: import {out['import']:.1f} s ({out['import_hwm_mb']:.0f} MiB peak), bare "
          f"{out['import_bare']:.1f} s ({out['import_bare_hwm_mb']:.0f} MiB peak)", flush=True)

    t = time.perf_counter()
    db = open_database(str(db_file))
    try:
        gui_open.score_everything(db)
    finally:
        db.dispose()
    out["score_s"] = time.perf_counter() - t
    print(f"  {n:,}: scored in {out['score_s']:.1f} s", flush=True)

    from benchmarks.common import env

    res_file = tmp / "window.json"
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--window", str(db_file), "--json", str(res_file)],
                          cwd=ROOT, env=env(), capture_output=True, text=True, timeout=3600)
    out["window_process_s"] = time.perf_counter() - t
    if proc.returncode != 0 or not res_file.exists():
        raise RuntimeError(f"window process failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    out.update(json.loads(res_file.read_text()))
    print(f"  {n:,}: window process {out['window_process_s']:.1f} s; first paint {1000 * out['first_paint']:.0f} ms, "
          f"peak {out['hwm_end_mb']:.0f} MiB", flush=True)
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- table

FIGURES = (  # key, baseline key, label
    ("import", "import_bare", "import, whole process"),
    ("first_paint", "first_paint_bare", "open, first paint"),
    ("sort", "sort_bare", "sort big product by votes"),
    ("queue", "queue_bare", "disagreement queue, first page"),
    ("catch_up", "catch_up_bare", "search index catch-up"),
    ("search", "search_bare", f"search '{SEARCH}' (after catch-up)"),
)
MEMORY = (
    ("import_hwm_mb", "import: peak RSS"),
    ("import_bare_hwm_mb", "bare import: peak RSS"),
    ("hwm_after_paint_mb", "app: VmHWM after first paint"),
    ("hwm_after_sort_mb", "app: VmHWM after sort"),
    ("hwm_after_queue_mb", "app: VmHWM after queue"),
    ("hwm_after_catch_up_mb", "app: VmHWM after catch-up"),
    ("hwm_end_mb", "app: VmHWM at the end"),
)


def slope(sizes, values) -> float | None:
    """Least-squares slope of log(value) on log(size)."""
    pts = [(math.log(n), math.log(v)) for n, v in zip(sizes, values) if v and v > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


def summarize(rows: list[dict]) -> dict:
    sizes = [r["reviews"] for r in rows]
    out: dict = {"sizes": sizes, "slopes": {}, "ratios": {}}
    for key, bkey, _ in FIGURES:
        out["slopes"][key] = slope(sizes, [r.get(key) for r in rows])
        out["slopes"][bkey] = slope(sizes, [r.get(bkey) for r in rows])
        out["ratios"][key] = [r[key] / r[bkey] if r.get(key) and r.get(bkey) else None for r in rows]
    for key, _ in MEMORY:
        out["slopes"][key] = slope(sizes, [r.get(key) for r in rows])
    return out


def table(rows: list[dict], summ: dict) -> str:
    sizes = summ["sizes"]
    w = 14
    head = f"{'':40}" + "".join(f"{n:>{w},}" for n in sizes) + f"{'slope':>8}"
    lines = [f"reviews (big product {rows[0]['big']:,}; others 50 each)", head, "-" * len(head)]
    fmt_s = lambda v: "" if v is None else (f"{v:.2f} s" if v >= 10 else f"{1000 * v:.1f} ms")  # noqa: E731
    fmt_sl = lambda v: "" if v is None else f"{v:8.2f}"  # noqa: E731
    for key, bkey, label in FIGURES:
        lines.append(f"{label:40}" + "".join(f"{fmt_s(r.get(key)):>{w}}" for r in rows) + fmt_sl(summ["slopes"][key]))
        lines.append(f"{'   baseline (bare)':40}" + "".join(f"{fmt_s(r.get(bkey)):>{w}}" for r in rows)
                     + fmt_sl(summ["slopes"][bkey]))
        lines.append(f"{'   ratio app / baseline':40}"
                     + "".join(f"{'' if x is None else f'{x:.2f}x':>{w}}" for x in summ["ratios"][key]))
    lines.append("")
    lines.append(f"{'peak memory (MiB)':40}" + "".join(f"{n:>{w},}" for n in sizes) + f"{'slope':>8}")
    for key, label in MEMORY:
        lines.append(f"{label:40}" + "".join(f"{'' if r.get(key) is None else f'{r[key]:.0f}':>{w}}" for r in rows)
                     + fmt_sl(summ["slopes"][key]))
    lines.append("")
    lines.append(f"{'setup (untimed figures)':40}" + "".join(f"{n:>{w},}" for n in sizes))
    for key, label in (("generate_s", "generate catalogue (s)"), ("catalogue_mb", "catalogue JSONL (MiB)"),
                       ("db_mb", "database after import (MiB)"), ("score_s", "score everything (s)"),
                       ("search_backlog", "search backlog after import (reviews)"),
                       ("catch_up_steps", "catch-up steps"), ("search_matches", "search matches")):
        lines.append(f"{label:40}" + "".join(f"{'' if r.get(key) is None else f'{r[key]:,.1f}'.removesuffix('.0'):>{w}}"
                                              for r in rows))
    return "\n".join(lines)


def measure(sizes, big: int = 10_000, work: Path | None = None, keep: bool = False, json_file: Path | None = None) -> dict:
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="rs-scale-")) if own else Path(work)
    rows = []
    res: dict = {"sizes": list(sizes), "big": big, "search": SEARCH, "rows": rows}
    try:
        for n in sizes:
            rows.append(measure_size(n, big, work, keep))
            res.update(summarize(rows))
            if json_file:
                Path(json_file).write_text(json.dumps(res, indent=1))
    finally:
        if own and not keep:
            shutil.rmtree(work, ignore_errors=True)
    res["table"] = table(rows, res)
    if json_file:
        Path(json_file).write_text(json.dumps(res, indent=1))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated review counts")
    ap.add_argument("--big", type=int, default=10_000, help="reviews of the one big product (every size)")
    ap.add_argument("--json", help="write every figure (seconds, MiB) to this file")
    ap.add_argument("--work", help="work folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep catalogues and databases")
    ap.add_argument("--window", help=argparse.SUPPRESS)  # internal: the per-size window process on this DB
    args = ap.parse_args(argv)
    if args.window:
        window_process(Path(args.window), Path(args.json))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(n < args.big for n in sizes):
        raise SystemExit(f"every size must be at least --big ({args.big})")
    res = measure(sizes, args.big, Path(args.work) if args.work else None, args.keep,
                  Path(args.json) if args.json else None)
    print()
    print(res["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

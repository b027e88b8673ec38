"""Soak: the real main window driven through thousands of user actions; memory and object counts.

A moderator's day, compressed: on a store holding the bundled sample (scored by the starter
model), the window is driven through ``--actions`` actions drawn (seeded) from: move to the
next/previous review, set a corrected label (keys 0-4), flag with a kind, undo, redo, sort on a
column, search the review text, switch product, open and reload the disagreement queue; plus
one re-import of the sample and one full rescore (a real ``python -m engine score --all``)
half-way through. After each action the driver waits until the window is idle again (no job
queued, no page loading), so every action's database work, reloads and repaints happen.

Reported (printed and, with --json, written), all measured in this run:
- RSS after the warm-up (the first ``--warmup`` actions), the peak RSS after it, and the growth
  (goal <= 5 %);
- live ``gui.workers.Job`` objects, QObject wrappers and callback-table entries at the start of
  the measured part and at the end (goal: back to the start);
- the error dialogs the app showed (answered with OK by the driver), with their texts;
- whether the process ended normally (the driver runs in a child process: an abort shows as a
  signal exit code; goal 0 aborts over ``--runs`` runs).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.soak [--actions 5000] [--runs 1] [--json OUT]

Asserts nothing (benchmarks print; tests assert).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def live_counts() -> dict:
    from PySide6.QtCore import QObject

    from gui.workers import Job

    gc.collect()
    objs = gc.get_objects()
    return {"jobs": sum(isinstance(o, Job) for o in objs), "qobjects": sum(isinstance(o, QObject) for o in objs)}


# ------------------------------------------------------------------------------ the driven window


def drive(actions: int, warmup: int, seed: int, db_dir: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["REVIEWSCOPE_DATA_DIR"] = str(db_dir / "userdata")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from gui.importing import sample_catalogue
    from gui.settings import Settings
    from gui.state.columns import REVIEW_COLUMNS
    from gui.state.flag_draft import FlagDraft
    from gui.widgets.qt_main_window import QtMainWindow
    from storage.records import FLAG_KINDS

    from PySide6.QtWidgets import QMessageBox

    app = QApplication.instance() or QApplication([])
    dialogs: list[str] = []

    def answer(box) -> int:  # nobody is there to click: note what the user would have read
        dialogs.append(f"{box.windowTitle()}: {box.text()}")
        return int(QMessageBox.StandardButton.Ok)

    QMessageBox.exec = answer
    window = QtMainWindow(Settings.at(db_dir / "settings.ini"), import_sample_when_empty=True)
    window.resize(1280, 800)
    window.show()

    def idle() -> bool:
        return (window.store.db is not None and window.product_model.rowCount() > 0
                and window.app_state.current_product_pk is not None and not window.store.busy
                and not window.review_model.is_loading and not window.importer.running
                and not window.scoring.busy)

    def settle(limit_s: float = 3600.0) -> None:  # a hang detector: first-launch scoring on busy cores is slow
        t0 = time.monotonic()
        while not idle():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if time.monotonic() - t0 > limit_s:
                raise RuntimeError("the window did not become idle (a hang)")
        app.processEvents()

    window.open_database(str(db_dir / "soak.db"))
    settle()  # imported the sample and scored it with the starter model (first launch)
    rng = random.Random(seed)
    sortable = [c.key for c in REVIEW_COLUMNS if c.order_by is not None]
    words = ["great", "taste", "price", "love", "gift", "bad", "coffee", ""]

    def product_pks() -> list[int]:
        return list(window.product_model._row_of)  # the products on screen (the model's index)

    row = [0]

    def navigate(step: int) -> None:
        n = window.review_model.rowCount()
        if n:
            row[0] = (row[0] + step) % n
            window.app_state.current_review_pk = window.review_model.review(row[0]).id

    kinds = list(FLAG_KINDS)
    plan = [
        ("next", 20, lambda: navigate(1)),
        ("previous", 8, lambda: navigate(-1)),
        ("label", 14, lambda: window.triage.set_label(rng.randrange(5))),
        ("flag", 6, lambda: window.triage.save_flag(FlagDraft(kind=rng.choice(kinds)))),
        ("undo", 8, window.triage.undo),
        ("redo", 5, window.triage.redo),
        ("sort", 8, lambda: setattr(window.table_state, "sort", (rng.choice(sortable), rng.random() < 0.5))),
        ("search", 7, lambda: window.table_state.update_filter(text=rng.choice(words))),
        ("product", 8, lambda: window.product_list.select_product(rng.choice(product_pks()))),
        ("queue", 4, lambda: (window.queue_dock.show(), window.queue_dock.raise_(), window.queue.reload())),
    ]
    names = [p[0] for p in plan]
    weights = [p[1] for p in plan]
    done: dict[str, int] = {n: 0 for n in names}
    done["import"] = done["rescore"] = 0
    before = after = None
    rss_warm = peak = 0.0
    t_start = time.monotonic()
    for i in range(actions):
        if i == warmup:
            settle()
            before = live_counts()
            rss_warm = peak = rss_mib()
        if i == warmup + (actions - warmup) // 3:
            window.import_paths([str(sample_catalogue())])
            done["import"] += 1
        elif i == warmup + 2 * (actions - warmup) // 3:
            window.scoring.score(window.store.db.url, rescore_all=True, on_done=lambda _s: window.reload_all())
            done["rescore"] += 1
        else:
            k = rng.choices(range(len(plan)), weights)[0]
            if window.app_state.current_review_pk is None and names[k] in ("label", "flag"):
                navigate(0)
            plan[k][2]()
            done[names[k]] += 1
        settle()
        if i >= warmup and i % 25 == 0:
            peak = max(peak, rss_mib())
        if (i + 1) % 250 == 0:
            print(f"  {i + 1} actions, {time.monotonic() - t_start:.0f} s, RSS {rss_mib():.0f} MiB", file=sys.stderr, flush=True)
    settle()
    peak = max(peak, rss_mib())
    seconds = time.monotonic() - t_start
    after = live_counts()  # at the same point as `before`: the window open and idle, after gc
    window.close()
    window.deleteLater()
    return {
        "actions": actions, "warmup": warmup, "seconds": round(seconds, 1), "per_kind": done,
        "rss_after_warmup_mib": round(rss_warm, 1), "rss_peak_mib": round(peak, 1),
        "rss_growth_pct": round(100 * (peak - rss_warm) / rss_warm, 2) if rss_warm else None,
        "live_at_warmup": before, "live_at_end": after,
        "error_dialogs": len(dialogs), "error_dialog_texts": sorted(set(dialogs))[:10],
    }


# ------------------------------------------------------------------------------ parent: runs and report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--actions", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--runs", type=int, default=1, help="child processes, each a full soak (aborts are counted)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:  # inside the child: drive and write the figures
        with tempfile.TemporaryDirectory(prefix="reviewscope-soak-") as d:
            out = drive(args.actions, args.warmup, args.seed, Path(d))
        args.child.write_text(json.dumps(out))
        return 0

    results, aborts = [], 0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="reviewscope-soak-out-") as d:
            out_file = Path(d) / "out.json"
            env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"), "HF_HUB_OFFLINE": "1"}
            proc = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--actions", str(args.actions),
                                   "--warmup", str(args.warmup), "--seed", str(args.seed + run), "--child", str(out_file)],
                                  cwd=ROOT, env=env)
            if proc.returncode != 0 or not out_file.exists():
                aborted = proc.returncode < 0  # killed by a signal: SIGABRT, SIGSEGV...
                aborts += aborted
                print(f"run {run + 1}: the driven app ended with exit code {proc.returncode}"
                      + (" (an abort)" if aborted else " (an error in the driver: see above)"))
                continue
            res = json.loads(out_file.read_text())
        results.append(res)
        print(f"run {run + 1}: {res['actions']} actions in {res['seconds']} s ({res['per_kind']})")
        print(f"  RSS after warm-up {res['rss_after_warmup_mib']} MiB, peak after it {res['rss_peak_mib']} MiB: "
              f"growth {res['rss_growth_pct']} % (goal <= 5 %)")
        print(f"  live at the end of warm-up {res['live_at_warmup']}, at the end {res['live_at_end']} "
              f"(goal: back to the start)")
        print(f"  error dialogs shown: {res['error_dialogs']} {res['error_dialog_texts']}")
    print(f"aborts: {aborts} of {args.runs} runs (goal 0)")
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "aborts": aborts}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

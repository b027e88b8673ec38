"""First launch on a fresh profile: seconds from process start until the bundled sample's
reviews, their scores and the disagreement queue are on screen (offscreen Qt, real window,
real engine), with the starter model's shipped scores and, as the baseline in the same run,
without them (the starter scores the sample in an `engine score` process).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.first_launch [--repeat 2]

Each launch is a whole new process on a new profile (settings file and database). Prints the
medians and the ratio baseline / shipped. It asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, os, sys, time
t0 = float(sys.argv[1])
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from PySide6.QtWidgets import QApplication
from gui.models_view import operations
from gui.app import settle_heap
from gui.settings import Settings
from gui.widgets.qt_main_window import QtMainWindow
if sys.argv[4] == "baseline":
    operations.apply_shipped_scores = lambda db: 0  # as before the scores were shipped
app = QApplication([])
tmp = Path(sys.argv[2])
w = QtMainWindow(Settings.at(tmp / "settings.ini"), import_sample_when_empty=True)
w.resize(1280, 800)
w.show()
settle_heap()  # as gui.app.main does
w.open_database(str(tmp / "sample.db"))
marks = {}
end = time.time() + 600
while time.time() < end and len(marks) < 4:
    app.processEvents()
    time.sleep(0.005)
    now = time.time() - t0
    rows = w.review_model.rowCount()
    if "table" not in marks and rows:
        marks["table"] = now
    if "scores" not in marks and rows and w.review_model.review(0).score is not None:
        marks["scores"] = now
    if "queue" not in marks and w.queue.table_model.rowCount():
        marks["queue"] = now
    if "idle" not in marks and "scores" in marks and not w.scoring.busy and not w.store.busy:
        marks["idle"] = now
w.close()
print(json.dumps(marks))
'''


def launch(mode: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="rs-first-") as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
        out = subprocess.run([sys.executable, "-c", CHILD, repr(time.time()), tmp, str(ROOT), mode],
                             capture_output=True, text=True, env=env, timeout=900, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def measure(repeat: int = 2) -> dict:
    """Every launch's marks per mode ("shipped", "baseline") and their medians."""
    runs: dict[str, list[dict]] = {"shipped": [], "baseline": []}
    for _ in range(repeat):
        for mode in runs:  # interleaved: a noisy minute hits both
            runs[mode].append(launch(mode))
    med = {mode: {k: statistics.median(r[k] for r in rs) for k in ("table", "scores", "queue", "idle")}
           for mode, rs in runs.items()}
    return {"runs": runs, "median": med, "repeat": repeat}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    med = measure(args.repeat)["median"]
    print(f"first launch on a fresh profile, bundled sample, medians of {args.repeat} (s from process start):")
    for mode, m in med.items():
        label = "shipped starter scores" if mode == "shipped" else "baseline: engine score"
        print(f"  {label:24s} table {m['table']:6.2f}  scores {m['scores']:6.2f}  queue {m['queue']:6.2f}  "
              f"all work done {m['idle']:6.2f}")
    print(f"scores on screen: {med['baseline']['scores'] / med['shipped']['scores']:.1f}x sooner "
          f"({med['shipped']['scores']:.2f} s vs {med['baseline']['scores']:.2f} s; goal <= 5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

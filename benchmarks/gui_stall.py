"""Longest GUI event-loop stall while the engine works (offscreen Qt, the real main window).

A QTimer heartbeat (every --interval ms) runs in the GUI process; a stall is the gap
between two beats minus the interval. Measured in three phases on the same open catalogue,
while a driver selects another product and re-sorts the table every 250 ms (the store's
worker threads load pages meanwhile, as when a user clicks around):

1. ``pages``: only the page loads (no engine process);
2. ``score``: the window's own scoring controller runs ``python -m engine score --all`` in
   a QProcess (JSON progress read by the GUI), until it has finished and the window reloaded;
3. ``train`` (unless --no-train): ``python -m engine train`` (cpu-quick, 1 epoch, a few
   steps) in a QProcess, the way the training panel runs it.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.gui_stall --db FILE [--json OUT]

The catalogue needs an active model (``engine score`` scores with it). Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


class Heartbeat:
    def __init__(self, interval_ms: int):
        self.interval = interval_ms / 1000
        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def start(self):
        self.beats = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        self.beats.append(time.perf_counter())
        gaps = [b - a for a, b in zip(self.beats, self.beats[1:])]
        stalls = sorted(max(0.0, g - self.interval) for g in gaps)
        return {
            "beats": len(gaps), "seconds": self.beats[-1] - self.beats[0],
            "max_stall_ms": 1000 * stalls[-1] if stalls else 0.0,
            "p99_stall_ms": 1000 * stalls[int(0.99 * (len(stalls) - 1))] if stalls else 0.0,
            "stalls_over_50ms": sum(s > 0.05 for s in stalls),
            "stalls_over_100ms": sum(s > 0.1 for s in stalls),
        }


def spin(app, cond, timeout: float = 600.0, driver=None) -> None:
    """Run the Qt event loop (idle-waiting, as the app does) until ``cond()``; ``driver()``
    is called from a 25 ms timer."""
    if cond():
        return
    loop = QEventLoop()
    end = time.perf_counter() + timeout
    state = {"timeout": False}

    def check():
        if driver is not None:
            driver()
        if cond():
            loop.quit()
        elif time.perf_counter() > end:
            state["timeout"] = True
            loop.quit()

    timer = QTimer()
    timer.setInterval(25)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if state["timeout"]:
        raise TimeoutError("timed out")


def make_driver(window, period: float = 0.25):
    from gui.state.columns import COLUMN_INDEX

    pks = [p.id for p in window.product_model._products][:200]
    state = {"next": time.perf_counter() + period, "i": 0, "clicks": 0}
    sorts = [COLUMN_INDEX["votes"], COLUMN_INDEX["score"], COLUMN_INDEX["date"]]

    def drive():
        now = time.perf_counter()
        if now < state["next"] or not pks:
            return
        state["next"] = now + period
        i = state["i"] = state["i"] + 1
        if i % 2:
            window.product_list.select_product(pks[i % len(pks)])
        else:
            window.review_model.sort(sorts[(i // 2) % len(sorts)])
        state["clicks"] += 1

    return drive, state


def measure(db_file: str, interval_ms: int = 5, pages_s: float = 8.0, train: bool = True, train_steps: int = 15) -> dict:
    from gui.app import settle_heap
    from gui.settings import Settings
    from gui.training.process import QtEngineProcess
    from gui.widgets.qt_main_window import QtMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    url = f"sqlite:///{Path(db_file).resolve()}"
    settings = Settings.at(Path(db_file).with_suffix(".stall.ini"))
    window = QtMainWindow(settings, import_sample_when_empty=False)
    window.show()
    settle_heap()  # as gui.app.main does
    window.open_database(url)
    spin(app, lambda: window.review_model.rowCount() > 0 and window.product_model.rowCount() > 0)
    spin(app, lambda: not window.store.busy)
    out: dict = {"interval_ms": interval_ms}
    hb = Heartbeat(interval_ms)

    # 1. page loads only
    drive, st = make_driver(window)
    hb.start()
    end = time.perf_counter() + pages_s
    spin(app, lambda: time.perf_counter() > end, driver=drive)
    spin(app, lambda: not window.store.busy)
    out["pages"] = {**hb.stop(), "clicks": st["clicks"]}
    print(f"pages: {out['pages']}", flush=True)

    # 2. engine score in the window's QProcess
    drive, st = make_driver(window)
    done = {"status": None}
    hb.start()
    t0 = time.perf_counter()
    window.scoring.score(url, rescore_all=True, on_done=lambda status: done.__setitem__("status", status))
    spin(app, lambda: done["status"] is not None, driver=drive)
    engine_s = time.perf_counter() - t0
    spin(app, lambda: not window.store.busy, driver=drive)
    out["score"] = {**hb.stop(), "clicks": st["clicks"], "engine_s": engine_s, "status": str(done["status"])}
    print(f"score: {out['score']}", flush=True)

    # 3. engine train in a QProcess, as the training panel starts it
    if train:
        proc = QtEngineProcess(parent=window)
        finished = {"code": None}
        proc.finished.connect(lambda code, _tail: finished.__setitem__("code", code))
        drive, st = make_driver(window)
        hb.start()
        t0 = time.perf_counter()
        proc.start(["train", "--db", url, "--recipe", "cpu-quick", "--epochs", "1", "--max-steps", str(train_steps),
                    "--name", f"stall-bench-{int(time.time())}", "--json-progress", "--device", "cpu"])
        spin(app, lambda: finished["code"] is not None, driver=drive)
        out["train"] = {**hb.stop(), "clicks": st["clicks"], "engine_s": time.perf_counter() - t0, "exit": finished["code"]}
        print(f"train: {out['train']}", flush=True)
    window.close()
    app.processEvents()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="SQLite file of a catalogue with an active model")
    ap.add_argument("--interval", type=int, default=5, help="heartbeat period, ms")
    ap.add_argument("--pages-seconds", type=float, default=8.0)
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--train-steps", type=int, default=15)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    out = measure(args.db, args.interval, args.pages_seconds, not args.no_train, args.train_steps)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    for phase in ("pages", "score", "train"):
        if phase in out:
            r = out[phase]
            print(f"{phase:>6}: longest stall {r['max_stall_ms']:.0f} ms, p99 {r['p99_stall_ms']:.1f} ms, "
                  f"{r['stalls_over_100ms']} stalls > 100 ms in {r['seconds']:.1f} s ({r['clicks']} clicks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

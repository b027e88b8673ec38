"""Run the README's test command N times in a row while other processes keep every core busy.

The suite must be green every time on a loaded 2-core machine (issue: a flaky CI blocks every
landing). This script starts one busy-loop process per core (``--burners``, default: the core
count), runs the test command ``--runs`` times, and prints, per run, the exit code, the summary
line pytest printed and the wall time, then a tally. Output of each run goes to
``--logs`` (default: a temporary folder) so a failure can be read afterwards.

    .venv/bin/python -m benchmarks.suite_loop [--runs 10] [--burners 2] [--logs DIR] [-- PYTEST ARGS...]

Asserts nothing; its exit code is the number of runs that failed (0: all green).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _burn() -> None:  # pragma: no cover - a busy loop in a child process
    x = 0
    while True:
        x = (x * 31 + 7) % 1_000_003


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--logs", type=Path, default=None)
    ap.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")
    args = ap.parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="reviewscope-suite-loop-"))
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args]
    burners = [mp.Process(target=_burn, daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    print(f"{args.burners} busy-loop processes started; running `{' '.join(cmd[1:])}` {args.runs} times; logs in {logs}",
          flush=True)
    failed = 0
    try:
        for run in range(1, args.runs + 1):
            log = logs / f"run-{run:02d}.log"
            t0 = time.monotonic()
            with open(log, "w") as fh:
                rc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
            seconds = time.monotonic() - t0
            text = log.read_text(errors="replace")
            summary = next((line.strip("= ") for line in reversed(text.splitlines())
                            if re.search(r"\d+ (passed|failed|error)", line)), "no summary (aborted?)")
            aborted = "Fatal Python error" in text or rc < 0
            failed += rc != 0
            print(f"run {run:2d}: exit {rc}{' ABORT' if aborted else ''}  {seconds:6.0f} s  {summary}", flush=True)
    finally:
        for b in burners:
            b.terminate()
    print(f"{args.runs - failed} of {args.runs} runs green under {args.burners} busy cores")
    return failed


if __name__ == "__main__":
    sys.exit(main())

"""The performance suite: every figure of issue 9 next to its baseline, measured in the same
run, then docs/performance.md and the scaling plots (docs/perf_*.png).

    .venv/bin/python -m benchmarks            # everything on CPU (~10-15 min on 2 cores)
    .venv/bin/python -m benchmarks --quick    # smoke run, small sizes (~3 min); report to the work dir
    .venv/bin/python -m benchmarks --gpu      # the GPU part only (a machine with CUDA), then the report
    .venv/bin/python -m benchmarks --report   # rewrite the report from the saved results

Sections (``--only a,b``): import, scoring, gui_open, gui_stall, forward (MM-SS forward vs bare
MiniLM, diagnostic), profile (py-spy of the first paint and of cached scoring); scale (issue 17:
benchmarks/scale.py at 10k, 100k and 1M reviews, 2k and 10k with --quick) runs only when asked
(``--only scale``; a full run keeps its last results in the report). Results are
saved to benchmarks/results/{cpu,gpu}.json (a --quick run: to its work folder), so that a
GPU run on another machine and a CPU run here make one report.

Torch runs on one thread in every measured process (the machines are shared: a ratio of
two single-thread runs in rotation is steadier than wall times of runs that fight for cores).
Nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .common import PYTHON, ROOT, env, find_data, section

RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
SECTIONS = ("import", "first_launch", "scoring", "gui_open", "gui_stall", "forward", "profile", "scale")
OPTIONAL = {"scale"}  # only with --only


def run_import(work: Path, quick: bool) -> dict:
    from . import import_speed

    data = find_data()
    section("import of ../shared/data vs raw sqlite3 executemany")
    m = import_speed.measure(data, repeat=3 if quick else 7, tmp=work)
    print(f"  {m['reviews']:,} reviews; ours {m['ours']}, raw parse+executemany {m['raw_parse']}, raw executemany {m['raw_only']}")
    sizes = [1_000, 3_000, 10_000] if quick else [1_000, 10_000, 100_000]
    section(f"import scaling {sizes}")
    rows = import_speed.scaling(sizes, work, data, repeat=1 if quick else 3)
    for r in rows:
        print(f"  {r['reviews']:>7,}: ours {r['ours_s']:.3f} s, raw parse+executemany {r['raw_parse_s']:.3f} s, "
              f"raw executemany {r['raw_only_s']:.3f} s")
    section("whole processes: reviewscope-engine import of ../shared/data x5 vs a bare python process")
    proc = import_speed.measure_process(data, copies=5, repeat=3 if quick else 5)
    print(f"  {proc['reviews']:,} reviews; ours {proc['ours']}, bare {proc['bare']}")
    return {"corpus": m, "scaling": rows, "process": proc}


def run_sub(module: str, args: list[str], timeout: float, threads: int = 1) -> tuple[dict, str]:
    out_json = Path(tempfile.mkstemp(suffix=".json")[1])
    try:
        proc = subprocess.run([PYTHON, "-m", module, *args, "--json", str(out_json)], cwd=ROOT, env=env(threads),
                              capture_output=True, text=True, timeout=timeout)
        text = "\n".join(ln for ln in (proc.stdout + proc.stderr).splitlines() if "propagateSizeHints" not in ln)
        if proc.returncode != 0:
            raise RuntimeError(f"{module} failed ({proc.returncode}):\n{text[-3000:]}")
        return json.loads(out_json.read_text()), text
    finally:
        out_json.unlink(missing_ok=True)


def run_gui_open(quick: bool) -> dict:
    n, big = (20_000, 5_000) if quick else (100_000, 10_000)
    section(f"GUI: open {n:,} reviews (first paint), sort {big:,} rows")
    res, text = run_sub("benchmarks.gui_open", ["--reviews", str(n), "--big", str(big), "--repeat", "3", "--trace"], 1800)
    print(text[-2500:])
    return res


def run_scale(quick: bool) -> dict:
    sizes, big = ("2000,10000", "1000") if quick else ("10000,100000,1000000", "10000")  # issue 17: 10k / 100k / 1M
    section(f"scale: import, open, sort, search, queue at {sizes} reviews")
    res, text = run_sub("benchmarks.scale", ["--sizes", sizes, "--big", big], 3600)
    print(res.get("table") or text[-3000:])
    return res


def run_gui_stall(work: Path, quick: bool) -> dict:
    db = work / ("syn3000.db" if quick else "syn10000.db")
    if not db.exists():
        raise RuntimeError(f"{db} is missing: the scoring section makes it (run it first)")
    section(f"GUI: longest event-loop stall while the engine scores / trains ({db.name})")
    args = ["--db", str(db), "--pages-seconds", "5" if quick else "8"]
    if quick:
        args.append("--no-train")
    res, text = run_sub("benchmarks.gui_stall", args, 1800)
    print(text[-1500:])
    return res


def run_forward(quick: bool) -> dict:
    section("MM-SS forward vs bare MiniLM forward (diagnostic, benchmarks/model_throughput.py)")
    args = ["--reviews", "64" if quick else "192", "--repeats", "2" if quick else "3", "--threads", "1"]
    proc = subprocess.run([PYTHON, "-m", "benchmarks.model_throughput", *args], cwd=ROOT, env=env(1),
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    text = "\n".join(ln for ln in proc.stdout.splitlines() if ln.strip())
    print(text)
    return {"args": " ".join(args), "output": text}


def py_spy_top(cmd: list[str], timeout: float, filt: tuple[str, ...] = (), n: int = 25) -> dict:
    """Run ``cmd`` under ``py-spy record`` (all threads) and return the functions with the
    most samples (inclusive), as (samples, share, function) rows."""
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        return {"error": "py-spy is not installed (pip install -e '.[bench]')"}
    raw = Path(tempfile.mkstemp(suffix=".txt")[1])
    try:
        proc = subprocess.run([spy, "record", "--rate", "250", "--threads", "--format", "raw", "-o", str(raw), "--", *cmd],
                              cwd=ROOT, env=env(1), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not raw.stat().st_size:
            return {"error": (proc.stderr or proc.stdout)[-1500:]}
        from collections import Counter

        inc: Counter = Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, count = line.rsplit(" ", 1)
            frames = stack.split(";")
            if filt and not any(f in stack for f in filt):
                continue
            c = int(count)
            total += c
            seen = set()
            for f in frames[1:]:
                name = f.split(" (")[0]
                where = f.split(" (")[1].split(":")[0].split("/")[-1] if " (" in f else ""
                key = f"{name} ({where})"
                if key not in seen:
                    seen.add(key)
                    inc[key] += c
        return {"samples": total, "top": [(c, c / max(total, 1), k) for k, c in inc.most_common(n + 12)]}
    finally:
        raw.unlink(missing_ok=True)


def run_profile(work: Path, quick: bool) -> dict:
    section("profiles (py-spy)")
    out = {}
    db = work / ("syn3000.db" if quick else "syn10000.db")
    if db.exists():
        out["cached_scoring"] = py_spy_top([PYTHON, "-m", "benchmarks._worker", "score", "--db", str(db), "--all",
                                            "--batch", "32", "--threads", "1"], 900, filt=("run_score",))
        out["cached_scoring"]["what"] = f"engine score --all of {db.name} (features cached), one thread"
    n = 20_000 if quick else 100_000
    out["first_paint"] = py_spy_top([PYTHON, "-m", "benchmarks.gui_open", "--reviews", str(n), "--big", "10000",
                                     "--repeat", "2"], 1800, filt=("time_window", "Store.call", "Worker.run"), n=30)
    out["first_paint"]["what"] = (f"gui_open --reviews {n}: the window opens and sorts (main thread) plus every "
                                  "store worker job (the catalogue generation and import are left out)")
    for k, v in out.items():
        print(f"  {k}: {v.get('samples', 0)} samples; " + "; ".join(f"{c} {name}" for c, _, name in v.get("top", [])[:8]))
    return out


def machine() -> dict:
    import torch

    return {"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(),
            "torch": torch.__version__, "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "git": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, fewer repeats (a smoke run)")
    ap.add_argument("--gpu", action="store_true", help="run the GPU part only (needs CUDA)")
    ap.add_argument("--report", action="store_true", help="only rewrite the report from saved results")
    ap.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--work", help="work folder (default: a temporary one)")
    ap.add_argument("--out", help="where the report goes (default: docs/; --quick: the work folder)")
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    from . import report

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="rs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out) if args.out else (work / "report" if args.quick else DOCS)
    results_dir = work if args.quick else RESULTS
    results_dir.mkdir(parents=True, exist_ok=True)

    if args.gpu:
        from . import gpu

        section("GPU: full fine-tune training step vs bare MiniLM forward + backward")
        res = {"machine": machine(), "gpu": gpu.measure("cuda", steps=5 if args.quick else 10, rounds=3)}
        (results_dir / "gpu.json").write_text(json.dumps(res, indent=1))
        g = res["gpu"]
        print(f"  {g['device']}: {g['mmss_samples_per_s']:.0f} vs {g['bare_samples_per_s']:.0f} samples/s = "
              f"{g['ratio']:.2f}x; peak {g['peak_mb']}")
    elif not args.report:
        only = (set(args.only.split(",")) if args.only
                else set(SECTIONS) - OPTIONAL - ({"profile"} if args.no_profile else set()))
        if args.quick and not args.only:
            only -= {"forward"}
        unknown = only - set(SECTIONS)
        if unknown:
            raise SystemExit(f"unknown section(s): {', '.join(sorted(unknown))}")
        path = results_dir / "cpu.json"
        res = json.loads(path.read_text()) if path.exists() else {}
        if not args.only:  # a full run replaces every section but the optional ones it does not run
            res = {k: v for k, v in res.items() if k in OPTIONAL}
        res["machine"] = machine()
        res["quick"] = args.quick
        t_all = time.perf_counter()
        for name in SECTIONS:
            if name not in only:
                continue
            t = time.perf_counter()
            try:
                if name == "import":
                    res["import"] = run_import(work, args.quick)
                elif name == "first_launch":
                    from . import first_launch

                    section("first launch on a fresh profile: shipped starter scores vs engine score")
                    res["first_launch"] = first_launch.measure(repeat=1 if args.quick else 3)
                    print(f"  medians {res['first_launch']['median']}")
                elif name == "scoring":
                    from . import scoring

                    res["scoring"] = scoring.run(work, args.quick)
                elif name == "gui_open":
                    res["gui_open"] = run_gui_open(args.quick)
                elif name == "gui_stall":
                    res["gui_stall"] = run_gui_stall(work, args.quick)
                elif name == "forward":
                    res["forward"] = run_forward(args.quick)
                elif name == "profile":
                    res["profile"] = run_profile(work, args.quick)
                elif name == "scale":
                    res["scale"] = run_scale(args.quick)
                res.setdefault("seconds", {})[name] = time.perf_counter() - t
            except Exception as exc:  # one broken section must not lose the others
                traceback.print_exc()
                res.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"[:3000]
            path.write_text(json.dumps(res, indent=1))  # after every section
        res["seconds_total"] = sum(res.get("seconds", {}).values())  # sections kept from earlier runs too
        path.write_text(json.dumps(res, indent=1))
        print(f"\nsuite: {(time.perf_counter() - t_all) / 60:.1f} min; results in {path}")

    cpu = results_dir / "cpu.json"
    gpu_path = results_dir / "gpu.json"
    if not gpu_path.exists() and (RESULTS / "gpu.json").exists():
        gpu_path = RESULTS / "gpu.json"
    md = report.write(out_dir, json.loads(cpu.read_text()) if cpu.exists() else {},
                      json.loads(gpu_path.read_text()) if gpu_path.exists() else None)
    print(f"report: {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

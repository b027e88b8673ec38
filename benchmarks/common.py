"""Shared helpers of the benchmark suite: timing in rotation, subprocess workers, peak memory,
synthetic catalogues built from ../shared/data.

Nothing here asserts a time: figures are printed and written to the report.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def find_data() -> Path:
    """The team's development corpus (``../shared/data``)."""
    for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if (p / "reviews.jsonl").is_file():
            return p.resolve()
    raise SystemExit("../shared/data/reviews.jsonl not found")


def median(xs) -> float:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def rotate(fns: dict[str, Callable[[], Any]], repeats: int, warmup: bool = False) -> dict[str, list[float]]:
    """Seconds of each variant, the variants run in rotation (A B C A B C ...) so that a
    change of load on this shared machine hits all of them alike."""
    if warmup:
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(repeats):
        names = list(fns)
        names = names[r % len(names):] + names[:r % len(names)]  # a different one goes first each round
        for name in names:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def vm_hwm_mb() -> float | None:
    """Peak resident set size of this process (VmHWM), in MiB; None where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception:
        return None


def env(threads: int = 1) -> dict[str, str]:
    e = dict(os.environ)
    e.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "QT_QPA_PLATFORM": e.get("QT_QPA_PLATFORM", "offscreen"),
              "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false",
              "PYTHONPATH": str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")})
    return e


def worker(*args: str, threads: int = 1, timeout: float = 1800) -> dict:
    """Run ``python -m benchmarks._worker ARGS`` in a fresh process; its last stdout line is
    a JSON object, returned with ``process_s`` (the whole process, start-up included)."""
    t0 = time.perf_counter()
    proc = subprocess.run([PYTHON, "-m", "benchmarks._worker", *args, "--threads", str(threads)], cwd=ROOT,
                          env=env(threads), capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1])
    out["process_s"] = wall
    return out


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


# --------------------------------------------------------------------------- catalogues


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def subset_catalogue(out: Path, n_reviews: int, data: Path | None = None, seed: int = 0) -> int:
    """Whole products of ../shared/data, drawn at random (seeded) from every source, until
    at least ``n_reviews`` reviews; written as a JSONL catalogue folder. Returns the count."""
    data = data or find_data()
    products = read_jsonl(data / "products.jsonl")
    reviews = read_jsonl(data / "reviews.jsonl")
    by_p: dict[str, list[dict]] = {}
    for r in reviews:
        by_p.setdefault(r["product_id"], []).append(r)
    rng = random.Random(seed)
    order = [p for p in products if by_p.get(p["product_id"])]
    rng.shuffle(order)
    chosen, n = [], 0
    for p in order:
        if n >= n_reviews:
            break
        chosen.append(p)
        n += len(by_p[p["product_id"]])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "products.jsonl", "w", encoding="utf-8") as fh:
        for p in chosen:
            fh.write(json.dumps(p) + "\n")
    with open(out / "reviews.jsonl", "w", encoding="utf-8") as fh:
        for p in chosen:
            for r in by_p[p["product_id"]]:
                fh.write(json.dumps(r) + "\n")
    return n


def synthetic_catalogue(out: Path, n_reviews: int, data: Path | None = None, seed: int = 0,
                        per_product: int = 20) -> int:
    """A catalogue of exactly ``n_reviews`` reviews built from ../shared/data texts.

    Products copy a real product's title, description and category (cycling through them);
    each review copies a real review's title, text, rating, votes and time (cycling through
    the corpus in a seeded order), under new ids. So every text is one the corpus has:
    catalogues larger than the corpus (11,412 reviews) repeat texts, and a feature cache
    filled from the corpus serves them all (say so where it matters)."""
    data = data or find_data()
    products = read_jsonl(data / "products.jsonl")
    reviews = read_jsonl(data / "reviews.jsonl")
    rng = random.Random(seed)
    rng.shuffle(reviews)
    n_products = max(1, -(-n_reviews // per_product))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "products.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n_products):
            src = products[i % len(products)]
            fh.write(json.dumps({"product_id": f"S{i:07d}", "title": src.get("title", ""),
                                 "description": src.get("description", ""), "category": src.get("category", "")}) + "\n")
    with open(out / "reviews.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n_reviews):
            src = reviews[i % len(reviews)]
            fh.write(json.dumps({"review_id": f"s{i:08d}", "product_id": f"S{i // per_product:07d}",
                                 "title": src.get("title", ""), "text": src["text"], "rating": src.get("rating"),
                                 "helpful_votes": src["helpful_votes"], "total_votes": src.get("total_votes"),
                                 "time": src.get("time")}) + "\n")
    return n_reviews


def import_folder(db_path: Path, folder: Path):
    """A fresh SQLite database at ``db_path`` with ``folder`` imported (returns the report)."""
    from storage import open_database
    from storage.importers import import_path

    db = open_database(str(db_path))
    try:
        return import_path(db, folder)
    finally:
        db.dispose()


def register_default_model(db_path: Path, work: Path) -> str:
    """Register and activate the default CPU model in ``db_path``: the bundled starter model
    when there is one, else an untrained model of the same recipe (cpu-quick; speed does not
    depend on the weights). Returns a description."""
    from engine.jobs.common import ensure_starter_model
    from resources import STARTER_MODEL_DIR
    from storage import open_database
    from storage import repository as repo

    db = open_database(str(db_path))
    try:
        if (STARTER_MODEL_DIR / "model.safetensors").exists():
            with db.begin() as s:
                if repo.list_model_versions(s):
                    return "already registered"
            ensure_starter_model(db)
            return "bundled starter model (resources/models/starter)"
        import torch

        from engine.checkpoint import save_checkpoint
        from engine.config import flat_settings
        from engine.jobs.recipes import build_config
        from engine.model.mmss import MMSSModel

        torch.manual_seed(0)
        cfg, _train = build_config("cpu-quick", "cpu")
        model = MMSSModel(cfg)
        target = work / "models" / "bench-cpu-quick"
        sha = save_checkpoint(target, model, cfg, {"note": "untrained, for benchmarks"})
        with db.begin() as s:
            repo.register_model_version(s, "bench-cpu-quick", str(target), sha, config=flat_settings(cfg, _train), activate=True)
        return "untrained cpu-quick model (no bundled starter model found)"
    finally:
        db.dispose()


def link_cache(src_db: Path, dst_db: Path) -> None:
    """Let ``dst_db`` use the feature cache of ``src_db`` (cache folders are per database)."""
    src = src_db.parent / f"{src_db.stem}-cache"
    dst = dst_db.parent / f"{dst_db.stem}-cache"
    src.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        dst.symlink_to(src, target_is_directory=True)

"""Scoring figures, each next to its baseline measured in the same run (CPU, one thread):

1. throughput: ``engine score`` (default model, batch 32, cold feature cache) on a subset
   of ../shared/data next to a bare MiniLM tokenize + forward of the same review texts
   (same truncation, batches of 32 in catalogue order; also length-sorted), in rotation;
2. rescoring the unchanged ../shared/data catalogue from the feature cache next to its
   cold scoring (empty cache), both at ``engine score``'s default batch (64): time of the
   scoring job (model load included, interpreter start and ``import torch`` not; the whole
   process time is reported too);
3. scaling: scoring time and peak memory at 1k / 10k / 100k reviews (synthetic catalogues
   of corpus texts; their features come from the cache that (2) filled: say so);
4. peak memory (VmHWM) of the scoring process next to the model + one batch.

    .venv/bin/python -m benchmarks.scoring [--quick] [--work DIR]

Every run is a fresh process (benchmarks/_worker.py). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from .common import (find_data, import_folder, link_cache, median, register_default_model, section,
                     subset_catalogue, synthetic_catalogue, worker)


RESCORE_BATCH = 64  # `engine score`'s default: rescoring is measured as a user runs it


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of a SQLite database (the backup API, WAL-safe)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    with b:
        a.backup(b)
    a.close()
    b.close()
    return dst


def run(work: Path, quick: bool = False, log=print) -> dict:
    data = find_data()
    out: dict = {"quick": quick}
    n_sub = 300 if quick else 1000
    rounds = 1 if quick else 3

    # ------------------------------------------------------------ 1. throughput
    section(f"scoring throughput: cold scoring vs bare MiniLM, ~{n_sub} reviews, batch 32")
    sub = work / "subset"
    n = subset_catalogue(sub, n_sub, data)
    sub_db = work / "sub.db"
    import_folder(sub_db, sub)
    out["model"] = register_default_model(sub_db, work)
    log(f"model: {out['model']}; subset: {n} reviews")
    bare, srt, cold = [], [], []
    for r in range(rounds):
        for v in (["minilm", "cold"] if r % 2 == 0 else ["cold", "minilm"]):
            if v == "minilm":
                m = worker("minilm", "--db", str(sub_db), "--batch", "32", "--sorted")
                bare.append(m["reviews"] / m["bare_s"])
                srt.append(m["reviews"] / m["sorted_s"])
                log(f"  round {r + 1}: bare MiniLM {bare[-1]:.1f} reviews/s (length-sorted {srt[-1]:.1f})")
            else:
                db = copy_db(sub_db, work / f"subcold{r}.db")  # a new database file has an empty cache
                c = worker("score", "--db", str(db), "--all", "--batch", "32")
                cold.append(c)
                log(f"  round {r + 1}: engine score (cold) {c['scored'] / (c['loop_s'] - c['encoder_load_s']):.1f} reviews/s "
                    f"(job {c['job_s']:.1f} s incl. model loads, encoder load {c['encoder_load_s']:.1f} s; "
                    f"misses {c['cache_misses']})")
    ours = median([c["scored"] / (c["loop_s"] - c["encoder_load_s"]) for c in cold])
    out["throughput"] = {
        "reviews": n, "ours_rps": ours, "bare_rps": median(bare), "bare_sorted_rps": median(srt),
        "ratio": ours / median(bare), "ratio_vs_sorted": ours / median(srt), "rounds": rounds,
        "cold_job_s": median([c["job_s"] for c in cold]),
    }
    log(f"throughput ratio (ours / bare MiniLM): {out['throughput']['ratio']:.2f}x "
        f"(vs length-sorted MiniLM {out['throughput']['ratio_vs_sorted']:.2f}x)")

    # ------------------------------------------------------------ 2. cold vs cached rescoring
    if quick:
        full_db = work / "subcold0.db"  # its cache is filled by the cold run above
        cold_full = cold[0]
        n_full = n
        corpus = sub
    else:
        section("rescoring ../shared/data: feature cache vs cold")
        full_db = work / "full.db"
        rep = import_folder(full_db, data)
        register_default_model(full_db, work)
        n_full = rep.reviews_added
        cold_full = worker("score", "--db", str(full_db), "--all", "--batch", str(RESCORE_BATCH), timeout=3600)
        log(f"  cold: {cold_full['job_s']:.1f} s job ({cold_full['process_s']:.1f} s process), "
            f"{cold_full['cache_misses']} misses, peak {cold_full['peak_rss_mb']:.0f} MiB")
        corpus = data
    warm = []
    for r in range(2 if quick else 3):
        w = worker("score", "--db", str(full_db), "--all", "--batch", "32" if quick else str(RESCORE_BATCH))
        warm.append(w)
        log(f"  cached: {w['job_s']:.2f} s job to the scores, then {w.get('highlight_s', 0.0):.2f} s of text highlights "
            f"({w['process_s']:.1f} s process), {w['cache_misses']} misses")
    wj, wp = median([w["job_s"] for w in warm]), median([w["process_s"] for w in warm])
    out["rescore"] = {
        "reviews": n_full, "batch": RESCORE_BATCH if not quick else 32, "catalogue": "the throughput subset" if quick else "../shared/data", "cold_job_s": cold_full["job_s"], "cold_process_s": cold_full["process_s"],
        "warm_job_s": wj, "warm_process_s": wp, "speedup": cold_full["job_s"] / wj,
        "speedup_process": cold_full["process_s"] / wp, "warm_misses": max(w["cache_misses"] for w in warm),
        "cold_peak_rss_mb": cold_full["peak_rss_mb"], "warm_peak_rss_mb": median([w["peak_rss_mb"] for w in warm]),
        "warm_highlight_s": median([w.get("highlight_s", 0.0) for w in warm]),
        "cold_highlight_s": cold_full.get("highlight_s", 0.0),
    }
    log(f"rescoring from the cache: {out['rescore']['speedup']:.1f}x faster (job), "
        f"{out['rescore']['speedup_process']:.1f}x (whole process)")

    # ------------------------------------------------------------ 3. scaling + 4. memory
    sizes = [1_000, 3_000, 10_000] if quick else [1_000, 10_000, 100_000]
    section(f"scoring scaling {sizes} (features from the cache of the corpus texts)")
    scaling = []
    for size in sizes:
        folder = work / f"syn{size}"
        synthetic_catalogue(folder, size, corpus)
        db = work / f"syn{size}.db"
        import_folder(db, folder)
        register_default_model(db, work)
        link_cache(full_db, db)
        w = worker("score", "--db", str(db), "--all", "--batch", "32", timeout=3600)
        scaling.append({"reviews": size, "job_s": w["job_s"], "loop_s": w["loop_s"], "process_s": w["process_s"],
                        "peak_rss_mb": w["peak_rss_mb"], "cache_misses": w["cache_misses"]})
        log(f"  {size:>7,} reviews: {w['job_s']:.2f} s job, {size / w['loop_s']:.0f} reviews/s, "
            f"peak {w['peak_rss_mb']:.0f} MiB, misses {w['cache_misses']}")
    out["scaling"] = scaling
    out["scaling_corpus"] = "the throughput subset" if quick else "../shared/data"
    out["cold_points"] = [{"reviews": n, "job_s": out["throughput"]["cold_job_s"]},
                          {"reviews": n_full, "job_s": cold_full["job_s"]}] if not quick else [
                              {"reviews": n, "job_s": out["throughput"]["cold_job_s"]}]

    section("peak memory: scoring vs model + one batch")
    biggest = work / f"syn{sizes[-1]}.db"
    base = worker("membase", "--db", str(biggest), "--batch", "32")
    base_enc = worker("membase", "--db", str(biggest), "--batch", "32", "--with-encoder")
    peak = scaling[-1]["peak_rss_mb"]
    out["memory"] = {
        "reviews": sizes[-1], "scoring_peak_mb": peak, "base_mb": base["peak_rss_mb"], "ratio": peak / base["peak_rss_mb"],
        "base_with_encoder_mb": base_enc["peak_rss_mb"], "cold_peak_mb": cold_full["peak_rss_mb"],
        "cold_ratio": cold_full["peak_rss_mb"] / base_enc["peak_rss_mb"], "cold_reviews": n_full,
        "by_size": [(s["reviews"], s["peak_rss_mb"]) for s in scaling],
    }
    log(f"  model + one batch: {base['peak_rss_mb']:.0f} MiB (with the MiniLM encoder loaded: "
        f"{base_enc['peak_rss_mb']:.0f} MiB)")
    log(f"  scoring {sizes[-1]:,} reviews (cached features): {peak:.0f} MiB = {out['memory']['ratio']:.2f}x")
    log(f"  cold scoring {n_full:,} reviews (encoder loaded): {cold_full['peak_rss_mb']:.0f} MiB = "
        f"{out['memory']['cold_ratio']:.2f}x of model + encoder + one batch")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--work", help="keep the databases and caches here")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="rs-bench-score-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    out = run(work, args.quick)
    out["seconds"] = time.perf_counter() - t
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measurements that need a fresh process (peak memory, no warm imports), run by the suite:

    python -m benchmarks._worker score   --db FILE [--all] [--batch 32] [--threads 1]
    python -m benchmarks._worker minilm  --db FILE [--batch 32] [--threads 1]
    python -m benchmarks._worker membase --db FILE [--batch 32] [--with-encoder] [--threads 1]

Each prints one JSON line last. Times exclude the interpreter start and ``import torch``
(the suite also reports the whole process time).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _setup(args) -> None:
    import torch

    torch.set_num_threads(args.threads)


def _hwm() -> float | None:
    from benchmarks.common import vm_hwm_mb

    return vm_hwm_mb()


def cmd_score(args) -> dict:
    from engine.jobs.score import run_score
    from engine.model.text import TextEncoder
    from storage import open_database

    # Time the (lazy, first-miss-only) load of the text encoder, so that the throughput can
    # be given without one-time loading, like the bare MiniLM baseline's.
    load = {"s": 0.0}
    real = TextEncoder.from_config.__func__

    def timed_from_config(cls, config):
        t = time.perf_counter()
        try:
            return real(cls, config)
        finally:
            load["s"] += time.perf_counter() - t

    TextEncoder.from_config = classmethod(timed_from_config)
    db = open_database(args.db)
    t0 = time.perf_counter()
    res = run_score(db, None, only_missing=not args.all, device="cpu", batch_size=args.batch,
                    **({"chunk_reviews": args.chunk} if args.chunk else {}))
    job = time.perf_counter() - t0
    db.dispose()
    # job_s: until every score is written; highlight_s: the second pass that adds the text highlights
    hl = getattr(res, "highlight_seconds", 0.0)
    return {"scored": res.scored, "job_s": job - hl, "highlight_s": hl, "loop_s": res.seconds, "encoder_load_s": load["s"], "cache_hits": res.cache_hits,
            "cache_misses": res.cache_misses, "peak_rss_mb": _hwm()}


def _texts(db_path: str) -> tuple[list[str], int]:
    from engine.jobs.data import review_text
    from storage import open_database
    from storage import repository as repo

    db = open_database(db_path)
    with db.begin() as s:
        mv = repo.get_active_model(s)
        products = repo.load_catalogue(s, db.media_dir, use_corrections=False)
    db.dispose()
    max_tokens = int((mv.config or {}).get("max_tokens", 64)) if mv is not None else 64
    return [review_text(r) for p in products for r in p.reviews], max_tokens


def cmd_minilm(args) -> dict:
    """Bare MiniLM: tokenize + forward of the same review texts the model scores (same
    truncation), batches of --batch in catalogue order; then the same, length-sorted."""
    import torch

    from engine.model.text import TextEncoder

    texts, max_tokens = _texts(args.db)
    enc = TextEncoder("minilm", max_tokens=max_tokens).eval()
    out = {"reviews": len(texts), "max_tokens": max_tokens}
    with torch.no_grad():
        enc.model(**enc.tokenize(texts[: args.batch]))  # warm-up
        t0 = time.perf_counter()
        for s in range(0, len(texts), args.batch):
            enc.model(**enc.tokenize(texts[s : s + args.batch]))
        out["bare_s"] = time.perf_counter() - t0
        if args.sorted:
            order = sorted(texts, key=len)
            t0 = time.perf_counter()
            for s in range(0, len(order), args.batch):
                enc.model(**enc.tokenize(order[s : s + args.batch]))
            out["sorted_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = _hwm()
    return out


def cmd_membase(args) -> dict:
    """The memory floor of scoring: the model loaded as the scoring job loads it, plus one
    batch (features of --batch reviews, as the job builds them, and one forward)."""
    from engine.jobs.common import cache_for
    from engine.jobs.data import FeatureBuilder, predict
    from engine.jobs.score import load_for_scoring
    from engine.model.text import TextEncoder
    from storage import open_database
    from storage import repository as repo

    db = open_database(args.db)
    with db.begin() as s:
        mv = repo.get_active_model(s)
        by_product = repo.review_pks_by_product(s)
        ppks, n = [], 0
        for ppk, rpks in by_product.items():
            ppks.append(ppk)
            n += len(rpks)
            if n >= args.batch:
                break
        products = repo.load_products(s, db.media_dir, ppks, use_corrections=False)
    del by_product
    net, config = load_for_scoring(mv, "cpu")
    if args.with_encoder and net.text_encoder is None:
        net.text_encoder = TextEncoder.from_config(config).eval()
    builder = FeatureBuilder(net, cache_for(db), load_text_encoder=lambda: TextEncoder.from_config(config).eval())
    wanted = {r.id for p in products for r in p.reviews[: args.batch]}
    prepared = builder.build(products, only=set(list(sorted(wanted))[: args.batch]))
    predict(net, prepared, batch_size=args.batch)
    db.dispose()
    return {"reviews": len(prepared), "encoder_loaded": net.text_encoder is not None, "peak_rss_mb": _hwm()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["score", "minilm", "membase"])
    ap.add_argument("--db", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--sorted", action="store_true")
    ap.add_argument("--with-encoder", action="store_true")
    args = ap.parse_args(argv)
    _setup(args)
    out = {"score": cmd_score, "minilm": cmd_minilm, "membase": cmd_membase}[args.command](args)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

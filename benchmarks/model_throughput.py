"""MM-SS parameter counts and CPU forward throughput next to a bare MiniLM forward.

Prints figures; asserts nothing. Uses the first N reviews of shared/data/reviews.jsonl.

    HF_HUB_OFFLINE=1 python benchmarks/model_throughput.py [--reviews 256] [--batch 32]

Measured, in one run and on the same texts, batch 32, eval mode, no autograd:

- ``minilm``: bare all-MiniLM-L6-v2, tokenize + forward of the review texts;
- ``mmss``: default MM-SS (frozen MiniLM, metadata on): tokenize reviews and their batch's
  distinct product texts, encode both, run modules (a)-(d); no images (the data has none);
- ``mmss+img``: the same with one 49-cell grid image per product (random features);
- ``mmss-cached``: MM-SS from cached token states (the frozen-encoder path of the jobs).

The ratio is MM-SS throughput / bare MiniLM throughput (issue 4's goal: >= 0.8).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.metadata import compute_metadata  # noqa: E402
from engine.config import MMSSConfig  # noqa: E402
from engine.model import MMSSBatch, MMSSModel  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _find_data() -> Path:
    for p in (Path("/work/shared/data"), DATA.resolve(), Path("shared/data")):
        if (p / "reviews.jsonl").is_file():
            return p
    raise SystemExit("shared/data/reviews.jsonl not found")


def load(n: int, offset: int = 0):
    data = _find_data()
    reviews = []
    with open(data / "reviews.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < offset:
                continue
            reviews.append(json.loads(line))
            if len(reviews) == n:
                break
    wanted = {r["product_id"] for r in reviews}
    products = {}
    with open(data / "products.jsonl", encoding="utf-8") as fh:
        for line in fh:
            p = json.loads(line)
            if p["product_id"] in wanted:
                products[p["product_id"]] = f"{p.get('title', '')} {p.get('description', '')}".strip()
    return reviews, products


def metadata_for(reviews, products) -> np.ndarray:
    out = np.zeros((len(reviews), len(compute_metadata([{"text": ""}])[0])), dtype=np.float32)
    by_product: dict[str, list[int]] = {}
    for i, r in enumerate(reviews):
        by_product.setdefault(r["product_id"], []).append(i)
    for pid, idx in by_product.items():
        facts = [
            {"text": reviews[i]["text"], "title": reviews[i]["title"], "rating": reviews[i]["rating"],
             "time": reviews[i]["time"], "n_images": len(reviews[i]["image_files"])}
            for i in idx
        ]
        out[idx] = compute_metadata(facts, product_text=products.get(pid, ""))
    return out


def batches(reviews, size):
    for start in range(0, len(reviews), size):
        yield list(range(start, min(start + size, len(reviews))))


def timed_rounds(fns: dict, repeats: int) -> dict[str, float]:
    """Median seconds per variant; variants run in rotation so load changes hit all alike."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", type=int, default=256)
    ap.add_argument("--offset", type=int, default=0,
                    help="skip this many reviews first (4197: Digital Music, whose products have text)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    reviews, products = load(args.reviews, args.offset)
    meta = metadata_for(reviews, products)
    texts = [r["text"] for r in reviews]

    cfg = MMSSConfig()
    model = MMSSModel(cfg).eval()
    enc = model.text_encoder

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(reviews)} reviews of {len({r['product_id'] for r in reviews})} products "
          f"({sum(bool(products.get(r['product_id'])) for r in reviews)} with product text), batch {args.batch}")
    print("\nparameters")
    for name, changes in (("frozen MiniLM (default)", {}),
                          ("fine-tune top 2 layers", {"text_finetune_layers": 2}),
                          ("fine-tune all", {"text_finetune_layers": -1})):
        m = model if not changes else MMSSModel(cfg.replace(**changes), text_encoder=None)
        c = m.count_parameters()
        print(f"  {name:<26} total {c['total']:>11,}  trainable {c['trainable']:>11,}  "
              f"(MiniLM {c['text_encoder']:,}, MM-SS layers {c['mmss']:,})")
    for name, changes in (("text_only", {"text_only": True}), ("no_module_b", {"no_module_b": True}),
                          ("no metadata", {"use_metadata": False})):
        m = MMSSModel(cfg.replace(**changes), text_encoder=enc)
        print(f"  {name:<26} MM-SS layers {m.count_parameters()['mmss']:>9,}")

    # ------------------------------------------------------------------ inputs
    def product_rows(idx):
        pids = list(dict.fromkeys(reviews[i]["product_id"] for i in idx))
        row = {p: j for j, p in enumerate(pids)}
        return pids, [row[reviews[i]["product_id"]] for i in idx]

    grid = {p: [torch.randn(49, cfg.image_feat_dim)] for p in products}
    states = enc.encode_text_states(texts)
    pstates = dict(zip(products, enc.encode_text_states(list(products.values()))))

    @torch.no_grad()
    def run_minilm():
        for idx in batches(reviews, args.batch):
            tok = enc.tokenize([texts[i] for i in idx])
            enc.model(**tok)

    @torch.no_grad()
    def run_mmss(images: bool):
        for idx in batches(reviews, args.batch):
            pids, rp = product_rows(idx)
            batch = MMSSBatch.build(
                cfg, rp, review_texts=[texts[i] for i in idx], product_texts=[products[p] for p in pids],
                text_encoder=enc, metadata=meta[idx],
                product_images=[grid[p] for p in pids] if images else None,
            )
            model(batch)

    @torch.no_grad()
    def run_cached():
        for idx in batches(reviews, args.batch):
            pids, rp = product_rows(idx)
            batch = MMSSBatch.build(
                cfg, rp, review_states=[states[i] for i in idx], product_states=[pstates[p] for p in pids],
                metadata=meta[idx],
            )
            model(batch)

    n = len(reviews)
    results = timed_rounds(
        {
            "minilm": run_minilm,
            "mmss": lambda: run_mmss(False),
            "mmss+img": lambda: run_mmss(True),
            "mmss-cached": run_cached,
        },
        args.repeats,
    )
    print(f"\nforward throughput (median of {args.repeats}, reviews/s)")
    base = n / results["minilm"]
    for name, seconds in results.items():
        rate = n / seconds
        print(f"  {name:<12} {rate:>8.1f} reviews/s   {seconds * 1000 / (n / args.batch):>7.1f} ms/batch"
              f"   ratio to bare MiniLM {rate / base:.2f}x")


if __name__ == "__main__":
    main()

"""Regenerate ``resources/sample/`` from ``../shared/data`` (deterministic).

    .venv/bin/python benchmarks/make_sample.py [--data ../shared/data] [--out resources/sample]

Picks a few dozen real products with all their reviews, mixing the three sources:
- the product with 100+ reviews whose reviews are smallest in bytes (a long review list);
- Digital Music and Gift Cards products with a title and a description;
- the Gift Cards product of the first review (in hash order) that has image URLs;
- then products in sha256(product_id) order, round-robin over the sources, skipping any
  whose reviews exceed a per-product byte budget, until the target count or total budget.
Records are copied verbatim (same bytes as the source lines), in source order, except that
3 products and 2 reviews get ``image_files`` pointing at small generated PNG placeholders
(drawn here with Pillow; NOT product photos: the source corpus has no image files).
NOTICE.md copies the sources, terms, citations and caveats from the data README.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "resources" / "sample"

N_PRODUCTS = 36
TOTAL_BUDGET = 1_250_000  # bytes of reviews.jsonl
PER_PRODUCT_BUDGET = 60_000
SOURCES = ("amazon-fine-food-reviews", "amazon-2014-digital-music-5core", "amazon-2018-gift-cards-5core")
N_PRODUCT_IMAGES = 3
N_REVIEW_IMAGES = 2


def _h(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


def read_jsonl(path: Path) -> list[tuple[str, dict]]:
    with open(path, encoding="utf-8") as f:
        return [(line.rstrip("\n"), json.loads(line)) for line in f if line.strip()]


def choose(products: list[dict], reviews: list[dict]) -> list[str]:
    by_product: dict[str, list[dict]] = defaultdict(list)
    size: dict[str, int] = defaultdict(int)
    for r in reviews:
        by_product[r["product_id"]].append(r)
        size[r["product_id"]] += len(_dump(r).encode("utf-8")) + 1
    info = {p["product_id"]: p for p in products}
    chosen: list[str] = []

    def add(pid: str) -> None:
        if pid not in chosen:
            chosen.append(pid)

    many = [pid for pid in info if len(by_product[pid]) >= 100]
    add(min(many, key=lambda pid: (size[pid], pid)))
    for source in SOURCES[1:]:
        described = sorted(
            (pid for pid, p in info.items() if p["source"] == source and p["title"] and p["description"]
             and size[pid] <= PER_PRODUCT_BUDGET),
            key=_h,
        )
        for pid in described[:2]:
            add(pid)
    with_urls = sorted((r for r in reviews if r["image_urls"] and size[r["product_id"]] <= PER_PRODUCT_BUDGET),
                       key=lambda r: _h(r["review_id"]))
    if with_urls:
        add(with_urls[0]["product_id"])
    queues = {s: sorted((pid for pid, p in info.items() if p["source"] == s), key=_h) for s in SOURCES}
    total = sum(size[pid] for pid in chosen)
    while len(chosen) < N_PRODUCTS and any(queues.values()):
        for s in SOURCES:
            while queues[s]:
                pid = queues[s].pop(0)
                if pid in chosen or size[pid] > PER_PRODUCT_BUDGET:
                    continue
                if total + size[pid] > TOTAL_BUDGET:
                    continue
                add(pid)
                total += size[pid]
                break
            if len(chosen) >= N_PRODUCTS:
                break
    return chosen


def placeholder_png(path: Path, label: str, seed: str) -> None:
    """A small, clearly synthetic picture: a colour from the id's hash, two shapes, a caption."""
    h = hashlib.sha256(seed.encode("utf-8")).digest()
    bg = (64 + h[0] // 2, 64 + h[1] // 2, 64 + h[2] // 2)
    fg = (255 - bg[0], 255 - bg[1], 255 - bg[2])
    img = Image.new("RGB", (160, 120), bg)
    d = ImageDraw.Draw(img)
    d.ellipse((12 + h[3] % 30, 10, 70 + h[3] % 30, 68), fill=fg)
    d.rectangle((90, 20 + h[4] % 20, 146, 70 + h[4] % 20), outline=fg, width=3)
    d.text((8, 84), "GENERATED PLACEHOLDER", fill=(255, 255, 255))
    d.text((8, 100), label[:26], fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", optimize=True)


def notice(readme: str, n_products: int, n_reviews: int, counts: dict[str, int], images: list[str]) -> str:
    def section(title: str) -> str:
        m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M)
        return m.group(1).strip() if m else ""

    by_source = "\n".join(f"- {s}: {counts.get(s, 0)} products" for s in SOURCES)
    imgs = "\n".join(f"- `{p}`" for p in images)
    return f"""# NOTICE: bundled sample catalogue

This folder is a small subset of `shared/data` (the team's development corpus): {n_products} real
Amazon products with all {n_reviews} of their reviews, copied unchanged (same records, same bytes)
except for the image references listed below. The texts, ratings and votes are Amazon users' and
sellers' content from the public datasets named here; the ReviewScope team wrote none of it and
does not present it as its own. Regenerate it with `benchmarks/make_sample.py`.

{by_source}

## Generated placeholder images (not product photos)

The source corpus has no image files. So that the image path of ReviewScope is exercised, the
sample adds {len(images)} small PNG pictures **drawn by `benchmarks/make_sample.py`** (coloured shapes
and the caption "GENERATED PLACEHOLDER"). They are not photographs of the products or anything
from Amazon, and they carry no third-party rights. They are referenced from `image_files` of
{N_PRODUCT_IMAGES} products and {N_REVIEW_IMAGES} reviews:

{imgs}

## Sources and terms (copied from shared/data/README.md)

{section("Sources and terms")}

## Caveats (copied from shared/data/README.md)

{section("Caveats")}
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    products = read_jsonl(args.data / "products.jsonl")
    reviews = read_jsonl(args.data / "reviews.jsonl")
    chosen = choose([p for _, p in products], [r for _, r in reviews])
    keep = set(chosen)

    out: Path = args.out
    images_dir = out / "images"
    if images_dir.is_dir():
        for old in images_dir.glob("*.png"):
            old.unlink()
    kept_products = [(line, p) for line, p in products if p["product_id"] in keep]
    kept_reviews = [(line, r) for line, r in reviews if r["product_id"] in keep]

    image_files: list[str] = []
    with_title = [p["product_id"] for _, p in kept_products if p["title"]][:N_PRODUCT_IMAGES]
    product_lines = []
    for line, p in kept_products:
        if p["product_id"] in with_title:
            rel = f"images/product-{p['product_id']}.png"
            placeholder_png(out / rel, f"product {p['product_id']}", p["product_id"])
            p = {**p, "image_files": [rel]}
            line = _dump(p)
            image_files.append(rel)
        product_lines.append(line)
    review_targets = []
    for pid in with_title[:N_REVIEW_IMAGES]:
        review_targets.append(next(r["review_id"] for _, r in kept_reviews if r["product_id"] == pid))
    review_lines = []
    for line, r in kept_reviews:
        if r["review_id"] in review_targets:
            rel = f"images/review-{r['review_id']}.png"
            placeholder_png(out / rel, f"review {r['review_id']}", r["review_id"])
            r = {**r, "image_files": [rel]}
            line = _dump(r)
            image_files.append(rel)
        review_lines.append(line)

    out.mkdir(parents=True, exist_ok=True)
    (out / "products.jsonl").write_text("".join(x + "\n" for x in product_lines), encoding="utf-8")
    (out / "reviews.jsonl").write_text("".join(x + "\n" for x in review_lines), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for _, p in kept_products:
        counts[p["source"]] += 1
    readme = (args.data / "README.md").read_text(encoding="utf-8")
    (out / "NOTICE.md").write_text(notice(readme, len(kept_products), len(kept_reviews), counts, image_files),
                                   encoding="utf-8")
    n_bytes = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    per = defaultdict(int)
    for _, r in kept_reviews:
        per[r["product_id"]] += 1
    print(f"{out}: {len(kept_products)} products ({dict(counts)}), {len(kept_reviews)} reviews, "
          f"most reviews on one product {max(per.values())}, {len(image_files)} images, {n_bytes:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

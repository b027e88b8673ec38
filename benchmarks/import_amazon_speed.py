"""Import speed of a downloaded Amazon 2018 reviews file: ``reviewscope-engine import FILE.json.gz``
next to a bare process that decompresses the same file, ``json.loads`` every line and
``sqlite3.executemany``s the rows into bare tables, both as whole processes (start-up included).

    .venv/bin/python -m benchmarks.import_amazon_speed [--reviews 100000] [--repeat 3]

The file is generated: 2018-format reviews (``vote`` as a string, sometimes with a thousands
separator or absent, ``style``, ``verified``, ``image`` on some) with texts drawn from
../shared/data, about 20 reviews a product. Each timed run starts on a fresh database file
with the schema (the bare one without the full-text index: benchmarks.import_speed.fresh_db_file).
Prints seconds and reviews/s of each (best of N) and the ratio ReviewScope / bare. Asserts nothing.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import env, find_data  # noqa: E402
from benchmarks.import_speed import fresh_db_file  # noqa: E402

BARE = r'''
import gzip, json, sqlite3, sys, datetime as dt, hashlib, math
src, db = sys.argv[1], sys.argv[2]
def label(v):
    return None if v <= 0 else min(int(math.floor(math.log2(v))), 4)
def split(pid):
    h = int.from_bytes(hashlib.sha256(pid.encode()).digest()[:8], "big") % 100
    return "train" if h < 64 else "dev" if h < 80 else "test"
now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
reviews, products = [], {}
with gzip.open(src, "rt", encoding="utf-8") as f:
    for line in f:
        o = json.loads(line)
        votes = int(o.get("vote", "0").replace(",", ""))
        extra = {"reviewer_id": o["reviewerID"]}
        for k in ("verified", "style", "reviewerName"):
            if k in o:
                extra[k] = o[k]
        rid = f'{o["reviewerID"]}:{o["asin"]}:{o["unixReviewTime"]}'
        products.setdefault(o["asin"], None)
        reviews.append((rid, o["asin"], o.get("summary", ""), o.get("reviewText", ""), o.get("overall"), votes, None,
                        o.get("unixReviewTime"), label(votes), json.dumps(o.get("image", [])), json.dumps(extra)))
con = sqlite3.connect(db, isolation_level=None)
for p in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=NORMAL"):
    con.execute(f"PRAGMA {p}")
con.execute("BEGIN")
con.executemany("INSERT INTO products (product_id, title, description, category, split, image_urls, extra, created_at) "
                "VALUES (?, '', '', '', ?, '[]', '{}', ?)", [(p, split(p), now) for p in products])
pk = dict(con.execute("SELECT product_id, id FROM products"))
con.executemany("INSERT INTO reviews (review_id, product_pk, title, text, rating, helpful_votes, total_votes, time, label, "
                "image_urls, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(r[0], pk[r[1]], *r[2:]) for r in reviews])
con.execute("COMMIT")
print(len(reviews))
'''


def make_file(path: Path, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    texts, titles = [], []
    with open(find_data() / "reviews.jsonl", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            texts.append(o["text"])
            titles.append(o.get("title", ""))
    n_products = max(1, n // 20)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        for i in range(n):
            asin = f"B{rng.randrange(n_products):09d}"
            r = {"overall": float(rng.randint(1, 5)), "verified": rng.random() < 0.8,
                 "reviewTime": "05 29, 2018", "reviewerID": f"A{i:013d}", "asin": asin,
                 "reviewerName": f"user {i % 997}", "reviewText": rng.choice(texts), "summary": rng.choice(titles),
                 "unixReviewTime": 1_300_000_000 + rng.randrange(200_000_000)}
            u = rng.random()
            if u < 0.45:
                r["vote"] = str(rng.randint(2, 999))
            elif u < 0.47:
                r["vote"] = f"{rng.randint(1, 9)},{rng.randint(0, 999):03d}"
            if rng.random() < 0.3:
                r["style"] = {"Size:": f" {rng.randint(1, 12)}", "Color:": rng.choice([" Red", " Blue", " Black"])}
            if rng.random() < 0.05:
                r["image"] = [f"https://images.invalid/{i}.jpg"]
            out.write(json.dumps(r) + "\n")


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env(), stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviews", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = tmp / "Synthetic_5.json.gz"
        make_file(src, args.reviews)
        bare_py = tmp / "bare.py"
        bare_py.write_text(BARE)
        ours, bare = [], []
        for i in range(args.repeat):
            for name in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
                db = fresh_db_file(tmp, f"{name}{i}", bare=(name == "bare"))
                if name == "ours":
                    ours.append(run([sys.executable, "-m", "engine", "import", str(src), "--db", str(db)]))
                else:
                    bare.append(run([sys.executable, str(bare_py), str(src), str(db)]))
                for suffix in (".db", ".db-wal", ".db-shm"):
                    (tmp / f"{name}{i}{suffix}").unlink(missing_ok=True)
        n = args.reviews
        o, b = min(ours), min(bare)
        print(f"file: {args.reviews:,} reviews, Amazon 2018 format, gzip {src.stat().st_size / 2**20:.1f} MiB; "
              f"best of {args.repeat}, whole processes")
        print(f"reviewscope-engine import:                 {o:7.2f} s  {n / o:>9,.0f} reviews/s  (runs: "
              + ", ".join(f"{x:.2f}" for x in ours) + ")")
        print(f"bare gunzip + json.loads + executemany:    {b:7.2f} s  {n / b:>9,.0f} reviews/s  (runs: "
              + ", ".join(f"{x:.2f}" for x in bare) + ")")
        print(f"ratio ReviewScope / bare: {b / o:.2f}x (goal >= 0.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

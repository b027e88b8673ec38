"""Import speed: ``storage.importers.import_path`` next to a raw sqlite3 executemany of the
same rows, in the same run, on fresh SQLite files with the same schema and pragmas.

    .venv/bin/python benchmarks/import_speed.py [CATALOGUE_FOLDER] [--repeat N]

Prints reviews/s for:
- ReviewScope import: read + validate every row (types, ranges, duplicates, labels, split)
  and write products and reviews in one transaction with bulk statements;
- raw sqlite3, parse + insert: json.loads of each line, label and split, executemany into
  the same tables, one commit (no validation);
- raw sqlite3, insert only: executemany of rows already built in memory.
The raw variants write into the same tables without the full-text index (see fresh_db_file).
and the ratios (ReviewScope speed / raw speed). Best of N runs each. It asserts nothing.

    .venv/bin/python -m benchmarks.import_speed --process [--copies 5] [--repeat 3]

Whole processes instead (issue 17): ``reviewscope-engine import FOLDER`` (interpreter and
library start-up, opening the database, reading, validating, writing, committing) next to a
bare ``python`` process that parses the same JSONL files (label and split included) and
``sqlite3.executemany``s the rows, on the catalogue copied ``--copies`` times under new ids
(../shared/data five times: 57,060 reviews). Each run starts on a fresh database file that
already has the schema (the bare one without the full-text index).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import open_database  # noqa: E402
from storage.importers import import_path  # noqa: E402
from storage.importers.rows import hash_split  # noqa: E402
from storage.records import label_from_votes  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data"


def fresh_db_file(tmp: Path, name: str, bare: bool = False) -> Path:
    """A database file with the schema through the migrations; ``bare``: without the full-text
    index (migration 0005_search's FTS5 table and its triggers), as the issue's baseline, a bare
    process inserting the rows, has none: the index's cost counts against ReviewScope's import."""
    path = tmp / f"{name}.db"
    open_database(str(path), media_dir=tmp / f"{name}-media").dispose()
    if bare:
        con = sqlite3.connect(path)
        triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for t in triggers:
            con.execute(f'DROP TRIGGER "{t}"')
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%VIRTUAL%'")]
        for t in tables:
            con.execute(f'DROP TABLE "{t}"')
        con.commit()
        con.close()
    return path


def connect_raw(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    return con


def build_rows(folder: Path):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    products = []
    with open(folder / "products.jsonl", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            extra = {k: v for k, v in o.items() if k not in {"product_id", "title", "description", "category", "image_files",
                                                             "image_urls", "split"}}
            products.append((o["product_id"], o.get("title", ""), o.get("description", ""), o.get("category", ""),
                             o.get("split") or hash_split(o["product_id"]), json.dumps(o.get("image_urls", [])),
                             json.dumps(extra), now))
    reviews = []
    with open(folder / "reviews.jsonl", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            extra = {k: v for k, v in o.items() if k not in {"review_id", "product_id", "title", "text", "rating",
                                                             "helpful_votes", "total_votes", "time", "image_files",
                                                             "image_urls", "label"}}
            reviews.append((o["review_id"], o["product_id"], o.get("title", ""), o["text"], o.get("rating"),
                            o["helpful_votes"], o.get("total_votes"), o.get("time"),
                            o["label"] if o.get("label") is not None else label_from_votes(o["helpful_votes"]),
                            json.dumps(o.get("image_urls", [])), json.dumps(extra)))
    return products, reviews


def raw_insert(con: sqlite3.Connection, products, reviews) -> None:
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO products (product_id, title, description, category, split, image_urls, extra, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", products,
    )
    pk = dict(con.execute("SELECT product_id, id FROM products"))
    con.executemany(
        "INSERT INTO reviews (review_id, product_pk, title, text, rating, helpful_votes, total_votes, time, label, "
        "image_urls, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r[0], pk[r[1]], *r[2:]) for r in reviews],
    )
    con.execute("COMMIT")


def measure(folder: Path, repeat: int = 3, tmp: Path | None = None) -> dict:
    """Seconds of each variant (lists, one per repeat; the three run in turn each repeat)
    and the review count. Each timed run starts on a fresh database file."""
    own_tmp = tmp is None
    tmpdir = tempfile.TemporaryDirectory() if own_tmp else None
    tmp = Path(tmpdir.name) if own_tmp else Path(tmp)
    ours, raw_parse, raw_only = [], [], []
    n_reviews = 0
    try:
        for i in range(repeat):
            # ReviewScope importer (timing excludes opening/migrating the database)
            db = open_database(str(fresh_db_file(tmp, f"ours{i}")), media_dir=tmp / f"ours{i}-media")
            gc.collect()
            t = time.perf_counter()
            report = import_path(db, folder)
            ours.append(time.perf_counter() - t)
            n_reviews = report.reviews_added
            db.dispose()

            # raw sqlite3: parse the same files and executemany the same rows
            gc.collect()
            con = connect_raw(fresh_db_file(tmp, f"raw{i}", bare=True))
            t = time.perf_counter()
            products, reviews = build_rows(folder)
            raw_insert(con, products, reviews)
            raw_parse.append(time.perf_counter() - t)
            con.close()

            # raw sqlite3: executemany only (rows already built)
            con = connect_raw(fresh_db_file(tmp, f"rawonly{i}", bare=True))
            t = time.perf_counter()
            raw_insert(con, products, reviews)
            raw_only.append(time.perf_counter() - t)
            con.close()
            del products, reviews
            gc.collect()  # each timed run starts with the same live heap
            for name in (f"ours{i}", f"raw{i}", f"rawonly{i}"):  # keep the disk use small
                for suffix in (".db", ".db-wal", ".db-shm"):
                    (tmp / f"{name}{suffix}").unlink(missing_ok=True)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    return {"reviews": n_reviews, "ours": ours, "raw_parse": raw_parse, "raw_only": raw_only}


def scaling(sizes, work: Path, data: Path, repeat: int = 1) -> list[dict]:
    """Import time at each size (synthetic catalogues of corpus texts, see
    benchmarks.common.synthetic_catalogue) next to the raw sqlite3 variants."""
    from benchmarks.common import synthetic_catalogue

    rows = []
    for n in sizes:
        folder = work / f"imp{n}"
        synthetic_catalogue(folder, n, data, seed=1)
        m = measure(folder, repeat, work)
        rows.append({"reviews": n, "ours_s": min(m["ours"]), "raw_parse_s": min(m["raw_parse"]),
                     "raw_only_s": min(m["raw_only"])})
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    return rows


BARE = r'''
import datetime as dt, hashlib, json, math, sqlite3, sys
folder, db = sys.argv[1], sys.argv[2]
def label(v):
    return None if v <= 0 else min(int(math.floor(math.log2(v))), 4)
def split(pid):
    h = int.from_bytes(hashlib.sha256(pid.encode()).digest()[:8], "big") % 100
    return "train" if h < 64 else "dev" if h < 80 else "test"
now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
P = {"product_id", "title", "description", "category", "image_files", "image_urls", "split"}
R = {"review_id", "product_id", "title", "text", "rating", "helpful_votes", "total_votes", "time", "image_files",
     "image_urls", "label"}
products, reviews = [], []
with open(folder + "/products.jsonl", encoding="utf-8") as f:
    for line in f:
        o = json.loads(line)
        products.append((o["product_id"], o.get("title", ""), o.get("description", ""), o.get("category", ""),
                         o.get("split") or split(o["product_id"]), json.dumps(o.get("image_urls", [])),
                         json.dumps({k: v for k, v in o.items() if k not in P}), now))
with open(folder + "/reviews.jsonl", encoding="utf-8") as f:
    for line in f:
        o = json.loads(line)
        reviews.append((o["review_id"], o["product_id"], o.get("title", ""), o["text"], o.get("rating"),
                        o["helpful_votes"], o.get("total_votes"), o.get("time"),
                        o["label"] if o.get("label") is not None else label(o["helpful_votes"]),
                        json.dumps(o.get("image_urls", [])), json.dumps({k: v for k, v in o.items() if k not in R})))
con = sqlite3.connect(db, isolation_level=None)
for p in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=NORMAL"):
    con.execute(f"PRAGMA {p}")
con.execute("BEGIN")
con.executemany("INSERT INTO products (product_id, title, description, category, split, image_urls, extra, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", products)
pk = dict(con.execute("SELECT product_id, id FROM products"))
con.executemany("INSERT INTO reviews (review_id, product_pk, title, text, rating, helpful_votes, total_votes, time, label, "
                "image_urls, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(r[0], pk[r[1]], *r[2:]) for r in reviews])
con.execute("COMMIT")
print(len(reviews))
'''


def copies_catalogue(out: Path, src: Path, copies: int) -> int:
    """``src`` (a JSONL catalogue without image files) ``copies`` times, ids suffixed ``~k``."""
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, keys in (("products.jsonl", ("product_id",)), ("reviews.jsonl", ("product_id", "review_id"))):
        rows = [json.loads(line) for line in open(src / name, encoding="utf-8") if line.strip()]
        with open(out / name, "w", encoding="utf-8") as f:
            for k in range(1, copies + 1):
                for o in rows:
                    f.write(json.dumps({**o, **{key: f"{o[key]}~{k}" for key in keys}}) + "\n")
                if name == "reviews.jsonl":
                    n += len(rows)
    return n


def measure_process(folder: Path, copies: int, repeat: int) -> dict:
    """Seconds of the two whole processes (lists, one per repeat, taking turns to go first)."""
    import subprocess

    from benchmarks.common import env

    ours, bare = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cat = tmp / "catalogue"
        n = copies_catalogue(cat, folder, copies)
        (tmp / "bare.py").write_text(BARE)
        for i in range(repeat):
            for name in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
                db = fresh_db_file(tmp, f"{name}{i}", bare=(name == "bare"))
                cmd = ([sys.executable, "-m", "engine", "import", str(cat), "--db", str(db)] if name == "ours"
                       else [sys.executable, str(tmp / "bare.py"), str(cat), str(db)])
                t = time.perf_counter()
                subprocess.run(cmd, check=True, env=env(), stdout=subprocess.DEVNULL, cwd=ROOT)
                (ours if name == "ours" else bare).append(time.perf_counter() - t)
                for suffix in (".db", ".db-wal", ".db-shm"):
                    (tmp / f"{name}{i}{suffix}").unlink(missing_ok=True)
    return {"reviews": n, "ours": ours, "bare": bare}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--process", action="store_true", help="whole processes: reviewscope-engine import vs a bare python")
    ap.add_argument("--copies", type=int, default=5, help="with --process: the catalogue this many times (new ids)")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    if args.process:
        m = measure_process(folder, args.copies, args.repeat)
        n, o, b = m["reviews"], min(m["ours"]), min(m["bare"])
        print(f"catalogue: {folder} x{args.copies} ({n:,} reviews), best of {args.repeat}, whole processes")
        print(f"reviewscope-engine import:             {o:7.2f} s  {n / o:>9,.0f} reviews/s  (runs: "
              + ", ".join(f"{x:.2f}" for x in m["ours"]) + ")")
        print(f"bare json.loads + executemany:         {b:7.2f} s  {n / b:>9,.0f} reviews/s  (runs: "
              + ", ".join(f"{x:.2f}" for x in m["bare"]) + ")")
        print(f"ratio ReviewScope / bare: {b / o:.2f}x (goal >= 0.3x)")
        return 0
    m = measure(folder, args.repeat)
    n_reviews = m["reviews"]
    best = {name: min(m[name]) for name in ("ours", "raw_parse", "raw_only")}
    rate = {k: n_reviews / v for k, v in best.items()}
    print(f"catalogue: {folder} ({n_reviews:,} reviews), best of {args.repeat}")
    print(f"ReviewScope import_path (validate + bulk write): {best['ours']:.3f} s  {rate['ours']:>10,.0f} reviews/s")
    print(f"raw sqlite3 parse + executemany:                 {best['raw_parse']:.3f} s  {rate['raw_parse']:>10,.0f} reviews/s")
    print(f"raw sqlite3 executemany only:                    {best['raw_only']:.3f} s  {rate['raw_only']:>10,.0f} reviews/s")
    print(f"ratio ReviewScope / raw parse+executemany: {rate['ours'] / rate['raw_parse']:.2f}x")
    print(f"ratio ReviewScope / raw executemany only:  {rate['ours'] / rate['raw_only']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

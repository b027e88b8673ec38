"""Each product's number of reviews and of labelled reviews (``products.n_reviews``,
``n_labelled``; migration 0012's triggers) stay what counting the reviews gives, through imports
that add, move and relabel reviews, deletes, writes that bypass the importer, and the upgrade of
an older database; the product list shows them."""
from __future__ import annotations

import random

from alembic import command
from sqlalchemy import create_engine, delete, select, text

from helpers.storage_checks import product_counts_as_counted, write_jsonl
from storage import open_database
from storage import repository as repo
from storage.db import _alembic_config, current_revision, head_revision
from storage.importers import import_path
from storage.importers.rows import effective_label
from storage.models import Product, Review


def _assert_exact(s) -> None:
    stored, counted = product_counts_as_counted(s)
    assert stored == counted
    listed = {p.id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)}
    assert listed == counted


def _import(db, folder, products, reviews):
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "products.jsonl", products)
    write_jsonl(folder / "reviews.jsonl", reviews)
    return import_path(db, folder)


def test_the_counts_follow_imports_that_add_move_and_relabel_reviews(db, tmp_path):
    rng = random.Random(7)
    products = [{"product_id": f"P{p}", "title": f"Product {p}"} for p in range(5)]
    reviews: dict[str, dict] = {}
    for round_ in range(6):
        batch = []
        for _ in range(rng.randint(3, 15)):  # new reviews, some of a new product
            rid = f"r{len(reviews)}"
            reviews[rid] = {"review_id": rid, "product_id": rng.choice(products)["product_id"], "text": rid,
                            "helpful_votes": rng.choice((0, 0, 3, 9)), "label": rng.choice((None, 0, 2, 4))}
            batch.append(reviews[rid])
        for rid in rng.sample(sorted(reviews), min(len(reviews), 6)):  # moved, relabelled, or both
            r = reviews[rid]
            change = rng.choice(("move", "label", "both", "label to none"))
            if change in ("move", "both"):
                r["product_id"] = rng.choice(products)["product_id"]
            if change in ("label", "both"):
                r["label"] = rng.choice((0, 1, 3, None))
            if change == "label to none":  # no label given and no votes: the review has none
                r["label"], r["helpful_votes"] = None, 0
            batch.append(r)
        if round_ == 3:
            products.append({"product_id": "P-new", "title": "Came later"})
            batch.append({"review_id": "late", "product_id": "P-new", "text": "late", "helpful_votes": 1, "label": 1})
        report = _import(db, tmp_path / f"c{round_}", products, list({r["review_id"]: r for r in batch}.values()))
        assert report.reviews_added
        with db.begin() as s:
            _assert_exact(s)
    with db.begin() as s:
        by_id = {p.product_id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)}
    want = {p["product_id"]: [0, 0] for p in products}
    for r in reviews.values():
        want[r["product_id"]][0] += 1
        want[r["product_id"]][1] += effective_label(r["label"], r["helpful_votes"]) is not None
    want["P-new"][0] += 1
    want["P-new"][1] += 1
    assert any(v[1] < v[0] for v in want.values())  # some reviews have no label
    assert by_id == {k: tuple(v) for k, v in want.items()}


def test_the_counts_follow_deletes_cascades_and_writes_that_bypass_the_importer(db, tmp_path):
    _import(db, tmp_path / "c", [{"product_id": "A"}, {"product_id": "B"}],
            [{"review_id": f"r{i}", "product_id": "AB"[i % 2], "text": "x", "helpful_votes": i, "label": i % 3 or None} for i in range(9)])
    with db.begin() as s:
        a = s.scalar(select(Product.id).where(Product.product_id == "A"))
        b = s.scalar(select(Product.id).where(Product.product_id == "B"))
        s.add(Review(review_id="orm", product_pk=a, text="added by the ORM", label=2))
        s.flush()
        assert s.scalar(select(Review.label).where(Review.review_id == "r0")) is None  # no label, no votes
        s.execute(text("UPDATE reviews SET label = 4 WHERE review_id = 'r0'"))  # NULL -> 4
        s.execute(text("UPDATE reviews SET label = NULL WHERE review_id = 'r3'"))  # 1 -> NULL
        s.execute(text("UPDATE reviews SET label = 3 WHERE review_id = 'r4'"))  # 1 -> 3: counts unchanged
        s.execute(text("UPDATE reviews SET product_pk = :b WHERE review_id = 'r2'"), {"b": b})
        s.execute(delete(Review).where(Review.review_id == "r1"))
        _assert_exact(s)
        assert (s.get(Product, a).n_reviews, s.get(Product, b).n_reviews) == (5, 4)
    with db.begin() as s:
        s.execute(delete(Product).where(Product.id == a))  # its reviews go by the cascade
        _assert_exact(s)
        assert [p.n_reviews for p in repo.list_products(s)] == [4]


def test_an_older_database_is_counted_on_upgrade_and_downgrade_drops_the_counts(tmp_path):
    path = tmp_path / "made_by_0011.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0011_score_order_index")
        for p in (1, 2, 3):
            conn.execute(text("INSERT INTO products (id, product_id, title, description, category, split, image_urls, "
                              "extra, created_at) VALUES (:p, :pid, '', '', 'c', 'test', '[]', '{}', '2026-01-01')"),
                         {"p": p, "pid": f"P{p}"})
        for i in range(11):
            conn.execute(text("INSERT INTO reviews (id, review_id, product_pk, title, text, helpful_votes, label, "
                              "image_urls, extra) VALUES (:id, :rid, :p, '', '', 1, :l, '[]', '{}')"),
                         {"id": i + 1, "rid": f"r{i}", "p": 1 + i % 2, "l": None if i % 3 else 2})
    engine.dispose()
    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    with db.begin() as s:
        _assert_exact(s)
        assert {p.product_id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)} == {
            "P1": (6, 2), "P2": (5, 2), "P3": (0, 0)}
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0011_score_order_index")
        columns = {r[1] for r in conn.execute(text("PRAGMA table_info(products)"))}
        triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        conn.execute(text("INSERT INTO reviews (id, review_id, product_pk, title, text, helpful_votes, image_urls, extra) "
                          "VALUES (99, 'after', 3, '', '', 0, '[]', '{}')"))  # no trigger left to fail
    assert not {"n_reviews", "n_labelled"} & columns
    assert not {t for t in triggers if t.startswith("reviews_count")}
    db.dispose()

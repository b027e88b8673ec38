"""Stored ranks (storage/repository/ranks.py, migration 0010): every scored review's place in
its product under a model, kept equal to storage.ranking's definition through scoring, rescoring,
imports that change votes or reviews, model deletion and the upgrade of an older database; and
the disagreement queue read from them is the queue find_disagreements defines."""
from __future__ import annotations

import json
import random

from alembic import command
from sqlalchemy import create_engine, func, select, text

from helpers.storage_checks import scored_counts, stored_ranks_as_computed, stored_subscores_as_computed, write_jsonl
from storage import open_database
from storage import repository as repo
from storage.db import _alembic_config, current_revision, head_revision
from storage.importers import import_path
from storage.models import ProductRank, Review, ReviewRank
from storage.ranking import MODEL_TOO_HIGH, MODEL_TOO_LOW, DisagreementMode, find_disagreements
from storage.records import PredictionIn


def _catalogue(folder, rng: random.Random, n_products: int = 6, votes=None):
    """A JSONL catalogue of ``n_products`` products of 1-12 reviews with random votes (labels
    follow from them); ``votes`` maps review id -> votes to use instead."""
    products, reviews = [], []
    for p in range(n_products):
        products.append({"product_id": f"P{p}", "title": f"Product {p}", "category": f"C{p % 2}"})
        for i in range(rng.randint(1, 12)):
            rid = f"P{p}-r{i}"
            reviews.append({"review_id": rid, "product_id": f"P{p}", "text": f"review {rid}", "rating": 3,
                            "helpful_votes": (votes or {}).get(rid, rng.choice([0, 0, 1, 2, 3, 5, 8, 13, 40]))})
    write_jsonl(folder / "products.jsonl", products)
    write_jsonl(folder / "reviews.jsonl", reviews)
    return folder


def _key(found):
    return [(d.product_key, d.review_pk, d.score, d.label, d.info.model_rank, d.info.n_scored, d.info.implied_label,
             d.info.label_gap, d.info.rank_gap) for d in found]


def _assert_current(s, mv_id):
    stored, computed = stored_ranks_as_computed(s, mv_id)
    assert stored == computed
    stored, computed = stored_subscores_as_computed(s, mv_id)
    assert stored == computed and set(stored) == set(scored_counts(s, mv_id))


def _assert_queue_as_defined(s, mv_id):
    """Every mode, direction, limit and filter: the stored queue is find_disagreements' queue."""
    for mode in DisagreementMode:
        for direction in (None, MODEL_TOO_HIGH, MODEL_TOO_LOW):
            for limit in (3, 500, None):
                for kw in ({}, {"category": "C1"}, {"exclude_split": "train"}):
                    want = find_disagreements(repo.scores_by_product(s, mv_id, **kw), mode, limit, direction)
                    got = repo.stored_disagreements(s, mv_id, mode, limit, direction, **kw)
                    assert _key(got) == _key(want), (mode, direction, limit, kw)
    for ppk in s.scalars(select(Review.product_pk).distinct()):
        want = find_disagreements(repo.scores_by_product(s, mv_id, product_pk=ppk), limit=None)
        assert _key(repo.stored_disagreements(s, mv_id, limit=None, product_pk=ppk)) == _key(want)


def test_ranks_written_with_scores_match_the_definition_through_rescoring(db, tmp_path):
    rng = random.Random(7)
    import_path(db, _catalogue(tmp_path / "c", rng))
    with db.begin() as s:
        pks = list(s.scalars(select(Review.id).order_by(Review.id)))
        a = repo.register_model_version(s, "a", "/a", "0" * 64)
        b = repo.register_model_version(s, "b", "/b", "1" * 64)
    for round_ in range(6):  # partial batches, rescoring some reviews, ties in scores
        batch = rng.sample(pks, rng.randint(1, len(pks)))
        mv = rng.choice([a, b])
        with db.begin() as s:
            repo.write_predictions(s, mv.id, [PredictionIn(pk, rng.choice([0.5, rng.uniform(-2, 2)]), tuple(
                rng.choice([None, 1.0, round(rng.uniform(0, 4), 3)]) for _ in range(5))) for pk in batch])
        with db.begin() as s:
            for m in (a, b):
                _assert_current(s, m.id)
    with db.begin() as s:
        for m in (a, b):
            _assert_queue_as_defined(s, m.id)
            # the product metrics' streamed read gives what the whole read does, product by product
            assert dict(repo.iter_scores_by_product(s, m.id)) == repo.scores_by_product(s, m.id)
        assert scored_counts(s, a.id) == {
            ppk: n for ppk, n in s.execute(select(Review.product_pk, func.count()).join(
                repo.predictions.Prediction, repo.predictions.Prediction.review_pk == Review.id).where(
                repo.predictions.Prediction.model_version_id == a.id).group_by(Review.product_pk))}


def test_an_import_that_changes_votes_or_adds_reviews_ranks_the_products_again(db, tmp_path):
    rng = random.Random(11)
    folder = _catalogue(tmp_path / "c", rng)
    import_path(db, folder)
    with db.begin() as s:
        pks = list(s.scalars(select(Review.id)))
        mv = repo.register_model_version(s, "m", "/m", "0" * 64)
        repo.write_predictions(s, mv.id, [PredictionIn(pk, rng.uniform(-2, 2), (None,) * 5) for pk in pks])
        before = [d.review_pk for d in repo.stored_disagreements(s, mv.id, limit=None)]
    # the same reviews with other votes: labels move, scores stay (votes are not a model input)
    reviews = [json.loads(line) for line in (folder / "reviews.jsonl").read_text().splitlines()]
    for r in reviews:
        r["helpful_votes"] = rng.choice([0, 1, 4, 9, 30, 100])
    write_jsonl(folder / "reviews.jsonl", reviews)
    report = import_path(db, folder)
    assert report.reviews_updated == len(reviews) and not report.scores_dropped
    with db.begin() as s:
        _assert_current(s, mv.id)
        _assert_queue_as_defined(s, mv.id)
        assert [d.review_pk for d in repo.stored_disagreements(s, mv.id, limit=None)] != before
    # a new review of P0: its product's scores are dropped (metadata ranks change), so are its ranks
    write_jsonl(folder / "reviews.jsonl", [{"review_id": "P0-new", "product_id": "P0", "text": "new", "rating": 5,
                                           "helpful_votes": 7}])
    import_path(db, folder)
    with db.begin() as s:
        _assert_current(s, mv.id)
        p0 = repo.get_product_pk(s, "P0")
        assert p0 not in scored_counts(s, mv.id)
        assert not repo.stored_disagreements(s, mv.id, product_pk=p0)


def test_deleting_a_model_deletes_its_ranks(db, tmp_path):
    import_path(db, _catalogue(tmp_path / "c", random.Random(3)))
    with db.begin() as s:
        pks = list(s.scalars(select(Review.id)))
        keep = repo.register_model_version(s, "keep", "/k", "0" * 64)
        gone = repo.register_model_version(s, "gone", "/g", "1" * 64)
        for m in (keep, gone):
            repo.write_predictions(s, m.id, [PredictionIn(pk, float(pk % 5), (None,) * 5) for pk in pks])
    with db.begin() as s:
        repo.delete_model_version(s, gone.id)
    with db.begin() as s:
        models = set(s.scalars(select(ReviewRank.model_version_id).distinct()))
        models |= set(s.scalars(select(ProductRank.model_version_id).distinct()))
        assert models == {keep.id}
        _assert_current(s, keep.id)


def test_upgrading_a_scored_database_ranks_what_was_scored(tmp_path):
    """A database scored before migration 0010: the upgrade ranks its predictions in SQL, and
    gives what storage.ranking computes (ties, unlabelled and unscored reviews included)."""
    rng = random.Random(5)
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0009_search_backlog")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO model_versions (id, name, checkpoint_path, checkpoint_sha256, config, metrics, "
                          "card, active, created_at) VALUES (1, 'a', '/a', 'x', '{}', '{}', '{}', 1, '2026-01-01'), "
                          "(2, 'b', '/b', 'y', '{}', '{}', '{}', 0, '2026-01-01')"))
        rid = 0
        for p in range(1, 9):
            conn.execute(text("INSERT INTO products (id, product_id, title, description, category, split, image_urls, "
                              "extra, created_at) VALUES (:p, :pid, '', '', 'c', 'test', '[]', '{}', '2026-01-01')"),
                         {"p": p, "pid": f"P{p}"})
            for _ in range(rng.randint(1, 15)):
                rid += 1
                votes = rng.choice([0, 0, 1, 3, 7, 20])
                label = None if votes == 0 else rng.choice([0, 1, 2, 3, 4])
                conn.execute(text("INSERT INTO reviews (id, review_id, product_pk, title, text, helpful_votes, label, "
                                  "image_urls, extra) VALUES (:id, :rid, :p, '', '', :v, :l, '[]', '{}')"),
                             {"id": rid, "rid": f"r{rid}", "p": p, "v": votes, "l": label})
                for mv in (1, 2):
                    if rng.random() < 0.8:
                        conn.execute(text("INSERT INTO predictions (model_version_id, review_pk, score, created_at) "
                                          "VALUES (:m, :r, :s, '2026-01-01')"),
                                     {"m": mv, "r": rid, "s": rng.choice([1.0, round(rng.uniform(-1, 1), 3)])})
    engine.dispose()
    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    with db.begin() as s:
        for mv in (1, 2):
            stored, computed = stored_ranks_as_computed(s, mv)
            assert stored == computed and stored[0]
            _assert_queue_as_defined(s, mv)
            # no sub-score figures were stored: readers compute them (stored_context says so)
            assert stored_subscores_as_computed(s, mv) == ({}, {})
            assert repo.stored_context(s, 1, mv) is None
        repo.write_predictions(s, 1, [PredictionIn(pk, 0.5, (1.0, 2.0, None, 3.0, 0.0))
                                      for pk in s.scalars(select(Review.id).where(Review.product_pk == 1))])
        assert stored_ranks_as_computed(s, 1)[0] == stored_ranks_as_computed(s, 1)[1]
        stored, computed = stored_subscores_as_computed(s, 1)
        assert stored == computed and set(stored) == {1}  # scored again: its figures are stored
    db.dispose()

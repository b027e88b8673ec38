"""The sharded feature cache (engine/jobs/cache.py) and streaming scoring (engine/jobs/score.py)."""
from __future__ import annotations

import json
import random

import pytest
import torch
from safetensors.torch import save_file

from engine.jobs.cache import FeatureCache, content_key


def _values(n: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(3 + i % 4, 8, generator=g) for i in range(n)]


def _compute(values, calls):
    def compute(idx):
        calls.append(list(idx))
        return [values[i] for i in idx]
    return compute


def test_misses_are_computed_in_batches_one_shard_each_then_read_back(tmp_path):
    vals = _values(10)
    keys = [content_key("ns", f"text {i}") for i in range(10)]
    calls: list = []
    cache = FeatureCache(tmp_path)
    first = cache.get_many("ns", keys, _compute(vals, calls), batch_size=4)
    assert [len(c) for c in calls] == [4, 4, 2] and cache.misses == 10 and cache.hits == 0
    assert len(list((tmp_path / "ns" / "shards").glob("*.safetensors"))) == 3
    assert not list((tmp_path / "ns" / "shards").glob("*.tmp"))
    # a fresh instance (another process) reads everything, identical to what the cold call returned
    again = FeatureCache(tmp_path)
    calls2: list = []
    second = again.get_many("ns", keys, _compute(vals, calls2), as_float=False)
    assert calls2 == [] and again.hits == 10
    assert all(t.dtype == torch.float16 for t in second)
    for a, b, v in zip(first, second, vals):
        assert a.dtype == torch.float32 and torch.equal(a, b.float())
        assert torch.allclose(a, v, atol=1e-2)


class _Miss(Exception):
    pass


def _held(cache: FeatureCache, namespace: str, key: str):
    """What ``cache`` holds for ``key`` (float32), or None: a miss computes (and stores) nothing."""
    def miss(idx):
        raise _Miss

    try:
        return cache.get_many(namespace, [key], miss)[0]
    except _Miss:
        return None


def test_shards_written_by_another_process_are_found(tmp_path):
    vals = _values(4)
    keys = [content_key("ns", f"t{i}") for i in range(4)]
    reader = FeatureCache(tmp_path)
    assert _held(reader, "ns", keys[0]) is None  # indexes the (empty) namespace
    FeatureCache(tmp_path).put_many("ns", keys, vals)  # the other process
    got = _held(reader, "ns", keys[2])
    assert got is not None and torch.allclose(got, vals[2], atol=1e-2)


def test_a_corrupt_shard_is_recomputed_not_trusted(tmp_path):
    vals = _values(3)
    keys = [content_key("ns", f"t{i}") for i in range(3)]
    FeatureCache(tmp_path).put_many("ns", keys, vals)
    (shard,) = (tmp_path / "ns" / "shards").glob("*.safetensors")
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])  # truncated: the header parses, the data is short
    calls: list = []
    out = FeatureCache(tmp_path).get_many("ns", keys, _compute(vals, calls))
    assert sorted(i for c in calls for i in c) == [0, 1, 2]
    assert all(torch.allclose(o, v, atol=1e-2) for o, v in zip(out, vals))
    (tmp_path / "ns" / "shards" / "junk.safetensors").write_bytes(b"\xff" * 20)  # garbage header
    calls.clear()
    FeatureCache(tmp_path).get_many("ns", keys, _compute(vals, calls))
    assert calls == []  # the recomputed shard serves them; the junk file is ignored


def test_entries_of_the_one_file_per_entry_layout_are_read_and_moved_into_a_shard(tmp_path):
    v = torch.randn(5, 8)
    key = content_key("ns", "old text")
    old = tmp_path / "ns" / key[:2] / f"{key}.safetensors"
    old.parent.mkdir(parents=True)
    save_file({"x": v.to(torch.float16)}, str(old))
    cache = FeatureCache(tmp_path)
    got = cache.get_many("ns", [key], lambda idx: pytest.fail("must not recompute"))
    assert torch.allclose(got[0], v, atol=1e-2)
    assert len(list((tmp_path / "ns" / "shards").glob("*.safetensors"))) == 1
    old.unlink()
    assert _held(FeatureCache(tmp_path), "ns", key) is not None  # now served by the shard


def test_no_root_means_no_files_and_always_compute(tmp_path):
    vals = _values(2)
    calls: list = []
    cache = FeatureCache(None)
    out = cache.get_many("ns", ["a", "b"], _compute(vals, calls))
    out = cache.get_many("ns", ["a", "b"], _compute(vals, calls))
    assert len(calls) == 2 and torch.equal(out[1], vals[1])
    assert _held(cache, "ns", "a") is None


# ------------------------------------------------------------------ scoring


def _catalogue(db, n_products: int = 6, seed: int = 0) -> None:
    from storage.models import Product, Review
    from storage.records import label_from_votes

    words = "great good bad product works kettle water tea coffee music album card gift easy price quality".split()
    rng = random.Random(seed)
    with db.begin() as s:
        for i in range(n_products):
            p = Product(product_id=f"P{i}", title=f"kettle {i}", description="water tea", category="c",
                        split=["train", "train", "dev"][i % 3])
            s.add(p)
            s.flush()
            for j in range(rng.randint(5, 9)):
                n = rng.randint(2, 30)
                s.add(Review(review_id=f"P{i}-R{j}", product_pk=p.id, title="good", rating=rng.randint(1, 5),
                             text=" ".join(rng.choice(words) for _ in range(n)), helpful_votes=n // 4,
                             time=1_000_000 + j, label=label_from_votes(n // 4)))


@pytest.fixture
def scored_db(tmp_path, tiny_encoder_path):
    from engine.jobs.train import TrainOptions, run_train
    from storage import open_database

    cfg = {"hidden": 16, "attention_heads": 2, "dropout": 0.0, "text_encoder": tiny_encoder_path, "max_tokens": 24,
           "text_finetune_layers": 0, "epochs": 1, "batch_size": 16}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    db = open_database(f"sqlite:///{tmp_path / 's.db'}")
    _catalogue(db)
    run_train(db, TrainOptions(config_file=str(tmp_path / "c.json"), name="m", activate="always"))
    return db


def test_scoring_streams_in_chunks_and_partial_rescoring_gives_the_same_scores(scored_db):
    from sqlalchemy import delete

    from engine.jobs.score import run_score
    from storage import repository as repo
    from storage.models import Prediction

    db = scored_db
    first = run_score(db, chunk_reviews=10)  # several chunks of whole products
    with db.begin() as s:
        mv = repo.get_active_model(s)
        before = {pk: sc for pk, sc in s.execute(
            Prediction.__table__.select().with_only_columns(Prediction.review_pk, Prediction.score))}
        total = repo.count_reviews(s)
        # drop the predictions of two reviews of one product (a partial rescoring follows)
        by_product = repo.review_pks_by_product(s)
        gone = list(by_product.values())[1][:2]
        s.execute(delete(Prediction).where(Prediction.review_pk.in_(gone)))
        assert sum(len(v) for v in repo.review_pks_by_product(s, mv.id).values()) == 2
    assert first.scored == total == len(before)
    again = run_score(db)
    assert again.scored == 2 and again.cache_misses == 0
    with db.begin() as s:
        after = {pk: sc for pk, sc in s.execute(
            Prediction.__table__.select().with_only_columns(Prediction.review_pk, Prediction.score))}
    # metadata is over all reviews of the product, so the two get exactly their earlier scores
    assert all(after[pk] == pytest.approx(before[pk], abs=1e-5) for pk in gone)


def test_load_products_matches_load_catalogue(scored_db):
    from storage import repository as repo

    db = scored_db
    with db.begin() as s:
        full = repo.load_catalogue(s, db.media_dir)
        pks = [p.id for p in full][::-1]
        some = repo.load_products(s, db.media_dir, pks)
    assert [p.id for p in some] == pks
    assert {p.id: p for p in some} == {p.id: p for p in full}

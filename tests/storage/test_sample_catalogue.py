"""The bundled sample: a real subset of shared/data with its notice, importable as is."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

import resources
from helpers.storage_checks import media_files
from storage.importers import import_path
from storage.models import Image, ImageLink, Review

SAMPLE = resources.SAMPLE_DIR
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in open(path, encoding="utf-8") if x.strip()]


def test_sample_path_points_at_the_bundled_folder():
    assert resources.sample_path() == SAMPLE
    assert (SAMPLE / "products.jsonl").is_file() and (SAMPLE / "reviews.jsonl").is_file()


def test_sample_shape_and_size():
    products, reviews = _jsonl(SAMPLE / "products.jsonl"), _jsonl(SAMPLE / "reviews.jsonl")
    assert 30 <= len(products) <= 40
    sources = Counter(p["source"] for p in products)
    assert len(sources) == 3 and min(sources.values()) >= 5
    per_product = Counter(r["product_id"] for r in reviews)
    assert max(per_product.values()) >= 100
    assert set(per_product) == {p["product_id"] for p in products}
    assert sum(1 for p in products if p["title"] and p["description"]) >= 5
    assert sum(1 for p in products if p["image_files"]) == 3
    assert sum(1 for r in reviews if r["image_files"]) == 2
    total = sum(f.stat().st_size for f in SAMPLE.rglob("*") if f.is_file())
    assert total < 1_500_000


def test_notice_carries_sources_terms_citations_and_the_placeholder_note():
    notice = (SAMPLE / "NOTICE.md").read_text(encoding="utf-8")
    for needle in ("Amazon Fine Food Reviews", "CC0", "From amateurs to connoisseurs", "Ups and downs",
                   "Image-based recommendations on styles and substitutes", "Justifying recommendations",
                   "GENERATED PLACEHOLDER", "not photographs"):
        assert needle in notice


def test_sample_imports_with_its_images(db):
    report = import_path(db, resources.sample_path())
    products, reviews = _jsonl(SAMPLE / "products.jsonl"), _jsonl(SAMPLE / "reviews.jsonl")
    assert (report.products_added, report.reviews_added, report.images) == (len(products), len(reviews), 5)
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Image)) == 5
        assert s.scalar(select(func.count()).select_from(ImageLink)) == 5
        assert s.scalar(select(func.count()).select_from(Review).where(Review.label.is_(None))) == sum(
            1 for r in reviews if r["helpful_votes"] == 0)
    assert len(media_files(db)) == 5


def test_sample_records_are_real_records_of_shared_data():
    if not (DATA / "reviews.jsonl").is_file():
        pytest.skip(f"{DATA} not present on this machine")
    real_r = {r["review_id"]: r for r in _jsonl(DATA / "reviews.jsonl")}
    real_p = {p["product_id"]: p for p in _jsonl(DATA / "products.jsonl")}
    for p in _jsonl(SAMPLE / "products.jsonl"):
        assert {**p, "image_files": []} == real_p[p["product_id"]]
    n_real = Counter(r["product_id"] for r in real_r.values())
    sample_r = _jsonl(SAMPLE / "reviews.jsonl")
    for r in sample_r:
        assert {**r, "image_files": []} == real_r[r["review_id"]]
    assert Counter(r["product_id"] for r in sample_r) == Counter({pid: n_real[pid] for pid in {r["product_id"] for r in sample_r}})


def test_make_sample_regenerates_the_same_files(tmp_path):
    if not (DATA / "reviews.jsonl").is_file():
        pytest.skip(f"{DATA} not present on this machine")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample", Path(__file__).resolve().parents[2] / "benchmarks" / "make_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--data", str(DATA), "--out", str(tmp_path / "s")])
    for rel in ("products.jsonl", "reviews.jsonl", "NOTICE.md"):
        assert (tmp_path / "s" / rel).read_bytes() == (SAMPLE / rel).read_bytes(), rel
    assert sorted(p.name for p in (tmp_path / "s" / "images").iterdir()) == sorted(p.name for p in (SAMPLE / "images").iterdir())

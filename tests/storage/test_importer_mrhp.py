"""The MRHP importer: pandas orient-"columns" prd/rvw/rel files, splits, label mapping, images/."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpers.storage_checks import media_files, table_checksums, write_png
from storage.errors import CatalogueError
from storage.importers import import_path
from storage.models import Image, ImageLink, Product, Review


def to_json_columns(records: list[dict]) -> str:
    """What pandas ``DataFrame(records).to_json()`` writes (orient "columns", NaN -> null)."""
    cols: dict[str, dict[str, object]] = {}
    keys = list(dict.fromkeys(k for r in records for k in r))
    for k in keys:
        cols[k] = {str(i): r.get(k) for i, r in enumerate(records)}
    return json.dumps(cols)


def write_split(folder: Path, cat: str, split: str, prd, rvw, rel) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, rows in (("prd", prd), ("rvw", rvw), ("rel", rel)):
        (folder / f"{cat}.{kind}.{split}").write_text(to_json_columns(rows), encoding="utf-8")


def make_mrhp(folder: Path) -> Path:
    """Two splits of one category; train upvotes are raw votes (max > 4), dev ones are labels."""
    write_png(folder / "images" / "prod1.jpg.png", (10, 10))
    write_png(folder / "images" / "rev1.png", (12, 12), (0, 255, 0))
    write_split(
        folder, "Home", "train",
        prd=[{"product_id": "H1", "name": "Lamp", "description": "Bright", "img_url": ["http://a.invalid/x/prod1.jpg.png"],
              "brand_name": "Acme", "keyword": None},
             {"product_id": "H2", "name": "Rug", "description": None, "img_url": [], "brand_name": None, "keyword": "soft"}],
        rvw=[{"review_id": "v1", "content": "Great lamp", "title": "Yes", "time": 1500000000,
              "img_url": ["http://a.invalid/rev1.png?size=big", "http://a.invalid/not-here.jpg"]},
             {"review_id": "v2", "content": "Dim", "title": None, "time": "2019-05-01", "img_url": []},
             {"review_id": "v3", "content": "Nice rug", "title": "ok", "time": None, "img_url": None}],
        rel=[{"product_id": "H1", "review_id": "v1", "upvotes": 9},
             {"product_id": "H1", "review_id": "v2", "upvotes": 0},
             {"product_id": "H2", "review_id": "v3", "upvotes": 2}],
    )
    write_split(
        folder, "Home", "dev",
        prd=[{"product_id": "H3", "name": "Chair", "description": "Oak", "img_url": "http://a.invalid/chair.jpg"}],
        rvw=[{"review_id": "d1", "content": "Sturdy"}, {"review_id": "d2", "content": "Wobbly"}],
        rel=[{"product_id": "H3", "review_id": "d1", "upvotes": 3}, {"product_id": "H3", "review_id": "d2", "upvotes": 0}],
    )
    (folder / "features").mkdir()
    (folder / "features" / "H1.pth").write_bytes(b"not read by storage")
    return folder


def test_mrhp_import(db, tmp_path):
    folder = make_mrhp(tmp_path / "mrhp")
    report = import_path(db, folder)
    assert report.format == "mrhp"
    assert (report.products_added, report.reviews_added, report.images) == (3, 5, 2)
    with db.begin() as s:
        products = {p.product_id: p for p in s.scalars(select(Product))}
        assert {k: p.split for k, p in products.items()} == {"H1": "train", "H2": "train", "H3": "dev"}
        h1 = products["H1"]
        assert (h1.title, h1.description, h1.category, h1.extra) == ("Lamp", "Bright", "Home", {"brand_name": "Acme"})
        assert products["H2"].description == "" and products["H2"].extra == {"keyword": "soft"}
        assert products["H3"].image_urls == ["http://a.invalid/chair.jpg"]
        reviews = {r.review_id: r for r in s.scalars(select(Review))}
        # train: max upvotes 9 > 4 -> votes mapped by the label rule; dev: max 3 -> already labels
        assert {k: (r.helpful_votes, r.label) for k, r in reviews.items()} == {
            "v1": (9, 3), "v2": (0, None), "v3": (2, 1), "d1": (3, 3), "d2": (0, 0)}
        v1 = reviews["v1"]
        assert (v1.text, v1.title, v1.time, v1.product_pk) == ("Great lamp", "Yes", 1_500_000_000, h1.id)
        assert reviews["v2"].time == 1556668800  # ISO date, UTC
        assert reviews["v2"].title == ""
        assert s.scalar(select(func.count()).select_from(ImageLink).where(ImageLink.review_pk == v1.id)) == 1
        assert s.scalar(select(func.count()).select_from(ImageLink).where(ImageLink.product_pk == h1.id)) == 1
        assert s.scalar(select(func.count()).select_from(Image)) == 2
    assert len(media_files(db)) == 2


def test_mrhp_reimport_is_idempotent_and_a_file_path_means_its_folder(db, tmp_path):
    folder = make_mrhp(tmp_path / "mrhp")
    import_path(db, folder)
    before, files = table_checksums(db), media_files(db)
    report = import_path(db, folder / "Home.rel.dev")
    assert (report.products_added, report.reviews_added, report.products_updated, report.reviews_updated) == (0, 0, 3, 5)
    after = table_checksums(db)
    for t in ("products", "reviews", "images", "image_links"):
        assert after[t][0] == before[t][0], t
    for t in ("products", "reviews", "images"):
        assert after[t] == before[t], t
    assert media_files(db) == files


def test_integer_ids_written_by_pandas_are_accepted(db, tmp_path):
    folder = tmp_path / "lazada"
    write_split(folder, "Shoes", "test", prd=[{"product_id": 101, "name": "Boot"}],
                rvw=[{"review_id": 5001, "content": "warm"}], rel=[{"product_id": 101, "review_id": 5001, "upvotes": 1}])
    import_path(db, folder)
    with db.begin() as s:
        assert s.scalar(select(Product.product_id)) == "101"
        assert s.scalar(select(Review.review_id)) == "5001"


def test_missing_rel_file_is_named(db, tmp_path):
    folder = make_mrhp(tmp_path / "mrhp")
    (folder / "Home.rel.dev").unlink()
    with pytest.raises(CatalogueError, match=r"Home\.rel\.dev.*missing"):
        import_path(db, folder)


@pytest.mark.parametrize(
    "mutate, file, field, needle",
    [
        (lambda rel: rel[0].update(upvotes=-1), "Home.rel.train", "upvotes", ">= 0"),
        (lambda rel: rel[0].update(upvotes=True), "Home.rel.train", "upvotes", "true/false"),
        (lambda rel: rel[0].update(upvotes=2.5), "Home.rel.train", "upvotes", "whole number"),
        (lambda rel: rel[0].update(review_id="zzz"), "Home.rel.train", "review_id", "not in Home.rvw.train"),
        (lambda rel: rel[0].update(product_id="NOPE"), "Home.rel.train", "product_id", "unknown product"),
        (lambda rel: rel.append(dict(rel[0])), "Home.rel.train", "review_id", "appears twice"),
        (lambda rel: rel.pop(), "Home.rvw.train", "review_id", "has no row in Home.rel.train"),
    ],
)
def test_bad_rel_rows(db, tmp_path, mutate, file, field, needle):
    folder = make_mrhp(tmp_path / "mrhp")
    rel = [{"product_id": "H1", "review_id": "v1", "upvotes": 9}, {"product_id": "H1", "review_id": "v2", "upvotes": 0},
           {"product_id": "H2", "review_id": "v3", "upvotes": 2}]
    mutate(rel)
    (folder / "Home.rel.train").write_text(to_json_columns(rel), encoding="utf-8")
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as info:
        import_path(db, folder)
    assert Path(info.value.path).name == file
    assert info.value.field == field
    assert needle in str(info.value)
    assert "row " in str(info.value)
    assert table_checksums(db) == before
    assert media_files(db) == set()

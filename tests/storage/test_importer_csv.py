"""The CSV importer: review columns, product columns prefixed product_, extras, images."""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpers.storage_checks import media_files, table_checksums, write_good_catalogue, write_png
from storage.errors import CatalogueError
from storage.importers import import_path
from storage.importers.rows import hash_split
from storage.models import Image, ImageLink, Product, Review

HEADER = ["review_id", "product_id", "title", "text", "rating", "helpful_votes", "total_votes", "time", "label",
          "image_files", "image_urls", "product_title", "product_description", "product_category", "product_split",
          "product_image_files", "product_brand", "reviewer"]


def write_csv(path: Path, rows, header=HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def good_rows():
    return [
        ["C1", "CP1", "Nice", "Works well,\nreally.", "5", "3", "4", "1400000000", "", "images/a.png",
         '["http://x.invalid/1.jpg"]', "Lamp", "A lamp", "Home", "", "images/p.png", "Acme", "bob"],
        ["C2", "CP1", "Bad", "Broke.", "1.0", "0", "", "", "", "", "", "Lamp", "A lamp", "Home", "", "images/p.png",
         "Acme", "eve"],
        ["C3", "CP2", "", "Ok", "", "20", "", "", "2", "", "u1;u2", "Desk", "", "Office", "dev", "", "", ""],
    ]


@pytest.fixture
def csv_file(tmp_path) -> Path:
    write_png(tmp_path / "c" / "images" / "a.png", (8, 8), (1, 2, 3))
    write_png(tmp_path / "c" / "images" / "p.png", (9, 9), (4, 5, 6))
    return write_csv(tmp_path / "c" / "reviews.csv", good_rows())


def test_csv_import_counts_fields_and_extras(db, csv_file):
    report = import_path(db, csv_file)
    assert report.format == "csv"
    assert (report.products_added, report.reviews_added, report.images) == (2, 3, 2)
    with db.begin() as s:
        c1 = s.scalar(select(Review).where(Review.review_id == "C1"))
        assert (c1.title, c1.text, c1.rating, c1.helpful_votes, c1.total_votes, c1.time, c1.label) == (
            "Nice", "Works well,\nreally.", 5.0, 3, 4, 1_400_000_000, 1)
        assert c1.image_urls == ["http://x.invalid/1.jpg"]
        assert c1.extra == {"reviewer": "bob"}
        c2 = s.scalar(select(Review).where(Review.review_id == "C2"))
        assert (c2.rating, c2.label, c2.total_votes, c2.time) == (1.0, None, None, None)
        c3 = s.scalar(select(Review).where(Review.review_id == "C3"))
        assert (c3.rating, c3.label, c3.image_urls) == (None, 2, ["u1", "u2"])  # explicit label beats 20 votes
        lamp = s.scalar(select(Product).where(Product.product_id == "CP1"))
        assert (lamp.title, lamp.description, lamp.category, lamp.split) == ("Lamp", "A lamp", "Home", hash_split("CP1"))
        assert lamp.extra == {"brand": "Acme"}
        desk = s.scalar(select(Product).where(Product.product_id == "CP2"))
        assert desk.split == "dev"
        assert s.scalar(select(func.count()).select_from(ImageLink).where(ImageLink.product_pk == lamp.id)) == 1
        sha = hashlib.sha256((csv_file.parent / "images" / "a.png").read_bytes()).hexdigest()
        assert s.scalar(select(Image.relpath).where(Image.sha256 == sha)) == f"{sha[:2]}/{sha}.png"


def test_csv_reimport_is_idempotent(db, csv_file):
    import_path(db, csv_file)
    before, files = table_checksums(db), media_files(db)
    report = import_path(db, csv_file)
    assert (report.products_updated, report.reviews_updated, report.products_added, report.reviews_added) == (2, 3, 0, 0)
    after = table_checksums(db)
    for t in ("products", "reviews", "images", "image_links", "flags", "predictions"):
        assert after[t][0] == before[t][0], t
    for t in ("products", "reviews", "images"):
        assert after[t] == before[t], t
    assert media_files(db) == files


def test_minimal_csv_leaves_existing_product_fields_alone(db, tmp_path):
    import_path(db, write_good_catalogue(tmp_path / "jsonl"))
    path = write_csv(tmp_path / "min.csv", [["R1", "P1", "changed text", "2"], ["Z1", "P1", "new one", "0"]],
                     header=["review_id", "product_id", "text", "helpful_votes"])
    report = import_path(db, path)
    assert (report.products_updated, report.reviews_updated, report.reviews_added) == (1, 1, 1)
    with db.begin() as s:
        p1 = s.scalar(select(Product).where(Product.product_id == "P1"))
        assert (p1.title, p1.description, p1.extra) == ("Kettle", "Boils water.", {"source": "test"})
        r1 = s.scalar(select(Review).where(Review.review_id == "R1"))
        assert (r1.text, r1.helpful_votes, r1.label, r1.rating, r1.title) == ("changed text", 2, 1, 4.0, "t")
        assert s.scalar(select(func.count()).select_from(ImageLink).where(ImageLink.product_pk == p1.id)) == 1


def test_a_utf8_bom_before_the_header_is_skipped(db, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfreview_id,product_id,text,helpful_votes\nA,B,hello,1\n")
    assert import_path(db, path).reviews_added == 1


@pytest.mark.parametrize(
    "rows, line, field, needle",
    [
        ([["X", "P", "t", "-1"]], 2, "helpful_votes", ">= 0"),
        ([["X", "P", "t", "nan"]], 2, "helpful_votes", "finite"),
        ([["X", "P", "t", "many"]], 2, "helpful_votes", "must be a number"),
        ([["X", "P", "t", ""]], 2, "helpful_votes", "empty"),
        ([["X", "P", "t", "1"], ["X", "P", "t", "2"]], 3, "review_id", "duplicate review id"),
        ([["", "P", "t", "1"]], 2, "review_id", "must not be empty"),
        ([["X", "P", "t"]], 2, None, "3 cells, the header 4"),
    ],
)
def test_bad_csv_rows(db, tmp_path, rows, line, field, needle):
    path = write_csv(tmp_path / "bad.csv", rows, header=["review_id", "product_id", "text", "helpful_votes"])
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as info:
        import_path(db, path)
    assert (info.value.line, info.value.field) == (line, field)
    assert needle in str(info.value)
    assert str(info.value).startswith(str(path))
    assert table_checksums(db) == before


def test_conflicting_product_fields_between_rows(db, tmp_path):
    rows = good_rows()
    rows[1][11] = "Other lamp"
    write_png(tmp_path / "c" / "images" / "a.png", (8, 8))
    write_png(tmp_path / "c" / "images" / "p.png", (9, 9))
    path = write_csv(tmp_path / "c" / "r.csv", rows)
    with pytest.raises(CatalogueError) as info:
        import_path(db, path)
    # the first record spans lines 2-3 (a quoted line break), so the second ends on line 4
    assert (info.value.line, info.value.field) == (4, "product_title")
    assert "differs from product 'CP1' on line 3" in str(info.value)


def test_missing_required_column(db, tmp_path):
    path = write_csv(tmp_path / "h.csv", [["X", "P", "1"]], header=["review_id", "product_id", "helpful_votes"])
    with pytest.raises(CatalogueError) as info:
        import_path(db, path)
    assert (info.value.line, info.value.field) == (1, "text")

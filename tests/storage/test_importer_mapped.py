"""Any CSV or JSONL file through a column mapping: the preview / guess / check API a dialog
uses, the import, the CLI's --map (validated), and ISO 8601 times in the existing formats."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from helpers.review_data import write_csv, write_lines
from helpers.storage_checks import good_products, good_reviews, table_checksums, write_good_catalogue
from storage.errors import CatalogueError
from storage.importers import import_path
from storage.importers.mapped import (
    Mapping, MappingError, check_mapping, guess_mapping, parse_map_spec, preview,
)
from storage.models import Product, Review

HEADER = ["", "Id", "Asin", "Body", "Headline", "Stars", "Helpful", "Posted", "Customer", "Shop"]


def rows():
    return [
        [0, "r1", "P1", "Love it", "Yes", "5", "1,204", "2021-01-10", "c1", "north"],
        [1, "r2", "P1", "Meh", "", "3", "0", "2021-01-11T08:30:00Z", "c2", ""],
        [2, "r3", "P2", "", "Empty", "1", "2", "", "c3", "south"],  # no text: dropped
        [3, "r4", "P2", "Ok", "Fine", "4", "3", "1600000000", "c4", "south"],
    ]


MAP = {"review_id": "Id", "product_id": "Asin", "text": "Body", "title": "Headline", "rating": "Stars",
       "helpful_votes": "Helpful", "time": "Posted", "reviewer_id": "Customer"}


@pytest.fixture
def other_csv(tmp_path):
    return write_csv(tmp_path / "shop_export.csv", HEADER, rows())


def test_preview_guesses_a_mapping(other_csv):
    pv = preview(other_csv, n=2)
    assert pv.kind == "csv" and pv.columns == HEADER and len(pv.rows) == 2 and pv.family is None
    assert pv.rows[0]["Body"] == "Love it"
    assert pv.guess == {"review_id": "Id", "product_id": "Asin", "text": "Body", "title": "Headline",
                        "rating": "Stars", "helpful_votes": "Helpful"}
    assert guess_mapping(["ProductId", "Text", "HelpfulnessNumerator", "Score", "Time"]) == {
        "product_id": "ProductId", "text": "Text", "helpful_votes": "HelpfulnessNumerator", "rating": "Score",
        "time": "Time"}
    assert guess_mapping(["asin", "reviewText", "helpful"], [{"helpful": "[1, 2]"}])["helpful"] == "helpful"


def test_check_reports_what_is_dropped_and_why(other_csv):
    chk = check_mapping(other_csv, Mapping(MAP, ignore=("Shop",)))
    assert chk.ok and (chk.rows, chk.reviews, chk.products) == (4, 3, 2)
    assert chk.dropped_columns == {"": "unnamed column (a saved row index?)", "Shop": "ignored by the mapping"}
    assert chk.kept_as_extras == []
    assert chk.dropped_rows == {"review without text": 1}
    bad = write_csv(other_csv.parent / "bad.csv", HEADER, [*rows(), [4, "r5", "P3", "x", "", "9", "1.5k", "", "", ""],
                                                           [5, "r6", "P3", "y", "", "4", "2", "2021-02-30", "", ""]])
    chk = check_mapping(bad, Mapping(MAP))
    assert not chk.ok
    assert chk.problems == [
        (6, "Stars", "must be a number from 1 to 5, got 9"),
        (7, "Posted", chk.problems[1][2]),
    ]
    assert "day is out of range" in chk.problems[1][2]
    assert chk.kept_as_extras == ["Shop"]


def test_import_with_mapping(db, other_csv):
    report = import_path(db, other_csv, mapping=Mapping(MAP))
    assert (report.format, report.reviews_added, report.products_added) == ("mapped", 3, 2)
    assert report.dropped == {"review without text": 1}
    with db.begin() as s:
        r = {x.review_id: x for x in s.scalars(select(Review))}
        assert (r["r1"].text, r["r1"].title, r["r1"].rating, r["r1"].helpful_votes, r["r1"].label, r["r1"].time) == (
            "Love it", "Yes", 5.0, 1204, 4, 1610236800)
        assert r["r1"].extra == {"reviewer_id": "c1", "Shop": "north"}
        assert r["r2"].time == 1610353800 and r["r2"].label is None
        assert r["r4"].time == 1600000000


def test_jsonl_with_mapping_and_derived_ids(db, tmp_path):
    data = [{"sku": "S1", "body": "Nice", "ups": 3, "when": "2020-05-01", "who": "u1"},
            {"sku": "S1", "body": "Nice", "ups": 3, "when": "2020-05-01", "who": "u1"},  # exact repeat
            {"sku": "S2", "body": "Bad", "ups": 0, "who": "u2", "colour": "red"}]
    path = write_lines(tmp_path / "dump.jsonl.gz", [json.dumps(d) for d in data])
    m = Mapping({"product_id": "sku", "text": "body", "helpful_votes": "ups", "time": "when", "reviewer_id": "who"})
    report = import_path(db, path, mapping=m)
    assert report.reviews_added == 2
    assert any("derived" in n for n in report.notes)
    with db.begin() as s:
        ids = {x.review_id: x.extra for x in s.scalars(select(Review))}
    assert ids == {"u1:S1:2020-05-01": {"reviewer_id": "u1"}, "u2:S2:": {"reviewer_id": "u2", "colour": "red"}}


def test_mapping_errors_name_targets_and_columns(db, other_csv):
    with pytest.raises(MappingError, match="unknown target field.*'txt'"):
        parse_map_spec("txt=Body,product_id=Asin")
    with pytest.raises(MappingError, match="malformed"):
        parse_map_spec("product_id")
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as e:
        import_path(db, other_csv, mapping=Mapping({"product_id": "ASIN", "text": "Text"}))
    msg = str(e.value)
    assert "shop_export.csv, line 1" in msg and "'ASIN'" in msg and "'Text'" in msg and "Asin" in msg
    assert table_checksums(db) == before


def test_cli_map(tmp_path, other_csv, capsys):
    from engine.cli import main

    store = tmp_path / "cli.db"
    spec = "review_id=Id,product_id=Asin,text=Body,title=Headline,rating=Stars,helpful_votes=Helpful,time=Posted"
    assert main(["import", str(other_csv), "--db", str(store), "--map", spec]) == 0
    out = capsys.readouterr().out
    assert "reviews_added 3" in out and "dropped: 1 review without text" in out
    assert main(["import", str(other_csv), "--db", str(store), "--map", "product_id=Asin,text=Body,stars=Stars"]) == 2
    assert "unknown target field(s) 'stars'" in capsys.readouterr().err
    assert main(["import", str(other_csv), "--db", str(store), "--map", "product_id=Asin,text=Bdy"]) == 2
    err = capsys.readouterr().err
    assert "shop_export.csv, line 1" in err and "'Bdy'" in err


def test_cli_imports_finefood_and_2018_without_map(tmp_path, capsys):
    from engine.cli import main
    from helpers.review_data import FINEFOOD_HEADER, finefood_rows, jsonl, reviews_2018

    store = tmp_path / "cli.db"
    ff = write_csv(tmp_path / "Reviews.csv", FINEFOOD_HEADER, finefood_rows())
    assert main(["import", str(ff), "--db", str(store)]) == 0
    assert "(finefood)" in capsys.readouterr().out
    gz = write_lines(tmp_path / "All_Beauty_5.json.gz", jsonl(reviews_2018()))
    assert main(["import", str(gz), "--db", str(store)]) == 0
    out = capsys.readouterr().out
    assert "(amazon2018)" in out and "note: review ids derived" in out


# -- ISO 8601 times in the existing formats ------------------------------------------------------

def test_jsonl_catalogue_accepts_iso_times(db, tmp_path):
    reviews = good_reviews()
    reviews[0]["time"] = "2021-01-10"
    reviews[1]["time"] = "2021-01-10T10:00:00.5-01:30"
    folder = write_good_catalogue(tmp_path / "c", good_products(), reviews)
    import_path(db, folder)
    with db.begin() as s:
        t = {x.review_id: x.time for x in s.scalars(select(Review))}
    assert t[reviews[0]["review_id"]] == 1610236800
    assert t[reviews[1]["review_id"]] == 1610236800 + 10 * 3600 + 90 * 60


@pytest.mark.parametrize("bad", ["2021-01-32", "10/01/2021", "2021-01-10T25:00", "yesterday"])
def test_jsonl_catalogue_rejects_bad_iso_times(db, tmp_path, bad):
    reviews = good_reviews()
    reviews[1]["time"] = bad
    folder = write_good_catalogue(tmp_path / "c", good_products(), reviews)
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as e:
        import_path(db, folder)
    assert (e.value.line, e.value.field) == (2, "time") and "reviews.jsonl" in str(e.value)
    assert bad in str(e.value)
    assert table_checksums(db) == before


def test_csv_catalogue_accepts_iso_times(db, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["review_id", "product_id", "text", "helpful_votes", "time"],
                     [["a", "p", "t", "1", "2021-01-10 00:00:01"], ["b", "p", "t", "1", "2021-01-10T00:00Z"]])
    import_path(db, path)
    with db.begin() as s:
        assert {x.review_id: x.time for x in s.scalars(select(Review))} == {"a": 1610236801, "b": 1610236800}
        assert s.scalar(select(Product.product_id)) == "p"

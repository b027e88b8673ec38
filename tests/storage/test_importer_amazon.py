"""The Amazon review data as downloaded (2014, 2018, 2023), Fine Food Reviews.csv and the 2014
CSV export: plain and gzip, a folder with reviews + metadata, detection by content, and broken
files rejected with the file, line and field named and nothing stored."""
from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import select

from helpers.review_data import (
    FINEFOOD_HEADER, finefood_rows, jsonl, meta_2014, meta_2018, meta_2023, reviews_2014, reviews_2018, reviews_2023,
    write_csv, write_lines,
)
from helpers.storage_checks import table_checksums
from storage.errors import CatalogueError
from storage.importers import detect, import_path
from storage.models import Product, Review


def reviews_by_id(db) -> dict:
    with db.begin() as s:
        return {r.review_id: (r.title, r.text, r.rating, r.helpful_votes, r.total_votes, r.time, r.label, r.image_urls,
                              dict(r.extra)) for r in s.scalars(select(Review))}


def products_by_id(db) -> dict:
    with db.begin() as s:
        return {p.product_id: (p.title, p.description, p.category, p.image_urls, dict(p.extra))
                for p in s.scalars(select(Product))}


@pytest.mark.parametrize("gz", [False, True])
def test_2014_folder_reviews_and_python_literal_meta(db, tmp_path, gz):
    ext = ".json.gz" if gz else ".json"
    folder = tmp_path / "dm"
    write_lines(folder / f"reviews_Digital_Music_5{ext}", jsonl(reviews_2014()))
    write_lines(folder / f"meta_Digital_Music{ext}", meta_2014())
    report = import_path(db, folder)
    assert report.format == "amazon2014"
    assert (report.products_added, report.reviews_added) == (2, 3)
    assert report.dropped == {"metadata record of a product without reviews in the file": 1}
    assert any("reviewerID:asin:unixReviewTime" in n for n in report.notes)
    r = reviews_by_id(db)
    assert r["A1:B001:1158019200"] == ("Great", "Great <b>album</b>, really.", 5.0, 3, 4, 1158019200, 1, [],
                                       {"reviewer_id": "A1", "reviewer_name": "Ann"})
    assert r["A2:B001:1158019300"][3:7] == (0, 0, 1158019300, None)  # 0 votes: stored, unlabelled
    assert r["A1:B002:1200000000"][6] == 4  # 20 votes -> min(floor(log2 20), 4)
    p = products_by_id(db)
    assert p["B001"] == ("Memory of Trees", "An album", "CDs & Vinyl > New Age", ["http://x.invalid/1.jpg"],
                         {"categories": [["CDs & Vinyl", "New Age"], ["Music"]], "salesRank": {"Music": 12},
                          "price": 9.99})
    assert p["B002"] == ("", "", "", [], {})  # no metadata: empty text, named by its id in the app
    assert "B999" not in p
    # idempotent: the same ids again
    again = import_path(db, folder)
    assert (again.reviews_added, again.reviews_updated, again.products_added) == (0, 3, 0)


@pytest.mark.parametrize("gz", [False, True])
def test_2018_reviews_votes_styles_images(db, tmp_path, gz):
    folder = tmp_path / "gc"
    ext = ".json.gz" if gz else ".json"
    write_lines(folder / f"Gift_Cards_5{ext}", jsonl(reviews_2018()))
    write_lines(folder / f"meta_Gift_Cards{ext}", jsonl(meta_2018()))
    report = import_path(db, folder)
    assert (report.format, report.reviews_added, report.products_added) == ("amazon2018", 3, 2)
    r = reviews_by_id(db)
    assert r["R1:G1:1527552000"] == ("Nice", "Nice card", 5.0, 1234, None, 1527552000, 4, ["https://x.invalid/a.jpg"],
                                     {"verified": True, "style": {"Gift Amount:": " 50"}, "reviewer_name": "Bo",
                                      "reviewer_id": "R1"})
    assert r["R2:G1:1527552100"][3] == 0 and r["R2:G1:1527552100"][6] is None  # no vote: 0
    assert r["R2:G1:1527552100"][8] == {"verified": False, "reviewer_id": "R2"}
    p = products_by_id(db)
    assert p["G1"] == ("Gift card", "A card.\nIn a box.", "Gift Cards > Cards", ["https://x.invalid/hi.jpg"],
                       {"brand": "Amazon", "main_cat": "Gift Cards"})


@pytest.mark.parametrize("gz", [False, True])
def test_2023_reviews_and_meta(db, tmp_path, gz):
    folder = tmp_path / "beauty"
    ext = ".jsonl.gz" if gz else ".jsonl"
    write_lines(folder / f"All_Beauty{ext}", jsonl(reviews_2023()))
    write_lines(folder / f"meta_All_Beauty{ext}", jsonl(meta_2023()))
    report = import_path(db, folder)
    assert (report.format, report.reviews_added, report.products_added) == ("amazon2023", 2, 2)
    r = reviews_by_id(db)
    assert r["U1:V1:1588687728923"] == ("Love it", "Smells great", 5.0, 2, None, 1588687728, 1,
                                        ["https://x.invalid/l.jpg"], {"verified": True, "reviewer_id": "U1", "asin": "V1"})
    p = products_by_id(db)
    assert p["P1"][:4] == ("Soap", "Good soap.", "All Beauty", ["https://x.invalid/L.jpg"])
    assert p["P1"][4]["store"] == "Acme" and "bought_together" not in p["P1"][4]


@pytest.mark.parametrize("gz", [False, True])
def test_finefood_reviews_csv(db, tmp_path, gz):
    path = write_csv(tmp_path / ("Reviews.csv.gz" if gz else "Reviews.csv"), FINEFOOD_HEADER, finefood_rows(), gz=gz)
    report = import_path(db, path)
    assert (report.format, report.reviews_added, report.products_added) == ("finefood", 3, 3)
    r = reviews_by_id(db)
    assert r["ff-3"] == ('"Delight" says it all', "This is a confection that has been around a few centuries.<br />Yes.",
                         4.0, 8, 9, 1219017600, 3, [],
                         {"reviewer_id": "ABXLMWJIXXAIN", "reviewer_name": 'Natalia Corres "Natalia Corres"'})
    assert products_by_id(db)["B001E4KFG0"] == ("", "", "", [], {})


def test_2014_csv_export_gets_the_json_ids(db, tmp_path):
    header = ["", "reviewerID", "asin", "reviewerName", "helpful", "reviewText", "overall", "summary", "unixReviewTime",
              "reviewTime"]
    rows = [[i, r["reviewerID"], r["asin"], r.get("reviewerName", ""), json.dumps(r["helpful"]), r["reviewText"],
             r["overall"], r["summary"], r["unixReviewTime"], r["reviewTime"]] for i, r in enumerate(reviews_2014())]
    path = write_csv(tmp_path / "export.csv", header, rows)
    report = import_path(db, path)
    assert report.format == "amazon2014-csv"
    r = reviews_by_id(db)
    assert set(r) == {"A1:B001:1158019200", "A2:B001:1158019300", "A1:B002:1200000000"}
    assert r["A1:B001:1158019200"][3:7] == (3, 4, 1158019200, 1)
    assert any("reviewTime" in n for n in report.notes)


def test_detection_by_content_whatever_the_name(tmp_path):
    cases = {
        "download_1.bin": (jsonl(reviews_2014()), "amazon2014", "reviews"),
        "x.txt.gz": (jsonl(reviews_2018()), "amazon2018", "reviews"),
        "data": (jsonl(reviews_2023()), "amazon2023", "reviews"),
        "m.dat": (meta_2014(), "amazon2014", "meta"),
        "m2.gz": (jsonl(meta_2018()), "amazon2018", "meta"),
        "m3": (jsonl(meta_2023()), "amazon2023", "meta"),
    }
    for name, (content, fmt, role) in cases.items():
        path = write_lines(tmp_path / name, content, gz=name.endswith(".gz"))
        d = detect(path)
        assert d.format == fmt, name
        assert (d.reviews if role == "reviews" else d.meta) == path
    ff = write_csv(tmp_path / "export_2024.txt", FINEFOOD_HEADER, finefood_rows(), gz=True)
    assert detect(ff).format == "finefood"
    # a folder with unhelpful names: reviews + metadata found by content
    folder = tmp_path / "dl"
    write_lines(folder / "a.gz", jsonl(reviews_2018()))
    write_lines(folder / "b.gz", jsonl(meta_2018()))
    (folder / "README.txt").write_text("hello\n")
    d = detect(folder)
    assert (d.format, d.reviews.name, d.meta.name) == ("amazon2018", "a.gz", "b.gz")


def test_unrecognised_file_lists_what_was_tried(tmp_path):
    path = write_lines(tmp_path / "All_Beauty_5.json.gz", [json.dumps({"foo": 1, "bar": 2})])
    with pytest.raises(CatalogueError, match="cannot tell the format") as e:
        detect(path)
    msg = str(e.value)
    assert "foo" in msg and "Amazon 2014" in msg and "Amazon 2018" in msg and "2023" in msg and "--map" in msg
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing here\n")
    with pytest.raises(CatalogueError, match="not a catalogue folder") as e:
        detect(folder)
    assert "notes.txt" in str(e.value) and "Tried" in str(e.value)


def test_duplicates_and_reviews_without_text(db, tmp_path):
    rows = reviews_2018()
    rows.append(dict(rows[0]))  # an exact repeat (the 2018 files hold some)
    rows.append({**rows[1], "reviewText": "Other text"})  # same reviewer, product, time; other text
    rows.append({"reviewerID": "R9", "asin": "G1", "overall": 4.0, "unixReviewTime": 1527552900})  # no text
    path = write_lines(tmp_path / "Gift_Cards.json", jsonl(rows))
    report = import_path(db, path)
    assert report.reviews_added == 4
    assert report.dropped == {"exact duplicate review (same reviewer, product, time and text)": 1,
                              "review without text": 1}
    assert "R2:G1:1527552100#2" in reviews_by_id(db)


# -- broken inputs: file, line and field named, nothing stored -----------------------------------

def _assert_rejected(db, path, file_name, line, field, needle):
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as e:
        import_path(db, path)
    err = e.value
    assert err.path.endswith(file_name), str(err)
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert needle.lower() in str(err).lower(), str(err)
    assert table_checksums(db) == before


def test_truncated_gzip_is_rejected(db, tmp_path, good_catalogue):
    import_path(db, good_catalogue)  # something to keep
    rows = [{**reviews_2018()[0], "reviewerID": f"R{i}", "reviewText": f"text {i} " + "x" * (i % 50)}
            for i in range(2000)]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)
    path = tmp_path / "Gift_Cards_5.json.gz"
    path.write_bytes(data[: len(data) // 2])
    before = table_checksums(db)
    with pytest.raises(CatalogueError, match="truncated") as e:
        import_path(db, path)
    assert e.value.path.endswith("Gift_Cards_5.json.gz") and e.value.line is not None and 1 < e.value.line <= 2000
    assert table_checksums(db) == before


def test_python_literal_meta_with_a_call_is_refused_never_run(db, tmp_path, good_catalogue):
    import_path(db, good_catalogue)
    marker = tmp_path / "pwned"
    folder = tmp_path / "dm"
    write_lines(folder / "reviews_Digital_Music_5.json.gz", jsonl(reviews_2014()))
    evil = "{'asin': 'B002', 'title': __import__('os').system('touch %s')}" % marker
    write_lines(folder / "meta_Digital_Music.json.gz", [meta_2014()[0], evil])
    _assert_rejected(db, folder, "meta_Digital_Music.json.gz", 2, "title", "not a Python literal")
    assert not marker.exists()


def test_vote_1_5k_is_rejected(db, tmp_path, good_catalogue):
    import_path(db, good_catalogue)
    rows = reviews_2018()
    rows[2]["vote"] = "1.5k"
    path = write_lines(tmp_path / "Gift_Cards_5.json.gz", jsonl(rows))
    _assert_rejected(db, path, "Gift_Cards_5.json.gz", 3, "vote", "1.5k")


def test_bad_iso_date_is_rejected(db, tmp_path, good_catalogue):
    import_path(db, good_catalogue)
    rows = reviews_2014()
    rows[1]["unixReviewTime"] = "2021-13-45"
    path = write_lines(tmp_path / "reviews_X.json", jsonl(rows))
    _assert_rejected(db, path, "reviews_X.json", 2, "unixReviewTime", "2021-13-45")


def test_iso_dates_are_read_in_the_amazon_files(db, tmp_path):
    rows = reviews_2014()
    rows[0]["unixReviewTime"] = "2021-01-10"
    rows[1]["unixReviewTime"] = "2021-01-10T12:00:00+02:00"
    path = write_lines(tmp_path / "reviews_X.json", jsonl(rows))
    import_path(db, path)
    r = reviews_by_id(db)
    assert r["A1:B001:2021-01-10"][5] == 1610236800
    assert r["A2:B001:2021-01-10T12:00:00+02:00"][5] == 1610236800 + 10 * 3600

"""Exporting flags and review rows to CSV or JSONL."""
from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import select

from storage import repository as repo
from storage.errors import StorageError
from storage.exporters import export_flags, export_reviews, export_rows
from storage.importers import import_path
from storage.models import Review
from storage.records import PredictionIn


@pytest.fixture
def flagged_db(db, good_catalogue):
    import_path(db, good_catalogue)
    with db.begin() as s:
        r2 = s.scalar(select(Review.id).where(Review.review_id == "R2"))
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        repo.write_predictions(s, mv.id, [PredictionIn(r2, 1.25, (0.1, 0.2, 0.3, 0.4, 0.5))])
        repo.add_flag(s, r2, "spam", "alice", corrected_label=0, note="=HYPERLINK(\"http://x\")")
        gone = repo.add_flag(s, r2, "other", "bob")
        repo.undo_flag(s, gone.id, "bob")
    return db, mv.id


def test_export_flags_csv_and_jsonl(flagged_db, tmp_path):
    db, _ = flagged_db
    with db.begin() as s:
        assert export_flags(s, tmp_path / "flags.csv") == 1
        assert export_flags(s, tmp_path / "flags.jsonl") == 1
    rows = list(csv.DictReader(open(tmp_path / "flags.csv", encoding="utf-8")))
    assert [(r["review_id"], r["product_id"], r["kind"], r["corrected_label"], r["author"]) for r in rows] == [
        ("R2", "P1", "spam", "0", "alice")]
    assert rows[0]["note"].startswith("'=")  # a formula is neutralised for spreadsheets
    obj = json.loads((tmp_path / "flags.jsonl").read_text(encoding="utf-8"))
    assert obj["note"] == "=HYPERLINK(\"http://x\")" and obj["corrected_label"] == 0


def test_export_reviews_with_scores(flagged_db, tmp_path):
    db, mv = flagged_db
    with db.begin() as s:
        p1 = repo.get_product_pk(s, "P1")
        assert export_reviews(s, tmp_path / "r.jsonl", product_pk=p1, model_version_id=mv) == 4
    rows = [json.loads(x) for x in open(tmp_path / "r.jsonl", encoding="utf-8")]
    assert rows[0]["review_id"] == "R2" and rows[0]["score"] == 1.25 and rows[0]["s_rt_rv"] == 0.5
    assert rows[0]["flag_kind"] == "spam"
    assert {r["review_id"] for r in rows} == {"R1", "R2", "R3", "R4"}


def test_export_rows_unknown_extension_and_no_partial_file(tmp_path):
    with pytest.raises(StorageError, match=r"\.csv or \.jsonl"):
        export_rows([{"a": 1}], tmp_path / "x.xlsx")

    def boom():
        yield {"a": 1}
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        export_rows(boom(), tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_export_rows_csv_round_trip_of_plain_values(tmp_path):
    n = export_rows([{"a": 1, "b": "x,y", "c": None, "d": [1, 2]}, {"a": -2, "b": "é"}], tmp_path / "o.csv")
    assert n == 2
    rows = list(csv.DictReader(open(tmp_path / "o.csv", encoding="utf-8")))
    assert rows == [{"a": "1", "b": "x,y", "c": "", "d": "[1, 2]"}, {"a": "-2", "b": "é", "c": "", "d": ""}]

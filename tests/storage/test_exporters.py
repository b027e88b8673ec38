"""Exporting flags and review rows to CSV or JSONL."""
from __future__ import annotations

import csv
import datetime as dt
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


def test_flags_export_names_the_product_the_model_and_the_export_time(flagged_db, tmp_path):
    db, mv = flagged_db
    with db.begin() as s:
        assert export_flags(s, tmp_path / "flags.csv", exported_at="2024-05-01T12:00:00+00:00") == 1
        export_flags(s, tmp_path / "flags.jsonl")
    (row,) = csv.DictReader(open(tmp_path / "flags.csv", encoding="utf-8"))
    assert (row["product_id"], row["model_version"], row["exported_at"]) == ("P1", "", "2024-05-01T12:00:00+00:00")
    with db.begin() as s:
        r3 = s.scalar(select(Review.id).where(Review.review_id == "R3"))
        repo.add_flag(s, r3, "spam", "ana", model_version_id=mv)
        export_flags(s, tmp_path / "flags2.jsonl")
    rows = {r["review_id"]: r for r in map(json.loads, open(tmp_path / "flags2.jsonl", encoding="utf-8"))}
    assert (rows["R3"]["model_version"], rows["R3"]["model_version_id"]) == ("m", mv)
    stamp = dt.datetime.fromisoformat(rows["R3"]["exported_at"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 3600


def test_export_reviews_of_every_product_name_product_and_model(flagged_db, tmp_path):
    db, mv = flagged_db
    with db.begin() as s:
        assert export_reviews(s, tmp_path / "all.csv", model_version_id=mv, exported_at="2024-05-01T12:00:00+00:00") == 8
    rows = list(csv.DictReader(open(tmp_path / "all.csv", encoding="utf-8")))
    assert {r["product_id"] for r in rows} == {"P1", "P2", "P3"}
    by_id = {r["review_id"]: r for r in rows}
    assert (by_id["R2"]["model_version"], by_id["R2"]["model_version_id"]) == ("m", str(mv))  # the scored one
    assert (by_id["R5"]["model_version"], by_id["R5"]["model_version_id"]) == ("", "")
    assert {r["exported_at"] for r in rows} == {"2024-05-01T12:00:00+00:00"}


def test_export_rows_streams_a_generator_when_the_columns_are_given(tmp_path):
    written_while_reading = []

    def rows():
        for i in range(5000):
            if i == 4000:  # rows already given are in the file (part) before the last ones are read
                written_while_reading.append(sum(p.stat().st_size for p in tmp_path.glob(".big.csv.*.part")))
            yield {"a": i, "b": "=1+1" if i == 3 else "x"}

    assert export_rows(rows(), tmp_path / "big.csv", fields=("a", "b")) == 5000
    lines = (tmp_path / "big.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "a,b" and len(lines) == 5001 and lines[4] == "3,'=1+1"
    assert written_while_reading[0] > 10_000


def test_exports_carry_each_scores_explanation(db, good_catalogue, tmp_path):
    """Base, the largest part in words and every part (largest first): base + parts = score;
    empty for a score stored without an explanation. The view export of the app carries them too."""
    from gui.export import export_view
    from gui.state.review_table import ReviewQuery
    from storage.records import ReviewFilter

    import_path(db, good_catalogue)
    explanation = {"version": 1, "score": 1.25, "base": 0.5, "reference": "training mean",
                   "parts": [["meta:length", "review length", 0.9], ["block:p_t r_t", "product text \u00d7 review text", -0.15]]}
    with db.begin() as s:
        r1, r2 = (s.scalar(select(Review.id).where(Review.review_id == rid)) for rid in ("R1", "R2"))
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        repo.write_predictions(s, mv.id, [PredictionIn(r2, 1.25, (0.1,) * 5, explanation), PredictionIn(r1, 0.3, (0.2,) * 5)])
        n = export_reviews(s, tmp_path / "r.csv", model_version_id=mv.id)  # every review of the catalogue
        assert export_view(s, ReviewQuery(None, mv.id, "score", True, ReviewFilter()), tmp_path / "v.jsonl") == n
    rows = {r["review_id"]: r for r in csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8"))}
    assert rows["R2"]["top_reason"] == "review length +0.90"
    parts = json.loads(rows["R2"]["score_parts"])
    assert parts == [["review length", 0.9], ["product text \u00d7 review text", -0.15]]
    assert float(rows["R2"]["score_base"]) + sum(v for _, v in parts) == pytest.approx(float(rows["R2"]["score"]))
    assert rows["R1"]["top_reason"] == "" and rows["R1"]["score_parts"] == "" and rows["R1"]["score"] == "0.3"
    view = {r["review_id"]: r for r in map(json.loads, open(tmp_path / "v.jsonl", encoding="utf-8"))}
    assert view["R2"]["top_reason"] == "review length +0.90" and view["R2"]["score_base"] == 0.5
    assert view["R1"]["score_base"] is None

"""What the import does for speed must not change what it does: the gzip line count (the
progress total) is estimated from a sample, and the command-line import runs with the cyclic
garbage collector on but its thresholds raised, and puts them back whatever happens."""
from __future__ import annotations

import gc
import gzip
import json
import random

import pytest

from storage.importers import import_path, lines


def _gz(path, n: int, width: int = 60) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"i": i, "pad": "x" * (width + i % 17)}) + "\n")


def test_gzip_line_count_is_exact_when_the_sample_is_the_whole_file(tmp_path):
    _gz(tmp_path / "a.gz", 5000)
    assert lines.count_lines(tmp_path / "a.gz") == 5000
    plain = tmp_path / "b.jsonl"
    plain.write_text("{}\n{}\n{}", encoding="utf-8")  # plain files: counted, unterminated last line too
    assert lines.count_lines(plain) == 3


def test_gzip_line_count_of_a_larger_file_is_estimated_from_its_start(tmp_path, monkeypatch):
    monkeypatch.setattr(lines, "GZIP_SAMPLE_BYTES", 1 << 20)
    _gz(tmp_path / "a.gz", 100_000)  # ~8 MiB of text: the first 1 MiB (+ a read) is decompressed
    n = lines.count_lines(tmp_path / "a.gz")
    assert n != 100_000 and 80_000 <= n <= 120_000


def test_an_amazon_import_reports_its_true_row_count_at_the_end(tmp_path, monkeypatch, db):
    monkeypatch.setattr(lines, "GZIP_SAMPLE_BYTES", 1 << 16)
    path = tmp_path / "Books_5.json.gz"
    rng = random.Random(1)
    n = 12_000  # ~2.5 MiB of text: more than one read of the line count
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(f"{rng.getrandbits(40):x}" for _ in range(5 + i % 30))
            f.write(json.dumps({"overall": 5.0, "reviewerID": f"A{i}", "asin": f"B{i % 50:09d}", "unixReviewTime": 1,
                                "reviewText": text, "summary": "s"}) + "\n")
    seen = []
    report = import_path(db, path, progress=lambda done, total: seen.append((done, total)))
    assert report.reviews_added == n
    assert seen[0][1] != n  # the estimate
    assert seen[-1] == (n, n)  # the end: what was read


@pytest.mark.parametrize("good", [True, False])
def test_the_command_line_import_keeps_the_collector_on_and_restores_its_thresholds(tmp_path, good, monkeypatch):
    import storage.importers as importers
    from engine.cli import main

    folder = tmp_path / "cat"
    folder.mkdir()
    (folder / "products.jsonl").write_text(json.dumps({"product_id": "P1"}) + "\n", encoding="utf-8")
    review = {"review_id": "R1", "product_id": "P1", "text": "fine", "helpful_votes": 1 if good else -1}
    (folder / "reviews.jsonl").write_text(json.dumps(review) + "\n", encoding="utf-8")
    seen = []
    real = importers.import_path

    def spy(*a, **k):
        seen.append((gc.isenabled(), gc.get_threshold()))
        return real(*a, **k)

    monkeypatch.setattr(importers, "import_path", spy)
    before = gc.get_threshold()
    assert gc.isenabled()
    rc = main(["import", str(folder), "--db", str(tmp_path / "s.db")])
    assert rc == (0 if good else 2)
    assert seen and seen[0][0] is True, "the collector must stay on during the import"
    assert seen[0][1][0] > before[0], "young collections are made rarer during the import"
    assert gc.isenabled() and gc.get_threshold() == before


def _state(db):
    from sqlalchemy import text

    with db.begin() as s:
        reviews = s.execute(text("SELECT r.review_id, p.product_id, r.title, r.text, r.rating, r.helpful_votes, r.label, "
                                 "r.extra FROM reviews r JOIN products p ON p.id = r.product_pk ORDER BY r.review_id")).all()
        return reviews, s.scalar(text("SELECT count(*) FROM image_links"))


def test_writing_reviews_in_chunks_changes_nothing_of_what_is_stored(tmp_path, monkeypatch):
    from helpers.storage_checks import good_reviews, write_good_catalogue
    from storage import open_database
    from storage.importers import writer

    first = write_good_catalogue(tmp_path / "first")
    changed = good_reviews()
    changed[1]["text"] = "Changed text"
    changed[4]["product_id"] = "P1"  # moved
    changed += [{**changed[0], "review_id": f"N{i}", "text": f"new {i}"} for i in range(7)]
    second = write_good_catalogue(tmp_path / "second", reviews=changed)
    results = []
    for chunk in (writer.WRITE_CHUNK, 3):
        monkeypatch.setattr(writer, "WRITE_CHUNK", chunk)
        db = open_database(str(tmp_path / f"c{chunk}.db"), media_dir=tmp_path / f"m{chunk}")
        a = import_path(db, first)
        b = import_path(db, second)
        results.append(((a.reviews_added, a.reviews_updated, b.reviews_added, b.reviews_updated, b.scores_dropped),
                        _state(db)))
        db.dispose()
    assert results[0][0] == results[1][0] == (8, 0, 7, 8, 0)
    assert results[0][1] == results[1][1]
    assert len(results[1][1][0]) == 15


def test_the_command_line_says_the_index_is_behind_and_index_search_catches_it_up(tmp_path, capsys):
    from engine.cli import main
    from helpers.storage_checks import write_good_catalogue

    db = str(tmp_path / "s.db")
    assert main(["import", str(write_good_catalogue(tmp_path / "good")), "--db", db]) == 0
    assert "note: 8 reviews join the search index at the first search" in capsys.readouterr().out
    assert main(["index-search", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == "search index: 8 reviews added"
    assert main(["index-search", "--db", db, "--json-progress"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["event"], e.get("reviews_waiting", e.get("reviews_indexed"))) for e in events] == \
        [("started", 0), ("done", 0)]

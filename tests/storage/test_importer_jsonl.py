"""The ReviewScope JSONL catalogue importer on good and bad input."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpers.storage_checks import (
    good_products, good_reviews, media_files, table_checksums, write_good_catalogue, write_jsonl, write_png,
)
from storage import repository as repo
from storage.errors import CatalogueError
from storage.importers import ImportReport, import_path
from storage.importers.rows import hash_split
from storage.models import AuditEvent, Image, ImageLink, Product, Review


def _review(s, rid):
    return s.scalar(select(Review).where(Review.review_id == rid))


def _product(s, pid):
    return s.scalar(select(Product).where(Product.product_id == pid))


def test_import_counts_and_report(db, good_catalogue):
    report = import_path(db, good_catalogue)
    assert isinstance(report, ImportReport)
    assert report.format == "jsonl"
    assert (report.products_added, report.products_updated) == (3, 0)
    assert (report.reviews_added, report.reviews_updated) == (8, 0)
    assert (report.images, report.images_added) == (2, 2)
    assert report.seconds > 0
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 3
        assert s.scalar(select(func.count()).select_from(Review)) == 8


def test_fields_labels_and_extras_are_stored(db, good_catalogue):
    import_path(db, good_catalogue)
    with db.begin() as s:
        p1 = _product(s, "P1")
        assert (p1.title, p1.description, p1.category) == ("Kettle", "Boils water.", "Kitchen")
        assert p1.image_urls == ["http://example.invalid/k.jpg"]
        assert p1.extra == {"source": "test"}
        assert _product(s, "P3").extra == {}
        r2 = _review(s, "R2")
        assert (r2.rating, r2.helpful_votes, r2.total_votes, r2.time) == (1.0, 1, 3, 1_300_000_000)
        assert r2.title == "t"
        # labels: 0 votes -> NULL but stored; votes -> MMSS.md rule; explicit label wins
        labels = {r.review_id: r.label for r in s.scalars(select(Review))}
        assert labels == {"R1": None, "R2": 0, "R3": 1, "R4": 3, "R5": 1, "R6": 2, "R7": 1, "R8": 4}
        assert _review(s, "R6").extra == {"source": "x"}
        assert _review(s, "R6").rating is None
        assert _review(s, "R7").text == "Tasty \u00e9t\u00e9 \u2603."


def test_split_given_or_from_a_stable_hash(db, good_catalogue):
    import_path(db, good_catalogue)
    with db.begin() as s:
        assert _product(s, "P2").split == "test"
        for pid in ("P1", "P3"):
            assert _product(s, pid).split == hash_split(pid)


def test_hash_split_is_deterministic_and_near_64_16_20():
    ids = [f"B{i:09d}" for i in range(20000)]
    splits = [hash_split(i) for i in ids]
    # the same in another interpreter with another string-hash seed (no use of hash())
    import subprocess
    import sys

    code = "import sys; from storage.importers.rows import hash_split; print(''.join(hash_split(f'B{i:09d}')[0] for i in range(2000)))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": "12345"}).stdout.strip()
    assert other == "".join(s[0] for s in splits[:2000])
    share = {k: splits.count(k) / len(ids) for k in ("train", "dev", "test")}
    assert abs(share["train"] - 0.64) < 0.02 and abs(share["dev"] - 0.16) < 0.015 and abs(share["test"] - 0.20) < 0.015
    # the documented rule: first 8 bytes of sha256, mod 100
    for pid in ["P1", *ids[:500]]:
        h = int.from_bytes(hashlib.sha256(pid.encode()).digest()[:8], "big") % 100
        assert hash_split(pid) == ("train" if h < 64 else "dev" if h < 80 else "test")


def test_images_are_stored_content_addressed(db, good_catalogue):
    import_path(db, good_catalogue)
    raw = (good_catalogue / "images" / "kettle.png").read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    stored = Path(db.media_dir) / sha[:2] / f"{sha}.png"
    assert stored.read_bytes() == raw
    with db.begin() as s:
        img = s.scalar(select(Image).where(Image.sha256 == sha))
        assert (img.relpath, img.width, img.height, img.format, img.n_bytes) == (f"{sha[:2]}/{sha}.png", 32, 20, "PNG", len(raw))
        p1 = _product(s, "P1")
        detail = repo.get_review_detail(s, _review(s, "R3").id, None, db.media_dir)
        assert len(detail.review_images) == 1 and Path(detail.review_images[0].path).is_file()
        assert [i.sha256 for i in detail.product_images] == [sha]
        assert s.scalar(select(func.count()).select_from(ImageLink).where(ImageLink.product_pk == p1.id)) == 1
    assert len(media_files(db)) == 2


def test_same_image_used_twice_is_stored_once(db, tmp_path):
    folder = tmp_path / "c"
    products = good_products()
    products[1]["image_files"] = ["images/kettle.png", "images/copy.png"]
    write_good_catalogue(folder, products=products)
    write_png(folder / "images" / "copy.png", (32, 20), (10, 120, 200))  # same pixels, same bytes
    report = import_path(db, folder)
    assert report.images == 2  # kettle (== copy) and r3
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Image)) == 2
        assert s.scalar(select(func.count()).select_from(ImageLink)) == 4


def test_either_file_path_means_its_folder(db, good_catalogue):
    report = import_path(db, good_catalogue / "reviews.jsonl")
    assert (report.products_added, report.reviews_added) == (3, 8)
    report = import_path(db, good_catalogue / "products.jsonl")
    assert (report.products_updated, report.reviews_updated) == (3, 8)


def test_reimport_is_idempotent_and_keeps_flags_and_predictions(db, good_catalogue):
    import_path(db, good_catalogue)
    with db.begin() as s:
        r4 = _review(s, "R4").id
        mv = repo.register_model_version(s, "m1", "/x", "0" * 64)
        repo.write_predictions(s, mv.id, [repo.PredictionIn(r4, 1.5, (0.1,) * 5)])
        flag = repo.add_flag(s, r4, "spam", "alice", corrected_label=0)
    before = table_checksums(db)
    files_before = media_files(db)
    report = import_path(db, good_catalogue)
    assert (report.products_added, report.products_updated, report.reviews_added, report.reviews_updated) == (0, 3, 0, 8)
    assert report.images_added == 0
    after = table_checksums(db)
    for table in ("products", "reviews", "images", "flags", "predictions", "model_versions"):
        assert after[table][0] == before[table][0], table
    for table in ("products", "reviews", "flags", "predictions"):
        assert after[table] == before[table], table  # same rows, same values, same primary keys
    assert after["audit_events"][0] == before["audit_events"][0] + 1
    assert media_files(db) == files_before
    with db.begin() as s:
        assert repo.get_flag(s, flag.id).review_pk == r4
        assert s.scalar(select(func.count()).select_from(ImageLink)) == 2


def test_reimport_updates_changed_fields_in_place(db, tmp_path):
    folder = write_good_catalogue(tmp_path / "c")
    import_path(db, folder)
    with db.begin() as s:
        pk = _review(s, "R2").id
    reviews = good_reviews()
    reviews[1] = {**reviews[1], "text": "Edited text", "helpful_votes": 9}
    products = good_products()
    products[0] = {**products[0], "title": "Kettle 2", "image_files": []}
    write_jsonl(folder / "reviews.jsonl", reviews)
    write_jsonl(folder / "products.jsonl", products)
    import_path(db, folder)
    with db.begin() as s:
        r2 = _review(s, "R2")
        assert (r2.id, r2.text, r2.helpful_votes, r2.label) == (pk, "Edited text", 9, 3)
        assert _product(s, "P1").title == "Kettle 2"
        assert s.scalar(select(func.count()).select_from(ImageLink).where(ImageLink.product_pk == _product(s, "P1").id)) == 0


def _scored_products(db) -> dict[str, int]:
    from storage.models import Prediction

    with db.begin() as s:
        rows = s.execute(select(Product.product_id, func.count(Prediction.id)).join(Review, Review.product_pk == Product.id)
                         .join(Prediction, Prediction.review_pk == Review.id).group_by(Product.product_id)).all()
    return dict(rows)


def test_an_import_that_changes_what_scores_read_clears_them_and_only_them(db, tmp_path):
    """A score is computed from the review's text and metadata (relative to its product's other
    reviews) and its product's text and images: when an import changes any of them, or adds a
    review beside them, those products' scores under every model are deleted (they read 'not
    scored' until rescored); a change of votes alone, or an identical re-import, keeps them."""
    folder = write_good_catalogue(tmp_path / "c")
    import_path(db, folder)
    with db.begin() as s:
        pks = list(s.scalars(select(Review.id)))
        for name in ("m1", "m2"):
            mv = repo.register_model_version(s, name, f"/{name}", "0" * 64)
            repo.write_predictions(s, mv.id, [repo.PredictionIn(pk, 1.0, (0.1,) * 5) for pk in pks])
    assert _scored_products(db) == {"P1": 8, "P2": 4, "P3": 4}
    reviews, products = good_reviews(), good_products()
    reviews[1] = {**reviews[1], "text": "Broke after a week. Edited."}  # P1: a review's text
    reviews[6] = {**reviews[6], "helpful_votes": 99}  # P3: votes only, no score reads them
    reviews.append({"review_id": "R9", "product_id": "P2", "text": "New beside the others", "helpful_votes": 1})
    write_jsonl(folder / "reviews.jsonl", reviews)
    write_jsonl(folder / "products.jsonl", products)
    report = import_path(db, folder)
    assert report.scores_dropped == 8 + 4
    assert _scored_products(db) == {"P3": 4}
    with db.begin() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.id.desc())).first()
        assert event.details["scores_dropped"] == 12
    # a product's text or images changing clears its reviews' scores too
    with db.begin() as s:
        p3 = [pk for (pk,) in s.execute(select(Review.id).join(Product).where(Product.product_id == "P3"))]
    products[2] = {**products[2], "title": "Now it has a name"}
    write_jsonl(folder / "products.jsonl", products)
    assert import_path(db, folder).scores_dropped == 2 * len(p3)  # under both models
    assert _scored_products(db) == {}


def test_reviews_of_products_imported_earlier(db, tmp_path):
    import_path(db, write_good_catalogue(tmp_path / "first"))
    second = tmp_path / "second"
    write_jsonl(second / "reviews.jsonl", [
        {"review_id": "N1", "product_id": "P2", "text": "new", "helpful_votes": 5},
    ])
    write_jsonl(second / "products.jsonl", [{"product_id": "P9", "title": "Other"}])
    report = import_path(db, second)
    assert (report.products_added, report.reviews_added) == (1, 1)
    with db.begin() as s:
        assert _review(s, "N1").product_pk == _product(s, "P2").id


def test_reviews_only_folder(db, tmp_path):
    import_path(db, write_good_catalogue(tmp_path / "first"))
    only = tmp_path / "only"
    write_jsonl(only / "reviews.jsonl", [{"review_id": "N2", "product_id": "P1", "text": "x", "helpful_votes": 0}])
    assert import_path(db, only).reviews_added == 1


def test_audit_event_records_path_and_counts(db, good_catalogue):
    import_path(db, good_catalogue, actor="tester")
    with db.begin() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
        assert ev.actor == "tester"
        assert ev.target_id == str(good_catalogue)
        assert ev.details["reviews_added"] == 8 and ev.details["products_added"] == 3
        assert ev.details["format"] == "jsonl"


def test_progress_reports_done_and_total(db, good_catalogue):
    calls = []
    import_path(db, good_catalogue, progress=lambda done, total: calls.append((done, total)))
    assert calls[0][0] == 0
    assert calls[-1][0] == calls[-1][1] == 11  # 3 product lines + 8 review lines
    assert all(d <= t for d, t in calls)


def test_a_raising_progress_callback_aborts_with_nothing_written(db, good_catalogue):
    before = table_checksums(db)

    class Cancelled(Exception):
        pass

    def cancel(done, total):
        if done:
            raise Cancelled

    with pytest.raises(Cancelled):
        import_path(db, good_catalogue, progress=cancel)
    assert table_checksums(db) == before
    assert media_files(db) == set()


def test_blank_lines_and_a_bom_are_accepted(db, tmp_path):
    folder = write_good_catalogue(tmp_path / "c")
    text = (folder / "products.jsonl").read_text(encoding="utf-8")
    (folder / "products.jsonl").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\n\n", 1).encode("utf-8"))
    assert import_path(db, folder).products_added == 3


def test_bad_row_names_file_line_field_and_changes_nothing(db, tmp_path):
    import_path(db, write_good_catalogue(tmp_path / "first"))
    before, files = table_checksums(db), media_files(db)
    folder = tmp_path / "bad"
    reviews = good_reviews()
    reviews[4] = {**reviews[4], "helpful_votes": -3}
    write_good_catalogue(folder, reviews=reviews)
    write_png(folder / "images" / "r3.png", (21, 20), (1, 2, 3))  # a new image that must not be stored
    with pytest.raises(CatalogueError) as info:
        import_path(db, folder)
    err = info.value
    assert (Path(err.path).name, err.line, err.field) == ("reviews.jsonl", 5, "helpful_votes")
    assert str(err).startswith(f"{folder / 'reviews.jsonl'}, line 5, field 'helpful_votes': ")
    assert table_checksums(db) == before
    assert media_files(db) == files


def test_unknown_product_found_in_the_write_phase_rolls_back_everything(db, tmp_path):
    folder = tmp_path / "c"
    reviews = good_reviews() + [{"review_id": "R9", "product_id": "NOPE", "text": "x", "helpful_votes": 1}]
    write_good_catalogue(folder, reviews=reviews)
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as info:
        import_path(db, folder)
    assert (info.value.line, info.value.field) == (9, "product_id")
    assert "unknown product 'NOPE'" in str(info.value)
    assert table_checksums(db) == before
    assert media_files(db) == set()


def test_media_files_created_by_a_failed_transaction_are_removed(db, good_catalogue, monkeypatch):
    from storage.importers import writer

    real = writer.store_images

    def store_then_fail(refs, media_dir, stored):
        real(refs, media_dir, stored)
        assert stored.created  # files were written ...
        raise RuntimeError("disk went away")  # ... and then the transaction fails

    monkeypatch.setattr(writer, "store_images", store_then_fail)
    before = table_checksums(db)
    with pytest.raises(RuntimeError):
        import_path(db, good_catalogue)
    assert table_checksums(db) == before
    assert media_files(db) == set()


def test_the_real_data_folder_imports_when_present(db):
    data = Path(__file__).resolve().parents[3] / "shared" / "data"
    if not (data / "reviews.jsonl").is_file():
        pytest.skip(f"{data} not present on this machine")
    report = import_path(db, data)
    assert (report.products_added, report.reviews_added) == (587, 11412)
    with db.begin() as s:
        n_unlabelled = s.scalar(select(func.count()).select_from(Review).where(Review.label.is_(None)))
        n_zero = sum(1 for line in open(data / "reviews.jsonl", encoding="utf-8") if json.loads(line)["helpful_votes"] == 0)
        assert n_unlabelled == n_zero == 5301


def test_sqlite_driver_insert_and_core_insert_store_the_same_rows(tmp_path, good_catalogue, monkeypatch):
    from storage import open_database
    from storage.importers import writer

    sums = []
    for fast in (True, False):
        monkeypatch.setattr(writer, "SQLITE_DRIVER_INSERT", fast)
        db = open_database(str(tmp_path / f"{fast}.db"), media_dir=tmp_path / f"m{fast}")
        import_path(db, good_catalogue)
        sums.append({t: v for t, v in table_checksums(db).items() if t in ("products", "reviews", "images", "image_links")})
        with db.begin() as s:
            r6 = _review(s, "R6")
            assert r6.extra == {"source": "x"} and r6.image_urls == [] and r6.rating is None
        db.dispose()
    assert sums[0]["reviews"] == sums[1]["reviews"]
    assert sums[0]["images"] == sums[1]["images"] and sums[0]["image_links"] == sums[1]["image_links"]


def test_crlf_line_endings_are_accepted(db, tmp_path):
    folder = write_good_catalogue(tmp_path / "c")
    for name in ("products.jsonl", "reviews.jsonl"):
        p = folder / name
        p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    report = import_path(db, folder)
    assert (report.products_added, report.reviews_added) == (3, 8)

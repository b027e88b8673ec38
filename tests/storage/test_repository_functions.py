"""Repository functions on an imported catalogue: counts, paging, flags, models, predictions."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import repository as repo
from storage.errors import ConflictError, NotFoundError, StorageError
from storage.importers import import_path
from storage.models import Review
from storage.records import PredictionIn, ReviewFilter


@pytest.fixture
def cat_db(db, good_catalogue):
    import_path(db, good_catalogue)
    return db


def pk_of(s, review_id: str) -> int:
    return s.scalar(select(Review.id).where(Review.review_id == review_id))


def test_list_products_counts(cat_db):
    with cat_db.begin() as s:
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        repo.write_predictions(s, mv.id, [PredictionIn(pk_of(s, "R1"), 1.0, (None,) * 5)])
        repo.add_flag(s, pk_of(s, "R2"), "spam", "a")
        repo.add_flag(s, pk_of(s, "R2"), "off-topic", "b")  # same review: counted once
        undone = repo.add_flag(s, pk_of(s, "R3"), "spam", "a")
        repo.undo_flag(s, undone.id, "a")
        products = {p.product_id: p for p in repo.list_products(s, model_version_id=mv.id)}
        assert (products["P1"].n_reviews, products["P1"].n_labeled, products["P1"].n_flagged, products["P1"].n_scored) == (4, 3, 1, 1)
        assert (products["P2"].n_reviews, products["P2"].n_labeled, products["P2"].n_flagged) == (2, 2, 0)
        assert [p.product_id for p in repo.list_products(s, search="kett")] == ["P1"]
        assert [p.product_id for p in repo.list_products(s, category="Food")] == ["P3"]
        assert repo.list_categories(s) == ["Clothes", "Food", "Kitchen"]


def test_page_reviews_ordering_filtering_paging(cat_db):
    with cat_db.begin() as s:
        p1 = repo.get_product_pk(s, "P1")
        by_votes = repo.page_reviews(s, p1, order_by="votes", descending=True)
        assert [r.review_id for r in by_votes] == ["R4", "R3", "R2", "R1"]
        asc = repo.page_reviews(s, p1, order_by="votes", descending=False)
        assert [r.review_id for r in asc] == ["R1", "R2", "R3", "R4"]
        # label: NULL (unlabelled R1) sorts last both ways
        assert [r.review_id for r in repo.page_reviews(s, p1, order_by="label", descending=False)][-1] == "R1"
        assert [r.review_id for r in repo.page_reviews(s, p1, order_by="label", descending=True)][-1] == "R1"
        pages = [repo.page_reviews(s, p1, order_by="votes", offset=o, limit=2) for o in (0, 2, 4)]
        assert [[r.review_id for r in p] for p in pages] == [["R4", "R3"], ["R2", "R1"], []]
        assert [r.review_id for r in repo.page_reviews(s, p1, order_by="id", flt=ReviewFilter(text="broke"))] == ["R2"]
        assert [r.review_id for r in repo.page_reviews(s, p1, order_by="id", flt=ReviewFilter(has_images=True))] == ["R3"]
        assert len(repo.page_reviews(s, p1, order_by="id", flt=ReviewFilter(only_labeled=True))) == 3
        assert repo.count_reviews(s, p1) == 4
        assert repo.count_reviews(s, None) == 8
        with pytest.raises(ValueError):
            repo.page_reviews(s, p1, order_by="nonsense")


def test_page_reviews_by_score_of_a_model(cat_db):
    with cat_db.begin() as s:
        p1 = repo.get_product_pk(s, "P1")
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        repo.write_predictions(s, mv.id, [
            PredictionIn(pk_of(s, "R1"), 0.5, (1, 2, 3, 4, 5)), PredictionIn(pk_of(s, "R2"), 2.5, (None,) * 5),
            PredictionIn(pk_of(s, "R3"), 1.5, (None,) * 5),
        ])
        rows = repo.page_reviews(s, p1, mv.id, order_by="score")
        assert [r.review_id for r in rows] == ["R2", "R3", "R1", "R4"]  # unscored R4 last
        assert rows[2].sub_scores == (1.0, 2.0, 3.0, 4.0, 5.0)


def test_add_undo_redo_flag_and_audit_trail(cat_db):
    with cat_db.begin() as s:
        rpk = pk_of(s, "R4")
        f = repo.add_flag(s, rpk, "model too high", "alice", corrected_label=1, note="n")
        assert repo.active_flag(s, rpk).id == f.id
        row = next(r for r in repo.page_reviews(s, repo.get_product_pk(s, "P1"), order_by="id") if r.id == rpk)
        assert (row.flag_kind, row.flag_id, row.corrected_label) == ("model too high", f.id, 1)
        undone = repo.undo_flag(s, f.id, "alice")
        assert undone.undone and repo.active_flag(s, rpk) is None
        redone = repo.redo_flag(s, f.id, "bob", expected_version=undone.version)
        assert not redone.undone and redone.version == undone.version + 1
        actions = [e.action for e in repo.list_audit_events(s, target_kind="review", target_id=rpk)]
        assert actions == ["flag.redo", "flag.undo", "flag.add"]
        with pytest.raises(ValueError):
            repo.add_flag(s, rpk, "spam", "a", corrected_label=7)
        with pytest.raises(NotFoundError):
            repo.add_flag(s, 999999, "spam", "a")


def test_edit_flag_with_a_stale_version_is_a_conflict(cat_db):
    with cat_db.begin() as s:
        f = repo.add_flag(s, pk_of(s, "R2"), "spam", "alice")
    with cat_db.begin() as s:
        edited = repo.edit_flag(s, f.id, "bob", expected_version=f.version, note="bob was first")
        assert edited.version == f.version + 1
    with pytest.raises(ConflictError, match=r"review R2 changed since you last saw it: bob edited it at .*"
                                            r"now 'spam', no corrected label, active; version 2, you had 1"):
        with cat_db.begin() as s:
            repo.edit_flag(s, f.id, "alice", expected_version=f.version, note="alice lost")
    with cat_db.begin() as s:
        assert repo.get_flag(s, f.id).note == "bob was first"
        with pytest.raises(ConflictError):
            repo.undo_flag(s, f.id, "alice", expected_version=f.version)


def test_corrected_labels_override_vote_labels_in_load_catalogue(cat_db):
    with cat_db.begin() as s:
        r4, r8 = pk_of(s, "R4"), pk_of(s, "R8")
        repo.add_flag(s, r4, "model too high", "a", corrected_label=0)
        repo.add_flag(s, r4, "model too high", "a", corrected_label=2)  # newest wins
        gone = repo.add_flag(s, r8, "model too low", "a", corrected_label=0)
        repo.undo_flag(s, gone.id, "a")  # undone corrections do not count
        cat = repo.load_catalogue(s, cat_db.media_dir)
        reviews = {r.review_id: r for p in cat for r in p.reviews}
        assert (reviews["R4"].label, reviews["R4"].vote_label) == (2, 3)
        assert (reviews["R8"].label, reviews["R8"].vote_label) == (4, 4)
        assert reviews["R1"].label is None
        plain = {r.review_id: r for p in repo.load_catalogue(s, cat_db.media_dir, use_corrections=False) for r in p.reviews}
        assert plain["R4"].label == 3
        kettle = next(p for p in cat if p.product_id == "P1")
        assert len(kettle.image_paths) == 1 and reviews["R3"].image_paths
        assert {p.split for p in repo.load_catalogue(s, cat_db.media_dir, splits=["test"])} == {"test"}


def test_register_activate_delete_model_versions(cat_db):
    with cat_db.begin() as s:
        a = repo.register_model_version(s, "a", "/a", "1" * 64, activate=True)
        b = repo.register_model_version(s, "b", "/b", "2" * 64, parent_id=a.id, metrics={"dev": {"MAP": 50.0}})
        assert repo.get_active_model(s).name == "a"
        repo.activate_model(s, b.id)
        assert repo.get_active_model(s).name == "b"
        assert [m.active for m in repo.list_model_versions(s)] == [False, True]
        assert repo.get_model_version(s, "b").parent_id == a.id
        assert repo.get_model_version(s, str(b.id)).name == "b"
        with pytest.raises(StorageError, match="already exists"):
            repo.register_model_version(s, "a", "/a2", "3" * 64)
        repo.write_predictions(s, a.id, [PredictionIn(pk_of(s, "R1"), 1.0, (None,) * 5)])
        repo.delete_model_version(s, a.id)
        assert [m.name for m in repo.list_model_versions(s)] == ["b"]
        assert repo.get_model_version(s, "b").parent_id is None  # ON DELETE SET NULL
        assert repo.review_pks_missing_prediction(s, a.id) == sorted(r.id for r in repo.page_reviews(s, None, order_by="id"))
        assert repo.count_missing_predictions(s, a.id) == len(repo.review_pks_missing_prediction(s, a.id)) > 0
        with pytest.raises(NotFoundError):
            repo.get_model_version(s, "a")


def test_write_predictions_is_an_upsert(cat_db):
    with cat_db.begin() as s:
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        r1, r2 = pk_of(s, "R1"), pk_of(s, "R2")
        assert repo.write_predictions(s, mv.id, [PredictionIn(r1, 1.0, (0.1,) * 5), PredictionIn(r2, 2.0, (0.2,) * 5)]) == 2
        assert repo.write_predictions(s, mv.id, [PredictionIn(r1, 9.0, (0.9,) * 5)]) == 1
        scores = {pk: sc for rows in repo.scores_by_product(s, mv.id).values() for pk, sc, _ in rows}
        assert scores == {r1: 9.0, r2: 2.0}
        assert repo.write_predictions(s, mv.id, []) == 0


def test_write_predictions_of_more_reviews_than_sqlite_binds_in_one_statement(db, tmp_path):
    """A model scoring a large catalogue in one call: the replace must not put every review id in
    one statement (SQLite bounds its parameters: 250,000 in this build, 999 in older ones)."""
    import json
    import sqlite3

    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "products.jsonl").write_text(json.dumps({"product_id": "P"}) + "\n", encoding="utf-8")
    (folder / "reviews.jsonl").write_text("".join(
        json.dumps({"review_id": f"R{i}", "product_id": "P", "text": "t", "helpful_votes": i % 7}) + "\n"
        for i in range(2500)), encoding="utf-8")
    import_path(db, folder)
    with db.begin() as s:
        raw = s.connection().connection.driver_connection
        before = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # an older SQLite's bound
        try:
            mv = repo.register_model_version(s, "m", "/c", "0" * 64)
            pks = repo.review_pks_missing_prediction(s, mv.id)
            assert len(pks) == 2500
            assert repo.write_predictions(s, mv.id, [PredictionIn(pk, 1.0, (0.1,) * 5) for pk in pks]) == 2500
            assert repo.write_predictions(s, mv.id, [PredictionIn(pk, 2.0, (0.2,) * 5) for pk in pks]) == 2500
        finally:
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)
        scores = [sc for rows in repo.scores_by_product(s, mv.id).values() for _pk, sc, _ in rows]
        assert len(scores) == 2500 and set(scores) == {2.0}


def test_training_runs_and_stale_runs(cat_db):
    with cat_db.begin() as s:
        run = repo.start_training_run(s, {"epochs": 1})
        other = repo.start_training_run(s, {"epochs": 2})
        repo.finish_training_run(s, run.id, "succeeded", metrics={"MAP": 1.0})
        assert repo.mark_stale_runs(s) == 1
        status = {r.id: r.status for r in repo.list_training_runs(s)}
        assert status == {run.id: "succeeded", other.id: "interrupted"}


def test_training_epochs_are_rows_of_their_run(cat_db):
    from storage.errors import NotFoundError

    with cat_db.begin() as s:
        run = repo.start_training_run(s, {"epochs": 2})
        other = repo.start_training_run(s, {"epochs": 1})
        for n, m in ((1, 0.5), (2, 0.6)):
            repo.record_training_epoch(s, run.id, {"epoch": n, "losses": {"total": 1.0 / n, "target": 0.4},
                                                   "dev": {"MAP": m}, "pseudo_labels": {}, "samples_per_s": 10.0,
                                                   "epochs": 2, "eta_s": 3.0})
        repo.record_training_epoch(s, run.id, {"epoch": 2, "losses": {"total": 0.25}, "dev": {"MAP": 0.7}})  # retried
        repo.record_training_epoch(s, other.id, {"epoch": 1, "losses": {}, "dev": {}})  # no dev labels: no MAP
        with pytest.raises(NotFoundError):
            repo.record_training_epoch(s, 999, {"epoch": 1})
        with pytest.raises(ValueError):
            repo.record_training_epoch(s, run.id, {"epoch": 0})
    with cat_db.begin() as s:
        rows = repo.list_training_epochs(s, run.id)
        assert [(r.epoch, r.loss, r.dev_map) for r in rows] == [(1, 1.0, 0.5), (2, 0.25, 0.7)]
        assert rows[0].as_history()["losses"] == {"total": 1.0, "target": 0.4}
        (o,) = repo.list_training_epochs(s, other.id)
        assert o.dev_map is None and o.loss is None
        assert {r.id: r.epochs for r in repo.list_training_runs(s)} == {run.id: 2, other.id: 1}


def test_paired_predictions_leave_out_flagged_reviews_but_not_undone_flags(cat_db):
    with cat_db.begin() as s:
        a = repo.register_model_version(s, "a", "/a", "0" * 64)
        b = repo.register_model_version(s, "b", "/b", "1" * 64)
        pks = {rid: pk_of(s, rid) for rid in ("R1", "R2", "R3", "R5", "R7")}
        repo.write_predictions(s, a.id, [PredictionIn(pk, float(i), (0.5, None, 1.0, 2.0, 3.0))
                                         for i, pk in enumerate(pks.values())])
        # R7 is scored by A only: not a pair
        repo.write_predictions(s, b.id, [PredictionIn(pk, 10.0 + i, (1.5, None, 1.0, 2.0, 3.5))
                                         for i, (rid, pk) in enumerate(pks.items()) if rid != "R7"])
        repo.add_flag(s, pks["R2"], "spam", "mod")  # active: left out
        taken_back = repo.add_flag(s, pks["R3"], "spam", "mod")
        repo.undo_flag(s, taken_back.id, "mod")  # undone: R3 stays
        before = repo.paired_predictions_stamp(s, a.id, b.id)
        rows = repo.paired_predictions(s, a.id, b.id)
        assert [r[0] for r in rows] == [pks["R1"], pks["R3"], pks["R5"]]
        assert all(len(r) == len(repo.PAIRED_COLUMNS) for r in rows)
        r1 = rows[0]
        assert r1[1] == repo.get_product_pk(s, "P1") and r1[2] == "Kitchen"
        assert r1[3:9] == (0.0, 0.5, None, 1.0, 2.0, 3.0) and r1[9:] == (10.0, 1.5, None, 1.0, 2.0, 3.5)
        assert rows[2][2] == "Clothes"
        # the stamp moves with a rescoring and with a flag, not without them
        assert repo.paired_predictions_stamp(s, a.id, b.id) == before
        repo.write_predictions(s, b.id, [PredictionIn(pks["R1"], 11.0, (1.5, None, 1.0, 2.0, 3.5))])
        rescored = repo.paired_predictions_stamp(s, a.id, b.id)
        assert rescored != before
        repo.redo_flag(s, taken_back.id, "mod")
        assert repo.paired_predictions_stamp(s, a.id, b.id) != rescored
        assert [r[0] for r in repo.paired_predictions(s, a.id, b.id)] == [pks["R1"], pks["R5"]]


def _training_summary_reference(s, since=None) -> dict:
    """The training panel's counts as they were computed in Python, from every review row."""
    from sqlalchemy import func

    from storage.models import Flag, Product

    corrections = repo.corrected_labels(s)
    out = {"corrections": len(corrections)}
    for split in ("train", "dev", "test"):
        rows = s.execute(select(Review.id, Review.label).join(Product, Product.id == Review.product_pk)
                         .where(Product.split == split)).all()
        out[f"{split}_reviews"] = len(rows)
        out[f"{split}_labelled"] = sum(1 for pk, lab in rows if corrections.get(pk, lab) is not None)
        out[f"{split}_products"] = s.scalar(select(func.count()).select_from(Product).where(Product.split == split))
    q = select(func.count(func.distinct(Flag.review_pk))).where(Flag.undone.is_(False), Flag.corrected_label.is_not(None))
    out["corrections_since"] = s.scalar(q.where(Flag.created_at > since)) if since is not None else len(corrections)
    return out


def test_training_data_summary_counts_in_sql_what_the_rows_say(cat_db):
    with cat_db.begin() as s:
        assert repo.training_data_summary(s) == _training_summary_reference(s)
        unlabelled = list(s.scalars(select(Review.id).where(Review.label.is_(None)).order_by(Review.id)))
        labelled = list(s.scalars(select(Review.id).where(Review.label.is_not(None)).order_by(Review.id)))
        assert unlabelled and labelled
        repo.add_flag(s, unlabelled[0], "model too high", "a", corrected_label=1)  # labels an unlabelled review
        repo.add_flag(s, labelled[0], "model too low", "a", corrected_label=4)  # relabels a labelled one
        gone = repo.add_flag(s, unlabelled[-1], "model too low", "a", corrected_label=2)
        repo.undo_flag(s, gone.id, "a")
        repo.add_flag(s, labelled[-1], "other", "a")  # no corrected label
    with cat_db.begin() as s:
        got = repo.training_data_summary(s)
        assert got == _training_summary_reference(s)
        assert sum(got[f"{sp}_labelled"] for sp in ("train", "dev", "test")) == len(labelled) + 1

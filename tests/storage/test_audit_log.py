"""The audit log names what a user knows (review ids, product titles, model names), resolved
in a fixed number of queries, and tells undos and redos of flag edits from new decisions."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from storage import repository as repo
from storage.importers import import_path
from storage.models import Review


@pytest.fixture
def cat_db(db, good_catalogue):
    import_path(db, good_catalogue)
    return db


def pk_of(s, review_id: str) -> int:
    return s.scalar(select(Review.id).where(Review.review_id == review_id))


class StatementCounter:
    """SQL statements run on an engine while counting."""

    def __init__(self, engine) -> None:
        self.engine, self.n = engine, 0

    def _count(self, *_args) -> None:
        self.n += 1

    def __enter__(self) -> "StatementCounter":
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_flag_events_carry_the_review_id_and_the_product(cat_db):
    with cat_db.begin() as s:
        f = repo.add_flag(s, pk_of(s, "R2"), "spam", "ana", corrected_label=1, note="buy now")
        repo.undo_flag(s, f.id, "ana")
        repo.redo_flag(s, f.id, "ana")
        g = repo.add_flag(s, pk_of(s, "R7"), "other", "bo")  # product P3 has no title
    with cat_db.begin() as s:
        events = repo.list_audit_events(s, limit=10)
    by_action = {(e.action, e.review_id): e for e in events}
    for action in ("flag.add", "flag.undo", "flag.redo"):
        e = by_action[(action, "R2")]
        assert (e.product_id, e.product_title) == ("P1", "Kettle")
        assert (e.flag_kind, e.flag_corrected_label) == ("spam", 1)
    undo = by_action[("flag.undo", "R2")]
    assert undo.details == {"flag_id": f.id, "kind": "spam", "corrected_label": 1}  # what was withdrawn
    p3 = by_action[("flag.add", "R7")]
    assert (p3.product_id, p3.product_title, p3.flag_kind) == ("P3", "", "other")
    assert p3.target_id == str(pk_of(s, "R7")) and g.id == p3.details["flag_id"]


def test_edits_record_before_and_after_and_whether_they_undo_or_redo(cat_db):
    with cat_db.begin() as s:
        f = repo.add_flag(s, pk_of(s, "R3"), "model too high", "ana", corrected_label=2)
        f = repo.edit_flag(s, f.id, "ana", f.version, corrected_label=3)
        f = repo.edit_flag(s, f.id, "ana", f.version, corrected_label=2, cause="undo")
        repo.edit_flag(s, f.id, "ana", f.version, corrected_label=3, cause="redo")
        with pytest.raises(ValueError, match="edit cause"):
            repo.edit_flag(s, f.id, "ana", f.version + 1, note="x", cause="sideways")
        redo, undo, edit = repo.list_audit_events(s, limit=3)
    assert edit.details["before"]["corrected_label"] == 2 and edit.details["after"]["corrected_label"] == 3
    assert "undo" not in edit.details and "redo" not in edit.details
    assert undo.details["undo"] is True and undo.details["after"]["corrected_label"] == 2
    assert redo.details["redo"] is True and redo.details["after"]["corrected_label"] == 3
    assert {e.review_id for e in (edit, undo, redo)} == {"R3"}


def test_model_and_training_run_events_name_their_models(cat_db):
    with cat_db.begin() as s:
        v1 = repo.register_model_version(s, "v1", "/c1", "0" * 64)
        v2 = repo.register_model_version(s, "v2", "/c2", "1" * 64, parent_id=v1.id)
        repo.activate_model(s, v2.id)
        run = repo.start_training_run(s, {}, parent_model_id=v1.id, actor="ana")
        repo.finish_training_run(s, run.id, "succeeded", model_version_id=v2.id, actor="ana")
        finished, started, activated, registered = repo.list_audit_events(s, limit=4)
    assert registered.model_names == {v2.id: "v2", v1.id: "v1"}
    assert activated.model_names == {v2.id: "v2"}
    assert started.model_names == {v1.id: "v1"} and finished.model_names == {v2.id: "v2"}


def test_resolving_names_is_batched_not_one_query_per_event(cat_db):
    def count_listing(n_events: int) -> int:
        with cat_db.begin() as s:
            with StatementCounter(cat_db.engine) as counter:
                events = repo.list_audit_events(s, limit=n_events)
        assert len(events) == n_events and all(e.review_id and e.flag_kind for e in events)
        return counter.n

    with cat_db.begin() as s:
        reviews = [pk_of(s, f"R{i}") for i in range(1, 9)]
        for i in range(40):
            f = repo.add_flag(s, reviews[i % 8], "spam", "ana", corrected_label=i % 5)
            repo.undo_flag(s, f.id, "ana")
    few, many = count_listing(2), count_listing(80)
    assert few == many <= 4

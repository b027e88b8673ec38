"""Bulk flags: many reviews flagged in one transaction (edit the active flag or add one),
undone and redone as one, each step one audit event; a colleague's change in between is left
alone and named."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import repository as repo
from storage.errors import StorageError
from storage.importers import import_path
from storage.models import Review
from storage.records import KEEP_LABEL, ReviewFilter


@pytest.fixture
def cat_db(db, good_catalogue):
    import_path(db, good_catalogue)
    return db


def pks(s, *review_ids: str) -> list[int]:
    by_id = dict(s.execute(select(Review.review_id, Review.id)).all())
    return [by_id[r] for r in review_ids]


def state(s, review_pk: int):
    """(kind, label, note) of the review's active flag, or None."""
    f = repo.active_flag(s, review_pk)
    return (f.kind, f.corrected_label, f.note) if f is not None else None


def bulk_events(s):
    return [e for e in repo.list_audit_events(s) if e.action == "flag.bulk"]


def test_review_pks_matching_is_the_filter_over_every_page(cat_db):
    with cat_db.begin() as s:
        p1 = repo.get_product_pk(s, "P1")
        everything = repo.review_pks_matching(s, p1)
        assert everything == sorted(r.id for r in repo.page_reviews(s, p1, limit=None))
        assert len(everything) == repo.count_reviews(s, p1) == 4
        assert repo.review_pks_matching(s, p1, ReviewFilter(text="broke")) == pks(s, "R2")
        labelled = repo.review_pks_matching(s, p1, ReviewFilter(only_labeled=True))
        assert len(labelled) == 3
        assert repo.review_pks_matching(s, p1, None, among=pks(s, "R1", "R2")) == sorted(pks(s, "R1", "R2"))
        assert repo.review_pks_matching(s, p1, ReviewFilter(only_labeled=True), among=pks(s, "R1", "R2")) == \
            sorted(set(labelled) & set(pks(s, "R1", "R2")))
        assert len(repo.review_pks_matching(s, None)) == repo.count_reviews(s, None) == 8


def test_bulk_apply_edits_active_flags_adds_the_others_and_audits_once(cat_db):
    with cat_db.begin() as s:
        r1, r2, r3 = pks(s, "R1", "R2", "R3")
        old = repo.add_flag(s, r2, "spam", "alice", corrected_label=1, note="old note")
        assert repo.bulk_flag_counts(s, [r1, r2, r3, 999999]) == (3, 1)
    with cat_db.begin() as s:
        change = repo.bulk_apply_flags(s, [r1, r2, r3, r3, 999999], "off-topic", "mod", corrected_label=KEEP_LABEL,
                                       note=None, scope="3 selected reviews")
    assert (change.count, change.created, change.edited) == (3, 2, 1)
    with cat_db.begin() as s:
        assert state(s, r1) == state(s, r3) == ("off-topic", None, "")
        assert state(s, r2) == ("off-topic", 1, "old note")  # label and note kept
        assert repo.active_flag(s, r2).id == old.id  # edited, not a second active flag
        assert repo.get_flag(s, old.id).version == old.version + 1 == change.versions[old.id]
        (event,) = bulk_events(s)
        assert event.actor == "mod" and event.details["count"] == 3
        assert (event.details["created"], event.details["edited"]) == (2, 1)
        assert event.details["scope"] == "3 selected reviews"
        assert not [e for e in repo.list_audit_events(s) if e.action in ("flag.add", "flag.edit") and e.actor == "mod"]


def test_bulk_apply_refuses_a_retired_or_unknown_kind_and_writes_nothing(cat_db):
    with cat_db.begin() as s:
        repo.retire_flag_kind(s, "spam", "admin")
        r1 = pks(s, "R1")[0]
    for kind in ("spam", "no such kind"):
        with pytest.raises(StorageError):
            with cat_db.begin() as s:
                repo.bulk_apply_flags(s, [r1], kind, "mod")
    with cat_db.begin() as s:
        assert repo.active_flag(s, r1) is None and bulk_events(s) == []


def test_bulk_undo_and_redo_revert_every_flag_as_one_step(cat_db):
    with cat_db.begin() as s:
        r1, r2, r3 = pks(s, "R1", "R2", "R3")
        old = repo.add_flag(s, r2, "spam", "alice", corrected_label=1, note="old note")
        change = repo.bulk_apply_flags(s, [r1, r2, r3], "off-topic", "mod", corrected_label=3, note="bulk")
    with cat_db.begin() as s:
        undone = repo.bulk_undo_flags(s, change, "mod")
    assert undone.conflicts == 0 and undone.review_pks == {r1, r2, r3}
    with cat_db.begin() as s:
        assert state(s, r1) is None and state(s, r3) is None
        assert state(s, r2) == ("spam", 1, "old note") and repo.active_flag(s, r2).id == old.id
    versions = {**change.versions, **undone.versions}
    with cat_db.begin() as s:
        redone = repo.bulk_redo_flags(s, change, "mod", versions)
    assert redone.conflicts == 0
    with cat_db.begin() as s:
        assert state(s, r1) == state(s, r2) == state(s, r3) == ("off-topic", 3, "bulk")
        events = bulk_events(s)
        assert [sorted(k for k in ("undo", "redo") if e.details.get(k)) for e in events] == [["redo"], ["undo"], []]
        assert [e.details["count"] for e in events] == [3, 3, 3]
        # one event per step, none per flag
        assert not [e for e in repo.list_audit_events(s) if e.action in ("flag.undo", "flag.redo", "flag.edit")]


def test_a_colleagues_change_in_between_is_left_alone_and_named(cat_db):
    with cat_db.begin() as s:
        r1, r2, r3 = pks(s, "R1", "R2", "R3")
        change = repo.bulk_apply_flags(s, [r1, r2, r3], "off-topic", "mod", corrected_label=None)
    flag2 = change.items[[rpk for _f, rpk, _b in change.items].index(r2)][0]
    with cat_db.begin() as s:
        repo.edit_flag(s, flag2, "colleague", change.versions[flag2], corrected_label=4)
    with cat_db.begin() as s:
        undone = repo.bulk_undo_flags(s, change, "mod")
    assert undone.conflicts == 1 and undone.review_pks == {r1, r3}
    assert "1 of the 3 flags" in undone.conflict_text
    assert "colleague edited it" in undone.conflict_text and "label 4" in undone.conflict_text
    with cat_db.begin() as s:
        assert state(s, r1) is None and state(s, r3) is None
        assert state(s, r2) == ("off-topic", 4, "")  # as the colleague left it
        assert bulk_events(s)[0].details["conflicts"] == 1


def test_a_conflict_with_a_colleagues_bulk_flag_names_them(cat_db):
    """Someone else's bulk flag is found in its audit event's flag ranges."""
    from storage.errors import ConflictError

    with cat_db.begin() as s:
        r1 = pks(s, "R1")[0]
        mine = repo.add_flag(s, r1, "spam", "mod")
    with cat_db.begin() as s:
        repo.bulk_apply_flags(s, [r1], "off-topic", "colleague", corrected_label=2)
    with pytest.raises(ConflictError, match=r"colleague bulk-flagged it .*now 'off-topic', label 2"):
        with cat_db.begin() as s:
            repo.undo_flag(s, mine.id, "mod", expected_version=mine.version)

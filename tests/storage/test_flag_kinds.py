"""Flag kinds in the store: add, rename (with the flags), retire (history kept), restore, reorder."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import repository as repo
from storage.errors import NotFoundError, StorageError
from storage.importers import import_path
from storage.models import Review
from storage.records import FLAG_KINDS


@pytest.fixture
def cat_db(db, good_catalogue):
    import_path(db, good_catalogue)
    return db


def pk_of(s, review_id: str) -> int:
    return s.scalar(select(Review.id).where(Review.review_id == review_id))


def names(s, include_retired=False):
    return [k.name for k in repo.list_flag_kinds(s, include_retired=include_retired)]


def kind_events(s):
    return [(e.action, e.actor, e.details) for e in reversed(repo.list_audit_events(s, target_kind="flag_kind"))]


def test_a_new_store_offers_the_defaults_in_their_order(db):
    with db.begin() as s:
        kinds = repo.list_flag_kinds(s, include_retired=True)
    assert [k.name for k in kinds] == list(FLAG_KINDS)
    assert not any(k.retired for k in kinds)
    assert {k.name for k in kinds if k.built_in} == {"model too high", "model too low", "other", "sub-score wrong"}


def test_add_trims_appends_and_is_audited(db):
    with db.begin() as s:
        added = repo.add_flag_kind(s, "  wrong product  ", "ana")
        assert added.name == "wrong product" and not added.retired
        assert names(s)[-1] == "wrong product"
        assert kind_events(s) == [("flag_kind.add", "ana", {"name": "wrong product"})]
        repo.add_flag_kind(s, "x" * 64, "ana")  # the longest allowed


@pytest.mark.parametrize("name, message", [
    ("", "needs a name"),
    ("   ", "needs a name"),
    ("x" * 65, "at most 64 characters"),
    ("two\nlines", "one line"),
    ("tab\there", "one line"),
    ("SPAM", "already a flag kind 'spam'"),
    ("Model Too High", "already a flag kind 'model too high'"),
])
def test_add_refuses_bad_or_taken_names_with_a_clear_error(db, name, message):
    with pytest.raises(StorageError, match=message):
        with db.begin() as s:
            repo.add_flag_kind(s, name, "ana")
    with db.begin() as s:
        assert names(s, include_retired=True) == list(FLAG_KINDS)  # nothing added


def test_a_retired_name_is_taken_too_and_the_error_says_restore_it(db):
    with db.begin() as s:
        repo.retire_flag_kind(s, "spam", "ana")
    with pytest.raises(StorageError, match="retired: restore it"):
        with db.begin() as s:
            repo.add_flag_kind(s, "Spam", "ana")


def test_rename_renames_every_flag_of_the_kind_in_one_transaction(cat_db):
    with cat_db.begin() as s:
        r2, r3 = pk_of(s, "R2"), pk_of(s, "R3")
        spam = repo.add_flag(s, r2, "spam", "ana", note="ad")
        withdrawn = repo.add_flag(s, r3, "spam", "bob")
        repo.undo_flag(s, withdrawn.id, "bob")
        other = repo.add_flag(s, r3, "off-topic", "bob")
    with cat_db.begin() as s:
        renamed = repo.rename_flag_kind(s, "spam", "  advertising ", "lead")
        assert renamed.name == "advertising"
        assert names(s).index("advertising") == list(FLAG_KINDS).index("spam")  # keeps its place
        flags = {f.id: f for f in repo.list_flags(s, include_undone=True)}
        assert (flags[spam.id].kind, flags[withdrawn.id].kind, flags[other.id].kind) == ("advertising", "advertising", "off-topic")
        assert flags[spam.id].version == spam.version  # not a change of anyone's decision: no conflict for them
        detail = repo.get_review_detail(s, r2, None, cat_db.media_dir)
        assert detail.row.flag_kind == "advertising" and [f.kind for f in detail.flags] == ["advertising"]
        assert kind_events(s)[-1] == ("flag_kind.rename", "lead", {"from": "spam", "to": "advertising", "flags": 2})
        # the old name is free again, and flags can be given the new one
        repo.add_flag(s, r2, "advertising", "ana")
        with pytest.raises(StorageError, match="unknown flag kind 'spam'"):
            repo.add_flag(s, r2, "spam", "ana")


def test_rename_refuses_a_taken_name_a_built_in_kind_and_an_unknown_one(cat_db):
    with cat_db.begin() as s:
        flag = repo.add_flag(s, pk_of(s, "R2"), "spam", "ana")
    for old, new, message in (("spam", "Off-Topic", "already a flag kind 'off-topic'"),
                              ("model too high", "score too high", "cannot be renamed"),
                              ("no such kind", "whatever", "no flag kind 'no such kind'"),
                              ("spam", " ", "needs a name")):
        with pytest.raises(StorageError, match=message):
            with cat_db.begin() as s:
                repo.rename_flag_kind(s, old, new, "ana")
    with cat_db.begin() as s:
        assert repo.get_flag(s, flag.id).kind == "spam"  # a refused rename changed nothing
        assert names(s) == list(FLAG_KINDS)
        assert repo.rename_flag_kind(s, "spam", "Spam", "ana").name == "Spam"  # its own name in another case
        assert repo.get_flag(s, flag.id).kind == "Spam"


def test_retired_kind_is_refused_for_new_flags_but_old_flags_keep_it(cat_db):
    with cat_db.begin() as s:
        r2, r3 = pk_of(s, "R2"), pk_of(s, "R3")
        old = repo.add_flag(s, r2, "promotional", "ana", note="coupon")
        other = repo.add_flag(s, r3, "spam", "ana")
    with cat_db.begin() as s:
        retired = repo.retire_flag_kind(s, "promotional", "lead")
        assert retired.retired and retired.retired_at is not None
        assert "promotional" not in names(s) and "promotional" in names(s, include_retired=True)
        assert kind_events(s)[-1] == ("flag_kind.retire", "lead", {"name": "promotional", "flags": 1})
    with pytest.raises(StorageError, match="'promotional' is retired"):
        with cat_db.begin() as s:
            repo.add_flag(s, r3, "promotional", "ana")
    with pytest.raises(StorageError, match="'promotional' is retired"):
        with cat_db.begin() as s:
            repo.edit_flag(s, other.id, "ana", other.version, kind="promotional")
    with cat_db.begin() as s:
        assert repo.active_flag(s, r2).kind == "promotional"  # still shown
        assert repo.get_review_detail(s, r2, None, cat_db.media_dir).row.flag_kind == "promotional"
        edited = repo.edit_flag(s, old.id, "ana", old.version, kind="promotional", note="coupon code")  # kind unchanged
        assert (edited.kind, edited.note) == ("promotional", "coupon code")
        back = repo.edit_flag(s, other.id, "ana", other.version, kind="promotional", allow_retired=True)  # undo's way
        assert back.kind == "promotional"
        assert repo.retire_flag_kind(s, "promotional", "lead").retired  # twice: nothing more happens
        assert [a for a, _, _ in kind_events(s)].count("flag_kind.retire") == 1


def test_restore_offers_a_retired_kind_again(cat_db):
    with cat_db.begin() as s:
        repo.retire_flag_kind(s, "profanity", "lead")
    with cat_db.begin() as s:
        restored = repo.restore_flag_kind(s, "profanity", "lead")
        assert not restored.retired and names(s) == list(FLAG_KINDS)
        assert repo.add_flag(s, pk_of(s, "R2"), "profanity", "ana").kind == "profanity"
        assert [a for a, _, _ in kind_events(s)] == ["flag_kind.retire", "flag_kind.restore"]


def test_built_in_kinds_cannot_be_retired(db):
    for name in ("model too high", "model too low", "other"):
        with pytest.raises(StorageError, match="corrected-label keys"):
            with db.begin() as s:
                repo.retire_flag_kind(s, name, "ana")


def test_unknown_kind_is_refused_for_new_and_edited_flags(cat_db):
    with pytest.raises(StorageError, match="unknown flag kind 'score too low'; the kinds are 'model too high'"):
        with cat_db.begin() as s:
            repo.add_flag(s, pk_of(s, "R2"), "score too low", "ana")
    with cat_db.begin() as s:
        f = repo.add_flag(s, pk_of(s, "R2"), "spam", "ana")
    with pytest.raises(StorageError, match="unknown flag kind"):
        with cat_db.begin() as s:
            repo.edit_flag(s, f.id, "ana", f.version, kind="score too low", allow_retired=True)
    with pytest.raises(NotFoundError):
        with cat_db.begin() as s:
            repo.retire_flag_kind(s, "score too low", "ana")


def test_move_changes_the_order_offered(db):
    with db.begin() as s:
        repo.add_flag_kind(s, "wrong product", "ana")
        order = [k.name for k in repo.move_flag_kind(s, "wrong product", -100, "ana")]
        assert order[0] == "wrong product" and names(s) == order
        repo.move_flag_kind(s, "spam", 1, "ana")
        assert names(s)[4:6] == ["off-topic", "spam"]
        assert [a for a, _, _ in kind_events(s)] == ["flag_kind.add", "flag_kind.move", "flag_kind.move"]

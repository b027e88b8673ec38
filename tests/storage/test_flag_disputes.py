"""Disputed sub-scores on flags: stored, versioned, audited, undone, exported, counted, read by training."""
from __future__ import annotations

import csv
import json

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from storage import open_database
from storage import repository as repo
from storage.db import _alembic_config, current_revision, head_revision
from storage.errors import ConflictError, StorageError
from storage.exporters import export_flags
from storage.importers import import_path
from storage.models import FlagInteraction, Review
from storage.records import disputes_of, disputes_text


@pytest.fixture
def cat(db, good_catalogue):
    import_path(db, good_catalogue)
    with db.begin() as s:
        pks = {rid: pk for rid, pk in s.execute(select(Review.review_id, Review.id))}
        mv = repo.register_model_version(s, "m1", "/c", "0" * 64)
    return db, pks, mv.id


def test_disputes_are_canonical_and_checked():
    assert disputes_of({"r_t r_v": "too_low", "p_t r_t": "too_high"}) == (("p_t r_t", "too_high"), ("r_t r_v", "too_low"))
    assert disputes_of([("p_v r_v", None)]) == ()  # "not disputed"
    assert disputes_text(disputes_of({"r_t r_v": "too_low", "p_t r_t": "too_high"})) == "p_t r_t:too_high;r_t r_v:too_low"
    for bad in ({"p_t": "too_high"}, {"p_t r_t": "high"}, [("p_t r_t", "too_high"), ("p_t r_t", "too_low")]):
        with pytest.raises(ValueError):
            disputes_of(bad)


def test_add_with_disputes_then_edit_moves_the_version_and_is_audited(cat):
    db, pks, mv = cat
    with db.begin() as s:
        f = repo.add_flag(s, pks["R1"], "sub-score wrong", "ana", model_version_id=mv,
                          interactions={"p_t r_t": "too_high"})
        assert f.interactions == (("p_t r_t", "too_high"),) and f.version == 1
    with db.begin() as s:  # only the disputes change: still a new version of the flag
        e = repo.edit_flag(s, f.id, "bo", 1, interactions={"p_t r_t": "too_high", "r_t r_v": "too_low"})
        assert e.version == 2 and e.interactions == (("p_t r_t", "too_high"), ("r_t r_v", "too_low"))
    with db.begin() as s:
        e = repo.edit_flag(s, f.id, "bo", 2, interactions={"r_t r_v": "too_high"})
        assert e.version == 3 and e.interactions == (("r_t r_v", "too_high"),)
        assert repo.get_flag(s, f.id).interactions == e.interactions
        assert [(i.interaction, i.direction) for i in s.scalars(select(FlagInteraction))] == [("r_t r_v", "too_high")]
        events = list(reversed(repo.list_audit_events(s, target_kind="review", target_id=pks["R1"])))
    assert events[0].details["interactions"] == {"p_t r_t": "too_high"}
    assert events[1].details["before"]["interactions"] == {"p_t r_t": "too_high"}
    assert events[1].details["after"]["interactions"] == {"p_t r_t": "too_high", "r_t r_v": "too_low"}
    assert events[2].details["after"]["interactions"] == {"r_t r_v": "too_high"}
    with db.begin() as s, pytest.raises(ConflictError):  # a stale edit of the disputes is refused like any other
        repo.edit_flag(s, f.id, "cy", 2, interactions={})


def test_sub_score_wrong_names_at_least_one_interaction_any_other_kind_may(cat):
    db, pks, _ = cat
    with db.begin() as s, pytest.raises(ValueError, match="at least one interaction"):
        repo.add_flag(s, pks["R1"], "sub-score wrong", "ana")
    with db.begin() as s:
        spam = repo.add_flag(s, pks["R2"], "spam", "ana", interactions={"p_v r_v": "too_low"})
        assert spam.interactions == (("p_v r_v", "too_low"),)
        with pytest.raises(ValueError):  # nor may a change of kind or disputes leave it without
            repo.edit_flag(s, spam.id, "ana", spam.version, kind="sub-score wrong", interactions={})
        cleared = repo.edit_flag(s, spam.id, "ana", spam.version, interactions={})
        assert cleared.interactions == () and cleared.kind == "spam"
        # the built-in kind cannot be renamed or retired: the dispute action writes it
        with pytest.raises(StorageError, match="sub-score"):
            repo.rename_flag_kind(s, "sub-score wrong", "wrong sub", "lead")
        with pytest.raises(StorageError):
            repo.retire_flag_kind(s, "sub-score wrong", "lead")


def test_undo_and_redo_keep_the_disputes_and_only_active_flags_count(cat):
    db, pks, mv = cat
    with db.begin() as s:
        a = repo.add_flag(s, pks["R1"], "sub-score wrong", "ana", model_version_id=mv, interactions={"p_t r_t": "too_high"})
        repo.add_flag(s, pks["R2"], "spam", "ana", model_version_id=mv,
                      interactions={"p_t r_t": "too_low", "p_v r_t": "too_high"})
        repo.add_flag(s, pks["R3"], "sub-score wrong", "bo", interactions={"p_t r_t": "too_high"})  # no model
    with db.begin() as s:
        counts = {c.interaction: (c.reviews, c.too_high, c.too_low) for c in repo.dispute_counts(s, mv)}
        assert counts == {"p_t r_t": (2, 1, 1), "p_v r_v": (0, 0, 0), "p_t r_v": (0, 0, 0), "p_v r_t": (1, 1, 0),
                          "r_t r_v": (0, 0, 0)}
        assert {c.interaction: c.reviews for c in repo.dispute_counts(s, None)}["p_t r_t"] == 1
        assert repo.disputed_interactions(s) == {pks["R1"]: ("p_t r_t",), pks["R2"]: ("p_t r_t", "p_v r_t"),
                                                 pks["R3"]: ("p_t r_t",)}
        u = repo.undo_flag(s, a.id, "ana", a.version)
        assert u.interactions == (("p_t r_t", "too_high"),)  # kept on the row, for redo and history
        assert {c.interaction: c.reviews for c in repo.dispute_counts(s, mv)}["p_t r_t"] == 1
        assert pks["R1"] not in repo.disputed_interactions(s)
        repo.redo_flag(s, a.id, "ana", u.version)
        assert pks["R1"] in repo.disputed_interactions(s)
        undo_event = repo.list_audit_events(s, target_kind="review", target_id=pks["R1"])[1]
    assert undo_event.action == "flag.undo" and undo_event.details["interactions"] == {"p_t r_t": "too_high"}


def test_training_catalogue_carries_the_disputes(cat, tmp_path):
    db, pks, _ = cat
    with db.begin() as s:
        repo.add_flag(s, pks["R1"], "sub-score wrong", "ana", interactions={"r_t r_v": "too_low"})
    with db.begin() as s:
        reviews = {r.id: r for p in repo.load_catalogue(s, db.media_dir) for r in p.reviews}
        product_pks = [p.id for p in repo.list_products(s)]
        loaded = {r.id: r for p in repo.load_products(s, db.media_dir, product_pks) for r in p.reviews}
    assert reviews[pks["R1"]].disputed == ("r_t r_v",) and reviews[pks["R2"]].disputed == ()
    assert loaded[pks["R1"]].disputed == ("r_t r_v",)


def test_export_has_the_disputed_interactions_column(cat, tmp_path):
    db, pks, _ = cat
    with db.begin() as s:
        repo.add_flag(s, pks["R1"], "sub-score wrong", "ana", interactions={"r_t r_v": "too_low", "p_t r_t": "too_high"})
        repo.add_flag(s, pks["R2"], "spam", "ana")
        assert export_flags(s, tmp_path / "f.csv") == 2
        export_flags(s, tmp_path / "f.jsonl")
    rows = {r["review_id"]: r for r in csv.DictReader(open(tmp_path / "f.csv", encoding="utf-8"))}
    assert rows["R1"]["disputed_interactions"] == "p_t r_t:too_high;r_t r_v:too_low"
    assert rows["R2"]["disputed_interactions"] == ""
    lines = [json.loads(line) for line in open(tmp_path / "f.jsonl", encoding="utf-8")]
    assert lines[0]["disputed_interactions"] == "p_t r_t:too_high;r_t r_v:too_low"


def test_flags_go_with_their_review_and_their_disputes_with_them(cat):
    db, pks, _ = cat
    with db.begin() as s:
        repo.add_flag(s, pks["R1"], "sub-score wrong", "ana", interactions={"r_t r_v": "too_low"})
    with db.begin() as s:
        s.delete(s.get(Review, pks["R1"]))
    with db.begin() as s:
        assert s.scalar(select(FlagInteraction.flag_id)) is None


def test_0007_adds_the_table_gives_back_the_kind_and_drops_the_table_on_downgrade(tmp_path):
    """A database at 0006 whose "sub-score wrong" kind was retired and that has flags: after 0007 the
    kind is offered again, the flags dispute nothing, disputes can be written; downgrading drops
    only the table."""
    path = tmp_path / "made_by_0006.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0006_score_parts")
        conn.execute(text("INSERT INTO products (id, product_id, title, description, category, split, image_urls, extra,"
                          " created_at) VALUES (1, 'P1', 't', '', '', 'train', '[]', '{}', '2026-01-01')"))
        conn.execute(text("INSERT INTO reviews (id, review_id, product_pk, title, text, helpful_votes, image_urls, extra)"
                          " VALUES (1, 'R1', 1, '', 'text', 3, '[]', '{}')"))
        conn.execute(text("INSERT INTO flags (review_pk, kind, note, author, created_at, undone, version)"
                          " VALUES (1, 'sub-score wrong', '', 'old', '2026-01-01', 0, 1)"))
        conn.execute(text("UPDATE flag_kinds SET retired_at = '2026-01-02' WHERE name = 'sub-score wrong'"))
    engine.dispose()

    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    with db.begin() as s:
        assert "sub-score wrong" in [k.name for k in repo.list_flag_kinds(s)]
        (old,) = repo.list_flags(s)
        assert old.interactions == ()
        # a flag of before 0007 still edits (its note) without naming a dispute
        old = repo.edit_flag(s, old.id, "mod", old.version, note="legacy")
        repo.edit_flag(s, old.id, "mod", old.version, interactions={"p_t r_t": "too_low"})
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0006_score_parts")
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
        kinds = [r[0] for r in conn.execute(text("SELECT kind FROM flags"))]
    assert "flag_interactions" not in tables and kinds == ["sub-score wrong"]
    db.dispose()


def test_a_bulk_flag_cannot_give_sub_score_wrong_and_leaves_disputes_alone(cat):
    db, pks, _ = cat
    with db.begin() as s:
        repo.add_flag(s, pks["R1"], "sub-score wrong", "ana", interactions={"p_t r_t": "too_high"})
        with pytest.raises(ValueError, match="bulk"):
            repo.bulk_apply_flags(s, [pks["R1"], pks["R2"]], "sub-score wrong", "ana")
        change = repo.bulk_apply_flags(s, [pks["R1"], pks["R2"]], "spam", "ana")
        assert repo.active_flag(s, pks["R1"]).interactions == (("p_t r_t", "too_high"),)  # kind changed, disputes kept
        repo.bulk_undo_flags(s, change, "ana")
        back = repo.active_flag(s, pks["R1"])
        assert (back.kind, back.interactions) == ("sub-score wrong", (("p_t r_t", "too_high"),))

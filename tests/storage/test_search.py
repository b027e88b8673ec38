"""Full-text search (SQLite FTS5, migration 0005_search): what matches, in which order, with
which input; the index follows every write (triggers) and the migration indexes what is there."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from helpers import search_checks as checks
from helpers.storage_checks import write_good_catalogue
from storage import open_database
from storage import repository as repo
from storage.db import _alembic_config
from storage.importers import import_path
from storage.models import Product, Review
from storage.repository.search import MAX_TERMS, parse_search


@pytest.fixture
def searchable(db):
    return db, checks.fill(db)


def _integrity(db) -> None:
    """FTS5's own check: the index holds exactly the words of the content (reviews + products)."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO reviews_fts(reviews_fts, rank) VALUES ('integrity-check', 1)")


def test_matches_review_text_review_title_and_product_title_across_products(searchable):
    checks.check_matches_every_field_across_products(searchable[0])


def test_ranking_puts_the_better_match_first(searchable):
    checks.check_ranking_puts_the_better_match_first(searchable[0])


def test_quoted_phrases_match_adjacent_words_only(searchable):
    checks.check_phrase(searchable[0])


def test_last_word_matches_as_a_prefix_while_typed(searchable):
    checks.check_prefix(searchable[0])


def test_hostile_input_never_makes_a_syntax_error(searchable):
    checks.check_hostile_input_is_a_plain_search(searchable[0])


def test_pages_and_snippets(searchable):
    checks.check_paging_and_snippets(searchable[0])


def test_index_follows_orm_inserts_updates_and_deletes(searchable):
    db, pks = searchable
    with db.begin() as s:
        s.add(Review(review_id="l-new", product_pk=s.get(Review, pks["l-dim"]).product_pk, title="Warm",
                     text="A warm amber glow."))
    assert checks.ids(db, "amber ") == ["l-new"]
    checks.check_follows_updates_and_deletes(db, pks)
    _integrity(db)


def test_deleting_a_product_removes_its_reviews_from_the_index(searchable):
    db, pks = searchable
    with db.begin() as s:
        s.delete(next(p for p in s.query(Product) if p.product_id == "P-KETTLE"))  # reviews go by cascade
    assert checks.ids(db, "boils ") == [] and checks.ids(db, "deluxe ") == []
    assert checks.ids(db, "sturdy ") == ["l-bright"]
    _integrity(db)


def test_unchanged_rewrite_keeps_the_index_and_raw_sql_writes_are_indexed_too(searchable):
    db, pks = searchable
    with db.begin() as s:  # what a re-import does: the same values written again
        s.execute(text("UPDATE reviews SET title = title, text = text, product_pk = product_pk"))
        s.execute(text("UPDATE products SET title = title"))
        s.execute(text("INSERT INTO reviews (review_id, product_pk, title, text, rating, helpful_votes, image_urls, extra)"
                       " VALUES ('raw', :p, '', 'written by another program', NULL, 0, '[]', '{}')"),
                  {"p": s.get(Review, pks["b-gift"]).product_pk})
    assert checks.ids(db, "another program") == ["raw"]
    assert set(checks.ids(db, "deluxe ")) == {"k-best", "k-long", "k-leak"}
    _integrity(db)


def test_importer_bulk_inserts_and_reimports_are_searchable(db, tmp_path):
    folder = write_good_catalogue(tmp_path / "good")
    first = import_path(db, folder)
    assert first.reviews_added == 8
    with db.begin() as s:
        n_reviews = s.scalar(text("SELECT count(*) FROM reviews"))
        hits = repo.search_reviews(s, "kettle", limit=50).hits
    assert hits and all(h.review_id for h in hits)
    import_path(db, folder)  # idempotent re-import: updates, no duplicates in the index
    with db.begin() as s:
        assert [h.review_pk for h in repo.search_reviews(s, "kettle", limit=50).hits] == [h.review_pk for h in hits]
        assert s.scalar(text("SELECT count(*) FROM reviews_fts_docsize")) == n_reviews
    _integrity(db)


def _indexed(db) -> int:
    with db.begin() as s:
        return s.scalar(text("SELECT count(*) FROM reviews_fts_docsize"))


def test_import_leaves_its_reviews_to_the_first_search_which_indexes_every_one(db, tmp_path, monkeypatch):
    from storage.importers import writer

    monkeypatch.setattr(writer, "SQLITE_ROWS_PER_INSERT", 3)  # 8 reviews: statements of 3, 3 and 2
    report = import_path(db, write_good_catalogue(tmp_path / "good"))
    with db.begin() as s:
        stored = {r.review_id: (r.title, r.text) for r in s.query(Review)}
        assert repo.search_backlog(s) == 8
    assert report.reviews_added == len(stored) == 8 and _indexed(db) == 0
    assert checks.ids(db, "boils ") == ["R1"]  # the search indexed everything first
    assert _indexed(db) == 8
    with db.begin() as s:
        assert repo.search_backlog(s) == 0 and repo.catch_up_search_index(s) == 0
    for review_id, (title, body) in stored.items():
        words = " ".join(w for w in (title + " " + body).split() if w.isalpha())[:60].rsplit(" ", 1)[0]
        assert review_id in checks.ids(db, words + " "), (review_id, words)
    _integrity(db)


def test_writes_while_the_index_is_behind_are_right_after_the_catch_up(searchable, tmp_path):
    """Reviews an import left unindexed are edited, moved, deleted and renamed (through their
    product) by others before any search: the triggers leave them alone (FTS5 must never be told
    to delete words it does not hold), and the catch-up indexes what they hold then. Indexed
    reviews edited meanwhile are re-indexed by the triggers as before."""
    db, pks = searchable
    import_path(db, write_good_catalogue(tmp_path / "good"))
    with db.begin() as s:
        assert repo.search_backlog(s) == 8
        r = {x.review_id: x for x in s.query(Review)}
        r["R1"].text = "Now about a teapot"  # unindexed: edited
        r["R2"].product_pk = r["k-best"].product_pk  # unindexed: moved to an indexed product
        s.delete(r["R3"])  # unindexed: deleted
        r["k-leak"].text = "The spout drips"  # indexed: edited while the index is behind
        p = {x.product_id: x for x in s.query(Product)}
        p["P2"].title = "Walking shoes"  # a product of unindexed reviews only
        p["P-LAMP"].title = "Reading lamp"  # a product of indexed reviews
        s.add(Review(review_id="late", product_pk=p["P3"].id, title="", text="written while behind"))
    with db.begin() as s:
        s.delete(next(x for x in s.query(Product) if x.product_id == "P3"))  # unindexed reviews go with it
        assert repo.search_backlog(s) == 5  # R1 R2 R4 R5 R6 (R3 deleted, R7 R8 and late with P3)
    assert checks.ids(db, "teapot ") == ["R1"] and checks.ids(db, "boils great ") == []
    _integrity(db)
    assert set(checks.ids(db, "deluxe ")) == {"k-best", "k-long", "k-leak", "R2"}  # R2 under the kettle now
    assert checks.ids(db, "spout ") == ["k-leak"] and checks.ids(db, "leaks ") == ["k-leak"]  # its title still
    assert set(checks.ids(db, "walking ")) == {"R5", "R6"}
    assert set(checks.ids(db, "reading ")) == {"l-bright", "l-dim", "l-kettlebell"}
    assert checks.ids(db, "behind ") == [] and checks.ids(db, "tasty ") == []
    assert _indexed(db) == 9 + 5


def test_a_review_given_a_freed_id_below_the_mark_is_indexed_at_once(searchable, tmp_path):
    db, pks = searchable
    with db.begin() as s:  # the two newest reviews go: their ids come back to the next inserts
        for rid in ("l-dim", "l-kettlebell"):
            s.delete(s.get(Review, pks[rid]))
    import_path(db, write_good_catalogue(tmp_path / "good"))  # mark: max(id) + 1 = the freed id of l-dim
    with db.begin() as s:
        # the import's reviews and the newest indexed one go: the next id is below the mark
        s.execute(text("DELETE FROM reviews WHERE review_id IN ('R1','R2','R3','R4','R5','R6','R7','R8','l-bright')"))
        lamp = s.scalar(text("SELECT id FROM products WHERE product_id = 'P-LAMP'"))
        s.add(Review(review_id="reused", product_pk=lamp, title="", text="Bright enough for a workshop"))
        s.flush()
        reused = s.scalar(text("SELECT id FROM reviews WHERE review_id = 'reused'"))
        assert reused < s.scalar(text("SELECT unindexed_from FROM search_state"))
    assert _indexed(db) == 7  # indexed by its trigger, before any catch-up
    assert checks.ids(db, "workshop ") == ["reused"]
    _integrity(db)


def test_a_second_import_while_behind_keeps_the_first_mark(db, tmp_path):
    import_path(db, write_good_catalogue(tmp_path / "good"))
    other = [{**r, "review_id": r["review_id"] + "b", "text": r["text"] + " second"}
             for r in __import__("helpers.storage_checks", fromlist=["good_reviews"]).good_reviews()]
    import_path(db, write_good_catalogue(tmp_path / "more", reviews=other))
    with db.begin() as s:
        assert repo.search_backlog(s) == 16
    assert len(checks.ids(db, "second ")) == 8 and _indexed(db) == 16
    _integrity(db)


def test_migration_indexes_the_rows_already_there_and_downgrade_removes_the_index(tmp_path):
    path = tmp_path / "made_by_0003.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0003")
        conn.execute(text("INSERT INTO products (id, product_id, title, description, category, split, image_urls, extra,"
                          " created_at) VALUES (1, 'P1', 'Copper kettle', '', '', 'train', '[]', '{}', '2026-01-01')"))
        conn.execute(text("INSERT INTO reviews (id, review_id, product_pk, title, text, helpful_votes, image_urls, extra)"
                          " VALUES (1, 'R1', 1, 'Shiny', 'Polished and heavy', 2, '[]', '{}'),"
                          " (2, 'R2', 1, 'Dull', 'Tarnished quickly', 0, '[]', '{}')"))
    engine.dispose()
    db = open_database(str(path), media_dir=tmp_path / "m")
    assert checks.ids(db, "polished") == ["R1"] and set(checks.ids(db, "copper")) == {"R1", "R2"}
    _integrity(db)
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0003")
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert not {n for n in names if "fts" in n}
    db.dispose()


def test_search_objects_exist_at_head(db):
    """A later batch migration of reviews or products would drop the triggers with the table."""
    with db.engine.connect() as conn:
        triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    assert {"reviews_fts_insert", "reviews_fts_update", "reviews_fts_delete", "products_fts_update",
            "products_fts_delete"} <= triggers


def test_parse_keeps_words_and_phrases_only():
    assert parse_search('kettle "boils fast" NEAR(').groups == (("kettle",), ("boils", "fast"), ("near",))
    assert parse_search("kett").prefix and not parse_search("kett ").prefix and not parse_search('"kett"').prefix
    assert parse_search("\"a b").groups == (("a", "b"),) and not parse_search("x k").prefix
    assert parse_search("don't_stop").groups == (("don",), ("t",), ("stop",))  # as the index splits them
    many = parse_search(" ".join(f"w{i}" for i in range(100)))
    assert len(many.words) == MAX_TERMS and not many.prefix  # the last word kept is not the one being typed
    assert parse_search('"kettle" "').fts5() == '"kettle"'
    assert parse_search('a "b c" de').tsquery() == "'a' & ('b' <-> 'c') & 'de':*"
    assert parse_search('a "b c" de').tsquery(any_word=True) == "'a' | 'b' | 'c' | 'de':*"
    assert parse_search('a "b c" de').fts5() == '"a" "b c" "de"*'


def test_bad_page_arguments_are_refused(db):
    with db.begin() as s:
        with pytest.raises(ValueError, match="limit"):
            repo.search_reviews(s, "x", limit=0)
        with pytest.raises(ValueError, match="offset"):
            repo.search_reviews(s, "x", offset=-1)
        with pytest.raises(TypeError):
            repo.search_reviews(s, None)


def test_0009_keeps_the_index_and_its_downgrade_indexes_what_is_behind(tmp_path):
    path = tmp_path / "store.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0008_top_reasons")
    engine.dispose()
    db = open_database(str(path), migrate=False, media_dir=tmp_path / "m")
    checks.fill(db)  # indexed by 0005's triggers
    db.dispose()
    db = open_database(str(path), media_dir=tmp_path / "m")  # -> head
    assert checks.ids(db, "sturdy ") == ["l-bright"]
    import_path(db, write_good_catalogue(tmp_path / "good"))
    assert _indexed(db) == 9
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0008_top_reasons")
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert "search_state" not in names and "reviews_fts_insert" in names
    assert _indexed(db) == 17
    _integrity(db)
    db.dispose()


def test_a_read_only_database_whose_index_is_behind_says_how_to_fix_it(tmp_path):
    from storage.errors import StorageError

    store = tmp_path / "store.db"
    db = open_database(str(store), media_dir=tmp_path / "m")
    import_path(db, write_good_catalogue(tmp_path / "good"))
    db.dispose()
    ro = open_database(f"sqlite:///file:{store}?mode=ro&uri=true")
    with pytest.raises(StorageError, match="8 reviews of a recent import.*read-only.*index-search"):
        checks.ids(ro, "kettle")
    ro.dispose()
    db = open_database(str(store), media_dir=tmp_path / "m")
    assert checks.ids(db, "boils ") == ["R1"]
    db.dispose()
    ro = open_database(f"sqlite:///file:{store}?mode=ro&uri=true")
    assert checks.ids(ro, "boils ") == ["R1"]  # caught up: read-only searches answer
    ro.dispose()


def test_catching_up_in_steps_with_writes_between_them_ends_exact(searchable, tmp_path):
    """The app catches up a few reviews per transaction: the mark moves past each step, and what is
    written between the steps (by the triggers or left to a later step) ends up indexed exactly."""
    db, pks = searchable
    import_path(db, write_good_catalogue(tmp_path / "good"))
    steps = []
    with db.begin() as s:
        steps.append(repo.catch_up_search_index(s, limit=3))
    with db.begin() as s:
        r = {x.review_id: x for x in s.query(Review)}
        r["R1"].text = "Edited after its step: a teapot"  # indexed in step 1: its trigger re-indexes it
        r["R8"].text = "Edited before its step: a saucepan"  # still behind: its step reads this
        s.delete(r["R5"])  # behind: deleted before its step
        assert repo.search_backlog(s) == 4  # R4, R6, R7, R8
    while True:
        with db.begin() as s:
            n = repo.catch_up_search_index(s, limit=3)
        if not n:
            break
        steps.append(n)
    assert steps == [3, 3, 1]
    with db.begin() as s:
        assert repo.search_backlog(s) == 0 and s.scalar(text("SELECT unindexed_from FROM search_state")) is None
    _integrity(db)
    assert _indexed(db) == 9 + 7
    assert checks.ids(db, "teapot ") == ["R1"] and checks.ids(db, "saucepan ") == ["R8"]
    assert checks.ids(db, "comfortable ") == []

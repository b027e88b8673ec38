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


def test_importer_writing_in_several_statements_indexes_every_review(db, tmp_path, monkeypatch):
    from storage.importers import writer

    monkeypatch.setattr(writer, "SQLITE_ROWS_PER_INSERT", 3)  # 8 reviews: statements of 3, 3 and 2
    report = import_path(db, write_good_catalogue(tmp_path / "good"))
    with db.begin() as s:
        stored = {r.review_id: (r.title, r.text) for r in s.query(Review)}
        indexed = s.scalar(text("SELECT count(*) FROM reviews_fts_docsize"))
    assert report.reviews_added == len(stored) == indexed == 8
    for review_id, (title, body) in stored.items():
        words = " ".join(w for w in (title + " " + body).split() if w.isalpha())[:60].rsplit(" ", 1)[0]
        assert review_id in checks.ids(db, words + " "), (review_id, words)
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

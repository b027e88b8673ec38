"""Full-text search in team mode: the same searches give the same reviews on PostgreSQL (GIN
expression indexes of migration 0005_search) as on SQLite (FTS5). Skipped, with the reason,
when no PostgreSQL server can be had (tests/reliability/pgserver.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from helpers import search_checks as checks
from storage import open_database


@pytest.fixture
def pg_searchable(pg_url, tmp_path):
    db = open_database(pg_url, media_dir=tmp_path / "media")
    pks = checks.fill(db)
    yield db, pks
    db.dispose()


def test_same_matches_ranking_phrases_prefixes_and_hostile_input(pg_searchable):
    db, _ = pg_searchable
    checks.check_matches_every_field_across_products(db)
    checks.check_ranking_puts_the_better_match_first(db)
    checks.check_phrase(db)
    checks.check_prefix(db)
    checks.check_hostile_input_is_a_plain_search(db)
    checks.check_paging_and_snippets(db)


def test_follows_updates_and_deletes_and_uses_the_indexes(pg_searchable):
    db, pks = pg_searchable
    checks.check_follows_updates_and_deletes(db, pks)
    with db.engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))}
    assert {"ix_reviews_search", "ix_products_search"} <= names

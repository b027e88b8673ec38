"""the full-text index may be behind the reviews: imports leave the indexing to a catch-up

Revision ID: 0009_search_backlog
Revises: 0008_top_reasons
Create Date: 2026-12-07

SQLite only (PostgreSQL's GIN expression indexes are kept by the server). Indexing the reviews
of an import inside its transaction took about 3 s of a 10 s import of 100,000 reviews
(FTS5 tokenizing every text), whether through the insert trigger or one ``INSERT ... SELECT``.
An import now only marks where the unindexed reviews begin, and
``storage.repository.search.catch_up_search_index`` indexes them later (the app after an import,
in short steps; the first search, before it answers, whatever is left; ``reviewscope-engine
index-search``).

``search_state`` holds one row (id 1): ``unindexed_from`` NULL when the index is complete,
else the lowest review id that is not indexed; every review with an id at least that is not
in the index (reviews get growing ids: an import sets it to ``max(id) + 1`` under its write
lock, before its first insert). The triggers of 0005_search are made again so that they leave
those reviews alone: an insert, update or delete of a review with ``id >= unindexed_from``
(directly or through its product's title or deletion) does not touch the index, as FTS5's
external-content 'delete' must only ever be given words that were indexed; the catch-up then
indexes what those rows hold at that time, and clears the mark, in one transaction. A review
inserted by anyone else while the index is behind gets an id above the mark and is indexed by
the catch-up too (the trigger still indexes a new row whose id is below the mark: ids freed by
deletes can come back).

Downgrading catches up, then restores 0005's triggers and drops the table. A later batch
migration of ``reviews`` or ``products`` must drop these triggers first and create them again
(:data:`SQLITE_TRIGGERS` here), not 0005's.
"""
from alembic import op

revision = "0009_search_backlog"
down_revision = "0008_top_reasons"
branch_labels = None
depends_on = None

_W = "(SELECT unindexed_from FROM search_state WHERE id = 1)"


def _indexed(rowid: str) -> str:
    """SQL true when review ``rowid`` is one the index holds (or must hold): below the mark, or no mark."""
    return f"coalesce({rowid} < {_W}, 1)"


_DELETE_OLD = ("INSERT INTO reviews_fts(reviews_fts, rowid, title, text, product_title) VALUES "
               "('delete', old.id, old.title, old.text, (SELECT title FROM products WHERE id = old.product_pk));")
_INSERT_NEW = ("INSERT INTO reviews_fts(rowid, title, text, product_title) VALUES "
               "(new.id, new.title, new.text, (SELECT title FROM products WHERE id = new.product_pk));")

TRIGGER_NAMES = ("reviews_fts_insert", "reviews_fts_delete", "reviews_fts_update", "products_fts_delete",
                 "products_fts_update")

SQLITE_TRIGGERS = (
    f"CREATE TRIGGER reviews_fts_insert AFTER INSERT ON reviews WHEN {_indexed('new.id')} BEGIN {_INSERT_NEW} END",
    "CREATE TRIGGER reviews_fts_delete AFTER DELETE ON reviews "
    f"WHEN EXISTS (SELECT 1 FROM products WHERE id = old.product_pk) AND {_indexed('old.id')} BEGIN {_DELETE_OLD} END",
    "CREATE TRIGGER reviews_fts_update AFTER UPDATE OF title, text, product_pk ON reviews "
    "WHEN (old.title IS NOT new.title OR old.text IS NOT new.text OR old.product_pk IS NOT new.product_pk) "
    f"AND {_indexed('old.id')} BEGIN {_DELETE_OLD} {_INSERT_NEW} END",
    "CREATE TRIGGER products_fts_delete BEFORE DELETE ON products BEGIN "
    "INSERT INTO reviews_fts(reviews_fts, rowid, title, text, product_title) "
    f"SELECT 'delete', r.id, r.title, r.text, old.title FROM reviews AS r WHERE r.product_pk = old.id "
    f"AND {_indexed('r.id')}; END",
    "CREATE TRIGGER products_fts_update AFTER UPDATE OF title ON products WHEN old.title IS NOT new.title BEGIN "
    "INSERT INTO reviews_fts(reviews_fts, rowid, title, text, product_title) "
    f"SELECT 'delete', r.id, r.title, r.text, old.title FROM reviews AS r WHERE r.product_pk = old.id "
    f"AND {_indexed('r.id')}; "
    "INSERT INTO reviews_fts(rowid, title, text, product_title) "
    f"SELECT r.id, r.title, r.text, new.title FROM reviews AS r WHERE r.product_pk = new.id AND {_indexed('r.id')}; "
    "END",
)

CATCH_UP = (
    "INSERT INTO reviews_fts(rowid, title, text, product_title) "
    "SELECT r.id, r.title, r.text, p.title FROM reviews AS r JOIN products AS p ON p.id = r.product_pk "
    f"WHERE r.id >= {_W} ORDER BY r.id",
    "UPDATE search_state SET unindexed_from = NULL WHERE id = 1",
)
"""Index every review the mark names and clear it (frozen here; the app's copy is in
storage/repository/search.py)."""

# 0005_search's triggers, frozen (restored by the downgrade)
_0005_TRIGGERS = (
    f"CREATE TRIGGER reviews_fts_insert AFTER INSERT ON reviews BEGIN {_INSERT_NEW} END",
    "CREATE TRIGGER reviews_fts_delete AFTER DELETE ON reviews "
    f"WHEN EXISTS (SELECT 1 FROM products WHERE id = old.product_pk) BEGIN {_DELETE_OLD} END",
    "CREATE TRIGGER reviews_fts_update AFTER UPDATE OF title, text, product_pk ON reviews "
    "WHEN old.title IS NOT new.title OR old.text IS NOT new.text OR old.product_pk IS NOT new.product_pk "
    f"BEGIN {_DELETE_OLD} {_INSERT_NEW} END",
    "CREATE TRIGGER products_fts_delete BEFORE DELETE ON products BEGIN "
    "INSERT INTO reviews_fts(reviews_fts, rowid, title, text, product_title) "
    "SELECT 'delete', r.id, r.title, r.text, old.title FROM reviews AS r WHERE r.product_pk = old.id; END",
    "CREATE TRIGGER products_fts_update AFTER UPDATE OF title ON products WHEN old.title IS NOT new.title BEGIN "
    "INSERT INTO reviews_fts(reviews_fts, rowid, title, text, product_title) "
    "SELECT 'delete', r.id, r.title, r.text, old.title FROM reviews AS r WHERE r.product_pk = old.id; "
    "INSERT INTO reviews_fts(rowid, title, text, product_title) "
    "SELECT r.id, r.title, r.text, new.title FROM reviews AS r WHERE r.product_pk = new.id; END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE search_state (id INTEGER PRIMARY KEY CHECK (id = 1), unindexed_from INTEGER)")
    op.execute("INSERT INTO search_state (id, unindexed_from) VALUES (1, NULL)")
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in SQLITE_TRIGGERS:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in CATCH_UP:
        op.execute(sql)
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in _0005_TRIGGERS:
        op.execute(sql)
    op.execute("DROP TABLE search_state")

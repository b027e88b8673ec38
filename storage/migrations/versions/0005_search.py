"""full-text search over review titles, review texts and product titles

Revision ID: 0005_search
Revises: 0003
Create Date: 2026-12-05

SQLite: an FTS5 table ``reviews_fts`` (columns title, text, product_title; rowid = review id)
with external content: it stores only the index, and reads the words back for snippets from
the view ``reviews_fts_content`` (reviews joined to their product). Triggers on reviews and
products keep it in step with every INSERT, UPDATE and DELETE, whoever writes (importer, ORM,
another program); the rows already there are indexed here ("rebuild").

  - a review's UPDATE re-indexes it only when its title, text or product changed (a re-import
    of the same catalogue rewrites every row with the same values);
  - a product's new title re-indexes its reviews;
  - deleting a product removes its reviews from the index BEFORE the product row goes (the
    cascade then deletes the reviews, whose trigger finds no product and does nothing): an
    external-content delete must be given the exact words that were indexed.

PostgreSQL: GIN indexes on ``to_tsvector('simple', title || ' ' || text)`` of reviews and on
``to_tsvector('simple', title)`` of products; storage/repository/search.py queries with the
same expressions so the planner uses them.

Later migrations: a batch (copy-and-move) migration of ``reviews`` or ``products`` on SQLite
drops these triggers with the table, and fails on the view when it renames the copy; drop
the search objects first (:func:`downgrade` of this revision) and create them again after
(:func:`upgrade`), which re-indexes everything.
"""
from alembic import op

revision = "0005_search"
down_revision = "0004_flag_kinds"
branch_labels = None
depends_on = None

_DELETE_OLD = ("INSERT INTO reviews_fts(reviews_fts, rowid, title, text, product_title) VALUES "
               "('delete', old.id, old.title, old.text, (SELECT title FROM products WHERE id = old.product_pk));")
_INSERT_NEW = ("INSERT INTO reviews_fts(rowid, title, text, product_title) VALUES "
               "(new.id, new.title, new.text, (SELECT title FROM products WHERE id = new.product_pk));")

SQLITE_UP = (
    "CREATE VIEW reviews_fts_content AS SELECT r.id AS id, r.title AS title, r.text AS text, "
    "p.title AS product_title FROM reviews AS r JOIN products AS p ON p.id = r.product_pk",
    "CREATE VIRTUAL TABLE reviews_fts USING fts5(title, text, product_title, content='reviews_fts_content', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
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
    "INSERT INTO reviews_fts(reviews_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS products_fts_update",
    "DROP TRIGGER IF EXISTS products_fts_delete",
    "DROP TRIGGER IF EXISTS reviews_fts_update",
    "DROP TRIGGER IF EXISTS reviews_fts_delete",
    "DROP TRIGGER IF EXISTS reviews_fts_insert",
    "DROP TABLE IF EXISTS reviews_fts",
    "DROP VIEW IF EXISTS reviews_fts_content",
)
POSTGRESQL_UP = (
    "CREATE INDEX ix_reviews_search ON reviews USING gin (to_tsvector('simple', title || ' ' || text))",
    "CREATE INDEX ix_products_search ON products USING gin (to_tsvector('simple', title))",
)
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_products_search",
    "DROP INDEX IF EXISTS ix_reviews_search",
)


def _dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:
    dialect = _dialect()
    if dialect == "sqlite":
        statements = SQLITE_UP
    elif dialect == "postgresql":
        statements = POSTGRESQL_UP
    else:  # other backends: search falls back to LIKE (storage/repository/search.py)
        statements = ()
    for sql in statements:
        try:
            op.execute(sql)
        except Exception as exc:
            if "no such module: fts5" in str(exc):
                raise RuntimeError("this SQLite library has no FTS5 (full-text search), which ReviewScope needs; "
                                   "use a Python whose sqlite3 module is built with it") from exc
            raise


def downgrade() -> None:
    dialect = _dialect()
    for sql in SQLITE_DOWN if dialect == "sqlite" else POSTGRESQL_DOWN if dialect == "postgresql" else ():
        op.execute(sql)

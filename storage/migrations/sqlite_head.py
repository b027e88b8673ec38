"""``python -m storage.migrations.sqlite_head``: write sqlite_head.json, the schema that every
migration together gives a new SQLite file (see storage.db.SQLITE_HEAD_FILE). Run it after adding
a migration; tests/storage/test_schema_migrations.py fails until it is run."""
from __future__ import annotations

from storage.db import SQLITE_HEAD_FILE, write_sqlite_head

if __name__ == "__main__":
    print(f"{SQLITE_HEAD_FILE}: {write_sqlite_head()['revision']}")

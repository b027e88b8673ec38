"""``python -m storage.migrations.sqlite_head``: write sqlite_head.json, the schema that every
migration together gives a new SQLite file (see storage.db.SQLITE_HEAD_FILE). Run it after adding
a migration; tests/storage/test_schema_migrations.py fails until it is run. (The order of the
constraints in a table that a batch migration rebuilt changes from run to run; SQLite and the test
do not care, a diff of the file may show it.)"""
from __future__ import annotations

from storage.db import SQLITE_HEAD_FILE, write_sqlite_head

if __name__ == "__main__":
    print(f"{SQLITE_HEAD_FILE}: {write_sqlite_head()['revision']}")

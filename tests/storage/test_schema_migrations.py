"""Schema: migrations reach exactly Base.metadata; newer databases are refused; SQLite pragmas."""
from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from storage import open_database
from storage.db import _alembic_config, current_revision, head_revision
from storage.errors import SchemaTooNewError, StorageError
from storage.models import Base, include_name


def test_empty_sqlite_upgraded_to_head_matches_models(tmp_path):
    db = open_database(str(tmp_path / "s.db"), media_dir=tmp_path / "m")
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True, "include_name": include_name})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_every_model_table_exists_after_migration(db):
    with db.engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert set(Base.metadata.tables) <= names
    assert "alembic_version" in names


def test_database_from_a_newer_release_is_refused(tmp_path):
    path = tmp_path / "newer.db"
    open_database(str(path), media_dir=tmp_path / "m").dispose()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNewError, match="newer"):
        open_database(str(path), media_dir=tmp_path / "m")
    con = sqlite3.connect(path)  # and it was not touched
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999_from_the_future",)]
    con.close()


def test_database_made_by_alembic_at_0001_opens_and_upgrade_is_idempotent(tmp_path):
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    engine.dispose()
    for _ in range(3):  # opening again and again keeps one revision and the same tables
        db = open_database(str(path), media_dir=tmp_path / "m")
        assert current_revision(db.engine) == head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
            assert compare_metadata(ctx, Base.metadata) == []
        db.dispose()


def test_tables_without_a_revision_are_not_touched(tmp_path):
    path = tmp_path / "foreign.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="no schema revision"):
        open_database(str(path), media_dir=tmp_path / "m")


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(db):
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_foreign_keys_are_enforced(db):
    from sqlalchemy.exc import IntegrityError

    from storage.models import Review

    with pytest.raises(IntegrityError):
        with db.begin() as s:
            s.add(Review(review_id="orphan", product_pk=12345, text="x", helpful_votes=0))


def test_0002_keeps_every_row_and_leaves_one_active_model(tmp_path):
    """A database as main wrote it before 0002: two active models (the race the index now
    prevents), flags, predictions, a run with a status outside the set. After the upgrade every
    row is there, the newest active model is the one active, and a second one is refused."""
    import sqlalchemy as sa

    from storage import repository as repo
    from storage.models import RUN_STATUSES

    path = tmp_path / "made_by_0001.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    from sqlalchemy.orm import Session

    from storage.models import Flag, ModelVersion, Product, Review, TrainingRun

    with Session(engine) as s, s.begin():  # rows as 0001's code wrote them (the ORM skips no column)
        s.add(Product(id=1, product_id="P1", title="t"))
        s.add(Review(id=1, review_id="R1", product_pk=1, text="text", helpful_votes=3))
        for mid, name in ((1, "old"), (2, "new")):
            s.add(ModelVersion(id=mid, name=name, checkpoint_path="/m", checkpoint_sha256="ab", active=True))
            s.flush()
            # in SQL: the ORM's INSERT would name columns that later revisions added
            s.execute(text("INSERT INTO predictions (model_version_id, review_pk, score, s_pt_rt, s_pv_rv, s_pt_rv, "
                           "s_pv_rt, s_rt_rv, created_at) VALUES (:m, 1, 0.5, 1, 1, 1, 1, 1, '2026-01-01 10:00:00')"),
                      {"m": mid})
        s.add(Flag(review_pk=1, model_version_id=1, kind="spam", corrected_label=2, note="n", author="mod"))
        s.add(TrainingRun(id=1, status="exploded"))
    with engine.connect() as conn:
        before = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("products", "reviews", "model_versions", "predictions", "flags", "training_runs")}
    engine.dispose()

    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    with db.begin() as s:
        after = {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in before}
        assert after == before
        assert [m.name for m in repo.list_model_versions(s) if m.active] == ["new"]
        assert [f.corrected_label for f in repo.list_flags(s)] == [2]
        assert [r.status for r in repo.list_training_runs(s)] == ["failed"]
    with pytest.raises(sa.exc.IntegrityError):
        with db.begin() as s:
            s.execute(text("UPDATE model_versions SET active = 1"))
    with pytest.raises(sa.exc.IntegrityError):
        with db.begin() as s:
            s.execute(text("UPDATE training_runs SET status = 'whatever'"))
    with db.begin() as s:
        repo.activate_model(s, 1)  # switching stays possible
        assert [m.name for m in repo.list_model_versions(s) if m.active] == ["old"]
    with pytest.raises(ValueError):
        with db.begin() as s:
            repo.finish_training_run(s, 1, "exploded")
    assert "interrupted" in RUN_STATUSES
    db.dispose()


def test_0003_moves_each_run_history_into_epoch_rows_and_back(tmp_path):
    """A database at 0002 keeps a run's epochs as metrics["history"]; after 0003 they are rows
    of training_epochs (bad entries stay in the JSON), and downgrading restores the list."""
    import json

    from storage import repository as repo

    path = tmp_path / "made_by_0002.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0002")
    history = [{"epoch": 1, "losses": {"total": 0.9, "target": 0.8}, "dev": {"MAP": 0.51}, "pseudo_labels": {"p_t r_t": {}},
                "samples_per_s": 12.5},
               {"epoch": 2, "losses": {"total": 0.7}, "dev": {"MAP": 0.55}, "pseudo_labels": {}, "samples_per_s": 13.0},
               "not an epoch"]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO training_runs (id, status, config, log, metrics, started_at, finished_at) VALUES "
                          "(1, 'succeeded', '{}', '', :m, '2026-01-01 10:00:00', '2026-01-01 10:05:00'), "
                          "(2, 'failed', '{}', '', '{}', '2026-01-02 10:00:00', NULL)"),
                     {"m": json.dumps({"best_epoch": 2, "dev": {"MAP": 0.55}, "history": history})})
    engine.dispose()

    db = open_database(str(path), media_dir=tmp_path / "m")
    with db.begin() as s:
        runs = {r.id: r for r in repo.list_training_runs(s)}
        assert runs[1].metrics == {"best_epoch": 2, "dev": {"MAP": 0.55}, "history": ["not an epoch"]}
        assert runs[1].epochs == 2 and runs[2].epochs == 0
        rows = repo.list_training_epochs(s, 1)
        assert [r.as_history() for r in rows] == history[:2]
        assert [(r.loss, r.dev_map) for r in rows] == [(0.9, 0.51), (0.7, 0.55)]
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002")
        restored = json.loads(conn.execute(text("SELECT metrics FROM training_runs WHERE id = 1")).scalar())
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert restored["history"] == history and "training_epochs" not in tables
    db.dispose()



def test_0004_seeds_the_default_kinds_and_the_odd_kinds_flags_already_have(tmp_path):
    """A database at 0003 whose flags have a kind outside the defaults ("legacy", as a script
    wrote it): after 0004 the defaults are there in their order, the odd kinds after them, the
    flags still show theirs and can still be edited; downgrading drops the table, flags intact."""
    from sqlalchemy.orm import Session

    from storage import repository as repo
    from storage.models import Flag, Product, Review
    from storage.records import FLAG_KINDS

    path = tmp_path / "made_by_0003.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0003")
    with Session(engine) as s, s.begin():  # flags as 0003's code wrote them (the flags table did not change)
        s.add(Product(id=1, product_id="P1", title="t"))
        s.add_all([Review(id=1, review_id="R1", product_pk=1, text="text", helpful_votes=3),
                   Review(id=2, review_id="R2", product_pk=1, text="text", helpful_votes=0)])
        s.flush()
        s.add_all([Flag(review_pk=r, kind=k, author="mod")
                   for r, k in ((1, "legacy"), (2, "spam"), (2, "legacy"), (1, "another odd one"))])
    engine.dispose()

    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    with db.begin() as s:
        kinds = repo.list_flag_kinds(s, include_retired=True)
        assert [k.name for k in kinds] == [*FLAG_KINDS, "another odd one", "legacy"]
        assert not any(k.retired for k in kinds)
        flags = repo.list_flags(s)
        assert [f.kind for f in flags] == ["legacy", "spam", "legacy", "another odd one"]
        assert repo.edit_flag(s, flags[0].id, "mod", flags[0].version, note="still editable").kind == "legacy"
        repo.retire_flag_kind(s, "legacy", "lead")  # a moderator may retire it; the flags keep it
        assert repo.get_flag(s, flags[0].id).kind == "legacy"
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0003")
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
        kinds_after = [r[0] for r in conn.execute(text("SELECT kind FROM flags ORDER BY id"))]
    assert "flag_kinds" not in tables and kinds_after == ["legacy", "spam", "legacy", "another odd one"]
    db.dispose()


def test_0006_adds_the_score_parts_column_keeping_predictions_and_drops_it_on_downgrade(tmp_path):
    """A database at 0005 with a prediction: after 0006 the prediction is there without parts (the
    app offers to rescore), parts written now read back; downgrading drops only the column."""
    from sqlalchemy.orm import Session

    from storage import repository as repo
    from storage.models import ModelVersion, Product, Review
    from storage.records import PredictionIn

    path = tmp_path / "made_by_0005.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0005_search")
    with Session(engine) as s, s.begin():
        s.add(Product(id=1, product_id="P1", title="t"))
        s.add_all([Review(id=1, review_id="R1", product_pk=1, text="text", helpful_votes=3),
                   Review(id=2, review_id="R2", product_pk=1, text="more text", helpful_votes=1)])
        s.add(ModelVersion(id=1, name="old", checkpoint_path="/m", checkpoint_sha256="ab", active=True))
    with engine.begin() as conn:  # a prediction as 0005's code wrote it (no explanation column yet)
        conn.execute(text("INSERT INTO predictions (model_version_id, review_pk, score, created_at) "
                          "VALUES (1, 1, 0.75, '2026-01-01 10:00:00')"))
    engine.dispose()

    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    parts = {"version": 1, "reference": "training mean", "base": 0.5, "score": 1.25,
             "parts": [["meta:rating", "star rating", 0.5], ["block:p_t r_t", "product text \u00d7 review text", 0.25]]}
    with db.begin() as s:
        assert repo.score_parts(s, 1, 1) is None
        assert repo.get_review_detail(s, 1, 1, tmp_path / "m").explanation is None
        repo.write_predictions(s, 1, [PredictionIn(2, 1.25, (None,) * 5, parts)])
    with db.begin() as s:
        why = repo.get_review_detail(s, 2, 1, tmp_path / "m").explanation
        assert why == repo.score_parts(s, 1, 2)
        assert (why.score, why.base, why.reference) == (1.25, 0.5, "training mean")
        assert [(p.key, p.label, p.value) for p in why.parts] == [tuple(p) for p in parts["parts"]]
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0005_search")
        columns = {r[1] for r in conn.execute(text("PRAGMA table_info(predictions)"))}
        rows = conn.execute(text("SELECT review_pk, score FROM predictions ORDER BY review_pk")).fetchall()
        found = conn.execute(text("SELECT rowid FROM reviews_fts WHERE reviews_fts MATCH 'more'")).fetchall()
    assert "explanation" not in columns and rows == [(1, 0.75), (2, 1.25)] and found == [(2,)]
    db.dispose()


def test_0008_copies_each_stored_explanations_two_largest_parts_into_columns(tmp_path):
    """A database at 0006 with predictions with and without parts: after 0008 the review rows read
    their top reasons from the new columns (none where no parts are stored); downgrading drops them."""
    import json

    from sqlalchemy.orm import Session

    from storage import repository as repo
    from storage.models import ModelVersion, Product, Review

    path = tmp_path / "made_by_0006.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0006_score_parts")
    with Session(engine) as s, s.begin():
        s.add(Product(id=1, product_id="P1", title="t"))
        s.add_all([Review(id=i, review_id=f"R{i}", product_pk=1, text="text", helpful_votes=3) for i in (1, 2, 3)])
        s.add(ModelVersion(id=1, name="old", checkpoint_path="/m", checkpoint_sha256="ab", active=True))
    parts = {"version": 1, "reference": "training mean", "base": 0.5, "score": 0.9,
             "parts": [["meta:rating", "star rating", 0.1], ["meta:log_text_chars", "review length", -0.4],
                       ["block:p_t r_t", "product text \u00d7 review text", 0.7]]}
    with engine.begin() as conn:  # as 0006's code wrote them
        for pk, data in ((1, json.dumps(parts)), (2, None), (3, '{"version": 99}')):
            conn.execute(text("INSERT INTO predictions (model_version_id, review_pk, score, created_at, explanation) "
                              "VALUES (1, :pk, 0.9, '2026-01-01 10:00:00', :data)"), {"pk": pk, "data": data})
    engine.dispose()

    db = open_database(str(path), media_dir=tmp_path / "m")
    assert current_revision(db.engine) == head_revision()
    with db.begin() as s:
        rows = {r.id: r for r in repo.review_rows_by_pks(s, [1, 2, 3], 1)}
    assert rows[1].reasons == (("product text \u00d7 review text", 0.7), ("review length", -0.4))
    assert rows[2].reasons == () and rows[3].reasons == ()
    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0006_score_parts")
        columns = {r[1] for r in conn.execute(text("PRAGMA table_info(predictions)"))}
        n = conn.execute(text("SELECT count(*) FROM predictions WHERE explanation IS NOT NULL")).scalar()
    assert "top_reason" not in columns and "explanation" in columns and n == 2
    db.dispose()


def test_the_written_out_head_revision_is_the_newest_migration(tmp_path):
    """storage.db.HEAD_REVISION lets a database at head open without Alembic: it must be the head."""
    from storage import db as storage_db

    assert storage_db.HEAD_REVISION == head_revision()
    db = open_database(str(tmp_path / "s.db"))
    assert current_revision(db.engine) == storage_db.HEAD_REVISION
    assert storage_db._at_head(db.engine)
    with db.engine.begin() as conn:  # a database one revision behind is not taken for one at head
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0008_top_reasons'")
    assert not storage_db._at_head(db.engine)
    db.dispose()


def _ddl(sql):
    """A CREATE TABLE's lines as a set: Alembic's batch migrations write a table's constraints in
    an order that changes from run to run (a set's), which SQLite does not care about."""
    if not sql or not sql.startswith("CREATE TABLE"):
        return sql
    return frozenset(line.strip().rstrip(",").strip() for line in sql.split("\n"))


def _everything(path) -> tuple:
    """sqlite_master (automatic indexes and FTS5 shadow tables too) and every table's rows."""
    con = sqlite3.connect(path)
    try:
        master = sorted(((t, n, tb, _ddl(sql)) for t, n, tb, sql in
                         con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")), key=repr)
        rows = {}
        for kind, name, _tbl, sql in master:
            if kind == "table" and "VIRTUAL" not in str(sql):
                cur = con.execute(f'SELECT * FROM "{name}"')
                when = [i for i, d in enumerate(cur.description) if d[0] == "created_at"]
                rows[name] = sorted((tuple("<a time>" if i in when and v else v for i, v in enumerate(r))
                                     for r in cur), key=repr)
        return master, rows
    finally:
        con.close()


def test_a_new_sqlite_file_is_made_from_the_written_out_schema_identical_to_a_migrated_one(tmp_path, monkeypatch):
    """storage/migrations/sqlite_head.json is what the migrations give (run
    ``python -m storage.migrations.sqlite_head`` after adding one), and a file made from it, without
    Alembic, is the same as a migrated one: schema text, automatic indexes, FTS5 shadow tables, rows."""
    import json

    from storage import db as storage_db

    migrated = tmp_path / "migrated.json"
    snap = storage_db.write_sqlite_head(migrated)
    shipped = json.loads(storage_db.SQLITE_HEAD_FILE.read_text(encoding="utf-8"))
    fresh = json.loads(migrated.read_text())
    assert ([_ddl(x) for x in shipped["schema"]], shipped["rows"]) == ([_ddl(x) for x in fresh["schema"]], fresh["rows"]), \
        "sqlite_head.json is stale: run python -m storage.migrations.sqlite_head"
    assert snap["revision"] == head_revision()

    used = []
    real = storage_db._upgrade_with_alembic
    monkeypatch.setattr(storage_db, "_upgrade_with_alembic", lambda engine: (used.append(1), real(engine)))
    fast = open_database(str(tmp_path / "fast.db"))
    assert used == [] and current_revision(fast.engine) == head_revision()
    fast.dispose()
    monkeypatch.setattr(storage_db, "SQLITE_HEAD_FILE", tmp_path / "missing.json")  # -> Alembic
    slow = open_database(str(tmp_path / "slow.db"))
    assert used == [1]
    slow.dispose()
    assert _everything(tmp_path / "fast.db") == _everything(tmp_path / "slow.db")


def test_the_written_out_schema_is_used_only_for_an_empty_file_at_its_revision(tmp_path, monkeypatch):
    import json

    from storage import db as storage_db

    stale = tmp_path / "stale.json"
    snap = json.loads(storage_db.SQLITE_HEAD_FILE.read_text(encoding="utf-8"))
    stale.write_text(json.dumps({**snap, "revision": "0008_top_reasons"}))
    monkeypatch.setattr(storage_db, "SQLITE_HEAD_FILE", stale)
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert not storage_db._create_sqlite_at_head(engine)  # not this release's head: never used
    monkeypatch.setattr(storage_db, "SQLITE_HEAD_FILE", tmp_path / "head.json")
    storage_db.write_sqlite_head(tmp_path / "head.json")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (x)"))
    assert not storage_db._create_sqlite_at_head(engine)  # a file with something in it
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))] == ["notes"]
    engine.dispose()

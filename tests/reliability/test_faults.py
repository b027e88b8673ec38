"""Faults other than kills: a full disk, a read-only database or folder, a database locked
for too long, a migration that dies half-way, and the app flagging while a scoring job
writes predictions. Each: a clear one-line error (a StorageError in-process; exit status
non-zero and one ``error:`` line, no traceback, at the CLI) and nothing corrupted.

A full disk and a read-only folder are real: a small tmpfs is mounted (we run as root in
CI) and remounted read-only. Where mounting is impossible, those tests are skipped with the
reason; a non-root run uses chmod for the read-only folder instead.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import faultkit as fk
from helpers.storage_checks import table_checksums, write_good_catalogue
from storage import db as storage_db
from storage import open_database
from storage import repository as repo
from storage.db import DatabaseBusyError, DatabaseUnavailableError
from storage.errors import StorageError
from storage.importers import import_path
from storage.models import Prediction


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(fk.engine_cmd(*args), capture_output=True, text=True, env=fk.child_env(), cwd=fk.ROOT,
                          timeout=timeout)


def _fill(path: Path) -> None:
    """Write zeros into ``path`` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 16384)
    except OSError:
        pass
    try:  # the last few bytes too
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


class SmallDisk:
    """A tmpfs of a few MB mounted on a folder (root only); can be made read-only."""

    def __init__(self, where: Path, size: str):
        self.path = where
        where.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            pytest.skip("a small disk is simulated with a tmpfs mount, which needs root; not root here")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({(r.stderr or r.stdout).strip()}); disk full not simulated")

    def remount(self, mode: str) -> None:
        r = subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    def close(self) -> None:
        subprocess.run(["mount", "-o", "remount,rw", str(self.path)], capture_output=True)
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    disk = SmallDisk(tmp_path / "disk", "3m")
    yield disk
    disk.close()


# ------------------------------------------------------------------------ disk full


def test_disk_full_import_and_flag_fail_cleanly_then_recover(small_disk, tmp_path):
    store = small_disk.path / "store.db"
    db = open_database(str(store))
    good = write_good_catalogue(tmp_path / "good")
    import_path(db, good)
    acked = [db.run(lambda s: repo.add_flag(s, 1, "spam", "mod")).id for _ in range(3)]
    before = table_checksums(db)
    db.dispose()

    # 1. an import that does not fit: one line, exit 2, database unchanged
    big = fk.write_jsonl_catalogue(tmp_path / "big", 200, 150)
    r = _cli("import", str(big), "--db", str(store))
    assert r.returncode == 2
    line = _one_line_error(r.stderr)
    assert "no space left" in line and str(store) in line, line
    assert fk.sqlite_health(store) == ("ok", [])
    db = open_database(str(store))
    assert table_checksums(db) == before

    # 2. the disk is completely full while the app is open: a flag fails with a clear message
    _fill(small_disk.path / "filler")
    with pytest.raises(DatabaseUnavailableError, match="no space left") as info:
        for _ in range(200):  # the WAL may still have room for a few small transactions
            acked.append(db.run(lambda s: repo.add_flag(s, 1, "spam", "mod", note="x" * 4000)).id)
    assert "\n" not in str(info.value)
    assert fk.sqlite_health(store) == ("ok", [])
    # reading still works on a full disk
    with db.begin() as s:
        assert {f.id for f in repo.list_flags(s)} == set(acked)
    r = _cli("models", "list", "--db", str(store))
    assert r.returncode == 0, r.stderr
    db.dispose()

    # 3. space comes back: everything works again, every acknowledged flag is there
    os.unlink(small_disk.path / "filler")
    db = open_database(str(store))
    acked.append(db.run(lambda s: repo.add_flag(s, 2, "spam", "mod")).id)
    with db.begin() as s:
        assert {f.id for f in repo.list_flags(s)} == set(acked)
    db.dispose()
    assert fk.sqlite_health(store) == ("ok", [])


def test_full_disk_at_open_is_a_clear_error(small_disk, tmp_path):
    store = small_disk.path / "store.db"
    db = open_database(str(store))
    import_path(db, write_good_catalogue(tmp_path / "good"))
    before = table_checksums(db)
    db.dispose()  # clean close: SQLite removes its -wal/-shm files
    _fill(small_disk.path / "filler")
    r = _cli("import", str(tmp_path / "good"), "--db", str(store))
    assert r.returncode == 2
    assert "no space left" in _one_line_error(r.stderr)
    os.unlink(small_disk.path / "filler")
    assert fk.sqlite_health(store) == ("ok", [])
    db = open_database(str(store))
    assert table_checksums(db) == before
    db.dispose()


# ------------------------------------------------------------------------ read-only


def test_read_only_folder_is_a_clear_error_and_nothing_changes(tmp_path, request):
    folder = tmp_path / "ro"
    disk = None
    if os.geteuid() == 0:
        disk = SmallDisk(folder, "8m")  # skips when mounting is impossible
        request.addfinalizer(disk.close)
    else:
        folder.mkdir()
    try:
        store = folder / "store.db"
        db = open_database(str(store))
        import_path(db, write_good_catalogue(tmp_path / "good"))
        db.run(lambda s: repo.add_flag(s, 1, "spam", "mod"))
        before = table_checksums(db)
        db.dispose()
        if disk:
            disk.remount("ro")
        else:
            os.chmod(folder, 0o555)
        for args in (["import", str(tmp_path / "good")], ["models", "list"]):
            r = _cli(*args, "--db", str(store))
            assert r.returncode == 2, (args, r.stdout, r.stderr)
            line = _one_line_error(r.stderr)
            assert "read-only" in line and str(store) in line, line
        with pytest.raises(DatabaseUnavailableError, match="read-only"):
            open_database(str(store))
    finally:
        if disk:
            disk.remount("rw")
        else:
            os.chmod(folder, 0o755)
    assert fk.sqlite_health(store) == ("ok", [])
    db = open_database(str(store))
    assert table_checksums(db) == before
    db.dispose()


def test_read_only_database_refuses_writes_clearly(tmp_path):
    """A database opened read-only (SQLite URI mode=ro: works as root too) reads fine;
    each write fails with a StorageError naming it, and changes nothing."""
    store = tmp_path / "store.db"
    db = open_database(str(store))
    import_path(db, write_good_catalogue(tmp_path / "good"))
    before = table_checksums(db)
    db.dispose()
    ro = open_database(f"sqlite:///file:{store}?mode=ro&uri=true")
    assert ro.display_path == str(store)
    assert ro.media_dir == tmp_path / "store-media"  # not a folder named "file:"
    with ro.begin() as s:
        assert len(repo.list_products(s)) == 3
    with pytest.raises(DatabaseUnavailableError, match="read-only") as info:
        ro.run(lambda s: repo.add_flag(s, 1, "spam", "mod"))
    assert str(store) in str(info.value)
    with pytest.raises(StorageError, match="read-only"):
        with ro.begin() as s:
            repo.add_flag(s, 1, "spam", "mod")
    with pytest.raises(StorageError, match="read-only"):
        import_path(ro, write_good_catalogue(tmp_path / "other", products=None))
    ro.dispose()
    assert fk.sqlite_health(store) == ("ok", [])
    db = open_database(str(store))
    assert table_checksums(db) == before
    db.dispose()


def test_not_a_database_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not SQLite " * 300)
    with pytest.raises(DatabaseUnavailableError, match="not a ReviewScope database"):
        open_database(str(junk))
    r = _cli("models", "list", "--db", str(junk))
    assert r.returncode == 2
    assert "not a ReviewScope database" in _one_line_error(r.stderr)
    assert junk.read_bytes() == b"this is not SQLite " * 300


# ------------------------------------------------------------------------ busy, bounded retries


def test_retries_are_bounded_and_end_in_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(storage_db, "BUSY_TIMEOUT_MS", 100)
    store = tmp_path / "store.db"
    db = open_database(str(store))
    import_path(db, write_good_catalogue(tmp_path / "good"))
    holder = sqlite3.connect(str(store), isolation_level=None, timeout=0.1, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock ...
    calls = []

    def flag(s):
        calls.append(1)
        return repo.add_flag(s, 1, "spam", "mod")

    t0 = time.monotonic()
    with pytest.raises(DatabaseBusyError) as info:
        db.run(flag, retries=3)
    elapsed = time.monotonic() - t0
    assert len(calls) == 4  # the first try + 3 retries, then it gives up
    assert elapsed < 5, elapsed
    assert "busy" in str(info.value) and "database is locked" not in str(info.value)

    # ... and when the lock is released while we retry, the action simply succeeds
    threading.Timer(0.3, lambda: holder.execute("ROLLBACK")).start()
    rec = db.run(flag, retries=8)
    assert rec.id > 0
    holder.close()
    with db.begin() as s:
        assert len(repo.list_flags(s)) == 1
    db.dispose()


@pytest.mark.parametrize("how", ["alembic", "written-out schema"])
def test_a_migration_that_dies_half_way_leaves_the_database_as_before(tmp_path, monkeypatch, how):
    """The first open of a new database creates the schema in ONE transaction (SQLite runs
    DDL in autocommit unless told otherwise): a crash half-way must not leave tables that
    make every later open refuse the file. Both ways: Alembic's migrations, and the written-out
    schema a new SQLite file is made from (storage.db.SQLITE_HEAD_FILE)."""
    from alembic.operations import Operations

    real = Operations.create_table
    from sqlalchemy.engine import Connection

    real_exec = Connection.exec_driver_sql
    n = {"tables": 0}

    def dies_on_the_fourth(self, *a, **k):
        n["tables"] += 1
        if n["tables"] == 4:
            raise KeyboardInterrupt("simulated crash half-way through the migration")
        return real(self, *a, **k)

    def exec_dies_on_the_fourth_table(self, sql, *a, **k):
        if str(sql).startswith("CREATE TABLE"):
            n["tables"] += 1
            if n["tables"] == 4:
                raise KeyboardInterrupt("simulated crash half-way through making the schema")
        return real_exec(self, sql, *a, **k)

    if how == "alembic":
        monkeypatch.setattr(storage_db, "SQLITE_HEAD_FILE", tmp_path / "none.json")
        monkeypatch.setattr(Operations, "create_table", dies_on_the_fourth)
    else:
        monkeypatch.setattr(Connection, "exec_driver_sql", exec_dies_on_the_fourth_table)
    with pytest.raises(KeyboardInterrupt):
        open_database(str(tmp_path / "new.db"))
    assert n["tables"] == 4
    con = sqlite3.connect(str(tmp_path / "new.db"))
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] == 0
    con.close()
    monkeypatch.undo()
    db = open_database(str(tmp_path / "new.db"))  # recovers by itself
    assert storage_db.current_revision(db.engine) == storage_db.head_revision()
    db.dispose()


def test_several_processes_opening_a_new_database_at_once(tmp_path):
    """Only one of them migrates (BEGIN IMMEDIATE + a re-check under the lock); all open it."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = ("import sys; from storage import open_database; "
            "db = open_database(sys.argv[1]); print('OPEN', flush=True)")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], env=fk.child_env(), cwd=fk.ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-500:] for o in outs]
    assert fk.sqlite_health(tmp_path / "fresh.db") == ("ok", [])


# ------------------------------------------------------------------------ the app and a job at once


def test_flagging_while_score_writes_predictions(store_copy, tmp_path):
    """`score --all` (one transaction per 8-review chunk) and two moderators flagging in
    their own processes, all on one SQLite file: no "database is locked" reaches anyone,
    every acknowledged flag is there, every review is scored."""
    url = f"sqlite:///{store_copy}"
    db = open_database(url)
    fk.fill_catalogue(db, n_products=40, seed=11, prefix="C")
    with db.begin() as s:
        total = repo.count_reviews(s)
        mv = repo.get_active_model(s)
    stop = tmp_path / "stop"
    flaggers = [fk.ChildRun(fk.kit_cmd("flagger", url, "--seed", str(k), "--n", "100000", "--author", f"mod{k}",
                                       "--undo-every", "5", "--stop-file", str(stop)),
                            fk.child_env(), stderr_path=tmp_path / f"flag{k}.txt").start() for k in range(2)]
    for f in flaggers:
        assert f.wait_for(lambda line: line == "READY", timeout=60), f.stderr()
    # the moderators are flagging all along while the job scores every review
    score = fk.ChildRun(fk.kit_cmd("score", url, "--chunk", "8", "--all"), fk.child_env(),
                        stderr_path=tmp_path / "score.txt").start()
    score_rc = score.finish(timeout=180)
    stop.touch()
    rcs = [f.finish(timeout=60) for f in flaggers] + [score_rc]
    outputs = [c.stderr() + "\n".join(c.text) for c in [*flaggers, score]]
    assert rcs == [0, 0, 0], outputs
    for out in outputs:
        assert "locked" not in out.lower() and "busy" not in out.lower(), out[-1000:]
    done = [json.loads(line) for line in score.text if '"event": "done"' in line]
    assert done and done[0]["scored"] == total, score.text[-3:]
    with db.begin() as s:
        flags = {f.id: f for f in repo.list_flags(s, include_undone=True)}
        n_pred = s.scalar(select(func.count()).select_from(Prediction).where(Prediction.model_version_id == mv.id))
    actions, seconds = 0, 0.0
    for f in flaggers:
        added, undone = fk.acknowledged(f.text)
        assert added and all(fid in flags for fid in added)
        assert all(flags[fid].undone for fid in undone)
        _, n, secs = next(line for line in f.text if line.startswith("DONE")).split()
        actions, seconds = actions + int(n), max(seconds, float(secs))
    assert n_pred == total
    print(f"SQLite: 2 flagging processes during score --all ({total} reviews, chunks of 8): "
          f"{actions} flag/undo actions in {seconds:.1f}s = {actions / seconds:.0f}/s, 0 errors")
    db.dispose()
    assert fk.sqlite_health(store_copy) == ("ok", [])

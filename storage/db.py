"""Opening a ReviewScope database: engine, sessions, migrations, media folder.

One :class:`Database` is created at program start; each user action runs in one
``with db.begin() as session:`` block (commit on success, rollback on error), or through
``db.run(fn)``, which also retries a bounded number of times when another writer holds the
database (SQLite "database is locked", PostgreSQL serialization failures and deadlocks).

Environmental failures (disk full, read-only file or folder, database busy for too long,
a file that is not a database, a server that cannot be reached) come out of
:func:`open_database`, :meth:`Database.begin` and :meth:`Database.run` as
:class:`~storage.errors.StorageError` subclasses with a one-line message meant for the user;
the transaction is rolled back and nothing is half-written.

Backends: SQLite (the default; WAL, foreign keys, busy timeout, ``synchronous=FULL`` so an
acknowledged action survives a power cut too) and PostgreSQL for team mode
(``postgresql+psycopg://user:password@host/db``; ``postgres://`` and ``postgresql://`` mean
the same). Any other SQLAlchemy URL is passed through.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import platformdirs
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .errors import SchemaTooNewError, StorageError

APP_NAME = "ReviewScope"
BUSY_TIMEOUT_MS = 15_000
RUN_MAX_SECONDS = 30.0  # Database.run stops retrying after this long (then: DatabaseBusyError)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant works: every ReviewScope process migrating a PostgreSQL database takes it.
PG_MIGRATION_LOCK = 0x5265_7653  # "ReVS"
PG_CONNECT_TIMEOUT_S = 10
T = TypeVar("T")

# PostgreSQL SQLSTATEs after which the whole transaction may simply be run again.
_PG_RETRYABLE = {"40001": "serialization failure", "40P01": "deadlock", "55P03": "lock not available"}


class DatabaseBusyError(StorageError):
    """Another program kept the database locked longer than we wait (retries exhausted)."""


class DatabaseUnavailableError(StorageError):
    """The database cannot be read or written: disk full, read-only, damaged, unreachable."""


def user_data_dir() -> Path:
    override = os.environ.get("REVIEWSCOPE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_url() -> str:
    return f"sqlite:///{user_data_dir() / 'reviewscope.db'}"


def normalize_url(url_or_path: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as SQLite).

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://`` (psycopg 3, the
    driver of the ``postgres`` extra)."""
    if "://" in url_or_path:
        for prefix in ("postgres://", "postgresql://"):
            if url_or_path.startswith(prefix):
                return "postgresql+psycopg://" + url_or_path[len(prefix):]
        return url_or_path
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"


def safe_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show it as given (it has no password we could parse)
        return url


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (also ``sqlite:///file:PATH?mode=ro&uri=true``), None for
    in-memory databases and other backends."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return None
    db_file = sa_url.database
    if not db_file or db_file == ":memory:" or sa_url.query.get("mode") == "memory":
        return None
    if str(sa_url.query.get("uri", "")).lower() in ("true", "1") and db_file.startswith("file:"):
        db_file = db_file[len("file:"):]
        if db_file.startswith("//"):  # file://host/path: only the local form is supported
            db_file = "/" + db_file.lstrip("/")
    return db_file


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: in WAL mode a commit is on disk before the caller hears "saved", so an
        # acknowledged flag survives a power cut as well as a killed process.
        cur.execute("PRAGMA synchronous=FULL")
    finally:
        cur.close()


# ------------------------------------------------------------------ errors for the user


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_retryable(exc: BaseException) -> bool:
    """Would running the same transaction again likely succeed? (lock / busy / serialization)"""
    if not isinstance(exc, DBAPIError):
        return False
    if _sqlstate(exc) in _PG_RETRYABLE:
        return True
    msg = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in msg or "database table is locked" in msg or "database is busy" in msg


def _disk_nearly_full(where: str) -> bool:
    """Is the disk holding the SQLite file ``where`` (nearly) full? SQLite reports a full disk
    as "disk I/O error" when it cannot even create its -shm/-wal files."""
    try:
        folder = Path(where).parent
        return folder.is_dir() and shutil.disk_usage(folder).free < 512 * 1024
    except (OSError, ValueError):
        return False


def explain(exc: BaseException, where: str) -> StorageError | None:
    """A user-facing StorageError for an environmental database failure, None for others
    (a programming error must keep its own type and traceback)."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = getattr(exc, "orig", exc)
    msg = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    low = msg.lower()
    state = _sqlstate(exc) or ""
    if is_retryable(exc):
        return DatabaseBusyError(
            f"{where} is busy: another program kept it locked for too long; nothing was saved, try again"
        )
    if ("disk i/o error" in low or "unable to open database file" in low) and _disk_nearly_full(where):
        low = "disk is full"
    if "disk is full" in low or "no space left" in low or state == "53100":
        return DatabaseUnavailableError(f"no space left on the disk holding {where}; free some space and try again "
                                        "(the last change was not saved, nothing is damaged)")
    if "readonly" in low or "read-only" in low or state == "25006":
        return DatabaseUnavailableError(f"{where} is read-only (the file or its folder cannot be written); "
                                        "the last change was not saved")
    if "unable to open database file" in low:
        folder = Path(where).parent
        if folder.is_dir() and not os.access(folder, os.W_OK):
            return DatabaseUnavailableError(
                f"cannot open {where}: its folder {folder} is read-only, and SQLite must create its -wal/-shm "
                "files beside the database; get write access to the folder or copy the database elsewhere")
        return DatabaseUnavailableError(f"cannot open {where}: the file or its folder is missing, not readable, "
                                        "or the folder is read-only")
    if "not a database" in low or "malformed" in low:
        return DatabaseUnavailableError(f"{where} is not a ReviewScope database or is damaged ({msg})")
    if "disk i/o error" in low:
        return DatabaseUnavailableError(f"disk I/O error on {where}; check the disk ({msg})")
    if isinstance(exc, OperationalError) and (exc.connection_invalidated or state.startswith("08")
                                              or "connection" in low or "could not" in low or "timeout" in low):
        return DatabaseUnavailableError(f"cannot reach {where}: {msg}")
    if state.startswith("28"):  # invalid authorization
        return DatabaseUnavailableError(f"{where}: the server refused the login ({msg})")
    return None


# ------------------------------------------------------------------ migrations


def _alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


HEAD_REVISION = "0012_product_counts"
"""The newest migration, written out so that opening a database already at it reads one row and
imports no Alembic (~0.1 s of a command's start-up). tests/storage/test_schema_migrations.py checks
it against the migration scripts: a new migration must update it."""


def _at_head(engine: Engine) -> bool:
    """Is the database's schema revision :data:`HEAD_REVISION`? (False when it cannot tell: the
    full check in :func:`upgrade` then runs, with its errors.)"""
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
            conn.rollback()
    except DBAPIError:
        return False
    return [r[0] for r in rows] == [HEAD_REVISION]


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def _revision_of(conn) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


# ------------------------------------------------------------------ a new SQLite file at head, without Alembic

SQLITE_HEAD_FILE = MIGRATIONS_DIR / "sqlite_head.json"
"""The schema every migration together gives a new SQLite file, written out (its ``sqlite_master``
statements in creation order and the rows the migrations seed, ``alembic_version`` included):
``python -m storage.migrations.sqlite_head`` writes it (after a new migration); tests/storage/test_schema_migrations.py checks
that it is what the migrations give and that a file made from it is the same as a migrated one."""

_FTS_SHADOW = ("_data", "_idx", "_docsize", "_config", "_content")
_NOW = "@now"  # in a snapshot's rows: the time the file is made (seeded rows' created_at)


def _virtual_tables(rows) -> set[str]:
    return {name for kind, name, sql in rows if kind == "table" and sql and sql.upper().startswith("CREATE VIRTUAL")}


def sqlite_head_snapshot(dbapi_conn) -> dict:
    """What :data:`SQLITE_HEAD_FILE` holds, read from a sqlite3 connection: the statements of its
    schema (without what SQLite makes itself: automatic indexes, a virtual table's shadow tables)
    and the rows of its ordinary tables."""
    rows = dbapi_conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY rowid").fetchall()
    virtual = _virtual_tables(rows)
    shadow = {f"{v}{s}" for v in virtual for s in _FTS_SHADOW} & {name for kind, name, sql in rows if kind == "table"}
    schema = [sql for kind, name, sql in rows if sql and name not in shadow]
    data = {}
    for kind, name, sql in rows:
        if kind == "table" and sql and name not in shadow and name not in virtual:
            cur = dbapi_conn.execute(f'SELECT * FROM "{name}"')
            now = [i for i, d in enumerate(cur.description) if d[0] == "created_at"]
            found = [list(r) for r in cur]
            for r in found:  # the migrations seed rows created "now": so does the replay
                for i in now:
                    r[i] = _NOW
            if found:
                data[name] = sorted(found, key=repr)
    version = data.get("alembic_version", [[None]])[0][0]
    # an FTS5 table's 'rebuild' (0005_search) writes its averages record even over no rows
    after = [f"INSERT INTO {v}({v}) VALUES ('rebuild')" for v in sorted(virtual)]
    return {"revision": version, "schema": schema, "after": after, "rows": data}


def _create_sqlite_at_head(engine: Engine) -> bool:
    """A new, empty SQLite file: make its schema from :data:`SQLITE_HEAD_FILE` in ONE transaction
    (~10 ms, against ~0.2 s for importing Alembic and running every migration). False, having done
    nothing, when the file is not empty or the written-out schema is not :data:`HEAD_REVISION`'s."""
    import json

    try:
        snap = json.loads(SQLITE_HEAD_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if snap.get("revision") != HEAD_REVISION:
        return False
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")  # as in upgrade(): our own transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
                conn.exec_driver_sql("ROLLBACK")
                return False
            for sql in snap["schema"]:
                conn.exec_driver_sql(sql)
            for sql in snap.get("after", ()):
                conn.exec_driver_sql(sql)
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            for table, rows in snap["rows"].items():
                rows = [[now if v == _NOW else v for v in r] for r in rows]
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    conn.exec_driver_sql(f'INSERT INTO "{table}" VALUES ({marks})', [tuple(r) for r in rows])
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
    return True


def write_sqlite_head(path: Path = SQLITE_HEAD_FILE) -> dict:
    """Migrate a new temporary SQLite file with Alembic and write its snapshot to ``path``."""
    import json
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        engine = create_engine(f"sqlite:///{Path(d) / 'head.db'}")
        event.listen(engine, "connect", _sqlite_pragmas)
        _upgrade_with_alembic(engine)
        engine.dispose()
        con = sqlite3.connect(Path(d) / "head.db")
        try:
            snap = sqlite_head_snapshot(con)
        finally:
            con.close()
    Path(path).write_text(json.dumps(snap, indent=1) + "\n", encoding="utf-8")
    return snap


@dataclass
class Database:
    """An open store: engine, session factory and the folder for content-addressed media."""

    url: str
    engine: Engine
    sessions: sessionmaker
    media_dir: Path

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        """One transaction: commits on success, rolls back on any error. Disk full, read-only,
        busy and unreachable databases raise a StorageError with a message for the user."""
        try:
            with self.sessions.begin() as session:
                yield session
        except DBAPIError as exc:
            err = explain(exc, self.display_path)
            if err is None:
                raise
            raise err from exc

    def run(self, fn: Callable[[Session], T], retries: int = 8) -> T:
        """Run ``fn(session)`` in one transaction, retrying when another writer holds the
        database: at most ``retries`` more times and not after :data:`RUN_MAX_SECONDS`
        (each attempt already waits SQLite's busy timeout), with jittered exponential backoff.
        Exhausted retries raise :class:`DatabaseBusyError`; ``fn`` must not have effects
        outside the session, as it may run more than once."""
        t0 = time.monotonic()
        for attempt in range(retries + 1):
            try:
                with self.sessions.begin() as session:
                    return fn(session)
            except DBAPIError as exc:
                if is_retryable(exc) and attempt < retries and time.monotonic() - t0 < RUN_MAX_SECONDS:
                    time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                    continue
                err = explain(exc, self.display_path)
                if err is None:
                    raise
                raise err from exc
        raise AssertionError("unreachable")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.url.get_backend_name() == "postgresql"

    @property
    def display_path(self) -> str:
        if self.is_sqlite:
            return sqlite_file(self.url) or ":memory:"
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision_of(conn)


def _check_revision(conn, rev: str | None) -> None:
    if rev is not None and rev not in _known_revisions():
        raise SchemaTooNewError(
            f"database schema revision {rev!r} is newer than this ReviewScope knows "
            f"(head {head_revision()!r}); upgrade ReviewScope to open it"
        )
    if rev is None and inspect(conn).has_table("products"):
        raise StorageError("database has ReviewScope-like tables but no schema revision; refusing to touch it")


def upgrade(engine: Engine) -> None:
    """Bring the schema to head in ONE transaction; refuse a database written by a newer
    ReviewScope. Several processes opening one new database at once are serialized (SQLite:
    BEGIN IMMEDIATE; PostgreSQL: an advisory lock) and the revision is checked again under
    the lock, so only one of them migrates. A database already at head is only read (it may
    be read-only). A killed migration leaves the database as it was before it."""
    if _at_head(engine):
        return
    if engine.url.get_backend_name() == "sqlite" and _create_sqlite_at_head(engine):
        return
    _upgrade_with_alembic(engine)


def _upgrade_with_alembic(engine: Engine) -> None:
    from alembic import command

    head = head_revision()
    with engine.connect() as conn:
        rev = _revision_of(conn)
        _check_revision(conn, rev)
        conn.rollback()
        if rev == head:
            return
    sqlite = engine.url.get_backend_name() == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # pysqlite does not open a transaction before DDL (each CREATE commits on its
            # own): run the driver in autocommit and open the transaction ourselves.
            conn.execution_options(isolation_level="AUTOCOMMIT")
        with conn.begin():
            if sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif engine.url.get_backend_name() == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            try:
                rev = _revision_of(conn)
                _check_revision(conn, rev)
                if rev != head:
                    command.upgrade(_alembic_config(conn), "head")
            except BaseException:
                if sqlite:
                    conn.exec_driver_sql("ROLLBACK")
                raise
            if sqlite:
                conn.exec_driver_sql("COMMIT")


def open_database(url: str | None = None, *, migrate: bool = True, media_dir: Path | None = None) -> Database:
    """Open (and create/upgrade) the database at ``url`` (default: the user data folder)."""
    url = normalize_url(url) if url else default_db_url()
    shown = safe_url(url)
    try:
        sa_url = make_url(url)
    except Exception as exc:
        raise StorageError(f"not a database URL or path: {shown} ({exc})") from None
    backend = sa_url.get_backend_name()
    kwargs: dict = {}
    if backend == "sqlite":
        db_file = sqlite_file(url)
        if db_file:
            shown = db_file
            folder = Path(db_file).parent
            if sa_url.query.get("mode") != "ro":
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageError(f"cannot create database folder {folder}: {exc.strerror}") from exc
            if media_dir is None:
                media_dir = folder / (Path(db_file).stem + "-media")
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    elif backend == "postgresql":
        # Team mode: connections may sit idle for hours in the app; check them on checkout.
        # READ COMMITTED + the flags' version column: a conflicting edit fails, nothing is lost.
        kwargs.update(pool_pre_ping=True, pool_recycle=1800, isolation_level="READ COMMITTED")
        if sa_url.get_driver_name() == "psycopg":
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S, "application_name": "reviewscope"}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        hint = " (install it: pip install 'psycopg[binary]', the postgres extra)" if backend == "postgresql" else ""
        raise StorageError(f"cannot open {shown}: no database driver for it: {exc}{hint}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if media_dir is None:
        media_dir = user_data_dir() / "media"
    try:
        if migrate:
            upgrade(engine)
        else:
            with engine.connect():
                pass
    except DBAPIError as exc:
        engine.dispose()
        err = explain(exc, shown)
        raise (err or StorageError(f"cannot open database {shown}: {getattr(exc, 'orig', exc)}")) from exc
    except Exception:
        engine.dispose()
        raise
    return Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), media_dir=Path(media_dir))


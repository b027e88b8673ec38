"""Opening a ReviewScope database: engine, sessions, migrations, media folder.

One :class:`Database` is created at program start; each user action runs in one
``with db.begin() as session:`` block (commit on success, rollback on error).
"""
from __future__ import annotations

import contextlib
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import platformdirs
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .errors import SchemaTooNewError, StorageError

APP_NAME = "ReviewScope"
BUSY_TIMEOUT_MS = 15_000
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
T = TypeVar("T")


def user_data_dir() -> Path:
    override = os.environ.get("REVIEWSCOPE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_url() -> str:
    return f"sqlite:///{user_data_dir() / 'reviewscope.db'}"


def normalize_url(url_or_path: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as SQLite)."""
    if "://" in url_or_path:
        return url_or_path
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


@dataclass
class Database:
    """An open store: engine, session factory and the folder for content-addressed media."""

    url: str
    engine: Engine
    sessions: sessionmaker
    media_dir: Path

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        """One transaction: commits on success, rolls back on any error."""
        with self.sessions.begin() as session:
            yield session

    def run(self, fn: Callable[[Session], T], retries: int = 8) -> T:
        """Run ``fn(session)`` in one transaction, retrying a bounded number of times
        when SQLite reports the database locked (busy timeout already waited)."""
        for attempt in range(retries + 1):
            try:
                with self.begin() as session:
                    return fn(session)
            except OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == retries:
                    raise
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.url.get_backend_name() == "sqlite"

    @property
    def display_path(self) -> str:
        if self.is_sqlite:
            return self.engine.url.database or ":memory:"
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; refuse a database written by a newer ReviewScope."""
    from alembic import command

    rev = current_revision(engine)
    if rev is not None and rev not in _known_revisions():
        raise SchemaTooNewError(
            f"database schema revision {rev!r} is newer than this ReviewScope knows "
            f"(head {head_revision()!r}); upgrade ReviewScope to open it"
        )
    with engine.begin() as conn:
        if rev is None and inspect(conn).has_table("products"):
            raise StorageError("database has ReviewScope-like tables but no schema revision; refusing to touch it")
        command.upgrade(_alembic_config(conn), "head")


def open_database(url: str | None = None, *, migrate: bool = True, media_dir: Path | None = None) -> Database:
    """Open (and create/upgrade) the database at ``url`` (default: the user data folder)."""
    url = normalize_url(url) if url else default_db_url()
    sa_url = make_url(url)
    kwargs: dict = {}
    if sa_url.get_backend_name() == "sqlite":
        db_file = sa_url.database
        if db_file and db_file != ":memory:":
            folder = Path(db_file).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create database folder {folder}: {exc.strerror}") from exc
            if media_dir is None:
                media_dir = folder / (Path(db_file).stem + "-media")
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, **kwargs)
    if sa_url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if media_dir is None:
        media_dir = user_data_dir() / "media"
    try:
        if migrate:
            upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        raise StorageError(f"cannot open database {url}: {exc.orig}") from exc
    except Exception:
        engine.dispose()
        raise
    return Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), media_dir=Path(media_dir))

"""Files that belong to a database but live beside it: model checkpoints, media, and what
killed jobs leave behind.

A checkpoint is written into a temporary folder named ``.{name}.tmp-{pid}-XXXX`` and renamed
into place; a checkpoint it replaces is first moved to ``.{name}.old-{pid}-XXXX``. A job killed
in between leaves those folders. :func:`clean_leftovers` (run when the app or the engine opens a
database) removes them once their writer is gone, and puts back a replaced checkpoint whose
successor never arrived. Only folders inside the database's models folder are ever removed.

An import copies its images into the media folder just before its transaction commits; one
killed in between leaves files no row refers to. :func:`clean_orphan_media` removes them when
no import is writing (:func:`media_writer` holds a shared lock meanwhile), and only for a SQLite
database, whose media folder is its own (server databases share the user's media folder).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here, so orphan media are not cleaned
    fcntl = None  # type: ignore[assignment]

__all__ = ["data_root", "models_dir", "temp_prefix", "remove_checkpoint", "clean_leftovers",
           "media_lock", "media_writer", "clean_orphan_media"]

def media_lock(media_dir: str | os.PathLike) -> Path:
    """Lock file beside the media folder: importers hold it shared while they write, the cleaner
    exclusively (beside, not inside: the folder holds exactly the images)."""
    folder = Path(media_dir)
    return folder.with_name(folder.name + ".lock")

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?:(?P<pid>\d+)-)?[^/]*$")
LEGACY_GRACE_S = 3600
"""A leftover without a writer pid (written by an older version) is removed after this long."""


def data_root(db) -> Path:
    """Folder beside the database (SQLite) or the user data folder (server databases)."""
    return Path(db.media_dir).parent


def models_dir(db) -> Path:
    """Where the checkpoints trained for ``db`` are written."""
    stem = Path(db.media_dir).name.removesuffix("-media")
    return data_root(db) / (f"{stem}-models" if stem != "media" else "models")


def temp_prefix(name: str, kind: str = "tmp") -> str:
    """``mkdtemp`` prefix of a folder that becomes (``tmp``) or was (``old``) ``name``."""
    return f".{name}.{kind}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def remove_checkpoint(db, checkpoint_path: str | os.PathLike) -> bool:
    """Delete a deleted model version's checkpoint folder, if it lies in ``db``'s models folder
    (never the bundled starter model, never a folder the user pointed at). True when removed."""
    folder = models_dir(db)
    path = Path(checkpoint_path)
    if path.is_file():
        path = path.parent
    if path.is_symlink() or not path.is_dir() or not _inside(path, folder) or path.resolve() == folder.resolve():
        return False
    shutil.rmtree(path)
    return True


def clean_leftovers(db, now: float | None = None) -> list[str]:
    """Remove the temporary checkpoint folders of writers that are gone; restore a replaced
    checkpoint whose replacement never arrived. Returns what was done, one line each."""
    folder = models_dir(db)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    done: list[str] = []
    for entry in sorted(folder.iterdir()):
        m = _LEFTOVER.match(entry.name)
        if m is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = m.group("pid")
        if pid is not None and _alive(int(pid)):
            continue  # its writer is still at work
        if pid is None and now - entry.stat().st_mtime < LEGACY_GRACE_S:
            continue
        target = folder / m.group("name")
        if m.group("kind") == "old" and (entry / "ckpt").is_dir() and not target.exists():
            os.replace(entry / "ckpt", target)
            done.append(f"restored {target.name} (its replacement was never written)")
        shutil.rmtree(entry, ignore_errors=True)
        done.append(f"removed {entry.name}")
    return done


@contextlib.contextmanager
def media_writer(media_dir: str | os.PathLike) -> Iterator[None]:
    """Held (shared) while an import writes media files and commits the rows naming them."""
    if fcntl is None:
        yield
        return
    lock = media_lock(media_dir)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def clean_orphan_media(db) -> list[str]:
    """Remove media files of a SQLite database that no image row names (a killed import's),
    unless an import is writing now. Returns what was removed, one line each."""
    from sqlalchemy import select

    from .models import Image

    folder = Path(db.media_dir)
    if fcntl is None or not db.is_sqlite or not folder.is_dir():
        return []
    with open(media_lock(folder), "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return []  # an import is at work: its files are not orphans
        try:
            with db.begin() as session:
                named = set(session.scalars(select(Image.relpath)))
            removed = []
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder).as_posix()
                if path.is_dir() or path.is_symlink() or rel in named:
                    continue
                path.unlink()
                removed.append(f"removed orphan media file {rel}")
            return removed
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

"""Files that belong to a database but live beside it: model checkpoints, and what killed
jobs leave behind.

A checkpoint is written into a temporary folder named ``.{name}.tmp-{pid}-XXXX`` and renamed
into place; a checkpoint it replaces is first moved to ``.{name}.old-{pid}-XXXX``. A job killed
in between leaves those folders. :func:`clean_leftovers` (run when the app or the engine opens a
database) removes them once their writer is gone, and puts back a replaced checkpoint whose
successor never arrived. Only folders inside the database's models folder are ever removed.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

__all__ = ["data_root", "models_dir", "temp_prefix", "remove_checkpoint", "clean_leftovers"]

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

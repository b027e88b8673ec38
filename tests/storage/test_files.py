"""Checkpoint folders beside a database: deleted with their model version, and what killed
writers leave behind cleaned at the next start."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from storage.db import open_database
from storage.files import LEGACY_GRACE_S, clean_leftovers, models_dir, remove_checkpoint


@pytest.fixture
def db(tmp_path):
    d = open_database(str(tmp_path / "store.db"))
    yield d
    d.dispose()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _checkpoint(folder, name="m-v1"):
    path = folder / name
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"w")
    (path / "model.json").write_text("{}")
    return path


def test_remove_checkpoint_only_inside_the_models_folder(db, tmp_path):
    mine = _checkpoint(models_dir(db))
    assert remove_checkpoint(db, mine) and not mine.exists()
    elsewhere = _checkpoint(tmp_path / "users-own-folder")  # e.g. the bundled starter model
    assert not remove_checkpoint(db, elsewhere) and elsewhere.exists()
    link = models_dir(db) / "link"
    link.symlink_to(elsewhere)
    assert not remove_checkpoint(db, link) and (elsewhere / "model.json").exists()
    assert not remove_checkpoint(db, models_dir(db))  # never the folder itself
    assert not remove_checkpoint(db, models_dir(db) / "gone")


def test_clean_leftovers_removes_dead_writers_folders_and_keeps_live_ones(db):
    folder = models_dir(db)
    dead = _dead_pid()
    dead_tmp = _checkpoint(folder, f".m-v2.tmp-{dead}-abc")
    live_tmp = _checkpoint(folder, f".m-v3.tmp-{os.getpid()}-abc")  # a writer at work (this process)
    kept = _checkpoint(folder, "m-v1")
    done = clean_leftovers(db)
    assert not dead_tmp.exists() and live_tmp.exists() and kept.exists()
    assert done == [f"removed {dead_tmp.name}"]


def test_a_replaced_checkpoint_whose_successor_never_arrived_is_put_back(db):
    folder = models_dir(db)
    old = folder / f".m-v1.old-{_dead_pid()}-xyz"
    _checkpoint(old, "ckpt")
    clean_leftovers(db)
    assert (folder / "m-v1" / "model.safetensors").read_bytes() == b"w"
    assert not old.exists()


def test_legacy_leftovers_without_a_pid_wait_for_the_grace_period(db):
    folder = models_dir(db)
    legacy = _checkpoint(folder, ".m-v4.tmp-q1w2e3")
    assert clean_leftovers(db) == [] and legacy.exists()
    assert clean_leftovers(db, now=time.time() + LEGACY_GRACE_S + 1) == [f"removed {legacy.name}"]
    assert not legacy.exists()


def test_orphan_media_are_removed_unless_an_import_is_writing(db, tmp_path):
    from storage.files import clean_orphan_media, media_writer
    from storage.models import Image

    media = db.media_dir
    (media / "ab").mkdir(parents=True)
    kept = media / "ab" / "abcd.png"
    kept.write_bytes(b"png")
    with db.begin() as s:
        s.add(Image(sha256="ab" * 32, relpath="ab/abcd.png", width=1, height=1, format="PNG", n_bytes=3))
    orphan = media / "ab" / "ffff.png"
    orphan.write_bytes(b"from a killed import")
    partial = media / "ab" / ".import-x1.part"
    partial.write_bytes(b"half")
    with media_writer(media):  # an import at work: nothing is touched
        assert clean_orphan_media(db) == []
    assert orphan.exists() and partial.exists()
    assert clean_orphan_media(db) == ["removed orphan media file ab/.import-x1.part", "removed orphan media file ab/ffff.png"]
    assert kept.exists() and not orphan.exists() and not partial.exists()


def test_a_server_database_never_cleans_the_shared_media_folder(tmp_path):
    from storage.files import clean_orphan_media

    class ServerDb:  # what clean_orphan_media reads of a Database on PostgreSQL
        is_sqlite = False
        media_dir = tmp_path / "media"

    ServerDb.media_dir.mkdir()
    other = ServerDb.media_dir / "image-of-another-database.png"
    other.write_bytes(b"x")
    assert clean_orphan_media(ServerDb()) == [] and other.exists()

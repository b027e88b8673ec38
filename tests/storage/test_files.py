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

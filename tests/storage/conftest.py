"""Fixtures for the storage tests: a fresh migrated SQLite store in tmp_path, small catalogues."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers.storage_checks import write_good_catalogue
from storage import open_database


@pytest.fixture
def db(tmp_path):
    """An empty store at head, its media folder beside it."""
    database = open_database(str(tmp_path / "store.db"), media_dir=tmp_path / "media")
    yield database
    database.dispose()


@pytest.fixture
def good_catalogue(tmp_path) -> Path:
    return write_good_catalogue(tmp_path / "catalogue")

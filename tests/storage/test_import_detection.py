"""import_path: format detection from the path, and clear refusals."""
from __future__ import annotations

import pytest

from storage.errors import CatalogueError
from storage.importers import detect_format


def test_detects_each_format(tmp_path, good_catalogue):
    assert detect_format(good_catalogue) == ("jsonl", good_catalogue)
    assert detect_format(good_catalogue / "products.jsonl") == ("jsonl", good_catalogue)
    assert detect_format(good_catalogue / "reviews.jsonl") == ("jsonl", good_catalogue)
    mrhp = tmp_path / "m"
    mrhp.mkdir()
    (mrhp / "Cat.prd.train").write_text("{}")
    assert detect_format(mrhp) == ("mrhp", mrhp)
    assert detect_format(mrhp / "Cat.prd.train") == ("mrhp", mrhp)
    (tmp_path / "x.CSV").write_text("a\n")
    assert detect_format(tmp_path / "x.CSV") == ("csv", tmp_path / "x.CSV")


@pytest.mark.parametrize("name", ["notes.txt", "data.json", "other.jsonl"])
def test_unknown_files_are_refused(tmp_path, name):
    (tmp_path / name).write_text("{}")
    with pytest.raises(CatalogueError, match="cannot tell the format"):
        detect_format(tmp_path / name)


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(CatalogueError, match="no such file or folder"):
        detect_format(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogueError, match="not a catalogue folder"):
        detect_format(tmp_path / "empty")

"""A corpus of malformed catalogues. Each one, imported over a database that already holds a
good catalogue, must raise CatalogueError naming the file, the line (where the format is
line-based) and the field (where one is at fault), leave every table's checksum and the media
folder unchanged, and make ``reviewscope-engine import`` exit non-zero.

Not in the corpus: MRHP ``.pth`` feature files. Storage's importers do not read ``features/``
(storage has no torch); the engine loads them tensors-only. ``test_pickled_feature_file_is_never_unpickled``
checks that an import of a folder holding a code-running pickle neither runs nor reads it.
"""
from __future__ import annotations

import json
import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from helpers.storage_checks import (
    good_products, good_reviews, media_files, table_checksums, write_good_catalogue, write_png,
)
from storage import open_database
from storage.errors import CatalogueError
from storage.importers import images, import_path
from storage.importers import lines as line_reading


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]
    """Writes the bad input under the given folder; returns the path to import."""
    file: str
    line: Optional[int]
    field: Optional[str]
    needle: str
    patch: Optional[tuple] = None  # (module, attribute, value) monkeypatched for the case


# ----------------------------------------------------------------------------- builders


def catalogue(folder: Path, products=None, reviews=None) -> Path:
    return write_good_catalogue(folder / "cat", products=products, reviews=reviews)


def with_review(i: int, **changes):
    def build(folder: Path) -> Path:
        reviews = good_reviews()
        reviews[i] = {**reviews[i], **changes}
        return catalogue(folder, reviews=reviews)
    return build


def without_review_field(i: int, field: str):
    def build(folder: Path) -> Path:
        reviews = good_reviews()
        del reviews[i][field]
        return catalogue(folder, reviews=reviews)
    return build


def with_product(i: int, **changes):
    def build(folder: Path) -> Path:
        products = good_products()
        products[i] = {**products[i], **changes}
        return catalogue(folder, products=products)
    return build


def raw_reviews_line(i: int, line: str):
    """Replace line i (0-based) of reviews.jsonl with raw text."""
    def build(folder: Path) -> Path:
        rows = [json.dumps(r) for r in good_reviews()]
        rows[i] = line
        return catalogue(folder, reviews=rows)
    return build


def reviews_bytes(transform: Callable[[bytes], bytes]):
    def build(folder: Path) -> Path:
        cat = catalogue(folder)
        p = cat / "reviews.jsonl"
        p.write_bytes(transform(p.read_bytes()))
        return cat
    return build


def products_bytes(data_fn: Callable[[bytes], bytes]):
    def build(folder: Path) -> Path:
        cat = catalogue(folder)
        p = cat / "products.jsonl"
        p.write_bytes(data_fn(p.read_bytes()))
        return cat
    return build


def latin1_line(raw: bytes) -> bytes:
    lines = raw.split(b"\n")
    lines[6] = json.dumps({"review_id": "R7", "product_id": "P3", "text": "caf\u00e9 cr\u00e8me", "helpful_votes": 2},
                          ensure_ascii=False).encode("latin-1")
    return b"\n".join(lines)


def review_image(rel: str, make: Optional[Callable[[Path], None]] = None):
    def build(folder: Path) -> Path:
        reviews = good_reviews()
        reviews[2] = {**reviews[2], "image_files": [rel]}
        cat = catalogue(folder, reviews=reviews)
        if make:
            make(cat)
        return cat
    return build


def outside_png(folder: Path) -> Path:
    return write_png(folder / "outside" / "secret.png", (5, 5))


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (cheap: no pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def csv_file(text: str | bytes, name: str = "bad.csv"):
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        p = folder / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return p
    return build


CSV_HEAD = "review_id,product_id,text,helpful_votes,image_files\n"


def mrhp(prd=None, rvw=None, rel=None, raw: Optional[dict] = None, extra: Optional[Callable[[Path], None]] = None):
    """An MRHP folder with one category/split; ``raw`` replaces a file's text by kind."""
    def columns(rows):
        keys = list(dict.fromkeys(k for r in rows for k in r))
        return json.dumps({k: {str(i): r.get(k) for i, r in enumerate(rows)} for k in keys})

    def build(folder: Path) -> Path:
        d = folder / "mrhp"
        d.mkdir(parents=True, exist_ok=True)
        files = {
            "prd": columns(prd or [{"product_id": "M1", "name": "x", "description": "y", "img_url": []}]),
            "rvw": columns(rvw or [{"review_id": "m1", "content": "good"}, {"review_id": "m2", "content": "bad"}]),
            "rel": columns(rel or [{"product_id": "M1", "review_id": "m1", "upvotes": 3},
                                   {"product_id": "M1", "review_id": "m2", "upvotes": 0}]),
        }
        for kind, text in files.items():
            data = (raw or {}).get(kind, text)
            (d / f"Cat.{kind}.train").write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        if extra:
            extra(d)
        return d
    return build


# ----------------------------------------------------------------------------- the corpus

R = "reviews.jsonl"
P = "products.jsonl"

CASES = [
    # --- JSON / JSONL syntax and structure
    Case("jsonl_truncated_last_line", reviews_bytes(lambda b: b.rstrip(b"\n")[:-25]), R, 8, None, "invalid JSON"),
    Case("jsonl_invalid_syntax", raw_reviews_line(2, '{"review_id": "R3",, "text": "x"}'), R, 3, None, "invalid JSON"),
    Case("jsonl_not_an_object", raw_reviews_line(1, "[1, 2, 3]"), R, 2, None, "expected a JSON object"),
    Case("jsonl_nested_too_deeply", raw_reviews_line(0, "[" * 100_000 + "]" * 100_000), R, 1, None, "invalid JSON"),
    Case("jsonl_duplicate_key", raw_reviews_line(
        3, '{"review_id": "R4", "product_id": "P1", "text": "x", "helpful_votes": 1, "rating": 5, "rating": 1}'),
        R, 4, "rating", "appears twice"),
    # --- encodings
    Case("jsonl_latin1_line", reviews_bytes(latin1_line), R, 7, None, "not valid UTF-8"),
    Case("jsonl_utf16_with_bom", products_bytes(lambda b: b.decode("utf-8").encode("utf-16")), P, 1, None, "UTF-16"),
    Case("jsonl_utf16le_without_bom", products_bytes(lambda b: b.decode("utf-8").encode("utf-16-le")), P, 1, None,
         "NUL bytes"),
    Case("jsonl_bom_not_at_file_start", reviews_bytes(lambda b: b.replace(b"\n", b"\n\xef\xbb\xbf", 1)), R, 2, None,
         "invalid JSON"),
    Case("jsonl_unpaired_surrogate", raw_reviews_line(
        4, '{"review_id": "R5", "product_id": "P2", "text": "bad \\ud800 text", "helpful_votes": 1}'),
        R, 5, "text", "surrogate"),
    # --- missing fields, wrong types
    Case("review_missing_review_id", without_review_field(1, "review_id"), R, 2, "review_id", "missing"),
    Case("review_missing_text", without_review_field(5, "text"), R, 6, "text", "missing"),
    Case("review_missing_votes", without_review_field(3, "helpful_votes"), R, 4, "helpful_votes", "missing"),
    Case("product_missing_id", products_bytes(lambda b: b.replace(b'"product_id": "P2", ', b"")), P, 2, "product_id",
         "missing"),
    Case("votes_as_string", with_review(0, helpful_votes="12"), R, 1, "helpful_votes", "got a string"),
    Case("votes_as_bool", with_review(0, helpful_votes=True), R, 1, "helpful_votes", "true/false"),
    Case("votes_fractional", with_review(0, helpful_votes=2.5), R, 1, "helpful_votes", "whole number"),
    Case("votes_nan", raw_reviews_line(1, '{"review_id": "R2", "product_id": "P1", "text": "x", "helpful_votes": NaN}'),
         R, 2, "helpful_votes", "nan"),
    Case("votes_infinity", raw_reviews_line(
        1, '{"review_id": "R2", "product_id": "P1", "text": "x", "helpful_votes": -Infinity}'), R, 2, "helpful_votes", "inf"),
    Case("votes_negative", with_review(6, helpful_votes=-1), R, 7, "helpful_votes", ">= 0"),
    Case("votes_huge", with_review(7, helpful_votes=10**30), R, 8, "helpful_votes", "implausibly large"),
    Case("rating_above_5", with_review(2, rating=6), R, 3, "rating", "1 to 5"),
    Case("rating_zero", with_review(2, rating=0), R, 3, "rating", "1 to 5"),
    Case("rating_as_text", with_review(2, rating="five"), R, 3, "rating", "got a string"),
    Case("label_out_of_range", with_review(4, label=7), R, 5, "label", "0 to 4"),
    Case("product_id_is_a_number", with_review(4, product_id=17), R, 5, "product_id", "must be a string"),
    Case("title_is_a_list", with_product(0, title=["Kettle"]), P, 1, "title", "must be a string"),
    Case("image_files_not_a_list", with_product(0, image_files="images/kettle.png"), P, 1, "image_files", "list"),
    Case("split_unknown", with_product(2, split="validation"), P, 3, "split", "train, dev, test"),
    Case("extra_field_nan", raw_reviews_line(
        0, '{"review_id": "R1", "product_id": "P1", "text": "x", "helpful_votes": 0, "total": NaN}'), R, 1, "total", "NaN"),
    # --- ids and references
    Case("duplicate_review_id", with_review(5, review_id="R2"), R, 6, "review_id", "duplicate review id 'R2'"),
    Case("duplicate_product_id", with_product(2, product_id="P1"), P, 3, "product_id", "duplicate product id 'P1'"),
    Case("review_of_unknown_product", with_review(7, product_id="P404"), R, 8, "product_id", "unknown product 'P404'"),
    # --- empty and over-long
    Case("empty_reviews_file", reviews_bytes(lambda b: b""), R, None, None, "empty"),
    Case("blank_products_file", products_bytes(lambda b: b"\n\n  \n"), P, None, None, "empty"),
    Case("line_over_the_cap", with_review(3, text="x" * 5000), R, 4, None, "longer than 2,000 bytes",
         patch=(line_reading, "MAX_LINE_BYTES", 2000)),
    # --- image paths escaping the catalogue folder
    Case("image_path_dotdot", review_image("../outside/secret.png", lambda cat: outside_png(cat.parent)), R, 3,
         "image_files", "leaves the catalogue folder"),
    Case("image_path_absolute", review_image(str(Path("/etc/hostname"))), R, 3, "image_files", "absolute"),
    Case("image_path_windows_absolute", review_image("C:\\Windows\\x.png"), R, 3, "image_files", "absolute"),
    Case("image_symlink_outside", review_image(
        "images/link.png", lambda cat: os.symlink(outside_png(cat.parent), cat / "images" / "link.png")), R, 3,
        "image_files", "outside the catalogue folder"),
    Case("image_missing", review_image("images/nope.png"), R, 3, "image_files", "does not exist"),
    Case("image_is_a_folder", review_image("images"), R, 3, "image_files", "not a regular file"),
    # --- images that are not images, broken, or bombs
    Case("image_not_an_image_jpg", review_image(
        "images/fake.jpg", lambda cat: (cat / "images" / "fake.jpg").write_text("<html>not a picture</html>")), R, 3,
        "image_files", "not an image"),
    Case("image_corrupt_png", review_image(
        "images/bad.png", lambda cat: (cat / "images" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))),
        R, 3, "image_files", "bad.png"),
    Case("image_truncated_png", review_image(
        "images/half.png", lambda cat: (cat / "images" / "half.png").write_bytes(
            (cat / "images" / "kettle.png").read_bytes()[:60])), R, 3, "image_files", "half.png"),
    Case("image_empty_file", review_image(
        "images/zero.png", lambda cat: (cat / "images" / "zero.png").write_bytes(b"")), R, 3, "image_files", "empty file"),
    Case("image_decompression_bomb_header", review_image(
        "images/bomb.png", lambda cat: (cat / "images" / "bomb.png").write_bytes(huge_png_header(40000, 40000))), R, 3,
        "image_files", "decompression bomb"),
    Case("image_over_pixel_cap", catalogue, P, 1, "image_files", "decompression bomb",
         patch=(images, "MAX_IMAGE_PIXELS", 100)),
    Case("image_over_byte_cap", catalogue, P, 1, "image_files", "bytes, more than",
         patch=(images, "MAX_IMAGE_BYTES", 50)),
    # --- CSV
    Case("csv_truncated_in_quotes", csv_file(CSV_HEAD + 'A,P1,"unterminated text,1,\n'), "bad.csv", 2, None,
         "unexpected end of data"),
    Case("csv_bad_quoting", csv_file(CSV_HEAD + 'A,P1,"x"y,1,\n'), "bad.csv", 2, None, "malformed CSV"),
    Case("csv_latin1", csv_file((CSV_HEAD + "A,P1,caf\u00e9,1,\n").encode("latin-1")), "bad.csv", 2, None,
         "not valid UTF-8"),
    Case("csv_utf16", csv_file((CSV_HEAD + "A,P1,x,1,\n").encode("utf-16")), "bad.csv", 1, None, "UTF-16"),
    Case("csv_missing_column", csv_file("review_id,product_id,text\nA,P1,x\n"), "bad.csv", 1, "helpful_votes",
         "missing"),
    Case("csv_duplicate_column", csv_file("review_id,product_id,text,text,helpful_votes\nA,P1,x,y,1\n"), "bad.csv", 1,
         "text", "twice"),
    Case("csv_wrong_cell_count", csv_file(CSV_HEAD + "A,P1,x,1,,extra\n"), "bad.csv", 2, None, "6 cells"),
    Case("csv_votes_nan", csv_file(CSV_HEAD + "A,P1,x,1,\nB,P1,y,NaN,\n"), "bad.csv", 3, "helpful_votes", "finite"),
    Case("csv_votes_negative", csv_file(CSV_HEAD + "A,P1,x,-4,\n"), "bad.csv", 2, "helpful_votes", ">= 0"),
    Case("csv_rating_out_of_range", csv_file("review_id,product_id,text,helpful_votes,rating\nA,P1,x,1,11\n"), "bad.csv",
         2, "rating", "1 to 5"),
    Case("csv_duplicate_id", csv_file(CSV_HEAD + "A,P1,x,1,\nA,P1,y,2,\n"), "bad.csv", 3, "review_id", "duplicate"),
    Case("csv_empty_file", csv_file(""), "bad.csv", None, None, "empty"),
    Case("csv_header_only", csv_file(CSV_HEAD), "bad.csv", None, None, "no rows"),
    Case("csv_image_escape", csv_file(CSV_HEAD + "A,P1,x,1,../../etc/passwd\n"), "bad.csv", 2, "image_files",
         "leaves the catalogue folder"),
    # --- MRHP (whole-file JSON: a line only for syntax errors)
    Case("mrhp_truncated_json", mrhp(raw={"rvw": '{"review_id": {"0": "m1", "1": "m2"}, "content": {"0": "go'}),
         "Cat.rvw.train", 1, None, "invalid JSON"),
    Case("mrhp_records_not_columns", mrhp(raw={"prd": '[{"product_id": "M1"}]'}), "Cat.prd.train", None, None,
         "orient 'columns'"),
    Case("mrhp_column_not_an_object", mrhp(raw={"prd": '{"product_id": ["M1"]}'}), "Cat.prd.train", None, "product_id",
         "orient 'columns'"),
    Case("mrhp_missing_content_column", mrhp(raw={"rvw": '{"review_id": {"0": "m1", "1": "m2"}}'}), "Cat.rvw.train",
         None, "content", "required column"),
    Case("mrhp_upvotes_null", mrhp(rel=[{"product_id": "M1", "review_id": "m1", "upvotes": None},
                                        {"product_id": "M1", "review_id": "m2", "upvotes": 1}]),
         "Cat.rel.train", None, "upvotes", "got null"),
    Case("mrhp_latin1", mrhp(raw={"prd": '{"product_id": {"0": "M1"}, "name": {"0": "caf\u00e9"}}'.encode("latin-1")}),
         "Cat.prd.train", 1, None, "not valid UTF-8"),
    Case("mrhp_image_not_an_image", mrhp(
        prd=[{"product_id": "M1", "name": "x", "img_url": ["http://h.invalid/p/pic.jpg"]}],
        extra=lambda d: ((d / "images").mkdir(), (d / "images" / "pic.jpg").write_bytes(b"GIF89a broken"))),
        "Cat.prd.train", None, "img_url", "pic.jpg"),
    Case("mrhp_image_symlink_outside", mrhp(
        prd=[{"product_id": "M1", "name": "x", "img_url": ["http://h.invalid/p/s.png"]}],
        extra=lambda d: ((d / "images").mkdir(), os.symlink(outside_png(d.parent), d / "images" / "s.png"))),
        "Cat.prd.train", None, "img_url", "outside the catalogue folder"),
]


@pytest.fixture
def prior_db(tmp_path):
    """A store (default media folder, as the CLI opens it) holding a good catalogue already."""
    db = open_database(str(tmp_path / "store.db"))
    good = write_good_catalogue(tmp_path / "good")
    import_path(db, good)
    yield db
    db.dispose()


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_cleanly(case, prior_db, tmp_path, monkeypatch, capsys):
    if case.patch:
        monkeypatch.setattr(*case.patch)
    if "symlink" in case.name and not hasattr(os, "symlink"):
        pytest.skip("no symlinks here")
    target = case.build(tmp_path / "bad")
    before, files_before = table_checksums(prior_db), media_files(prior_db)

    with pytest.raises(CatalogueError) as info:
        import_path(prior_db, target)
    err = info.value
    message = str(err)
    assert Path(err.path).name == case.file, message
    assert case.file in message
    assert err.line == case.line, message
    if case.line is not None:
        assert f", line {case.line}" in message
    assert err.field == case.field, message
    if case.field is not None:
        assert f"field '{case.field}'" in message
    assert case.needle.lower() in message.lower(), message
    assert "\n" not in message and len(message) < 600  # one clear line
    assert table_checksums(prior_db) == before
    assert media_files(prior_db) == files_before

    from engine.cli import main as cli_main

    rc = cli_main(["import", str(target), "--db", str(prior_db.display_path)])
    assert rc != 0
    assert case.file in capsys.readouterr().err
    assert table_checksums(prior_db) == before
    assert media_files(prior_db) == files_before


def test_pickled_feature_file_is_never_unpickled(prior_db, tmp_path):
    """MRHP features/*.pth are not storage's business: importing the folder must not load them."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    folder = mrhp()(tmp_path / "bad")
    (folder / "features").mkdir()
    (folder / "features" / "M1.pth").write_bytes(pickle.dumps([Evil()]))
    report = import_path(prior_db, folder)
    assert report.reviews_added == 2
    assert not marker.exists()

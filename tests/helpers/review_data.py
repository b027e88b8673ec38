"""Small files in the public review datasets' own formats, written by the tests (no downloads)."""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Iterable


def write_lines(path: Path, lines: Iterable[str], gz: bool | None = None) -> Path:
    """One line per entry; gzip when ``gz`` (default: when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    if gz is None:
        gz = path.name.endswith(".gz")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def reviews_2014() -> list[dict]:
    return [
        {"reviewerID": "A1", "asin": "B001", "reviewerName": "Ann", "helpful": [3, 4],
         "reviewText": "Great <b>album</b>, really.", "overall": 5.0, "summary": "Great", "unixReviewTime": 1158019200,
         "reviewTime": "09 12, 2006"},
        {"reviewerID": "A2", "asin": "B001", "helpful": [0, 0], "reviewText": "Meh.", "overall": 2.0,
         "summary": "Meh", "unixReviewTime": 1158019300, "reviewTime": "09 12, 2006"},
        {"reviewerID": "A1", "asin": "B002", "reviewerName": "Ann", "helpful": [20, 25], "reviewText": "Fine",
         "overall": 4.0, "summary": "Ok", "unixReviewTime": 1200000000, "reviewTime": "01 10, 2008"},
    ]


def meta_2014() -> list[str]:
    """Python-literal lines, as the 2014 metadata files hold them."""
    return [
        repr({"asin": "B001", "title": "Memory of Trees", "imUrl": "http://x.invalid/1.jpg", "description": "An album",
              "categories": [["CDs & Vinyl", "New Age"], ["Music"]], "salesRank": {"Music": 12},
              "related": {"also_bought": ["B009"]}, "price": 9.99}),
        repr({"asin": "B999", "title": "Not reviewed"}),
    ]


def reviews_2018() -> list[dict]:
    return [
        {"overall": 5.0, "verified": True, "reviewTime": "05 29, 2018", "reviewerID": "R1", "asin": "G1",
         "style": {"Gift Amount:": " 50"}, "reviewerName": "Bo", "reviewText": "Nice card", "summary": "Nice",
         "unixReviewTime": 1527552000, "vote": "1,234", "image": ["https://x.invalid/a.jpg"]},
        {"overall": 1.0, "verified": False, "reviewerID": "R2", "asin": "G1", "reviewText": "Bad",
         "summary": "Bad", "unixReviewTime": 1527552100},
        {"overall": 3.0, "reviewerID": "R3", "asin": "G2", "reviewText": "Ok", "summary": "Ok",
         "unixReviewTime": 1527552200, "vote": "2"},
    ]


def meta_2018() -> list[dict]:
    return [
        {"asin": "G1", "title": "Gift card", "description": ["A card.", "In a box."], "category": ["Gift Cards", "Cards"],
         "imageURLHighRes": ["https://x.invalid/hi.jpg"], "imageURL": ["https://x.invalid/lo.jpg"], "brand": "Amazon",
         "also_buy": ["G9"], "main_cat": "Gift Cards"},
    ]


def reviews_2023() -> list[dict]:
    return [
        {"rating": 5.0, "title": "Love it", "text": "Smells great", "images": [
            {"small_image_url": "https://x.invalid/s.jpg", "large_image_url": "https://x.invalid/l.jpg"}],
         "asin": "V1", "parent_asin": "P1", "user_id": "U1", "timestamp": 1588687728923, "helpful_vote": 2,
         "verified_purchase": True},
        {"rating": 1.0, "title": "No", "text": "Broke", "images": [], "asin": "P2", "parent_asin": "P2", "user_id": "U2",
         "timestamp": 1588687729000, "helpful_vote": 0, "verified_purchase": False},
    ]


def meta_2023() -> list[dict]:
    return [
        {"main_category": "All Beauty", "title": "Soap", "average_rating": 4.5, "rating_number": 10,
         "features": ["Nice"], "description": ["Good soap."], "price": None,
         "images": [{"thumb": "https://x.invalid/t.jpg", "large": "https://x.invalid/L.jpg", "hi_res": None}],
         "videos": [], "store": "Acme", "categories": [], "details": {"Size": "1"}, "parent_asin": "P1",
         "bought_together": None},
    ]


FINEFOOD_HEADER = ["Id", "ProductId", "UserId", "ProfileName", "HelpfulnessNumerator", "HelpfulnessDenominator",
                   "Score", "Time", "Summary", "Text"]


def finefood_rows() -> list[list]:
    return [
        [1, "B001E4KFG0", "A3SGXH7AUHU8GW", "delmartian", 1, 1, 5, 1303862400, "Good Quality Dog Food",
         "I have bought several of the Vitality canned dog food products."],
        [2, "B00813GRG4", "A1D87F6ZCVE5NK", "dll pa", 0, 0, 1, 1346976000, "Not as Advertised",
         "Product arrived labeled as Jumbo Salted Peanuts..."],
        [3, "B000LQOCH0", "ABXLMWJIXXAIN", 'Natalia Corres "Natalia Corres"', 8, 9, 4, 1219017600,
         '"Delight" says it all', "This is a confection that has been around a few centuries.<br />Yes."],
    ]


def write_csv(path: Path, header: list, rows: list[list], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def jsonl(rows: Iterable[dict]) -> list[str]:
    return [json.dumps(r) for r in rows]

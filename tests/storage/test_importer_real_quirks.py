"""The public review datasets as users download them, quirks included: each test writes a
small file reproducing one quirk of the real dump byte for byte (Kaggle's Reviews.csv, the
2014 / 2018 / 2023 Amazon files) and imports it as a user would, checking what the user
notices: counts, labels (MMSS.md: min(floor(log2 helpful), 4), 0 votes unlabelled), extras,
the report's dropped rows and notes. Broken input is still refused with file, line and field."""
from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import select

from helpers.review_data import write_lines
from helpers.storage_checks import table_checksums
from storage.errors import CatalogueError
from storage.importers import import_path
from storage.models import Product, Review


def reviews(db) -> dict:
    with db.begin() as s:
        return {r.review_id: r for r in s.scalars(select(Review))}


def review_fields(db) -> dict:
    with db.begin() as s:
        return {r.review_id: {"title": r.title, "text": r.text, "rating": r.rating, "helpful": r.helpful_votes,
                              "total": r.total_votes, "time": r.time, "label": r.label, "image_urls": r.image_urls,
                              "extra": dict(r.extra), "product": r.product.product_id}
                for r in s.scalars(select(Review))}


def products(db) -> dict:
    with db.begin() as s:
        return {p.product_id: {"title": p.title, "description": p.description, "category": p.category,
                               "image_urls": p.image_urls, "extra": dict(p.extra)}
                for p in s.scalars(select(Product))}


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# -- Amazon Fine Food Reviews.csv (Kaggle) --------------------------------------------------------

FF_HEADER = "Id,ProductId,UserId,ProfileName,HelpfulnessNumerator,HelpfulnessDenominator,Score,Time,Summary,Text"

FF_ROWS = [
    # real rows (Text shortened), as Kaggle's Reviews.csv writes them
    '1,B001E4KFG0,A3SGXH7AUHU8GW,delmartian,1,1,5,1303862400,Good Quality Dog Food,I have bought several of the '
    'Vitality canned dog food products and have found them all to be of good quality.',
    '3,B000LQOCH0,ABXLMWJIXXAIN,"Natalia Corres ""Natalia Corres""",1,1,4,1219017600,"""Delight"" says it all",'
    '"This is a confection that has been around a few centuries.  It is a light, pillowy citrus gelatin with nuts - '
    'in this case Filberts.<br />And it is cut into tiny squares."',
    # a ProfileName with a comma and non-ASCII letters; a link in the text
    '10,B00171APVA,A21BT40VZCCYT4,"Carol A. Reed, ""Señora Café""",0,0,5,1351209600,Healthy Dog Food,'
    '"This is a very healthy dog food. See <a href=""http://www.amazon.com/gp/product/B0018CLWM4"">this one</a>."',
    # an empty ProfileName and an empty Summary
    '40,B001GVISJM,A2MUGFV2TDQ47K,,2,2,5,1268352000,,"Fresh and delicious, arrived fast."',
    # the two real rows with more helpful votes than votes
    '44737,B001EQ55RW,A2V0I904FH7ABY,Ram,3,1,4,1212883200,Pure cocoa taste with crunchy almonds inside,'
    '"It was almost a \'love at first bite\' - the perfectly roasted almond."',
    '64422,B000MIDROQ,A161DK06JJMCYF,"J. E. Stephens ""Jeanne""",3,2,5,1224892800,Bought This for My Son at College,'
    '"My son loves spaghetti so I didn\'t hesitate to buy this for him."',
    # the same text under two ProductIds (the dataset lists one review under each variant)
    '100,B000E7L2R4,A1MZYO9TZK0BBI,"R. James",1,1,5,1322006400,Great taffy,"Great taffy at a great price."',
    '101,B000E7VI7S,A1MZYO9TZK0BBI,"R. James",1,1,5,1322006400,Great taffy,"Great taffy at a great price."',
]


def write_reviews_csv(path, *, bom: bool = False, newline: str = "\r\n", rows=FF_ROWS, compress: bool = False):
    data = (("\ufeff" if bom else "") + newline.join([FF_HEADER, *rows]) + newline).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz(data) if compress else data)
    return path


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "bom"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_finefood_as_downloaded(db, tmp_path, bom, newline):
    path = write_reviews_csv(tmp_path / "Reviews.csv", bom=bom, newline=newline)
    report = import_path(db, path)
    assert report.format == "finefood"
    assert (report.reviews_added, report.products_added) == (8, 8)
    assert report.dropped == {}
    r = review_fields(db)
    assert r["ff-1"]["extra"] == {"reviewer_id": "A3SGXH7AUHU8GW", "reviewer_name": "delmartian"}
    assert r["ff-3"]["extra"]["reviewer_name"] == 'Natalia Corres "Natalia Corres"'
    assert r["ff-3"]["title"] == '"Delight" says it all'
    assert "<br />And it is cut" in r["ff-3"]["text"]  # HTML stored as imported
    assert not r["ff-3"]["text"].endswith("\r")
    assert r["ff-10"]["extra"]["reviewer_name"] == 'Carol A. Reed, "Señora Café"'
    assert '<a href="http://www.amazon.com/gp/product/B0018CLWM4">' in r["ff-10"]["text"]
    assert r["ff-40"]["title"] == "" and r["ff-40"]["extra"] == {"reviewer_id": "A2MUGFV2TDQ47K"}
    assert (r["ff-40"]["helpful"], r["ff-40"]["total"], r["ff-40"]["label"]) == (2, 2, 1)
    assert (r["ff-1"]["rating"], r["ff-1"]["time"]) == (5.0, 1303862400)
    assert r["ff-100"]["text"] == r["ff-101"]["text"]
    assert (r["ff-100"]["product"], r["ff-101"]["product"]) == ("B000E7L2R4", "B000E7VI7S")


def test_finefood_more_helpful_than_total_votes(db, tmp_path):
    """Ids 44737 (3 of 1) and 64422 (3 of 2): the helpful votes are kept (they make the label,
    MMSS.md), the total is raised to the helpful votes, and the report says how many."""
    path = write_reviews_csv(tmp_path / "Reviews.csv")
    report = import_path(db, path)
    r = review_fields(db)
    assert (r["ff-44737"]["helpful"], r["ff-44737"]["total"], r["ff-44737"]["label"]) == (3, 3, 1)
    assert (r["ff-64422"]["helpful"], r["ff-64422"]["total"], r["ff-64422"]["label"]) == (3, 3, 1)
    assert (r["ff-1"]["helpful"], r["ff-1"]["total"]) == (1, 1)
    note = next(n for n in report.notes if "more helpful votes than" in n)
    assert note.startswith("2 reviews ") and "(HelpfulnessNumerator > HelpfulnessDenominator)" in note


def test_finefood_gzip_with_a_space_in_its_name(db, tmp_path):
    path = write_reviews_csv(tmp_path / "amazon fine food" / "Reviews (1).csv.gz", bom=True, compress=True)
    report = import_path(db, path)
    assert (report.format, report.reviews_added) == ("finefood", 8)
    # the folder holding it imports the same file
    again = import_path(db, path.parent)
    assert (again.format, again.reviews_added, again.reviews_updated) == ("finefood", 0, 8)


def test_finefood_bad_vote_is_rejected(db, tmp_path):
    rows = list(FF_ROWS)
    rows[3] = rows[3].replace(",2,2,5,", ",1.5k,2,5,")
    path = write_reviews_csv(tmp_path / "Reviews.csv", rows=rows)
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as e:
        import_path(db, path)
    assert (e.value.line, e.value.field) == (5, "HelpfulnessNumerator") and "1.5k" in str(e.value)
    assert e.value.path.endswith("Reviews.csv")
    assert table_checksums(db) == before


# -- Amazon 2014 (McAuley, UCSD) ---------------------------------------------------------------

REVIEWS_2014 = [
    '{"reviewerID": "A2SUAM1J3GNN3B", "asin": "0000013714", "reviewerName": "J. McDonald", "helpful": [2, 3], '
    '"reviewText": "I bought this for my husband who plays the piano.  He is having a wonderful time playing these '
    'old hymns.", "overall": 5.0, "summary": "Heavenly Highway Hymns", "unixReviewTime": 1252800000, '
    '"reviewTime": "09 13, 2009"}',
    # reviewerName missing
    '{"reviewerID": "A1WL6P5XPD8W4M", "asin": "0000013714", "helpful": [0, 0], "reviewText": "Good songbook, '
    '\\u201cclassic\\u201d hymns.", "overall": 4.0, "summary": "Good", "unixReviewTime": 1389657600, '
    '"reviewTime": "01 14, 2014"}',
    # an empty reviewText
    '{"reviewerID": "A14JBDSWKPKTZA", "asin": "0000013714", "reviewerName": "Anna", "helpful": [1, 1], '
    '"reviewText": "", "overall": 5.0, "summary": "Five Stars", "unixReviewTime": 1405382400, '
    '"reviewTime": "07 15, 2014"}',
    # a product without a metadata record
    '{"reviewerID": "A2SUAM1J3GNN3B", "asin": "B00000JQ1K", "reviewerName": "J. McDonald", "helpful": [40, 41], '
    '"reviewText": "Works.", "overall": 3.0, "summary": "Ok", "unixReviewTime": 1300000000, '
    '"reviewTime": "03 13, 2011"}',
]

META_2014 = [
    "{'asin': '0000013714', 'title': 'Heavenly Highway Hymns: Shaped-Note Hymnal', 'price': 13.02, "
    "'imUrl': 'http://ecx.images-amazon.com/images/I/51bGBnhwYmL._SY300_.jpg', "
    "'related': {'also_bought': ['0005080789', '0005476798'], 'bought_together': ['0005080789']}, "
    "'salesRank': {'Books': 1313767}, 'categories': [['Books']], "
    "'description': 'Girl\\'s \"best\" hymnal \\u2013 with 40 hymns, \\xa0large print'}",
    # many lines lack title and description
    "{'asin': '0000031852', 'price': 3.17, 'imUrl': 'http://ecx.images-amazon.com/images/I/51fAmVkTbyL._SY300_.jpg', "
    "'related': {'also_bought': ['B00JHONN1S'], 'bought_together': []}, 'salesRank': {'Toys & Games': 211836}, "
    "'brand': 'Coxlists', 'categories': [['Sports & Outdoors', 'Other Sports', 'Dance']]}",
]


@pytest.mark.parametrize("names", [("reviews_Books_5.json.gz", "meta_Books.json.gz"),
                                   ("Books_5.json", "meta_Books.json"),
                                   ("reviews Books 5.json.gz", "meta Books (1).json.gz")])
def test_2014_folder_as_downloaded(db, tmp_path, names):
    folder = tmp_path / "amazon 2014"
    write_lines(folder / names[0], REVIEWS_2014)
    write_lines(folder / names[1], META_2014)
    report = import_path(db, folder)
    assert report.format == "amazon2014"
    assert (report.reviews_added, report.products_added) == (3, 2)
    assert report.dropped == {"review without text": 1,
                              "metadata record of a product without reviews in the file": 1}
    assert any("1 of 2 products have no metadata record" in n for n in report.notes)
    r = review_fields(db)
    first = r["A2SUAM1J3GNN3B:0000013714:1252800000"]
    assert (first["helpful"], first["total"], first["label"], first["rating"], first["time"]) == (2, 3, 1, 5.0,
                                                                                                 1252800000)
    assert first["extra"] == {"reviewer_id": "A2SUAM1J3GNN3B", "reviewer_name": "J. McDonald"}
    second = r["A1WL6P5XPD8W4M:0000013714:1389657600"]
    assert second["extra"] == {"reviewer_id": "A1WL6P5XPD8W4M"} and second["label"] is None
    assert second["text"] == "Good songbook, \u201cclassic\u201d hymns."
    assert r["A2SUAM1J3GNN3B:B00000JQ1K:1300000000"]["label"] == 4
    p = products(db)
    assert p["0000013714"]["title"] == "Heavenly Highway Hymns: Shaped-Note Hymnal"
    assert p["0000013714"]["description"] == 'Girl\'s "best" hymnal \u2013 with 40 hymns, \xa0large print'
    assert p["0000013714"]["category"] == "Books"
    assert p["0000013714"]["image_urls"] == ["http://ecx.images-amazon.com/images/I/51bGBnhwYmL._SY300_.jpg"]
    assert p["0000013714"]["extra"] == {"price": 13.02, "salesRank": {"Books": 1313767}, "categories": [["Books"]]}
    assert p["B00000JQ1K"] == {"title": "", "description": "", "category": "", "image_urls": [], "extra": {}}
    assert "0000031852" not in p  # metadata of a product nobody reviewed: left out, counted


def test_2014_meta_alone_imports_every_product(db, tmp_path):
    path = write_lines(tmp_path / "meta_Toys_and_Games.json.gz", META_2014)
    report = import_path(db, path)
    assert (report.format, report.products_added, report.reviews_added) == ("amazon2014", 2, 0)
    p = products(db)
    assert p["0000031852"]["title"] == "" and p["0000031852"]["category"] == "Sports & Outdoors > Other Sports > Dance"
    assert p["0000031852"]["extra"]["brand"] == "Coxlists"


def test_2014_meta_python2_byte_escapes_read_as_utf8(db, tmp_path):
    """The 2014 metadata was written by Python 2 from UTF-8 byte strings: a non-ASCII letter is
    its UTF-8 bytes as \\x escapes ('Caf\\xc3\\xa9'). They are read back as the letter."""
    folder = tmp_path / "gf"
    write_lines(folder / "reviews_Grocery_5.json.gz", [REVIEWS_2014[0]])
    write_lines(folder / "meta_Grocery.json.gz", [
        "{'asin': '0000013714', 'title': 'Caf\\xc3\\xa9 Bustelo \\xe2\\x80\\x93 Espresso', "
        "'description': 'Chef Paul Prudhomme\\xe2\\x80\\x99s Magic', 'categories': [['Grocery & Gourmet Food']], "
        "'brand': 'Caf\\xc3\\xa9 Bustelo', 'salesRank': {'Grocery & Gourmet Food': 19905}}",
    ])
    import_path(db, folder)
    p = products(db)["0000013714"]
    assert p["title"] == "Caf\u00e9 Bustelo \u2013 Espresso"
    assert p["description"] == "Chef Paul Prudhomme\u2019s Magic"
    assert p["extra"]["brand"] == "Caf\u00e9 Bustelo"


def test_2014_meta_latin1_text_is_kept_as_is(db, tmp_path):
    """A literal whose \\x escapes are not UTF-8 bytes (u'Caf\\xe9', Python 3 'Café') stays as written."""
    folder = tmp_path / "gf"
    write_lines(folder / "reviews_Grocery_5.json.gz", [REVIEWS_2014[0]])
    write_lines(folder / "meta_Grocery.json.gz", [
        "{'asin': '0000013714', 'title': u'Caf\\xe9 \\xa9 2010', 'description': 'Café'}",
    ])
    import_path(db, folder)
    p = products(db)["0000013714"]
    assert (p["title"], p["description"]) == ("Caf\u00e9 \u00a9 2010", "Café")


def test_2014_meta_with_a_call_is_refused(db, tmp_path):
    folder = tmp_path / "b"
    write_lines(folder / "reviews_Books_5.json.gz", REVIEWS_2014)
    write_lines(folder / "meta_Books.json.gz", [META_2014[0], "{'asin': '0000031852', 'price': float('nan')}"])
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as e:
        import_path(db, folder)
    assert e.value.path.endswith("meta_Books.json.gz") and (e.value.line, e.value.field) == (2, "price")
    assert table_checksums(db) == before


# -- Amazon 2018 (Ni, Li, McAuley) ----------------------------------------------------------------

def r2018(**kw) -> dict:
    base = {"overall": 5.0, "vote": "2", "verified": True, "reviewTime": "01 1, 2018", "reviewerID": "A1B2C3",
            "asin": "0001713353", "style": {"Format:": " Hardcover"}, "reviewerName": "Jo",
            "reviewText": "The kids loved it.", "summary": "Five Stars", "unixReviewTime": 1514764800,
            "image": ["https://images-na.ssl-images-amazon.com/images/I/71eG75FTJJL._SY88.jpg"]}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def test_2018_reviews_as_downloaded(db, tmp_path):
    rows = [
        r2018(),
        r2018(),  # the 2018 dumps hold exact duplicate lines
        r2018(reviewerID="A9", vote="1,234", image=None, style=None),
        r2018(reviewerID="A8", vote=None, verified=False),  # vote missing: 0, unlabelled
        r2018(reviewerID="A7", reviewText=None),  # reviewText missing entirely
        r2018(reviewerID="A6", asin="0001720392", reviewText="Same reviewer, product, time; other text"),
        r2018(reviewerID="A6", asin="0001720392", reviewText="A second review under the same derived id"),
    ]
    path = write_lines(tmp_path / "Books_5.json.gz", [json.dumps(r) for r in rows])
    report = import_path(db, path)
    assert report.format == "amazon2018"
    assert (report.reviews_added, report.products_added) == (5, 2)
    assert report.dropped == {"exact duplicate review (same reviewer, product, time and text)": 1,
                              "review without text": 1}
    r = review_fields(db)
    first = r["A1B2C3:0001713353:1514764800"]
    assert (first["helpful"], first["total"], first["label"]) == (2, None, 1)
    assert first["extra"] == {"verified": True, "style": {"Format:": " Hardcover"}, "reviewer_name": "Jo",
                              "reviewer_id": "A1B2C3"}
    assert first["image_urls"] == ["https://images-na.ssl-images-amazon.com/images/I/71eG75FTJJL._SY88.jpg"]
    assert (r["A9:0001713353:1514764800"]["helpful"], r["A9:0001713353:1514764800"]["label"]) == (1234, 4)
    assert (r["A8:0001713353:1514764800"]["helpful"], r["A8:0001713353:1514764800"]["label"]) == (0, None)
    assert "A6:0001720392:1514764800#2" in r


META_2018 = [
    {"category": ["Books", "Children's Books"], "tech1": "", "description": ["A classic.", "For ages 3-5."], "fit": "",
     "title": "Where the Wild Things Are", "also_buy": ["0060254920"], "image": [], "tech2": "", "brand": "Maurice Sendak",
     "feature": [], "rank": "5,120 in Books (", "also_view": [], "main_cat": "Books", "similar_item": "", "date": "",
     "price": "$9.99", "asin": "0001713353", "imageURL": ["https://images-na.ssl-images-amazon.com/images/I/lo.jpg"],
     "imageURLHighRes": ["https://images-na.ssl-images-amazon.com/images/I/hi.jpg"]},
    # a title of HTML / JavaScript junk; description an empty list
    {"category": [], "description": [], "title": 'var aPageStart = (new Date()).getTime();\nvar ue_t0=ue_t0||+new '
     'Date();<span id="productTitle">Big Book</span>', "brand": "", "feature": [], "rank": [], "main_cat": "Books",
     "price": "", "asin": "0001720392", "details": {"\n    Publisher:\n    ": "Harper (1988)"}},
    # the same asin again (the meta dumps repeat lines)
    {"title": "Where the Wild Things Are (repeat)", "asin": "0001713353", "main_cat": "Books"},
    # description missing; a product nobody reviewed
    {"title": "Unreviewed", "asin": "0002000000", "main_cat": "Books"},
]


def test_2018_folder_with_meta_as_downloaded(db, tmp_path):
    folder = tmp_path / "Books 2018"
    write_lines(folder / "Books_5.json.gz",
                [json.dumps(r2018()), json.dumps(r2018()), json.dumps(r2018(asin="0001720392"))])
    write_lines(folder / "meta_Books.json.gz", [json.dumps(m) for m in META_2018])
    report = import_path(db, folder)
    assert (report.format, report.reviews_added, report.products_added) == ("amazon2018", 2, 2)
    assert report.dropped == {"exact duplicate review (same reviewer, product, time and text)": 1,
                              "repeated metadata record (the first one is kept)": 1,
                              "metadata record of a product without reviews in the file": 1}
    p = products(db)
    wild = p["0001713353"]
    assert (wild["title"], wild["description"], wild["category"]) == ("Where the Wild Things Are",
                                                                      "A classic.\nFor ages 3-5.",
                                                                      "Books > Children's Books")
    assert wild["image_urls"] == ["https://images-na.ssl-images-amazon.com/images/I/hi.jpg"]
    assert wild["extra"]["price"] == "$9.99" and wild["extra"]["rank"] == "5,120 in Books ("
    assert "also_buy" not in wild["extra"] and "similar_item" not in wild["extra"]
    junk = p["0001720392"]
    assert junk["title"].startswith("var aPageStart") and junk["description"] == "" and junk["category"] == ""


# -- Amazon Reviews 2023 (McAuley Lab) ------------------------------------------------------------

def r2023(**kw) -> dict:
    base = {"rating": 5.0, "title": "Such a lovely scent but not overpowering.",
            "text": "This spray is really nice.<br />It smells really good.",
            "images": [{"small_image_url": "https://m.media-amazon.com/images/I/s.jpg",
                        "medium_image_url": "https://m.media-amazon.com/images/I/m.jpg",
                        "large_image_url": "https://m.media-amazon.com/images/I/l.jpg", "attachment_type": "IMAGE"}],
            "asin": "B00YQ6X8EO", "parent_asin": "B00YQ6X8EO", "user_id": "AGKHLEW2SOWHNMFQIJGBECAF7INQ",
            "timestamp": 1588687728923, "helpful_vote": 0, "verified_purchase": True}
    base.update(kw)
    return base


def m2023(parent: str, price) -> dict:
    return {"main_category": "All Beauty", "title": f"Product {parent}", "average_rating": 4.8, "rating_number": 10,
            "features": [], "description": [], "price": price,
            "images": [{"thumb": "https://m.media-amazon.com/t.jpg", "large": "https://m.media-amazon.com/L.jpg",
                        "variant": "MAIN", "hi_res": None}],
            "videos": [], "store": "Howard Products", "categories": [], "details": {"Package Dimensions": "7 x 3 in"},
            "parent_asin": parent, "bought_together": None}


def test_2023_folder_as_downloaded(db, tmp_path):
    rows = [
        r2023(),
        r2023(),  # an exact repeat
        # the same user, the same parent, two variants, the same time
        r2023(asin="B081TJ8YS3", parent_asin="B00YQ6X8EO", text="Variant two.", helpful_vote=5),
        # the same user, variant and time, another text
        r2023(asin="B081TJ8YS3", parent_asin="B00YQ6X8EO", text="Variant two, again.", images=[]),
        r2023(asin="B07PNNCSP9", parent_asin="B07PNNCSP9", user_id="AFQLNQNQYFWQZPJQZS6V3NZU4QBQ", text=""),
        r2023(asin="B07PNNCSP9", parent_asin="B07PNNCSP9", user_id="AFQLNQNQYFWQZPJQZS6V3NZU4QBQ", text="Ok."),
        r2023(asin="B00R8DXL44", parent_asin="B00R8DXL44", text="Fine.", timestamp=1588687800000),
    ]
    folder = tmp_path / "All Beauty"
    write_lines(folder / "All_Beauty.jsonl.gz", [json.dumps(r) for r in rows])
    write_lines(folder / "meta_All_Beauty.jsonl.gz", [
        json.dumps(m2023("B00YQ6X8EO", "$12.99")), json.dumps(m2023("B07PNNCSP9", "None")),
        json.dumps(m2023("B00R8DXL44", None)), json.dumps(m2023("B000000000", 7.5)),
    ])
    report = import_path(db, folder)
    assert report.format == "amazon2023"
    assert (report.reviews_added, report.products_added) == (5, 3)
    assert report.dropped == {"exact duplicate review (same reviewer, product, time and text)": 1,
                              "review without text": 1,
                              "metadata record of a product without reviews in the file": 1}
    r = review_fields(db)
    u = "AGKHLEW2SOWHNMFQIJGBECAF7INQ"
    first = r[f"{u}:B00YQ6X8EO:1588687728923"]
    assert first["text"] == "This spray is really nice.<br />It smells really good."
    assert (first["time"], first["helpful"], first["label"]) == (1588687728, 0, None)
    assert first["image_urls"] == ["https://m.media-amazon.com/images/I/l.jpg"]
    assert first["extra"] == {"verified": True, "reviewer_id": u}
    variant = r[f"{u}:B081TJ8YS3:1588687728923"]
    assert (variant["product"], variant["label"], variant["extra"]["asin"]) == ("B00YQ6X8EO", 2, "B081TJ8YS3")
    assert r[f"{u}:B081TJ8YS3:1588687728923#2"]["text"] == "Variant two, again."
    p = products(db)
    assert p["B00YQ6X8EO"]["category"] == "All Beauty"
    assert p["B00YQ6X8EO"]["image_urls"] == ["https://m.media-amazon.com/L.jpg"]
    assert p["B00YQ6X8EO"]["extra"]["price"] == "$12.99"
    assert p["B07PNNCSP9"]["extra"]["price"] == "None"
    assert "price" not in p["B00R8DXL44"]["extra"]
    assert "videos" not in p["B00YQ6X8EO"]["extra"] and "bought_together" not in p["B00YQ6X8EO"]["extra"]


# -- files as users have them ---------------------------------------------------------------------

def test_concatenated_gzip_members(db, tmp_path):
    """A .gz of several gzip members (pigz, `cat a.gz b.gz`, split downloads) is read whole."""
    lines = [json.dumps(r2023(user_id=f"U{i}", text=f"Review {i}.")) for i in range(6)]
    data = b"".join(gz(("\n".join(lines[i:i + 2]) + "\n").encode()) for i in range(0, 6, 2))
    path = tmp_path / "All_Beauty.jsonl.gz"
    path.write_bytes(data)
    report = import_path(db, path)
    assert report.reviews_added == 6


def test_truncated_last_gzip_member_is_rejected(db, tmp_path, good_catalogue):
    import_path(db, good_catalogue)
    lines = [json.dumps(r2018(reviewerID=f"R{i}", reviewText=f"text {i} " + "x" * (i % 70))) for i in range(3000)]
    second = gz(("\n".join(lines[1500:]) + "\n").encode())
    path = tmp_path / "Books_5.json.gz"
    path.write_bytes(gz(("\n".join(lines[:1500]) + "\n").encode()) + second[: len(second) // 2])
    before = table_checksums(db)
    with pytest.raises(CatalogueError, match="truncated") as e:
        import_path(db, path)
    assert e.value.path.endswith("Books_5.json.gz") and 1500 < e.value.line <= 3000
    assert table_checksums(db) == before


def test_2014_more_helpful_than_total_votes(db, tmp_path):
    rows = [REVIEWS_2014[0].replace('"helpful": [2, 3]', '"helpful": [5, 4]'), REVIEWS_2014[3]]
    path = write_lines(tmp_path / "reviews_Books_5.json", rows)
    report = import_path(db, path)
    r = review_fields(db)["A2SUAM1J3GNN3B:0000013714:1252800000"]
    assert (r["helpful"], r["total"], r["label"]) == (5, 5, 2)
    assert "1 review had more helpful votes than votes in all (helpful[0] > helpful[1])" in " ".join(report.notes)


def test_windows_resaved_jsonl_bom_and_crlf(db, tmp_path):
    """A reviews file opened and saved again on Windows: a UTF-8 BOM and CRLF line ends."""
    lines = [json.dumps(r2018(reviewerID=f"R{i}", reviewText=f"Text {i} \u00e9")) for i in range(3)]
    path = tmp_path / "Books_5.json"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    report = import_path(db, path)
    assert (report.format, report.reviews_added) == ("amazon2018", 3)
    assert review_fields(db)["R0:0001713353:1514764800"]["text"] == "Text 0 \u00e9"


def test_kaggle_folder_as_extracted(db, tmp_path):
    """Kaggle's archive extracted: Reviews.csv beside database.sqlite and hashes.txt."""
    folder = tmp_path / "archive"
    write_reviews_csv(folder / "Reviews.csv")
    (folder / "database.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    (folder / "hashes.txt").write_text("database.sqlite 0123456789abcdef\nReviews.csv fedcba9876543210\n")
    report = import_path(db, folder)
    assert (report.format, report.reviews_added) == ("finefood", 8)


def test_gz_name_without_gzip_and_gzip_without_gz_name(db, tmp_path):
    """A browser that unpacked the download but kept '.gz', and a gzip file renamed '.json'."""
    plain = write_lines(tmp_path / "a" / "reviews_Books_5.json.gz", REVIEWS_2014, gz=False)
    assert import_path(db, plain).reviews_added == 3
    packed = write_lines(tmp_path / "b" / "meta_Books.json", META_2014, gz=True)
    assert import_path(db, packed).products_added == 1  # 0000013714 was added above; 0000031852 is new


def test_kaggle_zip_says_to_extract_it(db, tmp_path):
    import zipfile

    csv_path = write_reviews_csv(tmp_path / "Reviews.csv")
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(csv_path, "Reviews.csv")
        z.writestr("hashes.txt", "x\n")
    before = table_checksums(db)
    with pytest.raises(CatalogueError) as e:
        import_path(db, archive)
    assert "zip archive of Reviews.csv, hashes.txt" in str(e.value) and "extract it" in str(e.value)
    assert table_checksums(db) == before

"""Full-text search checks shared by the SQLite tests (tests/storage/test_search.py) and the
PostgreSQL ones (tests/reliability/test_search_postgres.py): one small catalogue, and what a
user must see when searching it, whatever the backend."""
from __future__ import annotations

from storage import repository as repo
from storage.models import Product, Review

HOSTILE = ['"', '""', 'AND(', "-", "*", "NEAR", "NEAR(kettle fast)", "kettle AND", "OR kettle", "NOT", "^kettle",
           "kettle:", "title:kettle", "'", "\\", "kettle'); DROP TABLE reviews; --", "(", ")", "{}", "\x00", "\x02x\x03",
           "a" * 2000, "ü*", "kettle -fast", "+kettle", "\"kettle", "kettle\"", "%", "_", "!kettle", "<->", "&", "|"]


def fill(db) -> dict[str, int]:
    """Three products, nine reviews; returns review_id -> primary key."""
    with db.begin() as s:
        kettle = Product(product_id="P-KETTLE", title="Electric Kettle Deluxe")
        book = Product(product_id="P-BOOK", title="Memory of Trees")
        lamp = Product(product_id="P-LAMP", title="Desk lamp")
        s.add_all([kettle, book, lamp])
        s.flush()
        rows = [
            Review(review_id="k-best", product_pk=kettle.id, title="Boils fast",
                   text="This kettle boils water fast. Fast and quiet."),
            Review(review_id="k-long", product_pk=kettle.id, title="Okay",
                   text="Long rambling about the handle, the colour, the box, the delivery, the price, "
                        "the manual, the plug, the cable, and somewhere in the middle it boils fast enough."),
            Review(review_id="k-leak", product_pk=kettle.id, title="Leaks", text="The lid leaks after a week."),
            Review(review_id="b-moving", product_pk=book.id, title="Moving story",
                   text="A moving story about trees and memory."),
            Review(review_id="b-story", product_pk=book.id, title="Story time",
                   text="Story about a moving van, not very moving."),
            Review(review_id="b-gift", product_pk=book.id, title="Gift", text="Bought as a gift for my mother."),
            Review(review_id="l-bright", product_pk=lamp.id, title="Bright", text="Bright light, sturdy base."),
            Review(review_id="l-dim", product_pk=lamp.id, title="Dim", text="Too dim for reading."),
            Review(review_id="l-kettlebell", product_pk=lamp.id, title="Odd",
                   text="I use it next to my kettlebells in the garage."),
        ]
        s.add_all(rows)
        s.flush()
        return {r.review_id: r.id for r in rows}


def ids(db, query: str, limit: int = 50, offset: int = 0) -> list[str]:
    with db.begin() as s:
        return [h.review_id for h in repo.search_reviews(s, query, limit=limit, offset=offset).hits]


def check_matches_every_field_across_products(db) -> None:
    assert set(ids(db, "leaks ")) == {"k-leak"}  # review text (and title)
    assert set(ids(db, "gift ")) == {"b-gift"}  # review title and text
    assert set(ids(db, "sturdy ")) == {"l-bright"}  # text only
    assert set(ids(db, "deluxe ")) == {"k-best", "k-long", "k-leak"}  # the product's title: each of its reviews
    assert set(ids(db, "deluxe leaks ")) == {"k-leak"}  # one word in the product title, one in the review
    assert set(ids(db, "moving ")) == {"b-moving", "b-story"}  # across products and fields
    assert ids(db, "zebra ") == []


def check_ranking_puts_the_better_match_first(db) -> None:
    found = ids(db, "boils fast ")
    assert found[:2] == ["k-best", "k-long"], found  # title + text, repeated, short beats once in a long text
    assert ids(db, "moving story ")[0] == "b-moving"


def check_phrase(db) -> None:
    assert set(ids(db, 'moving story')) == {"b-moving", "b-story"}  # words: both reviews have both
    assert ids(db, '"moving story"') == ["b-moving"]  # the phrase: only where adjacent, in that order
    assert ids(db, '"story moving"') == []
    assert ids(db, '"memory of trees" gift') == ["b-gift"]  # a phrase (the product title) and a word


def check_prefix(db) -> None:
    assert set(ids(db, "kett")) == {"k-best", "k-long", "k-leak", "l-kettlebell"}  # still typing: a prefix
    assert set(ids(db, "kett ")) == set()  # a space ends the word: whole words only
    assert set(ids(db, "kettle ")) == {"k-best", "k-long", "k-leak"}  # not kettlebells
    assert set(ids(db, '"moving sto')) == {"b-moving"}  # an unclosed phrase: its last word too
    assert set(ids(db, "dim d")) == set()  # a one-letter last word matches whole (no flood of "d*")


def check_hostile_input_is_a_plain_search(db) -> None:
    for query in HOSTILE:
        with db.begin() as s:
            result = repo.search_reviews(s, query)  # never a syntax error
        assert all(h.review_id for h in result.hits), query
    assert set(ids(db, "NEAR(kettle fast)")) == set()  # "near" is a word like any other
    assert set(ids(db, "kettle AND")) == {"k-best", "k-long"}  # "and" is a word: "Fast and quiet", "and somewhere"
    assert set(ids(db, "kettle -fast")) == {"k-best", "k-long"}  # "-" is no NOT: both words must match
    assert set(ids(db, "+kettle\"")) == {"k-best", "k-long", "k-leak"}
    with db.begin() as s:
        assert repo.search_reviews(s, '"').hits == () and repo.search_reviews(s, "   ").hits == ()


def check_paging_and_snippets(db) -> None:
    with db.begin() as s:
        first = repo.search_reviews(s, "the ", limit=2)
        second = repo.search_reviews(s, "the ", limit=2, offset=2)
        everything = repo.search_reviews(s, "the ", limit=50)
        assert len(first.hits) == 2 and first.has_more and first.offset == 0
        assert [h.review_pk for h in first.hits + second.hits] == [h.review_pk for h in everything.hits[:4]]
        assert not everything.has_more
        hit = repo.search_reviews(s, "sturdy").hits[0]
        assert ("sturdy", True) in hit.snippet and "Bright light" in hit.snippet_text
        assert (hit.product_id, hit.product_title, hit.review_title) == ("P-LAMP", "Desk lamp", "Bright")
        assert hit.review_pk == s.get(Review, hit.review_pk).id and hit.product_pk == s.get(Review, hit.review_pk).product_pk


def check_follows_updates_and_deletes(db, pks: dict[str, int]) -> None:
    with db.begin() as s:
        s.get(Review, pks["l-dim"]).text = "Perfectly luminous now."
    assert ids(db, "reading ") == [] and ids(db, "luminous ") == ["l-dim"]
    with db.begin() as s:
        s.delete(s.get(Review, pks["b-gift"]))
    assert ids(db, "mother ") == []
    with db.begin() as s:
        s.get(Review, pks["k-leak"]).product_pk = s.get(Review, pks["l-bright"]).product_pk  # moved to the lamp
    assert set(ids(db, "deluxe ")) == {"k-best", "k-long"} and "k-leak" in ids(db, "desk leaks")
    with db.begin() as s:
        next(p for p in s.query(Product) if p.product_id == "P-LAMP").title = "Reading light"
    lit = set(ids(db, "reading light "))  # every review of the lamp, whatever else a test added to it
    assert ids(db, "desk ") == [] and {"l-bright", "l-dim", "l-kettlebell", "k-leak"} <= lit
    assert not lit & {"k-best", "k-long", "b-moving", "b-story"}

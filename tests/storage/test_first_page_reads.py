"""What opening a database reads for the first screen, read the cheap way, gives what the plain
way gives: pages (ids first, then the rows), counts, the catalogue summary, the first product,
and the reason columns written with each prediction."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage import repository as repo
from storage.importers import import_path
from storage.models import Prediction, Product, Review
from storage.records import PredictionIn, ReviewFilter, ScoreParts, product_order
from storage.repository.predictions import _reason_columns

ORDERS = ("score", "label", "votes", "rating", "time", "review_id", "id", "s_pt_rt", "s_rt_rv", "top_reason")
FILTERS = (ReviewFilter(), ReviewFilter(text="e"), ReviewFilter(only_labeled=True), ReviewFilter(only_flagged=True),
           ReviewFilter(has_images=True), ReviewFilter(text="a", only_labeled=True, only_flagged=True))


@pytest.fixture
def scored_db(db, good_catalogue):
    """The test catalogue, scored by a model with ties, unscored reviews and explanations, with
    active, undone and corrected flags."""
    import_path(db, good_catalogue)
    rng = random.Random(3)
    with db.begin() as s:
        mv = repo.register_model_version(s, "m", "/c", "0" * 64, activate=True)
        pks = list(s.scalars(select(Review.id).order_by(Review.id)))
        preds = []
        for pk in pks[:-2]:  # two reviews unscored
            parts = [[f"block:{k}", f"part {k}", round(rng.uniform(-1, 1), 2)] for k in range(4)]
            preds.append(PredictionIn(pk, rng.choice((0.5, 1.0, rng.uniform(-2, 2))),
                                      tuple(rng.choice((None, rng.uniform(0, 4))) for _ in range(5)),
                                      {"version": 1, "score": 0.0, "base": 0.0, "parts": parts}))
        repo.write_predictions(s, mv.id, preds)
        repo.add_flag(s, pks[0], "spam", "a")
        repo.add_flag(s, pks[1], "model too low", "a", corrected_label=3)
        undone = repo.add_flag(s, pks[2], "spam", "a")
        repo.undo_flag(s, undone.id, "a")
        model_id = mv.id
    return db, model_id


def test_a_page_read_by_ids_first_is_the_slice_of_the_whole_ordered_list(scored_db):
    db, mv = scored_db
    with db.begin() as s:
        products = list(s.scalars(select(Product.id))) + [None]
        for ppk in products:
            for order in ORDERS:
                for descending in (True, False):
                    for flt in FILTERS:
                        whole = repo.page_reviews(s, ppk, mv, 0, None, order, descending, flt)
                        assert repo.count_reviews(s, ppk, flt) == len(whole), (ppk, flt)
                        for offset, limit in ((0, 2), (1, 3), (2, 100), (len(whole), 5)):
                            page = repo.page_reviews(s, ppk, mv, offset, limit, order, descending, flt)
                            assert page == whole[offset:offset + limit], (ppk, order, descending, flt, offset)


def test_a_page_in_score_order_read_by_the_stored_ranks_is_the_slice_of_the_sorted_list(scored_db):
    """The default order (score descending, ties by review id, unscored last) read from the model
    ranks' index: every slice, across the scored/unscored boundary, with the ranks and sub-score
    percentiles stored_context gives for the same reviews."""
    db, mv = scored_db
    with db.begin() as s:
        n_checked = 0
        for ppk in s.scalars(select(Product.id)):
            whole = [r.id for r in repo.page_reviews(s, ppk, mv, 0, None, "score", True, ReviewFilter())]
            n_scored = sum(r.score is not None for r in repo.page_reviews(s, ppk, mv, 0, None))
            for offset, limit in ((0, 1), (0, 2), (1, 3), (0, len(whole)), (max(0, n_scored - 1), 2), (n_scored, 5),
                                  (len(whole), 5), (len(whole) + 3, 2)):
                got = repo.stored_score_page(s, ppk, mv, offset, limit)
                if n_scored == 0:
                    assert got is None  # nothing stored: the caller sorts
                    continue
                pks, ranks, subscores = got
                assert pks == whole[offset:offset + limit], (ppk, offset, limit)
                ranks_of, subscores_of = repo.stored_context(s, ppk, mv, pks)
                assert ranks == ranks_of and subscores == subscores_of
                n_checked += 1
        assert n_checked
        assert repo.stored_score_page(s, ppk, None, 0, 5) is None


def test_the_review_tables_pages_in_the_default_order_join_into_the_sorted_list(scored_db):
    """The review table's reads (gui.queries: the first page, then further pages with and without
    their ranks) in the default order, through the stored ranks: one after the other they are the
    product's reviews in score order, each with the ranks stored_context gives."""
    from gui import queries
    from gui.state.review_table import ReviewQuery

    db, mv = scored_db
    n_checked = 0
    with db.begin() as s:
        for ppk in s.scalars(select(Product.id)):
            whole = [r.id for r in repo.page_reviews(s, ppk, mv, 0, None, "score", True, ReviewFilter())]
            query = ReviewQuery(ppk, mv, "score", True, ReviewFilter())
            first = queries.open_reviews(s, query, limit=1)
            stored = repo.stored_context(s, ppk, mv) is not None  # else every review's ranks are computed
            assert first.total == len(whole) and first.complete is not stored
            pages = [first]
            while sum(len(p.rows) for p in pages) < len(whole):
                offset = sum(len(p.rows) for p in pages)
                pages.append(queries.more_reviews(s, query, offset, None, limit=1, with_ranks=len(pages) % 2 == 1))
            assert [r.id for p in pages for r in p.rows] == whole
            assert not queries.more_reviews(s, query, len(whole), None, limit=2, with_ranks=True).rows
            for page in pages if stored else ():
                if page.ranks:
                    assert page.ranks == repo.stored_context(s, ppk, mv, [r.id for r in page.rows])[0]
                else:
                    assert page is not first and page.offset % 2 == 0  # asked without its ranks
            n_checked += stored and len(pages) > 2
    assert n_checked  # a product read in pages with and without their ranks


def test_the_summary_counted_from_the_product_list_is_the_tables_count(scored_db):
    db, mv = scored_db
    with db.begin() as s:
        assert repo.catalogue_summary(s, repo.list_products(s, model_version_id=mv)) == repo.catalogue_summary(s)
        assert repo.catalogue_summary(s)["corrections"] == 1


def test_the_first_product_is_the_product_lists_first_by_title(scored_db):
    db, _mv = scored_db
    with db.begin() as s:
        products = repo.list_products(s)
        first = min(products, key=lambda p: ((p.title or p.product_id).casefold(), p.id))
        assert repo.first_product_pk(s) == first.id
        assert repo.first_product_pk(s, products[-1].product_id) == products[-1].id
        assert repo.first_product_pk(s, "no such product") is None
        s.execute(Product.__table__.update().where(Product.id == products[-1].id).values(title=""))
        assert repo.first_product_pk(s) in {p.id for p in products}


def test_the_first_product_follows_the_product_lists_case_folding_beyond_ascii(scored_db):
    """SQL lower() leaves "É" as it is, so it would put "Étagère" before "éclair"; the product list
    (casefold) puts "éclair" first, and so must the first product."""
    db, _mv = scored_db
    with db.begin() as s:
        pks = [p.id for p in repo.list_products(s)]
        assert len(pks) >= 3
        titles = {pks[1]: "\u00c9tag\u00e8re", pks[2]: "\u00e9clair"}  # the others: "\u00fe last"
        for pk in pks:
            s.execute(Product.__table__.update().where(Product.id == pk).values(title=titles.get(pk, "\u00fe last")))
        listed = sorted(repo.list_products(s), key=lambda p: product_order(p.title, p.product_id, p.id))
        assert listed[0].title == "\u00e9clair"
        assert repo.first_product_pk(s) == listed[0].id == pks[2]


def test_the_reason_columns_are_the_two_largest_parts_of_the_stored_explanation(scored_db):
    db, mv = scored_db
    with db.begin() as s:
        rows = s.execute(select(Prediction.explanation, Prediction.top_reason, Prediction.top_reason_value,
                                Prediction.second_reason, Prediction.second_reason_value)
                         .where(Prediction.model_version_id == mv)).all()
    assert rows
    for explanation, *reasons in rows:
        ranked = ScoreParts.from_json(explanation).ranked()
        assert reasons == [ranked[0].label, ranked[0].value, ranked[1].label, ranked[1].value]


values = st.floats(-5, 5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.none(), st.just({"version": 2}), st.just({"version": 1, "score": "x", "base": 0, "parts": []}),
    st.fixed_dictionaries({"version": st.just(1), "score": values, "base": values,
                           "parts": st.lists(st.tuples(st.text(max_size=3), st.sampled_from(("a", "b", "c", "d")),
                                                       st.one_of(values, st.sampled_from((0.5, -0.5)))),
                                             max_size=6)})))
def test_reason_columns_match_the_parsed_explanation_for_any_explanation(explanation):
    parts = ScoreParts.from_json(explanation)
    top = [(p.label, p.value) for p in parts.ranked()[:2]] if parts is not None else []
    top += [(None, None)] * (2 - len(top))
    got = _reason_columns(explanation)
    assert (got["top_reason"], got["top_reason_value"], got["second_reason"], got["second_reason_value"]) == \
        (top[0][0], top[0][1], top[1][0], top[1][1])

"""What the review table needs beside a score to read it: the score's top reasons (stored with
the prediction, sortable), which inputs each interaction had, and each sub-score's spread and
percentile within its product."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import repository as repo
from storage.importers import import_path
from storage.models import Review
from storage.records import PredictionIn, ScorePart, ScoreParts, reason_text
from storage.repository.predictions import percentile_ranks, subscore_spread


@pytest.fixture
def cat_db(db, good_catalogue):
    import_path(db, good_catalogue)
    return db


def _pk(s, review_id: str) -> int:
    return s.scalar(select(Review.id).where(Review.review_id == review_id))


def _parts(*parts: tuple[str, float], base: float = 0.0) -> dict:
    return {"version": 1, "reference": "training mean", "base": base, "score": base + sum(v for _l, v in parts),
            "parts": [[f"meta:{i}", label, v] for i, (label, v) in enumerate(parts)]}


def test_ranked_parts_are_largest_first_ties_by_name_and_read_as_exports_write_them():
    parts = ScoreParts(1.0, 0.0, (ScorePart("a", "star rating", -0.3), ScorePart("b", "title length", 0.3),
                                  ScorePart("c", "review length", 0.9), ScorePart("d", "has a date", 0.01)), "x")
    assert [p.label for p in parts.ranked()] == ["review length", "star rating", "title length", "has a date"]
    assert reason_text("review length", 0.9) == "review length +0.90"
    assert reason_text("star rating", -0.3) == "star rating -0.30"


def test_rows_carry_their_two_top_reasons_and_sort_by_them(cat_db):
    with cat_db.begin() as s:
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        r1, r2, r3, r4 = (_pk(s, f"R{i}") for i in range(1, 5))
        repo.write_predictions(s, mv.id, [
            PredictionIn(r1, 1.0, (None,) * 5, _parts(("review length", 0.2), ("star rating", -0.7), ("title length", 0.1))),
            PredictionIn(r2, 1.0, (None,) * 5, _parts(("review length", 0.5), ("star rating", 0.1))),
            PredictionIn(r3, 1.0, (None,) * 5, _parts(("review length", 0.9))),
            PredictionIn(r4, 1.0, (None,) * 5),  # scored without an explanation
        ])
        rows = {r.review_id: r for r in repo.page_reviews(s, None, mv.id, limit=None)}
        assert rows["R1"].reasons == (("star rating", -0.7), ("review length", 0.2))
        assert rows["R3"].reasons == (("review length", 0.9),)
        assert rows["R4"].reasons == () and rows["R5"].reasons == ()
        p1 = repo.get_product_pk(s, "P1")
        ordered = [r.review_id for r in repo.page_reviews(s, p1, mv.id, order_by="top_reason", descending=False)]
        assert ordered == ["R2", "R3", "R1", "R4"]  # grouped by reason, then by amount; none last
        ordered = [r.review_id for r in repo.page_reviews(s, p1, mv.id, order_by="top_reason", descending=True)]
        assert ordered == ["R1", "R3", "R2", "R4"]
        second = [r.review_id for r in repo.page_reviews(s, p1, mv.id, order_by="second_reason", descending=False)]
        assert second == ["R1", "R2", "R3", "R4"]
        # a rescoring without parts clears them
        repo.write_predictions(s, mv.id, [PredictionIn(r1, 0.5, (None,) * 5)])
        assert repo.review_rows_by_pks(s, [r1], mv.id)[0].reasons == ()


def test_rows_say_which_inputs_the_interactions_had(cat_db):
    with cat_db.begin() as s:
        rows = {r.review_id: r for r in repo.page_reviews(s, None, None, limit=None)}
    # P1: description and an image; P2: a title only; P3: neither title nor description
    assert (rows["R1"].has_product_text, rows["R1"].n_product_images, rows["R1"].n_images) == (True, 1, 0)
    assert (rows["R3"].n_images, rows["R3"].n_product_images) == (1, 1)
    assert (rows["R5"].has_product_text, rows["R5"].n_product_images) == (True, 0)
    assert (rows["R7"].has_product_text, rows["R8"].has_product_text) == (False, False)


def test_percentile_ranks_put_ties_in_the_middle():
    assert percentile_ranks({1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}) == {1: 12.5, 2: 37.5, 3: 62.5, 4: 87.5}
    assert percentile_ranks({1: 2.0, 2: 2.0, 3: 2.0}) == {1: 50.0, 2: 50.0, 3: 50.0}
    assert percentile_ranks({1: 1.0, 2: 2.0, 3: 2.0, 4: 3.0}) == {1: 12.5, 2: 50.0, 3: 50.0, 4: 87.5}
    spread = subscore_spread([float(v) for v in range(1, 11)])
    assert (spread.n, spread.low, spread.p10, spread.p90, spread.high) == (10, 1.0, 1.0, 9.0, 10.0)
    assert subscore_spread([]) is None


def test_product_subscores_spread_and_percentile_per_product(cat_db):
    with cat_db.begin() as s:
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        p1 = repo.get_product_pk(s, "P1")
        pks = [_pk(s, f"R{i}") for i in range(1, 5)]
        # p_t r_t spreads 1..4; p_v r_v differs only past the second decimal (flat); r_t r_v unscored
        repo.write_predictions(s, mv.id, [
            PredictionIn(pk, 0.0, (1.0 + i, 1.7 + i * 1e-4, 2.0, -0.5 + i, None)) for i, pk in enumerate(pks)])
        repo.write_predictions(s, mv.id, [PredictionIn(_pk(s, "R5"), 0.0, (9.0,) * 5)])  # another product
        got = repo.product_subscores(s, p1, mv.id)
        assert repo.product_subscores(s, p1, None) is None
    assert got.product_pk == p1 and set(got.percentiles) == set(pks)
    first = got.spreads[0]
    assert (first.n, first.low, first.high) == (4, 1.0, 4.0)
    assert [got.percentiles[pk][0] for pk in pks] == [12.5, 37.5, 62.5, 87.5]
    flat = got.spreads[1]
    assert flat.low == flat.high == 1.7 and {got.percentiles[pk][1] for pk in pks} == {50.0}
    assert got.spreads[3].low == -0.5 and got.spreads[4] is None
    assert all(got.percentiles[pk][4] is None for pk in pks)
